"""A twisted peptide that the ladder cannot repair is pulled to trans, an X-Pro one to the nearer planar state.

Crambin (1CRN) with one peptide twisted to omega = -39 degrees (issue 17's twist): the chain beyond
the peptide is turned about the C-N bond, and the twisted model is the input, so its restraints hold
the twist everywhere but in the two released residues. Omega is measured with plain numpy.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.refine.conftest import load
from workbench.refine import RefineConfig
from workbench.refine.platform import select_platform
from workbench.refine.relax import Relaxation, prepare_for_refinement

CPU = select_platform("CPU", 1)


def _dihedral(x: np.ndarray, a: int, b: int, c: int, d: int) -> float:
    """Plain-numpy IUPAC dihedral, degrees."""
    b0, b1, b2 = x[a] - x[b], x[c] - x[b], x[d] - x[c]
    b1 = b1 / np.linalg.norm(b1)
    v, w = b0 - np.dot(b0, b1) * b1, b2 - np.dot(b2, b1) * b1
    return float(np.degrees(np.arctan2(np.dot(np.cross(b1, v), w), np.dot(v, w))))


def _twisted_crambin(first: int, omega: float):
    """1CRN with the peptide between residues ``first`` and ``first + 1`` set to ``omega`` degrees."""
    structure = load("1crn")
    x = structure.coords.astype(np.float64)

    def atom(res: int, name: str) -> int:
        return int(np.flatnonzero((structure.res_id == res) & (structure.atom_name == name))[0])

    ca, c, n, ca2 = atom(first, "CA"), atom(first, "C"), atom(first + 1, "N"), atom(first + 1, "CA")
    after = np.flatnonzero(structure.res_id > first)
    axis = (x[n] - x[c]) / np.linalg.norm(x[n] - x[c])
    angle = np.radians(omega - _dihedral(x, ca, c, n, ca2))
    v = x[after] - x[c]
    x[after] = (x[c] + v * np.cos(angle) + np.cross(axis, v) * np.sin(angle)
                + np.outer(v @ axis, axis) * (1 - np.cos(angle)))
    return structure.with_coords(x)


@pytest.mark.parametrize(("first", "expected"), [(1, "trans"), (4, "cis")])  # THR 1 - THR 2; CYS 4 - PRO 5
def test_a_twisted_peptide_is_flattened_to_trans_or_for_proline_to_the_nearer_state(first: int, expected: str):
    config = RefineConfig(platform="CPU", threads=1)
    prepared = prepare_for_refinement(_twisted_crambin(first, -39.0), config, CPU)
    relaxation = Relaxation(prepared, config, CPU, name="twisted")
    labels = prepared.residue_labels
    k = next(k for k, quad in enumerate(relaxation.geometry.omega.tolist())
             if labels[relaxation.geometry.residue[quad[1]]].endswith(f" {first}"))
    quad = relaxation.geometry.omega[k]
    assert _dihedral(prepared.positions, *quad) == pytest.approx(-39.0, abs=0.5)
    violations = relaxation.check(prepared.positions)
    assert any(v.kind == "omega" for v in violations.items)
    released = np.unique(relaxation.geometry.residue[quad])
    relaxation.factor[released] = 0.0
    relaxation.release(released)
    assert relaxation.flatten_twisted(violations)
    flattened = relaxation.minimise()
    omega = _dihedral(flattened, *quad)
    assert (abs(omega) > 150.0) if expected == "trans" else (abs(omega) < 30.0), omega
