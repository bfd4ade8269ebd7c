"""Streamlit entry point: only the router over the views in ``workbench/ui/`` (``streamlit run app.py``)."""

from workbench.ui.router import run

if __name__ == "__main__":
    run()
