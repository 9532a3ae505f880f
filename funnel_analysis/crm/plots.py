"""Charts of the data-quality report: rows per broken rule.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> rules = pd.DataFrame({"table": ["leads", "leads", "opportunities"],
...                       "rule": ["email_invalid", "id_missing", "id_missing"], "rows": [3, 1, 2]})
>>> plot_rule_counts(rules).get_title()
'Rows per rule'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_rule_counts"]


def plot_rule_counts(rules: pd.DataFrame, *, ax=None) -> Axes:
    """Bars of rows per rule (``crm.report.rules()``), stacked by table; says so when none was broken.

    Parameters
    ----------
    rules : pandas.DataFrame
        One row per table and broken rule, with columns ``table``, ``rule``
        and ``rows`` (how many rows broke it), as ``crm.report.rules()``
        gives it. Empty: the chart says that no row broke a rule.
    ax : matplotlib.axes.Axes, optional
        The axes to draw on. ``None`` (the default): a new figure, its height
        growing with the number of rules.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on: horizontal bars, one per rule, sorted by total
        rows, stacked by table.
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.figure(figsize=(9, 0.35 * max(4, rules["rule"].nunique()) + 1.2)).gca()
    if rules.empty:
        ax.text(0.5, 0.5, "No row broke a rule", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    wide = rules.pivot_table(index="rule", columns="table", values="rows", aggfunc="sum", fill_value=0)
    wide.loc[wide.sum(axis=1).sort_values().index].plot.barh(stacked=True, ax=ax, width=0.7)
    ax.set(xlabel="rows", ylabel="", title="Rows per rule")
    ax.legend(title="table", loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax
