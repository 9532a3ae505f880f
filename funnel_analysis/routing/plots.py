"""Charts of the routing analyses, one per analysis: each takes ``ax=None`` and returns the axes.

Examples
--------
>>> import pandas as pd
>>> s = pd.DataFrame({"entry": ["A", "all"], "leads": [10, 10], "misrouted": [1, 1], "misroute_share": [0.1, 0.1],
...                   "misroute_share_ci_low": [0.02, 0.02], "misroute_share_ci_high": [0.4, 0.4]})
>>> plot_misroutes(s).get_title()
'Misrouted share per entry'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._util.missing import missing_axes, missing_reason
from .._util.plotting import FALLBACK_FONTS, label_fonts
from .._util.plotting import axes as _axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "plot_misroutes",
    "plot_speed_to_lead",
    "plot_sla_breaches",
    "plot_speed_effect",
    "plot_fairness",
    "plot_open_leads",
    "plot_what_if",
    "plot_stage_gates",
    "FALLBACK_FONTS",
]


def _need(df: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: the table has no {', '.join(missing)} (it has {', '.join(map(str, df.columns))})")


def _share_bars(ax, labels, value, low, high, *, xlabel: str):
    y = np.arange(len(labels))
    ax.barh(y, value, color="C0")
    err = np.vstack([np.clip(value - low, 0, None), np.clip(high - value, 0, None)])
    ax.errorbar(value, y, xerr=err, fmt="none", ecolor="black", capsize=3, lw=1)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    return ax


def plot_misroutes(summary: pd.DataFrame, *, ax=None, title: str | None = None) -> Axes:
    """The misrouted share per entry (or team) with its 95 % interval.

    Parameters
    ----------
    summary : DataFrame
        :func:`funnel_analysis.routing.misroute_summary` (its first column is the breakdown).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.
    title : str, optional
        Default "Misrouted share per <breakdown>".

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    key = summary.columns[0] if len(summary.columns) else "entry"
    title = title or f"Misrouted share per {key}"
    if missing_reason(summary):
        return missing_axes(_axes(ax), missing_reason(summary), title=title)
    _need(summary, ["misroute_share", "misroute_share_ci_low", "misroute_share_ci_high"], "plot_misroutes")
    ax = _share_bars(
        _axes(ax),
        summary[key].astype(str).tolist(),
        summary["misroute_share"].to_numpy("float64"),
        summary["misroute_share_ci_low"].to_numpy("float64"),
        summary["misroute_share_ci_high"].to_numpy("float64"),
        xlabel="misrouted share (95 % interval)",
    )
    ax.set_title(title)
    return ax


def plot_speed_to_lead(speed: pd.DataFrame, *, by: str, ax=None, title: str | None = None) -> Axes:
    """Median and p90 business minutes to the first touch per segment (the ``"all"`` rows).

    Parameters
    ----------
    speed : DataFrame
        :func:`funnel_analysis.sources.report.speed_to_lead` with rules, broken down ``by``.
    by : str
        The breakdown column.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.
    title : str, optional
        Default "Business minutes to the first touch".

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    title = title or "Business minutes to the first touch"
    if missing_reason(speed):
        return missing_axes(_axes(ax), missing_reason(speed), title=title)
    _need(speed, [by, "bucket", "median_business_minutes", "p90_business_minutes"], "plot_speed_to_lead")
    rows = speed[speed["bucket"].astype(str) == "all"]
    ax = _axes(ax)
    y = np.arange(len(rows))
    ax.barh(y - 0.2, rows["median_business_minutes"], height=0.4, label="median", color="C0")
    ax.barh(y + 0.2, rows["p90_business_minutes"], height=0.4, label="p90", color="C1")
    ax.set_yticks(y, rows[by].astype(str).fillna("none").tolist())
    ax.invert_yaxis()
    ax.set_xlabel("business minutes")
    ax.legend(loc="lower right")
    ax.set_title(title)
    return ax


def _owner_labels(ids, *, names=None) -> list[str]:
    """Chart labels for owner IDs: each owner's name where the installed fonts can draw all of it, else the ID.

    Parameters
    ----------
    ids : sequence of str
        Owner (or other) IDs, in the chart's order.
    names : CrmData, mapping or DataFrame, optional
        An org (its owners' names, :func:`funnel_analysis.crm.owners`), ID -> name, or a frame with
        ``owner_id`` and ``name``. Without it the IDs are the labels.

    Returns
    -------
    list of str
        One label per ID; an ID without a name, or whose name has a character no font has (a CJK name on a
        machine without a CJK font, :data:`FALLBACK_FONTS`), keeps its ID.

    Examples
    --------
    >>> _owner_labels(["005A", "005B", "005C"], names={"005A": "Ann Lee", "005B": None})
    ['Ann Lee', '005B', '005C']
    """
    ids = [str(i) for i in ids]
    if names is None:
        return ids
    if hasattr(names, "tables") and hasattr(names, "has"):  # an org: its users' and queues' names
        from ..crm import owners

        names = owners(names)
    if isinstance(names, pd.DataFrame):
        _need(names, ["owner_id", "name"], "owner names")
        names = dict(zip(names["owner_id"].astype(str), names["name"], strict=True))
    elif not hasattr(names, "get"):
        raise TypeError(f"owner names: names must be an org, a mapping or a DataFrame, got {type(names).__name__}")
    _, covered = label_fonts()
    out = []
    for i in ids:
        name = names.get(i)
        ok = isinstance(name, str) and name.strip() and all(ord(ch) in covered or ch.isspace() for ch in name)
        out.append(name.strip() if ok else i)
    return out


def plot_sla_breaches(speed: pd.DataFrame, *, by: str, names=None, ax=None, title: str | None = None) -> Axes:
    """The SLA breach share per segment with its 95 % interval.

    Parameters
    ----------
    speed : DataFrame
        :func:`funnel_analysis.sources.report.speed_to_lead` with rules, broken down ``by``.
    by : str
        The breakdown column (``"owner_id"``, ``"team"``).
    names : CrmData, mapping or DataFrame, optional
        Owner names (the org itself gives its owners'): the bars are labelled by name, drawn with the first installed font
        of :data:`FALLBACK_FONTS` for the characters the default font lacks; an ID stays where no font can.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.
    title : str, optional
        Default "SLA breaches per <by>".

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    title = title or f"SLA breaches per {by}"
    if missing_reason(speed):
        return missing_axes(_axes(ax), missing_reason(speed), title=title)
    _need(speed, [by, "bucket", "breach_share", "breach_share_ci_low", "breach_share_ci_high"], "plot_sla_breaches")
    rows = speed[speed["bucket"].astype(str) == "all"]
    labels = _owner_labels(rows[by].astype(str).tolist(), names=names)
    ax = _share_bars(
        _axes(ax),
        labels,
        rows["breach_share"].to_numpy("float64"),
        rows["breach_share_ci_low"].to_numpy("float64"),
        rows["breach_share_ci_high"].to_numpy("float64"),
        xlabel="share of leads past the SLA (95 % interval)",
    )
    families, _ = label_fonts()
    for tick in ax.get_yticklabels():  # the default font, then the fallbacks glyph by glyph
        tick.set_fontfamily(families)
    ax.set_title(title)
    return ax


def plot_speed_effect(effect: pd.DataFrame, *, ax=None, title: str | None = None) -> Axes:
    """Conversion of fast against slow first touches per score band, then pooled: an association.

    Parameters
    ----------
    effect : DataFrame
        :func:`funnel_analysis.sources.report.speed_to_lead_effect`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.
    title : str, optional
        Default "Conversion, fast against slow replies (association, not cause)".

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    title = title or "Conversion, fast against slow replies (association, not cause)"
    if missing_reason(effect):
        return missing_axes(_axes(ax), missing_reason(effect), title=title)
    _need(effect, ["band", "fast_rate", "slow_rate", "rate_ratio"], "plot_speed_effect")
    bands = effect[~effect["band"].isin(["crude", "pooled (Mantel-Haenszel)"])]
    ax = _axes(ax)
    x = np.arange(len(bands))
    ax.bar(x - 0.2, bands["fast_rate"], width=0.4, label="fast", color="C2")
    ax.bar(x + 0.2, bands["slow_rate"], width=0.4, label="slow", color="C3")
    ax.set_xticks(x, bands["band"].astype(str).tolist())
    ax.set_xlabel("score band")
    ax.set_ylabel("conversion rate")
    pooled = effect[effect["band"] == "pooled (Mantel-Haenszel)"]
    if len(pooled):
        p = pooled.iloc[0]
        ax.text(
            0.01,
            0.97,
            f"pooled rate ratio {p['rate_ratio']:.2f} ({p['rate_ratio_ci_low']:.2f}-{p['rate_ratio_ci_high']:.2f})",
            transform=ax.transAxes,
            va="top",
        )
    ax.legend(loc="upper right")
    ax.set_title(title)
    return ax


def plot_fairness(fair: pd.DataFrame, *, ax=None, title: str | None = None) -> Axes:
    """Leads received against the equal share per rep (1 is fair), and the score-weighted ratio.

    Parameters
    ----------
    fair : DataFrame
        :func:`funnel_analysis.routing.fairness`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.
    title : str, optional
        Default "Leads against the round robin's equal share".

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    title = title or "Leads against the round robin's equal share"
    if missing_reason(fair):
        return missing_axes(_axes(ax), missing_reason(fair), title=title)
    _need(fair, ["team", "owner_id", "ratio", "score_ratio"], "plot_fairness")
    ax = _axes(ax)
    y = np.arange(len(fair))
    ax.barh(y - 0.2, fair["ratio"], height=0.4, label="leads", color="C0")
    ax.barh(y + 0.2, fair["score_ratio"], height=0.4, label="score-weighted", color="C4")
    ax.axvline(1.0, color="black", lw=1, ls="--")
    ax.set_yticks(y, (fair["team"].astype(str) + " / " + fair["owner_id"].astype(str)).tolist())
    ax.invert_yaxis()
    ax.set_xlabel("received / equal share")
    ax.legend(loc="lower right")
    ax.set_title(title)
    return ax


def plot_open_leads(open_leads: pd.DataFrame, *, ax=None, title: str | None = None, top: int = 10) -> Axes:
    """Open leads per owner over time (the ``top`` owners by their latest count).

    Parameters
    ----------
    open_leads : DataFrame
        :func:`funnel_analysis.routing.open_leads_over_time`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.
    title : str, optional
        Default "Open leads per owner".
    top : int, default 10
        How many owners to draw.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    title = title or "Open leads per owner"
    if missing_reason(open_leads):
        return missing_axes(_axes(ax), missing_reason(open_leads), title=title)
    _need(open_leads, ["period_end", "owner_id", "open_leads"], "plot_open_leads")
    ax = _axes(ax)
    if len(open_leads):
        last = open_leads[open_leads["period_end"] == open_leads["period_end"].max()]
        keep = last.nlargest(top, "open_leads")["owner_id"]
        wide = open_leads[open_leads["owner_id"].isin(keep)].pivot_table(
            index="period_end", columns="owner_id", values="open_leads", fill_value=0
        )
        for owner in wide.columns:
            ax.plot(wide.index, wide[owner], label=str(owner))
        ax.legend(loc="upper left", fontsize="small")
    ax.set_ylabel("open leads")
    ax.set_title(title)
    return ax


def plot_what_if(what_if: pd.DataFrame, *, ax=None, title: str | None = None) -> Axes:
    """Leads per owner now and under the proposal, with the breaches each implies.

    Parameters
    ----------
    what_if : DataFrame
        :func:`funnel_analysis.routing.what_if`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.
    title : str, optional
        Default "Load per owner: actual against proposed".

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    title = title or "Load per owner: actual against proposed"
    if missing_reason(what_if):
        return missing_axes(_axes(ax), missing_reason(what_if), title=title)
    _need(what_if, ["level", "name", "actual_leads", "proposed_leads"], "plot_what_if")
    rows = what_if[what_if["level"] == "owner"]
    ax = _axes(ax)
    y = np.arange(len(rows))
    ax.barh(y - 0.2, rows["actual_leads"], height=0.4, label="actual", color="C0")
    ax.barh(y + 0.2, rows["proposed_leads"], height=0.4, label="proposed", color="C1")
    ax.set_yticks(y, rows["name"].astype(str).tolist())
    ax.invert_yaxis()
    ax.set_xlabel("leads")
    ax.legend(loc="lower right")
    ax.set_title(title)
    return ax


def plot_stage_gates(win_rates: pd.DataFrame, *, ax=None, title: str | None = None) -> Axes:
    """Win rate of deals that entered each gated stage compliant, against non-compliant, with intervals.

    Parameters
    ----------
    win_rates : DataFrame
        :func:`funnel_analysis.routing.stage_gate_win_rates` (by stage).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.
    title : str, optional
        Default "Win rate by stage-gate compliance".

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    title = title or "Win rate by stage-gate compliance"
    if missing_reason(win_rates):
        return missing_axes(_axes(ax), missing_reason(win_rates), title=title)
    _need(win_rates, ["stage", "compliant", "win_rate", "win_rate_ci_low", "win_rate_ci_high"], "plot_stage_gates")
    labels = (win_rates["stage"].astype(str) + ": " + win_rates["compliant"].astype(str)).tolist()
    ax = _share_bars(
        _axes(ax),
        labels,
        win_rates["win_rate"].fillna(0).to_numpy("float64"),
        win_rates["win_rate_ci_low"].fillna(0).to_numpy("float64"),
        win_rates["win_rate_ci_high"].fillna(0).to_numpy("float64"),
        xlabel="win rate of the closed deals (95 % interval)",
    )
    ax.set_title(title)
    return ax
