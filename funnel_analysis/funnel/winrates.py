"""Opportunity outcomes: win rates, stage-to-stage transitions and bottleneck stages.

Every function is pure: it takes DataFrames and keyword options, and returns a new tidy
DataFrame. Every rate comes with its counts and a 95 % Wilson interval
(:mod:`funnel_analysis.stats`); ``by`` (``None``, a column name or a list of them) splits a result
into segments, with missing segment values as their own segment (NA). Periods are fiscal periods
(:func:`funnel_analysis.periods.fiscal_period`).

Stages are data: the order, and which stages are closed or won, come from the ``stages`` table
(``crm.stages``). A deal reaches a stage as in the cohort funnel (see "How a stage counts as
reached" in :mod:`funnel_analysis.funnel.conversion`): a skipped stage counts as passed, a backward move is
counted once.

Days are UTC calendar days; a close date before the creation date (bad data) is left out of the
cycle figures, never clipped to 0, and so is a deal without a creation date (its cycle has no
start: never 0 days), counted in ``n_undated_excluded``.

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> crm = fa.load_org("data/sample")  # doctest: +SKIP
>>> win_rates(crm.opportunities, by="lead_source", period="Q")  # doctest: +SKIP
>>> bottlenecks(crm.opportunities, crm.opportunity_history, stages=crm.stages)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._util.frames import (
    by_list as _by_list,
)
from .._util.frames import (
    days as _days,
)
from .._util.frames import (
    flag as _flag,
)
from .._util.frames import (
    reach_days as _reach_days,
)
from .._util.frames import (
    require as _require,
)
from .._util.frames import (
    stage_ranks as _stage_ranks,
)
from ..periods import fiscal_period
from ..stats import rate_table

__all__ = ["win_rates", "win_rates_from_sums", "stage_transitions", "bottlenecks"]


def _to_dates(days) -> pd.Series:
    days = np.where(np.isfinite(days), days, np.nan)
    return pd.Series(pd.to_datetime(days, unit="D")).astype("datetime64[us]")


def _cycle_days(opps: pd.DataFrame) -> np.ndarray:
    """Days from the creation day (UTC) to the close day; negative spans (bad data) are NaN."""
    span = _days(opps["close_date"]) - _days(opps["created_date"])
    return np.where(span >= 0, span, np.nan)


def win_rates(opps: pd.DataFrame, *, by=None, period=None, fiscal_year_start_month: int = 1) -> pd.DataFrame:
    """Win rate (won / closed), deal size and sales-cycle length, per segment and/or period.

    Parameters
    ----------
    opps : DataFrame
        With ``is_closed``, ``is_won``, ``amount``, ``created_date``, ``close_date``.
    by : str or list of str, optional
    period : {"Q", "M", "Y"}, optional
        Also split by the fiscal period of ``close_date`` (closed deals only; a closed deal
        without a close date has a missing period).
    fiscal_year_start_month : int or FiscalCalendar, default 1

    Returns
    -------
    DataFrame
        Per segment (and ``fiscal_period``, ``period_start``): ``closed``, ``won``, ``lost``,
        ``win_rate`` with ``win_rate_ci_low/high``, ``won_amount`` (sum), ``avg_won_deal_size``
        (mean over won deals with an amount) and its ``deal_size_n``, ``cycle_n``,
        ``mean_cycle_days``, ``median_cycle_days``, ``n_undated_excluded``. The cycle is counted
        for won deals, from the creation day (UTC) to ``close_date``; a close date before the
        creation date (bad data) is left out of the cycle figures, and so is a won deal without a
        creation date, which still counts as won and is counted in ``n_undated_excluded``. A deal
        counts as won only when closed.

    Examples
    --------
    >>> o = pd.DataFrame({"is_closed": [True, True, False], "is_won": [True, False, False],
    ...                   "amount": [100.0, 50.0, 70.0],
    ...                   "created_date": pd.to_datetime(["2024-01-01"] * 3, utc=True),
    ...                   "close_date": pd.to_datetime(["2024-01-31", "2024-02-10", "2024-06-30"])})
    >>> win_rates(o)[["closed", "won", "win_rate", "avg_won_deal_size", "median_cycle_days"]]
       closed  won  win_rate  avg_won_deal_size  median_cycle_days
    0       2    1       0.5              100.0               30.0
    """
    by = _by_list(by)
    _require(opps, ["is_closed", "is_won", "amount", "created_date", "close_date", *by], "win_rates", "opportunities")
    closed = _flag(opps["is_closed"]).to_numpy()
    won = closed & _flag(opps["is_won"]).to_numpy()
    data = opps[by].assign(
        _closed=closed,
        _won=won,
        _amt=np.where(won, opps["amount"].to_numpy("float64"), np.nan),
        _cycle=np.where(won, _cycle_days(opps), np.nan),
        _undated=won & np.isnan(_days(opps["created_date"])),
    )
    keys = list(by)
    if period is not None:
        fp = fiscal_period(opps["close_date"], period=period, fiscal_year_start_month=fiscal_year_start_month)
        data = data.assign(fiscal_period=fp["fiscal_period"], period_start=fp["period_start"])[closed]
        keys += ["fiscal_period", "period_start"]
    g = data.groupby(keys, dropna=False, observed=True, sort=True) if keys else data.assign(_k=0).groupby("_k")
    out = g.agg(
        closed=("_closed", "sum"),
        won=("_won", "sum"),
        won_amount=("_amt", "sum"),
        avg_won_deal_size=("_amt", "mean"),
        deal_size_n=("_amt", "count"),
        cycle_n=("_cycle", "count"),
        mean_cycle_days=("_cycle", "mean"),
        median_cycle_days=("_cycle", "median"),
        n_undated_excluded=("_undated", "sum"),
    ).reset_index(drop=not keys)
    if not keys and out.empty:
        out = pd.DataFrame(
            {
                "closed": [0],
                "won": [0],
                "won_amount": [0.0],
                "avg_won_deal_size": [np.nan],
                "deal_size_n": [0],
                "cycle_n": [0],
                "mean_cycle_days": [np.nan],
                "median_cycle_days": [np.nan],
                "n_undated_excluded": [0],
            }
        )
    return win_rates_from_sums(out, by=by, period=period)


def win_rates_from_sums(sums: pd.DataFrame, *, by=None, period=None) -> pd.DataFrame:
    """The table of :func:`win_rates` from its per-group sums (the pandas path's or an engine's).

    Parameters
    ----------
    sums : DataFrame
        One row per group: the ``by`` columns (and ``fiscal_period``, ``period_start`` with
        ``period``), ``closed``, ``won``, ``won_amount``, ``avg_won_deal_size``, ``deal_size_n``,
        ``cycle_n``, ``mean_cycle_days``, ``median_cycle_days``, ``n_undated_excluded``
        (:func:`funnel_analysis.engine.winrates.win_rate_sums` gives them).
    by : str or list of str, optional
        The segment columns.
    period : {"Q", "M", "Y"}, optional
        Whether the groups are split by fiscal period.

    Returns
    -------
    DataFrame
        As :func:`win_rates`: ``lost``, ``win_rate`` with its 95 % Wilson interval, in its column
        order. ``sums`` is not changed.

    Raises
    ------
    ValueError
        When ``sums`` lacks one of those columns.

    Examples
    --------
    >>> sums = pd.DataFrame({"closed": [4], "won": [1], "won_amount": [10.0], "avg_won_deal_size": [10.0],
    ...     "deal_size_n": [1], "cycle_n": [1], "mean_cycle_days": [3.0], "median_cycle_days": [3.0],
    ...     "n_undated_excluded": [0]})
    >>> win_rates_from_sums(sums)[["closed", "won", "lost", "win_rate"]]
       closed  won  lost  win_rate
    0       4    1     3      0.25
    """
    keys = [*_by_list(by), *(["fiscal_period", "period_start"] if period is not None else [])]
    _require(sums, [*keys, *_SUMS], "win_rates_from_sums", "sums")
    out = sums.astype({c: "int64" for c in ("closed", "won", "deal_size_n", "cycle_n", "n_undated_excluded")})
    out.insert(len(keys) + 2, "lost", out["closed"] - out["won"])
    out = rate_table(out, successes="won", trials="closed", name="win_rate")
    first = [*keys, "closed", "won", "lost", "win_rate", "win_rate_ci_low", "win_rate_ci_high"]
    return out[first + [c for c in out.columns if c not in first]]


#: The per-group sums :func:`win_rates_from_sums` takes, in the table's order.
_SUMS = (
    "closed",
    "won",
    "won_amount",
    "avg_won_deal_size",
    "deal_size_n",
    "cycle_n",
    "mean_cycle_days",
    "median_cycle_days",
    "n_undated_excluded",
)


def stage_transitions(
    opps: pd.DataFrame,
    history: pd.DataFrame,
    *,
    stages: pd.DataFrame,
    by=None,
    period: str = "Q",
    fiscal_year_start_month: int = 1,
) -> pd.DataFrame:
    """Stage-to-stage conversion per fiscal period, counted when each deal's outcome was decided.

    For each transition from open stage *k* to the next (the last open stage leads to won), a
    deal that reached *k* is *decided* when it reached the next stage (it advanced, dated by the
    first evidence of it) or when it closed without reaching it (it dropped, dated by
    ``close_date``). Deals still open at *k* are undecided and left out. Counting by decision
    date rather than by creation cohort keeps recent periods from looking worse only because
    their deals are young.

    Parameters
    ----------
    opps, history, stages : DataFrame
        As for :func:`~funnel_analysis.funnel.cohort_funnel`.
    by : str or list of str, optional
    period : {"Q", "M", "Y"}, default "Q"
    fiscal_year_start_month : int or FiscalCalendar, default 1

    Returns
    -------
    DataFrame
        Per segment, ``fiscal_period`` (with ``period_start``) and transition: ``step`` (1 =
        first to second open stage), ``from_stage``, ``to_stage``, ``decided``, ``advanced``,
        ``conversion`` with ``conversion_ci_low/high``, ``value_in`` (amount of the decided
        deals), ``value_out`` (of those that advanced), ``value_drop`` = in - out. Decisions of
        unknown date have a missing period.

    Examples
    --------
    >>> st = pd.DataFrame({"stage_name": ["A", "B", "Won", "Lost"], "sort_order": [1, 2, 3, 4],
    ...                    "is_closed": [False, False, True, True], "is_won": [False, False, True, False]})
    >>> o = pd.DataFrame({"opportunity_id": ["1", "2"], "stage_name": ["Won", "Lost"], "amount": [1.0, 2.0],
    ...                   "created_date": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
    ...                   "is_closed": [True, True], "is_won": [True, False],
    ...                   "close_date": pd.to_datetime(["2024-02-01", "2024-04-01"])})
    >>> h = pd.DataFrame({"opportunity_id": ["1", "2"], "stage_name": ["A", "A"],
    ...                   "created_date": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True)})
    >>> stage_transitions(o, h, stages=st)[["fiscal_period", "from_stage", "to_stage", "decided", "advanced"]]
      fiscal_period from_stage to_stage  decided  advanced
    0     FY2024-Q1          A        B        1         1
    1     FY2024-Q1          B      Won        1         1
    2     FY2024-Q2          A        B        1         0
    """
    by = _by_list(by)
    fn = "stage_transitions"
    _require(
        opps,
        ["opportunity_id", "created_date", "stage_name", "is_closed", "is_won", "close_date", "amount", *by],
        fn,
        "opportunities",
    )
    _require(history, ["opportunity_id", "created_date", "stage_name"], fn, "history")
    open_st, ranks, k, won_names = _stage_ranks(stages, fn)
    reach = _reach_days(opps, history, ranks, k)
    won = _flag(opps["is_won"]).to_numpy()
    lost = _flag(opps["is_closed"]).to_numpy() & ~won
    close_day = np.nan_to_num(_days(opps["close_date"]), nan=np.inf)
    names = open_st["stage_name"].tolist() + [" / ".join(won_names) or "Won"]
    pos, steps, days, adv = [], [], [], []
    for i in range(1, k + 1):
        entered = ~np.isnan(reach[:, i - 1])
        if i == k:  # last open stage -> won: advanced means won, on the close date
            advanced, adv_day = won, close_day
        else:
            advanced, adv_day = ~np.isnan(reach[:, i]), reach[:, i]
        decided = np.flatnonzero(entered & (advanced | lost))
        pos.append(decided)
        steps.append(np.full(len(decided), i))
        days.append(np.where(advanced, adv_day, close_day)[decided])
        adv.append(advanced[decided])
    pos, steps = np.concatenate(pos), np.concatenate(steps)
    data = opps[by].iloc[pos].reset_index(drop=True) if by else pd.DataFrame(index=pd.RangeIndex(len(pos)))
    data = data.assign(
        step=steps,
        from_stage=pd.array(np.asarray(names, dtype=object)[steps - 1], dtype="str"),
        to_stage=pd.array(np.asarray(names, dtype=object)[steps], dtype="str"),
        _day=np.concatenate(days),
        _adv=np.concatenate(adv),
        _amt=opps["amount"].to_numpy("float64")[pos],
    )
    fp = fiscal_period(
        _to_dates(data["_day"].to_numpy()), period=period, fiscal_year_start_month=fiscal_year_start_month
    )
    data = data.assign(
        fiscal_period=fp["fiscal_period"].to_numpy(),
        period_start=fp["period_start"].to_numpy(),
        _in=data["_amt"],
        _out=data["_amt"].where(data["_adv"]),
    )
    keys = [*by, "fiscal_period", "period_start", "step", "from_stage", "to_stage"]
    out = (
        data.groupby(keys, dropna=False, observed=True, sort=True)
        .agg(decided=("_adv", "size"), advanced=("_adv", "sum"), value_in=("_in", "sum"), value_out=("_out", "sum"))
        .reset_index()
    )
    out = out.astype({"decided": "int64", "advanced": "int64", "step": "int64"})
    out["value_drop"] = out["value_in"] - out["value_out"]
    out = rate_table(out, successes="advanced", trials="decided", name="conversion")
    first = [*keys, "decided", "advanced", "conversion", "conversion_ci_low", "conversion_ci_high"]
    return out[first + ["value_in", "value_out", "value_drop"]]


def bottlenecks(
    opps: pd.DataFrame,
    history: pd.DataFrame,
    *,
    stages: pd.DataFrame,
    period: str = "Q",
    fiscal_year_start_month: int = 1,
    as_of=None,
    lookback: int | None = None,
) -> pd.DataFrame:
    """Stage transitions of the latest period, ranked by lowest conversion and largest value lost.

    Built on :func:`stage_transitions` (deals counted in the period their outcome at the stage
    was decided). Each transition is compared with its own history: the mean of its per-period
    conversion (and value drop) over the previous periods that had decisions.

    Parameters
    ----------
    opps, history, stages : DataFrame
        As for :func:`~funnel_analysis.funnel.cohort_funnel`.
    period : {"Q", "M", "Y"}, default "Q"
    fiscal_year_start_month : int or FiscalCalendar, default 1
    as_of : date-like, optional
        A day in the period to assess; default the last period with a decision. The tables are
        not cut here: pass those of ``crm.as_of(day)`` (or use
        :func:`funnel_analysis.funnel.report.bottlenecks`, which does both).
    lookback : int, optional
        Compare with at most this many previous periods (default: all of them).

    Returns
    -------
    DataFrame
        One row per transition (all of them, 0 decided when idle): ``step``, ``from_stage``,
        ``to_stage``, ``fiscal_period``, the counts, ``conversion`` and interval and values of
        :func:`stage_transitions`, ``prev_periods``, ``prev_conversion``, ``conversion_change``
        (latest - previous mean), ``prev_value_drop``, ``value_drop_change``,
        ``rank_conversion`` (1 = lowest conversion) and ``rank_value_drop`` (1 = most value
        lost); ties share a rank. Sorted by ``rank_conversion`` then ``rank_value_drop``.

    Examples
    --------
    >>> b = bottlenecks(crm.opportunities, crm.opportunity_history, stages=crm.stages,
    ...                 as_of="2024-06-30", lookback=4)  # doctest: +SKIP
    >>> b[["from_stage", "to_stage", "conversion", "prev_conversion", "value_drop"]].head(3)  # doctest: +SKIP
    """
    if lookback is not None and lookback < 1:
        raise ValueError(f"bottlenecks: lookback must be >= 1, got {lookback!r}")
    t = stage_transitions(opps, history, stages=stages, period=period, fiscal_year_start_month=fiscal_year_start_month)
    t = t[t["fiscal_period"].notna()]
    if as_of is not None:
        label = fiscal_period([pd.Timestamp(as_of)], period=period, fiscal_year_start_month=fiscal_year_start_month)[
            "fiscal_period"
        ].iloc[0]
    elif len(t):
        label = t["fiscal_period"].max()
    else:
        raise ValueError("bottlenecks: no stage transition was ever decided (no dated history or closed deals)")
    open_st, _, k, won_names = _stage_ranks(stages, "bottlenecks")
    names = open_st["stage_name"].tolist() + [" / ".join(won_names) or "Won"]
    grid = pd.DataFrame({"step": np.arange(1, k + 1), "from_stage": names[:-1], "to_stage": names[1:]})
    cur = grid.merge(t[t["fiscal_period"] == label].drop(columns=["from_stage", "to_stage"]), on="step", how="left")
    cur = cur.assign(fiscal_period=label).fillna(
        {"decided": 0, "advanced": 0, "value_in": 0.0, "value_out": 0.0, "value_drop": 0.0}
    )
    prev = t[t["fiscal_period"] < label]
    if lookback is not None:
        keep = sorted(prev["fiscal_period"].unique())[-lookback:]
        prev = prev[prev["fiscal_period"].isin(keep)]
    hist = (
        prev.groupby("step")
        .agg(
            prev_periods=("fiscal_period", "nunique"),
            prev_conversion=("conversion", "mean"),
            prev_value_drop=("value_drop", "mean"),
        )
        .reset_index()
    )
    out = cur.drop(columns="period_start").merge(hist, on="step", how="left").fillna({"prev_periods": 0})
    out = out.astype({"decided": "int64", "advanced": "int64", "prev_periods": "int64"})
    out["conversion_change"] = out["conversion"] - out["prev_conversion"]
    out["value_drop_change"] = out["value_drop"] - out["prev_value_drop"]
    out["rank_conversion"] = out["conversion"].rank(method="min")
    out["rank_value_drop"] = out["value_drop"].where(out["decided"] > 0).rank(method="min", ascending=False)
    return out.sort_values(["rank_conversion", "rank_value_drop", "step"], na_position="last").reset_index(drop=True)
