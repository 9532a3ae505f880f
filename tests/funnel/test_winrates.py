"""funnel_analysis.funnel.winrates on the hand-built org of tests/funnel_fixtures.py.

Every expected number is worked out by hand from the tables in funnel_fixtures' docstring; the
arithmetic is in the comments.
"""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_analysis.funnel import bottlenecks, stage_transitions, win_rates
from tests import funnel_fixtures as ff
from tests.funnel_fixtures import col, opportunity, random_org, rates_ok


@pytest.fixture
def crm():
    return ff.make_crm()


# ---- win rates -------------------------------------------------------------------------------
def test_win_rates_overall_and_by_segment(crm):
    out = win_rates(crm.opportunities).iloc[0]
    # closed O1 O2 O3 O4 O7 O9, won O1 O2 O4 O9: 4 / 6; avg won (1000+2000+3000+1200)/4 = 1800
    assert (out["closed"], out["won"], out["lost"]) == (6, 4, 2)
    assert out["win_rate"] == pytest.approx(4 / 6)
    assert out["avg_won_deal_size"] == 1800
    # cycles 51, 30, 85, 41 -> median (41 + 51) / 2 = 46, mean 207 / 4 = 51.75
    assert out["median_cycle_days"] == 46 and out["mean_cycle_days"] == 51.75
    seg = win_rates(crm.opportunities, by="lead_source")
    # Partner: O2 O4 O9 won, O7 lost -> 3/4; cycles 30, 85, 41 -> median 41, mean 52
    assert col(seg, "win_rate", lead_source="Partner") == [0.75]
    assert col(seg, "median_cycle_days", lead_source="Partner") == [41]
    assert col(seg, "avg_won_deal_size", lead_source="Partner") == [pytest.approx(6200 / 3)]
    assert col(seg, "win_rate", lead_source="Web") == [0.5]  # O1 won, O3 lost


def test_win_rates_by_fiscal_quarter(crm):
    out = win_rates(crm.opportunities, period="Q", fiscal_year_start_month=2)
    # FY from February, named by its end: Feb 2024 - Jan 2025 = FY2025; Q1 Feb-Apr, Q2 May-Jul.
    # Q1 closes: O2 02-14 W, O1 03-01 W, O3 03-10 L, O7 04-25 L -> 2/4; Q2: O4 05-05 W, O9 06-20 W -> 2/2
    assert out["fiscal_period"].tolist() == ["FY2025-Q1", "FY2025-Q2"]
    assert out["closed"].tolist() == [4, 2] and out["win_rate"].tolist() == [0.5, 1.0]
    assert out["period_start"].tolist() == [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-05-01")]
    # cycles: Q1 O1 51, O2 30 -> 40.5; Q2 O4 85, O9 41 -> 63
    assert out["mean_cycle_days"].tolist() == [40.5, 63.0]


def test_win_rates_negative_cycle_is_left_out(crm):
    opps = crm.opportunities.copy()
    opps.loc[opps["opportunity_id"] == "O1", "close_date"] = pd.Timestamp("2023-12-01")  # before creation
    out = win_rates(opps).iloc[0]
    assert out["cycle_n"] == 3 and out["median_cycle_days"] == 41  # 30, 41, 85
    assert out["won"] == 4  # the deal still counts as won


def test_win_rates_errors(crm):
    with pytest.raises(ValueError, match="is_won"):
        win_rates(crm.opportunities.drop(columns="is_won"))
    with pytest.raises(ValueError, match="period"):
        win_rates(crm.opportunities, period="W")


# ---- transitions and bottlenecks -------------------------------------------------------------
def test_stage_transitions_by_decision_quarter(crm):
    t = stage_transitions(crm.opportunities, crm.opportunity_history, stages=crm.stages)
    q1, q2 = t[t["fiscal_period"] == "FY2024-Q1"], t[t["fiscal_period"] == "FY2024-Q2"]
    # Q1: Prospect->Qualify advanced O1 O2 O3 O4 O5; Qualify->Propose O1 O2 O3; Propose->Negotiate O1 O2
    # advanced, O3 lost 03-10; Negotiate->Won O1 O2
    assert q1["decided"].tolist() == [5, 3, 3, 2] and q1["advanced"].tolist() == [5, 3, 2, 2]
    assert q1["value_drop"].tolist() == [0, 0, 500, 0]  # O3's 500
    # Q2: Prospect->Qualify O6 O9 advanced, O7 lost (04-25); O4 (04-10), O6, O9 pass Qualify->Propose
    # and Propose->Negotiate; O4, O9 won. O8 and O6's last step are still open: undecided.
    assert q2["decided"].tolist() == [3, 3, 3, 2] and q2["advanced"].tolist() == [2, 3, 3, 2]
    assert q2["value_in"].tolist() == [1500 + 700 + 1200, 5700, 5700, 4200]


def test_bottlenecks_latest_quarter(crm):
    b = bottlenecks(crm.opportunities, crm.opportunity_history, stages=crm.stages)
    top = b.iloc[0]
    # Q2 Prospect->Qualify converts 2/3, the only transition below 100 %; it was 5/5 in Q1; O7's 700 lost
    assert (top["from_stage"], top["to_stage"], top["fiscal_period"]) == ("Prospect", "Qualify", "FY2024-Q2")
    assert top["conversion"] == pytest.approx(2 / 3)
    assert top["prev_conversion"] == 1.0 and top["conversion_change"] == pytest.approx(-1 / 3)
    assert top["value_drop"] == 700 and top["rank_conversion"] == 1 and top["rank_value_drop"] == 1
    pn = b[b["from_stage"] == "Propose"].iloc[0]
    assert pn["prev_conversion"] == pytest.approx(2 / 3) and pn["value_drop_change"] == -500
    assert len(b) == 4
    q1 = bottlenecks(crm.opportunities, crm.opportunity_history, stages=crm.stages, as_of="2024-02-15")
    assert q1.iloc[0]["from_stage"] == "Propose" and q1["prev_periods"].eq(0).all()


def test_bottlenecks_errors(crm):
    with pytest.raises(ValueError, match="lookback"):
        bottlenecks(crm.opportunities, crm.opportunity_history, stages=crm.stages, lookback=0)
    with pytest.raises(ValueError, match="never decided|no stage transition"):
        empty = crm.opportunities.iloc[:0]
        bottlenecks(empty, crm.opportunity_history.iloc[:0], stages=crm.stages)


def test_functions_do_not_mutate_input(crm):
    o, h, s = crm.opportunities.copy(), crm.opportunity_history.copy(), crm.stages.copy()
    bottlenecks(crm.opportunities, crm.opportunity_history, stages=crm.stages)
    win_rates(crm.opportunities, period="M")
    for before, after in ((o, crm.opportunities), (h, crm.opportunity_history), (s, crm.stages)):
        pd.testing.assert_frame_equal(before, after)


# ---- properties on random orgs ---------------------------------------------------------------
@settings(max_examples=12, deadline=None)
@given(st.lists(opportunity, min_size=1, max_size=12))
def test_win_rate_and_transition_properties(specs):
    o, h = random_org(specs)
    stages = ff.stages()
    w, ws = win_rates(o), win_rates(o, by="lead_source")
    rates_ok(ws, ["win_rate"])
    assert ws["closed"].sum() == w["closed"].iloc[0] and ws["won"].sum() == w["won"].iloc[0]
    t = stage_transitions(o, h, stages=stages)
    rates_ok(t, ["conversion"])
    assert (t["advanced"] <= t["decided"]).all()


def test_win_rates_leave_undated_won_deals_out_of_the_cycle():
    """Bug 7: a won deal with no creation date has no cycle (not 0 days), and is counted."""
    o = ff.opportunities()
    o.loc[o["opportunity_id"] == "O9", "created_date"] = pd.NaT  # Partner, won, cycle 41 when dated
    out = win_rates(o, by="lead_source").set_index("lead_source")
    # Partner: won O2 30, O4 85, O9 (undated) -> cycle_n 2, median 57.5 (mean of two), still 3 won of 4 closed
    p = out.loc["Partner"]
    assert (p["won"], p["closed"], p["cycle_n"], p["n_undated_excluded"]) == (3, 4, 2, 1)
    assert p["median_cycle_days"] == 57.5
    assert out.loc["Web", "n_undated_excluded"] == 0
