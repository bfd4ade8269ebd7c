"""Importing real predictions from ../shared/data/predicted: ColabFold, AlphaPulldown (AlphaFold2), AlphaFold DB."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from workbench import StructureFormatError
from workbench.io.fasta import read_fasta
from workbench.predict import Predictor, get_predictor
from workbench.predict.imported import ImportedPredictor, import_prediction, import_predictions, import_to_folder

COLABFOLD = "colabfold_ERR550519_2213899_unrelaxed_model_1.pdb"
AF2_PREFIX = "alphapulldown_TEST_"
AFDB = "AF-Q5VSL9-F1-model_v4.pdb"
THREE_TO_ONE = {
    "ALA": "A", "ARG": "R", "ASN": "N", "ASP": "D", "CYS": "C", "GLN": "Q", "GLU": "E", "GLY": "G", "HIS": "H",
    "ILE": "I", "LEU": "L", "LYS": "K", "MET": "M", "PHE": "F", "PRO": "P", "SER": "S", "THR": "T", "TRP": "W",
    "TYR": "Y", "VAL": "V",
}  # fmt: skip


def ca_columns(path) -> tuple[np.ndarray, str]:
    """B-factor of every CA atom and the one-letter sequence, parsed from the PDB text columns."""
    bfactors, letters = [], []
    for line in path.read_text().splitlines():
        if line.startswith("ATOM  ") and line[12:16].strip() == "CA":
            bfactors.append(float(line[60:66]))
            letters.append(THREE_TO_ONE[line[17:20]])
    return np.array(bfactors), "".join(letters)


def copy_alphapulldown(shared, tmp_path):
    for path in shared.glob(f"{AF2_PREFIX}*"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_colabfold_model_reads_plddt_from_ca_bfactors(shared_data):
    path = shared_data / "predicted" / COLABFOLD
    prediction = import_prediction(path)
    expected, sequence = ca_columns(path)
    assert prediction.provenance.method == "colabfold"
    assert prediction.name == "colabfold_ERR550519_2213899"
    np.testing.assert_allclose(prediction.plddt, expected, atol=1e-3)
    assert prediction.provenance.parameters["plddt_rescaled"] is False
    assert "".join(prediction.structure.sequences.values()) == sequence
    assert prediction.pae is None and prediction.ptm is None


def test_alphapulldown_ranked_0_takes_confidence_pae_and_ranking(shared_data):
    folder = shared_data / "predicted"
    prediction = import_prediction(folder / f"{AF2_PREFIX}ranked_0.pdb")
    ranking = json.loads((folder / f"{AF2_PREFIX}ranking_debug.json").read_text())
    top = ranking["order"][0]
    confidence = json.loads((folder / f"{AF2_PREFIX}confidence_{top}.json").read_text())
    pae = json.loads((folder / f"{AF2_PREFIX}pae_{top}.json").read_text())[0]
    assert prediction.provenance.method == "alphafold2"
    assert prediction.provenance.parameters["model"] == top
    np.testing.assert_allclose(prediction.plddt, confidence["confidenceScore"], atol=1e-4)
    np.testing.assert_allclose(prediction.pae, pae["predicted_aligned_error"], atol=1e-4)
    assert prediction.ptm == pytest.approx(ranking["ptm"][top])
    assert prediction.mean_plddt == pytest.approx(ranking["plddts"][top], abs=0.01)
    assert prediction.provenance.parameters["max_pae"] == pytest.approx(pae["max_predicted_aligned_error"])
    bfactors, _ = ca_columns(folder / f"{AF2_PREFIX}ranked_0.pdb")
    np.testing.assert_allclose(prediction.plddt, bfactors, atol=0.01)
    assert len(prediction.provenance.sources) == 4


def test_afdb_entry_and_both_pae_layouts(shared_data, tmp_path):
    path = shared_data / "predicted" / AFDB
    expected, _ = ca_columns(path)
    prediction = import_prediction(path)
    assert prediction.provenance.method == "afdb" and prediction.name == "AF-Q5VSL9-F1"
    np.testing.assert_allclose(prediction.plddt, expected, atol=1e-3)

    n = expected.size
    rng = np.random.default_rng(0)
    matrix = np.round(rng.uniform(0, 31.75, (n, n)), 2)
    shutil.copy(path, tmp_path / AFDB)
    pae_file = tmp_path / "AF-Q5VSL9-F1-predicted_aligned_error_v4.json"
    pae_file.write_text(
        json.dumps([{"predicted_aligned_error": matrix.tolist(), "max_predicted_aligned_error": 31.75}])
    )
    np.testing.assert_allclose(import_prediction(tmp_path / AFDB).pae, matrix, atol=1e-4)

    i, j = np.meshgrid(np.arange(1, n + 1), np.arange(1, n + 1), indexing="ij")
    old = {"residue1": i.ravel().tolist(), "residue2": j.ravel().tolist(), "distance": matrix.ravel().tolist()}
    pae_file.write_text(json.dumps([old]))
    np.testing.assert_allclose(import_prediction(tmp_path / AFDB).pae, matrix, atol=1e-4)


def test_import_predictions_reads_the_shared_folder(shared_data):
    results = dict(import_predictions(shared_data / "predicted"))
    assert sorted(results) == ["AF-Q5VSL9-F1", "alphapulldown_TEST", "colabfold_ERR550519_2213899"]
    assert not [name for name, result in results.items() if isinstance(result, Exception)]


def test_malformed_pae_json_names_the_file(shared_data, tmp_path):
    folder = copy_alphapulldown(shared_data / "predicted", tmp_path)
    pae = next(folder.glob("*_pae_*.json"))
    pae.write_text(pae.read_text()[:-40])
    with pytest.raises(StructureFormatError, match="malformed JSON") as info:
        import_prediction(folder / f"{AF2_PREFIX}ranked_0.pdb")
    assert pae.name in str(info.value)


def test_pae_shape_not_matching_residues(shared_data, tmp_path):
    folder = copy_alphapulldown(shared_data / "predicted", tmp_path)
    pae = next(folder.glob("*_pae_*.json"))
    data = json.loads(pae.read_text())
    data[0]["predicted_aligned_error"] = [row[:-1] for row in data[0]["predicted_aligned_error"][:-1]]
    pae.write_text(json.dumps(data))
    with pytest.raises(StructureFormatError, match=r"PAE has shape \(63, 63\) for 64 polymer residues") as info:
        import_prediction(folder / f"{AF2_PREFIX}ranked_0.pdb")
    assert pae.name in str(info.value)


def test_plddt_count_mismatch_and_disagreement(shared_data, tmp_path):
    folder = copy_alphapulldown(shared_data / "predicted", tmp_path)
    confidence = next(folder.glob("*_confidence_*.json"))
    data = json.loads(confidence.read_text())
    short = {key: value[:-2] for key, value in data.items()}
    confidence.write_text(json.dumps(short))
    with pytest.raises(StructureFormatError, match="62 pLDDT values for 64 polymer residues") as info:
        import_prediction(folder / f"{AF2_PREFIX}ranked_0.pdb")
    assert confidence.name in str(info.value)
    shifted = dict(data, confidenceScore=[min(100.0, v + 5) for v in data["confidenceScore"]])
    confidence.write_text(json.dumps(shifted))
    with pytest.raises(StructureFormatError, match="disagree"):
        import_prediction(folder / f"{AF2_PREFIX}ranked_0.pdb")


def test_one_bad_result_does_not_stop_the_rest(shared_data, tmp_path):
    folder = copy_alphapulldown(shared_data / "predicted", tmp_path)
    shutil.copy(shared_data / "predicted" / COLABFOLD, folder / COLABFOLD)
    (folder / f"{AF2_PREFIX}ranking_debug.json").write_text("{not json")
    results = dict(import_predictions(folder))
    assert isinstance(results["alphapulldown_TEST"], StructureFormatError)
    assert "ranking_debug.json" in str(results["alphapulldown_TEST"])
    assert results["colabfold_ERR550519_2213899"].plddt.size == 130


def test_imported_predictor_matches_records_and_checks_sequences(shared_data):
    folder = shared_data / "predicted"
    _, sequence = ca_columns(folder / COLABFOLD)
    fasta = (
        f">ERR550519_2213899\n{sequence}\n"
        f">colabfold_ERR550519_2213899\n{sequence}\n"
        f">colabfold_ERR550519_2213899_wrong\n{sequence[:-1]}\n"
        f">Q5VSL9\n{ca_columns(folder / AFDB)[1]}\n"
    )
    records = read_fasta(fasta)
    predictor = get_predictor("imported", directory=folder)
    assert isinstance(predictor, ImportedPredictor) and isinstance(predictor, Predictor)
    outcomes = predictor.predict(records)
    assert [o.record.id for o in outcomes] == [r.id for r in records]
    assert "no imported result" in outcomes[0].error
    assert outcomes[1].ok and outcomes[1].prediction.plddt.size == len(sequence)
    assert "no imported result" in outcomes[2].error
    assert outcomes[3].ok and outcomes[3].prediction.provenance.method == "afdb"

    mutant = sequence[:10] + ("A" if sequence[10] != "A" else "G") + sequence[11:]
    outcome = predictor.predict(read_fasta(f">colabfold_ERR550519_2213899\n{mutant}\n"))[0]
    assert not outcome.ok and "position 11" in outcome.error


def test_import_to_folder_writes_each_result(shared_data, tmp_path):
    written = dict(import_to_folder(shared_data / "predicted", tmp_path / "out"))
    assert set(written) == {"AF-Q5VSL9-F1", "alphapulldown_TEST", "colabfold_ERR550519_2213899"}
    confidence = json.loads((tmp_path / "out" / "alphapulldown_TEST" / "confidence.json").read_text())
    source = json.loads(next((shared_data / "predicted").glob("*_confidence_model_2_*.json")).read_text())
    np.testing.assert_allclose(confidence["plddt"], source["confidenceScore"], atol=0.01)
    assert (tmp_path / "out" / "colabfold_ERR550519_2213899" / "model.cif").is_file()
    provenance = json.loads((tmp_path / "out" / "AF-Q5VSL9-F1" / "provenance.json").read_text())
    assert provenance["method"] == "afdb"
