"""What the headline figures of :func:`funnel_analysis.funnel.report.kpis` are made of, in SQL.

The overall figures under the default definitions (no ``by``, ``period`` or ``where``; win rate
by count): the leads and their conversion, the opportunities open, won and lost, the win rate,
the won amount and deal size, the sales cycle (median and mean days from the creation day to
the close day of the won deals) and the open pipeline, each with its denominator. The figures
(rates, their Wilson intervals, missing where the data cannot give them) are made from these in
:mod:`funnel_analysis.funnel.report`, beside the pandas reference.

Examples
--------
>>> from funnel_analysis.engine import EngineOrg, connect
>>> org = EngineOrg.from_crm(crm, engine=connect("duckdb"))  # doctest: +SKIP
>>> kpi_counts(org, as_of="2024-06-30")["won"].iloc[0]  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

from .asof import _days, _register_spine, asof_query
from .frames import naive_days, text_as_str, utc_times
from .org import EngineOrg

__all__ = ["LEAD_COLUMNS", "day_leads", "kpi_counts", "open_deals_on"]

#: The columns of :func:`day_leads` before the ``by`` columns.
LEAD_COLUMNS = ("lead_id", "created_date", "is_converted", "converted_date")

_OPP_SQL = """
SELECT
    count(*) AS opportunities,
    count(*) FILTER (WHERE NOT is_closed) AS opportunities_open,
    sum(amount) FILTER (WHERE NOT is_closed) AS open_pipeline_amount,
    count(amount) FILTER (WHERE NOT is_closed) AS open_pipeline_amount_n,
    count(*) FILTER (WHERE is_closed) AS closed,
    count(*) FILTER (WHERE is_closed AND is_won) AS won,
    sum(amount) FILTER (WHERE is_closed AND is_won) AS won_amount,
    avg(amount) FILTER (WHERE is_closed AND is_won) AS avg_won_deal_size,
    count(amount) FILTER (WHERE is_closed AND is_won) AS deal_size_n,
    median(cycle) FILTER (WHERE is_closed AND is_won) AS median_cycle_days,
    avg(cycle) FILTER (WHERE is_closed AND is_won) AS mean_cycle_days,
    count(cycle) FILTER (WHERE is_closed AND is_won) AS cycle_n
FROM (
    SELECT is_closed, is_won, CAST(amount AS DOUBLE) AS amount,
        CASE WHEN date_diff('day', CAST(created_date AS DATE), CAST(close_date AS DATE)) >= 0
            THEN CAST(date_diff('day', CAST(created_date AS DATE), CAST(close_date AS DATE)) AS DOUBLE) END AS cycle
    FROM ({state}) s
) t
"""


def _lead_sql(org: EngineOrg) -> str:
    leads = org.relation("leads")
    created = "created_date" in org.columns_present("leads")
    cut = "created_date < $cut_end" if created else "TRUE"
    # a lead converted after the day is not converted on it
    return f"""
SELECT count(*) AS leads,
    count(*) FILTER (WHERE is_converted AND NOT coalesce(CAST(converted_date AS DATE) > $day, FALSE)) AS converted,
    count(is_converted) AS known
FROM {leads} WHERE {cut}
"""


def kpi_counts(org: EngineOrg, *, as_of) -> pd.DataFrame:
    """The counts and sums the headline figures are made of, reduced in the org's engine.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day (a timestamp counts as its UTC day).

    Returns
    -------
    DataFrame
        One row: ``as_of``; ``leads``, ``converted`` (by the day), ``conversion_known`` (leads with
        an ``is_converted`` value), missing without a leads table; ``opportunities``,
        ``opportunities_open``, ``open_pipeline_amount`` and ``open_pipeline_amount_n`` (open deals
        with an amount), ``closed``, ``won``, ``won_amount``, ``avg_won_deal_size``,
        ``deal_size_n``, ``median_cycle_days``, ``mean_cycle_days``, ``cycle_n`` (won deals with a
        cycle) and ``undated_won`` (won deals without a creation date, in no cut), missing without
        an opportunities table. :func:`funnel_analysis.funnel.report.kpis` makes the figures.

    Raises
    ------
    EngineError
        When no day is given.

    Examples
    --------
    >>> kpi_counts(org, as_of="2024-06-30")[["opportunities", "won", "closed"]]  # doctest: +SKIP
    """
    (day,) = _days([as_of])[:1]
    out: dict[str, object] = {"as_of": day}
    end = (day + pd.Timedelta(days=1)).tz_localize("UTC")
    if org.has("leads"):
        got = org.engine.sql(_lead_sql(org), {"cut_end": end.to_pydatetime(), "day": day.date()}).to_pylist()[0]
        out.update(leads=got["leads"], converted=got["converted"], conversion_known=got["known"])
    if org.has("opportunities"):
        spine = "kpi_spine"
        _register_spine(org, [day], spine)
        out.update(org.engine.sql(_OPP_SQL.format(state=asof_query(org, spine=spine))).to_pylist()[0])
        undated = asof_query(org, spine=spine, undated=True)
        q = f"SELECT count(*) FILTER (WHERE is_closed AND is_won) AS n FROM ({undated}) u"
        out["undated_won"] = org.engine.sql(q).to_pylist()[0]["n"]
    return pd.DataFrame([out])


def day_leads(org: EngineOrg, *, as_of, by=None) -> pd.DataFrame:
    """Every lead of the day's cut, with what the lead figures read: its dates and its conversion on the day.

    The per-lead rows :func:`funnel_analysis.funnel.kpis` and
    :func:`funnel_analysis.funnel.lead_conversion` take (a million leads are a few tens of MB): as
    :meth:`CrmData.as_of <funnel_analysis.crm.model.CrmData.as_of>` gives them, the leads created by the
    end of the day; a lead converted after the day is not converted on it (no conversion date); with
    a lead history, ``status`` and ``owner_id`` are the values on the day.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine, with ``leads``.
    as_of : date-like
        The day (the end of it, UTC).
    by : str or list of str, optional
        Lead columns to bring too (segments).

    Returns
    -------
    DataFrame
        :data:`LEAD_COLUMNS` (``created_date`` in UTC, ``converted_date`` a naive day,
        ``is_converted`` nullable boolean), then ``by``; in the leads' file order.

    Raises
    ------
    EngineError
        When the org has no leads, or they lack a column asked for.

    Examples
    --------
    >>> day_leads(org, as_of="2024-06-30", by="lead_source").columns.tolist()  # doctest: +SKIP
    ['lead_id', 'created_date', 'is_converted', 'converted_date', 'lead_source']
    """
    from .._util.frames import by_list, to_day
    from .base import quote_identifier as q
    from .matrix import _LEAD_FIELDS, _lead_fields

    fn = "day_leads"
    keys = by_list(by)
    day = to_day(as_of, fn)
    org.require("leads", [*LEAD_COLUMNS, *keys], fn)
    fields = _lead_fields(org, day, keys, fn) if keys else []
    later = "COALESCE(l.is_converted, FALSE) AND COALESCE(CAST(l.converted_date AS DATE) > $day, FALSE)"
    extra = "".join(f", {'f' if k in fields else 'l'}.{q(k)} AS {q(k)}" for k in keys)
    join = f" LEFT JOIN {_LEAD_FIELDS} f ON f.lead_id = l.lead_id" if fields else ""
    cut = "l.created_date < $cut_end" if "created_date" in org.columns_present("leads") else "TRUE"
    order = "l.row_no" if "row_no" in org.columns("leads") else "l.lead_id"
    end = (day + pd.Timedelta(days=1)).tz_localize("UTC")
    out = org.engine.df(
        f"""
SELECT l.lead_id, l.created_date,
    CASE WHEN {later} THEN FALSE ELSE l.is_converted END AS is_converted,
    CASE WHEN {later} THEN NULL ELSE CAST(l.converted_date AS DATE) END AS converted_date{extra}
FROM {org.relation("leads")} l{join}
WHERE {cut}
ORDER BY {order}
""",
        {"cut_end": end.to_pydatetime(), "day": day.date()},
    )
    out = out.assign(
        created_date=utc_times(out["created_date"]),
        converted_date=naive_days(out["converted_date"]),
        is_converted=out["is_converted"].astype("boolean"),
    )
    out = text_as_str(out, columns=("lead_id", *keys))  # an all-missing text column comes back as objects
    return out.reset_index(drop=True)


def open_deals_on(org: EngineOrg, *, as_of, columns=()) -> pd.DataFrame:
    """The deals open at the end of each day of ``as_of``, in one query: what the stock figures count.

    The open pipeline of a dashboard's every row is the deals open on that row's day; their state on
    several days is rebuilt in one pass (the spine of days) and only the open ones come back, with the
    columns asked for.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine, with ``opportunities``.
    as_of : date-like or list of them
        The days.
    columns : list of str
        Opportunity columns beside ``as_of``, ``opportunity_id``, ``is_closed``, ``is_won`` and
        ``amount`` (those the opportunities have).

    Returns
    -------
    DataFrame
        One row per day and deal open on it: ``as_of`` (a naive day), the columns, ``amount`` as
        float, ``is_closed`` and ``is_won`` as booleans; ordered by day and ``opportunity_id``.

    Raises
    ------
    EngineError
        When no day is given or the org has no opportunities.

    Examples
    --------
    >>> open_deals_on(org, as_of=["2024-03-31", "2024-06-30"]).groupby("as_of").size()  # doctest: +SKIP
    """
    from .base import quote_identifier as q

    days = _days(as_of if isinstance(as_of, (list, tuple)) else [as_of])
    org.require("opportunities", [], "open_deals_on")
    spine = "open_deals_on_spine"
    _register_spine(org, days, spine)
    have = set(org.columns("opportunities"))
    cols = list(dict.fromkeys(["opportunity_id", "is_closed", "is_won", "amount", *(c for c in columns if c in have)]))
    out = org.engine.df(
        f"SELECT as_of, {', '.join(q(c) for c in cols)} FROM ({asof_query(org, spine=spine)}) s "
        "WHERE NOT COALESCE(is_closed, FALSE) ORDER BY as_of, opportunity_id"
    )
    out["as_of"] = naive_days(out["as_of"])
    out["amount"] = pd.to_numeric(out["amount"]).astype("float64")
    for c in ("is_closed", "is_won"):
        out[c] = out[c].astype("boolean").fillna(False).astype(bool)
    out = text_as_str(out, columns=cols)  # an all-missing text column comes back as objects
    return out
