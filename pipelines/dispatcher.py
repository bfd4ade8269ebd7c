"""The dispatcher (``workbench serve``): queued jobs in, finished batches out.

One loop, in the main thread, owns the queue: it takes back jobs whose lease
expired (a dispatcher that died), claims queued jobs up to ``max_jobs``, renews
the leases of its running jobs and passes cancel requests on (it asks the
store for them on every pass, each ``poll`` seconds, and records the cancel at
once). Each claimed job runs :func:`~workbench.pipelines.batch.run_batch` in
its own thread on the shared Dask client, into ``results/<job id>/``; its
progress and per-item status go to the store as items finish.

The store is opened with ``upgrade=True`` (the schema is migrated on start)
and a :class:`~workbench.jobs.retry.Backoff` that waits out database outages
for as long as they last: a PostgreSQL restart or a locked or full SQLite file
pauses the loop and the jobs' progress reports, with one log line per try and
no traceback, and everything goes on when the database answers. The batches
themselves run on meanwhile. Errors of a pass that are not the database's are
logged in one line and the loop goes on: the dispatcher exits only when asked.

A dispatcher killed outright loses nothing: its leases run out, another
dispatcher (or the same one restarted) claims the jobs again, and the batch
skips every item already complete on disk. SIGTERM (or SIGINT) stops claiming,
lets running jobs finish for ``grace`` seconds, then cancels what is left and
hands those jobs back to the queue, and exits with status 0 without a
traceback. A job whose hand-back cannot be recorded (the database is down as
the dispatcher stops) is left to its lease, which runs out into the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distributed import Client

from workbench.config import results_root
from workbench.errors import one_line
from workbench.jobs.model import Job
from workbench.jobs.retry import Backoff, StoreUnavailable
from workbench.jobs.store import JobStore
from workbench.jobs.transitions import InvalidTransition
from workbench.pipelines.batch import run_batch
from workbench.pipelines.cluster import make_cluster
from workbench.pipelines.engine import Progress
from workbench.request import BatchRequest
from workbench.state_folders import exposure, make_state_folder

PROGRESS_INTERVAL = 1.0
"""Seconds between progress writes to the store while a job runs (its end is always written)."""

log = logging.getLogger("workbench.dispatcher")

#: Seconds of the grace period kept for handing jobs back and closing the cluster; at most half of it.
CLOSE_RESERVE = 10.0
#: Seconds the threads of cancelled jobs get to wind down before the main thread hands their jobs back.
WIND_DOWN = 1.0


@dataclass
class _Running:
    """A claimed job, the thread running it, and how its end is to be recorded."""

    job: Job
    thread: threading.Thread = field(init=False)
    cancel: threading.Event = field(default_factory=threading.Event)
    # "finish"; "release" (shutdown); "lost" (the lease went to someone else); "cancelled" (already recorded);
    # "released" (handed back by the main thread at shutdown)
    outcome: str = "finish"
    renewed: float = field(default_factory=time.monotonic)


class Dispatcher:
    """Claim queued jobs and run them on a Dask cluster.

    Parameters
    ----------
    store_url : str, optional
        Job store URL (default: SQLite in ``$WORKBENCH_HOME``). Its schema is upgraded when the loop starts.
    results : str or Path, optional
        Folder of job results (default ``$WORKBENCH_HOME/results``).
    cluster : str
        Cluster spec (:func:`~workbench.pipelines.cluster.make_cluster`), used when no client is given.
    cluster_config : str or Path, optional
        SLURM settings file.
    client : distributed.Client, optional
        Run on this client instead of making a cluster.
    max_jobs : int
        Jobs run at once.
    lease_seconds : float
        Lease length; leases are renewed every third of it.
    poll : float
        Seconds between looks at the queue and at cancel requests.
    grace : float
        Seconds running jobs get to finish after SIGTERM.
    item_timeout : float, optional
        Per-item time limit passed to ``run_batch``.
    max_attempts : int
        Claims of one job before an expired lease fails it for good.
    retry : Backoff, optional
        How store operations wait out an outage (default: for as long as it lasts, or until
        the dispatcher is asked to stop).
    """

    def __init__(self, store_url: str | None = None, results: str | Path | None = None, *, cluster: str = "local",
                 cluster_config: str | Path | None = None, client: Client | None = None, max_jobs: int = 2,
                 lease_seconds: float = 60.0, poll: float = 1.0, grace: float = 30.0,
                 item_timeout: float | None = None, max_attempts: int = 3, retry: Backoff | None = None,
                 shared_cache: str | Path | None = None) -> None:
        if max_jobs < 1 or lease_seconds <= 0 or poll <= 0 or grace < 0:
            raise ValueError("max_jobs >= 1, lease > 0, poll > 0 and grace >= 0 are required")
        self.store_url = store_url
        self.results = Path(results) if results is not None else results_root()
        self.cluster = cluster
        self.cluster_config = cluster_config
        self.shared_cache = Path(shared_cache) if shared_cache is not None else None
        self.client = client
        self.max_jobs = max_jobs
        self.lease_seconds = lease_seconds
        self.poll = poll
        self.grace = grace
        self.item_timeout = item_timeout
        self.max_attempts = max_attempts
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 10_000}"
        self.stopping = threading.Event()
        self.retry = retry if retry is not None else Backoff(first=0.2, most=5.0, give_up_after=None,
                                                             interrupt=self.stopping)
        self._store: JobStore | None = None
        self._reports: JobStore | None = None
        self._running: dict[str, _Running] = {}

    @property
    def store(self) -> JobStore:
        """The job store, opened (and upgraded) by :meth:`serve`."""
        if self._store is None:
            self._store = self._open_store()
        return self._store

    @property
    def reports(self) -> JobStore:
        """The store for progress reports: one try each, so an outage never holds up a batch."""
        if self._reports is None:
            self._reports = self.store.with_retry(Backoff(give_up_after=0.0, interrupt=self.stopping))
        return self._reports

    def _open_store(self) -> JobStore:
        """Open the store, migrating its schema; a warning about it (a network file system) becomes a log line."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            store = JobStore(self.store_url, upgrade=True, retry=self.retry)
        for warning in caught:
            log.warning("%s", warning.message)
        return store

    # ------------------------------------------------------------------ the loop

    def serve(self, *, once: bool = False) -> int:
        """Run until SIGTERM / SIGINT; returns an exit status (0: stopped as asked).

        With ``once``, return when no job is queued or running anywhere: a job
        running under another dispatcher's lease may still come back to the queue.
        """
        previous = self._install_signal_handlers()
        try:
            try:
                store = self.store
            except StoreUnavailable:  # asked to stop while the database was still out of reach
                return 0
            make_state_folder(self.results)
            exposed = exposure(self.results)
            if exposed is not None:
                log.warning("results folder %s has %s; chmod 700 it (or 2750 with $WORKBENCH_GROUP for a lab)",
                            self.results, exposed)
            log.info("dispatcher %s: store %r (schema %s), results %s", self.worker, store, store.schema.revision,
                     self.results)
            with self._client() as client:
                while not self.stopping.is_set():
                    self._guarded(lambda: self.step(client), "a pass over the queue")
                    if once and not self._running and self._guarded(self._nothing_left, "looking at the queue"):
                        break
                    self.stopping.wait(self.poll)
                self._shut_down()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            if self._store is not None:
                self._store.close()
        return 0

    def _guarded(self, action: Callable[[], Any], what: str) -> Any:
        """``action()``; an error is logged in one line (a traceback only for what is not the database's)."""
        try:
            return action()
        except StoreUnavailable as exc:  # only when stopping: the store waits out outages itself
            log.warning("%s: %s", what, one_line(exc))
        except Exception as exc:
            from sqlalchemy.exc import SQLAlchemyError

            database = isinstance(exc, SQLAlchemyError)
            log.error("%s failed: %s: %s", what, type(exc).__name__, one_line(exc).splitlines()[0],
                      exc_info=not database)
        return None

    def step(self, client: Client) -> None:
        """One pass: take back expired leases, reap, pass cancels on, renew, claim."""
        for job in self.store.expire_leases(max_attempts=self.max_attempts):
            log.warning("job %s: lease expired, now %s", job.id, job.status)
        self._reap()
        self._pass_cancels()
        self._renew()
        while not self.stopping.is_set() and len(self._running) < self.max_jobs:
            claimed = self.store.claim_next(self.worker, self.lease_seconds)
            if claimed is None:
                break
            self._start(claimed, client)

    def _nothing_left(self) -> bool:
        """No job queued, and none running anywhere (a running job's lease may still expire into the queue)."""
        return not any(self.store.list_jobs(status=status, limit=1) for status in ("queued", "running"))

    def stop(self) -> None:
        """Ask the loop to stop (what SIGTERM does)."""
        self.stopping.set()

    # ------------------------------------------------------------------ jobs

    def _start(self, job: Job, client: Client) -> None:
        running = _Running(job)
        running.thread = threading.Thread(target=self._run_job, args=(running, client), daemon=True,
                                          name=f"workbench-job-{job.id[:8]}")
        self._running[job.id] = running
        log.info("job %s: claimed (attempt %d)", job.id, job.attempts)
        running.thread.start()

    def _run_job(self, running: _Running, client: Client) -> None:
        job = running.job
        out = self.results / job.id
        try:
            request = BatchRequest.from_json(job.parameters)
            fasta = job.inputs.get("fasta")
            if not isinstance(fasta, str):
                raise ValueError("the job has no FASTA text (inputs['fasta'])")

            unrecorded: list[dict[str, Any]] = []
            recorded_at = [0.0]

            def progress(counts: Progress, names: tuple[str, ...]) -> None:
                """Item rows and counts to the store, at most once a second (one transaction for many items)."""
                if running.outcome != "finish":
                    return
                last = counts.last
                if last is not None:
                    unrecorded.extend({"name": name, "item": last.key, "status": last.status, "error": last.error}
                                      for name in names)
                if time.monotonic() - recorded_at[0] < PROGRESS_INTERVAL and counts.finished < counts.total:
                    return
                try:  # during an outage the batch goes on; the next report, or the job's end, records it all
                    self.reports.report_progress(job.id, self.worker, counts.counts())
                    if unrecorded:
                        self.reports.record_items(job.id, unrecorded)
                    unrecorded.clear()
                except (StoreUnavailable, InvalidTransition) as exc:
                    log.warning("job %s: progress not recorded: %s", job.id, one_line(exc))
                recorded_at[0] = time.monotonic()

            result = run_batch(request, fasta, out, client=client, progress=progress, cancel=running.cancel,
                               item_timeout=self.item_timeout, shared_cache=self.shared_cache)
            rows = result.summary[["id", "item", "status", "error", "cached"]].to_dict("records")
            if running.outcome in ("finish", "cancelled"):
                self.store.record_items(job.id, [{"name": str(r["id"]), "item": _text(r["item"]),
                                                  "status": "cached" if r["cached"] else r["status"],
                                                  "error": _text(r["error"])} for r in rows])
            if running.outcome == "finish":
                items = sum(result.counts[s] for s in ("done", "cached", "failed", "cancelled"))
                self.store.report_progress(job.id, self.worker, result.counts | {"total": items})
            self._settle(running, str(out), None)
        except StoreUnavailable as exc:
            log.warning("job %s: its end is not recorded (%s); its lease will run out", job.id, one_line(exc))
        except Exception as exc:  # the job fails with its reason; the dispatcher goes on
            if running.outcome == "finish" and not running.cancel.is_set():
                log.error("job %s failed: %s: %s", job.id, type(exc).__name__, one_line(exc))
            else:  # stopped on purpose (cancel, shutdown, lost lease): what ended it is no news
                log.info("job %s: stopped (%s)", job.id, one_line(exc))
            log.debug("job %s ended with an error", job.id, exc_info=True)
            self._settle(running, str(out), f"{type(exc).__name__}: {one_line(exc)}")

    def _settle(self, running: _Running, out: str, error: str | None) -> None:
        """Record how a job's thread ended: done, failed, cancelled or handed back."""
        job_id = running.job.id
        try:
            if running.outcome in ("lost", "cancelled", "released"):
                return
            if running.outcome == "release":
                self.store.release(job_id, self.worker)
            elif running.cancel.is_set():
                self.store.acknowledge_cancel(job_id, self.worker)
            elif error is not None:
                self.store.fail(job_id, self.worker, error)
            else:
                self.store.finish(job_id, self.worker, out)
        except (InvalidTransition, KeyError, StoreUnavailable) as exc:
            log.warning("job %s: could not record its end: %s", job_id, one_line(exc))

    def _reap(self) -> None:
        for job_id, running in list(self._running.items()):
            if not running.thread.is_alive():
                del self._running[job_id]

    def _pass_cancels(self) -> None:
        """Stop the jobs whose cancel was requested and record them cancelled now, not when their threads end."""
        active = [job_id for job_id, running in self._running.items() if running.outcome == "finish"]
        for job_id in self.store.cancel_requested(active):
            running = self._running[job_id]
            log.info("job %s: cancel requested", job_id)
            running.cancel.set()
            try:
                self.store.acknowledge_cancel(job_id, self.worker)
                running.outcome = "cancelled"
            except InvalidTransition as exc:
                log.warning("job %s: could not record the cancel: %s", job_id, exc)

    def _renew(self) -> None:
        now = time.monotonic()
        for running in self._running.values():
            if running.outcome != "finish" or now - running.renewed < self.lease_seconds / 3:
                continue
            try:
                job = self.store.renew(running.job.id, self.worker, self.lease_seconds)
            except InvalidTransition as exc:
                log.warning("job %s: lease lost (%s); stopping it", running.job.id, exc)
                running.outcome = "lost"
                running.cancel.set()
                continue
            running.renewed = now
            if job.cancel_requested and not running.cancel.is_set():
                log.info("job %s: cancel requested", job.id)
                running.cancel.set()

    def _shut_down(self) -> None:
        """Give running jobs the grace period, less the time kept to close the cluster; hand back the rest.

        Threads that have not wound down :data:`WIND_DOWN` seconds after their
        cancel are handed back from here (their item folders are complete or
        absent, never partial), so the dispatcher exits on time.
        """
        reserve = min(CLOSE_RESERVE, self.grace / 2) if self.client is None else 0.0
        deadline = time.monotonic() + self.grace - reserve
        if self._running:
            log.info("stopping: %d running job(s) get %.0f s to finish", len(self._running), self.grace - reserve)
        while self._running and time.monotonic() < deadline:
            self._guarded(self._pass_cancels, "passing cancels on")
            self._guarded(self._renew, "renewing leases")
            self._reap()
            time.sleep(min(self.poll, 0.2))
        for running in self._running.values():
            if running.outcome == "finish":
                running.outcome = "release"
            running.cancel.set()
        wind_down = time.monotonic() + WIND_DOWN
        for running in self._running.values():
            running.thread.join(timeout=max(wind_down - time.monotonic(), 0.0))
        for job_id, running in self._running.items():
            if running.thread.is_alive() and running.outcome == "release":
                running.outcome = "released"
                try:
                    self.store.release(job_id, self.worker)
                    log.info("job %s: handed back to the queue", job_id)
                except (InvalidTransition, KeyError, StoreUnavailable) as exc:
                    log.warning("job %s: not handed back (%s); its lease will run out", job_id, one_line(exc))
        self._running.clear()

    # ------------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def _client(self) -> Iterator[Client]:
        """The given client, or a new cluster whose worker processes ignore SIGINT and SIGTERM.

        Ctrl-C reaches every process of the terminal's process group, and
        ``kill`` of a batch system's job step (SLURM) every process of the step:
        the workers leave stopping to this process, which closes them, rather
        than dying mid-task with tracebacks while a nanny restarts them.
        """
        if self.client is not None:
            yield self.client
            return
        with contextlib.ExitStack() as stack:
            with _signals_ignored():  # inherited by the worker processes spawned now
                client = stack.enter_context(make_cluster(self.cluster, config=self.cluster_config))
            try:
                yield client
            finally:
                _close_workers(client, timeout=1.0)

    def _install_signal_handlers(self) -> dict[int, Any]:
        """SIGTERM and SIGINT stop the loop; returns the handlers they replaced."""
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: self.stop())
        return previous


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    """SIGINT and SIGTERM ignored meanwhile (child processes started now keep ignoring them); main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _close_workers(client: Client, timeout: float) -> None:
    """Close the local worker processes of ``client``'s cluster, killing one still busy after ``0.8 * timeout`` s.

    Dask's own close gives a worker that is running an item (an abandoned job's)
    4 s; at shutdown that time is the grace period's. Workers that are not
    nannies (SLURM jobs) are left to the cluster.
    """
    from distributed import Nanny

    cluster = getattr(client, "cluster", None)
    nannies = [worker for worker in getattr(cluster, "workers", {}).values() if isinstance(worker, Nanny)]
    if cluster is None or not nannies:
        return

    async def close_all() -> None:
        await asyncio.gather(*(nanny.close(timeout=timeout) for nanny in nannies), return_exceptions=True)

    try:
        cluster.sync(close_all)
    except Exception as exc:  # the cluster's own close follows and says more
        log.debug("closing the workers: %s", exc)


def _text(value: Any) -> str | None:
    return None if value is None or value != value else str(value)

