"""Atom overlaps against a dense numpy check."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels import kernel_reference as naive
from workbench.kernels import clashes as kernel


@pytest.mark.nojit
@pytest.mark.parametrize("tolerance", [0.0, 1.5])
def test_overlaps_match_numpy(rng: np.random.Generator, tolerance: float) -> None:
    coords = (rng.normal(size=(300, 3)) * 6).astype(np.float32)
    radii = rng.choice(np.array([1.52, 1.55, 1.7, 1.8], np.float32), 300)
    residue = np.repeat(np.arange(60), 5).astype(np.int64)
    first, second, overlap = kernel.overlaps(coords, radii, residue, tolerance)
    expected = naive.overlaps(coords, radii, residue, tolerance)
    assert set(zip(first.tolist(), second.tolist(), strict=True)) == set(expected)
    for a, b, value in zip(first, second, overlap, strict=True):
        assert value == pytest.approx(expected[(a, b)], abs=1e-6)
    assert (overlap > 0).all()


@pytest.mark.nojit
def test_no_atoms_and_same_residue() -> None:
    empty = np.zeros((0, 3), np.float32)
    first, _, _ = kernel.overlaps(empty, np.zeros(0, np.float32), np.zeros(0, np.int64), 1.5)
    assert len(first) == 0
    together = np.zeros((2, 3), np.float32)
    first, _, _ = kernel.overlaps(together, np.full(2, 1.7, np.float32), np.zeros(2, np.int64), 1.5)
    assert len(first) == 0
    first, _, overlap = kernel.overlaps(together, np.full(2, 1.7, np.float32), np.arange(2), 1.5)
    assert list(first) == [0] and overlap[0] == pytest.approx(1.9)
