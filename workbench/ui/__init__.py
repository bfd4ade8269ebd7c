"""The Streamlit web UI: Submit, Jobs, Results and Compare views over the job store and result folders.

The UI never computes a prediction: it writes job requests to
:class:`workbench.jobs.store.JobStore` and reads the folders the dispatcher
(``workbench serve``) writes. ``app.py`` at the repository root and
:mod:`workbench.ui.entry` (the script ``workbench ui`` starts) only call
:func:`workbench.ui.router.run`, which asks :mod:`workbench.ui.auth` who is signed in
before any view runs; every view reads jobs scoped to that viewer. Importing this
package imports nothing heavy.
"""
