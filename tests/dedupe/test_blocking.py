"""Blocking rules and their recall."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.dedupe import BlockingRecall, blocking_recall, candidate_pairs, pairs_from_clusters
from funnel_analysis.dedupe.blocking import PERSON_RULES, rules_for, splink_rules
from funnel_analysis.dedupe.evaluate import read_truth_clusters
from funnel_analysis.dedupe.pipeline import object_features

F = pd.DataFrame(
    {
        "unique_id": ["a", "b", "c", "d"],
        "email": ["x@y.io", "x@y.io", None, None],
        "last_key": ["lee", "lee", "lee", None],
        "first_raw": ["ann", "ann", "bo", "lee"],
        "first_initial": ["a", "a", "b", "l"],
        "last_initial": ["l", "l", "l", None],
    }
)


def test_pairs_by_hand():
    # email: a-b; last_key: a-b, a-c, b-c; missing values never agree (d)
    got = candidate_pairs(F, rules=[("email",), ("last_key",)])
    assert got[["id_l", "id_r", "rule"]].values.tolist() == [
        ["a", "b", "email"],
        ["a", "c", "last_key"],
        ["b", "c", "last_key"],
    ]


def test_cross_column_rule_finds_swapped_names_in_either_direction():
    # d's first name "lee" is a, b and c's last name. Like splink, the left record has the smaller ID,
    # so "l.first_raw = r.last_key" finds nothing (d is never on the left) and the mirrored rule finds all three
    got = candidate_pairs(F, rules=[("first_raw=last_key",)])
    assert got.empty
    got = candidate_pairs(F, rules=[("last_key=first_raw",)])
    assert set(map(tuple, got[["id_l", "id_r"]].values)) == {("a", "d"), ("b", "d"), ("c", "d")}


def test_link_mode_pairs_left_with_right():
    right = pd.DataFrame({"unique_id": ["z"], "email": ["x@y.io"], "last_key": ["kim"]})
    got = candidate_pairs(F, rules=[("email",)], other=right)
    assert got[["id_l", "id_r"]].values.tolist() == [["a", "z"], ["b", "z"]]


def test_recall_by_hand():
    cand = pd.DataFrame({"id_l": ["a", "a"], "id_r": ["b", "c"]})
    truth = pd.DataFrame({"id_l": ["b", "c"], "id_r": ["a", "d"]})
    assert blocking_recall(cand, truth) == BlockingRecall(true_pairs=2, found=1, recall=0.5, candidate_pairs=2)


def test_rules_drop_missing_columns_and_translate_to_splink():
    assert rules_for(F, [("email",), ("phone",)]) == ["email"]
    assert rules_for(F, ["email+last_key", ("phone",)]) == ["email+last_key"]  # the text spelling too
    rules = splink_rules([("email",), ("last_key=first_raw", "first_initial=last_initial")])
    assert rules[1] == "l.last_key = r.first_raw AND l.first_initial = r.last_initial"
    assert splink_rules(["last_key=first_raw+first_initial=last_initial"]) == [rules[1]]


def test_failures():
    with pytest.raises(ValueError, match="unique_id"):
        candidate_pairs(pd.concat([F, F]))
    with pytest.raises(ValueError, match="no blocking rule"):
        rules_for(pd.DataFrame({"unique_id": ["a"]}), PERSON_RULES)
    with pytest.raises(ValueError, match="id_l"):
        blocking_recall(pd.DataFrame({"a": [1]}), pd.DataFrame({"id_l": [], "id_r": []}))


@pytest.mark.slow
def test_blocking_keeps_the_true_pairs_of_a_sample_org(small_sample, small_org):
    crm = small_org
    found = total = 0
    for table in ("leads", "contacts", "accounts"):
        f = object_features(crm.tables[table], crm.accounts, table=table)
        truth = read_truth_clusters(f"{small_sample}_truth", table)
        r = blocking_recall(candidate_pairs(f), pairs_from_clusters(truth[truth["record_id"].isin(f["unique_id"])]))
        found, total = found + r.found, total + r.true_pairs
    assert total > 50 and found / total >= 0.99


def test_new_records_join_the_blocks_a_bound_kept_and_only_those():
    # the bound of the kept records' rule, extended to records matched against them (the org's merged-away
    # records): a block the bound left out stays out, a kept block or one of new records only is blocked on
    from funnel_analysis.dedupe.blocking import _extend_bound_keys, _near, bound_rules

    kept = pd.DataFrame(
        {
            "unique_id": list("abcdef"),
            "last_key": ["lee"] * 4 + ["wu"] * 2,
            "first_raw": ["wu", "x", "y", "z", "lee", "q"],
        }
    )
    new = pd.DataFrame({"unique_id": list("ghij"), "last_key": ["lee", "wu", "ma", "ma"], "first_raw": list("abcd")})
    # lee: 6 pairs, wu: 1, a budget of 0.2 x 6 records: the lee block is left out
    bounded, _, rules, _ = bound_rules(kept, [("last_key",)], max_pairs_per_record=0.2)
    assert rules == ["cap__last_key"]
    got = _extend_bound_keys(bounded, new)
    assert got["cap__last_key"].tolist()[1:] == ["wu", "ma", "ma"] and pd.isna(got["cap__last_key"].iloc[0])
    # the kept records that can pair with a new one: e and f (wu, with h); not the lee block
    assert _near(bounded, got, rules).tolist() == [False] * 4 + [True] * 2
    # a rule across two columns (last name of one = first name of the other): both blocks left out
    # (lee: 4 x 1 pairs, wu: 2 x 1); a new record keeps a key no kept record has on either side
    bounded, _, rules, _ = bound_rules(kept, [("last_key=first_raw",)], max_pairs_per_record=0.3)
    new = new.assign(last_key=["lee", "wu", "ma", "zz"], first_raw=["wu", "lee", "ma2", "ma"])
    got = _extend_bound_keys(bounded, new)
    side = "cap__last_key_eq_first_raw"
    assert got[f"{side}__l"].tolist()[2:] == ["ma", "zz"] and got[f"{side}__l"].iloc[:2].isna().all()
    assert got[f"{side}__r"].tolist()[2:] == ["ma2", "ma"] and got[f"{side}__r"].iloc[:2].isna().all()
    assert not _near(bounded, got, rules).any()
    # no bounded rule: the new records' features unchanged
    assert _extend_bound_keys(kept, new) is new


def test_a_bounded_rule_of_two_columns_finds_the_kept_records_its_new_ones_can_pair_with():
    # its key column holds both columns' values in one text: a kept record shares it with a new one
    from funnel_analysis.dedupe.blocking import _extend_bound_keys, _near, bound_rules

    kept = pd.DataFrame(
        {"unique_id": list("abcdef"), "last_key": ["lee"] * 4 + ["wu"] * 2, "first_initial": ["a"] * 4 + ["b", "b"]}
    )
    bounded, _, rules, _ = bound_rules(kept, [("last_key", "first_initial")], max_pairs_per_record=0.2)
    assert rules == ["cap__last_key__first_initial"]
    new = pd.DataFrame({"unique_id": ["g", "h"], "last_key": ["wu", "lee"], "first_initial": ["b", "a"]})
    got = _extend_bound_keys(bounded, new)
    assert got["cap__last_key__first_initial"].iloc[0] == bounded["cap__last_key__first_initial"].iloc[4]
    assert pd.isna(got["cap__last_key__first_initial"].iloc[1])  # Ann Lee's block was left out
    assert _near(bounded, got, rules).tolist() == [False] * 4 + [True] * 2
