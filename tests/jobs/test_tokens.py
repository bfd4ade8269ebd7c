"""API tokens in the job store: a secret shown once, kept as its SHA-256, verified, listed, revoked."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from workbench.cli import main
from workbench.jobs.tables import api_tokens_table


def test_a_token_is_kept_only_as_its_digest_and_maps_to_its_owner(store):
    token, secret = store.create_token("alice", "laptop")
    assert secret.startswith("wbt_") and len(secret) > 40
    assert (token.owner, token.name, token.revoked, token.last_used_at) == ("alice", "laptop", False, None)
    with store.engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(select(api_tokens_table))]
    assert len(rows) == 1 and rows[0]["sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in str(value) for value in rows[0].values()), "the secret itself must not be stored"
    other, other_secret = store.create_token("bob")
    assert other_secret != secret and other.id != token.id
    assert store.verify_token(secret) == "alice" and store.verify_token(other_secret) == "bob"
    for wrong in ("", "wbt_", secret[:-1], secret + "x", secret.removeprefix("wbt_"), "Bearer " + secret):
        assert store.verify_token(wrong) is None


def test_use_is_recorded_at_most_once_a_minute_and_revocation_refuses(store):
    token, secret = store.create_token("alice")
    start = datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert store.verify_token(secret, now=start) == "alice"
    assert store.list_tokens("alice")[0].last_used_at == start
    store.verify_token(secret, now=start + timedelta(seconds=30))
    assert store.list_tokens("alice")[0].last_used_at == start
    store.verify_token(secret, now=start + timedelta(minutes=2))
    assert store.list_tokens("alice")[0].last_used_at == start + timedelta(minutes=2)
    revoked = store.revoke_token(token.id)
    assert revoked.revoked and store.verify_token(secret) is None
    assert [t.revoked for t in store.list_tokens()] == [True]
    assert store.list_tokens("bob") == []
    with pytest.raises(KeyError, match="no token"):
        store.revoke_token("0" * 32)
    with pytest.raises(ValueError, match="not a token id"):
        store.revoke_token("../x")
    for owner in ("", "al\x00ice"):
        with pytest.raises(ValueError, match="owner"):
            store.create_token(owner)


def test_token_commands(sqlite_store, capsys):
    url = sqlite_store.url.render_as_string(hide_password=False)
    assert main(["token", "create", "--owner", "alice", "--name", "laptop", "--store", url]) == 0
    secret, note = capsys.readouterr().out.splitlines()
    assert sqlite_store.verify_token(secret) == "alice" and "shown once" in note
    token_id = note.split()[1]
    assert main(["token", "list", "--store", url]) == 0
    listed = capsys.readouterr().out
    assert token_id in listed and "alice" in listed and "active" in listed and secret not in listed
    assert main(["token", "revoke", token_id, "--store", url]) == 0
    assert "revoked" in capsys.readouterr().out
    assert sqlite_store.verify_token(secret) is None
    assert main(["token", "create", "--store", url]) == 1
    assert capsys.readouterr().err.strip() == "workbench token: error: token create needs --owner NAME"
    assert main(["token", "revoke", "f" * 32, "--store", url]) == 1
    assert capsys.readouterr().err.count("\n") == 1
