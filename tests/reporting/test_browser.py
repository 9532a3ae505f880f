"""The reports as a person sees them: index.html and every report of the small org, whose lead sources,
campaign and company names hold script, opened from disk (no server) in headless Chromium.

Checks: no console error, no injected script ran (``alert`` is trapped before any page script),
the injected text is shown as text, every image loaded, no code and no stray stderr on the page;
a screenshot of each page is saved under pytest's tmp_path. Without Chromium the test is skipped with
one line (a failure with ``FUNNEL_REQUIRE_BROWSER=1``, which CI sets): ``.ci/install-browser``
installs Debian's chromium and chromium-driver.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import optional_suite
from tests.reporting.test_runner import XSS, xss_reports

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
# runs before any script of the page: an executed payload leaves its trace here instead of a dialog
TRAP = (
    "window.__alerts = []; for (const f of ['alert', 'confirm', 'prompt']) "
    "{ window[f] = (x) => { window.__alerts.push(String(x)); }; }"
)


@pytest.fixture(scope="module")
def browser():
    for exe in (CHROMIUM, CHROMEDRIVER):
        if not exe.exists() and not shutil.which(exe.name):
            optional_suite(
                "browser",
                missing=f"{exe} not found",
                how="run .ci/install-browser (Debian packages chromium and chromium-driver)",
            )
    optional_suite("browser")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1600",
        "--allow-file-access-from-files",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": TRAP})
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def reports(small_sample, tmp_path_factory):
    res, out, _ = xss_reports(small_sample, tmp_path_factory)
    assert res.failed == [], [(r.name, r.error) for r in res.runs]
    return res, out


def _open(driver, page: Path, shot: Path) -> dict:
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(page.as_uri())
    # a loaded machine can hand back control before the page is laid out: wait for it to be complete
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 60).until(
        lambda d: d.execute_script(
            "return document.readyState === 'complete' && document.body !== null && document.body.innerText.length > 0"
        )
    )
    state = driver.execute_script(
        "const imgs = [...document.images];"
        "return {alerts: window.__alerts, text: document.body.innerText, images: imgs.length,"
        " broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 60)),"
        " scripts: [...document.scripts].map(s => s.src || s.textContent.slice(0, 80)),"
        " onerror: document.querySelectorAll('[onerror]').length};"
    )
    state["console"] = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one
    return state


@pytest.mark.slow
def test_index_opens_clean(browser, reports, tmp_path):
    res, out = reports
    state = _open(browser, out / "index.html", tmp_path / "index.png")
    assert state["console"] == [] and state["alerts"] == []
    for r in res.runs:  # report names as words: data_quality -> "Data quality"
        assert r.name.replace("_", " ").capitalize() in state["text"] and r.as_of in state["text"]
    links = browser.execute_script("return [...document.links].map(a => a.href)")
    assert {(out / r.name / r.as_of / f"{r.name}.html").as_uri() for r in res.runs} <= set(links)
    # the cards show what the funnel run recorded (formatted here by hand, not by the product)
    from funnel_analysis.reporting import read_records

    funnel = next(r for r in res.runs if r.name == "funnel")
    (current,) = [row for row in read_records(funnel.run_dir / "funnel.ipynb")["headline"] if row["row"] == "current"]
    cards = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('.card')].map("
        "c => [c.querySelector('h3').innerText, c.querySelector('.value').innerText]))"
    )
    assert cards["Leads this quarter"] == f"{current['leads']:,}"
    assert cards["Win rate this quarter"] == f"{current['win_rate'] * 100:.1f} %"
    assert cards["Open pipeline"].endswith(f"{current['open_pipeline_amount']:,.0f}")


@pytest.mark.slow
def test_every_report_opens_clean_and_shows_injected_text_as_text(browser, reports, tmp_path):
    res, out = reports
    shown = {}
    for r in res.runs:
        state = _open(browser, r.html, tmp_path / f"{r.name}.png")
        assert state["console"] == [], (r.name, state["console"])
        assert state["alerts"] == [], f"{r.name}: injected script ran: {state['alerts']}"
        assert state["onerror"] == 0, f"{r.name}: an element with an onerror handler was created"
        assert state["images"] > 0 and state["broken"] == [], (r.name, state["broken"])
        assert state["scripts"] == [] or all("alert" not in s for s in state["scripts"]), state["scripts"]
        text = state["text"]
        assert "notebook_setup(" not in text and "import funnel_analysis" not in text  # no code
        assert "Traceback" not in text and "Warning" not in text  # no stray stderr
        shown[r.name] = [x for x in XSS if x in text]
        # names, not IDs: no table cell shows a bare Salesforce ID (a link, or a name with the ID as
        # its tooltip, is fine)
        bare = browser.execute_script(
            "const id = /(^|[^0-9A-Za-z])(001|003|005|006|00Q|701|00G)[0-9A-Za-z]{12}([0-9A-Za-z]{3})?(?![0-9A-Za-z])/;"
            "return [...document.querySelectorAll('td, th')].map(c => {"
            " const x = c.cloneNode(true); x.querySelectorAll('a').forEach(a => a.remove());"
            " return x.textContent; }).filter(t => id.test(t) && /[0-9]/.test(t)).slice(0, 5);"
        )
        assert bare == [], (r.name, bare)
    # user-entered script reaches the segment tables of these reports, and shows there as text
    assert shown["funnel"] == list(XSS) and shown["sources"] == list(XSS), shown
    assert XSS[1] in shown["data_quality"], shown  # the flagged e-mail value
    assert len(list(tmp_path.glob("*.png"))) == len(res.runs)


@pytest.mark.slow
def test_metrics_show_three_digits_and_long_tables_search_and_sort(browser, reports, tmp_path):
    res, _ = reports
    scoring = next(r for r in res.runs if r.name == "lead_scoring")
    _open(browser, scoring.html, tmp_path / "scoring.png")
    cells = browser.execute_script(
        "return [...document.querySelectorAll('tr')].filter(r => r.cells.length > 1 && "
        "r.cells[0].innerText.trim() === 'ROC-AUC').map(r => r.cells[1].innerText)"
    )
    assert cells and all(__import__("re").match(r"^0\.\d{3}( \(0\.\d{3}–0\.\d{3}\))?$", c) for c in cells), cells
    funnel = next(r for r in res.runs if r.name == "funnel")
    _open(browser, funnel.html, tmp_path / "funnel.png")
    visible = "return [...document.querySelector('table.long-table').tBodies[0].rows].filter(r => r.style.display !== 'none').length"
    before = browser.execute_script(visible)
    word = browser.execute_script(
        "return document.querySelector('table.long-table').tBodies[0].rows[0].cells[0].innerText.trim()"
    )
    browser.execute_script(
        "const s = document.querySelector('input.table-search'); s.value = arguments[0];"
        "s.dispatchEvent(new Event('input'));",
        word,
    )
    after = browser.execute_script(visible)
    assert 0 < after < before, (word, before, after)
    # a header click sorts the rows by that column (its text, numbers as numbers)
    browser.execute_script(
        "const s = document.querySelector('input.table-search'); s.value = ''; s.dispatchEvent(new Event('input'));"
        "document.querySelector('table.long-table thead tr:last-child').cells[0].click();"
    )
    first = browser.execute_script(
        "return [...document.querySelector('table.long-table').tBodies[0].rows].map(r => r.cells[0].innerText.trim())"
    )
    assert first == sorted(first, key=str.lower) or first == sorted(first), first[:5]


@pytest.mark.slow
def test_the_checks_catch_an_unsafe_page(browser, tmp_path):
    """The control: the same checks on a page that embeds the payloads raw do see them run."""
    page = tmp_path / "unsafe.html"
    page.write_text(f"<!DOCTYPE html><html><body><p>x</p>{XSS[0]}{XSS[1]}</body></html>", encoding="utf-8")
    browser.get(page.as_uri())
    alerts = browser.execute_script("return window.__alerts")
    broken = browser.execute_script("return [...document.images].filter(i => i.naturalWidth === 0).length")
    assert sorted(alerts) == ["1", "2"] and broken == 1
