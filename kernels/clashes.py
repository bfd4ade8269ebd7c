"""Atom overlaps: pairs of atoms in different residues closer than their van der Waals contact.

A pair ``(i, j)`` overlaps when ``d_ij < r_i + r_j - tolerance``; the kernel
returns every such pair with its overlap ``r_i + r_j - tolerance - d_ij``.
Which overlaps are clashes (bonded pairs across residues, such as the peptide
C-N bond or a disulfide, are not) is decided by :mod:`workbench.analysis`.
"""

from __future__ import annotations

import numpy as np

from workbench.kernels._config import jit
from workbench.kernels.neighbors import build_cells


@jit
def overlaps(coords: np.ndarray, radii: np.ndarray, residue: np.ndarray, tolerance: float) -> tuple:
    """Pairs of atoms from different residues that overlap by more than ``tolerance``.

    Parameters
    ----------
    coords : ndarray, shape=(n, 3), dtype=float32
    radii : ndarray, shape=(n,), dtype=float32
        Van der Waals radii, Å.
    residue : ndarray, shape=(n,), dtype=int64
        Residue index of each atom; pairs within a residue are skipped.
    tolerance : float
        Allowed overlap, Å.

    Returns
    -------
    first, second : ndarray, shape=(m,), dtype=int64
        Atom indices, ``first < second``.
    overlap : ndarray, shape=(m,), dtype=float64
        ``r_i + r_j - tolerance - d_ij`` (> 0), Å.
    """
    n = coords.shape[0]
    r_max = 0.0
    for k in range(n):
        r_max = max(r_max, np.float64(radii[k]))
    cutoff = max(2.0 * r_max - tolerance, 1e-3)
    first = np.empty(16, dtype=np.int64)
    second = np.empty(16, dtype=np.int64)
    amount = np.empty(16)
    m = 0
    if n == 0:
        return first[:0], second[:0], amount[:0]
    _, _, dims, start, order, cell_of = build_cells(coords, cutoff)
    for i in range(n):
        for cx in range(max(cell_of[i, 0] - 1, 0), min(cell_of[i, 0] + 2, dims[0])):
            for cy in range(max(cell_of[i, 1] - 1, 0), min(cell_of[i, 1] + 2, dims[1])):
                for cz in range(max(cell_of[i, 2] - 1, 0), min(cell_of[i, 2] + 2, dims[2])):
                    c = (cx * dims[1] + cy) * dims[2] + cz
                    for r in range(start[c], start[c + 1]):
                        j = order[r]
                        if j <= i or residue[j] == residue[i]:
                            continue
                        limit = np.float64(radii[i]) + radii[j] - tolerance
                        dx = np.float64(coords[j, 0]) - coords[i, 0]
                        dy = np.float64(coords[j, 1]) - coords[i, 1]
                        dz = np.float64(coords[j, 2]) - coords[i, 2]
                        d = np.sqrt(dx * dx + dy * dy + dz * dz)
                        if d < limit:
                            if m == first.shape[0]:
                                first = _grow(first)
                                second = _grow(second)
                                amount = _grow(amount)
                            first[m] = i
                            second[m] = j
                            amount[m] = limit - d
                            m += 1
    keys = first[:m] * n + second[:m]
    by_pair = np.argsort(keys)
    return first[:m][by_pair], second[:m][by_pair], amount[:m][by_pair]


@jit
def _grow(array: np.ndarray) -> np.ndarray:
    grown = np.empty(2 * array.shape[0], dtype=array.dtype)
    grown[: array.shape[0]] = array
    return grown
