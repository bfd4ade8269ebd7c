"""The batch report in a real headless Chromium: no horizontal overflow, images drawn, a 3D viewer canvas.

Opens ``report.html`` of a real template batch (refined, with a failed record and
a record named like markup) and of a tiny ESMFold batch (pLDDT and PAE figures)
through a ``file://`` URL at 1280x800 and 1920x1080, and checks that the page is
no wider than the window, that every ``<img>`` decoded, that 3Dmol.js made a
canvas for each top model, and that the markup-named record did not run.
Screenshots go to pytest's temporary folder (``docs/screenshots/make_report_screenshots.py``
writes the README's). Skipped when Debian's ``/usr/bin/chromium`` or Playwright is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report_batches import esmfold_batch, template_batch
from tests.ui.test_e2e_browser import CHROMIUM, CHROMIUM_ARGS
from workbench.report import write_report_files
from workbench.results import open_results

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                                                     "(apt-get install chromium)"),
]

VIEWPORTS = ((1280, 800), (1920, 1080))


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """report.html of a template batch and, when torch is installed, of a tiny ESMFold batch."""
    pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install playwright)")
    folder = tmp_path_factory.mktemp("report_browser")
    batches = {"template": template_batch(folder / "template")}
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        pass
    else:
        batches["esmfold"] = esmfold_batch(folder / "esmfold", folder / "weights")
    return {name: write_report_files(open_results(out))["report.html"] for name, out in batches.items()}


def measure(page) -> dict:
    """What the check asserts on, measured in the page."""
    return page.evaluate("""() => ({
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        images: Array.from(document.images).map(i => ({complete: i.complete, width: i.naturalWidth})),
        canvases: document.querySelectorAll('.viewer canvas').length,
        viewers: document.querySelectorAll('.viewer').length,
        has3Dmol: typeof $3Dmol !== 'undefined',
        alerted: window.__alerted === true,
        wideElements: Array.from(document.querySelectorAll('body *'))
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.scroll'))
            .map(e => e.tagName + '.' + e.className).slice(0, 5),
    })""")


@pytest.mark.parametrize("kind", ["template", "esmfold"])
def test_report_fits_the_window_and_draws(reports, kind, tmp_path):
    from playwright.sync_api import sync_playwright

    if kind not in reports:
        pytest.skip("the ESMFold batch needs torch and transformers")
    report = reports[kind]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for width, height in VIEWPORTS:
                page = browser.new_page(viewport={"width": width, "height": height})
                errors: list[str] = []
                page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
                page.add_init_script("window.alert = () => { window.__alerted = true; };")
                page.goto(report.as_uri())
                page.wait_for_load_state("load")
                page.locator(".viewer canvas").first.wait_for(state="attached", timeout=30_000)
                page.wait_for_timeout(500)
                seen = measure(page)
                page.screenshot(path=str(tmp_path / f"report-{kind}-{width}.png"), full_page=True)
                assert seen["scrollWidth"] <= seen["innerWidth"], (width, seen["wideElements"])
                assert not seen["wideElements"], seen["wideElements"]
                assert all(image["complete"] and image["width"] > 0 for image in seen["images"]), seen["images"]
                assert seen["has3Dmol"] and seen["viewers"] >= 1 and seen["canvases"] >= seen["viewers"], seen
                assert not seen["alerted"] and not errors, errors
                if kind == "esmfold":
                    assert len(seen["images"]) == 4  # pLDDT and PAE for each of the two items
                page.close()
        finally:
            browser.close()
