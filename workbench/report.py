"""The batch report: one self-contained HTML page a scientist can read without the CSV.

:func:`render_report` turns a finished batch folder (:class:`~workbench.results.BatchResults`)
into one HTML file: what was run (input, predictor and its options, template,
refinement settings, software versions, date, wall time, a methods paragraph
with citation keys), the ranking with units and a legend, a 3D view of the
top models (3Dmol.js inlined, so it works offline), a section per best-ranked
item (its confidence figures, facts and relative links to its files), and the
failed records with their reasons. :func:`write_report_files` writes it beside
the summary together with ``citations.bib``, and writes nothing else.

The page stays bounded for batches of 100,000 records: the ranking table, the
item sections and the failed list are capped (:data:`REPORT_TABLE_ROWS`,
:data:`REPORT_DETAILED_ITEMS`, :data:`REPORT_FAILED_ROWS`) and the page says
how many more the summary files hold. Figures are the items' own PNGs, drawn
on the workers with the items (:mod:`workbench.item_figures`); the report
draws one only for an item written before items held them.

The page is rendered with Jinja2 from ``workbench/templates/report.html.j2``
with autoescaping on: record ids, errors and any other text from users are
always escaped. A pLDDT (column, figure, colouring) appears only where the item
has one: a summary row with a mean pLDDT and a confidence of kind ``plddt``
with per-residue values; no other per-residue number is called pLDDT.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from workbench.citations import METHODS, batch_methods, citations_bib
from workbench.files import atomic_write_bytes
from workbench.item_figures import ItemFigures, item_figures, plddt_of
from workbench.plots import png_data_uri
from workbench.results import (
    CITATIONS_BIB,
    PAE_PNG,
    PLDDT_PNG,
    REPORT_HTML,
    SUMMARY_CSV,
    SUMMARY_PARQUET,
    BatchResults,
    ItemFolder,
    SummaryRow,
    is_item_key,
    item_path,
)
from workbench.stability import SUMMARY_SENTENCE
from workbench.versions import package_versions

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CITATIONS_BIB",
    "COLUMNS",
    "PAE_PNG",
    "PLDDT_PNG",
    "REPORT_DETAILED_ITEMS",
    "REPORT_FAILED_ROWS",
    "REPORT_TABLE_ROWS",
    "Column",
    "render_report",
    "write_report_files",
]


TOP_MODELS = 3
"""Models shown in the 3D view, best first."""
REPORT_DETAILED_ITEMS = 100
"""Best-ranked items that get a section (figures inlined, facts, files) in the report.

Each section inlines the item's two PNGs (about 130 kB of base64 together for
a 150-residue model) and reads four of its files, so a hundred sections make a
page of about 13 MB, the size the report of a 100-item batch always had, which
a browser opens at once. Past the best hundred a reader sorts summary.csv, and
every item's figures and files stay in its folder.
"""
REPORT_TABLE_ROWS = 1000
"""Rows of the ranking table in the report; summary.csv and summary.parquet hold every row.

A thousand rows of 25 cells is about 1.5 MB of HTML, still quick to render and
to scroll; a 100,000-row table would be over 100 MB.
"""
REPORT_FAILED_ROWS = 1000
"""Failed records listed with their reasons in the report; the rest are counted (summary.csv has them all)."""
DASH = "–"
"""Shown where a number does not apply."""
_RESIDUE_LABEL = re.compile(r"^([^:\s]+):\S+ (-?\d+)")
"""A residue label as provenance writes it: ``"A:HIS 155"`` (chain, name, number)."""


# ---------------------------------------------------------------------- the ranking's columns


def _number(digits: int) -> Callable[[Any], str]:
    def format_number(value: Any) -> str:
        return f"{float(value):,.{digits}f}".replace(",", "\u2009")  # thin-space thousands separator
    return format_number


def _percent(value: Any) -> str:
    return f"{100.0 * float(value):.1f}"


def _integer(value: Any) -> str:
    return f"{round(float(value)):d}"


def _yes(value: Any) -> str:
    return "yes" if value else ""


@dataclass(frozen=True)
class Column:
    """One column of the ranking table.

    Attributes
    ----------
    key : str
        :class:`~workbench.results.SummaryRow` field.
    header : str
        Short header, without the unit.
    unit : str
        Shown in the header in parentheses ("" for none).
    legend : str
        What the column means, for the legend under the table.
    format : callable
        Value (never None or NaN) to text.
    optional : bool
        Left out when no row has a value (pTM in a template batch).
    """

    key: str
    header: str
    unit: str
    legend: str
    format: Callable[[Any], str] = str
    optional: bool = True

    @property
    def title(self) -> str:
        """The header with its unit."""
        return f"{self.header} ({self.unit})" if self.unit else self.header


COLUMNS: tuple[Column, ...] = (
    Column("rank", "Rank", "", "1 is best; records that failed have no rank and are listed last.", _integer, False),
    Column("id", "Record", "", "FASTA record id; links to the item's figures and files.", str, False),
    Column("status", "Status", "", "done, failed or cancelled (reasons under Failed records).", str, False),
    Column("length", "Length", "residues", "Residues, all chains together.", _integer, False),
    Column("chains", "Chains", "", "Number of chains in the record.", _integer, False),
    Column("mean_plddt", "mean pLDDT", "0-100",
           "Mean predicted lDDT of the model (AlphaFold bands: > 90 very high, 70-90 confident, 50-70 low, "
           "< 50 very low). Only for predictors that output a learned pLDDT.", _number(1)),
    Column("ptm", "pTM", "0-1", "Predicted TM-score of the whole model.", _number(2)),
    Column("iptm", "ipTM", "0-1", "Interface pTM of a complex (between its chains).", _number(2)),
    Column("max_pae", "max PAE", "Å", "Largest predicted aligned error between any two residues.", _number(1)),
    Column("mutations", "Mutations", "", "Changes from the template, in its numbering.", str),
    Column("ddg_estimate", "ΔΔG est.", "kcal/mol", SUMMARY_SENTENCE, _number(2)),
    Column("energy_change", "relaxed ΔE", "kJ/mol",
           "Relaxed potential energy minus the reference's (the template's own sequence relaxed the same way). "
           "Two different chemical compositions: not a stability, and never ranked by.", _number(1)),
    Column("energy_before", "E before", "kJ/mol", "Potential energy of the prepared model before refinement.",
           _number(1)),
    Column("energy_after", "E after", "kJ/mol", "Potential energy after refinement.", _number(1)),
    Column("violations_before", "Violations before", "",
           "Structural violations (clashes, bond lengths, angles, peptide bonds, ω) before refinement.", _integer),
    Column("violations_after", "Violations after", "", "Structural violations after refinement.", _integer),
    Column("rmsd_ca_refined", "Cα RMSD", "Å", "Cα RMSD between the model and its refined version.", _number(2)),
    Column("helix_fraction", "Helix", "%", "Residues in helices (DSSP: H, G, I).", _percent),
    Column("strand_fraction", "Strand", "%", "Residues in strands (DSSP: E, B).", _percent),
    Column("clashes", "Clashes", "", "Atom pairs overlapping beyond the clash rule (AlphaFold2's radii) in the "
           "final model.", _integer),
    Column("radius_of_gyration", "Rg", "Å", "Radius of gyration of the final model.", _number(1)),
    Column("predict_s", "Predict", "s", "Wall-clock time of the prediction, per item.", _number(2)),
    Column("refine_s", "Refine", "s", "Wall-clock time of the refinement.", _number(2)),
    Column("analyze_s", "Analyse", "s", "Wall-clock time of the analysis.", _number(2)),
    Column("cached", "Cached", "", "yes: the item was complete from an earlier run of this batch and was not "
           "computed again.", _yes),
)
"""The ranking's columns, in order."""

_REFINE_UNITS = {"stiffness": "kJ/mol/Å²", "tolerance": "kJ/mol/Å", "cutoff": "Å", "md_ps": "ps",
                 "md_temperature": "K", "md_timestep": "fs", "md_friction": "1/ps", "max_rmsd_ca": "Å Cα RMSD"}
_REFINE_LABELS = {
    "stiffness": "restraint stiffness", "tolerance": "minimiser tolerance", "max_iterations": "max L-BFGS iterations",
    "max_rounds": "max rounds", "solvent": "solvent", "cutoff": "nonbonded cutoff", "md_ps": "MD before relax",
    "md_temperature": "MD temperature", "md_timestep": "MD time step", "md_friction": "MD friction",
    "md_weights": "MD restraint weights", "ph": "pH", "chains": "chains", "platform": "OpenMM platform",
    "threads": "CPU threads", "criteria": "violation thresholds", "hydrogens": "keep hydrogens", "seed": "seed",
    "max_rmsd_ca": "kept round within", "keep_ligands": "keep ligands (unrelaxed)",
}
_MD_ONLY = ("md_temperature", "md_timestep", "md_friction", "md_weights")


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN
    except (TypeError, ValueError):
        return False


def _cell(column: Column, value: Any) -> str:
    if _missing(value) or (column.format is not _yes and isinstance(value, bool)):
        return ""
    text = column.format(value)
    return DASH if text in ("None", "nan", "False") else text


# ---------------------------------------------------------------------- what the template sees


@dataclass(frozen=True)
class _Figure:
    title: str
    uri: str
    alt: str


@dataclass
class _Item:
    key: str
    anchor: str
    title: str
    records: list[str]
    facts: list[tuple[str, str]] = field(default_factory=list)
    figures: list[_Figure] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""
    warnings: list[str] = field(default_factory=list)


def _fmt(value: Any, digits: int = 1, unit: str = "") -> str:
    """A number or text for a fact line: "" for None/NaN, booleans as yes/no."""
    if _missing(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = f"{value:.{digits}f}"
    elif isinstance(value, list | tuple):
        text = ", ".join(str(v) for v in value) if value else DASH
    elif isinstance(value, Mapping):
        text = ", ".join(f"{k} {v}" for k, v in value.items())
    else:
        text = str(value)
    return f"{text} {unit}".strip() if unit and text else text


def _safe(read: Callable[[], Any]) -> Any:
    """The value of a reader, or None when the file is unreadable (a report never fails on one file)."""
    try:
        return read()
    except (OSError, ValueError, KeyError):
        return None


@dataclass(frozen=True)
class _Rows:
    """The summary rows the page shows, chosen on the table without typing every row.

    Attributes
    ----------
    shown : list of SummaryRow
        The first :data:`REPORT_TABLE_ROWS` rows: ranked rows by rank, then
        unranked rows (failed, cancelled) in file order.
    failed : list of SummaryRow
        The first :data:`REPORT_FAILED_ROWS` rows that did not finish.
    groups : dict of str to list of SummaryRow
        The best :data:`REPORT_DETAILED_ITEMS` items (finished rows' item keys
        in rank order), each with all its rows (records with identical
        sequences share an item).
    n_rows, n_failed, n_items : int
        All rows, all unfinished rows, all distinct finished items.
    ranked_columns : frozenset of str
        Of ``ddg_estimate``, ``mean_plddt`` and ``ptm``, those with a value in
        some ranked row (what the ranking's note says it ranks by).
    """

    shown: list[SummaryRow]
    failed: list[SummaryRow]
    groups: dict[str, list[SummaryRow]]
    n_rows: int
    n_failed: int
    n_items: int
    ranked_columns: frozenset[str]


def _typed(frame: pd.DataFrame) -> list[SummaryRow]:
    return [SummaryRow.from_mapping(row) for row in frame.to_dict("records")]


def _select_rows(table: pd.DataFrame) -> _Rows:
    """The rows the page shows, in rank order, picked by position: the table is never copied whole."""
    import numpy as np
    import pandas as pd

    def column(name: str) -> np.ndarray:
        return table[name].to_numpy(dtype=object) if name in table else np.full(len(table), None, dtype=object)

    rank = pd.to_numeric(pd.Series(column("rank")), errors="coerce").to_numpy(dtype=float)
    ranked = np.flatnonzero(~np.isnan(rank))
    order = np.concatenate([ranked[np.argsort(rank[ranked], kind="stable")], np.flatnonzero(np.isnan(rank))])
    status, item = column("status")[order], column("item")[order]
    finished = (status == "done") & np.array([isinstance(key, str) and key != "" for key in item], dtype=bool)
    done_items = item[finished]
    distinct = pd.unique(pd.Series(done_items, dtype=object))  # in rank order
    keys = distinct[:REPORT_DETAILED_ITEMS].tolist()
    groups: dict[str, list[SummaryRow]] = {str(key): [] for key in keys}
    in_groups = order[finished][np.isin(done_items, np.array(keys, dtype=object))] if keys else order[:0]
    for row in _typed(table.iloc[in_groups]):
        groups[str(row.item)].append(row)
    unfinished = order[status != "done"]
    return _Rows(shown=_typed(table.iloc[order[:REPORT_TABLE_ROWS]]),
                 failed=_typed(table.iloc[unfinished[:REPORT_FAILED_ROWS]]), groups=groups, n_rows=len(order),
                 n_failed=len(unfinished), n_items=len(distinct),
                 ranked_columns=frozenset(name for name in ("ddg_estimate", "mean_plddt", "ptm")
                                          if name in table and table[name].iloc[ranked].notna().any()))


def _files(item: ItemFolder, root: Path, row: SummaryRow | None) -> list[tuple[str, str]]:
    """The files to link for an item: (name, link relative to the report).

    A record's folder (the item's files under the record's name), or the cached
    item for the reference, which no record has.
    """
    folder = row.folder if row is not None else None
    if folder and (root / folder).is_dir():
        names = sorted(p.name for p in (root / folder).iterdir() if p.is_file() and not p.name.startswith("."))
        return [(name, quote(f"{folder}/{name}")) for name in names]
    ordered = list(item.files())
    others = sorted(p.name for p in item.path.iterdir()
                    if p.is_file() and not p.name.startswith(".") and p.name not in ordered and p.name != "DONE")
    relative = item.path.relative_to(root).as_posix()
    return [(name, quote(f"{relative}/{name}")) for name in [*ordered, *others]]


def _item_facts(item: ItemFolder, row: SummaryRow | None, has_plddt: bool) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = []
    provenance = _safe(item.provenance) or {}
    if provenance.get("model"):
        facts.append(("model", _fmt(provenance["model"])))
    parameters = provenance.get("parameters") or {}
    if isinstance(parameters, Mapping):
        for key, label in (("mutations", "changes from the template"), ("identity", "identity to the template"),
                           ("rebuilt_loops", "rebuilt loops"), ("confidence", "per-residue confidence")):
            if key in parameters and not _missing(parameters[key]):
                facts.append((label, _fmt(parameters[key], 3)))
    if row is not None:
        facts.append(("length", _fmt(row.length, unit="residues")))
        if has_plddt:
            facts.append(("mean pLDDT", _fmt(row.mean_plddt)))
        facts += [(label, _fmt(value, digits, unit)) for label, value, digits, unit in (
            ("pTM", row.ptm, 2, ""), ("max PAE", row.max_pae, 1, "Å"),
            ("ΔE vs reference", row.energy_change, 1, "kJ/mol"), ("Cα RMSD refined", row.rmsd_ca_refined, 2, "Å"),
            ("clashes", row.clashes, 0, ""), ("radius of gyration", row.radius_of_gyration, 1, "Å"))
            if not _missing(value)]
    refinement = _safe(item.refinement)
    if isinstance(refinement, Mapping):
        before, after = refinement.get("energy_before_kj_mol"), refinement.get("energy_after_kj_mol")
        if not _missing(before) and not _missing(after):
            facts.append(("energy before → after", f"{before:.1f} → {after:.1f} kJ/mol"))
        violations = [(refinement.get(k) or {}).get("n_violations") for k in ("violations_before", "violations_after")]
        if not any(_missing(v) for v in violations):
            facts.append(("violations before → after", f"{violations[0]} → {violations[1]}"))
        changes = refinement.get("cis_trans_changes")
        if isinstance(changes, list):  # refinements written before issue 17 have none recorded
            facts.append(("cis/trans changes", "; ".join(str(c) for c in changes) if changes else "none"))
        for key, label in (("iterations", "minimiser iterations"), ("rounds", "rounds"),
                           ("kept_reason", "kept round"), ("solvent", "solvent"), ("platform", "OpenMM platform")):
            if not _missing(refinement.get(key)):
                facts.append((label, _fmt(refinement[key])))
    return [(label, text) for label, text in facts if text]


def _item(item: ItemFolder, rows: list[SummaryRow], root: Path, figures: ItemFigures, title: str) -> _Item:
    row = rows[0] if rows else None
    has_plddt = figures.plddt is not None
    made = []
    if figures.plddt is not None:
        made.append(_Figure("pLDDT per residue: AlphaFold bands (> 90 very high, 70-90 confident, 50-70 low, "
                            "< 50 very low); dashed lines separate chains.", png_data_uri(figures.plddt),
                            f"pLDDT per residue of {title}"))
    if figures.pae is not None:
        made.append(_Figure("Predicted aligned error (Å): expected error at the scored residue when the model is "
                            "aligned on the aligned residue; blue is confident, 30 Å or more red.",
                            png_data_uri(figures.pae), f"predicted aligned error of {title}"))
    return _Item(key=item.path.name, anchor=f"item-{item.path.name}", title=title, records=[r.id or "" for r in rows],
                 facts=_item_facts(item, row, has_plddt), figures=made, files=_files(item, root, row),
                 warnings=_item_warnings(item))


def _item_warnings(item: ItemFolder) -> list[str]:
    """The refinement's warnings (ligands, cofactors, modified residues removed or kept unrelaxed), as text."""
    refinement = _safe(item.refinement)
    warnings = refinement.get("warnings") if isinstance(refinement, Mapping) else None
    return [str(w) for w in warnings] if isinstance(warnings, list) else []


# ---------------------------------------------------------------------- 3D view


def _viewer_scene(item: ItemFolder, row: SummaryRow, figures: ItemFigures, index: int) -> dict[str, Any] | None:
    """JSON-ready data for one 3Dmol.js viewer: model text, format and per-residue colours."""
    from workbench.ui.viewer import plddt_colors, ss_colors  # pure colour helpers (no Streamlit import)

    path = next((item.path / n for n in ("relaxed.pdb", "model.pdb") if (item.path / n).is_file()), None)
    if path is None:
        return None
    structure = _safe(item.relaxed) if path.name == "relaxed.pdb" else _safe(item.model)
    if structure is None:
        return None
    heavy = "".join(line for line in path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
                    if not (line.startswith(("ATOM", "HETATM")) and line[76:78].strip() == "H"))
    colors: list[tuple[dict, str]]
    mode = "secondary structure"
    confidence = _safe(item.confidence)
    plddt = plddt_of(confidence, has_mean=row.mean_plddt is not None) if figures.plddt is not None else None
    try:
        if plddt is not None and len(plddt) == len(structure.residues):
            colors, mode = plddt_colors(structure, plddt.tolist()), "pLDDT"
        else:
            metrics = _safe(item.metrics) or {}
            colors = ss_colors(structure, metrics.get("secondary_structure"))
    except (ValueError, IndexError):
        colors, mode = [], "uniform"
    return {"id": f"viewer-{index}", "title": f"#{row.rank} {row.id}", "anchor": f"item-{item.path.name}",
            "text": heavy, "format": "pdb", "mode": mode, "file": path.name,
            "colors": [[selection, color] for selection, color in colors], "sticks": _changed_residues(item)}


def _changed_residues(item: ItemFolder) -> list[dict[str, Any]]:
    """3Dmol.js selections of the residues a predictor changed from its template (``"A:HIS 155"`` labels)."""
    parameters = (_safe(item.provenance) or {}).get("parameters") or {}
    labels = parameters.get("changed_residues") if isinstance(parameters, Mapping) else None
    selections = []
    for label in labels if isinstance(labels, list) else []:
        match = _RESIDUE_LABEL.match(str(label))
        if match:
            selections.append({"chain": match.group(1), "resi": int(match.group(2))})
    return selections


def _legend(modes: Iterable[str]) -> list[tuple[str, str]]:
    from workbench.ui.viewer import PLDDT_BANDS, SS_COLORS, SS_LABELS

    entries: list[tuple[str, str]] = []
    if "pLDDT" in modes:
        entries += [(color, label) for _, color, label in PLDDT_BANDS]
    if "secondary structure" in modes:
        entries += [(SS_COLORS[k], SS_LABELS[k]) for k in ("H", "E", "-")]
    return entries


# ---------------------------------------------------------------------- what was run


def _run_date(results: BatchResults) -> str:
    for key in ("finished", "finished_at", "date"):
        if isinstance(results.metadata.get(key), str) and results.metadata[key]:
            return str(results.metadata[key])
    for name in ("batch.json", "summary.parquet", "summary.csv"):
        path = results.path / name
        if path.is_file():
            stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
            return stamp.strftime("%Y-%m-%d %H:%M UTC")
    return ""


def _duration(seconds: Any) -> str:
    if _missing(seconds):
        return ""
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {rest:02d} s") + f" ({seconds:,.0f} s)"


def _predictor(results: BatchResults) -> tuple[str, list[tuple[str, str, str]]]:
    """The predictor's name and its options: (label, value, help), files by name and SHA-256."""
    request = results.request
    settings = results.metadata.get("settings") or {}
    key_options = settings.get("predictor_options") or {}
    if request is None:
        name = str(settings.get("predictor") or (results.metadata.get("request") or {}).get("predictor") or "")
        return name, [(str(k), _fmt(v, 3), "") for k, v in key_options.items()]
    info = request.predictor.info
    options = []
    for option in info.option_fields:
        value = getattr(request.predictor.options, option.name)
        text = _fmt(value, 3) if not _missing(value) else "default"
        digest = key_options.get(option.name)
        if option.metadata.get("file") and isinstance(digest, Mapping) and digest.get("sha256"):
            shown = Path(str(value)).name if not _missing(value) else "default"
            text = f"{shown} (SHA-256 {digest['sha256'][:16]}…)"
        label = str(option.metadata.get("label") or option.name.replace("_", " "))
        options.append((label, text, str(option.metadata.get("help") or "")))
    return request.predictor.name, options


def _refinement(results: BatchResults) -> list[tuple[str, str]] | None:
    request = results.request
    if request is not None:
        if request.refine is None:
            return None
        values = request.refine.to_dict()
    else:
        refine = (results.metadata.get("settings") or {}).get("refine")
        if not isinstance(refine, Mapping):
            return None
        values = dict(refine)
    rows = []
    no_md = not values.get("md_ps")
    for key, value in values.items():
        if no_md and key in _MD_ONLY:
            continue
        label = _REFINE_LABELS.get(key, key.replace("_", " "))
        if key == "criteria" and isinstance(value, Mapping):
            text = ", ".join(f"{k.replace('_', ' ')} {v:g}" if isinstance(v, float) else f"{k} {v}"
                             for k, v in value.items())
        elif key == "md_ps" and no_md:
            text = "none"
        elif key == "max_iterations" and value == 0:
            text = "no cap"
        elif value is None:
            text = {"chains": "all", "platform": "automatic", "threads": "all usable cores"}.get(key, DASH)
        elif isinstance(value, float):
            text = f"{value:g} {_REFINE_UNITS.get(key, '')}".strip()
        else:
            text = _fmt(value, 2, _REFINE_UNITS.get(key, ""))
        rows.append((label, text))
    return rows


def _versions(results: BatchResults) -> list[tuple[str, str, bool]]:
    """(package, version, recorded): versions recorded in batch.json first, then those installed now."""
    recorded = (results.metadata.get("settings") or {}).get("versions") or {}
    rows = [(str(k), str(v), True) for k, v in recorded.items() if not _missing(v)]
    rows += [(k, v, False) for k, v in package_versions().items() if k not in recorded]
    return rows


def _methods_text(results: BatchResults, methods: Sequence[str], versions: Mapping[str, str]) -> list[str]:
    """A methods paragraph, sentence by sentence, with citation keys in brackets."""
    request = results.request
    cite = {m: METHODS[m][0] for m in methods}
    sentences = []
    predictor = request.predictor.name if request is not None else ""
    if "esmfold" in cite:
        sentences.append(f"Structures were predicted with ESMFold [{cite['esmfold']}].")
    elif "biopython" in cite and predictor == "template":
        sentences.append("Variant models were built on a template structure by the workbench's template predictor: "
                         f"sequences were aligned to the template with Biopython [{cite['biopython']}], residues "
                         "substituted on the template backbone and short loops rebuilt. Its per-residue confidence "
                         "is a fixed heuristic, not a learned score.")
    elif predictor:
        sentences.append(f"Models were predicted with the {predictor} predictor.")
    if request is not None and request.refine is not None:
        config = request.refine
        openmm = f" {versions['openmm']}" if "openmm" in versions else ""
        solvent = {"vacuum": "in vacuum", "obc2": f"in OBC2 implicit solvent [{cite.get('obc2', '')}]",
                   "gbn2": "in GBn2 implicit solvent"}.get(config.resolved_solvent, config.resolved_solvent)
        md = (f" after {config.md_ps:g} ps of restrained Langevin dynamics at {config.md_temperature:g} K"
              if config.md_ps > 0 else "")
        sentences.append(
            f"Models were completed with PDBFixer and refined in OpenMM{openmm} [{cite['openmm']}] with the Amber "
            f"ff14SB force field [{cite['amber-ff14sb']}] {solvent}, following AlphaFold2's restrained relax "
            f"protocol [{cite['alphafold2-relax']}]: restrained L-BFGS minimisation (restraint stiffness "
            f"{config.stiffness:g} kJ/mol/Å², tolerance {config.tolerance:g} kJ/mol/Å){md}, checked for violations "
            f"and repeated for at most {config.max_rounds} rounds.")
        if results.metadata.get("reference"):
            sentences.append("Energy changes are relative to the refined reference item, the template's own "
                             "sequence, computed with the same settings.")
    sentences.append(f"Secondary structure was assigned with DSSP [{cite['dssp']}]; geometry kernels are compiled "
                     f"with numba [{cite['numba']}]; structures were read and written with gemmi "
                     f"[{cite['gemmi']}]; the batch ran on Dask [{cite['dask']}].")
    return sentences


def _ranking_note(ranked_columns: frozenset[str]) -> str:
    if "ddg_estimate" in ranked_columns:
        return ("Ranked by the estimated folding-stability change ΔΔG (lowest, least destabilising, first; rows "
                "without an estimate after), then fewer violations after refinement, then fewer clashes. "
                + SUMMARY_SENTENCE)
    if "mean_plddt" in ranked_columns:
        return "Ranked by mean pLDDT (highest first), then pTM, then fewer violations, then fewer clashes."
    if "ptm" in ranked_columns:
        return "Ranked by pTM (highest first), then fewer violations, then fewer clashes."
    return "Ranked by fewer violations after refinement, then fewer clashes."


# ---------------------------------------------------------------------- rendering


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("workbench", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )


def _has_plddt(root: Path, row: SummaryRow) -> bool:
    """Whether a row's item has a pLDDT, without drawing: the row has a mean, and the item its figure or values."""
    if row.item is None or row.mean_plddt is None:
        return False
    try:
        folder = ItemFolder(item_path(root, row.item))
    except ValueError:  # not an item key
        return False
    if (folder.path / PLDDT_PNG).is_file():
        return True
    return plddt_of(_safe(folder.confidence), has_mean=True) is not None  # an item finished before issue 15


def _context(results: BatchResults, citations_file: str | None) -> dict:
    from markupsafe import Markup

    from workbench.ui.viewer import threedmol_js

    root = results.path
    rows = _select_rows(results.table)
    detailed = {key: group for key, group in rows.groups.items() if is_item_key(key) and item_path(root, key).is_dir()}
    reference = results.metadata.get("reference") or {}
    reference_key = reference.get("key") if isinstance(reference, Mapping) else None
    figures = {key: item_figures(ItemFolder(item_path(root, key)), has_mean_plddt=group[0].mean_plddt is not None)
               for key, group in detailed.items()}
    if (isinstance(reference_key, str) and is_item_key(reference_key) and reference_key not in detailed
            and item_path(root, reference_key).is_dir()):
        figures[reference_key] = item_figures(ItemFolder(item_path(root, reference_key)))
    shown = rows.shown
    plddt_known: dict[str, bool] = {}

    def has_plddt(row: SummaryRow) -> bool:
        if row.item in detailed:
            return figures[row.item].plddt is not None
        if row.item is not None and row.item not in plddt_known:
            plddt_known[row.item] = _has_plddt(root, row)
        return row.item is not None and plddt_known[row.item]

    failed_listed = {r.id for r in rows.failed}
    columns = [c for c in COLUMNS if not c.optional or any(_cell(c, getattr(r, c.key)) for r in shown)]
    if not any(has_plddt(r) for r in shown):
        columns = [c for c in columns if c.key != "mean_plddt"]
    table = []
    for row in shown:
        cells = []
        for column in columns:
            value = getattr(row, column.key)
            if column.key == "mean_plddt" and not has_plddt(row):
                value = None
            if column.key in ("length", "chains") and row.status != "done" and not value:
                value = None  # an invalid record was never parsed into chains
            cells.append(_cell(column, value) or ("" if column.key in ("cached",) else DASH))
        table.append({"cells": cells, "failed": row.status != "done",
                      "anchor": f"item-{row.item}" if row.item in detailed else
                      (f"failed-{row.id}" if row.status != "done" and row.id in failed_listed else "")})

    items = []
    for key, group in detailed.items():
        title = ", ".join(r.id or "" for r in group)
        items.append(_item(ItemFolder(item_path(root, key)), group, root, figures[key], title))
    if reference_key in figures and reference_key not in detailed:
        folder = ItemFolder(item_path(root, reference_key))
        ref = _item(folder, [], root, figures[reference_key], "reference")
        ref.note = "The reference item: the template's own sequence, which energy changes are computed against."
        items.append(ref)

    scenes: list[dict[str, Any]] = []
    for key, group in detailed.items():
        if len(scenes) >= TOP_MODELS:
            break
        if group[0].rank is not None:
            scene = _viewer_scene(ItemFolder(item_path(root, key)), group[0], figures[key], len(scenes) + 1)
            if scene is not None:
                scenes.append(scene)

    request = results.request
    methods = batch_methods(request, results.metadata.get("settings"))
    versions = _versions(results)
    predictor, options = _predictor(results)
    counts = results.metadata.get("counts") or {}
    failed = [{"id": r.id or "(no id)", "status": r.status, "error": r.error or "no reason recorded",
               "anchor": f"failed-{r.id}"} for r in rows.failed]
    js = threedmol_js()
    if "</script" in js.lower():  # pragma: no cover - the shipped file has none
        raise ValueError("3Dmol-min.js contains '</script' and cannot be inlined")
    return {
        "title": str(results.metadata.get("name") or root.name),
        "date": _run_date(results),
        "wall_time": _duration(results.metadata.get("wall_time_s")),
        "counts": [(k, v) for k, v in counts.items() if not _missing(v)],
        "n_records": results.metadata.get("records", rows.n_rows),
        "n_items": results.metadata.get("items", rows.n_items),
        "input": _fmt(results.metadata.get("input")),
        "predictor": predictor,
        "options": options,
        "refinement": _refinement(results),
        "max_length": request.max_length if request is not None else None,
        "reference": {"key": reference_key, "anchor": f"item-{reference_key}",
                      "length": len(str(reference.get("sequence") or ""))} if reference_key else None,
        "versions": versions,
        "methods_text": _methods_text(results, methods, {k: v for k, v, _ in versions}),
        "citation_keys": list(dict.fromkeys(key for m in methods for key in METHODS[m])),
        "citations_file": citations_file,
        "ranking_note": _ranking_note(rows.ranked_columns),
        "columns": columns,
        "table": table,
        "n_rows": rows.n_rows,
        "rows_more": rows.n_rows - len(shown),
        "summary_files": (SUMMARY_CSV, SUMMARY_PARQUET),
        "failed": failed,
        "n_failed": rows.n_failed,
        "failed_more": rows.n_failed - len(failed),
        "items": items,
        "items_more": rows.n_items - len(detailed),
        "detailed_items": REPORT_DETAILED_ITEMS,
        "scenes": scenes,
        "legend": _legend({s["mode"] for s in scenes}),
        "threedmol_js": Markup(js),
        "generated": dt.datetime.now(tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def render_report(results: BatchResults, *, citations_file: str | None = None) -> str:
    """The batch's report as one self-contained HTML page.

    The ranking shows the first :data:`REPORT_TABLE_ROWS` rows and says how
    many more the summary files hold; the best :data:`REPORT_DETAILED_ITEMS`
    items get a section with their figures, facts and files; the failed
    records are listed with their reasons, the first
    :data:`REPORT_FAILED_ROWS` of them. So the page, and the time to write it,
    stay bounded however many records the batch has.

    Parameters
    ----------
    results : BatchResults
        A finished batch (:func:`~workbench.results.open_results`).
    citations_file : str, optional
        Name of a BibTeX file beside the report to link to (``citations.bib``
        when :func:`write_report_files` writes one).

    Returns
    -------
    str
        HTML5, with figures as base64 PNG (each item's own ``plddt.png`` and
        ``pae.png``, drawn in memory only for an item written before items
        held them), 3Dmol.js inlined and every link relative to the batch
        folder; nothing is fetched from the network.
    """
    return str(_environment().get_template("report.html.j2").render(**_context(results, citations_file)))


def write_report_files(results: BatchResults) -> dict[str, Path]:
    """Write ``citations.bib`` and ``report.html`` into the batch folder, each atomically.

    Nothing else is written: the items' figures are the items' own, written
    with them on the workers (:func:`~workbench.item_figures.write_item_figures`),
    so an item folder is never changed after its ``DONE``.

    Parameters
    ----------
    results : BatchResults

    Returns
    -------
    dict of str to Path
        ``{"citations.bib": ..., "report.html": ...}``, by name relative to the batch folder.
    """
    root = results.path
    bib = citations_bib(batch_methods(results.request, results.metadata.get("settings")))
    atomic_write_bytes(root / CITATIONS_BIB, bib.encode())
    html = render_report(results, citations_file=CITATIONS_BIB)
    atomic_write_bytes(root / REPORT_HTML, html.encode())
    return {CITATIONS_BIB: root / CITATIONS_BIB, REPORT_HTML: root / REPORT_HTML}
