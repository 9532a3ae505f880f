"""Charts for forecasts: fan chart, next-quarter bars, weighted pipeline, backtest accuracy, calibration.

Each function draws on ``ax`` (a new figure when ``None``), returns the axes and never calls
``show()``.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> hist = pd.Series([5.0, 6, 7], index=pd.date_range("2024-01-01", periods=3, freq="MS"))
>>> fc = pd.DataFrame({"ds": pd.to_datetime(["2024-04-01"]), "yhat": 8.0, "yhat_ci_low_80": 7.0,
...                    "yhat_ci_high_80": 9.0, "yhat_ci_low_95": 6.0, "yhat_ci_high_95": 10.0, "method": "ets"})
>>> plot_fan_chart(hist, fc).get_title()
'Forecast (ets) with 80% and 95% intervals'
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, PercentFormatter

from .._util.missing import missing_axes, missing_reason
from .._util.plotting import axes as _axes
from .._util.plotting import money

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "plot_fan_chart",
    "plot_next_quarter",
    "plot_weighted_pipeline",
    "plot_backtest_accuracy",
    "plot_calibration",
    "plot_forecast_categories",
    "plot_slipped_pipeline",
]


def _need(df, cols, fn):
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{fn}: expected a DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{fn}: missing column(s) {missing}; got {list(df.columns)}")


def _intervals(df: pd.DataFrame, x: str, fn: str) -> list[tuple[str, str, str]]:
    """(label "80%", low column, high column) of every interval of ``x`` in ``df``, narrowest first."""
    found = []
    for c in df.columns:
        m = re.fullmatch(rf"{re.escape(x)}_ci_low(_(\d+(?:\.\d+)?))?", c)
        high = f"{x}_ci_high{m.group(1) or ''}" if m else None
        if high in df.columns:
            level = m.group(2)
            found.append((float(level or 0), f"{level}%" if level else "", c, high))
    if not found:
        raise ValueError(f"{fn}: no interval columns {x}_ci_low_<level>, {x}_ci_high_<level>; got {list(df.columns)}")
    return [(label, low, high) for _, label, low, high in sorted(found)]


def _money_axis(ax, axis="y", currency="$"):
    fmt = FuncFormatter(lambda v, _: money(v, currency))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def plot_fan_chart(
    history: pd.Series,
    forecast: pd.DataFrame,
    *,
    ax=None,
    currency: str | None = "$",
    title: str | None = None,
    note: str = "",
) -> Axes:
    """History as a line, the forecast with its interval bands (from ``ForecastResults.forecast``).

    Parameters
    ----------
    history : Series
        The series forecast, indexed by date.
    forecast : DataFrame
        ``ds``, ``yhat`` and the interval columns ``yhat_ci_low_<level>``/``yhat_ci_high_<level>``
        (or one pair ``yhat_ci_low``/``yhat_ci_high``), ``method``.
    ax : Axes, optional
        Where to draw; a new figure when omitted.
    currency : str or None, default "$"
        Money format of the y axis; ``None`` for plain numbers.
    title : str, optional
        The default names the method and the levels.
    note : str, optional
        One line under the chart, e.g. what the series left out (:attr:`BookingsForecast.note
        <funnel_analysis.forecast.report.BookingsForecast>`).

    Returns
    -------
    Axes
        The chart.
    """
    _need(forecast, ["ds", "yhat"], "plot_fan_chart")
    bands = _intervals(forecast, "yhat", "plot_fan_chart")
    ax = _axes(ax)
    ax.plot(history.index, history.to_numpy(), color="#333333", lw=1.5, label="actual")
    mid = forecast.sort_values("ds")
    for i, (label, low, high) in enumerate(reversed(bands)):  # the widest first, underneath
        ax.fill_between(
            mid["ds"],
            mid[low],
            mid[high],
            color="#3182bd",
            alpha=0.2 + 0.15 * i,
            lw=0,
            label=f"{label} interval".strip(),
        )
    ax.plot(mid["ds"], mid["yhat"], color="#3182bd", lw=2, label="forecast")
    method = forecast["method"].iloc[0] if "method" in forecast and len(forecast) else "forecast"
    levels = " and ".join(label for label, _, _ in bands if label)
    ax.set_title(title or f"Forecast ({method}) with {levels or 'its'} interval{'s' if len(bands) > 1 else ''}")
    if currency:
        _money_axis(ax, currency=currency)
    ax.legend(loc="upper left")
    if note:
        ax.annotate(
            note, xy=(0, 0), xycoords="axes fraction", xytext=(0, -28), textcoords="offset points",
            va="top", fontsize=8, color="#555555", wrap=True, annotation_clip=False,
        )  # fmt: skip
    return ax


def plot_next_quarter(nq: pd.DataFrame, *, ax=None, currency: str = "$", title: str | None = None) -> Axes:
    """Stacked bars per quarter (won so far, open pipeline, new deals) with the narrowest interval.

    Parameters
    ----------
    nq : DataFrame
        From :func:`~funnel_analysis.forecast.next_quarter.next_quarter_forecast`: ``fiscal_period``,
        ``won_to_date``, ``pipeline_expected``, ``new_deals_expected``, ``forecast`` and
        ``forecast_ci_low_<level>``/``forecast_ci_high_<level>``.
    ax : Axes, optional
        Where to draw; a new figure when omitted.
    currency : str, default "$"
        Money format of the y axis.
    title : str, optional
        Chart title.

    Returns
    -------
    Axes
        The chart.
    """
    _need(
        nq,
        ["fiscal_period", "won_to_date", "pipeline_expected", "new_deals_expected", "forecast"],
        "plot_next_quarter",
    )
    label, low, high = _intervals(nq, "forecast", "plot_next_quarter")[0]
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
    err = np.vstack([nq["forecast"] - nq[low], nq[high] - nq["forecast"]])
    ax.errorbar(x, nq["forecast"], yerr=err, fmt="o", color="black", capsize=6, label=f"forecast, {label} interval")
    ax.set_xticks(x, nq["fiscal_period"])
    _money_axis(ax, currency=currency)
    ax.set_title(title or "Expected revenue by quarter")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def plot_weighted_pipeline(wp: pd.DataFrame, *, ax=None, currency: str = "$", title: str | None = None) -> Axes:
    """Open and weighted amount per close period; several probability sets side by side.

    Parameters
    ----------
    wp : DataFrame
        From :func:`~funnel_analysis.forecast.pipeline.weighted_pipeline` (several concatenated):
        ``fiscal_period``, ``open_amount``, ``weighted_amount``, ``probabilities``; segments are summed.
    ax : Axes, optional
        Where to draw; a new figure when omitted.
    currency : str, default "$"
        Money format of the y axis.
    title : str, optional
        Chart title.

    Returns
    -------
    Axes
        The chart.
    """
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


def plot_backtest_accuracy(summary: pd.DataFrame, *, ax=None, title: str | None = None) -> Axes:
    """MASE per method (lower is better), baselines in grey, a line at the seasonal naive's.

    Parameters
    ----------
    summary : DataFrame
        From :func:`~funnel_analysis.forecast.backtest.summarize_backtest`: ``method``, ``mase`` (``n``).
    ax : Axes, optional
        Where to draw; a new figure when omitted.
    title : str, optional
        Chart title.

    Returns
    -------
    Axes
        The chart.
    """
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


def plot_calibration(cal: pd.DataFrame, *, ax=None, title: str | None = None) -> Axes:
    """Observed win share against predicted probability per bin, with its interval, per source.

    Parameters
    ----------
    cal : DataFrame
        From :func:`~funnel_analysis.forecast.pipeline.probability_calibration`: ``probabilities``,
        ``mean_predicted``, ``observed``, ``observed_ci_low``, ``observed_ci_high``, ``n``.
    ax : Axes, optional
        Where to draw; a new figure when omitted.
    title : str, optional
        Chart title.

    Returns
    -------
    Axes
        The chart.
    """
    _need(
        cal,
        ["probabilities", "mean_predicted", "observed", "observed_ci_low", "observed_ci_high", "n"],
        "plot_calibration",
    )
    ax = _axes(ax, (5.5, 5))
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfect calibration")
    for src, d in cal.groupby("probabilities"):
        yerr = np.vstack([d["observed"] - d["observed_ci_low"], d["observed_ci_high"] - d["observed"]])
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


def plot_forecast_categories(cats: pd.DataFrame, *, ax=None, currency: str = "$", title: str | None = None) -> Axes:
    """Stacked amount per period by forecast category (Closed, Commit, Best Case, Pipeline).

    Parameters
    ----------
    cats : DataFrame
        From :func:`~funnel_analysis.forecast.pipeline.forecast_categories`: ``fiscal_period``,
        ``forecast_category``, ``amount``; segments are summed.
    ax : Axes, optional
        Where to draw; a new figure when omitted.
    currency : str, default "$"
        Money format of the y axis.
    title : str, optional
        Chart title.

    Returns
    -------
    Axes
        The chart.
    """
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


def plot_slipped_pipeline(slipped: pd.DataFrame, *, ax=None, currency: str = "$", title: str | None = None) -> Axes:
    """The open amount of each slip history beside what it would bring at its past amount win rate.

    Parameters
    ----------
    slipped : DataFrame
        :func:`~funnel_analysis.forecast.report.slipped_pipeline` (``slip_history``, ``open_amount``,
        ``expected_amount``, ``amount_win_rate``). A table marked missing (no field history) is
        drawn as its one-line reason.
    ax : Axes, optional
        Where to draw; a new figure when omitted.
    currency : str, default "$"
        Money format of the x axis.
    title : str, optional
        Chart title.

    Returns
    -------
    Axes
        Horizontal bars: the open amount (light) and the expected amount (dark) per history, the
        amount win rate written beside.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> t = pd.DataFrame({"slip_history": ["slipped before", "never slipped"], "open_amount": [5e5, 9e5],
    ...                   "expected_amount": [1e5, 3e5], "amount_win_rate": [0.2, 0.33]})
    >>> plot_slipped_pipeline(t, currency="€").get_title()
    'Open pipeline of deals that slipped before, at the win rate of deals like them'
    """
    title = title or "Open pipeline of deals that slipped before, at the win rate of deals like them"
    if missing_reason(slipped):
        return missing_axes(_axes(ax), missing_reason(slipped), title=title)
    _need(slipped, ["slip_history", "open_amount", "expected_amount", "amount_win_rate"], "plot_slipped_pipeline")
    ax = _axes(ax, size=(8, 1.4 + 0.7 * len(slipped)))
    d = slipped.reset_index(drop=True)
    y = np.arange(len(d))[::-1]
    ax.barh(y, d["open_amount"].to_numpy("float64"), height=0.7, color="#deebf7", label="open amount")
    expected = d["expected_amount"].to_numpy("float64")
    ax.barh(y, np.nan_to_num(expected), height=0.4, color="C0", label="at the past amount win rate")
    for yi, amount, rate in zip(y, d["open_amount"], d["amount_win_rate"]):
        label = "no closed deal yet" if pd.isna(rate) else f"won {rate:.0%} of the amount before"
        ax.text(float(amount), yi, f"  {label}", va="center", fontsize=9)
    ax.set_yticks(y, d["slip_history"])
    _money_axis(ax, axis="x", currency=currency)
    ax.set_title(title)
    ax.legend(loc="lower right")
    return ax
