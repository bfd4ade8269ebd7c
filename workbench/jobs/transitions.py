"""Job state transitions as pure functions: ``(Job, event) → Job``, no database, no clock.

Every function takes the current :class:`~workbench.jobs.model.Job` and the
facts of the event (who, when), and returns a new ``Job`` with ``version``
one higher, or raises :class:`InvalidTransition` naming the job, its status
and the refused action. :class:`~workbench.jobs.store.JobStore` reads a row,
applies one of these and writes the result only if the row's version did
not change meanwhile.

::

    queued ──claim──► running ──finish──► done
      │  ▲              │ │ └───fail────► failed
      │  └─release/expire┘ └─expire (attempts used up)─► failed
      │                 └─request_cancel: cancel_requested ─acknowledge_cancel / expire / release─► cancelled
      └─request_cancel─────────────────────────────────────────────────────────────────────────► cancelled

``attempts`` counts claims. :func:`release` (a graceful hand-back) leaves it as it
is, so it stays an honest count of how often a worker started the job; only
:func:`expire` compares it with ``max_attempts``, so releases alone never make a
job give up.

Examples
--------
>>> from datetime import UTC, datetime
>>> from workbench.jobs.model import Job
>>> t0 = datetime(2025, 1, 1, tzinfo=UTC)
>>> job = Job(id="ab" * 16, owner="local", name="", inputs={}, parameters={}, status="queued",
...           progress={}, attempts=0, lease_owner=None, lease_expires=None, cancel_requested=False,
...           created_at=t0, started_at=None, finished_at=None, result_path=None, error=None, version=0)
>>> running = claim(job, "w1", t0, lease_seconds=60)
>>> running.status, running.attempts, running.lease_owner, running.version
(<JobStatus.RUNNING: 'running'>, 1, 'w1', 1)
>>> try:
...     finish(running, "w2", t0, "/out")
... except InvalidTransition as error:
...     print(error)
job abababababababababababababababab (running): cannot finish: the lease is held by 'w1', not 'w2'
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from workbench.jobs.model import Job, JobStatus

__all__ = [
    "InvalidTransition",
    "acknowledge_cancel",
    "claim",
    "expire",
    "fail",
    "finish",
    "release",
    "renew",
    "report_progress",
    "request_cancel",
]


class InvalidTransition(ValueError):
    """A transition that the job's current state does not allow.

    Parameters
    ----------
    job : Job
        The job as it was when the action was refused.
    action : str
        The refused action (``"claim"``, ``"renew"``, ...).
    reason : str
        Why, in words.

    Attributes
    ----------
    job_id, status, action, reason
    """

    def __init__(self, job: Job, action: str, reason: str):
        self.job_id = job.id
        self.status = job.status
        self.action = action
        self.reason = reason
        super().__init__(f"job {job.id} ({job.status}): cannot {action}: {reason}")


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be a timezone-aware datetime, got naive {now.isoformat()}")
    return now


def _lease(lease_seconds: float) -> timedelta:
    if not lease_seconds > 0:
        raise ValueError(f"lease_seconds must be positive, got {lease_seconds!r}")
    return timedelta(seconds=lease_seconds)


def _next(job: Job, **changes: Any) -> Job:
    return dataclasses.replace(job, version=job.version + 1, **changes)


def _require_status(job: Job, action: str, *allowed: JobStatus) -> None:
    if job.status not in allowed:
        names = " or ".join(status.value for status in allowed)
        raise InvalidTransition(job, action, f"only a {names} job can {action}")


def _require_owner(job: Job, action: str, worker: str) -> None:
    _require_status(job, action, JobStatus.RUNNING)
    if job.lease_owner != worker:
        raise InvalidTransition(job, action, f"the lease is held by {job.lease_owner!r}, not {worker!r}")


_NO_LEASE: dict[str, Any] = {"lease_owner": None, "lease_expires": None}


def claim(job: Job, worker: str, now: datetime, lease_seconds: float) -> Job:
    """A worker takes a queued job: ``queued → running`` with a lease of ``lease_seconds``.

    Parameters
    ----------
    job : Job
    worker : str
        Name of the claiming worker (host, process, dispatcher id).
    now : datetime
        Timezone-aware current time.
    lease_seconds : float
        How long the lease lasts unless renewed; positive.

    Returns
    -------
    Job
        Running, ``attempts`` one higher, leased to ``worker``; ``started_at`` set on the first claim.

    Raises
    ------
    InvalidTransition
        The job is not queued, or a cancel was requested.
    """
    now = _aware(now)
    lease = _lease(lease_seconds)
    _require_status(job, "claim", JobStatus.QUEUED)
    if job.cancel_requested:
        raise InvalidTransition(job, "claim", "a cancel was requested")
    return _next(job, status=JobStatus.RUNNING, attempts=job.attempts + 1, lease_owner=worker,
                 lease_expires=now + lease, started_at=job.started_at or now)


def renew(job: Job, worker: str, now: datetime, lease_seconds: float) -> Job:
    """The lease owner extends its lease to ``now + lease_seconds``.

    Raises
    ------
    InvalidTransition
        The job is not running, ``worker`` does not hold the lease, or the lease already
        expired (the job may have been taken back; the worker should stop).
    """
    now = _aware(now)
    lease = _lease(lease_seconds)
    _require_owner(job, "renew", worker)
    if job.lease_expires is not None and job.lease_expires <= now:
        raise InvalidTransition(job, "renew", f"the lease of {worker!r} already expired at "
                                f"{job.lease_expires.isoformat()}; the job may have been taken back")
    return _next(job, lease_expires=now + lease)


def report_progress(job: Job, worker: str, progress: dict[str, Any]) -> Job:
    """The lease owner replaces the job's progress counters with ``progress``.

    Raises
    ------
    InvalidTransition
        The job is not running or ``worker`` does not hold the lease.
    TypeError
        ``progress`` is not a dict.
    """
    if not isinstance(progress, dict):
        raise TypeError(f"progress must be a dict, got {type(progress).__name__}")
    _require_owner(job, "report progress", worker)
    return _next(job, progress=dict(progress))


def finish(job: Job, worker: str, now: datetime, result_path: str) -> Job:
    """The lease owner completes the job: ``running → done``, lease cleared, ``error`` cleared.

    A lease that ran out but was not yet taken back (by :func:`expire`) does not
    stop the owner from finishing: the work is done. A requested cancel does not
    either; ``cancel_requested`` stays set as a record.

    Raises
    ------
    InvalidTransition
        The job is not running or ``worker`` does not hold the lease.
    """
    now = _aware(now)
    _require_owner(job, "finish", worker)
    return _next(job, status=JobStatus.DONE, finished_at=now, result_path=str(result_path), error=None,
                 **_NO_LEASE)


def fail(job: Job, worker: str, now: datetime, error: str) -> Job:
    """The lease owner gives up on the job: ``running → failed`` with ``error``, lease cleared.

    Raises
    ------
    InvalidTransition
        The job is not running or ``worker`` does not hold the lease.
    """
    now = _aware(now)
    _require_owner(job, "fail", worker)
    return _next(job, status=JobStatus.FAILED, finished_at=now, error=str(error), **_NO_LEASE)


def request_cancel(job: Job, now: datetime) -> Job:
    """Someone asks to cancel the job.

    A queued job is cancelled at once (``finished_at = now``). A running job gets
    ``cancel_requested = True``; the dispatcher stops it and calls
    :func:`acknowledge_cancel`.

    Raises
    ------
    InvalidTransition
        The job is already done, failed or cancelled, or a cancel was already requested.
    """
    now = _aware(now)
    if job.status is JobStatus.QUEUED:
        return _next(job, status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now)
    _require_status(job, "cancel", JobStatus.QUEUED, JobStatus.RUNNING)
    if job.cancel_requested:
        raise InvalidTransition(job, "cancel", "a cancel was already requested")
    return _next(job, cancel_requested=True)


def acknowledge_cancel(job: Job, worker: str, now: datetime) -> Job:
    """The lease owner has stopped a job whose cancel was requested: ``running → cancelled``.

    Raises
    ------
    InvalidTransition
        The job is not running, ``worker`` does not hold the lease, or no cancel was requested.
    """
    now = _aware(now)
    _require_owner(job, "acknowledge cancel", worker)
    if not job.cancel_requested:
        raise InvalidTransition(job, "acknowledge cancel", "no cancel was requested")
    return _next(job, status=JobStatus.CANCELLED, finished_at=now, **_NO_LEASE)


def expire(job: Job, now: datetime, max_attempts: int) -> Job:
    """Take back a running job whose lease ran out (its worker is presumed lost).

    Parameters
    ----------
    job : Job
    now : datetime
        Timezone-aware current time; the lease has expired when ``lease_expires <= now``.
    max_attempts : int
        Claims allowed before giving up; at least 1.

    Returns
    -------
    Job
        ``cancelled`` when a cancel was requested; else ``failed`` ("gave up after N attempts")
        when ``attempts >= max_attempts``; else ``queued`` again with the note
        ``"lease of <worker> expired at <time>"`` in ``error``. The lease is cleared.

    Raises
    ------
    InvalidTransition
        The job is not running or its lease has not expired.
    """
    now = _aware(now)
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts!r}")
    _require_status(job, "expire", JobStatus.RUNNING)
    if job.lease_expires is not None and job.lease_expires > now:
        raise InvalidTransition(job, "expire", f"the lease of {job.lease_owner!r} runs until "
                                f"{job.lease_expires.isoformat()}")
    when = job.lease_expires.isoformat() if job.lease_expires is not None else "an unknown time"
    note = f"lease of {job.lease_owner} expired at {when}"
    if job.cancel_requested:
        return _next(job, status=JobStatus.CANCELLED, finished_at=now, **_NO_LEASE)
    if job.attempts >= max_attempts:
        return _next(job, status=JobStatus.FAILED, finished_at=now,
                     error=f"gave up after {job.attempts} attempts: {note}", **_NO_LEASE)
    return _next(job, status=JobStatus.QUEUED, error=note, **_NO_LEASE)


def release(job: Job, worker: str, now: datetime) -> Job:
    """The lease owner hands a running job back (graceful shutdown): ``running → queued``.

    ``attempts`` is left as it is (it counts claims; see the module notes). A job
    whose cancel was requested is not queued again but ``cancelled``, since a
    queued job with a pending cancel could never be claimed.

    Raises
    ------
    InvalidTransition
        The job is not running or ``worker`` does not hold the lease.
    """
    now = _aware(now)
    _require_owner(job, "release", worker)
    if job.cancel_requested:
        return _next(job, status=JobStatus.CANCELLED, finished_at=now, **_NO_LEASE)
    return _next(job, status=JobStatus.QUEUED, **_NO_LEASE)
