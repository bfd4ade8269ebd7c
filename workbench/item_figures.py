"""An item's confidence figures: which ones it has, drawing them, and reading them back.

One rule, used on the worker that finishes an item and by the report on the
client: a pLDDT figure only for a model whose confidence is of kind ``plddt``
with a mean and finite per-residue values (no other per-residue number is
called pLDDT), a PAE heatmap only for a square, non-empty PAE. Chains are
separated where the item's ``config.json`` sequence (chains joined with ``:``)
says they meet. The drawing is :mod:`workbench.plots`'.

:func:`write_item_figures` runs as part of an item's work
(:func:`workbench.pipelines.tasks.finish_item`), before the engine writes
``DONE``, so ``plddt.png`` and ``pae.png`` are covered by ``DONE``'s
checksums. :func:`item_figures` is the report's reader: the PNG bytes an item
holds, and a figure made in memory only where an item written before the
worker drew them lacks one; it never writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.files import atomic_write_bytes
from workbench.plots import pae_png_bytes, plddt_png_bytes
from workbench.results import PAE_PNG, PLDDT_PNG, Confidence, ItemFolder

__all__ = ["ItemFigures", "chain_lengths", "item_figures", "pae_of", "plddt_of", "write_item_figures"]


@dataclass(frozen=True)
class ItemFigures:
    """An item's figures as PNG bytes; None where the item has no such figure.

    Attributes
    ----------
    plddt : bytes or None
        The pLDDT per residue (:func:`workbench.plots.plddt_figure`).
    pae : bytes or None
        The predicted aligned error heatmap (:func:`workbench.plots.pae_figure`).
    """

    plddt: bytes | None = None
    pae: bytes | None = None


def _safe(read: Callable[[], Any]) -> Any:
    """The value of a reader, or None when the file is unreadable (a figure never fails a report)."""
    try:
        return read()
    except (OSError, ValueError, KeyError):
        return None


def plddt_of(confidence: Confidence | None, *, has_mean: bool | None = None) -> np.ndarray | None:
    """Per-residue pLDDT when the item has a learned one, else None.

    Parameters
    ----------
    confidence : Confidence or None
    has_mean : bool, optional
        Whether the item's summary row has a mean pLDDT; None (on the worker,
        before there is a row): whether the confidence has one.

    Returns
    -------
    ndarray, shape=(n_residues,), dtype=float64, or None
    """
    if confidence is None or getattr(confidence, "kind", "plddt") != "plddt":
        return None
    if not (confidence.mean_plddt is not None if has_mean is None else has_mean):
        return None
    values = confidence.plddt
    if values is None or len(values) == 0 or not np.all(np.isfinite(values)):
        return None
    return np.asarray(values, dtype=np.float64)


def pae_of(confidence: Confidence | None) -> np.ndarray | None:
    """The predicted aligned error (Å) when the item has a square, non-empty one, else None.

    Returns
    -------
    ndarray, shape=(n_residues, n_residues), dtype=float64, or None
    """
    if confidence is None or confidence.pae is None:
        return None
    pae = np.asarray(confidence.pae, dtype=np.float64)
    return pae if pae.ndim == 2 and pae.shape[0] == pae.shape[1] and pae.size else None


def chain_lengths(item: ItemFolder, n: int) -> list[int] | None:
    """Residues per chain from the item's ``config.json``, when it has several chains adding up to ``n``."""
    config = _safe(item.config) or {}
    sequence = config.get("sequence")
    if not isinstance(sequence, str):
        return None
    lengths = [len(chain) for chain in sequence.split(":")]
    return lengths if sum(lengths) == n and len(lengths) > 1 else None


def _draw(item: ItemFolder, confidence: Confidence | None, *, plddt: bool, pae: bool,
          has_mean: bool | None) -> ItemFigures:
    values = plddt_of(confidence, has_mean=has_mean) if plddt else None
    matrix = pae_of(confidence) if pae else None
    return ItemFigures(
        None if values is None else plddt_png_bytes(values, chain_lengths=chain_lengths(item, len(values))),
        None if matrix is None else pae_png_bytes(matrix, chain_lengths=chain_lengths(item, len(matrix))))


def write_item_figures(item: ItemFolder) -> dict[str, Path]:
    """Draw the item's figures from its ``confidence.json`` and write them into its folder, each atomically.

    Part of an item's work on the worker, after its other files and before
    ``DONE``.

    Parameters
    ----------
    item : ItemFolder

    Returns
    -------
    dict of str to Path
        ``{"plddt.png": ..., "pae.png": ...}``, each only where the item has that figure.
    """
    figures = _draw(item, _safe(item.confidence), plddt=True, pae=True, has_mean=None)
    written = {}
    for name, png in ((PLDDT_PNG, figures.plddt), (PAE_PNG, figures.pae)):
        if png is not None:
            atomic_write_bytes(item.path / name, png)
            written[name] = item.path / name
    return written


def item_figures(item: ItemFolder, *, has_mean_plddt: bool | None = None) -> ItemFigures:
    """The item's figures for the report: the PNGs it holds, drawn in memory where one is missing.

    Items finished by this version hold theirs (:func:`write_item_figures`);
    an item written earlier may lack them, and then its ``confidence.json``
    is read and the figure drawn here. Nothing is written.

    Parameters
    ----------
    item : ItemFolder
    has_mean_plddt : bool, optional
        Whether the item's summary row has a mean pLDDT: False leaves the
        pLDDT figure out whatever the folder holds. None decides by the
        confidence alone (the reference item, which has no row).

    Returns
    -------
    ItemFigures
    """
    held = {name: _safe((item.path / name).read_bytes) for name in (PLDDT_PNG, PAE_PNG)}
    want_plddt = has_mean_plddt is not False
    missing_plddt = want_plddt and held[PLDDT_PNG] is None
    missing_pae = held[PAE_PNG] is None
    drawn = ItemFigures()
    if missing_plddt or missing_pae:
        drawn = _draw(item, _safe(item.confidence), plddt=missing_plddt, pae=missing_pae, has_mean=has_mean_plddt)
    return ItemFigures(plddt=(held[PLDDT_PNG] or drawn.plddt) if want_plddt else None,
                       pae=held[PAE_PNG] or drawn.pae)
