"""Importers for AlphaFold2-family results: ColabFold, AlphaFold2 / AlphaPulldown, AlphaFold DB, ESMFold.

All four write a PDB (AlphaFold DB also mmCIF) with pLDDT in the B-factor
column; what differs is the JSON beside it:

- ColabFold: ``{q}_unrelaxed_rank_001_{model_type}_model_1_seed_000.pdb`` with
  ``{q}_scores_rank_001_..._seed_000.json`` (``plddt``, ``pae``, ``max_pae``,
  ``ptm``, ``iptm``) and, for the top model, ``{q}_predicted_aligned_error_v1.json``.
  Older releases: ``{q}_unrelaxed_model_1.pdb`` with ``..._scores.json``.
- AlphaFold2 (and AlphaPulldown, which puts a job prefix before every name):
  ``ranked_{i}.pdb``, ``relaxed_{model}.pdb``, ``unrelaxed_{model}.pdb``,
  ``ranking_debug.json`` (``order``, ``plddts``, ``ptm`` or ``iptm+ptm``),
  ``confidence_{model}.json`` (``residueNumber``, ``confidenceScore``) and
  ``pae_{model}.json``. Result pickles are never read (unpickling runs code).
- AlphaFold DB: ``AF-{acc}-F{n}-model_v{v}.pdb|cif`` with
  ``AF-{acc}-F{n}-predicted_aligned_error_v{v}.json`` in the current
  ``[{"predicted_aligned_error": ..., "max_predicted_aligned_error": ...}]``
  form or the older ``[{"residue1": ..., "residue2": ..., "distance": ...}]``
  form, and ``AF-{acc}-F{n}-confidence_v{v}.json``.
- ESMFold (``esm-fold``) and any other model with pLDDT only in the B-factor
  column: read by the ``"bfactor"`` importer; some ESMFold versions write a
  0-1 scale, which is recognised and rescaled.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from workbench.errors import StructureFormatError
from workbench.predict._formats_common import (
    Plddt,
    ResultFiles,
    bfactor_plddt,
    build_prediction,
    cross_check,
    float_array,
    load_json,
    normalise_plddt,
    read_model,
    require,
    scalar,
)
from workbench.predict._formats_origin import local_plddt_per_residue
from workbench.predict.base import Prediction

_AFDB = re.compile(r"^(?P<q>AF-[A-Za-z0-9_]+-F\d+)-model_v(?P<v>\d+)\.(?:pdb|cif)(?:\.gz)?$")
_AF2 = re.compile(r"^(?P<p>.*?)(?:ranked_(?P<i>\d+)|(?P<kind>relaxed|unrelaxed)_(?P<m>model_.+))\.pdb$")
_COLABFOLD = re.compile(r"^(?P<q>.+?)_(?P<kind>unrelaxed|relaxed)_(?P<rest>.+)\.pdb$")
_RANK = re.compile(r"rank_(\d+)")
_MODEL = re.compile(r"model_\d+")
_STRUCTURE = re.compile(r"\.(?:pdb|cif|mmcif|ent)(?:\.gz)?$", re.IGNORECASE)


def stem(path: Path) -> str:
    """File name without its structure suffix (``.pdb``, ``.cif.gz``, ...)."""
    return _STRUCTURE.sub("", path.name)


# -- matching file names --------------------------------------------------------------


def match_afdb(path: Path, names: frozenset[str]) -> ResultFiles | None:
    """An AlphaFold DB entry file and its PAE / confidence JSON."""
    m = _AFDB.match(path.name)
    if m is None:
        return None
    q, v = m["q"], m["v"]
    companions = {}
    for role, name in (("pae", f"{q}-predicted_aligned_error_v{v}.json"), ("confidence", f"{q}-confidence_v{v}.json")):
        if name in names:
            companions[role] = path.parent / name
    return ResultFiles("afdb", path, q, model=f"v{v}", rank=0 if path.suffix != ".gz" else 1, companions=companions)


def match_alphafold2(path: Path, names: frozenset[str]) -> ResultFiles | None:
    """``ranked_*.pdb`` / ``(un)relaxed_model_*.pdb`` of AlphaFold2, with an optional job prefix."""
    m = _AF2.match(path.name)
    if m is None:
        return None
    prefix = m["p"]
    ranking = f"{prefix}ranking_debug.json"
    if prefix and ranking not in names:
        return None  # a prefixed name without ranking_debug.json is ColabFold's layout
    query = prefix.rstrip("_-.") or path.parent.name
    companions = {"ranking": path.parent / ranking} if ranking in names else {}
    if m["i"] is not None:
        rank, model = 3 * int(m["i"]), f"ranked_{m['i']}"
    else:
        rank, model = 1000 + (m["kind"] == "unrelaxed"), m["m"]
        for role, name in (("confidence", f"{prefix}confidence_{model}.json"), ("pae", f"{prefix}pae_{model}.json")):
            if name in names:
                companions[role] = path.parent / name
    return ResultFiles("alphafold2", path, query, model=model, rank=rank, companions=companions, prefix=prefix)


def match_colabfold(path: Path, names: frozenset[str]) -> ResultFiles | None:
    """ColabFold's ``{q}_(un)relaxed_...pdb`` with its scores JSON and PAE JSON."""
    m = _COLABFOLD.match(path.name)
    if m is None:
        return None
    q, kind, rest = m["q"], m["kind"], m["rest"]
    rank_match = _RANK.search(rest)
    model_match = _MODEL.search(rest)
    rank = int(rank_match.group(1)) if rank_match else 999
    companions = {}
    for name in (f"{q}_scores_{rest}.json", f"{q}_{kind}_{rest}_scores.json"):
        if name in names:
            companions["scores"] = path.parent / name
            break
    pae = f"{q}_predicted_aligned_error_v1.json"
    if pae in names and rank == 1:
        companions["pae"] = path.parent / pae
    label = model_match.group(0) if model_match else rest
    return ResultFiles("colabfold", path, q, model=label, rank=2 * rank + (kind == "unrelaxed"), companions=companions)


def match_bfactor(path: Path, names: frozenset[str]) -> ResultFiles | None:
    """Any PDB / mmCIF: pLDDT from the B-factor column only (ESMFold and unknown tools).

    A PDB that opens with OpenFold's ``PARENT N/A`` header, which ``esm-fold``
    and transformers' ``EsmForProteinFolding`` write, is labelled ``"esmfold"``.
    """
    if _STRUCTURE.search(path.name) is None:
        return None
    fmt = "bfactor"
    if path.suffix.lower() == ".pdb":
        try:
            with path.open("rb") as handle:
                head = handle.read(256).lstrip()
        except OSError:
            head = b""
        if head.startswith(b"PARENT N/A"):
            fmt = "esmfold"
    return ResultFiles(fmt, path, stem(path))


# -- reading confidence files ---------------------------------------------------------


def read_pae_json(path: Path) -> tuple[np.ndarray, float | None]:
    """PAE matrix and max PAE from an AlphaFold-style PAE JSON (current or old AFDB form, or ColabFold's).

    Returns
    -------
    pae : ndarray, shape=(n, n), dtype=float64
    max_pae : float or None
    """
    data = load_json(path)
    if isinstance(data, list):
        if len(data) != 1:
            raise StructureFormatError(f"expected a list holding one object, got {len(data)} entries", source=str(path))
        data = data[0]
    if not isinstance(data, dict):
        raise StructureFormatError(f"expected a JSON object, got {type(data).__name__}", source=str(path))
    max_pae = scalar(data.get("max_predicted_aligned_error", data.get("max_pae")), "max PAE", path)
    if "predicted_aligned_error" in data or "pae" in data:
        pae = float_array(data.get("predicted_aligned_error", data.get("pae")), "PAE", path, 2)
    elif {"residue1", "residue2", "distance"} <= data.keys():
        pae = _pae_from_pairs(data, path)
    else:
        raise StructureFormatError(
            "no 'predicted_aligned_error' (or residue1/residue2/distance) entry", source=str(path)
        )
    if pae.ndim == 2 and pae.shape[0] != pae.shape[1]:
        raise StructureFormatError(f"PAE matrix is not square: shape {pae.shape}", source=str(path))
    if max_pae is not None and pae.size and pae.max() > max_pae + 1e-3:
        raise StructureFormatError(
            f"PAE value {pae.max():.3g} above the stated maximum {max_pae:.3g}", source=str(path)
        )
    return pae, max_pae


def _pae_from_pairs(data: dict, path: Path) -> np.ndarray:
    """The old AlphaFold DB layout: flat 1-based ``residue1``, ``residue2`` and ``distance`` lists."""
    r1 = float_array(data["residue1"], "residue1", path, 1).astype(np.int64)
    r2 = float_array(data["residue2"], "residue2", path, 1).astype(np.int64)
    d = float_array(data["distance"], "distance", path, 1)
    if not r1.size == r2.size == d.size:
        raise StructureFormatError(
            f"residue1, residue2 and distance have {r1.size}, {r2.size} and {d.size} entries", source=str(path)
        )
    n = int(max(r1.max(initial=0), r2.max(initial=0)))
    if r1.size != n * n or min(r1.min(initial=1), r2.min(initial=1)) < 1:
        raise StructureFormatError(f"{r1.size} residue pairs do not cover a {n} x {n} matrix", source=str(path))
    pae = np.full((n, n), np.nan)
    pae[r1 - 1, r2 - 1] = d
    if np.isnan(pae).any():
        raise StructureFormatError("residue pairs repeat, leaving PAE entries unset", source=str(path))
    return pae


def read_confidence_json(path: Path) -> Plddt:
    """Per-residue pLDDT from AlphaFold's ``confidence_*.json`` (``residueNumber``, ``confidenceScore``)."""
    data = load_json(path)
    scores = float_array(require(data, "confidenceScore", path), "confidenceScore", path, 1)
    numbers = data.get("residueNumber")
    if numbers is not None and len(numbers) != scores.size:
        raise StructureFormatError(
            f"{len(numbers)} residue numbers for {scores.size} confidence scores", source=str(path)
        )
    return normalise_plddt(scores, path.name, path)


# -- loading ----------------------------------------------------------------------------


def load_af2_family(files: ResultFiles) -> Prediction:
    """Read a ColabFold, AlphaFold2, AlphaFold DB, ESMFold or B-factor-only result into a Prediction."""
    structure = read_model(files.structure)
    ptm = iptm = None
    pae = pae_path = None
    parameters: dict[str, object] = {}
    json_plddt: Plddt | None = None
    model = {"colabfold": "ColabFold", "alphafold2": "AlphaFold2", "afdb": "AlphaFold DB", "esmfold": "ESMFold"}
    label = model.get(files.format, "")

    if files.format == "alphafold2" and "ranking" in files.companions:
        ptm, iptm, parameters = _apply_ranking(files)
    if "scores" in files.companions:
        path = files.companions["scores"]
        data = load_json(path)
        json_plddt = normalise_plddt(float_array(require(data, "plddt", path), "plddt", path, 1), path.name, path)
        ptm = scalar(data.get("ptm"), "ptm", path)
        iptm = scalar(data.get("iptm"), "iptm", path)
        if data.get("pae") is not None:
            pae, pae_path = float_array(data["pae"], "PAE", path, 2), path
        max_pae = scalar(data.get("max_pae"), "max_pae", path)
        if max_pae is not None:
            parameters["max_pae"] = max_pae
    if "confidence" in files.companions and json_plddt is None:
        json_plddt = read_confidence_json(files.companions["confidence"])
    if "pae" in files.companions and pae is None:
        pae_path = files.companions["pae"]
        pae, max_pae = read_pae_json(pae_path)
        if max_pae is not None:
            parameters["max_pae"] = max_pae

    if json_plddt is None and files.origin is not None:  # a ModelCIF file declares its pLDDT per residue
        local = local_plddt_per_residue(structure, files.origin)
        if local is not None:
            json_plddt = normalise_plddt(local, "_ma_qa_metric_local", files.structure)
    b_plddt = bfactor_plddt(structure, files.structure, required=json_plddt is None)
    if (json_plddt is not None and b_plddt is not None and json_plddt.values.shape == b_plddt.values.shape
            and json_plddt.source != "_ma_qa_metric_local"):  # per-residue means need not equal the CA's value
        cross_check(json_plddt, b_plddt, files.structure)
    plddt = json_plddt if json_plddt is not None else b_plddt
    assert plddt is not None  # bfactor_plddt(required=True) never returns None
    if "ranking_plddt" in parameters and plddt.values.size:
        expected = float(parameters["ranking_plddt"])  # type: ignore[arg-type]
        if abs(plddt.values.mean() - expected) > 1.0:
            raise StructureFormatError(
                f"mean pLDDT {plddt.values.mean():.2f} differs from ranking_debug.json ({expected:.2f}) "
                f"for {files.model}",
                source=str(files.structure),
            )
    return build_prediction(
        files, structure, plddt, ptm=ptm, iptm=iptm, pae=pae, model=label, parameters=parameters, pae_path=pae_path
    )


def _apply_ranking(files: ResultFiles) -> tuple[float | None, float | None, dict]:
    """Resolve ``ranked_i`` to its model through ``ranking_debug.json``; pTM / ipTM and companions from it."""
    path = files.companions["ranking"]
    data = load_json(path)
    order = require(data, "order", path)
    if not isinstance(order, list):
        raise StructureFormatError("'order' is not a list", source=str(path))
    model = files.model
    if model.startswith("ranked_"):
        index = int(model.split("_")[1])
        if index >= len(order):
            raise StructureFormatError(f"{model} but only {len(order)} models in 'order'", source=str(path))
        model = str(order[index])
        files.model = model
    prefix = files.prefix
    folder = files.structure.parent
    for role, name in (("confidence", f"{prefix}confidence_{model}.json"), ("pae", f"{prefix}pae_{model}.json")):
        if (folder / name).is_file():
            files.companions[role] = folder / name

    def entry(key: str) -> float | None:
        table = data.get(key)
        if not isinstance(table, dict) or model not in table:
            return None
        return scalar(table[model], f"{key}[{model}]", path)

    ptm, iptm, combined = entry("ptm"), entry("iptm"), entry("iptm+ptm")
    if iptm is None and combined is not None and ptm is not None:
        iptm = min(1.0, max(0.0, (combined - 0.2 * ptm) / 0.8))  # AlphaFold-Multimer ranks on 0.8 ipTM + 0.2 pTM
    parameters: dict[str, object] = {"ranking_model": model}
    plddts = entry("plddts")
    if plddts is not None:
        parameters["ranking_plddt"] = plddts
    if combined is not None:
        parameters["iptm+ptm"] = combined
    return ptm, iptm, parameters
