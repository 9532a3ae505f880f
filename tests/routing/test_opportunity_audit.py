"""Opportunity assignment by deal size, and criteria judged on the values at creation (field history).

Expected entries and owners are worked out here by hand or by a short loop in the test, never by the product.
"""

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.routing import (
    RulesError,
    assign_opportunities,
    misroute_summary,
    opportunity_audit,
    parse_rules,
    rule_audit,
    values_at_creation,
)

S = ["005000000000001AAA", "005000000000002AAA"]  # the Strategic AEs
E = ["005000000000003AAA", "005000000000004AAA"]  # the EMEA AEs
OTHER = "005000000000005AAA"
ACC = ["001000000000001AAA", "001000000000002AAA"]  # EMEA, NA


def opp_id(i):
    return f"0060000000000{i:02d}AAA"


RULES = parse_rules(
    {
        "teams": {"Strategic": {"members": S}, "EMEA AEs": {"members": E}},
        "opportunity_assignment": [
            {"name": "Large", "criteria": "amount >= 75000", "assign_to": {"team": "Strategic"}},
            {"name": "EMEA", "criteria": "account.region == 'EMEA'", "assign_to": {"team": "EMEA AEs"}},
        ],
        "default_opportunity_owner": {"user": OTHER},
    }
)


def deal_org():
    # six deals, one a day from 1 January; amounts at creation (first history row) and now differ for two:
    #   O1 90k (large), O2 10k EMEA, O3 80k at creation but 50k now (large: judged at creation),
    #   O4 20k at creation, 100k now (not large: EMEA), O5 95k NA (large), O6 5k NA (the default)
    created = [f"2025-01-0{i}T10:00:00Z" for i in range(1, 7)]
    at_creation = ["90000", "10000", "80000", "20000", "95000", "5000"]
    now = ["90000", "10000", "50000", "100000", "95000", "5000"]
    account = [ACC[0], ACC[0], ACC[0], ACC[0], ACC[1], ACC[1]]
    owner = [S[0], E[0], E[1], E[1], S[0], OTHER]  # O3, a large deal, went to an EMEA AE
    opps = pd.DataFrame(
        {
            "Id": [opp_id(i) for i in range(1, 7)],
            "AccountId": account,
            "StageName": ["Prospecting"] * 6,
            "Amount": now,
            "CloseDate": ["2025-03-31"] * 6,
            "CreatedDate": created,
            "OwnerId": owner,
        }
    )
    hist = pd.DataFrame(
        {
            "Id": [f"0080000000000{i:02d}AAA" for i in range(1, 9)],
            "OpportunityId": [opp_id(i) for i in range(1, 7)] + [opp_id(3), opp_id(4)],
            "CreatedDate": created + ["2025-01-20T10:00:00Z", "2025-01-21T10:00:00Z"],
            "StageName": ["Prospecting"] * 8,
            "Amount": at_creation + ["50000", "100000"],
            "CloseDate": ["2025-03-31"] * 8,
        }
    )
    accounts = pd.DataFrame({"Id": ACC, "Name": ["A", "B"], "Region__c": ["EMEA", "NA"]})
    users = pd.DataFrame({"Id": [*S, *E, OTHER], "IsActive": ["true"] * 5, "CreatedDate": ["2024-01-01T00:00:00Z"] * 5})
    return load_frames({"Opportunity": opps, "OpportunityHistory": hist, "Account": accounts, "User": users})


def test_deals_routed_by_size_at_creation_with_a_round_robin_written_in_the_test():
    a = opportunity_audit(deal_org(), rules=RULES, as_of="2025-02-01")
    amount = {1: 90000, 2: 10000, 3: 80000, 4: 20000, 5: 95000, 6: 5000}
    region = {1: "EMEA", 2: "EMEA", 3: "EMEA", 4: "EMEA", 5: "NA", 6: "NA"}
    want_entry, want_expected, pointer = [], [], {"Strategic": 0, "EMEA AEs": 0}
    members = {"Strategic": S, "EMEA AEs": E}
    for i in range(1, 7):  # first match wins; round robin per team in creation order
        team = "Strategic" if amount[i] >= 75000 else ("EMEA AEs" if region[i] == "EMEA" else None)
        want_entry.append({"Strategic": "Large", "EMEA AEs": "EMEA", None: "default"}[team])
        if team is None:
            want_expected.append(OTHER)
        else:
            want_expected.append(members[team][pointer[team] % 2])
            pointer[team] += 1
    assert a["opportunity_id"].tolist() == [opp_id(i) for i in range(1, 7)]
    assert a["entry"].tolist() == want_entry == ["Large", "EMEA", "Large", "EMEA", "Large", "default"]
    assert a["expected_owner_id"].tolist() == want_expected
    # owners now: O3 (large) is an EMEA AE's: misrouted; O5 is S[0]'s, a Strategic member: routed (team level)
    assert a["misrouted"].tolist() == [False, False, True, False, False, False]
    s = misroute_summary(a).set_index("entry")
    assert s.loc["Large", ["leads", "misrouted"]].tolist() == [3, 1]
    assert s.loc["all", "misroute_share"] == pytest.approx(1 / 6)


def test_no_opportunity_rules_give_an_empty_audit_and_a_bad_rule_one_error():
    empty = opportunity_audit(deal_org(), rules=parse_rules({"lead_assignment": []}))
    assert empty.empty and "no opportunity_assignment" in empty.attrs["note"]
    bad = parse_rules({"opportunity_assignment": [{"name": "X", "criteria": "no_such_field > 1",
                                                   "assign_to": {"user": OTHER}}]})  # fmt: skip
    with pytest.raises(RulesError, match="no_such_field"):
        opportunity_audit(deal_org(), rules=bad)
    with pytest.raises(RulesError, match="no_such_field"):
        assign_opportunities(deal_org().opportunities, bad)


def test_lead_criteria_are_judged_on_the_values_at_creation():
    # L1 created in Germany (EMEA), moved to the US on 10 Jan; L2 created in the US, moved to France on 10 Jan;
    # L3 never changed (France). The rules see L1 and L3 as EMEA, L2 as the default.
    leads = pd.DataFrame(
        {
            "Id": ["00Q000000000001AAA", "00Q000000000002AAA", "00Q000000000003AAA"],
            "LastName": ["A", "B", "C"],
            "Company": ["A", "B", "C"],
            "Status": ["Open"] * 3,
            "Country": ["US", "FR", "FR"],
            "OwnerId": [E[0], OTHER, E[1]],
            "CreatedDate": ["2025-01-01T10:00:00Z", "2025-01-02T10:00:00Z", "2025-01-03T10:00:00Z"],
        }
    )
    history = pd.DataFrame(
        {
            "Id": ["017000000000001AAA", "017000000000002AAA"],
            "LeadId": ["00Q000000000001AAA", "00Q000000000002AAA"],
            "Field": ["Country", "Country"],
            "OldValue": ["DE", "US"],
            "NewValue": ["US", "FR"],
            "CreatedDate": ["2025-01-10T10:00:00Z", "2025-01-10T11:00:00Z"],
        }
    )
    crm = load_frames({"Lead": leads, "LeadHistory": history})
    rules = parse_rules(
        {
            "teams": {"EMEA AEs": {"members": E}},
            "lead_assignment": [
                {"name": "EMEA", "criteria": "country in ('DE', 'FR')", "assign_to": {"team": "EMEA AEs"}}
            ],  # fmt: skip
            "default_owner": {"user": OTHER},
        }
    )
    a = rule_audit(crm, rules=rules, as_of="2025-02-01")
    assert a["entry"].tolist() == ["EMEA", "default", "EMEA"]
    assert a["misrouted"].tolist() == [False, False, False]
    assert "2 leads' from LeadHistory" in a.attrs["note"]
    frame = values_at_creation(crm, table="leads", columns=["country"])
    assert frame["country"].tolist() == ["DE", "US", "FR"] and frame.attrs["from_history"] == 2
    assert crm.leads["country"].tolist() == ["US", "FR", "FR"]  # the org is not modified


def test_values_at_creation_refuses_another_table():
    with pytest.raises(ValueError, match="leads' or 'opportunities'"):
        values_at_creation(deal_org(), table="accounts", columns=["name"])
