"""The report's entry points and sections, on hand-built orgs and results."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.dedupe import DedupeResult
from funnel_analysis.dedupe.report import Duplicates, LeadContactMatches, find_duplicates, lead_contact_matches

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


def _result(table="leads", threshold=0.5):
    return DedupeResult(
        table=table,
        features=pd.DataFrame({"unique_id": ["L1", "L2", "L3"]}),
        pairs=PAIRS,
        threshold=threshold,
        review_threshold=0.2,
        clusters=pd.DataFrame({"unique_id": ["L1", "L2"], "cluster_id": ["L1", "L1"]}),
        review=PAIRS.iloc[[1]],
        candidate_pairs=2,
    )


def _found(**results):
    results = results or {"leads": _result()}
    return Duplicates(results=results, records={t: LEADS for t in results}, as_of=pd.Timestamp("2024-06-30"))


def test_sections_by_hand():
    found = _found()
    s = found.summary().iloc[0]
    assert (s["records"], s["clusters"], s["records_in_clusters"], s["records_merged"], s["pairs_for_review"]) == (
        3,
        1,
        2,
        1,
        1,
    )
    ex = found.examples(n=5)
    assert ex[["id_l", "id_r"]].values.tolist() == [["L1", "L2"]]
    assert ex["first_name"].iloc[0] == "Ann  |  Anne" and ex["reasons"].iloc[0] == "email: exact (+9.0)"
    assert found.review_table()["last_name"].tolist() == ["Lee  |  Ma"]
    assert found.all_pairs()["object"].tolist() == ["leads", "leads"]


def test_thresholds_and_review_counts_by_object():
    found = _found(leads=_result("leads", 0.7), contacts=_result("contacts", 0.55))
    assert found.thresholds.to_dict() == {"leads": 0.7, "contacts": 0.55}
    assert found.lowest_threshold == 0.55
    assert found.review_counts().values.tolist() == [["contacts", 1], ["leads", 1]]  # by name
    empty = Duplicates(results={}, records={}, as_of=pd.Timestamp("2024-06-30"))
    assert empty.lowest_threshold is None and empty.summary().empty and empty.review_counts().empty


def test_truth_scores_by_hand(tmp_path):
    (tmp_path / "duplicate_clusters.csv").write_text(
        "table,cluster_id,record_id,is_original,variation\nleads,c1,L1,true,\nleads,c1,L3,false,typo\n"
    )
    truth = _found().truth_scores(data_dir=tmp_path / "nowhere", truth_dir=tmp_path, thresholds=[0.2, 0.9])
    got = truth.summary.iloc[0]
    # merged L1-L2 (false), true L1-L3 (missed)
    assert (got["true_pairs"], got["predicted_pairs"], got["tp"]) == (1, 1, 0)
    # at 0.2 every pair merges: {L1, L2, L3} holds L1-L3; at 0.9 only L1-L2
    curve = truth.by_threshold.set_index("threshold")
    assert curve.loc[0.2, "tp"] == 1 and curve.loc[0.9, "tp"] == 0
    # <data_dir>_truth when no truth_dir is given
    org = tmp_path / "org"
    (tmp_path / "org_truth").mkdir()
    (tmp_path / "org_truth" / "duplicate_clusters.csv").write_text((tmp_path / "duplicate_clusters.csv").read_text())
    assert _found().truth_scores(data_dir=org).summary["true_pairs"].tolist() == [1]
    assert _found().truth_scores(data_dir=tmp_path / "elsewhere").summary.empty


USERS = pd.DataFrame({"Id": ["U1", "U2"], "Name": ["Eve", "Al"], "Region__c": ["EMEA", "AMER"]})


def _people(prefix, n):
    """``n`` people in pairs of duplicates (0-1 the same, 2-3 a nickname), one created a day, owners alternating."""
    return pd.DataFrame(
        {
            "Id": [f"{prefix}{i}" for i in range(n)],
            "FirstName": ["Ann", "Ann", "Bob", "Robert", "Cy", "Di"][:n],
            "LastName": ["Lee", "Lee", "Stone", "Stone", "Vance", "Wu"][:n],
            "Email": ["ann@lee.io", "ann@lee.io", "bob@s.io", "bob@s.io", "cy@v.io", "di@w.io"][:n],
            "OwnerId": ["U1", "U1", "U2", "U2", "U1", "U2"][:n],
            "CreatedDate": [f"2024-01-0{i + 1}T08:00:00.000+0000" for i in range(n)],
        }
    )


def _leads(n):
    return _people("L", n).assign(Company="Lee Ltd", Status="Open", IsConverted="false")


@pytest.mark.slow
def test_find_duplicates_cuts_and_keeps_the_rows_where_selects():
    crm = load_frames({"Lead": _leads(6), "User": USERS})
    everything = find_duplicates(crm, objects="leads,accounts", threshold="auto")
    assert set(everything.results) == {"leads"}  # no accounts in the org: left out
    assert everything.as_of == pd.Timestamp("2024-01-06")  # the latest date in the data
    assert len(everything.records["leads"]) == 6
    emea = find_duplicates(crm, where="owner.region == 'EMEA'", objects=["leads"])
    assert emea.records["leads"]["lead_id"].tolist() == ["L0", "L1", "L4"]
    assert set(emea.results["leads"].features["unique_id"]) == {"L0", "L1", "L4"}
    early = find_duplicates(crm, as_of="2024-01-03", objects=["leads"])
    assert early.records["leads"]["lead_id"].tolist() == ["L0", "L1", "L2"]
    nobody = find_duplicates(crm, where="owner.region == 'APAC'", objects=["leads"])
    assert dict(nobody.results) == {} and nobody.summary().empty


@pytest.mark.slow
def test_lead_contact_matches_leave_out_the_leads_own_contact():
    leads = _leads(4).assign(
        IsConverted=["true", "false", "false", "false"],
        ConvertedDate=["2024-01-02", None, None, None],
        ConvertedContactId=["C0", None, None, None],
    )
    crm = load_frames({"Lead": leads, "Contact": _people("C", 4), "User": USERS})
    got = lead_contact_matches(crm)
    assert isinstance(got, LeadContactMatches)
    pairs = set(zip(got.pairs["lead_id"], got.pairs["contact_id"]))
    assert ("L0", "C0") not in pairs  # converted into that very contact
    assert ("L1", "C1") in pairs and got.leads == got.pairs["lead_id"].nunique()
    emea = lead_contact_matches(crm, where="owner.region == 'EMEA'")
    assert set(emea.pairs["lead_id"]) <= {"L0", "L1"} and len(emea.pairs)


def test_lead_contact_matches_reuse_the_features_found_on_the_same_leads(small_org, monkeypatch):
    import funnel_analysis.dedupe.pipeline as pipeline

    found = find_duplicates(small_org, objects="leads", cache=None)
    plain = lead_contact_matches(small_org, cache=None)
    normalised = []
    real = pipeline.object_features
    monkeypatch.setattr(
        pipeline,
        "object_features",
        lambda df, *a, table, **k: normalised.append(table) or real(df, *a, table=table, **k),
    )
    reused = lead_contact_matches(small_org, cache=None, found=found)
    assert normalised == ["contacts"]  # the leads' features came from found
    pd.testing.assert_frame_equal(reused.pairs, plain.pairs)
    assert len(plain.pairs) > 10
    with pytest.raises(ValueError, match="found was found on other leads"):
        lead_contact_matches(small_org, cache=None, found=found, where="owner.region == 'EMEA'")
    with pytest.raises(ValueError, match="found was found on other leads"):
        lead_contact_matches(small_org, cache=None, found=found, as_of="2025-01-31")
    # found with the contacts too: neither object is normalised again, the same pairs
    both = find_duplicates(small_org, objects="leads,contacts", cache=None)
    normalised.clear()
    again = lead_contact_matches(small_org, cache=None, found=both)
    assert normalised == []
    pd.testing.assert_frame_equal(again.pairs, plain.pairs)
    # found on some contacts only (a where): they are normalised, every contact a candidate
    emea = find_duplicates(small_org, objects="leads,contacts", cache=None, where="owner.region == 'EMEA'")
    normalised.clear()
    lead_contact_matches(small_org, cache=None, found=emea, where="owner.region == 'EMEA'")
    assert normalised == ["contacts"]


def test_failures(tiny_crm):
    with pytest.raises(ValueError, match="opportunities"):
        find_duplicates(tiny_crm, objects="leads,opportunities")
    with pytest.raises(ValueError, match=">= 0"):
        _found().examples(n=-1)
    with pytest.raises(ValueError, match="could not convert|float"):
        find_duplicates(tiny_crm, objects="leads", threshold="lots")
    with pytest.raises(ValueError):  # ExpressionError is a ValueError
        find_duplicates(tiny_crm, objects="leads", where="no_such_column == 1")
    none = lead_contact_matches(tiny_crm)  # the tiny org has no contacts
    assert none.leads == 0 and list(none.pairs.columns) == ["lead_id", "contact_id", "match_probability", "reasons"]


def _org_with_merges():
    """Four kept leads and two the org merged into their survivors (``merges`` and ``deleted_rows`` set by hand)."""
    kept = pd.DataFrame(
        {
            "Id": ["L1", "L3", "L4", "L5"],
            "CreatedDate": ["2024-01-01T00:00:00Z"] * 4,
            "FirstName": ["Ann", "Bo", "Cy", "Di"],
            "LastName": ["Lee", "Ma", "Vance", "Wu"],
            "Email": ["ann@lee.io", "bo@ma.io", "cy@v.io", "di@w.io"],
        }
    )
    crm = load_frames({"Lead": kept})
    merged = pd.DataFrame(
        {
            "lead_id": ["L2", "L6"],
            "created_date": pd.to_datetime(["2024-01-02", "2024-01-03"], utc=True),
            "first_name": ["Ann", "Bo"],
            "last_name": ["Lee", "Ma"],
            "email": ["ann@lee.io", "bo@ma.io"],
            "master_record_id": ["L1", "L3"],
            "deleted_as": ["merged", "merged"],
        }
    )
    crm.deleted_rows = {"leads": merged}
    crm.merges = pd.DataFrame({"table": ["leads", "leads"], "merged_id": ["L2", "L6"], "master_id": ["L1", "L3"]})
    return crm


def test_org_merge_scores_on_a_hand_built_org():
    from funnel_analysis.dedupe.report import org_merge_scores

    crm = _org_with_merges()
    out = org_merge_scores(crm, as_of="2024-06-30", objects="leads", threshold=0.5).set_index("object")
    # by hand: org pairs L1-L2, L3-L6; the same e-mail and names link each; nothing else is alike
    assert out.loc["leads", ["records", "merged_records", "org_pairs"]].tolist() == [6, 2, 2]
    assert out.loc["leads", ["found", "recall", "predicted_pairs", "agreeing", "precision"]].tolist() == [
        2,
        1.0,
        2,
        2,
        1.0,
    ]
    # where keeps the records it selects, merged-away ones too: only Ann Lee's pair is left
    where = "last_name in ('Lee', 'Vance', 'Wu')"
    out = org_merge_scores(crm, as_of="2024-06-30", objects="leads", where=where, threshold=0.5)
    assert out[["records", "merged_records", "org_pairs", "found"]].values.tolist() == [[4, 1, 1, 1]]
    # as of a day before the merged-away records were created: they are left out
    assert org_merge_scores(crm, as_of="2024-01-01", objects="leads").empty
    # an org without merges: no rows
    crm = _org_with_merges()
    crm.merges = crm.merges.iloc[0:0]
    assert org_merge_scores(crm, as_of="2024-06-30").empty


def test_org_merge_scores_failures():
    from funnel_analysis.dedupe.pipeline import org_merge_scores as frame_level
    from funnel_analysis.dedupe.report import org_merge_scores

    with pytest.raises(TypeError, match="CrmData"):
        org_merge_scores(LEADS)
    with pytest.raises(ValueError, match="cannot de-duplicate"):
        org_merge_scores(_org_with_merges(), as_of="2024-06-30", objects="opportunities")
    with pytest.raises(ValueError, match="no merged-away leads"):
        frame_level(LEADS, LEADS.iloc[0:0], pd.DataFrame({"merged_id": [], "master_id": []}), table="leads")


@pytest.mark.slow
def test_org_merge_scores_on_a_sample_with_merges(tmp_path):
    # the generator's merged records (merged=True): org pairs worked out from its merged_pairs.csv truth
    import funnel_analysis as fa
    from funnel_analysis.dedupe.report import org_merge_scores
    from funnel_analysis.synth import generate_sample

    generate_sample(tmp_path / "org", scale=0.1, seed=3, merged=True)
    truth = pd.read_csv(tmp_path / "org_truth" / "merged_pairs.csv", dtype=str)
    out = org_merge_scores(fa.load_org(tmp_path / "org"), objects="leads,accounts").set_index("object")
    for table in ("leads", "accounts"):
        t = truth[truth["object"] == table]
        # a survivor and the n records merged into it: (n + 1) n / 2 pairs
        n = t.groupby("master_id").size()
        assert out.loc[table, "merged_records"] == len(t)
        assert out.loc[table, "org_pairs"] == int(((n + 1) * n // 2).sum())
        assert out.loc[table, "found"] <= out.loc[table, "org_pairs"]
        assert out.loc[table, "recall"] >= 0.8 and out.loc[table, "precision"] >= 0.8, out


def test_org_merge_scores_measure_the_reports_own_result_and_refuse_another_cut():
    from funnel_analysis.dedupe.report import org_merge_scores

    crm = _org_with_merges()
    options = dict(as_of="2024-06-30", objects="leads", threshold=0.5)
    found = find_duplicates(crm, **options, cache=None)
    plain = org_merge_scores(crm, **options, cache=None)
    reused = org_merge_scores(crm, **options, cache=None, found=found)
    pd.testing.assert_frame_equal(reused, plain)
    assert reused[["org_pairs", "found", "predicted_pairs", "agreeing"]].values.tolist() == [[2, 2, 2, 2]]
    # found of another day, filter or threshold: one clear line
    with pytest.raises(ValueError, match="^org_merge_scores: found was found on other leads"):
        org_merge_scores(crm, **options | {"as_of": "2024-03-31"}, cache=None, found=found)
    with pytest.raises(ValueError, match="^org_merge_scores: found was found on other leads"):
        org_merge_scores(crm, **options, where="last_name == 'Lee'", cache=None, found=found)
    with pytest.raises(ValueError, match="^org_merge_scores: found was found with the threshold 0.5"):
        org_merge_scores(crm, **options | {"threshold": 0.8}, cache=None, found=found)
    # an object found lacks is found here (accounts: the org has none merged, so no row either way)
    both = org_merge_scores(crm, as_of="2024-06-30", objects="leads,accounts", threshold=0.5, cache=None, found=found)
    pd.testing.assert_frame_equal(both, plain)
