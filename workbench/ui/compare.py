"""Compare view: two structures (from jobs or uploaded), superposed, with RMSD, TM-score and lDDT.

The second structure is moved onto the first (the reference) with
:func:`workbench.analysis.superpose` on CA atoms; the scores come from
:mod:`workbench.analysis` (atoms are paired by chain, residue number and
insertion code). Uploads are parsed in memory and never written to disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from workbench.io.structure_writer import format_pdb
from workbench.structure import Structure
from workbench.ui import data, viewer
from workbench.ui.results import load_structure
from workbench.ui.uploads import MB, STRUCTURE_LIMIT, UploadError, parse_structure

SOURCES = ("from a job", "upload")


@dataclass(frozen=True)
class Scores:
    """RMSD, TM-score and lDDT of a model against a reference."""

    rmsd: float
    n_atoms: int
    tm_score: float
    gdt_ts: float
    lddt: float


def compare(reference: Structure, model: Structure) -> tuple[Structure, Scores]:
    """Superpose ``model`` onto ``reference`` (CA atoms) and score it.

    Parameters
    ----------
    reference, model : Structure

    Returns
    -------
    moved : Structure
        ``model`` superposed onto ``reference``.
    scores : Scores

    Raises
    ------
    ValueError
        When the two share no residue (atoms are paired by chain and residue number).
    """
    from workbench.analysis import lddt, superpose, tm_score

    moved, fit = superpose(model, reference, "CA")
    tm = tm_score(model, reference)
    local = lddt(model, reference, "heavy")
    return moved, Scores(rmsd=fit.rmsd, n_atoms=fit.n_atoms, tm_score=tm.tm_score, gdt_ts=tm.gdt_ts,
                         lddt=local.score)


@st.cache_data(show_spinner=False, max_entries=8)
def _parse_upload(raw: bytes) -> Structure:
    return parse_structure(raw)[0]


def _from_job(side: str) -> tuple[Structure | None, str]:
    jobs = [j for j in data.get_store().list(limit=200) if j.result_path]
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
    item = st.selectbox("Model", list(names), format_func=names.get, key=f"cmp_item_{side}", index=int(second))
    kinds = ["model.pdb", "relaxed.pdb"]
    relaxed_default = side == "b" and not second and (data.item_dir(job_dir, item) / "relaxed.pdb").is_file()
    kind = st.radio("Which", kinds, horizontal=True, key=f"cmp_kind_{side}", index=int(relaxed_default))
    structure = load_structure(data.item_dir(job_dir, item) / kind)
    if structure is None:
        st.warning(f"{names[item]} has no {kind}.")
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
        st.error(f"Not accepted: {exc}")
        return None, ""
    return structure, "uploaded structure"


def _side(side: str, title: str) -> tuple[Structure | None, str]:
    st.subheader(title)
    source = st.radio("Source", SOURCES, horizontal=True, key=f"cmp_source_{side}")
    return _from_job(side) if source == SOURCES[0] else _from_upload(side)


def _describe(structure: Structure) -> str:
    return f"{len(structure.residues)} residues, chains {', '.join(structure.chains)}"


def page() -> None:
    """Render the Compare view."""
    st.title("Compare two structures")
    left, right = st.columns(2, gap="large")
    with left:
        reference, ref_label = _side("a", "Reference")
    with right:
        model, model_label = _side("b", "Model (moved onto the reference)")
    if reference is None or model is None:
        st.info("Pick two structures to superpose them.")
        return
    st.caption(f"Reference: {ref_label}, {_describe(reference)}. Model: {model_label}, {_describe(model)}.")
    try:
        moved, scores = compare(reference, model)
    except ValueError as exc:
        st.error(f"Cannot compare these two: {exc}")
        return
    cols = st.columns(4)
    cols[0].metric("RMSD (CA, Å)", f"{scores.rmsd:.2f}", help=f"{scores.n_atoms} CA pairs after superposition")
    cols[1].metric("TM-score", f"{scores.tm_score:.3f}", help="normalised by the reference length")
    cols[2].metric("GDT-TS", f"{scores.gdt_ts:.3f}")
    cols[3].metric("lDDT", f"{scores.lddt:.3f}", help="all heavy atoms, 15 Å inclusion radius")
    layers = [viewer.Layer(format_pdb(reference), viewer.uniform_colors(viewer.PAIR_COLORS[0]), "cartoon"),
              viewer.Layer(format_pdb(moved), viewer.uniform_colors(viewer.PAIR_COLORS[1]), "trace")]
    viewer.render(layers, height=520)
    st.markdown(f"<span style='color:{viewer.PAIR_COLORS[0]}'>■</span> reference &nbsp; "
                f"<span style='color:{viewer.PAIR_COLORS[1]}'>■</span> model, superposed (backbone trace)",
                unsafe_allow_html=True)
