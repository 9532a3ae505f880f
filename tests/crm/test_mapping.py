"""Mapping files: derive by the safe grammar (never executed), activity_kind, one-line errors."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

import funnel_analysis as fa
from funnel_analysis.cli.app import main
from funnel_analysis.crm import DataLoadError
from funnel_analysis.crm.mapping import load_mapping, parse_derived

DEALS = "id,stage,created\nd1,Won,2024-01-02\nd2,Lost,2024-01-03\nd3,,2024-01-04\nd4,Open,2024-01-05\n"


def _mapping(tmp_path, derive: str, extra: str = "") -> tuple:
    folder = tmp_path / "org"
    folder.mkdir(exist_ok=True)
    (folder / "deals.csv").write_text(DEALS)
    m = tmp_path / "m.yaml"
    m.write_text(
        "name: t\ntables:\n  opportunities:\n    files: [deals.csv]\n"
        "    columns: {id: opportunity_id, stage: stage_name, created: created_date}\n"
        f"    derive:\n{derive}{extra}"
    )
    return folder, m


def test_derive_expressions_follow_the_grammar_with_unknowns_kept(tmp_path):
    folder, m = _mapping(
        tmp_path,
        "      is_closed: \"stage_name in ('Won', 'Lost')\"\n      is_won: \"stage_name == 'Won'\"\n"
        "      name: opportunity_id\n      type: \"'New Business'\"\n      won_flag: \"stage_name == 'Won'\"\n",
    )
    o = fa.load_org(folder, mapping=m).opportunities.set_index("opportunity_id")
    assert o["is_closed"].tolist()[:2] == [True, True] and o.loc["d4", "is_closed"] == False  # noqa: E712
    assert o.loc["d3", "is_won"] == False  # noqa: E712 - a checkbox of the schema is never null
    assert pd.isna(o.loc["d3", "won_flag"])  # a derived column of its own keeps unknown unknown
    assert o["name"].tolist() == ["d1", "d2", "d3", "d4"]
    assert set(o["type"]) == {"New Business"}


@pytest.mark.parametrize(
    "derive, says",
    [
        ("      is_won: \"stage_nme == 'Won'\"\n", "stage_nme"),  # unknown column
        ('      is_won: "stage_name == "\n', "position"),  # syntax error
        ("      is_won: \"stage_name.isin(['Won'])\"\n", "position"),  # pandas code is not the grammar
        ("      is_won: \"__import__('os').system('echo hacked')\"\n", "position"),
        ("      name: no_such_column\n", "no_such_column"),
    ],
)
def test_a_bad_derive_is_one_line_naming_mapping_table_key_and_text(tmp_path, derive, says):
    folder, m = _mapping(tmp_path, derive)
    with pytest.raises(DataLoadError) as e:
        fa.load_org(folder, mapping=m)
    msg = str(e.value)
    assert "\n" not in msg and str(m) in msg and "'opportunities'" in msg and says in msg
    assert "derive 'is_won'" in msg or "derive 'name'" in msg


def test_a_bad_derive_exits_2_without_traceback(tmp_path):
    folder, m = _mapping(tmp_path, "      is_won: \"stage_nme == 'Won'\"\n")
    out = CliRunner().invoke(main, ["check", str(folder), "--mapping", str(m)])
    assert out.exit_code == 2
    assert "Traceback" not in out.output and len(out.output.strip().splitlines()) == 1


def test_activity_kind_sets_the_kind_of_mapped_activities(tmp_path):
    folder = tmp_path / "org"
    folder.mkdir()
    (folder / "calls.csv").write_text("id,when\nc1,2024-01-02\n")
    m = tmp_path / "m.yaml"
    m.write_text(
        "tables:\n  activities:\n    files: [calls.csv]\n    columns: {id: activity_id, when: activity_date}\n"
        "    activity_kind: event\n"
    )
    assert fa.load_org(folder, mapping=m).activities["activity_kind"].tolist() == ["event"]
    m.write_text("tables:\n  leads:\n    files: [calls.csv]\n    activity_kind: task\n")
    with pytest.raises(DataLoadError, match="activity_kind under table 'activities'"):
        load_mapping(m)
    m.write_text("tables:\n  activities:\n    files: [calls.csv]\n    activity_kind: meeting\n")
    with pytest.raises(DataLoadError, match="task or event"):
        load_mapping(m)


def test_parse_derived_kinds_and_refusal():
    assert parse_derived("true").value is True
    assert parse_derived("42").value == 42
    assert parse_derived("'O''Brien'").value == "O'Brien"
    assert parse_derived("amount > 5").kind == "expression"
    with pytest.raises(ValueError):
        parse_derived("amount >")


def test_the_joined_example_is_shipped_and_described():
    from funnel_analysis.crm.mapping import builtin_mappings

    assert "leads_and_deals" in builtin_mappings()
    m = load_mapping("leads_and_deals")
    assert "deals.csv" in m.description
    assert m.tables["opportunities"].files == ["deals.csv"]
    join = m.tables["leads"].joins[0]
    assert (join.file, join.on, join.exists, join.keep, join.by) == (
        "deals.csv",
        {"lead_id": "lead_id"},
        "has_deal",
        "earliest",
        "created_at",
    )
    assert m.tables["leads"].derive == {"is_converted": "has_deal"}


def test_an_unknown_table_key_names_join_and_types_among_the_keys(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text("tables:\n  leads:\n    files: [a.csv]\n    joins: []\n")
    with pytest.raises(DataLoadError, match=r"unknown key\(s\) \['joins'\].*'join'.*'types'"):
        load_mapping(m)
