"""Backtests on the generated sample org (scale 0.25): actuals and naive baselines checked against plain
pandas on the CSV files; the summary worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from funnel_analysis.forecast import backtest_next_quarter, past_quarter_ends, summarize_backtest
from tests.export_csv import won_by_quarter
from tests.forecast.test_next_quarter import (  # the same loaded org as the next-quarter tests (read only)
    imported_then_regular,
    load_sample,
)

DATES = [pd.Timestamp("2024-09-30"), pd.Timestamp("2024-12-31")]


@pytest.fixture(scope="module")
def crm(sample_org):
    return load_sample(sample_org[0])


@pytest.fixture(scope="module")
def results(crm):
    return backtest_next_quarter(crm, as_of=DATES, ts_methods="theta")


def test_actuals_and_naive_baselines_match_the_csv(results, sample_org):
    by_q = won_by_quarter(sample_org[0])
    r = results.set_index(["as_of", "method"])
    for day, target, last, year_ago in [
        (DATES[0], "2024Q4", "2024Q3", "2023Q4"),
        (DATES[1], "2025Q1", "2024Q4", "2024Q1"),
    ]:
        assert r.loc[(day, "pipeline"), "actual"] == pytest.approx(by_q[pd.Period(target)])
        assert r.loc[(day, "last_period"), "forecast"] == pytest.approx(by_q[pd.Period(last)])
        assert r.loc[(day, "seasonal_naive"), "forecast"] == pytest.approx(by_q[pd.Period(year_ago)])
    assert set(results["method"]) == {
        "pipeline",
        "configured_weighted",
        "last_period",
        "seasonal_naive",
        "ts_theta",
        "time_series",
    }
    assert (results["fiscal_period"].unique() == ["FY2024-Q4", "FY2025-Q1"]).all()


def test_errors_scaled_and_intervals(results):
    assert np.allclose(results["error"], results["forecast"] - results["actual"])
    assert np.allclose(results["scaled_error"], results["abs_error"] / results["mase_scale"])
    p = results[results["method"] == "pipeline"]
    assert (p["forecast_ci_low_95"] <= p["forecast_ci_low_80"]).all()
    assert (p["forecast_ci_high_80"] <= p["forecast_ci_high_95"]).all()
    assert (results["quarters_ahead"] == 1).all()
    assert p["in_80"].notna().all() and results.loc[results["method"] != "pipeline", "in_80"].isna().all()
    # one scale per date, shared by all methods
    assert results.groupby("as_of")["mase_scale"].nunique().eq(1).all()


def test_summary_by_hand():
    r = pd.DataFrame(
        {
            "quarters_ahead": 1,
            "method": [
                "pipeline",
                "pipeline",
                "seasonal_naive",
                "seasonal_naive",
                "last_period",
                "last_period",
                "configured_weighted",
                "configured_weighted",
            ],
            "forecast": [11.0, 18.0, 14.0, 10.0, 9.0, 20.0, 10.0, 20.0],
            "actual": [10.0, 20.0] * 4,
            "mase_scale": [2.0, 4.0] * 4,
            "in_80": [True, False] + [None] * 6,
            "in_95": [True, True] + [None] * 6,
        }
    )
    s = summarize_backtest(r).set_index("method")
    # pipeline: |1|/2, |2|/4 -> MASE 0.5; MAE 1.5; bias (1 - 2) / 2
    assert s.loc["pipeline", ["mae", "bias", "mase", "coverage_80", "coverage_95"]].tolist() == pytest.approx(
        [1.5, -0.5, 0.5, 0.5, 1.0]
    )
    # seasonal naive: |4|/2, |10|/4 -> 2.25; MAE 7; configured: 0 error
    assert s.loc["seasonal_naive", "mase"] == pytest.approx(2.25)
    assert s.loc["pipeline", "relative_mae"] == pytest.approx(1.5 / 7)
    assert s.loc["configured_weighted", "mase"] == 0
    assert not s.loc["pipeline", "beats_all_baselines"]  # the configured baseline was perfect


def test_past_quarter_ends():
    assert past_quarter_ends(as_of="2025-12-31", n=2).tolist() == [
        pd.Timestamp("2025-06-30"),
        pd.Timestamp("2025-09-30"),
    ]
    assert past_quarter_ends(as_of="2025-12-30", n=1).tolist() == [pd.Timestamp("2025-06-30")]  # Q4 not over yet
    # the current quarter as the target: the last quarter end over by as_of is itself a day
    assert past_quarter_ends(as_of="2025-12-31", n=1, quarters_ahead=0).tolist() == [pd.Timestamp("2025-12-31")]
    # a fiscal year from February: quarters end in January, April, July, October
    assert past_quarter_ends(as_of="2025-11-15", n=2, fiscal_year_start_month=2).tolist() == [
        pd.Timestamp("2025-04-30"),
        pd.Timestamp("2025-07-31"),
    ]
    with pytest.raises(ValueError, match="n must be"):
        past_quarter_ends(as_of="2025-12-31", n=0)


def test_backtest_errors(crm):
    with pytest.raises(ValueError, match="not over in the data"):
        backtest_next_quarter(crm, as_of=["2025-12-31"], ts_methods=())
    with pytest.raises(ValueError, match="as_of is empty"):
        backtest_next_quarter(crm, as_of=[], ts_methods=())
    # 2023-06-30: the regular bookings start in 2023-03, two quarters; the imported deals' old quarters
    # (close dates in 2021-2022) are not history
    with pytest.raises(ValueError, match=r"2 complete quarter\(s\) of bookings on 2023-06-30, at least 4 needed"):
        backtest_next_quarter(crm, as_of=["2023-06-30"], ts_methods="")
    with pytest.raises(ValueError, match=r"past quarter\(s\) to learn from"):
        backtest_next_quarter(crm, as_of=["2023-06-30"], ts_methods="", min_quarters=2)
    with pytest.raises(ValueError, match="no backtest rows"):
        summarize_backtest(pd.DataFrame())


def test_every_series_of_a_day_starts_where_regular_bookings_start():
    # two deals imported with 2021 close dates (700, 900), then one win a month 2023-01 .. 2024-12 of 1000 + 10 k
    crm = imported_then_regular()
    r = backtest_next_quarter(crm, as_of=["2024-06-30"], ts_methods="naive").set_index("method")
    # quarters from 2023Q1 (k = 0..2: 3030), then + 90 a quarter: 3030, 3120, 3210, 3300, 3390, 3480 (2024Q2)
    assert r.loc["last_period", "forecast"] == 3480.0
    assert r.loc["seasonal_naive", "forecast"] == 3210.0  # 2023Q3
    assert r.loc["pipeline", "actual"] == 3570.0  # 2024Q3: k = 18..20
    # MASE scale: 6 quarters, lag 4: |3390 - 3030|, |3480 - 3120| -> 360. The old start (the quarter of the 1 %
    # quantile of the close dates, 2021Q2) also took 2021Q2 .. 2022Q4 (900 in 2021Q3, else 0): 13 quarters,
    # 9 lag-4 differences 0, 900, 0, 3030, 3120, 3210, 3300, 360, 360 -> 14280 / 9 = 1586.67
    assert (r["mase_scale"] == 360.0).all()
    # the monthly series of the time-series methods ends in 2024-06 (k = 17: 1170): naive = 3 x 1170
    assert r.loc["ts_naive", "forecast"] == 3510.0
    # what was left out, on every row of the day
    assert (r["left_out_periods"] == 22).all() and (r["left_out_deals"] == 2).all()
    assert (r["left_out_amount"] == 1600.0).all()
    assert r["note"].str.startswith("Left out before 2023-01-01: 2 won deals (1,600) in 22 months").all()


def test_a_day_with_too_short_a_history_is_left_out_and_said(crm):
    r = backtest_next_quarter(crm, as_of=["2023-06-30", "2024-09-30"], ts_methods="")
    assert set(r["as_of"]) == {pd.Timestamp("2024-09-30")}
    assert r.attrs["note"] == "1 day(s) left out: 2 complete quarter(s) of bookings on 2023-06-30, at least 4 needed"
