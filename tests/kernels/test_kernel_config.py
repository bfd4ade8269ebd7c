"""Numba settings: one place, parallel picked by size and environment."""

from __future__ import annotations

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
