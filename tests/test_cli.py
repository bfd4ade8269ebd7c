"""The workbench command: real runs of the console script and of main()."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import pdbfixer_1bhl
from workbench import __version__, read_structure, write_structure
from workbench.cli import main

WORKBENCH = Path(sys.executable).with_name("workbench")


def test_console_script_version_and_info():
    if not WORKBENCH.exists():
        pytest.skip("the workbench console script is not installed in this environment")
    version = subprocess.run([WORKBENCH, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"workbench {__version__}"
    info = subprocess.run([WORKBENCH, "info", pdbfixer_1bhl()], capture_output=True, text=True, check=True)
    structure = read_structure(pdbfixer_1bhl())
    assert f"{structure.n_atoms} atoms" in info.stdout
    assert structure.sequences["A"] in info.stdout


def test_info_json_matches_structure(capsys):
    assert main(["info", "--json", str(pdbfixer_1bhl())]) == 0
    description = json.loads(capsys.readouterr().out)
    structure = read_structure(pdbfixer_1bhl())
    assert description["n_atoms"] == structure.n_atoms
    assert [c["chain"] for c in description["chains"]] == list(structure.chains)
    assert description["chains"][0]["sequence"] == structure.sequences["A"]
    remark_465 = [line for line in pdbfixer_1bhl().read_text().splitlines()
                  if line.startswith("REMARK 465") and line[15:18].strip() and line[19] == "A"
                  and line[22:26].strip().lstrip("-").isdigit()]
    assert description["chains"][0]["n_missing_residues"] == len(remark_465)


def test_info_reports_ensemble_and_hetero(shared_data, capsys):
    assert main(["info", str(shared_data / "structures" / "1l2y.pdb")]) == 0
    assert "38 model(s)" in capsys.readouterr().out
    assert main(["info", str(shared_data / "structures" / "4hhb.pdb")]) == 0
    assert "HEM x4" in capsys.readouterr().out


def test_convert_pdb_to_mmcif_and_back(tmp_path, capsys):
    cif = tmp_path / "out" / "1bhl.cif.gz"
    assert main(["convert", str(pdbfixer_1bhl()), str(cif)]) == 0
    back = tmp_path / "1bhl.pdb"
    assert main(["convert", str(cif), str(back)]) == 0
    original, converted = read_structure(pdbfixer_1bhl()), read_structure(back)
    assert converted.n_atoms == original.n_atoms
    assert converted.sequences == original.sequences
    assert converted.missing_residues == original.missing_residues


def test_bad_input_exit_status_and_message(tmp_path, capsys):
    bad = tmp_path / "bad.pdb"
    bad.write_text("ATOM      1  N   ASN A   1      22.0x6  40.557   0.420  1.00  0.00           N\n")
    assert main(["info", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.pdb, line 1: x coordinate" in err
    assert main(["info", str(tmp_path / "missing.pdb")]) == 1
    assert "missing.pdb" in capsys.readouterr().err
    assert main(["convert", str(pdbfixer_1bhl()), str(tmp_path / "out.xyz")]) == 1
    assert "cannot tell the format" in capsys.readouterr().err
    assert not (tmp_path / "out.xyz").exists()


def test_compare_pairs_a_renumbered_model_and_writes_it_superposed(shared_data, tmp_path, capsys):
    from tests.conftest import renumber_from_one
    from workbench.analysis import tm_score

    extended = read_structure(shared_data / "pairs" / "1cll_A_bioemu.pdb")
    reference = shared_data / "pairs" / "5ggm_A_bioemu.pdb"
    model = tmp_path / "model_from_one.pdb"
    write_structure(renumber_from_one(extended), model)
    superposed = tmp_path / "out" / "superposed.cif"

    assert main(["compare", str(model), str(reference), "--json", "-o", str(superposed)]) == 0
    scores = json.loads(capsys.readouterr().out)
    expected = tm_score(extended, read_structure(reference))  # scored by the correct numbering
    assert scores["tm_score"] == pytest.approx(expected.tm_score, abs=1e-6)
    assert scores["n_pairs"] == expected.n_aligned == 144
    assert scores["chains"][0]["aligned"] == 144
    written = read_structure(superposed)
    assert written.n_atoms == extended.n_atoms
    assert tm_score(written, renumber_from_one(extended)).rmsd == pytest.approx(0.0, abs=1e-3)

    assert main(["compare", str(model), str(reference), "--pairing", "numbering"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("paired by numbering: 144 residues")
    assert f"{expected.tm_score:8.4f}" not in text  # shifted by one residue, a different score


def test_compare_refuses_unrelated_chains(shared_data, tmp_path, capsys):
    ubiquitin, crambin = shared_data / "structures" / "1ubq.pdb", shared_data / "structures" / "1crn.pdb"
    assert main(["compare", str(ubiquitin), str(crambin), "-o", str(tmp_path / "x.pdb")]) == 1
    assert "30% sequence identity" in capsys.readouterr().err
    assert not (tmp_path / "x.pdb").exists()
