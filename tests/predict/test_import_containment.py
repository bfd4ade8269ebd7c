"""Crafted files in an import folder: refused one by one, never stopping the others, never read outside the folder.

Each crafted input is made here: an npz of about 1 KB whose array header declares
10^12 elements (numpy would try to allocate 4 TB), an npz of pickled objects, a
JSON nested deeper than Python's recursion limit, and symbolic links leading out
of the folder. The valid results beside them are real AlphaFold DB and ColabFold
models from ../shared/data/predicted.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.predict.test_imported_formats import N_TOKENS, write_boltz, write_colabfold
from workbench import StructureFormatError
from workbench.cli import main
from workbench.predict._formats_common import MAX_ARRAY_ELEMENTS, load_npz
from workbench.predict.imported import SkippedFileWarning, find_results, import_prediction, import_predictions

REAL = ("AF-Q5VSL9-F1-model_v4.pdb", "colabfold_ERR550519_2213899_unrelaxed_model_1.pdb")


def npy_member(shape: tuple[int, ...], descr: str = "<f4", data: bytes = b"\0" * 64) -> bytes:
    """A ``.npy`` whose header declares ``shape`` and ``descr``, followed by ``data`` (whatever the header says)."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue() + data


def crafted_npz(path: Path, **members: bytes) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, content in members.items():
            archive.writestr(f"{key}.npy", content)
    return path


def real_results(shared_data: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in REAL:
        shutil.copy(shared_data / "predicted" / name, folder / name)
    return folder


# -- npz headers are checked before anything is loaded ----------------------------------------


def test_a_huge_declared_shape_is_refused_from_the_header(tmp_path):
    path = crafted_npz(tmp_path / "pae.npz", pae=npy_member((1_000_000, 1_000_000)))
    assert path.stat().st_size < 2048
    with pytest.raises(StructureFormatError) as caught:
        load_npz(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: array 'pae' of shape (1000000, 1000000): ") and "\n" not in message
    assert f"1,000,000,000,000 elements, more than the limit of {MAX_ARRAY_ELEMENTS:,}" in message


def test_more_bytes_than_the_input_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MAX_INPUT_BYTES", "4096")
    path = crafted_npz(tmp_path / "plddt.npz", plddt=npy_member((2000,), "<f8"))
    with pytest.raises(StructureFormatError, match=r"16,000 bytes, more than the input limit of 4 KiB"):
        load_npz(path)


def test_an_axis_longer_than_the_model(tmp_path):
    path = tmp_path / "plddt.npz"
    np.savez(path, plddt=np.zeros(500, dtype=np.float32))
    assert load_npz(path, max_axis=500)["plddt"].shape == (500,)
    with pytest.raises(StructureFormatError, match=r"'plddt' of shape \(500,\): an axis longer than the model's 40"):
        load_npz(path, max_axis=40)


def test_a_header_claiming_more_data_than_stored(tmp_path):
    path = crafted_npz(tmp_path / "short.npz", plddt=npy_member((10_000,), data=b"\0" * 16))
    with pytest.raises(StructureFormatError, match=r"bytes stored for 40,000 bytes of data"):
        load_npz(path)


@pytest.mark.parametrize("descr", ["|O", [("a", "<f4"), ("b", "|O")]], ids=["object", "record-with-object"])
def test_object_arrays_are_refused_without_unpickling(tmp_path, descr):
    path = crafted_npz(tmp_path / "scores.npz", ptm=npy_member((1,), descr, data=b"cos\nsystem\n(S'touch x'\ntR."))
    with pytest.raises(StructureFormatError, match=r"scores\.npz: array 'ptm' .* is not a plain numeric"):
        load_npz(path)
    assert not (tmp_path / "x").exists()


def test_a_single_npy_is_checked_too(tmp_path):
    path = tmp_path / "plddt.npy"
    path.write_bytes(npy_member((10**10,)))
    with pytest.raises(StructureFormatError, match=r"plddt\.npy: array 'array' of shape \(10000000000,\)"):
        load_npz(path)


def test_boltz_pae_longer_than_the_model_is_refused_before_loading(tmp_path):
    write_boltz(tmp_path)
    (tmp_path / "pae_job_model_0.npz").unlink()
    np.savez(tmp_path / "pae_job_model_0.npz", pae=np.zeros((2000, 2000), dtype=np.float32))
    with pytest.raises(StructureFormatError, match=r"pae_job_model_0\.npz: array 'pae' of shape \(2000, 2000\)"):
        import_prediction(tmp_path / "job_model_0.cif")
    assert N_TOKENS < 2000


# -- one bad file never stops the rest --------------------------------------------------------


def test_crafted_npz_beside_real_results_cli(shared_data, tmp_path, capsys):
    """``workbench import`` with a 1 KB npz bomb beside real AFDB and ColabFold models: those two are imported."""
    folder = real_results(shared_data, tmp_path / "in")
    write_boltz(folder / "boltz")
    crafted_npz(folder / "boltz" / "pae_job_model_0.npz", pae=npy_member((1_000_000, 1_000_000)))
    out = tmp_path / "out"
    assert main(["import", str(folder), "-o", str(out)]) == 1  # one result failed
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "imported 2 of 3 result(s)" in captured.out
    assert "pae_job_model_0.npz: array 'pae' of shape (1000000, 1000000)" in captured.err
    assert {p.name for p in out.iterdir()} == {"AF-Q5VSL9-F1", "colabfold_ERR550519_2213899"}


def test_chai1_scores_bomb_does_not_stop_the_folder_scan(shared_data, tmp_path):
    """Chai-1's scores npz is read while ranking models, before any import: it must not stop the scan."""
    folder = real_results(shared_data, tmp_path)
    chai = folder / "chai_job"
    chai.mkdir()
    shutil.copy(folder / REAL[1], chai / "pred.model_idx_0.pdb")
    crafted_npz(chai / "scores.model_idx_0.npz", aggregate_score=npy_member((10**9, 10**9)))
    results = dict(import_predictions(folder))
    assert not isinstance(results["AF-Q5VSL9-F1"], Exception)
    assert not isinstance(results["colabfold_ERR550519_2213899"], Exception)


def test_json_nested_past_the_recursion_limit(shared_data, tmp_path):
    folder = real_results(shared_data, tmp_path)
    write_colabfold(folder / "cf", 1, seed=1)
    scores = next((folder / "cf").glob("*_scores_rank_001_*.json"))
    scores.write_text("[" * 200_000 + "]" * 200_000)
    results = dict(import_predictions(folder))
    errors = {name: str(r) for name, r in results.items() if isinstance(r, Exception)}
    assert list(errors.values()) == [f"{scores}: JSON nested too deeply to read"]
    assert len(results) - len(errors) == 2


# -- symbolic links out of the folder are not followed ----------------------------------------


def test_a_file_link_out_of_the_folder_is_skipped_with_a_warning(shared_data, tmp_path):
    outside = tmp_path / "outside"
    real_results(shared_data, outside)
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(outside / REAL[1], folder / REAL[1])
    link = folder / "AF-P00001-F1-model_v4.pdb"
    link.symlink_to(outside / REAL[0])
    inside_link = folder / "copy_of_colabfold.pdb"
    inside_link.symlink_to(folder / REAL[1])  # a link that stays inside is read like a file
    with pytest.warns(SkippedFileWarning) as caught:
        found = find_results(folder)
    assert [str(w.message) for w in caught] == [
        f"{link}: skipped, a symbolic link to {(outside / REAL[0]).resolve()}, "
        f"outside the import folder {folder.resolve()}"
    ]
    assert sorted(f.structure.name for f in found) == sorted([REAL[1], inside_link.name])


def test_a_linked_confidence_file_out_of_the_folder_is_not_read(tmp_path):
    folder = tmp_path / "in"
    write_colabfold(folder, 1, seed=1)
    scores = next(folder.glob("*_scores_rank_001_*.json"))
    secret = tmp_path / "secret.json"
    scores.rename(secret)
    scores.symlink_to(secret)
    with pytest.warns(SkippedFileWarning, match=f"{scores.name}: skipped, a symbolic link to {secret}"):
        (files,) = find_results(folder)
    assert secret not in [p.resolve() for p in files.companions.values()]


def test_a_linked_folder_is_not_entered(shared_data, tmp_path):
    outside = real_results(shared_data, tmp_path / "outside")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "more").symlink_to(outside, target_is_directory=True)
    assert find_results(folder) == []
