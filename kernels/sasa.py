"""Shrake–Rupley solvent-accessible surface area with a cell list.

Each atom's sphere (van der Waals radius plus probe) carries ``n_points`` test
points on a golden-section spiral, the same construction as MDTraj's, so that at
the same point count both programs test the same points. A point is accessible
when no other atom's expanded sphere contains it (strict inequality); the atom's
area is the accessible fraction of ``4 pi r²``. Neighbours come from a cell list
(MDTraj compares every pair of atoms).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from workbench.kernels._config import jit_variants
from workbench.kernels.neighbors import build_cells


def sphere_points(n_points: int) -> np.ndarray:
    """Points on the unit sphere by the golden-section spiral (MDTraj's construction).

    Parameters
    ----------
    n_points : int

    Returns
    -------
    ndarray, shape=(n_points, 3), dtype=float32
    """
    i = np.arange(n_points, dtype=np.float64)
    increment = np.float32(np.pi * (3.0 - np.sqrt(5.0)))
    offset = np.float32(2.0 / n_points)
    y = (i * offset - 1.0 + offset / 2.0).astype(np.float32)
    r = np.sqrt(1.0 - y.astype(np.float64) ** 2).astype(np.float32)
    phi = (i.astype(np.float32) * increment).astype(np.float32)
    points = np.empty((n_points, 3), dtype=np.float32)
    points[:, 0] = np.cos(phi.astype(np.float64)) * r
    points[:, 1] = y
    points[:, 2] = np.sin(phi.astype(np.float64)) * r
    return points


def _atom_areas(coords: np.ndarray, radii: np.ndarray, points: np.ndarray, out: np.ndarray) -> None:
    """Accessible surface area of every atom.

    Parameters
    ----------
    coords : ndarray, shape=(n, 3), dtype=float32
    radii : ndarray, shape=(n,), dtype=float32
        Van der Waals radius plus probe radius of each atom (> 0).
    points : ndarray, shape=(p, 3), dtype=float32
        Unit-sphere test points (see :func:`sphere_points`).
    out : ndarray, shape=(n,), dtype=float64
        Output areas, in squared length units.

    Notes
    -----
    Test point ``x_i + r_i u`` lies inside neighbour ``j`` exactly when
    ``u . (x_j - x_i) > (r_i² + d_ij² - r_j²) / (2 r_i)``: each neighbour buries a
    spherical cap. The kernel marks, neighbour by neighbour, the points of each cap
    with one vectorised dot product over all points, instead of testing point by
    point with early exits; the test is the same inequality, rearranged.
    """
    n = coords.shape[0]
    n_points = points.shape[0]
    if n == 0:
        return
    px = np.ascontiguousarray(points[:, 0])
    py = np.ascontiguousarray(points[:, 1])
    pz = np.ascontiguousarray(points[:, 2])
    r_max = 0.0
    for k in range(n):
        r_max = max(r_max, np.float64(radii[k]))
    _, _, dims, start, order, cell_of = build_cells(coords, 2.0 * r_max)
    for i in prange(n):
        buried = np.zeros(n_points, dtype=np.uint8)
        xi = coords[i, 0]
        yi = coords[i, 1]
        zi = coords[i, 2]
        ri = radii[i]
        for cx in range(max(cell_of[i, 0] - 1, 0), min(cell_of[i, 0] + 2, dims[0])):
            for cy in range(max(cell_of[i, 1] - 1, 0), min(cell_of[i, 1] + 2, dims[1])):
                for cz in range(max(cell_of[i, 2] - 1, 0), min(cell_of[i, 2] + 2, dims[2])):
                    c = (cx * dims[1] + cy) * dims[2] + cz
                    for q in range(start[c], start[c + 1]):
                        j = order[q]
                        if j == i:
                            continue
                        dx = coords[j, 0] - xi
                        dy = coords[j, 1] - yi
                        dz = coords[j, 2] - zi
                        d2 = dx * dx + dy * dy + dz * dz
                        rj = radii[j]
                        cut = ri + rj
                        if d2 < cut * cut:
                            threshold = (ri * ri + d2 - rj * rj) / (np.float32(2.0) * ri)
                            for p in range(n_points):
                                buried[p] |= (px[p] * dx + py[p] * dy + pz[p] * dz) > threshold
        accessible = 0
        for p in range(n_points):
            accessible += 1 - buried[p]
        out[i] = 4.0 * np.pi * np.float64(ri) * np.float64(ri) * accessible / n_points


atom_areas = jit_variants(_atom_areas)
