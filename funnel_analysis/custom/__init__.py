"""Custom reports: any headline figure, by any field the filter grammar reaches, for any filter, per period.

- :mod:`.metrics`: the metrics (:data:`METRICS`, each with its definition) and how a ``by`` field,
  dotted paths one hop away included (``account.industry``, ``owner.region``), reaches its value;
- :mod:`.report`: the entry point on the org, :func:`metric` (``funnel metric`` prints it, and the
  ``custom`` report notebook records it);
- :mod:`.plots`: its chart, bars by the ``by`` value with their intervals, or a line per value over
  the fiscal periods.

The figures are the funnel report's own (:func:`funnel_analysis.funnel.kpis`), under the same
definitions.

Examples
--------
>>> from funnel_analysis.custom import METRICS, metric_spec
>>> metric_spec("bookings").name, METRICS["won_amount"].kind
('won_amount', 'money')
>>> print(METRICS["lead_conversion_rate"].definition)
lead_conversion_rate: leads_converted / leads; leads created by the as-of day; left out: deleted and merged \
records and quarantined rows
"""

from .metrics import METRIC_ALIASES, METRICS, Metric, MetricError, field_values, metric_spec
from .report import metric

__all__ = ["metric", "METRICS", "METRIC_ALIASES", "Metric", "MetricError", "metric_spec", "field_values"]
