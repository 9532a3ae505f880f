"""Conformance (#19): each engine gives the pandas reference's figures on the same org.

A tiny org written here, with its states on three days worked out by hand, and the sample org
on three days: the opportunities' states (hashed, and field by field on the tiny org).
"""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.engine import EngineError, EngineOrg
from funnel_analysis.engine.asof import STATE_COLUMNS, asof_state, state_hash

NA = None


@pytest.fixture(scope="module")
def tiny():
    """Five deals: history, a history that starts after the deal (first row used), a tie at one
    instant (file order), a history row without a time, no history (closed after the day:
    reopened; closed before: as recorded)."""
    o = pd.DataFrame(
        {
            "Id": ["006A", "006B", "006C", "006D", "006E"],
            "StageName": ["Closed Won", "Closed Lost", "Closed Won", "Prospecting", "Closed Won"],
            "Amount": [100, 50, 70, 30, 10],
            "CreatedDate": ["2024-01-02", "2024-01-03", "2024-01-05", "2024-02-01", "2024-03-01"],
            "CloseDate": ["2024-03-15", "2024-02-10", "2024-04-30", "2024-05-31", "2024-03-01"],
            "IsClosed": [True, True, True, False, True],
            "IsWon": [True, False, True, False, True],
        }
    )
    h = pd.DataFrame(
        {
            "Id": ["h1", "h2", "h3", "h4", "h5", "h6"],
            "OpportunityId": ["006A", "006A", "006A", "006B", "006B", "006D"],
            "CreatedDate": [
                "2024-01-02T10:00:00Z",
                "2024-02-01T09:00:00Z",
                "2024-02-01T09:00:00Z",  # same instant as h2: the later row in the file wins
                "2024-02-05T00:00:00Z",
                "2024-02-10T00:00:00Z",
                "",  # no time: never before a cut, but the first row when there is no other
            ],
            "StageName": [
                "Prospecting",
                "Negotiation/Review",
                "Proposal/Price Quote",
                "Qualification",
                "Closed Lost",
                "Prospecting",
            ],
            "Amount": [90, 95, 99, 40, 50, 30],
            "Probability": [10, 80, 75, 20, 0, 10],
            "CloseDate": ["2024-03-01", "2024-03-10", "2024-03-12", "2024-02-28", "2024-02-10", "2024-05-31"],
        }
    )
    return load_frames({"Opportunity": o, "OpportunityHistory": h})


# (id, stage, amount, probability, close date, forecast category, closed, won, source), by hand
EXPECTED = {
    "2024-01-31": [
        ("006A", "Prospecting", 90, 10, "2024-03-01", "Pipeline", False, False, "history"),
        ("006B", "Qualification", 40, 20, "2024-02-28", "Pipeline", False, False, "history_first"),
        ("006C", NA, 70, NA, "2024-04-30", NA, False, False, "current_reopened"),
    ],
    "2024-02-01": [
        ("006A", "Proposal/Price Quote", 99, 75, "2024-03-12", "Pipeline", False, False, "history"),
        ("006B", "Qualification", 40, 20, "2024-02-28", "Pipeline", False, False, "history_first"),
        ("006C", NA, 70, NA, "2024-04-30", NA, False, False, "current_reopened"),
        ("006D", "Prospecting", 30, 10, "2024-05-31", "Pipeline", False, False, "history_first"),
    ],
    "2024-03-31": [
        ("006A", "Proposal/Price Quote", 99, 75, "2024-03-12", "Pipeline", False, False, "history"),
        ("006B", "Closed Lost", 50, 0, "2024-02-10", "Omitted", True, False, "history"),
        ("006C", NA, 70, NA, "2024-04-30", NA, False, False, "current_reopened"),
        ("006D", "Prospecting", 30, 10, "2024-05-31", "Pipeline", False, False, "history_first"),
        ("006E", "Closed Won", 10, NA, "2024-03-01", "Closed", True, True, "current"),
    ],
}


def _states(org, day) -> list[tuple]:
    frame = asof_state(org, as_of=[day]) if isinstance(org, EngineOrg) else org.as_of(day).opportunities
    frame = frame.sort_values("opportunity_id")
    rows = []
    for r in frame[list(STATE_COLUMNS)].itertuples(index=False):
        close = pd.Timestamp(r.close_date).strftime("%Y-%m-%d") if pd.notna(r.close_date) else NA
        rows.append(
            (
                r.opportunity_id,
                r.stage_name if pd.notna(r.stage_name) else NA,
                None if pd.isna(r.amount) else round(float(r.amount), 2),
                None if pd.isna(r.probability) else round(float(r.probability), 4),
                close,
                r.forecast_category if pd.notna(r.forecast_category) else NA,
                bool(r.is_closed),
                bool(r.is_won),
                r.state_source,
            )
        )
    return rows


@pytest.mark.parametrize("day", sorted(EXPECTED))
def test_tiny_org_states_by_hand(engines, tiny, day):
    assert _states(engines(tiny), day) == EXPECTED[day]


def test_tiny_org_state_hash_equals_the_reference(engines, tiny):
    org = engines(tiny)
    for day in EXPECTED:
        assert state_hash(org, as_of=day) == state_hash(tiny, as_of=day)
    # a hash that could not fail would prove nothing: another day's states hash differently
    assert state_hash(org, as_of="2024-01-31") != state_hash(org, as_of="2024-03-31")


def test_several_days_in_one_query(engines, tiny):
    org = engines(tiny)
    if not isinstance(org, EngineOrg):
        pytest.skip("pandas cuts one day at a time")
    both = asof_state(org, as_of=["2024-03-31", "2024-01-31"])
    assert both.groupby("as_of").size().tolist() == [3, 5]


SAMPLE_DAYS = ["2023-06-30", "2024-12-31", "2025-12-31"]


@pytest.mark.parametrize("day", SAMPLE_DAYS)
def test_sample_state_hash(engines, sample_crm, day):
    assert state_hash(engines(sample_crm), as_of=day) == state_hash(sample_crm, as_of=day)


def test_asof_refuses_no_dates_and_a_missing_table(tiny):
    from funnel_analysis.engine import connect

    with connect("duckdb", threads=1) as eng:
        org = EngineOrg.from_crm(tiny, engine=eng)
        with pytest.raises(EngineError, match="no dates"):
            asof_state(org, as_of=[])
        bare = EngineOrg(eng, {}, tiny.stages)
        with pytest.raises(EngineError, match="no table 'opportunities'"):
            asof_state(bare, as_of=["2024-01-31"])


# ---- the headline figures -----------------------------------------------------------------


def _kpis(org, crm, day) -> pd.DataFrame:
    """report.kpis of ``crm``, in ``org``'s engine when it is one (attached for the call)."""
    from funnel_analysis.engine.attach import attach, detach, engine_of
    from funnel_analysis.funnel import report

    if not isinstance(org, EngineOrg):
        return report.kpis(crm, as_of=day).reset_index(drop=True)
    attach(crm, org=org)
    try:
        assert engine_of(crm) is org
        return report.kpis(crm, as_of=day)
    finally:
        detach(crm)


def test_tiny_org_kpis_by_hand(engines, tiny):
    k = _kpis(engines(tiny), tiny, "2024-03-31").iloc[0]
    assert pd.isna(k["leads"])  # no leads table: unknown, not 0
    # open: A (99), C reopened (70), D (30); closed: B lost, E won (created and closed on 1 March)
    counts = ["opportunities", "opportunities_open", "opportunities_won", "opportunities_lost", "win_rate_n"]
    assert [int(k[c]) for c in counts] == [5, 3, 1, 1, 2]
    assert k["open_pipeline_amount"] == pytest.approx(199.0) and int(k["open_pipeline_amount_n"]) == 3
    assert k["win_rate"] == pytest.approx(0.5)
    assert (k["won_amount"], k["avg_won_deal_size"], k["median_cycle_days"]) == (10.0, 10.0, 0.0)
    early = _kpis(engines(tiny), tiny, "2024-01-31").iloc[0]
    assert int(early["opportunities_open"]) == 3 and early["open_pipeline_amount"] == pytest.approx(90 + 40 + 70)
    assert pd.isna(early["win_rate"]) and early["won_amount"] == 0.0  # nothing closed yet


@pytest.mark.parametrize("day", SAMPLE_DAYS)
def test_sample_kpis_equal_the_reference(engines, sample_crm, day):
    from funnel_analysis.funnel import report

    got = _kpis(engines(sample_crm), sample_crm, day)
    want = report.kpis(sample_crm, as_of=day).reset_index(drop=True)
    assert list(got.columns) == list(want.columns)
    counts = [c for c in want.columns if str(want[c].dtype) == "Int64"]
    assert got[counts].astype("float64").equals(want[counts].astype("float64"))  # counts exact
    for money in ("won_amount", "open_pipeline_amount", "avg_won_deal_size"):
        assert round(float(got[money].iloc[0]), 2) == round(float(want[money].iloc[0]), 2)  # to the cent
    for days in ("median_cycle_days", "mean_cycle_days"):
        assert abs(float(got[days].iloc[0]) - float(want[days].iloc[0])) < 1e-9
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)


# ---- the waterfall -------------------------------------------------------------------------


def _waterfall(org, crm, **kw):
    """The waterfall of ``crm`` on the reference, or reduced in ``org``'s engine."""
    from funnel_analysis.engine.waterfall import waterfall
    from funnel_analysis.sources.pipeline_changes import pipeline_waterfall

    return waterfall(org, **kw) if isinstance(org, EngineOrg) else pipeline_waterfall(crm, **kw)


def test_tiny_org_waterfall_by_hand(engines, tiny):
    # Q1 2024 close window, cut 31 Jan -> 31 Mar: A open both days, closing 12 Mar (99: carried, but
    # still open on 31 Mar: in the window both days, 90 -> 99 an amount rise); B 40 at start, lost by
    # 31 Mar (50); C closes 30 Apr (outside the window); D created 1 Feb, closes 31 May (outside);
    # E new and won inside the window (10).
    w = _waterfall(engines(tiny), tiny, start="2024-01-31", end="2024-03-31", close_window=("2024-01-01", "2024-03-31"))
    moves = dict(zip(w.per_opportunity["opportunity_id"], w.per_opportunity["movement"]))
    assert moves == {"006A": "carried", "006B": "lost", "006E": "new_won"}
    t = w.totals.iloc[0]
    assert (t["start"], t["amount_up"], t["new"]) == (130.0, 19.0, 10.0)
    assert (t["won"], t["lost"], t["end"]) == (10.0, 50.0, 99.0)
    assert int(t["n_opportunities"]) == 3


@pytest.mark.parametrize("by", [None, "stage_name"])
def test_sample_waterfall_equals_the_reference(engines, sample_crm, by):
    kw = dict(start="2025-06-30", end="2025-09-30", close_window=("2025-07-01", "2025-09-30"), by=by)
    got, want = _waterfall(engines(sample_crm), sample_crm, **kw), _waterfall(sample_crm, sample_crm, **kw)
    # the reference's columns and order; components to the cent, counts exact
    cols = list(got.per_opportunity.columns)
    assert cols == [c for c in want.per_opportunity.columns if c in cols] and len(got.per_opportunity) > 100
    pd.testing.assert_frame_equal(got.per_opportunity, want.per_opportunity[cols], check_dtype=False)
    pd.testing.assert_frame_equal(got.totals, want.totals[list(got.totals.columns)], check_dtype=False)


def test_waterfall_refuses_bad_arguments(tiny):
    from funnel_analysis.engine import connect
    from funnel_analysis.engine.waterfall import waterfall

    with connect("duckdb", threads=1) as eng:
        org = EngineOrg.from_crm(tiny, engine=eng)
        with pytest.raises(ValueError, match="before start"):
            waterfall(org, start="2024-03-31", end="2024-01-31")
        with pytest.raises(EngineError, match="no column 'region'"):
            waterfall(org, start="2024-01-31", end="2024-03-31", by="region")


@pytest.mark.parametrize("by", [None, "owner_id"])
def test_sample_quarter_waterfall_through_the_report_entry_point(engines, sample_crm, by):
    """sources.report.pipeline_waterfall on an org attached to an engine: the reference's frames."""
    from funnel_analysis.engine.attach import attach, detach
    from funnel_analysis.sources import report

    want = report.pipeline_waterfall(sample_crm, as_of="2025-10-15", by=by)
    org = engines(sample_crm)
    if isinstance(org, EngineOrg):
        attach(sample_crm, org=org)
    try:
        got = report.pipeline_waterfall(sample_crm, as_of="2025-10-15", by=by)
    finally:
        detach(sample_crm)
    assert (got.period, got.start, got.end, got.close_window) == (want.period, want.start, want.end, want.close_window)
    pd.testing.assert_frame_equal(got.totals, want.totals, check_dtype=False)
    cols = list(got.per_opportunity.columns)
    pd.testing.assert_frame_equal(got.per_opportunity, want.per_opportunity[cols], check_dtype=False)


# ---- the field history in the cut: owner on the day (#19) -------------------------------------
U1, U2, U3 = (f"00500000000000{i}AAA" for i in range(1, 4))
D1, D2, D3, D4, D5 = (f"00600000000000{i}AAA" for i in range(1, 6))


@pytest.fixture(scope="module")
def owners():
    """Five deals whose owner on 31 March 2024 is not the exported one, with their stage history.

    The Owner history starts 15 January (D2: U1 -> U3). D1 (exported U2) changes U1 -> U2 on
    10 April: on 31 March its owner is that change's old value, U1. D3 (exported U1, created after
    the start) changes U3 -> U1 on 1 May: U3. D4 (U1) never changes. D5 (exported U2) U2 -> U1 on
    10 March, back to U2 on 5 April: U1. The CloseDate history starts 10 January (D2 pushed);
    D5 (created after) is pushed once (15 February), D4 pulled in (no push).
    """
    o = pd.DataFrame(
        {
            "Id": [D1, D2, D3, D4, D5],
            "StageName": ["Closed Won", "Closed Won", "Prospecting", "Closed Lost", "Prospecting"],
            "Amount": [100, 60, 40, 80, 30],
            "CreatedDate": [
                "2023-11-01T09:00:00Z",
                "2023-12-01T09:00:00Z",
                "2024-02-01T09:00:00Z",
                "2023-10-01T09:00:00Z",
                "2024-01-20T09:00:00Z",
            ],
            "CloseDate": ["2024-04-20", "2024-02-20", "2024-03-25", "2024-03-01", "2024-03-30"],
            "IsClosed": [True, True, False, True, False],
            "IsWon": [True, True, False, False, False],
            "OwnerId": [U2, U3, U1, U1, U2],
        }
    )
    h = pd.DataFrame(
        {
            "Id": [f"008000000000{i:03d}AAA" for i in range(1, 10)],
            "OpportunityId": [D1, D1, D2, D2, D3, D4, D4, D5, D5],
            "CreatedDate": [
                "2023-11-01T09:00:00Z",
                "2024-04-20T09:00:00Z",
                "2023-12-01T09:00:00Z",
                "2024-02-20T09:00:00Z",
                "2024-02-01T09:00:00Z",
                "2023-10-01T09:00:00Z",
                "2024-03-01T09:00:00Z",
                "2024-01-20T09:00:00Z",
                "2024-02-15T09:00:00Z",
            ],
            "StageName": [
                "Prospecting",
                "Closed Won",
                "Qualification",
                "Closed Won",
                "Prospecting",
                "Negotiation/Review",
                "Closed Lost",
                "Prospecting",
                "Prospecting",
            ],
            "Amount": [100, 100, 50, 60, 40, 80, 80, 30, 30],
            "Probability": [10, 100, 20, 100, 10, 80, 0, 10, 10],
            "CloseDate": [
                "2024-03-20",
                "2024-04-20",
                "2024-02-28",
                "2024-02-20",
                "2024-03-25",
                "2024-03-15",
                "2024-03-01",
                "2024-02-28",
                "2024-03-30",
            ],
        }
    )
    f = pd.DataFrame(
        {
            "Id": [f"01700000000{i:04d}AAA" for i in range(1, 9)],
            "OpportunityId": [D2, D1, D3, D5, D5, D5, D2, D4],
            "Field": ["Owner"] * 5 + ["CloseDate"] * 3,
            "DataType": ["EntityId"] * 5 + ["Date"] * 3,
            "OldValue": [U1, U1, U3, U2, U1, "2024-02-28", "2024-01-31", "2024-03-15"],
            "NewValue": [U3, U2, U1, U1, U2, "2024-03-30", "2024-02-28", "2024-03-01"],
            "CreatedDate": [
                "2024-01-15T12:00:00Z",
                "2024-04-10T12:00:00Z",
                "2024-05-01T12:00:00Z",
                "2024-03-10T12:00:00Z",
                "2024-04-05T12:00:00Z",
                "2024-02-15T09:00:00Z",
                "2024-01-10T09:00:00Z",
                "2024-03-01T09:00:00Z",
            ],
        }
    )
    return load_frames({"Opportunity": o, "OpportunityHistory": h, "OpportunityFieldHistory": f})


# (deal, owner, owner source, close-date pushes, slipped before), by hand (the fixture's notes)
OWNERS_BY_HAND = {
    # before both histories start: the exported owners kept, nothing known of pushes
    "2023-12-31": [(D1, U2, "as_exported", NA, NA), (D2, U3, "as_exported", NA, NA), (D4, U1, "as_exported", NA, NA)],
    "2024-03-31": [
        (D1, U1, "first_change_old_value", NA, NA),
        (D2, U3, "history", NA, True),  # its push of 10 January seen; older than the start: count unknown
        (D3, U3, "first_change_old_value", 0, False),
        (D4, U1, "no_change", NA, NA),  # a pull-in is no push
        (D5, U1, "history", 1, True),
    ],
}
OWNER_COLUMNS = ["owner_id", "owner_source", "close_date_pushes", "slipped_before"]


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    frame = frame.sort_values("opportunity_id")
    return [
        tuple(None if pd.isna(v) else v for v in row) for row in frame[["opportunity_id", *columns]].itertuples(False)
    ]


def test_owner_on_the_day_in_the_cut_by_hand(engines, owners):
    org = engines(owners)
    if isinstance(org, EngineOrg):
        got = asof_state(org, as_of=list(OWNERS_BY_HAND))  # both days in one query
        assert str(got["close_date_pushes"].dtype) == "Int64" and str(got["slipped_before"].dtype) == "boolean"
        frames = {day: got[got["as_of"] == pd.Timestamp(day)] for day in OWNERS_BY_HAND}
    else:
        frames = {day: owners.as_of(day).opportunities for day in OWNERS_BY_HAND}
    for day, want in OWNERS_BY_HAND.items():
        assert _rows(frames[day], OWNER_COLUMNS) == want, day
    # the cut's hash (the owner on the day among its columns) is the reference's
    assert state_hash(org, as_of="2024-03-31") == state_hash(owners, as_of="2024-03-31")
    # and it sees the owner: without the field history (the exported owners) it differs
    from dataclasses import replace

    exported = replace(owners, tables={k: v for k, v in owners.tables.items() if k != "opportunity_field_history"})
    assert state_hash(exported, as_of="2024-03-31") != state_hash(owners, as_of="2024-03-31")


def test_owner_segmented_kpis_by_hand(engines, owners):
    """The KPIs by owner of the engine's cut (the frame-level kpis on it) are the reference's."""
    from funnel_analysis.funnel import report
    from funnel_analysis.funnel.kpis import kpis

    org = engines(owners)
    if isinstance(org, EngineOrg):
        got = kpis(asof_state(org, as_of="2024-03-31"), None, by="owner_id")
    else:
        got = report.kpis(owners, as_of="2024-03-31", by="owner_id")
    cols = ["opportunities", "opportunities_open", "opportunities_won", "opportunities_lost", "win_rate"]
    cols += ["won_amount", "open_pipeline_amount"]
    table = {r["owner_id"]: tuple(float(r[c]) for c in cols) for _, r in got.iterrows()}
    # U1: D1 open 100, D4 lost, D5 open 30; U3: D2 won 60, D3 open 40 (by the exported owners
    # U2 would hold D1 and D5, U1 D3 and D4)
    assert table == {U1: (3.0, 2.0, 0.0, 1.0, 0.0, 0.0, 130.0), U3: (2.0, 1.0, 1.0, 0.0, 1.0, 60.0, 40.0)}
    if isinstance(org, EngineOrg):
        want = report.kpis(owners, as_of="2024-03-31", by="owner_id")
        pd.testing.assert_frame_equal(
            got[["owner_id", *cols]].reset_index(drop=True), want[["owner_id", *cols]], check_dtype=False
        )


def test_owner_segmented_snapshot_funnel_by_hand(engines, owners):
    from funnel_analysis.engine.funnel import snapshot_sums

    org = engines(owners)
    if isinstance(org, EngineOrg):
        sums = snapshot_sums(org, as_of="2024-03-31", by="owner_id")
        got = [tuple(r) for r in sums[["owner_id", "stage_name", "count", "amount"]].itertuples(index=False)]
    else:
        open_ = owners.as_of("2024-03-31").opportunities.query("not is_closed")
        sums = open_.groupby(["owner_id", "stage_name"])["amount"].agg(["count", "sum"]).reset_index()
        got = [tuple(r) for r in sums.itertuples(index=False)]
    # open on 31 March: U1 D1 (100) and D5 (30), U3 D3 (40), all Prospecting
    assert got == [(U1, "Prospecting", 2, 130.0), (U3, "Prospecting", 1, 40.0)]


def test_owner_segmented_waterfall_by_hand(engines, owners):
    # the reference (pandas) too: its copy of the org keeps the field history, so the owner at the end
    w = _waterfall(
        engines(owners), owners, start="2023-12-31", end="2024-03-31", close_window=("2024-01-01", "2024-03-31"),
        by="owner_id",
    )  # fmt: skip
    moves = dict(zip(w.per_opportunity["opportunity_id"], w.per_opportunity["movement"], strict=True))
    assert moves == {D1: "carried", D2: "won", D3: "new", D4: "lost", D5: "new"}
    cols = ["start", "new", "amount_up", "won", "lost", "end", "n_opportunities"]
    got = {r["owner_id"]: tuple(float(r[c]) for c in cols) for _, r in w.totals.iterrows()}
    # by the owner at the end: U1 D1 carried 100, D4 lost 80, D5 new 30; U3 D2 won (50 -> 60), D3 new 40
    assert got == {U1: (180.0, 30.0, 0.0, 0.0, 80.0, 130.0, 3.0), U3: (50.0, 40.0, 10.0, 60.0, 0.0, 40.0, 2.0)}


@pytest.mark.parametrize("entry", ["snapshot_funnel", "stage_durations", "pipeline_waterfall"])
def test_owner_segmented_entry_points_take_the_engine_path(owners, entry):
    """An entry point by owner on an org with an engine runs there (the figures follow the engine's
    tables), and equals the reference."""
    from funnel_analysis.engine import connect
    from funnel_analysis.engine.attach import attach, detach
    from funnel_analysis.funnel import report as funnel_report
    from funnel_analysis.sources import report as sources_report
    from funnel_analysis.velocity import report as velocity_report

    fn = {
        "snapshot_funnel": funnel_report.snapshot_funnel,
        "stage_durations": velocity_report.stage_durations,
        "pipeline_waterfall": sources_report.pipeline_waterfall,
    }[entry]

    def frame(got):
        return got.totals if entry == "pipeline_waterfall" else got

    kw = {"as_of": "2024-04-15" if entry == "pipeline_waterfall" else "2024-03-31", "by": "owner_id"}
    want = frame(fn(owners, **kw))
    if entry == "pipeline_waterfall":  # the reference follows the owner at the end: the hand values too
        hand = pd.DataFrame({"owner_id": [U1, U3], "start": [180.0, 50.0], "end": [130.0, 40.0]})
        pd.testing.assert_frame_equal(want[list(hand.columns)], hand, check_dtype=False)
    with connect("duckdb", threads=1) as eng:
        org = EngineOrg.from_crm(owners, engine=eng)
        attach(owners, org=org)
        try:
            got = frame(fn(owners, **kw))
            # the engine's deals without D5: the figures follow the engine, so the path is the engine's
            rel = org.relation("opportunities")
            eng.materialise("opps_less", f"SELECT * FROM {rel} WHERE opportunity_id <> $id", {"id": D5})
            org.relations["opportunities"] = "opps_less"
            less = frame(fn(owners, **kw))
        finally:
            detach(owners)
    pd.testing.assert_frame_equal(got[list(want.columns)], want, check_dtype=False)
    assert U1 in set(got["owner_id"]) and U2 not in set(got["owner_id"])  # the owners on the day
    assert not less.equals(got)
