"""business_type: by RecordTypeId first, then by Type (trimmed, case-folded), the rest the profile's
unlisted type; on a loaded org, a copy with the column that as-of cuts keep."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.project.business import business_type, with_business_type
from funnel_analysis.project.profile import BusinessRule, OrgProfile

RULES = {
    "new_business": BusinessRule(types=("New Business",)),
    "renewal": BusinessRule(types=("Renewal",), record_types=("0120000000000RN",)),
    "expansion": BusinessRule(types=("Upsell",)),
}


def test_record_type_wins_then_type_then_unlisted():
    opps = pd.DataFrame(
        {
            "type": ["New Business", " RENEWAL", "upsell ", "New Business", None, "Partner"],
            "record_type_id": [None, None, None, "0120000000000RNAAA", None, "0120000000000XXAAA"],
        },
        index=[10, 11, 12, 13, 14, 15],
    )
    got = business_type(opps, profile=OrgProfile(business_types=RULES, unlisted_business_type="new_business"))
    # by hand: rows 10-12 by Type; 13 by its record type (15 characters compared) over its Type;
    # 14 (no Type) and 15 (unlisted Type and record type): the unlisted type
    assert got.tolist() == ["new_business", "renewal", "expansion", "renewal", "new_business", "new_business"]
    assert got.index.tolist() == [10, 11, 12, 13, 14, 15] and got.name == "business_type"
    assert "business_type" not in opps.columns  # the input is not changed


def test_types_only_needs_no_record_type_column():
    opps = pd.DataFrame({"type": ["Upsell", "Other"]})
    rules = {k: BusinessRule(types=r.types) for k, r in RULES.items()}
    assert business_type(opps, profile=OrgProfile(business_types=rules)).tolist() == ["expansion", "other"]


def test_listed_record_types_without_the_column_is_one_clear_error():
    with pytest.raises(KeyError, match="lists RecordTypeId values, but the opportunities have no record_type_id"):
        business_type(pd.DataFrame({"type": ["Renewal"]}), profile=OrgProfile(business_types=RULES))


def test_with_business_type_adds_the_column_and_cuts_keep_it():
    from funnel_analysis.crm import load_frames

    opps = pd.DataFrame(
        {
            "Id": ["006000000000001AAA", "006000000000002AAA"],
            "Name": ["a", "b"],
            "StageName": ["Prospecting", "Closed Won"],
            "CreatedDate": ["2025-01-02T00:00:00.000+0000", "2025-01-03T00:00:00.000+0000"],
            "CloseDate": ["2025-03-01", "2025-02-01"],
            "Amount": ["100", "200"],
            "Type": ["Renewal", "New Business"],
        }
    )
    crm = load_frames({"Opportunity": opps})
    rules = {k: BusinessRule(types=r.types) for k, r in RULES.items()}
    out = with_business_type(crm, profile=OrgProfile(business_types=rules))
    assert out is not crm and "business_type" not in crm.opportunities.columns
    by_id = dict(zip(out.opportunities["opportunity_id"], out.opportunities["business_type"]))
    assert by_id == {"006000000000001AAA": "renewal", "006000000000002AAA": "new_business"}
    cut = out.as_of("2025-06-30").opportunities
    assert sorted(cut["business_type"]) == ["new_business", "renewal"]
