"""System building (cutoff, solvent, the OBC2 force swap) and platform selection."""

from __future__ import annotations

import openmm as mm
import openmm.app as app
import openmm.unit as unit
import pytest

from tests.refine.conftest import load
from workbench.io.openmm import to_openmm
from workbench.refine import SOLVENTS, create_system, load_forcefield, prepare_model, select_platform
from workbench.refine.forcefield import with_hbond_constraints
from workbench.refine.platform import available_platforms, usable_cores


@pytest.fixture(scope="module")
def crambin():
    return prepare_model(load("1crn"))


def _energy(system: mm.System, positions) -> float:
    context = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("CPU"),
                         {"Threads": "1"})
    context.setPositions(positions)
    return context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)


@pytest.mark.parametrize("cutoff", [10.0, None])
def test_obc2_in_gbsaobcforce_has_the_energy_of_the_customgbforce(crambin, cutoff):
    ours = create_system(crambin.topology, solvent="obc2", cutoff=cutoff)
    forces = [type(f).__name__ for f in ours.getForces()]
    assert "GBSAOBCForce" in forces and "CustomGBForce" not in forces
    kwargs = {"nonbondedMethod": app.NoCutoff} if cutoff is None else {
        "nonbondedMethod": app.CutoffNonPeriodic, "nonbondedCutoff": cutoff / 10 * unit.nanometer}
    reference = app.ForceField("amber14-all.xml", "implicit/obc2.xml").createSystem(
        crambin.topology, constraints=None, **kwargs)
    assert any(isinstance(f, mm.CustomGBForce) for f in reference.getForces())
    e_ours = _energy(ours, crambin.positions_nm)
    e_reference = _energy(reference, crambin.positions_nm)
    e_vacuum = _energy(create_system(crambin.topology, solvent="vacuum", cutoff=cutoff), crambin.positions_nm)
    assert e_ours == pytest.approx(e_reference, rel=1e-4, abs=0.5)
    assert abs(e_ours - e_vacuum) > 1000  # solvation is there at all


def test_system_options(crambin):
    vacuum = create_system(crambin.topology)
    (nonbonded,) = [f for f in vacuum.getForces() if isinstance(f, mm.NonbondedForce)]
    assert nonbonded.getNonbondedMethod() == mm.NonbondedForce.CutoffNonPeriodic
    assert nonbonded.getCutoffDistance().value_in_unit(unit.nanometer) == pytest.approx(1.0)
    assert vacuum.getNumConstraints() == 0
    assert {f.getForceGroup() for f in vacuum.getForces()} == {0}
    no_cutoff = create_system(crambin.topology, cutoff=None)
    (nonbonded,) = [f for f in no_cutoff.getForces() if isinstance(f, mm.NonbondedForce)]
    assert nonbonded.getNonbondedMethod() == mm.NonbondedForce.NoCutoff
    gbn2 = create_system(crambin.topology, solvent="gbn2")
    assert any(isinstance(f, mm.CustomGBForce) for f in gbn2.getForces())
    assert SOLVENTS == ("vacuum", "obc2", "gbn2")
    assert load_forcefield("vacuum") is load_forcefield("vacuum")
    with pytest.raises(ValueError, match="unknown solvent"):
        create_system(crambin.topology, solvent="tip3p")
    with pytest.raises(ValueError, match="cutoff must be positive"):
        create_system(crambin.topology, cutoff=0)


def test_hbond_constraints_copy(crambin):
    system = create_system(crambin.topology)
    constrained = with_hbond_constraints(system, crambin.topology)
    n_h = sum(1 for a, b in crambin.topology.bonds() if "H" in (a.element.symbol, b.element.symbol))
    assert constrained.getNumConstraints() == n_h > 0
    assert system.getNumConstraints() == 0  # the original is untouched


def test_missing_template_error_names_the_residue():
    structure = load("1crn")
    topology, _ = to_openmm(structure)  # no hydrogens: ff14SB has no template for that
    with pytest.raises(ValueError, match="template"):
        create_system(topology)


def test_explicit_cpu_platform_with_threads():
    choice = select_platform("cpu", threads=1)
    assert (choice.name, choice.properties) == ("CPU", {"Threads": "1"})
    system = mm.System()
    system.addParticle(1.0)
    context = choice.context(system, mm.VerletIntegrator(0.001))
    assert context.getPlatform().getName() == "CPU"
    assert context.getPlatform().getPropertyValue(context, "Threads") == "1"
    assert select_platform("Reference").properties == {}


def test_auto_platform_is_cuda_when_it_answers_else_cpu_with_the_usable_cores(monkeypatch):
    monkeypatch.delenv("WORKBENCH_PLATFORM", raising=False)
    monkeypatch.delenv("WORKBENCH_THREADS", raising=False)
    choice = select_platform()
    if choice.name == "CUDA":
        assert choice.properties == {"Precision": "mixed"}
    else:
        assert choice.name == "CPU"
        assert choice.properties == {"Threads": str(usable_cores())}
        assert "CUDA unavailable" in choice.reason


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("WORKBENCH_PLATFORM", "CPU")
    monkeypatch.setenv("WORKBENCH_THREADS", "3")
    assert select_platform().properties == {"Threads": "3"}
    assert select_platform(threads=2).properties == {"Threads": "2"}  # the argument wins
    monkeypatch.setenv("WORKBENCH_THREADS", "many")
    with pytest.raises(ValueError, match="WORKBENCH_THREADS"):
        select_platform()


def test_bad_platform_requests_are_refused():
    with pytest.raises(ValueError, match="unknown OpenMM platform 'TPU'"):
        select_platform("TPU")
    with pytest.raises(ValueError, match="threads must be at least 1"):
        select_platform("CPU", threads=0)
    if "CUDA" not in available_platforms():
        with pytest.raises(ValueError, match="CUDA cannot be used here"):
            select_platform("CUDA")
