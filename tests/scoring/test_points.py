"""The rule-based points score and its YAML configuration."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.scoring import load_points_config, points_score


def test_points_by_hand():
    rules = [
        {"name": "demo", "column": "campaign_responses_n", "op": ">=", "value": 1, "points": 20},
        {"name": "ref", "column": "lead_source", "op": "in", "value": ["Referral"], "points": 25},
        {"name": "mid", "column": "employees", "op": "between", "value": [50, 999], "points": 10},
        {"name": "cold", "column": "lead_source", "op": "==", "value": "Cold Call", "points": -10},
        {"name": "absent", "column": "not_there", "op": "filled", "points": 99},
    ]
    X = pd.DataFrame(
        {
            "campaign_responses_n": [2, 0, None],
            "lead_source": ["REFERRAL", "cold call", None],
            "employees": [50, 1000, 999],
        }
    )
    got = points_score(X, rules)
    assert got.tolist() == [20 + 25 + 10, -10, 10]
    assert got.attrs["skipped_rules"] == ["absent"]
    with pytest.raises(ValueError, match="unknown op"):
        points_score(X, [{"name": "x", "column": "employees", "op": "~", "value": 1, "points": 1}])
    with pytest.raises(ValueError, match="no points rules"):
        points_score(X, [])


def test_shipped_profiles_load():
    assert {r["column"] for r in load_points_config()} >= {"lead_source", "title_seniority", "number_of_employees"}
    assert any(r["column"] == "lead_origin" for r in load_points_config(profile="x_education"))


def test_config_errors_name_the_file_and_rule(tmp_path):
    p = tmp_path / "points.yaml"
    p.write_text("profiles:\n  mine:\n    - {name: big, column: employees, op: '=>', value: 5, points: 3}\n")
    with pytest.raises(ValueError, match=r"points.yaml: profile 'mine' rule 'big': unknown op"):
        load_points_config(p, profile="mine")
    with pytest.raises(ValueError, match="no profile 'other'"):
        load_points_config(p, profile="other")
    p.write_text("profiles:\n  mine:\n    - {name: big, column: employees, op: '>='}\n")
    with pytest.raises(ValueError, match="missing key 'points'"):
        load_points_config(p, profile="mine")
    with pytest.raises(ValueError, match="does not exist"):
        load_points_config(tmp_path / "nope.yaml")
