"""Publishing without kernels: atomic publish that never overwrites, stale staging, retention, the
per-report lock, secret scrubbing, and the index page. (A lock whose holder was killed: see
tests/test_report_faults.py.)"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from funnel_analysis.publish import (ReportBusy, atomic_write_text, prune_runs, publish_run, published_runs,
                                     report_lock, scrub_secrets, secret_values, staging_dir)
from funnel_analysis.report_index import write_index


def staged(out: Path, name: str, status="ok", started="2026-01-01T06:00:00+00:00", **extra) -> Path:
    d = staging_dir(out, name)
    (d / f"{name}.html").write_text(f"<p>{status} {started}</p>")
    (d / f"{name}.ipynb").write_text("{}")
    (d / "manifest.json").write_text(json.dumps({"report": name, "status": status, "started_at": started,
                                                 "as_of": started[:10], "html": f"{name}.html",
                                                 "ipynb": f"{name}.ipynb", "duration_s": 1.5} | extra))
    return d


def test_publish_is_one_rename_and_never_overwrites(tmp_path):
    first = publish_run(staged(tmp_path, "r"), tmp_path, "r", "2026-01-01")
    assert first == tmp_path / "r" / "2026-01-01"
    before = (first / "r.html").read_text()
    second = publish_run(staged(tmp_path, "r", started="2026-01-01T07:00:00+00:00"), tmp_path, "r", "2026-01-01")
    third = publish_run(staged(tmp_path, "r", started="2026-01-01T08:00:00+00:00"), tmp_path, "r", "2026-01-01")
    assert (second.name, third.name) == ("2026-01-01.2", "2026-01-01.3")
    assert (first / "r.html").read_text() == before  # the first publication is untouched
    assert list((tmp_path / ".tmp" / "r").iterdir()) == []  # the staging folders moved, nothing copied


def test_stale_staging_of_a_crashed_run_is_removed_by_the_next(tmp_path):
    crashed = staged(tmp_path, "r")  # a run killed before publishing leaves this
    other = staged(tmp_path, "s")
    fresh = staging_dir(tmp_path, "r")
    assert not crashed.exists() and fresh.is_dir() and other.exists()  # only the same report's


def test_retention_keeps_the_newest_and_the_latest_good_run(tmp_path):
    publish_run(staged(tmp_path, "r", "ok", "2026-01-01T06:00:00+00:00"), tmp_path, "r", "2026-01-01")
    for day in (2, 3, 4):  # three bad nights after the good one
        publish_run(staged(tmp_path, "r", "failed", f"2026-01-0{day}T06:00:00+00:00"), tmp_path, "r", f"2026-01-0{day}")
    removed = prune_runs(tmp_path, "r", keep=2)
    assert [p.name for p in removed] == ["2026-01-02"]
    assert [d.name for d, _ in published_runs(tmp_path, "r")] == ["2026-01-01", "2026-01-03", "2026-01-04"]
    assert prune_runs(tmp_path, "r", keep=None) == []  # no retention set: keep everything


def test_lock_refuses_a_second_holder(tmp_path):
    with report_lock(tmp_path, "r"):
        with pytest.raises(ReportBusy, match="report 'r' is being run by another process"):
            with report_lock(tmp_path, "r"):
                pass
        with report_lock(tmp_path, "other"):  # one lock per report
            pass
    with report_lock(tmp_path, "r"):  # released
        pass


def test_secrets_from_the_environment_are_scrubbed(tmp_path):
    env = {"SF_ACCESS_TOKEN": "00Dxx!AQ4AQ\"tok\\en", "DB_PASSWORD": "hunter2-db", "SF_USERNAME": "ann@example.com",
           "SHORT_TOKEN": "abc", "PATH": "/usr/bin"}
    assert secret_values(env) == {"SF_ACCESS_TOKEN": env["SF_ACCESS_TOKEN"], "DB_PASSWORD": "hunter2-db"}
    (tmp_path / "a.ipynb").write_text(json.dumps({"text": f"token {env['SF_ACCESS_TOKEN']}"}))  # JSON-escaped
    (tmp_path / "b.html").write_text("<p>db hunter2-db and 00Dxx!AQ4AQ&quot;tok\\en</p>")  # HTML-escaped
    (tmp_path / "c.json").write_text("nothing here")
    assert scrub_secrets(tmp_path, env) == 2
    for f in tmp_path.iterdir():
        text = f.read_text()
        assert "hunter2" not in text and "AQ4AQ" not in text
    assert "[secret $DB_PASSWORD removed]" in (tmp_path / "b.html").read_text()
    assert json.loads((tmp_path / "a.ipynb").read_text()) == {"text": "token [secret $SF_ACCESS_TOKEN removed]"}


def test_atomic_write_leaves_old_or_new(tmp_path, monkeypatch):
    target = atomic_write_text(tmp_path / "index.html", "old")

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["index.html"]


def test_index_lists_history_status_and_links(tmp_path):
    publish_run(staged(tmp_path, "r", "ok", "2026-01-01T06:00:00+00:00", scheduled_for="2026-01-01T06:00:00+00:00"),
                tmp_path, "r", "2026-01-01")
    publish_run(staged(tmp_path, "r", "failed", "2026-01-02T06:00:00+00:00", error="KeyError: 'x'",
                       error_cell_index=4, html=None), tmp_path, "r", "2026-01-02")
    publish_run(staged(tmp_path, "s", "failed", "2026-01-02T06:00:00+00:00", error="boom"), tmp_path, "s", "2026-01-02")
    page = write_index(tmp_path).read_text()
    r, s = page.index("<h2>r</h2>"), page.index("<h2>s</h2>")
    section = page[r:s]
    assert 'Latest good run: <a href="r/2026-01-01/r.html">2026-01-01</a>' in section
    assert section.index("2026-01-02") < section.index('<td>2026-01-01</td>')  # newest first
    assert '<tr class="failed"><td>2026-01-02</td>' in section and "cell 4: KeyError: &#x27;x&#x27;" in section
    assert '<a href="r/2026-01-02/r.ipynb">notebook</a>' in section  # the partial notebook of the failed run
    assert "<td>2026-01-01T06:00:00+00:00</td>" in section and "<td>by hand</td>" in section
    assert '<td class="num">1.5 s</td>' in section
    assert "No good run yet." in page[s:]
    assert not list(tmp_path.glob(".index.html*"))  # the temporary file was renamed, not left
