"""Figures a user would write down from Salesforce for a generated sample org, computed with plain pandas.

No package code: the kept rows of the export (tests/export_csv.py: quarantined, deleted and merged rows
dropped), stage flags from OpportunityStage.csv, amounts in the corporate currency by plain pandas
(``to_usd``), calendar quarters of the close date (a fiscal year from January). The org is read as of
its latest date, when every deal stands as its row says.

``python -m tests.reconcile.sample_figures data/sample data/examples/salesforce_figures.csv`` writes the
example shipped for the sample org.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from tests.export_csv import fold, kept, to_usd


def closed_deals(org: Path) -> pd.DataFrame:
    """The closed opportunities: quarter of the close date, won, amount (corporate currency), type."""
    o = kept(org, "Opportunity.csv")
    stages = pd.read_csv(org / "OpportunityStage.csv", dtype=str)
    stages.index = fold(stages["MasterLabel"])
    stage = fold(o["StageName"])
    closed = stage.map(stages["IsClosed"].str.lower() == "true").fillna(False).astype(bool)
    won = stage.map(stages["IsWon"].str.lower() == "true").fillna(False).astype(bool)
    q = pd.to_datetime(o["CloseDate"]).dt.to_period("Q").map(lambda p: f"FY{p.year}-Q{p.quarter}")
    d = pd.DataFrame({"quarter": q, "won": won, "amount": to_usd(org, o), "type": fold(o["Type"])})
    return d[closed.to_numpy()]


def by_quarter(org: Path) -> pd.DataFrame:
    """Per quarter: win rate by count and by amount, won amount of all deals and of new business only."""
    d = closed_deals(org)
    nb = d[d["type"] == "new business"]
    amt = d.dropna(subset=["amount"])
    return pd.DataFrame(
        {
            "closed": d.groupby("quarter").size(),
            "by_count": d.groupby("quarter")["won"].mean(),
            "by_amount": amt[amt["won"]].groupby("quarter")["amount"].sum() / amt.groupby("quarter")["amount"].sum(),
            "won_amount": d[d["won"]].groupby("quarter")["amount"].sum(),
            "won_amount_new_business": nb[nb["won"]].groupby("quarter")["amount"].sum(),
        }
    ).fillna({"won_amount": 0.0, "won_amount_new_business": 0.0})


def user_figures(org: Path, *, unexplained: tuple[str, str, str] | None = None) -> pd.DataFrame:
    """Four rows as a user writes them: a match, one by amount, one new business only, one unexplained.

    Among the quarters with at least 20 closed deals: the latest for the match (the win rate by count,
    rounded to two decimals); the one where count and amount differ most for the win rate by amount;
    the one where new business differs most from all deals for the bookings (whole units); and, unless
    ``unexplained`` gives another (figure, period, value), a win rate of 0.35 in the latest other quarter.
    """
    t = by_quarter(org)
    t = t[t["closed"] >= 20]
    match = t.index.max()
    amount = (t["by_count"] - t["by_amount"]).abs().idxmax()
    renewals = (t["won_amount"] - t["won_amount_new_business"]).abs().idxmax()
    other = max(q for q in t.index if q not in (match, amount, renewals))
    rows = [
        ("win_rate", match, f"{t.at[match, 'by_count']:.2f}", "Win rate dashboard"),
        ("win_rate", amount, f"{t.at[amount, 'by_amount']:.2f}", "Win rate by amount dashboard"),
        ("won_amount", renewals, f"{t.at[renewals, 'won_amount_new_business']:.0f}", "New business bookings"),
        (*(unexplained or ("win_rate", other, "0.35")), "A report with a filter of its own"),
    ]
    return pd.DataFrame(rows, columns=["figure", "period", "value", "note"])


if __name__ == "__main__":  # pragma: no cover
    user_figures(Path(sys.argv[1])).to_csv(sys.argv[2], index=False)
