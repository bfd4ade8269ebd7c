"""TM-score search against a plain-numpy port of the TM-score program's search."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels import kernel_reference as naive
from tests.kernels.kernel_reference import random_rotation
from workbench.kernels import tmscore as kernel


def _chain(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random walk with 3.8 Å steps, like a CA trace."""
    steps = rng.normal(size=(n, 3))
    steps *= 3.8 / np.linalg.norm(steps, axis=1)[:, None]
    return np.cumsum(steps, axis=0).astype(np.float32)


def _params(n: int) -> tuple[float, float, float]:
    d0 = kernel.d0_for_length(float(n))
    return float(n), d0, min(max(d0, 4.5), 8.0)


@pytest.mark.nojit
@pytest.mark.parametrize("n", [5, 12, 30])
def test_search_matches_numpy_port(rng: np.random.Generator, n: int) -> None:
    reference = _chain(rng, n)
    model = reference + rng.normal(size=(n, 3)).astype(np.float32) * 2.0
    model[: n // 3] += 6.0  # a displaced segment, so that the search matters
    model = (model @ random_rotation(rng).T).astype(np.float32)
    score, rotation, translation, gdt = kernel.tm_search(model, reference, *_params(n))
    expected, expected_gdt = naive.tm_search(model, reference, *_params(n))
    assert score == pytest.approx(expected, abs=1e-9)
    np.testing.assert_array_equal(gdt, expected_gdt)
    # The returned superposition achieves the returned score.
    moved = model.astype(np.float64) @ rotation.T + translation
    d2 = ((moved - reference) ** 2).sum(1)
    assert (1 / (1 + d2 / _params(n)[1] ** 2)).sum() / n == pytest.approx(score, abs=1e-9)


@pytest.mark.nojit
@pytest.mark.parametrize("n", [1, 2, 3, 4, 25])
def test_identical_structures_score_one(rng: np.random.Generator, n: int) -> None:
    x = _chain(rng, n)
    score, _, _, gdt = kernel.tm_search(x, x, *_params(n))
    assert score == pytest.approx(1.0, abs=1e-9)
    assert (gdt == n).all()


@pytest.mark.nojit
def test_rigid_motion_invariance(rng: np.random.Generator) -> None:
    reference = _chain(rng, 40)
    model = (reference + rng.normal(size=(40, 3)) * 1.5).astype(np.float32)
    moved = (model @ random_rotation(rng).T + np.array([50.0, -20.0, 7.0])).astype(np.float32)
    a = kernel.tm_search(model, reference, *_params(40))
    b = kernel.tm_search(moved, reference, *_params(40))
    assert a[0] == pytest.approx(b[0], abs=1e-6)
    np.testing.assert_array_equal(a[3], b[3])


@pytest.mark.nojit
def test_search_beats_plain_superposition(rng: np.random.Generator) -> None:
    reference = _chain(rng, 60)
    model = reference.copy()
    model[30:] = model[30:] @ random_rotation(rng).T  # a hinge motion: half moves rigidly
    model = model.astype(np.float32)
    n, d0, d0_search = _params(60)
    score, *_ = kernel.tm_search(model, reference, n, d0, d0_search)
    _, rotation, translation = naive.kabsch(model, reference)
    d2 = ((model @ rotation.T + translation - reference) ** 2).sum(1)
    assert score >= (1 / (1 + d2 / d0**2)).sum() / n
    assert score > 0.45  # the search finds the half that stays rigid


def test_d0() -> None:
    assert kernel.d0_for_length(20) == 0.5
    assert kernel.d0_for_length(21) == 0.5
    assert kernel.d0_for_length(100) == pytest.approx(1.24 * 85 ** (1 / 3) - 1.8)
