"""CrmData.where / crm.scope.scope_org: one filter for the whole org, children following their parents.

The org is built by hand below; every expected row list is written out from the rules of
funnel_analysis/crm/scope.py, not computed by the code under test.
"""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.crm.expression import ExpressionError
from funnel_analysis.crm.scope import scope_org

D = "2024-01-10T10:00:00.000+0000"


@pytest.fixture(scope="module")
def org():
    frames = {
        "User": pd.DataFrame(
            {"Id": ["005A", "005B"], "Name": ["Ann", "Bo"], "Region__c": ["EMEA", "APAC"], "CreatedDate": [D, D]}
        ),
        "Account": pd.DataFrame(
            {
                "Id": ["001A", "001B"],
                "Name": ["Acme", "Bolt"],
                "Region__c": ["EMEA", "APAC"],
                "OwnerId": ["005A", "005B"],
                "CreatedDate": [D, D],
            }
        ),
        "Opportunity": pd.DataFrame(
            {
                "Id": ["006A", "006B", "006C"],
                "Name": ["Acme deal", "Bolt deal", "Bolt upsell"],
                "AccountId": ["001A", "001B", "001B"],
                "OwnerId": ["005A", "005B", "005A"],  # 006C: an EMEA owner on an APAC account
                "StageName": ["Prospecting", "Closed Won", "Prospecting"],
                "Amount": [100, 200, 300],
                "CreatedDate": [D, D, D],
                "CloseDate": ["2024-06-30"] * 3,
            }
        ),
        "OpportunityHistory": pd.DataFrame(
            {
                "Id": ["008A", "008B", "008C", "008D"],
                "OpportunityId": ["006A", "006B", "006B", "006C"],
                "StageName": ["Prospecting", "Prospecting", "Closed Won", "Prospecting"],
                "Amount": [100, 200, 200, 300],
                "CloseDate": ["2024-06-30"] * 4,
                "CreatedDate": [D, D, "2024-02-01T10:00:00.000+0000", D],
            }
        ),
        "Contact": pd.DataFrame(
            {
                "Id": ["003A", "003B"],
                "LastName": ["Ames", "Bell"],
                "AccountId": ["001A", "001B"],
                "OwnerId": ["005A", "005B"],
                "CreatedDate": [D, D],
            }
        ),
        "OpportunityContactRole": pd.DataFrame(
            {
                "Id": ["00KA", "00KC"],
                "OpportunityId": ["006A", "006C"],
                "ContactId": ["003A", "003B"],
                "CreatedDate": [D, D],
            }
        ),
        "Lead": pd.DataFrame(
            {
                "Id": ["00QA", "00QB"],
                "LastName": ["Lane", "Lowe"],
                "Company": ["Lane Ltd", "Bolt"],
                "Status": ["Working - Contacted", "Closed - Converted"],
                "OwnerId": ["005A", "005B"],
                "IsConverted": [False, True],
                "ConvertedDate": ["", "2024-01-10"],
                "ConvertedOpportunityId": ["", "006B"],
                "ConvertedAccountId": ["", "001B"],
                "ConvertedContactId": ["", "003B"],
                "CreatedDate": [D, D],
            }
        ),
        "Task": pd.DataFrame(
            {
                "Id": ["00TA", "00TB", "00TC", "00TD"],
                "WhatId": ["006C", "", "001A", ""],
                "WhoId": ["", "00QB", "", ""],
                "OwnerId": ["005B", "005B", "005B", "005A"],  # 00TD: no parent, an EMEA owner
                "Subject": ["call", "mail", "visit", "note"],
                "ActivityDate": ["2024-01-11"] * 4,
                "CreatedDate": [D] * 4,
            }
        ),
        "Campaign": pd.DataFrame({"Id": ["701A"], "Name": ["Webinar"], "CreatedDate": [D]}),
        "CampaignMember": pd.DataFrame(
            {
                "Id": ["00vA", "00vB"],
                "CampaignId": ["701A", "701A"],
                "LeadId": ["00QA", ""],
                "ContactId": ["", "003B"],
                "CreatedDate": [D, D],
            }
        ),
    }
    return load_frames(frames)


def short(df, column):
    return sorted(df[column].astype(str).str[:4])


def test_owner_filter_children_follow_their_parents(org):
    emea = org.where("owner.region == 'EMEA'")
    assert short(emea.leads, "lead_id") == ["00QA"]
    assert short(emea.opportunities, "opportunity_id") == ["006A", "006C"]
    # 001A is owned by an EMEA user; 001B stays as the account of the kept deal 006C
    assert short(emea.accounts, "account_id") == ["001A", "001B"]
    assert short(emea.contacts, "contact_id") == ["003A"]
    assert short(emea.opportunity_history, "history_id") == ["008A", "008D"]
    assert short(emea.contact_roles, "contact_role_id") == ["00KA", "00KC"]
    assert short(emea.campaign_members, "campaign_member_id") == ["00vA"]
    # 00TA follows deal 006C, 00TC account 001A, 00TD has no parent and an EMEA owner; 00TB's lead is out
    assert short(emea.activities, "activity_id") == ["00TA", "00TC", "00TD"]
    assert len(emea.users) == 2 and len(emea.campaigns) == 1  # reference tables stay whole
    assert emea.meta["scope"]["unreached"] == []
    assert sorted(emea.meta["scope"]["anchors"]) == ["accounts", "contacts", "leads", "opportunities"]


def test_account_filter_keeps_the_accounts_deals_and_contacts_and_says_leads_are_out(org):
    emea = org.where('account.region == "EMEA"')
    assert short(emea.accounts, "account_id") == ["001A"]
    assert short(emea.opportunities, "opportunity_id") == ["006A"]
    assert short(emea.contacts, "contact_id") == ["003A"]
    assert short(emea.opportunity_history, "history_id") == ["008A"]
    assert short(emea.contact_roles, "contact_role_id") == ["00KA"]
    assert short(emea.activities, "activity_id") == ["00TC"]
    assert len(emea.leads) == 0 and len(emea.campaign_members) == 0
    assert emea.meta["scope"]["unreached"] == ["leads"]
    assert "leads left out" in emea.meta["scope"]["notes"][0]


def test_lead_only_filter_deals_follow_their_leads(org):
    converted = org.where("status == 'Closed - Converted'")
    assert short(converted.leads, "lead_id") == ["00QB"]
    assert short(converted.opportunities, "opportunity_id") == ["006B"]
    assert short(converted.accounts, "account_id") == ["001B"]
    # contacts: those of the kept account 001B and the lead's converted contact (the same one)
    assert short(converted.contacts, "contact_id") == ["003B"]
    assert short(converted.opportunity_history, "history_id") == ["008B", "008C"]
    assert short(converted.activities, "activity_id") == ["00TB"]  # the lead's own task


def test_scoped_org_is_new_and_cuts_as_of(org):
    emea = org.where("owner.region == 'EMEA'")
    assert emea is not org and len(org.opportunities) == 3  # the whole org is unchanged
    assert emea.meta["fingerprint"] != org.meta["fingerprint"] and len(emea.meta["fingerprint"]) == 32
    assert emea.meta["scope"]["source_fingerprint"] == org.meta["fingerprint"]
    assert org.where("") is org
    cut = emea.as_of("2024-03-31")
    assert short(cut.opportunities, "opportunity_id") == ["006A", "006C"]


@pytest.mark.parametrize(
    "bad",
    ["regon == 'EMEA'", '__import__("os").system("id")', "region == 'x'; DROP TABLE leads", "().__class__"],
)
def test_bad_filters_are_refused_in_one_line(org, bad):
    with pytest.raises(ExpressionError) as e:
        org.where(bad)
    assert str(e.value).startswith("where: ")


def test_scope_org_refuses_what_is_not_an_org():
    with pytest.raises(TypeError, match="must be a CrmData"):
        scope_org({"leads": pd.DataFrame()}, where="owner.region == 'EMEA'")


def test_field_values_pool_the_tables_that_read_the_field(org):
    from funnel_analysis.crm.scope import field_values

    assert field_values(org, path="owner.region") == ["APAC", "EMEA"]
    assert field_values(org, path="account.region") == ["APAC", "EMEA"]  # deals, contacts and the accounts themselves
    assert field_values(org, path="status") == ["Closed - Converted", "Working - Contacted"]  # leads only
    with pytest.raises(ExpressionError, match="regon"):
        field_values(org, path="owner.regon")
    with pytest.raises(ExpressionError):
        field_values(org, path="owner.region == 'x'")


def test_a_second_scope_follows_replaced_users_and_activities(org):
    """The owners and the parentless activities are worked out once per org: a replaced table is read again."""
    import dataclasses

    assert short(org.where("owner.region == 'APAC'").activities, "activity_id") == ["00TB"]  # by its lead 00QB
    # Bo (005B) moves to EMEA: his deal 006B, lead 00QB, account 001B and their children are EMEA's now
    users = org.users.assign(region=["EMEA", "EMEA"])
    moved = dataclasses.replace(org, tables={**org.tables, "users": users})
    assert short(moved.where("owner.region == 'EMEA'").opportunities, "opportunity_id") == ["006A", "006B", "006C"]
    assert short(moved.where("owner.region == 'APAC'").opportunities, "opportunity_id") == []
    # a new activity table in which 00TB has no parent (its lead is gone from WhoId): parentless, Bo's (APAC)
    acts = org.activities.assign(who_id=[None] * 4)
    orphaned = dataclasses.replace(org, tables={**org.tables, "activities": acts})
    # 00TB and 00TD have no parent now: APAC keeps 00TB by its own owner (Bo), EMEA 00TD (Ann)
    assert short(orphaned.where("owner.region == 'APAC'").activities, "activity_id") == ["00TB"]
    assert short(orphaned.where("owner.region == 'EMEA'").activities, "activity_id") == ["00TA", "00TC", "00TD"]
    # and the org scoped first is as it was: 00TB kept by its lead, 006B by its owner
    assert short(org.where("owner.region == 'APAC'").activities, "activity_id") == ["00TB"]
    assert short(org.where("owner.region == 'APAC'").opportunities, "opportunity_id") == ["006B"]


def test_scope_source_is_the_org_scoped_from_while_the_tables_are_the_same(org):
    from funnel_analysis.crm.scope import scope_source

    emea = org.where("owner.region == 'EMEA'")
    assert scope_source(emea) is org
    assert scope_source(emea.where("stage_name == 'Prospecting'")) is emea  # a scope of a scope: its own parent


def test_scope_source_is_none_for_an_org_not_scoped_or_changed_since(org):
    import dataclasses

    from funnel_analysis.crm.scope import scope_source

    assert scope_source(org) is None
    emea = org.where("owner.region == 'EMEA'")
    emea.tables["opportunities"] = emea.opportunities.iloc[:1]  # a table replaced in place
    assert scope_source(emea) is None
    # a copy of the org (its own tables dict) is not the scope either
    assert scope_source(dataclasses.replace(org.where("owner.region == 'EMEA'"))) is None
