"""Report entry points of the forecasting notebook: one call per section, each on the whole org.

Each takes the org (``crm``), the day it is seen as of (``as_of``; ``None`` or ``""``: the latest date
in the data) and a row filter ``where`` (an expression of :mod:`funnel_analysis.crm.expression` over the
opportunities, evaluated on each as-of cut as the deals stood that day), and calls the analysis of
:mod:`funnel_analysis.forecast.pipeline`, :mod:`funnel_analysis.forecast.next_quarter`,
:mod:`funnel_analysis.forecast.timeseries` or :mod:`funnel_analysis.forecast.backtest`:

- :func:`next_quarter_forecast`: the current and next quarter's expected revenue with intervals;
- :func:`weighted_pipeline`: the open pipeline weighted by the configured and by the learned probabilities;
- :func:`forecast_categories`: the forecast categories of the last few close periods;
- :func:`bookings_forecast`: the bookings series, its forecast (fan chart) and the methods' scores;
- :func:`backtest_next_quarter`: the next-quarter forecast on past quarter ends against what closed;
- :func:`probability_calibration`: configured and learned probabilities against what won in past periods;
- :func:`slipped_pipeline`: the open pipeline of deals that slipped before, against deals like them that closed.

Examples
--------
A three-deal org (the standard stages: Prospecting 10 %, Negotiation/Review 90 %):

>>> import pandas as pd
>>> from funnel_analysis.crm import load_frames
>>> from funnel_analysis.forecast import report
>>> opportunities = pd.DataFrame({
...     "Id": ["006A", "006B", "006C"], "StageName": ["Closed Won", "Prospecting", "Negotiation/Review"],
...     "Amount": [1000, 800, 2000], "CreatedDate": ["2024-01-02", "2024-02-01", "2024-03-01"],
...     "CloseDate": ["2024-02-01", "2024-06-30", "2024-08-15"], "IsClosed": [True, False, False],
...     "IsWon": [True, False, False]})
>>> crm = load_frames({"Opportunity": opportunities})
>>> wp = report.weighted_pipeline(crm, as_of="2024-06-30", probabilities="configured")
>>> wp[["fiscal_period", "open_amount", "weighted_amount"]]
  fiscal_period  open_amount  weighted_amount
0     FY2024-Q2        800.0             80.0
1     FY2024-Q3       2000.0           1800.0
>>> report.weighted_pipeline(crm, as_of="2024-06-30", where="amount >= 1000", probabilities="configured")[
...     ["fiscal_period", "open_amount", "weighted_amount"]]
  fiscal_period  open_amount  weighted_amount
0     FY2024-Q3       2000.0           1800.0

The sections that learn from past quarters need years of history (``data/sample``):

>>> report.next_quarter_forecast(crm, as_of="2025-06-30", where="owner.region == 'EMEA'")  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .._util.missing import mark_missing
from ..crm.field_history import history_note, slip_history
from ..crm.model import CrmData, resolve_as_of
from ..periods import FiscalCalendar, fiscal_calendar
from ..stats import rate_table
from . import backtest as _backtest
from . import next_quarter as _next_quarter
from . import pipeline as _pipeline
from .backtest import _method_list
from .definitions import with_definitions
from .next_quarter import _regular_bookings
from .timeseries import CONFIDENCE, METHODS, WINDOW, Forecaster, regular_start

__all__ = [
    "next_quarter_forecast",
    "weighted_pipeline",
    "forecast_categories",
    "bookings_forecast",
    "backtest_next_quarter",
    "probability_calibration",
    "slipped_pipeline",
    "BookingsForecast",
    "NextQuarterBacktest",
]

#: The probability sets of :func:`weighted_pipeline`.
PROBABILITIES = ("configured", "learned")


def _report_cut(crm, as_of, where):
    """The org as of the report day (:func:`~funnel_analysis.crm.model.cut_as_of`), the cut the other sections
    read: without ``where`` that of the org's deals' tables alone (:func:`.pipeline._cut_of`), the same
    opportunities, which the next-quarter section has made already."""
    if not isinstance(crm, CrmData):
        raise TypeError(f"crm must be a CrmData (funnel_analysis.load_org), got {type(crm).__name__}")
    return _pipeline._cut_of(crm, resolve_as_of(crm, as_of=as_of), where)


def _by(by):
    """``by`` with the report parameter's empty string meaning no breakdown."""
    if by is None or (isinstance(by, str) and not by.strip()):
        return None
    return by


@dataclass(frozen=True)
class BookingsForecast:
    """What :func:`bookings_forecast` returns: the series, its forecast, how each method scored, what was left out.

    Attributes
    ----------
    history : Series
        Won amount (or count) per period, indexed by the period's first day, from the start of the org's
        regular activity (:func:`~funnel_analysis.forecast.timeseries.regular_start`).
    forecast : DataFrame
        The chosen method's forecast: ``ds``, ``yhat``, ``yhat_ci_low_80``, ``yhat_ci_high_80``,
        ``yhat_ci_low_95``, ``yhat_ci_high_95``, ``method``.
    scores : DataFrame
        Each method's rolling-origin backtest scores (:attr:`ForecastResults.scores
        <funnel_analysis.forecast.timeseries.ForecastResults>`).
    method : str
        The method chosen.
    left_out_periods : int
        Periods before the series' start (from the period of the first win), not fitted.
    left_out_deals : int
        Won deals closed in those periods.
    left_out_amount : float
        Their won amount.
    note : str
        One line saying what was left out (``""`` when nothing was).
    """

    history: pd.Series
    forecast: pd.DataFrame
    scores: pd.DataFrame
    method: str
    left_out_periods: int = 0
    left_out_deals: int = 0
    left_out_amount: float = 0.0
    note: str = ""


@dataclass(frozen=True)
class NextQuarterBacktest:
    """What :func:`backtest_next_quarter` returns: every forecast made on a past day, and their summary.

    Attributes
    ----------
    results : DataFrame
        One row per day and method (:func:`funnel_analysis.forecast.backtest.backtest_next_quarter`).
    summary : DataFrame
        Accuracy per method (:func:`funnel_analysis.forecast.backtest.summarize_backtest`).
    """

    results: pd.DataFrame
    summary: pd.DataFrame


def next_quarter_forecast(
    crm,
    *,
    as_of=None,
    where=None,
    quarters_ahead=(0, 1),
    fiscal_year_start_month: int | FiscalCalendar = 1,
    confidence=CONFIDENCE,
    age_bins=_pipeline.AGE_BINS,
    prior_weight: float = 10.0,
    run_rate_days: int = 182,
) -> pd.DataFrame:
    """Expected revenue of the current and the next fiscal quarter, with intervals.

    Parameters
    ----------
    crm : CrmData
        The whole org; only what was known at the end of ``as_of`` is used.
    as_of : date, str or None
        The day forecast from; ``None`` or ``""``: the latest date in the data.
    where : str, optional
        Only the opportunities this expression selects, on each day's cut.
    quarters_ahead : int or sequence of int, default (0, 1)
        Quarters after the one containing ``as_of``.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    confidence : float or sequence of float, default (0.8, 0.95)
        Interval levels (fractions).
    age_bins, prior_weight, run_rate_days
        As in :func:`funnel_analysis.forecast.next_quarter.next_quarter_forecast`.

    Returns
    -------
    DataFrame
        One row per quarter (:func:`funnel_analysis.forecast.next_quarter.next_quarter_forecast`).

    Raises
    ------
    ValueError
        Fewer than two past quarters to learn from, or a bad ``where``.
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    return with_definitions(
        _next_quarter.next_quarter_forecast(
            crm,
            as_of=resolve_as_of(crm, as_of=as_of),
            where=where,
            quarters_ahead=quarters_ahead,
            fiscal_year_start_month=fiscal_year_start_month,
            confidence=confidence,
            age_bins=age_bins,
            prior_weight=prior_weight,
            run_rate_days=run_rate_days,
        ),
        "next_quarter",
    )


def weighted_pipeline(
    crm,
    *,
    as_of=None,
    by=None,
    where=None,
    period: str = "Q",
    fiscal_year_start_month: int | FiscalCalendar = 1,
    probabilities=PROBABILITIES,
    age_bins=_pipeline.AGE_BINS,
    prior_weight: float = 10.0,
) -> pd.DataFrame:
    """The open pipeline per close period, weighted by each set of win probabilities, one after the other.

    ``configured``: the stages' probabilities; ``learned``: the rates learned from past periods
    (:func:`~funnel_analysis.forecast.pipeline.learn_win_probabilities`, from the deals ``where`` selects).

    Parameters
    ----------
    crm : CrmData
        The whole org.
    as_of : date, str or None
        The day of the pipeline; ``None`` or ``""``: the latest date in the data.
    by : str or list of str, optional
        Segment columns of the opportunities (``owner_id``); ``""`` for none.
    where : str, optional
        Only the open opportunities this expression selects (and, for the learned rates, the past ones).
    period : {"Q", "M"}
        Close periods: fiscal quarters or months.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    probabilities : sequence of {"configured", "learned"}, default both
        The probability sets, in the order of the rows.
    age_bins, prior_weight
        Of the learned probabilities.

    Returns
    -------
    DataFrame
        The rows of :func:`~funnel_analysis.forecast.pipeline.weighted_pipeline` for each set, told apart by
        ``probabilities``.

    Raises
    ------
    ValueError
        An unknown probability set, a bad ``where`` or ``period``.
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    sets = [probabilities] if isinstance(probabilities, str) else list(probabilities)
    unknown = [p for p in sets if p not in PROBABILITIES]
    if unknown or not sets:
        raise ValueError(f"weighted_pipeline: probabilities must be some of {PROBABILITIES}, got {probabilities!r}")
    cut = _report_cut(crm, as_of, where)
    day = cut.as_of_date
    opps = cut.rows("opportunities", where=where)
    parts = []
    for source in sets:
        learned = None
        if source == "learned":
            learned = _pipeline.learn_win_probabilities(
                crm,
                as_of=day,
                where=where,
                period=period,
                fiscal_year_start_month=fiscal_year_start_month,
                age_bins=age_bins,
                prior_weight=prior_weight,
            )
        parts.append(
            _pipeline.weighted_pipeline(
                opps,
                stages=crm.stages,
                as_of=day,
                probabilities=learned,
                period=period,
                by=_by(by),
                fiscal_year_start_month=fiscal_year_start_month,
                age_bins=age_bins,
            )
        )
    return with_definitions(pd.concat(parts, ignore_index=True), "weighted_pipeline")


def forecast_categories(
    crm,
    *,
    as_of=None,
    by=None,
    where=None,
    period: str = "Q",
    fiscal_year_start_month: int | FiscalCalendar = 1,
    last_periods: int | None = None,
) -> pd.DataFrame:
    """Forecast categories rolled up per close period, on the org as it stood at the end of ``as_of``.

    Parameters
    ----------
    crm : CrmData
        The whole org.
    as_of : date, str or None
        The day; ``None`` or ``""``: the latest date in the data.
    by : str or list of str, optional
        Segment columns of the opportunities; ``""`` for none.
    where : str, optional
        Only the opportunities this expression selects.
    period : {"Q", "M"}
        Fiscal quarters or months.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    last_periods : int, optional
        Only the last ``last_periods`` close periods that hold a deal; all when omitted.

    Returns
    -------
    DataFrame
        :func:`~funnel_analysis.forecast.pipeline.forecast_categories`.

    Raises
    ------
    ValueError
        A bad ``where`` or ``last_periods``.
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    cut = _report_cut(crm, as_of, where)
    day = cut.as_of_date
    return with_definitions(
        _pipeline.forecast_categories(
            cut.rows("opportunities", where=where),
            as_of=day,
            stages=crm.stages,
            period=period,
            by=_by(by),
            fiscal_year_start_month=fiscal_year_start_month,
            last_periods=last_periods,
        ),
        "forecast_categories",
    )


def bookings_forecast(
    crm,
    *,
    as_of=None,
    where=None,
    period: str = "M",
    horizon: int = 6,
    methods=METHODS,
    n_origins: int = 3,
    confidence=CONFIDENCE,
    value: str = "amount",
    start="auto",
) -> BookingsForecast:
    """The bookings per period up to ``as_of`` and their forecast by the method a rolling-origin backtest chose.

    The series starts where the org's regular activity starts (``start="auto"``): a sparse prologue, such as
    the few deals imported from an older system with a close date before their creation, is left out of the
    fit by :func:`~funnel_analysis.forecast.timeseries.regular_start` (everything before the last
    quarter-long stretch that booked less than a fifth of the recent level), and the result says what it left
    out. The start is found on the whole org as of the same day, whatever ``where`` selects, and applied to
    the selected deals (as :func:`next_quarter_forecast` does): a prologue is a property of the data, and a
    small segment's (one owner's) empty quarters inside the org's regular activity are real zeros, not a
    reason to drop its history.

    Parameters
    ----------
    crm : CrmData
        The whole org.
    as_of : date, str or None
        The last day known; ``None`` or ``""``: the latest date in the data.
    where : str, optional
        Only the opportunities this expression selects.
    period : {"W", "M", "Q"}, default "M"
        Of the series: weeks (ending Sunday), calendar months or quarters.
    horizon : int, default 6
        Periods forecast.
    methods : sequence of str or str, default every method
        Methods scored (:data:`~funnel_analysis.forecast.timeseries.METHODS`), or one comma-separated string.
    n_origins : int, default 3
        Backtest origins of the choice.
    confidence : float or sequence of float, default (0.8, 0.95)
        Interval levels (fractions).
    value : {"amount", "count"}
        Won amount or won deals.
    start : "auto", date or None, default "auto"
        First day of the series: ``"auto"`` where the org's regular activity starts (of the won amount, or of
        the won deals for ``value="count"``), a date (its period), or ``None`` for the period of the selected
        deals' first win; the series never starts before the selected deals' first win.

    Returns
    -------
    BookingsForecast
        ``history``, ``forecast``, ``scores``, ``method``, and what was left out (``left_out_periods``,
        ``left_out_deals``, ``left_out_amount``, ``note``).

    Raises
    ------
    ValueError
        No won deal by ``as_of``, a series too short for the horizon (rule ``too_short``), an unknown method.
    """
    cut = _report_cut(crm, as_of, where)
    day = cut.as_of_date
    opps = cut.rows("opportunities", where=where)
    if period not in WINDOW:
        raise ValueError(f"bookings_forecast: period must be one of {sorted(WINDOW)}, got {period!r}")
    # the selected deals' series from their first win (raises when they won nothing by the day)
    whole = _next_quarter.bookings_series(opps, as_of=day, period=period, value=value, start=None)
    if isinstance(start, str) and start == "auto":
        # where regular activity starts is the org's (an import, the first months of use), not the segment's:
        # regular_start on the whole org as of the same day, applied to the selected deals, as next_quarter
        # does; a small segment's empty quarters inside the org's regular activity are real zeros
        org = _next_quarter.bookings_series(
            cut.rows("opportunities"), as_of=day, period=period, value=value, start=None
        )
        first = regular_start(org, period=period)
        start = org.index[first] if first < len(org) else day + pd.Timedelta(days=1)
    left = _regular_bookings(opps, as_of=day, period=period, start=start)
    series = whole.iloc[left.periods :]
    note = left.note
    try:
        fit = Forecaster(
            series,
            period=period,
            horizon=horizon,
            methods=_method_list(methods) or METHODS,
            n_origins=n_origins,
            confidence=confidence,
            series_id="bookings",
        ).fit()
    except ValueError as exc:
        raise ValueError(f"bookings_forecast: {exc}" + (f" ({note})" if note else "")) from exc
    return BookingsForecast(
        history=series,
        forecast=fit.forecast(),
        scores=with_definitions(fit.scores, "ts_scores"),
        method=fit.method,
        left_out_periods=left.periods,
        left_out_deals=left.deals,
        left_out_amount=left.amount,
        note=note,
    )


def backtest_next_quarter(
    crm,
    *,
    as_of=None,
    where=None,
    quarters: int = 6,
    quarters_ahead: int = 1,
    fiscal_year_start_month: int | FiscalCalendar = 1,
    ts_methods=("es", "ets", "sarimax", "theta", "combo"),
    ts_origins: int = 3,
    min_quarters: int = 4,
    confidence=CONFIDENCE,
    progress: bool = False,
) -> NextQuarterBacktest:
    """The track record seen from ``as_of``: the next-quarter forecast made on the last past quarter ends.

    The days are the last ``quarters`` fiscal quarter ends whose target quarter is over by ``as_of``
    (:func:`~funnel_analysis.forecast.backtest.past_quarter_ends`); each forecast uses only what was known
    on its day, against what closed in its target quarter.

    Parameters
    ----------
    crm : CrmData
        The whole org.
    as_of : date, str or None
        The day the track record is seen from; ``None`` or ``""``: the latest date in the data.
    where : str, optional
        Only the opportunities this expression selects (forecasts and actuals).
    quarters : int, default 6
        Past quarter ends forecast from.
    quarters_ahead : int, default 1
        1 = each day's next quarter, 0 = its current one.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    ts_methods : sequence of str or str
        Time-series methods scored, a sequence or one comma-separated string (``"ets,theta"``).
    ts_origins : int, default 3
        Backtest origins of the time-series method choice on each day.
    min_quarters : int, default 4
        Complete quarters of bookings needed on a day.
    confidence : sequence of float, default (0.8, 0.95)
        Interval levels (fractions) of the pipeline forecast.
    progress : bool
        A tqdm bar over the days.

    Returns
    -------
    NextQuarterBacktest
        ``results`` (one row per day and method) and their ``summary``.

    Raises
    ------
    ValueError
        Too little history on the first day, or ``quarters`` below 1.
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    day = resolve_as_of(crm, as_of=as_of)
    days = _backtest.past_quarter_ends(
        as_of=day, n=quarters, quarters_ahead=quarters_ahead, fiscal_year_start_month=fiscal_year_start_month
    )
    results = _backtest.backtest_next_quarter(
        crm,
        as_of=days,
        where=where,
        quarters_ahead=quarters_ahead,
        fiscal_year_start_month=fiscal_year_start_month,
        ts_methods=ts_methods,
        ts_origins=ts_origins,
        min_quarters=min_quarters,
        confidence=confidence,
        progress=progress,
    )
    summary = _backtest.summarize_backtest(results)
    if results.attrs.get("note"):  # the days left out, under the summary too
        summary.attrs["note"] = results.attrs["note"]
    return NextQuarterBacktest(
        results=with_definitions(results, "backtest"), summary=with_definitions(summary, "backtest")
    )


def probability_calibration(
    crm,
    *,
    as_of=None,
    where=None,
    period: str = "Q",
    fiscal_year_start_month: int | FiscalCalendar = 1,
    bins=(0.0, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0001),
    age_bins=_pipeline.AGE_BINS,
    prior_weight: float = 10.0,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Configured and learned win probabilities against what won, on the periods over by ``as_of``.

    Parameters
    ----------
    crm : CrmData
        The whole org.
    as_of : date, str or None
        The last day known; ``None`` or ``""``: the latest date in the data.
    where : str, optional
        Only the opportunities this expression selects, on each snapshot's cut.
    period : {"Q", "M"}
        Fiscal quarters or months.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    bins : sequence of float
        Edges of the probability bins.
    age_bins, prior_weight
        Of the learned probabilities.
    confidence : float, default 0.95
        Level of the observed share's interval.

    Returns
    -------
    DataFrame
        :func:`~funnel_analysis.forecast.pipeline.probability_calibration`.

    Raises
    ------
    ValueError
        No period over by ``as_of``, or a bad ``where``.
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    return with_definitions(
        _pipeline.probability_calibration(
            crm,
            as_of=resolve_as_of(crm, as_of=as_of),
            where=where,
            period=period,
            fiscal_year_start_month=fiscal_year_start_month,
            bins=bins,
            age_bins=age_bins,
            prior_weight=prior_weight,
            confidence=confidence,
        ),
        "calibration",
    )


def slipped_pipeline(crm, *, as_of=None, where=None) -> pd.DataFrame:
    """The open pipeline split by whether each deal slipped before, with what such deals brought in.

    Deals whose close date was already pushed tend to slip again and to close lost more often. Per
    ``slip_history`` (see :func:`funnel_analysis.velocity.report.slipped_deals`), the open deals and
    their amount next to the deals of the same history that had closed by the day: the win rate by
    count (with its Wilson interval) and by amount, and the open amount at that amount win rate.

    Parameters
    ----------
    crm : CrmData
        The whole org.
    as_of : date, str or None
        The day of the pipeline; ``None`` or ``""``: the latest date in the data.
    where : str, optional
        Only the opportunities this expression selects (open and closed).

    Returns
    -------
    DataFrame
        One row per ``slip_history`` with a deal: ``n_open``, ``open_amount``, ``n_closed``, ``n_won``,
        ``win_rate`` with ``win_rate_ci_low`` / ``win_rate_ci_high``, ``amount_win_rate`` (won amount
        of the closed amount) and ``expected_amount`` (``open_amount`` x ``amount_win_rate``; missing
        where no deal of the history had closed). Money is in the corporate currency. Empty and marked
        missing, in one line, when the org has no close-date history.

    Examples
    --------
    >>> report.slipped_pipeline(crm)[["slip_history", "open_amount", "win_rate"]]  # doctest: +SKIP
    """
    cut = _report_cut(crm, as_of, where)
    opps = cut.rows("opportunities", where=where)
    columns = ["slip_history", "n_open", "open_amount", "n_closed", "n_won", "win_rate"]
    if "slipped_before" not in opps.columns or not crm.has("opportunity_field_history"):
        return with_definitions(
            mark_missing(pd.DataFrame(columns=columns), history_note(crm, table="opportunity_field_history")),
            "slipped_pipeline",
        )
    closed = opps["is_closed"].fillna(False).astype(bool)
    won = closed & opps["is_won"].fillna(False).astype(bool)
    amount = opps["amount"].astype("float64")
    d = opps.assign(
        slip_history=slip_history(opps),
        _open=~closed,
        _closed=closed,
        _won=won,
        _open_amount=amount.where(~closed),
        _closed_amount=amount.where(closed),
        _won_amount=amount.where(won),
    )
    out = (
        d.groupby("slip_history", observed=True)
        .agg(
            n_open=("_open", "sum"),
            open_amount=("_open_amount", "sum"),
            n_closed=("_closed", "sum"),
            n_won=("_won", "sum"),
            closed_amount=("_closed_amount", "sum"),
            won_amount=("_won_amount", "sum"),
        )
        .reset_index()
    )
    out = rate_table(out, successes="n_won", trials="n_closed", name="win_rate")
    out["amount_win_rate"] = out["won_amount"] / out["closed_amount"].where(out["closed_amount"] > 0)
    out["expected_amount"] = out["open_amount"] * out["amount_win_rate"]
    out["slip_history"] = out["slip_history"].astype("str")  # rows in SLIP_HISTORY's order: the categories
    return with_definitions(out.drop(columns=["closed_amount", "won_amount"]), "slipped_pipeline")
