"""Where ESMFold's weights are on this machine, and fetching them: no torch needed.

``weights`` is a local folder written by ``save_pretrained`` (or a copy of the
hub repository), or a hub id such as ``facebook/esmfold_v1``. A hub id is only
read from the local Hugging Face cache unless the caller allows a download and
``HF_HUB_OFFLINE`` is not set, so a batch on a cluster node never reaches for
the network by surprise. :func:`fetch_weights` (``workbench weights fetch``)
downloads a hub id into the Hugging Face cache on a machine with internet.
The CLI, the web UI and the request check (:func:`resolve_weights`) before
anything is queued, so a job never fails on every record for want of weights.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal, overload

from workbench.predict.esmfold_options import DEFAULT_WEIGHTS

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
SHORT_NAMES = {"esmfold_v1": DEFAULT_WEIGHTS}
"""Names ``workbench weights fetch`` accepts besides hub ids."""


class EsmFoldWeightsError(FileNotFoundError):
    """ESMFold weights could not be found or loaded; the message says how to get them."""


@overload
def resolve_weights(weights: str, allow_download: Literal[False] = False) -> tuple[Path, bool]: ...
@overload
def resolve_weights(weights: str, allow_download: bool = False) -> tuple[Path | None, bool]: ...
def resolve_weights(weights: str, allow_download: bool = False) -> tuple[Path | None, bool]:
    """Where ``weights`` live on this machine, and whether loading must stay offline.

    Returns
    -------
    folder : Path or None
        Local folder holding ``config.json``; None for a hub id to be downloaded.
    local_only : bool
        Pass as ``local_files_only`` to ``from_pretrained``.

    Raises
    ------
    EsmFoldWeightsError
        For a folder without ``config.json``, or a hub id that is neither cached
        nor allowed to be downloaded.
    """
    path = Path(weights).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise EsmFoldWeightsError(
                f"ESMFold weights folder {str(path)!r} has no config.json; point --weights at the folder "
                "that save_pretrained wrote or that `hf download facebook/esmfold_v1 --local-dir ...` made"
            )
        return path, True
    if weights.startswith((".", "/", "~")) or not _HUB_ID.fullmatch(weights):
        raise EsmFoldWeightsError(missing_weights_message(weights, is_path=True))
    cached = _cached_snapshot(weights)
    if cached is not None:
        return cached, True
    offline = _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE")
    if allow_download and not offline:
        return None, False
    raise EsmFoldWeightsError(missing_weights_message(weights, is_path=False, offline=offline))


def missing_weights_message(weights: str, is_path: bool, offline: bool = False) -> str:
    """What to do when ``weights`` are not on this machine."""
    where = (
        f"there is no folder {weights!r}"
        if is_path
        else f"{weights!r} is not a local folder and is not in the Hugging Face cache ({_hub_cache_dir()})"
    )
    why = " (HF_HUB_OFFLINE is set)" if offline else ""
    return (
        f"ESMFold weights not found: {where}{why}. On a machine with internet, run "
        f"`workbench weights fetch {_short_name(weights) if not is_path else 'esmfold_v1'}` (about 2.8 GB, into "
        "the Hugging Face cache), or download the folder elsewhere (`hf download "
        f"{DEFAULT_WEIGHTS} --local-dir esmfold_v1`), copy it here and pass `--weights PATH`."
    )


def fetch_weights(name: str = "esmfold_v1") -> Path:
    """Download ESMFold weights into the Hugging Face cache (once) and return their folder.

    Parameters
    ----------
    name : str
        ``esmfold_v1`` or a hub id.

    Raises
    ------
    EsmFoldWeightsError
        When ``HF_HUB_OFFLINE`` is set or the download fails (the message says why).
    """
    repo_id = SHORT_NAMES.get(name, name)
    if not _HUB_ID.fullmatch(repo_id):
        raise EsmFoldWeightsError(f"{name!r} is neither one of {', '.join(SHORT_NAMES)} nor a hub id (owner/name)")
    cached = _cached_snapshot(repo_id)
    if cached is not None:
        return cached
    if _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE"):
        raise EsmFoldWeightsError(f"cannot fetch {repo_id}: HF_HUB_OFFLINE is set; unset it on a machine with "
                                  "internet")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id, allow_patterns=["*.json", "*.safetensors", "*.txt"]))
    except Exception as exc:  # network, authentication, disk: one line for the user
        raise EsmFoldWeightsError(f"cannot fetch {repo_id}: {type(exc).__name__}: {exc}") from None


def _short_name(weights: str) -> str:
    return next((short for short, repo in SHORT_NAMES.items() if repo == weights), weights)


def _cached_snapshot(repo_id: str) -> Path | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        return None
    try:
        found = try_to_load_from_cache(repo_id, "config.json")
    except ValueError:  # not a valid repo id
        return None
    return Path(found).parent if isinstance(found, str) else None


def _hub_cache_dir() -> str:
    try:
        from huggingface_hub.constants import HF_HUB_CACHE

        return str(HF_HUB_CACHE)
    except ImportError:  # pragma: no cover
        return "~/.cache/huggingface/hub"


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}
