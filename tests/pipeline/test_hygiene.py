"""funnel_analysis.pipeline.hygiene and .kanban on frames built by hand: each rule at its boundary, bad input.

The frames are tiny and the expected rows are written out by hand from the rules in the module notes.
"""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.pipeline import (
    board,
    check_label,
    hygiene_summary,
    missing_amounts,
    no_next_step,
    no_recent_activity,
    overdue_tasks,
    past_close_date,
)

DAY = "2024-01-31"


def _opps(**columns) -> pd.DataFrame:
    base = {
        "opportunity_id": ["A", "B", "C"],
        "owner_id": ["U2", "U1", "U1"],
        "name": ["a", "b", "c"],
        "stage_name": "Qualify",
        "amount": [10.0, 20.0, 30.0],
        "close_date": pd.to_datetime(["2024-01-30", "2024-01-31", "2024-01-01"]),
        "is_closed": [False, False, False],
        "created_date": pd.to_datetime(["2023-12-01"] * 3, utc=True),
    }
    return pd.DataFrame({**base, **columns})


def test_past_close_date_a_day_late_and_on_the_day():
    got = past_close_date(_opps(), as_of=DAY)
    # A one day late, B on the day (not late), C 30 days late; grouped by owner
    assert got[["owner_id", "opportunity_id", "days_past_close"]].values.tolist() == [["U1", "C", 30], ["U2", "A", 1]]


def test_a_closed_deal_is_never_listed():
    opps = _opps(is_closed=[True, True, True], amount=[0.0, None, 0.0], next_step=None)
    assert len(past_close_date(opps, as_of=DAY)) == 0
    assert len(missing_amounts(opps)) == 0 and len(no_next_step(opps)) == 0


def test_no_recent_activity_boundary_and_fallback_date():
    acts = pd.DataFrame(
        {
            "what_id": ["A", "B", "C", "C"],
            # A: 14 days ago (recent); B: 15 days ago (stale); C: logged after the day, and one undated row
            "created_date": pd.to_datetime(["2024-01-17", "2024-01-16", "2024-02-05", None], utc=True),
            "activity_date": pd.to_datetime([None, None, None, "2024-01-29"]),
        }
    )
    got = no_recent_activity(_opps(), acts, as_of=DAY, stale_days=14)
    assert got["opportunity_id"].tolist() == ["B"]
    assert "1 without one by their due date" in got.attrs["note"]  # C's undated row counted by its ActivityDate


def test_overdue_tasks_rules():
    tasks = pd.DataFrame(
        {
            "activity_id": ["T1", "T2", "T3", "T4", "T5", "E1"],
            "owner_id": "U1",
            "activity_kind": ["task"] * 5 + ["event"],
            "activity_date": pd.to_datetime(["2024-01-30"] * 6),
            # T2 closed; T3 closed but completed after the day (open on it); T4 no IsClosed, status Completed;
            # T5 created after the day; E1 an event
            "is_closed": pd.array([False, True, True, pd.NA, False, False], dtype="boolean"),
            "status": ["Open", "Completed", "Completed", "Completed", "Open", None],
            "completed_date_time": pd.to_datetime([None, "2024-01-30", "2024-02-02", None, None, None], utc=True),
            "created_date": pd.to_datetime(["2024-01-02"] * 4 + ["2024-02-01", "2024-01-02"], utc=True),
        }
    )
    assert overdue_tasks(tasks, as_of=DAY)["activity_id"].tolist() == ["T1", "T3"]


def test_board_puts_unlisted_stages_after_the_table_and_unknown_last():
    st = pd.DataFrame(
        {"stage_name": ["Qualify", "Won"], "sort_order": [1, 2], "is_closed": [False, True], "is_won": [False, True]}
    )
    opps = _opps(stage_name=["Custom", None, "Qualify"])
    iv = pd.DataFrame(columns=["opportunity_id", "stage_name", "entered", "censored"])
    got = board(opps, iv, stages=st, as_of=DAY)
    assert got.attrs["columns"] == ["Qualify", "Custom", "(stage unknown)"]
    assert got["stage_name"].tolist() == ["Qualify", "Custom", "(stage unknown)"]
    assert got["days_in_stage"].isna().all()  # no visit known: unknown, never 0
    assert "Custom" in got.attrs["note"]


def test_the_inputs_are_not_changed():
    opps = _opps(next_step=["x", None, " "])
    before = opps.copy()
    for fn in (lambda: past_close_date(opps, as_of=DAY), lambda: no_next_step(opps), lambda: missing_amounts(opps)):
        fn()
    pd.testing.assert_frame_equal(opps, before)


# ---- failure cases ------------------------------------------------------------------------------
def test_missing_columns_are_one_clear_line():
    with pytest.raises(ValueError, match=r"past_close_date: opportunities has no column\(s\) \['close_date'\]"):
        past_close_date(_opps().drop(columns="close_date"), as_of=DAY)
    with pytest.raises(ValueError, match=r"no_next_step: opportunities has no column\(s\) \['next_step'\]"):
        no_next_step(_opps())
    with pytest.raises(ValueError, match="missing_amounts: opportunities has no column"):
        missing_amounts(_opps().drop(columns="amount"))
    with pytest.raises(ValueError, match="no_recent_activity: activities has no column"):
        no_recent_activity(_opps(), pd.DataFrame({"what_id": []}), as_of=DAY)
    with pytest.raises(ValueError, match="overdue_tasks: activities has neither is_closed nor status"):
        overdue_tasks(pd.DataFrame({"activity_id": [], "owner_id": [], "activity_date": []}), as_of=DAY)
    with pytest.raises(ValueError, match="board: intervals has no column"):
        board(_opps(), pd.DataFrame(), stages=pd.DataFrame(), as_of=DAY)


def test_bad_day_and_window():
    with pytest.raises(ValueError, match="as_of='never' is not a date"):
        past_close_date(_opps(), as_of="never")
    with pytest.raises(ValueError, match="stale_days must be a whole number of days, at least 1; got 0"):
        no_recent_activity(_opps(), pd.DataFrame(), as_of=DAY, stale_days=0)


def test_summary_and_labels_refuse_unknown_checks():
    with pytest.raises(ValueError, match="hygiene_summary: not a check"):
        hygiene_summary({"stale": pd.DataFrame({"owner_id": []})})
    with pytest.raises(ValueError, match="check: expected one of"):
        check_label("stale")
    with pytest.raises(ValueError, match="hygiene_summary: past_close_date has no column"):
        hygiene_summary({"past_close_date": pd.DataFrame({"amount": [1.0]})})


def test_summary_of_no_list_is_empty_with_its_columns():
    got = hygiene_summary({})
    assert got.empty and list(got.columns) == ["owner_id", "check", "n", "amount"]
