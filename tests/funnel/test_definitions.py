"""funnel.definitions: each figure's written definition says what the code did, for each choice."""

import pytest

from funnel_analysis.funnel import (
    HEADLINE_FIGURES,
    KPI_COUNTS,
    KPI_FIGURES,
    KpiChoices,
    definitions_note,
    kpi_definitions,
)

ALWAYS = "deleted and merged records and quarantined rows"


def test_every_figure_has_a_definition_and_the_defaults_say_count_and_as_of():
    d = kpi_definitions()
    assert list(d) == list(KPI_FIGURES) and set(HEADLINE_FIGURES) <= set(d) and set(KPI_COUNTS) == set(d)
    assert d["win_rate"].counted == "won / closed (won + lost) opportunities, by count"
    assert d["win_rate"].period == "opportunities created by the as-of day, won or lost by then"
    assert d["win_rate"].left_out == ALWAYS
    assert d["win_rate"].text == f"win_rate: {d['win_rate'].counted}; {d['win_rate'].period}; left out: {ALWAYS}"
    assert d["leads"].period == "leads created by the as-of day"
    assert "Wilson" in d["win_rate_ci_low"].counted


def test_the_basis_changes_the_win_rate_and_its_interval():
    d = kpi_definitions(win_rate_basis="amount")
    assert d["win_rate"].counted.startswith("amount won / amount closed (won + lost), by amount")
    assert d["win_rate_n"].counted == "the closed opportunities with an amount behind win_rate"
    assert d["win_rate_ci_high"].counted.startswith("none by amount")
    assert d["won_amount"].counted == kpi_definitions()["won_amount"].counted  # the basis is the win rate's only


@pytest.mark.parametrize(
    ("cohort", "scope"),
    [
        ("closed", "opportunities whose close date (the expected one while open) is in the fiscal quarter"),
        ("created", "opportunities created in the fiscal quarter"),
    ],
)
def test_the_cohort_names_the_date_that_places_a_deal(cohort, scope):
    d = kpi_definitions(period="Q", cohort=cohort, fiscal_year_start_month=2)
    assert d["opportunities_won"].period == f"{scope} (the fiscal year starting in February), won by the as-of day"
    assert d["open_pipeline_amount"].period == f"{scope} (the fiscal year starting in February)"
    assert d["leads"].period.startswith("leads created in the fiscal quarter")  # leads: always by creation
    assert kpi_definitions(period="M")["opportunities"].period.endswith(
        "in the fiscal month (the fiscal year starting in January)"
    )
    assert "fiscal year (the" in kpi_definitions(period="Y")["opportunities"].period


def test_exclusions_are_named_for_opportunity_figures_only():
    d = kpi_definitions(exclude_stages=["Closed Duplicate"], exclude_types="Renewal, Upsell", new_business_only=True)
    assert d["win_rate"].left_out == (
        "opportunities in stage Closed Duplicate; opportunities of type Renewal, Upsell; opportunities whose "
        f"business_type is not new business (renewals, expansions); {ALWAYS}"
    )
    assert d["leads"].left_out == ALWAYS


def test_the_note_is_one_line_of_the_choices():
    note = definitions_note(period="Q", win_rate_basis="amount", cohort="created", exclude_types=["Renewal"])
    assert note == (
        "win rate by amount (amount won / amount closed); opportunities created in the fiscal quarter (the fiscal "
        f"year starting in January); left out: opportunities of type Renewal; {ALWAYS}"
    )
    assert "\n" not in note


def test_choices_are_checked_with_one_line():
    for kwargs, message in (
        ({"win_rate_basis": "value"}, "win_rate_basis: expected 'count' or 'amount', got 'value'"),
        ({"cohort": "booked"}, "cohort: expected 'closed' or 'created', got 'booked'"),
        ({"exclude_types": [3]}, "exclude_types: expected names (text), got 3"),
        ({"exclude_stages": 3}, "exclude_stages: expected a list of names, got int"),
        ({"new_business_only": "yes"}, "new_business_only: expected true or false, got 'yes'"),
    ):
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            KpiChoices(**kwargs)
    with pytest.raises(ValueError, match="period: expected 'Q', 'M' or 'Y'"):
        kpi_definitions(period="W")
    with pytest.raises(ValueError, match="fiscal_year_start_month: expected 1 to 12"):
        definitions_note(period="Q", fiscal_year_start_month=13)


def test_choices_from_a_profile_mapping():
    c = KpiChoices.from_mapping({"win_rate_basis": "amount", "exclude_types": ["Renewal", " Renewal", ""]})
    assert (c.win_rate_basis, c.exclude_types, c.cohort) == ("amount", ("Renewal",), "closed")
    assert dict(c.as_kwargs()) == {
        "win_rate_basis": "amount",
        "cohort": "closed",
        "exclude_stages": (),
        "exclude_types": ("Renewal",),
        "new_business_only": False,
    }
    with pytest.raises(ValueError, match="basis: not a KPI choice"):
        KpiChoices.from_mapping({"basis": "amount"})
    with pytest.raises(ValueError, match="expected a mapping"):
        KpiChoices.from_mapping(["amount"])
