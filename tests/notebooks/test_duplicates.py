"""The duplicates notebook: what it shows agrees with the export's CSV files and the generator's truth."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from funnel_analysis.reporting import read_records
from tests.export_csv import kept


@pytest.mark.slow
def test_duplicates_notebook_figures(executed, small_sample):
    path, error = executed["duplicates"]
    assert error is None, error
    rec = read_records(path)
    summary = pd.DataFrame(rec["duplicates"]).set_index("object")
    truth = pd.read_csv(f"{small_sample}_truth/duplicate_clusters.csv", dtype=str)
    scores = pd.DataFrame(rec["truth_scores"]).set_index("object")
    for table, name in {"leads": "Lead.csv", "contacts": "Contact.csv", "accounts": "Account.csv"}.items():
        ids = set(kept(small_sample, name)["Id"])
        assert summary.loc[table, "records"] == len(ids)
        # true pairs: every pair of loaded records in one true cluster, counted from the truth file
        sizes = truth[(truth["table"] == table) & truth["record_id"].isin(ids)].groupby("cluster_id").size()
        assert scores.loc[table, "true_pairs"] == int((sizes * (sizes - 1) // 2).sum())
        assert scores.loc[table, "precision"] >= 0.9 and scores.loc[table, "recall"] >= 0.9, table
        # records merged away = records in clusters - clusters
        assert (
            summary.loc[table, "records_merged"]
            == summary.loc[table, "records_in_clusters"] - summary.loc[table, "clusters"]
        )
    # leads matched to a contact are never matched to the contact they were converted into
    leads = kept(small_sample, "Lead.csv").set_index("Id")["ConvertedContactId"]
    pairs = pd.DataFrame(rec["lead_contact_pairs"])
    assert rec["lead_contact"]["leads_matching_a_contact"] >= pairs["lead_id"].nunique() * (len(pairs) < 20)
    if len(pairs):
        assert not (pairs["lead_id"].map(leads) == pairs["contact_id"]).any()
    # the org's own merges: the pairs merged_pairs.csv implies, or one line when the sample has none
    merged = Path(f"{small_sample}_truth/merged_pairs.csv")
    org = rec["org_merge_scores"]
    if not merged.exists():
        assert set(org) == {"missing"} and "MasterRecordId" in org["missing"]
    else:
        scores = pd.DataFrame(org).set_index("object")
        truth = pd.read_csv(merged, dtype=str)
        for table, row in scores.iterrows():
            n = truth[truth["object"] == table].groupby("master_id").size()
            assert row["org_pairs"] == int(((n + 1) * n // 2).sum()), table
