"""Reading what the UI shows: the job store, result folders and their files.

Everything here reads; the only writes are job requests (through the store)
and validated uploads (:mod:`workbench.ui.uploads`). Result files are read
defensively: a missing ``relaxed.pdb``, PAE matrix or metrics file is normal.
Item folders are looked up by their content key (16 hex digits) and never by a
name a user typed or uploaded.

Every job the views read or cancel goes through the scoped helpers
(:func:`jobs_for`, :func:`job_for`, :func:`cancel_job`, :func:`items_for`),
which take the :class:`~workbench.ui.auth.Viewer`: a user sees only their own
jobs, an admin every job, and a job id of another user (a crafted ``?job=``)
is refused exactly like one that does not exist.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from workbench import config, results
from workbench.ui.auth import Viewer

ITEM_FILES = results.ITEM_FILES
"""Files of an item folder the Results view offers, with their media types."""


def workbench_home() -> Path:
    """``$WORKBENCH_HOME``, or ``~/.workbench``: where the store, uploads and results live."""
    return config.workbench_home()


def store_url() -> str | None:
    """``$WORKBENCH_STORE_URL`` (a SQLAlchemy URL), or None for the default SQLite store."""
    return config.store_url()


def owner() -> str:
    """The single user of a UI without sign-in: ``$WORKBENCH_OWNER``, else ``"local"`` (the store's default).

    The views use :func:`workbench.ui.auth.current_viewer` instead, which falls back to this user.
    """
    return os.environ.get("WORKBENCH_OWNER") or "local"


@st.cache_resource(show_spinner=False)
def _store(url: str | None, home: str) -> Any:
    from workbench.jobs.store import JobStore

    return JobStore(url)


def get_store() -> Any:
    """The :class:`~workbench.jobs.store.JobStore` for this process's settings (one per URL and home)."""
    return _store(store_url(), str(workbench_home()))


class JobNotFound(KeyError):
    """No job with this id that the viewer may see (another user's job is refused the same way)."""

    def __str__(self) -> str:
        return f"no job {self.args[0]!r}"


def jobs_for(viewer: Viewer, *, status: str | None = None, limit: int = 200) -> list[Any]:
    """The viewer's jobs (every owner's for an admin), newest first; at most ``limit``.

    Without their inputs (a FASTA may be megabytes, and the Jobs page lists every few seconds):
    :func:`job_for` reads one job whole.
    """
    return list(get_store().list_jobs(owner=viewer.owner_filter, status=status, limit=limit, inputs=False))


def job_for(viewer: Viewer, job_id: str) -> Any:
    """The job ``job_id`` if the viewer may see it.

    Raises
    ------
    JobNotFound
        No such job, or another user's job (the two are not told apart).
    """
    try:
        job = get_store().get(str(job_id))
    except (KeyError, ValueError):
        raise JobNotFound(job_id) from None
    if not viewer.may_see(job.owner):
        raise JobNotFound(job_id)
    return job


def cancel_job(viewer: Viewer, job_id: str) -> Any:
    """Ask the store to cancel the viewer's job ``job_id`` (any job for an admin); :class:`JobNotFound` otherwise."""
    job_for(viewer, job_id)
    return get_store().request_cancel(str(job_id))


def items_for(viewer: Viewer, job_id: str) -> list[Any]:
    """The per-record status rows of the viewer's job ``job_id``; :class:`JobNotFound` otherwise."""
    job_for(viewer, job_id)
    return list(get_store().items(str(job_id)))


def tokens_for(viewer: Viewer) -> list[Any]:
    """The viewer's own HTTP API tokens (revoked ones too), newest first; an admin's too are only their own."""
    return list(get_store().list_tokens(viewer.user_id))


def create_token(viewer: Viewer, name: str) -> tuple[Any, str]:
    """A new API token for the viewer: its record and its secret, which is shown once and never kept."""
    return get_store().create_token(viewer.user_id, name.strip())


def revoke_token(viewer: Viewer, token_id: str) -> Any:
    """Revoke the viewer's token ``token_id``; another user's token is refused as not found (KeyError)."""
    if not any(token.id == token_id for token in tokens_for(viewer)):
        raise KeyError(f"no token {token_id!r}")
    return get_store().revoke_token(token_id)


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&:])")


def plain_text(text: object) -> str:
    r"""``text`` with every Markdown-active ASCII character backslash-escaped, for Markdown-rendering elements.

    Texts from users (job names, record names, errors quoting their input,
    residue names from their files) are shown as they are, never rendered as
    Markdown, HTML, an image link or a Streamlit directive.

    >>> print(plain_text("A:HEM 143 *x* ![i](http://h/p.png)"))
    A\:HEM 143 \*x\* \!\[i\]\(http\://h/p\.png\)
    """
    return _MARKDOWN.sub(r"\\\1", " ".join(str(text).split()))


def is_item_key(value: object) -> bool:
    """True for an item folder name: 16 lowercase hex digits.

    Examples
    --------
    >>> is_item_key("0123456789abcdef"), is_item_key("../etc")
    (True, False)
    """
    return results.is_item_key(value)


def item_dir(job_dir: Path, item: str) -> Path:
    """The cached folder of ``item`` in ``job_dir``; raises ValueError for anything but a content key."""
    return results.item_path(job_dir, item)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@st.cache_data(show_spinner=False, max_entries=64)
def _read_summary(path: str, mtime: float) -> pd.DataFrame | None:
    try:
        return results.open_results(path).table
    except (OSError, ValueError):
        return None


def load_summary(job_dir: Path) -> pd.DataFrame | None:
    """The batch's ranking table (``summary.parquet``, else ``summary.csv``), or None when absent."""
    stamp = max(_mtime(job_dir / results.SUMMARY_PARQUET), _mtime(job_dir / results.SUMMARY_CSV))
    return _read_summary(str(job_dir), stamp)


@st.cache_data(show_spinner=False, max_entries=256)
def _read_json(path: str, mtime: float) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_json(path: Path) -> Any:
    """Parsed JSON at ``path``, or None when the file is missing or unreadable."""
    return _read_json(str(path), _mtime(path))


@st.cache_data(show_spinner=False, max_entries=64)
def _read_text(path: str, mtime: float) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def load_text(path: Path) -> str | None:
    """Text of ``path``, or None when it is missing."""
    return _read_text(str(path), _mtime(path))


@dataclass(frozen=True)
class ItemResult:
    """What an item folder holds (any part may be missing).

    Attributes
    ----------
    folder : Path
    model_pdb, relaxed_pdb : str or None
        PDB text of the unrelaxed and relaxed models.
    confidence, metrics, refinement, provenance : dict or None
        The parsed JSON files.
    """

    folder: Path
    model_pdb: str | None
    relaxed_pdb: str | None
    confidence: dict | None
    metrics: dict | None
    refinement: dict | None
    provenance: dict | None

    @property
    def files(self) -> dict[str, Path]:
        """Downloadable files present in the folder, by name (see :data:`ITEM_FILES`)."""
        return {name: self.folder / name for name in ITEM_FILES if (self.folder / name).is_file()}


def load_item(job_dir: Path, item: str) -> ItemResult:
    """Read an item folder of a job (``item`` must be a 16-hex content key)."""
    folder = item_dir(job_dir, item)
    return ItemResult(
        folder=folder,
        model_pdb=load_text(folder / results.MODEL_PDB),
        relaxed_pdb=load_text(folder / results.RELAXED_PDB),
        confidence=load_json(folder / results.CONFIDENCE),
        metrics=load_json(folder / results.METRICS),
        refinement=load_json(folder / results.REFINEMENT),
        provenance=load_json(folder / results.PROVENANCE),
    )


def zip_folder(folder: Path) -> bytes:
    """A zip archive of a batch folder as people read it, in memory.

    Every file under ``folder`` (paths relative to its parent) except the
    content-addressed cache, whose files the record folders already hold under
    the records' names.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink() and results.CACHE not in path.relative_to(folder).parts[:1]:
                archive.write(path, arcname=str(path.relative_to(folder.parent)))
    return buffer.getvalue()


def elapsed(job: Any, now: datetime | None = None) -> float | None:
    """Seconds a job has run (start to finish, or to now while it runs); None before it starts."""
    started = getattr(job, "started_at", None)
    if started is None:
        return None
    end = getattr(job, "finished_at", None) or now or datetime.now(UTC)
    return max((end - started).total_seconds(), 0.0)


def format_seconds(seconds: float | None) -> str:
    """``"1 h 02 min"``, ``"3 min 05 s"``, ``"12 s"``, or ``"-"``.

    Examples
    --------
    >>> format_seconds(12.4), format_seconds(185), format_seconds(3725), format_seconds(None)
    ('12 s', '3 min 05 s', '1 h 02 min', '-')
    """
    if seconds is None:
        return "-"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def progress_fraction(progress: dict | None) -> tuple[float, str]:
    """Fraction finished and a label from a job's progress counters.

    Examples
    --------
    >>> progress_fraction({"total": 4, "done": 1, "failed": 1, "cached": 1})
    (0.75, '3 / 4 (1 failed, 1 cached)')
    >>> progress_fraction({})
    (0.0, 'waiting')
    """
    progress = progress or {}
    total = int(progress.get("total") or 0)
    if total <= 0:
        return 0.0, "waiting"
    counts = {k: int(progress.get(k) or 0) for k in ("done", "cached", "failed", "cancelled")}
    finished = sum(counts.values())
    notes = [f"{counts[k]} {k}" for k in ("failed", "cached", "cancelled") if counts[k]]
    label = f"{finished} / {total}" + (f" ({', '.join(notes)})" if notes else "")
    return min(finished / total, 1.0), label


def job_label(job: Any) -> str:
    """A short label for a job in pickers: its name (or id) and status."""
    return f"{job.name or job.id[:8]} · {job.status} · {job.created_at:%Y-%m-%d %H:%M}"
