"""De-duplication of one object, end to end: features, blocking, model, clusters, review, merge.

The functions here take tables (the frame-level reference); :mod:`funnel_analysis.dedupe.report` has the org-level entry
points the notebook calls, which cut the org as of a day and keep the records ``where`` selects.

Examples
--------
>>> import funnel_analysis as fa
>>> from funnel_analysis.dedupe import find_duplicates, merge_duplicates
>>> crm = fa.load_org("data/sample")                                # doctest: +SKIP
>>> found = find_duplicates(crm.leads, table="leads")               # doctest: +SKIP
>>> found.summary().records_merged                                  # doctest: +SKIP
>>> merged = merge_duplicates(crm, found=found)                     # doctest: +SKIP
>>> merged.crm.as_of("2024-06-30"), merged.log                      # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import pandas as pd

from ..crm.model import CrmData
from .blocking import (
    MAX_PAIRS_PER_RECORD,
    _extend_bound_keys,
    _near,
    _without_bound_keys,
    bound_rules,
    rules_for,
)
from .cluster import choose_threshold, cluster_pairs, review_queue
from .evaluate import merge_label_scores
from .match import (
    _backend,
    _check_engine,
    _predict_counted,
    _settings_linker,
    fits,
    model_settings,
    predict_pairs,
    scoring_model,
    train_model,
)
from .merge import merge_clusters
from .normalize import company_features, load_dedupe_config, person_features

__all__ = [
    "OBJECTS",
    "DedupeSummary",
    "DedupeResult",
    "MergeResult",
    "object_features",
    "object_model",
    "find_duplicates",
    "lead_contact_matches",
    "merge_duplicates",
    "MERGE_SCORE_COLUMNS",
    "org_merge_scores",
]

logger = logging.getLogger(__name__)

#: The objects that can be de-duplicated, and their key.
OBJECTS = {"leads": "lead_id", "contacts": "contact_id", "accounts": "account_id"}


@dataclass(frozen=True)
class DedupeSummary:
    """The counts of one object's de-duplication (:meth:`DedupeResult.summary`, the ``--json`` summary).

    Attributes
    ----------
    object : str
        ``leads``, ``contacts`` or ``accounts``.
    records, candidate_pairs, pairs_scored : int
        Records de-duplicated, pairs the blocking rules produce, pairs kept after scoring.
    threshold : float
        The merge threshold used.
    threshold_source : str
        ``auto`` (chosen without labels) or ``given``.
    review_threshold : float
        The lower end of the review band.
    clusters, records_in_clusters, records_merged, pairs_for_review : int
        Clusters of two or more, their records, the records merged away (all but one per cluster),
        the pairs in the review queue.
    """

    object: str
    records: int
    candidate_pairs: int
    pairs_scored: int
    threshold: float
    threshold_source: str
    review_threshold: float
    clusters: int
    records_in_clusters: int
    records_merged: int
    pairs_for_review: int


@dataclass(frozen=True)
class DedupeResult:
    """What :func:`find_duplicates` found for one object.

    Attributes
    ----------
    table : str
        ``leads``, ``contacts`` or ``accounts``.
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
    rules : tuple of str
        The blocking rules used (:func:`.blocking.rules_for`).
    model : Mapping or None
        The model that scored the pairs, as splink's JSON settings (:func:`.match.model_settings`): trained
        on these records, or the one given to :func:`find_duplicates`; ``None`` when nothing was scored
        (fewer than two records, or no candidate pair).
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
    rules: tuple[str, ...] = ()
    model: Mapping | None = field(default=None, compare=False, repr=False)

    def summary(self) -> DedupeSummary:
        """Records, candidate pairs, clusters, records merged, pairs for review.

        Returns
        -------
        DedupeSummary
            The counts, as plain Python numbers.
        """
        n_clusters = int(self.clusters["cluster_id"].nunique())
        return DedupeSummary(
            object=self.table,
            records=int(len(self.features)),
            candidate_pairs=int(self.candidate_pairs),
            pairs_scored=int(len(self.pairs)),
            threshold=float(self.threshold),
            threshold_source=self.threshold_source,
            review_threshold=float(self.review_threshold),
            clusters=n_clusters,
            records_in_clusters=int(len(self.clusters)),
            records_merged=int(len(self.clusters) - n_clusters),
            pairs_for_review=int(len(self.review)),
        )


@dataclass(frozen=True)
class MergeResult:
    """What :func:`merge_duplicates` returns: the org with the merges applied, and the merge log.

    Attributes
    ----------
    crm : CrmData
        The merged org (its tables re-pointed); it can be cut by date like any org
        (``result.crm.as_of("2024-06-30")``).
    log : DataFrame
        The merge log (:data:`.merge.LOG_COLUMNS`); :func:`.merge.reverse_merges` undoes it.
    """

    crm: CrmData
    log: pd.DataFrame = field(kw_only=True)  # like every signature that starts with crm


def object_features(records: pd.DataFrame, accounts: pd.DataFrame | None = None, *, table: str) -> pd.DataFrame:
    """Matching features of one object's records (contacts borrow their account's name as company).

    Parameters
    ----------
    records : DataFrame
        The records of ``table``.
    accounts : DataFrame, optional
        The accounts, for the company name of contacts (``account_id``, ``name``).
    table : {"leads", "contacts", "accounts"}
        Which object ``records`` are.

    Returns
    -------
    DataFrame
        One row per record, ``unique_id`` = its ID (:func:`.normalize.person_features`,
        :func:`.normalize.company_features`).

    Raises
    ------
    ValueError
        When ``table`` is not one of :data:`OBJECTS` or ``records`` is empty.
    """
    if table not in OBJECTS:
        raise ValueError(f"cannot de-duplicate {table!r}; expected one of {', '.join(OBJECTS)}")
    if records is None or not len(records):
        raise ValueError(f"the org has no {table} to de-duplicate")
    df = records
    if table == "accounts":
        return company_features(df, id_column=OBJECTS[table])
    if table == "contacts" and accounts is not None and "account_id" in df and "company" not in df:
        names = accounts.drop_duplicates("account_id").set_index("account_id")["name"]
        df = df.assign(company=df["account_id"].map(names))
    return person_features(df, id_column=OBJECTS[table])


def _prepared(records: pd.DataFrame, accounts: pd.DataFrame | None, *, table: str, rules) -> tuple:
    """The features of ``records``, the blocking rules (a rule's largest blocks bounded) and each rule's pairs."""
    features = object_features(records, accounts, table=table)
    rules = rules_for(features, rules)
    # a rule's largest blocks (a name hundreds share, at a million leads) left to the other rules:
    # unchanged below the budget, so on the sample org
    scale = load_dedupe_config().get("scale") or {}
    features, _, rules, rule_pairs = bound_rules(
        features, rules, max_pairs_per_record=float(scale.get("max_pairs_per_record", MAX_PAIRS_PER_RECORD))
    )
    return features, rules, rule_pairs


def object_model(
    records: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    *,
    table: str,
    rules=None,
    seed: int = 42,
    engine="duckdb",
) -> Mapping | None:
    """The matching model :func:`find_duplicates` trains on ``records``, trained and not used to score.

    Parameters
    ----------
    records, accounts, table, rules, seed, engine
        As for :func:`find_duplicates`.

    Returns
    -------
    Mapping or None
        splink's JSON settings of the trained model (:func:`.match.model_settings`), the
        ``DedupeResult.model`` that :func:`find_duplicates` of the same records and options gives;
        ``None`` when there is nothing to train on (fewer than two records, or no candidate pair).

    Raises
    ------
    ValueError
        An unknown object or engine, or no records.
    """
    _check_engine(engine)
    features, rules, rule_pairs = _prepared(records, accounts, table=table, rules=rules)
    if len(features) < 2 or not any(rule_pairs.values()):
        return None
    with _backend(engine) as db_api:
        return model_settings(train_model(features, rules=rules, seed=seed, db_api=db_api))


def find_duplicates(
    records: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    *,
    table: str,
    threshold: float | str | None = None,
    review_threshold: float | None = None,
    min_probability: float = 0.01,
    rules=None,
    seed: int = 42,
    engine="duckdb",
    model: Mapping | None = None,
) -> DedupeResult:
    """Find the duplicate records of one object: score candidate pairs, cluster, queue the uncertain.

    Parameters
    ----------
    records : DataFrame
        The records of ``table`` (``crm.leads``, or the rows a ``where`` kept).
    accounts : DataFrame, optional
        The accounts, for the company name of contacts.
    table : {"leads", "contacts", "accounts"}
        Which object ``records`` are.
    threshold : float or "auto", optional
        Merge threshold on the match probability; ``"auto"`` (the default of
        ``dedupe.yaml``) chooses it without labels (:func:`.cluster.choose_threshold`).
    review_threshold : float, optional
        Lower end of the review band (default from the config, 0.2).
    min_probability : float
        Pairs below this are dropped after scoring.
    rules : sequence of str or of tuple of str, optional
        Blocking rules (default :data:`.blocking.PERSON_RULES` / :data:`.blocking.COMPANY_RULES`).
    seed : int
        Seed of the model's random sampling.
    engine : {"duckdb", "spark", "pandas"}, Engine or SparkSession
        Where splink trains and scores (:func:`.match.splink_api`): ``"duckdb"`` (the default, an
        in-memory DuckDB of its own); ``"spark"``, splink's Spark backend on the product's local
        session (:func:`.match.spark_api`); ``"pandas"``, the records being pandas frames of an org
        the pandas loader read, is splink's DuckDB backend, as ``"duckdb"``; or an engine of
        :mod:`funnel_analysis.engine` (a ``connect("spark")`` shares its session) or a SparkSession.
        The features, blocking bounds and clusters are computed in pandas either way; the same
        records give the same clusters on DuckDB and Spark (``tests/dedupe/test_spark_backend.py``).
    model : Mapping, optional
        A model trained before (``DedupeResult.model``, :func:`object_model`) to score the pairs with,
        in the engine's SQL: no training (the costly part). A model that does not compare what these
        records give (:func:`.match.fits`: trained on records with a field these lack, or without one
        they have) is not used, with one ``INFO`` line. Default: trained here, on ``records``.

    Returns
    -------
    DedupeResult
        Features, scored pairs, clusters, the review queue and the model that scored them.

    Raises
    ------
    ValueError
        An unknown object or engine, no records, a threshold outside [0, 1], Spark asked for where
        it cannot run, or a ``model`` of another SQL dialect (:func:`.match.scoring_model`).
    """
    cfg = load_dedupe_config()["thresholds"]
    threshold = cfg.get("merge", "auto") if threshold is None else threshold
    review_threshold = float(cfg.get("review", 0.2) if review_threshold is None else review_threshold)
    if threshold != "auto" and not 0 <= float(threshold) <= 1:
        raise ValueError(f"threshold {threshold} is not a probability (or 'auto')")
    _check_engine(engine)
    features, rules, rule_pairs = _prepared(records, accounts, table=table, rules=rules)
    if len(features) < 2 or not any(rule_pairs.values()):
        pairs, n_candidates = pd.DataFrame(columns=["id_l", "id_r", "match_probability", "match_weight", "reasons"]), 0
        model = None
    else:
        with _backend(engine) as db_api:
            if model is not None and not fits(features, model):
                logger.info("find_duplicates: the %s model given does not fit these records; trained anew", table)
                model = None
            if model is None:
                trained = train_model(features, rules=rules, seed=seed, db_api=db_api)
            else:
                trained = scoring_model(features, model, rules=rules, db_api=db_api)
            # the candidate pairs are counted where splink blocks them for scoring (no pass of their own)
            pairs, n_candidates = _predict_counted(features, model=trained, other=None, threshold=min_probability)
            model = model_settings(trained)
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
        rules=tuple(rules),
        model=model,
    )


#: Columns of :func:`org_merge_scores`.
MERGE_SCORE_COLUMNS = [
    "object",
    "records",
    "merged_records",
    "threshold",
    "org_pairs",
    "found",
    "recall",
    "predicted_pairs",
    "agreeing",
    "precision",
]


def org_merge_scores(
    records: pd.DataFrame,
    merged_rows: pd.DataFrame,
    merges: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    *,
    table: str,
    threshold: float | str | None = None,
    seed: int = 42,
    found: DedupeResult | None = None,
) -> pd.DataFrame:
    """The report's matcher measured against the org's own merges: its free labels (Salesforce's ``MasterRecordId``).

    The matcher is the one that de-duplicated the kept records (``found``, :func:`find_duplicates` on
    ``records``): its model, its threshold and its blocking rules (their bounds on the largest blocks
    as they were). The merged-away rows are matched with it against the kept records and each other:
    the candidate pairs of those rules that involve a merged-away record, and only those, are scored
    (the condition is part of the blocking, in the database); the pairs at or above the threshold,
    together with the kept records' pairs ``found`` already linked, are clustered as
    :func:`find_duplicates` clusters them (connected components: a merged-away record linked to a kept
    record that ``found`` links to its survivor is found). The same clusters as :func:`find_duplicates`
    over the kept and merged-away records together with ``found``'s model and threshold, wherever no
    bound of a rule bites (tested), for a fraction of its cost: the kept records are neither
    normalised nor scored again. A merged-away record joins a bounded rule's block where the bound
    kept that block for the kept records, or where no kept record has its key (:func:`.blocking.bound_rules`
    bounds the kept records alone); one match of all the records bounds them all together, so where a
    bound bites the two differ by a few pairs. At scale 50 (1.03M kept leads, 10,002 merged away;
    385k contacts, 3,738; 186k accounts, 1,808) the three objects took 95 s CPU as one match of all
    the records with the kept records' model, 18 s CPU this way; on the sample org the scores are the
    same either way.

    :func:`.evaluate.merge_label_scores` scores the clusters: recall is the share of the org's merge
    pairs the matcher links; precision is measured only on the predicted pairs that involve a
    merged-away record, because the org's merges are incomplete labels (live duplicates nobody merged
    exist, so a predicted pair of two live records cannot be called wrong), whereas a merged-away
    record's one true match is the survivor a person chose for it.

    Parameters
    ----------
    records : DataFrame
        The kept records of ``table`` (``crm.leads``).
    merged_rows : DataFrame
        Its merged-away rows (``crm.deleted_rows[table]``; rows not ``deleted_as == "merged"`` are
        left out when that column is there; a row whose ID is a kept record's is left out).
    merges : DataFrame
        ``merged_id``, ``master_id`` (``crm.merges``; a ``table`` column, when there, selects ``table``'s).
    accounts : DataFrame, optional
        The accounts, for the company name of contacts.
    table : {"leads", "contacts", "accounts"}
        Which object ``records`` are.
    threshold : float or "auto", optional
        The merge threshold ``found`` was found with (:func:`find_duplicates`; default ``dedupe.yaml``'s);
        without ``found``, the one :func:`find_duplicates` of ``records`` uses.
    seed : int
        Seed of the model's random sampling, when ``found`` is computed here.
    found : DedupeResult, optional
        :func:`find_duplicates` of ``records`` (the report's own result: the same records, in the same
        order), whose model, threshold, features and linked pairs are used. Default: computed here.
        When it has no model (fewer than two kept records, or no candidate pair among them), a model is
        trained on the kept and merged-away records together (:func:`find_duplicates` of them all).

    Returns
    -------
    DataFrame
        One row (:data:`MERGE_SCORE_COLUMNS`): ``object``, ``records`` (kept plus merged-away),
        ``merged_records``, ``threshold`` (the report's), ``org_pairs``, ``found``, ``recall``,
        ``predicted_pairs`` (touching a merged-away record), ``agreeing``, ``precision``.

    Raises
    ------
    ValueError
        An unknown object, no merged-away row of ``table`` to measure against, or a ``found`` of other
        records, another object or another threshold than ``threshold``.
    KeyError
        When ``merges`` lacks ``merged_id`` or ``master_id``.
    """
    if table not in OBJECTS:
        raise ValueError(f"cannot de-duplicate {table!r}; expected one of {', '.join(OBJECTS)}")
    key = OBJECTS[table]
    for c in ("merged_id", "master_id"):
        if c not in merges.columns:
            raise KeyError(f"org_merge_scores: merges need a {c!r} column")
    if "table" in merges.columns:
        merges = merges[merges["table"] == table]
    rows = merged_rows if merged_rows is not None else pd.DataFrame(columns=[key])
    if "deleted_as" in rows.columns:
        rows = rows[rows["deleted_as"] == "merged"]
    if key not in rows.columns or not len(rows) or not len(merges):
        raise ValueError(f"org_merge_scores: the org has no merged-away {table} to measure against")
    threshold = load_dedupe_config()["thresholds"].get("merge", "auto") if threshold is None else threshold
    if found is None:
        found = find_duplicates(records, accounts, table=table, threshold=threshold, seed=seed)
    _check_found(found, records, table=table, threshold=threshold)
    kept_ids = records[key].astype("str")
    rows = rows.assign(**{key: rows[key].astype("str")}).drop_duplicates(key, keep="first")
    # a merged-away row that is a kept record too is left out (the merged-away rows are few: tested against them)
    clash = pd.unique(kept_ids[kept_ids.isin(pd.unique(rows[key].to_numpy(dtype=object)))].to_numpy(dtype=object))
    rows = rows[~rows[key].isin(clash).to_numpy(dtype=bool)].reset_index(drop=True)
    if not len(rows):
        raise ValueError(f"org_merge_scores: the org has no merged-away {table} to measure against")
    if found.model is None:  # the kept records gave no model: one trained on them all, as find_duplicates does
        both = pd.concat([records.assign(**{key: kept_ids}), rows[[c for c in rows.columns if c in records]]])
        all_of = find_duplicates(
            both.reset_index(drop=True), accounts, table=table, threshold=found.threshold, seed=seed
        )
        clusters, ids = all_of.clusters, all_of.features["unique_id"]
    else:
        linked = _merged_away_pairs(found, rows, accounts)
        clusters = cluster_pairs(linked, threshold=found.threshold)
        ids = pd.concat([kept_ids, rows[key]], ignore_index=True)
    s = merge_label_scores(clusters.rename(columns={"unique_id": "record_id"}), merges, records=ids)
    row = {"object": table, "records": len(ids), "threshold": found.threshold, **asdict(s)}
    return pd.DataFrame([row], columns=MERGE_SCORE_COLUMNS)


def _check_found(found: DedupeResult, records: pd.DataFrame, *, table: str, threshold) -> None:
    """``found`` is :func:`find_duplicates` of ``records`` with ``threshold``, or one clear error."""
    ids = records[OBJECTS[table]].astype("str").to_numpy()
    got = found.features["unique_id"].astype("str").to_numpy()
    if found.table != table or len(got) != len(ids) or not (got == ids).all():
        raise ValueError(
            f"org_merge_scores: found was found on other {table} (another object, day, where or org); "
            "pass the find_duplicates result of the same records"
        )
    auto = threshold == "auto"
    if auto != (found.threshold_source == "auto") or (not auto and float(threshold) != float(found.threshold)):
        raise ValueError(
            f"org_merge_scores: found was found with the threshold {found.threshold:g} ({found.threshold_source}), "
            f"not {threshold!r}; pass the threshold it was found with"
        )


#: The column that marks the merged-away records in the features matched against the kept ones.
_MERGED_AWAY = "merged_away__"


def _merged_away_pairs(found: DedupeResult, rows: pd.DataFrame, accounts: pd.DataFrame | None) -> pd.DataFrame:
    """The pairs of ``found``'s matcher at or above its threshold among the kept records (``found``'s own)
    and the merged-away ``rows``: those ``found`` linked, and the candidate pairs with a merged-away
    record its model scores at or above the threshold."""
    kept = found.features
    new = object_features(rows, accounts, table=found.table)
    # the kept records' columns, in their order (a field only merged-away rows have is not compared):
    # the model fits them as it fits the kept records
    new = _extend_bound_keys(kept, new.reindex(columns=_without_bound_keys(kept).columns))
    new = new.reindex(columns=kept.columns)
    rules = list(found.rules)
    near = kept[_near(kept, new, rules).to_numpy(dtype=bool)]
    both = pd.concat([near.assign(**{_MERGED_AWAY: "0"}), new.assign(**{_MERGED_AWAY: "1"})], ignore_index=True)
    own = found.pairs[found.pairs["match_probability"] >= found.threshold][["id_l", "id_r", "match_probability"]]
    with _backend("spark" if found.model.get("sql_dialect") == "spark" else "duckdb") as db_api:
        model = _settings_linker(both, found.model, rules=rules, db=db_api, touching=_MERGED_AWAY)
        # the pairs are few: one chunk
        pairs, _ = _predict_counted(
            both, model=model, other=None, threshold=found.threshold, chunk_records=max(len(both), 1)
        )
    return pd.concat([own, pairs[["id_l", "id_r", "match_probability"]]], ignore_index=True)


def lead_contact_matches(
    leads: pd.DataFrame,
    contacts: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    *,
    threshold: float = 0.5,
    seed: int = 42,
    lead_features: pd.DataFrame | None = None,
    engine="duckdb",
    contact_features: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Leads that duplicate an existing contact (the lead that should not have been created).

    Links the leads to the contacts with the same model, trained without labels; a lead converted
    into that very contact is not a duplicate and is left out.

    Parameters
    ----------
    leads : DataFrame
        The leads (``converted_contact_id`` names the contact a lead was converted into).
    contacts : DataFrame
        The contacts.
    accounts : DataFrame, optional
        The accounts, for the company name of contacts.
    threshold : float
        Pairs below this match probability are left out.
    seed : int
        Seed of the model's random sampling.
    lead_features : DataFrame, optional
        The features of ``leads`` when already computed (``DedupeResult.features`` of a
        :func:`find_duplicates` on the same leads; its bounded rules' key columns are left out), so
        that the leads are not normalised twice.
    engine : {"duckdb", "spark", "pandas"}, Engine or SparkSession
        Where splink trains and scores (:func:`find_duplicates`).
    contact_features : DataFrame, optional
        The features of ``contacts`` (with ``accounts``) when already computed, as ``lead_features``.

    Returns
    -------
    DataFrame
        ``lead_id``, ``contact_id``, ``match_probability``, ``reasons``, most likely first.

    Raises
    ------
    ValueError
        When there are no leads or no contacts, or ``lead_features`` (``contact_features``) are not one
        row per lead (contact).
    """
    _check_engine(engine)
    lead_features = _given_features(lead_features, leads, table="leads")
    contact_features = _given_features(contact_features, contacts, accounts, table="contacts")
    scale = load_dedupe_config().get("scale") or {}
    lead_features, contact_features, rules, _ = bound_rules(
        lead_features,
        other=contact_features,
        max_pairs_per_record=float(scale.get("max_pairs_per_record", MAX_PAIRS_PER_RECORD)),
    )
    with _backend(engine) as db_api:
        model = train_model(lead_features, other=contact_features, rules=rules, seed=seed, db_api=db_api)
        pairs = predict_pairs(lead_features, other=contact_features, threshold=threshold, model=model)
    out = pairs.rename(columns={"id_l": "lead_id", "id_r": "contact_id"})
    if "converted_contact_id" in leads:
        own = leads.assign(lead_id=leads["lead_id"].astype("str")).set_index("lead_id")
        own = own["converted_contact_id"].astype("str")
        out = out[~out["lead_id"].map(own).eq(out["contact_id"]).fillna(False).to_numpy(dtype=bool)]
    return out[["lead_id", "contact_id", "match_probability", "reasons"]].reset_index(drop=True)


def _given_features(features: pd.DataFrame | None, records: pd.DataFrame, accounts=None, *, table: str) -> pd.DataFrame:
    """``features`` of ``records`` without bounded rules' key columns; computed when not given."""
    if features is None:
        return object_features(records, accounts, table=table)
    if len(features) != len(records) or "unique_id" not in features:
        raise ValueError(f"lead_contact_matches: {table[:-1]}_features need one row (a unique_id) per {table[:-1]}")
    return _without_bound_keys(features)


def merge_duplicates(crm: CrmData, *, found: DedupeResult, survivorship: Mapping | None = None) -> MergeResult:
    """Merge ``found``'s clusters in the org (see :mod:`.merge`): the merged org and the merge log.

    Parameters
    ----------
    crm : CrmData
        The org ``found`` comes from; not changed.
    found : DedupeResult
        The duplicates of one object (:func:`find_duplicates`).
    survivorship : Mapping, optional
        Survivorship rules (:func:`.merge.merge_clusters`); default from ``dedupe.yaml``.

    Returns
    -------
    MergeResult
        ``crm``: the org with the merges applied (a :class:`CrmData`); ``log``: the merge log.

    Raises
    ------
    KeyError, ValueError
        The org lacks ``found``'s table; clustered IDs not in it; unknown rules.
    """
    merged = merge_clusters(crm.tables, found.clusters, table=found.table, pairs=found.pairs, survivorship=survivorship)
    # a new CrmData, not dataclasses.replace: the org's memoised as-of cuts are of the unmerged tables
    org = CrmData(
        tables=dict(merged.tables),
        quarantine=crm.quarantine,
        flags=crm.flags,
        quarantined_rows=crm.quarantined_rows,
        report=crm.report,
        meta=dict(crm.meta),
        as_of_date=crm.as_of_date,
    )
    return MergeResult(crm=org, log=merged.log)
