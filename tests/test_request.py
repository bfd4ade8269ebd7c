"""The typed batch request: defaults defined once, JSON round trip, old job rows, content-key settings."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from tests.conftest import pdbfixer_1bhl
from workbench.errors import StructureFormatError
from workbench.predict.esmfold_options import EsmFoldOptions
from workbench.predict.template import TemplateOptions
from workbench.refine import RefineConfig
from workbench.request import REQUEST_VERSION, BatchRequest, PredictorSpec


def test_defaults_come_from_the_options_dataclasses():
    request = BatchRequest()
    assert request.predictor.name == "template"
    assert request.predictor.options == TemplateOptions()
    assert request.predictor.options.template.endswith("1BHL.pdb")
    assert request.refine == RefineConfig()
    assert BatchRequest.create("esmfold").predictor.options == EsmFoldOptions()


def test_json_round_trip_keeps_every_setting():
    request = BatchRequest.create("esmfold", {"num_recycles": 2, "trunk_dtype": "fp32"},
                                  refine={"md_ps": 5.0, "chains": ["A"], "criteria": {"clash_overlap": 1.2}})
    data = json.loads(json.dumps(request.to_json()))
    assert data["version"] == REQUEST_VERSION
    assert data["predictor_options"] == {"num_recycles": 2, "trunk_dtype": "fp32"}  # only what differs
    assert BatchRequest.from_json(data) == request
    assert BatchRequest.from_json(BatchRequest.create("template", refine=False).to_json()).refine is None


def test_a_version_1_job_row_still_loads():
    row = {"predictor": "template", "predictor_options": {"template": str(pdbfixer_1bhl()), "chain": "A"},
           "refine": True, "refine_options": {"md_ps": 0.0, "max_iterations": 200}}
    request = BatchRequest.from_json(row)
    assert request.predictor.options.chain == "A"
    assert request.refine is not None and request.refine.max_iterations == 200


@pytest.mark.parametrize(("row", "words"), [
    ({"predictor": "template", "out": "/etc"}, ["unknown batch request key(s): out"]),
    ({"version": REQUEST_VERSION + 1}, ["newer than this workbench understands", "upgrade"]),
    ({"predictor": "template", "predictor_options": {"refine": False}}, ["no option(s) refine",
                                                                          "submit the batch again"]),
    ({"predictor": "alphafold9"}, ["unknown predictor 'alphafold9'"]),
    ({"predictor": "template", "refine_options": {"md_ps": -1.0}}, ["md_ps must be a finite number"]),
])
def test_rows_that_cannot_load_say_what_to_do(row, words):
    with pytest.raises(ValueError) as caught:
        BatchRequest.from_json(row)
    for word in words:
        assert word in str(caught.value)


def test_unknown_options_name_the_known_ones():
    with pytest.raises(TypeError, match=r"predictor 'template' has no option.*weights.*its options: chain, flank"):
        PredictorSpec.create("template", weights="facebook/esmfold_v1")


def test_key_settings_count_files_by_content_and_defaults_as_given(tmp_path):
    copy = tmp_path / "elsewhere.pdb"
    shutil.copyfile(pdbfixer_1bhl(), copy)
    here = BatchRequest.create("template", {"template": str(pdbfixer_1bhl())})
    there = BatchRequest.create("template", {"template": str(copy), "max_indel": 4})  # 4 is the default
    assert here.key_settings() == there.key_settings()
    digest = hashlib.sha256(copy.read_bytes()).hexdigest()
    assert here.key_settings()["predictor_options"]["template"] == {"sha256": digest}
    changed = BatchRequest.create("template", {"template": str(copy), "max_indel": 2})
    assert changed.key_settings() != here.key_settings()
    threads = BatchRequest.create("template", refine={"threads": 3})  # how fast, not what: same items
    assert threads.key_settings() == BatchRequest.create("template").key_settings()


def test_validate_refuses_missing_and_unreadable_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="template structure not found"):
        BatchRequest.create("template", {"template": str(tmp_path / "missing.pdb")}).validate()
    junk = tmp_path / "junk.pdb"
    junk.write_text("ATOM      1  N   ASN A   1      22.0x6  40.557   0.420  1.00  0.00           N\n")
    with pytest.raises(StructureFormatError, match=r"junk\.pdb, line 1"):
        BatchRequest.create("template", {"template": str(junk)}).validate()
    # a hub id is checked against the local cache (tests/predict/test_weights.py), unless a download is allowed
    assert "to download" in BatchRequest.create("esmfold", {"allow_download": True}).validate()
