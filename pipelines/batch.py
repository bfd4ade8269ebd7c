"""``run_batch``: FASTA in; predicted, refined, analysed structures and a ranked summary out.

The graph of one batch:

1. validate the FASTA (a bad record becomes a failed row, the rest go on);
2. give each distinct (sequence, settings) a content key; records with the same
   sequence share it and are computed once; keys already complete on disk are
   skipped;
3. predict in length-sorted batches (packed to a token budget for ESMFold, on
   workers that advertise a GPU when the cluster has any);
4. per item, on any worker: refine (OpenMM), analyse (numba kernels), write
   every file atomically, then ``DONE``;
5. a summary table (Parquet, CSV, HTML) with a ranking, and batch.json.

For the template predictor the template's own sequence joins the batch as the
reference item, so each variant's energy change is against the wild type relaxed
the same way.
"""

from __future__ import annotations

import contextlib
import errno
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from distributed import Client

from workbench.errors import SequenceFormatError
from workbench.io._source import Source
from workbench.io.fasta import DEFAULT_MAX_LENGTH, SequenceRecord, scan_fasta
from workbench.io.structure_reader import read_structure
from workbench.pipelines.cluster import gpu_resources, make_cluster
from workbench.pipelines.engine import ItemOutcome, ItemRunner, Progress, Task, is_complete
from workbench.pipelines.keys import canonical_options, item_key, software_versions
from workbench.pipelines.summary import build_summary, write_summary
from workbench.pipelines.tasks import ItemSpec, finish_item, predict_batch, predictor_for
from workbench.predict.base import available_predictors
from workbench.refine import RefineConfig

DEFAULT_BATCH_TOKENS = {"esmfold": 4096}
"""Residues per prediction task, by predictor; others predict one record per task."""

REFERENCE_NAME = "wild_type"

ProgressCallback = Callable[[Progress, tuple[str, ...]], None]


@dataclass(frozen=True)
class BatchResult:
    """What a batch produced.

    Attributes
    ----------
    out : Path
        The batch folder (item folders, summary files).
    summary : pandas.DataFrame
        One row per FASTA record (see :data:`workbench.pipelines.summary.COLUMNS`).
    counts : dict
        Items (distinct keys) done, cached, failed and cancelled, plus invalid records.
    paths : dict
        The summary files.
    """

    out: Path
    summary: pd.DataFrame
    counts: dict[str, int]
    paths: dict[str, Path]

    @property
    def computed(self) -> int:
        """Items computed in this run (not taken from an earlier one)."""
        return self.counts["done"]


def run_batch(
    sequences: Source | Sequence[SequenceRecord],
    out: str | Path,
    *,
    predictor: str = "template",
    predictor_options: Mapping[str, Any] | None = None,
    refine: bool = True,
    refine_options: Mapping[str, Any] | None = None,
    client: Client | None = None,
    cluster: str = "local",
    item_timeout: float | None = None,
    retries: int = 2,
    batch_tokens: int | None = None,
    max_length: int = DEFAULT_MAX_LENGTH,
    progress: ProgressCallback | None = None,
    show_progress: bool = False,
    cancel: threading.Event | None = None,
) -> BatchResult:
    """Predict, refine and analyse a batch of sequences on a Dask cluster.

    Parameters
    ----------
    sequences : path, FASTA text or bytes, or sequence of SequenceRecord
    out : str or Path
        The batch folder. Items go to ``out/<key>/``; running the same batch
        again computes only what is not complete.
    predictor : str
        ``template`` (offline; needs ``predictor_options["template"]``), ``esmfold``, ...
    predictor_options : mapping, optional
        Predictor constructor options (``template=``, ``weights=``, ``num_recycles=``, ...).
    refine : bool
        Relax every model with :func:`workbench.refine`.
    refine_options : mapping, optional
        :class:`~workbench.RefineConfig` fields (``md_ps=``, ``platform=``, ...).
    client : distributed.Client, optional
        An existing client; without one, a cluster from ``cluster`` is started and closed.
    cluster : str
        Spec for :func:`~workbench.pipelines.cluster.make_cluster` when no client is given.
    item_timeout : float, optional
        Seconds one item may run on a worker before it is failed.
    retries : int
        Extra attempts for a task whose worker died.
    batch_tokens : int, optional
        Residues per prediction task (default per predictor, :data:`DEFAULT_BATCH_TOKENS`).
    max_length : int
        Longest accepted sequence.
    progress : callable, optional
        ``progress(counts, names)`` after every item; ``names`` are the record ids
        of the item that just finished.
    show_progress : bool
        Draw a progress bar on the terminal (stderr).
    cancel : threading.Event, optional
        Set it to stop: pending items are cancelled, finished ones are kept.

    Returns
    -------
    BatchResult

    Raises
    ------
    ValueError
        For an unknown predictor or a template predictor without a template.
    """
    if predictor not in available_predictors():
        raise ValueError(f"unknown predictor {predictor!r}; available: {', '.join(available_predictors())}")
    predictor_options = dict(predictor_options or {})
    if predictor == "template":
        if "template" not in predictor_options:
            raise ValueError("the template predictor needs predictor_options['template'] (a PDB or mmCIF path)")
        predictor_options["refine"] = False  # the pipeline refines every model itself
    refine_options = dict(refine_options or {})
    _check_settings(predictor, predictor_options, refine, refine_options)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    if isinstance(sequences, Sequence) and not isinstance(sequences, str | bytes):
        records, invalid = list(sequences), []
    else:
        records, invalid = scan_fasta(sequences, max_length=max_length)
    settings = {
        "predictor": predictor,
        "predictor_options": canonical_options(predictor_options),
        "refine": refine,
        "refine_options": canonical_options(refine_options) if refine else None,
        "versions": software_versions(),
    }
    with _client(client, cluster) as active:
        reference = _reference_sequence(active, predictor, predictor_options) if refine else None
        groups = _group(records, settings, reference)
        specs = {key: ItemSpec(key, sequence, tuple(r.id for r in group) or (REFERENCE_NAME,), predictor, refine,
                               refine_options, settings)
                 for key, (sequence, group) in groups.items()}
        cached = [key for key in specs if is_complete(out / key)]
        todo = [key for key in specs if key not in set(cached)]
        batches = _pack(todo, specs, groups, batch_tokens or DEFAULT_BATCH_TOKENS.get(predictor, 0))
        resources = gpu_resources(active) if predictor == "esmfold" else None
        tasks = []
        for batch in batches:
            predicted = active.submit(predict_batch, predictor, predictor_options,
                                      [(key, _record(key, groups[key])) for key in batch], str(out),
                                      resources=resources, retries=retries, pure=False)
            tasks += [Task(key, finish_item, (specs[key], predicted)) for key in batch]
        with _progress_bar(len(specs), show_progress) as bar:
            def report(counts: Progress) -> None:
                bar(counts)
                if progress is not None and counts.last is not None:
                    progress(counts, specs[counts.last.key].names)

            runner = ItemRunner(active, out, retries=retries, timeout=item_timeout, progress=report, cancel=cancel)
            outcomes = runner.run(tasks, cached=cached)

    key_of = {id(record): key for key, (_, group) in groups.items() for record in group}
    rows = [_row(record, key_of[id(record)], outcomes[key_of[id(record)]]) for record in records]
    rows += [_invalid_row(error) for error in invalid]
    rows.sort(key=lambda row: row["_line"])
    reference_key = item_key(reference, settings) if reference is not None else None
    _energy_change(rows, outcomes.get(reference_key) if reference_key else None)
    table = build_summary(rows)
    counts = {status: sum(o.status == status for o in outcomes.values())
              for status in ("done", "cached", "failed", "cancelled")} | {"invalid": len(invalid)}
    metadata = {"settings": settings, "counts": counts, "items": len(specs), "records": len(records) + len(invalid),
                "reference": None if reference_key is None else {"key": reference_key, "sequence": reference},
                "wall_time_s": round(time.perf_counter() - started, 3)}
    paths = write_summary(table, out, metadata)
    return BatchResult(out, table, counts, paths)


# ---------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _client(client: Client | None, cluster: str) -> Iterator[Client]:
    if client is not None:
        yield client
        return
    with make_cluster(cluster) as made:
        yield made


def _check_settings(predictor: str, predictor_options: Mapping[str, Any], refine: bool,
                    refine_options: Mapping[str, Any]) -> None:
    """Refuse settings that would fail every item, before any item runs (not once per item, later).

    The OpenMM platform is not checked here: CUDA may exist on the workers and not on this machine.
    """
    if refine:
        RefineConfig(**refine_options)  # TypeError for an unknown field, ValueError for a bad value
    if predictor == "template":
        read_structure(predictor_options["template"])  # errors name the file and the line
    if predictor == "imported":
        directory = Path(predictor_options.get("directory", ""))
        if not directory.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "imported results folder not found", str(directory))


def _reference_sequence(client: Client, predictor: str, options: Mapping[str, Any]) -> str | None:
    """The template's own sequence (chains joined by ``:``), built on a worker with the cached predictor."""
    if predictor != "template":
        return None
    future = client.submit(_template_sequence, dict(options), pure=False)
    try:
        return future.result()
    except Exception as exc:
        raise ValueError(f"cannot use the template: {type(exc).__name__}: {exc}") from exc


def _template_sequence(options: dict[str, Any]) -> str | None:
    sequences = predictor_for("template", options).template_sequences
    return None if any("X" in s for s in sequences) else ":".join(sequences)


def _group(records: Sequence[SequenceRecord], settings: Mapping[str, Any],
           reference: str | None) -> dict[str, tuple[str, list[SequenceRecord]]]:
    """Records by content key; the reference sequence gets a key (with no records) when absent."""
    groups: dict[str, tuple[str, list[SequenceRecord]]] = {}
    for record in records:
        key = item_key(record.sequence, settings)
        groups.setdefault(key, (record.sequence, []))[1].append(record)
    if reference is not None:
        groups.setdefault(item_key(reference, settings), (reference, []))
    return groups


def _record(key: str, group: tuple[str, list[SequenceRecord]]) -> SequenceRecord:
    sequence, records = group
    if records:
        return records[0]
    return SequenceRecord(id=REFERENCE_NAME, name=REFERENCE_NAME, chains=tuple(sequence.split(":")))


def _pack(keys: Sequence[str], specs: Mapping[str, ItemSpec], groups: Mapping[str, Any],
          tokens: int) -> list[list[str]]:
    """Length-sorted batches of at most ``tokens`` residues (one key per batch when ``tokens`` is 0)."""
    ordered = sorted(keys, key=lambda k: len(specs[k].sequence))
    if tokens <= 0:
        return [[key] for key in ordered]
    batches: list[list[str]] = []
    size = 0
    for key in ordered:
        length = len(specs[key].sequence)
        if batches and size + length <= tokens:
            batches[-1].append(key)
            size += length
        else:
            batches.append([key])
            size = length
    return batches


def _row(record: SequenceRecord, key: str, outcome: ItemOutcome) -> dict[str, Any]:
    status = "done" if outcome.ok else outcome.status
    return {"_line": record.line, "name": record.name, "id": record.id, "item": key, "length": record.length,
            "chains": len(record.chains), "status": status, "error": outcome.error,
            "cached": outcome.status == "cached"} | (outcome.result if outcome.ok else {})


def _invalid_row(error: SequenceFormatError) -> dict[str, Any]:
    return {"_line": error.line or 0, "name": None, "id": error.record, "item": None, "length": 0, "chains": 0,
            "status": "failed", "error": str(error), "cached": False}


def _energy_change(rows: list[dict[str, Any]], reference: ItemOutcome | None) -> None:
    """Energy after refinement minus the reference's, for each finished row (in place)."""
    base = reference.result.get("energy_after") if reference is not None and reference.ok else None
    for row in rows:
        energy = row.get("energy_after")
        row["energy_change"] = None if base is None or energy is None else energy - base


@contextlib.contextmanager
def _progress_bar(total: int, show: bool) -> Iterator[Callable[[Progress], None]]:
    if not show:
        yield lambda counts: None
        return
    from tqdm import tqdm

    with tqdm(total=total, unit="item", desc="batch", dynamic_ncols=True) as bar:
        def update(counts: Progress) -> None:
            bar.n = counts.finished
            bar.set_postfix(done=counts.done, cached=counts.cached, failed=counts.failed, refresh=False)
            bar.refresh()

        yield update
