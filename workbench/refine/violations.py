"""Structural violations: clashes, bond lengths and angles, peptide bonds, chirality.

The kinds of violation AlphaFold2's relax looks for
(``alphafold.model.folding.find_structural_violations``), on heavy atoms, and
one it does not (AlphaFold2's relax inverts some CA centres of noisy models
and says nothing):

- **chirality**: a chiral centre in the D configuration (:data:`CHIRAL_CENTRES`:
  CA of every amino acid but glycine, CB of Ile and Thr), its signed volume
  negative. The refinement holds every centre natural (``refine``), so a
  relax never makes a D residue; centres inverted in its input are reported
  among the violations before and repaired.

- **clash**: two heavy atoms more than three bonds apart closer than the sum
  of their van der Waals radii minus ``clash_overlap`` (1.5 Å, AlphaFold2's
  ``clash_overlap_tolerance``; radii C 1.7, N 1.55, O 1.52, S 1.8, Se 1.9 Å as in
  AlphaFold2's table). Pairs within three bonds are left to the bonded checks.
  Table and rule are :mod:`workbench.clash_rule`'s, shared with
  :func:`workbench.analysis.clashes`, which checks pairs between residues only.
- **bond**: a bond whose length is off its ideal by more than
  ``bond_tolerance`` (0.24 Å = 12 x 0.02 Å: AlphaFold2's 12-sigma tolerance with
  a typical Engh-Huber sigma).
- **angle**: a bond angle off its ideal by more than ``angle_tolerance``
  (24 degrees = 12 x 2 degrees; AlphaFold2 checks angles through 1-3 distances
  with comparable or looser bounds).
- **peptide_bond**: a C(i)-N(i+1) bond off its ideal by more than
  ``peptide_bond_tolerance`` (0.17 Å = 12 x 0.014 Å, AlphaFold2's value).
- **omega**: a peptide bond twisted more than ``omega_tolerance`` (45 degrees)
  out of plane (from 180 degrees for trans, 0 for cis), which AlphaFold2 does not
  check. MolProbity calls a peptide twisted beyond 30 degrees, a quality
  measure; 45 degrees keeps this check to gross errors like the others (the
  AlphaFold DB model in ``../shared/data/predicted`` has 13 peptides beyond
  45 degrees in its low-confidence region, which AlphaFold2's relax leaves
  twisted).

Ideal lengths and angles are the equilibrium values of the Amber ff14SB
system the refinement minimises (within 0.01-0.02 Å and 1-2 degrees of
Engh-Huber for the protein backbone), so the check needs no table of its own
and covers every residue the force field covers. The geometry kernels of
``workbench.analysis`` (issue 3, Engh-Huber) were not available when this was
written, so the checks are numpy; the clash pair search is the cell-list
kernel of :mod:`workbench.kernels.clashes`.

A residue violates when any of its atoms takes part in a violation; these are
the residues whose restraints the relax releases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as unit

from workbench.clash_rule import CLASH_RADII, clash_radii, overlapping_pairs
from workbench.refine.settings import ViolationCriteria
from workbench.structure import Structure

__all__ = ["GeometryModel", "Violation", "ViolationCriteria", "Violations", "find_violations"]

#: Van der Waals radii (Å) used for clashes: the one table, :data:`workbench.clash_rule.CLASH_RADII`.
VDW_RADII = CLASH_RADII
KINDS = ("clash", "bond", "angle", "peptide_bond", "omega", "chirality")

#: Chiral centres checked, as (centre, a, b, c): the signed volume (a - centre) . ((b - centre) x (c - centre))
#: is positive for the natural configuration: CA of every L amino acid but glycine (any residue with N, C
#: and CB), CB of L-isoleucine (2S,3S) and L-threonine (2S,3R). Checked on 1ubq, 1pga and 2lzm: positive
#: for all 275 CA, 18 Ile CB and 29 Thr CB centres, median 2.5-2.8 Å³.
CHIRAL_CENTRES: dict[str, tuple[str, str, str, str]] = {
    "*": ("CA", "N", "C", "CB"), "ILE": ("CB", "CA", "CG1", "CG2"), "THR": ("CB", "CA", "OG1", "CG2")}
NATURAL_CHIRAL_VOLUME = 2.5
"""Typical signed volume of a natural chiral centre, Å³ (the 'ideal' a chirality violation reports)."""


@dataclass(frozen=True)
class Violation:
    """One violation.

    Attributes
    ----------
    kind : str
        One of ``"clash"``, ``"bond"``, ``"angle"``, ``"peptide_bond"``, ``"omega"``, ``"chirality"``
        (a D centre: its signed volume, Å³, is negative).
    atoms : tuple of str
        Atom labels, ``"A:LYS 12 NZ"``.
    value : float
        Observed distance (Å) or angle (degrees).
    ideal : float
        Ideal value, or for clashes the closest allowed distance.
    residues : tuple of int
        Indices of the residues involved (in the checked model).
    """

    kind: str
    atoms: tuple[str, ...]
    value: float
    ideal: float
    residues: tuple[int, ...]

    def __str__(self) -> str:
        unit = {"angle": "deg", "omega": "deg", "chirality": "Å³"}.get(self.kind, "Å")
        what = "min" if self.kind == "clash" else "ideal"
        return f"{self.kind}: {' - '.join(self.atoms)} {self.value:.2f} {unit} ({what} {self.ideal:.2f})"


@dataclass(frozen=True)
class Violations:
    """The violations of one set of coordinates.

    Attributes
    ----------
    items : tuple of Violation
    residue_labels : tuple of str
        Labels of every residue in the checked model (indexable by ``Violation.residues``).
    """

    items: tuple[Violation, ...]
    residue_labels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def counts(self) -> dict[str, int]:
        """Number of violations of each kind (every kind present, zeros included)."""
        counts = dict.fromkeys(KINDS, 0)
        for item in self.items:
            counts[item.kind] += 1
        return counts

    @property
    def residue_indices(self) -> tuple[int, ...]:
        """Sorted indices of the residues that take part in any violation."""
        return tuple(sorted({r for item in self.items for r in item.residues}))

    @property
    def residues(self) -> tuple[str, ...]:
        """Labels of the residues that take part in any violation, in chain order."""
        return tuple(self.residue_labels[r] for r in self.residue_indices)

    @property
    def n_residues(self) -> int:
        """Number of violating residues."""
        return len(self.residue_indices)

    def to_dict(self, limit: int | None = 200) -> dict[str, Any]:
        """JSON-ready dictionary (at most ``limit`` individual violations listed)."""
        items = self.items if limit is None else self.items[:limit]
        return {
            "n_violations": len(self.items),
            "counts": self.counts,
            "n_residues": self.n_residues,
            "residues": list(self.residues),
            "violations": [
                {"kind": v.kind, "atoms": list(v.atoms), "value": round(v.value, 4), "ideal": round(v.ideal, 4)}
                for v in items
            ],
            "truncated": len(items) < len(self.items),
        }


class GeometryModel:
    """Bonded terms, ideal values and clash exclusions of one topology, to check coordinates against.

    Parameters
    ----------
    topology : openmm.app.Topology
        With bonds (and hydrogens, if ``system`` has them).
    system : openmm.System
        The force-field system of ``topology``: its ``HarmonicBondForce`` and
        ``HarmonicAngleForce`` give the ideal lengths and angles.
    residue_labels : sequence of str, optional
        One label per residue of ``topology`` (default ``"A:LYS 12"`` from it).
    criteria : ViolationCriteria, optional
    """

    def __init__(self, topology: app.Topology, system: mm.System, residue_labels: Sequence[str] | None = None,
                 criteria: ViolationCriteria | None = None):
        self.criteria = criteria or ViolationCriteria()
        atoms = list(topology.atoms())
        n = len(atoms)
        if system.getNumParticles() != n:
            raise ValueError(f"system has {system.getNumParticles()} particles for {n} atoms")
        residues = list(topology.residues())
        self.residue_labels = tuple(residue_labels) if residue_labels is not None else tuple(
            f"{r.chain.id}:{r.name} {r.id}{r.insertionCode.strip()}" for r in residues)
        if len(self.residue_labels) != len(residues):
            raise ValueError(f"{len(self.residue_labels)} residue labels for {len(residues)} residues")
        symbol = [a.element.symbol if a.element is not None else "" for a in atoms]
        self.heavy = np.array([s not in ("H", "D", "") for s in symbol], dtype=bool)
        self.residue = np.array([a.residue.index for a in atoms], dtype=np.int64)
        self.atom_labels = tuple(f"{self.residue_labels[a.residue.index]} {a.name}" for a in atoms)
        self.radius = clash_radii(symbol, np.float64)

        bonds, lengths, angles, thetas = [], [], [], []
        for force in system.getForces():
            if isinstance(force, mm.HarmonicBondForce):
                for b in range(force.getNumBonds()):
                    i, j, length, _ = force.getBondParameters(b)
                    if self.heavy[i] and self.heavy[j]:
                        bonds.append((i, j))
                        lengths.append(length.value_in_unit(unit.angstrom))
            elif isinstance(force, mm.HarmonicAngleForce):
                for t in range(force.getNumAngles()):
                    i, j, k, theta, _ = force.getAngleParameters(t)
                    if self.heavy[i] and self.heavy[j] and self.heavy[k]:
                        angles.append((i, j, k))
                        thetas.append(theta.value_in_unit(unit.degree))
        self.bonds = np.asarray(bonds, dtype=np.int64).reshape(-1, 2)
        self.bond_ideal = np.asarray(lengths, dtype=np.float64)
        self.angles = np.asarray(angles, dtype=np.int64).reshape(-1, 3)
        self.angle_ideal = np.asarray(thetas, dtype=np.float64)

        # Peptide bonds and omega dihedrals from the topology.
        by_name = [{a.name: a.index for a in r.atoms()} for r in residues]
        peptide, omega = [], []
        for a, b in topology.bonds():
            if a.residue.index == b.residue.index:
                continue
            if {a.name, b.name} != {"C", "N"}:
                continue
            c_atom, n_atom = (a, b) if a.name == "C" else (b, a)
            ca_prev = by_name[c_atom.residue.index].get("CA")
            ca_next = by_name[n_atom.residue.index].get("CA")
            if ca_prev is None or ca_next is None:
                continue
            peptide.append((c_atom.index, n_atom.index))
            omega.append((ca_prev, c_atom.index, n_atom.index, ca_next))
        self.peptide = np.asarray(peptide, dtype=np.int64).reshape(-1, 2)
        self.omega = np.asarray(omega, dtype=np.int64).reshape(-1, 4)
        key = {(min(i, j), max(i, j)): k for k, (i, j) in enumerate(self.bonds.tolist())}
        self.peptide_ideal = np.array(
            [self.bond_ideal[key[(min(i, j), max(i, j))]] if (min(i, j), max(i, j)) in key else 1.335
             for i, j in self.peptide.tolist()], dtype=np.float64)
        self._peptide_keys = {(min(i, j), max(i, j)) for i, j in self.peptide.tolist()}
        self.chiral = chiral_centres(residues)

        from scipy import sparse  # imported here: scipy.spatial costs 0.3 s at import

        # Heavy-atom pairs within three bonds are excluded from clashes: the
        # non-zero entries of (A + I)^3 for the heavy-atom adjacency matrix A.
        pairs = np.array([(a.index, b.index) for a, b in topology.bonds()
                          if self.heavy[a.index] and self.heavy[b.index]], dtype=np.int64).reshape(-1, 2)
        adjacency = sparse.coo_matrix((np.ones(2 * len(pairs)), (np.r_[pairs[:, 0], pairs[:, 1]],
                                                                 np.r_[pairs[:, 1], pairs[:, 0]])), shape=(n, n))
        step = (adjacency + sparse.identity(n)).tocsr()
        within = (step @ step @ step).tocoo()
        upper = within.row < within.col
        self._excluded = np.unique(within.row[upper].astype(np.int64) * n + within.col[upper])
        self.n_atoms = n

    def check(self, coords: np.ndarray) -> Violations:
        """Violations of ``coords``.

        Parameters
        ----------
        coords : ndarray, shape=(n_atoms, 3)
            Positions of every atom of the topology, in Å (hydrogens are ignored).

        Returns
        -------
        Violations
        """
        x = np.asarray(coords, dtype=np.float64).reshape(-1, 3)
        if x.shape[0] != self.n_atoms:
            raise ValueError(f"{x.shape[0]} coordinates for {self.n_atoms} atoms")
        if not np.isfinite(x).all():
            raise ValueError("coordinates are not finite")
        c = self.criteria
        items: list[Violation] = []
        res = self.residue

        def add(kind: str, index, value: float, ideal: float) -> None:
            index = [int(i) for i in index]
            items.append(Violation(kind, tuple(self.atom_labels[i] for i in index), float(value), float(ideal),
                                   tuple(sorted({int(res[i]) for i in index}))))

        # Clashes: every heavy-atom pair (each atom its own group), minus pairs within three bonds.
        heavy = np.flatnonzero(self.heavy)
        if heavy.size > 1:
            first, second, _ = overlapping_pairs(x[heavy], self.radius[heavy], np.arange(heavy.size, dtype=np.int64),
                                                 c.clash_overlap)
            lo, hi = heavy[first], heavy[second]
            keep = ~np.isin(lo * self.n_atoms + hi, self._excluded)
            lo, hi = lo[keep], hi[keep]
            # Judged again on numpy's distances, which the report shows: the kernel's
            # fast-math sums may differ from them in the last bit.
            distance = np.linalg.norm(x[lo] - x[hi], axis=1)
            limit = self.radius[lo] + self.radius[hi] - c.clash_overlap
            for k in np.flatnonzero(distance < limit):
                add("clash", (lo[k], hi[k]), distance[k], limit[k])

        # Bond lengths (peptide bonds are judged by their own, tighter, tolerance).
        if len(self.bonds):
            length = np.linalg.norm(x[self.bonds[:, 0]] - x[self.bonds[:, 1]], axis=1)
            for k in np.flatnonzero(np.abs(length - self.bond_ideal) > c.bond_tolerance):
                i, j = self.bonds[k]
                if (min(i, j), max(i, j)) not in self._peptide_keys:
                    add("bond", (i, j), length[k], self.bond_ideal[k])
        if len(self.peptide):
            length = np.linalg.norm(x[self.peptide[:, 0]] - x[self.peptide[:, 1]], axis=1)
            for k in np.flatnonzero(np.abs(length - self.peptide_ideal) > c.peptide_bond_tolerance):
                add("peptide_bond", self.peptide[k], length[k], self.peptide_ideal[k])
            omega = np.degrees(_dihedrals(x, self.omega))
            twist = np.minimum(np.abs(omega), 180.0 - np.abs(omega))
            for k in np.flatnonzero(twist > c.omega_tolerance):
                add("omega", self.omega[k], omega[k], 180.0 if abs(omega[k]) > 90 else 0.0)

        # Chirality: a centre whose signed volume turned negative is a D residue (or a wrong Ile/Thr CB).
        if len(self.chiral):
            volume = signed_volumes(x, self.chiral)
            for k in np.flatnonzero(volume < 0):
                add("chirality", self.chiral[k], volume[k], NATURAL_CHIRAL_VOLUME)

        # Bond angles.
        if len(self.angles):
            theta = np.degrees(_angles(x, self.angles))
            for k in np.flatnonzero(np.abs(theta - self.angle_ideal) > c.angle_tolerance):
                add("angle", self.angles[k], theta[k], self.angle_ideal[k])
        return Violations(tuple(items), self.residue_labels)


def chiral_centres(residues: Sequence[app.Residue]) -> np.ndarray:
    """Atom indices of every checked chiral centre (:data:`CHIRAL_CENTRES`), shape ``(m, 4)``, int64."""
    quads = []
    for residue in residues:
        index = {a.name: a.index for a in residue.atoms()}
        for key in ("*", residue.name):
            names = CHIRAL_CENTRES.get(key)
            if names is not None and all(n in index for n in names):
                quads.append([index[n] for n in names])
    return np.asarray(quads, dtype=np.int64).reshape(-1, 4)


def signed_volumes(x: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """Signed volume (a - centre) . ((b - centre) x (c - centre)) of each (centre, a, b, c), shape ``(m,)``.

    In the units of ``x`` cubed; positive for the natural configuration of :data:`CHIRAL_CENTRES`.
    """
    centre = x[quads[:, 0]]
    a, b, c = (x[quads[:, k]] - centre for k in (1, 2, 3))
    return np.einsum("ij,ij->i", a, np.cross(b, c))


def _angles(x: np.ndarray, triplets: np.ndarray) -> np.ndarray:
    """Angles (radians) at the middle atom of each triplet."""
    u = x[triplets[:, 0]] - x[triplets[:, 1]]
    v = x[triplets[:, 2]] - x[triplets[:, 1]]
    cos = np.einsum("ij,ij->i", u, v) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
    return np.arccos(np.clip(cos, -1.0, 1.0))


def _dihedrals(x: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """IUPAC dihedral angles (radians) of each quadruplet."""
    b0 = x[quads[:, 0]] - x[quads[:, 1]]
    b1 = x[quads[:, 2]] - x[quads[:, 1]]
    b2 = x[quads[:, 3]] - x[quads[:, 2]]
    b1 /= np.linalg.norm(b1, axis=1)[:, None]
    v = b0 - np.einsum("ij,ij->i", b0, b1)[:, None] * b1
    w = b2 - np.einsum("ij,ij->i", b2, b1)[:, None] * b1
    return np.arctan2(np.einsum("ij,ij->i", np.cross(b1, v), w), np.einsum("ij,ij->i", v, w))


def find_violations(structure: Structure, criteria: ViolationCriteria | None = None) -> Violations:
    """Violations of any complete protein structure (a refined model, another tool's output).

    The structure is given the force field's view: chains are split at
    backbone breaks (:func:`workbench.refine.find_chain_breaks`), hydrogens
    are added when it has none (heavy atoms are not moved, and only heavy
    atoms are checked), and Amber ff14SB supplies the ideal values.

    Parameters
    ----------
    structure : Structure
        Protein residues with all heavy atoms (waters and ligands are ignored).
    criteria : ViolationCriteria, optional

    Returns
    -------
    Violations
        Residue labels are the structure's own (``"A:LYS 12"``).

    Raises
    ------
    ValueError
        If a residue is incomplete or unknown to the force field: prepare it
        first (:func:`workbench.refine.prepare`).
    """
    from workbench.io.openmm import to_openmm
    from workbench.refine.forcefield import create_system, load_forcefield
    from workbench.refine.prepare import find_chain_breaks
    from workbench.residues import is_amino_acid

    model = structure.model(0) if structure.n_models > 1 else structure
    amino = np.array([is_amino_acid(str(n)) for n in model.residues.res_name], dtype=bool)[model.residue_index]
    protein = model.select(amino)
    if protein.n_atoms == 0:
        raise ValueError(f"{structure.name or 'structure'}: no amino-acid residues to check")
    topology, positions = to_openmm(protein, chain_starts=find_chain_breaks(protein))
    labels = [protein.residues.label(r) for r in range(len(protein.residues))]
    if not np.isin(protein.element, ("H", "D")).any():
        modeller = app.Modeller(topology, positions)
        try:
            modeller.addHydrogens(load_forcefield("vacuum"))
        except Exception as exc:
            raise ValueError(f"{structure.name or 'structure'}: cannot add hydrogens ({exc}); "
                             "prepare it first with workbench.refine.prepare") from exc
        topology, positions = modeller.topology, modeller.positions
    try:
        system = create_system(topology, solvent="vacuum", cutoff=None)
    except ValueError as exc:
        raise ValueError(f"{structure.name or 'structure'}: {exc}; prepare it first with "
                         "workbench.refine.prepare") from exc
    coords = np.asarray(positions.value_in_unit(unit.nanometer), dtype=np.float64) * 10.0
    return GeometryModel(topology, system, labels, criteria).check(coords)
