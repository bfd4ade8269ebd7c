"""An item's figures: one pLDDT/PAE rule on the worker and in the report; the report reads, never writes."""

from __future__ import annotations

import json

import numpy as np

from workbench.item_figures import item_figures, write_item_figures
from workbench.results import ItemFolder

PNG = b"\x89PNG\r\n\x1a\n"


def _item(folder, *, kind="plddt", plddt=(80.0, 70.0, 60.0, 90.0), pae=True, sequence="MK:VL") -> ItemFolder:
    folder.mkdir(exist_ok=True)
    values = None if plddt is None else list(plddt)
    mean = None if values is None or kind != "plddt" else float(np.mean(values))
    confidence = {"kind": kind, "plddt": values, "mean_plddt": mean, "residue_error": None, "ptm": None,
                  "iptm": None, "pae": np.full((4, 4), 5.0).tolist() if pae else None, "max_pae": 5.0 if pae else None}
    (folder / "confidence.json").write_text(json.dumps(confidence))
    (folder / "config.json").write_text(json.dumps({"key": "0" * 16, "sequence": sequence, "names": ["x"]}))
    return ItemFolder(folder)


def test_the_worker_writes_a_plddt_and_a_pae_figure_where_the_item_has_them(tmp_path):
    written = write_item_figures(_item(tmp_path / "both"))
    assert sorted(written) == ["pae.png", "plddt.png"]
    assert all(path.read_bytes().startswith(PNG) for path in written.values())
    assert write_item_figures(_item(tmp_path / "no-pae", pae=False)).keys() == {"plddt.png"}


def test_no_plddt_figure_for_another_kind_of_confidence_or_non_finite_values(tmp_path):
    """A learned per-residue error is not a pLDDT; a NaN in the values means none is drawn."""
    assert write_item_figures(_item(tmp_path / "error", kind="error_angstrom", pae=False)) == {}
    assert write_item_figures(_item(tmp_path / "nan", plddt=(80.0, float("nan"), 60.0, 90.0), pae=False)) == {}
    assert not list(tmp_path.glob("*/*.png"))


def test_the_report_reads_the_items_pngs_and_draws_only_what_an_older_item_lacks(tmp_path):
    item = _item(tmp_path / "item")
    write_item_figures(item)
    (item.path / "plddt.png").write_bytes(PNG + b"held")  # not what drawing would give: proves it was read
    (item.path / "pae.png").unlink()  # an item written before items held their figures
    figures = item_figures(item)
    assert figures.plddt == PNG + b"held"
    assert figures.pae is not None and figures.pae.startswith(PNG)
    assert sorted(p.name for p in item.path.iterdir()) == ["confidence.json", "config.json", "plddt.png"]
    assert item_figures(item, has_mean_plddt=False).plddt is None  # the summary row has no mean pLDDT
