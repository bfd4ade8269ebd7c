"""The workbench command on bad paths, stores, ids and options: one line naming the problem, exit status 1.

Each case here ended in a Python traceback, or failed only after the work was
done, before the fix it tests.
"""

from __future__ import annotations

import gzip
import json
import os

import pytest

from tests.conftest import pdbfixer_1bhl
from workbench.cli import main
from workbench.results import open_results


def _good_fasta() -> str:
    """1BHL's own sequence and one point mutant: records the template predictor can model."""
    from workbench.io.structure_reader import read_structure

    wild_type = read_structure(pdbfixer_1bhl()).sequences["A"]
    return f">wt\n{wild_type}\n>V75A\n{wild_type[:18]}A{wild_type[19:]}\n"


GOOD_FASTA = _good_fasta()


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_a_file_in_the_way_of_the_output_folder_is_named(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    for argv in (["convert", str(pdbfixer_1bhl()), str(blocker / "x.pdb")],
                 ["refine", str(pdbfixer_1bhl()), "-o", str(blocker / "r.pdb")],
                 ["predict", str(_fasta(tmp_path)), "-o", str(blocker), "--template", str(pdbfixer_1bhl())],
                 ["import", str(tmp_path), "-o", str(blocker / "out")]):
        assert main(argv) == 1, argv
        assert f"{blocker}: a file is in the way of this folder" in _error(capsys), argv
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_refused_before_the_work(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    assert main(["refine", str(pdbfixer_1bhl()), "-o", str(locked / "r.pdb")]) == 1
    assert f"{locked}: permission denied" in _error(capsys)


def test_an_output_name_without_a_format_is_refused_before_refining(tmp_path, capsys):
    output = tmp_path / "relaxed.xyz"
    assert main(["refine", str(pdbfixer_1bhl()), "-o", str(output)]) == 1
    assert "cannot tell the format of 'relaxed.xyz'" in _error(capsys)
    assert list(tmp_path.iterdir()) == []  # no report either: nothing ran


def test_a_record_named_like_a_results_file_is_an_item_like_any_other(tmp_path, capsys):
    """Record folders never take a results file's name, so no record name can replace one."""
    from workbench.predict.template import TemplatePredictor

    wild_type = TemplatePredictor(pdbfixer_1bhl()).template_sequences[0]
    fasta = tmp_path / "in.fasta"
    fasta.write_text("".join(f">{name}\n{wild_type}\n" for name in ("ok1", "summary.csv", "cache")))
    out = tmp_path / "out"
    assert main(["predict", str(fasta), "-o", str(out), "--template", str(pdbfixer_1bhl()), "--no-refine",
                 "--no-progress"]) == 0
    results = open_results(out)
    rows = {row.id: row for row in results.rows}
    assert set(rows) == {"ok1", "summary.csv", "cache"} and len({row.item for row in rows.values()}) == 1
    assert rows["summary.csv"].folder == "summary.csv_" and rows["cache"].folder == "cache_"
    assert (out / "summary.csv").is_file() and (out / "cache").is_dir()  # the batch's own files untouched
    assert (out / "summary.csv_" / "summary.csv__model.cif").is_file()


def test_unknown_job_ids_and_bad_stores_are_one_line_errors(tmp_path, capsys):
    store = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    for action in ("show", "cancel"):
        assert main(["jobs", action, "0123456789abcdef0123456789abcdef", "--store", store]) == 1
        assert "no job 0123456789abcdef0123456789abcdef" in _error(capsys)
    assert main(["jobs", "list", "--status", "finished", "--store", store]) == 1
    assert "unknown job status 'finished'; one of queued, running, done, failed, cancelled" in _error(capsys)
    assert main(["jobs", "list", "--store", "bogus://x"]) == 1
    assert "cannot open the job store bogus://x" in _error(capsys)
    not_a_database = tmp_path / "junk.sqlite"
    not_a_database.write_text("plain text\n" * 200)
    assert main(["jobs", "list", "--store", f"sqlite:///{not_a_database}"]) == 1
    assert "file is not a database" in _error(capsys)


def test_submit_reads_the_file_as_run_does_and_checks_options_before_queuing(tmp_path, capsys):
    store = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    packed = tmp_path / "batch.fasta.gz"
    packed.write_bytes(gzip.compress(("\ufeff" + GOOD_FASTA).encode()))  # gzip and a byte-order mark
    assert main(["submit", str(packed), "--store", store]) == 0
    job_id = capsys.readouterr().out.strip()
    assert main(["jobs", "show", job_id, "--store", store]) == 0
    assert json.loads(capsys.readouterr().out)["inputs"]["fasta"] == f"{len(GOOD_FASTA)} characters"

    plain = _fasta(tmp_path)
    assert main(["submit", str(plain), "--store", store, "--template", str(tmp_path / "missing.pdb")]) == 1
    assert f"{tmp_path / 'missing.pdb'}: template structure not found" in _error(capsys)
    assert main(["submit", str(plain), "--store", store, "--predictor", "alphafold9"]) == 1
    assert "unknown predictor 'alphafold9'; available: esmfold, imported, template" in _error(capsys)
    one_line = tmp_path / "one_line.fasta"
    one_line.write_text("MKV")  # no header, no newline: a file's content, never a path
    assert main(["submit", str(one_line), "--store", store]) == 1
    assert f"{one_line}, line 1: expected a '>' header line" in _error(capsys)
    assert main(["jobs", "list", "--store", store, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1  # only the good submission was queued


def test_compare_scores_without_contacts_are_null_in_json(tmp_path, capsys):
    from workbench import read_structure, write_structure

    crystal = read_structure(pdbfixer_1bhl())
    one_residue = tmp_path / "one.pdb"
    first = crystal.residues.res_id[0]
    write_structure(crystal.select(crystal.res_id == first), one_residue)
    assert main(["compare", str(one_residue), str(one_residue), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out, parse_constant=pytest.fail)  # NaN would call parse_constant
    assert scores["n_pairs"] == 1


def _fasta(folder):
    path = folder / "good.fasta"
    path.write_text(GOOD_FASTA)
    return path


def test_a_force_field_refusal_names_the_residue_as_the_file_does(shared_data, tmp_path, capsys):
    # OpenMM says "residue 0 (ARG)": index 0 of its topology; the file calls it chain B, ARG 4A
    edge = shared_data / "edge" / "pdbtools_dummy_insertions.pdb"
    assert main(["refine", str(edge), "-o", str(tmp_path / "r.pdb")]) == 1
    assert "error: residue B:ARG 4A: No template found for residue 0 (ARG)" in _error(capsys)
