"""Plain-numpy references for the kernels: slow, obvious, and written independently.

Each function computes the same quantity as a kernel in ``workbench.kernels`` by
the most direct method (dense distance matrices, SVD, explicit loops), so that
the tests can compare the two on seeded random input.
"""

from __future__ import annotations

import numpy as np


def kabsch(mobile: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """RMSD, rotation and translation by SVD (Kabsch 1976), float64."""
    x = np.asarray(mobile, np.float64)
    y = np.asarray(target, np.float64)
    cx, cy = x.mean(0), y.mean(0)
    h = (x - cx).T @ (y - cy)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    rotation = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    translation = cy - rotation @ cx
    moved = x @ rotation.T + translation
    return float(np.sqrt(((moved - y) ** 2).sum(1).mean())), rotation, translation


def pairs_within(coords: np.ndarray, cutoff: float) -> set[tuple[int, int]]:
    """All pairs i < j closer than cutoff, by a dense distance matrix."""
    x = np.asarray(coords, np.float64)
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    i, j = np.nonzero(np.triu(d < cutoff, 1))
    return set(zip(i.tolist(), j.tolist(), strict=True))


def dihedral(p: np.ndarray) -> float:
    """IUPAC dihedral of four points (Blondel & Karplus 1996 formula), radians."""
    p = np.asarray(p, np.float64)
    b0 = p[0] - p[1]
    b1 = p[2] - p[1]
    b2 = p[3] - p[2]
    b1 = b1 / np.linalg.norm(b1)
    v = b0 - b0 @ b1 * b1
    w = b2 - b2 @ b1 * b1
    return float(np.arctan2(np.cross(b1, v) @ w, v @ w))


def angle(p: np.ndarray) -> float:
    """Angle at the middle of three points, radians."""
    p = np.asarray(p, np.float64)
    u, v = p[0] - p[1], p[2] - p[1]
    return float(np.arccos(np.clip(u @ v / np.linalg.norm(u) / np.linalg.norm(v), -1, 1)))


def radius_of_gyration(coords: np.ndarray, weights: np.ndarray) -> float:
    x = np.asarray(coords, np.float64)
    centre = (weights[:, None] * x).sum(0) / weights.sum()
    return float(np.sqrt((weights * ((x - centre) ** 2).sum(1)).sum() / weights.sum()))


def tm_search(model: np.ndarray, reference: np.ndarray, lnorm: float, d0: float, d0_search: float):
    """The TM-score program's search (fragments, then iterative extension), written plainly."""
    x = np.asarray(model, np.float64)
    y = np.asarray(reference, np.float64)
    n = len(x)

    def score(moved: np.ndarray, d: float) -> tuple[np.ndarray, float, np.ndarray]:
        di = ((moved - y) ** 2).sum(1)
        gdt = np.array([(di < c * c).sum() for c in (0.5, 1, 2, 4, 8)])
        cut = d
        while True:
            selected = np.flatnonzero(di < cut * cut)
            if len(selected) >= 3 or n <= 3:
                break
            cut += 0.5
        return selected, float((1 / (1 + di / d0**2)).sum() / lnorm), gdt

    lengths = []
    length_min = min(4, n)
    for i in range(6):
        if i == 5:
            lengths.append(length_min)
            break
        value = int(n / 2**i)
        if value <= length_min:
            lengths.append(length_min)
            break
        lengths.append(value)
    best, best_gdt = -1.0, np.zeros(5, int)
    for fragment in lengths:
        for start in range(n - fragment + 1):
            _, rotation, translation = kabsch(x[start : start + fragment], y[start : start + fragment])
            selected, value, gdt = score(x @ rotation.T + translation, d0_search - 1)
            best, best_gdt = max(best, value), np.maximum(best_gdt, gdt)
            for _ in range(20):
                if len(selected) == 0:
                    break
                previous = selected
                _, rotation, translation = kabsch(x[selected], y[selected])
                selected, value, gdt = score(x @ rotation.T + translation, d0_search + 1)
                best, best_gdt = max(best, value), np.maximum(best_gdt, gdt)
                if len(selected) == len(previous) and (selected == previous).all():
                    break
    return best, best_gdt


def lddt(
    reference: np.ndarray,
    model: np.ndarray,
    present: np.ndarray,
    residue: np.ndarray,
    cutoff: float,
    thresholds: np.ndarray,
) -> tuple[float, np.ndarray]:
    """Global and per-residue lDDT by dense distance matrices (no symmetry handling)."""
    r = np.asarray(reference, np.float64)
    m = np.asarray(model, np.float64)
    d_ref = np.sqrt(((r[:, None] - r[None]) ** 2).sum(-1))
    d_mod = np.sqrt(((m[:, None] - m[None]) ** 2).sum(-1))
    contact = (d_ref < cutoff) & (residue[:, None] != residue[None])
    both = present[:, None] & present[None]
    kept = ((np.abs(d_mod - d_ref)[..., None] < thresholds) & both[..., None]).sum(-1)
    n_res = residue.max() + 1
    contacts = np.zeros(n_res)
    conserved = np.zeros(n_res)
    for i, j in zip(*np.nonzero(contact), strict=True):
        contacts[residue[i]] += 1
        conserved[residue[i]] += kept[i, j]
    with np.errstate(invalid="ignore"):
        per_residue = conserved / (len(thresholds) * contacts)
    return float(conserved.sum() / (len(thresholds) * contacts.sum())), per_residue


def sasa(coords: np.ndarray, radii: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Shrake–Rupley by brute force: every point against every other atom."""
    x = np.asarray(coords, np.float64)
    r = np.asarray(radii, np.float64)
    out = np.empty(len(x))
    for i in range(len(x)):
        test = x[i] + r[i] * np.asarray(points, np.float64)
        others = np.delete(np.arange(len(x)), i)
        d2 = ((test[:, None] - x[others][None]) ** 2).sum(-1)
        buried = (d2 < r[others] ** 2).any(1)
        out[i] = 4 * np.pi * r[i] ** 2 * (~buried).sum() / len(points)
    return out


def hbond_energies(coords: np.ndarray, backbone: np.ndarray, is_proline: np.ndarray) -> np.ndarray:
    """Kabsch–Sander energy of every donor -> acceptor pair (one chain), kcal/mol; 0 where not computed."""
    x = np.asarray(coords, np.float64)
    n_res = len(backbone)
    n, ca, c, o = (x[backbone[:, k]] for k in range(4))
    h = n.copy()
    co = c[:-1] - o[:-1]
    h[1:] = n[1:] + co / np.linalg.norm(co, axis=1)[:, None]
    energy = np.zeros((n_res, n_res))
    for d in range(n_res):
        for a in range(n_res):
            if d == a or is_proline[d] or np.linalg.norm(ca[d] - ca[a]) >= 9.0 or d == a + 1:
                continue
            r_on = np.linalg.norm(o[a] - n[d])
            r_ch = np.linalg.norm(c[a] - h[d])
            r_oh = np.linalg.norm(o[a] - h[d])
            r_cn = np.linalg.norm(c[a] - n[d])
            energy[d, a] = max(0.084 * 332 * (1 / r_on + 1 / r_ch - 1 / r_oh - 1 / r_cn), -9.9)
    return energy


def overlaps(coords: np.ndarray, radii: np.ndarray, residue: np.ndarray, tolerance: float) -> dict:
    """Pairs of different residues closer than r_i + r_j - tolerance, with the overlap."""
    x = np.asarray(coords, np.float64)
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    limit = radii[:, None].astype(np.float64) + radii[None] - tolerance
    hit = (d < limit) & (residue[:, None] != residue[None])
    i, j = np.nonzero(np.triu(hit, 1))
    return {(a, b): limit[a, b] - d[a, b] for a, b in zip(i.tolist(), j.tolist(), strict=True)}


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random proper rotation matrix."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q @ np.diag(np.sign(np.diag(r)))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def protein_like(rng: np.random.Generator, n: int, spread: float = 12.0) -> np.ndarray:
    """Points at protein-like density (about one per 11 Å^3 for ``spread`` ~ n^(1/3) * 2.2)."""
    return (rng.normal(size=(n, 3)) * spread).astype(np.float32)
