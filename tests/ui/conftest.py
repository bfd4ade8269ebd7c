"""Fixtures for the UI tests: a real finished batch (template predictor on 1BHL) in a real job store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import pdbfixer_1bhl

#: Wild type of 1BHL chain A (residues 57-207 as modelled) and the N155H resistance mutant.
WT = ("SPGIWQLDCTHLEGKVILVAVHVASGYIEAEVIPAETGQETAYFLLKLAGRWPVKTVHTDNGSNFTSTTVKAACWWAGIKQMNKELKKIIGQVRDQAEHLKTAVQ"
      "MAVFIHNHKRKGGIGGYSAGERIVDIIATD")
N155H = WT.replace("IKQMNKELKK", "IKQMHKELKK")
GOOD_FASTA = f">wt integrase core\n{WT}\n>N155H\n{N155H}\n"
BAD_FASTA = f">wt\n{WT}\n>broken\nMKV1LLA\n"


@dataclass(frozen=True)
class FinishedJob:
    """A job in the store of ``home`` whose result folder the batch pipeline wrote."""

    home: Path
    job_id: str
    job_dir: Path


@pytest.fixture(scope="session")
def finished_job(tmp_path_factory: pytest.TempPathFactory) -> FinishedJob:
    """Run a real 2-sequence template batch once (about 30 s) and record it as a finished job."""
    from workbench.pipelines.batch import run_batch
    from workbench.request import BatchRequest

    home = tmp_path_factory.mktemp("workbench_home")
    request = BatchRequest.create("template", {"template": str(pdbfixer_1bhl())}, refine={"md_ps": 0.0})
    return _record_finished(home, GOOD_FASTA, request.to_json(), "integrase variants", lambda out: run_batch(
        request, GOOD_FASTA, out, cluster="local"))


def _record_finished(home: Path, fasta: str, parameters: dict, name: str, run) -> FinishedJob:
    """Queue a job in ``home``'s store, run the batch with ``run(job_dir)``, record it as finished."""
    from workbench.jobs.store import JobStore

    store = JobStore(f"sqlite:///{home / 'jobs.sqlite'}")
    job = store.submit({"fasta": fasta}, parameters, name=name)
    store.claim_next("test-worker", 600)
    job_dir = home / "results" / job.id
    result = run(job_dir)
    store.record_items(job.id, [{"name": str(r["name"]), "item": str(r["item"]), "status": str(r["status"])}
                                for _, r in result.summary.iterrows()])
    store.report_progress(job.id, "test-worker", {"total": len(result.summary), "done": len(result.summary)})
    store.finish(job.id, "test-worker", job_dir)
    store.close()
    return FinishedJob(home=home, job_id=job.id, job_dir=job_dir)


@pytest.fixture(scope="session")
def esmfold_job(tmp_path_factory: pytest.TempPathFactory) -> FinishedJob:
    """A finished ESMFold batch (tiny random-weight model, a monomer and a dimer, no refinement): has PAE."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.predict.esmfold_tiny import save_tiny_model
    from workbench.pipelines.batch import run_batch
    from workbench.request import BatchRequest

    home = tmp_path_factory.mktemp("workbench_home_esmfold")
    weights = str(save_tiny_model(home / "tiny_esmfold"))
    fasta = ">monomer\nMKTAYIAKQRQISFVKSHFSRQ\n>dimer\nGSHMKLVVLGAAGVGKSALTVQ:MKTAYIAKQRQ\n"
    request = BatchRequest.create("esmfold", {"weights": weights}, refine=False)
    return _record_finished(home, fasta, request.to_json(), "tiny esmfold", lambda out: run_batch(
        request, fasta, out, cluster="local"))


@pytest.fixture
def workbench_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty ``$WORKBENCH_HOME`` for one test."""
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    monkeypatch.delenv("WORKBENCH_STORE_URL", raising=False)
    monkeypatch.delenv("WORKBENCH_OWNER", raising=False)
    yield tmp_path


@pytest.fixture
def esmfold_home(esmfold_job: FinishedJob, monkeypatch: pytest.MonkeyPatch) -> FinishedJob:
    """``$WORKBENCH_HOME`` pointing at the ESMFold job's store."""
    monkeypatch.setenv("WORKBENCH_HOME", str(esmfold_job.home))
    return esmfold_job


@pytest.fixture
def finished_home(finished_job: FinishedJob, monkeypatch: pytest.MonkeyPatch) -> FinishedJob:
    """``$WORKBENCH_HOME`` pointing at the finished job's store."""
    monkeypatch.setenv("WORKBENCH_HOME", str(finished_job.home))
    monkeypatch.delenv("WORKBENCH_STORE_URL", raising=False)
    monkeypatch.delenv("WORKBENCH_OWNER", raising=False)
    return finished_job


def run_view(name: str, timeout: float = 60, query: dict[str, str] | None = None):
    """An AppTest of one view, run once."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(f"from workbench.ui import {name}\n{name}.page()\n", default_timeout=timeout)
    if query:
        at.query_params.update(query)
    return at.run()
