"""The leads' engagement at their scoring moment, aggregated in the engine (#19: the scoring feature table).

Lead scoring (:mod:`funnel_analysis.scoring.features`) describes each lead by its own fields and by
what the CRM knew of its engagement when it was scored: its activities and campaign touches. On a
big org the engagement is the heavy part (every task, event and campaign member read against every
lead); :func:`lead_engagement` reduces it in the engine to one row per lead of the day's cut, the
columns and rules of ``scoring.features.lead_features``:

- a lead is scored at its creation plus ``delay_days``, never after the end of ``as_of``
  (``scoring.features.scoring_moments``);
- an activity (``who_id`` the lead) counts when it was created by the moment and its date-only
  ``activity_date`` had ended by then; ``calls_n`` and ``emails_n`` are those whose ``type`` is
  ``Call`` / ``Email`` in any case; ``days_since_activity`` is the time from the end of the latest
  such activity's day to the moment, in days (missing without one);
- a campaign member (``lead_id`` the lead) counts when created by the moment
  (``campaigns_n``), and as a response when its ``first_responded_date`` had ended by then
  (``campaign_responses_n``);
- the activities and members are those of the day's cut (an activity dated after the day, or
  without a date, is not in it), the leads those created by the end of the day.

Every time is compared in whole microseconds since 1970 (UTC), so DuckDB and Spark agree; only the
small per-lead result comes back.

Examples
--------
>>> lead_engagement(org, as_of="2025-06-30").columns.tolist()  # doctest: +SKIP
['lead_id', 'scored_at', 'activities_n', 'calls_n', 'emails_n', 'days_since_activity', 'campaigns_n', 'campaign_responses_n']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._util.arrow import index_in
from .._util.frames import to_day
from .base import EngineError
from .base import quote_identifier as _q
from .org import EngineOrg

__all__ = ["ENGAGEMENT_COLUMNS", "converted_leads", "forget_days", "lead_engagement", "leads_on_day"]

#: The engagement columns, in ``scoring.features.lead_features``' order (those of a missing table left out).
ENGAGEMENT_COLUMNS = (
    "activities_n",
    "calls_n",
    "emails_n",
    "days_since_activity",
    "campaigns_n",
    "campaign_responses_n",
)

_DAY_US = 86_400_000_000


def _kept(org: EngineOrg, fn: str, key: tuple, build) -> pd.DataFrame:
    """``build()``, or what it gave for the same function, arguments and relations of ``org`` last time.

    A lead-scoring report asks for the same day twice (its training table, then its scoring); the result
    comes back from the engine once. One result per function is kept on the org (the last day's: about
    0.6 GB for the leads of a million-lead org), as a frame of its own (a shallow copy: pandas' copy on
    write keeps the kept one as it was whatever the caller changes); :func:`forget_days` lets it go.
    """
    full = (key, tuple(sorted(org.relations.items())), id(org.engine))
    kept = org.__dict__.setdefault("_kept_days", {})
    if fn in kept and kept[fn][0] == full:
        return kept[fn][1].copy(deep=False)
    kept.pop(fn, None)  # the old day's rows go before the new ones come
    out = build()
    kept[fn] = (full, out)
    return out.copy(deep=False)


def forget_days(org: EngineOrg) -> None:
    """Let go of the day's leads and engagement that :func:`leads_on_day` and :func:`lead_engagement` keep.

    Parameters
    ----------
    org : EngineOrg
        The org (nothing happens when it keeps none).

    Examples
    --------
    >>> forget_days(org)  # doctest: +SKIP
    """
    org.__dict__.pop("_kept_days", None)


def _us(expr: str) -> str:
    """Microseconds since 1970 of a timestamp or date expression, in UTC (the engines' session zone)."""
    return f"date_diff('microsecond', TIMESTAMP '1970-01-01 00:00:00', CAST({expr} AS TIMESTAMP))"


def lead_engagement(org: EngineOrg, *, as_of, delay_days: float = 0) -> pd.DataFrame:
    """One row per lead of the day's cut: its scoring moment and its engagement known by then.

    The org keeps the last day's result (:func:`_kept`): the training table and the scoring of a lead-scoring
    report ask for the same day and delay, and the second is handed the first's rows.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine (with ``leads``; ``activities`` and ``campaign_members`` when it has them).
    as_of : date-like
        The day of the cut (end of day, UTC): no lead is scored after it.
    delay_days : float, default 0
        Leads are scored this many days after their creation (>= 0).

    Returns
    -------
    DataFrame
        ``lead_id``, ``scored_at`` (naive UTC), then :data:`ENGAGEMENT_COLUMNS` (counts as float, as
        ``lead_features`` gives them; the activity columns only with activities, the campaign columns
        only with campaign members), sorted by ``lead_id``.

    Raises
    ------
    ValueError
        For a negative ``delay_days`` or an unparseable ``as_of``; :class:`EngineError` (a
        ``ValueError``) for an org without leads, or leads without ``created_date``.

    Examples
    --------
    >>> lead_engagement(org, as_of="2025-06-30", delay_days=7)  # doctest: +SKIP
    """
    fn = "lead_engagement"
    if not isinstance(delay_days, (int, float, np.integer, np.floating)) or isinstance(delay_days, bool):
        raise ValueError(f"{fn}: delay_days must be a number, got {delay_days!r}")
    if delay_days < 0:
        raise ValueError(f"delay_days must be >= 0, got {delay_days}")
    day = to_day(as_of, fn)
    return _kept(org, fn, (day, float(delay_days)), lambda: _lead_engagement(org, fn, day, delay_days))


def _lead_engagement(org: EngineOrg, fn: str, day: pd.Timestamp, delay_days: float) -> pd.DataFrame:
    """:func:`lead_engagement` of a checked day and delay, from the engine."""
    if not org.has("leads"):
        raise EngineError(f"{fn}: the org has no leads")
    org.require("leads", ["lead_id", "created_date"], fn)
    end = day + pd.Timedelta(days=1)
    end_us = int((end - pd.Timestamp("1970-01-01")) // pd.Timedelta(microseconds=1))
    params = {
        "end_us": end_us,
        "delay_us": int(round(float(delay_days) * _DAY_US)),
        "day": day.date(),
        "day_us": _DAY_US,
    }
    dated = "created_date" in org.columns_present("leads")
    lead_cut = f"{_us('l.created_date')} < $end_us" if dated else "TRUE"
    ctes = [
        f"""m AS (
    SELECT l.lead_id, COALESCE(LEAST({_us("l.created_date")} + $delay_us, $end_us), $end_us) AS m_us
    FROM {org.relation("leads")} l WHERE {lead_cut}
)"""
    ]
    selects, joins = [], []
    if org.has("activities"):
        org.require("activities", ["who_id", "type", "activity_date", "created_date"], fn)
        # the day's cut of activities: dated on or before the day (an export without the column: all)
        act_cut = (
            "CAST(a.activity_date AS DATE) <= $day" if "activity_date" in org.columns_present("activities") else "TRUE"
        )
        ctes.append(
            f"""ak AS (
    SELECT m.lead_id, m.m_us, lower(a.type) AS kind, {_us("a.activity_date")} + $day_us AS when_us
    FROM {org.relation("activities")} a JOIN m ON m.lead_id = a.who_id
    WHERE {act_cut} AND {_us("a.created_date")} <= m.m_us AND {_us("a.activity_date")} + $day_us <= m.m_us
),
ag AS (
    SELECT lead_id, CAST(count(*) AS DOUBLE) AS activities_n,
        CAST(count(*) FILTER (WHERE kind = 'call') AS DOUBLE) AS calls_n,
        CAST(count(*) FILTER (WHERE kind = 'email') AS DOUBLE) AS emails_n,
        max(when_us) AS last_us
    FROM ak GROUP BY lead_id
)"""
        )
        selects += [
            "COALESCE(ag.activities_n, 0.0) AS activities_n",
            "COALESCE(ag.calls_n, 0.0) AS calls_n",
            "COALESCE(ag.emails_n, 0.0) AS emails_n",
            "m.m_us - ag.last_us AS since_us",
        ]
        joins.append("LEFT JOIN ag ON ag.lead_id = m.lead_id")
    if org.has("campaign_members"):
        org.require("campaign_members", ["lead_id", "created_date", "first_responded_date"], fn)
        mem_cut = (
            f"{_us('c.created_date')} < $end_us"
            if "created_date" in org.columns_present("campaign_members")
            else "TRUE"
        )
        ctes.append(
            f"""ck AS (
    SELECT m.lead_id, {_us("c.first_responded_date")} + $day_us <= m.m_us AS responded
    FROM {org.relation("campaign_members")} c JOIN m ON m.lead_id = c.lead_id
    WHERE {mem_cut} AND {_us("c.created_date")} <= m.m_us
),
cg AS (
    SELECT lead_id, CAST(count(*) AS DOUBLE) AS campaigns_n,
        CAST(count(*) FILTER (WHERE responded) AS DOUBLE) AS campaign_responses_n
    FROM ck GROUP BY lead_id
)"""
        )
        selects += [
            "COALESCE(cg.campaigns_n, 0.0) AS campaigns_n",
            "COALESCE(cg.campaign_responses_n, 0.0) AS campaign_responses_n",
        ]
        joins.append("LEFT JOIN cg ON cg.lead_id = m.lead_id")
    query = (
        f"WITH {', '.join(ctes)}\nSELECT m.lead_id, m.m_us{''.join(', ' + s for s in selects)}\n"
        f"FROM m {' '.join(joins)}"
    )
    used = {k: v for k, v in params.items() if f"${k}" in query}  # the engines refuse a value not used
    out = org.engine.df(query, used)
    out["scored_at"] = pd.Timestamp("1970-01-01") + pd.to_timedelta(out.pop("m_us").astype("int64"), unit="us")
    if "since_us" in out.columns:
        # as pandas: (moment - end of the latest activity day) in seconds, / 86400
        since = out.pop("since_us").astype("float64")
        out["days_since_activity"] = since / 1e6 / 86400
    columns = ["lead_id", "scored_at", *[c for c in ENGAGEMENT_COLUMNS if c in out.columns]]
    return out[columns].sort_values("lead_id", kind="stable").reset_index(drop=True)


#: The conversion fields a conversion after the day had not yet filled (``CrmData.as_of``'s leads).
_CONVERSION_FIELDS = ("converted_date", "converted_account_id", "converted_contact_id", "converted_opportunity_id")


def _leads_of_day(org: EngineOrg, columns) -> tuple[list[str], str, str | None]:
    """The SELECT list of ``columns`` of the leads (alias ``l``) as the day's cut holds them, the condition
    keeping the cut's leads, and the condition of a conversion after the day (None: none can be); the
    values ``$day`` and ``$cut_end`` as :func:`_run` binds them."""
    present = set(org.columns("leads"))
    later = None
    if {"is_converted", "converted_date"} <= present:
        # as CrmData.as_of: converted, and on a later day than the cut's (a missing date: not later)
        later = "(COALESCE(l.is_converted, FALSE) AND COALESCE(l.converted_date > CAST($day AS TIMESTAMP), FALSE))"
    select = []
    for c in columns:
        if later is not None and c == "is_converted":
            select.append(f"CASE WHEN {later} THEN FALSE ELSE l.is_converted END AS is_converted")
        elif later is not None and c in _CONVERSION_FIELDS:
            select.append(f"CASE WHEN {later} THEN NULL ELSE l.{_q(c)} END AS {_q(c)}")
        else:
            select.append(f"l.{_q(c)}")
    dated = "created_date" in present and "created_date" in org.columns_present("leads")
    return select, ("l.created_date < $cut_end" if dated else "TRUE"), later


def _run(org: EngineOrg, query: str, day: pd.Timestamp) -> pd.DataFrame:
    """``query`` with the day's values bound (only those it uses: the engines refuse a value not used)."""
    end = (day + pd.Timedelta(days=1)).tz_localize("UTC").to_pydatetime()
    params = {"day": day.to_pydatetime(), "cut_end": end}
    used = {k: v for k, v in params.items() if f"${k}" in query}
    return org.engine.sql(query, used or None).to_pandas()


def converted_leads(org: EngineOrg, *, as_of) -> pd.DataFrame:
    """The leads of the day's cut converted to a deal by the day, and what they were converted to.

    The rows of :func:`leads_on_day` with a ``converted_opportunity_id``, and only the conversion's IDs:
    what campaign attribution reads of the leads (a deal's people), without the leads' other columns or
    their history in pandas.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine, with ``leads`` that have ``converted_opportunity_id``.
    as_of : date-like
        The day of the cut (end of day, UTC).

    Returns
    -------
    DataFrame
        ``lead_id``, ``converted_opportunity_id`` and ``converted_contact_id`` (when the leads have it), in
        file order; index 0..n-1.

    Raises
    ------
    EngineError
        For an org without leads, or leads without ``converted_opportunity_id`` (a ``ValueError``);
        ValueError for an unparseable ``as_of``.

    Examples
    --------
    >>> converted_leads(org, as_of="2025-06-30")  # doctest: +SKIP
    """
    fn = "converted_leads"
    day = to_day(as_of, fn)
    if not org.has("leads"):
        raise EngineError(f"{fn}: the org has no leads")
    org.require("leads", ["lead_id", "row_no", "converted_opportunity_id"], fn)
    columns = [c for c in ("lead_id", "converted_opportunity_id", "converted_contact_id") if c in org.columns("leads")]
    select, cut, later = _leads_of_day(org, columns)
    converted = "l.converted_opportunity_id IS NOT NULL" + (f" AND NOT {later}" if later else "")
    query = f"SELECT {', '.join(select)} FROM {org.relation('leads')} l WHERE {cut} AND {converted} ORDER BY l.row_no"
    return _run(org, query, day)


def leads_on_day(org: EngineOrg, *, as_of) -> pd.DataFrame:
    """The leads of the day's cut, in file order, as :meth:`CrmData.as_of(day).leads` holds them.

    The rows and fields of the pandas cut (``crm.model._leads_as_of`` and the lead history), read
    from the engine: the leads created by the end of the day (all of them where the source has no
    ``created_date``), in their file's order (``row_no``); a lead converted after the day is not
    converted yet (``is_converted`` False, its conversion fields empty); with ``lead_history``, the
    status (and the owner, when the history has Owner rows) as of the day and ``status_source``
    (``owner_source``), from :func:`~funnel_analysis.engine.field_history.lead_state`. What comes back
    is one row per lead; the history stays in the engine. The org keeps the last day's result, as
    :func:`lead_engagement` does.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine, with ``leads`` (``lead_history`` when it has one).
    as_of : date-like
        The day of the cut (end of day, UTC).

    Returns
    -------
    DataFrame
        The leads' columns as the engine holds them (``row_no`` left out), then ``status_source``
        (and ``owner_source``) with a lead history; index 0..n-1.

    Raises
    ------
    EngineError
        For an org without leads (a ``ValueError``); ValueError for an unparseable ``as_of``.

    Examples
    --------
    >>> leads_on_day(org, as_of="2025-06-30")[["lead_id", "status", "status_source"]]  # doctest: +SKIP
    """
    fn = "leads_on_day"
    day = to_day(as_of, fn)
    return _kept(org, fn, (day,), lambda: _leads_on_day(org, fn, day))


def _leads_on_day(org: EngineOrg, fn: str, day: pd.Timestamp) -> pd.DataFrame:
    """:func:`leads_on_day` of a parsed day, from the engine."""
    if not org.has("leads"):
        raise EngineError(f"{fn}: the org has no leads")
    org.require("leads", ["lead_id", "row_no"], fn)
    columns = [c for c in org.columns("leads") if c != "row_no"]
    select, cut, _ = _leads_of_day(org, columns)
    query = f"SELECT {', '.join(select)} FROM {org.relation('leads')} l WHERE {cut} ORDER BY l.row_no"
    out = _run(org, query, day)
    if org.has("lead_history"):
        from .field_history import lead_state

        state = lead_state(org, as_of=day)
        rows = index_in(out["lead_id"], state["lead_id"])
        if (rows < 0).any():
            raise EngineError(f"{fn}: a lead of the cut has no state on the day")  # the same cut: never
        for column, source in (("status", "status_source"), ("owner_id", "owner_source")):
            if source in state.columns:
                value = state[column].to_numpy()[rows]
                out[column] = pd.Series(value, index=out.index).astype(out[column].dtype)
                out[source] = state[source].to_numpy()[rows]
    return out
