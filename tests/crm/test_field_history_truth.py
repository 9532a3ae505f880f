"""crm.field_history on the generated sample against the generator's own record of what happened.

The sample org's field history has a real org's gaps (Status tracking switched on mid-life, 18 months
kept, paired owner rows, same-second ties); its truth folder records, from the simulation itself
(not from the CSVs), each lead's status on three dates and whether the kept history can tell it, and
each deal's true close-date pushes and whether its history is complete.
"""

from __future__ import annotations

import pandas as pd
import pytest

import funnel_analysis as fa
from funnel_analysis.crm import close_date_pushes, field_as_of, queue_time


@pytest.fixture(scope="module")
def sample(small_sample):
    return fa.load_org(small_sample), small_sample.parent / f"{small_sample.name}_truth"


def test_lead_status_on_three_dates_equals_the_truth(sample):
    crm, truth = sample
    statuses = pd.read_csv(truth / "lead_status_on_dates.csv", dtype={"lead_id": str, "status": str})
    days = sorted(statuses["on_date"].unique())
    assert len(days) == 3
    for day in days:
        expected = statuses[statuses["on_date"] == day]
        got = field_as_of(crm, table="LeadHistory", field="Status", as_of=day).merge(
            expected, on="lead_id", suffixes=("", "_truth")
        )
        assert len(got) >= 0.9 * len(expected), day  # every kept lead created by then (quarantined ones aside)
        known = got["source"] != "unknown"
        # the product knows exactly what the kept history can tell, and says unknown otherwise
        assert (known == got["known"].astype(bool)).all(), day
        assert (got.loc[known, "status"] == got.loc[known, "status_truth"]).all(), day
    # the three dates are chosen so that the unknown case is real on at least one of them
    assert not statuses.groupby("on_date")["known"].all().all()


def test_close_date_pushes_equal_the_truth_and_are_unknown_where_the_history_is_cut(sample):
    crm, truth = sample
    expected = pd.read_csv(truth / "close_date_pushes.csv", dtype={"opportunity_id": str})
    got = close_date_pushes(crm).merge(expected, on="opportunity_id", suffixes=("", "_truth"))
    assert len(got) >= 0.9 * len(expected)
    assert (got["history_complete"] == got["complete_in_history"].astype(bool)).all()
    complete = got[got["history_complete"]]
    assert len(complete) and (complete["pushes"].astype(int) == complete["pushes_truth"]).all()
    assert (complete["days_pushed"].astype(int) == complete["days_pushed_truth"]).all()
    cut = got[~got["history_complete"]]
    assert len(cut) and cut["pushes"].isna().all()  # unknown, never 0
    assert (cut["pushes_seen"] <= cut["pushes_truth"]).all()  # what is seen is a lower bound
    assert (got["pushes_seen"] == got["pushes_in_history"]).all()


def test_queue_time_matches_the_truth_where_the_owner_history_tells_it(sample):
    crm, truth = sample
    expected = pd.read_csv(truth / "queue_time.csv", dtype={"lead_id": str, "queue_id": str})
    # a pick-up older than the kept owner history is not in the export: only the others can be found
    expected = expected[expected["pickup_in_history"].astype(bool) | expected["still_in_queue"].astype(bool)]
    got = queue_time(crm).merge(expected, on=["lead_id", "queue_id"], suffixes=("", "_truth"))
    assert len(got) >= 0.9 * len(expected)
    assert (got["still_in_queue"] == got["still_in_queue_truth"].astype(bool)).all()
    told = got["hours_in_queue"].notna() & got["hours_in_queue_truth"].notna()
    assert told.mean() > 0.9
    assert (got.loc[told, "hours_in_queue"] - got.loc[told, "hours_in_queue_truth"]).abs().max() < 0.01
