"""Win rates, deal size and cycle per segment and fiscal period, in SQL: :func:`funnel_analysis.funnel.win_rates`.

The deals are the day's cut (:mod:`.asof`: each deal's flags, amount and close date on the day).
The engine groups them by the ``by`` columns and, with ``period``, by the fiscal period of their
close date (closed deals only), and returns one row per group: the closed and won deals, the won
amount, the mean won deal, the median and mean cycle and their counts. Never a row per deal.

The fiscal periods come from :func:`funnel_analysis.periods.fiscal_period` itself: the distinct
close days of the closed deals (a few thousand at most) are brought back, given their period in
pandas (a custom Salesforce calendar included), and sent to the engine as a small table that the
deals join on their close day. The periods are therefore exactly the reference's.

The rates, their Wilson intervals and the column order are added in pandas
(:func:`funnel_analysis.funnel.winrates.win_rates_from_sums`), as for the reference. The won deals
without a creation date, which no cut holds, are counted in ``n_undated_excluded`` of their group
(:func:`funnel_analysis.crm.sections.dropped_undated` in the pandas path).

Examples
--------
>>> from funnel_analysis.engine import EngineOrg, connect
>>> org = EngineOrg.from_crm(crm, engine=connect("duckdb"))  # doctest: +SKIP
>>> win_rate_sums(org, as_of="2024-06-30", by="lead_source", period="Q").head()  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from .._util.frames import by_list as _by_list
from .._util.frames import to_day as _to_day
from ..crm.sections import add_counts
from ..periods import FREQUENCIES, fiscal_period
from .asof import _register_spine, asof_query, materialise_asof
from .base import quote_identifier as _q
from .org import EngineOrg

__all__ = ["win_rate_sums"]

#: The sums of one group, in the reference's order (before ``lost`` and the rates).
SUM_COLUMNS = (
    "closed",
    "won",
    "won_amount",
    "avg_won_deal_size",
    "deal_size_n",
    "cycle_n",
    "mean_cycle_days",
    "median_cycle_days",
    "n_undated_excluded",
)
_COUNTS = ("closed", "won", "deal_size_n", "cycle_n", "n_undated_excluded")

# the reference's cycle: creation day (UTC) to close day, a negative span (bad data) left out
_SPAN = "date_diff('day', CAST(s.created_date AS DATE), CAST(s.close_date AS DATE))"
_CYCLE = f"CASE WHEN {_SPAN} >= 0 THEN CAST({_SPAN} AS DOUBLE) END"

_AGGREGATES = """
    CAST(count(*) FILTER (WHERE _closed) AS BIGINT) AS closed,
    CAST(count(*) FILTER (WHERE _won) AS BIGINT) AS won,
    COALESCE(sum(amount) FILTER (WHERE _won), 0.0) AS won_amount,
    avg(amount) FILTER (WHERE _won) AS avg_won_deal_size,
    CAST(count(amount) FILTER (WHERE _won) AS BIGINT) AS deal_size_n,
    CAST(count(cycle) FILTER (WHERE _won) AS BIGINT) AS cycle_n,
    avg(cycle) FILTER (WHERE _won) AS mean_cycle_days,
    median(cycle) FILTER (WHERE _won) AS median_cycle_days,
    CAST(count(*) FILTER (WHERE _won AND created_date IS NULL) AS BIGINT) AS n_undated_excluded"""


def _deals_sql(source: str, by: list[str], periods: str | None) -> str:
    """Each deal of ``source`` with its flags, amount and cycle (and the period of its close day)."""
    cols = "".join(f", s.{_q(k)}" for k in by)
    base = f"""
SELECT s.created_date{cols}, COALESCE(s.is_closed, FALSE) AS _closed,
    COALESCE(s.is_closed, FALSE) AND COALESCE(s.is_won, FALSE) AS _won,
    CAST(s.amount AS DOUBLE) AS amount, {_CYCLE} AS cycle
    {{period_cols}}
FROM ({source}) s {{join}}"""
    if periods is None:
        return base.format(period_cols="", join="")
    return base.format(
        period_cols=", p.fiscal_period, p.period_start",
        join=f"LEFT JOIN {periods} p ON p.close_day = CAST(s.close_date AS DATE) WHERE COALESCE(s.is_closed, FALSE)",
    )


def _grouped(org: EngineOrg, deals: str, keys: list[str]) -> pd.DataFrame:
    group = ", ".join(_q(k) for k in keys)
    select = f"{group}, " if keys else ""
    tail = f"GROUP BY {group}" if keys else ""
    return org.engine.df(f"SELECT {select}{_AGGREGATES}\nFROM ({deals}) d\n{tail}")


def _register_periods(org: EngineOrg, state: str, *, period: str, fiscal_year_start_month, name: str) -> None:
    """The fiscal period of every close day of the closed deals, as the small relation ``name``."""
    days = org.engine.df(
        f"SELECT DISTINCT CAST(close_date AS DATE) AS close_day FROM ({state}) s "
        "WHERE COALESCE(s.is_closed, FALSE) AND s.close_date IS NOT NULL"
    )["close_day"]
    days = pd.to_datetime(days).astype("datetime64[us]").reset_index(drop=True)
    fp = fiscal_period(days, period=period, fiscal_year_start_month=fiscal_year_start_month)
    org.engine.register(
        name,
        pa.table(
            {
                "close_day": pa.array(days.dt.date.tolist(), type=pa.date32()),
                "fiscal_period": pa.array(fp["fiscal_period"].astype(object).tolist(), type=pa.string()),
                "period_start": pa.array(fp["period_start"].dt.date.tolist(), type=pa.date32()),
            }
        ),
    )


def win_rate_sums(org: EngineOrg, *, as_of, by=None, period=None, fiscal_year_start_month=1) -> pd.DataFrame:
    """Per segment (and fiscal period) of the day's cut: the sums a win-rate table is made of.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day of the cut (a timestamp counts as its UTC day).
    by : str or list of str, optional
        Opportunity columns that form the segments (values on the day; missing: a segment).
    period : {"Q", "M", "Y"}, optional
        Also split by the fiscal period of the close date (closed deals only; a closed deal
        without a close date has a missing period).
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year, or the org's custom calendar.

    Returns
    -------
    DataFrame
        The ``by`` columns (and ``fiscal_period``, ``period_start``), then :data:`SUM_COLUMNS`:
        ``closed``, ``won``, ``won_amount`` (0.0 without one), ``avg_won_deal_size``,
        ``deal_size_n``, ``cycle_n``, ``mean_cycle_days``, ``median_cycle_days`` and
        ``n_undated_excluded`` (won deals without a creation date, the cut's and those no cut
        holds); sorted by the keys, missing last. One row when there are no keys.
        :func:`funnel_analysis.funnel.winrates.win_rates_from_sums` makes the rates.

    Raises
    ------
    ValueError
        An unparseable ``as_of`` or unknown ``period``; :class:`EngineError` (a ``ValueError``)
        for an org without opportunities or a ``by`` column they do not have;
        :class:`~funnel_analysis.periods.OutsideFiscalCalendar` for a close day outside a custom
        calendar, as the reference.

    Examples
    --------
    >>> win_rate_sums(org, as_of="2024-06-30", period="Q")[["fiscal_period", "closed", "won"]]  # doctest: +SKIP
    """
    fn = "win_rate_sums"
    by = _by_list(by)
    day = _to_day(as_of, fn)
    if period is not None and period not in FREQUENCIES:
        raise ValueError(f"{fn}: period must be one of {sorted(FREQUENCIES)}, got {period!r}")
    org.require("opportunities", by, fn)
    state = f"SELECT * FROM {materialise_asof(org, as_of=[day], name='winrate_state')}"
    keys = [*by, *(["fiscal_period", "period_start"] if period else [])]
    periods = None
    if period is not None:
        periods = "winrate_periods"
        _register_periods(org, state, period=period, fiscal_year_start_month=fiscal_year_start_month, name=periods)
    out = _tidy(_grouped(org, _deals_sql(state, by, periods), keys), keys)
    # the won deals without a creation date, which no cut holds (the pandas path's dropped_undated)
    spine = "winrate_undated_spine"
    _register_spine(org, [day], spine)
    undated = asof_query(org, spine=spine, undated=True)
    if periods is not None:  # their close days may be days the cut's deals do not have
        _register_periods(org, undated, period=period, fiscal_year_start_month=fiscal_year_start_month, name=periods)
    extra = _tidy(_grouped(org, _deals_sql(undated, by, periods), keys), keys)
    extra = extra.assign(n_undated_excluded=extra["won"])
    if int(extra["n_undated_excluded"].sum()):
        out = add_counts(out, extra, column="n_undated_excluded", by=keys)
    return out


def _tidy(out: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The engine's groups as the reference gives them: sorted by the keys (missing last), its dtypes."""
    if keys:
        out = out.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)
    if "period_start" in out.columns:
        out["period_start"] = pd.to_datetime(out["period_start"]).astype("datetime64[us]")
    if "fiscal_period" in out.columns:
        out["fiscal_period"] = out["fiscal_period"].astype("str").where(out["fiscal_period"].notna())
    for c in SUM_COLUMNS:
        out[c] = out[c].astype("int64" if c in _COUNTS else "float64")
    return out[[*keys, *SUM_COLUMNS]]
