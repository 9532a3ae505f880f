"""Scheduled runs under faults: a bad night must never destroy a good report, and the next run completes.

Every scenario starts from the same published good run (copied per test) of a tiny notebook whose
``mode`` parameter picks the fault, then checks that the published run is byte-for-byte intact,
that nothing half-written was published, and (except where the fault stays) that the next
``report due`` completes. Scenarios: the kernel killed, the runner itself killed (SIGKILL, with its
kernel), two ``report due`` at once, bad data, a missing data folder, a bad parameter, a full disk
(simulated: ENOSPC raised while the HTML is written), a secret in the environment, and a cell that
runs past the config's ``cell_timeout``.

These tests pretend it is DAY2 (``--now``) while the manifests record the real clock, so the retry
back-off (15 minutes after a failed run's real end) would hold every retry back: the "next run"
configs switch it off (``retry_backoff: 0``). The back-off itself is checked with hand-written
manifests in tests/reporting/test_retries.py.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from funnel_analysis.cli.report import report_command
from funnel_analysis.reporting import html as report_html
from funnel_analysis.reporting import run_due, run_reports

DAY1 = datetime(2026, 3, 10, 7, tzinfo=UTC)  # the good run: slot 2026-03-10 06:00 UTC
DAY2 = datetime(2026, 3, 11, 7, tzinfo=UTC)  # the bad night
FUNNEL = Path(sys.executable).with_name("funnel")

CODE = """\
import os, signal, sys, time
from pathlib import Path
if mode == "kill":  # the kernel dies mid-report (OOM killer, segfault)
    os.kill(os.getpid(), signal.SIGKILL)
if mode == "hang":  # the runner is killed while this runs; the test stops it through files
    Path(marker).write_text(str(os.getpid()))
    for _ in range(600):
        if Path(marker + ".stop").exists():
            break
        time.sleep(0.1)
if mode == "slow":
    time.sleep(4)
if mode == "data":
    import funnel_analysis as fa
    print(len(fa.load_org(data_dir).leads), "leads")
if mode in ("secret", "careless"):
    from funnel_analysis.crm.salesforce import salesforce_client
    sf = salesforce_client()  # credentials from the environment, read inside the package
    print("session for", sf.sf_instance)
if mode == "careless":  # a notebook that prints the token and fails quoting it: scrubbed on publish
    print("token", os.environ["SF_ACCESS_TOKEN"])
    raise RuntimeError("login refused for " + os.environ["SF_ACCESS_TOKEN"])
print("report", mode, as_of)
"""


def write_project(folder: Path, mode: str = "ok", also: dict | None = None, head: str = "", **params) -> Path:
    """The tiny notebook and a config scheduling report ``r`` (and those in ``also``: name -> parameters)
    daily at 06:00 UTC, with the top-level keys in ``head``; returns the config path."""
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Tiny report")])
    nb.cells.append(
        nbformat.v4.new_code_cell(
            'mode: str = "ok"\nas_of: str = ""\ndata_dir: str = ""\nmarker: str = ""', metadata={"tags": ["parameters"]}
        )
    )
    nb.cells.append(nbformat.v4.new_code_cell(CODE))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "r.ipynb")
    entries = {"r": {"mode": mode, **params}, **(also or {})}
    (folder / "reports.yaml").write_text(
        f"notebooks: .\n{head}reports:\n"
        + "".join(
            f"  - {{name: {name}, notebook: r.ipynb, schedule: '0 6 * * *', parameters: {{as_of: yesterday"
            + "".join(f", {k}: {v!r}" for k, v in p.items())
            + "}}\n"
            for name, p in entries.items()
        )
    )
    return folder / "reports.yaml"


def snapshot(out: Path) -> dict:
    """Every published file (not staging, locks or the index) and its hash."""
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.relative_to(out).parts[0].startswith(".") and p.name != "index.html"
    }


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """One published good run (day 1) of reports r and s, shared: each test copies it."""
    base = tmp_path_factory.mktemp("good")
    res = run_due(write_project(base / "proj", also={"s": {"mode": "ok"}}), out_dir=base / "out", now=DAY1, jobs=2)
    assert res.failed == [] and [r.run_dir.name for r in res.runs] == ["2026-03-09"] * 2
    return base / "out"


@pytest.fixture
def start(good, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(good, out)
    return out, snapshot(out)


def assert_intact(out: Path, before: dict) -> None:
    after = snapshot(out)
    assert {k: after.get(k) for k in before} == before, "a published file changed or vanished"


def next_run_succeeds(proj: Path, out: Path, before: dict, names=("r",)) -> None:
    also = {n: {"mode": "ok"} for n in names if n != "r"}
    config = write_project(proj, "ok", also=also, head="retry_backoff: 0\n")  # see the module doc
    res = run_due(config, out_dir=out, now=DAY2, jobs=len(names))
    assert res.failed == [] and [r.name for r in res.runs] == list(names), res.runs
    assert_intact(out, before)
    index = (out / "index.html").read_text()
    for name, run in zip(names, (r.run_dir for r in res.runs)):
        assert run.name.startswith("2026-03-10") and (run / f"{name}.html").is_file(), res.runs
        assert list((out / ".tmp" / name).iterdir()) == []  # staging of the bad night cleaned up
        assert f'href="{name}/{run.name}/{name}.html"' in index and f'href="{name}/2026-03-09/{name}.html"' in index


@pytest.mark.slow
def test_kernel_killed_midway(start, tmp_path):
    out, before = start
    result = CliRunner().invoke(
        report_command,
        ["due", "--config", str(write_project(tmp_path / "p", "kill")), "--out", str(out), "--now", DAY2.isoformat()],
    )
    assert result.exit_code == 1 and "failed reports: r" in result.output, result.output
    # the cell that was running: the notebook's cells are markdown 0, parameters 1, the code 2
    assert "FAILED r: DeadKernelError: Kernel died (cell 2)" in result.output
    assert "r cell 2: DeadKernelError: Kernel died" in result.output and "cell None" not in result.output
    assert_intact(out, before)
    failed = out / "r" / "2026-03-10"  # published as a failed run, with its partial notebook
    manifest = json.loads((failed / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["error_cell_index"] == 2 and (failed / "r.ipynb").is_file()
    assert "r/2026-03-10/r.ipynb" in (out / "index.html").read_text()
    # a retry right away is held back 15 minutes (the default) from the failed run's end, rounded up
    end = datetime.fromisoformat(manifest["started_at"]) + timedelta(seconds=manifest["duration_s"], minutes=15)
    end += timedelta(microseconds=-end.microsecond % 1_000_000)
    dry = CliRunner().invoke(
        report_command,
        [
            "due",
            "--config",
            str(tmp_path / "p" / "reports.yaml"),
            "--out",
            str(out),
            "--now",
            DAY2.isoformat(),
            "--dry-run",
        ],
    )
    assert (
        f"r              backing off after 1 failed run for 2026-03-11T06:00:00+00:00; next try at {end.isoformat()}"
    ) in dry.output, dry.output
    failed_files = snapshot(out)
    next_run_succeeds(tmp_path / "p", out, before)  # the failed night does not count as done
    assert (out / "r" / "2026-03-10.2" / "r.html").is_file()  # ... and is not overwritten either
    assert_intact(out, failed_files)


def due_process(config: Path, out: Path, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [str(FUNNEL), "report", "due", "--config", str(config), "--out", str(out), "--now", DAY2.isoformat()],
        text=True,
        start_new_session=True,
        **kw,
    )


def wait_for(marker: Path, procs) -> int:
    """The pid of the kernel once the hanging report started (it writes its pid into ``marker``)."""
    deadline = time.monotonic() + 90
    while not marker.exists() or not marker.read_text():
        assert any(p.poll() is None for p in procs) and time.monotonic() < deadline, "the report never started"
        time.sleep(0.2)
    return int(marker.read_text())


@pytest.mark.slow
def test_two_due_runs_at_once_then_the_runner_killed_midway(start, tmp_path):
    """Two ``report due`` start together: one runs the report, the other finds it locked and leaves.
    The one running is then killed (runner and kernel, SIGKILL: a reboot, the OOM killer): nothing
    half-written is published, its lock died with it, and the next call publishes the one run."""
    out, before = start
    marker = tmp_path / "kernel.pid"
    config = write_project(tmp_path / "p", "hang", marker=str(marker))
    procs = [due_process(config, out, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    try:
        kernel = wait_for(marker, procs)  # one of them runs the report now
        deadline = time.monotonic() + 90
        while all(p.poll() is None for p in procs):  # the other one finds it locked and leaves
            assert time.monotonic() < deadline, "the second runner neither skipped nor finished"
            time.sleep(0.2)
        (skipper,) = [p for p in procs if p.poll() is not None]
        (runner,) = [p for p in procs if p is not skipper]
        log, errors = skipper.communicate(timeout=30)
        assert skipper.returncode == 0 and "r              skipped: another process is running it" in log, log
        assert list((out / ".tmp" / "r").iterdir())  # the runner is writing into staging
        os.killpg(runner.pid, signal.SIGKILL)
        os.kill(kernel, signal.SIGKILL)  # the kernel runs in a session of its own
        _, errors = runner.communicate(timeout=30)
        assert "TCP" not in errors and "WARNING" not in errors, errors  # no kernel start-up noise on stderr
    finally:
        Path(f"{marker}.stop").touch()
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
    assert_intact(out, before)
    assert sorted(p.name for p in (out / "r").iterdir()) == ["2026-03-09"]  # nothing half-written published
    next_run_succeeds(tmp_path / "p", out, before)  # the lock did not outlive its process
    assert sorted(p.name for p in (out / "r").iterdir()) == ["2026-03-09", "2026-03-10"]  # one run for the slot
    published, index = snapshot(out), (out / "index.html").read_bytes()
    again = run_due(config, out_dir=out, now=DAY2)  # and a later call: nothing to do, nothing written
    assert again.runs == [] and again.index_html is None
    assert snapshot(out) == published and (out / "index.html").read_bytes() == index


@pytest.mark.slow
def test_bad_data_and_missing_data(start, tmp_path, tiny_export):
    """Report r reads a semicolon export (the loader refuses it), s a folder that is not there; both at once."""
    out, before = start
    (tiny_export / "Opportunity.csv").write_text("Id;Name;StageName\n006x;a;b\n")
    config = write_project(
        tmp_path / "p",
        "data",
        data_dir=str(tiny_export),
        also={"s": {"mode": "data", "data_dir": str(tmp_path / "export-not-there")}},
    )
    res = run_due(config, out_dir=out, now=DAY2, jobs=2)
    assert res.failed == ["r", "s"] and all(r.run_dir.name == "2026-03-10" for r in res.runs)
    assert "Opportunity.csv" in res.runs[0].error and "export-not-there" in res.runs[1].error  # named
    assert_intact(out, before)
    next_run_succeeds(tmp_path / "p", out, before, names=("r", "s"))


@pytest.mark.slow
def test_bad_parameter_fails_that_report_before_it_runs(start, tmp_path):
    out, before = start
    res = run_due(write_project(tmp_path / "p", "ok", as_of="last_fridya"), out_dir=out, now=DAY2)
    assert res.failed == ["r"] and res.runs[0].run_dir is None
    assert f"{tmp_path / 'p' / 'reports.yaml'}: report 'r': as_of='last_fridya' is not a date" in res.runs[0].error
    assert snapshot(out) == before  # nothing published at all
    next_run_succeeds(tmp_path / "p", out, before)


@pytest.mark.slow
def test_full_disk_publishes_nothing(start, tmp_path, monkeypatch):
    out, before = start

    def disk_full(ipynb, page, manifest):
        Path(page).write_text("<html><body>half a pa")  # what a full disk leaves
        raise OSError(errno.ENOSPC, "No space left on device", str(page))

    monkeypatch.setattr(report_html, "notebook_to_html", disk_full)
    res = run_due(write_project(tmp_path / "p", "ok"), out_dir=out, now=DAY2)
    assert res.failed == ["r"] and res.runs[0].run_dir is None
    assert "not published: OSError: [Errno 28] No space left on device" in res.runs[0].error
    assert snapshot(out) == before and list((out / ".tmp" / "r").iterdir()) == []
    monkeypatch.undo()
    next_run_succeeds(tmp_path / "p", out, before)


@pytest.mark.slow
def test_secrets_never_reach_notebook_html_manifest_or_log(tmp_path, monkeypatch):
    token, password = "00DTEST!AQ4AQSecretSessionToken.9f3b", "hunter2-database-password"
    monkeypatch.setenv("SF_INSTANCE_URL", "https://example.my.salesforce.com")
    monkeypatch.setenv("SF_ACCESS_TOKEN", token)
    monkeypatch.setenv("DB_PASSWORD", password)
    proj = tmp_path / "p"
    write_project(proj, "secret")
    (proj / "reports.yaml").write_text(
        "notebooks: .\nreports:\n  - {name: uses, notebook: r.ipynb, parameters: {mode: secret}}\n"
        "  - {name: careless, notebook: r.ipynb, parameters: {mode: careless}}\n"
    )
    out, lines = tmp_path / "out", []
    res = run_reports(proj / "reports.yaml", out_dir=out, progress=False, log=lines.append, jobs=2)
    assert [(r.name, r.status) for r in res.runs] == [("uses", "ok"), ("careless", "failed")]
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} >= {".ipynb", ".html", ".json"}
    for p in files:
        text = p.read_bytes().decode("utf-8", "replace")
        assert token not in text and "AQ4AQSecret" not in text and password not in text, p
    careless = (out / "careless").glob("*/careless.ipynb").__next__().read_text()
    assert "[secret $SF_ACCESS_TOKEN removed]" in careless  # printed, then scrubbed
    assert "session for example.my.salesforce.com" in (out / "uses").glob("*/uses.ipynb").__next__().read_text()
    assert token not in "\n".join(lines) and "[secret $SF_ACCESS_TOKEN removed]" in res.runs[1].error
    # a secret as a parameter is refused before anything runs, naming the rule
    result = CliRunner().invoke(
        report_command,
        ["run", "--config", str(proj / "reports.yaml"), "--out", str(tmp_path / "out2"), "-p", f"sf_token={token}"],
    )
    assert result.exit_code == 2 and "looks like a secret" in result.output and not (tmp_path / "out2").exists()


@pytest.mark.slow
def test_cell_timeout_from_the_config_names_the_cell(tmp_path):
    """The config's cell_timeout stops a cell that runs too long (mode slow sleeps 4 s); the command line's wins."""
    config = write_project(tmp_path / "p", "slow", head="cell_timeout: 2\n")
    (run,) = run_reports(config, out_dir=tmp_path / "out", progress=False).runs
    assert run.status == "failed" and run.error_cell_index == 2, run
    assert run.error.startswith("CellTimeoutError: A cell timed out while it was being executed, after 2 seconds.")
    assert run_reports(config, out_dir=tmp_path / "out", progress=False, cell_timeout=60).failed == []
