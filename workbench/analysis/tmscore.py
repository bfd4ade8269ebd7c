"""TM-score and GDT with the TM-score program's behaviour."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.analysis._select import pair_atoms, select_atoms
from workbench.kernels import superpose as superpose_kernel
from workbench.kernels import tmscore as kernel
from workbench.structure import Structure


@dataclass(frozen=True)
class TMScore:
    """Scores of a model against a reference, as the TM-score program reports them.

    Attributes
    ----------
    tm_score : float
        TM-score normalised by the reference length, in ``(0, 1]``.
    gdt_ts, gdt_ha : float
        Global distance test: mean fraction of reference residues within 1, 2, 4
        and 8 Å (TS) or 0.5, 1, 2 and 4 Å (HA), each maximised over the
        superpositions tried by the search.
    rmsd : float
        CA RMSD of the common residues after their optimal superposition, Å.
    n_aligned : int
        Residues present in both structures (paired by chain and number).
    reference_length : int
        Residues with a CA atom in the reference (the normalisation length).
    d0 : float
        Distance scale of the score, Å.
    rotation : ndarray, shape=(3, 3), dtype=float64
    translation : ndarray, shape=(3,), dtype=float64
        The superposition that maximises the TM-score:
        ``model.coords @ rotation.T + translation``.
    """

    tm_score: float
    gdt_ts: float
    gdt_ha: float
    rmsd: float
    n_aligned: int
    reference_length: int
    d0: float
    rotation: np.ndarray
    translation: np.ndarray


def tm_score(model: Structure, reference: Structure) -> TMScore:
    """TM-score, GDT-TS and GDT-HA of a model against a reference.

    Residues are paired by chain identifier, residue number and insertion code
    (their CA atoms), as in the TM-score program; the superposition that maximises
    the TM-score is searched from every fragment of the common residues, and the
    score is normalised by the number of reference residues. Agrees with US-align
    ``-TMscore 1`` to its printed precision.

    Parameters
    ----------
    model, reference : Structure
        Only the first model of an ensemble is used.

    Returns
    -------
    TMScore

    Raises
    ------
    ValueError
        If the two structures have no residue in common.

    Examples
    --------
    >>> from workbench.analysis import build_backbone
    >>> helix = build_backbone([-57.0] * 20, [-47.0] * 20)
    >>> round(tm_score(helix, helix).tm_score, 6)
    1.0
    """
    model_index, reference_index = pair_atoms(model, reference, "CA")
    length = len(select_atoms(reference, "CA"))
    x = np.ascontiguousarray(model.coords[model_index])
    y = np.ascontiguousarray(reference.coords[reference_index])
    d0 = kernel.d0_for_length(float(length))
    d0_search = min(max(d0, 4.5), 8.0)
    score, rotation, translation, gdt = kernel.tm_search(x, y, float(length), d0, d0_search)
    counts = gdt.astype(np.float64) / length
    return TMScore(
        tm_score=float(score),
        gdt_ts=float(counts[1:5].mean()),
        gdt_ha=float(counts[0:4].mean()),
        rmsd=float(superpose_kernel.rmsd_pair(x, y)),
        n_aligned=len(model_index),
        reference_length=length,
        d0=float(d0),
        rotation=rotation,
        translation=translation,
    )
