"""funnel_analysis.funnel on the hand-built org of tests/funnel_fixtures.py.

Every expected number is worked out by hand from the tables in funnel_fixtures' docstring; the
arithmetic is in the comments.
"""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funnel_fixtures as ff
from funnel_analysis.funnel import (bottlenecks, cohort_funnel, kpis, lead_conversion, lead_funnel,
                                    snapshot_funnel, stage_transitions, win_rates)


@pytest.fixture
def crm():
    return ff.make_crm()


def col(df, name, **where):
    """The values of one column, for the rows matching ``where``."""
    mask = np.ones(len(df), dtype=bool)
    for k, v in where.items():
        mask &= (df[k].isna() if v is None else df[k] == v).to_numpy()
    return df.loc[mask, name].tolist()


# ---- leads ----------------------------------------------------------------------------------
def test_lead_funnel_counts_in_status_order(crm):
    out = lead_funnel(crm.leads)
    assert out["step"].tolist() == ff.STATUS_ORDER + ["Converted to opportunity"]
    # open: L5, L9; working: L4, L8; converted: L1 L2 L6 L7 L10; not converted: L3; converted flag: 5
    assert out["count"].tolist() == [2, 2, 5, 1, 5]
    assert out["total"].unique().tolist() == [10]
    assert out["share"].tolist() == pytest.approx([0.2, 0.2, 0.5, 0.1, 0.5])
    assert out["share_ci_low"].iloc[4] == pytest.approx(0.236593, abs=1e-6)  # Wilson 5 of 10


def test_lead_funnel_by_segment_and_given_order(crm):
    order = ["Working - Contacted", "Open - Not Contacted", "Nurture"]
    out = lead_funnel(crm.leads, by="lead_source", status_order=order)
    # given order, a listed-but-unused status kept at 0, then the others by first appearance (L1, L3)
    steps = order + ["Closed - Converted", "Closed - Not Converted", "Converted to opportunity"]
    assert col(out, "step", lead_source="Web") == steps
    # Web = L1..L5: working L4, open L5, converted L1 L2, not converted L3
    assert col(out, "count", lead_source="Web") == [1, 1, 0, 2, 1, 2]
    # Partner = L6..L9: working L8, open L9, converted L6 L7
    assert col(out, "count", lead_source="Partner") == [1, 1, 0, 2, 0, 2]
    assert col(out, "count", lead_source=None) == [0, 0, 0, 1, 0, 1]  # L10 has no source
    assert out.groupby("step", sort=False)["count"].sum().tolist() == [2, 2, 0, 5, 1, 5]


def test_lead_funnel_errors(crm):
    with pytest.raises(ValueError, match="status"):
        lead_funnel(crm.leads.drop(columns="status"))
    with pytest.raises(ValueError, match="twice"):
        lead_funnel(crm.leads, status_order=["New", "New"])


def test_lead_conversion_rates_and_days(crm):
    out = lead_conversion(crm.leads, by="lead_source")
    # Partner: L6 (5 days), L7 (60 days) of 4 -> .5, median = mean = 32.5
    assert col(out, "leads", lead_source="Partner") == [4]
    assert col(out, "converted", lead_source="Partner") == [2]
    assert col(out, "median_days_to_convert", lead_source="Partner") == [32.5]
    # Web: L1 (10), L2 (30) of 5 -> .4, median = mean = 20
    assert col(out, "conversion_rate", lead_source="Web") == [pytest.approx(0.4)]
    assert col(out, "mean_days_to_convert", lead_source="Web") == [20.0]
    assert col(out, "converted", lead_source=None) == [1]  # L10, 2 days
    total = lead_conversion(crm.leads).iloc[0]
    # 5 of 10; days 10, 30, 5, 60, 2: median 10, mean 107 / 5 = 21.4
    assert (total["leads"], total["converted"], total["days_n"]) == (10, 5, 5)
    assert total["median_days_to_convert"] == 10 and total["mean_days_to_convert"] == pytest.approx(21.4)


def test_lead_conversion_window(crm):
    out = lead_conversion(crm.leads, window_days=30, as_of="2024-04-10").iloc[0]
    # old enough: created on or before 2024-04-10 - 30 days = 03-11 -> L1..L8 (L9 03-15, L10 03-20 too young)
    # converted within 30 days: L1 (10), L2 (30, the boundary counts), L6 (5); L7 took 60 -> 3 of 8
    assert (out["leads"], out["converted"], out["excluded"]) == (8, 3, 2)
    assert out["conversion_rate"] == pytest.approx(0.375)
    seg = lead_conversion(crm.leads, by="lead_source", window_days=30, as_of="2024-04-10")
    assert col(seg, "leads", lead_source="Partner") == [3]  # L6, L7, L8
    assert col(seg, "converted", lead_source="Partner") == [1]  # L6 only
    # as_of alone: L7 converted on 04-10, so on 04-09 it is not converted yet -> 4 of 10
    assert lead_conversion(crm.leads, as_of="2024-04-09").iloc[0]["converted"] == 4


def test_lead_conversion_errors(crm):
    with pytest.raises(ValueError, match="as_of"):
        lead_conversion(crm.leads, window_days=30)
    with pytest.raises(ValueError, match="converted_date"):
        lead_conversion(crm.leads.drop(columns="converted_date"))
    with pytest.raises(ValueError, match="not a date"):
        lead_conversion(crm.leads, as_of="someday")


# ---- pipeline snapshot -----------------------------------------------------------------------
def test_snapshot_funnel_as_of(crm):
    opps = crm.as_of("2024-04-15").opportunities
    out = snapshot_funnel(opps, stages=crm.stages)
    assert out["stage_name"].tolist() == ["Prospect", "Qualify", "Propose", "Negotiate"]
    # on 04-15: O6 Prospect (1500, Negotiate only on 04-20), O7 Prospect (700, lost 04-25),
    # O5 Qualify (800, no history: current values), O4 Negotiate (3000, reopened 04-01)
    assert out["count"].tolist() == [2, 1, 0, 1]
    assert out["amount"].tolist() == [2200.0, 800.0, 0.0, 3000.0]
    assert out["share_amount"].tolist() == pytest.approx([2200 / 6000, 800 / 6000, 0, 3000 / 6000])
    today = snapshot_funnel(crm.opportunities, stages=crm.stages)
    # now: O8 Prospect (no amount), O5 Qualify 800, O6 Negotiate 1500
    assert today["count"].tolist() == [1, 1, 0, 1] and today["amount_missing"].tolist() == [1, 0, 0, 0]


def test_snapshot_funnel_closed_and_segments(crm):
    out = snapshot_funnel(crm.opportunities, stages=crm.stages, by="lead_source", include_closed=True)
    assert col(out, "stage_name", lead_source="Web")[-2:] == ["Won", "Lost"]
    assert col(out, "count", lead_source="Partner") == [0, 0, 0, 0, 3, 1]  # O2 O4 O9 won, O7 lost
    assert col(out, "count", lead_source="Web") == [1, 1, 0, 1, 1, 1]  # O8, O5, O6 open; O1 won; O3 lost
    assert out["count"].sum() == 9


def test_snapshot_funnel_unknown_stage_row(crm):
    opps = crm.opportunities.assign(stage_name=crm.opportunities["stage_name"].replace("Qualify", "Mystery"))
    out = snapshot_funnel(opps, stages=crm.stages)
    assert out["stage_name"].iloc[-1] == "(unknown stage)" and out["count"].iloc[-1] == 1  # O5
    assert out["count"].sum() == 3


def test_snapshot_funnel_errors(crm):
    with pytest.raises(ValueError, match="sort_order"):
        snapshot_funnel(crm.opportunities, stages=crm.stages.drop(columns="sort_order"))
    with pytest.raises(TypeError, match="DataFrame"):
        snapshot_funnel(crm.opportunities.to_dict(), stages=crm.stages)


# ---- cohort funnel ---------------------------------------------------------------------------
def test_cohort_funnel_reached(crm):
    out = cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages)
    assert out["stage_name"].tolist() == ["Prospect", "Qualify", "Propose", "Negotiate", "Won"]
    # max open rank: O1 O2 O4 O9 won -> 4; O6 Negotiate 4; O3 Propose 3 (went back to Qualify, counted
    # once); O5 Qualify 2 (no history: current stage); O7, O8 Prospect 1.
    # O2 skipped Qualify and O9 was created in Propose: both still count as past Prospect and Qualify.
    assert out["reached"].tolist() == [9, 7, 6, 5, 4]
    assert out["cohort"].unique().tolist() == [9]
    assert out["share"].tolist() == pytest.approx([1, 7 / 9, 6 / 9, 5 / 9, 4 / 9])
    assert out["stage_conversion"].tolist() == pytest.approx([1, 7 / 9, 6 / 7, 5 / 6, 4 / 5])
    # amounts: all but O8 (no amount) = 10700; - O7 700 - O8 = 10000; - O5 800 = 9200; - O3 500 = 8700;
    # won O1 + O2 + O4 + O9 = 1000 + 2000 + 3000 + 1200 = 7200
    assert out["amount"].tolist() == [10700, 10000, 9200, 8700, 7200]


def test_cohort_funnel_window(crm):
    out = cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages, window_days=30)
    # within 30 days of creation: O1 reached Propose on day 22 (Negotiate day 36, won day 51) -> 3;
    # O2 won on day 30 -> 4 and won; O3 Propose day 9 -> 3; O4 Qualify day 2 (lost day 20, reopened
    # day 51) -> 2; O5 Qualify from creation -> 2; O6 Negotiate day 18 -> 4; O7, O8 -> 1; O9 Propose 3
    assert out["reached"].tolist() == [9, 7, 5, 2, 1]


def test_cohort_funnel_period_and_segments(crm):
    out = cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages, by="lead_source",
                        created_from="2024-02-01", created_to="2024-04-30")
    # created Feb-Apr: Web O3 (3), O5 (2), O6 (4); Partner O4 (won), O7 (1)
    assert col(out, "reached", lead_source="Web") == [3, 3, 2, 1, 0]
    assert col(out, "reached", lead_source="Partner") == [2, 1, 1, 1, 1]
    assert col(out, "cohort", lead_source="Web")[0] == 3
    # created_to is inclusive of the whole day: O6 (04-02 09:00) is in a cohort ending 04-02
    one_day = cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages,
                            created_from="2024-04-02", created_to="2024-04-02")
    assert one_day["cohort"].iloc[0] == 1 and one_day["reached"].tolist() == [1, 1, 1, 1, 0]


def test_cohort_funnel_errors(crm):
    with pytest.raises(ValueError, match="no open stage"):
        cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages.assign(is_closed=True))
    with pytest.raises(ValueError, match="history has no column"):
        cohort_funnel(crm.opportunities, crm.opportunity_history.drop(columns="stage_name"), stages=crm.stages)
    with pytest.raises(ValueError, match="window_days"):
        cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages, window_days=-1)


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
    with pytest.raises(ValueError, match="freq"):
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
    q1 = bottlenecks(crm.opportunities, crm.opportunity_history, stages=crm.stages, latest="2024-02-15")
    assert q1.iloc[0]["from_stage"] == "Propose" and q1["prev_periods"].eq(0).all()


def test_bottlenecks_errors(crm):
    with pytest.raises(ValueError, match="lookback"):
        bottlenecks(crm.opportunities, crm.opportunity_history, stages=crm.stages, lookback=0)
    with pytest.raises(ValueError, match="never decided|no stage transition"):
        empty = crm.opportunities.iloc[:0]
        bottlenecks(empty, crm.opportunity_history.iloc[:0], stages=crm.stages)


# ---- KPIs ------------------------------------------------------------------------------------
def test_kpis_headline(crm):
    k = kpis(crm)
    json.dumps(k)  # plain Python values only
    assert (k["leads"], k["leads_converted"], k["lead_conversion_rate"]) == (10, 5, 0.5)
    assert (k["opportunities_open"], k["opportunities_won"], k["opportunities_lost"]) == (3, 4, 2)
    assert k["win_rate"] == pytest.approx(4 / 6) and k["win_rate_n"] == 6
    assert (k["avg_won_deal_size"], k["median_cycle_days"], k["mean_cycle_days"]) == (1800, 46, 51.75)
    # open: O5 800 + O6 1500 + O8 (no amount) -> 2300 over 2 deals with an amount
    assert (k["open_pipeline_amount"], k["open_pipeline_amount_n"]) == (2300, 2)
    assert isinstance(k["leads"], int) and isinstance(k["win_rate"], float)


def test_kpis_as_of_and_missing_leads(crm):
    k = kpis(crm, as_of="2024-04-15")
    # on 04-15: open O4 O5 O6 O7 = 3000 + 800 + 1500 + 700; won O1 O2; lost O3 -> 2/3; cycles 51, 30
    assert k["as_of"] == "2024-04-15"
    assert (k["opportunities_open"], k["opportunities_won"], k["opportunities_lost"]) == (4, 2, 1)
    assert k["open_pipeline_amount"] == 6000 and k["median_cycle_days"] == 40.5
    no_leads = kpis(ff.make_crm(with_leads=False))
    assert no_leads["leads"] is None and no_leads["lead_conversion_rate"] is None  # unknown, not 0
    assert no_leads["win_rate"] == pytest.approx(4 / 6)


def test_kpis_by_segment(crm):
    rows = kpis(crm, by="lead_source")
    assert [r["segment"] for r in rows] == ["Partner", "Web", None]
    partner, web, none = rows
    assert (partner["leads"], partner["win_rate"], partner["median_cycle_days"]) == (4, 0.75, 41)
    assert partner["opportunities_open"] == 0 and partner["open_pipeline_amount"] == 0.0  # nothing open
    assert (web["lead_conversion_rate"], web["win_rate"], web["open_pipeline_amount"]) == (0.4, 0.5, 2300)
    assert none["leads"] == 1 and none["opportunities"] == 0 and none["win_rate"] is None  # 0 closed
    assert sum(r["leads"] for r in rows) == 10 and sum(r["opportunities"] for r in rows) == 9
    json.dumps(rows)


def test_kpis_errors(crm):
    with pytest.raises(TypeError, match="CrmData"):
        kpis(crm.opportunities)
    with pytest.raises(ValueError, match="region"):
        kpis(crm, by="region")


def test_functions_do_not_mutate_input(crm):
    o, h, s, leads = (crm.opportunities.copy(), crm.opportunity_history.copy(), crm.stages.copy(),
                      crm.leads.copy())
    cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages, by="lead_source", window_days=9)
    bottlenecks(crm.opportunities, crm.opportunity_history, stages=crm.stages)
    snapshot_funnel(crm.opportunities, stages=crm.stages, include_closed=True)
    win_rates(crm.opportunities, period="M")
    lead_conversion(crm.leads, by="lead_source", window_days=5, as_of="2024-06-01")
    lead_funnel(crm.leads)
    for before, after in ((o, crm.opportunities), (h, crm.opportunity_history), (s, crm.stages),
                          (leads, crm.leads)):
        pd.testing.assert_frame_equal(before, after)


# ---- properties on random orgs ---------------------------------------------------------------
STAGE_NAMES = ["Prospect", "Qualify", "Propose", "Negotiate", "Won", "Lost"]
FLAGS = {s: (s in ("Won", "Lost"), s == "Won") for s in STAGE_NAMES}

opportunity = st.tuples(
    st.sampled_from(["A", "B", None]),                                  # segment
    st.integers(0, 120),                                                # created day
    st.lists(st.tuples(st.sampled_from(STAGE_NAMES), st.integers(0, 40)), max_size=6),  # path
    st.sampled_from(STAGE_NAMES),                                       # stage when no history
    st.one_of(st.none(), st.floats(0, 1e6)),                            # amount
)


def random_org(specs):
    base = pd.Timestamp("2024-01-01", tz="UTC")
    opps, hist = [], []
    for i, (seg, day, path, stage_now, amount) in enumerate(specs):
        created = base + pd.Timedelta(days=day)
        t = created
        for stage, gap in path:
            t = t + pd.Timedelta(days=gap)
            hist.append((f"O{i}", t, stage))
        stage_now = path[-1][0] if path else stage_now
        closed, won = FLAGS[stage_now]
        opps.append((f"O{i}", created, stage_now, closed, won, (t + pd.Timedelta(days=3)).tz_localize(None).normalize(),
                     np.nan if amount is None else amount, seg))
    o = pd.DataFrame(opps, columns=["opportunity_id", "created_date", "stage_name", "is_closed", "is_won",
                                    "close_date", "amount", "lead_source"])
    h = pd.DataFrame(hist, columns=["opportunity_id", "created_date", "stage_name"])
    h = h.astype({"created_date": "datetime64[us, UTC]", "opportunity_id": "str", "stage_name": "str"})
    return o.astype({"lead_source": "str", "stage_name": "str"}), h


def rates_ok(df, names):
    for name in names:
        r, lo, hi = df[name], df[f"{name}_ci_low"], df[f"{name}_ci_high"]
        known = r.notna()
        assert r[known].between(0, 1).all() and (lo[known] <= r[known] + 1e-12).all()
        assert (hi[known] >= r[known] - 1e-12).all() and hi[known].le(1).all() and lo[known].ge(0).all()


@settings(max_examples=12, deadline=None)
@given(st.lists(opportunity, min_size=1, max_size=12), st.one_of(st.none(), st.integers(0, 60)))
def test_cohort_properties(specs, window):
    o, h = random_org(specs)
    stages = ff.stages()
    total = cohort_funnel(o, h, stages=stages, window_days=window)
    seg = cohort_funnel(o, h, stages=stages, window_days=window, by="lead_source")
    for _, g in [("all", total), *seg.groupby("lead_source", dropna=False)]:
        assert (np.diff(g["share"].to_numpy()) <= 1e-12).all()  # shares never increase along the stages
        assert (np.diff(g["reached"].to_numpy()) <= 0).all()
    rates_ok(total, ["share", "stage_conversion"])
    rates_ok(seg, ["share", "stage_conversion"])
    # segments add up to the total, stage by stage
    assert seg.groupby("step")["reached"].sum().tolist() == total["reached"].tolist()
    assert seg.groupby("step")["cohort"].sum().iloc[0] == len(o)


@settings(max_examples=12, deadline=None)
@given(st.lists(opportunity, min_size=1, max_size=12))
def test_win_rate_snapshot_transition_properties(specs):
    o, h = random_org(specs)
    stages = ff.stages()
    w, ws = win_rates(o), win_rates(o, by="lead_source")
    rates_ok(ws, ["win_rate"])
    assert ws["closed"].sum() == w["closed"].iloc[0] and ws["won"].sum() == w["won"].iloc[0]
    snap, snaps = snapshot_funnel(o, stages=stages), snapshot_funnel(o, stages=stages, by="lead_source")
    assert snaps["count"].sum() == snap["count"].sum() == (~o["is_closed"]).sum()
    t = stage_transitions(o, h, stages=stages)
    rates_ok(t, ["conversion"])
    assert (t["advanced"] <= t["decided"]).all()


@settings(max_examples=12, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["Web", "Partner", None]), st.sampled_from(ff.STATUS_ORDER + [None]),
                          st.integers(0, 90), st.one_of(st.none(), st.integers(-5, 90))), min_size=1, max_size=15))
def test_lead_properties(rows):
    base = pd.Timestamp("2024-01-01", tz="UTC")
    leads = pd.DataFrame({
        "lead_source": pd.array([r[0] for r in rows], dtype="str"),
        "status": pd.array([r[1] for r in rows], dtype="str"),
        "created_date": [base + pd.Timedelta(days=r[2]) for r in rows],
        "is_converted": [r[3] is not None for r in rows],
        "converted_date": [pd.NaT if r[3] is None else (base + pd.Timedelta(days=r[2] + r[3])).tz_localize(None)
                           for r in rows],
    })
    f, fs = lead_funnel(leads), lead_funnel(leads, by="lead_source")
    rates_ok(fs, ["share"])
    assert f[f["kind"] == "status"]["count"].sum() == len(leads)
    assert fs.groupby("step", sort=False)["count"].sum().tolist() == f["count"].tolist()
    c = lead_conversion(leads, by="lead_source", window_days=20, as_of="2024-03-01")
    rates_ok(c, ["conversion_rate"])
    assert (c["leads"] + c["excluded"]).sum() == len(leads)
