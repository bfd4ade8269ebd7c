"""lDDT: superposition-free local distance difference test, global and per residue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from workbench.analysis._select import pair_atoms, select_atoms
from workbench.kernels import lddt as kernel
from workbench.structure import Structure

#: Atom renamings that leave a residue chemically unchanged (OpenStructure's default
#: symmetry settings for amino acids).
SYMMETRIC_ATOMS: dict[str, tuple[tuple[str, str], ...]] = {
    "ARG": (("NH1", "NH2"),),
    "ASP": (("OD1", "OD2"),),
    "GLU": (("OE1", "OE2"),),
    "LEU": (("CD1", "CD2"),),
    "VAL": (("CG1", "CG2"),),
    "PHE": (("CD1", "CD2"), ("CE1", "CE2")),
    "TYR": (("CD1", "CD2"), ("CE1", "CE2")),
}
DEFAULT_THRESHOLDS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)


@dataclass(frozen=True)
class LDDT:
    """lDDT of a model against a reference.

    Attributes
    ----------
    score : float
        Global lDDT in ``[0, 1]``: the fraction of conserved (contact, threshold)
        combinations over all contacts.
    per_residue : ndarray, shape=(n_residues,), dtype=float64
        lDDT of the contacts involving each reference residue (NaN for a residue
        without contacts).
    chain_id, res_id, ins_code : ndarray, shape=(n_residues,)
        Which reference residue each entry belongs to.
    n_contacts : int
        Number of contacts (atom pairs) scored.
    n_swapped : int
        Residues whose symmetric atoms were renamed in the model.
    """

    score: float
    per_residue: np.ndarray
    chain_id: np.ndarray
    res_id: np.ndarray
    ins_code: np.ndarray
    n_contacts: int
    n_swapped: int


def lddt(
    model: Structure,
    reference: Structure,
    atoms: Literal["heavy", "CA"] = "heavy",
    *,
    inclusion_radius: float = 15.0,
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS,
    symmetric: bool = True,
) -> LDDT:
    """Score a model against a reference by lDDT, global and per residue.

    Contacts are the pairs of selected reference atoms from different residues
    closer than ``inclusion_radius``; a contact is conserved at threshold ``t``
    when the model's distance differs by less than ``t``. Atoms are paired by
    chain, residue number, insertion code and name; reference atoms missing from
    the model make their contacts not conserved, model atoms absent from the
    reference are ignored. As in OpenStructure, symmetric side-chain atoms (ASP
    OD1/OD2, ARG NH1/NH2, PHE/TYR ring atoms, ...) are renamed in the model where
    that conserves more distances.

    Parameters
    ----------
    model, reference : Structure
        Only the first model of an ensemble is used.
    atoms : {"heavy", "CA"}
        All-atom lDDT (non-hydrogen atoms) or CA-only lDDT.
    inclusion_radius : float
        Å, 15 by default.
    thresholds : tuple of float
        Å, ``(0.5, 1, 2, 4)`` by default.
    symmetric : bool
        Resolve symmetric side-chain atom names (no effect for ``"CA"``).

    Returns
    -------
    LDDT

    Raises
    ------
    ValueError
        If model and reference share no atom, or for invalid parameters.

    Examples
    --------
    >>> from workbench.analysis import build_backbone
    >>> helix = build_backbone([-57.0] * 12, [-47.0] * 12)
    >>> lddt(helix, helix).score
    1.0
    """
    if atoms not in ("heavy", "CA"):
        raise ValueError(f"atoms must be 'heavy' or 'CA', not {atoms!r}")
    if not inclusion_radius > 0:
        raise ValueError(f"inclusion_radius must be positive, got {inclusion_radius}")
    thresholds_array = np.asarray(thresholds, dtype=np.float64)
    if thresholds_array.ndim != 1 or len(thresholds_array) == 0 or not (thresholds_array > 0).all():
        raise ValueError(f"thresholds must be a non-empty sequence of positive distances, got {thresholds}")
    reference_index = select_atoms(reference, atoms)
    model_index, paired_reference = pair_atoms(model, reference, atoms)
    n = len(reference_index)
    slot = np.searchsorted(reference_index, paired_reference)
    present = np.zeros(n, dtype=bool)
    present[slot] = True
    ref_coords = np.ascontiguousarray(reference.coords[reference_index])
    model_coords = np.zeros((n, 3), dtype=np.float32)
    model_coords[slot] = model.coords[model_index]
    atom_residue = reference.residue_index[reference_index]
    residues, residue = np.unique(atom_residue, return_inverse=True)
    residue = residue.astype(np.int64)
    n_swapped = 0
    if symmetric and atoms == "heavy":
        swaps, groups = _symmetric_pairs(reference, reference_index, residue)
        if len(swaps):
            model_coords, swapped = kernel.resolve_symmetry(
                ref_coords, model_coords, present, residue, swaps, groups, float(inclusion_radius), thresholds_array
            )
            n_swapped = int(swapped.sum())
    contacts, conserved = kernel.lddt_counts(
        ref_coords, model_coords, present, residue, len(residues), float(inclusion_radius), thresholds_array
    )
    n_thresholds = len(thresholds_array)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_residue = conserved / (n_thresholds * contacts.astype(np.float64))
    total = int(contacts.sum())
    score = float(conserved.sum() / (n_thresholds * total)) if total else float("nan")
    table = reference.residues
    return LDDT(
        score=score,
        per_residue=per_residue,
        chain_id=table.chain_id[residues],
        res_id=table.res_id[residues],
        ins_code=table.ins_code[residues],
        n_contacts=total // 2,
        n_swapped=n_swapped,
    )


def _symmetric_pairs(
    reference: Structure, reference_index: np.ndarray, residue: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (into the selected atoms) of symmetric atoms, grouped by residue."""
    res_names = reference.res_name[reference_index]
    atom_names = reference.atom_name[reference_index]
    candidates = np.flatnonzero(np.isin(res_names, list(SYMMETRIC_ATOMS)))
    position = {(int(residue[i]), str(atom_names[i])): int(i) for i in candidates}
    swaps: list[tuple[int, int]] = []
    groups: list[int] = []
    n_groups = 0
    for r in np.unique(residue[candidates]):
        first = candidates[residue[candidates] == r][0]
        pairs = []
        for a, b in SYMMETRIC_ATOMS[str(res_names[first])]:
            ia = position.get((int(r), a))
            ib = position.get((int(r), b))
            if ia is not None and ib is not None:
                pairs.append((ia, ib))
        if pairs:
            swaps.extend(pairs)
            groups.extend([n_groups] * len(pairs))
            n_groups += 1
    return np.array(swaps, dtype=np.int64).reshape(-1, 2), np.array(groups, dtype=np.int64)
