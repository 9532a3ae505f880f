"""Charts for pipeline velocity: time-in-stage survival curves, sales velocity with its factors, slipped deals.

Same conventions as :mod:`funnel_analysis.funnel.plots`: the functions draw on the given axes (a new
figure when ``None``), return them and never call ``show()``; a title, units on the axes,
thousands separators, money with its currency symbol and rates in percent. A table marked as
lacking its inputs (:func:`funnel_analysis._util.missing.mark_missing`) is drawn as its one-line
reason on an empty axes.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> st = pd.DataFrame({"stage_name": ["A", "Won"], "sort_order": [1, 2],
...                    "is_closed": [False, True], "is_won": [False, True]})
>>> iv = pd.DataFrame({"stage_name": ["A"] * 4, "days": [2.0, 4.0, 6.0, 8.0],
...                    "censored": [False, False, True, False]})
>>> plot_stage_survival(iv, stages=st).get_title()
'Time in stage: share of deals still in the stage (Kaplan-Meier)'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, PercentFormatter
from statsmodels.duration.survfunc import SurvfuncRight

from .._util.missing import missing_axes, missing_reason
from .._util.plotting import axes as _axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_stage_survival", "plot_velocity_factors", "plot_slipped_deals"]


def plot_stage_survival(
    intervals: pd.DataFrame, *, stages: pd.DataFrame, ax=None, max_days: float | None = None, title: str | None = None
) -> Axes:
    """Kaplan-Meier curve of the days a visit stays in each open stage, open visits censored.

    Parameters
    ----------
    intervals : DataFrame
        :func:`~funnel_analysis.velocity.stage_intervals` (``stage_name``, ``days``, ``censored``).
    stages : DataFrame
        The stages table: the open stages (``is_closed`` False), in ``sort_order``, get a curve.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.
    max_days : float, optional
        Right end of the x axis; default the 95th percentile of the durations (long tails squash
        the curves).
    title : str, optional
        The chart's title.

    Returns
    -------
    matplotlib Axes
        One step curve per stage (:class:`statsmodels.duration.survfunc.SurvfuncRight`), labelled
        with the number of visits and the KM median; ``+`` marks censored visits (still open);
        the dotted line is 50 %, where a curve crosses it is its median.
    """
    fn = "plot_stage_survival"
    if missing_reason(intervals):
        return missing_axes(_axes(ax, (9, 4.8)), missing_reason(intervals), title=title or "Time in stage")
    missing = [c for c in ("stage_name", "days", "censored") if c not in intervals.columns]
    if missing:
        raise ValueError(f"{fn}: missing column(s) {missing}; pass stage_intervals(...)")
    if not {"stage_name", "sort_order", "is_closed"} <= set(stages.columns):
        raise ValueError(f"{fn}: stages needs stage_name, sort_order and is_closed")
    open_stages = stages.loc[~stages["is_closed"].astype(bool)].sort_values("sort_order", kind="stable")["stage_name"]
    d = intervals[intervals["days"].notna()]
    ax = _axes(ax, (9, 4.8))
    drawn = 0
    for i, stage in enumerate(open_stages):
        g = d[d["stage_name"] == stage]
        if g.empty:
            continue
        days = g["days"].to_numpy("float64")
        event = (~g["censored"].astype(bool)).to_numpy().astype(int)
        sf = SurvfuncRight(days, event)
        x = np.concatenate([[0.0], sf.surv_times])
        y = np.concatenate([[1.0], sf.surv_prob])
        median = sf.quantile(0.5) if event.any() else np.nan
        med = "median not reached" if pd.isna(median) else f"median {median:,.0f} d"
        ax.step(x, y, where="post", color=f"C{i % 10}", label=f"{stage} (n={len(g):,}, {med})")
        cens = days[event == 0]
        if len(cens):  # censored visits: where their curve stands at their time
            at = np.searchsorted(x, cens, side="right") - 1  # x starts at 0 with survival 1
            ax.plot(cens, y[at], "+", color=f"C{i % 10}", ms=6)
        drawn += 1
    if drawn == 0:
        ax.text(0.5, 0.5, "No stage visit to show", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.axhline(0.5, color="grey", ls=":", lw=1)
        ax.legend(loc="upper right", fontsize=8, title="stage (visits, KM median)")
    if max_days is None:
        max_days = float(np.nanpercentile(d["days"], 95)) if len(d) else 1.0
    ax.set_xlim(0, max(max_days, 1.0))
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel("days in the stage (+: still in it, counted as at least this long)")
    ax.set_ylabel("share of visits still in the stage")
    ax.set_title(title or "Time in stage: share of deals still in the stage (Kaplan-Meier)")
    return ax


#: Panels of :func:`plot_velocity_factors`: column, title, unit kind.
_PANELS = (
    ("velocity", "Sales velocity", "money_day"),
    ("n_open", "Open deals at the period's start", "count"),
    ("win_rate", "Win rate (won / closed)", "rate"),
    ("avg_won_amount", "Average won deal", "money"),
    ("avg_cycle_days", "Average cycle of won deals", "days"),
)


def plot_velocity_factors(
    velocity: pd.DataFrame, *, ax=None, currency: str = "$", complete_only: bool = False, title: str | None = None
) -> Axes:
    """Sales velocity per period and its four factors, one small panel each, with 95 % bands.

    Parameters
    ----------
    velocity : DataFrame
        :func:`~funnel_analysis.velocity.sales_velocity.sales_velocity` without ``by`` (``period``, ``complete``,
        ``n_open``, ``win_rate``, ``avg_won_amount``, ``avg_cycle_days``, ``velocity`` and their
        ``_ci_low`` / ``_ci_high``). Periods without a velocity (no won deal) show as gaps.
    ax : sequence of 5 matplotlib Axes, optional
        Velocity, open deals, win rate, average won deal, average cycle; default a new figure.
    currency : str, default "$"
        Symbol put before amounts.
    complete_only : bool, default False
        Leave out the period still running (``complete`` False); otherwise it is drawn hollow.
    title : str, optional
        The figure's title.

    Returns
    -------
    matplotlib Axes
        The velocity panel (the first); the figure holds all five (``ax.figure.axes`` when this
        function made it). Velocity = open deals x win rate x average won deal / average cycle
        (money per day).
    """
    fn = "plot_velocity_factors"
    if missing_reason(velocity):  # one axes with the reason (the first of ax when given)
        first = np.asarray(ax).ravel()[0] if ax is not None else _axes(None)
        return missing_axes(first, missing_reason(velocity), title=title or "Sales velocity")
    need = ["period", "velocity", *(c for c, _, _ in _PANELS)]
    missing = [c for c in dict.fromkeys(need) if c not in velocity.columns]
    if missing:
        raise ValueError(f"{fn}: missing column(s) {missing}; pass sales_velocity(...)")
    if velocity["period"].duplicated().any():
        raise ValueError(f"{fn}: several rows per period - draw one segment at a time")
    d = velocity.sort_values("period")
    if complete_only and "complete" in d.columns:
        d = d[d["complete"].astype(bool)]
    if ax is None:
        _, ax = plt.subplots(len(_PANELS), 1, sharex=True, figsize=(9, 11), layout="constrained")
    axes = np.asarray(ax).ravel()
    if len(axes) != len(_PANELS):
        raise ValueError(f"{fn}: expected {len(_PANELS)} axes, got {len(axes)}")
    x = np.arange(len(d))
    running = ~d["complete"].astype(bool).to_numpy() if "complete" in d.columns else np.zeros(len(d), bool)
    fmt = {
        "money_day": FuncFormatter(lambda v, _: f"{currency}{v:,.0f}"),
        "money": FuncFormatter(lambda v, _: f"{currency}{v:,.0f}"),
        "count": FuncFormatter(lambda v, _: f"{v:,.0f}"),
        "rate": PercentFormatter(1.0),
        "days": FuncFormatter(lambda v, _: f"{v:,.0f}"),
    }
    units = {"money_day": f"{currency} per day", "money": currency, "count": "deals", "rate": "%", "days": "days"}
    for i, (panel, (col, name, kind)) in enumerate(zip(axes, _PANELS)):
        y = d[col].to_numpy("float64")
        color = "C0" if i == 0 else "C1"
        low, high = f"{col}_ci_low", f"{col}_ci_high"
        if low in d.columns and high in d.columns:
            panel.fill_between(
                x,
                d[low].to_numpy("float64"),
                d[high].to_numpy("float64"),
                color=color,
                alpha=0.15,
                lw=0,
                label="95% interval",
            )
        panel.plot(x, y, color=color, marker="o", ms=4)
        if running.any():
            panel.plot(x[running], y[running], "o", mfc="white", mec=color, ms=7, label="period still running")
        panel.yaxis.set_major_formatter(fmt[kind])
        panel.set_ylabel(units[kind])
        panel.set_title(name + (f" ({units[kind]})" if kind == "money_day" else ""), fontsize=10, loc="left")
        panel.grid(axis="y", alpha=0.3)
        if kind == "rate":
            panel.set_ylim(0, 1)
        elif kind != "money_day" or np.nanmin(np.append(y, 0)) >= 0:
            panel.set_ylim(bottom=0)
    axes[0].legend(loc="upper left", fontsize=8)
    labels = d["period"].astype(str).tolist()
    step = -(-len(labels) // 16)  # at most 16 labels
    axes[-1].set_xticks(
        x[::step], labels[::step], rotation=45 if len(labels) > 8 else 0, ha="right" if len(labels) > 8 else "center"
    )
    axes[-1].set_xlabel("fiscal period of close date")
    axes[0].figure.suptitle(title or "Sales velocity = open deals x win rate x average won deal / average cycle")
    return axes[0]


def plot_slipped_deals(slipped: pd.DataFrame, *, ax=None, title: str | None = None) -> Axes:
    """Win rate of the deals that slipped before, never slipped, or whose history is unknown, with 95 % intervals.

    Parameters
    ----------
    slipped : DataFrame
        :func:`~funnel_analysis.velocity.report.slipped_deals` (``slip_history``, ``n_closed``,
        ``win_rate``, ``win_rate_ci_low``, ``win_rate_ci_high``). A table marked missing (no field
        history) is drawn as its one-line reason.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.
    title : str, optional
        The chart's title.

    Returns
    -------
    matplotlib Axes
        One horizontal bar per history, its interval as an error bar, the closed deals it rests on
        written beside it.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> t = pd.DataFrame({"slip_history": ["slipped before", "never slipped"], "n_closed": [40, 120],
    ...                   "win_rate": [0.2, 0.35], "win_rate_ci_low": [0.1, 0.27], "win_rate_ci_high": [0.35, 0.44]})
    >>> plot_slipped_deals(t).get_xlabel()
    'win rate of the closed deals'
    """
    title = title or "Win rate of deals that slipped before"
    if missing_reason(slipped):
        return missing_axes(_axes(ax), missing_reason(slipped), title=title)
    need = ["slip_history", "n_closed", "win_rate", "win_rate_ci_low", "win_rate_ci_high"]
    missing = [c for c in need if c not in slipped.columns]
    if missing:
        raise ValueError(f"plot_slipped_deals: missing column(s) {missing}; pass report.slipped_deals(...)")
    ax = _axes(ax, size=(8, 1.2 + 0.6 * len(slipped)))
    d = slipped.reset_index(drop=True)
    y = np.arange(len(d))[::-1]
    rate = d["win_rate"].to_numpy("float64")
    err = np.vstack([rate - d["win_rate_ci_low"].to_numpy("float64"), d["win_rate_ci_high"].to_numpy("float64") - rate])
    ax.barh(y, np.nan_to_num(rate), color=["C3" if s == "slipped before" else "C0" for s in d["slip_history"]])
    ax.errorbar(np.nan_to_num(rate), y, xerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=3, lw=1)
    for yi, (r, n) in zip(y, zip(rate, d["n_closed"])):
        ax.text(min(np.nan_to_num(r) + 0.02, 0.98), yi, f"{int(n):,} closed", va="center", fontsize=9)
    ax.set_yticks(y, d["slip_history"])
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("win rate of the closed deals")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return ax
