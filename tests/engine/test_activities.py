"""Activity aggregates in the engines (#19): the pandas reference's per-deal table and win counts."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.engine import EngineError, EngineOrg
from funnel_analysis.engine.activities import activity_summary, closed_deals_by_activity_count
from funnel_analysis.sources import activities as reference

DAY = "2024-03-31"


@pytest.fixture
def engines(engines_only):
    """The engines but pandas: the reference is computed in each test."""
    return engines_only


@pytest.fixture(scope="module")
def tiny():
    """Three deals: A won on 10 Mar (2 calls and an e-mail before, a meeting after the close), B open
    (a 'List Email' and an undated task), C lost on 20 Mar with no activity; and one activity after the day."""
    o = pd.DataFrame(
        {
            "Id": ["006A", "006B", "006C"],
            "StageName": ["Closed Won", "Prospecting", "Closed Lost"],
            "Amount": [100, 50, 70],
            "CreatedDate": ["2024-01-02", "2024-01-03", "2024-01-05"],
            "CloseDate": ["2024-03-10", "2024-05-31", "2024-03-20"],
            "IsClosed": [True, False, True],
            "IsWon": [True, False, False],
        }
    )
    t = pd.DataFrame(
        {
            "Id": ["00T1", "00T2", "00T3", "00T4", "00T5", "00T6", "00T7"],
            "WhatId": ["006A", "006A", "006A", "006A", "006B", "006B", "006B"],
            "Type": ["Call", "call", "E-mail", "Meeting", "List Email", "Call", "Call"],
            "ActivityDate": ["2024-02-01", "2024-03-01", "2024-03-10", "2024-03-15", "2024-03-02", "", "2024-04-02"],
            "Subject": ["a", "b", "c", "d", "e", "f", "g"],
        }
    )
    return load_frames({"Opportunity": o, "Task": t})


def test_tiny_org_by_hand(engines, tiny):
    org = engines(tiny)
    s = activity_summary(org, as_of=DAY).set_index("opportunity_id")
    assert s["n_activities"].tolist() == [4, 1, 0]  # B's undated and its April call do not count
    assert (s["n_call"].tolist(), s["n_email"].tolist(), s["n_meeting"].tolist()) == ([2, 0, 0], [1, 1, 0], [1, 0, 0])
    assert s.loc["006A", "n_before_close"] == 3 and pd.isna(s.loc["006B", "n_before_close"])  # B is open
    assert s.loc["006C", "n_before_close"] == 0
    assert s["n_undated"].tolist() == [0, 1, 0]
    assert s.loc["006A", "days_since_last_activity"] == 16.0 and pd.isna(s.loc["006C", "days_since_last_activity"])
    counts = closed_deals_by_activity_count(org, as_of=DAY)
    assert counts.values.tolist() == [[0, 1, 0], [3, 1, 1]]  # C: none, lost; A: 3 before its close, won


@pytest.mark.parametrize("by", ["type", "subject"])
def test_tiny_org_equals_the_reference(engines, tiny, by):
    org = engines(tiny)
    want = reference.activity_summary(tiny.activities, tiny.as_of(DAY).opportunities, as_of=DAY, by=by)
    pd.testing.assert_frame_equal(activity_summary(org, as_of=DAY, by=by), want, check_dtype=False)


@pytest.mark.parametrize("day", ["2024-06-30", "2025-12-31"])
def test_sample_equals_the_reference(engines, sample_crm, day):
    org = engines(sample_crm)
    cut = sample_crm.as_of(day)
    want = reference.activity_summary(sample_crm.activities, cut.opportunities, as_of=day)
    want = want.sort_values("opportunity_id").reset_index(drop=True)
    got = activity_summary(org, as_of=day)
    assert len(got) > 300 and got["n_activities"].sum() > 1000  # a sample with something to count
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    relation = reference.activity_win_relation(
        reference.activity_summary(cut.activities, cut.opportunities, as_of=day), cut.opportunities
    )
    pd.testing.assert_frame_equal(
        reference.activity_win_table(closed_deals_by_activity_count(org, as_of=day)), relation
    )


def test_the_report_entry_point_uses_the_engine(sample_crm):
    from funnel_analysis.engine import connect
    from funnel_analysis.engine.attach import attach, detach
    from funnel_analysis.sources import report

    want = report.activity_win_relation(sample_crm, as_of="2025-06-30")
    with connect("duckdb", threads=1) as eng:
        attach(sample_crm, org=EngineOrg.from_crm(sample_crm, engine=eng))
        try:
            got = report.activity_win_relation(sample_crm, as_of="2025-06-30")
        finally:
            detach(sample_crm)
    pd.testing.assert_frame_equal(got, want)


def test_refuses_a_missing_table_or_column(tiny):
    from funnel_analysis.engine import connect

    with connect("duckdb", threads=1) as eng:
        org = EngineOrg.from_crm(tiny, engine=eng)
        with pytest.raises(EngineError, match="no column 'region'"):
            activity_summary(org, as_of=DAY, by="region")
        with pytest.raises(TypeError, match="one column name"):
            activity_summary(org, as_of=DAY, by=["type"])
        bare = EngineOrg.from_crm(load_frames({"Opportunity": tiny.opportunities.head(0)}), engine=eng, prefix="b_")
        with pytest.raises(EngineError, match="no activities"):
            closed_deals_by_activity_count(bare, as_of=DAY)


def test_activity_win_table_refuses_a_negative_count():
    with pytest.raises(ValueError, match="non-negative"):
        reference.activity_win_table(pd.DataFrame({"n_before_close": [-1], "closed": [1], "won": [0]}))
