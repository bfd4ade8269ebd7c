"""Kabsch–Sander hydrogen bonds against numpy; DSSP patterns on ideal geometry."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels import kernel_reference as naive
from workbench.analysis import build_backbone
from workbench.kernels import dssp as kernel


def _backbone(n: int) -> np.ndarray:
    return np.arange(4 * n, dtype=np.int64).reshape(n, 4)


@pytest.mark.nojit
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_hydrogen_bonds_match_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    phi = rng.uniform(-160, -50, 40)
    psi = np.where(rng.random(40) < 0.5, -47.0, 135.0) + rng.normal(0, 15, 40)
    structure = build_backbone(phi, psi)
    backbone = _backbone(40)
    is_proline = rng.random(40) < 0.1
    partners, energies = kernel.hydrogen_bonds(structure.coords, backbone, is_proline, np.zeros(40, np.int64))
    energy = naive.hbond_energies(structure.coords, backbone, is_proline)
    for donor in range(40):
        candidates = np.flatnonzero(energy[donor] < -0.5)
        best = candidates[np.argsort(energy[donor, candidates], kind="stable")][:2]
        got = partners[donor][partners[donor] >= 0]
        np.testing.assert_array_equal(got, best)
        np.testing.assert_allclose(energies[donor, : len(got)], energy[donor, got], atol=1e-9)


@pytest.mark.nojit
def test_ideal_helix_and_strand() -> None:
    helix = build_backbone([-57.0] * 16, [-47.0] * 16)
    codes, _, _ = kernel.assign(helix.coords, _backbone(16), np.zeros(16, bool), np.zeros(16, np.int64))
    assert "".join(kernel.CODES[c] for c in codes) == " " + "H" * 14 + " "
    strand = build_backbone([-120.0] * 10, [130.0] * 10)
    codes, partners, _ = kernel.assign(strand.coords, _backbone(10), np.zeros(10, bool), np.zeros(10, np.int64))
    assert (codes == kernel.LOOP).all() and (partners < 0).all()


@pytest.mark.nojit
def test_missing_backbone_atoms_and_segments() -> None:
    helix = build_backbone([-57.0] * 16, [-47.0] * 16)
    backbone = _backbone(16)
    backbone[8, 3] = -1  # residue 8 lost its O
    codes, partners, _ = kernel.assign(helix.coords, backbone, np.zeros(16, bool), np.zeros(16, np.int64))
    assert codes[8] == kernel.LOOP or codes[8] == kernel.ALPHA
    assert (partners[8] < 0).all() and not (partners == 8).any()
    # Cutting the helix into two segments: hydrogen bonds across the cut remain (sheets
    # between chains need them), but no turn or helix pattern spans it.
    segments = (np.arange(16) >= 8).astype(np.int64)
    codes, partners, _ = kernel.assign(helix.coords, _backbone(16), np.zeros(16, bool), segments)
    assert (partners[9:12] < 8).any()
    letters = "".join(kernel.CODES[c] for c in codes)
    assert "H" * 14 not in letters and letters[5:11] != "HHHHHH"


@pytest.mark.nojit
def test_one_residue_and_empty() -> None:
    one = build_backbone([-60.0], [-45.0])
    codes, _, _ = kernel.assign(one.coords, _backbone(1), np.zeros(1, bool), np.zeros(1, np.int64))
    assert list(codes) == [kernel.LOOP]
    codes, _, _ = kernel.assign(one.coords, np.zeros((0, 4), np.int64), np.zeros(0, bool), np.zeros(0, np.int64))
    assert len(codes) == 0
