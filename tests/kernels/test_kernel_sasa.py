"""Shrake–Rupley SASA against a brute-force numpy version."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels import kernel_reference as naive
from workbench.kernels import sasa as kernel


@pytest.mark.nojit
def test_sphere_points_are_unit_and_spread() -> None:
    points = kernel.sphere_points(960)
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(points.mean(0), 0.0, atol=2e-3)


@pytest.mark.nojit
def test_matches_brute_force(rng: np.random.Generator) -> None:
    coords = (rng.normal(size=(60, 3)) * 4).astype(np.float32)
    radii = rng.uniform(2.6, 3.4, 60).astype(np.float32)
    points = kernel.sphere_points(100)
    out = np.empty(60)
    kernel.atom_areas.serial(coords, radii, points, out)
    expected = naive.sasa(coords, radii, points)
    # One test point's area is the resolution; float32 rounding may move a point across a boundary.
    one_point = 4 * np.pi * radii.astype(float) ** 2 / 100
    assert (np.abs(out - expected) <= one_point + 1e-9).all()
    assert (np.abs(out - expected) > 1e-9).sum() <= 1


@pytest.mark.nojit
def test_single_far_and_buried_atoms() -> None:
    points = kernel.sphere_points(50)
    out = np.empty(1)
    kernel.atom_areas.serial(np.zeros((1, 3), np.float32), np.array([3.0], np.float32), points, out)
    assert out[0] == pytest.approx(4 * np.pi * 9.0)
    far = np.array([[0, 0, 0], [100, 0, 0]], np.float32)
    out = np.empty(2)
    kernel.atom_areas.serial(far, np.array([2.0, 3.0], np.float32), points, out)
    np.testing.assert_allclose(out, 4 * np.pi * np.array([4.0, 9.0]))
    # A small atom inside a big one is completely buried.
    inside = np.array([[0, 0, 0], [0.5, 0, 0]], np.float32)
    kernel.atom_areas.serial(inside, np.array([5.0, 1.0], np.float32), points, out)
    assert out[1] == 0.0 and out[0] > 0


def test_parallel_variant_equals_serial(rng: np.random.Generator) -> None:
    coords = (rng.normal(size=(300, 3)) * 7).astype(np.float32)
    radii = np.full(300, 3.0, np.float32)
    points = kernel.sphere_points(200)
    serial, parallel = np.empty(300), np.empty(300)
    kernel.atom_areas.serial(coords, radii, points, serial)
    kernel.atom_areas.parallel(coords, radii, points, parallel)
    np.testing.assert_array_equal(serial, parallel)
