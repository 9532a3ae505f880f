"""Backtests: forecast from past as-of cuts and compare with what really closed.

For each past date ``d`` the org is rebuilt as it stood at the end of ``d``
(:meth:`~funnel_analysis.crm.CrmData.as_of`) and every method forecasts the bookings (won amount)
of the quarter ``lead`` quarters after the one containing ``d``; the actual is the won amount with a
close date in that quarter in the full org. Methods:

==========================  ===========================================================================
``pipeline``                :func:`~funnel_analysis.forecast.next_quarter.next_quarter_forecast` (won + learned
                            pipeline + new deals), with its 80 % and 95 % intervals
``configured_weighted``     baseline: won so far + open amount due in the quarter x configured stage
                            probability
``last_period``             baseline: bookings of the last quarter complete on ``d``
``seasonal_naive``          baseline: bookings of the same quarter one year earlier
``ts_<method>``             monthly bookings up to ``d`` forecast by one time-series method of
                            :mod:`funnel_analysis.forecast.timeseries`, summed over the quarter's months
``time_series``             the method the rolling-origin selection chose on that date
==========================  ===========================================================================

MASE: each absolute error divided by the in-sample mean absolute error of the seasonal naive
forecast of the quarterly bookings known on ``d`` (lag 4, or lag 1 with 5 quarters or fewer), so all
methods of one date share one scale; ``relative_mae`` is a method's MAE over the seasonal naive's
MAE on the same targets (below 1 beats it).

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> crm = fa.load_org("data/sample")  # doctest: +SKIP
>>> res = backtest_next_quarter(crm, dates=pd.date_range("2024-06-30", "2025-09-30", freq="QE"))  # doctest: +SKIP
>>> summarize_backtest(res)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._util.frames import flag as _flag
from .._util.frames import to_day as _to_day
from ..periods import fiscal_period
from .next_quarter import bookings_series, next_quarter_forecast, quarter_bounds
from .pipeline import _cutter
from .timeseries import Forecaster

__all__ = ["backtest_next_quarter", "summarize_backtest", "past_quarter_ends", "BASELINE_METHODS"]

#: The naive baselines every method must beat.
BASELINE_METHODS = ("configured_weighted", "last_period", "seasonal_naive")


def _quarterly(won: pd.DataFrame, day: pd.Timestamp, fy: int) -> pd.Series:
    """Won amount per fiscal quarter (start day), complete quarters up to ``day``."""
    close = pd.to_datetime(won["close_date"]).astype("datetime64[us]")
    starts = fiscal_period(close, period="Q", fiscal_year_start_month=fy)["period_start"]
    s = won["amount"].astype(float).fillna(0).groupby(starts.to_numpy()).sum()
    _, q0, q0_end = quarter_bounds(day, fiscal_year_start_month=fy)
    last = q0 if q0_end <= day else q0 - pd.DateOffset(months=3)
    full = pd.date_range(s.index.min(), last, freq=pd.DateOffset(months=3)) if len(s) else pd.DatetimeIndex([])
    return s.reindex(full, fill_value=0.0)


def past_quarter_ends(as_of, *, n: int = 6, lead: int = 1, fiscal_year_start_month: int = 1) -> list:
    """The last ``n`` fiscal quarter ends whose quarter ``lead`` ahead is over by ``as_of``, oldest first.

    Examples
    --------
    >>> [d.strftime("%Y-%m-%d") for d in past_quarter_ends("2025-12-31", n=2)]
    ['2025-06-30', '2025-09-30']
    """
    day = _to_day(as_of, "past_quarter_ends")
    if n < 1:
        raise ValueError(f"past_quarter_ends: n must be >= 1, got {n!r}")
    _, q0, q0_end = quarter_bounds(day, fiscal_year_start_month=fiscal_year_start_month)
    # the last quarter over by as_of is q0 when as_of is its last day, else the one before
    last_over = q0 if q0_end <= day else q0 - pd.DateOffset(months=3)
    ends = [
        last_over - pd.DateOffset(months=3 * (lead + k)) + pd.DateOffset(months=3) - pd.Timedelta(days=1)
        for k in range(n)
    ]
    return sorted(pd.Timestamp(e) for e in ends)


def backtest_next_quarter(
    crm,
    *,
    dates,
    lead: int = 1,
    fiscal_year_start_month: int = 1,
    ts_methods=("es", "ets", "sarimax", "theta", "combo"),
    ts_origins: int = 3,
    min_quarters: int = 4,
    progress: bool = False,
    cuts: dict | None = None,
    **forecast_options,
) -> pd.DataFrame:
    """Forecast the quarter ``lead`` quarters ahead from each past date, with every method.

    Parameters
    ----------
    crm : CrmData
        The full org: the actuals are its won deals.
    dates : sequence of dates
        The as-of dates; each target quarter must be over in the data.
    lead : int, default 1
        1 = the next quarter, 0 = the current one.
    ts_methods : sequence of str
        Time-series methods scored (empty: none).
    min_quarters : int, default 4
        Complete quarters of bookings needed on a date (the first ones of an org are its ramp-up).
    progress : bool
        A tqdm bar over the dates.
    **forecast_options
        Passed to :func:`~funnel_analysis.forecast.next_quarter.next_quarter_forecast`.

    Returns
    -------
    DataFrame
        One row per date and method: ``as_of``, ``fiscal_period``, ``lead``, ``method``, ``forecast``,
        ``actual``, ``error`` (forecast - actual), ``abs_error``, ``scaled_error`` (MASE term),
        ``lower_80``, ``upper_80``, ``lower_95``, ``upper_95`` (pipeline only), ``in_80``, ``in_95``.

    Raises
    ------
    ValueError
        A target quarter not over in the data, or too few complete quarters on a date.
    """
    fn = "backtest_next_quarter"
    cuts = {} if cuts is None else cuts  # one dict, shared with next_quarter_forecast
    cut_at = _cutter(crm, cuts)
    fy = fiscal_year_start_month
    opps = crm.opportunities
    won_all = opps[_flag(opps["is_won"]).to_numpy()]
    from ..crm.model import latest_date

    data_end = latest_date(crm)  # the export's date: a quarter ending later is not over
    items = [_to_day(d, fn, "dates") for d in dates]
    if not items:
        raise ValueError(f"{fn}: dates is empty")
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(items, desc="backtest", unit="date")
    rows = []
    for day in items:
        label, start, end = quarter_bounds(day, lead=lead, fiscal_year_start_month=fy)
        if end > data_end:
            raise ValueError(
                f"{fn}: the target quarter {label} of {day:%Y-%m-%d} is not over in the data "
                f"(latest date {data_end:%Y-%m-%d})"
            )
        close = pd.to_datetime(won_all["close_date"])
        actual = float(won_all.loc[((close >= start) & (close <= end)).to_numpy(), "amount"].astype(float).sum())
        cut = cut_at(day).opportunities
        won_then = cut[_flag(cut["is_won"]).to_numpy()]
        won_then = won_then[(pd.to_datetime(won_then["close_date"]) <= day).to_numpy()]
        q = _quarterly(won_then, day, fy)
        first = quarter_bounds(pd.to_datetime(won_then["close_date"]).quantile(0.01), fiscal_year_start_month=fy)[1]
        q = q[q.index >= first]  # as bookings_series: stray old deals do not start the history
        if len(q) < min_quarters:
            raise ValueError(
                f"{fn}: {len(q)} complete quarter(s) of bookings on {day:%Y-%m-%d}, at least {min_quarters} needed"
            )
        m = 4 if len(q) > 5 else 1
        vals = q.to_numpy()
        scale = float(np.mean(np.abs(vals[m:] - vals[:-m])))
        nq = next_quarter_forecast(
            crm, as_of=day, leads=(lead,), fiscal_year_start_month=fy, cuts=cuts, **forecast_options
        ).iloc[0]
        base = {
            "pipeline": nq["forecast"],
            "configured_weighted": nq["configured_weighted"],
            "last_period": float(q.iloc[-1]),
        }
        lag = pd.Timestamp(start) - pd.DateOffset(months=12)
        base["seasonal_naive"] = float(q.get(lag, np.nan))
        if ts_methods:
            monthly = bookings_series(cut, as_of=day, freq="M")
            h = (end.year - monthly.index[-1].year) * 12 + end.month - monthly.index[-1].month
            res = Forecaster(monthly, freq="M", horizon=h, methods=tuple(ts_methods), n_origins=ts_origins).fit()
            for meth in [*ts_methods, "time_series"]:
                fc = res.forecast(None if meth == "time_series" else meth)
                fc = fc[(fc["level"] == 80) & (fc["ds"] >= start) & (fc["ds"] <= end)]
                base[f"ts_{meth}" if meth != "time_series" else meth] = float(fc["yhat"].sum())
        for meth, value in base.items():
            row = {
                "as_of": day,
                "fiscal_period": label,
                "lead": lead,
                "method": meth,
                "forecast": value,
                "actual": actual,
                "mase_scale": scale,
            }
            if meth == "pipeline":
                row.update({k: nq[k] for k in ("lower_80", "upper_80", "lower_95", "upper_95")})
            rows.append(row)
    out = pd.DataFrame(rows)
    for c in ("lower_80", "upper_80", "lower_95", "upper_95"):
        out[c] = out.get(c, np.nan)
    out["error"] = out["forecast"] - out["actual"]
    out["abs_error"] = out["error"].abs()
    out["scaled_error"] = out["abs_error"] / out["mase_scale"]
    for lv in (80, 95):
        inside = (out["actual"] >= out[f"lower_{lv}"]) & (out["actual"] <= out[f"upper_{lv}"])
        out[f"in_{lv}"] = inside.where(out[f"lower_{lv}"].notna())
    return out


def summarize_backtest(results: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per method (and lead): error, bias, MASE, MAE relative to seasonal naive, coverage.

    Returns
    -------
    DataFrame
        Per ``lead`` and ``method``: ``n``, ``mae``, ``mape`` (mean |error| / actual), ``bias``
        (mean error), ``mase``, ``relative_mae`` (MAE / seasonal naive MAE on the same targets),
        ``coverage_80``, ``coverage_95`` (pipeline only), ``beats_all_baselines`` (lower MASE than
        every baseline).

    Examples
    --------
    >>> r = pd.DataFrame({"lead": 1, "method": ["pipeline", "seasonal_naive"], "forecast": [9.0, 14.0],
    ...                   "actual": 10.0, "mase_scale": 2.0, "in_80": [True, None], "in_95": [True, None]})
    >>> summarize_backtest(r)[["method", "mase", "relative_mae"]]
               method  mase  relative_mae
    0        pipeline   0.5          0.25
    1  seasonal_naive   2.0          1.00
    """
    if results.empty:
        raise ValueError("summarize_backtest: no backtest rows")
    r = results.assign(error=results["forecast"] - results["actual"])
    r = r.assign(
        abs_error=r["error"].abs(),
        scaled_error=r["error"].abs() / r["mase_scale"],
        ape=r["error"].abs() / r["actual"].where(r["actual"] > 0),
    )
    g = r.groupby(["lead", "method"], sort=False)
    out = pd.DataFrame(
        {
            "n": g.size(),
            "mae": g["abs_error"].mean(),
            "mape": g["ape"].mean(),
            "bias": g["error"].mean(),
            "mase": g["scaled_error"].mean(),
            "coverage_80": g["in_80"].agg(lambda s: s.dropna().astype(float).mean()),
            "coverage_95": g["in_95"].agg(lambda s: s.dropna().astype(float).mean()),
        }
    ).reset_index()
    sn = out[out["method"] == "seasonal_naive"].set_index("lead")["mae"]
    out["relative_mae"] = out["mae"] / out["lead"].map(sn)
    best_base = out[out["method"].isin(BASELINE_METHODS)].groupby("lead")["mase"].min()
    out["beats_all_baselines"] = out["mase"] < out["lead"].map(best_base)
    cols = [
        "lead",
        "method",
        "n",
        "mae",
        "mape",
        "bias",
        "mase",
        "relative_mae",
        "coverage_80",
        "coverage_95",
        "beats_all_baselines",
    ]
    return out[cols]
