"""Plain-pandas readings of a generated export for the pipeline tests: no package code.

``state_on`` rebuilds each kept deal's state on a day from the CSV files as the as-of rules say: the
last history row before the end of the day, else its first row, else the opportunity row; closed by
the stage table (a deal without history that closed after the day was open on it).
"""

from __future__ import annotations

import pandas as pd

from tests.export_csv import fold, kept


def utc(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.replace("", None), utc=True, format="ISO8601")


def state_on(org, day: pd.Timestamp) -> pd.DataFrame:
    """Per kept deal created by the end of ``day``: owner, stage, close date and open flag on that day."""
    end = pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1)
    opps = kept(org, "Opportunity.csv")
    assert "true" not in set(fold(opps["IsDeleted"])), "kept() leaves deleted deals out"
    opps = opps[utc(opps["CreatedDate"]) < end].set_index("Id")
    hist = kept(org, "OpportunityHistory.csv")
    hist = hist[hist["OpportunityId"].isin(opps.index)].assign(_t=lambda d: utc(d["CreatedDate"]))
    hist = hist.reset_index(drop=True).reset_index().sort_values(["_t", "index"], kind="stable")
    last = hist[hist["_t"] < end].drop_duplicates("OpportunityId", keep="last").set_index("OpportunityId")
    first = hist.drop_duplicates("OpportunityId", keep="first").set_index("OpportunityId")
    stages = pd.read_csv(org / "OpportunityStage.csv", dtype=str)
    closed_stage = dict(zip(fold(stages["MasterLabel"]), fold(stages["IsClosed"]) == "true"))
    rows = []
    for oid, o in opps.iterrows():
        row = last.loc[oid] if oid in last.index else first.loc[oid] if oid in first.index else o
        closed = closed_stage.get(fold(pd.Series([row["StageName"]])).iloc[0])
        if closed is None:  # no history: the row itself; a deal closed after the day was open on it
            closed = fold(pd.Series([o["IsClosed"]])).iloc[0] == "true" and pd.Timestamp(o["CloseDate"]) <= day
        rows.append({"id": oid, "owner": o["OwnerId"], "close": pd.Timestamp(row["CloseDate"]), "open": not closed})
    return pd.DataFrame(rows)
