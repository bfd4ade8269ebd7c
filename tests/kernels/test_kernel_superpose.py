"""QCP superposition and RMSD against numpy's SVD (Kabsch) on seeded random input."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels import kernel_reference as naive
from tests.kernels.kernel_reference import random_rotation
from workbench.kernels import superpose as kernel

# Stated tolerances (Å): the float64 kernels agree with SVD to 1e-9 relative; the
# blocked float32 one-against-many kernel promises 1e-4 Å; the precentred kernels
# (float32 coordinates, float64 sums) 1e-5 Å.
TIGHT = 1e-6
FAST = 1e-4
CENTRED = 1e-5


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


def _centre(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the centring kernel on (n_frames, n, 3) float32 frames."""
    n_frames, n = frames.shape[:2]
    xyz = np.empty((n_frames, 3, n), dtype=np.float32)
    centres = np.empty((n_frames, 3))
    traces = np.empty(n_frames)
    kernel.centre_frames.serial(frames, xyz, centres, traces)
    return xyz, centres, traces


def _trajectory(rng: np.random.Generator, n: int, offset: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A reference and frames from identical to far, one rigidly moved, one mirrored (float32)."""
    reference = (rng.normal(size=(n, 3)) * 12 + offset).astype(np.float32)
    noise = np.array([0.0, 1e-3, 0.05, 0.3, 1.0, 3.0, 0.0])[:, None, None]
    frames = reference[None] + rng.normal(size=(7, n, 3)) * noise
    frames[4] = frames[4] @ random_rotation(rng).T + 15.0
    frames[6] = frames[6] * np.array([-1.0, 1.0, 1.0]) + 3.0
    return reference, frames.astype(np.float32)


@pytest.mark.nojit
@pytest.mark.parametrize("n", [1, 2, 3, 9, 40])
def test_centre_frames_matches_numpy(rng: np.random.Generator, n: int) -> None:
    frames = (rng.normal(size=(4, n, 3)) * 10 + 250).astype(np.float32)
    xyz, centres, traces = _centre(frames)
    np.testing.assert_allclose(centres, frames.astype(np.float64).mean(1), rtol=1e-12)
    expected = (frames.astype(np.float64) - frames.astype(np.float64).mean(1, keepdims=True)).astype(np.float32)
    np.testing.assert_array_equal(xyz, expected.transpose(0, 2, 1))
    np.testing.assert_allclose(traces, (xyz.astype(np.float64) ** 2).sum((1, 2)), rtol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 7, 50, 128, 129, 1024, 1025, 3341])
@pytest.mark.parametrize("offset", [0.0, 1000.0])
def test_rmsd_centred_matches_svd(rng: np.random.Generator, n: int, offset: float) -> None:
    # n on both sides of PAIRED_MAX_ATOMS and ROW_BY_ROW_MAX_ATOMS: every loop order
    reference, frames = _trajectory(rng, n, offset)
    xyz, _, traces = _centre(frames)
    ref_xyz, _, ref_trace = _centre(reference[None])
    out = np.empty(len(frames))
    kernel.rmsd_centred.serial(xyz, traces, ref_xyz[0], ref_trace[0], out)
    expected = [naive.kabsch(f, reference)[0] for f in frames]
    np.testing.assert_allclose(out, expected, atol=CENTRED)
    assert out[0] < CENTRED  # self-RMSD


@pytest.mark.nojit
@pytest.mark.parametrize("n", [12, kernel.PAIRED_MAX_ATOMS + 1, kernel.ROW_BY_ROW_MAX_ATOMS + 1])
def test_rmsd_centred_small(rng: np.random.Generator, n: int) -> None:
    # every loop order; 7 frames: three pairs and a last single frame where frames are paired
    _, frames = _trajectory(rng, n, 30.0)
    xyz, _, traces = _centre(frames)
    out = np.empty(len(frames))
    kernel.rmsd_centred.serial(xyz, traces, xyz[0], traces[0], out)
    np.testing.assert_allclose(out, [naive.kabsch(f, frames[0])[0] for f in frames], atol=CENTRED)
    assert out[0] < CENTRED  # self-RMSD: float64 rounding, amplified by the square root


def test_rmsd_centred_invariant_under_rigid_motion(rng: np.random.Generator) -> None:
    reference, frames = _trajectory(rng, 300)
    moved = np.stack([f @ random_rotation(rng).T + rng.normal(size=3) * 50 for f in frames]).astype(np.float32)
    results = []
    for stack in (frames, moved):
        xyz, _, traces = _centre(stack)
        ref_xyz, _, ref_trace = _centre(reference[None])
        out = np.empty(len(stack))
        kernel.rmsd_centred.serial(xyz, traces, ref_xyz[0], ref_trace[0], out)
        results.append(out)
    np.testing.assert_allclose(results[0], results[1], atol=CENTRED)


@pytest.mark.parametrize("n", [100, 200, kernel.ROW_BY_ROW_MAX_ATOMS + 100])
def test_rmsd_centred_parallel_equals_serial(rng: np.random.Generator, n: int) -> None:
    reference = (rng.normal(size=(n, 3)) * 10).astype(np.float32)
    frames = (reference[None] + rng.normal(size=(63, n, 3))).astype(np.float32)
    xyz, centres, traces = _centre(frames)
    xyz2, centres2, traces2 = np.empty_like(xyz), np.empty_like(centres), np.empty_like(traces)
    kernel.centre_frames.parallel(frames, xyz2, centres2, traces2)
    np.testing.assert_array_equal(xyz, xyz2)
    np.testing.assert_array_equal(traces, traces2)
    serial, parallel = np.empty(63), np.empty(63)
    kernel.rmsd_centred.serial(xyz, traces, xyz[3], traces[3], serial)
    kernel.rmsd_centred.parallel(xyz, traces, xyz[3], traces[3], parallel)
    np.testing.assert_array_equal(serial, parallel)


@pytest.mark.nojit
def test_non_finite_frame_gives_nan(rng: np.random.Generator) -> None:
    frames = (rng.normal(size=(3, 10, 3)) * 5).astype(np.float32)
    frames[1, 4, 2] = np.nan
    frames[2, 0, 0] = np.inf
    with np.errstate(invalid="ignore"):  # inf - inf, when run without JIT
        xyz, _, traces = _centre(frames)
    assert np.isfinite(traces[0]) and not np.isfinite(traces[1]) and not np.isfinite(traces[2])
    out = np.empty(3)
    kernel.rmsd_centred.serial(xyz, traces, xyz[0], traces[0], out)
    assert out[0] == 0.0 and np.isnan(out[1]) and np.isnan(out[2])


@pytest.mark.nojit
@pytest.mark.parametrize("n", [1, 3, 25])
def test_rmsd_from_products_matches_svd(rng: np.random.Generator, n: int) -> None:
    base = (rng.normal(size=(n, 3)) * 8 + 20).astype(np.float32)
    frames = base[None] + rng.normal(size=(5, n, 3)) * np.array([0.0, 0.0, 1e-3, 0.8, 2.0])[:, None, None]
    frames = frames.astype(np.float32)
    xyz, _, traces = _centre(frames)
    rows = xyz.reshape(15, n).astype(np.float64)
    expected = np.array([[naive.kabsch(a, b)[0] for b in frames] for a in frames])
    whole = np.full((5, 5), -1.0)
    kernel.rmsd_from_products.serial(rows @ rows.T, traces, traces, n, True, whole)
    np.testing.assert_array_equal(whole, whole.T)
    assert (np.diag(whole) == 0).all()
    np.testing.assert_allclose(whole, expected, atol=CENTRED)
    # as BLAS dsyrk returns it: Fortran order, only the upper triangle filled
    upper = np.asfortranarray(np.where(np.triu(np.ones((15, 15), bool)), rows @ rows.T, np.nan))
    from_upper = np.full((5, 5), -1.0)
    kernel.rmsd_from_products.serial(upper, traces, traces, n, True, from_upper)
    np.testing.assert_array_equal(from_upper, whole)
    # an off-diagonal block: frames 0-1 against 2-4, written into a strided view
    out = np.full((5, 5), -1.0)
    kernel.rmsd_from_products.serial(rows[:6] @ rows[6:].T, traces[:2], traces[2:], n, False, out[:2, 2:])
    np.testing.assert_allclose(out[:2, 2:], expected[:2, 2:], atol=CENTRED)
    assert (out[2:] == -1.0).all()


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
