"""``compare``: residue pairing, superposition of the whole model, and the scores, against numpy references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tests.conftest import pdbfixer_1bhl, renumber_from_one
from workbench import read_structure
from workbench.analysis import compare, lddt, tm_score


def _kabsch_rmsd(x: np.ndarray, y: np.ndarray) -> float:
    """Plain-numpy RMSD of x on y after the optimal rotation (SVD), the reference for the QCP kernel."""
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    u, _, vt = np.linalg.svd(x.T @ y)
    d = np.sign(np.linalg.det(u @ vt))
    rotation = u @ np.diag([1.0, 1.0, d]) @ vt
    return float(np.sqrt(((x @ rotation - y) ** 2).sum(axis=1).mean()))


def test_alignment_pairing_of_a_renumbered_model_scores_as_the_correct_numbering(read_shared):
    extended = read_shared("pairs/1cll_A_bioemu.pdb")  # calmodulin residues 2-145
    compact = read_shared("pairs/5ggm_A_bioemu.pdb")  # residues 1-146
    renumbered = renumber_from_one(extended)

    by_alignment = compare(renumbered, compact)
    by_number = compare(extended, compact, pairing="numbering")

    # numpy reference: CA atoms paired by the original (UniProt) numbering
    ca_e, ca_c = extended.select(extended.atom_name == "CA"), compact.select(compact.atom_name == "CA")
    _, i, j = np.intersect1d(ca_e.res_id, ca_c.res_id, return_indices=True)
    expected_rmsd = _kabsch_rmsd(ca_e.coords[i].astype(float), ca_c.coords[j].astype(float))
    assert by_alignment.n_pairs == len(i) == 144
    assert by_alignment.rmsd == pytest.approx(expected_rmsd, abs=1e-3)
    assert by_number.rmsd == pytest.approx(expected_rmsd, abs=1e-3)
    assert by_alignment.tm.tm_score == pytest.approx(tm_score(extended, compact).tm_score, abs=1e-9)
    assert by_alignment.lddt == pytest.approx(lddt(extended, compact).score, abs=1e-9)
    # the superposed model keeps its own numbering and every atom
    np.testing.assert_array_equal(by_alignment.superposed.res_id, renumbered.res_id)
    np.testing.assert_allclose(by_alignment.superposed.coords, by_number.superposed.coords, atol=1e-3)
    (chain,) = by_alignment.chains
    assert (chain.model_chain, chain.reference_chain, chain.aligned) == ("A", "A", 144)
    assert by_number.chains == ()

    # numbering from one pairs each residue with its neighbour: a worse, wrong answer
    assert compare(renumbered, compact, pairing="numbering").tm.tm_score < by_alignment.tm.tm_score - 0.01


def test_the_whole_model_is_moved_back_onto_the_reference():
    crystal = read_structure(pdbfixer_1bhl())  # protein, water and a modified cysteine
    rotation = Rotation.from_euler("xyz", [40.0, -75.0, 130.0], degrees=True).as_matrix()
    moved = renumber_from_one(crystal.with_coords(crystal.coords.astype(float) @ rotation.T + [30.0, -12.0, 7.5]))

    result = compare(moved, crystal)

    assert result.superposed.n_atoms == crystal.n_atoms  # water included, not only the paired residues
    np.testing.assert_allclose(result.superposed.coords, crystal.coords, atol=2e-3)
    assert result.rmsd == pytest.approx(0.0, abs=1e-3)
    assert result.tm.tm_score == pytest.approx(1.0, abs=1e-6)
    assert result.lddt == pytest.approx(1.0)


def test_an_unknown_pairing_is_refused(read_shared):
    ubiquitin = read_shared("structures/1ubq.pdb")
    with pytest.raises(ValueError, match="pairing must be one of"):
        compare(ubiquitin, ubiquitin, pairing="chain")
