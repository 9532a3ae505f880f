"""Headline figures of an org: leads and lead conversion, opportunities open, won and lost, win
rate, deal size, sales cycle and open pipeline, overall or per segment.

Built on :func:`funnel_analysis.funnel.lead_conversion` and
:func:`funnel_analysis.funnel.winrates.win_rates`. :func:`kpis` takes the tables; the org-level
entry point :func:`funnel_analysis.funnel.report.kpis` cuts the org as of a day and filters it
first (the ``funnel kpis`` command prints it).

Segments (``by``): every record counts under its own segment value - a lead under the lead's
``lead_source``, an opportunity under the opportunity's - and the records without one form one
named group, ``"(no lead_source)"`` (:data:`MISSING_SEGMENT`), last. :data:`KPI_COUNTS` says what
each figure counts.

Examples
--------
>>> from funnel_analysis.funnel import report  # doctest: +SKIP
>>> report.kpis(crm, as_of="2025-06-30", by="lead_source")  # doctest: +SKIP
"""

from __future__ import annotations

from types import MappingProxyType

import pandas as pd

from .._util.frames import by_list as _by_list
from .._util.frames import flag as _flag
from .._util.frames import group_sum as _group_sum
from .._util.frames import require as _require
from .conversion import _conversion_unknown, lead_conversion
from .winrates import win_rates

__all__ = ["kpis", "KPI_FIGURES", "KPI_COUNTS", "MISSING_SEGMENT"]

#: The group of the records without a segment value, per segment column: ``"(no lead_source)"``.
MISSING_SEGMENT = "(no {column})"

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
    "cycle_undated_excluded",
    "open_pipeline_amount",
    "open_pipeline_amount_n",
)
_LEAD = "leads created by the as-of day (with by: under the lead's own segment value)"
_OPP = "opportunities created by the as-of day (with by: under the opportunity's own segment value)"
#: What each figure of :data:`KPI_FIGURES` counts, in one line (a read-only mapping).
KPI_COUNTS = MappingProxyType(
    {
        "leads": _LEAD,
        "leads_converted": f"of the {_LEAD}, those converted by then (null when the leads record no conversion)",
        "lead_conversion_rate": "leads_converted / leads",
        "lead_conversion_rate_n": "the leads behind lead_conversion_rate",
        "lead_conversion_rate_ci_low": "lower bound of the 95 % Wilson interval of lead_conversion_rate",
        "lead_conversion_rate_ci_high": "upper bound of the 95 % Wilson interval of lead_conversion_rate",
        "opportunities": _OPP,
        "opportunities_open": f"of the {_OPP}, those open on that day",
        "opportunities_won": f"of the {_OPP}, those won by then",
        "opportunities_lost": f"of the {_OPP}, those lost by then",
        "win_rate": "opportunities_won / (opportunities_won + opportunities_lost)",
        "win_rate_n": "the closed opportunities behind win_rate",
        "win_rate_ci_low": "lower bound of the 95 % Wilson interval of win_rate",
        "win_rate_ci_high": "upper bound of the 95 % Wilson interval of win_rate",
        "avg_won_deal_size": "mean amount of the won opportunities that have one",
        "avg_won_deal_size_n": "the won opportunities with an amount",
        "median_cycle_days": "median days from creation to close of the won opportunities",
        "median_cycle_days_n": "the won opportunities with a valid cycle (dated, not closing before creation)",
        "mean_cycle_days": "mean days from creation to close of the won opportunities",
        "mean_cycle_days_n": "the won opportunities with a valid cycle (dated, not closing before creation)",
        "cycle_undated_excluded": "won opportunities without a creation date, left out of the cycle figures",
        "open_pipeline_amount": "sum of the amounts of the open opportunities",
        "open_pipeline_amount_n": "the open opportunities with an amount",
    }
)
#: Counts: whole numbers (nullable: unknown when the table is missing).
_COUNTS = {
    f
    for f in KPI_FIGURES
    if f.endswith(("_n", "_excluded")) or f in ("leads", "leads_converted") or f.startswith("opport")
}

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
    "cycle_undated_excluded": "n_undated_excluded",
}
_WIN_ZEROS = {
    "opportunities_won": 0,
    "opportunities_lost": 0,
    "win_rate_n": 0,
    "avg_won_deal_size_n": 0,
    "median_cycle_days_n": 0,
    "mean_cycle_days_n": 0,
    "cycle_undated_excluded": 0,
}


def _named_segments(tabs: dict, by: list[str]) -> dict:
    """The tables with each missing ``by`` value replaced by its named group (:data:`MISSING_SEGMENT`).

    A column with a gap in any table becomes text in every table, so that the tables still join on it.
    """
    has = {name: df for name, df in tabs.items() if all(c in df.columns for c in by)}
    gaps = [c for c in by if any(df[c].isna().any() for df in has.values())]
    if not gaps:
        return tabs
    named = {
        name: df.assign(**{c: df[c].astype("str").fillna(MISSING_SEGMENT.format(column=c)) for c in gaps})
        for name, df in has.items()
    }
    return {**tabs, **named}


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
    column the table lacks, a zero denominator, or leads that record no conversion (not one
    ``is_converted`` value: an export without ``IsConverted``). The open pipeline is 0 when
    nothing is open, and missing when open deals exist but none has an amount. Won deals without
    a creation date have no cycle: they are left out of it and counted in
    ``cycle_undated_excluded``. :data:`KPI_COUNTS` says what each figure counts.

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
        gets that table's counts as 0. Each record counts under its own value; the records
        without one form the group ``"(no <column>)"`` (:data:`MISSING_SEGMENT`).

    Returns
    -------
    DataFrame
        One row (one per segment with ``by``, sorted, the group without a value last): the
        ``by`` columns, then the figures. Counts are nullable integers (``Int64``), the rest floats.

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
    tabs = _named_segments(tabs, by)
    parts = []  # (figures, the zeros of a segment the table has no row of)
    lead_tab = tabs.get("leads")
    if lead_tab is not None and all(c in lead_tab.columns for c in by):
        zeros = dict(_LEAD_ZEROS)
        if _conversion_unknown(lead_tab):
            del zeros["leads_converted"]  # a segment without leads has unknown conversions too
        parts.append((_part(lead_conversion(lead_tab, by=by or None), by, _LEAD_FIELDS), zeros))
    o = tabs.get("opportunities")
    if o is not None and all(c in o.columns for c in by):
        _require(o, ["is_closed", "amount"], "kpis", "opportunities")
        is_open = ~_flag(o["is_closed"])
        amt = o["amount"].astype("float64").where(is_open)
        data = o[by].assign(_n=1, _open=is_open, _amt=amt, _has=amt.notna())
        pipe = _group_sum(data, by, ["_n", "_open", "_amt", "_has"])
        pipe["_amt"] = pipe["_amt"].where((pipe["_has"] > 0) | (pipe["_open"] == 0))
        parts.append((_part(pipe, by, _PIPE_FIELDS), _PIPE_ZEROS))
        parts.append((_part(win_rates(o, by=by or None), by, _WIN_FIELDS), _WIN_ZEROS))
    if not by:
        out = pd.concat([p.reset_index(drop=True) for p, _ in parts], axis=1) if parts else pd.DataFrame(index=[0])
    else:
        out = None
        for i, (p, _) in enumerate(parts):
            p = p.assign(**{f"_in{i}": True})
            out = p if out is None else out.merge(p, on=by, how="outer")
        for i, (_, zeros) in enumerate(parts):  # a segment only the other table has: this table's counts are 0
            absent = out[f"_in{i}"].isna()
            out.loc[absent, list(zeros)] = out.loc[absent, list(zeros)].fillna(zeros)
        out = out.drop(columns=[f"_in{i}" for i in range(len(parts))])
        unnamed = [out[c] == MISSING_SEGMENT.format(column=c) for c in by]  # the group without a value last
        out = out.assign(**{f"_u{i}": u for i, u in enumerate(unnamed)})
        keys = [k for i, c in enumerate(by) for k in (f"_u{i}", c)]
        out = out.sort_values(keys, na_position="last", kind="stable").drop(columns=[f"_u{i}" for i in range(len(by))])
    out = out.reset_index(drop=True).reindex(columns=[*by, *KPI_FIGURES])
    types = {f: ("Int64" if f in _COUNTS else "float64") for f in KPI_FIGURES}
    return out.astype(types)
