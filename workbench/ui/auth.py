"""Who is looking: the signed-in user of this browser session, and what they may see.

Three ways to know the user, chosen once per process from its settings:

- **OpenID Connect** (``"oidc"``): Streamlit's own ``st.login`` / ``st.user``
  (Authlib) against the lab's provider. ``workbench ui --oidc-issuer ...``
  writes the provider's settings to a private ``secrets.toml``
  (:func:`workbench.ui.launch.write_auth_secrets`) and sets
  ``$WORKBENCH_AUTH=oidc``; an ``[auth]`` section in Streamlit's own secrets
  (``streamlit run app.py``) turns it on too. The user id is the claim named by
  ``$WORKBENCH_OIDC_USER_CLAIM`` (default ``email``, else ``sub``).
- **Trusted header** (``"proxy"``), for a server behind an authenticating
  proxy (Open OnDemand, oauth2-proxy): the user id is the header
  ``$WORKBENCH_TRUSTED_HEADER`` (default ``X-Forwarded-User``), accepted only
  from a connection whose address lies in ``$WORKBENCH_TRUSTED_PROXY`` (IP
  addresses or CIDR blocks, comma-separated). Off unless that variable is set.
  The peer address is the TCP peer only when uvicorn trusts no
  ``X-Forwarded-For`` (``$FORWARDED_ALLOW_IPS`` set and empty, which
  ``workbench ui`` does); otherwise this mode refuses everyone.
- **Single user** (``"single-user"``, the laptop default): no sign-in; the user
  is ``$WORKBENCH_OWNER``, else ``local`` (the CLI's default owner).

Admins (``$WORKBENCH_ADMINS``, comma-separated user ids) see and cancel every
job; everyone else only their own (:mod:`workbench.ui.data` scopes every read).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from workbench import config

Mode = Literal["oidc", "proxy", "single-user"]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Header an authenticating proxy puts the user name in, unless ``$WORKBENCH_TRUSTED_HEADER`` names another.
DEFAULT_HEADER = "X-Forwarded-User"
#: Longest user id accepted (the job store's ``owner`` column holds 200 characters).
MAX_USER_ID = 200


class SignInRefused(Exception):
    """The request does not identify a user this server accepts; the message is for the person at the browser."""


@dataclass(frozen=True)
class Viewer:
    """The person using this browser session.

    Attributes
    ----------
    user_id : str
        What the job store records as a job's ``owner``.
    display_name : str
        Shown in the sidebar (plain text).
    is_admin : bool
        Sees and cancels every user's jobs.
    mode : {"oidc", "proxy", "single-user"}
        How the user was identified.
    """

    user_id: str
    display_name: str
    is_admin: bool = False
    mode: Mode = "single-user"

    @property
    def owner_filter(self) -> str | None:
        """The ``owner`` to filter store queries by: the user's id, or None (every owner) for an admin."""
        return None if self.is_admin else self.user_id

    def may_see(self, owner: str) -> bool:
        """Whether a job of ``owner`` is visible (and cancellable) to this viewer.

        Examples
        --------
        >>> Viewer("alice", "Alice").may_see("bob"), Viewer("root", "root", is_admin=True).may_see("bob")
        (False, True)
        """
        return self.is_admin or owner == self.user_id


@dataclass(frozen=True)
class AuthSettings:
    """The sign-in settings of this process (read from the environment by :meth:`from_env`).

    Attributes
    ----------
    mode : {"oidc", "proxy", "single-user"}
    trusted_proxies : tuple of ip_network
        Addresses the trusted header is accepted from.
    header : str
        Name of the trusted header.
    admins : frozenset of str
        User ids with the admin role.
    user_claim : str
        OIDC claim used as the user id.
    single_user : str
        The user of single-user mode.
    forwarded_for_trusted : bool
        Whether uvicorn may rewrite the peer address from ``X-Forwarded-For`` (then proxy mode refuses everyone).
    """

    mode: Mode = "single-user"
    trusted_proxies: tuple[IPNetwork, ...] = ()
    header: str = DEFAULT_HEADER
    admins: frozenset[str] = field(default_factory=frozenset)
    user_claim: str = "email"
    single_user: str = "local"
    forwarded_for_trusted: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, oidc_secrets: bool = False) -> AuthSettings:
        """Settings from ``WORKBENCH_*`` variables.

        Parameters
        ----------
        environ : mapping, optional
            Default ``os.environ``.
        oidc_secrets : bool
            Whether Streamlit's secrets hold an ``[auth]`` section.

        Raises
        ------
        ValueError
            An unknown ``$WORKBENCH_AUTH`` or a malformed ``$WORKBENCH_TRUSTED_PROXY``.

        Examples
        --------
        >>> AuthSettings.from_env({}).mode
        'single-user'
        >>> s = AuthSettings.from_env({"WORKBENCH_TRUSTED_PROXY": "10.0.0.0/8", "WORKBENCH_ADMINS": "root, ann"})
        >>> s.mode, sorted(s.admins)
        ('proxy', ['ann', 'root'])
        """
        env = os.environ if environ is None else environ
        proxies = tuple(ipaddress.ip_network(part.strip(), strict=False)
                        for part in env.get("WORKBENCH_TRUSTED_PROXY", "").split(",") if part.strip())
        wanted = (env.get("WORKBENCH_AUTH") or "").strip().lower()
        mode: Mode
        if wanted in ("oidc", "proxy", "single-user"):
            mode = wanted  # type: ignore[assignment]
        elif wanted:
            raise ValueError(f"WORKBENCH_AUTH must be oidc, proxy or single-user, not {wanted!r}")
        else:
            mode = "oidc" if oidc_secrets else "proxy" if proxies else "single-user"
        allowed = env.get("FORWARDED_ALLOW_IPS")
        return cls(
            mode=mode,
            trusted_proxies=proxies,
            header=(env.get("WORKBENCH_TRUSTED_HEADER") or DEFAULT_HEADER).strip(),
            admins=config.admins(env),
            user_claim=(env.get("WORKBENCH_OIDC_USER_CLAIM") or "email").strip(),
            single_user=env.get("WORKBENCH_OWNER") or "local",
            forwarded_for_trusted=allowed is None or any(p.strip() for p in allowed.split(",")),
        )


def _checked_id(value: object, what: str) -> str:
    text = str(value or "").strip()
    if not text:
        raise SignInRefused(f"no user name in the {what}")
    if len(text) > MAX_USER_ID or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise SignInRefused(f"the user name in the {what} is not acceptable")
    return text


def _peer_in(peer: str | None, networks: tuple[IPNetwork, ...]) -> bool:
    # st.context.ip_address is None for a loopback peer (and where there is no connection)
    address = ipaddress.ip_address("127.0.0.1" if peer is None else peer.split("%")[0])
    mapped = getattr(address, "ipv4_mapped", None)
    candidates = [address] + ([mapped] if mapped is not None else [])
    if peer is None:
        candidates.append(ipaddress.ip_address("::1"))
    return any(a in net for a in candidates for net in networks if a.version == net.version)


def header_viewer(settings: AuthSettings, headers: Mapping[str, str], peer: str | None) -> Viewer:
    """The user named by the trusted header, if the connection comes from a trusted proxy.

    Parameters
    ----------
    settings : AuthSettings
    headers : mapping of str to str
        Request headers (names case-insensitive, as ``st.context.headers``).
    peer : str or None
        The connection's address (``st.context.ip_address``: None for loopback).

    Raises
    ------
    SignInRefused
        Not from a trusted proxy, no such header, or a user name with control characters.

    Examples
    --------
    >>> s = AuthSettings(mode="proxy", trusted_proxies=(ipaddress.ip_network("10.1.0.0/16"),),
    ...                  forwarded_for_trusted=False)
    >>> header_viewer(s, {"X-Forwarded-User": "alice"}, "10.1.2.3").user_id
    'alice'
    >>> header_viewer(s, {"X-Forwarded-User": "alice"}, "10.2.0.1")
    Traceback (most recent call last):
    ...
    workbench.ui.auth.SignInRefused: this server accepts users only through its sign-in proxy
    """
    if not settings.trusted_proxies:
        raise SignInRefused("no trusted proxy is configured ($WORKBENCH_TRUSTED_PROXY)")
    if settings.forwarded_for_trusted:
        raise SignInRefused("the server trusts X-Forwarded-For, so the proxy's address cannot be checked "
                            "(start it with `workbench ui --trusted-proxy ...`, or set FORWARDED_ALLOW_IPS empty)")
    try:
        trusted = _peer_in(peer, settings.trusted_proxies)
    except ValueError:
        trusted = False
    if not trusted:
        raise SignInRefused("this server accepts users only through its sign-in proxy")
    lowered = {k.lower(): v for k, v in headers.items()}
    user = _checked_id(lowered.get(settings.header.lower()), f"{settings.header} header")
    return Viewer(user, user, user in settings.admins, "proxy")


def oidc_viewer(settings: AuthSettings, claims: Mapping[str, Any]) -> Viewer:
    """The viewer from an OIDC identity token's claims (``st.user``).

    Examples
    --------
    >>> oidc_viewer(AuthSettings(mode="oidc"), {"sub": "42", "email": "ann@lab.org", "name": "Ann"})
    Viewer(user_id='ann@lab.org', display_name='Ann', is_admin=False, mode='oidc')
    """
    user = _checked_id(claims.get(settings.user_claim) or claims.get("sub"), "identity token")
    name = str(claims.get("name") or user)
    return Viewer(user, name, user in settings.admins, "oidc")


def single_user_viewer(settings: AuthSettings) -> Viewer:
    """The one user of a UI without sign-in (``$WORKBENCH_OWNER`` or ``local``)."""
    return Viewer(settings.single_user, settings.single_user, settings.single_user in settings.admins, "single-user")


def _oidc_secrets() -> bool:
    import streamlit as st

    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def current_viewer() -> Viewer:
    """The viewer of this session; every page calls it first.

    Shows the sign-in button (OIDC) or the refusal (trusted header) and stops
    the script when there is no accepted user, so nothing below it runs.
    """
    import streamlit as st

    try:
        settings = AuthSettings.from_env(oidc_secrets=_oidc_secrets())
    except ValueError as exc:
        st.error(f"Sign-in is misconfigured: {exc}")
        st.stop()
    if settings.mode == "oidc":
        if not _oidc_secrets():
            st.error("Sign-in is misconfigured: no [auth] section in Streamlit's secrets.")
            st.stop()
        if not st.user.is_logged_in:
            st.title("protein-workbench")
            st.write("Sign in to see and submit your jobs.")
            st.button("Sign in", type="primary", on_click=st.login, icon=":material/login:", key="auth_sign_in")
            st.stop()
        try:
            return oidc_viewer(settings, st.user.to_dict())
        except SignInRefused as exc:
            st.error(f"Not signed in: {exc}")
            st.button("Sign out", on_click=st.logout, key="auth_sign_out_refused")
            st.stop()
    if settings.mode == "proxy":
        try:
            return header_viewer(settings, st.context.headers, st.context.ip_address)
        except SignInRefused as exc:
            st.error(f"Not signed in: {exc}")
            st.stop()
    return single_user_viewer(settings)


def sidebar(viewer: Viewer) -> None:
    """Who is signed in (plain text), and the sign-out button under OIDC."""
    import streamlit as st

    with st.sidebar:
        st.text(f"Signed in as {viewer.display_name}" + (" (admin)" if viewer.is_admin else ""))
        if viewer.display_name != viewer.user_id:
            st.text(viewer.user_id)
        if viewer.mode == "oidc":
            st.button("Sign out", on_click=st.logout, icon=":material/logout:", key="auth_sign_out")
