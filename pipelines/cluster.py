"""Make a Dask cluster from a short spec: ``local``, ``cuda``, ``slurm`` or a scheduler address.

``local`` is the embedded default: one single-threaded worker process per usable
core (OpenMM and the numba kernels then never fight over cores). ``cuda`` is one
worker per GPU through dask-cuda; every worker advertises the resource
``GPU=1``, which prediction tasks request. ``slurm`` uses dask-jobqueue with
its settings from a YAML file (or Dask's own ``jobqueue.slurm`` config), and a
``tcp://`` / ``tls://`` address connects to a scheduler somebody else runs.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from distributed import Client, LocalCluster

SPECS = ("local", "local:N", "inprocess", "cuda", "slurm", "slurm:N", "tcp://host:port")


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask), at least 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not Linux
        return max(os.cpu_count() or 1, 1)


@contextlib.contextmanager
def make_cluster(spec: str = "local", *, config: str | Path | None = None,
                 **options: Any) -> Iterator[Client]:
    """A client on a new (or existing) cluster, closed on exit.

    Parameters
    ----------
    spec : str
        ``local`` or ``local:N`` (N worker processes, default the usable cores);
        ``inprocess`` (one worker thread in this process);
        ``cuda`` (one worker per visible GPU); ``slurm`` or ``slurm:N`` (N SLURM
        jobs, default 1); ``tcp://host:port`` or ``tls://...`` (an existing scheduler).
    config : str or Path, optional
        YAML file of dask-jobqueue ``SLURMCluster`` keyword arguments (``queue``,
        ``account``, ``cores``, ``memory``, ``walltime``, ``job_extra_directives``,
        ...), for ``slurm``.
    **options
        Passed to the cluster class (``LocalCluster``, ``LocalCUDACluster``,
        ``SLURMCluster``), overriding the defaults here.

    Yields
    ------
    distributed.Client

    Raises
    ------
    ValueError
        For a spec that is none of the above.
    ImportError
        For ``cuda`` without dask-cuda or ``slurm`` without dask-jobqueue, saying what to install.
    """
    kind, _, count = spec.partition(":")
    if spec.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        with Client(spec, **options) as client:
            yield client
        return
    if count and not count.isdigit():
        raise ValueError(f"bad cluster spec {spec!r}: the part after ':' must be a number of workers")
    n = int(count) if count else None
    if kind == "inprocess":  # one worker thread in this process: `workbench predict`, notebooks
        settings = {"n_workers": 1, "threads_per_worker": 1, "processes": False, "dashboard_address": None} | options
        with LocalCluster(**settings) as cluster, Client(cluster) as client:
            yield client
    elif kind == "local":
        settings = {"n_workers": n or usable_cores(), "threads_per_worker": 1, "processes": True,
                    "dashboard_address": ":0"} | options
        with LocalCluster(**settings) as cluster, Client(cluster) as client:
            yield client
    elif kind == "cuda":
        try:
            from dask_cuda import LocalCUDACluster
        except ImportError as exc:
            raise ImportError("cluster 'cuda' needs dask-cuda: pip install dask-cuda") from exc
        settings = {"threads_per_worker": 1, "resources": {"GPU": 1}, "dashboard_address": ":0"} | options
        with LocalCUDACluster(**settings) as cluster, Client(cluster) as client:
            yield client
    elif kind == "slurm":
        with slurm_cluster(config, **options) as cluster, Client(cluster) as client:
            cluster.scale(jobs=n or 1)
            yield client
    else:
        raise ValueError(f"unknown cluster spec {spec!r}; use one of {', '.join(SPECS)}")


@contextlib.contextmanager
def slurm_cluster(config: str | Path | None = None, **options: Any) -> Iterator[Any]:
    """A dask-jobqueue ``SLURMCluster`` from a YAML file of its keyword arguments.

    Parameters
    ----------
    config : str or Path, optional
        YAML mapping of ``SLURMCluster`` arguments; without it, Dask's
        ``jobqueue.slurm`` configuration applies.
    **options
        Override the file's values.
    """
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError as exc:
        raise ImportError("cluster 'slurm' needs dask-jobqueue: pip install dask-jobqueue") from exc
    settings = dict(read_cluster_config(config)) if config is not None else {}
    with SLURMCluster(**(settings | options)) as cluster:
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
        raise ValueError(f"cluster config {path} must be a mapping of SLURMCluster arguments, "
                         f"got {type(data).__name__}")
    return data


FIRST_WORKER_TIMEOUT = 300.0
"""Seconds :func:`check_workers_see` waits for a first worker on a cluster that has none (not for batch systems)."""


def check_workers_see(client: Client, folder: Path, *, first_worker_timeout: float | None = FIRST_WORKER_TIMEOUT
                      ) -> None:
    """Refuse, before any work, a cluster whose workers do not see ``folder`` as this process does.

    A sentinel file with a random token is written here and read back by every
    connected worker (by the first worker to join, when none has yet: a SLURM
    cluster whose jobs are queued). Without this check, a worker on another
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
            try:
                client.wait_for_workers(1, timeout=first_worker_timeout)
            except TimeoutError:
                raise TimeoutError(f"no Dask worker joined the cluster in {first_worker_timeout:g} s; "
                                   f"nothing was run") from None
            seen = client.run(_read_sentinel, str(sentinel))
    finally:
        sentinel.unlink(missing_ok=True)
    blind = {worker: answer for worker, answer in seen.items() if answer != token}
    if blind:
        worker, answer = next(iter(blind.items()))
        raise FolderNotShared(f"{len(blind)} of {len(seen)} worker(s) cannot see the output folder {folder} "
                              f"(worker {worker}: {answer}); use a folder every worker mounts at the same path")


class FolderNotShared(OSError):
    """The output folder is not visible to every worker at the same path."""


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
