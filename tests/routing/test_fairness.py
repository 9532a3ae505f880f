"""Fairness, open leads and what-if on a tiny org, counted by hand."""

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.routing import fairness, open_leads_over_time, parse_rules, what_if

A, B, C = "005000000000001AAA", "005000000000002AAA", "005000000000003AAA"


def rules(**extra):
    doc = {
        "teams": {"Sales": {"members": [A, {"id": B, "active_from": "2025-01-05"}]}},
        "lead_assignment": [{"name": "All", "criteria": "lead_source is not null", "assign_to": {"team": "Sales"}}],
        "sla": {"first_touch_minutes": 60, "business_hours": False},
    }
    doc.update(extra)
    return parse_rules(doc)


def org():
    # 8 leads on 1..8 January; B joins on 5 January. A got leads 1-4 and 6, 8; B got 5 and 7.
    days = [f"2025-01-0{i}T10:00:00Z" for i in range(1, 9)]
    owners = [A, A, A, A, B, A, B, A]
    scores = ["10", "10", "10", "10", "90", "10", "90", "10"]
    leads = pd.DataFrame(
        {
            "Id": [f"00Q00000000000{i}AAA" for i in range(1, 9)],
            "CreatedDate": days,
            "OwnerId": owners,
            "LeadSource": ["Web"] * 8,
            "Lead_Score__c": scores,
            "IsConverted": ["true"] + ["false"] * 7,
            "ConvertedDate": ["2025-01-03"] + [None] * 7,
        }
    )
    # A touches every lead of theirs 2 hours later (a breach of 60 minutes), B within 10 minutes
    tasks = pd.DataFrame(
        {
            "Id": [f"00T00000000000{i}AAA" for i in range(1, 9)],
            "WhoId": leads["Id"],
            "Type": ["Call"] * 8,
            "CreatedById": owners,
            "CreatedDate": [
                pd.Timestamp(d) + pd.Timedelta(minutes=120 if o == A else 10) for d, o in zip(days, owners, strict=True)
            ],
        }
    )
    tasks["CreatedDate"] = tasks["CreatedDate"].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))
    users = pd.DataFrame({"Id": [A, B, C], "CreatedDate": ["2024-01-01T00:00:00Z"] * 3})
    return load_frames({"Lead": leads, "Task": tasks, "User": users})


def test_a_mid_period_joiner_is_owed_only_the_days_they_were_active():
    f = fairness(org(), rules=rules(), as_of="2025-01-31", score="lead_score").set_index("owner_id")
    # leads 1-4: A alone is active (4 x 1); leads 5-8: A and B share (4 x 1/2): A is owed 6, B 2
    assert f.loc[A, "expected_leads"] == 6 and f.loc[B, "expected_leads"] == 2
    assert f.loc[A, "leads"] == 6 and f.loc[B, "leads"] == 2
    assert f.loc[A, "ratio"] == 1 and f.loc[B, "ratio"] == 1  # fair, although B got a third of A's leads
    assert f.loc[B, "active_from"] == pd.Timestamp("2025-01-05")
    # by score: leads 5-8 score 90, 10, 90, 10 -> B is owed (90 + 10 + 90 + 10) / 2 = 100 and got 180
    assert f.loc[B, "expected_score"] == 100 and f.loc[B, "score_received"] == 180
    assert f.loc[B, "score_ratio"] == pytest.approx(1.8) and f.loc[B, "mean_score"] == 90
    assert f.loc[A, "expected_score"] == 40 + 100 and f.loc[A, "score_received"] == 60


def test_open_leads_over_time():
    o = open_leads_over_time(org(), as_of="2025-01-08", period="W")
    # week ending Sunday 5 January: leads 1-5 created; lead 1 converted on the 3rd -> A holds 2, 3, 4; B holds 5
    wk1 = o[o["period_end"] == pd.Timestamp("2025-01-06", tz="UTC")].set_index("owner_id")["open_leads"]
    assert wk1.to_dict() == {A: 3, B: 1}
    last = o[o["period_end"] == o["period_end"].max()].set_index("owner_id")["open_leads"]
    assert last.to_dict() == {A: 5, B: 2}


def test_what_if_sends_everything_to_the_fast_rep():
    proposal = rules(teams={"Sales": {"members": [B]}})
    w = what_if(org(), proposed_rules=proposal, as_of="2025-01-31").set_index(["level", "name"])
    # actual: A's 6 leads all breached (120 > 60 minutes), B's 2 none
    assert w.loc[("owner", A), "actual_breaches"] == 6 and w.loc[("owner", B), "actual_breaches"] == 0
    # proposed: all 8 to B, whose breach share was 0 -> 0 expected breaches
    assert w.loc[("owner", B), "proposed_leads"] == 8 and w.loc[("owner", A), "proposed_leads"] == 0
    assert w.loc[("all", "all"), "expected_breaches"] == 0 and w.loc[("all", "all"), "actual_breaches"] == 6


def test_open_leads_leave_when_closed_by_status():
    # four leads of A on 1 January: L1 open; L2 disqualified on 4 January (LeadHistory); L3 "Closed - Not
    # Converted" with no history row, last modified on 2 January; L4 converted on 3 January
    ids = [f"00Q00000000001{i}AAA" for i in range(1, 5)]
    leads = pd.DataFrame(
        {
            "Id": ids,
            "CreatedDate": ["2025-01-01T10:00:00Z"] * 4,
            "LastModifiedDate": ["2025-01-01T10:00:00Z", "2025-01-04T10:00:00Z", "2025-01-02T10:00:00Z", None],
            "OwnerId": [A] * 4,
            "Status": ["Working", "Disqualified", "Closed - Not Converted", "Closed - Converted"],
            "IsConverted": ["false", "false", "false", "true"],
            "ConvertedDate": [None, None, None, "2025-01-03"],
        }
    )
    history = pd.DataFrame(
        {
            "Id": ["017000000000091AAA"],
            "LeadId": [ids[1]],
            "Field": ["Status"],
            "OldValue": ["Working"],
            "NewValue": ["Disqualified"],
            "CreatedDate": ["2025-01-04T10:00:00Z"],
        }
    )
    crm = load_frames({"Lead": leads, "LeadHistory": history})
    o = open_leads_over_time(crm, as_of="2025-01-05", period="D").set_index("period_end")["open_leads"]
    day = {d: o.get(pd.Timestamp(d, tz="UTC"), 0) for d in ("2025-01-02", "2025-01-03", "2025-01-04", "2025-01-05")}
    # end of 1 Jan: all four open; of 2 Jan: L3 closed; of 3 Jan: L4 converted; of 4 Jan: L2 disqualified
    assert day == {"2025-01-02": 4, "2025-01-03": 3, "2025-01-04": 2, "2025-01-05": 1}
    # closed_statuses given: only "Disqualified" closes; L3 stays open
    mine = open_leads_over_time(crm, as_of="2025-01-05", period="D", closed_statuses=["disqualified"])
    assert mine.set_index("period_end")["open_leads"].iloc[-1] == 2
