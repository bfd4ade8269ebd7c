"""Per-residue atom look-ups and chain connectivity used by the residue-level analyses."""

from __future__ import annotations

import numpy as np

from workbench.structure import Structure

#: Largest C(i)-N(i+1) distance, Å, at which two residues count as peptide-bonded (DSSP's value).
PEPTIDE_BOND_MAX = 2.5


def atom_table(structure: Structure, names: tuple[str, ...]) -> np.ndarray:
    """Index of the atom called ``names[k]`` in each residue, -1 where absent.

    Parameters
    ----------
    structure : Structure
    names : tuple of str

    Returns
    -------
    ndarray, shape=(n_residues, len(names)), dtype=int64
        The first atom of that name in the residue.
    """
    n_residues = len(structure.residue_starts) - 1
    table = np.full((n_residues, len(names)), -1, dtype=np.int64)
    lookup = np.array(names)
    order = np.argsort(lookup)
    sorted_names = lookup[order]
    hit = np.isin(structure.atom_name, sorted_names)
    atoms = np.flatnonzero(hit)[::-1]
    if len(atoms):
        column = order[np.searchsorted(sorted_names, structure.atom_name[atoms])]
        table[structure.residue_index[atoms], column] = atoms
    return table


def peptide_bonded(structure: Structure, backbone: np.ndarray) -> np.ndarray:
    """Whether residue ``i`` is peptide-bonded to residue ``i + 1``.

    Parameters
    ----------
    structure : Structure
    backbone : ndarray, shape=(n_residues, 4), dtype=int64
        N, CA, C, O atom indices (see :func:`atom_table`).

    Returns
    -------
    ndarray, shape=(n_residues,), dtype=bool
        False for the last residue, across chains, and where C(i) or N(i+1) is
        missing or farther apart than :data:`PEPTIDE_BOND_MAX`.
    """
    n = len(backbone)
    bonded = np.zeros(n, dtype=bool)
    if n < 2:
        return bonded
    chains = structure.residues.chain_id
    c = backbone[:-1, 2]
    n_next = backbone[1:, 0]
    ok = (c >= 0) & (n_next >= 0) & (chains[:-1] == chains[1:])
    distance = np.full(n - 1, np.inf)
    distance[ok] = np.linalg.norm(structure.coords[c[ok]].astype(np.float64) - structure.coords[n_next[ok]], axis=1)
    bonded[:-1] = distance <= PEPTIDE_BOND_MAX
    return bonded


def segments(structure: Structure, backbone: np.ndarray) -> np.ndarray:
    """Segment number of each residue: it changes at every chain change or chain break.

    Returns
    -------
    ndarray, shape=(n_residues,), dtype=int64
    """
    bonded = peptide_bonded(structure, backbone)
    breaks = np.concatenate([[0], (~bonded[:-1]).astype(np.int64)]) if len(bonded) else np.zeros(0, np.int64)
    return np.cumsum(breaks).astype(np.int64)


def sequence_neighbours(structure: Structure) -> np.ndarray:
    """Whether residue ``i + 1`` follows residue ``i`` in sequence (same chain, next number).

    Consecutive entries of ``structure.residues`` in one chain whose residue numbers
    differ by 1, or by 0 (insertion codes), whatever their distance: the residues that
    should be peptide-bonded.

    Returns
    -------
    ndarray, shape=(n_residues,), dtype=bool
        False for the last residue.
    """
    residues = structure.residues
    n = len(residues)
    linked = np.zeros(n, dtype=bool)
    if n > 1:
        step = np.diff(residues.res_id.astype(np.int64))
        linked[:-1] = (residues.chain_id[:-1] == residues.chain_id[1:]) & ((step == 1) | (step == 0))
    return linked
