"""forecast.definitions: every forecasting table shows the definitions of its figures beside it."""

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.forecast import report
from funnel_analysis.forecast.definitions import FORECAST_DEFINITIONS, TABLE_FIGURES, forecast_definitions

OPPS = pd.DataFrame(
    {
        "Id": ["006A", "006B", "006C"],
        "StageName": ["Closed Won", "Prospecting", "Negotiation/Review"],
        "Amount": [1000, 500, 800],
        "CreatedDate": ["2024-01-02", "2024-01-05", "2024-02-01"],
        "CloseDate": ["2024-02-01", "2024-05-10", "2024-08-30"],
    }
)


def test_every_table_figure_has_a_definition():
    for figures in TABLE_FIGURES.values():
        assert set(figures) <= set(FORECAST_DEFINITIONS)
    assert forecast_definitions()["figure"].tolist() == list(FORECAST_DEFINITIONS)
    with pytest.raises(ValueError, match="no forecast definition"):
        forecast_definitions(figures=["mape"])


def test_report_tables_carry_their_definitions():
    crm = load_frames({"Opportunity": OPPS})
    w = report.weighted_pipeline(crm, as_of="2024-03-31", probabilities=("configured",))
    assert w.attrs["note"] == "Definitions: " + FORECAST_DEFINITIONS["weighted_pipeline"]
    # 500 x 10 % (Prospecting) + 800 x 90 % (Negotiation/Review), Salesforce's default probabilities
    assert w["weighted_amount"].sum() == pytest.approx(500 * 0.10 + 800 * 0.90)
    c = report.forecast_categories(crm, as_of="2024-03-31")
    assert FORECAST_DEFINITIONS["forecast_categories"] in c.attrs["note"]
