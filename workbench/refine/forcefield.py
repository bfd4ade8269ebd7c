"""The force field and the OpenMM system a refinement runs on, chosen by measurement.

Force field: Amber ff14SB (``amber14-all.xml``) in every mode. AlphaFold2's
relax uses the older ff99SB; ff14SB has the refitted side-chain torsions and
costs the same per evaluation.

Nonbonded interactions: a 1 nm cutoff (``CutoffNonPeriodic``; in vacuum
OpenMM's reaction field treats what lies beyond it as a continuum) instead of
AlphaFold2's all-pairs ``NoCutoff``. Measured on this machine (OpenMM 8.6, CPU,
one thread, restrained minimisation to 100 kJ/mol/nm as AlphaFold2 sets it):

=========================================  ==================  ==================
system                                      no cutoff           1 nm cutoff
=========================================  ==================  ==================
ColabFold model, 130 residues, 2,014 atoms  12.5 ms/eval, 0.53 s  6.2 ms/eval, 0.34 s
AF-Q5VSL9, 837 residues, 13,435 atoms       567 ms/eval, 19.9 s   33 ms/eval, 1.28 s
=========================================  ==================  ==================

The minimised heavy atoms of the two runs differ by 0.05 Å RMSD (1UBQ 0.045 Å,
ColabFold model 0.056 Å), against 0.16-0.18 Å that either run moves from the
input, so the cutoff costs nothing measurable in the result and saves 2-17x.

Implicit solvent, per energy + force evaluation of the 2,014-atom model:

===========================================================  =========  ===========
force                                                          no cutoff  1 nm cutoff
===========================================================  =========  ===========
ff14SB + ``implicit/obc2.xml`` (CustomGBForce)                  791 ms     184 ms
ff99SB + ``amber99_obc.xml`` (GBSAOBCForce)                     114 ms      41 ms
ff14SB + OBC2 parameters moved into GBSAOBCForce (used here)    120 ms      43 ms
ff14SB + ``implicit/gbn2.xml`` (CustomGBForce, no native form)     -        205 ms
===========================================================  =========  ===========

So ``solvent="obc2"`` builds the system with ``implicit/obc2.xml`` (ff14SB's
charges, mbondi2 radii and OBC2 screening factors) and moves each particle's
``(charge, offset radius, scaled radius)`` into OpenMM's optimised
``GBSAOBCForce`` (the same OBC2 functional form, alpha 1, beta 0.8, gamma 4.85,
offset 0.009 nm, and the same ACE surface term): 4.3x faster than the
CustomGBForce with equal energies (-20,879.1 vs -20,879.9 kJ/mol after
minimisation; the tests check the two agree). At 13,435 atoms with the cutoff
the CPU GBSAOBCForce kernel is slightly slower than the CustomGBForce (959 vs
826 ms), both far above vacuum's 33 ms; on CUDA the native force is the
optimised one. ``solvent="gbn2"`` (GBn2, Amber ``igb=8``) exists only as a
CustomGBForce and is the slow option.

Constraints: none during minimisation. With ``constraints=HBonds`` (as
AlphaFold2 builds its system) OpenMM's L-BFGS minimiser enforces the
constraints by repeated penalty rounds: 4.65 s instead of 0.59 s for the same
2,014-atom minimisation. Restrained MD adds the H-bond constraints to its own
copy of the system (see :func:`with_hbond_constraints`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import openmm as mm
import openmm.app as app
import openmm.unit as unit

from workbench.refine.settings import SOLVENTS

__all__ = ["SOLVENTS", "create_system", "load_forcefield", "with_hbond_constraints"]

_FILES = {
    "vacuum": ("amber14-all.xml",),
    "obc2": ("amber14-all.xml", "implicit/obc2.xml"),
    "gbn2": ("amber14-all.xml", "implicit/gbn2.xml"),
}
#: Force group of the force field's terms; restraints go to RESTRAINT_GROUP.
FORCEFIELD_GROUP = 0
RESTRAINT_GROUP = 1
_GB_OFFSET_NM = 0.009


def _check_solvent(solvent: str) -> str:
    if solvent not in SOLVENTS:
        raise ValueError(f"unknown solvent {solvent!r}; choose one of {', '.join(SOLVENTS)}")
    return solvent


@lru_cache(maxsize=len(SOLVENTS))
def load_forcefield(solvent: str = "vacuum") -> app.ForceField:
    """Amber ff14SB, with the implicit-solvent file for ``solvent`` (cached per process)."""
    return app.ForceField(*_FILES[_check_solvent(solvent)])


def create_system(topology: app.Topology, *, solvent: str = "vacuum", cutoff: float | None = 10.0) -> mm.System:
    """An OpenMM system for a prepared topology.

    Parameters
    ----------
    topology : openmm.app.Topology
        Complete residues with hydrogens (see :func:`workbench.refine.prepare`).
    solvent : {"vacuum", "obc2", "gbn2"}
    cutoff : float or None
        Nonbonded cutoff in Å (``CutoffNonPeriodic``); None for all pairs.

    Returns
    -------
    openmm.System
        No constraints; every force in group ``FORCEFIELD_GROUP``.

    Raises
    ------
    ValueError
        For an unknown solvent, a non-positive cutoff, or a residue the force
        field has no template for (OpenMM's message, which names the residue).
    """
    forcefield = load_forcefield(solvent)
    if cutoff is not None and cutoff <= 0:
        raise ValueError(f"cutoff must be positive (Å) or None, got {cutoff}")
    kwargs = {"constraints": None, "rigidWater": False}
    if cutoff is None:
        kwargs["nonbondedMethod"] = app.NoCutoff
    else:
        kwargs["nonbondedMethod"] = app.CutoffNonPeriodic
        kwargs["nonbondedCutoff"] = cutoff / 10.0 * unit.nanometer
    try:
        system = forcefield.createSystem(topology, **kwargs)
    except ValueError as exc:
        labels = [f"{r.chain.id}:{r.name} {r.id}{(r.insertionCode or '').strip()}" for r in topology.residues()]
        raise ValueError(name_the_residue(str(exc), labels)) from None
    if solvent == "obc2":
        _use_native_obc(system)
    for force in system.getForces():
        force.setForceGroup(FORCEFIELD_GROUP)
    return system


def name_the_residue(message: str, labels: Sequence[str]) -> str:
    """OpenMM's "residue 0 (ARG)" counts from zero over the whole topology: prefix the residue's own label.

    Parameters
    ----------
    message : str
        The text of OpenMM's "No template found for residue N (NAME)" error.
    labels : sequence of str
        A label per topology residue, in order (chain, name and number as the
        user's file has them).

    Returns
    -------
    str
        ``"residue B:ARG 4A: "`` and the message, or the message alone when it
        names no residue.
    """
    match = re.search(r"residue (\d+) \(\w+\)", message)
    if match is None or int(match.group(1)) >= len(labels):
        return message
    return f"residue {labels[int(match.group(1))]}: {message}"


def _use_native_obc(system: mm.System) -> None:
    """Replace implicit/obc2.xml's CustomGBForce by the equivalent GBSAOBCForce."""
    found = [(i, f) for i, f in enumerate(system.getForces()) if isinstance(f, mm.CustomGBForce)]
    if len(found) != 1:  # pragma: no cover - implicit/obc2.xml always adds one
        raise RuntimeError(f"expected one CustomGBForce from implicit/obc2.xml, found {len(found)}")
    index, force = found[0]
    native = mm.GBSAOBCForce()
    for name, value in (("solventDielectric", native.setSolventDielectric),
                        ("soluteDielectric", native.setSoluteDielectric)):
        value(_expression_constant(force, name))
    for i in range(force.getNumParticles()):
        charge, offset_radius, scaled_radius = force.getParticleParameters(i)
        native.addParticle(charge, offset_radius + _GB_OFFSET_NM, scaled_radius / offset_radius)
    if force.getNonbondedMethod() == mm.CustomGBForce.NoCutoff:
        native.setNonbondedMethod(mm.GBSAOBCForce.NoCutoff)
    else:
        native.setNonbondedMethod(mm.GBSAOBCForce.CutoffNonPeriodic)
        native.setCutoffDistance(force.getCutoffDistance())
    system.removeForce(index)
    system.addForce(native)


def _expression_constant(force: mm.CustomGBForce, name: str) -> float:
    """A ``name=value`` constant from the energy expressions of implicit/obc2.xml's force."""
    for term in range(force.getNumEnergyTerms()):
        expression = force.getEnergyTermParameters(term)[0]
        for part in expression.split(";"):
            key, _, value = part.partition("=")
            if key.strip() == name:
                return float(value)
    raise RuntimeError(f"no {name} in the CustomGBForce")  # pragma: no cover


def with_hbond_constraints(system: mm.System, topology: app.Topology) -> mm.System:
    """A copy of ``system`` with every bond to a hydrogen constrained at its equilibrium length.

    Used for Langevin MD with 2 fs steps; the bond terms stay (their energy is
    zero at the constrained length).
    """
    copy = mm.XmlSerializer.clone(system)
    lengths = {}
    for force in copy.getForces():
        if isinstance(force, mm.HarmonicBondForce):
            for b in range(force.getNumBonds()):
                i, j, length, _ = force.getBondParameters(b)
                lengths[(min(i, j), max(i, j))] = length
    for a, b in topology.bonds():
        if (a.element is not None and a.element.symbol == "H") or (b.element is not None and b.element.symbol == "H"):
            key = (min(a.index, b.index), max(a.index, b.index))
            if key in lengths:
                copy.addConstraint(key[0], key[1], lengths[key])
    return copy
