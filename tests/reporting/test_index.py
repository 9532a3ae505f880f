"""The index page's "data as of": a column per run, the stale ones marked, the latest run's line on top."""

from __future__ import annotations

import json

from funnel_analysis.reporting.index import render_index


def publish(out, report, day, started, freshness, status="ok"):
    run = out / report / day
    run.mkdir(parents=True)
    manifest = {
        "report": report,
        "as_of": day,
        "status": status,
        "duration_s": 1.0,
        "started_at": started,
        "html": f"{report}.html",
        "ipynb": f"{report}.ipynb",
        "data_freshness": freshness,
    }
    (run / "manifest.json").write_text(json.dumps(manifest))


def fresh(as_of, age, stale, **more):
    return (
        {"as_of": as_of, "as_of_from": "pull", "age_days": age, "stale_after_days": 7.0, "stale": stale}
        | {
            "extract_time": None,
            "extract_field": None,
            "pulled_at": as_of,
            "pull": None,
            "pull_error": None,
        }
        | more
    )


def test_each_run_shows_its_data_time_and_stale_ones_are_marked(tmp_path):
    publish(tmp_path, "funnel", "2024-02-26", "2024-02-26T06:00:00+00:00", fresh("2024-02-26T05:58:00Z", 0.0, False))
    publish(tmp_path, "funnel", "2024-03-04", "2024-03-04T06:00:00+00:00", fresh("2024-02-26T05:58:00Z", 7.0, True))
    page = render_index(tmp_path)
    assert "<th>data as of</th>" in page
    assert "<td>2024-02-26 05:58 UTC</td>" in page
    assert '<td class="stale">2024-02-26 05:58 UTC (stale, 7 days old)</td>' in page
    # the latest run (the 4 March one) on top, in the warning style
    assert page.index('<p class="data-as-of data-stale">') < page.index("<h2>")
    assert "Latest run (funnel, 2024-03-04T06:00:00+00:00): data as of <strong>2024-02-26 05:58 UTC</strong>" in page


def test_a_failed_pull_reads_as_such(tmp_path):
    failed = fresh("2024-02-26T05:58:00Z", 1.0, True, pull="failed", pull_error="ConnectionError: <i>x</i>")
    publish(tmp_path, "funnel", "2024-02-27", "2024-02-27T06:00:00+00:00", failed, status="failed")
    page = render_index(tmp_path)
    assert '<td class="stale">2024-02-26 05:58 UTC (stale, pull failed)</td>' in page
    assert "<i>x</i>" not in page and "&lt;i&gt;x&lt;/i&gt;" in page


def test_runs_recorded_before_freshness_have_an_empty_cell_and_no_line(tmp_path):
    publish(tmp_path, "funnel", "2024-02-26", "2024-02-26T06:00:00+00:00", None)
    page = render_index(tmp_path)
    assert "<td></td>" in page and "data-as-of" not in page.split("</style>")[1]


def test_a_mangled_freshness_is_an_empty_cell_not_an_error(tmp_path):
    publish(tmp_path, "funnel", "2024-02-26", "2024-02-26T06:00:00+00:00", "2024-02-26")  # hand-edited manifest
    assert "<td></td>" in render_index(tmp_path)
