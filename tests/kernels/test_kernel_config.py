"""Numba settings: one place, parallel picked by size and environment."""

from __future__ import annotations

import os

import numba
import pytest

from workbench.kernels import _config


def test_settings_keep_ieee_nan_semantics() -> None:
    assert "nnan" not in _config.FASTMATH and "ninf" not in _config.FASTMATH and "afn" not in _config.FASTMATH
    assert _config.CACHE


def test_use_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not _config.use_parallel(10)
    monkeypatch.setenv("WORKBENCH_NUMBA_PARALLEL", "0")
    assert not _config.use_parallel(10**9)
    monkeypatch.delenv("WORKBENCH_NUMBA_PARALLEL")
    expected = numba.config.NUMBA_NUM_THREADS > 1 and numba.get_num_threads() > 1
    assert _config.use_parallel(10**9) == expected


def test_variants_pick() -> None:
    variants = _config.jit_variants(lambda x: x + 1)
    assert variants.pick(1) is variants.serial
    assert variants.serial(1) == 2


def test_a_temporary_cache_folder_when_numba_has_no_writable_one(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("")  # a folder below a file cannot be made, not even by root
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.setattr(_config.tempfile, "tempdir", str(tmp_path / "tmp"))

    assert _config._ensure_cache_folder(str(tmp_path / "writable"), str(blocker / "cache")) is None
    assert numba.config.CACHE_DIR == ""  # the in-tree folder works: numba's own choice stands

    chosen = _config._ensure_cache_folder(str(blocker / "__pycache__"), str(blocker / "cache"))
    assert chosen == numba.config.CACHE_DIR == str(tmp_path / "tmp" / f"workbench-numba-{os.getuid()}")

    monkeypatch.setattr(numba.config, "CACHE_DIR", "/set/by/the/user")
    assert _config._ensure_cache_folder(str(blocker / "x"), str(blocker / "y")) is None
    assert numba.config.CACHE_DIR == "/set/by/the/user"  # NUMBA_CACHE_DIR is never overridden
