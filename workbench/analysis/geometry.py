"""Geometry of structures: dihedrals, radius of gyration, distance and contact maps, NeRF building."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from workbench.analysis._residues import atom_table, peptide_bonded
from workbench.analysis._select import AtomSelection, as_coordinates, select_atoms
from workbench.kernels import geometry as kernel
from workbench.kernels import neighbors
from workbench.residues import one_letter_code
from workbench.structure import Structure

#: Side-chain dihedral atoms by residue (IUPAC-IUB 1970; MSE as MET with SE).
CHI_ATOMS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "ARG": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD"), ("CB", "CG", "CD", "NE"), ("CG", "CD", "NE", "CZ")),
    "ASN": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "OD1")),
    "ASP": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "OD1")),
    "CYS": (("N", "CA", "CB", "SG"),),
    "GLN": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD"), ("CB", "CG", "CD", "OE1")),
    "GLU": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD"), ("CB", "CG", "CD", "OE1")),
    "HIS": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "ND1")),
    "ILE": (("N", "CA", "CB", "CG1"), ("CA", "CB", "CG1", "CD1")),
    "LEU": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD1")),
    "LYS": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD"), ("CB", "CG", "CD", "CE"), ("CG", "CD", "CE", "NZ")),
    "MET": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "SD"), ("CB", "CG", "SD", "CE")),
    "MSE": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "SE"), ("CB", "CG", "SE", "CE")),
    "PHE": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD1")),
    "PRO": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD")),
    "SER": (("N", "CA", "CB", "OG"),),
    "THR": (("N", "CA", "CB", "OG1"),),
    "TRP": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD1")),
    "TYR": (("N", "CA", "CB", "CG"), ("CA", "CB", "CG", "CD1")),
    "VAL": (("N", "CA", "CB", "CG1"),),
}
DIHEDRALS: tuple[str, ...] = ("phi", "psi", "omega", "chi1", "chi2", "chi3", "chi4")
_SIDE_NAMES = tuple(sorted({name for quads in CHI_ATOMS.values() for quad in quads for name in quad}))

#: Ideal backbone geometry (Engh & Huber 1991) used by :func:`build_backbone`: Å and degrees.
IDEAL_BACKBONE = {
    "N-CA": 1.458, "CA-C": 1.525, "C-N": 1.329, "C-O": 1.231,
    "N-CA-C": 111.2, "CA-C-N": 116.2, "C-N-CA": 121.7, "CA-C-O": 120.8,
}  # fmt: skip


def dihedral_quartets(structure: Structure, kind: str) -> np.ndarray:
    """Atom indices of one kind of dihedral for every residue, -1 where it is not defined.

    Parameters
    ----------
    structure : Structure
    kind : {"phi", "psi", "omega", "chi1", "chi2", "chi3", "chi4"}
        ``phi``: C(i-1), N, CA, C; ``psi``: N, CA, C, N(i+1); ``omega``: CA, C,
        N(i+1), CA(i+1) (MDTraj's conventions); neighbours must be peptide-bonded
        (C-N at most 2.5 Å). ``chi1``-``chi4`` from :data:`CHI_ATOMS`.

    Returns
    -------
    ndarray, shape=(n_residues, 4), dtype=int64
    """
    if kind not in DIHEDRALS:
        raise ValueError(f"kind must be one of {', '.join(DIHEDRALS)}, not {kind!r}")
    backbone = atom_table(structure, ("N", "CA", "C", "O"))
    n = len(backbone)
    out = np.full((n, 4), -1, dtype=np.int64)
    if kind in ("phi", "psi", "omega"):
        bonded = peptide_bonded(structure, backbone)
        nxt = np.flatnonzero(bonded[:-1]) if n > 1 else np.zeros(0, dtype=np.int64)
        if kind == "phi":
            out[nxt + 1] = np.stack(
                [backbone[nxt, 2], backbone[nxt + 1, 0], backbone[nxt + 1, 1], backbone[nxt + 1, 2]], 1
            )
        elif kind == "psi":
            out[nxt] = np.stack([backbone[nxt, 0], backbone[nxt, 1], backbone[nxt, 2], backbone[nxt + 1, 0]], 1)
        else:
            out[nxt] = np.stack([backbone[nxt, 1], backbone[nxt, 2], backbone[nxt + 1, 0], backbone[nxt + 1, 1]], 1)
        out[(out < 0).any(axis=1)] = -1
        return out
    which = int(kind[3]) - 1
    side = atom_table(structure, _SIDE_NAMES)
    column = {name: k for k, name in enumerate(_SIDE_NAMES)}
    for r, res_name in enumerate(structure.residues.res_name):
        quads = CHI_ATOMS.get(str(res_name), ())
        if which < len(quads):
            row = side[r, [column[name] for name in quads[which]]]
            if (row >= 0).all():
                out[r] = row
    return out


def dihedrals(structure: Structure, kinds: Sequence[str] = DIHEDRALS) -> dict[str, np.ndarray]:
    """Backbone and side-chain dihedral angles of every residue, in degrees.

    Parameters
    ----------
    structure : Structure
        Only the first model of an ensemble is used.
    kinds : sequence of str
        Any of ``phi``, ``psi``, ``omega``, ``chi1`` ... ``chi4`` (see
        :func:`dihedral_quartets`).

    Returns
    -------
    dict of str to ndarray, shape=(n_residues,), dtype=float64
        Angles in ``(-180, 180]``, NaN where the angle is not defined (chain ends,
        breaks, missing atoms, residues without that chi).

    Examples
    --------
    >>> from workbench.analysis import build_backbone
    >>> angles = dihedrals(build_backbone([-60.0] * 4, [-45.0] * 4), ["phi", "psi"])
    >>> [round(float(a), 3) for a in angles["psi"][:3]]
    [-45.0, -45.0, -45.0]
    """
    return {kind: np.degrees(kernel.dihedrals(structure.coords, dihedral_quartets(structure, kind))) for kind in kinds}


def radius_of_gyration(structure: Structure, atoms: AtomSelection = "heavy", mass_weighted: bool = False) -> float:
    """Radius of gyration of the selected atoms, Å.

    Parameters
    ----------
    structure : Structure
    atoms : {"CA", "backbone", "heavy", "all"}
    mass_weighted : bool
        Weight atoms by their standard atomic mass (otherwise equally).

    Returns
    -------
    float
    """
    index = select_atoms(structure, atoms)
    if len(index) == 0:
        raise ValueError(f"the structure has no {atoms} atoms of amino-acid residues")
    weights = np.ones(len(index))
    if mass_weighted:
        import gemmi

        weights = np.array([gemmi.Element(str(e)).weight for e in structure.element[index]])
    return float(kernel.radius_of_gyration(np.ascontiguousarray(structure.coords[index]), weights))


def distance_map(structure: Structure, atoms: AtomSelection = "CA") -> np.ndarray:
    """All distances between the selected atoms.

    Returns
    -------
    ndarray, shape=(n_selected, n_selected), dtype=float32
        Å, in the order of :func:`~workbench.analysis.select_atoms`.
    """
    coords = np.ascontiguousarray(structure.coords[select_atoms(structure, atoms)])
    return neighbors.distance_matrix(coords, coords)


def contact_map(structure: Structure, atoms: AtomSelection = "CA", cutoff: float = 8.0) -> np.ndarray:
    """Which selected atoms are closer than ``cutoff`` (cell list, O(n) for proteins).

    Returns
    -------
    ndarray, shape=(n_selected, n_selected), dtype=bool
        True on the diagonal.
    """
    if not cutoff > 0:
        raise ValueError(f"cutoff must be positive, got {cutoff}")
    coords = np.ascontiguousarray(structure.coords[select_atoms(structure, atoms)])
    return neighbors.contact_matrix(coords, float(cutoff))


def contacts(coords: np.ndarray, cutoff: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs of points closer than ``cutoff``, as sparse arrays (cell list).

    Parameters
    ----------
    coords : array_like, shape=(n, 3)
        Å.
    cutoff : float
        Å.

    Returns
    -------
    first, second : ndarray, shape=(m,), dtype=int64
        ``first < second``, sorted.
    distance : ndarray, shape=(m,), dtype=float32
    """
    if not cutoff > 0:
        raise ValueError(f"cutoff must be positive, got {cutoff}")
    return neighbors.pairs_within(as_coordinates(coords, "coords", 2), float(cutoff))


def place_atoms(
    seed: ArrayLike,
    references: ArrayLike,
    bonds: ArrayLike,
    angles: ArrayLike,
    torsions: ArrayLike,
) -> np.ndarray:
    """Build atoms from internal coordinates (NeRF; Parsons et al. 2005).

    Parameters
    ----------
    seed : array_like, shape=(s, 3)
        Positions of the first ``s >= 3`` atoms, Å.
    references : array_like of int, shape=(m, 3)
        For new atom ``s + k``, the indices of A, B, C among the atoms before it.
    bonds : array_like, shape=(m,)
        Bond lengths C-D, Å.
    angles, torsions : array_like, shape=(m,)
        Bond angles B-C-D and dihedrals A-B-C-D, degrees.

    Returns
    -------
    ndarray, shape=(s + m, 3), dtype=float64
    """
    seed = np.ascontiguousarray(np.asarray(seed, dtype=np.float64))
    references = np.ascontiguousarray(np.asarray(references, dtype=np.int64))
    m = len(references)
    values = [np.ascontiguousarray(np.asarray(v, dtype=np.float64).reshape(-1)) for v in (bonds, angles, torsions)]
    if seed.ndim != 2 or seed.shape[1] != 3 or len(seed) < 3:
        raise ValueError(f"seed must have shape (s >= 3, 3), got {seed.shape}")
    if references.shape != (m, 3) or any(len(v) != m for v in values):
        raise ValueError("references must have shape (m, 3) and bonds, angles, torsions length m")
    if m and ((references < 0).any() or (references >= len(seed) + np.arange(m)[:, None]).any()):
        raise ValueError("each reference must name an atom built before the new one")
    if not all(np.isfinite(v).all() for v in (seed, *values)):
        raise ValueError("NaN or infinite internal coordinates")
    return kernel.nerf_build(seed, references, values[0], np.radians(values[1]), np.radians(values[2]))


def build_backbone(
    phi: ArrayLike,
    psi: ArrayLike,
    omega: ArrayLike = 180.0,
    sequence: str | None = None,
    chain_id: str = "A",
) -> Structure:
    """An ideal backbone (N, CA, C, O) with given dihedrals, built by NeRF.

    Parameters
    ----------
    phi, psi : array_like of float, length n_residues
        Degrees; ``phi[0]`` and ``psi[-1]`` are not used except that ``psi[-1]``
        places the last carbonyl O.
    omega : float or array_like of float
        Degrees, per peptide bond (``omega[i]`` between residues i and i+1).
    sequence : str, optional
        One-letter sequence (glycine by default).
    chain_id : str

    Returns
    -------
    Structure
        Residues numbered from 1, Engh–Huber bond lengths and angles
        (:data:`IDEAL_BACKBONE`).
    """
    phi = np.asarray(phi, dtype=np.float64)
    psi = np.asarray(psi, dtype=np.float64)
    n = len(phi)
    if n < 1 or len(psi) != n:
        raise ValueError("phi and psi must have the same, positive length")
    omega = np.broadcast_to(np.asarray(omega, dtype=np.float64), (n,))
    g = IDEAL_BACKBONE
    # Seed N, CA, C of residue 1 in a plane.
    ang = np.radians(g["N-CA-C"])
    seed = np.array(
        [[0.0, 0.0, 0.0], [g["N-CA"], 0.0, 0.0], [g["N-CA"] - g["CA-C"] * np.cos(ang), g["CA-C"] * np.sin(ang), 0.0]]
    )
    references, bonds, angles, torsions = [], [], [], []
    for i in range(1, n):
        base = 3 * (i - 1)
        n_prev, ca_prev, c_prev = base, base + 1, base + 2
        references.append((n_prev, ca_prev, c_prev))
        bonds.append(g["C-N"])
        angles.append(g["CA-C-N"])
        torsions.append(psi[i - 1])
        n_new = 3 * i
        references.append((ca_prev, c_prev, n_new))
        bonds.append(g["N-CA"])
        angles.append(g["C-N-CA"])
        torsions.append(omega[i - 1])
        references.append((c_prev, n_new, n_new + 1))
        bonds.append(g["CA-C"])
        angles.append(g["N-CA-C"])
        torsions.append(phi[i])
    chain = place_atoms(seed, np.array(references, dtype=np.int64).reshape(-1, 3), bonds, angles, torsions)
    # Carbonyl O in the peptide plane, opposite N(i+1): torsion N-CA-C-O = psi + 180.
    o_refs = np.array([(3 * i, 3 * i + 1, 3 * i + 2) for i in range(n)], dtype=np.int64)
    oxygens = np.empty((n, 3))
    point = np.empty(3)
    for i in range(n):
        a, b, c = (chain[j] for j in o_refs[i])
        kernel.place_atom(a, b, c, g["C-O"], np.radians(g["CA-C-O"]), np.radians(psi[i] + 180.0), point)
        oxygens[i] = point
    coords = np.concatenate([chain.reshape(n, 3, 3), oxygens[:, None]], axis=1).reshape(-1, 3)
    letters = sequence or "G" * n
    if len(letters) != n:
        raise ValueError(f"sequence has {len(letters)} residues, phi has {n}")
    names = _three_letter(letters)
    return Structure(
        coords=coords,
        atom_name=np.tile(["N", "CA", "C", "O"], n),
        element=np.tile(["N", "C", "C", "O"], n),
        res_name=np.repeat(names, 4),
        res_id=np.repeat(np.arange(1, n + 1), 4),
        ins_code=np.full(4 * n, ""),
        chain_id=np.full(4 * n, chain_id),
        b_factor=np.zeros(4 * n),
        occupancy=np.ones(4 * n),
        hetero=np.zeros(4 * n, dtype=bool),
        name="backbone",
    )


def _three_letter(sequence: str) -> list[str]:
    from workbench.residues import STANDARD_AMINO_ACIDS

    by_letter = {one_letter_code(name): name for name in STANDARD_AMINO_ACIDS}
    try:
        return [by_letter[letter] for letter in sequence.upper()]
    except KeyError as error:
        raise ValueError(f"unknown amino-acid letter {error.args[0]!r} in sequence") from None
