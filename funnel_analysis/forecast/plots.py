"""Charts for forecasts: fan chart, next-quarter bars, weighted pipeline, backtest accuracy, calibration.

Each function draws on ``ax`` (a new figure when ``None``), returns the axes and never calls
``show()``.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> hist = pd.Series([5.0, 6, 7], index=pd.date_range("2024-01-01", periods=3, freq="MS"))
>>> fc = pd.DataFrame({"ds": pd.to_datetime(["2024-04-01"] * 2), "level": [80, 95], "yhat": 8.0,
...                    "yhat_lower": [7.0, 6.0], "yhat_upper": [9.0, 10.0], "method": "ets"})
>>> plot_fan_chart(hist, fc).get_title()
'Forecast (ets) with 80% and 95% intervals'
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, PercentFormatter

from .._util.plotting import axes as _axes
from .._util.plotting import money

__all__ = [
    "plot_fan_chart",
    "plot_next_quarter",
    "plot_weighted_pipeline",
    "plot_backtest_accuracy",
    "plot_calibration",
    "plot_forecast_categories",
]


def _need(df, cols, fn):
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{fn}: expected a DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{fn}: missing column(s) {missing}; got {list(df.columns)}")


def _money_axis(ax, axis="y", currency="$"):
    fmt = FuncFormatter(lambda v, _: money(v, currency))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def plot_fan_chart(
    history: pd.Series, forecast: pd.DataFrame, ax=None, *, currency: str | None = "$", title: str | None = None
):
    """History as a line, the forecast with its 95 % and 80 % bands (from ``ForecastResults.forecast``)."""
    _need(forecast, ["ds", "level", "yhat", "yhat_lower", "yhat_upper"], "plot_fan_chart")
    ax = _axes(ax)
    ax.plot(history.index, history.to_numpy(), color="#333333", lw=1.5, label="actual")
    for lv, alpha in ((95, 0.2), (80, 0.35)):
        band = forecast[forecast["level"] == lv].sort_values("ds")
        if len(band):
            ax.fill_between(
                band["ds"],
                band["yhat_lower"],
                band["yhat_upper"],
                color="#3182bd",
                alpha=alpha,
                lw=0,
                label=f"{lv}% interval",
            )
    mid = forecast.drop_duplicates("ds").sort_values("ds")
    ax.plot(mid["ds"], mid["yhat"], color="#3182bd", lw=2, label="forecast")
    method = forecast["method"].iloc[0] if "method" in forecast and len(forecast) else "forecast"
    ax.set_title(title or f"Forecast ({method}) with 80% and 95% intervals")
    if currency:
        _money_axis(ax, currency=currency)
    ax.legend(loc="upper left")
    return ax


def plot_next_quarter(nq: pd.DataFrame, ax=None, *, currency: str = "$", title: str | None = None):
    """Stacked bars per quarter (won so far, open pipeline, new deals) with the 80 % interval."""
    _need(
        nq,
        ["fiscal_period", "won_to_date", "pipeline_expected", "new_deals_expected", "forecast", "lower_80", "upper_80"],
        "plot_next_quarter",
    )
    ax = _axes(ax, (7, 4.5))
    x = np.arange(len(nq))
    bottom = np.zeros(len(nq))
    for col, label, color in (
        ("won_to_date", "won so far", "#31a354"),
        ("pipeline_expected", "open pipeline", "#6baed6"),
        ("new_deals_expected", "deals not yet created", "#fdae6b"),
    ):
        ax.bar(x, nq[col], bottom=bottom, color=color, label=label, width=0.6)
        bottom += nq[col].to_numpy()
    err = np.vstack([nq["forecast"] - nq["lower_80"], nq["upper_80"] - nq["forecast"]])
    ax.errorbar(x, nq["forecast"], yerr=err, fmt="o", color="black", capsize=6, label="forecast, 80% interval")
    ax.set_xticks(x, nq["fiscal_period"])
    _money_axis(ax, currency=currency)
    ax.set_title(title or "Expected revenue by quarter")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_weighted_pipeline(wp: pd.DataFrame, ax=None, *, currency: str = "$", title: str | None = None):
    """Open and weighted amount per close period; several probability sets side by side."""
    _need(wp, ["fiscal_period", "open_amount", "weighted_amount", "probabilities"], "plot_weighted_pipeline")
    ax = _axes(ax)
    t = wp.groupby(["fiscal_period", "probabilities"])[["open_amount", "weighted_amount"]].sum().reset_index()
    periods = sorted(t["fiscal_period"].unique())
    sources = sorted(t["probabilities"].unique())
    x = np.arange(len(periods))
    opens = t.groupby("fiscal_period")["open_amount"].max().reindex(periods)
    ax.bar(x, opens, width=0.8, color="#deebf7", label="open amount")
    w = 0.8 / max(len(sources), 1)
    for i, src in enumerate(sources):
        vals = t[t["probabilities"] == src].set_index("fiscal_period")["weighted_amount"].reindex(periods)
        ax.bar(x - 0.4 + w * (i + 0.5), vals, width=w * 0.9, label=f"weighted ({src})")
    ax.set_xticks(x, periods, rotation=45 if len(periods) > 6 else 0)
    _money_axis(ax, currency=currency)
    ax.set_title(title or "Open pipeline by close period, weighted by win probability")
    ax.legend()
    return ax


def plot_backtest_accuracy(summary: pd.DataFrame, ax=None, *, title: str | None = None):
    """MASE per method (lower is better), baselines in grey, a line at the seasonal naive's."""
    _need(summary, ["method", "mase"], "plot_backtest_accuracy")
    from .backtest import BASELINE_METHODS

    ax = _axes(ax)
    s = summary.sort_values("mase")
    colors = ["#bdbdbd" if m in BASELINE_METHODS else "#3182bd" for m in s["method"]]
    ax.barh(s["method"], s["mase"], color=colors)
    sn = s.loc[s["method"] == "seasonal_naive", "mase"]
    if len(sn):
        ax.axvline(sn.iloc[0], color="black", ls="--", lw=1, label="seasonal naive")
        ax.legend(loc="lower right")
    ax.invert_yaxis()
    n = int(summary["n"].max()) if "n" in summary else None
    ax.set_xlabel("MASE (mean absolute error / seasonal naive in-sample error)")
    ax.set_title(title or f"Backtest accuracy by method{f' over {n} quarters' if n else ''}")
    return ax


def plot_calibration(cal: pd.DataFrame, ax=None, *, title: str | None = None):
    """Observed win share against predicted probability per bin, with 95 % intervals, per source."""
    _need(cal, ["probabilities", "mean_predicted", "observed", "ci_low", "ci_high", "n"], "plot_calibration")
    ax = _axes(ax, (5.5, 5))
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfect calibration")
    for src, d in cal.groupby("probabilities"):
        yerr = np.vstack([d["observed"] - d["ci_low"], d["ci_high"] - d["observed"]])
        ax.errorbar(d["mean_predicted"], d["observed"], yerr=yerr, fmt="o-", capsize=3, label=src)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1))
    ax.yaxis.set_major_formatter(PercentFormatter(1))
    ax.set_xlabel("predicted probability of winning in the period")
    ax.set_ylabel("share that won in the period")
    ax.set_title(title or "Calibration of stage probabilities")
    ax.legend(loc="upper left")
    return ax


def plot_forecast_categories(cats: pd.DataFrame, ax=None, *, currency: str = "$", title: str | None = None):
    """Stacked amount per period by forecast category (Closed, Commit, Best Case, Pipeline)."""
    _need(cats, ["fiscal_period", "forecast_category", "amount"], "plot_forecast_categories")
    from .pipeline import CATEGORIES

    ax = _axes(ax)
    t = cats.pivot_table(
        index="fiscal_period", columns="forecast_category", values="amount", aggfunc="sum", fill_value=0
    )
    order = [c for c in CATEGORIES if c in t.columns and c != "Omitted"]
    colors = {"Closed": "#31a354", "Commit": "#3182bd", "Best Case": "#9ecae1", "Pipeline": "#deebf7"}
    bottom = np.zeros(len(t))
    for c in order:
        ax.bar(t.index, t[c], bottom=bottom, label=c, color=colors[c])
        bottom += t[c].to_numpy()
    _money_axis(ax, currency=currency)
    ax.tick_params(axis="x", rotation=45 if len(t) > 6 else 0)
    ax.set_title(title or "Forecast categories by close period")
    ax.legend()
    return ax
