"""Run items on a Dask cluster: each in its own folder, complete or not at all.

The engine knows nothing about proteins. An *item* is a content key (its folder
name), a picklable ``work(payload, folder) -> dict`` function and its payload.
On a worker, :func:`execute_item` skips an item whose folder already holds
``DONE``; otherwise it runs the work and then writes ``DONE``, atomically, with
the returned numbers and the size of every file written in it (one file, one
fsync: the marker and the result cannot disagree; a file deleted or truncated
later makes the item incomplete again). A worker killed halfway leaves a folder without ``DONE``,
which the next attempt redoes from the start.

The client side (:class:`ItemRunner`) submits items, collects their results as
they finish, enforces a per-item time limit, stops on a cancel event and
reports progress. Errors raised by ``work`` become failed items with the reason;
they never leave the batch. A worker lost while running an item is the
scheduler's business: Dask reruns the task on another worker, and gives up
(``KilledWorker``) only when the item kills workers again and again.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dask.typing import Key
from distributed import Client, Future, Worker, as_completed

from workbench.files import atomic_write_bytes

DONE = "DONE"


class ItemFailed(Exception):
    """Raised by a work function to fail its item with a readable reason (no traceback kept)."""


@dataclass(frozen=True)
class ItemOutcome:
    """What became of one item.

    Attributes
    ----------
    key : str
        The item's content key (its folder name).
    status : {"done", "cached", "failed", "cancelled"}
        ``cached``: complete from an earlier run, nothing recomputed.
    result : dict
        What the work function returned (empty unless done or cached).
    error : str or None
        The reason an item failed or was cancelled.
    seconds : float
        Wall time of the work on the worker (0 for cached items).
    """

    key: str
    status: str
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the item's outputs are complete."""
        return self.status in ("done", "cached")


@dataclass(frozen=True)
class Progress:
    """Counts over the items of one run, and the outcome that changed them."""

    total: int
    done: int = 0
    cached: int = 0
    failed: int = 0
    cancelled: int = 0
    last: ItemOutcome | None = None

    @property
    def finished(self) -> int:
        """Items with an outcome."""
        return self.done + self.cached + self.failed + self.cancelled

    def counts(self) -> dict[str, int]:
        """The counts as a JSON-ready dict (what the job store keeps)."""
        return {"total": self.total, "done": self.done, "cached": self.cached, "failed": self.failed,
                "cancelled": self.cancelled}


def is_complete(folder: Path) -> bool:
    """Whether an item folder holds a finished item whose files are all still there.

    ``DONE`` must parse and every file it lists must exist with the size it had
    when the item finished: a deleted or truncated model is computed again,
    and a damaged ``DONE`` costs one item, not the batch.
    """
    return _read_done(folder) is not None


def read_result(folder: Path) -> dict[str, Any]:
    """The numbers a finished item wrote (kept in its ``DONE`` file)."""
    done = _read_done(folder)
    if done is None:
        raise FileNotFoundError(f"{folder}: no complete item here (DONE missing, damaged or out of date)")
    return done["result"]


def _read_done(folder: Path) -> dict[str, Any] | None:
    try:
        done = json.loads((folder / DONE).read_bytes())
        files = done.get("files", {})
        if not isinstance(done["result"], dict) or not isinstance(files, dict):
            return None
        if any((folder / name).stat().st_size != size for name, size in files.items()):
            return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return done


def _file_sizes(folder: Path) -> dict[str, int]:
    """Sizes of the files an item wrote (not ``DONE``, not hidden temporary files)."""
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir())
            if p.is_file() and p.name != DONE and not p.name.startswith(".")}


def execute_item(work: Callable[[Any, Path], dict[str, Any]], payload: Any, folder: str) -> ItemOutcome:
    """Run one item on a worker, unless it is already complete.

    Parameters
    ----------
    work : callable
        ``work(payload, folder) -> dict``: writes its files into ``folder`` (atomically)
        and returns JSON-ready numbers. Raise :class:`ItemFailed` for a readable failure.
    payload : object
    folder : str
        The item's folder; created if needed.

    Returns
    -------
    ItemOutcome
    """
    path = Path(folder)
    key = path.name
    if is_complete(path):
        return ItemOutcome(key, "cached", read_result(path))
    path.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        result = work(payload, path)
    except ItemFailed as exc:
        return ItemOutcome(key, "failed", error=str(exc), seconds=time.perf_counter() - started)
    except Exception as exc:  # one item's bug or bad input must not stop the batch
        return ItemOutcome(key, "failed", error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - started)
    seconds = time.perf_counter() - started
    done = {"finished": time.time(), "seconds": seconds, "result": result, "files": _file_sizes(path)}
    atomic_write_bytes(path / DONE, json.dumps(done, default=_json_default).encode())
    return ItemOutcome(key, "done", result, seconds=seconds)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


@dataclass(frozen=True)
class Task:
    """One unit submitted to the cluster.

    Attributes
    ----------
    key : str
        Item key (the item's folder name).
    work : callable
        ``work(payload, folder) -> dict``.
    payload : object
        May hold Dask futures (for example a batch prediction the item waits for).
    resources : dict, optional
        Dask worker resources the task needs (``{"GPU": 1}``).
    """

    key: str
    work: Callable[[Any, Path], dict[str, Any]]
    payload: Any
    resources: Mapping[str, float] | None = None


class ItemRunner:
    """Submit items to a Dask client and gather their outcomes.

    Parameters
    ----------
    client : distributed.Client
    out : Path
        Item folders are ``out/<key>``.
    retries : int
        Extra attempts Dask makes for a task that raised (a task only raises when
        its worker died under it; ``work`` errors are outcomes, not exceptions).
    timeout : float, optional
        Seconds an item may run on a worker before it is failed ("timed out").
        The clock starts when a worker starts executing the task, not at
        submission, so a long queue never times items out. Python cannot stop a
        running thread, so the worker finishes the abandoned item in the
        background; its result is ignored by this run (a later run may find it
        complete).
    progress : callable, optional
        Called with a :class:`Progress` after every outcome.
    cancel : threading.Event, optional
        When set, pending items are cancelled and reported as such.
    poll : float
        Seconds between time-limit and cancel checks.
    """

    def __init__(self, client: Client, out: Path, *, retries: int = 2, timeout: float | None = None,
                 progress: Callable[[Progress], None] | None = None, cancel: threading.Event | None = None,
                 poll: float = 0.5) -> None:
        self.client = client
        self.out = Path(out)
        self.retries = retries
        self.timeout = timeout
        self.progress = progress
        self.cancel = cancel
        self.poll = poll

    def run(self, tasks: Iterable[Task], cached: Iterable[str] = ()) -> dict[str, ItemOutcome]:
        """Run every task; return one outcome per key (cached keys included).

        Parameters
        ----------
        tasks : iterable of Task
            Items to compute; keys must be unique.
        cached : iterable of str
            Keys already complete on disk (counted, not submitted).
        """
        tasks = list(tasks)
        outcomes: dict[str, ItemOutcome] = {}
        counts = Progress(total=len(tasks) + len(set(cached)))
        for key in dict.fromkeys(cached):
            outcome = ItemOutcome(key, "cached", read_result(self.out / key))
            outcomes[key] = outcome
            counts = _count(counts, outcome)
        if counts.cached:
            self._report(counts)
        futures: dict[Future, str] = {}
        by_resources: dict[tuple, list[Task]] = {}
        for task in tasks:
            by_resources.setdefault(tuple(sorted((task.resources or {}).items())), []).append(task)
        run_id = uuid.uuid4().hex[:8]
        for resources, group in by_resources.items():  # one map call per resource set: far cheaper than submits
            submitted = self.client.map(execute_item, [t.work for t in group], [t.payload for t in group],
                                        [str(self.out / t.key) for t in group],
                                        key=[f"workbench-item-{t.key}-{run_id}" for t in group], pure=False,
                                        resources=dict(resources) or None, retries=self.retries)
            futures.update(zip(submitted, (t.key for t in group), strict=True))
        abandoned: dict[str, str] = {}
        stop = threading.Event()
        watchdog = threading.Thread(target=self._watch, args=(futures, abandoned, stop), daemon=True,
                                    name="workbench-item-watchdog")
        watchdog.start()
        try:
            for future in as_completed(list(futures)):
                key = futures[future]
                outcome = self._outcome(future, key, abandoned)
                outcomes[key] = outcome
                counts = _count(counts, outcome)
                self._report(counts)
        finally:
            stop.set()
            watchdog.join()
        return outcomes

    # ------------------------------------------------------------------ internals

    def _outcome(self, future: Future, key: str, abandoned: dict[str, str]) -> ItemOutcome:
        if key in abandoned:
            return ItemOutcome(key, "cancelled" if abandoned[key] == "cancelled" else "failed",
                               error=abandoned[key])
        if future.status == "cancelled":
            return ItemOutcome(key, "cancelled", error="cancelled")
        try:
            return future.result()
        except Exception as exc:  # KilledWorker, or a worker-side error outside `work`
            return ItemOutcome(key, "failed", error=f"{type(exc).__name__}: {exc}")

    def _watch(self, futures: dict[Future, str], abandoned: dict[str, str], stop: threading.Event) -> None:
        """Fail items that run past the time limit; cancel everything on the cancel event."""
        started: dict[Key, float] = {}  # by Dask key: when a worker began the item
        by_dask_key = {future.key: future for future in futures}
        while not stop.wait(self.poll):
            if self.cancel is not None and self.cancel.is_set():
                pending = [f for f in futures if not f.done()]
                for future in pending:
                    abandoned.setdefault(futures[future], "cancelled")
                self.client.cancel(pending)
                return
            if self.timeout is None:
                continue
            now = time.monotonic()
            running = {k for keys in self.client.run(_executing).values() for k in keys}
            for dask_key in running:
                if dask_key in by_dask_key:
                    started.setdefault(dask_key, now)
            expired = [by_dask_key[k] for k, t in started.items()
                       if now - t > self.timeout and not by_dask_key[k].done()]
            for future in expired:
                abandoned.setdefault(futures[future], f"timed out: still running after {self.timeout:g} s "
                                                      f"(the worker cannot stop it; a later run uses it if it ends)")
                del started[future.key]
            if expired:
                self.client.cancel(expired)

    def _report(self, counts: Progress) -> None:
        if self.progress is not None:
            self.progress(counts)


def _executing(dask_worker: Worker) -> list[str]:
    """Keys a worker is executing now.

    Not the scheduler's ``processing``: that also holds tasks already sent to a
    worker and queued behind a running one, whose clock must not start yet.
    """
    return [str(ts.key) for ts in dask_worker.state.executing]


def _count(progress: Progress, outcome: ItemOutcome) -> Progress:
    field_name = outcome.status
    return Progress(**{**progress.counts(), field_name: getattr(progress, field_name) + 1}, last=outcome)
