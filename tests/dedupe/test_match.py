"""The splink model: comparisons from the features present, training without labels, reasons per pair."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.dedupe import candidate_pairs, person_features
from funnel_analysis.dedupe.match import company_comparisons, person_comparisons, predict_pairs, reasons_text


def _people():
    """60 people at 20 companies, and 6 duplicates written the way people type them."""
    firsts = ["Anna", "Ben", "Carla", "David", "Emma", "Felix", "Grace", "Hugo", "Ines", "Jonas"]
    lasts = ["Meyer", "Smith", "Garcia", "Novak", "Rossi", "Dubois"]
    rows = []
    for i in range(60):
        f, l_ = firsts[i % 10], lasts[i // 10]
        co = f"company{i % 20}"
        rows.append((f"P{i:03d}", f, l_, f"{f}.{l_}@{co}.com".lower(), f"+4930{i:06d}", co.title()))
    # P000 Anna Meyer at company0, P001 Ben Meyer at company1, P033 David Novak at company13
    dups = [
        ("D001", "Anna", "Meyer", "ANNA.MEYER@COMPANY0.COM", None, "Company0 GmbH"),  # e-mail case
        ("D002", "Meyer", "Ben", None, "+4930000001", "Company1"),  # swapped names
        ("D004", "David", "Nvoak", None, "+4930000033", "Company13"),  # typo, same phone
        ("D006", "张", "伟", None, None, None),
    ]  # nobody else
    df = pd.DataFrame(rows + dups, columns=["lead_id", "first_name", "last_name", "email", "phone", "company"])
    return df


def test_comparisons_follow_the_columns_present():
    f = person_features(
        pd.DataFrame(
            {"lead_id": ["a"], "first_name": ["x"], "last_name": ["y"], "email": ["x@y.io"], "company": ["Y Inc"]}
        )
    )
    assert [c.create_output_column_name() for c in person_comparisons(f)] == ["name", "email", "company"]
    with pytest.raises(ValueError, match="first_key"):
        person_comparisons(pd.DataFrame({"email": ["x"]}))
    with pytest.raises(ValueError, match="company_key"):
        company_comparisons(pd.DataFrame({"domain": ["x"]}))


@pytest.mark.slow
def test_pairs_scored_with_reasons_and_duplicates_found():
    f = person_features(_people())
    pairs = predict_pairs(f, threshold=0.0, seed=1)
    # the model scores exactly the pairs of the blocking rules
    cand = candidate_pairs(f)
    assert set(zip(pairs["id_l"], pairs["id_r"])) == set(zip(cand["id_l"], cand["id_r"]))
    p = pairs.set_index(["id_l", "id_r"])["match_probability"]
    # e-mail only differs in case; swapped names at the same company with the same phone
    assert p[("D001", "P000")] > 0.9
    # every pair of two originals is a non-match: each duplicate outranks all of them
    originals = p[p.index.get_level_values(0).str.startswith("P") & p.index.get_level_values(1).str.startswith("P")]
    assert min(p[("D002", "P001")], p[("D004", "P033")]) > originals.max()
    assert not any("D006" in pair for pair in p.index)  # blocked with nobody
    row = pairs[(pairs["id_l"] == "D001") & (pairs["id_r"] == "P000")].iloc[0]
    assert row["reasons"].startswith(("email", "name")) and "email: Exact match" in row["reasons"]
    assert pairs["match_probability"].is_monotonic_decreasing


def test_reasons_by_hand_and_failures():
    p = pd.DataFrame({"weight_a": [1.0, -3.0], "level_a": ["x", "y"], "weight_b": [2.5, 0.0], "level_b": ["z", "null"]})
    assert reasons_text(p, ["a", "b"]).tolist() == ["b: z (+2.5); a: x (+1.0)", "a: y (-3.0)"]
    with pytest.raises(KeyError):
        reasons_text(p, ["c"])
    with pytest.raises(ValueError, match="probability"):
        predict_pairs(pd.DataFrame({"unique_id": ["a"]}), threshold=2.0)


def test_without_a_country_column_the_phone_still_blocks_and_compares():
    # bug 1 of issue 15: the loader's phone_e164 is empty without a country; the digits key stands in
    from funnel_analysis.dedupe.blocking import rules_for

    people = pd.DataFrame(
        {
            "lead_id": ["a", "b"],
            "first_name": ["Anna", "A."],
            "last_name": ["Meyer", "Meier"],
            "phone": ["089 5171 8973", "+49 89 5171 8973"],
            "phone_e164": [None, "+498951718973"],
        }
    )
    f = person_features(people)
    assert "phone" in rules_for(f)
    assert candidate_pairs(f)[["id_l", "id_r", "rule"]].values.tolist() == [["a", "b", "phone"]]
    assert "phone" in [c.create_output_column_name() for c in person_comparisons(f)]


def test_accounts_block_and_compare_on_the_billing_street():
    from funnel_analysis.dedupe import company_features
    from funnel_analysis.dedupe.blocking import rules_for

    accounts = pd.DataFrame(
        {
            "account_id": ["a", "b"],
            "name": ["Acme", "Zenith Tools"],  # renamed: nothing of the name agrees
            "billing_street": ["12 Main Street", "12 Main St."],
            "billing_city": ["Boston", "Boston"],
        }
    )
    f = company_features(accounts)
    assert "street+city" in rules_for(f)
    assert candidate_pairs(f)[["id_l", "id_r", "rule"]].values.tolist() == [["a", "b", "street+city"]]
    assert [c.create_output_column_name() for c in company_comparisons(f)] == ["company", "street", "city"]
