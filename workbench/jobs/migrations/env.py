"""Alembic's environment for the job store: migrations on the connection :mod:`workbench.jobs.migrate` hands over.

The workbench runs migrations inside its own transaction, which holds the
store's schema lock, so this file never connects, commits or reads a URL of
its own. Imported outside Alembic (as by pytest's doctest collection) it does nothing.
"""

from __future__ import annotations

from alembic import context

from workbench.jobs.tables import metadata


def run_migrations() -> None:
    """Migrate on ``config.attributes["connection"]``, in the caller's transaction (batch mode for SQLite)."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("the job store's migrations run through workbench.jobs.migrate (workbench store upgrade)")
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      transaction_per_migration=False)
    with context.begin_transaction():
        context.run_migrations()


if getattr(context, "config", None) is not None:  # run by Alembic
    run_migrations()
