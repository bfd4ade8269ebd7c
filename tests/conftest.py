"""Shared fixtures: the real structures in ../shared/data, skipped cleanly when absent; the user's state kept apart.

A test run never touches the user's ``~/.workbench`` or a lab's job store: the
session-wide :func:`isolated_workbench_home` points ``$WORKBENCH_HOME`` at a
temporary folder (a test may set its own) and unsets ``$WORKBENCH_STORE_URL``;
:func:`pytest_sessionfinish` fails the run if ``~/.workbench`` appeared or changed anyway.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Environment the tests run without: the user's state and limits, which would change what the tests see.
USER_VARIABLES = ("WORKBENCH_STORE_URL", "WORKBENCH_STORE_URL_FILE", "WORKBENCH_OWNER", "WORKBENCH_MAX_INPUT_BYTES",
                  "WORKBENCH_MAX_ATOMS", "WORKBENCH_ADMINS", "WORKBENCH_FILE_ROOTS", "WORKBENCH_GROUP",
                  "WORKBENCH_CACHE")
_HOME_BEFORE = pytest.StashKey[dict[str, tuple[int, int]] | None]()


def real_workbench_home() -> Path:
    """Where the workbench keeps state when ``$WORKBENCH_HOME`` is unset: ``~/.workbench`` of the real home."""
    return Path.home() / ".workbench"


def home_snapshot(folder: Path) -> dict[str, tuple[int, int]] | None:
    """Size and modification time of ``folder`` and each entry in it (not recursive); None when it is absent."""
    if not folder.exists():
        return None
    entries = [folder, *folder.iterdir()] if folder.is_dir() else [folder]
    return {str(entry.relative_to(folder)): (entry.lstat().st_size, entry.lstat().st_mtime_ns) for entry in entries}


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_HOME_BEFORE] = home_snapshot(real_workbench_home())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when it created or changed the real ``~/.workbench``."""
    before = session.config.stash.get(_HOME_BEFORE, None)
    after = home_snapshot(real_workbench_home())
    if after is not None and after != before:
        what = "created" if before is None else "changed"
        message = (f"this test run {what} {real_workbench_home()}: a test used the user's workbench home "
                   "(tests must use $WORKBENCH_HOME, which tests/conftest.py points at a temporary folder)")
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"ERROR: {message}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", autouse=True)
def isolated_workbench_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``$WORKBENCH_HOME`` in a temporary folder for the whole run, and no job store URL or limits of the user.

    Subprocesses started by tests inherit it. A test that sets its own
    ``WORKBENCH_HOME`` (``monkeypatch.setenv``) gets its own, and this one back afterwards.
    """
    home = tmp_path_factory.mktemp("workbench_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKBENCH_HOME", str(home))
        for name in USER_VARIABLES:
            patch.delenv(name, raising=False)
        yield home


def shared_data_dir() -> Path | None:
    """``$WORKBENCH_SHARED_DATA`` or ``../shared/data`` beside the repository, if it exists."""
    candidate = Path(os.environ.get("WORKBENCH_SHARED_DATA", REPO.parent / "shared" / "data"))
    return candidate if candidate.is_dir() else None


def shared_files(folder: str, *patterns: str) -> list[Path]:
    """Files of a shared-data folder for parametrisation (empty when the folder is absent)."""
    root = shared_data_dir()
    if root is None:
        return []
    return sorted(p for pattern in patterns for p in (root / folder).glob(pattern))


@pytest.fixture
def shared_data() -> Path:
    root = shared_data_dir()
    if root is None:
        pytest.skip("../shared/data is not beside this checkout (set WORKBENCH_SHARED_DATA to use it)")
    return root


def pdbfixer_1bhl() -> Path:
    """PDBFixer's copy of 1BHL (HIV-1 integrase core domain), a dependency's file."""
    import pdbfixer

    return Path(pdbfixer.__file__).parent / "tests" / "data" / "1BHL.pdb"


def renumber_from_one(structure):
    """Residues numbered 1, 2, ... in file order, chain by chain, as a predictor numbers its model."""
    import dataclasses

    import numpy as np

    new_id = np.zeros(len(structure.residues), dtype=np.int64)
    for chain in structure.chains:
        in_chain = np.flatnonzero(structure.residues.chain_id == chain)
        new_id[in_chain] = np.arange(1, len(in_chain) + 1)
    return dataclasses.replace(
        structure, res_id=new_id[structure.residue_index], ins_code=np.full(len(structure), "")
    )
