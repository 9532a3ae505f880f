"""Speed to lead under a rules file's touch definition, SLA clock and calendar: a tiny org worked by hand."""

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.routing import first_touches, parse_rules
from funnel_analysis.sources import report
from funnel_analysis.sources.matrix import speed_to_lead_effect

U1, U2, U3 = "005000000000001AAA", "005000000000002AAA", "005000000000003AAA"
Q = "00G000000000001AAA"
L = [f"00Q00000000000{i}AAA" for i in range(1, 5)]

RULES = parse_rules(
    {
        "teams": {"A": {"members": [U1, U2]}, "B": {"members": [U3]}},
        "default_owner": {"user": U1},  # no entries: every lead to U1, of team A
        "sla": {"first_touch_minutes": 120, "business_hours": True, "start": "assignment"},
        "touches": {"exclude_subtypes": ["ListEmail"], "exclude_subjects": ["[[]Outreach]*"]},
        "calendar": {"time_zone": "UTC", "hours": {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}},
    }
)


def org():
    leads = pd.DataFrame(
        {
            "Id": L,
            # Monday 6 January 2025 09:00 (three leads), Friday 10 January 16:30
            "CreatedDate": [
                "2025-01-06T09:00:00Z",
                "2025-01-06T09:00:00Z",
                "2025-01-10T16:30:00Z",
                "2025-01-06T09:00:00Z",
            ],
            "OwnerId": [U1, U1, U2, U2],
            "IsConverted": ["true", "false", "true", "false"],
            "LeadSource": ["Web"] * 4,
        }
    )
    history = pd.DataFrame(  # L1 sat in the queue until U1 took it at 10:00
        {
            "Id": ["017000000000001AAA"],
            "LeadId": [L[0]],
            "Field": ["Owner"],
            "DataType": ["EntityId"],
            "OldValue": [Q],
            "NewValue": [U1],
            "CreatedDate": ["2025-01-06T10:00:00Z"],
        }
    )
    tasks = pd.DataFrame(
        {
            "Id": [f"00T00000000000{i}AAA" for i in range(1, 6)],
            "WhoId": [L[0], L[1], L[1], L[1], L[2]],
            "Type": ["Call", "Call", "Email", "Call", "Call"],
            "TaskSubtype": ["Call", "Call", "ListEmail", "Call", "Call"],
            "Subject": ["Intro", "Intro", "Newsletter", "[Outreach] step 1", "Follow-up"],
            # L1: U1, a queue member, calls while the lead is in the queue (before it is assigned)
            # L2: an outsider, an automated list e-mail, a sequence step: none counts
            # L3: a to-do made on Friday, done on Monday 13 January 09:15
            "CreatedById": [U1, U3, U2, U1, U2],
            "CreatedDate": [
                "2025-01-06T09:30:00Z",
                "2025-01-06T09:10:00Z",
                "2025-01-06T09:20:00Z",
                "2025-01-06T09:25:00Z",
                "2025-01-10T16:40:00Z",
            ],  # fmt: skip
            "CompletedDateTime": ["2025-01-06T09:30:00Z", None, None, None, "2025-01-13T09:15:00Z"],
            "ActivityDate": ["2025-01-06", "2025-01-06", "2025-01-06", "2025-01-06", "2025-01-10"],
        }
    )
    events = pd.DataFrame(  # L2: a meeting booked at 09:05 that starts at 16:30
        {
            "Id": ["00U000000000001AAA"],
            "WhoId": [L[1]],
            "Subject": ["Demo"],
            "CreatedById": [U1],
            "CreatedDate": ["2025-01-06T09:05:00Z"],
            "StartDateTime": ["2025-01-06T16:30:00Z"],
            "ActivityDate": ["2025-01-06"],
        }
    )
    users = pd.DataFrame({"Id": [U1, U2, U3], "CreatedDate": ["2024-01-01T00:00:00Z"] * 3})
    groups = pd.DataFrame({"Id": [Q], "Name": ["Inbound"], "Type": ["Queue"]})
    members = pd.DataFrame({"Id": ["011000000000001AAA"], "GroupId": [Q], "UserOrGroupId": [U1]})
    return load_frames(
        {
            "Lead": leads,
            "LeadHistory": history,
            "Task": tasks,
            "Event": events,
            "User": users,
            "Group": groups,
            "GroupMember": members,
        }  # fmt: skip
    )


def test_first_touches_by_hand():
    ft = first_touches(org(), rules=RULES, as_of="2025-01-31").set_index("lead_id")
    # L1: touched 09:30 by a member of its queue, assigned to a user at 10:00: touched before the clock started
    assert ft.loc[L[0], "first_owner_id"] == Q and ft.loc[L[0], "first_user_owner_id"] == U1
    assert ft.loc[L[0], "clock_start"] == pd.Timestamp("2025-01-06 10:00", tz="UTC")
    assert ft.loc[L[0], "first_touch_at"] == pd.Timestamp("2025-01-06 09:30", tz="UTC")
    assert bool(ft.loc[L[0], "touched_before_start"])
    assert ft.loc[L[0], "minutes_to_touch"] == 0 and ft.loc[L[0], "business_minutes_to_touch"] == 0
    assert not ft.loc[L[0], "breached"]
    # L2: only the meeting counts, at its start: 09:00 -> 16:30 = 450 minutes, all in business hours: breached
    assert ft.loc[L[1], "first_touch_at"] == pd.Timestamp("2025-01-06 16:30", tz="UTC")
    assert ft.loc[L[1], "touched_by"] == U1
    assert ft.loc[L[1], "minutes_to_touch"] == 450 and ft.loc[L[1], "business_minutes_to_touch"] == 450
    assert bool(ft.loc[L[1], "breached"])
    # L3: Friday 16:30 -> Monday 09:15: 64 h 45 min on the wall clock, 30 + 15 business minutes
    assert ft.loc[L[2], "minutes_to_touch"] == 64 * 60 + 45
    assert ft.loc[L[2], "business_minutes_to_touch"] == 45 and not ft.loc[L[2], "breached"]
    # L4: never touched, and its 120 business minutes passed long ago: breached
    assert pd.isna(ft.loc[L[3], "first_touch_at"]) and bool(ft.loc[L[3], "breached"])
    assert ft["team"].tolist() == ["A"] * 4
    assert ft.loc[L[2], "hour_of_week"] == 4 * 24 + 16  # Friday 16:00


def test_speed_to_lead_with_rules_per_team():
    s = report.speed_to_lead(org(), as_of="2025-01-31", by="team", mature_days=0, rules=RULES)
    a = s.set_index("bucket").loc["all"]
    assert a["leads"] == 4 and a["contacted"] == 3
    assert a["sla_judged"] == 4 and a["sla_breaches"] == 2 and a["breach_share"] == 0.5
    # business minutes of the touched leads: 0, 450, 45 -> median 45, p90 45 + 0.8 * (450 - 45) = 369
    assert a["median_business_minutes"] == 45 and a["p90_business_minutes"] == pytest.approx(369)
    assert a["median_minutes"] == 450
    assert "association, not cause" in s.attrs["note"]
    # without rules the old definition: any activity by its CreatedDate: L1 09:30, L2 the event booked at 09:05,
    # L3 the to-do made at 16:40: all three within the hour
    old = report.speed_to_lead(org(), as_of="2025-01-31", mature_days=0).set_index("bucket")
    assert "sla_breaches" not in old.columns and old.loc["<1h", "leads"] == 3


def test_mantel_haenszel_by_hand():
    # band low: fast 2/4 converted, slow 1/8; band high: fast 6/8, slow 2/4
    #   MH RR = sum(a n0 / N) / sum(c n1 / N) = (2*8/12 + 6*4/12) / (1*4/12 + 2*8/12) = (40/12) / (20/12) = 2
    rows = [(10, True, True)] * 2 + [(10, True, False)] * 2 + [(10, False, True)] + [(10, False, False)] * 7
    rows += [(90, True, True)] * 6 + [(90, True, False)] * 2 + [(90, False, True)] * 2 + [(90, False, False)] * 2
    ids = [f"x{i}" for i in range(len(rows))]
    leads = pd.DataFrame({"lead_id": ids, "lead_score": [r[0] for r in rows], "is_converted": [r[2] for r in rows]})
    ft = pd.DataFrame(
        {
            "lead_id": ids,
            "first_touch_at": pd.Timestamp("2025-01-01", tz="UTC"),
            "minutes_to_touch": [10 if r[1] else 500 for r in rows],
            "business_minutes_to_touch": [10 if r[1] else 500 for r in rows],
        }
    )
    e = speed_to_lead_effect(leads, ft, bands=[0, 50, 100]).set_index("band")
    pooled = e.loc["pooled (Mantel-Haenszel)"]
    assert pooled["rate_ratio"] == pytest.approx(2.0)
    # crude: fast 8/12 against slow 3/12 = 2.667: the score inflates it
    assert e.loc["crude", "rate_ratio"] == pytest.approx((8 / 12) / (3 / 12))
    # Greenland-Robins variance of log RR: sum((n1 n0 (a + c) - a c N) / N^2) / (R S)
    num = (4 * 8 * 3 - 2 * 1 * 12) / 144 + (8 * 4 * 8 - 6 * 2 * 12) / 144
    var = num / ((40 / 12) * (20 / 12))
    half = 1.959963984540054 * var**0.5
    assert pooled["rate_ratio_ci_low"] == pytest.approx(2 * 2.718281828459045 ** (-half))
    assert pooled["rate_ratio_ci_high"] == pytest.approx(2 * 2.718281828459045**half)


def test_speed_effect_counts_only_scored_leads_with_a_first_touch_row():
    # a fast (its first row: 5 minutes; a second row for it is ignored), b slow, c never touched, d has no
    # first-touch row, e no score: by hand, fast 1/1 converted, slow 0/1; untouched c counts as slow only
    # with never_is_slow (then slow 1/2); d and e never count
    leads = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c", "d", "e"],
            "lead_score": [10, 20, 30, 40, None],
            "is_converted": [True, False, True, True, True],
        }
    )
    touched = pd.Timestamp("2025-01-01", tz="UTC")
    ft = pd.DataFrame(
        {
            "lead_id": ["a", "a", "b", "c", "e"],
            "first_touch_at": [touched, touched, touched, pd.NaT, touched],
            "minutes_to_touch": [5.0, 500.0, 500.0, float("nan"), 5.0],
            "business_minutes_to_touch": [5.0, 500.0, 500.0, float("nan"), 5.0],
            "owner_id": ["x", "y", "x", "x", "x"],  # a column the effect does not read
        }
    )
    e = speed_to_lead_effect(leads, ft, bands=[0, 50]).set_index("band")
    assert e.loc["crude", ["fast_leads", "fast_converted", "slow_leads", "slow_converted"]].tolist() == [1, 1, 1, 0]
    e = speed_to_lead_effect(leads, ft, bands=[0, 50], never_is_slow=True).set_index("band")
    assert e.loc["0-50", ["fast_leads", "fast_converted", "slow_leads", "slow_converted"]].tolist() == [1, 1, 2, 1]
    assert e.loc["0-50", "slow_rate"] == 0.5
    # no first touch at all: nobody counts (a lead without a first-touch row is left out either way)
    none = speed_to_lead_effect(leads, ft.iloc[:0], bands=[0, 50], never_is_slow=True).set_index("band")
    assert none.loc["crude", ["fast_leads", "slow_leads"]].tolist() == [0, 0]
