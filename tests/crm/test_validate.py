import pandas as pd
import pytest

from funnel_analysis.crm.validate import table_schema, validate_table


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
