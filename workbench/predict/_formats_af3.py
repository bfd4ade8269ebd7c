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

A model file of any of the four found without its confidence files (recognised
by its name or by its mmCIF records, see
:mod:`workbench.predict._formats_origin`) is imported with the pLDDT that the
mmCIF holds, from ``_ma_qa_metric_local`` when present (AlphaFold3's is the
mean over each residue's atoms), else from the B-factor column (all four write
pLDDT there; Protenix only when atom confidences were asked for, zero
otherwise, which leaves the model with no pLDDT), and a
:class:`~workbench.predict._formats_common.ConfidenceWarning` names each
missing file and the values lost with it.
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
    warn_confidence,
)
from workbench.predict._formats_origin import PREDICTOR_LABELS, local_plddt_per_residue, read_origin
from workbench.predict.base import Prediction
from workbench.structure import Structure

_AF3 = re.compile(r"^(?P<q>.+?)_model(?:_(?P<k>\d+))?\.cif$")
_AF3_SAMPLE = re.compile(r"^(?P<q>.*?)_?(?P<s>seed-\d+_sample-\d+)$")
_BOLTZ = re.compile(r"^(?P<q>.+)_model_(?P<k>\d+)\.(?:cif|pdb)$")
_CHAI = re.compile(r"^pred\.model_idx_(?P<k>\d+)\.(?:cif|pdb)$")
_PROTENIX = re.compile(r"^(?P<q>.+?)(?P<seed>_seed_\d+)?_sample_(?P<k>\d+)\.cif$")
_SOURCES = {"b_factor": "the B-factor column"}
_STEM = re.compile(r"\.(?:pdb|cif|mmcif|ent)(?:\.gz)?$", re.IGNORECASE)

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


def match_lone_model(path: Path, predictor: str) -> ResultFiles:
    """A model recognised by its mmCIF records whose confidence files are missing: named as its tool names it."""
    name = path.name
    if predictor == "alphafold3":
        m = _AF3.match(name)
        if name == "model.cif":
            return ResultFiles("alphafold3", path, path.parent.parent.name, model=path.parent.name, rank=1000)
        if m is not None:
            k = m["k"]
            return ResultFiles("alphafold3", path, m["q"], model=f"model_{k}" if k is not None else "top",
                               rank=int(k) if k is not None else 0)  # fmt: skip
    elif predictor == "boltz" and (m := _BOLTZ.match(name)) is not None:
        return ResultFiles("boltz", path, m["q"], model=f"model_{m['k']}", rank=int(m["k"]))
    elif predictor == "chai1" and (m := _CHAI.match(name)) is not None:
        return ResultFiles("chai1", path, path.parent.name, model=f"model_idx_{m['k']}", rank=int(m["k"]))
    elif predictor == "protenix" and (m := _PROTENIX.match(name)) is not None:
        seed = m["seed"] or ""
        return ResultFiles("protenix", path, m["q"], model=f"{seed.lstrip('_')}_sample_{m['k']}".lstrip("_"),
                           rank=int(m["k"]))  # fmt: skip
    return ResultFiles(predictor, path, _STEM.sub("", name))


def expected_companions(files: ResultFiles) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """The confidence files a model of its format comes with.

    Returns
    -------
    list of (role, description, file name, values)
        ``role`` is the key in ``files.companions``; ``values`` what the file
        alone carries (pLDDT is also in the mmCIF, so it is not listed).
    """
    name, fmt = files.structure.name, files.format
    if fmt == "alphafold3":
        if name == "model.cif":
            q, suffix, full = "", "", "confidences"
        elif (m := _AF3.match(name)) is not None:
            q, suffix = f"{m['q']}_", f"_{m['k']}" if m["k"] is not None else ""
            full = "full_data" if m["k"] is not None else "confidences"
        else:
            q, suffix, full = f"{_STEM.sub('', name)}_", "", "full_data"
        return [("summary", "summary_confidences JSON", f"{q}summary_confidences{suffix}.json", ("pTM", "ipTM")),
                ("full", f"{full} JSON", f"{q}{full}{suffix}.json", ("PAE",))]  # fmt: skip
    if fmt == "boltz":
        m = _BOLTZ.match(name)
        base = f"{m['q']}_model_{m['k']}" if m else _STEM.sub("", name)
        return [("summary", "confidence JSON", f"confidence_{base}.json", ("pTM", "ipTM")),
                ("pae", "pae npz", f"pae_{base}.npz", ("PAE",))]  # fmt: skip
    if fmt == "chai1":
        m = _CHAI.match(name)
        return [("scores", "scores npz", f"scores.model_idx_{m['k'] if m else 0}.npz", ("pTM", "ipTM"))]
    if fmt == "protenix":
        m = _PROTENIX.match(name)
        stem = f"{m['q']}{m['seed'] or ''}" if m else _STEM.sub("", name)
        k = m["k"] if m else "0"
        return [("summary", "summary_confidence JSON", f"{stem}_summary_confidence_sample_{k}.json", ("pTM", "ipTM")),
                ("full", "full_data JSON", f"{stem}_full_data_sample_{k}.json", ("PAE",))]  # fmt: skip
    return []


def _words(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _files_phrase(descriptions: list[str]) -> str:
    """``summary_confidences / full_data JSON``: a shared last word said once."""
    last = {d.rsplit(" ", 1)[-1] for d in descriptions}
    if len(last) == 1 and all(" " in d for d in descriptions):
        return f"{' / '.join(d.rsplit(' ', 1)[0] for d in descriptions)} {last.pop()}"
    return " / ".join(descriptions)


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
        values = float_array(require(load_npz(path, max_axis=structure.n_atoms), "plddt", path), "plddt", path, 1)
        plddt = normalise_plddt(per_residue_from_tokens(values, structure, path, "pLDDT"), path.name, path)
    if "pae" in files.companions:
        path = files.companions["pae"]
        matrix = float_array(require(load_npz(path, max_axis=structure.n_atoms), "pae", path), "PAE", path, 2)
        pae = per_residue_from_tokens(matrix, structure, path, "PAE")
    return _finish(files, structure, plddt, ptm, iptm, pae, "Boltz", parameters)


def load_chai1(files: ResultFiles) -> Prediction:
    """A Chai-1 result: pLDDT from the B-factor column, scores from the npz."""
    structure = read_model(files.structure)
    ptm = iptm = None
    parameters: dict[str, Any] = {}
    if "scores" in files.companions:
        path = files.companions["scores"]
        scores = load_npz(path, max_axis=structure.n_atoms)
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
    """Cross-check file pLDDT with the B-factors (or take the mmCIF's), warn of missing files, build the Prediction."""
    if plddt is not None:
        b_plddt = bfactor_plddt(structure, files.structure, required=False)
        if b_plddt is not None and b_plddt.values.shape == plddt.values.shape:
            cross_check(plddt, b_plddt, files.structure)
    else:
        plddt = mmcif_plddt(files, structure)
    missing = [entry for entry in expected_companions(files) if entry[0] not in files.companions]
    if missing:
        lost = [value for entry in missing for value in entry[3]] + (["pLDDT"] if plddt is None else [])
        source = "" if plddt is None else f"; pLDDT from {_SOURCES.get(plddt.source, plddt.source)}"
        names = ", ".join(entry[2] for entry in missing)
        warn_confidence(
            f"{files.structure.name}: {label} model without its {_files_phrase([e[1] for e in missing])} "
            f"({names}): {_words(list(dict.fromkeys(lost)))} {'is' if len(set(lost)) == 1 else 'are'} missing{source}"
        )
        parameters = dict(parameters, missing_confidence_files=[entry[2] for entry in missing])
    return build_prediction(files, structure, plddt, ptm=ptm, iptm=iptm, pae=pae, model=label, parameters=parameters)


def mmcif_plddt(files: ResultFiles, structure: Structure) -> Plddt | None:
    """The model file's own pLDDT: ``_ma_qa_metric_local``, else the B-factor column.

    ``_ma_qa_metric_local`` is taken when it covers every polymer residue; the
    result is None when the B-factors are all zero (no confidence written).
    """
    origin = files.origin if files.origin is not None else read_origin(files.structure)
    local = local_plddt_per_residue(structure, origin)
    if local is not None:
        return normalise_plddt(local, "_ma_qa_metric_local", files.structure)
    return bfactor_plddt(structure, files.structure, required=False)


def predictor_label(predictor: str) -> str:
    """``"AlphaFold3"`` for ``"alphafold3"``."""
    return PREDICTOR_LABELS.get(predictor, predictor)
