"""The one pairwise sequence aligner of the workbench (Biopython), shared by every module that aligns.

The parameters are EMBOSS needle's defaults: global Needleman-Wunsch, BLOSUM62,
gap opening -10, extension -0.5, and free end gaps, so a truncated terminus or a
tag is not penalised. Variant modelling (:mod:`workbench.predict.template_align`)
and residue pairing (:mod:`workbench.analysis.matching`) both use it, and
predictions record :data:`ALIGNER_PARAMETERS` in their provenance.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from Bio.Align import PairwiseAligner

#: Parameters of the pairwise aligner, recorded in every prediction's provenance.
ALIGNER_PARAMETERS: dict[str, Any] = {
    "program": "Bio.Align.PairwiseAligner",
    "mode": "global",
    "substitution_matrix": "BLOSUM62",
    "open_gap_score": -10.0,
    "extend_gap_score": -0.5,
    "end_gap_score": 0.0,
}


@lru_cache(maxsize=1)
def pairwise_aligner() -> PairwiseAligner:
    """The aligner built from :data:`ALIGNER_PARAMETERS` (built once per process)."""
    from Bio.Align import PairwiseAligner, substitution_matrices  # here: a tenth of a second to import

    p = ALIGNER_PARAMETERS
    return PairwiseAligner(
        mode=p["mode"],
        substitution_matrix=substitution_matrices.load(p["substitution_matrix"]),
        open_gap_score=p["open_gap_score"],
        extend_gap_score=p["extend_gap_score"],
        end_gap_score=p["end_gap_score"],
    )


def aligned_pairs(first: str, second: str) -> tuple[np.ndarray, float]:
    """Residue pairs of the best alignment of two sequences, and its score.

    Returns
    -------
    pairs : ndarray, shape=(n_pairs, 2), dtype=int64
        ``(index in first, index in second)`` of every column without a gap.
    score : float

    Examples
    --------
    >>> pairs, _ = aligned_pairs("MKTAYIAK", "KTAYIAK")
    >>> pairs[:2].tolist()
    [[1, 0], [2, 1]]
    """
    alignment = pairwise_aligner().align(first, second)[0]
    indices = np.asarray(alignment.indices)  # row per sequence; -1 in gaps
    both = (indices >= 0).all(axis=0)
    return np.ascontiguousarray(indices[:, both].T, dtype=np.int64), float(alignment.score)
