"""funnel_analysis.funnel.kpis on the hand-built org of tests/funnel_fixtures.py.

Every expected number is worked out by hand from the tables in funnel_fixtures' docstring; the
arithmetic is in the comments.
"""

import json

import pytest

from funnel_analysis.funnel import kpis
from tests import funnel_fixtures as ff


@pytest.fixture
def crm():
    return ff.make_crm()


def test_kpis_headline(crm):
    k = kpis(crm)
    json.dumps(k)  # plain Python values only
    assert (k["leads"], k["leads_converted"], k["lead_conversion_rate"]) == (10, 5, 0.5)
    assert (k["opportunities_open"], k["opportunities_won"], k["opportunities_lost"]) == (3, 4, 2)
    assert k["win_rate"] == pytest.approx(4 / 6) and k["win_rate_n"] == 6
    assert (k["avg_won_deal_size"], k["median_cycle_days"], k["mean_cycle_days"]) == (1800, 46, 51.75)
    # open: O5 800 + O6 1500 + O8 (no amount) -> 2300 over 2 deals with an amount
    assert (k["open_pipeline_amount"], k["open_pipeline_amount_n"]) == (2300, 2)
    assert isinstance(k["leads"], int) and isinstance(k["win_rate"], float)


def test_kpis_as_of_and_missing_leads(crm):
    k = kpis(crm, as_of="2024-04-15")
    # on 04-15: open O4 O5 O6 O7 = 3000 + 800 + 1500 + 700; won O1 O2; lost O3 -> 2/3; cycles 51, 30
    assert k["as_of"] == "2024-04-15"
    assert (k["opportunities_open"], k["opportunities_won"], k["opportunities_lost"]) == (4, 2, 1)
    assert k["open_pipeline_amount"] == 6000 and k["median_cycle_days"] == 40.5
    no_leads = kpis(ff.make_crm(with_leads=False))
    assert no_leads["leads"] is None and no_leads["lead_conversion_rate"] is None  # unknown, not 0
    assert no_leads["win_rate"] == pytest.approx(4 / 6)


def test_kpis_by_segment(crm):
    rows = kpis(crm, by="lead_source")
    assert [r["segment"] for r in rows] == ["Partner", "Web", None]
    partner, web, none = rows
    assert (partner["leads"], partner["win_rate"], partner["median_cycle_days"]) == (4, 0.75, 41)
    assert partner["opportunities_open"] == 0 and partner["open_pipeline_amount"] == 0.0  # nothing open
    assert (web["lead_conversion_rate"], web["win_rate"], web["open_pipeline_amount"]) == (0.4, 0.5, 2300)
    assert none["leads"] == 1 and none["opportunities"] == 0 and none["win_rate"] is None  # 0 closed
    assert sum(r["leads"] for r in rows) == 10 and sum(r["opportunities"] for r in rows) == 9
    json.dumps(rows)


def test_kpis_errors(crm):
    with pytest.raises(TypeError, match="CrmData"):
        kpis(crm.opportunities)
    with pytest.raises(ValueError, match="region"):
        kpis(crm, by="region")
