"""Build a variant model on a template: substitute residues, rebuild loops with PDBFixer.

The model this module builds is the *unrelaxed* variant: template coordinates
for every residue the variant shares with the template, the backbone and the
side-chain atoms the two residue types have in common for substitutions (the
rest is added by :func:`workbench.refine.prepare` during the relax, and not
restrained there), and PDBFixer-built residues for the loop stretches around
insertions and deletions (:class:`~workbench.predict.template_align.RebuildWindow`).
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass

import numpy as np
import openmm as mm
import openmm.unit as unit
from pdbfixer import PDBFixer
from pdbfixer.pdbfixer import substitutions as _PDBFIXER_SUBSTITUTIONS

from workbench.io.openmm import from_openmm
from workbench.io.structure_writer import format_pdb
from workbench.predict.template_align import ChainAlignment, RebuildWindow, TemplateRefusal
from workbench.refine.forcefield import create_system
from workbench.refine.platform import openmm_seed, repeatable_platform, select_platform
from workbench.refine.prepare import prepare
from workbench.residues import STANDARD_AMINO_ACIDS, one_letter_code
from workbench.structure import Structure

__all__ = ["HEAVY_ATOMS", "ONE_TO_THREE", "ResidueBlock", "VariantPlan", "build_variant", "kept_atoms", "standardise"]

ONE_TO_THREE: dict[str, str] = {
    code: name for name in STANDARD_AMINO_ACIDS if (code := one_letter_code(name)) is not None
}

#: Heavy atoms of the standard amino acids (PDB names, no OXT).
HEAVY_ATOMS: dict[str, tuple[str, ...]] = {
    "ALA": ("N", "CA", "C", "O", "CB"),
    "ARG": ("N", "CA", "C", "O", "CB", "CG", "CD", "NE", "CZ", "NH1", "NH2"),
    "ASN": ("N", "CA", "C", "O", "CB", "CG", "OD1", "ND2"),
    "ASP": ("N", "CA", "C", "O", "CB", "CG", "OD1", "OD2"),
    "CYS": ("N", "CA", "C", "O", "CB", "SG"),
    "GLN": ("N", "CA", "C", "O", "CB", "CG", "CD", "OE1", "NE2"),
    "GLU": ("N", "CA", "C", "O", "CB", "CG", "CD", "OE1", "OE2"),
    "GLY": ("N", "CA", "C", "O"),
    "HIS": ("N", "CA", "C", "O", "CB", "CG", "ND1", "CD2", "CE1", "NE2"),
    "ILE": ("N", "CA", "C", "O", "CB", "CG1", "CG2", "CD1"),
    "LEU": ("N", "CA", "C", "O", "CB", "CG", "CD1", "CD2"),
    "LYS": ("N", "CA", "C", "O", "CB", "CG", "CD", "CE", "NZ"),
    "MET": ("N", "CA", "C", "O", "CB", "CG", "SD", "CE"),
    "PHE": ("N", "CA", "C", "O", "CB", "CG", "CD1", "CD2", "CE1", "CE2", "CZ"),
    "PRO": ("N", "CA", "C", "O", "CB", "CG", "CD"),
    "SER": ("N", "CA", "C", "O", "CB", "OG"),
    "THR": ("N", "CA", "C", "O", "CB", "OG1", "CG2"),
    "TRP": ("N", "CA", "C", "O", "CB", "CG", "CD1", "CD2", "NE1", "CE2", "CE3", "CZ2", "CZ3", "CH2"),
    "TYR": ("N", "CA", "C", "O", "CB", "CG", "CD1", "CD2", "CE1", "CE2", "CZ", "OH"),
    "VAL": ("N", "CA", "C", "O", "CB", "CG1", "CG2"),
}
_BACKBONE = ("N", "CA", "C", "O")
#: C(i)-N(i+1) distance (Å) above which a rebuilt loop counts as not closed
#: (:data:`workbench.refine.prepare.BONDED_PEPTIDE`).
MAX_PEPTIDE = 2.0


@dataclass(frozen=True, eq=False)
class ResidueBlock:
    """One residue of a model under construction.

    Attributes
    ----------
    chain_id, res_name, ins_code : str
    res_id : int
    atom_name, element : tuple of str
    coords : ndarray, shape=(n_atoms, 3), dtype=float32
        Empty for a residue that PDBFixer builds.
    state : {"identical", "substituted", "rebuilt"}
        How the residue relates to the template.
    template_index : int
        Index of the template residue it comes from (into the template chain), -1 if none.
    """

    chain_id: str
    res_name: str
    res_id: int
    ins_code: str
    atom_name: tuple[str, ...]
    element: tuple[str, ...]
    coords: np.ndarray
    state: str
    template_index: int

    @property
    def key(self) -> tuple[str, int, str]:
        """``(chain, number, insertion code)``."""
        return self.chain_id, self.res_id, self.ins_code


@dataclass(frozen=True, eq=False)
class VariantPlan:
    """The residues of a variant in chain order and the loops to rebuild."""

    blocks: tuple[ResidueBlock, ...]
    windows: tuple[RebuildWindow, ...]


def standardise(res_name: str, atom_name: np.ndarray) -> tuple[str, np.ndarray]:
    """Parent residue name of a modified residue and the mask of atoms the parent has.

    Selenomethionine's SE is kept (as MET's SD, the way AlphaFold2's relax does);
    other atoms the parent lacks are dropped (CAS's AS, CE1, CE2).

    Parameters
    ----------
    res_name : str
    atom_name : ndarray, shape=(n,), dtype=str

    Returns
    -------
    name : str
    keep : ndarray, shape=(n,), dtype=bool
    """
    if res_name in HEAVY_ATOMS:
        return res_name, np.ones(len(atom_name), dtype=bool)
    parent = _PDBFIXER_SUBSTITUTIONS.get(res_name) or ONE_TO_THREE.get(one_letter_code(res_name) or "")
    if parent is None or parent not in HEAVY_ATOMS:
        raise TemplateRefusal(f"template residue {res_name} has no standard parent amino acid")
    names = np.where((res_name == "MSE") & (atom_name == "SE"), "SD", atom_name)
    return parent, np.isin(names, HEAVY_ATOMS[parent])


def kept_atoms(old: str, new: str) -> tuple[str, ...]:
    """Template atoms a substitution ``old`` -> ``new`` keeps.

    The backbone always; side-chain atoms whose names both residues share (they
    sit at the same place in the side-chain graph: N155H keeps CB and CG); only
    up to CB when either residue is proline (its CD is bonded to N) or glycine.

    Examples
    --------
    >>> kept_atoms("ASN", "HIS")
    ('N', 'CA', 'C', 'O', 'CB', 'CG')
    >>> kept_atoms("PRO", "ARG")
    ('N', 'CA', 'C', 'O', 'CB')
    """
    if "PRO" in (old, new) or "GLY" in (old, new):
        return tuple(a for a in HEAVY_ATOMS[new] if a in _BACKBONE or (a == "CB" and a in HEAVY_ATOMS[old]))
    return tuple(a for a in HEAVY_ATOMS[new] if a in HEAVY_ATOMS[old])


def plan_variant(template: Structure, chain_residues: dict[str, np.ndarray], alignments: list[ChainAlignment],
                 windows: list[RebuildWindow]) -> VariantPlan:
    """The residues of the variant: copied, substituted, or to be rebuilt.

    Parameters
    ----------
    template : Structure
        Template with only the chosen chains' amino acids.
    chain_residues : dict of str to ndarray of int
        Per template chain, indices into ``template.residues`` of its residues.
    alignments : list of ChainAlignment
        One per chain, in the template's chain order.
    windows : list of RebuildWindow

    Returns
    -------
    VariantPlan
    """
    residues = template.residues
    starts = template.residue_starts
    blocks: list[ResidueBlock] = []
    for alignment in alignments:
        index = chain_residues[alignment.chain]
        in_window = np.zeros(len(alignment.query), dtype=bool)
        for w in windows:
            if w.chain == alignment.chain:
                in_window[w.query_start:w.query_stop] = True
        used = {(int(residues.res_id[r]), str(residues.ins_code[r])) for r in index}
        previous: tuple[int, str] | None = None
        for q, letter in enumerate(alignment.query):
            t = int(alignment.query_to_template[q])
            new_name = ONE_TO_THREE[letter]
            if t >= 0:
                r = int(index[t])
                number = (int(residues.res_id[r]), str(residues.ins_code[r]))
            else:
                if previous is None:
                    raise TemplateRefusal("an insertion before the first template residue cannot be numbered")
                number = _next_insertion(previous, used)
                used.add(number)
            previous = number
            if in_window[q]:
                blocks.append(ResidueBlock(alignment.chain, new_name, number[0], number[1], (), (),
                                           np.zeros((0, 3), np.float32), "rebuilt", t))
                continue
            begin, end = starts[r], starts[r + 1]
            old_name, keep = standardise(str(residues.res_name[r]), template.atom_name[begin:end])
            names = np.where((template.atom_name[begin:end] == "SE") & (str(residues.res_name[r]) == "MSE"),
                             "SD", template.atom_name[begin:end])
            if new_name != old_name:
                keep &= np.isin(names, kept_atoms(old_name, new_name))
            else:
                keep &= np.isin(names, HEAVY_ATOMS[new_name])
            elements = np.where(names == "SD", "S", template.element[begin:end])
            blocks.append(ResidueBlock(
                alignment.chain, new_name, number[0], number[1], tuple(names[keep].tolist()),
                tuple(elements[keep].tolist()), template.coords[begin:end][keep],
                "identical" if new_name == old_name else "substituted", t))
    return VariantPlan(tuple(blocks), tuple(windows))


def _next_insertion(previous: tuple[int, str], used: set[tuple[int, str]]) -> tuple[int, str]:
    """The next free insertion code after ``previous`` (``52`` -> ``52A``, ``52A`` -> ``52B``)."""
    number, code = previous
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    start = letters.index(code) + 1 if code and code in letters else 0
    for letter in letters[start:]:
        if (number, letter) not in used:
            return number, letter
    raise TemplateRefusal(f"no insertion code left after residue {number}{code}")


def blocks_to_structure(blocks: list[ResidueBlock] | tuple[ResidueBlock, ...], name: str = "") -> Structure:
    """A :class:`Structure` of the residues that have atoms."""
    atoms = [(b, i) for b in blocks for i in range(len(b.atom_name))]
    n = len(atoms)
    return Structure(
        coords=np.concatenate([b.coords for b in blocks if len(b.atom_name)]) if n else np.zeros((0, 3)),
        atom_name=np.asarray([b.atom_name[i] for b, i in atoms], dtype=str),
        element=np.asarray([b.element[i] for b, i in atoms], dtype=str),
        res_name=np.asarray([b.res_name for b, _ in atoms], dtype=str),
        res_id=np.asarray([b.res_id for b, _ in atoms], dtype=np.int32),
        ins_code=np.asarray([b.ins_code for b, _ in atoms], dtype=str),
        chain_id=np.asarray([b.chain_id for b, _ in atoms], dtype=str),
        b_factor=np.zeros(n), occupancy=np.ones(n), hetero=np.zeros(n, dtype=bool), name=name,
    )


def build_variant(plan: VariantPlan, name: str = "", seed: int = 0, platform: str | None = None,
                  threads: int | None = None) -> Structure:
    """The unrelaxed variant model: template atoms, and PDBFixer-built loops where the plan says.

    Parameters
    ----------
    plan : VariantPlan
    name : str
        Name of the structure.
    seed : int
        Seed of PDBFixer's minimisation of the added residues.
    platform, threads
        OpenMM platform name and CPU threads for the loop minimisation
        (see :func:`workbench.refine.select_platform`).

    Returns
    -------
    Structure
        Heavy atoms only; substituted residues lack the side-chain atoms
        their template residue did not have (the relax's preparation adds them).
        Rebuilt loops are PDBFixer's, then minimised in Amber ff14SB (vacuum,
        1 nm cutoff) with every other atom held fixed, so that the restrained
        relax starts from a loop without clashes or twisted peptides.

    Raises
    ------
    TemplateRefusal
        If PDBFixer does not close a rebuilt loop.
    """
    blocks = plan.blocks
    if not any(b.state == "rebuilt" for b in blocks):
        return blocks_to_structure(blocks, name)
    present = [b for b in blocks if b.state != "rebuilt"]
    fixer = PDBFixer(pdbfile=io.StringIO(format_pdb(blocks_to_structure(present, name))))
    fixer.platform = repeatable_platform(None)  # the same plan always gets the same side chains
    chain_order = [c.id for c in fixer.topology.chains()]
    if len(chain_order) != len(set(chain_order)):
        raise TemplateRefusal("the template chains could not be read back for loop building")
    missing: dict[tuple[int, int], list[str]] = {}
    pending: list[str] = []
    index_in_chain: dict[str, int] = {}
    for b in blocks:
        if b.state == "rebuilt":
            pending.append(b.res_name)
            continue
        k = index_in_chain.get(b.chain_id, 0)
        if pending:
            missing[(chain_order.index(b.chain_id), k)] = pending
            pending = []
        index_in_chain[b.chain_id] = k + 1
    if pending:
        raise TemplateRefusal("a rebuilt loop has no anchor residue after it")
    fixer.missingResidues = missing
    fixer.findMissingAtoms()
    fixer.missingAtoms = {}
    fixer.missingTerminals = {}
    fixer.addMissingAtoms(seed=openmm_seed(seed))
    built = from_openmm(fixer.topology, fixer.positions, name=name)
    if len(built.residues) != len(blocks):
        raise TemplateRefusal(f"PDBFixer built {len(built.residues)} residues, expected {len(blocks)}")
    residue = built.residue_index
    built = dataclasses.replace(
        built,
        chain_id=np.array([b.chain_id for b in blocks])[residue],
        res_id=np.array([b.res_id for b in blocks])[residue],
        ins_code=np.array([b.ins_code for b in blocks])[residue],
        hetero=np.zeros(built.n_atoms, dtype=bool),
    )
    rebuilt = np.array([b.state == "rebuilt" for b in blocks])
    _check_closed(built, rebuilt.tolist())
    return _settle_loops(built, rebuilt, seed=seed, platform=platform, threads=threads)


def _settle_loops(structure: Structure, rebuilt: np.ndarray, *, seed: int, platform: str | None,
                  threads: int | None) -> Structure:
    """Minimise the atoms of the ``rebuilt`` residues (force field, hydrogens added), all else fixed.

    Parameters
    ----------
    structure : Structure
        Heavy-atom model.
    rebuilt : ndarray, shape=(n_residues,), dtype=bool

    Returns
    -------
    Structure
        ``structure`` with new coordinates for the rebuilt residues' atoms.
    """
    prepared = prepare(structure, seed=seed)
    system = create_system(prepared.topology)
    moving = rebuilt[prepared.source_residue][prepared.residue_of_atom]
    for atom in np.flatnonzero(~moving):
        system.setParticleMass(int(atom), 0.0)  # L-BFGS holds massless particles fixed
    context = select_platform(platform, threads).context(system, mm.VerletIntegrator(0.001))
    context.setPositions(prepared.positions_nm)
    mm.LocalEnergyMinimizer.minimize(context, 1.0, 2000)
    positions = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(unit.angstrom)
    source = prepared.source_atom
    update = moving & (source >= 0)
    coords = np.array(structure.coords)
    coords[source[update]] = positions[update]
    return structure.with_coords(coords)


def _check_closed(structure: Structure, rebuilt: list[bool]) -> None:
    """Refuse when a peptide bond into or out of a rebuilt residue is longer than :data:`MAX_PEPTIDE`."""
    starts = structure.residue_starts
    residues = structure.residues
    for r in range(len(residues) - 1):
        if not (rebuilt[r] or rebuilt[r + 1]) or residues.chain_id[r] != residues.chain_id[r + 1]:
            continue
        c = starts[r] + np.flatnonzero(structure.atom_name[starts[r]:starts[r + 1]] == "C")
        n = starts[r + 1] + np.flatnonzero(structure.atom_name[starts[r + 1]:starts[r + 2]] == "N")
        distance = float(np.linalg.norm(structure.coords[c[0]] - structure.coords[n[0]])) if c.size and n.size \
            else float("inf")
        if distance > MAX_PEPTIDE:
            raise TemplateRefusal(
                f"the rebuilt loop is not closed between {residues.label(r)} and {residues.label(r + 1)} "
                f"(C-N {distance:.2f} Å)")
