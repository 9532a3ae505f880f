"""The custom report's chart: the metric by its ``by`` value with intervals, or a line per value over the periods.

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.custom.plots import plot_metric
>>> table = pd.DataFrame({"owner.region": ["EMEA", "NA"], "win_rate": [0.3, 0.4], "win_rate_n": [50, 80],
...                       "win_rate_ci_low": [0.19, 0.3], "win_rate_ci_high": [0.44, 0.51]})
>>> plot_metric(table).get_title()
'win_rate by owner.region'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, PercentFormatter

from .._util.missing import missing_axes, missing_reason
from .._util.plotting import axes as _axes
from .._util.plotting import money
from .metrics import METRICS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_metric"]

_KEYS = ("as_of", "fiscal_period", "period_start", "owner_name")


def _figure(df: pd.DataFrame, metric: str | None) -> str:
    name = metric or df.attrs.get("metric") or next((c for c in df.columns if c in METRICS), None)
    if name not in df.columns:
        raise ValueError(f"plot_metric: no metric column (one of {', '.join(METRICS)}); pass metric=")
    return name


def _formatter(kind: str, currency: str):
    if kind == "rate":
        return PercentFormatter(1.0)
    if kind == "money":
        return FuncFormatter(lambda v, _: money(v, currency))
    return FuncFormatter(lambda v, _: f"{v:,.0f}")


def plot_metric(
    df: pd.DataFrame,
    *,
    ax=None,
    metric: str | None = None,
    by: str | None = None,
    currency: str = "$",
    title: str | None = None,
) -> Axes:
    """The table of :func:`funnel_analysis.custom.metric`: one bar per ``by`` value, or a line per value.

    Without periods, one horizontal bar per ``by`` value (largest on top), a rate with its 95 %
    Wilson interval as an error bar, each label with its ``n``. With ``fiscal_period``, the figure
    over the periods, one line per ``by`` value (at most the eight with the most records; a rate
    with its interval as a band when there is one line).

    Parameters
    ----------
    df : DataFrame
        The result of :func:`funnel_analysis.custom.metric`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.
    metric : str, optional
        The figure's column; default the table's (``attrs["metric"]``, else the first metric column).
    by : str, optional
        The field column; default the table's (``attrs["by"]``, else the column before the figure).
    currency : str, default "$"
        ISO code or symbol for money figures.
    title : str, optional
        Default ``"<metric> by <by>"``.

    Returns
    -------
    matplotlib Axes
    """
    if missing_reason(df):
        return missing_axes(_axes(ax), missing_reason(df), title=title or "Custom metric")
    name = _figure(df, metric)
    kind = METRICS[name].kind if name in METRICS else "count"
    if by is None:
        by = df.attrs.get("by")
        if by is None:
            before = [c for c in df.columns[: list(df.columns).index(name)] if c not in _KEYS]
            by = before[0] if before else None
    label = "owner_name" if by == "owner_id" and "owner_name" in df.columns else by
    title = title or (f"{name} by {by}" if by else name)
    if not len(df):
        return missing_axes(_axes(ax), "nothing to show: no records", title=title)
    low, high = f"{name}_ci_low", f"{name}_ci_high"
    n = f"{name}_n"
    if "fiscal_period" in df.columns:
        ax = _axes(ax, (9, 4.5))
        periods = sorted(df["fiscal_period"].dropna().unique(), key=str)
        x = {p: i for i, p in enumerate(periods)}
        groups = [(None, df)] if label is None else list(df.groupby(label, sort=False, dropna=False))
        if n in df.columns and len(groups) > 8:
            size = {g: part[n].sum() for g, part in groups}
            groups = sorted(groups, key=lambda g: -size[g[0]])[:8]
        for value, part in groups:
            part = part.sort_values("fiscal_period")
            xs = part["fiscal_period"].map(x).to_numpy()
            ax.plot(xs, part[name].to_numpy("float64"), marker="o", label=None if value is None else str(value))
            if len(groups) == 1 and low in part.columns:
                ax.fill_between(
                    xs, part[low].to_numpy("float64"), part[high].to_numpy("float64"), alpha=0.2, label="95 % interval"
                )
        ax.set_xticks(range(len(periods)), [str(p) for p in periods], rotation=45, ha="right")
        ax.yaxis.set_major_formatter(_formatter(kind, currency))
        if kind == "rate":
            ax.set_ylim(0, 1)
        if groups and (groups[0][0] is not None or low in df.columns):
            ax.legend(loc="best", fontsize=8, frameon=True)
        ax.set_xlabel("fiscal period")
        ax.set_ylabel(name)
    else:
        d = df.sort_values(name, ascending=True, na_position="first", kind="stable")
        ax = _axes(ax, (8, 0.45 * len(d) + 1.6))
        y = np.arange(len(d))
        v = d[name].to_numpy("float64")
        xerr = None
        if low in d.columns:
            xerr = np.vstack([v - d[low].to_numpy("float64"), d[high].to_numpy("float64") - v])
            xerr = np.where(np.isnan(xerr), 0, xerr)
        ax.barh(y, np.nan_to_num(v), xerr=xerr, color="#6baed6", ecolor="#08519c", capsize=3)
        names = ["all" for _ in range(len(d))] if label is None else [str(s) for s in d[label]]
        if n in d.columns:
            names = [f"{s}  (n={int(k):,})" if pd.notna(k) else s for s, k in zip(names, d[n])]
        ax.set_yticks(y, names)
        ax.xaxis.set_major_formatter(_formatter(kind, currency))
        if kind == "rate":
            ax.set_xlim(0, 1)
        ax.set_xlabel(name)
    ax.set_title(title)
    return ax
