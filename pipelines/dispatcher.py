"""The dispatcher (``workbench serve``): queued jobs in, finished batches out.

One loop, in the main thread, owns the queue: it takes back jobs whose lease
expired (a dispatcher that died), claims queued jobs up to ``max_jobs``, renews
the leases of its running jobs and passes cancel requests on. Each claimed job
runs :func:`~workbench.pipelines.batch.run_batch` in its own thread on the
shared Dask client, into ``results/<job id>/``; its progress and per-item
status go to the store as items finish.

A dispatcher killed outright loses nothing: its leases run out, another
dispatcher (or the same one restarted) claims the jobs again, and the batch
skips every item already complete on disk. SIGTERM (or SIGINT) stops claiming,
lets running jobs finish for ``grace`` seconds, then cancels what is left and
hands those jobs back to the queue.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distributed import Client

from workbench.config import results_root
from workbench.jobs.model import Job
from workbench.jobs.store import JobStore
from workbench.jobs.transitions import InvalidTransition
from workbench.pipelines.batch import run_batch
from workbench.pipelines.cluster import make_cluster
from workbench.pipelines.engine import Progress
from workbench.request import BatchRequest

log = logging.getLogger("workbench.dispatcher")

@dataclass
class _Running:
    """A claimed job, the thread running it, and how its end is to be recorded."""

    job: Job
    thread: threading.Thread = field(init=False)
    cancel: threading.Event = field(default_factory=threading.Event)
    outcome: str = "finish"  # or "release" (shutdown) or "lost" (the lease went to someone else)
    renewed: float = field(default_factory=time.monotonic)


class Dispatcher:
    """Claim queued jobs and run them on a Dask cluster.

    Parameters
    ----------
    store_url : str, optional
        Job store URL (default: SQLite in ``$WORKBENCH_HOME``).
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
        Seconds between looks at the queue.
    grace : float
        Seconds running jobs get to finish after SIGTERM.
    item_timeout : float, optional
        Per-item time limit passed to ``run_batch``.
    max_attempts : int
        Claims of one job before an expired lease fails it for good.
    """

    def __init__(self, store_url: str | None = None, results: str | Path | None = None, *, cluster: str = "local",
                 cluster_config: str | Path | None = None, client: Client | None = None, max_jobs: int = 2,
                 lease_seconds: float = 60.0, poll: float = 1.0, grace: float = 30.0,
                 item_timeout: float | None = None, max_attempts: int = 3) -> None:
        if max_jobs < 1 or lease_seconds <= 0 or poll <= 0 or grace < 0:
            raise ValueError("max_jobs >= 1, lease > 0, poll > 0 and grace >= 0 are required")
        self.store = JobStore(store_url)
        self.results = Path(results) if results is not None else results_root()
        self.cluster = cluster
        self.cluster_config = cluster_config
        self.client = client
        self.max_jobs = max_jobs
        self.lease_seconds = lease_seconds
        self.poll = poll
        self.grace = grace
        self.item_timeout = item_timeout
        self.max_attempts = max_attempts
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 10_000}"
        self.stopping = threading.Event()
        self._running: dict[str, _Running] = {}

    # ------------------------------------------------------------------ the loop

    def serve(self, *, once: bool = False) -> int:
        """Run until SIGTERM / SIGINT; returns an exit status.

        With ``once``, return when no job is queued or running anywhere: a job
        running under another dispatcher's lease may still come back to the queue.
        """
        previous = self._install_signal_handlers()
        self.results.mkdir(parents=True, exist_ok=True)
        log.info("dispatcher %s: store %r, results %s", self.worker, self.store, self.results)
        try:
            with self._client() as client:
                while not self.stopping.is_set():
                    self.step(client)
                    if once and not self._running and self._nothing_left():
                        break
                    self.stopping.wait(self.poll)
                self._shut_down()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.store.close()
        return 0

    def step(self, client: Client) -> None:
        """One pass: take back expired leases, reap, renew, claim."""
        for job in self.store.expire_leases(max_attempts=self.max_attempts):
            log.warning("job %s: lease expired, now %s", job.id, job.status)
        self._reap()
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

            def progress(counts: Progress, names: tuple[str, ...]) -> None:
                if running.outcome != "finish":
                    return
                last = counts.last
                self.store.report_progress(job.id, self.worker, counts.counts())
                if last is not None:
                    self.store.record_items(job.id, [{"name": name, "item": last.key, "status": last.status,
                                                      "error": last.error} for name in names])

            result = run_batch(request, fasta, out, client=client, progress=progress, cancel=running.cancel,
                               item_timeout=self.item_timeout)
            rows = result.summary[["id", "item", "status", "error", "cached"]].to_dict("records")
            if running.outcome == "finish":
                self.store.record_items(job.id, [{"name": str(r["id"]), "item": _text(r["item"]),
                                                  "status": "cached" if r["cached"] else r["status"],
                                                  "error": _text(r["error"])} for r in rows])
                items = sum(result.counts[s] for s in ("done", "cached", "failed", "cancelled"))
                self.store.report_progress(job.id, self.worker, result.counts | {"total": items})
            self._settle(running, str(out), None)
        except Exception as exc:  # the job fails with its reason; the dispatcher goes on
            log.exception("job %s failed", job.id)
            self._settle(running, str(out), f"{type(exc).__name__}: {exc}")

    def _settle(self, running: _Running, out: str, error: str | None) -> None:
        """Record how a job's thread ended: done, failed, cancelled or handed back."""
        job_id = running.job.id
        try:
            if running.outcome == "lost":
                return
            if running.outcome == "release":
                self.store.release(job_id, self.worker)
            elif running.cancel.is_set():
                self.store.acknowledge_cancel(job_id, self.worker)
            elif error is not None:
                self.store.fail(job_id, self.worker, error)
            else:
                self.store.finish(job_id, self.worker, out)
        except (InvalidTransition, KeyError) as exc:
            log.warning("job %s: could not record its end: %s", job_id, exc)

    def _reap(self) -> None:
        for job_id, running in list(self._running.items()):
            if not running.thread.is_alive():
                del self._running[job_id]

    def _renew(self) -> None:
        now = time.monotonic()
        for running in self._running.values():
            if running.outcome == "lost" or now - running.renewed < self.lease_seconds / 3:
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
        """Give running jobs ``grace`` seconds, then cancel the rest and hand them back."""
        deadline = time.monotonic() + self.grace
        while self._running and time.monotonic() < deadline:
            self._renew()
            self._reap()
            time.sleep(min(self.poll, 0.2))
        for running in self._running.values():
            running.outcome = "release"
            running.cancel.set()
        for running in self._running.values():
            running.thread.join()
        self._running.clear()

    # ------------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def _client(self) -> Iterator[Client]:
        if self.client is not None:
            yield self.client
            return
        with make_cluster(self.cluster, config=self.cluster_config) as client:
            yield client

    def _install_signal_handlers(self) -> dict[int, Any]:
        """SIGTERM and SIGINT stop the loop; returns the handlers they replaced."""
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: self.stop())
        return previous


def _text(value: Any) -> str | None:
    return None if value is None or value != value else str(value)

