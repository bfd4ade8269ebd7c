"""AlphaFold2-style restrained relaxation, and optional restrained implicit-solvent MD.

:func:`refine` does what AlphaFold2's ``AmberRelaxation`` does, and keeps the numbers:

1. prepare the structure with PDBFixer (:func:`workbench.refine.prepare_model`);
2. build an Amber ff14SB system (:mod:`workbench.refine.forcefield`: vacuum by
   default, OBC2 or GBn2 implicit solvent on request, 1 nm cutoff) and add
   harmonic position restraints on every heavy atom that came from the input,
   ``stiffness`` kJ/mol/Å² (default 41.84 = AlphaFold2's 10 kcal/mol/Å²);
3. minimise with OpenMM's L-BFGS (``tolerance`` on the RMS force,
   ``max_iterations`` per minimisation);
4. check violations (:mod:`workbench.refine.violations`); weaken the restraints
   of the violating residues to a tenth, and release them if the residue still
   violates in the next round (AlphaFold2 releases at once; the intermediate
   step lets a twisted peptide or a strained side chain settle without the
   whole residue drifting); when every violating residue is already free,
   the residues within 6 Å of them go down the same ladder; up to
   ``max_rounds`` rounds. After the first round, minimisation stops when
   every atom of the weakened or released residues feels less than the
   tolerance force: OpenMM's own criterion is the RMS force of all atoms, in
   which a few strained residues of a large protein do not show. On the CPU,
   in a large model (``REGION_MIN_ATOMS``), when they and their surroundings
   are under half of it, those rounds
   move only the atoms within ``REGION_SHELL`` Å of them, on a system cut to
   them and their environment (:mod:`workbench.refine.region`; the forces on
   the moving atoms are exact): the rest keeps the previous round's minimum
   instead of sliding further down while the region converges (837-residue
   model, one thread: 10.2 s against 22.5 s with the whole model moving,
   final force-field energy 40,200 against 34,800 kJ/mol, 1 violation left
   against none; AlphaFold2's relax leaves 21);
5. when nothing is left to release and a peptide is still twisted, it sits in
   a local minimum of the force field: a temporary planarity term
   (``PLANARITY_K * (1 - cos(omega - target))``) pulls it to trans (an X-Pro
   peptide to the nearer of cis and trans), and the region is
   minimised again without it, so the result is a minimum of the unmodified
   force field;
6. every round's model is recorded, and the relax keeps the best one
   (:func:`workbench.refine.ladder.keep_best`): the fewest violations (chirality
   first) among the rounds within ``max_rmsd_ca`` Å CA RMSD of the input,
   ties to the earliest. The result says which round was kept and why, with a
   table of every round.

Ligands, cofactors and ions that preparation removes leave a pocket that a
vacuum minimisation could close: residues with a heavy atom within 5 Å of one
(:data:`workbench.refine.prepare.POCKET_RADIUS`) are restrained ``POCKET_FACTOR``
times as stiffly, and never below the ordinary stiffness even when the ladder
releases them. With ``keep_ligands`` those groups are copied back into the
refined structure at their input coordinates: they are not part of the force
field (Amber ff14SB has no templates for them), so they are kept, not relaxed.

Differences from AlphaFold2's relax, each measured or argued in the module
that makes it: the cutoff and the unconstrained minimisation
(:mod:`workbench.refine.forcefield`); restraints are released in the running
context (``updateParametersInContext``) instead of rebuilding the system,
re-adding hydrogens and re-running the JAX violation code every round;
chains are split at backbone gaps instead of being bonded across them; atoms
that preparation added are not restrained to their guessed positions.

With ``md_ps > 0``, after the first minimisation the model runs ``md_ps``
picoseconds of Langevin dynamics (2 fs steps, bonds to hydrogen constrained,
300 K, 1/ps friction) in implicit solvent, with restraints weighted by
confidence (stiffness x pLDDT/100 from the B-factors, or uniform), and then
the relax loop above starts from the result, with the same confidence-weighted
restraints (so that the final minimisation does not pull low-confidence regions
back to where the MD moved them from).
"""

from __future__ import annotations

import functools
import math
import time

import numpy as np
import openmm as mm
import openmm.unit as unit

from workbench.refine.forcefield import (
    FORCEFIELD_GROUP,
    RESTRAINT_GROUP,
    create_system,
    with_hbond_constraints,
)
from workbench.refine.ladder import RELEASE_STEPS, RoundRecord, keep_best, release_ladder
from workbench.refine.platform import PlatformChoice, openmm_seed, select_platform
from workbench.refine.prepare import PreparedModel, prepare_model
from workbench.refine.region import Region, RegionContext, region_supported
from workbench.refine.result import RefinementResult
from workbench.refine.settings import RefineConfig
from workbench.refine.violations import GeometryModel, Violations, cis_trans_changes
from workbench.structure import Structure

__all__ = ["RELEASE_STEPS", "RefineConfig", "Relaxation", "refine"]

#: Residues within this distance (Å) of a violation go down the release ladder when the
#: violating residues themselves are already free.
NEIGHBOUR_RELEASE = 6.0
#: With an active region, minimisation stops when every active atom's force is
#: below LOCAL_FACTOR x tolerance (kJ/mol/Å -> kJ/mol/nm: the tolerance itself).
LOCAL_FACTOR = 10.0
#: After the first round, the atoms within this distance (Å) of the weakened and released residues
#: move and the rest of the model is held (:mod:`workbench.refine.region`); None: everything moves.
REGION_SHELL: float | None = 8.0
#: ... on models of at least this many atoms (hydrogens included), and unless the region with its
#: environment holds more than REGION_MAX_FRACTION of them. Measured at one thread: the 837-residue
#: model (13,435 atoms) relaxes 2.2x faster; on models of 1,000-2,100 atoms cutting 49 % of the atoms
#: saved 15 %, 90-99 % nothing, and the rounds the ladder needed changed for no gain.
REGION_MIN_ATOMS = 5000
REGION_MAX_FRACTION = 0.5
#: Height (kJ/mol) of the temporary peptide planarity term.
PLANARITY_K = 100.0
#: Height (kJ/mol) of the capped repulsion used to separate overlapping atoms.
SOFT_BARRIER = 1000.0
#: A heavy-atom clash closer than this (Å) before minimisation triggers the capped-repulsion start.
SEVERE_CLASH = 1.2
#: Pocket residues (near a removed or kept ligand) are restrained this many times as stiffly ...
POCKET_FACTOR = 10.0
#: ... and their ladder factor never goes below this: released, they still feel the ordinary stiffness.
POCKET_FLOOR = 1.0 / POCKET_FACTOR


class _IterationCounter(mm.MinimizationReporter):
    """Counts L-BFGS iterations; optionally stops once a region's RMS force is small.

    OpenMM's criterion is the RMS force over *all* atoms: in a large protein a
    few strained residues barely move it. With :meth:`watch` set, the
    minimisation stops when the RMS force over the watched atoms falls below
    the threshold instead (the global tolerance is set far lower).
    """

    def __init__(self):
        super().__init__()
        self.iterations = 0
        self._components: np.ndarray | None = None
        self._threshold = 0.0

    def watch(self, atoms: np.ndarray | None, threshold_nm: float) -> None:
        """Stop on the RMS force of ``atoms`` (kJ/mol/nm) below ``threshold_nm``; None: OpenMM's own criterion."""
        self._components = None if atoms is None else (3 * np.asarray(atoms)[:, None] + np.arange(3)).ravel()
        self._threshold = threshold_nm

    def report(self, iteration, x, grad, args):
        self.iterations += 1
        if self._components is None or iteration == 0:
            return False
        gradient = np.asarray(grad)[self._components].reshape(-1, 3)
        return bool(np.sqrt((gradient * gradient).sum(axis=1).max()) < self._threshold)


def refine(structure: Structure, config: RefineConfig | None = None, *,
           prepared: PreparedModel | None = None) -> RefinementResult:
    """Refine a structure: prepare, restrain, minimise, check, release, repeat.

    Parameters
    ----------
    structure : Structure
        A protein model (a prediction, or an experimental structure); waters
        are removed, ligands, cofactors and ions removed (or, with
        ``config.keep_ligands``, copied back unrelaxed) with their pocket
        restrained more stiffly, modified residues replaced, missing atoms
        added; :attr:`RefinementResult.warnings` says what was removed.
    config : RefineConfig, optional
        Parameters (defaults: AlphaFold2's relax settings, vacuum, 1 nm cutoff).
    prepared : PreparedModel, optional
        ``structure`` already prepared: preparation is skipped. It must be
        :func:`~workbench.refine.prepare_model` of this ``structure`` with the
        config's ``chains``, ``ph`` and ``seed`` (and, for results identical
        to preparing here, the config's platform and the default force
        field); the input coordinates and the pH are checked.

    Returns
    -------
    RefinementResult
        The model of the round the relax kept (``kept_round``, ``kept_reason``,
        ``round_table``), not necessarily the last.

    Raises
    ------
    StructureFormatError
        For residues that cannot be repaired (unknown ``X`` residues, residues
        without N, CA and C); the message names them.
    ValueError
        For bad parameters, an unusable platform, or a ``prepared`` model
        that was not prepared from ``structure`` at the config's pH.
    RuntimeError
        If the minimisation diverges (non-finite energy).

    Examples
    --------
    PDBFixer ships 1BHL (an HIV-1 integrase domain with waters, two modified
    cysteines and a gap):

    >>> import pathlib, pdbfixer, workbench
    >>> from workbench.refine import refine
    >>> path = pathlib.Path(pdbfixer.__file__).parent / "tests" / "data" / "1BHL.pdb"
    >>> result = refine(workbench.read_structure(path))
    >>> len(result.violations_after), result.rmsd_ca < 0.5, result.energy_after < result.energy_before
    (0, True, True)
    >>> result.preparation.removed_waters, len(result.preparation.chain_breaks)
    (53, 1)
    """
    config = config or RefineConfig()
    start = time.perf_counter()
    choice = select_platform(config.platform, config.threads)
    mark = time.perf_counter()
    if prepared is None:
        prepared = prepare_for_refinement(structure, config, choice)
    else:
        _check_prepared(structure, prepared, config)
    prepare_time = time.perf_counter() - mark
    relaxation = Relaxation(prepared, config, choice, name=structure.name)
    relaxation.timings = {"prepare": prepare_time, **relaxation.timings}
    relaxation.check_start()
    if config.md_ps > 0:
        relaxation.minimise()
        relaxation.run_md()
    positions, violations = relaxation.relax()
    return relaxation.result(positions, violations, start)


def prepare_for_refinement(structure: Structure, config: RefineConfig | None = None,
                           choice: PlatformChoice | None = None) -> PreparedModel:
    """The preparation :func:`refine` makes of ``structure`` under ``config``, for ``refine(..., prepared=)``.

    A caller that needs the completed model before refining (the batch
    pipeline writes it) prepares once with this and passes the result on, and
    gets exactly the refinement that preparing inside :func:`refine` gives.

    Parameters
    ----------
    structure : Structure
    config : RefineConfig, optional
    choice : PlatformChoice, optional
        The platform :func:`select_platform` picked for ``config`` (picked here when absent).

    Returns
    -------
    PreparedModel
    """
    config = config or RefineConfig()
    choice = choice or select_platform(config.platform, config.threads)
    return prepare_model(structure, chains=config.chains, ph=config.ph, platform=choice.platform, seed=config.seed)


def _check_prepared(structure: Structure, prepared: PreparedModel, config: RefineConfig) -> None:
    """Refuse a prepared model that did not come from ``structure`` at the config's pH."""
    first = structure.model(0) if structure.n_models > 1 else structure
    if prepared.input.n_atoms != first.n_atoms or not np.array_equal(prepared.input.coords, first.coords):
        raise ValueError("prepared was not prepared from this structure (its input atoms differ)")
    if prepared.report.ph != float(config.ph):
        raise ValueError(f"prepared was prepared at pH {prepared.report.ph}, the config asks for {config.ph}")


class Relaxation:
    """One restrained relax in progress, in the manner of OpenMM's ``Simulation``.

    Owns the OpenMM system and context, the restraint and planarity forces,
    the per-residue restraint factors of the release ladder
    (:mod:`workbench.refine.ladder`), the iteration and round counters and the
    timings. :func:`refine` drives it through its phases: :meth:`check_start`,
    optionally :meth:`minimise` and :meth:`run_md`, :meth:`relax`, :meth:`result`.

    Parameters
    ----------
    prepared : PreparedModel
    config : RefineConfig
    choice : PlatformChoice
        Platform for the contexts.
    name : str, optional
        Structure name, for error messages.

    Attributes
    ----------
    factor : ndarray, shape=(n_residues,), dtype=float64
        Restraint stiffness factor of each residue (1, 0.1 or 0); a pocket
        residue's restraint never goes below ``POCKET_FLOOR`` of its (x
        ``POCKET_FACTOR``) stiffness.
    history : list of (RoundRecord, ndarray, Violations, ndarray)
        Per round: its record, positions (Å), violations and factors.
    kept : (int, str)
        Index into ``history`` of the kept round and why (set by :meth:`relax`).
    rounds : int
        Minimise-check rounds run by :meth:`relax`.
    timings : dict of str to float
        Seconds per phase.
    """

    def __init__(self, prepared: PreparedModel, config: RefineConfig, choice: PlatformChoice, name: str | None = None):
        mark = time.perf_counter()
        self.prepared, self.config, self.choice, self.name = prepared, config, choice, name
        self.system = create_system(prepared.topology, solvent=config.resolved_solvent, cutoff=config.cutoff)
        self.geometry = GeometryModel(prepared.topology, self.system, prepared.residue_labels, config.criteria)
        self.restrained = np.flatnonzero(prepared.heavy & (prepared.source_atom >= 0))
        self.reference_nm = prepared.positions / 10.0
        # kJ/mol/Å² -> kJ/mol/nm²
        self.k_nm = config.stiffness * 100.0 * _restraint_weights(prepared, self.restrained, config)
        self.pocket = np.zeros(prepared.topology.getNumResidues(), dtype=bool)
        self.pocket[prepared.pocket] = True
        self.k_nm = self.k_nm * np.where(self.pocket[prepared.residue_of_atom[self.restrained]], POCKET_FACTOR, 1.0)
        self.restraint = _restraint_force(self.restrained, self.reference_nm, self.k_nm)
        self.system.addForce(self.restraint)
        self.planarity = _planarity_force(self.geometry.omega)
        self.system.addForce(self.planarity)
        # Every chiral centre of a standard residue is held (or pushed back to) its natural configuration:
        # a relax never makes a D residue, and repairs the centres a noisy model inverted. Those the input
        # had inverted are reported (violations_before); a real D amino acid has its own residue name.
        self.system.addForce(_chirality_force(self.geometry.chiral))
        self.context = choice.context(self.system, mm.VerletIntegrator(0.001))
        self.context.setPositions(prepared.positions_nm)
        self.energy_before = _energy(self.context, FORCEFIELD_GROUP)
        self.counter = _IterationCounter()
        self.factor = np.ones(prepared.topology.getNumResidues())
        self.flattened: set[int] = set()  # omega torsions the planarity term has been applied to
        self.rounds = 0
        self.history: list[tuple[RoundRecord, np.ndarray, Violations, np.ndarray]] = []
        self.kept: tuple[int, str] = (0, "")
        self.active: np.ndarray | None = None  # atoms of weakened or released residues
        self.severe = False
        self.soft_started = False
        self.violations_before: Violations | None = None
        self._region_exact = region_supported(self.system)
        self.region_sizes: list[tuple[int, int]] = []  # (mobile, included) atoms of each region minimisation
        self._region: RegionContext | None = None
        self.timings = {"system": time.perf_counter() - mark}
        self._minimise_time = self._md_time = self._check_time = 0.0

    def check(self, positions: np.ndarray) -> Violations:
        """Violations of ``positions`` (Å, shape ``(n_atoms, 3)``), timed."""
        mark = time.perf_counter()
        violations = self.geometry.check(positions)
        self._check_time += time.perf_counter() - mark
        return violations

    def check_start(self) -> Violations:
        """Check the prepared model; note whether it needs the capped-repulsion start."""
        self.violations_before = self.check(self.prepared.positions)
        # Atoms nearly on top of each other (a forced clash, a bad model) stall or
        # break L-BFGS on the real potential: they are separated on a capped one first.
        self.severe = any(v.kind == "clash" and v.value < SEVERE_CLASH for v in self.violations_before.items)
        return self.violations_before

    def minimise(self) -> np.ndarray:
        """Minimise from the context's positions; returns the positions in Å, shape ``(n_atoms, 3)``.

        With an active region (weakened or released residues), OpenMM's global
        criterion is made 100x tighter and the minimisation stops as soon as the
        region's largest force is below the tolerance.

        Raises
        ------
        RuntimeError
            If the minimisation diverges even after a capped-repulsion start.
        """
        mark = time.perf_counter()
        tolerance = self.config.tolerance
        if self.severe and not self.soft_started:
            self._soft_start()
        start_positions = self.context.getState(getPositions=True).getPositions(asNumpy=True)
        tolerance_nm = tolerance * 10.0 if self.active is None else tolerance / 10.0  # kJ/mol/Å -> /nm
        positions = self._minimise_region(start_positions, tolerance_nm) if self._region_pays() else None
        if positions is None:
            self.counter.watch(self.active, tolerance * LOCAL_FACTOR)
            positions = _lbfgs(self.context, tolerance_nm, self.config.max_iterations, self.counter)
        if positions is None and not self.soft_started:
            self.context.setPositions(start_positions)
            self._soft_start()
            positions = _lbfgs(self.context, tolerance_nm, self.config.max_iterations, self.counter)
        self.counter.watch(None, 0.0)
        self._minimise_time += time.perf_counter() - mark
        if positions is None:
            raise RuntimeError(f"{self.name or 'structure'}: the minimisation diverged (non-finite energy)")
        return positions

    def _region_pays(self) -> bool:
        """Whether to minimise only the region around the active atoms (:mod:`workbench.refine.region`).

        Only on the CPU and Reference platforms, whose cost per force
        evaluation grows with the number of atoms (a GPU evaluates the whole
        model in about the time it takes to start a new context), and only
        for systems whose forces the region reproduces exactly.
        """
        return (self.active is not None and len(self.active) > 0 and REGION_SHELL is not None
                and self.system.getNumParticles() >= REGION_MIN_ATOMS
                and self.choice.platform.getName() in ("CPU", "Reference") and self._region_exact)

    def _minimise_region(self, start_nm: unit.Quantity, tolerance_nm: float) -> np.ndarray | None:
        """Minimise the active atoms and their shell on a cut-down system; None when it diverged or would not pay.

        The region is kept for the next rounds while it serves their active
        atoms (:meth:`RegionContext.serves`). The whole context gets the
        result; returns all positions in Å, shape ``(n_atoms, 3)``.
        """
        assert self.active is not None and self.config.cutoff is not None  # region_supported refuses NoCutoff
        assert REGION_SHELL is not None  # _region_pays
        whole = np.asarray(start_nm.value_in_unit(unit.nanometer), dtype=np.float64)
        if self._region is None or not self._region.serves(self.active, whole * 10.0):
            region = Region.around(whole * 10.0, self.active, shell=REGION_SHELL, cutoff=self.config.cutoff)
            if len(region.included) > REGION_MAX_FRACTION * len(whole):
                return None
            self._region = RegionContext(self.system, region, self.active, whole * 10.0,
                                         lambda system: self.choice.context(system, mm.VerletIntegrator(0.001)))
        region = self._region.region
        self._region.load(self.context, whole)
        self.counter.watch(region.index_of(self.active), self.config.tolerance * LOCAL_FACTOR)
        moved = _lbfgs(self._region.context, tolerance_nm, self.config.max_iterations, self.counter)
        if moved is None:
            return None
        positions = whole * 10.0
        positions[region.included[region.mobile]] = moved[region.mobile]
        self.context.setPositions(positions / 10.0)
        self.region_sizes.append((int(region.mobile.sum()), len(region.included)))
        return positions

    def _soft_start(self) -> None:
        """Separate overlapping atoms on a capped repulsion (:func:`_soft_minimise`)."""
        self.soft_started = True
        positions = self.context.getState(getPositions=True).getPositions(asNumpy=True)
        self.context.setPositions(_soft_minimise(self.system, positions, self.choice, self.counter))

    def run_md(self) -> None:
        """Restrained Langevin MD from the context's positions; the context continues from its end."""
        mark = time.perf_counter()
        positions = _run_md(self.system, self.prepared, self.choice, self.context, self.config)
        self.context.setPositions(unit.Quantity(positions / 10.0, unit.nanometer))
        self._md_time = time.perf_counter() - mark

    def relax(self) -> tuple[np.ndarray, Violations]:
        """Minimise-check-release rounds until nothing violates, nothing is left to release, or ``max_rounds``.

        Returns
        -------
        positions : ndarray, shape=(n_atoms, 3), dtype=float64
            Final positions, Å.
        violations : Violations
            Their violations.
        """
        prepared = self.prepared
        while True:
            self.rounds += 1
            positions = self.minimise()
            violations = self.check(positions)
            self.record(positions, violations)
            step = release_ladder(
                self.factor, np.asarray(violations.residue_indices, dtype=np.int64),
                functools.partial(_neighbours, positions, prepared.heavy, prepared.residue_of_atom),
                round_=self.rounds, max_rounds=self.config.max_rounds)
            if step.done:
                break
            if step.exhausted:
                if not self.flatten_twisted(violations):
                    break
                continue
            self.factor = step.factor
            self.release(step.changed)
        return self.keep_best()

    def record(self, positions: np.ndarray, violations: Violations) -> None:
        """Remember this round's model, its violations, its CA RMSD to the input, its energies and factors."""
        factor = self.factor
        self.history.append((
            RoundRecord(round=self.rounds, counts=dict(violations.counts), rmsd_ca=_rmsds(self.prepared, positions)[0],
                        energy=_energy(self.context, FORCEFIELD_GROUP),
                        restraint_energy=_energy(self.context, RESTRAINT_GROUP),
                        n_weakened=int(((factor > 0) & (factor < 1)).sum()), n_released=int((factor == 0).sum())),
            positions.copy(), violations, factor.copy()))

    def keep_best(self) -> tuple[np.ndarray, Violations]:
        """The recorded round :func:`~workbench.refine.ladder.keep_best` picks; sets :attr:`kept`.

        Returns
        -------
        positions : ndarray, shape=(n_atoms, 3), dtype=float64
            The kept round's positions, Å.
        violations : Violations
            Their violations.
        """
        index, reason = keep_best([h[0] for h in self.history], self.config.max_rmsd_ca)
        self.kept = (index, reason)
        _, positions, violations, _ = self.history[index]
        return positions, violations

    def release(self, changed: np.ndarray) -> None:
        """Apply :attr:`factor` of the ``changed`` residues to their atoms' restraints in the context."""
        residue_of_atom = self.prepared.residue_of_atom
        factor = np.where(self.pocket, np.maximum(self.factor, POCKET_FLOOR), self.factor)
        for slot in np.flatnonzero(np.isin(residue_of_atom[self.restrained], changed)):
            atom = int(self.restrained[slot])
            self.restraint.setParticleParameters(
                int(slot), atom, [self.k_nm[slot] * factor[residue_of_atom[atom]], *self.reference_nm[atom]])
        self.restraint.updateParametersInContext(self.context)
        self.active = np.flatnonzero(self.factor[residue_of_atom] < 1.0)

    def flatten_twisted(self, violations: Violations) -> bool:
        """Pull twisted peptides planar with a temporary term, then minimise without it.

        Everything around is free and a peptide stays twisted: a local minimum
        of the force field. The term pulls a peptide to trans, and an X-Pro
        peptide to the nearer of cis and trans: cis peptides are about 5 % of
        X-Pro bonds and 0.03 % of the others (Jabs et al. 1999, J. Mol. Biol.
        286, 291), so a twist is far likelier a distorted trans. The result of
        the second minimisation is a minimum of the unmodified force field.
        Each peptide is flattened once.

        Returns
        -------
        bool
            False when no twisted peptide is left to flatten.
        """
        geometry = self.geometry
        omega_of = {v.atoms: v.value for v in violations.items if v.kind == "omega"}
        labels = [tuple(geometry.atom_labels[i] for i in quad) for quad in geometry.omega.tolist()]
        twisted = [k for k, atoms in enumerate(labels) if atoms in omega_of and k not in self.flattened]
        if not twisted:
            return False
        self.flattened.update(twisted)
        residues = list(self.prepared.topology.residues())
        for k in twisted:
            proline = residues[int(geometry.residue[geometry.omega[k, 2]])].name == "PRO"
            target = 0.0 if proline and abs(omega_of[labels[k]]) < 90.0 else math.pi
            self.planarity.setTorsionParameters(k, *geometry.omega[k].tolist(), [1.0, target])
        self.planarity.updateParametersInContext(self.context)
        self.context.setParameter("planarity", PLANARITY_K)
        self.minimise()
        self.context.setParameter("planarity", 0.0)
        return True

    def result(self, positions: np.ndarray, violations: Violations, start: float) -> RefinementResult:
        """The refinement's result for final ``positions`` (Å) and their ``violations``.

        ``start`` is the :func:`time.perf_counter` value at which the refinement began.
        """
        prepared, config = self.prepared, self.config
        index, reason = self.kept
        record, _, _, factor = self.history[index]
        refined = prepared.to_structure(positions, hydrogens=config.hydrogens, ligands=config.keep_ligands)
        rmsd_ca, rmsd_heavy = _rmsds(prepared, positions)
        self.timings.update(minimise=self._minimise_time, md=self._md_time, check=self._check_time,
                            total=time.perf_counter() - start)
        assert self.violations_before is not None, "check_start() was not called"
        return RefinementResult(
            structure=refined,
            energy_before=self.energy_before,
            energy_after=record.energy,
            restraint_energy_after=record.restraint_energy,
            rmsd_ca=rmsd_ca,
            rmsd_heavy=rmsd_heavy,
            violations_before=self.violations_before,
            violations_after=violations,
            cis_trans_changes=cis_trans_changes(self.geometry, prepared.positions, positions),
            iterations=self.counter.iterations,
            rounds=self.rounds,
            released_residues=tuple(prepared.residue_labels[r] for r in np.flatnonzero(factor == 0.0)),
            weakened_residues=tuple(prepared.residue_labels[r] for r in np.flatnonzero((factor > 0) & (factor < 1))),
            kept_round=record.round,
            kept_reason=reason,
            round_table=tuple(h[0] for h in self.history),
            kept_ligands=config.keep_ligands,
            md_ps=float(config.md_ps),
            solvent=config.resolved_solvent,
            cutoff=config.cutoff,
            platform=self.choice.name,
            platform_properties=dict(self.choice.properties),
            timings=self.timings,
            preparation=prepared.report,
            parameters=config.to_dict(),
        )


def _rmsds(prepared: PreparedModel, positions: np.ndarray) -> tuple[float, float]:
    """CA and heavy-atom RMSD (Å) of ``positions`` from the input, over atoms that came from the input."""
    source = prepared.source_atom
    from_input = (source >= 0) & prepared.heavy
    delta = positions[from_input] - prepared.input.coords[source[from_input]]
    is_ca = np.array([a.name == "CA" for a in prepared.topology.atoms()], dtype=bool)[from_input]
    rmsd_heavy = float(np.sqrt((delta**2).sum(axis=1).mean()))
    rmsd_ca = float(np.sqrt((delta[is_ca] ** 2).sum(axis=1).mean())) if is_ca.any() else float("nan")
    return rmsd_ca, rmsd_heavy


COLLAPSE_ENERGY_PER_ATOM = -50.0
"""Force-field energy (kJ/mol per atom) below which a minimisation has collapsed, not converged.

Relaxed proteins sit between about -10 and +10 kJ/mol per atom (vacuum or
implicit solvent). From a badly strained start (0.3 Å of noise on every
coordinate) L-BFGS on the real potential can pull a hydrogen onto an opposite
charge, and the energy runs away towards minus infinity with finite
coordinates: measured on 1ubq, -57, then -850, then -8,300 kJ/mol per atom
over three rounds before a NaN. Such a result is treated as diverged, which
restarts from the capped-repulsion minimisation.
"""


def _lbfgs(context: mm.Context, tolerance_nm: float, max_iterations: int,
           counter: _IterationCounter) -> np.ndarray | None:
    """One L-BFGS minimisation; the positions in Å, or None if it diverged (NaN, or a collapse)."""
    try:
        mm.LocalEnergyMinimizer.minimize(context, tolerance_nm, max_iterations, counter)
        state = context.getState(getPositions=True, getEnergy=True, groups={FORCEFIELD_GROUP})
    except mm.OpenMMException:
        return None
    positions = np.asarray(state.getPositions(asNumpy=True).value_in_unit(unit.angstrom), dtype=np.float64)
    energy = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    if not np.isfinite(positions).all() or not math.isfinite(energy):
        return None
    if energy < COLLAPSE_ENERGY_PER_ATOM * len(positions):
        return None
    return positions


def _soft_minimise(system: mm.System, positions: unit.Quantity, choice: PlatformChoice,
                   counter: _IterationCounter) -> unit.Quantity:
    """Minimise on the bonded terms, the restraints and a capped repulsion instead of Lennard-Jones + Coulomb.

    Each non-excluded pair closer than its Lennard-Jones sigma feels
    ``SOFT_BARRIER * (1 - r/sigma)^2``: finite even for coincident atoms, so
    L-BFGS can separate atoms that a forced clash or a bad model put on top
    of each other; the real minimisation follows.
    """
    soft = mm.XmlSerializer.clone(system)
    repulsion = mm.CustomNonbondedForce(f"{SOFT_BARRIER}*step(1-r/s)*(1-r/s)^2; s=0.5*(s1+s2)")
    repulsion.addPerParticleParameter("s")
    for index in reversed(range(soft.getNumForces())):
        force = soft.getForce(index)
        if isinstance(force, mm.NonbondedForce):
            for i in range(force.getNumParticles()):
                _, sigma, epsilon = force.getParticleParameters(i)
                repulsion.addParticle([sigma.value_in_unit(unit.nanometer)
                                       if epsilon.value_in_unit(unit.kilojoule_per_mole) > 0 else 0.1])
            for e in range(force.getNumExceptions()):
                i, j, *_ = force.getExceptionParameters(e)
                repulsion.addExclusion(i, j)
            soft.removeForce(index)
        elif isinstance(force, (mm.GBSAOBCForce, mm.CustomGBForce)):
            soft.removeForce(index)
    repulsion.setNonbondedMethod(mm.CustomNonbondedForce.CutoffNonPeriodic)
    repulsion.setCutoffDistance(0.6)
    soft.addForce(repulsion)
    context = choice.context(soft, mm.VerletIntegrator(0.001))
    context.setPositions(positions)
    mm.LocalEnergyMinimizer.minimize(context, 100.0, 200, counter)
    return context.getState(getPositions=True).getPositions(asNumpy=True)


def _restraint_weights(prepared: PreparedModel, restrained: np.ndarray, config: RefineConfig) -> np.ndarray:
    """Per-restrained-atom stiffness factors: pLDDT/100 with MD and ``md_weights="plddt"``, else 1."""
    weights = np.ones(len(restrained))
    if config.md_ps > 0 and config.md_weights == "plddt":
        b = prepared.input.b_factor[prepared.source_atom[restrained]].astype(np.float64)
        if np.any(b > 0):
            weights = np.clip(b / 100.0, 0.0, 1.0)
    return weights


def _planarity_force(omega: np.ndarray) -> mm.CustomTorsionForce:
    """A switchable ``planarity * on * (1 - cos(omega - target))`` on every peptide (off: global parameter 0)."""
    force = mm.CustomTorsionForce("planarity*on*(1-cos(theta-target))")
    force.addGlobalParameter("planarity", 0.0)
    force.addPerTorsionParameter("on")
    force.addPerTorsionParameter("target")
    for quad in omega.tolist():
        force.addTorsion(*quad, [0.0, math.pi])
    force.setForceGroup(RESTRAINT_GROUP)
    return force


CHIRALITY_K = 4.0e8
"""Chirality restraint stiffness, kJ/mol/nm⁶: a fully inverted centre (about -2.5 Å³) costs some 4,000 kJ/mol."""
CHIRALITY_FLOOR = 0.0005
"""Signed volume (nm³, 0.5 Å³) below which a natural centre is pushed back: zero energy above it."""


def _chirality_force(quads: np.ndarray) -> mm.CustomCompoundBondForce:
    """A one-sided restraint on each (centre, a, b, c): zero while its signed volume stays above a floor.

    OpenMM has no chirality term; the signed volume is written out from the
    particles' coordinates. For a natural centre (about 2.5 Å³) the energy
    and force are exactly zero, so energies of well-formed models are unchanged.
    """
    ax, ay, az = "(x2-x1)", "(y2-y1)", "(z2-z1)"
    bx, by, bz = "(x3-x1)", "(y3-y1)", "(z3-z1)"
    cx, cy, cz = "(x4-x1)", "(y4-y1)", "(z4-z1)"
    volume = (f"{ax}*({by}*{cz}-{bz}*{cy}) - {ay}*({bx}*{cz}-{bz}*{cx}) + {az}*({bx}*{cy}-{by}*{cx})")
    force = mm.CustomCompoundBondForce(4, f"chiral_k*min(0, v - chiral_floor)^2; v = {volume}")
    force.addGlobalParameter("chiral_k", CHIRALITY_K)
    force.addGlobalParameter("chiral_floor", CHIRALITY_FLOOR)
    for quad in quads.tolist():
        force.addBond(quad, [])
    force.setForceGroup(RESTRAINT_GROUP)
    return force


def _restraint_force(atoms: np.ndarray, reference_nm: np.ndarray, k_nm: np.ndarray) -> mm.CustomExternalForce:
    """Harmonic position restraints with a per-atom spring constant (kJ/mol/nm²)."""
    force = mm.CustomExternalForce("0.5*k*((x-x0)^2+(y-y0)^2+(z-z0)^2)")
    for name in ("k", "x0", "y0", "z0"):
        force.addPerParticleParameter(name)
    for atom, k in zip(atoms.tolist(), np.broadcast_to(k_nm, atoms.shape).tolist(), strict=True):
        force.addParticle(atom, [k, *reference_nm[atom]])
    force.setForceGroup(RESTRAINT_GROUP)
    return force


def _energy(context: mm.Context, group: int) -> float:
    state = context.getState(getEnergy=True, groups={group})
    return float(state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole))


def _neighbours(positions: np.ndarray, heavy: np.ndarray, residue_of_atom: np.ndarray,
                residues: np.ndarray) -> np.ndarray:
    """Residues with a heavy atom within NEIGHBOUR_RELEASE Å of the given residues' heavy atoms, sorted."""
    from scipy.spatial import cKDTree

    heavy_index = np.flatnonzero(heavy)
    centre = heavy_index[np.isin(residue_of_atom[heavy_index], residues)]
    tree = cKDTree(positions[heavy_index])
    hits = tree.query_ball_point(positions[centre], NEIGHBOUR_RELEASE)
    near = {int(residue_of_atom[heavy_index[j]]) for row in hits for j in row}
    return np.asarray(sorted(near), np.int64)


def _run_md(system: mm.System, prepared: PreparedModel, choice: PlatformChoice, context: mm.Context,
            config: RefineConfig) -> np.ndarray:
    """Restrained Langevin MD from the context's positions; returns the final positions in Å."""
    md_system = with_hbond_constraints(system, prepared.topology)
    integrator = mm.LangevinMiddleIntegrator(config.md_temperature * unit.kelvin,
                                             config.md_friction / unit.picosecond,
                                             config.md_timestep * unit.femtosecond)
    integrator.setRandomNumberSeed(openmm_seed(config.seed))
    md_context = choice.context(md_system, integrator)
    md_context.setPositions(context.getState(getPositions=True).getPositions())
    md_context.applyConstraints(1e-6)
    md_context.setVelocitiesToTemperature(config.md_temperature * unit.kelvin, config.seed)
    steps = max(1, round(config.md_ps * 1000.0 / config.md_timestep))
    integrator.step(steps)
    positions = md_context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(unit.angstrom)
    positions = np.asarray(positions, dtype=np.float64)
    if not np.isfinite(positions).all():
        raise RuntimeError("restrained MD diverged (non-finite positions)")
    return positions
