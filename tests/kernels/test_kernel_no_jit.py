"""Run the small kernel tests again as plain Python (NUMBA_DISABLE_JIT=1).

The kernels are then executed by the interpreter, so coverage sees their lines
and any behaviour that only numba's typing gives (integer wrap-around, implicit
casts) would show up as a difference.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="already running without JIT")
def test_small_kernel_tests_pass_without_jit() -> None:
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(HERE), "-m", "nojit", "-q", "-p", "no:cacheprovider", "-x"],
        cwd=HERE.parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
