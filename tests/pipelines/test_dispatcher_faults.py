"""The dispatcher under faults: a PostgreSQL outage mid-job, Ctrl-C and SIGTERM, a cancel.

Waits are for events (a status, a file, a log line), never for a fixed time.
The one bound on time is the one the dispatcher promises: ``serve`` exits
within its grace period.
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from tests.pipelines.test_dispatcher import PARAMETERS, _fasta, _wait
from tests.postgres_server import private_postgres
from workbench.jobs.store import JobStore
from workbench.pipelines.dispatcher import Dispatcher
from workbench.results import SUMMARY_PARQUET

#: The cheapest real job: the template predictor with no refinement (a few seconds for ten variants).
QUICK = PARAMETERS | {"refine": False}
QUICK.pop("refine_options")


def _serve(home: pathlib.Path, *extra: str) -> subprocess.Popen:
    """``workbench serve`` in its own process group, stdout and stderr apart."""
    env = os.environ | {"WORKBENCH_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "workbench.cli", "serve", "--cluster", "local:1", "--poll", "0.2",
                             *extra], env=env, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _stop(server: subprocess.Popen) -> tuple[str, str]:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGKILL)
    return server.communicate(timeout=60)


@pytest.mark.slow
def test_serve_finishes_a_job_through_a_postgresql_outage(tmp_path):
    """PostgreSQL stops as the job starts and comes back once the batch is computed: the job ends done, once.

    Every progress report and the job's end meet the outage; serve keeps
    running, logs one line per try (no traceback) and records everything when
    the database answers again, with no person restarting anything.
    """
    home = tmp_path / "home"
    with private_postgres() as database:
        with JobStore(database.url) as store:
            job = store.submit({"fasta": _fasta(10)}, QUICK, name="through an outage")
        server = _serve(home, "--store", database.url, "--lease", "600")
        try:
            with JobStore(database.url) as store:
                _wait(lambda: store.get(job.id).status == "running", 240, "the job to be claimed")
            database.stop()
            try:
                summary = home / "results" / job.id / SUMMARY_PARQUET
                _wait(lambda: summary.is_file() or server.poll() is not None, 600, "the batch to be computed")
                assert server.poll() is None, "serve exited while the database was down"
            finally:
                database.start()
            with JobStore(database.url) as store:
                final = _wait(lambda: (j := store.get(job.id)).status == "done" and j, 240, "the job to be done")
                items = store.items(job.id)
            assert server.poll() is None, "serve exited"
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                _, log = server.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                _, log = _stop(server)
    assert final.attempts == 1 and final.error is None, final  # never handed back or taken back: nothing redone
    assert final.progress["done"] == final.progress["total"] > 0
    assert len(items) == 10 and {item.status for item in items} == {"done"}
    assert "trying again" in log and "the database answers again" in log
    assert "Traceback" not in log, log
    assert server.returncode == 0, log


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_stops_quietly_within_its_grace(tmp_path, signum):
    """The signal reaches every process of serve's group, as Ctrl-C and a batch system's kill do.

    serve exits with status 0 within its grace period, with no traceback from
    itself or its Dask workers, and leaves the job resumable: handed back to the
    queue, lease released (or done, if it finished within the grace period).
    """
    grace = 20
    home = tmp_path / "home"
    home.mkdir()
    url = f"sqlite:///{home / 'jobs.sqlite'}"
    with JobStore(url) as store:
        job = store.submit({"fasta": _fasta(10)}, PARAMETERS, name="ten, refined")
    server = _serve(home, "--grace", str(grace))
    try:
        with JobStore(url) as store:
            _wait(lambda: store.items(job.id), 300, "a first finished item")
        os.killpg(server.pid, signum)
        signalled = time.monotonic()
        try:
            _, log = server.communicate(timeout=grace)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve still running {time.monotonic() - signalled:.0f} s after the signal "
                        f"(grace {grace} s)")
    finally:
        _stop(server)
    assert server.returncode == 0, log
    assert "Traceback" not in log, log
    with JobStore(url) as store:
        final = store.get(job.id)
    assert final.lease_owner is None and final.attempts == 1, final
    assert final.status in ("queued", "done"), final


def test_a_cancel_is_honoured_on_the_next_pass(client, tmp_path):
    """One pass of the loop (every ``poll`` seconds, 1 s by default) records a requested cancel and stops the batch."""
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    with JobStore(url) as store:
        job = store.submit({"fasta": _fasta(6)}, PARAMETERS, name="six")
    dispatcher = Dispatcher(url, tmp_path / "results", client=client, lease_seconds=600)
    try:
        dispatcher.step(client)
        with JobStore(url) as store:
            assert store.get(job.id).status == "running"
            store.request_cancel(job.id)
            running = dispatcher._running[job.id]
            dispatcher.step(client)
            assert store.get(job.id).status == "cancelled"
            assert running.cancel.is_set()
            running.thread.join(300)
            assert not running.thread.is_alive()
            final = store.get(job.id)
            statuses = [item.status for item in store.items(job.id)]
        assert final.status == "cancelled" and final.lease_owner is None
        assert "cancelled" in statuses and len(statuses) < 7
        dispatcher.step(client)
        assert dispatcher._running == {}
    finally:
        dispatcher.store.close()
