"""Shared fixtures of the kernel tests.

Tests marked ``nojit`` use small inputs and run a second time, in a subprocess
with ``NUMBA_DISABLE_JIT=1`` (see ``test_no_jit.py``), so that the kernels'
Python source is executed as Python as well (coverage sees it, and numba-only
behaviour cannot hide a bug).
"""

from __future__ import annotations

import numpy as np
import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "nojit: small kernel test, also run with NUMBA_DISABLE_JIT=1")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)
