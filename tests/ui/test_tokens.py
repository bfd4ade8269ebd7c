"""The API tokens view (Streamlit's AppTest): a user makes, sees and revokes only their own tokens.

Each token made here is then tried against the real HTTP API app (FastAPI's
TestClient over the same store): accepted while active, refused once revoked.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.ui.conftest import run_view
from workbench.api.app import create_app
from workbench.jobs.store import JobStore, token_digest
from workbench.ui import auth, data


def _texts(at) -> list[str]:
    return [element.value for element in [*at.success, *at.info, *at.markdown, *at.caption]]


@pytest.fixture
def api(workbench_home):
    with TestClient(create_app(None, workbench_home / "results")) as http:
        yield http


def _me(api, secret: str) -> int:
    return api.get("/me", headers={"Authorization": f"Bearer {secret}"}).status_code


def test_a_token_made_in_the_ui_is_shown_once_and_works_until_revoked(workbench_home, monkeypatch, api):
    monkeypatch.setenv("WORKBENCH_OWNER", "alice")
    at = run_view("tokens")
    assert any("no tokens yet" in text for text in _texts(at))
    at.text_input(key="tokens_name").input("laptop ![x](http://example.org/p.png)")
    at.button[0].click().run()  # the form's submit button
    assert not at.exception
    (shown,) = at.code
    secret = shown.value
    assert secret.startswith("wbt_") and len(secret) == 4 + 43
    with JobStore() as store:
        (token,) = store.list_tokens()
        assert (token.owner, token.name) == ("alice", "laptop ![x](http://example.org/p.png)")
        assert store.verify_token(secret) == "alice"
    assert token_digest(secret) != secret
    assert api.get("/me", headers={"Authorization": f"Bearer {secret}"}).json() == {"owner": "alice", "admin": False}
    listed = at.dataframe[0].value
    assert list(listed["name"]) == ["laptop ![x](http://example.org/p.png)"]  # a table cell: text, never Markdown
    assert list(listed["state"]) == ["active"]

    at.run()
    assert list(at.code) == []  # shown once: a rerun of the page no longer has it

    at.selectbox(key="tokens_revoke_choice").select(token.id)
    at.button(key="tokens_revoke").click().run()
    assert any(f"Token {token.id[:8]} revoked" in text for text in _texts(at))
    assert list(at.dataframe[0].value["state"]) == ["revoked"]
    assert _me(api, secret) == 401


def test_another_users_tokens_are_neither_listed_nor_revocable(workbench_home, monkeypatch, api):
    with JobStore() as store:
        bob, bob_secret = store.create_token("bob", "bob's notebook")
    monkeypatch.setenv("WORKBENCH_OWNER", "alice")
    at = run_view("tokens")
    assert any("no tokens yet" in text for text in _texts(at))
    assert list(at.dataframe) == []
    alice = auth.Viewer(user_id="alice", display_name="alice")
    with pytest.raises(KeyError, match="no token"):
        data.revoke_token(alice, bob.id)
    admin = auth.Viewer(user_id="root", display_name="root", is_admin=True)
    with pytest.raises(KeyError, match="no token"):  # an admin manages only their own here (`workbench token` for all)
        data.revoke_token(admin, bob.id)
    assert _me(api, bob_secret) == 200
