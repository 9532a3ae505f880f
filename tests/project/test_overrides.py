"""project.overrides.apply_profile: business types, the stage and lead-status overrides of the profile.

Every expectation is read off the few rows written here.
"""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.project import OrgProfile, apply_profile

OPPS = pd.DataFrame(
    {
        "Id": ["006A", "006B", "006C"],
        "StageName": ["Prospecting", "Closed Lost - Duplicate", "Closed Won"],
        "Type": ["New Business", "Renewal", "Upsell"],
        "CreatedDate": ["2024-01-02", "2024-01-03", "2024-01-04"],
        "CloseDate": ["2024-06-30", "2024-02-01", "2024-03-01"],
    }
)
STATUSES = pd.DataFrame(
    {"MasterLabel": ["New", "Qualified", "Converted"], "SortOrder": [1, 2, 3], "IsConverted": [False, True, True]}
)


def test_stages_are_corrected_and_a_missing_one_added_in_order():
    crm = load_frames({"Opportunity": OPPS})
    profile = OrgProfile(
        stages={
            "closed lost - duplicate": {"is_closed": True, "is_won": False, "forecast_category": "Omitted"},
            "Prospecting": {"default_probability": 5},
        }
    )
    org = apply_profile(crm, profile=profile)
    stages = org.stages.set_index("stage_name")
    # the export has no stage table: the standard stages, plus the inferred 'Closed Lost - Duplicate'
    assert stages.loc["Closed Lost - Duplicate", ["is_closed", "is_won", "forecast_category"]].tolist() == [
        True,
        False,
        "Omitted",
    ]
    assert stages.loc["Prospecting", "default_probability"] == 5
    assert org.stages["sort_order"].tolist() == list(range(1, len(org.stages) + 1))
    assert org.opportunities["business_type"].tolist() == ["new_business", "renewal", "expansion"]
    assert crm.stages.set_index("stage_name").loc["Prospecting", "default_probability"] == 10  # not changed
    assert "business_type" not in crm.opportunities.columns


def test_a_stage_the_table_lacks_is_added_after_the_others():
    org = apply_profile(load_frames({"Opportunity": OPPS}), profile=OrgProfile(stages={"Parked": {"is_closed": False}}))
    assert org.stages["stage_name"].iloc[-1] == "Parked"
    assert org.meta["profile_overrides"] == ["stage Parked: added (is_closed False)"]


def test_lead_status_overrides_need_the_orgs_status_table():
    leads = pd.DataFrame({"Id": ["00QA"], "Status": ["Qualified"]})
    profile = OrgProfile(lead_statuses={"Qualified": {"is_converted": False}, "Gone": {"sort_order": 9}})
    org = apply_profile(load_frames({"Lead": leads, "LeadStatus": STATUSES}), profile=profile)
    assert org.lead_statuses.set_index("status")["is_converted"].to_dict() == {
        "New": False,
        "Qualified": False,
        "Converted": True,
    }
    assert org.meta["profile_overrides"] == [
        "lead status Qualified: is_converted False",
        "lead status Gone: not in the org's table, override not applied",
    ]
    bare = apply_profile(load_frames({"Lead": leads}), profile=profile)
    assert bare.meta["profile_overrides"] == ["lead_statuses overrides need the org's LeadStatus.csv: not applied"]


def test_apply_profile_refuses_what_is_not_a_profile():
    with pytest.raises(TypeError, match="OrgProfile"):
        apply_profile(load_frames({"Opportunity": OPPS}), profile={"stages": {}})
