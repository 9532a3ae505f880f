"""``<out>/index.html``: the dashboard's headline cards, the latest good run of each report, then every run.

At the top, the headline cards (:mod:`.dashboard`): the figures the latest good runs recorded, each
with its interval, count, change against the same point of the previous period and trend. Then a
link to each report's latest good run, then per report: a link to its latest good run and how fresh
its data were, then every run newest first
with its status, as-of date, the data's "as of" time (stale ones marked), scheduled time, start,
duration, links to the page and the notebook, and for a failed run the cell and error. Above the
cards, the data as of the latest run, in a warning style when stale (:func:`.html.freshness_html`).
Every text comes from manifests and records (report names, parameters, error messages that may
quote CRM data) and is HTML-escaped; links are URL-quoted. The page is written through a
temporary file and an atomic rename, under a lock, so a reader never sees half of it.
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

from .dashboard import CARDS_CSS, for_each_cards, headline_cards, render_cards
from .format import column_label
from .html import FRESHNESS_CSS, freshness_html
from .publish import atomic_write_text, published_runs

__all__ = ["write_index", "render_index"]

_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}h2{margin-top:1.6em}"
    "table{border-collapse:collapse}td,th{padding:.3em .8em;text-align:left;border-bottom:1px solid #ddd}"
    "td.num{text-align:right}tr.failed td{color:#b00}.latest{margin:.3em 0 .6em}.none{color:#b00}"
    "td.stale{background:#fff3cd;color:#5c4300}ul.latest-runs{columns:2;padding-left:1.2em}" + FRESHNESS_CSS + CARDS_CSS
)


def _data_cell(m: dict) -> str:
    """The "data as of" cell of a run: the time, and how old when stale; empty for a run without data."""
    f = m.get("data_freshness")
    if not isinstance(f, dict):
        return "<td></td>"
    when = f.get("as_of")
    text = _e(f"{when[:10]} {when[11:16]} UTC" if isinstance(when, str) and len(when) >= 16 else (when or "unknown"))
    if not f.get("stale"):
        return f"<td>{text}</td>"
    age = f.get("age_days")
    why = (
        "pull failed" if f.get("pull") == "failed" else (f"{age:.0f} days old" if isinstance(age, (int, float)) else "")
    )
    return f'<td class="stale">{text} (stale{", " + _e(why) if why else ""})</td>'


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _href(out_dir: Path, folder: Path, file) -> str:
    return _e(quote(f"{folder.relative_to(out_dir).as_posix()}/{file}"))


def _title(name: str, m: dict) -> str:
    """A report's heading: ``Funnel`` or, for one value of a for_each, ``Funnel: account.region = EMEA``."""
    fe = m.get("for_each")
    if isinstance(fe, dict) and fe.get("report"):
        return f"{column_label(fe['report'])}: {fe.get('field')} = {fe.get('value')}"
    return column_label(m.get("report") or name)


def _value_sections(out_dir: Path) -> str:
    """One section of cards per value of each for_each report, under a heading per report and field."""
    parts, heading = [], None
    for v in for_each_cards(out_dir):
        if (v.report, v.field) != heading:
            heading = (v.report, v.field)
            parts.append(f"<h2>{_e(column_label(v.report))} by {_e(v.field)}</h2>")
        parts.append(
            f'<section class="value" id="{_e(quote(v.run_name))}"><h3>{_e(v.field)} = {_e(v.value)}</h3>'
            + (render_cards(v.cards.cards, v.cards.missing) or "<p>No figure recorded.</p>")
            + "</section>"
        )
    return "".join(parts)


def _row(out_dir: Path, folder: Path, m: dict) -> str:
    status = str(m.get("status"))
    links = []
    if m.get("html"):
        links.append(f'<a href="{_href(out_dir, folder, m["html"])}">report</a>')
    if m.get("ipynb"):  # a failed run: the partial notebook, with the cell that failed
        links.append(f'<a href="{_href(out_dir, folder, m["ipynb"])}">notebook</a>')
    cell = m.get("error_cell_index")
    error = "" if status == "ok" else _e(f"cell {cell}: {m.get('error')}" if cell is not None else m.get("error"))
    duration = m.get("duration_s")
    cells = [
        _e(folder.name),
        _e(m.get("as_of")),
        None,  # the data cell, with its own class
        _e(status),
        _e(m.get("scheduled_for") or "by hand"),
        _e(m.get("started_at")),
        f"{duration:.1f} s" if isinstance(duration, (int, float)) else "",
        " ".join(links),
        error,
    ]
    return (
        f'<tr class="{_e(status)}">'
        + "".join(
            _data_cell(m) if c is None else f'<td class="num">{c}</td>' if i == 6 else f"<td>{c}</td>"
            for i, c in enumerate(cells)
        )
        + "</tr>"
    )


def render_index(out_dir) -> str:
    """The index page's HTML for the runs published in ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        The reports folder: one folder per report, one folder per published run in it, each with
        its ``manifest.json`` (folders starting with ``.`` are left out).

    Returns
    -------
    str
        A complete HTML document: the "data as of" line of the latest run (by start time); the
        headline cards (:func:`.dashboard.headline_cards`); a link to each report's latest good run;
        then per report, in name order, a link to its latest good run with its data's time, then a table of
        every run, newest first (run, as of, data as of, status, scheduled for, started, duration,
        links, error); "No report has run yet." when there is none.
    """
    out_dir = Path(out_dir)
    names = sorted(
        {mf.parent.parent.name for mf in out_dir.glob("*/*/manifest.json") if not mf.parent.parent.name.startswith(".")}
    )
    sections, newest = [], None
    for name in names:
        runs = published_runs(out_dir, name)[::-1]  # newest first
        good = next(((d, m) for d, m in runs if m.get("status") == "ok"), None)
        for _d, m in runs:
            if isinstance(m.get("data_freshness"), dict) and (
                newest is None or str(m.get("started_at")) > str(newest.get("started_at"))
            ):
                newest = m
        data = good[1].get("data_freshness") if good else None
        as_of = data.get("as_of") if isinstance(data, dict) else None
        latest = (
            f'<p class="latest">Latest good run: <a href="{_href(out_dir, good[0], good[1].get("html"))}">'
            f"{_e(good[1].get('as_of'))}</a> (run {_e(good[1].get('started_at'))}"
            + (f", data as of {_e(as_of)}" if as_of else "")
            + ")</p>"
            if good and good[1].get("html")
            else '<p class="latest none">No good run yet.</p>'
        )
        sections.append(
            f'<section id="{_e(quote(name))}"><h2>{_e(_title(name, runs[0].manifest))}</h2>{latest}'
            "<table><tr><th>run</th><th>as of</th><th>data as of</th>"
            "<th>status</th><th>scheduled for</th><th>started</th><th>duration</th><th>links</th><th>error</th></tr>"
            + "".join(_row(out_dir, d, m) for d, m in runs)
            + "</table></section>"
        )
    head = ""
    latest_runs = []
    for name in names:
        good = next((r for r in published_runs(out_dir, name)[::-1] if r.manifest.get("status") == "ok"), None)
        if good is not None and good.manifest.get("html"):
            title = _title(name, good.manifest)  # data_quality -> Data quality; funnel--EMEA -> Funnel: ... = EMEA
            latest_runs.append(
                f'<li><a href="{_href(out_dir, good.folder, good.manifest["html"])}">{_e(title)}</a>'
                f" ({_e(good.manifest.get('as_of'))})</li>"
            )
    if newest is not None:
        head = freshness_html(newest["data_freshness"]).replace(
            "Data as of", f"Latest run ({_e(newest.get('report'))}, {_e(newest.get('started_at'))}): data as of", 1
        )
    cards, missing = headline_cards(out_dir) if names else ([], [])
    latest = f'<h2>Latest reports</h2><ul class="latest-runs">{"".join(latest_runs)}</ul>' if latest_runs else ""
    history = "<h2>Run history</h2>" + "".join(sections) if sections else "<p>No report has run yet.</p>"
    body = head + render_cards(cards, missing) + _value_sections(out_dir) + latest + history
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Reports</title>'
        f"<style>{_CSS}</style></head><body><h1>Reports</h1>{body}</body></html>\n"
    )


def write_index(out_dir) -> Path:
    """Write ``out_dir/index.html`` listing every report and its published runs; return its path.

    Written atomically under ``out_dir/.locks/index.lock``, so concurrent runs do not interleave.

    Parameters
    ----------
    out_dir : path-like
        The reports folder (created if missing).

    Returns
    -------
    pathlib.Path
        The path of ``index.html`` (see :func:`render_index` for its content).
    """
    from filelock import FileLock

    out_dir = Path(out_dir)
    (out_dir / ".locks").mkdir(parents=True, exist_ok=True)
    with FileLock(str(out_dir / ".locks" / "index.lock")):
        return atomic_write_text(out_dir / "index.html", render_index(out_dir))
