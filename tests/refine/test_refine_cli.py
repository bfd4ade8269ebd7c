"""``workbench refine IN -o OUT``: the structure and the JSON report written, the report printed, errors readable."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import workbench
from tests.refine.conftest import assert_bfactors_kept, load, structure_path
from workbench.cli import main, report_path_for


def test_refine_writes_structure_and_json_and_prints_the_report(tmp_path, capsys):
    source = structure_path("alphafold2")
    out = tmp_path / "relaxed" / "model.pdb"
    status = main(["refine", str(source), "-o", str(out), "--platform", "CPU", "--threads", "1"])
    printed = capsys.readouterr()
    assert status == 0, printed.err
    report_file = tmp_path / "relaxed" / "model.json"
    assert out.exists() and report_file.exists()
    report = json.loads(report_file.read_text())
    assert report["violations_after"]["n_violations"] == 0
    assert report["platform"] == "CPU" and report["platform_properties"] == {"Threads": "1"}
    assert report["output"] == str(out) and report["input"] == str(source)
    assert report["rmsd_ca_angstrom"] < 0.5
    assert report["energy_after_kj_mol"] < report["energy_before_kj_mol"]
    assert f"{report['rmsd_ca_angstrom']:.3f}" in printed.out and str(report_file) in printed.out
    refined = workbench.read_structure(out)
    original = load("alphafold2")
    assert refined.n_atoms == report["n_atoms"]
    assert_bfactors_kept(original, refined.select(refined.element != "H"))  # pLDDT survives the PDB file
    assert not list(out.parent.glob(".*.tmp"))  # atomic writes leave nothing behind


def test_refine_with_md_and_no_hydrogens(tmp_path, capsys):
    structure = load("1crn")
    source = tmp_path / "crambin.cif"
    workbench.write_structure(replace(structure, b_factor=np.full(structure.n_atoms, 90.0)), source)
    out = tmp_path / "crambin_refined.cif.gz"
    status = main(["refine", str(source), "-o", str(out), "--md-ps", "0.2", "--platform", "CPU", "--no-hydrogens"])
    assert status == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "crambin_refined.json").read_text())
    assert report["md_ps"] == 0.2 and report["solvent"] == "obc2" and report["timings_s"]["md"] > 0
    assert report["violations_after"]["n_violations"] == 0
    refined = workbench.read_structure(out)
    assert not (refined.element == "H").any()
    assert "MD" in capsys.readouterr().out


def test_refine_refuses_unknown_residue_with_a_readable_error(tmp_path, capsys):
    structure = load("1crn")
    bad = replace(structure, res_name=np.where(structure.res_id == 5, "UNK", structure.res_name))
    source = tmp_path / "bad.pdb"
    workbench.write_structure(bad, source)
    out = tmp_path / "out.pdb"
    assert main(["refine", str(source), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "workbench refine: error:" in err and "A:UNK 5" in err
    assert not out.exists() and not report_path_for(out).exists()


def test_refine_refuses_a_bad_platform(tmp_path, capsys):
    out = tmp_path / "out.pdb"
    assert main(["refine", str(structure_path("1bhl")), "-o", str(out), "--platform", "TPU"]) == 1
    assert "unknown OpenMM platform" in capsys.readouterr().err


@pytest.mark.parametrize(("name", "expected"), [("relaxed.pdb", "relaxed.json"), ("relaxed.cif.gz", "relaxed.json"),
                                                ("a.b.pdb", "a.b.json"), ("model", "model.json")])
def test_report_path_sits_beside_the_structure(tmp_path, name, expected):
    assert report_path_for(tmp_path / name) == tmp_path / expected
