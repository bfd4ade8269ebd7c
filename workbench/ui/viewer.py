"""3D viewer: py3Dmol scenes with 3Dmol.js inlined, so the browser needs no network.

py3Dmol builds the viewer's JavaScript (``addModel``, ``setStyle``, ``zoomTo``);
its loader would fetch 3Dmol.js from a CDN, so :func:`viewer_html` defines the
library first from the copy shipped in ``workbench/ui/static/3Dmol-min.js``
(3Dmol.js 2.5.5, BSD-3-Clause, licence beside it) and hands py3Dmol a resolved
promise. Colours are computed here per residue (pLDDT bands, chains, secondary
structure) and sent as residue selections, so nothing depends on 3Dmol.js
colour schemes.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.structure import Structure

STATIC = Path(__file__).resolve().parent / "static"
#: 3Dmol.js version shipped in ``static/``; py3Dmol 2.5.5 expects the same.
THREEDMOL_VERSION = "2.5.5"

#: AlphaFold's pLDDT confidence bands: (lower bound, colour, label), highest first.
PLDDT_BANDS: tuple[tuple[float, str, str], ...] = (
    (90.0, "#0053D6", "very high (pLDDT > 90)"),
    (70.0, "#65CBF3", "confident (70-90)"),
    (50.0, "#FFDB13", "low (50-70)"),
    (-np.inf, "#FF7D45", "very low (< 50)"),
)
#: Secondary structure colours (DSSP simplified: H helix, E strand, - other).
SS_COLORS = {"H": "#E6007E", "E": "#F5B700", "-": "#BFBFBF"}
SS_LABELS = {"H": "helix", "E": "strand", "-": "coil / other"}
#: Chain colours, cycled.
CHAIN_COLORS = ("#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#17BECF")
#: Colours of the first and second structure in an overlay of two.
PAIR_COLORS = ("#1F77B4", "#FF7F0E")
COLOR_MODES = ("pLDDT", "chain", "secondary structure")
STYLES = ("cartoon", "sticks")
#: Every style a :class:`Layer` may have ("trace": a thin backbone tube, for overlays).
LAYER_STYLES = (*STYLES, "trace")


def plddt_color(value: float) -> str:
    """Colour of the AlphaFold band that ``value`` (0-100) falls in.

    Examples
    --------
    >>> plddt_color(95), plddt_color(90), plddt_color(75), plddt_color(55), plddt_color(10)
    ('#0053D6', '#65CBF3', '#65CBF3', '#FFDB13', '#FF7D45')
    """
    for lower, color, _ in PLDDT_BANDS:
        if value > lower or (lower == -np.inf):
            return color
    raise AssertionError("unreachable")  # pragma: no cover


@functools.cache
def threedmol_js() -> str:
    """The text of the shipped 3Dmol-min.js (read once per process)."""
    return (STATIC / "3Dmol-min.js").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Layer:
    """One structure in the viewer.

    Attributes
    ----------
    pdb : str
        PDB text.
    colors : sequence of (dict, str)
        3Dmol.js atom selections (within this model) and their colour, applied in order.
    style : {"cartoon", "sticks", "trace"}
    opacity : float
        Cartoon opacity (1 = opaque).
    hide_hydrogens : bool
        Do not draw hydrogen atoms (a relaxed model has them).
    labelled : sequence of (dict, str)
        Residue selections drawn as sticks on top of the style, each with a text label
        (the changed residues of a variant model).
    """

    pdb: str
    colors: Sequence[tuple[dict, str]] = field(default_factory=tuple)
    style: str = "cartoon"
    opacity: float = 1.0
    hide_hydrogens: bool = True
    labelled: Sequence[tuple[dict, str]] = field(default_factory=tuple)


_RESIDUE_LABEL = re.compile(r"^(?P<chain>[^:]+):(?P<name>\S+) (?P<number>-?\d+)(?P<icode>[A-Za-z]?)$")


def residue_selections(labels: Sequence[str]) -> list[tuple[dict, str]]:
    """3Dmol.js selections for residue labels written as ``"A:HIS 155"`` (unparseable labels are skipped).

    Examples
    --------
    >>> residue_selections(["A:HIS 155", "B:GLY 12A", "junk"])
    [({'chain': 'A', 'resi': 155}, 'A:HIS 155'), ({'chain': 'B', 'resi': 12}, 'B:GLY 12A')]
    """
    selections = []
    for label in labels:
        match = _RESIDUE_LABEL.match(label)
        if match:
            selections.append(({"chain": match["chain"], "resi": int(match["number"])}, label))
    return selections


def _residue_groups(structure: Structure, labels: Sequence[str]) -> dict[tuple[str, str], list[int]]:
    """Residue numbers grouped by (chain, label); ``labels`` has one entry per residue."""
    residues = structure.residues
    if len(labels) != len(residues):
        raise ValueError(f"{len(labels)} labels for {len(residues)} residues")
    groups: dict[tuple[str, str], list[int]] = {}
    for chain, res_id, label in zip(residues.chain_id, residues.res_id, labels, strict=True):
        groups.setdefault((str(chain), label), []).append(int(res_id))
    return groups


def _selections(groups: dict[tuple[str, str], list[int]], palette: dict[str, str]) -> list[tuple[dict, str]]:
    return [({"chain": chain, "resi": resi}, palette[label]) for (chain, label), resi in groups.items()]


def plddt_colors(structure: Structure, plddt: Sequence[float] | None = None) -> list[tuple[dict, str]]:
    """Selections colouring each residue by its pLDDT band.

    Parameters
    ----------
    structure : Structure
    plddt : sequence of float, optional
        Per residue, 0-100. Default: the B-factor of each residue's first atom
        (where predictions keep pLDDT).

    Returns
    -------
    list of (dict, str)
    """
    residues = structure.residues
    values = structure.b_factor[residues.start] if plddt is None else np.asarray(plddt, dtype=float)
    if len(values) != len(residues):  # e.g. a model with ligands: fall back to the B-factors
        values = structure.b_factor[residues.start]
    labels = [plddt_color(float(v)) for v in values]
    return _selections(_residue_groups(structure, labels), {c: c for _, c, _ in PLDDT_BANDS})


def chain_colors(structure: Structure) -> list[tuple[dict, str]]:
    """Selections colouring each chain with its own colour."""
    return [({"chain": str(c)}, CHAIN_COLORS[i % len(CHAIN_COLORS)]) for i, c in enumerate(structure.chains)]


def ss_colors(structure: Structure, secondary: str | None) -> list[tuple[dict, str]]:
    """Selections colouring residues by secondary structure (``H``, ``E``, anything else as coil).

    Parameters
    ----------
    structure : Structure
    secondary : str, optional
        One letter per residue (``metrics.json``'s ``secondary_structure``); when
        missing or of the wrong length, computed with :func:`workbench.analysis.dssp`.
    """
    residues = structure.residues
    if secondary is None or len(secondary) != len(residues):
        from workbench.analysis import dssp

        secondary = "".join(str(s) for s in dssp(structure, simplified=True))
    labels = [s if s in SS_COLORS else "-" for s in secondary]
    return _selections(_residue_groups(structure, labels), SS_COLORS)


def uniform_colors(color: str) -> list[tuple[dict, str]]:
    """One colour for the whole model."""
    return [({}, color)]


def _style(kind: str, color: str, opacity: float) -> dict:
    if kind == "cartoon":
        return {"cartoon": {"color": color, "opacity": opacity}}
    if kind == "sticks":
        return {"stick": {"color": color, "radius": 0.2}}
    if kind == "trace":
        return {"cartoon": {"color": color, "style": "trace", "thickness": 0.5, "opacity": opacity}}
    raise ValueError(f"style must be one of {LAYER_STYLES}, got {kind!r}")


def viewer_html(layers: Sequence[Layer], *, height: int = 480, element_id: str = "workbench-viewer") -> str:
    """HTML (with 3Dmol.js inlined) showing ``layers`` overlaid in one viewer.

    Parameters
    ----------
    layers : sequence of Layer
        Structures in the same frame (superpose them first).
    height : int
        Viewer height in pixels; the width follows the page.
    element_id : str
        ``id`` of the container ``div`` (for tests and end-to-end checks).

    Returns
    -------
    str

    Notes
    -----
    The PDB text goes inside a ``<script>`` element, so any ``<`` in it (which no
    PDB record has) is replaced by a space: an uploaded file cannot inject markup.
    """
    import py3Dmol

    view = py3Dmol.view(width="100%", height=height, js="")
    for index, layer in enumerate(layers):
        # "<" never occurs in PDB records; removing it means no text can close the <script> it sits in
        view.addModel(layer.pdb.replace("<", " "), "pdb")
        view.setStyle({"model": index}, {})
        for selection, color in layer.colors or uniform_colors(CHAIN_COLORS[0]):
            view.setStyle({"model": index, **selection}, _style(layer.style, color, layer.opacity))
        for selection, text in layer.labelled:
            where = {"model": index, **selection}
            view.addStyle(where, {"stick": {"colorscheme": "magentaCarbon", "radius": 0.25}})
            # the label goes into a <script> element: no "<" can close it
            view.addLabel(text.replace("<", " "), {"fontSize": 11, "backgroundOpacity": 0.7}, where)
        if layer.hide_hydrogens:
            view.setStyle({"model": index, "elem": "H"}, {})
    view.zoomTo()
    scene = view._make_html()
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<script>{threedmol_js()}</script>"
        "<script>var $3Dmolpromise = Promise.resolve();</script>"
        "<style>body{margin:0}</style></head>"
        f"<body><div id={json.dumps(element_id)} style='width:100%;height:{int(height)}px'>{scene}</div>"
        "</body></html>"
    )


def render(layers: Sequence[Layer], *, height: int = 480) -> None:
    """Show ``layers`` in the Streamlit page (an iframe; the HTML is built here, never taken from users)."""
    import streamlit as st

    st.iframe(viewer_html(layers, height=height), height=height + 10)


def legend_markdown(mode: str) -> str:
    """Markdown legend for a colour mode of :data:`COLOR_MODES`."""
    if mode == "pLDDT":
        items = [(color, label) for _, color, label in PLDDT_BANDS]
    elif mode == "secondary structure":
        items = [(SS_COLORS[k], SS_LABELS[k]) for k in ("H", "E", "-")]
    else:
        return "Each chain has its own colour."
    return " &nbsp; ".join(f"<span style='color:{c}'>■</span> {label}" for c, label in items)
