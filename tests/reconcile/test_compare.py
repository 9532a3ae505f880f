"""reconcile_figures and definition_effects on the hand-built org of tests/reconcile/org.py (figures by hand)."""

import pandas as pd
import pytest

from funnel_analysis.reconcile import STATUSES, alternative_definitions, definition_effects, reconcile_figures
from tests.reconcile import org


def _figures(*rows, step=0.005) -> pd.DataFrame:
    figure, period, value = zip(*rows)
    return pd.DataFrame({"figure": figure, "period": period, "value": value, "written_step": step})


def test_one_explained_by_amount_one_by_excluded_renewals_one_unexplained():
    # configured: renewals left out. FY2025-Q1 then: win rate 1 / 4 by count, 1000 / 1400 by amount; won 1000
    figures = _figures(
        ("win_rate", "FY2025-Q1", 0.71),  # the dashboard's win rate is by amount: 0.714286
        ("won_amount", "FY2025-Q1", 1900.0),  # the dashboard's bookings count the renewals D and E
        ("opportunities_won", "FY2025-Q1", 7.0),  # only 4 deals were ever won: nothing gives 7
        ("opportunities_lost", "FY2025-Q1", 3.0),  # B C F
    ).assign(written_step=[0.005, 0.5, 0.5, 0.5])
    r = reconcile_figures(figures, org.opportunities(), exclude_types=["Renewal"])
    assert r["status"].tolist() == ["explained", "explained", "unexplained", "matches"]
    assert r["product"].tolist() == pytest.approx([0.25, 1000.0, 1.0, 3.0])
    assert r.loc[0, "explained_by"] == "win rate by amount instead of by count"
    assert r.loc[0, "explained_value"] == pytest.approx(1000 / 1400)
    assert r.loc[1, "explained_by"] == "opportunities of type Renewal counted after all"
    assert r.loc[1, "explained_value"] == 1900.0
    assert r.loc[2, "explained_by"] == "" and pd.isna(r.loc[2, "explained_value"])
    assert r["difference"].tolist() == pytest.approx([0.71 - 0.25, 900.0, 6.0, 0.0])
    assert "opportunities of type Renewal" in r.loc[0, "definition"]  # the configured definition, beside it
    assert r.attrs["note"].startswith("1 matches, 2 explained, 1 unexplained")


def test_renewals_not_configured_are_found_as_a_type_to_leave_out():
    # configured: all types. The dashboard's bookings are new business only: 1000 (A)
    r = reconcile_figures(_figures(("won_amount", "FY2025-Q1", 1000.0), step=0.5), org.opportunities())
    assert r.loc[0, "status"] == "explained" and r.loc[0, "product"] == 1900.0
    # both leave out D and E, exactly: the first tried is named, the other beside it
    assert r.loc[0, "explained_by"] == "only opportunities of type New Business"
    assert r.loc[0, "also_explained_by"].startswith("opportunities of type Renewal left out")


def test_cohort_deleted_and_fiscal_year_alternatives():
    figures = _figures(
        ("win_rate", "FY2025-Q1", 0.4),  # by creation date: D E of B C D E F
        ("win_rate", "FY2025-Q1", 0.95),  # no definition gives it (with the deleted G: 4 / 7; by amount 0.83)
    )
    r = reconcile_figures(figures, org.opportunities(), None, org.with_deleted())
    assert r.loc[0, "explained_by"] == "deals placed by creation date instead of close date"
    assert r.loc[1, "status"] == "unexplained"
    r = reconcile_figures(
        _figures(("won_amount", "FY2025-Q1", 2200.0), step=0.5), org.opportunities(), None, org.with_deleted()
    )
    assert r.loc[0, "explained_by"] == "the deleted records counted"
    # a fiscal year from February: FY2025-Q4 is November 2024 - January 2025: A won alone -> 1.0
    r = reconcile_figures(_figures(("win_rate", "FY2025-Q4", 1.0)), org.opportunities())
    assert r.loc[0, "status"] == "explained" and pd.isna(r.loc[0, "product"])  # no FY2025-Q4 by calendar year
    assert "the fiscal year starting in" in r.loc[0, "explained_by"]


def test_a_period_the_product_does_not_have_is_said():
    r = reconcile_figures(_figures(("opportunities_won", "FY2019-Q1", 5.0), step=0.5), org.opportunities())
    assert r.loc[0, "status"] == "not in the product" and r.loc[0, "status"] in STATUSES


def test_rounding_and_tolerance():
    # 0.5 written as 0.5 (step 0.05) matches 0.5; 0.52 with step 0.005 does not, unless the tolerance allows 4 %
    assert (
        reconcile_figures(_figures(("win_rate", "FY2025-Q1", 0.52)), org.opportunities()).loc[0, "status"] != "matches"
    )
    r = reconcile_figures(_figures(("win_rate", "FY2025-Q1", 0.52)), org.opportunities(), tolerance=0.04)
    assert r.loc[0, "status"] == "matches"


def test_reconcile_figures_refuses_bad_calls():
    with pytest.raises(TypeError, match="DataFrame"):
        reconcile_figures("figures.csv", org.opportunities())
    with pytest.raises(ValueError, match=r"no column\(s\) \['value'\]"):
        reconcile_figures(pd.DataFrame({"figure": ["win_rate"], "period": ["FY2025-Q1"]}), org.opportunities())
    with pytest.raises(ValueError, match="tolerance"):
        reconcile_figures(_figures(("win_rate", "FY2025-Q1", 0.5)), org.opportunities(), tolerance=-1)
    with pytest.raises(ValueError, match="win_rate_basis"):
        reconcile_figures(_figures(("win_rate", "FY2025-Q1", 0.5)), org.opportunities(), win_rate_basis="value")


def test_alternative_definitions_flip_each_choice():
    labels = [
        a.label
        for a in alternative_definitions(
            org.opportunities(), win_rate_basis="amount", cohort="created", exclude_types="Renewal"
        )
    ]
    assert labels[:3] == [
        "win rate by count instead of by amount",
        "deals placed by close date instead of creation date",
        "opportunities of type Renewal counted after all",
    ]
    assert sum("fiscal year starting" in label for label in labels) == 11
    with pytest.raises(ValueError, match="cohort"):
        alternative_definitions(org.opportunities(), cohort="booked")


def test_definition_effects_per_period():
    e = definition_effects(org.opportunities(), None, org.with_deleted())
    q1 = e[e["fiscal_period"] == "FY2025-Q1"].set_index("definition")["value"]
    assert q1["configured"] == 0.5
    assert q1["win rate by amount instead of by count"] == pytest.approx(1900 / 2300)
    assert q1["deals placed by creation date instead of close date"] == pytest.approx(0.4)
    assert q1["only opportunities of type New Business"] == pytest.approx(0.25)
    assert q1["the deleted records counted"] == pytest.approx(4 / 7)
    with pytest.raises(ValueError, match="figure must be one of"):
        definition_effects(org.opportunities(), figure="win_rate_n")
