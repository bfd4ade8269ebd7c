"""The Streamlit web UI: Submit, Jobs, Results and Compare views over the job store and result folders.

The UI never computes a prediction: it writes job requests to
:class:`workbench.jobs.store.JobStore` and reads the folders the dispatcher
(``workbench serve``) writes. ``app.py`` at the repository root and
:mod:`workbench.ui.entry` (the script ``workbench ui`` starts) only call
:func:`workbench.ui.router.run`. Importing this package imports nothing heavy.
"""
