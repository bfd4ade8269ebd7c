"""The batch summary: one row per FASTA record, ranked, best first (written by :mod:`workbench.results`)."""

from __future__ import annotations

from collections.abc import Sequence

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

    With stability estimates (a template screen with refinement), the least
    destabilised variant ranks first (lowest ``ddg_estimate``, kcal/mol; rows
    without an estimate, such as indels, after those with one); otherwise the
    most confident model (highest mean pLDDT, then pTM). Ties go to fewer
    violations, then fewer clashes. The relaxed energy change never ranks: it
    compares two chemical compositions.
    """
    ok = table["status"] == "done"
    by_stability = table.loc[ok, "ddg_estimate"].notna().any()
    keys = (["ddg_estimate", "violations_after", "clashes"] if by_stability
            else ["mean_plddt", "ptm", "violations_after", "clashes"])
    ascending = [True, True, True] if by_stability else [False, False, True, True]
    order = table.loc[ok].sort_values(keys, ascending=ascending, na_position="last", kind="stable").index
    ranks = pd.Series(pd.NA, index=table.index, dtype="Int64")
    ranks.loc[order] = range(1, len(order) + 1)
    return ranks
