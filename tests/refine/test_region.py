"""Region minimisation (workbench.refine.region): the cut system's forces are the whole system's.

The reference is OpenMM itself on the whole system (Reference platform, double
precision): on every mobile atom the region's force must equal the whole
model's force to 1e-6 relative, with restraints released, a planarity term
switched on and custom parameters changed after the region was made. The
geometry of the region is checked against plain numpy distances.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import openmm as mm
import pytest

from tests.refine.conftest import load, perturb
from workbench.refine import RefineConfig
from workbench.refine import relax as relax_module
from workbench.refine.forcefield import create_system
from workbench.refine.platform import select_platform
from workbench.refine.region import ENVIRONMENT_MARGIN, Region, RegionContext, region_supported
from workbench.refine.relax import PLANARITY_K, Relaxation, prepare_for_refinement

REFERENCE = select_platform("Reference", None)


@cache
def _relaxation() -> Relaxation:
    config = RefineConfig(platform="Reference")
    structure = load("1bhl")
    return Relaxation(prepare_for_refinement(structure, config, REFERENCE), config, REFERENCE, name="1bhl")


def _forces(context: mm.Context) -> np.ndarray:
    return context.getState(getForces=True).getForces(asNumpy=True).value_in_unit(mm.unit.kilojoule_per_mole /
                                                                                  mm.unit.nanometer)


def _region_context(relaxation: Relaxation, region: Region) -> RegionContext:
    return RegionContext(relaxation.system, region, region.included[region.mobile], relaxation.prepared.positions,
                         lambda system: REFERENCE.context(system, mm.VerletIntegrator(0.001)))


def _active_residues(relaxation: Relaxation, residues: list[int]) -> np.ndarray:
    return np.flatnonzero(np.isin(relaxation.prepared.residue_of_atom, residues))


def test_the_region_holds_every_atom_within_the_shell_and_the_cutoff_by_plain_distances():
    relaxation = _relaxation()
    positions = relaxation.prepared.positions
    active = _active_residues(relaxation, [20, 21, 22])
    region = Region.around(positions, active, shell=6.0, cutoff=10.0)

    def near(points: np.ndarray, radius: float) -> np.ndarray:
        distances = np.linalg.norm(positions[:, None, :] - positions[None, points, :], axis=2)
        return np.flatnonzero((distances <= radius).any(axis=1))

    mobile = near(active, 6.0)
    np.testing.assert_array_equal(region.included[region.mobile], mobile)
    np.testing.assert_array_equal(region.included, near(mobile, 10.0 + ENVIRONMENT_MARGIN))
    assert 0 < len(mobile) < len(region.included) < len(positions)
    left_out = np.setdiff1d(np.arange(len(positions)), region.included)
    nearest = np.linalg.norm(positions[mobile][:, None] - positions[None, left_out], axis=2).min(axis=1)
    np.testing.assert_allclose(region.slack, nearest - 10.0)
    assert region.slack.min() >= ENVIRONMENT_MARGIN
    moved = positions.copy()
    moved[mobile[0]] += region.slack[0] * 1.01 * np.array([1.0, 0.0, 0.0])
    assert region.holds(positions, positions) and not region.holds(positions, moved)


def test_forces_on_the_mobile_atoms_are_the_whole_systems():
    relaxation = _relaxation()
    positions_nm = relaxation.prepared.positions / 10.0
    region = Region.around(relaxation.prepared.positions, _active_residues(relaxation, [40, 41]),
                           shell=8.0, cutoff=10.0)
    part = _region_context(relaxation, region)
    part.load(relaxation.context, positions_nm)
    whole = _forces(relaxation.context)[region.included[region.mobile]]
    cut = _forces(part.context)[region.mobile]
    np.testing.assert_allclose(cut, whole, rtol=1e-6, atol=1e-6 * np.abs(whole).max())


def test_parameters_changed_after_the_cut_reach_the_region():
    """Released restraints and the planarity term, set on the whole model, act in the kept region too."""
    config = RefineConfig(platform="Reference")
    noisy = perturb(load("1bhl"), sigma=0.3, seed=3).structure
    relaxation = Relaxation(prepare_for_refinement(noisy, config, REFERENCE), config, REFERENCE, name="noisy")
    residues = [30, 31, 32]
    region = Region.around(relaxation.prepared.positions, _active_residues(relaxation, residues),
                           shell=8.0, cutoff=10.0)
    part = _region_context(relaxation, region)
    relaxation.factor[residues] = 0.0
    relaxation.release(np.asarray(residues))
    for k in range(len(relaxation.geometry.omega)):
        relaxation.planarity.setTorsionParameters(k, *relaxation.geometry.omega[k].tolist(), [1.0, np.pi])
    relaxation.planarity.updateParametersInContext(relaxation.context)
    relaxation.context.setParameter("planarity", PLANARITY_K)
    positions_nm = relaxation.prepared.positions / 10.0
    part.load(relaxation.context, positions_nm)
    whole = _forces(relaxation.context)[region.included[region.mobile]]
    cut = _forces(part.context)[region.mobile]
    np.testing.assert_allclose(cut, whole, rtol=1e-6, atol=1e-6 * np.abs(whole).max())
    relaxation.context.setParameter("planarity", 0.0)  # the changes above must show: without them they differ
    part.load(relaxation.context, positions_nm)
    assert np.abs(_forces(part.context)[region.mobile] - cut).max() > 1.0


def test_a_region_minimisation_moves_only_the_mobile_atoms(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(relax_module, "REGION_MAX_FRACTION", 1.0)  # 1BHL is small: cut it anyway
    monkeypatch.setattr(relax_module, "REGION_MIN_ATOMS", 0)
    config = RefineConfig(platform="Reference")
    noisy = perturb(load("1bhl"), sigma=0.3, seed=5).structure
    relaxation = Relaxation(prepare_for_refinement(noisy, config, REFERENCE), config, REFERENCE, name="noisy")
    relaxation.minimise()
    before = relaxation.context.getState(getPositions=True).getPositions(asNumpy=True)._value * 10.0
    relaxation.factor[[50, 51]] = 0.1
    relaxation.release(np.asarray([50, 51]))
    after = relaxation.minimise()
    assert relaxation.region_sizes, "the second minimisation should have used a region"
    region = Region.around(before, relaxation.active, shell=relax_module.REGION_SHELL, cutoff=10.0)
    still = np.setdiff1d(np.arange(len(before)), region.included[region.mobile])
    np.testing.assert_array_equal(after[still], before[still])
    assert np.abs(after - before).max() > 1e-3


@pytest.mark.parametrize(("solvent", "cutoff", "supported"),
                         [("vacuum", 10.0, True), ("vacuum", None, False), ("obc2", 10.0, False)])
def test_only_cut_off_pairwise_systems_are_cut(solvent: str, cutoff: float | None, supported: bool):
    relaxation = _relaxation()
    system = create_system(relaxation.prepared.topology, solvent=solvent, cutoff=cutoff)
    assert region_supported(system) is supported


def test_a_force_it_cannot_cut_is_refused_not_dropped():
    relaxation = _relaxation()
    system = create_system(relaxation.prepared.topology, solvent="obc2", cutoff=10.0)
    region = Region(included=np.arange(10), mobile=np.ones(10, dtype=bool), slack=np.full(10, np.inf))
    with pytest.raises(TypeError, match="GBSAOBCForce"):
        region.system(system)


def test_region_and_whole_model_relaxes_agree_on_a_noisy_model(monkeypatch: pytest.MonkeyPatch):
    """Holding the far atoms changes little: the same violations left (none), CA within 0.1 Å of each other."""
    noisy = perturb(load("1bhl"), sigma=0.3, seed=1).structure
    config = RefineConfig(platform="CPU", threads=1)
    monkeypatch.setattr(relax_module, "REGION_MAX_FRACTION", 1.0)  # 1BHL is small: cut it anyway
    monkeypatch.setattr(relax_module, "REGION_MIN_ATOMS", 0)
    sizes: list[list[tuple[int, int]]] = []
    result = relax_module.Relaxation.result

    def keep_sizes(self, *args):
        sizes.append(list(self.region_sizes))
        return result(self, *args)

    monkeypatch.setattr(relax_module.Relaxation, "result", keep_sizes)
    with_region = relax_module.refine(noisy, config)
    monkeypatch.setattr(relax_module, "REGION_SHELL", None)
    whole = relax_module.refine(noisy, config)
    assert sizes[0] and not sizes[1], "the first relax should have cut regions, the second not"
    assert len(with_region.violations_after) <= len(whole.violations_after)
    ca = with_region.structure.atom_name == "CA"
    deviation = np.linalg.norm(with_region.structure.coords[ca] - whole.structure.coords[ca], axis=1)
    assert np.sqrt((deviation ** 2).mean()) < 0.1
