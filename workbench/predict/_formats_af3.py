"""Importers for AlphaFold3-style results: AlphaFold3, Boltz, Chai-1, Protenix.

These models work on tokens (one per standard residue, one per atom of a
ligand or modified residue) and write mmCIF:

- AlphaFold3: ``{q}_model.cif`` with ``{q}_summary_confidences.json`` (``ptm``,
  ``iptm``, ``ranking_score``, ...) and ``{q}_confidences.json`` (local runs) or
  ``{q}_full_data_{k}.json`` (AlphaFold Server, ``fold_{q}_model_{k}.cif``)
  holding ``atom_plddts`` (per atom, 0-100), ``pae`` (tokens x tokens),
  ``token_chain_ids`` and ``token_res_ids``. Sample folders
  ``seed-{s}_sample-{k}/model.cif`` with ``summary_confidences.json`` and
  ``confidences.json`` are read too.
- Boltz: ``{q}_model_{k}.cif`` (or ``.pdb``) with ``confidence_{q}_model_{k}.json``
  (``confidence_score``, ``ptm``, ``iptm``, ``complex_plddt``, ...),
  ``plddt_{q}_model_{k}.npz`` (``plddt`` per token, 0-1) and
  ``pae_{q}_model_{k}.npz`` (``pae``).
- Chai-1: ``pred.model_idx_{k}.cif`` with ``scores.model_idx_{k}.npz``
  (``aggregate_score``, ``ptm``, ``iptm``, ``per_chain_ptm``, ...); pLDDT only in
  the B-factor column, on 0-1 or 0-100 depending on the version.
- Protenix: ``{q}_sample_{k}.cif`` (``{q}_seed_{s}_sample_{k}.cif`` in older
  releases) with ``{q}_summary_confidence_sample_{k}.json`` (``plddt`` mean,
  ``ptm``, ``iptm``, ``ranking_score``, ...) and, when atom confidences were
  asked for, ``{q}_full_data_sample_{k}.json`` (``atom_plddt``, ``token_pair_pae``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import StructureFormatError
from workbench.predict._formats_common import (
    Plddt,
    ResultFiles,
    atom_values_per_residue,
    bfactor_plddt,
    build_prediction,
    cross_check,
    float_array,
    load_json,
    load_npz,
    normalise_plddt,
    per_residue_from_tokens,
    read_model,
    require,
    residue_tokens_from_ids,
    scalar,
)
from workbench.predict.base import Prediction
from workbench.structure import Structure

_AF3 = re.compile(r"^(?P<q>.+?)_model(?:_(?P<k>\d+))?\.cif$")
_AF3_SAMPLE = re.compile(r"^(?P<q>.*?)_?(?P<s>seed-\d+_sample-\d+)$")
_BOLTZ = re.compile(r"^(?P<q>.+)_model_(?P<k>\d+)\.(?:cif|pdb)$")
_CHAI = re.compile(r"^pred\.model_idx_(?P<k>\d+)\.(?:cif|pdb)$")
_PROTENIX = re.compile(r"^(?P<q>.+?)(?P<seed>_seed_\d+)?_sample_(?P<k>\d+)\.cif$")

#: Summary entries kept in provenance when a file has them.
_SUMMARY_KEYS = (
    "ranking_score", "confidence_score", "aggregate_score", "fraction_disordered", "has_clash", "disorder",
    "complex_plddt", "complex_iplddt", "complex_pde", "complex_ipde", "gpde", "chain_ptm", "chain_iptm",
    "chain_pair_iptm", "per_chain_ptm", "per_chain_pair_iptm", "has_inter_chain_clashes", "num_recycles",
)  # fmt: skip


# -- matching file names --------------------------------------------------------------


def match_alphafold3(path: Path, names: frozenset[str]) -> ResultFiles | None:
    """An AlphaFold3 model (local or AlphaFold Server names, or a sample folder's ``model.cif``)."""
    if path.name == "model.cif" and "summary_confidences.json" in names:
        companions = {"summary": path.parent / "summary_confidences.json"}
        if "confidences.json" in names:
            companions["full"] = path.parent / "confidences.json"
        return ResultFiles("alphafold3", path, path.parent.parent.name, model=path.parent.name, rank=1000,
                           companions=companions)  # fmt: skip
    m = _AF3.match(path.name)
    if m is None:
        return None
    q, k = m["q"], m["k"]
    suffix = f"_{k}" if k is not None else ""
    summary = f"{q}_summary_confidences{suffix}.json"
    if summary not in names:
        return None
    companions = {"summary": path.parent / summary}
    for name in (f"{q}_full_data{suffix}.json", f"{q}_confidences{suffix}.json"):
        if name in names:
            companions["full"] = path.parent / name
            break
    rank, model = (int(k), f"model_{k}") if k is not None else (0, "top")
    sample = _AF3_SAMPLE.match(q)
    if sample is not None:  # {q}_seed-1_sample-0_model.cif inside a sample folder
        q = sample["q"] or path.parent.parent.name
        rank, model = 1000, sample["s"]
    return ResultFiles("alphafold3", path, q, model=model, rank=rank, companions=companions)


def match_boltz(path: Path, names: frozenset[str]) -> ResultFiles | None:
    """A Boltz model with its confidence JSON and pLDDT / PAE npz files."""
    m = _BOLTZ.match(path.name)
    if m is None:
        return None
    q, k = m["q"], m["k"]
    base = f"{q}_model_{k}"
    companions = {}
    for role, name in (("summary", f"confidence_{base}.json"), ("plddt", f"plddt_{base}.npz"),
                       ("pae", f"pae_{base}.npz")):  # fmt: skip
        if name in names:
            companions[role] = path.parent / name
    if "summary" not in companions and "plddt" not in companions:
        return None
    return ResultFiles("boltz", path, q, model=f"model_{k}", rank=int(k), companions=companions)


def match_chai1(path: Path, names: frozenset[str]) -> ResultFiles | None:
    """A Chai-1 ``pred.model_idx_k.cif`` with its ``scores.model_idx_k.npz``; ranked by aggregate score."""
    m = _CHAI.match(path.name)
    if m is None:
        return None
    k = m["k"]
    companions = {}
    scores = f"scores.model_idx_{k}.npz"
    if scores in names:
        companions["scores"] = path.parent / scores
    files = ResultFiles("chai1", path, path.parent.name, model=f"model_idx_{k}", rank=int(k), companions=companions)
    if "scores" in companions:
        files.score = _quiet_score(lambda: load_npz(companions["scores"]).get("aggregate_score"))
    return files


def match_protenix(path: Path, names: frozenset[str]) -> ResultFiles | None:
    """A Protenix sample with its summary (and optional full-data) confidence JSON; ranked by ranking score."""
    m = _PROTENIX.match(path.name)
    if m is None:
        return None
    q, seed, k = m["q"], m["seed"] or "", m["k"]
    summary = f"{q}{seed}_summary_confidence_sample_{k}.json"
    if summary not in names:
        return None
    companions = {"summary": path.parent / summary}
    full = f"{q}{seed}_full_data_sample_{k}.json"
    if full in names:
        companions["full"] = path.parent / full
    files = ResultFiles("protenix", path, q, model=f"{seed.lstrip('_')}_sample_{k}".lstrip("_"), rank=int(k),
                        companions=companions)  # fmt: skip
    files.score = _quiet_score(lambda: load_json(companions["summary"]).get("ranking_score"))
    return files


def _quiet_score(read: Any) -> float | None:
    """A ranking score for choosing the best model, or None when it cannot be read (the loader reports why)."""
    try:
        value = np.asarray(read(), dtype=float).reshape(-1)
    except (StructureFormatError, TypeError, ValueError, AttributeError):
        return None
    return float(value[0]) if value.size == 1 and np.isfinite(value[0]) else None


# -- loading ----------------------------------------------------------------------------


def _summary_parameters(data: dict, path: Path) -> dict[str, Any]:
    """Numeric entries of a summary worth keeping in provenance (others, such as nulls, are left out)."""
    kept: dict[str, Any] = {}
    for key in _SUMMARY_KEYS:
        if key in data and data[key] is not None:
            try:
                value = np.asarray(data[key])
            except ValueError:  # ragged lists
                continue
            if value.dtype.kind in "biuf":
                kept[key] = value.item() if value.size == 1 else value.tolist()
    return kept


def _summary(files: ResultFiles) -> tuple[float | None, float | None, dict[str, Any]]:
    """pTM, ipTM and provenance entries from the summary JSON, when the result has one."""
    path = files.companions.get("summary")
    if path is None:
        return None, None, {}
    summary = load_json(path)
    if not isinstance(summary, dict):
        raise StructureFormatError(f"expected a JSON object, got {type(summary).__name__}", source=str(path))
    parameters = _summary_parameters(summary, path)
    return scalar(summary.get("ptm"), "ptm", path), scalar(summary.get("iptm"), "iptm", path), parameters


def load_alphafold3(files: ResultFiles) -> Prediction:
    """An AlphaFold3 result: pLDDT per atom and PAE per token from the full-data JSON."""
    structure = read_model(files.structure)
    ptm, iptm, parameters = _summary(files)
    plddt: Plddt | None = None
    pae = None
    if "full" in files.companions:
        path = files.companions["full"]
        full = load_json(path)
        atom = atom_values_per_residue(structure, require(full, "atom_plddts", path), "atom_plddts", path)
        plddt = normalise_plddt(atom, path.name, path)
        if full.get("pae") is not None:
            tokens = None
            if full.get("token_chain_ids") is not None and full.get("token_res_ids") is not None:
                tokens = residue_tokens_from_ids(structure, full["token_chain_ids"], full["token_res_ids"], path)
            pae = per_residue_from_tokens(float_array(full["pae"], "PAE", path, 2), structure, path, "PAE", tokens)
    return _finish(files, structure, plddt, ptm, iptm, pae, "AlphaFold3", parameters)


def load_boltz(files: ResultFiles) -> Prediction:
    """A Boltz result: pLDDT (0-1) and PAE per token from npz, scores from the confidence JSON."""
    structure = read_model(files.structure)
    ptm, iptm, parameters = _summary(files)
    plddt = pae = None
    if "plddt" in files.companions:
        path = files.companions["plddt"]
        values = float_array(require(load_npz(path), "plddt", path), "plddt", path, 1)
        plddt = normalise_plddt(per_residue_from_tokens(values, structure, path, "pLDDT"), path.name, path)
    if "pae" in files.companions:
        path = files.companions["pae"]
        matrix = float_array(require(load_npz(path), "pae", path), "PAE", path, 2)
        pae = per_residue_from_tokens(matrix, structure, path, "PAE")
    return _finish(files, structure, plddt, ptm, iptm, pae, "Boltz", parameters)


def load_chai1(files: ResultFiles) -> Prediction:
    """A Chai-1 result: pLDDT from the B-factor column, scores from the npz."""
    structure = read_model(files.structure)
    ptm = iptm = None
    parameters: dict[str, Any] = {}
    if "scores" in files.companions:
        path = files.companions["scores"]
        scores = load_npz(path)
        ptm = scalar(scores.get("ptm"), "ptm", path)
        iptm = scalar(scores.get("iptm"), "iptm", path)
        parameters = _summary_parameters(scores, path)
    return _finish(files, structure, None, ptm, iptm, None, "Chai-1", parameters)


def load_protenix(files: ResultFiles) -> Prediction:
    """A Protenix result: scores from the summary JSON, atom pLDDT and PAE from the full data when present."""
    structure = read_model(files.structure)
    ptm, iptm, parameters = _summary(files)
    if "summary" in files.companions:
        path = files.companions["summary"]
        mean = load_json(path).get("plddt")
        if isinstance(mean, int | float):
            parameters["summary_plddt"] = float(mean)
    plddt = pae = None
    if "full" in files.companions:
        full_path = files.companions["full"]
        full = load_json(full_path)
        key = "atom_plddt" if isinstance(full, dict) and "atom_plddt" in full else "atom_plddts"
        atom = atom_values_per_residue(structure, require(full, key, full_path), key, full_path)
        plddt = normalise_plddt(atom, full_path.name, full_path)
        matrix = full.get("token_pair_pae", full.get("pae"))
        if matrix is not None:
            pae = per_residue_from_tokens(float_array(matrix, "PAE", full_path, 2), structure, full_path, "PAE")
    return _finish(files, structure, plddt, ptm, iptm, pae, "Protenix", parameters)


def _finish(
    files: ResultFiles,
    structure: Structure,
    plddt: Plddt | None,
    ptm: float | None,
    iptm: float | None,
    pae: np.ndarray | None,
    label: str,
    parameters: dict[str, Any],
) -> Prediction:
    """Cross-check file pLDDT against the B-factors (or fall back to them) and build the Prediction."""
    b_plddt = bfactor_plddt(structure, files.structure, required=plddt is None)
    if plddt is not None and b_plddt is not None and b_plddt.values.shape == plddt.values.shape:
        cross_check(plddt, b_plddt, files.structure)
    chosen = plddt if plddt is not None else b_plddt
    assert chosen is not None  # bfactor_plddt(required=True) never returns None
    return build_prediction(files, structure, chosen, ptm=ptm, iptm=iptm, pae=pae, model=label, parameters=parameters)
