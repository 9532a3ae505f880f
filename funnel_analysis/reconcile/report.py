"""The reconciliation report's entry points: each takes the org, cuts it, filters it and calls one analysis.

Every function here has the shape ``name(crm, *, as_of=None, where=None, ...)`` and takes the
settable KPI definitions as keyword arguments (:mod:`funnel_analysis.funnel.definitions`). The
alternative "the deleted records counted" is computed on the org with its deleted records put back
(:attr:`CrmData.deleted_rows`: deleted opportunities and leads, and the history of the deleted
opportunities), cut as of the same day.

Examples
--------
>>> from funnel_analysis.reconcile import report
>>> report.reconcile_figures(crm, figures_file="salesforce_figures.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pandas as pd

from .._util.missing import mark_missing
from ..crm.model import cut_as_of
from ..funnel import report as _funnel
from ..funnel.definitions import HEADLINE_FIGURES, definitions_note
from ..periods import fiscal_calendar
from . import compare as _compare
from .figures import read_salesforce_figures

if TYPE_CHECKING:
    from ..crm import CrmData

__all__ = ["reconcile_figures", "definition_effects", "figures_with_definitions"]

#: Deleted rows put back for the alternative "the deleted records counted" (merged ones stay merged).
_PUT_BACK = ("opportunities", "opportunity_history", "leads")


def _with_deleted(crm: CrmData) -> CrmData | None:
    """The org with its deleted opportunities, their history and deleted leads put back; None when it has none."""
    crm.ensure_tables(*_PUT_BACK)  # an engine-only org: from its cache, else none would be put back
    tables, added = dict(crm.tables), False
    for name in _PUT_BACK:
        rows = crm.deleted_rows.get(name)
        if name not in tables or rows is None or not len(rows):
            continue
        rows = rows[rows["deleted_as"].isin(["deleted", "parent_deleted"]).to_numpy()].drop(columns="deleted_as")
        if len(rows):
            tables[name] = pd.concat([tables[name], rows.reindex(columns=tables[name].columns)], ignore_index=True)
            added = True
    return dataclasses.replace(crm, tables=tables, deleted_rows={}) if added else None


def _tables(crm: CrmData, *, as_of, where):
    """The opportunities and leads as of the day (None for a table the org lacks), and the same with the deleted."""
    out = []
    for org in (crm, _with_deleted(crm)):
        if org is None:
            out += [None, None]
            continue
        cut = cut_as_of(org, as_of=as_of)
        out += [cut.rows(t, where=where) if cut.has(t) else None for t in ("opportunities", "leads")]
    return out


def reconcile_figures(
    crm: CrmData,
    *,
    as_of=None,
    where: str | None = None,
    figures_file="",
    fiscal_year_start_month: int = 1,
    win_rate_basis: str = "count",
    cohort: str = "closed",
    exclude_stages=(),
    exclude_types=(),
    new_business_only: bool = False,
    tolerance: float = 0.005,
) -> pd.DataFrame:
    """The figures written down from Salesforce against the product's (:func:`funnel_analysis.reconcile.reconcile_figures`).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data (the day the Salesforce
        reports were read, ideally).
    where : str, optional
        Keep only the leads and opportunities this expression selects (a Salesforce report's filter).
    figures_file : path-like
        The CSV of ``figure, period, value`` (:func:`funnel_analysis.reconcile.read_salesforce_figures`);
        empty: none given, and the result says so in one line.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year, resolved against the org's custom fiscal periods
        (:func:`funnel_analysis.periods.fiscal_calendar`).
    win_rate_basis, cohort, exclude_stages, exclude_types, new_business_only
        The configured definitions, as for :func:`funnel_analysis.funnel.report.kpis`.
    tolerance : float, default 0.005
        A figure matches when the product's rounds to what was written or is within this fraction of it.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.reconcile.reconcile_figures`; empty and marked missing when no
        file is given.

    Raises
    ------
    FiguresError
        When the file cannot be used (one line naming the file, the row and the column).

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> o = pd.DataFrame({"Id": ["006A"], "StageName": ["Closed Won"], "Amount": [10],
    ...                   "CreatedDate": ["2024-01-02"], "CloseDate": ["2024-02-01"]})
    >>> out = reconcile_figures(load_frames({"Opportunity": o}), figures_file="")
    >>> out.attrs["missing"]
    'no Salesforce figures were given: write them in a CSV of figure, period, value and give its path (salesforce_figures_file)'
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    if figures_file is None or not str(figures_file).strip():
        empty = _compare.reconcile_figures(pd.DataFrame(columns=["figure", "period", "value"]), None)
        reason = (
            "no Salesforce figures were given: write them in a CSV of figure, period, value "
            "and give its path (salesforce_figures_file)"
        )
        return mark_missing(empty, reason)
    figures = read_salesforce_figures(figures_file)
    opps, leads, opps_deleted, leads_deleted = _tables(crm, as_of=as_of, where=where)
    return _compare.reconcile_figures(
        figures,
        opps,
        leads,
        opps_deleted,
        leads_deleted,
        fiscal_year_start_month=fiscal_year_start_month,
        win_rate_basis=win_rate_basis,
        cohort=cohort,
        exclude_stages=exclude_stages,
        exclude_types=exclude_types,
        new_business_only=new_business_only,
        tolerance=tolerance,
    )


def definition_effects(
    crm: CrmData,
    *,
    as_of=None,
    where: str | None = None,
    figure: str = "win_rate",
    period: str = "Q",
    fiscal_year_start_month: int = 1,
    win_rate_basis: str = "count",
    cohort: str = "closed",
    exclude_stages=(),
    exclude_types=(),
    new_business_only: bool = False,
) -> pd.DataFrame:
    """One figure per fiscal period under the configured and the main alternative definitions (:func:`funnel_analysis.reconcile.definition_effects`).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    where : str, optional
        Keep only the leads and opportunities this expression selects.
    figure : str, default "win_rate"
        A headline figure.
    period : {"Q", "M", "Y"}, default "Q"
        The fiscal period.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year, resolved against the org's custom fiscal periods
        (:func:`funnel_analysis.periods.fiscal_calendar`).
    win_rate_basis, cohort, exclude_stages, exclude_types, new_business_only
        The configured definitions.

    Returns
    -------
    DataFrame
        As :func:`funnel_analysis.reconcile.definition_effects`; empty and marked missing when the
        org has no opportunities.

    Examples
    --------
    >>> report.definition_effects(crm, figure="won_amount")  # doctest: +SKIP
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    opps, leads, opps_deleted, leads_deleted = _tables(crm, as_of=as_of, where=where)
    options = {
        "figure": figure,
        "period": period,
        "fiscal_year_start_month": fiscal_year_start_month,
        "win_rate_basis": win_rate_basis,
        "cohort": cohort,
        "exclude_stages": exclude_stages,
        "exclude_types": exclude_types,
        "new_business_only": new_business_only,
    }
    if opps is None:
        empty = pd.DataFrame(columns=["figure", "fiscal_period", "period_start", "definition", "value"])
        return mark_missing(empty, "the export has no opportunities (Opportunity.csv)")
    return _compare.definition_effects(opps, leads, opps_deleted, leads_deleted, **options)


def figures_with_definitions(
    crm: CrmData,
    *,
    as_of=None,
    where: str | None = None,
    fiscal_year_start_month: int = 1,
    win_rate_basis: str = "count",
    cohort: str = "closed",
    exclude_stages=(),
    exclude_types=(),
    new_business_only: bool = False,
) -> pd.DataFrame:
    """Each headline figure of the org as of the day, with its definition beside it.

    The figures of :func:`funnel_analysis.funnel.report.kpis` and the texts of
    :func:`funnel_analysis.funnel.report.kpi_definitions`, under the same choices.

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    where : str, optional
        Keep only the leads and opportunities this expression selects.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year, resolved against the org's custom fiscal periods
        (:func:`funnel_analysis.periods.fiscal_calendar`).
    win_rate_basis, cohort, exclude_stages, exclude_types, new_business_only
        The configured definitions.

    Returns
    -------
    DataFrame
        One row per headline figure: ``figure``, ``value`` (float; NA when the data cannot give it),
        ``definition``, ``left_out``, ``rows_left_out``.

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> o = pd.DataFrame({"Id": ["006A", "006B"], "StageName": ["Closed Won", "Closed Lost"],
    ...                   "Amount": [90, 10], "CreatedDate": ["2024-01-02"] * 2, "CloseDate": ["2024-02-01"] * 2})
    >>> t = figures_with_definitions(load_frames({"Opportunity": o}), as_of="2024-06-30", win_rate_basis="amount")
    >>> row = t.set_index("figure").loc["win_rate"]
    >>> float(row["value"]), row["definition"][:33]
    (0.9, 'amount won / amount closed (won +')
    """
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    choices = {
        "fiscal_year_start_month": fiscal_year_start_month,
        "win_rate_basis": win_rate_basis,
        "cohort": cohort,
        "exclude_stages": exclude_stages,
        "exclude_types": exclude_types,
        "new_business_only": new_business_only,
    }
    k = _funnel.kpis(crm, as_of=as_of, where=where, **choices).iloc[0]
    d = _funnel.kpi_definitions(crm, as_of=as_of, where=where, **choices)
    values = [float(k[f]) if pd.notna(k[f]) else float("nan") for f in HEADLINE_FIGURES]
    out = d.assign(value=pd.array(values, dtype="float64"))
    out = out[["figure", "value", "definition", "left_out", "rows_left_out"]]
    out.attrs["note"] = definitions_note(**choices)
    return out
