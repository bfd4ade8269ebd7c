"""The one composition: ``workbench predict`` and ``workbench run`` write the same folder, and each
template model is prepared (PDBFixer) once."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pdbfixer import PDBFixer

import workbench.refine.prepare
from tests.conftest import pdbfixer_1bhl
from workbench.cli import main
from workbench.io.structure_reader import read_structure
from workbench.pipelines.batch import run_batch
from workbench.predict.template import TemplatePredictor
from workbench.request import BatchRequest
from workbench.results import open_results


@pytest.fixture(scope="module")
def variants(tmp_path_factory) -> str:
    predictor = TemplatePredictor(pdbfixer_1bhl())
    wild, numbering = predictor.template_sequences[0], predictor._numbering["A"]
    variants = {}
    for label in ("N155H", "T66I"):
        i = numbering.index(label[1:-1])
        assert wild[i] == label[0]
        variants[label] = wild[:i] + label[-1] + wild[i + 1:]
    path = tmp_path_factory.mktemp("compose") / "variants.fasta"
    path.write_text("".join(f">{label}\n{sequence}\n" for label, sequence in variants.items()))
    return str(path)


def test_predict_and_run_write_the_same_folder(variants, tmp_path):
    common = ["--template", str(pdbfixer_1bhl()), "--no-progress"]
    assert main(["predict", variants, "-o", str(tmp_path / "predict"), *common]) == 0
    assert main(["run", variants, "-o", str(tmp_path / "run"), "--cluster", "local:1", *common]) == 0
    predicted, ran = open_results(tmp_path / "predict"), open_results(tmp_path / "run")
    assert [r.item for r in predicted.rows] == [r.item for r in ran.rows]
    keys = {r.item for r in predicted.rows} | {predicted.metadata["reference"]["key"]}
    assert len(keys) == 3  # two variants and the wild type they are compared with
    for key in keys:
        a, b = predicted.item(key), ran.item(key)
        assert sorted(p.name for p in a.path.iterdir()) == sorted(p.name for p in b.path.iterdir())
        for model_a, model_b in ((a.model(), b.model()), (a.relaxed(), b.relaxed())):
            assert model_a.atom_name.tolist() == model_b.atom_name.tolist()
            np.testing.assert_allclose(model_a.coords, model_b.coords, atol=1e-3)
        energies = [(item.refinement()["energy_before_kj_mol"], item.refinement()["energy_after_kj_mol"])
                    for item in (a, b)]
        assert energies[0] == energies[1]
        assert json.loads((a.path / "metrics.json").read_text()) == json.loads((b.path / "metrics.json").read_text())
    for row_a, row_b in zip(predicted.rows, ran.rows, strict=True):
        assert (row_a.energy_change, row_a.rank) == (row_b.energy_change, row_b.rank)


def test_each_template_item_is_prepared_once(variants, tmp_path, monkeypatch):
    """PDBFixer runs once per item: the preparation completes the model and the relax starts from it."""
    preparations = []

    class CountingFixer(PDBFixer):
        def __init__(self, *args, **kwargs):
            preparations.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(workbench.refine.prepare, "PDBFixer", CountingFixer)
    request = BatchRequest.create("template", {"template": str(pdbfixer_1bhl())})
    result = run_batch(request, variants, tmp_path / "out", cluster="inprocess")  # in process: the patch applies
    assert result.counts["done"] == 3  # N155H, T66I and the wild type
    assert len(preparations) == 3
    n155h = open_results(tmp_path / "out").item("N155H")
    his = n155h.model()
    assert sorted(his.atom_name[(his.res_id == 155) & (his.element != "H")]) == sorted(
        ["N", "CA", "C", "O", "CB", "CG", "ND1", "CD2", "CE1", "NE2"])
    assert read_structure(n155h.path / "relaxed.pdb").sequences == his.sequences


def test_records_whose_names_differ_by_case_or_unsafe_characters_get_distinct_folders(tmp_path):
    sequence = TemplatePredictor(pdbfixer_1bhl()).template_sequences[0]
    fasta = "".join(f">{name}\n{sequence}\n" for name in ("wt", "WT", "w/t", "w_t"))
    request = BatchRequest.create("template", {"template": str(pdbfixer_1bhl())}, refine=False)
    run_batch(request, fasta, tmp_path / "out", cluster="inprocess")
    rows = {row.id: row for row in open_results(tmp_path / "out").rows}
    assert {row.status for row in rows.values()} == {"done"} and len({row.item for row in rows.values()}) == 1
    folders = [rows[name].folder for name in ("wt", "WT", "w/t", "w_t")]
    assert folders == ["wt", "WT_2", "w_t", "w_t_2"]
    assert len({folder.lower() for folder in folders}) == 4  # distinct on a case-insensitive file system too
    for name, folder in zip(("wt", "WT", "w/t", "w_t"), folders, strict=True):
        assert (tmp_path / "out" / folder / f"{folder}_model.cif").is_file()
        assert open_results(tmp_path / "out").record_files(name)["model.cif"].parent.name == folder
