"""The duplicates report's entry points: the org cut as of a day, the records ``where`` selects, de-duplicated.

:func:`find_duplicates` de-duplicates each object once (the model is the costly part) and returns a
:class:`Duplicates`, whose methods are the notebook's sections: the summary, examples side by side,
the probabilities, the review queue and the scores against the ground truth.
:func:`lead_contact_matches` finds the leads that duplicate an existing contact.
:func:`org_merge_scores` measures the report's matcher (its model and threshold) against the org's own merges
(Salesforce's ``MasterRecordId``).

Examples
--------
>>> from funnel_analysis.dedupe import report
>>> from funnel_analysis.reporting import open_report
>>> crm = open_report("data/sample")                                               # doctest: +SKIP
>>> found = report.find_duplicates(crm, where="owner.region == 'EMEA'")             # doctest: +SKIP
>>> found.summary()                                                                # doctest: +SKIP
>>> found.examples(n=3)                                                            # doctest: +SKIP
>>> report.lead_contact_matches(crm).leads                                         # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import pandas as pd

from .._util.missing import mark_missing
from ..crm.model import CrmData, cut_as_of
from . import pipeline
from .cache import cached_find_duplicates, cached_lead_contact_matches, cached_org_merge_scores
from .evaluate import pairwise_scores, read_truth_clusters, scores_by_threshold
from .pipeline import MERGE_SCORE_COLUMNS, OBJECTS, DedupeResult

__all__ = [
    "SHOWN",
    "Duplicates",
    "TruthScores",
    "LeadContactMatches",
    "find_duplicates",
    "lead_contact_matches",
    "org_merge_scores",
]

#: The fields shown side by side, per object.
SHOWN = {
    "leads": ["first_name", "last_name", "email", "phone", "company", "created_date"],
    "contacts": ["first_name", "last_name", "email", "phone", "account_id", "created_date"],
    "accounts": ["name", "website", "phone", "billing_city", "created_date"],
}

_SUMMARY_COLUMNS = [
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
_TRUTH_COLUMNS = ["object", "threshold", "true_pairs", "predicted_pairs", "tp", "precision", "recall", "f1"]
_CURVE_COLUMNS = ["object", "threshold", "predicted_pairs", "tp", "precision", "recall", "f1"]
_LEAD_CONTACT_COLUMNS = ["lead_id", "contact_id", "match_probability", "reasons"]


@dataclass(frozen=True)
class TruthScores:
    """Precision, recall and F1 of the merges against the generator's true clusters (:meth:`Duplicates.truth_scores`).

    Both frames are empty when there is no ground truth (a real org).

    Attributes
    ----------
    summary : DataFrame
        Per object, at the threshold used: ``object``, ``threshold``, ``true_pairs``,
        ``predicted_pairs``, ``tp``, ``precision``, ``recall``, ``f1``.
    by_threshold : DataFrame
        The same over merge thresholds (the chart): ``object``, ``threshold``, ``predicted_pairs``,
        ``tp``, ``precision``, ``recall``, ``f1``.
    """

    summary: pd.DataFrame
    by_threshold: pd.DataFrame


@dataclass(frozen=True)
class LeadContactMatches:
    """Leads that duplicate an existing contact (:func:`lead_contact_matches`).

    Attributes
    ----------
    pairs : DataFrame
        ``lead_id``, ``contact_id``, ``match_probability``, ``reasons``, most likely first.
    leads : int
        Distinct leads among ``pairs``.
    """

    pairs: pd.DataFrame
    leads: int


@dataclass(frozen=True)
class Duplicates:
    """What :func:`find_duplicates` found in one org; its methods are the report's sections.

    Attributes
    ----------
    results : Mapping of str to DedupeResult
        Per object de-duplicated: features, scored pairs, clusters, review queue.
    records : Mapping of str to DataFrame
        Per object, the records that were de-duplicated (the cut, the rows ``where`` kept).
    as_of : Timestamp
        The day the org was cut at.
    where : str or None
        The row filter applied to each object.
    review_threshold : float or None
        The lower end of the review band asked for (``None``: each object's from the config).
    """

    results: Mapping[str, DedupeResult]
    records: Mapping[str, pd.DataFrame]
    as_of: pd.Timestamp
    where: str | None = None
    review_threshold: float | None = None

    @property
    def thresholds(self) -> pd.Series:
        """The merge threshold used per object (index: object)."""
        return pd.Series({t: r.threshold for t, r in self.results.items()}, name="threshold", dtype=float)

    @property
    def lowest_threshold(self) -> float | None:
        """The lowest merge threshold of the objects (the chart's merge line); ``None`` with no object."""
        return float(self.thresholds.min()) if len(self.results) else None

    def summary(self) -> pd.DataFrame:
        """One row per object: records, candidate pairs, clusters, records merged, pairs for review, threshold.

        Returns
        -------
        DataFrame
            ``object``, ``records``, ``candidate_pairs``, ``pairs_scored``, ``threshold``, ``clusters``,
            ``records_in_clusters``, ``records_merged``, ``pairs_for_review``.
        """
        rows = [asdict(r.summary()) for r in self.results.values()]
        return pd.DataFrame([{k: row[k] for k in _SUMMARY_COLUMNS} for row in rows], columns=_SUMMARY_COLUMNS)

    def examples(self, *, n: int = 5, seed: int = 0) -> pd.DataFrame:
        """``n`` merged pairs per object, their fields side by side (``left | right``) with the reasons.

        Parameters
        ----------
        n : int
            Pairs per object (fewer when fewer were merged).
        seed : int
            Seed of the sample.

        Returns
        -------
        DataFrame
            ``object``, ``id_l``, ``id_r``, ``match_probability``, the :data:`SHOWN` fields, ``reasons``.

        Raises
        ------
        ValueError
            When ``n`` is negative.
        """
        if n < 0:
            raise ValueError(f"examples: n must be >= 0, got {n}")
        parts = []
        for table, r in self.results.items():
            merged = r.pairs[r.pairs["match_probability"] >= r.threshold]
            parts.append(self._side_by_side(table, merged.sample(min(n, len(merged)), random_state=seed)))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def review_table(self) -> pd.DataFrame:
        """The review queues of all objects, fields side by side, most likely first.

        Returns
        -------
        DataFrame
            ``object``, ``id_l``, ``id_r``, ``match_probability``, the :data:`SHOWN` fields, ``reasons``.
        """
        parts = [self._side_by_side(t, r.review) for t, r in self.results.items() if len(r.review)]
        cols = ["object", "id_l", "id_r", "match_probability", "reasons"]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)

    def review_counts(self) -> pd.DataFrame:
        """Pairs in the review queue per object, for the objects that have any.

        Returns
        -------
        DataFrame
            ``object``, ``pairs``, by object name.
        """
        counts = [{"object": t, "pairs": len(r.review)} for t, r in self.results.items() if len(r.review)]
        return pd.DataFrame(counts, columns=["object", "pairs"]).sort_values("object", ignore_index=True)

    def all_pairs(self) -> pd.DataFrame:
        """Every scored pair of every object, with an ``object`` column (for the probability chart).

        Returns
        -------
        DataFrame
            ``id_l``, ``id_r``, ``match_probability``, ``object``.
        """
        parts = [r.pairs[["id_l", "id_r", "match_probability"]].assign(object=t) for t, r in self.results.items()]
        if not parts:
            return pd.DataFrame(columns=["id_l", "id_r", "match_probability", "object"])
        return pd.concat(parts, ignore_index=True)

    def truth_scores(self, *, data_dir="", truth_dir="", thresholds: Sequence[float] | None = None) -> TruthScores:
        """Precision, recall and F1 of the merges against the true clusters, when there is ground truth.

        Parameters
        ----------
        data_dir : str or Path
            The org's folder: its truth is ``<data_dir>_truth`` when ``truth_dir`` is empty.
        truth_dir : str or Path
            The ground truth folder (the generator's ``duplicate_clusters.csv``).
        thresholds : sequence of float, optional
            The merge thresholds of :attr:`TruthScores.by_threshold` (default
            :func:`.evaluate.scores_by_threshold`'s).

        Returns
        -------
        TruthScores
            Empty frames when neither folder holds ``duplicate_clusters.csv``.
        """
        folder = Path(truth_dir) if truth_dir else Path(f"{Path(data_dir)}_truth")
        if not (data_dir or truth_dir) or not (folder / "duplicate_clusters.csv").exists():
            return TruthScores(
                summary=pd.DataFrame(columns=_TRUTH_COLUMNS), by_threshold=pd.DataFrame(columns=_CURVE_COLUMNS)
            )
        rows, curves = [], []
        for t, r in self.results.items():
            truth = read_truth_clusters(folder, t)
            truth = truth[truth["record_id"].isin(r.features["unique_id"])]  # quarantined rows were never loaded
            s = pairwise_scores(r.clusters.rename(columns={"unique_id": "record_id"}), truth)
            rows.append({"object": t, "threshold": r.threshold, **asdict(s)})
            curves.append(scores_by_threshold(r.pairs, truth, thresholds=thresholds).assign(object=t))
        by_threshold = (
            pd.concat(curves, ignore_index=True)[_CURVE_COLUMNS] if curves else pd.DataFrame(columns=_CURVE_COLUMNS)
        )
        return TruthScores(summary=pd.DataFrame(rows, columns=_TRUTH_COLUMNS), by_threshold=by_threshold)

    def _side_by_side(self, table: str, pairs: pd.DataFrame) -> pd.DataFrame:
        df = self.records[table]
        shown = [c for c in SHOWN[table] if c in df.columns]
        rec = df.assign(_id=df[OBJECTS[table]].astype("str")).drop_duplicates("_id").set_index("_id")[shown]
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


def _table(cut: CrmData, name: str) -> pd.DataFrame | None:
    """The table of the cut, or None when the source lacked it; an engine-only org reads it from its cache."""
    return getattr(cut, name) if cut.has(name) else None


def _objects(objects) -> list[str]:
    names = [o.strip() for o in (objects.split(",") if isinstance(objects, str) else objects) if o.strip()]
    bad = [o for o in names if o not in OBJECTS]
    if bad:
        raise ValueError(f"cannot de-duplicate {', '.join(bad)}; expected {', '.join(OBJECTS)}")
    return names


def _threshold(threshold) -> float | str:
    """``"auto"`` for auto, empty, ``None`` or a negative number; else the number."""
    if threshold in ("auto", "", None):
        return "auto"
    value = float(threshold)
    return "auto" if value < 0 else value


def find_duplicates(
    crm: CrmData,
    *,
    as_of=None,
    where: str | None = None,
    objects: str | Sequence[str] = ("leads", "contacts", "accounts"),
    threshold: float | str | None = "auto",
    review_threshold: float | None = None,
    seed: int = 42,
    cache: str | Path | None = "auto",
    engine="duckdb",
) -> Duplicates:
    """The duplicates of each object of the org as of a day (:func:`.pipeline.find_duplicates` per object).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date, Timestamp or str, optional
        The day the org is seen as of; ``None`` or ``""``: the latest date in the data.
    where : str, optional
        Keeps the records of each object that this expression selects (``owner.region == 'EMEA'``,
        see :mod:`funnel_analysis.crm.expression`); it must name columns every object listed has.
    objects : str or sequence of str
        ``leads``, ``contacts``, ``accounts``, or several (a comma-separated text too). Objects the org
        has no records of (after ``where``) are left out.
    threshold : float or "auto"
        Merge threshold on the match probability; ``"auto"``, empty or negative: chosen without labels.
    review_threshold : float, optional
        Lower end of the review band (default from ``dedupe.yaml``).
    seed : int
        Seed of the models' random sampling.
    cache : str or Path, optional
        A folder for the result cache (:mod:`.cache`): an object whose records and parameters are
        unchanged is read back from there, checked against the checksums written with it (a damaged
        or another org's entry is rebuilt, with one log line). ``"auto"``: the report runner's cache
        (``crm.meta["dedup_cache"]``, set by :func:`funnel_analysis.reporting.open_report` for an org
        read from the runner's Parquet cache), else none. ``None``: always computed.
    engine : {"duckdb", "spark", "pandas"}, Engine or SparkSession
        Where splink trains and scores (:func:`.pipeline.find_duplicates`): ``"duckdb"`` by default;
        ``"spark"``, splink's Spark backend on a local session; ``"pandas"``, splink's DuckDB backend
        on the org's pandas tables (as ``"duckdb"``). The same clusters on each.

    Returns
    -------
    Duplicates
        Per object, what was found, and the records it was found in.

    Raises
    ------
    ValueError
        An unknown object, or a threshold that is not a probability.
    ExpressionError
        A ``where`` that does not parse or names an unknown column.
    """
    names = _objects(objects)
    threshold = _threshold(threshold)
    cut = cut_as_of(crm, as_of=as_of)
    day = cut.as_of_date
    accounts = _table(cut, "accounts")
    records, results = {}, {}
    for name in names:
        if not cut.has(name) or not len(getattr(cut, name)):
            continue
        rows = cut.rows(name, where=where)
        if not len(rows):
            continue
        records[name] = rows
        options = dict(table=name, threshold=threshold, review_threshold=review_threshold, seed=seed)
        if isinstance(cache, str) and cache == "auto":
            cache = crm.meta.get("dedup_cache") or None
        if cache is None:
            results[name] = pipeline.find_duplicates(rows, accounts, **options, engine=engine)
        else:
            fingerprint = crm.meta.get("fingerprint")
            results[name] = cached_find_duplicates(
                rows, accounts, folder=cache, fingerprint=fingerprint, **options, engine=engine
            )
    return Duplicates(results=results, records=records, as_of=day, where=where, review_threshold=review_threshold)


def lead_contact_matches(
    crm: CrmData,
    *,
    as_of=None,
    where: str | None = None,
    threshold: float = 0.5,
    seed: int = 42,
    cache: str | Path | None = "auto",
    engine="duckdb",
    found: Duplicates | None = None,
) -> LeadContactMatches:
    """Leads that duplicate an existing contact, as of a day (:func:`.pipeline.lead_contact_matches`).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date, Timestamp or str, optional
        The day the org is seen as of; ``None`` or ``""``: the latest date in the data.
    where : str, optional
        Keeps the leads this expression selects; every contact stays a candidate.
    threshold : float
        Pairs below this match probability are left out.
    seed : int
        Seed of the model's random sampling.
    cache : str or Path, optional
        A folder for the result cache (:mod:`.cache`), as for :func:`find_duplicates`: the pairs are
        read back when the leads, contacts and parameters are unchanged. ``"auto"``: the report runner's
        cache (``crm.meta["dedup_cache"]``), else none. ``None``: always computed.
    engine : {"duckdb", "spark", "pandas"}, Engine or SparkSession
        Where splink trains and scores (:func:`find_duplicates`).
    found : Duplicates, optional
        What :func:`find_duplicates` found on the same org, day and ``where``: its leads' matching
        features are used, not computed again (at a million leads, 6 s CPU of the report).

    Returns
    -------
    LeadContactMatches
        No pairs when the org has no leads (after ``where``) or no contacts.

    Raises
    ------
    ExpressionError
        A ``where`` that does not parse or names an unknown column.
    ValueError
        When ``found`` was found on another day, filter or set of leads.
    """
    cut = cut_as_of(crm, as_of=as_of)
    none = LeadContactMatches(pairs=pd.DataFrame(columns=_LEAD_CONTACT_COLUMNS), leads=0)
    if not (cut.has("leads") and cut.has("contacts") and len(cut.leads) and len(cut.contacts)):
        return none
    leads = cut.rows("leads", where=where)
    if not len(leads):
        return none
    if isinstance(cache, str) and cache == "auto":
        cache = crm.meta.get("dedup_cache") or None
    args = (leads, cut.contacts, _table(cut, "accounts"))
    options = dict(
        threshold=threshold,
        seed=seed,
        engine=engine,
        lead_features=_lead_features(found, leads, cut, where),
        contact_features=_contact_features(found, cut),
    )
    if cache is None:
        pairs = pipeline.lead_contact_matches(*args, **options)
    else:
        pairs = cached_lead_contact_matches(*args, folder=cache, fingerprint=crm.meta.get("fingerprint"), **options)
    return LeadContactMatches(pairs=pairs, leads=int(pairs["lead_id"].nunique()))


def _lead_features(found: Duplicates | None, leads: pd.DataFrame, cut: CrmData, where) -> pd.DataFrame | None:
    """The leads' features of ``found`` when it was found on these very leads; None without ``found``."""
    result = _found_on(found, "leads", leads, cut, where, caller="lead_contact_matches")
    return None if result is None else result.features


def _contact_features(found: Duplicates | None, cut: CrmData) -> pd.DataFrame | None:
    """The contacts' features of ``found`` when it was found on every contact of this cut; else None
    (the link compares the leads with every contact, and a ``where`` of ``found`` kept only some)."""
    if found is None or "contacts" not in found.results or found.where or found.as_of != cut.as_of_date:
        return None
    features = found.results["contacts"].features
    return features if _same_ids(features, cut.contacts, "contacts") else None


def _same_ids(features: pd.DataFrame, rows: pd.DataFrame, name: str) -> bool:
    """Whether ``features`` are of ``rows`` of object ``name``: the same IDs in the same order."""
    ids = rows[OBJECTS[name]].astype("str").to_numpy()
    got = features["unique_id"].astype("str").to_numpy()
    return len(got) == len(ids) and bool((got == ids).all())


def _found_on(
    found: Duplicates | None, name: str, rows: pd.DataFrame, cut: CrmData, where, *, caller: str
) -> DedupeResult | None:
    """``found``'s result of object ``name`` when it was found on these very records (the cut's day,
    ``where``, the same IDs in the same order); None without ``found`` or without that object in it."""
    if found is None or name not in found.results:
        return None
    same_cut = found.as_of == cut.as_of_date and (found.where or None) == (where or None)
    result = found.results[name]
    if not same_cut or not _same_ids(result.features, rows, name):
        raise ValueError(
            f"{caller}: found was found on other {name} (another day, where or org); "
            "pass the find_duplicates result of the same org, as_of and where"
        )
    return result


def org_merge_scores(
    crm: CrmData,
    *,
    as_of=None,
    where: str | None = None,
    objects: str | Sequence[str] = ("leads", "contacts", "accounts"),
    threshold: float | str | None = "auto",
    seed: int = 42,
    cache: str | Path | None = "auto",
    found: Duplicates | None = None,
) -> pd.DataFrame:
    """Precision and recall of the report's matcher against the org's own merges, per object (free labels).

    The matcher is the report's own: :func:`find_duplicates` of the kept records (``found``), its
    model and its threshold. A lead, contact or account that Salesforce merged away (``crm.merges``;
    its row in ``crm.deleted_rows``) is matched with it against the kept records (the candidate pairs
    of its blocking rules that involve a merged-away record, and only those, are scored), and the
    clusters of those links and the kept records' own are scored by :func:`.pipeline.org_merge_scores`:
    recall over the org's merge pairs, precision over the predicted pairs that involve a merged-away
    record only, since the org's merges are incomplete labels (live duplicates nobody merged exist; a
    merged-away record's one true match is the survivor a person chose).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date, Timestamp or str, optional
        The day the org is seen as of (``None`` or ``""``: the latest date in the data); merged-away
        records created after it are left out.
    where : str, optional
        Keeps the kept and the merged-away records of each object that this expression selects.
    objects : str or sequence of str
        ``leads``, ``contacts``, ``accounts``, or several (a comma-separated text too).
    threshold : float or "auto"
        Merge threshold on the match probability; ``"auto"``, empty or negative: chosen without labels.
    seed : int
        Seed of the models' random sampling.
    cache : str or Path, optional
        A folder for the result cache (:mod:`.cache`), as for :func:`find_duplicates`: the scores
        (:func:`.cache.cached_org_merge_scores`), and without ``found`` the kept records' result they
        come from (the report's own entry), are read back when those records, the merges, the
        parameters and ``found``'s matcher are unchanged. ``"auto"``: the report runner's cache
        (``crm.meta["dedup_cache"]``), else none. ``None``: always computed.
    found : Duplicates, optional
        What :func:`find_duplicates` found on the same org, day and ``where`` with the same
        ``threshold``: its result of each object is the matcher measured (its model, threshold,
        features and linked pairs), not computed again. Default, and for an object ``found`` lacks:
        :func:`find_duplicates` of the kept records with ``threshold`` and ``seed`` (read from
        ``cache`` when the report computed it there).

    Returns
    -------
    DataFrame
        One row per object that has merges (:data:`.pipeline.MERGE_SCORE_COLUMNS`); for an org
        without any, empty with those columns and marked missing (``record`` says so in one line).

    Raises
    ------
    ValueError
        An unknown object, a threshold that is not a probability, or a ``found`` found on another
        day, filter or set of records, or with another threshold.
    ExpressionError
        A ``where`` that does not parse or names an unknown column.
    """
    from ..crm.expression import expression_mask

    names = _objects(objects)
    threshold = _threshold(threshold)
    cut = cut_as_of(crm, as_of=as_of)
    merges = cut.merges
    if isinstance(cache, str) and cache == "auto":
        cache = crm.meta.get("dedup_cache") or None
    score = (
        pipeline.org_merge_scores
        if cache is None
        else partial(cached_org_merge_scores, folder=cache, fingerprint=crm.meta.get("fingerprint"))
    )
    rows = []
    for name in names:
        merged = cut.deleted_rows.get(name)
        own = merges[merges["table"] == name] if len(merges) else merges
        if merged is None or not len(merged) or not len(own) or not cut.has(name):
            continue
        if "deleted_as" in merged.columns:
            merged = merged[merged["deleted_as"] == "merged"]
        if "created_date" in merged.columns:
            created = pd.to_datetime(merged["created_date"], utc=True)
            merged = merged[(created.dt.normalize() <= cut.as_of_date.tz_localize("UTC")).fillna(True).to_numpy()]
        if where is not None and str(where).strip() and len(merged):
            cut.ensure_related_tables(name, where)  # an engine-only org: the tables the filter's paths read
            tables = dict(cut.tables)
            tables[name] = merged.reset_index(drop=True)
            merged = tables[name][expression_mask(tables, name, where=where).to_numpy(dtype=bool)]
        kept = cut.rows(name, where=where)
        if not len(merged) or not len(kept):
            continue
        result = _found_on(found, name, kept, cut, where, caller="org_merge_scores")
        rows.append(
            score(kept, merged, own, _table(cut, "accounts"), table=name, threshold=threshold, seed=seed, found=result)
        )
    if not rows:
        return mark_missing(
            pd.DataFrame(columns=MERGE_SCORE_COLUMNS),
            f"the org has no merged {', '.join(names)} (deleted records with a MasterRecordId) to measure against",
        )
    return pd.concat(rows, ignore_index=True)
