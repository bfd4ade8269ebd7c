"""``workbench api``: the HTTP API served by uvicorn."""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Sequence


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (``127.0.0.1``, ``::1``, ``localhost``).

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(host: str = "127.0.0.1", port: int = 8000, *, store_url: str | None = None,
          results_root: str | os.PathLike[str] | None = None,
          file_roots: Sequence[str | os.PathLike[str]] | None = None) -> int:
    """Serve :func:`workbench.api.app.create_app` with uvicorn until interrupted; the exit status.

    Parameters
    ----------
    host : str
        Loopback by default. Tokens travel in clear over plain HTTP: on another
        address, put a TLS proxy in front (a warning says so).
    port : int
    store_url, results_root, file_roots
        As for :func:`~workbench.api.app.create_app`.
    """
    import uvicorn

    from workbench.api.app import create_app

    app = create_app(store_url, results_root, file_roots=file_roots)
    if not is_loopback(host):
        print(f"workbench api: warning: serving on {host}: tokens travel in clear over HTTP; "
              "put a TLS proxy in front", file=sys.stderr)
    print(f"workbench api: http://{host}:{port} (OpenAPI: /docs, /openapi.json)", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="info")
    return 0
