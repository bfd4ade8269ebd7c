"""The job types: a :class:`Job` record, its :class:`JobStatus` and per-item :class:`JobItem` rows.

A :class:`Job` is an immutable snapshot of one row of the job store. State
changes are pure functions in :mod:`workbench.jobs.transitions` that return a
new :class:`Job`; :class:`workbench.jobs.store.JobStore` persists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

_JOB_ID = re.compile(r"[0-9a-f]{32}")

#: Statuses a :class:`JobItem` (one record of a batch) can have.
ITEM_STATUSES = frozenset({"queued", "running", "done", "failed", "cached", "cancelled"})


class JobStatus(StrEnum):
    """Where a job is in its life: ``queued → running → done | failed | cancelled``.

    Examples
    --------
    >>> JobStatus("running").is_terminal
    False
    >>> sorted(s.value for s in JobStatus if s.is_terminal)
    ['cancelled', 'done', 'failed']
    """

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """True for ``done``, ``failed`` and ``cancelled``: nothing happens to the job any more."""
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


def is_job_id(value: object) -> bool:
    """True when ``value`` is a job id: 32 lowercase hexadecimal digits (``uuid4().hex``).

    Examples
    --------
    >>> is_job_id("0123456789abcdef0123456789abcdef"), is_job_id("../../etc/passwd")
    (True, False)
    """
    return isinstance(value, str) and _JOB_ID.fullmatch(value) is not None


def _check_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value.isoformat()}")


@dataclass(frozen=True)
class Job:
    """One job of the store, as an immutable snapshot.

    Attributes
    ----------
    id : str
        32 lowercase hex digits (``uuid4().hex``).
    owner : str
        Who submitted it (a user name; ``"local"`` on a laptop).
    name : str
        A label for people; may be empty.
    inputs : dict
        JSON-serialisable inputs, e.g. ``{"fasta": "<text>", "template": "/path"}``.
    parameters : dict
        JSON-serialisable run options.
    status : JobStatus
    progress : dict
        JSON counters reported by the worker, e.g. ``{"total": 10, "done": 3, "failed": 1, "cached": 2}``.
    attempts : int
        How many times a worker claimed the job.
    lease_owner : str or None
        The worker holding the lease of a running job.
    lease_expires : datetime or None
        Timezone-aware UTC time the lease runs out unless renewed.
    cancel_requested : bool
        Someone asked to cancel the job while it was running.
    created_at : datetime
        Timezone-aware UTC submission time.
    started_at, finished_at : datetime or None
        First claim, and arrival in a terminal status (timezone-aware UTC).
    result_path : str or None
        Where the results are, once done.
    error : str or None
        Why it failed, or a note about an earlier attempt (a lease that expired).
    version : int
        Optimistic-concurrency counter: every transition adds one.
    """

    id: str
    owner: str
    name: str
    inputs: dict[str, Any]
    parameters: dict[str, Any]
    status: JobStatus
    progress: dict[str, Any]
    attempts: int
    lease_owner: str | None
    lease_expires: datetime | None
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result_path: str | None
    error: str | None
    version: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", JobStatus(self.status))
        for f in fields(self):
            if f.name.endswith(("_at", "_expires")):
                _check_aware(f.name, getattr(self, f.name))


@dataclass(frozen=True)
class JobItem:
    """One record of a job's batch (one sequence), with its own status.

    Attributes
    ----------
    job_id : str
    name : str
        Record name, unique within the job.
    item : str or None
        Content key of the item's output (hash of sequence, predictor and parameters), once known.
    status : str
        One of ``queued``, ``running``, ``done``, ``failed``, ``cached``.
    error : str or None
        Why this item failed.
    updated_at : datetime
        Timezone-aware UTC time of the last change.
    """

    job_id: str
    name: str
    item: str | None
    status: str
    error: str | None
    updated_at: datetime


@dataclass(frozen=True)
class ApiToken:
    """One token of the HTTP API, as the store lists it (never the secret: only its SHA-256 is kept).

    Attributes
    ----------
    id : str
        32 lowercase hex digits: names the token in lists and in ``workbench token revoke``.
    owner : str
        Whose jobs the token reaches.
    name : str
        A label for people (``laptop``); may be empty.
    created_at : datetime
        Timezone-aware UTC.
    last_used_at : datetime or None
        The last request made with it (to the minute), or None.
    revoked : bool
        A revoked token is refused.
    """

    id: str
    owner: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool
