"""Residue pairing by sequence alignment (``match_residues``) on real structures.

The reference for every check is the pairing the original numbering gives, where
it is correct: a structure renumbered (or with residues cut out) must be paired
back to exactly the residues it came from, and every score computed on the
match must equal the score of the correctly numbered original.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.conftest import pdbfixer_1bhl, renumber_from_one
from workbench import read_structure
from workbench.analysis import lddt, rmsd, tm_score
from workbench.analysis.matching import match_residues
from workbench.residues import is_amino_acid


def test_calmodulin_numbered_from_one_pairs_as_its_uniprot_numbering(read_shared):
    extended = read_shared("pairs/1cll_A_bioemu.pdb")  # residues 2-145
    compact = read_shared("pairs/5ggm_A_bioemu.pdb")  # residues 1-146, same numbering
    renumbered = renumber_from_one(extended)
    assert renumbered.residues.res_id[0] == 1 and extended.residues.res_id[0] == 2

    matched = match_residues(renumbered, compact)

    np.testing.assert_array_equal(matched.model.res_id, extended.res_id)
    np.testing.assert_array_equal(matched.model.coords, extended.coords)
    # identity by the (correct) original numbering, counted with numpy
    ext, cmp_ = extended.residues, compact.residues
    common, i, j = np.intersect1d(ext.res_id, cmp_.res_id, return_indices=True)
    (chain,) = matched.chains
    assert chain.aligned == len(common) == 144
    assert chain.identical == int((ext.res_name[i] == cmp_.res_name[j]).sum())
    assert chain.identity < 1.0, "1CLL and 5GGM differ at one position"

    by_number = tm_score(extended, compact)
    by_alignment = tm_score(matched.model, compact)
    assert by_alignment.tm_score == pytest.approx(by_number.tm_score, abs=1e-6)
    assert by_alignment.n_aligned == by_number.n_aligned == 144
    assert lddt(matched.model, compact).score == pytest.approx(lddt(extended, compact).score)
    # numbering from one pairs every residue with its neighbour: a wrong, worse score
    shifted = tm_score(renumbered, compact)
    assert shifted.tm_score < by_number.tm_score - 0.01


def test_a_deleted_loop_pairs_the_rest_with_their_own_residues():
    crystal = read_structure(pdbfixer_1bhl())
    integrase = crystal.select(np.array([is_amino_acid(name) for name in crystal.res_name]))  # no water
    residue_ids = integrase.residues.res_id
    cut = np.isin(integrase.res_id, np.arange(140, 145))  # five residues of the 140s loop
    deletion = renumber_from_one(integrase.select(~cut))

    matched = match_residues(deletion, crystal)

    kept_ids = residue_ids[~np.isin(residue_ids, np.arange(140, 145))]
    (chain,) = matched.chains
    assert chain.aligned == len(kept_ids) and chain.identity == 1.0
    np.testing.assert_array_equal(np.unique(matched.model.res_id), kept_ids)
    np.testing.assert_array_equal(matched.model.coords, integrase.select(~cut).coords)
    assert rmsd(matched.model, integrase, "heavy") == pytest.approx(0.0, abs=1e-4)


def test_chains_lettered_differently_pair_chain_to_chain(read_shared):
    complex_ = read_shared("structures/2xhe.pdb")
    assert complex_.chains[:2] == ("A", "B")
    swap = {"A": "B", "B": "A"}
    relettered = dataclasses.replace(
        renumber_from_one(complex_), chain_id=np.array([swap.get(c, c) for c in complex_.chain_id])
    )

    matched = match_residues(relettered, complex_)

    assert {(c.model_chain, c.reference_chain) for c in matched.chains} == {("B", "A"), ("A", "B")}
    assert all(c.identity == 1.0 for c in matched.chains)
    protein = np.isin(complex_.chain_id, ["A", "B"]) & ~complex_.hetero
    assert rmsd(matched.model, complex_.select(protein), "CA") == pytest.approx(0.0, abs=1e-4)


def test_unrelated_chains_are_refused_with_the_threshold(read_shared):
    with pytest.raises(ValueError, match=r"no chain of the model .* 30% sequence identity"):
        match_residues(read_shared("structures/1ubq.pdb"), read_shared("structures/1crn.pdb"))


def test_a_structure_without_amino_acids_is_refused(read_shared):
    ubiquitin = read_shared("structures/1ubq.pdb")
    water = ubiquitin.select(ubiquitin.res_name == "HOH")
    with pytest.raises(ValueError, match="the model has no amino-acid residue"):
        match_residues(water, ubiquitin)


def test_ligands_and_water_are_left_out(read_shared):
    ubiquitin = read_shared("structures/1ubq.pdb")
    matched = match_residues(ubiquitin, ubiquitin)
    assert "HOH" not in set(matched.model.res_name)
    assert matched.n_pairs == 76


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_an_identity_threshold_outside_zero_to_one_is_refused(read_shared, bad):
    ubiquitin = read_shared("structures/1ubq.pdb")
    with pytest.raises(ValueError, match="min_identity must be between 0 and 1"):
        match_residues(ubiquitin, ubiquitin, min_identity=bad)
