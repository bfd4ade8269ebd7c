"""Numba settings: one place, parallel picked by size and environment."""

from __future__ import annotations

import os
from pathlib import Path

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


def test_cache_folder_choice_for_a_read_only_install(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("")  # a folder below a file cannot be made, not even by root
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.setattr(_config.tempfile, "tempdir", str(tmp_path / "tmp"))

    assert _config._ensure_cache_folder(str(tmp_path / "writable"), str(tmp_path / "home")) is None
    assert numba.config.CACHE_DIR == ""  # the in-tree folder works: numba's own choice stands
    assert _config.cache_folder() == _config.IN_TREE

    chosen = _config._ensure_cache_folder(str(blocker / "__pycache__"), str(tmp_path / "home"))
    assert chosen == numba.config.CACHE_DIR == str(tmp_path / "home")
    assert _config.cache_folder().startswith(str(tmp_path / "home" / "kernels_"))

    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    chosen = _config._ensure_cache_folder(str(blocker / "__pycache__"), str(blocker / "home"))
    assert chosen == numba.config.CACHE_DIR == str(tmp_path / "tmp" / f"workbench-numba-{os.getuid()}")

    monkeypatch.setattr(numba.config, "CACHE_DIR", "/set/by/the/user")
    assert _config._ensure_cache_folder(str(blocker / "x"), str(blocker / "y")) is None
    assert numba.config.CACHE_DIR == "/set/by/the/user"  # NUMBA_CACHE_DIR is never overridden


def test_home_cache_folder_follows_workbench_home(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    assert _config.home_cache_folder() == str(tmp_path / "kernel-cache")


def test_a_read_only_install_seeds_the_users_cache_with_what_it_ships(tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    for name in ("dssp.assign-384.py311.nbi", "dssp.assign-384.py311.1.nbc", "dssp.cpython-311.pyc"):
        (shipped / name).write_bytes(name.encode())
    home = tmp_path / "home"
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.setattr(_config, "_writable", lambda folder: folder == str(home))  # the install is read-only

    assert _config._ensure_cache_folder(str(shipped), str(home)) == str(home)
    folder = _config.cache_folder()
    assert sorted(os.listdir(folder)) == ["dssp.assign-384.py311.1.nbc", "dssp.assign-384.py311.nbi"]
    assert Path(folder, "dssp.assign-384.py311.nbi").read_bytes() == b"dssp.assign-384.py311.nbi"

    (shipped / "dssp.assign-384.py311.nbi").write_bytes(b"newer")
    assert _config._seed_from(str(shipped), folder) == 0  # what the user's cache has is kept
    assert _config._seed_from(str(tmp_path / "absent"), folder) == 0
