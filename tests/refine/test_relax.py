"""workbench.refine on real structures and on perturbed ones: violations removed, little movement, numbers kept.

Each structure is refined once per module (module-scoped fixtures) and the
tests read the result several ways.
"""

from __future__ import annotations

import json
import math

import numpy as np
import openmm as mm
import pytest

import workbench
from tests.refine.conftest import FIVE, assert_bfactors_kept, atom_keys, load, perturb
from workbench.refine import (
    RefineConfig,
    RefinementResult,
    create_system,
    find_violations,
    format_report,
    prepare_model,
    refine,
)

#: One thread: the CPU platform's force sums over several threads change order from run to run, and the
#: AlphaFold2 model's last twisted peptide (SER 22 - ARG 23) was fixed in some runs and not in others.
CPU = {"platform": "CPU", "threads": 1}


@pytest.fixture(scope="module", params=FIVE)
def relaxed(request) -> tuple[str, workbench.Structure, RefinementResult]:
    structure = load(request.param)
    return request.param, structure, refine(structure, RefineConfig(**CPU))


@pytest.fixture(scope="module", params=FIVE)
def relaxed_perturbed(request):
    original = load(request.param)
    perturbed = perturb(original)
    return request.param, original, perturbed, refine(perturbed.structure, RefineConfig(**CPU))


def test_unperturbed_relax_removes_violations_and_barely_moves(relaxed):
    _name, _structure, result = relaxed
    assert len(result.violations_after) == 0, result.violations_after.to_dict()
    assert result.rmsd_ca < 0.5
    assert result.rmsd_heavy < 0.75
    assert result.energy_after < result.energy_before
    assert math.isfinite(result.energy_after) and math.isfinite(result.restraint_energy_after)
    assert result.iterations > 0 and 1 <= result.rounds <= RefineConfig().max_rounds
    assert result.platform == "CPU" and int(result.platform_properties["Threads"]) >= 1
    assert result.solvent == "vacuum" and result.cutoff == 10.0 and result.md_ps == 0


def test_refined_structure_keeps_input_bfactors_numbering_and_sequence(relaxed):
    name, structure, result = relaxed
    refined = result.structure
    matched = assert_bfactors_kept(structure, refined)
    heavy_input = structure.polymer & ~np.isin(structure.element, ("H", "D"))
    removed = sum(len(atoms) for _, atoms in result.preparation.removed_atoms)
    assert removed == (6 if name == "1bhl" else 0)  # 1BHL: two CAS -> CYS lose AS, CE1, CE2
    assert matched == int(heavy_input.sum()) - removed  # every other heavy polymer atom is in the result
    assert refined.sequences == {c: s for c, s in structure.sequences.items() if c in refined.sequences}
    assert set(refined.chains) == set(result.preparation.chains)
    assert (refined.element == "H").sum() == result.preparation.n_hydrogens > 0
    assert refined.name == structure.name
    # Residue numbers and insertion codes are the input's, in the input's order.
    key = list(zip(structure.chain_id, structure.res_id, structure.ins_code, strict=True))
    polymer_residues = list(dict.fromkeys(k for k, p in zip(key, structure.polymer, strict=True) if p))
    refined_residues = list(dict.fromkeys(zip(refined.chain_id, refined.res_id, refined.ins_code, strict=True)))
    assert refined_residues == polymer_residues


def test_rmsd_and_violations_agree_with_an_independent_recomputation(relaxed):
    _name, structure, result = relaxed
    refined = result.structure
    index = {k: i for i, k in enumerate(atom_keys(structure))}
    pairs = [(index[k], j) for j, k in enumerate(atom_keys(refined)) if k in index]
    a, b = np.array(pairs).T
    delta = structure.coords[a].astype(np.float64) - refined.coords[b]
    ca = refined.atom_name[b] == "CA"
    assert result.rmsd_ca == pytest.approx(np.sqrt((delta[ca] ** 2).sum(1).mean()), abs=2e-3)
    assert result.rmsd_heavy == pytest.approx(np.sqrt((delta**2).sum(1).mean()), abs=2e-3)
    # The written model, checked from scratch, has no violations either.
    assert len(find_violations(refined)) == 0


def test_energies_are_the_force_field_energy_of_the_result(relaxed):
    _name, _structure, result = relaxed
    prepared = prepare_model(result.structure)  # a complete model: nothing to add, positions kept
    assert prepared.report.added_atoms == () and prepared.report.replaced_residues == ()
    system = create_system(prepared.topology, solvent="vacuum", cutoff=10.0)
    context = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("CPU"))
    heavy_refined = result.structure.select(result.structure.element != "H")
    heavy_prepared = prepared.heavy
    np.testing.assert_allclose(prepared.positions[heavy_prepared], heavy_refined.coords, atol=1e-3)
    positions = prepared.positions.copy()
    # Hydrogens are re-placed by preparation; put back the refined ones (same order, same names).
    refined_h = result.structure.coords[result.structure.element == "H"]
    assert len(refined_h) == (~heavy_prepared).sum()
    positions[~heavy_prepared] = refined_h
    context.setPositions(positions / 10.0)
    energy = context.getState(getEnergy=True).getPotentialEnergy()._value
    assert energy == pytest.approx(result.energy_after, rel=2e-3, abs=20.0)


def test_report_text_and_json(relaxed):
    _name, _structure, result = relaxed
    text = format_report(result)
    assert f"{result.rmsd_ca:.3f}" in text and "violations" in text and "CPU" in text
    data = json.loads(json.dumps(result.to_dict()))
    assert data["violations_after"]["n_violations"] == 0
    assert data["energy_before_kj_mol"] == pytest.approx(result.energy_before)
    assert data["parameters"]["stiffness"] == pytest.approx(41.84)
    assert data["wall_time_s"] == pytest.approx(result.wall_time) and result.wall_time > 0
    assert set(data["timings_s"]) >= {"prepare", "system", "minimise", "check", "total"}


def test_perturbed_relax_removes_the_forced_clash_and_every_violation(relaxed_perturbed):
    _name, original, perturbed, result = relaxed_perturbed
    before = result.violations_before
    assert before.counts["clash"] >= 1 and before.counts["bond"] >= 1
    # Labels carry the prepared residue name; compare chain and number.
    clashing = {_where(before.residue_labels[r]) for v in before.items if v.kind == "clash" for r in v.residues}
    assert _where(perturbed.moved_residue) in clashing and _where(perturbed.partner_residue) in clashing
    assert len(result.violations_after) == 0, result.violations_after.to_dict()
    assert result.energy_after < result.energy_before
    assert result.rmsd_ca < 1.0
    assert_bfactors_kept(perturbed.structure, result.structure)
    # The forced atom went back near its own residue: within 3 Å of its residue's CA.
    key = atom_keys(original)[perturbed.moved_atom]
    refined_keys = atom_keys(result.structure)
    moved_atom = result.structure.coords[refined_keys.index(key)]
    ca = result.structure.coords[refined_keys.index((*key[:3], "CA"))]
    assert np.linalg.norm(moved_atom - ca) < 4.5


def _where(label: str) -> tuple[str, str]:
    """``"A:LYS 12"`` -> ``("A", "12")``."""
    chain, rest = label.split(":", 1)
    return chain, rest.split()[-1]


def test_hydrogens_can_be_left_out():
    structure = load("1crn")
    result = refine(structure, RefineConfig(hydrogens=False, **CPU))
    assert not (result.structure.element == "H").any()
    added = sum(len(atoms) for _, atoms in result.preparation.added_atoms)
    assert result.structure.n_atoms == int((structure.element != "H").sum()) + added
    assert len(result.violations_after) == 0


@pytest.fixture(scope="module")
def confidence_split():
    """1CRN with B-factors rewritten as pLDDT: first half 100, second half 5."""
    structure = load("1crn")
    half = len(structure.residues) // 2
    plddt = np.where(structure.residue_index < half, 100.0, 5.0)
    from dataclasses import replace

    return replace(structure, b_factor=plddt), half


def test_md_with_plddt_weighted_restraints_lets_low_confidence_move(confidence_split):
    structure, half = confidence_split
    weighted = refine(structure, RefineConfig(md_ps=0.5, **CPU))
    uniform = refine(structure, RefineConfig(md_ps=0.5, md_weights="uniform", **CPU))
    for result in (weighted, uniform):
        assert result.solvent == "obc2" and result.md_ps == 0.5 and result.timings["md"] > 0
        assert len(result.violations_after) == 0
        assert result.energy_after < result.energy_before
        assert_bfactors_kept(structure, result.structure)

    def ca_shift(result):
        keys = atom_keys(structure)
        out = {k: xyz for k, xyz in zip(atom_keys(result.structure), result.structure.coords, strict=True)}
        ca = np.flatnonzero(structure.atom_name == "CA")
        shift = np.array([np.linalg.norm(out[keys[i]] - structure.coords[i]) for i in ca])
        low = structure.residue_index[ca] >= half
        return shift[~low].mean(), shift[low].mean()

    high_w, low_w = ca_shift(weighted)
    _high_u, low_u = ca_shift(uniform)
    # pLDDT 5 -> 5 % of the stiffness: the low-confidence half moves far more than the high one,
    # and more than it does under uniform restraints.
    assert low_w > 2 * high_w
    assert low_w > 1.5 * low_u
    # (restraint energies after MD are not compared: they follow the stochastic trajectory, and in one CI
    # run the weighted one ended 5 % above the uniform one)


@pytest.mark.parametrize("solvent", ["obc2", "gbn2"])
def test_implicit_solvent_relax(solvent):
    structure = load("1crn")
    result = refine(structure, RefineConfig(solvent=solvent, **CPU))
    assert result.solvent == solvent and result.md_ps == 0
    assert len(result.violations_after) == 0
    assert result.rmsd_ca < 0.5
    assert result.energy_after < result.energy_before
    vacuum = refine(structure, RefineConfig(**CPU))
    # Solvation energy is large and negative: the implicit-solvent energies differ from vacuum's.
    assert result.energy_after < vacuum.energy_after - 1000


def test_selenomethionine_structure_refines_as_methionine():
    structure = load("1a8o")
    result = refine(structure, RefineConfig(**CPU))
    assert "MSE" not in set(result.structure.res_name) and not (result.structure.element == "Se").any()
    replaced = dict(result.preparation.replaced_residues)
    assert set(replaced.values()) == {"MET"} and len(replaced) == len(structure.modified_residues())
    assert result.preparation.removed_waters == structure.n_waters()
    assert len(result.violations_after) == 0 and result.rmsd_ca < 0.5
    assert_bfactors_kept(structure, result.structure)  # SD carries SE's B-factor


def test_config_is_validated():
    for bad in ({"stiffness": -1}, {"tolerance": 0}, {"max_rounds": 0}, {"solvent": "water"}, {"md_ps": -1},
                {"md_ps": float("nan")}, {"md_weights": "bfactor"}, {"max_iterations": -5}):
        with pytest.raises(ValueError):
            RefineConfig(**bad)
    assert RefineConfig().resolved_solvent == "vacuum"
    assert RefineConfig(md_ps=1).resolved_solvent == "obc2"
    assert RefineConfig(md_ps=1, solvent="gbn2").resolved_solvent == "gbn2"
    assert RefineConfig(chains=["A", "B"]).chains == ("A", "B")


def test_public_api():
    assert workbench.refine.refine is refine  # workbench.refine is the package (its submodules stay importable)
    assert workbench.RefinementResult is RefinementResult
    assert workbench.RefineConfig is RefineConfig


def test_release_ladder_steps_each_residue_down_once_per_round():
    from workbench.refine.ladder import RELEASE_STEPS, step_down

    assert RELEASE_STEPS == (1.0, 0.1, 0.0)
    factor = np.ones(4)
    factor, changed = step_down(factor, np.array([1, 2]))
    assert changed.tolist() == [1, 2]
    assert factor.tolist() == [1.0, 0.1, 0.1, 1.0]
    factor, changed = step_down(factor, np.array([1, 3]))
    assert changed.tolist() == [1, 3]
    assert factor.tolist() == [1.0, 0.0, 0.1, 0.1]
    assert step_down(factor, np.array([1]))[1].tolist() == []  # already free: nothing changes
