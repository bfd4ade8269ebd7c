"""``workbench ui``: start the Streamlit app (and say how to start a dispatcher when none is running).

The app listens on 127.0.0.1 unless told otherwise and never sends usage
statistics. Sign-in (see :mod:`workbench.ui.auth`) is configured here:
:class:`SignIn` holds the lab's OpenID Connect provider, or the address of a
trusted authenticating proxy; :func:`write_auth_secrets` writes the provider's
settings to a ``secrets.toml`` in a private folder made for this process
(never in the repository or the home folder), which Streamlit reads through
``--secrets.files``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

#: The script Streamlit runs: installed with the package (``app.py`` at the repository root is not).
ENTRY = Path(__file__).resolve().with_name("entry.py")
#: Largest upload the server accepts, in MB (the views check tighter limits per kind of file).
MAX_UPLOAD_MB = 20


@dataclass(frozen=True)
class SignIn:
    """How the UI knows its users (all empty: one user, no sign-in).

    Attributes
    ----------
    oidc_issuer : str, optional
        The OpenID Connect issuer URL (its ``/.well-known/openid-configuration`` is read).
    oidc_client_id : str, optional
    oidc_client_secret_file : Path, optional
        A file holding the client secret (kept out of the command line and the environment).
    public_url : str, optional
        The app's address as browsers reach it (default ``http://localhost:<port>``); the
        provider must accept ``<public_url>/oauth2callback`` as a redirect URI.
    trusted_proxy : str, optional
        IP addresses or CIDR blocks (comma-separated) of an authenticating proxy whose
        user header (``X-Forwarded-User``, or ``trusted_header``) is believed.
    trusted_header : str, optional
    admins : str, optional
        Comma-separated user ids with the admin role.
    """

    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret_file: Path | None = None
    public_url: str | None = None
    trusted_proxy: str | None = None
    trusted_header: str | None = None
    admins: str | None = None

    @classmethod
    def from_env(cls) -> SignIn:
        """Settings from the environment.

        ``$WORKBENCH_OIDC_ISSUER``, ``_CLIENT_ID``, ``_CLIENT_SECRET_FILE``, ``$WORKBENCH_PUBLIC_URL``,
        ``$WORKBENCH_TRUSTED_PROXY``, ``$WORKBENCH_TRUSTED_HEADER`` and ``$WORKBENCH_ADMINS``.
        """
        secret = os.environ.get("WORKBENCH_OIDC_CLIENT_SECRET_FILE")
        return cls(os.environ.get("WORKBENCH_OIDC_ISSUER") or None, os.environ.get("WORKBENCH_OIDC_CLIENT_ID") or None,
                   Path(secret) if secret else None, os.environ.get("WORKBENCH_PUBLIC_URL") or None,
                   os.environ.get("WORKBENCH_TRUSTED_PROXY") or None,
                   os.environ.get("WORKBENCH_TRUSTED_HEADER") or None, os.environ.get("WORKBENCH_ADMINS") or None)

    @property
    def oidc(self) -> bool:
        """Whether an OpenID Connect provider is configured."""
        return bool(self.oidc_issuer)

    def check(self) -> None:
        """Raise ValueError for settings that cannot work (a half-configured provider, both modes, a bad address)."""
        parts = (self.oidc_issuer, self.oidc_client_id, self.oidc_client_secret_file)
        if any(parts) and not all(parts):
            raise ValueError("OpenID Connect needs the issuer, the client id and the client secret file")
        if self.oidc and self.trusted_proxy:
            raise ValueError("choose OpenID Connect or a trusted proxy, not both")
        for part in (self.trusted_proxy or "").split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)  # ValueError names the bad one
        for url in (self.oidc_issuer, self.public_url):
            if url and not url.startswith(("https://", "http://")):
                raise ValueError(f"not an absolute http(s) URL: {url!r}")


def write_auth_secrets(sign_in: SignIn, folder: Path, port: int) -> Path:
    """Write Streamlit's ``[auth]`` secrets for ``sign_in``'s provider to ``folder/secrets.toml`` (mode 0600).

    Parameters
    ----------
    sign_in : SignIn
        With an issuer, client id and client secret file.
    folder : Path
        A private folder (the caller makes it and removes it).
    port : int
        The app's port, for the default redirect URI.

    Returns
    -------
    Path
    """
    assert sign_in.oidc_client_secret_file is not None and sign_in.oidc_issuer
    client_secret = sign_in.oidc_client_secret_file.read_text(encoding="utf-8").strip()
    if not client_secret:
        raise ValueError(f"the client secret file is empty: {sign_in.oidc_client_secret_file}")
    base = (sign_in.public_url or f"http://localhost:{int(port)}").rstrip("/")
    values = {
        "redirect_uri": f"{base}/oauth2callback",
        "cookie_secret": secrets.token_urlsafe(32),
        "client_id": sign_in.oidc_client_id,
        "client_secret": client_secret,
        "server_metadata_url": sign_in.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
    }
    # a JSON string is a valid TOML basic string
    text = "[auth]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
    path = folder / "secrets.toml"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def masked(url: str) -> str:
    """A store URL with its password replaced by ``***``, for printing.

    Examples
    --------
    >>> masked("postgresql://lab:s3cret@db.lab.org/jobs")
    'postgresql://lab:***@db.lab.org/jobs'
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<the store URL given>"


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


def command(port: int = 8501, address: str = "127.0.0.1", headless: bool = True,
            secrets_file: Path | None = None) -> list[str]:
    """The ``python -m streamlit run`` command line for the app.

    ``secrets_file`` (the sign-in settings) replaces Streamlit's default secrets
    locations, so no ``~/.streamlit/secrets.toml`` is read.

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
        *(["--secrets.files", str(secrets_file)] if secrets_file is not None else []),
    ]


def launch(port: int = 8501, address: str = "127.0.0.1", store_url: str | None = None, headless: bool = True,
           sign_in: SignIn | None = None) -> int:
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
    sign_in : SignIn, optional
        How users sign in (default: :meth:`SignIn.from_env`; nothing set means one user, no sign-in).

    Returns
    -------
    int

    Raises
    ------
    ValueError
        Sign-in settings that cannot work (:meth:`SignIn.check`).
    """
    sign_in = SignIn.from_env() if sign_in is None else sign_in
    sign_in.check()
    if sign_in.oidc:
        from streamlit.auth_util import is_authlib_installed

        if not is_authlib_installed():
            raise ValueError("OpenID Connect sign-in needs Authlib>=1.3.2: pip install 'protein-workbench[auth]'")
    env = dict(os.environ)
    if store_url:
        env["WORKBENCH_STORE_URL"] = store_url
    private = Path(tempfile.mkdtemp(prefix="workbench-ui-"))  # mode 0700
    try:
        secrets_file = None
        if sign_in.oidc:
            secrets_file = write_auth_secrets(sign_in, private, port)
            env["WORKBENCH_AUTH"] = "oidc"
        elif sign_in.trusted_proxy:
            env["WORKBENCH_AUTH"] = "proxy"
            env["WORKBENCH_TRUSTED_PROXY"] = sign_in.trusted_proxy
            env["FORWARDED_ALLOW_IPS"] = ""  # uvicorn keeps the TCP peer: the proxy's address is what is checked
            if sign_in.trusted_header:
                env["WORKBENCH_TRUSTED_HEADER"] = sign_in.trusted_header
        else:
            env.pop("WORKBENCH_AUTH", None)
        if sign_in.admins:
            env["WORKBENCH_ADMINS"] = sign_in.admins
        how = "OpenID Connect sign-in" if sign_in.oidc else "trusted-proxy sign-in" if sign_in.trusted_proxy \
            else "one user, no sign-in"
        print(f"protein-workbench UI on http://{address}:{port} ({how})", flush=True)
        if not dispatcher_running(store_url):
            print("Jobs run only while a dispatcher runs. If none is, start one in another terminal:\n"
                  "    workbench serve" + (f" --store '{masked(store_url)}'  (with the store's password)"
                                         if store_url else ""),
                  flush=True)
        return _run(command(port, address, headless, secrets_file), env)
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _run(argv: list[str], env: dict[str, str]) -> int:
    process = subprocess.Popen(argv, env=env)

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
