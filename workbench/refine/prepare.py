"""Make a structure ready for a force field: PDBFixer, with every change reported.

:func:`prepare_model` turns a :class:`~workbench.Structure` into an OpenMM topology
with positions that Amber ff14SB can parameterise, in these steps (each one
function of this module, named in brackets):

1. the chosen chains (all by default) of the first model; waters, ligands, ions
   and nucleic acids are dropped and counted in the report
   (:func:`_first_model`, :func:`_select_protein`);
2. residues that cannot be repaired are refused with
   :class:`~workbench.StructureFormatError` naming them: unknown amino acids
   (``UNK``, or a modified residue whose parent is not known: ``X`` in the
   sequence) and residues without a complete backbone (N, CA and C): PDBFixer
   rebuilds side chains on a backbone, but without one a residue has no
   defined position (:func:`_refuse_unrepairable`);
3. modified residues are replaced by their parents (PDBFixer's table: MSE ->
   MET, CAS -> CYS, SEP -> SER, ...; otherwise the parent that the Chemical
   Component Dictionary names through gemmi); selenomethionine's SE is kept as
   MET's SD at its measured position, as AlphaFold2's relax does
   (:func:`_keep_selected`, :func:`_replace_modified_residues`);
4. chains are split where the backbone is broken (see :func:`find_chain_breaks`),
   so that no peptide bond is stretched across a gap; both sides get normal
   termini. Missing residues are *not* built: a refinement keeps the input's
   residues (:func:`_keep_selected`, :func:`_load_fixer`);
5. missing heavy atoms and terminal OXT atoms are added by PDBFixer
   (``addMissingAtoms`` with a fixed seed, deterministic), unknown extra atoms in standard
   residues removed, hydrogens added for the given pH with the force field
   that will be used (OpenMM's ``Modeller.addHydrogens``) (:func:`_remove_unknown_atoms`,
   :func:`_add_missing_atoms`);
6. atoms that came from the input get their exact input coordinates back
   (:func:`_restore_input_coordinates`), and residues the input's chain ids,
   numbers and insertion codes (:func:`_restore_input_ids`);
7. the pocket: prepared residues with a heavy atom within ``POCKET_RADIUS``
   (5 Å) of a heavy atom of a removed ligand, cofactor, ion or nucleotide
   (:func:`_pocket`), which the relax restrains more stiffly so that the
   empty pocket does not collapse.

Every removed group but water, and every replaced modified residue, is a
typed :class:`Heterogen` record in the report (waters are only counted: a
relax in vacuum or implicit solvent has no place for them), and
:func:`preparation_warnings` turns the records into one warning line per kind.
Ligands, cofactors and ions are never part of the prepared topology: Amber
ff14SB has no templates for them. ``PreparedModel.to_structure(...,
ligands=True)`` copies them back at their input coordinates, unrelaxed.

Atoms that came from the input keep their exact input coordinates (PDBFixer is
fed 3-decimal PDB text; the positions are restored afterwards), and every
prepared atom knows its input atom (``source_atom``), which is how the
refined structure keeps the input's B-factors and residue numbering.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import itertools
import random
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as unit
from pdbfixer import PDBFixer
from pdbfixer.pdbfixer import substitutions as _PDBFIXER_SUBSTITUTIONS

from workbench.errors import StructureFormatError
from workbench.io.openmm import from_openmm, normalise_names, to_openmm
from workbench.refine.platform import openmm_seed, repeatable_platform
from workbench.residues import STANDARD_AMINO_ACIDS, is_amino_acid, is_water, one_letter_code
from workbench.structure import Structure

__all__ = [
    "POCKET_RADIUS",
    "Heterogen",
    "PreparationReport",
    "PreparedModel",
    "find_chain_breaks",
    "preparation_warnings",
    "prepare",
    "prepare_model",
]

_ONE_TO_THREE = {one_letter_code(name): name for name in STANDARD_AMINO_ACIDS}
_BACKBONE = ("N", "CA", "C")
#: C(i)-N(i+1) distances (Å): always bonded below the first; bonded up to the
#: second when the residue numbers are consecutive (a stretched bond in a
#: predicted model, which the relax repairs); a chain break otherwise.
BONDED_PEPTIDE = 2.0
STRETCHED_PEPTIDE = 4.0
#: Residues with a heavy atom within this distance (Å) of a removed group's heavy atom form its pocket.
POCKET_RADIUS = 5.0
#: Common cofactors (haems, nucleotides, flavins, coenzymes), told apart from other ligands in reports.
COFACTORS = frozenset({
    "HEM", "HEC", "HEA", "HEB", "SRM", "CLA", "BCL", "NAD", "NAI", "NAP", "NDP", "FAD", "FDA", "FMN", "ATP", "ADP",
    "AMP", "ANP", "ACP", "AGS", "GTP", "GDP", "GNP", "GSP", "GCP", "GMP", "SAM", "SAH", "COA", "ACO", "PLP", "TPP",
    "BTN", "H4B", "MGD", "F3S", "SF4", "FES", "CU1", "B12", "COB",
})
#: Elements of one-atom groups reported as ions.
ION_ELEMENTS = frozenset({
    "Li", "Na", "K", "Rb", "Cs", "Mg", "Ca", "Sr", "Ba", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Cd", "Hg", "Pt", "Au",
    "Ag", "Al", "Ga", "F", "Cl", "Br", "I",
})
#: Report kinds, in the order warnings are given.
HETEROGEN_KINDS = ("ligand", "cofactor", "ion", "nucleotide", "modified residue")


@dataclass(frozen=True)
class Heterogen:
    """One group that preparation removed (or, for a modified residue, replaced).

    Attributes
    ----------
    label : str
        The input's residue label, ``"A:HEM 143"``.
    res_name, chain : str
    res_id : int
    ins_code : str
    kind : {"ligand", "cofactor", "ion", "nucleotide", "modified residue"}
        Nucleotides are residues of a nucleic acid chain; cofactors are those
        named in :data:`COFACTORS`; ions are one heavy atom of an element in
        :data:`ION_ELEMENTS`; other groups are ligands.
    replaced_by : str or None
        The standard parent a modified residue became; None for removed groups.
    """

    label: str
    res_name: str
    chain: str
    res_id: int
    ins_code: str
    kind: str
    replaced_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class PreparationReport:
    """What :func:`prepare_model` changed, in words a user can check.

    Attributes
    ----------
    chains : tuple of str
        Chains kept.
    model : int
        Model used (1-based) and ``n_models`` in the input.
    n_models : int
    removed_waters : int
    removed_heterogens : dict of str to int
        Ligands and ions dropped, by residue name.
    removed_other : dict of str to int
        Other polymer residues dropped (nucleotides), by name.
    replaced_residues : tuple of (str, str)
        ``(residue label, new name)`` for modified residues replaced by their parent.
    added_atoms : tuple of (str, tuple of str)
        ``(residue label, heavy atom names)`` added by PDBFixer (OXT included).
        Residue labels in this report are the input's (``"A:MSE 32"``).
    removed_atoms : tuple of (str, tuple of str)
        Heavy atoms removed: those of modified residues that their parent
        lacks (CAS's AS, CE1, CE2), and atoms of standard residues that their
        template does not know.
    n_hydrogens : int
        Hydrogens in the prepared model (all input hydrogens are replaced).
    chain_breaks : tuple of str
        ``"A:LYS 137 | A:ASP 144"``: residue pairs between which the chain was split.
    ph : float
    heterogens : tuple of Heterogen
        Every ligand, cofactor, ion and nucleotide removed and modified residue
        replaced, in input order (waters are only counted).
    pocket_residues : tuple of str
        Prepared residues within ``pocket_radius`` of a removed group
        (ligand, cofactor, ion or nucleotide), labelled as in ``residue_labels``.
    pocket_radius : float
        Å.
    """

    chains: tuple[str, ...]
    model: int = 1
    n_models: int = 1
    removed_waters: int = 0
    removed_heterogens: dict[str, int] = field(default_factory=dict)
    removed_other: dict[str, int] = field(default_factory=dict)
    replaced_residues: tuple[tuple[str, str], ...] = ()
    added_atoms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    removed_atoms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    n_hydrogens: int = 0
    chain_breaks: tuple[str, ...] = ()
    ph: float = 7.0
    heterogens: tuple[Heterogen, ...] = ()
    pocket_residues: tuple[str, ...] = ()
    pocket_radius: float = POCKET_RADIUS

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "chains": list(self.chains),
            "model": self.model,
            "n_models": self.n_models,
            "removed_waters": self.removed_waters,
            "removed_heterogens": dict(self.removed_heterogens),
            "removed_other": dict(self.removed_other),
            "replaced_residues": [{"residue": r, "to": to} for r, to in self.replaced_residues],
            "added_atoms": [{"residue": r, "atoms": list(a)} for r, a in self.added_atoms],
            "removed_atoms": [{"residue": r, "atoms": list(a)} for r, a in self.removed_atoms],
            "n_hydrogens": self.n_hydrogens,
            "chain_breaks": list(self.chain_breaks),
            "ph": self.ph,
            "heterogens": [h.to_dict() for h in self.heterogens],
            "pocket_residues": list(self.pocket_residues),
            "pocket_radius_angstrom": self.pocket_radius,
        }


def preparation_warnings(report: PreparationReport, *, kept: bool = False) -> tuple[str, ...]:
    """One warning line per kind of group that preparation removed, kept unrelaxed, or replaced.

    Parameters
    ----------
    report : PreparationReport
    kept : bool
        Ligands, cofactors and ions were copied back into the refined
        structure (``RefineConfig.keep_ligands``): say so instead of "removed".

    Returns
    -------
    tuple of str
        In :data:`HETEROGEN_KINDS` order; empty when nothing was removed or replaced.

    Examples
    --------
    >>> gdp = Heterogen("A:GDP 301", "GDP", "A", 301, "", "cofactor")
    >>> preparation_warnings(PreparationReport(chains=("A",), heterogens=(gdp,)))[0].split(":")[0]
    'removed 1 cofactor (A'
    """
    lines = []
    pocket = (f"; {len(report.pocket_residues)} pocket residue(s) within {report.pocket_radius:g} Å restrained "
              "more stiffly") if report.pocket_residues else ""
    for kind in HETEROGEN_KINDS:
        groups = [h for h in report.heterogens if h.kind == kind]
        if not groups:
            continue
        n = len(groups)
        what = f"{n} {kind}{'s' if n > 1 else ''}"
        labels = _some([h.label for h in groups])
        if kind == "modified residue":
            lines.append(f"replaced {what} by the standard parent: "
                         + _some([f"{h.label} -> {h.replaced_by}" for h in groups]))
        elif kind == "nucleotide":
            lines.append(f"removed {what} ({labels}): only the protein is refined")
        elif kept:
            lines.append(f"kept {what} ({labels}) at the input coordinates, not relaxed: "
                         f"not in the force field{pocket}")
            pocket = ""  # said once
        else:
            it = "it is" if n == 1 else "they are"
            lines.append(f"removed {what} ({labels}): {it} not in the force field and not in the refined model"
                         f"{pocket}; the keep-ligands option keeps {'it' if n == 1 else 'them'}, unrelaxed")
            pocket = ""
    return tuple(lines)


@dataclass(frozen=True, eq=False)
class PreparedModel:
    """A force-field-ready model and its map back to the input structure.

    Attributes
    ----------
    topology : openmm.app.Topology
        Complete residues with hydrogens; standard residue names.
    positions : ndarray, shape=(n_atoms, 3), dtype=float64
        Coordinates in Å.
    source_atom : ndarray, shape=(n_atoms,), dtype=int64
        Index of each atom in ``input``, or -1 for atoms that preparation added.
    source_residue : ndarray, shape=(n_residues,), dtype=int64
        Index of each residue in ``input.residues``.
    residue_labels : tuple of str
        ``"A:MET 32"`` per prepared residue: the input's chain, number and
        insertion code with the prepared residue name.
    input : Structure
        The structure that was prepared (first model).
    report : PreparationReport
    pocket : ndarray, shape=(m,), dtype=int64
        Prepared residues within ``POCKET_RADIUS`` of a removed ligand,
        cofactor, ion or nucleotide (sorted).
    ligand_atoms : ndarray, shape=(k,), dtype=int64
        Atoms of ``input`` in the removed ligands, cofactors and ions: what
        ``to_structure(..., ligands=True)`` copies back.
    """

    topology: app.Topology
    positions: np.ndarray
    source_atom: np.ndarray
    source_residue: np.ndarray
    residue_labels: tuple[str, ...]
    input: Structure
    report: PreparationReport
    pocket: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ligand_atoms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def n_atoms(self) -> int:
        """Number of atoms, hydrogens included."""
        return int(self.positions.shape[0])

    @property
    def positions_nm(self) -> unit.Quantity:
        """Positions as an OpenMM quantity in nanometres."""
        return unit.Quantity(self.positions / 10.0, unit.nanometer)

    @cached_property
    def residue_of_atom(self) -> np.ndarray:
        """Prepared residue index of each atom, shape ``(n_atoms,)``, int64."""
        return np.fromiter((a.residue.index for a in self.topology.atoms()), dtype=np.int64,
                           count=self.topology.getNumAtoms())

    @cached_property
    def heavy(self) -> np.ndarray:
        """Mask of non-hydrogen atoms, shape ``(n_atoms,)``, bool."""
        return np.fromiter((a.element is not None and a.element.symbol not in ("H", "D")
                            for a in self.topology.atoms()), dtype=bool, count=self.topology.getNumAtoms())

    def to_structure(self, positions: np.ndarray | None = None, *, hydrogens: bool = True,
                     ligands: bool = False) -> Structure:
        """The prepared model (or coordinates of it) as a Structure with the input's numbering and B-factors.

        Parameters
        ----------
        positions : ndarray, shape=(n_atoms, 3), optional
            Coordinates in Å of every prepared atom, in topology order (a
            refinement's result); default: :attr:`positions`.
        hydrogens : bool
            Keep the hydrogens (default), or return heavy atoms only.
        ligands : bool
            Append the input's ligands, cofactors and ions (:attr:`ligand_atoms`)
            after the protein, exactly as they were in the input: input
            coordinates, names, B-factors, HETATM flags (their hydrogens only
            with ``hydrogens``).

        Returns
        -------
        Structure
            Chain ids, residue numbers and insertion codes are the input's;
            atoms from the input keep their B-factor and occupancy, atoms that
            preparation added get their input residue's CA B-factor (else the
            residue's mean) and occupancy 1; no protein atom is a heteroatom.
        """
        xyz = self.positions if positions is None else np.asarray(positions)
        if xyz.shape != (self.n_atoms, 3):
            raise ValueError(f"positions must have shape ({self.n_atoms}, 3), got {xyz.shape}")
        source = self.source_atom
        inp = self.input
        out = from_openmm(self.topology, unit.Quantity(xyz, unit.angstrom), name=inp.name)
        residue = self.source_residue[self.residue_of_atom]
        res_table = inp.residues
        has_source = source >= 0
        b_factor = np.where(has_source, inp.b_factor[np.maximum(source, 0)], _residue_b_factors(inp)[residue])
        occupancy = np.where(has_source, inp.occupancy[np.maximum(source, 0)], 1.0)
        structure = dataclasses.replace(
            out,
            chain_id=res_table.chain_id[residue],
            res_id=res_table.res_id[residue],
            ins_code=res_table.ins_code[residue],
            b_factor=b_factor,
            occupancy=occupancy,
            hetero=np.zeros(out.n_atoms, dtype=bool),
        )
        structure = structure if hydrogens else structure.select(self.heavy)
        if not ligands or not self.ligand_atoms.size:
            return structure
        groups = self.input.select(self.ligand_atoms)
        if not hydrogens:
            groups = groups.select(~np.isin(groups.element, ("H", "D")))
        return _concatenate(structure, groups)


def _concatenate(first: Structure, second: Structure) -> Structure:
    """The atoms of ``first`` then those of ``second`` (single models), named as ``first``."""
    names = ("coords", "atom_name", "element", "res_name", "res_id", "ins_code", "chain_id", "b_factor", "occupancy",
             "hetero")
    fields: dict[str, Any] = {n: np.concatenate([getattr(first, n), getattr(second, n)]) for n in names}
    return Structure(**fields, name=first.name)


def _residue_b_factors(structure: Structure) -> np.ndarray:
    """B-factor of each residue: its CA's, else the mean of its atoms; shape ``(n_residues,)``, float32."""
    starts = structure.residue_starts
    if not len(structure.residues):
        return np.zeros(0, np.float32)
    return np.array([
        structure.b_factor[start:stop][structure.atom_name[start:stop] == "CA"][0]
        if np.any(structure.atom_name[start:stop] == "CA") else structure.b_factor[start:stop].mean()
        for start, stop in itertools.pairwise(starts)
    ], dtype=np.float32)


def find_chain_breaks(structure: Structure) -> np.ndarray:
    """Residues that start a new chain segment because the backbone before them is broken.

    Two residues that follow each other in a chain are peptide-bonded when
    C(i)-N(i+1) is at most ``BONDED_PEPTIDE`` (2.0 Å), or at most
    ``STRETCHED_PEPTIDE`` (4.0 Å) with consecutive residue numbers (a stretched
    bond in a predicted model, which the relax pulls back). Anything else, or a
    missing C or N, is a break: missing residues, or numbering that skips.
    Only pairs of amino acids are considered.

    Parameters
    ----------
    structure : Structure

    Returns
    -------
    ndarray, dtype=int64
        Indices into ``structure.residues`` of residues that begin a segment
        (never the first residue of a chain).
    """
    residues = structure.residues
    starts = structure.residue_starts
    breaks = []
    for r in range(len(residues) - 1):
        if residues.chain_id[r] != residues.chain_id[r + 1]:
            continue
        if not (is_amino_acid(str(residues.res_name[r])) and is_amino_acid(str(residues.res_name[r + 1]))):
            continue
        c = _find_atom(structure, starts[r], starts[r + 1], "C")
        n = _find_atom(structure, starts[r + 1], starts[r + 2], "N")
        if c < 0 or n < 0:
            breaks.append(r + 1)
            continue
        distance = float(np.linalg.norm(structure.coords[c].astype(np.float64) - structure.coords[n]))
        consecutive = 0 <= int(residues.res_id[r + 1]) - int(residues.res_id[r]) <= 1
        if not (distance <= BONDED_PEPTIDE or (consecutive and distance <= STRETCHED_PEPTIDE)):
            breaks.append(r + 1)
    return np.asarray(breaks, dtype=np.int64)


def _find_atom(structure: Structure, begin: int, end: int, name: str) -> int:
    hits = np.flatnonzero(structure.atom_name[begin:end] == name)
    return int(begin + hits[0]) if hits.size else -1


def _parent(res_name: str) -> str | None:
    """Standard parent of a modified amino acid, or None if unknown."""
    if res_name in _PDBFIXER_SUBSTITUTIONS:
        return _PDBFIXER_SUBSTITUTIONS[res_name]
    return _ONE_TO_THREE.get(one_letter_code(res_name) or "")


def prepare_model(
    structure: Structure,
    *,
    chains: tuple[str, ...] | list[str] | None = None,
    ph: float = 7.0,
    forcefield: app.ForceField | None = None,
    platform: mm.Platform | None = None,
    seed: int = 0,
) -> PreparedModel:
    """Repair ``structure`` for the force field; see the module docstring for the steps.

    Parameters
    ----------
    structure : Structure
        Any structure; for an ensemble the first model is used.
    chains : sequence of str, optional
        Chains to keep (default: every chain with amino acids).
    ph : float
        pH for protonation states (default 7.0).
    forcefield : openmm.app.ForceField, optional
        Force field used to place hydrogens (default: Amber ff14SB, the one
        the refinement uses).
    platform : openmm.Platform, optional
        Platform for PDBFixer's small minimisations of added atoms.
    seed : int
        Seed for the random start positions of hydrogens and added atoms.

    Returns
    -------
    PreparedModel

    Raises
    ------
    StructureFormatError
        For unknown (``X``) residues, residues without N, CA and C, an unknown
        chain, or nothing left to refine; the message names the residues.
    """
    source = structure.name or "<structure>"
    first = _first_model(structure, chains, source)
    selection = _select_protein(first, None if chains is None else [str(c) for c in chains])
    _refuse_unrepairable(selection, source)
    kept = _keep_selected(first, selection)
    fixer = _load_fixer(kept, platform)
    replaced, removed_atoms = _replace_modified_residues(fixer, kept, first, selection.parents)
    removed_atoms += _remove_unknown_atoms(fixer, kept.labels)
    added = _add_missing_atoms(fixer, kept, ph=ph, forcefield=forcefield, seed=seed)
    coords, source_atom = _restore_input_coordinates(fixer, kept, first)
    labels = _restore_input_ids(fixer, kept, first)
    report = PreparationReport(
        chains=tuple(dict.fromkeys(str(c) for c in kept.structure.chain_id)),
        model=1,
        n_models=structure.n_models,
        removed_waters=selection.waters,
        removed_heterogens=dict(sorted(selection.heterogens.items())),
        removed_other=dict(sorted(selection.other.items())),
        replaced_residues=replaced,
        added_atoms=tuple((kept.labels[k], tuple(v)) for k, v in sorted(added.items())),
        removed_atoms=removed_atoms,
        n_hydrogens=sum(1 for a in fixer.topology.atoms() if a.element is not None and a.element.symbol == "H"),
        chain_breaks=tuple(f"{kept.labels[b - 1]} | {kept.labels[b]}" for b in kept.breaks),
        ph=float(ph),
        heterogens=_heterogens(first, selection),
    )
    prepared = PreparedModel(topology=fixer.topology, positions=coords, source_atom=source_atom,
                             source_residue=kept.residue_source, residue_labels=labels, input=first, report=report)
    pocket, ligand_atoms = _pocket(first, selection, prepared.heavy, source_atom, prepared.residue_of_atom)
    report = dataclasses.replace(report, pocket_residues=tuple(labels[r] for r in pocket.tolist()))
    return dataclasses.replace(prepared, report=report, pocket=pocket, ligand_atoms=ligand_atoms)


#: ``from workbench.refine.prepare import prepare`` keeps working; the package exports ``prepare_model``
#: only, so that the name ``workbench.refine.prepare`` is this module.
prepare = prepare_model


@dataclass
class _Selection:
    """What step 1 chose from the first model, and what step 2 will refuse.

    Attributes
    ----------
    keep : ndarray, shape=(n_atoms,), dtype=bool
        Heavy atoms of the amino-acid residues to prepare (atoms of the first model).
    parents : dict of int to str
        Input residue index -> standard parent name, for modified residues.
    waters : int
    heterogens, other : Counter of str
        Dropped ligands and ions; dropped other polymer residues (nucleotides).
    unknown_residues : list of str
        Labels of unknown amino acids (``X``).
    no_backbone : list of str
        ``"A:GLY 5 (no N, CA)"`` for residues without a complete backbone.
    groups : list of (int, str)
        ``(input residue index, kind)`` of each removed group but water (kinds
        of :class:`Heterogen`), in input order.
    """

    keep: np.ndarray
    parents: dict[int, str] = field(default_factory=dict)
    waters: int = 0
    heterogens: Counter[str] = field(default_factory=Counter)
    other: Counter[str] = field(default_factory=Counter)
    unknown_residues: list[str] = field(default_factory=list)
    no_backbone: list[str] = field(default_factory=list)
    groups: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Kept:
    """The selected atoms as a structure, split into segments and capped, with their map to the input.

    Attributes
    ----------
    structure : Structure
        Selected heavy atoms (MSE's SE named SD), OXT added at segment ends.
    source : ndarray, shape=(structure.n_atoms,), dtype=int64
        Atom index in the first model, -1 for an added OXT.
    residue_source : ndarray, shape=(n_residues,), dtype=int64
        Residue index in the first model.
    breaks : ndarray, dtype=int64
        Residues that begin a new segment (:func:`find_chain_breaks`).
    oxt_added : list of int
        Residues that received an OXT.
    labels : list of str
        The input's label of each residue (``"A:MSE 32"``).
    """

    structure: Structure
    source: np.ndarray
    residue_source: np.ndarray
    breaks: np.ndarray
    oxt_added: list[int]
    labels: list[str]


def _first_model(structure: Structure, chains: tuple[str, ...] | list[str] | None, source: str) -> Structure:
    """Step 1a: the first model, after checking that the requested chains exist.

    Parameters
    ----------
    structure : Structure
    chains : sequence of str, optional
    source : str
        Name for error messages.

    Returns
    -------
    Structure
        ``structure`` itself when it has a single model.

    Raises
    ------
    StructureFormatError
        When a requested chain is not in the structure.
    """
    first = structure.model(0) if structure.n_models > 1 else structure
    if chains is not None:
        unknown = [c for c in (str(c) for c in chains) if c not in first.chains]
        if unknown:
            raise StructureFormatError(f"chain(s) {unknown} not found; the structure has {list(first.chains)}",
                                       source=source)
    return first


def _select_protein(first: Structure, wanted: list[str] | None) -> _Selection:
    """Step 1b: keep the heavy atoms of the amino acids of the wanted chains; count what is dropped.

    Waters, ligands and ions, and other polymer residues are counted by name.
    Unknown amino acids and residues without N, CA and C are recorded for
    :func:`_refuse_unrepairable`, not kept.

    Parameters
    ----------
    first : Structure
        One model.
    wanted : list of str or None
        Chains to keep (None: all).

    Returns
    -------
    _Selection
    """
    residues = first.residues
    starts = first.residue_starts
    selection = _Selection(keep=np.zeros(first.n_atoms, dtype=bool))
    for r in range(len(residues)):
        if wanted is not None and str(residues.chain_id[r]) not in wanted:
            continue
        name = str(residues.res_name[r])
        if is_water(name):
            selection.waters += 1
            continue
        code = one_letter_code(name)
        if code is None:
            selection.heterogens[name] += 1
            selection.groups.append((r, _group_kind(name, first.element[starts[r]:starts[r + 1]])))
            continue
        if not is_amino_acid(name):
            selection.other[name] += 1
            selection.groups.append((r, "nucleotide"))
            continue
        label = residues.label(r)
        if name not in STANDARD_AMINO_ACIDS:
            parent = _parent(name)
            if parent is None or code == "X":
                selection.unknown_residues.append(label)
                continue
            selection.parents[r] = parent
        atoms = np.arange(starts[r], starts[r + 1])
        heavy = atoms[~np.isin(first.element[atoms], ("H", "D"))]
        names = {normalise_names(name, str(first.atom_name[i]))[1] for i in heavy}
        missing = [a for a in _BACKBONE if a not in names]
        if missing:
            selection.no_backbone.append(f"{label} (no {', '.join(missing)})")
            continue
        selection.keep[heavy] = True
    return selection


def _group_kind(res_name: str, elements: np.ndarray) -> str:
    """``"ion"`` (one heavy atom of :data:`ION_ELEMENTS`), ``"cofactor"`` (in :data:`COFACTORS`) or ``"ligand"``."""
    heavy = [str(e).capitalize() for e in elements if str(e).upper() not in ("H", "D")]
    if len(heavy) == 1 and heavy[0] in ION_ELEMENTS:
        return "ion"
    return "cofactor" if res_name.upper() in COFACTORS else "ligand"


def _heterogens(first: Structure, selection: _Selection) -> tuple[Heterogen, ...]:
    """Records of the removed groups and the replaced modified residues, in input order."""
    residues = first.residues
    kinds = dict(selection.groups)
    kinds.update(dict.fromkeys(selection.parents, "modified residue"))
    return tuple(
        Heterogen(label=residues.label(r), res_name=str(residues.res_name[r]), chain=str(residues.chain_id[r]),
                  res_id=int(residues.res_id[r]), ins_code=str(residues.ins_code[r]), kind=kind,
                  replaced_by=selection.parents.get(r))
        for r, kind in sorted(kinds.items())
    )


def _pocket(first: Structure, selection: _Selection, heavy: np.ndarray, source_atom: np.ndarray,
            residue_of_atom: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 7: prepared residues near a removed group, and the input atoms of the groups to keep.

    Parameters
    ----------
    first : Structure
        The prepared model's input.
    selection : _Selection
    heavy, source_atom, residue_of_atom : ndarray, shape=(n_prepared_atoms,)
        Of the prepared model.

    Returns
    -------
    pocket : ndarray, dtype=int64
        Sorted prepared residues with an input heavy atom within ``POCKET_RADIUS``
        Å of a heavy atom of a removed ligand, cofactor, ion or nucleotide.
    ligand_atoms : ndarray, dtype=int64
        Input atoms (hydrogens included) of the removed ligands, cofactors and ions.
    """
    from scipy.spatial import cKDTree

    residue_index = first.residue_index
    removed = np.isin(residue_index, [r for r, _ in selection.groups])
    ligand = np.isin(residue_index, [r for r, kind in selection.groups if kind != "nucleotide"])
    removed_heavy = np.flatnonzero(removed & ~np.isin(first.element, ("H", "D")))
    protein = np.flatnonzero(heavy & (source_atom >= 0))
    if not removed_heavy.size or not protein.size:
        return np.zeros(0, np.int64), np.flatnonzero(ligand).astype(np.int64)
    tree = cKDTree(first.coords[removed_heavy].astype(np.float64))
    distance, _ = tree.query(first.coords[source_atom[protein]].astype(np.float64),
                             distance_upper_bound=POCKET_RADIUS + 1e-3)
    near = protein[distance <= POCKET_RADIUS]
    return np.unique(residue_of_atom[near]).astype(np.int64), np.flatnonzero(ligand).astype(np.int64)


def _refuse_unrepairable(selection: _Selection, source: str) -> None:
    """Step 2: refuse unknown amino acids, residues without a backbone, and an empty selection.

    Parameters
    ----------
    selection : _Selection
    source : str
        Name for error messages.

    Raises
    ------
    StructureFormatError
        Naming every offending residue (up to five, then a count).
    """
    problems = []
    unknown, no_backbone = selection.unknown_residues, selection.no_backbone
    if unknown:
        what = "is an unknown amino acid" if len(unknown) == 1 else "are unknown amino acids"
        problems.append(f"{_some(unknown)} {what} (X): no force-field template exists; "
                        "remove or identify them before refining")
    if no_backbone:
        problems.append(
            f"{_some(no_backbone)} {'lacks' if len(no_backbone) == 1 else 'lack'} backbone atoms: "
            "a residue needs N, CA and C to be rebuilt"
        )
    if problems:
        raise StructureFormatError("; ".join(problems), source=source)
    if not selection.keep.any():
        raise StructureFormatError("no amino-acid residues to refine", source=source)


def _keep_selected(first: Structure, selection: _Selection) -> _Kept:
    """Steps 3a and 4: the selected atoms, SE of MSE as SD, split at chain breaks, OXT at segment ends.

    Parameters
    ----------
    first : Structure
        The model the selection was made from.
    selection : _Selection

    Returns
    -------
    _Kept
    """
    kept_atoms = np.flatnonzero(selection.keep)
    kept = first.select(kept_atoms)
    # Selenomethionine: keep SE's measured position as MET's SD.
    atom_name = kept.atom_name.copy()
    element = kept.element.copy()
    selenium = (kept.res_name == "MSE") & (atom_name == "SE")
    atom_name[selenium] = "SD"
    element[selenium] = "S"
    if selenium.any():
        kept = Structure(coords=kept.coords, atom_name=atom_name, element=element, res_name=kept.res_name,
                         res_id=kept.res_id, ins_code=kept.ins_code, chain_id=kept.chain_id,
                         b_factor=kept.b_factor, occupancy=kept.occupancy, hetero=kept.hetero, name=kept.name)
    residue_source = first.residue_index[kept_atoms[kept.residue_starts[:-1]]].astype(np.int64)
    breaks = find_chain_breaks(kept)
    kept, kept_atoms, oxt_added = _add_terminal_oxygens(kept, kept_atoms, breaks)
    labels = [kept.residues.label(r) for r in range(len(kept.residues))]
    return _Kept(kept, kept_atoms, residue_source, breaks, oxt_added, labels)


def _load_fixer(kept: _Kept, platform: mm.Platform | None) -> PDBFixer:
    """Step 4b: hand the kept atoms to PDBFixer, one OpenMM chain per segment, missing residues ignored.

    Parameters
    ----------
    kept : _Kept
    platform : openmm.Platform or None
        Made repeatable (:func:`~workbench.refine.platform.repeatable_platform`):
        the same input always gets the same added atoms.

    Returns
    -------
    pdbfixer.PDBFixer
        Read from 3-decimal PDB text with generated chain ids and residue
        numbers (:func:`_restore_input_ids` gives the input's back).
    """
    topology, positions = to_openmm(kept.structure, chain_starts=kept.breaks)
    text = io.StringIO()
    app.PDBFile.writeFile(topology, positions, text, keepIds=False)
    text.seek(0)
    fixer = PDBFixer(pdbfile=text)
    fixer.platform = repeatable_platform(platform)
    n_read = len(list(fixer.topology.residues()))
    if n_read != len(kept.structure.residues):  # pragma: no cover - guards the PDB round trip
        raise RuntimeError(f"PDBFixer read {n_read} residues, {len(kept.structure.residues)} were written")
    # A refinement keeps the input's residues: gaps are chain breaks, not residues to build.
    fixer.findMissingResidues()
    fixer.missingResidues = {}
    return fixer


def _replace_modified_residues(
    fixer: PDBFixer, kept: _Kept, first: Structure, parents: dict[int, str]
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, tuple[str, ...]], ...]]:
    """Step 3b: replace modified residues by their parents; report the replacements and the atoms lost.

    Parameters
    ----------
    fixer : pdbfixer.PDBFixer
        Modified in place.
    kept : _Kept
    first : Structure
        The model whose residue labels the report uses.
    parents : dict of int to str
        Input residue index -> parent name (:attr:`_Selection.parents`).

    Returns
    -------
    replaced : tuple of (str, str)
        ``(input residue label, parent name)``.
    removed_atoms : tuple of (str, tuple of str)
        Atoms of the modified residues that their parent lacks.
    """
    residues = list(fixer.topology.residues())
    fixer.nonstandardResidues = [
        (residues[k], parents[int(r)]) for k, r in enumerate(kept.residue_source) if int(r) in parents
    ]
    table = first.residues
    replaced = tuple((table.label(int(kept.residue_source[res.index])), to) for res, to in fixer.nonstandardResidues)
    names_before = {res.index: [a.name for a in res.atoms()] for res, _ in fixer.nonstandardResidues}
    fixer.replaceNonstandardResidues()
    dropped = {}
    for res in fixer.topology.residues():
        if res.index in names_before:
            kept_names = {a.name for a in res.atoms()}
            gone = [n for n in names_before[res.index] if n not in kept_names]
            if gone:
                dropped[res.index] = gone
    return replaced, tuple((kept.labels[k], tuple(v)) for k, v in sorted(dropped.items()))


def _add_missing_atoms(
    fixer: PDBFixer, kept: _Kept, *, ph: float, forcefield: app.ForceField | None, seed: int
) -> dict[int, list[str]]:
    """Step 5: add missing heavy atoms and terminal OXT (seeded), then hydrogens for ``ph``.

    Parameters
    ----------
    fixer : pdbfixer.PDBFixer
        Modified in place.
    kept : _Kept
    ph : float
    forcefield : openmm.app.ForceField or None
        For the hydrogens (default: Amber ff14SB in vacuum).
    seed : int
        Seeds PDBFixer's placement of added heavy atoms and the hydrogens' start positions.

    Returns
    -------
    dict of int to list of str
        Residue index -> names of the heavy atoms added (the OXT of step 4 included).

    Raises
    ------
    ValueError
        When a residue has no force-field template; the message names it with its input label.
    """
    from workbench.refine.forcefield import load_forcefield, name_the_residue

    fixer.findMissingAtoms()
    added: dict[int, list[str]] = {k: ["OXT"] for k in kept.oxt_added}
    for res, atoms in fixer.missingAtoms.items():
        added.setdefault(res.index, []).extend(a.name for a in atoms)
    for res, names in fixer.missingTerminals.items():
        added.setdefault(res.index, []).extend(names)
    fixer.addMissingAtoms(seed=openmm_seed(seed))
    with _seeded_modeller_random(seed):
        try:
            fixer.addMissingHydrogens(ph, forcefield=forcefield or load_forcefield("vacuum"))
        except ValueError as exc:  # OpenMM's "No template found for residue 0 (ARG)"
            raise ValueError(name_the_residue(str(exc), kept.labels)) from None
    if fixer.topology.getNumResidues() != len(kept.structure.residues):  # pragma: no cover
        raise RuntimeError("PDBFixer changed the number of residues")
    return added


def _restore_input_coordinates(fixer: PDBFixer, kept: _Kept, first: Structure) -> tuple[np.ndarray, np.ndarray]:
    """Step 6a: map every prepared heavy atom to its input atom by (residue, name) and restore its coordinates.

    PDBFixer read 3-decimal PDB text and may have moved nothing, but the
    input's full-precision coordinates are what a refinement must start from.

    Parameters
    ----------
    fixer : pdbfixer.PDBFixer
    kept : _Kept
    first : Structure
        The model the atoms came from.

    Returns
    -------
    coords : ndarray, shape=(n_atoms, 3), dtype=float64
        Prepared positions in Å, input atoms at their input coordinates.
    source_atom : ndarray, shape=(n_atoms,), dtype=int64
        Input atom of each prepared atom, -1 for added atoms and hydrogens.
    """
    lookup: dict[tuple[int, str], int] = {}
    structure = kept.structure
    starts = structure.residue_starts
    for k in range(len(structure.residues)):
        res_name = str(structure.res_name[starts[k]])
        for i in range(starts[k], starts[k + 1]):
            if kept.source[i] >= 0:
                lookup[(k, normalise_names(res_name, str(structure.atom_name[i]))[1])] = int(kept.source[i])
    coords = np.asarray(fixer.positions.value_in_unit(unit.angstrom), dtype=np.float64)
    source_atom = np.full(len(coords), -1, dtype=np.int64)
    for atom in fixer.topology.atoms():
        index = lookup.get((atom.residue.index, atom.name), -1)
        if index >= 0 and atom.element is not None and atom.element.symbol != "H":
            source_atom[atom.index] = index
            coords[atom.index] = first.coords[index]
    return coords, source_atom


def _restore_input_ids(fixer: PDBFixer, kept: _Kept, first: Structure) -> tuple[str, ...]:
    """Step 6b: give the prepared topology the input's chain ids, residue numbers and insertion codes.

    The PDB text PDBFixer read had generated ids.

    Parameters
    ----------
    fixer : pdbfixer.PDBFixer
        Its topology is modified in place.
    kept : _Kept
    first : Structure

    Returns
    -------
    tuple of str
        ``"A:MET 32"`` per prepared residue: input chain, number and
        insertion code with the prepared residue name.
    """
    table = first.residues
    prepared_residues = list(fixer.topology.residues())
    for res, r in zip(prepared_residues, kept.residue_source, strict=True):
        res.chain.id = str(table.chain_id[r])
        res.id = str(int(table.res_id[r]))
        res.insertionCode = str(table.ins_code[r])
    return tuple(
        f"{table.chain_id[r]}:{res.name} {table.res_id[r]}{table.ins_code[r]}"
        for res, r in zip(prepared_residues, kept.residue_source, strict=True)
    )


def _add_terminal_oxygens(
    kept: Structure, source: np.ndarray, breaks: np.ndarray
) -> tuple[Structure, np.ndarray, list[int]]:
    """Add the OXT of every segment's last residue that has CA, C and O but no OXT.

    OXT goes in the CA-C-O plane, 1.25 Å from C, opposite the bisector of C->CA
    and C->O (sp2 geometry); the minimisation finishes the job. Doing it here
    spares PDBFixer's ``addMissingAtoms`` a force field, a system and a
    minimisation for the one repair every predicted model needs (measured:
    0.65 s of 1.4 s for the 130-residue ColabFold model).

    Returns
    -------
    structure : Structure
        ``kept`` with the OXT atoms inserted at the end of their residues.
    source : ndarray, dtype=int64
        ``source`` with -1 inserted for the new atoms.
    residues : list of int
        Residue indices that received an OXT.
    """
    residues = kept.residues
    starts = kept.residue_starts
    n_res = len(residues)
    is_end = np.zeros(n_res, dtype=bool)
    is_end[-1] = True
    is_end[:-1] |= residues.chain_id[1:] != residues.chain_id[:-1]
    is_end[np.asarray(breaks, dtype=np.int64) - 1] = True
    inserts: list[tuple[int, np.ndarray]] = []
    residues_done = []
    for r in np.flatnonzero(is_end).tolist():
        names = [normalise_names(str(residues.res_name[r]), str(n))[1] for n in kept.atom_name[starts[r]:starts[r + 1]]]
        if "OXT" in names or not all(a in names for a in ("CA", "C", "O")):
            continue
        at = {a: kept.coords[starts[r] + names.index(a)].astype(np.float64) for a in ("CA", "C", "O")}
        to_ca = (at["CA"] - at["C"]) / np.linalg.norm(at["CA"] - at["C"])
        to_o = (at["O"] - at["C"]) / np.linalg.norm(at["O"] - at["C"])
        direction = -(to_ca + to_o)
        norm = np.linalg.norm(direction)
        if norm < 1e-6:
            continue
        inserts.append((int(starts[r + 1]), at["C"] + 1.25 * direction / norm))
        residues_done.append(r)
    if not inserts:
        return kept, source, []
    rows = [i for i, _ in inserts]
    template = np.array(rows) - 1  # copy annotations from the residue's last atom
    fields = {}
    for name in ("atom_name", "element", "res_name", "res_id", "ins_code", "chain_id", "b_factor", "occupancy",
                 "hetero"):
        values = getattr(kept, name)
        extra = values[template].copy()
        if name == "atom_name":
            extra[:] = "OXT"
        elif name == "element":
            extra[:] = "O"
        fields[name] = np.insert(values, rows, extra)
    coords = np.insert(kept.coords, rows, np.array([xyz for _, xyz in inserts], dtype=np.float32), axis=0)
    new = Structure(coords=coords, name=kept.name, atom_name=fields["atom_name"], element=fields["element"],
                    res_name=fields["res_name"], res_id=fields["res_id"], ins_code=fields["ins_code"],
                    chain_id=fields["chain_id"], b_factor=fields["b_factor"], occupancy=fields["occupancy"],
                    hetero=fields["hetero"])
    return new, np.insert(np.asarray(source, dtype=np.int64), rows, -1), residues_done


def _remove_unknown_atoms(fixer: PDBFixer, labels: list[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Delete atoms of standard residues that the residue's template does not have (OXT allowed)."""
    doomed = []
    removed: dict[int, list[str]] = {}
    for residue in fixer.topology.residues():
        template = fixer.templates.get(residue.name)
        if template is None:
            continue
        allowed = {a.name for a in template.topology.atoms()} | {"OXT"}
        for atom in residue.atoms():
            if atom.name not in allowed:
                doomed.append(atom)
                removed.setdefault(residue.index, []).append(atom.name)
    if doomed:
        modeller = app.Modeller(fixer.topology, fixer.positions)
        modeller.delete(doomed)
        fixer.topology = modeller.topology
        fixer.positions = modeller.positions
    return tuple((labels[k], tuple(v)) for k, v in sorted(removed.items()))


def _some(labels: list[str], limit: int = 5) -> str:
    """``"A:UNK 5, A:UNK 6"`` with a count of the rest past ``limit``."""
    shown = ", ".join(labels[:limit])
    return shown if len(labels) <= limit else f"{shown} and {len(labels) - limit} more"


_MODELLER_RANDOM = threading.Lock()


@contextlib.contextmanager
def _seeded_modeller_random(seed: int) -> Iterator[None]:
    """Give OpenMM's Modeller a private, seeded random generator for one call.

    ``Modeller.addHydrogens`` starts hydrogens at positions drawn from Python's
    global ``random``. Seeding the global generator is not enough inside a Dask
    worker, whose event-loop thread draws from it too, between our draws: the
    same input then got different hydrogens from run to run. The module's
    ``random`` is swapped for a ``random.Random(seed)`` for the call, under a lock
    so that two threads never swap it at once.
    """
    modeller: Any = importlib.import_module("openmm.app.modeller")  # the module, not the Modeller class
    with _MODELLER_RANDOM:
        shared = modeller.random
        modeller.random = random.Random(seed)
        try:
            yield
        finally:
            modeller.random = shared
