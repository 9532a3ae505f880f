"""Activity aggregates per deal, in SQL: :func:`funnel_analysis.sources.activities.activity_summary`.

The deals are those of the org's as-of cut (:mod:`.asof`: each deal's ``is_closed``, ``is_won`` and
``close_date`` on the day); the activities are the org's ``activities`` relation, joined on
``what_id``. The rules are the reference's (its module notes): an activity counts on ``as_of`` when
its ``activity_date`` (a UTC day) is on or before it; undated ones are counted apart
(``n_undated``); ``type`` is mapped to call / email / meeting / other; ``n_before_close`` counts, for
a closed deal, the activities dated on or before its close date, and is missing for an open one.

Only the per-deal table (one row per deal) or the closed deals per activity count
(:func:`closed_deals_by_activity_count`: a row per count) come back from the engine, never the activities. Values from the data
(another ``by`` column's values) are bound, never written into the SQL; they name the output
columns only after the result is back.

Not here: ``leads=`` (the activities of the converted leads, ``n_lead_activities``), which the
reference alone computes.

Examples
--------
>>> from funnel_analysis.engine import EngineOrg, connect
>>> org = EngineOrg.from_crm(crm, engine=connect("duckdb"))  # doctest: +SKIP
>>> activity_summary(org, as_of="2024-06-30").head()  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

from .._util.frames import to_day as _to_day
from ..crm.activity_types import KINDS, TYPE_MAP
from .asof import materialise_asof
from .base import EngineError
from .base import quote_identifier as _q
from .org import EngineOrg

__all__ = ["activity_summary", "closed_deals_by_activity_count"]


def _kind_sql(col: str) -> str:
    """The reference's kind of ``type`` (:data:`TYPE_MAP`), in portable SQL."""
    norm = f"replace(replace(replace(lower({col}), ' ', ''), '_', ''), '-', '')"
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in TYPE_MAP.items())  # the package's own constants
    return f"COALESCE(CASE {norm} {whens} END, 'other')"


def _linked_sql(org: EngineOrg, state: str, by: str) -> str:
    """Every activity of a deal of the cut: its position's day, kind, and the deal's close."""
    acts = org.relation("activities")
    kind = _kind_sql("a.type") if by == "type" else f"COALESCE(lower(trim(CAST(a.{_q(by)} AS VARCHAR))), 'other')"
    return f"""
SELECT s.opportunity_id, s.is_closed, s.close_date,
    CAST(a.activity_date AS DATE) AS d, {kind} AS kind
FROM {state} s JOIN {acts} a ON a.what_id = s.opportunity_id
"""


def _check(org: EngineOrg, by: str, fn: str) -> None:
    if not isinstance(by, str):
        raise TypeError(f"{fn}: by must be one column name, got {by!r}")
    if not org.has("opportunities"):
        raise EngineError(f"{fn}: the org has no opportunities")
    if not org.has("activities"):
        raise EngineError(f"{fn}: the org has no activities")
    missing = [c for c in ("what_id", "activity_date", by) if c not in org.columns("activities")]
    if missing:
        raise EngineError(f"{fn}: the activities have no column {', '.join(map(repr, missing))}")


def activity_summary(org: EngineOrg, *, as_of, by: str = "type") -> pd.DataFrame:
    """Per deal of the day's cut: activities by kind, before close, and days since the last one.

    The same table as :func:`funnel_analysis.sources.activities.activity_summary` of the org's
    activities and ``crm.as_of(as_of).opportunities`` (without ``leads``), reduced in the engine.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day the counts stand on (inclusive) and of the deals' cut.
    by : str, default "type"
        The activity column the counts are split by: ``"type"`` is mapped to call / email /
        meeting / other; any other column by its values lower-cased and trimmed (missing: other).

    Returns
    -------
    DataFrame
        One row per deal of the cut, sorted by ``opportunity_id``: ``opportunity_id``,
        ``n_activities``, ``n_<kind>`` per kind, ``n_before_close`` (Int64, missing for open
        deals), ``last_activity_date``, ``days_since_last_activity`` (float, NaN without
        activity), ``n_undated``.

    Raises
    ------
    ValueError
        An unparseable ``as_of``; :class:`EngineError` (a ``ValueError``) for an org without
        opportunities or activities, or a ``by`` column the activities do not have.
    TypeError
        ``by`` is not one column name.

    Examples
    --------
    >>> activity_summary(org, as_of="2024-06-30")[["opportunity_id", "n_activities"]]  # doctest: +SKIP
    """
    fn = "activity_summary"
    _check(org, by, fn)
    day = _to_day(as_of, fn)
    state = materialise_asof(org, as_of=[day], name="activity_state")
    org.engine.materialise("activity_linked", _linked_sql(org, state, by))
    params = {"day": day.date()}
    done = "d IS NOT NULL AND d <= $day"
    if by == "type":
        kinds = list(KINDS)
    else:
        got = org.engine.df(f"SELECT DISTINCT kind FROM activity_linked WHERE {done}", params)
        kinds = sorted(got["kind"].tolist())
    params |= {f"k{i}": k for i, k in enumerate(kinds)}
    per_kind = "".join(
        f", CAST(count(*) FILTER (WHERE {done} AND kind = $k{i}) AS BIGINT) AS c{i}" for i in range(len(kinds))
    )
    out = org.engine.df(
        f"""
WITH c AS (
    SELECT opportunity_id,
        CAST(count(*) FILTER (WHERE {done}) AS BIGINT) AS n_activities{per_kind},
        CAST(count(*) FILTER (WHERE {done} AND d <= CAST(close_date AS DATE)) AS BIGINT) AS n_before,
        max(d) FILTER (WHERE {done}) AS last_activity_date,
        CAST(count(*) FILTER (WHERE d IS NULL) AS BIGINT) AS n_undated
    FROM activity_linked GROUP BY opportunity_id
)
SELECT s.opportunity_id, COALESCE(c.n_activities, 0) AS n_activities,
    {"".join(f"COALESCE(c.c{i}, 0) AS c{i}, " for i in range(len(kinds)))}
    CASE WHEN COALESCE(s.is_closed, FALSE) THEN COALESCE(c.n_before, 0) END AS n_before_close,
    c.last_activity_date, COALESCE(c.n_undated, 0) AS n_undated
FROM {state} s LEFT JOIN c ON c.opportunity_id = s.opportunity_id
ORDER BY s.opportunity_id
""",
        params,
    )
    out = out.rename(columns={f"c{i}": f"n_{k}" for i, k in enumerate(kinds)})
    for c in ["n_activities", *(f"n_{k}" for k in kinds), "n_undated"]:
        out[c] = out[c].astype("int64")
    out["n_before_close"] = out["n_before_close"].astype("Int64")
    last = pd.to_datetime(out["last_activity_date"]).astype("datetime64[us]")
    out["last_activity_date"] = last
    out["days_since_last_activity"] = ((day - last) / pd.Timedelta(days=1)).astype("float64")
    order = ["opportunity_id", "n_activities", *(f"n_{k}" for k in kinds), "n_before_close"]
    return out[[*order, "last_activity_date", "days_since_last_activity", "n_undated"]]


def closed_deals_by_activity_count(org: EngineOrg, *, as_of) -> pd.DataFrame:
    """The closed deals of the day's cut, and those won, per number of activities before close.

    The counts :func:`funnel_analysis.sources.activities.activity_win_relation` rests on, summed in
    the engine (:func:`~funnel_analysis.sources.activities.activity_win_table` buckets them): a row
    per count, never a row per deal.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day of the cut.

    Returns
    -------
    DataFrame
        ``n_before_close``, ``closed``, ``won`` (int64), sorted by ``n_before_close``.

    Raises
    ------
    ValueError
        An unparseable ``as_of``; :class:`EngineError` for an org without opportunities or activities.

    Examples
    --------
    >>> closed_deals_by_activity_count(org, as_of="2024-06-30").head(3)  # doctest: +SKIP
    """
    fn = "closed_deals_by_activity_count"
    _check(org, "type", fn)
    day = _to_day(as_of, fn)
    state = materialise_asof(org, as_of=[day], name="activity_state")
    acts = org.relation("activities")
    got = org.engine.df(
        f"""
WITH n AS (
    SELECT s.opportunity_id, COALESCE(s.is_won, FALSE) AS won,
        count(a.what_id) FILTER (
            WHERE CAST(a.activity_date AS DATE) <= $day
              AND CAST(a.activity_date AS DATE) <= CAST(s.close_date AS DATE)
        ) AS n
    FROM {state} s LEFT JOIN {acts} a ON a.what_id = s.opportunity_id
    WHERE COALESCE(s.is_closed, FALSE)
    GROUP BY s.opportunity_id, COALESCE(s.is_won, FALSE)
)
SELECT CAST(n AS BIGINT) AS n_before_close, CAST(count(*) AS BIGINT) AS closed,
    CAST(count(*) FILTER (WHERE won) AS BIGINT) AS won
FROM n GROUP BY n ORDER BY n
""",
        {"day": day.date()},
    )
    return got.astype("int64").reset_index(drop=True)
