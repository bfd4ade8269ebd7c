"""The job store rides out database outages: a PostgreSQL restart, a locked SQLite file; leases on the database's clock.

The PostgreSQL outage is real: a private server (tests/postgres_server.py) is
stopped under an open store and started again once the store has logged that
it is waiting. Nothing here waits for a fixed time or asserts a duration:
each step waits for the event it needs (a log line, a lock released).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from tests.postgres_server import private_postgres
from workbench.jobs import JobStatus, JobStore
from workbench.jobs.retry import Backoff, StoreUnavailable, is_transient
from workbench.jobs.store import _database_now


class _Waiting(logging.Handler):
    """Sets ``retrying`` when the store logs that it will try again, and keeps every message."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.retrying = threading.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.messages.append(message)
        if "trying again" in message:
            self.retrying.set()


@pytest.fixture
def waiting() -> Iterator[_Waiting]:
    handler = _Waiting()
    logger = logging.getLogger("workbench.jobs")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _in_thread(action) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = action()
        except BaseException as error:  # reported by the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_store_rides_out_a_postgresql_restart(waiting):
    with private_postgres() as server, JobStore(server.url) as store:
        job = store.submit({"fasta": ">a\nMKV"}, {}, name="before the outage")
        store.claim_next("w1", 600)
        server.stop()  # closes the pooled connection too: the store must notice and reconnect
        try:
            thread, outcome = _in_thread(lambda: store.report_progress(job.id, "w1", {"total": 1, "done": 1}))
            assert waiting.retrying.wait(120), "the store never said it was waiting for the database"
        finally:
            server.start()
        thread.join(120)
        assert "error" not in outcome, outcome.get("error")
        assert outcome["value"].progress == {"total": 1, "done": 1}
        done = store.finish(job.id, "w1", "/results/x")
        assert store.get(job.id) == done and done.status is JobStatus.DONE
    assert any("the database answers again" in message for message in waiting.messages)
    assert all("\n" not in message for message in waiting.messages)


def _sqlite_url(tmp_path) -> str:
    return URL.create("sqlite", database=str(tmp_path / "jobs.sqlite")).render_as_string()


def test_a_locked_sqlite_store_is_tried_again(tmp_path, waiting):
    """Another process holds the write lock past the busy timeout: the submit waits and goes through."""
    url = _sqlite_url(tmp_path)
    with JobStore(url, busy_timeout=0.05) as store:
        holder = sqlite3.connect(tmp_path / "jobs.sqlite", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            thread, outcome = _in_thread(lambda: store.submit({"fasta": ">a\nMKV"}, {}, name="while locked"))
            assert waiting.retrying.wait(120), "the store never said it was waiting for the lock"
            assert store.list_jobs() == []  # a reader is not blocked in WAL mode, and nothing is there yet
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        thread.join(120)
        assert "error" not in outcome, outcome.get("error")
        assert [job.name for job in store.list_jobs()] == ["while locked"]
    assert any("database is locked" in message for message in waiting.messages)


def test_an_outage_longer_than_the_caller_waits_is_one_line(tmp_path):
    url = _sqlite_url(tmp_path)
    with JobStore(url, busy_timeout=0.01, retry=Backoff(first=0.01, give_up_after=0.0)) as store:
        holder = sqlite3.connect(tmp_path / "jobs.sqlite", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(StoreUnavailable) as caught:
                store.submit({}, {}, name="never")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    message = str(caught.value)
    assert "\n" not in message and "jobs.sqlite" in message and "submitting job" in message
    assert message.endswith("database is locked")


def test_a_stopping_dispatcher_stops_waiting(tmp_path):
    """``interrupt`` set: the first transient error is raised at once, whatever ``give_up_after`` says."""
    stop = threading.Event()
    stop.set()
    with JobStore(_sqlite_url(tmp_path), busy_timeout=0.01, retry=Backoff(give_up_after=None, interrupt=stop)) as store:
        holder = sqlite3.connect(tmp_path / "jobs.sqlite", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(StoreUnavailable, match="stopping"):
                store.submit({}, {})
        finally:
            holder.execute("ROLLBACK")
            holder.close()


def test_errors_that_would_repeat_are_raised_at_once(tmp_path, waiting):
    with JobStore(_sqlite_url(tmp_path)) as store:
        job = store.submit({}, {})
        with store.engine.begin() as connection:
            connection.execute(text("DROP TABLE job_items"))
        with pytest.raises(OperationalError, match="no such table"):
            store.items(job.id)
    assert waiting.messages == []


@pytest.mark.parametrize(("message", "transient"), [
    ("database is locked", True), ("disk I/O error", True), ("database or disk is full", True),
    ("unable to open database file", True), ("no such table: jobs", False),
    ("attempt to write a readonly database", False),
])
def test_sqlite_errors_are_sorted(message, transient):
    error = OperationalError("UPDATE jobs ...", {}, sqlite3.OperationalError(message))
    assert is_transient(error) is transient


def test_server_errors_are_sorted():
    import psycopg

    refused = psycopg.OperationalError('connection to server at "db" failed: Connection refused')
    assert is_transient(OperationalError("SELECT 1", {}, refused))
    wrong = psycopg.OperationalError('FATAL:  password authentication failed for user "workbench"')
    assert not is_transient(OperationalError("SELECT 1", {}, wrong))
    none = psycopg.OperationalError('connection to server at "127.0.0.1", port 5432 failed: fe_sendauth: '
                                    'no password supplied')  # a URL without one and no .pgpass entry
    assert not is_transient(OperationalError("SELECT 1", {}, none))
    missing = psycopg.OperationalError('FATAL:  database "labjobs" does not exist')
    assert not is_transient(OperationalError("SELECT 1", {}, missing))
    assert not is_transient(ValueError("database is locked"))


def test_leases_run_on_the_database_clock(store):
    """claim_next without ``now`` takes the database's time: a lease starts between two readings of that clock."""
    store.submit({}, {})
    with store.engine.connect() as connection:
        before = _database_now(connection)
    job = store.claim_next("w1", 60)
    with store.engine.connect() as connection:
        after = _database_now(connection)
    assert before + timedelta(seconds=60) <= job.lease_expires <= after + timedelta(seconds=60)
    assert before <= job.started_at <= after
    assert store.expire_leases() == []
    (expired,) = store.expire_leases(now=job.lease_expires)
    assert expired.status is JobStatus.QUEUED


def test_a_full_sqlite_database_is_tried_again(tmp_path, waiting):
    """SQLite's own size limit (``max_page_count``) makes the disk full for a moment; the submit waits it out."""
    with JobStore(_sqlite_url(tmp_path)) as store:
        store.submit({}, {}, name="before")
        full = {"pages": None}

        def limit(dbapi_connection, _record) -> None:
            if full["pages"] is not None:
                dbapi_connection.execute(f"PRAGMA max_page_count = {full['pages']}")

        event.listen(store.engine, "connect", limit)
        with store.engine.connect() as connection:
            full["pages"] = connection.exec_driver_sql("PRAGMA page_count").scalar_one()
        store.engine.dispose()  # new connections only: every one of them now sees a full database
        thread, outcome = _in_thread(lambda: store.submit({"fasta": ">big\n" + "MKV" * 100_000}, {}, name="big"))
        try:
            assert waiting.retrying.wait(120), "the store never said it was waiting for space"
        finally:
            full["pages"] = None  # space again
            store.engine.dispose()
        thread.join(120)
        assert "error" not in outcome, outcome.get("error")
        assert [job.name for job in store.list_jobs()] == ["big", "before"]
    assert any("database or disk is full" in message for message in waiting.messages)
