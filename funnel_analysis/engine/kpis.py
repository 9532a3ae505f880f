"""The headline figures of :func:`funnel_analysis.funnel.report.kpis`, reduced in SQL.

The overall figures under the default definitions (no ``by``, ``period`` or ``where``; win rate
by count): the leads and their conversion, the opportunities open, won and lost, the win rate,
the won amount and deal size, the sales cycle (median and mean days from the creation day to
the close day of the won deals) and the open pipeline, each with its denominator; the two
rates' Wilson intervals are computed from the counts in pandas. Missing, not 0, where the data
cannot give a figure, as in the pandas reference.

Examples
--------
>>> from funnel_analysis.engine import EngineOrg, connect
>>> org = EngineOrg.from_crm(crm, engine=connect("duckdb"))  # doctest: +SKIP
>>> kpis(org, as_of="2024-06-30")["win_rate"].iloc[0]  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..funnel.definitions import KPI_FIGURES
from ..stats import wilson_interval
from .asof import _days, _register_spine, asof_query
from .org import EngineOrg

__all__ = ["kpis"]

_COUNTS = {
    f
    for f in KPI_FIGURES
    if f.endswith(("_n", "_excluded")) or f in ("leads", "leads_converted") or f.startswith("opport")
}

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


def kpis(org: EngineOrg, *, as_of) -> pd.DataFrame:
    """The org's headline figures on a day, computed in its engine.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day (a timestamp counts as its UTC day).

    Returns
    -------
    DataFrame
        One row: ``as_of`` and the figures of :data:`funnel_analysis.funnel.definitions.KPI_FIGURES`
        (counts ``Int64``, the rest floats), as :func:`funnel_analysis.funnel.report.kpis` gives
        them with its default choices.

    Raises
    ------
    EngineError
        When no day is given.

    Examples
    --------
    >>> kpis(org, as_of="2024-06-30")[["opportunities", "win_rate"]]  # doctest: +SKIP
    """
    (day,) = _days([as_of])[:1]
    out: dict[str, object] = {f: np.nan for f in KPI_FIGURES}
    end = (day + pd.Timedelta(days=1)).tz_localize("UTC")
    if org.has("leads"):
        got = org.engine.sql(_lead_sql(org), {"cut_end": end.to_pydatetime(), "day": day.date()}).to_pylist()[0]
        n, conv = int(got["leads"]), int(got["converted"])
        unknown = n > 0 and got["known"] == 0  # not one is_converted value: conversion not recorded
        out["leads"] = n
        out["lead_conversion_rate_n"] = n
        if not unknown:
            out["leads_converted"] = conv
            if n:
                out["lead_conversion_rate"] = conv / n
                low, high = wilson_interval(conv, n)
                out["lead_conversion_rate_ci_low"], out["lead_conversion_rate_ci_high"] = low, high
    if org.has("opportunities"):
        spine = "kpi_spine"
        _register_spine(org, [day], spine)
        got = org.engine.sql(_OPP_SQL.format(state=asof_query(org, spine=spine))).to_pylist()[0]
        undated = org.engine.sql(
            f"SELECT count(*) FILTER (WHERE is_closed AND is_won) AS n FROM ({asof_query(org, spine=spine, undated=True)}) u"
        ).to_pylist()[0]["n"]
        n_open, won, closed = int(got["opportunities_open"]), int(got["won"]), int(got["closed"])
        out.update(
            opportunities=int(got["opportunities"]),
            opportunities_open=n_open,
            open_pipeline_amount_n=int(got["open_pipeline_amount_n"]),
            opportunities_won=won,
            opportunities_lost=closed - won,
            win_rate_n=closed,
            avg_won_deal_size_n=int(got["deal_size_n"]),
            median_cycle_days_n=int(got["cycle_n"]),
            mean_cycle_days_n=int(got["cycle_n"]),
            cycle_undated_excluded=int(undated or 0),
        )
        # 0 when nothing is open (won); missing when such deals exist but none has an amount
        pipe = got["open_pipeline_amount"]
        out["open_pipeline_amount"] = 0.0 if n_open == 0 else (np.nan if pipe is None else float(pipe))
        won_amount = got["won_amount"]
        out["won_amount"] = 0.0 if won == 0 else (np.nan if got["deal_size_n"] == 0 else float(won_amount))
        for f in ("avg_won_deal_size", "median_cycle_days", "mean_cycle_days"):
            out[f] = np.nan if got[f] is None else float(got[f])
        if closed:
            out["win_rate"] = won / closed
            low, high = wilson_interval(won, closed)
            out["win_rate_ci_low"], out["win_rate_ci_high"] = low, high
    frame = pd.DataFrame([out]).reindex(columns=list(KPI_FIGURES))
    frame = frame.astype({f: ("Int64" if f in _COUNTS else "float64") for f in KPI_FIGURES})
    frame.insert(0, "as_of", day)
    return frame
