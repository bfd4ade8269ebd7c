"""Real structures for the refinement tests, their perturbed versions, and checks shared by the tests.

Every structure is a real file: PDBFixer's 1BHL (always there, a dependency
ships it) and ../shared/data's 1UBQ, 1CRN, the ColabFold model and an
AlphaFold2 model (skipped cleanly when that folder is absent).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import workbench
from tests.conftest import pdbfixer_1bhl, shared_data_dir

SHARED = {
    "1ubq": "structures/1ubq.pdb",
    "1crn": "structures/1crn.pdb",
    "colabfold": "predicted/colabfold_ERR550519_2213899_unrelaxed_model_1.pdb",
    "alphafold2": "predicted/alphapulldown_TEST_ranked_0.pdb",
    "1a8o": "structures/1a8o.pdb",
    "1hho": "structures/1hho.pdb",
}
#: The five structures of the issue, smallest first.
FIVE = ("1crn", "alphafold2", "1ubq", "colabfold", "1bhl")


def structure_path(name: str) -> Path:
    """Path of a named test structure; skips the test when ../shared/data is absent."""
    if name == "1bhl":
        return pdbfixer_1bhl()
    root = shared_data_dir()
    if root is None:
        pytest.skip("../shared/data is not beside this checkout (set WORKBENCH_SHARED_DATA to use it)")
    return root / SHARED[name]


@cache
def _read(path: Path) -> workbench.Structure:
    return workbench.read_structure(path)


def load(name: str) -> workbench.Structure:
    """A named test structure, read once per session."""
    return _read(structure_path(name))


@dataclass(frozen=True)
class Perturbed:
    """A perturbed structure and the clash that was forced into it."""

    structure: workbench.Structure
    moved_atom: int
    moved_residue: str
    partner_residue: str


def perturb(structure: workbench.Structure, sigma: float = 0.2, seed: int = 0) -> Perturbed:
    """Gaussian noise (``sigma`` Å per coordinate) on every polymer atom, then a forced clash.

    The clash: the outermost side-chain heavy atom of the middle residue that
    has one is put 0.8 Å from the nearest backbone atom of a residue at least
    four positions away in sequence: far inside any van der Waals contact.
    """
    rng = np.random.default_rng(seed)
    coords = structure.coords.astype(np.float64)
    polymer = structure.polymer
    coords[polymer] += rng.normal(0.0, sigma, size=(int(polymer.sum()), 3))
    residues = structure.residues
    side = np.flatnonzero(polymer & ~np.isin(structure.atom_name, ("N", "CA", "C", "O", "CB", "OXT"))
                          & ~np.isin(structure.element, ("H", "D")))
    moved = int(side[len(side) // 2])
    home = int(structure.residue_index[moved])
    far = np.flatnonzero(polymer & np.isin(structure.atom_name, ("N", "CA", "C", "O"))
                         & (np.abs(structure.residue_index.astype(int) - home) >= 4))
    partner = int(far[np.argmin(np.linalg.norm(coords[far] - coords[moved], axis=1))])
    coords[moved] = coords[partner] + np.array([0.8, 0.0, 0.0])
    return Perturbed(structure.with_coords(coords), moved, residues.label(home),
                     residues.label(int(structure.residue_index[partner])))


def atom_keys(structure: workbench.Structure) -> list[tuple[str, int, str, str]]:
    """``(chain, residue number, insertion code, atom name)`` per atom; MSE's SE is named SD as in MET."""
    names = np.where((structure.res_name == "MSE") & (structure.atom_name == "SE"), "SD", structure.atom_name)
    return list(zip(structure.chain_id.tolist(), structure.res_id.tolist(), structure.ins_code.tolist(),
                    names.tolist(), strict=True))


def assert_bfactors_kept(original: workbench.Structure, refined: workbench.Structure) -> int:
    """Every refined atom carries its input atom's B-factor; added atoms their residue CA's. Returns matches."""
    b_of = dict(zip(atom_keys(original), original.b_factor.tolist(), strict=True))
    ca_b = {key[:3]: b for key, b in b_of.items() if key[3] == "CA"}
    matched = 0
    for key, b in zip(atom_keys(refined), refined.b_factor.tolist(), strict=True):
        if key in b_of:
            assert b == pytest.approx(b_of[key], abs=1e-6), key
            matched += 1
        else:
            assert b == pytest.approx(ca_b[key[:3]], abs=1e-6), key
    return matched
