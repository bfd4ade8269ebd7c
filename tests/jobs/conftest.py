"""Job store fixtures: a fresh database on SQLite, and on PostgreSQL when WORKBENCH_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from workbench.jobs import JobStore

POSTGRES_ENV = "WORKBENCH_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A fresh, empty database: a SQLite file in tmp_path, or a schema of its own on PostgreSQL."""
    if request.param == "sqlite":
        yield URL.create("sqlite", database=str(tmp_path / "nested" / "jobs.sqlite")).render_as_string()
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"set {POSTGRES_ENV} to a PostgreSQL server; .ci/run starts one")
    schema = f"wbtest_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    # Every connection of the store (and of spawned processes) puts its tables in this schema.
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(store_url):
    with JobStore(store_url) as job_store:
        yield job_store


@pytest.fixture
def sqlite_store(tmp_path):
    with JobStore(URL.create("sqlite", database=str(tmp_path / "jobs.sqlite")).render_as_string()) as job_store:
        yield job_store
