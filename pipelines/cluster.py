"""Make a Dask cluster from a short spec: ``local``, ``cuda``, a batch system or a scheduler address.

``local`` is the embedded default: one single-threaded worker process per usable
core (OpenMM and the numba kernels then never fight over cores). ``cuda`` is one
worker per GPU through dask-cuda; every worker advertises the resource
``GPU=1``, which prediction tasks request. ``slurm``, ``pbs``, ``lsf``, ``sge``
and ``htcondor`` use dask-jobqueue with their settings from a YAML file (or
Dask's own ``jobqueue.<system>`` config), a fixed number of jobs or adaptive
between two bounds, and a ``tls://`` address connects to a scheduler somebody
else runs.

Every cluster made here speaks TLS: whoever can reach a Dask scheduler can run
code on its workers, as the account that runs them. Local clusters get
temporary certificates made in memory (``Security.temporary()``) and listen on
127.0.0.1 only, dashboard included; batch-system clusters get temporary
certificates too (the workers' copies written, readable by their owner only,
to a folder every node sees) or the site's own from the config file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dask
from distributed import Client, LocalCluster, get_worker
from distributed.security import Security

SPECS = ("local", "local:N", "inprocess", "cuda", "slurm", "slurm:N", "slurm:MIN-MAX", "pbs", "lsf", "sge",
         "htcondor", "tls://host:port")

#: Batch systems and their dask-jobqueue classes.
JOBQUEUE_CLASSES = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "lsf": "LSFCluster", "sge": "SGECluster",
                    "htcondor": "HTCondorCluster"}

#: Keys of a cluster config file that are the workbench's, not the cluster class's.
TLS_KEYS = ("tls_ca_file", "tls_client_cert", "tls_client_key", "tls_scheduler_cert", "tls_scheduler_key",
            "tls_worker_cert", "tls_worker_key")
OWN_KEYS = ("system", "adapt", "dashboard_address", *TLS_KEYS)

#: Where a dashboard listens unless the config says otherwise: this machine only, any free port.
LOOPBACK_DASHBOARD = "127.0.0.1:0"

#: How long a local cluster waits for a worker its nanny is restarting before giving up on it.
#: Dask's default, 15 s, is shorter than a worker with OpenMM, numba and torch takes to come back on
#: a busy machine; the cluster then closed that worker's nanny for good and ran on one worker fewer.
RESTARTING_WORKER_PATIENCE = "300s"


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not Linux
        return max(os.cpu_count() or 1, 1)


def temporary_security() -> Security:
    """Certificates for one cluster's life, made in memory; needs ``cryptography``.

    Raises
    ------
    ImportError
        Without ``cryptography``, saying what to install.
    """
    try:
        return Security.temporary()
    except ImportError as exc:  # pragma: no cover - cryptography is a dependency
        raise ImportError("an authenticated (TLS) cluster needs cryptography: pip install cryptography") from exc


def parse_spec(spec: str) -> tuple[str, int | None, tuple[int, int] | None]:
    """Split a cluster spec into its kind, a fixed size and adaptive bounds.

    Parameters
    ----------
    spec : str
        ``KIND``, ``KIND:N`` or ``KIND:MIN-MAX`` (the last for batch systems only).

    Returns
    -------
    kind : str
    count : int or None
        N of ``KIND:N``.
    bounds : (int, int) or None
        MIN and MAX of ``KIND:MIN-MAX``.

    Raises
    ------
    ValueError
        For a count that is not a number or bounds that are not ``MIN-MAX`` with MIN <= MAX.

    Examples
    --------
    >>> parse_spec("slurm:0-20")
    ('slurm', None, (0, 20))
    >>> parse_spec("local:4")
    ('local', 4, None)
    """
    kind, _, count = spec.partition(":")
    if not count:
        return kind, None, None
    if count.isdigit():
        return kind, int(count), None
    bounds = re.fullmatch(r"(\d+)-(\d+)", count)
    if bounds and kind in JOBQUEUE_CLASSES and int(bounds[1]) <= int(bounds[2]):
        return kind, None, (int(bounds[1]), int(bounds[2]))
    raise ValueError(f"bad cluster spec {spec!r}: the part after ':' must be a number of workers"
                     + (" or MIN-MAX jobs with MIN <= MAX" if kind in JOBQUEUE_CLASSES else ""))


@contextlib.contextmanager
def make_cluster(spec: str = "local", *, config: str | Path | None = None,
                 **options: Any) -> Iterator[Client]:
    """A client on a new (or existing) cluster, closed on exit.

    Parameters
    ----------
    spec : str
        ``local`` or ``local:N`` (N worker processes, default the usable cores);
        ``inprocess`` (one worker thread in this process);
        ``cuda`` (one worker per visible GPU); ``slurm``, ``pbs``, ``lsf``,
        ``sge`` or ``htcondor``, alone (the config's ``adapt`` bounds, else one
        job), with ``:N`` (N jobs) or ``:MIN-MAX`` (adaptive between MIN and MAX
        jobs); ``tls://host:port`` (an existing scheduler; ``tcp://`` too).
    config : str or Path, optional
        YAML file (:func:`read_cluster_config`): the cluster class's keyword
        arguments plus the workbench's own keys ``system``, ``adapt``,
        ``dashboard_address`` and the ``tls_*`` certificate files.
    **options
        Passed to the cluster class (``LocalCluster``, ``LocalCUDACluster``,
        dask-jobqueue's classes) or ``Client`` (an address), overriding the
        defaults and the file.

    Yields
    ------
    distributed.Client

    Raises
    ------
    ValueError
        For a spec that is none of the above, a config file that is not a mapping, or a ``tls://``
        address without certificates.
    ImportError
        For ``cuda`` without dask-cuda or a batch system without dask-jobqueue, saying what to install.
    """
    settings = dict(read_cluster_config(config)) if config is not None else {}
    if spec.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        security = config_security(settings)
        dask_ca = Security().get_tls_config_for_role("client")["ca_file"]  # Dask's own distributed.comm.tls
        if spec.startswith("tls://") and security is None and "security" not in options and not dask_ca:
            raise ValueError(f"cluster {spec} speaks TLS: name its certificates in the cluster config "
                             "(tls_ca_file, tls_client_cert, tls_client_key) or in Dask's distributed.comm.tls")
        client_options = ({"security": security} if security is not None else {}) | options
        with Client(spec, **client_options) as client:
            yield client
        return
    kind, n, bounds = parse_spec(spec)
    if kind == "inprocess":  # one worker thread in this process: `workbench predict`, notebooks
        # no network for tasks (inproc://), but the scheduler's and the worker's HTTP servers listen: on loopback
        local: dict[str, Any] = {"n_workers": 1, "threads_per_worker": 1, "processes": False,
                                 "worker_dashboard_address": LOOPBACK_DASHBOARD,
                                 **dashboard_settings({"dashboard_address": None})}
        with LocalCluster(**(local | options)) as cluster, Client(cluster) as client:
            yield client
    elif kind == "local":
        local = {"n_workers": n or usable_cores(), "threads_per_worker": 1, "processes": True}
        with quiet_worker_exits(), patient_with_restarting_workers(), \
                LocalCluster(**(local | local_settings(settings) | options)) as cluster, Client(cluster) as client:
            yield client
    elif kind == "cuda":
        try:
            from dask_cuda import LocalCUDACluster
        except ImportError as exc:
            raise ImportError("cluster 'cuda' needs dask-cuda: pip install 'protein-workbench[gpu]'") from exc
        gpu: dict[str, Any] = {"threads_per_worker": 1, "resources": {"GPU": 1}}
        with quiet_worker_exits(), patient_with_restarting_workers(), \
                LocalCUDACluster(**(gpu | local_settings(settings) | options)) as cluster, Client(cluster) as client:
            yield client
    elif kind in JOBQUEUE_CLASSES:
        settings.setdefault("system", kind)
        if settings["system"] != kind:
            raise ValueError(f"cluster spec {spec!r} but the config {config} says system: {settings['system']}")
        with jobqueue_cluster(settings, **options) as cluster, Client(cluster) as client:
            size_cluster(cluster, settings, n, bounds)
            yield client
    else:
        raise ValueError(f"unknown cluster spec {spec!r}; use one of {', '.join(SPECS)}")


class _SlowWorkerExit(logging.Filter):
    """Drops the nannies' "Worker process still alive after N seconds, killing"."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Worker process still alive after")


@contextlib.contextmanager
def patient_with_restarting_workers() -> Iterator[None]:
    """For the life of a local cluster made here: keep a worker whose nanny restarts it slowly.

    When a worker leaves the scheduler, Dask's local cluster closes that
    worker's nanny unless a worker of the same name is back within
    ``distributed.deploy.lost-worker-timeout``. The item time limit restarts
    workers through their nannies, and on a loaded machine the new process
    can take longer than the default 15 s to start: the cluster then lost a
    worker for the rest of the run. :data:`RESTARTING_WORKER_PATIENCE` waits
    longer; a nanny that died is still cleaned up, only later.
    """
    with dask.config.set({"distributed.deploy.lost-worker-timeout": RESTARTING_WORKER_PATIENCE}):
        yield


@contextlib.contextmanager
def quiet_worker_exits() -> Iterator[None]:
    """For the life of a local cluster made here: no warning when a nanny kills a worker slow to exit.

    A worker process with OpenMM, numba and torch loaded can take longer than
    the nanny's 4 s to exit on a busy machine, when the cluster closes or when
    the item time limit restarts it; the nanny then kills it, which is what
    both want (every finished item is complete on disk), so a successful run
    ends without that warning. Any other nanny message still shows (a worker
    restarted for its memory, one that died).
    """
    quiet = _SlowWorkerExit()
    nanny_log = logging.getLogger("distributed.nanny")
    nanny_log.addFilter(quiet)
    try:
        yield
    finally:
        nanny_log.removeFilter(quiet)


def local_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``LocalCluster`` arguments of an authenticated cluster on this machine.

    TLS with temporary certificates, scheduler, nannies and workers on
    127.0.0.1, the dashboard on loopback too (``dashboard_address`` in the
    config moves it; ``null`` turns it off), then the config's other keys.

    Parameters
    ----------
    settings : mapping
        The config file's keys (:func:`read_cluster_config`).

    Returns
    -------
    dict
    """
    others = {key: value for key, value in settings.items() if key not in OWN_KEYS}
    return {"protocol": "tls://", "security": temporary_security(), "host": "127.0.0.1",
            **dashboard_settings(settings)} | others


def dashboard_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``LocalCluster`` arguments for the config's ``dashboard_address`` (default ``127.0.0.1:0``).

    Dask's scheduler serves HTTP (health, Prometheus metrics, JSON about its
    workers) even without a dashboard, by default on every interface: with
    ``dashboard_address: null`` the dashboard is off and that server stays on
    loopback.
    """
    address = settings.get("dashboard_address", LOOPBACK_DASHBOARD)
    if address:
        return {"dashboard_address": address}
    return {"dashboard_address": LOOPBACK_DASHBOARD, "scheduler_kwargs": {"dashboard": False}}


def config_security(settings: Mapping[str, Any]) -> Security | None:
    """A ``Security`` from the config's ``tls_*`` certificate files, or None when it names none.

    Parameters
    ----------
    settings : mapping
        With any of ``tls_ca_file``, ``tls_client_cert``, ``tls_client_key``,
        ``tls_scheduler_cert``, ``tls_scheduler_key``, ``tls_worker_cert``,
        ``tls_worker_key`` (paths; ``~`` and environment variables expand). The
        client's certificate and key serve the scheduler and workers too unless
        the config names theirs.

    Returns
    -------
    distributed.security.Security or None
        With ``require_encryption`` set.

    Raises
    ------
    ValueError
        Naming a certificate file that cannot be read.
    """
    files = {key: os.path.expandvars(os.path.expanduser(str(settings[key]))) for key in TLS_KEYS
             if settings.get(key)}
    if not files:
        return None
    for key, path in files.items():
        if not os.access(path, os.R_OK):
            raise ValueError(f"cluster config: {key} {path} cannot be read")
    for role in ("scheduler", "worker"):  # one certificate serves every role unless the config names one
        if f"tls_{role}_cert" not in files and "tls_client_cert" in files:
            files[f"tls_{role}_cert"] = files["tls_client_cert"]
            files[f"tls_{role}_key"] = files.get("tls_client_key", "")
    return Security(require_encryption=True, **{key: value for key, value in files.items() if value})


@contextlib.contextmanager
def jobqueue_cluster(settings: Mapping[str, Any], **options: Any) -> Iterator[Any]:
    """A dask-jobqueue cluster (SLURM, PBS, LSF, SGE, HTCondor) on TLS, not yet scaled.

    Parameters
    ----------
    settings : mapping
        ``system`` (``slurm``, ``pbs``, ``lsf``, ``sge`` or ``htcondor``), the
        ``tls_*`` certificate files (without them: temporary certificates, the
        workers' copies written to ``shared_temp_directory``, default
        ``$WORKBENCH_HOME/cluster``, which every node must see), ``dashboard_address``
        (default ``127.0.0.1:0``; null: none) and the class's own keyword
        arguments (``queue``, ``account``, ``cores``, ``memory``, ``walltime``,
        ``job_extra_directives``, ...). ``adapt`` is read by :func:`size_cluster`.
    **options
        Override the settings.

    Yields
    ------
    dask_jobqueue.JobQueueCluster

    Raises
    ------
    ValueError
        For an unknown ``system``.
    ImportError
        Without dask-jobqueue, saying what to install.
    """
    system = str(settings.get("system", "slurm"))
    if system not in JOBQUEUE_CLASSES:
        raise ValueError(f"unknown batch system {system!r}; use one of {', '.join(JOBQUEUE_CLASSES)}")
    try:
        import dask_jobqueue
    except ImportError as exc:  # pragma: no cover - dask-jobqueue is a dependency
        raise ImportError(f"cluster {system!r} needs dask-jobqueue: pip install dask-jobqueue") from exc
    cls = getattr(dask_jobqueue, JOBQUEUE_CLASSES[system])
    kwargs = {key: value for key, value in settings.items() if key not in OWN_KEYS}
    security = config_security(settings)
    if security is None:
        security = temporary_security()
        if "shared_temp_directory" not in kwargs:
            from workbench.config import workbench_home

            folder = workbench_home() / "cluster"
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            kwargs["shared_temp_directory"] = str(folder)
    dashboard = dashboard_settings(settings)
    scheduler = {"dashboard_address": dashboard["dashboard_address"]} | dashboard.get("scheduler_kwargs", {})
    kwargs["scheduler_options"] = scheduler | dict(kwargs.get("scheduler_options") or {})
    worker_args = list(kwargs.get("worker_extra_args") or [])
    if not any(arg.startswith(("--dashboard", "--no-dashboard")) for arg in worker_args):
        worker_args.append("--no-dashboard")  # a worker's own dashboard would listen on the node's network
    kwargs["worker_extra_args"] = worker_args
    with cls(**({"protocol": "tls://", "security": security} | kwargs | options)) as cluster:
        try:
            yield cluster
        finally:  # the workers' copies of temporary certificates leave with the cluster, not at garbage collection
            for key in ("ca_file", "cert", "key"):
                copy = getattr(cluster, f"_job_{key}", None)
                if copy is not None:
                    copy.close()  # a NamedTemporaryFile: closing deletes it


def size_cluster(cluster: Any, settings: Mapping[str, Any], jobs: int | None = None,
                 bounds: tuple[int, int] | None = None) -> None:
    """Start a batch-system cluster's jobs: adaptive between bounds, or a fixed number.

    Parameters
    ----------
    cluster : dask_jobqueue.JobQueueCluster
    settings : mapping
        Its ``adapt`` (``{minimum: MIN, maximum: MAX}`` in jobs, plus any other
        ``distributed.deploy.Adaptive`` argument such as ``wait_count``) applies
        when neither ``jobs`` nor ``bounds`` is given; without it, one job.
    jobs : int, optional
        A fixed number of jobs (spec ``KIND:N``).
    bounds : (int, int), optional
        Adaptive between MIN and MAX jobs (spec ``KIND:MIN-MAX``).

    Raises
    ------
    ValueError
        For an ``adapt`` that is not a mapping with ``maximum`` >= ``minimum`` >= 0.
    """
    if bounds is not None:
        cluster.adapt(minimum_jobs=bounds[0], maximum_jobs=bounds[1])
        return
    adapt = settings.get("adapt")
    if jobs is not None or not adapt:
        cluster.scale(jobs=1 if jobs is None else jobs)
        return
    if not isinstance(adapt, Mapping):
        raise ValueError(f"cluster config: adapt must be a mapping like {{minimum: 0, maximum: 20}}, got {adapt!r}")
    extra = {key: value for key, value in adapt.items() if key not in ("minimum", "maximum")}
    low, high = adapt.get("minimum", 0), adapt.get("maximum")
    if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high):
        raise ValueError(f"cluster config: adapt needs whole numbers 0 <= minimum <= maximum, got {dict(adapt)}")
    cluster.adapt(minimum_jobs=low, maximum_jobs=high, **extra)


@contextlib.contextmanager
def slurm_cluster(config: str | Path | None = None, **options: Any) -> Iterator[Any]:
    """A dask-jobqueue ``SLURMCluster`` (TLS, not yet scaled) from a YAML file of its keyword arguments.

    Parameters
    ----------
    config : str or Path, optional
        YAML mapping (:func:`read_cluster_config`); without it, Dask's
        ``jobqueue.slurm`` configuration applies.
    **options
        Override the file's values.
    """
    settings = dict(read_cluster_config(config)) if config is not None else {}
    with jobqueue_cluster(settings | {"system": "slurm"}, **options) as cluster:
        yield cluster


def read_cluster_config(path: str | Path) -> Mapping[str, Any]:
    """Read a YAML mapping of cluster arguments, with a clear error for anything else."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read cluster config {path}: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ValueError(f"cluster config {path} must be a mapping of cluster arguments, "
                         f"got {type(data).__name__}")
    return data


def write_credentials(security: Security, folder: str | Path) -> dict[str, Path]:
    """Write a cluster's certificates to files, readable by their owner only.

    A worker started by hand (``dask worker --tls-ca-file CA --tls-cert CERT
    --tls-key KEY``) or a client in another process (``Security(tls_ca_file=CA,
    tls_client_cert=CERT, tls_client_key=KEY)``) joins a local cluster's
    temporary certificates this way.

    Parameters
    ----------
    security : distributed.security.Security
        ``client.security`` of a cluster made here.
    folder : str or Path
        An existing folder.

    Returns
    -------
    dict
        ``ca_file``, ``cert`` and ``key`` to the files' paths.
    """
    paths = {}
    for key, value in security.get_tls_config_for_role("client").items():
        if key not in ("ca_file", "cert", "key") or not value:
            continue
        path = Path(folder) / f"{key}.pem"
        if "\n" in value:  # in memory (temporary); else already a file's path
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="ascii") as handle:
                handle.write(value)
        else:
            path = Path(value)
        paths[key] = path
    return paths


FIRST_WORKER_TIMEOUT = 300.0
"""Seconds :func:`check_workers_see` waits for a first worker on a cluster that has none (not for batch systems)."""


def check_workers_see(client: Client, folder: Path, *, first_worker_timeout: float | None = FIRST_WORKER_TIMEOUT
                      ) -> None:
    """Refuse, before any work, a cluster whose workers do not see ``folder`` as this process does.

    A sentinel file with a random token is written here and read back by every
    connected worker (when none has yet, by a task: the first worker to join
    runs it, on a SLURM cluster whose jobs are queued or an adaptive one
    waiting for work). Without this check, a worker on another
    node, a relative path or a node-local ``/tmp`` would put the models where
    no one looks while the run reports them computed.

    Parameters
    ----------
    client : distributed.Client
    folder : Path
        An absolute path to a folder that exists here.
    first_worker_timeout : float or None
        Seconds to wait for a first worker when there is none; None waits as
        long as it takes (a batch system's queue).

    Raises
    ------
    FolderNotShared
        Naming the first worker that cannot read the sentinel, and what it saw.
    TimeoutError
        When no worker joined in ``first_worker_timeout`` seconds.
    """
    token = uuid.uuid4().hex
    sentinel = folder / f".workbench-sentinel-{token}"
    sentinel.write_text(token)
    try:
        seen = client.run(_read_sentinel, str(sentinel))
        if not seen:
            # A task, where client.run would wait: an adaptive cluster at a minimum of 0 workers starts one
            # only when it has work, and this check is the first work there is.
            first = client.submit(_worker_reads_sentinel, str(sentinel), pure=False,
                                  key=f"workbench-folder-check-{token}")
            try:
                worker, answer = first.result(timeout=first_worker_timeout)
            except TimeoutError:
                first.cancel()
                raise TimeoutError(f"no Dask worker joined the cluster in {first_worker_timeout:g} s; "
                                   f"nothing was run") from None
            seen = {worker: answer} | client.run(_read_sentinel, str(sentinel))
    finally:
        sentinel.unlink(missing_ok=True)
    blind = {worker: answer for worker, answer in seen.items() if answer != token}
    if blind:
        worker, answer = next(iter(blind.items()))
        raise FolderNotShared(f"{len(blind)} of {len(seen)} worker(s) cannot see the output folder {folder} "
                              f"(worker {worker}: {answer}); use a folder every worker mounts at the same path")


class FolderNotShared(OSError):
    """The output folder is not visible to every worker at the same path."""


def _worker_reads_sentinel(path: str) -> tuple[str, str]:
    """In a task: this worker's address and what it read at ``path``."""
    return get_worker().address, _read_sentinel(path)


def _read_sentinel(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        return f"cannot read it: {exc.strerror or exc}"


def gpu_resources(client: Client) -> dict[str, float] | None:
    """``{"GPU": 1}`` when some worker advertises GPUs, else None (a CPU cluster runs prediction anywhere)."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    has_gpu = any(info.get("resources", {}).get("GPU", 0) > 0 for info in workers.values())
    return {"GPU": 1} if has_gpu else None
