"""Plotly figures for the Results view: per-residue pLDDT, PAE, refinement energies and violations.

Each function takes plain data (lists, dicts from the result JSON files) and
returns a :class:`plotly.graph_objects.Figure`; none reads files or touches Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from workbench.ui.viewer import PLDDT_BANDS

_LAYOUT: dict[str, Any] = {"margin": {"l": 50, "r": 20, "t": 40, "b": 40}, "height": 320, "template": "plotly_white"}


def plddt_figure(plddt: Sequence[float], labels: Sequence[str] | None = None,
                 title: str = "pLDDT per residue") -> go.Figure:
    """Per-residue pLDDT as a line over the AlphaFold confidence bands.

    Parameters
    ----------
    plddt : sequence of float
        0-100, one per residue.
    labels : sequence of str, optional
        Residue labels for the hover text (``"A:GLU 57"``).
    title : str

    Returns
    -------
    plotly.graph_objects.Figure
    """
    values = np.asarray(plddt, dtype=float)
    x = np.arange(1, len(values) + 1)
    fig = go.Figure()
    upper = 100.0
    for lower, color, label in PLDDT_BANDS:
        low = max(lower, 0.0)
        fig.add_hrect(y0=low, y1=upper, fillcolor=color, opacity=0.15, line_width=0, annotation_text=label,
                      annotation_position="left", annotation_font_size=9)
        upper = low
    fig.add_trace(go.Scatter(x=x, y=values, mode="lines", line={"color": "#222222", "width": 1.5}, name="pLDDT",
                             text=list(labels) if labels is not None else None,
                             hovertemplate="residue %{x} %{text}<br>pLDDT %{y:.1f}<extra></extra>"
                             if labels is not None else "residue %{x}<br>pLDDT %{y:.1f}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="residue", yaxis_title="pLDDT", yaxis_range=[0, 100], **_LAYOUT)
    return fig


def pae_figure(pae: Sequence[Sequence[float]], title: str = "Predicted aligned error") -> go.Figure:
    """PAE heatmap (Å): row = aligned residue, column = scored residue, as AlphaFold shows it.

    Parameters
    ----------
    pae : array-like, shape=(n, n)
    title : str
    """
    matrix = np.asarray(pae, dtype=float)
    fig = go.Figure(go.Heatmap(z=matrix, x=np.arange(1, matrix.shape[1] + 1), y=np.arange(1, matrix.shape[0] + 1),
                               colorscale="Greens_r", zmin=0, zmax=max(float(np.nanmax(matrix)), 1.0),
                               colorbar={"title": "Å"},
                               hovertemplate="aligned %{y}, scored %{x}<br>PAE %{z:.1f} Å<extra></extra>"))
    layout = {**_LAYOUT, "height": 420}
    fig.update_layout(title=title, xaxis_title="scored residue", yaxis_title="aligned residue", **layout)
    fig.update_yaxes(autorange="reversed", scaleanchor="x")
    return fig


def energy_figure(refinement: Mapping[str, Any]) -> go.Figure:
    """Potential energy before and after refinement (kJ/mol), from ``refinement.json``."""
    before = refinement.get("energy_before_kj_mol")
    after = refinement.get("energy_after_kj_mol")
    restraint = refinement.get("restraint_energy_after_kj_mol")
    names = ["before", "after"]
    values = [before, after]
    fig = go.Figure(go.Bar(x=names, y=values, marker_color=["#9E9E9E", "#1F77B4"],
                           text=[f"{v:,.0f}" if v is not None else "-" for v in values], textposition="auto",
                           name="potential energy"))
    if restraint is not None:
        fig.add_trace(go.Bar(x=["after"], y=[restraint], marker_color="#FF7F0E", name="restraint energy after"))
    fig.update_layout(title="Energy (kJ/mol)", yaxis_title="kJ/mol", barmode="group", **_LAYOUT)
    return fig


def violations_figure(refinement: Mapping[str, Any]) -> go.Figure:
    """Violations by kind (clash, bond, angle, ...) before and after refinement."""
    before = (refinement.get("violations_before") or {}).get("counts") or {}
    after = (refinement.get("violations_after") or {}).get("counts") or {}
    kinds = sorted(set(before) | set(after))
    fig = go.Figure([
        go.Bar(x=kinds, y=[before.get(k, 0) for k in kinds], name="before", marker_color="#9E9E9E"),
        go.Bar(x=kinds, y=[after.get(k, 0) for k in kinds], name="after", marker_color="#1F77B4"),
    ])
    fig.update_layout(title="Violations", yaxis_title="count", barmode="group", **_LAYOUT)
    fig.update_yaxes(rangemode="tozero", dtick=1 if max([*before.values(), *after.values(), 0]) < 10 else None)
    return fig


def secondary_structure_figure(secondary: str) -> go.Figure:
    """Secondary structure as a strip: one coloured cell per residue (helix, strand, other)."""
    from workbench.ui.viewer import SS_COLORS, SS_LABELS

    codes = {"H": 2, "E": 1}
    z = [[codes.get(s, 0) for s in secondary]]
    colorscale = [[0.0, SS_COLORS["-"]], [0.33, SS_COLORS["-"]], [0.34, SS_COLORS["E"]], [0.66, SS_COLORS["E"]],
                  [0.67, SS_COLORS["H"]], [1.0, SS_COLORS["H"]]]
    text = [[SS_LABELS.get(s, SS_LABELS["-"]) for s in secondary]]
    fig = go.Figure(go.Heatmap(z=z, x=np.arange(1, len(secondary) + 1), zmin=0, zmax=2, colorscale=colorscale,
                               showscale=False, text=text, hovertemplate="residue %{x}: %{text}<extra></extra>"))
    fig.update_layout(title="Secondary structure (DSSP)", xaxis_title="residue", **{**_LAYOUT, "height": 160})
    fig.update_yaxes(visible=False)
    return fig
