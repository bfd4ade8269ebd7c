"""Riding out database outages: which errors pass, and how long to wait before trying again.

A PostgreSQL server that restarts, a network that drops a connection, a SQLite
file another process holds locked, a disk that is full for a moment: each
raises an error that goes away if the same statement is tried again later.
:func:`is_transient` tells those apart from errors that would only repeat
(a wrong password, a missing table, a constraint violated), and
:class:`Backoff` runs an operation again with exponentially growing pauses,
one log line per pause and none of them a traceback, until it succeeds, the
time allowed runs out (:class:`StoreUnavailable`) or its ``interrupt`` event
is set (a dispatcher shutting down stops waiting at once).

Examples
--------
>>> from sqlalchemy.exc import OperationalError
>>> import sqlite3
>>> is_transient(OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked")))
True
>>> is_transient(OperationalError("INSERT ...", {}, sqlite3.OperationalError("no such table: jobs")))
False
>>> Backoff(first=0.5, factor=2.0, most=3.0).delays(5)
[0.5, 1.0, 2.0, 3.0, 3.0]
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

__all__ = ["Backoff", "StoreUnavailable", "is_transient", "reason"]

log = logging.getLogger("workbench.jobs")

T = TypeVar("T")

#: SQLite errors (in lower case) that pass: a writer's lock, a full disk, an I/O error on a network file system.
SQLITE_TRANSIENT = ("database is locked", "database table is locked", "disk i/o error", "database or disk is full",
                    "unable to open database file")
#: Operational errors of a server that another try would only repeat (a wrong password, a database that is not there).
PERMANENT = ("authentication failed", "no password supplied", "does not exist", "no pg_hba.conf entry",
             "permission denied", "syntax error", "read-only transaction")


class StoreUnavailable(OSError):
    """The job store could not be reached or written for as long as the caller was willing to wait."""


def reason(exc: BaseException) -> str:
    """The database's own message in one line (the driver's error without SQLAlchemy's statement and link)."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__


def is_transient(exc: BaseException) -> bool:
    """True for an error that the same statement, tried again later, may not raise.

    Parameters
    ----------
    exc : BaseException
        Anything a database call raised.

    Returns
    -------
    bool
        True for a connection the pool invalidated (the server went away), a
        pool that timed out, SQLite's locked / full / I/O errors, and a
        server's other operational errors except those that say a name, a
        password or a permission is wrong.
    """
    if isinstance(exc, PoolTimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    message = reason(exc).lower()
    if type(exc.orig).__module__ == "sqlite3":
        return any(marker in message for marker in SQLITE_TRANSIENT)
    return not any(marker in message for marker in PERMANENT)


@dataclass(frozen=True)
class Backoff:
    """How an operation on the store is tried again after a transient error.

    Parameters
    ----------
    first : float
        Seconds before the second try.
    factor : float
        Each pause is this many times the one before ...
    most : float
        ... up to this many seconds.
    give_up_after : float or None
        Seconds after the first failure when the last error is raised as
        :class:`StoreUnavailable`; None waits for as long as it takes.
    interrupt : threading.Event, optional
        When set, waiting stops and the error is raised at once.
    """

    first: float = 0.1
    factor: float = 2.0
    most: float = 5.0
    give_up_after: float | None = 60.0
    interrupt: threading.Event | None = None

    def delays(self, n: int) -> list[float]:
        """The first ``n`` pauses, in seconds."""
        return [min(self.first * self.factor**i, self.most) for i in range(n)]

    def call(self, operation: Callable[[], T], what: str) -> T:
        """``operation()``, tried again after each transient error.

        Parameters
        ----------
        operation : callable
            The whole unit of work (one transaction), safe to run again.
        what : str
            Names the store and the operation in log lines and errors.

        Raises
        ------
        StoreUnavailable
            A transient error outlasted ``give_up_after``, or ``interrupt`` was set.
        Exception
            Any other error of ``operation``, at once.
        """
        started: float | None = None
        tries = 0
        while True:
            try:
                result = operation()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                now = time.monotonic()
                started = now if started is None else started
                delay = min(self.first * self.factor**tries, self.most)
                tries += 1
                waited = now - started
                stopping = self.interrupt is not None and self.interrupt.is_set()
                if stopping or (self.give_up_after is not None and waited + delay > self.give_up_after):
                    why = " (stopping)" if stopping else f" (for {waited:.0f} s)" if waited >= 1 else ""
                    raise StoreUnavailable(f"{what}: the database is unavailable{why}: {reason(exc)}") from None
                log.warning("%s: %s; trying again in %.1f s (try %d)", what, reason(exc), delay, tries + 1)
                if self.interrupt is not None:
                    self.interrupt.wait(delay)
                else:
                    time.sleep(delay)
                continue
            if started is not None:
                log.warning("%s: the database answers again after %.1f s", what, time.monotonic() - started)
            return result
