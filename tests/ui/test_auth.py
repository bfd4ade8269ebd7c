"""Sign-in settings, the viewer of each mode, job scoping in the UI's data layer, and the launcher's secrets."""

from __future__ import annotations

import ipaddress
import stat
import tomllib
from pathlib import Path

import pytest

from tests.ui.conftest import GOOD_FASTA, run_view
from workbench.jobs.store import JobStore
from workbench.ui import data, launch
from workbench.ui.auth import AuthSettings, SignInRefused, Viewer, header_viewer, oidc_viewer, single_user_viewer

REPO = Path(__file__).resolve().parents[2]


def _proxy(*networks: str, forwarded_for_trusted: bool = False) -> AuthSettings:
    return AuthSettings(mode="proxy", trusted_proxies=tuple(ipaddress.ip_network(n) for n in networks),
                        admins=frozenset({"root"}), forwarded_for_trusted=forwarded_for_trusted)


# -- settings -------------------------------------------------------------------------------------


def test_settings_choose_the_mode():
    assert AuthSettings.from_env({}).mode == "single-user"
    assert AuthSettings.from_env({}, oidc_secrets=True).mode == "oidc"
    assert AuthSettings.from_env({"WORKBENCH_TRUSTED_PROXY": "10.0.0.1"}).mode == "proxy"
    assert AuthSettings.from_env({"WORKBENCH_AUTH": "oidc"}).mode == "oidc"  # fails closed without secrets
    assert AuthSettings.from_env({"WORKBENCH_OWNER": "ann"}).single_user == "ann"
    assert AuthSettings.from_env({"FORWARDED_ALLOW_IPS": ""}).forwarded_for_trusted is False
    assert AuthSettings.from_env({"FORWARDED_ALLOW_IPS": "127.0.0.1"}).forwarded_for_trusted is True
    with pytest.raises(ValueError, match="WORKBENCH_AUTH"):
        AuthSettings.from_env({"WORKBENCH_AUTH": "everyone"})
    with pytest.raises(ValueError):
        AuthSettings.from_env({"WORKBENCH_TRUSTED_PROXY": "not-an-address"})


# -- trusted header -------------------------------------------------------------------------------


@pytest.mark.parametrize(("networks", "peer"), [
    (("10.1.0.0/16",), "10.1.200.3"),
    (("127.0.0.1/32",), None),  # st.context.ip_address is None for loopback
    (("::1/128",), None),
    (("10.1.0.0/16",), "::ffff:10.1.0.5"),  # IPv4 mapped into IPv6
    (("fd00::/8",), "fd00::7"),
])
def test_header_accepted_from_the_proxy(networks, peer):
    viewer = header_viewer(_proxy(*networks), {"x-forwarded-user": "alice"}, peer)
    assert viewer == Viewer("alice", "alice", False, "proxy")
    assert header_viewer(_proxy(*networks), {"X-Forwarded-User": "root"}, peer).is_admin


@pytest.mark.parametrize(("networks", "peer"), [
    (("10.1.0.0/16",), "10.2.0.1"),
    (("10.1.0.0/16",), None),  # loopback is not the proxy
    (("127.0.0.1/32",), "192.168.1.9"),
    (("10.1.0.0/16",), "garbage"),
])
def test_header_refused_from_anywhere_else(networks, peer):
    with pytest.raises(SignInRefused, match="only through its sign-in proxy"):
        header_viewer(_proxy(*networks), {"X-Forwarded-User": "alice"}, peer)


def test_header_refused_without_a_usable_name_or_when_forwarded_for_is_trusted():
    with pytest.raises(SignInRefused, match="no user name"):
        header_viewer(_proxy("10.0.0.0/8"), {}, "10.0.0.1")
    with pytest.raises(SignInRefused, match="not acceptable"):
        header_viewer(_proxy("10.0.0.0/8"), {"X-Forwarded-User": "bob\x00root"}, "10.0.0.1")
    with pytest.raises(SignInRefused, match="X-Forwarded-For"):  # the peer could be forged: nobody
        header_viewer(_proxy("10.0.0.0/8", forwarded_for_trusted=True), {"X-Forwarded-User": "a"}, "10.0.0.1")
    with pytest.raises(SignInRefused, match="no trusted proxy"):
        header_viewer(AuthSettings(mode="proxy", forwarded_for_trusted=False), {"X-Forwarded-User": "a"}, None)


def test_oidc_and_single_user_viewers():
    settings = AuthSettings(mode="oidc", admins=frozenset({"boss@lab.org"}))
    assert oidc_viewer(settings, {"sub": "7", "email": "boss@lab.org"}).is_admin
    assert oidc_viewer(settings, {"sub": "7"}).user_id == "7"  # no email claim: the subject
    with pytest.raises(SignInRefused):
        oidc_viewer(settings, {})
    assert single_user_viewer(AuthSettings(single_user="ann")) == Viewer("ann", "ann", False, "single-user")


# -- scoping in the data layer ---------------------------------------------------------------------


@pytest.fixture
def two_users(workbench_home):
    with JobStore() as store:
        alice = store.submit({"fasta": GOOD_FASTA}, {"predictor": "template"}, owner="alice", name="alice run")
        bob = store.submit({"fasta": GOOD_FASTA}, {"predictor": "template"}, owner="bob", name="bob run")
    data._store.clear()
    yield alice.id, bob.id
    data._store.clear()


def test_a_user_reads_and_cancels_only_their_own_jobs(two_users):
    alice_id, bob_id = two_users
    alice, admin = Viewer("alice", "alice"), Viewer("root", "root", is_admin=True)
    assert [j.id for j in data.jobs_for(alice)] == [alice_id]
    assert {j.id for j in data.jobs_for(admin)} == {alice_id, bob_id}
    assert data.job_for(alice, alice_id).owner == "alice"
    for bad in (bob_id, "0" * 32, "../../etc"):
        with pytest.raises(data.JobNotFound):
            data.job_for(alice, bad)
    with pytest.raises(data.JobNotFound):
        data.cancel_job(alice, bob_id)
    with pytest.raises(data.JobNotFound):
        data.items_for(alice, bob_id)
    assert not data.get_store().get(bob_id).cancel_requested and str(data.get_store().get(bob_id).status) == "queued"
    assert str(data.cancel_job(alice, alice_id).status) == "cancelled"
    assert str(data.cancel_job(admin, bob_id).status) == "cancelled"


@pytest.mark.usefixtures("two_users")
def test_views_without_sign_in_show_the_one_user_only(monkeypatch):
    monkeypatch.setenv("WORKBENCH_OWNER", "alice")
    at = run_view("jobs")
    shown = " ".join(m.value for m in at.markdown)
    assert "alice run" in shown and "bob run" not in shown
    assert not [t for t in at.toggle if t.label == "All owners"]
    monkeypatch.setenv("WORKBENCH_ADMINS", "alice")
    at = run_view("jobs")
    assert [t for t in at.toggle if t.label == "All owners"]
    at.toggle(key="jobs_all_owners").set_value(True).run()
    assert "bob run" in " ".join(m.value for m in at.markdown)


def test_results_refuses_another_users_job_in_the_address(two_users, monkeypatch):
    _, bob_id = two_users
    monkeypatch.setenv("WORKBENCH_OWNER", "alice")
    at = run_view("results", query={"job": bob_id})
    assert any("not one you may open" in e.value for e in at.error)
    assert not at.get("download_button")


def test_job_names_are_escaped_not_rendered(workbench_home):
    with JobStore() as store:
        store.submit({"fasta": GOOD_FASTA}, {"predictor": "template"}, name="![x](http://h/p.png) <b>hi</b> :red[r]")
    data._store.clear()
    at = run_view("jobs")
    data._store.clear()
    card = next(m.value for m in at.markdown if "hi" in m.value)
    assert "![x](" not in card and "<b>" not in card and ":red[" not in card
    assert r"\!\[x\]\(http\://h/p\.png\) \<b\>hi\</b\> \:red\[r\]" in card


# -- the launcher ----------------------------------------------------------------------------------


def test_store_url_is_printed_without_its_password(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(launch, "dispatcher_running", lambda url=None: False)
    ran = []
    monkeypatch.setattr(launch, "_run", lambda argv, env: ran.append((argv, env)) or 0)
    assert launch.launch(store_url="postgresql://lab:s3cret@db.example/jobs", sign_in=launch.SignIn()) == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out and "postgresql://lab:***@db.example/jobs" in out
    argv, env = ran[0]
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert argv[argv.index("--browser.gatherUsageStats") + 1] == "false"
    assert "WORKBENCH_AUTH" not in env and "--secrets.files" not in argv
    assert launch.masked("not a url") == "<the store URL given>"


def test_oidc_settings_go_to_a_private_secrets_file_that_is_removed(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("hunter2\n")
    seen = {}

    def run(argv, env):
        path = Path(argv[argv.index("--secrets.files") + 1])
        seen["path"], seen["env"] = path, env
        seen["mode"] = stat.S_IMODE(path.stat().st_mode), stat.S_IMODE(path.parent.stat().st_mode)
        seen["auth"] = tomllib.loads(path.read_text())["auth"]
        return 0

    monkeypatch.setattr(launch, "dispatcher_running", lambda url=None: False)
    monkeypatch.setattr(launch, "_run", run)
    sign_in = launch.SignIn("https://id.lab.org/realms/lab", "workbench", secret, "https://wb.lab.org/",
                            admins="boss@lab.org")
    assert launch.launch(port=8600, sign_in=sign_in) == 0
    assert seen["mode"] == (0o600, 0o700)
    assert not seen["path"].exists()  # removed when the app stops
    assert seen["auth"]["client_secret"] == "hunter2" and seen["auth"]["client_id"] == "workbench"
    assert seen["auth"]["redirect_uri"] == "https://wb.lab.org/oauth2callback"
    assert seen["auth"]["server_metadata_url"] == "https://id.lab.org/realms/lab/.well-known/openid-configuration"
    assert len(seen["auth"]["cookie_secret"]) >= 32
    assert seen["env"]["WORKBENCH_AUTH"] == "oidc" and seen["env"]["WORKBENCH_ADMINS"] == "boss@lab.org"
    assert "hunter2" not in " ".join(f"{k}={v}" for k, v in seen["env"].items())
    assert str(REPO) not in str(seen["path"]) and str(Path.home()) not in str(seen["path"])


def test_trusted_proxy_launch_turns_off_forwarded_for(monkeypatch):
    seen = {}
    monkeypatch.setattr(launch, "dispatcher_running", lambda url=None: False)
    monkeypatch.setattr(launch, "_run", lambda argv, env: seen.update(env) or 0)
    launch.launch(sign_in=launch.SignIn(trusted_proxy="10.0.0.5"))
    assert seen["WORKBENCH_AUTH"] == "proxy" and seen["FORWARDED_ALLOW_IPS"] == ""
    assert AuthSettings.from_env(seen).forwarded_for_trusted is False


@pytest.mark.parametrize(("sign_in", "message"), [
    (launch.SignIn(oidc_issuer="https://id"), "needs the issuer, the client id"),
    (launch.SignIn("https://id", "c", Path("s"), trusted_proxy="10.0.0.1"), "not both"),
    (launch.SignIn(trusted_proxy="10.0.0.300"), "does not appear to be"),
    (launch.SignIn("id.lab.org", "c", Path("s")), "absolute"),
])
def test_sign_in_settings_that_cannot_work_are_refused(sign_in, message):
    with pytest.raises(ValueError, match=message):
        sign_in.check()


def test_streamlit_run_app_py_gets_the_same_defaults():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["browser"]["gatherUsageStats"] is False
