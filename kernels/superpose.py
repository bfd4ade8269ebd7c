"""Optimal superposition and RMSD by the quaternion characteristic polynomial (QCP).

Theobald (2005) and Liu, Agrafiotis & Theobald (2010): the minimal RMSD after
superposition follows from the largest eigenvalue of Horn's 4x4 key matrix,
found by Newton iteration on its characteristic polynomial, without ever
building a rotation. When a rotation is wanted, it comes from the eigenvector of
that eigenvalue (a unit quaternion), computed with a cyclic Jacobi sweep on the
4x4 symmetric matrix, which stays well defined for degenerate inputs (collinear
atoms, a single atom) where the adjugate shortcut of the QCP paper breaks down.

Conventions: coordinates are C-contiguous float32 arrays of shape ``(n, 3)``;
sums run in float64. A transform ``(rotation, translation)`` superposes
``mobile`` onto ``target`` as ``mobile @ rotation.T + translation``.

Precentred frames (:data:`centre_frames`, :data:`rmsd_centred`,
:data:`rmsd_from_products`) are centred once and stored axis-major, shape
``(n_frames, 3, n)``, with their traces (sums of squares); an RMSD then needs only
the 3x3 inner product of two stored frames. The all-against-all inner products
come from a float64 matrix product of those rows, computed by the caller (BLAS).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from workbench.kernels._config import jit, jit_variants

#: Relative precision at which the Newton iteration for the eigenvalue stops.
EIGENVALUE_PRECISION = 1e-11
#: Newton steps allowed before falling back to Jacobi (a simple root needs 3 to 6).
_NEWTON_STEPS = 12
#: Relative size of the characteristic polynomial's slope below which the largest
#: eigenvalue counts as (near-)double and is taken from Jacobi instead.
_DEGENERATE = 4e-4


@jit
def qcp_max_eigenvalue(s: np.ndarray, e0: float) -> float:
    """Largest eigenvalue of Horn's key matrix by Newton iteration (QCP).

    Parameters
    ----------
    s : ndarray, shape=(3, 3), dtype=float64
        Inner-product matrix ``sum_k (x_k - x̄)ᵀ (y_k - ȳ)`` of mobile ``x`` and target ``y``.
    e0 : float
        ``(G_x + G_y) / 2`` with ``G`` the sum of squared centred coordinates;
        an upper bound of the eigenvalue and the iteration's start.

    Returns
    -------
    float
        The largest eigenvalue; ``(G_x + G_y - 2 λ) / n`` is the squared RMSD.
    """
    return qcp_eigenvalue9(s[0, 0], s[0, 1], s[0, 2], s[1, 0], s[1, 1], s[1, 2], s[2, 0], s[2, 1], s[2, 2], e0)


@jit
def qcp_eigenvalue9(
    sxx: float,
    sxy: float,
    sxz: float,
    syx: float,
    syy: float,
    syz: float,
    szx: float,
    szy: float,
    szz: float,
    e0: float,
) -> float:
    """:func:`qcp_max_eigenvalue` with the inner-product matrix as nine numbers (row by row).

    The form used in loops over many frames or pairs: no array is allocated unless
    the Newton iteration falls back to Jacobi.
    """
    sxx2 = sxx * sxx
    syy2 = syy * syy
    szz2 = szz * szz
    sxy2 = sxy * sxy
    syz2 = syz * syz
    sxz2 = sxz * sxz
    syx2 = syx * syx
    szy2 = szy * szy
    szx2 = szx * szx
    syzszymsyyszz2 = 2.0 * (syz * szy - syy * szz)
    sxx2syy2szz2syz2szy2 = syy2 + szz2 - sxx2 + syz2 + szy2
    c2 = -2.0 * (sxx2 + syy2 + szz2 + sxy2 + syx2 + sxz2 + szx2 + syz2 + szy2)
    c1 = 8.0 * (
        sxx * syz * szy + syy * szx * sxz + szz * sxy * syx - sxx * syy * szz - syz * szx * sxy - szy * syx * sxz
    )
    sxzpszx = sxz + szx
    syzpszy = syz + szy
    sxypsyx = sxy + syx
    syzmszy = syz - szy
    sxzmszx = sxz - szx
    sxymsyx = sxy - syx
    sxxpsyy = sxx + syy
    sxxmsyy = sxx - syy
    sxy2sxz2syx2szx2 = sxy2 + sxz2 - syx2 - szx2
    c0 = (
        sxy2sxz2syx2szx2 * sxy2sxz2syx2szx2
        + (sxx2syy2szz2syz2szy2 + syzszymsyyszz2) * (sxx2syy2szz2syz2szy2 - syzszymsyyszz2)
        + (-sxzpszx * syzmszy + sxymsyx * (sxxmsyy - szz)) * (-sxzmszx * syzpszy + sxymsyx * (sxxmsyy + szz))
        + (-sxzpszx * syzpszy - sxypsyx * (sxxpsyy - szz)) * (-sxzmszx * syzmszy - sxypsyx * (sxxpsyy + szz))
        + (sxypsyx * syzpszy + sxzpszx * (sxxmsyy + szz)) * (-sxymsyx * syzmszy + sxzpszx * (sxxpsyy + szz))
        + (sxypsyx * syzmszy + sxzmszx * (sxxmsyy - szz)) * (-sxymsyx * syzpszy + sxzmszx * (sxxpsyy - szz))
    )
    lam = e0
    if e0 <= 0.0:
        return 0.0
    converged = False
    for _ in range(_NEWTON_STEPS):
        old = lam
        x2 = lam * lam
        b = (x2 + c2) * lam
        a = b + c1
        denominator = 2.0 * x2 * lam + b + a
        if denominator == 0.0:
            break
        lam -= (a * lam + c0) / denominator
        if abs(lam - old) < abs(EIGENVALUE_PRECISION * lam):
            converged = True
            break
    # A (near-)double largest eigenvalue, from (near-)collinear atoms, makes the
    # polynomial's derivative vanish at the root: Newton then converges only linearly
    # and rounding limits it to ~sqrt(eps). Jacobi on the 4x4 matrix is exact there.
    derivative = 4.0 * lam * lam * lam + 2.0 * c2 * lam + c1
    if not converged or not np.isfinite(lam) or abs(derivative) < _DEGENERATE * abs(lam) ** 3:
        s = np.empty((3, 3))
        s[0, 0], s[0, 1], s[0, 2] = sxx, sxy, sxz
        s[1, 0], s[1, 1], s[1, 2] = syx, syy, syz
        s[2, 0], s[2, 1], s[2, 2] = szx, szy, szz
        key = np.empty((4, 4))
        _key_matrix(s, key)
        vectors = np.empty((4, 4))
        _jacobi4(key, vectors)
        lam = max(key[0, 0], key[1, 1], key[2, 2], key[3, 3])
    return lam


@jit
def _key_matrix(s: np.ndarray, key: np.ndarray) -> None:
    """Fill Horn's symmetric 4x4 key matrix from the 3x3 inner-product matrix."""
    sxx, sxy, sxz = s[0, 0], s[0, 1], s[0, 2]
    syx, syy, syz = s[1, 0], s[1, 1], s[1, 2]
    szx, szy, szz = s[2, 0], s[2, 1], s[2, 2]
    key[0, 0] = sxx + syy + szz
    key[0, 1] = key[1, 0] = syz - szy
    key[0, 2] = key[2, 0] = szx - sxz
    key[0, 3] = key[3, 0] = sxy - syx
    key[1, 1] = sxx - syy - szz
    key[1, 2] = key[2, 1] = sxy + syx
    key[1, 3] = key[3, 1] = szx + sxz
    key[2, 2] = -sxx + syy - szz
    key[2, 3] = key[3, 2] = syz + szy
    key[3, 3] = -sxx - syy + szz


@jit
def _jacobi4(a: np.ndarray, v: np.ndarray) -> None:
    """Diagonalise the symmetric 4x4 ``a`` in place by cyclic Jacobi rotations.

    On return the diagonal of ``a`` holds the eigenvalues and the columns of ``v``
    the corresponding orthonormal eigenvectors.
    """
    for i in range(4):
        for j in range(4):
            v[i, j] = 1.0 if i == j else 0.0
    scale = 0.0
    for i in range(4):
        for j in range(4):
            scale += a[i, j] * a[i, j]
    if scale == 0.0:
        return
    for _ in range(64):
        off = 0.0
        for p in range(3):
            for q in range(p + 1, 4):
                off += a[p, q] * a[p, q]
        if off <= 1e-30 * scale:
            return
        for p in range(3):
            for q in range(p + 1, 4):
                apq = a[p, q]
                if apq == 0.0:
                    continue
                theta = (a[q, q] - a[p, p]) / (2.0 * apq)
                t = 1.0 / (abs(theta) + np.sqrt(theta * theta + 1.0))
                if theta < 0.0:
                    t = -t
                c = 1.0 / np.sqrt(t * t + 1.0)
                s = t * c
                for k in range(4):
                    akp = a[k, p]
                    akq = a[k, q]
                    a[k, p] = c * akp - s * akq
                    a[k, q] = s * akp + c * akq
                for k in range(4):
                    apk = a[p, k]
                    aqk = a[q, k]
                    a[p, k] = c * apk - s * aqk
                    a[q, k] = s * apk + c * aqk
                for k in range(4):
                    vkp = v[k, p]
                    vkq = v[k, q]
                    v[k, p] = c * vkp - s * vkq
                    v[k, q] = s * vkp + c * vkq


@jit
def _det3(m: np.ndarray, r0: int, r1: int, r2: int, c0: int, c1: int, c2: int) -> float:
    return (
        m[r0, c0] * (m[r1, c1] * m[r2, c2] - m[r1, c2] * m[r2, c1])
        - m[r0, c1] * (m[r1, c0] * m[r2, c2] - m[r1, c2] * m[r2, c0])
        + m[r0, c2] * (m[r1, c0] * m[r2, c1] - m[r1, c1] * m[r2, c0])
    )


#: For each row j of a 4x4 matrix, the other three indices (minors of the adjugate).
_OTHERS = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])


@jit
def _top_eigenvector(key: np.ndarray, lam: float, q: np.ndarray) -> bool:
    """Eigenvector of the symmetric ``key`` for its simple eigenvalue ``lam``, from the adjugate.

    ``adj(K - λI)`` has rank one when ``λ`` is a simple eigenvalue, and every
    non-zero column is the eigenvector; the column of largest norm is taken.
    Returns False when all columns are (relatively) zero: a multiple eigenvalue.
    ``key`` is shifted by ``-λ`` on the diagonal and restored before returning.
    """
    scale = 0.0
    for i in range(4):
        key[i, i] -= lam
        for j in range(4):
            scale = max(scale, abs(key[i, j]))
    best = -1.0
    for j in range(4):
        # Column j of the adjugate: C[j, i] = (-1)^(i+j) det(M without row j and column i).
        r = _OTHERS[j]
        v0 = _det3(key, r[0], r[1], r[2], 1, 2, 3)
        v1 = -_det3(key, r[0], r[1], r[2], 0, 2, 3)
        v2 = _det3(key, r[0], r[1], r[2], 0, 1, 3)
        v3 = -_det3(key, r[0], r[1], r[2], 0, 1, 2)
        if j % 2 == 1:
            v0, v1, v2, v3 = -v0, -v1, -v2, -v3
        norm = v0 * v0 + v1 * v1 + v2 * v2 + v3 * v3
        if norm > best:
            best = norm
            q[0] = v0
            q[1] = v1
            q[2] = v2
            q[3] = v3
    for i in range(4):
        key[i, i] += lam
    # A rank-one adjugate of a matrix with entries ~scale has entries ~scale^3 times the
    # gaps to the other eigenvalues; tiny columns mean a (near-)double eigenvalue.
    return best > (_DEGENERATE * scale**3) ** 2 and np.isfinite(best)


@jit
def rotation_from_inner_product(s: np.ndarray, e0: float, rotation: np.ndarray) -> float:
    """Optimal rotation for a 3x3 inner-product matrix; returns the largest eigenvalue.

    Parameters
    ----------
    s : ndarray, shape=(3, 3), dtype=float64
        ``sum_k (x_k - x̄)ᵀ (y_k - ȳ)`` for mobile ``x`` and target ``y``.
    e0 : float
        ``(G_x + G_y) / 2``, the start of the QCP iteration (see :func:`qcp_max_eigenvalue`).
    rotation : ndarray, shape=(3, 3), dtype=float64
        Output: the proper rotation ``R`` minimising ``sum |R (x_k - x̄) - (y_k - ȳ)|²``.

    Returns
    -------
    float
        The largest eigenvalue of Horn's key matrix.

    Notes
    -----
    The eigenvalue comes from QCP's Newton iteration and the quaternion from the
    adjugate of ``K - λI``; for a (near-)double eigenvalue (collinear atoms, one or
    two atoms, no atoms moved) both come from a Jacobi diagonalisation instead.
    """
    key = np.empty((4, 4))
    _key_matrix(s, key)
    q = np.empty(4)
    lam = qcp_max_eigenvalue(s, e0)
    if not _top_eigenvector(key, lam, q):
        vectors = np.empty((4, 4))
        work = key
        _jacobi4(work, vectors)
        best = 0
        for i in range(1, 4):
            if work[i, i] > work[best, best]:
                best = i
        lam = work[best, best]
        for i in range(4):
            q[i] = vectors[i, best]
    q0, q1, q2, q3 = q[0], q[1], q[2], q[3]
    norm = np.sqrt(q0 * q0 + q1 * q1 + q2 * q2 + q3 * q3)
    q0 /= norm
    q1 /= norm
    q2 /= norm
    q3 /= norm
    rotation[0, 0] = q0 * q0 + q1 * q1 - q2 * q2 - q3 * q3
    rotation[0, 1] = 2.0 * (q1 * q2 - q0 * q3)
    rotation[0, 2] = 2.0 * (q1 * q3 + q0 * q2)
    rotation[1, 0] = 2.0 * (q1 * q2 + q0 * q3)
    rotation[1, 1] = q0 * q0 - q1 * q1 + q2 * q2 - q3 * q3
    rotation[1, 2] = 2.0 * (q2 * q3 - q0 * q1)
    rotation[2, 0] = 2.0 * (q1 * q3 - q0 * q2)
    rotation[2, 1] = 2.0 * (q2 * q3 + q0 * q1)
    rotation[2, 2] = q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3
    return lam


@jit
def _centred_moments(mobile: np.ndarray, target: np.ndarray, s: np.ndarray, centres: np.ndarray) -> float:
    """Centroids, centred inner product and ``(G_x + G_y) / 2`` of two (n, 3) arrays."""
    n = mobile.shape[0]
    mx = my = mz = tx = ty = tz = 0.0
    for k in range(n):
        mx += np.float64(mobile[k, 0])
        my += np.float64(mobile[k, 1])
        mz += np.float64(mobile[k, 2])
        tx += np.float64(target[k, 0])
        ty += np.float64(target[k, 1])
        tz += np.float64(target[k, 2])
    mx /= n
    my /= n
    mz /= n
    tx /= n
    ty /= n
    tz /= n
    centres[0, 0] = mx
    centres[0, 1] = my
    centres[0, 2] = mz
    centres[1, 0] = tx
    centres[1, 1] = ty
    centres[1, 2] = tz
    for i in range(3):
        for j in range(3):
            s[i, j] = 0.0
    g = 0.0
    for k in range(n):
        ax = np.float64(mobile[k, 0]) - mx
        ay = np.float64(mobile[k, 1]) - my
        az = np.float64(mobile[k, 2]) - mz
        bx = np.float64(target[k, 0]) - tx
        by = np.float64(target[k, 1]) - ty
        bz = np.float64(target[k, 2]) - tz
        g += ax * ax + ay * ay + az * az + bx * bx + by * by + bz * bz
        s[0, 0] += ax * bx
        s[0, 1] += ax * by
        s[0, 2] += ax * bz
        s[1, 0] += ay * bx
        s[1, 1] += ay * by
        s[1, 2] += ay * bz
        s[2, 0] += az * bx
        s[2, 1] += az * by
        s[2, 2] += az * bz
    return 0.5 * g


@jit
def rmsd_pair(mobile: np.ndarray, target: np.ndarray) -> float:
    """Minimal RMSD of two paired coordinate sets after optimal superposition (QCP).

    Parameters
    ----------
    mobile, target : ndarray, shape=(n, 3), dtype=float32
        Paired coordinates, ``n >= 1``.

    Returns
    -------
    float
        RMSD in the coordinates' unit.
    """
    n = mobile.shape[0]
    s = np.empty((3, 3))
    centres = np.empty((2, 3))
    e0 = _centred_moments(mobile, target, s, centres)
    lam = qcp_max_eigenvalue(s, e0)
    return np.sqrt(max(0.0, 2.0 * (e0 - lam) / n))


@jit
def superpose_pair(mobile: np.ndarray, target: np.ndarray, rotation: np.ndarray, translation: np.ndarray) -> float:
    """Optimal rigid transform of ``mobile`` onto ``target``; returns the RMSD.

    Parameters
    ----------
    mobile, target : ndarray, shape=(n, 3), dtype=float32
        Paired coordinates, ``n >= 1``.
    rotation : ndarray, shape=(3, 3), dtype=float64
        Output rotation ``R``.
    translation : ndarray, shape=(3,), dtype=float64
        Output translation ``t``: ``mobile @ R.T + t`` is superposed on ``target``.

    Returns
    -------
    float
        RMSD after superposition.
    """
    n = mobile.shape[0]
    s = np.empty((3, 3))
    centres = np.empty((2, 3))
    e0 = _centred_moments(mobile, target, s, centres)
    lam = rotation_from_inner_product(s, e0, rotation)
    for i in range(3):
        translation[i] = centres[1, i] - (
            rotation[i, 0] * centres[0, 0] + rotation[i, 1] * centres[0, 1] + rotation[i, 2] * centres[0, 2]
        )
    return np.sqrt(max(0.0, 2.0 * (e0 - lam) / n))


@jit
def plain_rmsd(a: np.ndarray, b: np.ndarray) -> float:
    """RMSD of two paired coordinate sets as they are, without superposition.

    Parameters
    ----------
    a, b : ndarray, shape=(n, 3), dtype=float32

    Returns
    -------
    float
    """
    n = a.shape[0]
    total = 0.0
    for k in range(n):
        dx = np.float64(a[k, 0]) - b[k, 0]
        dy = np.float64(a[k, 1]) - b[k, 1]
        dz = np.float64(a[k, 2]) - b[k, 2]
        total += dx * dx + dy * dy + dz * dz
    return np.sqrt(total / n)


@jit
def centre(coords: np.ndarray) -> np.ndarray:
    """Coordinates minus their centroid, and the sum of squared centred coordinates.

    Parameters
    ----------
    coords : ndarray, shape=(n, 3), dtype=float32

    Returns
    -------
    ndarray, shape=(n, 3), dtype=float32
        Centred copy.
    """
    n = coords.shape[0]
    cx = cy = cz = 0.0
    for k in range(n):
        cx += np.float64(coords[k, 0])
        cy += np.float64(coords[k, 1])
        cz += np.float64(coords[k, 2])
    cx /= n
    cy /= n
    cz /= n
    out = np.empty((n, 3), dtype=np.float32)
    for k in range(n):
        out[k, 0] = coords[k, 0] - cx
        out[k, 1] = coords[k, 1] - cy
        out[k, 2] = coords[k, 2] - cz
    return out


#: Lanes of the blocked accumulation in :func:`_packed_moments`: 8 atoms x 3 coordinates.
_LANES = 24
#: Frames whose first atom lies farther than this beyond the reference's radius from the
#: reference centroid take the float64 path (float32 squares would lose precision there).
_FAR = 100.0
#: Squared RMSDs below ``_CLOSE * e0 / n`` from the float32 path are recomputed in float64.
_CLOSE = 1e-3


@jit
def pack_reference(reference: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Lay out a reference for the fast one-against-many RMSD kernel.

    Parameters
    ----------
    reference : ndarray, shape=(n, 3), dtype=float32

    Returns
    -------
    packed : ndarray, shape=(4, 3 * n), dtype=float32
        Rows 0-2: the centred reference flattened and cyclically shifted by 0, 1 and
        2 coordinates (so that ``x_a * y_{(a+s) % 3}`` is an element-wise product);
        row 3, first 24 entries: the reference centroid repeated per lane.
    g : float
        Sum of squared centred reference coordinates.
    radius : float
        Largest distance of a reference atom from its centroid.
    """
    n = reference.shape[0]
    centred = centre(reference)
    packed = np.zeros((4, 3 * n), dtype=np.float32)
    g = 0.0
    radius2 = 0.0
    for k in range(n):
        for a in range(3):
            packed[0, 3 * k + a] = centred[k, a]
            packed[1, 3 * k + a] = centred[k, (a + 1) % 3]
            packed[2, 3 * k + a] = centred[k, (a + 2) % 3]
        d2 = np.float64(centred[k, 0]) ** 2 + np.float64(centred[k, 1]) ** 2 + np.float64(centred[k, 2]) ** 2
        g += d2
        radius2 = max(radius2, d2)
    cx = cy = cz = 0.0
    for k in range(n):
        cx += np.float64(reference[k, 0])
        cy += np.float64(reference[k, 1])
        cz += np.float64(reference[k, 2])
    centroid = (cx / n, cy / n, cz / n)
    for lane in range(min(_LANES, 3 * n)):
        packed[3, lane] = centroid[lane % 3]
    return packed, g, np.sqrt(radius2)


@jit
def _packed_moments(flat: np.ndarray, packed: np.ndarray, s: np.ndarray) -> float:
    """Inner product with a packed centred reference and the frame's centred sum of squares.

    One pass over the frame, vectorised: float32 products summed in blocks of 16 x 24
    lanes, blocks added in float64. Because the reference is centred,
    ``sum (x - x̄) yᵀ = sum x yᵀ``; squares are taken relative to the reference
    centroid (row 3 of ``packed``) so that float32 keeps their precision.

    Parameters
    ----------
    flat : ndarray, shape=(3 * n,), dtype=float32
        One frame, flattened.
    packed : ndarray, shape=(4, 3 * n), dtype=float32
        From :func:`pack_reference`.
    s : ndarray, shape=(3, 3), dtype=float64
        Output inner-product matrix.

    Returns
    -------
    float
        Sum of squared centred frame coordinates.
    """
    m = flat.shape[0]
    n_blocks = m // _LANES
    total = np.zeros((5, _LANES))
    block = np.zeros((5, _LANES), dtype=np.float32)
    for b in range(n_blocks):
        base = b * _LANES
        for lane in range(_LANES):
            x = flat[base + lane]
            shifted = x - packed[3, lane]
            block[0, lane] += x
            block[1, lane] += shifted * shifted
            block[2, lane] += x * packed[0, base + lane]
            block[3, lane] += x * packed[1, base + lane]
            block[4, lane] += x * packed[2, base + lane]
        if (b & 15) == 15:
            for i in range(5):
                for lane in range(_LANES):
                    total[i, lane] += block[i, lane]
                    block[i, lane] = 0.0
    for i in range(5):
        for lane in range(_LANES):
            total[i, lane] += block[i, lane]
    for j in range(n_blocks * _LANES, m):
        lane = j % _LANES
        x = np.float64(flat[j])
        shifted = x - packed[3, lane % 3]
        total[0, lane] += x
        total[1, lane] += shifted * shifted
        total[2, lane] += x * packed[0, j]
        total[3, lane] += x * packed[1, j]
        total[4, lane] += x * packed[2, j]
    sx = sy = sz = 0.0
    for lane in range(0, _LANES, 3):
        sx += total[0, lane]
        sy += total[0, lane + 1]
        sz += total[0, lane + 2]
    g = 0.0
    for lane in range(_LANES):
        g += total[1, lane]
    for a in range(3):
        t0 = t1 = t2 = 0.0
        for lane in range(a, _LANES, 3):
            t0 += total[2, lane]
            t1 += total[3, lane]
            t2 += total[4, lane]
        s[a, a] = t0
        s[a, (a + 1) % 3] = t1
        s[a, (a + 2) % 3] = t2
    n = m // 3
    mx = sx / n - packed[3, 0]
    my = sy / n - packed[3, 1]
    mz = sz / n - packed[3, 2]
    return g - n * (mx * mx + my * my + mz * mz)


@jit
def _exact_moments(frame: np.ndarray, packed: np.ndarray, s: np.ndarray) -> float:
    """Float64 version of :func:`_packed_moments` for frames far from the reference."""
    n = frame.shape[0]
    cx = cy = cz = 0.0
    for k in range(n):
        cx += np.float64(frame[k, 0])
        cy += np.float64(frame[k, 1])
        cz += np.float64(frame[k, 2])
    cx /= n
    cy /= n
    cz /= n
    g = 0.0
    for i in range(3):
        for j in range(3):
            s[i, j] = 0.0
    for k in range(n):
        x = np.float64(frame[k, 0]) - cx
        y = np.float64(frame[k, 1]) - cy
        z = np.float64(frame[k, 2]) - cz
        g += x * x + y * y + z * z
        rx = np.float64(packed[0, 3 * k])
        ry = np.float64(packed[0, 3 * k + 1])
        rz = np.float64(packed[0, 3 * k + 2])
        s[0, 0] += x * rx
        s[0, 1] += x * ry
        s[0, 2] += x * rz
        s[1, 0] += y * rx
        s[1, 1] += y * ry
        s[1, 2] += y * rz
        s[2, 0] += z * rx
        s[2, 1] += z * ry
        s[2, 2] += z * rz
    return g


@jit
def _frame_rmsd(frame: np.ndarray, packed: np.ndarray, g_ref: float, radius: float) -> float:
    """QCP RMSD of one frame to a packed reference (see :func:`pack_reference`)."""
    n = frame.shape[0]
    s = np.empty((3, 3))
    dx = frame[0, 0] - packed[3, 0]
    dy = frame[0, 1] - packed[3, 1]
    dz = frame[0, 2] - packed[3, 2]
    exact = np.sqrt(dx * dx + dy * dy + dz * dz) > radius + _FAR
    if not exact:
        g = _packed_moments(frame.reshape(-1), packed, s)
        e0 = 0.5 * (g + g_ref)
        msd = 2.0 * (e0 - qcp_max_eigenvalue(s, e0)) / n
        # The float32 sums leave an error of about 7e-8 * e0 / n in the squared RMSD, which
        # the square root amplifies near zero: close frames are recomputed in float64, so
        # that the result stays within 1e-4 Å of the float64 value (and self-RMSD is 0).
        exact = msd < _CLOSE * e0 / n
    if exact:
        g = _exact_moments(frame, packed, s)
        e0 = 0.5 * (g + g_ref)
        msd = 2.0 * (e0 - qcp_max_eigenvalue(s, e0)) / n
    if not np.isfinite(msd):
        return np.nan  # a NaN or infinite coordinate: callers look for NaN results
    return np.sqrt(max(0.0, msd))


def _rmsd_to_reference(frames: np.ndarray, packed: np.ndarray, g_ref: float, radius: float, out: np.ndarray) -> None:
    """RMSD of every frame to one reference after optimal superposition (QCP).

    Parameters
    ----------
    frames : ndarray, shape=(n_frames, n, 3), dtype=float32
    packed, g_ref, radius
        The reference, from :func:`pack_reference`.
    out : ndarray, shape=(n_frames,), dtype=float64
        Output RMSDs; NaN for a frame with a NaN or infinite coordinate.
    """
    for f in prange(frames.shape[0]):
        out[f] = _frame_rmsd(frames[f], packed, g_ref, radius)


rmsd_to_reference = jit_variants(_rmsd_to_reference)


def _superpose_to_reference(
    frames: np.ndarray, reference: np.ndarray, rotations: np.ndarray, translations: np.ndarray, out: np.ndarray
) -> None:
    """Optimal transform and RMSD of every frame onto one reference.

    Parameters
    ----------
    frames : ndarray, shape=(n_frames, n, 3), dtype=float32
    reference : ndarray, shape=(n, 3), dtype=float32
    rotations : ndarray, shape=(n_frames, 3, 3), dtype=float64
        Output rotations.
    translations : ndarray, shape=(n_frames, 3), dtype=float64
        Output translations: ``frames[f] @ rotations[f].T + translations[f]``.
    out : ndarray, shape=(n_frames,), dtype=float64
        Output RMSDs.
    """
    for f in prange(frames.shape[0]):
        out[f] = superpose_pair(frames[f], reference, rotations[f], translations[f])


superpose_to_reference = jit_variants(_superpose_to_reference)


@jit
def apply_transform(coords: np.ndarray, rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """``coords @ rotation.T + translation`` as a new float32 array.

    Parameters
    ----------
    coords : ndarray, shape=(n, 3), dtype=float32
    rotation : ndarray, shape=(3, 3), dtype=float64
    translation : ndarray, shape=(3,), dtype=float64

    Returns
    -------
    ndarray, shape=(n, 3), dtype=float32
    """
    n = coords.shape[0]
    out = np.empty((n, 3), dtype=np.float32)
    for k in range(n):
        x = np.float64(coords[k, 0])
        y = np.float64(coords[k, 1])
        z = np.float64(coords[k, 2])
        for i in range(3):
            out[k, i] = rotation[i, 0] * x + rotation[i, 1] * y + rotation[i, 2] * z + translation[i]
    return out


# -- Precentred frames ------------------------------------------------------------------------------
#
# MDTraj's ``center_coordinates()`` + ``rmsd(..., precentered=True)``: each frame is centred once and
# its sum of squares (trace) kept, so that an RMSD needs only the 3x3 inner product of two centred
# frames, one read of each. Frames are stored axis-major, ``(n_frames, 3, n)``: each inner-product
# entry is then a dot product of two contiguous float32 rows, which the compiler vectorises with
# float64 accumulators (nine per frame pair). Float64 sums keep the squared RMSD within about
# 1e-15 * (G_x + G_y) / n of exact, so no float64 recheck is needed, even for identical frames.

#: Up to this many atoms the inner product reads the frame's x, y and z rows one after the other
#: (one sequential stream; the reference, 12 bytes per atom, stays in the L1 cache); above it, the
#: three rows are read together in one pass (the reference no longer fits the L1 cache, and three
#: passes over it cost more than the three streams), for two frames at a time in
#: :data:`rmsd_centred`. Measured in ``benchmarks/kernels.py``.
ROW_BY_ROW_MAX_ATOMS = 1024
#: Up to this many atoms :data:`rmsd_centred` also takes two frames per pass: such frames (1.5 KB)
#: are cheap to read and the fixed cost per pass (the nine sums' reductions) dominates. Between
#: this and :data:`ROW_BY_ROW_MAX_ATOMS`, where a trajectory outgrows the caches, reading one
#: frame as one sequential stream measured faster.
PAIRED_MAX_ATOMS = 128


@jit
def _row_products(row: np.ndarray, rx: np.ndarray, ry: np.ndarray, rz: np.ndarray) -> tuple[float, float, float]:
    """``(row · rx, row · ry, row · rz)`` for float32 rows, summed in float64."""
    t0 = t1 = t2 = 0.0
    for k in range(row.shape[0]):
        v = np.float64(row[k])
        t0 += v * np.float64(rx[k])
        t1 += v * np.float64(ry[k])
        t2 += v * np.float64(rz[k])
    return t0, t1, t2


@jit
def _rows_products(frame: np.ndarray, reference: np.ndarray) -> tuple[float, ...]:
    """The nine products of :func:`centred_inner_product` in one pass over the three rows."""
    fx, fy, fz = frame[0], frame[1], frame[2]
    rx, ry, rz = reference[0], reference[1], reference[2]
    s00 = s01 = s02 = s10 = s11 = s12 = s20 = s21 = s22 = 0.0
    for k in range(fx.shape[0]):
        x = np.float64(fx[k])
        y = np.float64(fy[k])
        z = np.float64(fz[k])
        a = np.float64(rx[k])
        b = np.float64(ry[k])
        c = np.float64(rz[k])
        s00 += x * a
        s01 += x * b
        s02 += x * c
        s10 += y * a
        s11 += y * b
        s12 += y * c
        s20 += z * a
        s21 += z * b
        s22 += z * c
    return s00, s01, s02, s10, s11, s12, s20, s21, s22


@jit
def _rows_products_two(first: np.ndarray, second: np.ndarray, reference: np.ndarray) -> tuple:
    """:func:`_rows_products` of two frames against one reference in one pass.

    Each reference value loaded serves two frames: half the reference traffic (which, above
    :data:`ROW_BY_ROW_MAX_ATOMS`, comes from the L2 cache) per frame, and 18 independent sums.
    """
    ax, ay, az = first[0], first[1], first[2]
    bx, by, bz = second[0], second[1], second[2]
    rx, ry, rz = reference[0], reference[1], reference[2]
    a00 = a01 = a02 = a10 = a11 = a12 = a20 = a21 = a22 = 0.0
    b00 = b01 = b02 = b10 = b11 = b12 = b20 = b21 = b22 = 0.0
    for k in range(ax.shape[0]):
        r0 = np.float64(rx[k])
        r1 = np.float64(ry[k])
        r2 = np.float64(rz[k])
        x = np.float64(ax[k])
        y = np.float64(ay[k])
        z = np.float64(az[k])
        a00 += x * r0
        a01 += x * r1
        a02 += x * r2
        a10 += y * r0
        a11 += y * r1
        a12 += y * r2
        a20 += z * r0
        a21 += z * r1
        a22 += z * r2
        x = np.float64(bx[k])
        y = np.float64(by[k])
        z = np.float64(bz[k])
        b00 += x * r0
        b01 += x * r1
        b02 += x * r2
        b10 += y * r0
        b11 += y * r1
        b12 += y * r2
        b20 += z * r0
        b21 += z * r1
        b22 += z * r2
    return (a00, a01, a02, a10, a11, a12, a20, a21, a22), (b00, b01, b02, b10, b11, b12, b20, b21, b22)


@jit
def centred_inner_product(frame: np.ndarray, reference: np.ndarray) -> tuple[float, ...]:
    """Inner-product matrix ``sum_k x_k y_kᵀ`` of two centred axis-major frames.

    Parameters
    ----------
    frame, reference : ndarray, shape=(3, n), dtype=float32
        Centred coordinates, one row per axis (rows C-contiguous).

    Returns
    -------
    tuple of 9 float
        The matrix row by row, ``(s_xx, s_xy, s_xz, s_yx, ..., s_zz)``, summed in float64.
    """
    if frame.shape[1] > ROW_BY_ROW_MAX_ATOMS:
        return _rows_products(frame, reference)
    rx, ry, rz = reference[0], reference[1], reference[2]
    s00, s01, s02 = _row_products(frame[0], rx, ry, rz)
    s10, s11, s12 = _row_products(frame[1], rx, ry, rz)
    s20, s21, s22 = _row_products(frame[2], rx, ry, rz)
    return s00, s01, s02, s10, s11, s12, s20, s21, s22


@jit
def _centred_msd_to_rmsd(s: tuple[float, ...], g_mobile: float, g_target: float, n: int) -> float:
    """RMSD from a centred inner product and the two traces (QCP); NaN for non-finite input."""
    e0 = 0.5 * (g_mobile + g_target)
    lam = qcp_eigenvalue9(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], e0)
    msd = 2.0 * (e0 - lam) / n
    if not np.isfinite(msd):
        return np.nan  # a NaN or infinite coordinate: callers look for NaN results
    return np.sqrt(max(0.0, msd))


def _centre_frames(frames: np.ndarray, centred: np.ndarray, centres: np.ndarray, traces: np.ndarray) -> None:
    """Centre every frame, transpose it to axis-major and record its centroid and trace.

    Parameters
    ----------
    frames : ndarray, shape=(n_frames, n, 3), dtype=float32
    centred : ndarray, shape=(n_frames, 3, n), dtype=float32
        Output: ``frames[f] - centres[f]``, transposed.
    centres : ndarray, shape=(n_frames, 3), dtype=float64
        Output centroids (sums in float64).
    traces : ndarray, shape=(n_frames,), dtype=float64
        Output: sum of squares of the stored (float32) centred coordinates, in float64, so that
        it is consistent with inner products of the stored rows (self-RMSD exactly 0). NaN or
        infinite for a frame with a NaN or infinite coordinate.
    """
    n = frames.shape[1]
    for f in prange(frames.shape[0]):
        frame = frames[f]
        cx = cy = cz = 0.0
        for k in range(n):
            cx += np.float64(frame[k, 0])
            cy += np.float64(frame[k, 1])
            cz += np.float64(frame[k, 2])
        cx /= n
        cy /= n
        cz /= n
        centres[f, 0] = cx
        centres[f, 1] = cy
        centres[f, 2] = cz
        out = centred[f]
        g = 0.0
        for k in range(n):
            x = np.float32(frame[k, 0] - cx)
            y = np.float32(frame[k, 1] - cy)
            z = np.float32(frame[k, 2] - cz)
            out[0, k] = x
            out[1, k] = y
            out[2, k] = z
            g += np.float64(x) * x + np.float64(y) * y + np.float64(z) * z
        traces[f] = g


centre_frames = jit_variants(_centre_frames)


def _rmsd_centred(
    frames: np.ndarray, traces: np.ndarray, reference: np.ndarray, g_reference: float, out: np.ndarray
) -> None:
    """RMSD of every precentred frame to one precentred reference (QCP).

    Parameters
    ----------
    frames : ndarray, shape=(n_frames, 3, n), dtype=float32
        Centred, axis-major (from :data:`centre_frames`).
    traces : ndarray, shape=(n_frames,), dtype=float64
    reference : ndarray, shape=(3, n), dtype=float32
        Centred, axis-major.
    g_reference : float
        Trace of the reference.
    out : ndarray, shape=(n_frames,), dtype=float64
        Output RMSDs; NaN for a frame with a NaN or infinite coordinate.
    """
    n_frames, _, n = frames.shape
    if PAIRED_MAX_ATOMS < n <= ROW_BY_ROW_MAX_ATOMS:
        for f in prange(n_frames):
            s = centred_inner_product(frames[f], reference)
            out[f] = _centred_msd_to_rmsd(s, traces[f], g_reference, n)
        return
    # Small and large frames: two at a time, so that each reference value read serves both.
    for pair in prange(n_frames // 2):
        f = 2 * pair
        s, t = _rows_products_two(frames[f], frames[f + 1], reference)
        out[f] = _centred_msd_to_rmsd(s, traces[f], g_reference, n)
        out[f + 1] = _centred_msd_to_rmsd(t, traces[f + 1], g_reference, n)
    if n_frames % 2:
        s = centred_inner_product(frames[n_frames - 1], reference)
        out[n_frames - 1] = _centred_msd_to_rmsd(s, traces[n_frames - 1], g_reference, n)


rmsd_centred = jit_variants(_rmsd_centred)


def _rmsd_from_products(
    products: np.ndarray, traces_i: np.ndarray, traces_j: np.ndarray, n: int, diagonal: bool, out: np.ndarray
) -> None:
    """RMSDs of a block of frame pairs from their inner products (the all-against-all matrix route).

    Parameters
    ----------
    products : ndarray, shape=(3 * n_i, 3 * n_j), dtype=float64
        ``A_i A_jᵀ`` for the axis-major centred frames stacked as rows (``(3 * n_frames, n)``):
        the 3x3 block ``[3i:3i+3, 3j:3j+3]`` is the inner product of frames ``i`` and ``j``.
        C or Fortran order; with ``diagonal``, only blocks above the diagonal are read (the
        upper triangle that BLAS ``dsyrk`` fills).
    traces_i, traces_j : ndarray, shape=(n_i,) and (n_j,), dtype=float64
    n : int
        Atoms per frame.
    diagonal : bool
        The block pairs a set of frames with itself: only ``i < j`` is computed, the lower
        triangle mirrored and the diagonal set to 0.
    out : ndarray, shape=(n_i, n_j), dtype=float64
        Output RMSDs.
    """
    n_i = traces_i.shape[0]
    n_j = traces_j.shape[0]
    for i in prange(n_i):
        start = i + 1 if diagonal else 0
        if diagonal:
            out[i, i] = 0.0
        for j in range(start, n_j):
            block = products[3 * i : 3 * i + 3, 3 * j : 3 * j + 3]
            s = (
                block[0, 0],
                block[0, 1],
                block[0, 2],
                block[1, 0],
                block[1, 1],
                block[1, 2],
                block[2, 0],
                block[2, 1],
                block[2, 2],
            )
            out[i, j] = _centred_msd_to_rmsd(s, traces_i[i], traces_j[j], n)
    if diagonal:
        for i in range(n_i):
            for j in range(i + 1, n_j):
                out[j, i] = out[i, j]


rmsd_from_products = jit_variants(_rmsd_from_products)
