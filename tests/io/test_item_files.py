"""The files a batch writes, read by the programs people open them with: gemmi, Debian's mkdssp, Mol*.

A template variant (no learned confidence) and a tiny random-weight ESMFold model (pLDDT, pTM, PAE), each
run through the real pipeline (``run_batch``), then read from the record folders the batch wrote.
"""

from __future__ import annotations

import json

import gemmi
import numpy as np
import pytest

from tests.conftest import pdbfixer_1bhl
from tests.io.test_standard_files import dssp_residues, molstar, needs_mkdssp
from workbench.io.structure_reader import read_structure
from workbench.pipelines.batch import run_batch
from workbench.predict.template import TemplatePredictor
from workbench.request import BatchRequest
from workbench.results import open_results


@pytest.fixture(scope="module")
def template_batch(tmp_path_factory):
    wild_type = TemplatePredictor(pdbfixer_1bhl()).template_sequences[0]
    out = tmp_path_factory.mktemp("template") / "out"
    run_batch(BatchRequest.create("template", {"template": str(pdbfixer_1bhl())}, refine=False),
              f">wt\n{wild_type}\n", out, cluster="inprocess")
    return open_results(out)


@pytest.fixture(scope="module")
def esmfold_batch(tmp_path_factory):
    pytest.importorskip("transformers")
    from tests.predict.esmfold_tiny import save_tiny_model

    root = tmp_path_factory.mktemp("esmfold")
    weights = save_tiny_model(root / "tiny")
    run_batch(BatchRequest.create("esmfold", {"weights": str(weights)}, refine=False),
              ">monomer\nMKTAYIAKQRQISFVKSHFSRQ\n", root / "out", cluster="inprocess")
    return open_results(root / "out")


def _files(results, record):
    return results.record_files(record)


def test_gemmi_reads_labels_entities_and_quality_records(template_batch, esmfold_batch):
    for results, record, has_plddt in ((template_batch, "wt", False), (esmfold_batch, "monomer", True)):
        block = gemmi.cif.read(str(_files(results, record)["model.cif"])).sole_block()
        labels = block.find_values("_atom_site.label_seq_id")
        assert len(labels) and all(v not in (".", "?") for v in labels)  # every atom here is polymer
        assert block.find_values("_entity_poly_seq.mon_id")
        metrics = list(block.find_values("_ma_qa_metric.type"))
        assert ("pLDDT" in metrics) == has_plddt, (record, metrics)
        if has_plddt:
            confidence = json.loads(_files(results, record)["confidence.json"].read_text())
            local = np.array([float(v) for v in block.find_values("_ma_qa_metric_local.metric_value")])
            np.testing.assert_allclose(local, confidence["plddt"], atol=0.01)


@needs_mkdssp
def test_mkdssp_reads_as_many_residues_from_the_mmcif_as_from_the_pdb(template_batch, esmfold_batch, tmp_path):
    for results, record in ((template_batch, "wt"), (esmfold_batch, "monomer")):
        files = _files(results, record)
        residues = len(read_structure(files["model.cif"]).residues)
        assert dssp_residues(files["model.cif"], tmp_path) == dssp_residues(files["model.pdb"], tmp_path) == residues


def test_molstar_finds_plddt_only_where_there_is_one(template_batch, esmfold_batch):
    template, esmfold = molstar(_files(template_batch, "wt")["model.cif"],
                                _files(esmfold_batch, "monomer")["model.cif"])
    assert not template["plddt_applicable"] and template["plddt_residues"] == 0
    assert esmfold["plddt_applicable"] and esmfold["plddt_residues"] == esmfold["residues"] == 22
    assert esmfold["pae_pairs"] == 22 * 22


def test_pae_json_in_alphafold_db_format(esmfold_batch):
    files = _files(esmfold_batch, "monomer")
    (entry,) = json.loads(files["pae.json"].read_text())
    confidence = json.loads(files["confidence.json"].read_text())
    np.testing.assert_allclose(entry["predicted_aligned_error"], confidence["pae"], atol=0.051)
    assert entry["max_predicted_aligned_error"] == pytest.approx(max(map(max, confidence["pae"])), abs=0.051)
