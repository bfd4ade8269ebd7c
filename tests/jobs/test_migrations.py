"""The job store's schema versions (Alembic): new stores, stores made before versions, stores of newer workbenches."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
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
    create_engine,
    event,
    insert,
    inspect,
    text,
)

from workbench.cli import main
from workbench.jobs import JobStatus, JobStore, migrate
from workbench.jobs.engine import make_engine
from workbench.jobs.migrate import BASELINE, SchemaError, head, store_schema, upgrade_store
from workbench.jobs.tables import metadata

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def legacy_metadata() -> MetaData:
    """The tables exactly as ``create_all`` made them before the schema had versions (frozen here, never edited)."""
    legacy = MetaData()
    Table("jobs", legacy,
          Column("id", String(32), primary_key=True), Column("owner", String(200), nullable=False),
          Column("name", Text, nullable=False), Column("inputs", JSON, nullable=False),
          Column("parameters", JSON, nullable=False), Column("status", String(16), nullable=False, index=True),
          Column("progress", JSON, nullable=False), Column("attempts", Integer, nullable=False),
          Column("lease_owner", String(200)), Column("lease_expires", DateTime(timezone=True)),
          Column("cancel_requested", Boolean, nullable=False),
          Column("created_at", DateTime(timezone=True), nullable=False),
          Column("started_at", DateTime(timezone=True)), Column("finished_at", DateTime(timezone=True)),
          Column("result_path", Text), Column("error", Text), Column("version", Integer, nullable=False),
          Index("ix_jobs_owner_created", "owner", "created_at"))
    Table("job_items", legacy,
          Column("seq", Integer, primary_key=True, autoincrement=True),
          Column("job_id", String(32), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
          Column("name", Text, nullable=False), Column("item", Text),
          Column("status", String(16), nullable=False), Column("error", Text),
          Column("updated_at", DateTime(timezone=True), nullable=False),
          UniqueConstraint("job_id", "name", name="uq_job_items_job_name"))
    return legacy


def _legacy_store(url: str) -> list[str]:
    """A store as the workbench made it before migrations, with three jobs and two items; their ids."""
    legacy = legacy_metadata()
    engine = make_engine(url)  # the old store's engine: folder created, WAL
    ids = [f"{i:032x}" for i in (1, 2, 3)]
    try:
        legacy.create_all(engine)
        with engine.begin() as connection:
            for i, job_id in enumerate(ids):
                connection.execute(insert(legacy.tables["jobs"]).values(
                    id=job_id, owner="ana", name=f"old {i}", inputs={"fasta": ">a\nMKV"},
                    parameters={"predictor": "template"}, status="queued" if i else "done", progress={},
                    attempts=0 if i else 1, lease_owner=None, lease_expires=None, cancel_requested=False,
                    created_at=T0.replace(minute=i), started_at=None, finished_at=None,
                    result_path=None if i else "/results/old", error=None, version=0 if i else 2))
            connection.execute(insert(legacy.tables["job_items"]), [
                {"job_id": ids[0], "name": "a", "item": "ab12", "status": "done", "error": None, "updated_at": T0},
                {"job_id": ids[0], "name": "b", "item": None, "status": "failed", "error": "bad", "updated_at": T0}])
    finally:
        engine.dispose()
    return ids


def _differences(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def test_a_new_store_is_created_at_the_newest_revision(store_url):
    with JobStore(store_url) as store:
        assert store.schema.revision == head() and store.schema.versioned and store.schema.current
        with store.engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head()
    assert _differences(store_url) == [], "the migrations and workbench/jobs/tables.py disagree"


def test_an_unversioned_store_is_used_then_stamped_and_keeps_its_rows(store_url):
    ids = _legacy_store(store_url)
    assert store_schema(store_url).describe().startswith(f"revision {BASELINE} (unversioned")
    assert head() != BASELINE  # 0002 added the API's tokens: an unversioned store must be upgraded first
    with pytest.raises(SchemaError, match="run `workbench store upgrade`"):
        JobStore(store_url)
    before, after = upgrade_store(store_url)
    assert (before.revision, before.versioned, after.revision, after.versioned) == (BASELINE, False, head(), True)
    assert _differences(store_url) == []
    with JobStore(store_url) as store:
        assert store.schema.current
        old = store.get(ids[0])
        assert (old.status, old.result_path, old.version, old.inputs) == (JobStatus.DONE, "/results/old", 2,
                                                                           {"fasta": ">a\nMKV"})
        assert [(i.name, i.status, i.error) for i in store.items(ids[0])] == [("a", "done", None),
                                                                              ("b", "failed", "bad")]
        claimed = store.claim_next("w1", 60)
        assert claimed.id == ids[1] and claimed.version == 1
        store.finish(claimed.id, "w1", "/results/new")
        assert upgrade_store(store_url)[0].current  # a second upgrade changes nothing
        token, secret = store.create_token("ana", "laptop")  # the table 0002 added
        assert store.verify_token(secret) == "ana" and [t.id for t in store.list_tokens()] == [token.id]


def test_serve_upgrades_on_open(store_url):
    ids = _legacy_store(store_url)
    with JobStore(store_url, upgrade=True) as store:
        assert store.schema.current
        assert len(store.list_jobs()) == len(ids)


def test_a_store_of_a_newer_workbench_is_refused_in_one_line(store_url, capsys):
    with JobStore(store_url) as store:
        store.submit({}, {})
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    for upgrade in (False, True):
        with pytest.raises(SchemaError, match=r"revision ffff_from_the_future, newer than this workbench knows .*"
                                              r"upgrade the workbench") as caught:
            JobStore(store_url, upgrade=upgrade)
        assert "\n" not in str(caught.value) and ":workbench@" not in str(caught.value)  # no password shown
    with pytest.raises(SchemaError, match="upgrade the workbench"):
        upgrade_store(store_url)
    assert main(["jobs", "list", "--store", store_url]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "upgrade the workbench" in error and error.startswith("workbench jobs: error:")
    assert main(["store", "current", "--store", store_url]) == 1
    assert "newer than this workbench knows" in capsys.readouterr().out


def test_store_commands(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    _legacy_store(url)
    assert main(["store", "current", "--store", url]) == 0
    assert "unversioned" in capsys.readouterr().out
    assert main(["store", "upgrade", "--store", url]) == 0
    assert capsys.readouterr().out.strip().endswith(f"upgraded from revision {BASELINE} (unversioned) to "
                                                    f"revision {head()}")
    assert main(["store", "upgrade", "--store", url]) == 0
    assert "already at revision" in capsys.readouterr().out
    assert main(["store", "current", "--store", url]) == 0
    assert capsys.readouterr().out.strip().endswith(f"revision {head()} (head)")
    with JobStore(url) as store:
        assert len(store.list_jobs()) == 3
    empty = f"sqlite:///{tmp_path / 'new' / 'jobs.sqlite'}"
    assert main(["store", "upgrade", "--store", empty]) == 0
    assert "upgraded from empty" in capsys.readouterr().out
    assert set(inspect(create_engine(empty)).get_table_names()) == {"jobs", "job_items", "api_tokens",
                                                                    "alembic_version"}


def test_parameters_json_survives_the_upgrade(tmp_path):
    """JSON columns written by the old schema read back identically (types, nesting, unicode)."""
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    legacy = legacy_metadata()
    engine = create_engine(url)
    legacy.create_all(engine)
    parameters = {"predictor": "template", "options": {"template": "/data/ÅB.pdb", "seeds": [1, 2]}, "x": None}
    with engine.begin() as connection:
        connection.execute(insert(legacy.tables["jobs"]).values(
            id="f" * 32, owner="ana", name="", inputs={}, parameters=parameters, status="queued", progress={},
            attempts=0, cancel_requested=False, created_at=T0, version=0))
    engine.dispose()
    upgrade_store(url)
    with JobStore(url) as store:
        assert json.dumps(store.get("f" * 32).parameters, sort_keys=True) == json.dumps(parameters, sort_keys=True)


def test_a_store_created_between_two_reads_of_another_process_is_seen_whole(store_url):
    """One process creates the store (tables and revision, one transaction) while another reads its state.

    The creator commits just after the reader's first statement. The reader must
    see an empty database or the newest revision, never tables without a
    revision: that read as an old store and refused it (once in 20 concurrent
    first opens on PostgreSQL in CI).
    """
    creator, reader = make_engine(store_url), make_engine(store_url)
    creating = creator.connect()
    migrate._lock(creating)
    command.upgrade(migrate._config(creating), "head")
    statements = []

    @event.listens_for(reader, "after_cursor_execute")
    def commit_the_creator_after_the_first_statement(*_args):
        statements.append(1)
        if len(statements) == 1:
            creating.commit()

    try:
        state = migrate.schema_state(reader)
    finally:
        creating.close()
        creator.dispose()
        reader.dispose()
    assert len(statements) >= 2, "the reader's state took one statement: nothing to interleave"
    assert state.revision in {None, head()}, state.describe()


def test_the_written_out_revisions_are_alembics_own():
    """``REVISIONS`` spares every store open an Alembic import; it must name the scripts' history exactly."""
    script = migrate._script()
    assert [revision.revision for revision in reversed(list(script.walk_revisions()))] == list(migrate.REVISIONS)
    assert script.get_current_head() == head() == migrate.REVISIONS[-1]


def test_opening_a_store_at_head_imports_no_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    JobStore(url).close()  # created (that needs Alembic) in this process
    probe = ("import sys; from workbench.jobs.store import JobStore; "
             f"store = JobStore({url!r}); store.list_jobs(); store.close(); "
             "print(sorted(name for name in sys.modules if name.split('.')[0] in ('alembic', 'mako')))")
    seen = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert seen.stdout.strip() == "[]"
