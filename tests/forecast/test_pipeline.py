"""Weighted pipeline, learned probabilities, calibration and forecast categories on a tiny hand-built org.

The org (written below as a Salesforce export) and every expected figure are worked out by hand.
Stages: Discover 20 %, Propose 50 % (open), Won, Lost (closed). Deals on 2024-06-30:

====  ========  ======  ==========  ==========  =========================================
deal  stage     amount  close       created     history
====  ========  ======  ==========  ==========  =========================================
O1    Discover  1000    2024-08-15  2024-06-01  -
O2    Propose   2000    2024-09-30  2024-03-01  Discover 1500 close 06-30, Propose on 05-15
O3    Propose    400    2024-05-31  2024-01-15  Discover close 03-31, Propose on 04-10 (overdue)
O4    Discover   500    2024-11-01  2024-06-20  -
O5    Won        700    2024-06-10  2024-02-01  Discover close 06-30, Won on 06-10
O6    Lost       300    2024-06-05  2024-02-10  Discover close 06-30, Lost on 06-05
====  ========  ======  ==========  ==========  =========================================
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

import funnel_analysis as fa
from funnel_analysis.forecast import (
    forecast_categories,
    learn_win_probabilities,
    probability_calibration,
    snapshot_outcomes,
    weighted_pipeline,
)

STAGES = (
    '"Id","MasterLabel","SortOrder","DefaultProbability","IsClosed","IsWon","ForecastCategoryName","IsActive"\n'
    "01J000000000001AAA,Discover,1,20,false,false,Pipeline,true\n"
    "01J000000000002AAA,Propose,2,50,false,false,Commit,true\n"
    "01J000000000003AAA,Won,3,100,true,true,Closed,true\n"
    "01J000000000004AAA,Lost,4,0,true,false,Omitted,true\n"
)
OPPS = (
    "Id,Name,CreatedDate,StageName,Amount,Probability,CloseDate,IsClosed,IsWon,ForecastCategory,OwnerId\n"
    "006000000000001AAA,O1,2024-06-01T10:00:00.000+0000,Discover,1000,20,2024-08-15,false,false,Pipeline,005000000000001AAA\n"
    "006000000000002AAA,O2,2024-03-01T10:00:00.000+0000,Propose,2000,50,2024-09-30,false,false,Commit,005000000000002AAA\n"
    "006000000000003AAA,O3,2024-01-15T10:00:00.000+0000,Propose,400,50,2024-05-31,false,false,Commit,005000000000001AAA\n"
    "006000000000004AAA,O4,2024-06-20T10:00:00.000+0000,Discover,500,20,2024-11-01,false,false,Pipeline,005000000000001AAA\n"
    "006000000000005AAA,O5,2024-02-01T10:00:00.000+0000,Won,700,100,2024-06-10,true,true,Closed,005000000000001AAA\n"
    "006000000000006AAA,O6,2024-02-10T10:00:00.000+0000,Lost,300,0,2024-06-05,true,false,Omitted,005000000000001AAA\n"
)
HIST = (
    "Id,OpportunityId,CreatedDate,StageName,Amount,Probability,CloseDate,ForecastCategory\n"
    "008000000000001AAA,006000000000001AAA,2024-06-01T10:00:00.000+0000,Discover,1000,20,2024-08-15,Pipeline\n"
    "008000000000002AAA,006000000000002AAA,2024-03-01T10:00:00.000+0000,Discover,1500,20,2024-06-30,Pipeline\n"
    "008000000000003AAA,006000000000002AAA,2024-05-15T10:00:00.000+0000,Propose,2000,50,2024-09-30,Commit\n"
    "008000000000004AAA,006000000000003AAA,2024-01-15T10:00:00.000+0000,Discover,400,20,2024-03-31,Pipeline\n"
    "008000000000005AAA,006000000000003AAA,2024-04-10T10:00:00.000+0000,Propose,400,50,2024-05-31,Commit\n"
    "008000000000006AAA,006000000000004AAA,2024-06-20T10:00:00.000+0000,Discover,500,20,2024-11-01,Pipeline\n"
    "008000000000007AAA,006000000000005AAA,2024-02-01T10:00:00.000+0000,Discover,700,20,2024-06-30,Pipeline\n"
    "008000000000008AAA,006000000000005AAA,2024-06-10T10:00:00.000+0000,Won,700,100,2024-06-10,Closed\n"
    "008000000000009AAA,006000000000006AAA,2024-02-10T10:00:00.000+0000,Discover,300,20,2024-06-30,Pipeline\n"
    "00800000000000AAAA,006000000000006AAA,2024-06-05T10:00:00.000+0000,Lost,300,0,2024-06-05,Omitted\n"
)


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline_org")
    for name, text in {"OpportunityStage.csv": STAGES, "Opportunity.csv": OPPS, "OpportunityHistory.csv": HIST}.items():
        (folder / name).write_text(text, encoding="utf-8")
    return fa.load_org(folder)


def test_weighted_pipeline_by_hand(org):
    cut = org.as_of("2024-06-30")
    before = cut.opportunities.copy()
    wp = weighted_pipeline(cut.opportunities, stages=org.stages, as_of="2024-06-30").set_index("fiscal_period")
    # Q2: O3 overdue (400 x 50 %); Q3: O1 1000 x 20 % + O2 2000 x 50 %; Q4: O4 500 x 20 %
    assert wp["open_amount"].to_dict() == {"FY2024-Q2": 400.0, "FY2024-Q3": 3000.0, "FY2024-Q4": 500.0}
    assert wp["weighted_amount"].to_dict() == pytest.approx(
        {"FY2024-Q2": 200.0, "FY2024-Q3": 1200.0, "FY2024-Q4": 100.0}
    )
    assert wp["overdue_count"].to_dict() == {"FY2024-Q2": 1, "FY2024-Q3": 0, "FY2024-Q4": 0}
    assert (wp["probabilities"] == "configured").all()
    pd.testing.assert_frame_equal(cut.opportunities, before)  # input untouched


def test_weighted_pipeline_by_owner_and_month(org):
    cut = org.as_of("2024-06-30")
    wp = weighted_pipeline(cut.opportunities, stages=org.stages, as_of="2024-06-30", by="owner_id", period="M")
    q3 = wp[wp["fiscal_period"] == "FY2024-M09"].set_index("owner_id")["weighted_amount"]
    assert q3.to_dict() == pytest.approx({"005000000000002AAA": 1000.0})
    aug = wp[wp["fiscal_period"] == "FY2024-M08"]
    assert aug["weighted_amount"].tolist() == pytest.approx([200.0])


def test_as_of_pipeline_equals_hand_built_snapshot(org):
    # on 2024-04-30: O2 Discover 1500, O3 Propose 400 (moved 04-10), O5 and O6 still Discover; O1, O4 not created
    snapshot = pd.DataFrame(
        {
            "opportunity_id": ["006000000000002AAA", "006000000000003AAA", "006000000000005AAA", "006000000000006AAA"],
            "stage_name": ["Discover", "Propose", "Discover", "Discover"],
            "amount": [1500.0, 400.0, 700.0, 300.0],
            "close_date": pd.to_datetime(["2024-06-30", "2024-05-31", "2024-06-30", "2024-06-30"]),
            "is_closed": False,
            "created_date": pd.to_datetime(["2024-03-01", "2024-01-15", "2024-02-01", "2024-02-10"], utc=True),
        }
    )
    got = weighted_pipeline(org.as_of("2024-04-30").opportunities, stages=org.stages, as_of="2024-04-30")
    want = weighted_pipeline(snapshot, stages=org.stages, as_of="2024-04-30")
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert got[["open_count", "open_amount", "weighted_amount"]].iloc[0].tolist() == pytest.approx([4, 2900.0, 700.0])


def test_weighted_pipeline_errors(org):
    cut = org.as_of("2024-06-30").opportunities
    with pytest.raises(ValueError, match="period must be"):
        weighted_pipeline(cut, stages=org.stages, as_of="2024-06-30", period="W")
    with pytest.raises(ValueError, match="no column"):
        weighted_pipeline(cut.drop(columns="amount"), stages=org.stages, as_of="2024-06-30")
    with pytest.raises(ValueError, match="not a date"):
        weighted_pipeline(cut, stages=org.stages, as_of="someday")


def test_learned_probabilities_by_hand(org):
    # snapshot 2024-03-31 (before Q2): O2, O3 (overdue), O5, O6 open and due, all Discover aged 30-89 days;
    # only O5 won in Q2 -> 1 of 4
    snap = snapshot_outcomes(org, as_of="2024-06-30")
    assert sorted(snap["opportunity_id"]) == [f"00600000000000{i}AAA" for i in (2, 3, 5, 6)]
    assert set(snap["fiscal_period"]) == {"FY2024-Q2"}
    assert snap["won_in_period"].sum() == 1
    learned = learn_win_probabilities(org, as_of="2024-06-30")
    row = learned.set_index(["stage_name", "age_bucket"]).loc[("Discover", "30-89")]
    assert (row["n"], row["won"]) == (4, 1)
    assert row["observed_rate"] == pytest.approx(0.25) and row["probability"] == pytest.approx(0.25)
    assert row["configured_probability"] == pytest.approx(0.2)
    # 1 of 4, Wilson 95 %: (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), z = 1.959964
    z, n, p = 1.959963984540054, 4, 0.25
    centre, half = p + z**2 / (2 * n), z * (p * (1 - p) / n + z**2 / (4 * n**2)) ** 0.5
    assert (row["observed_rate_ci_low"], row["observed_rate_ci_high"]) == pytest.approx(
        ((centre - half) / (1 + z**2 / n), (centre + half) / (1 + z**2 / n))
    )
    assert "ci_low" not in learned.columns


def test_where_keeps_the_deals_it_selects_on_each_snapshot(org):
    # owner 1 only: O2 (owner 2) leaves the 2024-03-31 snapshot -> O3, O5, O6, of which O5 won
    owner1 = "owner_id == '005000000000001AAA'"
    snap = snapshot_outcomes(org, as_of="2024-06-30", where=owner1)
    assert sorted(snap["opportunity_id"]) == [f"00600000000000{i}AAA" for i in (3, 5, 6)]
    learned = learn_win_probabilities(org, as_of="2024-06-30", where=owner1)
    assert learned[["n", "won"]].values.tolist() == [[3, 1]]
    # the amount as it stood on the snapshot day: O2 had 1500 then (2000 later), O3 400, O5 700, O6 300
    big = snapshot_outcomes(org, as_of="2024-06-30", where="amount >= 700")
    assert sorted(big["opportunity_id"]) == ["006000000000002AAA", "006000000000005AAA"]
    with pytest.raises(ValueError):
        snapshot_outcomes(org, as_of="2024-06-30", where="amount >>= 3")


def test_learned_probabilities_error_without_history(org):
    with pytest.raises(ValueError, match="no fiscal period ended"):
        learn_win_probabilities(org, as_of="2024-02-15")
    with pytest.raises(ValueError, match="period must be"):
        snapshot_outcomes(org, as_of="2024-06-30", period="W")


def test_calibration_counts(org):
    cal = probability_calibration(org, as_of="2024-06-30")
    conf = cal[cal["probabilities"] == "configured"]
    assert conf["n"].sum() == 4 and conf["observed"].iloc[0] == pytest.approx(0.25)
    assert conf["brier"].iloc[0] == pytest.approx((0.8**2 + 3 * 0.2**2) / 4)
    # the first period has nothing earlier to learn from: no learned probability yet
    assert cal[cal["probabilities"] == "learned"]["n"].sum() == 0
    assert {"observed_ci_low", "observed_ci_high"} <= set(cal.columns) and "ci_low" not in cal.columns
    first = conf.iloc[0]
    assert first["observed_ci_low"] < 0.25 < first["observed_ci_high"]


def test_calibration_error(org):
    with pytest.raises(ValueError, match="no fiscal period ended"):
        probability_calibration(org, as_of="2024-01-20")


def test_forecast_categories_by_hand(org):
    cats = forecast_categories(org.as_of("2024-06-30").opportunities, as_of="2024-06-30", stages=org.stages)
    t = cats.set_index(["fiscal_period", "forecast_category"])
    assert t.loc["FY2024-Q2", "amount"].to_dict() == {
        "Closed": 700.0,
        "Commit": 400.0,
        "Best Case": 0.0,
        "Pipeline": 0.0,
        "Omitted": 300.0,
    }
    assert t.loc["FY2024-Q2", "rollup_amount"].to_dict() == {
        "Closed": 700.0,
        "Commit": 1100.0,
        "Best Case": 1100.0,
        "Pipeline": 1100.0,
        "Omitted": 300.0,
    }
    assert t.loc["FY2024-Q3", "rollup_amount"].to_dict()["Pipeline"] == 3000.0
    assert t.loc["FY2024-Q4", "count"].to_dict()["Pipeline"] == 1


def test_forecast_categories_last_periods(org):
    # periods with a deal on 2024-06-30: Q2 (O3 overdue, O5 won, O6 lost), Q3 (O1, O2), Q4 (O4)
    opps = org.as_of("2024-06-30").opportunities
    cats = forecast_categories(opps, as_of="2024-06-30", stages=org.stages, last_periods=2)
    assert cats["fiscal_period"].unique().tolist() == ["FY2024-Q3", "FY2024-Q4"]
    assert len(cats) == 10 and cats.index.tolist() == list(range(10))
    assert (
        cats.set_index(["fiscal_period", "forecast_category"]).loc[("FY2024-Q3", "Pipeline"), "rollup_amount"] == 3000
    )
    everything = forecast_categories(opps, as_of="2024-06-30", stages=org.stages, last_periods=9)
    assert everything["fiscal_period"].nunique() == 3


def test_forecast_categories_error(org):
    with pytest.raises(ValueError, match="forecast_category"):
        forecast_categories(org.opportunities.drop(columns="forecast_category"), as_of="2024-06-30")
    with pytest.raises(ValueError, match="last_periods"):
        forecast_categories(org.opportunities, as_of="2024-06-30", last_periods=0)


@settings(max_examples=15, deadline=None)
@given(
    hst.lists(
        hst.tuples(hst.sampled_from(["A", "B"]), hst.floats(0, 1e6), hst.integers(-60, 400)), min_size=1, max_size=20
    )
)
def test_weighted_never_exceeds_open(deals):
    st = pd.DataFrame({"stage_name": ["A", "B"], "default_probability": [10.0, 90.0]})
    o = pd.DataFrame(
        {
            "opportunity_id": [str(i) for i in range(len(deals))],
            "stage_name": [d[0] for d in deals],
            "amount": [d[1] for d in deals],
            "is_closed": False,
            "close_date": pd.Timestamp("2024-06-30") + pd.to_timedelta([d[2] for d in deals], unit="D"),
            "created_date": pd.Timestamp("2024-01-01", tz="UTC"),
        }
    )
    wp = weighted_pipeline(o, stages=st, as_of="2024-06-30")
    assert (wp["weighted_amount"] <= wp["open_amount"] + 1e-6).all()
    assert wp["open_amount"].sum() == pytest.approx(sum(d[1] for d in deals))
    assert wp["open_count"].sum() == len(deals)


def test_deals_org_cuts_hold_the_whole_orgs_opportunities(small_sample):
    """The cuts the learned rates and backtests read without a where (an org of the deals' tables alone) hold
    exactly the opportunities of the whole org's cuts, on days across its history."""
    from funnel_analysis.forecast.pipeline import _deals_org, _opportunities

    crm = fa.load_org(small_sample)
    deals = _deals_org(crm)
    assert set(deals.tables) < set(crm.tables) and "leads" not in deals.tables
    assert _deals_org(crm) is deals  # one per org, so its memoised cuts are shared
    days = ["2023-03-31", "2024-06-30", "2024-12-31", "2025-06-30", "2025-11-15"]
    for day in days:
        pd.testing.assert_frame_equal(_opportunities(crm, day, ""), crm.as_of(day).opportunities, check_exact=True)
    # with a where, the whole org's cut (the expression may name related records)
    emea = _opportunities(crm, days[-1], "amount >= 10000")
    assert len(emea) and (emea["amount"] >= 10000).all()


def test_period_bounds_memo_by_hand():
    """The memoised bounds say what the calendar says (hand-checked quarters), and keep saying it."""
    from funnel_analysis.forecast.next_quarter import _bounds
    from funnel_analysis.forecast.pipeline import _period_bounds, _period_label

    for _ in range(2):
        assert _bounds(pd.Timestamp("2024-05-10"), 1, 1) == (
            "FY2024-Q3",
            pd.Timestamp("2024-07-01"),
            pd.Timestamp("2024-09-30"),
        )
        assert _bounds("2024-05-10", -4, 2) == ("FY2024-Q2", pd.Timestamp("2023-05-01"), pd.Timestamp("2023-07-31"))
        assert _period_bounds(pd.Timestamp("2024-01-01"), "M", 13, 1) == (
            "FY2025-M02",
            pd.Timestamp("2025-02-01"),
            pd.Timestamp("2025-02-28"),
        )
        assert _period_label(pd.Timestamp("2024-02-15"), "M", 2) == "FY2025-M01"
