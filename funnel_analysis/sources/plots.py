"""Charts for lead sources, campaigns and pipeline changes: waterfall, attribution, source conversion.

Same conventions as :mod:`funnel_analysis.funnel.plots`: each function draws on ``ax`` (a new figure
when ``None``), returns the axes and never calls ``show()``; a title, units on the axes,
thousands separators and money with its currency symbol.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> totals = pd.DataFrame({"start": [100.0], "new": [50.0], "pulled_in": [0.0], "pushed_out": [0.0],
...                        "amount_up": [10.0], "amount_down": [0.0], "won": [30.0], "lost": [20.0],
...                        "end": [110.0]})
>>> ax = plot_pipeline_waterfall(totals, currency="€")
>>> ax.get_title()
'Open pipeline: how it moved'
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .._util.missing import missing_axes, missing_reason
from .._util.plotting import axes as _axes
from ..funnel.plots import plot_conversion_by_segment
from .pipeline_changes import PipelineWaterfall

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["WATERFALL_STEPS", "plot_pipeline_waterfall", "plot_attribution", "plot_source_conversion"]

#: The waterfall's steps in order, with their sign (0: a level, start or end) and label.
WATERFALL_STEPS = (
    ("start", 0, "start"),
    ("new", 1, "new"),
    ("pulled_in", 1, "pulled in"),
    ("pushed_out", -1, "pushed out"),
    ("amount_up", 1, "amount up"),
    ("amount_down", -1, "amount down"),
    ("fx_up", 1, "exchange rates up"),
    ("fx_down", -1, "exchange rates down"),
    ("won", -1, "won"),
    ("lost", -1, "lost"),
    ("end", 0, "end"),
)
_FX_STEPS = ("fx_up", "fx_down")
_LEVEL, _UP, _DOWN = "#6baed6", "#74c476", "#fb6a4a"
_MODELS = ("first_touch", "last_touch", "linear", "u_shaped")


def _money_axis(currency: str, per: str = ""):
    """Tick labels ``$1,234,567`` (``k`` / ``M`` suffixes above a million would hide precision)."""
    return FuncFormatter(lambda v, _: f"{'-' if v < 0 else ''}{currency}{abs(v):,.0f}{per}")


def _signed_money(value: float, currency: str) -> str:
    return f"{'+' if value > 0 else '-' if value < 0 else ''}{currency}{abs(value):,.0f}"


#: What a fiscal period label (``FY2025-Q4``, ``FY2025-M03``, ``FY2025``) names, for the default title.
_PERIOD_NOUNS = ((r"-Q\d+$", "quarter"), (r"-M\d+$", "month"), (r"^FY\d+$", "year"))


def _period_title(period: str) -> str:
    noun = next((n for pattern, n in _PERIOD_NOUNS if re.search(pattern, period)), "period")
    return f"{period} pipeline: open deals due to close in the {noun}"


def plot_pipeline_waterfall(
    waterfall,
    *,
    ax=None,
    currency: str = "$",
    title: str | None = None,
    start_label: str | None = None,
    end_label: str | None = None,
    hide_zero: bool = False,
) -> Axes:
    """Waterfall of the open pipeline from one cut to another: start, the signed steps, end.

    Parameters
    ----------
    waterfall : PipelineWaterfall, DataFrame or Series
        A :func:`~funnel_analysis.sources.pipeline_changes.pipeline_waterfall` result (its totals
        must be one row: leave ``by`` out), its ``totals`` or one row of them.
    ax : matplotlib Axes, optional
        The axes to draw on; a new figure when None.
    currency : str, default "$"
        The symbol put before amounts.
    title : str, optional
        Default: the period and what its pipeline is when ``waterfall`` is a result of a fiscal
        period (``"FY2025-Q4 pipeline: open deals due to close in the quarter"``), else a generic one.
    start_label, end_label : str, optional
        Names of the first and last bar; default the two days (YYYY-MM-DD) of a result, else
        ``start`` and ``end``.
    hide_zero : bool, default False
        Leave out steps that are 0 (``pulled_in`` / ``pushed_out`` without a close window).

    Returns
    -------
    matplotlib Axes
        Levels in blue, increases in green, decreases in red, each bar labelled with its signed
        amount; thin connectors show the running total.
    """
    fn = "plot_pipeline_waterfall"
    totals = waterfall
    if isinstance(waterfall, PipelineWaterfall):
        totals = waterfall.totals
        start_label = start_label or f"{waterfall.start:%Y-%m-%d}"
        end_label = end_label or f"{waterfall.end:%Y-%m-%d}"
        if waterfall.period and waterfall.close_window is not None:
            title = title or _period_title(waterfall.period)
    if isinstance(totals, pd.DataFrame):
        if len(totals) != 1:
            raise ValueError(f"{fn}: expected one row of totals, got {len(totals)}; filter on the segment first")
        totals = totals.iloc[0]
    # the exchange-rate steps exist only in multi-currency results: absent, they are 0
    totals = totals.reindex(totals.index.union(pd.Index(_FX_STEPS)), fill_value=0) if len(totals.index) else totals
    missing = [k for k, _, _ in WATERFALL_STEPS if k not in totals.index]
    if missing:
        raise ValueError(f"{fn}: missing column(s) {missing}; pass the totals of pipeline_waterfall")
    steps = [(k, s, lbl) for k, s, lbl in WATERFALL_STEPS if not (hide_zero and s != 0 and float(totals[k]) == 0)]
    labels, bottoms, heights, colors, texts, after = [], [], [], [], [], []
    running = 0.0
    for key, sign, label in steps:
        v = float(totals[key]) if not pd.isna(totals[key]) else 0.0
        if sign == 0:
            bottoms.append(0.0)
            heights.append(v)
            colors.append(_LEVEL)
            texts.append(f"{'-' if v < 0 else ''}{currency}{abs(v):,.0f}")
            running = v
            label = {"start": start_label, "end": end_label}.get(key) or label
        else:
            delta = sign * v
            bottoms.append(min(running, running + delta))
            heights.append(abs(delta))
            colors.append(_UP if delta > 0 else _DOWN if delta < 0 else "lightgrey")
            texts.append(_signed_money(delta, currency))
            running += delta
        labels.append(label)
        after.append(running)
    ax = _axes(ax, (9, 4.5))
    x = np.arange(len(steps))
    ax.bar(x, heights, bottom=bottoms, color=colors, edgecolor="dimgrey", linewidth=0.6, width=0.7)
    tops = [b + h for b, h in zip(bottoms, heights)]
    for i in range(len(steps) - 1):  # connectors at the running total after each bar
        ax.plot([i + 0.35, i + 0.65], [after[i], after[i]], color="grey", lw=0.8)
    span = max(max(tops, default=0), 1.0)
    for xi, top, text in zip(x, tops, texts):
        ax.text(xi, top + span * 0.01, text, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, labels, rotation=0)
    ax.set_ylim(min(0, min(bottoms, default=0)), span * 1.12)
    ax.yaxis.set_major_formatter(_money_axis(currency))
    ax.set_ylabel(f"open pipeline amount ({currency})")
    ax.grid(axis="x", visible=False)
    ax.set_title(title or "Open pipeline: how it moved")
    return ax


def plot_attribution(
    summary: pd.DataFrame,
    *,
    ax=None,
    top: int = 10,
    models=None,
    currency: str = "$",
    label: str | None = None,
    include_unattributed: bool = False,
    title: str | None = None,
) -> Axes:
    """Credited won value per campaign, one bar per attribution model, for the top campaigns.

    Parameters
    ----------
    summary : DataFrame
        :func:`~funnel_analysis.sources.attribution.attribution_summary` (``campaign_id`` and
        ``{model}_value`` columns; ``name`` is used for the labels when present).
    ax : matplotlib Axes, optional
        The axes to draw on; a new figure when None.
    top : int, default 10
        Campaigns shown: those with the largest credited value averaged over the models.
    models : sequence of str, optional
        Default every model the summary has.
    currency : str, default "$"
        The symbol put before amounts.
    label : str, optional
        The label column; default ``name`` when present, else ``campaign_id``.
    include_unattributed : bool, default False
        Also show ``"(no campaign)"`` (won deals without a campaign touch).
    title : str, optional
        Default: how many campaigns are shown.

    Returns
    -------
    matplotlib Axes
        Horizontal grouped bars, largest campaign on top; the x axis in currency. A summary marked as
        lacking its inputs (no campaign members) gives the reason in one line instead.
    """
    fn = "plot_attribution"
    reason = missing_reason(summary)
    if reason:
        return missing_axes(_axes(ax), f"Not shown: {reason}.", title=title or "Won value credited to campaigns")
    if models is None:
        models = [m for m in _MODELS if f"{m}_value" in summary.columns]
    missing = [f"{m}_value" for m in models if f"{m}_value" not in summary.columns]
    if not models or missing or "campaign_id" not in summary.columns:
        raise ValueError(
            f"{fn}: expected campaign_id and <model>_value columns (missing {missing or 'all'}); "
            "pass attribution_summary(...)"
        )
    if top < 1:
        raise ValueError(f"{fn}: top must be at least 1, got {top}")
    d = summary if include_unattributed else summary[summary["campaign_id"] != "(no campaign)"]
    values = d[[f"{m}_value" for m in models]].fillna(0.0)
    d = d.assign(_rank=values.mean(axis=1)).nlargest(top, "_rank").iloc[::-1]  # largest on top
    if label is None:
        label = "name" if "name" in d.columns else "campaign_id"
    names = [str(n) if not pd.isna(n) else str(c) for n, c in zip(d[label], d["campaign_id"])]
    names = [n if len(n) <= 40 else n[:39] + "…" for n in names]
    ax = _axes(ax, (9, 0.55 * max(len(d), 2) + 1.6))
    y = np.arange(len(d))
    h = 0.8 / len(models)
    for i, m in enumerate(models):
        ax.barh(
            y - 0.4 + h * (i + 0.5), d[f"{m}_value"].fillna(0.0), height=h, color=f"C{i}", label=m.replace("_", " ")
        )
    ax.set_yticks(y, names)
    ax.xaxis.set_major_locator(MaxNLocator(5))  # full amounts need room: few ticks
    ax.xaxis.set_major_formatter(_money_axis(currency))
    ax.set_xlabel(f"credited won amount ({currency})")
    ax.grid(axis="y", visible=False)
    handles, legend_labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], legend_labels[::-1], title="model", loc="lower right", fontsize=8)
    ax.set_title(title or f"Won amount credited to the top {len(d)} campaigns, by attribution model")
    return ax


def plot_source_conversion(
    matrix: pd.DataFrame,
    *,
    ax=None,
    by: str | None = None,
    rate: str = "conversion_rate",
    title: str | None = None,
) -> Axes:
    """A :func:`~funnel_analysis.sources.source_matrix` rate per segment with its 95 % interval.

    Drawn by :func:`funnel_analysis.funnel.plots.plot_conversion_by_segment`.

    Parameters
    ----------
    matrix : DataFrame
        A :func:`~funnel_analysis.sources.source_matrix` result (one row per segment).
    ax : matplotlib Axes, optional
        The axes to draw on; a new figure when None.
    by : str, optional
        The segment column of ``matrix``; default ``"lead_source"`` (the matrix's default).
    rate : {"conversion_rate", "win_rate"}, default "conversion_rate"
        Lead -> opportunity (n = leads) or won / closed (n = closed deals).
    title : str, optional
        Default: the rate and the segment column.

    Returns
    -------
    matplotlib Axes
        One point per segment with its interval; for a matrix marked as lacking its inputs (no leads),
        the reason in one line.

    Raises
    ------
    ValueError
        Another ``rate``.
    """
    if rate not in ("conversion_rate", "win_rate"):
        raise ValueError(f"plot_source_conversion: rate must be 'conversion_rate' or 'win_rate', got {rate!r}")
    segment = by or "lead_source"
    nice = segment.replace("_", " ")
    default = (
        f"Lead to opportunity conversion by {nice}"
        if rate == "conversion_rate"
        else f"Win rate (won / closed) of converted deals by {nice}"
    )
    reason = missing_reason(matrix)
    if reason:
        return missing_axes(_axes(ax), f"Not shown: {reason}.", title=title or default)
    return plot_conversion_by_segment(matrix, ax=ax, by=segment, rate=rate, title=title or default)
