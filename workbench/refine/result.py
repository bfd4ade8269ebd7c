"""What a refinement returns: the refined structure and every number computed on the way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.refine.ladder import RoundRecord
from workbench.refine.prepare import PreparationReport, preparation_warnings
from workbench.refine.violations import KINDS, Violations
from workbench.structure import Structure

__all__ = ["RefinementResult", "format_report"]


@dataclass(frozen=True, eq=False)
class RefinementResult:
    """The outcome of :func:`workbench.refine`.

    Attributes
    ----------
    structure : Structure
        The refined model: complete residues (hydrogens unless
        ``RefineConfig.hydrogens`` is False), the input's chain ids, residue
        numbers and insertion codes, and the input's B-factors (pLDDT for
        predictions); atoms that preparation added take the B-factor of their
        residue's CA.
    energy_before, energy_after : float
        Force-field potential energy (kJ/mol, restraints excluded) of the
        prepared model before minimisation and of the result, in the same
        system (solvent model and cutoff as ``solvent`` / ``cutoff``).
    restraint_energy_after : float
        Energy of the position restraints at the end, kJ/mol.
    rmsd_ca, rmsd_heavy : float
        RMSD (Å) of the refined model to the input over CA atoms and over all
        heavy atoms that came from the input, without superposition (a
        restrained refinement does not move the frame).
    violations_before, violations_after : Violations
        Of the prepared model (input coordinates, added atoms as placed) and
        of the result.
    iterations : int
        L-BFGS iterations over all minimisations.
    rounds : int
        Minimise-check rounds of the relax (restraints released in between).
    released_residues : tuple of str
        Residues whose restraints were released (stiffness 0) after
        violating twice, as they were in the kept round (a pocket residue
        near a removed ligand keeps the ordinary stiffness even then).
    weakened_residues : tuple of str
        Residues whose restraints were weakened to a tenth after violating
        once, as they were in the kept round.
    kept_round : int
        The round whose model this is (1-based): the relax keeps its best
        round (:func:`workbench.refine.ladder.keep_best`), not always its last.
    kept_reason : str
        One line: why that round.
    round_table : tuple of RoundRecord
        Every round's violations by kind, CA RMSD to the input and energies.
    kept_ligands : bool
        Ligands, cofactors and ions were copied back into ``structure`` at
        their input coordinates (unrelaxed); otherwise they were removed.
    md_ps : float
        Picoseconds of restrained MD run (0 when none).
    solvent : str
    cutoff : float or None
        Nonbonded cutoff, Å.
    platform : str
    platform_properties : dict of str to str
    timings : dict of str to float
        Seconds spent in each stage (``prepare``, ``system``, ``minimise``,
        ``md``, ``check``, ``total``).
    preparation : PreparationReport
    parameters : dict
        The configuration the refinement ran with.
    cis_trans_changes : tuple of str
        Peptide bonds whose state the refinement changed between cis and trans
        (or from twisted to cis), ``"A:ALA 5 - A:PRO 6 trans -> cis"``
        (:func:`workbench.refine.violations.cis_trans_changes`; cis: abs(omega) < 30
        degrees, trans: abs(omega) > 150). A cis proline of the input that stays cis is no change.
    """

    structure: Structure
    energy_before: float
    energy_after: float
    restraint_energy_after: float
    rmsd_ca: float
    rmsd_heavy: float
    violations_before: Violations
    violations_after: Violations
    iterations: int
    rounds: int
    released_residues: tuple[str, ...]
    weakened_residues: tuple[str, ...]
    md_ps: float
    solvent: str
    cutoff: float | None
    platform: str
    platform_properties: dict[str, str]
    timings: dict[str, float]
    preparation: PreparationReport
    parameters: dict[str, Any] = field(default_factory=dict)
    kept_round: int = 1
    kept_reason: str = ""
    round_table: tuple[RoundRecord, ...] = ()
    kept_ligands: bool = False
    cis_trans_changes: tuple[str, ...] = ()

    @property
    def warnings(self) -> tuple[str, ...]:
        """One line per kind of group the preparation removed, replaced or kept unrelaxed (ligands, ions, ...).

        ``workbench refine`` prints each as a ``warning:`` line; the batch
        report and the UI show them beside the item.
        """
        return preparation_warnings(self.preparation, kept=self.kept_ligands)

    @property
    def wall_time(self) -> float:
        """Total seconds of the refinement."""
        return self.timings.get("total", 0.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of every number (not the structure's coordinates)."""
        return {
            "name": self.structure.name,
            "n_atoms": self.structure.n_atoms,
            "n_residues": len(self.structure.residues),
            "energy_before_kj_mol": self.energy_before,
            "energy_after_kj_mol": self.energy_after,
            "restraint_energy_after_kj_mol": self.restraint_energy_after,
            "rmsd_ca_angstrom": self.rmsd_ca,
            "rmsd_heavy_angstrom": self.rmsd_heavy,
            "violations_before": self.violations_before.to_dict(),
            "violations_after": self.violations_after.to_dict(),
            "cis_trans_changes": list(self.cis_trans_changes),
            "iterations": self.iterations,
            "rounds": self.rounds,
            "kept_round": self.kept_round,
            "kept_reason": self.kept_reason,
            "round_table": [r.to_dict() for r in self.round_table],
            "released_residues": list(self.released_residues),
            "weakened_residues": list(self.weakened_residues),
            "md_ps": self.md_ps,
            "solvent": self.solvent,
            "cutoff_angstrom": self.cutoff,
            "platform": self.platform,
            "platform_properties": dict(self.platform_properties),
            "wall_time_s": self.wall_time,
            "timings_s": dict(self.timings),
            "preparation": self.preparation.to_dict(),
            "kept_ligands": self.kept_ligands,
            "warnings": list(self.warnings),
            "parameters": dict(self.parameters),
        }


def format_report(result: RefinementResult) -> str:
    """A short human-readable report of a refinement (what ``workbench refine`` prints)."""
    r = result
    prep = r.preparation
    lines = [
        f"refined {r.structure.name or 'structure'}: {len(r.structure.residues)} residues, "
        f"{r.structure.n_atoms} atoms, chains {', '.join(prep.chains)}",
        f"  platform     {r.platform} {r.platform_properties}  solvent {r.solvent}  "
        f"cutoff {'none' if r.cutoff is None else f'{r.cutoff:g} Å'}",
        f"  energy       {r.energy_before:,.1f} -> {r.energy_after:,.1f} kJ/mol "
        f"(restraints {r.restraint_energy_after:,.1f})",
        f"  RMSD         CA {r.rmsd_ca:.3f} Å, heavy atoms {r.rmsd_heavy:.3f} Å (to the input, no superposition)",
        f"  violations   before {_violations(r.violations_before)}",
        f"               after  {_violations(r.violations_after)}",
        f"  cis/trans    {len(r.cis_trans_changes)} peptide bond(s) changed"
        + (": " + ", ".join(r.cis_trans_changes[:4]) + (" ..." if len(r.cis_trans_changes) > 4 else "")
           if r.cis_trans_changes else ""),
        f"  minimiser    {r.iterations} L-BFGS iterations in {r.rounds} round(s)"
        + (f"; restraints weakened on {len(r.weakened_residues)}, released on {len(r.released_residues)} residue(s)"
           if r.released_residues or r.weakened_residues else ""),
        f"  kept         {r.kept_reason}" if r.kept_reason else "",
        ("  rounds       " + " | ".join(f"{t.round}: {t.n_violations} viol, {t.rmsd_ca:.2f} Å" for t in r.round_table))
        if len(r.round_table) > 1 else "",
    ]
    lines = [line for line in lines if line]
    if r.md_ps:
        lines.append(f"  MD           {r.md_ps:g} ps restrained Langevin dynamics")
    changes = []
    if prep.replaced_residues:
        changes.append("replaced " + ", ".join(f"{a} -> {b}" for a, b in prep.replaced_residues))
    if prep.added_atoms:
        n = sum(len(a) for _, a in prep.added_atoms)
        changes.append(f"added {n} heavy atom(s) in {len(prep.added_atoms)} residue(s)")
    if prep.removed_waters:
        changes.append(f"removed {prep.removed_waters} water(s)")
    if prep.removed_heterogens:
        changes.append(("kept unrelaxed " if r.kept_ligands else "removed ")
                       + ", ".join(f"{k} x{v}" for k, v in prep.removed_heterogens.items()))
    if prep.pocket_residues:
        changes.append(f"{len(prep.pocket_residues)} pocket residue(s) within {prep.pocket_radius:g} Å of them "
                       "restrained more stiffly")
    if prep.removed_other:
        changes.append("removed " + ", ".join(f"{k} x{v}" for k, v in prep.removed_other.items()))
    if prep.chain_breaks:
        changes.append(f"{len(prep.chain_breaks)} chain break(s) kept open")
    if changes:
        lines.append("  preparation  " + "; ".join(changes))
    timing = ", ".join(f"{k} {v:.2f}" for k, v in r.timings.items() if k != "total")
    lines.append(f"  time         {r.wall_time:.2f} s ({timing})")
    return "\n".join(lines)


def _violations(v: Violations) -> str:
    if not v:
        return "none"
    counts = v.counts
    kinds = ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in KINDS if counts[k])
    residues = ", ".join(v.residues[:6]) + (f" and {v.n_residues - 6} more" if v.n_residues > 6 else "")
    return f"{len(v)} ({kinds}) in {v.n_residues} residue(s): {residues}"
