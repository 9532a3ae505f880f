"""A working calendar and the business minutes between two instants.

Rules
-----
- A :class:`Calendar` is the weekly opening hours (one span per weekday, local wall clock, or closed), the
  holidays (a day closed all day, or closed from one minute of the day to another) and an IANA time zone.
- Its source, in order: Salesforce's ``BusinessHours`` export (the row marked ``IsDefault``, else the first active
  one; times such as ``09:00:00.000Z`` are read in the BusinessHours' own time zone, as Salesforce exports them,
  despite the ``Z``; a start equal to the end, both ``00:00``, is open all day) and its ``Holiday`` rows; else the
  rules file's ``calendar:``; else every minute counts (24x7), and :attr:`Calendar.source` says so.
- **Business minutes** between two instants count the real elapsed minutes that fall inside opening hours, so a
  day whose opening hours span a clock change has its true length, and a 24x7 calendar gives wall-clock minutes.
  An end before the start gives the negative of the minutes from the end to the start; a missing instant gives a
  missing result.
- Only holidays that happen once, or every year on the same date (``RecursYearly`` with a month and a day), are
  understood; :func:`calendar_from_tables` refuses the other recurrences rather than ignore them.

Examples
--------
>>> cal = Calendar(time_zone="UTC", hours={"mon": "09:00-17:00", "tue": "09:00-17:00"})
>>> start = pd.Series(pd.to_datetime(["2025-01-06 16:00", "2025-01-06 08:00"], utc=True))
>>> end = pd.Series(pd.to_datetime(["2025-01-07 10:00", "2025-01-06 08:30"], utc=True))
>>> business_minutes(start, end, cal).tolist()
[120.0, 0.0]
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

__all__ = ["Calendar", "CalendarError", "business_minutes", "calendar_from_tables", "org_calendar", "DAYS"]

#: The weekday keys of a calendar's ``hours``, Monday first.
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LONG = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_SF_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?Z?\s*$")


class CalendarError(ValueError):
    """A calendar that cannot be read: one line naming where and what."""


def _zone(name: str, where: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise CalendarError(f"{where}: a time zone is an IANA name such as 'America/New_York', got {name!r}")
    try:
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"{where}: unknown time zone {name!r} (an IANA name such as 'Europe/Berlin')") from None
    return name.strip()


def _span(text, where: str) -> tuple[int, int] | None:
    """'09:00-17:00' -> (540, 1020); None, '' or 'closed' -> None."""
    if text is None or (isinstance(text, str) and text.strip().lower() in ("", "closed")):
        return None
    m = _SPAN.match(str(text))
    if not m:
        raise CalendarError(f"{where}: opening hours are 'HH:MM-HH:MM' (or 'closed'), got {text!r}")
    a, b = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
    if b == 0 and a >= 0:
        b = 1440  # until midnight
    if not (0 <= a < b <= 1440) or int(m[2]) > 59 or int(m[4]) > 59:
        raise CalendarError(f"{where}: opening hours {text!r} must start before they end, within one day")
    return a, b


@dataclass(frozen=True)
class Calendar:
    """Weekly opening hours, holidays and a time zone.

    Parameters
    ----------
    time_zone : str, default "UTC"
        IANA name; the hours and holidays are in its local wall clock.
    hours : mapping of str to str, or None
        Weekday key (:data:`DAYS`, or the full English name) -> ``"HH:MM-HH:MM"``; a weekday not given is closed.
        ``None``: open every minute of every day (24x7).
    holidays : iterable
        Closed days: ISO dates, or ``(date, start_minute, end_minute)`` for a part of a day.
    source : str, default "rules file"
        Where the calendar comes from, for a report's note.

    Attributes
    ----------
    spans : tuple
        Per weekday (Monday first) the open ``(start_minute, end_minute)`` or None when closed.
    closed : tuple
        ``(date, start_minute, end_minute)`` per holiday, in date order.

    Raises
    ------
    CalendarError
        An unknown time zone or weekday, unreadable hours or holiday.

    Examples
    --------
    >>> Calendar(time_zone="Europe/Berlin", hours={"mon": "08:30-12:00"}).spans[:2]
    ((510, 720), None)
    >>> Calendar.always().is_24x7
    True
    """

    time_zone: str = "UTC"
    hours: Mapping[str, str] | None = None
    holidays: tuple = ()
    source: str = "rules file"
    spans: tuple = field(init=False, repr=False, compare=False)
    closed: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        where = f"calendar ({self.source})"
        object.__setattr__(self, "time_zone", _zone(self.time_zone, f"{where}.time_zone"))
        if self.hours is None:
            spans = ((0, 1440),) * 7
        else:
            if not isinstance(self.hours, Mapping):
                raise CalendarError(f"{where}.hours: a mapping of weekday -> 'HH:MM-HH:MM', got {self.hours!r}")
            spans_list: list = [None] * 7
            for key, text in self.hours.items():
                k = str(key).strip().lower()
                idx = DAYS.index(k) if k in DAYS else _LONG.index(k) if k in _LONG else None
                if idx is None:
                    raise CalendarError(f"{where}.hours: unknown weekday {key!r} (one of {', '.join(DAYS)})")
                spans_list[idx] = _span(text, f"{where}.hours.{k}")
            spans = tuple(spans_list)
        closed = []
        for i, h in enumerate(self.holidays or ()):
            day, a, b = (h, 0, 1440) if not isinstance(h, (tuple, list)) else (*h,)
            try:
                d = pd.Timestamp(day).date()
            except (ValueError, TypeError):
                raise CalendarError(f"{where}.holidays[{i}]: not a date: {day!r}") from None
            a, b = int(a), int(b)
            if not 0 <= a < b <= 1440:
                raise CalendarError(f"{where}.holidays[{i}]: closed minutes {a}-{b} are not within one day")
            closed.append((d, a, b))
        object.__setattr__(self, "holidays", tuple(self.holidays or ()))
        object.__setattr__(self, "spans", spans)
        object.__setattr__(self, "closed", tuple(sorted(closed)))

    @classmethod
    def always(cls, *, time_zone: str = "UTC", source: str = "24x7") -> Calendar:
        """Every minute counts (no calendar known).

        Parameters
        ----------
        time_zone : str, default "UTC"
            Kept for the hour-of-week breakdowns.
        source : str, default "24x7"
            The note.

        Returns
        -------
        Calendar
            Open every minute, no holidays.
        """
        return cls(time_zone=time_zone, hours=None, source=source)

    @property
    def is_24x7(self) -> bool:
        """Whether every minute of every day is open (no holiday).

        Returns
        -------
        bool
            True for a calendar with no closed minute.
        """
        return all(s == (0, 1440) for s in self.spans) and not self.closed

    def with_time_zone(self, time_zone: str) -> Calendar:
        """The same hours and holidays in another time zone (a user's ``TimeZoneSidKey``).

        Parameters
        ----------
        time_zone : str
            IANA name.

        Returns
        -------
        Calendar
            A new calendar; this one is unchanged.
        """
        return Calendar(
            time_zone=time_zone,
            hours=None if self.hours is None else dict(self.hours),
            holidays=self.holidays,
            source=self.source,
        )

    def note(self) -> str:
        """One line: where the calendar comes from and what it holds.

        Returns
        -------
        str
            The note for a report.
        """
        if self.hours is None and not self.closed:
            return f"business minutes are wall-clock minutes ({self.source}: no BusinessHours.csv, no calendar)"
        open_days = sum(s is not None for s in self.spans)
        return f"business hours from {self.source}: {open_days} open days a week, {len(self.closed)} holidays, {self.time_zone}"

    def _segments(self, first: _dt.date, last: _dt.date) -> tuple[np.ndarray, np.ndarray]:
        """Open segments (UTC, int64 microseconds) of every local day from ``first`` to ``last``."""
        days = pd.date_range(first, last, freq="D")
        wd = days.day_of_week.to_numpy()
        starts, ends = [], []
        base = days.to_numpy("datetime64[us]").astype("int64")
        minute = 60_000_000
        closed: dict[_dt.date, list[tuple[int, int]]] = {}
        for d, a, b in self.closed:
            closed.setdefault(d, []).append((a, b))
        for i, day0 in enumerate(base):
            span = self.spans[wd[i]]
            if span is None:
                continue
            pieces = [span]
            for a, b in closed.get(days[i].date(), ()):
                nxt = []
                for s, e in pieces:
                    if b <= s or a >= e:
                        nxt.append((s, e))
                        continue
                    if s < a:
                        nxt.append((s, a))
                    if b < e:
                        nxt.append((b, e))
                pieces = nxt
            for s, e in pieces:
                starts.append(day0 + s * minute)
                ends.append(day0 + e * minute)
        if not starts:
            return np.zeros(0, "int64"), np.zeros(0, "int64")
        local_s = pd.DatetimeIndex(np.array(starts, dtype="datetime64[us]"))
        local_e = pd.DatetimeIndex(np.array(ends, dtype="datetime64[us]"))
        return _to_utc(local_s, self.time_zone), _to_utc(local_e, self.time_zone)


def _to_utc(local: pd.DatetimeIndex, zone: str) -> np.ndarray:
    """Local wall-clock times -> UTC int64 microseconds (a time in a spring gap moves forward; in the autumn
    repeat, the first of the two)."""
    utc = local.tz_localize(zone, ambiguous=np.ones(len(local), dtype=bool), nonexistent="shift_forward")
    return utc.tz_convert("UTC").tz_localize(None).as_unit("us").asi8


def _utc_us(values) -> tuple[np.ndarray, np.ndarray]:
    """Instants as UTC int64 microseconds, and where they are missing (naive values are read as UTC)."""
    s = pd.Series(values)
    if not isinstance(s.dtype, pd.DatetimeTZDtype):
        s = pd.to_datetime(s, utc=True)
    s = s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
    missing = s.isna().to_numpy()
    return s.to_numpy("datetime64[us]").astype("int64"), missing


def business_minutes(start, end, calendar: Calendar | None = None) -> pd.Series:
    """Business minutes from each ``start`` to its ``end``, vectorised.

    Parameters
    ----------
    start, end : Series or array-like of timestamps
        Instants (timezone-aware, or naive read as UTC), of equal length.
    calendar : Calendar, optional
        The working calendar; None: 24x7 (wall-clock minutes).

    Returns
    -------
    Series of float
        Minutes, with the index of ``start`` when it is a Series; negative where ``end`` is before ``start``;
        missing where either is.

    Raises
    ------
    ValueError
        When the lengths differ.

    Examples
    --------
    >>> cal = Calendar(time_zone="America/New_York", hours={"fri": "09:00-17:00", "mon": "09:00-17:00"})
    >>> business_minutes(pd.Series([pd.Timestamp("2025-01-03 21:00", tz="UTC")]),
    ...                  pd.Series([pd.Timestamp("2025-01-06 15:00", tz="UTC")]), cal).tolist()
    [120.0]

    Friday 16:00-17:00 and Monday 09:00-10:00 in New York (UTC-5 in January).
    """
    calendar = calendar or Calendar.always()
    index = start.index if isinstance(start, pd.Series) else None
    # .array keeps a timezone-aware column typed (to_numpy would make Timestamps objects, parsed again one by one)
    a, miss_a = _utc_us(start.array if isinstance(start, pd.Series) else start)
    b, miss_b = _utc_us(end.array if isinstance(end, pd.Series) else end)
    if len(a) != len(b):
        raise ValueError(f"business_minutes: start has {len(a)} values, end {len(b)}")
    ok = ~(miss_a | miss_b)
    out = np.full(len(a), np.nan)
    if ok.any():
        if calendar.is_24x7:
            out[ok] = (b[ok] - a[ok]) / 60e6
        else:
            lo, hi = int(min(a[ok].min(), b[ok].min())), int(max(a[ok].max(), b[ok].max()))
            first = (pd.Timestamp(lo, unit="us", tz="UTC").tz_convert(calendar.time_zone).date()) - _dt.timedelta(
                days=1
            )
            last = (pd.Timestamp(hi, unit="us", tz="UTC").tz_convert(calendar.time_zone).date()) + _dt.timedelta(days=1)
            seg_s, seg_e = calendar._segments(first, last)
            out[ok] = _cumulative(b[ok], seg_s, seg_e) - _cumulative(a[ok], seg_s, seg_e)
    return pd.Series(out, index=index, dtype="float64")


def _cumulative(t: np.ndarray, seg_s: np.ndarray, seg_e: np.ndarray) -> np.ndarray:
    """Open minutes from the first segment's start to each instant ``t``."""
    if not len(seg_s):
        return np.zeros(len(t))
    length = seg_e - seg_s
    before = np.concatenate([[0], np.cumsum(length)])
    i = np.searchsorted(seg_s, t, side="right") - 1
    inside = np.where(i >= 0, np.clip(t - seg_s[np.maximum(i, 0)], 0, length[np.maximum(i, 0)]), 0)
    return (before[np.maximum(i, 0)] * (i >= 0) + inside) / 60e6


def _sf_time(value, where: str) -> int | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value):
        return None
    m = _SF_TIME.match(str(value))
    if not m or int(m[1]) > 24 or int(m[2]) > 59:
        raise CalendarError(f"{where}: a time is 'HH:MM:SS.sssZ', got {value!r}")
    return int(m[1]) * 60 + int(m[2])


def calendar_from_tables(business_hours: pd.DataFrame, holidays: pd.DataFrame | None = None) -> Calendar | None:
    """The calendar of Salesforce's ``BusinessHours`` and ``Holiday`` exports (tables ``business_hours``, ``holidays``).

    Parameters
    ----------
    business_hours : DataFrame
        The ``business_hours`` table: ``is_default``, ``is_active``, ``time_zone_sid_key`` and
        ``<weekday>_start_time`` / ``<weekday>_end_time``.
    holidays : DataFrame, optional
        The ``holidays`` table: ``activity_date``, ``is_all_day``, ``start_time_in_minutes``,
        ``end_time_in_minutes``, ``is_recurrence``, ``recurrence_type``.

    Returns
    -------
    Calendar or None
        From the default row (else the first active one); None when the table has no row. A yearly holiday is
        repeated on its date in every year from its date to ten years after.

    Raises
    ------
    CalendarError
        Unreadable times, an unknown time zone, or a recurrence other than yearly on a date.

    Examples
    --------
    >>> bh = pd.DataFrame({"business_hours_id": ["01m1"], "is_default": [True], "is_active": [True],
    ...                    "time_zone_sid_key": ["UTC"], "monday_start_time": ["09:00:00.000Z"],
    ...                    "monday_end_time": ["17:00:00.000Z"]})
    >>> calendar_from_tables(bh).spans[0]
    (540, 1020)
    """
    if business_hours is None or not len(business_hours):
        return None
    bh = business_hours
    rank = np.zeros(len(bh))
    if "is_active" in bh:
        rank += np.where(bh["is_active"].fillna(True).astype(bool).to_numpy(), 0, 2)
    if "is_default" in bh:
        rank += np.where(bh["is_default"].fillna(False).astype(bool).to_numpy(), 0, 1)
    row = bh.iloc[int(np.argmin(rank))]
    name = row.get("name") if isinstance(row.get("name"), str) else row.get("business_hours_id")
    where = f"BusinessHours.csv {name!r}"
    hours = {}
    for short, day in zip(DAYS, _LONG, strict=True):
        a = _sf_time(row.get(f"{day}_start_time"), f"{where} {day}_start_time")
        b = _sf_time(row.get(f"{day}_end_time"), f"{where} {day}_end_time")
        if a is None or b is None:
            continue
        if b <= a and b == 0:
            b = 1440
        if a == b == 1440 or (a == 0 and b == 1440):
            hours[short] = "00:00-00:00"
        elif b > a:
            hours[short] = f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}"
        else:
            raise CalendarError(f"{where} {day}: the end {b // 60:02d}:{b % 60:02d} is not after the start")
    zone = row.get("time_zone_sid_key")
    zone = zone if isinstance(zone, str) and zone.strip() else "UTC"
    closed = []
    if holidays is not None and len(holidays):
        for _, h in holidays.iterrows():
            hname = h.get("name") if isinstance(h.get("name"), str) else h.get("holiday_id")
            day = h.get("activity_date")
            if pd.isna(day):
                raise CalendarError(f"Holiday.csv {hname!r}: no ActivityDate")
            day = pd.Timestamp(day).date()
            all_day = h.get("is_all_day")
            if pd.isna(all_day) or bool(all_day):
                a, b = 0, 1440
            else:
                a, b = h.get("start_time_in_minutes"), h.get("end_time_in_minutes")
                if pd.isna(a) or pd.isna(b):
                    raise CalendarError(f"Holiday.csv {hname!r}: not all day, but no Start/EndTimeInMinutes")
                a, b = int(a), int(b)
            rec = h.get("is_recurrence")
            if pd.notna(rec) and bool(rec):
                kind = h.get("recurrence_type")
                if kind != "RecursYearly":
                    raise CalendarError(
                        f"Holiday.csv {hname!r}: recurrence {kind!r} is not understood (only RecursYearly on a date)"
                    )
                closed += [(day.replace(year=day.year + k), a, b) for k in range(11) if _valid(day, day.year + k)]
            else:
                closed.append((day, a, b))
    return Calendar(time_zone=zone, hours=hours, holidays=tuple(closed), source=where)


def _valid(day: _dt.date, year: int) -> bool:
    try:
        day.replace(year=year)
    except ValueError:  # 29 February
        return False
    return True


def org_calendar(crm, *, fallback: Calendar | None = None) -> Calendar:
    """The org's calendar: its BusinessHours/Holiday exports, else ``fallback`` (the rules file's), else 24x7.

    Parameters
    ----------
    crm : CrmData
        The org.
    fallback : Calendar, optional
        The rules file's ``calendar:``.

    Returns
    -------
    Calendar
        Its :attr:`~Calendar.source` says which was used.

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> org_calendar(load_frames({"Lead": pd.DataFrame({"Id": ["00Q000000000001AAA"]})})).note()
    'business minutes are wall-clock minutes (24x7: no BusinessHours.csv, no calendar)'
    """
    tables = crm.tables
    bh = tables.get("business_hours")
    if bh is not None and len(bh):
        cal = calendar_from_tables(bh, tables.get("holidays"))
        if cal is not None:
            return cal
    if fallback is not None:
        return fallback
    return Calendar.always()
