"""Win rates by segment and fiscal period in the engines (#19): the pandas reference's table, row by row."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.engine import EngineError, EngineOrg, connect
from funnel_analysis.engine.winrates import win_rate_sums
from funnel_analysis.funnel import report
from funnel_analysis.funnel.winrates import win_rates_from_sums


@pytest.fixture
def engines(engines_only):
    """The engines but pandas: the reference is computed in each test."""
    return engines_only


@pytest.fixture(scope="module")
def tiny():
    """A won on 15 May (Prospecting before, by its history), B and C open, D won on 20 March,
    E created in April, F lost on 10 April, G won on 15 February without a creation date (no cut holds it)."""
    o = pd.DataFrame(
        {
            "Id": ["006A", "006B", "006C", "006D", "006E", "006F", "006G"],
            "StageName": [
                "Closed Won",
                "Prospecting",
                "Negotiation/Review",
                "Closed Won",
                "Prospecting",
                "Closed Lost",
                "Closed Won",
            ],
            "Amount": [100, None, 70, 40, 10, 30, 5],
            "CreatedDate": ["2024-01-02", "2024-01-03", "2024-02-05", "2024-01-10", "2024-04-02", "2024-02-01", None],
            "CloseDate": [
                "2024-05-15",
                "2024-06-30",
                "2024-04-30",
                "2024-03-20",
                "2024-06-30",
                "2024-04-10",
                "2024-02-15",
            ],
            "IsClosed": [True, False, False, True, False, True, True],
            "IsWon": [True, False, False, True, False, False, True],
            "Type": ["New", "New", "Renewal", "New", "New", "Renewal", "New"],
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
    org = engines(tiny)
    # 31 March: only D is closed (won, 10 Jan -> 20 Mar = 70 days); A is open by its history; G is undated
    march = win_rate_sums(org, as_of="2024-03-31").iloc[0]
    assert (march["closed"], march["won"], march["won_amount"], march["median_cycle_days"]) == (1, 1, 40.0, 70.0)
    assert march["n_undated_excluded"] == 1
    # 30 June: A won (2 Jan -> 15 May = 134 days), D won, F lost
    june = win_rates_from_sums(win_rate_sums(org, as_of="2024-06-30")).iloc[0]
    assert (june["closed"], june["won"], june["lost"]) == (3, 2, 1)
    assert june["win_rate"] == pytest.approx(2 / 3)
    assert (june["won_amount"], june["avg_won_deal_size"]) == (140.0, 70.0)
    assert (june["median_cycle_days"], june["mean_cycle_days"], june["cycle_n"]) == (102.0, 102.0, 2)
    by_q = win_rate_sums(org, as_of="2024-06-30", period="Q")
    assert by_q[["fiscal_period", "closed", "won", "n_undated_excluded"]].values.tolist() == [
        ["FY2024-Q1", 1, 1, 1],  # D, and G's close day is in Q1
        ["FY2024-Q2", 2, 1, 0],  # A won, F lost
    ]
    assert by_q["period_start"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-01")]
    by_type = win_rate_sums(org, as_of="2024-06-30", by="type", period="Y", fiscal_year_start_month=2)
    assert by_type[["type", "fiscal_period", "closed", "won"]].values.tolist() == [
        ["New", "FY2025", 2, 2],  # February 2024 to January 2025 is FY2025 (named by its end): D and A
        ["Renewal", "FY2025", 1, 0],  # F
    ]


def test_tiny_org_equals_the_reference(engines, tiny):
    org = engines(tiny)
    for by, period in ((None, None), ("type", None), (None, "Q"), ("type", "M")):
        want = report.win_rates(tiny, as_of="2024-06-30", by=by, period=period)
        got = win_rates_from_sums(win_rate_sums(org, as_of="2024-06-30", by=by, period=period), by=by, period=period)
        pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12)


@pytest.mark.parametrize("day", ["2023-06-30", "2025-12-31"])
def test_sample_equals_the_reference(engines, sample_crm, day):
    if engines.name == "spark" and day != "2025-12-31":
        pytest.skip("one day on Spark (CI's bounded step): the rules are the same SQL")
    org = engines(sample_crm)
    cases = ((None, None), ("lead_source", "Q"), (["type", "lead_source"], "M"), (None, "Y"))
    for by, period in cases:
        want = report.win_rates(sample_crm, as_of=day, by=by, period=period, fiscal_year_start_month=2)
        sums = win_rate_sums(org, as_of=day, by=by, period=period, fiscal_year_start_month=2)
        got = win_rates_from_sums(sums, by=by, period=period)
        assert want["closed"].sum() > 30
        pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12)  # money far below a cent


def test_the_report_entry_point_uses_the_engine(sample_crm):
    from funnel_analysis.engine.attach import attach, detach

    want = report.win_rates(sample_crm, as_of="2025-06-30", by="type", period="Q")
    with connect("duckdb", threads=1) as eng:
        org = EngineOrg.from_crm(sample_crm, engine=eng)
        attach(sample_crm, org=org)
        try:
            got = report.win_rates(sample_crm, as_of="2025-06-30", by="type", period="Q")
            # the engine's deals without one closed deal: the table follows the engine, not pandas
            opps = sample_crm.opportunities
            early = opps["is_closed"] & opps["created_date"].notna() & (opps["close_date"] < "2025-01-01")
            gone = opps.loc[early, "opportunity_id"].iloc[0]
            rel = org.relation("opportunities")
            eng.materialise("opps_less", f"SELECT * FROM {rel} WHERE opportunity_id <> $id", {"id": gone})
            org.relations["opportunities"] = "opps_less"
            fewer = report.win_rates(sample_crm, as_of="2025-06-30", by="type", period="Q")
        finally:
            detach(sample_crm)
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12)
    assert fewer["closed"].sum() == want["closed"].sum() - 1


def test_refuses_a_missing_column_and_an_unknown_period(tiny):
    with connect("duckdb", threads=1) as eng:
        org = EngineOrg.from_crm(tiny, engine=eng)
        with pytest.raises(EngineError, match="no column 'region'"):
            win_rate_sums(org, as_of="2024-06-30", by="region")
        with pytest.raises(ValueError, match="period must be one of"):
            win_rate_sums(org, as_of="2024-06-30", period="W")


def test_win_rates_from_sums_refuses_missing_columns():
    with pytest.raises(ValueError, match="median_cycle_days"):
        win_rates_from_sums(pd.DataFrame({"closed": [1], "won": [1]}))
