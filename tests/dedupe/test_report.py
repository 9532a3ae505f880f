"""The notebook's section helpers, on hand-built results."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.dedupe import DedupeResult, lead_contact_matches
from funnel_analysis.dedupe.report import (
    all_pairs,
    duplicates_summary,
    find_all,
    pair_examples,
    resolve_truth_dir,
    review_table,
    truth_summary,
)

LEADS = pd.DataFrame(
    {
        "lead_id": ["L1", "L2", "L3"],
        "first_name": ["Ann", "Anne", "Bo"],
        "last_name": ["Lee", "Lee", "Ma"],
        "email": ["a@x.io", "a@x.io", None],
    }
)
PAIRS = pd.DataFrame(
    {
        "id_l": ["L1", "L1"],
        "id_r": ["L2", "L3"],
        "match_probability": [0.98, 0.3],
        "reasons": ["email: exact (+9.0)", "name: else (-5.0)"],
    }
)


def _result():
    return DedupeResult(
        table="leads",
        features=pd.DataFrame({"unique_id": ["L1", "L2", "L3"]}),
        pairs=PAIRS,
        threshold=0.5,
        review_threshold=0.2,
        clusters=pd.DataFrame({"unique_id": ["L1", "L2"], "cluster_id": ["L1", "L1"]}),
        review=PAIRS.iloc[[1]],
        candidate_pairs=2,
    )


def test_summary_examples_and_review_by_hand():
    results = {"leads": _result()}
    s = duplicates_summary(results).iloc[0]
    assert (s["records"], s["clusters"], s["records_in_clusters"], s["records_merged"], s["pairs_for_review"]) == (
        3,
        1,
        2,
        1,
        1,
    )
    ex = pair_examples({"leads": LEADS}, results, n=5)
    assert ex[["id_l", "id_r"]].values.tolist() == [["L1", "L2"]]
    assert ex["first_name"].iloc[0] == "Ann  |  Anne" and ex["reasons"].iloc[0] == "email: exact (+9.0)"
    rv = review_table({"leads": LEADS}, results)
    assert rv["last_name"].tolist() == ["Lee  |  Ma"]
    assert all_pairs(results)["object"].tolist() == ["leads", "leads"]


def test_truth_summary_by_hand(tmp_path):
    (tmp_path / "duplicate_clusters.csv").write_text(
        "table,cluster_id,record_id,is_original,variation\nleads,c1,L1,true,\nleads,c1,L3,false,typo\n"
    )
    assert resolve_truth_dir(tmp_path / "nowhere", str(tmp_path)) == tmp_path
    got = truth_summary({"leads": _result()}, tmp_path).iloc[0]
    # merged L1-L2 (false), true L1-L3 (missed)
    assert (got["true_pairs"], got["predicted_pairs"], got["tp"]) == (1, 1, 0)
    assert truth_summary({"leads": _result()}, None).empty


def test_failures(tiny_crm, tmp_path):
    with pytest.raises(ValueError, match="opportunities"):
        find_all(tiny_crm, "leads,opportunities")
    with pytest.raises(ValueError, match=">= 0"):
        pair_examples({"leads": LEADS}, {"leads": _result()}, n=-1)
    assert resolve_truth_dir(tmp_path / "org") is None
    with pytest.raises(ValueError, match="no contacts"):
        lead_contact_matches(tiny_crm)
