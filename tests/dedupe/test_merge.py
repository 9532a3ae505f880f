"""Merges: survivorship by hand, re-pointing, the log, and reversal (hypothesis: nothing is lost)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_analysis.dedupe import MergedTables, merge_clusters, reverse_merges
from funnel_analysis.dedupe.merge import choose_survivors, id_columns


def _org():
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4"],
            "name": ["Acme Inc", "ACME", "Acme Incorporated", "Other"],
            "phone": [None, "+1555", "+1666", None],
            "website": ["acme.com", "www.acme.com", None, None],
            "parent_id": [None, None, "A4", "A2"],
            "created_date": pd.to_datetime(["2024-03-01", "2024-01-01", "2024-02-01", "2024-01-05"], utc=True),
        }
    )
    contacts = pd.DataFrame({"contact_id": ["C1", "C2"], "account_id": ["A2", "A3"], "last_name": ["Li", "Wu"]})
    opps = pd.DataFrame(
        {"opportunity_id": ["O1", "O2", "O3"], "account_id": ["A1", "A3", "A4"], "amount": [1.0, 2.0, 3.0]}
    )
    activities = pd.DataFrame({"activity_id": ["T1"], "what_id": ["A3"], "who_id": ["C1"]})
    return {"accounts": accounts, "contacts": contacts, "opportunities": opps, "activities": activities}


CLUSTERS = pd.DataFrame({"unique_id": ["A1", "A2", "A3"], "cluster_id": ["A1"] * 3})


def _merge(*args, **kwargs):
    merged = merge_clusters(*args, **kwargs)
    assert isinstance(merged, MergedTables)
    return merged.tables, merged.log


def test_survivor_and_fields_by_hand():
    org = _org()
    out, log = _merge(
        org,
        CLUSTERS,
        table="accounts",
        survivorship={
            "survivor": "oldest",
            "default": "survivor",
            "fields": {"phone": "most_recent", "website": "longest"},
        },
    )
    acc = out["accounts"].set_index("account_id")
    # A2 is the oldest (2024-01-01); A1 and A3 are merged into it
    assert list(acc.index) == ["A2", "A4"]
    assert acc.loc["A2", "name"] == "ACME"  # survivor's own value
    assert acc.loc["A2", "phone"] == "+1666"  # most recent non-empty: A3 (Feb) over A2 (Jan)
    assert acc.loc["A2", "website"] == "www.acme.com"  # longest
    assert acc.loc["A2", "parent_id"] == "A4"  # survivor's gap filled by the most recent value
    assert acc.loc["A4", "parent_id"] == "A2"
    # every related row re-points to the survivor
    assert out["opportunities"]["account_id"].tolist() == ["A2", "A2", "A4"]
    assert out["contacts"]["account_id"].tolist() == ["A2", "A2"]
    assert out["activities"]["what_id"].tolist() == ["A2"]
    merged = log[log["action"] == "merged"]
    assert dict(zip(merged["record_id"], merged["survivor_id"])) == {"A1": "A2", "A3": "A2"}
    assert json.loads(merged.set_index("record_id").loc["A3", "old_value"])["phone"] == "+1666"
    assert set(log.loc[log["action"] == "repointed", "table"]) == {"opportunities", "contacts", "activities"}
    # the input is untouched
    pd.testing.assert_frame_equal(org["accounts"], _org()["accounts"])


def test_most_complete_survivor_and_reasons_in_the_log():
    org = _org()
    pairs = pd.DataFrame(
        {
            "id_l": ["A1", "A2"],
            "id_r": ["A2", "A3"],
            "match_probability": [0.97, 0.91],
            "reasons": ["name: same", "phone: else"],
        }
    )
    out, log = _merge(org, CLUSTERS, table="accounts", pairs=pairs, survivorship={"survivor": "most_complete"})
    # A2 has 5 filled fields (name, phone, website, created + id), A1 and A3 4: A2 survives
    merged = log[log["action"] == "merged"].set_index("record_id")
    assert merged.loc["A1", "survivor_id"] == "A2" and merged.loc["A1", "match_probability"] == 0.97
    assert merged.loc["A3", "reasons"] == "phone: else"


def test_reverse_gives_back_the_input():
    org = _org()
    out, log = _merge(org, CLUSTERS, table="accounts")
    back = reverse_merges(out, log)
    for name, df in org.items():
        pd.testing.assert_frame_equal(back[name], df)


def test_partial_reversal_restores_one_cluster():
    org = _org()
    clusters = pd.DataFrame({"unique_id": ["A1", "A2", "A3", "A4"], "cluster_id": ["x", "x", "y", "y"]})
    out, log = _merge(org, clusters, table="accounts")
    back = reverse_merges(out, log, clusters=["y"])
    assert sorted(back["accounts"]["account_id"]) == ["A2", "A3", "A4"]
    assert back["opportunities"]["account_id"].tolist() == ["A2", "A3", "A4"]


def test_failures():
    org = _org()
    with pytest.raises(KeyError, match="no table"):
        merge_clusters(org, CLUSTERS, table="leads")
    with pytest.raises(ValueError, match="unknown field rule"):
        merge_clusters(org, CLUSTERS, table="accounts", survivorship={"default": "loudest"})
    with pytest.raises(ValueError, match="not in the table"):
        merge_clusters(org, pd.DataFrame({"unique_id": ["A1", "ZZ"], "cluster_id": ["c", "c"]}), table="accounts")
    with pytest.raises(ValueError, match="unknown survivor rule"):
        choose_survivors(org["accounts"], CLUSTERS, key="account_id", rule="random")
    with pytest.raises(KeyError, match="log needs"):
        reverse_merges(org, pd.DataFrame({"action": []}))
    assert id_columns("opportunities", org["opportunities"]) == ["account_id"]


# ---- invariants -------------------------------------------------------------------------------------
@st.composite
def orgs(draw):
    n = draw(st.integers(2, 12))
    ids = [f"L{i:02d}" for i in range(n)]
    text = st.one_of(st.none(), st.sampled_from(["a", "bb", "ccc", "Zoë", "张伟"]))
    leads = pd.DataFrame(
        {
            "lead_id": ids,
            "email": draw(st.lists(text, min_size=n, max_size=n)),
            "annual_revenue": draw(st.lists(st.one_of(st.none(), st.floats(0, 1e6)), min_size=n, max_size=n)),
            "is_converted": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
            "created_date": pd.to_datetime(
                draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), unit="D", utc=True
            ),
        }
    ).astype({"email": "str", "annual_revenue": float})
    m = draw(st.integers(0, 15))
    members = pd.DataFrame(
        {
            "campaign_member_id": [f"M{i}" for i in range(m)],
            "lead_id": draw(st.lists(st.sampled_from(ids + [None]), min_size=m, max_size=m)),
            "contact_id": [None] * m,
        }
    ).astype({"lead_id": "str", "contact_id": "str"})
    labels = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    clusters = pd.DataFrame({"unique_id": ids, "cluster_id": [f"c{x}" for x in labels]})
    return {"leads": leads, "campaign_members": members}, clusters


@settings(max_examples=15, deadline=None)
@given(
    orgs(),
    st.sampled_from(["oldest", "newest", "most_complete"]),
    st.sampled_from(["survivor", "most_recent", "longest", "oldest"]),
)
def test_nothing_is_lost_and_reverse_restores(org_clusters, survivor, default):
    org, clusters = org_clusters
    out, log = _merge(org, clusters, table="leads", survivorship={"survivor": survivor, "default": default})
    kept = set(out["leads"]["lead_id"])
    logged = set(log.loc[log["action"] == "merged", "record_id"])
    assert kept | logged == set(org["leads"]["lead_id"]) and not kept & logged
    assert len(kept) == clusters["cluster_id"].nunique()
    # every related row still joins, and to the survivor of its original record
    refs = out["campaign_members"]["lead_id"].dropna()
    assert refs.isin(kept).all()
    survivor_of = dict(
        zip(log.loc[log["action"] == "merged", "record_id"], log.loc[log["action"] == "merged", "survivor_id"])
    )
    original = org["campaign_members"]["lead_id"].dropna()
    assert refs.tolist() == [survivor_of.get(x, x) for x in original]
    back = reverse_merges(out, log)
    for name, df in org.items():
        pd.testing.assert_frame_equal(back[name], df)
    assert np.all(org["leads"]["lead_id"].to_numpy() == back["leads"]["lead_id"].to_numpy())


def test_repointing_copies_only_the_repointed_columns():
    # issue 19: a re-pointed table is the input with its re-pointed ID columns replaced, not a copy of
    # every column (the activities of a million-lead org are a gigabyte); the input stays as it was
    org = _org()
    before = {n: df.copy() for n, df in org.items()}
    tables, _ = _merge(org, CLUSTERS, table="accounts")
    opps = tables["opportunities"]
    # A2 (oldest) survives: O1 pointed at A1 and O2 at A3, both merged away; by hand
    assert opps["account_id"].tolist() == ["A2", "A2", "A4"]
    assert np.shares_memory(opps["amount"].to_numpy(), org["opportunities"]["amount"].to_numpy())
    assert not np.shares_memory(opps["account_id"].to_numpy(), org["opportunities"]["account_id"].to_numpy())
    assert tables["activities"]["what_id"].tolist() == ["A2"] and tables["activities"]["who_id"].tolist() == ["C1"]
    # a table nothing in which is re-pointed is the input itself
    untouched = {"users": pd.DataFrame({"user_id": ["U1"], "manager_id": ["U2"]})}
    assert _merge({**org, **untouched}, CLUSTERS, table="accounts")[0]["users"] is untouched["users"]
    for name, df in before.items():
        pd.testing.assert_frame_equal(org[name], df)
