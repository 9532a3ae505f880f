"""Next quarter: expected revenue for the current and the next fiscal quarter, as of any date.

::

    forecast = won so far in the quarter
             + sum over open deals of  amount x P(won inside the quarter | stage, age, due)
             + run-rate x (share of a quarter's bookings that comes from deals not yet created)

How each part is learned, from the org as it stood on past days only
--------------------------------------------------------------------
The *same point of the quarter cycle* is taken in earlier quarters: for ``as_of`` 20 days into a
quarter, the days 20 days into each earlier quarter (snapshot ``t_k``, one per earlier quarter).
For each snapshot whose target quarter ended by ``as_of``:

- every deal open on ``t_k`` (``crm.as_of(t_k)``) with its stage, age bucket and whether its close
  date falls by the end of the target quarter (``due``) or later; the outcome is whether it was won
  with a close date inside the target quarter and after ``t_k``. Rates per (stage, age, due) are
  shrunk toward (stage, due), then (due), with ``prior_weight`` pseudo-deals;
- the won amount in the target quarter from deals created after ``t_k``, as a share of the
  target quarter's won amount; the pooled share times today's run-rate per quarter (won amount in
  the ``run_rate_days`` before the day, scaled to the target quarter's length, held flat) is the
  part from deals not yet created. A snapshot is used only when its whole run-rate window lies
  after the first opportunities (the 1 % quantile of creation dates), leaving out the deals of a sparse
  prologue: those closed before regular bookings start
  (:func:`~funnel_analysis.forecast.timeseries.regular_start` on the org's monthly won amount, as the
  bookings forecast does, whatever ``where`` selects), such as deals imported with their old dates. Each
  row says what was left out (``left_out_periods``, ``left_out_deals``, ``left_out_amount``, ``note``).
  (A ratio to the run-rate
  itself, the first version, also extrapolates the learning quarters' growth over the gap between
  the run-rate window and the target quarter, and over-forecast two quarters ahead.)

The interval: the same forecast made on each past snapshot (in-sample), the spread of the
log-ratios actual / forecast (root mean square, bias included) and a Student t quantile with
``n - 1`` degrees of freedom, widened by ``sqrt(1 + 1/n)`` for a new observation.

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> crm = fa.load_org("data/sample")  # doctest: +SKIP
>>> next_quarter_forecast(crm, as_of="2025-06-30")  # doctest: +SKIP
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from .._util.frames import flag as _flag
from .._util.frames import require as _require
from .._util.frames import to_day as _to_day
from .._util.frames import utc_naive as _utc_naive
from ..periods import OutsideFiscalCalendar, fiscal_calendar, period_bounds
from .pipeline import AGE_BINS, _age_bucket, _configured, _open_deals, _open_on, _opportunities
from .timeseries import CONFIDENCE, _interval_columns, regular_start

__all__ = ["next_quarter_forecast", "bookings_series", "quarter_bounds", "FiscalQuarter"]


@dataclass(frozen=True)
class FiscalQuarter:
    """One fiscal quarter: what :func:`quarter_bounds` returns.

    Attributes
    ----------
    fiscal_period : str
        Its label, ``FY2024-Q3``.
    period_start, period_end : Timestamp
        Its first and last day.
    """

    fiscal_period: str
    period_start: pd.Timestamp
    period_end: pd.Timestamp


def quarter_bounds(*, as_of, quarters_ahead: int = 0, fiscal_year_start_month: int = 1) -> FiscalQuarter:
    """The fiscal quarter ``quarters_ahead`` quarters after the one containing ``as_of``.

    Parameters
    ----------
    as_of : date
        A day of the quarter counted from.
    quarters_ahead : int, default 0
        0 = the quarter of ``as_of``, 1 = the next one, -1 = the one before.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.

    Returns
    -------
    FiscalQuarter
        Its label, first and last day.

    Raises
    ------
    ValueError
        An ``as_of`` that is not a date, or a start month outside 1-12.

    Examples
    --------
    >>> quarter_bounds(as_of="2024-05-10", quarters_ahead=1)
    FiscalQuarter(fiscal_period='FY2024-Q3', period_start=Timestamp('2024-07-01 00:00:00'), \
period_end=Timestamp('2024-09-30 00:00:00'))
    """
    day = _to_day(as_of, "quarter_bounds")
    q = period_bounds(
        as_of=day, period="Q", offset=int(quarters_ahead), fiscal_year_start_month=fiscal_year_start_month
    )
    return FiscalQuarter(q["fiscal_period"], pd.Timestamp(q["period_start"]), pd.Timestamp(q["period_end"]))


def _bounds(day, quarters_ahead: int, fy: int) -> tuple[str, pd.Timestamp, pd.Timestamp]:
    """(label, first day, last day) of :func:`quarter_bounds`, memoised: a backtest asks for the same few
    dozen quarters hundreds of times, and each answer costs a pandas frame of one row."""
    day, ahead = pd.Timestamp(day), int(quarters_ahead)
    try:
        custom = fiscal_calendar(fiscal_year_start_month=fy).custom
    except ValueError:
        custom = True  # a bad start month: quarter_bounds raises its own error
    if not ahead or custom:
        return _bounds_of(day, ahead, fy)
    # a standard year: the quarter ``ahead`` after the one holding ``day`` is the one holding its first day
    # moved by 3 x ``ahead`` months (how periods.period_bounds steps), so every day of a quarter shares one key
    return _bounds_of(_bounds_of(day, 0, fy)[1] + pd.DateOffset(months=3 * ahead), 0, fy)


@functools.lru_cache(maxsize=4096)
def _bounds_of(day: pd.Timestamp, quarters_ahead: int, fy) -> tuple[str, pd.Timestamp, pd.Timestamp]:
    # an OutsideFiscalCalendar is raised anew on every call (lru_cache keeps only results)
    q = quarter_bounds(as_of=day, quarters_ahead=quarters_ahead, fiscal_year_start_month=fy)
    return q.fiscal_period, q.period_start, q.period_end


def bookings_series(opps: pd.DataFrame, *, as_of, period: str = "M", value: str = "amount", start="auto") -> pd.Series:
    """Won amount (or count) per week, month or quarter of the close date, complete periods up to ``as_of``.

    Parameters
    ----------
    opps : DataFrame
        Opportunities of the cut at ``as_of`` (``is_won``, ``close_date``, ``amount``).
    as_of : date
        The last day: the series ends with the last period complete on it.
    period : {"W", "M", "Q"}
        Weeks end on Sunday; months and quarters are calendar ones.
    value : {"amount", "count"}
        Sum the won amount, or count the won deals.
    start : date, "auto" or None
        First day of the series. ``"auto"`` starts where regular activity starts
        (:func:`~funnel_analysis.forecast.timeseries.regular_start` on this series), so that a sparse
        prologue (deals imported with their old close dates, test records) does not add months of
        near-empty periods; a date starts at its period; ``None`` starts at the first win.

    Returns
    -------
    Series
        Indexed by the period's first day, from ``start`` to the last period complete on
        ``as_of``; periods without a win are 0.

    Raises
    ------
    ValueError
        A missing column, an unknown ``period`` or ``value``, no won deal by ``as_of`` (or after ``start``).

    Examples
    --------
    >>> o = pd.DataFrame({"is_won": [True, True, False], "amount": [10.0, 5.0, 7.0],
    ...                   "close_date": pd.to_datetime(["2024-01-15", "2024-03-02", "2024-02-01"])})
    >>> bookings_series(o, as_of="2024-03-31").tolist()
    [10.0, 0.0, 5.0]
    """
    fn = "bookings_series"
    _require(opps, ["is_won", "close_date", "amount"], fn, "opportunities")
    if period not in _FREQ or value not in ("amount", "count"):
        raise ValueError(f"{fn}: period must be W, M or Q and value amount or count; got {period!r}, {value!r}")
    day = _to_day(as_of, fn)
    won = opps[_flag(opps["is_won"]).to_numpy()]
    close = pd.to_datetime(won["close_date"]).astype("datetime64[us]")
    won = won[(close <= day).to_numpy()]
    if won.empty:
        raise ValueError(f"{fn}: no won deal closed on or before {day:%Y-%m-%d}")
    code = _FREQ[period]
    per = pd.PeriodIndex(pd.to_datetime(won["close_date"]), freq=code)
    vals = won["amount"].astype(float).fillna(0).to_numpy() if value == "amount" else np.ones(len(won))
    s = pd.Series(vals, index=per).groupby(level=0).sum()
    auto = isinstance(start, str) and start == "auto"
    if start is not None and not auto:
        s = s[s.index >= pd.Period(pd.Timestamp(start), freq=code)]
        if s.empty:
            raise ValueError(f"{fn}: no won deal closed between {start} and {day:%Y-%m-%d}")
    last = pd.Period(day, freq=code)
    if last.end_time.normalize() > day:  # the period of as_of is not over yet
        last = last - 1
    full = pd.period_range(s.index.min(), last, freq=code)
    s = s.reindex(full, fill_value=0.0)
    s.index = full.start_time.astype("datetime64[us]")
    if auto:
        s = s.iloc[regular_start(s, period=period) :]
    return s.rename(f"won_{value}")


#: pandas period codes of the bookings series.
_FREQ = {"W": "W-SUN", "M": "M", "Q": "Q"}


@dataclass(frozen=True)
class _Regular:
    """A bookings series from the start of regular activity, and the won deals before it (left out).

    What :func:`_regular_bookings` returns; :func:`next_quarter_forecast` and the backtest report it
    with the names of :class:`~funnel_analysis.forecast.report.BookingsForecast`.
    """

    series: pd.Series
    period: str = "M"
    periods: int = 0
    deals: int = 0
    amount: float = 0.0
    imported: int = 0

    @property
    def start(self) -> pd.Timestamp | None:
        """The series' first day (``None`` for an empty series)."""
        return pd.Timestamp(self.series.index[0]) if len(self.series) else None

    @property
    def note(self) -> str:
        """'Left out before 2023-02-01: 21 won deals (436,900) in 22 months of sparse early history (...)'."""
        if not self.periods:
            return ""
        unit = {"W": "week", "M": "month", "Q": "quarter"}[self.period]
        begin = f"{self.start:%Y-%m-%d}" if self.start is not None else "the end"
        return (
            f"Left out before {begin}: {self.deals} won deal{'s' * (self.deals != 1)} "
            f"({self.amount:,.0f}) in {self.periods} {unit}{'s' * (self.periods != 1)} of sparse early history "
            f"(quarter-long stretches below a fifth of the recent level; {self.imported} of these deals "
            "closed before their creation date: imported history)"
        )

    def columns(self) -> dict:
        """The left-out columns of a result frame: ``left_out_periods``, ``_deals``, ``_amount``, ``note``."""
        return {
            "left_out_periods": self.periods,
            "left_out_deals": self.deals,
            "left_out_amount": self.amount,
            "note": self.note,
        }


def _regular_on(crm, day, where) -> _Regular:
    """The monthly won amount of ``where``'s deals on ``crm.as_of(day)`` from the start of the org's regular bookings.

    The start is the whole org's (:func:`regular_start` on all its won deals): a prologue is a property of
    the data (an import), and a small segment's empty quarter in the middle of the org's regular activity
    is a real zero, not a reason to drop what came before it.
    """
    org = _regular_kept(_opportunities(crm, day, None), day, "auto")
    if where is None:
        return org
    if isinstance(where, str) and not where.strip():  # the same cut's frame as the org's
        return _regular_kept(_opportunities(crm, day, where), day, org.start)
    return _regular_bookings(_opportunities(crm, day, where), as_of=day, start=org.start)


#: (id of a cut's opportunities, day, start) -> (those opportunities, their _Regular), the last 64.
_REGULAR: OrderedDict = OrderedDict()


def _regular_kept(opps: pd.DataFrame, day, start) -> _Regular:
    """:func:`_regular_bookings` of a memoised cut's frame (held here, so that its id is not reused), once: a
    backtest day's series is read by the backtest and again by that day's next-quarter forecast."""
    key = (id(opps), pd.Timestamp(day), start)
    kept = _REGULAR.get(key)
    if kept is None or kept[0] is not opps:
        kept = _REGULAR[key] = (opps, _regular_bookings(opps, as_of=day, start=start))
        while len(_REGULAR) > 64:
            _REGULAR.popitem(last=False)
    _REGULAR.move_to_end(key)
    return kept[1]


def _regular_bookings(opps: pd.DataFrame, *, as_of, period: str = "M", start="auto") -> _Regular:
    """Won amount per period from the start of regular activity (:func:`regular_start`), and what it left out.

    ``start``: ``"auto"`` (:func:`regular_start`) or a day (its period; ``None``: the first win). No won deal
    by ``as_of``: an empty series, nothing left out.
    """
    day = _to_day(as_of, "bookings_series")
    won = opps[_flag(opps["is_won"]).to_numpy()]
    close = _utc_naive(won["close_date"])
    won = won[(close <= day).to_numpy()]
    if won.empty:
        return _Regular(pd.Series(dtype=float, name="won_amount"), period)
    amount = bookings_series(won, as_of=day, period=period, value="amount", start=None)
    count = bookings_series(won, as_of=day, period=period, value="count", start=None)
    if start is None:
        first = 0
    elif isinstance(start, str) and start == "auto":
        first = regular_start(amount, period=period)
    else:
        first = int(amount.index.searchsorted(pd.Period(pd.Timestamp(start), freq=_FREQ[period]).start_time))
    series = amount.iloc[first:]
    begin = series.index[0] if len(series) else day + pd.Timedelta(days=1)
    imported = 0
    if first and "created_date" in won:
        close = _utc_naive(won["close_date"]).to_numpy()
        created = _utc_naive(won["created_date"]).dt.normalize().to_numpy()
        imported = int(((close < pd.Timestamp(begin).to_datetime64()) & (close < created)).sum())
    return _Regular(
        series,
        period,
        periods=first,
        deals=int(count.iloc[:first].sum()),
        amount=float(amount.iloc[:first].sum()),
        imported=imported,
    )


def _shrink(df: pd.DataFrame, levels: list[list[str]], prior_weight: float) -> pd.Series:
    """P(label) per row, each level's rate shrunk toward the coarser one (first = finest)."""
    p = np.full(len(df), df["label"].mean())
    for keys in reversed(levels):
        g = df.groupby(keys)["label"].agg(["sum", "count"])
        idx = pd.MultiIndex.from_frame(df[keys]) if len(keys) > 1 else pd.Index(df[keys[0]])
        s, c = g["sum"].reindex(idx).to_numpy(), g["count"].reindex(idx).to_numpy()
        p = (s + prior_weight * p) / (c + prior_weight)
    return pd.Series(p, index=df.index)


def _features(o: pd.DataFrame, due_by: pd.Timestamp, age_bins) -> pd.DataFrame:
    close = pd.to_datetime(o["close_date"]).astype("datetime64[us]")
    return pd.DataFrame(
        {
            "stage_name": o["stage_name"].fillna("(unknown)").to_numpy(),
            "age_bucket": _age_bucket(o["age_days"].to_numpy(), age_bins),
            "due": (close <= due_by).fillna(True).to_numpy(),
            "amount": o["amount"].astype(float).fillna(0).to_numpy(),
        }
    )


class _WonIn:
    """The won amount closed between two days (and created after a third) of one frame of won deals.

    Its dates and amounts are read once: a forecast asks about sixty times, for each past snapshot.
    """

    def __init__(self, won: pd.DataFrame):
        self._close = pd.to_datetime(won["close_date"]).astype("datetime64[us]").to_numpy()
        self._amount = won["amount"].astype(float).fillna(0).reset_index(drop=True)
        self._created = _utc_naive(won["created_date"]).to_numpy() if "created_date" in won else None

    def between(self, first, last) -> np.ndarray:
        """Deals closed from ``first`` to ``last`` (days, both included)."""
        first, last = pd.Timestamp(first).to_datetime64(), pd.Timestamp(last).to_datetime64()
        return (self._close >= first) & (self._close <= last)

    def __call__(self, first, last, created_after=None) -> float:
        keep = self.between(first, last)
        if created_after is not None:
            keep &= self._created >= (created_after + pd.Timedelta(days=1)).to_datetime64()
        return float(self._amount[keep].sum())


def _one_quarter(crm, day, ahead, *, fy, age_bins, prior_weight, run_rate_days, where, data_start, confidence):
    label, start, end = _bounds(day, ahead, fy)
    _, q0, q0_end = _bounds(day, 0, fy)
    offset = (day - q0).days
    final = _opportunities(crm, day, where)
    won = final[_flag(final["is_won"]).to_numpy()]
    won_in = _WonIn(won)
    rr = pd.Timedelta(days=run_rate_days)
    snaps = []
    for k in range(1, 400):
        try:
            _, qk, qk_end = _bounds(day, -k, fy)
            _, sk, ek = _bounds(day, ahead - k, fy)
        except OutsideFiscalCalendar:
            break  # a custom calendar's quarters end: the history before its first year is not used
        tk = min(qk + pd.Timedelta(days=offset), qk_end)
        if tk - rr < data_start:
            break
        if ek > day:
            continue
        o = _open_on(crm, tk, where, "next_quarter_forecast")
        f = _features(o, ek, age_bins)
        first_win = max(sk, tk + pd.Timedelta(days=1))
        ids = won.loc[won_in.between(first_win, ek), "opportunity_id"]
        f["label"] = o["opportunity_id"].isin(set(ids)).to_numpy().astype(float)
        f["snap"] = len(snaps)
        snaps.append(
            {
                "f": f,
                "won": won_in(sk, min(ek, tk)),
                "new": won_in(sk, ek, created_after=tk),
                "run_rate": won_in(tk - rr + pd.Timedelta(days=1), tk),
                "actual": won_in(sk, ek),
            }
        )
    if len(snaps) < 2:
        raise ValueError(
            f"next_quarter_forecast: {len(snaps)} past quarter(s) to learn from as of {day:%Y-%m-%d} "
            f"for {label} (at least 2 needed: the history must cover {run_rate_days} days of "
            "run-rate plus the quarters before the target)"
        )
    hist = pd.concat([s["f"] for s in snaps], ignore_index=True)
    keys = [["stage_name", "age_bucket", "due"], ["stage_name", "due"], ["due"]]
    hist["p"] = _shrink(hist, keys, prior_weight)
    # new deals = (share of a target quarter's bookings from deals created after the snapshot, pooled)
    # x (the run-rate per quarter, held flat): a ratio to the run-rate itself would also carry the
    # growth of the learning quarters over the whole gap to the target quarter (run-rate window ->
    # target), which over-forecasts two quarters ahead once growth slows
    act_sum = sum(s["actual"] for s in snaps)
    share = sum(s["new"] for s in snaps) / act_sum if act_sum > 0 else 0.0
    ratio = share * ((end - start).days + 1) / run_rate_days
    # in-sample forecasts of the past quarters: their log errors give the interval
    fitted = np.array(
        [
            s["won"]
            + (hist.loc[hist["snap"] == i, "p"] * hist.loc[hist["snap"] == i, "amount"]).sum()
            + ratio * s["run_rate"]
            for i, s in enumerate(snaps)
        ]
    )
    actual = np.array([s["actual"] for s in snaps])
    ok = (fitted > 0) & (actual > 0)
    err = np.log(actual[ok] / fitted[ok])
    n = len(err)
    sigma = float(np.sqrt(np.mean(err**2))) if n else np.nan
    # today's deals, with the rates of their cells
    o = _open_deals(final, day, "next_quarter_forecast")
    f = _features(o, end, age_bins)
    table = hist.groupby(["stage_name", "age_bucket", "due"])["p"].first()
    p = table.reindex(pd.MultiIndex.from_frame(f[["stage_name", "age_bucket", "due"]])).to_numpy()
    if np.isnan(p).any():  # a cell never seen: the rate of its stage and due flag, else of its due flag
        coarse = hist.groupby(["stage_name", "due"])["label"].mean()
        p2 = coarse.reindex(pd.MultiIndex.from_frame(f[["stage_name", "due"]])).to_numpy()
        p3 = f["due"].map(hist.groupby("due")["label"].mean()).fillna(hist["label"].mean()).to_numpy()
        p = np.where(np.isnan(p), np.where(np.isnan(p2), p3, p2), p)
    won_now = won_in(start, min(end, day))
    pipeline = float((p * f["amount"]).sum())
    new = ratio * won_in(day - rr + pd.Timedelta(days=1), day)
    conf = f["stage_name"].map(_configured(crm.stages)).fillna(0).to_numpy()
    due_in = (pd.to_datetime(o["close_date"]) <= end).fillna(True).to_numpy()
    total = won_now + pipeline + new
    row = {
        "quarters_ahead": ahead,
        "fiscal_period": label,
        "period_start": start,
        "period_end": end,
        "won_to_date": won_now,
        "pipeline_expected": pipeline,
        "new_deals_expected": new,
        "forecast": total,
        "configured_weighted": won_now + float((conf * f["amount"] * due_in).sum()),
        "open_deals": len(f),
        "snapshots": len(snaps),
        "log_sigma": sigma,
        "new_deal_ratio": ratio,
        "new_deal_share": share,
    }
    for c, low, high in _interval_columns("forecast", confidence):
        q = student_t.ppf(0.5 + c / 2, df=max(n - 1, 1)) * sigma * np.sqrt(1 + 1 / max(n, 1))
        row[low], row[high] = total * np.exp(-q), total * np.exp(q)
    return row


def next_quarter_forecast(
    crm,
    *,
    as_of,
    where=None,
    quarters_ahead=(0, 1),
    fiscal_year_start_month: int = 1,
    age_bins=AGE_BINS,
    prior_weight: float = 10.0,
    run_rate_days: int = 182,
    confidence=CONFIDENCE,
) -> pd.DataFrame:
    """Expected revenue of the current (0 quarters ahead) and next (1) fiscal quarter, with intervals.

    Parameters
    ----------
    crm : CrmData
        The whole org; only what was known at the end of ``as_of`` is used.
    as_of : date
        The day forecast from.
    where : str, optional
        Only the opportunities this expression selects (:mod:`funnel_analysis.crm.expression`), on each
        day's cut as it stood that day: the forecast of that part of the business.
    quarters_ahead : int or sequence of int, default (0, 1)
        Quarters after the one containing ``as_of``.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    age_bins : tuple of int
        Lower edges (days open) of the age buckets.
    prior_weight : float
        Pseudo-deals shrinking each (stage, age, due) cell toward its coarser level.
    run_rate_days : int, default 182
        Window of the bookings run-rate.
    confidence : float or sequence of float, default (0.8, 0.95)
        Interval levels (fractions).

    Returns
    -------
    DataFrame
        One row per quarter: ``quarters_ahead``, ``fiscal_period``, ``period_start``, ``period_end``,
        ``won_to_date``, ``pipeline_expected``, ``new_deals_expected``, ``forecast``, ``forecast_ci_low_80``,
        ``forecast_ci_high_80``, ``forecast_ci_low_95``, ``forecast_ci_high_95`` (one level:
        ``forecast_ci_low``, ``forecast_ci_high``), the configured-probability baseline ``configured_weighted``
        (won so far + open amount due in the quarter x stage probability), ``open_deals``,
        ``snapshots`` (past quarters learned from), ``log_sigma``, ``new_deal_share`` (share of a
        quarter's bookings from deals created after the day) and ``new_deal_ratio`` (new deals
        expected / run-rate), and what was left out of the learning, the same on every row:
        ``left_out_periods`` (months from the first win to the start of regular bookings),
        ``left_out_deals`` and ``left_out_amount`` (the won deals closed in them) and ``note`` (one line,
        ``""`` when nothing was left out).

    Raises
    ------
    ValueError
        When fewer than two past quarters can be learned from.
    """
    day = _to_day(as_of, "next_quarter_forecast")
    _interval_columns("forecast", confidence)  # a bad level fails before any cut
    regular = _regular_on(crm, day, where)
    opps = crm.rows("opportunities", where=where)
    created = _utc_naive(opps["created_date"])
    if regular.start is not None:  # the prologue's deals (closed before regular bookings start) are left out
        created = created[~(_utc_naive(opps["close_date"]) < regular.start).to_numpy()]
    created = created.dropna()
    created = created[created < day + pd.Timedelta(days=1)]  # what was known on the day, nothing later
    if created.empty:
        raise ValueError(f"next_quarter_forecast: no opportunity was created by {day:%Y-%m-%d}")
    data_start = created.quantile(0.01).normalize()
    ahead = [quarters_ahead] if isinstance(quarters_ahead, int | np.integer) else list(quarters_ahead)
    rows = [
        _one_quarter(
            crm,
            day,
            int(k),
            fy=fiscal_year_start_month,
            age_bins=age_bins,
            prior_weight=prior_weight,
            run_rate_days=run_rate_days,
            where=where,
            data_start=data_start,
            confidence=confidence,
        )
        for k in ahead
    ]
    return pd.DataFrame([{**row, **regular.columns()} for row in rows])
