"""Helpers the report notebooks share: formatting, and values kept for machines.

:func:`record` shows a table in the HTML report and keeps its values in the executed
notebook under :data:`RECORD_MIME`, where :func:`read_records` finds them: the tests
compare those values with an independent computation.

>>> _fmt("win_rate", 0.4567)
'45.7 %'
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .._util.missing import missing_reason
from .._util.money import currency_symbol
from .format import INTERNAL_COLUMNS, column_label, figure_kind, format_figure, format_interval, headline_table

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

    from ..crm import CrmData

__all__ = [
    "RECORD_MIME",
    "THEME",
    "open_report",
    "notebook_setup",
    "use_record_names",
    "styled",
    "record",
    "read_records",
    "csv_link",
]

#: Mimetype of the values a notebook records for machines; the HTML report shows the table instead.
RECORD_MIME = "application/vnd.funnel-analysis.record+json"


#: Currency symbol put before money columns by :func:`styled` and :func:`record` (set by notebook_setup).
_CURRENCY = {"symbol": ""}
#: Record ID -> name, and the org's address for links: what :func:`styled` shows in place of IDs
#: (set by :func:`use_record_names`, which :func:`open_report` calls).
_RECORDS: dict = {"names": {}, "instance_url": "", "crm": None, "of": None}  # names built on first use, from "crm"


class _RecordNames:
    """ID -> name of one org, looked up for the IDs that tables show and kept (:func:`~funnel_analysis.crm.names.names_of`).

    Never a dictionary of the whole org: naming every record of a million-lead org was 9.6 s CPU and
    0.8 GiB of a report kernel, for tables that show a few hundred IDs. ``bool()`` says whether the
    org has records to name: named owners, or rows of a table whose records have names.
    """

    def __init__(self, crm: CrmData):
        self._crm = crm
        self._known: dict[str, str] = {}
        self._asked: set[str] = set()
        self._any: bool | None = None
        self._owners: dict | None = None

    def learn(self, ids) -> None:
        """Look up the names of ``ids`` not asked for before, in one search per named table."""
        from ..crm.names import names_of

        new = [i for i in dict.fromkeys(ids) if isinstance(i, str) and i not in self._asked]
        if not new:
            return
        owners = self._owner_names()
        self._known.update({i: owners[i] for i in new if i in owners})  # owners come first, as in record_names
        rest = [i for i in new if i not in owners]
        if rest:
            self._known.update(names_of(self._crm, ids=rest).to_dict())
        self._asked.update(new)

    def _owner_names(self) -> dict:
        """The owners' names (a few hundred): most IDs a table shows, read once per org."""
        if self._owners is None:
            from ..crm.sections import owners

            people = owners(self._crm).dropna(subset=["name"])
            people = people[~people["owner_id"].astype("str").duplicated()]
            self._owners = dict(zip(people["owner_id"].astype("str"), people["name"].astype("str"), strict=True))
        return self._owners

    def get(self, record_id):
        """The name of ``record_id``, or None when the org has none."""
        if isinstance(record_id, str) and record_id not in self._asked:
            self.learn([record_id])
        return self._known.get(record_id)

    def __bool__(self) -> bool:
        if self._any is None:
            from ..crm.names import NAMED_TABLES

            crm = self._crm
            held = [crm.tables.get(t) for t in NAMED_TABLES]
            self._any = (
                bool(self._owner_names())
                or any(t is not None and len(t) for t in held)
                or any(t in crm.meta.get("engine_only", ()) and crm.has(t) for t in NAMED_TABLES)
            )
        return self._any


def _names() -> _RecordNames | dict:
    """ID -> name of the org :func:`use_record_names` was given (an empty dict: none given)."""
    if _RECORDS["names"] is None:
        crm, _RECORDS["crm"] = _RECORDS["crm"], None
        _RECORDS["names"] = _RecordNames(crm) if crm is not None else {}
    return _RECORDS["names"]


def _learn_names(df: pd.DataFrame) -> None:
    """Look up at once the names of every record ID in ``df``'s text cells and index (a table about to be shown)."""
    names = _names()
    if not isinstance(names, _RecordNames):
        return
    from ..crm.names import looks_like_record_id

    ids = set()
    for values in [*(df.iloc[:, i] for i in range(df.shape[1])), df.index.to_series()]:
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        for v in pd.unique(values.dropna().astype("str")):
            ids.update(t for t in _ID_TOKEN.findall(v) if looks_like_record_id(t))
    names.learn(sorted(ids))


def notebook_setup(currency: str = "") -> None:
    """The figure size, theme, money format and quiet output every report notebook shares.

    Library warnings (deprecations, numeric ``RuntimeWarning`` on empty slices) are silenced: a
    report is read by people who cannot act on them. (The package's progress bars are off unless
    asked for.) Whatever still reaches stderr stays in the executed notebook; the HTML report
    leaves it out.

    Parameters
    ----------
    currency : str
        ISO code (``"EUR"``) or symbol (``"€"``) put before money columns in tables; empty for none.
    """
    import warnings

    import matplotlib as mpl

    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning, RuntimeWarning):
        warnings.filterwarnings("ignore", category=category)
    _CURRENCY["symbol"] = currency_symbol(currency)
    mpl.rcParams.update(THEME)
    mpl.rcParams.update({"figure.figsize": (9, 4.5), "figure.dpi": 100})
    _show_figures_before_redraw()


def _show_figures_before_redraw() -> None:
    """In a Jupyter kernel, show (and close) a cell's charts before pyplot redraws them.

    With the inline backend matplotlib is interactive, and pyplot's post-execute hook draws every
    open figure at the end of each cell; the backend's own hook, registered after it, then draws
    each again for its PNG. Showing the figures first (the backend's own ``flush_figures``) leaves
    pyplot's hook nothing to draw: the same images, one draw fewer per chart. Nothing happens outside
    IPython, with another backend, or when already set up (a kernel that runs several reports).
    """
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or _flush_inline_figures in shell.events.callbacks.get("post_execute", []):
        return
    callbacks = shell.events.callbacks.setdefault("post_execute", [])
    # before pyplot's redraw and the backend's flush, which register when the first figure picks the backend
    late = ("_draw_all_if_interactive", "flush_figures")
    at = next((i for i, f in enumerate(callbacks) if getattr(f, "__name__", "") in late), len(callbacks))
    callbacks.insert(at, _flush_inline_figures)


def _flush_inline_figures() -> None:
    """The inline backend's ``flush_figures``, when that backend shows this kernel's figures (each drawn once)."""
    import sys

    inline = sys.modules.get("matplotlib_inline.backend_inline")
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if inline is not None and shell is not None and inline.flush_figures in shell.events.callbacks["post_execute"]:
        _png_drawn_once(shell)
        inline.flush_figures()


def _png_drawn_once(shell) -> None:
    """Make the shell's PNG of a figure :func:`~funnel_analysis._util.plotting.tight_png` (one draw, same bytes).

    Only where the inline backend's default stands (PNG, ``bbox_inches="tight"``, nothing else): other
    settings keep their own formatter. Set again before each flush, since selecting the backend resets it.
    """
    from functools import partial

    from IPython.core import pylabtools
    from matplotlib.figure import Figure

    png = shell.display_formatter.formatters["image/png"]
    current = png.lookup_by_type(Figure) if Figure in png.type_printers else None
    default = {"fmt": "png", "base64": True, "bbox_inches": "tight"}
    if isinstance(current, partial) and current.func is pylabtools.print_figure and current.keywords == default:
        png.for_type(Figure, _figure_png)


def _figure_png(fig) -> str | None:
    """A figure's PNG, base64, as the inline backend's formatter gives it, drawn once where the canvas allows."""
    import binascii

    from IPython.core.pylabtools import print_figure

    from .._util.plotting import tight_png

    data = tight_png(fig)
    if data is None:  # no axes (IPython shows nothing), or not an Agg canvas: IPython's own
        return print_figure(fig, "png", bbox_inches="tight", base64=True)
    return binascii.b2a_base64(data, newline=False).decode("ascii")


#: seaborn's ``set_theme(style="whitegrid")`` (its "deep" colours, the notebook context), written out, so a
#: report kernel does not import seaborn (and scipy.stats with it) for a theme; its default image colour map
#: (``rocket``, registered by seaborn) is left at matplotlib's. tests/reporting/test_notebook.py compares.
THEME = {
    "axes.axisbelow": True,
    "axes.edgecolor": ".8",
    "axes.grid": True,
    "axes.labelcolor": ".15",
    "axes.labelsize": 12.0,
    "axes.linewidth": 1.25,
    "axes.prop_cycle": None,  # set below: a cycler
    "axes.titlesize": 12.0,
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans", "sans-serif"],
    "font.size": 12.0,
    "grid.color": ".8",
    "grid.linewidth": 1.0,
    "legend.fontsize": 11.0,
    "legend.title_fontsize": 12.0,
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    "text.color": ".15",
    "xtick.bottom": False,
    "xtick.color": ".15",
    "xtick.labelsize": 11.0,
    "xtick.major.size": 6.0,
    "xtick.major.width": 1.25,
    "xtick.minor.size": 4.0,
    "xtick.minor.width": 1.0,
    "ytick.color": ".15",
    "ytick.labelsize": 11.0,
    "ytick.left": False,
    "ytick.major.size": 6.0,
    "ytick.major.width": 1.25,
    "ytick.minor.size": 4.0,
    "ytick.minor.width": 1.0,
}
_DEEP = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd")


def _theme_cycle():
    from cycler import cycler

    return cycler(color=list(_DEEP))


THEME["axes.prop_cycle"] = _theme_cycle()


def open_report(
    data_dir,
    *,
    mapping: str = "",
    as_of: str = "",
    currency: str = "",
    profile: str = "",
    where: str = "",
    engine: str = "",
    engine_only: bool | None = None,
) -> CrmData:
    """Open the org a report notebook reads: load it, set up the notebook, say what it shows.

    The one call every report notebook starts with, in place of the preamble each repeated: load
    the export (or Parquet cache) with its mapping, set the figure theme, the money format and the
    quiet output (:func:`notebook_setup`), and print one line naming the source, the report's date
    and the data fingerprint, so a reader of the HTML knows what the figures stand on.

    Parameters
    ----------
    data_dir : str or Path
        The CRM export folder or Parquet cache (relative paths are relative to the notebook), or a
        database URL where Fivetran or Airbyte synced the org (``postgresql://user@host/db``; the
        profile's ``source:`` and ``schema:``, else detected; the password from ``PGPASSWORD``).
    mapping : str
        A mapping file or built-in mapping name for a non-Salesforce export; empty for none.
    as_of : str
        ``YYYY-MM-DD``, the day the report is dated; empty for the latest date in the data. Only
        printed here: the sections cut the org themselves, with the same ``as_of``.
    currency : str
        The ISO code of the money's currency, for an export that does not say (no ``CurrencyType``,
        no ``CurrencyIsoCode``); empty for the org's corporate currency (:attr:`CrmData.currency`).
        An org that names its currency keeps it: money is never relabelled.
    profile : str
        The org profile (``profile.yaml``, :func:`funnel_analysis.project.load_profile`): its
        ``business_types:`` say which opportunity types are new business, renewal or expansion, its
        ``stages:`` / ``lead_statuses:`` correct the org's tables (:func:`funnel_analysis.project.apply_profile`,
        each override printed in one line); empty for Salesforce's standard ``Type`` values.
    where : str
        A filter for the whole org (:meth:`CrmData.where`, the rules of :mod:`funnel_analysis.crm.scope`):
        the org returned holds only the records it selects and their children, and one line says
        how many leads and deals that is (and what the filter could not reach). Empty: the whole org.
    engine : str
        Where the reductions that have an engine path run (:mod:`funnel_analysis.engine`):
        ``duckdb``, ``spark`` or ``pandas`` (the reference). Empty: the environment's
        ``FUNNEL_ENGINE`` (``funnel report run --engine`` sets it for its kernels), else the
        profile's ``engine:``, else pandas. The org returned carries the engine, and one line says so.
    engine_only : bool, optional
        Build the org's tables in the engine (DuckDB unless ``engine`` says otherwise) and keep none
        in pandas but the small reference tables (``load_org(..., engine_only=True)``): a Parquet
        cache (the runner's) is read in place, an export folder checked and built in SQL. For an
        org larger than the kernel's memory; a section without an engine path then stops with one
        line. None: the environment's ``FUNNEL_ENGINE_ONLY`` (``1``/``true``), else False.

    Returns
    -------
    CrmData
        The org (scoped by ``where``), not cut: each section cuts it as of its own day (cuts are
        memoised). Its opportunities carry ``business_type`` (``new_business``, ``renewal``,
        ``expansion``, ``other``).

    Raises
    ------
    DataLoadError
        When the export cannot be read (the message names the file, column and rule).

    Examples
    --------
    >>> crm = open_report("data/sample", as_of="2025-06-30")  # doctest: +SKIP
    data/sample as of 2025-06-30; money in USD; data fingerprint 3f2a...
    """
    from ..crm import extract_time, load_org, resolve_as_of
    from ..crm.warehouse import is_database_url
    from ..project import OrgProfile, apply_profile, load_profile

    org_profile = load_profile(profile) if profile else OrgProfile()
    # a database URL: read with the profile's source and schema (else detected); the password from the environment
    options = (
        {"source": org_profile.source or None, "schema": org_profile.schema or None}
        if is_database_url(str(data_dir))
        else {}
    )
    chosen = (str(engine or "").strip() or os.environ.get("FUNNEL_ENGINE", "").strip() or org_profile.engine).lower()
    if engine_only is None:
        engine_only = os.environ.get("FUNNEL_ENGINE_ONLY", "").strip().lower() in ("1", "true", "yes")
    if engine_only:  # the tables in the engine, none in pandas: the kernel stays small
        chosen = chosen if chosen and chosen != "pandas" else "duckdb"
        crm = _load_engine_only(data_dir, mapping, options, chosen, load_org)
    else:
        crm = _load(data_dir, mapping, options, load_org)
    crm = _profiled(crm, profile, org_profile, apply_profile)
    use_record_names(crm, instance_url=org_profile.instance_url)  # tables show names, IDs as links
    if engine_only:
        crm = _for_one_report(crm)
    for line in crm.meta.get("profile_overrides", []):
        print(f"profile: {line}")
    named = crm.report.currency.get("source") not in (None, "assumed")
    if currency and not named:  # the export does not say: the parameter does
        crm = _with_currency(crm, currency)
    elif currency and str(currency).strip().upper() != crm.currency:
        print(f"currency={currency!r} ignored: the org's corporate currency is {crm.currency}")
    notebook_setup(currency=crm.currency)
    if where and str(where).strip():
        crm = crm.where(where)
        scope = crm.meta["scope"]
        rows = scope["rows"]
        print(
            f"where {scope['where']}: {rows.get('leads', 0):,} leads, {rows.get('opportunities', 0):,} deals, "
            f"{rows.get('accounts', 0):,} accounts"
        )
        for note in scope["notes"]:
            print(f"where: {note}")
    if engine_only:
        print(f"engine: {chosen}, engine-only (the tables in the engine; the sections without an engine path stop)")
    elif chosen and chosen != "pandas":
        crm = _on_engine(crm, chosen)
    if as_of is None or not str(as_of).strip():
        when = extract_time(crm)
        line = f"as of {when.report_date:%Y-%m-%d} (the extract time: {when.describe()})"
    else:
        line = f"as of {resolve_as_of(crm, as_of=as_of):%Y-%m-%d}"
    print(f"{crm.meta['source']} {line}; money in {crm.currency}; data fingerprint {crm.meta['fingerprint']}")
    return crm


def _on_engine(crm: CrmData, engine: str) -> CrmData:
    """``crm`` with its tables registered in ``engine`` (a new org object: the kernel's kept one stays as it was)."""
    from ..engine import ENGINES
    from ..engine.attach import attach_engine

    if engine not in ENGINES:
        raise ValueError(f"open_report: engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    crm = dataclasses.replace(crm)  # the engine is attached to this object only (engine.attach)
    attach_engine(crm, engine=engine)
    print(f"engine: {engine} (the figures with an engine path are reduced there; the others on pandas)")
    return crm


def _with_currency(crm: CrmData, currency: str) -> CrmData:
    """``crm`` with its corporate currency named by a report parameter, as a new org.

    The org and its data-quality report are copied, never changed: a kernel keeps the org it loaded for
    the next report it runs (:data:`_LOADED`), and a currency one run was given must not become the
    next run's.

    Parameters
    ----------
    crm : CrmData
        The org (not modified).
    currency : str
        The ISO code of the money's currency (``"eur"`` reads as ``"EUR"``).

    Returns
    -------
    CrmData
        The same tables, with ``report.currency`` saying ``corporate`` is ``currency`` and ``source``
        ``"parameter"``.

    Examples
    --------
    >>> from funnel_analysis.crm import CrmData, DataQualityReport
    >>> org = CrmData(tables={}, quarantine=None, flags=None, quarantined_rows={}, report=DataQualityReport())
    >>> _with_currency(org, "eur").currency, org.currency
    ('EUR', 'USD')
    """
    code = str(currency).strip().upper()
    report = dataclasses.replace(crm.report, currency={**crm.report.currency, "corporate": code, "source": "parameter"})
    return dataclasses.replace(crm, report=report)


#: The org a kernel loaded from a Parquet cache, kept for the next report run in the same kernel (the values
#: of a for_each): a cache is named by its data's fingerprint and checked when read, so it never changes.
_LOADED: dict = {}


def _load_engine_only(data_dir, mapping: str, options: dict, engine: str, load_org) -> CrmData:
    """``load_org(data_dir, engine=engine, engine_only=True)``, reusing this kernel's last such load."""
    if mapping or options:
        raise ValueError(
            "open_report: engine_only reads a Salesforce export folder or a Parquet cache, not a mapping or a database"
        )
    folder = Path(str(data_dir))
    key = ("engine_only", str(folder.resolve()), engine)
    if key not in _LOADED:
        _LOADED.clear()  # one org at a time
        _LOADED[key] = crm = load_org(data_dir, engine=engine, engine_only=True)
        if folder.resolve().parent.name == ".cache":  # the runner's cache: the dedup results are kept beside it
            crm.meta["dedup_cache"] = str(folder.resolve().parent / "dedup")
    return _LOADED[key]


def _for_one_report(crm: CrmData) -> CrmData:
    """A new org object sharing the kernel's kept engine-only org, its small tables and its engine.

    The tables a report's pandas paths read from the Parquet cache (``CrmData._from_cache``) are kept
    on the org that read them: on this one, which goes with the report (``%reset`` between reports),
    not on the kernel's kept org, which would hold every report's tables by the end of the run.
    """
    from ..engine.attach import attach, engine_of

    org = engine_of(crm)
    if org is None:
        return crm
    engine_only = set(crm.meta.get("engine_only", ()))
    out = dataclasses.replace(crm, tables={t: df for t, df in crm.tables.items() if t not in engine_only})
    attach(out, org=org)
    return out


def _load(data_dir, mapping: str, options: dict, load_org) -> CrmData:
    """``load_org``, reusing this kernel's last load of the same Parquet cache."""
    folder = Path(str(data_dir))
    if options or not (folder / "crm.json").is_file():
        return load_org(data_dir, mapping=mapping or None, **options)
    key = (str(folder.resolve()), mapping or "")
    if key not in _LOADED:
        _LOADED.clear()  # one org at a time
        _LOADED[key] = crm = load_org(data_dir, mapping=mapping or None)
        if folder.resolve().parent.name == ".cache":  # the runner's cache: the dedup results are kept beside it
            crm.meta["dedup_cache"] = str(folder.resolve().parent / "dedup")
    return _LOADED[key]


#: (the loaded org, the profile file's path, size and time) -> the org with the profile applied, for the
#: kept org of :data:`_LOADED` only: the next report in the kernel gets the very same object, and with it
#: its memoised as-of cuts and record names.
_PROFILED: dict = {}


def _profiled(crm: CrmData, profile: str, org_profile, apply_profile) -> CrmData:
    """``apply_profile(crm, profile=org_profile)``, reused for the org this kernel keeps and an unchanged profile file."""
    if not any(crm is kept for kept in _LOADED.values()):
        return apply_profile(crm, profile=org_profile)
    try:
        st = Path(profile).stat() if profile else None
    except OSError:
        st = None
    key = (id(crm), str(Path(profile).resolve()) if profile else "", st and (st.st_size, st.st_mtime_ns))
    hit = _PROFILED.get(key)
    if hit is None or hit[0] is not crm:
        _PROFILED.clear()  # one org at a time, as _LOADED
        _PROFILED[key] = hit = (crm, apply_profile(crm, profile=org_profile))
    return hit[1]


def _fmt(name, v, precision: int = 1) -> str:
    """One cell, formatted by what its column's name says it is (:mod:`funnel_analysis.reporting.format`)."""
    v = v.item() if hasattr(v, "item") and not isinstance(v, pd.Timestamp) else v  # NumPy scalars
    return format_figure(v, kind=figure_kind(name, v), currency=_CURRENCY["symbol"], precision=precision)


def use_record_names(crm: CrmData | None, *, instance_url: str = "") -> None:
    """Show names in place of record IDs in every table of this notebook, the ID kept as a link or tooltip.

    A cell that holds a Salesforce record ID (:func:`funnel_analysis.crm.names.looks_like_record_id`)
    shows the record's name (:func:`funnel_analysis.crm.names.record_names`). With the org's
    ``instance_url`` (the profile's) the name links to the record in Salesforce; without, the ID is
    its tooltip. An ID the org has no name for shows its object ("lead", "user") with the ID as the
    tooltip, or the ID as a link. The values a notebook records for machines keep the IDs.

    Parameters
    ----------
    crm : CrmData or None
        The org whose names to show; None to show IDs as they are.
    instance_url : str, default ""
        ``https://<org>.my.salesforce.com``, for links to records; empty for none.
    """
    # the names are built when a table first shows one (a report that shows none never builds them), once
    # per org: the next report in the same kernel on the same org (open_report keeps it) reuses them
    url = str(instance_url or "").rstrip("/")
    if crm is not None and _RECORDS.get("of") is crm:
        _RECORDS.update(instance_url=url)
        return
    _RECORDS.update(names=None if crm is not None else {}, crm=crm, instance_url=url, of=crm)


def _record_html(value) -> str | None:
    """A record ID cell as its name (a link to the record, or the ID as tooltip); None when not an ID."""
    from ..crm.names import looks_like_record_id, record_kind

    if not looks_like_record_id(value):
        return None
    name = _names().get(value)
    base = _RECORDS["instance_url"]
    text = html.escape(name) if name else (value if base else f"({record_kind(value)})")
    if base:
        return f'<a href="{html.escape(base)}/{value}" title="{value}">{text}</a>'
    return f'<span class="record-id" title="{value}">{text}</span>'


_ID_TOKEN = re.compile(r"(?<![0-9A-Za-z])([0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?)(?![0-9A-Za-z])")


def _cell(value) -> str:
    """A text cell, escaped, with each record ID in it shown as the record's name (a pair "A | B" too)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    parts = _ID_TOKEN.split(str(value))  # odd parts: the ID-shaped words
    return "".join(
        (_record_html(part) or html.escape(part)) if i % 2 else html.escape(part) for i, part in enumerate(parts)
    )


def _repeats_names(ids: pd.Series, names: pd.Series) -> bool:
    """Whether ``names`` is, row for row, the name :func:`styled` shows for each of ``ids`` (blank with blank)."""
    known = _names()
    shown = ids.map(lambda i: known.get(i) if isinstance(i, str) else None)
    same = [(a is None or pd.isna(a)) if (b is None or pd.isna(b)) else a == b for a, b in zip(shown, names)]
    return bool(len(same)) and all(same)


def _plain_styler(df: pd.DataFrame) -> Styler:
    """``df.style`` without an ``id`` on every cell and header (the table keeps its own).

    The ids (``T_<uuid>_row12_col3``) are there for per-cell CSS, which no report table sets (pandas still
    gives a styled cell its id); they were a third of a table's HTML, which the kernel renders and sends,
    the runner writes into the notebook, and the page's sanitiser parses again. The table looks the same.
    """
    from pandas.io.formats.style import Styler

    return Styler(df, cell_ids=False)


#: The class names pandas' Styler writes on a table's cells (its defaults; a Styler with others is not written here).
_STYLER_CSS = {
    "row_heading": "row_heading",
    "col_heading": "col_heading",
    "index_name": "index_name",
    "col": "col",
    "row": "row",
    "col_trim": "col_trim",
    "row_trim": "row_trim",
    "level": "level",
    "data": "data",
    "blank": "blank",
    "foot": "foot",
}


def _table_html(sty: Styler) -> str:
    """``sty.to_html()`` without the indentation between the tags, written by a loop over the cells for the
    tables :func:`record` shows.

    The Styler builds a dictionary of every cell (its classes, ids, spans, visibility) and renders it through
    a Jinja template, most of :func:`record`'s time; for the tables record makes (one header row, the index
    hidden, no per-cell styles, ids, captions or classes, nothing trimmed) the page is only the header and
    the cells' display values, from the Styler's own formatters: the same tags, attributes and text, with no
    newline and indentation between one tag and the next (whitespace a table does not show, but which the
    page's sanitiser reads as a text node each: a fifth of its time on a report's tables). Any other Styler
    is rendered by pandas. tests/reporting/test_notebook.py compares the two texts.
    """
    data = sty.data
    simple = (
        not isinstance(data.columns, pd.MultiIndex)
        and not isinstance(data.index, pd.MultiIndex)
        and sty.hide_index_ == [True]
        and sty.hide_columns_ == [False]
        and not sty.hidden_rows
        and not sty.cell_ids
        and not (sty._todo or sty.ctx or sty.ctx_index or sty.ctx_columns or sty.cell_context)
        and not (sty.table_styles or sty.caption or sty.tooltips or sty.concatenated)
        and sty.css == _STYLER_CSS
        and data.columns.name is None
        and data.size <= pd.get_option("styler.render.max_elements")
        and pd.get_option("styler.render.max_rows") is None
        and pd.get_option("styler.render.max_columns") is None
        and pd.get_option("styler.sparse.columns")
        and len(data.columns)
    )
    if not simple:
        return sty.to_html()
    hidden = set(sty.hidden_columns)
    shown = [c for c in range(len(data.columns)) if c not in hidden]
    heads = sty._display_funcs_columns
    cells = sty._display_funcs
    attributes = f" {sty.table_attributes}" if sty.table_attributes else ""
    out = [f'<style type="text/css">\n</style>\n<table id="T_{sty.uuid}"{attributes}><thead><tr>']
    out += [f'<th class="col_heading level0 col{c}" >{heads[(0, c)](data.columns[c])}</th>' for c in shown]
    out.append("</tr></thead><tbody>")
    columns = [data.iloc[:, c] for c in range(len(data.columns))]  # as itertuples reads the rows
    for r, row in enumerate(zip(*columns)):
        out.append("<tr>")
        out += [f'<td class="data row{r} col{c}" >{cells[(r, c)](row[c])}</td>' for c in shown]
        out.append("</tr>")
    out.append("</tbody></table>\n")
    return "".join(out)


def styled(df: pd.DataFrame, *, precision: int = 1) -> Styler:
    """``df`` as a Styler formatted by meaning (:mod:`~funnel_analysis.reporting.format`), all text HTML-escaped.

    Numbers get thousands separators, rates and shares percent, model metrics three significant
    digits, money columns the currency set by :func:`notebook_setup`, days whole days, dates their
    day; a figure with ``_ci_low`` / ``_ci_high`` columns shows its interval beside it in one column.
    Columns get a reader's labels (``win_rate`` -> "Win rate"); machinery columns
    (:data:`~funnel_analysis.reporting.format.INTERNAL_COLUMNS`) are hidden; no RangeIndex. Cells, index and column labels are escaped: CRM text is user-entered,
    and a company called ``<script>alert(1)</script>`` must show as text, never run.

    Parameters
    ----------
    df : DataFrame
        The table; it is not modified.
    precision : int, default 1
        Decimals of rates and plain numbers.

    Returns
    -------
    Styler
        The formatted table, for display.
    """
    # a figure with its interval columns (win_rate, win_rate_ci_low, win_rate_ci_high) shows as one
    # column, "28.5 % (27.1–30.1)"; the bounds' own columns are hidden
    folded = [
        c
        for c in df.columns
        if f"{c}_ci_low" in df.columns and f"{c}_ci_high" in df.columns and pd.api.types.is_numeric_dtype(df[c])
    ]
    shown = df.copy()
    for c in folded:
        kind = figure_kind(c, 1.5)
        shown[c] = pd.Series(
            [
                format_interval(v, lo, hi, kind=kind, currency=_CURRENCY["symbol"], precision=precision)
                for v, lo, hi in zip(df[c], df[f"{c}_ci_low"], df[f"{c}_ci_high"], strict=True)
            ],
            index=df.index,
            dtype=object,
        )
    fmt = {
        c: (lambda v, c=c: _fmt(c, v, precision))
        for c in df.columns
        if c not in folded and pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
    }
    fmt |= {c: "{:%Y-%m-%d}" for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])}
    # text columns escaped here, record IDs shown by name (use_record_names)
    fmt |= {c: _cell for c in df.columns if c not in fmt and c not in folded and not pd.api.types.is_bool_dtype(df[c])}
    _learn_names(df)  # the names of the IDs it shows, in one search (the cells are formatted one by one)
    sty = _plain_styler(shown).format(fmt, na_rep="–").format_index(_cell, axis=0)
    # a reader's labels for the columns; machinery columns (sort_order, is_won, ...) hidden
    # an ID column shown by name is labelled by what it names: owner_id -> "Owner"
    named = set()
    if _names():
        from ..crm.names import looks_like_record_id

        for c in df.columns:
            text = df[c].dtype == object or pd.api.types.is_string_dtype(df[c])
            if str(c).endswith("_id") and text and df[c].head(50).map(looks_like_record_id).any():
                named.add(c)
    sty = sty.format_index(lambda c: html.escape(column_label(str(c)[:-3] if c in named else c)), axis=1)
    hidden = [c for c in df.columns if c in INTERNAL_COLUMNS]
    # the ID column already shows the name (owner_id as "Ann Lee"): its name column beside it would repeat it
    hidden += [f"{str(c)[:-3]}_name" for c in named if f"{str(c)[:-3]}_name" in df.columns]
    # ... and so would a plain "name" column holding, row for row, the names an ID column shows (the
    # board's opportunity_id and name)
    if "name" in df.columns and any(_repeats_names(df[c], df["name"]) for c in named):
        hidden.append("name")
    hidden += [f"{c}_ci_{b}" for c in folded for b in ("low", "high")]
    if hidden and len(hidden) < len(df.columns):
        sty = sty.hide(hidden, axis="columns")
    if len(df) > LONG_TABLE_ROWS:
        sty = sty.set_table_attributes('class="long-table"')
    return sty.hide(axis="index") if isinstance(df.index, pd.RangeIndex) else sty


def record(name: str, value) -> None:
    """Show ``value`` as a table and keep its values, by name, for machines.

    The HTML report shows the table; :func:`read_records` reads the values back from the executed
    notebook (the tests compare them with an independent computation).

    Parameters
    ----------
    name : str
        The record's name, unique within a notebook.
    value : DataFrame, Series, dict or result dataclass
        A table, or figures by name (a dataclass gives its scalar fields). A table's
        ``attrs["note"]`` (what the analysis assumed) is shown in one line under it and kept
        with the values.
    """
    from IPython.display import display

    reason = missing_reason(value)
    if reason:  # the data lacks this section's inputs: say so in one line, never a table of zeros
        line = f"Not shown: {reason}."
        display(
            {
                RECORD_MIME: {"name": name, "value": {"missing": reason}},
                "text/html": f'<p class="missing-input">{html.escape(line)}</p>',
                "text/plain": line,
            },
            raw=True,
        )
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # a result's scalar figures
        value = {
            f.name: getattr(value, f.name)
            for f in dataclasses.fields(value)
            if isinstance(getattr(value, f.name), (str, int, float, bool, type(None)))
        }
    if isinstance(value, Mapping):
        value = dict(value)
    if isinstance(value, dict):
        payload = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in value.items()}
        # one row per figure, its interval and count beside it (win_rate_n / _ci_low / _ci_high folded in)
        table = headline_table(payload, currency=_CURRENCY["symbol"]).reset_index(drop=True)
        if not table["n"].astype(bool).any():
            table = table.drop(columns="n")
        sty = _plain_styler(table).format(escape="html").format_index(lambda c: html.escape(column_label(c)), axis=1)
        sty = sty.hide(axis="index")
    else:
        table = value.reset_index() if isinstance(value, pd.Series) else value
        payload, sty = json.loads(table.to_json(orient="records", date_format="iso")), styled(table)
    # what the analysis assumed (the status order it followed, the credit it fell back to): one line under it
    note = value.attrs.get("note") if isinstance(value, (pd.DataFrame, pd.Series)) else None
    record_value = {"name": name, "value": payload} | ({"note": str(note)} if note else {})
    shown = _table_html(sty)
    if isinstance(value, (pd.DataFrame, pd.Series)) and len(table) == 0:  # one line, never an empty grid
        shown = f'<p class="empty-section">{html.escape(_nothing_line(name))}</p>'
    elif isinstance(value, (pd.DataFrame, pd.Series)) and len(table) > LONG_TABLE_ROWS:
        # searchable and sortable in the page (the template's script), its full content as a CSV beside it
        shown = f'<div class="long-table-box">{shown}</div>{csv_link(table, name)}'
    display(
        {
            RECORD_MIME: record_value,
            "text/html": shown + (f'<p class="note">{html.escape(str(note))}</p>' if note else ""),
            "text/plain": (_nothing_line(name) if len(table) == 0 else table.to_string(index=False))
            + (f"\n{note}" if note else ""),
        },
        raw=True,
    )


#: A table longer than this many rows scrolls in a box, is searchable and sortable, and has a CSV link.
LONG_TABLE_ROWS = 15


def _nothing_line(name: str) -> str:
    return f"Nothing to show: {column_label(name).lower()} has no rows for this data and these parameters."


def csv_link(table: pd.DataFrame, name: str) -> str:
    """A link that downloads ``table`` as a CSV file, the file inside the page (a ``data:`` URI).

    Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``...) gets a leading
    ``'`` (:func:`funnel_analysis.scoring.neutralise_formulas`): CRM text is user-entered.

    Parameters
    ----------
    table : DataFrame
        The full table, with its raw values and IDs (not modified).
    name : str
        The record's name: the file is ``<name>.csv``.

    Returns
    -------
    str
        ``<a class="csv-download" download="<name>.csv" href="data:text/csv;...">``.
    """
    import base64

    from ..scoring.export import neutralise_formulas

    text = neutralise_formulas(table.reset_index(drop=True)).to_csv(index=False)
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    file = re.sub(r"[^A-Za-z0-9_.-]", "_", str(name)) or "table"
    return (
        f'<a class="csv-download" download="{file}.csv" href="data:text/csv;charset=utf-8;base64,{data}">'
        f"Download all {len(table):,} rows as CSV</a>"
    )


_ITABLES = {"ready": False}


def show_table(df: pd.DataFrame, *, caption: str | None = None) -> None:
    """Show ``df`` as an interactive table in JupyterLab: sortable, searchable, paged, offline.

    For the analyst exploring: it uses itables (the ``lab`` extra) in its offline mode, its
    JavaScript embedded in the notebook, nothing fetched. Without itables the table is shown as
    :func:`styled` shows it. Report pages use :func:`record`, whose long tables are searchable and
    sortable in the page too.

    Parameters
    ----------
    df : DataFrame
        The table (not modified).
    caption : str, optional
        A caption above it.
    """
    from IPython.display import display

    try:
        import itables
    except ImportError:  # the lab extra is not installed: the plain, formatted table
        display(styled(df))
        return
    if not _ITABLES["ready"]:
        itables.init_notebook_mode(all_interactive=False, connected=False)
        _ITABLES["ready"] = True
    itables.show(df, caption=caption)


def read_records(notebook) -> Mapping[str, object]:
    """The values an executed notebook kept with :func:`record`.

    Parameters
    ----------
    notebook : str or Path
        An executed notebook.

    Returns
    -------
    Mapping
        Record name -> a dict of figures, or a list of row dicts for a table.
    """
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    return {
        o["data"][RECORD_MIME]["name"]: o["data"][RECORD_MIME]["value"]
        for c in nb.cells
        for o in c.get("outputs", [])
        if RECORD_MIME in o.get("data", {})
    }
