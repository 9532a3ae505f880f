"""De-duplication of one object of an org, end to end: features, blocking, model, clusters, review, merge.

Examples
--------
>>> import funnel_analysis as fa
>>> from funnel_analysis.dedupe import find_duplicates, merge_duplicates
>>> crm = fa.load_org("data/sample")                        # doctest: +SKIP
>>> found = find_duplicates(crm, "leads")                   # doctest: +SKIP
>>> found.summary()                                         # doctest: +SKIP
{'object': 'leads', 'records': 20613, 'candidate_pairs': ..., 'clusters': ..., 'records_merged': ..., ...}
>>> merged, log = merge_duplicates(crm, found)              # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .blocking import candidate_pairs, rules_for
from .cluster import choose_threshold, cluster_pairs, review_queue
from .match import predict_pairs, train_model
from .merge import merge_clusters
from .normalize import company_features, load_dedupe_config, person_features

__all__ = ["OBJECTS", "DedupeResult", "object_features", "find_duplicates", "lead_contact_matches", "merge_duplicates"]

#: The objects that can be de-duplicated, and their key.
OBJECTS = {"leads": "lead_id", "contacts": "contact_id", "accounts": "account_id"}


@dataclass
class DedupeResult:
    """What :func:`find_duplicates` found for one object.

    Attributes
    ----------
    table : str
    features : DataFrame
        The normalised matching features, one row per record (``unique_id`` = record ID).
    pairs : DataFrame
        Scored candidate pairs at or above ``min_probability``, with ``reasons``.
    threshold, review_threshold : float
        Pairs at or above ``threshold`` are merged; those in ``[review_threshold, threshold)``
        that the merge does not already join go to ``review``.
    clusters : DataFrame
        ``unique_id``, ``cluster_id`` of the records in clusters of two or more.
    review : DataFrame
        The review queue (pairs, most likely first).
    candidate_pairs : int
        Pairs the blocking rules produce (scored by the model).
    threshold_source : str
        ``auto`` (chosen without labels) or ``given``.
    """

    table: str
    features: pd.DataFrame
    pairs: pd.DataFrame
    threshold: float
    review_threshold: float
    clusters: pd.DataFrame
    review: pd.DataFrame
    candidate_pairs: int
    threshold_source: str = "auto"
    rules: list = field(default_factory=list)

    def summary(self) -> dict:
        """Records, candidate pairs, clusters, records merged, pairs for review (the ``--json`` summary)."""
        n_clusters = int(self.clusters["cluster_id"].nunique())
        return {
            "object": self.table,
            "records": int(len(self.features)),
            "candidate_pairs": int(self.candidate_pairs),
            "pairs_scored": int(len(self.pairs)),
            "threshold": float(self.threshold),
            "threshold_source": self.threshold_source,
            "review_threshold": float(self.review_threshold),
            "clusters": n_clusters,
            "records_in_clusters": int(len(self.clusters)),
            "records_merged": int(len(self.clusters) - n_clusters),
            "pairs_for_review": int(len(self.review)),
        }


def _tables(crm) -> dict:
    return crm.tables if hasattr(crm, "tables") else dict(crm)


def object_features(crm, table: str) -> pd.DataFrame:
    """Matching features of ``table`` (contacts borrow their account's name as company).

    Raises
    ------
    ValueError
        When ``table`` is not one of :data:`OBJECTS` or is missing from the org.
    """
    tables = _tables(crm)
    if table not in OBJECTS:
        raise ValueError(f"cannot de-duplicate {table!r}; expected one of {', '.join(OBJECTS)}")
    if table not in tables or not len(tables[table]):
        raise ValueError(f"the org has no {table} to de-duplicate")
    df = tables[table]
    if table == "accounts":
        return company_features(df, id_column=OBJECTS[table])
    if table == "contacts" and "accounts" in tables and "account_id" in df and "company" not in df:
        names = tables["accounts"].drop_duplicates("account_id").set_index("account_id")["name"]
        df = df.assign(company=df["account_id"].map(names))
    return person_features(df, id_column=OBJECTS[table])


def find_duplicates(
    crm,
    table: str,
    *,
    threshold: float | str | None = None,
    review_threshold: float | None = None,
    min_probability: float = 0.01,
    rules=None,
    seed: int = 42,
) -> DedupeResult:
    """Find the duplicate records of one object: score candidate pairs, cluster, queue the uncertain.

    Parameters
    ----------
    crm : CrmData or dict of DataFrame
    table : {"leads", "contacts", "accounts"}
    threshold : float or "auto", optional
        Merge threshold on the match probability; ``"auto"`` (the default of
        ``dedupe.yaml``) chooses it without labels (:func:`.cluster.choose_threshold`).
    review_threshold : float, optional
        Lower end of the review band (default from the config, 0.2).
    min_probability : float
        Pairs below this are dropped after scoring.
    rules : sequence of tuple of str, optional
        Blocking rules (default :data:`.blocking.PERSON_RULES` / :data:`.blocking.COMPANY_RULES`).
    seed : int
        Seed of the model's random sampling.

    Raises
    ------
    ValueError
        An unknown object, a missing table, or thresholds outside [0, 1] or in the wrong order.
    """
    cfg = load_dedupe_config()["thresholds"]
    threshold = cfg.get("merge", "auto") if threshold is None else threshold
    review_threshold = float(cfg.get("review", 0.2) if review_threshold is None else review_threshold)
    if threshold != "auto" and not 0 <= float(threshold) <= 1:
        raise ValueError(f"threshold {threshold} is not a probability (or 'auto')")
    features = object_features(crm, table)
    rules = rules_for(features, rules)
    n_candidates = len(candidate_pairs(features, rules=rules))
    if len(features) < 2 or n_candidates == 0:
        pairs = pd.DataFrame(columns=["id_l", "id_r", "match_probability", "match_weight", "reasons"])
    else:
        linker = train_model(features, rules=rules, seed=seed)
        pairs = predict_pairs(features, linker=linker, threshold=min_probability)
    source = "auto" if threshold == "auto" else "given"
    threshold = choose_threshold(pairs) if threshold == "auto" else float(threshold)
    review_threshold = min(review_threshold, threshold)
    clusters = cluster_pairs(pairs, threshold=threshold)
    review = review_queue(pairs, merge_threshold=threshold, review_threshold=review_threshold)
    return DedupeResult(
        table=table,
        features=features,
        pairs=pairs,
        threshold=threshold,
        review_threshold=review_threshold,
        clusters=clusters,
        review=review,
        candidate_pairs=n_candidates,
        threshold_source=source,
        rules=rules,
    )


def lead_contact_matches(crm, *, threshold: float = 0.5, seed: int = 42) -> pd.DataFrame:
    """Leads that duplicate an existing contact (the lead that should not have been created).

    Links open leads to contacts with the same model, trained without labels; a lead converted
    into that very contact is not a duplicate and is left out.

    Returns
    -------
    DataFrame
        ``lead_id``, ``contact_id``, ``match_probability``, ``reasons``, most likely first.

    Raises
    ------
    ValueError
        When the org lacks leads or contacts.
    """
    tables = _tables(crm)
    leads = object_features(crm, "leads")
    contacts = object_features(crm, "contacts")
    converted = tables["leads"].get("converted_contact_id")
    pairs = predict_pairs(
        leads, other=contacts, threshold=threshold, seed=seed, linker=train_model(leads, other=contacts, seed=seed)
    )
    out = pairs.rename(columns={"id_l": "lead_id", "id_r": "contact_id"})
    if converted is not None:
        own = tables["leads"].assign(lead_id=tables["leads"]["lead_id"].astype("str")).set_index("lead_id")
        own = own["converted_contact_id"].astype("str")
        out = out[~out["lead_id"].map(own).eq(out["contact_id"]).fillna(False).to_numpy(dtype=bool)]
    return out[["lead_id", "contact_id", "match_probability", "reasons"]].reset_index(drop=True)


def merge_duplicates(crm, found: DedupeResult, *, survivorship: dict | None = None):
    """Merge ``found``'s clusters in the org's tables: ``(new tables, merge log)`` (see :mod:`.merge`)."""
    return merge_clusters(_tables(crm), found.clusters, table=found.table, pairs=found.pairs, survivorship=survivorship)
