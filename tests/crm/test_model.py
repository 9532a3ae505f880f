"""CrmData.as_of on the tiny export, where every state is known by hand."""

import pandas as pd
import pytest

A, B, E, H = (f"00600000000000{i}AAA" for i in (1, 2, 5, 8))


@pytest.fixture(scope="module")
def tiny(tiny_crm):
    return tiny_crm


def state(crm, day):
    cut = crm.as_of(day).opportunities.set_index("opportunity_id")
    return cut


def test_as_of_before_anything_is_empty(tiny):
    cut = tiny.as_of("2023-12-31")
    assert len(cut.opportunities) == 0 and len(cut.leads) == 0 and len(cut.opportunity_history) == 0


def test_as_of_mid_february(tiny):
    s = state(tiny, "2024-02-15")
    # created by the end of 2024-02-15: A (01-10), B (02-01), E (01-05); H only on 03-15
    assert sorted(s.index) == [A, B, E]
    # A: last history row on or before the day is 02-01 Negotiation/Review, 1000, 90%, close 03-31
    assert s.loc[A, ["stage_name", "amount", "probability"]].tolist() == ["Negotiation/Review", 1000, 90]
    assert s.loc[A, "close_date"] == pd.Timestamp("2024-03-31")
    assert s.loc[A, "forecast_category"] == "Commit"
    assert not s.loc[A, "is_closed"] and not s.loc[A, "is_won"]
    # B: its first row, Prospecting 500
    assert s.loc[B, ["stage_name", "amount", "state_source"]].tolist() == ["Prospecting", 500, "history"]
    # E has no history: its current record stands
    assert s.loc[E, ["stage_name", "state_source"]].tolist() == ["Prospecting", "current"]


def test_as_of_end_of_day_is_inclusive(tiny):
    # A's Closed Won row is stamped 2024-03-15 16:00 UTC: won at the end of 03-15, not on 03-14
    assert state(tiny, "2024-03-14").loc[A, "is_won"] == False  # noqa: E712
    assert state(tiny, "2024-03-15").loc[A, ["stage_name", "is_closed", "is_won"]].tolist() == [
        "Closed Won",
        True,
        True,
    ]


def test_as_of_reopened_deal(tiny):
    # H: Prospecting 03-15, Closed Lost 04-10 (200), Qualification 04-20 (300), Closed Lost 05-05
    assert state(tiny, "2024-04-15").loc[H, ["stage_name", "amount", "is_closed"]].tolist() == [
        "Closed Lost",
        200,
        True,
    ]
    assert state(tiny, "2024-04-25").loc[H, ["stage_name", "amount", "is_closed", "is_won"]].tolist() == [
        "Qualification",
        300,
        False,
        False,
    ]
    assert state(tiny, "2024-05-10").loc[H, ["stage_name", "amount", "is_closed"]].tolist() == [
        "Closed Lost",
        300,
        True,
    ]


def test_as_of_today_equals_current_records(tiny):
    now = state(tiny, "2030-01-01")
    cur = tiny.opportunities.set_index("opportunity_id")
    for col in ("stage_name", "amount", "close_date", "is_closed", "is_won"):
        pd.testing.assert_series_equal(now[col], cur[col], check_names=False, check_dtype=False)


def test_as_of_leads_conversion_undone(tiny):
    # L1 converted on 2024-01-10: not yet converted on 01-05, converted on 01-10
    early = tiny.as_of("2024-01-05").leads.set_index("lead_id")
    assert sorted(early.index) == ["00Q000000000001AAA", "00Q000000000002AAA", "00Q000000000003AAA"]
    assert not early.loc["00Q000000000001AAA", "is_converted"]
    assert pd.isna(early.loc["00Q000000000001AAA", "converted_opportunity_id"])
    later = tiny.as_of("2024-01-10").leads.set_index("lead_id")
    assert later.loc["00Q000000000001AAA", "is_converted"]


def test_as_of_does_not_change_the_org(tiny):
    before = tiny.opportunities.copy()
    tiny.as_of("2024-02-15")
    pd.testing.assert_frame_equal(tiny.opportunities, before)


def test_as_of_history_cut(tiny):
    h = tiny.as_of("2024-02-15").opportunity_history
    # rows stamped on or before 02-15: A 01-10, A 02-01, B 02-01
    assert len(h) == 3


def test_as_of_rejects_garbage(tiny):
    with pytest.raises(ValueError):
        tiny.as_of("not a date")
