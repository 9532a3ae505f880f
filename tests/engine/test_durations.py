"""Stage durations as Kaplan-Meier life tables in an engine (#19): the tables by hand on a tiny
org, the quantiles equal to the pandas report's on it and on the sample org, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.engine import EngineError
from funnel_analysis.engine.durations import km_from_life_table, stage_durations, stage_life_tables
from funnel_analysis.velocity import report
from tests.engine.conftest import ALL_ENGINES, _Maker

DAY = "2024-03-31"


@pytest.fixture(scope="module")
def tiny():
    """As of 2024-03-31 (default stages):
    A  Prospecting 01-01 (and an amount change 01-11), Qualification 01-21, Closed Won 02-10:
       Prospecting 20 days, Qualification 20 days, the won visit has no duration.
    B  Prospecting 01-05, Qualification 01-15, back to Prospecting 01-20 and still there:
       Prospecting 10 days, Qualification 5, Prospecting again 71 days censored.
    C  no history, created 03-01 in Qualification: 30 days censored.
    D  created 03-10, its only history row is after the day (Qualification): the stage on the day
       is that first row's, 21 days censored (the record says Needs Analysis now).
    E  created after the day: no visit.  F  no creation date: counted as undated."""
    o = pd.DataFrame(
        {
            "Id": ["006A", "006B", "006C", "006D", "006E", "006F"],
            "StageName": ["Closed Won", "Prospecting", "Qualification", "Needs Analysis", "Prospecting", "Prospecting"],
            "Amount": [100, 50, 70, 30, 10, 5],
            "CreatedDate": ["2024-01-01", "2024-01-05", "2024-03-01", "2024-03-10", "2024-04-02", ""],
            "CloseDate": ["2024-02-10", "2024-06-30", "2024-06-30", "2024-06-30", "2024-06-30", "2024-06-30"],
            "IsClosed": [True, False, False, False, False, False],
            "IsWon": [True, False, False, False, False, False],
            "LeadSource": ["Web", "Web", "Partner", "Web", "Web", "Partner"],
        }
    )
    h = pd.DataFrame(
        {
            "Id": [f"h{i}" for i in range(8)],
            "OpportunityId": ["006A"] * 4 + ["006B"] * 3 + ["006D"],
            "CreatedDate": [
                "2024-01-01T09:00:00Z",
                "2024-01-11T09:00:00Z",
                "2024-01-21T09:00:00Z",
                "2024-02-10T09:00:00Z",
                "2024-01-05T09:00:00Z",
                "2024-01-15T09:00:00Z",
                "2024-01-20T23:59:00Z",
                "2024-04-05T09:00:00Z",
            ],
            "StageName": [
                "Prospecting",
                "Prospecting",
                "Qualification",
                "Closed Won",
                "Prospecting",
                "Qualification",
                "Prospecting",
                "Qualification",
            ],
            "Amount": [90, 100, 100, 100, 50, 50, 50, 30],
        }
    )
    return load_frames({"Opportunity": o, "OpportunityHistory": h})


@pytest.fixture(params=[n for n in ALL_ENGINES if n != "pandas"])
def engines(request):
    """A maker of orgs on each engine (pandas is the reference the engines meet, not run here)."""
    maker = _Maker(request.param)
    yield maker
    maker.close()


@pytest.fixture
def tiny_on(engines, tiny):
    return engines(tiny)


def test_life_tables_by_hand(tiny_on):
    lt = stage_life_tables(tiny_on, as_of=DAY)
    got = {
        s: [tuple(int(x) for x in r) for r in g[["days", "at_risk", "events", "censored"]].to_numpy()]
        for s, g in lt.groupby("stage_name")
    }
    assert got == {
        "Prospecting": [(10, 3, 1, 0), (20, 2, 1, 0), (71, 1, 0, 1)],
        "Qualification": [(5, 4, 1, 0), (20, 3, 1, 0), (21, 2, 0, 1), (30, 1, 0, 1)],
    }


def test_life_tables_by_segment(tiny_on):
    lt = stage_life_tables(tiny_on, as_of=DAY, by="lead_source")
    partner = lt[lt["lead_source"] == "Partner"]
    assert partner[["stage_name", "days", "at_risk", "events", "censored"]].values.tolist() == [
        ["Qualification", 30, 1, 0, 1]
    ]
    assert lt["events"].sum() + lt["censored"].sum() == 7


def test_quantiles_by_hand(tiny_on):
    out = stage_durations(tiny_on, as_of=DAY, percentiles=()).set_index("stage_name")
    # Prospecting: S(10) = 2/3, S(20) = 1/3 -> 20; Qualification: S(5) = 3/4, S(20) = 1/2 (not below) -> none
    assert out.loc["Prospecting", ["n", "n_censored", "km_median", "naive_median"]].tolist() == [3, 1, 20.0, 20.0]
    assert out.loc["Qualification", ["n", "n_censored", "naive_median"]].tolist() == [4, 2, 20.0]
    assert np.isnan(out.loc["Qualification", "km_median"])
    assert out.loc["Needs Analysis", "n"] == 0
    assert (out["n_undated_excluded"] == 1).all()


@pytest.mark.parametrize("by", [None, "lead_source"])
def test_tiny_equals_pandas(tiny_on, tiny, by):
    ref = report.stage_durations(tiny, as_of=DAY, by=by)
    got = stage_durations(tiny_on, as_of=DAY, by=by)
    pd.testing.assert_frame_equal(got, ref.reset_index(drop=True), check_dtype=False)


@pytest.mark.slow
@pytest.mark.parametrize("day", ["2024-06-30", "2025-03-31"])
def test_sample_equals_pandas(engines, sample_crm, day):
    """The sample org: every count exact, every quantile and bound to the day, by lead source too."""
    org = engines(sample_crm)
    for by in (None, "lead_source"):
        ref = report.stage_durations(sample_crm, as_of=day, by=by)
        got = stage_durations(org, as_of=day, by=by)
        assert len(ref) >= 5
        pd.testing.assert_frame_equal(got, ref.reset_index(drop=True), check_dtype=False)


def test_km_from_life_table_equals_statsmodels():
    """Greenwood's interval over counts equals statsmodels on the visits themselves."""
    from statsmodels.duration.survfunc import SurvfuncRight

    lt = pd.DataFrame({"days": [1, 3, 4, 7, 9], "events": [2, 1, 0, 3, 1], "censored": [1, 0, 2, 1, 0]})
    days = np.repeat(lt["days"], lt["events"] + lt["censored"]).to_numpy(float)
    status = np.concatenate([[1] * e + [0] * c for e, c in zip(lt["events"], lt["censored"])])
    sf = SurvfuncRight(days, status)
    r = km_from_life_table(lt, percentiles=(0.25,))
    assert r["km_median"] == sf.quantile(0.5) and r["km_p25"] == sf.quantile(0.25)
    assert (r["n"], r["n_censored"]) == (11, 4)


def test_bad_input(tiny_on):
    with pytest.raises(EngineError, match="by: 'nope' is not a column of the opportunities"):
        stage_life_tables(tiny_on, as_of=DAY, by="nope")
    with pytest.raises(EngineError, match="by: 'x; DROP TABLE' is not a column"):
        stage_durations(tiny_on, as_of=DAY, by="x; DROP TABLE")
    with pytest.raises(EngineError, match="as_of is required"):
        stage_life_tables(tiny_on, as_of=None)
    with pytest.raises(EngineError, match="is not a date"):
        stage_life_tables(tiny_on, as_of="someday")
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        km_from_life_table(pd.DataFrame({"days": [1], "events": [1], "censored": [0]}), percentiles=(1.5,))
    with pytest.raises(ValueError, match="lacks"):
        km_from_life_table(pd.DataFrame({"days": [1]}))


def test_the_report_entry_point_uses_the_engine(sample_crm):
    from funnel_analysis.engine import EngineOrg, connect
    from funnel_analysis.engine.attach import attach, detach

    for by in (None, "lead_source"):
        want = report.stage_durations(sample_crm, as_of="2025-06-30", by=by)
        with connect("duckdb", threads=1) as eng:
            attach(sample_crm, org=EngineOrg.from_crm(sample_crm, engine=eng))
            try:
                got = report.stage_durations(sample_crm, as_of="2025-06-30", by=by)
            finally:
                detach(sample_crm)
        pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_dtype=False)
        assert got.attrs == want.attrs  # the definitions note travels too


@pytest.fixture(scope="module")
def cycle_org():
    """As of 2024-03-31 (default stages), no history (each deal's stage and flags as exported):
    Web:     A won 01-01 -> 02-10 (40 days), B lost 01-05 -> 01-25 (20), C won but closing 05-15,
             after the day: open, censored at 59 days (2024 is a leap year), D open since 03-21
             (10 days, censored), H created after the day (not in the cut);
    Partner: E won, closing before its creation (invalid), F lost 02-15 -> 03-16 (30 days),
             G won without a creation date (undated)."""
    o = pd.DataFrame(
        {
            "Id": ["006A", "006B", "006C", "006D", "006E", "006F", "006G", "006H"],
            "StageName": ["Closed Won", "Closed Lost", "Closed Won", "Prospecting"]
            + ["Closed Won", "Closed Lost", "Closed Won", "Prospecting"],
            "CreatedDate": ["2024-01-01", "2024-01-05", "2024-02-01", "2024-03-21"]
            + ["2024-03-10", "2024-02-15", "", "2024-04-10"],
            "CloseDate": ["2024-02-10", "2024-01-25", "2024-05-15", "2024-06-30"]
            + ["2024-03-01", "2024-03-16", "2024-02-01", "2024-06-30"],
            "IsClosed": [True, True, True, False, True, True, True, False],
            "IsWon": [True, False, True, False, True, False, True, False],
            "LeadSource": ["Web"] * 4 + ["Partner"] * 3 + ["Web"],
            "Amount": [10] * 8,
        }
    )
    return load_frames({"Opportunity": o})


def test_cycle_length_by_hand(engines, cycle_org):
    from funnel_analysis.engine.durations import cycle_length

    got = cycle_length(engines(cycle_org), as_of="2024-03-31", by="lead_source").set_index("lead_source")
    assert list(got.index) == ["Partner", "Web"]
    web, partner = got.loc["Web"], got.loc["Partner"]
    counts = ["n", "n_closed", "n_won", "n_censored", "n_invalid", "n_undated_excluded"]
    assert web[counts].tolist() == [4, 2, 1, 2, 0, 0]
    assert partner[counts].tolist() == [2, 1, 0, 0, 1, 1]
    # Web: closed in 20 and 40 days (mean 30; the completed-only curve first drops below 1/2 at 40);
    # Kaplan-Meier: at risk 3 at day 20 (S = 2/3), 2 at day 40 (S = 1/3): the median is 40
    assert (web["naive_mean"], web["naive_median"], web["km_median"], web["median_gap_days"]) == (30, 40, 40, 0)
    assert (partner["naive_mean"], partner["naive_median"], partner["km_median"]) == (30, 30, 30)


@pytest.mark.parametrize("by", [None, "lead_source"])
def test_cycle_length_equals_pandas_on_the_hand_built_org(engines, cycle_org, by):
    from funnel_analysis.engine.durations import cycle_length

    got = cycle_length(engines(cycle_org), as_of="2024-03-31", by=by)
    want = report.cycle_length(cycle_org, as_of="2024-03-31", by=by)
    pd.testing.assert_frame_equal(got, want[list(got.columns)].reset_index(drop=True), check_dtype=False)


@pytest.mark.parametrize("by", [None, "lead_source", "owner_id", ["type", "forecast_category"]])
def test_cycle_length_equals_pandas_on_the_sample(engines, sample_crm, by):
    from funnel_analysis.engine.durations import cycle_length

    for day in ("2024-12-31", "2025-06-30"):
        got = cycle_length(engines(sample_crm), as_of=day, by=by)
        want = report.cycle_length(sample_crm, as_of=day, by=by)
        assert len(got) and got["n_closed"].sum() > 0
        pd.testing.assert_frame_equal(got, want[list(got.columns)].reset_index(drop=True), check_dtype=False)


def test_the_cycle_length_entry_point_uses_the_engine(cycle_org):
    from funnel_analysis.engine import EngineOrg, connect
    from funnel_analysis.engine.attach import attach, detach

    want = report.cycle_length(cycle_org, as_of="2024-03-31", by="lead_source")
    with connect("duckdb", threads=1) as eng:
        org = EngineOrg.from_crm(cycle_org, engine=eng)
        attach(cycle_org, org=org)
        try:
            got = report.cycle_length(cycle_org, as_of="2024-03-31", by="lead_source")
            assert org.__dict__.get("_asof_memo")  # reduced in the engine: the day's state is there
        finally:
            detach(cycle_org)
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_dtype=False)
    assert got.attrs == want.attrs


def test_cycle_length_refusals(engines, cycle_org):
    from funnel_analysis.engine.durations import cycle_length

    org = engines(cycle_org)
    with pytest.raises(EngineError, match="by: 'region' is not a column of the opportunities"):
        cycle_length(org, as_of="2024-03-31", by="region")
    with pytest.raises((EngineError, ValueError), match="not a date|as_of"):
        cycle_length(org, as_of="soon")
