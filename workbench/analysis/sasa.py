"""Solvent-accessible surface area (Shrake–Rupley), per atom, per residue and relative."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from workbench.analysis._select import check_finite
from workbench.kernels import sasa as kernel
from workbench.residues import is_water
from workbench.structure import Structure

#: Van der Waals radii by element, Å: the table MDTraj's ``shrake_rupley`` uses (Bondi
#: 1964 and later sources, ionic radii for Li, Na, K, Cs, Be, Mg, Ca, Ba and Cl, 2 Å
#: where no value is known), so that both programs see the same spheres.
VDW_RADII: dict[str, float] = {
    "H": 1.2, "He": 1.4, "Li": 0.76, "Be": 0.59, "B": 1.92, "C": 1.7, "N": 1.55, "O": 1.52, "F": 1.47,
    "Ne": 1.54, "Na": 1.02, "Mg": 0.86, "Al": 1.84, "Si": 2.1, "P": 1.8, "S": 1.8, "Cl": 1.81, "Ar": 1.88,
    "K": 1.38, "Ca": 1.14, "Sc": 2.11, "Ti": 2.0, "V": 2.0, "Cr": 2.0, "Mn": 2.0, "Fe": 2.0, "Co": 2.0,
    "Ni": 1.63, "Cu": 1.4, "Zn": 1.39, "Ga": 1.87, "Ge": 2.11, "As": 1.85, "Se": 1.9, "Br": 1.85,
    "Kr": 2.02, "Rb": 3.03, "Sr": 2.49, "Pd": 1.63, "Ag": 1.72, "Cd": 1.58, "In": 1.93, "Sn": 2.17,
    "Sb": 2.06, "Te": 2.06, "I": 1.98, "Xe": 2.16, "Cs": 1.67, "Ba": 1.49, "Pt": 1.75, "Au": 1.66,
    "Hg": 1.55, "Tl": 1.96, "Pb": 2.02, "Bi": 2.07, "U": 1.86, "D": 1.2,
}  # fmt: skip
#: Radius for elements not in :data:`VDW_RADII`, Å (MDTraj's default).
DEFAULT_RADIUS = 2.0

#: Maximum accessible surface area of each amino acid in a Gly-X-Gly peptide, Å²:
#: the theoretical values of Tien et al., PLoS ONE 8, e80635 (2013), table 1.
MAX_ASA: dict[str, float] = {
    "ALA": 129.0, "ARG": 274.0, "ASN": 195.0, "ASP": 193.0, "CYS": 167.0, "GLN": 225.0, "GLU": 223.0,
    "GLY": 104.0, "HIS": 224.0, "ILE": 197.0, "LEU": 201.0, "LYS": 236.0, "MET": 224.0, "PHE": 240.0,
    "PRO": 159.0, "SER": 155.0, "THR": 172.0, "TRP": 285.0, "TYR": 263.0, "VAL": 174.0,
}  # fmt: skip


@dataclass(frozen=True)
class SASA:
    """Solvent-accessible surface areas, Å².

    Attributes
    ----------
    atom : ndarray, shape=(n_atoms,), dtype=float64
        Per atom of the structure; NaN for atoms left out (water by default).
    residue : ndarray, shape=(n_residues,), dtype=float64
        Per residue of ``structure.residues`` (sum of its atoms).
    relative : ndarray, shape=(n_residues,), dtype=float64
        ``residue / MAX_ASA[res_name]`` for the 20 standard amino acids, NaN for
        other residues. Can exceed 1 slightly for terminal residues.
    total : float
    """

    atom: np.ndarray
    residue: np.ndarray
    relative: np.ndarray
    total: float


def sasa(
    structure: Structure,
    *,
    probe_radius: float = 1.4,
    n_points: int = 960,
    radii: Mapping[str, float] | None = None,
    include_water: bool = False,
) -> SASA:
    """Solvent-accessible surface area by the Shrake–Rupley method.

    Every atom is a sphere of its van der Waals radius plus the probe radius,
    carrying ``n_points`` test points on a golden-section spiral (MDTraj's
    points); an atom's area is the fraction of its points outside all other
    spheres times the sphere's area.

    Parameters
    ----------
    structure : Structure
        Only the first model of an ensemble is used. Hydrogens, ligands and ions
        present in the structure take part.
    probe_radius : float
        Å, 1.4 (water) by default.
    n_points : int
        Test points per atom; 960 as in MDTraj by default.
    radii : mapping of str to float, optional
        Radii by element (Å) overriding :data:`VDW_RADII`.
    include_water : bool
        Keep water molecules (left out by default).

    Returns
    -------
    SASA

    Raises
    ------
    ValueError
        For a non-positive probe radius or point count.

    Examples
    --------
    >>> from workbench.analysis import build_backbone
    >>> result = sasa(build_backbone([-57.0] * 5, [-47.0] * 5))
    >>> bool(result.total > 0)
    True
    """
    if not probe_radius >= 0:
        raise ValueError(f"probe_radius must be >= 0, got {probe_radius}")
    if int(n_points) < 1:
        raise ValueError(f"n_points must be positive, got {n_points}")
    table = dict(VDW_RADII)
    if radii:
        table.update(radii)
    keep = np.ones(structure.n_atoms, dtype=bool)
    if not include_water:
        names, inverse = np.unique(structure.res_name, return_inverse=True)
        water = np.array([is_water(str(name)) for name in names], dtype=bool)
        keep &= ~water[inverse.reshape(-1)] if len(names) else keep
    index = np.flatnonzero(keep)
    elements, inverse = np.unique(structure.element[index], return_inverse=True)
    by_element = np.array([table.get(str(e), table.get(str(e).capitalize(), DEFAULT_RADIUS)) for e in elements])
    atom_radii = (by_element[inverse.reshape(-1)] + probe_radius).astype(np.float32)
    coords = np.ascontiguousarray(structure.coords[index])
    check_finite(coords, "structure")
    areas = np.empty(len(index))
    points = kernel.sphere_points(int(n_points))
    kernel.atom_areas.pick(len(index) * int(n_points) * 8)(coords, atom_radii, points, areas)
    atom = np.full(structure.n_atoms, np.nan)
    atom[index] = areas
    n_residues = len(structure.residue_starts) - 1
    residue = np.bincount(structure.residue_index[index], weights=areas, minlength=n_residues)
    max_asa = np.array([MAX_ASA.get(str(name), np.nan) for name in structure.residues.res_name])
    return SASA(atom=atom, residue=residue, relative=residue / max_asa, total=float(areas.sum()))
