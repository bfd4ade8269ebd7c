"""Cell lists against dense distance matrices."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels import kernel_reference as naive
from workbench.kernels import neighbors as kernel


@pytest.mark.nojit
@pytest.mark.parametrize(("n", "spread", "cutoff"), [(0, 1, 1), (1, 1, 1), (2, 1, 5), (200, 10, 4.0), (150, 500, 30.0)])
def test_pairs_within_matches_brute_force(rng: np.random.Generator, n: int, spread: float, cutoff: float) -> None:
    coords = (rng.normal(size=(n, 3)) * spread).astype(np.float32)
    first, second, distance = kernel.pairs_within(coords, cutoff)
    assert set(zip(first.tolist(), second.tolist(), strict=True)) == naive.pairs_within(coords, cutoff)
    assert len(set(zip(first.tolist(), second.tolist(), strict=True))) == len(first)
    expected = np.linalg.norm(coords[first].astype(float) - coords[second], axis=1)
    np.testing.assert_allclose(distance, expected, rtol=1e-6)
    keys = first * max(n, 1) + second
    assert (np.diff(keys) > 0).all()


@pytest.mark.nojit
def test_collinear_and_coincident_points() -> None:
    line = np.zeros((10, 3), dtype=np.float32)
    line[:, 0] = np.arange(10) * 1.5
    first, second, _ = kernel.pairs_within(line, 2.0)
    assert sorted(zip(first.tolist(), second.tolist(), strict=True)) == [(i, i + 1) for i in range(9)]
    same = np.zeros((4, 3), dtype=np.float32)
    first, _, distance = kernel.pairs_within(same, 0.1)
    assert len(first) == 6 and (distance == 0).all()


@pytest.mark.nojit
def test_contact_and_distance_matrices(rng: np.random.Generator) -> None:
    coords = (rng.normal(size=(60, 3)) * 6).astype(np.float32)
    full = np.sqrt(((coords[:, None].astype(float) - coords[None]) ** 2).sum(-1))
    np.testing.assert_allclose(kernel.distance_matrix(coords, coords), full, atol=1e-5)
    contact = kernel.contact_matrix(coords, 5.0)
    expected = full < 5.0
    np.fill_diagonal(expected, True)
    np.testing.assert_array_equal(contact, expected)
