"""The dispatcher against a real SQLite store: runs jobs, cancels, survives SIGKILL, stops on SIGTERM."""

from __future__ import annotations

import logging
import os
import pathlib
import signal
import stat
import subprocess
import sys
import threading
import time

import pdbfixer
import pytest

from workbench.jobs.store import JobStore
from workbench.pipelines.dispatcher import Dispatcher
from workbench.pipelines.engine import DONE
from workbench.state_folders import exposure, make_state_folder

TEMPLATE = pathlib.Path(pdbfixer.__file__).parent / "tests" / "data" / "1BHL.pdb"
VARIANTS = pathlib.Path(__file__).parents[2] / "examples" / "data" / "integrase_variants.fasta"


def _fasta(n: int) -> str:
    """The first ``n`` records of the example integrase variants."""
    lines = VARIANTS.read_text().splitlines()
    return "\n".join(lines[: 2 * n]) + "\n"


PARAMETERS = {"predictor": "template", "predictor_options": {"template": str(TEMPLATE)}, "refine": True,
              "refine_options": {"max_iterations": 200}}


def _wait(predicate, timeout: float, what: str, poll: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _serve(home: pathlib.Path, *extra: str) -> subprocess.Popen:
    """``workbench serve`` in its own process group (so SIGKILL takes its Dask workers too)."""
    env = os.environ | {"WORKBENCH_HOME": str(home)}
    return subprocess.Popen([sys.executable, "-m", "workbench.cli", "serve", "--cluster", "local:1", "--poll",
                             "0.2", *extra], env=env, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_jobs_run_to_done_with_items_and_progress(client, tmp_path):
    store_url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    with JobStore(store_url) as store:
        first = store.submit({"fasta": _fasta(2)}, PARAMETERS, name="two")
        bad = store.submit({"fasta": _fasta(1)}, PARAMETERS | {"out": "/etc"}, name="bad parameters")
    dispatcher = Dispatcher(store_url, tmp_path / "results", client=client, poll=0.1)
    assert dispatcher.serve(once=True) == 0
    with JobStore(store_url) as store:
        job = store.get(first.id)
        assert job.status == "done" and job.lease_owner is None
        assert pathlib.Path(job.result_path) == tmp_path / "results" / first.id
        assert (pathlib.Path(job.result_path) / "summary.parquet").is_file()
        assert job.progress["done"] + job.progress["cached"] == job.progress["total"] == 2
        assert sorted((i.name, i.status) for i in store.items(first.id)) == [("T66I", "done"),
                                                                            ("wild_type", "done")]
        failed = store.get(bad.id)
        assert failed.status == "failed" and "unknown batch request key(s): out" in failed.error


def test_cancel_stops_a_running_job(client, tmp_path):
    store_url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    with JobStore(store_url) as store:
        job = store.submit({"fasta": _fasta(6)}, PARAMETERS, name="six")
    dispatcher = Dispatcher(store_url, tmp_path / "results", client=client, poll=0.1, lease_seconds=0.6)
    thread = threading.Thread(target=dispatcher.serve, kwargs={"once": True})
    thread.start()
    with JobStore(store_url) as store:
        _wait(lambda: store.items(job.id), 120, "a first finished item")
        store.request_cancel(job.id)
        thread.join(timeout=120)
        assert not thread.is_alive()
        final = store.get(job.id)
        assert final.status == "cancelled"
        statuses = [i.status for i in store.items(job.id)]
        assert "cancelled" in statuses and len(statuses) < 7


@pytest.mark.slow
def test_a_new_dispatcher_finishes_the_job_of_a_killed_one(tmp_path):
    home = tmp_path / "home"
    with JobStore(f"sqlite:///{home / 'jobs.sqlite'}") as store:
        home.mkdir(exist_ok=True)
        job = store.submit({"fasta": _fasta(4)}, PARAMETERS, name="four")
    first = _serve(home, "--lease", "3")
    out = home / "results" / job.id
    try:
        _wait(lambda: list(out.glob(f"cache/*/{DONE}")), 240, "a first finished item")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    before = {p: p.read_text() for p in out.glob(f"cache/*/{DONE}")}
    with JobStore(f"sqlite:///{home / 'jobs.sqlite'}") as store:
        assert store.get(job.id).status == "running"  # nobody recorded the death
    second = _serve(home, "--lease", "3", "--once")
    output, _ = second.communicate(timeout=400)
    assert second.returncode == 0, output
    with JobStore(f"sqlite:///{home / 'jobs.sqlite'}") as store:
        final = store.get(job.id)
    assert final.status == "done" and final.attempts == 2, (final, output)
    assert {p: p.read_text() for p in before} == before  # items finished before the kill were not redone
    assert len(list(out.glob(f"cache/*/{DONE}"))) == 4
    assert not list(out.rglob("*.tmp"))
    assert final.progress["cached"] >= len(before)


@pytest.mark.slow
def test_sigterm_hands_a_running_job_back(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with JobStore(f"sqlite:///{home / 'jobs.sqlite'}") as store:
        job = store.submit({"fasta": _fasta(6)}, PARAMETERS, name="six")
    server = _serve(home, "--grace", "0")
    with JobStore(f"sqlite:///{home / 'jobs.sqlite'}") as store:
        _wait(lambda: store.get(job.id).status == "running", 120, "the job to be claimed")
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=120)
        assert server.returncode == 0, output
        final = store.get(job.id)
    assert final.status == "queued" and final.lease_owner is None and final.attempts == 1


def test_a_results_folder_is_made_private_and_an_open_one_is_kept_and_reported(tmp_path, client, caplog):
    results = tmp_path / "results"
    results.mkdir(mode=0o755)
    os.chmod(results, 0o755)
    make_state_folder(results)
    assert stat.S_IMODE(results.stat().st_mode) == 0o755
    assert exposure(results) == "mode 0755: every account on this machine may read it"
    store_url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    with caplog.at_level(logging.WARNING, logger="workbench"):
        assert Dispatcher(store_url, results, client=client, poll=0.1).serve(once=True) == 0
    warned = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any(f"results folder {results} has mode 0755" in message for message in warned), warned

    private = tmp_path / "new-results"
    assert Dispatcher(store_url, private, client=client, poll=0.1).serve(once=True) == 0
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
