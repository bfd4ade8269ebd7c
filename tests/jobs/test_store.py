"""The job store on real databases: a SQLite file, and PostgreSQL when WORKBENCH_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import multiprocessing
import queue
import re
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url

from workbench.jobs import InvalidTransition, JobItem, JobStatus, JobStore, transitions

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def submit_many(store: JobStore, n: int, **kwargs) -> list[str]:
    return [store.submit({"fasta": f">s{i}\nMKV"}, {"i": i}, **kwargs).id for i in range(n)]


# -- submit, get, list -------------------------------------------------------------------------


def test_submit_and_get_round_trip(store):
    job = store.submit({"fasta": ">a\nMKVLA", "template": "/data/1abc.pdb"}, {"relax": True, "seeds": [1, 2]},
                       owner="ana", name="variants")
    assert job.status is JobStatus.QUEUED and job.version == 0 and job.attempts == 0
    assert job.created_at.tzinfo is UTC
    assert len(job.id) == 32
    again = store.get(job.id)
    assert again == job
    assert again.created_at.tzinfo is UTC


def test_get_unknown_job(store):
    missing = uuid.uuid4().hex
    with pytest.raises(KeyError, match=missing):
        store.get(missing)


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "0123456789ABCDEF0123456789ABCDEF", "abc",
                                    "0123456789abcdef0123456789abcdef0", "' OR 1=1 --", "", None, 42])
def test_bad_ids_are_rejected_before_any_query(store, bad_id):
    with pytest.raises(ValueError, match="not a job id"):
        store.get(bad_id)
    with pytest.raises(ValueError, match="not a job id"):
        store.request_cancel(bad_id)
    with pytest.raises(ValueError, match="not a job id"):
        store.items(bad_id)


def test_submit_checks_its_arguments(store):
    with pytest.raises(TypeError, match="inputs must be a dict"):
        store.submit(["fasta"], {})
    with pytest.raises(ValueError, match="parameters must be JSON-serialisable"):
        store.submit({}, {"when": datetime.now(UTC)})
    with pytest.raises(ValueError, match="owner"):
        store.submit({}, {}, owner="")
    assert store.list_jobs() == []


def test_list_newest_first_and_filters(store):
    ana = submit_many(store, 3, owner="ana")
    bob = submit_many(store, 2, owner="bob")
    assert [job.id for job in store.list_jobs()] == (ana + bob)[::-1]
    assert [job.id for job in store.list_jobs(owner="ana")] == ana[::-1]
    assert [job.id for job in store.list_jobs(limit=2)] == bob[::-1]
    store.claim_next("w1", 60)
    assert [job.id for job in store.list_jobs(status="running")] == [ana[0]]
    assert [job.id for job in store.list_jobs(owner="bob", status=JobStatus.QUEUED)] == bob[::-1]
    assert store.list_jobs(owner="carol") == []
    with pytest.raises(ValueError):
        store.list_jobs(status="paused")
    with pytest.raises(ValueError):
        store.list_jobs(limit=0)


def test_jobs_submitted_in_one_clock_tick_list_in_submission_order(store):
    """SQLite's clock has milliseconds: jobs submitted within one tie on created_at (seen in CI)."""
    ids = submit_many(store, 4)
    with store.engine.begin() as connection:  # the same instant for all four, as a fast machine gives them
        connection.execute(text("UPDATE jobs SET created_at = (SELECT MIN(created_at) FROM jobs)"))
    listed = [job.id for job in store.list_jobs()]
    if store.engine.dialect.name == "sqlite":
        assert listed == ids[::-1]
    else:  # PostgreSQL's clock (microseconds) does not tie in practice; the order is then by id
        assert listed == sorted(ids, reverse=True)


def test_a_listing_without_inputs_leaves_the_fasta_in_the_database(store):
    fasta = ">big\n" + "ACDEFGHIKLMNPQRSTVWY" * 50_000 + "\n"  # a 1 MB FASTA
    job = store.submit({"fasta": fasta}, {}, owner="ana", name="big")
    listed = store.list_jobs(inputs=False)
    assert [(j.id, j.name, j.status, j.inputs) for j in listed] == [(job.id, "big", job.status, {})]
    assert store.list_jobs()[0].inputs == {"fasta": fasta}
    assert store.get(job.id).inputs == {"fasta": fasta}


# -- claiming and leases -----------------------------------------------------------------------


def test_claim_oldest_first(store):
    ids = submit_many(store, 4)
    store.request_cancel(ids[1])
    claimed = [store.claim_next(f"w{i}", 60) for i in range(3)]
    assert [job.id for job in claimed[:2]] == [ids[0], ids[2]]
    assert claimed[2].id == ids[3]
    assert store.claim_next("w9", 60) is None
    job = store.get(ids[0])
    assert (job.status, job.lease_owner, job.attempts, job.version) == (JobStatus.RUNNING, "w0", 1, 1)


def test_claim_on_empty_store(store):
    assert store.claim_next("w1", 60) is None


def test_lifecycle_is_persisted(store):
    (job_id,) = submit_many(store, 1)
    job = store.claim_next("w1", 60, now=T0)
    assert job.lease_expires == T0 + timedelta(seconds=60) and job.started_at == T0
    store.report_progress(job_id, "w1", {"total": 10, "done": 3, "failed": 1, "cached": 2})
    store.renew(job_id, "w1", 120, now=T0 + timedelta(seconds=30))
    done = store.finish(job_id, "w1", "/results/job", now=T0 + timedelta(seconds=90))
    stored = store.get(job_id)
    assert stored == done
    assert stored.status is JobStatus.DONE and stored.version == 4
    assert stored.progress == {"total": 10, "done": 3, "failed": 1, "cached": 2}
    assert stored.finished_at == T0 + timedelta(seconds=90) and stored.lease_owner is None
    assert stored.result_path == "/results/job"


def test_refused_change_leaves_the_row_alone(store):
    (job_id,) = submit_many(store, 1)
    store.claim_next("w1", 60, now=T0)
    with pytest.raises(InvalidTransition, match=rf"job {job_id} \(running\): cannot finish: .*held by 'w1'"):
        store.finish(job_id, "w2", "/out")
    with pytest.raises(InvalidTransition, match="only a queued job"):
        store._apply(job_id, lambda job: transitions.claim(job, "w2", T0, 60))
    assert store.get(job_id).version == 1


def test_fail(store):
    (job_id,) = submit_many(store, 1)
    store.claim_next("w1", 60)
    job = store.fail(job_id, "w1", "sequence 7: unknown residue 'J'")
    assert store.get(job_id) == job
    assert job.status is JobStatus.FAILED and job.error == "sequence 7: unknown residue 'J'"


def test_lease_expiry_requeues_then_gives_up(store):
    (job_id,) = submit_many(store, 1)
    store.claim_next("w1", 60, now=T0)
    assert store.expire_leases(now=T0 + timedelta(seconds=59)) == []
    (expired,) = store.expire_leases(now=T0 + timedelta(seconds=61), max_attempts=2)
    assert expired.status is JobStatus.QUEUED and expired.lease_owner is None
    assert expired.error == f"lease of w1 expired at {(T0 + timedelta(seconds=60)).isoformat()}"
    assert store.get(job_id) == expired
    with pytest.raises(InvalidTransition, match="only a running job"):
        store.renew(job_id, "w1", 60, now=T0 + timedelta(seconds=62))

    again = store.claim_next("w2", 60, now=T0 + timedelta(seconds=100))
    assert (again.id, again.attempts, again.started_at) == (job_id, 2, T0)
    with pytest.raises(InvalidTransition, match="already expired"):
        store.renew(job_id, "w2", 60, now=T0 + timedelta(seconds=170))
    (gave_up,) = store.expire_leases(now=T0 + timedelta(seconds=170), max_attempts=2)
    assert gave_up.status is JobStatus.FAILED and gave_up.error.startswith("gave up after 2 attempts")
    assert store.expire_leases(now=T0 + timedelta(days=1)) == []


def test_renewed_lease_does_not_expire(store):
    ids = submit_many(store, 2)
    store.claim_next("w1", 60, now=T0)
    store.claim_next("w2", 60, now=T0)
    store.renew(ids[0], "w1", 60, now=T0 + timedelta(seconds=50))
    expired = store.expire_leases(now=T0 + timedelta(seconds=70))
    assert [job.id for job in expired] == [ids[1]]
    assert store.get(ids[0]).status is JobStatus.RUNNING


def test_naive_now_is_refused(store):
    submit_many(store, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.claim_next("w1", 60, now=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.expire_leases(now=datetime(2025, 1, 1))


def test_stale_version_does_not_overwrite(store):
    (job_id,) = submit_many(store, 1)
    job = store.get(job_id)
    assert store._write(job, transitions.claim(job, "w1", T0, 60))
    assert not store._write(job, transitions.claim(job, "w2", T0, 60))
    assert store.get(job_id).lease_owner == "w1"


# -- cancelling and releasing ------------------------------------------------------------------


def test_cancel_queued(store):
    (job_id,) = submit_many(store, 1)
    job = store.request_cancel(job_id, now=T0)
    assert (job.status, job.finished_at) == (JobStatus.CANCELLED, T0)
    assert store.claim_next("w1", 60) is None
    with pytest.raises(InvalidTransition, match=rf"job {job_id} \(cancelled\): cannot cancel"):
        store.request_cancel(job_id)


def test_cancel_running(store):
    (job_id,) = submit_many(store, 1)
    store.claim_next("w1", 60)
    job = store.request_cancel(job_id)
    assert job.status is JobStatus.RUNNING and job.cancel_requested
    assert store.get(job_id).cancel_requested
    with pytest.raises(InvalidTransition, match="held by 'w1'"):
        store.acknowledge_cancel(job_id, "w2")
    job = store.acknowledge_cancel(job_id, "w1", now=T0)
    assert (job.status, job.finished_at, job.lease_owner) == (JobStatus.CANCELLED, T0, None)
    assert store.get(job_id) == job


def test_cancel_of_a_lost_worker_ends_at_expiry(store):
    (job_id,) = submit_many(store, 1)
    store.claim_next("w1", 60, now=T0)
    store.request_cancel(job_id)
    (job,) = store.expire_leases(now=T0 + timedelta(minutes=5))
    assert job.status is JobStatus.CANCELLED


def test_release(store):
    ids = submit_many(store, 2)
    store.claim_next("w1", 60)
    job = store.release(ids[0], "w1")
    assert (job.status, job.attempts, job.lease_owner) == (JobStatus.QUEUED, 1, None)
    again = store.claim_next("w2", 60)
    assert (again.id, again.attempts) == (ids[0], 2)


# -- items -------------------------------------------------------------------------------------


def test_items_upsert(store):
    (job_id,) = submit_many(store, 1)
    assert store.items(job_id) == []
    store.record_items(job_id, [{"name": f"seq{i}", "status": "queued"} for i in (3, 1, 2)], now=T0)
    later = T0 + timedelta(seconds=5)
    store.record_items(job_id, [
        {"name": "seq1", "item": "ab12", "status": "done"},
        {"name": "seq2", "item": None, "status": "failed", "error": "unknown residue 'J' at 4"},
        {"name": "seq4", "item": "cd34", "status": "cached"},
    ], now=later)
    assert store.items(job_id) == [
        JobItem(job_id, "seq3", None, "queued", None, T0),
        JobItem(job_id, "seq1", "ab12", "done", None, later),
        JobItem(job_id, "seq2", None, "failed", "unknown residue 'J' at 4", later),
        JobItem(job_id, "seq4", "cd34", "cached", None, later),
    ]
    store.record_items(job_id, [])
    assert len(store.items(job_id)) == 4


def test_items_are_checked(store):
    (job_id,) = submit_many(store, 1)
    with pytest.raises(KeyError, match="no job"):
        store.record_items(uuid.uuid4().hex, [{"name": "a", "status": "done"}])
    with pytest.raises(ValueError, match="status must be one of"):
        store.record_items(job_id, [{"name": "a", "status": "finished"}])
    with pytest.raises(ValueError, match="without a name"):
        store.record_items(job_id, [{"status": "done"}])
    assert store.items(job_id) == []


@pytest.mark.parametrize(("field", "value", "shown"), [
    ("name", "batch\x00one", "U+0000 (NUL)"), ("owner", "ana\x1b[0m", "U+001B"), ("name", "two\nlines", "U+000A"),
])
def test_control_characters_in_names_and_owners_are_refused(store, field, value, shown):
    """A NUL cannot be stored on PostgreSQL: refused at submit with a clear error, on every database alike."""
    what = "job name" if field == "name" else "owner"
    expected = f"^{what} .* holds the control character {re.escape(shown)}; use printable text$"
    with pytest.raises(ValueError, match=expected):
        store.submit({}, {}, **{field: value})
    assert store.list_jobs() == []


def test_control_characters_from_records_are_stored_escaped(store):
    """2,002 items, one named with a NUL: every row is stored (on PostgreSQL too), the NUL written as an escape."""
    job = store.submit({"fasta": ">a\nMKV"}, {}, name="many")
    items = [{"name": f"seq{i}", "item": f"{i:04x}", "status": "done"} for i in range(2002)]
    items[1999] = {"name": "seq\x001999", "status": "failed", "error": "record 'seq\x001999':\tbad\x00header\n"}
    store.record_items(job.id, items)
    rows = store.items(job.id)
    assert len(rows) == 2002
    assert (rows[1999].name, rows[1999].error) == ("seq\\x001999", "record 'seq\\x001999':\tbad\\x00header\n")
    store.claim_next("w", 60)
    assert store.fail(job.id, "w", "ValueError: bad\x00byte").error == "ValueError: bad\\x00byte"


# -- SQLite specifics --------------------------------------------------------------------------


def test_sqlite_wal_and_busy_timeout(sqlite_store, tmp_path):
    with sqlite_store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    submit_many(sqlite_store, 1)
    assert (tmp_path / "jobs.sqlite-wal").exists()


def test_default_location(tmp_path, monkeypatch):
    home = tmp_path / "home" / ".workbench"
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    with JobStore() as store:
        job_id = store.submit({}, {}).id
    assert (home / "jobs.sqlite").is_file()
    with JobStore() as store:
        assert store.get(job_id).id == job_id


def test_nested_folder_is_created(tmp_path):
    path = tmp_path / "a" / "b" / "jobs.sqlite"
    with JobStore(URL.create("sqlite", database=str(path)).render_as_string()):
        pass
    assert path.is_file()


def test_repr_hides_password():
    store = JobStore("sqlite://")
    assert repr(store) == "JobStore('sqlite://')"
    assert "secret" not in repr(make_url("postgresql+psycopg://u:secret@h/db"))
    store.close()


# -- concurrency -------------------------------------------------------------------------------


def test_threads_share_one_store(store):
    ids = submit_many(store, 40)
    claimed: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def drain(worker: str) -> None:
        try:
            while (job := store.claim_next(worker, 60)) is not None:
                store.finish(job.id, worker, f"/out/{job.id}")
                with lock:
                    claimed.append(job.id)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=drain, args=(f"t{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(claimed) == sorted(ids)
    assert {job.status for job in store.list_jobs(limit=100)} == {JobStatus.DONE}


def _drain_in_process(url: str, worker: str, barrier, results) -> None:
    """Child process: claim and finish jobs until the queue is empty; send back the ids claimed."""
    try:
        with JobStore(url) as store:
            barrier.wait(timeout=60)
            claimed = []
            while (job := store.claim_next(worker, 60)) is not None:
                claimed.append(job.id)
                store.finish(job.id, worker, f"/out/{job.id}")
        results.put((worker, claimed, None))
    except BaseException as error:
        results.put((worker, [], repr(error)))


def test_processes_claim_each_job_exactly_once(store, store_url):
    n_jobs, n_processes = 40, 4
    ids = submit_many(store, n_jobs)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(n_processes)
    results = context.Queue()
    processes = [context.Process(target=_drain_in_process, args=(store_url, f"p{i}", barrier, results))
                 for i in range(n_processes)]
    for process in processes:
        process.start()
    try:
        reports = [results.get(timeout=90) for _ in processes]
    except queue.Empty:
        pytest.fail("a worker process did not report back")
    finally:
        for process in processes:
            process.join(timeout=30)
    assert [error for _, _, error in reports if error] == []
    counts = Counter(job_id for _, claimed, _ in reports for job_id in claimed)
    assert sorted(counts) == sorted(ids)
    assert set(counts.values()) == {1}, "a job was claimed twice"
    jobs = store.list_jobs(limit=n_jobs)
    assert all(job.status is JobStatus.DONE and job.attempts == 1 and job.version == 2 for job in jobs)
    assert all(job.result_path == f"/out/{job.id}" for job in jobs)


def _open_new_store(url: str, barrier, results) -> None:
    """Child process: wait for the others, open the store (creating its tables), submit one job, report back."""
    try:
        barrier.wait(timeout=120)
        with JobStore(url) as store:
            job_id = store.submit({}, {}, name="first open").id
        results.put((job_id, None))
    except BaseException as error:
        results.put((None, repr(error)))


def test_twenty_processes_create_a_new_store_at_once(store_url):
    """20 processes open the same new store at the same moment: every open succeeds and there is one schema.

    Before schema creation was serialised, up to 18 of 20 failed with "table jobs already exists".
    """
    n_processes = 20
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(n_processes)
    results = context.Queue()
    processes = [context.Process(target=_open_new_store, args=(store_url, barrier, results))
                 for _ in range(n_processes)]
    for process in processes:
        process.start()
    try:
        reports = [results.get(timeout=180) for _ in processes]
    except queue.Empty:
        pytest.fail("a process did not report back")
    finally:
        for process in processes:
            process.join(timeout=30)
    assert [error for _, error in reports if error] == []
    with JobStore(store_url) as store:
        assert sorted(job.id for job in store.list_jobs(limit=100)) == sorted(job_id for job_id, _ in reports)
        tables = set(inspect(store.engine).get_table_names())
    assert {"jobs", "job_items"} <= tables
