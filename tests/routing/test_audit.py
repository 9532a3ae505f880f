"""The rule audit on tiny hand-built orgs; expected owners worked out here, not by the product."""

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.routing import misroute_summary, parse_rules, rule_audit
from funnel_analysis.stats import wilson_interval

U = [f"00500000000000{i}AAA" for i in range(1, 6)]  # five reps
Q = "00G000000000001AAA"
DEFAULT = "005000000000009AAA"


def lead_id(i):
    return f"00Q0000000000{i:02d}AAA"


def rules(**extra):
    doc = {
        "version": 1,
        "teams": {
            "Enterprise": {"members": [U[0], U[1]]},
            "EMEA": {"members": [U[2], {"id": U[3], "active_from": "2025-01-05"}]},
        },
        "lead_assignment": [
            {"name": "Big", "criteria": "number_of_employees >= 1000", "assign_to": {"team": "Enterprise"}},
            {"name": "EMEA", "criteria": "country in ('DE', 'FR')", "assign_to": {"team": "EMEA"}},
            {"name": "Web", "criteria": "lead_source == 'Web'", "assign_to": {"queue": Q}},
        ],
        "default_owner": {"user": DEFAULT},
    }
    doc.update(extra)
    return parse_rules(doc)


def org(leads, history=None, users=None):
    frames = {"Lead": pd.DataFrame(leads)}
    frames["User"] = pd.DataFrame(
        users
        or {
            "Id": [*U, DEFAULT],
            "IsActive": ["true"] * 6,
            "CreatedDate": ["2024-01-01T00:00:00Z"] * 6,
        }
    )
    if history is not None:
        frames["LeadHistory"] = pd.DataFrame(history)
    return load_frames(frames)


def test_first_match_wins_and_the_default_catches_the_rest():
    # lead 1 matches Big and EMEA and Web: Big is first; lead 2 matches EMEA and Web: EMEA; lead 3 only Web;
    # lead 4 nothing (unknown size, US, Phone): the default owner
    crm = org(
        {
            "Id": [lead_id(i) for i in range(1, 5)],
            "CreatedDate": [f"2025-01-0{i}T10:00:00Z" for i in range(1, 5)],
            "NumberOfEmployees": ["5000", "10", "10", None],
            "Country": ["DE", "FR", "US", "US"],
            "LeadSource": ["Web", "Web", "Web", "Phone"],
            "OwnerId": [U[0], U[2], Q, DEFAULT],
        }
    )
    a = rule_audit(crm, rules=rules())
    assert a["entry"].tolist() == ["Big", "EMEA", "Web", "default"]
    assert a["target"].tolist() == ["Enterprise", "EMEA", Q, DEFAULT]
    assert a["expected_owner_id"].tolist() == [U[0], U[2], Q, DEFAULT]
    assert a["misrouted"].tolist() == [False, False, False, False]
    assert set(a["first_owner_source"]) == {"current_owner"}


def test_round_robin_skips_a_member_until_they_join():
    # EMEA = [U2, U3 (active from 2025-01-05)]; six German leads on 1..6 January; the pointer starts at U2:
    #   Jan 1: U2 (pointer -> U3);  Jan 2: U3 inactive, skip, U2 (pointer -> U3);  Jan 3 and 4 the same
    #   Jan 5: U3 is active -> U3 (pointer -> U2);  Jan 6: U2
    crm = org(
        {
            "Id": [lead_id(i) for i in range(1, 7)],
            "CreatedDate": [f"2025-01-0{i}T10:00:00Z" for i in range(1, 7)],
            "NumberOfEmployees": ["10"] * 6,
            "Country": ["DE"] * 6,
            "OwnerId": [U[2]] * 6,
        }
    )
    a = rule_audit(crm, rules=rules())
    assert a["expected_owner_id"].tolist() == [U[2]] * 4 + [U[3], U[2]]
    # the same joiner from their User.CreatedDate instead of active_from
    users = {
        "Id": [*U, DEFAULT],
        "CreatedDate": ["2024-01-01T00:00:00Z"] * 3 + ["2025-01-05T08:00:00Z"] + ["2024-01-01T00:00:00Z"] * 2,
    }
    r = rules(teams={"Enterprise": {"members": [U[0]]}, "EMEA": {"members": [U[2], U[3]]}})
    crm2 = org(
        {
            "Id": [lead_id(i) for i in range(1, 7)],
            "CreatedDate": [f"2025-01-0{i}T10:00:00Z" for i in range(1, 7)],
            "NumberOfEmployees": ["10"] * 6,
            "Country": ["DE"] * 6,
            "OwnerId": [U[2]] * 6,
        },
        users=users,
    )
    assert rule_audit(crm2, rules=r)["expected_owner_id"].tolist() == [U[2]] * 4 + [U[3], U[2]]


def test_twelve_leads_against_a_loop_written_here():
    # 12 leads in shuffled file order, two on the same second (ties broken by Id); Big -> Enterprise [U0, U1],
    # EMEA -> [U2, U3 from 2025-01-05], the rest default.
    created = ["2025-01-07", "2025-01-01", "2025-01-03", "2025-01-03", "2025-01-09", "2025-01-02",
               "2025-01-05", "2025-01-04", "2025-01-08", "2025-01-06", "2025-01-10", "2025-01-11"]  # fmt: skip
    sizes = [2000, 50, 1500, 5000, 10, 20, 3000, 30, 40, 1200, 60, 70]
    country = ["US", "DE", "US", "FR", "DE", "US", "DE", "FR", "DE", "US", "FR", "US"]
    ids = [lead_id(i) for i in (12, 3, 7, 5, 1, 9, 2, 11, 4, 8, 6, 10)]
    # the loop: leads by (created, id); per team a pointer that skips members not active that day
    teams = {"Enterprise": [(U[0], "0000"), (U[1], "0000")], "EMEA": [(U[2], "0000"), (U[3], "2025-01-05")]}
    expected, pointer = {}, {"Enterprise": 0, "EMEA": 0}
    for day, i, size, c in sorted(zip(created, ids, sizes, country)):
        team = "Enterprise" if size >= 1000 else "EMEA" if c in ("DE", "FR") else None
        if team is None:
            expected[i] = DEFAULT
            continue
        members = teams[team]
        j = next((pointer[team] + s) % 2 for s in range(2) if day >= members[(pointer[team] + s) % 2][1])
        expected[i], pointer[team] = members[j][0], j + 1
    owners = [expected[i] for i in ids]
    owners[4] = U[0]  # a German lead handed to an Enterprise rep: misrouted
    owners[6] = U[1]  # the other Enterprise rep than the round robin says: not misrouted (team level)
    crm = org(
        {
            "Id": ids,
            "CreatedDate": [f"{d}T12:00:00Z" for d in created],
            "NumberOfEmployees": [str(s) for s in sizes],
            "Country": country,
            "OwnerId": owners,
        }
    )
    a = rule_audit(crm, rules=rules()).set_index("lead_id")
    assert a.loc[ids, "expected_owner_id"].tolist() == [expected[i] for i in ids]
    assert a["misrouted"].sum() == 1 and bool(a.loc[ids[4], "misrouted"])
    assert not a.loc[ids[6], "misrouted"]
    s = misroute_summary(a.reset_index(), by="entry").set_index("entry")
    assert s.loc["all", "leads"] == 12 and s.loc["all", "misrouted"] == 1
    low, high = wilson_interval(1, 12)
    assert s.loc["all", "misroute_share_ci_low"] == pytest.approx(low)
    assert s.loc["all", "misroute_share_ci_high"] == pytest.approx(high)
    assert s.loc["EMEA", "misrouted"] == 1


def test_first_owner_from_history_reassignments_and_queue_time():
    # lead 1: created in the Web queue, picked up by U4 2 hours later, then reassigned to U5: the queue was the
    #   target, not misrouted; one reassignment (the pick-up does not count); 2 hours in the queue
    # lead 2: Enterprise lead first owned by U3 (not in Enterprise), moved to U0 the next day: misrouted
    # lead 3: older than the owner history (it starts at lead 0's change on 1 January 08:00), never changed: its
    #   current owner stands in and its reassignments are unknown
    crm = org(
        {
            "Id": [lead_id(0), lead_id(1), lead_id(2), lead_id(3)],
            "CreatedDate": [
                "2025-01-01T08:00:00Z",
                "2025-01-02T09:00:00Z",
                "2025-01-02T10:00:00Z",
                "2024-12-01T10:00:00Z",
            ],
            "NumberOfEmployees": ["10", "10", "9000", "10"],
            "Country": ["US", "US", "US", "US"],
            "LeadSource": ["Phone", "Web", "Phone", "Phone"],
            "OwnerId": [U[4], U[4], U[0], DEFAULT],
        },
        history={
            "Id": [f"01700000000000{i}AAA" for i in range(1, 5)],
            "LeadId": [lead_id(0), lead_id(1), lead_id(1), lead_id(2)],
            "Field": ["Owner"] * 4,
            "DataType": ["EntityId"] * 4,
            "OldValue": [DEFAULT, Q, U[3], U[2]],
            "NewValue": [U[4], U[3], U[4], U[0]],
            "CreatedDate": [
                "2025-01-01T08:00:00Z",
                "2025-01-02T11:00:00Z",
                "2025-01-03T09:00:00Z",
                "2025-01-03T10:00:00Z",
            ],
        },
    )
    a = rule_audit(crm, rules=rules()).set_index("lead_id")
    assert a["first_owner_id"].tolist() == [DEFAULT, Q, U[2], DEFAULT]
    assert a["first_owner_source"].tolist() == ["history", "history", "history", "current_owner"]
    assert a["misrouted"].tolist() == [False, False, True, False]
    assert a["reassignments"].tolist()[:3] == [1, 1, 1] and pd.isna(a["reassignments"].iloc[3])
    assert a.loc[lead_id(1), "queue_hours"] == pytest.approx(2.0) and pd.isna(a.loc[lead_id(2), "queue_hours"])
    # where keeps rows, the round robin still sees every lead
    only = rule_audit(crm, rules=rules(), where="number_of_employees >= 1000")
    assert only["lead_id"].tolist() == [lead_id(2)]
    t = misroute_summary(a.reset_index(), by="team")
    assert t["team"].tolist() == ["Enterprise", "all"] and t["misrouted"].tolist() == [1, 1]
    assert t["leads"].tolist() == [1, 1]


def test_an_unknown_column_fails_before_any_rule_is_evaluated():
    crm = org({"Id": [lead_id(1)], "CreatedDate": ["2025-01-02T09:00:00Z"], "Country": ["DE"]})
    bad = rules(lead_assignment=[{"name": "X", "criteria": "employees > 5", "assign_to": {"user": U[0]}}])
    with pytest.raises(ValueError, match=r"lead_assignment\[0\] 'X'.criteria: unknown column 'employees'"):
        rule_audit(crm, rules=bad)
