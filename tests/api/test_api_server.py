"""The HTTP API over a real socket: uvicorn on a free loopback port, the Python client, the dispatcher, the command.

A job submitted through the client is run by the real dispatcher (the ``echo``
test predictor on an in-process cluster, no refinement), and its summary and
files come back through the client.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from tests.pipelines.test_new_predictor import EchoOptions, EchoPredictor
from workbench.api.app import create_app
from workbench.api.client import ApiError, WorkbenchClient
from workbench.pipelines.cluster import make_cluster
from workbench.pipelines.dispatcher import Dispatcher
from workbench.predict.base import register, unregister
from workbench.request import BatchRequest


@pytest.fixture
def echo() -> Iterator[None]:
    register("echo", options=EchoOptions)(EchoPredictor)
    yield
    unregister("echo")


@pytest.fixture
def live(server) -> Iterator[str]:
    """The server fixture's store and folders, served by uvicorn on 127.0.0.1 and a free port; its base URL."""
    app = create_app(server.store_url, server.results, file_roots=[server.roots])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    uvi = uvicorn.Server(config)
    thread = threading.Thread(target=uvi.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uvi.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = uvi.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    uvi.should_exit = True
    thread.join(10)


@pytest.mark.slow
def test_the_client_over_a_socket_with_a_job_the_dispatcher_ran(server, live, echo):
    structure = str(server.roots / "1bhl.pdb")
    sequence = EchoPredictor(structure).model.sequences["A"]
    fasta = f">same\n{sequence}\n>other\n{sequence[:-3]}WWW\n"
    request = BatchRequest.create("echo", {"structure": structure}, refine=False)
    with WorkbenchClient(live, server.tokens["alice"]) as alice, WorkbenchClient(live, server.tokens["bob"]) as bob:
        assert alice.health().status == "ok" and alice.me().owner == "alice"
        job = alice.submit(fasta, request, name="echo")
        assert job.status == "queued" and job.owner == "alice"
        assert [j.id for j in alice.list_jobs()] == [job.id] and bob.list_jobs() == []
        with pytest.raises(ApiError) as caught:
            bob.get(job.id)
        assert caught.value.status == 404 and caught.value.detail == f"no job {job.id}"
        with pytest.raises(ApiError, match="outside the folders"):
            alice.submit(fasta, BatchRequest.create("echo", {"structure": "/etc/passwd"}, refine=False))

        with make_cluster("inprocess") as client:
            assert Dispatcher(server.store_url, server.results, client=client, poll=0.1).serve(once=True) == 0

        done = alice.get(job.id)
        assert done.status == "done", done.error
        assert {item.name: item.status for item in done.items} == {"same": "done", "other": "failed"}
        rows = {row.id: row for row in alice.summary(job.id)}
        assert rows["same"].status == "done" and rows["same"].mean_plddt == pytest.approx(50.0)
        assert rows["other"].status == "failed" and "not the echoed sequence" in (rows["other"].error or "")
        folder = rows["same"].folder
        model = alice.download(job.id, f"{folder}/{folder}_model.pdb", to=server.home / "model.pdb")
        assert model.startswith((b"HEADER", b"REMARK", b"ATOM", b"CRYST1", b"MODEL", b"TITLE"))
        assert (server.home / "model.pdb").read_bytes() == model
        assert b"same" in alice.download(job.id, "summary.csv")
        with pytest.raises(ApiError) as caught:
            alice.download(job.id, "%2E%2E/%2E%2E/jobs.sqlite")
        assert caught.value.status == 400
        with pytest.raises(ApiError) as caught:
            bob.summary(job.id)
        assert caught.value.status == 404
        with pytest.raises(ApiError) as caught:
            alice.cancel(job.id)  # done: nothing to cancel
        assert caught.value.status == 409 and "\n" not in caught.value.detail
    with WorkbenchClient(live, server.tokens["root"]) as admin:
        assert [j.id for j in admin.list_jobs()] == [job.id] and admin.me().admin
    with WorkbenchClient(live, "wbt_wrong") as stranger, pytest.raises(ApiError) as caught:
        stranger.list_jobs()
    assert caught.value.status == 401


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_workbench_api_serves_on_loopback(server):
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "workbench.cli", "api", "--port", str(port),
                                "--store", server.store_url, "--results", str(server.results)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.communicate()[1]
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/me",
                                     headers={"Authorization": f"Bearer {server.tokens['bob']}"}, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "workbench api did not answer in 120 s"
                time.sleep(0.2)
        assert response.json() == {"owner": "bob", "admin": False}
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}" in err and "warning" not in err
