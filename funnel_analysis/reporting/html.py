"""An executed report notebook as one self-contained, code-free, sanitised HTML page.

- no code: inputs and prompts are left out (``exclude_input``), and so are stderr streams (stray
  warnings, progress bars), which stay in the ``.ipynb`` beside the page for whoever debugs it;
- self-contained: charts are PNG ``data:`` URIs, markdown images are embedded (``embed_images``),
  and the template drops the CDN scripts (require.js, MathJax, Mermaid) the reports do not use,
  so the page opens complete offline and as a mail attachment;
- safe: CRM data are user-entered (web-to-lead forms), so every HTML output and markdown cell is
  cleaned with bleach (``sanitize_html``) on top of the escaping done by
  :func:`funnel_analysis.reporting.notebook.styled`: no script, event handler or ``javascript:`` link
  survives, while the tables keep their formatting;
- dated: under the run note, how fresh the data are ("data as of ...", from the manifest's
  ``data_freshness``), in a warning style when they are stale (:func:`freshness_html`).
"""

from __future__ import annotations

import html
import re
import threading
from pathlib import Path

__all__ = ["notebook_to_html", "clean_html", "freshness_html", "FRESHNESS_CSS"]

#: The style of the "data as of" line; stale data in a warning style (the index page uses it too).
FRESHNESS_CSS = (
    ".data-as-of{margin:.4em 0;padding:.35em .8em;border-left:4px solid #9ab;background:#f4f7f9}"
    ".data-as-of.data-stale{border-left-color:#d39e00;background:#fff3cd;color:#5c4300}"
)

#: The style of long tables: a scroll box, a search field, sortable headers, the CSV link.
TABLE_CSS = (
    ".long-table-box{max-height:32em;overflow:auto;margin:.3em 0}"
    "table.long-table th.sortable{cursor:pointer}table.long-table th.sortable:after{content:' \\2195';color:#aaa}"
    ".table-search{margin:.4em 0;padding:.25em .5em;min-width:18em}a.csv-download{font-size:.85em;margin-left:.8em}"
)

#: Long tables made searchable and sortable in the page: this project's own few lines, inline (no CDN,
#: nothing fetched), in the template, never in a cell's output (outputs are sanitised of every script).
TABLE_JS = """
(function () {
  function key(cell) {
    var s = cell ? cell.textContent.trim() : "";
    if (/^\\d{4}-\\d{2}-\\d{2}/.test(s)) { return [1, s]; }
    // a number only when the cell starts with one, after a currency symbol or code and a sign
    var m = s.replace(/,/g, "").match(/^(-)?(?:[A-Z]{3} |[^\\w\\s-]{1,2})?(\\d+(?:\\.\\d+)?)/);
    return m ? [0, parseFloat(m[2]) * (m[1] ? -1 : 1)] : [2, s.toLowerCase()];
  }
  function compare(a, b) {
    if (a[0] !== b[0]) { return a[0] - b[0]; }
    return a[1] < b[1] ? -1 : (a[1] > b[1] ? 1 : 0);
  }
  document.querySelectorAll("table.long-table").forEach(function (table) {
    var body = table.tBodies[0];
    if (!body) { return; }
    var search = document.createElement("input");
    search.type = "search";
    search.className = "table-search";
    search.placeholder = "Search this table";
    search.setAttribute("aria-label", "Search this table");
    var box = table.closest(".long-table-box") || table;
    box.parentNode.insertBefore(search, box);
    search.addEventListener("input", function () {
      var q = search.value.toLowerCase();
      Array.prototype.forEach.call(body.rows, function (row) {
        row.style.display = row.textContent.toLowerCase().indexOf(q) >= 0 ? "" : "none";
      });
    });
    var head = table.tHead ? table.tHead.rows[table.tHead.rows.length - 1] : null;
    if (!head) { return; }
    Array.prototype.forEach.call(head.cells, function (th, i) {
      th.classList.add("sortable");
      th.title = "Sort by this column";
      th.addEventListener("click", function () {
        var up = th.getAttribute("data-order") !== "up";
        th.setAttribute("data-order", up ? "up" : "down");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) { return compare(key(a.cells[i]), key(b.cells[i])) * (up ? 1 : -1); });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();
"""

# the lab template without its CDN scripts: the HTML then opens complete offline
_TEMPLATE = (
    """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}<style>"""
    + FRESHNESS_CSS
    + TABLE_CSS
    + """</style>{% endblock extra_css %}
{% block body_footer %}{{ super() }}<script>"""
    + TABLE_JS
    + """</script>{% endblock body_footer %}
"""
)

_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "small",
    "span",
    "strong",
    "style",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
_ATTRIBUTES = {
    "*": ["class", "id", "title", "colspan", "rowspan", "align"],
    "a": ["href", "title", "download"],
    "img": ["src", "alt", "width", "height"],
    "style": ["type"],
}


def clean_html(element) -> str:
    """``element`` with only harmless tags and attributes; images only from ``data:`` URIs.

    ``<style>`` is kept: pandas Styler tables need it, and CSS cannot run script in a current
    browser; everything else that can (``<script>``, ``on*=`` handlers, ``javascript:`` URLs,
    ``<iframe>``, ``<object>``, SVG) is escaped to visible text or dropped.

    Parameters
    ----------
    element : str, bytes or object
        The HTML to clean: text, UTF-8 bytes, or anything whose ``str()`` is HTML (nbconvert
        passes output data and rendered markdown through it as a template filter).

    Returns
    -------
    str
        The cleaned HTML: allowed tags keep their allowed attributes (``class``, ``id``,
        ``title``, ``colspan``, ``rowspan``, ``align``; ``href`` on links; ``src`` only as a
        ``data:image/`` URI on images), other tags are escaped, comments dropped.
    """
    import bleach

    text = element.decode() if isinstance(element, bytes) else str(element)

    def attribute_ok(tag, name, value):
        if name == "src":  # nothing fetched from elsewhere: an image is embedded or not shown
            return tag == "img" and value.startswith("data:image/")
        if name == "href" and value.strip().lower().startswith("data:"):  # a table's CSV, nothing else
            return tag == "a" and value.startswith("data:text/csv;")
        return name in _ATTRIBUTES.get(tag, []) or name in _ATTRIBUTES["*"]

    # bleach warns when <style> is allowed without a CSS sanitizer for style= attributes; no
    # style= attribute is allowed here, so that warning does not apply
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bleach.clean(
            text,
            tags=_TAGS,
            attributes=attribute_ok,
            protocols={"http", "https", "mailto", "data"},
            strip_comments=True,
        )


def _when(iso: str) -> str:
    """``2024-02-12T11:20:45Z`` as ``2024-02-12 11:20 UTC``."""
    return f"{iso[:10]} {iso[11:16]} UTC" if len(iso) >= 16 else iso


def _age(days: float) -> str:
    if days < 0:
        return "after this run's time"
    if days < 2:
        hours = round(days * 24)
        return f"{hours} hour{'s' * (hours != 1)} before this run"
    return f"{days:.0f} days before this run"


def freshness_html(freshness) -> str:
    """The "data as of" line of a report page: when its data are from, how old they were at the run.

    Parameters
    ----------
    freshness : Mapping or None
        A run manifest's ``data_freshness`` (:mod:`funnel_analysis.reporting.runner`): ``as_of``
        (ISO, UTC), ``as_of_from`` (``"pull"`` or ``"extract_time"``), ``extract_time``,
        ``extract_field``, ``age_days``, ``stale_after_days``, ``stale``, ``pull``,
        ``pull_error``. None (a report without data, or a run recorded before freshness was):
        no line.

    Returns
    -------
    str
        One ``<p class="data-as-of">`` (``data-as-of data-stale`` when stale), every value
        HTML-escaped; empty for None.

    Raises
    ------
    KeyError
        When ``freshness`` lacks ``as_of`` or ``stale``.

    Examples
    --------
    >>> line = freshness_html({"as_of": "2024-02-12T11:20:45Z", "as_of_from": "extract_time",
    ...     "extract_time": "2024-02-12T11:20:45Z", "extract_field": "opportunities.system_modstamp",
    ...     "age_days": 21.0, "stale_after_days": 7.0, "stale": True, "pull": None, "pull_error": None})
    >>> "data-stale" in line and "Data as of <strong>2024-02-12 11:20 UTC</strong>" in line
    True
    >>> "21 days before this run" in line and "older than 7 days" in line
    True
    """
    if not freshness:
        return ""
    e = html.escape
    stale = bool(freshness["stale"])
    if freshness["as_of"] is None:
        text = "Data as of <strong>unknown</strong>: the data carry no timestamp or could not be read"
    else:
        origin = (
            "the last <code>funnel pull</code>"
            if freshness.get("as_of_from") == "pull"
            else "the latest change in the data"
            + (f", <code>{e(str(freshness['extract_field']))}</code>" if freshness.get("extract_field") else "")
        )
        text = f"Data as of <strong>{e(_when(str(freshness['as_of'])))}</strong> ({origin})"
        age = freshness.get("age_days")
        if isinstance(age, (int, float)):
            text += f", {e(_age(float(age)))}"
        if freshness.get("as_of_from") == "pull" and freshness.get("extract_time"):
            text += f"; latest change in the data {e(_when(str(freshness['extract_time'])))}"
    reasons = []
    limit = freshness.get("stale_after_days")
    if stale and isinstance(freshness.get("age_days"), (int, float)) and isinstance(limit, (int, float)):
        if freshness["age_days"] > limit:
            reasons.append(f"older than {limit:g} days")
    if freshness.get("pull") == "failed":
        reasons.append(f"the pull before this run failed ({e(str(freshness.get('pull_error')))})")
    if stale:
        text = "<strong>Stale data.</strong> " + text + (f": {'; '.join(reasons)}" if reasons else "")
    return f'<p class="data-as-of{" data-stale" if stale else ""}">{text}.</p>'


def _without_stderr(nb) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]


#: The page read left to right, one markup item at a time: a comment or declaration, an ``img`` or ``div`` start
#: tag whose attributes are all plain (double-quoted values without ``"<>``, or bare words; the tags
#: :func:`_accessible` may add an attribute to), or any other tag, its quoted values read whole.
_MARKUP = re.compile(
    r"<!--.*?-->|<![^>]*>"
    r"|<(img|div)((?:\s+[A-Za-z][A-Za-z0-9_:.-]*(?:=\"[^\"<>]*\"|=[^\s\"'<>=`]+)?)*)(\s*/?)>"
    r"|</?[A-Za-z][^\"'<>]*(?:(?:\"[^\"]*\"|'[^']*')[^\"'<>]*)*>",
    re.DOTALL,
)
_CLASS = re.compile(r'\sclass="([^"]*)"')
_NO_ALT = "No description has been provided for this image"
_FOCUSABLE = {"jp-Cell-inputWrapper", "jp-OutputArea-output"}


def _accessible(page: str) -> str:
    """``page`` with the accessibility attributes nbconvert's HTML exporter adds with a BeautifulSoup pass.

    That pass (an alt text on every image without one, ``tabindex="0"`` on every input and output
    area) parsed and rewrote the whole page, a third of the page's CPU; this adds the same two
    attributes to the same tags, at the end of each tag, and changes nothing else. The page is read
    left to right one tag at a time (:data:`_MARKUP`), every quoted value read whole, so text that only
    looks like a tag inside a value is never one it changes; a tag whose attributes are not all plain
    is left as it is.
    """

    def add(m: re.Match) -> str:
        tag, attrs, end = m.group(1), m.group(2), m.group(3)
        if tag is None:  # a comment, a declaration or another tag: as it is
            return m.group(0)
        names = {a.split("=", 1)[0].lower() for a in attrs.split()}  # a rough split: only names are read
        if tag == "img":
            if re.search(r"\salt(?:=|\s|$)", attrs):
                return m.group(0)
            return f'<img{attrs} alt="{_NO_ALT}"{end}>'
        found = _CLASS.search(attrs)
        if "tabindex" in names or not found or not _FOCUSABLE & set(found.group(1).split()):
            return m.group(0)
        return f'<div{attrs} tabindex="0"{end}>'

    return _MARKUP.sub(add, page)


def _page_exporter_class():
    """nbconvert's HTML exporter without its closing BeautifulSoup pass (:func:`_accessible` instead)."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class PageExporter(HTMLExporter):
        """``HTMLExporter.from_notebook_node`` of nbconvert 7, its soup pass replaced (the rest as it is)."""

        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight_code = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
            resources = self._init_resources(resources)
            filter_data_type = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            )
            self.register_filter("highlight_code", highlight_code)
            self.register_filter("filter_data_type", filter_data_type)
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return _accessible(page), resources

    return PageExporter


#: Each thread's page exporter (the runner converts pages in its worker threads; an exporter is not thread-safe).
_EXPORTERS = threading.local()


def _exporter():
    """This thread's nbconvert exporter of report pages, made on first use.

    Made once and reused, so that its templates are read and compiled once per process, not once per page
    (a for_each converts one page per value).
    """
    exporter = getattr(_EXPORTERS, "page", None)
    if exporter is None:
        import jinja2

        exporter = _EXPORTERS.page = _page_exporter_class()(
            template_name="lab",
            extra_loaders=[jinja2.DictLoader({"report.j2": _TEMPLATE})],
            template_file="report.j2",
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            sanitize_html=True,
            embed_images=True,
            filters={"clean_html": clean_html},
        )
    return exporter


def notebook_to_html(ipynb, out, manifest: dict) -> Path:
    """Write the report page of executed notebook ``ipynb`` to ``out``, with a run note from ``manifest``.

    The note (when the report ran, its status and parameters, then how fresh its data are) is
    inserted after the first cell when that is markdown (the report's title), else first.

    Parameters
    ----------
    ipynb : path-like
        The executed notebook.
    out : path-like
        The HTML file to write; replaced if it exists.
    manifest : dict
        The run's manifest: ``report``, ``as_of``, ``started_at``, ``status``, ``parameters``
        (those not empty are shown) and optionally ``relative_parameters`` (``{name: token}``)
        and ``data_freshness`` (shown as the "data as of" line, :func:`freshness_html`).

    Returns
    -------
    pathlib.Path
        ``out``: one self-contained page, without code, stderr or prompts, sanitised.
    """
    import nbformat

    nb = nbformat.read(str(ipynb), as_version=4)
    _without_stderr(nb)
    # the code, injected parameters included, is hidden: say what the report was run on
    shown = ", ".join(
        f"<code>{html.escape(str(k))}</code> = <code>{html.escape(str(v))}</code>"
        for k, v in manifest["parameters"].items()
        if v not in ("", None)
    )
    relative = manifest.get("relative_parameters") or {}
    if relative:
        shown += (
            " (" + ", ".join(f"{html.escape(k)} from <code>{html.escape(v)}</code>" for k, v in relative.items()) + ")"
        )
    note = (
        f"<p><em>Run {html.escape(str(manifest['started_at']))}, status <strong>"
        f"{html.escape(str(manifest['status']))}</strong>, parameters: {shown}</em></p>"
    ) + freshness_html(manifest.get("data_freshness"))
    nb.cells.insert(int(bool(nb.cells) and nb.cells[0].cell_type == "markdown"), nbformat.v4.new_markdown_cell(note))
    meta = {"metadata": {"name": f"{manifest['report']} {manifest['as_of']}", "path": str(Path(ipynb).parent)}}
    body = _exporter().from_notebook_node(nb, resources=meta)[0]
    out = Path(out)
    with open(out, "w", encoding="utf-8") as f:
        f.write(body)
        f.flush()
    return out
