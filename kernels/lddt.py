"""Local Distance Difference Test (lDDT; Mariani et al. 2013), as OpenStructure scores it.

Every pair of atoms from different residues closer than the inclusion radius in
the *reference* is a contact; a contact is conserved at threshold ``t`` when the
model's distance differs from the reference's by less than ``t``. lDDT is the
fraction of conserved (contact, threshold) combinations: over all contacts for
the global score, over the contacts that involve a residue's atoms for the
per-residue score. Contacts with an atom missing from the model count as not
conserved. Before scoring, each residue with chemically symmetric atoms (for
example ASP OD1/OD2) is renamed in the model if the swap conserves more of the
distances from its symmetric atoms to the non-symmetric atoms of other residues.
"""

from __future__ import annotations

import numpy as np

from workbench.kernels._config import jit
from workbench.kernels.neighbors import build_cells


@jit
def _conserved(d_ref: float, d_model: float, thresholds: np.ndarray) -> int:
    deviation = abs(d_model - d_ref)
    count = 0
    for t in range(thresholds.shape[0]):
        if deviation < thresholds[t]:
            count += 1
    return count


@jit
def _distance(coords: np.ndarray, i: int, j: int) -> float:
    dx = np.float64(coords[i, 0]) - coords[j, 0]
    dy = np.float64(coords[i, 1]) - coords[j, 1]
    dz = np.float64(coords[i, 2]) - coords[j, 2]
    return np.sqrt(dx * dx + dy * dy + dz * dz)


@jit
def resolve_symmetry(
    reference: np.ndarray,
    model: np.ndarray,
    present: np.ndarray,
    residue: np.ndarray,
    swaps: np.ndarray,
    swap_group: np.ndarray,
    cutoff: float,
    thresholds: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Rename symmetric side-chain atoms in the model where that conserves more distances.

    Parameters
    ----------
    reference, model : ndarray, shape=(n, 3), dtype=float32
        Paired atoms (model rows of missing atoms are ignored).
    present : ndarray, shape=(n,), dtype=bool
        Whether each atom exists in the model.
    residue : ndarray, shape=(n,), dtype=int64
        Residue index of each atom.
    swaps : ndarray, shape=(s, 2), dtype=int64
        Atom index pairs that a symmetry exchanges (e.g. OD1, OD2 of one ASP).
    swap_group : ndarray, shape=(s,), dtype=int64
        Group of each pair, non-decreasing: the pairs of a group (one residue) are
        swapped together.
    cutoff : float
        Inclusion radius, Å.
    thresholds : ndarray, shape=(t,), dtype=float64

    Returns
    -------
    model : ndarray, shape=(n, 3), dtype=float32
        The model with the chosen renamings applied (a copy).
    swapped : ndarray, shape=(n_groups,), dtype=bool
        Whether each group was renamed.
    """
    n = reference.shape[0]
    out = model.copy()
    symmetric = np.zeros(n, dtype=np.bool_)
    for p in range(swaps.shape[0]):
        symmetric[swaps[p, 0]] = True
        symmetric[swaps[p, 1]] = True
    n_groups = 0
    if swap_group.shape[0] > 0:
        n_groups = swap_group[-1] + 1
    swapped = np.zeros(n_groups, dtype=np.bool_)
    if n_groups == 0:
        return out, swapped
    _, _, dims, start, order, cell_of = build_cells(reference, cutoff)
    cut2 = cutoff * cutoff
    p = 0
    while p < swaps.shape[0]:
        group = swap_group[p]
        end = p
        while end < swaps.shape[0] and swap_group[end] == group:
            end += 1
        usable = True
        for q in range(p, end):
            if not (present[swaps[q, 0]] and present[swaps[q, 1]]):
                usable = False
        if usable:
            keep = 0
            flip = 0
            for q in range(p, end):
                for side in range(2):
                    atom = swaps[q, side]
                    other = swaps[q, 1 - side]
                    for cx in range(max(cell_of[atom, 0] - 1, 0), min(cell_of[atom, 0] + 2, dims[0])):
                        for cy in range(max(cell_of[atom, 1] - 1, 0), min(cell_of[atom, 1] + 2, dims[1])):
                            for cz in range(max(cell_of[atom, 2] - 1, 0), min(cell_of[atom, 2] + 2, dims[2])):
                                c = (cx * dims[1] + cy) * dims[2] + cz
                                for r in range(start[c], start[c + 1]):
                                    j = order[r]
                                    if symmetric[j] or residue[j] == residue[atom] or not present[j]:
                                        continue
                                    d_ref = _distance(reference, atom, j)
                                    if d_ref * d_ref >= cut2:
                                        continue
                                    keep += _conserved(d_ref, _distance(model, atom, j), thresholds)
                                    flip += _conserved(d_ref, _distance(model, other, j), thresholds)
            if flip > keep:
                swapped[group] = True
                for q in range(p, end):
                    a = swaps[q, 0]
                    b = swaps[q, 1]
                    for k in range(3):
                        out[a, k] = model[b, k]
                        out[b, k] = model[a, k]
        p = end
    return out, swapped


@jit
def lddt_counts(
    reference: np.ndarray,
    model: np.ndarray,
    present: np.ndarray,
    residue: np.ndarray,
    n_residues: int,
    cutoff: float,
    thresholds: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Contacts and conserved distances per residue.

    Parameters
    ----------
    reference, model : ndarray, shape=(n, 3), dtype=float32
        Paired atoms.
    present : ndarray, shape=(n,), dtype=bool
        Whether each atom exists in the model; contacts of missing atoms count
        as not conserved.
    residue : ndarray, shape=(n,), dtype=int64
        Residue index of each atom, in ``[0, n_residues)``; contacts within one
        residue are not scored.
    n_residues : int
    cutoff : float
        Inclusion radius in the reference, Å (contacts are ``d < cutoff``).
    thresholds : ndarray, shape=(t,), dtype=float64
        Conservation thresholds, Å (conserved when ``|Δd| < t``).

    Returns
    -------
    contacts : ndarray, shape=(n_residues,), dtype=int64
        Number of contacts involving each residue's atoms.
    conserved : ndarray, shape=(n_residues,), dtype=int64
        Number of conserved (contact, threshold) combinations per residue.

    Notes
    -----
    Global lDDT is ``conserved.sum() / (t * contacts.sum())``: every contact
    is counted once for each of its two residues, in both sums.
    """
    n = reference.shape[0]
    contacts = np.zeros(n_residues, dtype=np.int64)
    conserved = np.zeros(n_residues, dtype=np.int64)
    if n == 0:
        return contacts, conserved
    _, _, dims, start, order, cell_of = build_cells(reference, cutoff)
    cut2 = cutoff * cutoff
    for i in range(n):
        xi = reference[i, 0]
        yi = reference[i, 1]
        zi = reference[i, 2]
        ri = residue[i]
        mx = model[i, 0]
        my = model[i, 1]
        mz = model[i, 2]
        pi = present[i]
        for cx in range(max(cell_of[i, 0] - 1, 0), min(cell_of[i, 0] + 2, dims[0])):
            for cy in range(max(cell_of[i, 1] - 1, 0), min(cell_of[i, 1] + 2, dims[1])):
                for cz in range(max(cell_of[i, 2] - 1, 0), min(cell_of[i, 2] + 2, dims[2])):
                    c = (cx * dims[1] + cy) * dims[2] + cz
                    for r in range(start[c], start[c + 1]):
                        j = order[r]
                        if j <= i or residue[j] == ri:
                            continue
                        dx = reference[j, 0] - xi
                        dy = reference[j, 1] - yi
                        dz = reference[j, 2] - zi
                        d2 = dx * dx + dy * dy + dz * dz
                        if d2 >= cut2:
                            continue
                        rj = residue[j]
                        contacts[ri] += 1
                        contacts[rj] += 1
                        if pi and present[j]:
                            ex = model[j, 0] - mx
                            ey = model[j, 1] - my
                            ez = model[j, 2] - mz
                            d_model = np.sqrt(np.float64(ex * ex + ey * ey + ez * ez))
                            k = _conserved(np.sqrt(np.float64(d2)), d_model, thresholds)
                            conserved[ri] += k
                            conserved[rj] += k
    return contacts, conserved
