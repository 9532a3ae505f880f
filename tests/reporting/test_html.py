"""The "data as of" line of report pages (funnel_analysis.reporting.html.freshness_html), on hand-written freshness."""

from __future__ import annotations

import pytest

from funnel_analysis.reporting.html import freshness_html


def freshness(**changes) -> dict:
    base = {
        "as_of": "2024-02-12T11:20:45Z",
        "as_of_from": "extract_time",
        "extract_time": "2024-02-12T11:20:45Z",
        "extract_field": "opportunities.system_modstamp",
        "pulled_at": None,
        "age_days": 3.2,
        "stale_after_days": 7.0,
        "stale": False,
        "pull": None,
        "pull_error": None,
    }
    return base | changes


def test_current_data_read_plainly():
    assert freshness_html(freshness()) == (
        '<p class="data-as-of">Data as of <strong>2024-02-12 11:20 UTC</strong> (the latest change in the data, '
        "<code>opportunities.system_modstamp</code>), 3 days before this run.</p>"
    )


def test_hours_under_two_days():
    assert "5 hours before this run" in freshness_html(freshness(age_days=0.21))  # 5.04 hours
    assert "1 hour before this run" in freshness_html(freshness(age_days=1 / 24))


def test_stale_data_in_the_warning_style_with_how_old():
    line = freshness_html(freshness(age_days=21.0, stale=True))
    assert line.startswith('<p class="data-as-of data-stale"><strong>Stale data.</strong> Data as of')
    assert line.endswith("21 days before this run: older than 7 days.</p>")


def test_a_pulled_store_says_so_with_its_latest_change():
    line = freshness_html(
        freshness(as_of="2024-02-22T06:00:00Z", as_of_from="pull", pulled_at="2024-02-22T06:00:00Z", age_days=0.01)
    )
    assert "Data as of <strong>2024-02-22 06:00 UTC</strong> (the last <code>funnel pull</code>)" in line
    assert "latest change in the data 2024-02-12 11:20 UTC" in line


def test_a_failed_pull_is_stale_whatever_the_age_and_escaped():
    line = freshness_html(
        freshness(age_days=1.0, stale=True, pull="failed", pull_error="ConnectionError: <b>no route</b>")
    )
    assert "data-stale" in line and "older than" not in line
    assert "the pull before this run failed (ConnectionError: &lt;b&gt;no route&lt;/b&gt;)" in line


def test_unknown_time_and_no_data():
    assert "Data as of <strong>unknown</strong>" in freshness_html(freshness(as_of=None, age_days=None, stale=True))
    assert freshness_html(None) == ""


def test_a_freshness_without_its_keys_is_refused():
    with pytest.raises(KeyError):
        freshness_html({"age_days": 1.0})


def test_a_tables_csv_link_survives_cleaning_and_nothing_else_data():
    from funnel_analysis.reporting.html import clean_html

    csv = '<a class="csv-download" download="t.csv" href="data:text/csv;charset=utf-8;base64,YSxiCg==">CSV</a>'
    assert clean_html(csv) == csv
    page = clean_html('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a><a href="DATA:text/html,<b>">y</a>')
    assert "data:" not in page.lower() and ">x</a>" in page and ">y</a>" in page  # the link text stays, not the target
