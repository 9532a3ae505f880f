"""Pairwise precision, recall and F1 against true clusters, worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from funnel_analysis.dedupe import pairs_from_clusters, pairwise_scores
from funnel_analysis.dedupe.evaluate import read_truth_clusters, scores_by_threshold

TRUTH = pd.DataFrame({"record_id": ["a", "b", "c", "d", "e"], "cluster_id": ["1", "1", "1", "2", "2"]})


def test_pairs_of_a_cluster_of_three():
    assert pairs_from_clusters(TRUTH).values.tolist() == [["a", "b"], ["a", "c"], ["b", "c"], ["d", "e"]]


def test_scores_by_hand():
    # predicted {a,b} {c,d}: pairs a-b (true), c-d (false); true pairs 4
    pred = pd.DataFrame({"record_id": ["a", "b", "c", "d"], "cluster_id": ["x", "x", "y", "y"]})
    s = pairwise_scores(pred, TRUTH)
    assert (s.tp, s.predicted_pairs, s.true_pairs) == (1, 2, 4)
    assert s.precision == 0.5 and s.recall == 0.25 and s.f1 == pytest.approx(2 * 0.5 * 0.25 / 0.75)


def test_no_prediction_has_no_precision():
    s = pairwise_scores(pd.DataFrame({"record_id": [], "cluster_id": []}), TRUTH)
    assert math.isnan(s.precision) and s.recall == 0


def test_scores_over_thresholds_by_hand():
    pairs = pd.DataFrame({"id_l": ["a", "b", "c"], "id_r": ["b", "c", "d"], "match_probability": [0.9, 0.6, 0.3]})
    got = scores_by_threshold(pairs, TRUTH, thresholds=[0.8, 0.5, 0.2]).set_index("threshold")
    # 0.8: a-b -> 1/1, recall 1/4; 0.5: a-b-c -> 3 pairs all true; 0.2: a-b-c-d -> 6 pairs, 3 true
    assert got["tp"].tolist() == [1, 3, 3] and got["predicted_pairs"].tolist() == [1, 3, 6]
    assert got.loc[0.2, "precision"] == 0.5 and got.loc[0.5, "recall"] == 0.75


def test_failures(tmp_path):
    with pytest.raises(KeyError, match="cluster_id"):
        pairs_from_clusters(pd.DataFrame({"record_id": ["a"]}))
    with pytest.raises(KeyError, match="match_probability"):
        scores_by_threshold(pd.DataFrame({"id_l": ["a"], "id_r": ["b"]}), TRUTH)
    with pytest.raises(FileNotFoundError, match="duplicate_clusters"):
        read_truth_clusters(tmp_path, "leads")


def test_merge_label_scores_by_hand():
    from funnel_analysis.dedupe import merge_label_scores

    # the org merged b and c into a, and e into d; the matcher put a, b, x together, and d, e
    merges = pd.DataFrame({"merged_id": ["b", "c", "e"], "master_id": ["a", "a", "d"]})
    pred = pd.DataFrame({"record_id": ["a", "b", "x", "d", "e", "y", "z"], "cluster_id": [1, 1, 1, 2, 2, 3, 3]})
    s = merge_label_scores(pred, merges)
    # org pairs: ab ac bc de = 4; linked: ab de = 2
    assert (s.merged_records, s.org_pairs, s.found, s.recall) == (3, 4, 2, 0.5)
    # predicted pairs touching b, c or e: ab bx de (not ax, not yz: live records only) = 3, of them org pairs 2
    assert (s.predicted_pairs, s.agreeing) == (3, 2) and s.precision == pytest.approx(2 / 3)
    # records not matched cannot be found: without c, org pairs ab de
    s = merge_label_scores(pred, merges, records=["a", "b", "x", "d", "e", "y", "z"])
    assert (s.org_pairs, s.found, s.recall) == (2, 2, 1.0)


def test_merge_label_scores_fail_without_its_columns():
    from funnel_analysis.dedupe import merge_label_scores

    with pytest.raises(KeyError, match="master_id"):
        merge_label_scores(pd.DataFrame({"record_id": [], "cluster_id": []}), pd.DataFrame({"merged_id": []}))
