"""The batch report, its figures, citations and versions, on batch folders the real pipeline wrote."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from urllib.parse import unquote

import numpy as np
import pytest
from markupsafe import escape

from tests.report_batches import BAD_ID, XSS_ID, esmfold_batch, template_batch
from workbench import plots
from workbench.citations import ENTRIES, METHODS, batch_methods, citations_bib
from workbench.report import COLUMNS, render_report, write_report_files
from workbench.request import BatchRequest
from workbench.results import BatchResults, open_results
from workbench.versions import package_versions

# ---------------------------------------------------------------------- helpers


class _Page(HTMLParser):
    """Tags with attributes, ids, and the text of every table cell (by table class)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.ids: set[str] = set()
        self.cells: dict[str, list[str]] = {}
        self._tables: list[str] = []
        self._cell: list[str] | None = None
        self._head = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id"):
            self.ids.add(str(attributes["id"]))
        if tag == "table":
            self._tables.append(str(attributes.get("class") or ""))
        elif tag == "thead":
            self._head = True
        elif tag in ("td", "th") and self._tables:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self._tables:
            self._tables.pop()
        elif tag == "thead":
            self._head = False
        elif tag in ("td", "th") and self._cell is not None and self._tables:
            table = self._tables[-1] + (":head" if self._head else "")
            self.cells.setdefault(table, []).append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def decode_png(uri: str):
    from PIL import Image

    assert uri.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1], validate=True)))
    image.load()
    return image


_ENTRY = re.compile(r"@(\w+)\{([^,\s]+),")
_REQUIRED = {"article": {"author", "title", "journal", "year", "volume", "pages", "doi"},
             "inproceedings": {"author", "title", "booktitle", "year", "pages", "doi"}}


def parse_bibtex(text: str) -> dict[str, dict[str, str]]:
    """A strict little BibTeX reader: ``@type{key, name = {value}, ...}`` with balanced braces."""
    entries: dict[str, dict[str, str]] = {}
    position = 0
    while (match := _ENTRY.search(text, position)) is not None:
        assert not text[position:match.start()].strip(), f"text between entries: {text[position:match.start()]!r}"
        kind, key = match.group(1).lower(), match.group(2)
        assert key not in entries, f"duplicate key {key}"
        fields: dict[str, str] = {}
        i = match.end()
        while True:
            field = re.compile(r"\s*(\w+)\s*=\s*\{").match(text, i)
            if field is None:
                closing = re.compile(r"\s*\}").match(text, i)
                assert closing is not None, f"{key}: cannot parse at {text[i:i + 40]!r}"
                position = closing.end()
                break
            depth, j = 1, field.end()
            while depth:
                assert j < len(text), f"{key}: unbalanced braces"
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            name = field.group(1).lower()
            assert name not in fields, f"{key}: field {name} twice"
            fields[name] = " ".join(text[field.end():j - 1].split())
            comma = re.compile(r"\s*,").match(text, j)
            i = comma.end() if comma else j
        assert _REQUIRED[kind] <= set(fields), f"{key}: missing {_REQUIRED[kind] - set(fields)}"
        assert re.fullmatch(r"10\.\d{4,9}/\S+", fields["doi"]), f"{key}: DOI {fields['doi']!r}"
        assert re.fullmatch(r"(19|20)\d\d", fields["year"]), f"{key}: year {fields['year']!r}"
        entries[key] = fields
    assert not text[position:].strip(), f"trailing text: {text[position:]!r}"
    return entries


# ---------------------------------------------------------------------- batch folders (real pipeline)


@pytest.fixture(scope="module")
def template_results(tmp_path_factory) -> BatchResults:
    out = template_batch(tmp_path_factory.mktemp("report_template") / "batch")
    write_report_files(open_results(out))
    return open_results(out)


@pytest.fixture(scope="module")
def esmfold_results(tmp_path_factory) -> BatchResults:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("report_esmfold")
    out = esmfold_batch(folder / "batch", folder / "weights")
    write_report_files(open_results(out))
    return open_results(out)


def report_of(results: BatchResults) -> str:
    return (results.path / "report.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------------- citations and versions


def test_every_citation_entry_parses():
    entries = parse_bibtex("\n\n".join(ENTRIES.values()))
    assert set(entries) == set(ENTRIES)
    assert {key for keys in METHODS.values() for key in keys} == set(ENTRIES)
    assert entries["eastman2024openmm8"]["doi"] == "10.1021/acs.jpcb.3c06662"
    assert entries["maier2015ff14sb"]["pages"] == "3696--3713"


def test_citations_for_a_refined_template_batch_and_an_esmfold_batch():
    template = parse_bibtex(citations_bib(batch_methods(BatchRequest.create("template"))))
    assert {"eastman2024openmm8", "maier2015ff14sb", "jumper2021alphafold", "cock2009biopython",
            "kabsch1983dssp", "wojdyr2022gemmi", "rocklin2015dask", "lam2015numba"} == set(template)
    esmfold = parse_bibtex(citations_bib(batch_methods(BatchRequest.create("esmfold", refine=False))))
    assert "lin2023esmfold" in esmfold
    assert not {"eastman2024openmm8", "maier2015ff14sb", "cock2009biopython"} & set(esmfold)
    with_md = batch_methods(BatchRequest.create("esmfold", refine={"md_ps": 5.0}))
    assert "onufriev2004obc" in parse_bibtex(citations_bib(with_md))  # MD runs in OBC2 implicit solvent


def test_citations_refuse_unknown_methods_and_cite_each_entry_once():
    with pytest.raises(ValueError, match="known methods"):
        citations_bib(["openmm", "rosetta"])
    assert citations_bib(["OpenMM", "pdbfixer"]).count("@article{eastman2024openmm8,") == 1
    assert citations_bib([]) == ""


def test_package_versions_are_strings_and_absent_packages_are_left_out(monkeypatch):
    import workbench.versions

    versions = package_versions()
    assert {"workbench", "numpy", "openmm", "pandas"} <= set(versions)
    assert all(isinstance(v, str) and v and v != "None" for v in versions.values())
    monkeypatch.setitem(workbench.versions.RESULT_PACKAGES, "nothing", "no-such-distribution-xyz")
    assert "nothing" not in package_versions()


# ---------------------------------------------------------------------- figures


def _open_figures() -> int:
    from matplotlib._pylab_helpers import Gcf

    return len(Gcf.get_all_fig_managers())


def test_plots_write_png_files_and_leave_no_figures(tmp_path):
    from PIL import Image

    before = _open_figures()
    plddt = np.linspace(30, 95, 40)
    pae = np.abs(np.subtract.outer(np.arange(40.0), np.arange(40.0)))
    for path in (plots.plddt_png(plddt, tmp_path / "p.png", chain_lengths=[25, 15]),
                 plots.pae_png(pae, tmp_path / "pae.png", chain_lengths=[25, 15])):
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 250
    assert decode_png(plots.png_data_uri(plots.pae_png_bytes(pae))).width > 300
    for svg in (plots.plddt_svg(plddt), plots.pae_svg(pae)):
        assert svg.startswith("<svg")
        ET.fromstring(svg)  # well-formed XML
    assert _open_figures() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png", "pae.png"]  # no temporary files left


def test_plots_refuse_bad_arrays():
    with pytest.raises(ValueError, match="non-empty 1-D"):
        plots.plddt_png_bytes(np.array([]))
    with pytest.raises(ValueError, match="square"):
        plots.pae_png_bytes(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="add up"):
        plots.plddt_png_bytes(np.full(10, 80.0), chain_lengths=[4, 5])


# ---------------------------------------------------------------------- the report of a template batch


def test_report_names_every_record_reason_setting_and_unit(template_results):
    page = report_of(template_results)
    for row in template_results.rows:
        assert escape(row.id) in page, row.id
        if row.status != "done":
            assert row.error and escape(row.error) in page
    assert "invalid residue &#39;1&#39;" in page  # the reason, escaped
    header = " ".join(parse(page).cells["ranking:head"])
    for unit in ("(kJ/mol)", "(Å)", "(s)", "(residues)"):
        assert unit in header, unit
    for setting in ("template", "1BHL.pdb", "restraint stiffness", "41.84 kJ/mol/Å²", "vacuum", "wall time",
                    "openmm", "numpy", "citations.bib"):
        assert setting in page, setting


def test_ranking_is_sorted_by_rank_with_failed_rows_last_and_clean_cells(template_results):
    page = parse(report_of(template_results))
    headers, cells = page.cells["ranking:head"], page.cells["ranking"]
    assert set(headers) <= {c.title for c in COLUMNS}
    width = len(headers)
    body = [cells[i:i + width] for i in range(0, len(cells), width)]
    assert len(body) == len(template_results.rows)
    ranks = [row[0] for row in body]
    finished = [r for r in template_results.rows if r.rank is not None]
    assert ranks[:len(finished)] == [str(i) for i in range(1, len(finished) + 1)]
    assert all(rank == "–" for rank in ranks[len(finished):])
    status = headers.index("Status")
    assert [row[status] for row in body[len(finished):]] == ["failed"] * (len(body) - len(finished))
    for table in page.cells.values():
        for cell in table:
            assert not re.search(r"\b(None|nan|NaN|False|True|inf)\b", cell), cell


def test_every_link_resolves_and_nothing_is_fetched(template_results):
    page = parse(report_of(template_results))
    links = [a["href"] for tag, a in page.tags if tag == "a" and a.get("href")]
    files = [href for href in links if not href.startswith("#")]
    assert files, "no file links"
    for href in links:
        if href.startswith("#"):
            assert href[1:] in page.ids, f"no element with id {href[1:]!r}"
        else:
            assert "://" not in href and not href.startswith("/"), href
            assert (template_results.path / unquote(href)).is_file(), href
    for row in template_results.rows:  # every file of every finished record, under the record's name
        if row.status == "done":
            for name in template_results.item(row.item).files():
                assert f"{row.folder}/{row.folder}_{name}" in files
    reference = template_results.metadata["reference"]["key"]
    holders = [row.folder for row in template_results.rows if row.item == reference]
    if holders:  # a record has the template's own sequence: the reference is that record's item
        assert f"{holders[0]}/{holders[0]}_relaxed.pdb" in files
    else:  # no record has it: linked in the cache
        assert f"cache/{reference}/relaxed.pdb" in files
    for tag, attributes in page.tags:
        assert not (tag == "script" and attributes.get("src")), "an external script"
        assert not (tag in ("img", "link") and "://" in str(attributes.get("src") or attributes.get("href"))), tag


def test_markup_in_record_ids_is_escaped(template_results):
    page = report_of(template_results)
    assert XSS_ID not in page and escape(XSS_ID) in page
    assert BAD_ID not in page and escape(BAD_ID) in page
    tags = parse(page).tags
    assert not any("onerror" in attributes for _, attributes in tags)
    assert "b" not in [tag for tag, _ in tags]  # <b>bad</b> stayed text
    images = [attributes.get("src") for tag, attributes in tags if tag == "img"]
    assert len(images) == len(list(template_results.path.glob("*/*.png")))


def test_refinement_warnings_and_the_kept_round_are_shown_as_text(template_results, tmp_path):
    """A removed ligand's warning (from refinement.json) appears beside its item, escaped; the kept round too."""
    copy = tmp_path / "batch"
    shutil.copytree(template_results.path, copy)
    first = template_results.rows[0]
    path = copy / "cache" / first.item / "refinement.json"
    refinement = json.loads(path.read_text())
    assert refinement["warnings"] == [] and refinement["kept_reason"].startswith("round ")
    warning = "removed 1 cofactor (A:<b>GDP</b> 301): it is not in the force field"
    path.write_text(json.dumps(refinement | {"warnings": [warning]}))
    page = render_report(open_results(copy))
    assert f"warning: {escape(warning)}" in page and "<b>GDP" not in page
    assert str(escape(refinement["kept_reason"])) in page
    assert page.count("warning: ") == 1


def test_plddt_appears_only_where_a_row_has_one(template_results):
    page = report_of(template_results)
    has_plddt = any(row.mean_plddt is not None for row in template_results.rows)
    assert ("pLDDT" in page) == has_plddt
    assert bool(list(template_results.path.glob("*/plddt.png"))) == has_plddt


def test_top_models_are_in_an_inline_3d_viewer(template_results):
    page = report_of(template_results)
    assert "$3Dmol" in page and "createViewer" in page
    ids = parse(page).ids
    assert {"viewer-1", "viewer-2", "viewer-3"} <= ids and "viewer-4" not in ids


def test_write_report_files_returns_what_it_wrote(template_results):
    written = write_report_files(template_results)
    assert {"report.html", "citations.bib"} <= set(written)
    for relative, path in written.items():
        assert path == template_results.path / relative and path.is_file()
    assert not list(template_results.path.rglob(".*.tmp"))
    keys = set(parse_bibtex((template_results.path / "citations.bib").read_text()))
    assert {"eastman2024openmm8", "maier2015ff14sb", "jumper2021alphafold", "cock2009biopython"} <= keys
    assert "lin2023esmfold" not in keys


# ---------------------------------------------------------------------- the report of an ESMFold batch


def test_esmfold_report_has_plddt_and_pae_figures(esmfold_results):
    page = report_of(esmfold_results)
    parsed = parse(page)
    images = [a["src"] for tag, a in parsed.tags if tag == "img"]
    items = {row.item for row in esmfold_results.rows}
    assert len(images) == 2 * len(items)
    for uri in images:
        image = decode_png(uri)
        assert image.width > 300 and image.height > 250
    for row in esmfold_results.rows:  # the PNGs beside the models, under the record's name
        for name in ("plddt.png", "pae.png"):
            assert (esmfold_results.path / "cache" / row.item / name).is_file()
            assert (esmfold_results.path / row.folder / f"{row.folder}_{name}").is_file()
            assert f"{row.folder}/{row.folder}_{name}" in page
    assert "pLDDT" in page and "mean pLDDT (0-100)" in parsed.cells["ranking:head"]
    assert "lin2023esmfold" in page


def test_no_plddt_without_a_mean_plddt_or_per_residue_values(esmfold_results, tmp_path):
    """The rule in the report itself, independent of which predictors write a pLDDT."""
    copy = tmp_path / "batch"
    shutil.copytree(esmfold_results.path, copy)
    for png in [*copy.glob("cache/*/plddt.png"), *copy.glob("*/*_plddt.png")]:
        png.unlink()
    table = esmfold_results.table.copy()
    table["mean_plddt"] = np.nan
    page = render_report(BatchResults(copy, table, esmfold_results.metadata))
    assert "pLDDT" not in page
    assert len([1 for tag, _ in parse(page).tags if tag == "img"]) == len(table)  # the PAE figures remain

    first = esmfold_results.rows[0]
    confidence = copy / "cache" / first.item / "confidence.json"
    confidence.write_text(confidence.read_text().replace('"plddt": [', '"plddt": null, "was": ['))
    page = render_report(open_results(copy))
    assert f"pLDDT per residue of {first.id}" not in page
    assert "pLDDT" in page  # the other item keeps its own


def test_item_facts_show_cis_trans_changes(tmp_path):
    """A refinement's cis/trans changes are a fact of its item; refinements recorded before issue 17 show none."""
    import json

    from workbench.report import _item_facts
    from workbench.results import ItemFolder

    item = ItemFolder(tmp_path)
    report = {"violations_before": {"n_violations": 3}, "violations_after": {"n_violations": 0},
              "cis_trans_changes": ["A:MET 1 - A:GLU 2 twisted -> cis"]}
    (tmp_path / "refinement.json").write_text(json.dumps(report))
    facts = dict(_item_facts(item, None, has_plddt=False))
    assert facts["violations before → after"] == "3 → 0"
    assert facts["cis/trans changes"] == "A:MET 1 - A:GLU 2 twisted -> cis"
    (tmp_path / "refinement.json").write_text(json.dumps({**report, "cis_trans_changes": []}))
    assert dict(_item_facts(item, None, has_plddt=False))["cis/trans changes"] == "none"
    del report["cis_trans_changes"]
    (tmp_path / "refinement.json").write_text(json.dumps(report))
    assert "cis/trans changes" not in dict(_item_facts(item, None, has_plddt=False))


# ---------------------------------------------------------------------- the report at scale


@pytest.fixture(scope="module")
def fault_results(tmp_path_factory) -> BatchResults:
    """Three items with a pLDDT (the pipeline tests' ``fault`` predictor, no refinement), reported."""
    from tests.pipelines import _predictors
    from workbench.pipelines.batch import run_batch

    out = tmp_path_factory.mktemp("report_fault") / "batch"
    _predictors.register_fault()
    try:
        fasta = "".join(f">{name}\n{sequence}\n" for name, sequence in _predictors.variants(3))
        run_batch(BatchRequest.create("fault", refine=False), fasta, out, cluster="inprocess")
    finally:
        _predictors.unregister_fault()
    return open_results(out)


def _snapshot(folder) -> dict[str, tuple[str, int, int]]:
    """Every file but the report's own: (SHA-256, modification time, inode), by path."""
    from workbench.files import read_sha256

    return {path.relative_to(folder).as_posix(): (read_sha256(path), path.stat().st_mtime_ns, path.stat().st_ino)
            for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name not in ("report.html", "citations.bib")}


def test_write_report_files_never_changes_an_item_folder(fault_results, tmp_path):
    """Items hold their figures; an older item without them gets figures in the page only, not in its folder."""
    current, older = tmp_path / "current", tmp_path / "older"
    shutil.copytree(fault_results.path, current)
    shutil.copytree(fault_results.path, older)
    for png in [*older.glob("cache/*/*.png"), *older.glob("*/*_*.png")]:
        png.unlink()
    for copy in (current, older):
        before = _snapshot(copy)
        written = write_report_files(open_results(copy))
        assert set(written) == {"report.html", "citations.bib"}
        assert _snapshot(copy) == before
        images = [a["src"] for tag, a in parse(report_of(open_results(copy))).tags if tag == "img"]
        assert len(images) == len(fault_results.rows) == 3  # one pLDDT figure per item, no PAE
    item = fault_results.rows[0].item
    held = (current / "cache" / item / "plddt.png").read_bytes()
    assert plots.png_data_uri(held) in report_of(open_results(current))  # the item's own bytes, inlined


def _large_batch(folder, item_folder, n_done: int, n_failed: int):
    """A batch folder of synthetic summary rows; the best three items have a real item folder."""
    import pandas as pd

    from workbench.results import SummaryRow, write_summary

    rows = [SummaryRow(name=f"r{i}", id=f"r{i}", item=f"{i:016x}", length=30, chains=1, status="done", rank=i + 1,
                       folder=f"r{i}", mean_plddt=90.0 - i / n_done, clashes=0) for i in range(n_done)]
    rows += [SummaryRow(name=f"bad{i}", id=f"bad{i}", item=None, length=0, chains=0, status="failed",
                        error=f"reason {i}") for i in range(n_failed)]
    folder.mkdir()
    write_summary(pd.DataFrame([row.to_dict() for row in rows]), folder, {"records": len(rows)})
    for row in rows[:3]:
        shutil.copytree(item_folder, folder / "cache" / str(row.item))
    return open_results(folder)


def test_a_large_batch_has_a_capped_ranking_item_sections_and_failed_list(fault_results, tmp_path, monkeypatch):
    import workbench.report as report

    monkeypatch.setattr(report, "REPORT_DETAILED_ITEMS", 2)
    n_done, n_failed = report.REPORT_TABLE_ROWS + 37, report.REPORT_FAILED_ROWS + 5
    source = fault_results.path / "cache" / str(fault_results.rows[0].item)
    results = _large_batch(tmp_path / "large", source, n_done, n_failed)
    write_report_files(results)
    page = report_of(results)
    parsed = parse(page)
    columns = len(parsed.cells["ranking:head"])
    assert len(parsed.cells["ranking"]) == report.REPORT_TABLE_ROWS * columns
    text = " ".join(re.sub(r"<[^>]+>", "", page).split())
    more_rows = n_done + n_failed - report.REPORT_TABLE_ROWS
    assert f"The first {report.REPORT_TABLE_ROWS} of {n_done + n_failed} rows; {more_rows} more rows in summary.csv" \
        " and summary.parquet" in text
    assert sorted(i for i in parsed.ids if i.startswith("item-")) == [f"item-{0:016x}", f"item-{1:016x}"]
    assert f"{n_done - 2} more items" in text
    links = [a["href"] for tag, a in parsed.tags if tag == "a" and str(a.get("href", "")).startswith("#item-")]
    assert links.count(f"#item-{2:016x}") == 0  # the third item has a folder but no section: no link
    assert len([i for i in parsed.ids if i.startswith("failed-")]) == report.REPORT_FAILED_ROWS
    assert f"Failed records ({n_failed})" in text and "5 more in summary.csv" in text
    assert "reason 999" in text and "reason 1000" not in text
    assert len([1 for tag, _ in parsed.tags if tag == "img"]) == 2  # figures of the detailed items only
