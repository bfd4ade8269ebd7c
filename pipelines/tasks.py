"""The work of one batch on the workers: predict in batches, then refine and analyse each structure.

These functions run inside Dask workers. Predictors are built once per worker
process and kept (:func:`predictor_for`), so a GPU worker loads ESMFold once for
the whole batch. Every file goes through an atomic write.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.io.fasta import SequenceRecord
from workbench.io.structure_reader import read_structure
from workbench.io.structure_writer import atomic_write_bytes, format_pdb
from workbench.pipelines.engine import ItemFailed
from workbench.predict.base import Predictor, get_predictor
from workbench.predict.outputs import write_prediction

_PREDICTORS: dict[str, Predictor] = {}
_PREDICTORS_LOCK = threading.Lock()


@dataclass(frozen=True)
class ItemSpec:
    """Everything an item's work needs besides its prediction.

    Attributes
    ----------
    key : str
    sequence : str
        Chains joined with ``:``.
    names : tuple of str
        Ids of the FASTA records with this sequence.
    predictor : str
    refine : bool
    refine_options : dict
        :class:`~workbench.refine.RefineConfig` fields.
    settings : dict
        The canonical settings the key was made from (written to config.json).
    """

    key: str
    sequence: str
    names: tuple[str, ...]
    predictor: str
    refine: bool
    refine_options: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)


def predictor_for(name: str, options: Mapping[str, Any]) -> Predictor:
    """The predictor for ``name`` and ``options``, built once per worker process."""
    cache_key = json.dumps([name, dict(options)], sort_keys=True, default=str)
    with _PREDICTORS_LOCK:
        if cache_key not in _PREDICTORS:
            _PREDICTORS[cache_key] = get_predictor(name, **options)
        return _PREDICTORS[cache_key]


def predict_batch(predictor: str, options: Mapping[str, Any], records: Sequence[tuple[str, SequenceRecord]],
                  out: str) -> dict[str, dict[str, Any]]:
    """Predict a batch of records and write each model into its item folder.

    Parameters
    ----------
    predictor : str
        Registered predictor name.
    options : mapping
        Predictor constructor options.
    records : sequence of (key, SequenceRecord)
    out : str
        Batch folder; item ``key`` is written to ``out/key``.

    Returns
    -------
    dict
        ``{key: {"ok": bool, "error": str or None, "seconds": float}}``.
    """
    started = time.perf_counter()
    try:
        outcomes = predictor_for(predictor, options).predict([record for _, record in records])
    except Exception as exc:  # a predictor that cannot even start fails every item of its batch, with the reason
        reason = f"predictor {predictor!r} failed: {type(exc).__name__}: {exc}"
        return {key: {"ok": False, "error": reason, "seconds": 0.0} for key, _ in records}
    share = (time.perf_counter() - started) / max(len(records), 1)
    results = {}
    for (key, _), outcome in zip(records, outcomes, strict=True):
        if outcome.prediction is None:
            results[key] = {"ok": False, "error": outcome.error, "seconds": share}
            continue
        write_prediction(outcome.prediction, Path(out) / key)
        seconds = outcome.prediction.provenance.timings.get("total", share)
        results[key] = {"ok": True, "error": None, "seconds": float(seconds)}
    return results


def finish_item(payload: tuple[ItemSpec, Mapping[str, dict[str, Any]]], folder: Path) -> dict[str, Any]:
    """Refine and analyse one predicted structure; the engine's ``work`` for an item.

    Parameters
    ----------
    payload : (ItemSpec, predictions)
        ``predictions`` is :func:`predict_batch`'s result for the item's batch.
    folder : Path
        The item folder, which already holds the prediction.

    Returns
    -------
    dict
        The item's numbers for the summary table (see :func:`item_numbers`).
    """
    spec, predictions = payload
    predicted = predictions[spec.key]
    if not predicted["ok"]:
        raise ItemFailed(predicted["error"])
    model = read_structure(folder / "model.cif")
    confidence = json.loads((folder / "confidence.json").read_text())
    timings = {"predict_s": predicted["seconds"]}
    refinement = None
    final = model
    if spec.refine:
        started = time.perf_counter()
        refinement = _refine(model, spec.refine_options)
        final = refinement.structure
        atomic_write_bytes(folder / "relaxed.pdb", format_pdb(final).encode())
        atomic_write_bytes(folder / "refinement.json", json.dumps(refinement.to_dict(), default=str).encode())
        timings["refine_s"] = time.perf_counter() - started
    started = time.perf_counter()
    metrics = analyse(final) | {"rmsd_ca_refined": None if refinement is None else refinement.rmsd_ca}
    timings["analyze_s"] = time.perf_counter() - started
    atomic_write_bytes(folder / "metrics.json", json.dumps(metrics).encode())
    config = {"key": spec.key, "sequence": spec.sequence, "names": list(spec.names), "settings": spec.settings}
    atomic_write_bytes(folder / "config.json", (json.dumps(config, indent=2, default=str) + "\n").encode())
    return item_numbers(confidence, refinement, metrics) | timings


def _refine(model: Any, options: Mapping[str, Any]) -> Any:
    from workbench.refine import RefineConfig, refine

    options = dict(options)
    options.setdefault("threads", _worker_threads())
    try:
        return refine(model, RefineConfig(**options))
    except (ValueError, RuntimeError) as exc:
        raise ItemFailed(f"refinement failed: {exc}") from exc


def _worker_threads() -> int | None:
    """Threads of the Dask worker this runs in, so OpenMM never oversubscribes the cores."""
    try:
        from distributed import get_worker

        return get_worker().state.nthreads
    except (ImportError, ValueError):
        return None


def analyse(structure: Any) -> dict[str, Any]:
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


def item_numbers(confidence: Mapping[str, Any], refinement: Any, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The summary-table numbers of one finished item."""
    numbers: dict[str, Any] = {
        "mean_plddt": confidence.get("mean_plddt"),
        "ptm": confidence.get("ptm"),
        "max_pae": confidence.get("max_pae"),
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
