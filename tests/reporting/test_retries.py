"""Retries with back-off, the per-report cell timeout, and failure messages that name a cell, all
without kernels: the state is hand-written manifests, and the notebook runs are stubbed. (With
kernels: a killed kernel and a cell timeout in tests/reporting/test_faults.py.)

Every expected time below is worked out by hand from the manifests written here: a failed run ends
at its ``started_at`` plus ``duration_s``, and after the k-th failed run of a slot the next try waits
``retry_backoff * 2**(k-1)`` minutes from that end.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from funnel_analysis.cli.report import report_command
from funnel_analysis.reporting import (
    ReportConfigError,
    ReportRun,
    ReportSpec,
    due_reports,
    load_report_config,
    run_end,
    run_reports,
)
from funnel_analysis.reporting import runner as reports
from funnel_analysis.reporting.runner import _log_line, _running_cell

UTC = UTC
SLOT = "2026-03-10T06:00:00+00:00"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def spec(backoff=15, retries=3, tz="UTC") -> ReportSpec:
    return ReportSpec("r", Path("/nowhere.ipynb"), {}, "0 6 * * *", tz, retries=retries, retry_backoff=backoff)


def failed(out: Path, started: str, duration, slot: str = SLOT, name: str = "r") -> None:
    """A failed scheduled run as the runner publishes it, reduced to what the due calculation reads."""
    n = len(list((out / name).glob("*"))) if (out / name).exists() else 0
    d = out / name / f"{slot[:10]}.{n + 2}"  # a second, third... run of the day, as publish_run names them
    d.mkdir(parents=True)
    (d / "manifest.json").write_text(
        json.dumps(
            {"report": name, "status": "failed", "scheduled_for": slot, "started_at": started, "duration_s": duration}
        )
    )


def due(s: ReportSpec, out: Path, now: datetime):
    (d,) = due_reports([s], out, now)
    return d


# ---- back-off -----------------------------------------------------------------------------------
def test_backoff_doubles_with_each_failed_run(tmp_path):
    # 1st failure: started 06:00:00, 120 s -> ends 06:02; waits 15 min -> next try 06:17
    failed(tmp_path, "2026-03-10T06:00:00+00:00", 120)
    d = due(spec(), tmp_path, utc(2026, 3, 10, 6, 16, 59))
    assert not d.due and d.failures == 1 and d.next_try == utc(2026, 3, 10, 6, 17)
    assert d.reason == (
        "backing off after 1 failed run for 2026-03-10T06:00:00+00:00; next try at 2026-03-10T06:17:00+00:00"
    )
    assert due(spec(), tmp_path, utc(2026, 3, 10, 6, 17)).due  # at the very second
    # 2nd failure: started 06:17, 60 s -> ends 06:18; waits 15 * 2 = 30 min -> 06:48
    failed(tmp_path, "2026-03-10T06:17:00+00:00", 60)
    d = due(spec(), tmp_path, utc(2026, 3, 10, 6, 47, 59))
    assert not d.due and d.failures == 2 and d.next_try == utc(2026, 3, 10, 6, 48)
    assert due(spec(), tmp_path, utc(2026, 3, 10, 6, 48)).due
    # 3rd failure: started 06:48, 30 s -> ends 06:48:30; retries 3: given up until the next slot
    failed(tmp_path, "2026-03-10T06:48:00+00:00", 30)
    d = due(spec(), tmp_path, utc(2026, 3, 10, 23))
    assert not d.due and d.next_try is None and d.reason.startswith("gave up on 2026-03-10T06:00:00+00:00 after 3")
    # ... with retries 4 the 4th try waits 15 * 4 = 60 min from 06:48:30 -> 07:48:30
    d = due(spec(retries=4), tmp_path, utc(2026, 3, 10, 7, 48, 29))
    assert not d.due and d.next_try == utc(2026, 3, 10, 7, 48, 30)
    assert due(spec(retries=4), tmp_path, utc(2026, 3, 10, 7, 48, 30)).due
    assert due(spec(), tmp_path, utc(2026, 3, 11, 6)).due  # the next slot starts afresh, no back-off


def test_backoff_counts_from_the_latest_failed_run_end_rounded_up_to_the_second(tmp_path):
    # two failures; the later one (folder order does not matter) started 06:20, 12.3 s -> ends
    # 06:20:12.3; 2nd failure with 10 min: waits 20 min -> 06:40:12.3, shown and due at 06:40:13
    failed(tmp_path, "2026-03-10T06:20:00+00:00", 12.3)
    failed(tmp_path, "2026-03-10T06:00:00+00:00", 5)
    d = due(spec(backoff=10), tmp_path, utc(2026, 3, 10, 6, 40, 12, 500000))
    assert not d.due and d.next_try == utc(2026, 3, 10, 6, 40, 13)
    assert due(spec(backoff=10), tmp_path, utc(2026, 3, 10, 6, 40, 13)).due


def test_a_slot_that_failed_then_succeeded_is_done(tmp_path):
    failed(tmp_path, "2026-03-10T06:00:00+00:00", 120)
    ok = tmp_path / "r" / "2026-03-10"
    ok.mkdir()
    (ok / "manifest.json").write_text(
        json.dumps({"status": "ok", "scheduled_for": SLOT, "started_at": "2026-03-10T06:17:00+00:00", "duration_s": 60})
    )
    d = due(spec(), tmp_path, utc(2026, 3, 10, 6, 30))
    assert not d.due and d.done and d.failures == 1 and d.reason == f"done for {SLOT}"  # not "gave up"


def test_backoff_zero_retries_at_the_next_call(tmp_path):
    failed(tmp_path, "2026-03-10T06:00:00+00:00", 120)  # ends 06:02
    d = due(spec(backoff=0), tmp_path, utc(2026, 3, 10, 6, 2, 1))
    assert d.due and d.next_try is None and d.reason == "due for 2026-03-10T06:00:00+00:00 (never run)"


def test_backoff_time_is_shown_in_the_report_time_zone(tmp_path):
    # Berlin 06:00 CET is 05:00 UTC; the runner writes started_at in UTC; no duration: from the start
    slot = "2026-03-10T06:00:00+01:00"
    failed(tmp_path, "2026-03-10T05:00:00+00:00", None, slot=slot)
    d = due(spec(tz="Europe/Berlin"), tmp_path, utc(2026, 3, 10, 5, 10))
    assert not d.due and d.reason.endswith("next try at 2026-03-10T06:15:00+01:00")
    assert due(spec(tz="Europe/Berlin"), tmp_path, utc(2026, 3, 10, 5, 15)).due


def test_a_manifest_without_times_does_not_hold_the_retry_back(tmp_path):
    d = tmp_path / "r" / "2026-03-10"
    d.mkdir(parents=True)
    (d / "manifest.json").write_text(json.dumps({"status": "failed", "scheduled_for": SLOT}))
    assert due(spec(), tmp_path, utc(2026, 3, 10, 6, 1)).due


def test_run_end():
    end = run_end({"started_at": "2026-03-10T06:00:00+00:00", "duration_s": 90.5})
    assert end == utc(2026, 3, 10, 6, 1, 30, 500000)
    assert run_end({"started_at": "2026-03-10T06:00:00", "duration_s": None}) == utc(2026, 3, 10, 6)  # naive: UTC
    assert run_end({"started_at": None}) is None and run_end({}) is None and run_end({"started_at": "soon"}) is None


def _config(tmp_path, entry: str, head: str = "") -> Path:
    (tmp_path / "r.yaml").write_text(f"notebooks: .\n{head}reports:\n  - {entry}\n")
    return tmp_path / "r.yaml"


def test_dry_run_says_when_a_report_backing_off_is_next_due(tmp_path):
    config = _config(tmp_path, "{name: weekly, schedule: '0 6 * * mon'}", "retry_backoff: 20\n")
    out = tmp_path / "out"
    # Monday 2026-03-09 06:00 failed: started 06:00, 300 s -> ends 06:05; + 20 min -> 06:25
    failed(out, "2026-03-09T06:00:00+00:00", 300, slot="2026-03-09T06:00:00+00:00", name="weekly")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    args = ["due", "--config", str(config), "--out", str(out), "--dry-run", "--now"]
    result = CliRunner().invoke(report_command, [*args, "2026-03-09T06:10Z"])
    assert result.exit_code == 0, result.output
    assert (
        "2026-03-09T06:10:00Z weekly         backing off after 1 failed run for 2026-03-09T06:00:00+00:00; "
        "next try at 2026-03-09T06:25:00+00:00"
    ) in result.output
    result = CliRunner().invoke(report_command, [*args, "2026-03-09T06:25Z"])
    assert "weekly         due for 2026-03-09T06:00:00+00:00 (never run) (dry run)" in result.output
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # a dry run writes nothing


# ---- config: retry_backoff and cell_timeout -----------------------------------------------------
def test_limits_per_report_or_top_level(tmp_path):
    (s,) = load_report_config(_config(tmp_path, "{name: a}"))
    assert (s.retry_backoff, s.cell_timeout) == (15, None)  # defaults: 15 minutes, no limit
    (s,) = load_report_config(_config(tmp_path, "{name: a}", "retry_backoff: 0\ncell_timeout: 600\n"))
    assert (s.retry_backoff, s.cell_timeout) == (0, 600)
    (s,) = load_report_config(
        _config(tmp_path, "{name: a, retry_backoff: 5, cell_timeout: 30}", "retry_backoff: 0\ncell_timeout: 600\n")
    )
    assert (s.retry_backoff, s.cell_timeout) == (5, 30)  # the entry's own wins


@pytest.mark.parametrize(
    "entry, head, message",
    [
        (
            "{name: weekly, cell_timeout: 0}",
            "",
            "report 'weekly': cell_timeout must be a whole number of seconds, at least 1, got 0",
        ),
        ("{name: weekly, cell_timeout: 2.5}", "", "report 'weekly': cell_timeout must be .* got 2.5"),
        ("{name: weekly, cell_timeout: '60'}", "", "report 'weekly': cell_timeout must be .* got '60'"),
        ("{name: weekly, cell_timeout: true}", "", "report 'weekly': cell_timeout must be .* got True"),
        ("{name: weekly}", "cell_timeout: -1\n", "report 'weekly': cell_timeout \\(top level\\) must be .* got -1"),
        (
            "{name: weekly, retry_backoff: -5}",
            "",
            "report 'weekly': retry_backoff must be a whole number of minutes, at least 0, got -5",
        ),
        ("{name: weekly}", "retry_backoff: 1h\n", "report 'weekly': retry_backoff \\(top level\\) must be .* got '1h'"),
        ("{name: weekly, celltimeout: 5}", "", "report 'weekly': unknown key\\(s\\) \\['celltimeout'\\]"),
    ],
)
def test_limit_errors_name_the_file_the_report_and_the_key(tmp_path, entry, head, message):
    path = _config(tmp_path, entry, head)
    with pytest.raises(ReportConfigError, match=message) as err:
        load_report_config(path)
    assert str(path) in str(err.value)


def _tiny_project(folder: Path, head: str = "", entry: str = "") -> Path:
    """A notebook with one parameter and a config running it as reports a and b."""
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("x: int = 1", metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell("print(x)"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "t.ipynb")
    (folder / "r.yaml").write_text(
        f"notebooks: .\n{head}reports:\n  - {{name: a, notebook: t.ipynb{entry}}}\n  - {{name: b, notebook: t.ipynb}}\n"
    )
    return folder / "r.yaml"


@pytest.fixture
def timeouts(monkeypatch):
    """The cell timeout each report's notebook would run with (no kernel: the run is stubbed)."""
    seen = {}

    def execute(spec, ipynb, parameters, progress, cell_timeout):
        seen[spec.name] = cell_timeout
        return None, None

    monkeypatch.setattr(reports, "_execute", execute)
    return seen


def test_cell_timeout_from_the_config_and_the_command_line_wins(tmp_path, timeouts):
    config = _tiny_project(tmp_path / "p", "cell_timeout: 300\n", ", cell_timeout: 20")
    res = run_reports(config, out_dir=tmp_path / "out", progress=False)
    assert res.failed == [] and timeouts == {"a": 20, "b": 300}  # its own, else the top level
    run_reports(config, out_dir=tmp_path / "out", progress=False, cell_timeout=7)
    assert timeouts == {"a": 7, "b": 7}  # the argument (--cell-timeout) wins
    result = CliRunner().invoke(
        report_command, ["run", "--config", str(config), "--out", str(tmp_path / "out"), "--cell-timeout", "9"]
    )
    assert result.exit_code == 0, result.output
    assert timeouts == {"a": 9, "b": 9}
    run_reports(_tiny_project(tmp_path / "q"), out_dir=tmp_path / "out", progress=False)
    assert timeouts == {"a": None, "b": None}  # none anywhere: no limit


# ---- which cell was running when the kernel died ------------------------------------------------
def _partial(path: Path, started: int, status: str = "completed") -> Path:
    """A partial output notebook as papermill leaves it when the kernel dies: markdown, parameters,
    injected parameters, three code cells; the first ``started`` cells have a start time, and papermill
    marks every cell ``completed``, the interrupted one too."""
    cells = [
        nbformat.v4.new_markdown_cell("# r"),
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("x = 2", metadata={"tags": ["injected-parameters"]}),
        *[nbformat.v4.new_code_cell(f"step({i})") for i in range(3)],
    ]
    for i, c in enumerate(cells):
        c.metadata["papermill"] = {
            "status": status if i == started - 1 else "completed",
            "exception": False,
            "start_time": "2026-03-10T06:00:00" if i < started else None,
        }
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def test_the_running_cell_is_read_from_the_partial_notebook(tmp_path):
    # output cells: 0 markdown, 1 parameters, 2 injected, 3-5 the code; report cells: 0, 1, then 2-4
    assert _running_cell(_partial(tmp_path / "a.ipynb", started=5)) == (3, "")  # output cell 4 -> report cell 3
    assert _running_cell(_partial(tmp_path / "b.ipynb", started=4, status="running")) == (2, "")
    assert _running_cell(_partial(tmp_path / "c.ipynb", started=2)) == (1, "")
    assert _running_cell(_partial(tmp_path / "d.ipynb", started=3)) == (None, "while the injected parameters ran")
    assert _running_cell(_partial(tmp_path / "e.ipynb", started=0)) == (None, "before its first cell ran")
    assert _running_cell(tmp_path / "never-written.ipynb") == (None, "before the notebook started")


def test_a_failure_without_a_cell_never_says_cell_none(tmp_path):
    run = ReportRun(
        "r",
        "2026-03-10",
        "failed",
        None,
        None,
        None,
        1.0,
        "DeadKernelError: Kernel died (before its first cell ran)",
        None,
    )
    line = _log_line(run)
    assert "None" not in line and line.endswith("r: DeadKernelError: Kernel died (before its first cell ran)")
    run = ReportRun("r", "2026-03-10", "failed", None, None, None, 1.0, "E: x", 4)
    assert _log_line(run).endswith("r cell 4: E: x")
