"""Fiscal periods: which fiscal year, quarter or month a date falls in.

Sales teams report by fiscal period, and a fiscal year need not start in
January. Labels follow Salesforce's standard fiscal years:

- a fiscal year is **named by the calendar year in which it ends** (with a
  fiscal year starting in April, April 2024 - March 2025 is ``FY2025``); a
  fiscal year starting in January is simply the calendar year;
- quarters and months are numbered from the fiscal year's first month:
  ``FY2025-Q1`` (April - June 2024), ``FY2025-M01`` (April 2024).

Labels sort chronologically as text. Timestamps with a time zone are placed
by their calendar date in that time zone (loaded CRM timestamps are UTC);
date-only values are used as they are.

Examples
--------
>>> import pandas as pd
>>> fiscal_period(pd.Series(["2024-03-31", "2024-04-01"]), fiscal_year_start_month=4)
   fiscal_year fiscal_period period_start period_end
0         2024     FY2024-Q4   2024-01-01 2024-03-31
1         2025     FY2025-Q1   2024-04-01 2024-06-30
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["fiscal_period", "last_complete_period", "FREQUENCIES"]

#: Period lengths in months, by frequency code.
FREQUENCIES = {"M": 1, "Q": 3, "Y": 12}


def _naive_dates(dates) -> pd.DatetimeIndex:
    """Dates as a naive DatetimeIndex at midnight, local to their own time zone."""
    if isinstance(dates, (str, pd.Timestamp)) or np.isscalar(dates):
        dates = [dates]
    values = dates.array if isinstance(dates, (pd.Series, pd.Index)) else dates
    try:
        idx = pd.DatetimeIndex(pd.to_datetime(values, format="mixed"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"fiscal_period: dates could not be read as dates: {exc}") from exc
    if idx.tz is not None:
        # keep the wall-clock date in the data's own zone: 2024-03-31 23:30 UTC is in March
        idx = idx.tz_localize(None)
    return idx.normalize()


def fiscal_period(
    dates, *, period: str = "Q", fiscal_year_start_month: int = 1, year_named_by: str = "end"
) -> pd.DataFrame:
    """The fiscal year and period of each date.

    Parameters
    ----------
    dates : array-like, Series, DatetimeIndex or scalar
        Dates or timestamps, naive or time-zone aware; strings are parsed.
        Missing values give missing periods.
    period : {"Q", "M", "Y"}, default "Q"
        Fiscal quarter, month or year.
    fiscal_year_start_month : int, default 1
        First calendar month of the fiscal year (1 = January).
    year_named_by : {"end", "start"}, default "end"
        Name a fiscal year by the calendar year in which it ends (Salesforce's
        convention, the default) or in which it starts. The two agree when the
        fiscal year starts in January.

    Returns
    -------
    DataFrame
        One row per date, in input order (with the index of a Series input):
        ``fiscal_year`` (nullable Int64), ``fiscal_period`` (label such as
        ``FY2024-Q1``, ``FY2024-M03`` or ``FY2024``), ``period_start`` and
        ``period_end`` (first and last day of the period, naive dates).

    Raises
    ------
    ValueError
        For an unknown ``period`` or ``year_named_by``, a start month outside
        1-12, or values that are not dates.

    Examples
    --------
    >>> fiscal_period(["2024-02-15"], period="M", fiscal_year_start_month=2)["fiscal_period"].tolist()
    ['FY2025-M01']
    """
    if period not in FREQUENCIES:
        raise ValueError(f"fiscal_period: period must be one of {sorted(FREQUENCIES)}, got {period!r}")
    if year_named_by not in ("end", "start"):
        raise ValueError(f"fiscal_period: year_named_by must be 'end' or 'start', got {year_named_by!r}")
    start = int(fiscal_year_start_month)
    if start != fiscal_year_start_month or not 1 <= start <= 12:
        raise ValueError(f"fiscal_period: fiscal_year_start_month must be 1-12, got {fiscal_year_start_month!r}")
    index = dates.index if isinstance(dates, pd.Series) else None
    days = _naive_dates(dates)
    missing = days.isna()
    year = np.where(missing, 0, days.year).astype("int64")
    month = np.where(missing, 1, days.month).astype("int64")
    # months since the start of the fiscal year (0-11), and the calendar year it starts in
    fiscal_month = (month - start) % 12
    start_year = np.where(month >= start, year, year - 1)
    named = start_year + (1 if (year_named_by == "end" and start != 1) else 0)
    size = FREQUENCIES[period]
    number = fiscal_month // size + 1
    # first month of the period, counted in months since year 0, then back to a date
    first = start_year * 12 + (start - 1) + (number - 1) * size
    period_start = pd.to_datetime(pd.DataFrame({"year": first // 12, "month": first % 12 + 1, "day": 1}))
    period_end = period_start + pd.DateOffset(months=size) - pd.Timedelta(days=1)
    # format each distinct period once: a million dates hold only a few dozen periods
    keys, inverse = np.unique(named * 100 + number, return_inverse=True)
    width = 2 if period == "M" else 1
    texts = [f"FY{k // 100}" if period == "Y" else f"FY{k // 100}-{period}{k % 100:0{width}d}" for k in keys]
    labels = np.asarray(texts, dtype=object)[inverse.reshape(-1)] if len(keys) else np.array([], dtype=object)
    out = pd.DataFrame(
        {
            "fiscal_year": pd.array(named, dtype="Int64"),
            "fiscal_period": pd.array(labels, dtype="str"),
            "period_start": period_start.astype("datetime64[us]"),
            "period_end": period_end.astype("datetime64[us]"),
        }
    )
    if missing.any():
        out.loc[missing, "fiscal_year"] = pd.NA
        out.loc[missing, "fiscal_period"] = None
        out.loc[missing, ["period_start", "period_end"]] = pd.NaT
    if index is not None:
        out.index = index
    return out


def last_complete_period(*, as_of, period: str = "Q", fiscal_year_start_month: int = 1) -> pd.Series:
    """The last fiscal period that had ended by the end of ``as_of``.

    A period ending on ``as_of`` itself counts as complete (cuts are taken at the end of the day).

    Parameters
    ----------
    as_of : date-like
        The report date.
    period : {"Q", "M", "Y"}, default "Q"
    fiscal_year_start_month : int, default 1

    Returns
    -------
    Series
        ``fiscal_period``, ``period_start``, ``period_end`` and ``day_before`` (the last day
        before the period: the cut the period's pipeline starts from).

    Raises
    ------
    ValueError
        As :func:`fiscal_period`, or an ``as_of`` that is missing.

    Examples
    --------
    >>> p = last_complete_period(as_of="2024-08-15", period="Q", fiscal_year_start_month=2)
    >>> p["fiscal_period"], str(p["period_start"].date()), str(p["period_end"].date())
    ('FY2025-Q2', '2024-05-01', '2024-07-31')
    >>> str(last_complete_period(as_of="2024-06-30")["period_end"].date())  # a quarter ending that day is complete
    '2024-06-30'
    """
    day = None if as_of is None or pd.isna(as_of) else _naive_dates(as_of)
    if day is None or day.isna().any():
        raise ValueError("last_complete_period: as_of is missing")
    current = fiscal_period(day, period=period, fiscal_year_start_month=fiscal_year_start_month).iloc[0]
    if current["period_end"] == day[0]:
        row = current
    else:
        row = fiscal_period(
            current["period_start"] - pd.Timedelta(days=1),
            period=period,
            fiscal_year_start_month=fiscal_year_start_month,
        ).iloc[0]
    return pd.Series(
        {
            "fiscal_period": row["fiscal_period"],
            "period_start": row["period_start"],
            "period_end": row["period_end"],
            "day_before": row["period_start"] - pd.Timedelta(days=1),
        }
    )
