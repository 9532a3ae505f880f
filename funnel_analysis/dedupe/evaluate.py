"""Measured matching: pairwise precision, recall and F1 of predicted clusters against true clusters.

Two records are a pair when they sit in the same cluster. A cluster of *n* records holds
*n(n-1)/2* pairs, so precision and recall count every pair the clustering implies, not only the
edges the model scored.

Examples
--------
>>> import pandas as pd
>>> truth = pd.DataFrame({"record_id": ["a", "b", "c", "d"], "cluster_id": [1, 1, 1, 2]})
>>> pred = pd.DataFrame({"record_id": ["a", "b", "d"], "cluster_id": ["x", "x", "x"]})
>>> s = pairwise_scores(pred, truth)
>>> s.true_pairs, s.predicted_pairs, s.tp, round(s.precision, 3), round(s.recall, 3)
(3, 3, 1, 0.333, 0.333)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "PairwiseScores",
    "MergeLabelScores",
    "pairs_from_clusters",
    "pairwise_scores",
    "merge_label_scores",
    "scores_by_threshold",
    "read_truth_clusters",
]


@dataclass(frozen=True)
class PairwiseScores:
    """Pairwise precision, recall and F1 of predicted clusters against true ones (:func:`pairwise_scores`).

    Attributes
    ----------
    true_pairs, predicted_pairs, tp : int
        Pairs in a true cluster, pairs in a predicted cluster, pairs in both.
    precision : float
        ``tp / predicted_pairs``; NaN with no predicted pair.
    recall : float
        ``tp / true_pairs``; NaN with no true pair.
    f1 : float
        Their harmonic mean; 0 when both exist and nothing agrees, NaN when either is missing.
    """

    true_pairs: int
    predicted_pairs: int
    tp: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class MergeLabelScores:
    """Recall and precision of predicted clusters against the org's own merges (:func:`merge_label_scores`).

    Attributes
    ----------
    merged_records : int
        Merged-away records among the records matched.
    org_pairs : int
        Pairs the org's merges imply among the records matched (a survivor and the records merged
        into it form one cluster).
    found : int
        Org pairs that the predicted clusters link.
    recall : float
        ``found / org_pairs``; NaN without org pairs.
    predicted_pairs : int
        Predicted pairs with at least one merged-away record.
    agreeing : int
        Those of them that are org pairs.
    precision : float
        ``agreeing / predicted_pairs``; NaN without such a pair.
    """

    merged_records: int
    org_pairs: int
    found: int
    recall: float
    predicted_pairs: int
    agreeing: int
    precision: float


def pairs_from_clusters(
    clusters: pd.DataFrame, *, id_column: str = "record_id", cluster_column: str = "cluster_id"
) -> pd.DataFrame:
    """Every pair of records that share a cluster, as ``id_l < id_r``.

    Parameters
    ----------
    clusters : DataFrame
        One row per record: its ID and its cluster.
    id_column, cluster_column : str
        The columns holding them.

    Returns
    -------
    DataFrame
        ``id_l``, ``id_r``, sorted.

    Raises
    ------
    KeyError
        When a column is missing.

    >>> pairs_from_clusters(pd.DataFrame({"record_id": ["b", "a", "c"], "cluster_id": [1, 1, 2]})).values.tolist()
    [['a', 'b']]
    """
    for c in (id_column, cluster_column):
        if c not in clusters.columns:
            raise KeyError(f"pairs_from_clusters: no column {c!r}")
    df = clusters[[id_column, cluster_column]].dropna().astype({id_column: "str"})
    df = df.rename(columns={id_column: "id", cluster_column: "cl"})
    df = df[df.groupby("cl")["id"].transform("size") > 1]
    m = df.merge(df, on="cl", suffixes=("_l", "_r"))
    m = m[m["id_l"] < m["id_r"]]
    return pd.DataFrame({"id_l": m["id_l"].to_numpy(), "id_r": m["id_r"].to_numpy()}).sort_values(
        ["id_l", "id_r"], ignore_index=True
    )


def _pair_set(pairs: pd.DataFrame) -> set:
    a, b = pairs["id_l"].astype("str").to_numpy(), pairs["id_r"].astype("str").to_numpy()
    return set(zip(np.minimum(a, b), np.maximum(a, b)))


def pairwise_scores(
    predicted: pd.DataFrame, truth: pd.DataFrame, *, id_column: str = "record_id", cluster_column: str = "cluster_id"
) -> PairwiseScores:
    """Pairwise precision, recall and F1 of ``predicted`` clusters against ``truth`` clusters.

    Parameters
    ----------
    predicted, truth : DataFrame
        Clusters, each with ``id_column`` and ``cluster_column``; records absent from a frame are
        singletons there.
    id_column, cluster_column : str
        The columns holding the record ID and its cluster.

    Returns
    -------
    PairwiseScores
        Precision is NaN with no predicted pair, recall NaN with no true pair.
    """
    p = _pair_set(pairs_from_clusters(predicted, id_column=id_column, cluster_column=cluster_column))
    t = _pair_set(pairs_from_clusters(truth, id_column=id_column, cluster_column=cluster_column))
    tp = len(p & t)
    prec = tp / len(p) if p else float("nan")
    rec = tp / len(t) if t else float("nan")
    f1 = 2 * prec * rec / (prec + rec) if p and t and (prec + rec) > 0 else (0.0 if p and t else float("nan"))
    return PairwiseScores(true_pairs=len(t), predicted_pairs=len(p), tp=tp, precision=prec, recall=rec, f1=f1)


def merge_label_scores(predicted: pd.DataFrame, merges: pd.DataFrame, *, records=None) -> MergeLabelScores:
    """Recall and precision of ``predicted`` clusters against the org's own merges, its free labels.

    A survivor (``master_id``) and the records merged into it form one cluster; its pairs are the
    org pairs. Recall is the share of org pairs that the predicted clusters link. Precision is
    measured only on the predicted pairs that involve a merged-away record: the share of them that
    are org pairs. The org's merges are incomplete labels: the live records still hold duplicates
    nobody merged, so a predicted pair of two live records may well be right and says nothing
    about precision. A merged-away record, though, was resolved by a person, who named its one
    survivor: a link from it to any record outside its cluster is a false match (or, rarely, a
    duplicate of the survivor that was left live, so this precision is a lower bound).

    Parameters
    ----------
    predicted : DataFrame
        Predicted clusters: ``record_id``, ``cluster_id`` (records absent are singletons).
    merges : DataFrame
        ``merged_id``, ``master_id`` (``CrmData.merges`` of one table, chains resolved).
    records : sequence of str, optional
        The records that were matched: org pairs with a record outside are left out (it could
        not be found). Default: every record of ``merges``.

    Returns
    -------
    MergeLabelScores
        Merged records, org pairs, found, recall, predicted pairs touching a merged record, agreeing, precision.

    Raises
    ------
    KeyError
        When ``merges`` lacks ``merged_id`` or ``master_id``, or ``predicted`` its columns.

    Examples
    --------
    >>> merges = pd.DataFrame({"merged_id": ["b", "c"], "master_id": ["a", "a"]})
    >>> pred = pd.DataFrame({"record_id": ["a", "b", "d"], "cluster_id": [1, 1, 1]})
    >>> s = merge_label_scores(pred, merges)
    >>> s.org_pairs, s.found, round(s.recall, 3), s.predicted_pairs, s.agreeing, s.precision
    (3, 1, 0.333, 2, 1, 0.5)
    """
    for c in ("merged_id", "master_id"):
        if c not in merges.columns:
            raise KeyError(f"merge_label_scores: merges need a {c!r} column")
    m = merges[["merged_id", "master_id"]].dropna().astype("str")
    if records is not None:
        ids = (records if isinstance(records, pd.Series) else pd.Series(list(records), dtype="str")).astype("str")
        # the merges' records among them (the merges are few, the records an org's): tested against the few
        named = pd.unique(pd.concat([m["merged_id"], m["master_id"]]).to_numpy(dtype=object))
        keep = pd.unique(ids[ids.isin(named).to_numpy(dtype=bool)].to_numpy(dtype=object))
        m = m[(m["merged_id"].isin(keep) & m["master_id"].isin(keep)).to_numpy(dtype=bool)]
    merged = set(m["merged_id"])
    org = pd.concat(
        [
            m.rename(columns={"merged_id": "record_id", "master_id": "cluster_id"}),
            pd.DataFrame({"record_id": m["master_id"], "cluster_id": m["master_id"]}),
        ],
        ignore_index=True,
    ).drop_duplicates("record_id")
    t = _pair_set(pairs_from_clusters(org))
    # only the predicted clusters that hold a record of the merges can hold an org pair or a pair touching a
    # merged record: the others (most of an org's clusters) are left out before their pairs are listed
    for c in ("record_id", "cluster_id"):
        if c not in predicted.columns:
            raise KeyError(f"merge_label_scores: predicted clusters need a {c!r} column")
    labelled = pd.unique(org["record_id"].to_numpy(dtype=object))
    held = predicted.loc[predicted["record_id"].astype("str").isin(labelled).to_numpy(dtype=bool), "cluster_id"]
    predicted = predicted[predicted["cluster_id"].isin(pd.unique(held.to_numpy(dtype=object))).to_numpy(dtype=bool)]
    p = _pair_set(pairs_from_clusters(predicted))
    touching = {pair for pair in p if pair[0] in merged or pair[1] in merged}
    found, agreeing = len(t & p), len(touching & t)
    return MergeLabelScores(
        merged_records=len(merged),
        org_pairs=len(t),
        found=found,
        recall=found / len(t) if t else float("nan"),
        predicted_pairs=len(touching),
        agreeing=agreeing,
        precision=agreeing / len(touching) if touching else float("nan"),
    )


def scores_by_threshold(
    scored_pairs: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    thresholds=None,
    id_column: str = "record_id",
    cluster_column: str = "cluster_id",
) -> pd.DataFrame:
    """Precision, recall and F1 of the clusters formed at each threshold (the chart over thresholds).

    Parameters
    ----------
    scored_pairs : DataFrame
        ``id_l``, ``id_r``, ``match_probability``.
    truth : DataFrame
        True clusters (``id_column``, ``cluster_column``).
    thresholds : sequence of float, optional
        Default 0.05, 0.10, ... 0.95, 0.99.
    id_column, cluster_column : str
        The columns of ``truth`` holding the record ID and its cluster.

    Returns
    -------
    DataFrame
        One row per threshold: ``threshold``, ``predicted_pairs``, ``tp``, ``precision``, ``recall``, ``f1``.

    Raises
    ------
    KeyError
        When ``scored_pairs`` lacks its columns.
    """
    from .cluster import cluster_pairs

    if not {"id_l", "id_r", "match_probability"} <= set(scored_pairs.columns):
        raise KeyError("scores_by_threshold: scored_pairs needs id_l, id_r, match_probability")
    thresholds = list(np.round(np.arange(0.05, 0.951, 0.05), 2)) + [0.99] if thresholds is None else thresholds
    truth = truth.rename(columns={id_column: "record_id", cluster_column: "cluster_id"})
    t = _pair_set(pairs_from_clusters(truth))  # once, not per threshold
    rows = []
    for th in thresholds:
        cl = cluster_pairs(scored_pairs, threshold=float(th)).rename(columns={"unique_id": "record_id"})
        p = _pair_set(pairs_from_clusters(cl))
        tp = len(p & t)
        prec = tp / len(p) if p else float("nan")
        rec = tp / len(t) if t else float("nan")
        f1 = 2 * tp / (len(p) + len(t)) if (p or t) else float("nan")
        rows.append(
            {"threshold": float(th), "predicted_pairs": len(p), "tp": tp, "precision": prec, "recall": rec, "f1": f1}
        )
    return pd.DataFrame(rows)


def read_truth_clusters(truth_dir, table: str) -> pd.DataFrame:
    """The sample org's true duplicate clusters of one table (``duplicate_clusters.csv``).

    Parameters
    ----------
    truth_dir : str or Path
        The generator's truth folder (``<org>_truth``).
    table : str
        ``leads``, ``contacts`` or ``accounts``.

    Returns
    -------
    DataFrame
        ``record_id``, ``cluster_id`` of that table's records in a true cluster.

    Raises
    ------
    FileNotFoundError
        When the truth folder has no ``duplicate_clusters.csv``.
    """
    from pathlib import Path

    path = Path(truth_dir) / "duplicate_clusters.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no duplicate_clusters.csv in the truth folder")
    df = pd.read_csv(path, dtype=str)
    return df[df["table"] == table][["record_id", "cluster_id"]].reset_index(drop=True)
