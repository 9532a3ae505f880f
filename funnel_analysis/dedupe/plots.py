"""Charts of de-duplication: duplicates per object, match probabilities, precision/recall over thresholds.

Each function draws on ``ax`` (a new figure when ``None``), returns the axes and never calls ``show()``.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> s = pd.DataFrame({"object": ["leads"], "records": [100], "records_in_clusters": [10], "records_merged": [6]})
>>> plot_duplicates(s).get_title()
'Duplicates per object'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter

from .._util.plotting import axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_duplicates", "plot_match_probabilities", "plot_precision_recall"]

_SIZE = (9, 4.5)


def plot_duplicates(summary: pd.DataFrame, *, ax=None) -> Axes:
    """Bars per object: records in duplicate clusters and records merged away, labelled with the share.

    Parameters
    ----------
    summary : DataFrame
        ``object``, ``records``, ``records_in_clusters``, ``records_merged``
        (:meth:`.report.Duplicates.summary`).
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        The chart.
    """
    ax = axes(ax, _SIZE)
    if summary.empty:
        ax.text(0.5, 0.5, "Nothing de-duplicated", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    y = np.arange(len(summary))
    ax.barh(y + 0.2, summary["records_in_clusters"], height=0.4, color="#9ecae1", label="in a duplicate cluster")
    ax.barh(y - 0.2, summary["records_merged"], height=0.4, color="#3182bd", label="merged away")
    for i, row in enumerate(summary.itertuples()):
        share = row.records_merged / row.records if row.records else 0
        ax.text(row.records_in_clusters, i + 0.2, f" {row.records_in_clusters:,} of {row.records:,}", va="center")
        ax.text(row.records_merged, i - 0.2, f" {row.records_merged:,} ({share:.1%})", va="center")
    ax.set_yticks(y, summary["object"])
    ax.invert_yaxis()
    ax.set(xlabel="records", title="Duplicates per object")
    ax.legend(loc="lower right")
    ax.margins(x=0.25)
    return ax


def plot_match_probabilities(
    pairs: pd.DataFrame, *, threshold: float | None = None, review_threshold: float | None = None, ax=None
) -> Axes:
    """Histogram of the candidate pairs' match probabilities, per object, with the merge and review lines.

    Parameters
    ----------
    pairs : DataFrame
        ``match_probability`` and optionally ``object`` (:meth:`.report.Duplicates.all_pairs`).
    threshold : float, optional
        The merge threshold, drawn as a dashed line.
    review_threshold : float, optional
        The lower end of the review band, drawn as a dotted line.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        The chart.
    """
    ax = axes(ax, _SIZE)
    if pairs.empty:
        ax.text(0.5, 0.5, "No candidate pair", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    bins = np.linspace(0, 1, 41)
    groups = pairs.groupby("object") if "object" in pairs else [("pairs", pairs)]
    for name, g in groups:
        ax.hist(g["match_probability"], bins=bins, histtype="step", linewidth=1.8, label=f"{name} ({len(g):,})")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", label=f"merge at {threshold:.2f}")
    if review_threshold is not None:
        ax.axvline(review_threshold, color="grey", linestyle=":", label=f"review from {review_threshold:.2f}")
    ax.set_yscale("log")
    ax.set(xlabel="match probability", ylabel="pairs (log scale)", title="How sure the model is about each pair")
    ax.legend(loc="upper center")
    return ax


def plot_precision_recall(
    scores: pd.DataFrame, *, chosen: Mapping[str, float] | pd.Series | None = None, ax=None
) -> Axes:
    """Precision, recall and F1 over merge thresholds, one colour per object (needs ground truth).

    Parameters
    ----------
    scores : DataFrame
        ``object``, ``threshold``, ``precision``, ``recall``, ``f1``
        (:attr:`.report.TruthScores.by_threshold`).
    chosen : Mapping of str to float or Series, optional
        Object -> the threshold used (:attr:`.report.Duplicates.thresholds`), marked with a dot.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        The chart.
    """
    ax = axes(ax, _SIZE)
    if scores.empty:
        ax.text(
            0.5,
            0.5,
            "No ground truth: precision and recall cannot be measured",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return ax
    styles = {"precision": ":", "recall": "--", "f1": "-"}
    for i, (name, g) in enumerate(scores.groupby("object", sort=False)):
        color = f"C{i}"
        for metric, ls in styles.items():
            ax.plot(g["threshold"], g[metric], linestyle=ls, color=color, label=f"{name} {metric}")
        if chosen is not None and name in chosen:
            at = g.iloc[(g["threshold"] - chosen[name]).abs().argsort()[:1]]
            ax.plot(at["threshold"], at["f1"], "o", color=color)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    lo = float(np.nanmin(scores[["precision", "recall", "f1"]].to_numpy()))
    ax.set_ylim(max(0.0, min(0.9, lo) - 0.02), 1.005)
    ax.set(
        xlabel="merge threshold (match probability)",
        ylabel="pairwise score",
        title="Precision, recall and F1 of the merged pairs against the true duplicates",
    )
    ax.legend(ncol=3, fontsize="small", loc="lower left")
    return ax
