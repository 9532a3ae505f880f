"""Funnel analytics: lead conversion, the pipeline snapshot, cohorts, win rates and the headline figures.

- :mod:`.conversion`: lead funnel and conversion, pipeline snapshot, cohort funnel;
- :mod:`.winrates`: win rates, stage-to-stage transitions, bottleneck stages;
- :mod:`.kpis`: the headline figures of an org (``funnel kpis``);
- :mod:`.definitions`: what each headline figure counts, under the choices a company sets;
- :mod:`.headline`: the dashboard's rows: this period so far, the last one at the same point, the trend;
- :mod:`.report`: the report's entry points, on the org (``report.win_rates(crm, as_of=..., where=...)``);
- :mod:`.plots`: the charts of the funnel notebook.

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.funnel import lead_conversion
>>> leads = pd.DataFrame({"lead_id": ["L1", "L2", "L3", "L4"], "lead_source": ["Web", "Web", "Web", "Partner"],
...                       "created_date": pd.to_datetime(["2024-01-02", "2024-01-05", "2024-02-01", "2024-02-03"]),
...                       "is_converted": [True, False, False, True],
...                       "converted_date": pd.to_datetime(["2024-01-20", None, None, "2024-02-10"])})
>>> lead_conversion(leads, by="lead_source")[["lead_source", "leads", "converted"]].to_dict("records")
[{'lead_source': 'Partner', 'leads': 1, 'converted': 1}, {'lead_source': 'Web', 'leads': 3, 'converted': 1}]
"""

from .conversion import (
    DEFAULT_LEAD_STATUSES,
    cohort_funnel,
    cohort_window,
    lead_conversion,
    lead_funnel,
    snapshot_funnel,
)
from .definitions import (
    COHORTS,
    HEADLINE_FIGURES,
    KPI_FIGURES,
    NEW_BUSINESS,
    WIN_RATE_BASES,
    KpiChoices,
    KpiDefinition,
    definitions_note,
    kpi_definitions,
)
from .headline import headline_series
from .kpis import KPI_COUNTS, MISSING_SEGMENT, kpis
from .winrates import bottlenecks, stage_transitions, win_rates

__all__ = [
    "lead_funnel",
    "lead_conversion",
    "snapshot_funnel",
    "cohort_window",
    "cohort_funnel",
    "DEFAULT_LEAD_STATUSES",
    "win_rates",
    "stage_transitions",
    "bottlenecks",
    "kpis",
    "headline_series",
    "KPI_FIGURES",
    "KPI_COUNTS",
    "MISSING_SEGMENT",
    "HEADLINE_FIGURES",
    "KpiChoices",
    "KpiDefinition",
    "kpi_definitions",
    "definitions_note",
    "WIN_RATE_BASES",
    "COHORTS",
    "NEW_BUSINESS",
]
