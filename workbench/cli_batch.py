"""The batch commands of ``workbench``: run, submit, jobs, serve, cache, weights, ui.

``run`` computes a batch now, on a Dask cluster, with a progress bar.
``submit`` queues it in the job store for the dispatcher (``serve``), and
``jobs`` lists, shows and cancels what is queued. ``ui`` starts the web UI.
Heavy imports (Dask, pandas, SQLAlchemy) happen inside the handlers, so the
other commands stay quick.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import pathlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import Field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.io.fasta import SequenceRecord
    from workbench.request import BatchRequest


class CommandParser(argparse.ArgumentParser):
    """The parser of one subcommand, whose costlier arguments are added when the command is used.

    Arguments generated from the predictor registry (:func:`add_request_options`)
    import every backend's options; ``compare``'s defaults live in the analysis
    code. Registered with :meth:`add_options`, they are added the first time
    this command's arguments are parsed or its help is shown, so ``workbench
    --version`` and the other commands do not pay for them.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: list[Callable[[argparse.ArgumentParser], None]] = []

    def add_options(self, add: Callable[[argparse.ArgumentParser], None]) -> None:
        """Call ``add(self)`` before this command is first parsed or described."""
        self._pending.append(add)

    def _complete(self) -> None:
        while self._pending:
            self._pending.pop(0)(self)

    def parse_known_args(  # type: ignore[override]  # one signature for the overloads
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> Any:
        """Add the pending arguments, then parse (see :class:`argparse.ArgumentParser`)."""
        self._complete()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        """Add the pending arguments, then describe them all."""
        self._complete()
        return super().format_help()

    def format_usage(self) -> str:
        """Add the pending arguments, then give the usage line."""
        self._complete()
        return super().format_usage()


def add_batch_commands(commands: Any) -> None:
    """Add run, submit, jobs, serve and ui to the ``workbench`` subcommand parser."""
    run = commands.add_parser(
        "run", help="predict, refine and analyse a FASTA batch now, on a Dask cluster",
        description="Writes OUT/<item>/ (model, relaxed model, confidence, metrics) and OUT/summary.parquet, "
                    "summary.csv, report.html. Running it again computes only what is missing.",
    )
    run.add_argument("fasta", help="FASTA file; ':' separates the chains of a complex")
    run.add_argument("-o", "--output", required=True, help="batch folder")
    run.add_options(add_request_options)
    run.add_argument("--cluster", default="local",
                     help="local (default), local:N, inprocess, cuda, slurm|pbs|lsf|sge|htcondor[:N|:MIN-MAX] "
                          "or tls://host:port")
    run.add_argument("--cluster-config", help="YAML file of cluster settings: the batch system's dask-jobqueue "
                                              "arguments, adapt, dashboard_address, tls_* certificate files")
    run.add_argument("--item-timeout", type=float, metavar="S", help="fail an item running longer than S seconds")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_shared_cache_options(run)
    run.set_defaults(handler=_run)

    submit = commands.add_parser("submit", help="queue a FASTA batch for the dispatcher (workbench serve)")
    submit.add_argument("fasta", help="FASTA file")
    submit.add_argument("--name", default="", help="a name for the job")
    submit.add_argument("--owner", default="local", help="who the job belongs to (default local)")
    submit.add_argument("--store", help="job store URL (default: $WORKBENCH_STORE_URL, else SQLite in $WORKBENCH_HOME)")
    submit.add_options(add_request_options)
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
                    "Upgrades the store's schema on start; waits out database outages (one log line per try); "
                    "on restart it takes back jobs whose lease expired; passes cancels on within --poll seconds. "
                    "SIGINT or SIGTERM stops claiming and exits within --grace seconds: running jobs get all "
                    "but the last 10 (at most half), then are handed back to the queue.",
    )
    serve.add_argument("--store", help="job store URL (default: $WORKBENCH_STORE_URL, else SQLite in $WORKBENCH_HOME)")
    serve.add_argument("--results", help="folder for job results (default $WORKBENCH_HOME/results)")
    serve.add_argument("--cluster", default="local", help="cluster spec, as for run (default local)")
    serve.add_argument("--cluster-config", help="YAML file of cluster settings, as for run")
    serve.add_argument("--max-jobs", type=int, default=2, help="jobs run at once (default 2)")
    serve.add_argument("--lease", type=float, default=60.0, help="lease length in seconds (default 60)")
    serve.add_argument("--poll", type=float, default=1.0,
                       help="seconds between looks at the queue and at cancels (default 1)")
    serve.add_argument("--grace", type=float, default=30.0, help="seconds to exit in on SIGINT/SIGTERM (default 30)")
    serve.add_argument("--item-timeout", type=float, metavar="S", help="fail an item running longer than S seconds")
    serve.add_argument("--once", action="store_true", help="exit when no job is queued or running")
    add_shared_cache_options(serve)
    serve.set_defaults(handler=_serve)

    weights = commands.add_parser(
        "weights", help="fetch model weights into the local cache (on a machine with internet)",
        description="`workbench weights fetch [esmfold_v1|OWNER/NAME]` downloads into the Hugging Face cache and "
                    "prints the folder; `workbench weights where [NAME]` says whether they are on this machine.")
    weights.add_argument("action", choices=["fetch", "where"])
    weights.add_argument("name", nargs="?", default="esmfold_v1", help="esmfold_v1 (default) or a hub id")
    weights.set_defaults(handler=_weights)

    cache = commands.add_parser(
        "cache", help="show or clean the cache of finished items shared by every batch and job",
        description="Finished items are content-addressed (sequence, settings, software versions); a batch or job "
                    "that needs one already in the shared cache takes it instead of computing it. Batch folders "
                    "hold their own links to the files: cleaning the cache never damages them.")
    cache.add_argument("action", choices=["info", "clean"])
    cache.add_argument("--older-than", type=float, metavar="DAYS",
                       help="clean: only items finished more than DAYS days ago (default: all)")
    cache.add_argument("--shared-cache", metavar="DIR",
                       help="the cache folder (default $WORKBENCH_CACHE, else $WORKBENCH_HOME/cache)")
    cache.set_defaults(handler=_cache)

    ui = commands.add_parser("ui", help="start the web UI (Streamlit)")
    ui.add_argument("--port", type=int, default=8501)
    ui.add_argument("--address", default="127.0.0.1")
    ui.add_argument("--store", help="job store URL (default: $WORKBENCH_STORE_URL, else SQLite in $WORKBENCH_HOME)")
    sign_in = ui.add_argument_group("sign-in (default: one user, no sign-in; see the README's lab server section)")
    sign_in.add_argument("--oidc-issuer", help="OpenID Connect issuer URL (default $WORKBENCH_OIDC_ISSUER)")
    sign_in.add_argument("--oidc-client-id", help="client id at the provider (default $WORKBENCH_OIDC_CLIENT_ID)")
    sign_in.add_argument("--oidc-client-secret-file", type=pathlib.Path,
                         help="file holding the client secret (default $WORKBENCH_OIDC_CLIENT_SECRET_FILE)")
    sign_in.add_argument("--public-url", help="the app's address as browsers reach it, for the redirect URI "
                                              "<URL>/oauth2callback (default http://localhost:PORT)")
    sign_in.add_argument("--trusted-proxy", help="IP addresses or CIDR blocks of an authenticating proxy whose "
                                                 "user header is believed (default $WORKBENCH_TRUSTED_PROXY)")
    sign_in.add_argument("--trusted-header", help="the proxy's user header (default X-Forwarded-User)")
    sign_in.add_argument("--admins", help="comma-separated user ids who see every job (default $WORKBENCH_ADMINS)")
    ui.set_defaults(handler=_ui)


def add_shared_cache_options(parser: argparse.ArgumentParser) -> None:
    """``--shared-cache DIR`` and ``--no-shared-cache`` (``workbench run`` and ``predict``)."""
    parser.add_argument("--shared-cache", metavar="DIR",
                        help="cache of finished items shared with other batches and jobs "
                             "(default $WORKBENCH_CACHE, else $WORKBENCH_HOME/cache; see `workbench cache`)")
    parser.add_argument("--no-shared-cache", action="store_true",
                        help="neither take items from the shared cache nor add to it")


def shared_cache_from_args(args: argparse.Namespace) -> pathlib.Path | None:
    """The shared cache folder the flags ask for; None with ``--no-shared-cache``."""
    from workbench.config import shared_cache_root

    if args.no_shared_cache:
        return None
    return pathlib.Path(args.shared_cache) if args.shared_cache else shared_cache_root()


def add_request_options(parser: argparse.ArgumentParser) -> None:
    """Add the flags of a :class:`~workbench.request.BatchRequest` to ``parser``.

    The predictor, every registered predictor's declared options (generated
    from the registry, so a new predictor brings its own flags), and the
    refinement settings.
    """
    from workbench.predict.base import DEFAULT_PREDICTOR, available_predictors, predictor_info

    names = available_predictors()
    parser.add_argument("--predictor", default=DEFAULT_PREDICTOR, metavar="NAME",
                        help=f"structure predictor: {', '.join(names)} (default: {DEFAULT_PREDICTOR})")
    owners: dict[str, list[str]] = {}
    declared: dict[str, Field[Any]] = {}
    for name in names:
        for option in predictor_info(name).option_fields:
            if option.metadata.get("cli", True):
                owners.setdefault(option.name, []).append(name)
                declared.setdefault(option.name, option)
    for option_name, option in declared.items():
        kind = predictor_info(owners[option_name][0]).option_type(option_name)
        flag = "--" + option_name.replace("_", "-")
        help_text = f"{', '.join(owners[option_name])}: {option.metadata.get('help', '')}"
        if kind is bool:
            parser.add_argument(flag, dest=f"option_{option_name}", action=argparse.BooleanOptionalAction,
                                default=None, help=help_text)
        else:
            parser.add_argument(flag, dest=f"option_{option_name}", type=kind, default=None, help=help_text,
                                metavar=option_name.upper())
    parser.add_argument("--refine", action=argparse.BooleanOptionalAction, default=True,
                        help="relax every model (default: yes)")
    parser.add_argument("--md-ps", type=float, default=0.0, help="picoseconds of restrained MD before the relax")
    parser.add_argument("--platform", help="OpenMM platform (default: CUDA if available, else CPU)")
    parser.add_argument("--keep-ligands", action="store_true",
                        help="keep ligands, cofactors and ions in the relaxed models at their input coordinates "
                             "(not relaxed; their pocket restrained); by default they are removed, with a warning")


def request_from_args(args: argparse.Namespace) -> BatchRequest:
    """The batch request the command line describes (what ``run`` computes and ``submit`` queues).

    Raises
    ------
    ValueError
        For an option the chosen predictor does not have, or a bad value.
    FileNotFoundError
        For a file option that is not there: a queued job would fail only later, in ``serve``.
    """
    from workbench.predict.base import predictor_info
    from workbench.request import BatchRequest

    info = predictor_info(args.predictor)
    own = {option.name for option in info.option_fields}
    given = {name.removeprefix("option_"): value for name, value in vars(args).items()
             if name.startswith("option_") and value is not None}
    foreign = sorted(set(given) - own)
    if foreign:
        flags = ", ".join("--" + name.replace("_", "-") for name in foreign)
        raise ValueError(f"{flags}: not an option of predictor {args.predictor!r} (its options: "
                         f"{', '.join('--' + n.replace('_', '-') for n in sorted(own))})")
    for name in info.file_options:  # absolute, so a dispatcher started elsewhere finds the file
        if name in given and pathlib.Path(given[name]).exists():
            given[name] = str(pathlib.Path(given[name]).resolve())
    refine: dict[str, Any] | bool = False
    if args.refine:
        refine = ({"md_ps": args.md_ps} | ({"platform": args.platform} if args.platform else {})
                  | ({"keep_ligands": True} if args.keep_ligands else {}))
    try:
        request = BatchRequest.create(args.predictor, given, refine=refine)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    found = request.validate()
    if found:
        print(found, file=sys.stderr)
    return request


def screen_fasta(request: BatchRequest, fasta: str, what: str,
                 pending: Callable[[list[SequenceRecord]], list[SequenceRecord]] | None = None) -> None:
    """Read the FASTA as the batch will and refuse, before anything is {what}, a batch that cannot work.

    Invalid records are warnings (the batch reports them as failed); no valid
    record, or records the predictor refuses (a template too far from them),
    stop here with each reason on its own line. ``pending``, when given,
    picks the records still to compute (the rest were screened when they ran).

    Raises
    ------
    ValueError
    """
    from workbench.io.fasta import scan_fasta

    records, errors = scan_fasta(fasta, max_length=request.max_length)  # messages name the file
    for error in errors:
        print(f"warning: {error} (the record will be reported as failed)", file=sys.stderr)
    if not records:
        raise ValueError(f"{fasta}: no valid sequence; nothing {what}")
    refused = request.screen(pending(records) if pending is not None else records)
    for record_id, reason in refused.items():
        print(f"record {record_id!r}: {reason}", file=sys.stderr)
    if refused:
        raise ValueError(f"{len(refused)} of {len(records)} record(s) cannot be modelled by the "
                         f"{request.predictor.name} predictor (reasons above); nothing {what}")


def announce_kernel_compilation(cluster: str) -> None:
    """Say on stderr when this run will compile the kernels (an empty cache): the first run waits 40-50 s for it.

    In this process (``inprocess``) numba reports each compilation as it
    starts; on a cluster the workers compile, so the cache folder is looked at
    here instead (the workers of this machine use the same one).
    """
    from workbench.kernel_cache import announce_compilation, cache_status

    if cluster == "inprocess":
        announce_compilation()
        return
    status = cache_status()
    if status["cold"]:
        print(f"compiling kernels on the workers (first run only, about {status['seconds']:.0f} s)", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    request = request_from_args(args)
    return run_and_report(request, args.fasta, args.output, cluster=args.cluster, config=args.cluster_config,
                          item_timeout=args.item_timeout, show_progress=not args.no_progress,
                          shared_cache=shared_cache_from_args(args))


def run_and_report(request: BatchRequest, fasta: str, output: str, *, cluster: str, config: str | None = None,
                   item_timeout: float | None = None, show_progress: bool = True,
                   shared_cache: pathlib.Path | None = None) -> int:
    """Run a batch on a new cluster and print its ranking: ``workbench run`` and ``workbench predict``.

    The first Ctrl-C stops the batch: pending items are cancelled, finished ones
    kept, the summary written, and the exit status is 130; a second Ctrl-C
    stops at once.
    """
    from workbench.files import check_writable_folder
    from workbench.pipelines.batch import incomplete_records, run_batch

    left: list[SequenceRecord] = []  # the records still to compute, as screened

    def pending(records: list[SequenceRecord]) -> list[SequenceRecord]:
        left[:] = incomplete_records(request, records, output, shared_cache)
        return left

    # before the cluster starts and before making the folder; only what is left to compute
    screen_fasta(request, fasta, "run", pending=pending)
    check_writable_folder(output)
    if left:  # nothing to compute: no kernel runs (and numba is not imported to look at its cache)
        announce_kernel_compilation(cluster)
    for option in request.predictor.info.option_fields:  # say which embedded default file is used
        value = getattr(request.predictor.options, option.name)
        if option.metadata.get("file") and value and value == getattr(type(request.predictor.options)(), option.name):
            print(f"{option.name}: {value} (the default)", file=sys.stderr)
    with interruptible() as cancel:  # the cluster starts only if something is left to compute
        result = run_batch(request, fasta, output, cluster=cluster, cluster_config=config, item_timeout=item_timeout,
                           show_progress=show_progress, cancel=cancel, shared_cache=shared_cache)
    table = result.summary
    for row in table.sort_values("rank", na_position="last").itertuples():
        if row.status == "done":
            numbers = [f"mean pLDDT {row.mean_plddt:.1f}" if row.mean_plddt == row.mean_plddt else "",  # NaN: none
                       f"pTM {row.ptm:.3f}" if row.ptm == row.ptm else "",
                       f"ipTM {row.iptm:.3f}" if row.iptm == row.iptm else "",
                       f"ΔΔG est. {row.ddg_estimate:+.2f} kcal/mol" if row.ddg_estimate == row.ddg_estimate else "",
                       f"violations {row.violations_after:.0f}" if row.violations_after == row.violations_after
                       else "",
                       f"clashes {row.clashes:.0f}"]
            print(f"  #{row.rank} {row.id}: {', '.join(n for n in numbers if n)}")
        else:
            print(f"  {row.id}: {row.status}: {row.error}", file=sys.stderr)
    counts = result.counts
    if table["ddg_estimate"].notna().any():
        from workbench.stability import SUMMARY_SENTENCE

        print(f"ΔΔG est.: {SUMMARY_SENTENCE}")
    print(f"{counts['done']} computed, {counts['cached']} already complete, {counts['failed']} failed, "
          f"{counts['invalid']} invalid record(s); summary: {result.paths['csv']}")
    if cancel.is_set():
        print(f"interrupted: {counts['cancelled']} item(s) not run; run the same command again to resume "
              f"(finished items are not computed again)", file=sys.stderr)
        return INTERRUPTED
    return 0 if counts["failed"] == counts["invalid"] == counts["cancelled"] == 0 else 1


INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT, as shells report it)."""


@contextlib.contextmanager
def interruptible() -> Iterator[threading.Event]:
    """An event the first Ctrl-C sets (a batch then stops and keeps what finished); the second stops at once.

    Outside the main thread (no signal handlers there), the event is never set by Ctrl-C.
    """
    cancel = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def on_interrupt(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print("\ninterrupted: stopping; finished items are kept (Ctrl-C again to stop at once)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


def _cache(args: argparse.Namespace) -> int:
    from workbench.config import format_bytes, shared_cache_root
    from workbench.pipelines import shared_cache

    folder = pathlib.Path(args.shared_cache) if args.shared_cache else shared_cache_root()
    if args.action == "clean":
        removed = shared_cache.clean(folder, older_than_days=args.older_than)
        print(f"{folder}: removed {removed.items} item(s), {format_bytes(removed.bytes)}"
              + (f", and {removed.incomplete} incomplete folder(s)" if removed.incomplete else ""))
    held = shared_cache.usage(folder)
    print(f"{folder}: {held.items} item(s), {format_bytes(held.bytes)}"
          + (f", {held.incomplete} incomplete folder(s) (`workbench cache clean` removes them)"
             if held.incomplete else ""))
    return 0


def _submit(args: argparse.Namespace) -> int:
    from workbench.errors import SequenceFormatError
    from workbench.io._source import load_text
    from workbench.jobs.store import JobStore

    path = pathlib.Path(args.fasta)
    text = load_text(path, SequenceFormatError, what="FASTA").text  # gzip, encodings, binary: as run reads it
    request = request_from_args(args)
    screen_fasta(request, args.fasta, "queued")
    with JobStore(args.store) as store:
        job = store.submit({"fasta": text}, request.to_json(), owner=args.owner,
                           name=args.name or pathlib.Path(args.fasta).stem)
    print(job.id)
    return 0


def _jobs(args: argparse.Namespace) -> int:
    from workbench.jobs.store import JobStore

    with JobStore(args.store) as store:
        if args.action == "list":
            jobs = store.list_jobs(status=args.status)
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
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the store's schema check says its own line

    dispatcher = Dispatcher(store_url=args.store, results=args.results, cluster=args.cluster,
                            cluster_config=args.cluster_config, max_jobs=args.max_jobs, lease_seconds=args.lease,
                            poll=args.poll, grace=args.grace, item_timeout=args.item_timeout,
                            shared_cache=shared_cache_from_args(args))
    return dispatcher.serve(once=args.once)


def _weights(args: argparse.Namespace) -> int:
    from workbench.predict.esmfold_weights import SHORT_NAMES, fetch_weights, resolve_weights

    if args.action == "fetch":
        folder = fetch_weights(args.name)
        print(f"{args.name}: {folder}")
        return 0
    folder, _ = resolve_weights(SHORT_NAMES.get(args.name, args.name))  # raises, saying how to fetch them
    print(f"{args.name}: {folder}")
    return 0


def _ui(args: argparse.Namespace) -> int:
    from workbench.ui.launch import SignIn, launch

    env = SignIn.from_env()
    sign_in = SignIn(
        oidc_issuer=args.oidc_issuer or env.oidc_issuer, oidc_client_id=args.oidc_client_id or env.oidc_client_id,
        oidc_client_secret_file=args.oidc_client_secret_file or env.oidc_client_secret_file,
        public_url=args.public_url or env.public_url, trusted_proxy=args.trusted_proxy or env.trusted_proxy,
        trusted_header=args.trusted_header or env.trusted_header, admins=args.admins or env.admins)
    try:
        return launch(port=args.port, address=args.address, store_url=args.store, sign_in=sign_in)
    except (ValueError, OSError) as exc:  # sign-in settings that cannot work, an unreadable secret file
        print(f"workbench ui: {exc}", file=sys.stderr)
        return 2
