"""Charts of the lead-scoring notebook. Each takes a tidy table, ``ax=None``, and returns the axes.

Examples
--------
>>> import numpy as np
>>> from funnel_analysis.scoring import calibration_table
>>> rng = np.random.default_rng(0); p = rng.random(500); y = (rng.random(500) < p).astype(int)
>>> ax = plot_calibration(calibration_table(y, p))
>>> ax.get_xlabel()
'predicted probability'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .._util.plotting import axes as _axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_calibration", "plot_gain", "plot_score_bands", "plot_drift", "plot_comparison"]


def _need(df: pd.DataFrame, cols, what: str):
    missing = [c for c in cols if c not in df]
    if missing:
        raise ValueError(f"{what}: column {missing[0]!r} is missing (expected columns {list(cols)})")


def plot_calibration(table: pd.DataFrame, *, ax=None, label: str = "model") -> Axes:
    """Observed conversion rate against mean predicted probability per bin, with the diagonal.

    Parameters
    ----------
    table : DataFrame
        A calibration table (:func:`~funnel_analysis.scoring.evaluate.calibration_table`).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    label : str
        The legend's name of the curve.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    ValueError
        When a column of the calibration table is missing.
    """
    _need(table, ("predicted", "observed_rate", "leads"), "plot_calibration")
    ax = _axes(ax)
    top = float(max(table["predicted"].max(), table["observed_rate"].max(), 0.05)) * 1.05
    ax.plot([0, top], [0, top], ls="--", color="grey", lw=1, label="perfect calibration")
    ax.plot(table["predicted"], table["observed_rate"], marker="o", label=label)
    ax.set(
        xlabel="predicted probability",
        ylabel="observed conversion rate",
        xlim=(0, top),
        ylim=(0, top),
        title="Calibration: do predicted probabilities come true?",
    )
    ax.legend(loc="upper left")
    return ax


def plot_gain(table: pd.DataFrame, *, ax=None) -> Axes:
    """Cumulative gain by decile (bars: lift of each decile on the right axis).

    Parameters
    ----------
    table : DataFrame
        A gain table (:func:`~funnel_analysis.scoring.evaluate.gain_table`).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The axes of the gain curve (the lift bars are on its twin).

    Raises
    ------
    ValueError
        When a column of the gain table is missing.
    """
    _need(table, ("decile", "cumulative_share_of_leads", "cumulative_gain", "lift"), "plot_gain")
    ax = _axes(ax)
    x = np.r_[0, table["cumulative_share_of_leads"].to_numpy()]
    ax.plot(x, np.r_[0, table["cumulative_gain"].to_numpy()], marker="o", label="model")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="random order")
    ax.set(
        xlabel="share of leads called, best scores first",
        ylabel="share of conversions found",
        title="Cumulative gain (bars: lift per decile)",
    )
    ax.legend(loc="lower right")
    ax2 = ax.twinx()
    ax2.bar(table["cumulative_share_of_leads"] - 0.05, table["lift"], width=0.08, alpha=0.25, color="C1")
    ax2.set_ylabel("lift")
    ax2.grid(False)
    return ax


def plot_score_bands(table: pd.DataFrame, *, ax=None) -> Axes:
    """Conversion rate per score band with its interval; the band's leads over each bar.

    Parameters
    ----------
    table : DataFrame
        A band table (:func:`~funnel_analysis.scoring.evaluate.band_table`).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    ValueError
        When a column of the band table is missing.
    """
    _need(
        table,
        ("band", "conversion_rate", "conversion_rate_ci_low", "conversion_rate_ci_high", "leads"),
        "plot_score_bands",
    )
    ax = _axes(ax)
    rate = table["conversion_rate"].fillna(0).to_numpy()
    err = np.vstack(
        [rate - table["conversion_rate_ci_low"].fillna(0), table["conversion_rate_ci_high"].fillna(0) - rate]
    )
    ax.bar(table["band"], rate, yerr=err, capsize=4, color="C0")
    for i, n in enumerate(table["leads"]):
        ax.annotate(
            f"n={n:,}", (i, rate[i]), ha="center", va="bottom", fontsize=8, xytext=(0, 12), textcoords="offset points"
        )
    ax.set(xlabel="score band", ylabel="conversion rate", title="Conversion per score band (held-out leads)")
    return ax


def plot_drift(table: pd.DataFrame, *, threshold: float = 0.2, ax=None) -> Axes:
    """PSI per column, flagged columns in red, the threshold as a line.

    Parameters
    ----------
    table : DataFrame
        A drift table (:func:`~funnel_analysis.scoring.drift.drift_table`).
    threshold : float
        PSI above which a column is drawn red.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    ValueError
        When a column of the drift table is missing.
    """
    _need(table, ("column", "psi"), "plot_drift")
    ax = _axes(ax)
    t = table.sort_values("psi")
    ax.barh(t["column"], t["psi"], color=np.where(t["psi"] > threshold, "C3", "C0"))
    ax.axvline(threshold, ls="--", color="grey", lw=1)
    ax.set(xlabel="population stability index", title="Drift: training leads vs leads scored now")
    return ax


def plot_comparison(table: pd.DataFrame, *, ax=None) -> Axes:
    """ROC-AUC of each model with its interval (the points score is the baseline).

    Parameters
    ----------
    table : DataFrame
        A comparison (:func:`~funnel_analysis.scoring.evaluate.compare_scores`).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    ValueError
        When a column of the comparison is missing.
    """
    _need(table, ("model", "roc_auc", "roc_auc_ci_low", "roc_auc_ci_high"), "plot_comparison")
    ax = _axes(ax)
    auc = table["roc_auc"].to_numpy()
    err = np.vstack(
        [
            auc - table["roc_auc_ci_low"].fillna(pd.Series(auc)).to_numpy(),
            table["roc_auc_ci_high"].fillna(pd.Series(auc)).to_numpy() - auc,
        ]
    )
    ax.errorbar(auc, np.arange(len(table)), xerr=err, fmt="o", capsize=4)
    ax.set_yticks(np.arange(len(table)), table["model"])
    ax.axvline(0.5, ls="--", color="grey", lw=1)
    ax.set(xlabel="ROC-AUC on the held-out leads (95 % interval)", title="Model against baselines")
    return ax
