"""A cache of finished items shared by every batch, run and job: nothing computed twice.

Items are content-addressed (:func:`~workbench.pipelines.keys.item_key`: the
sequence, every setting, the software versions), so an item finished in one
batch folder is the same item in any other. The shared cache is a folder of
finished items, ``<cache>/<key>/``, each with the engine's ``DONE`` marker and
checksums. Only the client touches it, never a worker:

- before a batch, each item complete in the shared cache is put into the batch's
  ``cache/<key>/`` (hard links, copies across file systems) and counted as
  cached;
- after it, each item the batch computed is put into the shared cache the same
  way.

An item enters either folder whole: its files go into a hidden temporary
folder, ``DONE`` last, and the folder is renamed into place, so a reader never
sees half an item and a run killed halfway leaves only a temporary folder that
the next :func:`clean` removes. Hard links share the files' bytes, so cleaning
the shared cache never damages a batch folder, and a batch folder deleted by a
user never damages the cache.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from workbench.pipelines.items import DONE, is_complete
from workbench.results import is_item_key
from workbench.state_folders import make_state_folder

TEMPORARY_PREFIX = ".incoming-"


@dataclass(frozen=True)
class CacheUsage:
    """What a shared cache holds.

    Attributes
    ----------
    items : int
        Complete items.
    bytes : int
        Their files' sizes (files hard-linked into batch folders counted once, here).
    incomplete : int
        Folders that are not complete items (left by a killed run; :func:`clean` removes them).
    """

    items: int
    bytes: int
    incomplete: int


def reuse(cache: Path, keys: Iterable[str], items: Path) -> list[str]:
    """Put the items of ``keys`` complete in ``cache`` into the batch's item folder ``items``.

    Parameters
    ----------
    cache : Path
        The shared cache (need not exist).
    keys : iterable of str
        Items the batch needs and does not have.
    items : Path
        The batch's item folder (``<out>/cache``).

    Returns
    -------
    list of str
        The keys now complete in ``items``.
    """
    reused = []
    for key in keys:
        if is_complete(cache / key) and _place(cache / key, items / key):
            reused.append(key)
    return reused


def keep(cache: Path, keys: Iterable[str], items: Path) -> int:
    """Put the items of ``keys`` finished in ``items`` into the shared ``cache``; returns how many went in."""
    kept = 0
    for key in keys:
        if is_complete(items / key) and not is_complete(cache / key):
            make_state_folder(cache)  # private, as the rest of the workbench's state
            kept += _place(items / key, cache / key)
    return kept


def usage(cache: Path) -> CacheUsage:
    """Complete items, their bytes and incomplete folders in ``cache``."""
    items = size = incomplete = 0
    for folder in _folders(cache):
        if is_item_key(folder.name) and is_complete(folder):
            items += 1
            size += sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        else:
            incomplete += 1
    return CacheUsage(items, size, incomplete)


def clean(cache: Path, *, older_than_days: float | None = None) -> CacheUsage:
    """Remove items from the shared cache; returns what was removed.

    Parameters
    ----------
    cache : Path
    older_than_days : float, optional
        Remove only items finished more than this many days ago (by ``DONE``);
        all of them without it. Incomplete folders are always removed.
    """
    cutoff = None if older_than_days is None else time.time() - older_than_days * 86400
    items = size = incomplete = 0
    for folder in _folders(cache):
        complete = is_item_key(folder.name) and is_complete(folder)
        if complete and cutoff is not None and _finished(folder) >= cutoff:
            continue
        if not complete and _recent(folder):  # another run may be putting it in place right now
            continue
        bytes_here = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
        shutil.rmtree(folder, ignore_errors=True)
        items, size, incomplete = items + complete, size + bytes_here * complete, incomplete + (not complete)
    return CacheUsage(items, size, incomplete)


# ---------------------------------------------------------------------- helpers


def _place(source: Path, target: Path) -> bool:
    """Give ``target`` the files of the complete item ``source``, whole or not at all."""
    incoming = target.parent / f"{TEMPORARY_PREFIX}{target.name}-{uuid.uuid4().hex[:8]}"
    try:
        incoming.mkdir(parents=True)
        names = sorted(p.name for p in source.iterdir() if p.is_file() and not p.name.startswith("."))
        for name in [n for n in names if n != DONE] + [DONE]:  # DONE last
            _link_or_copy(source / name, incoming / name)
        if not is_complete(incoming):
            return False
        if target.exists():  # an incomplete item (a killed attempt): replaced whole
            shutil.rmtree(target)
        os.rename(incoming, target)
        return True
    except OSError:  # another run placed it first, a file vanished, a full disk: compute or keep it as before
        return is_complete(target)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)  # keeps the modification time DONE's quick check compares


def _folders(cache: Path) -> list[Path]:
    try:
        return sorted(p for p in cache.iterdir() if p.is_dir())
    except FileNotFoundError:
        return []


def _finished(folder: Path) -> float:
    try:
        return float(json.loads((folder / DONE).read_bytes()).get("finished", 0.0))
    except (OSError, ValueError, AttributeError):
        return 0.0


def _recent(folder: Path, seconds: float = 3600.0) -> bool:
    try:
        return time.time() - folder.stat().st_mtime < seconds and folder.name.startswith(TEMPORARY_PREFIX)
    except OSError:
        return False
