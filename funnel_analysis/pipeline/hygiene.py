"""Pipeline hygiene: the open deals and tasks a sales manager asks an owner to fix, as of a day.

Five checks, each a list of the records that fail it (one row per record, grouped by owner), and
:func:`hygiene_summary`, their counts and amounts per owner and check:

- :func:`past_close_date`: open deals whose close date is before the day (the forecast counts them in
  a quarter that is over);
- :func:`no_next_step`: open deals whose ``next_step`` (Salesforce's ``NextStep``) is empty or blank;
- :func:`no_recent_activity`: open deals with no activity (task or event whose ``what_id`` is the deal)
  in the last ``stale_days`` days;
- :func:`overdue_tasks`: tasks still open on the day whose due date (``activity_date``) is before it;
- :func:`missing_amounts`: open deals with no amount or an amount of zero.

Rules
-----
- **Open** is ``is_closed`` false on the day: pass the tables of ``crm.as_of(day)``, whose deals carry
  the stage, close date, amount and owner they had on that day (rebuilt from their history).
- **Days** are UTC calendar days; ``as_of`` is the day itself (its end). A deal is past its close date
  when its close date is before the day (a close date *on* the day is not late yet).
- **Activity recency** is timed by when the activity was logged, its ``created_date``: the due date
  (``activity_date``, date-only) of a task says when it was planned, not when anything happened. Only
  a row without a creation time falls back to its ``activity_date``; the note says how many did. An
  activity logged after the day does not count. A deal counts from its own creation: a deal younger
  than ``stale_days`` is not stale for lack of activity. A deal is stale when the last touch (its last
  activity, else its creation) is **more than** ``stale_days`` days before the day: an activity exactly
  ``stale_days`` days ago still counts as recent.
- **Tasks** are the activities from ``Task`` (``activity_kind == "task"``; events are never overdue).
  Open on the day: ``is_closed`` false now, or completed after the day (``completed_date_time``); a task
  without ``is_closed`` is closed when its status is ``Completed``. Created after the day: not yet there.
- Amounts are in the corporate currency (as loaded); a list's ``amount`` is the deal's amount.

Every function returns a new frame (the inputs are not changed) whose ``attrs["note"]`` says in one
line what it assumed.

Examples
--------
>>> import pandas as pd
>>> opps = pd.DataFrame({"opportunity_id": ["006A", "006B"], "owner_id": ["005X", "005X"],
...     "name": ["Acme", "Globex"], "stage_name": ["Qualify", "Propose"], "amount": [1000.0, 0.0],
...     "close_date": pd.to_datetime(["2024-03-01", "2024-06-30"]), "is_closed": [False, False]})
>>> past_close_date(opps, as_of="2024-03-31")[["opportunity_id", "days_past_close"]]
  opportunity_id  days_past_close
0           006A               30
>>> missing_amounts(opps)["opportunity_id"].tolist()
['006B']
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._util.frames import days as _days
from .._util.frames import flag as _flag
from .._util.frames import require as _require
from .._util.frames import to_day as _to_day

__all__ = [
    "CHECKS",
    "DEAL_COLUMNS",
    "past_close_date",
    "no_next_step",
    "no_recent_activity",
    "overdue_tasks",
    "missing_amounts",
    "hygiene_summary",
    "check_label",
]

#: The checks in the order a summary lists them: function name -> what a reader reads.
CHECKS = {
    "past_close_date": "past close date",
    "no_next_step": "no next step",
    "no_recent_activity": "no recent activity",
    "overdue_tasks": "overdue open tasks",
    "missing_amounts": "amount missing",
}
#: The columns every deal list starts with (then the check's own).
DEAL_COLUMNS = ["owner_id", "opportunity_id", "name", "stage_name", "amount", "close_date"]
_NEEDS = ["opportunity_id", "owner_id", "stage_name", "amount", "close_date", "is_closed"]
_TASK_COLUMNS = [
    "owner_id",
    "activity_id",
    "subject",
    "what_id",
    "who_id",
    "status",
    "activity_date",
    "days_overdue",
]


def check_label(check: str, *, stale_days: int | None = None) -> str:
    """What a reader calls a check: ``"past close date"``, ``"no activity in 14 days"``.

    Parameters
    ----------
    check : str
        A key of :data:`CHECKS` (the list function's name).
    stale_days : int, optional
        The window of :func:`no_recent_activity`, written into its label.

    Returns
    -------
    str
        The label.

    Raises
    ------
    ValueError
        When ``check`` is not one of :data:`CHECKS`.

    Examples
    --------
    >>> check_label("no_recent_activity", stale_days=14), check_label("missing_amounts")
    ('no activity in 14 days', 'amount missing')
    """
    if check not in CHECKS:
        raise ValueError(f"check: expected one of {', '.join(CHECKS)}, got {check!r}")
    if check == "no_recent_activity" and stale_days is not None:
        return f"no activity in {stale_days} days"
    return CHECKS[check]


def _open_deals(opps: pd.DataFrame, fn: str) -> pd.DataFrame:
    _require(opps, _NEEDS, fn, "opportunities")
    out = opps[~_flag(opps["is_closed"]).to_numpy()].copy()
    if "name" not in out.columns:
        out["name"] = None
    return out


def _by_owner(out: pd.DataFrame, *, worst: str | None = None) -> pd.DataFrame:
    """Rows grouped by owner (missing owners last), the worst first within an owner, then the largest,
    then by the record's ID (the same order whatever order the rows came in)."""
    keys, ascending = ["owner_id"], [True]
    if worst is not None:
        keys, ascending = [*keys, worst], [*ascending, False]
    if "amount" in out.columns:
        keys, ascending = [*keys, "amount"], [*ascending, False]
    ids = [c for c in ("opportunity_id", "activity_id") if c in out.columns][:1]  # ties: by the record's ID
    keys, ascending = keys + ids, ascending + [True] * len(ids)
    return out.sort_values(keys, ascending=ascending, kind="stable", na_position="last").reset_index(drop=True)


def _noted(out: pd.DataFrame, note: str) -> pd.DataFrame:
    out.attrs["note"] = note
    return out


def _stale_days(value, fn: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{fn}: stale_days must be a whole number of days, at least 1; got {value!r}")
    return int(value)


def past_close_date(opps: pd.DataFrame, *, as_of) -> pd.DataFrame:
    """Open deals whose close date is before the day, by owner, the longest overdue first.

    Parameters
    ----------
    opps : DataFrame
        The opportunities as of the day (``crm.as_of(day).opportunities``): ``opportunity_id``,
        ``owner_id``, ``name`` (optional), ``stage_name``, ``amount``, ``close_date``, ``is_closed``.
    as_of : date-like
        The day.

    Returns
    -------
    DataFrame
        :data:`DEAL_COLUMNS`, then ``days_past_close`` (whole days from the close date to the day, at
        least 1). A deal without a close date is not in it.

    Raises
    ------
    ValueError
        A missing column or an ``as_of`` that is not a date.

    Examples
    --------
    >>> opps = pd.DataFrame({"opportunity_id": ["A", "B", "C"], "owner_id": "U", "stage_name": "Qualify",
    ...     "amount": [5.0, 7.0, 9.0], "close_date": pd.to_datetime(["2024-01-10", "2024-01-31", "2024-01-05"]),
    ...     "is_closed": [False, False, True]})
    >>> past_close_date(opps, as_of="2024-01-31")[["opportunity_id", "days_past_close"]]
      opportunity_id  days_past_close
    0              A               21
    """
    fn = "past_close_date"
    day = _to_day(as_of, fn)
    open_ = _open_deals(opps, fn)
    late = day.to_datetime64().astype("datetime64[D]").astype("int64") - _days(open_["close_date"])
    out = open_.loc[(late > 0), DEAL_COLUMNS].assign(days_past_close=late[late > 0].astype("int64"))
    note = f"open deals (on {day:%Y-%m-%d}) whose close date is before that day; a close date on the day is not late"
    return _noted(_by_owner(out, worst="days_past_close"), note)


def no_next_step(opps: pd.DataFrame) -> pd.DataFrame:
    """Open deals whose next step is empty or blank, by owner, the largest first.

    Parameters
    ----------
    opps : DataFrame
        The opportunities as of the day, with ``next_step`` (Salesforce's ``NextStep``) and the
        columns of :func:`past_close_date`.

    Returns
    -------
    DataFrame
        :data:`DEAL_COLUMNS`, then ``next_step`` (missing or blank text).

    Raises
    ------
    ValueError
        When ``opps`` has no ``next_step`` column (the export does not have the field), or lacks
        another column.

    Examples
    --------
    >>> opps = pd.DataFrame({"opportunity_id": ["A", "B", "C"], "owner_id": "U", "stage_name": "Qualify",
    ...     "amount": [5.0, 7.0, 9.0], "close_date": pd.NaT, "is_closed": False,
    ...     "next_step": ["Demo on Friday", "  ", None]})
    >>> no_next_step(opps)["opportunity_id"].tolist()
    ['C', 'B']
    """
    fn = "no_next_step"
    _require(opps, [*_NEEDS, "next_step"], fn, "opportunities")
    open_ = _open_deals(opps, fn)
    text = open_["next_step"].astype("str")
    empty = (text.isna() | (text.str.strip() == "")).to_numpy(dtype=bool)
    out = open_.loc[empty, [*DEAL_COLUMNS, "next_step"]]
    note = "open deals whose next step (NextStep) is empty or only spaces; the next step as the export has it now"
    return _noted(_by_owner(out), note)


def no_recent_activity(opps: pd.DataFrame, activities: pd.DataFrame, *, as_of, stale_days: int = 14) -> pd.DataFrame:
    """Open deals with no activity in the last ``stale_days`` days, by owner, the longest untouched first.

    Parameters
    ----------
    opps : DataFrame
        The opportunities as of the day: the columns of :func:`past_close_date` and ``created_date``.
    activities : DataFrame
        Tasks and events with ``what_id`` and ``created_date`` (when logged), and ``activity_date``
        (used only for a row without ``created_date``); rows logged after the day are ignored.
    as_of : date-like
        The day.
    stale_days : int, default 14
        A deal is stale when its last touch is more than this many days before the day.

    Returns
    -------
    DataFrame
        :data:`DEAL_COLUMNS`, then ``n_activities`` (on the deal, by the day), ``last_activity`` (the
        UTC day of the last one, NaT for none) and ``days_since_touch`` (days since the last activity,
        or since the deal's creation when it has none). ``attrs["note"]`` says which date timed the
        activities.

    Raises
    ------
    ValueError
        A missing column, an ``as_of`` that is not a date, or ``stale_days`` not a whole number >= 1.

    Examples
    --------
    >>> opps = pd.DataFrame({"opportunity_id": ["A", "B"], "owner_id": "U", "stage_name": "Qualify",
    ...     "amount": [5.0, 7.0], "close_date": pd.NaT, "is_closed": False,
    ...     "created_date": pd.to_datetime(["2024-01-01", "2024-01-01"], utc=True)})
    >>> acts = pd.DataFrame({"what_id": ["A", "B"], "activity_date": pd.NaT,
    ...     "created_date": pd.to_datetime(["2024-01-25", "2024-01-10"], utc=True)})
    >>> no_recent_activity(opps, acts, as_of="2024-01-31", stale_days=14)[["opportunity_id", "days_since_touch"]]
      opportunity_id  days_since_touch
    0              B                21
    """
    fn = "no_recent_activity"
    stale_days = _stale_days(stale_days, fn)
    day = _to_day(as_of, fn)
    _require(opps, [*_NEEDS, "created_date"], fn, "opportunities")
    _require(activities, ["what_id", "created_date", "activity_date"], fn, "activities")
    today = float(day.to_datetime64().astype("datetime64[D]").astype("int64"))
    logged = _days(activities["created_date"])
    fallback = np.isnan(logged)
    when = np.where(fallback, _days(activities["activity_date"]), logged)
    open_ = _open_deals(opps, fn)
    ids = pd.Index(open_["opportunity_id"])
    pos = ids.get_indexer(activities["what_id"])
    keep = (pos >= 0) & (when <= today)
    n_fallback = int((fallback & keep).sum())
    last = pd.Series(when[keep]).groupby(pos[keep]).max().reindex(range(len(ids))).to_numpy()
    count = np.bincount(pos[keep], minlength=len(ids))
    created = _days(open_["created_date"])
    touch = np.fmax(last, created)  # no activity: counted from the deal's creation
    since = today - touch
    stale = (since > stale_days) | np.isnan(touch)  # no creation date and no activity: never touched
    out = open_.loc[stale, DEAL_COLUMNS].assign(
        n_activities=count[stale].astype("int64"),
        last_activity=pd.to_datetime(last[stale], unit="D"),
        days_since_touch=pd.array(np.where(np.isnan(since[stale]), np.nan, since[stale])).astype("Int64"),
    )
    timed = "their created date (when logged)"
    if n_fallback:
        timed += f"; {n_fallback:,} without one by their due date (ActivityDate)"
    note = (
        f"open deals whose last activity (task or event on the deal, timed by {timed}), or their creation "
        f"when they have none, is more than {stale_days} days before {day:%Y-%m-%d}"
    )
    return _noted(_by_owner(out, worst="days_since_touch"), note)


def overdue_tasks(activities: pd.DataFrame, *, as_of) -> pd.DataFrame:
    """Tasks still open on the day whose due date is before it, by owner, the longest overdue first.

    Parameters
    ----------
    activities : DataFrame
        Tasks (and events, left out by ``activity_kind``) with ``activity_id``, ``owner_id``,
        ``activity_date`` (the due date) and ``is_closed`` or ``status``; optional ``activity_kind``,
        ``created_date``, ``completed_date_time``, ``subject``, ``what_id``, ``who_id``.
    as_of : date-like
        The day.

    Returns
    -------
    DataFrame
        ``owner_id``, ``activity_id``, ``subject``, ``what_id`` (the deal or account it is on),
        ``who_id`` (the lead or contact), ``status``, ``activity_date``, ``days_overdue`` (whole days
        from the due date to the day, at least 1).

    Raises
    ------
    ValueError
        A missing column, or an ``as_of`` that is not a date.

    Examples
    --------
    >>> tasks = pd.DataFrame({"activity_id": ["T1", "T2", "T3"], "owner_id": "U", "status": "Open",
    ...     "activity_date": pd.to_datetime(["2024-01-20", "2024-01-31", "2024-01-02"]),
    ...     "is_closed": [False, False, True]})
    >>> overdue_tasks(tasks, as_of="2024-01-31")[["activity_id", "days_overdue"]]
      activity_id  days_overdue
    0          T1            11
    """
    fn = "overdue_tasks"
    day = _to_day(as_of, fn)
    _require(activities, ["activity_id", "owner_id", "activity_date"], fn, "activities")
    if "is_closed" not in activities.columns and "status" not in activities.columns:
        raise ValueError(f"{fn}: activities has neither is_closed nor status: cannot tell open tasks")
    a = activities
    if "activity_kind" in a.columns:
        a = a[(a["activity_kind"].astype("str") != "event").to_numpy()]
    end = day + pd.Timedelta(days=1)
    today = float(day.to_datetime64().astype("datetime64[D]").astype("int64"))
    status = a["status"].astype("str") if "status" in a.columns else pd.Series(None, index=a.index, dtype="str")
    done = status.str.strip().str.casefold().eq("completed").fillna(False)
    closed = a["is_closed"].astype("boolean").fillna(done) if "is_closed" in a.columns else done
    closed = closed.astype(bool).to_numpy()
    if "completed_date_time" in a.columns:  # completed after the day: still open on it
        completed = _days(a["completed_date_time"])
        closed = closed & ~(completed > today)
    created_ok = np.ones(len(a), bool)
    if "created_date" in a.columns:
        created_ok = ~(_days(a["created_date"]) >= float(end.to_datetime64().astype("datetime64[D]").astype("int64")))
    late = today - _days(a["activity_date"])
    keep = ~closed & created_ok & (late > 0)
    out = a.loc[keep].copy()
    for c in _TASK_COLUMNS:
        if c not in out.columns and c != "days_overdue":
            out[c] = None
    out["days_overdue"] = late[keep].astype("int64")
    note = (
        f"tasks open on {day:%Y-%m-%d} (not closed, or completed after it) due before that day, by the task's owner; "
        "a task without IsClosed is closed when its status is Completed"
    )
    return _noted(_by_owner(out[_TASK_COLUMNS], worst="days_overdue"), note)


def missing_amounts(opps: pd.DataFrame) -> pd.DataFrame:
    """Open deals with no amount or an amount of zero, by owner.

    Parameters
    ----------
    opps : DataFrame
        The opportunities as of the day, the columns of :func:`past_close_date`.

    Returns
    -------
    DataFrame
        :data:`DEAL_COLUMNS` (``amount`` missing or 0).

    Raises
    ------
    ValueError
        A missing column.

    Examples
    --------
    >>> opps = pd.DataFrame({"opportunity_id": ["A", "B", "C"], "owner_id": "U", "stage_name": "Qualify",
    ...     "amount": [5.0, None, 0.0], "close_date": pd.NaT, "is_closed": False})
    >>> missing_amounts(opps)["opportunity_id"].tolist()
    ['C', 'B']
    """
    open_ = _open_deals(opps, "missing_amounts")
    amount = pd.to_numeric(open_["amount"], errors="coerce")
    out = open_.loc[(amount.isna() | (amount == 0)).to_numpy(dtype=bool), DEAL_COLUMNS]
    return _noted(_by_owner(out), "open deals with no amount or an amount of 0 (in the corporate currency)")


def hygiene_summary(lists: Mapping[str, pd.DataFrame], *, stale_days: int | None = None) -> pd.DataFrame:
    """Counts and amounts per owner and check, from the checks' lists.

    Parameters
    ----------
    lists : Mapping of str to DataFrame
        Check name (a key of :data:`CHECKS`) -> its list (:func:`past_close_date` ...), each with
        ``owner_id`` and, for deals, ``amount``. A check left out was not made.
    stale_days : int, optional
        The window of :func:`no_recent_activity`, for its label.

    Returns
    -------
    DataFrame
        ``owner_id``, ``check`` (its label, :func:`check_label`), ``n`` (records that fail it) and
        ``amount`` (their total; missing for tasks, which have none). Every owner with at least one
        record to fix gets a row for every check made (0 where none), in the order of :data:`CHECKS`;
        owners in ID order, an unknown owner last.

    Raises
    ------
    ValueError
        A name that is not a check, or a list without ``owner_id``.

    Examples
    --------
    >>> late = pd.DataFrame({"owner_id": ["U1", "U1", "U2"], "amount": [5.0, 7.0, 1.0]})
    >>> tasks = pd.DataFrame({"owner_id": ["U2"]})
    >>> hygiene_summary({"past_close_date": late, "overdue_tasks": tasks})
      owner_id               check  n  amount
    0       U1     past close date  2    12.0
    1       U1  overdue open tasks  0     NaN
    2       U2     past close date  1     1.0
    3       U2  overdue open tasks  1     NaN
    """
    fn = "hygiene_summary"
    unknown = sorted(set(lists) - set(CHECKS))
    if unknown:
        raise ValueError(f"{fn}: not a check: {unknown}; expected among {list(CHECKS)}")
    rows = []
    for check in CHECKS:
        if check not in lists:
            continue
        table = lists[check]
        _require(table, ["owner_id"], fn, check)
        has_amount = "amount" in table.columns
        amount = table["amount"].astype("float64") if has_amount else np.nan
        g = (
            pd.DataFrame({"owner_id": table["owner_id"].astype("str"), "amount": amount}, index=table.index)
            .groupby("owner_id", dropna=False, sort=False)
            .agg(n=("amount", "size"), amount=("amount", "sum"))
        )
        if not has_amount:
            g["amount"] = np.nan
        rows.append(g.reset_index().assign(check=check))
    columns = ["owner_id", "check", "n", "amount"]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(columns, ("str", "str", "int64", "float64"))})
    counts = pd.concat(rows, ignore_index=True)
    made = [c for c in CHECKS if c in lists]
    owners = pd.Series(counts["owner_id"].unique(), dtype="str").sort_values(na_position="last")
    grid = pd.MultiIndex.from_product([owners, made], names=["owner_id", "check"]).to_frame(index=False)
    out = grid.merge(counts, on=["owner_id", "check"], how="left")
    out["n"] = out["n"].fillna(0).astype("int64")
    with_amount = [c for c in made if "amount" in lists[c].columns]
    fill = out["check"].isin(with_amount) & out["amount"].isna()
    out.loc[fill.to_numpy(), "amount"] = 0.0
    out["check"] = [check_label(c, stale_days=stale_days) for c in out["check"]]
    return out[columns].reset_index(drop=True)
