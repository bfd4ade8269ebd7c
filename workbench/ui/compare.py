"""Compare view: two structures (from jobs or uploaded), superposed, with RMSD, TM-score and lDDT.

The second structure is moved onto the first (the reference) and scored by
:func:`workbench.analysis.compare`. Residues are paired by sequence alignment
unless the user picks residue numbering. Uploads are parsed in memory and never
written to disk.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from workbench.analysis import PAIRINGS, compare
from workbench.io.structure_writer import format_pdb
from workbench.structure import Structure
from workbench.ui import auth, data, viewer
from workbench.ui.results import load_structure
from workbench.ui.uploads import MB, STRUCTURE_LIMIT, UploadError, parse_structure

SOURCES = ("from a job", "upload")
PAIRING_LABELS = {"alignment": "sequence alignment", "numbering": "residue numbering"}


@st.cache_data(show_spinner=False, max_entries=8)
def _parse_upload(raw: bytes) -> Structure:
    return parse_structure(raw)[0]


def _from_job(viewer_: auth.Viewer, side: str) -> tuple[Structure | None, str]:
    jobs = [j for j in data.jobs_for(viewer_) if j.result_path]
    if not jobs:
        st.info("No jobs with results yet; upload a structure instead.")
        return None, ""
    by_id = {j.id: j for j in jobs}
    job_id = st.selectbox("Job", list(by_id), format_func=lambda i: data.job_label(by_id[i]), key=f"cmp_job_{side}")
    job_dir = Path(by_id[job_id].result_path)
    table = data.load_summary(job_dir)
    if table is None or "item" not in table:
        st.warning("This job has no summary table.")
        return None, ""
    done = table[table["status"] == "done"] if "status" in table else table
    names = dict(zip(done["item"].astype(str), done["name"].astype(str), strict=False))
    if not names:
        st.warning("No successful model in this job.")
        return None, ""
    # by default the model side shows the second model (or the relaxed first one), so the two differ
    second = side == "b" and len(names) > 1
    item = st.selectbox("Model", list(names), format_func=lambda key: names[key], key=f"cmp_item_{side}",
                        index=int(second))
    if item is None:  # pragma: no cover - a selectbox over a non-empty list always has a value
        return None, ""
    kinds = ["model.pdb", "relaxed.pdb"]
    relaxed_default = side == "b" and not second and (data.item_dir(job_dir, item) / "relaxed.pdb").is_file()
    kind = st.radio("Which", kinds, horizontal=True, key=f"cmp_kind_{side}", index=int(relaxed_default))
    structure = load_structure(data.item_dir(job_dir, item) / kind)
    if structure is None:
        st.warning(f"{data.plain_text(names[item])} has no {kind}.")
    return structure, f"{names[item]} ({kind.removesuffix('.pdb')})"


def _from_upload(side: str) -> tuple[Structure | None, str]:
    upload = st.file_uploader("PDB or mmCIF", type=["pdb", "ent", "cif", "mmcif", "gz"], key=f"cmp_upload_{side}",
                              max_upload_size=STRUCTURE_LIMIT // MB,
                              help=f"At most {STRUCTURE_LIMIT // MB} MB; read in memory, not saved.")
    if upload is None:
        return None, ""
    try:
        structure = _parse_upload(upload.getvalue())
    except UploadError as exc:
        st.error(f"Not accepted: {data.plain_text(exc)}")
        return None, ""
    return structure, "uploaded structure"


def _side(viewer_: auth.Viewer, side: str, title: str) -> tuple[Structure | None, str]:
    st.subheader(title)
    source = st.radio("Source", SOURCES, horizontal=True, key=f"cmp_source_{side}")
    return _from_job(viewer_, side) if source == SOURCES[0] else _from_upload(side)


def _describe(structure: Structure) -> str:
    return f"{len(structure.residues)} residues, chains {', '.join(structure.chains)}"


def page() -> None:
    """Render the Compare view."""
    viewer_ = auth.current_viewer()
    st.title("Compare two structures")
    left, right = st.columns(2, gap="large")
    with left:
        reference, ref_label = _side(viewer_, "a", "Reference")
    with right:
        model, model_label = _side(viewer_, "b", "Model (moved onto the reference)")
    if reference is None or model is None:
        st.info("Pick two structures to superpose them.")
        return
    st.caption(data.plain_text(f"Reference: {ref_label}, {_describe(reference)}. "
                               f"Model: {model_label}, {_describe(model)}."))
    pairing = st.radio("Pair residues by", PAIRINGS, format_func=PAIRING_LABELS.get, horizontal=True,
                       key="cmp_pairing",
                       help="Sequence alignment pairs a model numbered from 1 with a structure numbered as in "
                            "UniProt; residue numbering pairs by chain, number and insertion code (TM-score's rule).")
    try:
        result = compare(model, reference, pairing=pairing)
    except ValueError as exc:
        st.error(f"Cannot compare these two: {data.plain_text(exc)}")
        return
    cols = st.columns(4)
    cols[0].metric("RMSD (CA, Å)", f"{result.rmsd:.2f}", help=f"{result.n_pairs} CA pairs after superposition")
    cols[1].metric("TM-score", f"{result.tm.tm_score:.3f}", help="normalised by the reference length")
    cols[2].metric("GDT-TS", f"{result.tm.gdt_ts:.3f}")
    cols[3].metric("lDDT", f"{result.lddt:.3f}", help="all heavy atoms, 15 Å inclusion radius")
    if result.chains:
        st.caption("Chains paired: " + "; ".join(
            f"model {c.model_chain} → reference {c.reference_chain}, {c.aligned} residues aligned, "
            f"{c.identity:.0%} identical" for c in result.chains))
    layers = [viewer.Layer(format_pdb(reference), viewer.uniform_colors(viewer.PAIR_COLORS[0]), "cartoon"),
              viewer.Layer(format_pdb(result.superposed), viewer.uniform_colors(viewer.PAIR_COLORS[1]), "trace")]
    viewer.render(layers, height=520)
    st.markdown(f"<span style='color:{viewer.PAIR_COLORS[0]}'>■</span> reference &nbsp; "
                f"<span style='color:{viewer.PAIR_COLORS[1]}'>■</span> model, superposed (backbone trace)",
                unsafe_allow_html=True)
