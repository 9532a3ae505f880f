"""What the pipeline-hygiene report reads, from the engine: the day's open deals and the few activities on them.

:mod:`funnel_analysis.pipeline.report` lists open deals (the board, past their close date, without a
next step, untouched, without an amount) and overdue tasks. On an org held in an engine the deals,
their stage history, the activities and the tasks stay there; these queries bring back only what
the lists are made of, and the pandas functions of :mod:`funnel_analysis.pipeline` make them:

- :func:`open_deals`: the deals open on the day (their state as :meth:`CrmData.as_of
  <funnel_analysis.crm.model.CrmData.as_of>` rebuilds it, every column of the opportunity), a small
  part of the deals;
- :func:`open_deal_activities`: the activities on those deals (the three columns recency reads);
- :func:`task_candidates`: the day's tasks that may be open on it (a task closed by then, and not
  completed after it, cannot be overdue: left in the engine);
- :func:`next_step_history`: the ``NextStep`` rows of the field history and what the rebuild of a
  field needs of the deals (their key, creation and exported value).

Examples
--------
>>> from funnel_analysis.engine import EngineOrg, connect
>>> org = EngineOrg.from_crm(crm, engine=connect("duckdb"))  # doctest: +SKIP
>>> open_deals(org, as_of="2024-06-30")["is_closed"].any()  # doctest: +SKIP
False
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .._util.frames import to_day
from .asof import materialise_asof
from .base import quote_identifier as _q
from .frames import naive_days, text_as_str, utc_times
from .org import EngineOrg

__all__ = [
    "NextStepHistory",
    "has_tasks",
    "next_step_history",
    "open_deal_activities",
    "open_deals",
    "task_candidates",
]

_OPEN = "open_deals_state"


def _params(day: pd.Timestamp, query: str) -> dict:
    """The bound values ``query`` uses: the day and the end of it (UTC)."""
    values = {"day": day.date(), "cut_end": (day + pd.Timedelta(days=1)).tz_localize("UTC").to_pydatetime()}
    return {k: v for k, v in values.items() if f"${k}" in query}


def open_deals(org: EngineOrg, *, as_of) -> pd.DataFrame:
    """The deals open at the end of the day, each as it stood then, every column of the opportunity.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine, with ``opportunities``.
    as_of : date-like
        The day.

    Returns
    -------
    DataFrame
        The columns of :func:`funnel_analysis.engine.asof.asof_state` but ``as_of``, typed as the
        pandas cut types them, of the deals not closed on the day, ordered by ``opportunity_id``.
        The relation stays in the engine (``open_deals_state``) for :func:`open_deal_activities`.

    Raises
    ------
    ValueError
        An unparseable ``as_of``; :class:`EngineError` (a ``ValueError``) for an org without opportunities.

    Examples
    --------
    >>> open_deals(org, as_of="2024-06-30")[["opportunity_id", "stage_name"]].head(1)  # doctest: +SKIP
    """
    day = to_day(as_of, "open_deals")
    org.require("opportunities", [], "open_deals")
    state = materialise_asof(org, as_of=[day], name=f"{_OPEN}_all")
    org.engine.materialise(_OPEN, f"SELECT * FROM {state} WHERE NOT COALESCE(is_closed, FALSE)")
    out = org.engine.df(f"SELECT * FROM {_OPEN} ORDER BY opportunity_id")
    out = out.drop(columns=[c for c in ("as_of",) if c in out.columns])
    for c in ("is_closed", "is_won"):
        out[c] = out[c].astype("boolean").fillna(False).astype(bool)
    if "created_date" in out.columns:
        out["created_date"] = utc_times(out["created_date"])
    if "close_date" in out.columns:
        out["close_date"] = naive_days(out["close_date"])
    if "amount" in out.columns:
        out["amount"] = pd.to_numeric(out["amount"]).astype("float64")
    return text_as_str(out).reset_index(drop=True)


def open_deal_activities(org: EngineOrg) -> pd.DataFrame:
    """The activities on the deals of the last :func:`open_deals` (any time: recency filters by the day).

    Parameters
    ----------
    org : EngineOrg
        The org in its engine, after :func:`open_deals`.

    Returns
    -------
    DataFrame
        ``what_id``, ``created_date`` (UTC), ``activity_date`` (a naive day); no rows without activities.

    Examples
    --------
    >>> open_deal_activities(org).columns.tolist()  # doctest: +SKIP
    ['what_id', 'created_date', 'activity_date']
    """
    columns = ["what_id", "created_date", "activity_date"]
    if not org.has("activities"):
        return pd.DataFrame(columns=columns)
    have = org.columns("activities")
    select = ", ".join(f"a.{_q(c)}" if c in have else f"CAST(NULL AS TIMESTAMP) AS {_q(c)}" for c in columns)
    out = org.engine.df(
        f"SELECT {select} FROM {org.relation('activities')} a WHERE a.what_id IN (SELECT opportunity_id FROM {_OPEN})"
    )
    return out.assign(
        what_id=out["what_id"].astype("str"),
        created_date=utc_times(out["created_date"]),
        activity_date=naive_days(out["activity_date"]),
    )


def has_tasks(org: EngineOrg) -> bool:
    """Whether the org's activities hold a task (``activity_kind`` ``task``; any activity without that column).

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.

    Returns
    -------
    bool

    Examples
    --------
    >>> has_tasks(org)  # doctest: +SKIP
    True
    """
    if not org.has("activities"):
        return False
    rel = org.relation("activities")
    if "activity_kind" not in org.columns("activities"):
        return bool(org.engine.sql(f"SELECT count(*) > 0 AS x FROM {rel}").to_pylist()[0]["x"])
    return bool(org.engine.sql(f"SELECT count(*) > 0 AS x FROM {rel} WHERE activity_kind = 'task'").to_pylist()[0]["x"])


def task_candidates(org: EngineOrg, *, as_of) -> pd.DataFrame:
    """The day's activities that may be open tasks on it: what :func:`funnel_analysis.pipeline.overdue_tasks` reads.

    The rows of the day's cut (due by the day, as ``CrmData.as_of`` keeps activities) but those
    closed (``is_closed`` true) and not completed after the day, which no rule can make open.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine, with ``activities``.
    as_of : date-like
        The day.

    Returns
    -------
    DataFrame
        Every column of the activities, typed as the loader types them.

    Examples
    --------
    >>> task_candidates(org, as_of="2024-06-30")["is_closed"].any()  # doctest: +SKIP
    False
    """
    from .attach import _on_day

    day = to_day(as_of, "task_candidates")
    have = org.columns("activities")
    closed = "COALESCE(a.is_closed, FALSE)" if "is_closed" in have else "FALSE"
    later = "COALESCE(CAST(a.completed_date_time AS DATE) > $day, FALSE)" if "completed_date_time" in have else "FALSE"
    query = (
        f"SELECT a.* FROM {org.relation('activities')} a "
        f"WHERE {_on_day(org, 'activities', 'a')} AND NOT ({closed} AND NOT {later})"
    )
    out = org.engine.df(query, _params(day, query))
    for c in ("created_date", "completed_date_time"):
        if c in out.columns:
            out[c] = utc_times(out[c])
    if "activity_date" in out.columns:
        out["activity_date"] = naive_days(out["activity_date"])
    if "is_closed" in out.columns:
        out["is_closed"] = out["is_closed"].astype("boolean")
    return text_as_str(out).reset_index(drop=True)


@dataclass(frozen=True)
class NextStepHistory:
    """What the rebuild of the deals' next step on a day reads (:func:`next_step_history`).

    Attributes
    ----------
    rows : DataFrame
        The ``NextStep`` rows of the opportunity field history (every column); empty without any.
    deals : DataFrame
        ``opportunity_id``, ``created_date``, ``next_step`` of every deal; empty without ``rows``.
    """

    rows: pd.DataFrame
    deals: pd.DataFrame


def next_step_history(org: EngineOrg) -> NextStepHistory:
    """The ``NextStep`` rows of the opportunity field history, and the deals' key, creation and next step.

    What :func:`funnel_analysis.crm.field_history.field_as_of` reads to rebuild a deal's next step on a
    day: one field's rows (a small part of the history) and three columns of the deals.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.

    Returns
    -------
    NextStepHistory
        ``rows`` empty (and ``deals`` too) without a field history, a ``next_step`` column or a
        ``NextStep`` row.

    Examples
    --------
    >>> got = next_step_history(org)  # doctest: +SKIP
    >>> len(got.rows) > 0  # doctest: +SKIP
    True
    """
    none = NextStepHistory(rows=pd.DataFrame(), deals=pd.DataFrame())
    if not org.has("opportunity_field_history") or "next_step" not in org.columns("opportunities"):
        return none
    hist = org.relation("opportunity_field_history")
    cols = [c for c in org.columns("opportunity_field_history") if c != "row_no"]
    order = " ORDER BY row_no" if "row_no" in org.columns("opportunity_field_history") else ""
    rows = org.engine.df(f"SELECT {', '.join(_q(c) for c in cols)} FROM {hist} WHERE field = 'NextStep'{order}")
    if not len(rows):
        return none
    rows["created_date"] = utc_times(rows["created_date"])
    deals = org.engine.df(f"SELECT opportunity_id, created_date, next_step FROM {org.relation('opportunities')}")
    deals["created_date"] = utc_times(deals["created_date"])
    return NextStepHistory(rows=text_as_str(rows), deals=text_as_str(deals))
