"""Backtests: forecast from past as-of cuts and compare with what really closed.

For each past date ``d`` the org is rebuilt as it stood at the end of ``d``
(:meth:`~funnel_analysis.crm.CrmData.as_of`) and every method forecasts the bookings (won amount)
of the quarter ``quarters_ahead`` quarters after the one containing ``d``; the actual is the won amount with a
close date in that quarter in the full org. Every series of a day (the quarterly bookings of the
baselines and of the MASE scale, the monthly bookings of the time-series methods) starts where regular
bookings start (:func:`~funnel_analysis.forecast.timeseries.regular_start` on the org's monthly won amount,
whatever ``where`` selects); the won deals before it are left out, and each row says what was. Methods:

==========================  ===========================================================================
``pipeline``                :func:`~funnel_analysis.forecast.next_quarter.next_quarter_forecast` (won + learned
                            pipeline + new deals), with its intervals (80 % and 95 % by default)
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
>>> res = backtest_next_quarter(crm, as_of=past_quarter_ends(as_of="2025-12-31", n=6))  # doctest: +SKIP
>>> summarize_backtest(res)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from .._util.frames import flag as _flag
from .._util.frames import to_day as _to_day
from ..periods import OutsideFiscalCalendar, fiscal_period
from .next_quarter import _bounds, _regular_on, next_quarter_forecast
from .pipeline import AGE_BINS, _opportunities
from .timeseries import CONFIDENCE, Forecaster, _interval_columns, _percent

__all__ = ["backtest_next_quarter", "summarize_backtest", "past_quarter_ends", "BASELINE_METHODS"]

#: The naive baselines every method must beat.
BASELINE_METHODS = ("configured_weighted", "last_period", "seasonal_naive")


def _quarterly(won: pd.DataFrame, day: pd.Timestamp, fy: int) -> pd.Series:
    """Won amount per fiscal quarter (start day), complete quarters up to ``day``."""
    close = pd.to_datetime(won["close_date"]).astype("datetime64[us]")
    starts = fiscal_period(close, period="Q", fiscal_year_start_month=fy)["period_start"]
    s = won["amount"].astype(float).fillna(0).groupby(starts.to_numpy()).sum()
    _, q0, q0_end = _bounds(day, 0, fy)
    k = 0 if q0_end <= day else -1
    full = []
    while len(s):  # the quarters from the first won one to the last complete one, newest first
        start = _bounds(day, k, fy)[1]
        if start < s.index.min():
            break
        full.append(start)
        k -= 1
    return s.reindex(pd.DatetimeIndex(full[::-1]), fill_value=0.0)


def past_quarter_ends(
    *, as_of, n: int = 6, quarters_ahead: int = 1, fiscal_year_start_month: int = 1
) -> pd.DatetimeIndex:
    """The last ``n`` fiscal quarter ends whose quarter ``quarters_ahead`` ahead is over by ``as_of``.

    The days a backtest seen from ``as_of`` can forecast from: each target quarter is over.

    Parameters
    ----------
    as_of : date
        The last day known.
    n : int, default 6
        How many quarter ends.
    quarters_ahead : int, default 1
        The target quarter of each day: 1 = the next quarter, 0 = the current one.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.

    Returns
    -------
    DatetimeIndex
        The quarter ends (naive days), oldest first.

    Raises
    ------
    ValueError
        ``n`` below 1 or an ``as_of`` that is not a date.

    Examples
    --------
    >>> past_quarter_ends(as_of="2025-12-31", n=2).strftime("%Y-%m-%d").tolist()
    ['2025-06-30', '2025-09-30']
    """
    day = _to_day(as_of, "past_quarter_ends")
    if n < 1:
        raise ValueError(f"past_quarter_ends: n must be >= 1, got {n!r}")
    _, q0, q0_end = _bounds(day, 0, fiscal_year_start_month)
    # the last quarter over by as_of is q0 when as_of is its last day, else the one before
    last_over = 0 if q0_end <= day else -1
    ends = [_bounds(day, last_over - quarters_ahead - k, fiscal_year_start_month)[2] for k in range(n)]
    return pd.DatetimeIndex(sorted(pd.Timestamp(e) for e in ends), name="as_of")


def _method_list(methods) -> tuple[str, ...]:
    """Methods as a tuple: a sequence, or one comma-separated string (``"ets,theta"``); empty: none."""
    if methods is None:
        return ()
    if isinstance(methods, str):
        methods = methods.split(",")
    return tuple(m.strip() for m in methods if m and m.strip())


def backtest_next_quarter(
    crm,
    *,
    as_of,
    where=None,
    quarters_ahead: int = 1,
    fiscal_year_start_month: int = 1,
    ts_methods=("es", "ets", "sarimax", "theta", "combo"),
    ts_origins: int = 3,
    min_quarters: int = 4,
    confidence=CONFIDENCE,
    age_bins=AGE_BINS,
    prior_weight: float = 10.0,
    run_rate_days: int = 182,
    progress: bool = False,
) -> pd.DataFrame:
    """Forecast the quarter ``quarters_ahead`` quarters ahead from each past day, with every method.

    Parameters
    ----------
    crm : CrmData
        The full org: the actuals are its won deals.
    as_of : sequence of dates
        The days forecast from (:func:`past_quarter_ends`); each target quarter must be over in the data.
    where : str, optional
        Only the opportunities this expression selects (:mod:`funnel_analysis.crm.expression`): on each
        day's cut for the forecasts, on the org for the actuals.
    quarters_ahead : int, default 1
        1 = the next quarter, 0 = the current one.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    ts_methods : sequence of str or str
        Time-series methods scored, a sequence or one comma-separated string (empty: none). A day
        whose regular monthly bookings are too few for them (rule ``too_short``) has no row of theirs:
        their ``n`` in :func:`summarize_backtest` counts the days they forecast.
    ts_origins : int, default 3
        Backtest origins of the time-series method choice on each day.
    min_quarters : int, default 4
        Complete quarters of bookings needed on a day (the first ones of an org are its ramp-up).
    confidence : sequence of float, default (0.8, 0.95)
        Interval levels (fractions) of the pipeline forecast.
    age_bins, prior_weight, run_rate_days
        Passed to :func:`~funnel_analysis.forecast.next_quarter.next_quarter_forecast`.
    progress : bool
        A tqdm bar over the days.

    Returns
    -------
    DataFrame
        One row per day and method: ``as_of``, ``fiscal_period``, ``quarters_ahead``, ``method``,
        ``forecast``, ``actual``, ``mase_scale``, ``forecast_ci_low_80``, ``forecast_ci_high_80``,
        ``forecast_ci_low_95``, ``forecast_ci_high_95`` (pipeline only), ``error`` (forecast - actual),
        ``abs_error``, ``scaled_error`` (MASE term), ``in_80``, ``in_95`` (actual inside the interval), and
        what the day's series left out, the same for every method of a day: ``left_out_periods`` (months
        from the first win to the start of regular bookings), ``left_out_deals``, ``left_out_amount`` (the
        won deals closed before it) and ``note`` (one line, ``""`` when nothing was left out).

    Raises
    ------
    ValueError
        No day, a target quarter not over in the data, or too few complete quarters on every day (a day
        with too few is left out, and ``attrs["note"]`` says which and why).
    """
    fn = "backtest_next_quarter"
    fy = fiscal_year_start_month
    ts_methods = _method_list(ts_methods)
    columns = _interval_columns("forecast", confidence)
    opps = crm.rows("opportunities", where=where)
    won_all = opps[_flag(opps["is_won"]).to_numpy()]
    from ..crm.model import latest_date

    data_end = latest_date(crm)  # the export's date: a quarter ending later is not over
    days = [as_of] if isinstance(as_of, str | dt.date) else list(as_of)
    items = [_to_day(d, fn, "as_of") for d in days]
    if not items:
        raise ValueError(f"{fn}: as_of is empty (no day to forecast from)")
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(items, desc="backtest", unit="day")
    rows, skipped = [], []
    for day in items:
        label, start, end = _bounds(day, quarters_ahead, fy)
        if end > data_end:
            raise ValueError(
                f"{fn}: the target quarter {label} of {day:%Y-%m-%d} is not over in the data "
                f"(latest date {data_end:%Y-%m-%d})"
            )
        close = pd.to_datetime(won_all["close_date"])
        actual = float(won_all.loc[((close >= start) & (close <= end)).to_numpy(), "amount"].astype(float).sum())
        cut = _opportunities(crm, day, where)
        won_then = cut[_flag(cut["is_won"]).to_numpy()]
        won_then = won_then[(pd.to_datetime(won_then["close_date"]) <= day).to_numpy()]
        # every series of the day starts where regular bookings start, as the bookings forecast's does: the
        # won deals of a sparse prologue before it (imported with their old close dates) are left out
        regular = _regular_on(crm, day, where)
        if regular.start is not None:
            won_then = won_then[(pd.to_datetime(won_then["close_date"]) >= regular.start).to_numpy()]
        q = _quarterly(won_then, day, fy)
        if len(q) < min_quarters:
            # too short a regular history on this day: the day is left out (said in the note); none left: an error
            skipped.append(
                f"{len(q)} complete quarter(s) of bookings on {day:%Y-%m-%d}, at least {min_quarters} needed"
            )
            continue
        m = 4 if len(q) > 5 else 1
        vals = q.to_numpy()
        scale = float(np.mean(np.abs(vals[m:] - vals[:-m])))
        nq = next_quarter_forecast(
            crm,
            as_of=day,
            where=where,
            quarters_ahead=(quarters_ahead,),
            fiscal_year_start_month=fy,
            age_bins=age_bins,
            prior_weight=prior_weight,
            run_rate_days=run_rate_days,
            confidence=confidence,
        ).iloc[0]
        base = {
            "pipeline": nq["forecast"],
            "configured_weighted": nq["configured_weighted"],
            "last_period": float(q.iloc[-1]),
        }
        try:
            lag = _bounds(start, -4, fy)[1]  # the same quarter a fiscal year before
        except OutsideFiscalCalendar:
            lag = None
        base["seasonal_naive"] = float(q.get(lag, np.nan)) if lag is not None else np.nan
        if ts_methods:
            monthly = regular.series
            h = (end.year - monthly.index[-1].year) * 12 + end.month - monthly.index[-1].month
            try:
                res = Forecaster(monthly, period="M", horizon=h, methods=ts_methods, n_origins=ts_origins).fit()
            except ValueError as exc:
                if "(rule: too_short)" not in str(exc):
                    raise
                res = None  # too few regular months on this day for the time-series methods: no row for them
        for meth in [*ts_methods, "time_series"] if ts_methods and res is not None else []:
            fc = res.forecast(None if meth == "time_series" else meth)
            fc = fc[(fc["ds"] >= start) & (fc["ds"] <= end)]
            base[f"ts_{meth}" if meth != "time_series" else meth] = float(fc["yhat"].sum())
        for meth, value in base.items():
            row = {
                "as_of": day,
                "fiscal_period": label,
                "quarters_ahead": quarters_ahead,
                "method": meth,
                "forecast": value,
                "actual": actual,
                "mase_scale": scale,
                **regular.columns(),
            }
            if meth == "pipeline":
                row.update({c: nq[c] for _, low, high in columns for c in (low, high)})
            rows.append(row)
    if not rows:
        raise ValueError(f"{fn}: {skipped[0]}")
    out = pd.DataFrame(rows)
    if skipped:
        out.attrs["note"] = f"{len(skipped)} day(s) left out: " + "; ".join(skipped)
    for _, low, high in columns:
        out[low], out[high] = out.get(low, np.nan), out.get(high, np.nan)
    out["error"] = out["forecast"] - out["actual"]
    out["abs_error"] = out["error"].abs()
    out["scaled_error"] = out["abs_error"] / out["mase_scale"]
    for c, low, high in columns:
        inside = (out["actual"] >= out[low]) & (out["actual"] <= out[high])
        out[f"in_{_percent(c)}"] = inside.where(out[low].notna())
    return out


def summarize_backtest(results: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per method (and quarters ahead): error, bias, MASE, MAE relative to seasonal naive, coverage.

    Parameters
    ----------
    results : DataFrame
        From :func:`backtest_next_quarter`: ``quarters_ahead``, ``method``, ``forecast``, ``actual``,
        ``mase_scale`` and the ``in_<level>`` flags (missing for methods without an interval).

    Returns
    -------
    DataFrame
        Per ``quarters_ahead`` and ``method``: ``n``, ``mae``, ``mape`` (mean absolute error / actual), ``bias``
        (mean error), ``mase``, ``relative_mae`` (MAE / seasonal naive MAE on the same targets),
        ``coverage_80``, ``coverage_95`` (one per ``in_<level>`` column; pipeline only),
        ``beats_all_baselines`` (lower MASE than every baseline).

    Raises
    ------
    ValueError
        No rows.

    Examples
    --------
    >>> r = pd.DataFrame({"quarters_ahead": 1, "method": ["pipeline", "seasonal_naive"], "forecast": [9.0, 14.0],
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
    levels = [c[3:] for c in r.columns if re.fullmatch(r"in_\d+(\.\d+)?", c)]
    keys = ["quarters_ahead", "method"]
    g = r.groupby(keys, sort=False)
    out = pd.DataFrame(
        {
            "n": g.size(),
            "mae": g["abs_error"].mean(),
            "mape": g["ape"].mean(),
            "bias": g["error"].mean(),
            "mase": g["scaled_error"].mean(),
            **{f"coverage_{lv}": g[f"in_{lv}"].agg(lambda s: s.dropna().astype(float).mean()) for lv in levels},
        }
    ).reset_index()
    sn = out[out["method"] == "seasonal_naive"].set_index("quarters_ahead")["mae"]
    out["relative_mae"] = out["mae"] / out["quarters_ahead"].map(sn)
    best_base = out[out["method"].isin(BASELINE_METHODS)].groupby("quarters_ahead")["mase"].min()
    out["beats_all_baselines"] = out["mase"] < out["quarters_ahead"].map(best_base)
    cols = [*keys, "n", "mae", "mape", "bias", "mase", "relative_mae", *(f"coverage_{lv}" for lv in levels)]
    return out[[*cols, "beats_all_baselines"]]
