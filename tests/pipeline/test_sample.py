"""The pipeline lists on a small generated org, against plain pandas on its CSV files.

The org is the session's shared generated sample (``sample_org``: scale 0.25, in a temporary folder,
never the repository's data/sample; other suites build it anyway, so it costs CI nothing more than
the load). The expected counts
come from the CSV files and the generator's truth folder without the package (tests/export_csv.py:
quarantined, deleted and merged-away rows dropped), each deal's state on the day rebuilt from its
history rows by hand: the last change before the end of the day, else its first change, else the
opportunity row; closed by the stage table.
"""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.crm import load_org
from funnel_analysis.pipeline import report
from tests.export_csv import extract_day, fold, kept
from tests.pipeline.plain import state_on, utc

pytestmark = pytest.mark.slow  # the load of the org: a few seconds


@pytest.fixture(scope="module")
def org(sample_org):
    return sample_org[0]


@pytest.fixture(scope="module")
def crm(org):
    return load_org(org)


@pytest.mark.parametrize("when", ["extract", "2025-06-30"])
def test_past_close_date_counts_per_owner_equal_plain_pandas(org, crm, when):
    day = extract_day(org) if when == "extract" else pd.Timestamp(when)
    state = state_on(org, day)
    late = state[state["open"] & (state["close"] < day)]
    expected = late.groupby("owner").size().sort_index()
    got = report.past_close_date(crm, as_of=day)
    assert len(got) > 0  # the check is not vacuous
    assert got.groupby("owner_id").size().sort_index().to_dict() == expected.to_dict()
    assert set(got["opportunity_id"]) == set(late["id"])
    assert got["owner_name"].notna().all()  # every owner has a name: users of the org


def test_overdue_task_counts_per_owner_equal_plain_pandas(org, crm):
    day = extract_day(org)
    tasks = kept(org, "Task.csv")
    due = pd.to_datetime(tasks["ActivityDate"].replace("", None), errors="coerce", format="%Y-%m-%d")
    open_ = fold(tasks["IsClosed"]) != "true"
    created = utc(tasks["CreatedDate"]) < pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1)
    expected = tasks[open_ & (due < day) & created].groupby("OwnerId").size().sort_index()
    got = report.overdue_tasks(crm, as_of=day)
    assert len(got) > 0
    assert got.groupby("owner_id").size().sort_index().to_dict() == expected.to_dict()
