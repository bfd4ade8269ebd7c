"""Fixtures of the analysis tests: structures from ../shared/data, read once per session."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

import workbench
from tests.conftest import shared_data_dir


@cache
def _read(path: Path) -> workbench.Structure:
    return workbench.read_structure(path)


@pytest.fixture
def read_shared(shared_data: Path) -> Callable[[str], workbench.Structure]:
    """Read ``../shared/data/<relative path>`` (cached); the test skips when the folder is absent."""

    def read(relative: str) -> workbench.Structure:
        return _read(shared_data / relative)

    return read


__all__ = ["shared_data_dir"]
