"""The app's router: ``st.navigation`` over the Submit, Jobs, Results and Compare views."""

from __future__ import annotations

import streamlit as st

from workbench.ui.nav import pages


def run() -> None:
    """Configure the page and run the view the user picked (what ``app.py`` calls)."""
    st.set_page_config(page_title="protein-workbench", page_icon="🧬", layout="wide")
    st.navigation(list(pages().values())).run()
