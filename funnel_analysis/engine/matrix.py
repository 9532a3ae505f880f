"""The source matrix's counts and sums, in SQL: :func:`funnel_analysis.sources.matrix.source_matrix`.

The leads are those of the day's cut old enough to have converted (the rules of
:func:`~funnel_analysis.sources.matrix.mature_leads`: created at least ``mature_days`` before the
end of the day; a lead converted after the day is not converted on it, and its opportunity is not
its yet); with a lead history their ``status`` and ``owner_id`` (and ``status_source``,
``owner_source``) are the values on the day (:func:`funnel_analysis.engine.field_history.lead_state`'s
query, joined in), as ``CrmData.as_of`` gives them; the deals are the cut's (:mod:`.asof`: amount,
closed, won, close date and owner on the day).
Per segment of lead columns the engine returns the leads, the converted ones, the deals they
converted into with their pipeline, the closed and won deals, the won revenue, the average won deal
and the median cycle of the won deals (created to closed, in days, where not negative): one row per
segment, never a row per lead. The rates and their intervals are added in pandas
(:func:`funnel_analysis.sources.matrix.matrix_from_counts`).

Examples
--------
>>> from funnel_analysis.engine import EngineOrg, connect
>>> org = EngineOrg.from_crm(crm, engine=connect("duckdb"))  # doctest: +SKIP
>>> source_matrix_counts(org, as_of="2024-06-30", by="lead_source")  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._util.frames import by_list as _by_list
from .._util.frames import to_day as _to_day
from .asof import materialise_asof
from .base import EngineError
from .base import quote_identifier as _q
from .field_history import HISTORY_TABLES, _register_spine, _state_query
from .frames import text_as_str
from .org import EngineOrg

__all__ = ["MATRIX_COUNTS", "campaign_matrix_counts", "source_matrix_counts", "SpeedToLeadRows", "speed_to_lead_rows"]

#: The columns :func:`source_matrix_counts` returns after the segment's.
MATRIX_COUNTS = (
    "leads",
    "converted",
    "opportunities",
    "pipeline_created",
    "closed",
    "won",
    "won_revenue",
    "avg_won_deal_size",
    "median_cycle_days",
)


def source_matrix_counts(org: EngineOrg, *, as_of, by="lead_source", mature_days: int = 90) -> pd.DataFrame:
    """Per segment of the day's mature leads: the counts and sums of the source matrix.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day of the cut (end of day, UTC).
    by : str or list of str, default "lead_source"
        Lead columns that form the segments; a missing value is a segment of its own.
    mature_days : int, default 90
        Only leads created at least this many days before the end of ``as_of`` count.

    Returns
    -------
    DataFrame
        One row per segment, sorted by the ``by`` columns (missing last): the ``by`` columns, then
        :data:`MATRIX_COUNTS` (counts int64; ``pipeline_created`` and ``won_revenue`` 0.0 when
        nothing is summed; ``avg_won_deal_size`` and ``median_cycle_days`` NaN without a won deal).

    Raises
    ------
    ValueError
        A negative ``mature_days``, an unparseable ``as_of``, no ``by`` column; :class:`EngineError`
        (a ``ValueError``) for an org without leads or opportunities, or a column they lack.

    Examples
    --------
    >>> source_matrix_counts(org, as_of="2024-06-30")[["lead_source", "leads", "won"]]  # doctest: +SKIP
    """
    fn = "source_matrix_counts"
    keys = _by_list(by)
    if not keys:
        raise ValueError(f"{fn}: `by` names no column")
    day, fields = _mature_day(org, fn, keys, as_of, mature_days, ("leads", "opportunities"))
    need = ["lead_id", "created_date", "is_converted", "converted_opportunity_id", *keys]
    missing = [c for c in need if c not in org.columns("leads") and c not in fields]
    if missing:
        raise EngineError(f"{fn}: the leads have no column {', '.join(map(repr, missing))}")
    leads = org.relation("leads")
    end = (day + pd.Timedelta(days=1)).tz_localize("UTC")
    params = {"mature_end": (end - pd.Timedelta(days=int(mature_days))).to_pydatetime()}
    k_l = ", ".join(f"{'f' if k in fields else 'l'}.{_q(k)} AS {_q(k)}" for k in keys)
    join = f" LEFT JOIN {_LEAD_FIELDS} f ON f.lead_id = l.lead_id" if fields else ""
    members = f"SELECT {k_l}, l.lead_id FROM {leads} l{join} WHERE l.created_date <= $mature_end"
    return _counts(org, day, keys, members, params)


@dataclass(frozen=True)
class SpeedToLeadRows:
    """What :func:`speed_to_lead_rows` reads from the engine.

    Attributes
    ----------
    leads : DataFrame
        The segment columns, ``lead_id``, ``created_date``, ``is_converted`` of the day's mature leads,
        in file order.
    first : DataFrame
        ``who_id`` and the time column: one row per lead with an activity at or after its creation.
    """

    leads: pd.DataFrame
    first: pd.DataFrame


def speed_to_lead_rows(
    org: EngineOrg, *, as_of, by=None, mature_days: int = 90, time_column: str = "created_date"
) -> SpeedToLeadRows:
    """The day's mature leads and each one's first activity: what speed to lead reads, from the engine.

    What :func:`funnel_analysis.sources.matrix.speed_to_lead` reads of an org, without its leads or
    activities in pandas: the mature leads of the day's cut (as :func:`source_matrix_counts` takes
    them: created at least ``mature_days`` before the end of the day, converted as of the day, the
    segment columns the lead history changes as of the day), and, per lead, its first activity of the
    day's cut (``who_id`` the lead) at or after its creation. Given to that function, they give its
    table: the other activities come later or never match a lead.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine, with ``leads`` and ``activities``.
    as_of : date-like
        The day of the cut (end of day, UTC).
    by : str or list of str, optional
        The lead columns of the segments; None: none.
    mature_days : int, default 90
        How old a lead must be on the day.
    time_column : str, default "created_date"
        The activity column that times it.

    Returns
    -------
    SpeedToLeadRows
        ``leads`` (the segment columns, ``lead_id``, ``created_date``, ``is_converted``, in file order)
        and ``first`` (``who_id`` and ``time_column``: one row per lead with an activity at or after its
        creation).

    Raises
    ------
    ValueError
        A negative ``mature_days`` or an unparseable ``as_of``; :class:`EngineError` (a
        ``ValueError``) for an org without leads or activities, or a column they lack.

    Examples
    --------
    >>> rows = speed_to_lead_rows(org, as_of="2025-06-30", by="lead_source")  # doctest: +SKIP
    """
    from .attach import _on_day

    fn = "speed_to_lead_rows"
    keys = _by_list(by)
    day, fields = _mature_day(org, fn, keys, as_of, mature_days, ("leads", "activities"))
    need = ["lead_id", "row_no", "created_date", *keys]
    missing = [c for c in need if c not in org.columns("leads") and c not in fields]
    missing += [f"activities.{c}" for c in ("who_id", time_column) if c not in org.columns("activities")]
    if missing:
        raise EngineError(f"{fn}: the leads have no column {', '.join(map(repr, missing))}")
    cols = org.columns("leads")
    later = _converted_later(cols)
    converted = (
        f"COALESCE(l.is_converted, FALSE) AND NOT COALESCE({later}, FALSE)" if "is_converted" in cols else "FALSE"
    )
    end = (day + pd.Timedelta(days=1)).tz_localize("UTC")
    params = {
        "mature_end": (end - pd.Timedelta(days=int(mature_days))).to_pydatetime(),
        "day": day.date(),
        "cut_end": end.to_pydatetime(),
    }
    k_l = "".join(f"{'f' if k in fields else 'l'}.{_q(k)} AS {_q(k)}, " for k in keys)
    join = f" LEFT JOIN {_LEAD_FIELDS} f ON f.lead_id = l.lead_id" if fields else ""
    # the mature leads are created before the cut's end: they are leads of the cut
    mature = (
        f"SELECT {k_l}l.lead_id, l.created_date, {converted} AS is_converted, l.row_no "
        f"FROM {org.relation('leads')} l{join} WHERE l.created_date <= $mature_end"
    )
    out = ", ".join(_q(c) for c in [*keys, "lead_id", "created_date", "is_converted"])
    t = _q(time_column)
    queries = (
        f"SELECT {out} FROM ({mature}) m ORDER BY row_no",
        f"""
WITH m AS ({mature})
SELECT a.who_id AS who_id, min(a.{t}) AS {t}
FROM {org.relation("activities")} a JOIN m ON a.who_id = m.lead_id
WHERE {_on_day(org, "activities", "a")} AND a.{t} >= m.created_date
GROUP BY a.who_id
ORDER BY a.who_id
""",
    )
    # each query with the values it uses (the engines refuse one it does not)
    leads, first = (org.engine.df(q, {k: v for k, v in params.items() if f"${k}" in q} or None) for q in queries)
    leads["is_converted"] = leads["is_converted"].astype(bool)
    return SpeedToLeadRows(text_as_str(leads, columns=[*keys, "lead_id"]), text_as_str(first, columns=["who_id"]))


def _converted_later(cols) -> str:
    """The SQL condition of a lead (alias ``l``) converted on a later day than ``$day`` (FALSE without the date)."""
    return "CAST(l.converted_date AS DATE) > $day" if "converted_date" in cols else "FALSE"


def _mature_day(org: EngineOrg, fn: str, keys: list[str], as_of, mature_days, tables) -> tuple[pd.Timestamp, list[str]]:
    """The checked day of a query of the day's mature leads and the segment columns it takes from the lead
    history (:func:`_lead_fields`), once ``mature_days`` is checked and the org has ``tables``."""
    if not isinstance(mature_days, (int, np.integer)) or isinstance(mature_days, bool) or mature_days < 0:
        raise ValueError(f"{fn}: mature_days must be a non-negative integer, got {mature_days!r}")
    day = _to_day(as_of, fn)
    for table in tables:
        if not org.has(table):
            raise EngineError(f"{fn}: the org has no {table}")
    return day, _lead_fields(org, day, keys, fn)


#: Lead columns the as-of cut takes from the lead history (``CrmData.as_of``), with their sources.
_LEAD_TRACKED = {"status": "status_source", "owner_id": "owner_source"}
_LEAD_FIELDS = "matrix_lead_fields"


def _lead_fields(org: EngineOrg, day: pd.Timestamp, keys: list[str], fn: str) -> list[str]:
    """With a lead history and a segment column it changes: the leads' values on ``day`` materialised
    as :data:`_LEAD_FIELDS` (``lead_id`` and those columns), and the columns it holds; else none."""
    sources = set(_LEAD_TRACKED.values())
    if not org.has("lead_history") or not any(k in _LEAD_TRACKED or k in sources for k in keys):
        return []
    columns = [c for c in _LEAD_TRACKED if c in org.columns("leads")]
    spine = f"{_LEAD_FIELDS}_spine"
    _register_spine(org, [day], spine)
    query, params, valued = _state_query(org, HISTORY_TABLES["lead_history"], spine, fn, columns, counts=False)
    org.engine.materialise(_LEAD_FIELDS, query, params)
    return [*valued, *(_LEAD_TRACKED[c] for c in valued)]


def campaign_matrix_counts(org: EngineOrg, *, as_of) -> pd.DataFrame:
    """Per campaign: the counts and sums of the campaign matrix, through the campaigns' lead members.

    The members of the day's cut (created by its end, when the members have a creation time) that
    are leads of the cut; each lead counts once per campaign. The costs and the campaigns without a
    lead member are added in pandas (:func:`funnel_analysis.sources.matrix.campaign_matrix_from_counts`).

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day of the cut (end of day, UTC).

    Returns
    -------
    DataFrame
        One row per campaign with a lead member: ``campaign_id``, then :data:`MATRIX_COUNTS`;
        sorted by campaign.

    Raises
    ------
    ValueError
        An unparseable ``as_of``; :class:`EngineError` for an org without leads, opportunities or
        campaign members.

    Examples
    --------
    >>> campaign_matrix_counts(org, as_of="2024-06-30")[["campaign_id", "leads", "won_revenue"]]  # doctest: +SKIP
    """
    fn = "campaign_matrix_counts"
    day = _to_day(as_of, fn)
    for table in ("leads", "opportunities", "campaign_members"):
        if not org.has(table):
            raise EngineError(f"{fn}: the org has no {table}")
    missing = [c for c in ("campaign_id", "lead_id") if c not in org.columns("campaign_members")]
    if missing:
        raise EngineError(f"{fn}: the campaign members have no column {', '.join(map(repr, missing))}")
    cm = org.relation("campaign_members")
    dated = "created_date" in org.columns_present("campaign_members")
    members = (
        f"SELECT DISTINCT cm.campaign_id, cm.lead_id FROM {cm} cm "
        f"WHERE cm.lead_id IS NOT NULL{' AND cm.created_date < $cut_end' if dated else ''}"
    )
    return _counts(org, day, ["campaign_id"], members, {})


def _counts(org: EngineOrg, day: pd.Timestamp, keys: list[str], members: str, params: dict) -> pd.DataFrame:
    """The matrix's counts of the ``members`` (segment columns and ``lead_id``) that are leads of the cut."""
    state = materialise_asof(org, as_of=[day], name="matrix_state")
    leads = org.relation("leads")
    cols = org.columns("leads")
    conv_date = _converted_later(cols)
    cut = "l.created_date < $cut_end" if "created_date" in org.columns_present("leads") else "TRUE"
    k_m = ", ".join(f"mm.{_q(k)} AS {_q(k)}" for k in keys)
    k = ", ".join(_q(k) for k in keys)
    end = (day + pd.Timedelta(days=1)).tz_localize("UTC")
    params = {**params, "cut_end": end.to_pydatetime(), "day": day.date()}
    out = org.engine.df(
        f"""
WITH mm AS ({members}),
m AS (
    SELECT {k_m},
        COALESCE(l.is_converted, FALSE) AND NOT COALESCE({conv_date}, FALSE) AS conv,
        CASE WHEN NOT (COALESCE(l.is_converted, FALSE) AND COALESCE({conv_date}, FALSE))
            THEN l.converted_opportunity_id END AS opp
    FROM mm JOIN {leads} l ON l.lead_id = mm.lead_id
    WHERE {cut}
),
lc AS (
    SELECT {k}, CAST(count(*) AS BIGINT) AS leads, CAST(count(*) FILTER (WHERE conv) AS BIGINT) AS converted
    FROM m GROUP BY {k}
),
p AS (SELECT DISTINCT {k}, opp FROM m WHERE opp IS NOT NULL),
o AS (
    SELECT {", ".join(f"p.{_q(c)}" for c in keys)}, CAST(s.amount AS DOUBLE) AS amount,
        COALESCE(s.is_closed, FALSE) AS closed,
        COALESCE(s.is_closed, FALSE) AND COALESCE(s.is_won, FALSE) AS won,
        date_diff('day', CAST(s.created_date AS DATE), CAST(s.close_date AS DATE)) AS span
    FROM p JOIN {state} s ON s.opportunity_id = p.opp
),
oc AS (
    SELECT {k}, CAST(count(*) AS BIGINT) AS opportunities,
        COALESCE(sum(amount), 0.0) AS pipeline_created,
        CAST(count(*) FILTER (WHERE closed) AS BIGINT) AS closed,
        CAST(count(*) FILTER (WHERE won) AS BIGINT) AS won,
        COALESCE(sum(amount) FILTER (WHERE won), 0.0) AS won_revenue,
        avg(amount) FILTER (WHERE won) AS avg_won_deal_size,
        median(CAST(span AS DOUBLE)) FILTER (WHERE won AND span >= 0) AS median_cycle_days
    FROM o GROUP BY {k}
)
SELECT {", ".join(f"lc.{_q(c)}" for c in keys)}, lc.leads, lc.converted,
    COALESCE(oc.opportunities, 0) AS opportunities, COALESCE(oc.pipeline_created, 0.0) AS pipeline_created,
    COALESCE(oc.closed, 0) AS closed, COALESCE(oc.won, 0) AS won, COALESCE(oc.won_revenue, 0.0) AS won_revenue,
    oc.avg_won_deal_size, oc.median_cycle_days
FROM lc LEFT JOIN oc ON {" AND ".join(f"lc.{_q(c)} IS NOT DISTINCT FROM oc.{_q(c)}" for c in keys)}
""",
        params,
    )
    for c in ("leads", "converted", "opportunities", "closed", "won"):
        out[c] = out[c].astype("int64")
    for c in ("pipeline_created", "won_revenue", "avg_won_deal_size", "median_cycle_days"):
        out[c] = out[c].astype("float64")
    out = text_as_str(out, columns=keys)  # an all-missing text column comes back as objects
    out = out.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)
    return out[[*keys, *MATRIX_COUNTS]]
