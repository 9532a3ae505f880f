"""The custom report's entry point: any headline figure, by any field, for any filter, per fiscal period.

:func:`metric` cuts the org at the end of ``as_of`` (:meth:`CrmData.as_of`), keeps the rows of the
metric's table that ``where`` selects (:meth:`CrmData.rows`, the shared safe grammar of
:mod:`funnel_analysis.crm.expression`), labels them with the ``by`` field
(:func:`~funnel_analysis.custom.metrics.field_values`: a column, or a related record's field one
hop away) and hands them to :func:`funnel_analysis.funnel.kpis`, so the figure is the funnel
report's own, under the same definitions (``win_rate_basis``, ``cohort``, the stages and types left
out, new business only). Deleted and merged records and quarantined rows are in no figure.

``where`` and ``by`` apply to the table the metric counts: the leads for ``leads``,
``leads_converted`` and ``lead_conversion_rate``, the opportunities for the rest. So
``account.industry`` can cut a win rate (opportunities have an account) but not the lead
conversion (a lead has none until it converts: ``converted_account.industry``).

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.crm import load_frames
>>> from funnel_analysis.custom import metric
>>> opportunities = pd.DataFrame({
...     "Id": ["006A", "006B", "006C", "006D"], "AccountId": ["001A", "001A", "001B", "001B"],
...     "StageName": ["Closed Won", "Closed Lost", "Closed Won", "Prospecting"],
...     "Amount": [1000, 500, 800, 300], "CreatedDate": ["2024-01-02"] * 4,
...     "CloseDate": ["2024-02-01", "2024-02-10", "2024-03-01", "2024-06-30"],
...     "IsClosed": [True, True, True, False], "IsWon": [True, False, True, False]})
>>> accounts = pd.DataFrame({"Id": ["001A", "001B"], "Name": ["Acme", "Globex"],
...                          "Industry": ["Retail", "Energy"]})
>>> crm = load_frames({"Opportunity": opportunities, "Account": accounts})
>>> metric(crm, metric="win_rate", by="account.industry", as_of="2024-06-30")[
...     ["account.industry", "win_rate", "win_rate_n"]]
  account.industry  win_rate  win_rate_n
0           Energy       1.0           1
1           Retail       0.5           2
>>> metric(crm, metric="pipeline", where="amount < 400", as_of="2024-06-30")[
...     ["open_pipeline_amount", "open_pipeline_amount_n"]]
   open_pipeline_amount  open_pipeline_amount_n
0                 300.0                       1
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..crm.expression import check_expression
from ..crm.model import cut_as_of
from ..crm.sections import owners, with_owner_names
from ..funnel.definitions import definitions_note, kpi_definitions
from ..funnel.kpis import kpis as _kpis
from ..periods import fiscal_calendar
from .metrics import MetricError, field_values, metric_spec

if TYPE_CHECKING:
    from ..crm import CrmData

__all__ = ["metric"]


def metric(
    crm: CrmData,
    *,
    metric: str,
    as_of=None,
    by: str | None = None,
    where: str | None = None,
    period: str | None = None,
    fiscal_year_start_month: int = 1,
    win_rate_basis: str = "count",
    cohort: str = "closed",
    exclude_stages=(),
    exclude_types=(),
    new_business_only: bool = False,
) -> pd.DataFrame:
    """One headline figure of the org as of a day: overall, by a field, per fiscal period.

    Parameters
    ----------
    crm : CrmData
        The org.
    metric : str
        A metric of :data:`funnel_analysis.custom.METRICS` (``"win_rate"``,
        ``"lead_conversion_rate"``, ``"open_pipeline_amount"``, ...) or an alias of
        :data:`funnel_analysis.custom.METRIC_ALIASES` (``"pipeline"``, ``"bookings"``).
    as_of : date-like, optional
        The day; ``None`` or ``""`` for the latest date in the data.
    by : str, optional
        A field of the metric's table, or of a record it refers to, one hop away
        (``"lead_source"``, ``"account.industry"``, ``"owner.region"``, ``"owner.role"``); ``None``
        or ``""`` for the org as a whole. Records without a value form the group ``"(no <by>)"``.
    where : str, optional
        Keep only the rows of the metric's table this expression selects
        (``"owner.region == 'EMEA' and amount >= 10000"``).
    period : {"Q", "M", "Y"}, optional
        Also split by fiscal period: a lead by its creation date, a deal by the date ``cohort``
        names (its close date by default, the expected one while open).
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year, resolved against the org's custom fiscal periods
        (:func:`funnel_analysis.periods.fiscal_calendar`), as the funnel report does.
    win_rate_basis, cohort, exclude_stages, exclude_types, new_business_only
        The KPI definitions, as :func:`funnel_analysis.funnel.report.kpis` takes them.

    Returns
    -------
    DataFrame
        One row per ``by`` value (and ``fiscal_period``, ``period_start``), sorted, the group without
        a value last: ``as_of``, the ``by`` column (named as given; with ``by="owner_id"`` also
        ``owner_name``), then the figure (a column named as the metric), ``<metric>_n`` (the records
        it rests on: :attr:`Metric.count <funnel_analysis.custom.Metric>`) and, for a rate,
        ``<metric>_ci_low`` and ``<metric>_ci_high`` (95 % Wilson). A figure the data cannot give
        is missing, never 0. ``attrs``: ``metric``, ``by``, ``kind`` (rate, money, count, days),
        ``definition`` and ``note`` (the figure's definition under these choices, in one line: a
        report shows it under the table) and ``definitions`` (the choices in one line).

    Raises
    ------
    MetricError
        For an unknown metric or a ``by`` field the metric's table cannot reach (one line naming it
        and what exists), or an org without that table.
    ExpressionError
        When ``where`` is not an expression of the grammar or names an unknown field.
    """
    spec = metric_spec(metric)
    fiscal_year_start_month = fiscal_calendar(fiscal_year_start_month=fiscal_year_start_month, org=crm)
    by = by.strip() if isinstance(by, str) else by
    by = by or None
    where = where or None
    period = period or None
    choices = {
        "win_rate_basis": win_rate_basis,
        "cohort": cohort,
        "exclude_stages": exclude_stages,
        "exclude_types": exclude_types,
        "new_business_only": new_business_only,
    }
    table = spec.table
    if not crm.has(table):
        raise MetricError(f"metric {spec.name}: the org has no {table} table")
    # an engine-only org reads the related tables the field and the filter name from its cache
    crm.ensure_related_tables(table, by, where)
    if by is not None:  # checked before the cut: an unknown field is one line, nothing computed
        field_values({**crm.tables, table: getattr(crm, table).head(0)}, table, by=by)
    if where is not None:
        check_expression(where, crm.tables, table)
    cut = cut_as_of(crm, as_of=as_of)
    frame = cut.rows(table, where=where)
    if by is not None:
        frame = frame.assign(**{by: field_values({**cut.tables, table: frame}, table, by=by)})
    tabs = {"opportunities": None, "leads": None, table: frame}
    out = _kpis(
        tabs["opportunities"],
        tabs["leads"],
        by=by,
        period=period,
        fiscal_year_start_month=fiscal_year_start_month,
        **choices,
    )
    keys = [*([by] if by else []), *(["fiscal_period", "period_start"] if period else [])]
    figures = [spec.name, f"{spec.name}_n"]
    if spec.kind == "rate":
        figures += [f"{spec.name}_ci_low", f"{spec.name}_ci_high"]
    result = out[keys].assign(**{spec.name: out[spec.name], f"{spec.name}_n": out[spec.count]})
    for column in figures[2:]:
        result[column] = out[column]
    result.insert(0, "as_of", cut.as_of_date)
    if by == "owner_id":
        result = with_owner_names(result, owners(cut))
    definition = kpi_definitions(period=period, fiscal_year_start_month=fiscal_year_start_month, **choices)
    result.attrs.update(
        metric=spec.name,
        by=by,
        kind=spec.kind,
        definition=definition[spec.name].text,
        definitions=definitions_note(period=period, fiscal_year_start_month=fiscal_year_start_month, **choices),
        note=definition[spec.name].text,
    )
    return result.reset_index(drop=True)
