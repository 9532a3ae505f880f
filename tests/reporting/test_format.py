"""Figures formatted by meaning: every kind, written out by hand, and invariants over many values."""

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnel_analysis.reporting.format import (
    INTERNAL_COLUMNS,
    column_label,
    figure_kind,
    format_figure,
    format_interval,
    headline_table,
)


@pytest.mark.parametrize(
    ("value", "kind", "currency", "expected"),
    [
        (0.28534, "rate", "", "28.5 %"),
        (1.0, "rate", "", "100.0 %"),
        (0.0004, "rate", "", "0.0 %"),
        (0.7, "metric", "", "0.700"),  # one decimal would say "0.7": two models could not be told apart
        (0.72345, "metric", "", "0.723"),
        (0.10449, "metric", "", "0.104"),
        (0.0041, "metric", "", "0.00410"),
        (1.2345, "metric", "", "1.23"),
        (25819.58, "money", "EUR", "€25,820"),
        (8493545.4, "money", "USD", "$8,493,545"),
        (-1234.4, "money", "USD", "-$1,234"),
        (1000.0, "money", "CHF", "CHF 1,000"),
        (69.4, "days", "", "69 days"),
        (1.2, "days", "", "1 day"),
        (20613, "count", "", "20,613"),
        (3.25, "number", "", "3.2"),  # banker's rounding of the float 3.25 is Python's; one decimal
        (pd.Timestamp("2025-12-31 13:00", tz="UTC"), "date", "", "2025-12-31"),
        ("Prospecting", "text", "", "Prospecting"),
        (None, "rate", "", "–"),
        (float("nan"), "money", "EUR", "–"),
        (pd.NA, "count", "", "–"),
    ],
)
def test_every_kind_by_hand(value, kind, currency, expected):
    assert format_figure(value, kind=kind, currency=currency) == expected


def test_an_interval_beside_its_value():
    assert format_interval(0.2853, 0.2706, 0.3006, kind="rate") == "28.5 % (27.1–30.1)"
    assert format_interval(25819.6, 24100.2, 27600.9, kind="money", currency="EUR") == "€25,820 (€24,100–€27,601)"
    assert format_interval(69, 60.2, 75.7, kind="days") == "69 days (60–76)"
    assert format_interval(0.81234, 0.7912, 0.8333, kind="metric") == "0.812 (0.791–0.833)"
    assert format_interval(0.5, float("nan"), 0.6, kind="rate") == "50.0 %"  # no half intervals


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [
        ("win_rate", 0.3, "rate"),
        ("win_rate_ci_high", 0.3, "rate"),
        ("lead_conversion_rate_n", 20613, "count"),
        ("roc_auc", 0.8, "metric"),
        ("brier", 0.1, "metric"),
        ("ece", 0.01, "metric"),
        ("mase", 0.9, "metric"),
        ("pr_auc_ci_low", 0.4, "metric"),
        ("open_pipeline_amount", 1.0, "money"),
        ("avg_won_deal_size", 1.0, "money"),
        ("amount_share", 0.2, "rate"),  # a share of money is not money
        ("median_cycle_days", 69.0, "days"),
        ("cycle_undated_excluded", 0, "count"),
        ("leads", 20613, "count"),
        ("stage_name", "Closed Won", "text"),
        ("as_of", "2025-12-31", "text"),
        ("score", 0.25, "number"),
    ],
)
def test_kind_from_the_name(name, value, kind):
    assert figure_kind(name, value) == kind


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind: expected one of"):
        format_figure(1, kind="percent")


def test_labels():
    assert column_label("owner_id") == "Owner ID"
    assert column_label("roc_auc") == "ROC-AUC"
    assert column_label("days_in_stage") == "Days in stage"
    assert column_label("median_time_to_touch_hours") == "Median time to touch (hours)"
    assert column_label("sla_breach_share") == "SLA breach share"
    assert column_label("win_rate") == "Win rate"
    assert {"sort_order", "is_closed", "is_won"} <= INTERNAL_COLUMNS


def test_headline_table_folds_counts_and_intervals():
    figures = {
        "as_of": "2025-12-31",
        "leads": 20613,
        "lead_conversion_rate": 0.18236,
        "lead_conversion_rate_n": 20613,
        "lead_conversion_rate_ci_low": 0.17715,
        "lead_conversion_rate_ci_high": 0.18769,
        "avg_won_deal_size": 25819.58,
        "avg_won_deal_size_n": 987,
        "median_cycle_days": 69.0,
    }
    t = headline_table(figures, currency="EUR", definitions={"leads": "Leads created up to the day."})
    assert list(t.index) == ["as_of", "leads", "lead_conversion_rate", "avg_won_deal_size", "median_cycle_days"]
    assert t.loc["lead_conversion_rate"].tolist() == ["Lead conversion", "18.2 % (17.7–18.8)", "20,613", ""]
    assert t.loc["avg_won_deal_size", "value"] == "€25,820"
    assert t.loc["avg_won_deal_size", "n"] == "987"
    assert t.loc["median_cycle_days", "value"] == "69 days"
    assert t.loc["leads", "definition"] == "Leads created up to the day."
    assert figures["leads"] == 20613  # the input is not changed


@given(st.floats(min_value=0, max_value=1, allow_nan=False))
def test_a_rate_reads_back_within_half_a_tenth_of_a_percent(x):
    shown = format_figure(x, kind="rate")
    assert shown.endswith(" %")
    assert abs(float(shown[:-2].replace(",", "")) / 100 - x) <= 0.0005 + 1e-12


@given(st.floats(min_value=1e-6, max_value=99.9, allow_nan=False))
def test_a_metric_has_three_significant_digits(x):
    shown = format_figure(x, kind="metric")
    digits = shown.replace(".", "").lstrip("0")
    assert len(digits) == 3, shown
    assert math.isclose(float(shown), x, rel_tol=5e-3)


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_money_reads_back_to_the_unit(x):
    shown = format_figure(x, kind="money", currency="USD")
    back = float(shown.replace("$", "").replace(",", ""))
    assert abs(back - x) <= 0.5 + 1e-6


def test_figure_kind_of_one_name_still_follows_each_value():
    """The name's kind is worked out once per name; the value's own rules still apply to every call."""
    import datetime

    assert [figure_kind("segment_x", v) for v in (3, 0.5, "EMEA", True, 2.0, 0.0)] == [
        "count",
        "number",
        "text",
        "text",
        "count",
        "number",
    ]
    # a date or a text value wins over a name that says rate
    assert figure_kind("win_rate", datetime.date(2024, 1, 1)) == "date"
    assert figure_kind("win_rate", "n/a") == "text"
    assert figure_kind("win_rate", 0.25) == "rate"
