"""Schedules: the due-time calculation (missed nights, daylight-saving changes), relative parameters,
and the schedule part of the report config. No kernel: the state is read from hand-written manifests.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from funnel_analysis.reporting import (
    RELATIVE_TOKENS,
    ReportConfigError,
    ReportSpec,
    due_reports,
    last_success,
    latest_slot,
    load_report_config,
    resolve_relative,
)

UTC = UTC


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def spec(cron="0 6 * * *", tz="UTC", name="r") -> ReportSpec:
    return ReportSpec(name, Path("/nowhere.ipynb"), {}, cron, tz)


def published(out: Path, name: str, slot: str, status: str = "ok", folder: str | None = None) -> None:
    """A published run as the runner writes it, reduced to what the due calculation reads."""
    d = out / name / (folder or slot[:10])
    d.mkdir(parents=True)
    (d / "manifest.json").write_text(
        json.dumps({"report": name, "status": status, "scheduled_for": slot, "started_at": slot})
    )


def due(s: ReportSpec, out: Path, now: datetime):
    (d,) = due_reports([s], out, now)
    return d


# ---- missed nights ---------------------------------------------------------------------------------
def test_never_run_is_due_once_for_the_latest_slot(tmp_path):
    d = due(spec(), tmp_path, utc(2026, 3, 10, 7))
    assert d.due and d.slot == utc(2026, 3, 10, 6) and d.last_slot is None
    assert not list(tmp_path.iterdir())  # computing what is due writes nothing


def test_missed_nights_are_caught_up_once(tmp_path):
    published(tmp_path, "r", "2026-03-07T06:00:00+00:00")
    # the machine was off for three nights: one run, for the latest slot, not three
    d = due(spec(), tmp_path, utc(2026, 3, 10, 9))
    assert d.due and d.slot == utc(2026, 3, 10, 6)
    assert len(due_reports([spec()], tmp_path, utc(2026, 3, 10, 9))) == 1
    published(tmp_path, "r", "2026-03-10T06:00:00+00:00")  # that run succeeded
    assert not due(spec(), tmp_path, utc(2026, 3, 10, 23, 59)).due  # nothing more that day
    assert due(spec(), tmp_path, utc(2026, 3, 11, 6)).due  # the next slot, at its very minute


def test_before_the_slot_nothing_is_due(tmp_path):
    published(tmp_path, "r", "2026-03-09T06:00:00+00:00")
    assert not due(spec(), tmp_path, utc(2026, 3, 10, 5, 59)).due
    assert due(spec(), tmp_path, utc(2026, 3, 10, 6, 0)).due


def test_a_failed_run_does_not_count_as_done(tmp_path):
    published(tmp_path, "r", "2026-03-09T06:00:00+00:00")
    published(tmp_path, "r", "2026-03-10T06:00:00+00:00", status="failed")
    d = due(spec(), tmp_path, utc(2026, 3, 10, 8))
    assert d.due and d.last_slot == "2026-03-09T06:00:00+00:00"  # retried at the next call


def test_a_slot_that_keeps_failing_is_given_up_until_the_next(tmp_path):
    published(tmp_path, "r", "2026-03-09T06:00:00+00:00")
    for i in range(3):  # three calls of `report due` that night, each run failed
        published(tmp_path, "r", "2026-03-10T06:00:00+00:00", status="failed", folder=f"2026-03-10.{i + 2}")
    d = due(spec(), tmp_path, utc(2026, 3, 10, 9))
    assert not d.due and d.failures == 3 and "gave up on 2026-03-10T06:00:00+00:00 after 3 failed runs" in d.reason
    assert due(spec(), tmp_path, utc(2026, 3, 11, 6)).due  # the next scheduled time is tried again
    once = ReportSpec("r", Path("/nowhere.ipynb"), {}, "0 6 * * *", "UTC", retries=4)
    assert due(once, tmp_path, utc(2026, 3, 10, 9)).due  # a fourth attempt when the config allows it


def _fanned(out: Path, value: str, slot: str, status: str, started: str, folder: str | None = None) -> None:
    """A for_each value's run of report "r", as the runner publishes it (its own folder r--<value>)."""
    d = out / f"r--{value}" / (folder or slot[:10])
    d.mkdir(parents=True)
    fe = {"report": "r", "field": "owner.region", "value": value}
    m = {"report": f"r--{value}", "status": status, "scheduled_for": slot, "started_at": started, "for_each": fe}
    (d / "manifest.json").write_text(json.dumps(m))


def test_a_for_each_slot_is_done_only_when_every_value_is_ok(tmp_path):
    slot = "2026-03-10T06:00:00+00:00"
    _fanned(tmp_path, "EMEA", slot, "ok", "2026-03-10T06:00:05+00:00")
    _fanned(tmp_path, "APAC", slot, "failed", "2026-03-10T06:00:09+00:00")
    d = due(spec(), tmp_path, utc(2026, 3, 10, 8))
    assert d.due and not d.done and d.last_slot is None and d.failures == 1  # one team failed: retried
    assert last_success(tmp_path, "r") is None
    # the retry: APAC's latest run is ok now (its failed first try stays on disk)
    _fanned(tmp_path, "EMEA", slot, "ok", "2026-03-10T07:00:05+00:00", folder="2026-03-10.2")
    _fanned(tmp_path, "APAC", slot, "ok", "2026-03-10T07:00:09+00:00", folder="2026-03-10.2")
    d = due(spec(), tmp_path, utc(2026, 3, 10, 8))
    assert d.done and not d.due and d.last_slot == slot
    assert last_success(tmp_path, "r")["scheduled_for"] == slot


def test_runs_by_hand_do_not_count_as_the_scheduled_run(tmp_path):
    d = tmp_path / "r" / "2026-03-10"
    d.mkdir(parents=True)
    (d / "manifest.json").write_text(
        json.dumps({"status": "ok", "scheduled_for": None, "started_at": "2026-03-10T07:00:00+00:00"})
    )
    assert due(spec(), tmp_path, utc(2026, 3, 10, 8)).due


def test_weekly_schedule_after_a_missed_week(tmp_path):
    published(tmp_path, "r", "2026-02-23T06:00:00+00:00")  # a Monday
    d = due(spec("0 6 * * mon"), tmp_path, utc(2026, 3, 11, 12))  # Wednesday, two Mondays missed
    assert d.due and d.slot == utc(2026, 3, 9, 6)


# ---- daylight saving ----------------------------------------------------------------------------
def test_spring_forward_keeps_local_time(tmp_path):
    """Europe/Berlin moves from UTC+1 to UTC+2 on 2026-03-29: 06:00 local is 05:00 UTC before, 04:00 after."""
    s = spec(tz="Europe/Berlin")
    published(tmp_path, "r", "2026-03-28T06:00:00+01:00")
    assert not due(s, tmp_path, utc(2026, 3, 29, 3, 59)).due  # 05:59 CEST
    d = due(s, tmp_path, utc(2026, 3, 29, 4, 30))  # 06:30 CEST: a schedule kept in UTC+1 would wait until 05:00 UTC
    assert d.due and d.slot.isoformat() == "2026-03-29T06:00:00+02:00"


def test_a_time_skipped_by_spring_forward_runs_once_right_after(tmp_path):
    s = spec("30 2 * * *", "Europe/Berlin")  # 02:30 does not exist on 2026-03-29
    published(tmp_path, "r", "2026-03-28T02:30:00+01:00")
    assert not due(s, tmp_path, utc(2026, 3, 29, 0, 59)).due  # 01:59 CET
    d = due(s, tmp_path, utc(2026, 3, 29, 1, 0))  # 03:00 CEST, just after the change
    assert d.due and d.slot == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    published(tmp_path, "r", d.slot.isoformat(), folder="2026-03-29")
    assert not due(s, tmp_path, utc(2026, 3, 29, 23)).due
    assert due(s, tmp_path, utc(2026, 3, 30, 0, 30)).slot.isoformat() == "2026-03-30T02:30:00+02:00"


def test_a_time_repeated_by_fall_back_runs_once(tmp_path):
    s = spec("30 2 * * *", "Europe/Berlin")  # 02:30 happens twice on 2026-10-25
    published(tmp_path, "r", "2026-10-24T02:30:00+02:00")
    d = due(s, tmp_path, utc(2026, 10, 25, 0, 45))  # the first 02:30 (CEST) has passed
    assert d.due and d.slot.astimezone(UTC) == utc(2026, 10, 25, 0, 30)
    published(tmp_path, "r", d.slot.isoformat(), folder="2026-10-25")
    assert not due(s, tmp_path, utc(2026, 10, 25, 1, 45)).due  # after the second 02:30 (CET): not again
    assert due(s, tmp_path, utc(2026, 10, 26, 1, 30)).due  # 02:30 CET the next night


def test_latest_slot_includes_now_itself():
    assert latest_slot("0 6 * * *", "UTC", utc(2026, 3, 10, 6)) == utc(2026, 3, 10, 6)
    assert latest_slot("0 6 * * *", "UTC", utc(2026, 3, 10, 5, 59, 59)) == utc(2026, 3, 9, 6)


def test_now_must_carry_a_time_zone(tmp_path):
    with pytest.raises(ValueError, match="time-zone aware"):
        due_reports([spec()], tmp_path, datetime(2026, 3, 10, 7))


# ---- relative parameters ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "day, token, value",
    [
        (date(2026, 11, 27), "last_friday", "2026-11-20"),  # a Friday: the one before, a full week of data
        (date(2026, 11, 30), "last_friday", "2026-11-27"),  # a Monday
        (date(2026, 1, 5), "last_sunday", "2026-01-04"),  # across the new year
        (date(2026, 3, 1), "yesterday", "2026-02-28"),
        (date(2024, 3, 1), "yesterday", "2024-02-29"),  # a leap year
        (date(2026, 1, 15), "previous_quarter", "2025Q4"),
        (date(2026, 4, 1), "previous_quarter", "2026Q1"),
        (date(2026, 1, 15), "end_of_previous_quarter", "2025-12-31"),
        (date(2026, 3, 31), "end_of_previous_month", "2026-02-28"),
        (date(2026, 3, 31), "previous_month", "2026-02"),
        (date(2026, 3, 31), "end_of_previous_year", "2025-12-31"),
        (date(2026, 3, 31), "previous_year", "2025"),
        (date(2026, 3, 31), "today", "2026-03-31"),
    ],
)
def test_relative_values(day, token, value):
    resolved, relative = resolve_relative({"as_of": token, "segment": "lead_source", "n": 3}, today=day)
    assert resolved == {"as_of": value, "segment": "lead_source", "n": 3} and relative == {"as_of": token}


def test_every_token_is_listed_and_resolves():
    resolved, relative = resolve_relative({t: t for t in RELATIVE_TOKENS}, today=date(2026, 6, 15))
    assert set(relative) == set(RELATIVE_TOKENS) and all(resolved[t] != t for t in RELATIVE_TOKENS)
    assert tuple(resolve_relative({"as_of": "last_fridya"}, today=date(2026, 6, 15))) == ({"as_of": "last_fridya"}, {})


# ---- config --------------------------------------------------------------------------------------
def _config(tmp_path, entry: str, head: str = "") -> Path:
    (tmp_path / "r.yaml").write_text(f"notebooks: .\n{head}reports:\n  - {entry}\n")
    return tmp_path / "r.yaml"


def test_schedule_forms(tmp_path):
    (s,) = load_report_config(_config(tmp_path, "{name: a, schedule: '0 6 * * mon'}", "timezone: Europe/Paris\n"))
    assert (s.schedule, s.timezone) == ("0 6 * * mon", "Europe/Paris")
    (s,) = load_report_config(_config(tmp_path, "{name: a, schedule: {cron: '0 6 1 * *', timezone: America/New_York}}"))
    assert (s.schedule, s.timezone, s.keep, s.retries) == ("0 6 1 * *", "America/New_York", None, 3)
    (s,) = load_report_config(_config(tmp_path, "{name: a, retries: 1}", "keep: 5\n"))
    assert (s.keep, s.retries) == (5, 1)
    (s,) = load_report_config(_config(tmp_path, "{name: a}"))
    assert s.schedule is None and due_reports([s], tmp_path, utc(2026, 1, 1)) == []  # by hand only


@pytest.mark.parametrize(
    "entry, message",
    [
        (
            "{name: weekly, schedule: '0 25 * * *'}",
            "report 'weekly': schedule '0 25 \\* \\* \\*' is not a 5-field cron",
        ),
        ("{name: weekly, schedule: 'every monday'}", "report 'weekly': schedule 'every monday'"),
        ("{name: weekly, schedule: '0 6 * * * 0'}", "report 'weekly': schedule .* 5-field"),
        (
            "{name: weekly, schedule: {cron: '0 6 * * *', timezone: Mars/Olympus}}",
            "report 'weekly': timezone 'Mars/Olympus'",
        ),
        ("{name: weekly, schedule: {cron: '0 6 * * *', tz: UTC}}", "report 'weekly': schedule has unknown key"),
        ("{name: weekly, keep: 0}", "report 'weekly': keep must be"),
        ("{name: weekly, retries: yes}", "report 'weekly': retries must be"),
        ("{name: weekly, shedule: '0 6 * * *'}", "report 'weekly': unknown key\\(s\\) \\['shedule'\\]"),
    ],
)
def test_config_errors_name_the_file_the_report_and_the_rule(tmp_path, entry, message):
    path = _config(tmp_path, entry)
    with pytest.raises(ReportConfigError, match=message) as err:
        load_report_config(path)
    assert str(path) in str(err.value)


def test_packaged_config_schedules_every_report():
    specs = load_report_config()
    assert all(s.schedule for s in specs) and {s.timezone for s in specs} == {"UTC"}
    assert all(s.keep == 60 for s in specs)


# ---- the command, without kernels ----------------------------------------------------------------
def test_due_dry_run_lists_and_writes_nothing(tmp_path):
    from click.testing import CliRunner

    from funnel_analysis.cli.report import report_command

    config = _config(tmp_path, "{name: weekly, schedule: '0 6 * * mon', parameters: {as_of: last_friday}}")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        report_command, ["due", "--config", str(config), "--out", str(out), "--dry-run", "--now", "2026-03-11T12:00Z"]
    )
    assert result.exit_code == 0, result.output
    assert "weekly         due for 2026-03-09T06:00:00+00:00 (never run) (dry run)" in result.output
    assert not out.exists()


def test_due_with_a_bad_schedule_exits_2_naming_the_report(tmp_path):
    from click.testing import CliRunner

    from funnel_analysis.cli.report import report_command

    config = _config(tmp_path, "{name: weekly, schedule: '0 6 * * someday'}")
    result = CliRunner().invoke(report_command, ["due", "--config", str(config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "report 'weekly': schedule '0 6 * * someday'" in result.output
    assert not (tmp_path / "out").exists()
