"""Tests of funnel_analysis.sources.attribution: hand-computed tiny frames, invariants, failure cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_analysis.sources import (
    MODELS,
    NO_CAMPAIGN,
    attribution_summary,
    campaign_attribution,
    touch_weights,
)


def _utc(values):
    return pd.to_datetime(values, utc=True, format="mixed")


@pytest.fixture
def org():
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3", "O4"],
            "amount": [1000.0, 200.0, 50.0, 300.0],
            "is_closed": [True, True, True, False],
            "is_won": [True, True, False, False],
            "created_date": _utc(["2024-03-01", "2024-03-01", "2024-03-01", "2024-03-01"]),
        }
    )
    leads = pd.DataFrame({"lead_id": ["L1", "L2", "L3", "L4"], "converted_opportunity_id": ["O1", "O1", "O3", "O4"]})
    members = pd.DataFrame(
        {
            "campaign_member_id": ["M1", "M2", "M3", "M4", "M5", "M6"],
            "campaign_id": ["A", "B", "C", "D", "A", "E"],
            "lead_id": ["L1", "L1", "L2", "L1", "L3", "L4"],
            "has_responded": [True, False, True, True, True, True],
            "created_date": _utc(
                [
                    "2024-01-01",
                    "2024-02-01",
                    "2024-01-15",
                    "2024-03-02",  # after O1 was created: not a touch
                    "2024-01-01",
                    "2024-01-01",
                ]
            ),
        }
    )
    return opps, leads, members


def _w(att, model, opp):
    return att[(att["model"] == model) & (att["opportunity_id"] == opp)].set_index("campaign_id")["weight"].to_dict()


def test_hand_computed_weights(org):
    opps, leads, members = org
    att = campaign_attribution(opps, leads, members)
    # O1 (won, 1000): touches of L1 and L2 before Mar 1, by date: A (Jan 1), C (Jan 15), B (Feb 1)
    assert _w(att, "first_touch", "O1") == {"A": 1.0}
    assert _w(att, "last_touch", "O1") == {"B": 1.0}
    assert _w(att, "linear", "O1") == pytest.approx({"A": 1 / 3, "B": 1 / 3, "C": 1 / 3})
    assert _w(att, "u_shaped", "O1") == pytest.approx({"A": 0.4, "C": 0.2, "B": 0.4})
    o1 = att[(att["model"] == "u_shaped") & (att["opportunity_id"] == "O1")].set_index("campaign_id")
    assert o1["credited_value"].to_dict() == pytest.approx({"A": 400.0, "C": 200.0, "B": 400.0})  # 0.4*1000 ...
    assert (o1["touches"] == 3).all()
    # O2 (won, 200): no lead converted into it -> (no campaign), weight 1 in every model
    for m in MODELS:
        assert _w(att, m, "O2") == {NO_CAMPAIGN: 1.0}
    # O3 lost, O4 open: not credited when won_only
    assert set(att["opportunity_id"]) == {"O1", "O2"}
    # totals reconcile: 1000 + 200 per model
    assert att.groupby("model")["credited_value"].sum().to_dict() == {m: 1200.0 for m in MODELS}


def test_options_all_deals_responded_only_value(org):
    opps, leads, members = org
    att = campaign_attribution(opps, leads, members, won_only=False, responded_only=True, models="linear")
    # responded only drops M2 (B): O1 touches A, C -> 1/2 each; O3 -> A; O4 -> E
    assert _w(att, "linear", "O1") == pytest.approx({"A": 0.5, "C": 0.5})
    assert _w(att, "linear", "O3") == {"A": 1.0} and _w(att, "linear", "O4") == {"E": 1.0}
    assert att["credited_value"].sum() == pytest.approx(1550.0)  # 1000 + 200 + 50 + 300
    two = campaign_attribution(opps, leads, members, models=["u_shaped"], responded_only=True)
    assert _w(two, "u_shaped", "O1") == pytest.approx({"A": 0.5, "C": 0.5})  # 2 touches -> 50/50


def test_same_campaign_twice_sums_and_missing_value():
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1"],
            "amount": [np.nan],
            "is_closed": [True],
            "is_won": [True],
            "created_date": _utc(["2024-05-01"]),
        }
    )
    leads = pd.DataFrame({"lead_id": ["L1"], "converted_opportunity_id": ["O1"]})
    members = pd.DataFrame(
        {
            "campaign_id": ["A", "B", "A"],
            "lead_id": ["L1"] * 3,
            "created_date": _utc(["2024-01-01", "2024-02-01", "2024-03-01"]),
        }
    )
    att = campaign_attribution(opps, leads, members, models=["u_shaped", "linear"])
    # u_shaped: A first 0.4 + A last 0.4 = 0.8, B middle 0.2; linear A 2/3, B 1/3
    assert _w(att, "u_shaped", "O1") == pytest.approx({"A": 0.8, "B": 0.2})
    assert _w(att, "linear", "O1") == pytest.approx({"A": 2 / 3, "B": 1 / 3})
    assert att["credited_value"].isna().all()  # unknown amount stays unknown


def test_summary_side_by_side(org):
    opps, leads, members = org
    att = campaign_attribution(opps, leads, members)
    camps = pd.DataFrame({"campaign_id": ["A", "B", "C"], "name": ["a", "b", "c"], "type": ["x", "y", "z"]})
    s = attribution_summary(att, campaigns=camps)
    assert list(s["campaign_id"]) == ["A", "B", "C", NO_CAMPAIGN]
    assert list(s.columns[:3]) == ["campaign_id", "name", "type"]
    s = s.set_index("campaign_id")
    assert s.loc["A", "first_touch_value"] == 1000.0 and s.loc["B", "first_touch_value"] == 0.0
    assert s.loc["C", "u_shaped_value"] == 200.0 and s.loc["A", "linear_opportunities"] == pytest.approx(1 / 3)
    for m in MODELS:  # 2 won opportunities worth 1200 in every model
        assert s[f"{m}_opportunities"].sum() == pytest.approx(2.0)
        assert s[f"{m}_value"].sum() == pytest.approx(1200.0)


def test_failures(org):
    opps, leads, members = org
    with pytest.raises(ValueError, match="unknown model"):
        campaign_attribution(opps, leads, members, models=["w_shaped"])
    with pytest.raises(ValueError, match="no model"):
        campaign_attribution(opps, leads, members, models=[])
    with pytest.raises(ValueError, match="converted_opportunity_id"):
        campaign_attribution(opps, leads.drop(columns="converted_opportunity_id"), members)
    with pytest.raises(ValueError, match="has_responded"):
        campaign_attribution(opps, leads, members.drop(columns="has_responded"), responded_only=True)
    with pytest.raises(ValueError, match="revenue"):
        campaign_attribution(opps, leads, members, value="revenue")
    with pytest.raises(ValueError, match="unique"):
        campaign_attribution(pd.concat([opps, opps]), leads, members)
    with pytest.raises(ValueError, match="model"):
        attribution_summary(att := pd.DataFrame({"campaign_id": ["A"]}))
    with pytest.raises(ValueError):
        touch_weights(0, "linear")
    with pytest.raises(ValueError):
        touch_weights(2, "nope")
    del att


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 30))
def test_touch_weights_sum_to_one(n):
    for m in MODELS:
        w = touch_weights(n, m)
        assert len(w) == n and (w >= 0).all() and w.sum() == pytest.approx(1.0)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.lists(st.tuples(st.sampled_from("ABCDE"), st.integers(0, 60)), max_size=6), min_size=1, max_size=8),
    st.lists(st.floats(0, 1e6), min_size=8, max_size=8),
    st.booleans(),
)
def test_weights_sum_to_one_and_totals_reconcile(touches, amounts, won_only):
    n = len(touches)
    opps = pd.DataFrame(
        {
            "opportunity_id": [f"O{i}" for i in range(n)],
            "amount": amounts[:n],
            "is_closed": [True] * n,
            "is_won": [i % 2 == 0 for i in range(n)],
            "created_date": _utc(["2024-02-15"] * n),
        }
    )
    leads = pd.DataFrame({"lead_id": [f"L{i}" for i in range(n)], "converted_opportunity_id": opps["opportunity_id"]})
    rows = [(c, f"L{i}", d) for i, ts in enumerate(touches) for c, d in ts]
    members = pd.DataFrame(
        {
            "campaign_id": [r[0] for r in rows],
            "lead_id": [r[1] for r in rows],
            "created_date": _utc(["2024-01-01"] * len(rows)) + pd.to_timedelta([r[2] for r in rows], unit="D"),
        }
    )
    att = campaign_attribution(opps, leads, members, won_only=won_only)
    credited = opps[opps["is_won"]] if won_only else opps
    sums = att.groupby(["model", "opportunity_id"])["weight"].sum()
    assert np.allclose(sums.to_numpy(), 1.0)
    assert len(sums) == len(MODELS) * len(credited)
    totals = att.groupby("model")["credited_value"].sum()
    assert np.allclose(totals.to_numpy(), credited["amount"].sum(), rtol=1e-9, atol=1e-6)
    s = attribution_summary(att)
    for m in MODELS:
        assert s[f"{m}_value"].sum() == pytest.approx(credited["amount"].sum(), rel=1e-9, abs=1e-6)


def test_contact_touches_converted_contact_and_account_contacts():
    # O1 (account A1, created 03-01, 900) came from lead L1, who became contact C1.
    #   L1 joined campaign X on 01-01; C1 (same person, after conversion) joined Y on 02-01;
    #   C2, a colleague at A1, joined Z on 02-15; C3 at another account joined W (not a touch);
    #   C1 joined V on 04-01, after the deal was created (not a touch).
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1"],
            "account_id": ["A1"],
            "amount": [900.0],
            "is_closed": [True],
            "is_won": [True],
            "created_date": pd.to_datetime(["2024-03-01"], utc=True),
        }
    )
    leads = pd.DataFrame({"lead_id": ["L1"], "converted_opportunity_id": ["O1"], "converted_contact_id": ["C1"]})
    contacts = pd.DataFrame({"contact_id": ["C1", "C2", "C3"], "account_id": ["A1", "A1", "A9"]})
    members = pd.DataFrame(
        {
            "campaign_member_id": ["m1", "m2", "m3", "m4", "m5"],
            "campaign_id": ["X", "Y", "Z", "W", "V"],
            "lead_id": ["L1", None, None, None, None],
            "contact_id": [None, "C1", "C2", "C3", "C1"],
            "created_date": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-02-15", "2024-02-20", "2024-04-01"], utc=True
            ),
        }
    )
    # lead and converted contact only: X then Y, linear 450 each
    lin = campaign_attribution(opps, leads, members, models=["linear"])
    assert dict(zip(lin["campaign_id"], lin["credited_value"])) == {"X": 450.0, "Y": 450.0}
    # with the account's contacts: X, Y, Z (C1 is reached twice, its membership counts once)
    u = campaign_attribution(opps, leads, members, models=["u_shaped", "last_touch"], contacts=contacts)
    us = u[u["model"] == "u_shaped"]
    assert dict(zip(us["campaign_id"], us["weight"])) == {"X": 0.4, "Y": pytest.approx(0.2), "Z": 0.4}
    assert set(us["touches"]) == {3}
    last = u[u["model"] == "last_touch"]
    assert last["campaign_id"].tolist() == ["Z"] and last["credited_value"].tolist() == [900.0]
    with pytest.raises(ValueError, match="account_id"):
        campaign_attribution(opps.drop(columns="account_id"), leads, members, contacts=contacts)


def _account_deals():
    """Account A1 has contacts C1..C4; O1 (1200) and O2 (600), both won and created 03-01, no converted lead.

    C1 joined X (01-01), C2 Y (01-15), C3 Z (02-01), C4 W (02-10). Contact roles: O1 -> C1, C2; O2 none.
    """
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2"],
            "account_id": ["A1", "A1"],
            "amount": [1200.0, 600.0],
            "is_closed": [True, True],
            "is_won": [True, True],
            "created_date": pd.to_datetime(["2024-03-01", "2024-03-01"], utc=True),
        }
    )
    leads = pd.DataFrame({"lead_id": pd.Series(dtype="str"), "converted_opportunity_id": pd.Series(dtype="str")})
    contacts = pd.DataFrame({"contact_id": ["C1", "C2", "C3", "C4"], "account_id": ["A1"] * 4})
    members = pd.DataFrame(
        {
            "campaign_member_id": ["m1", "m2", "m3", "m4"],
            "campaign_id": ["X", "Y", "Z", "W"],
            "lead_id": [None] * 4,
            "contact_id": ["C1", "C2", "C3", "C4"],
            "created_date": pd.to_datetime(["2024-01-01", "2024-01-15", "2024-02-01", "2024-02-10"], utc=True),
        }
    )
    roles = pd.DataFrame({"opportunity_id": ["O1", "O1"], "contact_id": ["C1", "C2"], "is_primary": [True, False]})
    return opps, leads, members, contacts, roles


def test_contact_roles_credit_the_deals_people_not_the_whole_account():
    opps, leads, members, contacts, roles = _account_deals()
    by_roles = campaign_attribution(opps, leads, members, models=["linear"], contact_roles=roles)
    # O1: C1 (X) and C2 (Y), 600 each; O2 has no role and no lead: all 600 to no campaign
    got = by_roles.groupby("campaign_id")["credited_value"].sum().to_dict()
    assert got == {"X": 600.0, "Y": 600.0, NO_CAMPAIGN: 600.0}
    by_account = campaign_attribution(opps, leads, members, models=["linear"], contacts=contacts)
    # every contact of A1 touches both deals: X, Y, Z, W a quarter each, (1200 + 600) / 4 = 450 per campaign
    got = by_account.groupby("campaign_id")["credited_value"].sum().to_dict()
    assert got == {"X": 450.0, "Y": 450.0, "Z": 450.0, "W": 450.0}
    first = campaign_attribution(opps, leads, members, models=["first_touch"], contact_roles=roles)
    assert first.loc[first["opportunity_id"] == "O1", "campaign_id"].tolist() == ["X"]  # C1 joined first


def test_contact_roles_failures():
    opps, leads, members, contacts, roles = _account_deals()
    with pytest.raises(ValueError, match="give contact_roles .* or contacts .*, not both"):
        campaign_attribution(opps, leads, members, contacts=contacts, contact_roles=roles)
    with pytest.raises(ValueError, match="contact_id"):
        campaign_attribution(opps, leads, members, contact_roles=roles.drop(columns="contact_id"))
