"""The item engine on a real LocalCluster: once-only, atomic items; failures, time limits, killed workers."""

from __future__ import annotations

import json
import os
import signal
import threading

import pytest

from tests.pipelines._work import calls, square
from workbench.pipelines.engine import DONE, ItemRunner, Progress, Task, execute_item


def _tasks(log, n, extra=None):
    extra = extra or {}
    return [Task(f"item{i:03d}", square, {"value": i, "log": str(log)} | extra.get(i, {})) for i in range(n)]


def test_execute_item_writes_result_then_done(tmp_path):
    log = tmp_path / "calls.log"
    outcome = execute_item(square, {"value": 7, "log": str(log)}, str(tmp_path / "k1"))
    assert outcome.status == "done" and outcome.result["square"] == 49
    assert json.loads((tmp_path / "k1" / DONE).read_text())["result"]["square"] == 49
    again = execute_item(square, {"value": 7, "log": str(log)}, str(tmp_path / "k1"))
    assert again.status == "cached" and again.result["square"] == 49
    assert calls(log) == ["k1"]  # the second call read the result, it did not compute


def test_errors_become_failed_items_with_the_reason(tmp_path):
    log = tmp_path / "calls.log"
    failed = execute_item(square, {"value": 1, "log": str(log), "fail": True}, str(tmp_path / "a"))
    crashed = execute_item(square, {"value": 1, "log": str(log), "crash": True}, str(tmp_path / "b"))
    assert (failed.status, failed.error) == ("failed", "item a: asked to fail")
    assert (crashed.status, crashed.error) == ("failed", "ZeroDivisionError: division by zero")
    assert not (tmp_path / "a" / DONE).exists() and not (tmp_path / "b" / DONE).exists()


@pytest.mark.parametrize("damage", ["corrupt DONE", "deleted output", "truncated output", "DONE without result"])
def test_a_damaged_item_is_computed_again_and_the_rest_stay_cached(client, tmp_path, damage):
    log = tmp_path / "calls.log"
    tasks = _tasks(log, 3)
    ItemRunner(client, tmp_path).run(tasks)
    item = tmp_path / "item001"
    if damage == "corrupt DONE":
        (item / DONE).write_text("{trunc")
    elif damage == "deleted output":
        (item / "output.json").unlink()
    elif damage == "truncated output":
        (item / "output.json").write_bytes(b"")
    else:
        (item / DONE).write_text(json.dumps({"finished": 0}))

    rerun = ItemRunner(client, tmp_path).run(tasks)

    assert {k: o.status for k, o in rerun.items()} == {"item000": "cached", "item001": "done", "item002": "cached"}
    assert rerun["item001"].result["square"] == 1
    assert json.loads((item / "output.json").read_text()) == {"square": 1}
    assert calls(log).count("item001") == 2 and calls(log).count("item000") == 1


def test_outputs_are_readable_by_the_group_as_the_umask_says(tmp_path):
    outcome = execute_item(square, {"value": 3, "log": str(tmp_path / "calls.log")}, str(tmp_path / "k"))
    assert outcome.status == "done"
    mask = os.umask(0o022)
    os.umask(mask)
    for name in ("output.json", DONE):
        assert (tmp_path / "k" / name).stat().st_mode & 0o777 == 0o666 & ~mask, name


def test_batch_runs_every_item_once_and_reruns_compute_nothing(client, tmp_path):
    log = tmp_path / "calls.log"
    tasks = _tasks(log, 12, {3: {"fail": True}, 5: {"crash": True}})
    seen: list[Progress] = []
    outcomes = ItemRunner(client, tmp_path, progress=seen.append).run(tasks)
    assert sorted(outcomes) == [t.key for t in tasks]
    assert {k: o.status for k, o in outcomes.items() if o.status != "done"} == {"item003": "failed",
                                                                                "item005": "failed"}
    for i in range(12):
        if i in (3, 5):
            continue
        assert outcomes[f"item{i:03d}"].result["square"] == i * i
        assert json.loads((tmp_path / f"item{i:03d}" / "output.json").read_text()) == {"square": i * i}
    assert sorted(calls(log)) == sorted(t.key for t in tasks)
    assert [p.finished for p in seen] == list(range(1, 13))
    assert (seen[-1].done, seen[-1].failed) == (10, 2)

    rerun = ItemRunner(client, tmp_path).run(tasks)
    assert sum(o.status == "cached" for o in rerun.values()) == 10
    # only the two failed items were tried again
    assert sorted(calls(log)) == sorted([t.key for t in tasks] + ["item003", "item005"])


@pytest.mark.parametrize("chunk", [1, 4])
def test_sigkill_of_a_worker_mid_batch(client, tmp_path, chunk):
    """A worker killed while running an item: the batch completes, every item once, no partial file.

    With four items per Dask task, the items of the lost task finished before
    the kill are not computed again and count as done in this run.
    """
    log = tmp_path / "calls.log"
    tasks = [Task(f"k{i:02d}", square, {"value": i, "log": str(log), "sleep": 0.3}) for i in range(16)]
    killed: list[int] = []

    def kill_one(counts: Progress) -> None:
        if killed or counts.done < 3:
            return
        busy = [address for address, keys in client.processing().items() if keys]
        pids = client.run(os.getpid, workers=busy[:1])
        for pid in pids.values():
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    outcomes = ItemRunner(client, tmp_path, progress=kill_one, chunk=chunk).run(tasks)
    assert killed, "no worker was busy to kill"
    assert sorted(outcomes) == [t.key for t in tasks]
    # a finished result held by the killed worker is lost with it; Dask reruns that task, which finds the
    # item complete on disk, written by this run: done, not cached, and not computed again
    assert {o.status for o in outcomes.values()} == {"done"}, {k: (o.status, o.error) for k, o in outcomes.items()}
    for i, task in enumerate(tasks):
        assert json.loads((tmp_path / task.key / "output.json").read_text()) == {"square": i * i}
        assert (tmp_path / task.key / DONE).is_file()
    assert not list(tmp_path.rglob("*.tmp")), "a partial file was left behind"
    executed = calls(log)
    assert set(executed) == {t.key for t in tasks}
    assert len(executed) <= len(tasks) + 1  # at most the item in flight on the killed worker ran twice
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the worker for the next tests


def test_time_limit_fails_only_the_slow_item(client, tmp_path):
    log = tmp_path / "calls.log"
    # quick items may be sent to the slow item's worker and wait there: their clock must not run meanwhile
    tasks = _tasks(log, 8, {0: {"sleep": 6.0}} | {i: {"sleep": 0.3} for i in range(1, 8)})
    outcomes = ItemRunner(client, tmp_path, timeout=1.5, poll=0.2).run(tasks)
    seen = {k: (o.status, o.error) for k, o in outcomes.items()}
    assert seen["item000"][0] == "failed", seen
    assert seen["item000"][1].startswith("timed out: still running after 1.5 s"), seen
    assert all(outcomes[f"item{i:03d}"].status == "done" for i in range(1, 8)), seen


def test_cancel_event_stops_pending_items(client, tmp_path):
    log = tmp_path / "calls.log"
    cancel = threading.Event()
    tasks = [Task(f"c{i:02d}", square, {"value": i, "log": str(log), "sleep": 0.3}) for i in range(12)]

    def stop_after_two(counts: Progress) -> None:
        if counts.done >= 2:
            cancel.set()

    outcomes = ItemRunner(client, tmp_path, cancel=cancel, poll=0.1, progress=stop_after_two).run(tasks)
    statuses = [o.status for o in outcomes.values()]
    assert len(outcomes) == 12 and set(statuses) <= {"done", "cancelled"}
    assert statuses.count("done") >= 2 and statuses.count("cancelled") >= 4
    assert all(o.error == "cancelled" for o in outcomes.values() if o.status == "cancelled")


def test_chunked_items_run_once_each_with_per_item_outcomes_and_progress(client, tmp_path):
    log = tmp_path / "calls.log"
    tasks = _tasks(log, 11, {4: {"fail": True}})
    seen: list[Progress] = []
    outcomes = ItemRunner(client, tmp_path, chunk=4, progress=seen.append).run(tasks)
    assert {k: o.status for k, o in outcomes.items() if o.status != "done"} == {"item004": "failed"}
    assert sorted(calls(log)) == sorted(t.key for t in tasks)
    assert [p.finished for p in seen] == list(range(1, 12)) and seen[-1].total == 11


def test_chunk_size_keeps_items_per_task_one_under_a_time_limit():
    from workbench.pipelines.engine import MAX_CHUNK, chunk_size

    assert chunk_size(100_000, 4, None) == MAX_CHUNK
    assert chunk_size(100_000, 4, 30.0) == 1
    assert chunk_size(40, 2, None) == 2
    assert chunk_size(3, 8, None) == 1


@pytest.mark.parametrize("bad", ["local:x", "nonsense", "slurm:two"])
def test_make_cluster_refuses_bad_specs(bad):
    from workbench.pipelines.cluster import make_cluster

    with pytest.raises(ValueError, match="spec"), make_cluster(bad):
        pass
