"""``workbench import`` and ``workbench predict`` through main(), on real files."""

from __future__ import annotations

import json

import numpy as np

from workbench import read_structure
from workbench.cli import main
from workbench.results import open_results


def test_import_command_writes_each_result(shared_data, tmp_path, capsys):
    out = tmp_path / "imported"
    assert main(["import", str(shared_data / "predicted"), "-o", str(out)]) == 0
    assert "imported 3 of 3" in capsys.readouterr().out
    colabfold = shared_data / "predicted" / "colabfold_ERR550519_2213899_unrelaxed_model_1.pdb"
    (folder,) = [p for p in out.iterdir() if p.name.startswith("colabfold")]
    confidence = json.loads((folder / "confidence.json").read_text())
    ca_b = [float(line[60:66]) for line in colabfold.read_text().splitlines()
            if line.startswith("ATOM") and line[12:16].strip() == "CA"]
    np.testing.assert_allclose(confidence["plddt"], ca_b, atol=0.006)
    model = read_structure(folder / "model.cif")
    assert model.sequences == read_structure(colabfold).sequences


def test_import_command_fails_on_empty_folder(tmp_path, capsys):
    assert main(["import", str(tmp_path), "-o", str(tmp_path / "out")]) == 1
    assert "no prediction results found" in capsys.readouterr().err


def test_predict_command_template_variant_and_bad_record(tmp_path, capsys):
    from tests.conftest import pdbfixer_1bhl

    wild_type = read_structure(pdbfixer_1bhl()).sequences["A"]
    position = 40  # a residue of the first helix-free stretch is not needed: substitutions go anywhere
    new = "W" if wild_type[position] != "W" else "F"
    variant = wild_type[:position] + new + wild_type[position + 1:]
    fasta = tmp_path / "variants.fasta"
    fasta.write_text(f">variant\n{variant}\n>broken\nMK#V\n")
    out = tmp_path / "out"
    status = main(["predict", str(fasta), "-o", str(out), "--template", str(pdbfixer_1bhl()), "--no-progress"])
    assert status == 1  # one record failed
    captured = capsys.readouterr()
    assert "broken" in captured.err and "invalid residue '#'" in captured.err
    results = open_results(out)
    assert [(row.id, row.status) for row in results.rows] == [("variant", "done"), ("broken", "failed")]
    model = read_structure(results.item("variant").path / "model.pdb")
    assert model.sequences["A"] == variant
    confidence = json.loads((results.item("variant").path / "confidence.json").read_text())
    assert confidence["kind"] == "none" and confidence["plddt"] is None  # template modelling has no pLDDT
    assert results.rows[0].mean_plddt is None
