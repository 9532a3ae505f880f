"""Time-series forecasts: validation rules, output shape, interval ordering, selection, many series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from funnel_analysis.forecast import Forecaster, ManyForecasts, fit_many, forecast_many, mase, validate_series
from funnel_analysis.forecast.methods import _fit_methods  # the internals Forecaster passes between origins
from funnel_analysis.forecast.timeseries import regular_start

FAST = ("naive", "snaive", "theta")  # cheap methods: the slow ones are exercised once below
BASE = ("naive", "snaive")


def _monthly(n=36, seed=0, sid="a"):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 100 + 2 * t + 15 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 3, n)
    return pd.DataFrame({"series_id": sid, "ds": pd.date_range("2021-01-01", periods=n, freq="MS"), "y": y})


def test_mase_by_hand():
    # seasonal naive in-sample MAE with m=2 on [1, 3, 2, 6]: |2-1|, |6-3| -> 2; errors 1 and 3 -> MAE 2
    assert mase([10, 10], [9, 13], train=[1, 3, 2, 6], season=2) == pytest.approx(1.0)
    # too short for the season: the lag-1 naive scale
    assert mase([5], [4], train=[1, 2], season=12) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "values, ds, rule",
    [
        ([1.0] * 5, None, "too_short"),
        ([1.0, -2.0] + [1.0] * 10, None, "negative"),
        ([1.0, np.nan] + [1.0] * 10, None, "not_finite"),
        ([1.0] * 12, pd.date_range("2020-01-01", periods=13, freq="MS").delete(5), "gap"),
        (
            [1.0] * 12,
            list(pd.date_range("2020-01-01", periods=11, freq="MS")) + [pd.Timestamp("2020-11-15")],
            "duplicate",
        ),
    ],
)
def test_validate_series_rules(values, ds, rule):
    with pytest.raises(ValueError, match=rf"series 'shop-7'.*column '(y|ds)'.*rule: {rule}"):
        validate_series(values, ds, series_id="shop-7", period="M", horizon=3)


def test_too_short_for_one_backtest_origin():
    # 10 points, horizon 3: the first training window needs 8 points, 8 + 3 = 11 > 10. This used to pass
    # validation (8 points sufficed) and fail in fit with a KeyError on an empty backtest
    s = pd.Series(np.arange(10.0) + 1, index=pd.date_range("2020-01-01", periods=10, freq="MS"))
    with pytest.raises(ValueError, match=r"series 'short': column 'y' has 10 points, at least 11 needed.*too_short"):
        Forecaster(s, period="M", horizon=3, methods=BASE, series_id="short").fit()
    assert Forecaster(s, period="M", horizon=2, methods=BASE).fit().scores["origins"].max() == 1  # 8 + 2 = 10


def test_negative_allowed_when_asked():
    assert validate_series([1.0, -2.0] + [1.0] * 10, allow_negative=True).min() == -2.0


def test_forecaster_shape_ordering_and_dates():
    df = _monthly()
    s = pd.Series(df["y"].to_numpy(), index=df["ds"])
    res = Forecaster(s, period="M", horizon=4, methods=FAST).fit()
    fc = res.forecast()
    assert list(fc.columns) == [
        "ds",
        "yhat",
        "yhat_ci_low_80",
        "yhat_ci_high_80",
        "yhat_ci_low_95",
        "yhat_ci_high_95",
        "method",
    ]
    assert len(fc) == 4
    assert fc["ds"].tolist() == list(pd.date_range("2024-01-01", periods=4, freq="MS"))
    assert (fc["yhat_ci_low_95"] <= fc["yhat_ci_low_80"]).all()
    assert (fc["yhat_ci_low_80"] <= fc["yhat"]).all() and (fc["yhat"] <= fc["yhat_ci_high_80"]).all()
    assert (fc["yhat_ci_high_80"] <= fc["yhat_ci_high_95"]).all()
    assert list(res.scores.columns[:5]) == ["method", "mase", "mae", "bias", "coverage_80"]
    assert [c for c in res.backtest.columns if "_ci_" in c] == [
        "yhat_ci_low_80",
        "yhat_ci_high_80",
        "yhat_ci_low_95",
        "yhat_ci_high_95",
    ]
    # the scores: every method, baselines included, scored on the same 3 origins
    assert set(res.scores["method"]) == set(FAST) and (res.scores["origins"] == 3).all()
    # a trending seasonal series: the seasonal naive must not win against theta on deseasonalised data
    assert res.method in FAST


def test_month_end_dates_keep_their_anchor():
    df = _monthly(30)
    s = pd.Series(df["y"].to_numpy(), index=df["ds"] + pd.offsets.MonthEnd(0))
    fc = Forecaster(s, period="M", horizon=2, methods=("naive",)).fit().forecast()
    assert fc["ds"].drop_duplicates().dt.strftime("%Y-%m-%d").tolist() == ["2023-07-31", "2023-08-31"]


def test_selection_prefers_the_lower_backtest_error():
    # a pure linear trend: naive lags behind by the slope, the trend models do not
    t = np.arange(40.0)
    s = pd.Series(10 + 5 * t, index=pd.date_range("2020-01-01", periods=40, freq="MS"))
    res = Forecaster(s, period="M", horizon=3, methods=("naive", "snaive", "theta")).fit()
    sc = res.scores.set_index("method")["mase"]
    assert sc["theta"] < sc["naive"] and res.method == "theta"
    # the chosen forecast continues the trend (last value 205, slope 5)
    assert res.forecast()["yhat"].iloc[0] == pytest.approx(210, rel=0.02)


def test_all_statsmodels_methods_run():
    df = _monthly(40)
    s = pd.Series(df["y"].to_numpy(), index=df["ds"])
    res = Forecaster(s, period="M", horizon=3, n_origins=1).fit()
    assert set(res.scores["method"]) == {"naive", "snaive", "es", "ets", "sarimax", "theta", "combo"}
    for m in res.scores["method"]:
        fc = res.forecast(m)
        assert fc["yhat"].notna().all() and (fc["yhat_ci_low_95"] <= fc["yhat_ci_high_95"]).all(), m
    combo = res.forecast("combo")["yhat"].iloc[:3].to_numpy()
    parts = np.mean([res.forecast(m)["yhat"].iloc[:3].to_numpy() for m in ("es", "ets", "sarimax", "theta")], axis=0)
    assert combo == pytest.approx(parts)


def test_forecaster_errors():
    s = pd.Series(np.arange(20.0), index=pd.date_range("2020-01-01", periods=20, freq="MS"))
    with pytest.raises(ValueError, match="unknown method"):
        Forecaster(s, period="M", horizon=2, methods=("prophet",)).fit()
    with pytest.raises(ValueError, match="horizon"):
        Forecaster(s, period="M", horizon=0).fit()
    with pytest.raises(TypeError, match="Series"):
        Forecaster(s.to_numpy(), period="M", horizon=2).fit()
    res = Forecaster(s, period="M", horizon=2, methods=("naive",)).fit()
    with pytest.raises(ValueError, match="unknown method"):
        res.forecast("prophet")
    with pytest.raises(ValueError, match="period must be"):
        Forecaster(s, period="D", horizon=2).fit()
    with pytest.raises(ValueError, match="confidence"):
        Forecaster(s, period="M", horizon=2, confidence=(80, 95)).fit()
    with pytest.raises(TypeError):  # everything after the series is keyword-only
        Forecaster(s, "M")


def test_one_confidence_level_gives_the_bare_interval_columns():
    y = 100 + np.cumsum([1.0, 3.0] * 10)  # steps of 1 and 3
    s = pd.Series(y, index=pd.date_range("2020-01-01", periods=20, freq="MS"))
    res = Forecaster(s, period="M", horizon=2, methods=("naive",), confidence=0.5).fit()
    fc = res.forecast("naive")
    assert list(fc.columns) == ["ds", "yhat", "yhat_ci_low", "yhat_ci_high", "method"]
    assert "coverage_50" in res.scores.columns
    # naive: the last value, +- the 50 % normal quantile (0.6745) x the sd of the first differences x
    # sqrt(step), widened by the backtest's interval_scale (at least 1)
    k = res.interval_scale["naive"]
    half = k * 0.6744897501960817 * np.std(np.diff(y), ddof=1) * np.sqrt([1, 2])
    assert k >= 1 and fc["yhat"].tolist() == [y[-1], y[-1]]
    assert fc["yhat_ci_high"].to_numpy() == pytest.approx(y[-1] + half)
    assert fc["yhat_ci_low"].to_numpy() == pytest.approx(y[-1] - half)


def test_forecast_many_two_series_in_processes():
    df = pd.concat([_monthly(30, 1, "a"), _monthly(30, 2, "b")], ignore_index=True)
    before = df.copy()
    # baselines only here: what is tested is the process pool, not the models (tested above)
    many = fit_many(df.sample(frac=1, random_state=0), horizon=3, methods=BASE, n_jobs=2)
    assert isinstance(many, ManyForecasts)
    out, scores = many.forecasts, many.scores
    assert list(out.columns) == [
        "series_id",
        "ds",
        "yhat",
        "yhat_ci_low_80",
        "yhat_ci_high_80",
        "yhat_ci_low_95",
        "yhat_ci_high_95",
        "method",
    ]
    assert out.groupby("series_id").size().to_dict() == {"a": 3, "b": 3}
    assert scores.groupby("series_id")["chosen"].sum().to_dict() == {"a": 1, "b": 1}
    # the same answer in one process: the parallel path changes nothing
    one = forecast_many(df, horizon=3, methods=BASE, n_jobs=1)
    pd.testing.assert_frame_equal(out, one)
    pd.testing.assert_frame_equal(df, before)


def test_forecast_many_errors_name_the_series():
    df = pd.concat([_monthly(30, 1, "good"), _monthly(30, 2, "bad")], ignore_index=True)
    df.loc[df.index[-1], "y"] = -1.0
    with pytest.raises(ValueError, match=r"series 'bad': column 'y'.*rule: negative"):
        forecast_many(df, horizon=3, methods=FAST, n_jobs=1)
    with pytest.raises(ValueError, match=r"no column\(s\) \['y'\]"):
        forecast_many(df.drop(columns="y"), horizon=3)
    short = _monthly(30, 1, "tiny").iloc[:5]
    with pytest.raises(ValueError, match=r"series 'tiny'.*rule: too_short"):
        forecast_many(short, horizon=3, period="M", n_jobs=1)


@settings(max_examples=10, deadline=None)
@given(hst.lists(hst.floats(0, 1000), min_size=14, max_size=30), hst.integers(1, 4))
def test_intervals_nest_and_stay_non_negative(values, h):
    s = pd.Series(values, index=pd.date_range("2020-01-01", periods=len(values), freq="MS"))
    fc = Forecaster(s, period="M", horizon=h, methods=("naive", "snaive"), n_origins=2).fit().forecast()
    assert (fc["yhat_ci_low_95"] <= fc["yhat_ci_low_80"] + 1e-9).all()
    assert (fc["yhat_ci_high_80"] <= fc["yhat_ci_high_95"] + 1e-9).all()
    assert (fc["yhat_ci_low_80"] <= fc["yhat"] + 1e-9).all()
    assert (fc["yhat"] <= fc["yhat_ci_high_80"] + 1e-9).all()
    assert (fc.drop(columns=["ds", "method"]) >= 0).all().all()


@pytest.fixture
def reuse_short(monkeypatch):
    """Re-use parameters on these short test series too (by default only from 100 points on)."""
    import funnel_analysis.forecast.methods as fm

    monkeypatch.setattr(fm, "REUSE_MIN_POINTS", 20)


def test_backtest_uses_only_data_before_each_origin(reuse_short):
    # parameters are estimated at the first origin and re-used later: changing the points after an
    # origin must leave that origin's backtest forecasts unchanged (and the first origin's too)
    df = _monthly(40)
    y = df["y"].to_numpy().copy()
    models = ("es", "ets", "sarimax", "theta")

    def fit(v):
        series = pd.Series(v, index=df["ds"])
        return Forecaster(series, period="M", horizon=3, methods=models, n_origins=2).fit().backtest

    bt = fit(y)
    y2 = y.copy()
    y2[37:] += 500.0  # after the last origin (37 = 40 - 3)
    bt2 = fit(y2)
    pd.testing.assert_series_equal(bt["yhat"], bt2["yhat"])
    assert not np.allclose(bt["actual"], bt2["actual"])
    y3 = y.copy()
    y3[34:] += 500.0  # after the first origin only: the first origin's forecasts stay
    bt3 = fit(y3)
    first = bt["origin"] == 34
    assert np.allclose(bt.loc[first, "yhat"], bt3.loc[first, "yhat"])
    assert not np.allclose(bt.loc[~first, "yhat"], bt3.loc[~first, "yhat"])


def test_reused_parameters_reproduce_the_fit(reuse_short):
    y = _monthly(40)["y"].to_numpy()
    models = ["es", "ets", "sarimax", "theta"]
    fresh, params = _fit_methods(models, y, 12, 3, (0.8, 0.95))
    assert set(params) == set(models) | {"_stl", "_n"}
    again, _ = _fit_methods(models, y, 12, 3, (0.8, 0.95), params=params)
    for k in models:
        assert again[k]["mean"] == pytest.approx(fresh[k]["mean"]), k
        assert again[k]["bands"][0.95][0] == pytest.approx(fresh[k]["bands"][0.95][0]), k


def test_theta_forecast_and_interval_from_the_ses_errors():
    from scipy.stats import norm
    from statsmodels.tsa.forecasting.theta import ThetaModel

    y = _monthly(20)["y"].to_numpy()  # < 2 seasons: no STL, the model sees y itself
    fits, _ = _fit_methods(["theta"], y, 12, 2, (0.8,))
    res = ThetaModel(y, period=1, deseasonalize=False).fit()
    assert fits["theta"]["mean"] == pytest.approx(np.asarray(res.forecast(2)))  # the point forecast is statsmodels'
    alpha = res.params["alpha"]
    level, errs = y[0], []
    for v in y[1:]:
        errs.append(v - level)
        level = alpha * v + (1 - alpha) * level
    sd = np.std(errs, ddof=1) * np.sqrt([1, 1 + 1 + (alpha - 1) ** 2])
    lo, hi = fits["theta"]["bands"][0.8]
    assert (hi - lo) / 2 == pytest.approx(norm.ppf(0.9) * sd)


def test_parameters_are_estimated_anew_when_the_series_grew_a_lot_or_is_now_adjusted(reuse_short):
    y = _monthly(40)["y"].to_numpy()
    _, p36 = _fit_methods(["sarimax"], y[:36], 12, 3, (0.8,))
    _, p = _fit_methods(["sarimax"], y, 12, 3, (0.8,), params=p36)  # 36 >= 0.85 x 40: re-used
    assert np.array_equal(p["sarimax"], p36["sarimax"]) and p["_n"] == 36
    fresh, q = _fit_methods(["sarimax"], y, 12, 3, (0.8,))
    _, p28 = _fit_methods(["sarimax"], y[:28], 12, 3, (0.8,))
    reused, p = _fit_methods(["sarimax"], y, 12, 3, (0.8,), params=p28)  # 28 < 0.85 x 40: estimated anew
    assert reused["sarimax"]["mean"] == pytest.approx(fresh["sarimax"]["mean"]) and p["_n"] == 40
    _, p24 = _fit_methods(["sarimax"], y[:24], 12, 3, (0.8,))  # 24 < 2 x 12 + 1: no STL
    _, p = _fit_methods(["sarimax"], y[:26], 12, 3, (0.8,), params=p24)  # 24 >= 0.85 x 26, but now with STL
    _, p26 = _fit_methods(["sarimax"], y[:26], 12, 3, (0.8,))
    assert not p24["_stl"] and p["_stl"] and np.array_equal(p["sarimax"], p26["sarimax"])


def test_short_series_are_estimated_at_every_origin():
    from funnel_analysis.forecast.methods import REUSE_MIN_POINTS

    y = _monthly(40)["y"].to_numpy()
    _, p36 = _fit_methods(["sarimax"], y[:36], 12, 3, (0.8,))
    _, p = _fit_methods(["sarimax"], y, 12, 3, (0.8,), params=p36)
    assert REUSE_MIN_POINTS > 36 and p["_n"] == 40 and not np.array_equal(p["sarimax"], p36["sarimax"])


# --- where a series starts (bug 10: a sparse imported prologue before the org's real start) -----------------


def test_regular_start_drops_a_sparse_prologue_by_hand():
    # monthly: two stray months (5, 8), a gap, then regular bookings of about 100 from position 7.
    # 3-month windows: 5, 8, 8, 8, 0, 90, 200, 300, 305, 300, 300, 325, 310; the last four quarters
    # (windows 12, 9, 6, 3) are 310, 300, 200, 8 -> typical 250, sparse below 50: windows 0-4 -> start 7
    y = pd.Series([5.0, 0, 0, 8, 0, 0, 0, 90, 110, 100, 95, 105, 100, 120, 90])
    assert regular_start(y, period="M") == 7
    # no gap: [5, 0, 0, 8, 90, 110, 100, 95, 105, 100, 120, 90] -> windows 5, 8, 98, 208, 300, 305, 300, 300,
    # 325, 310; the last four quarters 310, 300, 208, 5 -> typical 254. share 0.2 (50.8): windows 0, 1 sparse,
    # the 8 just before the regular months is kept (its window holds 98); share 0.9 (228.6): windows 0-3
    y = pd.Series([5.0, 0, 0, 8, 90, 110, 100, 95, 105, 100, 120, 90])
    assert regular_start(y, period="M") == 3
    assert regular_start(y, period="M", share=0.9) == 4


def test_regular_start_keeps_zero_weeks_of_regular_activity():
    # weekly, 13-week windows: a lone week of 50 a year before; then 2 of every 3 weeks book 30 (zero weeks
    # are normal); "every period has bookings" would start at the end, the window rule at the first 30
    y = pd.Series([50.0] + [0.0] * 51 + [30.0, 30.0, 0.0] * 20)
    # a 13-week window of the regular part holds 8 or 9 weeks of 30: typical quarter 240-270, sparse below
    # 48-54. Window t covers weeks t..t+12: t = 40 holds one 30 (sparse), t = 41 two (60, regular). The last
    # sparse window is 40 -> the first non-zero week from 41 on is week 52
    assert regular_start(y, period="W") == 52


def test_regular_start_series_without_prologue_and_errors():
    assert regular_start(pd.Series([0.0, 0.0, 10.0, 12.0, 9.0, 11.0]), period="M") == 2  # leading zeros only
    assert regular_start(pd.Series([0.0, 0.0, 0.0]), period="Q") == 3  # nothing booked: nothing regular
    assert regular_start(pd.Series([7.0, 0.0, 9.0]), period="W") == 0  # shorter than one window
    with pytest.raises(ValueError, match="share must be strictly between 0 and 1"):
        regular_start(pd.Series([1.0, 2.0, 3.0]), period="M", share=1.5)
    with pytest.raises(ValueError, match="period must be one of"):
        regular_start(pd.Series([1.0, 2.0, 3.0]), period="D")
    with pytest.raises(ValueError, match="rule: not_finite / negative"):
        regular_start(pd.Series([1.0, -2.0, 3.0]), period="M")
