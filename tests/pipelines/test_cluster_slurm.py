"""A batch on a real one-node SLURM through dask-jobqueue: fixed size and adaptive, over TLS.

The SLURM is ``$WORKBENCH_TEST_SLURM_CONF`` when set (``.ci/run`` starts one with
``.ci/slurm.sh``), else one this module starts with ``.ci/slurm.sh`` in a
temporary folder and stops afterwards (root and Debian's ``slurm-wlm`` and
``munge`` needed); without either the tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.pipelines import _predictors
from workbench.pipelines.cluster import make_cluster

REPOSITORY = Path(__file__).resolve().parents[2]
SCRIPT = REPOSITORY / ".ci" / "slurm.sh"


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The path of a running SLURM's slurm.conf, set as ``$SLURM_CONF`` for this module's tests."""
    conf = os.environ.get("WORKBENCH_TEST_SLURM_CONF")
    folder = None
    if not conf:
        if os.geteuid() != 0 or shutil.which("slurmctld") is None:
            pytest.skip("no SLURM: set WORKBENCH_TEST_SLURM_CONF, or run as root with slurm-wlm and munge installed")
        folder = tmp_path_factory.mktemp("slurm")
        started = subprocess.run(["bash", str(SCRIPT), "start", str(folder)], capture_output=True, text=True,
                                 timeout=120)
        if started.returncode != 0:
            pytest.skip(f"SLURM could not be started here: {started.stderr.strip().splitlines()[-1:]}")
        conf = started.stdout.strip().rpartition("SLURM_CONF=")[2]
    before = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = conf
    try:
        yield conf
    finally:
        if before is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = before
        if folder is not None:
            subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], timeout=60)


def _config(tmp_path: Path, **extra: object) -> Path:
    settings = {"system": "slurm", "cores": 1, "processes": 1, "memory": "1GB", "walltime": "00:10:00",
                "interface": "lo",  # the one node is this machine
                "log_directory": str(tmp_path / "logs"), "shared_temp_directory": str(tmp_path),
                "job_script_prologue": [f"cd {REPOSITORY}"], **extra}
    path = tmp_path / "slurm.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def _squeue_ids() -> set[str]:
    listed = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, timeout=30, check=True)
    return set(listed.stdout.split())


def _slurm_job_id() -> str | None:
    return os.environ.get("SLURM_JOB_ID")  # not os.environ.get itself: that would pickle this process's environment


def test_a_fixed_size_cluster_runs_its_workers_as_slurm_jobs(slurm, tmp_path):
    with make_cluster("slurm:1", config=_config(tmp_path)) as client:
        client.wait_for_workers(1, timeout=120)
        jobs = client.run(_slurm_job_id)
        assert len(jobs) == 1
        (job,) = jobs.values()
        assert job and job in _squeue_ids()
        assert client.scheduler.address.startswith("tls://")
        assert client.submit(sum, [2, 3], pure=False).result(timeout=60) == 5


@pytest.mark.slow
def test_workbench_run_on_an_adaptive_slurm_cluster(slurm, tmp_path):
    fasta = tmp_path / "in.fasta"
    fasta.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in _predictors.variants(3)))
    log = tmp_path / "predicted.log"
    out = tmp_path / "out"
    config = _config(tmp_path, adapt={"minimum": 0, "maximum": 2})
    command = [sys.executable, "-c",
               "import sys; import tests.pipelines._predictors; from workbench.cli import main; "
               "sys.exit(main(sys.argv[1:]))",
               "run", str(fasta), "-o", str(out), "--predictor", _predictors.NAME, "--log", str(log),
               "--no-refine", "--cluster", "slurm", "--cluster-config", str(config), "--no-progress",
               "--no-shared-cache"]
    env = os.environ | {"PYTHONPATH": str(REPOSITORY), _predictors.ENVIRONMENT: "1"}
    try:
        done = subprocess.run(command, cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired as stuck:
        queue = subprocess.run(["squeue", "-a"], capture_output=True, text=True, timeout=30).stdout
        logs = {path.name: path.read_text()[-2000:] for path in (tmp_path / "logs").glob("*")}
        pytest.fail(f"workbench run did not finish in 300 s\nsqueue:\n{queue}\nrun's stderr:\n"
                    f"{(stuck.stderr or b'')[-3000:]!r}\nworker logs: {logs}")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["status"]) == ["done"] * len(summary) and len(summary) >= 3
    # adapt submitted the jobs (minimum 0: none before there was work); each wrote its SLURM log
    logs = list((tmp_path / "logs").glob("*.err"))
    assert logs, "no SLURM job ran"
    assert any("tls://" in path.read_text() for path in logs)
