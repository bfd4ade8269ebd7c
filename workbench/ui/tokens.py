"""API tokens view: the signed-in user creates, lists and revokes their own tokens for the HTTP API.

A token's secret is shown once, right after it is made (the store keeps only
its SHA-256), and reaches only its owner's jobs, as ``workbench token`` on the
command line. An admin manages their own tokens here too; everyone's are
listed by ``workbench token list``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.ui import auth, data

#: Where the secret of the token just made waits for the next run of the page (once).
NEW_SECRET = "tokens_new_secret"


def _create(viewer: auth.Viewer) -> None:
    name = str(st.session_state.get("tokens_name", ""))
    try:
        token, secret = data.create_token(viewer, name)
    except ValueError as exc:
        st.session_state["tokens_message"] = f"No token made: {data.plain_text(exc)}"
        return
    st.session_state[NEW_SECRET] = (token.id, secret)
    st.session_state["tokens_name"] = ""


def _revoke(viewer: auth.Viewer, token_id: str) -> None:
    try:
        data.revoke_token(viewer, token_id)
    except (KeyError, ValueError) as exc:
        st.session_state["tokens_message"] = f"Could not revoke {token_id[:8]}: {data.plain_text(exc)}"
    else:
        st.session_state["tokens_message"] = f"Token {token_id[:8]} revoked: it is refused from now on."


def page() -> None:
    """Render the API tokens view."""
    viewer = auth.current_viewer()
    st.title("API tokens")
    st.caption("A token lets a program (a notebook, a LIMS, Galaxy) use the workbench's HTTP API as you: "
               "`Authorization: Bearer <token>`, or `WorkbenchClient(url, token)` in Python. "
               "It reaches only your jobs.")
    message = st.session_state.pop("tokens_message", None)
    if message:
        st.info(message)
    fresh = st.session_state.pop(NEW_SECRET, None)
    if fresh is not None:
        token_id, secret = fresh
        st.success(f"Token {token_id[:8]} made. Copy it now: it is not shown again (only its SHA-256 is kept).")
        st.code(secret, language=None)
    with st.form("tokens_create", clear_on_submit=False, border=True):
        st.text_input("Name (what it is for, e.g. laptop)", key="tokens_name", max_chars=200)
        st.form_submit_button("Create a token", on_click=_create, args=(viewer,))
    tokens = data.tokens_for(viewer)
    if not tokens:
        st.info("You have no tokens yet.")
        return
    st.dataframe(pd.DataFrame([{"id": t.id[:8], "name": t.name, "created": t.created_at,
                                "last used": t.last_used_at, "state": "revoked" if t.revoked else "active"}
                               for t in tokens]), hide_index=True)
    active = {t.id: f"{t.id[:8]} {t.name}".strip() for t in tokens if not t.revoked}
    if active:
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        with left:
            chosen = st.selectbox("Revoke", list(active), format_func=lambda token_id: active[token_id],
                                  key="tokens_revoke_choice")
        with right:
            st.button("Revoke", key="tokens_revoke", on_click=_revoke, args=(viewer, chosen), type="secondary",
                      disabled=chosen is None)
