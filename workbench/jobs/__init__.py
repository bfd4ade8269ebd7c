"""The job store: jobs, their pure state transitions, and their persistence (SQLite or PostgreSQL).

- :mod:`workbench.jobs.model`: :class:`Job`, :class:`JobStatus`, :class:`JobItem`, :class:`ApiToken`.
- :mod:`workbench.jobs.transitions`: ``(Job, event) → Job`` functions, no database.
- :mod:`workbench.jobs.store`: :class:`JobStore`, which applies transitions with optimistic concurrency.
- :mod:`workbench.jobs.tables` and :mod:`workbench.jobs.migrations`: the tables, and the Alembic revisions
  that make them; :mod:`workbench.jobs.migrate` checks, creates and upgrades a store's schema.
- :mod:`workbench.jobs.retry`: which database errors pass, and the backoff that waits them out.
- :mod:`workbench.jobs.engine` and :mod:`workbench.jobs.netfs`: engines, and the network file system warning.
"""

from workbench.jobs.migrate import SchemaError
from workbench.jobs.model import ITEM_STATUSES, ApiToken, Job, JobItem, JobStatus, is_job_id
from workbench.jobs.retry import Backoff, StoreUnavailable
from workbench.jobs.store import JobStore, default_url
from workbench.jobs.transitions import InvalidTransition

__all__ = [
    "ITEM_STATUSES",
    "ApiToken",
    "Backoff",
    "InvalidTransition",
    "Job",
    "JobItem",
    "JobStatus",
    "JobStore",
    "SchemaError",
    "StoreUnavailable",
    "default_url",
    "is_job_id",
]
