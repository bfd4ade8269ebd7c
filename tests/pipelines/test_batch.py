"""`workbench run` on real variants of 1BHL: predict, refine, analyse, summarise, and run again."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pdbfixer
import pytest

import workbench
from workbench.cli import main
from workbench.pipelines.batch import run_batch
from workbench.pipelines.engine import DONE
from workbench.request import BatchRequest

TEMPLATE = pathlib.Path(pdbfixer.__file__).parent / "tests" / "data" / "1BHL.pdb"


def _variants() -> dict[str, str]:
    from workbench.predict.template import TemplatePredictor

    wild = TemplatePredictor(TEMPLATE).template_sequences[0]
    t66i = wild[:9] + "I" + wild[10:]  # 1BHL starts at residue 57: index 9 is T66
    assert wild[9] == "T"
    unrelated = "".join(np.random.default_rng(0).choice(list("ACDEFGHIKLMNPQRSTVWY"), len(wild)))
    return {"wild_type": wild, "T66I": t66i, "T66I_copy": t66i, "unrelated": unrelated}


def _without_unrelated(variants: dict[str, str]) -> dict[str, str]:
    return {name: sequence for name, sequence in variants.items() if name != "unrelated"}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    variants = _without_unrelated(_variants())  # the CLI refuses a batch the template cannot model
    fasta = root / "variants.fasta"
    records = [f">{name}\n{seq}" for name, seq in variants.items()]
    records.insert(3, ">broken record\nMKV1TLL")
    fasta.write_text("\n".join(records) + "\n")
    out = root / "out"
    status = main(["run", str(fasta), "-o", str(out), "--template", str(TEMPLATE), "--cluster", "local:2",
                   "--no-progress"])
    return {"fasta": fasta, "out": out, "status": status, "variants": variants,
            "summary": pd.read_parquet(out / "summary.parquet")}


def test_every_record_has_a_row_best_first(batch):
    table = batch["summary"]
    ranked = table[table["rank"].notna()]
    assert ranked["rank"].tolist() == sorted(ranked["rank"].tolist())  # best first
    assert table["id"].tolist()[len(ranked):] == ["broken"]  # then the rest, in file order
    assert sorted(table["id"]) == sorted(["wild_type", "T66I", "T66I_copy", "broken"])
    status = dict(zip(table["id"], table["status"], strict=True))
    assert status == {"wild_type": "done", "T66I": "done", "T66I_copy": "done", "broken": "failed"}
    errors = dict(zip(table["id"], table["error"], strict=True))
    assert "line 8" in errors["broken"] and "'broken'" in errors["broken"]
    assert batch["status"] == 1  # not everything succeeded


def test_identical_sequences_share_one_item(batch):
    table = batch["summary"].set_index("id")
    assert table.loc["T66I", "item"] == table.loc["T66I_copy", "item"]
    done = sorted(p.parent.name for p in batch["out"].glob(f"cache/*/{DONE}"))
    assert done == sorted({table.loc["wild_type", "item"], table.loc["T66I", "item"]})
    config = json.loads((batch["out"] / "cache" / table.loc["T66I", "item"] / "config.json").read_text())
    assert config["names"] == ["T66I", "T66I_copy"] and config["sequence"] == batch["variants"]["T66I"]


def test_each_finished_record_has_a_folder_named_for_it(batch):
    """Files named for people; two records with one sequence both get theirs, the cache holds one item."""
    table = batch["summary"].set_index("id")
    for name in ("wild_type", "T66I", "T66I_copy"):
        folder = batch["out"] / name
        assert table.loc[name, "folder"] == name
        cached = batch["out"] / "cache" / table.loc[name, "item"]
        for file in ("model.pdb", "model.cif", "relaxed.pdb", "confidence.json", "refinement.json"):
            assert (folder / f"{name}_{file}").read_bytes() == (cached / file).read_bytes()
    assert table.loc["T66I", "mutations"] == "T66I" and table.loc["T66I_copy", "mutations"] == "T66I"
    assert not (batch["out"] / "broken").exists()
    assert "done T66I, T66I_copy" in (batch["out"] / "log.txt").read_text()


def test_summary_numbers_match_the_files(batch):
    table = batch["summary"].set_index("id")
    for name in ("wild_type", "T66I"):
        folder = batch["out"] / "cache" / table.loc[name, "item"]
        confidence = json.loads((folder / "confidence.json").read_text())
        refinement = json.loads((folder / "refinement.json").read_text())
        metrics = json.loads((folder / "metrics.json").read_text())
        assert confidence["plddt"] is None and np.isnan(table.loc[name, "mean_plddt"])  # no pLDDT for a template
        assert table.loc[name, "energy_after"] == pytest.approx(refinement["energy_after_kj_mol"])
        assert table.loc[name, "violations_after"] == refinement["violations_after"]["n_violations"]
        relaxed = workbench.read_structure(folder / "relaxed.pdb")
        heavy = relaxed.coords[(relaxed.element != "H") & relaxed.polymer].astype(np.float64)
        rg = np.sqrt(np.mean(np.sum((heavy - heavy.mean(axis=0)) ** 2, axis=1)))
        assert table.loc[name, "radius_of_gyration"] == pytest.approx(rg, abs=1e-3)
        secondary = metrics["secondary_structure"]
        assert len(secondary) == len(batch["variants"][name])
        assert table.loc[name, "helix_fraction"] == pytest.approx(secondary.count("H") / len(secondary))
    assert table.loc["wild_type", "energy_change"] == 0.0
    assert table.loc["T66I", "energy_change"] == pytest.approx(
        table.loc["T66I", "energy_after"] - table.loc["wild_type", "energy_after"])


def test_ranking_and_summary_files_agree(batch):
    table = batch["summary"]
    done = table[table["status"] == "done"].sort_values("energy_change", kind="stable")
    assert done["rank"].tolist() == [1, 2, 3] or done["energy_change"].duplicated().any()
    assert table.loc[table["status"] == "failed", "rank"].isna().all()
    csv = pd.read_csv(batch["out"] / "summary.csv")
    assert csv["id"].tolist() == table["id"].tolist()
    np.testing.assert_allclose(csv["energy_after (kJ/mol)"], table["energy_after"], atol=0.05)  # 1 decimal
    html = (batch["out"] / "report.html").read_text()
    assert "T66I_copy" in html and "<table" in html


def test_running_again_recomputes_nothing(batch, capsys):
    done = sorted(batch["out"].glob(f"cache/*/{DONE}"))
    stamps = {p: p.read_text() for p in done}
    status = main(["run", str(batch["fasta"]), "-o", str(batch["out"]), "--template", str(TEMPLATE),
                   "--cluster", "local:1", "--no-progress"])
    assert status == 1
    assert "0 computed, 2 already complete, 0 failed, 1 invalid" in capsys.readouterr().out
    assert {p: p.read_text() for p in done} == stamps
    table = pd.read_parquet(batch["out"] / "summary.parquet")
    assert table.loc[table["status"] == "done", "cached"].all()


def test_a_rerun_with_nothing_to_compute_imports_no_cluster_and_no_item_work(batch):
    """The rerun in a fresh process: no Dask, OpenMM, numba or torch is imported (they took half its time)."""
    script = (
        "import sys\n"
        "from workbench.cli import main\n"
        f"status = main(['run', {str(batch['fasta'])!r}, '-o', {str(batch['out'])!r}, '--template', "
        f"{str(TEMPLATE)!r}, '--cluster', 'local:1', '--no-progress'])\n"
        "heavy = sorted(m for m in ('distributed', 'openmm', 'numba', 'torch', 'scipy') if m in sys.modules)\n"
        "print('heavy:', ','.join(heavy), 'status:', status)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert "0 computed, 2 already complete" in done.stdout, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "heavy:  status: 1"


def test_a_second_batch_gives_the_same_energies(batch, tmp_path):
    """Another run (other cluster layout, other folder) of the same variants repeats every number exactly."""
    fasta = tmp_path / "two.fasta"
    fasta.write_text("".join(f">{n}\n{batch['variants'][n]}\n" for n in ("T66I", "wild_type")))
    assert main(["run", str(fasta), "-o", str(tmp_path / "again"), "--template", str(TEMPLATE),
                 "--cluster", "local:1", "--no-progress"]) == 0
    again = pd.read_parquet(tmp_path / "again" / "summary.parquet").set_index("id")
    first = batch["summary"].set_index("id")
    for name in ("T66I", "wild_type"):
        assert again.loc[name, "item"] == first.loc[name, "item"]
        assert again.loc[name, "energy_before"] == first.loc[name, "energy_before"]
        assert again.loc[name, "energy_after"] == first.loc[name, "energy_after"]


@pytest.mark.parametrize(("predictor", "options", "refine_options", "error", "message"), [
    ("template", {"template": str(TEMPLATE)}, {"md_ps": -5.0}, ValueError, "md_ps must be a finite number >= 0"),
    ("template", {"template": str(TEMPLATE)}, {"md_picoseconds": 5.0}, TypeError, "md_picoseconds"),
    ("template", {"template": "JUNK"}, {}, workbench.StructureFormatError, "junk.pdb, line 1"),
    ("imported", {"directory": "no_such_folder"}, {}, FileNotFoundError, "imported results folder not found"),
])
def test_settings_that_would_fail_every_item_are_refused_before_any_runs(
        tmp_path, predictor, options, refine_options, error, message):
    if options.get("template") == "JUNK":
        junk = tmp_path / "junk.pdb"
        junk.write_text("ATOM      1  N   ASN A   1      22.0x6  40.557   0.420  1.00  0.00           N\n")
        options = {"template": str(junk)}
    out = tmp_path / "out"
    with pytest.raises(error, match=message):
        request = BatchRequest.create(predictor, options, refine=refine_options)
        run_batch(request, ">a\nMKTAYIAKQR\n", out, cluster="tcp://127.0.0.1:1")
    assert not out.exists()  # nothing ran and nothing was written; the unreachable cluster was never asked


def test_the_cli_refuses_records_the_template_cannot_model_before_anything_runs(tmp_path, capsys):
    fasta = tmp_path / "variants.fasta"
    fasta.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in _variants().items()))
    out = tmp_path / "out"
    assert main(["run", str(fasta), "-o", str(out), "--template", str(TEMPLATE), "--no-progress"]) == 1
    error = capsys.readouterr().err
    assert "record 'unrelated': " in error and "identity" in error and "esmfold" in error
    assert "1 of 4 record(s) cannot be modelled by the template predictor" in error and "nothing run" in error
    assert not (out / "summary.csv").exists()  # refused before the cluster started


def test_the_api_reports_a_refused_record_as_a_failed_row(tmp_path):
    variants = _variants()
    fasta = "".join(f">{name}\n{variants[name]}\n" for name in ("T66I", "unrelated"))
    request = BatchRequest.create("template", {"template": str(TEMPLATE)}, refine=False)
    result = run_batch(request, fasta, tmp_path / "out", cluster="inprocess")
    rows = result.summary.set_index("id")
    assert rows.loc["T66I", "status"] == "done" and rows.loc["unrelated", "status"] == "failed"
    assert "identity" in rows.loc["unrelated", "error"]


def test_item_figures_are_written_by_the_item_and_covered_by_done(tmp_path):
    """plddt.png is the item's own file, made with it on the worker: DONE lists it with its checksum."""
    from tests.pipelines import _predictors
    from workbench.files import read_sha256
    from workbench.pipelines.engine import is_complete
    from workbench.results import item_path, open_results

    _predictors.register_fault()
    try:
        fasta = "".join(f">{name}\n{sequence}\n" for name, sequence in _predictors.variants(2))
        run_batch(BatchRequest.create("fault", refine=False), fasta, tmp_path / "out", cluster="inprocess")
    finally:
        _predictors.unregister_fault()
    results = open_results(tmp_path / "out")
    for row in results.rows:
        folder = item_path(results.path, row.item)
        listed = json.loads((folder / DONE).read_bytes())["files"]
        assert listed["plddt.png"]["sha256"] == read_sha256(folder / "plddt.png")
        assert (folder / "plddt.png").read_bytes().startswith(b"\x89PNG")
        assert "pae.png" not in listed and not (folder / "pae.png").exists()  # the predictor gives no PAE
        assert is_complete(folder, verify=True)
        assert (results.path / row.folder / f"{row.folder}_plddt.png").is_file()


def test_the_ranking_estimate_is_the_stability_module_on_the_items_files(batch):
    """ddg_estimate of each variant = estimate_ddg on its and the wild type's stability.json, by plain reading."""
    from workbench.stability import StabilityTerms, estimate_ddg

    table = batch["summary"].set_index("id")
    cache = batch["out"] / "cache"

    def terms(record: str) -> StabilityTerms:
        return StabilityTerms.from_dict(json.loads((cache / table.loc[record, "item"] / "stability.json").read_text()))

    assert table.loc["wild_type", "ddg_estimate"] == 0.0
    expected = estimate_ddg(terms("T66I"), terms("wild_type"), "T66I").ddg
    assert table.loc["T66I", "ddg_estimate"] == pytest.approx(expected, abs=1e-9)
    assert table.loc["T66I_copy", "ddg_estimate"] == pytest.approx(expected, abs=1e-9)
    assert table.loc["T66I", "mutations"] == "T66I"
