"""The headline figures as a sales leader's dashboard reads them: this period so far, the same point of the last one, the trend.

A dashboard card says "win rate this quarter so far: 21.2 %, against 27.0 % at the same point last
quarter", with a small line of the last quarters. :func:`headline_series` gives those rows from the
same :func:`funnel_analysis.funnel.report.kpis` the funnel page shows, under the same definitions:

- ``current``: the fiscal period that holds ``as_of``, up to ``as_of``;
- ``previous``: the period before it, up to the same point (as many days into it; its last day at most),
  so that a period's first weeks are compared with the first weeks of the last one, not with all of it;
- ``period``: the complete periods before, oldest first. Their flows are counted as the report day
  knows them (a lead created in the period and converted since counts as converted; a deal is in
  the period of its close date as it stands on the report day), which is the most complete account
  of a past period; their stocks are those of the period's last day, the day in ``as_of``.

Flows (leads, conversion, win rate, won deals, cycle) are those of the period: a lead by its creation
date, a deal by the date ``cohort`` names. The open pipeline is a stock: every row gives the open
pipeline on its own day (``as_of`` of the row), whatever the deals' close dates.

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.crm import load_frames
>>> o = pd.DataFrame({"Id": ["006A", "006B", "006C"], "StageName": ["Closed Won", "Closed Lost", "Closed Won"],
...                   "Amount": [100, 50, 70], "CreatedDate": ["2024-01-02", "2024-02-01", "2024-04-01"],
...                   "CloseDate": ["2024-02-10", "2024-03-01", "2024-04-20"]})
>>> h = headline_series(load_frames({"Opportunity": o}), as_of="2024-05-15", period="Q")
>>> # 44 days into Q2; the same point of Q1 is 14 February: only 006A had closed (won)
>>> h[["row", "fiscal_period", "opportunities_won", "win_rate"]].to_dict("records")
[{'row': 'period', 'fiscal_period': 'FY2024-Q1', 'opportunities_won': 1, 'win_rate': 0.5}, {'row': 'previous', 'fiscal_period': 'FY2024-Q1', 'opportunities_won': 1, 'win_rate': 1.0}, {'row': 'current', 'fiscal_period': 'FY2024-Q2', 'opportunities_won': 1, 'win_rate': 1.0}]
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import pandas as pd

from .._util.arrow import isin
from ..crm.scope import scope_source
from ..periods import FiscalCalendar, fiscal_calendar
from . import report
from .kpis import _open_pipeline
from .kpis import kpis as _frame_kpis

if TYPE_CHECKING:
    from ..crm import CrmData

__all__ = ["HEADLINE_ROWS", "ROW_LABELS", "STOCK_FIGURES", "headline_series"]

#: The kinds of row, in the order they come.
HEADLINE_ROWS = ("period", "previous", "current")
#: Each kind of row in words (the ``compared`` column a reader sees).
ROW_LABELS = {
    "period": "complete period",
    "previous": "last period, to the same day",
    "current": "this period so far",
}

#: Figures that are a stock on a day, not a flow of a period: each row gives them on its own day.
STOCK_FIGURES = ("open_pipeline_amount", "open_pipeline_amount_n", "opportunities_open")


def headline_series(
    crm: CrmData,
    *,
    as_of=None,
    where: str | None = None,
    period: str = "Q",
    fiscal_year_start_month: int | FiscalCalendar = 1,
    periods: int = 8,
    win_rate_basis: str = "count",
    cohort: str = "closed",
    exclude_stages=(),
    exclude_types=(),
    new_business_only: bool = False,
) -> pd.DataFrame:
    """The headline figures of this period so far, of the last one at the same point, and of the periods before.

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    where : str, optional
        Keep only the leads and the opportunities this expression selects.
    period : {"Q", "M", "Y"}, default "Q"
        The fiscal period of the dashboard.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    periods : int, default 8
        How many complete periods before the current one make the trend.
    win_rate_basis, cohort, exclude_stages, exclude_types, new_business_only
        The KPI definitions, as for :func:`funnel_analysis.funnel.report.kpis`.

    Returns
    -------
    DataFrame
        One row per complete period (``row`` ``"period"``, oldest first), then ``"previous"`` and
        ``"current"``; columns ``row``, ``compared`` (the row in words, :data:`ROW_LABELS`),
        ``period``, ``currency`` (the org's corporate currency),
        ``as_of`` (the day the row's stocks stand on: for a ``period`` row its last day, whose flows
        are counted as of the report day; for ``previous`` and ``current`` the day of every figure),
        ``fiscal_period``, ``period_start``, then the figures of
        :func:`funnel_analysis.funnel.report.kpis`, the :data:`STOCK_FIGURES` on the row's own day.
        No ``previous`` row when the current period is the first; empty (with the columns) when
        the org has no lead or deal in any period. ``attrs["note"]`` says the definitions.

    Raises
    ------
    ValueError
        When ``periods`` is negative or ``period`` is not a fiscal period.

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> leads = pd.DataFrame({"Id": ["00QA", "00QB"], "CreatedDate": ["2024-01-05", "2024-04-03"]})
    >>> headline_series(load_frames({"Lead": leads}), as_of="2024-04-30")[["row", "leads"]].values.tolist()
    [['period', 1], ['previous', 1], ['current', 1]]
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    if not isinstance(periods, int) or isinstance(periods, bool) or periods < 0:
        raise ValueError(f"periods: expected a whole number >= 0, got {periods!r}")
    if period not in ("Q", "M", "Y"):
        raise ValueError(f"period: expected 'Q', 'M' or 'Y', got {period!r}")
    choices = {
        "where": where,
        "fiscal_year_start_month": fiscal_year_start_month,
        "win_rate_basis": win_rate_basis,
        "cohort": cohort,
        "exclude_stages": exclude_stages,
        "exclude_types": exclude_types,
        "new_business_only": new_business_only,
    }
    from ..engine.attach import engine_of

    # an org with an engine reduces each day there (report.kpis): its sub-orgs would have none
    light = (where is None or (isinstance(where, str) and not where.strip())) and engine_of(crm) is None
    now = report.kpis(crm, as_of=as_of, period=period, **choices)
    note = now.attrs.get("note")
    columns = ["row", "compared", "period", "currency", *now.columns]
    day = pd.Timestamp(now["as_of"].iloc[0]) if len(now) else None
    rows = now[now["period_start"] <= day].sort_values("period_start") if day is not None else now.iloc[:0]
    if rows.empty:
        out = pd.DataFrame(columns=columns)
        out.attrs["note"] = note
        return out
    current = rows.iloc[[-1]]
    cut_orgs = {day: crm}  # day -> the org report.kpis cut on that day (the cut is memoised)
    complete = rows.iloc[:-1]
    starts = list(rows["period_start"])
    pieces = []
    if len(complete):
        trend = complete.iloc[-periods:] if periods else complete.iloc[:0]
        ends = [starts[starts.index(s) + 1] - pd.Timedelta(days=1) for s in trend["period_start"]]
        pieces.append(trend.assign(row="period", as_of=ends))
        prev_start, cur_start = starts[-2], starts[-1]
        point = min(prev_start + (day - cur_start), cur_start - pd.Timedelta(days=1))
        # without where, only the deals and leads are read on that day: cut an org of their tables alone
        before = report.kpis(_figures_org(crm) if light else crm, as_of=point, period=period, **choices)
        cut_orgs[point] = _figures_org(crm) if light else crm
        pieces.append(before[before["period_start"] == prev_start].assign(row="previous", as_of=point))
    pieces.append(current.assign(row="current", as_of=day))
    out = pd.concat(pieces, ignore_index=True)
    # the open pipeline is what was open on the row's own day, whatever the deals' close dates
    stock = [c for c in STOCK_FIGURES if c in out.columns]
    batched = _stock_figures_in_engine(crm, days=list(out["as_of"]), choices=choices) if stock else None
    for i, when in enumerate(out["as_of"]):
        if batched is not None:
            overall = batched[pd.Timestamp(when)]
        else:
            overall = _stock_figures(crm, as_of=when, choices=choices, cut_org=cut_orgs.get(when))
        for c in stock:
            out.loc[i, c] = overall[c].iloc[0]
    out = out[["row", *[c for c in now.columns]]]
    # what the row is, in words, for the page (``row`` is the machines' key, hidden from readers)
    out.insert(1, "compared", out["row"].map(ROW_LABELS).to_numpy())
    # what the figures are in, for a page that shows them without the org at hand
    out.insert(2, "period", period)
    out.insert(3, "currency", crm.currency)
    out.attrs["note"] = (note + "; " if note else "") + (
        "the open pipeline is what was open on each row's day; a past period's other figures as known on the report day"
        if stock
        else "each row's figures are those of its period, a past period's as known on the report day"
    )
    return out


def _stock_figures_in_engine(crm: CrmData, *, days: list, choices: dict) -> dict | None:
    """Day -> the :data:`STOCK_FIGURES` of that day, for every day at once, from the org's engine.

    The deals open on each day come back from one query (:func:`funnel_analysis.engine.kpis.open_deals_on`)
    and the pandas path's own function counts them, day by day. None without an engine, or with a
    ``where`` (the pandas cut reads it).
    """
    from ..engine.attach import engine_of
    from ..engine.kpis import open_deals_on

    where = choices["where"]
    org = engine_of(crm)
    if org is None or not (where is None or (isinstance(where, str) and not where.strip())):
        return None
    if not org.has("opportunities"):
        return None
    options = {k: v for k, v in choices.items() if k != "where"}
    wanted = {pd.Timestamp(d).normalize() for d in days}
    deals = open_deals_on(org, as_of=sorted(wanted), columns=["stage_name", "type", "business_type"])
    out = {}
    for day in wanted:
        rows = deals[(deals["as_of"] == day).to_numpy()].drop(columns="as_of").reset_index(drop=True)
        stock = _open_pipeline(rows, STOCK_FIGURES, **options)
        if stock is None:
            return None
        out[day] = stock
    return out


def _stock_figures(crm: CrmData, *, as_of, choices: dict, cut_org: CrmData | None = None) -> pd.DataFrame:
    """The :data:`STOCK_FIGURES` of the org on one day: the opportunity figures of ``report.kpis`` alone.

    The stocks are figures of the open opportunities on the day, so they are those of
    :func:`funnel_analysis.funnel.report.kpis` (overall, no period) without its lead figures and
    without the won deals its cut left undated (those only add to the cycle's counts): one cut
    (memoised) and the opportunities' figures, instead of every figure of the day. ``cut_org``: an org
    (``crm`` or one of its tables) already cut on the day (memoised: the day of a ``report.kpis`` call),
    whose cut holds the same opportunities, taken instead of cutting another.
    """
    from ..engine.attach import engine_of

    where = choices["where"]
    if engine_of(crm) is not None:  # the day's deals in the org's engine: the opportunity figures of report.kpis
        figures = report.kpis(crm, as_of=as_of, **choices)
        return figures[[c for c in figures.columns if c in STOCK_FIGURES]].reset_index(drop=True)
    light = where is None or (isinstance(where, str) and not where.strip())
    options = {k: v for k, v in choices.items() if k != "where"}
    # a for_each value's org: its deals' rows of the whole org's cut, memoised for every value
    opportunities = _scoped_deals_on(crm, as_of) if light and cut_org is None else None
    if opportunities is None:
        cut = report._cut(cut_org if cut_org is not None else (_deals_org(crm) if light else crm), as_of=as_of)
        opportunities = cut.rows("opportunities", where=where) if cut.has("opportunities") else None
    if opportunities is not None and light:  # the stocks alone: kpis' win rates and cycles are not needed here
        stock = _open_pipeline(opportunities, STOCK_FIGURES, **options)
        if stock is not None:
            return stock
    return _frame_kpis(opportunities, None, **options)


def _scoped_deals_on(crm: CrmData, as_of) -> pd.DataFrame | None:
    """The opportunities of the cut of ``crm``'s deals on ``as_of``, from the cut of the org it was scoped from.

    A scoped org (:meth:`CrmData.where`) keeps whole deals, each with its whole stage history, so a deal's
    state on a day is the same in both orgs, and the scoped cut's deals are the whole cut's rows of its own
    deals, in the same order. The whole org's cuts of the trend's days are memoised on it (the kernel keeps
    it), so the values of a ``for_each`` cut each day once between them, not once each. None when ``crm`` was
    not scoped from an org it still matches (:func:`~funnel_analysis.crm.scope.scope_source`), or when the
    deals' IDs do not name one row each (the rows could not be matched by them): then it is cut itself.
    """
    whole = scope_source(crm)
    if whole is None or not (crm.has("opportunities") and whole.has("opportunities")):
        return None
    if any(whole.tables.get(t) is None for t in _DEALS_TABLES):
        return None
    ids = whole.opportunities["opportunity_id"]
    if ids.isna().any() or not ids.is_unique:
        return None
    deals = report._cut(_deals_org(whole), as_of=as_of).opportunities
    keep = isin(deals["opportunity_id"], crm.opportunities["opportunity_id"]).to_numpy(dtype=bool)
    return deals if keep.all() else deals[keep].reset_index(drop=True)


#: The tables an as-of cut of the opportunities reads for the stock figures (:meth:`CrmData.as_of`): their rows,
#: their stages and their stage history (each deal's stage, amount and close on the day). The field history is
#: left out: it gives the owner on the day and the close-date pushes, which no stock figure reads (without
#: ``where``); the other tables do not change the deals.
_DEALS_TABLES = ("opportunities", "stages", "opportunity_history")
#: The tables the figures of ``report.kpis`` without ``by`` or ``where`` read: the deals' and the leads (a lead's
#: conversion on the day comes from its own dates; its field history gives the status and owner, never read).
_FIGURES_TABLES = (*_DEALS_TABLES, "leads")
#: (id(org), tables) -> (a weak reference to the org, the org of those tables alone): the cuts of the trend cut this org, not the whole one.
_SUB_ORGS: dict = {}


def _sub_org(crm: CrmData, tables: tuple[str, ...]) -> CrmData:
    """``crm`` with only ``tables``: its as-of cuts hold the same rows of those, for a fraction of the work.

    One is kept per org and set of tables (the last few), so that every headline on the same org reuses
    its cuts (memoised as any org's).
    """
    import dataclasses

    key = (id(crm), tables)
    kept = _SUB_ORGS.get(key)
    own = {k: v for k, v in crm.tables.items() if k in tables}
    # the same org with the same tables (one replaced in place makes a new sub-org, as it makes new cuts)
    if kept is not None and kept[0]() is crm and own.keys() == kept[1].tables.keys():
        if all(kept[1].tables[k] is v for k, v in own.items()):
            return kept[1]
    sub = dataclasses.replace(crm, tables=own)
    while len(_SUB_ORGS) >= 8:
        _SUB_ORGS.pop(next(iter(_SUB_ORGS)))
    # the org held weakly, its entry (and the sub-org's cuts) gone with it: a for_each value's org dies with its
    # notebook, not kept alive for the values after it
    _SUB_ORGS[key] = (weakref.ref(crm), sub)
    weakref.finalize(crm, _SUB_ORGS.pop, key, None)
    return sub


def _deals_org(crm: CrmData) -> CrmData:
    """``crm`` with only :data:`_DEALS_TABLES`: the org the stock figures of the trend's days are cut from.

    The stock figures need the open deals on each day of the trend, not the leads (whose cut replays
    their field history), the deals' field history, activities or campaigns.
    """
    return _sub_org(crm, _DEALS_TABLES)


def _figures_org(crm: CrmData) -> CrmData:
    """``crm`` with only :data:`_FIGURES_TABLES`: the org the previous period's figures (no ``where``) are cut from."""
    return _sub_org(crm, _FIGURES_TABLES)
