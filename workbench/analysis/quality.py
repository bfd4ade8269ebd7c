"""Stereochemical checks: heavy-atom clashes and bond-length / angle outliers.

Clashes follow AlphaFold2's between-residue clash check, with the radius table
and rule of :mod:`workbench.clash_rule` that the refinement's violation check
uses too: two heavy atoms of different residues clash when closer than the sum
of their van der Waals radii minus a tolerance (1.5 Å), except across a peptide
bond (C-N of consecutive residues) and a disulfide (SG-SG).

Main-chain and CB bond lengths and angles (and, with ``side_chains=True``,
every side-chain term of the table) are compared with Engh & Huber's (2001)
target values (:mod:`workbench.engh_huber`: International Tables for
Crystallography Vol. F, ch. 18.3, the set MolProbity's geometry check and
AlphaFold2's within-residue check use), per residue for CA-CB, N-CA-CB and
CB-CA-C, per column (glycine, proline, other) for the main chain and the
peptide bond, with the cis-proline value of C-N-CA for a cis peptide before a
proline. Engh & Huber's 1991 values remain available (``targets="1991"``). An
outlier deviates by more than ``n_sigma`` standard deviations (4 by default,
as in MolProbity). Against the 1991 values, the 2001 ones (mostly wider σ)
find fewer 4 σ outliers: 1UBQ 0 bond / 3 angle outliers (1991: 0 / 4), 2LZM
1 / 12 (2 / 19), the AlphaFold DB model AF-Q5VSL9 0 / 17 (0 / 37).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.analysis._residues import atom_table, peptide_bonded, sequence_neighbours
from workbench.analysis._select import amino_acid_mask, check_finite, select_atoms
from workbench.clash_rule import CLASH_DEFAULT_RADIUS, CLASH_RADII, clash_radii, overlapping_pairs
from workbench.engh_huber import (
    EH2001_SIDE_CHAIN_ANGLES,
    EH2001_SIDE_CHAIN_BONDS,
    TARGET_SETS,
    Target,
    peptide_target,
    residue_targets,
)
from workbench.kernels import geometry as geometry_kernel
from workbench.structure import Structure

__all__ = ["CLASH_DEFAULT_RADIUS", "CLASH_RADII", "Clashes", "GeometryDeviations", "clashes", "geometry_deviations"]

@dataclass(frozen=True)
class Clashes:
    """Heavy-atom clashes between residues.

    Attributes
    ----------
    atoms : ndarray, shape=(n_clashes, 2), dtype=int64
        Atom index pairs (into the structure).
    overlap : ndarray, shape=(n_clashes,), dtype=float64
        How far the pair is inside the allowed distance, Å.
    residues : ndarray, shape=(n_clashes, 2), dtype=int64
        Residue indices of the two atoms (into ``structure.residues``).
    """

    atoms: np.ndarray
    overlap: np.ndarray
    residues: np.ndarray

    def __len__(self) -> int:
        return len(self.overlap)


@dataclass(frozen=True)
class GeometryDeviations:
    """Main-chain and CB bond lengths and angles compared with Engh & Huber.

    Attributes
    ----------
    kind : ndarray, shape=(m,), dtype=str
        ``"N-CA"``, ``"C-N"`` (peptide), ``"N-CA-C"``, ...
    atoms : ndarray, shape=(m, 3), dtype=int64
        Atom indices (third column -1 for bonds).
    residue : ndarray, shape=(m,), dtype=int64
        Residue of the first atom.
    value, ideal, sigma : ndarray, shape=(m,), dtype=float64
        Å for bonds, degrees for angles.
    z : ndarray, shape=(m,), dtype=float64
        ``(value - ideal) / sigma``.
    n_sigma : float
        Outlier threshold used by :attr:`outliers`.
    targets : str
        The Engh & Huber set the values come from, ``"2001"`` or ``"1991"``.
    """

    kind: np.ndarray
    atoms: np.ndarray
    residue: np.ndarray
    value: np.ndarray
    ideal: np.ndarray
    sigma: np.ndarray
    z: np.ndarray
    n_sigma: float
    targets: str = "2001"

    @property
    def outliers(self) -> np.ndarray:
        """Indices of the entries with ``|z| > n_sigma``."""
        return np.flatnonzero(np.abs(self.z) > self.n_sigma)

    @property
    def bond_outliers(self) -> int:
        """Number of bond-length outliers."""
        return int(sum(self.kind[i].count("-") == 1 for i in self.outliers))

    @property
    def angle_outliers(self) -> int:
        """Number of bond-angle outliers."""
        return int(sum(self.kind[i].count("-") == 2 for i in self.outliers))


def clashes(structure: Structure, tolerance: float = 1.5) -> Clashes:
    """Heavy-atom clashes between residues (AlphaFold2's definition).

    Parameters
    ----------
    structure : Structure
        Heavy atoms of amino-acid residues are checked; only the first model.
    tolerance : float
        Overlap allowed below the sum of van der Waals radii, Å.

    Returns
    -------
    Clashes
    """
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    index = select_atoms(structure, "heavy")
    coords = np.ascontiguousarray(structure.coords[index])
    check_finite(coords, "structure")
    radii = clash_radii(structure.element[index], np.float32)
    residue = structure.residue_index[index].astype(np.int64)
    first, second, amount = overlapping_pairs(coords, radii, residue, float(tolerance))
    a, b = index[first], index[second]
    names_a, names_b = structure.atom_name[a], structure.atom_name[b]
    res_a, res_b = structure.residue_index[a], structure.residue_index[b]
    backbone = atom_table(structure, ("N", "CA", "C", "O"))
    bonded = peptide_bonded(structure, backbone)
    # a < b in atom order; residues are contiguous, so a's residue comes first.
    peptide = (res_b == res_a + 1) & bonded[res_a] & (names_a == "C") & (names_b == "N")
    disulfide = (names_a == "SG") & (names_b == "SG")
    keep = ~(peptide | disulfide)
    return Clashes(
        atoms=np.stack([a[keep], b[keep]], axis=1).astype(np.int64),
        overlap=amount[keep],
        residues=np.stack([res_a[keep], res_b[keep]], axis=1).astype(np.int64),
    )


def geometry_deviations(structure: Structure, n_sigma: float = 4.0, targets: str = "2001", *,
                        side_chains: bool = False) -> GeometryDeviations:
    """Main-chain (and CB) bond lengths and angles against Engh & Huber target values; side chains on request.

    Parameters
    ----------
    structure : Structure
        Amino-acid residues; the peptide bond is checked between consecutive
        residues of a chain whose numbers follow (a stretched bond is an outlier,
        a numbering gap is a missing segment). CB terms of residues outside the
        twenty standard amino acids are left out with the 2001 set (it has no
        general CB value).
    n_sigma : float
        Outlier threshold in standard deviations.
    targets : {"2001", "1991"}
        Engh & Huber (2001), International Tables Vol. F ch. 18.3 (default), or
        Engh & Huber (1991), Acta Cryst. A47:392 (:mod:`workbench.engh_huber`).
    side_chains : bool
        Also every side-chain bond and angle of the 2001 table beyond CB
        (``"CB-CG"``, ``"NE-CZ-NH1"``, ...), as MolProbity checks them.

    Returns
    -------
    GeometryDeviations

    Examples
    --------
    >>> import workbench.analysis as A
    >>> backbone = A.build_backbone([-60.0] * 4, [-45.0] * 4, [180.0] * 4, sequence="AGPA")
    >>> deviations = A.geometry_deviations(backbone)
    >>> len(deviations.outliers)
    0
    >>> float(deviations.ideal[deviations.kind == "C-N"][0]), float(deviations.sigma[deviations.kind == "C-N"][0])
    (1.326, 0.018)
    """
    if targets not in TARGET_SETS:
        raise ValueError(f"unknown Engh & Huber set {targets!r}; choose one of {', '.join(TARGET_SETS)}")
    if side_chains and targets != "2001":
        raise ValueError("side-chain targets are in the 2001 set only")
    names = ("N", "CA", "C", "O", "CB")
    table = atom_table(structure, names)
    table[~amino_acid_mask(structure)[structure.residue_starts[:-1]]] = -1
    col = {name: k for k, name in enumerate(names)}
    res_names = [str(n) for n in structure.residues.res_name]
    own_targets = [residue_targets(n, targets) for n in res_names]
    n_res = len(table)
    kinds: list[str] = []
    rows: list[tuple[list[int], int, Target]] = []

    for r in range(n_res):
        for kind in ("N-CA", "CA-C", "C-O", "CA-CB", "N-CA-C", "CA-C-O", "N-CA-CB", "C-CA-CB"):
            atoms = [int(table[r, col[a]]) for a in kind.split("-")]
            found = own_targets[r].get(kind)
            if min(atoms) >= 0 and found is not None:
                kinds.append(kind)
                rows.append((atoms, r, found))
    if side_chains:
        _add_side_chains(structure, table, kinds, rows)
    linked = np.flatnonzero(sequence_neighbours(structure))
    cis = _cis(structure.coords, table[linked][:, [col["CA"], col["C"]]], table[linked + 1][:, [col["N"], col["CA"]]])
    for r, is_cis in zip(linked.tolist(), cis.tolist(), strict=True):
        here, there = table[r], table[r + 1]
        terms = {"C-N": [here[col["C"]], there[col["N"]]],
                 "CA-C-N": [here[col["CA"]], here[col["C"]], there[col["N"]]],
                 "O-C-N": [here[col["O"]], here[col["C"]], there[col["N"]]],
                 "C-N-CA": [here[col["C"]], there[col["N"]], there[col["CA"]]]}
        for kind, atoms in terms.items():
            if min(atoms) >= 0:
                kinds.append(kind)
                rows.append(([int(a) for a in atoms], r, peptide_target(kind, res_names[r], res_names[r + 1],
                                                                       cis=is_cis, targets=targets)))
    atoms_array = np.full((len(rows), 3), -1, dtype=np.int64)
    for k, (atoms, _, _) in enumerate(rows):
        atoms_array[k, : len(atoms)] = atoms
    is_bond = atoms_array[:, 2] < 0
    value = np.empty(len(rows))
    value[is_bond] = geometry_kernel.bond_lengths(structure.coords, np.ascontiguousarray(atoms_array[is_bond, :2]))
    value[~is_bond] = np.degrees(
        geometry_kernel.bond_angles(structure.coords, np.ascontiguousarray(atoms_array[~is_bond])))
    ideal = np.array([t[0] for _, _, t in rows], dtype=np.float64)
    sigma = np.array([t[1] for _, _, t in rows], dtype=np.float64)
    return GeometryDeviations(
        kind=np.array(kinds, dtype=str),
        atoms=atoms_array,
        residue=np.array([r for _, r, _ in rows], dtype=np.int64),
        value=value,
        ideal=ideal,
        sigma=sigma,
        z=(value - ideal) / sigma,
        n_sigma=float(n_sigma),
        targets=targets,
    )


#: Atoms of the main chain and CB, whose terms geometry_deviations always checks.
_MAIN = frozenset({"N", "CA", "C", "O", "OXT", "CB"})


def _add_side_chains(structure: Structure, table: np.ndarray, kinds: list[str],
                     rows: list[tuple[list[int], int, Target]]) -> None:
    """Append every 2001 side-chain term beyond CB of each amino-acid residue whose atoms are present."""
    terms: dict[str, list[tuple[str, Target]]] = {}
    for source in (EH2001_SIDE_CHAIN_BONDS, EH2001_SIDE_CHAIN_ANGLES):
        for (residue, name), target in source.items():
            if not set(name.split("-")) <= _MAIN:
                terms.setdefault(residue, []).append((name, target))
    starts = structure.residue_starts
    for r, residue in enumerate(structure.residues.res_name):
        if table[r].max() < 0 or str(residue) not in terms:
            continue
        index: dict[str, int] = {}
        for i in range(int(starts[r]), int(starts[r + 1])):
            index.setdefault(str(structure.atom_name[i]), i)
        for name, target in terms[str(residue)]:
            atoms = name.split("-")
            if all(a in index for a in atoms):
                kinds.append(name)
                rows.append(([index[a] for a in atoms], r, target))


def _cis(coords: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Whether each peptide bond is cis (abs(omega) < 90 degrees), from (CA, C) and (N, CA) atom columns."""
    ok = (first >= 0).all(axis=1) & (second >= 0).all(axis=1)
    out = np.zeros(len(first), dtype=bool)
    if ok.any():
        x = np.asarray(coords, dtype=np.float64)
        a, b = x[first[ok, 0]], x[first[ok, 1]]
        c, d = x[second[ok, 0]], x[second[ok, 1]]
        b1 = c - b
        n1, n2 = np.cross(b - a, b1), np.cross(b1, d - c)
        out[ok] = np.einsum("ij,ij->i", n1, n2) > 0  # cos(omega) > 0
    return out
