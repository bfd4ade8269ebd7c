"""Jobs view: the user's jobs with status, per-item progress, elapsed time and cancel; refreshes itself.

The list is an ``st.fragment`` that reruns every few seconds, so only it
redraws while a batch runs. Cancelling asks the store
(:meth:`~workbench.jobs.store.JobStore.request_cancel`): a queued job is
cancelled at once, a running one when the dispatcher next looks.
A user sees and cancels only their own jobs; an admin may list every owner's
(:func:`workbench.ui.data.cancel_job` checks ownership on every cancel).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import pandas as pd
import streamlit as st

from workbench.ui import auth, data
from workbench.ui.nav import link_to

#: Seconds between refreshes of the job list.
REFRESH_S = 3.0
STATUS_ICONS = {"queued": ":material/schedule:", "running": ":material/progress_activity:",
                "done": ":material/check_circle:", "failed": ":material/error:", "cancelled": ":material/block:"}
BadgeColor = Literal["gray", "blue", "green", "red", "orange"]
STATUS_COLORS: dict[str, BadgeColor] = {"queued": "gray", "running": "blue", "done": "green", "failed": "red",
                                        "cancelled": "orange"}


def _cancel(viewer: auth.Viewer, job_id: str) -> None:
    try:
        data.cancel_job(viewer, job_id)
    except Exception as exc:
        st.session_state["jobs_message"] = f"Could not cancel {job_id[:8]}: {data.plain_text(exc)}"
    else:
        st.session_state["jobs_message"] = f"Cancel requested for {job_id[:8]}."


def _items_table(viewer: auth.Viewer, job: Any) -> pd.DataFrame | None:
    try:
        items = data.items_for(viewer, job.id)
    except KeyError:
        return None
    if not items:
        return None
    return pd.DataFrame([{"record": i.name, "status": i.status, "item": i.item or "", "error": i.error or "",
                          "updated": i.updated_at} for i in items])


def _job_card(viewer: auth.Viewer, job: Any) -> None:
    status = str(job.status)
    with st.container(border=True):
        head, progress_col, actions = st.columns([3, 3, 2], vertical_alignment="center")
        with head:
            st.markdown(f"**{data.plain_text(job.name or 'unnamed')}** &nbsp; `{job.id[:8]}`")
            if viewer.is_admin:
                st.caption(f"owner: {data.plain_text(job.owner)}")
            st.badge(status, icon=STATUS_ICONS.get(status), color=STATUS_COLORS.get(status, "gray"))
            predictor = (job.parameters or {}).get("predictor", "?")
            st.caption(f"{predictor} · submitted {job.created_at:%Y-%m-%d %H:%M} UTC · "
                       f"elapsed {data.format_seconds(data.elapsed(job))}")
        with progress_col:
            fraction, label = data.progress_fraction(job.progress)
            if status == "done":
                fraction = 1.0
            st.progress(fraction, text=label)
            if job.error:
                st.caption(f":red[{data.plain_text(job.error)}]")
            if job.cancel_requested and status == "running":
                st.caption("cancel requested")
        with actions:
            if status in ("queued", "running") and not job.cancel_requested:
                st.button("Cancel", key=f"cancel_{job.id}", on_click=_cancel, args=(viewer, job.id),
                          icon=":material/cancel:")
            if job.result_path:
                link_to("results", "Open results", icon=":material/visibility:", query_params={"job": job.id})
        # per-record rows are read only when asked for: a screening batch has thousands
        if st.toggle("Per-record status", key=f"items_{job.id}", value=status == "running"):
            table = _items_table(viewer, job)
            if table is None:
                st.caption("No per-record status yet.")
            else:
                st.dataframe(table, hide_index=True, height=min(38 + 35 * len(table), 300))


@st.fragment(run_every=REFRESH_S)
def job_list(viewer: auth.Viewer) -> None:
    """The viewer's job cards (every owner's for an admin who asks); reruns every :data:`REFRESH_S` seconds."""
    show_all = viewer.is_admin and st.session_state.get("jobs_all_owners", False)
    statuses = st.session_state.get("jobs_status", [])
    mine = dataclasses.replace(viewer, is_admin=False)
    try:
        jobs = data.jobs_for(viewer if show_all else mine)
    except Exception as exc:
        st.error(f"Cannot read the job store: {data.plain_text(exc)}")
        return
    if statuses:
        jobs = [j for j in jobs if str(j.status) in statuses]
    if not jobs:
        st.info("No jobs yet. Submit a batch on the Submit page.")
        return
    counts = pd.Series([str(j.status) for j in jobs]).value_counts()
    st.caption(" · ".join(f"{n} {s}" for s, n in counts.items()))
    for job in jobs:
        _job_card(viewer, job)


def page() -> None:
    """Render the Jobs view."""
    viewer = auth.current_viewer()
    st.title("Jobs")
    left, right = st.columns([3, 1])
    with left:
        st.multiselect("Status", list(STATUS_COLORS), key="jobs_status", placeholder="all statuses")
    if viewer.is_admin:
        with right:
            st.toggle("All owners", key="jobs_all_owners", help="admin: every user's jobs")
    message = st.session_state.pop("jobs_message", None)
    if message:
        st.toast(message)
    st.caption("A job runs when a dispatcher is running: `workbench serve` in a terminal. This list refreshes itself.")
    job_list(viewer)
