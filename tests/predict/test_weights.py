"""ESMFold weights from every face: found or refused before anything is queued, with the command that fetches them.

No test reaches the network: the Hugging Face cache is a temporary folder, filled (where a test needs
weights there) with a tiny random-weight model laid out as ``snapshot_download`` leaves it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.request import BatchRequest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.predict.esmfold_tiny import save_tiny_model

GOOD_FASTA = ">a\nMKTAYIAKQRQISFVKSHFSRQ\n"


@pytest.fixture
def hub_cache(tmp_path, monkeypatch) -> Path:
    """An empty Hugging Face cache for this test (the library reads its location from this constant)."""
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny") / "esmfold")


def _cache_snapshot(cache: Path, model: Path) -> Path:
    """Lay ``model`` out as the hub cache holds facebook/esmfold_v1 after a download."""
    repo = cache / "models--facebook--esmfold_v1"
    snapshot = repo / "snapshots" / "0123abcd"
    shutil.copytree(model, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    return snapshot


def test_missing_weights_are_refused_before_queuing_with_the_command_to_fetch_them(hub_cache, tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="workbench weights fetch esmfold_v1"):
        BatchRequest.create("esmfold").validate()
    store = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    fasta = tmp_path / "a.fasta"
    fasta.write_text(GOOD_FASTA)
    for command in (["submit", str(fasta), "--store", store], ["run", str(fasta), "-o", str(tmp_path / "out")],
                    ["predict", str(fasta), "-o", str(tmp_path / "out")]):
        assert main([*command, "--predictor", "esmfold"]) == 1
        assert "workbench weights fetch esmfold_v1" in capsys.readouterr().err
    assert main(["jobs", "list", "--store", store, "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"  # nothing was queued
    assert not (tmp_path / "out" / "summary.csv").exists()  # nothing ran


def test_weights_in_the_cache_or_a_folder_are_found(hub_cache, tiny, tmp_path, capsys):
    snapshot = _cache_snapshot(hub_cache, tiny)
    assert BatchRequest.create("esmfold").validate() == f"ESMFold weights: {snapshot}"
    assert BatchRequest.create("esmfold", {"weights": str(tiny)}).validate() == f"ESMFold weights: {tiny}"
    assert main(["weights", "where"]) == 0
    assert capsys.readouterr().out.strip() == f"esmfold_v1: {snapshot}"
    assert main(["weights", "fetch"]) == 0  # already cached: no download
    assert capsys.readouterr().out.strip() == f"esmfold_v1: {snapshot}"


def test_fetch_offline_and_where_without_weights_are_one_line_errors(hub_cache, capsys):
    assert main(["weights", "fetch", "esmfold_v1"]) == 1
    assert "HF_HUB_OFFLINE is set" in capsys.readouterr().err
    assert main(["weights", "where"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "workbench weights fetch esmfold_v1" in error
    assert main(["weights", "fetch", "not a repo"]) == 1
    assert "neither one of esmfold_v1 nor a hub id" in capsys.readouterr().err
