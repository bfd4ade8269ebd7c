"""The batch report's cost at scale: ``write_report_files`` on synthetic finished batches of many items.

Issue 15 asks for batches of 10,000 and 100,000 items whose orchestration costs
under 2 ms per item. Before it, ``write_report_files`` drew a pLDDT and a PAE
figure for every item on the client and inlined them all in ``report.html``;
now the items hold their own figures (drawn on the workers) and the page is
capped (:data:`workbench.report.REPORT_TABLE_ROWS`,
:data:`~workbench.report.REPORT_DETAILED_ITEMS`,
:data:`~workbench.report.REPORT_FAILED_ROWS`).

One real item folder is written through :class:`~workbench.results.ItemFolder`
(PDBFixer's 1BHL chain A as the model, a per-residue pLDDT and a PAE, its
figures from :func:`~workbench.item_figures.write_item_figures`), then hard-linked
``N`` times under new keys into ``cache/`` beside a summary of ``N`` ranked rows
(2 % of them failed; ``--folders N`` links only the best N, for a 100,000-item
run of this checkout, which opens only the best items' folders).
``write_report_files(open_results(folder))`` runs in a fresh subprocess per
batch, once with this checkout's code and, with ``--baseline PATH``, once with
another checkout's (``git worktree add /tmp/report-base main``),
whose ``workbench`` package the subprocess imports instead (``PYTHONPATH``).
Each batch folder is made afresh for each run, so the old code's PNG writes do
not carry over. Printed: seconds, milliseconds per item, the size of
``report.html`` and the subprocess's peak resident memory.

Measured 2026-11-26 on the shared development machine (about one core for several
agents, load average 6-22 during the runs, so the baseline's times are high by perhaps 2x;
the baseline is main at 1a8ae58):

========  =======  ============  ======================  ========  ================  =============
code      items    item folders  write_report_files (s)  ms/item   report.html (MB)  peak RSS (MB)
========  =======  ============  ======================  ========  ================  =============
this        1,000           980                    1.49      1.49             14.67            301
this       10,000         9,800                    1.52      0.15             14.70            324
this      100,000         2,000                    3.84      0.04             14.81            487
baseline      100            98                  181.74  1,817.41             14.10            332
baseline    1,000           980                  902.74    902.74            133.63            904
========  =======  ============  ======================  ========  ================  =============

The baseline at 10,000 was not run: linearly about 2.5 hours and a 1.3 GB page. The
100,000-row peak RSS is ``open_results`` reading the summary (445 MB peak before the
report starts); the report itself adds nothing to it. Drawing an item's two figures on
its worker (:func:`~workbench.item_figures.write_item_figures`, 153 residues) took
0.5-0.9 s there, in parallel with the other items.

Usage::

    python benchmarks/report.py [--items 1000 10000] [--baseline /tmp/report-base] [--baseline-items 100 1000]
                                [--folders N] [--timeout 1800] [--work DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]

_RUN = textwrap.dedent("""
    import json, resource, sys, time
    from workbench.report import write_report_files
    from workbench.results import open_results
    started = time.perf_counter()
    written = write_report_files(open_results(sys.argv[1]))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "html_bytes": written["report.html"].stat().st_size,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "written": len(written)}))
""")


def make_item(folder: Path) -> Path:
    """One finished item's files (model, confidence with pLDDT and PAE, metrics, config, figures) in ``folder``."""
    import pdbfixer

    from workbench.io.structure_reader import read_structure
    from workbench.item_figures import write_item_figures
    from workbench.predict.base import Prediction, Provenance
    from workbench.results import ItemFolder

    model = read_structure(Path(pdbfixer.__file__).parent / "tests" / "data" / "1BHL.pdb")
    model = model.select(model.polymer & (model.chain_id == "A"))
    n = len(model.residues)
    rng = np.random.default_rng(0)
    plddt = np.clip(80 + 10 * rng.standard_normal(n), 0, 100).astype(np.float32)
    distance = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    pae = np.clip(2 + distance / 8 + rng.random((n, n)), 0, 31.75).astype(np.float32)
    prediction = Prediction(model, plddt, 0.8, pae, Provenance("synthetic"), name="item")
    item = ItemFolder(folder)
    folder.mkdir(parents=True)
    item.write_prediction(prediction)
    item.write_metrics({"secondary_structure": "C" * n, "helix_fraction": 0.3, "strand_fraction": 0.2,
                        "radius_of_gyration": 15.0, "clashes": 0, "max_clash_overlap": 0.0})
    item.write_config("0" * 16, model.sequences["A"], ["item"], {"predictor": "synthetic"})
    write_item_figures(item)
    return folder


def make_batch(folder: Path, item: Path, n: int, folders: int | None = None) -> Path:
    """A finished batch folder of ``n`` records, 2 % of them failed; ``item`` hard-linked for each finished one.

    ``folders`` links only the best that many (the rest of the rows name items without a folder).
    """
    import pandas as pd

    from workbench.results import SummaryRow, write_summary

    failed = n // 50
    rows = []
    for i in range(n - failed):
        key = f"{i:016x}"
        if folders is None or i < folders:
            shutil.copytree(item, folder / "cache" / key, copy_function=os.link)
        rows.append(SummaryRow(name=f"r{i}", id=f"r{i}", item=key, length=153, chains=1, status="done", rank=i + 1,
                               mean_plddt=90.0 - 40.0 * i / n, ptm=0.8, max_pae=31.75, clashes=0,
                               radius_of_gyration=15.0, predict_s=0.1).to_dict())
    rows += [SummaryRow(name=f"bad{i}", id=f"bad{i}", item=None, length=0, chains=0, status="failed",
                        error=f"record 'bad{i}': not modelled").to_dict() for i in range(failed)]
    write_summary(pd.DataFrame(rows), folder, {"records": n, "items": n - failed,
                                               "counts": {"done": n - failed, "failed": failed}})
    return folder


def run_report(code: Path, batch: Path, timeout: float) -> dict:
    """``write_report_files`` on ``batch`` in a fresh interpreter importing ``workbench`` from ``code``."""
    environment = os.environ | {"PYTHONPATH": str(code), "MPLBACKEND": "Agg"}
    try:
        done = subprocess.run([sys.executable, "-c", _RUN, str(batch)], cwd=code, env=environment, text=True,
                              capture_output=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "timeout": timeout}
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"{code}: report failed on {batch}:\n{exc.stderr}") from None
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1000, 10000], help="batch sizes, this checkout")
    parser.add_argument("--baseline", type=Path, help="another checkout to compare (e.g. the main branch)")
    parser.add_argument("--baseline-items", type=int, nargs="+", help="batch sizes for it (default: --items)")
    parser.add_argument("--folders", type=int, help="item folders made per batch of this checkout (default: every "
                        "finished item; the report opens only the best and stats those of the rows it shows)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before a run is given up")
    parser.add_argument("--work", type=Path, help="folder for the batches (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="report-bench-", dir=args.work))
    runs = [("this", REPOSITORY, n, args.folders) for n in args.items]
    if args.baseline is not None:  # the old code draws a figure for every item folder: all of them, always
        runs += [("baseline", args.baseline.resolve(), n, None) for n in (args.baseline_items or args.items)]
    try:
        item = make_item(work / "item")
        results = []
        for label, code, n, folders in runs:
            batch = make_batch(work / f"{label}-{n}", item, n, folders)
            made = min(n - n // 50, folders) if folders is not None else n - n // 50
            result = run_report(code, batch, args.timeout) | {"code": label, "items": n, "folders": made}
            shutil.rmtree(batch)
            results.append(result)
            print(_line(result), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n" + _table(results))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _line(result: dict) -> str:
    if result.get("seconds") is None:
        return f"{result['code']:>8} {result['items']:>7}: over {result['timeout']:.0f} s, stopped"
    return (f"{result['code']:>8} {result['items']:>7}: {result['seconds']:8.2f} s, "
            f"{1000 * result['seconds'] / result['items']:7.2f} ms/item, "
            f"report.html {result['html_bytes'] / 1e6:7.2f} MB, peak RSS {result['peak_rss_mb']:6.0f} MB")


def _table(results: list[dict]) -> str:
    lines = ["| code | items | item folders | write_report_files (s) | ms/item | report.html (MB) | peak RSS (MB) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if r.get("seconds") is None:
            lines.append(f"| {r['code']} | {r['items']:,} | {r['folders']:,} | > {r['timeout']:.0f} (stopped) | | | |")
        else:
            lines.append(f"| {r['code']} | {r['items']:,} | {r['folders']:,} | {r['seconds']:.2f} | "
                         f"{1000 * r['seconds'] / r['items']:.2f} | {r['html_bytes'] / 1e6:.2f} | "
                         f"{r['peak_rss_mb']:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
