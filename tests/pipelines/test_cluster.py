"""The clusters the workbench makes: authenticated (Dask TLS), on loopback, and the batch systems' job scripts.

Real components throughout: a real ``LocalCluster`` with worker processes, a
real ``distributed.Client`` in another process trying to connect, the kernel's
own table of listening sockets (psutil), and dask-jobqueue's real clusters
(whose job scripts need no batch system to be written).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
import yaml

from workbench.pipelines.cluster import (
    JOBQUEUE_CLASSES,
    jobqueue_cluster,
    make_cluster,
    parse_spec,
    size_cluster,
    write_credentials,
)

LOOPBACK = {"127.0.0.1", "::1"}

# A client in a process of its own, trying the scheduler five ways; prints {attempt: "ok" or the error}.
PROBE = r"""
import json, os, sys
from distributed import Client
from distributed.security import Security

address, ca, cert, key = sys.argv[1:]
attempts = {
    "no certificates": {},
    "plain tcp": {"address": address.replace("tls://", "tcp://")},
    "certificates of another cluster": {"security": Security.temporary()},
    "the cluster's certificates": {"security": Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key,
                                                        require_encryption=True)},
}
answers = {}
# the server's own check, with no Dask in the way: trusts the cluster's CA, offers no client certificate
import socket, ssl
context = ssl.create_default_context(cafile=ca)
context.check_hostname = False
host, port = address.removeprefix("tls://").rsplit(":", 1)
try:
    with socket.create_connection((host, int(port)), timeout=6) as raw, context.wrap_socket(raw) as tls:
        tls.sendall(b"\0" * 8)
        answers["TLS without a client certificate"] = "ok" if tls.recv(1) else "closed by the server"
except (OSError, ssl.SSLError) as exc:
    answers["TLS without a client certificate"] = f"{type(exc).__name__}: {exc}"
for name, settings in attempts.items():
    try:
        with Client(settings.pop("address", address), timeout="6s", **settings) as client:
            answers[name] = "ok" if client.submit(os.getpid, pure=False).result(timeout=30) else "no answer"
    except Exception as exc:
        answers[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps(answers))
"""


def _listening(pids: set[int]) -> list[tuple[int, str, int]]:
    return [(conn.pid, conn.laddr.ip, conn.laddr.port) for conn in psutil.net_connections(kind="inet")
            if conn.status == psutil.CONN_LISTEN and conn.pid in pids]


def _http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def _cluster_pids() -> set[int]:
    me = psutil.Process()
    return {me.pid} | {child.pid for child in me.children(recursive=True)}


def test_a_process_without_the_cluster_certificates_cannot_use_it(client, tmp_path):
    address = client.scheduler.address
    assert address.startswith("tls://127.0.0.1:")
    tls = write_credentials(client.security, tmp_path)
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in tls.values())
    probe = subprocess.run([sys.executable, "-c", PROBE, address, str(tls["ca_file"]), str(tls["cert"]),
                            str(tls["key"])], capture_output=True, text=True, timeout=180)
    assert probe.returncode == 0, probe.stderr
    answers = json.loads(probe.stdout.strip().splitlines()[-1])

    assert answers.pop("the cluster's certificates") == "ok"
    for attempt, answer in answers.items():  # every other way is refused: no task ran for it
        assert answer != "ok", f"{attempt}: connected"
        assert re.search(r"timed out|TLS|SSL|certificate|Timeout|closed|Connection", answer), f"{attempt}: {answer}"
    # the scheduler itself demands a certificate its CA signed (TLS 1.3 sends that alert after the handshake)
    assert re.search(r"CERTIFICATE_REQUIRED|certificate required|closed by the server|reset|EOF occurred in violation",
                     answers["TLS without a client certificate"]), answers


def test_cluster_processes_listen_on_loopback_only(client):
    pids = _cluster_pids()
    workers = client.run(os.getpid)
    assert set(workers.values()) <= pids
    sockets = _listening(pids)
    ports = {port for _, _, port in sockets}
    scheduler_port = int(client.scheduler.address.rsplit(":", 1)[1])
    dashboard_port = client.scheduler_info()["services"]["dashboard"]
    assert {scheduler_port, dashboard_port} <= ports  # the test sees the cluster's own sockets
    assert {pid for pid, _, _ in sockets} >= set(workers.values())  # and the workers'
    beyond = [entry for entry in sockets if entry[1] not in LOOPBACK]
    assert not beyond, f"listening beyond loopback (pid, address, port): {beyond}"


def test_the_dashboard_can_be_off_and_the_scheduler_http_server_stays_on_loopback(tmp_path):
    off = tmp_path / "off.yaml"
    off.write_text("dashboard_address: null\n")
    with make_cluster("local", config=off, n_workers=0) as client:
        assert client.scheduler.address.startswith("tls://127.0.0.1:")
        # Dask serves health, metrics and JSON over HTTP even without a dashboard: on every interface unless told
        sockets = _listening({os.getpid()})
        assert len(sockets) >= 2
        assert all(ip in LOOPBACK for _, ip, _ in sockets), sockets
        http = client.scheduler_info()["services"]["dashboard"]
        assert http in {port for _, _, port in sockets}
        assert _http_status(f"http://127.0.0.1:{http}/health") == 200
        assert client.cluster.scheduler_spec["options"]["dashboard"] is False


SLOW_RESTART = """
import os, time
from pathlib import Path

def dask_setup(worker):  # before the worker registers: the first start is quick, every restart slow
    marker = Path(os.environ["WORKBENCH_TEST_STARTED"])
    if marker.exists():
        time.sleep(float(os.environ["WORKBENCH_TEST_RESTART_SECONDS"]))
    marker.touch()
"""


@pytest.mark.slow
def test_a_worker_its_nanny_restarts_slowly_stays_in_the_local_cluster(tmp_path, monkeypatch):
    """Dask's 15 s default closed such a nanny for good (seen in CI after an item time limit)."""
    preload = tmp_path / "slow_restart.py"
    preload.write_text(SLOW_RESTART)
    monkeypatch.setenv("WORKBENCH_TEST_STARTED", str(tmp_path / "started"))
    monkeypatch.setenv("WORKBENCH_TEST_RESTART_SECONDS", "20")
    with make_cluster("local:1", preload=[str(preload)]) as client:
        client.wait_for_workers(1, timeout=60)
        (worker,) = client.scheduler_info()["workers"]
        client.restart_workers([worker], raise_for_error=False, timeout=5)  # gives up waiting, as the engine may
        client.wait_for_workers(1, timeout=120)
        (back,) = client.scheduler_info()["workers"]
        assert back != worker
        assert client.submit(sum, [1, 2], pure=False).result(timeout=30) == 3
        time.sleep(3)  # past any late clean-up: still one worker, the restarted one
        assert list(client.scheduler_info()["workers"]) == [back]


def test_the_in_process_cluster_opens_no_socket_beyond_loopback():
    with make_cluster("inprocess") as client:
        assert client.submit(sum, [1, 2], pure=False).result(timeout=30) == 3
        sockets = _listening({os.getpid()})
        assert all(ip in LOOPBACK for _, ip, _ in sockets), sockets


def test_a_tls_address_takes_certificates_from_the_config(client, tmp_path):
    tls = write_credentials(client.security, tmp_path)
    config = tmp_path / "site.yaml"
    config.write_text(yaml.safe_dump({"tls_ca_file": str(tls["ca_file"]), "tls_client_cert": str(tls["cert"]),
                                      "tls_client_key": str(tls["key"])}))
    with make_cluster(client.scheduler.address, config=config) as other:
        assert other.submit(sum, [1, 2], pure=False).result(timeout=30) == 3
    with pytest.raises(ValueError, match="speaks TLS: name its certificates"), \
            make_cluster(client.scheduler.address):
        pass
    config.write_text(yaml.safe_dump({"tls_ca_file": str(tmp_path / "missing.pem")}))
    with pytest.raises(ValueError, match=r"tls_ca_file .*missing.pem cannot be read"), \
            make_cluster(client.scheduler.address, config=config):
        pass


# Each batch system's settings and what its job script must then say.
SYSTEMS = {
    "slurm": ({"queue": "gpu", "account": "lab", "walltime": "01:00:00", "job_extra_directives": ["--gres=gpu:1"]},
              ["#SBATCH -p gpu", "#SBATCH -A lab", "#SBATCH --cpus-per-task=2", "#SBATCH --mem=4G",
               "#SBATCH -t 01:00:00", "#SBATCH --gres=gpu:1"]),
    "pbs": ({"queue": "workq", "account": "lab", "walltime": "01:00:00",
             "resource_spec": "select=1:ncpus=2:mem=4GB"},
            ["#PBS -q workq", "#PBS -A lab", "#PBS -l select=1:ncpus=2:mem=4GB", "#PBS -l walltime=01:00:00"]),
    "lsf": ({"queue": "normal", "project": "lab", "walltime": "01:00", "use_stdin": True},
            ["#BSUB -q normal", '#BSUB -P "lab"', "#BSUB -n 2", "#BSUB -M 4000000", "#BSUB -W 01:00"]),
    "sge": ({"queue": "all.q", "project": "lab", "walltime": "01:00:00", "resource_spec": "h_vmem=4G"},
            ["#$ -q all.q", "#$ -P lab", "#$ -l h_vmem=4G", "#$ -l h_rt=01:00:00"]),
    "htcondor": ({"disk": "1GB", "job_extra_directives": {"+ProjectName": '"lab"'}},
                 ["MY.DaskWorkerCores = 2", "MY.DaskWorkerMemory = 4000000000", "MY.DaskWorkerDisk = 1000000000",
                  '+ProjectName = "lab"']),
}


def test_every_batch_system_is_covered():
    assert set(SYSTEMS) == set(JOBQUEUE_CLASSES)


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_job_script_says_what_the_config_asked_for_and_speaks_tls(system, tmp_path):
    settings, lines = SYSTEMS[system]
    shared = tmp_path / "shared"
    shared.mkdir()
    config = {"system": system, "cores": 2, "memory": "4GB", "processes": 1, "shared_temp_directory": str(shared),
              **settings}
    with jobqueue_cluster(config) as cluster:
        script = cluster.job_script()
        assert cluster.scheduler_address.startswith("tls://")
        dashboard = cluster.scheduler_info["services"]["dashboard"]
        listening = {port: ip for _, ip, port in _listening({os.getpid()})}
        assert listening[dashboard] in LOOPBACK  # the dashboard stays on this machine
        certificates = sorted(shared.iterdir())
        assert len(certificates) == 3  # the workers' CA, certificate and key, for this cluster's life
        assert all(path.stat().st_mode & 0o777 == 0o600 for path in certificates)
    for line in lines:
        assert line in script.splitlines() or f"{line}\n" in script, f"{system}: {line!r} not in\n{script}"
    assert f"-m distributed.cli.dask_worker {cluster.scheduler_address}" in script
    for option in ("--protocol tls://", "--tls-ca-file", "--tls-cert", "--tls-key", "--no-dashboard"):
        assert option in script
    assert sys.executable in script  # the workers run this environment's Python
    assert not list(shared.iterdir())  # the certificates leave with the cluster


@pytest.mark.parametrize(("spec", "adapt", "expected"), [
    ("slurm:0-3", None, (0, 3)),
    ("pbs", {"minimum": 0, "maximum": 20, "wait_count": 5}, (0, 20)),
])
def test_adapt_bounds_come_from_the_spec_or_the_config(spec, adapt, expected, tmp_path):
    kind, jobs, bounds = parse_spec(spec)
    # minimum 0 and no work: nothing is submitted (there is no batch system here)
    settings = {"system": kind, "cores": 2, "memory": "4GB", "processes": 2, "shared_temp_directory": str(tmp_path)}
    if adapt:
        settings["adapt"] = adapt
    with jobqueue_cluster(settings) as cluster:
        size_cluster(cluster, settings, jobs, bounds)
        adaptive = cluster._adaptive
        assert adaptive is not None
        # in workers: jobs times the 2 worker processes of each job
        assert (adaptive.minimum, adaptive.maximum) == (2 * expected[0], 2 * expected[1])
        if adapt:
            assert adaptive.wait_count == 5


@pytest.mark.parametrize(("adapt", "message"), [
    ("20", "adapt must be a mapping"),
    ({"minimum": 5, "maximum": 2}, "0 <= minimum <= maximum"),
    ({"minimum": -1, "maximum": 2}, "0 <= minimum <= maximum"),
])
def test_bad_adapt_is_refused_in_one_line(adapt, message, tmp_path):
    settings = {"system": "slurm", "cores": 1, "memory": "1GB", "shared_temp_directory": str(tmp_path),
                "adapt": adapt}
    with jobqueue_cluster(settings) as cluster, pytest.raises(ValueError, match=message):
        size_cluster(cluster, settings)


@pytest.mark.parametrize(("spec", "config", "message"), [
    ("slurm:3-1", None, "MIN-MAX"),
    ("local:1-2", None, "number of workers"),
    ("pbs", {"system": "slurm"}, "says system: slurm"),
])
def test_bad_specs_and_configs_are_refused(spec, config, message, tmp_path):
    path = None
    if config is not None:
        path = tmp_path / "cluster.yaml"
        path.write_text(yaml.safe_dump(config))
    with pytest.raises(ValueError, match=message), make_cluster(spec, config=path):
        pass


def test_examples_slurm_yaml_makes_an_adaptive_tls_cluster(tmp_path):
    settings = yaml.safe_load((Path(__file__).resolve().parents[2] / "examples" / "slurm.yaml").read_text())
    settings |= {"shared_temp_directory": str(tmp_path), "log_directory": str(tmp_path / "logs")}
    assert settings["adapt"]["minimum"] == 0  # nothing is submitted without work
    with jobqueue_cluster(settings) as cluster:
        size_cluster(cluster, settings)
        assert cluster.scheduler_address.startswith("tls://")
        assert cluster._adaptive.maximum == settings["adapt"]["maximum"] * settings.get("processes", 1)


def test_a_batch_system_takes_the_sites_certificates_from_the_config(client, tmp_path):
    tls = write_credentials(client.security, tmp_path)
    settings = {"system": "slurm", "cores": 1, "memory": "1GB", "tls_ca_file": str(tls["ca_file"]),
                "tls_client_cert": str(tls["cert"]), "tls_client_key": str(tls["key"])}
    with jobqueue_cluster(settings) as cluster:
        script = cluster.job_script()
        assert cluster.scheduler_address.startswith("tls://")
    # the workers use the named files (one certificate for every role), nothing temporary is written
    for option, key in (("--tls-ca-file", "ca_file"), ("--tls-cert", "cert"), ("--tls-key", "key")):
        assert f"{option} {tls[key]}" in script
