"""Structural violations: clashes, bond lengths and angles, peptide bonds, chirality.

The kinds of violation AlphaFold2's relax looks for
(``alphafold.model.folding.find_structural_violations``, with its
``violation_tolerance_factor`` of 12 standard deviations), on heavy atoms,
and two it does not: chirality (AlphaFold2's relax inverts some CA centres of
noisy models and says nothing) and twisted peptides.

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
- **bond**: a bond within one of the twenty standard residues off its Engh &
  Huber (2001) mean (:mod:`workbench.engh_huber`) by more than ``n_sigma`` (12)
  of its standard deviations, AlphaFold2's rule and table (for example CA-CB
  of Ala 1.520 ± 12 x 0.021 Å). A bond the table does not list (C-OXT, a
  disulfide, a cap) is judged against the Amber ff14SB equilibrium length the
  refinement minimises, with ``bond_tolerance`` (0.24 Å = 12 x 0.02 Å, a
  typical Engh & Huber σ).
- **angle**: a bond angle within a standard residue (and O-C-N across the
  peptide bond) off its Engh & Huber (2001) mean by more than ``n_sigma``
  standard deviations, in degrees (N-CA-C: 111.0 ± 12 x 2.7 degrees).
  AlphaFold2 checks these angles through the 1-3 distance at 12 σ of a σ
  propagated from the angle's and both bonds' σ, which is looser: with ideal
  bonds, N-CA-C (111.0 ± 2.7) may take 78-180 degrees there, 78.6-143.4
  here; Arg NE-CZ-NH1 (120.3 ± 0.5) 104.5-141.5 there, 114.3-126.3 here
  (so 2LZM's Arg 119 at 126.3 degrees is a violation here, not there). The
  two angles at the peptide bond follow AlphaFold2's between-residue rule:
  CA-C-N and C-N-CA are judged by their cosines, ``n_sigma`` x 0.014 from
  cos(116.568 degrees) and ``n_sigma`` x 0.0353 from cos(121.352 degrees)
  (``alphafold.model.all_atom.between_residue_bond_loss``; for CA-C-N
  AlphaFold2 takes the C-N bond's σ, 0.014, not its own 0.0311): windows of
  106.2-128.0 and 95.5-160.7 degrees at 12 σ. Angles the table does not list
  get the ff14SB equilibrium angle and ``angle_tolerance`` (24 degrees = 12 x 2).
- **peptide_bond**: a C(i)-N(i+1) bond off AlphaFold2's
  ``between_res_bond_length_c_n`` (1.329 Å, 1.341 before a proline: Engh &
  Huber's 1991 values) by more than ``n_sigma`` of its σ (0.014 Å, 0.016
  before a proline): 0.168 Å at 12 σ.
- **omega**: a peptide bond twisted more than ``omega_tolerance`` (30 degrees)
  out of plane (from 180 degrees for trans, 0 for cis), which AlphaFold2 does
  not check: MolProbity's definition of a twisted peptide (cis |omega| < 30,
  trans |omega| > 150, twisted between; Williams et al. (2018) Protein Sci.
  27:293-315).

A twisted peptide of ω -39 degrees whose CA-C-N angle opened to 129 degrees is
caught twice: by the omega check and by AlphaFold2's CA-C-N window.

The refinement minimises Amber ff14SB, whose equilibrium values are not Engh &
Huber's: its angle parameters differ from the 2001 means by up to 14 degrees
(His ND1-CG-CD2: 120 in ff14SB, 106.0 ± 1.4 in the table; a five-membered ring
cannot take ff14SB's values, so the minimised ring sits near the table's), 6.4
for Pro N-CA-CB and 3.0 for Gly N-CA-C. Each lies inside its 12 σ window (the
largest at 0.83 of it, measured on the topologies of 1CRN, 1UBQ and 2LZM), so
a minimised model can be free of violations.

Changes of a peptide bond between cis and trans during a refinement are not a
property of one set of coordinates: :func:`cis_trans_changes` compares two.

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
from workbench.engh_huber import EH2001_SIDE_CHAIN_BONDS, Target, peptide_target, residue_targets
from workbench.refine.settings import ViolationCriteria
from workbench.structure import Structure

__all__ = ["GeometryModel", "Violation", "ViolationCriteria", "Violations", "cis_trans_changes", "find_violations",
           "peptide_states"]

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

#: Residues whose bonds and angles :mod:`workbench.engh_huber` lists (the twenty standard amino acids).
STANDARD_RESIDUES = frozenset({res for res, _ in EH2001_SIDE_CHAIN_BONDS} | {"GLY"})
#: AlphaFold2's peptide C-N bond (``residue_constants.between_res_bond_length_c_n`` and ``..._stddev_c_n``):
#: (mean Å, σ Å), before a proline and before any other residue.
AF2_PEPTIDE_BOND: dict[str, Target] = {"PRO": (1.341, 0.016), "*": (1.329, 0.014)}
#: AlphaFold2's between-residue angle checks, on the cosine: angle -> (cosine of the mean, σ of the cosine).
#: CA-C-N's σ is the C-N bond's 0.014, as ``alphafold.model.all_atom.between_residue_bond_loss`` uses it
#: (``between_res_cos_angles_ca_c_n`` lists 0.0311, which AlphaFold2 does not use).
AF2_PEPTIDE_COSINES: dict[str, tuple[float, float]] = {"CA-C-N": (-0.4473, 0.014), "C-N-CA": (-0.5203, 0.0353)}
#: Peptide-bond states by omega (degrees), MolProbity's: cis |omega| < 30, trans |omega| > 150, twisted between.
CIS_OMEGA, TRANS_OMEGA = 30.0, 150.0


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
        ``HarmonicAngleForce`` list the heavy-atom bonds and angles checked,
        and give the ideal values of those Engh & Huber do not tabulate.
    residue_labels : sequence of str, optional
        One label per residue of ``topology`` (default ``"A:LYS 12"`` from it).
    criteria : ViolationCriteria, optional

    Attributes
    ----------
    bonds : ndarray, shape=(m, 2), dtype=int64
        Heavy-atom bonds (peptide bonds included; they are judged as ``peptide``).
    bond_ideal, bond_tolerance : ndarray, shape=(m,), dtype=float64
        Ideal length and allowed deviation, Å.
    bond_tabulated : ndarray, shape=(m,), dtype=bool
        Whether the ideal is Engh & Huber's (else the force field's, with ``criteria.bond_tolerance``).
    angles : ndarray, shape=(k, 3), dtype=int64
        Heavy-atom angles judged in degrees.
    angle_ideal, angle_tolerance : ndarray, shape=(k,), dtype=float64
        Degrees.
    angle_tabulated : ndarray, shape=(k,), dtype=bool
    junction_angles : ndarray, shape=(j, 3), dtype=int64
        CA-C-N and C-N-CA across peptide bonds, judged on the cosine (AlphaFold2's rule).
    junction_cosine, junction_tolerance : ndarray, shape=(j,), dtype=float64
    peptide : ndarray, shape=(p, 2), dtype=int64
        Peptide bonds (C, N).
    peptide_ideal, peptide_tolerance : ndarray, shape=(p,), dtype=float64
        Å.
    omega : ndarray, shape=(p, 4), dtype=int64
        (CA, C, N, CA) of each peptide bond.
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

        bonds, lengths, angles, thetas = _force_field_terms(system, self.heavy)
        self.peptide, self.omega = _peptide_bonds(topology, residues)
        self._peptide_keys = {(min(i, j), max(i, j)) for i, j in self.peptide.tolist()}
        self._set_targets([a.name for a in atoms], [r.name for r in residues], bonds, lengths, angles, thetas)
        self.chiral = chiral_centres(residues)
        self._excluded = _excluded_pairs(topology, self.heavy)
        self.n_atoms = n

    def _set_targets(self, names: list[str], res_names: list[str], bonds: np.ndarray, lengths: np.ndarray,
                     angles: np.ndarray, thetas: np.ndarray) -> None:
        """Ideal values and tolerances of every bond, angle and peptide bond.

        Engh & Huber 2001 where tabulated (``n_sigma`` standard deviations),
        else the force field's equilibrium value with the fixed tolerance. The
        two peptide angles of AlphaFold2's between-residue check go to their
        own arrays, judged on the cosine.
        """
        n_sigma = self.criteria.n_sigma
        residue = self.residue
        chosen = [AF2_PEPTIDE_BOND.get(res_names[residue[j]], AF2_PEPTIDE_BOND["*"]) for _, j in self.peptide.tolist()]
        self.peptide_ideal = np.array([t[0] for t in chosen], dtype=np.float64)
        self.peptide_tolerance = np.array([n_sigma * t[1] for t in chosen], dtype=np.float64)
        tables = {name: residue_targets(name) for name in set(res_names) & STANDARD_RESIDUES}

        def target(index: Sequence[int]) -> Target | None:
            owners = [int(residue[i]) for i in index]
            key = "-".join(names[i] for i in index)
            first, last = res_names[min(owners)], res_names[max(owners)]
            if len(set(owners)) == 1:
                return tables[first].get(key) if first in tables else None
            if key in ("O-C-N", "N-C-O") and first in tables and last in tables:
                return peptide_target("O-C-N", first, last)
            return None

        self.bonds, self.bond_ideal = bonds, lengths.copy()
        self.bond_tolerance = np.full(len(bonds), self.criteria.bond_tolerance)
        self.bond_tabulated = np.zeros(len(bonds), dtype=bool)
        for k, pair in enumerate(bonds.tolist()):
            found = target(pair)
            if found is not None:
                self.bond_ideal[k], self.bond_tolerance[k] = found[0], n_sigma * found[1]
                self.bond_tabulated[k] = True
        junction, tabulated = np.zeros(len(angles), dtype=bool), np.zeros(len(angles), dtype=bool)
        kind = []
        ideal, tolerance = thetas.copy(), np.full(len(angles), self.criteria.angle_tolerance)
        for k, triple in enumerate(angles.tolist()):
            key = min("-".join(names[i] for i in triple), "-".join(names[i] for i in triple[::-1]))
            if key in AF2_PEPTIDE_COSINES and residue[triple[0]] != residue[triple[2]]:
                junction[k] = True
                kind.append(key)
                continue
            found = target(triple)
            if found is not None:
                ideal[k], tolerance[k], tabulated[k] = found[0], n_sigma * found[1], True
        self.angles, self.angle_ideal, self.angle_tolerance = angles[~junction], ideal[~junction], tolerance[~junction]
        self.angle_tabulated = tabulated[~junction]
        self.junction_angles = angles[junction]
        self.junction_cosine = np.array([AF2_PEPTIDE_COSINES[k][0] for k in kind], dtype=np.float64)
        self.junction_tolerance = np.array([n_sigma * AF2_PEPTIDE_COSINES[k][1] for k in kind], dtype=np.float64)

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
            for k in np.flatnonzero(np.abs(length - self.bond_ideal) > self.bond_tolerance):
                i, j = self.bonds[k]
                if (min(i, j), max(i, j)) not in self._peptide_keys:
                    add("bond", (i, j), length[k], self.bond_ideal[k])
        if len(self.peptide):
            length = np.linalg.norm(x[self.peptide[:, 0]] - x[self.peptide[:, 1]], axis=1)
            for k in np.flatnonzero(np.abs(length - self.peptide_ideal) > self.peptide_tolerance):
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
            for k in np.flatnonzero(np.abs(theta - self.angle_ideal) > self.angle_tolerance):
                add("angle", self.angles[k], theta[k], self.angle_ideal[k])
        if len(self.junction_angles):
            cosine = np.cos(_angles(x, self.junction_angles))
            for k in np.flatnonzero(np.abs(cosine - self.junction_cosine) > self.junction_tolerance):
                add("angle", self.junction_angles[k], np.degrees(np.arccos(cosine[k])),
                    np.degrees(np.arccos(self.junction_cosine[k])))
        return Violations(tuple(items), self.residue_labels)


def _force_field_terms(system: mm.System, heavy: np.ndarray) -> tuple[np.ndarray, ...]:
    """Heavy-atom bonds ``(m, 2)``, their lengths (Å), angles ``(k, 3)`` and their angles (degrees) in ``system``."""
    bonds, lengths, angles, thetas = [], [], [], []
    for force in system.getForces():
        if isinstance(force, mm.HarmonicBondForce):
            for b in range(force.getNumBonds()):
                i, j, length, _ = force.getBondParameters(b)
                if heavy[i] and heavy[j]:
                    bonds.append((i, j))
                    lengths.append(length.value_in_unit(unit.angstrom))
        elif isinstance(force, mm.HarmonicAngleForce):
            for t in range(force.getNumAngles()):
                i, j, k, theta, _ = force.getAngleParameters(t)
                if heavy[i] and heavy[j] and heavy[k]:
                    angles.append((i, j, k))
                    thetas.append(theta.value_in_unit(unit.degree))
    return (np.asarray(bonds, dtype=np.int64).reshape(-1, 2), np.asarray(lengths, dtype=np.float64),
            np.asarray(angles, dtype=np.int64).reshape(-1, 3), np.asarray(thetas, dtype=np.float64))


def _peptide_bonds(topology: app.Topology, residues: Sequence[app.Residue]) -> tuple[np.ndarray, np.ndarray]:
    """Peptide bonds (C, N), shape ``(m, 2)``, and their omega dihedrals (CA, C, N, CA), shape ``(m, 4)``."""
    by_name = [{a.name: a.index for a in r.atoms()} for r in residues]
    peptide, omega = [], []
    for a, b in topology.bonds():
        if a.residue.index == b.residue.index or {a.name, b.name} != {"C", "N"}:
            continue
        c_atom, n_atom = (a, b) if a.name == "C" else (b, a)
        ca_prev = by_name[c_atom.residue.index].get("CA")
        ca_next = by_name[n_atom.residue.index].get("CA")
        if ca_prev is None or ca_next is None:
            continue
        peptide.append((c_atom.index, n_atom.index))
        omega.append((ca_prev, c_atom.index, n_atom.index, ca_next))
    return np.asarray(peptide, dtype=np.int64).reshape(-1, 2), np.asarray(omega, dtype=np.int64).reshape(-1, 4)


def _excluded_pairs(topology: app.Topology, heavy: np.ndarray) -> np.ndarray:
    """Heavy-atom pairs within three bonds, as sorted ``i * n + j`` (i < j): excluded from clashes."""
    from scipy import sparse  # imported here: scipy.spatial costs 0.3 s at import

    # The non-zero entries of (A + I)^3 for the heavy-atom adjacency matrix A.
    n = len(heavy)
    pairs = np.array([(a.index, b.index) for a, b in topology.bonds()
                      if heavy[a.index] and heavy[b.index]], dtype=np.int64).reshape(-1, 2)
    adjacency = sparse.coo_matrix((np.ones(2 * len(pairs)), (np.r_[pairs[:, 0], pairs[:, 1]],
                                                             np.r_[pairs[:, 1], pairs[:, 0]])), shape=(n, n))
    step = (adjacency + sparse.identity(n)).tocsr()
    within = (step @ step @ step).tocoo()
    upper = within.row < within.col
    return np.unique(within.row[upper].astype(np.int64) * n + within.col[upper])


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


def peptide_states(omega: np.ndarray) -> np.ndarray:
    """State of each peptide bond from its omega dihedral, MolProbity's classes.

    Parameters
    ----------
    omega : ndarray, shape=(m,), dtype=float64
        CA(i)-C(i)-N(i+1)-CA(i+1) dihedrals, degrees.

    Returns
    -------
    ndarray, shape=(m,), dtype=str
        ``"cis"`` (abs(omega) < 30), ``"trans"`` (abs(omega) > 150) or ``"twisted"``.
    """
    size = np.abs(np.asarray(omega, dtype=np.float64))
    return np.where(size < CIS_OMEGA, "cis", np.where(size > TRANS_OMEGA, "trans", "twisted"))


def cis_trans_changes(geometry: GeometryModel, before: np.ndarray, after: np.ndarray) -> tuple[str, ...]:
    """Peptide bonds whose state a refinement changed between cis and trans.

    A change is a peptide bond cis in ``before`` and trans in ``after`` or the
    reverse, or twisted in ``before`` and cis in ``after`` (a cis bond the
    refinement made; twisted to trans is the repair of a twist). A cis proline
    of the input that stays cis is no change.

    Parameters
    ----------
    geometry : GeometryModel
        Of the topology both coordinate sets belong to.
    before, after : ndarray, shape=(n_atoms, 3)
        Input and refined positions, Å.

    Returns
    -------
    tuple of str
        ``"A:ALA 5 - A:PRO 6 trans -> cis"``, in chain order.
    """
    if not len(geometry.omega):
        return ()
    old = peptide_states(np.degrees(_dihedrals(np.asarray(before, np.float64), geometry.omega)))
    new = peptide_states(np.degrees(_dihedrals(np.asarray(after, np.float64), geometry.omega)))
    changed = (old != new) & (new != "twisted") & ~((old == "twisted") & (new == "trans"))
    labels = geometry.residue_labels
    return tuple(f"{labels[geometry.residue[quad[1]]]} - {labels[geometry.residue[quad[2]]]} {a} -> {b}"
                 for quad, a, b in zip(geometry.omega[changed], old[changed], new[changed], strict=True))


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
    atoms are checked), and Amber ff14SB supplies the bonds and angles
    (ideal values: Engh & Huber 2001 where tabulated, see the module).

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
