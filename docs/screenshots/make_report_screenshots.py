"""Write the README's screenshots of the batch report: ``report-1280.png`` and ``report-1920.png``.

Runs a real batch (the template predictor on PDBFixer's 1BHL with refinement: the
wild type and three resistance mutants, plus one invalid record to show a
failure) in a temporary folder, writes its report with
:func:`workbench.report.write_report_files`, and screenshots the whole page in
Debian's headless Chromium at 1280 and 1920 px wide. With a batch folder as
argument, that folder's report is written and shown instead (its report.html,
citations.bib and figures are rewritten).

Usage::

    python docs/screenshots/make_report_screenshots.py [BATCH_FOLDER] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader",
                 "--enable-unsafe-swiftshader"]
SIZES = ((1280, 800), (1920, 1080))
MUTATIONS = ("N155H", "T66I", "E92Q")


def example_fasta() -> str:
    """The 1BHL wild type, :data:`MUTATIONS` and one invalid record, as FASTA text."""
    from workbench.predict.template import TemplatePredictor, default_template

    predictor = TemplatePredictor(default_template())
    wild, numbering = predictor.template_sequences[0], predictor._numbering["A"]
    records = {"wt integrase core (1BHL)": wild}
    for label in MUTATIONS:
        i = numbering.index(label[1:-1])
        if wild[i] != label[0]:
            raise ValueError(f"{label}: residue {label[1:-1]} of 1BHL is {wild[i]}, not {label[0]}")
        records[f"{label} resistance mutant"] = wild[:i] + label[-1] + wild[i + 1:]
    records["truncated unreadable record"] = "MKV1LLA"
    return "".join(f">{name}\n{sequence}\n" for name, sequence in records.items())


def screenshots(report: Path, out: Path) -> list[Path]:
    """Full-page screenshots of ``report`` at each of :data:`SIZES`; the paths written."""
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for width, height in SIZES:
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(report.as_uri())
                page.locator(".viewer canvas").first.wait_for(state="attached", timeout=60_000)
                page.wait_for_timeout(1500)  # let 3Dmol.js draw
                path = out / f"report-{width}.png"
                page.screenshot(path=str(path), full_page=True)
                written.append(path)
                page.close()
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    """Build (or take) a batch, write its report, save the screenshots; print their paths."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("batch", nargs="?", type=Path, help="a finished batch folder (default: run an example)")
    parser.add_argument("--out", type=Path, default=HERE, help="where the PNG files go (default: %(default)s)")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        parser.error(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from workbench.report import write_report_files
    from workbench.results import open_results

    with tempfile.TemporaryDirectory(prefix="workbench-report-") as scratch:
        batch = args.batch
        if batch is None:
            from workbench.pipelines.batch import run_batch
            from workbench.request import BatchRequest

            batch = Path(scratch) / "integrase-variants"
            run_batch(BatchRequest.create("template"), example_fasta(), batch, cluster="inprocess")
        report = write_report_files(open_results(batch))["report.html"]
        args.out.mkdir(parents=True, exist_ok=True)
        for path in screenshots(report, args.out):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
