"""Work functions for the engine tests; module-level so Dask worker processes can import them."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from workbench.files import atomic_write_bytes
from workbench.pipelines.engine import ItemFailed


def square(payload: dict, folder: Path) -> dict:
    """Write ``output.json`` with payload squared; log the call so tests can count executions."""
    log = Path(payload["log"])
    with open(log, "a") as handle:  # one line per execution, O_APPEND so lines never interleave
        handle.write(f"{folder.name} {os.getpid()}\n")
    time.sleep(payload.get("sleep", 0.0))
    if payload.get("fail"):
        raise ItemFailed(f"item {folder.name}: asked to fail")
    if payload.get("crash"):
        raise ZeroDivisionError("division by zero")
    value = payload["value"] ** 2
    atomic_write_bytes(folder / "output.json", json.dumps({"square": value}).encode())
    return {"square": value, "pid": os.getpid()}


def calls(log: Path) -> list[str]:
    """Item keys in the order they were executed."""
    return [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []
