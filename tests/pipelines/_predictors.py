"""A predictor for fault tests, registered only where a test asks (never for the whole test session).

``fault`` hands back PDBFixer's 1BHL (chain A) for any record, after ``seconds``,
and appends ``<record id> <pid>`` to the file ``log`` before each prediction,
so a test can count how often each record was predicted. A record whose id is
``hang`` never finishes (for ``hang_seconds``).

Registration: :func:`register_fault` in the test's process, :class:`Registration`
(a worker plugin, so a worker restarted after a SIGKILL has it too) on a
cluster's workers, and ``WORKBENCH_TEST_FAULT_PREDICTOR=1`` for a subprocess
and the workers it starts (this module registers itself on import there).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
from distributed import WorkerPlugin

from tests.conftest import pdbfixer_1bhl
from workbench.io.fasta import SequenceRecord
from workbench.io.structure_reader import read_structure
from workbench.predict.base import (
    Prediction,
    PredictionOutcome,
    PredictorOptions,
    Provenance,
    available_predictors,
    register,
    unregister,
)
from workbench.structure import Structure

NAME = "fault"
ENVIRONMENT = "WORKBENCH_TEST_FAULT_PREDICTOR"


@dataclass(frozen=True)
class FaultOptions(PredictorOptions):
    log: str = field(default="", metadata={"help": "file that gets one line per prediction"})
    seconds: float = field(default=0.0, metadata={"help": "seconds each record takes"})
    hang: str = field(default="", metadata={"help": "id of a record whose prediction hangs"})
    hang_seconds: float = field(default=60.0, metadata={"help": "how long the hang lasts"})


@cache
def _model() -> Structure:
    model = read_structure(pdbfixer_1bhl())
    return model.select(model.polymer & (model.chain_id == "A"))


def sequence() -> str:
    """The sequence of the model every prediction returns."""
    return _model().sequences["A"]


def variants(n: int) -> list[tuple[str, str]]:
    """``n`` distinct (id, sequence) records: single substitutions of the model's sequence."""
    wild_type = sequence()
    records = []
    for i in range(n):
        position = 10 + i
        new = "W" if wild_type[position] != "W" else "A"
        records.append((f"v{i:02d}_{wild_type[position]}{position + 1}{new}",
                        wild_type[:position] + new + wild_type[position + 1:]))
    return records


class FaultPredictor:
    name = NAME

    def __init__(self, log: str = "", seconds: float = 0.0, hang: str = "", hang_seconds: float = 60.0) -> None:
        self.log, self.seconds, self.hang, self.hang_seconds = log, seconds, hang, hang_seconds

    def predict(self, records: Sequence[SequenceRecord]) -> list[PredictionOutcome]:
        outcomes = []
        for record in records:
            if self.log:
                with open(self.log, "a") as handle:  # O_APPEND: lines from several workers never interleave
                    handle.write(f"{record.id} {os.getpid()}\n")
            time.sleep(self.hang_seconds if record.id == self.hang else self.seconds)
            model = _model()
            plddt = np.full(len(model.residues), 70.0, dtype=np.float32)
            outcomes.append(PredictionOutcome(record, Prediction(model, plddt, None, None, Provenance(NAME),
                                                                 name=record.id)))
        return outcomes


def predicted(log: str | os.PathLike[str]) -> list[str]:
    """Record ids in the order they were predicted."""
    try:
        with open(log) as handle:
            return [line.split()[0] for line in handle]
    except FileNotFoundError:
        return []


def register_fault() -> None:
    """Register ``fault`` in this process, unless it is already."""
    if NAME not in available_predictors():
        register(NAME, options=FaultOptions, batch_tokens=0)(FaultPredictor)


def unregister_fault() -> None:
    unregister(NAME)


class Registration(WorkerPlugin):
    """Registers ``fault`` on every worker, those that join or restart later included."""

    def setup(self, worker: object) -> None:
        register_fault()

    def teardown(self, worker: object) -> None:
        unregister_fault()


if os.environ.get(ENVIRONMENT) == "1":
    register_fault()
