"""The funnels' sums in SQL: the lead funnel, the snapshot funnel and the cohort funnel.

The lead funnel (:func:`lead_status_sums`): the leads of the day's cut (created by its end; their
status and owner those on the day where the lead history says so, as ``CrmData.as_of`` gives them;
a lead converted after the day is not converted on it), counted per segment and status with the
converted ones and the file place of the first lead of each status (the order of the statuses the
org does not list): a row per segment and status, never a row per lead. The status order, the
folding of spellings and the shares are added in pandas
(:func:`funnel_analysis.funnel.conversion.lead_funnel_from_sums`).

The deals are the day's cut (:mod:`.asof`: stage, amount and closed flag on the day), open ones
only unless ``include_closed``; per segment and stage name the engine returns the deals, their
amount and the deals without one: a row per segment and stage, never a row per deal. The stage
rows, their order, the unknown stage and the shares are added in pandas
(:func:`funnel_analysis.funnel.conversion.snapshot_from_sums`).

Examples
--------
>>> from funnel_analysis.engine import EngineOrg, connect
>>> org = EngineOrg.from_crm(crm, engine=connect("duckdb"))  # doctest: +SKIP
>>> snapshot_sums(org, as_of="2024-06-30", by="lead_source")  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from .._util.frames import by_list as _by_list
from .._util.frames import day_number as _day_number
from .._util.frames import stage_ranks as _stage_ranks
from .._util.frames import to_day as _to_day
from .asof import materialise_asof
from .base import EngineError
from .base import quote_identifier as _q
from .frames import text_as_str, utc_times
from .org import EngineOrg

__all__ = ["cohort_sums", "day_history", "lead_status_sums", "snapshot_sums"]


def day_history(org: EngineOrg, *, as_of) -> pd.DataFrame:
    """The stage history of the day's cut: the rows the stage transitions and bottlenecks read.

    As ``CrmData.as_of(day).history_of(opportunities)``: the ``opportunity_history`` rows of the deals
    created by the end of the day, themselves created by then where the source has their times (else
    all of them), in file order; only the three columns the transitions read (a stage change is a few
    bytes: a million of them are some tens of MB).

    Parameters
    ----------
    org : EngineOrg
        The org in its engine, with ``opportunities``.
    as_of : date-like
        The day (the end of it, UTC).

    Returns
    -------
    DataFrame
        ``opportunity_id``, ``created_date`` (UTC), ``stage_name``; no rows without a history.

    Raises
    ------
    ValueError
        An unparseable ``as_of``; :class:`EngineError` (a ``ValueError``) for an org without
        opportunities.

    Examples
    --------
    >>> day_history(org, as_of="2024-06-30").columns.tolist()  # doctest: +SKIP
    ['opportunity_id', 'created_date', 'stage_name']
    """
    from .attach import _on_day

    fn = "day_history"
    day = _to_day(as_of, fn)
    org.require("opportunities", [], fn)
    columns = ["opportunity_id", "created_date", "stage_name"]
    if not org.has("opportunity_history"):
        return pd.DataFrame(
            {c: pd.Series(dtype="datetime64[us, UTC]" if c == "created_date" else "str") for c in columns}
        )
    hist, opps = org.relation("opportunity_history"), org.relation("opportunities")
    order = "h.row_no" if "row_no" in org.columns("opportunity_history") else "h.opportunity_id"
    query = f"""
SELECT h.opportunity_id, h.created_date, h.stage_name
FROM {hist} h
WHERE {_on_day(org, "opportunity_history", "h")}
    AND h.opportunity_id IN (SELECT o.opportunity_id FROM {opps} o WHERE {_on_day(org, "opportunities", "o")})
ORDER BY {order}
"""
    params = {"day": day.date(), "cut_end": (day + pd.Timedelta(days=1)).tz_localize("UTC").to_pydatetime()}
    out = org.engine.df(query, {k: v for k, v in params.items() if f"${k}" in query})
    return out.assign(
        opportunity_id=out["opportunity_id"].astype("str"),
        created_date=utc_times(out["created_date"]),
        stage_name=out["stage_name"].astype("str"),
    ).reset_index(drop=True)


def lead_status_sums(org: EngineOrg, *, as_of, by=None) -> pd.DataFrame:
    """Per segment and status of the day's leads: the leads, the converted ones, where the first one is.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine, with ``leads`` (their relation numbered in file order, ``row_no``).
    as_of : date-like
        The day of the cut (end of day, UTC).
    by : str or list of str, optional
        Lead columns that form the segments (``owner_id`` the owner on the day with a lead history);
        a missing value is a segment of its own.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``status`` (as on the day, not folded; missing where the lead has none),
        ``n``, ``converted`` (converted by the day), ``known`` (with an ``is_converted`` value),
        ``as_exported`` (whose status on the day is unknown, the exported one kept: with a lead
        history only, else 0) and ``first_row`` (the smallest ``row_no``), all int64; sorted by
        ``first_row``.

    Raises
    ------
    ValueError
        An unparseable ``as_of``; :class:`EngineError` (a ``ValueError``) for an org without leads,
        or a column they lack.

    Examples
    --------
    >>> lead_status_sums(org, as_of="2024-06-30", by="lead_source").columns.tolist()  # doctest: +SKIP
    ['lead_source', 'status', 'n', 'converted', 'known', 'as_exported', 'first_row']
    """
    from .matrix import _LEAD_FIELDS, _lead_fields

    fn = "lead_status_sums"
    keys = _by_list(by)
    day = _to_day(as_of, fn)
    org.require("leads", ["status", "is_converted", *keys], fn)
    fields = _lead_fields(org, day, ["status", *keys], fn)
    cols = org.columns("leads")
    if "row_no" not in cols:
        raise EngineError(f"{fn}: the leads relation has no row_no (register it with row_no=True)")

    def col(c: str) -> str:
        return f"{'f' if c in fields else 'l'}.{_q(c)}"

    select = [f"{col(k)} AS {_q(k)}" for k in keys]
    group = ", ".join([*(col(k) for k in keys), col("status")])
    conv_later = "CAST(l.converted_date AS DATE) > $day" if "converted_date" in cols else "FALSE"
    exported = "count(*) FILTER (WHERE f.status_source = 'as_exported')" if "status_source" in fields else "0"
    join = f" LEFT JOIN {_LEAD_FIELDS} f ON f.lead_id = l.lead_id" if fields else ""
    cut = "l.created_date < $cut_end" if "created_date" in org.columns_present("leads") else "TRUE"
    end = (day + pd.Timedelta(days=1)).tz_localize("UTC")
    out = org.engine.df(
        f"""
SELECT {"".join(s + ", " for s in select)}{col("status")} AS status, CAST(count(*) AS BIGINT) AS n,
    CAST(count(*) FILTER (WHERE l.is_converted AND NOT COALESCE({conv_later}, FALSE)) AS BIGINT) AS converted,
    CAST(count(l.is_converted) AS BIGINT) AS known,
    CAST({exported} AS BIGINT) AS as_exported,
    CAST(min(l.row_no) AS BIGINT) AS first_row
FROM {org.relation("leads")} l{join}
WHERE {cut}
GROUP BY {group}
""",
        {"cut_end": end.to_pydatetime(), "day": day.date()},
    )
    out = text_as_str(out, columns=[*keys, "status"])  # an all-missing text column comes back as objects
    out = out.astype({c: "int64" for c in ("n", "converted", "known", "as_exported", "first_row")})
    out = out.sort_values("first_row", kind="stable").reset_index(drop=True)
    out.attrs["status_from_history"] = "status_source" in fields
    return out


def snapshot_sums(org: EngineOrg, *, as_of, by=None, include_closed: bool = False) -> pd.DataFrame:
    """Per segment and stage of the day's cut: the deals, their amount, the deals without one.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day of the cut.
    by : str or list of str, optional
        Opportunity columns that form the segments (values on the day; missing: a segment).
    include_closed : bool, default False
        Count the closed deals too.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``stage_name`` (missing where the cut does not know it), ``count``,
        ``amount`` (0.0 when no amount), ``amount_missing``; sorted by segment and stage.

    Raises
    ------
    ValueError
        An unparseable ``as_of``; :class:`EngineError` (a ``ValueError``) for an org without
        opportunities or a ``by`` column they do not have.

    Examples
    --------
    >>> snapshot_sums(org, as_of="2024-06-30")[["stage_name", "count", "amount"]]  # doctest: +SKIP
    """
    fn = "snapshot_sums"
    keys = _by_list(by)
    day = _to_day(as_of, fn)
    org.require("opportunities", keys, fn)
    state = materialise_asof(org, as_of=[day], name="snapshot_state")
    group = ", ".join([*(_q(k) for k in keys), "stage_name"])
    where = "" if include_closed else "WHERE NOT COALESCE(is_closed, FALSE)"
    out = org.engine.df(
        f"""
SELECT {group}, CAST(count(*) AS BIGINT) AS "count",
    COALESCE(sum(CAST(amount AS DOUBLE)), 0.0) AS amount,
    CAST(count(*) FILTER (WHERE amount IS NULL) AS BIGINT) AS amount_missing
FROM {state} {where}
GROUP BY {group}
"""
    )
    out = out.sort_values([*keys, "stage_name"], na_position="last", kind="stable").reset_index(drop=True)
    return out.astype({"count": "int64", "amount": "float64", "amount_missing": "int64"})


def _cohort_sql(org: EngineOrg, state: str, keys: list[str], k: int, *, window: bool, bounds: str) -> str:
    """Per segment: the cohort, its amount, and per step the deals that reached it and their amount."""
    hist = org.relation("opportunity_history") if org.has("opportunity_history") else None
    # as CrmData.as_of: the history is cut by its times where the source had them, else kept whole
    cut_by_time = hist is not None and "created_date" in org.columns_present("opportunity_history")
    timed = hist is not None and "created_date" in org.columns("opportunity_history")
    cols = "".join(f", s.{_q(c)}" for c in keys)
    # the evidence that a deal reached a rank: its history rows of the cut (undated ones too when the
    # source has no times: a NULL day, which proves the stage but never within a window), its stage on
    # the day (dated by its last history row, else its creation) and, when won, its close day
    if hist is not None:
        h_day = "CAST(h.created_date AS DATE)" if timed else "CAST(NULL AS DATE)"
        h_cut = "AND h.created_date < $cut_end" if cut_by_time else ""
        history = f"""
    h AS (
        SELECT h.opportunity_id, {h_day} AS day, r.rank
        FROM {hist} h JOIN d ON d.opportunity_id = h.opportunity_id
        LEFT JOIN cohort_ranks r ON r.stage_name = h.stage_name
        WHERE TRUE {h_cut}
    ),
    last AS (
        SELECT opportunity_id, max(day) AS day, count(*) FILTER (WHERE day IS NULL) AS undated FROM h GROUP BY opportunity_id
    ),"""
        current_day = "CASE WHEN l.opportunity_id IS NULL THEN d.cday WHEN l.undated > 0 THEN NULL ELSE l.day END"
        last_join = "LEFT JOIN last l ON l.opportunity_id = d.opportunity_id"
        h_rows = "SELECT opportunity_id, rank, day FROM h UNION ALL"
    else:
        history, current_day, last_join, h_rows = "", "d.cday", "", ""
    keep = "e.rank IS NOT NULL" + (
        " AND e.day IS NOT NULL AND date_diff('day', d.cday, e.day) <= $window" if window else ""
    )
    won = "d.is_won" + (" AND date_diff('day', d.cday, CAST(d.close_date AS DATE)) <= $window" if window else "")
    reached = ", ".join(
        f"CAST(count(*) FILTER (WHERE t.top >= {i + 1}) AS BIGINT) AS reached_{i + 1}, "
        f"COALESCE(sum(d.amount) FILTER (WHERE t.top >= {i + 1}), 0.0) AS amount_{i + 1}"
        for i in range(k)
    )
    group = ", ".join(f"d.{_q(c)}" for c in keys)
    return f"""
WITH
    d AS (
        SELECT s.opportunity_id, CAST(s.created_date AS DATE) AS cday, s.stage_name,
            COALESCE(s.is_won, FALSE) AS is_won, s.close_date, CAST(s.amount AS DOUBLE) AS amount{cols}
        FROM {state} s WHERE TRUE {bounds}
    ),{history}
    e AS (
        {h_rows}
        SELECT d.opportunity_id, r.rank, {current_day} AS day
        FROM d {last_join} LEFT JOIN cohort_ranks r ON r.stage_name = d.stage_name
        UNION ALL
        SELECT opportunity_id, {k} AS rank, CAST(close_date AS DATE) AS day FROM d WHERE is_won
    ),
    t AS (
        SELECT e.opportunity_id, max(e.rank) FILTER (WHERE {keep}) AS top
        FROM e JOIN d ON d.opportunity_id = e.opportunity_id GROUP BY e.opportunity_id
    )
SELECT {group + ", " if keys else ""}CAST(count(*) AS BIGINT) AS cohort,
    COALESCE(sum(d.amount), 0.0) AS cohort_amount, {reached},
    CAST(count(*) FILTER (WHERE {won}) AS BIGINT) AS reached_{k + 1},
    COALESCE(sum(d.amount) FILTER (WHERE {won}), 0.0) AS amount_{k + 1}
FROM d LEFT JOIN t ON t.opportunity_id = d.opportunity_id
{"GROUP BY " + group if keys else ""}
"""


def cohort_sums(
    org: EngineOrg, *, as_of, by=None, created_from=None, created_to=None, window_days: int | None = None
) -> pd.DataFrame:
    """Per segment of a cohort of the day's deals: the cohort and, per step, the deals that reached it.

    The rules are :func:`funnel_analysis.funnel.cohort_funnel`'s (its module notes, "How a stage
    counts as reached"): a deal reached open step *r* when its history of the day, its stage on the
    day or its win shows it at step *r* or later (a skipped stage counts as passed, a backward move
    once); the last step is the won stage, reached by the deals won on the day. The stage ranks are
    :func:`funnel_analysis._util.frames.stage_ranks` of the org's stages, sent to the engine as a
    small table; one row per segment comes back, never a row per deal.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day of the cut.
    by : str or list of str, optional
        Opportunity columns that form the segments (values on the day; missing: a segment).
    created_from, created_to : date-like, optional
        The cohort's first and last creation day (UTC days, both inclusive; open-ended when missing).
    window_days : int, optional
        Only evidence dated within this many days of creation counts (a win by its close date).

    Returns
    -------
    DataFrame
        The ``by`` columns, ``cohort``, ``cohort_amount``, then ``reached_1`` .. ``reached_<K+1>``
        and ``amount_1`` .. ``amount_<K+1>`` (K open stages, then the won step); sorted by segment,
        missing last; one row without ``by``. :func:`funnel_analysis.funnel.conversion.cohort_from_sums`
        makes the funnel.

    Raises
    ------
    ValueError
        An unparseable date, a negative ``window_days`` or stages without an open one;
        :class:`EngineError` (a ``ValueError``) for an org without opportunities or a ``by``
        column they do not have.

    Examples
    --------
    >>> cohort_sums(org, as_of="2024-06-30", created_from="2024-01-01", created_to="2024-03-31")  # doctest: +SKIP
    """
    fn = "cohort_sums"
    keys = _by_list(by)
    day = _to_day(as_of, fn)
    if window_days is not None and window_days < 0:
        raise ValueError(f"{fn}: window_days must be >= 0, got {window_days!r}")
    org.require("opportunities", keys, fn)
    _, ranks, k, _ = _stage_ranks(org.stages, fn)
    ranks = ranks[~ranks.index.duplicated()]
    org.engine.register(
        "cohort_ranks",
        pa.table(
            {"stage_name": pa.array(ranks.index.tolist(), pa.string()), "rank": pa.array(ranks.to_numpy(), pa.int64())}
        ),
    )
    params: dict = {"cut_end": (day + pd.Timedelta(days=1)).tz_localize("UTC").to_pydatetime()}
    bounds = ""
    for name, value, op in (("created_from", created_from, ">="), ("created_to", created_to, "<=")):
        if value is not None:
            _day_number(value, fn, name)  # the reference's error for a value that is not a date
            params[name] = _to_day(value, fn, name).date()
            bounds += f" AND CAST(s.created_date AS DATE) {op} ${name}"
    if window_days is not None:
        params["window"] = int(window_days)
    state = f"(SELECT * FROM {materialise_asof(org, as_of=[day], name='cohort_state')})"
    sql = _cohort_sql(org, state, keys, k, window=window_days is not None, bounds=bounds)
    used = {p: v for p, v in params.items() if f"${p}" in sql}
    out = org.engine.df(sql, used)
    if keys:
        out = out.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)
    counts = ["cohort", *(f"reached_{i}" for i in range(1, k + 2))]
    amounts = ["cohort_amount", *(f"amount_{i}" for i in range(1, k + 2))]
    out = out.astype({**dict.fromkeys(counts, "int64"), **dict.fromkeys(amounts, "float64")})
    return out[[*keys, "cohort", "cohort_amount", *counts[1:], *amounts[1:]]]
