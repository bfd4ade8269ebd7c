"""Where the workbench keeps its state, and the limits on what it reads.

State lives in ``$WORKBENCH_HOME`` (default ``~/.workbench``): the embedded job
store (``jobs.sqlite``), job results (``results/<job id>/``), checked uploads
(``uploads/``) and the cache of finished items shared by every batch and job
(``cache/``, or ``$WORKBENCH_CACHE``). Nothing is created at import time.

Limits on inputs (each read here, when a reader asks, never at import time):

- ``$WORKBENCH_MAX_INPUT_BYTES``: the largest input a reader takes, counted
  after decompression (default :data:`DEFAULT_MAX_INPUT_BYTES`, 512 MiB). A
  gzip stream is decompressed in pieces and stops at the limit, so a small
  file that expands to gigabytes is refused without using that memory.
- ``$WORKBENCH_MAX_ATOMS``: the most atoms read from one structure (default
  :data:`DEFAULT_MAX_ATOMS`, 2 million; the largest PDB entries hold about 1.5 million).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: Largest input accepted by the readers, in bytes after decompression (512 MiB).
DEFAULT_MAX_INPUT_BYTES = 512 * 1024**2
#: Most atoms accepted in one structure (all models together).
DEFAULT_MAX_ATOMS = 2_000_000


def workbench_home() -> Path:
    """``$WORKBENCH_HOME``, or ``~/.workbench`` when it is unset or empty."""
    return Path(os.environ.get("WORKBENCH_HOME") or Path.home() / ".workbench").expanduser()


def store_url() -> str | None:
    """The job store's SQLAlchemy URL from the environment; None means the embedded SQLite store.

    ``$WORKBENCH_STORE_URL`` when set and not empty, else the first line of
    the file ``$WORKBENCH_STORE_URL_FILE`` (a Docker, compose or Kubernetes
    secret, or a file of mode 0600), so the password is in neither ``ps`` nor
    a shell history. A PostgreSQL URL may also leave the password out:
    libpq then takes it from ``~/.pgpass`` (or ``$PGPASSFILE``). The one place
    these variables are read.

    Raises
    ------
    ValueError
        The file cannot be read or holds no URL, in one line that never shows its content.
    """
    url = os.environ.get("WORKBENCH_STORE_URL")
    if url:
        return url
    file = os.environ.get("WORKBENCH_STORE_URL_FILE")
    if not file:
        return None
    try:
        with open(Path(file).expanduser(), encoding="utf-8") as handle:
            first = handle.readline(64 * 1024).strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"WORKBENCH_STORE_URL_FILE={file}: cannot read it "
                         f"({getattr(exc, 'strerror', None) or type(exc).__name__})") from None
    if not first:
        raise ValueError(f"WORKBENCH_STORE_URL_FILE={file}: its first line holds no store URL")
    return first


def results_root() -> Path:
    """Default folder of the dispatcher's job results: ``$WORKBENCH_HOME/results``."""
    return workbench_home() / "results"


def admins(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """``$WORKBENCH_ADMINS``: owners (comma-separated) who see and cancel every job, in the UI and the HTTP API.

    The one place the variable is read (from ``environ``, default ``os.environ``); blanks around names are ignored.
    """
    env = os.environ if environ is None else environ
    return frozenset(name.strip() for name in env.get("WORKBENCH_ADMINS", "").split(",") if name.strip())


def uploads_root() -> Path:
    """Where checked uploads are kept: ``$WORKBENCH_HOME/uploads``."""
    return workbench_home() / "uploads"


def file_roots() -> tuple[Path, ...]:
    """Folders a job submitted over the HTTP API may name files in (templates, weights).

    ``$WORKBENCH_HOME/uploads``, then the folders in ``$WORKBENCH_FILE_ROOTS``
    (separated by ``os.pathsep``, ``:`` on Linux). The one place the variable is read.
    """
    extra = [Path(part).expanduser() for part in os.environ.get("WORKBENCH_FILE_ROOTS", "").split(os.pathsep)
             if part.strip()]
    return (uploads_root(), *extra)


def shared_cache_root() -> Path:
    """The cache of finished items every batch and job shares: ``$WORKBENCH_CACHE``, else ``$WORKBENCH_HOME/cache``.

    See :mod:`workbench.pipelines.shared_cache`; ``workbench cache`` shows and cleans it.
    """
    return Path(os.environ.get("WORKBENCH_CACHE") or workbench_home() / "cache").expanduser()


def _positive_int(variable: str, default: int) -> int:
    """The positive integer in ``$variable``, or ``default`` when it is unset or empty.

    Raises
    ------
    ValueError
        The variable holds something other than a positive integer (``_`` separators are accepted).
    """
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{variable}={raw!r} is not an integer") from None
    if value < 1:
        raise ValueError(f"{variable}={raw!r} must be at least 1")
    return value


def max_input_bytes() -> int:
    """``$WORKBENCH_MAX_INPUT_BYTES``, else :data:`DEFAULT_MAX_INPUT_BYTES`: the largest input, decompressed.

    The one place the variable is read.
    """
    return _positive_int("WORKBENCH_MAX_INPUT_BYTES", DEFAULT_MAX_INPUT_BYTES)


def max_atoms() -> int:
    """``$WORKBENCH_MAX_ATOMS``, else :data:`DEFAULT_MAX_ATOMS`: the most atoms read from one structure.

    The one place the variable is read.
    """
    return _positive_int("WORKBENCH_MAX_ATOMS", DEFAULT_MAX_ATOMS)


def format_bytes(n: int) -> str:
    """``n`` bytes for messages: ``"512 MiB"``, ``"1.5 GiB"``, ``"300 bytes"``.

    Examples
    --------
    >>> format_bytes(512 * 1024**2)
    '512 MiB'
    >>> format_bytes(1000)
    '1000 bytes'
    """
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"
