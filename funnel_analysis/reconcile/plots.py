"""Charts of the reconciliation notebook: the figures side by side, and how far a definition moves a figure.

Examples
--------
>>> import pandas as pd
>>> r = pd.DataFrame({"figure": ["win_rate"], "period": ["FY2025-Q1"], "salesforce": [0.31],
...                   "product": [0.29], "status": ["explained"], "explained_value": [0.31]})
>>> plot_reconciliation(r).get_title()
'Salesforce figures against the product'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._util.missing import missing_axes, missing_reason
from .._util.plotting import axes as _axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_reconciliation", "plot_definition_effects"]

_COLOURS = {"matches": "C2", "explained": "C0", "unexplained": "C3", "not in the product": "C7"}


def plot_reconciliation(df: pd.DataFrame, *, ax=None, title: str | None = None) -> Axes:
    """Each Salesforce figure against the product's, as a ratio: 1 is equal, coloured by status.

    A figure's Salesforce value and the explaining definition's value are drawn relative to the
    product's, so rates and amounts share one axis.

    Parameters
    ----------
    df : DataFrame
        :func:`funnel_analysis.reconcile.reconcile_figures` (``figure``, ``period``, ``salesforce``,
        ``product``, ``status``, ``explained_value``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.
    title : str, optional
        The chart's title; default "Salesforce figures against the product".

    Returns
    -------
    matplotlib Axes
        The axes drawn on.

    Raises
    ------
    ValueError
        When a column is missing.
    """
    title = title or "Salesforce figures against the product"
    if missing_reason(df):
        return missing_axes(_axes(ax), missing_reason(df), title=title)
    need = ["figure", "period", "salesforce", "product", "status", "explained_value"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"plot_reconciliation: missing column(s) {missing}; use reconcile_figures(...)")
    ax = _axes(ax, size=(8, 0.5 + 0.45 * max(len(df), 2)))
    y = np.arange(len(df))[::-1]
    product = df["product"].to_numpy("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(product != 0, df["salesforce"].to_numpy("float64") / product, np.nan)
        explained = np.where(product != 0, df["explained_value"].to_numpy("float64") / product, np.nan)
    ax.axvline(1.0, color="0.3", lw=1)
    for status, colour in _COLOURS.items():
        sel = (df["status"] == status).to_numpy()
        if sel.any():
            ax.scatter(ratio[sel], y[sel], color=colour, s=60, label=f"Salesforce: {status}", zorder=3)
    has = ~np.isnan(explained)
    if has.any():
        ax.scatter(explained[has], y[has], marker="|", s=300, color="C0", label="the explaining definition")
    ax.set_yticks(y, [f"{f} {p}" for f, p in zip(df["figure"], df["period"])])
    ax.set_xlabel("Salesforce's figure / the product's (1 = equal)")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_definition_effects(df: pd.DataFrame, *, ax=None, title: str | None = None) -> Axes:
    """One figure per fiscal period, one line per definition: how far the definition moves it.

    Parameters
    ----------
    df : DataFrame
        :func:`funnel_analysis.reconcile.definition_effects` (``fiscal_period``, ``definition``, ``value``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.
    title : str, optional
        The chart's title; default "<figure> under each definition".

    Returns
    -------
    matplotlib Axes
        The axes drawn on.

    Raises
    ------
    ValueError
        When a column is missing.

    Examples
    --------
    >>> d = pd.DataFrame({"fiscal_period": ["FY2025-Q1", "FY2025-Q2"] * 2, "value": [0.3, 0.32, 0.25, 0.27],
    ...                   "definition": ["configured"] * 2 + ["win rate by amount instead of by count"] * 2})
    >>> len(plot_definition_effects(d).get_lines())
    2
    """
    named = df["figure"].iloc[0] if "figure" in df.columns and len(df) else "The figure"
    title = title or f"{named} under each definition"
    if missing_reason(df):
        return missing_axes(_axes(ax), missing_reason(df), title=title)
    missing = [c for c in ("fiscal_period", "definition", "value") if c not in df.columns]
    if missing:
        raise ValueError(f"plot_definition_effects: missing column(s) {missing}; use definition_effects(...)")
    ax = _axes(ax)
    periods = sorted(df["fiscal_period"].dropna().unique())
    pos = {p: i for i, p in enumerate(periods)}
    for i, (name, g) in enumerate(df.groupby("definition", sort=False)):
        g = g.sort_values("fiscal_period")
        style = (
            {"lw": 2.5, "color": "0.1"} if name == "configured" else {"lw": 1.2, "color": f"C{i % 10}", "alpha": 0.8}
        )
        ax.plot(g["fiscal_period"].map(pos), g["value"], marker="o", ms=3, label=name, **style)
    step = max(1, len(periods) // 8)
    ax.set_xticks(range(0, len(periods), step), periods[::step], rotation=30, ha="right")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    return ax
