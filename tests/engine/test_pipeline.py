"""The pipeline-hygiene report on the engines (#19): the day's open deals, the activities on them, the
tasks that may be open and the NextStep history come from the engine; the pandas functions make the lists.

The hand-built org is tests/pipeline/org.py's (its docstring works the lists out by hand).
"""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.engine import connect
from funnel_analysis.engine.attach import attach, detach
from funnel_analysis.engine.pipeline import has_tasks, open_deals, task_candidates
from funnel_analysis.pipeline import report
from tests.engine.conftest import attached_call
from tests.pipeline.org import DAY, OPP, T, make_crm

#: Globex's next step was "Send deck" until 2 April (after the day); Acme's history starts the field on 1 January.
NEXT_STEP_HISTORY = pd.DataFrame(
    {
        "Id": ["017000000000001AAA", "017000000000002AAA"],
        "OpportunityId": [OPP[1], OPP[2]],
        "Field": ["NextStep", "NextStep"],
        "OldValue": ["Intro", "Send deck"],
        "NewValue": ["Call CFO", ""],
        "DataType": ["Text", "Text"],
        "CreatedDate": ["2024-01-01T09:00:00Z", "2024-04-02T10:00:00Z"],
    }
)


@pytest.fixture(scope="module")
def crm():
    return make_crm()


@pytest.fixture(scope="module")
def with_history():
    return make_crm(OpportunityFieldHistory=NEXT_STEP_HISTORY)


def test_the_lists_by_hand(engines_only, crm):
    org = engines_only(crm)
    got = attached_call(org, crm, report.past_close_date, as_of=DAY)
    assert got[["owner_name", "name", "days_past_close"]].values.tolist() == [
        ["Ann Lee", "Acme", 16],
        ["Bo Chen", "Initech", 31],
        ["Bo Chen", "Wayne", 21],  # open on the day by its history, lost after it
    ]
    stale = attached_call(org, crm, report.no_recent_activity, as_of=DAY, stale_days=14)
    assert stale[["name", "n_activities", "days_since_touch"]].values.tolist() == [
        ["Globex", 1, 21],
        ["Umbrella", 0, 90],
    ]
    overdue = attached_call(org, crm, report.overdue_tasks, as_of=DAY)
    assert overdue[["owner_name", "activity_id", "days_overdue"]].values.tolist() == [
        ["Ann Lee", T[5], 1],
        ["Bo Chen", T[7], 45],
    ]
    board = attached_call(org, crm, report.board, as_of=DAY, max_cards=None)
    assert board[["stage_name", "name", "days_in_stage"]].values.tolist() == [
        ["Qualify", "Stark", 6],
        ["Qualify", "Acme", 90],
        ["Qualify", "Umbrella", 90],
        ["Propose", "Globex", 30],
        ["Propose", "Wayne", 59],
        ["Negotiate", "Initech", 90],
    ]
    for name in report.__all__:
        fn = getattr(report, name)
        pd.testing.assert_frame_equal(attached_call(org, crm, fn, as_of=DAY), fn(crm, as_of=DAY))


def test_next_step_on_the_day_from_its_history(engines_only, with_history):
    got = attached_call(engines_only(with_history), with_history, report.no_next_step, as_of=DAY)
    # Globex still had "Send deck" on the day; Initech has none
    assert got[["owner_name", "name"]].values.tolist() == [["Bo Chen", "Initech"]]
    assert "from its history" in got.attrs["note"]
    board = attached_call(engines_only(with_history), with_history, report.board, as_of=DAY, max_cards=None)
    assert board.set_index("name").loc[["Acme", "Globex"], "next_step"].tolist() == ["Call CFO", "Send deck"]
    want = report.no_next_step(with_history, as_of=DAY)
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs == want.attrs


def test_what_comes_back(crm):
    with connect("duckdb", threads=1) as eng:
        from funnel_analysis.engine import EngineOrg

        org = EngineOrg.from_crm(crm, engine=eng)
        deals = open_deals(org, as_of=DAY)
        # open on the day: Acme, Globex, Initech, Umbrella, Stark, Wayne (lost after it); not Hooli (won), Vandelay (deleted)
        assert sorted(deals["name"]) == ["Acme", "Globex", "Initech", "Stark", "Umbrella", "Wayne"]
        assert not deals["is_closed"].any()
        tasks = task_candidates(org, as_of=DAY)
        assert T[8] not in set(tasks["activity_id"])  # closed: left in the engine
        assert {T[5], T[7]} <= set(tasks["activity_id"])
        assert has_tasks(org)


@pytest.mark.parametrize("day", ["2025-06-30"])
def test_sample_equals_the_reference(engines_only, sample_crm, day):
    org = engines_only(sample_crm)
    wants = {name: getattr(report, name)(sample_crm, as_of=day) for name in report.__all__}
    attach(sample_crm, org=org)
    try:
        for name, want in wants.items():
            got = getattr(report, name)(sample_crm, as_of=day)
            pd.testing.assert_frame_equal(got, want, rtol=1e-12)
            assert got.attrs == want.attrs
    finally:
        detach(sample_crm)
    assert len(wants["board"]) > 10 and len(wants["no_next_step"]) > 5


def test_engine_only_org_equals_the_reference(sample_org, sample_crm):
    from funnel_analysis.crm.load import load_org

    eo = load_org(sample_org[0], engine="duckdb", engine_only=True)
    assert "activities" in eo.meta["engine_only"]
    for name in report.__all__:
        fn = getattr(report, name)
        pd.testing.assert_frame_equal(fn(eo), fn(sample_crm), rtol=1e-12)


def test_a_where_stays_on_pandas(crm):
    # a where is read by the pandas cut (the engine path takes none): same lists as without an engine
    with connect("duckdb", threads=1) as eng:
        from funnel_analysis.engine import EngineOrg

        got = attached_call(
            EngineOrg.from_crm(crm, engine=eng), crm, report.past_close_date, as_of=DAY, where="amount > 500"
        )
    assert got["name"].tolist() == ["Acme", "Wayne"]
