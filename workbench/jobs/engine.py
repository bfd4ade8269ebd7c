"""The database engine of a job store: pooling, SQLite's settings, and a warning for network file systems."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from workbench.jobs.netfs import network_filesystem
from workbench.state_folders import create_private_file, make_state_folder

__all__ = ["SQLITE_BUSY_TIMEOUT", "NetworkFileSystemWarning", "make_engine"]

#: Seconds a SQLite connection waits for another writer's lock before failing (and being tried again).
SQLITE_BUSY_TIMEOUT = 30.0
#: SQLite files already warned about (one warning per file and process).
_WARNED_NETWORK: set[str] = set()


class NetworkFileSystemWarning(UserWarning):
    """A SQLite job store on a network file system, where WAL mode and SQLite's locks are not safe."""


def _sqlite_pragmas(busy_timeout: float) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={round(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
    return on_connect


def make_engine(url: str, busy_timeout: float = SQLITE_BUSY_TIMEOUT) -> Engine:
    """A SQLAlchemy engine for a job store URL.

    PostgreSQL (any server): pooled connections checked before use
    (``pool_pre_ping``), so one that a server restart closed is replaced, not
    handed out. SQLite: the file and its folder are created private to this
    account (:mod:`workbench.state_folders`); WAL mode, a busy timeout
    of ``busy_timeout`` seconds and foreign keys on every connection; one
    shared connection for an in-memory database. A SQLite file on a network
    file system gets one :class:`NetworkFileSystemWarning`.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # A pooled connection whose server restarted is noticed and replaced before a statement uses it; a
        # server that does not answer at all (a network partition) fails a connection in 10 s, not the OS's minutes.
        connect_args = {"connect_timeout": 10} if parsed.get_backend_name() == "postgresql" and \
            "connect_timeout" not in parsed.query else {}
        return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:")
    if not in_memory:
        file = Path(database).expanduser()
        make_state_folder(file.parent)
        create_private_file(file)  # before SQLite makes it with the umask's mode
    engine = create_engine(
        parsed,
        connect_args={"check_same_thread": False, "timeout": busy_timeout},
        # One shared connection, or every checkout would see its own empty in-memory database.
        poolclass=StaticPool if in_memory else None,
    )
    event.listen(engine, "connect", _sqlite_pragmas(busy_timeout))
    _warn_if_network(engine.url)
    return engine


def _warn_if_network(url: URL) -> None:
    """Warn, once per file and process, when a SQLite store sits on a network file system."""
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return
    path = os.path.realpath(os.path.expanduser(database))
    kind = network_filesystem(path)
    if kind is None or path in _WARNED_NETWORK:
        return
    _WARNED_NETWORK.add(path)
    warnings.warn(NetworkFileSystemWarning(
        f"job store {path} is on a network file system ({kind}), where SQLite's WAL mode and locks are not "
        f"safe: use a PostgreSQL store (--store postgresql+psycopg://...) or a local path"), stacklevel=4)
