"""Deleted and merged records: out of every figure, counted, children follow, merges re-point.

Every expected value is read off the hand-written CSV lines below.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

import funnel_analysis as fa
from funnel_analysis.cli.app import main
from funnel_analysis.crm.deleted import deleted_flag, split_deleted
from funnel_analysis.funnel import report

ACC = "Id,Name,IsDeleted,MasterRecordId\n"
OPP = "Id,AccountId,Name,StageName,Amount,CloseDate,IsClosed,IsWon,CreatedDate,IsDeleted\n"
HIST = "Id,OpportunityId,CreatedDate,StageName,Amount,CloseDate\n"
LEAD = "Id,CreatedDate,LastName,Company,LeadSource,IsConverted,IsDeleted,MasterRecordId\n"
TASK = "Id,WhoId,WhatId,Subject,ActivityDate,CreatedDate,IsDeleted\n"
CAMP = "Id,Name,CreatedDate\n"
MEMB = "Id,CampaignId,LeadId,CreatedDate,IsDeleted\n"

T = "2024-01-10T10:00:00.000+0000"

#: The live org: two accounts, two deals (one won, one lost), two leads, one task, one membership.
LIVE = {
    "Account.csv": ACC + "001000000000001AAA,Acme,false,\n001000000000002AAA,Globex,false,\n",
    "Opportunity.csv": OPP
    + f"006000000000001AAA,001000000000001AAA,Won,Closed Won,1000,2024-03-01,true,true,{T},false\n"
    + f"006000000000002AAA,001000000000002AAA,Lost,Closed Lost,400,2024-03-02,true,false,{T},false\n",
    "OpportunityHistory.csv": HIST
    + "008000000000001AAA,006000000000001AAA,2024-01-10T10:00:00.000+0000,Prospecting,1000,2024-03-01\n"
    + "008000000000002AAA,006000000000001AAA,2024-03-01T10:00:00.000+0000,Closed Won,1000,2024-03-01\n",
    "Lead.csv": LEAD
    + f"00Q000000000001AAA,{T},Rose,Acme,Web,false,false,\n"
    + f"00Q000000000002AAA,{T},Bo,Globex,Partner,false,false,\n",
    "Task.csv": TASK + f"00T000000000001AAA,00Q000000000001AAA,,Call,2024-01-11,{T},false\n",
    "Campaign.csv": CAMP + f"701000000000001AAA,Webinar,{T}\n",
    "CampaignMember.csv": MEMB + f"00v000000000001AAA,701000000000001AAA,00Q000000000001AAA,{T},false\n",
}

#: Extra rows of the "export all" version: what Salesforce keeps after deletes and merges.
EXTRA = {
    # a deleted account (cascades to its deal 006...3 and that deal's history and task); a merged one
    "Account.csv": "001000000000003AAA,Gone Inc,true,\n001000000000004AAA,ACME Corp,true,001000000000001AAA\n",
    "Opportunity.csv": (
        # a deleted won deal (would make the win rate 2 of 3), and a live deal of the merged account
        f"006000000000009AAA,001000000000002AAA,Deleted win,Closed Won,5000,2024-03-03,true,true,{T},true\n"
        f"006000000000003AAA,001000000000003AAA,Child of gone,Closed Won,700,2024-03-04,true,true,{T},false\n"
    ),
    "OpportunityHistory.csv": (
        "008000000000009AAA,006000000000009AAA,2024-01-10T10:00:00.000+0000,Closed Won,5000,2024-03-03\n"
        "008000000000003AAA,006000000000003AAA,2024-01-10T10:00:00.000+0000,Closed Won,700,2024-03-04\n"
    ),
    # a deleted lead, and lead 3 merged into lead 4 merged into lead 1 (a chain)
    "Lead.csv": (
        f"00Q000000000009AAA,{T},Del,Nobody,Web,false,true,\n"
        f"00Q000000000003AAA,{T},Rosie,Acme Inc,Web,false,true,00Q000000000004AAA\n"
        f"00Q000000000004AAA,{T},R.,ACME,Web,false,true,00Q000000000001AAA\n"
    ),
    "Task.csv": (
        f"00T000000000009AAA,00Q000000000009AAA,,On a deleted lead,2024-01-12,{T},false\n"
        f"00T000000000008AAA,00Q000000000003AAA,,On a merged lead,2024-01-12,{T},false\n"
        f"00T000000000007AAA,,006000000000003AAA,On a cascaded deal,2024-01-12,{T},false\n"
    ),
    "CampaignMember.csv": f"00v000000000009AAA,701000000000001AAA,00Q000000000009AAA,{T},false\n",
}


def _write(folder, files):
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def orgs(tmp_path):
    live = _write(tmp_path / "live", LIVE)
    everything = _write(tmp_path / "all", {k: v + EXTRA.get(k, "") for k, v in LIVE.items()})
    return fa.load_org(live), fa.load_org(everything)


def test_rows_deleted_are_counted_and_accounted(orgs):
    _, crm = orgs
    rep = crm.report.tables
    # by hand: accounts 1 deleted + 1 merged; opportunities 1 deleted + 1 whose account is deleted
    assert (rep["accounts"]["rows_deleted"], rep["accounts"]["rows_merged"]) == (1, 1)
    assert (rep["opportunities"]["rows_deleted"], rep["opportunities"]["rows_merged"]) == (2, 0)
    assert rep["opportunity_history"]["rows_deleted"] == 2  # the history of both deleted deals
    assert (rep["leads"]["rows_deleted"], rep["leads"]["rows_merged"]) == (1, 2)
    assert rep["activities"]["rows_deleted"] == 2  # on the deleted lead, on the cascaded deal
    assert rep["campaign_members"]["rows_deleted"] == 1
    for d in rep.values():
        assert d["rows_read"] == d["rows_kept"] + d["rows_quarantined"] + d["rows_deleted"] + d["rows_merged"]
    kinds = crm.deleted_rows["opportunities"].set_index("opportunity_id")["deleted_as"].to_dict()
    assert kinds == {"006000000000009AAA": "deleted", "006000000000003AAA": "parent_deleted"}


def test_an_export_with_deleted_rows_gives_the_figures_of_the_export_without_them(orgs):
    live, everything = orgs
    for table in ("accounts", "opportunities", "opportunity_history", "leads", "campaign_members"):
        a = live.tables[table].drop(columns=["is_deleted", "master_record_id"], errors="ignore")
        b = everything.tables[table].drop(columns=["is_deleted", "master_record_id"], errors="ignore")
        pd.testing.assert_frame_equal(a, b[a.columns], check_dtype=False)
    # the task on the merged lead survives, re-pointed: the only extra live row
    assert set(everything.activities["activity_id"]) - set(live.activities["activity_id"]) == {"00T000000000008AAA"}
    k_live = report.kpis(live, as_of="2024-06-30")
    k_all = report.kpis(everything, as_of="2024-06-30")
    pd.testing.assert_frame_equal(k_live, k_all)
    # the win rate by hand: 1 won of 2 closed (the deleted win is not there)
    assert report.win_rates(everything, as_of="2024-06-30")["win_rate"].iloc[0] == pytest.approx(0.5)


def test_merges_resolve_chains_and_repoint_references(orgs):
    _, crm = orgs
    merges = crm.merges.sort_values(["table", "merged_id"]).reset_index(drop=True)
    assert merges.to_dict("records") == [
        {"table": "accounts", "merged_id": "001000000000004AAA", "master_id": "001000000000001AAA"},
        {"table": "leads", "merged_id": "00Q000000000003AAA", "master_id": "00Q000000000001AAA"},
        {"table": "leads", "merged_id": "00Q000000000004AAA", "master_id": "00Q000000000001AAA"},
    ]
    task = crm.activities.set_index("activity_id").loc["00T000000000008AAA"]
    assert task["who_id"] == "00Q000000000001AAA"  # the merged lead's task moved to the survivor
    assert crm.report.tables["activities"]["cleaning"]["who_id:repointed_to_master"] == 1
    merged = crm.deleted_rows["leads"]
    assert set(merged.loc[merged["deleted_as"] == "merged", "lead_id"]) == {"00Q000000000003AAA", "00Q000000000004AAA"}


def test_past_cuts_never_see_deleted_records(orgs):
    live, everything = orgs
    for day in ("2024-02-01", "2024-03-02", "2024-12-31"):
        a, b = live.as_of(day), everything.as_of(day)
        assert sorted(a.opportunities["opportunity_id"]) == sorted(b.opportunities["opportunity_id"])
        assert a.opportunities["amount"].sum() == b.opportunities["amount"].sum()


def test_fivetran_soft_delete_flag_counts_as_deleted(tmp_path):
    files = dict(LIVE)
    files["Opportunity.csv"] = (
        "Id,AccountId,Name,StageName,Amount,CloseDate,IsClosed,IsWon,CreatedDate,_fivetran_deleted\n"
        f"006000000000001AAA,001000000000001AAA,Won,Closed Won,1000,2024-03-01,true,true,{T},false\n"
        f"006000000000002AAA,001000000000002AAA,Lost,Closed Lost,400,2024-03-02,true,false,{T},true\n"
    )
    crm = fa.load_org(_write(tmp_path / "ft", files))
    assert crm.opportunities["opportunity_id"].tolist() == ["006000000000001AAA"]
    assert crm.report.tables["opportunities"]["rows_deleted"] == 1
    # its history follows it? it has none; the won deal's history stays
    assert len(crm.opportunity_history) == 2


def test_check_json_reports_rows_deleted(tmp_path):
    folder = _write(tmp_path / "all", {k: v + EXTRA.get(k, "") for k, v in LIVE.items()})
    out = CliRunner().invoke(main, ["check", str(folder), "--json"])
    assert out.exit_code in (0, 1), out.output
    doc = json.loads(out.output)
    assert doc["tables"]["opportunities"]["rows_deleted"] == 2
    assert doc["tables"]["leads"]["rows_merged"] == 2


def test_deleted_flag_reads_text_and_booleans():
    df = pd.DataFrame({"is_deleted": [True, False, None], "fivetran_deleted": ["false", "TRUE", None]})
    assert deleted_flag(df).tolist() == [True, True, False]
    assert deleted_flag(pd.DataFrame({"x": [1]})).tolist() == [False]


def test_split_deleted_needs_the_key_column():
    with pytest.raises(KeyError):
        split_deleted(
            {
                "opportunity_history": pd.DataFrame({"opportunity_id": ["x"], "is_deleted": [False]}),
                "opportunities": pd.DataFrame({"is_deleted": [True]}),
            }
        )
