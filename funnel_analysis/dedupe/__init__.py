"""De-duplication of leads, contacts and accounts: measured matching, safe merges, nothing lost.

One module per step: :mod:`.normalize` (script-aware features), :mod:`.blocking` (explicit rules and
their recall), :mod:`.match` (splink model trained without labels, reasons per pair),
:mod:`.cluster` (connected components, review band, threshold chosen without labels),
:mod:`.merge` (survivorship, re-pointing, merge log, reversal), :mod:`.evaluate` (pairwise
precision/recall/F1 against true clusters), :mod:`.export` (merged export folder),
:mod:`.pipeline` (one object end to end), :mod:`.report` and :mod:`.plots` (the notebook's sections).

Examples
--------
>>> import funnel_analysis as fa
>>> from funnel_analysis.dedupe import find_duplicates, merge_duplicates, reverse_merges
>>> crm = fa.load_org("data/sample")                      # doctest: +SKIP
>>> found = find_duplicates(crm, "accounts")              # doctest: +SKIP
>>> tables, log = merge_duplicates(crm, found)            # doctest: +SKIP
>>> original = reverse_merges(tables, log)                # doctest: +SKIP
"""

from .blocking import blocking_recall, candidate_pairs
from .cluster import choose_threshold, cluster_pairs, review_queue
from .evaluate import pairs_from_clusters, pairwise_scores
from .merge import merge_clusters, reverse_merges
from .normalize import company_features, person_features
from .pipeline import DedupeResult, find_duplicates, lead_contact_matches, merge_duplicates

__all__ = [
    "person_features",
    "company_features",
    "candidate_pairs",
    "blocking_recall",
    "cluster_pairs",
    "review_queue",
    "choose_threshold",
    "pairwise_scores",
    "pairs_from_clusters",
    "merge_clusters",
    "reverse_merges",
    "DedupeResult",
    "find_duplicates",
    "lead_contact_matches",
    "merge_duplicates",
]
