"""De-duplication of leads, contacts and accounts: measured matching, safe merges, nothing lost.

One module per step: :mod:`.normalize` (script-aware features), :mod:`.blocking` (explicit rules and
their recall), :mod:`.match` (splink model trained without labels, reasons per pair),
:mod:`.cluster` (connected components, review band, threshold chosen without labels),
:mod:`.merge` (survivorship, re-pointing, merge log, reversal), :mod:`.evaluate` (pairwise
precision/recall/F1 against true clusters, and against the org's own merges), :mod:`.export` (merged export folder),
:mod:`.pipeline` (one object end to end, on its tables), :mod:`.report` (the report's entry points:
the org as of a day, the records ``where`` selects) and :mod:`.plots` (the report's charts).
splink's private names are used in :mod:`._splink` only.

Examples
--------
>>> import funnel_analysis as fa
>>> from funnel_analysis.dedupe import find_duplicates, merge_duplicates, reverse_merges
>>> crm = fa.load_org("data/sample")                                  # doctest: +SKIP
>>> found = find_duplicates(crm.accounts, table="accounts")           # doctest: +SKIP
>>> merged = merge_duplicates(crm, found=found)                       # doctest: +SKIP
>>> original = reverse_merges(merged.crm.tables, merged.log)          # doctest: +SKIP
"""

from .blocking import BlockingRecall, blocking_recall, candidate_pairs
from .cluster import choose_threshold, cluster_pairs, review_queue
from .evaluate import MergeLabelScores, PairwiseScores, merge_label_scores, pairs_from_clusters, pairwise_scores
from .match import TrainedModel
from .merge import MergedTables, merge_clusters, reverse_merges
from .normalize import company_features, person_features
from .pipeline import (
    DedupeResult,
    DedupeSummary,
    MergeResult,
    find_duplicates,
    lead_contact_matches,
    merge_duplicates,
    org_merge_scores,
)

__all__ = [
    "person_features",
    "company_features",
    "BlockingRecall",
    "candidate_pairs",
    "blocking_recall",
    "TrainedModel",
    "cluster_pairs",
    "review_queue",
    "choose_threshold",
    "PairwiseScores",
    "pairwise_scores",
    "pairs_from_clusters",
    "MergeLabelScores",
    "merge_label_scores",
    "MergedTables",
    "merge_clusters",
    "reverse_merges",
    "DedupeSummary",
    "DedupeResult",
    "MergeResult",
    "find_duplicates",
    "lead_contact_matches",
    "merge_duplicates",
    "org_merge_scores",
]
