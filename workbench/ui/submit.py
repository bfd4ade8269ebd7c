"""Submit view: paste or upload FASTA, choose predictor and options, see problems before queuing.

The FASTA is validated as it is typed (:func:`workbench.ui.uploads.check_fasta`),
errors appear beside the input, and the Submit button queues a job in the
store only when every record is valid. Nothing is predicted here: the
dispatcher (``workbench serve``) picks the job up.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, Field
from typing import Any

import pandas as pd
import streamlit as st

from workbench import config
from workbench.confine import confine_request
from workbench.errors import one_line
from workbench.predict import available_predictors, memory, predictor_info
from workbench.predict.base import DEFAULT_PREDICTOR
from workbench.request import BatchRequest
from workbench.ui import auth, data
from workbench.ui.nav import link_to
from workbench.ui.uploads import (
    FASTA_LIMIT,
    MB,
    STRUCTURE_LIMIT,
    FastaCheck,
    UploadError,
    check_fasta,
    save_template,
)

EXAMPLE = (
    ">1BHL_wt HIV-1 integrase core domain (template 1BHL, residues 57-207)\n"
    "SPGIWQLDCTHLEGKVILVAVHVASGYIEAEVIPAETGQETAYFLLKLAGRWPVKTVHTDNGSNFTSTTVKAACWWAGIKQMNKELKKIIGQVRDQAEHLKTAVQMAVF"
    "IHNHKRKGGIGGYSAGERIVDIIATD\n"
)
HIDDEN_OPTIONS = frozenset({"device"})
"""Options the dispatcher's machine decides, not the submitter."""


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


def records_table(records: list[Any], needs_gpu: bool, gpu: tuple[str, int] | None) -> pd.DataFrame:
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
        if needs_gpu:
            estimate = memory.estimate(memory.tokens(record.chains))
            row["ESMFold peak (GB, est.)"] = round(estimate.total / 1e9, 1)
            row["fits GPU"] = "no GPU" if gpu is None else ("yes" if estimate.total <= gpu[1] else "no")
        rows.append(row)
    return pd.DataFrame(rows)


def _options(viewer: auth.Viewer) -> tuple[BatchRequest | None, list[str]]:
    """The batch request from the form, and the problems that block submission.

    The widgets are generated from the chosen predictor's declared options.
    """
    problems: list[str] = []
    offered = [predictor_info(name) for name in available_predictors() if predictor_info(name).in_browser]
    offered.sort(key=lambda info: info.name != DEFAULT_PREDICTOR)  # the default first
    labels = {info.name: info.label for info in offered}
    predictor = st.selectbox("Predictor", list(labels), format_func=lambda name: labels[name], key="submit_predictor")
    if predictor is None:  # pragma: no cover - a selectbox over a non-empty list always has a value
        return None, ["no predictor is available"]
    info = predictor_info(predictor)
    values: dict[str, Any] = {}
    for option in info.option_fields:
        if option.metadata.get("upload") == "structure":
            path, problem = _structure_upload(viewer, option)
            if problem:
                problems.append(problem)
            elif path is not None:
                values[option.name] = path
        elif option.metadata.get("cli", True) and option.name not in HIDDEN_OPTIONS:
            value = _option_widget(info.option_type(option.name), option)
            if value is not None and value != "":
                values[option.name] = value
    refine = st.checkbox("Refine (restrained Amber relax)", value=True, key="submit_refine")
    refine_options: dict[str, Any] | bool = False
    if refine:
        refine_options = {"md_ps": float(st.number_input(
            "Restrained MD before the relax (ps; 0 = none)", min_value=0.0, max_value=1000.0, value=0.0, step=5.0,
            key="submit_md_ps"))}
    try:
        # whoever reaches this page may not make the dispatcher read files outside the allowed folders
        request = confine_request(BatchRequest.create(predictor, values, refine=refine_options), config.file_roots())
        found = _validated(json.dumps(request.to_json(), sort_keys=True))  # weights, template: refused here
    except (TypeError, ValueError, OSError) as exc:
        return None, [*problems, one_line(exc)]
    if found:
        st.caption(f"Checked on this machine: {data.plain_text(found)}")
    return request, problems


@st.cache_data(show_spinner=False, ttl=60, max_entries=16)
def _validated(request_json: str) -> str | None:
    """``BatchRequest.validate()``, once a minute per request rather than on every click (a failure is not kept)."""
    return BatchRequest.from_json(json.loads(request_json)).validate()


def _refusals(request: BatchRequest, records: tuple[Any, ...]) -> dict[str, str]:
    """The records the predictor will refuse (a template too far from them), cached by request and records."""
    return _cached_refusals(json.dumps(request.to_json(), sort_keys=True), records)


@st.cache_data(show_spinner="Checking the records against the template…", max_entries=16)
def _cached_refusals(request_json: str, records: tuple[Any, ...]) -> dict[str, str]:
    return BatchRequest.from_json(json.loads(request_json)).screen(list(records))


def _structure_upload(viewer: auth.Viewer, option: Field[Any]) -> tuple[str | None, str | None]:
    """An uploaded structure saved by its content hash (path, None); None for the option's default; or a problem."""
    upload = st.file_uploader(f"{option.metadata.get('label', option.name)} (PDB or mmCIF; blank: the default)",
                              type=["pdb", "ent", "cif", "mmcif", "gz"], key=f"submit_{option.name}",
                              max_upload_size=STRUCTURE_LIMIT // MB,
                              help=f"{option.metadata.get('help', '')}. At most {STRUCTURE_LIMIT // MB} MB. "
                                   "Stored by its content hash.")
    if upload is None:
        return None, None
    try:
        path = save_template(upload.getvalue(), data.workbench_home(), viewer.user_id)
    except UploadError as exc:
        st.error(f"{option.name.capitalize()} not accepted: {data.plain_text(exc)}")
        return None, f"{option.name}: {exc}"
    st.caption(f"{option.name.capitalize()} accepted, stored as `{path.name}`.")
    return str(path), None


def _option_widget(kind: type, option: Field[Any]) -> Any:
    """One widget for one declared option, by its type; its value (None: left at the default)."""
    label = option.metadata.get("label", option.name.replace("_", " ").capitalize())
    default = option.default if option.default is not MISSING else None
    key, help_text = f"submit_{option.name}", option.metadata.get("help")
    if kind is bool:
        return st.checkbox(label, value=bool(default), key=key, help=help_text)
    if kind in (int, float):
        value = st.number_input(label, value=default, step=1 if kind is int else 0.05, key=key, help=help_text,
                                placeholder="default")
        return None if value is None else kind(value)
    text = st.text_input(label, value="" if default is None else str(default), key=key, help=help_text,
                         max_chars=500)
    return text.strip() or None


def _use_example() -> None:
    mutant = EXAMPLE.split("\n")[1].replace("IKQMNKELKK", "IKQMHKELKK")
    st.session_state["submit_fasta"] = EXAMPLE + f">1BHL_N155H integrase resistance mutation N155H\n{mutant}\n"


def page() -> None:
    """Render the Submit view."""
    viewer = auth.current_viewer()
    st.title("Submit a batch")
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.text_area("FASTA", key="submit_fasta", height=220, placeholder=EXAMPLE,
                     help="One record per sequence; ':' separates the chains of a complex.")
        st.button("Use the example (1BHL wild type and N155H)", key="submit_example", type="tertiary",
                  on_click=_use_example)
        source, upload_error = _fasta_source()
        request, problems = _options(viewer)
        name = st.text_input("Job name (optional)", key="submit_name", max_chars=200)
    with right:
        st.subheader("Check")
        check = FastaCheck(errors=[upload_error]) if upload_error else check_fasta(source)
        if not source.strip() and not upload_error:
            st.info("Paste FASTA or upload a file; it is checked here before anything is queued.")
        else:
            for message in check.errors:
                st.error(data.plain_text(message), icon=":material/error:")
            if check.records:
                st.success(f"{len(check.records)} valid record(s), "
                           f"{sum(r.length for r in check.records):,} residues", icon=":material/check:")
        if check.records:
            needs_gpu = predictor_info(st.session_state.get("submit_predictor", DEFAULT_PREDICTOR)).needs_gpu
            gpu = _gpu() if needs_gpu else None
            if needs_gpu:
                st.markdown("**GPU memory** (ESMFold estimate, one sequence at a time)")
                st.caption("No GPU here: runs on CPU (slow for long sequences)." if gpu is None
                           else f"{gpu[0]}: {gpu[1] / 1e9:.0f} GB")
            else:
                st.caption("This predictor needs no GPU (OpenMM uses CUDA when there is one).")
            st.dataframe(records_table(check.records, needs_gpu, gpu), hide_index=True, key="submit_records")
        for problem in problems:
            st.error(data.plain_text(problem))
    refused = _refusals(request, tuple(check.records)) if request is not None and check.records else {}
    for record_id, reason in refused.items():
        st.error(data.plain_text(f"record {record_id!r}: {reason}"), icon=":material/block:")
    blocked = not check.ok or bool(problems) or request is None or bool(refused)
    if st.button("Submit", type="primary", key="submit_button"):
        if blocked:
            st.error("Nothing queued: fix the problems shown above first.")
        else:
            text = source.decode("utf-8", errors="replace") if isinstance(source, bytes) else source
            assert request is not None  # not blocked
            job = data.get_store().submit({"fasta": text}, request.to_json(), owner=viewer.user_id, name=name.strip())
            st.session_state["last_job"] = job.id
            st.success(f"Queued job `{job.id}` with {len(check.records)} sequence(s).")
    if "last_job" in st.session_state:
        link_to("jobs", "Follow it on the Jobs page", icon=":material/list:")
