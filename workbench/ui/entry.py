"""Script that ``workbench ui`` hands to ``streamlit run`` (installed with the package, unlike ``app.py``).

Streamlit runs it as ``__main__``; importing it (pytest's doctest collection) does nothing.
"""

from workbench.ui.router import run

if __name__ == "__main__":
    run()
