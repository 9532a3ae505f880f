"""``funnel routing``: figures on a tiny export, and a bad rule as one line and exit 2."""

import json

from click.testing import CliRunner

from funnel_analysis.cli import main

U1, U2 = "005000000000001AAA", "005000000000002AAA"
RULES = f"""
version: 1
teams:
  Sales: {{members: [{U1}, {U2}]}}
lead_assignment:
  - {{name: Germany, criteria: "country == 'DE'", assign_to: {{team: Sales}}}}
default_owner: {{user: {U1}}}
sla: {{first_touch_minutes: 60, business_hours: false}}
"""


def export(tmp_path):
    folder = tmp_path / "org"
    folder.mkdir(exist_ok=True)
    (folder / "Lead.csv").write_text(
        "Id,CreatedDate,Country,OwnerId,IsConverted\n"
        f"00Q000000000001AAA,2025-01-01T10:00:00Z,DE,{U1},false\n"
        f"00Q000000000002AAA,2025-01-02T10:00:00Z,DE,{U1},false\n"  # the round robin says U2: still the team
        f"00Q000000000003AAA,2025-01-03T10:00:00Z,US,{U2},false\n"  # the default owner is U1: misrouted
    )
    (folder / "Task.csv").write_text(
        "Id,WhoId,Type,CreatedById,CreatedDate\n"
        f"00T000000000001AAA,00Q000000000001AAA,Call,{U1},2025-01-01T10:30:00Z\n"
        f"00T000000000002AAA,00Q000000000002AAA,Call,{U1},2025-01-02T12:00:00Z\n"
    )
    (folder / "User.csv").write_text(
        f"Id,Name,CreatedDate\n{U1},Ann,2024-01-01T00:00:00Z\n{U2},Bo,2024-01-01T00:00:00Z\n"
    )
    return folder


def test_routing_json(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    r = CliRunner().invoke(
        main, ["routing", str(export(tmp_path)), "--rules", str(rules), "--json", "--mature-days", "0"]
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    total = next(m for m in doc["misroutes"] if m["entry"] == "all")
    assert total["leads"] == 3 and total["misrouted"] == 1
    sales = next(t for t in doc["speed_to_lead_by_team"] if t["team"] == "Sales")
    # lead 1 touched after 30 minutes, lead 2 after 120 (breached); lead 3 (U1's team via the default) never
    assert sales["leads"] == 3 and sales["sla_breaches"] == 2 and sales["median_minutes"] == 75
    assert {f["owner_id"]: f["leads"] for f in doc["fairness"]} == {U1: 2, U2: 0}


def test_a_bad_rule_is_one_line_and_exit_2(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.replace("country == 'DE'", "__import__('os').system('touch x')"))
    r = CliRunner().invoke(main, ["routing", str(export(tmp_path)), "--rules", str(rules)])
    assert r.exit_code == 2
    lines = [line for line in r.output.splitlines() if line]
    assert len(lines) == 1 and "lead_assignment[0] 'Germany'.criteria: unexpected character" in lines[0]
    rules.write_text(RULES.replace("country ==", "contry =="))
    r = CliRunner().invoke(main, ["routing", str(export(tmp_path)), "--rules", str(rules)])
    assert r.exit_code == 2 and "unknown column 'contry' on leads" in r.output
