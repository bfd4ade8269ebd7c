"""The job store's schema version: read it, create a new store, upgrade an old one (Alembic).

A store's revision is the one Alembic records in ``alembic_version``. A store
made before the schema had versions has the tables of revision ``0001`` and no
such table; it counts as ``0001`` and is stamped when it is upgraded. Every
change happens in one transaction that holds the store's schema lock
(``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on
PostgreSQL, whose DDL is transactional), so processes that open or upgrade a
store at once wait for each other and all succeed. A store already at the
newest revision is only read: opening it takes no lock and writes nothing.

A store whose revision this workbench does not know was upgraded by a newer
workbench: it is refused with a one-line :class:`SchemaError` saying to upgrade
the workbench, before anything reads or writes a row.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, String, column, func, inspect, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from workbench.jobs.engine import make_engine
from workbench.jobs.retry import Backoff, reason
from workbench.jobs.tables import metadata

__all__ = ["BASELINE", "SchemaError", "SchemaState", "ensure_schema", "head", "schema_state", "store_schema", "upgrade",
           "upgrade_store"]

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

log = logging.getLogger("workbench.jobs")

#: The revision of the schema that stores made before migrations existed hold.
BASELINE = "0001"
#: Every revision in ``migrations/versions``, oldest first; the last is the head. Written out so that opening
#: a store at head reads one row and imports no Alembic (0.1-0.3 s of every ``workbench jobs`` and ``submit``);
#: a test checks it against Alembic's own walk of the scripts.
REVISIONS = ("0001", "0002")
#: Where the revisions are, as Alembic names a folder inside a package.
SCRIPT_LOCATION = "workbench.jobs:migrations"
#: PostgreSQL advisory lock held while the schema changes (any fixed 64-bit number: "wbschema").
SCHEMA_LOCK_KEY = 0x7762736368656D61
#: Tries at changing the schema before a (non-lock) error is raised.
_ATTEMPTS = 5


class SchemaError(ValueError):
    """A store whose schema this workbench cannot use as it is (too new, or not upgraded yet)."""


@dataclass(frozen=True)
class SchemaState:
    """Where a store's schema stands.

    Attributes
    ----------
    revision : str or None
        The recorded revision; for an unversioned store with tables, :data:`BASELINE`; None for an empty database.
    versioned : bool
        Whether the store records its revision (``alembic_version``).
    head : str
        The newest revision this workbench knows.
    known : bool
        Whether this workbench knows ``revision`` (False: a newer workbench upgraded the store).
    """

    revision: str | None
    versioned: bool
    head: str
    known: bool

    @property
    def current(self) -> bool:
        """The store is at this workbench's newest revision."""
        return self.revision == self.head and self.versioned

    def describe(self) -> str:
        """One line for ``workbench store current``."""
        if self.revision is None:
            return f"empty (no tables yet); this workbench creates revision {self.head}"
        note = "" if self.versioned else " (unversioned: made before schema versions; stamped on upgrade)"
        if not self.known:
            return (f"revision {self.revision}, newer than this workbench knows (head {self.head}): "
                    "upgrade the workbench")
        if self.revision == self.head:
            return f"revision {self.revision} (head){note}"
        return f"revision {self.revision}{note}; head is {self.head}: run `workbench store upgrade`"


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this workbench knows."""
    return REVISIONS[-1]


def _known() -> set[str]:
    return set(REVISIONS)


def _recorded_revision(connection: Connection) -> str | None:
    """The revision in Alembic's ``alembic_version`` table, or None without one (what Alembic itself reads)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    query = select(column("version_num", String)).select_from(table("alembic_version"))
    rows: list[str] = list(connection.execute(query).scalars().all())
    if len(rows) > 1:
        raise SchemaError(f"the store records {len(rows)} schema revisions at once ({', '.join(sorted(rows))}); "
                          "it was not made by this workbench's migrations")
    return rows[0] if rows else None


def _read_state(connection: Connection) -> SchemaState:
    # Tables first, then the recorded revision: outside a transaction each statement sees what is committed
    # when it runs, and a store is created (tables and revision) in one transaction. Read the other way, a
    # process could miss the revision, then see the new tables, and take a brand-new store for an old one.
    tables = set(inspect(connection).get_table_names())
    recorded = _recorded_revision(connection)
    revision = BASELINE if recorded is None and set(metadata.tables) & tables else recorded
    return SchemaState(revision, recorded is not None, head(), revision is None or revision in _known())


def schema_state(engine: Engine) -> SchemaState:
    """Read where ``engine``'s store stands, writing nothing."""
    with engine.connect() as connection:
        return _read_state(connection)


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK_KEY)))


def _too_new(where: str, state: SchemaState) -> SchemaError:
    return SchemaError(f"{where}: its schema is at revision {state.revision}, newer than this workbench knows "
                       f"(revision {state.head}); upgrade the workbench (pip install --upgrade protein-workbench)")


def _upgrade_locked(engine: Engine, where: str) -> tuple[SchemaState, SchemaState]:
    """Stamp an unversioned store and upgrade to head, in one transaction under the schema lock."""
    with engine.connect() as connection:
        _lock(connection)
        before = _read_state(connection)  # again, now that nobody else can change it
        if not before.known:
            raise _too_new(where, before)
        if not before.current:
            from alembic import command

            config = _config(connection)
            if before.revision is not None and not before.versioned:
                command.stamp(config, before.revision)
            command.upgrade(config, "head")
        after = _read_state(connection)
        connection.commit()
    if after != before:
        was = "an empty database" if before.revision is None else f"revision {before.revision}" + (
            "" if before.versioned else " (unversioned)")
        log.info("%s: schema upgraded from %s to revision %s", where, was, after.revision)
    return before, after


def upgrade(engine: Engine, where: str = "job store") -> tuple[SchemaState, SchemaState]:
    """Bring ``engine``'s store to the newest revision: create it, stamp it, or migrate it, keeping its rows.

    Parameters
    ----------
    engine : Engine
    where : str
        Names the store in errors.

    Returns
    -------
    (SchemaState, SchemaState)
        Before and after.

    Raises
    ------
    SchemaError
        The store was upgraded by a newer workbench.
    """
    for attempt in range(_ATTEMPTS):
        try:
            return _upgrade_locked(engine, where)
        except SQLAlchemyError:
            # Another process may have made the tables first on a database without a schema lock: look again.
            if attempt + 1 == _ATTEMPTS:
                raise
            if schema_state(engine).current:
                state = schema_state(engine)
                return state, state
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def ensure_schema(engine: Engine, *, allow_upgrade: bool, where: str = "job store") -> SchemaState:
    """Check a store's schema as it is opened; create a new store; upgrade an old one if allowed.

    Parameters
    ----------
    engine : Engine
    allow_upgrade : bool
        Migrate a store at an older revision (``workbench serve`` and ``workbench store upgrade`` do).
        Without it, such a store is refused, saying how to upgrade it. An empty
        database is always given the newest schema, and an unversioned store
        at the newest revision is used as it is.
    where : str
        Names the store in errors.

    Returns
    -------
    SchemaState
        The state the store is left in.

    Raises
    ------
    SchemaError
        A store upgraded by a newer workbench, or an older one without ``allow_upgrade``.
    """
    state = schema_state(engine)
    if not state.known:
        raise _too_new(where, state)
    if state.current or (state.revision == state.head and not allow_upgrade):
        return state
    if state.revision is not None and not allow_upgrade:
        raise SchemaError(f"{where}: its schema is at revision {state.revision}, older than this workbench's "
                          f"{state.head}; run `workbench store upgrade` (or start `workbench serve`, which upgrades)")
    return upgrade(engine, where)[1]


def _on_store(url: str, action: str, work: Any, retry: Backoff | None) -> Any:
    """``work(engine, where)`` on a new engine for ``url``, under ``retry``; database errors in one line."""
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        raise ValueError(f"not a job store URL: {url!r}") from None
    where = f"job store {shown}"
    engine = make_engine(url)
    try:
        return (retry or Backoff(give_up_after=30.0)).call(lambda: work(engine, where), f"{where}: {action}")
    except SQLAlchemyError as exc:
        raise ValueError(f"{where}: cannot {action}: {reason(exc)}") from None
    finally:
        engine.dispose()


def store_schema(url: str, *, retry: Backoff | None = None) -> SchemaState:
    """Where the store at ``url`` stands (``workbench store current``); writes nothing."""
    return _on_store(url, "read its schema", lambda engine, _where: schema_state(engine), retry)


def upgrade_store(url: str, *, retry: Backoff | None = None) -> tuple[SchemaState, SchemaState]:
    """Upgrade the store at ``url`` to the newest revision (``workbench store upgrade``): before and after.

    Raises
    ------
    SchemaError
        The store was upgraded by a newer workbench.
    ValueError
        A URL that is not one, or a database error, in one line.
    """
    return _on_store(url, "upgrade", upgrade, retry)
