"""Reconciliation: the product's headline figures against the figures a user wrote down from Salesforce.

- :mod:`.figures`: the CSV of ``figure, period, value`` a user fills in, read and checked;
- :mod:`.compare`: each figure against the product's under the configured definitions, and the
  alternative definition that explains a difference (or none: unexplained);
- :mod:`.report`: the report's entry points, on the org
  (``report.reconcile_figures(crm, figures_file=..., as_of=..., where=...)``);
- :mod:`.plots`: the charts of the reconciliation notebook.

The definitions themselves are in :mod:`funnel_analysis.funnel.definitions`.

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.reconcile import reconcile_figures
>>> o = pd.DataFrame({"is_closed": [True, True], "is_won": [True, False], "amount": [90.0, 10.0],
...                   "created_date": pd.to_datetime(["2025-01-02"] * 2, utc=True),
...                   "close_date": pd.to_datetime(["2025-02-01"] * 2)})
>>> figures = pd.DataFrame({"figure": ["win_rate", "opportunities_won"], "period": ["FY2025-Q1"] * 2,
...                         "value": [0.5, 3.0]})
>>> reconcile_figures(figures, o)[["figure", "product", "status"]]
              figure  product       status
0           win_rate      0.5      matches
1  opportunities_won      1.0  unexplained
"""

from .compare import STATUSES, Alternative, alternative_definitions, definition_effects, reconcile_figures
from .figures import FIGURE_COLUMNS, WRITTEN_STEP, FiguresError, period_frequency, read_salesforce_figures

__all__ = [
    "read_salesforce_figures",
    "FiguresError",
    "FIGURE_COLUMNS",
    "WRITTEN_STEP",
    "period_frequency",
    "reconcile_figures",
    "definition_effects",
    "alternative_definitions",
    "Alternative",
    "STATUSES",
]
