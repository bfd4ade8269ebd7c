"""Submit view: paste or upload FASTA, choose predictor and options, see problems before queuing.

The FASTA is validated as it is typed (:func:`workbench.ui.uploads.check_fasta`),
errors appear beside the input, and the Submit button queues a job in the
store only when every record is valid. Nothing is predicted here: the
dispatcher (``workbench serve``) picks the job up.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from workbench.predict import memory
from workbench.ui import data
from workbench.ui.nav import link_to
from workbench.ui.uploads import (
    FASTA_LIMIT,
    MB,
    STRUCTURE_LIMIT,
    FastaCheck,
    UploadError,
    check_fasta,
    default_template,
    save_template,
)

EXAMPLE = (
    ">1BHL_wt HIV-1 integrase core domain (template 1BHL, residues 57-207)\n"
    "SPGIWQLDCTHLEGKVILVAVHVASGYIEAEVIPAETGQETAYFLLKLAGRWPVKTVHTDNGSNFTSTTVKAACWWAGIKQMNKELKKIIGQVRDQAEHLKTAVQMAVF"
    "IHNHKRKGGIGGYSAGERIVDIIATD\n"
)
PREDICTORS = {"template": "template (variant modelling on a known structure; offline)",
              "esmfold": "esmfold (ESMFold, needs its weights on the dispatcher)"}


@st.cache_resource(show_spinner=False)
def _gpu() -> tuple[str, int] | None:
    return memory.gpu_memory()


def _fasta_source() -> tuple[str | bytes, str | None]:
    """The FASTA to check (an upload's bytes win over pasted text), or an error about the upload."""
    upload = st.file_uploader("…or upload a FASTA file", type=["fasta", "fa", "faa", "fas", "txt"],
                              key="submit_fasta_file", help=f"At most {FASTA_LIMIT // MB} MB.",
                              max_upload_size=FASTA_LIMIT // MB)
    if upload is not None:
        raw = upload.getvalue()
        if len(raw) > FASTA_LIMIT:
            return "", f"the uploaded file is {len(raw) / MB:.1f} MB; the limit is {FASTA_LIMIT // MB} MB"
        st.caption("Using the uploaded file (clear it to use the pasted text).")
        return raw, None
    return st.session_state.get("submit_fasta", ""), None


def records_table(records: list[Any], predictor: str, gpu: tuple[str, int] | None) -> pd.DataFrame:
    """One row per valid record; for ESMFold, its estimated peak GPU memory and whether it fits the GPU.

    Parameters
    ----------
    records : list of SequenceRecord
    predictor : str
    gpu : (str, int) or None
        Name and total bytes of the GPU (:func:`workbench.predict.memory.gpu_memory`).

    Returns
    -------
    pandas.DataFrame
    """
    rows = []
    for record in records:
        row: dict[str, Any] = {"record": record.id, "chains": len(record.chains), "residues": record.length}
        if predictor == "esmfold":
            estimate = memory.estimate(memory.tokens(record.chains))
            row["ESMFold peak (GB, est.)"] = round(estimate.total / 1e9, 1)
            row["fits GPU"] = "no GPU" if gpu is None else ("yes" if estimate.total <= gpu[1] else "no")
        rows.append(row)
    return pd.DataFrame(rows)


def _options() -> tuple[dict[str, Any], list[str]]:
    """Predictor and refinement parameters from the form, and problems that block submission."""
    problems: list[str] = []
    predictor = st.selectbox("Predictor", list(PREDICTORS), format_func=PREDICTORS.get, key="submit_predictor")
    options: dict[str, Any] = {}
    if predictor == "template":
        upload = st.file_uploader("Template structure (PDB or mmCIF; default: 1BHL)",
                                  type=["pdb", "ent", "cif", "mmcif", "gz"], key="submit_template",
                                  max_upload_size=STRUCTURE_LIMIT // MB,
                                  help=f"At most {STRUCTURE_LIMIT // MB} MB. Stored by its content hash.")
        if upload is not None:
            try:
                path = save_template(upload.getvalue(), data.workbench_home())
            except UploadError as exc:
                problems.append(f"template: {exc}")
                st.error(f"Template not accepted: {exc}")
            else:
                options["template"] = str(path)
                st.caption(f"Template accepted, stored as `{path.name}`.")
        else:
            options["template"] = str(default_template())
        chain = st.text_input("Template chain (blank: all protein chains)", key="submit_chain", max_chars=4)
        if chain.strip():
            options["chain"] = chain.strip()
    else:
        options["num_recycles"] = int(st.number_input("Recycles", min_value=0, max_value=48, value=4, step=1,
                                                      key="submit_recycles"))
        weights = st.text_input("Weights (hub id or a folder on the dispatcher's machine)",
                                value="facebook/esmfold_v1", key="submit_weights")
        options["weights"] = weights.strip() or "facebook/esmfold_v1"
    refine = st.checkbox("Refine (restrained Amber relax)", value=True, key="submit_refine")
    refine_options: dict[str, Any] = {}
    if refine:
        refine_options["md_ps"] = float(st.number_input(
            "Restrained MD before the relax (ps; 0 = none)", min_value=0.0, max_value=1000.0, value=0.0, step=5.0,
            key="submit_md_ps"))
    parameters = {"predictor": predictor, "predictor_options": options, "refine": bool(refine),
                  "refine_options": refine_options}
    return parameters, problems


def _use_example() -> None:
    mutant = EXAMPLE.split("\n")[1].replace("IKQMNKELKK", "IKQMHKELKK")
    st.session_state["submit_fasta"] = EXAMPLE + f">1BHL_N155H integrase resistance mutation N155H\n{mutant}\n"


def page() -> None:
    """Render the Submit view."""
    st.title("Submit a batch")
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.text_area("FASTA", key="submit_fasta", height=220, placeholder=EXAMPLE,
                     help="One record per sequence; ':' separates the chains of a complex.")
        st.button("Use the example (1BHL wild type and N155H)", key="submit_example", type="tertiary",
                  on_click=_use_example)
        source, upload_error = _fasta_source()
        parameters, problems = _options()
        name = st.text_input("Job name (optional)", key="submit_name", max_chars=200)
    with right:
        st.subheader("Check")
        check = FastaCheck(errors=[upload_error]) if upload_error else check_fasta(source)
        if not source.strip() and not upload_error:
            st.info("Paste FASTA or upload a file; it is checked here before anything is queued.")
        else:
            for message in check.errors:
                st.error(message, icon=":material/error:")
            if check.records:
                st.success(f"{len(check.records)} valid record(s), "
                           f"{sum(r.length for r in check.records):,} residues", icon=":material/check:")
        if check.records:
            predictor = parameters["predictor"]
            gpu = _gpu() if predictor == "esmfold" else None
            if predictor == "esmfold":
                st.markdown("**GPU memory** (ESMFold estimate, one sequence at a time)")
                st.caption("No GPU here: runs on CPU (slow for long sequences)." if gpu is None
                           else f"{gpu[0]}: {gpu[1] / 1e9:.0f} GB")
            else:
                st.caption("Template modelling needs no GPU (OpenMM uses CUDA when there is one).")
            st.dataframe(records_table(check.records, predictor, gpu), hide_index=True, key="submit_records")
    blocked = not check.ok or bool(problems)
    if st.button("Submit", type="primary", key="submit_button"):
        if blocked:
            st.error("Nothing queued: fix the problems shown above first.")
        else:
            text = source.decode("utf-8", errors="replace") if isinstance(source, bytes) else source
            job = data.get_store().submit({"fasta": text}, parameters, owner=data.owner(), name=name.strip())
            st.session_state["last_job"] = job.id
            st.success(f"Queued job `{job.id}` with {len(check.records)} sequence(s).")
    if "last_job" in st.session_state:
        link_to("jobs", "Follow it on the Jobs page", icon=":material/list:")
