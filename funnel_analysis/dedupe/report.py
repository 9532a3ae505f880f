"""What the duplicates notebook shows, one call per section: summaries, side-by-side examples, truth scores.

Examples
--------
>>> import funnel_analysis as fa
>>> crm = fa.load_org("data/sample")                              # doctest: +SKIP
>>> results = find_all(crm, ["leads", "accounts"])                # doctest: +SKIP
>>> duplicates_summary(results)                                   # doctest: +SKIP
>>> pair_examples(crm, results, n=3)                              # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .evaluate import pairwise_scores, read_truth_clusters, scores_by_threshold
from .pipeline import OBJECTS, find_duplicates

__all__ = [
    "find_all",
    "duplicates_summary",
    "pair_examples",
    "review_table",
    "all_pairs",
    "resolve_truth_dir",
    "truth_scores",
    "truth_summary",
]

#: The fields shown side by side, per object.
SHOWN = {
    "leads": ["first_name", "last_name", "email", "phone", "company", "created_date"],
    "contacts": ["first_name", "last_name", "email", "phone", "account_id", "created_date"],
    "accounts": ["name", "website", "phone", "billing_city", "created_date"],
}


def find_all(
    crm, objects=("leads", "contacts", "accounts"), *, threshold="auto", review_threshold: float | None = None
) -> dict:
    """:func:`.pipeline.find_duplicates` for each object the org has: object -> :class:`DedupeResult`.

    Raises
    ------
    ValueError
        An unknown object name.
    """
    objects = [o.strip() for o in (objects.split(",") if isinstance(objects, str) else objects) if o.strip()]
    bad = [o for o in objects if o not in OBJECTS]
    if bad:
        raise ValueError(f"cannot de-duplicate {', '.join(bad)}; expected {', '.join(OBJECTS)}")
    tables = crm.tables if hasattr(crm, "tables") else crm
    threshold = (
        "auto"
        if threshold in ("auto", "", None) or (isinstance(threshold, float) and threshold < 0)
        else float(threshold)
    )
    return {
        o: find_duplicates(crm, o, threshold=threshold, review_threshold=review_threshold)
        for o in objects
        if o in tables and len(tables[o])
    }


def duplicates_summary(results: dict) -> pd.DataFrame:
    """One row per object: records, candidate pairs, clusters, records merged, pairs for review, threshold."""
    cols = [
        "object",
        "records",
        "candidate_pairs",
        "pairs_scored",
        "threshold",
        "clusters",
        "records_in_clusters",
        "records_merged",
        "pairs_for_review",
    ]
    return pd.DataFrame([{k: r.summary()[k] for k in cols} for r in results.values()], columns=cols)


def _side_by_side(crm, table: str, pairs: pd.DataFrame) -> pd.DataFrame:
    tables = crm.tables if hasattr(crm, "tables") else crm
    df = tables[table]
    key = OBJECTS[table]
    shown = [c for c in SHOWN[table] if c in df.columns]
    rec = df.assign(_id=df[key].astype("str")).drop_duplicates("_id").set_index("_id")[shown]
    if "created_date" in rec:
        rec = rec.assign(created_date=pd.to_datetime(rec["created_date"], utc=True).dt.strftime("%Y-%m-%d"))
    left = rec.reindex(pairs["id_l"]).astype("str").reset_index(drop=True)
    right = rec.reindex(pairs["id_r"]).astype("str").reset_index(drop=True)
    both = {c: left[c].fillna("") + "  |  " + right[c].fillna("") for c in shown}
    return pd.DataFrame(
        {
            "object": table,
            "id_l": pairs["id_l"].to_numpy(),
            "id_r": pairs["id_r"].to_numpy(),
            "match_probability": pairs["match_probability"].to_numpy(),
            **{c: v.to_numpy() for c, v in both.items()},
            "reasons": pairs["reasons"].to_numpy(),
        }
    )


def pair_examples(crm, results: dict, *, n: int = 5, seed: int = 0) -> pd.DataFrame:
    """``n`` merged pairs per object, their fields side by side (``left | right``) with the reasons.

    Raises
    ------
    ValueError
        When ``n`` is negative.
    """
    if n < 0:
        raise ValueError(f"pair_examples: n must be >= 0, got {n}")
    parts = []
    for table, r in results.items():
        merged = r.pairs[r.pairs["match_probability"] >= r.threshold]
        parts.append(_side_by_side(crm, table, merged.sample(min(n, len(merged)), random_state=seed)))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def review_table(crm, results: dict) -> pd.DataFrame:
    """The review queues of all objects, fields side by side, most likely first."""
    parts = [_side_by_side(crm, t, r.review) for t, r in results.items() if len(r.review)]
    cols = ["object", "id_l", "id_r", "match_probability", "reasons"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def all_pairs(results: dict) -> pd.DataFrame:
    """Every scored pair of every object, with an ``object`` column (for the probability chart)."""
    parts = [r.pairs[["id_l", "id_r", "match_probability"]].assign(object=t) for t, r in results.items()]
    return (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["id_l", "id_r", "match_probability", "object"])
    )


def resolve_truth_dir(data_dir, truth_dir: str = "") -> Path | None:
    """``truth_dir``, or ``<data_dir>_truth`` when empty; ``None`` when it holds no duplicate clusters."""
    path = Path(truth_dir) if truth_dir else Path(f"{Path(data_dir)}_truth")
    return path if (path / "duplicate_clusters.csv").exists() else None


def truth_scores(results: dict, truth_dir, *, thresholds=None) -> pd.DataFrame:
    """Precision, recall and F1 over thresholds per object against the true clusters (empty without truth)."""
    cols = ["object", "threshold", "predicted_pairs", "tp", "precision", "recall", "f1"]
    if truth_dir is None:
        return pd.DataFrame(columns=cols)
    parts = []
    for t, r in results.items():
        truth = read_truth_clusters(truth_dir, t)
        truth = truth[truth["record_id"].isin(r.features["unique_id"])]  # quarantined rows were never loaded
        parts.append(scores_by_threshold(r.pairs, truth, thresholds=thresholds).assign(object=t))
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def truth_summary(results: dict, truth_dir) -> pd.DataFrame:
    """Per object, at the threshold used: true pairs, merged pairs, precision, recall, F1 (empty without truth)."""
    cols = ["object", "threshold", "true_pairs", "predicted_pairs", "tp", "precision", "recall", "f1"]
    if truth_dir is None:
        return pd.DataFrame(columns=cols)
    rows = []
    for t, r in results.items():
        truth = read_truth_clusters(truth_dir, t)
        truth = truth[truth["record_id"].isin(r.features["unique_id"])]
        s = pairwise_scores(r.clusters.rename(columns={"unique_id": "record_id"}), truth)
        rows.append({"object": t, "threshold": r.threshold, **s})
    return pd.DataFrame(rows, columns=cols)
