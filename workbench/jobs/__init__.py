"""The job store: jobs, their pure state transitions, and their persistence (SQLite or PostgreSQL).

- :mod:`workbench.jobs.model`: :class:`Job`, :class:`JobStatus`, :class:`JobItem`.
- :mod:`workbench.jobs.transitions`: ``(Job, event) → Job`` functions, no database.
- :mod:`workbench.jobs.store`: :class:`JobStore`, which applies transitions with optimistic concurrency.
"""

from workbench.jobs.model import ITEM_STATUSES, Job, JobItem, JobStatus, is_job_id
from workbench.jobs.store import JobStore, default_url
from workbench.jobs.transitions import InvalidTransition

__all__ = [
    "ITEM_STATUSES",
    "InvalidTransition",
    "Job",
    "JobItem",
    "JobStatus",
    "JobStore",
    "default_url",
    "is_job_id",
]
