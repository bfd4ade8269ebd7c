"""A predictor defined only here goes through run_batch, the CLI and the dispatcher with no edit elsewhere.

The ``echo`` predictor hands back a structure file it is given as its option, for
records whose sequence is that structure's: enough to exercise everything a
real backend touches (options, file hashing, CLI flags, the job store's JSON, the
composition with the refinement), with a structure whose coordinates are known.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import pdbfixer_1bhl
from workbench.cli import main
from workbench.io.fasta import SequenceRecord
from workbench.io.structure_reader import read_structure
from workbench.jobs.store import JobStore
from workbench.pipelines.batch import run_batch
from workbench.pipelines.cluster import make_cluster
from workbench.pipelines.dispatcher import Dispatcher
from workbench.predict.base import Prediction, PredictionOutcome, PredictorOptions, Provenance, register, unregister
from workbench.request import BatchRequest
from workbench.results import open_results
from workbench.structure import Structure


@dataclass(frozen=True)
class EchoOptions(PredictorOptions):
    structure: str = field(default="", metadata={"help": "the structure to hand back", "file": True,
                                                 "label": "Echo structure"})
    confidence: float = field(default=50.0, metadata={"help": "the per-residue confidence to report"})


class EchoPredictor:
    name = "echo"

    def __init__(self, structure: str, confidence: float = 50.0) -> None:
        model = read_structure(structure)
        self.model: Structure = model.select(model.polymer & (model.chain_id == "A"))
        self.confidence = confidence

    def predict(self, records: Sequence[SequenceRecord]) -> list[PredictionOutcome]:
        outcomes = []
        for record in records:
            if record.chains != (self.model.sequences["A"],):
                outcomes.append(PredictionOutcome(record, error=f"record {record.id!r}: not the echoed sequence"))
                continue
            plddt = np.full(len(self.model.residues), self.confidence, dtype=np.float32)
            outcomes.append(PredictionOutcome(record, Prediction(self.model, plddt, None, None,
                                                                 Provenance("echo"), name=record.id)))
        return outcomes


@pytest.fixture
def echo() -> Iterator[str]:
    register("echo", options=EchoOptions)(EchoPredictor)
    yield str(pdbfixer_1bhl())
    unregister("echo")


@pytest.fixture
def fasta(tmp_path, echo) -> str:
    sequence = EchoPredictor(echo).model.sequences["A"]
    path = tmp_path / "echo.fasta"
    path.write_text(f">same\n{sequence}\n>other\n{sequence[:-3]}WWW\n")
    return str(path)


def _check_batch(out, structure_path: str) -> None:
    results = open_results(out)
    rows = {row.id: row for row in results.rows}
    assert rows["same"].status == "done" and rows["other"].status == "failed"
    assert "not the echoed sequence" in rows["other"].error
    assert rows["same"].mean_plddt == pytest.approx(50.0)
    item = results.item("same")
    relaxed = item.relaxed()
    model = read_structure(structure_path)
    ca_in = model.coords[(model.atom_name == "CA") & (model.chain_id == "A")]
    ca_out = relaxed.coords[relaxed.atom_name == "CA"]
    assert ca_out.shape == ca_in.shape
    assert np.sqrt(np.mean(np.sum((ca_out - ca_in) ** 2, axis=1))) < 0.5  # a restrained relax barely moves CA
    settings = item.config()["settings"]
    digest = hashlib.sha256(Path(structure_path).read_bytes()).hexdigest()
    assert settings["predictor"] == "echo" and settings["predictor_options"]["structure"] == {"sha256": digest}


def test_a_predictor_defined_in_a_test_runs_through_run_batch(echo, fasta, tmp_path):
    request = BatchRequest.create("echo", {"structure": echo})
    run_batch(request, fasta, tmp_path / "out", cluster="inprocess")
    _check_batch(tmp_path / "out", echo)


def test_and_through_the_cli_with_flags_from_its_options(echo, fasta, tmp_path, capsys):
    out = tmp_path / "cli"
    status = main(["run", fasta, "-o", str(out), "--predictor", "echo", "--structure", echo, "--confidence", "50",
                   "--cluster", "inprocess", "--no-progress"])
    assert status == 1  # the second record is not the echoed sequence
    _check_batch(out, echo)
    assert main(["run", fasta, "-o", str(out), "--predictor", "echo", "--structure", echo,
                 "--num-recycles", "2"]) == 1
    assert "--num-recycles: not an option of predictor 'echo'" in capsys.readouterr().err


def test_and_through_the_job_store_and_the_dispatcher(echo, fasta, tmp_path):
    store_url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    request = BatchRequest.create("echo", {"structure": echo, "confidence": 50.0})
    with JobStore(store_url) as store:
        job = store.submit({"fasta": Path(fasta).read_text()}, request.to_json(), name="echo")
    assert json.loads(json.dumps(request.to_json())) == request.to_json()
    with make_cluster("inprocess") as client:
        assert Dispatcher(store_url, tmp_path / "results", client=client, poll=0.1).serve(once=True) == 0
    with JobStore(store_url) as store:
        finished = store.get(job.id)
    assert finished.status == "done", finished.error
    _check_batch(finished.result_path, echo)
