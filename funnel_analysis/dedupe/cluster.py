"""Clusters and the review queue: connected components above a threshold, an uncertain band for people.

The merge threshold can be chosen without labels (:func:`choose_threshold`): if the model's
probabilities are calibrated, a pair of probability *p* is a true match with chance *p*, so the
expected true positives, false positives and false negatives of any threshold follow from the
scored pairs alone; the threshold with the highest expected F1 wins. Adding a pair of probability
*p* raises the expected F1 exactly when *p > F1/2*, so the optimum lies at or below 0.5; with
the default floor of 0.5 (never merge a pair more likely wrong than right) the chosen threshold is
0.5 unless the floor is lowered.

Examples
--------
>>> import pandas as pd
>>> pairs = pd.DataFrame({"id_l": ["a", "b", "d"], "id_r": ["b", "c", "e"], "match_probability": [0.99, 0.9, 0.5]})
>>> cluster_pairs(pairs, threshold=0.8).values.tolist()
[['a', 'a'], ['b', 'a'], ['c', 'a']]
>>> review_queue(pairs, merge_threshold=0.8, review_threshold=0.3)[["id_l", "id_r"]].values.tolist()
[['d', 'e']]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["cluster_pairs", "review_queue", "choose_threshold", "expected_scores"]


def _check(pairs: pd.DataFrame, threshold: float, name: str) -> None:
    if not {"id_l", "id_r", "match_probability"} <= set(pairs.columns):
        raise KeyError(f"{name}: pairs need id_l, id_r and match_probability")
    if not 0 <= threshold <= 1:
        raise ValueError(f"{name}: threshold {threshold} is not a probability")


def cluster_pairs(pairs: pd.DataFrame, *, threshold: float, ids=None) -> pd.DataFrame:
    """Connected components of the pairs at or above ``threshold``.

    Parameters
    ----------
    pairs : DataFrame
        ``id_l``, ``id_r``, ``match_probability``.
    threshold : float
        Pairs with ``match_probability >= threshold`` join their records.
    ids : sequence of str, optional
        Every record ID: those in no pair come back as singleton clusters. Without it only the
        records of clusters of two or more are returned.

    Returns
    -------
    DataFrame
        ``unique_id``, ``cluster_id`` (the smallest ID of the cluster), sorted by cluster then ID.

    Raises
    ------
    KeyError, ValueError
        Missing columns; a threshold outside [0, 1].
    """
    _check(pairs, threshold, "cluster_pairs")
    kept = pairs[pairs["match_probability"] >= threshold]
    nodes = pd.unique(pd.concat([kept["id_l"], kept["id_r"]]).astype("str"))
    if ids is not None:
        nodes = pd.unique(np.concatenate([nodes, np.asarray(ids, dtype=object).astype(str)]))
    index = pd.Index(nodes)
    rows, cols = index.get_indexer(kept["id_l"].astype("str")), index.get_indexer(kept["id_r"].astype("str"))
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(index), len(index)))
    _, labels = connected_components(graph, directed=False)
    out = pd.DataFrame({"unique_id": index.astype("str"), "label": labels})
    out["cluster_id"] = out.groupby("label")["unique_id"].transform("min")
    if ids is None:
        out = out[out.groupby("label")["unique_id"].transform("size") > 1]
    return out[["unique_id", "cluster_id"]].sort_values(["cluster_id", "unique_id"], ignore_index=True)


def review_queue(pairs: pd.DataFrame, *, merge_threshold: float, review_threshold: float) -> pd.DataFrame:
    """Pairs in the uncertain band ``[review_threshold, merge_threshold)`` whose records the merge
    does not already put in one cluster, most likely first.

    Parameters
    ----------
    pairs : DataFrame
        ``id_l``, ``id_r``, ``match_probability``.
    merge_threshold : float
        Pairs at or above it are merged (not reviewed).
    review_threshold : float
        Pairs below it are left alone.

    Returns
    -------
    DataFrame
        The pairs of the band, the columns of ``pairs``, most likely first.

    Raises
    ------
    ValueError
        When ``review_threshold > merge_threshold``.
    """
    _check(pairs, merge_threshold, "review_queue")
    _check(pairs, review_threshold, "review_queue")
    if review_threshold > merge_threshold:
        raise ValueError(f"review_queue: review threshold {review_threshold} is above merge {merge_threshold}")
    band = pairs[(pairs["match_probability"] >= review_threshold) & (pairs["match_probability"] < merge_threshold)]
    cl = cluster_pairs(pairs, threshold=merge_threshold).set_index("unique_id")["cluster_id"]
    same = band["id_l"].map(cl).eq(band["id_r"].map(cl)).fillna(False) & band["id_l"].map(cl).notna()
    return band[~same.to_numpy(dtype=bool)].sort_values("match_probability", ascending=False, ignore_index=True)


def expected_scores(pairs: pd.DataFrame, thresholds=None) -> pd.DataFrame:
    """Expected precision, recall and F1 per threshold, from the model's own probabilities (no labels).

    Expected TP at *t* is the sum of *p* over pairs with *p >= t*, FP the sum of *1 - p*, and
    FN the sum of *p* below *t*. Pairs outside the scored set (not blocked, or below the predict
    threshold) are not counted.

    Parameters
    ----------
    pairs : DataFrame
        Scored pairs (``id_l``, ``id_r``, ``match_probability``).
    thresholds : sequence of float, optional
        Default 0.05 to 0.995 in steps of 0.005.

    Returns
    -------
    DataFrame
        ``threshold``, ``pairs`` (at or above it), ``precision``, ``recall``, ``f1``.

    >>> p = pd.DataFrame({"id_l": list("ab"), "id_r": list("cd"), "match_probability": [0.9, 0.2]})
    >>> expected_scores(p, [0.5])[["precision", "recall"]].round(3).values.tolist()
    [[0.9, 0.818]]
    """
    _check(pairs, 0.0, "expected_scores")
    p = np.sort(pairs["match_probability"].to_numpy(dtype=float))[::-1]
    if thresholds is None:
        thresholds = np.round(np.arange(0.05, 0.996, 0.005), 3)
    total = p.sum()
    rows = []
    cum_p, cum_n = np.concatenate([[0.0], np.cumsum(p)]), np.arange(len(p) + 1)
    for t in thresholds:
        k = int(np.searchsorted(-p, -t, side="right"))  # pairs with p >= t
        tp, fp, fn = cum_p[k], cum_n[k] - cum_p[k], total - cum_p[k]
        prec = tp / (tp + fp) if k else float("nan")
        rec = tp / (tp + fn) if total else float("nan")
        f1 = 2 * tp / (2 * tp + fp + fn) if total else float("nan")
        rows.append({"threshold": float(t), "pairs": k, "precision": prec, "recall": rec, "f1": f1})
    return pd.DataFrame(rows)


def choose_threshold(pairs: pd.DataFrame, *, lowest: float = 0.5, highest: float = 0.995) -> float:
    """The merge threshold with the highest expected F1 (:func:`expected_scores`), without labels.

    Kept within ``[lowest, highest]``: below 0.5 a merge would more likely be wrong than right.
    With no scored pair, returns ``lowest``.

    Parameters
    ----------
    pairs : DataFrame
        Scored pairs (``id_l``, ``id_r``, ``match_probability``).
    lowest, highest : float
        The range the threshold is chosen in.

    Returns
    -------
    float
        The merge threshold.

    Raises
    ------
    ValueError
        When ``lowest`` and ``highest`` are not ordered probabilities.

    >>> p = pd.DataFrame({"id_l": list("abc"), "id_r": list("def"), "match_probability": [0.99, 0.98, 0.6]})
    >>> choose_threshold(p)
    0.5
    """
    if not 0 <= lowest <= highest <= 1:
        raise ValueError(f"choose_threshold: need 0 <= lowest <= highest <= 1, got {lowest}, {highest}")
    if not len(pairs):
        _check(pairs, lowest, "choose_threshold")
        return float(lowest)
    grid = np.round(np.arange(lowest, highest + 1e-9, 0.005), 3)
    scores = expected_scores(pairs, grid)
    best = scores.loc[scores["f1"].idxmax()] if scores["f1"].notna().any() else None
    return float(best["threshold"]) if best is not None else float(lowest)
