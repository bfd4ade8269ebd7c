"""``workbench ui``: start the Streamlit app (and say how to start a dispatcher when none is running)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

#: The script Streamlit runs: installed with the package (``app.py`` at the repository root is not).
ENTRY = Path(__file__).resolve().with_name("entry.py")
#: Largest upload the server accepts, in MB (the views check tighter limits per kind of file).
MAX_UPLOAD_MB = 20


def dispatcher_running(store_url: str | None = None) -> bool:
    """Whether a dispatcher holds a live lease on a running job (a cheap hint, not a guarantee).

    An idle dispatcher holds no lease, so False means "none seen", not "none running".
    """
    try:
        from workbench.jobs.retry import Backoff
        from workbench.jobs.store import JobStore

        with JobStore(store_url, retry=Backoff(give_up_after=0.0)) as store:  # a hint: no waiting out an outage
            running = store.list_jobs(status="running", limit=20)
    except Exception:  # an unreachable store is the UI's to report, not the launcher's
        return False
    now = datetime.now(UTC)
    return any(job.lease_expires is not None and job.lease_expires > now for job in running)


def command(port: int = 8501, address: str = "127.0.0.1", headless: bool = True) -> list[str]:
    """The ``python -m streamlit run`` command line for the app.

    Examples
    --------
    >>> command(8600)[1:4] == ["-m", "streamlit", "run"]
    True
    """
    return [
        sys.executable, "-m", "streamlit", "run", str(ENTRY),
        "--server.port", str(int(port)),
        "--server.address", address,
        "--server.headless", "true" if headless else "false",
        "--server.maxUploadSize", str(MAX_UPLOAD_MB),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
    ]


def launch(port: int = 8501, address: str = "127.0.0.1", store_url: str | None = None, headless: bool = True) -> int:
    """Run the web UI until it is stopped; returns Streamlit's exit status.

    Parameters
    ----------
    port : int
        HTTP port.
    address : str
        Interface to listen on; the default serves this machine only.
    store_url : str, optional
        Job store URL (default: SQLite in ``$WORKBENCH_HOME``); passed to the app as
        ``$WORKBENCH_STORE_URL``.
    headless : bool
        Do not open a browser.

    Returns
    -------
    int
    """
    env = dict(os.environ)
    if store_url:
        env["WORKBENCH_STORE_URL"] = store_url
    print(f"protein-workbench UI on http://{address}:{port}", flush=True)
    if not dispatcher_running(store_url):
        print("Jobs run only while a dispatcher runs. If none is, start one in another terminal:\n"
              "    workbench serve" + (f" --store '{store_url}'" if store_url else ""),
              flush=True)
    process = subprocess.Popen(command(port, address, headless), env=env)

    def forward(signum: int, _frame: object) -> None:
        process.send_signal(signum)

    previous = {signum: signal.signal(signum, forward) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        return process.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
