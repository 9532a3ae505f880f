"""funnel_analysis.funnel.report: the entry points cut the org, filter it and call the frame-level function.

Expected values come from the frame-level functions on a cut made by hand (their own numbers are
checked by hand in test_conversion.py and test_winrates.py), from funnel_fixtures' docstring, and,
for ``where``, from the same tables filtered with plain pandas.
"""

import pandas as pd
import pandas.testing as pdt
import pytest

from funnel_analysis.funnel import (
    bottlenecks,
    cohort_funnel,
    cohort_window,
    lead_conversion,
    lead_funnel,
    report,
    snapshot_funnel,
    stage_transitions,
    win_rates,
)
from tests import funnel_fixtures as ff

DAY = "2024-04-15"


@pytest.fixture
def crm():
    return ff.make_crm()


@pytest.fixture
def expression():
    return pytest.importorskip("funnel_analysis.crm.expression", reason="crm.expression (where=) not built yet")


def test_entry_points_cut_the_org_as_of_the_day(crm):
    cut = crm.as_of(DAY)
    o, h, st = cut.opportunities, cut.opportunity_history, cut.stages
    pdt.assert_frame_equal(report.lead_funnel(crm, as_of=DAY), lead_funnel(cut.leads))
    pdt.assert_frame_equal(
        report.lead_conversion(crm, as_of=DAY, by="lead_source", window_days=30),
        lead_conversion(cut.leads, by="lead_source", window_days=30, as_of=DAY),
    )
    pdt.assert_frame_equal(report.snapshot_funnel(crm, as_of=DAY), snapshot_funnel(o, stages=st))
    pdt.assert_frame_equal(
        report.win_rates(crm, as_of=DAY, by="lead_source", period="Q"), win_rates(o, by="lead_source", period="Q")
    )
    pdt.assert_frame_equal(report.stage_transitions(crm, as_of=DAY), stage_transitions(o, h, stages=st))
    pdt.assert_frame_equal(report.bottlenecks(crm, as_of=DAY), bottlenecks(o, h, stages=st, as_of=DAY))
    # on 04-15 the open deals are O4 O5 O6 O7 (funnel_fixtures): 3000 + 800 + 1500 + 700
    assert report.snapshot_funnel(crm, as_of=DAY)["amount"].sum() == 6000


def test_as_of_defaults_to_the_latest_date_in_the_data(crm):
    # the last dated row is O9's win on 2024-06-20
    pdt.assert_frame_equal(report.win_rates(crm), report.win_rates(crm, as_of="2024-06-20"))
    assert report.kpis(crm, as_of="")["as_of"].iloc[0] == pd.Timestamp("2024-06-20")


def test_cohort_window_by_hand():
    w = cohort_window(as_of="2024-06-30", cohort_days=30, window_days=10)
    # ends 10 days before June 30 (June 20), 30 days both ends included: May 22 .. June 20
    assert (w["created_from"].iloc[0], w["created_to"].iloc[0]) == (
        pd.Timestamp("2024-05-22"),
        pd.Timestamp("2024-06-20"),
    )
    w = cohort_window(as_of=pd.Timestamp("2024-03-01 23:00", tz="UTC"), cohort_days=1)
    assert w["created_from"].iloc[0] == w["created_to"].iloc[0] == pd.Timestamp("2024-03-01")


def test_cohort_window_errors():
    with pytest.raises(ValueError, match="cohort_days"):
        cohort_window(as_of="2024-06-30", cohort_days=0)
    with pytest.raises(ValueError, match="window_days"):
        cohort_window(as_of="2024-06-30", cohort_days=5, window_days=-1)


def test_cohort_funnel_cohort_days(crm):
    got = report.cohort_funnel(crm, as_of="2024-06-30", cohort_days=60, window_days=90)
    # the cohort: created 2024-02-02 .. 2024-04-01 (60 days ending 90 days before June 30): O4 and O5
    cut = crm.as_of("2024-06-30")
    expected = cohort_funnel(
        cut.opportunities,
        cut.opportunity_history,
        stages=cut.stages,
        created_from="2024-02-02",
        created_to="2024-04-01",
        window_days=90,
    )
    pdt.assert_frame_equal(got.drop(columns=["created_from", "created_to"]), expected)
    assert got["cohort"].iloc[0] == 2
    assert (got["created_from"].iloc[0], got["created_to"].iloc[0]) == (
        pd.Timestamp("2024-02-02"),
        pd.Timestamp("2024-04-01"),
    )


def test_kpis_entry_point(crm):
    k = report.kpis(crm, as_of=DAY)
    assert list(k.columns[:2]) == ["as_of", "leads"] and len(k) == 1
    k = k.iloc[0]
    # on 04-15: open O4 O5 O6 O7 = 3000 + 800 + 1500 + 700; won O1 O2; lost O3 -> 2/3; cycles 51, 30
    assert k["as_of"] == pd.Timestamp(DAY)
    assert (k["opportunities_open"], k["opportunities_won"], k["opportunities_lost"]) == (4, 2, 1)
    assert k["open_pipeline_amount"] == 6000 and k["median_cycle_days"] == 40.5
    by = report.kpis(crm, as_of=DAY, by="lead_source")
    assert by.columns[:2].tolist() == ["as_of", "lead_source"] and len(by) == 3
    no_leads = report.kpis(ff.make_crm(with_leads=False), as_of=DAY).iloc[0]
    assert pd.isna(no_leads["leads"]) and no_leads["win_rate"] == pytest.approx(2 / 3)


def test_entry_point_errors(crm):
    with pytest.raises(TypeError, match="CrmData"):
        report.kpis(crm.opportunities)
    with pytest.raises(ValueError, match="not both"):
        report.cohort_funnel(crm, cohort_days=30, created_from="2024-01-01")
    with pytest.raises(ValueError):
        report.win_rates(crm, as_of="not a day")


def test_where_keeps_the_selected_rows_and_their_history(crm, expression):
    cut = crm.as_of(DAY)
    o = cut.opportunities[cut.opportunities["lead_source"] == "Web"].reset_index(drop=True)
    h = cut.opportunity_history[cut.opportunity_history["opportunity_id"].isin(o["opportunity_id"])]
    h = h.reset_index(drop=True)
    web = "lead_source == 'Web'"
    pdt.assert_frame_equal(report.win_rates(crm, as_of=DAY, where=web), win_rates(o))
    pdt.assert_frame_equal(
        report.bottlenecks(crm, as_of=DAY, where=web), bottlenecks(o, h, stages=cut.stages, as_of=DAY)
    )
    leads = cut.leads[cut.leads["lead_source"] == "Web"].reset_index(drop=True)
    pdt.assert_frame_equal(report.lead_funnel(crm, as_of=DAY, where=web), lead_funnel(leads))
    k = report.kpis(crm, as_of=DAY, where=web).iloc[0]
    # Web on 04-15: leads L1-L5 (2 converted); open O5 800 + O6 1500; won O1, lost O3
    assert (k["leads"], k["leads_converted"], k["opportunities_open"], k["win_rate"]) == (5, 2, 2, 0.5)


def test_a_bad_where_names_its_position(crm, expression):
    with pytest.raises(ValueError, match="position|column"):
        report.snapshot_funnel(crm, where="no_such_column == 1")
