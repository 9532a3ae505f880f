"""Plain-pandas readers of a generated export, for tests that check the notebooks independently.

No package code: rows the truth folder says are quarantined are dropped, 15-character IDs the
cleaner widens are widened from the truth's ``clean_value``, picklists folded by hand.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: canonical column of an id15 defect -> the export header it was written under
_ID_HEADERS = {"opportunity_id": "OpportunityId", "converted_opportunity_id": "ConvertedOpportunityId"}


def fold(s: pd.Series) -> pd.Series:
    """A picklist as the cleaner folds it: trimmed, one space, case-insensitive."""
    return s.str.strip().str.replace(r"\s+", " ", regex=True).str.casefold()


def kept(org: Path, name: str) -> pd.DataFrame:
    """Rows of an export file without the quarantined ones, opportunity IDs widened as the truth says."""
    truth = pd.read_csv(f"{org}_truth/dirty_rows.csv", dtype=str, keep_default_na=False)
    df = pd.read_csv(org / name, dtype=str, keep_default_na=False)
    mine = truth[truth["file"] == name]
    for _, fix in mine[mine["kind"] == "id15"].iterrows():
        if fix["column"] in _ID_HEADERS:
            df.loc[int(fix["row"]), _ID_HEADERS[fix["column"]]] = fix["clean_value"]
    return df.drop(index=mine.loc[mine["expected"] == "quarantine", "row"].astype(int).unique())


def won_by_quarter(org: Path) -> pd.Series:
    """Won amount by calendar quarter of the close date (a PeriodIndex), from the kept opportunities."""
    o = kept(org, "Opportunity.csv")
    won = o[fold(o["IsWon"]).isin(["true", "1"])]
    quarter = pd.PeriodIndex(pd.to_datetime(won["CloseDate"]), freq="Q")
    return pd.to_numeric(won["Amount"].replace("", None)).fillna(0).groupby(quarter).sum()


def report_as_of(executed) -> pd.Timestamp:
    """The notebooks' report date on the small org: the latest date, as the funnel notebook records it."""
    from funnel_analysis.reporting import read_records

    kpis = read_records(executed["funnel"][0])["kpis"]
    row = kpis[0] if isinstance(kpis, list) else kpis  # a table of one row per segment, or figures
    return pd.Timestamp(row["as_of"]).normalize()
