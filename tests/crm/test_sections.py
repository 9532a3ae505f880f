"""funnel_analysis.crm.sections: the stage order, the undated deals and the added counts of the report sections.

Every expected value is worked out by hand from the few rows built here.
"""

import pandas as pd
import pandas.testing as pdt
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.crm.sections import add_counts, dropped_undated, stage_order_unknown, stages_in_use


def _org(stages, created=None, closed=None, won=None, close=None, stage_table=None):
    n = len(stages)
    opps = pd.DataFrame(
        {
            "Id": [f"006{chr(65 + i)}" for i in range(n)],
            "StageName": stages,
            "Amount": [100 * (i + 1) for i in range(n)],
            "CreatedDate": created or ["2024-01-02"] * n,
            "CloseDate": close or ["2024-06-30"] * n,
            "IsClosed": closed or [False] * n,
            "IsWon": won or [False] * n,
            "LeadSource": ["Web", "Partner", "Web", "Web"][:n],
        }
    )
    frames = {"Opportunity": opps}
    if stage_table is not None:
        frames["OpportunityStage"] = stage_table
    return load_frames(frames)


# ---- stage_order_unknown -------------------------------------------------------------------------------
def test_stage_order_is_known_for_default_stages_and_unknown_for_foreign_ones():
    assert stage_order_unknown(_org(["Prospecting", "Closed Won"])) is None
    reason = stage_order_unknown(_org(["Zeta", "Alpha", "Prospecting", "Beta", "Gamma"][:4]))
    # sorted foreign stages, at most three shown: Alpha, Beta, Zeta (Prospecting is a default stage)
    assert "OpportunityStage.csv" in reason and "(Alpha, Beta, Zeta)" in reason
    four = stage_order_unknown(_org(["Zeta", "Alpha", "Delta", "Beta"]))
    assert "(Alpha, Beta, Delta, ...)" in four


def test_stage_order_is_known_when_the_export_has_a_stage_table():
    table = pd.DataFrame(
        {
            "MasterLabel": ["Engaging", "Won", "Lost"],
            "SortOrder": [1, 2, 3],
            "IsClosed": [False, True, True],
            "IsWon": [False, True, False],
            "IsActive": [True, True, True],
        }
    )
    crm = _org(["Engaging"], stage_table=table)
    assert crm.report.stages_origin != "default"
    assert stage_order_unknown(crm) is None


def test_stage_order_unknown_rejects_what_is_not_an_org():
    with pytest.raises(TypeError, match="stage_order_unknown: crm must be a CrmData"):
        stage_order_unknown(pd.DataFrame())


# ---- stages_in_use -------------------------------------------------------------------------------------
def test_stages_in_use_keeps_the_whole_table_when_the_order_is_known():
    crm = _org(["Prospecting"])
    assert stages_in_use(crm) is crm.stages


def test_stages_in_use_keeps_only_the_stages_used_when_the_order_is_unknown():
    crm = _org(["Engaging", "Prospecting", "Engaging"])
    # the default stages list Prospecting; Engaging is appended by the loader: both used, in table order
    got = stages_in_use(crm)["stage_name"].tolist()
    order = crm.stages["stage_name"].tolist()
    assert sorted(got, key=order.index) == got and set(got) == {"Engaging", "Prospecting"}


def test_stages_in_use_rejects_what_is_not_an_org():
    with pytest.raises(TypeError, match="stages_in_use: crm must be a CrmData"):
        stages_in_use(None)


# ---- dropped_undated -----------------------------------------------------------------------------------
def test_dropped_undated_are_the_deals_without_creation_date_closed_as_of_the_day():
    crm = _org(
        ["Closed Won", "Closed Won", "Closed Won", "Prospecting"],
        created=["2024-01-02", "", "", ""],
        closed=[True, True, True, False],
        won=[True, True, True, False],
        close=["2024-02-01", "2024-03-01", "2024-08-01", "2024-09-30"],
    )
    got = dropped_undated(crm, as_of="2024-06-30")
    # B, C, D have no creation date; B closed 03-01 (won), C closes 08-01 after the day (open), D is open
    assert got["opportunity_id"].tolist() == ["006B", "006C", "006D"]
    assert got["is_closed"].tolist() == [True, False, False]
    assert got["is_won"].tolist() == [True, False, False]
    # where applies to the whole org's rows: amounts are 100, 200, 300, 400
    assert dropped_undated(crm, as_of="2024-06-30", where="amount >= 300")["opportunity_id"].tolist() == [
        "006C",
        "006D",
    ]
    assert crm.opportunities["is_closed"].tolist() == [True, True, True, False]  # the org is not changed


def test_dropped_undated_rejects_a_bad_day_and_what_is_not_an_org():
    crm = _org(["Prospecting"])
    with pytest.raises(ValueError, match="as_of='soon' is not a date"):
        dropped_undated(crm, as_of="soon")
    with pytest.raises(TypeError, match="crm must be a CrmData"):
        dropped_undated(pd.DataFrame(), as_of="2024-06-30")


# ---- add_counts ----------------------------------------------------------------------------------------
def test_add_counts_adds_group_by_group_and_to_the_whole_table():
    table = pd.DataFrame({"lead_source": ["Web", "Partner", "Event"], "n": [1, 0, 2]})
    extra = pd.DataFrame({"lead_source": ["Web", "Web", "Other", "Event"], "n": [2, 1, 5, None]})
    got = add_counts(table, extra, column="n", by="lead_source")
    # Web 1 + 2 + 1 = 4; Partner 0 (no extra); Event 2 + missing = 2; Other is not in the table
    pdt.assert_frame_equal(got, pd.DataFrame({"lead_source": ["Web", "Partner", "Event"], "n": [4, 0, 2]}))
    assert table["n"].tolist() == [1, 0, 2]  # the input is not changed
    whole = add_counts(pd.DataFrame({"n": [3]}), pd.DataFrame({"n": [1, 2, None]}), column="n")
    assert whole["n"].tolist() == [6]  # 3 + 1 + 2
    # nothing to add: the table itself
    assert add_counts(table, extra.iloc[:0], column="n", by="lead_source") is table
    assert add_counts(table, extra.assign(n=0), column="n", by=["lead_source"]) is table


def test_add_counts_names_the_missing_column():
    table = pd.DataFrame({"lead_source": ["Web"], "n": [1]})
    extra = pd.DataFrame({"source": ["Web"], "n": [2]})
    with pytest.raises(ValueError, match=r"add_counts: extra has no column\(s\) \['lead_source'\]"):
        add_counts(table, extra, column="n", by="lead_source")
