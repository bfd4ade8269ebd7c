"""Only a predictor's B-factors are pLDDT: experimental and odd files, lone AlphaFold3-style models, item folders.

Experimental structures and edge files come from ../shared/data (skipped when
absent) and are read in place; AlphaFold3, Boltz, Chai-1 and Protenix mmCIFs are
written here with the records those tools write (AlphaFold3's
``mmcif_metadata.py``: ``_software.name`` AlphaFold, version
``AlphaFold-beta-20231127``, ``_ma_qa_metric_local`` as the mean of each
residue's atom pLDDT; Boltz's and Chai-1's python-modelcif writers: ``Model
subunit`` chain details, ``Chai-1 predicted structure`` title, per-residue
pLDDT; Protenix's ``*_predicted_by_protenix`` data block, atom pLDDT in the
B-factors), since the shared data holds none.
"""

from __future__ import annotations

import dataclasses
import shutil
import warnings

import gemmi
import numpy as np
import pytest

from tests.predict.test_imported_formats import LIGAND_ATOMS, N_RES, model, pae_matrix, plddt_values
from workbench import StructureFormatError
from workbench.cli import main
from workbench.io import format_mmcif
from workbench.predict.base import Prediction, Provenance
from workbench.predict.imported import (
    ConfidenceWarning,
    NotAPredictionError,
    import_prediction,
    import_predictions,
    import_to_folder,
)
from workbench.results import ItemFolder
from workbench.structure import Structure

AFDB = "AF-Q5VSL9-F1-model_v4.pdb"


# -- experimental and odd files: none comes out with a pLDDT ------------------------------------


def shared_files(shared_data) -> list:
    return sorted(p for folder in ("edge", "structures") for p in (shared_data / folder).iterdir() if p.is_file())


def test_no_experimental_or_edge_file_gets_a_plddt(shared_data):
    """All 41 files of edge/ (20) and structures/ (21) are refused, each with a one-line reason naming it.

    38 are refused as not predictions (20 with experimental markers: 18 structures with a method or
    resolution record, 2 edge files with ANISOU records; 18 for B-factors that are not a
    pLDDT); 3 cannot be read as structures at all (header only, two broken ensembles).
    """
    results = []
    for folder in ("edge", "structures"):
        results += import_predictions(shared_data / folder, all_models=True)
    files = shared_files(shared_data)
    assert len(files) == 41 and len(results) == 41
    refused = {name: str(r) for name, r in results if isinstance(r, NotAPredictionError)}
    unreadable = {name: str(r) for name, r in results if type(r) is StructureFormatError}
    assert not [name for name, r in results if isinstance(r, Prediction)]
    assert len(refused) == 38 and len(unreadable) == 3
    experimental = {name for name, text in refused.items() if "an experimental structure" in text}
    assert len(experimental) == 20
    assert "1ubq" in experimental and "7pbl" in experimental and "1l2y" in experimental
    assert "\n" not in "".join(refused.values())
    assert refused["1ubq"] == (
        "1ubq.pdb: an experimental structure (X-RAY DIFFRACTION, 1.8 Å), not a prediction; its B-factors are not "
        "pLDDT. Use `workbench info`/`refine` on it, or --as-prediction to import it with no confidence"
    )
    assert "SOLUTION NMR, 38 models" in refused["1l2y"]
    # no header at all: told apart by what predictors never write
    assert "fractional occupancies" in refused["1bpi"]
    assert "rise from the CA to the side chain" in refused["5dfr_openmm_minimized"]
    assert "zero everywhere" in refused["1enh_bioemu_processed"]


def test_as_prediction_imports_them_with_no_confidence(shared_data, tmp_path):
    """The same 41 files with as_prediction: 38 imported with plddt None (kind "none"), 3 unreadable."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = {}
        for folder in ("edge", "structures"):
            written |= dict(import_to_folder(shared_data / folder, tmp_path / folder, all_models=True,
                                             as_prediction=True))  # fmt: skip
    assert len(written) == 41
    imported = {name: paths for name, paths in written.items() if isinstance(paths, dict)}
    assert len(imported) == 38
    for folder in ("edge", "structures"):
        for item in (tmp_path / folder).iterdir():
            confidence = ItemFolder(item).confidence()
            assert confidence.kind == "none" and confidence.plddt is None and confidence.mean_plddt is None
            model_b = ItemFolder(item).model().b_factor
            assert not model_b[ItemFolder(item).model().polymer].any()  # old B-factors not carried over
    messages = [str(w.message) for w in caught if issubclass(w.category, ConfidenceWarning)]
    assert len(messages) == 38
    assert ("1ubq.pdb: an experimental structure (X-RAY DIFFRACTION, 1.8 Å) imported with no confidence "
            "(--as-prediction): its B-factors are not pLDDT") in messages  # fmt: skip
    prediction = import_prediction(shared_data / "structures" / "1ubq.pdb", as_prediction=True)
    assert prediction.plddt is None and prediction.confidence_kind == "none"
    assert prediction.provenance.method == "experimental"
    assert prediction.provenance.parameters["resolution"] == pytest.approx(1.8)


def test_experimental_file_refused_even_with_a_format(shared_data):
    with pytest.raises(NotAPredictionError, match="an experimental structure"):
        import_prediction(shared_data / "structures" / "1crn.cif", format="alphafold3")


def test_predictions_keep_their_plddt(shared_data):
    results = dict(import_predictions(shared_data / "predicted"))
    for name, prediction in results.items():
        assert isinstance(prediction, Prediction), name
        assert prediction.confidence_kind == "plddt" and prediction.mean_plddt > 50


def test_bfactors_that_look_like_plddt_warn_that_they_were_inferred(tmp_path):
    path = tmp_path / "unknown.cif"
    path.write_text(format_mmcif(model(plddt_values(1))))
    with pytest.warns(ConfidenceWarning, match="unknown.cif: no predictor recognised; its B-factors are read as"):
        prediction = import_prediction(path)
    assert prediction.confidence_kind == "plddt"


def test_rising_side_chain_bfactors_are_not_plddt(tmp_path):
    base = model(plddt_values(2))  # backbone atoms below the CA, side chains above it: as in a crystal
    side = ~np.isin(base.atom_name, ["N", "CA", "C", "O"])
    ca = base.b_factor[base.atom_name == "CA"][base.residue_index]
    crystal = dataclasses.replace(base, b_factor=np.where(side, ca + 8.0, base.b_factor))
    path = tmp_path / "crystal.cif"
    path.write_text(format_mmcif(crystal))
    with pytest.raises(NotAPredictionError, match=r"crystal\.cif: not recognised as a prediction \(B-factors rise"):
        import_prediction(path)
    # the user may vouch for the tool: then its B-factors are its pLDDT
    assert import_prediction(path, format="esmfold").confidence_kind == "plddt"


# -- AlphaFold3, Boltz, Chai-1, Protenix models alone ---------------------------------------------


def residue_means(structure: Structure) -> np.ndarray:
    starts = structure.residue_starts
    polymer = structure.polymer[starts[:-1]]
    return np.array([structure.b_factor[starts[i]:starts[i + 1]].mean() for i in np.flatnonzero(polymer)])


def tool_cif(structure: Structure, tool: str, local: np.ndarray | None = None) -> str:
    """``structure`` as mmCIF with the records ``tool`` writes, and per-residue pLDDT ``local`` when given."""
    doc = gemmi.cif.read_string(format_mmcif(structure))
    block = doc.sole_block()
    group, auth_seq = block.find_values("_atom_site.group_PDB"), block.find_values("_atom_site.auth_seq_id")
    label_seq = block.find_values("_atom_site.label_seq_id")
    for i in range(len(label_seq)):  # the tools number polymer residues in label_seq_id; our writer leaves it out
        label_seq[i] = auth_seq[i] if group[i] == "ATOM" else "."
    if tool == "alphafold3":
        block.set_pair("_software.name", "AlphaFold")
        block.set_pair("_software.version", gemmi.cif.quote("AlphaFold-beta-20231127 (abc)"))
    elif tool == "boltz":
        asym = block.find("_struct_asym.", ["id", "entity_id"])
        rows = [(row.str(0), row.str(1)) for row in asym]
        loop = block.init_mmcif_loop("_struct_asym.", ["id", "entity_id", "details"])
        for k, (asym_id, entity) in enumerate(rows):
            loop.add_row([asym_id, entity, gemmi.cif.quote(f"Model subunit {'AB'[k]}")])
        loop = block.init_mmcif_loop("_ma_model_list.", ["ordinal_id", "model_id", "model_name", "model_group_name"])
        loop.add_row(["1", "1", "Model", gemmi.cif.quote("All models")])
    elif tool == "chai1":
        block.set_pair("_struct.title", gemmi.cif.quote("Chai-1 predicted structure"))
    elif tool == "protenix":
        block.name = "job_sample_0_predicted_by_protenix"
    if local is not None:
        loop = block.init_mmcif_loop("_ma_qa_metric.", ["id", "name", "type", "mode"])
        loop.add_row(["1", "pLDDT", "pLDDT", "global"])
        loop.add_row(["2", "pLDDT", "pLDDT", "local"])
        sites = block.find("_atom_site.", ["label_asym_id", "label_seq_id", "label_comp_id"])
        keys = list(dict.fromkeys((r.str(0), r.str(1), r.str(2)) for r in sites if r.str(1)))
        assert len(keys) == local.size
        loop = block.init_mmcif_loop("_ma_qa_metric_local.", ["ordinal_id", "model_id", "label_asym_id",
                                                             "label_seq_id", "label_comp_id", "metric_id",
                                                             "metric_value"])  # fmt: skip
        for k, ((asym_id, seq, comp), value) in enumerate(zip(keys, local, strict=True), start=1):
            loop.add_row([str(k), "1", asym_id, seq, comp, "2", f"{value:.6g}"])
    return doc.as_string()


def warned(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, ConfidenceWarning)]


def test_alphafold3_server_model_alone(tmp_path):
    structure = model(plddt_values(5), ligand=True)
    means = np.round(residue_means(structure), 2)
    (tmp_path / "fold_x_model_0.cif").write_text(tool_cif(structure, "alphafold3", local=means))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prediction = import_prediction(tmp_path / "fold_x_model_0.cif")
    assert warned(caught) == [
        "fold_x_model_0.cif: AlphaFold3 model without its summary_confidences / full_data JSON "
        "(fold_x_summary_confidences_0.json, fold_x_full_data_0.json): pTM, ipTM and PAE are missing; "
        "pLDDT from _ma_qa_metric_local"
    ]
    assert prediction.provenance.method == "alphafold3" and prediction.name == "fold_x"
    np.testing.assert_allclose(prediction.plddt, means, atol=1e-3)  # the mmCIF's per-residue means, not the CA's
    assert not np.allclose(prediction.plddt, structure.b_factor[structure.atom_name == "CA"])
    assert prediction.ptm is None and prediction.iptm is None and prediction.pae is None
    assert prediction.provenance.parameters["missing_confidence_files"] == [
        "fold_x_summary_confidences_0.json", "fold_x_full_data_0.json"]


def test_alphafold3_recognised_by_its_records_under_any_name(tmp_path):
    structure = model(plddt_values(6))
    (tmp_path / "renamed.cif").write_text(tool_cif(structure, "alphafold3"))
    with pytest.warns(ConfidenceWarning, match="renamed.cif: AlphaFold3 model without its"):
        prediction = import_prediction(tmp_path / "renamed.cif")
    assert prediction.provenance.method == "alphafold3"
    np.testing.assert_allclose(prediction.plddt, structure.b_factor[structure.atom_name == "CA"], atol=1e-3)


def test_boltz_model_alone(tmp_path):
    plddt = plddt_values(7)
    structure = model(plddt, ligand=True)
    folder = tmp_path / "predictions" / "job"
    folder.mkdir(parents=True)
    (folder / "job_model_0.cif").write_text(tool_cif(structure, "boltz", local=plddt))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (name, prediction), = import_predictions(tmp_path)
    assert warned(caught) == [
        "job_model_0.cif: Boltz model without its confidence JSON / pae npz (confidence_job_model_0.json, "
        "pae_job_model_0.npz): pTM, ipTM and PAE are missing; pLDDT from _ma_qa_metric_local"
    ]
    assert name == "job" and prediction.provenance.method == "boltz"
    np.testing.assert_allclose(prediction.plddt, plddt, atol=1e-3)


def test_chai1_model_alone_on_a_0_1_scale(tmp_path):
    fractions = plddt_values(8, scale=1.0)
    structure = model(fractions, ligand=True, scale=1.0)
    (tmp_path / "pred.model_idx_0.cif").write_text(tool_cif(structure, "chai1", local=fractions))
    with pytest.warns(ConfidenceWarning, match=r"pred\.model_idx_0\.cif: Chai-1 model without its scores npz "
                                               r"\(scores\.model_idx_0\.npz\): pTM and ipTM are missing"):
        prediction = import_prediction(tmp_path / "pred.model_idx_0.cif")
    assert prediction.provenance.method == "chai1"
    assert prediction.provenance.parameters["plddt_rescaled"] is True
    np.testing.assert_allclose(prediction.plddt, fractions * 100, atol=0.01)


@pytest.mark.parametrize("atom_plddt", [True, False], ids=["atom-plddt", "no-atom-confidence"])
def test_protenix_model_alone(tmp_path, atom_plddt):
    plddt = plddt_values(9)
    structure = model(plddt if atom_plddt else np.zeros(N_RES), ligand=True, scale=100.0 if atom_plddt else 0.0)
    (tmp_path / "job_sample_0.cif").write_text(tool_cif(structure, "protenix"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prediction = import_prediction(tmp_path / "job_sample_0.cif")
    (message,) = warned(caught)
    assert message.startswith("job_sample_0.cif: Protenix model without its summary_confidence / full_data JSON "
                              "(job_summary_confidence_sample_0.json, job_full_data_sample_0.json): ")  # fmt: skip
    assert prediction.provenance.method == "protenix"
    if atom_plddt:
        assert message.endswith("pTM, ipTM and PAE are missing; pLDDT from the B-factor column")
        np.testing.assert_allclose(prediction.plddt, plddt, atol=1e-3)
    else:  # Protenix writes pLDDT only when asked for atom confidences: the zeros are no pLDDT
        assert message.endswith("pTM, ipTM, PAE and pLDDT are missing")
        assert prediction.plddt is None and prediction.confidence_kind == "none"


def test_complete_alphafold3_result_gives_no_warning(tmp_path):
    from tests.predict.test_imported_formats import write_alphafold3

    write_alphafold3(tmp_path, server=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prediction = import_prediction(tmp_path)
    assert not warned(caught) and prediction.ptm is not None and prediction.pae is not None


# -- the workbench's own item folders -----------------------------------------------------------


def made_prediction(with_plddt: bool) -> Prediction:
    plddt = plddt_values(11)
    structure = model(plddt, ligand=True)
    n = N_RES
    return Prediction(
        structure=structure,
        plddt=plddt if with_plddt else None,
        ptm=0.71 if with_plddt else None,
        pae=pae_matrix(n, 3) if with_plddt else None,
        provenance=Provenance(
            method="esmfold" if with_plddt else "template", model="m1", parameters={"chunk": 64}, sources=("in.fasta",)
        ),
        iptm=0.4 if with_plddt else None,
        name="design_7",
    )


@pytest.mark.parametrize("with_plddt", [True, False], ids=["plddt", "no-plddt"])
def test_item_folder_reads_back_equal(tmp_path, with_plddt):
    original = made_prediction(with_plddt)
    item = tmp_path / "results" / "0f3a"
    ItemFolder(item).write_prediction(original)
    (item / "relaxed.pdb").write_text((item / "model.pdb").read_text())  # not a second result
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        back = import_prediction(item)
        (name, listed), = import_predictions(tmp_path)
    assert not warned(caught)
    assert name == "design_7" and back.name == "design_7"
    for prediction in (back, listed):
        assert prediction.confidence_kind == original.confidence_kind
        assert prediction.provenance == original.provenance
        assert prediction.ptm == original.ptm and prediction.iptm == original.iptm
        if with_plddt:
            np.testing.assert_allclose(prediction.plddt, original.plddt, atol=0.005)
            np.testing.assert_allclose(prediction.pae, original.pae, atol=0.005)
        else:
            assert prediction.plddt is None and prediction.pae is None
        np.testing.assert_allclose(prediction.structure.coords, original.structure.coords, atol=1e-3)
        assert prediction.structure.sequences == original.structure.sequences
        assert len(prediction.structure) == len(original.structure) == original.structure.n_atoms
    assert len(LIGAND_ATOMS) == int(np.count_nonzero(back.structure.hetero))


def test_item_folder_with_a_contradictory_kind(tmp_path):
    ItemFolder(tmp_path / "item").write_prediction(made_prediction(True))
    text = (tmp_path / "item" / "confidence.json").read_text().replace('"kind": "plddt"', '"kind": "none"')
    (tmp_path / "item" / "confidence.json").write_text(text)
    with pytest.raises(StructureFormatError, match=r"confidence\.json: confidence kind 'none' does not fit"):
        import_prediction(tmp_path / "item")


# -- the command ---------------------------------------------------------------------------------


def test_import_command_refuses_the_experimental_file_and_imports_the_afdb_model(shared_data, tmp_path, capsys):
    """Exit status 1 when any file is not imported (the rest are imported all the same), 0 when all are."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(shared_data / "structures" / "1ubq.pdb", folder)
    shutil.copy(shared_data / "predicted" / AFDB, folder)
    out = tmp_path / "out"
    assert main(["import", str(folder), "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert ("1ubq: not imported: 1ubq.pdb: an experimental structure (X-RAY DIFFRACTION, 1.8 Å), not a prediction; "
            "its B-factors are not pLDDT.") in captured.err  # fmt: skip
    assert "imported 1 of 2" in captured.out
    assert sorted(p.name for p in out.iterdir()) == ["AF-Q5VSL9-F1"]
    assert ItemFolder(out / "AF-Q5VSL9-F1").confidence().kind == "plddt"

    again = tmp_path / "again"
    assert main(["import", str(folder), "-o", str(again), "--as-prediction"]) == 0
    captured = capsys.readouterr()
    assert ("workbench import: warning: 1ubq.pdb: an experimental structure (X-RAY DIFFRACTION, 1.8 Å) imported "
            "with no confidence (--as-prediction): its B-factors are not pLDDT") in captured.err  # fmt: skip
    assert "imported 2 of 2" in captured.out
    confidence = ItemFolder(again / "1ubq").confidence()
    assert confidence.kind == "none" and confidence.plddt is None
    assert ItemFolder(again / "AF-Q5VSL9-F1").confidence().mean_plddt > 50

    # the command's own output folder reads back: same confidence, no warnings
    third = tmp_path / "third"
    assert main(["import", str(again), "-o", str(third)]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err
    np.testing.assert_allclose(ItemFolder(third / "AF-Q5VSL9-F1").confidence().plddt,
                               ItemFolder(again / "AF-Q5VSL9-F1").confidence().plddt)  # fmt: skip
    assert ItemFolder(third / "1ubq").confidence().kind == "none"
    assert ItemFolder(third / "1ubq").provenance()["method"] == "experimental"
