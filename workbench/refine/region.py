"""Minimise one region of a large model on a smaller OpenMM system.

After the first round of a relax, only the residues the ladder weakened or
released (the *active* atoms) are far from a minimum. Minimising the whole
system again costs one full force evaluation per L-BFGS step: on the CPU
platform about 26 ms for the 837-residue AlphaFold DB model (13,000 atoms,
one thread), for a region of a few hundred atoms.

:class:`Region` cuts the system down instead:

- the *mobile* atoms are the active atoms and every atom within ``shell`` Å of
  them (so the surroundings still give way, as they do in a whole-system
  minimisation);
- the *included* atoms are the mobile ones and every atom within the
  nonbonded cutoff (plus a margin) of them: the *environment*, held fixed
  (mass 0, which OpenMM's minimiser leaves where it is).

Every term that touches a mobile atom lies inside the included set (bonded
terms span at most three bonds, nonbonded ones the cutoff), so the forces on
the mobile atoms are the whole system's forces, exactly, as long as no mobile
atom moves farther than its :attr:`Region.slack` (at least
``ENVIRONMENT_MARGIN`` Å; a relax that reuses a region rebuilds it once one
has); terms among environment
atoms only shift the energy by a constant. The region is exact
only for pairwise, cut-off forces: implicit solvent (a Born radius depends on
every atom) and ``cutoff=None`` are refused (:func:`region_supported`), and the
relax then minimises the whole system as before.

OpenMM has no way to take a subset of a :class:`openmm.System`, so the force
kinds the workbench's systems hold are copied here term by term; another kind
raises rather than being dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import openmm as mm

__all__ = ["Region", "RegionContext", "region_supported"]

#: Margin (Å) added to the cutoff when collecting the environment: atoms just outside
#: the cutoff at the start come within it as the mobile atoms move.
ENVIRONMENT_MARGIN = 2.0

_SKIPPED = (mm.CMMotionRemover,)  # no energy, no force: nothing to copy for a minimisation


def region_supported(system: mm.System) -> bool:
    """Whether :class:`Region` gives this system's exact forces on the mobile atoms.

    True when every force is of a kind :func:`_copy_force` copies and the
    nonbonded force is cut off (``CutoffNonPeriodic``).
    """
    for force in system.getForces():
        if isinstance(force, _SKIPPED):
            continue
        if type(force) not in _COPIERS:
            return False
        if isinstance(force, mm.NonbondedForce) and force.getNonbondedMethod() != mm.NonbondedForce.CutoffNonPeriodic:
            return False
    return True


@dataclass(frozen=True)
class Region:
    """A region of a system: which atoms move, which are kept as fixed environment.

    Attributes
    ----------
    included : ndarray, shape=(n_included,), dtype=int64
        Atom indices of the whole system in the region's system, sorted.
    mobile : ndarray, shape=(n_included,), dtype=bool
        Which of ``included`` may move; the rest are the fixed environment.
    slack : ndarray, shape=(n_mobile,), dtype=float64
        How far (Å) each mobile atom may move before an atom left out of the
        region could come within the cutoff of it (inf when none is left out).
    """

    included: np.ndarray
    mobile: np.ndarray
    slack: np.ndarray

    @classmethod
    def around(cls, positions: np.ndarray, active: np.ndarray, *, shell: float, cutoff: float) -> Region:
        """The region around ``active`` atoms.

        Parameters
        ----------
        positions : ndarray, shape=(n_atoms, 3)
            Current positions, Å.
        active : ndarray, shape=(n_active,), dtype=int
            Atoms that must move.
        shell : float
            Atoms within this distance (Å) of an active atom move too.
        cutoff : float
            The nonbonded cutoff, Å: atoms within ``cutoff + ENVIRONMENT_MARGIN``
            of a mobile atom are the environment.
        """
        from scipy.spatial import cKDTree

        tree = cKDTree(positions)
        mobile = _within(tree, positions[active], shell)
        included = _within(tree, positions[mobile], cutoff + ENVIRONMENT_MARGIN)
        left_out = np.setdiff1d(np.arange(len(positions)), included)
        slack = np.full(len(mobile), np.inf)
        if len(left_out):
            nearest, _ = cKDTree(positions[left_out]).query(positions[mobile])
            slack = nearest - cutoff
        return cls(included=included, mobile=np.isin(included, mobile), slack=slack)

    def holds(self, start: np.ndarray, now: np.ndarray) -> bool:
        """Whether every mobile atom has moved less than its slack between ``start`` and ``now`` (Å, whole model)."""
        moving = self.included[self.mobile]
        return bool((np.linalg.norm(now[moving] - start[moving], axis=1) < self.slack).all())

    def renumbering(self, n_atoms: int) -> np.ndarray:
        """Each whole-system atom's index in the region's system (-1: left out), shape ``(n_atoms,)``."""
        new_index = np.full(n_atoms, -1, dtype=np.int64)
        new_index[self.included] = np.arange(len(self.included))
        return new_index

    def index_of(self, atoms: np.ndarray) -> np.ndarray:
        """Positions in :attr:`included` of whole-system ``atoms`` (all of which must be included)."""
        return np.searchsorted(self.included, atoms)

    def system(self, whole: mm.System) -> mm.System:
        """The region's system: the included atoms, environment massless, every term among them.

        Raises
        ------
        TypeError
            For a force kind that cannot be cut (see :func:`region_supported`).
        """
        new_index = self.renumbering(whole.getNumParticles())
        part = mm.System()
        for atom, mobile in zip(self.included.tolist(), self.mobile.tolist(), strict=True):
            part.addParticle(whole.getParticleMass(atom) if mobile else 0.0)
        for force in whole.getForces():
            if isinstance(force, _SKIPPED):
                continue
            copier = _COPIERS.get(type(force))
            if copier is None:
                raise TypeError(f"cannot cut a {type(force).__name__} to a region")
            copy = copier(force, new_index)
            copy.setForceGroup(force.getForceGroup())
            part.addForce(copy)
        return part


class RegionContext:
    """A region's system and OpenMM context, kept while the region stays the same.

    Cutting the system takes about 0.9 s for the 837-residue model (OpenMM's
    getters, term by term), some 45 L-BFGS steps of the region; successive
    ladder rounds mostly work on the same region, so the cut system is kept
    (:meth:`serves`) and :meth:`load` brings over only what a round changes:
    the parameters of the custom forces (restraints weakened or released, the
    planarity term switched on), the global parameters and the positions.

    Parameters
    ----------
    whole : openmm.System
        The whole model's system.
    region : Region
        Made (:meth:`Region.around`) for ``active`` atoms at ``positions``.
    active : ndarray, shape=(n_active,), dtype=int
    positions : ndarray, shape=(n_atoms, 3)
        The whole model's positions when the region was made, Å.
    context : callable
        Makes a context for a system (:meth:`PlatformChoice.context` with an integrator).
    """

    def __init__(self, whole: mm.System, region: Region, active: np.ndarray, positions: np.ndarray,
                 context: Callable[[mm.System], mm.Context]):
        self.region, self._whole = region, whole
        self._active, self._positions = active, positions
        self._new_index = region.renumbering(whole.getNumParticles())
        self.context = context(region.system(whole))

    def serves(self, active: np.ndarray, positions: np.ndarray) -> bool:
        """Whether ``active`` atoms at ``positions`` (Å, whole model) can still be minimised in this region.

        True while they are among the atoms it was made for and no mobile atom
        has moved its slack since (:meth:`Region.holds`: atoms outside the
        region never move, so no pair can have come within the cutoff unseen).
        """
        return bool(np.isin(active, self._active).all()) and self.region.holds(self._positions, positions)

    def load(self, whole_context: mm.Context, positions_nm: np.ndarray) -> None:
        """Bring the whole model's current parameters and positions (nm, shape ``(n_atoms, 3)``) into the region."""
        context = self.context
        wholes = [f for f in self._whole.getForces() if not isinstance(f, _SKIPPED)]
        for source, target in zip(wholes, context.getSystem().getForces(), strict=True):
            if type(source) in _CUSTOM:
                _sync_custom(source, target, self._new_index)
                target.updateParametersInContext(context)
        for name, value in whole_context.getParameters().items():
            context.setParameter(name, value)
        context.setPositions(positions_nm[self.region.included])


def _within(tree, points: np.ndarray, radius: float) -> np.ndarray:
    """Sorted indices of the tree's points within ``radius`` of any of ``points``."""
    hits = tree.query_ball_point(points, radius)
    return np.unique(np.fromiter((j for row in hits for j in row), dtype=np.int64))


def _mapped(new_index: np.ndarray, atoms) -> list[int] | None:
    """``atoms`` in the region's numbering, or None when one of them is outside it."""
    mapped = new_index[list(atoms)]
    return None if (mapped < 0).any() else mapped.tolist()


def _copy_bonds(force: mm.HarmonicBondForce, new_index: np.ndarray) -> mm.HarmonicBondForce:
    copy = mm.HarmonicBondForce()
    for k in range(force.getNumBonds()):
        i, j, length, stiffness = force.getBondParameters(k)
        if (atoms := _mapped(new_index, (i, j))) is not None:
            copy.addBond(*atoms, length, stiffness)
    return copy


def _copy_angles(force: mm.HarmonicAngleForce, new_index: np.ndarray) -> mm.HarmonicAngleForce:
    copy = mm.HarmonicAngleForce()
    for k in range(force.getNumAngles()):
        i, j, m, angle, stiffness = force.getAngleParameters(k)
        if (atoms := _mapped(new_index, (i, j, m))) is not None:
            copy.addAngle(*atoms, angle, stiffness)
    return copy


def _copy_torsions(force: mm.PeriodicTorsionForce, new_index: np.ndarray) -> mm.PeriodicTorsionForce:
    copy = mm.PeriodicTorsionForce()
    for k in range(force.getNumTorsions()):
        i, j, m, n, periodicity, phase, height = force.getTorsionParameters(k)
        if (atoms := _mapped(new_index, (i, j, m, n))) is not None:
            copy.addTorsion(*atoms, periodicity, phase, height)
    return copy


def _copy_nonbonded(force: mm.NonbondedForce, new_index: np.ndarray) -> mm.NonbondedForce:
    copy = mm.NonbondedForce()
    copy.setNonbondedMethod(force.getNonbondedMethod())
    copy.setCutoffDistance(force.getCutoffDistance())
    copy.setReactionFieldDielectric(force.getReactionFieldDielectric())
    copy.setUseSwitchingFunction(force.getUseSwitchingFunction())
    copy.setSwitchingDistance(force.getSwitchingDistance())
    for atom in np.flatnonzero(new_index >= 0).tolist():
        copy.addParticle(*force.getParticleParameters(atom))
    for k in range(force.getNumExceptions()):
        i, j, charge_product, sigma, epsilon = force.getExceptionParameters(k)
        if (atoms := _mapped(new_index, (i, j))) is not None:
            copy.addException(*atoms, charge_product, sigma, epsilon)
    return copy


@dataclass(frozen=True)
class _CustomKind:
    """How to read and write the terms of one kind of OpenMM custom force, each ``(atoms, per-term parameters)``."""

    empty: Callable[[Any], Any]  # a force with no terms and the same energy expression
    terms: Callable[[Any], Iterator[tuple[list[int], Any]]]
    add: Callable[[Any, list[int], Any], Any]
    set: Callable[[Any, int, list[int], Any], Any]
    per_term: str  # the OpenMM name of its per-term parameters: "PerParticleParameter", ...


_CUSTOM: dict[type, _CustomKind] = {
    mm.CustomExternalForce: _CustomKind(
        empty=lambda f: mm.CustomExternalForce(f.getEnergyFunction()),
        terms=lambda f: (([atom], p) for atom, p in map(f.getParticleParameters, range(f.getNumParticles()))),
        add=lambda f, atoms, p: f.addParticle(atoms[0], p),
        set=lambda f, k, atoms, p: f.setParticleParameters(k, atoms[0], p),
        per_term="PerParticleParameter"),
    mm.CustomTorsionForce: _CustomKind(
        empty=lambda f: mm.CustomTorsionForce(f.getEnergyFunction()),
        terms=lambda f: ((list(t[:4]), t[4]) for t in map(f.getTorsionParameters, range(f.getNumTorsions()))),
        add=lambda f, atoms, p: f.addTorsion(*atoms, p),
        set=lambda f, k, atoms, p: f.setTorsionParameters(k, *atoms, p),
        per_term="PerTorsionParameter"),
    mm.CustomCompoundBondForce: _CustomKind(
        empty=lambda f: mm.CustomCompoundBondForce(f.getNumParticlesPerBond(), f.getEnergyFunction()),
        terms=lambda f: ((list(atoms), p) for atoms, p in map(f.getBondParameters, range(f.getNumBonds()))),
        add=lambda f, atoms, p: f.addBond(atoms, p),
        set=lambda f, k, atoms, p: f.setBondParameters(k, atoms, p),
        per_term="PerBondParameter"),
}
"""The custom forces a relax adds (restraints, planarity, chirality): the ones whose parameters change between
rounds and are synced into a kept region (:meth:`RegionContext.load`); the force field's own terms never change."""


def _kept_terms(force, new_index: np.ndarray) -> Iterator[tuple[list[int], Any]]:
    """The terms of a custom force whose atoms are all in the region, in order, in the region's numbering."""
    for atoms, parameters in _CUSTOM[type(force)].terms(force):
        if (mapped := _mapped(new_index, atoms)) is not None:
            yield mapped, parameters


def _copy_custom(force, new_index: np.ndarray):
    kind = _CUSTOM[type(force)]
    copy = kind.empty(force)
    for k in range(force.getNumGlobalParameters()):
        copy.addGlobalParameter(force.getGlobalParameterName(k), force.getGlobalParameterDefaultValue(k))
    for k in range(getattr(force, f"getNum{kind.per_term}s")()):
        getattr(copy, f"add{kind.per_term}")(getattr(force, f"get{kind.per_term}Name")(k))
    for atoms, parameters in _kept_terms(force, new_index):
        kind.add(copy, atoms, parameters)
    return copy


def _sync_custom(source, target, new_index: np.ndarray) -> None:
    """Set ``target``'s terms (the copy of ``source`` cut to the region) to ``source``'s current parameters."""
    kind = _CUSTOM[type(source)]
    for k, (atoms, parameters) in enumerate(_kept_terms(source, new_index)):
        kind.set(target, k, atoms, parameters)


_COPIERS: dict[type, Callable[[Any, np.ndarray], Any]] = {
    mm.HarmonicBondForce: _copy_bonds,
    mm.HarmonicAngleForce: _copy_angles,
    mm.PeriodicTorsionForce: _copy_torsions,
    mm.NonbondedForce: _copy_nonbonded,
    **{kind: _copy_custom for kind in _CUSTOM},
}
