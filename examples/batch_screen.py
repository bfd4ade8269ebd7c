"""Screen sequence variants from Python on a Dask cluster you made yourself, and print the ranking.

``workbench.run_batch`` takes an existing ``distributed.Client``: here a
``LocalCluster`` of single-threaded worker processes, but any client works (a
SLURM cluster, a scheduler address). Each variant is threaded onto the template
structure, relaxed with OpenMM and analysed; the wild type (the template's own
sequence) is relaxed the same way, and variants are ranked by energy change
against it. Offline: the template is PDBFixer's 1BHL (HIV-1 integrase core
domain), a file a dependency ships.

Running it again with the same ``--out`` computes only what is missing::

    python examples/batch_screen.py [FASTA] [--out DIR] [--workers N] [--limit N]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from distributed import Client, LocalCluster

import workbench
from workbench.io import scan_fasta

EXAMPLES = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    """Run the screen; return 0 when every record finished."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fasta", nargs="?", type=Path, default=EXAMPLES / "data" / "integrase_variants.fasta")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "workbench-batch-screen")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the LocalCluster")
    parser.add_argument("--limit", type=int, help="screen only the first N records of the FASTA file")
    args = parser.parse_args(argv)

    records, invalid = scan_fasta(args.fasta)
    for error in invalid:
        print(f"skipped: {error}")
    if args.limit is not None:
        records = records[:args.limit]
    request = workbench.BatchRequest.create("template")  # the default template: PDBFixer's 1BHL
    template = Path(request.predictor.options.template)
    print(f"{len(records)} record(s) from {args.fasta.name}, template {template.name}, {args.workers} worker(s)")

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        result = workbench.run_batch(request, records, args.out, client=client)

    table = result.summary.sort_values("rank", na_position="last")
    print(f"\n{'rank':>4}  {'id':<10} {'status':<7} {'dE kJ/mol':>10} {'violations':>10} {'clashes':>7} "
          f"{'Rg A':>6}")
    for row in table.itertuples():
        rank = "-" if row.status != "done" else str(row.rank)
        print(f"{rank:>4}  {row.id:<10} {row.status:<7} {row.energy_change:>10.1f} {row.violations_after:>10.0f} "
              f"{row.clashes:>7.0f} {row.radius_of_gyration:>6.2f}" + (f"  {row.error}" if row.error else ""))
    counts = result.counts
    print(f"\n{counts['done']} computed, {counts['cached']} already complete, {counts['failed']} failed; "
          f"summary: {result.paths['csv']}")
    return 0 if counts["failed"] == counts["cancelled"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
