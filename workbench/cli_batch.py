"""The batch commands of ``workbench``: run, submit, jobs, serve, ui.

``run`` computes a batch now, on a Dask cluster, with a progress bar.
``submit`` queues it in the job store for the dispatcher (``serve``), and
``jobs`` lists, shows and cancels what is queued. ``ui`` starts the web UI.
Heavy imports (Dask, pandas, SQLAlchemy) happen inside the handlers, so the
other commands stay quick.
"""

from __future__ import annotations

import argparse
import errno
import json
import pathlib
import sys
from typing import Any

DEFAULT_TEMPLATE_NOTE = "PDBFixer's 1BHL (HIV-1 integrase core domain), shipped with a dependency"


def default_template() -> pathlib.Path:
    """The embedded default template: PDBFixer's copy of 1BHL."""
    import pdbfixer

    return pathlib.Path(pdbfixer.__file__).parent / "tests" / "data" / "1BHL.pdb"


def add_batch_commands(commands: Any) -> None:
    """Add run, submit, jobs, serve and ui to the ``workbench`` subcommand parser."""
    run = commands.add_parser(
        "run", help="predict, refine and analyse a FASTA batch now, on a Dask cluster",
        description="Writes OUT/<item>/ (model, relaxed model, confidence, metrics) and OUT/summary.parquet, "
                    "summary.csv, report.html. Running it again computes only what is missing.",
    )
    run.add_argument("fasta", help="FASTA file; ':' separates the chains of a complex")
    run.add_argument("-o", "--output", required=True, help="batch folder")
    _add_batch_options(run)
    run.add_argument("--cluster", default="local",
                     help="local (default), local:N, cuda, slurm, slurm:N or tcp://host:port")
    run.add_argument("--cluster-config", help="YAML file of SLURMCluster settings (for --cluster slurm)")
    run.add_argument("--item-timeout", type=float, metavar="S", help="fail an item running longer than S seconds")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(handler=_run)

    submit = commands.add_parser("submit", help="queue a FASTA batch for the dispatcher (workbench serve)")
    submit.add_argument("fasta", help="FASTA file")
    submit.add_argument("--name", default="", help="a name for the job")
    submit.add_argument("--owner", default="local", help="who the job belongs to (default local)")
    submit.add_argument("--store", help="job store URL (default: $WORKBENCH_STORE_URL, else SQLite in $WORKBENCH_HOME)")
    _add_batch_options(submit)
    submit.set_defaults(handler=_submit)

    jobs = commands.add_parser("jobs", help="list, show or cancel queued and finished jobs")
    jobs.add_argument("action", choices=["list", "show", "cancel"])
    jobs.add_argument("job_id", nargs="?", help="the job (show, cancel)")
    jobs.add_argument("--store", help="job store URL (default: $WORKBENCH_STORE_URL, else SQLite in $WORKBENCH_HOME)")
    jobs.add_argument("--status", help="list: only jobs with this status")
    jobs.add_argument("--json", action="store_true", help="print JSON")
    jobs.set_defaults(handler=_jobs)

    serve = commands.add_parser(
        "serve", help="the dispatcher: claim queued jobs and run them on a Dask cluster",
        description="Claims queued jobs with a lease, runs them, renews the lease, records progress and results. "
                    "On restart it takes back jobs whose lease expired. SIGTERM stops claiming and finishes "
                    "running jobs within --grace seconds, handing back the rest.",
    )
    serve.add_argument("--store", help="job store URL (default: $WORKBENCH_STORE_URL, else SQLite in $WORKBENCH_HOME)")
    serve.add_argument("--results", help="folder for job results (default $WORKBENCH_HOME/results)")
    serve.add_argument("--cluster", default="local", help="cluster spec, as for run (default local)")
    serve.add_argument("--cluster-config", help="YAML file of SLURMCluster settings")
    serve.add_argument("--max-jobs", type=int, default=2, help="jobs run at once (default 2)")
    serve.add_argument("--lease", type=float, default=60.0, help="lease length in seconds (default 60)")
    serve.add_argument("--poll", type=float, default=1.0, help="seconds between looks at the queue (default 1)")
    serve.add_argument("--grace", type=float, default=30.0, help="seconds to finish running jobs on SIGTERM")
    serve.add_argument("--item-timeout", type=float, metavar="S", help="fail an item running longer than S seconds")
    serve.add_argument("--once", action="store_true", help="exit when no job is queued or running")
    serve.set_defaults(handler=_serve)

    ui = commands.add_parser("ui", help="start the web UI (Streamlit)")
    ui.add_argument("--port", type=int, default=8501)
    ui.add_argument("--address", default="127.0.0.1")
    ui.add_argument("--store", help="job store URL (default: $WORKBENCH_STORE_URL, else SQLite in $WORKBENCH_HOME)")
    ui.set_defaults(handler=_ui)


def _add_batch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--predictor", default="template", help="template (default; offline) or esmfold")
    parser.add_argument("--template", help=f"template structure (default: {DEFAULT_TEMPLATE_NOTE})")
    parser.add_argument("--chain", help="template chain to model on")
    parser.add_argument("--weights", help="esmfold: local weights folder or hub id (default facebook/esmfold_v1)")
    parser.add_argument("--num-recycles", type=int, help="esmfold: recycles")
    parser.add_argument("--refine", action=argparse.BooleanOptionalAction, default=True,
                        help="relax every model (default: yes)")
    parser.add_argument("--md-ps", type=float, default=0.0, help="picoseconds of restrained MD before the relax")
    parser.add_argument("--platform", help="OpenMM platform (default: CUDA if available, else CPU)")


def batch_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The job parameters of a batch from the command line (what the dispatcher runs).

    Raises
    ------
    ValueError
        For a predictor that is not registered.
    FileNotFoundError
        For a template that is not a file: a queued job would fail only later, in ``serve``.
    """
    from workbench.predict.base import available_predictors

    if args.predictor not in available_predictors():
        raise ValueError(f"unknown predictor {args.predictor!r}; available: {', '.join(available_predictors())}")
    if args.template and not pathlib.Path(args.template).is_file():
        raise FileNotFoundError(errno.ENOENT, "template structure not found", args.template)
    options: dict[str, Any] = {}
    if args.predictor == "template":
        options = {"template": str(pathlib.Path(args.template).resolve()) if args.template
                   else str(default_template())}
        if args.chain:
            options["chain"] = args.chain
    elif args.predictor == "esmfold":
        options = {"weights": args.weights or "facebook/esmfold_v1"}
        if args.num_recycles is not None:
            options["num_recycles"] = args.num_recycles
    refine_options: dict[str, Any] = {}
    if args.md_ps:
        refine_options["md_ps"] = args.md_ps
    if args.platform:
        refine_options["platform"] = args.platform
    return {"predictor": args.predictor, "predictor_options": options, "refine": args.refine,
            "refine_options": refine_options}


def _run(args: argparse.Namespace) -> int:
    from workbench.io.structure_writer import check_writable_folder
    from workbench.pipelines.batch import run_batch
    from workbench.pipelines.cluster import make_cluster

    check_writable_folder(args.output)
    parameters = batch_parameters(args)
    if args.predictor == "template" and not args.template:
        print(f"template: {DEFAULT_TEMPLATE_NOTE}", file=sys.stderr)
    with make_cluster(args.cluster, config=args.cluster_config) as client:
        result = run_batch(args.fasta, args.output, client=client, item_timeout=args.item_timeout,
                           show_progress=not args.no_progress, **parameters)
    table = result.summary
    for row in table.sort_values("rank", na_position="last").itertuples():
        if row.status == "done":
            energy = "" if row.energy_change != row.energy_change else f", dE {row.energy_change:+.1f} kJ/mol"
            violations = "" if row.violations_after != row.violations_after else (  # NaN: not refined
                f", violations {row.violations_after:.0f}")
            print(f"  #{row.rank} {row.id}: mean pLDDT {row.mean_plddt:.1f}{energy}{violations}, "
                  f"clashes {row.clashes:.0f}")
        else:
            print(f"  {row.id}: {row.status}: {row.error}", file=sys.stderr)
    counts = result.counts
    print(f"{counts['done']} computed, {counts['cached']} already complete, {counts['failed']} failed, "
          f"{counts['invalid']} invalid record(s); summary: {result.paths['csv']}")
    return 0 if counts["failed"] == counts["invalid"] == counts["cancelled"] == 0 else 1


def _submit(args: argparse.Namespace) -> int:
    from workbench.errors import SequenceFormatError
    from workbench.io._source import load_text
    from workbench.io.fasta import scan_fasta
    from workbench.jobs.store import JobStore

    path = pathlib.Path(args.fasta)
    text = load_text(path, SequenceFormatError, what="FASTA").text  # gzip, encodings, binary: as run reads it
    records, errors = scan_fasta(path)  # messages name the file
    for error in errors:
        print(f"workbench submit: warning: {error} (the record will be reported as failed)", file=sys.stderr)
    if not records:
        raise ValueError(f"{args.fasta}: no valid sequence to submit")
    with JobStore(args.store) as store:
        job = store.submit({"fasta": text}, batch_parameters(args), owner=args.owner,
                           name=args.name or pathlib.Path(args.fasta).stem)
    print(job.id)
    return 0


def _jobs(args: argparse.Namespace) -> int:
    from workbench.jobs.store import JobStore

    with JobStore(args.store) as store:
        if args.action == "list":
            jobs = store.list(status=args.status)
            if args.json:
                print(json.dumps([_job_dict(job) for job in jobs], indent=2, default=str))
            for job in [] if args.json else jobs:
                progress = job.progress or {}
                print(f"{job.id}  {job.status:<9}  {progress.get('done', 0) + progress.get('cached', 0)}"
                      f"/{progress.get('total', '?')}  {job.created_at:%Y-%m-%d %H:%M}  {job.name}")
            return 0
        if not args.job_id:
            raise ValueError(f"jobs {args.action} needs a job id")
        if args.action == "cancel":
            job = store.request_cancel(args.job_id)
            print(f"{job.id}: {job.status}{' (cancel requested)' if job.cancel_requested else ''}")
            return 0
        data = _job_dict(store.get(args.job_id))
        data["items"] = [{"name": i.name, "item": i.item, "status": i.status, "error": i.error}
                         for i in store.items(args.job_id)]
        print(json.dumps(data, indent=2, default=str))
    return 0


def _job_dict(job: Any) -> dict[str, Any]:
    import dataclasses

    data = dataclasses.asdict(job)
    data["inputs"] = {k: (f"{len(v)} characters" if k == "fasta" else v) for k, v in data["inputs"].items()}
    return data


def _serve(args: argparse.Namespace) -> int:
    import logging

    from workbench.pipelines.dispatcher import Dispatcher

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    dispatcher = Dispatcher(store_url=args.store, results=args.results, cluster=args.cluster,
                            cluster_config=args.cluster_config, max_jobs=args.max_jobs, lease_seconds=args.lease,
                            poll=args.poll, grace=args.grace, item_timeout=args.item_timeout)
    return dispatcher.serve(once=args.once)


def _ui(args: argparse.Namespace) -> int:
    from workbench.ui.launch import launch

    return launch(port=args.port, address=args.address, store_url=args.store)
