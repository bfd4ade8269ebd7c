"""A test run keeps to temporary folders: never the user's ``~/.workbench``, never tracked files.

``tests/conftest.py`` points ``$WORKBENCH_HOME`` at a temporary folder for the
whole session and fails the run if the real ``~/.workbench`` appears or changes;
the browser test writes its screenshots to a temporary folder unless
``$WORKBENCH_SCREENSHOTS`` names one.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, home_snapshot, real_workbench_home
from tests.ui import test_e2e_browser as e2e
from workbench.config import workbench_home
from workbench.jobs.store import default_url


def test_the_session_home_is_temporary(isolated_workbench_home):
    assert workbench_home() == isolated_workbench_home != real_workbench_home()
    assert str(isolated_workbench_home) in default_url()
    assert "WORKBENCH_STORE_URL" not in os.environ


def test_a_test_may_set_its_own_home(tmp_path, monkeypatch, isolated_workbench_home):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "mine"))
    assert workbench_home() == tmp_path / "mine"


def test_a_cli_command_uses_the_session_home_not_the_real_one(tmp_path, isolated_workbench_home):
    """``workbench jobs list`` opens the default store: in the session's home, with a fake ``HOME`` left empty."""
    fake_home = tmp_path / "fake_home"
    fake_home.mkdir()
    before = home_snapshot(real_workbench_home())
    result = subprocess.run([sys.executable, "-m", "workbench.cli", "jobs", "list"], capture_output=True, text=True,
                            env=os.environ | {"HOME": str(fake_home)}, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert (isolated_workbench_home / "jobs.sqlite").is_file()
    assert list(fake_home.iterdir()) == []
    assert home_snapshot(real_workbench_home()) == before


INNER_TESTS = '''
import os
from pathlib import Path


def test_uses_the_default_home():
    assert os.environ["WORKBENCH_HOME"] != str(Path.home() / ".workbench")
    if os.environ.get("CREATE_REAL_HOME"):
        (Path.home() / ".workbench").mkdir()
'''


@pytest.mark.parametrize("create", [False, True], ids=["untouched", "created"])
def test_a_run_that_creates_the_real_home_fails(tmp_path, create):
    """An inner pytest run with this conftest and a fake ``HOME``: it fails when a test creates ``~/.workbench``."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    (project / "test_inner.py").write_text(INNER_TESTS)
    fake_home = tmp_path / "fake_home"
    fake_home.mkdir()
    env = os.environ | {"HOME": str(fake_home), "PYTHONPATH": str(REPO)}
    env.pop("WORKBENCH_HOME", None)
    if create:
        env["CREATE_REAL_HOME"] = "1"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)],
                            cwd=project, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert "1 passed" in result.stdout, result.stdout + result.stderr
    if create:
        assert result.returncode == 1
        assert f"this test run created {fake_home / '.workbench'}" in result.stdout
    else:
        assert result.returncode == 0, result.stdout


def test_screenshots_stay_out_of_the_repository_unless_asked(tmp_path, monkeypatch):
    monkeypatch.delenv(e2e.SCREENSHOTS_ENV, raising=False)
    assert e2e.screenshot_folder(tmp_path) == tmp_path / "screenshots"
    monkeypatch.setenv(e2e.SCREENSHOTS_ENV, str(tmp_path / "chosen"))
    assert e2e.screenshot_folder(tmp_path) == tmp_path / "chosen"
    monkeypatch.setenv(e2e.SCREENSHOTS_ENV, "docs/screenshots")
    assert e2e.screenshot_folder(tmp_path) == REPO / "docs" / "screenshots"
