"""velocity.definitions: every velocity table shows the definitions of its figures beside it."""

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.velocity import report
from funnel_analysis.velocity.definitions import (
    TABLE_FIGURES,
    VELOCITY_DEFINITIONS,
    velocity_definitions,
    with_definitions,
)

OPPS = pd.DataFrame(
    {
        "Id": ["006A", "006B", "006C"],
        "StageName": ["Closed Won", "Closed Lost", "Prospecting"],
        "Amount": [1000, 500, 800],
        "CreatedDate": ["2024-01-02", "2024-01-05", "2024-02-01"],
        "CloseDate": ["2024-02-01", "2024-02-10", "2024-06-30"],
    }
)


def test_every_table_figure_has_a_definition_that_says_what_is_left_out():
    for figures in TABLE_FIGURES.values():
        assert set(figures) <= set(VELOCITY_DEFINITIONS)
    assert "left out: deleted and merged records" in VELOCITY_DEFINITIONS["cycle_days"]
    with pytest.raises(ValueError, match="no velocity definition of \\['win_rate_x'\\]"):
        velocity_definitions(figures=["win_rate_x"])


def test_report_tables_carry_their_definitions():
    crm = load_frames({"Opportunity": OPPS})
    cycle = report.cycle_length(crm, as_of="2024-03-31")
    assert cycle.attrs["note"] == "Definitions: " + VELOCITY_DEFINITIONS["cycle_days"]
    assert int(cycle["n"].iloc[0]) == 3  # the figures are unchanged
    v = report.sales_velocity(crm, as_of="2024-03-31", n_boot=10)
    assert VELOCITY_DEFINITIONS["sales_velocity"] in v.attrs["note"]


def test_an_existing_note_is_kept_and_the_input_not_changed():
    t = pd.DataFrame({"n": [1]})
    t.attrs["note"] = "statuses from LeadStatus.csv"
    out = with_definitions(t, "stalled_deals")
    assert out.attrs["note"] == "statuses from LeadStatus.csv. Definitions: " + VELOCITY_DEFINITIONS["stalled"]
    assert t.attrs["note"] == "statuses from LeadStatus.csv"
