"""Headline figures of an org: leads and lead conversion, opportunities open, won and lost, win
rate, deal size, sales cycle and open pipeline, overall or per segment.

Built on :func:`funnel_analysis.funnel.lead_conversion` and
:func:`funnel_analysis.funnel.winrates.win_rates`. :func:`kpis` takes the tables; the org-level
entry point :func:`funnel_analysis.funnel.report.kpis` cuts the org as of a day and filters it
first (the ``funnel kpis`` command prints it).

Examples
--------
>>> from funnel_analysis.funnel import report  # doctest: +SKIP
>>> report.kpis(crm, as_of="2025-06-30", by="lead_source")  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

from .._util.frames import by_list as _by_list
from .._util.frames import flag as _flag
from .._util.frames import group_sum as _group_sum
from .._util.frames import require as _require
from .conversion import lead_conversion
from .winrates import win_rates

__all__ = ["kpis", "KPI_FIGURES"]

#: The figures of :func:`kpis`, in their order.
KPI_FIGURES = (
    "leads",
    "leads_converted",
    "lead_conversion_rate",
    "lead_conversion_rate_n",
    "lead_conversion_rate_ci_low",
    "lead_conversion_rate_ci_high",
    "opportunities",
    "opportunities_open",
    "opportunities_won",
    "opportunities_lost",
    "win_rate",
    "win_rate_n",
    "win_rate_ci_low",
    "win_rate_ci_high",
    "avg_won_deal_size",
    "avg_won_deal_size_n",
    "median_cycle_days",
    "median_cycle_days_n",
    "mean_cycle_days",
    "mean_cycle_days_n",
    "open_pipeline_amount",
    "open_pipeline_amount_n",
)
#: Counts: whole numbers (nullable: unknown when the table is missing).
_COUNTS = {f for f in KPI_FIGURES if f.endswith("_n") or f in ("leads", "leads_converted") or f.startswith("opport")}

_LEAD_FIELDS = {
    "leads": "leads",
    "leads_converted": "converted",
    "lead_conversion_rate": "conversion_rate",
    "lead_conversion_rate_n": "leads",
    "lead_conversion_rate_ci_low": "conversion_rate_ci_low",
    "lead_conversion_rate_ci_high": "conversion_rate_ci_high",
}
_LEAD_ZEROS = {"leads": 0, "leads_converted": 0, "lead_conversion_rate_n": 0}
_PIPE_FIELDS = {
    "opportunities": "_n",
    "opportunities_open": "_open",
    "open_pipeline_amount": "_amt",
    "open_pipeline_amount_n": "_has",
}
_PIPE_ZEROS = {"opportunities": 0, "opportunities_open": 0, "open_pipeline_amount": 0.0, "open_pipeline_amount_n": 0}
_WIN_FIELDS = {
    "opportunities_won": "won",
    "opportunities_lost": "lost",
    "win_rate": "win_rate",
    "win_rate_n": "closed",
    "win_rate_ci_low": "win_rate_ci_low",
    "win_rate_ci_high": "win_rate_ci_high",
    "avg_won_deal_size": "avg_won_deal_size",
    "avg_won_deal_size_n": "deal_size_n",
    "median_cycle_days": "median_cycle_days",
    "median_cycle_days_n": "cycle_n",
    "mean_cycle_days": "mean_cycle_days",
    "mean_cycle_days_n": "cycle_n",
}
_WIN_ZEROS = {
    "opportunities_won": 0,
    "opportunities_lost": 0,
    "win_rate_n": 0,
    "avg_won_deal_size_n": 0,
    "median_cycle_days_n": 0,
    "mean_cycle_days_n": 0,
}


def _part(table: pd.DataFrame, by: list[str], fields: dict) -> pd.DataFrame:
    return table[by].assign(**{k: table[v].to_numpy() for k, v in fields.items()})


def kpis(opportunities: pd.DataFrame | None, leads: pd.DataFrame | None = None, *, by=None) -> pd.DataFrame:
    """Headline figures of the given tables, overall or per segment.

    Figures (:data:`KPI_FIGURES`): ``leads``, ``leads_converted``, ``lead_conversion_rate``,
    ``opportunities``, ``opportunities_open``, ``opportunities_won``, ``opportunities_lost``,
    ``win_rate``, ``avg_won_deal_size``, ``median_cycle_days``, ``mean_cycle_days``,
    ``open_pipeline_amount``. Each rate or average has ``<figure>_n``, its denominator (leads,
    closed deals, won deals with an amount or a valid cycle, open deals with an amount), and the
    two rates their Wilson bounds (``<figure>_ci_low``, ``<figure>_ci_high``). A figure the data
    cannot give is missing (NA), never 0: no leads or opportunities table (``None``), a segment
    column the table lacks, or a zero denominator. The open pipeline is 0 when nothing is open,
    and missing when open deals exist but none has an amount.

    Parameters
    ----------
    opportunities : DataFrame or None
        With ``is_closed``, ``is_won``, ``amount``, ``created_date``, ``close_date``; ``None``
        when the org has no opportunities table.
    leads : DataFrame or None
        With ``is_converted``, ``created_date``, ``converted_date``; ``None`` when the org has
        no leads table.
    by : str or list of str, optional
        Segment columns of the leads and/or the opportunities. A segment absent from one table
        gets that table's counts as 0.

    Returns
    -------
    DataFrame
        One row (one per segment with ``by``, sorted, missing segment last): the ``by`` columns,
        then the figures. Counts are nullable integers (``Int64``), the rest floats.

    Raises
    ------
    ValueError
        When neither table has a ``by`` column.

    Examples
    --------
    >>> o = pd.DataFrame({"is_closed": [True, True, False], "is_won": [True, False, False],
    ...                   "amount": [100.0, 50.0, 70.0],
    ...                   "created_date": pd.to_datetime(["2024-01-01"] * 3, utc=True),
    ...                   "close_date": pd.to_datetime(["2024-01-31", "2024-02-10", "2024-06-30"])})
    >>> k = kpis(o)
    >>> k[["opportunities", "opportunities_open", "win_rate", "open_pipeline_amount"]]
       opportunities  opportunities_open  win_rate  open_pipeline_amount
    0              3                   1       0.5                  70.0
    >>> bool(k["leads"].isna().iloc[0])  # no leads table: unknown, not 0
    True
    """
    by = _by_list(by)
    tabs = {name: df for name, df in (("leads", leads), ("opportunities", opportunities)) if df is not None}
    for name, df in tabs.items():
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"kpis: {name} must be a DataFrame or None, got {type(df).__name__}")
    if by and not any(all(c in df.columns for c in by) for df in tabs.values()):
        raise ValueError(f"kpis: no leads or opportunities column(s) {by!r}")
    parts, zeros = [], {}
    lead_tab = tabs.get("leads")
    if lead_tab is not None and all(c in lead_tab.columns for c in by):
        parts.append(_part(lead_conversion(lead_tab, by=by or None), by, _LEAD_FIELDS))
        zeros.update(_LEAD_ZEROS)
    o = tabs.get("opportunities")
    if o is not None and all(c in o.columns for c in by):
        _require(o, ["is_closed", "amount"], "kpis", "opportunities")
        is_open = ~_flag(o["is_closed"])
        amt = o["amount"].astype("float64").where(is_open)
        data = o[by].assign(_n=1, _open=is_open, _amt=amt, _has=amt.notna())
        pipe = _group_sum(data, by, ["_n", "_open", "_amt", "_has"])
        pipe["_amt"] = pipe["_amt"].where((pipe["_has"] > 0) | (pipe["_open"] == 0))
        parts.append(_part(pipe, by, _PIPE_FIELDS))
        parts.append(_part(win_rates(o, by=by or None), by, _WIN_FIELDS))
        zeros.update(_PIPE_ZEROS)
        zeros.update(_WIN_ZEROS)
    if not by:
        out = pd.concat([p.reset_index(drop=True) for p in parts], axis=1) if parts else pd.DataFrame(index=[0])
    else:
        out = parts[0]
        for p in parts[1:]:
            out = out.merge(p, on=by, how="outer")
        out = out.fillna({k: v for k, v in zeros.items() if k in out.columns})
        out = out.sort_values(by, na_position="last", kind="stable")
    out = out.reset_index(drop=True).reindex(columns=[*by, *KPI_FIGURES])
    types = {f: ("Int64" if f in _COUNTS else "float64") for f in KPI_FIGURES}
    return out.astype(types)
