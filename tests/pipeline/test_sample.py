"""The pipeline lists on a small generated org, against plain pandas on its CSV files.

The org is the session's shared generated sample (``sample_org``: scale 0.25, in a temporary folder,
never the repository's data/sample; other suites build it anyway, so it costs CI nothing more than
the load). The expected counts
come from the CSV files and the generator's truth folder without the package (tests/export_csv.py:
quarantined, deleted and merged-away rows dropped), each deal's state on the day rebuilt from its
history rows by hand: the last change before the end of the day, else its first change, else the
opportunity row; closed by the stage table.
"""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.crm import load_org
from funnel_analysis.pipeline import report
from tests.export_csv import extract_day, fold, kept

pytestmark = pytest.mark.slow  # the load of the org: a few seconds


@pytest.fixture(scope="module")
def org(sample_org):
    return sample_org[0]


@pytest.fixture(scope="module")
def crm(org):
    return load_org(org)


def _utc(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.replace("", None), utc=True, format="ISO8601")


def _state_on(org, day: pd.Timestamp) -> pd.DataFrame:
    """Per kept deal created by the end of ``day``: owner, stage, close date and open flag on that day."""
    end = pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1)
    opps = kept(org, "Opportunity.csv")
    assert "true" not in set(fold(opps["IsDeleted"])), "kept() leaves deleted deals out"
    opps = opps[_utc(opps["CreatedDate"]) < end].set_index("Id")
    hist = kept(org, "OpportunityHistory.csv")
    hist = hist[hist["OpportunityId"].isin(opps.index)].assign(_t=lambda d: _utc(d["CreatedDate"]))
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


@pytest.mark.parametrize("when", ["extract", "2025-06-30"])
def test_past_close_date_counts_per_owner_equal_plain_pandas(org, crm, when):
    day = extract_day(org) if when == "extract" else pd.Timestamp(when)
    state = _state_on(org, day)
    late = state[state["open"] & (state["close"] < day)]
    expected = late.groupby("owner").size().sort_index()
    got = report.past_close_date(crm, as_of=day)
    assert len(got) > 0  # the check is not vacuous
    assert got.groupby("owner_id").size().sort_index().to_dict() == expected.to_dict()
    assert set(got["opportunity_id"]) == set(late["id"])
    assert got["owner_name"].notna().all()  # every owner has a name: users of the org


def test_overdue_task_counts_per_owner_equal_plain_pandas(org, crm):
    day = extract_day(org)
    tasks = kept(org, "Task.csv")
    due = pd.to_datetime(tasks["ActivityDate"].replace("", None), errors="coerce", format="%Y-%m-%d")
    open_ = fold(tasks["IsClosed"]) != "true"
    created = _utc(tasks["CreatedDate"]) < pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1)
    expected = tasks[open_ & (due < day) & created].groupby("OwnerId").size().sort_index()
    got = report.overdue_tasks(crm, as_of=day)
    assert len(got) > 0
    assert got.groupby("owner_id").size().sort_index().to_dict() == expected.to_dict()
