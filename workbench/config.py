"""Where the workbench keeps its state: ``$WORKBENCH_HOME`` (default ``~/.workbench``).

It holds the embedded job store (``jobs.sqlite``), job results (``results/<job id>/``)
and checked uploads (``uploads/``). Nothing is created at import time.
"""

from __future__ import annotations

import os
from pathlib import Path


def workbench_home() -> Path:
    """``$WORKBENCH_HOME``, or ``~/.workbench`` when it is unset or empty."""
    return Path(os.environ.get("WORKBENCH_HOME") or Path.home() / ".workbench").expanduser()


def store_url() -> str | None:
    """``$WORKBENCH_STORE_URL`` (a SQLAlchemy URL) when set and not empty; None means the embedded SQLite store.

    The one place the variable is read.
    """
    return os.environ.get("WORKBENCH_STORE_URL") or None


def results_root() -> Path:
    """Default folder of the dispatcher's job results: ``$WORKBENCH_HOME/results``."""
    return workbench_home() / "results"
