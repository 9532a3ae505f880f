"""The rules file: hand-written YAML read, and each bad rule one clear error, none evaluated."""

from pathlib import Path

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.routing import Member, RulesError, Target, load_rules

GOOD = """
version: 1
teams:
  Enterprise:
    members: [005000000000001AAA, {id: 005000000000002AAA, active_from: "2025-03-01"}]
    method: round_robin
  EMEA:
    members: [005000000000003AAA]
  Inbound:
    members: [005000000000004AAA, 005000000000003AAA]
    teams: [EMEA, Enterprise]
lead_assignment:
  - name: Enterprise companies
    criteria: number_of_employees >= 1000
    assign_to: {team: Enterprise}
  - name: EMEA
    criteria: country in ('DE', 'FR', 'GB')
    assign_to: {team: EMEA}
  - name: Web to queue
    criteria: lead_source == 'Web'
    assign_to: {queue: 00G000000000001AAA}
default_owner: {user: 005000000000009AAA}
sla: {first_touch_minutes: 120, business_hours: true}
touches: {exclude_subtypes: [ListEmail], exclude_subjects: ['[Outreach]*']}
calendar:
  time_zone: America/New_York
  hours: {mon: "09:00-17:00", fri: "09:00-17:00"}
  holidays: ["2025-01-01"]
stage_criteria:
  Needs Analysis:
    - amount > 0
    - next_step is not null
  Proposal/Price Quote:
    - budget_confirmed == true
"""


def write(tmp_path, text, name="rules.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def org():
    leads = pd.DataFrame(
        {"Id": ["00Q000000000001AAA"], "NumberOfEmployees": ["10"], "Country": ["DE"], "LeadSource": ["Web"]}
    )
    opps = pd.DataFrame(
        {"Id": ["006000000000001AAA"], "Amount": ["5"], "NextStep": ["call"], "Budget_Confirmed__c": ["true"]}
    )
    return load_frames({"Lead": leads, "Opportunity": opps})


def test_a_good_file_reads_with_its_teams_flattened(tmp_path):
    rules = load_rules(write(tmp_path, GOOD))
    assert [e.name for e in rules.lead_assignment] == ["Enterprise companies", "EMEA", "Web to queue"]
    assert rules.lead_assignment[2].target == Target("queue", "00G000000000001AAA")
    assert rules.default_owner == Target("user", "005000000000009AAA")
    # own members first, then EMEA's, then Enterprise's; 003 is listed twice and kept at its first place
    assert rules.members("Inbound") == [
        "005000000000004AAA",
        "005000000000003AAA",
        "005000000000001AAA",
        "005000000000002AAA",
    ]
    assert rules.teams["Enterprise"].members[1] == Member("005000000000002AAA", pd.Timestamp("2025-03-01").date())
    assert rules.teams_of("005000000000003AAA") == ["EMEA", "Inbound"]
    assert rules.sla.first_touch_minutes == 120.0 and rules.touches.exclude_subtypes == ("listemail",)
    assert rules.calendar.time_zone == "America/New_York" and rules.calendar.spans[0] == (540, 1020)
    assert rules.stages() == ["Needs Analysis", "Proposal/Price Quote"]
    assert str(rules.stage_criteria[1].criteria) == "next_step is not null"
    # checked against an org that has every column
    assert load_rules(write(tmp_path, GOOD), crm=org()) is not None


def test_an_unknown_field_is_caught_against_the_org(tmp_path):
    path = write(tmp_path, GOOD.replace("country in", "contry in"))
    rules = load_rules(path)  # the syntax is fine: the field is only known with an org
    with pytest.raises(RulesError) as err:
        rules.check(org())
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: lead_assignment[1] 'EMEA'.criteria: unknown column 'contry' on leads at position 1")
    assert err.value.position == 1
    # and on the opportunities for a stage criterion
    with pytest.raises(RulesError, match=r"stage_criteria 'Needs Analysis'\[1\]: unknown column 'nxt_step'"):
        load_rules(write(tmp_path, GOOD.replace("next_step is", "nxt_step is")), crm=org())


def test_a_circular_team_is_refused(tmp_path):
    text = GOOD.replace("members: [005000000000003AAA]", "members: [005000000000003AAA]\n    teams: [Inbound]")
    with pytest.raises(RulesError, match=r"rules.yaml: teams '(EMEA|Inbound)'.teams: circular teams: "):
        load_rules(write(tmp_path, text))
    with pytest.raises(RulesError, match="circular teams: EMEA -> Inbound -> EMEA"):
        load_rules(write(tmp_path, text))


@pytest.mark.parametrize(
    ("criteria", "position", "what"),
    [
        ("len(company) > 3", 4, "unexpected '('"),
        ("__import__('pathlib').Path(r'{marker}').touch()", 1, "unexpected character '_'"),
        ("company == 'x' or open('{marker}', 'w')", 23, "unexpected '('"),
    ],
)
def test_an_expression_with_a_function_call_is_refused_and_never_run(tmp_path, criteria, position, what):
    marker = tmp_path / "ran"
    text = GOOD.replace("lead_source == 'Web'", criteria.format(marker=marker))
    with pytest.raises(RulesError) as err:
        load_rules(write(tmp_path, text), crm=org())
    assert err.value.position == position
    assert f"lead_assignment[2] 'Web to queue'.criteria: {what}" in str(err.value)
    assert f"at position {position}" in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("{team: EMEA}", "{team: APAC}", r"lead_assignment\[1\] 'EMEA'.assign_to.team: unknown team 'APAC'"),
        ("{team: EMEA}", "{team: EMEA, user: 005000000000001AAA}", "exactly one of"),
        ("{queue: 00G000000000001AAA}", "{queue: 005000000000001AAA}", "is not a queue ID"),
        ("method: round_robin", "method: random", r"teams 'Enterprise'.method: 'random' is not one of"),
        ("first_touch_minutes: 120", "first_touch_minutes: -5", "sla.first_touch_minutes: a positive number"),
        ("time_zone: America/New_York", "time_zone: Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("version: 1", "version: 2", "version: only version 1 is known"),
        ("sla:", "slas:", "the file: unknown key 'slas'"),
        ("- name: EMEA\n", "- name: Enterprise companies\n", "'Enterprise companies' is used twice"),
    ],
)
def test_other_bad_rules_are_one_line_each(tmp_path, old, new, message):
    assert old in GOOD
    with pytest.raises(RulesError, match=message) as err:
        load_rules(write(tmp_path, GOOD.replace(old, new, 1)))
    assert "\n" not in str(err.value) and str(err.value).startswith(str(tmp_path / "rules.yaml"))


def test_unreadable_files(tmp_path):
    with pytest.raises(RulesError, match="cannot be read"):
        load_rules(tmp_path / "missing.yaml")
    with pytest.raises(RulesError, match="is not valid YAML at line 3"):
        load_rules(write(tmp_path, "version: 1\nteams: [unclosed\n"))


def test_the_orgs_rules_are_found_beside_its_data(tmp_path):
    import funnel_analysis as fa
    from funnel_analysis.routing import RulesError, org_rules_file

    org = tmp_path / "org"
    org.mkdir()
    assert org_rules_file(org, rules_file="mine.yaml") == Path("mine.yaml")  # given: used as given
    with pytest.raises(RulesError, match=r"no routing rules given \(rules_file\) and none beside the data"):
        org_rules_file(org)
    (tmp_path / "org_truth").mkdir()
    (tmp_path / "org_truth" / "routing_rules.yaml").write_text("version: 1\n")
    assert org_rules_file(org) == tmp_path / "org_truth" / "routing_rules.yaml"  # a generated sample's
    # a report run reads the runner's Parquet cache: the rules are found beside the export it came from
    cache = tmp_path / "cache"
    cache.mkdir()
    read = fa.load_frames({"Lead": pd.DataFrame({"Id": ["00QA"], "CreatedDate": ["2024-01-02"]})}, source=str(org))
    assert org_rules_file(cache, crm=read) == tmp_path / "org_truth" / "routing_rules.yaml"
    with pytest.raises(RulesError, match="a database has no folder"):
        org_rules_file("postgresql://db.example/crm")
