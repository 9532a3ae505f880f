"""Stage transitions, bottlenecks and lead conversion on the engines (#19): the day's deals, their stage
history and the day's leads come from the engine (a few columns each); the frame-level functions finish."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.engine import EngineOrg, connect
from funnel_analysis.engine.attach import attach, detach
from funnel_analysis.engine.funnel import day_history
from funnel_analysis.funnel import report
from tests.engine.conftest import attached_call

DAY = "2024-03-31"


@pytest.fixture(scope="module")
def tiny():
    """Stages Prospecting, Qualification, Negotiation, then won and lost. On 31 March:
    A (100) went Prospecting 2 Jan, Qualification 20 Jan, won 15 Feb (Negotiation skipped: passed);
    B (50) Prospecting 5 Jan, lost 10 March; C (70) Prospecting 1 Feb, Qualification only on 5 April
    (after the day: still at Prospecting, undecided); D created in April (not yet)."""
    stages = pd.DataFrame(
        {
            "MasterLabel": ["Prospecting", "Qualification", "Negotiation", "Closed Won", "Closed Lost"],
            "SortOrder": [1, 2, 3, 4, 5],
            "IsClosed": [False, False, False, True, True],
            "IsWon": [False, False, False, True, False],
            "DefaultProbability": [10, 30, 60, 100, 0],
        }
    )
    o = pd.DataFrame(
        {
            "Id": ["006A", "006B", "006C", "006D"],
            "StageName": ["Closed Won", "Closed Lost", "Qualification", "Prospecting"],
            "Amount": [100, 50, 70, 10],
            "CreatedDate": ["2024-01-02", "2024-01-05", "2024-02-01", "2024-04-02"],
            "CloseDate": ["2024-02-15", "2024-03-10", "2024-06-30", "2024-06-30"],
            "IsClosed": [True, True, False, False],
            "IsWon": [True, False, False, False],
            "LeadSource": ["Web", "Partner", "Web", "Web"],
        }
    )
    h = pd.DataFrame(
        {
            "Id": [f"h{i}" for i in range(1, 8)],
            "OpportunityId": ["006A", "006A", "006A", "006B", "006B", "006C", "006C"],
            "CreatedDate": [
                "2024-01-02T10:00:00Z",
                "2024-01-20T10:00:00Z",
                "2024-02-15T10:00:00Z",
                "2024-01-05T10:00:00Z",
                "2024-03-10T10:00:00Z",
                "2024-02-01T10:00:00Z",
                "2024-04-05T10:00:00Z",
            ],
            "StageName": [
                "Prospecting",
                "Qualification",
                "Closed Won",
                "Prospecting",
                "Closed Lost",
                "Prospecting",
                "Qualification",
            ],
            "Amount": [100, 100, 100, 50, 50, 70, 70],
            "CloseDate": ["2024-02-15"] * 3 + ["2024-03-10"] * 2 + ["2024-06-30"] * 2,
        }
    )
    leads = pd.DataFrame(
        {
            "Id": [f"00Q{i:015d}" for i in range(1, 5)],
            "LeadSource": ["Web", "Web", "Partner", "Web"],
            "CreatedDate": ["2023-11-01", "2023-11-15", "2023-12-01", "2024-03-20"],
            "IsConverted": [True, True, False, False],
            "ConvertedDate": ["2023-11-21", "2024-03-01", None, None],
        }
    )
    return load_frames({"OpportunityStage": stages, "Opportunity": o, "OpportunityHistory": h, "Lead": leads})


def test_day_history_by_hand(engines_only, tiny):
    got = day_history(engines_only(tiny), as_of=DAY)
    # C's move of 5 April is after the day; D is not in the cut
    assert got["opportunity_id"].tolist() == ["006A", "006A", "006A", "006B", "006B", "006C"]
    assert got["stage_name"].tolist()[:3] == ["Prospecting", "Qualification", "Closed Won"]
    assert str(got["created_date"].dtype) == "datetime64[us, UTC]"


def test_transitions_by_hand(engines_only, tiny):
    got = attached_call(engines_only(tiny), tiny, report.stage_transitions, as_of=DAY)
    rows = got[["fiscal_period", "from_stage", "to_stage", "decided", "advanced", "value_in", "value_out"]]
    # Prospecting -> Qualification: A advanced (20 Jan), B dropped (10 March); C undecided.
    # Qualification -> Negotiation: A, by its win (a skipped stage is passed); Negotiation -> won: A.
    assert rows.values.tolist() == [
        ["FY2024-Q1", "Prospecting", "Qualification", 2, 1, 150.0, 100.0],
        ["FY2024-Q1", "Qualification", "Negotiation", 1, 1, 100.0, 100.0],
        ["FY2024-Q1", "Negotiation", "Closed Won", 1, 1, 100.0, 100.0],
    ]
    by = attached_call(engines_only(tiny), tiny, report.stage_transitions, as_of=DAY, by="lead_source", period="M")
    partner = by[by["lead_source"] == "Partner"]
    assert partner[["fiscal_period", "decided", "advanced"]].values.tolist() == [["FY2024-M03", 1, 0]]
    for fn, kw in ((report.stage_transitions, {"by": "lead_source", "period": "M"}), (report.bottlenecks, {})):
        pd.testing.assert_frame_equal(
            attached_call(engines_only(tiny), tiny, fn, as_of=DAY, **kw), fn(tiny, as_of=DAY, **kw)
        )


def test_lead_conversion_by_hand(engines_only, tiny):
    got = attached_call(engines_only(tiny), tiny, report.lead_conversion, as_of=DAY, by="lead_source", window_days=30)
    got = got.set_index("lead_source")
    # leads created by 1 March (30 days before the day): Web L1 (in 20 days) and L2 (in 107: not within 30),
    # Partner L3; L4 too young
    assert got.loc["Web", ["leads", "converted"]].tolist() == [2, 1]
    assert got.loc["Partner", ["leads", "converted"]].tolist() == [1, 0]
    want = report.lead_conversion(tiny, as_of=DAY, by="lead_source", window_days=30).set_index("lead_source")
    pd.testing.assert_frame_equal(got, want)


CALLS = [
    (report.stage_transitions, {"by": "lead_source"}),
    (report.stage_transitions, {"by": "owner_id", "period": "M"}),
    (report.bottlenecks, {}),
    (report.bottlenecks, {"period": "M", "lookback": 3}),
    (report.lead_conversion, {"by": "lead_source", "window_days": 90}),
    (report.lead_conversion, {}),
]


def test_sample_equals_the_reference(engines_only, sample_crm):
    day = "2025-06-30"
    org = engines_only(sample_crm)
    wants = [fn(sample_crm, as_of=day, **kw) for fn, kw in CALLS]
    attach(sample_crm, org=org)
    try:
        for (fn, kw), want in zip(CALLS, wants, strict=True):
            got = fn(sample_crm, as_of=day, **kw)
            assert len(want) > (0 if not kw else 2)
            pd.testing.assert_frame_equal(got, want, rtol=1e-12)  # counts exact, money far below a cent
    finally:
        detach(sample_crm)


def test_engine_only_org_equals_the_reference(sample_org, sample_crm):
    from funnel_analysis.crm.load import load_org

    crm = load_org(sample_org[0], engine="duckdb", engine_only=True)
    assert {"opportunity_history", "leads"} <= set(crm.meta["engine_only"])
    for fn, kw in CALLS[::2]:
        pd.testing.assert_frame_equal(fn(crm, **kw), fn(sample_crm, **kw), rtol=1e-12)


def test_day_history_refusals(tiny):
    bare = load_frames({"Lead": pd.DataFrame({"Id": ["00QA"], "CreatedDate": ["2024-01-02"]})})
    with connect("duckdb", threads=1) as eng:
        with pytest.raises(ValueError, match="no opportunities"):
            day_history(EngineOrg.from_crm(bare, engine=eng), as_of=DAY)
        with pytest.raises(ValueError, match="as_of|date"):
            day_history(EngineOrg.from_crm(tiny, engine=eng), as_of="someday")
