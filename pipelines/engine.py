"""Run items on a Dask cluster: each in its own folder, complete or not at all.

The engine knows nothing about proteins. An *item* is a content key (its folder
name), a picklable ``work(payload, folder) -> dict`` function and its payload;
:mod:`workbench.pipelines.items` runs one on a worker and keeps its ``DONE``
manifest (re-exported here).

The client side (:class:`ItemRunner`) submits items, collects their results as
they finish, enforces a per-item time limit, stops on a cancel event and
reports progress. Errors raised by ``work`` become failed items with the reason;
they never leave the batch. A worker lost while running an item is the
scheduler's business: Dask reruns the task on another worker, and gives up
(``KilledWorker``) only when the item kills workers again and again.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dask.typing import Key
from distributed import Client, Future, Worker, as_completed

from workbench.pipelines.items import (
    DONE,
    ItemFailed,
    ItemOutcome,
    Progress,
    execute_chunk,
    execute_item,
    is_complete,
    read_done,
    read_result,
)

__all__ = ["DONE", "MAX_CHUNK", "ItemFailed", "ItemOutcome", "ItemRunner", "Progress", "Task", "Upstream",
           "chunk_size", "execute_chunk", "execute_item", "is_complete", "read_result"]


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


@dataclass(frozen=True)
class Upstream:
    """A task that items wait for (a batch prediction): timed, cancelled and released with them.

    Attributes
    ----------
    future : distributed.Future
    keys : tuple of str
        The item keys whose payloads hold ``future``. Its time limit is the
        per-item limit times their number; once they all have outcomes the
        runner lets go of it, so a worker lost later does not make Dask
        compute it again.
    """

    future: Future
    keys: tuple[str, ...]


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
        Seconds an item may run on a worker before it is failed ("timed out"),
        and, per item, for the upstream task (prediction) it waits for. The
        clock starts when a worker starts executing the task, not at
        submission, so a long queue never times items out. Python cannot stop a
        running thread: the worker running an expired task is restarted when a
        nanny manages it (every ``local``, ``cuda`` and SLURM worker), so it is
        free for the next items; an in-process worker finishes the abandoned
        task in the background and this run ignores its result.
    progress : callable, optional
        Called with a :class:`Progress` after every outcome.
    cancel : threading.Event, optional
        When set, pending items are cancelled and reported as such.
    poll : float
        Seconds between time-limit and cancel checks.
    chunk : int, optional
        Items per Dask task. By default 1 when there is a time limit (so the
        limit is per item) or few items, else up to :data:`MAX_CHUNK`, so
        that each worker still gets several tasks (:func:`chunk_size`).

    Notes
    -----
    The runner holds a future only while its item is pending: results are
    gathered in batches as they finish (one round trip for many items) and
    released, and an upstream task is released once its items are all
    finished. Dask recomputes lost results only for futures a client still
    holds, so a worker that dies later costs nothing already finished.
    """

    def __init__(self, client: Client, out: Path, *, retries: int = 2, timeout: float | None = None,
                 progress: Callable[[Progress], None] | None = None, cancel: threading.Event | None = None,
                 poll: float = 0.5, chunk: int | None = None) -> None:
        self.client = client
        self.chunk = chunk
        self.out = Path(out)
        self.retries = retries
        self.timeout = timeout
        self.progress = progress
        self.cancel = cancel
        self.poll = poll
        self.run_id = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._pending: dict[Key, tuple[Future, tuple[str, ...]]] = {}  # futures by Dask key, with their item keys
        self._upstream: dict[Key, tuple[Future, set[str], int]] = {}  # by Dask key: future, keys waiting, items
        self._abandoned: dict[str, str] = {}  # item key: why this run gave up on it

    def run(self, tasks: Iterable[Task], cached: Iterable[str] = (),
            upstream: Iterable[Upstream] = ()) -> dict[str, ItemOutcome]:
        """Run every task; return one outcome per key (cached keys included).

        Parameters
        ----------
        tasks : iterable of Task
            Items to compute; keys must be unique. The runner drops its own
            references once they are submitted; a caller that wants futures in
            their payloads released early passes an iterable it does not keep
            (a generator that pops its list, as ``run_batch`` does).
        cached : iterable of str
            Keys already complete on disk (counted, not submitted).
        upstream : iterable of Upstream
            Tasks the items' payloads hold (passed the same way).
        """
        outcomes: dict[str, ItemOutcome] = {}
        counts = Progress(total=0)
        for key in dict.fromkeys(cached):
            outcome = ItemOutcome(key, "cached", read_result(self.out / key))
            outcomes[key] = outcome
            counts = _count(counts, outcome)
        submitted, items = self._submit(tasks, upstream)
        counts = dataclasses.replace(counts, total=counts.cached + items)
        if counts.cached:
            self._report(counts)
        stop = threading.Event()
        watchdog = threading.Thread(target=self._watch, args=(stop,), daemon=True, name="workbench-item-watchdog")
        watchdog.start()
        try:
            finished = as_completed(submitted, with_results=False)
            del submitted
            for batch in finished.batches():
                for outcome in self._outcomes(batch):
                    outcomes[outcome.key] = outcome
                    counts = _count(counts, outcome)
                    self._report(counts)
                del batch
        finally:
            stop.set()
            watchdog.join()
            with self._lock:
                self._pending.clear()
                self._upstream.clear()
        return outcomes

    # ------------------------------------------------------------------ internals

    def _submit(self, tasks: Iterable[Task], upstream: Iterable[Upstream]) -> tuple[list[Future], int]:
        """Map the items in chunks (one map call per resource set); remember what is pending.

        Returns the futures and the number of items in them.
        """
        by_resources: dict[tuple, list[Task]] = {}
        for task in tasks:
            by_resources.setdefault(tuple(sorted((task.resources or {}).items())), []).append(task)
        total = sum(len(group) for group in by_resources.values())
        size = self.chunk or chunk_size(total, len(self.client.scheduler_info(n_workers=-1).get("workers", {})),
                                        self.timeout)
        submitted: list[Future] = []
        for resources, group in by_resources.items():
            chunks = [group[i:i + size] for i in range(0, len(group), size)]
            futures = self.client.map(
                execute_chunk, [[t.work for t in c] for c in chunks], [[t.payload for t in c] for c in chunks],
                [[str(self.out / t.key) for t in c] for c in chunks], [self.run_id] * len(chunks),
                key=[f"workbench-items-{c[0].key}-{len(c)}-{self.run_id}" for c in chunks], pure=False,
                resources=dict(resources) or None, retries=self.retries)
            with self._lock:
                self._pending.update((f.key, (f, tuple(t.key for t in chunk)))
                                     for f, chunk in zip(futures, chunks, strict=True))
            submitted += futures
        with self._lock:
            for item in upstream:
                self._upstream[item.future.key] = (item.future, set(item.keys), len(item.keys))
        return submitted, total

    def _outcomes(self, batch: list[Future]) -> list[ItemOutcome]:
        """Outcomes of finished futures, the successful ones fetched in one gather; then let them go."""
        with self._lock:
            keys = {f.key: self._pending.pop(f.key, (f, ()))[1] for f in batch}
        finished = [f for f in batch if f.status == "finished"
                    and not any(key in self._abandoned for key in keys[f.key])]
        results = dict(zip((f.key for f in finished), self.client.gather(finished), strict=True)) if finished else {}
        outcomes: list[ItemOutcome] = []
        for future in batch:
            if future.key in results:
                outcomes += results[future.key]
            else:
                outcomes += [self._unfinished(future, key) for key in keys[future.key]]
        self._release_upstream(outcome.key for outcome in outcomes)
        return outcomes

    def _unfinished(self, future: Future, key: str) -> ItemOutcome:
        done = read_done(self.out / key)
        if done is not None and done.get("run") == self.run_id:  # finished in its chunk before the chunk was lost
            return ItemOutcome(key, "done", done["result"], seconds=done.get("seconds", 0.0))
        if key in self._abandoned:
            reason = self._abandoned[key]
            return ItemOutcome(key, "cancelled" if reason == "cancelled" else "failed", error=reason)
        if future.status == "cancelled":
            return ItemOutcome(key, "cancelled", error="cancelled")
        try:
            future.result()
        except Exception as exc:  # KilledWorker, or a worker-side error outside `work`
            return ItemOutcome(key, "failed", error=f"{type(exc).__name__}: {exc}")
        raise AssertionError(f"item {key}: future in state {future.status}")  # pragma: no cover

    def _release_upstream(self, keys: Iterable[str]) -> None:
        done = set(keys)
        with self._lock:
            for dask_key, (_, waiting, _) in list(self._upstream.items()):
                waiting -= done
                if not waiting:
                    del self._upstream[dask_key]

    def _watch(self, stop: threading.Event) -> None:
        """Fail tasks that run past the time limit; cancel everything on the cancel event."""
        started: dict[Key, tuple[float, str]] = {}  # by Dask key: when and where a worker began it
        while not stop.wait(self.poll):
            if self.cancel is not None and self.cancel.is_set():
                with self._lock:
                    pending = list(self._pending.values())
                    pending_upstream = [f for f, _, _ in self._upstream.values()]
                for _, keys in pending:
                    for key in keys:
                        self._abandoned.setdefault(key, "cancelled")
                self.client.cancel([f for f, _ in pending] + pending_upstream)
                return
            if self.timeout is None:
                continue
            now = time.monotonic()
            for worker, running in self.client.run(_executing).items():
                for dask_key in running:
                    started.setdefault(dask_key, (now, worker))
            self._expire(started, now)

    def _expire(self, started: dict[Key, tuple[float, str]], now: float) -> None:
        """Abandon and cancel the tasks past their limit; restart the workers running them."""
        assert self.timeout is not None
        expired: list[Future] = []
        workers: set[str] = set()
        with self._lock:
            for dask_key, (since, worker) in list(started.items()):
                if dask_key in self._pending:
                    future, keys = self._pending[dask_key]
                    if now - since > self.timeout * len(keys) and not future.done():
                        for key in keys:
                            self._abandoned.setdefault(key, f"timed out: still running after {self.timeout:g} s")
                        expired.append(future)
                        workers.add(worker)
                elif dask_key in self._upstream:
                    future, waiting, items = self._upstream[dask_key]
                    if now - since > self.timeout * items and not future.done():
                        reason = (f"timed out in prediction: its batch of {items} item(s) ran past "
                                  f"{self.timeout * items:g} s ({self.timeout:g} s per item)")
                        for key in waiting:
                            self._abandoned.setdefault(key, reason)
                        expired += [future] + [f for f, keys in self._pending.values() if waiting & set(keys)]
                        workers.add(worker)
                else:
                    del started[dask_key]
        if not expired:
            return
        for future in expired:
            started.pop(future.key, None)
        self.client.cancel(expired, force=True)
        self._restart(workers)

    def _restart(self, workers: set[str]) -> None:
        """Restart the workers still running abandoned tasks, where a nanny can (freeing them)."""
        info = self.client.scheduler_info(n_workers=-1).get("workers", {})
        managed = [w for w in workers if info.get(w, {}).get("nanny")]
        if managed:
            self.client.restart_workers(managed, raise_for_error=False)

    def _report(self, counts: Progress) -> None:
        if self.progress is not None:
            self.progress(counts)


MAX_CHUNK = 32
"""Most items in one Dask task: enough to make Dask's per-task cost small next to a cheap item's."""


def chunk_size(items: int, workers: int, timeout: float | None) -> int:
    """Items per Dask task: 1 with a time limit or few items, else up to :data:`MAX_CHUNK`.

    Each worker should still get at least 8 tasks, so the load balances and
    progress moves.

    Examples
    --------
    >>> chunk_size(12, 2, None), chunk_size(10_000, 2, None), chunk_size(10_000, 2, 60.0)
    (1, 32, 1)
    """
    if timeout is not None:
        return 1
    return max(1, min(MAX_CHUNK, items // (8 * max(workers, 1))))


def _executing(dask_worker: Worker) -> list[str]:
    """Keys a worker is executing now.

    Not the scheduler's ``processing``: that also holds tasks already sent to a
    worker and queued behind a running one, whose clock must not start yet.
    """
    return [str(ts.key) for ts in dask_worker.state.executing]


def _count(progress: Progress, outcome: ItemOutcome) -> Progress:
    field_name = outcome.status
    return Progress(**{**progress.counts(), field_name: getattr(progress, field_name) + 1}, last=outcome)
