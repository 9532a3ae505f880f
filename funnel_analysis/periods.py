"""Fiscal periods: which fiscal year, quarter or month a date falls in.

Sales teams report by fiscal period, and a fiscal year need not start in
January. Labels follow Salesforce's standard fiscal years:

- a fiscal year is **named by the calendar year in which it ends** (with a
  fiscal year starting in April, April 2024 - March 2025 is ``FY2025``); a
  fiscal year starting in January is simply the calendar year;
- quarters and months are numbered from the fiscal year's first month:
  ``FY2025-Q1`` (April - June 2024), ``FY2025-M01`` (April 2024).

Salesforce's **custom fiscal years** (4-4-5 quarters, 52/53-week years) are a
:class:`FiscalCalendar` built from the org's ``Period`` export
(:meth:`FiscalCalendar.from_periods`); every function here, and every analysis that takes
``fiscal_year_start_month``, accepts one in its place. A custom year is named as the standard
fiscal year (of the same start month) that holds its middle day, so a 4-4-5 year from
2024-02-04 to 2025-02-01 is ``FY2025``; its quarters and months are numbered in order from its
first. A date outside the periods the export defines is an error (:class:`OutsideFiscalCalendar`),
never silently given a standard period: export the missing years' ``Period`` rows.

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

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "fiscal_period",
    "last_complete_period",
    "period_bounds",
    "FiscalCalendar",
    "OutsideFiscalCalendar",
    "fiscal_calendar",
    "FREQUENCIES",
]

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


class OutsideFiscalCalendar(ValueError):
    """A date outside the periods a custom :class:`FiscalCalendar` defines."""


_KINDS = {"year": "Y", "quarter": "Q", "month": "M"}


@dataclass(frozen=True)
class FiscalCalendar:
    """The org's fiscal calendar: a start month, and Salesforce's custom fiscal periods when it has them.

    Build one with :meth:`standard` or :meth:`from_periods`; pass it wherever an analysis takes
    ``fiscal_year_start_month``.

    Attributes
    ----------
    start_month : int
        First month of the fiscal year (for a custom calendar: the month its years start in,
        which names them).
    periods : tuple of (str, Timestamp, Timestamp)
        ``(kind, first day, last day)`` with kind ``"Y"``, ``"Q"`` or ``"M"``, sorted; empty for the
        standard calendar.
    source : str
        Where the periods come from (the ``Period.csv`` file), for messages.

    Examples
    --------
    >>> cal = FiscalCalendar.from_periods(
    ...     [("Year", "2024-02-04", "2025-02-01"), ("Quarter", "2024-02-04", "2024-05-04")]
    ... )
    >>> cal.custom, cal.start_month, cal.first_day.date().isoformat()
    (True, 2, '2024-02-04')
    >>> FiscalCalendar.standard(4).custom
    False
    """

    start_month: int = 1
    periods: tuple = ()
    source: str = ""

    @classmethod
    def standard(cls, start_month: int = 1) -> FiscalCalendar:
        """The standard fiscal year starting in ``start_month``.

        Parameters
        ----------
        start_month : int, default 1
            First month of the fiscal year, 1-12.

        Returns
        -------
        FiscalCalendar
            Without custom periods.

        Raises
        ------
        ValueError
            For a month outside 1-12.
        """
        _check_month(start_month)
        return cls(int(start_month))

    @classmethod
    def from_periods(cls, periods, *, start_month: int | None = None, source: str = "") -> FiscalCalendar:
        """A custom calendar from ``Period`` rows.

        Parameters
        ----------
        periods : iterable
            Rows as ``(type, start, end)`` tuples or objects with ``type``, ``start``, ``end``
            (such as :class:`~funnel_analysis.project.FiscalPeriod`); type ``Year``, ``Quarter`` or
            ``Month`` (case-insensitive; ``Week`` rows are ignored), dates inclusive.
        start_month : int, optional
            The month the years start in; by default that of the first ``Year`` row.
        source : str, optional
            The file the rows come from, named in errors.

        Raises
        ------
        ValueError
            Without ``Year`` rows, with a row ending before it starts, or with two periods of one
            kind that overlap.
        """
        rows = []
        for row in periods:
            kind, start, end = (row.type, row.start, row.end) if hasattr(row, "type") else row
            code = _KINDS.get(str(kind).strip().casefold())
            if code is None:
                continue
            start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
            if end < start:
                raise ValueError(
                    f"FiscalCalendar: {source or 'periods'}: a {kind} period ends {end.date()} before it starts"
                )
            rows.append((code, start, end))
        rows.sort(key=lambda r: ("YQM".index(r[0]), r[1]))
        years = [r for r in rows if r[0] == "Y"]
        if not years:
            raise ValueError(
                f"FiscalCalendar: {source or 'periods'}: expected Year periods (Type = Year) to name the years"
            )
        for code in "YQM":
            mine = [r for r in rows if r[0] == code]
            for a, b in zip(mine, mine[1:]):
                if b[1] <= a[2]:
                    raise ValueError(
                        f"FiscalCalendar: {source or 'periods'}: periods {a[1].date()}-{a[2].date()} "
                        f"and {b[1].date()}-{b[2].date()} overlap"
                    )
        month = years[0][1].month if start_month is None else start_month
        _check_month(month)
        return cls(int(month), tuple(rows), str(source))

    @property
    def custom(self) -> bool:
        """Whether the calendar has custom periods."""
        return bool(self.periods)

    @property
    def first_day(self):
        """The first day its custom years cover (NaT for the standard calendar)."""
        return min((r[1] for r in self.periods if r[0] == "Y"), default=pd.NaT)

    @property
    def last_day(self):
        """The last day its custom years cover (NaT for the standard calendar)."""
        return max((r[2] for r in self.periods if r[0] == "Y"), default=pd.NaT)

    def describe(self) -> str:
        """One line for a definition: the fiscal year, as a reader would check it against Salesforce.

        Returns
        -------
        str
            The start month, and the custom periods' span when there are any.

        Examples
        --------
        >>> FiscalCalendar.standard(2).describe()
        'the fiscal year starting in February'
        """
        import calendar

        text = f"the fiscal year starting in {calendar.month_name[self.start_month]}"
        if self.custom:
            text += f"; Salesforce's custom fiscal periods from {self.first_day.date()} to {self.last_day.date()}"
        return text


def _check_month(value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= int(value) <= 12:
        raise ValueError(f"fiscal_year_start_month must be 1-12 or a FiscalCalendar, got {value!r}")


def fiscal_calendar(*, fiscal_year_start_month=1, org=None) -> FiscalCalendar:
    """The calendar a ``fiscal_year_start_month`` argument means.

    Parameters
    ----------
    fiscal_year_start_month : int or FiscalCalendar, default 1
        A start month (1-12) or a calendar, as every analysis takes it.
    org : FiscalCalendar or CrmData, optional
        The org's own calendar, or the org that carries it (``crm.meta["fiscal_calendar"]``, set
        from the profile by :func:`~funnel_analysis.project.apply_profile`). A start month equal to its start month
        means that calendar, custom periods included: the report parameters carry the month,
        the loaded org the periods. Any other month means the standard fiscal year starting then.

    Returns
    -------
    FiscalCalendar

    Raises
    ------
    ValueError
        For a month outside 1-12 or a value that is neither.

    Examples
    --------
    >>> cal = FiscalCalendar.from_periods([("Year", "2024-02-04", "2025-02-01")])
    >>> fiscal_calendar(fiscal_year_start_month=2, org=cal).custom, fiscal_calendar(fiscal_year_start_month=4, org=cal).custom
    (True, False)
    """
    if isinstance(fiscal_year_start_month, FiscalCalendar):
        return fiscal_year_start_month
    _check_month(fiscal_year_start_month)
    meta = getattr(org, "meta", None)
    if isinstance(meta, dict):
        org = meta.get("fiscal_calendar")
    if isinstance(org, FiscalCalendar) and org.start_month == int(fiscal_year_start_month):
        return org
    return FiscalCalendar(int(fiscal_year_start_month))


def _custom_table(cal: FiscalCalendar, period: str, year_named_by: str) -> pd.DataFrame:
    """The calendar's periods of one kind: start, end, fiscal year name, label (sorted by start)."""
    years = [(s, e) for k, s, e in cal.periods if k == "Y"]
    rows = [(s, e) for k, s, e in cal.periods if k == period]
    if not rows:
        kind = {"Q": "Quarter", "M": "Month"}[period]
        raise ValueError(
            f"fiscal_period: the custom fiscal calendar ({cal.source or 'Period rows'}) has no {kind} periods"
        )
    # a year is named as the standard fiscal year holding its middle day
    mids = [s + (e - s) / 2 for s, e in years]
    names = _standard(pd.DatetimeIndex(mids), "Y", cal.start_month, year_named_by)["fiscal_year"].tolist()
    out, count = [], {}
    for s, e in rows:
        holder = [i for i, (ys, ye) in enumerate(years) if ys <= s <= ye]
        if not holder:
            raise ValueError(
                f"fiscal_period: the custom fiscal calendar ({cal.source or 'Period rows'}): the {period} period "
                f"starting {s.date()} lies in no Year period"
            )
        name = int(names[holder[0]])
        count[name] = count.get(name, 0) + 1
        width = 2 if period == "M" else 1
        label = f"FY{name}" if period == "Y" else f"FY{name}-{period}{count[name]:0{width}d}"
        out.append((s, e, name, label))
    return pd.DataFrame(out, columns=["start", "end", "fiscal_year", "label"])


def _custom(days: pd.DatetimeIndex, period: str, cal: FiscalCalendar, year_named_by: str) -> pd.DataFrame:
    table = _custom_table(cal, period, year_named_by)
    starts = table["start"].to_numpy(dtype="datetime64[ns]")
    ends = table["end"].to_numpy(dtype="datetime64[ns]")
    values = days.to_numpy(dtype="datetime64[ns]")
    missing = days.isna()
    pos = np.searchsorted(starts, values, side="right") - 1
    ok = (pos >= 0) & (values <= ends[np.clip(pos, 0, None)])
    bad = ~ok & ~missing
    if bad.any():
        first = days[bad].min()
        kind = {"Y": "years", "Q": "quarters", "M": "months"}[period]
        raise OutsideFiscalCalendar(
            f"fiscal_period: {first.date()} ({int(bad.sum())} date(s) in all) is outside the custom fiscal "
            f"calendar's {kind} ({cal.source or 'Period rows'}: {table['start'].min().date()} to "
            f"{table['end'].max().date()}"
            + ("" if period == "Y" else ", with gaps where a period is missing")
            + "); export Period with the missing fiscal years defined (Setup > Fiscal Year)"
        )
    pos = np.clip(pos, 0, None)
    out = pd.DataFrame(
        {
            "fiscal_year": pd.array(table["fiscal_year"].to_numpy()[pos], dtype="Int64"),
            "fiscal_period": pd.array(table["label"].to_numpy(dtype=object)[pos], dtype="str"),
            "period_start": pd.DatetimeIndex(starts[pos]).astype("datetime64[us]"),
            "period_end": pd.DatetimeIndex(ends[pos]).astype("datetime64[us]"),
        }
    )
    if missing.any():
        out.loc[missing, "fiscal_year"] = pd.NA
        out.loc[missing, "fiscal_period"] = None
        out.loc[missing, ["period_start", "period_end"]] = pd.NaT
    return out


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
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First calendar month of the fiscal year (1 = January), or the org's calendar with
        Salesforce's custom fiscal periods.
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
    OutsideFiscalCalendar
        With a custom calendar: a date outside the periods it defines (a ``ValueError``).

    Examples
    --------
    >>> fiscal_period(["2024-02-15"], period="M", fiscal_year_start_month=2)["fiscal_period"].tolist()
    ['FY2025-M01']
    >>> cal = FiscalCalendar.from_periods([("Year", "2024-02-04", "2025-02-01")])
    >>> fiscal_period(["2024-02-04"], period="Y", fiscal_year_start_month=cal)["fiscal_period"].tolist()
    ['FY2025']
    """
    if period not in FREQUENCIES:
        raise ValueError(f"fiscal_period: period must be one of {sorted(FREQUENCIES)}, got {period!r}")
    if year_named_by not in ("end", "start"):
        raise ValueError(f"fiscal_period: year_named_by must be 'end' or 'start', got {year_named_by!r}")
    try:
        cal = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month)
    except ValueError as exc:
        raise ValueError(f"fiscal_period: {exc}") from None
    index = dates.index if isinstance(dates, pd.Series) else None
    days = _naive_dates(dates)
    if cal.custom:
        out = _custom(days, period, cal, year_named_by)
    else:
        out = _standard(days, period, cal.start_month, year_named_by)
    if index is not None:
        out.index = index
    return out


def _standard(days: pd.DatetimeIndex, period: str, start: int, year_named_by: str) -> pd.DataFrame:
    """Standard fiscal periods of naive dates (fiscal year starting in month ``start``)."""
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
    return out


def last_complete_period(*, as_of, period: str = "Q", fiscal_year_start_month=1) -> pd.Series:
    """The last fiscal period that had ended by the end of ``as_of``.

    A period ending on ``as_of`` itself counts as complete (cuts are taken at the end of the day).

    Parameters
    ----------
    as_of : date-like
        The report date.
    period : {"Q", "M", "Y"}, default "Q"
    fiscal_year_start_month : int or FiscalCalendar, default 1

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
    current = period_bounds(as_of=day[0], period=period, fiscal_year_start_month=fiscal_year_start_month)
    row = current if current["period_end"] == day[0] else _step(current, -1, period, fiscal_year_start_month)
    return pd.Series({**row.to_dict(), "day_before": row["period_start"] - pd.Timedelta(days=1)})


def _step(row: pd.Series, offset: int, period: str, fiscal_year_start_month) -> pd.Series:
    """The period ``offset`` periods after the one ``row`` describes."""
    cal = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month)
    if offset == 0:
        return row
    if cal.custom:
        table = _custom_table(cal, period, "end")
        pos = int(
            np.searchsorted(table["start"].to_numpy(dtype="datetime64[ns]"), np.datetime64(row["period_start"], "ns"))
        )
        target = pos + offset
        if not 0 <= target < len(table):
            raise OutsideFiscalCalendar(
                f"period_bounds: {abs(offset)} period(s) {'after' if offset > 0 else 'before'} {row['fiscal_period']} "
                f"is outside the custom fiscal calendar ({cal.source or 'Period rows'}: "
                f"{table['start'].min().date()} to {table['end'].max().date()}); export Period with more years defined"
            )
        day = table["start"].iloc[target]
    else:
        day = pd.Timestamp(row["period_start"]) + pd.DateOffset(months=FREQUENCIES[period] * offset)
    return period_bounds(as_of=day, period=period, fiscal_year_start_month=cal)


def period_bounds(*, as_of, period: str = "Q", offset: int = 0, fiscal_year_start_month=1) -> pd.Series:
    """The fiscal period ``offset`` periods after the one holding ``as_of`` (before it when negative).

    Parameters
    ----------
    as_of : date-like
        A day in the period to count from.
    period : {"Q", "M", "Y"}, default "Q"
    offset : int, default 0
        Periods to move: 1 is the next period, -4 the same quarter a year before.
    fiscal_year_start_month : int or FiscalCalendar, default 1

    Returns
    -------
    Series
        ``fiscal_period``, ``period_start``, ``period_end``.

    Raises
    ------
    ValueError
        As :func:`fiscal_period`, or a missing ``as_of``; :class:`OutsideFiscalCalendar` when the
        period lies beyond a custom calendar's periods.

    Examples
    --------
    >>> b = period_bounds(as_of="2024-05-10", offset=-4, fiscal_year_start_month=2)
    >>> b["fiscal_period"], str(b["period_start"].date())
    ('FY2024-Q2', '2023-05-01')
    """
    day = None if as_of is None or pd.isna(as_of) else _naive_dates(as_of)
    if day is None or day.isna().any():
        raise ValueError("period_bounds: as_of is missing")
    row = fiscal_period(day, period=period, fiscal_year_start_month=fiscal_year_start_month).iloc[0]
    row = row[["fiscal_period", "period_start", "period_end"]]
    return _step(row, int(offset), period, fiscal_year_start_month)
