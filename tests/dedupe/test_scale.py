"""Matching at a million records: bounded blocking rules, the candidate count in DuckDB, training on a
sample, chunked prediction (each checked by hand or against the plain computation)."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.dedupe.blocking import _without_bound_keys, bound_rules, candidate_pairs, count_candidate_pairs
from funnel_analysis.dedupe.match import duckdb_api, predict_pairs, train_model
from funnel_analysis.dedupe.pipeline import object_features


def _people():
    # block "lee" holds 4 records (6 pairs), block "wu" 2 (1 pair)
    return pd.DataFrame(
        {
            "unique_id": list("abcdef"),
            "last_key": ["lee", "lee", "lee", "lee", "wu", "wu"],
            "first_key": ["ann", "ann", "bob", "cy", "di", "di"],
        }
    )


def test_bound_rules_leaves_out_the_largest_blocks_by_hand():
    f = _people()
    # budget 0.5 x 6 records = 3 pairs: "lee" (6 pairs) goes, "wu" (1) stays
    g, other, rules, n = bound_rules(f, [("last_key",), ("last_key", "first_key")], max_pairs_per_record=0.5)
    assert other is None
    # last_key+first_key has 2 pairs (a-b, e-f): within the budget, unchanged
    assert rules == ["cap__last_key", "last_key+first_key"]
    # the pairs each rule keeps: "wu" (1) of cap__last_key; a-b and e-f of last_key+first_key
    assert n == {"cap__last_key": 1, "last_key+first_key": 2}
    assert list(_without_bound_keys(g).columns) == list(f.columns)  # what lead_contact_matches reuses
    assert g["cap__last_key"].notna().tolist() == [False, False, False, False, True, True]
    pairs = candidate_pairs(g, rules=rules)
    assert set(zip(pairs["id_l"], pairs["id_r"])) == {("a", "b"), ("e", "f")}


def test_bound_rules_within_the_budget_returns_its_input():
    f = _people()
    g, _, rules, _n = bound_rules(f, [("last_key",)], max_pairs_per_record=10)
    assert g is f and rules == ["last_key"]


def test_bound_rules_on_a_cross_rule_and_a_link():
    f = pd.DataFrame({"unique_id": ["a", "b", "c"], "last_key": ["lee", "ann", "x"], "first_raw": ["ann", "lee", "y"]})
    other = pd.DataFrame({"unique_id": ["p", "q"], "last_key": ["lee", "lee"], "first_raw": ["ann", "ann"]})
    # link: key lee on the left once, on the right twice: 2 pairs; budget 0.2 x 5 = 1 pair
    g, h, rules, _n = bound_rules(f, [("last_key",)], other=other, max_pairs_per_record=0.2)
    assert rules == ["cap__last_key"]
    assert g["cap__last_key"].isna().all() and h["cap__last_key"].isna().all()
    # dedupe across columns: a.last_key = b.first_raw ("lee") and b.last_key = a.first_raw ("ann"): 2 ordered pairs
    g, _, rules, _n = bound_rules(f, [("last_key=first_raw",)], max_pairs_per_record=10)
    assert rules == ["last_key=first_raw"]
    g, _, rules, _n = bound_rules(f, [("last_key=first_raw",)], max_pairs_per_record=0.1)
    assert rules == ["cap__last_key_eq_first_raw__l=cap__last_key_eq_first_raw__r"]
    # no block is small enough: the rule's keys are all missing (it finds nothing)
    assert g[["cap__last_key_eq_first_raw__l", "cap__last_key_eq_first_raw__r"]].isna().all().all()


def test_bound_rules_failures():
    with pytest.raises(ValueError, match="not positive"):
        bound_rules(_people(), [("last_key",)], max_pairs_per_record=0)
    with pytest.raises(ValueError, match="no blocking rule"):
        bound_rules(_people(), [("email",)])


def test_count_candidate_pairs_equals_the_pairs_listed(small_org):
    # the plain pandas listing (candidate_pairs) against the DuckDB count, on a generated org's leads
    f = object_features(small_org.leads, table="leads")
    assert count_candidate_pairs(f) == len(candidate_pairs(f)) > 100
    two = [("last_key",), ("first_key",)]
    f2 = _people()
    # last_key: 6 + 1 pairs; first_key adds c? no: a-b (ann, already), e-f (di, already): 7 in all
    assert count_candidate_pairs(f2, rules=two) == 7


@pytest.mark.slow
def test_the_candidate_pairs_reported_are_those_listed(small_org):
    # find_duplicates counts the pairs where splink blocks them for scoring, chunk by chunk; the plain
    # pandas listing of the same rules (candidate_pairs) is the independent figure
    from funnel_analysis.dedupe import find_duplicates
    from funnel_analysis.dedupe.match import _predict_counted

    found = find_duplicates(small_org.leads, table="leads")
    listed = len(candidate_pairs(found.features, rules=found.rules))
    assert found.candidate_pairs == listed > 100
    model = train_model(found.features, rules=found.rules)
    _, chunked = _predict_counted(
        found.features, model=model, other=None, threshold=0.01, chunk_records=len(found.features) // 3
    )
    assert chunked == listed


def test_no_candidate_pair_skips_the_model():
    f = pd.DataFrame({"account_id": ["A1", "A2"], "name": ["Acme Corp", "Northwind"]})
    from funnel_analysis.dedupe import find_duplicates

    r = find_duplicates(f, table="accounts")
    assert r.candidate_pairs == 0 and r.pairs.empty and r.clusters.empty


def test_count_candidate_pairs_failure():
    with pytest.raises(ValueError, match="unique"):
        count_candidate_pairs(pd.DataFrame({"unique_id": ["a", "a"], "last_key": ["x", "x"]}))


def test_duckdb_api_has_the_memory_limit_asked_for():
    api = duckdb_api(memory_limit="1GB", threads=1)
    limit = api.duckdb_con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit.replace(" ", "").lower() in {"953.6mib", "1gb", "1000.0mb", "0.9gib"}, limit
    assert api.duckdb_con.execute("SELECT current_setting('threads')").fetchone()[0] == 1
    with pytest.raises(Exception, match="(?i)memory"):
        duckdb_api(memory_limit="lots")


@pytest.mark.slow
def test_chunked_prediction_and_a_sampled_training(small_org):
    f = object_features(small_org.leads, table="leads")
    model = train_model(f)
    whole = predict_pairs(f, model=model)
    chunked = predict_pairs(f, model=model, chunk_records=max(len(f) // 3, 1))
    key = ["id_l", "id_r"]
    a, b = whole.sort_values(key, ignore_index=True), chunked.sort_values(key, ignore_index=True)
    assert len(a) > 50
    pd.testing.assert_frame_equal(a, b)
    # trained on a third of the leads, the model still scores every lead: the records in pairs are
    # nearly those the whole model pairs (a third of them only, were the sample scored alone)
    sampled = train_model(f, train_records=len(f) // 3)
    pairs = predict_pairs(f, model=sampled)
    ids, ids_whole = set(pairs["id_l"]) | set(pairs["id_r"]), set(a["id_l"]) | set(a["id_r"])
    assert len(ids & ids_whole) >= 0.9 * len(ids_whole) and ids <= set(f["unique_id"])
    # the duplicates most pairs agree on are still found: the pairs above 0.9 of both models overlap mostly
    top_a = set(zip(*[a.loc[a["match_probability"] >= 0.9, c] for c in key]))
    top_s = set(zip(*[pairs.loc[pairs["match_probability"] >= 0.9, c] for c in key]))
    assert len(top_a & top_s) >= 0.9 * len(top_a)


@pytest.mark.slow
def test_the_lead_contact_link_is_the_same_in_one_chunk_or_several(small_org):
    # the link's pairs scored in one chunk equal those scored in chunks of a third of the records (as the
    # million leads of scale 50 and their contacts are, in six): the same rows in the same order, value for value
    from funnel_analysis.dedupe.match import _predict_counted

    leads = object_features(small_org.leads, table="leads")
    contacts = object_features(small_org.contacts, small_org.accounts, table="contacts")
    g, h, rules, _ = bound_rules(leads, other=contacts)
    model = train_model(g, other=h, rules=rules)
    one, n_one = _predict_counted(g, model=model, other=h, threshold=0.01)
    three, n_three = _predict_counted(g, model=model, other=h, threshold=0.01, chunk_records=(len(g) + len(h)) // 3)
    assert n_one == n_three == len(candidate_pairs(g, rules=rules, other=h)) > 50
    assert len(one) > 20
    pd.testing.assert_frame_equal(one, three)
