"""What the velocity notebook shows, checked against plain pandas on the export's CSV files.

The notebook runs once on the small generated org (the ``executed`` fixture), as of the latest date
in the data (recorded by the funnel notebook in every row of ``kpis``, column ``as_of``). Expected values come from the CSV
files and the generator's truth folder without the package: quarantined rows dropped, 15-character
IDs widened as the truth says, stage names folded by hand, days counted as UTC calendar days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from funnel_analysis.reporting import read_records
from tests.export_csv import fold, kept

pytestmark = pytest.mark.slow


def _day(s: pd.Series) -> pd.Series:
    """UTC calendar day of a timestamp or date column (missing stays missing)."""
    return pd.to_datetime(s.replace("", None), utc=True, format="ISO8601").dt.tz_localize(None).dt.normalize()


def _sas_median(x: np.ndarray) -> float:
    """The first value at which the share still above it drops below one half (no censoring)."""
    x = np.sort(x)
    return float(x[len(x) // 2])


@pytest.fixture(scope="module")
def rec(executed):
    path, error = executed["velocity"]
    assert error is None, error
    return read_records(path)


@pytest.fixture(scope="module")
def as_of(executed):
    return pd.Timestamp(read_records(executed["funnel"][0])["kpis"][0]["as_of"]).normalize()


def test_cycle_length_closed_only_figures(rec, as_of, small_sample):
    opps = kept(small_sample, "Opportunity.csv")
    created, close = _day(opps["CreatedDate"]), _day(opps["CloseDate"])
    undated = int(created.isna().sum())  # no creation date: no cycle (never 0 days), counted apart
    opps, created, close = opps[created <= as_of], created[created <= as_of], close[created <= as_of]
    closed = (opps["IsClosed"].str.lower() == "true") & ~(close > as_of)
    days = (close.where(closed, as_of) - created).dt.days
    bad = days.isna() | (days < 0)
    ok_closed = closed & ~bad
    got = rec["cycle_length"][0]
    assert got["n"] == len(opps)
    assert got["n_closed"] == ok_closed.sum()
    assert got["n_won"] == (ok_closed & (opps["IsWon"].str.lower() == "true")).sum()
    assert got["n_invalid"] == bad.sum()
    assert got["n_undated_excluded"] == undated
    assert got["naive_mean"] == pytest.approx(days[ok_closed].mean())
    assert got["naive_median"] == _sas_median(days[ok_closed].to_numpy())
    # open deals count as at least as long as they are old: the KM median is never below the naive one
    assert got["km_median"] >= got["naive_median"]


def test_stage_to_stage_days_from_the_history(rec, as_of, small_sample):
    got = rec["stage_to_stage_days"][0]
    hist = kept(small_sample, "OpportunityHistory.csv")
    opps = kept(small_sample, "Opportunity.csv")
    hist = hist[hist["OpportunityId"].isin(opps["Id"])]
    t = pd.to_datetime(hist["CreatedDate"], utc=True, format="ISO8601")
    hist = hist.assign(_t=t, _day=t.dt.tz_localize(None).dt.normalize(), _stage=fold(hist["StageName"]))
    hist = hist[hist["_t"] < pd.Timestamp(as_of, tz="UTC") + pd.Timedelta(days=1)]
    first = hist.sort_values("_t", kind="stable").groupby(["OpportunityId", "_stage"])["_day"].first().unstack()
    a, b = got["from_stage"].casefold(), got["to_stage"].casefold()
    entered_a = first[a].dropna()
    both = first.loc[entered_a.index, b].dropna()
    span = (both - entered_a.loc[both.index]).dt.days
    span = span[span >= 0]  # reached the later stage after the earlier one
    assert got["n_from"] == len(entered_a)
    assert got["n"] == len(span)
    assert got["mean_days"] == pytest.approx(span.mean())


def test_stalled_deals_are_open_in_that_stage_since_their_last_move(rec, as_of, small_sample):
    stalled = pd.DataFrame(rec["stalled_deals"])
    assert len(stalled) > 0
    opps = kept(small_sample, "Opportunity.csv").set_index("Id")
    hist = kept(small_sample, "OpportunityHistory.csv")
    hist = (
        hist.assign(_t=pd.to_datetime(hist["CreatedDate"], utc=True, format="ISO8601"), _stage=fold(hist["StageName"]))
        .reset_index(drop=True)
        .reset_index()
    )
    hist = hist.sort_values(["_t", "index"], kind="stable")
    for _, d in stalled.iterrows():
        o = opps.loc[d["opportunity_id"]]
        assert (
            o["IsClosed"].lower() == "false" and fold(pd.Series([o["StageName"]])).iloc[0] == d["stage_name"].casefold()
        )
        h = hist[hist["OpportunityId"] == d["opportunity_id"]]
        # the visit began at the first row of the last run of rows in the current stage
        run_start = (h["_stage"] != h["_stage"].shift()).cumsum()
        entered = h.loc[run_start == run_start.iloc[-1], "_t"].iloc[0]
        assert pd.Timestamp(d["entered"]) == entered
        days = (as_of - entered.tz_localize(None).normalize()).days
        assert d["days_in_stage"] == days and d["days_over"] == days - d["threshold_days"] > 0
