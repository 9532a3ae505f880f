"""sources.report: each section's entry point on a tiny hand-built export, values counted by hand.

The org, seen as of 2024-06-30 (mature leads: created by 2024-04-01 08:00, 90 days before the end of the day):

- users U1 (EMEA), U2 (AMER); leads L1 Web U1 -> O1, L2 Web U2, L3 Web U1, L4 Referral U1 -> O2, L5 Referral U2,
  L6 Web U1 (created 06-20: not mature), L7 Event U2 -> O3;
- O1 U1 won 1000 on 03-10; O2 U1 open 500 due 05-31, lost 05-15; O3 U2 open 300 due 06-15; O4 U2 (no lead)
  created 04-10, won 200 on 05-20;
- activities: L1 called 30 min after creation, L2 emailed 48 h after; O1 a call and an email before its close,
  O2 one call; campaigns C1 (cost 100: members L1, L2), C2 (budget 50: member L4).
"""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis._util.missing import missing_reason
from funnel_analysis.sources import PipelineWaterfall, report

AS_OF = "2024-06-30"
EMEA = "owner.region == 'EMEA'"

EXPORT = {
    "Campaign.csv": ("Id,Name,Type,ActualCost,BudgetedCost\nC1,Webinar,Webinar,100,\nC2,Ads,Advertisement,,50\n"),
    "CampaignMember.csv": (
        "Id,CampaignId,LeadId,CreatedDate,HasResponded\n"
        "M1,C1,L1,2024-01-06T08:00:00.000+0000,true\n"
        "M2,C1,L2,2024-01-11T08:00:00.000+0000,false\n"
        "M3,C2,L4,2024-02-11T08:00:00.000+0000,true\n"
    ),
    "Lead.csv": (
        "Id,CreatedDate,LastName,Company,LeadSource,OwnerId,Status,IsConverted,ConvertedDate,ConvertedOpportunityId\n"
        "L1,2024-01-05T08:00:00.000+0000,A,Co A,Web,U1,Closed - Converted,true,2024-01-20,O1\n"
        "L2,2024-01-10T08:00:00.000+0000,B,Co B,Web,U2,Working - Contacted,false,,\n"
        "L3,2024-02-01T08:00:00.000+0000,C,Co C,Web,U1,Open - Not Contacted,false,,\n"
        "L4,2024-02-10T08:00:00.000+0000,D,Co D,Referral,U1,Closed - Converted,true,2024-02-20,O2\n"
        "L5,2024-02-15T08:00:00.000+0000,E,Co E,Referral,U2,Open - Not Contacted,false,,\n"
        "L6,2024-06-20T08:00:00.000+0000,F,Co F,Web,U1,Open - Not Contacted,false,,\n"
        "L7,2024-01-15T08:00:00.000+0000,G,Co G,Event,U2,Closed - Converted,true,2024-03-01,O3\n"
    ),
    "Opportunity.csv": (
        "Id,Name,CreatedDate,StageName,Amount,CloseDate,IsClosed,IsWon,OwnerId,LeadSource\n"
        "O1,Deal 1,2024-01-20T09:00:00.000+0000,Closed Won,1000,2024-03-10,true,true,U1,Web\n"
        "O2,Deal 2,2024-02-20T09:00:00.000+0000,Closed Lost,500,2024-05-15,true,false,U1,Referral\n"
        "O3,Deal 3,2024-03-01T09:00:00.000+0000,Prospecting,300,2024-06-15,false,false,U2,Event\n"
        "O4,Deal 4,2024-04-10T09:00:00.000+0000,Closed Won,200,2024-05-20,true,true,U2,\n"
    ),
    "OpportunityHistory.csv": (
        "Id,OpportunityId,CreatedDate,StageName,Amount,CloseDate\n"
        "H1,O1,2024-01-20T09:00:00.000+0000,Prospecting,1000,2024-03-31\n"
        "H2,O1,2024-03-10T09:00:00.000+0000,Closed Won,1000,2024-03-10\n"
        "H3,O2,2024-02-20T09:00:00.000+0000,Prospecting,500,2024-05-31\n"
        "H4,O2,2024-05-15T09:00:00.000+0000,Closed Lost,500,2024-05-15\n"
        "H5,O3,2024-03-01T09:00:00.000+0000,Prospecting,300,2024-06-15\n"
        "H6,O4,2024-04-10T09:00:00.000+0000,Prospecting,200,2024-06-30\n"
        "H7,O4,2024-05-20T09:00:00.000+0000,Closed Won,200,2024-05-20\n"
    ),
    "OpportunityStage.csv": (
        "MasterLabel,SortOrder,IsClosed,IsWon,DefaultProbability\n"
        "Prospecting,1,false,false,10\n"
        "Closed Won,2,true,true,100\n"
        "Closed Lost,3,true,false,0\n"
    ),
    "Task.csv": (
        "Id,WhoId,WhatId,ActivityDate,Type,Status,CreatedDate\n"
        "T1,L1,,2024-01-05,Call,Completed,2024-01-05T08:30:00.000+0000\n"
        "T2,L2,,2024-01-12,Email,Completed,2024-01-12T08:00:00.000+0000\n"
        "T3,,O1,2024-02-01,Call,Completed,2024-02-01T10:00:00.000+0000\n"
        "T4,,O1,2024-02-15,Email,Completed,2024-02-15T10:00:00.000+0000\n"
        "T5,,O2,2024-03-01,Call,Completed,2024-03-01T10:00:00.000+0000\n"
    ),
    "User.csv": ("Id,Name,Region__c\nU1,Ann,EMEA\nU2,Bob,AMER\n"),
}


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    import funnel_analysis as fa

    folder = tmp_path_factory.mktemp("sources_report")
    for name, text in EXPORT.items():
        (folder / name).write_text(text, encoding="utf-8")
    return fa.load_org(folder)


def _by(df, key):
    return df.set_index(key)


def test_source_matrix_counts_mature_leads(crm):
    m = _by(report.source_matrix(crm, as_of=AS_OF), "lead_source")
    assert m["leads"].to_dict() == {"Event": 1, "Referral": 2, "Web": 3}  # L6 is too new
    assert m["converted"].to_dict() == {"Event": 1, "Referral": 1, "Web": 1}
    assert m.loc["Web", "won_revenue"] == 1000 and m.loc["Referral", "closed"] == 1
    assert m.loc["Referral", "won"] == 0
    everyone = report.source_matrix(crm, as_of=AS_OF, mature_days=0)
    assert everyone["leads"].sum() == 7


def test_source_matrix_where_and_by(crm):
    m = _by(report.source_matrix(crm, as_of=AS_OF, where=EMEA), "lead_source")
    assert m["leads"].to_dict() == {"Referral": 1, "Web": 2}  # L4; L1, L3
    by_owner = _by(report.source_matrix(crm, as_of=AS_OF, by="owner_id"), "owner_id")
    assert by_owner["leads"].to_dict() == {"U1": 3, "U2": 3}


def test_source_matrix_bad_where_fails(crm):
    with pytest.raises(ValueError):
        report.source_matrix(crm, as_of=AS_OF, where="lead_source ==")


def test_compare_sources_defaults_to_the_two_largest(crm):
    r = report.compare_sources(crm, as_of=AS_OF).iloc[0]
    assert (r["a"], r["b"]) == ("Web", "Referral")  # 3 and 2 mature leads
    assert (r["successes_a"], r["trials_a"], r["successes_b"], r["trials_b"]) == (1, 3, 1, 2)
    assert r["difference"] == pytest.approx(1 / 3 - 1 / 2)
    assert r["difference_ci_low"] < r["difference"] < r["difference_ci_high"]
    given = report.compare_sources(crm, as_of=AS_OF, a="Event").iloc[0]
    assert (given["a"], given["b"]) == ("Event", "Web")
    emea = report.compare_sources(crm, as_of=AS_OF, where=EMEA).iloc[0]
    assert (emea["a"], emea["trials_a"], emea["b"], emea["trials_b"]) == ("Web", 2, "Referral", 1)


def test_compare_sources_failures(crm):
    with pytest.raises(ValueError, match="one column"):
        report.compare_sources(crm, as_of=AS_OF, by=["lead_source", "owner_id"])
    one = report.compare_sources(crm, as_of=AS_OF, where="lead_source == 'Event'")  # said, not raised
    assert (
        len(one) == 0
        and missing_reason(one) == "fewer than two lead_source segments with mature leads to compare (1 found)"
    )


def test_campaign_matrix_sorted_by_won_revenue(crm):
    m = report.campaign_matrix(crm, as_of=AS_OF)
    assert m["campaign_id"].tolist() == ["C1", "C2"] and m.index.tolist() == [0, 1]
    assert m["won_revenue"].tolist() == [1000, 0] and m["leads"].tolist() == [2, 1]
    assert m["cost_per_lead"].tolist() == [50, 50]  # 100 / 2, 50 / 1
    amer = _by(report.campaign_matrix(crm, as_of=AS_OF, where="owner.region == 'AMER'"), "campaign_id")
    assert amer["leads"].to_dict() == {"C1": 1, "C2": 0}  # L2; every campaign keeps its row


def test_campaign_matrix_bad_as_of_fails(crm):
    with pytest.raises(ValueError):
        report.campaign_matrix(crm, as_of="not a day")


def test_attribution_summary_credits_the_won_deals(crm):
    a = _by(report.attribution_summary(crm, as_of=AS_OF), "campaign_id")
    # O1 (1000) was touched by C1 only (L1 joined 01-06, before O1 on 01-20); O4 (200) has no lead
    for model in ("first_touch", "last_touch", "linear", "u_shaped"):
        assert a[f"{model}_value"].to_dict() == {"C1": 1000, "(no campaign)": 200}
    assert a.loc["C1", "name"] == "Webinar"
    big = report.attribution_summary(crm, as_of=AS_OF, where="amount >= 500", models=["linear"])
    assert big["campaign_id"].tolist() == ["C1"] and big.columns.tolist()[-2:] == [
        "linear_opportunities",
        "linear_value",
    ]


def test_attribution_summary_unknown_model_fails(crm):
    with pytest.raises(ValueError, match="model"):
        report.attribution_summary(crm, as_of=AS_OF, models=["w_shaped"])


def test_speed_to_lead_mature_leads(crm):
    s = _by(report.speed_to_lead(crm, as_of=AS_OF), "bucket")
    assert s["leads"].to_dict() == {"<1h": 1, "1-24h": 0, "1-7d": 1, ">7d": 0, "never": 4, "all": 6}
    assert s.loc["all", "converted"] == 3 and s.loc["<1h", "converted"] == 1
    assert s.loc["all", "median_hours"] == pytest.approx((0.5 + 48) / 2)
    web = report.speed_to_lead(crm, as_of=AS_OF, by="lead_source")
    web = web[web["lead_source"] == "Web"].set_index("bucket")
    assert web.loc[["<1h", "1-7d", "never", "all"], "leads"].tolist() == [1, 1, 1, 3]
    emea = _by(report.speed_to_lead(crm, as_of=AS_OF, where=EMEA), "bucket")
    assert emea.loc["all", "leads"] == 3 and emea.loc["<1h", "leads"] == 1  # L1, L3, L4


def test_speed_to_lead_bad_mature_days_fails(crm):
    with pytest.raises(ValueError, match="mature_days"):
        report.speed_to_lead(crm, as_of=AS_OF, mature_days=-1)


def test_pipeline_waterfall_of_the_last_complete_quarter(crm):
    w = report.pipeline_waterfall(crm, as_of=AS_OF)  # Q2 ends on as_of: it is complete
    assert isinstance(w, PipelineWaterfall) and w.period == "FY2024-Q2"
    assert (w.start, w.end) == (pd.Timestamp("2024-03-31"), pd.Timestamp("2024-06-30"))
    assert w.close_window == (pd.Timestamp("2024-04-01"), pd.Timestamp("2024-06-30"))
    # start: O2 500 + O3 300 open and due in Q2; O2 lost, O4 new and won, O3 still open at the end
    t = w.summary.iloc[0]
    assert [t[k] for k in ("start", "new", "won", "lost", "end")] == [800, 200, 200, 500, 300]
    assert (t["period"], t["start_date"], t["end_date"]) == ("FY2024-Q2", w.start, w.end)
    # a day inside Q3: the last complete quarter is still Q2; fiscal years starting in February: FY2025-Q1
    assert report.pipeline_waterfall(crm, as_of="2024-07-15").period == "FY2024-Q2"
    feb = report.pipeline_waterfall(crm, as_of=AS_OF, fiscal_year_start_month=2)
    assert (feb.period, feb.start, feb.end) == ("FY2025-Q1", pd.Timestamp("2024-01-31"), pd.Timestamp("2024-04-30"))


def test_pipeline_waterfall_where_and_by(crm):
    emea = report.pipeline_waterfall(crm, as_of=AS_OF, where=EMEA).totals.iloc[0]
    assert [emea[k] for k in ("start", "lost", "end")] == [500, 500, 0]  # O2 alone
    by_owner = report.pipeline_waterfall(crm, as_of=AS_OF, by="owner_id").totals.set_index("owner_id")
    assert by_owner["end"].to_dict() == {"U1": 0, "U2": 300}
    assert by_owner["owner_name"].to_dict() == {"U1": "Ann", "U2": "Bob"}  # the users' names beside their IDs


def test_pipeline_waterfall_bad_period_fails(crm):
    with pytest.raises(ValueError):
        report.pipeline_waterfall(crm, as_of=AS_OF, period="fortnight")


def test_activity_win_relation_of_the_closed_deals(crm):
    r = _by(report.activity_win_relation(crm, as_of=AS_OF), "bucket")
    # O4 won with no activity; O1 won with 2, O2 lost with 1 (before their close dates)
    assert r["closed"].to_dict() == {"0": 1, "1-2": 2, "3-5": 0, "6+": 0}
    assert r["won"].to_dict() == {"0": 1, "1-2": 1, "3-5": 0, "6+": 0}
    assert {"win_rate_ci_low", "win_rate_ci_high"} <= set(r.columns)
    emea = _by(report.activity_win_relation(crm, as_of=AS_OF, where=EMEA), "bucket")
    assert emea["closed"].to_dict() == {"0": 0, "1-2": 2, "3-5": 0, "6+": 0}


def test_activity_win_relation_bad_confidence_fails(crm):
    with pytest.raises(ValueError):
        report.activity_win_relation(crm, as_of=AS_OF, confidence=95)


def test_every_entry_point_defaults_to_the_latest_day(crm):
    # the latest date in the data is 2024-06-20 (L6's creation): Q1 is the last complete quarter
    assert report.pipeline_waterfall(crm).period == "FY2024-Q1"
    assert (
        report.source_matrix(crm, as_of="")["leads"].sum()
        == report.source_matrix(crm, as_of="2024-06-20")["leads"].sum()
    )


# --- sections whose inputs the export lacks say so in one line (bug 6, #15) -----------------------------------


def _org_without(tmp_path, *files, replace=None):
    import funnel_analysis as fa

    for name, text in {**EXPORT, **(replace or {})}.items():
        if name not in files:
            (tmp_path / name).write_text(text, encoding="utf-8")
    return fa.load_org(tmp_path)


def test_no_activities_is_said_not_shown_as_never_contacted(tmp_path, crm):
    from funnel_analysis._util.missing import missing_reason

    org = _org_without(tmp_path, "Task.csv")
    speed = report.speed_to_lead(org, as_of=AS_OF)
    assert missing_reason(speed) == (
        "the export has no activities (Task.csv, Event.csv): speed to lead cannot be measured "
        "(every lead would read as never contacted)"
    )
    assert "bucket" in speed.columns  # the usual result, marked
    relation = report.activity_win_relation(org, as_of=AS_OF)
    assert missing_reason(relation).startswith("the export has no activities (Task.csv, Event.csv): activity cannot")
    assert relation["bucket"].tolist() == ["0", "1-2", "3-5", "6+"]
    # the sections that do not need activities are real results; with activities, nothing is marked
    assert missing_reason(report.source_matrix(org, as_of=AS_OF)) is None
    assert missing_reason(report.speed_to_lead(crm, as_of=AS_OF)) is None
    assert missing_reason(report.activity_win_relation(crm, as_of=AS_OF)) is None


def test_activities_linked_to_nothing_or_after_the_day(tmp_path, crm):
    from funnel_analysis._util.missing import missing_reason

    tasks = (
        "Id,WhoId,WhatId,ActivityDate,Type,Status,CreatedDate\n"
        "T1,003X,001X,2024-01-05,Call,Completed,2024-01-05T08:30:00.000+0000\n"  # a contact and an account
    )
    org = _org_without(tmp_path, replace={"Task.csv": tasks})
    assert missing_reason(report.speed_to_lead(org, as_of=AS_OF)).startswith(
        "no activity in the export is linked to a lead (who_id): speed to lead cannot be measured"
    )
    assert missing_reason(report.activity_win_relation(org, as_of=AS_OF)).startswith(
        "no activity in the export is linked to an opportunity (what_id)"
    )
    # on 2024-01-04 no activity of the full org is done yet (the first is dated 01-05)
    assert missing_reason(report.activity_win_relation(crm, as_of="2024-01-04")).startswith(
        "the export has no activities on or before 2024-01-04"
    )


def test_no_campaign_members_is_said_in_the_campaign_sections(tmp_path, crm):
    from funnel_analysis._util.missing import missing_reason

    org = _org_without(tmp_path, "CampaignMember.csv")
    matrix = report.campaign_matrix(org, as_of=AS_OF)
    assert missing_reason(matrix) == (
        "the export has no campaign members (CampaignMember.csv): no lead can be tied to a campaign"
    )
    assert matrix["campaign_id"].tolist() == ["C1", "C2"]  # the campaigns keep their rows
    assert missing_reason(report.attribution_summary(org, as_of=AS_OF)) == (
        "the export has no campaign members (CampaignMember.csv): no deal can be credited to a campaign"
    )
    assert missing_reason(report.campaign_matrix(crm, as_of=AS_OF)) is None
    assert missing_reason(report.attribution_summary(crm, as_of=AS_OF)) is None


def test_no_leads_is_said_in_the_lead_sections(tmp_path):
    from funnel_analysis._util.missing import missing_reason

    org = _org_without(tmp_path, "Lead.csv")
    reason = "the export has no leads (Lead.csv)"
    assert missing_reason(report.source_matrix(org, as_of=AS_OF)) == f"{reason}: no lead source to compare"
    compared = report.compare_sources(org, as_of=AS_OF)  # fewer than two segments: said, not raised
    assert missing_reason(compared) == f"{reason}: no lead source to compare" and "p_value" in compared.columns
    assert missing_reason(report.speed_to_lead(org, as_of=AS_OF)).startswith(reason)


# ---- contact roles, queue owners -------------------------------------------------------------------------
def _roles_org(with_roles=True):
    """Account A1 with contacts K1, K2, K3. Deals, both won and created 03-01: D1 (1000), D2 (400).

    Memberships, all before 03-01: K1 in W (01-10), K2 in E (01-20), K3 in T (02-01); lead L1, converted
    into D2, in W (01-05). Contact roles (OpportunityContactRole.csv): D1 -> K1 (primary), K2; D2 none.
    """
    from funnel_analysis.crm import load_frames

    t = "T08:00:00.000+0000"
    frames = {
        "Opportunity": pd.DataFrame(
            {
                "Id": ["D1", "D2"],
                "AccountId": ["A1", "A1"],
                "StageName": ["Closed Won", "Closed Won"],
                "Amount": [1000, 400],
                "CreatedDate": [f"2024-03-01{t}"] * 2,
                "CloseDate": ["2024-04-01", "2024-04-01"],
                "IsClosed": [True, True],
                "IsWon": [True, True],
                "OwnerId": ["00GQ", "005A"],
            }
        ),
        "Contact": pd.DataFrame({"Id": ["K1", "K2", "K3"], "AccountId": ["A1"] * 3, "LastName": ["a", "b", "c"]}),
        "Lead": pd.DataFrame(
            {
                "Id": ["L1"],
                "CreatedDate": [f"2024-01-02{t}"],
                "IsConverted": [True],
                "ConvertedDate": ["2024-03-01"],
                "ConvertedOpportunityId": ["D2"],
            }
        ),
        "Campaign": pd.DataFrame({"Id": ["W", "E", "T"], "Name": ["Webinar", "Email", "Trade show"]}),
        "CampaignMember": pd.DataFrame(
            {
                "Id": ["M1", "M2", "M3", "M4"],
                "CampaignId": ["W", "E", "T", "W"],
                "ContactId": ["K1", "K2", "K3", None],
                "LeadId": [None, None, None, "L1"],
                "CreatedDate": [f"2024-01-10{t}", f"2024-01-20{t}", f"2024-02-01{t}", f"2024-01-05{t}"],
            }
        ),
    }
    if with_roles:
        frames["OpportunityContactRole"] = pd.DataFrame(
            {
                "Id": ["R1", "R2"],
                "OpportunityId": ["D1", "D1"],
                "ContactId": ["K1", "K2"],
                "Role": ["Decision Maker", "Evaluator"],
                "IsPrimary": [True, False],
                "CreatedDate": [f"2024-03-01{t}"] * 2,
            }
        )
    return load_frames(frames)


def test_attribution_credits_the_deals_contact_roles():
    out = report.attribution_summary(_roles_org(), as_of=AS_OF, models=["linear"]).set_index("campaign_id")
    # by hand, linear: D1's roles K1 (W) and K2 (E): 500 each; K3 is no role of D1, so T gets nothing.
    # D2 has no role: its converted lead L1 (W) only, 400. W = 500 + 400, E = 500
    assert out["linear_value"].to_dict() == {"E": 500.0, "W": 900.0}
    assert out["linear_opportunities"].to_dict() == {"E": 0.5, "W": 1.5}
    assert out.attrs["note"] == (
        "credited: each deal's contact roles (OpportunityContactRole.csv) and the lead converted into it, "
        "as Salesforce's Campaign Influence; 1 of 2 won deals have no contact role and are credited through "
        "their converted lead only"
    )


def test_attribution_falls_back_to_the_accounts_contacts_without_contact_roles():
    out = report.attribution_summary(_roles_org(with_roles=False), as_of=AS_OF, models=["linear"])
    out = out.set_index("campaign_id")
    # by hand, linear: D1 by K1 (W), K2 (E), K3 (T): 1000 / 3 each; D2 by L1 (W), K1 (W), K2 (E), K3 (T):
    # 100 each. W = 333.33 + 200, E = T = 333.33 + 100; together 1400, the won value
    expected = {"E": 1000 / 3 + 100, "T": 1000 / 3 + 100, "W": 1000 / 3 + 200}
    assert out["linear_value"].to_dict() == pytest.approx(expected)
    assert out["linear_value"].sum() == pytest.approx(1400)
    assert "the export has no OpportunityContactRole.csv" in out.attrs["note"]
    lead_only = report.attribution_summary(
        _roles_org(with_roles=False), as_of=AS_OF, models=["linear"], account_contacts=False
    ).set_index("campaign_id")
    # D1 has no converted lead: no campaign; D2 by L1 (W)
    assert lead_only["linear_value"].to_dict() == {"W": 400.0, "(no campaign)": 1000.0}


def test_source_matrix_by_owner_names_users_and_queues():
    from funnel_analysis.crm import load_frames

    leads = pd.DataFrame(
        {
            "Id": ["00QA", "00QB", "00QC"],
            "CreatedDate": ["2024-01-02T08:00:00.000+0000"] * 3,
            "LeadSource": ["Web"] * 3,
            "OwnerId": ["005A", "00GQ", "00GQ"],  # Ann, then two leads waiting in the EMEA queue
            "IsConverted": [True, False, False],
            "ConvertedDate": ["2024-01-10", None, None],
        }
    )
    crm = load_frames(
        {
            "Lead": leads,
            "User": pd.DataFrame({"Id": ["005A"], "Name": ["Ann Lee"]}),
            "Group": pd.DataFrame({"Id": ["00GQ"], "Name": ["EMEA Queue"], "Type": ["Queue"]}),
        }
    )
    got = report.source_matrix(crm, as_of=AS_OF, by="owner_id").set_index("owner_name")
    assert got["leads"].to_dict() == {"Ann Lee": 1, "EMEA Queue": 2}
    assert got["converted"].to_dict() == {"Ann Lee": 1, "EMEA Queue": 0}
    assert crm.flags.empty  # the queue owner is not an unresolved reference
