"""Sign-in and privacy in a real headless Chromium: a real local OpenID Connect provider, then a trusted proxy header.

OIDC: ``oidc-provider-mock`` (a real OIDC server, Authlib inside) runs in a
thread on a free port; ``workbench ui --oidc-issuer ...`` runs on another,
with Streamlit's own ``st.login``. Alice and Bob sign in through the provider's
form in separate browser contexts; each sees only their own jobs on Jobs,
Results and Compare; a Results address naming the other's job is refused (no
download is offered); Bob cancels his own job; an admin sees every owner's jobs
when she asks; Alice signs out. A job name
holding a Markdown image and an HTML ``<img>`` pointing at a local HTTP server
is shown as text, and that server gets no request.

Trusted header: ``workbench ui --trusted-proxy``, with the browser sending the
proxy's headers itself (Playwright's extra headers, on the page and its
WebSocket): accepted when the connection comes from the configured address
(loopback here), refused when it does not, also when ``X-Forwarded-For``
claims the proxy's address.

Skipped when Chromium, Playwright, Authlib or oidc-provider-mock is missing.
"""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from tests.ui.conftest import GOOD_FASTA, FinishedJob
from tests.ui.test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, _free_port, _start, _stop, _wait_healthy
from workbench.jobs.store import JobStore

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

ALICE, BOB, ADMIN = "alice@lab.org", "bob@lab.org", "pi@lab.org"


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Counts every request (the image a rendered Markdown or HTML name would fetch)."""

    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def pixel_server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    handler = type("Recorder", (_Recorder,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "WORKBENCH_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    for name in ("WORKBENCH_STORE_URL", "WORKBENCH_OWNER", "WORKBENCH_AUTH", "WORKBENCH_TRUSTED_PROXY",
                 "WORKBENCH_ADMINS", "WORKBENCH_OIDC_ISSUER", "WORKBENCH_OIDC_CLIENT_ID",
                 "WORKBENCH_OIDC_CLIENT_SECRET_FILE", "FORWARDED_ALLOW_IPS"):
        env.pop(name, None)
    return env


def _seed(home: Path, finished: FinishedJob, pixel: str) -> dict[str, str]:
    """Jobs of Alice and Bob in a fresh store: finished ones share the real batch folder; one queued each."""
    home.mkdir(parents=True, exist_ok=True)
    job_dir = home / "results" / "shared"
    shutil.copytree(finished.job_dir, job_dir)
    store = JobStore(f"sqlite:///{home / 'jobs.sqlite'}")
    ids = {}
    for key, owner, name in (("alice_done", ALICE, "alice variants"), ("bob_done", BOB, "bob secret screen")):
        job = store.submit({"fasta": GOOD_FASTA}, {"predictor": "template"}, owner=owner, name=name)
        store.claim_next("w", 600)
        store.finish(job.id, "w", job_dir)
        ids[key] = job.id
    evil = f"![pixel]({pixel}/markdown.png) <img src='{pixel}/html.png'> **bold**"
    ids["alice_evil"] = store.submit({"fasta": GOOD_FASTA}, {"predictor": "template"}, owner=ALICE, name=evil).id
    ids["bob_queued"] = store.submit({"fasta": GOOD_FASTA}, {"predictor": "template"}, owner=BOB,
                                     name="bob queued run").id
    store.close()
    return ids


@pytest.fixture
def oidc_app(tmp_path: Path, finished_job: FinishedJob,
             pixel_server: tuple[str, list[str]]) -> Iterator[tuple[str, dict[str, str], list[str], Path]]:
    pytest.importorskip("playwright.sync_api", reason="needs playwright")
    pytest.importorskip("authlib", reason="needs Authlib (pip install 'streamlit[auth]')")
    mock = pytest.importorskip("oidc_provider_mock", reason="needs oidc-provider-mock")
    pixel, hits = pixel_server
    home = tmp_path / "home"
    ids = _seed(home, finished_job, pixel)
    secret = tmp_path / "client-secret"
    secret.write_text("test-client-secret\n")
    with mock.run_server_in_thread() as provider:
        issuer = f"http://localhost:{provider.server_port}"
        port = _free_port()
        app = _start(["ui", "--port", str(port), "--oidc-issuer", issuer, "--oidc-client-id", "workbench-test",
                      "--oidc-client-secret-file", str(secret), "--admins", ADMIN], _env(home), tmp_path / "ui.log")
        try:
            url = f"http://localhost:{port}"
            _wait_healthy(url, app, tmp_path / "ui.log")
            yield url, ids, hits, home
        finally:
            _stop(app)


def _sign_in(browser, url: str, user: str):
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1400, "height": 1400}).new_page()
    page.goto(f"{url}/")
    page.get_by_role("button", name="Sign in").click(timeout=60_000)
    page.locator("input[name='sub']").fill(user, timeout=30_000)  # the provider's own form
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_text(f"Signed in as {user}")).to_be_visible(timeout=60_000)
    return page


def _page_text(page) -> str:
    page.wait_for_timeout(1500)  # let the page settle
    return page.locator("body").inner_text()


def _options(page, label: str) -> list[str]:
    """The options of a selectbox, read from its open list."""
    box = page.get_by_role("combobox", name=label, exact=True).first
    box.click()
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return options


def test_two_users_see_only_their_own_jobs_and_sign_out(oidc_app):
    from playwright.sync_api import expect, sync_playwright

    url, ids, hits, home = oidc_app
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # before sign-in nothing of anybody's is shown
            anonymous = browser.new_page()
            anonymous.goto(f"{url}/jobs")
            expect(anonymous.get_by_role("button", name="Sign in")).to_be_visible(timeout=60_000)
            assert "variants" not in _page_text(anonymous) and "screen" not in _page_text(anonymous)

            alice = _sign_in(browser, url, ALICE)
            alice.goto(f"{url}/jobs")
            expect(alice.get_by_text("alice variants")).to_be_visible(timeout=60_000)
            text = _page_text(alice)
            assert "bob" not in text, text
            assert "All owners" not in text  # no admin toggle for a user
            # the Markdown / HTML job name is shown as the text it is, and fetched nothing
            expect(alice.get_by_text("![pixel](", exact=False)).to_be_visible()
            expect(alice.get_by_text("<img src=", exact=False)).to_be_visible()
            assert alice.locator("[data-testid='stMain'] img").count() == 0

            alice.goto(f"{url}/results")
            expect(alice.get_by_role("heading", name="Ranking")).to_be_visible(timeout=60_000)
            assert any("alice variants" in o for o in _options(alice, "Job"))
            assert not any("bob" in o for o in _options(alice, "Job"))
            assert "bob" not in _page_text(alice)

            # an address naming Bob's job is refused, and nothing of his is offered for download
            alice.goto(f"{url}/results?job={ids['bob_done']}")
            expect(alice.get_by_text("not one you may open")).to_be_visible(timeout=60_000)
            assert "bob" not in _page_text(alice)
            assert ids["bob_done"] not in alice.url

            alice.goto(f"{url}/compare")
            expect(alice.get_by_text("TM-score")).to_be_visible(timeout=60_000)
            assert not any("bob" in o for o in _options(alice, "Job"))
            assert "bob" not in _page_text(alice)

            bob = _sign_in(browser, url, BOB)
            bob.goto(f"{url}/jobs")
            expect(bob.get_by_text("bob secret screen")).to_be_visible(timeout=60_000)
            assert "alice" not in _page_text(bob) and "pixel" not in _page_text(bob)
            bob.get_by_role("button", name="Cancel").first.click()  # his own queued job: allowed
            expect(bob.get_by_text("1 cancelled · 1 done")).to_be_visible(timeout=30_000)
            bob.goto(f"{url}/results?job={ids['alice_done']}")
            expect(bob.get_by_text("not one you may open")).to_be_visible(timeout=60_000)

            # an admin sees only her own jobs until she asks for every owner's
            admin = _sign_in(browser, url, ADMIN)
            admin.goto(f"{url}/jobs")
            expect(admin.get_by_text("No jobs yet")).to_be_visible(timeout=60_000)
            admin.get_by_text("All owners").click()
            expect(admin.get_by_text("bob secret screen")).to_be_visible(timeout=30_000)
            expect(admin.get_by_text("alice variants")).to_be_visible()

            # sign-out: back to the sign-in button, nothing shown
            alice.goto(f"{url}/jobs")
            alice.get_by_role("button", name="Sign out").click(timeout=60_000)
            alice.wait_for_timeout(2000)
            alice.goto(f"{url}/jobs")
            expect(alice.get_by_role("button", name="Sign in")).to_be_visible(timeout=60_000)
            assert "alice variants" not in _page_text(alice)
        finally:
            browser.close()
    assert hits == [], f"a job name was rendered as Markdown or HTML: the browser fetched {hits}"
    with JobStore(f"sqlite:///{home / 'jobs.sqlite'}") as store:
        assert str(store.get(ids["bob_queued"]).status) == "cancelled"
        assert str(store.get(ids["alice_evil"]).status) == "queued"


@pytest.fixture
def proxy_apps(tmp_path: Path, finished_job: FinishedJob) -> Iterator[tuple[str, str]]:
    """Two UIs over one store: one trusts a proxy on loopback (where the browser is), one a proxy elsewhere."""
    pytest.importorskip("playwright.sync_api", reason="needs playwright")
    home = tmp_path / "home"
    _seed(home, finished_job, "http://127.0.0.1:9")
    ports = _free_port(), _free_port()
    apps = [_start(["ui", "--port", str(port), "--trusted-proxy", proxy], _env(home), tmp_path / f"ui{i}.log")
            for i, (port, proxy) in enumerate(zip(ports, ("127.0.0.1/32,::1", "10.9.9.9"), strict=True))]
    try:
        for i, (port, app) in enumerate(zip(ports, apps, strict=True)):
            _wait_healthy(f"http://127.0.0.1:{port}", app, tmp_path / f"ui{i}.log")
        yield f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"
    finally:
        for app in apps:
            _stop(app)


def _as(browser, url: str, headers: dict[str, str]):
    page = browser.new_context(extra_http_headers=headers).new_page()
    page.goto(f"{url}/jobs")
    return page


def test_trusted_header_only_from_the_configured_proxy(proxy_apps):
    from playwright.sync_api import expect, sync_playwright

    trusted, elsewhere = proxy_apps
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # from the configured proxy's address: the header names the user, who sees only his jobs
            bob = _as(browser, trusted, {"X-Forwarded-User": BOB})
            expect(bob.get_by_text("bob secret screen")).to_be_visible(timeout=60_000)
            expect(bob.get_by_text(f"Signed in as {BOB}")).to_be_visible()
            assert "alice" not in _page_text(bob)
            # from the proxy's address but without the header: nobody
            nobody = _as(browser, trusted, {})
            expect(nobody.get_by_text("Not signed in")).to_be_visible(timeout=60_000)
            assert "variants" not in _page_text(nobody) and "screen" not in _page_text(nobody)
            # the header from an address that is not the proxy's is refused, also when X-Forwarded-For
            # claims the proxy's address (uvicorn is told to trust no forwarded address)
            for headers in ({"X-Forwarded-User": ALICE}, {"X-Forwarded-User": ALICE, "X-Forwarded-For": "10.9.9.9"}):
                forged = _as(browser, elsewhere, headers)
                expect(forged.get_by_text("accepts users only through its sign-in proxy")).to_be_visible(
                    timeout=60_000)
                assert "variants" not in _page_text(forged)
        finally:
            browser.close()
