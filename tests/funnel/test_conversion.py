"""funnel_analysis.funnel on the hand-built org of tests/funnel_fixtures.py.

Every expected number is worked out by hand from the tables in funnel_fixtures' docstring; the
arithmetic is in the comments.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_analysis.funnel import cohort_funnel, lead_conversion, lead_funnel, snapshot_funnel
from tests import funnel_fixtures as ff
from tests.funnel_fixtures import col, opportunity, random_org, rates_ok


@pytest.fixture
def crm():
    return ff.make_crm()


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
    out = cohort_funnel(
        crm.opportunities,
        crm.opportunity_history,
        stages=crm.stages,
        by="lead_source",
        created_from="2024-02-01",
        created_to="2024-04-30",
    )
    # created Feb-Apr: Web O3 (3), O5 (2), O6 (4); Partner O4 (won), O7 (1)
    assert col(out, "reached", lead_source="Web") == [3, 3, 2, 1, 0]
    assert col(out, "reached", lead_source="Partner") == [2, 1, 1, 1, 1]
    assert col(out, "cohort", lead_source="Web")[0] == 3
    # created_to is inclusive of the whole day: O6 (04-02 09:00) is in a cohort ending 04-02
    one_day = cohort_funnel(
        crm.opportunities,
        crm.opportunity_history,
        stages=crm.stages,
        created_from="2024-04-02",
        created_to="2024-04-02",
    )
    assert one_day["cohort"].iloc[0] == 1 and one_day["reached"].tolist() == [1, 1, 1, 1, 0]


def test_cohort_funnel_errors(crm):
    with pytest.raises(ValueError, match="no open stage"):
        cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages.assign(is_closed=True))
    with pytest.raises(ValueError, match="history has no column"):
        cohort_funnel(crm.opportunities, crm.opportunity_history.drop(columns="stage_name"), stages=crm.stages)
    with pytest.raises(ValueError, match="window_days"):
        cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages, window_days=-1)


def test_functions_do_not_mutate_input(crm):
    o, h, s, leads = (crm.opportunities.copy(), crm.opportunity_history.copy(), crm.stages.copy(), crm.leads.copy())
    cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages, by="lead_source", window_days=9)
    snapshot_funnel(crm.opportunities, stages=crm.stages, include_closed=True)
    lead_conversion(crm.leads, by="lead_source", window_days=5, as_of="2024-06-01")
    lead_funnel(crm.leads)
    for before, after in ((o, crm.opportunities), (h, crm.opportunity_history), (s, crm.stages), (leads, crm.leads)):
        pd.testing.assert_frame_equal(before, after)


# ---- properties on random orgs ---------------------------------------------------------------
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
def test_snapshot_properties(specs):
    o, _ = random_org(specs)
    stages = ff.stages()
    snap, snaps = snapshot_funnel(o, stages=stages), snapshot_funnel(o, stages=stages, by="lead_source")
    assert snaps["count"].sum() == snap["count"].sum() == (~o["is_closed"]).sum()


@settings(max_examples=12, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Web", "Partner", None]),
            st.sampled_from(ff.STATUS_ORDER + [None]),
            st.integers(0, 90),
            st.one_of(st.none(), st.integers(-5, 90)),
        ),
        min_size=1,
        max_size=15,
    )
)
def test_lead_properties(rows):
    base = pd.Timestamp("2024-01-01", tz="UTC")
    leads = pd.DataFrame(
        {
            "lead_source": pd.array([r[0] for r in rows], dtype="str"),
            "status": pd.array([r[1] for r in rows], dtype="str"),
            "created_date": [base + pd.Timedelta(days=r[2]) for r in rows],
            "is_converted": [r[3] is not None for r in rows],
            "converted_date": [
                pd.NaT if r[3] is None else (base + pd.Timedelta(days=r[2] + r[3])).tz_localize(None) for r in rows
            ],
        }
    )
    f, fs = lead_funnel(leads), lead_funnel(leads, by="lead_source")
    rates_ok(fs, ["share"])
    assert f[f["kind"] == "status"]["count"].sum() == len(leads)
    assert fs.groupby("step", sort=False)["count"].sum().tolist() == f["count"].tolist()
    c = lead_conversion(leads, by="lead_source", window_days=20, as_of="2024-03-01")
    rates_ok(c, ["conversion_rate"])
    assert (c["leads"] + c["excluded"]).sum() == len(leads)


def test_conversion_is_unknown_when_is_converted_is_all_null():
    """Bug 4: an all-null is_converted (the export had no IsConverted) is unknown, never 'not converted'."""
    leads = ff.leads().assign(is_converted=pd.array([pd.NA] * 10, dtype="boolean"))
    out = lead_conversion(leads, by="lead_source")
    assert out["leads"].tolist() == [4, 5, 1]  # Partner, Web, none: the leads still count
    for c in ("converted", "conversion_rate", "conversion_rate_ci_low", "conversion_rate_ci_high"):
        assert out[c].isna().all(), c
    assert out["median_days_to_convert"].isna().all()
    steps = lead_funnel(leads).set_index("step")
    assert steps.loc["Closed - Converted", "count"] == 5  # statuses are known
    assert pd.isna(steps.loc["Converted to opportunity", "count"])
    assert pd.isna(steps.loc["Converted to opportunity", "share"])
    # one lead with a value is enough for the column to be known: missing then reads as not converted
    some = ff.leads().assign(is_converted=pd.array([True] + [pd.NA] * 9, dtype="boolean"))
    assert lead_conversion(some)["converted"].iloc[0] == 1
