"""Cell lists: all pairs of points closer than a cutoff in O(n) for bounded density.

Space is cut into cubic cells at least ``cutoff`` wide, points are sorted into
cells by a counting sort, and each point is compared only with the points of its
own and the 26 neighbouring cells. When the points are spread thin (a large box
with few points), cells are widened so that there are never more than about
``4 n`` of them, which keeps memory linear; correctness only needs cells at
least ``cutoff`` wide.
"""

from __future__ import annotations

import numpy as np

from workbench.kernels._config import jit


@jit
def build_cells(coords: np.ndarray, cutoff: float) -> tuple:
    """Sort points into a grid of cells at least ``cutoff`` wide.

    Parameters
    ----------
    coords : ndarray, shape=(n, 3), dtype=float32
    cutoff : float
        Largest distance that queries will ask for (> 0).

    Returns
    -------
    origin : ndarray, shape=(3,), dtype=float64
        Lower corner of the grid.
    size : float
        Cell width used (``>= cutoff``).
    dims : ndarray, shape=(3,), dtype=int64
        Number of cells along each axis.
    start : ndarray, shape=(n_cells + 1,), dtype=int64
        Points of cell ``c`` are ``order[start[c]:start[c + 1]]``.
    order : ndarray, shape=(n,), dtype=int64
        Point indices sorted by cell.
    cell_of : ndarray, shape=(n, 3), dtype=int64
        Cell coordinates of each point.
    """
    n = coords.shape[0]
    origin = np.zeros(3)
    upper = np.zeros(3)
    if n > 0:
        for a in range(3):
            origin[a] = coords[0, a]
            upper[a] = coords[0, a]
        for k in range(n):
            for a in range(3):
                v = np.float64(coords[k, a])
                origin[a] = min(origin[a], v)
                upper[a] = max(upper[a], v)
    size = max(cutoff, 1e-3)
    while True:
        total = 1
        dims = np.empty(3, dtype=np.int64)
        for a in range(3):
            dims[a] = int((upper[a] - origin[a]) / size) + 1
            total *= dims[a]
        if total <= 4 * n + 64:
            break
        size *= 1.26
    cell_of = np.empty((n, 3), dtype=np.int64)
    counts = np.zeros(total + 1, dtype=np.int64)
    flat = np.empty(n, dtype=np.int64)
    for k in range(n):
        for a in range(3):
            c = int((coords[k, a] - origin[a]) / size)
            cell_of[k, a] = min(max(c, 0), dims[a] - 1)
        f = (cell_of[k, 0] * dims[1] + cell_of[k, 1]) * dims[2] + cell_of[k, 2]
        flat[k] = f
        counts[f + 1] += 1
    for c in range(total):
        counts[c + 1] += counts[c]
    start = counts.copy()
    fill = counts[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    for k in range(n):
        order[fill[flat[k]]] = k
        fill[flat[k]] += 1
    return origin, size, dims, start, order, cell_of


@jit
def pairs_within(coords: np.ndarray, cutoff: float) -> tuple:
    """All pairs ``i < j`` with ``|x_i - x_j| < cutoff``.

    Parameters
    ----------
    coords : ndarray, shape=(n, 3), dtype=float32
    cutoff : float

    Returns
    -------
    first, second : ndarray, shape=(m,), dtype=int64
        Pair indices, ``first < second``, sorted by ``first`` then ``second``.
    distance : ndarray, shape=(m,), dtype=float32
    """
    n = coords.shape[0]
    _, _, dims, start, order, cell_of = build_cells(coords, cutoff)
    cut2 = cutoff * cutoff
    capacity = max(16, 8 * n)
    first = np.empty(capacity, dtype=np.int64)
    second = np.empty(capacity, dtype=np.int64)
    distance = np.empty(capacity, dtype=np.float32)
    m = 0
    found = np.empty(n, dtype=np.int64)
    found_d = np.empty(n, dtype=np.float32)
    for i in range(n):
        xi = coords[i, 0]
        yi = coords[i, 1]
        zi = coords[i, 2]
        count = 0
        for cx in range(max(cell_of[i, 0] - 1, 0), min(cell_of[i, 0] + 2, dims[0])):
            for cy in range(max(cell_of[i, 1] - 1, 0), min(cell_of[i, 1] + 2, dims[1])):
                for cz in range(max(cell_of[i, 2] - 1, 0), min(cell_of[i, 2] + 2, dims[2])):
                    c = (cx * dims[1] + cy) * dims[2] + cz
                    for p in range(start[c], start[c + 1]):
                        j = order[p]
                        if j <= i:
                            continue
                        dx = coords[j, 0] - xi
                        dy = coords[j, 1] - yi
                        dz = coords[j, 2] - zi
                        d2 = dx * dx + dy * dy + dz * dz
                        if d2 < cut2:
                            found[count] = j
                            found_d[count] = np.sqrt(d2)
                            count += 1
        if m + count > capacity:
            capacity = max(2 * capacity, m + count)
            first = _grow_int(first, capacity)
            second = _grow_int(second, capacity)
            grown = np.empty(capacity, dtype=np.float32)
            grown[:m] = distance[:m]
            distance = grown
        sorted_j = np.argsort(found[:count])
        for q in range(count):
            first[m] = i
            second[m] = found[sorted_j[q]]
            distance[m] = found_d[sorted_j[q]]
            m += 1
    return first[:m].copy(), second[:m].copy(), distance[:m].copy()


@jit
def _grow_int(array: np.ndarray, capacity: int) -> np.ndarray:
    grown = np.empty(capacity, dtype=array.dtype)
    grown[: array.shape[0]] = array
    return grown


@jit
def contact_matrix(coords: np.ndarray, cutoff: float) -> np.ndarray:
    """Dense boolean contact map ``|x_i - x_j| < cutoff`` (diagonal true).

    Parameters
    ----------
    coords : ndarray, shape=(n, 3), dtype=float32
    cutoff : float

    Returns
    -------
    ndarray, shape=(n, n), dtype=bool
    """
    n = coords.shape[0]
    out = np.zeros((n, n), dtype=np.bool_)
    first, second, _ = pairs_within(coords, cutoff)
    for k in range(first.shape[0]):
        out[first[k], second[k]] = True
        out[second[k], first[k]] = True
    for i in range(n):
        out[i, i] = True
    return out


@jit
def distance_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All distances between two point sets.

    Parameters
    ----------
    a : ndarray, shape=(n, 3), dtype=float32
    b : ndarray, shape=(m, 3), dtype=float32

    Returns
    -------
    ndarray, shape=(n, m), dtype=float32
    """
    n = a.shape[0]
    m = b.shape[0]
    out = np.empty((n, m), dtype=np.float32)
    for i in range(n):
        x = a[i, 0]
        y = a[i, 1]
        z = a[i, 2]
        for j in range(m):
            dx = b[j, 0] - x
            dy = b[j, 1] - y
            dz = b[j, 2] - z
            out[i, j] = np.sqrt(dx * dx + dy * dy + dz * dz)
    return out
