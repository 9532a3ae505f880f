"""Forecast charts: they draw what they are given on the axes passed, and refuse tables they cannot draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from funnel_analysis.forecast.plots import (  # noqa: E402
    plot_backtest_accuracy,
    plot_calibration,
    plot_fan_chart,
    plot_forecast_categories,
    plot_next_quarter,
    plot_weighted_pipeline,
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_fan_chart_bands_and_own_axes():
    hist = pd.Series([5.0, 6, 7], index=pd.date_range("2024-01-01", periods=3, freq="MS"))
    fc = pd.DataFrame(
        {
            "ds": pd.to_datetime(["2024-04-01", "2024-05-01"]),
            "yhat": 8.0,
            "yhat_ci_low_80": 7.0,
            "yhat_ci_high_80": 9.0,
            "yhat_ci_low_95": 6.0,
            "yhat_ci_high_95": 10.0,
            "method": "theta",
        }
    )
    _, ax = plt.subplots()
    assert plot_fan_chart(hist, fc, ax=ax) is ax
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["actual", "forecast", "95% interval", "80% interval"] or set(labels) == {
        "actual",
        "forecast",
        "95% interval",
        "80% interval",
    }
    assert ax.lines[0].get_ydata().tolist() == [5.0, 6.0, 7.0]
    assert ax.get_title() == "Forecast (theta) with 80% and 95% intervals"
    # the 95 % band spans 6-10: its polygon's y range
    ys = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert (ys.min(), ys.max()) == (6.0, 10.0)
    # one level: bare column names, one band
    one = fc.drop(columns=["yhat_ci_low_95", "yhat_ci_high_95"]).rename(
        columns={"yhat_ci_low_80": "yhat_ci_low", "yhat_ci_high_80": "yhat_ci_high"}
    )
    ax1 = plot_fan_chart(hist, one)
    assert len(ax1.collections) == 1 and ax1.get_title() == "Forecast (theta) with its interval"
    with pytest.raises(ValueError, match="yhat_ci_low"):
        plot_fan_chart(hist, fc.drop(columns=["yhat_ci_low_80", "yhat_ci_low_95"]))
    # what the series left out: one line under the chart, nothing when there is no note
    noted = plot_fan_chart(hist, fc, note="Left out before 2023-02-01: 2 won deals")
    assert [t.get_text() for t in noted.texts] == ["Left out before 2023-02-01: 2 won deals"]
    assert len(plot_fan_chart(hist, fc).texts) == 0


def test_next_quarter_bars_stack_to_the_forecast():
    nq = pd.DataFrame(
        {
            "fiscal_period": ["FY2025-Q1", "FY2025-Q2"],
            "won_to_date": [100.0, 0.0],
            "pipeline_expected": [50.0, 80.0],
            "new_deals_expected": [10.0, 60.0],
            "forecast": [160.0, 140.0],
            "forecast_ci_low_80": [150.0, 100.0],
            "forecast_ci_high_80": [170.0, 190.0],
        }
    )
    ax = plot_next_quarter(nq)
    tops = {}
    for bar in ax.patches:
        x = round(bar.get_x() + bar.get_width() / 2)
        tops[x] = max(tops.get(x, 0), bar.get_y() + bar.get_height())
    assert tops == {0: pytest.approx(160.0), 1: pytest.approx(140.0)}
    with pytest.raises(ValueError, match="forecast_ci_low"):
        plot_next_quarter(nq.drop(columns="forecast_ci_low_80"))


def test_weighted_pipeline_two_sources():
    wp = pd.DataFrame(
        {
            "fiscal_period": ["FY2025-Q1", "FY2025-Q1"],
            "open_amount": [1000.0, 1000.0],
            "weighted_amount": [200.0, 350.0],
            "probabilities": ["configured", "learned"],
        }
    )
    ax = plot_weighted_pipeline(wp)
    heights = sorted(round(b.get_height()) for b in ax.patches)
    assert heights == [200, 350, 1000]
    with pytest.raises(TypeError):
        plot_weighted_pipeline("not a table")


def test_backtest_accuracy_sorted_with_reference_line():
    s = pd.DataFrame({"method": ["pipeline", "seasonal_naive", "last_period"], "mase": [0.3, 0.7, 0.5], "n": 6})
    ax = plot_backtest_accuracy(s)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["pipeline", "last_period", "seasonal_naive"]
    assert ax.lines[0].get_xdata()[0] == pytest.approx(0.7)
    assert "6 quarters" in ax.get_title()
    with pytest.raises(ValueError, match="mase"):
        plot_backtest_accuracy(s.drop(columns="mase"))


def test_calibration_points():
    cal = pd.DataFrame(
        {
            "probabilities": ["configured", "configured"],
            "mean_predicted": [0.2, 0.6],
            "observed": [0.25, 0.5],
            "observed_ci_low": [0.1, 0.3],
            "observed_ci_high": [0.4, 0.7],
            "n": [20, 10],
        }
    )
    ax = plot_calibration(cal)
    assert np.allclose(ax.lines[1].get_ydata(), [0.25, 0.5])
    with pytest.raises(ValueError, match="observed"):
        plot_calibration(cal.drop(columns="observed"))


def test_forecast_categories_stack_without_omitted():
    cats = pd.DataFrame(
        {
            "fiscal_period": ["FY2025-Q1"] * 5,
            "forecast_category": ["Closed", "Commit", "Best Case", "Pipeline", "Omitted"],
            "amount": [100.0, 50.0, 20.0, 30.0, 999.0],
        }
    )
    ax = plot_forecast_categories(cats)
    assert max(b.get_y() + b.get_height() for b in ax.patches) == pytest.approx(200.0)
    with pytest.raises(ValueError, match="forecast_category"):
        plot_forecast_categories(cats.drop(columns="forecast_category"))


def test_slipped_pipeline_open_and_expected_bars():
    from funnel_analysis._util.missing import mark_missing
    from funnel_analysis.forecast.plots import plot_slipped_pipeline

    t = pd.DataFrame(
        {
            "slip_history": ["slipped before", "never slipped"],
            "open_amount": [5e5, 9e5],
            "expected_amount": [1e5, float("nan")],
            "amount_win_rate": [0.2, float("nan")],
        }
    )
    ax = plot_slipped_pipeline(t, currency="€")
    assert sorted(p.get_width() for p in ax.patches) == [0.0, 1e5, 5e5, 9e5]
    texts = [x.get_text().strip() for x in ax.texts]
    assert "won 20% of the amount before" in texts and "no closed deal yet" in texts
    assert "€" in ax.xaxis.get_major_formatter()(1e5, 0)
    gone = plot_slipped_pipeline(mark_missing(t.iloc[:0], "OpportunityFieldHistory is absent"))
    assert gone.texts[0].get_text() == "OpportunityFieldHistory is absent"
    with pytest.raises(ValueError):
        plot_slipped_pipeline(t.drop(columns="open_amount"))
