"""A private PostgreSQL server for fault tests: initdb in a temporary folder, started and stopped at will.

The fault tests stop the database under a running dispatcher. They never stop
the shared server (``pg_ctlcluster ... main``) that .ci/run starts: other test
runs on the machine use it at the same time. This server runs as the
``postgres`` user (PostgreSQL refuses root) from the binaries of the newest
installed version, on a free local port, with trust authentication, and is
stopped and deleted in a ``finally``. Where that cannot be done (not root, no
PostgreSQL installed) the caller's test is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                      key=lambda p: [int(x) for x in p.parent.parent.name.split(".") if x.isdigit()])
    return versions[-1].parent if versions else None


def why_unavailable() -> str | None:
    """None when a private server can be made here, else why not."""
    if os.geteuid() != 0:
        return "the PostgreSQL fault tests control a server as root (they run under .ci/run)"
    if _bindir() is None or shutil.which("runuser") is None:
        return "no PostgreSQL server binaries (apt-get install postgresql; .ci/run installs them)"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres system user"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivatePostgres:
    """One PostgreSQL server in its own data folder; :meth:`stop` and :meth:`start` it to make an outage."""

    def __init__(self, folder: Path) -> None:
        bindir = _bindir()
        assert bindir is not None
        self.bindir = bindir
        self.data = folder / "data"
        self.log = folder / "server.log"
        self.port = _free_port()
        self.url = f"postgresql+psycopg://workbench@127.0.0.1:{self.port}/postgres"
        self.running = False

    def _as_postgres(self, *command: str) -> None:
        result = subprocess.run(["runuser", "-u", "postgres", "--", *command], capture_output=True, text=True,
                                timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip() or result.stdout.strip()}")

    def init(self) -> None:
        self._as_postgres(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "workbench", "--auth=trust",
                          "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                          "-w", "-t", "120", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: open connections are closed by the server, as in a restart)."""
        self._as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "120", "stop")
        self.running = False


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private server, stopped and deleted afterwards; skips the test where none can be made."""
    reason = why_unavailable()
    if reason is not None:
        pytest.skip(reason)
    folder = Path(tempfile.mkdtemp(prefix="workbench-pg-"))
    postgres = pwd.getpwnam("postgres")
    os.chown(folder, postgres.pw_uid, postgres.pw_gid)
    server = PrivatePostgres(folder)
    try:
        server.init()
        server.start()
        yield server
    finally:
        try:
            if server.running or (server.data / "postmaster.pid").exists():
                server.stop("immediate")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
