"""The splink model: comparisons from the features present, training without labels, reasons per pair."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- scoring at scale (#21): the same levels, computed faster ---------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(st.text(alphabet="12ab", max_size=7), st.text(alphabet="12ab", max_size=7)), min_size=1, max_size=40
    )
)
def test_the_one_edit_level_is_damerau_levenshtein_at_most_one(pairs):
    # the level's test before the distance must never drop a pair the distance alone would keep:
    # DuckDB's damerau_levenshtein, on pairs of short strings of four characters (many one edit apart)
    import duckdb

    from funnel_analysis.dedupe.match import _one_edit

    frame = pd.DataFrame(pairs + [("+4930000001", "+4930000010"), ("é1", "1é"), ("", "a")], columns=["x_l", "x_r"])
    con = duckdb.connect()
    con.register("frame", frame)
    got = con.sql(f"SELECT ({_one_edit('x')}) AS level, damerau_levenshtein(x_l, x_r) <= 1 AS alone FROM frame").df()
    assert got["level"].tolist() == got["alone"].tolist()


def test_the_one_edit_level_by_hand():
    import duckdb

    from funnel_analysis.dedupe.match import _one_edit

    frame = pd.DataFrame(
        {
            "x_l": ["+4930000001", "+4930000001", "+4930000001", "+4930000001", "+4930000001", "12345"],
            "x_r": ["+4930000002", "+4930000010", "+493000001", "+49300000001", "+4930000100", "54321"],
        }
    )  # a substitution, neighbours swapped, a deletion, an insertion; two substitutions; all moved
    con = duckdb.connect()
    con.register("frame", frame)
    got = con.sql(f"SELECT ({_one_edit('x')}) AS level FROM frame").df()["level"].tolist()
    assert got == [True, True, True, True, False, False]
    assert _one_edit("x", engine="spark") == "damerau_levenshtein(x_l, x_r) <= 1"


def test_a_link_names_the_features_on_the_left_and_other_on_the_right():
    # splink scores on row numbers (match._keyed_linker); the IDs come back on their own side. Each
    # link has a database of its own, and links of two sizes in both orders catch a swapped side
    people = person_features(_people(), id_column="lead_id")
    leads = people[people["unique_id"].str.startswith("P")]
    contacts = people.assign(unique_id="C" + people["unique_id"])
    for left, right in [(leads, contacts), (contacts, leads)] * 3:
        pairs = predict_pairs(left, other=right, threshold=0.5, seed=1)
        assert len(pairs) >= len(leads)  # every lead finds itself among the contacts
        assert set(pairs["id_l"]) <= set(left["unique_id"]) and set(pairs["id_r"]) <= set(right["unique_id"])
        same = pairs[pairs["id_l"].str.lstrip("C") == pairs["id_r"].str.lstrip("C")]
        assert same["match_probability"].min() > 0.99
