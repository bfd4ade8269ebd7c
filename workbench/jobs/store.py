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

import copy
import hashlib
import json
import logging
import os
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, func, insert, literal_column, select, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from workbench import config
from workbench._text import control_character, escape_control_characters
from workbench.config import workbench_home
from workbench.jobs import transitions
from workbench.jobs.engine import SQLITE_BUSY_TIMEOUT, NetworkFileSystemWarning, make_engine
from workbench.jobs.migrate import SchemaError, ensure_schema
from workbench.jobs.model import ITEM_STATUSES, ApiToken, Job, JobItem, JobStatus, is_job_id
from workbench.jobs.retry import Backoff, StoreUnavailable, reason
from workbench.jobs.tables import api_tokens_table, job_items_table, jobs_table, metadata

__all__ = ["JobStore", "NetworkFileSystemWarning", "StoreUnavailable", "default_url", "metadata"]

log = logging.getLogger("workbench.jobs")

T = TypeVar("T")

#: Concurrent changes to one job tolerated before an update gives up.
_MAX_CONFLICTS = 100
#: Queued jobs read at once by :meth:`JobStore.claim_next`.
_CLAIM_CANDIDATES = 16

_JOB_COLUMNS = [column.name for column in jobs_table.columns]
#: Every token starts with this, so a leaked one is recognisable (secret scanners, logs).
TOKEN_PREFIX = "wbt_"
#: ``last_used_at`` is written at most this often per token, so reading the API is not a write per request.
_TOKEN_TOUCH = timedelta(minutes=1)


def token_digest(secret: str) -> str:
    """The SHA-256 (hex) under which a token's secret is stored."""
    return hashlib.sha256(secret.encode("utf-8", errors="replace")).hexdigest()


def _check_owner(owner: object) -> str:
    if not isinstance(owner, str) or not owner:
        raise ValueError(f"owner must be a non-empty string, got {owner!r}")
    control = control_character(owner)
    if control is not None:
        raise ValueError(f"owner {owner!r} holds the control character {control}; use printable text")
    return owner


def default_url() -> str:
    """``$WORKBENCH_STORE_URL`` when set, else the embedded store: ``$WORKBENCH_HOME/jobs.sqlite``."""
    from_environment = config.store_url()
    if from_environment:
        return from_environment
    return URL.create("sqlite", database=str(workbench_home() / "jobs.sqlite")).render_as_string()


def _now(now: datetime | None) -> datetime:
    """``now`` in UTC; it must be timezone-aware."""
    if now is None or now.tzinfo is None or now.utcoffset() is None:
        shown = "None" if now is None else f"naive {now.isoformat()}"
        raise ValueError(f"now must be a timezone-aware datetime, got {shown}")
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


def _database_now(connection: Connection) -> datetime:
    """The database's clock, in UTC: every host that shares the store measures leases against one clock."""
    if connection.dialect.name == "sqlite":
        # SQLite has no server: its clock is this machine's (to the millisecond).
        text = connection.execute(select(func.strftime("%Y-%m-%d %H:%M:%f", "now"))).scalar_one()
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    value: Any = connection.execute(select(literal_column("CURRENT_TIMESTAMP"))).scalar_one()
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    stamp = _utc(value)
    assert stamp is not None
    return stamp


def _to_job(row: Any) -> Job:
    values: dict[str, Any] = {"inputs": {}} | dict(row._mapping)  # a listing may leave the inputs out
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
    upgrade : bool
        Migrate a store whose schema is older than this workbench's (what
        ``workbench serve`` does). Without it such a store is refused with a
        one-line :class:`~workbench.jobs.migrate.SchemaError` saying to run
        ``workbench store upgrade``. A new, empty database always gets the newest schema.
    retry : Backoff, optional
        How operations ride out a database outage (default: up to 30 s, then
        :class:`~workbench.jobs.retry.StoreUnavailable`).
    busy_timeout : float
        Seconds a SQLite connection waits for another process's write lock
        before the operation counts as failed (and is tried again by ``retry``).

    Notes
    -----
    The schema is versioned (:mod:`workbench.jobs.migrate`); creating or
    upgrading it is one locked transaction, so processes opening a new store at
    once all succeed. A store upgraded by a newer workbench is refused, saying
    to upgrade the workbench. Every database call is one transaction, tried
    again after a transient error (a server restart, a dropped connection,
    SQLite's "database is locked" or "database or disk is full") with
    exponentially growing pauses and a log line each; pooled PostgreSQL
    connections are checked before use. All datetimes in and out are
    timezone-aware UTC; methods that act on time take an optional ``now``
    (default: the database's clock, so dispatchers on hosts whose clocks
    disagree still agree on leases) so tests and replays can set the clock.
    A malformed job id raises :class:`ValueError` before any query runs; an
    unknown one raises :class:`KeyError`. Refused transitions raise
    :class:`~workbench.jobs.transitions.InvalidTransition`. A SQLite file on a
    network file system gets one :class:`NetworkFileSystemWarning`.
    """

    def __init__(self, url: str | None = None, *, upgrade: bool = False, retry: Backoff | None = None,
                 busy_timeout: float = SQLITE_BUSY_TIMEOUT):
        url = url or default_url()
        shown = make_url(url).render_as_string(hide_password=True) if "://" in url else url
        self.retry = retry if retry is not None else Backoff(give_up_after=30.0)
        self._lock = threading.Lock()
        try:
            self.engine = make_engine(url, busy_timeout)
            where = f"job store {shown}"
            self.schema = self.retry.call(lambda: ensure_schema(self.engine, allow_upgrade=upgrade, where=where),
                                          f"{where}: opening")
        except (SchemaError, StoreUnavailable):
            raise
        except SQLAlchemyError as exc:
            # A wrong URL or a file that is not a database: say so in one line, without the password.
            raise ValueError(f"cannot open the job store {shown}: {reason(exc)}") from None

    @property
    def url(self) -> URL:
        """The database URL (its ``repr`` hides the password)."""
        return self.engine.url

    def __repr__(self) -> str:
        return f"JobStore({self.url.render_as_string(hide_password=True)!r})"

    def with_retry(self, retry: Backoff) -> JobStore:
        """The same store (engine, connection pool) with another :class:`Backoff`.

        For calls that must not wait out an outage (a progress report that the
        next one supersedes): ``store.with_retry(Backoff(give_up_after=0))``.
        Close only the original.
        """
        other = copy.copy(self)
        other.retry = retry
        return other

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- one transaction, tried again after a transient error ----------------------------------------

    def _run(self, what: str, work: Callable[[Connection], T], *, write: bool = False) -> T:
        """``work(connection)`` in one transaction (committed when ``write``), under :attr:`retry`."""
        def attempt() -> T:
            if write:
                with self.engine.begin() as connection:
                    return work(connection)
            with self.engine.connect() as connection:
                return work(connection)
        return self.retry.call(attempt, f"job store {self.url.render_as_string(hide_password=True)}: {what}")

    def _clock(self, now: datetime | None) -> datetime:
        """``now`` (checked, in UTC), or the database's current time."""
        if now is not None:
            return _now(now)
        return self._run("reading the clock", _database_now)

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
        row = self._run(f"reading job {job_id}", lambda connection: connection.execute(
            select(jobs_table).where(jobs_table.c.id == job_id)).first())
        if row is None:
            raise KeyError(f"no job {job_id}")
        return _to_job(row)

    def list_jobs(self, *, owner: str | None = None, status: JobStatus | str | None = None,
                  limit: int = 100, inputs: bool = True) -> list[Job]:
        """Jobs, newest first, optionally of one ``owner`` and one ``status``; at most ``limit``.

        With ``inputs=False`` the jobs' inputs (a FASTA may be megabytes) are
        not read from the database and each job's ``inputs`` is empty: what a
        page listing jobs every few seconds wants.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit!r}")
        query = select(*(c for c in jobs_table.c if inputs or c.name != "inputs"))
        if owner is not None:
            query = query.where(jobs_table.c.owner == owner)
        if status is not None:
            if status not in {s.value for s in JobStatus}:
                raise ValueError(f"unknown job status {status!r}; one of {', '.join(s.value for s in JobStatus)}")
            query = query.where(jobs_table.c.status == JobStatus(status).value)
        # Jobs submitted within one tick of the database clock (SQLite's is a millisecond) tie on created_at:
        # SQLite's rowid keeps them in submission order; PostgreSQL's clock has microseconds.
        tie = literal_column("rowid").desc() if self.engine.dialect.name == "sqlite" else jobs_table.c.id.desc()
        query = query.order_by(jobs_table.c.created_at.desc(), tie).limit(limit)
        return self._run("listing jobs", lambda connection: [_to_job(row) for row in connection.execute(query)])

    def cancel_requested(self, job_ids: Iterable[str]) -> set[str]:
        """Those of ``job_ids`` whose cancel was requested: one cheap query, for a dispatcher to ask often."""
        wanted = [job_id for job_id in job_ids if is_job_id(job_id)]
        if not wanted:
            return set()
        query = select(jobs_table.c.id).where(jobs_table.c.id.in_(wanted) & jobs_table.c.cancel_requested)
        return self._run("reading cancel requests", lambda connection: set(connection.scalars(query)))

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
        _check_owner(owner)
        control = control_character(str(name))
        if control is not None:
            raise ValueError(f"job name {str(name)!r} holds the control character {control}; use printable text")
        _check_json("inputs", inputs)
        _check_json("parameters", parameters)
        job_id = uuid.uuid4().hex
        tries = 0

        def insert_job(connection: Connection) -> Job:
            nonlocal tries
            tries += 1
            if tries > 1:  # tried again after an error: the first insert may have committed before it was lost
                row = connection.execute(select(jobs_table).where(jobs_table.c.id == job_id)).first()
                if row is not None:
                    return _to_job(row)
            job = Job(
                id=job_id, owner=owner, name=str(name), inputs=inputs, parameters=parameters,
                status=JobStatus.QUEUED, progress={}, attempts=0, lease_owner=None, lease_expires=None,
                cancel_requested=False, created_at=_database_now(connection), started_at=None, finished_at=None,
                result_path=None, error=None, version=0,
            )
            connection.execute(insert(jobs_table).values(**_to_row(job)))
            return job

        return self._run(f"submitting job {job_id}", insert_job, write=True)

    def _write(self, old: Job, new: Job) -> bool:
        """Store ``new`` if the row still has ``old``'s version; False when someone changed it first.

        A write tried again after a dropped connection may find its own first
        try committed: a row equal to ``new`` counts as written.
        """
        guard = (jobs_table.c.id == old.id) & (jobs_table.c.version == old.version)

        def write(connection: Connection) -> bool:
            if connection.execute(update(jobs_table).where(guard).values(**_to_row(new))).rowcount == 1:
                return True
            row = connection.execute(select(jobs_table).where(jobs_table.c.id == new.id)).first()
            return row is not None and _to_job(row) == new

        return self._run(f"updating job {old.id}", write, write=True)

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
        skipped and the next one tried. The lease runs from the database's
        clock unless ``now`` is given.
        """
        if now is not None:
            _now(now)
        query = (
            select(jobs_table)
            .where((jobs_table.c.status == JobStatus.QUEUED.value) & ~jobs_table.c.cancel_requested)
            .order_by(jobs_table.c.created_at, jobs_table.c.id)
            .limit(_CLAIM_CANDIDATES)
        )
        while True:
            candidates = self._run("reading the queue",
                                   lambda connection: [_to_job(row) for row in connection.execute(query)])
            if not candidates:
                return None
            for job in candidates:
                try:
                    new = transitions.claim(job, worker, self._clock(now), lease_seconds)
                except transitions.InvalidTransition:
                    continue
                if self._write(job, new):
                    return new

    def renew(self, job_id: str, worker: str, lease_seconds: float, *, now: datetime | None = None) -> Job:
        """Extend ``worker``'s lease on a running job (see :func:`~workbench.jobs.transitions.renew`)."""
        return self._apply(job_id, lambda job: transitions.renew(job, worker, self._clock(now), lease_seconds))

    def report_progress(self, job_id: str, worker: str, progress: dict[str, Any]) -> Job:
        """Replace the progress counters of ``worker``'s running job."""
        _check_json("progress", progress)
        return self._apply(job_id, lambda job: transitions.report_progress(job, worker, progress))

    def finish(self, job_id: str, worker: str, result_path: str | os.PathLike[str], *,
               now: datetime | None = None) -> Job:
        """Mark ``worker``'s running job done, with its results at ``result_path``."""
        return self._apply(job_id, lambda job: transitions.finish(job, worker, self._clock(now),
                                                                  os.fspath(result_path)))

    def fail(self, job_id: str, worker: str, error: str, *, now: datetime | None = None) -> Job:
        """Mark ``worker``'s running job failed, with the reason ``error``."""
        error = _free_text(error) or ""
        return self._apply(job_id, lambda job: transitions.fail(job, worker, self._clock(now), error))

    def request_cancel(self, job_id: str, *, now: datetime | None = None) -> Job:
        """Cancel a queued job at once, or ask the dispatcher to stop a running one."""
        return self._apply(job_id, lambda job: transitions.request_cancel(job, self._clock(now)))

    def acknowledge_cancel(self, job_id: str, worker: str, *, now: datetime | None = None) -> Job:
        """``worker`` has stopped its running job after a cancel request: mark it cancelled."""
        return self._apply(job_id, lambda job: transitions.acknowledge_cancel(job, worker, self._clock(now)))

    def release(self, job_id: str, worker: str, *, now: datetime | None = None) -> Job:
        """``worker`` hands its running job back to the queue (cancelled instead, if a cancel is pending)."""
        return self._apply(job_id, lambda job: transitions.release(job, worker, self._clock(now)))

    def expire_leases(self, now: datetime | None = None, max_attempts: int = 3) -> list[Job]:
        """Take back every running job whose lease expired by ``now`` (default: the database's clock).

        Each goes back to the queue, or to ``failed`` once ``max_attempts`` claims
        were used, or to ``cancelled`` if a cancel was pending (see
        :func:`~workbench.jobs.transitions.expire`). A job renewed, finished or
        expired by someone else meanwhile is left alone.

        Returns
        -------
        list of Job
            The jobs this call changed.
        """
        at = self._clock(now)
        query = select(jobs_table.c.id).where(
            (jobs_table.c.status == JobStatus.RUNNING.value) & (jobs_table.c.lease_expires <= at)
        ).order_by(jobs_table.c.lease_expires)
        job_ids = self._run("reading expired leases", lambda connection: list(connection.scalars(query)))
        expired = []
        for job_id in job_ids:
            try:
                expired.append(self._apply(job_id, lambda job: transitions.expire(job, at, max_attempts)))
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
            ``updated_at`` of the rows; default the database's current time.

        Raises
        ------
        KeyError
            No such job.
        ValueError
            An item without a name or with an unknown status.
        """
        self.get(job_id)
        stamp = self._clock(now)
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
        self._run(f"recording items of job {job_id}", lambda connection: connection.execute(statement, rows),
                  write=True)

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
        return self._run(f"reading items of job {job_id}", lambda connection: [
            JobItem(**{**row._mapping, "updated_at": _utc(row.updated_at)}) for row in connection.execute(query)])

    # -- API tokens ------------------------------------------------------------------------------

    def create_token(self, owner: str, name: str = "") -> tuple[ApiToken, str]:
        """A new API token for ``owner``: its record, and its secret (shown once; only its SHA-256 is kept).

        Parameters
        ----------
        owner : str
            Whose jobs the token reaches (the same name jobs are submitted under).
        name : str
            A label for people (``laptop``).

        Returns
        -------
        (ApiToken, str)
            The record and the secret, ``wbt_`` and 43 URL-safe characters (256 random bits).

        Raises
        ------
        ValueError
            An empty owner, or an owner or name holding a control character.
        """
        _check_owner(owner)
        control = control_character(str(name))
        if control is not None:
            raise ValueError(f"token name {str(name)!r} holds the control character {control}; use printable text")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = uuid.uuid4().hex

        def insert_token(connection: Connection) -> ApiToken:
            row = connection.execute(select(api_tokens_table).where(api_tokens_table.c.id == token_id)).first()
            if row is not None:  # tried again after an error: the first insert committed
                return _to_token(row)
            token = ApiToken(id=token_id, owner=owner, name=str(name), created_at=_database_now(connection),
                             last_used_at=None, revoked=False)
            connection.execute(insert(api_tokens_table).values(
                id=token.id, owner=token.owner, name=token.name, sha256=token_digest(secret),
                created_at=token.created_at, last_used_at=None, revoked=False))
            return token

        return self._run(f"creating a token for {owner}", insert_token, write=True), secret

    def verify_token(self, secret: str, *, now: datetime | None = None) -> str | None:
        """The owner of the token ``secret``, or None for an unknown or revoked one; records its use.

        ``last_used_at`` is written at most once a minute per token.
        """
        if not isinstance(secret, str) or not secret.startswith(TOKEN_PREFIX):
            return None
        digest = token_digest(secret)
        query = select(api_tokens_table).where(api_tokens_table.c.sha256 == digest)
        row = self._run("checking a token", lambda connection: connection.execute(query).first())
        if row is None or row.revoked:
            return None
        token = _to_token(row)
        stamp = self._clock(now)
        if token.last_used_at is None or stamp - token.last_used_at >= _TOKEN_TOUCH:
            touch = update(api_tokens_table).where(api_tokens_table.c.id == token.id).values(last_used_at=stamp)
            self._run(f"recording the use of token {token.id}", lambda connection: connection.execute(touch),
                      write=True)
        return token.owner

    def list_tokens(self, owner: str | None = None) -> list[ApiToken]:
        """API tokens (revoked ones too), newest first, optionally of one ``owner``."""
        query = select(api_tokens_table)
        if owner is not None:
            query = query.where(api_tokens_table.c.owner == owner)
        query = query.order_by(api_tokens_table.c.created_at.desc(), api_tokens_table.c.id)
        return self._run("listing tokens", lambda connection: [_to_token(row) for row in connection.execute(query)])

    def revoke_token(self, token_id: str) -> ApiToken:
        """Revoke the token ``token_id`` (its id, from :meth:`list_tokens`, not its secret); it is refused from now on.

        Raises
        ------
        ValueError
            ``token_id`` is not 32 lowercase hex digits.
        KeyError
            No such token.
        """
        if not is_job_id(token_id):  # the same shape as a job id
            raise ValueError(f"not a token id (32 lowercase hex digits): {token_id!r}")
        table = api_tokens_table

        def revoke(connection: Connection) -> ApiToken | None:
            connection.execute(update(table).where(table.c.id == token_id).values(revoked=True))
            row = connection.execute(select(table).where(table.c.id == token_id)).first()
            return None if row is None else _to_token(row)

        token = self._run(f"revoking token {token_id}", revoke, write=True)
        if token is None:
            raise KeyError(f"no token {token_id}")
        return token


def _to_token(row: Any) -> ApiToken:
    return ApiToken(id=row.id, owner=row.owner, name=row.name, created_at=_utc(row.created_at) or row.created_at,
                    last_used_at=_utc(row.last_used_at), revoked=bool(row.revoked))
