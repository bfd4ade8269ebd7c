"""Internal geometry: distances, angles, dihedrals, radius of gyration, NeRF chain building.

Angles are in radians here; :mod:`workbench.analysis` converts to degrees.
Dihedrals follow the IUPAC convention: for atoms A-B-C-D the angle is in
``(-pi, pi]``, positive when, looking along B->C, A must turn clockwise to eclipse D.

Examples
--------
A trans and a cis arrangement of four atoms in a plane (180 and 0 degrees by definition; the sign
of zero is not defined):

>>> import numpy as np
>>> coords = np.array([[1, 0, 0], [0, 0, 0], [0, 1, 0], [-1, 1, 0], [1, 1, 0]], dtype=np.float32)
>>> np.abs(np.degrees(dihedrals(coords, np.array([[0, 1, 2, 3], [0, 1, 2, 4]])))).round(6).tolist()
[180.0, 0.0]
"""

from __future__ import annotations

import numpy as np
from numba import prange

from workbench.kernels._config import jit, jit_variants


@jit
def radius_of_gyration(coords: np.ndarray, weights: np.ndarray) -> float:
    """Radius of gyration ``sqrt(sum w |x - x̄_w|² / sum w)``.

    Parameters
    ----------
    coords : ndarray, shape=(n, 3), dtype=float32
    weights : ndarray, shape=(n,), dtype=float64
        Non-negative weights (ones, or atomic masses); their sum must be positive.

    Returns
    -------
    float
    """
    n = coords.shape[0]
    w_sum = 0.0
    cx = cy = cz = 0.0
    for k in range(n):
        w = weights[k]
        w_sum += w
        cx += w * coords[k, 0]
        cy += w * coords[k, 1]
        cz += w * coords[k, 2]
    cx /= w_sum
    cy /= w_sum
    cz /= w_sum
    total = 0.0
    for k in range(n):
        dx = coords[k, 0] - cx
        dy = coords[k, 1] - cy
        dz = coords[k, 2] - cz
        total += weights[k] * (dx * dx + dy * dy + dz * dz)
    return np.sqrt(total / w_sum)


@jit
def bond_lengths(coords: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Distances between index pairs.

    Parameters
    ----------
    coords : ndarray, shape=(n, 3), dtype=float32
    pairs : ndarray, shape=(m, 2), dtype=int32 or int64

    Returns
    -------
    ndarray, shape=(m,), dtype=float64
    """
    m = pairs.shape[0]
    out = np.empty(m)
    for k in range(m):
        i = pairs[k, 0]
        j = pairs[k, 1]
        dx = np.float64(coords[j, 0]) - coords[i, 0]
        dy = np.float64(coords[j, 1]) - coords[i, 1]
        dz = np.float64(coords[j, 2]) - coords[i, 2]
        out[k] = np.sqrt(dx * dx + dy * dy + dz * dz)
    return out


@jit
def bond_angles(coords: np.ndarray, triplets: np.ndarray) -> np.ndarray:
    """Angles A-B-C at the middle atom, in radians.

    Parameters
    ----------
    coords : ndarray, shape=(n, 3), dtype=float32
    triplets : ndarray, shape=(m, 3), dtype=int32 or int64

    Returns
    -------
    ndarray, shape=(m,), dtype=float64
        In ``[0, pi]``.
    """
    m = triplets.shape[0]
    out = np.empty(m)
    for k in range(m):
        a = triplets[k, 0]
        b = triplets[k, 1]
        c = triplets[k, 2]
        ux = np.float64(coords[a, 0]) - coords[b, 0]
        uy = np.float64(coords[a, 1]) - coords[b, 1]
        uz = np.float64(coords[a, 2]) - coords[b, 2]
        vx = np.float64(coords[c, 0]) - coords[b, 0]
        vy = np.float64(coords[c, 1]) - coords[b, 1]
        vz = np.float64(coords[c, 2]) - coords[b, 2]
        # atan2(|u x v|, u.v) is accurate near 0 and pi, unlike acos.
        cx = uy * vz - uz * vy
        cy = uz * vx - ux * vz
        cz = ux * vy - uy * vx
        out[k] = np.arctan2(np.sqrt(cx * cx + cy * cy + cz * cz), ux * vx + uy * vy + uz * vz)
    return out


@jit
def _dihedral(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray) -> float:
    b1x = p1[0] - p0[0]
    b1y = p1[1] - p0[1]
    b1z = p1[2] - p0[2]
    b2x = p2[0] - p1[0]
    b2y = p2[1] - p1[1]
    b2z = p2[2] - p1[2]
    b3x = p3[0] - p2[0]
    b3y = p3[1] - p2[1]
    b3z = p3[2] - p2[2]
    # n1 = b1 x b2, n2 = b2 x b3
    n1x = b1y * b2z - b1z * b2y
    n1y = b1z * b2x - b1x * b2z
    n1z = b1x * b2y - b1y * b2x
    n2x = b2y * b3z - b2z * b3y
    n2y = b2z * b3x - b2x * b3z
    n2z = b2x * b3y - b2y * b3x
    b2n = np.sqrt(b2x * b2x + b2y * b2y + b2z * b2z)
    # m1 = n1 x b2/|b2|
    m1x = (n1y * b2z - n1z * b2y) / b2n
    m1y = (n1z * b2x - n1x * b2z) / b2n
    m1z = (n1x * b2y - n1y * b2x) / b2n
    x = n1x * n2x + n1y * n2y + n1z * n2z
    y = m1x * n2x + m1y * n2y + m1z * n2z
    return -np.arctan2(y, x)


@jit
def dihedrals(coords: np.ndarray, quartets: np.ndarray) -> np.ndarray:
    """Dihedral angles of index quartets, in radians.

    Parameters
    ----------
    coords : ndarray, shape=(n, 3), dtype=float32
    quartets : ndarray, shape=(m, 4), dtype=int32 or int64
        Rows with a negative index give NaN (an angle that is not defined).

    Returns
    -------
    ndarray, shape=(m,), dtype=float64
        In ``(-pi, pi]``; NaN for undefined rows and for collinear atoms.
    """
    m = quartets.shape[0]
    out = np.empty(m)
    p = np.empty((4, 3))
    for k in range(m):
        bad = False
        for q in range(4):
            idx = quartets[k, q]
            if idx < 0:
                bad = True
                break
            for a in range(3):
                p[q, a] = coords[idx, a]
        if bad:
            out[k] = np.nan
            continue
        value = _dihedral(p[0], p[1], p[2], p[3])
        out[k] = np.pi if value == -np.pi else value
    return out


def _dihedrals_frames(frames: np.ndarray, quartets: np.ndarray, out: np.ndarray) -> None:
    """:func:`dihedrals` of every frame: ``frames`` (f, n, 3) float32 into ``out`` (f, m) float64."""
    for f in prange(frames.shape[0]):
        out[f] = dihedrals(frames[f], quartets)


dihedrals_frames = jit_variants(_dihedrals_frames)


@jit
def place_atom(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, bond: float, angle: float, torsion: float, out: np.ndarray
) -> None:
    """Natural extension reference frame (NeRF): place D from A, B, C and internal coordinates.

    Parameters
    ----------
    a, b, c : ndarray, shape=(3,), dtype=float64
        Positions of the three preceding atoms.
    bond : float
        Length ``|CD|``.
    angle : float
        Bond angle B-C-D, radians.
    torsion : float
        Dihedral A-B-C-D, radians.
    out : ndarray, shape=(3,), dtype=float64
        Output position of D.

    Notes
    -----
    Parsons et al., J. Comput. Chem. 26, 1063 (2005): D is built in the frame of
    C with axes ``bc``, ``n x bc`` and ``n = ab x bc``, which makes the torsion
    exact by construction.
    """
    bcx = c[0] - b[0]
    bcy = c[1] - b[1]
    bcz = c[2] - b[2]
    norm = np.sqrt(bcx * bcx + bcy * bcy + bcz * bcz)
    bcx /= norm
    bcy /= norm
    bcz /= norm
    abx = b[0] - a[0]
    aby = b[1] - a[1]
    abz = b[2] - a[2]
    nx = aby * bcz - abz * bcy
    ny = abz * bcx - abx * bcz
    nz = abx * bcy - aby * bcx
    norm = np.sqrt(nx * nx + ny * ny + nz * nz)
    nx /= norm
    ny /= norm
    nz /= norm
    mx = ny * bcz - nz * bcy
    my = nz * bcx - nx * bcz
    mz = nx * bcy - ny * bcx
    d0 = -bond * np.cos(angle)
    d1 = bond * np.sin(angle) * np.cos(torsion)
    d2 = bond * np.sin(angle) * np.sin(torsion)
    out[0] = c[0] + bcx * d0 + mx * d1 + nx * d2
    out[1] = c[1] + bcy * d0 + my * d1 + ny * d2
    out[2] = c[2] + bcz * d0 + mz * d1 + nz * d2


@jit
def nerf_build(
    seed: np.ndarray, references: np.ndarray, bonds: np.ndarray, angles: np.ndarray, torsions: np.ndarray
) -> np.ndarray:
    """Build atoms one by one from internal coordinates (NeRF), branches allowed.

    Parameters
    ----------
    seed : ndarray, shape=(s, 3), dtype=float64
        Positions of the first ``s >= 3`` atoms, not built.
    references : ndarray, shape=(m, 3), dtype=int64
        For new atom ``s + k``: the indices of A, B, C (all ``< s + k``).
    bonds, angles, torsions : ndarray, shape=(m,), dtype=float64
        ``|CD|`` in length units, angle B-C-D and dihedral A-B-C-D in radians.

    Returns
    -------
    ndarray, shape=(s + m, 3), dtype=float64
    """
    s = seed.shape[0]
    m = references.shape[0]
    out = np.empty((s + m, 3))
    out[:s] = seed
    point = np.empty(3)
    for k in range(m):
        place_atom(
            out[references[k, 0]],
            out[references[k, 1]],
            out[references[k, 2]],
            bonds[k],
            angles[k],
            torsions[k],
            point,
        )
        out[s + k] = point
    return out


@jit
def internal_coordinates(coords: np.ndarray, references: np.ndarray, start: int) -> tuple:
    """Inverse of :func:`nerf_build`: bonds, angles and torsions of atoms ``start, start+1, ...``.

    Parameters
    ----------
    coords : ndarray, shape=(n, 3), dtype=float64
    references : ndarray, shape=(n - start, 3), dtype=int64
        For atom ``start + k``: the indices of A, B, C.
    start : int
        Index of the first built atom (the number of seed atoms).

    Returns
    -------
    bonds, angles, torsions : ndarray, shape=(n - start,), dtype=float64
    """
    m = references.shape[0]
    bonds = np.empty(m)
    angles = np.empty(m)
    torsions = np.empty(m)
    for k in range(m):
        a = references[k, 0]
        b = references[k, 1]
        c = references[k, 2]
        d = start + k
        dx = coords[d, 0] - coords[c, 0]
        dy = coords[d, 1] - coords[c, 1]
        dz = coords[d, 2] - coords[c, 2]
        bonds[k] = np.sqrt(dx * dx + dy * dy + dz * dz)
        ux = coords[b, 0] - coords[c, 0]
        uy = coords[b, 1] - coords[c, 1]
        uz = coords[b, 2] - coords[c, 2]
        cx = uy * dz - uz * dy
        cy = uz * dx - ux * dz
        cz = ux * dy - uy * dx
        angles[k] = np.arctan2(np.sqrt(cx * cx + cy * cy + cz * cz), ux * dx + uy * dy + uz * dz)
        torsions[k] = _dihedral(coords[a], coords[b], coords[c], coords[d])
    return bonds, angles, torsions
