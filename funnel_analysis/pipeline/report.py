"""The pipeline report's entry points: the board and the hygiene lists, on the org as of a day.

Every function here has the shape ``name(crm, *, as_of=None, where=None, ...)``: it resolves ``as_of``
(``None`` or ``""``: the latest date in the data, :func:`funnel_analysis.crm.resolve_as_of`), cuts the
org at the end of that day (:meth:`CrmData.as_of`, memoised), keeps the rows ``where`` selects
(:meth:`CrmData.rows`, the safe grammar of :mod:`funnel_analysis.crm.expression`), calls the
frame-level function of the same name (:mod:`.kanban`, :mod:`.hygiene`) and adds the owners' names
(``owner_name``, a user's or a queue's, :func:`funnel_analysis.crm.sections.owners`).

What ``where`` selects:

- the **deals** of the board and of the deal lists (``owner.region == 'EMEA'``, ``amount >= 10000``);
  the activities of :func:`no_recent_activity` follow their deal (``what_id``);
- the **tasks** of :func:`overdue_tasks` themselves, through their own owner and account
  (``owner.region``, ``account.region``): a task has no amount or stage, so a filter on a deal's own
  fields is refused there as an unknown field (one line), never an empty list.

An org without opportunities (or, for the tasks, without ``Task.csv``) gets an empty table marked
with the reason in one line (:func:`funnel_analysis._util.missing.mark_missing`), so a report section
says so instead of showing an empty grid; so does :func:`no_next_step` when the export has no
``NextStep`` field: every deal would otherwise read as lacking one.

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.crm import load_frames
>>> from funnel_analysis.pipeline import report
>>> opportunities = pd.DataFrame({
...     "Id": ["006A", "006B", "006C"], "Name": ["Acme", "Globex", "Initech"],
...     "StageName": ["Prospecting", "Qualification", "Closed Won"], "Amount": [1000, 0, 800],
...     "CreatedDate": ["2024-01-02", "2024-01-05", "2024-01-08"],
...     "CloseDate": ["2024-02-01", "2024-06-30", "2024-02-10"], "IsClosed": [False, False, True],
...     "IsWon": [False, False, True], "OwnerId": ["005A", "005A", "005B"],
...     "NextStep": ["Send quote", "", "Kick-off"]})
>>> users = pd.DataFrame({"Id": ["005A", "005B"], "Name": ["Ann Lee", "Bo Chen"]})
>>> crm = load_frames({"Opportunity": opportunities, "User": users})
>>> report.past_close_date(crm, as_of="2024-03-31")[["owner_name", "name", "days_past_close"]]
  owner_name  name  days_past_close
0    Ann Lee  Acme               59
>>> report.no_next_step(crm, as_of="2024-03-31")["name"].tolist()
['Globex']
>>> report.board(crm, as_of="2024-03-31")[["stage_name", "name", "owner_name", "days_in_stage"]]
      stage_name    name owner_name  days_in_stage
0    Prospecting    Acme    Ann Lee             89
1  Qualification  Globex    Ann Lee             86
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .._util.missing import mark_missing, missing_reason
from ..crm.field_history import field_as_of
from ..crm.model import cut_as_of
from ..crm.sections import owners, with_owner_names
from ..velocity.durations import stage_intervals
from . import hygiene as _hygiene
from . import kanban as _kanban

if TYPE_CHECKING:
    from ..crm import CrmData

__all__ = [
    "board",
    "past_close_date",
    "no_next_step",
    "no_recent_activity",
    "overdue_tasks",
    "missing_amounts",
    "hygiene_summary",
]

_NO_OPPORTUNITIES = "the export has no opportunities (Opportunity.csv)"
_NO_TASKS = "the export has no tasks (Task.csv)"
_NO_ACTIVITIES = "the export has no activities (Task.csv, Event.csv): every open deal would read as untouched"
_NO_NEXT_STEP = "the export has no next step on its opportunities (NextStep): every deal would read as lacking one"


def _empty(columns, reason: str) -> pd.DataFrame:
    at = columns.index("owner_id") + 1
    out = mark_missing(pd.DataFrame(columns=[*columns[:at], "owner_name", *columns[at:]]), reason)
    out.attrs["note"] = reason
    return out


def _named(out: pd.DataFrame, cut, *, worst: str | None = None) -> pd.DataFrame:
    """``out`` with ``owner_name`` after ``owner_id``, grouped by owner name (unnamed owners last)."""
    note = out.attrs.get("note")
    named = with_owner_names(out, owners(cut))
    keys = ["owner_name", "owner_id"] + ([worst] if worst else []) + (["amount"] if "amount" in named else [])
    asc = [True, True] + ([False] if worst else []) + ([False] if "amount" in named else [])
    ids = [c for c in ("opportunity_id", "activity_id") if c in named.columns][:1]  # ties: by the record's ID
    keys, asc = keys + ids, asc + [True] * len(ids)
    named = named.sort_values(keys, ascending=asc, na_position="last", kind="stable").reset_index(drop=True)
    named.attrs = {k: v for k, v in out.attrs.items() if k != "note"}
    if note:
        named.attrs["note"] = note
    return named


def _next_step_as_of(crm: CrmData, cut, opps: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """``opps`` with each deal's next step as it stood on the cut's day, and a note on where it came from.

    With ``NextStep`` rows in ``OpportunityFieldHistory`` the value of the day is rebuilt from them
    (:func:`funnel_analysis.crm.field_history.field_as_of`); where the history cannot say (the deal is
    older than the field's tracking), the value is unknown (``next_step_known`` False), never taken for
    empty. Without them, the next step is the export's value now.
    """
    from ..engine.attach import engine_of

    org = engine_of(crm)
    if org is not None:  # the field's rows and the deals' three columns from the engine: the same rebuild
        import dataclasses

        from ..engine.pipeline import next_step_history

        got = next_step_history(org)
        if not len(got.rows):
            return opps.assign(next_step_known=True), "the next step as the export has it now (no NextStep history)"
        rows, deals = got.rows, got.deals
        meta = {k: v for k, v in crm.meta.items() if k != "engine_only"}
        source = dataclasses.replace(
            crm, tables={"opportunities": deals, "opportunity_field_history": rows, "stages": crm.stages}, meta=meta
        )
    else:
        history = crm.opportunity_field_history if crm.has("opportunity_field_history") else None
        if history is None or not (history["field"].astype("str") == "NextStep").any():
            return opps.assign(next_step_known=True), "the next step as the export has it now (no NextStep history)"
        source = crm
    values = field_as_of(source, table="opportunity_field_history", field="next_step", as_of=cut.as_of_date)
    values = values.drop_duplicates("opportunity_id").set_index("opportunity_id")
    at = values.index.get_indexer(opps["opportunity_id"])
    known = (at >= 0) & (values["source"].to_numpy()[at] != "unknown") if len(values) else at >= 0
    out = opps.assign(
        next_step=values["next_step"].iloc[at].where(known).to_numpy() if len(values) else opps["next_step"],
        next_step_known=known,
    )
    return out, f"the next step on {cut.as_of_date:%Y-%m-%d}, from its history (OpportunityFieldHistory)"


def _has_next_step(crm: CrmData, opps: pd.DataFrame) -> bool:
    """Whether the export has Salesforce's ``NextStep`` on its opportunities."""
    present = crm.meta.get("columns_present", {}).get("opportunities")
    return "next_step" in opps.columns and (present is None or "next_step" in present)


def _engine(crm: CrmData, where):
    """The org's engine when the lists are made from it (no ``where``: the pandas cut's rows then)."""
    from ..engine.attach import engine_of

    return engine_of(crm) if not where else None


def _deals(crm: CrmData, as_of, where):
    """The cut and its deals ``where`` selects (from the org's engine: the open ones alone, all the lists
    read), or None when there are none to check."""
    cut = cut_as_of(crm, as_of=as_of)
    if not crm.has("opportunities"):
        return cut, None
    org = _engine(crm, where)
    if org is not None:
        from ..engine.pipeline import open_deals

        return cut, open_deals(org, as_of=cut.as_of_date)
    return cut, cut.rows("opportunities", where=where)


def _history_of(crm: CrmData, cut, opps: pd.DataFrame, where) -> pd.DataFrame:
    """The stage history of ``opps`` on the cut's day (from the org's engine without ``where``)."""
    org = _engine(crm, where)
    if org is None:
        return cut.history_of(opps)
    from ..engine.funnel import day_history

    history = day_history(org, as_of=cut.as_of_date)
    return history[history["opportunity_id"].isin(opps["opportunity_id"]).to_numpy()].reset_index(drop=True)


def board(crm: CrmData, *, as_of=None, where: str | None = None, max_cards: int | None = 8) -> pd.DataFrame:
    """The open deals as cards in one column per open stage, largest first (:func:`funnel_analysis.pipeline.board`).

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    where : str, optional
        Keep only the deals this expression selects.
    max_cards : int or None, default 8
        Cards kept per column, the largest; ``None`` for all.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.pipeline.board`, with ``owner_name`` after ``owner_id``; rows in
        column and card order. Empty and marked missing for an org without opportunities.

    Raises
    ------
    ValueError
        A bad ``as_of``, ``where`` or ``max_cards``.

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> opps = pd.DataFrame({"Id": ["006A", "006B"], "Name": ["Acme", "Globex"], "OwnerId": "005A",
    ...     "StageName": ["Prospecting", "Qualification"], "Amount": [1000, 0], "NextStep": ["Send quote", ""],
    ...     "CreatedDate": "2024-01-02", "CloseDate": ["2024-02-01", "2024-06-30"], "IsClosed": False,
    ...     "IsWon": False})
    >>> board(load_frames({"Opportunity": opps}), as_of="2024-03-31")[["stage_name", "name", "days_in_stage"]]
          stage_name    name  days_in_stage
    0    Prospecting    Acme             89
    1  Qualification  Globex             89
    """
    cut, opps = _deals(crm, as_of, where)
    if opps is None:
        _kanban._max_cards(max_cards, "board")
        return _empty(_kanban.BOARD_COLUMNS, _NO_OPPORTUNITIES)
    day = cut.as_of_date
    intervals = stage_intervals(opps, _history_of(crm, cut, opps, where), stages=cut.stages, as_of=day)
    note = None
    if _has_next_step(crm, opps):
        opps, note = _next_step_as_of(crm, cut, opps)
    else:  # the schema's empty column of an export without NextStep: the board says it has none
        opps = opps.drop(columns="next_step", errors="ignore")
    out = _kanban.board(opps, intervals, stages=cut.stages, as_of=day, max_cards=max_cards)
    named = with_owner_names(out, owners(cut))
    named.attrs = dict(out.attrs)
    if note:
        named.attrs["note"] = f"{out.attrs['note']}; {note}"
    return named


def past_close_date(crm: CrmData, *, as_of=None, where: str | None = None) -> pd.DataFrame:
    """Open deals past their close date, by owner (:func:`funnel_analysis.pipeline.past_close_date`).

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    where : str, optional
        Keep only the deals this expression selects.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.pipeline.past_close_date`, with ``owner_name``; grouped by owner,
        the longest overdue first.

    Raises
    ------
    ValueError
        A bad ``as_of`` or ``where``.

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> opps = pd.DataFrame({"Id": ["006A", "006B"], "Name": ["Acme", "Globex"], "OwnerId": "005A",
    ...     "StageName": ["Prospecting", "Qualification"], "Amount": [1000, 0], "NextStep": ["Send quote", ""],
    ...     "CreatedDate": "2024-01-02", "CloseDate": ["2024-02-01", "2024-06-30"], "IsClosed": False,
    ...     "IsWon": False})
    >>> past_close_date(load_frames({"Opportunity": opps}), as_of="2024-03-31")[["name", "days_past_close"]]
       name  days_past_close
    0  Acme               59
    """
    cut, opps = _deals(crm, as_of, where)
    if opps is None:
        return _empty([*_hygiene.DEAL_COLUMNS, "days_past_close"], _NO_OPPORTUNITIES)
    return _named(_hygiene.past_close_date(opps, as_of=cut.as_of_date), cut, worst="days_past_close")


def no_next_step(crm: CrmData, *, as_of=None, where: str | None = None) -> pd.DataFrame:
    """Open deals with no next step, by owner (:func:`funnel_analysis.pipeline.no_next_step`).

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    where : str, optional
        Keep only the deals this expression selects.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.pipeline.no_next_step`, with ``owner_name``. Empty and marked
        missing when the export has no ``NextStep`` field, or no opportunities.

    Raises
    ------
    ValueError
        A bad ``as_of`` or ``where``.

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> opps = pd.DataFrame({"Id": ["006A", "006B"], "Name": ["Acme", "Globex"], "OwnerId": "005A",
    ...     "StageName": ["Prospecting", "Qualification"], "Amount": [1000, 0], "NextStep": ["Send quote", ""],
    ...     "CreatedDate": "2024-01-02", "CloseDate": ["2024-02-01", "2024-06-30"], "IsClosed": False,
    ...     "IsWon": False})
    >>> no_next_step(load_frames({"Opportunity": opps}), as_of="2024-03-31")["name"].tolist()
    ['Globex']
    """
    columns = [*_hygiene.DEAL_COLUMNS, "next_step"]
    cut, opps = _deals(crm, as_of, where)
    if opps is None:
        return _empty(columns, _NO_OPPORTUNITIES)
    if not _has_next_step(crm, opps):
        return _empty(columns, _NO_NEXT_STEP)
    opps, source = _next_step_as_of(crm, cut, opps)
    unknown = int((~opps["next_step_known"] & ~opps["is_closed"].astype("boolean").fillna(False)).sum())
    out = _hygiene.no_next_step(opps[opps["next_step_known"].to_numpy(dtype=bool)])
    note = f"{out.attrs['note'].split('; ')[0]}; {source}"
    if unknown:
        note += f"; {unknown:,} open deals older than the NextStep history left out (their next step is unknown)"
    out.attrs["note"] = note
    return _named(out, cut)


def no_recent_activity(crm: CrmData, *, as_of=None, where: str | None = None, stale_days: int = 14) -> pd.DataFrame:
    """Open deals with no activity in ``stale_days`` days, by owner (:func:`funnel_analysis.pipeline.no_recent_activity`).

    The activities are the org's tasks and events on the deals kept (``what_id``), logged by the end
    of the day (``created_date``), whatever their due date.

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    where : str, optional
        Keep only the deals this expression selects (their activities follow them).
    stale_days : int, default 14
        A deal is stale when its last activity (or its creation) is more than this many days old.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.pipeline.no_recent_activity`, with ``owner_name``. Empty and marked
        missing for an org without activities or opportunities.

    Raises
    ------
    ValueError
        A bad ``as_of``, ``where`` or ``stale_days``.

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> opps = pd.DataFrame({"Id": ["006A", "006B"], "Name": ["Acme", "Globex"], "OwnerId": "005A",
    ...     "StageName": ["Prospecting", "Qualification"], "Amount": [1000, 0], "NextStep": ["Send quote", ""],
    ...     "CreatedDate": "2024-01-02", "CloseDate": ["2024-02-01", "2024-06-30"], "IsClosed": False,
    ...     "IsWon": False})
    >>> tasks = pd.DataFrame({"Id": ["00TA", "00TB"], "WhatId": "006A", "OwnerId": "005A",
    ...     "Subject": ["Call", "Send quote"], "ActivityDate": ["2024-03-01", "2024-04-15"],
    ...     "IsClosed": False, "Status": "Not Started", "CreatedDate": ["2024-02-20", "2024-03-30"]})
    >>> crm = load_frames({"Opportunity": opps, "Task": tasks})
    >>> no_recent_activity(crm, as_of="2024-03-31", stale_days=14)[["name", "n_activities", "days_since_touch"]]
         name  n_activities  days_since_touch
    0  Globex             0                89
    """
    _hygiene._stale_days(stale_days, "no_recent_activity")
    columns = [*_hygiene.DEAL_COLUMNS, "n_activities", "last_activity", "days_since_touch"]
    cut, opps = _deals(crm, as_of, where)
    if opps is None:
        return _empty(columns, _NO_OPPORTUNITIES)
    if not crm.has("activities"):
        return _empty(columns, _NO_ACTIVITIES)
    # the org's activities, not the cut's: the cut keeps them by due date, recency needs when they were logged
    org = _engine(crm, where)
    if org is not None:
        from ..engine.pipeline import open_deal_activities

        activities = open_deal_activities(org)  # those on the open deals of _deals' day
    else:
        activities = crm.activities
    out = _hygiene.no_recent_activity(opps, activities, as_of=cut.as_of_date, stale_days=stale_days)
    return _named(out, cut, worst="days_since_touch")


def overdue_tasks(crm: CrmData, *, as_of=None, where: str | None = None) -> pd.DataFrame:
    """Open tasks past their due date, by their owner (:func:`funnel_analysis.pipeline.overdue_tasks`).

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    where : str, optional
        Keep only the tasks this expression selects, through their own fields and relations
        (``owner.region == 'EMEA'``, ``account.region == 'EMEA'``).

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.pipeline.overdue_tasks`, with ``owner_name``. Empty and marked
        missing for an org without tasks.

    Raises
    ------
    ValueError
        A bad ``as_of`` or ``where`` (a field tasks do not have is one line naming it).

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> opps = pd.DataFrame({"Id": ["006A", "006B"], "Name": ["Acme", "Globex"], "OwnerId": "005A",
    ...     "StageName": ["Prospecting", "Qualification"], "Amount": [1000, 0], "NextStep": ["Send quote", ""],
    ...     "CreatedDate": "2024-01-02", "CloseDate": ["2024-02-01", "2024-06-30"], "IsClosed": False,
    ...     "IsWon": False})
    >>> tasks = pd.DataFrame({"Id": ["00TA", "00TB"], "WhatId": "006A", "OwnerId": "005A",
    ...     "Subject": ["Call", "Send quote"], "ActivityDate": ["2024-03-01", "2024-04-15"],
    ...     "IsClosed": False, "Status": "Not Started", "CreatedDate": ["2024-02-20", "2024-03-30"]})
    >>> crm = load_frames({"Opportunity": opps, "Task": tasks})
    >>> overdue_tasks(crm, as_of="2024-03-31")[["subject", "days_overdue"]]
      subject  days_overdue
    0    Call            30
    """
    cut = cut_as_of(crm, as_of=as_of)
    org = _engine(crm, where)
    if org is not None:  # asked of the engine; only the day's tasks that may be open come back
        from ..engine.pipeline import has_tasks, task_candidates

        if not has_tasks(org):
            return _empty(_hygiene._TASK_COLUMNS, _NO_TASKS)
        tasks = task_candidates(org, as_of=cut.as_of_date)
    else:
        kinds = crm.activities["activity_kind"] if "activity_kind" in crm.activities.columns else None
        if not crm.has("activities") or (kinds is not None and not (kinds == "task").any()):
            return _empty(_hygiene._TASK_COLUMNS, _NO_TASKS)
        tasks = cut.rows("activities", where=where)
    return _named(_hygiene.overdue_tasks(tasks, as_of=cut.as_of_date), cut, worst="days_overdue")


def missing_amounts(crm: CrmData, *, as_of=None, where: str | None = None) -> pd.DataFrame:
    """Open deals with no or a zero amount, by owner (:func:`funnel_analysis.pipeline.missing_amounts`).

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    where : str, optional
        Keep only the deals this expression selects.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.pipeline.missing_amounts`, with ``owner_name``.

    Raises
    ------
    ValueError
        A bad ``as_of`` or ``where``.

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> opps = pd.DataFrame({"Id": ["006A", "006B"], "Name": ["Acme", "Globex"], "OwnerId": "005A",
    ...     "StageName": ["Prospecting", "Qualification"], "Amount": [1000, 0], "NextStep": ["Send quote", ""],
    ...     "CreatedDate": "2024-01-02", "CloseDate": ["2024-02-01", "2024-06-30"], "IsClosed": False,
    ...     "IsWon": False})
    >>> missing_amounts(load_frames({"Opportunity": opps}), as_of="2024-03-31")["name"].tolist()
    ['Globex']
    """
    cut, opps = _deals(crm, as_of, where)
    if opps is None:
        return _empty(_hygiene.DEAL_COLUMNS, _NO_OPPORTUNITIES)
    return _named(_hygiene.missing_amounts(opps), cut)


def hygiene_summary(crm: CrmData, *, as_of=None, where: str | None = None, stale_days: int = 14) -> pd.DataFrame:
    """Counts and amounts per owner and check (:func:`funnel_analysis.pipeline.hygiene_summary`).

    The five lists of this module as of the day, each filtered by ``where`` as its function says; a
    check whose inputs the org lacks (no ``NextStep``, no activities) is left out and named in the note.

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    where : str, optional
        Keep only the deals (and tasks) this expression selects.
    stale_days : int, default 14
        The window of :func:`no_recent_activity`.

    Returns
    -------
    DataFrame
        ``owner_id``, ``owner_name``, ``check``, ``n``, ``amount``: every owner with something to fix,
        one row per check made. Empty and marked missing for an org without opportunities.

    Raises
    ------
    ValueError
        A bad ``as_of``, ``where`` or ``stale_days``.

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> opps = pd.DataFrame({"Id": ["006A", "006B"], "Name": ["Acme", "Globex"], "OwnerId": "005A",
    ...     "StageName": ["Prospecting", "Qualification"], "Amount": [1000, 0], "NextStep": ["Send quote", ""],
    ...     "CreatedDate": "2024-01-02", "CloseDate": ["2024-02-01", "2024-06-30"], "IsClosed": False,
    ...     "IsWon": False})
    >>> tasks = pd.DataFrame({"Id": ["00TA", "00TB"], "WhatId": "006A", "OwnerId": "005A",
    ...     "Subject": ["Call", "Send quote"], "ActivityDate": ["2024-03-01", "2024-04-15"],
    ...     "IsClosed": False, "Status": "Not Started", "CreatedDate": ["2024-02-20", "2024-03-30"]})
    >>> crm = load_frames({"Opportunity": opps, "Task": tasks})
    >>> hygiene_summary(crm, as_of="2024-03-31")[["check", "n", "amount"]]
                        check  n  amount
    0         past close date  1  1000.0
    1            no next step  1     0.0
    2  no activity in 14 days  1     0.0
    3      overdue open tasks  1     NaN
    4          amount missing  1     0.0
    """
    _hygiene._stale_days(stale_days, "hygiene_summary")
    cut, opps = _deals(crm, as_of, where)
    if opps is None:
        return _empty(["owner_id", "check", "n", "amount"], _NO_OPPORTUNITIES)
    options = {"as_of": cut.as_of_date, "where": where}
    lists = {
        "past_close_date": past_close_date(crm, **options),
        "no_next_step": no_next_step(crm, **options),
        "no_recent_activity": no_recent_activity(crm, **options, stale_days=stale_days),
        "overdue_tasks": overdue_tasks(crm, **options),
        "missing_amounts": missing_amounts(crm, **options),
    }
    skipped = {k: missing_reason(v) for k, v in lists.items() if missing_reason(v)}
    made = {k: v for k, v in lists.items() if k not in skipped}
    out = _hygiene.hygiene_summary(made, stale_days=stale_days)
    named = with_owner_names(out, owners(cut))
    named = named.sort_values(["owner_name", "owner_id"], na_position="last", kind="stable").reset_index(drop=True)
    note = f"as of {cut.as_of_date:%Y-%m-%d}; amounts of the deals in the corporate currency (tasks have none)"
    if skipped:
        note += "; not checked: " + "; ".join(
            f"{_hygiene.check_label(k, stale_days=stale_days)} ({reason})" for k, reason in skipped.items()
        )
    named.attrs["note"] = note
    return named
