"""funnel_analysis.crm.sections: the stage order, the undated deals and the added counts of the report sections.

Every expected value is worked out by hand from the few rows built here.
"""

import pandas as pd
import pandas.testing as pdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_analysis.crm import load_frames
from funnel_analysis.crm.sections import (
    DEFAULT_LEAD_STATUSES,
    add_counts,
    dropped_undated,
    fold_lead_status,
    lead_status_order,
    owners,
    stage_order_unknown,
    stages_in_use,
    with_owner_names,
)


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


# ---- lead_status_order ---------------------------------------------------------------------------------
#: An org's own statuses, listed out of order in the file: the order is SortOrder's.
LEAD_STATUS = pd.DataFrame(
    {
        "MasterLabel": ["Qualified", "New", "Nurture", "Converted"],
        "SortOrder": [2, 1, 3, 4],
        "IsConverted": [False, False, False, True],
        "IsDefault": [False, True, False, False],
    }
)


def _leads(statuses):
    n = len(statuses)
    return pd.DataFrame(
        {"Id": [f"00Q{chr(65 + i)}" for i in range(n)], "Status": statuses, "CreatedDate": ["2024-01-02"] * n}
    )


def test_lead_status_order_follows_the_lead_status_table():
    # "QUALIFIED " is a case/spacing variant of Qualified; "On hold" is in no table: appended, named "data"
    crm = load_frames({"Lead": _leads(["QUALIFIED ", "New", "On hold", "QUALIFIED "]), "LeadStatus": LEAD_STATUS})
    got = lead_status_order(crm)
    expected = pd.DataFrame(
        {
            "status": ["New", "Qualified", "Nurture", "Converted", "On hold"],
            "sort_order": [1, 2, 3, 4, 5],
            "is_converted": pd.array([False, False, False, True, pd.NA], dtype="boolean"),
            "is_default": pd.array([True, False, False, False, pd.NA], dtype="boolean"),
            "origin": ["file", "file", "file", "file", "data"],
        }
    )
    pdt.assert_frame_equal(got, expected, check_dtype=False)
    assert got["status"].tolist().count("Qualified") == 1  # the variant is the table's label, not a new status


def test_lead_status_order_takes_the_statuses_used_when_counted_elsewhere():
    # an engine counts the leads: their statuses come in order of first appearance, folded here
    crm = load_frames({"Lead": _leads(["New"]), "LeadStatus": LEAD_STATUS})
    got = lead_status_order(crm, used=["On hold", "qualified", "Parked", "on HOLD"])
    assert got["status"].tolist() == ["New", "Qualified", "Nurture", "Converted", "On hold", "Parked"]
    assert got["origin"].tolist()[-2:] == ["data", "data"]
    assert lead_status_order(crm, used=())["status"].tolist() == ["New", "Qualified", "Nurture", "Converted"]


def test_lead_status_order_falls_back_to_salesforce_defaults():
    crm = load_frames({"Lead": _leads(["working - contacted", "Prospect"])})
    got = lead_status_order(crm)
    assert got["status"].tolist() == [*DEFAULT_LEAD_STATUSES, "Prospect"]
    assert got["origin"].tolist() == ["default"] * 4 + ["data"]
    assert got["sort_order"].tolist() == [1, 2, 3, 4, 5]
    # Salesforce's defaults: Open - Not Contacted is the default, Closed - Converted the converted one
    assert got.loc[got["is_default"].fillna(False).astype(bool), "status"].tolist() == ["Open - Not Contacted"]
    assert got.loc[got["is_converted"].fillna(False).astype(bool), "status"].tolist() == ["Closed - Converted"]


def test_lead_status_order_rejects_what_is_not_an_org():
    with pytest.raises(TypeError, match="lead_status_order: crm must be a CrmData"):
        lead_status_order(LEAD_STATUS)


def test_fold_lead_status_spells_statuses_as_the_table_and_keeps_the_input():
    leads = pd.DataFrame({"status": ["qualified", " New", "Other", None]})
    got = fold_lead_status(leads, pd.DataFrame({"status": ["New", "Qualified"]}))
    assert got["status"].tolist()[:3] == ["Qualified", "New", "Other"] and pd.isna(got["status"].iloc[3])
    assert leads["status"].tolist()[:3] == ["qualified", " New", "Other"]  # not changed
    same = pd.DataFrame({"status": ["New"]})
    assert fold_lead_status(same, pd.DataFrame({"status": ["New"]})) is same


def test_fold_lead_status_names_the_missing_column():
    with pytest.raises(ValueError, match=r"fold_lead_status: statuses has no column\(s\) \['status'\]"):
        fold_lead_status(pd.DataFrame({"status": ["New"]}), pd.DataFrame({"label": ["New"]}))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.sampled_from(["new", "NEW", "New ", "qualified", "Qualified", "On hold", "on  hold", None]),
        min_size=1,
        max_size=12,
    )
)
def test_lead_status_order_lists_every_status_once_the_table_first(statuses):
    crm = load_frames({"Lead": _leads(statuses), "LeadStatus": LEAD_STATUS})
    got = lead_status_order(crm)
    assert got["status"].is_unique
    assert got["status"].tolist()[:4] == ["New", "Qualified", "Nurture", "Converted"]
    assert got["sort_order"].tolist() == list(range(1, len(got) + 1))
    # every status the leads use is listed, after folding case and spacing ("on  hold" is "On hold")
    used = {" ".join(s.split()).lower() for s in statuses if s is not None}
    assert used <= {s.lower() for s in got["status"]}


# ---- owners --------------------------------------------------------------------------------------------
def test_owners_names_users_and_queues():
    users = pd.DataFrame({"Id": ["005A", "005B"], "Name": ["Ann Lee", ""], "FirstName": ["Ann", "Bo"],
                          "LastName": ["Lee", "Yu"]})  # fmt: skip
    groups = pd.DataFrame({"Id": ["00GQ", "00GR"], "Name": ["EMEA Queue", "All staff"], "Type": ["Queue", "Regular"]})
    got = owners(load_frames({"User": users, "Group": groups}))
    # Bo Yu has no Name: first and last names; the Regular group owns nothing, so it is no owner
    expected = pd.DataFrame(
        {"owner_id": ["005A", "005B", "00GQ"], "name": ["Ann Lee", "Bo Yu", "EMEA Queue"],
         "owner_kind": ["user", "user", "queue"]}
    )  # fmt: skip
    pdt.assert_frame_equal(got, expected, check_dtype=False)
    none = owners(load_frames({"Lead": _leads(["New"])}))
    assert none.empty and list(none.columns) == ["owner_id", "name", "owner_kind"]


def test_owners_rejects_what_is_not_an_org():
    with pytest.raises(TypeError, match="owners: crm must be a CrmData"):
        owners({"users": pd.DataFrame()})


def test_with_owner_names_puts_the_name_beside_the_id():
    table = pd.DataFrame({"owner_id": ["00GQ", "005A", "005Z"], "leads": [3, 2, 1]})
    table.attrs["note"] = "kept"
    names = pd.DataFrame({"owner_id": ["005A", "00GQ"], "name": ["Ann Lee", "EMEA Queue"]})
    got = with_owner_names(table, names)
    assert list(got.columns) == ["owner_id", "owner_name", "leads"]
    assert got["owner_name"].tolist()[:2] == ["EMEA Queue", "Ann Lee"] and pd.isna(got["owner_name"].iloc[2])
    assert got.attrs["note"] == "kept" and "owner_name" not in table.columns
    no_owner = pd.DataFrame({"lead_source": ["Web"]})
    assert with_owner_names(no_owner, names) is no_owner


def test_with_owner_names_names_the_missing_column():
    with pytest.raises(ValueError, match=r"with_owner_names: owners has no column\(s\) \['name'\]"):
        with_owner_names(pd.DataFrame({"owner_id": ["005A"]}), pd.DataFrame({"owner_id": ["005A"]}))


# ---- org_notes: what the reports assume about the org ----------------------------------------------
def test_org_notes_say_where_statuses_owners_history_and_credit_come_from():
    import pandas as pd

    from funnel_analysis.crm import load_frames
    from funnel_analysis.crm.sections import org_notes

    leads = pd.DataFrame(
        {
            "Id": ["00QA", "00QB"],
            "Status": ["New", "Odd"],
            "OwnerId": ["005A", "00GQ"],
            "CreatedDate": ["2024-01-02"] * 2,
        }
    )
    statuses = pd.DataFrame({"MasterLabel": ["New", "Qualified"], "SortOrder": [1, 2], "IsConverted": [False, True]})
    users = pd.DataFrame({"Id": ["005A"], "Name": ["Ana"]})
    groups = pd.DataFrame({"Id": ["00GQ"], "Name": ["EMEA Queue"], "Type": ["Queue"]})
    opps = pd.DataFrame({"Id": ["006A", "006B"], "StageName": ["Prospecting"] * 2, "CreatedDate": ["2024-01-03"] * 2})
    roles = pd.DataFrame({"Id": ["00KA"], "OpportunityId": ["006A"], "ContactId": ["003A"], "IsPrimary": [True]})
    contacts = pd.DataFrame({"Id": ["003A"], "LastName": ["Lee"]})
    crm = load_frames(
        {
            "Lead": leads,
            "LeadStatus": statuses,
            "User": users,
            "Group": groups,
            "Opportunity": opps,
            "OpportunityContactRole": roles,
            "Contact": contacts,
        }
    )
    notes = org_notes(crm).set_index("note")["value"]
    assert notes["lead statuses from"] == "LeadStatus.csv, and 1 more the leads use"  # Odd
    assert notes["owners"] == "1 user, 1 queue"
    assert notes["attribution credits"].startswith("the deals' contact roles (1 deal has one)")
    assert notes["lead history"].startswith("LeadHistory is absent")
    assert notes["stages from"] == "default"

    bare = org_notes(load_frames({"Lead": leads.drop(columns="OwnerId")})).set_index("note")["value"]
    assert bare["lead statuses from"] == "Salesforce's default statuses (no LeadStatus.csv)"
    assert bare["owners"].endswith("(no Group.csv: records owned by a queue are flagged)")
    assert bare["attribution credits"] == "every contact of the deal's account (no OpportunityContactRole.csv)"


def test_org_notes_refuse_what_is_not_an_org():
    from funnel_analysis.crm.sections import org_notes

    with pytest.raises(TypeError):
        org_notes({"leads": None})
