import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.crm.schema import TABLES, Reference
from funnel_analysis.crm.validate import OWNER_TABLES, reference_ids, table_schema, validate_table


def test_error_rules():
    opps = pd.DataFrame(
        {
            "opportunity_id": ["a", "b", "b", None, "c"],
            "amount": [1.0, -1.0, 2.0, 3.0, None],
            "probability": [10.0, 50.0, 101.0, 0.0, 100.0],
        }
    )
    issues = validate_table(opps, "opportunities")
    errors = issues[issues.severity == "error"]
    assert sorted(zip(errors["row"], errors["rule"])) == [
        (1, "amount_negative"),
        (2, "id_duplicate"),
        (2, "probability_out_of_range"),
        (3, "id_missing"),
    ]
    warnings = issues[issues.severity == "warning"]
    assert warnings[["row", "rule"]].values.tolist() == [[4, "amount_missing"]]


def test_warning_rules_cross_field():
    opps = pd.DataFrame(
        {
            "opportunity_id": ["a", "b"],
            "created_date": pd.to_datetime(["2024-02-01 10:00", "2024-02-01 10:00"], utc=True),
            "close_date": pd.to_datetime(["2024-01-31", "2024-02-01"]),
            "amount": [1.0, 1.0],
        }
    )
    issues = validate_table(opps, "opportunities")
    assert issues[["row", "rule", "severity"]].values.tolist() == [[0, "close_before_created", "warning"]]


def test_references_required_and_optional():
    hist = pd.DataFrame(
        {
            "history_id": ["h1", "h2"],
            "opportunity_id": ["o1", "zz"],
            "created_date": pd.to_datetime(["2024-01-01", "2024-01-01"], utc=True),
        }
    )
    issues = validate_table(hist, "opportunity_history", known_ids={"opportunities": pd.Index(["o1"])})
    assert issues[["row", "rule", "severity"]].values.tolist() == [[1, "reference_unresolved", "error"]]
    opps = pd.DataFrame({"opportunity_id": ["o1"], "account_id": ["missing"], "amount": [1.0]})
    issues = validate_table(opps, "opportunities", known_ids={"accounts": pd.Index(["a1"])})
    assert issues[["rule", "severity"]].values.tolist() == [["reference_unresolved", "warning"]]
    # a table that was not loaded is not checked
    assert validate_table(opps, "opportunities", known_ids={}).empty


def test_rules_on_absent_columns_are_skipped():
    opps = pd.DataFrame({"opportunity_id": ["a"], "amount": [1.0]})
    issues = validate_table(opps, "opportunities", present=["opportunity_id"])
    assert issues.empty


def test_input_not_modified_and_bad_severity():
    df = pd.DataFrame({"lead_id": ["x"], "email": ["bad@@x"]})
    before = df.copy()
    issues = validate_table(df, "leads")
    assert issues["rule"].tolist() == ["email_invalid"]
    pd.testing.assert_frame_equal(df, before)
    with pytest.raises(KeyError):
        table_schema("no_such_table", "error", present=[])


def test_rule_examples_keeps_the_first_rows_per_rule():
    from funnel_analysis.crm.validate import rule_examples

    issues = pd.DataFrame(
        {"table": ["leads", "leads", "leads", "opportunities"], "rule": ["a", "a", "b", "a"], "row": [1, 2, 3, 4]}
    )
    assert rule_examples(issues, per_rule=1)["row"].tolist() == [1, 3, 4]
    with pytest.raises(ValueError, match="per_rule"):
        rule_examples(issues, per_rule=-1)
    with pytest.raises(KeyError, match="rule"):
        rule_examples(issues.drop(columns="rule"))


# ---- owners: users and queues ----------------------------------------------------------------------------
USERS = pd.DataFrame({"Id": ["005A"], "Name": ["Ann Lee"]})
GROUPS = pd.DataFrame({"Id": ["00GQ"], "Name": ["EMEA Queue"], "Type": ["Queue"]})


def _owned(owners):
    n = len(owners)
    return pd.DataFrame(
        {"Id": [f"00Q{chr(65 + i)}" for i in range(n)], "OwnerId": owners, "CreatedDate": ["2024-01-02"] * n}
    )


def test_a_queue_owner_resolves_and_an_unknown_00G_owner_is_flagged():
    # 005A is a user, 00GQ a queue (Group.csv), 00GX is in neither, and the last lead has no owner
    crm = load_frames({"Lead": _owned(["005A", "00GQ", "00GX", None]), "User": USERS, "Group": GROUPS})
    flagged = crm.flags[crm.flags["rule"] == "reference_unresolved"]
    assert flagged[["record_id", "column", "value"]].values.tolist() == [["00QC", "owner_id", "00GX"]]
    assert len(crm.leads) == 4  # an unresolved owner is a warning: the row is kept


def test_every_owned_table_resolves_its_owner_against_users_and_groups():
    known = {"users": pd.Index(["005A"]), "groups": pd.Index(["00GQ"])}
    for table in ("leads", "opportunities", "accounts", "contacts", "activities", "campaigns"):
        owner = [r for r in TABLES[table].references if r.column == "owner_id"]
        assert owner and owner[0].table == OWNER_TABLES[0], table
        frame = pd.DataFrame({TABLES[table].key: ["r1", "r2", "r3"], "owner_id": ["005A", "00GQ", "00GZ"]})
        issues = validate_table(frame, table, present=[TABLES[table].key, "owner_id"], known_ids=known)
        assert issues[["row", "rule"]].values.tolist() == [[2, "reference_unresolved"]], table


def test_without_group_csv_a_queue_owner_is_flagged_as_before():
    crm = load_frames({"Lead": _owned(["005A", "00GQ"]), "User": USERS})
    assert crm.flags[["record_id", "rule"]].values.tolist() == [["00QB", "reference_unresolved"]]


def test_reference_ids_adds_the_groups_to_owner_references_only():
    known = {"users": pd.Index(["005A"]), "groups": pd.Index(["00GQ"]), "accounts": pd.Index(["001A"])}
    assert reference_ids(Reference("owner_id", "users"), known).tolist() == ["005A", "00GQ"]
    assert reference_ids(Reference("account_id", "accounts"), known).tolist() == ["001A"]
    assert reference_ids(Reference("owner_id", "users"), {"groups": pd.Index(["00GQ"])}) is None  # users not loaded


def test_reference_ids_rejects_what_is_not_a_reference():
    with pytest.raises(TypeError, match="reference_ids: ref must be a Reference, got str"):
        reference_ids("owner_id", {"users": pd.Index(["005A"])})


def test_only_a_queue_owns_records_a_public_group_owner_is_flagged():
    # 00GQ is a queue, 00GR a public group (Type Regular): a lead owned by the group is flagged; the
    # group's own membership row still resolves its group (any group has members)
    groups = pd.DataFrame({"Id": ["00GQ", "00GR"], "Name": ["EMEA Queue", "All Sales"], "Type": ["Queue", "Regular"]})
    members = pd.DataFrame({"Id": ["011A"], "GroupId": ["00GR"], "UserOrGroupId": ["005A"]})
    crm = load_frames({"Lead": _owned(["00GQ", "00GR"]), "User": USERS, "Group": groups, "GroupMember": members})
    flagged = crm.flags[crm.flags["rule"] == "reference_unresolved"]
    assert flagged[["record_id", "column", "value"]].values.tolist() == [["00QB", "owner_id", "00GR"]]
