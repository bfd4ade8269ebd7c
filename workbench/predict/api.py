"""``workbench.predict.predict``: FASTA in, predictions out, in memory.

Only the predictor runs here. To write the results folder, and to complete,
refine and analyse each model, run the batch pipeline
(:func:`workbench.run_batch`, ``workbench predict`` or ``workbench run``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.errors import SequenceFormatError
from workbench.io._source import Source
from workbench.io.fasta import DEFAULT_MAX_LENGTH, SequenceRecord, safe_name, scan_fasta
from workbench.predict.base import PredictionOutcome, get_predictor


def predict(
    sequences: Source | Sequence[SequenceRecord],
    *,
    predictor: str = "template",
    max_length: int = DEFAULT_MAX_LENGTH,
    **options: Any,
) -> list[PredictionOutcome]:
    """Predict structures for every sequence; a bad sequence fails alone, with its reason.

    Parameters
    ----------
    sequences : path, FASTA text or bytes, or sequence of SequenceRecord
    predictor : str
        A registered predictor (:func:`workbench.predict.base.available_predictors`).
    max_length : int
        Longest accepted sequence (all chains together).
    **options
        Passed to the predictor's constructor (``weights=``, ``template=``, ...).

    Returns
    -------
    list of PredictionOutcome
        One per FASTA record, in file order; records that failed validation
        come back with ``error`` set.
    """
    errors: list[SequenceFormatError] = []
    if isinstance(sequences, Sequence) and not isinstance(sequences, str | bytes):
        records = list(sequences)
    else:
        records, errors = scan_fasta(sequences, max_length=max_length)
    outcomes = get_predictor(predictor, **options).predict(records) if records else []
    if len(outcomes) != len(records):  # pragma: no cover - a backend breaking the protocol
        raise RuntimeError(f"predictor {predictor!r} returned {len(outcomes)} outcomes for {len(records)} records")
    outcomes += [PredictionOutcome(record=_placeholder(error), error=str(error)) for error in errors]
    outcomes.sort(key=lambda outcome: outcome.record.line)
    return outcomes


def _placeholder(error: SequenceFormatError) -> SequenceRecord:
    """A record standing for one that failed validation, so it keeps its place in the results."""
    record_id = error.record or f"line{error.line or 0}"
    return SequenceRecord(id=record_id, name=safe_name(record_id) or f"line{error.line or 0}", chains=(),
                          line=error.line or 0)
