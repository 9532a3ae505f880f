"""The headline figures by segment and period in the engines (#19): the day's deals and leads come from
the engine (a few columns each), the frame-level ``kpis`` makes the figures, as on the pandas path."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.engine import EngineError, EngineOrg, connect
from funnel_analysis.engine.attach import attach, detach
from funnel_analysis.engine.kpis import day_leads, open_deals_on
from funnel_analysis.funnel import headline_series, report
from tests.engine.conftest import attached_call

DAY = "2024-03-31"


@pytest.fixture(scope="module")
def tiny():
    """On 31 March. Deals: A won (Web, created 2 Jan, closed 1 Feb, 100), B lost (Web, closes 10 March),
    C open (Partner, 70), D open by its history on the day though exported won in April (Partner, 30),
    E created in April (not yet). Leads: L1 Web converted 20 Jan, L2 Web converted 5 April (not yet),
    L3 Partner, L4 without source, L5 created in April."""
    o = pd.DataFrame(
        {
            "Id": ["006A", "006B", "006C", "006D", "006E"],
            "StageName": ["Closed Won", "Closed Lost", "Prospecting", "Closed Won", "Prospecting"],
            "Amount": [100, 50, 70, 30, 10],
            "CreatedDate": ["2024-01-02", "2024-01-05", "2024-02-05", "2024-02-10", "2024-04-02"],
            "CloseDate": ["2024-02-01", "2024-03-10", "2024-05-30", "2024-04-15", "2024-06-30"],
            "IsClosed": [True, True, False, True, False],
            "IsWon": [True, False, False, True, False],
            "LeadSource": ["Web", "Web", "Partner", "Partner", "Web"],
            "Type": ["New Business", "New Business", "Renewal", "New Business", "Renewal"],
        }
    )
    h = pd.DataFrame(
        {
            "Id": ["h1", "h2"],
            "OpportunityId": ["006D", "006D"],
            "CreatedDate": ["2024-02-10T10:00:00Z", "2024-04-15T10:00:00Z"],
            "StageName": ["Prospecting", "Closed Won"],
            "Amount": [30, 30],
            "CloseDate": ["2024-04-30", "2024-04-15"],
        }
    )
    leads = pd.DataFrame(
        {
            "Id": [f"00Q{i:015d}" for i in range(1, 6)],
            "LeadSource": ["Web", "Web", "Partner", None, "Web"],
            "CreatedDate": ["2024-01-03", "2024-01-04", "2024-02-01", "2024-03-01", "2024-04-03"],
            "IsConverted": [True, True, False, False, False],
            "ConvertedDate": ["2024-01-20", "2024-04-05", None, None, None],
        }
    )
    return load_frames({"Opportunity": o, "OpportunityHistory": h, "Lead": leads})


def test_tiny_org_by_hand(engines_only, tiny):
    got = attached_call(engines_only(tiny), tiny, report.kpis, as_of=DAY, by="lead_source").set_index("lead_source")
    # Partner: C and D open (100), L3 not converted; Web: A won, B lost, L1 converted (L2 not yet);
    # the lead without a source is its own group, last
    assert got.index.tolist() == ["Partner", "Web", "(no lead_source)"]
    assert got.loc["Partner", ["opportunities_open", "open_pipeline_amount", "leads", "leads_converted"]].tolist() == [
        2,
        100.0,
        1,
        0,
    ]
    web = got.loc["Web"]
    assert [web["opportunities_won"], web["opportunities_lost"], web["win_rate"], web["won_amount"]] == [
        1,
        1,
        0.5,
        100.0,
    ]
    assert [web["leads"], web["leads_converted"], web["median_cycle_days"]] == [2, 1, 30.0]
    assert [got.loc["(no lead_source)", c] for c in ("leads", "opportunities")] == [1, 0]
    quarters = attached_call(engines_only(tiny), tiny, report.kpis, as_of=DAY, period="Q", exclude_types="Renewal")
    # by close date (D's on the day, 30 April, from its history), renewals left out: Q1 A won, B lost; Q2 D open
    assert quarters["fiscal_period"].tolist() == ["FY2024-Q1", "FY2024-Q2"]
    assert quarters["opportunities"].tolist() == [2, 1] and quarters["opportunities_won"].tolist() == [1, 0]
    assert quarters["win_rate"].iloc[0] == 0.5 and pd.isna(quarters["win_rate"].iloc[1])
    assert quarters["open_pipeline_amount"].tolist() == [0.0, 30.0]
    for kw in ({"by": "lead_source"}, {"period": "Q", "exclude_types": "Renewal"}, {"by": "type", "period": "M"}):
        got = attached_call(engines_only(tiny), tiny, report.kpis, as_of=DAY, **kw)
        pd.testing.assert_frame_equal(got, report.kpis(tiny, as_of=DAY, **kw))


def test_day_leads_by_hand(engines_only, tiny):
    got = day_leads(engines_only(tiny), as_of=DAY, by="lead_source")
    assert got["lead_id"].tolist() == [f"00Q{i:015d}" for i in range(1, 5)]  # L5 not yet, file order
    # L2 converted after the day: not converted on it, no conversion date
    assert got["is_converted"].tolist() == [True, False, False, False]
    assert got["converted_date"].isna().tolist() == [False, True, True, True]
    assert str(got["created_date"].dtype) == "datetime64[us, UTC]"


def test_open_deals_on_several_days_by_hand(engines_only, tiny):
    got = open_deals_on(engines_only(tiny), as_of=["2024-01-31", DAY], columns=["type"])
    # 31 Jan: A (closes 1 Feb), B, and nothing else yet; 31 March: C, and D by its history
    by_day = got.groupby("as_of")["opportunity_id"].apply(list).to_dict()
    assert by_day == {pd.Timestamp("2024-01-31"): ["006A", "006B"], pd.Timestamp(DAY): ["006C", "006D"]}
    assert got["amount"].tolist() == [100.0, 50.0, 70.0, 30.0] and not got["is_closed"].any()


def test_the_dashboard_rows_equal_the_reference(engines_only, sample_crm):
    # the open pipeline of every row's day comes from one query; the flows from report.kpis on the engine
    org = engines_only(sample_crm)
    cases = [{"period": "M", "exclude_types": "Renewal"}] + ([] if engines_only.name == "spark" else [{}])
    wants = [headline_series(sample_crm, as_of="2025-06-30", **kw) for kw in cases]
    attach(sample_crm, org=org)
    try:
        for kw, want in zip(cases, wants, strict=True):
            got = headline_series(sample_crm, as_of="2025-06-30", **kw)
            assert (want["row"] == "period").sum() >= 4
            pd.testing.assert_frame_equal(got, want, rtol=1e-12)
    finally:
        detach(sample_crm)


CASES = [
    {"by": "lead_source"},
    {"by": "owner_id"},
    {"period": "Q"},
    {"by": "lead_source", "period": "M", "cohort": "created"},
    {"by": "type", "exclude_types": "Renewal"},
    {"by": "lead_source", "win_rate_basis": "amount"},
    {"exclude_stages": "Prospecting", "period": "Y"},
]


@pytest.mark.parametrize("day", ["2025-06-30"])
def test_sample_equals_the_reference(engines_only, sample_crm, day):
    org = engines_only(sample_crm)
    wants = [report.kpis(sample_crm, as_of=day, **kw) for kw in CASES]
    attach(sample_crm, org=org)
    try:
        for kw, want in zip(CASES, wants, strict=True):
            got = report.kpis(sample_crm, as_of=day, **kw)
            assert len(want) > 1 or "exclude_stages" in kw
            pd.testing.assert_frame_equal(got, want, rtol=1e-12)  # counts exact, money and days far below a cent
            assert got.attrs["note"] == want.attrs["note"]
    finally:
        detach(sample_crm)


def test_engine_only_org_equals_the_reference(sample_org, sample_crm):
    from funnel_analysis.crm.load import load_org

    crm = load_org(sample_org[0], engine="duckdb", engine_only=True)
    assert "leads" in crm.meta["engine_only"]
    for kw in CASES[:3]:
        pd.testing.assert_frame_equal(
            report.kpis(crm, as_of="2025-06-30", **kw), report.kpis(sample_crm, as_of="2025-06-30", **kw), rtol=1e-12
        )
    # the dashboard's rows: each period, the previous period to the same point, the current one
    pd.testing.assert_frame_equal(headline_series(crm), headline_series(sample_crm), rtol=1e-12)


def test_refusals(tiny):
    with connect("duckdb", threads=1) as eng:
        org = EngineOrg.from_crm(tiny, engine=eng)
        with pytest.raises(EngineError, match="no column 'region'"):
            day_leads(org, as_of=DAY, by="region")
        with pytest.raises(ValueError, match="as_of|date"):
            day_leads(org, as_of="not a day")
