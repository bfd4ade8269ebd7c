"""The batch summary: one row per FASTA record, a ranking, and the HTML report (written by :mod:`workbench.results`)."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from workbench.results import COLUMNS, SummaryRow


def build_summary(rows: Sequence[SummaryRow]) -> pd.DataFrame:
    """A summary table with every column of :data:`~workbench.results.COLUMNS`, ranked.

    Parameters
    ----------
    rows : sequence of SummaryRow
        One per record, in file order; missing numbers become NaN.

    Returns
    -------
    pandas.DataFrame
    """
    table = pd.DataFrame([row.to_dict() for row in rows], columns=list(COLUMNS))
    for name in COLUMNS[COLUMNS.index("mean_plddt"):]:
        table[name] = pd.to_numeric(table[name], errors="coerce").astype("float64")
    table["length"] = table["length"].astype("int64")
    table["cached"] = table["cached"].fillna(False).astype(bool)
    table["rank"] = rank(table)
    # best first; rows without a rank (failed, cancelled) after them, in file order
    return table.sort_values("rank", na_position="last", kind="stable").reset_index(drop=True)


def rank(table: pd.DataFrame) -> pd.Series:
    """Rank finished rows, 1 best; failed rows get no rank.

    With energy changes (a template screen with refinement), the most stabilising
    variant ranks first (lowest ``energy_change``); otherwise the most confident
    model (highest mean pLDDT, then pTM); ties go to fewer violations, then fewer
    clashes.
    """
    ok = table["status"] == "done"
    by_energy = table.loc[ok, "energy_change"].notna().any()
    keys = (["energy_change", "violations_after", "clashes"] if by_energy
            else ["mean_plddt", "ptm", "violations_after", "clashes"])
    ascending = [True, True, True] if by_energy else [False, False, True, True]
    order = table.loc[ok].sort_values(keys, ascending=ascending, na_position="last", kind="stable").index
    ranks = pd.Series(pd.NA, index=table.index, dtype="Int64")
    ranks.loc[order] = range(1, len(order) + 1)
    return ranks


def report_html(table: pd.DataFrame, metadata: Mapping[str, Any]) -> str:
    """A self-contained HTML page: the run's settings and the ranked table."""
    ranked = table.sort_values("rank", na_position="last", kind="stable")
    counts = metadata.get("counts", {})
    settings = html.escape(json.dumps(metadata.get("settings", {}), indent=2, default=str))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>workbench batch</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}</style></head><body>"
        f"<h1>Batch summary</h1><p>{html.escape(', '.join(f'{k}: {v}' for k, v in counts.items()))}</p>"
        f"{ranked.to_html(index=False, na_rep='', float_format=lambda x: f'{x:.3g}')}"
        f"<h2>Settings</h2><pre>{settings}</pre></body></html>\n"
    )
