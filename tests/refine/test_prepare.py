"""Preparation with PDBFixer: repairs reported, input coordinates kept, bad residues refused by name."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import workbench
from tests.conftest import shared_data_dir
from tests.refine.conftest import load, structure_path
from workbench import StructureFormatError
from workbench.refine import find_chain_breaks, prepare_model, refine


def _drop(structure: workbench.Structure, mask: np.ndarray) -> workbench.Structure:
    return structure.select(~mask)


def _residue_mask(structure, res_id: int, names=None) -> np.ndarray:
    mask = structure.res_id == res_id
    if names is not None:
        mask &= np.isin(structure.atom_name, names)
    return mask


def test_input_atoms_keep_their_exact_coordinates_and_map_back():
    structure = load("1bhl")
    prepared = prepare_model(structure)
    source = prepared.source_atom
    from_input = source >= 0
    np.testing.assert_array_equal(prepared.positions[from_input], structure.coords[source[from_input]])
    atoms = list(prepared.topology.atoms())
    for i in np.flatnonzero(from_input)[::37]:
        assert atoms[i].name == str(structure.atom_name[source[i]]) or (
            str(structure.res_name[source[i]]) == "MSE")
    # Hydrogens and added atoms have no input atom; every input hydrogen was replaced.
    assert all(atoms[i].element.symbol == "H" or i in set(np.flatnonzero(~from_input)) for i in range(len(atoms))
               if source[i] < 0)
    assert prepared.report.n_hydrogens == sum(a.element.symbol == "H" for a in atoms)
    assert len(prepared.residue_labels) == prepared.topology.getNumResidues() == len(prepared.source_residue)


def test_1bhl_waters_modified_residues_and_the_chain_break():
    structure = load("1bhl")
    prepared = prepare_model(structure)
    report = prepared.report
    assert report.removed_waters == structure.n_waters() == 53
    assert dict(report.replaced_residues) == {"A:CAS 65": "CYS", "A:CAS 130": "CYS"}
    assert {r: set(a) for r, a in report.removed_atoms} == {"A:CAS 65": {"AS", "CE1", "CE2"},
                                                           "A:CAS 130": {"AS", "CE1", "CE2"}}
    # Residues 138-143 are missing: the chain is split there, not bonded across 20 Å.
    assert len(report.chain_breaks) == 1 and report.chain_breaks[0].startswith("A:GLN 137")
    chains = list(prepared.topology.chains())
    assert len(chains) == 2 and {c.id for c in chains} == {"A"}
    assert not [1 for a, b in prepared.topology.bonds() if a.residue.chain is not b.residue.chain]
    # Both segments end with a carboxylate.
    for chain in chains:
        last = list(chain.residues())[-1]
        assert "OXT" in {a.name for a in last.atoms()}
    assert prepared.topology.getNumResidues() == len(structure.residues) - 53


def test_selenomethionine_becomes_methionine_with_sd_at_the_selenium():
    structure = load("1a8o")
    prepared = prepare_model(structure)
    mse = structure.modified_residues()
    assert len(mse) == 4
    assert {to for _, to in prepared.report.replaced_residues} == {"MET"}
    names = [r.name for r in prepared.topology.residues()]
    assert "MSE" not in names
    atoms = list(prepared.topology.atoms())
    selenium = np.flatnonzero(structure.element == "Se")
    assert len(selenium) == 4
    for se in selenium:
        (i,) = np.flatnonzero(prepared.source_atom == se)
        assert atoms[i].name == "SD" and atoms[i].element.symbol == "S" and atoms[i].residue.name == "MET"
        np.testing.assert_array_equal(prepared.positions[i], structure.coords[se])


def test_missing_side_chain_and_backbone_oxygen_are_rebuilt():
    structure = load("1crn")
    arg = int(structure.res_id[(structure.res_name == "ARG")][0])
    gone = _residue_mask(structure, arg, ["NE", "CZ", "NH1", "NH2"]) | _residue_mask(structure, 20, ["O"])
    damaged = _drop(structure, gone)
    prepared = prepare_model(damaged)
    added = dict(prepared.report.added_atoms)
    assert set(added[f"A:ARG {arg}"]) == {"NE", "CZ", "NH1", "NH2"}
    (label_20,) = [k for k in added if k.endswith(" 20")]
    assert added[label_20] == ("O",)
    result = refine(damaged)
    assert len(result.violations_after) == 0
    refined = result.structure
    rebuilt = refined.select((refined.res_id == arg) & np.isin(refined.atom_name, ["NE", "CZ", "NH1", "NH2"]))
    assert rebuilt.n_atoms == 4
    # Rebuilt atoms take the residue's CA B-factor (the input's atoms keep theirs).
    ca_b = structure.b_factor[_residue_mask(structure, arg, ["CA"])][0]
    np.testing.assert_allclose(rebuilt.b_factor, ca_b)
    # The rebuilt guanidinium sits where a guanidinium belongs: CZ 4-5 Å from CB... 2.5 bonds out.
    cb = refined.coords[(refined.res_id == arg) & (refined.atom_name == "CB")][0]
    cz = rebuilt.coords[rebuilt.atom_name == "CZ"][0]
    assert 3.5 < np.linalg.norm(cz - cb) < 5.5


def test_unknown_residue_is_refused_by_name():
    structure = load("1crn")
    names = np.where(structure.res_id == 5, "UNK", structure.res_name)
    bad = replace(structure, res_name=names)
    with pytest.raises(StructureFormatError, match=r"A:UNK 5 is an unknown amino acid \(X\)") as info:
        prepare_model(bad)
    assert isinstance(info.value, ValueError)
    assert "1crn" in str(info.value)


def test_backbone_less_residue_is_refused_by_name():
    structure = load("1crn")
    bad = _drop(structure, _residue_mask(structure, 7, ["N", "CA"]))
    label = f"A:{structure.res_name[structure.res_id == 7][0]} 7"
    with pytest.raises(StructureFormatError, match=f"{label} \\(no N, CA\\) lacks backbone atoms"):
        refine(bad)


def test_ca_only_model_is_refused_listing_the_residues():
    root = shared_data_dir()
    if root is None:
        pytest.skip("../shared/data is not beside this checkout")
    ca_only = workbench.read_structure(root / "pairs" / "2pel_chainA_onlyCAs.pdb")
    with pytest.raises(StructureFormatError, match=r"\(no N, C\).* and \d+ more lack backbone atoms"):
        prepare_model(ca_only)


def test_ensemble_uses_the_first_model_and_replaces_input_hydrogens():
    root = shared_data_dir()
    if root is None:
        pytest.skip("../shared/data is not beside this checkout")
    nmr = workbench.read_structure(root / "structures" / "1l2y.pdb")
    assert nmr.n_models > 1 and (nmr.element == "H").any()
    prepared = prepare_model(nmr)
    assert prepared.report.n_models == nmr.n_models and prepared.report.model == 1
    heavy = prepared.source_atom >= 0
    np.testing.assert_array_equal(prepared.positions[heavy], nmr.coords[prepared.source_atom[heavy]])
    assert not np.isin(nmr.element[prepared.source_atom[heavy]], ("H",)).any()
    assert prepared.report.n_hydrogens > 0


def test_chain_selection_and_heterogens():
    root = shared_data_dir()
    if root is None:
        pytest.skip("../shared/data is not beside this checkout")
    hemoglobin = workbench.read_structure(root / "structures" / "4hhb.pdb")
    prepared = prepare_model(hemoglobin, chains=["A"])
    assert prepared.report.chains == ("A",)
    assert {c.id for c in prepared.topology.chains()} == {"A"}
    assert prepared.report.removed_heterogens.get("HEM") == 1
    with pytest.raises(StructureFormatError, match=r"chain\(s\) \['Z'\] not found"):
        prepare_model(hemoglobin, chains=["Z"])


def test_find_chain_breaks_rules():
    structure = load("1crn").select(load("1crn").res_id <= 10)
    assert find_chain_breaks(structure).tolist() == []
    coords = structure.coords.copy()
    later = structure.res_id >= 6
    # 3 Å stretched bond between consecutive numbers: still bonded (a predicted model's strain).
    c5 = coords[(structure.res_id == 5) & (structure.atom_name == "C")][0]
    n6 = coords[(structure.res_id == 6) & (structure.atom_name == "N")][0]
    direction = (n6 - c5) / np.linalg.norm(n6 - c5)
    stretched = coords.copy()
    stretched[later] += direction * (3.0 - np.linalg.norm(n6 - c5))
    assert find_chain_breaks(structure.with_coords(stretched)).tolist() == []
    # 5 Å: a break.
    broken = coords.copy()
    broken[later] += direction * (5.0 - np.linalg.norm(n6 - c5))
    assert find_chain_breaks(structure.with_coords(broken)).tolist() == [5]
    # 3 Å across a numbering gap: a break; 1.3 Å across a numbering gap: bonded.
    renumbered = replace(structure.with_coords(stretched), res_id=np.where(later, structure.res_id + 10,
                                                                           structure.res_id))
    assert find_chain_breaks(renumbered).tolist() == [5]
    assert find_chain_breaks(replace(structure, res_id=renumbered.res_id)).tolist() == []
    # A residue without N after it: a break.
    assert find_chain_breaks(structure.select(~((structure.res_id == 6) & (structure.atom_name == "N")))).tolist() \
        == [5]


def test_structure_path_helper_names_the_file():
    assert structure_path("1bhl").name == "1BHL.pdb"
