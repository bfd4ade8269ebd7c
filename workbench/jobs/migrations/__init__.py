"""Alembic migrations of the job store's schema (``env.py``, ``versions/``).

Run through :mod:`workbench.jobs.migrate` (``workbench store upgrade``,
``workbench serve``), never by hand. Each revision is a frozen description of
one change; a new column means a new file in ``versions/``, written against
:mod:`workbench.jobs.tables`, with ``render_as_batch`` so it works on SQLite.
"""
