"""ModelCIF quality records of a prediction (pLDDT, pTM, ipTM, PAE) and AlphaFold DB's PAE JSON.

:func:`~workbench.io.format_mmcif` takes a :class:`ModelConfidence` and writes,
into the same mmCIF block as the coordinates, the ModelCIF categories that
AlphaFold DB files carry: ``_ma_qa_metric`` (one row per metric: name, type,
mode, software group), ``_ma_qa_metric_global`` (mean pLDDT, pTM, ipTM),
``_ma_qa_metric_local`` (pLDDT per residue) and, when there is a PAE,
``_ma_qa_metric_local_pairwise`` (type ``PAE``, as ModelArchive files hold it),
with the ``_software``, ``_ma_software_group``, ``_ma_data``,
``_ma_target_entity(_instance)``, ``_ma_protocol_step`` and ``_ma_model_list``
records they refer to and ``_audit_conform`` naming the ModelCIF dictionary.
Mol* colours a model by pLDDT from ``_ma_qa_metric_local`` (its
``QualityAssessment`` property) and shows its PAE from
``_ma_qa_metric_local_pairwise``; both find residues by ``label_asym_id`` and
``label_seq_id``, which the standard writer sets.

Metric names, types and modes are those of AlphaFold DB files and of the
ModelCIF dictionary's ``_ma_qa_metric.type`` enumeration (``pLDDT``, ``pTM``,
``ipTM``, ``PAE``). A model without a real pLDDT (a template variant, whose
per-residue numbers are a heuristic) gets no pLDDT metric at all.

Why gemmi and not python-modelcif (``modelcif`` on PyPI, version 1.8, with
``ihm``): python-modelcif writes a whole ModelCIF file from its own object
model, ``_atom_site`` included, so it would be a second structure writer
beside gemmi's, with its own treatment of author numbering, insertion codes,
hetero groups, unobserved residues and blank chain ids, which
:func:`~workbench.io.read_structure` round trips through gemmi today; it
would also add two dependencies to the core for a dozen small tables.
Measured with ``benchmarks/modelcif_writers.py`` on AF-Q5VSL9 (AlphaFold DB,
837 residues, 6,718 atoms; one slow, shared core; two runs): with the pLDDT
records gemmi writes the file in 0.05-0.07 s, python-modelcif 1.8 fed the same
atoms and metrics in 0.33-0.39 s; with the PAE table too (700,569 pairs,
26 MB) 2.8-5.1 s against 12.9-16.6 s. The quality categories
are plain loops keyed by label identifiers, which gemmi's CIF document writes
directly after its own mmCIF output; the tests check the result with the
readers that matter (gemmi's DDL2 validator with the ModelCIF dictionary, Mol*).
A PAE of a large model makes a large mmCIF: the PAE JSON
(:func:`format_pae_json`) is the compact place for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import gemmi
import numpy as np

if TYPE_CHECKING:
    from workbench.io.structure_writer import ResidueLabels
    from workbench.structure import Structure

#: ``_ma_model_list.model_type`` values allowed by the ModelCIF dictionary.
MODEL_TYPES = ("Ab initio model", "Homology model", "Integrative model", "Other")
#: The ModelCIF dictionary the records follow (``_audit_conform``).
MODELCIF_DICT = ("mmcif_ma.dic", "1.4.5")


@dataclass(frozen=True, eq=False)
class ModelConfidence:
    """What a prediction says about its own accuracy, for the ModelCIF records of its mmCIF.

    Parameters
    ----------
    method : str
        How the model was made, for people (``"ESMFold"``, ``"template variant
        modelling"``); ``_ma_model_list.model_group_name`` and
        ``_ma_protocol_step.details``.
    software_name : str
        The program that made the model and its metrics (``"ESMFold"``,
        ``"protein-workbench"``); ``_software.name``.
    software_version : str
        Its version (``"facebook/esmfold_v1"``); ``?`` in the file when empty.
    plddt : ndarray, shape=(n_residues,), dtype=float, optional
        pLDDT (0-100) of each polymer residue of the structure
        (``Structure.polymer``), in order. None when the method gives no
        pLDDT: then the file has no pLDDT metric at all.
    ptm, iptm : float, optional
        Predicted TM-score and interface pTM, 0-1.
    pae : ndarray, shape=(n_residues, n_residues), dtype=float, optional
        Predicted aligned error in Å between polymer residues; ``pae[i, j]`` is
        the error at residue j when aligned on residue i.
    model_type : str
        ``_ma_model_list.model_type``: one of :data:`MODEL_TYPES`
        (``"Homology model"`` for a model built on a template).

    Raises
    ------
    ValueError
        If a value is out of its range or an array has the wrong shape.
    """

    method: str
    software_name: str
    software_version: str = ""
    plddt: np.ndarray | None = None
    ptm: float | None = None
    iptm: float | None = None
    pae: np.ndarray | None = None
    model_type: str = "Ab initio model"

    def __post_init__(self) -> None:
        if not self.method.strip() or not self.software_name.strip():
            raise ValueError("method and software_name must not be empty")
        if self.model_type not in MODEL_TYPES:
            raise ValueError(f"model_type must be one of {MODEL_TYPES}, not {self.model_type!r}")
        if self.plddt is not None:
            plddt = np.array(self.plddt, dtype=np.float64)
            if plddt.ndim != 1:
                raise ValueError(f"pLDDT must have shape (n_residues,), got {plddt.shape}")
            if plddt.size and (not np.isfinite(plddt).all() or plddt.min() < 0 or plddt.max() > 100):
                raise ValueError(f"pLDDT must lie in 0-100, got {plddt.min():.3g}..{plddt.max():.3g}")
            plddt.setflags(write=False)
            object.__setattr__(self, "plddt", plddt)
        if self.pae is not None:
            pae = check_pae(self.pae)
            if self.plddt is not None and pae.shape[0] != len(self.plddt):
                raise ValueError(f"PAE has shape {pae.shape} for {len(self.plddt)} pLDDT values")
            object.__setattr__(self, "pae", pae)
        for name in ("ptm", "iptm"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must lie in 0-1, got {value}")


def check_pae(pae: np.ndarray) -> np.ndarray:
    """A read-only float64 copy of a PAE matrix, or ValueError.

    Parameters
    ----------
    pae : array_like, shape=(n, n)
        Predicted aligned error in Å, finite and not negative.

    Returns
    -------
    ndarray, shape=(n, n), dtype=float64
    """
    matrix = np.array(pae, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"PAE must be a square matrix, got shape {matrix.shape}")
    if matrix.size and (not np.isfinite(matrix).all() or matrix.min() < 0):
        raise ValueError("PAE values must be finite and not negative")
    matrix.setflags(write=False)
    return matrix


def format_pae_json(pae: np.ndarray, *, max_pae: float | None = None) -> str:
    """PAE as AlphaFold DB's JSON (v3 onwards, and AlphaFold 2.3's ``pae_*.json``).

    ``[{"predicted_aligned_error": [[...], ...], "max_predicted_aligned_error": x}]``,
    one row per aligned residue, values rounded to 0.1 Å, no spaces: the layout
    of AlphaFold's own files, which ChimeraX (``alphafold pae``) and PAE Viewer read.

    Parameters
    ----------
    pae : array_like, shape=(n, n)
        Predicted aligned error in Å; ``pae[i, j]`` is the error at residue j
        when aligned on residue i.
    max_pae : float, optional
        The largest value the predictor can give (AlphaFold: 31.75 Å), which
        viewers use as the top of the colour scale; the matrix's maximum when
        not given.

    Returns
    -------
    str

    Examples
    --------
    >>> format_pae_json([[0.25, 3.0], [2.94, 0.3]])
    '[{"predicted_aligned_error":[[0.2,3.0],[2.9,0.3]],"max_predicted_aligned_error":3.0}]'
    """
    matrix = check_pae(pae)
    top = float(matrix.max()) if max_pae is None and matrix.size else float(max_pae or 0.0)
    entry = {"predicted_aligned_error": np.round(matrix, 1).tolist(),
             "max_predicted_aligned_error": round(top, 2)}
    return json.dumps([entry], separators=(",", ":"))


def add_quality_records(block: gemmi.cif.Block, structure: Structure, labels: ResidueLabels,
                        confidence: ModelConfidence) -> None:
    """Append the ModelCIF records of ``confidence`` to an mmCIF block written for ``structure``.

    The records describe the first model; label identifiers come from ``labels``
    (see :func:`workbench.io.structure_writer.format_mmcif`).

    Parameters
    ----------
    block : gemmi.cif.Block
        The block holding ``structure``'s coordinates, with standard labels.
    structure : Structure
    labels : ResidueLabels
        Label identifiers of every residue of ``structure``.
    confidence : ModelConfidence

    Raises
    ------
    ValueError
        If the arrays do not have one value per polymer residue, or a polymer
        residue has no ``label_seq_id``.
    """
    polymer = np.flatnonzero(structure.polymer[structure.residue_starts[:-1]])
    for name in ("plddt", "pae"):
        array = getattr(confidence, name)
        if array is not None and array.shape[0] != len(polymer):
            raise ValueError(f"{name} has {array.shape[0]} rows for {len(polymer)} polymer residues")
    unlabelled = polymer[labels.seq_id[polymer] == 0]
    if len(unlabelled) and (confidence.plddt is not None or confidence.pae is not None):
        raise ValueError(f"residue {structure.residues.label(int(unlabelled[0]))} is outside a polymer entity")
    quote = gemmi.cif.quote
    _set(block, "_audit_conform.", {"dict_name": [MODELCIF_DICT[0]], "dict_version": [MODELCIF_DICT[1]]})
    _set(block, "_software.", {
        "pdbx_ordinal": ["1"], "name": [quote(confidence.software_name)],
        "classification": ["other"], "version": [quote(confidence.software_version or "?")],
        "type": ["package"], "description": ["'Structure prediction'"],
    })
    _set(block, "_ma_software_group.", {"ordinal_id": ["1"], "group_id": ["1"], "software_id": ["1"]})
    _set(block, "_ma_data.", {"id": ["1"], "name": ["Model"], "content_type": ["'model coordinates'"]})
    targets = [k for k in dict.fromkeys(zip(labels.entity_id.tolist(), labels.asym_id.tolist(), strict=True))
               if k[0] and _entity_type(block, k[0]) != "water"]
    entities = list(dict.fromkeys(entity for entity, _ in targets))
    _set(block, "_ma_target_entity.", {"entity_id": entities, "data_id": ["1"] * len(entities),
                                        "origin": ["."] * len(entities)})
    _set(block, "_ma_target_entity_instance.", {"asym_id": [a for _, a in targets],
                                                 "entity_id": [e for e, _ in targets],
                                                 "details": ["."] * len(targets)})
    _set(block, "_ma_protocol_step.", {"ordinal_id": ["1"], "protocol_id": ["1"], "step_id": ["1"],
                                        "method_type": ["modeling"], "details": [quote(confidence.method)]})
    _set(block, "_ma_model_list.", {
        "ordinal_id": ["1"], "model_id": ["1"], "model_group_id": ["1"],
        "model_name": [quote(structure.name or "model")], "model_group_name": [quote(confidence.method)],
        "data_id": ["1"], "model_type": [quote(confidence.model_type)],
    })
    _add_metrics(block, labels, polymer, confidence)


def _add_metrics(block: gemmi.cif.Block, labels: ResidueLabels, polymer: np.ndarray,
                 confidence: ModelConfidence) -> None:
    """``_ma_qa_metric`` and its global, local and local-pairwise values."""
    metrics: list[tuple[str, str, str]] = []  # (name, type, mode), id = position + 1
    global_values: list[tuple[int, str]] = []
    if confidence.plddt is not None:
        metrics += [("pLDDT", "pLDDT", "global"), ("pLDDT", "pLDDT", "local")]
        mean = float(confidence.plddt.mean()) if confidence.plddt.size else float("nan")
        global_values.append((1, f"{mean:.2f}" if np.isfinite(mean) else "?"))
    for name, value in (("pTM", confidence.ptm), ("ipTM", confidence.iptm)):
        if value is not None:
            metrics.append((name, name, "global"))
            global_values.append((len(metrics), f"{float(value):.4f}"))
    if confidence.pae is not None:
        metrics.append(("PAE", "PAE", "local-pairwise"))
    if not metrics:
        return
    _set(block, "_ma_qa_metric.", {
        "id": [str(k) for k in range(1, len(metrics) + 1)], "name": [m[0] for m in metrics],
        "type": [m[1] for m in metrics], "mode": [m[2] for m in metrics],
        "software_group_id": ["1"] * len(metrics),
    })
    if global_values:
        _set(block, "_ma_qa_metric_global.", {
            "ordinal_id": [str(k) for k in range(1, len(global_values) + 1)],
            "model_id": ["1"] * len(global_values), "metric_id": [str(m) for m, _ in global_values],
            "metric_value": [v for _, v in global_values],
        })
    asym, seq, comp = labels.asym_id[polymer], labels.seq_id[polymer].astype(str), labels.comp_id[polymer]
    n = len(polymer)
    if confidence.plddt is not None:
        _set(block, "_ma_qa_metric_local.", {
            "ordinal_id": [str(k) for k in range(1, n + 1)], "model_id": ["1"] * n,
            "label_asym_id": asym.tolist(), "label_seq_id": seq.tolist(), "label_comp_id": comp.tolist(),
            "metric_id": ["2"] * n, "metric_value": [f"{v:.2f}" for v in confidence.plddt],
        })
    if confidence.pae is not None:
        i, j = np.divmod(np.arange(n * n), n)
        _set(block, "_ma_qa_metric_local_pairwise.", {
            "ordinal_id": np.arange(1, n * n + 1).astype(str).tolist(), "model_id": ["1"] * (n * n),
            "label_asym_id_1": asym[i].tolist(), "label_seq_id_1": seq[i].tolist(),
            "label_comp_id_1": comp[i].tolist(), "label_asym_id_2": asym[j].tolist(),
            "label_seq_id_2": seq[j].tolist(), "label_comp_id_2": comp[j].tolist(),
            "metric_id": [str(len(metrics))] * (n * n),
            "metric_value": np.char.mod("%.2f", confidence.pae.reshape(-1)).tolist(),
        })


def _entity_type(block: gemmi.cif.Block, entity_id: str) -> str:
    table = block.get_mmcif_category("_entity.")
    for name, kind in zip(table.get("id", []), table.get("type", []), strict=True):
        if str(name) == entity_id:
            return str(kind)
    return ""


def _set(block: gemmi.cif.Block, prefix: str, columns: dict[str, list[str]]) -> None:
    """Write one category from already quoted values (a pair list for one row, a loop for more)."""
    block.set_mmcif_category(prefix, columns, raw=True)
