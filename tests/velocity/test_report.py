"""funnel_analysis.velocity.report: the entry points cut the org, filter it and call the frame-level function.

Expected values come from the frame-level functions on a cut made by hand (their own numbers are
checked by hand in test_durations.py), and from funnel_fixtures' docstring.
"""

import pandas.testing as pdt
import pytest

from funnel_analysis.velocity import (
    cycle_length,
    latest_velocity_change,
    report,
    sales_velocity,
    stage_durations,
    stage_intervals,
    stage_to_stage_days,
    stalled_deals,
)
from tests import funnel_fixtures as ff

DAY = "2024-06-30"


@pytest.fixture
def crm():
    return ff.make_crm()


@pytest.fixture
def expression():
    return pytest.importorskip("funnel_analysis.crm.expression", reason="crm.expression (where=) not built yet")


def test_entry_points_cut_the_org_as_of_the_day(crm):
    cut = crm.as_of(DAY)
    o, h, st = cut.opportunities, cut.opportunity_history, cut.stages
    iv = stage_intervals(o, h, stages=st, as_of=DAY)
    pdt.assert_frame_equal(report.stage_intervals(crm, as_of=DAY), iv)
    pdt.assert_frame_equal(report.stage_durations(crm, as_of=DAY), stage_durations(iv, stages=st))
    by = stage_intervals(o, h, stages=st, as_of=DAY, carry="lead_source")
    pdt.assert_frame_equal(
        report.stage_durations(crm, as_of=DAY, by="lead_source"), stage_durations(by, stages=st, by="lead_source")
    )
    pdt.assert_frame_equal(report.cycle_length(crm, as_of=DAY), cycle_length(o, as_of=DAY))
    pdt.assert_frame_equal(report.sales_velocity(crm, as_of=DAY, n_boot=20), sales_velocity(o, as_of=DAY, n_boot=20))


def test_stalled_deals_entry_point(crm):
    crm.tables["opportunities"] = crm.opportunities.assign(owner_id=["U1", "U2"] * 4 + ["U1"])
    cut = crm.as_of(DAY)
    o = cut.opportunities
    iv = stage_intervals(o, cut.opportunity_history, stages=cut.stages, as_of=DAY)
    got = report.stalled_deals(crm, as_of=DAY, quantile=0.5)
    pdt.assert_frame_equal(got, stalled_deals(o, iv, stages=cut.stages, as_of=DAY, quantile=0.5))
    assert "owner_id" in got.columns


def test_stage_to_stage_days_defaults_to_first_stage_to_won(crm):
    got = report.stage_to_stage_days(crm, as_of=DAY)
    # the first stage by sort_order is Prospect, the won stage Won (funnel_fixtures)
    cut = crm.as_of(DAY)
    iv = stage_intervals(cut.opportunities, cut.opportunity_history, stages=cut.stages, as_of=DAY)
    pdt.assert_frame_equal(got, stage_to_stage_days(iv, from_stage="Prospect", to_stage="Won"))
    # Prospect -> Won: O1 01-10 -> 03-01 = 51, O2 01-15 -> 02-14 = 30, O4 02-10 -> 05-05 = 85 days
    assert (got["n"].iloc[0], got["mean_days"].iloc[0]) == (3, pytest.approx((51 + 30 + 85) / 3))
    explicit = report.stage_to_stage_days(crm, as_of=DAY, from_stage="Qualify", to_stage="Negotiate")
    assert explicit[["from_stage", "to_stage"]].iloc[0].tolist() == ["Qualify", "Negotiate"]


def test_velocity_change_takes_the_last_two_complete_periods(crm):
    got = report.velocity_change(crm, as_of="2024-12-31", period="M")
    v = sales_velocity(crm.as_of("2024-12-31").opportunities, as_of="2024-12-31", period="M", n_boot=5)
    pdt.assert_frame_equal(got, latest_velocity_change(v))


def test_entry_point_errors(crm):
    with pytest.raises(TypeError, match="CrmData"):
        report.cycle_length(crm.opportunities)
    no_won = ff.make_crm()
    no_won.tables["stages"] = no_won.stages.assign(is_won=False)
    with pytest.raises(ValueError, match="no won stage"):
        report.stage_to_stage_days(no_won, as_of=DAY)
    with pytest.raises(ValueError, match="complete period"):
        report.velocity_change(crm, as_of=DAY, period="Y")  # one year, still running


def test_where_keeps_the_selected_opportunities_and_their_history(crm, expression):
    cut = crm.as_of(DAY)
    o = cut.opportunities[cut.opportunities["lead_source"] == "Web"].reset_index(drop=True)
    h = cut.opportunity_history[cut.opportunity_history["opportunity_id"].isin(o["opportunity_id"])]
    iv = stage_intervals(o, h.reset_index(drop=True), stages=cut.stages, as_of=DAY)
    web = "lead_source == 'Web'"
    pdt.assert_frame_equal(report.stage_intervals(crm, as_of=DAY, where=web), iv)
    pdt.assert_frame_equal(report.cycle_length(crm, as_of=DAY, where=web), cycle_length(o, as_of=DAY))
    assert set(report.stage_intervals(crm, as_of=DAY, where=web)["opportunity_id"]) == {"O1", "O3", "O5", "O6", "O8"}
