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

A predictor with a reference item (the template predictor: the template's own
sequence) adds it to the batch, so each variant's energy change is against the
wild type built and relaxed the same way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from workbench.errors import SequenceFormatError
from workbench.files import check_writable_folder
from workbench.io._source import Source
from workbench.io.fasta import SequenceRecord, scan_fasta
from workbench.pipelines import shared_cache as shared_cache_module
from workbench.pipelines.items import ItemOutcome, ItemSpec, Progress, is_complete, read_result
from workbench.pipelines.keys import item_key, software_versions
from workbench.pipelines.summary import build_summary
from workbench.predict.base import ReferencePredictor
from workbench.report import write_report_files
from workbench.request import BatchRequest, PredictorSpec
from workbench.results import (
    CACHE,
    CITATIONS_BIB,
    LOG,
    REPORT_HTML,
    ItemFolder,
    SummaryRow,
    item_path,
    open_results,
    publish_record,
    record_folder_names,
    write_summary,
)
from workbench.stability import StabilityTerms, estimate_ddg
from workbench.versions import package_versions

if TYPE_CHECKING:
    from distributed import Client, Future

    from workbench.pipelines.engine import Task

# Dask (distributed), the cluster and the item work (OpenMM, numba, the predictors) are imported where
# the batch computes: a rerun whose items are all complete needs none of them, and importing them took
# about 0.75 s of its 1.5 s (benchmarks/startup.py).

BATCH_SYSTEMS = frozenset({"slurm", "pbs", "lsf", "sge", "htcondor"})
"""Cluster specs whose workers wait in a batch system's queue."""

REFERENCE_NAME = "wild_type"
"""Name of the reference item in the item's config (the records that share its sequence, if any, keep theirs)."""

ProgressCallback = Callable[[Progress, tuple[str, ...]], None]


@dataclass(frozen=True)
class BatchResult:
    """What a batch produced.

    Attributes
    ----------
    out : Path
        The batch folder (item folders, summary files).
    summary : pandas.DataFrame
        One row per FASTA record (see :class:`workbench.results.SummaryRow`).
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
    request: BatchRequest,
    sequences: Source | Sequence[SequenceRecord],
    out: str | Path,
    *,
    client: Client | None = None,
    cluster: str = "local",
    cluster_config: str | Path | None = None,
    item_timeout: float | None = None,
    retries: int = 2,
    batch_tokens: int | None = None,
    progress: ProgressCallback | None = None,
    show_progress: bool = False,
    cancel: threading.Event | None = None,
    shared_cache: str | Path | None = None,
) -> BatchResult:
    """Predict, refine and analyse a batch of sequences on a Dask cluster.

    Parameters
    ----------
    request : BatchRequest
        What to compute: predictor and its options, refinement settings, length limit.
    sequences : path, FASTA text or bytes, or sequence of SequenceRecord
    out : str or Path
        The batch folder (see :mod:`workbench.results`): a folder per record,
        named by its id, and the content-addressed items in ``out/cache/<key>/``;
        running the same batch again computes only what is not complete.
    client : distributed.Client, optional
        An existing client; without one, a cluster from ``cluster`` is started
        when there is something to compute, and closed at the end (a rerun with
        every item complete starts none).
    cluster : str
        Spec for :func:`~workbench.pipelines.cluster.make_cluster` when no client is given.
    cluster_config : str or Path, optional
        Its YAML settings (SLURM).
    item_timeout : float, optional
        Seconds one item may run on a worker before it is failed.
    retries : int
        Extra attempts for a task whose worker died.
    batch_tokens : int, optional
        Residues per prediction task (default: the predictor's declared ``batch_tokens``).
    progress : callable, optional
        ``progress(counts, names)`` after every item; ``names`` are the record ids
        of the item that just finished (none for the reference item, which no one submitted).
    show_progress : bool
        Draw a progress bar on the terminal (stderr).
    cancel : threading.Event, optional
        Set it to stop: pending items are cancelled, finished ones are kept.
    shared_cache : str or Path, optional
        A cache of finished items shared with other batches and jobs
        (:mod:`~workbench.pipelines.shared_cache`; the CLI and the dispatcher
        pass :func:`workbench.config.shared_cache_root`): items found there
        are not computed, and items computed here are added to it.

    Returns
    -------
    BatchResult

    Raises
    ------
    FileNotFoundError, StructureFormatError
        For settings that would fail every item (a missing or unreadable template), before any item runs.
    """
    request.validate()
    started = time.perf_counter()
    invalid: list[SequenceFormatError] = []
    if isinstance(sequences, Sequence) and not isinstance(sequences, str | bytes):
        records = list(sequences)
    else:
        records, invalid = scan_fasta(sequences, max_length=request.max_length)
    out = check_writable_folder(Path(out).resolve())  # after reading the input; absolute: workers may be elsewhere
    settings = request.key_settings() | {"versions": software_versions()}
    with contextlib.ExitStack() as stack, batch_log(out / LOG) as log:
        active = OnDemandClient(stack, out, client, cluster, cluster_config)
        log.info("batch of %d record(s) (%d invalid) into %s", len(records) + len(invalid), len(invalid), out)
        log.info("request: %s", json.dumps(request.to_json(), sort_keys=True))
        for error in invalid:
            log.warning("invalid record: %s", error)
        reference = _reference_record(active, request) if request.refine is not None else None
        groups = _group(records, settings, reference)
        specs = {key: ItemSpec(key, sequence, tuple(r.id for r in group) or (REFERENCE_NAME,), request, settings)
                 for key, (sequence, group) in groups.items()}
        outcomes = _run_items(active, out / CACHE, request, specs, groups, reference, log,
                              batch_tokens=batch_tokens, item_timeout=item_timeout, retries=retries,
                              progress=progress, show_progress=show_progress, cancel=cancel,
                              shared_cache=None if shared_cache is None else Path(shared_cache).resolve())
        reference_key = item_key(reference.sequence, settings) if reference is not None else None
        rows = _rows(records, invalid, groups, outcomes, outcomes.get(reference_key) if reference_key else None,
                     out / CACHE)
        table = build_summary(rows)
        counts = {status: sum(o.status == status for o in outcomes.values())
                  for status in ("done", "cached", "failed", "cancelled")} | {"invalid": len(invalid)}
        metadata = {"request": request.to_json(), "settings": settings, "counts": counts, "items": len(specs),
                    "records": len(records) + len(invalid), "versions": package_versions(),
                    "input": str(sequences) if isinstance(sequences, str | Path) and "\n" not in str(sequences)
                    else None,
                    "reference": None if reference is None else {"key": reference_key, "sequence": reference.sequence},
                    "finished": datetime.now(UTC).isoformat(timespec="seconds"),
                    "wall_time_s": round(time.perf_counter() - started, 3)}
        paths = write_summary(table, out, metadata)
        report = write_report_files(open_results(out))  # report.html and citations.bib; the items hold their figures
        for row in rows:
            if row.status == "done" and row.folder and row.item:
                publish_record(out, row.folder, row.item)
        paths |= {"html": report[REPORT_HTML], "citations": report[CITATIONS_BIB]}
        log.info("finished in %.1f s: %s", time.perf_counter() - started,
                 ", ".join(f"{count} {status}" for status, count in counts.items()))
    return BatchResult(out, table, counts, paths)


def incomplete_records(request: BatchRequest, records: Sequence[SequenceRecord], out: str | Path,
                       shared_cache: str | Path | None = None) -> list[SequenceRecord]:
    """The records whose items are complete neither in batch folder ``out`` nor in the shared cache.

    What a run of ``request`` would compute: ``workbench run`` screens only
    these, so a rerun with nothing left to compute builds no predictor.
    """
    settings = request.key_settings() | {"versions": software_versions()}
    places = [Path(out) / CACHE] + ([Path(shared_cache)] if shared_cache is not None else [])
    return [record for record in records
            if not any(is_complete(place / item_key(record.sequence, settings)) for place in places)]


def _run_items(client: OnDemandClient, cache: Path, request: BatchRequest, specs: Mapping[str, ItemSpec],
               groups: Mapping[str, tuple[str, list[SequenceRecord]]], reference: SequenceRecord | None,
               log: logging.Logger, *, batch_tokens: int | None, item_timeout: float | None, retries: int,
               progress: ProgressCallback | None, show_progress: bool, cancel: threading.Event | None,
               shared_cache: Path | None) -> dict[str, ItemOutcome]:
    """Submit the prediction batches and the items; the outcome of every item, cached ones included."""
    cached = [key for key in specs if is_complete(cache / key)]
    reused = [] if shared_cache is None else shared_cache_module.reuse(
        shared_cache, [key for key in specs if key not in set(cached)], cache)
    cached += reused
    todo = [key for key in specs if key not in set(cached)]
    log.info("%d item(s): %d complete from an earlier run (%d of them from the shared cache %s), %d to compute",
             len(specs), len(cached), len(reused), shared_cache, len(todo))
    if not todo:  # nothing to compute: no cluster
        if progress is not None:
            progress(Progress(total=len(cached), cached=len(cached)), ())
        return {key: ItemOutcome(key, "cached", read_result(cache / key)) for key in cached}
    outcomes = _submit_items(client.get(), cache, request, specs, groups, reference, log, todo, cached,
                             batch_tokens=batch_tokens, item_timeout=item_timeout, retries=retries,
                             progress=progress, show_progress=show_progress, cancel=cancel)
    if shared_cache is not None:
        kept = shared_cache_module.keep(shared_cache, [k for k, o in outcomes.items() if o.status == "done"], cache)
        log.info("%d new item(s) added to the shared cache %s", kept, shared_cache)
    return outcomes


def _submit_items(client: Client, cache: Path, request: BatchRequest, specs: Mapping[str, ItemSpec],
                  groups: Mapping[str, tuple[str, list[SequenceRecord]]], reference: SequenceRecord | None,
                  log: logging.Logger, todo: list[str], cached: list[str], *, batch_tokens: int | None,
                  item_timeout: float | None, retries: int, progress: ProgressCallback | None, show_progress: bool,
                  cancel: threading.Event | None) -> dict[str, ItemOutcome]:
    from workbench.pipelines.cluster import gpu_resources
    from workbench.pipelines.engine import ItemRunner, Task, Upstream
    from workbench.pipelines.tasks import predict_and_finish_item

    info = request.predictor.info
    batches = _pack(todo, specs, batch_tokens if batch_tokens is not None else info.batch_tokens)
    resources = gpu_resources(client) if info.needs_gpu else None
    with _progress_bar(len(specs), show_progress) as bar:
        def report(counts: Progress) -> None:
            bar(counts)
            last = counts.last
            if last is not None:
                records = tuple(r.id for r in groups[last.key][1])  # none for the reference item
                names = ", ".join(records) or "the reference item (the template's own sequence)"
                log.log(logging.WARNING if last.status == "failed" else logging.INFO, "%s %s (%s)%s", last.status,
                        names, last.key, f": {last.error}" if last.error else f" in {last.seconds:.1f} s")
                if progress is not None:
                    progress(counts, records)

        runner = ItemRunner(client, cache, retries=retries, timeout=item_timeout, progress=report, cancel=cancel)
        single = [batch[0] for batch in batches if len(batch) == 1 and resources is None]
        predictions = [_predict(client, request, batch, groups, reference, cache, resources, retries)
                       for batch in batches if not (len(batch) == 1 and resources is None)]
        tasks = [Task(key, predict_and_finish_item, (specs[key], _record(groups[key], reference))) for key in single]
        tasks += _item_tasks(specs, predictions)
        upstream = [Upstream(*prediction) for prediction in _drain(predictions)]
        # drained: the runner alone holds the futures from here, and lets each go when its items are finished
        return runner.run(_drain(tasks), cached=cached, upstream=_drain(upstream))


def _predict(client: Client, request: BatchRequest, batch: Sequence[str],
             groups: Mapping[str, tuple[str, list[SequenceRecord]]], reference: SequenceRecord | None,
             cache: Path, resources: dict[str, float] | None, retries: int) -> tuple[Future, tuple[str, ...]]:
    """Submit one prediction task; its future and the item keys it predicts."""
    from workbench.pipelines.tasks import predict_batch

    future = client.submit(predict_batch, request.predictor, [(key, _record(groups[key], reference)) for key in batch],
                           str(cache), resources=resources, retries=retries, pure=False,
                           key=f"workbench-predict-{batch[0]}-{uuid.uuid4().hex[:12]}")
    return future, tuple(batch)


def _item_tasks(specs: Mapping[str, ItemSpec], predictions: list[tuple[Future, tuple[str, ...]]]) -> list[Task]:
    from workbench.pipelines.engine import Task
    from workbench.pipelines.tasks import finish_item

    return [Task(key, finish_item, (specs[key], future)) for future, keys in predictions for key in keys]


def _drain(items: list[Any]) -> Iterator[Any]:
    """Yield and forget the items of ``items``, so the caller keeps no reference to them."""
    while items:
        yield items.pop()


def _rows(records: Sequence[SequenceRecord], invalid: Sequence[SequenceFormatError],
          groups: Mapping[str, tuple[str, list[SequenceRecord]]], outcomes: Mapping[str, ItemOutcome],
          reference: ItemOutcome | None, items: Path) -> list[SummaryRow]:
    """One summary row per record (invalid ones included), in file order, with folders and energy changes."""
    key_of = {id(record): key for key, (_, group) in groups.items() for record in group}
    folders = dict(zip((id(r) for r in records), record_folder_names([r.name for r in records]), strict=True))
    rows = [(record.line, _row(record, key_of[id(record)], outcomes[key_of[id(record)]], folders[id(record)]))
            for record in records]
    rows += [(error.line or 0, _invalid_row(error)) for error in invalid]
    rows.sort(key=lambda pair: pair[0])
    return _against_reference([row for _, row in rows], outcomes, reference, items)


# ---------------------------------------------------------------------- helpers


class OnDemandClient:
    """The batch's Dask client, made when first needed; its workers checked once to see the output folder.

    Parameters
    ----------
    stack : contextlib.ExitStack
        Closes a cluster started here.
    out : Path
        The batch folder every worker must see (:func:`~workbench.pipelines.cluster.check_workers_see`).
    client : distributed.Client, optional
        Given by the caller: used as is (and not closed).
    cluster, config
        For :func:`~workbench.pipelines.cluster.make_cluster` when no client is given.
    """

    def __init__(self, stack: contextlib.ExitStack, out: Path, client: Client | None, cluster: str,
                 config: str | Path | None) -> None:
        self._stack, self._out, self._client, self._cluster, self._config = stack, out, client, cluster, config
        self._checked = False

    def get(self) -> Client:
        """The client, starting the cluster the first time."""
        from workbench.pipelines.cluster import FIRST_WORKER_TIMEOUT, check_workers_see, make_cluster

        if self._client is None:
            self._client = self._stack.enter_context(make_cluster(self._cluster, config=self._config))
        if not self._checked:  # a batch system's queue may hold the first worker back for hours
            queued = self._cluster.split(":")[0] in BATCH_SYSTEMS
            check_workers_see(self._client, self._out, first_worker_timeout=None if queued else FIRST_WORKER_TIMEOUT)
            self._checked = True
        return self._client


def _reference_record(client: OnDemandClient, request: BatchRequest) -> SequenceRecord | None:
    """The predictor's reference item (the template's own sequence): declared cheaply, else asked of a worker."""
    info = request.predictor.info
    if not info.has_reference:
        return None
    if info.reference is not None:
        try:
            return info.reference(request.predictor.options)
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot make the reference item of predictor {request.predictor.name!r}: "
                             f"{type(exc).__name__}: {exc}") from exc
    future = client.get().submit(_reference_of, request.predictor, pure=False)
    try:
        return future.result()
    except Exception as exc:
        raise ValueError(f"cannot make the reference item of predictor {request.predictor.name!r}: "
                         f"{type(exc).__name__}: {exc}") from exc


def _reference_of(spec: PredictorSpec) -> SequenceRecord | None:
    from workbench.pipelines.tasks import predictor_for

    predictor = predictor_for(spec)
    return predictor.reference_record() if isinstance(predictor, ReferencePredictor) else None


def _group(records: Sequence[SequenceRecord], settings: Mapping[str, Any],
           reference: SequenceRecord | None) -> dict[str, tuple[str, list[SequenceRecord]]]:
    """Records by content key; the reference sequence gets a key (with no records) when absent."""
    groups: dict[str, tuple[str, list[SequenceRecord]]] = {}
    for record in records:
        key = item_key(record.sequence, settings)
        groups.setdefault(key, (record.sequence, []))[1].append(record)
    if reference is not None:
        groups.setdefault(item_key(reference.sequence, settings), (reference.sequence, []))
    return groups


def _record(group: tuple[str, list[SequenceRecord]], reference: SequenceRecord | None) -> SequenceRecord:
    """The record an item is predicted for: its first FASTA record, or the reference record."""
    sequence, records = group
    if records:
        return records[0]
    if reference is None:  # pragma: no cover - only the reference item has no records
        raise ValueError(f"item {sequence[:20]}... has no record")
    return reference


def _pack(keys: Sequence[str], specs: Mapping[str, ItemSpec], tokens: int) -> list[list[str]]:
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


def _row(record: SequenceRecord, key: str, outcome: ItemOutcome, folder: str) -> SummaryRow:
    status = "done" if outcome.ok else outcome.status
    numbers = outcome.result if outcome.ok else {}
    return SummaryRow.from_mapping({"name": record.name, "id": record.id, "item": key, "length": record.length,
                                    "chains": len(record.chains), "status": status, "error": outcome.error,
                                    "cached": outcome.status == "cached",
                                    "folder": folder if outcome.ok else None} | numbers)


def _invalid_row(error: SequenceFormatError) -> SummaryRow:
    return SummaryRow(name=None, id=error.record, item=None, length=0, chains=0, status="failed", error=str(error))


def _against_reference(rows: list[SummaryRow], outcomes: Mapping[str, ItemOutcome],
                       reference: ItemOutcome | None, items: Path) -> list[SummaryRow]:
    """Each finished row compared with the reference item: the one place this is computed.

    ``energy_change``: relaxed potential energy minus the reference's (two
    different compositions: not a stability). ``ddg_estimate``: the
    folding-stability estimate of :mod:`workbench.stability` for the row's
    mutations, in kcal/mol (positive = destabilising), from each item's
    ``stability.json`` in ``items`` (read one at a time).
    """
    usable = reference is not None and reference.ok
    base = reference.result.get("energy_after") if reference is not None and usable else None
    reference_terms = _stability_terms(reference, items) if reference is not None and usable else None
    reference_key = reference.key if reference is not None else None
    compared = []
    for row in rows:
        ddg = None
        outcome = outcomes.get(row.item) if row.item is not None else None
        if reference_terms is not None and row.item == reference_key:
            ddg = 0.0  # the reference itself
        elif reference_terms is not None and row.mutations and outcome is not None and outcome.ok:
            terms = _stability_terms(outcome, items)
            ddg = None if terms is None else estimate_ddg(terms, reference_terms, row.mutations).ddg
        compared.append(dataclasses.replace(
            row, energy_change=None if base is None or row.energy_after is None else row.energy_after - base,
            ddg_estimate=ddg))
    return compared


def _stability_terms(outcome: ItemOutcome, items: Path) -> StabilityTerms | None:
    """An item's stability terms: its ``stability.json`` (or, for items finished before it existed, its numbers)."""
    terms = outcome.result.get("stability_terms") or ItemFolder(item_path(items.parent, outcome.key)).stability_terms()
    return StabilityTerms.from_dict(terms) if terms else None


@contextlib.contextmanager
def batch_log(path: Path) -> Iterator[logging.Logger]:
    """A logger that appends to the batch's ``log.txt`` for the duration (one per batch, also when nested)."""
    log = logging.getLogger(f"workbench.batch.{path.parent.resolve()}")
    log.setLevel(logging.INFO)
    log.propagate = False
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    try:
        yield log
    finally:
        log.removeHandler(handler)
        handler.close()


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
