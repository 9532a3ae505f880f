"""Tests of funnel_analysis.sources: hand-computed tiny frames, invariants, failure cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_analysis.sources import (
    SPEED_BUCKETS,
    campaign_matrix,
    compare_sources,
    mature_leads,
    source_matrix,
    speed_to_lead,
)


def _utc(values):
    return pd.to_datetime(values, utc=True, format="mixed")


@pytest.fixture
def leads():
    # Web: L1 -> O1 (won 100), L2 -> O2 (lost 40), L3 not converted, L4 -> O1 (same opp as L1)
    # Referral: L5 -> O3 (open 70); missing source: L6 not converted
    return pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4", "L5", "L6"],
            "lead_source": ["Web", "Web", "Web", "Web", "Referral", None],
            "is_converted": [True, True, False, True, True, None],
            "converted_opportunity_id": ["O1", "O2", None, "O1", "O3", None],
            "owner_id": ["U1", "U1", "U2", "U2", "U1", "U2"],
            "created_date": _utc(["2024-01-01 00:00"] * 6),
        }
    )


@pytest.fixture
def opps():
    return pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3", "O9"],
            "amount": [100.0, 40.0, 70.0, 999.0],
            "is_closed": [True, True, False, True],
            "is_won": [True, False, False, True],
            "created_date": _utc(["2024-01-05 12:00", "2024-01-05", "2024-01-06", "2024-01-01"]),
            "close_date": pd.to_datetime(["2024-01-25", "2024-01-10", None, "2024-01-02"]),
        }
    )


def test_source_matrix_hand_computed(leads, opps):
    m = source_matrix(leads, opps).set_index("lead_source")
    web = m.loc["Web"]
    # 4 Web leads, 3 converted -> 0.75; opps {O1, O2} (O1 counted once) -> 2
    assert (web["leads"], web["converted"], web["conversion_rate"]) == (4, 3, 0.75)
    assert web["opportunities"] == 2
    assert web["pipeline_created"] == 140.0  # 100 + 40
    assert (web["closed"], web["won"], web["win_rate"]) == (2, 1, 0.5)
    assert web["won_revenue"] == 100.0 and web["avg_won_deal_size"] == 100.0
    assert web["median_cycle_days"] == 20.0  # O1: created Jan 5 (UTC day), closed Jan 25
    ref = m.loc["Referral"]
    # 1 lead, converted to the open O3: pipeline 70, nothing closed -> win rate NaN
    assert (ref["leads"], ref["opportunities"], ref["pipeline_created"], ref["closed"]) == (1, 1, 70.0, 0)
    assert np.isnan(ref["win_rate"]) and ref["won_revenue"] == 0.0
    na = m[m.index.isna()].iloc[0]
    assert (na["leads"], na["converted"], na["opportunities"]) == (1, 0, 0)  # missing is_converted -> False
    # O9 came from no lead: in no row
    assert m["won_revenue"].sum() == 100.0
    assert m["leads"].sum() == len(leads)


def test_source_matrix_by_other_column_and_pure(leads, opps):
    before = leads.copy()
    m = source_matrix(leads, opps, by=["owner_id"]).set_index("owner_id")
    # U1: L1, L2, L5 -> opps O1, O2, O3 ; U2: L3, L4, L6 -> O1
    assert m.loc["U1", "opportunities"] == 3 and m.loc["U2", "opportunities"] == 1
    assert m.loc["U2", "won_revenue"] == 100.0
    pd.testing.assert_frame_equal(leads, before)


def test_source_matrix_failures(leads, opps):
    with pytest.raises(ValueError, match="lead_source"):
        source_matrix(leads.drop(columns="lead_source"), opps)
    with pytest.raises(ValueError, match="amount"):
        source_matrix(leads, opps.drop(columns="amount"))
    with pytest.raises(TypeError):
        source_matrix([1, 2], opps)
    with pytest.raises(ValueError, match="campaigns"):
        source_matrix(leads, opps, campaign_members=pd.DataFrame({"campaign_id": [], "lead_id": []}), by="owner_id")


def test_campaign_matrix_cost_rules(leads, opps):
    members = pd.DataFrame(
        {
            "campaign_id": ["C1", "C1", "C1", "C2", "C3", "CX"],
            "lead_id": ["L1", "L1", "L3", "L2", None, "L5"],
            "contact_id": [None, None, None, None, "K1", None],
        }
    )
    camps = pd.DataFrame(
        {
            "campaign_id": ["C1", "C2", "C3", "C4"],
            "type": ["Email", "Webinar", "Event", "Ad"],
            "actual_cost": [50.0, 0.0, None, None],
            "budgeted_cost": [999.0, 10.0, 30.0, None],
        }
    )
    m = campaign_matrix(leads, opps, campaigns=camps, campaign_members=members).set_index("campaign_id")
    assert list(m.index) == ["C1", "C2", "C3", "C4", "CX"]
    # C1: L1 (twice, counted once) and L3 -> 2 leads, 1 converted, O1 won 100; cost = actual 50
    assert (m.loc["C1", "leads"], m.loc["C1", "converted"], m.loc["C1", "won_revenue"]) == (2, 1, 100.0)
    assert m.loc["C1", "cost"] == 50.0 and m.loc["C1", "cost_per_lead"] == 25.0  # 50 / 2
    assert m.loc["C1", "return_on_cost"] == 2.0  # 100 / 50
    # C2: actual cost 0 is known (not replaced by budget): cost/lead 0, return null (not inf)
    assert m.loc["C2", "cost"] == 0.0 and m.loc["C2", "cost_per_lead"] == 0.0
    assert np.isnan(m.loc["C2", "return_on_cost"])
    # C3: contact-only member -> 0 leads; cost from budget 30; cost per lead null
    assert m.loc["C3", "leads"] == 0 and m.loc["C3", "cost"] == 30.0 and np.isnan(m.loc["C3", "cost_per_lead"])
    # C4: no members, no cost; CX: not in campaigns -> unknown cost
    assert m.loc["C4", "leads"] == 0 and np.isnan(m.loc["C4", "cost"])
    assert m.loc["CX", "leads"] == 1 and np.isnan(m.loc["CX", "return_on_cost"])
    assert not np.isinf(m.select_dtypes("number").to_numpy(dtype=float)).any()
    # through source_matrix, same result
    pd.testing.assert_frame_equal(
        source_matrix(leads, opps, campaigns=camps, campaign_members=members),
        campaign_matrix(leads, opps, campaigns=camps, campaign_members=members),
    )
    with pytest.raises(ValueError, match="campaign_id"):
        campaign_matrix(leads, opps, campaign_members=members.drop(columns="campaign_id"))


def test_compare_sources_z_and_fisher():
    # 60/100 vs 40/100: expected counts all 50 -> z test; pooled p = 0.5,
    # z = 0.2 / sqrt(0.5 * 0.5 * (2/100)) = 0.2 / 0.070711 = 2.8284
    m = pd.DataFrame(
        {"lead_source": ["A", "B"], "leads": [100, 100], "converted": [60, 40], "closed": [4, 3], "won": [3, 0]}
    )
    r = compare_sources(m, "A", "B").iloc[0]
    assert r["test"] == "z" and r["difference"] == pytest.approx(0.2)
    assert r["statistic"] == pytest.approx(2.8284, abs=1e-4)
    assert r["difference_ci_low"] < 0.2 < r["difference_ci_high"] and r["p_value"] < 0.01
    # win: 3/4 vs 0/3 -> expected counts < 5 -> Fisher. Margins: rows 4, 3; won 3 of 7.
    # P(a won in A) = C(4,a) C(3,3-a) / C(7,3): a=0..3 -> 1/35, 12/35, 18/35, 4/35 (observed a=3).
    # two-sided p = tables no likelier than observed = 4/35 + 1/35 = 5/35
    w = compare_sources(m, "A", "B", metric="win").iloc[0]
    assert w["test"] == "fisher" and w["difference"] == pytest.approx(0.75)
    assert w["p_value"] == pytest.approx(5 / 35)
    assert -1 <= w["difference_ci_low"] < w["difference_ci_high"] <= 1


def test_compare_sources_from_leads_and_failures(leads):
    r = compare_sources(leads, "Web", "Referral").iloc[0]  # 3/4 vs 1/1
    assert (r["successes_a"], r["trials_a"], r["successes_b"], r["trials_b"]) == (3, 4, 1, 1)
    with pytest.raises(ValueError, match="Nowhere"):
        compare_sources(leads, "Web", "Nowhere")
    with pytest.raises(ValueError, match="metric"):
        compare_sources(leads, "Web", "Referral", metric="revenue")
    with pytest.raises(ValueError, match="neither"):
        compare_sources(leads, "Web", "Referral", metric="win")
    empty = pd.DataFrame({"lead_source": ["A", "B"], "leads": [0, 3], "converted": [0, 1]})
    with pytest.raises(ValueError, match="no leads"):
        compare_sources(empty, "A", "B")


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 60), st.integers(1, 60), st.data())
def test_compare_sources_ci_contains_difference(n1, n2, data):
    s1, s2 = data.draw(st.integers(0, n1)), data.draw(st.integers(0, n2))
    m = pd.DataFrame({"lead_source": ["A", "B"], "leads": [n1, n2], "converted": [s1, s2]})
    r = compare_sources(m, "A", "B").iloc[0]
    assert -1 - 1e-9 <= r["difference_ci_low"] <= r["difference"] + 1e-9 <= r["difference_ci_high"] + 2e-9 <= 1 + 3e-9
    assert 0 <= r["p_value"] <= 1 + 1e-12


def test_speed_to_lead_buckets_hand_computed():
    leads = pd.DataFrame(
        {
            "lead_id": ["A", "B", "C", "D", "E", "F"],
            "owner_id": ["U1", "U1", "U1", "U2", "U2", "U2"],
            "created_date": _utc(["2024-01-01 10:00"] * 5 + [None]),
            "is_converted": [True, True, False, False, True, True],
        }
    )
    acts = pd.DataFrame(
        {
            "who_id": ["A", "A", "B", "C", "D", "X"],
            "created_date": _utc(
                [
                    "2024-01-01 10:30",  # A: 0.5 h
                    "2024-01-01 09:00",  # A: before creation, ignored
                    "2024-01-02 09:00",  # B: 23 h -> 1-24h
                    "2024-01-08 10:00",  # C: 168 h -> >7d (7 days is not < 7 days)
                    "2024-01-03 10:00",  # D: 48 h -> 1-7d
                    "2024-01-01 11:00",
                ]
            ),
        }
    )  # X: no such lead
    s = speed_to_lead(leads, acts, by="owner_id")
    u1 = s[s["owner_id"] == "U1"].set_index("bucket")
    assert list(u1.index) == [*SPEED_BUCKETS, "all"]
    assert u1.loc["<1h", "leads"] == 1 and u1.loc["1-24h", "leads"] == 1 and u1.loc[">7d", "leads"] == 1
    assert u1.loc["all", "median_hours"] == 23.0  # median of 0.5, 23, 168
    assert u1.loc["all", "mean_hours"] == pytest.approx((0.5 + 23 + 168) / 3)
    assert u1.loc["all", "conversion_rate"] == pytest.approx(2 / 3)
    u2 = s[s["owner_id"] == "U2"].set_index("bucket")
    # F has no creation time: left out. D 48 h; E never contacted
    assert u2.loc["all", "leads"] == 2 and u2.loc["1-7d", "leads"] == 1
    assert u2.loc["never", "leads"] == 1 and u2.loc["never", "conversion_rate"] == 1.0
    assert u2.loc["all", "contacted"] == 1
    # by=None, with activity_date (a date, midnight UTC): A's Jan 1 is before 10:00 -> ignored
    acts2 = acts.assign(
        activity_date=pd.to_datetime(
            ["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-08", "2024-01-03", "2024-01-01"]
        )
    )
    s2 = speed_to_lead(leads, acts2, by=None, time_column="activity_date").set_index("bucket")
    assert s2.loc["never", "leads"] == 2  # A and E
    assert s2.loc["1-24h", "leads"] == 1  # B: 14 h


def test_speed_to_lead_failures():
    leads = pd.DataFrame({"lead_id": ["A"], "created_date": _utc(["2024-01-01"]), "is_converted": [False]})
    with pytest.raises(ValueError, match="owner_id"):
        speed_to_lead(leads, pd.DataFrame({"who_id": [], "created_date": []}), by="owner_id")
    with pytest.raises(ValueError, match="who_id"):
        speed_to_lead(leads, pd.DataFrame({"created_date": []}), by=None)


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.booleans(), st.one_of(st.none(), st.floats(0, 500))),
        min_size=1,
        max_size=25,
    )
)
def test_speed_to_lead_buckets_partition_leads(rows):
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{i}" for i in range(len(rows))],
            "seg": [r[0] for r in rows],
            "created_date": _utc(["2024-01-01"] * len(rows)),
            "is_converted": [r[1] for r in rows],
        }
    )
    hours = [(f"L{i}", r[2]) for i, r in enumerate(rows) if r[2] is not None]
    acts = pd.DataFrame(
        {
            "who_id": [h[0] for h in hours],
            "created_date": _utc(["2024-01-01"] * len(hours)) + pd.to_timedelta([h[1] for h in hours], unit="h"),
        }
    )
    s = speed_to_lead(leads, acts, by="seg")
    for seg, g in s.groupby("seg"):
        g = g.set_index("bucket")
        assert g.loc[list(SPEED_BUCKETS), "leads"].sum() == g.loc["all", "leads"] == (leads["seg"] == seg).sum()
        assert g.loc[list(SPEED_BUCKETS), "converted"].sum() == g.loc["all", "converted"]
        assert g.loc["never", "leads"] == g.loc["all", "leads"] - g.loc["all", "contacted"]


def test_mature_leads_keeps_old_enough_leads_only():
    leads = pd.DataFrame(
        {
            "lead_id": ["A", "B", "C", "D", "E"],
            # end of as_of (2024-03-31) is 2024-04-01 00:00; 30 days before is 2024-03-02 00:00
            "created_date": pd.to_datetime(
                ["2024-01-01 10:00", "2024-03-02 00:00", "2024-03-02 00:01", None, "2024-04-02 00:00"], utc=True
            ),
        },
        index=[10, 11, 12, 13, 14],
    )
    before = leads.copy()
    got = mature_leads(leads, as_of="2024-03-31", mature_days=30)
    assert got["lead_id"].tolist() == ["A", "B"] and got.index.tolist() == [10, 11]
    # 0 days: everything created by the end of as_of (E is after it, D has no date)
    assert mature_leads(leads, as_of="2024-03-31", mature_days=0)["lead_id"].tolist() == ["A", "B", "C"]
    pd.testing.assert_frame_equal(leads, before)


def test_mature_leads_errors():
    leads = pd.DataFrame({"lead_id": ["A"], "created_date": pd.to_datetime(["2024-01-01"], utc=True)})
    with pytest.raises(ValueError, match="mature_days"):
        mature_leads(leads, as_of="2024-03-31", mature_days=-1)
    with pytest.raises(ValueError, match="as_of"):
        mature_leads(leads, as_of="not a date")
    with pytest.raises(ValueError, match="created_date"):
        mature_leads(leads.drop(columns="created_date"), as_of="2024-03-31")
