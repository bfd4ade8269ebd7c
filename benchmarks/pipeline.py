"""Pipeline overhead and scaling: ``ItemRunner`` against a bare ``client.map``, one run, one machine.

Issue 6 asks for under 5 ms of overhead per item and at least 1.8x from one to two
workers on CPU-bound items. Two measurements, each on a ``LocalCluster`` from
:func:`workbench.pipelines.cluster.make_cluster` (single-threaded worker processes):

- Overhead: ``--items`` (1,000) cheap items through
  ``ItemRunner(client, out).run([Task(key, cheap, payload), ...])``, which runs
  ``execute_item`` on the workers (skip check, item folder, and
  ``DONE`` written atomically), against ``client.map`` of the same function on the
  same cluster, interleaved, median of ``--repeats``. Overhead per item is
  (ours - bare) / items. Then two warm reruns of the finished batch: keys found
  complete on the client and passed as ``cached=`` (what ``run_batch`` does, nothing
  submitted), and every item submitted again so that ``execute_item`` skips it on the
  worker. Both must compute nothing; the counts are printed and checked.
- File cost: the same items through ``execute_item`` in this process, no Dask: what the
  atomic writes (each fsynced) cost alone, to tell disk from scheduling in the overhead.
- Speed-up: ``--cpu-items`` (40) pure-Python items of about ``--cpu-ms`` (60) ms each
  through ``ItemRunner`` on ``local:1`` and on ``local:N`` (N = ``--workers``); the
  ratio of the two wall times, cluster start-up excluded.

The work functions live in this module and reach the workers by reference: the
script re-imports itself as the module ``pipeline`` (its folder is ``sys.path[0]``,
which spawned worker processes inherit), so a task pickles as ``pipeline.cheap``
rather than as a function from ``__main__``. The usable cores (CPU affinity) and the
load average before and after are printed: on a shared machine whose vCPUs behave as
one core the speed-up here stays near 1 whatever the pipeline does.

Usage::

    python benchmarks/pipeline.py [--items 1000] [--workers 2] [--repeats 3] [--cpu-items 40] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from distributed import WorkerPlugin

from workbench.predict.base import PredictorOptions

GOAL_OVERHEAD_MS = 5.0
GOAL_SPEEDUP = 1.8


# ---------------------------------------------------------------- work functions (run on the workers)


def cheap(payload: int, folder: Path | None) -> dict[str, Any]:
    """A near-free item: a little arithmetic, no files (``folder`` is None under ``client.map``)."""
    return {"value": payload * 2 + 1}


def spin(loops: int) -> int:
    """Pure-Python integer loop: CPU-bound, holds the GIL, allocates nothing."""
    total = 0
    for i in range(loops):
        total = (total + i * i) % 1_000_003
    return total


def cpu_bound(payload: int, folder: Path | None) -> dict[str, Any]:
    """An item of ``payload`` loops of :func:`spin` (calibrated to a few tens of ms)."""
    return {"checksum": spin(payload)}


# ---------------------------------------------------------------- a trivial predictor for the scale runs

TINY = "tiny-benchmark"
TINY_PDB = """\
ATOM      1  N   ALA A   1      -0.677  -1.230  -0.491  1.00 70.00           N
ATOM      2  CA  ALA A   1      -0.001   0.064  -0.491  1.00 70.00           C
ATOM      3  C   ALA A   1       1.499  -0.110  -0.491  1.00 70.00           C
ATOM      4  O   ALA A   1       2.030  -1.227  -0.502  1.00 70.00           O
ATOM      5  CB  ALA A   1      -0.509   0.856   0.727  1.00 70.00           C
END
"""


@dataclass(frozen=True)
class TinyOptions(PredictorOptions):
    """``tiny-benchmark`` has no options."""


class TinyPredictor:
    """One alanine for any record: prediction costs nothing, the item's own work is the workbench's.

    No confidence (as a template variant has none), so no figure is drawn per item.
    """

    name = TINY

    def predict(self, records: Sequence[Any]) -> list[Any]:
        from workbench.predict.base import Prediction, PredictionOutcome, Provenance

        model = _tiny_model()
        return [PredictionOutcome(r, Prediction(model, None, None, None, Provenance(TINY), name=r.id))
                for r in records]


def _tiny_model() -> Any:
    from workbench.io.structure_reader import read_structure

    global _MODEL
    if "_MODEL" not in globals():
        path = Path(tempfile.mkdtemp(prefix="tiny-model-")) / "ala.pdb"
        path.write_text(TINY_PDB)
        _MODEL = read_structure(path)
    return _MODEL


def register_tiny() -> None:
    """Register ``tiny-benchmark`` in this process (idempotent)."""
    from workbench.predict.base import available_predictors, register

    if TINY not in available_predictors():
        register(TINY, options=TinyOptions)(TinyPredictor)


def tiny_item(payload: tuple[Any, Any], folder: str) -> float:
    """What one item's task does without the engine (for bare ``client.map``): predict, finish; its own seconds."""
    from workbench.pipelines.tasks import predict_and_finish_item

    register_tiny()
    started = time.perf_counter()
    Path(folder).mkdir(parents=True, exist_ok=True)
    predict_and_finish_item(payload, Path(folder))
    return time.perf_counter() - started


def _register_on_worker(dask_worker: Any = None) -> None:
    register_tiny()


# ---------------------------------------------------------------- measurements (client side)


@dataclass
class Row:
    case: str
    workers: int
    items: int
    seconds: float
    per_item_ms: float
    note: str = ""


def calibrate(target_ms: float) -> int:
    """Loops of :func:`spin` that take about ``target_ms`` in this process (best of three)."""
    loops = 100_000
    best = min(_timed(lambda: spin(loops)) for _ in range(3))
    return max(int(loops * target_ms / 1e3 / best), 1)


def _timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _tasks(work: Callable[[Any, Path], dict[str, Any]], payloads: list[int], prefix: str) -> list[Any]:
    from workbench.pipelines.engine import Task

    return [Task(f"{prefix}{i:05d}", work, payload) for i, payload in enumerate(payloads)]


def run_ours(client: Any, out: Path, tasks: list[Any], cached: Sequence[str] = ()) -> tuple[float, dict[str, int]]:
    """Wall time of ``ItemRunner.run`` and the outcome counts."""
    from workbench.pipelines.engine import ItemRunner

    start = time.perf_counter()
    outcomes = ItemRunner(client, out).run(tasks, cached=cached)
    seconds = time.perf_counter() - start
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return seconds, counts


def run_bare(client: Any, work: Callable[[Any, Any], dict[str, Any]], payloads: list[int]) -> float:
    """Wall time of ``client.map`` of ``work`` (no folders) and gathering the results."""
    start = time.perf_counter()
    futures = client.map(work, payloads, [None] * len(payloads), pure=False)
    results = client.gather(futures)
    seconds = time.perf_counter() - start
    assert len(results) == len(payloads)
    return seconds


def overhead(items: int, workers: int, repeats: int, scratch: Path) -> tuple[list[Row], dict[str, float]]:
    """Cold runs of ours and bare (interleaved), then the two warm reruns, on one ``local:N`` cluster."""
    from workbench.pipelines.cluster import make_cluster
    from workbench.pipelines.engine import is_complete

    payloads = list(range(items))
    bare_times: list[float] = []
    ours_times: list[float] = []
    with make_cluster(f"local:{workers}") as client:
        client.wait_for_workers(workers)
        run_bare(client, cheap, payloads[:50])  # warm: workers import this module and the engine
        run_ours(client, scratch / "warmup", _tasks(cheap, payloads[:50], "w"))
        for repeat in range(repeats):
            bare_times.append(run_bare(client, cheap, payloads))
            out = scratch / f"cold{repeat}"
            seconds, counts = run_ours(client, out, _tasks(cheap, payloads, "item"))
            if counts != {"done": items}:
                raise RuntimeError(f"cold run: expected {items} done, got {counts}")
            ours_times.append(seconds)
        tasks = _tasks(cheap, payloads, "item")
        out = scratch / "cold0"
        start = time.perf_counter()
        cached = [task.key for task in tasks if is_complete(out / task.key)]
        scan = time.perf_counter() - start
        warm_client, warm_client_counts = run_ours(client, out, [], cached=cached)
        warm_client += scan
        warm_worker, warm_worker_counts = run_ours(client, out, tasks)
    for label, counts in (("client-side", warm_client_counts), ("worker-side", warm_worker_counts)):
        if counts != {"cached": items}:
            raise RuntimeError(f"warm rerun ({label} skip): expected {items} cached, got {counts}")
    bare, ours = statistics.median(bare_times), statistics.median(ours_times)
    rows = [
        Row("bare client.map(cheap)", workers, items, bare, bare / items * 1e3, f"median of {repeats}"),
        Row("ItemRunner cold", workers, items, ours, ours / items * 1e3, f"median of {repeats}; {items} done"),
        Row("ItemRunner warm, skip on client", workers, items, warm_client, warm_client / items * 1e3,
            f"{warm_client_counts['cached']} cached, 0 computed (as run_batch; is_complete scan {scan:.3f} s)"),
        Row("ItemRunner warm, skip on worker", workers, items, warm_worker, warm_worker / items * 1e3,
            f"{warm_worker_counts['cached']} cached, 0 computed (all resubmitted)"),
    ]
    files = in_process(items, scratch / "in-process")
    rows.append(Row("execute_item in-process, no Dask", 0, items, files, files / items * 1e3,
                    "skip check, folder, DONE with the result (one fsync): the file cost alone"))
    summary = {"overhead_ms_per_item": (ours - bare) / items * 1e3, "ours_over_bare": ours / bare,
               "bare_runs_s": bare_times, "ours_runs_s": ours_times}
    return rows, summary


def in_process(items: int, out: Path) -> float:
    """Wall time of ``execute_item`` on cheap items in this process: the per-item file work without Dask."""
    from workbench.pipelines.engine import execute_item

    start = time.perf_counter()
    for i in range(items):
        if execute_item(cheap, i, str(out / f"item{i:05d}")).status != "done":
            raise RuntimeError(f"in-process item {i} did not finish")
    return time.perf_counter() - start


def speedup(items: int, workers: int, loops: int, scratch: Path) -> tuple[list[Row], dict[str, float]]:
    """CPU-bound items through ``ItemRunner`` on ``local:1`` and ``local:workers``."""
    from workbench.pipelines.cluster import make_cluster

    rows = []
    times = {}
    for n in sorted({1, workers}):
        with make_cluster(f"local:{n}") as client:
            client.wait_for_workers(n)
            run_ours(client, scratch / f"cpu-warm{n}", _tasks(cpu_bound, [loops] * n, "w"))
            seconds, counts = run_ours(client, scratch / f"cpu{n}", _tasks(cpu_bound, [loops] * items, "cpu"))
        if counts != {"done": items}:
            raise RuntimeError(f"CPU-bound run on local:{n}: expected {items} done, got {counts}")
        times[n] = seconds
        rows.append(Row("ItemRunner CPU-bound", n, items, seconds, seconds / items * 1e3, f"{loops} loops/item"))
    return rows, {"speedup": times[1] / times[workers], "seconds": times}


class PeakMemory:
    """Peak resident memory of this process above its level at the start, sampled every 50 ms."""

    def __init__(self) -> None:
        import threading

        import psutil

        self._process = psutil.Process()
        self.baseline = self._process.memory_info().rss
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


@dataclass
class ScaleRow:
    case: str
    items: int
    seconds: float
    work_s: float
    memory_mb: float

    @property
    def per_item_ms(self) -> float:
        return self.seconds / self.items * 1e3

    @property
    def orchestration_ms(self) -> float:
        return (self.seconds - self.work_s) / self.items * 1e3


def _records(n: int) -> list[Any]:
    """``n`` distinct 12-residue records (distinct sequences: distinct items)."""
    import random

    from workbench.io.fasta import SequenceRecord

    rng = random.Random(n)
    letters = "ACDEFGHIKLMNPQRSTVWY"
    seen: set[str] = set()
    records = []
    while len(records) < n:
        sequence = "".join(rng.choice(letters) for _ in range(12))
        if sequence not in seen:
            seen.add(sequence)
            records.append(SequenceRecord(id=f"s{len(records):06d}", name=f"s{len(records):06d}",
                                          chains=(sequence,), line=len(records) + 1))
    return records


def _work_seconds(items: Path) -> float:
    """Sum of the work functions' own seconds, from the DONE markers of a batch's item folders."""
    return sum(json.loads(done.read_bytes())["seconds"] for done in items.glob("*/DONE"))


SCALE_CASES = ("bare", "run_batch", "dispatcher")
ENGINE_CASES = ("bare-cheap", "engine")


def scale_case(case: str, n: int, workers: int, scratch: Path) -> ScaleRow:
    """One scale measurement on its own ``local:workers`` cluster (run in a fresh process by :func:`main`).

    ``bare``: ``client.map`` of :func:`tiny_item` (the item's work without the
    engine); ``run_batch``; ``dispatcher``: a submitted job through
    ``Dispatcher.serve(once=True)``; ``bare-cheap`` and ``engine``: near-free
    items through bare ``client.map`` and ``ItemRunner``. Peak memory is this
    process's resident growth during the measurement.
    """
    from workbench.pipelines.cluster import make_cluster

    with make_cluster(f"local:{workers}") as client:
        client.wait_for_workers(workers)
        if case in ENGINE_CASES:
            return _engine_case(case, n, client, scratch)
        client.run(_register_on_worker)
        client.register_plugin(_TinyRegistration(), name="tiny-benchmark")
        return _tiny_case(case, n, workers, client, scratch)


def _tiny_case(case: str, n: int, workers: int, client: Any, scratch: Path) -> ScaleRow:
    from workbench.jobs.store import JobStore
    from workbench.pipelines.batch import run_batch
    from workbench.pipelines.dispatcher import Dispatcher
    from workbench.pipelines.keys import item_key
    from workbench.pipelines.tasks import ItemSpec
    from workbench.request import BatchRequest

    register_tiny()
    records = _records(n)
    request = BatchRequest.create(TINY, {}, refine=False)
    run_batch(request, records[:20], scratch / "warm", client=client)  # workers import and compile once
    if case == "bare":
        settings = request.key_settings()
        payloads = [(ItemSpec(item_key(r.sequence, settings), r.sequence, (r.id,), request, settings), r)
                    for r in records]
        folders = [str(scratch / "bare" / p[0].key) for p in payloads]
        with PeakMemory() as memory:
            start = time.perf_counter()
            work = sum(client.gather(client.map(tiny_item, payloads, folders, pure=False)))
            seconds = time.perf_counter() - start
        return ScaleRow("bare client.map (same work)", n, seconds, work / workers, memory.growth / 2**20)
    if case == "run_batch":
        with PeakMemory() as memory:
            start = time.perf_counter()
            result = run_batch(request, records, scratch / "ours", client=client)
            seconds = time.perf_counter() - start
        if result.counts["done"] != n:
            raise RuntimeError(f"run_batch: expected {n} done, got {result.counts}")
        return ScaleRow("run_batch", n, seconds, _work_seconds(scratch / "ours" / "cache") / workers,
                        memory.growth / 2**20)
    fasta = "".join(f">{r.id}\n{r.sequence}\n" for r in records)
    store_url = f"sqlite:///{scratch / 'jobs.sqlite'}"
    with JobStore(store_url) as store:
        job = store.submit({"fasta": fasta}, request.to_json(), name="scale")
    del fasta, records
    with PeakMemory() as memory:
        start = time.perf_counter()
        Dispatcher(store_url, scratch / "results", client=client, poll=0.2).serve(once=True)
        seconds = time.perf_counter() - start
    with JobStore(store_url) as store:
        finished = store.get(job.id)
    if finished.status != "done":
        raise RuntimeError(f"dispatcher: job ended {finished.status}: {finished.error}")
    return ScaleRow("dispatcher (submit, serve --once)", n, seconds,
                    _work_seconds(scratch / "results" / job.id / "cache") / workers, memory.growth / 2**20)


class _TinyRegistration(WorkerPlugin):
    """Worker plugin: ``tiny-benchmark`` registered on every worker, restarted ones included."""

    def setup(self, worker: Any) -> None:
        register_tiny()


def _engine_case(case: str, n: int, client: Any, scratch: Path) -> ScaleRow:
    """``n`` near-free items through bare ``client.map`` or ``ItemRunner`` (the engine alone)."""
    from workbench.pipelines.engine import ItemRunner

    payloads = list(range(n))
    run_bare(client, cheap, payloads[:50])
    if case == "bare-cheap":
        with PeakMemory() as memory:
            seconds = run_bare(client, cheap, payloads)
        return ScaleRow("bare client.map(cheap)", n, seconds, 0.0, memory.growth / 2**20)
    tasks = _tasks(cheap, payloads, "e")
    with PeakMemory() as memory:
        start = time.perf_counter()
        outcomes = ItemRunner(client, scratch / "engine").run(_drain(tasks))
        seconds = time.perf_counter() - start
    if sum(o.status == "done" for o in outcomes.values()) != n:
        raise RuntimeError("engine run: not every item done")
    return ScaleRow("ItemRunner(cheap), DONE per item", n, seconds, 0.0, memory.growth / 2**20)


def _drain(items: list[Any]) -> Any:
    while items:
        yield items.pop()


def scale_in_subprocess(case: str, n: int, workers: int, scratch: Path) -> ScaleRow:
    """:func:`scale_case` in a new Python process, so each peak memory starts from the same place."""
    import subprocess

    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--case", case, "--case-items", str(n),
                           "--workers", str(workers), "--scratch", str(scratch)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"scale case {case} ({n} items) failed:\n{done.stderr[-3000:]}")
    return ScaleRow(**json.loads(done.stdout.strip().splitlines()[-1]))


def print_scale(rows: Sequence[ScaleRow]) -> None:
    print(f"\n{'case':<36} {'items':>7} {'wall s':>8} {'ms/item':>8} {'work ms':>8} {'orch ms':>8} "
          f"{'peak MB':>8} {'KB/item':>8}")
    for row in rows:
        print(f"{row.case:<36} {row.items:>7} {row.seconds:>8.1f} {row.per_item_ms:>8.2f} "
              f"{row.work_s / row.items * 1e3:>8.2f} {row.orchestration_ms:>8.2f} {row.memory_mb:>8.1f} "
              f"{row.memory_mb * 1024 / row.items:>8.2f}")


def main() -> None:
    from workbench.pipelines.cluster import usable_cores

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000, help="cheap items for the overhead run")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (overhead run; speed-up 1 vs N)")
    parser.add_argument("--repeats", type=int, default=3, help="cold runs of ours and bare, interleaved")
    parser.add_argument("--cpu-items", type=int, default=40, help="CPU-bound items for the speed-up run")
    parser.add_argument("--cpu-ms", type=float, default=60.0, help="target ms per CPU-bound item")
    parser.add_argument("--scale", type=int, nargs="*", default=[],
                        help="item counts for the scale runs through bare client.map, run_batch and the dispatcher "
                             "(tiny-benchmark predictor: one alanine, refinement off), e.g. --scale 10000")
    parser.add_argument("--engine-scale", type=int, nargs="*", default=[],
                        help="item counts for near-free items through ItemRunner alone, e.g. --engine-scale 100000")
    parser.add_argument("--no-dispatcher", action="store_true", help="scale runs: leave the dispatcher out")
    parser.add_argument("--only-scale", action="store_true", help="skip the overhead and speed-up runs")
    parser.add_argument("--case", choices=SCALE_CASES + ENGINE_CASES, help=argparse.SUPPRESS)
    parser.add_argument("--case-items", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    if args.case:  # one scale measurement, in this fresh process (see scale_in_subprocess)
        row = scale_case(args.case, args.case_items, args.workers, args.scratch)
        print(json.dumps(asdict(row)))
        return

    import dask
    import distributed

    cores = usable_cores()
    load_before = os.getloadavg()
    print(f"dask {dask.__version__}, distributed {distributed.__version__}, Python {platform.python_version()}; "
          f"usable cores (affinity) {cores}, os.cpu_count() {os.cpu_count()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in load_before)} (1/5/15 min)")
    print(f"work functions: {cheap.__module__}.{cheap.__name__}, {cpu_bound.__module__}.{cpu_bound.__name__} "
          f"(by reference; workers import {Path(__file__).name} from sys.path)")
    scratch = Path(tempfile.mkdtemp(prefix="workbench-bench-pipeline-"))
    scale_rows: list[ScaleRow] = []
    try:
        for n in args.scale:
            for case in SCALE_CASES[:2] if args.no_dispatcher else SCALE_CASES:
                scale_rows.append(scale_in_subprocess(case, n, args.workers, scratch / f"{case}{n}"))
                print_scale(scale_rows[-1:])
        for n in args.engine_scale:
            for case in ENGINE_CASES:
                scale_rows.append(scale_in_subprocess(case, n, args.workers, scratch / f"{case}{n}"))
                print_scale(scale_rows[-1:])
        print_scale(scale_rows)
        if args.only_scale:
            return
        loops = calibrate(args.cpu_ms)
        rows, over = overhead(args.items, args.workers, args.repeats, scratch)
        cpu_rows, scale_result = speedup(args.cpu_items, args.workers, loops, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    rows += cpu_rows
    load_after = os.getloadavg()

    print(f"\n{'case':<34} {'workers':>7} {'items':>6} {'wall s':>8} {'ms/item':>8}  note")
    for row in rows:
        print(f"{row.case:<34} {row.workers or '-':>7} {row.items:>6} {row.seconds:>8.3f} {row.per_item_ms:>8.3f}  "
              f"{row.note}")
    per_item = over["overhead_ms_per_item"]
    print(f"\noverhead per item (ours - bare) / {args.items}: {per_item:.3f} ms "
          f"(ours / bare {over['ours_over_bare']:.2f}x); goal < {GOAL_OVERHEAD_MS:g} ms: "
          f"{'met' if per_item < GOAL_OVERHEAD_MS else 'NOT met'}")
    print(f"speed-up local:1 -> local:{args.workers} on {args.cpu_items} CPU-bound items of ~{args.cpu_ms:g} ms: "
          f"{scale_result['speedup']:.2f}x; goal >= {GOAL_SPEEDUP:g}x on {args.workers} real cores: "
          f"{'met' if scale_result['speedup'] >= GOAL_SPEEDUP else 'NOT met here'}")
    if cores < 2 or scale_result["speedup"] < GOAL_SPEEDUP:
        print(f"  note: this process may use {cores} vCPU(s); on this shared machine they behave as about one core "
              f"(other jobs ran too), so a ratio near 1 measures the machine, not the pipeline")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in load_after)} (1/5/15 min)")

    if args.json:
        results = {"machine": {"usable_cores": cores, "cpu_count": os.cpu_count(), "platform": platform.platform(),
                               "python": platform.python_version(), "dask": dask.__version__,
                               "load_before": load_before, "load_after": load_after},
                   "settings": vars(args) | {"json": str(args.json), "cpu_loops": loops},
                   "rows": [asdict(row) for row in rows],
                   "overhead": over, "speedup": scale_result,
                   "scale": [asdict(row) | {"per_item_ms": row.per_item_ms, "orchestration_ms": row.orchestration_ms}
                             for row in scale_rows],
                   "goals": {"overhead_ms_per_item": GOAL_OVERHEAD_MS, "speedup": GOAL_SPEEDUP}}
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"results: {args.json}")


if __name__ == "__main__":
    # Run the importable copy of this file (module ``pipeline``), not ``__main__``: tasks then pickle
    # their work functions by reference, and the worker processes import them from sys.path.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from pipeline import main as _main

    _main()
