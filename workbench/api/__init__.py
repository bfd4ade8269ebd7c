"""The HTTP API: FastAPI over the same library calls the web UI makes, and a Python client for it.

- :mod:`workbench.api.app`: :func:`create_app` (``workbench api`` serves it with uvicorn).
- :mod:`workbench.api.models`: the JSON bodies, as pydantic models built from the project's types.
- :mod:`workbench.api.client`: :class:`~workbench.api.client.WorkbenchClient`.

File options of a submitted request are kept inside the allowed folders by
:mod:`workbench.confine`, as in the web UI.

Importing this package imports neither FastAPI nor httpx.
"""
