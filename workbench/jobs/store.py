"""The job store: jobs and their per-item rows in SQLite (embedded default) or PostgreSQL.

Every state change follows one pattern, which works on both databases without
row locks or ``SKIP LOCKED``: read the row, apply a pure transition from
:mod:`workbench.jobs.transitions`, then ``UPDATE jobs ... WHERE id = :id AND
version = :old_version``. An update that matches no row means another worker
changed the job meanwhile; the store reads it again and retries (or, in
:meth:`JobStore.claim_next`, moves on to the next queued job). Two dispatchers
in two processes therefore never both claim one job.

Examples
--------
>>> store = JobStore("sqlite://")  # in memory, for examples; the default is $WORKBENCH_HOME/jobs.sqlite
>>> job = store.submit({"fasta": "<FASTA text>"}, {"predictor": "esmfold"}, name="demo")
>>> claimed = store.claim_next("worker-1", lease_seconds=60)
>>> claimed.id == job.id, claimed.status
(True, <JobStatus.RUNNING: 'running'>)
>>> store.finish(job.id, "worker-1", "/results/demo").status
<JobStatus.DONE: 'done'>
>>> store.claim_next("worker-1", lease_seconds=60) is None
True
>>> store.close()
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from workbench import config
from workbench._text import control_character, escape_control_characters
from workbench.config import workbench_home
from workbench.jobs import transitions
from workbench.jobs.model import ITEM_STATUSES, Job, JobItem, JobStatus, is_job_id

__all__ = ["JobStore", "default_url"]

#: Milliseconds a SQLite connection waits for another writer's lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Concurrent changes to one job tolerated before an update gives up.
_MAX_CONFLICTS = 100
#: Queued jobs read at once by :meth:`JobStore.claim_next`.
_CLAIM_CANDIDATES = 16
#: Tries at creating the tables of a new store before its error is raised.
_SCHEMA_ATTEMPTS = 5
#: PostgreSQL advisory lock held while the tables are created (any fixed 64-bit number: "wbschema").
_SCHEMA_LOCK_KEY = 0x7762736368656D61

metadata = MetaData()

jobs_table = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("name", Text, nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("parameters", JSON, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("progress", JSON, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("lease_owner", String(200)),
    Column("lease_expires", DateTime(timezone=True)),
    Column("cancel_requested", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("result_path", Text),
    Column("error", Text),
    Column("version", Integer, nullable=False),
    Index("ix_jobs_owner_created", "owner", "created_at"),
)

job_items_table = Table(
    "job_items",
    metadata,
    # The surrogate key only keeps items in the order they were first recorded.
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(32), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("item", Text),
    Column("status", String(16), nullable=False),
    Column("error", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("job_id", "name", name="uq_job_items_job_name"),
)

_JOB_COLUMNS = [column.name for column in jobs_table.columns]


def default_url() -> str:
    """``$WORKBENCH_STORE_URL`` when set, else the embedded store: ``$WORKBENCH_HOME/jobs.sqlite``."""
    from_environment = config.store_url()
    if from_environment:
        return from_environment
    return URL.create("sqlite", database=str(workbench_home() / "jobs.sqlite")).render_as_string()


def _now(now: datetime | None = None) -> datetime:
    """``now`` in UTC (it must be timezone-aware), or the current time."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be a timezone-aware datetime, got naive {now.isoformat()}")
    return now.astimezone(UTC)


def _utc(value: datetime | None) -> datetime | None:
    """Timezone-aware UTC; SQLite hands back naive datetimes, which the store always writes in UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _free_text(value: Any) -> Any:
    """A text the store records from elsewhere, with control characters other than whitespace escaped."""
    return escape_control_characters(value, keep_whitespace=True) if isinstance(value, str) else value


def _check_json(what: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be a dict, got {type(value).__name__}")
    try:
        json.dumps(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} must be JSON-serialisable: {error}") from None
    return value


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:")
    if not in_memory:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        # One shared connection, or every checkout would see its own empty in-memory database.
        poolclass=StaticPool if in_memory else None,
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _create_schema(engine: Engine) -> None:
    """Create the tables that are missing, safely when many processes open a new store at once.

    The check for each table and its creation are one transaction that holds
    the database's schema lock: ``BEGIN IMMEDIATE`` on SQLite (other writers
    wait, up to the busy timeout), a transaction-scoped advisory lock on
    PostgreSQL (whose DDL is transactional). The first process creates the
    tables; the others then find them. Other databases get a retry: a
    creation that fails because another process made the table first is
    checked and accepted. A store whose tables all exist is only read (it may
    be read-only, and opening it takes no write lock).
    """
    if set(metadata.tables) <= set(inspect(engine).get_table_names()):
        return
    for attempt in range(_SCHEMA_ATTEMPTS):
        try:
            with engine.connect() as connection:
                if engine.dialect.name == "sqlite":
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                elif engine.dialect.name == "postgresql":
                    connection.execute(select(func.pg_advisory_xact_lock(_SCHEMA_LOCK_KEY)))
                metadata.create_all(connection, checkfirst=True)
                connection.commit()
            return
        except SQLAlchemyError:
            if attempt + 1 == _SCHEMA_ATTEMPTS:
                raise
            missing = set(metadata.tables) - set(inspect(engine).get_table_names())
            if not missing:
                return  # another process created them meanwhile
            time.sleep(0.05 * (attempt + 1))


def _to_job(row: Any) -> Job:
    values = dict(row._mapping)
    for key in ("lease_expires", "created_at", "started_at", "finished_at"):
        values[key] = _utc(values[key])
    values["cancel_requested"] = bool(values["cancel_requested"])
    return Job(**values)


def _to_row(job: Job) -> dict[str, Any]:
    values = {name: getattr(job, name) for name in _JOB_COLUMNS}
    values["status"] = job.status.value
    for key in ("lease_expires", "created_at", "started_at", "finished_at"):
        values[key] = _utc(values[key])
    return values


class JobStore:
    """Jobs in a SQL database: SQLite by default, PostgreSQL for a lab.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL, e.g. ``"sqlite:////data/jobs.sqlite"`` or
        ``"postgresql+psycopg://user:password@host/db"``. Default :func:`default_url`.
        A SQLite file's folder is created; SQLite runs in WAL mode with a busy
        timeout, and one store may be shared by threads. ``"sqlite://"`` (in
        memory, one shared connection) is for examples and tests.

    Notes
    -----
    Tables are created when missing, in one locked transaction, so that
    processes opening a new store at once all succeed. All datetimes in and out are
    timezone-aware UTC; methods that act on time take an optional ``now``
    (default: the current time) so tests and replays can set the clock.
    A malformed job id raises :class:`ValueError` before any query runs; an
    unknown one raises :class:`KeyError`. Refused transitions raise
    :class:`~workbench.jobs.transitions.InvalidTransition`.
    """

    def __init__(self, url: str | None = None):
        url = url or default_url()
        try:
            self.engine = _make_engine(url)
            _create_schema(self.engine)
        except SQLAlchemyError as exc:
            # A wrong URL or a file that is not a database: say so in one line, without the password.
            shown = make_url(url).render_as_string(hide_password=True) if "://" in url else url
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise ValueError(f"cannot open the job store {shown}: {reason}") from None

    @property
    def url(self) -> URL:
        """The database URL (its ``repr`` hides the password)."""
        return self.engine.url

    def __repr__(self) -> str:
        return f"JobStore({self.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        """The job ``job_id``.

        Raises
        ------
        ValueError
            ``job_id`` is not 32 lowercase hex digits.
        KeyError
            No such job.
        """
        if not is_job_id(job_id):
            raise ValueError(f"not a job id (32 lowercase hex digits): {job_id!r}")
        with self.engine.connect() as connection:
            row = connection.execute(select(jobs_table).where(jobs_table.c.id == job_id)).first()
        if row is None:
            raise KeyError(f"no job {job_id}")
        return _to_job(row)

    def list_jobs(self, *, owner: str | None = None, status: JobStatus | str | None = None,
                  limit: int = 100) -> list[Job]:
        """Jobs, newest first, optionally of one ``owner`` and one ``status``; at most ``limit``."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit!r}")
        query = select(jobs_table)
        if owner is not None:
            query = query.where(jobs_table.c.owner == owner)
        if status is not None:
            if status not in {s.value for s in JobStatus}:
                raise ValueError(f"unknown job status {status!r}; one of {', '.join(s.value for s in JobStatus)}")
            query = query.where(jobs_table.c.status == JobStatus(status).value)
        query = query.order_by(jobs_table.c.created_at.desc(), jobs_table.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [_to_job(row) for row in connection.execute(query)]

    # -- writing ---------------------------------------------------------------------------------

    def submit(self, inputs: dict[str, Any], parameters: dict[str, Any], *, owner: str = "local",
               name: str = "") -> Job:
        """Queue a new job.

        Parameters
        ----------
        inputs, parameters : dict
            JSON-serialisable inputs (``{"fasta": ..., "template": ...}``) and run options.
        owner : str
            Who submits it.
        name : str
            A label for people.

        Returns
        -------
        Job
            The queued job, ``version`` 0.

        Raises
        ------
        ValueError
            An empty owner, an owner or name holding a control character (NUL
            cannot be stored on PostgreSQL), or inputs that are not JSON.
        """
        if not isinstance(owner, str) or not owner:
            raise ValueError(f"owner must be a non-empty string, got {owner!r}")
        for what, text in (("owner", owner), ("job name", str(name))):
            control = control_character(text)
            if control is not None:
                raise ValueError(f"{what} {text!r} holds the control character {control}; use printable text")
        job = Job(
            id=uuid.uuid4().hex, owner=owner, name=str(name),
            inputs=_check_json("inputs", inputs), parameters=_check_json("parameters", parameters),
            status=JobStatus.QUEUED, progress={}, attempts=0, lease_owner=None, lease_expires=None,
            cancel_requested=False, created_at=_now(), started_at=None, finished_at=None,
            result_path=None, error=None, version=0,
        )
        with self.engine.begin() as connection:
            connection.execute(insert(jobs_table).values(**_to_row(job)))
        return job

    def _write(self, old: Job, new: Job) -> bool:
        """Store ``new`` if the row still has ``old``'s version; False when someone changed it first."""
        guard = (jobs_table.c.id == old.id) & (jobs_table.c.version == old.version)
        with self.engine.begin() as connection:
            result = connection.execute(update(jobs_table).where(guard).values(**_to_row(new)))
        return result.rowcount == 1

    def _apply(self, job_id: str, transition: Callable[[Job], Job]) -> Job:
        """Read, transform, write if unchanged; on a conflict read again and retry."""
        for _ in range(_MAX_CONFLICTS):
            job = self.get(job_id)
            new = transition(job)
            if self._write(job, new):
                return new
        raise RuntimeError(f"job {job_id}: gave up after {_MAX_CONFLICTS} conflicting concurrent updates")

    def claim_next(self, worker: str, lease_seconds: float, *, now: datetime | None = None) -> Job | None:
        """Claim the oldest queued job for ``worker``, or None when the queue is empty.

        Safe between threads and processes: a job lost to another worker is
        skipped and the next one tried.
        """
        while True:
            query = (
                select(jobs_table)
                .where((jobs_table.c.status == JobStatus.QUEUED.value) & ~jobs_table.c.cancel_requested)
                .order_by(jobs_table.c.created_at, jobs_table.c.id)
                .limit(_CLAIM_CANDIDATES)
            )
            with self.engine.connect() as connection:
                candidates = [_to_job(row) for row in connection.execute(query)]
            if not candidates:
                return None
            for job in candidates:
                try:
                    new = transitions.claim(job, worker, _now(now), lease_seconds)
                except transitions.InvalidTransition:
                    continue
                if self._write(job, new):
                    return new

    def renew(self, job_id: str, worker: str, lease_seconds: float, *, now: datetime | None = None) -> Job:
        """Extend ``worker``'s lease on a running job (see :func:`~workbench.jobs.transitions.renew`)."""
        return self._apply(job_id, lambda job: transitions.renew(job, worker, _now(now), lease_seconds))

    def report_progress(self, job_id: str, worker: str, progress: dict[str, Any]) -> Job:
        """Replace the progress counters of ``worker``'s running job."""
        _check_json("progress", progress)
        return self._apply(job_id, lambda job: transitions.report_progress(job, worker, progress))

    def finish(self, job_id: str, worker: str, result_path: str | os.PathLike[str], *,
               now: datetime | None = None) -> Job:
        """Mark ``worker``'s running job done, with its results at ``result_path``."""
        return self._apply(job_id, lambda job: transitions.finish(job, worker, _now(now),
                                                                  os.fspath(result_path)))

    def fail(self, job_id: str, worker: str, error: str, *, now: datetime | None = None) -> Job:
        """Mark ``worker``'s running job failed, with the reason ``error``."""
        error = _free_text(error) or ""
        return self._apply(job_id, lambda job: transitions.fail(job, worker, _now(now), error))

    def request_cancel(self, job_id: str, *, now: datetime | None = None) -> Job:
        """Cancel a queued job at once, or ask the dispatcher to stop a running one."""
        return self._apply(job_id, lambda job: transitions.request_cancel(job, _now(now)))

    def acknowledge_cancel(self, job_id: str, worker: str, *, now: datetime | None = None) -> Job:
        """``worker`` has stopped its running job after a cancel request: mark it cancelled."""
        return self._apply(job_id, lambda job: transitions.acknowledge_cancel(job, worker, _now(now)))

    def release(self, job_id: str, worker: str, *, now: datetime | None = None) -> Job:
        """``worker`` hands its running job back to the queue (cancelled instead, if a cancel is pending)."""
        return self._apply(job_id, lambda job: transitions.release(job, worker, _now(now)))

    def expire_leases(self, now: datetime | None = None, max_attempts: int = 3) -> list[Job]:
        """Take back every running job whose lease expired by ``now``.

        Each goes back to the queue, or to ``failed`` once ``max_attempts`` claims
        were used, or to ``cancelled`` if a cancel was pending (see
        :func:`~workbench.jobs.transitions.expire`). A job renewed, finished or
        expired by someone else meanwhile is left alone.

        Returns
        -------
        list of Job
            The jobs this call changed.
        """
        now = _now(now)
        query = select(jobs_table.c.id).where(
            (jobs_table.c.status == JobStatus.RUNNING.value) & (jobs_table.c.lease_expires <= now)
        ).order_by(jobs_table.c.lease_expires)
        with self.engine.connect() as connection:
            job_ids = list(connection.scalars(query))
        expired = []
        for job_id in job_ids:
            try:
                expired.append(self._apply(job_id, lambda job: transitions.expire(job, now, max_attempts)))
            except transitions.InvalidTransition:
                continue
        return expired

    # -- items -----------------------------------------------------------------------------------

    def record_items(self, job_id: str, items: Iterable[dict[str, Any]], *, now: datetime | None = None) -> None:
        """Insert or update per-item rows of a job.

        Parameters
        ----------
        job_id : str
        items : iterable of dict
            Each with ``name`` (record name, unique in the job) and ``status``
            (queued, running, done, failed or cached), and optionally ``item``
            (content key) and ``error``. A row with the same name is replaced.
            Control characters in these texts (a NUL that PostgreSQL cannot
            store) are written as escapes (backslash, x, two hex digits), so
            one odd record name never fails the job.
        now : datetime, optional
            ``updated_at`` of the rows; default the current time.

        Raises
        ------
        KeyError
            No such job.
        ValueError
            An item without a name or with an unknown status.
        """
        self.get(job_id)
        stamp = _now(now)
        rows = []
        for entry in items:
            name, status = entry.get("name"), entry.get("status")
            if not isinstance(name, str) or not name:
                raise ValueError(f"job {job_id}: item without a name: {entry!r}")
            if status not in ITEM_STATUSES:
                raise ValueError(f"job {job_id}, item {name!r}: status must be one of "
                                 f"{sorted(ITEM_STATUSES)}, got {status!r}")
            rows.append({"job_id": job_id, "name": escape_control_characters(name),
                         "item": _free_text(entry.get("item")), "status": status,
                         "error": _free_text(entry.get("error")), "updated_at": stamp})
        if not rows:
            return
        if self.engine.dialect.name == "postgresql":  # each dialect's module only when used (a fifth of a second)
            from sqlalchemy.dialects.postgresql import insert as postgresql_insert

            upsert: Callable[..., Any] = postgresql_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            upsert = sqlite_insert
        statement = upsert(job_items_table)
        statement = statement.on_conflict_do_update(
            index_elements=["job_id", "name"],
            set_={key: statement.excluded[key] for key in ("item", "status", "error", "updated_at")},
        )
        with self.engine.begin() as connection:
            connection.execute(statement, rows)

    def items(self, job_id: str) -> list[JobItem]:
        """The per-item rows of a job, in the order they were first recorded (empty if none).

        Raises
        ------
        KeyError
            No such job.
        """
        self.get(job_id)
        columns = [job_items_table.c[name] for name in ("job_id", "name", "item", "status", "error", "updated_at")]
        query = select(*columns).where(job_items_table.c.job_id == job_id).order_by(job_items_table.c.seq)
        with self.engine.connect() as connection:
            return [JobItem(**{**row._mapping, "updated_at": _utc(row.updated_at)})
                    for row in connection.execute(query)]
