"""funnel_analysis.pipeline.report on the hand-built org of tests/pipeline/org.py: the lists worked out by hand.

Every expected list below is read off the table in org.py's docstring, not from the code under test.
"""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis._util.missing import missing_reason
from funnel_analysis.crm.expression import ExpressionError
from funnel_analysis.pipeline import report
from tests.pipeline.org import ANN, BO, DAY, OPP, OPPORTUNITIES, T, make_crm


@pytest.fixture(scope="module")
def crm():
    return make_crm()


def _names(table: pd.DataFrame) -> list[str]:
    return table["name"].tolist()


def test_past_close_date_by_owner(crm):
    got = report.past_close_date(crm, as_of=DAY)
    # O2's close date is the day itself (not late); O6 is deleted; O8 was open on the day with its old close date
    assert got[["owner_name", "name", "days_past_close"]].values.tolist() == [
        ["Ann Lee", "Acme", 16],
        ["Bo Chen", "Initech", 31],
        ["Bo Chen", "Wayne", 21],
    ]
    assert got["amount"].tolist() == [1000.0, 0.0, 4000.0]
    assert "close date is before" in got.attrs["note"]


def test_past_close_date_on_an_earlier_day(crm):
    # on 2024-03-12 only Initech (02-29) and Wayne (03-10) are late; Acme's 03-15 is still ahead; Stark does not exist
    got = report.past_close_date(crm, as_of="2024-03-12")
    assert got[["name", "days_past_close"]].values.tolist() == [["Initech", 12], ["Wayne", 2]]


def test_no_next_step(crm):
    got = report.no_next_step(crm, as_of=DAY)
    assert got[["owner_name", "name"]].values.tolist() == [["Ann Lee", "Globex"], ["Bo Chen", "Initech"]]


def test_no_recent_activity_in_14_days(crm):
    got = report.no_recent_activity(crm, as_of=DAY, stale_days=14)
    # Acme touched 6 days ago, Initech exactly 14 days ago (still recent), Stark created 6 days ago, Wayne's event
    # 3 days ago; Globex's last task was logged 21 days ago; Umbrella's only task was logged after the day
    assert got[["owner_name", "name", "n_activities", "days_since_touch"]].values.tolist() == [
        ["Ann Lee", "Globex", 1, 21],
        ["Bo Chen", "Umbrella", 0, 90],
    ]
    assert got["last_activity"].iloc[0] == pd.Timestamp("2024-03-10")
    assert pd.isna(got["last_activity"].iloc[1])
    assert "created date" in got.attrs["note"]


def test_no_recent_activity_window_moves_the_boundary(crm):
    # with 13 days, Initech's activity 14 days ago is stale too; with 30, only Umbrella (90 days) is
    assert set(_names(report.no_recent_activity(crm, as_of=DAY, stale_days=13))) == {"Globex", "Initech", "Umbrella"}
    assert _names(report.no_recent_activity(crm, as_of=DAY, stale_days=30)) == ["Umbrella"]


def test_overdue_tasks_by_owner(crm):
    got = report.overdue_tasks(crm, as_of=DAY)
    # T5 due 03-30 (1 day), T7 due 02-15 (45 days); not T2 (due later), T4 (logged after the day), T6 (due on the
    # day), T8 (closed), T9 (deleted)
    assert got[["owner_name", "activity_id", "days_overdue"]].values.tolist() == [
        ["Ann Lee", T[5], 1],
        ["Bo Chen", T[7], 45],
    ]


def test_missing_amounts(crm):
    got = report.missing_amounts(crm, as_of=DAY)
    assert got[["owner_name", "name"]].values.tolist() == [["Bo Chen", "Initech"], ["Bo Chen", "Umbrella"]]


def test_hygiene_summary_counts_and_amounts(crm):
    got = report.hygiene_summary(crm, as_of=DAY, stale_days=14)
    expected = pd.DataFrame(
        [
            [ANN, "Ann Lee", "past close date", 1, 1000.0],
            [ANN, "Ann Lee", "no next step", 1, 5000.0],
            [ANN, "Ann Lee", "no activity in 14 days", 1, 5000.0],
            [ANN, "Ann Lee", "overdue open tasks", 1, None],
            [ANN, "Ann Lee", "amount missing", 0, 0.0],
            [BO, "Bo Chen", "past close date", 2, 4000.0],
            [BO, "Bo Chen", "no next step", 1, 0.0],
            [BO, "Bo Chen", "no activity in 14 days", 1, 0.0],
            [BO, "Bo Chen", "overdue open tasks", 1, None],
            [BO, "Bo Chen", "amount missing", 2, 0.0],
        ],
        columns=["owner_id", "owner_name", "check", "n", "amount"],
    )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_board_columns_cards_and_days_in_stage(crm):
    got = report.board(crm, as_of=DAY, max_cards=None)
    assert got.attrs["columns"] == ["Qualify", "Propose", "Negotiate"]
    assert got[["stage_name", "card", "name", "owner_name", "days_in_stage"]].values.tolist() == [
        ["Qualify", 1, "Stark", "Ann Lee", 6],
        ["Qualify", 2, "Acme", "Ann Lee", 90],
        ["Qualify", 3, "Umbrella", "Bo Chen", 90],  # no amount: last
        ["Propose", 1, "Globex", "Ann Lee", 30],  # in Propose since 03-01 by its history
        ["Propose", 2, "Wayne", "Bo Chen", 59],  # since 02-01; closed only after the day
        ["Negotiate", 1, "Initech", "Bo Chen", 90],
    ]
    assert got["stage_deals"].tolist() == [3, 3, 3, 2, 2, 1]
    assert got["stage_amount"].tolist() == [4000.0] * 3 + [9000.0] * 2 + [0.0]
    assert got.loc[got["name"] == "Wayne", "next_step"].item() == "Send contract"


def test_board_cut_to_max_cards_keeps_the_largest(crm):
    got = report.board(crm, as_of=DAY, max_cards=1)
    assert got[["stage_name", "name", "stage_deals"]].values.tolist() == [
        ["Qualify", "Stark", 3],
        ["Propose", "Globex", 2],
        ["Negotiate", "Initech", 1],
    ]


def test_where_selects_deals_and_tasks(crm):
    bo = "owner.name == 'Bo Chen'"
    assert _names(report.past_close_date(crm, as_of=DAY, where=bo)) == ["Initech", "Wayne"]
    assert report.overdue_tasks(crm, as_of=DAY, where=bo)["activity_id"].tolist() == [T[7]]
    assert _names(report.board(crm, as_of=DAY, where="amount >= 3000")) == ["Stark", "Globex", "Wayne"]
    summary = report.hygiene_summary(crm, as_of=DAY, where="owner.region == 'EMEA'")
    assert set(summary["owner_name"]) == {"Ann Lee"}


def test_inputs_are_not_changed(crm):
    before = crm.opportunities.copy(), crm.activities.copy()
    report.hygiene_summary(crm, as_of=DAY)
    report.board(crm, as_of=DAY)
    pd.testing.assert_frame_equal(crm.opportunities, before[0])
    pd.testing.assert_frame_equal(crm.activities, before[1])


# ---- failure cases: one per public function ----------------------------------------------------
@pytest.mark.parametrize("bad", [0, -3, 1.5, True, "14", None])
def test_bad_stale_days_is_one_clear_line(crm, bad):
    for fn in (report.no_recent_activity, report.hygiene_summary):
        with pytest.raises(ValueError, match="stale_days must be a whole number of days"):
            fn(crm, as_of=DAY, stale_days=bad)


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_bad_max_cards_is_one_clear_line(crm, bad):
    with pytest.raises(ValueError, match="max_cards must be a whole number"):
        report.board(crm, as_of=DAY, max_cards=bad)


FUNCTIONS = [
    report.board,
    report.past_close_date,
    report.no_next_step,
    report.no_recent_activity,
    report.missing_amounts,
    report.hygiene_summary,
]


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_an_org_without_opportunities_says_so(fn):
    crm = make_crm(Opportunity=True, OpportunityHistory=True)
    got = fn(crm, as_of=DAY)
    assert len(got) == 0
    assert missing_reason(got) == "the export has no opportunities (Opportunity.csv)"
    assert got.attrs["note"] == missing_reason(got)
    assert "owner_name" in got.columns


def test_an_org_without_tasks_says_so():
    crm = make_crm(Task=True, Event=True)
    got = report.overdue_tasks(crm, as_of=DAY)
    assert len(got) == 0 and missing_reason(got) == "the export has no tasks (Task.csv)"
    stale = report.no_recent_activity(crm, as_of=DAY)
    assert len(stale) == 0 and "no activities" in missing_reason(stale)
    summary = report.hygiene_summary(crm, as_of=DAY)  # the other checks still made; the missing ones named
    assert (
        "overdue open tasks" not in set(summary["check"])
        and "not checked: no activity in 14 days" in summary.attrs["note"]
    )


def test_an_export_without_next_step_says_so():
    crm = make_crm(Opportunity=OPPORTUNITIES.drop(columns="NextStep"))
    got = report.no_next_step(crm, as_of=DAY)
    assert len(got) == 0 and "no next step" in missing_reason(got)
    board = report.board(crm, as_of=DAY)
    assert board["next_step"].isna().all() and "no next step" in board.attrs["note"]


def test_a_where_on_a_deal_field_is_refused_for_tasks(crm):
    with pytest.raises(ExpressionError, match="amount"):
        report.overdue_tasks(crm, as_of=DAY, where="amount > 5")


def test_a_filter_with_code_is_refused_before_anything_runs(crm):
    for text in ('__import__("os").system("id")', "().__class__", "stage_name == 'x'; DROP TABLE leads"):
        with pytest.raises(ExpressionError):
            report.past_close_date(crm, as_of=DAY, where=text)


def test_bad_as_of_is_one_clear_line(crm):
    with pytest.raises(ValueError, match="as_of='soon' is not a date"):
        report.missing_amounts(crm, as_of="soon")


def test_the_deleted_deal_never_shows(crm):
    tables = [fn(crm, as_of=DAY) for fn in FUNCTIONS if fn is not report.hygiene_summary]
    assert all(OPP[6] not in set(t["opportunity_id"]) for t in tables)


def _with_next_step_history():
    field_history = pd.DataFrame(
        {
            "Id": ["017000000000001AAA"],
            "OpportunityId": [OPP[1]],
            "Field": ["NextStep"],
            "OldValue": [None],
            "NewValue": ["Call CFO"],
            "DataType": ["Text"],
            "CreatedDate": ["2024-03-20T10:00:00Z"],
        }
    )
    return make_crm(OpportunityFieldHistory=field_history)


def test_next_step_as_of_the_day_from_its_history():
    crm = _with_next_step_history()
    # on the day: Acme's next step was filled on 03-20, the others unchanged since (their values now)
    got = report.no_next_step(crm, as_of=DAY)
    assert _names(got) == ["Globex", "Initech"]
    assert "from its history" in got.attrs["note"]
    board = report.board(crm, as_of=DAY)
    assert board.loc[board["name"] == "Acme", "next_step"].item() == "Call CFO"
    # before the NextStep history starts (03-20) a deal created earlier has an unknown next step: left out, said
    early = report.no_next_step(crm, as_of="2024-03-19")
    assert len(early) == 0
    assert "5 open deals older than the NextStep history left out" in early.attrs["note"]
