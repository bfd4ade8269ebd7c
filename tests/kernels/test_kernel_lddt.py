"""lDDT kernels against dense numpy distance matrices."""

from __future__ import annotations

import numpy as np
import pytest

from tests.kernels import kernel_reference as naive
from tests.kernels.kernel_reference import random_rotation
from workbench.kernels import lddt as kernel

THRESHOLDS = np.array([0.5, 1.0, 2.0, 4.0])


def _case(rng: np.random.Generator, n_res: int = 30, per_res: int = 5, noise: float = 1.0):
    reference = (rng.normal(size=(n_res * per_res, 3)) * 9).astype(np.float32)
    residue = np.repeat(np.arange(n_res), per_res).astype(np.int64)
    model = (reference + rng.normal(size=reference.shape) * noise).astype(np.float32)
    return reference, model, residue


@pytest.mark.nojit
@pytest.mark.parametrize("cutoff", [5.0, 15.0])
def test_counts_match_numpy(rng: np.random.Generator, cutoff: float) -> None:
    reference, model, residue = _case(rng)
    present = rng.random(len(reference)) > 0.1
    contacts, conserved = kernel.lddt_counts(reference, model, present, residue, 30, cutoff, THRESHOLDS)
    expected_global, expected_residue = naive.lddt(reference, model, present, residue, cutoff, THRESHOLDS)
    assert conserved.sum() / (4 * contacts.sum()) == pytest.approx(expected_global, abs=1e-12)
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(conserved / (4 * contacts), expected_residue, atol=1e-12)


@pytest.mark.nojit
def test_identical_and_rigidly_moved_models_score_one(rng: np.random.Generator) -> None:
    reference, _, residue = _case(rng)
    moved = (reference @ random_rotation(rng).T + 30.0).astype(np.float32)
    present = np.ones(len(reference), dtype=bool)
    for model in (reference, moved):
        contacts, conserved = kernel.lddt_counts(reference, model, present, residue, 30, 15.0, THRESHOLDS)
        assert conserved.sum() == 4 * contacts.sum()


@pytest.mark.nojit
def test_one_atom_and_one_residue_have_no_contacts() -> None:
    x = np.zeros((1, 3), dtype=np.float32)
    contacts, conserved = kernel.lddt_counts(x, x, np.ones(1, bool), np.zeros(1, np.int64), 1, 15.0, THRESHOLDS)
    assert contacts.sum() == 0 and conserved.sum() == 0
    x = np.eye(3, dtype=np.float32)
    contacts, _ = kernel.lddt_counts(x, x, np.ones(3, bool), np.zeros(3, np.int64), 1, 15.0, THRESHOLDS)
    assert contacts.sum() == 0


@pytest.mark.nojit
def test_symmetry_resolution_undoes_a_renaming(rng: np.random.Generator) -> None:
    reference, _, residue = _case(rng, noise=0.0)
    model = reference.copy()
    # Atoms 10 and 11 (residue 2) and 20, 21 (residue 4) are symmetric pairs, swapped in the model.
    model[[10, 11]] = reference[[11, 10]]
    model[[20, 21]] = reference[[21, 20]]
    swaps = np.array([[10, 11], [20, 21]], dtype=np.int64)
    groups = np.array([0, 1], dtype=np.int64)
    present = np.ones(len(reference), dtype=bool)
    fixed, swapped = kernel.resolve_symmetry(reference, model, present, residue, swaps, groups, 15.0, THRESHOLDS)
    assert swapped.all()
    np.testing.assert_array_equal(fixed, reference)
    # An unswapped model stays as it is.
    same, swapped = kernel.resolve_symmetry(reference, reference, present, residue, swaps, groups, 15.0, THRESHOLDS)
    assert not swapped.any()
    np.testing.assert_array_equal(same, reference)
