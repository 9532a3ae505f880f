"""pipeline_waterfall: hand-computed on the tiny export and a tiny hand-built org, and a property."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnel_analysis.crm import CrmData, DataQualityReport
from funnel_analysis.sources import COMPONENTS, SIGNS, PipelineWaterfall, pipeline_waterfall

A, B, E, H = (f"00600000000000{i}AAA" for i in (1, 2, 5, 8))


@pytest.fixture(scope="module")
def tiny(tiny_crm):
    return tiny_crm


def cents(x):
    return np.round(np.asarray(x, dtype="float64") * 100).astype("int64")


def reconciles(df):
    """end == start + new + pulled_in - pushed_out + amount_up - amount_down + fx_up - fx_down - won - lost, in cents."""
    lhs = cents(df["start"]) + sum(s * cents(df[k]) for k, s in SIGNS.items())
    return np.array_equal(lhs, cents(df["end"]))


def waterfall(crm, start, end, **options):
    """The two frames of the result (start and end are keyword-only in the API)."""
    w = pipeline_waterfall(crm, start=start, end=end, **options)
    assert isinstance(w, PipelineWaterfall)
    return w.per_opportunity, w.totals


def row(per, oid):
    return per.set_index("opportunity_id").loc[oid]


# ---- the tiny export (states from tests/crm/test_model.py) --------------------------------------------
def test_tiny_mid_feb_to_mid_april(tiny):
    # 02-15: A open Negotiation 1000, B open Prospecting 500, E open with no amount; H not created.
    # 04-15: A won 1000 (03-15), B open 500, E open, H created 03-15 and lost 04-10 at 200.
    per, tot = waterfall(tiny, "2024-02-15", "2024-04-15")
    assert dict(zip(per["opportunity_id"], per["movement"])) == {A: "won", B: "carried", E: "carried", H: "new_lost"}
    assert row(per, A)[["start", "won", "end"]].tolist() == [1000, 1000, 0]
    assert row(per, H)[["start", "new", "lost", "end"]].tolist() == [0, 200, 200, 0]
    assert row(per, E)[["amount_missing_start", "amount_missing_end", "start", "end"]].tolist() == [True, True, 0, 0]
    t = tot.iloc[0]
    assert [t[k] for k in COMPONENTS] == [1500, 200, 0, 0, 0, 0, 0, 0, 1000, 200, 500]
    assert t["n_opportunities"] == 4 and t["n_amount_missing_start"] == 1 and t["n_amount_missing_end"] == 1
    assert reconciles(per) and reconciles(tot)


def test_tiny_reopened_deal_reenters_as_new(tiny):
    # 04-15: H Closed Lost 200; 04-25: H Qualification 300 -> reopened, counted in `new` at 300
    per, tot = waterfall(tiny, "2024-04-15", "2024-04-25")
    assert row(per, H)[["movement", "start", "new", "end"]].tolist() == ["reopened", 0, 300, 300]
    assert A not in set(per["opportunity_id"])  # closed at both cuts: outside, not listed
    assert [tot.iloc[0][k] for k in ("start", "new", "end")] == [500, 300, 800]


def test_tiny_pushed_out_of_window(tiny):
    # window Apr-May. 03-20: H Prospecting 200, close 05-31 (in); 04-25: Qualification 300, close 06-30 (out).
    # B closes 06-30 (out), A 03-31 (out, then won), E 2023-12-01 (out).
    per, tot = waterfall(tiny, "2024-03-20", "2024-04-25", close_window=("2024-04-01", "2024-05-31"))
    assert per["opportunity_id"].tolist() == [H]
    assert row(per, H)[["movement", "start", "pushed_out", "amount_up", "end"]].tolist() == [
        "pushed_out",
        200,
        200,
        0,
        0,
    ]
    assert [tot.iloc[0][k] for k in COMPONENTS] == [200, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0]


def test_tiny_pulled_into_window(tiny):
    # window June: B (06-30) carried at 500; H moves from 05-31 to 06-30 and is valued at its end amount 300
    per, tot = waterfall(tiny, "2024-03-20", "2024-04-25", close_window=("2024-06-01", "2024-06-30"))
    assert dict(zip(per["opportunity_id"], per["movement"])) == {B: "carried", H: "pulled_in"}
    assert [tot.iloc[0][k] for k in COMPONENTS] == [500, 0, 300, 0, 0, 0, 0, 0, 0, 0, 800]


def test_tiny_open_only_false_lists_every_deal(tiny):
    per, tot = waterfall(tiny, "2024-04-15", "2024-04-25", open_only=False)
    assert sorted(per["opportunity_id"]) == sorted([A, B, E, H])
    assert row(per, A)["movement"] == "outside" and tot.iloc[0]["n_opportunities"] == 3


# ---- a tiny hand-built org ---------------------------------------------------------------------
STAGES = pd.DataFrame(
    {
        "stage_name": pd.array(["Open", "Won", "Lost"], dtype="str"),
        "sort_order": [1, 2, 3],
        "is_closed": [False, True, True],
        "is_won": [False, True, False],
    }
)


def org(opps, hist):
    """opps: (id, created, region); hist: (id, day, stage, amount, close_date) -> CrmData."""
    o = pd.DataFrame(opps, columns=["opportunity_id", "created_date", "region"])
    h = pd.DataFrame(hist, columns=["opportunity_id", "created_date", "stage_name", "amount", "close_date"])
    last = h.drop_duplicates("opportunity_id", keep="last").set_index("opportunity_id")
    o = o.join(last[["stage_name", "amount", "close_date"]], on="opportunity_id")
    flags = STAGES.set_index("stage_name")
    o["is_closed"] = o["stage_name"].map(flags["is_closed"]).astype(bool)
    o["is_won"] = o["stage_name"].map(flags["is_won"]).astype(bool)
    for df in (o, h):
        df["created_date"] = pd.to_datetime(df["created_date"], utc=True).astype("datetime64[us, UTC]")
        df["close_date"] = pd.to_datetime(df["close_date"]).astype("datetime64[us]")
        df["amount"] = df["amount"].astype("float64")
        for c in ("opportunity_id", "stage_name"):
            df[c] = df[c].astype("str")
    o["region"] = o["region"].astype("str")
    tables = {"opportunities": o, "opportunity_history": h, "stages": STAGES}
    return CrmData(
        tables=tables,
        quarantine=pd.DataFrame(),
        flags=pd.DataFrame(),
        quarantined_rows={},
        report=DataQualityReport(),
        meta={"columns_present": {t: list(d.columns) for t, d in tables.items()}},
    )


# Period: end of 2024-03-31 -> end of 2024-06-30; target window Q2 (04-01 .. 06-30).
#   P1 EU  open 100 close 05-15 -> open 150 close 06-01            carried, amount_up 50
#   P2 EU  open 200 close 06-10 -> won at 180 on 05-20              won 180, amount_down 20
#   P3 US  open 300 close 05-01 -> open 300 close 08-01             pushed_out 300
#   P4 US  open 400 close 09-01 -> open 350 close 06-15             pulled_in 350
#   P5 US  created 04-10 open 500 close 06-20                       new 500
#   P6 EU  created 04-12, lost 04-30 at 60                          new 60, lost 60
#   P7 EU  open, amount missing, close 04-20 -> lost (still none)   missing at start and end, all 0
#   P8 US  open 70 close 04-15 -> lost 70 on 05-01                  lost 70
HAND_OPPS = [
    ("P1", "2024-01-05", "EU"),
    ("P2", "2024-02-01", "EU"),
    ("P3", "2024-02-10", "US"),
    ("P4", "2024-03-01", "US"),
    ("P5", "2024-04-10", "US"),
    ("P6", "2024-04-12", "EU"),
    ("P7", "2024-03-05", "EU"),
    ("P8", "2024-03-06", "US"),
]
HAND_HIST = [
    ("P1", "2024-01-05", "Open", 100, "2024-05-15"),
    ("P1", "2024-05-01", "Open", 150, "2024-06-01"),
    ("P2", "2024-02-01", "Open", 200, "2024-06-10"),
    ("P2", "2024-05-20", "Won", 180, "2024-05-20"),
    ("P3", "2024-02-10", "Open", 300, "2024-05-01"),
    ("P3", "2024-04-20", "Open", 300, "2024-08-01"),
    ("P4", "2024-03-01", "Open", 400, "2024-09-01"),
    ("P4", "2024-06-01", "Open", 350, "2024-06-15"),
    ("P5", "2024-04-10", "Open", 500, "2024-06-20"),
    ("P6", "2024-04-12", "Open", 60, "2024-05-30"),
    ("P6", "2024-04-30", "Lost", 60, "2024-04-30"),
    ("P7", "2024-03-05", "Open", None, "2024-04-20"),
    ("P7", "2024-04-20", "Lost", None, "2024-04-20"),
    ("P8", "2024-03-06", "Open", 70, "2024-04-15"),
    ("P8", "2024-05-01", "Lost", 70, "2024-05-01"),
]


def test_hand_built_org_every_movement():
    crm = org(HAND_OPPS, HAND_HIST)
    before = crm.opportunities.copy()
    per, tot = waterfall(crm, "2024-03-31", "2024-06-30", close_window=("2024-04-01", "2024-06-30"))
    pd.testing.assert_frame_equal(crm.opportunities, before)  # input untouched
    got = per.set_index("opportunity_id")
    assert got["movement"].to_dict() == {
        "P1": "carried",
        "P2": "won",
        "P3": "pushed_out",
        "P4": "pulled_in",
        "P5": "new",
        "P6": "new_lost",
        "P7": "lost",
        "P8": "lost",
    }
    assert got.loc["P1", ["start", "amount_up", "end"]].tolist() == [100, 50, 150]
    assert got.loc["P2", ["start", "amount_down", "won"]].tolist() == [200, 20, 180]
    assert got.loc["P4", ["start", "pulled_in", "amount_up", "end"]].tolist() == [0, 350, 0, 350]
    assert got.loc["P7", ["amount_missing_start", "amount_missing_end", "lost"]].tolist() == [True, True, 0]
    t = tot.iloc[0]
    # start: P1 100 + P2 200 + P3 300 + P7 0 + P8 70 = 670; end: P1 150 + P4 350 + P5 500 = 1000
    assert [t[k] for k in COMPONENTS] == [670, 560, 350, 300, 50, 20, 0, 0, 180, 130, 1000]
    assert 670 + 560 + 350 - 300 + 50 - 20 - 180 - 130 == 1000
    assert t["n_amount_missing_start"] == 1 and t["n_amount_missing_end"] == 1
    assert reconciles(per) and reconciles(tot)


def test_hand_built_org_by_region_adds_up():
    crm = org(HAND_OPPS, HAND_HIST)
    _, tot = waterfall(crm, "2024-03-31", "2024-06-30", by="region", close_window=("2024-04-01", "2024-06-30"))
    eu, us = (tot.set_index("region").loc[r] for r in ("EU", "US"))
    assert [eu[k] for k in COMPONENTS] == [300, 60, 0, 0, 50, 20, 0, 0, 180, 60, 150]
    assert [us[k] for k in COMPONENTS] == [370, 500, 350, 300, 0, 0, 0, 0, 0, 70, 850]
    assert reconciles(tot)


def test_same_day_is_all_carried():
    crm = org(HAND_OPPS, HAND_HIST)
    per, tot = waterfall(crm, "2024-05-01", "2024-05-01")
    assert set(per["movement"]) == {"carried"} and tot.iloc[0]["start"] == tot.iloc[0]["end"]


def test_cents_reconcile_exactly():
    hist = [
        ("X", "2024-01-01", "Open", 0.1, "2024-06-01"),
        ("X", "2024-02-01", "Open", 0.7, "2024-06-01"),
        ("Y", "2024-01-01", "Open", 0.2, "2024-06-01"),
        ("Y", "2024-02-01", "Won", 0.3, "2024-02-01"),
    ]
    crm = org([("X", "2024-01-01", "EU"), ("Y", "2024-01-01", "EU")], hist)
    per, tot = waterfall(crm, "2024-01-15", "2024-02-15")
    assert reconciles(per) and reconciles(tot)
    assert tot.iloc[0]["amount_up"] == 0.7 and tot.iloc[0]["won"] == 0.3


# ---- failures ---------------------------------------------------------------------------------
def test_end_before_start_fails(tiny):
    with pytest.raises(ValueError, match="before start"):
        pipeline_waterfall(tiny, start="2024-04-15", end="2024-02-15")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"start": "not a date"}, "not a date"),
        ({"close_window": ("2024-06-30", "2024-04-01")}, "ends before"),
        ({"close_window": ("2024-06-30",)}, "pair"),
        ({"by": "no_such_column"}, "no_such_column"),
        ({"decimals": -1}, "decimals"),
    ],
)
def test_bad_arguments_fail(tiny, kwargs, match):
    args = {"start": "2024-02-15", "end": "2024-04-15", **kwargs}
    with pytest.raises(ValueError, match=match):
        pipeline_waterfall(tiny, **args)


# ---- property: any history reconciles, and the start / end totals are the open pipeline of the cuts
STAGE = st.sampled_from(["Open", "Open", "Won", "Lost"])
STEP = st.tuples(
    st.integers(0, 30), STAGE, st.one_of(st.none(), st.floats(0, 1e7, allow_nan=False)), st.integers(-20, 90)
)
OPP = st.tuples(st.integers(0, 90), st.sampled_from(["EU", "US"]), st.lists(STEP, min_size=1, max_size=5))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(OPP, min_size=1, max_size=8),
    st.integers(0, 120),
    st.integers(0, 60),
    st.one_of(st.none(), st.tuples(st.integers(0, 150), st.integers(0, 60))),
)
def test_waterfall_reconciles_for_random_histories(specs, d0, span, win):
    base = pd.Timestamp("2024-01-01")
    opps, hist = [], []
    for i, (created, region, steps) in enumerate(specs):
        day = created
        opps.append((f"R{i}", base + pd.Timedelta(days=created), region))
        for gap, stage, amount, close_off in steps:
            day += gap
            when, close = base + pd.Timedelta(days=day), base + pd.Timedelta(days=day + close_off)
            hist.append((f"R{i}", when, stage, amount, close))
    crm = org(opps, hist)
    start, end = base + pd.Timedelta(days=d0), base + pd.Timedelta(days=d0 + span)
    window = None if win is None else (base + pd.Timedelta(days=win[0]), base + pd.Timedelta(days=win[0] + win[1]))
    per, tot = waterfall(crm, start, end, by="region", close_window=window)
    assert reconciles(per) and reconciles(tot)
    for k in COMPONENTS:
        assert (per[k] >= 0).all()
        assert cents(tot[k]).sum() == cents(per[k]).sum()
    for day, col in ((start, "start"), (end, "end")):
        cut = crm.as_of(day).opportunities
        inside = ~cut["is_closed"]
        if window is not None:
            inside &= cut["close_date"].between(*window)
        assert cents(cut.loc[inside, "amount"].fillna(0)).sum() == cents(tot[col]).sum()


def test_pulled_in_and_closed_inside_the_window():
    # Q9 due 09-01 at start, brought forward and won on 05-10 at 250: the quarter's won revenue shows it.
    # Q10 due 08-15 at start, lost on 06-05 (close date 06-05 in the window): pulled in, then lost.
    # Q11 due 08-15 at start, won on 07-02 (after the window's end cut): not in this waterfall at all.
    hist = [
        ("Q9", "2024-03-01", "Open", 250, "2024-09-01"),
        ("Q9", "2024-05-10", "Won", 250, "2024-05-10"),
        ("Q10", "2024-03-01", "Open", 90, "2024-08-15"),
        ("Q10", "2024-06-05", "Lost", 90, "2024-06-05"),
        ("Q11", "2024-03-01", "Open", 40, "2024-08-15"),
        ("Q11", "2024-07-02", "Won", 40, "2024-07-02"),
    ]
    crm = org([("Q9", "2024-03-01", "EU"), ("Q10", "2024-03-01", "EU"), ("Q11", "2024-03-01", "EU")], hist)
    per, tot = waterfall(crm, "2024-03-31", "2024-06-30", close_window=("2024-04-01", "2024-06-30"))
    got = per.set_index("opportunity_id")
    # open_only lists deals in the pipeline at a cut or with a non-zero component: Q11 is neither
    assert got["movement"].to_dict() == {"Q9": "pulled_won", "Q10": "pulled_lost"}
    assert got.loc["Q9", ["start", "pulled_in", "won", "end"]].tolist() == [0, 250, 250, 0]
    assert got.loc["Q10", ["pulled_in", "lost"]].tolist() == [90, 90]
    t = tot.iloc[0]
    assert [t[k] for k in COMPONENTS] == [0, 0, 340, 0, 0, 0, 0, 0, 250, 90, 0]
    # without a window nothing is "pulled": Q9 and Q10 were in the pipeline at start and closed
    per_all, _ = waterfall(crm, "2024-03-31", "2024-06-30")
    assert dict(zip(per_all["opportunity_id"], per_all["movement"])) == {"Q9": "won", "Q10": "lost", "Q11": "carried"}


# ---- the result, keyword-only days, where -------------------------------------------------------
def test_the_result_names_its_parts_and_days():
    crm = org(HAND_OPPS, HAND_HIST)
    w = pipeline_waterfall(
        crm, start="2024-03-31", end="2024-06-30", close_window=("2024-04-01", "2024-06-30"), period="FY2024-Q2"
    )
    assert (w.start, w.end) == (pd.Timestamp("2024-03-31"), pd.Timestamp("2024-06-30"))
    assert w.close_window == (pd.Timestamp("2024-04-01"), pd.Timestamp("2024-06-30"))
    assert w.period == "FY2024-Q2" and len(w.per_opportunity) == 8
    summary = w.summary.iloc[0]
    assert summary["start"] == 670 and summary["end"] == 1000
    assert (summary["period"], summary["start_date"], summary["end_date"]) == (
        "FY2024-Q2",
        pd.Timestamp("2024-03-31"),
        pd.Timestamp("2024-06-30"),
    )
    assert "period" not in w.totals.columns  # summary is a new frame
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.period = "other"


def test_start_and_end_are_keyword_only():
    crm = org(HAND_OPPS, HAND_HIST)
    with pytest.raises(TypeError):
        pipeline_waterfall(crm, "2024-03-31", "2024-06-30")


def test_where_keeps_the_deals_it_selects_at_end():
    # the EU deals alone: the EU row of the by-region test (hand-counted there)
    crm = org(HAND_OPPS, HAND_HIST)
    w = pipeline_waterfall(
        crm, start="2024-03-31", end="2024-06-30", where="region == 'EU'", close_window=("2024-04-01", "2024-06-30")
    )
    assert set(w.per_opportunity["opportunity_id"]) == {"P1", "P2", "P6", "P7"}
    assert [w.totals.iloc[0][k] for k in COMPONENTS] == [300, 60, 0, 0, 50, 20, 0, 0, 180, 60, 150]


def test_a_bad_where_fails():
    crm = org(HAND_OPPS, HAND_HIST)
    with pytest.raises(ValueError):
        pipeline_waterfall(crm, start="2024-03-31", end="2024-06-30", where="region ==")


def test_a_rate_boundary_is_an_exchange_rate_movement_and_the_waterfall_still_reconciles(tmp_path):
    """The two-currency export of tests/crm/test_currency.py: O3 (EUR 800, open) moved its close date
    from 2024-02-20 (rate 0.90) to 2024-04-30 (rate 0.80) on 2024-03-05 with no amount change."""
    import funnel_analysis as fa
    from tests.crm.test_currency import FILES

    folder = tmp_path / "two"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    crm = fa.load_org(folder)
    w = pipeline_waterfall(crm, start="2024-02-25", end="2024-03-10")
    o3 = w.per_opportunity.set_index("opportunity_id").loc["006000000000003AAA"]
    # by hand: 800 / 0.9 = 888.89 at start, 800 / 0.8 = 1000.00 at end: all of it the rate
    assert (o3["start"], o3["fx_up"], o3["amount_up"], o3["amount_down"], o3["end"]) == (888.89, 111.11, 0, 0, 1000)
    t = w.totals.iloc[0]
    # open at both cuts: O1 (USD 1000) and O3; O4 (GBP, no rate) is open with its amount missing
    assert (t["start"], t["end"], t["fx_up"], t["fx_down"]) == (1888.89, 2000.0, 111.11, 0)
    assert t["n_amount_missing_start"] == 1
    units = {k: round(t[k] * 100) for k in COMPONENTS}
    assert units["end"] == units["start"] + sum(SIGNS[k] * units[k] for k in SIGNS)


# ---- the owner on the day (OpportunityFieldHistory) ---------------------------------------------------
def test_by_owner_is_the_owner_at_the_end():
    """Two deals open at both cuts, 100 (exported owner U2) and 40 (U1). X changed U1 -> U2 on 10 April,
    after the end (31 March): its owner then was the change's old value, U1. Y changed U2 -> U1 on
    1 March, inside the period: U1 at the end. So the end cut puts both with U1 (by hand: start 140,
    end 140); the exported owners would have split them U2 100 / U1 40."""
    from funnel_analysis.crm import load_frames

    x, y, u1, u2 = "006000000000101AAA", "006000000000102AAA", "005000000000001AAA", "005000000000002AAA"
    o = pd.DataFrame(
        {
            "Id": [x, y],
            "StageName": ["Prospecting", "Prospecting"],
            "Amount": [100, 40],
            "CreatedDate": ["2023-11-01T09:00:00Z", "2023-11-02T09:00:00Z"],
            "CloseDate": ["2024-06-30", "2024-06-30"],
            "IsClosed": [False, False],
            "IsWon": [False, False],
            "OwnerId": [u2, u1],
        }
    )
    f = pd.DataFrame(
        {
            "Id": ["017000000000001AAA", "017000000000002AAA"],
            "OpportunityId": [x, y],
            "Field": ["Owner", "Owner"],
            "DataType": ["EntityId", "EntityId"],
            "OldValue": [u1, u2],
            "NewValue": [u2, u1],
            "CreatedDate": ["2024-04-10T12:00:00Z", "2024-03-01T12:00:00Z"],
        }
    )
    crm = load_frames({"Opportunity": o, "OpportunityFieldHistory": f})
    per, tot = waterfall(crm, "2023-12-31", "2024-03-31", by="owner_id")
    assert tot[["owner_id", "start", "end", "n_opportunities"]].values.tolist() == [[u1, 140.0, 140.0, 2]]
    assert set(per["movement"]) == {"carried"}
    # the org without its field history: the exported owners, as before
    bare = dataclasses.replace(crm, tables={k: v for k, v in crm.tables.items() if k != "opportunity_field_history"})
    _, tot = waterfall(bare, "2023-12-31", "2024-03-31", by="owner_id")
    assert sorted(tot[["owner_id", "end"]].values.tolist()) == [[u1, 40.0], [u2, 100.0]]
