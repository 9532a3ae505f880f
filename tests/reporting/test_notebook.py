"""Table formatting in the reports: thousands separators, percentages, currency, and HTML escaping of
user-entered text (funnel_analysis.reporting.notebook), without a kernel."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from funnel_analysis.reporting import notebook, notebook_setup, record, styled


@pytest.fixture
def dollars():
    notebook_setup(currency="$")
    yield
    notebook_setup()  # no currency, as a notebook that does not set one (pytest restores the warning filters)


def test_formats_by_column_name(dollars):
    df = pd.DataFrame(
        {
            "lead_source": ["Web", "Partner"],
            "leads": [12_345, 7],
            "won_revenue": [1_234_567.8, -5.0],
            "conversion_rate": [0.1234, 0.5],
            "return_on_cost": [1.55, 2.0],
            "amount_missing": [3, 0],
            "win_rate_n": [1200, 3],
        }
    )
    html = styled(df).to_html()
    for text in (">12,345<", ">$1,234,568<", ">-$5<", ">12.3 %<", ">1.6<", ">3<", ">1,200<"):
        assert text in html, text
    assert ">$1.6<" not in html and ">$3<" not in html  # a ratio and a count of money are not money


def test_without_currency_money_keeps_separators():
    notebook_setup()
    assert notebook._fmt("open_pipeline_amount", np.float64(1234567.4)) == "1,234,567"
    assert notebook._fmt("open_pipeline_amount", None) == "–"


def test_user_text_is_escaped_in_cells_index_and_headers():
    evil = "<script>alert(1)</script>"
    df = pd.DataFrame({"company": [evil, "<img src=x onerror=alert(2)>"], evil: [1, 2]})
    html = styled(df).to_html() + styled(df.set_index("company")).to_html()
    assert "<script>" not in html and "<img" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3  # cell, header, index label


def test_table_cells_carry_no_ids_and_read_as_before(monkeypatch):
    """No id on a cell or header (no report table styles one), the cells' text as before (written out by
    hand); a dict's table too."""
    import re

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    notebook_setup()
    df = pd.DataFrame({"stage": ["Won", "Lost"], "count": [1200, 3]})
    html = styled(df).to_html()
    assert not re.search(r"<t[dh][^>]*\sid=", html) and re.search(r"<table id=\"T_", html)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert cells == ["Won", "1,200", "Lost", "3"]
    record("kpis", {"leads": 3, "win_rate": 0.5})
    assert not re.search(r"<td[^>]*\sid=", shown[0]["text/html"])


def test_record_escapes_dicts_and_tables(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    record("kpis", {"<b>x</b>": 1.0, "leads": 3})
    record("rows", pd.DataFrame({"name": ["<b>y</b>"]}))
    html = "".join(o["text/html"] for o in shown)
    assert "<b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html and "&lt;b&gt;y&lt;/b&gt;" in html
    assert shown[1][notebook.RECORD_MIME]["value"] == [{"name": "<b>y</b>"}]  # the values kept as they are


def test_setup_silences_library_warnings(dollars):
    with warnings.catch_warnings(record=True) as caught:
        notebook_setup(currency="$")  # inside catch_warnings: the filters it sets apply here
        np.mean(np.array([]))  # RuntimeWarning: Mean of empty slice
        warnings.warn("old", FutureWarning, stacklevel=1)
        warnings.warn("the figure may mislead", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["the figure may mislead"]


def test_open_report_loads_sets_up_and_says_what_it_shows(tiny_export, capsys):
    import funnel_analysis as fa
    from funnel_analysis.reporting import open_report

    crm = open_report(tiny_export, as_of="2024-03-31", currency="€")
    line = capsys.readouterr().out.strip()
    # the header names the source, the day and the fingerprint of what was loaded
    assert line.endswith(
        f"as of 2024-03-31; money in €; data fingerprint {fa.load_org(tiny_export).meta['fingerprint']}"
    )
    assert crm.as_of_date is None and len(crm.opportunities) == len(fa.load_org(tiny_export).opportunities)
    assert notebook._fmt("amount", 1234.0) == "€1,234"  # the currency reached the table format
    notebook_setup()
    open_report(tiny_export)  # no as_of: the latest date in the data
    assert capsys.readouterr().out.split(" as of ")[1][:10] == str(fa.crm.latest_date(crm).date())


def test_open_report_fails_on_a_missing_folder(tmp_path):
    from funnel_analysis.crm import DataLoadError
    from funnel_analysis.reporting import open_report

    with pytest.raises(DataLoadError, match="missing"):
        open_report(tmp_path / "missing")


def test_record_shows_a_result_dataclass(monkeypatch):
    from dataclasses import dataclass

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))

    @dataclass(frozen=True)
    class Result:
        leads: int
        rate: float
        table: pd.DataFrame

    record("result", Result(leads=3, rate=0.5, table=pd.DataFrame()))
    assert shown[0][notebook.RECORD_MIME] == {"name": "result", "value": {"leads": 3, "rate": 0.5}}


def test_forecast_intervals_are_money(dollars):
    # the bookings forecast's bounds carry the currency like the forecast itself; counts do not
    assert notebook._fmt("forecast_ci_low_80", 1234.5) == notebook._fmt("yhat_ci_high_95", 1234.5) == "$1,234"
    assert notebook._fmt("n_forecast", 3) == "3"


def test_record_shows_a_tables_note_under_it_escaped(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    table = pd.DataFrame({"status": ["New"]})
    table.attrs["note"] = "statuses from <LeadStatus.csv>"
    record("statuses", table)
    record("plain", pd.DataFrame({"status": ["New"]}))
    assert shown[0]["text/html"].endswith('<p class="note">statuses from &lt;LeadStatus.csv&gt;</p>')
    assert shown[0][notebook.RECORD_MIME]["note"] == "statuses from <LeadStatus.csv>"
    assert shown[0]["text/plain"].splitlines()[-1] == "statuses from <LeadStatus.csv>"
    assert "note" not in shown[1][notebook.RECORD_MIME] and 'class="note"' not in shown[1]["text/html"]


def test_a_table_shows_each_interval_beside_its_figure_and_hides_machinery(dollars):
    df = pd.DataFrame(
        {
            "stage_name": ["Prospecting", "Closed Won"],
            "sort_order": [1, 6],
            "is_won": [False, True],
            "win_rate": [0.2853, float("nan")],
            "win_rate_ci_low": [0.2706, float("nan")],
            "win_rate_ci_high": [0.3006, float("nan")],
            "roc_auc": [0.72345, 0.5],
        }
    )
    html = styled(df).to_html()
    assert ">28.5 % (27.1–30.1)<" in html and ">0.723<" in html and ">0.500<" in html
    assert ">Win rate<" in html and ">ROC-AUC<" in html and ">Stage name<" in html
    # hidden columns are left out of the page, not only styled away
    assert "Sort order" not in html and "Is won" not in html and "Win rate ci low" not in html
    assert df.columns.tolist()[3:5] == ["win_rate", "win_rate_ci_low"]  # the input is not changed


def test_tables_show_names_in_place_of_record_ids(tiny_crm):
    from funnel_analysis.crm.names import looks_like_record_id, record_names
    from funnel_analysis.reporting.notebook import use_record_names

    names = record_names(tiny_crm)
    ids = [i for i in names.index if looks_like_record_id(i)][:2]
    unknown = "00Q000000000999AAA"  # a lead the org does not have
    df = pd.DataFrame({"owner_id": ids + [unknown], "text": ["<b>", "a", "b"]})
    try:
        use_record_names(tiny_crm)
        html = styled(df).to_html()
        for i in ids:  # the name shows, the ID is the tooltip: never bare table text
            assert f'title="{i}">{names[i]}</span>' in html and f">{i}<" not in html
        assert f'title="{unknown}">(lead)</span>' in html
        assert ">Owner<" in html and "Owner ID" not in html  # the column says what it names
        assert "&lt;b&gt;" in html and "<b>" not in html
        use_record_names(tiny_crm, instance_url="https://acme.my.salesforce.com/")
        html = styled(df).to_html()
        assert f'<a href="https://acme.my.salesforce.com/{ids[0]}" title="{ids[0]}">{names[ids[0]]}</a>' in html
    finally:
        use_record_names(None)
    assert ids[0] in styled(df).to_html()  # without names the IDs show as they are


def test_a_table_looks_up_only_the_names_of_the_ids_it_shows(tiny_crm, monkeypatch):
    # a million-lead org: naming every record for a table of a few IDs was 28 s and 0.3 GiB of a kernel
    import funnel_analysis.crm.names as names_module
    from funnel_analysis.crm.names import looks_like_record_id, record_names
    from funnel_analysis.reporting.notebook import use_record_names

    names = record_names(tiny_crm)
    ids = [i for i in names.index if looks_like_record_id(i)][:3]
    asked = []
    real = names_module.names_of
    monkeypatch.setattr(names_module, "record_names", lambda crm: pytest.fail("the whole org was named"))
    monkeypatch.setattr(names_module, "names_of", lambda crm, *, ids: asked.append(list(ids)) or real(crm, ids=ids))
    try:
        use_record_names(tiny_crm)
        html = styled(pd.DataFrame({"owner_id": ids, "pair": [f"{ids[0]}  |  {ids[1]}", "x", "y"]})).to_html()
        again = styled(pd.DataFrame({"owner_id": ids[:1]})).to_html()
    finally:
        use_record_names(None)
    assert asked == [sorted(ids)]  # one search, for these IDs; the second table's ID was known
    for i in ids:
        assert f'title="{i}">{names[i]}</span>' in html
    assert f'title="{ids[0]}">{names[ids[0]]}</span>' in again


def test_owner_ids_are_named_from_the_owners_read_once(monkeypatch):
    import funnel_analysis.crm.names as names_module
    from funnel_analysis.crm import load_frames
    from funnel_analysis.reporting.notebook import use_record_names

    org = load_frames(
        {
            "User": pd.DataFrame({"Id": ["005000000000001AAA"], "Name": ["Ann Lee"]}),
            "Account": pd.DataFrame({"Id": ["001000000000001AAA"], "Name": ["Acme"]}),
        }
    )
    asked = []
    real = names_module.names_of
    monkeypatch.setattr(names_module, "names_of", lambda crm, *, ids: asked.append(list(ids)) or real(crm, ids=ids))
    try:
        use_record_names(org)
        owner = styled(pd.DataFrame({"owner_id": ["005000000000001AAA"]})).to_html()
        both = styled(
            pd.DataFrame({"owner_id": ["005000000000001AAA"], "account_id": ["001000000000001AAA"]})
        ).to_html()
    finally:
        use_record_names(None)
    assert 'title="005000000000001AAA">Ann Lee</span>' in owner and ">Owner<" in owner
    assert 'title="001000000000001AAA">Acme</span>' in both
    assert asked == [["001000000000001AAA"]]  # the owner from the owners, the account searched for


def test_a_name_column_that_repeats_the_named_ids_is_hidden_and_one_that_differs_stays(tiny_crm):
    from funnel_analysis.crm.names import record_names
    from funnel_analysis.reporting.notebook import use_record_names

    names = record_names(tiny_crm)
    deals = [i for i in names.index if str(i).startswith("006")][:2]
    assert len(deals) == 2
    same = pd.DataFrame({"opportunity_id": deals, "name": [names[d] for d in deals], "amount": [1.0, 2.0]})
    other = same.assign(name=["Renamed deal", names[deals[1]]])  # one row differs: a different fact
    try:
        use_record_names(tiny_crm)
        shown_same, shown_other = styled(same).to_html(), styled(other).to_html()
    finally:
        use_record_names(None)
    assert ">Opportunity<" in shown_same and ">Name<" not in shown_same  # the board: the deal's name once
    assert shown_same.count(f">{names[deals[0]]}<") == 1
    assert ">Name<" in shown_other and "Renamed deal" in shown_other


def test_ids_inside_text_show_by_name_too(tiny_crm):
    from funnel_analysis.crm.names import looks_like_record_id, record_names
    from funnel_analysis.reporting.notebook import use_record_names

    names = record_names(tiny_crm)
    a, b = [i for i in names.index if looks_like_record_id(i)][:2]
    try:
        use_record_names(tiny_crm)
        html = styled(pd.DataFrame({"pair": [f"{a}  |  {b}", f"x{a}"]})).to_html()
    finally:
        use_record_names(None)
    assert f'title="{a}">{names[a]}</span>  |  <span class="record-id" title="{b}">{names[b]}</span>' in html
    assert f"x{a}" in html  # part of a longer word: not an ID


def test_a_long_table_is_searchable_with_its_csv_beside_it(monkeypatch):
    import base64
    import io

    from funnel_analysis.reporting.notebook import LONG_TABLE_ROWS

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    n = LONG_TABLE_ROWS + 5
    df = pd.DataFrame({"company": ['=HYPERLINK("http://x")'] + [f"Co {i}" for i in range(n - 1)], "leads": range(n)})
    record("companies", df)
    page = shown[0]["text/html"]
    assert 'class="long-table"' in page and '<div class="long-table-box">' in page
    href = page.split('href="data:text/csv;charset=utf-8;base64,')[1].split('"')[0]
    back = pd.read_csv(io.StringIO(base64.b64decode(href).decode("utf-8")))
    assert len(back) == n and back["leads"].tolist() == list(range(n))  # every row, not the page's part
    assert back["company"].iloc[0] == '\'=HYPERLINK("http://x")'  # a spreadsheet will not run it
    assert 'download="companies.csv"' in page and f"Download all {n:,} rows as CSV" in page
    record("short", df.head(3))
    assert "long-table" not in shown[1]["text/html"] and "csv" not in shown[1]["text/html"]


def test_an_empty_section_says_so_in_one_line(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    record("stalled_deals", pd.DataFrame({"opportunity_id": pd.Series(dtype="str")}))
    assert shown[0]["text/html"] == (
        '<p class="empty-section">Nothing to show: stalled deals has no rows for this data and these parameters.</p>'
    )
    assert shown[0][notebook.RECORD_MIME]["value"] == []


def test_the_theme_is_seaborns_whitegrid_without_importing_it():
    import subprocess
    import sys

    import matplotlib as mpl
    import matplotlib.colors as mc
    import seaborn as sns

    from funnel_analysis.reporting.notebook import notebook_setup

    def colours(params):
        return [mc.to_hex(c["color"]) for c in params["axes.prop_cycle"]]

    with mpl.rc_context():
        notebook_setup()
        mine = dict(mpl.rcParams)
    with mpl.rc_context():
        sns.set_theme(style="whitegrid")
        mpl.rcParams.update({"figure.figsize": (9, 4.5), "figure.dpi": 100})
        theirs = dict(mpl.rcParams)
    assert colours(mine) == colours(theirs)
    differ = {k for k in theirs if k not in ("axes.prop_cycle", "image.cmap") and mine[k] != theirs[k]}
    assert differ == set()
    # and a report kernel's setup imports no seaborn
    code = "from funnel_analysis.reporting.notebook import notebook_setup; notebook_setup(); import sys; print('seaborn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_currency_parameter_does_not_stay_on_the_org_a_kernel_keeps(tiny_export, tmp_path, capsys):
    # the org a kernel loaded from a Parquet cache is kept for its next report (the values of a
    # for_each): a currency one run was given must not become the next run's
    import funnel_analysis as fa
    from funnel_analysis.reporting import open_report

    org = fa.load_org(tiny_export)
    assert org.report.currency.get("source") in (None, "assumed")  # the export does not name its currency
    cache = org.to_parquet(tmp_path / "cache")
    named = open_report(cache, currency="EUR")
    again = open_report(cache)
    assert named.currency == "EUR" and named.report.currency["source"] == "parameter"
    assert again.currency == org.currency != "EUR"
    assert notebook._LOADED and all(o.currency == org.currency for o in notebook._LOADED.values())
    assert capsys.readouterr().out.splitlines()[-1].split("; ")[1] == f"money in {org.currency}"
    notebook_setup()


def test_a_kernels_png_of_a_chart_is_drawn_once_with_the_same_bytes():
    """Where the inline backend's default PNG stands, the chart's PNG is tight_png's: the same base64 text."""
    pytest.importorskip("IPython")
    import base64
    import types
    from functools import partial

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from IPython.core.formatters import PNGFormatter
    from IPython.core.pylabtools import print_figure
    from matplotlib.figure import Figure

    png = PNGFormatter()
    shell = types.SimpleNamespace(display_formatter=types.SimpleNamespace(formatters={"image/png": png}))
    png.for_type(Figure, partial(print_figure, fmt="png", base64=True, bbox_inches="tight"))  # the inline default
    notebook._png_drawn_once(shell)
    assert png.lookup_by_type(Figure) is notebook._figure_png
    fig, ax = plt.subplots(layout="constrained")
    ax.bar(["Web", "Partner"], [3, 5])
    ax.set_title("Leads by source")
    try:
        want = print_figure(fig, "png", bbox_inches="tight", base64=True)
        assert png(fig) == want  # the formatter's output: base64 PNG, byte for byte the inline backend's
        assert base64.b64decode(want)[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        plt.close(fig)
    # another setting (retina, other savefig options) keeps its own formatter
    retina = partial(print_figure, fmt="png", base64=True, bbox_inches="tight", dpi=200)
    png.for_type(Figure, retina)
    notebook._png_drawn_once(shell)
    assert png.lookup_by_type(Figure) is retina


def test_record_writes_a_tables_html_as_the_styler_renders_it(small_sample, monkeypatch):
    """record writes its tables' HTML itself (notebook._table_html), the text of pandas' Styler.to_html without the
    indentation between tags (the table's random id aside): every table of the funnel report on a generated org,
    a dict's, an escaped, an empty-cell and a long one; pandas renders any other Styler (an index shown)."""
    import re

    from pandas.io.formats.style import Styler

    from funnel_analysis.crm import load_org
    from funnel_analysis.funnel import headline_series, report
    from funnel_analysis.project import OrgProfile, apply_profile

    crm = apply_profile(load_org(small_sample), profile=OrgProfile())  # as open_report: business_type too
    tables = {
        "kpis": report.kpis(crm, by="lead_source"),
        "kpis_by_business_type": report.kpis(crm, by="business_type"),
        "headline": headline_series(crm),
        "lead_funnel": report.lead_funnel(crm, by="lead_source"),
        "lead_conversion": report.lead_conversion(crm, by="lead_source"),
        "pipeline": report.snapshot_funnel(crm, by="lead_source"),
        "cohort_funnel": report.cohort_funnel(crm, by="lead_source"),
        "win_rates": report.win_rates(crm, by="lead_source", period="Q"),
        "bottlenecks": report.bottlenecks(crm, period="Q"),
        "figures": {"leads": 3, "win_rate": 0.5, "win_rate_n": 4, "<b>x</b>": 1.5},
        "escaped": pd.DataFrame(
            {
                "company": ["<script>x</script>", None, "A & B"],
                "when": pd.to_datetime(["2024-01-02", None, "2024-03-04"]),
            }
        ),
    }
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    to_html = Styler.to_html
    rendered = []
    monkeypatch.setattr(Styler, "to_html", lambda self, *a, **k: (rendered.append(self), to_html(self, *a, **k))[1])
    written = []
    direct = notebook._table_html
    monkeypatch.setattr(notebook, "_table_html", lambda sty: (written.append((sty, direct(sty))), written[-1][1])[1])
    uuid = re.compile(r'<table id="T_[0-9a-z]+"')
    notebook_setup(currency="USD")
    try:
        for name, table in tables.items():
            record(name, table)
        assert rendered == []  # every one written by record itself
        assert len(written) == len(tables)
        for (name, table), out, (sty, html) in zip(tables.items(), shown, written, strict=True):
            assert html == _compact(to_html(sty)), name  # the same tags and text, the same table id
            assert "<td" in html and html in out["text/html"] and "\n  " not in html, name
            if not isinstance(table, dict):  # as styled() shows it
                assert uuid.sub("<table", _compact(to_html(styled(table)))) == uuid.sub("<table", html), name
        assert "&lt;b&gt;x&lt;/b&gt;" in written[-2][1] and "&lt;script&gt;" in written[-1][1]
    finally:
        notebook_setup()
    indexed = styled(tables["kpis"].set_index("lead_source"))  # an index shown: pandas' own rendering
    assert notebook._table_html(indexed) == to_html(indexed)
    assert 'class="row_heading level0 row0"' in notebook._table_html(indexed)


def _compact(html_text: str) -> str:
    """``html_text`` without the newline and indentation pandas' template puts between a table's tags."""
    import re

    head, sep, table = html_text.partition("<table")
    return head + sep + re.sub(r">\n *<", "><", table)
