"""Preparation repeats exactly: the same input gets the same added atoms, run after run."""

from __future__ import annotations

import numpy as np

import workbench
from tests.conftest import pdbfixer_1bhl
from workbench.refine.prepare import prepare


def test_prepare_twice_gives_identical_atoms():
    structure = workbench.read_structure(pdbfixer_1bhl())
    protein = structure.select(structure.polymer)
    # strip one side chain so PDBFixer rebuilds it (its seeded dynamics) besides adding hydrogens
    lys = (protein.res_name == "LYS") & ~np.isin(protein.atom_name, ["N", "CA", "C", "O", "CB"])
    first_lys = protein.res_id[np.flatnonzero(lys)[0]]
    stripped = protein.select(~(lys & (protein.res_id == first_lys)))
    first, second = prepare(stripped), prepare(stripped)
    assert first.topology.getNumAtoms() == second.topology.getNumAtoms() > stripped.n_atoms
    np.testing.assert_array_equal(np.asarray(first.positions), np.asarray(second.positions))


def test_prepare_twice_gives_identical_hydrogens_on_replaced_residues():
    """1BHL's two CAS become CYS; PDBFixer bonds them in a varying order, which once moved their HB2 / HB3."""
    structure = workbench.read_structure(pdbfixer_1bhl())
    runs = [prepare(structure) for _ in range(4)]
    for other in runs[1:]:
        np.testing.assert_array_equal(np.asarray(other.positions), np.asarray(runs[0].positions))
