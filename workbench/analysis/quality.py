"""Stereochemical checks: heavy-atom clashes and backbone bond-length / angle outliers.

Clashes follow AlphaFold2's between-residue clash check, with the radius table
and rule of :mod:`workbench.clash_rule` that the refinement's violation check
uses too: two heavy atoms of different residues clash when closer than the sum
of their van der Waals radii minus a tolerance (1.5 Å), except across a peptide
bond (C-N of consecutive residues) and a disulfide (SG-SG). Bond lengths and angles are compared with Engh & Huber's
(1991) ideal values, residue-specific for glycine and proline; an outlier
deviates by more than ``n_sigma`` standard deviations (4 by default, as in
MolProbity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.analysis._residues import atom_table, peptide_bonded, sequence_neighbours
from workbench.analysis._select import amino_acid_mask, check_finite, select_atoms
from workbench.clash_rule import CLASH_DEFAULT_RADIUS, CLASH_RADII, clash_radii, overlapping_pairs
from workbench.kernels import geometry as geometry_kernel
from workbench.structure import Structure

__all__ = ["ANGLE_TABLE", "BOND_TABLE", "CLASH_DEFAULT_RADIUS", "CLASH_RADII", "Clashes", "GeometryDeviations",
           "clashes", "geometry_deviations"]

#: Engh & Huber (1991) backbone bond lengths: name -> {residue class: (mean Å, sigma Å)}.
#: Residue class: "GLY", "PRO" or "*" (all others); for C-N the class is the N's residue's.
BOND_TABLE: dict[str, dict[str, tuple[float, float]]] = {
    "N-CA": {"*": (1.458, 0.019), "GLY": (1.451, 0.016), "PRO": (1.466, 0.015)},
    "CA-C": {"*": (1.525, 0.021), "GLY": (1.516, 0.018)},
    "C-O": {"*": (1.231, 0.020)},
    "CA-CB": {"*": (1.530, 0.020), "ALA": (1.521, 0.033), "ILE": (1.540, 0.027), "THR": (1.540, 0.027),
              "VAL": (1.540, 0.027)},
    "C-N": {"*": (1.329, 0.014), "PRO": (1.341, 0.016)},
}  # fmt: skip
#: Engh & Huber (1991) backbone angles: name -> {residue class: (mean degrees, sigma degrees)}.
#: For CA-C-N and O-C-N the class is the next residue's (the N's); otherwise the residue's own.
ANGLE_TABLE: dict[str, dict[str, tuple[float, float]]] = {
    "N-CA-C": {"*": (111.2, 2.8), "GLY": (112.5, 2.9), "PRO": (111.8, 2.5)},
    "CA-C-O": {"*": (120.8, 1.7), "GLY": (120.8, 2.1)},
    "N-CA-CB": {"*": (110.5, 1.7), "ALA": (110.4, 1.5), "ILE": (111.5, 1.7), "THR": (111.5, 1.7),
                "VAL": (111.5, 1.7), "PRO": (103.0, 1.1)},
    "C-CA-CB": {"*": (110.1, 1.9), "ALA": (110.5, 1.5), "ILE": (109.1, 2.2), "THR": (109.1, 2.2),
                "VAL": (109.1, 2.2)},
    "CA-C-N": {"*": (116.2, 2.0), "GLY": (116.4, 2.1), "PRO": (116.9, 1.5)},
    "O-C-N": {"*": (123.0, 1.6), "PRO": (122.0, 1.4)},
    "C-N-CA": {"*": (121.7, 1.8), "GLY": (120.6, 1.7), "PRO": (122.6, 5.0)},
}  # fmt: skip


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
    """Backbone bond lengths and angles compared with Engh & Huber.

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
    """

    kind: np.ndarray
    atoms: np.ndarray
    residue: np.ndarray
    value: np.ndarray
    ideal: np.ndarray
    sigma: np.ndarray
    z: np.ndarray
    n_sigma: float

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


def geometry_deviations(structure: Structure, n_sigma: float = 4.0) -> GeometryDeviations:
    """Backbone (and CB) bond lengths and angles against Engh & Huber ideal values.

    Parameters
    ----------
    structure : Structure
        Amino-acid residues; the peptide bond is checked between consecutive
        residues of a chain whose numbers follow (a stretched bond is an outlier,
        a numbering gap is a missing segment).
    n_sigma : float
        Outlier threshold in standard deviations.

    Returns
    -------
    GeometryDeviations
    """
    names = ("N", "CA", "C", "O", "CB")
    table = atom_table(structure, names)
    table[~amino_acid_mask(structure)[structure.residue_starts[:-1]]] = -1
    col = {name: k for k, name in enumerate(names)}
    res_names = structure.residues.res_name
    bonded = sequence_neighbours(structure)
    n_res = len(table)
    nxt = np.minimum(np.arange(n_res) + 1, n_res - 1)
    kinds: list[str] = []
    atom_rows: list[np.ndarray] = []
    residue_rows: list[np.ndarray] = []
    ideal_rows: list[np.ndarray] = []
    sigma_rows: list[np.ndarray] = []

    def add(kind: str, columns: np.ndarray, residues: np.ndarray, classes: np.ndarray, table_: dict) -> None:
        ok = (columns >= 0).all(axis=1)
        columns, residues, classes = columns[ok], residues[ok], classes[ok]
        entry = table_[kind]
        values = np.array([entry.get(str(c), entry["*"]) for c in classes]).reshape(-1, 2)
        kinds.extend([kind] * len(columns))
        padded = np.full((len(columns), 3), -1, dtype=np.int64)
        padded[:, : columns.shape[1]] = columns
        atom_rows.append(padded)
        residue_rows.append(residues)
        ideal_rows.append(values[:, 0])
        sigma_rows.append(values[:, 1])

    own = np.arange(n_res)
    for kind in ("N-CA", "CA-C", "C-O", "CA-CB"):
        a, b = kind.split("-")
        add(kind, np.stack([table[:, col[a]], table[:, col[b]]], 1), own, res_names, BOND_TABLE)
    for kind in ("N-CA-C", "CA-C-O", "N-CA-CB", "C-CA-CB"):
        a, b, c = kind.split("-")
        add(kind, np.stack([table[:, col[a]], table[:, col[b]], table[:, col[c]]], 1), own, res_names, ANGLE_TABLE)
    linked = np.flatnonzero(bonded)
    nb = nxt[linked]
    nxt_names = res_names[nb]
    peptide_sets = {
        "C-N": (table[linked, col["C"]], table[nb, col["N"]]),
        "CA-C-N": (table[linked, col["CA"]], table[linked, col["C"]], table[nb, col["N"]]),
        "O-C-N": (table[linked, col["O"]], table[linked, col["C"]], table[nb, col["N"]]),
        "C-N-CA": (table[linked, col["C"]], table[nb, col["N"]], table[nb, col["CA"]]),
    }
    for kind, columns in peptide_sets.items():
        add(kind, np.stack(columns, 1), linked, nxt_names, BOND_TABLE if kind == "C-N" else ANGLE_TABLE)
    atoms = np.concatenate(atom_rows) if atom_rows else np.zeros((0, 3), np.int64)
    kind_array = np.array(kinds, dtype=str)
    is_bond = atoms[:, 2] < 0
    value = np.empty(len(atoms))
    value[is_bond] = geometry_kernel.bond_lengths(structure.coords, np.ascontiguousarray(atoms[is_bond, :2]))
    value[~is_bond] = np.degrees(geometry_kernel.bond_angles(structure.coords, np.ascontiguousarray(atoms[~is_bond])))
    ideal = np.concatenate(ideal_rows) if ideal_rows else np.zeros(0)
    sigma = np.concatenate(sigma_rows) if sigma_rows else np.zeros(0)
    return GeometryDeviations(
        kind=kind_array,
        atoms=atoms,
        residue=np.concatenate(residue_rows).astype(np.int64) if residue_rows else np.zeros(0, np.int64),
        value=value,
        ideal=ideal,
        sigma=sigma,
        z=(value - ideal) / sigma,
        n_sigma=float(n_sigma),
    )
