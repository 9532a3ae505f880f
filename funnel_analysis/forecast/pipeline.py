"""Weighted pipeline: open amount x stage probability, configured or learned from history.

Definitions
-----------
- **Open deal on day d**: an opportunity of ``crm.as_of(d)`` with ``is_closed`` False. Its *age* is
  the number of whole UTC days from its creation to ``d``; its *close period* is the fiscal period
  of its close date on ``d``. An open deal whose close date has already passed (``overdue``) is put
  in the period containing ``d``: a manager sees it as still to close now.
- **Configured probability**: the stage's ``default_probability`` in the stages table (percent).
- **Learned probability** (:func:`learn_win_probabilities`): at the day before each past fiscal
  period (that ended by ``as_of``), the deals open and due in that period (close date in it, or
  overdue); the share that was won with a close date inside the period, per stage and age bucket.
  Small cells are shrunk toward their stage's rate, and stage rates toward the overall rate
  (``prior_weight`` pseudo-deals), so that a cell of 3 deals does not claim 0 % or 100 %.
  In :func:`weighted_pipeline` a deal due in a later period gets the same rate (the rate of winning
  within its period once that period starts): an approximation for deals far out.
- **Calibration** (:func:`probability_calibration`): the same past snapshots, each deal with the
  probability each source would have given it *then* (learned ones only from periods already over),
  against whether it won in the period.

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> crm = fa.load_org("data/sample")  # doctest: +SKIP
>>> cut = crm.as_of("2025-06-30")  # doctest: +SKIP
>>> weighted_pipeline(cut.opportunities, stages=crm.stages, as_of="2025-06-30")  # doctest: +SKIP
>>> learned = learn_win_probabilities(crm, as_of="2025-06-30")  # doctest: +SKIP
>>> weighted_pipeline(cut.opportunities, stages=crm.stages, as_of="2025-06-30", probabilities=learned)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import functools
from collections import OrderedDict

import numpy as np
import pandas as pd

from .._util.frames import by_list as _by_list
from .._util.frames import days as _days
from .._util.frames import flag as _flag
from .._util.frames import require as _require
from .._util.frames import to_day as _to_day
from ..periods import fiscal_period, period_bounds
from ..stats import wilson_interval

__all__ = [
    "weighted_pipeline",
    "learn_win_probabilities",
    "snapshot_outcomes",
    "probability_calibration",
    "forecast_categories",
    "AGE_BINS",
    "CATEGORIES",
]

#: Age buckets (days open) of the learned probabilities: [0, 30), [30, 90), [90, 180), [180, inf).
AGE_BINS = (0, 30, 90, 180)
#: Salesforce's forecast categories, in roll-up order.
CATEGORIES = ("Closed", "Commit", "Best Case", "Pipeline", "Omitted")


def _opportunities(crm, day, where) -> pd.DataFrame:
    """The opportunities of ``crm.as_of(day)`` (memoised by the org) that ``where`` selects on that day.

    Without ``where``, the cut of :func:`_deals_org` (the same opportunities, without replaying the leads'
    field history or cutting activities and campaigns): the learned rates, the next-quarter snapshots and
    the backtest cut the org on dozens of past days and read only its deals. A ``where`` may name related
    records (``owner.region``), so it is read on the whole org's cut.
    """
    return _cut_of(crm, day, where).rows("opportunities", where=where)


def _cut_of(crm, day, where):
    """The cut :func:`_opportunities` reads: of :func:`_deals_org` without ``where``, else of the whole org."""
    if where is None or (isinstance(where, str) and not where.strip()):
        return _deals_org(crm).as_of(day)
    return crm.as_of(day)


#: The tables an as-of cut of the opportunities reads (:meth:`CrmData.as_of`): their rows, their stages, their
#: stage history and their field history (owner, close-date pushes). The other tables do not change them.
_DEALS_TABLES = ("opportunities", "stages", "opportunity_history", "opportunity_field_history")


def _deals_org(crm):
    """``crm`` with only :data:`_DEALS_TABLES`: its as-of cuts hold the same opportunities, for a fraction of the work.

    One is kept on the org itself (``crm.__dict__``: it goes with the org, and is never pickled), made
    again when a table of the org was replaced; its cuts are memoised as any org's (:meth:`CrmData.as_of`).
    """
    crm.ensure_tables(*_DEALS_TABLES)  # an engine-only org reads them from its cache: the copy could not
    tables = {k: v for k, v in crm.tables.items() if k in _DEALS_TABLES}
    kept = crm.__dict__.get("_deals_org")
    if kept is not None and all(kept.tables.get(k) is v for k, v in tables.items()) and len(kept.tables) == len(tables):
        return kept
    deals = dataclasses.replace(crm, tables=tables)
    crm.__dict__["_deals_org"] = deals
    return deals


@functools.lru_cache(maxsize=4096)
def _period_bounds(day: pd.Timestamp, period: str, offset: int, fy) -> tuple[str, pd.Timestamp, pd.Timestamp]:
    """(label, first day, last day) of :func:`~funnel_analysis.periods.period_bounds`, memoised: the snapshots
    of every learned rate and calibration walk the same periods, and each answer costs a one-row frame."""
    b = period_bounds(as_of=day, period=period, offset=offset, fiscal_year_start_month=fy)
    return b["fiscal_period"], b["period_start"], b["period_end"]


@functools.lru_cache(maxsize=4096)
def _period_label(day: pd.Timestamp, period: str, fy) -> str:
    """The fiscal period label of one day (:func:`~funnel_analysis.periods.fiscal_period`), memoised."""
    return fiscal_period(pd.Series([day]), period=period, fiscal_year_start_month=fy)["fiscal_period"].iloc[0]


def _age_bucket(age_days: np.ndarray, bins=AGE_BINS) -> np.ndarray:
    labels = [f"{a}-{b - 1}" for a, b in zip(bins[:-1], bins[1:])] + [f"{bins[-1]}+"]
    idx = np.clip(np.searchsorted(np.asarray(bins), np.nan_to_num(age_days, nan=0), side="right") - 1, 0, None)
    return np.asarray(labels, dtype=object)[idx]


def _configured(stages: pd.DataFrame) -> pd.Series:
    """Stage -> configured probability as a share (the stages table holds percent)."""
    _require(stages, ["stage_name", "default_probability"], "weighted_pipeline", "stages")
    st = stages.drop_duplicates("stage_name").set_index("stage_name")["default_probability"].astype(float)
    return st / 100.0


def _open_deals(opps: pd.DataFrame, day: pd.Timestamp, fn: str) -> pd.DataFrame:
    _require(
        opps, ["opportunity_id", "stage_name", "amount", "close_date", "is_closed", "created_date"], fn, "opportunities"
    )
    o = opps.loc[~_flag(opps["is_closed"]).to_numpy()].reset_index(drop=True)
    age = np.full(len(o), _days([day])[0]) - _days(o["created_date"]) if len(o) else np.array([])
    close = pd.to_datetime(o["close_date"]).astype("datetime64[us]")
    return o.assign(age_days=age, overdue=(close <= day).to_numpy(), _close=close.where(close > day, day))


#: (id of a cut's opportunities, day) -> (those opportunities, their open deals on the day), the last 64.
_OPEN: OrderedDict = OrderedDict()


def _open_on(crm, day, where, fn: str) -> pd.DataFrame:
    """:func:`_open_deals` of :func:`_opportunities`, memoised without ``where`` (the cut's frame is memoised by
    the org, held here so that its id is not reused): the next-quarter forecast of each backtest day takes
    the open deals of the same past days. Callers read the frame; they never change it."""
    opps = _opportunities(crm, day, where)
    if where is not None and not (isinstance(where, str) and not where.strip()):
        return _open_deals(opps, day, fn)
    key = (id(opps), pd.Timestamp(day))
    kept = _OPEN.get(key)
    if kept is None or kept[0] is not opps:
        kept = _OPEN[key] = (opps, _open_deals(opps, day, fn))
        while len(_OPEN) > 64:
            _OPEN.popitem(last=False)
    _OPEN.move_to_end(key)
    return kept[1]


def _deal_probability(o: pd.DataFrame, stages, probabilities, age_bins) -> np.ndarray:
    if probabilities is None:
        return o["stage_name"].map(_configured(stages)).to_numpy(dtype=float)
    _require(probabilities, ["stage_name", "age_bucket", "probability"], "weighted_pipeline", "probabilities")
    key = pd.MultiIndex.from_arrays([o["stage_name"], _age_bucket(o["age_days"].to_numpy(), age_bins)])
    table = probabilities.drop_duplicates(["stage_name", "age_bucket"]).set_index(["stage_name", "age_bucket"])
    return table["probability"].reindex(key).to_numpy(dtype=float)


def weighted_pipeline(
    opps: pd.DataFrame,
    *,
    stages: pd.DataFrame,
    as_of,
    probabilities: pd.DataFrame | None = None,
    period: str = "Q",
    by=None,
    fiscal_year_start_month: int = 1,
    age_bins=AGE_BINS,
) -> pd.DataFrame:
    """Open amount and open amount x probability, per close period (and segment).

    Parameters
    ----------
    opps : DataFrame
        Opportunities of an as-of cut (``crm.as_of(as_of).opportunities``).
    stages : DataFrame
        The stages table (``stage_name``, ``default_probability`` in percent).
    as_of : date
        The day of the cut: ages are counted to it, overdue deals are put in its period.
    probabilities : DataFrame, optional
        From :func:`learn_win_probabilities`; the configured stage probabilities when omitted.
    period : {"Q", "M"}
        Close periods: fiscal quarters or months.
    by : str or list of str, optional
        Segment columns of ``opps`` (e.g. ``owner_id``).
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    age_bins : tuple of int
        Lower edges (days open) of the age buckets of ``probabilities``.

    Returns
    -------
    DataFrame
        Per ``fiscal_period`` (and segment): ``period_start``, ``open_count``, ``open_amount``,
        ``weighted_amount``, ``overdue_count``, ``amount_missing`` (deals without amount, counted as 0),
        ``no_probability`` (deals whose stage has no probability, counted as 0), ``probabilities``
        (``"configured"`` or ``"learned"``).

    Examples
    --------
    >>> st = pd.DataFrame({"stage_name": ["A", "B"], "default_probability": [20.0, 50.0]})
    >>> o = pd.DataFrame({"opportunity_id": ["1", "2", "3"], "stage_name": ["A", "B", "B"],
    ...                   "amount": [100.0, 200.0, 50.0], "is_closed": False,
    ...                   "close_date": pd.to_datetime(["2024-02-01", "2024-03-01", "2024-05-01"]),
    ...                   "created_date": pd.to_datetime(["2024-01-01"] * 3, utc=True)})
    >>> weighted_pipeline(o, stages=st, as_of="2024-01-15")[["fiscal_period", "open_amount", "weighted_amount"]]
      fiscal_period  open_amount  weighted_amount
    0     FY2024-Q1        300.0            120.0
    1     FY2024-Q2         50.0             25.0
    """
    fn = "weighted_pipeline"
    if period not in ("Q", "M"):
        raise ValueError(f"{fn}: period must be 'Q' or 'M', got {period!r}")
    day = _to_day(as_of, fn)
    by = _by_list(by)
    _require(opps, by, fn, "opportunities")
    o = _open_deals(opps, day, fn)
    p = _deal_probability(o, stages, probabilities, age_bins)
    amount = o["amount"].astype(float)
    per = fiscal_period(o["_close"], period=period, fiscal_year_start_month=fiscal_year_start_month)
    frame = pd.DataFrame(
        {
            "fiscal_period": per["fiscal_period"].to_numpy(),
            "period_start": per["period_start"].to_numpy(),
            **{c: o[c].to_numpy() for c in by},
            "open_count": 1,
            "open_amount": amount.fillna(0).to_numpy(),
            "weighted_amount": (amount.fillna(0) * np.nan_to_num(p)).to_numpy(),
            "overdue_count": o["overdue"].astype(int).to_numpy(),
            "amount_missing": amount.isna().astype(int).to_numpy(),
            "no_probability": np.isnan(p).astype(int),
        }
    )
    keys = ["fiscal_period", "period_start", *by]
    out = frame.groupby(keys, dropna=False, sort=True).sum().reset_index()
    return out.assign(probabilities="configured" if probabilities is None else "learned")


def snapshot_outcomes(
    crm,
    *,
    as_of,
    where=None,
    period: str = "Q",
    fiscal_year_start_month: int = 1,
    age_bins=AGE_BINS,
) -> pd.DataFrame:
    """Every deal open and due at the start of each past period, and whether it won in that period.

    Snapshots are the day before each fiscal period that ended on or before ``as_of``; the outcome
    is read from the cut at ``as_of`` (won, with a close date inside the period).

    Parameters
    ----------
    crm : CrmData
        The whole org; only what was known by the end of ``as_of`` is used.
    as_of : date
        The last day known; the periods that ended by it are the snapshots.
    where : str, optional
        Only the opportunities this expression selects (:mod:`funnel_analysis.crm.expression`), on each
        snapshot's cut as it stood that day.
    period : {"Q", "M"}
        Fiscal quarters or months.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    age_bins : tuple of int
        Lower edges (days open) of the age buckets.

    Returns
    -------
    DataFrame
        ``snapshot``, ``fiscal_period``, ``period_start``, ``period_end``, ``opportunity_id``,
        ``stage_name``, ``age_days``, ``age_bucket``, ``amount``, ``won_in_period`` (bool).
    """
    fn = "snapshot_outcomes"
    if period not in ("Q", "M"):
        raise ValueError(f"{fn}: period must be 'Q' or 'M', got {period!r}")
    day = _to_day(as_of, fn)
    final = _opportunities(crm, day, where)
    created = pd.to_datetime(crm.rows("opportunities", where=where)["created_date"]).min()
    if pd.isna(created):
        raise ValueError(f"{fn}: the org has no opportunity with a creation date")
    first = fiscal_period(pd.Series([created]), period=period, fiscal_year_start_month=fiscal_year_start_month)
    bounds, k = [], 0
    while True:  # every fiscal period from the first deal's to the one holding the day
        _, b_start, b_end = _period_bounds(first["period_start"].iloc[0], period, k, fiscal_year_start_month)
        if b_start > day:
            break
        bounds.append((b_start, b_end))
        k += 1
        if b_end >= day:
            break
    won = final[_flag(final["is_won"]).to_numpy()]
    won_close = pd.to_datetime(won["close_date"]).astype("datetime64[us]")
    rows = []
    for start, end in bounds:
        if end > day:
            continue
        snap = start - pd.Timedelta(days=1)
        o = _open_on(crm, snap, where, fn)
        o = o[pd.to_datetime(o["close_date"]).astype("datetime64[us]") <= end]
        won_ids = set(won.loc[((won_close >= start) & (won_close <= end)).to_numpy(), "opportunity_id"])
        label = _period_label(start, period, fiscal_year_start_month)
        rows.append(
            pd.DataFrame(
                {
                    "snapshot": snap,
                    "fiscal_period": label,
                    "period_start": start,
                    "period_end": end,
                    "opportunity_id": o["opportunity_id"].to_numpy(),
                    "stage_name": o["stage_name"].to_numpy(),
                    "age_days": o["age_days"].to_numpy(),
                    "age_bucket": _age_bucket(o["age_days"].to_numpy(), age_bins),
                    "amount": o["amount"].astype(float).to_numpy(),
                    "won_in_period": o["opportunity_id"].isin(won_ids).to_numpy(),
                }
            )
        )
    if not rows:
        raise ValueError(
            f"{fn}: no fiscal period ended between the first opportunity ({created:%Y-%m-%d}) "
            f"and as_of {day:%Y-%m-%d}; nothing to learn from"
        )
    return pd.concat(rows, ignore_index=True)


def _shrunk_rates(snap: pd.DataFrame, prior_weight: float) -> pd.DataFrame:
    overall = snap["won_in_period"].mean() if len(snap) else np.nan
    st = snap.groupby("stage_name")["won_in_period"].agg(["sum", "count"])
    st_rate = (st["sum"] + prior_weight * overall) / (st["count"] + prior_weight)
    cell = snap.groupby(["stage_name", "age_bucket"])["won_in_period"].agg(won="sum", n="count").reset_index()
    prior = cell["stage_name"].map(st_rate).to_numpy()
    return cell.assign(
        observed_rate=cell["won"] / cell["n"],
        probability=(cell["won"] + prior_weight * prior) / (cell["n"] + prior_weight),
    )


def learn_win_probabilities(
    crm,
    *,
    as_of,
    where=None,
    period: str = "Q",
    fiscal_year_start_month: int = 1,
    age_bins=AGE_BINS,
    prior_weight: float = 10.0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Win-in-period probability per stage and age bucket, learned from past snapshots.

    Parameters
    ----------
    crm : CrmData
        The whole org; only what was known by the end of ``as_of`` is used.
    as_of : date
        The last day known.
    where : str, optional
        Only the opportunities this expression selects, on each snapshot's cut (see :func:`snapshot_outcomes`).
    period : {"Q", "M"}
        The periods deals are due and won in: fiscal quarters or months.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    age_bins : tuple of int
        Lower edges (days open) of the age buckets.
    prior_weight : float, default 10
        Pseudo-deals pulling a cell toward its stage's rate (and a stage toward the overall rate).
    confidence : float, default 0.95
        Level of the Wilson interval of the observed rate.

    Returns
    -------
    DataFrame
        ``stage_name``, ``age_bucket``, ``n``, ``won``, ``observed_rate`` with its Wilson interval
        ``observed_rate_ci_low``/``observed_rate_ci_high``, ``probability`` (shrunk), ``configured_probability``.

    Raises
    ------
    ValueError
        When no fiscal period ended by ``as_of`` (nothing to learn from).
    """
    snap = snapshot_outcomes(
        crm,
        as_of=as_of,
        where=where,
        period=period,
        fiscal_year_start_month=fiscal_year_start_month,
        age_bins=age_bins,
    )
    out = _shrunk_rates(snap, prior_weight)
    low, high = wilson_interval(out["won"], out["n"], confidence=confidence)
    return out.assign(
        observed_rate_ci_low=np.asarray(low),
        observed_rate_ci_high=np.asarray(high),
        configured_probability=out["stage_name"].map(_configured(crm.stages)).to_numpy(),
    )[
        [
            "stage_name",
            "age_bucket",
            "n",
            "won",
            "observed_rate",
            "observed_rate_ci_low",
            "observed_rate_ci_high",
            "probability",
            "configured_probability",
        ]
    ]


def probability_calibration(
    crm,
    *,
    as_of,
    where=None,
    period: str = "Q",
    fiscal_year_start_month: int = 1,
    bins=(0.0, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0001),
    age_bins=AGE_BINS,
    prior_weight: float = 10.0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """How well each set of probabilities was calibrated on past periods.

    Each past snapshot's deals get the configured probability and the learned one *as it would
    have been then* (learned from periods already over at the snapshot; the first period has none).

    Parameters
    ----------
    crm : CrmData
        The whole org; only what was known by the end of ``as_of`` is used.
    as_of : date
        The last day known.
    where : str, optional
        Only the opportunities this expression selects, on each snapshot's cut (see :func:`snapshot_outcomes`).
    period : {"Q", "M"}
        Fiscal quarters or months.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    bins : sequence of float
        Edges of the probability bins (left-closed).
    age_bins : tuple of int
        Lower edges (days open) of the age buckets of the learned probabilities.
    prior_weight : float, default 10
        Pseudo-deals of the learned probabilities' shrinkage.
    confidence : float, default 0.95
        Level of the Wilson interval of the observed share.

    Returns
    -------
    DataFrame
        Per ``probabilities`` (configured, learned) and probability bin: ``n``, ``mean_predicted``,
        ``observed`` (share won in the period) with ``observed_ci_low``/``observed_ci_high``,
        ``expected_amount``, ``won_amount``, and the source's ``brier`` score over all its deals.

    Raises
    ------
    ValueError
        When no fiscal period ended by ``as_of``.
    """
    snap = snapshot_outcomes(
        crm,
        as_of=as_of,
        where=where,
        period=period,
        fiscal_year_start_month=fiscal_year_start_month,
        age_bins=age_bins,
    )
    snap = snap.assign(configured=snap["stage_name"].map(_configured(crm.stages)).to_numpy(), learned=np.nan)
    for start in snap["period_start"].unique():
        past = snap[snap["period_end"] < start]
        if past.empty:
            continue
        rates = _shrunk_rates(past, prior_weight).set_index(["stage_name", "age_bucket"])["probability"]
        now = snap["period_start"] == start
        key = pd.MultiIndex.from_frame(snap.loc[now, ["stage_name", "age_bucket"]])
        fallback = past["won_in_period"].mean()  # a stage never seen before: the overall rate
        snap.loc[now, "learned"] = rates.reindex(key).fillna(fallback).to_numpy()
    rows = []
    for source in ("configured", "learned"):
        d = snap.dropna(subset=[source])
        b = pd.cut(d[source], bins=list(bins), right=False)
        amt = d["amount"].fillna(0)
        g = pd.DataFrame(
            {
                "bin": b,
                "p": d[source],
                "won": d["won_in_period"].astype(int),
                "exp": amt * d[source],
                "won_amt": amt * d["won_in_period"],
            }
        ).groupby("bin", observed=True)
        t = g.agg(
            n=("p", "size"),
            mean_predicted=("p", "mean"),
            won=("won", "sum"),
            expected_amount=("exp", "sum"),
            won_amount=("won_amt", "sum"),
        ).reset_index()
        low, high = wilson_interval(t["won"], t["n"], confidence=confidence)
        brier = float(np.mean((d[source] - d["won_in_period"]) ** 2)) if len(d) else np.nan
        rows.append(
            t.assign(
                probabilities=source,
                bin=t["bin"].astype(str),
                observed=t["won"] / t["n"],
                observed_ci_low=np.asarray(low),
                observed_ci_high=np.asarray(high),
                brier=brier,
            )
        )
    cols = [
        "probabilities",
        "bin",
        "n",
        "mean_predicted",
        "observed",
        "observed_ci_low",
        "observed_ci_high",
        "expected_amount",
        "won_amount",
        "brier",
    ]
    return pd.concat(rows, ignore_index=True)[cols]


def forecast_categories(
    opps: pd.DataFrame,
    *,
    as_of,
    stages: pd.DataFrame | None = None,
    period: str = "Q",
    by=None,
    fiscal_year_start_month: int = 1,
    last_periods: int | None = None,
) -> pd.DataFrame:
    """Forecast categories rolled up per close period, as a sales manager sees them.

    Open deals count in their category (overdue ones in the period of ``as_of``); won deals are
    ``Closed`` and lost ones ``Omitted`` in the period of their close date. ``rollup_amount`` is the
    manager's cumulative view: Closed, Closed + Commit, + Best Case, + Pipeline (Omitted alone).
    A deal without a category takes its stage's category from ``stages``.

    Parameters
    ----------
    opps : DataFrame
        Opportunities of an as-of cut.
    as_of : date
        The day of the cut: overdue open deals are put in its period.
    stages : DataFrame, optional
        The stages table, for deals without a category.
    period : {"Q", "M"}
        Fiscal quarters or months.
    by : str or list of str, optional
        Segment columns of ``opps``.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    last_periods : int, optional
        Only the last ``last_periods`` fiscal periods that hold a deal (the latest close periods, later
        ones of open deals included); every period when omitted.

    Returns
    -------
    DataFrame
        Per ``fiscal_period`` (and segment) and ``forecast_category``: ``count``, ``amount``,
        ``rollup_amount``.

    Raises
    ------
    ValueError
        A missing column or ``last_periods`` below 1.

    Examples
    --------
    >>> o = pd.DataFrame({"opportunity_id": ["1", "2", "3"], "stage_name": ["Won", "Neg", "Prosp"],
    ...                   "amount": [100.0, 200.0, 50.0], "is_closed": [True, False, False],
    ...                   "is_won": [True, False, False], "forecast_category": ["Closed", "Commit", "Pipeline"],
    ...                   "close_date": pd.to_datetime(["2024-01-10", "2024-03-01", "2024-02-01"]),
    ...                   "created_date": pd.to_datetime(["2024-01-01"] * 3, utc=True)})
    >>> forecast_categories(o, as_of="2024-01-15")[["forecast_category", "amount", "rollup_amount"]]
      forecast_category  amount  rollup_amount
    0            Closed   100.0          100.0
    1            Commit   200.0          300.0
    2         Best Case     0.0          300.0
    3          Pipeline    50.0          350.0
    4           Omitted     0.0            0.0
    """
    fn = "forecast_categories"
    if last_periods is not None and int(last_periods) < 1:
        raise ValueError(f"{fn}: last_periods must be >= 1 or None, got {last_periods!r}")
    day = _to_day(as_of, fn)
    by = _by_list(by)
    _require(opps, ["amount", "close_date", "is_closed", "is_won", "forecast_category", *by], fn, "opportunities")
    closed, won = _flag(opps["is_closed"]).to_numpy(), _flag(opps["is_won"]).to_numpy()
    cat = opps["forecast_category"].astype(object)
    if stages is not None and "forecast_category" in stages:
        cat = cat.fillna(
            opps["stage_name"].map(stages.drop_duplicates("stage_name").set_index("stage_name")["forecast_category"])
        )
    cat = np.where(won, "Closed", np.where(closed, "Omitted", cat.to_numpy()))
    close = pd.to_datetime(opps["close_date"]).astype("datetime64[us]")
    close = close.where(closed | (close > day), day)  # overdue open deals: due now
    per = fiscal_period(close, period=period, fiscal_year_start_month=fiscal_year_start_month)
    d = pd.DataFrame(
        {
            "fiscal_period": per["fiscal_period"].to_numpy(),
            **{c: opps[c].to_numpy() for c in by},
            "forecast_category": cat,
            "count": 1,
            "amount": opps["amount"].astype(float).fillna(0).to_numpy(),
        }
    )
    d = d[d["forecast_category"].isin(CATEGORIES) & d["fiscal_period"].notna()]
    keys = ["fiscal_period", *by]
    g = d.groupby([*keys, "forecast_category"], dropna=False)[["count", "amount"]].sum()
    present = d[keys].drop_duplicates()
    full = pd.MultiIndex.from_tuples(
        [(*k, c) for k in present.itertuples(index=False, name=None) for c in CATEGORIES],
        names=[*keys, "forecast_category"],
    )
    out = g.reindex(full, fill_value=0).reset_index()
    out["_order"] = out["forecast_category"].map({c: i for i, c in enumerate(CATEGORIES)})
    out = out.sort_values([*keys, "_order"], kind="stable").reset_index(drop=True)
    cum = (
        out.assign(a=np.where(out["forecast_category"] == "Omitted", 0, out["amount"]))
        .groupby(keys, dropna=False)["a"]
        .cumsum()
    )
    out["rollup_amount"] = np.where(out["forecast_category"] == "Omitted", out["amount"], cum)
    out["count"] = out["count"].astype("int64")
    out = out.drop(columns="_order")
    if last_periods is not None:  # fiscal period labels sort in time order (FY2024-Q4 < FY2025-Q1)
        keep = sorted(out["fiscal_period"].unique())[-int(last_periods) :]
        out = out[out["fiscal_period"].isin(keep)].reset_index(drop=True)
    return out
