"""The workbench's own item folders read back as the predictions they were written from.

An item folder (``workbench predict`` / ``run`` / ``import`` output, written by
:meth:`workbench.results.ItemFolder.write_prediction`) holds ``model.cif`` (and
``model.pdb`` when the chain ids fit), ``confidence.json`` (``kind``, ``plddt``
or null, ``residue_error``, ``ptm``, ``iptm``, ``pae``) and
``provenance.json``. Confidence comes from ``confidence.json`` only, never
from the model's B-factors, so a model with no pLDDT stays without one; the
provenance (its method, model, parameters, sources) is kept as written.
Other structure files in the folder (``relaxed.pdb``, ``model.pdb`` beside
``model.cif``) are not separate results.

:mod:`workbench.results` owns the folder's file names; it is imported inside
the functions, as :func:`workbench.predict.imported.import_to_folder` does,
since the results layer sits above the predictors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import StructureFormatError
from workbench.predict._formats_common import ResultFiles, float_array, load_json, read_model, scalar
from workbench.predict.base import Prediction, Provenance


def _names() -> tuple[str, str, str, str]:
    from workbench.results import CONFIDENCE, MODEL_CIF, MODEL_PDB, PROVENANCE

    return MODEL_CIF, MODEL_PDB, CONFIDENCE, PROVENANCE


def is_item_folder(names: frozenset[str]) -> bool:
    """Whether a folder listing is a workbench item folder (a model and ``confidence.json``)."""
    model_cif, model_pdb, confidence, _ = _names()
    return confidence in names and (model_cif in names or model_pdb in names)


def match_workbench(path: Path, names: frozenset[str]) -> ResultFiles | None:
    """The model of a workbench item folder, with its confidence and provenance files.

    Returns None for any other file of the folder: the caller skips it.
    """
    model_cif, model_pdb, confidence, provenance = _names()
    if path.name != (model_cif if model_cif in names else model_pdb):
        return None
    companions = {"confidence": path.parent / confidence}
    if provenance in names:
        companions["provenance"] = path.parent / provenance
    query = path.parent.name
    if provenance in names:
        try:
            written = load_json(path.parent / provenance)
        except StructureFormatError:
            written = None  # the loader reports the malformed file
        if isinstance(written, dict) and isinstance(written.get("name"), str) and written["name"]:
            query = written["name"]
    return ResultFiles("workbench", path, query, companions=companions)


def _provenance(data: Any, path: Path | None) -> Provenance:
    if data is None:
        return Provenance(method="workbench")
    if not isinstance(data, dict) or not isinstance(data.get("method"), str):
        raise StructureFormatError("expected a JSON object with a 'method'", source=str(path))
    return Provenance(
        method=data["method"],
        model=str(data.get("model") or ""),
        weights_hash=data.get("weights_hash"),
        parameters=dict(data.get("parameters") or {}),
        device=data.get("device"),
        timings={str(k): float(v) for k, v in (data.get("timings") or {}).items()},
        sources=tuple(str(s) for s in data.get("sources") or ()),
    )


def load_workbench(files: ResultFiles) -> Prediction:
    """Read a workbench item folder back into the Prediction it was written from.

    Raises
    ------
    StructureFormatError
        A malformed ``confidence.json`` / ``provenance.json``, a ``kind`` that
        its values contradict, or values that do not fit the model.
    """
    structure = read_model(files.structure)
    path = files.companions["confidence"]
    data = load_json(path)
    if not isinstance(data, dict):
        raise StructureFormatError(f"expected a JSON object, got {type(data).__name__}", source=str(path))

    def array(name: str, ndim: int) -> np.ndarray | None:
        value = data.get(name)
        return None if value is None else float_array(value, name, path, ndim)

    plddt, error, pae = array("plddt", 1), array("residue_error", 1), array("pae", 2)
    kind = data.get("kind") or ("plddt" if plddt is not None else "none")  # files from before confidence had a kind
    expected = {"plddt": plddt is not None, "error_angstrom": plddt is None and error is not None,
                "none": plddt is None and error is None}  # fmt: skip
    if kind not in expected or not expected[kind]:
        raise StructureFormatError(f"confidence kind {kind!r} does not fit the values in the file", source=str(path))
    provenance_path = files.companions.get("provenance")
    provenance = _provenance(load_json(provenance_path) if provenance_path else None, provenance_path)
    try:
        return Prediction(
            structure=structure,
            plddt=plddt,
            ptm=scalar(data.get("ptm"), "ptm", path),
            pae=pae,
            provenance=provenance,
            iptm=scalar(data.get("iptm"), "iptm", path),
            name=files.query,
            residue_error=error,
        )
    except ValueError as exc:
        raise StructureFormatError(str(exc), source=str(path)) from None
