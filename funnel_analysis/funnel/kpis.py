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
from ..periods import fiscal_period
from .conversion import _conversion_unknown, lead_conversion
from .definitions import KPI_FIGURES, NEW_BUSINESS, KpiChoices, business_key, definitions_note, kpi_definitions
from .winrates import win_rates

__all__ = ["kpis", "KPI_COUNTS", "MISSING_SEGMENT"]

#: The group of the records without a segment value, per segment column: ``"(no lead_source)"``.
MISSING_SEGMENT = "(no {column})"

_DEFINITIONS = kpi_definitions()
#: What each figure of :data:`KPI_FIGURES` counts, in one line, under the default choices (a read-only
#: mapping; :func:`funnel_analysis.funnel.kpi_definitions` gives the definitions under other choices).
KPI_COUNTS = MappingProxyType({f: f"{d.counted}; {d.period}" for f, d in _DEFINITIONS.items()})
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
    "_closed_amount": "_camt",
    "_closed_amount_n": "_chas",
    "opportunities": "_n",
    "opportunities_open": "_open",
    "open_pipeline_amount": "_amt",
    "open_pipeline_amount_n": "_has",
}
_PIPE_ZEROS = {
    "_closed_amount": 0.0,
    "_closed_amount_n": 0,
    "opportunities": 0,
    "opportunities_open": 0,
    "open_pipeline_amount": 0.0,
    "open_pipeline_amount_n": 0,
}
_WIN_FIELDS = {
    "opportunities_won": "won",
    "opportunities_lost": "lost",
    "win_rate": "win_rate",
    "win_rate_n": "closed",
    "win_rate_ci_low": "win_rate_ci_low",
    "win_rate_ci_high": "win_rate_ci_high",
    "won_amount": "won_amount",
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
    "won_amount": 0.0,
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


def _kept_opportunities(o: pd.DataFrame, choices: KpiChoices) -> pd.DataFrame:
    """The opportunities the choices keep: excluded stages and types, and other business types, left out."""
    keep = pd.Series(True, index=o.index)
    for column, names in (("stage_name", choices.exclude_stages), ("type", choices.exclude_types)):
        if names:
            _require(o, [column], "kpis", "opportunities")
            folded = {" ".join(n.split()).casefold() for n in names}
            values = o[column].astype("str").str.strip().str.replace(r"\s+", " ", regex=True).str.casefold()
            keep &= ~values.isin(folded).fillna(False).to_numpy(dtype=bool)
    if choices.new_business_only:
        if "business_type" not in o.columns:
            raise ValueError(
                "kpis: new_business_only needs a business_type column on the opportunities "
                "(set the org profile's new-business types), or leave it False"
            )
        keep &= o["business_type"].map(business_key).eq(NEW_BUSINESS).to_numpy(dtype=bool)
    return o if keep.all() else o[keep.to_numpy()].reset_index(drop=True)


def _pipeline_counts(o: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """The deals' counts and amounts per ``by`` group (all, open, with an amount, closed): :func:`kpis`' pipeline part."""
    _require(o, ["is_closed", "is_won", "amount"], "kpis", "opportunities")
    is_closed = _flag(o["is_closed"])
    is_open = ~is_closed
    amount = o["amount"].astype("float64")
    amt, closed_amt = amount.where(is_open), amount.where(is_closed)
    data = o[by].assign(_n=1, _open=is_open, _amt=amt, _has=amt.notna(), _camt=closed_amt, _chas=closed_amt.notna())
    pipe = _group_sum(data, by, ["_n", "_open", "_amt", "_has", "_camt", "_chas"])
    pipe["_amt"] = pipe["_amt"].where((pipe["_has"] > 0) | (pipe["_open"] == 0))
    return pipe


def _open_pipeline(opportunities: pd.DataFrame, figures, **choices) -> pd.DataFrame | None:
    """``figures`` (of the pipeline part: ``opportunities_open``, ``open_pipeline_amount``...) of
    ``kpis(opportunities, None, **choices)``, overall, computed alone: the same values, without the win
    rates and cycles :func:`kpis` computes beside them. None when the deals give no row (then
    :func:`kpis` says what the figures are)."""
    options = {k: v for k, v in choices.items() if k in KpiChoices.__dataclass_fields__}
    o = _kept_opportunities(opportunities, KpiChoices(**options))
    out = _part(_pipeline_counts(o, []), [], _PIPE_FIELDS).reset_index(drop=True)
    if len(out) != 1:
        return None
    return out.reindex(columns=list(figures)).astype({f: ("Int64" if f in _COUNTS else "float64") for f in figures})


def _with_period(df: pd.DataFrame, column: str, period: str, fiscal_year_start_month: int, table: str) -> pd.DataFrame:
    """``df`` with ``fiscal_period`` and ``period_start`` of ``column``; rows without that date are in no period."""
    _require(df, [column], "kpis", table)
    fp = fiscal_period(df[column], period=period, fiscal_year_start_month=fiscal_year_start_month)
    out = df.assign(fiscal_period=fp["fiscal_period"].to_numpy(), period_start=fp["period_start"].to_numpy())
    return out[out["fiscal_period"].notna().to_numpy()].reset_index(drop=True)


def kpis(
    opportunities: pd.DataFrame | None,
    leads: pd.DataFrame | None = None,
    *,
    by=None,
    period: str | None = None,
    fiscal_year_start_month: int = 1,
    win_rate_basis: str = "count",
    cohort: str = "closed",
    exclude_stages=(),
    exclude_types=(),
    new_business_only: bool = False,
) -> pd.DataFrame:
    """Headline figures of the given tables, overall or per segment, under the given definitions.

    Figures (:data:`KPI_FIGURES`): ``leads``, ``leads_converted``, ``lead_conversion_rate``,
    ``opportunities``, ``opportunities_open``, ``opportunities_won``, ``opportunities_lost``,
    ``win_rate``, ``won_amount`` (bookings), ``avg_won_deal_size``, ``median_cycle_days``,
    ``mean_cycle_days``, ``open_pipeline_amount``. Each rate or average has ``<figure>_n``, its
    denominator (leads, closed deals, won deals with an amount or a valid cycle, open deals with
    an amount), and the two rates their Wilson bounds (``<figure>_ci_low``, ``<figure>_ci_high``).
    A figure the data cannot give is missing (NA), never 0: no leads or opportunities table
    (``None``), a segment column the table lacks, a zero denominator, or leads that record no
    conversion (not one ``is_converted`` value: an export without ``IsConverted``). The open
    pipeline and the won amount are 0 when nothing is open (won), and missing when such deals
    exist but none has an amount. Won deals without a creation date have no cycle: they are left
    out of it and counted in ``cycle_undated_excluded``.

    The definitions companies set differently are keyword arguments
    (:mod:`funnel_analysis.funnel.definitions`; :func:`funnel_analysis.funnel.kpi_definitions`
    writes each figure's definition under them): the win rate's basis, which date puts a deal
    in a period, the stages and types left out, new business only. The result carries them in
    one line, ``attrs["note"]``.

    Parameters
    ----------
    opportunities : DataFrame or None
        With ``is_closed``, ``is_won``, ``amount``, ``created_date``, ``close_date`` (and
        ``stage_name``, ``type``, ``business_type`` when the choices need them); ``None`` when the
        org has no opportunities table.
    leads : DataFrame or None
        With ``is_converted``, ``created_date``, ``converted_date``; ``None`` when the org has
        no leads table.
    by : str or list of str, optional
        Segment columns of the leads and/or the opportunities. A segment absent from one table
        gets that table's counts as 0. Each record counts under its own value; the records
        without one form the group ``"(no <column>)"`` (:data:`MISSING_SEGMENT`).
    period : {"Q", "M", "Y"}, optional
        Also split by fiscal period: a lead by its creation date, an opportunity by its close
        date or its creation date (``cohort``). A record without that date is in no period.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    win_rate_basis : {"count", "amount"}, default "count"
        ``win_rate`` as won / closed deals, or as amount won / amount closed (closed deals with an
        amount; ``win_rate_n`` counts them, and there is no interval).
    cohort : {"closed", "created"}, default "closed"
        With ``period``: the close date (the expected one while open) or the creation date puts
        an opportunity in its period.
    exclude_stages, exclude_types : list of str or str, optional
        Stage names and opportunity types left out of every opportunity figure (trimmed and
        case-folded; a text of names separated by commas is split).
    new_business_only : bool, default False
        Only the opportunities whose ``business_type`` is new business.

    Returns
    -------
    DataFrame
        One row (one per segment with ``by``, sorted, the group without a value last; with
        ``period``, per segment and ``fiscal_period``, ``period_start``): the ``by`` columns, then
        the figures. Counts are nullable integers (``Int64``), the rest floats.

    Raises
    ------
    ValueError
        When neither table has a ``by`` column, a choice is not one of its values, or a choice
        needs a column the opportunities lack.

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
    >>> round(float(kpis(o, win_rate_basis="amount")["win_rate"].iloc[0]), 4)  # 100 / (100 + 50)
    0.6667
    >>> kpis(o, period="Q")[["fiscal_period", "opportunities", "win_rate"]]
      fiscal_period  opportunities  win_rate
    0     FY2024-Q1              2       0.5
    1     FY2024-Q2              1       NaN
    """
    choices = KpiChoices(
        win_rate_basis=win_rate_basis,
        cohort=cohort,
        exclude_stages=exclude_stages,
        exclude_types=exclude_types,
        new_business_only=new_business_only,
    )
    note = definitions_note(period=period, fiscal_year_start_month=fiscal_year_start_month, **choices.as_kwargs())
    segments = _by_list(by)
    tabs = {name: df for name, df in (("leads", leads), ("opportunities", opportunities)) if df is not None}
    for name, df in tabs.items():
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"kpis: {name} must be a DataFrame or None, got {type(df).__name__}")
    if segments and not any(all(c in df.columns for c in segments) for df in tabs.values()):
        raise ValueError(f"kpis: no leads or opportunities column(s) {segments!r}")
    if "opportunities" in tabs:
        tabs["opportunities"] = _kept_opportunities(tabs["opportunities"], choices)
    by = list(segments)
    if period is not None:
        date = {
            "leads": "created_date",
            "opportunities": {"closed": "close_date", "created": "created_date"}[choices.cohort],
        }
        tabs = {n: _with_period(df, date[n], period, fiscal_year_start_month, n) for n, df in tabs.items()}
        by += ["fiscal_period", "period_start"]
    tabs = _named_segments(tabs, segments)
    parts = []  # (figures, the zeros of a segment the table has no row of)
    lead_tab = tabs.get("leads")
    if lead_tab is not None and all(c in lead_tab.columns for c in by):
        zeros = dict(_LEAD_ZEROS)
        if _conversion_unknown(lead_tab):
            del zeros["leads_converted"]  # a segment without leads has unknown conversions too
        parts.append((_part(lead_conversion(lead_tab, by=by or None), by, _LEAD_FIELDS), zeros))
    o = tabs.get("opportunities")
    if o is not None and all(c in o.columns for c in by):
        parts.append((_part(_pipeline_counts(o, by), by, _PIPE_FIELDS), _PIPE_ZEROS))
        wins = win_rates(o, by=by or None)
        wins["won_amount"] = wins["won_amount"].where((wins["deal_size_n"] > 0) | (wins["won"] == 0))
        parts.append((_part(wins, by, _WIN_FIELDS), _WIN_ZEROS))
    if not by:
        out = pd.concat([p.reset_index(drop=True) for p, _ in parts], axis=1) if parts else pd.DataFrame(index=[0])
    else:
        out = None
        for i, (p, _) in enumerate(parts):
            p = p.assign(**{f"_in{i}": True})
            out = p if out is None else out.merge(p, on=by, how="outer")
        if out is None:
            out = pd.DataFrame(columns=by)
        for i, (_, zeros) in enumerate(parts):  # a segment only the other table has: this table's counts are 0
            absent = out[f"_in{i}"].isna()
            out.loc[absent, list(zeros)] = out.loc[absent, list(zeros)].fillna(zeros)
        out = out.drop(columns=[f"_in{i}" for i in range(len(parts))])
        unnamed = [out[c] == MISSING_SEGMENT.format(column=c) for c in segments]  # the group without a value last
        out = out.assign(**{f"_u{i}": u for i, u in enumerate(unnamed)})
        keys = [k for i, c in enumerate(segments) for k in (f"_u{i}", c)] + by[len(segments) :]
        out = out.sort_values(keys, na_position="last", kind="stable")
        out = out.drop(columns=[f"_u{i}" for i in range(len(segments))])
    if choices.win_rate_basis == "amount" and "_closed_amount" in out.columns:
        closed_amount = out["_closed_amount"].astype("float64")
        out["win_rate"] = (out["won_amount"].astype("float64") / closed_amount).where(closed_amount > 0)
        out["win_rate_n"] = out["_closed_amount_n"]
        out["win_rate_ci_low"] = out["win_rate_ci_high"] = float("nan")
    out = out.reset_index(drop=True).reindex(columns=[*by, *KPI_FIGURES])
    types = {f: ("Int64" if f in _COUNTS else "float64") for f in KPI_FIGURES}
    out = out.astype(types)
    out.attrs["note"] = note
    return out
