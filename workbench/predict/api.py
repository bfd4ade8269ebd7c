"""``workbench.predict``: FASTA in, predictions out, one folder per sequence."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.errors import SequenceFormatError
from workbench.io._source import Source
from workbench.io.fasta import DEFAULT_MAX_LENGTH, SequenceRecord, safe_name, scan_fasta
from workbench.io.structure_writer import atomic_write_bytes, check_writable_folder
from workbench.predict.base import PredictionOutcome, get_predictor
from workbench.predict.outputs import write_prediction


def predict(
    sequences: Source | Sequence[SequenceRecord],
    *,
    predictor: str = "template",
    out: str | Path | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    **options: Any,
) -> list[PredictionOutcome]:
    """Predict structures for every sequence; a bad sequence fails alone, with its reason.

    Parameters
    ----------
    sequences : path, FASTA text or bytes, or sequence of SequenceRecord
    predictor : str
        A registered predictor (:func:`workbench.predict.base.available_predictors`).
    out : str or Path, optional
        Write each prediction to ``out/<record name>/`` (model.pdb, model.cif,
        confidence.json, provenance.json) and ``out/summary.json``.
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
    if out is not None:
        check_writable_folder(out)  # before hours of prediction, not after
    if isinstance(sequences, Sequence) and not isinstance(sequences, str | bytes):
        records, errors = list(sequences), []
    else:
        records, errors = scan_fasta(sequences, max_length=max_length)
    reserved = [r for r in records if out is not None and r.name.lower() in _RESERVED_NAMES]
    records = [r for r in records if r not in reserved]
    outcomes = get_predictor(predictor, **options).predict(records) if records else []
    if len(outcomes) != len(records):  # pragma: no cover - a backend breaking the protocol
        raise RuntimeError(f"predictor {predictor!r} returned {len(outcomes)} outcomes for {len(records)} records")
    outcomes += [PredictionOutcome(record=_placeholder(error), error=str(error)) for error in errors]
    outcomes += [PredictionOutcome(record=r, error=f"record {r.id!r}: the id is the name of the output folder's "
                                                   f"{r.name} file; rename the record") for r in reserved]
    outcomes.sort(key=lambda outcome: outcome.record.line)
    if out is not None:
        write_outcomes(outcomes, Path(out))
    return outcomes


#: Names in the output folder that a record's folder must not take.
_RESERVED_NAMES = frozenset({"summary.json"})


def _placeholder(error: SequenceFormatError) -> SequenceRecord:
    """A record standing for one that failed validation, so it keeps its place in the results."""
    record_id = error.record or f"line{error.line or 0}"
    return SequenceRecord(id=record_id, name=safe_name(record_id) or f"line{error.line or 0}", chains=(),
                          line=error.line or 0)


def write_outcomes(outcomes: Sequence[PredictionOutcome], out: Path) -> Path:
    """Write every successful prediction under ``out`` and a ``summary.json`` of all outcomes."""
    summary = []
    for outcome in outcomes:
        entry: dict[str, Any] = {"id": outcome.record.id, "name": outcome.record.name,
                                 "length": outcome.record.length, "status": "done" if outcome.ok else "failed",
                                 "error": outcome.error}
        if outcome.prediction is not None:
            paths = write_prediction(outcome.prediction, out / outcome.record.name)
            entry |= {"mean_plddt": round(outcome.prediction.mean_plddt, 2), "ptm": outcome.prediction.ptm,
                      "files": {kind: str(path.relative_to(out)) for kind, path in paths.items()}}
        summary.append(entry)
    path = out / "summary.json"
    atomic_write_bytes(path, (json.dumps(summary, indent=2) + "\n").encode())
    return path
