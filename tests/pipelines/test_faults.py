"""Real faults on the batch path: a worker killed, a prediction that hangs, a folder workers cannot see, Ctrl-C.

Each test runs :func:`~workbench.pipelines.batch.run_batch` (or ``workbench run``)
with the ``fault`` predictor of :mod:`tests.pipelines._predictors` on real Dask
worker processes, does the fault for real (SIGKILL, a sleeping prediction, a
private mount namespace, SIGINT) and checks what a user would: nothing finished
is computed or written again (checksums and modification times before and after),
counts are true, the limit holds, and the refusal comes before any work.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipelines import _predictors
from tests.pipelines._predictors import predicted, variants
from workbench.files import read_sha256
from workbench.io.fasta import SequenceRecord
from workbench.pipelines.batch import run_batch
from workbench.pipelines.cluster import FolderNotShared, make_cluster, write_credentials
from workbench.pipelines.engine import DONE, is_complete
from workbench.request import BatchRequest
from workbench.results import CACHE, open_results

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def fault(client):
    """The ``fault`` predictor here and on the session's workers, for this test only."""
    client.wait_for_workers(2, timeout=120)  # an earlier test may have killed or restarted one
    _predictors.register_fault()
    client.register_plugin(_predictors.Registration(), name="fault-predictor")
    yield client
    client.unregister_worker_plugin("fault-predictor")
    _predictors.unregister_fault()


def _records(n: int) -> list[SequenceRecord]:
    return [SequenceRecord(id=name, name=name, chains=(sequence,), line=i + 1)
            for i, (name, sequence) in enumerate(variants(n))]


def _request(tmp_path: Path, **options: object) -> BatchRequest:
    return BatchRequest.create(_predictors.NAME, {"log": str(tmp_path / "predicted.log"), **options}, refine=False)


def _fingerprints(folder: Path) -> dict[str, tuple[str, int]]:
    """SHA-256 and modification time (ns) of every file in an item folder."""
    return {p.name: (read_sha256(p), p.stat().st_mtime_ns) for p in sorted(folder.iterdir()) if p.is_file()}


def test_sigkill_of_a_worker_rewrites_and_repredicts_no_finished_item(fault, tmp_path):
    client = fault
    records = _records(12)
    request = _request(tmp_path, seconds=0.4)
    out = tmp_path / "out"
    before: dict[str, dict[str, tuple[str, int]]] = {}
    killed: list[int] = []

    def kill_a_busy_worker(counts, names) -> None:
        if killed or counts.done < 4:
            return
        for key in (p.name for p in (out / CACHE).iterdir() if is_complete(p)):
            before[key] = _fingerprints(out / CACHE / key)
        busy = [address for address, keys in client.processing().items() if keys]
        for pid in client.run(os.getpid, workers=busy[:1]).values():
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    # three records per prediction task: a task whose items are partly finished when its worker dies
    length = len(records[0].sequence)
    result = run_batch(request, records, out, client=client, batch_tokens=3 * length, progress=kill_a_busy_worker)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker for the next tests

    assert killed, "no worker was busy to kill"
    assert result.counts == {"done": 12, "cached": 0, "failed": 0, "cancelled": 0, "invalid": 0}, result.counts
    assert len(before) >= 4
    for key, files in before.items():  # not rewritten: same bytes, same modification times (the report adds figures)
        after = _fingerprints(out / CACHE / key)
        assert {name: after.get(name) for name in files} == files, key
    finished_before = {row.id for row in open_results(out).rows if row.item in before}
    times = predicted(tmp_path / "predicted.log")
    assert {name: times.count(name) for name in finished_before} == dict.fromkeys(finished_before, 1)
    assert set(times) == {r.id for r in records}


@pytest.mark.parametrize(("batched", "reason"), [(False, "timed out: still running after 3 s"),
                                                 (True, "timed out in prediction: its batch of 2 item(s)")])
def test_a_hung_prediction_fails_within_the_item_time_limit_and_frees_its_worker(fault, tmp_path, batched, reason):
    """One record per task (prediction inside the item's task), or two per prediction task (its own task)."""
    client = fault
    records = _records(4)
    request = _request(tmp_path, hang=records[1].id, hang_seconds=120.0)
    tokens = 2 * len(records[0].sequence) if batched else 0
    started = time.monotonic()
    result = run_batch(request, records, tmp_path / "out", client=client, item_timeout=3.0, batch_tokens=tokens)
    elapsed = time.monotonic() - started
    client.wait_for_workers(2, timeout=120)

    rows = {row.id: row for row in open_results(tmp_path / "out").rows}
    failed = {r.id for r in records[:2]} if batched else {records[1].id}  # a batch of two shares its prediction
    assert {name for name, row in rows.items() if row.status == "failed"} == failed
    assert all(rows[name].error.startswith(reason) for name in failed), {n: rows[n].error for n in failed}
    assert result.counts["failed"] == len(failed) and result.counts["done"] == 4 - len(failed)
    assert elapsed < 60, f"the batch waited {elapsed:.0f} s for a prediction limited to 3 s"
    # the worker was restarted: nothing is still executing the hung prediction
    assert client.run(lambda dask_worker: len(dask_worker.state.executing)) == dict.fromkeys(
        client.scheduler_info()["workers"], 0)


def _can_hide_folders() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_hide_folders(), reason="needs root and unshare(1) to give a worker its own mounts")
def test_a_worker_that_cannot_see_the_output_folder_is_refused_before_any_work(tmp_path):
    out = tmp_path / "shared" / "out"
    out.mkdir(parents=True)
    log = tmp_path / "predicted.log"
    _predictors.register_fault()
    with make_cluster("local", n_workers=0) as client:
        client.register_plugin(_predictors.Registration(), name="fault-predictor")
        address = client.scheduler.address
        tls = write_credentials(client.security, tmp_path)  # the cluster speaks TLS: the worker needs its certificates
        # a worker in its own mount namespace, where an empty tmpfs hides the output folder: another node's view
        script = (f"mount -t tmpfs none {tmp_path / 'shared'} && exec {sys.executable} -m distributed.cli.dask_worker "
                  f"{address} --nthreads 1 --no-nanny --no-dashboard --tls-ca-file {tls['ca_file']} "
                  f"--tls-cert {tls['cert']} --tls-key {tls['key']}")
        worker = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                                  cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client.wait_for_workers(1, timeout=60)
            with pytest.raises(FolderNotShared, match=r"1 of 1 worker\(s\) cannot see the output folder"):
                run_batch(_request(tmp_path), _records(2), out, client=client)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            _predictors.unregister_fault()
    assert predicted(log) == []
    assert not (out / CACHE).exists()


def test_an_adaptive_cluster_at_zero_workers_starts_one_for_the_folder_check_and_runs_the_batch(tmp_path):
    """The folder check waited for a worker that adapt (minimum 0) starts only for work: the run hung."""
    log = tmp_path / "predicted.log"
    _predictors.register_fault()
    try:
        with make_cluster("local", n_workers=0) as client:
            client.register_plugin(_predictors.Registration(), name="fault-predictor")
            client.cluster.adapt(minimum=0, maximum=1, interval="200ms")
            assert client.scheduler_info()["workers"] == {}
            result = run_batch(_request(tmp_path), _records(2), tmp_path / "out", client=client)
    finally:
        _predictors.unregister_fault()
    assert result.counts["done"] == 2
    assert sorted(predicted(log)) == sorted(record.id for record in _records(2))


def test_items_are_shared_across_batches_and_a_same_size_rewrite_is_caught(fault, tmp_path):
    client = fault
    records = _records(3)
    request = _request(tmp_path)
    shared = tmp_path / "shared-cache"
    first = run_batch(request, records, tmp_path / "first", client=client, shared_cache=shared)
    assert first.counts["done"] == 3

    second = run_batch(request, records, tmp_path / "second", client=client, shared_cache=shared)
    assert (second.counts["done"], second.counts["cached"]) == (0, 3)
    assert len(predicted(tmp_path / "predicted.log")) == 3  # the second batch predicted nothing
    key = open_results(tmp_path / "second").rows[0].item
    model = next(p for p in (tmp_path / "second" / CACHE / key).iterdir() if p.name.endswith(".pdb"))
    assert model.stat().st_ino == (tmp_path / "first" / CACHE / key / model.name).stat().st_ino  # linked, not copied

    from workbench.pipelines import shared_cache

    removed = shared_cache.clean(shared)
    assert removed.items == 3 and shared_cache.usage(shared).items == 0
    assert is_complete(tmp_path / "second" / CACHE / key)  # batch folders keep their own links

    # the same number of bytes, different content: found by the checksum, computed again, only that item
    damaged = tmp_path / "first" / CACHE / key / model.name
    data = bytearray(damaged.read_bytes())
    data[100] = ord("X") if data[100] != ord("X") else ord("Y")
    os.unlink(damaged)  # a new inode, so the second batch's link keeps the good bytes
    damaged.write_bytes(bytes(data))
    assert not is_complete(tmp_path / "first" / CACHE / key)
    again = run_batch(request, records, tmp_path / "first", client=client)
    assert (again.counts["done"], again.counts["cached"]) == (1, 2)
    assert read_sha256(damaged) == read_sha256(model)


def test_ctrl_c_in_workbench_run_keeps_what_finished_and_says_how_to_resume(tmp_path):
    fasta = tmp_path / "in.fasta"
    fasta.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in variants(8)))
    log = tmp_path / "predicted.log"
    out = tmp_path / "out"
    command = [sys.executable, "-c",
               "import sys; import tests.pipelines._predictors; from workbench.cli import main; "
               "sys.exit(main(sys.argv[1:]))",
               "run", str(fasta), "-o", str(out), "--predictor", _predictors.NAME, "--log", str(log),
               "--seconds", "1.5", "--no-refine", "--cluster", "local:1", "--no-progress", "--no-shared-cache"]
    env = os.environ | {"PYTHONPATH": str(REPOSITORY), _predictors.ENVIRONMENT: "1"}
    run = subprocess.Popen(command, cwd=REPOSITORY, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    deadline = time.monotonic() + 120
    while len(list((out / CACHE).glob(f"*/{DONE}"))) < 2 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.2)
    run.send_signal(signal.SIGINT)
    interrupted = time.monotonic()
    _, stderr = run.communicate(timeout=60)
    took = time.monotonic() - interrupted

    assert run.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    assert "run the same command again to resume" in stderr
    assert took < 20, f"{took:.1f} s from Ctrl-C to exit"
    rows = {row.id: row.status for row in open_results(out).rows}
    finished = {name for name, status in rows.items() if status == "done"}
    assert len(finished) >= 2 and "cancelled" in rows.values(), rows
    assert (out / "summary.csv").is_file()


def test_a_rerun_with_every_item_complete_starts_no_cluster(fault, tmp_path):
    records = _records(3)
    request = _request(tmp_path)
    run_batch(request, records, tmp_path / "out", client=fault)
    # nothing listens on this address: a rerun that tried to start or reach a cluster would fail
    again = run_batch(request, records, tmp_path / "out", cluster="tcp://127.0.0.1:9")
    assert (again.counts["done"], again.counts["cached"]) == (0, 3)
    assert len(predicted(tmp_path / "predicted.log")) == 3


def test_a_successful_run_ends_without_dask_warnings(tmp_path):
    """No "Worker process still alive ... killing" (nor any other Dask line) on stderr when all went well."""
    fasta = tmp_path / "in.fasta"
    fasta.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in variants(2)))
    command = [sys.executable, "-c",
               "import sys; import tests.pipelines._predictors; from workbench.cli import main; "
               "sys.exit(main(sys.argv[1:]))",
               "run", str(fasta), "-o", str(tmp_path / "out"), "--predictor", _predictors.NAME, "--no-refine",
               "--cluster", "local:2", "--no-progress", "--no-shared-cache"]
    env = os.environ | {"PYTHONPATH": str(REPOSITORY), _predictors.ENVIRONMENT: "1"}
    done = subprocess.run(command, cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "distributed." not in done.stderr and "Traceback" not in done.stderr, done.stderr
