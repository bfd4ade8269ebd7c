"""AppTest tests of every view against a real SQLite job store and a real finished batch folder."""

from __future__ import annotations

import re

import pytest

from tests.ui.conftest import BAD_FASTA, GOOD_FASTA, run_view
from workbench.jobs.store import JobStore
from workbench.request import BatchRequest
from workbench.ui import viewer


def _scene(at) -> str:
    """The viewer's scene script (after the inlined 3Dmol.js library)."""
    html = at.get("iframe")[0].proto.srcdoc
    assert html.count("<script>") >= 2 and "3Dmol-min.js" in html  # library inlined, not fetched
    return html.split("var $3Dmolpromise = Promise.resolve();", 1)[1]


def _plain(markdown: str) -> str:
    """What a reader sees of Markdown whose user text was escaped (:func:`workbench.ui.data.plain_text`)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _texts(at) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [_plain(e.value) for e in at.error]
    parts += [e.value for e in at.success] + [e.value for e in at.info] + [e.value for e in at.warning]
    return "\n".join(_plain(str(p)) for p in parts)


def test_submit_good_fasta_queues_a_job(workbench_home):
    at = run_view("submit")
    at.text_area(key="submit_fasta").input(GOOD_FASTA).run()
    assert not at.exception
    assert not at.error
    assert any("2 valid record" in s.value for s in at.success)
    at.text_input(key="submit_name").input("two variants").run()
    at.button(key="submit_button").click().run()
    assert not at.exception
    jobs = JobStore().list_jobs()
    assert len(jobs) == 1
    job = jobs[0]
    assert job.name == "two variants" and str(job.status) == "queued"
    assert job.inputs == {"fasta": GOOD_FASTA}
    request = BatchRequest.from_json(job.parameters)
    assert request.predictor.name == "template"
    assert request.predictor.options.template.endswith("1BHL.pdb")
    assert request.refine is not None and request.refine.md_ps == 0.0
    assert any(job.id in s.value for s in at.success)


def test_submit_example_is_valid(workbench_home):
    at = run_view("submit")
    at.button(key="submit_example").click().run()
    assert any("2 valid record" in s.value for s in at.success), [_plain(e.value) for e in at.error]


def test_submit_bad_fasta_shows_the_error_and_queues_nothing(workbench_home):
    at = run_view("submit")
    at.text_area(key="submit_fasta").input(BAD_FASTA).run()
    errors = [_plain(e.value) for e in at.error]
    assert any("record 'broken'" in e and "invalid residue '1'" in e for e in errors), errors
    at.button(key="submit_button").click().run()
    assert any("Nothing queued" in _plain(e.value) for e in at.error)
    assert JobStore().list_jobs() == []


def test_submit_esmfold_shows_memory_estimate_and_checks_the_weights(workbench_home, tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    import huggingface_hub.constants

    from tests.predict.esmfold_tiny import save_tiny_model

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty_hub_cache"))
    at = run_view("submit")
    at.selectbox(key="submit_predictor").select("esmfold").run()
    at.text_area(key="submit_fasta").input(GOOD_FASTA).run()
    assert not at.exception
    # the widget starts at the option's declared default (None: the model's own, 3 recycles for esmfold_v1)
    assert at.number_input(key="submit_num_recycles").value is None
    table = at.dataframe[0].value
    assert list(table["record"]) == ["wt", "N155H"]
    assert (table["ESMFold peak (GB, est.)"] > 5).all()
    from workbench.predict.memory import gpu_memory

    if gpu_memory() is None:
        assert "No GPU here: runs on CPU" in _texts(at)
        assert set(table["fits GPU"]) == {"no GPU"}
    else:
        assert set(table["fits GPU"]) <= {"yes", "no"}
    # the default hub weights are not on this machine: refused beside the form, with the command to fetch them
    assert any("workbench weights fetch esmfold_v1" in _plain(e.value) for e in at.error)
    at.button(key="submit_button").click().run()
    assert JobStore().list_jobs() == []
    weights = save_tiny_model(tmp_path / "weights" / "tiny_esmfold")
    at.text_input(key="submit_weights").input(str(weights)).run()  # outside the folders this server allows
    assert any(f"esmfold option weights: '{weights}' is outside the folders this server allows" in _plain(e.value)
               for e in at.error), [_plain(e.value) for e in at.error]
    for elsewhere in ("/etc", "../../etc"):  # the dispatcher's own files, or a path relative to wherever it runs
        at.text_input(key="submit_weights").input(elsewhere).run()
        assert any("esmfold option weights" in _plain(e.value) and "allow" in _plain(e.value) for e in at.error), \
            [_plain(e.value) for e in at.error]
        at.button(key="submit_button").click().run()
        assert JobStore().list_jobs() == []
    monkeypatch.setenv("WORKBENCH_FILE_ROOTS", str(tmp_path / "weights"))
    at.text_input(key="submit_weights").input(str(weights)).run()
    assert f"Checked on this machine: ESMFold weights: {weights}" in _texts(at)
    at.number_input(key="submit_num_recycles").set_value(2).run()
    at.button(key="submit_button").click().run()
    (job,) = JobStore().list_jobs()
    request = BatchRequest.from_json(job.parameters)
    assert request.predictor.name == "esmfold"
    assert (request.predictor.options.num_recycles, request.predictor.options.weights) == (2, str(weights))


def test_submit_refuses_records_the_template_cannot_model_beside_the_input(workbench_home):
    at = run_view("submit")
    at.text_area(key="submit_fasta").input(GOOD_FASTA + ">unrelated\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ\n").run()
    assert not at.exception
    errors = [_plain(e.value) for e in at.error]
    assert any(e.startswith("record 'unrelated': identity") and "esmfold" in e for e in errors), errors
    at.button(key="submit_button").click().run()
    assert JobStore().list_jobs() == []


def test_jobs_view_lists_jobs_and_cancels(workbench_home):
    store = JobStore()
    queued = store.submit({"fasta": GOOD_FASTA}, {"predictor": "template"}, name="waiting batch")
    at = run_view("jobs")
    assert not at.exception
    assert "waiting batch" in _texts(at)
    assert at.button(key=f"cancel_{queued.id}")
    at.button(key=f"cancel_{queued.id}").click().run()
    assert str(store.get(queued.id).status) == "cancelled"


def test_jobs_view_shows_progress_of_a_finished_job(finished_home):
    at = run_view("jobs")
    assert not at.exception
    text = _texts(at)
    assert "integrase variants" in text
    assert "2 / 2" in str([p.proto for p in at.get("progress")])
    at.toggle(key=f"items_{finished_home.job_id}").set_value(True).run()
    items = at.dataframe[0].value
    assert sorted(items["record"]) == ["N155H", "wt"] and set(items["status"]) == {"done"}


def test_jobs_view_empty(workbench_home):
    at = run_view("jobs")
    assert "No jobs yet" in _texts(at)


def test_results_view_shows_a_finished_batch(finished_home):
    at = run_view("results", query={"job": finished_home.job_id})
    assert not at.exception, at.exception
    assert at.selectbox(key="results_job").value == finished_home.job_id
    table = at.dataframe[0].value
    assert set(table["name"]) == {"wt integrase core", "N155H"} or set(table["name"]) == {"wt", "N155H"}
    assert list(table["rank"]) == [1, 2]
    # the viewer: one component iframe holding 3Dmol.js and the model
    scene = _scene(at)
    assert scene.count("addModel(") == 1 and "ATOM" in scene
    # template modelling has no learned confidence: no pLDDT column, filter, colouring, number or plot
    assert "mean_plddt" not in table.columns
    assert "pLDDT" not in at.radio(key="results_color").options
    assert not any(color in scene for _, color, _ in viewer.PLDDT_BANDS)
    assert "results_min_plddt" not in [s.key for s in at.get("slider")]
    assert all("pLDDT" not in str(m.proto.label) for m in at.get("metric"))
    plotly = at.get("plotly_chart")
    assert len(plotly) >= 3  # secondary structure, energies, violations
    downloads = [d.proto.label for d in at.get("download_button")]
    for label in ("Summary CSV", "Zip of the job", "model.pdb", "model.cif", "relaxed.pdb", "confidence.json"):
        assert label in downloads, downloads


@pytest.mark.parametrize("color", ["chain", "secondary structure"])
def test_results_view_colour_modes_and_overlay(finished_home, color):
    at = run_view("results", query={"job": finished_home.job_id})
    at.radio(key="results_color").set_value(color).run()
    at.radio(key="results_show").set_value("overlay").run()
    at.radio(key="results_style").set_value("sticks").run()
    assert not at.exception
    scene = _scene(at)
    assert scene.count("addModel(") == 2
    assert '"stick"' in scene


def test_results_view_labels_the_changed_residues_of_a_variant(finished_home):
    import pandas as pd

    at = run_view("results", query={"job": finished_home.job_id})
    table = pd.read_parquet(finished_home.job_dir / "summary.parquet")
    at.selectbox(key="results_item").set_value(table.loc[table["name"] == "N155H", "item"].item()).run()
    assert not at.exception
    scene = _scene(at)
    assert "addLabel" in scene and "A:HIS 155" in scene and "magentaCarbon" in scene
    assert "A:HIS 155" in _texts(at)


def test_results_view_filter_and_pick_model(finished_home):
    at = run_view("results", query={"job": finished_home.job_id})
    at.text_input(key="results_filter").input("N155").run()
    assert list(at.dataframe[0].value["name"]) == ["N155H"]
    assert not at.exception
    assert any(s.value == "N155H" for s in at.subheader)


def test_compare_view_two_models_from_a_job(finished_home):
    at = run_view("compare")
    assert not at.exception
    import pandas as pd

    table = pd.read_parquet(finished_home.job_dir / "summary.parquet")
    mutant = table.loc[table["name"] == "N155H", "item"].item()
    at.selectbox(key="cmp_item_b").set_value(mutant).run()
    assert not at.exception, at.exception
    labels = {m.label: m.value for m in at.metric}
    assert float(labels["RMSD (CA, Å)"]) < 1.0
    assert 0.9 < float(labels["TM-score"]) <= 1.0
    assert 0.5 < float(labels["lDDT"]) <= 1.0
    assert _scene(at).count("addModel(") == 2


def test_router_runs_the_submit_page(workbench_home):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    app = Path(__file__).resolve().parents[2] / "app.py"
    at = AppTest.from_file(str(app), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Submit a batch"


def test_submit_uploads_never_name_a_path(workbench_home):
    from tests.conftest import pdbfixer_1bhl

    at = run_view("submit")
    at.file_uploader(key="submit_fasta_file").upload("../../../etc/evil.fasta", GOOD_FASTA.encode(), "text/plain")
    at.run()
    assert any("2 valid record" in s.value for s in at.success)
    template = pdbfixer_1bhl().read_bytes()
    at.file_uploader(key="submit_template").upload("../../outside.pdb", template, "chemical/x-pdb").run()
    assert not at.error
    at.button(key="submit_button").click().run()
    (job,) = JobStore().list_jobs()
    saved = BatchRequest.from_json(job.parameters).predictor.options.template
    import hashlib
    from pathlib import Path

    from workbench.ui.uploads import user_key

    # in the uploader's own folder (the single user "local" here), named by content
    assert Path(saved) == workbench_home / "uploads" / user_key("local") / f"{hashlib.sha256(template).hexdigest()}.pdb"
    assert not (workbench_home.parent / "outside.pdb").exists()
    assert sorted(p.name for p in workbench_home.rglob("*") if p.is_file() and "jobs.sqlite" not in p.name) == [
        Path(saved).name]


def test_submit_refuses_an_uploaded_binary_file(workbench_home):
    at = run_view("submit")
    at.file_uploader(key="submit_fasta_file").upload("x.fasta", b"\x89PNG\r\n\x1a\n\x00\x00binary", "text/plain")
    at.run()
    assert at.error
    at.button(key="submit_button").click().run()
    assert JobStore().list_jobs() == []


def test_submit_refuses_a_bad_template(workbench_home):
    at = run_view("submit")
    at.text_area(key="submit_fasta").input(GOOD_FASTA).run()
    at.file_uploader(key="submit_template").upload("t.pdb", b"this is not a structure\n", "chemical/x-pdb").run()
    assert any("Template not accepted" in _plain(e.value) for e in at.error)
    at.button(key="submit_button").click().run()
    assert JobStore().list_jobs() == []


def test_compare_view_with_an_uploaded_structure(finished_home):
    from tests.conftest import pdbfixer_1bhl

    at = run_view("compare")
    at.radio(key="cmp_source_b").set_value("upload").run()
    at.file_uploader(key="cmp_upload_b").upload("1BHL.pdb", pdbfixer_1bhl().read_bytes(), "chemical/x-pdb").run()
    assert not at.exception, at.exception
    labels = {m.label: m.value for m in at.metric}
    assert float(labels["RMSD (CA, Å)"]) < 2.0, labels
    assert _scene(at).count("addModel(") == 2


def test_results_view_of_an_esmfold_job_shows_pae_and_chains(esmfold_home):
    import json

    import pandas as pd

    at = run_view("results", query={"job": esmfold_home.job_id})
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert set(table["name"]) == {"monomer", "dimer"} and table["ptm"].notna().all()
    iptm = dict(zip(table["name"], table["iptm"], strict=True))  # a complex's interface pTM, beside its pTM
    assert 0.0 <= iptm["dimer"] <= 1.0 and pd.isna(iptm["monomer"])
    confidence = json.loads((esmfold_home.job_dir / "dimer" / "dimer_confidence.json").read_text())
    assert iptm["dimer"] == pytest.approx(confidence["iptm"])
    at.selectbox(key="results_item").set_value(table.loc[table["name"] == "dimer", "item"].item()).run()
    assert at.radio(key="results_show").options == ["unrelaxed"]  # not refined: no relaxed model
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Predicted aligned error" in t for t in titles)
    assert any("This model was not refined" in i.value for i in at.info)
    at.radio(key="results_color").set_value("chain").run()
    scene = _scene(at)
    assert '"chain": "A"' in scene and '"chain": "B"' in scene


def test_results_view_lists_failed_records_and_copes_with_missing_files(finished_job, tmp_path, monkeypatch):
    import shutil

    import pandas as pd

    home = tmp_path / "home"
    job_dir = home / "results" / "copy"
    shutil.copytree(finished_job.job_dir, job_dir)
    table = pd.read_parquet(job_dir / "summary.parquet")
    failed = {**{c: None for c in table.columns}, "name": "broken", "id": "broken", "status": "failed",
              "error": "record 'broken': invalid residue '1' at position 4", "cached": False}
    table = pd.concat([table, pd.DataFrame([failed])], ignore_index=True)
    table.to_parquet(job_dir / "summary.parquet")
    second = table.loc[table["name"] == "N155H", "item"].item()
    for name in ("relaxed.pdb", "refinement.json", "metrics.json"):
        (job_dir / "cache" / second / name).unlink()
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    store = JobStore()
    job = store.submit({"fasta": GOOD_FASTA}, {"predictor": "template"}, name="copy")
    store.claim_next("w", 60)
    store.finish(job.id, "w", job_dir)
    at = run_view("results", query={"job": job.id})
    assert not at.exception, at.exception
    assert any("1 failed record" in e.proto.label for e in at.expander)
    assert "invalid residue '1'" in _texts(at)
    at.selectbox(key="results_item").set_value(second).run()
    assert not at.exception, at.exception
    assert at.radio(key="results_show").options == ["unrelaxed"]
    assert any("not refined" in i.value for i in at.info) and any("No metrics" in i.value for i in at.info)


def test_compare_view_pairs_a_renumbered_upload_by_alignment(workbench_home, shared_data):

    from tests.conftest import renumber_from_one
    from workbench import read_structure
    from workbench.analysis import tm_score
    from workbench.io.structure_writer import format_pdb

    extended = read_structure(shared_data / "pairs" / "1cll_A_bioemu.pdb")
    compact = shared_data / "pairs" / "5ggm_A_bioemu.pdb"
    at = run_view("compare")
    for side, name, raw in (("a", "5ggm.pdb", compact.read_bytes()),
                            ("b", "model.pdb", format_pdb(renumber_from_one(extended)).encode())):
        at.radio(key=f"cmp_source_{side}").set_value("upload").run()
        at.file_uploader(key=f"cmp_upload_{side}").upload(name, raw, "chemical/x-pdb").run()
    assert not at.exception, at.exception
    expected = tm_score(extended, read_structure(compact)).tm_score  # by the correct numbering
    assert float({m.label: m.value for m in at.metric}["TM-score"]) == pytest.approx(expected, abs=5e-4)
    assert any("model A → reference A, 144 residues aligned, 99% identical" in c.value for c in at.caption)

    at.radio(key="cmp_pairing").set_value("numbering").run()
    assert not at.exception
    assert abs(float({m.label: m.value for m in at.metric}["TM-score"]) - expected) > 0.01


def test_results_view_shows_refinement_warnings_as_plain_text(finished_job, tmp_path, monkeypatch):
    """A removed ligand's warning from refinement.json is an st.warning whose Markdown is escaped."""
    import json
    import shutil

    import pandas as pd

    home = tmp_path / "home"
    job_dir = home / "results" / "copy"
    shutil.copytree(finished_job.job_dir, job_dir)
    item = pd.read_parquet(job_dir / "summary.parquet").loc[lambda t: t["name"] == "N155H", "item"].item()
    path = job_dir / "cache" / item / "refinement.json"
    refinement = json.loads(path.read_text())
    warning = "removed 1 cofactor (A:**GDP** 301): it is not in the force field"
    path.write_text(json.dumps(refinement | {"warnings": [warning]}))
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    store = JobStore()
    job = store.submit({"fasta": GOOD_FASTA}, {"predictor": "template"}, name="copy")
    store.claim_next("w", 60)
    store.finish(job.id, "w", job_dir)
    at = run_view("results", query={"job": job.id})
    at.selectbox(key="results_item").set_value(item).run()
    assert not at.exception, at.exception
    shown = [w.value for w in at.warning]
    assert shown == [r"removed 1 cofactor \(A\:\*\*GDP\*\* 301\)\: it is not in the force field"]
    assert any(c.value.startswith(f"Kept round {refinement['kept_round']} of ") for c in at.caption)
