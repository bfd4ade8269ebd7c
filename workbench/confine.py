"""File options of a request from the web UI or the HTTP API, kept inside the folders the server allows.

A job's parameters name files the dispatcher will read (a template, a weights
folder, an import folder). Someone submitting from a browser or over the HTTP
API must not make it read anything else (``/etc/shadow``, another user's upload folder outside
the roots), so :func:`confine_request` accepts a file option only when it is

- the option's own default (the embedded template, the default weights),
- a model-hub id where the option declares ``hub_id`` (``facebook/esmfold_v1``:
  no ``..``, nothing that names a path on this machine), or
- an absolute path whose real location (symbolic links followed) lies inside
  one of the roots (:func:`workbench.config.file_roots`: ``$WORKBENCH_HOME/uploads``
  and ``$WORKBENCH_FILE_ROOTS``).

The request it returns names the real paths, so what the dispatcher opens is what was checked.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from pathlib import Path

from workbench.request import BatchRequest, PredictorSpec

__all__ = ["PathNotAllowed", "confine_request", "is_hub_id"]

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


class PathNotAllowed(ValueError):
    """A file option outside the allowed folders; the message is one line for the submitter."""


def is_hub_id(value: str) -> bool:
    """Whether ``value`` reads as a model-hub id and as no path on this machine.

    Examples
    --------
    >>> is_hub_id("facebook/esmfold_v1"), is_hub_id("/etc/shadow"), is_hub_id("a/../../etc")
    (True, False, False)
    """
    return (_HUB_ID.fullmatch(value) is not None and ".." not in value.split("/")
            and not os.path.lexists(value))


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def confine_request(request: BatchRequest, roots: Sequence[Path]) -> BatchRequest:
    """``request`` with every file option checked and made real, or :class:`PathNotAllowed`.

    Parameters
    ----------
    request : BatchRequest
    roots : sequence of Path
        Folders whose files a submitter may name (need not exist).

    Returns
    -------
    BatchRequest
        The same request, file options replaced by their real paths.

    Raises
    ------
    PathNotAllowed
        A relative path, or a path (after following links) outside every root.
    """
    spec = request.predictor
    default = type(spec.options)()
    real_roots = [Path(os.path.realpath(root)) for root in roots]
    shown_roots = ", ".join(str(root) for root in real_roots) or "none"
    changes: dict[str, str] = {}
    for option in spec.info.option_fields:
        if not option.metadata.get("file"):
            continue
        value = getattr(spec.options, option.name)
        if value is None or value == "" or value == getattr(default, option.name):
            continue
        what = f"{spec.name} option {option.name}"
        text = str(value)
        if option.metadata.get("hub_id") and is_hub_id(text):
            continue
        if "\x00" in text or not os.path.isabs(text):
            raise PathNotAllowed(f"{what}: {text!r} is not an absolute path; name a file under one of the allowed "
                                 f"folders ({shown_roots}) or upload it")
        real = Path(os.path.realpath(text))
        if not any(_inside(real, root) for root in real_roots):
            raise PathNotAllowed(f"{what}: {text!r} is outside the folders this server allows ({shown_roots}); "
                                 "upload the file, or have the server's $WORKBENCH_FILE_ROOTS name its folder")
        changes[option.name] = str(real)
    if not changes:
        return request
    return dataclasses.replace(request, predictor=PredictorSpec(spec.name, dataclasses.replace(spec.options,
                                                                                               **changes)))
