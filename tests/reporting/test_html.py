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


# ---- the page without nbconvert's BeautifulSoup pass -------------------------------------------------------


def _parsed(page: str) -> list:
    """Start tags (attributes by name, class as a set) and text, as html.parser reads them: the page a browser gets."""
    from html.parser import HTMLParser

    out = []

    class Reader(HTMLParser):
        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if "class" in attrs:
                attrs["class"] = " ".join(sorted((attrs["class"] or "").split()))
            out.append((tag, tuple(sorted(attrs.items()))))

        def handle_data(self, data):
            if data.strip():
                out.append(" ".join(data.split()))

    Reader(convert_charrefs=True).feed(page)
    return out


def test_accessible_adds_alt_and_tabindex_and_nothing_else():
    from funnel_analysis.reporting.html import _accessible

    page = (
        '<div class="jp-RenderedImage jp-OutputArea-output ">\n<img src="data:image/png;base64,AAAA"\nwidth=640\n'
        'class="\n"\n>\n</div><img src="data:image/png;base64,BB" alt="kept"><div class="jp-Cell-inputWrapper">'
        '<div class="other">x &amp; y</div></div>'
    )
    assert _accessible(page) == (
        '<div class="jp-RenderedImage jp-OutputArea-output " tabindex="0">\n<img src="data:image/png;base64,AAAA"'
        '\nwidth=640\nclass="\n" alt="No description has been provided for this image"\n>\n</div>'
        '<img src="data:image/png;base64,BB" alt="kept"><div class="jp-Cell-inputWrapper" tabindex="0">'
        '<div class="other">x &amp; y</div></div>'
    )


def test_accessible_leaves_tags_it_cannot_read_plainly():
    """What only looks like a tag inside a quoted value is never changed (an attribute added there could close the
    value and open the rest as markup); nor is a tag with a '>' in a value, nor a comment."""
    from funnel_analysis.reporting.html import _accessible

    odd = (
        '<div class="jp-OutputArea-output" title="1>2">t</div>'
        '<span title="<img src=x> <script>alert(1)</script>">u</span>'
        '<span title=\'" <div class="jp-OutputArea-output">\'>v</span>'
        "<!-- <img src=y> --><p data-x=\"<div class='jp-OutputArea-output'>\">w</p>"
    )
    assert _accessible(odd) == odd
    assert _accessible(odd + "<img src=z>") == odd + '<img src=z alt="No description has been provided for this image">'


def test_report_page_reads_as_nbconverts_own(tmp_path):
    """The page equals nbconvert's HTMLExporter with its soup pass, tag for tag and text for text, on a notebook
    with a chart, a table, markdown, an image without alt text and a hostile value."""
    import base64
    import io
    import json

    import jinja2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nbformat
    from nbconvert import HTMLExporter

    from funnel_analysis.reporting import html as page_html

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [1, 0])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    png = base64.b64encode(buf.getvalue()).decode()
    table = '<table><tr><th title="a>b">Name</th></tr><tr><td>&lt;script&gt;alert(1)&lt;/script&gt; &amp; co</td></tr></table>'
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Title\n\nSome *text* & an ![image](data:image/png;base64," + png + ")"),
            nbformat.v4.new_code_cell(
                "x",
                outputs=[
                    nbformat.v4.new_output("display_data", {"text/html": table, "text/plain": "t"}),
                    nbformat.v4.new_output("display_data", {"image/png": png, "text/plain": "<Figure>"}),
                    nbformat.v4.new_output("stream", name="stdout", text="printed <b>\n"),
                ],
            ),
        ]
    )
    ipynb = tmp_path / "r.ipynb"
    nbformat.write(nb, ipynb)
    manifest = {"report": "r", "as_of": "2025-01-01", "started_at": "2025-01-02T00:00:00+00:00", "status": "ok"}
    reference = HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"report.j2": page_html._TEMPLATE})],
        template_file="report.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        sanitize_html=True,
        embed_images=True,
        filters={"clean_html": page_html.clean_html},
    )
    # the same notebook as notebook_to_html gives its exporter: the run note inserted after the title
    again = page_html._exporter
    captured = {}

    def capture():
        exporter = again()

        class Spy:
            def from_notebook_node(self, node, resources):
                captured["nb"], captured["resources"] = json.loads(json.dumps(node)), resources
                return exporter.from_notebook_node(node, resources=resources)

        return Spy()

    page_html._exporter = capture
    try:
        ours = page_html.notebook_to_html(ipynb, tmp_path / "r.html", manifest | {"parameters": {"x": 1}})
    finally:
        page_html._exporter = again
    expected = reference.from_notebook_node(nbformat.from_dict(captured["nb"]), resources=captured["resources"])[0]
    got = ours.read_text(encoding="utf-8")
    assert _parsed(got) == _parsed(expected)
    assert got.count('alt="No description has been provided for this image"') == 1  # the chart (markdown has "image")
    assert "<script>alert" not in got and "&lt;script&gt;alert(1)" in got
