"""The per-org memo of routing results: reused only for the same tables and rules, never shared by reference."""

import pandas as pd

from funnel_analysis.crm import load_frames
from funnel_analysis.routing import owner_timeline, parse_rules, rule_audit
from funnel_analysis.routing._memo import memoised

U1, U2 = "005000000000001AAA", "005000000000002AAA"


def org():
    return load_frames(
        {
            "Lead": pd.DataFrame(
                {
                    "Id": ["00Q000000000001AAA", "00Q000000000002AAA"],
                    "CreatedDate": ["2025-01-01T10:00:00Z", "2025-01-02T10:00:00Z"],
                    "LeadSource": ["Web", "Phone"],
                    "OwnerId": [U1, U2],
                }
            ),
            "User": pd.DataFrame(
                {"Id": [U1, U2], "IsActive": ["true"] * 2, "CreatedDate": ["2024-01-01T00:00:00Z"] * 2}
            ),
        }
    )


def rules(user):
    return parse_rules(
        {"lead_assignment": [{"name": "Web", "criteria": "lead_source == 'Web'", "assign_to": {"user": user}}]}
    )


def test_built_once_per_rules_and_a_copy_each_call():
    crm, calls = org(), []

    def build():
        calls.append(1)
        return pd.DataFrame({"x": [1, 2]})

    a = memoised(crm, "t", rules(U1), build)
    a.loc[0, "x"] = 99  # a caller changing its copy changes nothing kept
    b = memoised(crm, "t", rules(U1), build)  # equal rules, another object: reused
    assert len(calls) == 1 and b["x"].tolist() == [1, 2]
    memoised(crm, "t", rules(U2), build)  # other rules: built again
    assert len(calls) == 2


def test_replacing_a_table_rebuilds():
    crm, calls = org(), []
    memoised(crm, "t", None, lambda: calls.append(1) or pd.DataFrame())
    crm.tables["leads"] = crm.tables["leads"].copy()
    memoised(crm, "t", None, lambda: calls.append(1) or pd.DataFrame())
    assert len(calls) == 2


def test_the_audit_follows_the_rules_it_is_given():
    # lead 1 (Web) goes to whoever the rules name; owned by U1, so misrouted only under the U2 rules
    crm = org()
    assert bool(rule_audit(crm, rules=rules(U1))["misrouted"].iloc[0]) is False
    under_u2 = rule_audit(crm, rules=rules(U2))
    assert bool(under_u2["misrouted"].iloc[0]) is True
    assert under_u2["expected_owner_id"].iloc[0] == U2
    assert bool(rule_audit(crm, rules=rules(U1))["misrouted"].iloc[0]) is False  # and back
    tl = owner_timeline(crm)
    tl.loc[0, "owner_id"] = "changed"
    assert owner_timeline(crm).loc[0, "owner_id"] == U1


def test_an_engine_only_org_reading_another_table_keeps_its_entries_and_a_stale_one_goes():
    crm, calls = org(), []
    crm.meta["engine_only"] = ["leads"]  # as an engine-only org: tables read from its cache as asked for

    def build():
        calls.append(1)
        return pd.DataFrame({"x": [len(calls)]})

    memoised(crm, "t", None, build)
    crm.tables["activities"] = pd.DataFrame()  # read after the entry was built: the entry still holds
    assert memoised(crm, "t", None, build)["x"].tolist() == [1] and len(calls) == 1
    crm.tables["leads"] = crm.tables["leads"].copy()  # a table it was built with changed: built again
    assert memoised(crm, "t", None, build)["x"].tolist() == [2]
    assert len(crm.__dict__["_routing_memo"]["t"]) == 1  # the stale entry is not kept beside the new one


def test_an_org_that_is_not_engine_only_rebuilds_when_a_table_is_added():
    crm, calls = org(), []
    memoised(crm, "t", None, lambda: calls.append(1) or pd.DataFrame())
    crm.tables["activities"] = pd.DataFrame()
    memoised(crm, "t", None, lambda: calls.append(1) or pd.DataFrame())
    assert len(calls) == 2
