"""Results view: a batch's ranking table, and for one model its viewer, plots, numbers and downloads.

The job comes from the store (``?job=<id>`` in the address, or the picker);
its folder is the ``result_path`` the dispatcher recorded, and an item folder
is opened only by its 16-hex content key from the summary table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from workbench.io.structure_reader import read_structure
from workbench.stability import SUMMARY_SENTENCE
from workbench.structure import Structure
from workbench.ui import auth, data, plots, viewer

#: Summary columns shown in the ranking table, in order (others stay in the CSV).
TABLE_COLUMNS = ["rank", "name", "mutations", "status", "length", "chains", "mean_plddt", "ptm", "iptm", "max_pae",
                 "ddg_estimate", "energy_change", "violations_after", "rmsd_ca_refined", "helix_fraction",
                 "strand_fraction", "clashes", "radius_of_gyration", "cached", "error", "item"]
#: Columns shown only when some row has a value (a template screen has no pLDDT, pTM or PAE).
OPTIONAL_COLUMNS = frozenset({"ddg_estimate", "mutations", "mean_plddt", "ptm", "iptm", "max_pae", "energy_change",
                              "violations_after", "rmsd_ca_refined"})


@st.cache_data(show_spinner=False, max_entries=32)
def _structure(path: str, mtime: float) -> Structure | None:
    try:
        return read_structure(Path(path))
    except Exception:
        return None


def load_structure(path: Path) -> Structure | None:
    """Parsed structure at ``path`` (cached by modification time), or None."""
    return _structure(str(path), data._mtime(path)) if path.is_file() else None


def _jobs_with_results(viewer: auth.Viewer) -> list[Any]:
    return [j for j in data.jobs_for(viewer) if j.result_path]


def _pick_job(viewer: auth.Viewer) -> Any | None:
    wanted = st.query_params.get("job")
    if wanted:
        try:  # a job id in the address that is not the viewer's is refused, not silently replaced
            data.job_for(viewer, wanted)
        except data.JobNotFound:
            st.error("No such job among yours: the job in the address is not one you may open.",
                     icon=":material/block:")
            del st.query_params["job"]
            wanted = None
    jobs = _jobs_with_results(viewer)
    if not jobs:
        st.info("No finished jobs yet. Submit a batch, and start `workbench serve` if no dispatcher is running.")
        return None
    ids = [j.id for j in jobs]
    # follow ?job= when it changes (a link from the Jobs page), else keep the user's pick
    if wanted in ids and wanted != st.session_state.get("results_query_seen"):
        st.session_state["results_job"] = wanted
    if st.session_state.get("results_job") not in ids:
        st.session_state["results_job"] = ids[0]
    by_id = {j.id: j for j in jobs}
    chosen = st.selectbox("Job", ids, format_func=lambda i: data.job_label(by_id[i]), key="results_job")
    st.query_params["job"] = chosen
    st.session_state["results_query_seen"] = chosen
    return by_id[chosen]


def _filtered(table: pd.DataFrame) -> pd.DataFrame:
    c1, c2, c3 = st.columns([2, 2, 2])
    with c1:
        text = st.text_input("Filter by name", key="results_filter", placeholder="part of a record name")
    with c2:
        statuses = sorted(str(s) for s in table["status"].dropna().unique()) if "status" in table else []
        chosen = st.multiselect("Status", statuses, key="results_status", placeholder="all")
    min_plddt = 0
    has_plddt = "mean_plddt" in table and bool(table["mean_plddt"].notna().any())
    with c3:  # only where some model has a learned pLDDT
        if has_plddt:
            min_plddt = st.slider("Minimum mean pLDDT", 0, 100, 0, key="results_min_plddt")
    shown = table
    if text:
        shown = shown[shown["name"].astype(str).str.contains(text, case=False, regex=False)]
    if chosen:
        shown = shown[shown["status"].astype(str).isin(chosen)]
    if min_plddt and "mean_plddt" in shown:
        shown = shown[shown["mean_plddt"].fillna(-1) >= min_plddt]
    if "rank" in shown:
        shown = shown.sort_values("rank", na_position="last", kind="stable")
    return shown.reset_index(drop=True)


def _ranking(table: pd.DataFrame) -> list[str]:
    """Show the ranking table; return the items in the order shown, the clicked one first."""
    shown = _filtered(table)
    columns = [c for c in TABLE_COLUMNS if c in shown and (c not in OPTIONAL_COLUMNS or shown[c].notna().any())]
    event = st.dataframe(
        shown[columns], hide_index=True, on_select="rerun", selection_mode="single-row", key="results_table",
        column_config={
            "mean_plddt": st.column_config.ProgressColumn("mean pLDDT", min_value=0, max_value=100, format="%.1f"),
            "ptm": st.column_config.NumberColumn("pTM", format="%.3f"),
            "iptm": st.column_config.NumberColumn("ipTM", format="%.3f", help="interface pTM of a complex"),
            "max_pae": st.column_config.NumberColumn("max PAE (Å)", format="%.1f"),
            "ddg_estimate": st.column_config.NumberColumn(
                "ΔΔG est. (kcal/mol)", format="%+.2f", help=SUMMARY_SENTENCE),
            "energy_change": st.column_config.NumberColumn(
                "relaxed ΔE (kJ/mol)", format="%.1f",
                help="relaxed potential energy minus the wild type's: two different chemical compositions, "
                     "not a stability; kept for reference, never ranked by"),
            "violations_after": st.column_config.NumberColumn("violations after", format="%d"),
            "rmsd_ca_refined": st.column_config.NumberColumn("CA RMSD relaxed (Å)", format="%.2f"),
            "helix_fraction": st.column_config.NumberColumn("helix", format="%.2f"),
            "strand_fraction": st.column_config.NumberColumn("strand", format="%.2f"),
            "radius_of_gyration": st.column_config.NumberColumn("Rg (Å)", format="%.1f"),
            "item": st.column_config.TextColumn("item", width="small"),
        },
    )
    st.caption(f"{len(shown)} of {len(table)} records. Click a column to sort; select a row to open its model.")
    rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    items = [str(i) for i in shown.loc[shown["status"] == "done", "item"]] if "item" in shown else []
    if rows and rows[0] < len(shown):
        selected = str(shown.iloc[rows[0]]["item"])
        if st.session_state.get("results_last_row") != selected and selected in items:
            st.session_state["results_item"] = selected
        st.session_state["results_last_row"] = selected
    return items


def _batch_downloads(job_dir: Path, job: Any) -> None:
    cols = st.columns(3)
    csv = job_dir / "summary.csv"
    if csv.is_file():
        cols[0].download_button("Summary CSV", csv.read_bytes(), file_name=f"{job.id[:8]}_summary.csv",
                                mime="text/csv", icon=":material/table:", on_click="ignore")
    cols[1].download_button("Zip of the job", lambda: data.zip_folder(job_dir), file_name=f"{job.id[:8]}.zip",
                            mime="application/zip", icon=":material/folder_zip:", on_click="ignore")
    report = job_dir / "report.html"
    if report.is_file():
        cols[2].download_button("HTML report", report.read_bytes(), file_name=f"{job.id[:8]}_report.html",
                                mime="text/html", icon=":material/description:", on_click="ignore")


def _viewer(result: data.ItemResult, secondary: str | None, plddt: list[float] | None) -> None:
    model = load_structure(result.folder / "model.pdb")
    relaxed = load_structure(result.folder / "relaxed.pdb") if result.relaxed_pdb else None
    if model is None or result.model_pdb is None:
        st.warning("This item has no readable model.pdb.")
        return
    c1, c2, c3 = st.columns([2, 1, 2])
    modes = [m for m in viewer.COLOR_MODES if m != "pLDDT" or plddt]  # pLDDT only where there is one
    color = c1.radio("Colour by", modes, horizontal=True, key="results_color")
    style = c2.radio("Style", viewer.STYLES, horizontal=True, key="results_style")
    shows = ["unrelaxed", "relaxed", "overlay"] if relaxed is not None else ["unrelaxed"]
    show = c3.radio("Model", shows, horizontal=True, key="results_show",
                    help="overlay: unrelaxed model coloured, relaxed model in grey")

    changed = viewer.residue_selections((result.provenance or {}).get("parameters", {}).get("changed_residues") or [])

    def colors(structure: Structure) -> list[tuple[dict, str]]:
        if color == "pLDDT" and plddt:
            return viewer.plddt_colors(structure, plddt)
        if color == "chain":
            return viewer.chain_colors(structure)
        return viewer.ss_colors(structure, secondary)

    layers = []
    if show in ("unrelaxed", "overlay") and result.model_pdb is not None:
        layers.append(viewer.Layer(result.model_pdb, colors(model), style, opacity=0.85 if show == "overlay" else 1.0,
                                   labelled=changed))
    if show == "relaxed" and relaxed is not None and result.relaxed_pdb is not None:
        layers.append(viewer.Layer(result.relaxed_pdb, colors(relaxed), style, labelled=changed))
    if show == "overlay" and relaxed is not None and result.relaxed_pdb is not None:
        layers.append(viewer.Layer(result.relaxed_pdb, viewer.uniform_colors("#9E9E9E"), style, opacity=0.6))
    viewer.render(layers, height=520)
    st.markdown(viewer.legend_markdown(color), unsafe_allow_html=True)
    if changed:
        st.caption(plain_text("Changed residues (sticks): " + ", ".join(label for _, label in changed)))


def _numbers(result: data.ItemResult, row: pd.Series | None) -> None:
    confidence = result.confidence or {}
    metrics = result.metrics or {}
    refinement = result.refinement or {}
    cols = st.columns(5)
    if confidence.get("mean_plddt") is not None:
        cols[0].metric("mean pLDDT", _fmt(confidence.get("mean_plddt"), ".1f"))
    else:
        cols[0].metric("confidence", "none", help="this method gives no learned confidence (no pLDDT)")
    iptm = confidence.get("iptm")
    cols[1].metric("pTM" if iptm is None else "pTM / ipTM",
                   _fmt(confidence.get("ptm"), ".3f") + ("" if iptm is None else f" / {_fmt(iptm, '.3f')}"))
    cols[2].metric("rank", _fmt(None if row is None else row.get("rank"), "d"))
    cols[3].metric("helix / strand", f"{_fmt(metrics.get('helix_fraction'), '.0%')} / "
                                     f"{_fmt(metrics.get('strand_fraction'), '.0%')}")
    cols[4].metric("ΔE relax (kJ/mol)", _fmt(_delta(refinement), ",.0f"))


def _delta(refinement: dict) -> float | None:
    before, after = refinement.get("energy_before_kj_mol"), refinement.get("energy_after_kj_mol")
    return None if before is None or after is None else after - before


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return "-"
    try:
        return format(int(value) if spec == "d" else float(value), spec)
    except (TypeError, ValueError):
        return str(value)


def _confidence_tab(result: data.ItemResult, model: Structure | None) -> None:
    confidence = result.confidence or {}
    plddt = confidence.get("plddt")
    if plddt:
        labels = None
        if model is not None and len(model.residues) == len(plddt):
            labels = [model.residues.label(i) for i in range(len(plddt))]
        st.plotly_chart(plots.plddt_figure(plddt, labels), key="results_plddt_plot")
    else:
        st.info("This model has no learned confidence (no pLDDT): its method gives none.")
    pae = confidence.get("pae")
    if pae:
        st.plotly_chart(plots.pae_figure(pae), key="results_pae_plot")
    else:
        st.caption("No PAE matrix for this model (the template predictor does not compute one).")
    secondary = (result.metrics or {}).get("secondary_structure")
    if secondary:
        st.plotly_chart(plots.secondary_structure_figure(secondary), key="results_ss_plot")


plain_text = data.plain_text


def _refinement_tab(result: data.ItemResult) -> None:
    refinement = result.refinement
    if not refinement:
        st.info("This model was not refined.")
        return
    for warning in refinement.get("warnings") or []:
        st.warning(plain_text(str(warning)), icon=":material/warning:")
    left, right = st.columns(2)
    left.plotly_chart(plots.energy_figure(refinement), key="results_energy_plot")
    right.plotly_chart(plots.violations_figure(refinement), key="results_violations_plot")
    rows = {
        "energy before (kJ/mol)": refinement.get("energy_before_kj_mol"),
        "energy after (kJ/mol)": refinement.get("energy_after_kj_mol"),
        "restraint energy after (kJ/mol)": refinement.get("restraint_energy_after_kj_mol"),
        "CA RMSD to the input (Å)": refinement.get("rmsd_ca_angstrom"),
        "heavy-atom RMSD to the input (Å)": refinement.get("rmsd_heavy_angstrom"),
        "violations before": (refinement.get("violations_before") or {}).get("n_violations"),
        "violations after": (refinement.get("violations_after") or {}).get("n_violations"),
        "minimiser iterations": refinement.get("iterations"),
        "rounds": refinement.get("rounds"),
        "kept round": refinement.get("kept_round"),
        "MD (ps)": refinement.get("md_ps"),
        "solvent": refinement.get("solvent"),
        "platform": refinement.get("platform"),
        "wall time (s)": refinement.get("wall_time_s"),
    }
    st.dataframe(pd.DataFrame({"quantity": list(rows), "value": [_fmt(v, ",.3f") if isinstance(v, float) else
                                                                   ("-" if v is None else str(v))
                                                                   for v in rows.values()]}),
                 hide_index=True)
    if refinement.get("kept_reason"):
        st.caption(plain_text(f"Kept {refinement['kept_reason']}"))
    released = refinement.get("released_residues") or []
    if released:
        st.caption(plain_text(f"Restraints released on: {', '.join(map(str, released))}"))


def _metrics_tab(result: data.ItemResult) -> None:
    metrics = result.metrics
    if not metrics:
        st.info("No metrics for this model.")
        return
    scalars = {k: v for k, v in metrics.items() if not isinstance(v, list | dict) and k != "secondary_structure"}
    st.dataframe(pd.DataFrame({"metric": list(scalars), "value": [str(v) for v in scalars.values()]}),
                 hide_index=True)
    if metrics.get("secondary_structure"):
        st.text_area("Secondary structure (one letter per residue)", metrics["secondary_structure"], disabled=True,
                     key="results_ss_text")
    with st.expander("Provenance"):
        st.json(result.provenance or {}, expanded=False)


def _item_downloads(result: data.ItemResult, name: str) -> None:
    files = result.files
    cols = st.columns(4)
    for i, (file_name, path) in enumerate(files.items()):
        cols[i % 4].download_button(file_name, path.read_bytes(), file_name=f"{name}_{file_name}",
                                    mime=data.ITEM_FILES[file_name], key=f"download_{file_name}",
                                    on_click="ignore", icon=":material/download:")
    bundle = {k: v for k, v in (("confidence", result.confidence), ("metrics", result.metrics),
                                ("refinement", result.refinement), ("provenance", result.provenance)) if v}
    st.download_button("All numbers (one JSON)", json.dumps(bundle, indent=1), file_name=f"{name}_results.json",
                       mime="application/json", key="download_all_json", on_click="ignore")


def _model(job_dir: Path, table: pd.DataFrame, items: list[str]) -> None:
    if not items:
        st.info("No successful model in this batch.")
        return
    names = dict(zip(table["item"].astype(str), table["name"].astype(str), strict=False)) if "name" in table else {}
    ranks = dict(zip(table["item"].astype(str), table["rank"], strict=False)) if "rank" in table else {}
    if st.session_state.get("results_item") not in items:
        st.session_state["results_item"] = items[0]

    def label(item: str) -> str:
        rank = ranks.get(item)
        prefix = f"#{int(rank)} " if rank is not None and not pd.isna(rank) else ""
        return f"{prefix}{names.get(item, item)}"

    item = st.selectbox("Model", items, format_func=label, key="results_item")
    result = data.load_item(job_dir, item)
    row = table.loc[table["item"].astype(str) == item].iloc[0] if "item" in table else None
    st.subheader(plain_text(names.get(item, item)))
    _numbers(result, row)
    secondary = (result.metrics or {}).get("secondary_structure")
    plddt = (result.confidence or {}).get("plddt")
    tabs = st.tabs(["3D", "Confidence", "Refinement", "Metrics", "Downloads"])
    with tabs[0]:
        _viewer(result, secondary, plddt)
    with tabs[1]:
        _confidence_tab(result, load_structure(result.folder / "model.pdb"))
    with tabs[2]:
        _refinement_tab(result)
    with tabs[3]:
        _metrics_tab(result)
    with tabs[4]:
        _item_downloads(result, names.get(item, item))


def page() -> None:
    """Render the Results view."""
    viewer_ = auth.current_viewer()
    st.title("Results")
    job = _pick_job(viewer_)
    if job is None:
        return
    job_dir = Path(job.result_path)
    if not job_dir.is_dir():
        st.error(f"The result folder of this job is missing: {plain_text(job_dir)}")
        return
    table = data.load_summary(job_dir)
    if table is None or table.empty:
        st.warning("This job has no summary table yet.")
        return
    st.subheader("Ranking")
    items = _ranking(table)
    _batch_downloads(job_dir, job)
    failed = table[table["status"] != "done"] if "status" in table else table.iloc[0:0]
    if len(failed):
        with st.expander(f"{len(failed)} failed record(s)"):
            for _, r in failed.iterrows():
                st.markdown(f"- **{plain_text(r.get('name'))}**: {plain_text(r.get('error'))}")
    st.divider()
    _model(job_dir, table, items)
