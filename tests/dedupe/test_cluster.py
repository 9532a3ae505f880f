"""Clusters, review queue and the threshold chosen without labels."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.dedupe import choose_threshold, cluster_pairs, review_queue
from funnel_analysis.dedupe.cluster import expected_scores

PAIRS = pd.DataFrame(
    {
        "id_l": ["a", "b", "d", "f", "a"],
        "id_r": ["b", "c", "e", "g", "f"],
        "match_probability": [0.99, 0.95, 0.6, 0.3, 0.1],
    }
)


def test_connected_components_by_hand():
    # at 0.9: a-b-c chained; d-e at 0.6 and f-g at 0.3 stay apart
    got = cluster_pairs(PAIRS, threshold=0.9)
    assert got.values.tolist() == [["a", "a"], ["b", "a"], ["c", "a"]]
    got = cluster_pairs(PAIRS, threshold=0.5, ids=["a", "b", "c", "d", "e", "z"])
    assert dict(got.values) == {"a": "a", "b": "a", "c": "a", "d": "d", "e": "d", "z": "z"}


def test_review_band_leaves_out_what_the_merge_joins():
    q = review_queue(PAIRS, merge_threshold=0.9, review_threshold=0.05)
    # d-e (0.6) and f-g (0.3) are uncertain; a-f (0.1) too, a is merged with b and c but not with f
    assert q[["id_l", "id_r"]].values.tolist() == [["d", "e"], ["f", "g"], ["a", "f"]]
    joined = pd.DataFrame({"id_l": ["a", "a"], "id_r": ["b", "c"], "match_probability": [0.99, 0.4]})
    # a-c (0.4): at 0.9 only a-b is joined, so a-c is reviewed; once b-c (0.95) joins them, it is not
    assert review_queue(joined, merge_threshold=0.9, review_threshold=0.2)[["id_l", "id_r"]].values.tolist() == [
        ["a", "c"]
    ]
    assert review_queue(
        pd.concat([joined, pd.DataFrame({"id_l": ["b"], "id_r": ["c"], "match_probability": [0.95]})]),
        merge_threshold=0.9,
        review_threshold=0.2,
    ).empty


def test_expected_scores_by_hand():
    p = pd.DataFrame({"id_l": ["a", "b"], "id_r": ["c", "d"], "match_probability": [0.9, 0.2]})
    row = expected_scores(p, [0.5]).iloc[0]
    # TP 0.9, FP 0.1, FN 0.2 -> precision 0.9, recall 0.9/1.1, F1 1.8/2.1
    assert row["precision"] == pytest.approx(0.9)
    assert row["recall"] == pytest.approx(0.9 / 1.1)
    assert row["f1"] == pytest.approx(1.8 / 2.1)


def test_choose_threshold_is_half_the_best_expected_f1():
    # Adding a pair of probability p raises expected F1 exactly when p > F1 / 2.
    # Two sure pairs alone: TP 1.98, FP 0.02, FN 10 p -> F1 = 3.96 / (3.98 + 10 p).
    sure = [0.99, 0.99]
    weak = pd.DataFrame(
        {
            "id_l": [f"a{i}" for i in range(12)],
            "id_r": [f"b{i}" for i in range(12)],
            "match_probability": sure + [0.2] * 10,
        }
    )
    # p = 0.2: F1 without them 3.96/5.98 = 0.662, half 0.331 > 0.2 -> leave them out
    assert choose_threshold(weak, lowest=0.05) > 0.2
    # p = 0.3: F1 without them 3.96/6.98 = 0.567, half 0.284 < 0.3 -> take them
    assert choose_threshold(weak.assign(match_probability=sure + [0.3] * 10), lowest=0.05) <= 0.3
    # with the default floor no pair below 0.5 is ever merged
    assert choose_threshold(weak) == 0.5


def test_failures():
    with pytest.raises(ValueError, match="probability"):
        cluster_pairs(PAIRS, threshold=1.5)
    with pytest.raises(KeyError, match="match_probability"):
        cluster_pairs(PAIRS.drop(columns="match_probability"), threshold=0.5)
    with pytest.raises(ValueError, match="above merge"):
        review_queue(PAIRS, merge_threshold=0.5, review_threshold=0.8)
    with pytest.raises(KeyError):
        expected_scores(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="lowest"):
        choose_threshold(PAIRS, lowest=0.9, highest=0.5)
