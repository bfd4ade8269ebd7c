"""Static figures of a model's confidence (PNG and SVG), as ColabFold draws them, for reports and item folders.

* :func:`plddt_png`: per-residue pLDDT over AlphaFold's confidence bands
  (90 / 70 / 50), y axis 0-100, chain boundaries as vertical lines.
* :func:`pae_png`: the predicted aligned error as a heatmap, 0-30 Å, with a
  colour bar; columns are scored residues, rows aligned residues.

Figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas,
never through :mod:`matplotlib.pyplot`, so no global figure, backend or
rcParams change is left behind, and they are safe in worker threads.
:func:`plddt_png_bytes`, :func:`pae_png_bytes`, :func:`plddt_svg`,
:func:`pae_svg` and :func:`png_data_uri` give the same figures in memory for
embedding in HTML.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from workbench.files import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "PAE_MAX",
    "pae_figure",
    "pae_png",
    "pae_png_bytes",
    "pae_svg",
    "plddt_figure",
    "plddt_png",
    "plddt_png_bytes",
    "plddt_svg",
    "png_data_uri",
]

PAE_MAX = 30.0
"""Top of the PAE colour scale, Å (AlphaFold's and ColabFold's)."""

_DPI = 100
_SVG_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)


def _bands() -> tuple[tuple[float, str, str], ...]:
    from workbench.ui.viewer import PLDDT_BANDS  # the one definition of the band colours (no Streamlit import)

    return PLDDT_BANDS


def _boundaries(chain_lengths: Sequence[int] | None, n: int) -> list[int]:
    """Residue counts at which a new chain starts (not 0, not n)."""
    if not chain_lengths or len(chain_lengths) < 2:
        return []
    if sum(chain_lengths) != n:
        raise ValueError(f"chain lengths {list(chain_lengths)} add up to {sum(chain_lengths)}, not {n} residues")
    return [int(b) for b in np.cumsum(chain_lengths)[:-1]]


def plddt_figure(plddt: np.ndarray, *, chain_lengths: Sequence[int] | None = None,
                 title: str = "pLDDT per residue") -> Figure:
    """A figure of per-residue pLDDT over the AlphaFold confidence bands.

    Parameters
    ----------
    plddt : ndarray, shape=(n_residues,), dtype=float
        0-100.
    chain_lengths : sequence of int, optional
        Residues per chain, in order; boundaries are drawn between chains.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        Drawn on an Agg canvas, not registered with pyplot.

    Raises
    ------
    ValueError
        For an empty or non-1-D array, or chain lengths that do not add up.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    values = np.asarray(plddt, dtype=np.float64)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"pLDDT must be a non-empty 1-D array, got shape {values.shape}")
    figure = Figure(figsize=(6.4, 3.2), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    upper = 100.0
    for lower, color, label in _bands():
        low = max(lower, 0.0)
        axes.axhspan(low, upper, color=color, alpha=0.2, linewidth=0, label=label)
        upper = low
    x = np.arange(1, len(values) + 1)
    axes.plot(x, values, color="#222222", linewidth=1.2)
    for boundary in _boundaries(chain_lengths, len(values)):
        axes.axvline(boundary + 0.5, color="#555555", linewidth=0.8, linestyle="--")
    axes.set(xlim=(0.5, len(values) + 0.5), ylim=(0, 100), xlabel="residue", ylabel="pLDDT", title=title)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.legend(loc="outside lower center", fontsize=7, frameon=False, ncol=4)
    return figure


def pae_figure(pae: np.ndarray, *, chain_lengths: Sequence[int] | None = None,
               title: str = "Predicted aligned error") -> Figure:
    """A heatmap of the predicted aligned error, 0-30 Å.

    Parameters
    ----------
    pae : ndarray, shape=(n_residues, n_residues), dtype=float
        Å; row ``i`` (aligned residue), column ``j`` (scored residue): the
        expected error at ``j`` when the model is aligned on ``i``.
    chain_lengths : sequence of int, optional
        Residues per chain; boundaries are drawn between chains.
    title : str

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For a matrix that is not square or is empty.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    values = np.asarray(pae, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or values.shape[0] == 0:
        raise ValueError(f"PAE must be a non-empty square matrix, got shape {values.shape}")
    n = values.shape[0]
    figure = Figure(figsize=(4.8, 4.0), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap="bwr", vmin=0.0, vmax=PAE_MAX, interpolation="nearest",
                        extent=(0.5, n + 0.5, n + 0.5, 0.5))
    for boundary in _boundaries(chain_lengths, n):
        axes.axvline(boundary + 0.5, color="black", linewidth=0.8)
        axes.axhline(boundary + 0.5, color="black", linewidth=0.8)
    axes.set(xlabel="scored residue", ylabel="aligned residue", title=title)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    colorbar = figure.colorbar(image, ax=axes, shrink=0.9)
    colorbar.set_label("expected position error (Å)")
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    figure.clear()
    return buffer.getvalue()


def _svg(figure: Figure) -> str:
    import matplotlib

    buffer = io.StringIO()
    # a salt per figure: several inline SVGs in one page must not share clip-path ids
    with matplotlib.rc_context({"svg.hashsalt": f"wb{id(figure):x}", "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg")
    figure.clear()
    return _SVG_PROLOGUE.sub("", buffer.getvalue(), count=1)


def plddt_png_bytes(plddt: np.ndarray, *, chain_lengths: Sequence[int] | None = None) -> bytes:
    """The pLDDT figure (:func:`plddt_figure`) as PNG bytes."""
    return _png(plddt_figure(plddt, chain_lengths=chain_lengths))


def pae_png_bytes(pae: np.ndarray, *, chain_lengths: Sequence[int] | None = None) -> bytes:
    """The PAE figure (:func:`pae_figure`) as PNG bytes."""
    return _png(pae_figure(pae, chain_lengths=chain_lengths))


def plddt_png(plddt: np.ndarray, path: str | Path, *, chain_lengths: Sequence[int] | None = None) -> Path:
    """Write the pLDDT figure to ``path`` as PNG (atomically).

    Parameters
    ----------
    plddt : ndarray, shape=(n_residues,), dtype=float
        0-100.
    path : str or Path
    chain_lengths : sequence of int, optional

    Returns
    -------
    Path
    """
    path = Path(path)
    atomic_write_bytes(path, plddt_png_bytes(plddt, chain_lengths=chain_lengths))
    return path


def pae_png(pae: np.ndarray, path: str | Path, *, chain_lengths: Sequence[int] | None = None) -> Path:
    """Write the PAE heatmap to ``path`` as PNG (atomically).

    Parameters
    ----------
    pae : ndarray, shape=(n_residues, n_residues), dtype=float
        Å.
    path : str or Path
    chain_lengths : sequence of int, optional

    Returns
    -------
    Path
    """
    path = Path(path)
    atomic_write_bytes(path, pae_png_bytes(pae, chain_lengths=chain_lengths))
    return path


def plddt_svg(plddt: np.ndarray, *, chain_lengths: Sequence[int] | None = None) -> str:
    """The pLDDT figure as an ``<svg>`` element (no XML prologue), for inline HTML."""
    return _svg(plddt_figure(plddt, chain_lengths=chain_lengths))


def pae_svg(pae: np.ndarray, *, chain_lengths: Sequence[int] | None = None) -> str:
    """The PAE heatmap as an ``<svg>`` element (no XML prologue), for inline HTML."""
    return _svg(pae_figure(pae, chain_lengths=chain_lengths))


def png_data_uri(png: bytes) -> str:
    """A ``data:image/png;base64,...`` URI of ``png``.

    Examples
    --------
    >>> png_data_uri(b"PNG")
    'data:image/png;base64,UE5H'
    """
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
