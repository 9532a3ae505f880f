"""When a scheduled report is due, and the relative parameters it resolves at run time.

A report's schedule is a cron expression read in its time zone (croniter with zone-aware times,
so 06:00 in Europe/Berlin stays 06:00 local across daylight-saving changes). A report is due when
its latest scheduled time (its *slot*) has passed and no successful scheduled run holds that slot
or a later one: after a missed night, or a week the machine was off, it runs once, for the latest
slot, not once per missed slot. A failed run is retried, up to the report's ``retries`` failed runs
per slot, with a back-off: after the k-th failed run of a slot the next try waits
``retry_backoff * 2**(k-1)`` minutes from that run's end (its manifest's ``started_at`` plus
``duration_s``), so an export that is broken for an hour is not hammered by every call. The state
is the published runs themselves (each manifest records its slot, status, start and duration), so
there is no separate state file to lose or corrupt.

Daylight saving, as Vixie cron does it: a time skipped by the spring change runs right after it
(croniter gives 03:00 for a 02:30 schedule), and a time repeated by the autumn change runs once,
because slots are compared by their local wall-clock time.

Relative parameter values, resolved against the slot's local day (or the current day for
``funnel report run``) and recorded in the manifest next to the token they came from:

=====================================  =========================================================
``today``, ``yesterday``               that day, ``YYYY-MM-DD``
``last_monday`` ... ``last_sunday``    the latest such weekday strictly before the day
``end_of_previous_month``              the last day of the month before (also ``_quarter``, ``_year``)
``previous_month``                     that month as ``YYYY-MM``; ``previous_quarter`` as ``YYYYQn``;
                                       ``previous_year`` as ``YYYY``
=====================================  =========================================================

>>> from datetime import date
>>> params = {"as_of": "last_friday", "period": "previous_quarter", "segment": "x"}
>>> values, relative = resolve_relative(params, today=date(2026, 11, 27))
>>> values, relative
({'as_of': '2026-11-20', 'period': '2026Q3', 'segment': 'x'}, {'as_of': 'last_friday', 'period': 'previous_quarter'})
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from .._util.results import Unpackable

__all__ = [
    "RELATIVE_TOKENS",
    "ResolvedParameters",
    "resolve_relative",
    "latest_slot",
    "slot_key",
    "last_success",
    "run_end",
    "Due",
    "due_reports",
]

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _end_of_previous(day: date, freq: str) -> date:
    return _period_start(day, freq) - timedelta(days=1)


def _period_start(day: date, freq: str) -> date:
    month = {"month": day.month, "quarter": 3 * ((day.month - 1) // 3) + 1, "year": 1}[freq]
    return date(day.year, month, 1)


def _previous_label(day: date, freq: str) -> str:
    p = pd.Period(_end_of_previous(day, freq), freq={"month": "M", "quarter": "Q", "year": "Y"}[freq])
    return {"month": f"{p.year}-{p.month:02d}", "quarter": f"{p.year}Q{p.quarter}", "year": f"{p.year}"}[freq]


def _relative(day: date) -> dict:
    """Every relative token and its value on ``day``."""
    out = {"today": day.isoformat(), "yesterday": (day - timedelta(days=1)).isoformat()}
    for i, name in enumerate(_WEEKDAYS):
        out[f"last_{name}"] = (day - timedelta(days=(day.weekday() - i - 1) % 7 + 1)).isoformat()
    for freq in ("month", "quarter", "year"):
        out[f"end_of_previous_{freq}"] = _end_of_previous(day, freq).isoformat()
        out[f"previous_{freq}"] = _previous_label(day, freq)
    return out


#: The relative values a parameter may hold (see the module doc).
RELATIVE_TOKENS: tuple[str, ...] = tuple(_relative(date(2000, 1, 1)))


@dataclass(frozen=True)
class ResolvedParameters(Unpackable):
    """Parameters with their relative days resolved (unpacks as ``values, relative``).

    Attributes
    ----------
    values : dict
        The parameters, relative tokens replaced by dates.
    relative : dict
        ``{name: token}`` of those that were relative.
    """

    values: dict
    relative: dict


def resolve_relative(params: dict, *, today: date) -> ResolvedParameters:
    """``params`` with every relative token resolved on ``today``.

    Parameters
    ----------
    params : dict
        Report parameters; string values equal to a token of :data:`RELATIVE_TOKENS` are relative.
    today : date
        The day they resolve on.

    Returns
    -------
    ResolvedParameters
        The resolved values and ``{key: token}`` of those resolved.
    """
    values, done = _relative(today), {}
    out = dict(params)
    for k, v in params.items():
        if isinstance(v, str) and v.strip().lower() in values:
            done[k] = v.strip().lower()
            out[k] = values[done[k]]
    return ResolvedParameters(out, done)


def latest_slot(cron: str, tz: str, now: datetime) -> datetime:
    """The latest time at or before ``now`` the cron expression names, in the zone ``tz``.

    Parameters
    ----------
    cron : str
        A cron expression (``"0 6 * * mon"``), read in local time.
    tz : str
        The IANA time zone the expression is read in (``"Europe/Berlin"``).
    now : datetime.datetime
        The current time, time-zone aware.

    Returns
    -------
    datetime.datetime
        The slot, aware, in the zone ``tz``; ``now`` itself when it falls on one.
    """
    from croniter import croniter

    local = now.astimezone(ZoneInfo(tz))
    probe = local + timedelta(microseconds=1)  # get_prev is strictly before its start: include `now` itself
    return croniter(cron, probe).get_prev(datetime)


def slot_key(slot: datetime | str, tz: str) -> datetime:
    """A slot as naive local wall-clock time: the two 02:30 of an autumn night are one slot.

    Parameters
    ----------
    slot : datetime.datetime or str
        The slot, aware, or as ISO text (a manifest's ``scheduled_for``).
    tz : str
        The report's IANA time zone.

    Returns
    -------
    datetime.datetime
        The slot's local wall-clock time in ``tz``, naive, ``fold=0``: comparable across the
        autumn change.
    """
    slot = datetime.fromisoformat(slot) if isinstance(slot, str) else slot
    return slot.astimezone(ZoneInfo(tz)).replace(tzinfo=None, fold=0)


def _scheduled_runs(out_dir, name: str) -> list[dict]:
    """The scheduled runs of ``name``: its own folder's, and those of its for_each values (``<name>--*``)."""
    runs = []
    fanned = Path(out_dir).glob(f"{name}--*/*/manifest.json")  # a report name holds no glob character
    for mf in [*Path(out_dir, name).glob("*/manifest.json"), *fanned]:
        try:
            m = json.loads(mf.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # an unreadable manifest is not a success
        if mf.parent.parent.name != name and (m.get("for_each") or {}).get("report") != name:
            continue  # another report whose name only starts the same
        if m.get("scheduled_for"):
            runs.append(m)
    return runs


def _successes(runs: list[dict]) -> list[dict]:
    """The runs that count as a slot done: a report's own run that is ok; the runs of a ``for_each`` report
    only when, for their slot, the latest run of every value is ok (one failed team is a failed slot: it
    is retried, and the front page does not call it done)."""
    ok = [m for m in runs if not m.get("for_each") and m.get("status") == "ok"]
    latest: dict = {}
    for m in (m for m in runs if m.get("for_each")):
        key = (m["scheduled_for"], str((m.get("for_each") or {}).get("value")))
        if key not in latest or str(m.get("started_at") or "") >= str(latest[key].get("started_at") or ""):
            latest[key] = m
    slots: dict = {}
    for (slot, _), m in latest.items():
        slots.setdefault(slot, []).append(m)
    for values in slots.values():
        if all(m.get("status") == "ok" for m in values):
            ok.extend(values)
    return ok


def last_success(out_dir, name: str) -> Mapping | None:
    """The manifest of the report's latest successful scheduled run in ``out_dir`` (None: none yet).

    Parameters
    ----------
    out_dir : path-like
        The reports folder; runs are read from ``<out_dir>/<name>/*/manifest.json``.
    name : str
        The report's name.

    Returns
    -------
    Mapping or None
        The parsed manifest of the run with ``status`` ``"ok"`` and the latest ``scheduled_for`` (for a
        ``for_each`` report, a slot where the latest run of every value is ok);
        None when there is none (runs by ``funnel report run``, which hold no slot, do not count;
        unreadable manifests are skipped).
    """
    ok = _successes(_scheduled_runs(out_dir, name))
    return max(ok, key=lambda m: datetime.fromisoformat(m["scheduled_for"]), default=None)


def run_end(manifest: dict) -> datetime | None:
    """When a published run ended: its ``started_at`` plus ``duration_s`` (None: the manifest does not say).

    The runner writes both into every manifest; a run without a duration counts from its start.

    Parameters
    ----------
    manifest : dict
        A run's parsed ``manifest.json``.

    Returns
    -------
    datetime.datetime or None
        The end, aware (a naive ``started_at`` is read as UTC); None when ``started_at`` is
        missing or not an ISO time.
    """
    try:
        start = datetime.fromisoformat(str(manifest["started_at"]))
    except (KeyError, TypeError, ValueError):
        return None
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)  # the runner writes UTC
    duration = manifest.get("duration_s")
    return start + timedelta(seconds=duration) if isinstance(duration, (int, float)) and duration > 0 else start


@dataclass
class Due:
    """A scheduled report's state at ``now``: its latest slot, its last successful slot, whether due,
    the failed runs of that slot so far, and, while it backs off after a failed run, when it is next due.

    Attributes
    ----------
    name : str
        The report's name.
    slot : datetime.datetime
        Its latest scheduled time at ``now``, aware, in the report's time zone.
    last_slot : str or None
        The ``scheduled_for`` (ISO text) of its latest successful scheduled run; None: never run.
    due : bool
        Whether it should run now.
    failures : int
        Failed runs of ``slot`` so far (default 0).
    next_try : datetime.datetime or None
        While it backs off after a failed run, when it is next due (in the report's time zone);
        else None (the default).
    done : bool
        Whether a successful run holds the slot or a later one (default False).
    reason : str
        The state in words (read-only): ``"due for ..."``, ``"done for ..."``, ``"backing off
        ..."`` or ``"gave up on ..."``.
    """

    name: str
    slot: datetime
    last_slot: str | None
    due: bool
    failures: int = 0
    next_try: datetime | None = None
    done: bool = False  # a successful run holds the slot (or a later one)

    @property
    def reason(self) -> str:
        if self.done or (not self.due and not self.failures):
            return f"done for {self.slot.isoformat()}"
        if not self.due and self.next_try is not None:
            runs = f"{self.failures} failed run" + ("s" if self.failures > 1 else "")
            return f"backing off after {runs} for {self.slot.isoformat()}; next try at {self.next_try.isoformat()}"
        if not self.due:
            return (
                f"gave up on {self.slot.isoformat()} after {self.failures} failed runs; "
                "waiting for the next scheduled time"
            )
        return f"due for {self.slot.isoformat()}" + (
            f" (last success {self.last_slot})" if self.last_slot else " (never run)"
        )


def due_reports(specs, out_dir, now: datetime | None = None) -> list[Due]:
    """Every scheduled report's :class:`Due` at ``now`` (default: the current time, UTC).

    A slot whose runs failed ``spec.retries`` times is not retried again: an export that is broken
    for a week costs a few runs per scheduled time, not one per call of ``funnel report due``.
    Before that, the k-th failed run of a slot makes the next try wait ``spec.retry_backoff *
    2**(k-1)`` minutes from the end of the latest failed run (``next_try``, in the report's time zone).

    Parameters
    ----------
    specs : iterable of ReportSpec
        The reports of the config; those without a schedule are left out.
    out_dir : path-like
        The reports folder, whose published manifests are the state.
    now : datetime.datetime, optional
        The time to judge at, time-zone aware; default the current time.

    Returns
    -------
    list of Due
        One per scheduled report, in the order of ``specs``.

    Raises
    ------
    ValueError
        When ``now`` is naive.
    """
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("due_reports: now must be time-zone aware")
    out = []
    for spec in (s for s in specs if s.schedule):
        slot = latest_slot(spec.schedule, spec.timezone, now)
        runs, key = _scheduled_runs(out_dir, spec.name), slot_key(slot, spec.timezone)
        ok = [m["scheduled_for"] for m in _successes(runs)]
        last_slot = max(ok, key=datetime.fromisoformat, default=None)
        failed = [m for m in runs if m.get("status") != "ok" and slot_key(m["scheduled_for"], spec.timezone) == key]
        done = last_slot is not None and slot_key(last_slot, spec.timezone) >= key
        due = not done and len(failed) < spec.retries
        next_try = None
        if due and failed and spec.retry_backoff:
            # from the latest failed run's end; a manifest without times cannot hold a retry back
            end = max(filter(None, map(run_end, failed)), default=None)
            if end is not None:
                wait = timedelta(minutes=spec.retry_backoff * 2 ** (len(failed) - 1))
                next_try = (end + wait).astimezone(ZoneInfo(spec.timezone))
                # whole seconds, rounded up: the time `--dry-run` shows is the time it becomes due
                next_try += timedelta(microseconds=-next_try.microsecond % 1_000_000)
                due = now >= next_try
                next_try = None if due else next_try
        out.append(Due(spec.name, slot, last_slot, due, len(failed), next_try, done))
    return out
