"""State private to the account (or readable by a lab's group); the store URL from a file or ``.pgpass``.

Modes are read back with ``os.stat``; the group case uses this process's own
primary group, which the account always belongs to.
"""

from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

import pdbfixer
import pytest
from sqlalchemy.engine import make_url

from tests.jobs.conftest import POSTGRES_ENV
from workbench import config
from workbench.cli import main
from workbench.jobs.store import JobStore
from workbench.state_folders import exposure
from workbench.ui.uploads import save_template

REPOSITORY = Path(__file__).resolve().parents[1]
TEMPLATE = Path(pdbfixer.__file__).parent / "tests" / "data" / "1BHL.pdb"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "deep" / "workbench-home"
    monkeypatch.setenv("WORKBENCH_HOME", str(folder))
    monkeypatch.delenv("WORKBENCH_GROUP", raising=False)
    return folder


def test_a_new_store_and_its_folders_are_the_accounts_only(home):
    with JobStore() as store:
        store.submit({"fasta": ">a\nMKV\n"}, {}, name="first")
        files = sorted(home.glob("jobs.sqlite*"))  # while open: SQLite removes its -wal and -shm on close
        assert {path.name for path in files} == {"jobs.sqlite", "jobs.sqlite-wal", "jobs.sqlite-shm"}
        assert {path.name: _mode(path) for path in files} == {path.name: 0o600 for path in files}
    assert _mode(home) == _mode(home.parent) == 0o700  # every folder made, not only the last


def test_a_labs_group_may_read_folders_and_store_but_not_change_them(home, monkeypatch):
    group = grp.getgrgid(os.getgid())
    monkeypatch.setenv("WORKBENCH_GROUP", group.gr_name)
    with JobStore() as store:
        store.submit({"fasta": ">a\nMKV\n"}, {}, name="first")
    assert _mode(home) == 0o2750 and home.stat().st_gid == group.gr_gid
    assert _mode(home / "jobs.sqlite") == 0o640 and (home / "jobs.sqlite").stat().st_gid == group.gr_gid
    assert exposure(home) is None


def test_an_unknown_group_is_refused_in_one_line(home, monkeypatch, capsys):
    monkeypatch.setenv("WORKBENCH_GROUP", "no-such-group-here")
    assert main(["jobs", "list"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "workbench jobs: error: WORKBENCH_GROUP='no-such-group-here': no such group on this machine"
    assert not home.exists()


def test_uploads_go_to_private_folders(home):
    path = save_template(TEMPLATE.read_bytes(), home, owner="alice")
    assert path.read_bytes() == TEMPLATE.read_bytes()
    assert _mode(path.parent) == _mode(home / "uploads") == _mode(home) == 0o700


def test_the_store_url_may_come_from_a_file(home, tmp_path, monkeypatch, capsys):
    database = tmp_path / "from-file.sqlite"
    secret = tmp_path / "store-url"
    secret.write_text(f"sqlite:///{database}\n")
    monkeypatch.setenv("WORKBENCH_STORE_URL_FILE", str(secret))
    assert config.store_url() == f"sqlite:///{database}"
    assert main(["submit", str(REPOSITORY / "examples" / "data" / "integrase_variants.fasta"), "--name", "filed"]) == 0
    with JobStore(f"sqlite:///{database}") as store:
        assert [job.name for job in store.list_jobs()] == ["filed"]
    monkeypatch.setenv("WORKBENCH_STORE_URL", f"sqlite:///{tmp_path / 'wins.sqlite'}")
    assert config.store_url() == f"sqlite:///{tmp_path / 'wins.sqlite'}"  # the variable itself comes first


@pytest.mark.parametrize(("content", "problem"), [(None, "cannot read it (No such file or directory)"),
                                                   ("\n", "its first line holds no store URL")])
def test_an_unusable_store_url_file_is_refused_in_one_line_without_its_content(tmp_path, monkeypatch, capsys,
                                                                                content, problem):
    secret = tmp_path / "store-url"
    if content is not None:
        secret.write_text(content)
    monkeypatch.setenv("WORKBENCH_STORE_URL_FILE", str(secret))
    assert main(["jobs", "list"]) == 1
    assert capsys.readouterr().err.strip() == f"workbench jobs: error: WORKBENCH_STORE_URL_FILE={secret}: {problem}"


def test_a_postgresql_url_without_a_password_takes_it_from_pgpass(tmp_path, monkeypatch, capsys):
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"set {POSTGRES_ENV} to a PostgreSQL server; .ci/run starts one")
    url = make_url(base)
    if not url.password:
        pytest.skip(f"{POSTGRES_ENV} holds no password to move into a .pgpass")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"{url.host or 'localhost'}:{url.port or 5432}:{url.database}:{url.username}:{url.password}\n")
    pgpass.chmod(0o600)  # libpq ignores a password file others can read
    monkeypatch.setenv("WORKBENCH_STORE_URL", url._replace(password=None).render_as_string(hide_password=False))
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    assert main(["store", "current"]) == 1  # no password anywhere: the server refuses
    assert "password" in capsys.readouterr().err
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    assert main(["store", "current"]) == 0
    assert "revision" in capsys.readouterr().out
