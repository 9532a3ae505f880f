"""The de-duplication charts draw what they are given and say so when there is nothing."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from funnel_analysis.dedupe.plots import plot_duplicates, plot_match_probabilities, plot_precision_recall  # noqa: E402


def test_duplicates_bars_and_labels():
    s = pd.DataFrame(
        {
            "object": ["leads", "accounts"],
            "records": [200, 50],
            "records_in_clusters": [20, 4],
            "records_merged": [11, 2],
        }
    )
    ax = plot_duplicates(s)
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths == [2, 4, 11, 20]
    assert any("11 (5.5%)" in t.get_text() for t in ax.texts)
    plt.close("all")


def test_probabilities_and_precision_recall():
    pairs = pd.DataFrame({"match_probability": [0.1, 0.95, 0.99], "object": ["leads"] * 3})
    ax = plot_match_probabilities(pairs, threshold=0.5, review_threshold=0.2)
    assert [ln.get_xdata()[0] for ln in ax.lines] == [0.5, 0.2]
    scores = pd.DataFrame(
        {
            "object": ["leads"] * 2,
            "threshold": [0.5, 0.9],
            "precision": [0.9, 1.0],
            "recall": [1.0, 0.8],
            "f1": [0.947, 0.889],
        }
    )
    ax = plot_precision_recall(scores, chosen={"leads": 0.5})
    assert len(ax.lines) == 4 and ax.lines[-1].get_ydata()[0] == 0.947
    plt.close("all")


def test_empty_inputs_say_so():
    for ax in (
        plot_duplicates(pd.DataFrame()),
        plot_match_probabilities(pd.DataFrame()),
        plot_precision_recall(pd.DataFrame()),
    ):
        assert ax.texts and not ax.axison
    plt.close("all")
