"""The work of one batch on the workers: predict in batches, then complete, refine and analyse each model.

This is the one composition of the workbench's steps; ``workbench run``,
``workbench predict`` and the dispatcher all run it through
:func:`~workbench.pipelines.batch.run_batch`. Per item:

1. the predictor's model (:func:`predict_batch`, in length-sorted batches; a
   predictor only predicts);
2. the refinement's preparation (PDBFixer), once: it completes the side chains
   a template variant leaves out, and the refinement starts from it;
3. the refinement (OpenMM), when the request asks for one;
4. the analysis (numba kernels), and every file written through
   :class:`~workbench.results.ItemFolder`, the confidence figures last
   (:func:`~workbench.item_figures.write_item_figures`).

These functions run inside Dask workers. Predictors are built once per worker
process and kept (:func:`predictor_for`), so a GPU worker loads ESMFold once
for the whole batch.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.io.fasta import SequenceRecord
from workbench.item_figures import write_item_figures
from workbench.pipelines.items import ItemFailed, ItemSpec, is_complete
from workbench.predict.base import Prediction, Predictor
from workbench.refine import PreparedModel, RefineConfig, RefinementResult, prepare_for_refinement, refine
from workbench.request import BatchRequest, PredictorSpec
from workbench.results import ItemFolder
from workbench.stability import stability_terms
from workbench.structure import Structure

_PREDICTORS: dict[PredictorSpec, Predictor] = {}
_PREDICTORS_LOCK = threading.Lock()


@dataclass(frozen=True)
class PredictedItem:
    """A prediction task's result for one item: the prediction, or why there is none.

    Attributes
    ----------
    prediction : Prediction or None
    error : str or None
    seconds : float
        The item's share of the prediction time.
    """

    prediction: Prediction | None
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class ItemModels:
    """The structures of one finished item.

    Attributes
    ----------
    model : Structure
        The predicted model, completed by the preparation where the predictor left atoms out.
    refinement : RefinementResult or None
    """

    model: Structure
    refinement: RefinementResult | None

    @property
    def final(self) -> Structure:
        """The structure the analysis describes: the refined model, else the model."""
        return self.refinement.structure if self.refinement is not None else self.model


def predictor_for(spec: PredictorSpec) -> Predictor:
    """The predictor for ``spec``, built once per worker process."""
    with _PREDICTORS_LOCK:
        if spec not in _PREDICTORS:
            _PREDICTORS[spec] = spec.build()
        return _PREDICTORS[spec]


def predict_batch(spec: PredictorSpec, records: Sequence[tuple[str, SequenceRecord]],
                  items: str | None = None) -> dict[str, PredictedItem]:
    """Predict a batch of records (nothing is written: the item's task writes its folder whole).

    Parameters
    ----------
    spec : PredictorSpec
    records : sequence of (key, SequenceRecord)
    items : str, optional
        The folder of the item folders: a record whose item is already
        complete there is not predicted again (Dask may rerun this task after
        a worker died, for the items still waiting on it).

    Returns
    -------
    dict
        ``{key: PredictedItem}``; a complete item's entry has neither prediction nor error.
    """
    if items is not None:
        records = [(key, record) for key, record in records if not is_complete(Path(items) / key)]
    if not records:
        return {}
    started = time.perf_counter()
    try:
        outcomes = predictor_for(spec).predict([record for _, record in records])
    except Exception as exc:  # a predictor that cannot even start fails every item of its batch, with the reason
        reason = f"predictor {spec.name!r} failed: {type(exc).__name__}: {exc}"
        return {key: PredictedItem(None, reason) for key, _ in records}
    share = (time.perf_counter() - started) / max(len(records), 1)
    results = {}
    for (key, _), outcome in zip(records, outcomes, strict=True):
        if outcome.prediction is None:
            results[key] = PredictedItem(None, outcome.error, share)
        else:
            seconds = outcome.prediction.provenance.timings.get("total", share)
            results[key] = PredictedItem(outcome.prediction, None, float(seconds))
    return results


def finish_item(payload: tuple[ItemSpec, Mapping[str, PredictedItem]], folder: Path) -> dict[str, Any]:
    """Complete, refine and analyse one predicted model, writing the item folder; the engine's ``work``.

    Parameters
    ----------
    payload : (ItemSpec, predictions)
        ``predictions`` is :func:`predict_batch`'s result for the item's batch.
    folder : Path
        The item folder.

    Returns
    -------
    dict
        The item's numbers for the summary table (see :func:`item_numbers`).
    """
    spec, predictions = payload
    predicted = predictions.get(spec.key)
    if predicted is None:  # complete when its batch was predicted, damaged since: the next run redoes it
        raise ItemFailed("the item was complete when its batch was predicted and is not now; run again to redo it")
    if predicted.prediction is None:
        raise ItemFailed(predicted.error or "no prediction")
    timings = {"predict_s": predicted.seconds}
    started = time.perf_counter()
    models = compose_item(predicted.prediction, spec.request)
    if spec.request.refine is not None:
        timings["refine_s"] = time.perf_counter() - started
    started = time.perf_counter()
    metrics = analyse(models.final) | {
        "rmsd_ca_refined": None if models.refinement is None else models.refinement.rmsd_ca}
    timings["analyze_s"] = time.perf_counter() - started
    item = ItemFolder(folder)
    item.write_prediction(predicted.prediction, models.model, model_type=spec.request.predictor.info.model_type)
    if models.refinement is not None:
        item.write_refinement(models.refinement)
    item.write_metrics(metrics)
    if models.refinement is not None:  # per-structure terms of the stability estimate, combined on the client
        item.write_stability_terms(stability_terms(models.refinement.structure).to_dict())
    item.write_config(spec.key, spec.sequence, spec.names, spec.settings)
    write_item_figures(item)  # plddt.png, pae.png: here, so DONE's checksums cover them
    return item_numbers(predicted.prediction, models.refinement, metrics) | timings


def predict_and_finish_item(payload: tuple[ItemSpec, SequenceRecord], folder: Path) -> dict[str, Any]:
    """Predict one record and finish its item in one task (the engine's ``work`` for a batch of one).

    A CPU predictor that predicts one record at a time gains nothing from a
    separate prediction task, and a second task per item doubles the
    scheduler's work and a result's trip between tasks.
    """
    spec, record = payload
    return finish_item((spec, predict_batch(spec.request.predictor, [(spec.key, record)])), folder)


def compose_item(prediction: Prediction, request: BatchRequest) -> ItemModels:
    """The model and its refinement for one prediction, with one preparation.

    The preparation (PDBFixer) runs when the model is refined or when the
    predictor declares its models incomplete (a template variant's substituted
    side chains); the refinement starts from that same preparation.

    Parameters
    ----------
    prediction : Prediction
    request : BatchRequest

    Returns
    -------
    ItemModels

    Raises
    ------
    ItemFailed
        When the preparation or the refinement fails (the reason, without a traceback).
    """
    incomplete = request.predictor.info.incomplete_models
    config = _with_worker_threads(request.refine or RefineConfig())
    prepared: PreparedModel | None = None
    model = prediction.structure
    try:
        if incomplete or request.refine is not None:
            prepared = prepare_for_refinement(prediction.structure, config)
        if incomplete and prepared is not None:
            model = prepared.to_structure(hydrogens=False)
        if request.refine is None:
            return ItemModels(model, None)
        return ItemModels(model, refine(prediction.structure, config, prepared=prepared))
    except (ValueError, RuntimeError) as exc:
        stage = "refinement" if prepared is not None else "preparation"
        raise ItemFailed(f"{stage} failed: {exc}") from exc


def _with_worker_threads(config: RefineConfig) -> RefineConfig:
    """``config`` with the Dask worker's thread count when it sets none, so OpenMM never oversubscribes."""
    if config.threads is not None:
        return config
    try:
        from distributed import get_worker

        return dataclasses.replace(config, threads=get_worker().state.nthreads)
    except (ImportError, ValueError):
        return config


def analyse(structure: Structure) -> dict[str, Any]:
    """Per-structure quality numbers written to metrics.json.

    Parameters
    ----------
    structure : Structure

    Returns
    -------
    dict
        ``secondary_structure`` (one of H, E, C per residue; ``-`` without a
        backbone), ``helix_fraction``, ``strand_fraction``,
        ``radius_of_gyration`` (Å, heavy atoms), ``clashes`` (AlphaFold2's
        definition) and ``max_clash_overlap`` (Å).
    """
    from workbench.analysis import clashes, dssp, radius_of_gyration

    protein = structure.select(structure.polymer)
    secondary = dssp(protein, simplified=True)
    assigned = secondary[secondary != "-"]
    found = clashes(protein)
    return {
        "secondary_structure": "".join(secondary.tolist()),
        "helix_fraction": float(np.mean(assigned == "H")) if assigned.size else None,
        "strand_fraction": float(np.mean(assigned == "E")) if assigned.size else None,
        "radius_of_gyration": float(radius_of_gyration(protein)),
        "clashes": len(found.atoms),
        "max_clash_overlap": float(found.overlap.max()) if len(found.overlap) else 0.0,
    }


def item_numbers(prediction: Prediction, refinement: RefinementResult | None,
                 metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The summary-table numbers of one finished item.

    ``mutations`` joins the changes a predictor reports against its template
    (``provenance.parameters["mutations"]`` and the labels of ``["indels"]``) with ``+``.
    """
    parameters = prediction.provenance.parameters
    changes = [*parameters.get("mutations", []), *(i["label"] for i in parameters.get("indels", []))]
    numbers: dict[str, Any] = {
        "mutations": "+".join(changes) if changes else None,
        "mean_plddt": None if prediction.mean_plddt is None else round(prediction.mean_plddt, 3),
        "ptm": prediction.ptm,
        "iptm": prediction.iptm,
        "max_pae": prediction.max_pae,
        "energy_before": None,
        "energy_after": None,
        "violations_before": None,
        "violations_after": None,
    }
    if refinement is not None:
        numbers |= {
            "energy_before": refinement.energy_before,
            "energy_after": refinement.energy_after,
            "violations_before": len(refinement.violations_before),
            "violations_after": len(refinement.violations_after),
        }
    keep = ("rmsd_ca_refined", "helix_fraction", "strand_fraction", "clashes", "radius_of_gyration")
    return numbers | {name: metrics.get(name) for name in keep}
