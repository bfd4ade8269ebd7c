"""Finished items on disk: the ``DONE`` manifest, completeness, outcomes, and running one item.

An *item* is a content key (its folder name), a picklable
``work(payload, folder) -> dict`` function and its payload. On a worker,
:func:`execute_item` skips an item whose folder already holds ``DONE``;
otherwise it runs the work and then writes ``DONE``, atomically, with the
returned numbers and the size, modification time and SHA-256 of every file
written in it (one file, one fsync: the marker and the result cannot disagree;
a file deleted, truncated or rewritten later makes the item incomplete again).
A worker killed halfway leaves a folder without ``DONE``, which the next
attempt redoes from the start.

Nothing here imports Dask: a rerun whose items are all complete reads them
with this module alone (:mod:`workbench.pipelines.engine` submits the rest).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.files import atomic_write_bytes, read_sha256
from workbench.request import BatchRequest

DONE = "DONE"


class ItemFailed(Exception):
    """Raised by a work function to fail its item with a readable reason (no traceback kept)."""


@dataclass(frozen=True)
class ItemOutcome:
    """What became of one item.

    Attributes
    ----------
    key : str
        The item's content key (its folder name).
    status : {"done", "cached", "failed", "cancelled"}
        ``cached``: complete from an earlier run, nothing recomputed.
    result : dict
        What the work function returned (empty unless done or cached).
    error : str or None
        The reason an item failed or was cancelled.
    seconds : float
        Wall time of the work on the worker (0 for cached items).
    """

    key: str
    status: str
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the item's outputs are complete."""
        return self.status in ("done", "cached")


@dataclass(frozen=True)
class Progress:
    """Counts over the items of one run, and the outcome that changed them."""

    total: int
    done: int = 0
    cached: int = 0
    failed: int = 0
    cancelled: int = 0
    last: ItemOutcome | None = None

    @property
    def finished(self) -> int:
        """Items with an outcome."""
        return self.done + self.cached + self.failed + self.cancelled

    def counts(self) -> dict[str, int]:
        """The counts as a JSON-ready dict (what the job store keeps)."""
        return {"total": self.total, "done": self.done, "cached": self.cached, "failed": self.failed,
                "cancelled": self.cancelled}


def is_complete(folder: Path, *, verify: bool = False) -> bool:
    """Whether an item folder holds a finished item whose files are all still as written.

    ``DONE`` must parse and every file it lists must exist with the size it
    had when the item finished. A file whose modification time changed since
    is hashed and compared with the SHA-256 in ``DONE``, so a same-size
    rewrite is caught without reading every file of every item on a rerun
    (the quick check rsync makes). A damaged item is computed again, and a
    damaged ``DONE`` costs one item, not the batch.

    Parameters
    ----------
    folder : Path
    verify : bool
        Hash every file, whatever its modification time says.
    """
    return read_done(folder, verify=verify) is not None


def read_result(folder: Path) -> dict[str, Any]:
    """The numbers a finished item wrote (kept in its ``DONE`` file)."""
    done = read_done(folder)
    if done is None:
        raise FileNotFoundError(f"{folder}: no complete item here (DONE missing, damaged or out of date)")
    return done["result"]


def read_done(folder: Path, *, verify: bool = False) -> dict[str, Any] | None:
    """The item's ``DONE`` manifest, or None when it is missing, unreadable or a file it lists has changed."""
    try:
        done = json.loads((folder / DONE).read_bytes())
        files = done.get("files", {})
        if not isinstance(done["result"], dict) or not isinstance(files, dict):
            return None
        if not all(_file_intact(folder / name, written, verify) for name, written in files.items()):
            return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return done


def _file_intact(path: Path, written: int | Mapping[str, Any], verify: bool) -> bool:
    """Whether ``path`` is the file ``DONE`` describes (a size alone in markers written before checksums)."""
    stat = path.stat()
    if isinstance(written, int):
        return stat.st_size == written
    if stat.st_size != written["size"]:
        return False
    if not verify and stat.st_mtime_ns == written["mtime_ns"]:
        return True
    return read_sha256(path) == written["sha256"]


def _describe_files(folder: Path) -> dict[str, dict[str, Any]]:
    """Size, modification time and SHA-256 of each file an item wrote (not ``DONE``, not hidden files)."""
    described = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name != DONE and not path.name.startswith("."):
            stat = path.stat()
            described[path.name] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": read_sha256(path)}
    return described


def execute_item(work: Callable[[Any, Path], dict[str, Any]], payload: Any, folder: str,
                 run: str = "") -> ItemOutcome:
    """Run one item on a worker, unless it is already complete.

    Parameters
    ----------
    work : callable
        ``work(payload, folder) -> dict``: writes its files into ``folder`` (atomically)
        and returns JSON-ready numbers. Raise :class:`ItemFailed` for a readable failure.
    payload : object
    folder : str
        The item's folder; created if needed.
    run : str
        The id of the run; ``DONE`` keeps it, so an item this same run already
        finished (its result lost with a worker, the task run again by Dask) is
        reported ``done``, not ``cached``, and is not computed twice.

    Returns
    -------
    ItemOutcome
    """
    path = Path(folder)
    key = path.name
    done = read_done(path)
    if done is not None:
        status = "done" if run and done.get("run") == run else "cached"
        return ItemOutcome(key, status, done["result"], seconds=done.get("seconds", 0.0) if status == "done" else 0.0)
    path.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        result = work(payload, path)
    except ItemFailed as exc:
        return ItemOutcome(key, "failed", error=str(exc), seconds=time.perf_counter() - started)
    except Exception as exc:  # one item's bug or bad input must not stop the batch
        return ItemOutcome(key, "failed", error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - started)
    seconds = time.perf_counter() - started
    marker = {"finished": time.time(), "seconds": seconds, "run": run, "result": result,
              "files": _describe_files(path)}
    atomic_write_bytes(path / DONE, json.dumps(marker, default=_json_default).encode())
    return ItemOutcome(key, "done", result, seconds=seconds)


def execute_chunk(works: list[Callable[[Any, Path], dict[str, Any]]], payloads: list[Any], folders: list[str],
                  run: str = "") -> list[ItemOutcome]:
    """:func:`execute_item` for several items, one after the other, in one Dask task.

    Dask's own cost per task (a few milliseconds of scheduler, worker and
    client time) would otherwise be the main cost of a batch of cheap items.
    """
    return [execute_item(work, payload, folder, run) for work, payload, folder in zip(works, payloads, folders,
                                                                                      strict=True)]


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


@dataclass(frozen=True)
class ItemSpec:
    """Everything an item's work needs besides its prediction.

    Attributes
    ----------
    key : str
    sequence : str
        Chains joined with ``:``.
    names : tuple of str
        Ids of the FASTA records with this sequence.
    request : BatchRequest
    settings : dict
        The canonical settings the key was made from (written to config.json).
    """

    key: str
    sequence: str
    names: tuple[str, ...]
    request: BatchRequest
    settings: Mapping[str, Any] = field(default_factory=dict)
