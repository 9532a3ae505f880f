"""What the pipeline notebook shows, checked against plain pandas on the export's CSV files.

The notebook runs once on the small generated org (the shared ``executed`` fixture), as of the
latest date in the data (the extract day, :func:`tests.export_csv.extract_day`). The expected figures
come from the CSV files and the generator's truth folder without the package
(:mod:`tests.pipeline.plain`: deleted and quarantined rows dropped, each deal's state on the day
rebuilt from its history rows by hand).
"""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.reporting import read_records
from tests.export_csv import extract_day, fold, kept
from tests.pipeline.plain import state_on

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rec(executed):
    path, error = executed["pipeline"]
    assert error is None, error
    return read_records(path)


def test_past_close_date_per_owner_equals_plain_pandas(rec, small_sample):
    day = extract_day(small_sample)
    state = state_on(small_sample, day)
    late = state[state["open"] & (state["close"] < day)]
    got = pd.DataFrame(rec["past_close_date"])
    assert len(got) > 0
    assert got.groupby("owner_id").size().to_dict() == late.groupby("owner").size().to_dict()
    summary = pd.DataFrame(rec["hygiene_summary"])
    counted = summary[summary["check"] == "past close date"].set_index("owner_id")["n"]
    assert counted[counted > 0].to_dict() == late.groupby("owner").size().to_dict()


def test_the_board_holds_every_open_deal(rec, small_sample):
    day = extract_day(small_sample)
    state = state_on(small_sample, day)
    board = pd.DataFrame(rec["board"])
    per_stage = board.drop_duplicates("stage_name").set_index("stage_name")["stage_deals"]
    assert per_stage.sum() == state["open"].sum()
    assert (board.groupby("stage_name")["card"].max() <= 8).all()  # max_cards
    stages = pd.read_csv(small_sample / "OpportunityStage.csv", dtype=str)
    open_order = stages[fold(stages["IsClosed"]) == "false"].sort_values("SortOrder", key=lambda s: s.astype(float))
    shown = board.drop_duplicates("stage_name")["stage_name"].str.casefold().tolist()
    assert shown == [s for s in fold(open_order["MasterLabel"]) if s in shown]  # the org's order


def test_overdue_tasks_per_owner_equal_plain_pandas(rec, small_sample):
    day = extract_day(small_sample)
    tasks = kept(small_sample, "Task.csv")
    due = pd.to_datetime(tasks["ActivityDate"].replace("", None), errors="coerce", format="%Y-%m-%d")
    created = pd.to_datetime(tasks["CreatedDate"], utc=True, format="ISO8601")
    keep = (
        (fold(tasks["IsClosed"]) != "true")
        & (due < day)
        & (created < pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1))
    )
    got = pd.DataFrame(rec["overdue_tasks"])
    assert got.groupby("owner_id").size().to_dict() == tasks[keep].groupby("OwnerId").size().to_dict()
