"""Charts for the funnel tables: funnel bars, conversion by segment, win-rate trend.

Each function draws on ``ax`` (a new figure when ``None``), returns the axes and never calls
``show()``, so that notebooks, reports and tests decide what happens to the figure. Charts are
meant to be read without explanation: a title, units on the axes, thousands separators,
money with its currency symbol, rates in percent, and the 95 % Wilson interval drawn with every
rate together with the number of cases behind it. A table marked as lacking its inputs
(:func:`funnel_analysis._util.missing.mark_missing`) is drawn as its one-line reason on an empty axes.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> df = pd.DataFrame({"stage_name": ["Prospect", "Won"], "count": [120, 30],
...                    "amount": [1.2e6, 4e5], "share_count": [0.8, 0.2], "share_amount": [0.75, 0.25]})
>>> ax = plot_funnel(df, value="amount", currency="€")
>>> ax.get_title()
'Pipeline by stage: amount'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter

from .._util.missing import missing_axes, missing_reason
from .._util.plotting import axes as _axes
from .._util.plotting import money

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_funnel", "plot_conversion_by_segment", "plot_win_rate_trend"]

#: Rate columns the plots recognise, with their denominator and numerator columns.
_RATES = {
    "conversion_rate": ("leads", "converted"),
    "win_rate": ("closed", "won"),
    "conversion": ("decided", "advanced"),
    "stage_conversion": (None, "reached"),
    "share": ("cohort", "reached"),
    "rate": (None, None),
}
#: Text columns of the funnel tables that are not segments.
_NOT_SEGMENTS = {"step", "kind", "stage_name", "from_stage", "to_stage", "fiscal_period"}
_MISSING = "(missing)"
_BAR = "#9ecae1"


def _labels(values: pd.Series) -> list[str]:
    return [_MISSING if pd.isna(v) else str(v) for v in values]


def plot_funnel(
    df: pd.DataFrame,
    value: str = "count",
    *,
    ax=None,
    hue: str | None = None,
    currency: str = "$",
    title: str | None = None,
) -> Axes:
    """Horizontal funnel: one centred bar per stage, first stage on top, labelled.

    Parameters
    ----------
    df : DataFrame
        :func:`~funnel_analysis.funnel.snapshot_funnel` (``count``, ``amount``, ``share_count``,
        ``share_amount``), :func:`~funnel_analysis.funnel.cohort_funnel` (``reached``, ``amount``,
        ``share``) or :func:`~funnel_analysis.funnel.lead_funnel` (``step``, ``count``, ``share``),
        rows in funnel order: one segment, or several with ``hue``.
    value : {"count", "amount"}
        Bar length: number of opportunities (leads) or their amount.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.
    hue : str, optional
        The segment column of a table ``by`` a segment: each bar is split into its segments
        (stacked, with a legend), and labelled with the stage's total over all segments.
    currency : str, default "$"
        Symbol put before amounts.
    title : str, optional
        The chart's title; default one naming the table.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    hue = hue or None  # a report's segment parameter left empty
    if missing_reason(df):  # the data lacks this chart's inputs: the reason, not bars of zero
        return missing_axes(_axes(ax), missing_reason(df), title=title or "Funnel")
    if value not in ("count", "amount"):
        raise ValueError(f"plot_funnel: value must be 'count' or 'amount', got {value!r}")
    # cohort tables number their steps (int); the lead funnel names them (text)
    stage = (
        "stage_name"
        if "stage_name" in df.columns
        else ("step" if "step" in df.columns and not pd.api.types.is_numeric_dtype(df["step"]) else None)
    )
    cohort = "reached" in df.columns
    col = "amount" if value == "amount" else ("reached" if cohort else "count")
    if stage is None or col not in df.columns:
        raise ValueError(
            f"plot_funnel: expected a funnel table with a stage column and {col!r}; got columns {list(df.columns)}"
        )
    if hue is not None and hue not in df.columns:
        raise ValueError(f"plot_funnel: no segment column {hue!r}")
    if hue is None and df[stage].duplicated().any():
        raise ValueError(
            "plot_funnel: several rows per stage - pass hue= the segment column, "
            "or filter the table on its segment column first"
        )
    share = "share" if cohort or "share_count" not in df.columns else f"share_{value}"
    parts = None
    if hue is not None:
        df, parts = _stage_totals(df, stage, col, hue, cohort, share)
    v = df[col].fillna(0).to_numpy("float64")
    if cohort and value == "amount" and "cohort_amount" in df.columns:
        df = df.assign(share=v / df["cohort_amount"].where(df["cohort_amount"] > 0))
    ax = _axes(ax)
    y = np.arange(len(df))
    if parts is None:
        ax.barh(y, v, left=-v / 2, color=_BAR, edgecolor="#3182bd", height=0.8)
    else:  # each bar split into its segments, left to right in segment order
        left = -v / 2
        for i, (name, seg) in enumerate(parts.items()):
            seg = seg.to_numpy("float64")
            ax.barh(y, seg, left=left, color=f"C{i % 10}", alpha=0.55, edgecolor="white", height=0.8, label=name)
            left = left + seg
        ax.legend(title=hue.replace("_", " "), loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    unknown = df[col].isna().to_numpy()
    for yi, vi, si, ui in zip(y, v, df[share] if share in df.columns else [np.nan] * len(df), unknown):
        text = "unknown" if ui else (money(vi, currency) if value == "amount" else f"{vi:,.0f}")
        if not pd.isna(si):
            text += f"  ({si:.0%})"
        ax.text(0, yi, text, ha="center", va="center", fontsize=9, color="black")
    ax.set_yticks(y, _labels(df[stage]))
    ax.invert_yaxis()  # the funnel's first stage on top
    half = max(v.max() if len(v) else 0, 1) / 2
    ax.set_xlim(-half * 1.05, half * 1.05)
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    noun = "leads" if stage == "step" else "opportunities"
    unit = f"amount ({currency})" if value == "amount" else f"number of {noun}"
    share_note = {"share": "share of cohort" if cohort else "share of all leads"}.get(share, "share of pipeline")
    share_note += " amount" if value == "amount" else ""
    ax.set_xlabel(f"Bar width: {unit}; in brackets: {share_note}")
    if title is None:
        title = (
            "Cohort funnel: opportunities reaching each stage"
            if cohort
            else "Lead funnel"
            if stage == "step"
            else "Pipeline by stage"
        )
        title += ": amount" if value == "amount" else ""
    ax.set_title(title)
    return ax


def _stage_totals(df: pd.DataFrame, stage: str, col: str, hue: str, cohort: bool, share: str):
    """A segmented funnel table summed over its segments (its shares recomputed), and the per-segment values."""
    order = list(dict.fromkeys(df[stage]))
    d = df.assign(_seg=_labels(df[hue]))
    parts = d.pivot_table(index=stage, columns="_seg", values=col, aggfunc="sum", sort=False, observed=True)
    parts = parts.reindex(order).fillna(0)
    sums = [c for c in ("count", "amount", "reached", "cohort", "cohort_amount", "total") if c in d.columns]
    out = d.groupby(stage, sort=False, observed=True)[sums].sum(min_count=1).reindex(order).reset_index()
    if cohort:
        out["share"] = out["reached"] / out["cohort"].where(out["cohort"] > 0)
    elif share.startswith("share_"):  # the pipeline: a stage's share of all stages
        for c in ("count", "amount"):
            out[f"share_{c}"] = out[c] / (out[c].sum() or np.nan)
    elif "total" in out.columns:  # the lead funnel: a step's share of all leads
        out["share"] = out["count"] / out["total"].where(out["total"] > 0)
    return out, {c: parts[c] for c in parts.columns}


def _rate_column(df: pd.DataFrame, rate: str | None, fn: str) -> str:
    if rate is None:
        rate = next((r for r in _RATES if r in df.columns), None)
    if rate is None or rate not in df.columns:
        raise ValueError(f"{fn}: no rate column found; pass rate= (columns: {list(df.columns)})")
    return rate


def _bounds(df: pd.DataFrame, rate: str) -> tuple[pd.Series, pd.Series]:
    low, high = f"{rate}_ci_low", f"{rate}_ci_high"
    if low not in df.columns or high not in df.columns:
        raise ValueError(f"expected interval columns {low!r} and {high!r} next to {rate!r}")
    return df[low], df[high]


def plot_conversion_by_segment(
    df: pd.DataFrame, *, ax=None, by: str | None = None, rate: str | None = None, title: str | None = None
) -> Axes:
    """One point per segment with its 95 % Wilson interval, best segment on top.

    Parameters
    ----------
    df : DataFrame
        A rate table with one row per segment, such as ``lead_conversion(leads, by=...)`` or
        ``win_rates(opps, by=...)``.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.
    by : str, optional
        Segment column; default the first text column that is not a stage or period.
    rate : str, optional
        Rate column (with ``<rate>_ci_low`` / ``_ci_high``); default the first known one
        (``conversion_rate``, ``win_rate``, ``conversion``, ...).
    title : str, optional
        The chart's title; default "<rate> by <segment column>".

    Returns
    -------
    matplotlib Axes
        A dashed line marks the rate over all segments together, when the counts are there.
    """
    fn = "plot_conversion_by_segment"
    if missing_reason(df):
        return missing_axes(_axes(ax), missing_reason(df), title=title or "Conversion by segment")
    segment = by or None
    rate = _rate_column(df, rate, fn)
    if segment is None:
        texts = [
            c
            for c in df.columns
            if c not in _NOT_SEGMENTS and (pd.api.types.is_string_dtype(df[c]) or df[c].dtype == object)
        ]
        if not texts:
            raise ValueError(f"{fn}: no segment column found; pass by=")
        segment = texts[0]
    if segment not in df.columns:
        raise ValueError(f"{fn}: no column {segment!r}")
    if df[segment].duplicated().any():
        raise ValueError(f"{fn}: several rows per {segment!r}; filter to one stage or period first")
    low, high = _bounds(df, rate)
    trials, wins = _RATES.get(rate, (None, None))
    d = df.assign(_low=low, _high=high).sort_values(rate, ascending=True, na_position="first")
    ax = _axes(ax, (8, 0.45 * len(d) + 1.6))
    y = np.arange(len(d))
    r = d[rate].to_numpy("float64")
    err = np.vstack([r - d["_low"].to_numpy("float64"), d["_high"].to_numpy("float64") - r])
    ax.errorbar(r, y, xerr=err, fmt="o", color="#08519c", ecolor="#6baed6", elinewidth=3, capsize=0)
    names = _labels(d[segment])
    if trials in d.columns:
        names = [f"{n}  (n={int(t):,})" for n, t in zip(names, d[trials])]
        if wins in d.columns and d[trials].sum() > 0:
            overall = d[wins].sum() / d[trials].sum()
            ax.axvline(overall, color="grey", ls="--", lw=1, label=f"all segments: {overall:.0%}")
            ax.legend(loc="best", frameon=True, fontsize=8)
    ax.set_yticks(y, names)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    pretty = rate.replace("_", " ")
    ax.set_xlabel(f"{pretty} (%), bars: 95% confidence interval")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title or f"{pretty.capitalize()} by {segment.replace('_', ' ')}")
    return ax


def plot_win_rate_trend(df: pd.DataFrame, *, ax=None, hue: str | None = None, title: str | None = None) -> Axes:
    """Win rate per fiscal period as a line, with its 95 % interval as a band.

    Parameters
    ----------
    df : DataFrame
        ``win_rates(opps, period="Q")`` (``fiscal_period``, ``win_rate``, its bounds, ``closed``);
        rows without a period are left out.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.
    hue : str, optional
        A segment column: one line and band per segment.
    title : str, optional
        The chart's title; default "Win rate by fiscal period".

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    fn = "plot_win_rate_trend"
    if missing_reason(df):
        return missing_axes(_axes(ax), missing_reason(df), title=title or "Win rate by fiscal period")
    need = ["fiscal_period", "win_rate", "win_rate_ci_low", "win_rate_ci_high", *([hue] if hue else [])]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"{fn}: missing column(s) {missing}; use win_rates(..., period='Q')")
    d = df[df["fiscal_period"].notna()]
    if not hue and d["fiscal_period"].duplicated().any():
        raise ValueError(f"{fn}: several rows per period - pass hue= the segment column")
    periods = sorted(d["fiscal_period"].unique())
    if "period_start" in d.columns:
        # place periods by their start date, so that a period without closed deals shows as a gap
        starts = d.drop_duplicates("fiscal_period").set_index("fiscal_period")["period_start"]
        pos = {p: (starts[p] - starts[periods[0]]).days / 365.25 * 4 for p in periods}  # in quarters
    else:
        pos = {p: float(i) for i, p in enumerate(periods)}
    ax = _axes(ax)
    groups = d.groupby(hue, dropna=False, sort=True) if hue else [(None, d)]
    for i, (name, g) in enumerate(groups):
        g = g.sort_values("fiscal_period")
        x = g["fiscal_period"].map(pos).to_numpy("float64")
        color = f"C{i % 10}"
        label = None if hue is None else _labels(pd.Series([name[0] if isinstance(name, tuple) else name]))[0]
        ax.fill_between(x, g["win_rate_ci_low"], g["win_rate_ci_high"], color=color, alpha=0.15, lw=0)
        ax.plot(x, g["win_rate"], marker="o", color=color, label=label)
        # whiskers as well as the band: a band needs two periods, a lone period still shows its interval
        r = g["win_rate"].to_numpy("float64")
        ax.errorbar(
            x,
            r,
            yerr=np.vstack(
                [r - g["win_rate_ci_low"].to_numpy("float64"), g["win_rate_ci_high"].to_numpy("float64") - r]
            ),
            fmt="none",
            ecolor=color,
            alpha=0.4,
            capsize=3,
        )
        if "closed" in g.columns and hue is None:
            for xi, yi, n in zip(x, g["win_rate"], g["closed"]):
                if not pd.isna(yi):
                    ax.annotate(
                        f"n={int(n):,}",
                        (xi, yi),
                        textcoords="offset points",
                        xytext=(0, 7),
                        ha="center",
                        fontsize=8,
                        color="dimgrey",
                    )
    shown = periods[:: max(1, -(-len(periods) // 16))]  # at most 16 labels, so that they stay legible
    ax.set_xticks(
        [pos[p] for p in shown], shown, rotation=45 if len(shown) > 8 else 0, ha="right" if len(shown) > 8 else "center"
    )
    ax.set_ylim(0, 1.1)  # room for the n= labels above 100 %
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("win rate (won / closed), band: 95% CI")
    ax.set_xlabel("fiscal period of close date")
    ax.grid(axis="y", alpha=0.3)
    if hue:
        ax.legend(title=hue.replace("_", " "), loc="best", fontsize=8)
    ax.set_title(title or "Win rate by fiscal period")
    return ax
