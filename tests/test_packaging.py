"""The built wheel installs kernels/ and pipelines/ as workbench.kernels / workbench.pipelines."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
         str(REPO)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    (path,) = out.glob("protein_workbench-*.whl")
    return path


def package_folders() -> set[str]:
    """Dotted names of every package folder in the source tree, as installed."""
    names = set()
    for top, installed in (("workbench", "workbench"), ("kernels", "workbench.kernels"),
                           ("pipelines", "workbench.pipelines")):
        for init in (REPO / top).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / top).parts
            names.add(".".join((installed, *relative)))
    return names


def test_wheel_layout(wheel):
    files = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in files if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"workbench"}, "kernels and pipelines must not install at the top level"
    packages = {os.path.dirname(name).replace("/", ".") for name in files if name.endswith("__init__.py")}
    assert packages == package_folders(), "pyproject's package list and the source tree disagree"
    entry_points = next(n for n in files if n.endswith("entry_points.txt"))
    assert "workbench = workbench.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    # the viewer's 3Dmol.js is package data: without it the installed UI shows no structure offline
    assert "workbench/ui/static/3Dmol-min.js" in files
    # the batch report's template is package data too
    assert "workbench/templates/report.html.j2" in files
    # the job store's migrations: without them an installed workbench cannot create or upgrade a store
    assert {"workbench/jobs/migrations/env.py", "workbench/jobs/migrations/script.py.mako",
            "workbench/jobs/migrations/versions/0001_initial.py",
            "workbench/jobs/migrations/versions/0002_api_tokens.py", "workbench/api/app.py"} <= set(files)


def test_wheel_imports_kernels_and_pipelines(wheel, tmp_path):
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = (
        "import workbench, workbench.kernels, workbench.pipelines, importlib.util;"
        "print(workbench.__file__); print(workbench.kernels.__file__); print(workbench.pipelines.__file__);"
        "spec = importlib.util.find_spec('kernels');"
        "print(spec is None or 'site-packages' in str(spec.origin))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(target)},
    )
    assert result.returncode == 0, result.stderr
    *paths, no_top_level_kernels = result.stdout.split()
    for path in paths:
        assert Path(path).is_relative_to(target), path
    assert no_top_level_kernels == "True"
