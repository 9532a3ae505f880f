"""The snapshot funnel's sums in the engines (#19): the pandas reference's funnel, stage by stage."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.crm.sections import stages_in_use
from funnel_analysis.engine import EngineError, EngineOrg
from funnel_analysis.engine.funnel import cohort_sums, snapshot_sums
from funnel_analysis.funnel import conversion as reference

DAY = "2024-03-31"


@pytest.fixture
def engines(engines_only):
    """The engines but pandas: the reference is computed in each test."""
    return engines_only


@pytest.fixture(scope="module")
def tiny():
    """On 31 March: A in Prospecting (90 by its history), B in Prospecting without an amount,
    C in Negotiation (70), D won in March (not in the open funnel), E created in April (not yet)."""
    o = pd.DataFrame(
        {
            "Id": ["006A", "006B", "006C", "006D", "006E"],
            "StageName": ["Closed Won", "Prospecting", "Negotiation/Review", "Closed Won", "Prospecting"],
            "Amount": [100, None, 70, 40, 10],
            "CreatedDate": ["2024-01-02", "2024-01-03", "2024-02-05", "2024-01-10", "2024-04-02"],
            "CloseDate": ["2024-05-15", "2024-06-30", "2024-04-30", "2024-03-20", "2024-06-30"],
            "IsClosed": [True, False, False, True, False],
            "IsWon": [True, False, False, True, False],
            "Type": ["New", "New", "Renewal", "New", "New"],
        }
    )
    h = pd.DataFrame(
        {
            "Id": ["h1", "h2"],
            "OpportunityId": ["006A", "006A"],
            "CreatedDate": ["2024-01-02T10:00:00Z", "2024-05-15T10:00:00Z"],
            "StageName": ["Prospecting", "Closed Won"],
            "Amount": [90, 100],
            "CloseDate": ["2024-05-15", "2024-05-15"],
        }
    )
    return load_frames({"Opportunity": o, "OpportunityHistory": h})


def test_tiny_org_by_hand(engines, tiny):
    got = snapshot_sums(engines(tiny), as_of=DAY).set_index("stage_name")
    assert got["count"].to_dict() == {"Negotiation/Review": 1, "Prospecting": 2}
    assert got["amount"].to_dict() == {"Negotiation/Review": 70.0, "Prospecting": 90.0}
    assert got["amount_missing"].to_dict() == {"Negotiation/Review": 0, "Prospecting": 1}
    closed = snapshot_sums(engines(tiny), as_of=DAY, by="type", include_closed=True)
    assert closed[["type", "stage_name", "count"]].values.tolist() == [
        ["New", "Closed Won", 1],
        ["New", "Prospecting", 2],
        ["Renewal", "Negotiation/Review", 1],
    ]


@pytest.mark.parametrize("day", ["2023-06-30", "2025-12-31"])
def test_sample_equals_the_reference(engines, sample_crm, day):
    org, cut = engines(sample_crm), sample_crm.as_of(day)
    stages = stages_in_use(cut)
    for by, closed in ((None, False), ("lead_source", False), (["type", "lead_source"], True)):
        want = reference.snapshot_funnel(cut.opportunities, stages=stages, by=by, include_closed=closed)
        sums = snapshot_sums(org, as_of=day, by=by, include_closed=closed)
        got = reference.snapshot_from_sums(sums, stages=stages, by=by, include_closed=closed)
        assert want["count"].sum() > 30
        pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12)  # money to far below a cent


def test_the_report_entry_point_uses_the_engine(sample_crm):
    from funnel_analysis.engine import connect
    from funnel_analysis.engine.attach import attach, detach
    from funnel_analysis.funnel import report

    want = report.snapshot_funnel(sample_crm, as_of="2025-06-30", by="type")
    with connect("duckdb", threads=1) as eng:
        attach(sample_crm, org=EngineOrg.from_crm(sample_crm, engine=eng))
        try:
            got = report.snapshot_funnel(sample_crm, as_of="2025-06-30", by="type")
        finally:
            detach(sample_crm)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12)


def test_refuses_a_missing_column(tiny):
    from funnel_analysis.engine import connect

    with connect("duckdb", threads=1) as eng:
        with pytest.raises(EngineError, match="no column 'region'"):
            snapshot_sums(EngineOrg.from_crm(tiny, engine=eng), as_of=DAY, by="region")


def test_snapshot_from_sums_refuses_missing_columns(tiny):
    with pytest.raises(ValueError, match="amount_missing"):
        reference.snapshot_from_sums(
            pd.DataFrame({"stage_name": ["x"], "count": [1], "amount": [1.0]}), stages=tiny.stages
        )


# ---- the cohort funnel ------------------------------------------------------------------------
def test_cohort_sums_tiny_org_by_hand(engines, tiny):
    """Cohort January-March (A, B, C, D) on 30 June, with Salesforce's 8 open stages: A's history goes
    Prospecting -> Closed Won (15 May), B is in Prospecting, C in Negotiation/Review (step 8: the skipped
    stages count as passed), D won (20 March); none but A has history."""
    from funnel_analysis.funnel.conversion import cohort_from_sums

    org = engines(tiny)
    span = {"created_from": "2024-01-01", "created_to": "2024-03-31"}
    got = cohort_sums(org, as_of="2024-06-30", **span).iloc[0]
    assert (got["cohort"], got["cohort_amount"]) == (4, 210.0)  # B has no amount
    assert [got[f"reached_{i}"] for i in range(1, 10)] == [4, 3, 3, 3, 3, 3, 3, 3, 2]
    assert (got["amount_1"], got["amount_8"], got["amount_9"]) == (210.0, 210.0, 140.0)
    # within 30 days of creation: A only Prospecting (its win took 134 days), D's stage is dated by its
    # creation (no history) but its win took 70 days; C's stage is dated by its creation
    w = cohort_sums(org, as_of="2024-06-30", window_days=30, **span).iloc[0]
    assert [w[f"reached_{i}"] for i in range(1, 10)] == [4, 2, 2, 2, 2, 2, 2, 2, 0]
    funnel = cohort_from_sums(cohort_sums(org, as_of="2024-06-30", **span), stages=tiny.stages)
    assert funnel["stage_name"].iloc[-1] == "Closed Won"
    assert funnel["share"].iloc[-1] == 0.5


@pytest.mark.parametrize("day", ["2024-06-30", "2025-12-31"])
def test_cohort_sums_sample_equals_the_reference(engines, sample_crm, day):
    from funnel_analysis.funnel import report

    org = engines(sample_crm)
    cases = (
        (None, {"cohort_days": 180, "window_days": 90}),
        ("lead_source", {"created_from": "2023-01-01", "created_to": "2024-06-30"}),
        (["type", "lead_source"], {"created_from": "2024-01-01", "window_days": 30}),
    )
    for by, span in cases:
        want = report.cohort_funnel(sample_crm, as_of=day, by=by, **span)
        if "cohort_days" in span:
            span = {
                "created_from": want["created_from"].iloc[0],
                "created_to": want["created_to"].iloc[0],
                "window_days": span["window_days"],
            }
        sums = cohort_sums(org, as_of=day, by=by, **span)
        got = reference.cohort_from_sums(sums, stages=sample_crm.stages, by=by)
        assert want["cohort"].sum() > 30
        cols = [c for c in want.columns if c not in ("created_from", "created_to")]
        pd.testing.assert_frame_equal(got[cols], want[cols], check_dtype=False, rtol=1e-12)


def test_cohort_funnel_entry_point_uses_the_engine(sample_crm):
    from funnel_analysis.engine import connect
    from funnel_analysis.engine.attach import attach, detach
    from funnel_analysis.funnel import report

    args = {"as_of": "2025-06-30", "by": "type", "created_from": "2024-01-01", "created_to": "2024-12-31"}
    want = report.cohort_funnel(sample_crm, **args)
    with connect("duckdb", threads=1) as eng:
        org = EngineOrg.from_crm(sample_crm, engine=eng)
        attach(sample_crm, org=org)
        try:
            got = report.cohort_funnel(sample_crm, **args)
            # the engine's deals without one of the cohort: the funnel follows the engine, not pandas
            opps = sample_crm.opportunities
            one = opps.loc[opps["created_date"].between("2024-02-01", "2024-11-30"), "opportunity_id"].iloc[0]
            rel = org.relation("opportunities")
            eng.materialise("opps_less", f"SELECT * FROM {rel} WHERE opportunity_id <> $id", {"id": one})
            org.relations["opportunities"] = "opps_less"
            fewer = report.cohort_funnel(sample_crm, **args)
        finally:
            detach(sample_crm)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12)
    assert fewer.groupby("type")["cohort"].first().sum() == want.groupby("type")["cohort"].first().sum() - 1


def test_cohort_sums_refuses_bad_arguments(tiny):
    from funnel_analysis.engine import connect

    with connect("duckdb", threads=1) as eng:
        org = EngineOrg.from_crm(tiny, engine=eng)
        with pytest.raises(EngineError, match="no column 'region'"):
            cohort_sums(org, as_of=DAY, by="region")
        with pytest.raises(ValueError, match="window_days must be >= 0"):
            cohort_sums(org, as_of=DAY, window_days=-1)
        with pytest.raises(ValueError, match="created_from='soon' is not a date"):
            cohort_sums(org, as_of=DAY, created_from="soon")


def test_cohort_from_sums_refuses_missing_columns(tiny):
    with pytest.raises(ValueError, match="reached_1"):
        reference.cohort_from_sums(pd.DataFrame({"cohort": [1], "cohort_amount": [1.0]}), stages=tiny.stages)
