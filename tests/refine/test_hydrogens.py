"""Hydrogens by geometry: OpenMM's choices exactly, sound geometry, and refinements as good as before.

The reference is OpenMM's own ``Modeller.addHydrogens`` (what preparation called
before, with its force-field minimisation of the hydrogens), run here on the same
heavy atoms.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import openmm.app as app
import openmm.unit as unit
import pytest

from tests.refine.conftest import load
from workbench.refine import RefineConfig, prepare_model, refine
from workbench.refine.forcefield import load_forcefield
from workbench.refine.hydrogens import BOND_LENGTH, add_hydrogens
from workbench.refine.prepare import PreparedModel


def _heavy(prepared: PreparedModel) -> tuple[app.Topology, np.ndarray]:
    """The prepared model's heavy atoms (topology with bonds, positions in Å)."""
    modeller = app.Modeller(prepared.topology, prepared.positions_nm)
    modeller.delete([a for a in prepared.topology.atoms() if a.element.symbol == "H"])
    return modeller.topology, np.asarray(modeller.positions.value_in_unit(unit.angstrom))


def _openmm(topology: app.Topology, positions: np.ndarray, forcefield: app.ForceField | None = None,
            ph: float = 7.0) -> tuple[app.Modeller, list]:
    """OpenMM's ``addHydrogens`` on the heavy atoms (seeded: it draws start positions from ``random``)."""
    modeller = app.Modeller(topology, unit.Quantity(positions, unit.angstrom))
    random.seed(0)
    variants = modeller.addHydrogens(forcefield=forcefield, pH=ph)
    return modeller, variants


def _per_residue(topology: app.Topology) -> list[tuple[str, list[str]]]:
    return [(r.name, [a.name for a in r.atoms()]) for r in topology.residues()]


@pytest.mark.parametrize("name", ["1crn", "1ubq", "1bhl", "colabfold", "alphafold2", "1hho"])
def test_the_same_hydrogens_as_openmm_in_the_same_order(name: str):
    topology, positions = _heavy(prepare_model(load(name)))
    theirs, their_variants = _openmm(topology, positions)
    ours = add_hydrogens(topology, positions, 7.0)
    assert _per_residue(ours.topology) == _per_residue(theirs.topology)
    assert ours.variants == their_variants
    bonds = sorted(tuple(sorted((a.index, b.index))) for a, b in ours.topology.bonds())
    assert bonds == sorted(tuple(sorted((a.index, b.index))) for a, b in theirs.topology.bonds())
    heavy = np.array([a.element.symbol != "H" for a in ours.topology.atoms()])
    np.testing.assert_array_equal(ours.positions[heavy], positions)


@pytest.mark.parametrize("ph", [4.0, 7.0, 11.0])
def test_protonation_follows_the_ph_like_openmm(ph: float):
    topology, positions = _heavy(prepare_model(load("1ubq")))
    theirs, their_variants = _openmm(topology, positions, ph=ph)
    ours = add_hydrogens(topology, positions, ph)
    assert _per_residue(ours.topology) == _per_residue(theirs.topology)
    assert ours.variants == their_variants


def test_his_variants_include_both_tautomers_and_cyx():
    """1HHO's histidines get HID and HIE by OpenMM's hydrogen-bond test; 1CRN's cystines are CYX."""
    topology, positions = _heavy(prepare_model(load("1hho")))
    variants = add_hydrogens(topology, positions, 7.0).variants
    assert {"HID", "HIE"} <= set(variants)
    topology, positions = _heavy(prepare_model(load("1crn")))
    assert add_hydrogens(topology, positions, 7.0).variants.count("CYX") == 6


@pytest.mark.parametrize("name", ["1ubq", "colabfold"])
def test_geometry_is_standard_and_near_openmm_minimised_hydrogens(name: str):
    topology, positions = _heavy(prepare_model(load(name)))
    ours = add_hydrogens(topology, positions, 7.0)
    symbol = [a.element.symbol for a in ours.topology.atoms()]
    pairs = np.array([(a.index, b.index) if b.element.symbol == "H" else (b.index, a.index)
                      for a, b in ours.topology.bonds() if "H" in (a.element.symbol, b.element.symbol)])
    lengths = np.linalg.norm(ours.positions[pairs[:, 1]] - ours.positions[pairs[:, 0]], axis=1)
    np.testing.assert_allclose(lengths, [BOND_LENGTH[symbol[p]] for p in pairs[:, 0]], atol=1e-9)
    # angles at every parent with two or more bonded atoms: none below 95 degrees (no stacked hydrogens)
    neighbours: dict[int, list[int]] = {}
    for a, b in ours.topology.bonds():
        neighbours.setdefault(a.index, []).append(b.index)
        neighbours.setdefault(b.index, []).append(a.index)
    for h, p in zip(pairs[:, 1], pairs[:, 0], strict=True):
        for other in neighbours[int(p)]:
            if other != h:
                u, v = ours.positions[h] - ours.positions[p], ours.positions[other] - ours.positions[p]
                assert np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))) > 95.0
    # hydrogens without rotational freedom (parent with two or more heavy neighbours) are where OpenMM's
    # minimisation puts them, up to the order within a CH2 group (OpenMM's naming there is a coin toss:
    # both start at the same spot); rotatable OH, SH, NH3+ and CH3 may sit in another staggered well.
    theirs, _ = _openmm(topology, positions, load_forcefield("vacuum"))
    their_xyz = np.asarray(theirs.positions.value_in_unit(unit.angstrom))
    groups: dict[int, list[int]] = {}
    for h, p in zip(pairs[:, 1].tolist(), pairs[:, 0].tolist(), strict=True):
        if sum(symbol[n] != "H" for n in neighbours[p]) >= 2:
            groups.setdefault(p, []).append(h)
    off = [max(min(np.linalg.norm(ours.positions[h] - their_xyz[g], axis=1)) for h in g) for g in groups.values()]
    assert np.mean(np.array(off) < 0.3) > 0.95


def test_placement_is_deterministic_and_refuses_hydrogens():
    prepared = prepare_model(load("1crn"))
    topology, positions = _heavy(prepared)
    first, second = add_hydrogens(topology, positions), add_hydrogens(topology, positions)
    np.testing.assert_array_equal(first.positions, second.positions)
    with pytest.raises(ValueError, match="without hydrogens"):
        add_hydrogens(prepared.topology, prepared.positions)


def test_placement_does_not_depend_on_the_order_of_the_bonds():
    """PDBFixer makes a replaced residue's bonds in a varying order; it once swapped HB2 and HB3 of 1BHL's CYS 65."""
    topology, positions = _heavy(prepare_model(load("1bhl")))
    shuffled = app.Topology()
    atoms = {}
    for chain in topology.chains():
        new_chain = shuffled.addChain(chain.id)
        for residue in chain.residues():
            new_residue = shuffled.addResidue(residue.name, new_chain, residue.id, residue.insertionCode)
            for atom in residue.atoms():
                atoms[atom.index] = shuffled.addAtom(atom.name, atom.element, new_residue, atom.id)
    bonds = [(atoms[a.index], atoms[b.index]) for a, b in topology.bonds()]
    random.Random(7).shuffle(bonds)
    for a, b in bonds:
        shuffled.addBond(*((b, a) if (a.index + b.index) % 2 else (a, b)))
    np.testing.assert_array_equal(add_hydrogens(shuffled, positions).positions,
                                  add_hydrogens(topology, positions).positions)


#: The refinement from geometric hydrogens against the one from OpenMM's minimised hydrogens (the old
#: preparation): final force-field energy within 2 % (or 2 kJ/mol per residue), violations at most one more,
#: CA RMSD to the input within 0.05 Å.
ENERGY_FRACTION = 0.02


@pytest.mark.parametrize("name", ["1crn", "1ubq", "colabfold"])
def test_refinement_is_as_good_as_from_openmm_hydrogens(name: str):
    config = RefineConfig(platform="CPU", threads=1)
    structure = load(name)
    prepared = prepare_model(structure, ph=config.ph, seed=config.seed)
    topology, positions = _heavy(prepared)
    theirs, _ = _openmm(topology, positions, load_forcefield("vacuum"))
    assert _per_residue(theirs.topology) == _per_residue(prepared.topology)
    old_positions = np.asarray(theirs.positions.value_in_unit(unit.angstrom))
    old_positions[prepared.heavy] = prepared.positions[prepared.heavy]
    old = refine(structure, config, prepared=dataclasses.replace(prepared, positions=old_positions))
    new = refine(structure, config, prepared=prepared)
    n_residues = prepared.topology.getNumResidues()
    tolerance = max(ENERGY_FRACTION * abs(old.energy_after), 2.0 * n_residues)
    assert abs(new.energy_after - old.energy_after) <= tolerance
    assert len(new.violations_after) <= len(old.violations_after) + 1
    assert abs(new.rmsd_ca - old.rmsd_ca) <= 0.05
