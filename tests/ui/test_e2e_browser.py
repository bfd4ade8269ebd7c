"""End to end in a real headless Chromium: dispatcher and app on loopback ports, a batch through the form.

Starts ``workbench serve`` (the dispatcher, local Dask cluster) and ``workbench ui``
on free ports with a temporary ``$WORKBENCH_HOME``, submits two sequences through
the Submit form, waits on the Jobs page until the job is done, opens its results,
checks that the 3D viewer drew into its canvas (WebGL through SwiftShader) and that
the plots are there, and saves screenshots of each page.
Skipped when Debian's ``/usr/bin/chromium`` or Playwright is missing.

The screenshots go to the test's temporary folder, so a test run never changes
tracked files. To refresh the README's screenshots, name their folder (relative
to the repository root, or absolute) in ``WORKBENCH_SCREENSHOTS``::

    WORKBENCH_SCREENSHOTS=docs/screenshots .venv/bin/python -m pytest tests/ui/test_e2e_browser.py
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ui.conftest import BAD_FASTA, GOOD_FASTA

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
#: Environment variable naming the folder the screenshots are written to (``docs/screenshots`` for the README).
SCREENSHOTS_ENV = "WORKBENCH_SCREENSHOTS"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # WebGL without a GPU: ANGLE on SwiftShader (3Dmol.js needs WebGL)
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]
JOB_TIMEOUT_S = 300

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                     "(apt-get install chromium)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    handle = log.open("wb")
    return subprocess.Popen([sys.executable, "-m", "workbench.cli", *args], env=env, stdout=handle,
                            stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group this test started (the CLI and its children), then SIGKILL."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the app exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the app did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install playwright)")
    home = tmp_path / "home"
    env = {**os.environ, "WORKBENCH_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("WORKBENCH_STORE_URL", None)
    env.pop("WORKBENCH_OWNER", None)
    port = _free_port()
    dispatcher = _start(["serve", "--cluster", "local", "--poll", "0.5"], env, tmp_path / "serve.log")
    app = _start(["ui", "--port", str(port), "--address", "127.0.0.1"], env, tmp_path / "ui.log")
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, app, tmp_path / "ui.log")
        yield url, tmp_path
    finally:
        _stop(app)
        _stop(dispatcher)


def screenshot_folder(tmp_path: Path) -> Path:
    """``$WORKBENCH_SCREENSHOTS`` (relative to the repository root unless absolute), else ``tmp_path/screenshots``."""
    chosen = os.environ.get(SCREENSHOTS_ENV, "").strip()
    folder = REPO / chosen if chosen else tmp_path / "screenshots"  # an absolute path replaces REPO
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _drawn_fraction(png: bytes) -> float:
    """Fraction of pixels that are not the white background."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    histogram = image.histogram()
    return 1.0 - sum(histogram[245:]) / (image.width * image.height)


def _viewer_canvas_drawn(page, path: Path) -> float:
    """Wait for the viewer's WebGL canvas in its iframe, screenshot the iframe, return the drawn fraction."""
    frame_element = page.locator("iframe[srcdoc*='3Dmol']").first
    frame_element.wait_for(state="visible", timeout=60_000)
    frame_element.content_frame.locator("canvas").first.wait_for(state="attached", timeout=60_000)
    frame = frame_element.element_handle().content_frame()
    # 3Dmol.js draws with WebGL off screen and shows the frames in this canvas (a bitmaprenderer
    # context), so check that WebGL is there at all, then look at the pixels of the shown canvas.
    webgl = frame.evaluate("""() => typeof $3Dmol !== 'undefined'
        && document.querySelector('canvas').width > 0
        && document.createElement('canvas').getContext('webgl2') !== null""")
    assert webgl, "no 3Dmol.js, no canvas, or no WebGL in this browser"
    page.wait_for_timeout(1500)  # let 3Dmol.js draw
    frame_element.scroll_into_view_if_needed()
    return _drawn_fraction(frame_element.screenshot(path=str(path)))


def test_submit_follow_and_view_a_batch_in_chromium(servers):
    from playwright.sync_api import expect, sync_playwright

    url, logs = servers
    shots = screenshot_folder(logs)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1700})
            # Submit: paste, see the check, queue
            page.goto(f"{url}/")  # Submit is the default page
            fasta = page.get_by_label("FASTA", exact=True)
            fasta.wait_for(timeout=60_000)
            fasta.fill(BAD_FASTA)  # a bad record: the error shows beside the input, nothing can be queued
            fasta.press("Control+Enter")
            expect(page.get_by_text("invalid residue '1'")).to_be_visible(timeout=30_000)
            page.wait_for_timeout(1000)  # let the records table draw
            page.screenshot(path=str(shots / "submit-error.png"), full_page=True)
            fasta.fill(GOOD_FASTA)
            fasta.press("Control+Enter")
            expect(page.get_by_text("2 valid record(s)")).to_be_visible(timeout=30_000)
            page.get_by_label("Job name (optional)").fill("integrase variants")
            page.get_by_label("Job name (optional)").press("Enter")
            page.get_by_role("button", name="Submit", exact=True).click()
            expect(page.get_by_text("Queued job")).to_be_visible(timeout=30_000)
            page.screenshot(path=str(shots / "submit.png"), full_page=True)

            # Jobs: the list refreshes itself until the job is done
            page.goto(f"{url}/jobs")
            open_results = page.get_by_role("link", name="Open results").first  # shown once the job has results
            try:
                open_results.wait_for(state="visible", timeout=JOB_TIMEOUT_S * 1000)
            except Exception:
                page.screenshot(path=str(logs / "jobs-timeout.png"), full_page=True)
                raise AssertionError(f"job not done in {JOB_TIMEOUT_S} s; dispatcher log:\n"
                                     f"{(logs / 'serve.log').read_text()[-4000:]}") from None
            expect(page.get_by_text("2 / 2")).to_be_visible(timeout=30_000)
            expect(page.get_by_text("1 done", exact=True)).to_be_visible()
            page.screenshot(path=str(shots / "jobs.png"), full_page=True)

            # Results: ranking table, viewer, plots
            open_results.click()
            expect(page.get_by_role("heading", name="Ranking")).to_be_visible(timeout=60_000)
            drawn = _viewer_canvas_drawn(page, logs / "results-viewer.png")
            assert drawn > 0.01, f"the 3D viewer's canvas looks empty ({drawn:.3%} drawn)"
            page.screenshot(path=str(shots / "results.png"), full_page=True)

            # downloads: the zip of the job is built when asked for
            with page.expect_download(timeout=60_000) as download:
                page.get_by_role("button", name="Zip of the job").click()
            names = zipfile.ZipFile(download.value.path()).namelist()
            assert any(n.endswith("/summary.csv") for n in names)
            assert any(n.endswith("_model.pdb") for n in names)  # files named for records

            # one click on a row of the ranking table opens that model
            grid = page.locator("[data-testid='stDataFrame']").first
            box = grid.bounding_box()
            page.mouse.click(box["x"] + 12, box["y"] + 35 + 35 + 17)  # the row-selection cell of rank 2
            expect(page.get_by_role("heading", name="N155H")).to_be_visible(timeout=30_000)

            page.get_by_role("radio", name="overlay").check(force=True)
            page.get_by_role("radio", name="secondary structure").check(force=True)
            page.wait_for_timeout(1000)
            assert _viewer_canvas_drawn(page, logs / "overlay-viewer.png") > 0.01

            page.get_by_role("tab", name="Confidence").click()
            plots = page.locator(".js-plotly-plot")
            expect(plots.first).to_be_visible(timeout=30_000)
            page.wait_for_timeout(1000)
            page.screenshot(path=str(shots / "results-confidence.png"), full_page=True)
            page.get_by_role("tab", name="Refinement").click()
            page.wait_for_timeout(1500)
            assert page.locator(".js-plotly-plot:visible").count() >= 2
            page.screenshot(path=str(shots / "results-refinement.png"), full_page=True)

            # Compare: two models of the job, superposed
            page.goto(f"{url}/compare")
            expect(page.get_by_text("TM-score")).to_be_visible(timeout=60_000)
            assert _viewer_canvas_drawn(page, logs / "compare-viewer.png") > 0.01
            page.screenshot(path=str(shots / "compare.png"), full_page=True)
        finally:
            browser.close()
