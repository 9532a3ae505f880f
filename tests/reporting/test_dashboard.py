"""The front page's cards: the values the runs recorded, formatted, with change and trend; never recomputed."""

import json

import nbformat

from funnel_analysis.reporting.dashboard import headline_cards, render_cards
from funnel_analysis.reporting.index import render_index
from funnel_analysis.reporting.notebook import RECORD_MIME


def _publish(out, report, records, *, as_of="2025-11-15", started="2025-11-16T06:00:00+00:00", status="ok", **extra):
    folder = out / report / as_of
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("record(...)")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={RECORD_MIME: {"name": name, "value": value}, "text/plain": name})
        for name, value in records.items()
    ]
    nb.cells = [cell]
    nbformat.write(nb, str(folder / f"{report}.ipynb"))
    (folder / f"{report}.html").write_text("<html></html>")
    manifest = {"report": report, "as_of": as_of, "status": status, "started_at": started}
    manifest |= {"html": f"{report}.html", "ipynb": f"{report}.ipynb"} | extra
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _row(row, **figures):
    return {"row": row, "period": "Q", "currency": "EUR", **figures}


HEADLINE = [
    _row("period", fiscal_period="FY2025-Q2", win_rate=0.30, leads=2000, open_pipeline_amount=7_000_000.0),
    _row("period", fiscal_period="FY2025-Q3", win_rate=0.28, leads=2100, open_pipeline_amount=8_000_000.0),
    _row("previous", fiscal_period="FY2025-Q3", win_rate=0.274, leads=1000, open_pipeline_amount=8_000_000.0),
    _row(
        "current",
        fiscal_period="FY2025-Q4",
        win_rate=0.2121,
        win_rate_n=33,
        win_rate_ci_low=0.105,
        win_rate_ci_high=0.38,
        leads=1194,
        open_pipeline_amount=9_076_612.4,
        open_pipeline_amount_n=332,
    ),
]


def test_cards_show_the_recorded_values(tmp_path):
    _publish(tmp_path, "funnel", {"headline": HEADLINE})
    _publish(
        tmp_path,
        "forecasting",
        {
            "next_quarter": [
                {"quarters_ahead": 0, "fiscal_period": "FY2025-Q4", "forecast": 1.0},
                {
                    "quarters_ahead": 1,
                    "fiscal_period": "FY2026-Q1",
                    "forecast": 1_250_000.0,
                    "forecast_ci_low_80": 1_000_000.0,
                    "forecast_ci_high_80": 1_600_000.4,
                },
            ]
        },
    )
    _publish(
        tmp_path,
        "data_quality",
        {"tables": [{"rows_quarantined": 7, "rows_flagged": 3}, {"rows_quarantined": 2, "rows_flagged": 0}]},
        data_freshness={"as_of": "2025-11-15T23:59:59Z", "age_days": 2.4, "stale": False},
    )
    cards, missing = headline_cards(tmp_path)
    by = {c.label: c for c in cards}
    # the headline rows above carry no conversion, deal size or cycle: those cards are left out, and said
    assert missing == [
        "funnel: its latest run recorded no 'headline' with 'lead_conversion_rate'",
        "funnel: its latest run recorded no 'headline' with 'avg_won_deal_size'",
        "funnel: its latest run recorded no 'headline' with 'median_cycle_days'",
        "routing: no good run yet",
    ]
    win = by["Win rate this quarter"]
    assert win.value == "21.2 %" and win.interval == "95 % interval 10.5–38.0" and win.count == "33 closed deals"
    assert win.change == "-6.2 pts vs same point last quarter"  # 21.21 % - 27.4 %
    assert win.trend == (0.30, 0.28, 0.2121) and win.link == "funnel/2025-11-15/funnel.html"
    leads = by["Leads this quarter"]
    assert leads.value == "1,194" and leads.change == "+19.4 % vs same point last quarter"  # 1194 / 1000
    pipe = by["Open pipeline"]
    assert pipe.value == "€9,076,612" and pipe.count == "332 open deals"
    assert pipe.change == "+13.5 % vs same point last quarter"  # 9,076,612.4 / 8,000,000
    fc = by["Next quarter's bookings forecast (FY2026-Q1)"]
    assert fc.value == "€1,250,000" and fc.interval == "80 % interval €1,000,000–€1,600,000"
    assert fc.raw == 1_250_000.0
    dq = by["Data-quality warnings"]
    assert dq.value == "12 rows" and dq.count == "9 quarantined, 3 flagged"
    assert by["Data as of"].value == "2025-11-15" and by["Data as of"].count == "23:59 UTC, 2 days old"


def test_a_failed_run_is_not_read_and_a_missing_report_says_so(tmp_path):
    _publish(tmp_path, "funnel", {"headline": HEADLINE})
    bad = [dict(r, win_rate=0.99) for r in HEADLINE]
    _publish(
        tmp_path, "funnel", {"headline": bad}, as_of="2025-11-16", started="2025-11-17T06:00:00+00:00", status="failed"
    )
    cards, missing = headline_cards(tmp_path)
    assert {c.label: c.raw for c in cards}["Win rate this quarter"] == 0.2121  # the latest GOOD run
    assert "forecasting: no good run yet" in missing


def test_the_page_escapes_and_links(tmp_path):
    evil = [dict(r, currency="<script>") for r in HEADLINE]
    _publish(tmp_path, "funnel", {"headline": evil})
    page = render_index(tmp_path)
    assert "<script>" not in page
    assert 'class="cards"' in page and '<a href="funnel/2025-11-15/funnel.html">' in page
    assert page.index('class="cards"') < page.index("Latest reports") < page.index("Run history")
    assert "<polyline" in page  # the trend line, inline: nothing fetched
    assert render_cards([], []) == ""


def test_routing_cards_misroutes_from_the_all_row_and_sla_breaches_pooled(tmp_path):
    misroutes = [
        {"entry": "EMEA", "leads": 100, "misrouted": 10, "misroute_share": 0.1},
        {
            "entry": "all",
            "leads": 400,
            "misrouted": 20,
            "misroute_share": 0.05,
            "misroute_share_ci_low": 0.0327,
            "misroute_share_ci_high": 0.0758,
        },
    ]
    speed = [  # per team, per bucket; the card pools the "all" buckets: (30 + 10) / (100 + 300) = 10 %
        {"team": "APAC", "bucket": "<1h", "sla_judged": 50, "sla_breaches": 0, "breach_share": 0.0},
        {"team": "APAC", "bucket": "all", "sla_judged": 100, "sla_breaches": 30, "breach_share": 0.3},
        {"team": "EMEA", "bucket": "all", "sla_judged": 300, "sla_breaches": 10, "breach_share": 1 / 30},
    ]
    _publish(tmp_path, "routing", {"misroutes": misroutes, "speed_to_lead": speed})
    cards, missing = headline_cards(tmp_path)
    by = {c.label: c for c in cards}
    mis = by["Misrouted leads"]
    assert mis.value == "5.0 %" and mis.interval == "95 % interval 3.3–7.6" and mis.count == "400 leads"
    assert mis.link == "routing/2025-11-15/routing.html"
    sla = by["Lead SLA breaches"]
    # Wilson 95 % interval of 40 out of 400, by hand (z = 1.96): centre (0.1 + z^2/800) / (1 + z^2/400) = 0.10380,
    # half-width z * sqrt(0.1 * 0.9 / 400 + z^2 / 640000) / (1 + z^2/400) = 0.02950: 7.43 %-13.33 %
    assert sla.value == "10.0 %" and sla.interval == "95 % interval 7.4–13.3" and sla.count == "400 leads judged"
    assert sla.raw == 0.1
    assert not any(m.startswith("routing") for m in missing)


def test_each_for_each_value_gets_its_report_cards_on_the_front_page(tmp_path):
    from funnel_analysis.reporting.dashboard import for_each_cards

    for region, leads in (("EMEA", 577), ("APAC", 380)):
        rows = [dict(r, leads=leads) if r["row"] == "current" else r for r in HEADLINE]
        _publish(
            tmp_path,
            f"by_region--{region}",
            {"headline": rows},
            notebook="/x/notebooks/funnel.ipynb",  # an entry named by_region that runs the funnel notebook
            for_each={"report": "by_region", "field": "owner.region", "value": region},
        )
    values = for_each_cards(tmp_path)
    assert [(v.value, v.run_name) for v in values] == [("APAC", "by_region--APAC"), ("EMEA", "by_region--EMEA")]
    emea = {c.label: c for c in values[1].cards.cards}
    assert emea["Leads this quarter"].value == "577" and emea["Win rate this quarter"].value == "21.2 %"
    assert emea["Leads this quarter"].link == "by_region--EMEA/2025-11-15/by_region--EMEA.html"
    assert "Data as of" not in emea  # the whole org's cards are not repeated per value
    page = render_index(tmp_path)
    assert "By region by owner.region" in page
    assert page.index('id="by_region--APAC"') < page.index('id="by_region--EMEA"') < page.index("Run history")
    assert "By region: owner.region = EMEA" in page  # its run history is titled by the value
