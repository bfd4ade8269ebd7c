"""The HTTP API's fixtures: a store with tokens for alice, bob and an admin, allowed folders, the app."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import pdbfixer_1bhl
from workbench.api.app import create_app
from workbench.jobs.store import JobStore


@dataclass
class Server:
    """What a test needs: the app's client, the tokens, the store, the folders."""

    http: TestClient
    store: JobStore
    store_url: str
    results: Path
    home: Path
    roots: Path
    tokens: dict[str, str]

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


@pytest.fixture
def server(tmp_path, monkeypatch) -> Iterator[Server]:
    home = tmp_path / "home"
    monkeypatch.setenv("WORKBENCH_HOME", str(home))  # uploads go to $WORKBENCH_HOME/uploads
    monkeypatch.setenv("WORKBENCH_ADMINS", " root , other-admin")
    monkeypatch.delenv("WORKBENCH_FILE_ROOTS", raising=False)
    roots = tmp_path / "weights"
    roots.mkdir()
    shutil.copy(pdbfixer_1bhl(), roots / "1bhl.pdb")
    store_url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    results = tmp_path / "results"
    app = create_app(store_url, results, file_roots=[roots])
    with JobStore(store_url) as store, TestClient(app) as http:
        tokens = {user: store.create_token(user, "test")[1] for user in ("alice", "bob", "root")}
        yield Server(http, store, store_url, results, home, roots, tokens)
