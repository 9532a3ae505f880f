"""A tiny hand-built org for the pipeline tests, and what it should show on DAY, worked out by hand.

Report day 2024-03-31. Two owners, Ann Lee (005A) and Bo Chen (005B). Three open stages (Qualify,
Propose, Negotiate), then Closed Won and Closed Lost. Deals created 2024-01-01 09:00 UTC unless said
otherwise: 90 days before the day (31 + 29 + 30).

| deal | owner | on the day | amount | close date | next step | activities by the day (created) |
|---|---|---|---|---|---|---|
| O1 Acme | Ann | Qualify (history 01-01) | 1000 | 03-15 (16 days late) | Call CFO | T1 03-25 |
| O2 Globex | Ann | Propose (history 03-01) | 5000 | 03-31 (on the day: not late) | "" | T2 03-10 (21 days) |
| O3 Initech | Bo | Negotiate | 0 | 02-29 (31 days late) | none | T3 03-17 (exactly 14 days) |
| O4 Umbrella | Bo | Qualify | none | 06-30 | Demo | T4 logged 04-05: after the day |
| O5 Hooli | Bo | Closed Won | 9000 | 02-01 | | |
| O6 Vandelay | Ann | deleted (IsDeleted) | 2000 | 03-20 | | |
| O7 Stark | Ann | Qualify, created 03-25 (6 days) | 3000 | 05-31 | Intro | none |
| O8 Wayne | Bo | Propose by its history (02-01); lost on 04-10 | 4000 | 03-10 on the day (21 days late) | Send contract | event E1 03-28 |

Tasks not on a deal: T5 (Ann, due 03-30, open: 1 day overdue), T6 (Bo, due on the day: not overdue),
T7 (Bo, due 02-15, In Progress: 45 days overdue), T8 (Bo, due 03-01, closed), T9 (Ann, due 03-01,
open, deleted). T2 is due 04-20 (not overdue); T4 is due 03-20 but logged 04-05, after the day.
"""

from __future__ import annotations

import pandas as pd

from funnel_analysis.crm import load_frames

DAY = "2024-03-31"
ANN, BO = "005A00000000001AAA", "005B00000000001AAA"


def _id(prefix: str, n: int) -> str:
    return f"{prefix}{n:012d}AAA"


OPP = {k: _id("006", k) for k in range(1, 9)}
T = {k: _id("00T", k) for k in range(1, 10)}

STAGES = pd.DataFrame(
    {
        "MasterLabel": ["Qualify", "Propose", "Negotiate", "Closed Won", "Closed Lost"],
        "SortOrder": [1, 2, 3, 4, 5],
        "IsClosed": [False, False, False, True, True],
        "IsWon": [False, False, False, True, False],
        "DefaultProbability": [10, 40, 70, 100, 0],
    }
)

JAN1 = "2024-01-01T09:00:00Z"
OPPORTUNITIES = pd.DataFrame(
    [
        # Id, Name, OwnerId, StageName, Amount, CloseDate, NextStep, IsClosed, IsWon, IsDeleted, CreatedDate
        (OPP[1], "Acme", ANN, "Qualify", 1000, "2024-03-15", "Call CFO", False, False, False, JAN1),
        (OPP[2], "Globex", ANN, "Propose", 5000, "2024-03-31", "", False, False, False, JAN1),
        (OPP[3], "Initech", BO, "Negotiate", 0, "2024-02-29", None, False, False, False, JAN1),
        (OPP[4], "Umbrella", BO, "Qualify", None, "2024-06-30", "Demo", False, False, False, JAN1),
        (OPP[5], "Hooli", BO, "Closed Won", 9000, "2024-02-01", "", True, True, False, JAN1),
        (OPP[6], "Vandelay", ANN, "Qualify", 2000, "2024-03-20", "", False, False, True, JAN1),
        (OPP[7], "Stark", ANN, "Qualify", 3000, "2024-05-31", "Intro", False, False, False, "2024-03-25T12:00:00Z"),
        (OPP[8], "Wayne", BO, "Closed Lost", 4000, "2024-04-10", "Send contract", True, False, False, JAN1),
    ],
    columns=[
        "Id",
        "Name",
        "OwnerId",
        "StageName",
        "Amount",
        "CloseDate",
        "NextStep",
        "IsClosed",
        "IsWon",
        "IsDeleted",
        "CreatedDate",
    ],
)

HISTORY = pd.DataFrame(
    [
        ("008000000000001AAA", OPP[1], "Qualify", 1000, "2024-03-15", JAN1),
        ("008000000000002AAA", OPP[2], "Qualify", 5000, "2024-03-31", JAN1),
        ("008000000000003AAA", OPP[2], "Propose", 5000, "2024-03-31", "2024-03-01T10:00:00Z"),
        ("008000000000004AAA", OPP[8], "Qualify", 4000, "2024-03-10", JAN1),
        ("008000000000005AAA", OPP[8], "Propose", 4000, "2024-03-10", "2024-02-01T10:00:00Z"),
        ("008000000000006AAA", OPP[8], "Closed Lost", 4000, "2024-04-10", "2024-04-10T10:00:00Z"),
    ],
    columns=["Id", "OpportunityId", "StageName", "Amount", "CloseDate", "CreatedDate"],
)

TASKS = pd.DataFrame(
    [
        # Id, WhatId, WhoId, OwnerId, Subject, ActivityDate, Status, IsClosed, IsDeleted, CreatedDate
        (T[1], OPP[1], None, ANN, "Call", "2024-03-25", "Completed", True, False, "2024-03-25T10:00:00Z"),
        (T[2], OPP[2], None, ANN, "Send quote", "2024-04-20", "Not Started", False, False, "2024-03-10T10:00:00Z"),
        (T[3], OPP[3], None, BO, "Call", "2024-03-17", "Completed", True, False, "2024-03-17T10:00:00Z"),
        (T[4], OPP[4], None, BO, "Logged call", "2024-03-20", "Not Started", False, False, "2024-04-05T10:00:00Z"),
        (T[5], None, "00Q000000000001AAA", ANN, "Call back", "2024-03-30", "Not Started", False, False, "2024-03-01T10:00:00Z"),
        (T[6], None, None, BO, "Prepare", "2024-03-31", "Not Started", False, False, "2024-03-01T10:00:00Z"),
        (T[7], None, None, BO, "Follow up", "2024-02-15", "In Progress", False, False, "2024-02-01T10:00:00Z"),
        (T[8], None, None, BO, "Email", "2024-03-01", "Completed", True, False, "2024-02-01T10:00:00Z"),
        (T[9], None, None, ANN, "Old", "2024-03-01", "Not Started", False, True, "2024-02-01T10:00:00Z"),
    ],
    columns=["Id", "WhatId", "WhoId", "OwnerId", "Subject", "ActivityDate", "Status", "IsClosed", "IsDeleted", "CreatedDate"],
)  # fmt: skip

EVENTS = pd.DataFrame(
    {
        "Id": ["00U000000000001AAA"],
        "WhatId": [OPP[8]],
        "OwnerId": [BO],
        "Subject": ["Meeting"],
        "ActivityDate": ["2024-03-28"],
        "CreatedDate": ["2024-03-28T08:00:00Z"],
    }
)

USERS = pd.DataFrame({"Id": [ANN, BO], "Name": ["Ann Lee", "Bo Chen"], "Region__c": ["EMEA", "AMER"]})


def make_crm(**drop):
    """The org; ``drop`` names files to leave out (``Task=True``) or replaces a frame (``Opportunity=df``)."""
    frames = {
        "OpportunityStage": STAGES,
        "Opportunity": OPPORTUNITIES,
        "OpportunityHistory": HISTORY,
        "Task": TASKS,
        "Event": EVENTS,
        "User": USERS,
    }
    for name, value in drop.items():
        if value is True:
            frames.pop(name)
        else:
            frames[name] = value
    return load_frames(frames)
