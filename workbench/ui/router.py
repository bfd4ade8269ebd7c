"""The app's router: sign-in first, then ``st.navigation`` over the views (Submit, Jobs, ..., API tokens)."""

from __future__ import annotations

import streamlit as st

from workbench.ui import auth
from workbench.ui.nav import pages


def run() -> None:
    """Configure the page, identify the viewer (or show the sign-in), and run the view the user picked."""
    st.set_page_config(page_title="protein-workbench", page_icon="🧬", layout="wide")
    viewer = auth.current_viewer()  # stops here with the sign-in button when nobody is signed in
    auth.sidebar(viewer)
    st.navigation(list(pages().values())).run()
