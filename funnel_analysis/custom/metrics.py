"""The metrics a custom report can show, and how a ``by`` field reaches its value.

A metric is one headline figure of :func:`funnel_analysis.funnel.kpis`, counted on one table: the
lead figures on the leads, the deal figures on the opportunities (:data:`METRICS`). Each has a
short name and a few words people use for it (:data:`METRIC_ALIASES`: ``pipeline``,
``bookings``, ``conversion``, ``cycle``).

A ``by`` field is a column of that table (``lead_source``) or a field of a record it refers to,
one hop away, by the rules of the shared expression grammar
(:mod:`funnel_analysis.crm.expression`): ``account.industry`` through ``account_id`` to the
accounts, ``owner.region`` and ``owner.role`` through ``owner_id`` to the owners (the users and the
queues, :func:`~funnel_analysis.crm.expression.owner_records`). The related table is left-joined
on its key, so a record whose reference is missing or dangling has no value and counts in the
group ``"(no <field>)"``.

Examples
--------
>>> METRICS["win_rate"].table, METRICS["win_rate"].kind
('opportunities', 'rate')
>>> metric_spec("Pipeline").name
'open_pipeline_amount'
>>> metric_spec("revenue")
Traceback (most recent call last):
...
funnel_analysis.custom.metrics.MetricError: metric: unknown metric 'revenue'; choices: leads, leads_converted, \
lead_conversion_rate, opportunities, opportunities_open, opportunities_won, opportunities_lost, win_rate, \
won_amount, avg_won_deal_size, median_cycle_days, mean_cycle_days, open_pipeline_amount (or bookings, \
conversion, cycle, deal_size, pipeline)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..crm.expression import ColumnRef, ExpressionError, IsNull, check_expression, owner_records
from ..crm.schema import TABLES
from ..funnel.definitions import kpi_definitions

__all__ = ["Metric", "METRICS", "METRIC_ALIASES", "MetricError", "metric_spec", "field_values"]

_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?\Z")


class MetricError(ValueError):
    """An unknown metric or ``by`` field: one line naming it and the choices.

    Examples
    --------
    >>> isinstance(MetricError("metric: unknown metric 'x'"), ValueError)
    True
    """


@dataclass(frozen=True)
class Metric:
    """One metric: the figure of :func:`funnel_analysis.funnel.kpis` and what it is counted on.

    Attributes
    ----------
    name : str
        The figure (a column of :func:`funnel_analysis.funnel.kpis`).
    table : str
        ``"leads"`` or ``"opportunities"``: the table it counts, which ``where`` and ``by`` apply to.
    kind : str
        ``"rate"`` (a share, with its Wilson interval), ``"money"`` (corporate currency),
        ``"count"`` or ``"days"``.
    count : str
        The figure of :func:`funnel_analysis.funnel.kpis` that is its ``_n``: the records it rests on
        (a rate's or an average's denominator, the records an amount sums, a count itself).
    definition : str
        What it counts, in one line, under the default definitions
        (:func:`funnel_analysis.funnel.kpi_definitions`).

    Examples
    --------
    >>> METRICS["avg_won_deal_size"].count
    'avg_won_deal_size_n'
    """

    name: str
    table: str
    kind: str
    count: str
    definition: str


_SPECS = (
    ("leads", "leads", "count", "leads"),
    ("leads_converted", "leads", "count", "leads_converted"),
    ("lead_conversion_rate", "leads", "rate", "lead_conversion_rate_n"),
    ("opportunities", "opportunities", "count", "opportunities"),
    ("opportunities_open", "opportunities", "count", "opportunities_open"),
    ("opportunities_won", "opportunities", "count", "opportunities_won"),
    ("opportunities_lost", "opportunities", "count", "opportunities_lost"),
    ("win_rate", "opportunities", "rate", "win_rate_n"),
    ("won_amount", "opportunities", "money", "avg_won_deal_size_n"),
    ("avg_won_deal_size", "opportunities", "money", "avg_won_deal_size_n"),
    ("median_cycle_days", "opportunities", "days", "median_cycle_days_n"),
    ("mean_cycle_days", "opportunities", "days", "mean_cycle_days_n"),
    ("open_pipeline_amount", "opportunities", "money", "open_pipeline_amount_n"),
)
_DEFINITIONS = kpi_definitions()
#: Metric name -> :class:`Metric`, in the order of the headline figures (read-only).
METRICS: Mapping[str, Metric] = MappingProxyType(
    {name: Metric(name, table, kind, count, _DEFINITIONS[name].text) for name, table, kind, count in _SPECS}
)
#: Other words for a metric -> its name (read-only).
METRIC_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "bookings": "won_amount",
        "conversion": "lead_conversion_rate",
        "cycle": "median_cycle_days",
        "deal_size": "avg_won_deal_size",
        "pipeline": "open_pipeline_amount",
    }
)


def metric_spec(metric: str) -> Metric:
    """The metric a name or alias means (case, spaces and hyphens aside).

    Parameters
    ----------
    metric : str
        A name of :data:`METRICS` (``"win_rate"``) or of :data:`METRIC_ALIASES` (``"pipeline"``).

    Returns
    -------
    Metric

    Raises
    ------
    MetricError
        When it is neither; the message lists the choices.

    Examples
    --------
    >>> metric_spec("win rate").name
    'win_rate'
    """
    key = re.sub(r"[\s-]+", "_", metric.strip()).casefold() if isinstance(metric, str) else None
    key = METRIC_ALIASES.get(key, key)
    if key not in METRICS:
        raise MetricError(
            f"metric: unknown metric {metric!r}; choices: {', '.join(METRICS)} (or {', '.join(METRIC_ALIASES)})"
        )
    return METRICS[key]


def _check_field(tables: Mapping[str, pd.DataFrame], table: str, by: str) -> ColumnRef:
    """``by`` as a column reference the table reaches, or a :class:`MetricError` naming what exists."""
    if not isinstance(by, str) or not _FIELD.match(by.strip()):
        raise MetricError(
            f"by: {by!r} is not a field: a column (lead_source) or a related record's field, one hop (owner.region)"
        )
    relation, _, name = by.strip().rpartition(".")
    try:
        ref = ColumnRef(name, relation or None)
        check_expression(IsNull(ref), tables, table, label="by")
    except ExpressionError as e:
        raise MetricError(f"by: {e.reason}{e.hint}") from None
    return ref


def field_values(tables: Mapping[str, pd.DataFrame], table: str, *, by: str) -> pd.Series:
    """The value of a field on every row of ``tables[table]``: its own column, or a related record's field.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The org's tables (``crm.tables``), with ``tables[table]`` the rows to label.
    table : str
        The table whose rows get the values (``"opportunities"``).
    by : str
        A column of the table, or ``relation.field`` one hop away by the rules of
        :mod:`funnel_analysis.crm.expression` (``account.industry``, ``owner.role``).

    Returns
    -------
    Series
        Aligned to ``tables[table]``'s index and named ``by``; missing where the record has no
        reference or it points to no record.

    Raises
    ------
    MetricError
        When the table cannot reach the field (the message names what exists), or the related
        table repeats a key (which record counts would be a guess).

    Examples
    --------
    >>> t = {"opportunities": pd.DataFrame({"opportunity_id": ["o1", "o2", "o3"], "account_id": ["a1", "a2", None]}),
    ...      "accounts": pd.DataFrame({"account_id": ["a1", "a2"], "industry": ["Retail", "Energy"]})}
    >>> field_values(t, "opportunities", by="account.industry").tolist()
    ['Retail', 'Energy', nan]
    >>> field_values(t, "opportunities", by="account.regon")
    Traceback (most recent call last):
    ...
    funnel_analysis.custom.metrics.MetricError: by: unknown field 'regon' of account (accounts) (known: account_id, industry)
    """
    ref = _check_field(tables, table, by)
    frame = tables[table]
    if ref.relation is None:
        return frame[ref.name].rename(ref.path)
    spec = next(r for r in TABLES[table].references if r.column == f"{ref.relation}_id")
    key = TABLES[spec.table].key
    if spec.column == "owner_id" and spec.table == "users":  # the owners: users and queues
        groups = tables.get("groups")
        usable = groups is not None and {"group_id", "name"} <= set(groups.columns)
        target = owner_records(tables.get("users"), groups if usable else None)
    else:
        target = tables[spec.table]
    keys = target[key]
    repeated = keys[keys.notna() & keys.duplicated(keep=False)]
    if len(repeated):
        raise MetricError(
            f"by: {ref.path!r} needs one {spec.table} row per {key}, but {repeated.nunique()} keys repeat "
            f"(e.g. {repeated.iloc[0]!r})"
        )
    own = frame[spec.column]
    position = pd.Index(keys.astype("object")).get_indexer(own.astype("object"))
    position = np.where(own.isna().to_numpy(), -1, position)
    values = target[ref.name]
    if values.dtype == bool:
        values = values.astype("boolean")
    elif pd.api.types.is_integer_dtype(values.dtype) and not isinstance(values.dtype, pd.api.extensions.ExtensionDtype):
        values = values.astype("Int64")
    return pd.Series(values.array.take(position, allow_fill=True), index=frame.index, name=ref.path)
