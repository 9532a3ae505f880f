"""Sales velocity: open deals x win rate x average won deal / cycle length, and what moved it.

:func:`sales_velocity` gives the four factors per fiscal period with bootstrap intervals;
:func:`velocity_change` splits the change between two periods into the factors' shares (a log
decomposition, so the shares add up to the whole change); :func:`latest_velocity_change` does it for
the last two complete periods that had a velocity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._util.frames import (
    by_list as _by_list,
)
from .._util.frames import (
    day_number as _day_number,
)
from .._util.frames import (
    days as _days,
)
from .._util.frames import (
    flag as _flag,
)
from .._util.frames import (
    require as _require,
)
from ..periods import fiscal_period
from .durations import _groups

__all__ = ["sales_velocity", "velocity_change", "latest_velocity_change", "VELOCITY_FACTORS"]

#: The four factors of sales velocity; velocity = n_open * win_rate * avg_won_amount / avg_cycle_days.
VELOCITY_FACTORS = ("n_open", "win_rate", "avg_won_amount", "avg_cycle_days")


def sales_velocity(
    opps: pd.DataFrame,
    *,
    as_of,
    period: str = "Q",
    by=None,
    n_boot: int = 500,
    seed: int = 0,
    fiscal_year_start_month: int = 1,
) -> pd.DataFrame:
    """Sales velocity per period: n_open x win_rate x avg_won_amount / avg_cycle_days (money/day).

    Periods are the fiscal periods (:func:`funnel_analysis.periods.fiscal_period`) in which deals
    closed, up to the one holding ``as_of`` (``complete`` False). Per period: ``n_open`` = deals
    open at the period's start (created before it, not closed before it); ``win_rate`` = won /
    closed among deals closed in the period; ``avg_won_amount`` = mean amount of those won (missing
    amounts left out); ``avg_cycle_days`` = mean created -> close days of those won. A deal without
    a creation date is left out of ``n_open`` (it cannot be placed before the period) and, won,
    of ``avg_cycle_days`` (its cycle has no start: never 0 days); ``n_undated_excluded`` counts
    the won deals of the period left out so. Bootstrap 95 % percentile intervals resample the
    deals closed in the period (``n_open`` held fixed).

    Parameters
    ----------
    opps : DataFrame
        With ``created_date``, ``close_date``, ``is_closed``, ``is_won``, ``amount`` and the
        ``by`` columns.
    as_of : date-like
        The last day counted: deals closed later count as open.
    period : {"Q", "M", "Y"}, default "Q"
        The fiscal period.
    by : str or list of str, optional
        Segment columns.
    n_boot : int, default 500
        Bootstrap resamples behind the intervals (at least 1).
    seed : int, default 0
        Seed of the bootstrap.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.

    Returns
    -------
    DataFrame
        ``by``, ``period``, ``period_start``, ``period_end``, ``complete``, ``n_open``,
        ``n_closed``, ``n_won``, ``n_undated_excluded``, then ``win_rate``, ``avg_won_amount``, ``avg_cycle_days``,
        ``velocity``, each with ``_ci_low`` / ``_ci_high``.

    Examples
    --------
    >>> o = pd.DataFrame({"created_date": pd.to_datetime(["2023-12-01", "2023-12-11", "2023-12-20"], utc=True),
    ...                   "close_date": pd.to_datetime(["2024-01-10", "2024-01-20", "2024-05-01"]),
    ...                   "is_closed": [True, True, False], "is_won": [True, False, False], "amount": [1e3, 500, 800]})
    >>> sales_velocity(o, as_of="2024-03-31", n_boot=50)[["period", "n_open", *VELOCITY_FACTORS[1:], "velocity"]]
          period  n_open  win_rate  avg_won_amount  avg_cycle_days  velocity
    0  FY2024-Q1       3       0.5          1000.0            40.0      37.5
    """
    fn, by = "sales_velocity", _by_list(by)
    _require(opps, ["created_date", "close_date", "is_closed", "is_won", "amount", *by], fn, "opportunities")
    if int(n_boot) < 1:
        raise ValueError(f"{fn}: n_boot must be at least 1, got {n_boot!r}")
    day, rng, rows = _day_number(as_of, fn), np.random.default_rng(seed), []
    created, close = _days(opps["created_date"]), _days(opps["close_date"])
    closed = _flag(opps["is_closed"]).to_numpy() & (close <= day)
    won = closed & _flag(opps["is_won"]).to_numpy()
    per = fiscal_period(
        opps["close_date"].where(closed).reset_index(drop=True),
        period=period,
        fiscal_year_start_month=fiscal_year_start_month,
    )
    d = (
        opps[by]
        .reset_index(drop=True)
        .assign(
            _created=created,
            _close=close,
            _closed=closed,
            _won=won,
            _amt=np.where(won, pd.to_numeric(opps["amount"]).to_numpy("float64", na_value=np.nan), np.nan),
            _cyc=np.where(won & (close >= created), close - created, np.nan),
            _period=per["fiscal_period"],
        )
    )
    periods = per[closed].drop_duplicates("fiscal_period").sort_values("period_start")
    for key, g in _groups(d, by):
        for _, pr in periods.iterrows():
            start = _days([pr["period_start"]])[0]
            n_open = int(((g["_created"] < start) & ~(g["_close"] < start).where(g["_closed"], False)).sum())
            c = g[(g["_period"] == pr["fiscal_period"]).fillna(False).to_numpy()]
            w, a, cy = c["_won"].to_numpy(float), c["_amt"].to_numpy(), c["_cyc"].to_numpy()
            idx = rng.integers(0, len(c), size=(int(n_boot), len(c))) if len(c) else np.zeros((1, 0), int)
            with np.errstate(all="ignore"):
                wr, sz, cl = (_nanmean(np.vstack([x, x[idx]])) for x in (w, a, cy))  # row 0: the estimate
                vel = n_open * wr * sz / np.where(cl > 0, cl, np.nan)
            r = {
                **dict(zip(by, key)),
                "period": pr["fiscal_period"],
                "period_start": pr["period_start"],
                "period_end": pr["period_end"],
                "complete": _days([pr["period_end"]])[0] <= day,
                "n_open": n_open,
                "n_closed": len(c),
                "n_won": int(w.sum()),
                "n_undated_excluded": int((c["_won"] & c["_created"].isna()).sum()),
            }
            for name, vals in zip(VELOCITY_FACTORS[1:] + ("velocity",), (wr, sz, cl, vel)):
                lo, hi = np.nanpercentile(vals[1:], [2.5, 97.5]) if np.isfinite(vals[1:]).any() else (np.nan,) * 2
                r.update({name: vals[0], f"{name}_ci_low": lo, f"{name}_ci_high": hi})
            rows.append(r)
    cols = [
        *by,
        "period",
        "period_start",
        "period_end",
        "complete",
        "n_open",
        "n_closed",
        "n_won",
        "n_undated_excluded",
    ]
    return pd.DataFrame(
        rows,
        columns=cols + [f"{f}{e}" for f in VELOCITY_FACTORS[1:] + ("velocity",) for e in ("", "_ci_low", "_ci_high")],
    )


def _nanmean(x: np.ndarray) -> np.ndarray:
    """Row means ignoring NaN, NaN (without a warning) for a row of NaN."""
    n = np.sum(~np.isnan(x), axis=1)
    return np.where(n > 0, np.nansum(x, axis=1) / np.maximum(n, 1), np.nan)


def velocity_change(a, b) -> pd.DataFrame:
    """Attribute the change of velocity from period ``a`` to ``b`` to its four factors.

    ``a``, ``b`` are rows of :func:`sales_velocity` (Series, dict or one-row DataFrame) with the
    four factors, all positive. ``log(V_b / V_a)`` is the sum of each factor's log ratio (the
    cycle's with a minus sign, as it divides); each ``share`` is its contribution over that total,
    so the shares sum to 1 (NaN when velocity did not change).

    Parameters
    ----------
    a : Series, dict or one-row DataFrame
        The earlier period's row.
    b : Series, dict or one-row DataFrame
        The later period's row.

    Returns
    -------
    DataFrame
        ``factor``, ``a``, ``b``, ``log_ratio`` (log b / a), ``contribution``, ``share``.

    Examples
    --------
    >>> f = velocity_change({"n_open": 10, "win_rate": 0.2, "avg_won_amount": 100, "avg_cycle_days": 50},
    ...                     {"n_open": 20, "win_rate": 0.2, "avg_won_amount": 100, "avg_cycle_days": 25})
    >>> f[["factor", "contribution", "share"]].round(4)
               factor  contribution  share
    0          n_open        0.6931    0.5
    1        win_rate        0.0000    0.0
    2  avg_won_amount        0.0000    0.0
    3  avg_cycle_days        0.6931    0.5
    """
    fn = "velocity_change"
    vals = []
    for name, row in (("a", a), ("b", b)):
        if isinstance(row, pd.DataFrame) and len(row) != 1:
            raise ValueError(f"{fn}: {name} must be one row, got {len(row)}")
        row = row.iloc[0] if isinstance(row, pd.DataFrame) else pd.Series(row)
        missing = [f for f in VELOCITY_FACTORS if f not in row.index]
        if missing:
            raise ValueError(f"{fn}: {name} has no column(s) {missing}")
        v = pd.to_numeric(row[list(VELOCITY_FACTORS)]).to_numpy("float64")
        bad = [f for f, x in zip(VELOCITY_FACTORS, v) if not (np.isfinite(x) and x > 0)]
        if bad:
            raise ValueError(f"{fn}: {name} column(s) {bad} must be positive numbers for a log decomposition")
        vals.append(v)
    log_ratio = np.log(vals[1] / vals[0])
    contribution = log_ratio * np.array([1, 1, 1, -1])  # the cycle divides
    share = contribution / contribution.sum() if contribution.sum() != 0 else np.full(4, np.nan)
    return pd.DataFrame(
        {
            "factor": list(VELOCITY_FACTORS),
            "a": vals[0],
            "b": vals[1],
            "log_ratio": log_ratio,
            "contribution": contribution,
            "share": share,
        }
    )


def latest_velocity_change(velocity: pd.DataFrame) -> pd.DataFrame:
    """:func:`velocity_change` between the last two complete periods of ``velocity`` that had a velocity.

    The periods still running (``complete`` False) and those without a positive velocity (no won
    deal, no open deal) are passed over: a decomposition needs four positive factors.

    Parameters
    ----------
    velocity : DataFrame
        :func:`sales_velocity` without ``by``: one row per period, with ``period``,
        ``period_start``, ``complete``, ``velocity`` and the four factors.

    Returns
    -------
    DataFrame
        As :func:`velocity_change`, with ``from_period`` and ``to_period`` on every row.

    Raises
    ------
    ValueError
        When fewer than two complete periods had a velocity, or there are several rows per
        period (segments: pick one first).

    Examples
    --------
    >>> v = pd.DataFrame({"period": ["FY2024-Q1", "FY2024-Q2", "FY2024-Q3"],
    ...                   "period_start": pd.to_datetime(["2024-01-01", "2024-04-01", "2024-07-01"]),
    ...                   "complete": [True, True, False], "n_open": [10, 20, 30], "win_rate": [0.2, 0.2, 0.3],
    ...                   "avg_won_amount": [100.0, 100.0, 90.0], "avg_cycle_days": [50.0, 25.0, 30.0],
    ...                   "velocity": [4.0, 16.0, 27.0]})
    >>> latest_velocity_change(v)[["factor", "share", "from_period", "to_period"]]
               factor  share from_period  to_period
    0          n_open    0.5   FY2024-Q1  FY2024-Q2
    1        win_rate    0.0   FY2024-Q1  FY2024-Q2
    2  avg_won_amount    0.0   FY2024-Q1  FY2024-Q2
    3  avg_cycle_days    0.5   FY2024-Q1  FY2024-Q2
    """
    fn = "latest_velocity_change"
    _require(velocity, ["period", "complete", "velocity", *VELOCITY_FACTORS], fn, "velocity")
    if velocity["period"].duplicated().any():
        raise ValueError(f"{fn}: several rows per period - pass the velocity of one segment")
    order = ["period_start"] if "period_start" in velocity.columns else ["period"]
    v = velocity.sort_values(order, kind="stable")
    measured = v[_flag(v["complete"]).to_numpy() & (v["velocity"] > 0).fillna(False).to_numpy()]
    if len(measured) < 2:
        raise ValueError(
            f"{fn}: {len(measured)} complete period(s) with a velocity; a change needs two (try a shorter period)"
        )
    a, b = measured.iloc[-2], measured.iloc[-1]
    return velocity_change(a, b).assign(from_period=a["period"], to_period=b["period"])
