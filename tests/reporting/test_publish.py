"""Publishing without kernels: atomic publish that never overwrites, stale staging, retention, the
per-report lock, secret scrubbing, the index page, and pruning the data caches. (A lock whose holder was killed: see
tests/reporting/test_faults.py.)"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from funnel_analysis.reporting import (
    ReportBusy,
    atomic_write_text,
    prune_caches,
    prune_runs,
    publish_run,
    published_runs,
    report_lock,
    scrub_secrets,
    secret_values,
    staging_dir,
    use_cache,
    write_index,
)


def staged(out: Path, name: str, status="ok", started="2026-01-01T06:00:00+00:00", **extra) -> Path:
    d = staging_dir(out, name)
    (d / f"{name}.html").write_text(f"<p>{status} {started}</p>")
    (d / f"{name}.ipynb").write_text("{}")
    (d / "manifest.json").write_text(
        json.dumps(
            {
                "report": name,
                "status": status,
                "started_at": started,
                "as_of": started[:10],
                "html": f"{name}.html",
                "ipynb": f"{name}.ipynb",
                "duration_s": 1.5,
            }
            | extra
        )
    )
    return d


def test_publish_is_one_rename_and_never_overwrites(tmp_path):
    first = publish_run(staged(tmp_path, "r"), tmp_path, "r", as_of="2026-01-01")
    assert first == tmp_path / "r" / "2026-01-01"
    before = (first / "r.html").read_text()
    second = publish_run(staged(tmp_path, "r", started="2026-01-01T07:00:00+00:00"), tmp_path, "r", as_of="2026-01-01")
    third = publish_run(staged(tmp_path, "r", started="2026-01-01T08:00:00+00:00"), tmp_path, "r", as_of="2026-01-01")
    assert (second.name, third.name) == ("2026-01-01.2", "2026-01-01.3")
    assert (first / "r.html").read_text() == before  # the first publication is untouched
    assert list((tmp_path / ".tmp" / "r").iterdir()) == []  # the staging folders moved, nothing copied


def test_stale_staging_of_a_crashed_run_is_removed_by_the_next(tmp_path):
    crashed = staged(tmp_path, "r")  # a run killed before publishing leaves this
    other = staged(tmp_path, "s")
    fresh = staging_dir(tmp_path, "r")
    assert not crashed.exists() and fresh.is_dir() and other.exists()  # only the same report's


def test_retention_keeps_the_newest_and_the_latest_good_run(tmp_path):
    publish_run(staged(tmp_path, "r", "ok", "2026-01-01T06:00:00+00:00"), tmp_path, "r", as_of="2026-01-01")
    for day in (2, 3, 4):  # three bad nights after the good one
        publish_run(
            staged(tmp_path, "r", "failed", f"2026-01-0{day}T06:00:00+00:00"), tmp_path, "r", as_of=f"2026-01-0{day}"
        )
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
    env = {
        "SF_ACCESS_TOKEN": '00Dxx!AQ4AQ"tok\\en',
        "DB_PASSWORD": "hunter2-db",
        "SF_USERNAME": "ann@example.com",
        "SHORT_TOKEN": "abc",
        "PATH": "/usr/bin",
    }
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
    publish_run(
        staged(tmp_path, "r", "ok", "2026-01-01T06:00:00+00:00", scheduled_for="2026-01-01T06:00:00+00:00"),
        tmp_path,
        "r",
        as_of="2026-01-01",
    )
    publish_run(
        staged(
            tmp_path, "r", "failed", "2026-01-02T06:00:00+00:00", error="KeyError: 'x'", error_cell_index=4, html=None
        ),
        tmp_path,
        "r",
        as_of="2026-01-02",
    )
    publish_run(
        staged(tmp_path, "s", "failed", "2026-01-02T06:00:00+00:00", error="boom"), tmp_path, "s", as_of="2026-01-02"
    )
    page = write_index(tmp_path).read_text()
    r, s = page.index("<h2>R</h2>"), page.index("<h2>S</h2>")  # report names as words
    section = page[r:s]
    assert 'Latest good run: <a href="r/2026-01-01/r.html">2026-01-01</a>' in section
    assert section.index("2026-01-02") < section.index("<td>2026-01-01</td>")  # newest first
    assert '<tr class="failed"><td>2026-01-02</td>' in section and "cell 4: KeyError: &#x27;x&#x27;" in section
    assert '<a href="r/2026-01-02/r.ipynb">notebook</a>' in section  # the partial notebook of the failed run
    assert "<td>2026-01-01T06:00:00+00:00</td>" in section and "<td>by hand</td>" in section
    assert '<td class="num">1.5 s</td>' in section
    assert "No good run yet." in page[s:]
    assert not list(tmp_path.glob(".index.html*"))  # the temporary file was renamed, not left


# ---- the Parquet caches of the data ---------------------------------------------------------------
NOW, DAY = 1_800_000_000.0, 86400.0


def cache(out: Path, name: str, age_s: float) -> Path:
    """A cache folder last used ``age_s`` seconds before NOW."""
    d = out / ".cache" / name
    d.mkdir(parents=True)
    (d / "crm.json").write_text(json.dumps({"meta": {"fingerprint": name}, "checksums": {}}))
    os.utime(d, (NOW - age_s, NOW - age_s))
    return d


def left(out: Path) -> list[str]:
    """The caches and trash left (the runner's index of which export gave which cache is not a cache)."""
    return sorted(p.name for p in (out / ".cache").iterdir() if p.name != ".sources.json")


def test_caches_keep_the_most_recently_used_and_those_in_use(tmp_path):
    for name, days in (("a", 10), ("b", 5), ("c", 3), ("d", 2), ("e", 1 / 24)):
        cache(tmp_path, name, days * DAY)
    removed = prune_caches(tmp_path, keep=3, in_use=[tmp_path / ".cache" / "a"], now=NOW)
    assert [p.name for p in removed] == ["b"]  # e, d, c: the three most recent; a: this run reads it
    assert left(tmp_path) == ["a", "c", "d", "e"]
    assert prune_caches(tmp_path, keep=3, now=NOW) == [tmp_path / ".cache" / "a"]  # no longer in use


def test_a_cache_used_within_a_day_stays_whatever_its_rank(tmp_path):
    """Another runner touched it when its run started and may be reading it now."""
    cache(tmp_path, "x", 3600)
    cache(tmp_path, "y", 7200)
    cache(tmp_path, "z", DAY + 1)
    assert [p.name for p in prune_caches(tmp_path, keep=1, now=NOW)] == ["z"]
    assert left(tmp_path) == ["x", "y"]


def test_crashed_writers_temporaries_and_a_dead_pruners_trash_go(tmp_path):
    cache(tmp_path, "fp", 60)
    cache(tmp_path, ".fp.123", 2 * DAY)  # a writer killed a while ago
    cache(tmp_path, ".fp.456", 60)  # a writer at work right now
    cache(tmp_path, ".trash-old-1-2", 60)  # a pruner died while deleting
    (tmp_path / ".cache" / "notes.txt").write_text("not a cache")
    prune_caches(tmp_path, keep=1, now=NOW)
    assert left(tmp_path) == [".fp.456", "fp", "notes.txt"]


def test_a_removed_cache_leaves_its_name_before_it_is_deleted(tmp_path, monkeypatch):
    import funnel_analysis.reporting.publish as publish

    cache(tmp_path, "new", 60)
    cache(tmp_path, "old", 2 * DAY)
    monkeypatch.setattr(publish.shutil, "rmtree", lambda *a, **k: None)  # the pruner dies before deleting
    assert [p.name for p in prune_caches(tmp_path, keep=1, now=NOW)] == ["old"]
    (trash,) = [n for n in left(tmp_path) if n != "new"]
    assert trash.startswith(".trash-old-")  # one rename: a runner finds the whole cache or none
    monkeypatch.undo()
    prune_caches(tmp_path, keep=1, now=NOW)  # the next prune deletes the trash
    assert left(tmp_path) == ["new"]


def test_use_cache_touches_an_existing_cache_only(tmp_path):
    assert use_cache(tmp_path, "fp") is None and not (tmp_path / ".cache").exists()
    d = cache(tmp_path, "fp", 30 * DAY)
    before = time.time()
    assert use_cache(tmp_path, "fp") == d and d.stat().st_mtime >= before - 1  # used now (the real clock)
    (d / "crm.json").unlink()  # no crm.json: not a finished cache
    assert use_cache(tmp_path, "fp") is None
    assert prune_caches(tmp_path / "nowhere") == []


def test_a_run_uses_its_cache_and_prunes_the_old_ones(tmp_path, tiny_export, monkeypatch):
    """The runner end to end, its notebooks stubbed (no kernel): the org is cached once per data,
    the notebooks read the cache, and older caches beyond the three most recent go."""
    import nbformat

    import funnel_analysis as fa
    from funnel_analysis.reporting import runner as reports

    seen = []
    monkeypatch.setattr(
        reports,
        "_execute",
        lambda spec, ipynb, params, progress, timeout: (seen.append(params["data_dir"]), (None, None))[1],
    )
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell('data_dir: str = ""', metadata={"tags": ["parameters"]})]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "t.ipynb")
    (tmp_path / "r.yaml").write_text(
        f"notebooks: .\nreports:\n  - {{name: a, notebook: t.ipynb, parameters: {{data_dir: {tiny_export}}}}}\n"
    )
    out = tmp_path / "out"
    now = time.time()
    for i, name in enumerate(("old1", "old2", "old3", "old4")):  # used 10, 9, 8, 7 days ago
        d = cache(out, name, 0)
        os.utime(d, (now - (10 - i) * DAY, now - (10 - i) * DAY))
    fingerprint = fa.load_org(tiny_export).meta["fingerprint"]
    mine = out / ".cache" / fingerprint
    assert reports.run_reports(tmp_path / "r.yaml", out_dir=out, progress=False).failed == []
    assert seen == [str(mine)] and (mine / "crm.json").is_file()
    assert left(out) == sorted([fingerprint, "old3", "old4"])  # the three most recently used
    os.utime(mine, (now - 30 * DAY, now - 30 * DAY))  # unused for a month: the next run uses it again
    assert reports.run_reports(tmp_path / "r.yaml", out_dir=out, progress=False).failed == []
    assert seen[-1] == str(mine) and mine.stat().st_mtime > now - DAY and fingerprint in left(out)


# ---- caches that heal --------------------------------------------------------------------------


@pytest.fixture
def real_cache(tmp_path, tiny_export):
    import funnel_analysis as fa

    crm = fa.load_org(tiny_export)
    fingerprint = crm.meta["fingerprint"]
    crm.to_parquet(tmp_path / ".cache" / fingerprint)
    return tmp_path, fingerprint, crm


def test_a_sound_cache_is_used(real_cache):
    out, fingerprint, _ = real_cache
    assert use_cache(out, fingerprint) == out / ".cache" / fingerprint


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _swap(path: Path) -> None:
    import pandas as pd

    pd.DataFrame({"lead_id": ["00Q000000000001AAA"], "company": ["Another org"]}).to_parquet(path, index=False)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda d: _truncate(d / "leads.parquet"), "leads.parquet: differs from what was written"),
        (lambda d: _swap(d / "leads.parquet"), "leads.parquet: differs from what was written"),  # valid, not ours
        (lambda d: (d / "leads.parquet").unlink(), "leads.parquet: is missing"),
        (lambda d: _swap(d / "extra.parquet"), "extra.parquet: was not written with the cache"),
        (lambda d: (d / "crm.json").write_text("{not json"), "crm.json: cannot be read"),
    ],
)
def test_a_damaged_cache_is_removed_with_one_line(real_cache, damage, expected):
    out, fingerprint, _ = real_cache
    folder = out / ".cache" / fingerprint
    damage(folder)
    lines = []
    assert use_cache(out, fingerprint, log=lines.append) is None
    assert not folder.exists() and [p.name for p in (out / ".cache").iterdir()] == []
    assert len(lines) == 1 and expected in lines[0] and lines[0].endswith("rebuilt from the source")


def test_a_cache_of_other_data_is_not_used(real_cache):
    out, fingerprint, _ = real_cache
    (out / ".cache" / fingerprint).rename(out / ".cache" / "other")
    lines = []
    assert use_cache(out, "other", log=lines.append) is None
    assert "holds the data" in lines[0] and repr(fingerprint) in lines[0]


def test_reading_a_damaged_cache_names_the_file(real_cache):
    from funnel_analysis.crm.model import CacheError, CrmData

    out, fingerprint, crm = real_cache
    folder = out / ".cache" / fingerprint
    assert len(CrmData.from_parquet(folder).leads) == len(crm.leads)  # sound: read back whole
    _truncate(folder / "opportunities.parquet")
    with pytest.raises(CacheError, match=r"opportunities\.parquet: differs from what was written"):
        CrmData.from_parquet(folder)


def test_a_run_after_a_cache_was_cut_short_rebuilds_it(tmp_path, tiny_export, monkeypatch, caplog):
    """Two runs, the cache's leads.parquet truncated between them (a crash, a full disk): the second
    run is ok, rebuilt the cache and said so; the cache it leaves passes its check."""
    import logging

    import nbformat

    import funnel_analysis as fa
    from funnel_analysis.crm.model import CrmData
    from funnel_analysis.reporting import runner as reports

    monkeypatch.setattr(reports, "_execute", lambda spec, ipynb, params, progress, timeout: (None, None))
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell('data_dir: str = ""', metadata={"tags": ["parameters"]})]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "t.ipynb")
    (tmp_path / "r.yaml").write_text(
        f"notebooks: .\nreports:\n  - {{name: a, notebook: t.ipynb, parameters: {{data_dir: {tiny_export}}}}}\n"
    )
    out = tmp_path / "out"
    assert reports.run_reports(tmp_path / "r.yaml", out_dir=out, progress=False).failed == []
    mine = out / ".cache" / fa.load_org(tiny_export).meta["fingerprint"]
    _truncate(mine / "leads.parquet")
    with caplog.at_level(logging.WARNING, logger="funnel_analysis.reporting"):
        assert reports.run_reports(tmp_path / "r.yaml", out_dir=out, progress=False).failed == []
    assert [r.getMessage() for r in caplog.records if "rebuilt from the source" in r.getMessage()] != []
    CrmData.check_parquet(mine)  # rebuilt whole
