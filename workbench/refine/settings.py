"""The settings of a refinement: :class:`RefineConfig` and :class:`ViolationCriteria`.

Plain dataclasses with no OpenMM import, so that a batch request
(:mod:`workbench.request`), the job store and the command line can build and
check them without loading the force-field code. :mod:`workbench.refine.relax`
and :mod:`workbench.refine.violations` re-export them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["SOLVENTS", "RefineConfig", "ViolationCriteria"]

#: Solvent models: ``vacuum``; ``obc2`` (GBSAOBCForce); ``gbn2`` (CustomGBForce).
SOLVENTS = ("vacuum", "obc2", "gbn2")
_KCAL = 4.184


@dataclass(frozen=True)
class ViolationCriteria:
    """Thresholds of the violation check; defaults follow AlphaFold2 (and MolProbity for omega).

    Attributes
    ----------
    clash_overlap : float
        Allowed overlap of van der Waals spheres, Å.
    n_sigma : float
        Allowed deviation of a bond length or angle with a tabulated target
        (Engh & Huber 2001; AlphaFold2's peptide-bond terms), in its standard
        deviations: AlphaFold2's ``violation_tolerance_factor``, 12.
    bond_tolerance : float
        Allowed deviation of a bond without a tabulated target from its
        force-field length, Å.
    angle_tolerance : float
        Allowed deviation of an angle without a tabulated target from its
        force-field angle, degrees.
    omega_tolerance : float
        Allowed twist of a peptide bond out of plane, degrees (MolProbity's 30).
    """

    clash_overlap: float = 1.5
    n_sigma: float = 12.0
    bond_tolerance: float = 0.24
    angle_tolerance: float = 24.0
    omega_tolerance: float = 30.0

    #: Fields of earlier versions that no longer exist, ignored when read (``peptide_bond_tolerance``, 0.17 Å,
    #: is ``n_sigma`` x AlphaFold2's σ of the peptide bond since the Engh & Huber 2001 check).
    LEGACY_FIELDS: ClassVar[frozenset[str]] = frozenset({"peptide_bond_tolerance"})

    def to_dict(self) -> dict[str, float]:
        """JSON-ready dictionary."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ViolationCriteria:
        """Criteria from :meth:`to_dict`'s output, or an earlier version's (its :data:`LEGACY_FIELDS` ignored)."""
        return cls(**{k: v for k, v in values.items() if k not in cls.LEGACY_FIELDS})



@dataclass(frozen=True)
class RefineConfig:
    """Parameters of :func:`refine`; units are Å, kJ/mol, ps, K.

    Attributes
    ----------
    stiffness : float
        Restraint spring constant, kJ/mol/Å² (41.84 = 10 kcal/mol/Å², AlphaFold2's).
    tolerance : float
        L-BFGS convergence: RMS force below this, kJ/mol/Å (10.0 = AlphaFold2's
        2.39 kcal/mol/Å as OpenMM 8 reads it).
    max_iterations : int
        L-BFGS iteration cap per minimisation (0: no cap).
    max_rounds : int
        Bound on minimise-check-release rounds.
    solvent : {"vacuum", "obc2", "gbn2"} or None
        None: vacuum for a plain relax, OBC2 when ``md_ps > 0``.
    cutoff : float or None
        Nonbonded cutoff, Å (None: all pairs).
    md_ps : float
        Picoseconds of restrained Langevin MD before the relax (0: none).
    md_temperature : float
        MD temperature, K.
    md_timestep : float
        MD time step, fs (bonds to hydrogen are constrained).
    md_friction : float
        Langevin friction, 1/ps.
    md_weights : {"plddt", "uniform"}
        MD restraint stiffness per atom: stiffness x B-factor/100 (B-factors
        read as pLDDT, clipped to 0-1) or the full stiffness everywhere. Use
        "uniform" for experimental structures, whose B-factors are not pLDDT.
        With "plddt", a structure whose B-factors are all zero gets uniform.
    ph : float
        pH for protonation states.
    chains : tuple of str or None
        Chains to refine (None: all).
    platform : str or None
        OpenMM platform (see :func:`workbench.refine.select_platform`; None: auto).
    threads : int or None
        CPU threads (None: usable cores). Only 1 repeats a result bit for bit:
        OpenMM's CPU platform sums the threads' forces in a varying order
        (1BHL, two threads, three runs: final energies apart by 4e-4 kJ/mol;
        the AlphaFold2 test model: by 5 kJ/mol), and a relax can then end in
        another minimum.
    criteria : ViolationCriteria
        Violation thresholds.
    hydrogens : bool
        Keep hydrogens in the refined structure.
    seed : int
        Seed of the hydrogens' start positions and of the MD's velocities and noise.
    max_rmsd_ca : float
        CA RMSD to the input (Å) above which a relax round is not kept when a
        closer one exists (:func:`workbench.refine.ladder.keep_best`). The
        default, 1 Å, is about twice what a healthy relax moves: 0.1 Å for
        1HHO, 0.44-0.63 Å for crystal structures with 0.3 Å of Gaussian noise
        on every coordinate (measured on 1CRN, 1PGA, 1UBQ, 1ENH, 1BPI).
    keep_ligands : bool
        Copy ligands, cofactors and ions back into the refined structure at
        their input coordinates (kept, not relaxed); default: removed. Waters
        are removed either way, and modified residues are always replaced by
        their standard parents.
    """

    stiffness: float = 10.0 * _KCAL
    tolerance: float = 10.0
    max_iterations: int = 1000
    max_rounds: int = 8
    solvent: str | None = None
    cutoff: float | None = 10.0
    md_ps: float = 0.0
    md_temperature: float = 300.0
    md_timestep: float = 2.0
    md_friction: float = 1.0
    md_weights: str = "plddt"
    ph: float = 7.0
    chains: tuple[str, ...] | None = None
    platform: str | None = None
    threads: int | None = None
    criteria: ViolationCriteria = field(default_factory=ViolationCriteria)
    hydrogens: bool = True
    seed: int = 0
    max_rmsd_ca: float = 1.0
    keep_ligands: bool = False

    def __post_init__(self) -> None:
        if self.stiffness < 0:
            raise ValueError(f"stiffness must be >= 0 kJ/mol/Å², got {self.stiffness}")
        if self.tolerance <= 0:
            raise ValueError(f"tolerance must be positive (kJ/mol/Å), got {self.tolerance}")
        if self.max_iterations < 0:
            raise ValueError(f"max_iterations must be >= 0, got {self.max_iterations}")
        if self.max_rounds < 1:
            raise ValueError(f"max_rounds must be >= 1, got {self.max_rounds}")
        if self.solvent is not None and self.solvent not in SOLVENTS:
            raise ValueError(f"unknown solvent {self.solvent!r}; choose one of {', '.join(SOLVENTS)}")
        if self.md_ps < 0 or not math.isfinite(self.md_ps):
            raise ValueError(f"md_ps must be a finite number >= 0, got {self.md_ps}")
        if self.md_timestep <= 0 or self.md_temperature <= 0 or self.md_friction <= 0:
            raise ValueError("md_timestep, md_temperature and md_friction must be positive")
        if self.md_weights not in ("plddt", "uniform"):
            raise ValueError(f"md_weights must be 'plddt' or 'uniform', got {self.md_weights!r}")
        if not self.max_rmsd_ca > 0 or not math.isfinite(self.max_rmsd_ca):
            raise ValueError(f"max_rmsd_ca must be a positive number of Å, got {self.max_rmsd_ca}")
        if self.chains is not None:
            object.__setattr__(self, "chains", tuple(str(c) for c in self.chains))

    @property
    def resolved_solvent(self) -> str:
        """The solvent model used: ``solvent``, or vacuum / OBC2 (with MD) when unset."""
        return self.solvent or ("obc2" if self.md_ps > 0 else "vacuum")

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        values = dataclasses.asdict(self)
        values["criteria"] = self.criteria.to_dict()
        values["chains"] = None if self.chains is None else list(self.chains)
        values["solvent"] = self.resolved_solvent
        return values
