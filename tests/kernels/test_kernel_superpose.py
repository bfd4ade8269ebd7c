"""QCP superposition and RMSD against numpy's SVD (Kabsch) on seeded random input."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels import kernel_reference as naive
from tests.kernels.kernel_reference import random_rotation
from workbench.kernels import superpose as kernel

# Stated tolerances (Å): the float64 kernels agree with SVD to 1e-9 relative; the
# blocked float32 one-against-many kernel promises 1e-4 Å.
TIGHT = 1e-6
FAST = 1e-4


def _pair(rng: np.random.Generator, n: int, noise: float, offset: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    target = (rng.normal(size=(n, 3)) * 10 + offset).astype(np.float32)
    mobile = target @ random_rotation(rng).T + rng.normal(size=3) * 20 + rng.normal(size=(n, 3)) * noise
    return mobile.astype(np.float32), target


@pytest.mark.nojit
@pytest.mark.parametrize("n", [1, 2, 3, 5, 17, 100])
def test_rmsd_and_rotation_match_svd(rng: np.random.Generator, n: int) -> None:
    mobile, target = _pair(rng, n, noise=0.7)
    expected, rotation_ref, _ = naive.kabsch(mobile, target)
    assert kernel.rmsd_pair(mobile, target) == pytest.approx(expected, abs=TIGHT)
    rotation = np.empty((3, 3))
    translation = np.empty(3)
    value = kernel.superpose_pair(mobile, target, rotation, translation)
    assert value == pytest.approx(expected, abs=TIGHT)
    assert np.linalg.det(rotation) == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-9)
    moved = kernel.apply_transform(mobile, rotation, translation)
    assert np.sqrt(((moved.astype(np.float64) - target) ** 2).sum(1).mean()) == pytest.approx(expected, abs=1e-5)
    if n >= 3:
        np.testing.assert_allclose(rotation, rotation_ref, atol=1e-5)


@pytest.mark.nojit
def test_identical_structures_give_zero(rng: np.random.Generator) -> None:
    x = (rng.normal(size=(40, 3)) * 10 + 30).astype(np.float32)
    assert kernel.rmsd_pair(x, x) < 1e-5
    packed, g, radius = kernel.pack_reference(x)
    out = np.empty(1)
    kernel.rmsd_to_reference.serial(x[None], packed, g, radius, out)
    assert out[0] < 1e-5


@pytest.mark.nojit
def test_collinear_atoms(rng: np.random.Generator) -> None:
    line = (np.linspace(0, 10, 8)[:, None] * np.array([1.0, 2.0, -0.5])).astype(np.float32)
    moved = (line @ random_rotation(rng).T + 5).astype(np.float32)
    rotation = np.empty((3, 3))
    translation = np.empty(3)
    assert kernel.superpose_pair(moved, line, rotation, translation) < 1e-4
    np.testing.assert_allclose(kernel.apply_transform(moved, rotation, translation), line, atol=1e-4)
    assert np.linalg.det(rotation) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.nojit
def test_mirror_image_is_not_superposable(rng: np.random.Generator) -> None:
    x = rng.normal(size=(30, 3)).astype(np.float32) * 5
    mirrored = x * np.array([-1, 1, 1], dtype=np.float32)
    assert kernel.rmsd_pair(mirrored, x) == pytest.approx(naive.kabsch(mirrored, x)[0], abs=TIGHT)
    assert kernel.rmsd_pair(mirrored, x) > 1.0


@pytest.mark.nojit
def test_plain_rmsd(rng: np.random.Generator) -> None:
    a, b = _pair(rng, 20, noise=1.0)
    assert kernel.plain_rmsd(a, b) == pytest.approx(np.sqrt(((a.astype(float) - b) ** 2).sum(1).mean()), rel=1e-9)


@pytest.mark.parametrize("n", [1, 7, 8, 9, 50, 3341])
@pytest.mark.parametrize("offset", [0.0, 40.0, 1000.0])
def test_one_against_many_matches_pairwise(rng: np.random.Generator, n: int, offset: float) -> None:
    reference = (rng.normal(size=(n, 3)) * 12 + offset).astype(np.float32)
    noise = np.array([0.0, 1e-3, 0.05, 0.3, 1.0, 3.0])[:, None, None]
    frames = reference[None] + rng.normal(size=(6, n, 3)) * noise
    frames[4] = frames[4] @ random_rotation(rng).T + 15.0
    frames = frames.astype(np.float32)
    packed, g, radius = kernel.pack_reference(reference)
    out = np.empty(len(frames))
    kernel.rmsd_to_reference.serial(frames, packed, g, radius, out)
    expected = [naive.kabsch(f, reference)[0] for f in frames]
    np.testing.assert_allclose(out, expected, atol=FAST)
    assert out[0] < 1e-5


def test_parallel_variant_equals_serial(rng: np.random.Generator) -> None:
    reference = (rng.normal(size=(200, 3)) * 10).astype(np.float32)
    frames = (reference[None] + rng.normal(size=(64, 200, 3))).astype(np.float32)
    packed, g, radius = kernel.pack_reference(reference)
    serial, parallel = np.empty(64), np.empty(64)
    kernel.rmsd_to_reference.serial(frames, packed, g, radius, serial)
    kernel.rmsd_to_reference.parallel(frames, packed, g, radius, parallel)
    np.testing.assert_array_equal(serial, parallel)


@pytest.mark.nojit
def test_rmsd_matrix_symmetric_and_correct(rng: np.random.Generator) -> None:
    base = (rng.normal(size=(25, 3)) * 8).astype(np.float32)
    frames = (base[None] + rng.normal(size=(5, 25, 3)) * 0.8).astype(np.float32)
    out = np.empty((5, 5))
    kernel.rmsd_matrix.serial(frames, out)
    np.testing.assert_array_equal(out, out.T)
    assert (np.diag(out) == 0).all()
    for i in range(5):
        for j in range(5):
            assert out[i, j] == pytest.approx(naive.kabsch(frames[i], frames[j])[0], abs=FAST)


@pytest.mark.nojit
def test_superpose_to_reference_transforms(rng: np.random.Generator) -> None:
    reference = (rng.normal(size=(30, 3)) * 8).astype(np.float32)
    frames = np.stack([_pair(rng, 30, 0.2)[0] for _ in range(3)])
    frames = np.stack([reference @ random_rotation(rng).T + 7 for _ in range(3)]).astype(np.float32)
    rotations = np.empty((3, 3, 3))
    translations = np.empty((3, 3))
    out = np.empty(3)
    kernel.superpose_to_reference.serial(frames, reference, rotations, translations, out)
    for f in range(3):
        moved = kernel.apply_transform(frames[f], rotations[f], translations[f])
        np.testing.assert_allclose(moved, reference, atol=1e-4)
    assert (out < 1e-4).all()


@pytest.mark.nojit
def test_max_eigenvalue_of_degenerate_input() -> None:
    s = np.zeros((3, 3))
    assert kernel.qcp_max_eigenvalue(s, 0.0) == 0.0
    rotation = np.empty((3, 3))
    kernel.rotation_from_inner_product(s, 0.0, rotation)
    np.testing.assert_allclose(rotation, np.eye(3))
