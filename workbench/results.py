"""The results folder: its layout, its writers and its typed readers, in one place.

A batch folder (``workbench run`` and ``workbench predict``, the dispatcher's
``results/<job id>/``) holds one folder per record, named for people, the
content-addressed cache behind them, and the batch's summary::

    OUT/
      T66I/T66I_model.pdb, ...       one folder per finished record, named by its (file-safe) id:
                                     the item's files, each prefixed with the folder name
      cache/<key>/model.pdb, .cif    the predicted model (completed by the preparation where the
                                     predictor leaves side chains incomplete), pLDDT in the B-factors
      cache/<key>/confidence.json    its kind, per-residue pLDDT (or none), pTM, ipTM, PAE
      cache/<key>/provenance.json    how the prediction was made
      cache/<key>/relaxed.pdb        the refined model (when refined)
      cache/<key>/refinement.json    the refinement's report (when refined)
      cache/<key>/metrics.json       secondary structure, clashes, radius of gyration
      cache/<key>/config.json        the item's sequence, record ids and settings
      cache/<key>/plddt.png, pae.png its confidence figures, where it has a pLDDT or a PAE
                                     (:mod:`workbench.item_figures`, drawn with the item)
      cache/<key>/DONE               written last: the item is complete
      summary.parquet, summary.csv   one row per FASTA record, best first (:class:`SummaryRow`)
      report.html, batch.json        the ranked report; request, settings, counts and timings
      log.txt                        what happened, item by item

The content key (SHA-256 of the sequence and every setting that changes the
result) is the cache's identity: records with the same sequence share one item
and a batch run again skips what is complete. A record's folder holds hard
links to its item's files (copies where the file system has no links), so two
records with one sequence both get their files at no cost.

Everything is written with :func:`workbench.files.atomic_write_bytes`. Scripts,
the CLI, the web UI and the dispatcher read a finished batch with
:func:`open_results`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.files import atomic_write_bytes, check_writable_folder
from workbench.io.fasta import safe_name
from workbench.io.modelcif import ModelConfidence, format_pae_json
from workbench.io.structure_reader import read_structure
from workbench.io.structure_writer import format_mmcif, format_pdb
from workbench.predict.base import Prediction
from workbench.predict.outputs import confidence_dict, with_plddt
from workbench.structure import Structure

if TYPE_CHECKING:
    import pandas as pd

    from workbench.refine.result import RefinementResult
    from workbench.request import BatchRequest

__all__ = [
    "BATCH_FILES",
    "ITEM_FILES",
    "BatchResults",
    "Confidence",
    "ItemFolder",
    "SummaryRow",
    "open_results",
    "write_prediction",
]

MODEL_PDB = "model.pdb"
MODEL_CIF = "model.cif"
CONFIDENCE = "confidence.json"
PAE_JSON = "pae.json"
PROVENANCE = "provenance.json"
RELAXED_PDB = "relaxed.pdb"
REFINEMENT = "refinement.json"
METRICS = "metrics.json"
STABILITY = "stability.json"
ITEM_CONFIG = "config.json"
PLDDT_PNG = "plddt.png"
"""An item's pLDDT figure (only for items with a pLDDT)."""
PAE_PNG = "pae.png"
"""An item's PAE heatmap (only for items with a PAE)."""
CITATIONS_BIB = "citations.bib"
"""The batch's BibTeX file, beside ``report.html``."""

SUMMARY_PARQUET = "summary.parquet"
SUMMARY_CSV = "summary.csv"
REPORT_HTML = "report.html"
BATCH_JSON = "batch.json"

ITEM_FILES: dict[str, str] = {
    MODEL_PDB: "chemical/x-pdb",
    MODEL_CIF: "chemical/x-mmcif",
    RELAXED_PDB: "chemical/x-pdb",
    CONFIDENCE: "application/json",
    PAE_JSON: "application/json",
    METRICS: "application/json",
    REFINEMENT: "application/json",
    PROVENANCE: "application/json",
    ITEM_CONFIG: "application/json",
    PLDDT_PNG: "image/png",
    PAE_PNG: "image/png",
}
"""An item folder's files and their media types (the UI's downloads)."""

LOG = "log.txt"

CACHE = "cache"
"""The folder of content-addressed items inside a batch folder."""

BATCH_FILES = {"parquet": SUMMARY_PARQUET, "csv": SUMMARY_CSV, "html": REPORT_HTML, "batch": BATCH_JSON}
"""A batch folder's summary files, by kind."""
RESERVED_NAMES = frozenset({CACHE, SUMMARY_PARQUET, SUMMARY_CSV, REPORT_HTML, BATCH_JSON, LOG, CITATIONS_BIB})
"""Names a record's folder never takes."""


# ---------------------------------------------------------------------- typed records


@dataclass(frozen=True, eq=False)
class Confidence:
    """A model's confidence as written to ``confidence.json``.

    Attributes
    ----------
    kind : {"plddt", "error_angstrom", "none"}
        What the per-residue confidence is (see :class:`~workbench.predict.Prediction`).
    plddt : ndarray, shape=(n_residues,), dtype=float64, or None
        Per-residue pLDDT, 0-100, when the method gives one.
    mean_plddt : float or None
    residue_error : ndarray, shape=(n_residues,), or None
        A learned per-residue error, Å.
    ptm, iptm : float or None
    pae : ndarray, shape=(n_residues, n_residues), or None
        Predicted aligned error, Å.
    max_pae : float or None
    """

    kind: str
    plddt: np.ndarray | None
    mean_plddt: float | None
    residue_error: np.ndarray | None
    ptm: float | None
    iptm: float | None
    pae: np.ndarray | None
    max_pae: float | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Confidence:
        """From the parsed JSON file (files written before confidence had a kind hold a pLDDT)."""
        def array(name: str) -> np.ndarray | None:
            value = data.get(name)
            return None if value is None else np.asarray(value, dtype=np.float64)

        plddt = array("plddt")
        kind = data.get("kind") or ("plddt" if plddt is not None else "none")
        return cls(kind=str(kind), plddt=plddt, mean_plddt=data.get("mean_plddt"), residue_error=array("residue_error"),
                   ptm=data.get("ptm"), iptm=data.get("iptm"), pae=array("pae"), max_pae=data.get("max_pae"))


@dataclass(frozen=True)
class SummaryRow:
    """One row of a batch summary: one FASTA record (energies kJ/mol, lengths Å, times s).

    Numbers are None where they do not apply (a failed record, a model that was not refined).
    """

    name: str | None
    id: str | None
    item: str | None
    length: int
    chains: int
    status: str
    error: str | None = None
    cached: bool = False
    rank: int | None = None
    folder: str | None = None
    mutations: str | None = None
    mean_plddt: float | None = None
    ptm: float | None = None
    iptm: float | None = None
    max_pae: float | None = None
    energy_before: float | None = None
    energy_after: float | None = None
    energy_change: float | None = None
    ddg_estimate: float | None = None
    violations_before: float | None = None
    violations_after: float | None = None
    rmsd_ca_refined: float | None = None
    helix_fraction: float | None = None
    strand_fraction: float | None = None
    clashes: float | None = None
    radius_of_gyration: float | None = None
    predict_s: float | None = None
    refine_s: float | None = None
    analyze_s: float | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> SummaryRow:
        """From a table row or dict; NaN and missing values become None."""
        known = {f.name for f in fields(cls)}
        clean: dict[str, Any] = {k: (None if _is_missing(v) else v) for k, v in values.items() if k in known}
        clean["length"] = int(clean.get("length") or 0)
        clean["chains"] = int(clean.get("chains") or 0)
        clean["cached"] = bool(clean.get("cached") or False)
        if clean.get("rank") is not None:
            clean["rank"] = int(clean["rank"])
        return cls(**clean)

    def to_dict(self) -> dict[str, Any]:
        """Field name to value."""
        return dataclasses.asdict(self)


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(SummaryRow))
"""Summary columns, in order."""

UNITS: dict[str, str] = {
    "length": "residues", "energy_before": "kJ/mol", "energy_after": "kJ/mol", "energy_change": "kJ/mol",
    "ddg_estimate": "kcal/mol",
    "max_pae": "Å", "rmsd_ca_refined": "Å", "radius_of_gyration": "Å", "predict_s": "s", "refine_s": "s",
    "analyze_s": "s", "mean_plddt": "0-100", "ptm": "0-1", "iptm": "0-1", "helix_fraction": "0-1",
    "strand_fraction": "0-1",
}
"""Units of the summary's numeric columns (CSV headers carry them)."""
DECIMALS: dict[str, int] = {
    "energy_before": 1, "energy_after": 1, "energy_change": 1, "ddg_estimate": 2, "max_pae": 2, "rmsd_ca_refined": 3,
    "radius_of_gyration": 2, "predict_s": 2, "refine_s": 2, "analyze_s": 2, "mean_plddt": 2, "ptm": 3, "iptm": 3,
    "helix_fraction": 3, "strand_fraction": 3,
}
"""Decimals kept in the CSV (the Parquet file keeps full precision)."""


def csv_header(column: str) -> str:
    """A CSV header: the column name and its unit, ``energy_change (kJ/mol)``."""
    return f"{column} ({UNITS[column]})" if column in UNITS else column


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, pandas NA
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------- item folders


@dataclass(frozen=True)
class ItemFolder:
    """One item's folder: writers and typed readers for its files.

    Attributes
    ----------
    path : Path
    """

    path: Path

    # -- writing ---------------------------------------------------------------------

    def write_prediction(self, prediction: Prediction, structure: Structure | None = None, *,
                         model_type: str = "Ab initio model") -> dict[str, Path]:
        """Write a prediction: the model (PDB when it fits, mmCIF), its confidence, PAE and provenance.

        The mmCIF is standard (entities, ``label_seq_id``, polymer sequence
        scheme) and carries ModelCIF's quality records: pLDDT per residue and
        its mean, pTM and ipTM, and PAE for models up to
        :data:`PAE_IN_MMCIF_MAX` residues (larger ones keep PAE in the JSON
        only: its pairwise table grows as n²). A model without a pLDDT has no
        pLDDT record, and zeros in its B-factor column.

        Parameters
        ----------
        prediction : Prediction
        structure : Structure, optional
            The model to write instead of ``prediction.structure`` (the same
            residues, completed by the preparation); pLDDT goes in its B-factors.
        model_type : str
            ModelCIF's model type (``"Homology model"`` for a template model).

        Returns
        -------
        dict
            ``{"pdb": ..., "cif": ..., "confidence": ..., "provenance": ...}``
            and ``"pae"`` (AlphaFold DB's JSON) when the prediction has a PAE
            (no ``"pdb"`` when a chain id is longer than PDB's one character).
        """
        model = with_plddt(structure if structure is not None else prediction.structure, prediction.plddt)
        paths = {"pdb": self.path / MODEL_PDB, "cif": self.path / MODEL_CIF, "confidence": self.path / CONFIDENCE,
                 "provenance": self.path / PROVENANCE}
        if all(len(chain) <= 1 for chain in model.chains):
            atomic_write_bytes(paths["pdb"], format_pdb(model).encode())
        else:
            del paths["pdb"]
        atomic_write_bytes(paths["cif"], format_mmcif(model, confidence=_model_confidence(prediction, model_type))
                           .encode())
        atomic_write_bytes(paths["confidence"], json.dumps(confidence_dict(prediction)).encode())
        if prediction.pae is not None:
            paths["pae"] = self.path / PAE_JSON
            atomic_write_bytes(paths["pae"], format_pae_json(prediction.pae).encode())
        provenance = dataclasses.asdict(prediction.provenance) | {"name": prediction.name}
        self._write_json(PROVENANCE, provenance, indent=2)
        return paths

    def write_refinement(self, result: RefinementResult) -> None:
        """Write the refined model (``relaxed.pdb``) and the refinement's report."""
        atomic_write_bytes(self.path / RELAXED_PDB, format_pdb(result.structure).encode())
        self._write_json(REFINEMENT, result.to_dict())

    def write_metrics(self, metrics: Mapping[str, Any]) -> None:
        """Write the analysis numbers (``metrics.json``)."""
        self._write_json(METRICS, dict(metrics))

    def write_stability_terms(self, terms: Mapping[str, Any]) -> None:
        """Write the per-residue terms of the stability estimate (``stability.json``, :mod:`workbench.stability`).

        A file rather than part of the item's summary numbers: a batch of
        100,000 items then never holds them all in memory at once.
        """
        self._write_json(STABILITY, dict(terms))

    def write_config(self, key: str, sequence: str, names: Sequence[str], settings: Mapping[str, Any]) -> None:
        """Write what the item is: its key, sequence, record ids and the settings the key was made from."""
        self._write_json(ITEM_CONFIG, {"key": key, "sequence": sequence, "names": list(names),
                                       "settings": dict(settings)}, indent=2)

    def _write_json(self, name: str, data: Any, indent: int | None = None) -> None:
        text = json.dumps(data, indent=indent, default=str) + ("\n" if indent else "")
        atomic_write_bytes(self.path / name, text.encode())

    # -- reading ---------------------------------------------------------------------

    def model(self) -> Structure:
        """The predicted model (mmCIF, which holds any chain id)."""
        return read_structure(self.path / MODEL_CIF)

    def relaxed(self) -> Structure | None:
        """The refined model, or None when the item was not refined."""
        path = self.path / RELAXED_PDB
        return read_structure(path) if path.is_file() else None

    def confidence(self) -> Confidence:
        """The model's confidence."""
        return Confidence.from_json(self._read_json(CONFIDENCE) or {})

    def metrics(self) -> dict[str, Any] | None:
        """The analysis numbers, or None when absent."""
        return self._read_json(METRICS)

    def stability_terms(self) -> dict[str, Any] | None:
        """The stability estimate's per-residue terms of the refined model, or None when absent."""
        return self._read_json(STABILITY)

    def refinement(self) -> dict[str, Any] | None:
        """The refinement report (``RefinementResult.to_dict()``), or None when not refined."""
        return self._read_json(REFINEMENT)

    def provenance(self) -> dict[str, Any] | None:
        """How the prediction was made, or None when absent."""
        return self._read_json(PROVENANCE)

    def config(self) -> dict[str, Any] | None:
        """The item's key, sequence, record ids and settings, or None when absent."""
        return self._read_json(ITEM_CONFIG)

    def text(self, name: str) -> str | None:
        """One of :data:`ITEM_FILES` as text, or None when absent."""
        if name not in ITEM_FILES:
            raise ValueError(f"{name!r} is not an item file; item files: {', '.join(ITEM_FILES)}")
        path = self.path / name
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None

    def files(self) -> dict[str, Path]:
        """The item files present, by name, in :data:`ITEM_FILES` order."""
        return {name: self.path / name for name in ITEM_FILES if (self.path / name).is_file()}

    def _read_json(self, name: str) -> Any:
        path = self.path / name
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: unreadable ({exc})") from None


def item_path(out: Path, key: str) -> Path:
    """The cache folder of item ``key`` in batch folder ``out``.

    ``out/cache/<key>``, or ``out/<key>`` in batch folders written before records had named folders.
    """
    if not is_item_key(key):
        raise ValueError(f"not an item key: {key!r}")
    cached = out / CACHE / key
    return cached if cached.is_dir() or not (out / key).is_dir() else out / key


def record_folder_names(names: Sequence[str]) -> list[str]:
    """A folder name per record: its file-safe name, made unique ignoring case and never a reserved name.

    Examples
    --------
    >>> record_folder_names(["T66I", "t66i", "a/b", "cache", "T66I_2"])
    ['T66I', 't66i_2', 'a_b', 'cache_', 'T66I_2_2']
    """
    taken: set[str] = set()
    folders = []
    for name in names:
        base = safe_name(name) or "record"
        if base.lower() in RESERVED_NAMES:
            base += "_"
        candidate, n = base, 1
        while candidate.lower() in taken or candidate.lower() in RESERVED_NAMES:
            n += 1
            candidate = f"{base}_{n}"
        taken.add(candidate.lower())
        folders.append(candidate)
    return folders


def publish_record(out: Path, folder: str, key: str) -> Path:
    """Give a record its named folder: ``out/<folder>/<folder>_<file>`` for each file of its item.

    Hard links to the cached files (copies where links fail), each put in place
    with a rename, so a reader never sees a half-written file. Returns the folder.
    """
    source = item_path(out, key)
    target = check_writable_folder(out / folder)
    for path in sorted(source.iterdir()):
        if not path.is_file() or path.name == "DONE" or path.name.startswith("."):
            continue
        final = target / f"{folder}_{path.name}"
        temporary = target / f".{final.name}.{os.getpid()}.tmp"
        temporary.unlink(missing_ok=True)
        try:
            os.link(path, temporary)
        except OSError:
            shutil.copyfile(path, temporary)
        os.replace(temporary, final)
    return target


PAE_IN_MMCIF_MAX = 400
"""Largest model (residues) whose mmCIF also holds its PAE as a pairwise quality table."""


def _model_confidence(prediction: Prediction, model_type: str) -> ModelConfidence:
    from workbench import __version__

    provenance = prediction.provenance
    pae = prediction.pae if prediction.pae is not None and len(prediction.pae) <= PAE_IN_MMCIF_MAX else None
    return ModelConfidence(method=provenance.method, software_name=f"protein-workbench ({provenance.method})",
                           software_version=__version__, plddt=prediction.plddt, ptm=prediction.ptm,
                           iptm=prediction.iptm, pae=pae, model_type=model_type)


def write_prediction(prediction: Prediction, folder: str | Path) -> dict[str, Path]:
    """Write ``prediction`` into ``folder`` (see :meth:`ItemFolder.write_prediction`)."""
    return ItemFolder(Path(folder)).write_prediction(prediction)


# ---------------------------------------------------------------------- batch folders


def write_summary(table: pd.DataFrame, out: Path, metadata: Mapping[str, Any]) -> dict[str, Path]:
    """Write the summary table (Parquet, CSV) and batch.json, each atomically.

    The report comes after, from the written folder: :func:`workbench.report.write_report_files`.

    Returns
    -------
    dict
        ``{"parquet": ..., "csv": ..., "batch": ...}``.
    """
    paths = {kind: out / name for kind, name in BATCH_FILES.items() if kind != "html"}
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    atomic_write_bytes(paths["parquet"], buffer.getvalue())
    readable = table.round({c: d for c, d in DECIMALS.items() if c in table}).rename(columns=csv_header)
    atomic_write_bytes(paths["csv"], readable.to_csv(index=False).encode())
    atomic_write_bytes(paths["batch"], (json.dumps(dict(metadata), indent=2, default=str) + "\n").encode())
    return paths


@dataclass(frozen=True)
class BatchResults:
    """A finished (or partly finished) batch folder, read through :func:`open_results`.

    Attributes
    ----------
    path : Path
    table : pandas.DataFrame
        The summary, one row per FASTA record (columns :data:`COLUMNS`).
    metadata : dict
        batch.json: settings, counts, timings (empty when absent).
    """

    path: Path
    table: pd.DataFrame
    metadata: dict[str, Any]

    @property
    def rows(self) -> list[SummaryRow]:
        """The summary rows as typed records, in file order."""
        return [SummaryRow.from_mapping(row) for row in self.table.to_dict("records")]

    @property
    def request(self) -> BatchRequest | None:
        """The request the batch was run with, when batch.json records one this version can load."""
        from workbench.request import BatchRequest

        data = self.metadata.get("request")
        if not isinstance(data, Mapping):
            return None
        try:
            return BatchRequest.from_json(data)
        except ValueError:
            return None

    def ranked(self) -> Iterator[SummaryRow]:
        """Finished rows, best first."""
        rows = [row for row in self.rows if row.rank is not None]
        return iter(sorted(rows, key=lambda row: row.rank or 0))

    def item(self, name: str) -> ItemFolder:
        """The cached item, by its content key or by a record id in the summary (typed readers).

        Raises
        ------
        KeyError
            For a name that is neither.
        """
        if is_item_key(name) and item_path(self.path, name).is_dir():
            return ItemFolder(item_path(self.path, name))
        for row in self.rows:
            if row.id == name and row.item:
                return ItemFolder(item_path(self.path, row.item))
        raise KeyError(f"{self.path}: no item or record {name!r}")

    def record_files(self, record_id: str) -> dict[str, Path]:
        """The named files of a finished record (``T66I/T66I_relaxed.pdb``, ...), by item file name."""
        for row in self.rows:
            if row.id == record_id and row.folder:
                folder = self.path / row.folder
                return {name: folder / f"{row.folder}_{name}" for name in ITEM_FILES
                        if (folder / f"{row.folder}_{name}").is_file()}
        raise KeyError(f"{self.path}: no finished record {record_id!r}")


def is_item_key(value: object) -> bool:
    """Whether ``value`` is an item content key (16 lower-case hex digits), safe as a folder name."""
    return isinstance(value, str) and len(value) == 16 and all(c in "0123456789abcdef" for c in value)


def open_results(path: str | Path) -> BatchResults:
    """Open a batch folder written by ``workbench run``, ``workbench predict`` or the dispatcher.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    BatchResults

    Raises
    ------
    FileNotFoundError
        When the folder holds no summary (the batch has not finished).
    """
    import pandas as pd

    path = Path(path)
    if (path / SUMMARY_PARQUET).is_file():
        table = pd.read_parquet(path / SUMMARY_PARQUET)
    elif (path / SUMMARY_CSV).is_file():
        table = pd.read_csv(path / SUMMARY_CSV, dtype={"item": str})
        table.columns = [str(c).split(" (")[0] for c in table.columns]  # headers carry units
    else:
        raise FileNotFoundError(f"{path}: no {SUMMARY_PARQUET} or {SUMMARY_CSV} (not a finished batch folder)")
    metadata: dict[str, Any] = {}
    if (path / BATCH_JSON).is_file():
        try:
            metadata = json.loads((path / BATCH_JSON).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{path / BATCH_JSON}: unreadable ({exc})") from None
    return BatchResults(path, table, metadata)
