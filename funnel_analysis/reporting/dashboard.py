"""The front page's headline cards, from the values the runs recorded (never recomputed).

Each card is one figure a sales leader looks at first: leads, conversion, open pipeline, win rate,
average won deal, sales cycle, the next quarter's forecast, data-quality warnings and the data's
extract time. A card shows its value with its interval and count, its change against the same point
of the previous period, a small trend line of the periods before, and a link to its report.

The values are read from the latest good run of the card's report: the records its notebook kept
(:func:`~funnel_analysis.reporting.notebook.record`, read back by
:func:`~funnel_analysis.reporting.notebook.read_records`) and its manifest. The funnel notebook
records ``headline`` (:func:`funnel_analysis.funnel.headline_series`: the rows ``period`` /
``previous`` / ``current``), so a trend shows on the first run. A report that has not run, or ran
without the record, leaves its cards out with one line saying so.

Examples
--------
>>> cards = headline_cards("reports")  # doctest: +SKIP
>>> cards[0].label, cards[0].value  # doctest: +SKIP
('Leads this quarter', '1,194')
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

from .._util.results import Unpackable
from .format import figure_kind, format_figure, format_interval
from .publish import published_runs

__all__ = [
    "CardSpec",
    "Card",
    "Cards",
    "CARDS",
    "ValueCards",
    "headline_cards",
    "for_each_cards",
    "render_cards",
    "CARDS_CSS",
]


@dataclass(frozen=True)
class CardSpec:
    """Where a card's figure is recorded.

    Parameters
    ----------
    label : str
        The card's title; ``{period}`` is replaced by the period's word ("quarter").
    report : str
        The report (its name in the report config) whose latest good run holds the figure.
    record : str
        The record's name in that run's notebook.
    figure : str
        The column (or key) of the figure in the record.
    select : Mapping, optional
        Column -> value that picks the row (``{"quarters_ahead": 1}``); for a ``headline`` record
        the rows are picked by ``row``.
    interval : tuple of str, optional
        The columns of the interval's bounds; default ``<figure>_ci_low`` / ``<figure>_ci_high``.
    confidence : float, default 0.95
        The interval's level, as the analysis computed it.
    count : tuple of str, optional
        ``(column, word)``: the recorded count the figure stands on and what it counts
        (``("leads", "leads")`` shows "3,480 leads").
    pool : tuple of str, optional
        ``(successes, trials)``: the record has one row per group and no overall row, so the card
        shows the share of the selected rows' recorded counts pooled (their sums), with the Wilson
        interval of those sums (:func:`funnel_analysis.stats.wilson_interval`, the analyses' own).
        Only counts are added up: no figure is recomputed from data.
    """

    label: str
    report: str
    record: str
    figure: str
    select: Mapping = field(default_factory=dict)
    interval: tuple[str, str] | None = None
    confidence: float = 0.95
    count: tuple[str, str] | None = None
    pool: tuple[str, str] | None = None


@dataclass(frozen=True)
class Card:
    """One card as the page shows it: every text formatted (:mod:`~funnel_analysis.reporting.format`).

    Parameters
    ----------
    label : str
        The card's title.
    value : str
        The figure: ``"28.5 %"``.
    interval : str
        Its interval, with the level: ``"95 % interval 27.1–30.1"``; or empty.
    count : str
        What the figure stands on (``"3,480 deals"``), or empty.
    change : str
        Its change against the same point of the previous period (``"+2.1 pts"``), or empty.
    trend : tuple of float
        The values of the periods before, oldest first, then the current one.
    link : str
        The report page's address, relative to the reports folder.
    report : str
        The report the figure comes from.
    raw : float or None
        The recorded value, for machines (and the tests).
    """

    label: str
    value: str
    interval: str = ""
    count: str = ""
    change: str = ""
    trend: tuple[float, ...] = ()
    link: str = ""
    report: str = ""
    raw: float | None = None


@dataclass(frozen=True)
class Cards(Unpackable):
    """The front page's cards and what is left off them; unpacks as ``cards, missing``.

    Parameters
    ----------
    cards : list of Card
        The cards that have a recorded value, in order.
    missing : list of str
        One line per report whose cards are left out, saying why.
    """

    cards: list
    missing: list


#: The front page's cards, in order.
CARDS: tuple[CardSpec, ...] = (
    CardSpec("Leads this {period}", "funnel", "headline", "leads"),
    CardSpec("Lead conversion this {period}", "funnel", "headline", "lead_conversion_rate"),
    CardSpec("Open pipeline", "funnel", "headline", "open_pipeline_amount"),
    CardSpec("Win rate this {period}", "funnel", "headline", "win_rate"),
    CardSpec("Average won deal this {period}", "funnel", "headline", "avg_won_deal_size"),
    CardSpec("Median sales cycle this {period}", "funnel", "headline", "median_cycle_days"),
    CardSpec(
        "Next quarter's bookings forecast",
        "forecasting",
        "next_quarter",
        "forecast",
        select={"quarters_ahead": 1},
        interval=("forecast_ci_low_80", "forecast_ci_high_80"),
        confidence=0.8,
    ),
    # the routing report: its misroute summary has an overall row ("all"); its speed to lead by team has
    # one "all" bucket per team, pooled here (the count of breaches and of leads judged, summed)
    CardSpec(
        "Misrouted leads", "routing", "misroutes", "misroute_share", select={"entry": "all"}, count=("leads", "leads")
    ),
    CardSpec(
        "Lead SLA breaches",
        "routing",
        "speed_to_lead",
        "breach_share",
        select={"bucket": "all"},
        count=("sla_judged", "leads judged"),
        pool=("sla_breaches", "sla_judged"),
    ),
)

_PERIOD_WORDS = {"Q": "quarter", "M": "month", "Y": "year"}
_COUNT_WORDS = {
    "lead_conversion_rate": "leads",
    "win_rate": "closed deals",
    "avg_won_deal_size": "won deals",
    "median_cycle_days": "won deals",
    "open_pipeline_amount": "open deals",
}


def _number(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return None if math.isnan(v) else float(v)


def _value_and_interval(spec: CardSpec, raw, low, high, kind: str, currency: str) -> tuple[str, str]:
    shown = format_figure(raw, kind=kind, currency=currency)
    full = format_interval(raw, low, high, kind=kind, currency=currency)
    if full == shown:
        return shown, ""
    return shown, f"{round(spec.confidence * 100)} % interval {full[len(shown) + 2 : -1]}"


def _latest_good(out_dir: Path, report: str):
    runs = [r for r in published_runs(out_dir, report) if r.manifest.get("status") == "ok"]
    return runs[-1] if runs else None


def _records(run) -> Mapping:
    from .notebook import read_records

    name = run.manifest.get("ipynb")
    if not name or not (run.folder / name).exists():
        return {}
    try:
        return read_records(run.folder / name)
    except (OSError, ValueError):
        return {}


def _change(kind: str, now: float | None, before: float | None, period: str) -> str:
    if now is None or before is None:
        return ""
    word = _PERIOD_WORDS.get(period, "period")
    if kind == "rate":
        return f"{(now - before) * 100:+.1f} pts vs same point last {word}"
    if kind == "days":
        return f"{round(now - before):+d} days vs same point last {word}"
    if before == 0:
        return ""
    return f"{(now / before - 1) * 100:+.1f} % vs same point last {word}"


def _headline_card(spec: CardSpec, rows: Sequence[Mapping], link: str) -> Card | None:
    by_row = {}
    for r in rows:
        by_row.setdefault(r.get("row"), []).append(r)
    current = (by_row.get("current") or [None])[-1]
    if current is None or spec.figure not in current:  # recorded as missing (null) it shows "–"
        return None
    period = str(current.get("period") or "Q")
    currency = str(current.get("currency") or "")
    f = spec.figure
    lo, hi = spec.interval or (f"{f}_ci_low", f"{f}_ci_high")
    raw = _number(current.get(f))
    kind = figure_kind(f, raw if raw is not None else 1.5)
    value, interval = _value_and_interval(spec, raw, _number(current.get(lo)), _number(current.get(hi)), kind, currency)
    n = _number(current.get(f"{f}_n"))
    count = f"{round(n):,} {_COUNT_WORDS.get(f, '')}".strip() if n is not None and f in _COUNT_WORDS else ""
    previous = (by_row.get("previous") or [None])[-1]
    change = _change(kind, raw, _number(previous.get(f)) if previous else None, period)
    trend = tuple(v for v in (_number(r.get(f)) for r in by_row.get("period", [])) if v is not None)
    label = spec.label.format(period=_PERIOD_WORDS.get(period, "period"))
    trend = (*trend, raw) if raw is not None else trend
    return Card(label, value, interval, count, change, trend, link, spec.report, raw)


def _pooled(spec: CardSpec, rows: Sequence[Mapping]) -> dict | None:
    """One row of the selected rows' counts summed, with the share and its Wilson interval."""
    from ..stats import wilson_interval

    successes, trials = spec.pool
    hit = [r for r in rows if all(r.get(k) == v for k, v in spec.select.items())]
    s = sum(_number(r.get(successes)) or 0.0 for r in hit)
    n = sum(_number(r.get(trials)) or 0.0 for r in hit)
    if not hit or n <= 0:
        return None
    ci = wilson_interval(s, n, confidence=spec.confidence)
    low, high = spec.interval or (f"{spec.figure}_ci_low", f"{spec.figure}_ci_high")
    return {spec.figure: s / n, low: float(ci.low), high: float(ci.high), successes: s, trials: n}


def _row_card(spec: CardSpec, rows: Sequence[Mapping], link: str, currency: str) -> Card | None:
    if spec.pool:
        pooled = _pooled(spec, rows)
        hit = [pooled] if pooled else []
    else:
        hit = [r for r in rows if spec.figure in r and all(r.get(k) == v for k, v in spec.select.items())]
    if not hit:
        return None
    row = hit[-1]
    lo, hi = spec.interval or (f"{spec.figure}_ci_low", f"{spec.figure}_ci_high")
    raw = _number(row.get(spec.figure))
    kind = figure_kind(spec.figure, raw if raw is not None else 1.5)
    value, interval = _value_and_interval(spec, raw, _number(row.get(lo)), _number(row.get(hi)), kind, currency)
    label = spec.label + (f" ({row['fiscal_period']})" if row.get("fiscal_period") else "")
    n = _number(row.get(spec.count[0])) if spec.count else None
    count = f"{round(n):,} {spec.count[1]}" if n is not None else ""
    return Card(label, value, interval, count, link=link, report=spec.report, raw=raw)


def headline_cards(out_dir, *, cards: Sequence[CardSpec] = CARDS, extras: bool = True) -> Cards:
    """The front page's cards, from the latest good run of each card's report.

    Parameters
    ----------
    out_dir : path-like
        The reports folder.
    cards : sequence of CardSpec, default :data:`CARDS`
        Which figures to show.
    extras : bool, default True
        Add the data-quality and extract-time cards (the whole org's, not a report's).

    Returns
    -------
    Cards
        ``cards``: those that have a recorded value, in order, then the data-quality card and the
        data's extract time when a run recorded them; ``missing``: one line per report whose cards
        are left out, saying why (not run yet, or its run recorded no such figure).
    """
    out_dir = Path(out_dir)
    shown: list[Card] = []
    missing: list[str] = []
    records: dict[str, tuple] = {}
    currency = ""
    for spec in cards:
        if spec.report not in records:
            run = _latest_good(out_dir, spec.report)
            link = quote(f"{run.folder.relative_to(out_dir).as_posix()}/{run.manifest.get('html')}") if run else ""
            records[spec.report] = (run, _records(run) if run else {}, link)
        run, recs, link = records[spec.report]
        if run is None:
            line = f"{spec.report}: no good run yet"
            if line not in missing:
                missing.append(line)
            continue
        rows = recs.get(spec.record)
        rows = [rows] if isinstance(rows, Mapping) else list(rows or [])
        card = (
            _headline_card(spec, rows, link)
            if spec.record == "headline"
            else _row_card(spec, rows, link, currency or _currency_of(recs))
        )
        if card is None:
            missing.append(f"{spec.report}: its latest run recorded no {spec.record!r} with {spec.figure!r}")
            continue
        if spec.record == "headline" and not currency:
            currency = str(next((r.get("currency") for r in rows if r.get("currency")), ""))
        shown.append(card)
    if extras:
        shown += _quality_and_freshness(out_dir)
    return Cards(shown, missing)


@dataclass(frozen=True)
class ValueCards:
    """The cards of one value's run of a ``for_each`` report (:func:`for_each_cards`).

    Parameters
    ----------
    report : str
        The report in the config (``"funnel"``).
    field : str
        The field it fans out over (``"account.region"``).
    value : object
        This run's value.
    run_name : str
        The value's report name and folder (``"funnel--EMEA"``).
    cards : Cards
        Its cards: those of :data:`CARDS` whose report is ``report``, read from this value's
        latest good run.
    """

    report: str
    field: str
    value: object
    run_name: str
    cards: Cards


def for_each_cards(out_dir, *, cards: Sequence[CardSpec] = CARDS) -> list[ValueCards]:
    """One set of cards per value of each ``for_each`` report, from the values' latest good runs.

    A value's run is a report folder whose manifests name the report and value they fan out
    (``manifest["for_each"]``, written by the runner); its cards are the report's own cards of
    :data:`CARDS` (those of its name, or of its notebook's: an entry ``by_region`` that runs
    ``funnel.ipynb`` has the funnel's), read from that folder as :func:`headline_cards` reads a report's.

    Parameters
    ----------
    out_dir : path-like
        The reports folder.
    cards : sequence of CardSpec, default :data:`CARDS`
        The cards to take the report's from.

    Returns
    -------
    list of ValueCards
        By report, field, then value (as text); a value without a good run is left out.

    Examples
    --------
    >>> for_each_cards("no-such-folder")
    []
    """
    out_dir = Path(out_dir)
    found = []
    if not out_dir.is_dir():
        return found
    for folder in sorted(p for p in out_dir.iterdir() if p.is_dir() and "--" in p.name):
        run = _latest_good(out_dir, folder.name)
        fe = run.manifest.get("for_each") if run else None
        if not isinstance(fe, Mapping) or not fe.get("report") or not fe.get("field"):
            continue
        # the report's cards: by its name, or by its notebook's (a for_each entry named by_region runs funnel.ipynb)
        kinds = {str(fe["report"]), Path(str(run.manifest.get("notebook") or "")).stem}
        mine = [replace(c, report=folder.name) for c in cards if c.report in kinds]
        if not mine:
            continue
        found.append(
            ValueCards(
                str(fe["report"]),
                str(fe["field"]),
                fe.get("value"),
                folder.name,
                headline_cards(out_dir, cards=mine, extras=False),
            )
        )
    return sorted(found, key=lambda v: (v.report, v.field, str(v.value)))


def _currency_of(recs: Mapping) -> str:
    rows = recs.get("headline") or []
    return str(next((r.get("currency") for r in rows if isinstance(r, Mapping) and r.get("currency")), ""))


def _quality_and_freshness(out_dir: Path) -> list[Card]:
    out = []
    run = _latest_good(out_dir, "data_quality")
    if run is not None:
        tables = _records(run).get("tables") or []
        quarantined = sum(_number(t.get("rows_quarantined")) or 0 for t in tables if isinstance(t, Mapping))
        flagged = sum(_number(t.get("rows_flagged")) or 0 for t in tables if isinstance(t, Mapping))
        link = quote(f"{run.folder.relative_to(out_dir).as_posix()}/{run.manifest.get('html')}")
        out.append(
            Card(
                "Data-quality warnings",
                f"{round(quarantined + flagged):,} rows",
                count=f"{round(quarantined):,} quarantined, {round(flagged):,} flagged",
                link=link,
                report="data_quality",
                raw=quarantined + flagged,
            )
        )
    newest = None
    for report in sorted(p.name for p in out_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        run = _latest_good(out_dir, report)
        f = run.manifest.get("data_freshness") if run else None
        if isinstance(f, dict) and f.get("as_of") and (newest is None or str(f["as_of"]) > str(newest["as_of"])):
            newest = f
    if newest is not None:
        when = str(newest["as_of"])
        age = _number(newest.get("age_days"))
        out.append(
            Card(
                "Data as of",
                when[:10],
                count=", ".join(
                    t
                    for t in (
                        f"{when[11:16]} UTC" if len(when) >= 16 else "",
                        f"{age:.0f} days old" if age is not None else "",
                        "stale" if newest.get("stale") else "",
                    )
                    if t
                ),
                report="",
            )
        )
    return out


def _sparkline(values: Sequence[float], width: int = 120, height: int = 28) -> str:
    if len(values) < 2:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = width / (len(values) - 1)
    points = " ".join(f"{i * step:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}" for i, v in enumerate(values))
    last_x, last_y = points.split()[-1].split(",")
    return (
        f'<svg class="trend" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="trend of the last {len(values)} periods"><polyline fill="none" stroke="#3b6ea5" '
        f'stroke-width="1.5" points="{points}"/><circle cx="{last_x}" cy="{last_y}" r="2.5" fill="#3b6ea5"/></svg>'
    )


#: The cards' style, for the front page.
CARDS_CSS = (
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(15em,1fr));gap:.8em;margin:1em 0 1.5em}"
    ".card{border:1px solid #ddd;border-radius:6px;padding:.7em .9em;background:#fafbfc}"
    ".card h3{font-size:.85em;font-weight:600;color:#555;margin:0 0 .3em}"
    ".card .value{font-size:1.45em;font-weight:600;margin:.1em 0}.card .interval,.card .count,.card .change{font-size:.8em;color:#666}"
    ".card a{color:inherit;text-decoration:none}.card a:hover h3{text-decoration:underline}"
    ".cards-missing{color:#666;font-size:.85em}"
)


def render_cards(cards: Sequence[Card], missing: Sequence[str] = ()) -> str:
    """The cards as HTML (every text escaped; the trend an inline SVG line, nothing fetched).

    Parameters
    ----------
    cards : sequence of Card
        From :func:`headline_cards`.
    missing : sequence of str
        The lines saying which cards are left out and why.

    Returns
    -------
    str
        A ``<section class="cards">`` of cards (each a link to its report when it has one), then
        one line per left-out report; empty when there is neither.
    """
    e = html.escape
    parts = []
    for c in cards:
        body = (
            f'<h3>{e(c.label)}</h3><div class="value">{e(c.value)}</div>'
            + (f'<div class="interval">{e(c.interval)}</div>' if c.interval else "")
            + (f'<div class="count">{e(c.count)}</div>' if c.count else "")
            + (f'<div class="change">{e(c.change)}</div>' if c.change else "")
            + _sparkline(c.trend)
        )
        inner = f'<a href="{e(c.link)}">{body}</a>' if c.link else body
        parts.append(f'<div class="card" data-report="{e(c.report)}">{inner}</div>')
    out = f'<section class="cards">{"".join(parts)}</section>' if parts else ""
    if missing:
        out += "".join(f'<p class="cards-missing">Not on the cards: {e(m)}.</p>' for m in missing)
    return out
