"""Run a batch screen on SLURM through dask-jobqueue, with the cluster settings in a YAML file.

``examples/slurm.yaml`` holds documented ``SLURMCluster`` keyword arguments
(partition, account, cores, memory, walltime, ``--gres=gpu:1``, the ``GPU=1``
worker resource, ...) and the workbench's own keys (``system``, ``adapt``,
``dashboard_address``, ``tls_*``). The script loads it with
:func:`workbench.pipelines.cluster.slurm_cluster` and prints the job script each
SLURM job would run, which needs no SLURM installation: check it before you
submit anything. ``--run`` then starts ``--jobs`` jobs (or, with ``--jobs 0``,
adapts between the file's ``adapt`` bounds) and runs ``workbench.run_batch`` on
them; ``--local`` runs the same batch on a local cluster instead
(``make_cluster("local")``), to try the recipe on a laptop. Scheduler and
workers speak TLS with temporary certificates.

The command-line equivalent is
``workbench run FASTA -o OUT --cluster slurm:2 --cluster-config examples/slurm.yaml``
(``--cluster slurm`` alone adapts between the file's ``adapt`` bounds).

Note that dask-jobqueue creates ``log_directory`` (relative to the current folder)
when the cluster is made.

    python examples/slurm_recipe.py [--config FILE]                    # print the job script
    python examples/slurm_recipe.py --run [--jobs N] [FASTA] [--out DIR] [--limit N]
    python examples/slurm_recipe.py --local [FASTA] [--out DIR] [--limit N]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from distributed import Client

import workbench
from workbench.io import scan_fasta
from workbench.pipelines.batch import BatchResult
from workbench.pipelines.cluster import make_cluster, read_cluster_config, size_cluster, slurm_cluster

EXAMPLES = Path(__file__).resolve().parent


def screen(client: Client, fasta: Path, out: Path, limit: int | None) -> BatchResult:
    """The batch: variants threaded onto 1BHL, relaxed and ranked (offline, the same on any cluster)."""
    records, _ = scan_fasta(fasta)
    request = workbench.BatchRequest.create("template")  # the default template: PDBFixer's 1BHL
    return workbench.run_batch(request, records[:limit], out, client=client)


def report(result: BatchResult) -> None:
    """Print the ranked summary."""
    for row in result.summary.sort_values("rank", na_position="last").itertuples():
        if row.status == "done":
            print(f"  #{row.rank} {row.id}: dE {row.energy_change:+.1f} kJ/mol, violations "
                  f"{row.violations_after:.0f}, clashes {row.clashes:.0f}")
        else:
            print(f"  {row.id}: {row.status}: {row.error}")
    counts = result.counts
    print(f"{counts['done']} computed, {counts['cached']} already complete, {counts['failed']} failed; "
          f"summary: {result.paths['csv']}")


def main(argv: list[str] | None = None) -> int:
    """Print the job script; with ``--run`` or ``--local``, run the batch and return 0 when all finished."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fasta", nargs="?", type=Path, default=EXAMPLES / "data" / "integrase_variants.fasta")
    parser.add_argument("--config", type=Path, default=EXAMPLES / "slurm.yaml", help="SLURMCluster arguments (YAML)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--run", action="store_true", help="submit --jobs SLURM jobs and run the batch on them")
    where.add_argument("--local", action="store_true", help="run the batch on a local cluster instead of SLURM")
    parser.add_argument("--jobs", type=int, default=2,
                        help="SLURM jobs to start with --run (0: adapt between the config's bounds)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "workbench-slurm-recipe")
    parser.add_argument("--limit", type=int, help="screen only the first N records")
    args = parser.parse_args(argv)

    with slurm_cluster(args.config) as cluster:
        print(cluster.job_script())
        if args.run:
            size_cluster(cluster, read_cluster_config(args.config), jobs=args.jobs or None)
            with Client(cluster) as client:
                print(f"waiting for a worker from {args.jobs or 'adaptive'} SLURM job(s) ...")
                if args.jobs:  # an adaptive cluster submits jobs once there is work
                    client.wait_for_workers(1)
                result = screen(client, args.fasta, args.out, args.limit)
    if args.local:
        with make_cluster("local") as client:
            result = screen(client, args.fasta, args.out, args.limit)
    if not (args.run or args.local):
        return 0
    report(result)
    return 0 if result.counts["failed"] == result.counts["cancelled"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
