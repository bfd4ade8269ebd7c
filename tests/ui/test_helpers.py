"""Unit tests of the UI helpers: uploads, the memory estimate, the viewer HTML, plots, data loading, launch."""

from __future__ import annotations

import gzip
import hashlib
import json
import zipfile
from datetime import UTC, datetime, timedelta
from io import BytesIO
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import pdbfixer_1bhl
from tests.ui.conftest import BAD_FASTA, GOOD_FASTA
from workbench.io.structure_reader import read_structure
from workbench.io.structure_writer import format_mmcif
from workbench.predict import memory
from workbench.ui import data, launch, plots, uploads, viewer

# -- uploads ---------------------------------------------------------------------------------------------------------


def test_check_fasta_good_and_bad():
    good = uploads.check_fasta(GOOD_FASTA)
    assert good.ok and [r.id for r in good.records] == ["wt", "N155H"]
    bad = uploads.check_fasta(BAD_FASTA)
    assert not bad.ok and len(bad.records) == 1
    assert len(bad.errors) == 1 and "record 'broken'" in bad.errors[0] and "line 4" in bad.errors[0]
    assert "<bytes>" not in bad.errors[0]


@pytest.mark.parametrize("text", ["", "   \n", "MKV\n", "\x00\x01binary"])
def test_check_fasta_refuses_what_is_not_fasta(text):
    check = uploads.check_fasta(text)
    assert not check.ok and check.errors


def test_check_fasta_size_limit():
    big = ">a\n" + "A" * (uploads.FASTA_LIMIT + 1) + "\n"
    check = uploads.check_fasta(big)
    assert not check.ok and "limit is 5 MB" in check.errors[0]


def test_save_template_names_the_file_by_content(tmp_path):
    raw = pdbfixer_1bhl().read_bytes()
    path = uploads.save_template(raw, tmp_path)
    assert path == tmp_path / "uploads" / f"{hashlib.sha256(raw).hexdigest()}.pdb"
    assert path.read_bytes() == raw
    again = uploads.save_template(gzip.compress(raw), tmp_path)  # gzipped: stored unpacked, same name
    assert again == path
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == [path.name]


def test_save_template_mmcif_gets_cif_suffix(tmp_path):
    text = format_mmcif(read_structure(pdbfixer_1bhl())).encode()
    assert uploads.save_template(text, tmp_path).suffix == ".cif"


@pytest.mark.parametrize("raw, message", [
    (b"not a structure at all\n", "."),
    (b"\x1f\x8b\x08broken gzip", "gzip"),
])
def test_save_template_refuses_bad_files_and_writes_nothing(tmp_path, raw, message):
    with pytest.raises(uploads.UploadError, match=message):
        uploads.save_template(raw, tmp_path)
    assert not (tmp_path / "uploads").exists()


def test_structure_size_limit():
    with pytest.raises(uploads.UploadError, match="limit is 20 MB"):
        uploads.parse_structure(b"A" * (uploads.STRUCTURE_LIMIT + 1))


def test_default_template_exists():
    assert uploads.default_template().is_file()


# -- memory estimate ------------------------------------------------------------------------------------------------


def test_memory_estimate_grows_with_length_and_chunking_helps():
    short, long = memory.estimate(100), memory.estimate(2000)
    assert long.total > short.total > memory.estimate(50).weights
    assert memory.estimate(1500, None).attention > memory.estimate(1500, 64).attention * 20
    assert memory.estimate(300).chunk_size is None and memory.estimate(1500).chunk_size == 64


def test_memory_fits():
    assert memory.fits(200, 80e9)
    assert not memory.fits(200, 4e9)  # the 3B language model alone needs more
    assert not memory.fits(3000, 24e9) and memory.fits(3000, 141e9)


def test_memory_rejects_bad_input():
    with pytest.raises(ValueError):
        memory.estimate(0)
    with pytest.raises(ValueError):
        memory.estimate(100, -4)


def test_memory_tokens_count_linkers():
    assert memory.tokens(("A" * 100,)) == 100
    assert memory.tokens(("A" * 100, "C" * 50)) == 175


# -- viewer ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template():
    return read_structure(pdbfixer_1bhl())


def test_plddt_band_colours():
    assert [viewer.plddt_color(v) for v in (100, 90.01, 90, 70.01, 70, 50.01, 50, 0)] == [
        "#0053D6", "#0053D6", "#65CBF3", "#65CBF3", "#FFDB13", "#FFDB13", "#FF7D45", "#FF7D45"]


def test_plddt_colours_cover_every_residue(template):
    residues = template.residues
    values = np.linspace(0, 100, len(residues))
    selections = viewer.plddt_colors(template, values)
    covered = sum(len(sel["resi"]) for sel, _ in selections)
    assert covered == len(residues)
    assert {c for _, c in selections} == {"#0053D6", "#65CBF3", "#FFDB13", "#FF7D45"}


def test_ss_colours_from_string_or_dssp(template):
    n = len(template.residues)
    given = viewer.ss_colors(template, "H" * n)
    assert {c for _, c in given} == {viewer.SS_COLORS["H"]}
    computed = viewer.ss_colors(template, None)  # computed with DSSP
    assert {c for _, c in computed} >= {viewer.SS_COLORS["H"], viewer.SS_COLORS["E"]}


def test_viewer_html_inlines_3dmol_and_needs_no_network(template):
    pdb = pdbfixer_1bhl().read_text()
    html = viewer.viewer_html([viewer.Layer(pdb, viewer.chain_colors(template)),
                               viewer.Layer(pdb, viewer.uniform_colors("#9E9E9E"), "sticks", 0.5)])
    assert viewer.threedmol_js()[:200] in html
    assert f"3dmol v{viewer.THREEDMOL_VERSION}" in (viewer.STATIC / "3Dmol-min.js.LICENSE.txt").read_text()
    scene = html.split("var $3Dmolpromise = Promise.resolve();", 1)[1]
    assert "https://" not in scene and scene.count("addModel(") == 2
    assert '"stick"' in scene and '"cartoon"' in scene
    with pytest.raises(ValueError):
        viewer.viewer_html([viewer.Layer(pdb, style="spheres")])


def test_viewer_html_cannot_be_broken_out_of():
    pdb = "REMARK 999 </script><script>alert(1)</script>\n" + pdbfixer_1bhl().read_text()
    html = viewer.viewer_html([viewer.Layer(pdb)])
    scene = html.split("var $3Dmolpromise = Promise.resolve();", 1)[1]
    assert "alert(1)" in scene and "<script>alert" not in scene and scene.count("</script>") == 2


# -- plots ----------------------------------------------------------------------------------------------------------


def test_plots_build_from_result_data():
    assert len(plots.plddt_figure([90, 80, 40]).data) == 1
    pae = plots.pae_figure([[0, 5], [5, 0]])
    assert pae.data[0].type == "heatmap"
    refinement = {"energy_before_kj_mol": 100.0, "energy_after_kj_mol": -50.0, "restraint_energy_after_kj_mol": 3.0,
                  "violations_before": {"counts": {"clash": 2, "bond": 0}},
                  "violations_after": {"counts": {"clash": 0, "bond": 0}}}
    assert list(plots.energy_figure(refinement).data[0].y) == [100.0, -50.0]
    violations = plots.violations_figure(refinement)
    assert [list(t.y) for t in violations.data] == [[0, 2], [0, 0]]
    assert list(plots.secondary_structure_figure("HHEE--C").data[0].z[0]) == [2, 2, 1, 1, 0, 0, 0]


# -- data -----------------------------------------------------------------------------------------------------------


def test_item_keys_guard_paths(tmp_path):
    assert data.item_dir(tmp_path, "0123456789abcdef") == tmp_path / "cache" / "0123456789abcdef"
    (tmp_path / "fedcba9876543210").mkdir()  # a batch folder written before items moved into cache/
    assert data.item_dir(tmp_path, "fedcba9876543210") == tmp_path / "fedcba9876543210"
    for bad in ("../../etc", "0123456789ABCDEF", "0123456789abcde", "/etc/passwd"):
        with pytest.raises(ValueError):
            data.item_dir(tmp_path, bad)


def test_load_item_is_defensive(tmp_path):
    folder = tmp_path / "0123456789abcdef"
    folder.mkdir()
    (folder / "confidence.json").write_text(json.dumps({"plddt": [50.0], "pae": None}))
    (folder / "metrics.json").write_text("{broken")
    item = data.load_item(tmp_path, "0123456789abcdef")
    assert item.confidence == {"plddt": [50.0], "pae": None}
    assert item.metrics is None and item.model_pdb is None and item.relaxed_pdb is None
    assert list(item.files) == ["confidence.json", "metrics.json"]


def test_zip_folder_holds_the_named_files_not_the_cache(tmp_path):
    job = tmp_path / "job"
    (job / "cache" / "0123456789abcdef").mkdir(parents=True)
    (job / "T66I").mkdir()
    (job / "summary.csv").write_text("name\n")
    (job / "cache" / "0123456789abcdef" / "model.pdb").write_text("END\n")
    (job / "T66I" / "T66I_model.pdb").write_text("END\n")
    names = zipfile.ZipFile(BytesIO(data.zip_folder(job))).namelist()
    assert sorted(names) == ["job/T66I/T66I_model.pdb", "job/summary.csv"]


def test_elapsed_and_progress():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    job = SimpleNamespace(started_at=start, finished_at=start + timedelta(seconds=75))
    assert data.format_seconds(data.elapsed(job)) == "1 min 15 s"
    assert data.elapsed(SimpleNamespace(started_at=None, finished_at=None)) is None
    assert data.progress_fraction({"total": 2, "done": 2}) == (1.0, "2 / 2")


# -- launch ---------------------------------------------------------------------------------------------------------


def test_launch_command_runs_the_installed_entry_script():
    cmd = launch.command(8600, "127.0.0.1")
    assert cmd[4] == str(launch.ENTRY) and launch.ENTRY.is_file()
    assert cmd[cmd.index("--server.port") + 1] == "8600"
    assert cmd[cmd.index("--server.headless") + 1] == "true"


def test_launch_prints_the_dispatcher_hint_and_passes_the_store(monkeypatch, capsys, tmp_path):
    seen = {}

    class FakeProcess:
        def __init__(self, cmd, env):
            seen["cmd"], seen["env"] = cmd, env

        def wait(self, timeout=None):
            return 0

        def poll(self):
            return 0

    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    monkeypatch.setattr(launch.subprocess, "Popen", FakeProcess)
    url = f"sqlite:///{tmp_path / 'other.sqlite'}"
    assert launch.launch(port=8601, store_url=url) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8601" in out and "workbench serve --store" in out
    assert seen["env"]["WORKBENCH_STORE_URL"] == url
