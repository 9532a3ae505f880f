"""A hand-built org for the reconciliation tests; every figure below is worked out by hand.

Fiscal year from January; every deal is closed (won or lost) by the end of March 2025:

    id  type          stage        amount  created     close       in FY2025-Q1 by close / by creation
    A   New Business  Closed Won     1000  2024-11-05  2025-01-15  yes / no (FY2024-Q4)
    B   New Business  Closed Lost     100  2025-01-10  2025-02-10  yes / yes
    C   New Business  Closed Lost     100  2025-01-12  2025-03-01  yes / yes
    D   Renewal       Closed Won      500  2025-01-20  2025-03-20  yes / yes
    E   Renewal       Closed Won      400  2025-02-01  2025-03-25  yes / yes
    F   New Business  Closed Lost     200  2025-02-15  2025-03-28  yes / yes
    G   New Business  Closed Won      300  2025-02-03  2025-02-20  deleted (in the Recycle Bin)

FY2025-Q1 by close date, all types: won A D E = 3 of 6 closed: 0.5 by count; by amount
(1000 + 500 + 400) / 2300 = 1900 / 2300 = 0.826087; won amount 1900.
New business only (Renewal left out): won A = 1 of 4: 0.25; by amount 1000 / 1400 = 0.714286; won 1000.
By creation date (A is in FY2024-Q4): won D E = 2 of 5: 0.4; won amount 900.
With the deleted G: won 4 of 7 = 0.571429; won amount 2200.
"""

from __future__ import annotations

import pandas as pd

ROWS = [
    ("A", "New Business", True, 1000.0, "2024-11-05", "2025-01-15"),
    ("B", "New Business", False, 100.0, "2025-01-10", "2025-02-10"),
    ("C", "New Business", False, 100.0, "2025-01-12", "2025-03-01"),
    ("D", "Renewal", True, 500.0, "2025-01-20", "2025-03-20"),
    ("E", "Renewal", True, 400.0, "2025-02-01", "2025-03-25"),
    ("F", "New Business", False, 200.0, "2025-02-15", "2025-03-28"),
]
DELETED = [("G", "New Business", True, 300.0, "2025-02-03", "2025-02-20")]


def opportunities(rows=ROWS) -> pd.DataFrame:
    """The canonical opportunities table (as of 2025-03-31: every deal closed)."""
    ids, types, won, amount, created, close = zip(*rows)
    return pd.DataFrame(
        {
            "opportunity_id": list(ids),
            "type": list(types),
            "stage_name": ["Closed Won" if w else "Closed Lost" for w in won],
            "is_closed": True,
            "is_won": list(won),
            "amount": list(amount),
            "created_date": pd.to_datetime(list(created), utc=True),
            "close_date": pd.to_datetime(list(close)),
        }
    )


def with_deleted() -> pd.DataFrame:
    return opportunities(ROWS + DELETED)


def export(folder) -> None:
    """The same org as a Salesforce export (Opportunity.csv, G marked IsDeleted)."""
    rows = [(*r, "false") for r in ROWS] + [(*r, "true") for r in DELETED]
    pd.DataFrame(
        {
            "Id": [f"006{r[0]}" for r in rows],
            "Type": [r[1] for r in rows],
            "StageName": ["Closed Won" if r[2] else "Closed Lost" for r in rows],
            "IsClosed": "true",
            "IsWon": ["true" if r[2] else "false" for r in rows],
            "Amount": [r[3] for r in rows],
            "CreatedDate": [f"{r[4]}T09:00:00.000+0000" for r in rows],
            "CloseDate": [r[5] for r in rows],
            "IsDeleted": [r[6] for r in rows],
        }
    ).to_csv(folder / "Opportunity.csv", index=False)
