"""A tiny hand-built org for the funnel tests: every expected number is worked out by hand.

Stages (deliberately not Salesforce's names, sort_order with gaps, table rows out of order):

    rank  stage      sort_order  closed  won
    1     Prospect   10          no      no
    2     Qualify    20          no      no
    3     Propose    30          no      no
    4     Negotiate  40          no      no
    -     Won        50          yes     yes
    -     Lost       60          yes     no

Opportunities (all 2024; history rows at 09:00 UTC on the day shown; cycle = created -> close):

    id  source   amount  history                                             now        close   cycle
    O1  Web      1000    Prospect 01-10, Qualify 01-20, Propose 02-01,       Won        03-01   51
                         Negotiate 02-15, Won 03-01
    O2  Partner  2000    Prospect 01-15, Propose 01-25 (skips Qualify),      Won        02-14   30
                         Won 02-14
    O3  Web       500    Prospect 02-01, Qualify 02-05, Propose 02-10,       Lost       03-10   -
                         Qualify 02-20 (backwards), Lost 03-10
    O4  Partner  3000    Prospect 02-10, Qualify 02-12, Lost 03-01,          Won        05-05   85
                         Qualify 04-01 (reopened), Negotiate 04-10, Won 05-05
    O5  Web       800    (no history rows)                                   Qualify    06-30   open
    O6  Web      1500    Prospect 04-02, Negotiate 04-20 (skips two)         Negotiate  07-15   open
    O7  Partner   700    Prospect 04-05, Lost 04-25                          Lost       04-25   -
    O8  Web       NaN    Prospect 05-01                                      Prospect   08-01   open
    O9  Partner  1200    Propose 05-10 (created there), Won 06-20            Won        06-20   41

Cycle days: O1 Jan 10 -> Mar 1 = 21 + 29 (leap February) + 1 = 51; O2 Jan 15 -> Feb 14 = 30;
O4 Feb 10 -> May 5 = 19 + 31 + 30 + 5 = 85; O9 May 10 -> Jun 20 = 21 + 20 = 41.

Leads (created at 15:30 UTC; days = created day -> converted day):

    id   source   created  status                  converted   days
    L1   Web      01-01    Closed - Converted      01-11       10
    L2   Web      01-05    Closed - Converted      02-04       30 (26 + 4)
    L3   Web      01-10    Closed - Not Converted
    L4   Web      02-01    Working - Contacted
    L5   Web      03-01    Open - Not Contacted
    L6   Partner  01-03    Closed - Converted      01-08        5
    L7   Partner  02-10    Closed - Converted      04-10       60 (19 + 31 + 10)
    L8   Partner  02-20    Working - Contacted
    L9   Partner  03-15    Open - Not Contacted
    L10  (none)   03-20    Closed - Converted      03-22        2
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from funnel_analysis.crm import CrmData, DataQualityReport

__all__ = [
    "stages",
    "opportunities",
    "history",
    "leads",
    "make_crm",
    "STATUS_ORDER",
    "col",
    "random_org",
    "rates_ok",
    "opportunity",
]

STATUS_ORDER = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"]

_OPPS = [
    # id, source, amount, created, stage now, closed, won, close_date
    ("O1", "Web", 1000.0, "2024-01-10", "Won", True, True, "2024-03-01"),
    ("O2", "Partner", 2000.0, "2024-01-15", "Won", True, True, "2024-02-14"),
    ("O3", "Web", 500.0, "2024-02-01", "Lost", True, False, "2024-03-10"),
    ("O4", "Partner", 3000.0, "2024-02-10", "Won", True, True, "2024-05-05"),
    ("O5", "Web", 800.0, "2024-03-05", "Qualify", False, False, "2024-06-30"),
    ("O6", "Web", 1500.0, "2024-04-02", "Negotiate", False, False, "2024-07-15"),
    ("O7", "Partner", 700.0, "2024-04-05", "Lost", True, False, "2024-04-25"),
    ("O8", "Web", np.nan, "2024-05-01", "Prospect", False, False, "2024-08-01"),
    ("O9", "Partner", 1200.0, "2024-05-10", "Won", True, True, "2024-06-20"),
]

_HISTORY = {
    "O1": [
        ("2024-01-10", "Prospect"),
        ("2024-01-20", "Qualify"),
        ("2024-02-01", "Propose"),
        ("2024-02-15", "Negotiate"),
        ("2024-03-01", "Won"),
    ],
    "O2": [("2024-01-15", "Prospect"), ("2024-01-25", "Propose"), ("2024-02-14", "Won")],
    "O3": [
        ("2024-02-01", "Prospect"),
        ("2024-02-05", "Qualify"),
        ("2024-02-10", "Propose"),
        ("2024-02-20", "Qualify"),
        ("2024-03-10", "Lost"),
    ],
    "O4": [
        ("2024-02-10", "Prospect"),
        ("2024-02-12", "Qualify"),
        ("2024-03-01", "Lost"),
        ("2024-04-01", "Qualify"),
        ("2024-04-10", "Negotiate"),
        ("2024-05-05", "Won"),
    ],
    "O6": [("2024-04-02", "Prospect"), ("2024-04-20", "Negotiate")],
    "O7": [("2024-04-05", "Prospect"), ("2024-04-25", "Lost")],
    "O8": [("2024-05-01", "Prospect")],
    "O9": [("2024-05-10", "Propose"), ("2024-06-20", "Won")],
}

_LEADS = [
    ("L1", "Web", "2024-01-01", "Closed - Converted", "2024-01-11"),
    ("L2", "Web", "2024-01-05", "Closed - Converted", "2024-02-04"),
    ("L3", "Web", "2024-01-10", "Closed - Not Converted", None),
    ("L4", "Web", "2024-02-01", "Working - Contacted", None),
    ("L5", "Web", "2024-03-01", "Open - Not Contacted", None),
    ("L6", "Partner", "2024-01-03", "Closed - Converted", "2024-01-08"),
    ("L7", "Partner", "2024-02-10", "Closed - Converted", "2024-04-10"),
    ("L8", "Partner", "2024-02-20", "Working - Contacted", None),
    ("L9", "Partner", "2024-03-15", "Open - Not Contacted", None),
    ("L10", None, "2024-03-20", "Closed - Converted", "2024-03-22"),
]


def stages() -> pd.DataFrame:
    """The stages table, rows deliberately out of sort order."""
    return pd.DataFrame(
        {
            "stage_name": pd.array(["Lost", "Prospect", "Qualify", "Won", "Propose", "Negotiate"], dtype="str"),
            "sort_order": [60, 10, 20, 50, 30, 40],
            "default_probability": [0.0, 10.0, 30.0, 100.0, 60.0, 80.0],
            "is_closed": [True, False, False, True, False, False],
            "is_won": [False, False, False, True, False, False],
            "forecast_category": pd.array(
                ["Omitted", "Pipeline", "Pipeline", "Closed", "Pipeline", "Commit"], dtype="str"
            ),
        }
    )


def opportunities() -> pd.DataFrame:
    ids, source, amount, created, stage, closed, won, close = zip(*_OPPS)
    return pd.DataFrame(
        {
            "opportunity_id": pd.array(ids, dtype="str"),
            "created_date": pd.to_datetime(list(created), utc=True).as_unit("us") + pd.Timedelta(hours=9),
            "stage_name": pd.array(stage, dtype="str"),
            "amount": np.array(amount, dtype="float64"),
            "probability": np.nan,
            "close_date": pd.to_datetime(list(close)).as_unit("us"),
            "is_closed": np.array(closed),
            "is_won": np.array(won),
            "lead_source": pd.array(source, dtype="str"),
            "forecast_category": pd.array([None] * len(ids), dtype="str"),
        }
    )


def history() -> pd.DataFrame:
    opps = opportunities().set_index("opportunity_id")
    rows = []
    for oid, steps in _HISTORY.items():
        for day, stage in steps:
            # open rows carry the expected close date, closing rows the day they closed
            closing = stage in ("Won", "Lost")
            rows.append((oid, day, stage, opps.loc[oid, "amount"], day if closing else opps.loc[oid, "close_date"]))
    oid, day, stage, amount, close = zip(*rows)
    return pd.DataFrame(
        {
            "history_id": pd.array([f"H{i:02d}" for i in range(1, len(rows) + 1)], dtype="str"),
            "opportunity_id": pd.array(oid, dtype="str"),
            "created_date": pd.to_datetime(list(day), utc=True).as_unit("us") + pd.Timedelta(hours=9),
            "stage_name": pd.array(stage, dtype="str"),
            "amount": np.array(amount, dtype="float64"),
            "close_date": pd.to_datetime(list(close)).as_unit("us"),
        }
    )


def leads() -> pd.DataFrame:
    ids, source, created, status, conv = zip(*_LEADS)
    return pd.DataFrame(
        {
            "lead_id": pd.array(ids, dtype="str"),
            "created_date": pd.to_datetime(list(created), utc=True).as_unit("us") + pd.Timedelta(hours=15, minutes=30),
            "lead_source": pd.array(source, dtype="str"),
            "status": pd.array(status, dtype="str"),
            "is_converted": np.array([c is not None for c in conv]),
            "converted_date": pd.to_datetime(list(conv)).as_unit("us"),
            "converted_account_id": pd.array([None] * len(ids), dtype="str"),
            "converted_contact_id": pd.array([None] * len(ids), dtype="str"),
            "converted_opportunity_id": pd.array([None] * len(ids), dtype="str"),
        }
    )


def make_crm(*, with_leads: bool = True) -> CrmData:
    """The org as a CrmData, as :func:`funnel_analysis.crm.load.load_org` would hand it over."""
    tables = {"opportunities": opportunities(), "opportunity_history": history(), "stages": stages()}
    if with_leads:
        tables["leads"] = leads()
    return CrmData(
        tables=tables,
        quarantine=pd.DataFrame(),
        flags=pd.DataFrame(),
        quarantined_rows={},
        report=DataQualityReport(),
        meta={"columns_present": {t: list(df.columns) for t, df in tables.items()}},
    )


# ---- helpers for the funnel tests --------------------------------------------------------------
def col(df, name, **where):
    """The values of one column, for the rows matching ``where``."""
    mask = np.ones(len(df), dtype=bool)
    for k, v in where.items():
        mask &= (df[k].isna() if v is None else df[k] == v).to_numpy()
    return df.loc[mask, name].tolist()


STAGE_NAMES = ["Prospect", "Qualify", "Propose", "Negotiate", "Won", "Lost"]
FLAGS = {s: (s in ("Won", "Lost"), s == "Won") for s in STAGE_NAMES}

#: Hypothesis strategy of one opportunity of :func:`random_org`.
opportunity = st.tuples(
    st.sampled_from(["A", "B", None]),  # segment
    st.integers(0, 120),  # created day
    st.lists(st.tuples(st.sampled_from(STAGE_NAMES), st.integers(0, 40)), max_size=6),  # path
    st.sampled_from(STAGE_NAMES),  # stage when no history
    st.one_of(st.none(), st.floats(0, 1e6)),  # amount
)


def random_org(specs):
    """(opportunities, history) of one org drawn with :data:`opportunity`; closes 3 days after the last step."""
    base = pd.Timestamp("2024-01-01", tz="UTC")
    opps, hist = [], []
    for i, (seg, day, path, stage_now, amount) in enumerate(specs):
        created = base + pd.Timedelta(days=day)
        t = created
        for stage, gap in path:
            t = t + pd.Timedelta(days=gap)
            hist.append((f"O{i}", t, stage))
        stage_now = path[-1][0] if path else stage_now
        closed, won = FLAGS[stage_now]
        opps.append(
            (
                f"O{i}",
                created,
                stage_now,
                closed,
                won,
                (t + pd.Timedelta(days=3)).tz_localize(None).normalize(),
                np.nan if amount is None else amount,
                seg,
            )
        )
    o = pd.DataFrame(
        opps,
        columns=[
            "opportunity_id",
            "created_date",
            "stage_name",
            "is_closed",
            "is_won",
            "close_date",
            "amount",
            "lead_source",
        ],
    )
    h = pd.DataFrame(hist, columns=["opportunity_id", "created_date", "stage_name"])
    h = h.astype({"created_date": "datetime64[us, UTC]", "opportunity_id": "str", "stage_name": "str"})
    return o.astype({"lead_source": "str", "stage_name": "str"}), h


def rates_ok(df, names):
    """Each known rate lies in [0, 1] and within its own Wilson bounds."""
    for name in names:
        r, lo, hi = df[name], df[f"{name}_ci_low"], df[f"{name}_ci_high"]
        known = r.notna()
        assert r[known].between(0, 1).all() and (lo[known] <= r[known] + 1e-12).all()
        assert (hi[known] >= r[known] - 1e-12).all() and hi[known].le(1).all() and lo[known].ge(0).all()
