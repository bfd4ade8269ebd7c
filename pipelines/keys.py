"""Content keys: one item folder per (sequence, predictor, parameters, versions).

A key is the first 16 hex digits of the SHA-256 of a canonical JSON document
holding everything that changes an item's outputs. Two records with the same
sequence and settings share a key, so they are computed once; a batch run again
finds the same keys and skips the items that are complete.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

KEY_LENGTH = 16


@cache
def software_versions() -> dict[str, str]:
    """Versions of the packages whose change changes an item's numbers."""
    import numpy
    import openmm

    from workbench import __version__

    return {"workbench": __version__, "openmm": openmm.__version__, "numpy": numpy.__version__}


def canonical_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Options as JSON-ready data in which a file path stands for its content.

    A template given as a path is replaced by the SHA-256 of its bytes, so the key
    follows the structure, not where it happens to be stored.

    Parameters
    ----------
    options : mapping
        Predictor or refinement options (JSON-like values and paths).

    Returns
    -------
    dict
    """
    out: dict[str, Any] = {}
    for name, value in sorted(options.items()):
        if isinstance(value, Path) or (name in {"template", "weights"} and isinstance(value, str)
                                       and Path(value).is_file()):
            out[name] = {"sha256": file_sha256(Path(value))}
        elif isinstance(value, Mapping):
            out[name] = canonical_options(value)
        else:
            out[name] = value
    return out


@cache
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (cached per path, modification time and size)."""
    stat = path.stat()
    return _file_sha256(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def item_key(sequence: str, settings: Mapping[str, Any]) -> str:
    """The content key of one item.

    Parameters
    ----------
    sequence : str
        Chains joined with ``:``.
    settings : mapping
        JSON-ready settings (predictor, canonical options, refinement, versions).

    Returns
    -------
    str
        16 lower-case hex digits.

    Examples
    --------
    >>> item_key("MKV", {"predictor": "template"}) == item_key("MKV", {"predictor": "template"})
    True
    >>> item_key("MKV", {"predictor": "template"}) == item_key("MKI", {"predictor": "template"})
    False
    """
    document = json.dumps({"sequence": sequence, "settings": settings}, sort_keys=True, separators=(",", ":"),
                          default=str)
    return hashlib.sha256(document.encode()).hexdigest()[:KEY_LENGTH]
