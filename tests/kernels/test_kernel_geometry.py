"""Dihedrals, angles, radius of gyration and NeRF against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels import kernel_reference as naive
from tests.kernels.kernel_reference import random_rotation
from workbench.kernels import geometry as kernel


@pytest.mark.nojit
def test_dihedrals_and_angles_match_numpy(rng: np.random.Generator) -> None:
    coords = (rng.normal(size=(50, 3)) * 3).astype(np.float32)
    quartets = rng.integers(0, 50, size=(200, 4))
    quartets = quartets[[len(set(q)) == 4 for q in quartets]]
    values = kernel.dihedrals(coords, quartets)
    expected = [naive.dihedral(coords[q]) for q in quartets]
    np.testing.assert_allclose(values, expected, atol=1e-9)
    triplets = np.ascontiguousarray(quartets[:, :3])
    expected_angles = [naive.angle(coords[t]) for t in triplets]
    np.testing.assert_allclose(kernel.bond_angles(coords, triplets), expected_angles, atol=1e-7)
    pairs = np.ascontiguousarray(quartets[:, :2])
    lengths = np.linalg.norm(coords[pairs[:, 0]].astype(float) - coords[pairs[:, 1]], axis=1)
    np.testing.assert_allclose(kernel.bond_lengths(coords, pairs), lengths)


@pytest.mark.nojit
def test_dihedral_edge_cases() -> None:
    trans = np.array([[1, 1, 0], [0, 0, 0], [1, 0, 0], [0, -1, 0]], dtype=np.float32)
    quartets = np.array([[0, 1, 2, 3], [0, 1, 2, -1]])
    values = kernel.dihedrals(trans, quartets)
    assert values[0] == pytest.approx(np.pi)  # (-pi, pi]: trans is +180
    assert np.isnan(values[1])
    cis = trans.copy()
    cis[3] = [0, 1, 0]
    assert kernel.dihedrals(cis, quartets[:1])[0] == pytest.approx(0.0, abs=1e-7)
    collinear = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 1, 0]], dtype=np.float32)
    assert kernel.dihedrals(collinear, quartets[:1])[0] == 0.0  # undefined: atan2(0, 0)


@pytest.mark.nojit
def test_dihedrals_invariant_under_rigid_motion_and_flip_under_mirror(rng: np.random.Generator) -> None:
    coords = (rng.normal(size=(20, 3)) * 3).astype(np.float32)
    quartets = np.array([[i, i + 1, i + 2, i + 3] for i in range(17)])
    moved = (coords @ random_rotation(rng).T + 12).astype(np.float32)
    np.testing.assert_allclose(kernel.dihedrals(moved, quartets), kernel.dihedrals(coords, quartets), atol=1e-5)
    mirrored = coords * np.array([1, 1, -1], dtype=np.float32)
    np.testing.assert_allclose(kernel.dihedrals(mirrored, quartets), -kernel.dihedrals(coords, quartets), atol=1e-9)


@pytest.mark.nojit
def test_frames_variant(rng: np.random.Generator) -> None:
    frames = (rng.normal(size=(4, 12, 3)) * 3).astype(np.float32)
    quartets = np.array([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])
    out = np.empty((4, 3))
    kernel.dihedrals_frames.serial(frames, quartets, out)
    for f in range(4):
        np.testing.assert_array_equal(out[f], kernel.dihedrals(frames[f], quartets))


@pytest.mark.nojit
def test_radius_of_gyration(rng: np.random.Generator) -> None:
    coords = (rng.normal(size=(100, 3)) * 5 + 20).astype(np.float32)
    weights = rng.random(100) + 0.5
    assert kernel.radius_of_gyration(coords, weights) == pytest.approx(naive.radius_of_gyration(coords, weights))
    assert kernel.radius_of_gyration(coords[:1], np.ones(1)) == 0.0


@pytest.mark.nojit
def test_nerf_round_trip(rng: np.random.Generator) -> None:
    seed = rng.normal(size=(3, 3)) * 2
    m = 40
    references = np.array([[k, k + 1, k + 2] for k in range(m)], dtype=np.int64)
    references[10] = [2, 5, 8]  # a branch: built from earlier, non-consecutive atoms
    bonds = rng.uniform(1.0, 2.0, m)
    angles = rng.uniform(1.2, 2.6, m)
    torsions = rng.uniform(-np.pi, np.pi, m)
    built = kernel.nerf_build(seed, references, bonds, angles, torsions)
    np.testing.assert_array_equal(built[:3], seed)
    b, a, t = kernel.internal_coordinates(built, references, 3)
    np.testing.assert_allclose(b, bonds, atol=1e-10)
    np.testing.assert_allclose(a, angles, atol=1e-10)
    np.testing.assert_allclose(np.angle(np.exp(1j * (t - torsions))), 0.0, atol=1e-9)
    # and the torsions agree with the independent numpy formula
    for k in range(m):
        quad = np.vstack([built[references[k]], built[3 + k]])
        assert naive.dihedral(quad) == pytest.approx(torsions[k], abs=1e-9)
