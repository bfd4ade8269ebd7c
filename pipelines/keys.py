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
from typing import Any

KEY_LENGTH = 16


@cache
def software_versions() -> dict[str, str]:
    """Versions of the packages whose change changes an item's numbers (:data:`~workbench.versions.RESULT_PACKAGES`).

    Part of every content key: upgrading one of them recomputes the items, rather than mixing numbers.
    """
    from workbench.versions import package_versions

    return package_versions()


def item_key(sequence: str, settings: Mapping[str, Any]) -> str:
    """The content key of one item.

    Parameters
    ----------
    sequence : str
        Chains joined with ``:``.
    settings : mapping
        JSON-ready settings (:meth:`workbench.request.BatchRequest.key_settings` and versions).

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
