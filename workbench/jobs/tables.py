"""The job store's tables, as this version of the workbench reads and writes them.

The database's schema is made and changed only by the migrations in
:mod:`workbench.jobs.migrations` (Alembic); a test checks that a database
upgraded to the newest revision has exactly these tables, columns, indexes and
constraints. A change here therefore comes with a new revision in
``workbench/jobs/migrations/versions/``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = ["api_tokens_table", "job_items_table", "jobs_table", "metadata"]

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

api_tokens_table = Table(
    "api_tokens",
    metadata,
    # A token's id is public (it names the token in lists and revocations); the secret is kept only as its SHA-256.
    Column("id", String(32), primary_key=True),
    Column("owner", String(200), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked", Boolean, nullable=False),
)
