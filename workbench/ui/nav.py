"""The app's pages and links between them (kept apart from the views to avoid import cycles)."""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit.errors import StreamlitAPIException

#: Page names in the order of the navigation menu.
PAGE_NAMES = ("submit", "jobs", "results", "compare", "tokens")


def pages() -> dict[str, Any]:
    """The ``st.Page`` of every view, by name (Submit is the default page)."""
    from workbench.ui import compare, jobs, results, submit, tokens

    return {
        "submit": st.Page(submit.page, title="Submit", icon=":material/upload:", url_path="submit", default=True),
        "jobs": st.Page(jobs.page, title="Jobs", icon=":material/list:", url_path="jobs"),
        "results": st.Page(results.page, title="Results", icon=":material/biotech:", url_path="results"),
        "compare": st.Page(compare.page, title="Compare", icon=":material/compare:", url_path="compare"),
        "tokens": st.Page(tokens.page, title="API tokens", icon=":material/key:", url_path="tokens"),
    }


def link_to(name: str, label: str, *, icon: str | None = None, query_params: dict[str, str] | None = None) -> None:
    """A link to another view; shown only when the app runs under the router (not in single-view tests)."""
    try:
        st.page_link(pages()[name], label=label, icon=icon, query_params=query_params)
    except StreamlitAPIException:
        st.caption(f"{label}: open the {name.title()} page.")
