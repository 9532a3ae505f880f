"""Field history as of a day in the engines (#19): held to the pandas reference (``crm.as_of(day)``).

A tiny org written here, its values on three days worked out by hand (a paired owner row, two
changes in the same second, a picklist spelled otherwise in the history, a day before the history
starts, an owner change without a DataType), on every engine (the pandas reference included: the hand
values are the reference's too); and the generated sample org on three days, column by column.
"""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.engine import EngineError, EngineOrg, connect
from funnel_analysis.engine.field_history import lead_state, opportunity_field_state

NA = None
U1, U2, U3, U4, U5 = (f"00500000000000{i}AAA" for i in range(1, 6))
L1, L2, L3 = (f"00Q00000000000{i}AAA" for i in range(1, 4))
A, B, C = (f"00600000000000{i}AAA" for i in range(1, 4))
DAYS = ["2024-01-31", "2024-02-15", "2024-03-31"]
LEAD_COLUMNS = ["status", "status_source", "owner_id", "owner_source"]
OPP_COLUMNS = ["owner_id", "owner_source", "close_date_pushes", "slipped_before"]


@pytest.fixture(scope="module")
def tiny():
    """Three leads and three deals with their field history (the rows are in a deliberately odd order).

    Leads: L1 (created before either history starts; its Status and a paired Owner change on
    1 March), L2 (created after the Status history starts: two Status changes in the same second,
    the later Id first in the file, its value spelled ``QUALIFIED``: folded to the lead's spelling), L3 (no change).
    Deals: A (created before the CloseDate history starts: a push, then a pull-in; an Owner change
    in April with no DataType), B (created after: two pushes in one second, a pull-in; an Owner change
    with its paired name row), C (no change).
    """
    leads = pd.DataFrame(
        {
            "Id": [L1, L2, L3],
            "Status": ["Working", "Qualified", "Open"],
            "OwnerId": [U2, U1, U1],
            "CreatedDate": ["2024-01-05T08:00:00Z", "2024-02-10T08:00:00Z", "2024-01-10T08:00:00Z"],
        }
    )
    lead_history = pd.DataFrame(
        {
            "Id": ["017000000000005AAA", "017000000000001AAA", "017000000000004AAA", "017000000000003AAA"]
            + ["017000000000002AAA"],
            "LeadId": [L2, L1, L2, L1, L1],
            "Field": ["Status", "Status", "Status", "Owner", "Owner"],
            "DataType": ["DynamicEnum", "DynamicEnum", "DynamicEnum", "Text", "EntityId"],
            "OldValue": ["working", "Open", "Open", "Ann Lee", U1],
            "NewValue": ["QUALIFIED", "Working", "Working", "Bo Li", U2],
            "CreatedDate": [
                "2024-02-15T10:00:00Z",  # the same second as ...04AAA: by Id it comes second
                "2024-03-01T09:00:00Z",
                "2024-02-15T10:00:00Z",
                "2024-03-01T09:00:00Z",  # the name row of the owner change: not a change itself
                "2024-03-01T09:00:00Z",
            ],
        }
    )
    deals = pd.DataFrame(
        {
            "Id": [A, B, C],
            "StageName": ["Prospecting"] * 3,
            "OwnerId": [U5, U1, U1],
            "CloseDate": ["2024-04-15", "2024-07-20", "2024-06-30"],
            "CreatedDate": ["2024-01-02T09:00:00Z", "2024-02-10T09:00:00Z", "2024-03-01T09:00:00Z"],
        }
    )
    field_history = pd.DataFrame(
        {
            "Id": [f"01700000000001{i}AAA" for i in range(8)],
            "OpportunityId": [A, A, B, B, B, B, A, B],
            "Field": ["CloseDate", "CloseDate", "CloseDate", "CloseDate", "Owner", "Owner", "Owner", "CloseDate"],
            "DataType": ["Date", "Date", "Date", "Date", "EntityId", "Text", None, "Date"],
            "OldValue": ["2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30", U2, "Cy Do", U4, "2024-07-31"],
            "NewValue": ["2024-04-30", "2024-04-15", "2024-06-30", "2024-07-31", U3, "Di Ng", U5, "2024-07-20"],
            "CreatedDate": [
                "2024-02-01T12:00:00Z",  # the CloseDate history starts here
                "2024-03-05T12:00:00Z",  # a pull-in: no push
                "2024-02-14T12:00:00Z",
                "2024-02-14T12:00:00Z",
                "2024-02-25T12:00:00Z",  # the Owner history starts here
                "2024-02-25T12:00:00Z",
                "2024-04-10T12:00:00Z",  # no DataType, both values IDs: a change
                "2024-03-10T12:00:00Z",  # B pulled in: no push
            ],
        }
    )
    return load_frames(
        {"Lead": leads, "LeadHistory": lead_history, "Opportunity": deals, "OpportunityFieldHistory": field_history}
    )


# (lead, status, status source, owner, owner source), by hand
LEADS_BY_HAND = {
    # both histories start later and L1, L3 are older: unknown, the exported values kept
    "2024-01-31": [(L1, "Working", "as_exported", U2, "as_exported"), (L3, "Open", "as_exported", U1, "as_exported")],
    # Status started at 10:00 today: L1's first change (March) gives its old value; L2's two changes
    # of one second in Id order (file order would end on 'Working'); Owner still unknown (starts 1 March)
    "2024-02-15": [
        (L1, "Open", "first_change_old_value", U2, "as_exported"),
        (L2, "Qualified", "history", U1, "as_exported"),
        (L3, "Open", "no_change", U1, "as_exported"),
    ],
    # L1's owner from its ID row (its name row 'Bo Li', later by Id, is not a change)
    "2024-03-31": [
        (L1, "Working", "history", U2, "history"),
        (L2, "Qualified", "history", U1, "no_change"),
        (L3, "Open", "no_change", U1, "no_change"),
    ],
}
# (deal, owner, owner source, close-date pushes, slipped before), by hand
OPPS_BY_HAND = {
    # CloseDate starts 1 February: A's history is not complete, nothing seen: unknown, not 0
    "2024-01-31": [(A, U5, "as_exported", NA, NA)],
    # A: one push seen (a lower bound: unknown count, but slipped); B: created after the start, both
    # pushes of one second counted; owners unknown before 25 February
    "2024-02-15": [(A, U5, "as_exported", NA, True), (B, U1, "as_exported", 2, True)],
    # A: its owner before the April change is that change's old value; B: its pull-in is no push,
    # its owner the ID row's new one, not the exported one; C: created after both starts, no change
    "2024-03-31": [
        (A, U4, "first_change_old_value", NA, True),
        (B, U3, "history", 2, True),
        (C, U1, "no_change", 0, False),
    ],
}


def _plain(v):
    return None if pd.isna(v) else (bool(v) if isinstance(v, bool) else v)


def _table(frame: pd.DataFrame, key: str, columns: list[str]) -> list[tuple]:
    frame = frame.sort_values(key)
    return [tuple(_plain(v) for v in row) for row in frame[[key, *columns]].itertuples(index=False)]


def test_tiny_leads_by_hand(engines, tiny):
    org = engines(tiny)
    if isinstance(org, EngineOrg):
        got = lead_state(org, as_of=DAYS)  # the three days in one query
        assert got.groupby("as_of").size().tolist() == [2, 3, 3]
        for day, want in LEADS_BY_HAND.items():
            assert _table(got[got["as_of"] == pd.Timestamp(day)], "lead_id", LEAD_COLUMNS) == want, day
    else:
        for day, want in LEADS_BY_HAND.items():
            assert _table(org.as_of(day).leads, "lead_id", LEAD_COLUMNS) == want, day


def test_tiny_opportunities_by_hand(engines, tiny):
    org = engines(tiny)
    if isinstance(org, EngineOrg):
        got = opportunity_field_state(org, as_of=DAYS)
        assert str(got["close_date_pushes"].dtype) == "Int64" and str(got["slipped_before"].dtype) == "boolean"
        for day, want in OPPS_BY_HAND.items():
            assert _table(got[got["as_of"] == pd.Timestamp(day)], "opportunity_id", OPP_COLUMNS) == want, day
    else:
        for day, want in OPPS_BY_HAND.items():
            assert _table(org.as_of(day).opportunities, "opportunity_id", OPP_COLUMNS) == want, day


SAMPLE_DAYS = ["2023-06-30", "2024-12-31", "2025-12-31"]  # before the history starts (July 2024), after


def _assert_columns_equal(got: pd.DataFrame, want: pd.DataFrame, key: str, columns: list[str]) -> None:
    got, want = got.set_index(key).sort_index(), want.set_index(key).sort_index()
    assert got.index.tolist() == want.index.tolist()
    for c in columns:
        a = [_plain(v) for v in got[c].tolist()]
        b = [_plain(v) for v in want[c].tolist()]
        assert a == b, f"{c}: {sum(x != y for x, y in zip(a, b, strict=True))} rows differ"


@pytest.mark.parametrize(
    ("which", "key", "columns"),
    [("leads", "lead_id", LEAD_COLUMNS), ("opportunities", "opportunity_id", OPP_COLUMNS)],
)
def test_sample_equals_the_reference(engines, sample_crm, which, key, columns):
    if engines.name == "pandas":
        pytest.skip("the reference itself")
    org = engines(sample_crm)
    fn = lead_state if which == "leads" else opportunity_field_state
    got = fn(org, as_of=SAMPLE_DAYS)  # three days, one query
    seen = set()
    for day in SAMPLE_DAYS:
        want = getattr(sample_crm.as_of(day), which)
        _assert_columns_equal(got[got["as_of"] == pd.Timestamp(day)], want, key, columns)
        seen |= set(want[columns[1]])
    # the days reach every source, so equality could have failed on each rule
    assert {"history", "no_change", "as_exported"} <= seen


def test_lead_state_refuses_no_dates_and_an_org_without_lead_history(tiny):
    with connect("duckdb", threads=1) as eng:
        org = EngineOrg.from_crm(tiny, engine=eng)
        with pytest.raises(EngineError, match="no dates"):
            lead_state(org, as_of=[])
        bare = EngineOrg(eng, {k: v for k, v in org.relations.items() if k != "lead_history"}, tiny.stages)
        with pytest.raises(EngineError, match="no table 'lead_history'"):
            lead_state(bare, as_of=DAYS)


def test_opportunity_field_state_refuses_an_org_without_field_history(tiny):
    with connect("duckdb", threads=1) as eng:
        org = EngineOrg.from_crm(tiny, engine=eng)
        bare = EngineOrg(eng, {k: v for k, v in org.relations.items() if k != "opportunity_field_history"}, tiny.stages)
        with pytest.raises(EngineError, match="no table 'opportunity_field_history'"):
            opportunity_field_state(bare, as_of=DAYS)
