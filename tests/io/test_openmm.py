"""Structure <-> OpenMM topology + positions: names, numbering, units, bonds, round trips."""

from __future__ import annotations

import os

import numpy as np
import openmm.app as app
import openmm.unit as unit
import pytest

from tests.conftest import pdbfixer_1bhl, shared_files
from workbench import Structure, read_structure
from workbench.io.openmm import from_openmm, normalise_names, to_openmm

OPENMM_TEST_PDB = os.path.join(os.path.dirname(app.__file__), "data", "test.pdb")


def _protein(structure: Structure) -> Structure:
    return structure.select(~structure.hetero)


def test_round_trip_keeps_every_annotation_and_coordinate():
    structure = _protein(read_structure(pdbfixer_1bhl()))
    topology, positions = to_openmm(structure)
    assert topology.getNumAtoms() == structure.n_atoms
    assert positions.unit == unit.nanometer
    np.testing.assert_allclose(np.asarray(positions.value_in_unit(unit.nanometer)) * 10, structure.coords, atol=1e-5)
    back = from_openmm(topology, positions, name=structure.name)
    np.testing.assert_allclose(back.coords, structure.coords, atol=1e-4)
    for name in ("atom_name", "element", "res_name", "res_id", "ins_code", "chain_id"):
        np.testing.assert_array_equal(getattr(back, name), getattr(structure, name), err_msg=name)
    assert back.name == structure.name
    assert not back.hetero.any()


def test_units_are_converted_once_at_the_boundary():
    structure = _protein(read_structure(pdbfixer_1bhl()))
    topology, positions = to_openmm(structure)
    # A quantity in Ångström, a quantity in nm and plain nm numbers give the same structure.
    in_angstrom = from_openmm(topology, positions.in_units_of(unit.angstrom))
    plain_nm = from_openmm(topology, np.asarray(positions.value_in_unit(unit.nanometer)))
    np.testing.assert_allclose(in_angstrom.coords, structure.coords, atol=1e-4)
    np.testing.assert_allclose(plain_nm.coords, structure.coords, atol=1e-4)
    with pytest.raises(ValueError, match="positions for"):
        from_openmm(topology, np.zeros((3, 3)))


def test_from_openmm_matches_read_structure_on_openmm_own_file():
    pdb = app.PDBFile(OPENMM_TEST_PDB)
    ours = read_structure(OPENMM_TEST_PDB)
    converted = from_openmm(pdb.topology, pdb.positions)
    assert converted.n_atoms == ours.n_atoms
    np.testing.assert_allclose(converted.coords, ours.coords, atol=1e-4)
    np.testing.assert_array_equal(converted.res_id, ours.res_id)
    # test.pdb has no element column: for the two chloride ions (" Cl " in the name
    # columns) gemmi guesses C and OpenMM Cl; every other element agrees.
    ions = ours.res_name == "Cl"
    assert ions.sum() == 2 and set(converted.element[ions]) == {"Cl"}
    np.testing.assert_array_equal(converted.element[~ions], ours.element[~ions])


def test_standard_bonds_peptide_bonds_and_disulfides():
    structure = _protein(read_structure(pdbfixer_1bhl()))
    topology, _ = to_openmm(structure)
    peptide = [(a, b) for a, b in topology.bonds() if a.residue is not b.residue and {a.name, b.name} == {"C", "N"}]
    # One chain in one OpenMM chain: a peptide bond between every pair of neighbours, even across the gap.
    assert len(peptide) == len(structure.residues) - 1
    assert topology.getNumChains() == 1


@pytest.mark.parametrize("path", shared_files("structures", "1crn.pdb"), ids=lambda p: p.name)
def test_disulfides_found_by_distance(path):
    structure = read_structure(path)
    topology, _ = to_openmm(structure)
    disulfides = [(a, b) for a, b in topology.bonds() if a.name == b.name == "SG"]
    assert len(disulfides) == 3  # crambin: 3-40, 4-32, 16-26
    pairs = {tuple(sorted((int(a.residue.id), int(b.residue.id)))) for a, b in disulfides}
    assert pairs == {(3, 40), (4, 32), (16, 26)}


def test_chain_starts_split_chains_without_a_bond_across():
    structure = _protein(read_structure(pdbfixer_1bhl()))
    split = 70
    topology, _ = to_openmm(structure, chain_starts=[split])
    assert topology.getNumChains() == 2
    chains = list(topology.chains())
    assert {c.id for c in chains} == {"A"}
    assert len(list(chains[0].residues())) == split
    across = [(a, b) for a, b in topology.bonds() if a.residue.chain is not b.residue.chain]
    assert across == []
    with pytest.raises(ValueError, match="out of range"):
        to_openmm(structure, chain_starts=[len(structure.residues)])


def test_names_are_normalised_like_openmm_reads_them():
    assert normalise_names("HIE", "HN") == ("HIS", "H")
    assert normalise_names("ILE", "CD") == ("ILE", "CD1")
    assert normalise_names("LYS", "OT1") == ("LYS", "O")
    assert normalise_names("LYS", "OT2") == ("LYS", "OXT")
    assert normalise_names("CYX", "SG") == ("CYS", "SG")
    assert normalise_names("XYZ", "C1") == ("XYZ", "C1")
    gly = Structure(coords=np.arange(15, dtype=float).reshape(5, 3), atom_name=["N", "CA", "C", "OT1", "OT2"],
                    element=["N", "C", "C", "O", "O"], res_name=["GLY"] * 5, res_id=[7] * 5, ins_code=["B"] * 5,
                    chain_id=["X"] * 5, b_factor=[0] * 5, occupancy=[1] * 5, hetero=[False] * 5)
    topology, _ = to_openmm(gly)
    assert [a.name for a in topology.atoms()] == ["N", "CA", "C", "O", "OXT"]
    residue = next(topology.residues())
    assert (residue.id, residue.insertionCode, residue.chain.id) == ("7", "B", "X")
    back = from_openmm(topology, np.zeros((5, 3)))
    assert str(back.ins_code[0]) == "B" and int(back.res_id[0]) == 7


def test_selenium_and_unknown_elements():
    atoms = Structure(coords=np.zeros((2, 3)), atom_name=["SE", "X1"], element=["Se", ""], res_name=["MSE", "MSE"],
                      res_id=[1, 1], ins_code=["", ""], chain_id=["A", "A"], b_factor=[0, 0], occupancy=[1, 1],
                      hetero=[True, True])
    topology, _ = to_openmm(atoms)
    elements = [a.element for a in topology.atoms()]
    assert elements[0].symbol == "Se" and elements[1] is None
    back = from_openmm(topology, np.zeros((2, 3)))
    assert back.element.tolist() == ["Se", ""]
    assert back.hetero.all()  # MSE is a modified residue
