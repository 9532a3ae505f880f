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
    by_deal = iv.sort_values(["opportunity_id", "visit"], kind="stable").reset_index(drop=True)
    pdt.assert_frame_equal(report.stage_intervals(crm, as_of=DAY), by_deal)  # by deal, then visit
    durations = report.stage_durations(crm, as_of=DAY)
    assert (durations.pop("n_undated_excluded") == 0).all()  # every deal of the fixture is dated
    pdt.assert_frame_equal(durations, stage_durations(iv, stages=st))
    by = stage_intervals(o, h, stages=st, as_of=DAY, carry="lead_source")
    pdt.assert_frame_equal(
        report.stage_durations(crm, as_of=DAY, by="lead_source").drop(columns="n_undated_excluded"),
        stage_durations(by, stages=st, by="lead_source"),
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
    # one year, still running: no change to split, said in one line (the notebook goes on)
    from funnel_analysis._util.missing import missing_reason

    assert "complete period" in missing_reason(report.velocity_change(crm, as_of=DAY, period="Y"))


def test_where_keeps_the_selected_opportunities_and_their_history(crm, expression):
    cut = crm.as_of(DAY)
    o = cut.opportunities[cut.opportunities["lead_source"] == "Web"].reset_index(drop=True)
    h = cut.opportunity_history[cut.opportunity_history["opportunity_id"].isin(o["opportunity_id"])]
    iv = stage_intervals(o, h.reset_index(drop=True), stages=cut.stages, as_of=DAY)
    web = "lead_source == 'Web'"
    pdt.assert_frame_equal(
        report.stage_intervals(crm, as_of=DAY, where=web),
        iv.sort_values(["opportunity_id", "visit"], kind="stable").reset_index(drop=True),
    )
    pdt.assert_frame_equal(report.cycle_length(crm, as_of=DAY, where=web), cycle_length(o, as_of=DAY))
    assert set(report.stage_intervals(crm, as_of=DAY, where=web)["opportunity_id"]) == {"O1", "O3", "O5", "O6", "O8"}


# ---- sections whose inputs the data lacks (issue 15, bugs 6 and 7) ----------------------------
def _org(stage_names=("Won", "Lost", "Engaging"), created=("2024-01-02", "2024-01-05", "2024-02-01")):
    """Three deals and their history, no OpportunityStage.csv (Salesforce's default stages apply).

    A won 01-02 -> 02-01 (Engaging 30 days, then Won), B lost 01-05 -> 02-10 (Engaging 36 days),
    C open in Engaging since 02-01 (censored: 59 days on 03-31).
    """
    import pandas as pd

    from funnel_analysis.crm import load_frames

    won, lost, first = stage_names
    opps = pd.DataFrame(
        {
            "Id": ["006A", "006B", "006C"],
            "StageName": [won, lost, first],
            "Amount": [1000, 500, 800],
            "CreatedDate": list(created),
            "CloseDate": ["2024-02-01", "2024-02-10", "2024-06-30"],
            "IsClosed": [True, True, False],
            "IsWon": [True, False, False],
        }
    )
    hist = pd.DataFrame(
        {
            "Id": ["008A1", "008A2", "008B1", "008B2", "008C1"],
            "OpportunityId": ["006A", "006A", "006B", "006B", "006C"],
            "CreatedDate": ["2024-01-02", "2024-02-01", "2024-01-05", "2024-02-10", "2024-02-01"],
            "StageName": [first, won, first, lost, first],
        }
    )
    return load_frames({"Opportunity": opps, "OpportunityHistory": hist})


def test_foreign_stages_without_a_stage_table():
    from funnel_analysis._util.missing import missing_reason

    crm = _org()
    assert crm.report.stages_origin == "default"
    # time in stage does not need the order: only the stage the deals used, none of the default ones at 0
    d = report.stage_durations(crm, as_of="2024-03-31", percentiles=())
    assert missing_reason(d) is None
    assert d[["stage_name", "n", "n_censored", "naive_median"]].values.tolist() == [["Engaging", 3, 1, 36.0]]
    # from the first stage to the won stage needs the order: one line instead of n_from 0
    s = report.stage_to_stage_days(crm, as_of="2024-03-31")
    assert "OpportunityStage" in missing_reason(s) and len(s) == 0
    given = report.stage_to_stage_days(crm, as_of="2024-03-31", from_stage="Engaging", to_stage="Won")
    assert given[["n_from", "n", "mean_days"]].values.tolist() == [[3, 1, 30.0]]


def test_default_stages_the_data_uses_keep_their_order():
    from funnel_analysis._util.missing import missing_reason

    # the same deals in Salesforce's own stage names: the default order is the org's
    crm = _org(stage_names=("Closed Won", "Closed Lost", "Prospecting"))
    s = report.stage_to_stage_days(crm, as_of="2024-03-31")
    assert missing_reason(s) is None
    assert s[["from_stage", "to_stage", "n_from", "n"]].values.tolist() == [["Prospecting", "Closed Won", 3, 1]]


def test_stage_durations_count_the_deals_without_creation_date():
    """Bug 7: B has a blank CreatedDate: its visits are left out of the durations, and counted."""
    crm = _org(created=("2024-01-02", "", "2024-02-01"))
    d = report.stage_durations(crm, as_of="2024-03-31", percentiles=())
    # Engaging: A 30 (done), C 59 (open); B's 36 days are not counted
    assert d[["stage_name", "n", "n_censored", "naive_median", "n_undated_excluded"]].values.tolist() == [
        ["Engaging", 2, 1, 30.0, 1]
    ]
    c = report.cycle_length(crm, as_of="2024-03-31").iloc[0]
    assert (c["n"], c["n_closed"], c["n_undated_excluded"]) == (2, 1, 1)
    v = report.sales_velocity(crm, as_of="2024-03-31", n_boot=5).set_index("period").loc["FY2024-Q1"]
    assert v["n_undated_excluded"] == 0  # B was lost: no cycle to leave out


def test_velocity_change_with_one_measured_period_says_so():
    from funnel_analysis._util.missing import missing_reason

    # the org of _org(): A won and B lost in FY2024-Q1 and nothing was open on 01-01: no velocity at all
    out = report.velocity_change(_org(), as_of="2024-06-30")
    assert missing_reason(out).startswith("0 complete period(s) had a sales velocity") and len(out) == 0


# ---- deals that slipped before (OpportunityFieldHistory) -------------------------------------------
# Four deals, CloseDate history from 2024-01-20 (its first row): A (created 01-02, before the history)
# was pushed on 01-20 and won on 03-01; B (01-05, never seen pushed) lost 02-10; C (02-01, inside the
# history) pushed once, open; D (2023, never seen pushed) open. On 2024-04-01: slipped before = A, C;
# unknown = B, D (older than the history, earlier pushes may be lost); never slipped: none.
SLIP_OPPS = {
    "Id": ["006A", "006B", "006C", "006D"],
    "StageName": ["Closed Won", "Closed Lost", "Prospecting", "Prospecting"],
    "Amount": [1000, 500, 800, 300],
    "CreatedDate": ["2024-01-02", "2024-01-05", "2024-02-01", "2023-01-01"],
    "CloseDate": ["2024-03-01", "2024-02-10", "2024-06-30", "2024-07-30"],
    "IsClosed": [True, True, False, False],
    "IsWon": [True, False, False, False],
}
SLIP_HISTORY_ROWS = {
    "Id": ["017A", "017B", "017E"],
    "OpportunityId": ["006A", "006C", "006E"],
    "Field": ["CloseDate", "CloseDate", "CloseDate"],
    "OldValue": ["2024-02-01", "2024-05-30", "2024-05-01"],
    "NewValue": ["2024-03-01", "2024-06-30", "2024-06-01"],
    "DataType": ["Date", "Date", "Date"],
    "CreatedDate": ["2024-01-20T10:00:00Z", "2024-03-01T10:00:00Z", "2024-03-02T10:00:00Z"],
}


def _slip_org(with_history=True):
    import pandas as pd

    from funnel_analysis.crm import load_frames

    frames = {"Opportunity": pd.DataFrame(SLIP_OPPS)}
    if with_history:
        # E: a new deal (created 03-01, after the history starts) never pushed
        frames["Opportunity"] = pd.concat(
            [
                frames["Opportunity"],
                pd.DataFrame(
                    {
                        "Id": ["006E"],
                        "StageName": ["Closed Lost"],
                        "Amount": [200],
                        "CreatedDate": ["2024-03-01"],
                        "CloseDate": ["2024-03-20"],
                        "IsClosed": [True],
                        "IsWon": [False],
                    }
                ),
            ],
            ignore_index=True,
        )
        # E's only row is after the day: on 04-01 it has not slipped yet (complete: created in the history)
        frames["OpportunityFieldHistory"] = pd.DataFrame(SLIP_HISTORY_ROWS).assign(
            CreatedDate=["2024-01-20T10:00:00Z", "2024-03-01T10:00:00Z", "2024-05-02T10:00:00Z"]
        )
    return load_frames(frames)


def test_slipped_deals_counts_by_hand():
    out = report.slipped_deals(_slip_org(), as_of="2024-04-01").set_index("slip_history")
    assert out.index.tolist() == ["slipped before", "never slipped", "unknown"]
    assert out.loc["slipped before", ["n", "n_open", "n_closed", "n_won"]].tolist() == [2, 1, 1, 1]
    assert out.loc["never slipped", ["n", "n_closed", "n_won"]].tolist() == [1, 1, 0]  # E lost
    assert out.loc["unknown", ["n", "n_open", "n_closed", "n_won"]].tolist() == [2, 1, 1, 0]
    assert out.loc["slipped before", "win_rate"] == 1.0 and out.loc["unknown", "win_rate"] == 0.0
    # A's count is unknown (older than the history), C's is 1: the mean of the known counts
    assert out.loc["slipped before", "pushes_mean"] == 1.0
    # A won after 59 days (01-02 -> 03-01); C is open (censored): the naive median is A's alone
    assert out.loc["slipped before", "naive_median"] == 59.0


def test_slipped_deals_without_history_says_so_in_one_line():
    from funnel_analysis._util.missing import missing_reason

    out = report.slipped_deals(_slip_org(with_history=False), as_of="2024-04-01")
    assert out.empty
    assert missing_reason(out).startswith("OpportunityFieldHistory is absent")


def test_slipped_deals_bad_where_fails():
    from funnel_analysis.crm import ExpressionError

    with pytest.raises(ExpressionError):
        report.slipped_deals(_slip_org(), as_of="2024-04-01", where="amount >")
