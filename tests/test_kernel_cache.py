"""The kernel cache: compiling ahead of use, its status, and the message while a run compiles (issues 15, 18)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from workbench import kernel_cache
from workbench.kernels import _config

WORKBENCH = str(Path(sys.executable).parent / "workbench")

_FIRST_CALL = textwrap.dedent("""
    import numpy as np
    from workbench.kernel_cache import announce_compilation
    announce_compilation()
    from workbench.kernels import geometry
    print(geometry.radius_of_gyration(np.ones((4, 3), np.float32), np.ones(4, np.float32)))
""")


def first_call(cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _FIRST_CALL], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, NUMBA_CACHE_DIR=str(cache)))


def test_a_compiling_run_says_so_and_a_cached_run_does_not(tmp_path):
    built = tmp_path / "built"
    cold = first_call(built)
    assert cold.returncode == 0, cold.stderr
    assert "compiling kernels: geometry (first run only, about" in cold.stderr
    (index,) = built.rglob("geometry.radius_of_gyration-*.nbi")  # cached where NUMBA_CACHE_DIR says
    warm = first_call(built)
    assert warm.returncode == 0 and warm.stdout == cold.stdout
    assert "compiling" not in warm.stderr

    # what a read-only install does with the cache it ships: copy the files into the user's folder, compile nothing
    seeded = tmp_path / "seeded"
    assert _config._seed_from(str(index.parent), str(seeded / index.parent.name)) >= 2
    copied = first_call(seeded)
    assert copied.returncode == 0 and copied.stdout == cold.stdout
    assert "compiling" not in copied.stderr


def test_status_names_the_folder_and_what_is_not_cached(tmp_path):
    done = subprocess.run([WORKBENCH, "kernels", "status", "--json"], capture_output=True, text=True, check=True,
                          env=dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path)))
    status = json.loads(done.stdout)
    assert status["folder"].startswith(str(tmp_path))
    assert status["cold"] == list(kernel_cache.KERNEL_MODULES)
    assert status["seconds"] == pytest.approx(sum(kernel_cache.COMPILE_SECONDS.values()))


def test_the_cache_folder_cannot_change_once_kernels_are_defined(tmp_path):
    import workbench.kernels.geometry  # noqa: F401  (defined: bound to this process's folder)

    with pytest.raises(RuntimeError, match="before the kernels are imported"):
        kernel_cache.compile_kernels(tmp_path / "elsewhere")


@pytest.mark.slow
def test_compile_fills_an_empty_cache_folder(tmp_path):
    done = subprocess.run([WORKBENCH, "kernels", "compile", "--cache-dir", str(tmp_path), "--json"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout)["modules"]) == sorted(kernel_cache.KERNEL_MODULES)
    status = subprocess.run([WORKBENCH, "kernels", "status", "--json"], capture_output=True, text=True, check=True,
                            env=dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path)))
    assert json.loads(status.stdout)["cold"] == []
