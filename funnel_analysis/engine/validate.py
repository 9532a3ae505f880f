"""``funnel check`` in DuckDB: the loader's rules as SQL over the export's files, read in place (#19).

The pandas check (:func:`funnel_analysis.crm.load.load_org`) reads every table into a frame, so
its memory is the org's. :func:`check_export` reads the same files with DuckDB's ``read_csv``
(every column declared ``VARCHAR`` from the header, then typed by the schema's kind with the
parsers' rules written as SQL), keeps one narrow typed table per object in DuckDB (it spills to
``temp_directory`` past ``memory_limit``) and returns only counts and a sample of offending rows.
The figures are those of the pandas check, field by field: rows read, kept, quarantined,
deleted, merged and flagged, rows per rule, the cleaning counts, the files, the stages' origin
and the currency.

What follows the pandas loader, and how:

- typing: IDs trimmed and 15-character IDs widened to 18 (the checksum in SQL); dates strict
  ``YYYY-MM-DD``, else the date-time cascade; date-times ISO 8601 (an offset, or UTC), then
  :data:`funnel_analysis.crm.parse.DATETIME_FORMATS`; numbers with a currency prefix and
  thousands separators; booleans as :func:`~funnel_analysis.crm.parse.parse_bool` reads them;
- deleted rows (``IsDeleted``), merged ones (``MasterRecordId``: chains followed, references
  re-pointed) and the cascade of :data:`funnel_analysis.crm.deleted.CASCADES`;
- the error and warning rules of :mod:`funnel_analysis.crm.validate`, reference rules against
  the live keys of the other tables (an owner: a user or a queue);
- picklists folded (the spelling chosen on the distinct values, as
  :func:`~funnel_analysis.crm.clean.fold_picklist` does) and e-mails lowered, counted;
- the stages from ``OpportunityStage`` or the default ones, stages seen only on deals appended
  with their inferred flags; the currency book from ``CurrencyType`` and ``DatedConversionRate``
  (both tiny: read into pandas).

How it is read (what the cost is, #19): each file once, in one streaming pass on every thread
(no window in it: the typed table is written in file order and a row's place is its ``rowid``),
each column trimmed once (not at all when neither end can be whitespace) and typed once, the
shapes of a Salesforce export (``2024-03-15T09:30:00.000+0000``, ``true``, ``12.5``, an
18-character ID) by one cast before the reference rules (:func:`_typed`, which every other value
goes through); the deleted and merged status and the lowered e-mails in the same pass. Then one
aggregate pass per table counts every rule; only the rules that fire are sampled, from the
quarantined rows kept aside in one more pass.

Not covered (:class:`NotInSQL` says so, and the CLI runs the pandas check instead): a mapping
file, a database URL. Two figures the SQL check does not compute: ``history_value_unparseable``
(a field-history value not parsing for its field's type) and a dated rate that exists for a
currency but not on a record's date (counted as having a rate).

Examples
--------
>>> result = check_export("data/sample")  # doctest: +SKIP
>>> result.report.tables["leads"]["rows_quarantined"]  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..crm.clean import EMAIL_PATTERN
from ..crm.currency import currency_book
from ..crm.deleted import CASCADES, MERGEABLE
from ..crm.mapping import default_stages
from ..crm.model import DataQualityReport
from ..crm.parse import DATETIME_FORMATS, describe_kind
from ..crm.read import DataLoadError, canonical_columns, find_describe_files, find_export_files, read_describe
from ..crm.schema import MONEY_COLUMNS, TABLES
from ..crm.validate import ERROR, OWNER_TABLES, WARNING
from .base import EngineError, connect
from .base import quote_identifier as _q

__all__ = ["ExportCheck", "NotInSQL", "check_export"]

#: The order in which deletions propagate (parents before children), as the pandas split.
_ORDER = (
    "accounts",
    "campaigns",
    "leads",
    "contacts",
    "opportunities",
    "opportunity_history",
    "opportunity_field_history",
    "lead_history",
    "contact_roles",
    "activities",
    "campaign_members",
)
_HISTORY = ("lead_history",)
_POLYMORPHIC = {"activities": {"what_id": MERGEABLE, "who_id": ("leads", "contacts")}}
_WS = " \t\n\r\x0b\x0c"
_TRUE = ("true", "1", "yes", "y", "t", "1.0")
_FALSE = ("false", "0", "no", "n", "f", "0.0")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
#: Columns whose typed values a rule or a later step reads (the others keep only their flags).
_VALUES = {
    "amount",
    "probability",
    "default_probability",
    "actual_cost",
    "budgeted_cost",
    "close_date",
    "created_date",
    "converted_date",
    "start_date",
    "end_date",
    "is_closed",
    "is_won",
    "is_deleted",
    "fivetran_deleted",
    "master_record_id",
    "currency_iso_code",
    "email",
    "stage_name",
    "type",
    "sort_order",
    "forecast_category",
    "iso_code",
    "conversion_rate",
    "is_corporate",
    "next_start_date",
}
#: Tiny tables read back into pandas for the stages and the currency book.
_SMALL = ("stages", "currencies", "dated_rates")


class NotInSQL(ValueError):
    """The input needs the pandas loader (a mapping file, a database URL): the CLI falls back to it."""


@dataclass(frozen=True)
class ExportCheck:
    """What ``funnel check --engine duckdb`` found.

    Attributes
    ----------
    report : DataQualityReport
        The figures, as the pandas check's ``crm.report`` holds them.
    quarantine : DataFrame
        A sample of the quarantined rows (the first rows of each table and rule, at most
        ``sample_per_rule``): ``table, row, record_id, column, rule, severity, value, file``;
        ``row`` is the 0-based data row in its file, as in ``crm.quarantine``.
    merges : int
        Records Salesforce merged (``MasterRecordId``).
    meta : dict
        ``source``, ``stages_origin``, ``seconds`` (wall time of the check).
    """

    report: DataQualityReport
    quarantine: pd.DataFrame = field(repr=False)
    merges: int = 0
    meta: dict = field(default_factory=dict)


def _lit(text: str) -> str:
    """A string literal of ours (a file path, a pattern: never a value from the data)."""
    return "'" + str(text).replace("'", "''") + "'"


def _trim(col: str) -> str:
    return f"nullif(trim({col}, {_lit(_WS)}), '')"


def _widen(t: str) -> str:
    """A 15-character ID widened to 18 by Salesforce's checksum (``ids.to_18``), in SQL."""
    parts = []
    for start in (0, 5, 10):
        flags = " + ".join(
            f"(CASE WHEN substr({t}, {start + i + 1}, 1) BETWEEN 'A' AND 'Z' THEN {1 << i} ELSE 0 END)"
            for i in range(5)
        )
        parts.append(f"substr({_lit(_ALPHABET)}, 1 + {flags}, 1)")
    return " || ".join([t, *parts])


#: What each directive of :data:`DATETIME_FORMATS` matches in Python's (and pandas') strptime: DuckDB's
#: own is laxer (its ``%Y`` takes "24" as the year 24, where Python reads "03/15/24" by ``%y``).
_DIRECTIVES = {
    "m": "(?:1[0-2]|0[1-9]|[1-9])",
    "d": "(?:3[01]|[12]\\d|0[1-9]|[1-9]| [1-9])",
    "Y": "\\d{4}",
    "y": "\\d{2}",
    "H": "(?:2[0-3]|[01]\\d|\\d)",
    "I": "(?:1[0-2]|0[1-9]|[1-9])",
    "M": "(?:[0-5]\\d|\\d)",
    "S": "(?:6[01]|[0-5]\\d|\\d)",
    "p": "(?:am|pm)",
}


def _format_regex(fmt: str) -> str:
    """The regular expression (RE2, case-insensitive) of the values Python's strptime reads by ``fmt``."""
    out, i = ["(?i)"], 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%":
            out.append(_DIRECTIVES[fmt[i + 1]])
            i += 2
            continue
        out.append("\\s+" if ch.isspace() else ("\\" + ch if not ch.isalnum() else ch))
        i += 1
    return "".join(out)


def _strptime_formats(t: str, formats) -> str:
    """The first format (in order) whose strptime pattern the whole value matches, parsed by it."""
    tries = [
        f"CASE WHEN regexp_full_match({t}, {_lit(_format_regex(f))}) THEN try_strptime({t}, {_lit(f)}) END"
        for f in formats
    ]
    return f"coalesce({', '.join(tries)})"


def _datetime(t: str) -> str:
    """ISO 8601 (with an offset, else UTC), then the export formats: a naive UTC TIMESTAMP or NULL."""
    iso = (
        f"CASE WHEN regexp_matches({t}, '^\\d{{4}}-\\d\\d-\\d\\d') "
        f"THEN CAST(try_cast(regexp_replace({t}, '([+-]\\d\\d)(\\d\\d)$', '\\1:\\2') AS TIMESTAMPTZ) "
        "AT TIME ZONE 'UTC' AS TIMESTAMP) END"
    )
    return f"coalesce({iso}, {_strptime_formats(t, DATETIME_FORMATS)})"


def _date(t: str) -> str:
    return (
        f"CASE WHEN regexp_full_match({t}, '\\d{{4}}-\\d\\d-\\d\\d') THEN try_cast({t} AS DATE) "
        f"ELSE CAST({_datetime(t)} AS DATE) END"
    )


def _typed(col: str, kind: str) -> tuple[str, str | None]:
    """(value expression, unparseable expression or None) of one raw VARCHAR column.

    The reference rules, each written once; :func:`_typed_fast` is what the check runs.
    """
    return _typed_trimmed(_trim(col), kind)


def _typed_trimmed(t: str, kind: str) -> tuple[str, str | None]:
    """:func:`_typed` of ``t``, the column already trimmed (``nullif(trim(...), '')``)."""
    if kind == "id":
        return f"CASE WHEN regexp_full_match({t}, '[a-zA-Z0-9]{{15}}') THEN {_widen(t)} ELSE {t} END", None
    if kind == "datetime":
        v = _datetime(t)
    elif kind == "date":
        v = _date(t)
    elif kind == "bool":
        low = f"lower({t})"
        return (
            f"coalesce({low} IN ({', '.join(map(_lit, _TRUE))}), FALSE)",
            f"({t} IS NOT NULL AND {low} NOT IN ({', '.join(map(_lit, _TRUE + _FALSE))}))",
        )
    elif kind in ("float", "int"):
        cleaned = f"regexp_replace({t}, '^(?:[A-Z]{{3}} ?|[$€£¥])', '')"
        unsep = (
            f"CASE WHEN regexp_full_match({cleaned}, '-?\\d{{1,3}}(?:,\\d{{3}})+(?:\\.\\d+)?') "
            f"THEN replace({cleaned}, ',', '') ELSE {cleaned} END"
        )
        x = f"try_cast({unsep} AS DOUBLE)"
        v = f"CASE WHEN isnan({x}) OR isinf({x}) AND lower({t}) NOT LIKE '%inf%' THEN NULL ELSE {x} END"
    else:
        return t, None
    return v, f"({t} IS NOT NULL AND ({v}) IS NULL)"


#: Salesforce's own date-time shape (``2024-03-15T09:30:00.000+0000``): read by one cast.
_SF_DATETIME = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\+0000"
#: A plain decimal number (no currency, no separators, no exponent): read by one cast.
_PLAIN_NUMBER = "-?\\d+(?:\\.\\d+)?"


def _edge_trim(col: str) -> str:
    """:func:`_trim` of a raw column, the trim skipped when neither end can be whitespace.

    Every character of ``_WS`` is one byte at most 0x20: a value whose first byte is above it
    (``>= '!'``, DuckDB compares text bytewise) and whose last is none of them is its own trim (and
    not empty). DuckDB's ``trim`` with a character set is otherwise the costliest step of the
    typing (it reads the set again on every row).
    """
    last = " OR ".join(f"suffix({col}, chr({ord(c)}))" for c in _WS)
    return f"CASE WHEN {col} >= '!' AND NOT ({last}) THEN {col} ELSE {_trim(col)} END"


def _typed_fast(t: str, kind: str, v: str) -> tuple[str, str | None]:
    """(value expression, unparseable expression or None) of ``t``, a column already trimmed.

    The values and flags of :func:`_typed`, with the common shapes read first by one cast (a
    Salesforce date-time, a plain number, ``true``/``false``, an 18-character ID) and every other
    value by the reference rules. ``t`` (from :func:`_edge_trim`) must be a column reference: it
    is read several times; the unparseable expression reads the value as the column ``v``.
    """
    ref_value, ref_bad = _typed_trimmed(t, kind)
    bad = f"({t} IS NOT NULL AND {v} IS NULL)"  # as the reference's: the value did not parse
    if kind == "id":
        # an ID is widened only if it is 15 characters (15 bytes: the pattern is ASCII)
        return (
            f"CASE WHEN strlen({t}) = 15 AND regexp_full_match({t}, '[a-zA-Z0-9]{{15}}') THEN {_widen(t)} ELSE {t} END",
            None,
        )
    if kind == "datetime":
        # the shape starts with 4 digits and a dash: of the cascade only the ISO branch can read it,
        # and its cast of "...+00:00" as TIMESTAMPTZ is the naive UTC value of the first 23 characters
        fast = f"CASE WHEN regexp_full_match({t}, {_lit(_SF_DATETIME)}) THEN try_cast(left({t}, 23) AS TIMESTAMP) END"
        return f"CASE WHEN {t} IS NULL THEN NULL ELSE coalesce({fast}, {ref_value}) END", bad
    if kind == "date":
        return f"CASE WHEN {t} IS NULL THEN NULL ELSE {ref_value} END", bad
    if kind == "bool":
        # never NULL: its flag is the reference's, skipped for the two spellings of the export
        return (
            f"CASE WHEN {t} = 'true' THEN TRUE WHEN {t} = 'false' THEN FALSE ELSE {ref_value} END",
            f"CASE WHEN {t} IS NULL OR {t} = 'true' OR {t} = 'false' THEN FALSE ELSE {ref_bad} END",
        )
    if kind in ("float", "int"):
        # digits only: no prefix to strip, no separators; a finite cast is the reference's value
        x = f"try_cast({t} AS DOUBLE)"
        fast = f"CASE WHEN regexp_full_match({t}, {_lit(_PLAIN_NUMBER)}) AND isfinite({x}) THEN {x} END"
        return f"CASE WHEN {t} IS NULL THEN NULL ELSE coalesce({fast}, {ref_value}) END", bad
    return t, None


def _header(path: Path) -> list[str]:
    """The header of a CSV (checked as the pandas reader checks it), or a Parquet file's columns."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            first = fh.readline()
    except UnicodeDecodeError as exc:
        raise DataLoadError(
            path,
            f"cannot be decoded as utf-8 ({exc.reason} at byte {exc.start})",
            expected="a UTF-8 CSV, or set `encoding:` in the mapping file",
        ) from None
    first = first.lstrip("\ufeff")
    if not first.strip():
        raise DataLoadError(path, "is empty: no header line", expected="a CSV with a header row")
    names = next(csv.reader([first]))
    if len(names) == 1:
        for sep, label in {";": "semicolon", "\t": "tab", "|": "pipe"}.items():
            if sep in names[0]:
                raise DataLoadError(
                    path,
                    f"looks {label}-separated (header {names[0][:60]!r})",
                    expected="comma-separated values, or `delimiter:` in the mapping file",
                )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataLoadError(path, "header repeats a column name", column=dupes[0], expected="unique column names")
    return names


def _source(path: Path, names: list[str]) -> str:
    """The file read in place, every column as text, rows numbered in file order."""
    if path.suffix.lower() == ".parquet":
        cols = ", ".join(f"CAST({_q(n)} AS VARCHAR) AS {_q(n)}" for n in names)
        return f"SELECT {cols}, file_row_number AS __row FROM read_parquet({_lit(path)}, file_row_number = true)"
    types = "{" + ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in names) + "}"
    return (
        f"SELECT *, row_number() OVER () - 1 AS __row FROM read_csv({_lit(path)}, header = true, "
        f"delim = ',', quote = '\"', escape = '\"', columns = {types}, auto_detect = false, "
        "strict_mode = true, max_line_size = 16777216)"
    )


def _read(path: Path, names: list[str]) -> str:
    """The file read in place, every column as text, in file order (:func:`_source` without the row number)."""
    if path.suffix.lower() == ".parquet":
        cols = ", ".join(f"CAST({_q(n)} AS VARCHAR) AS {_q(n)}" for n in names)
        return f"SELECT {cols} FROM read_parquet({_lit(path)})"
    types = "{" + ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in names) + "}"
    return (
        f"SELECT * FROM read_csv({_lit(path)}, header = true, delim = ',', quote = '\"', escape = '\"', "
        f"columns = {types}, auto_detect = false, strict_mode = true, max_line_size = 16777216)"
    )


class _Check:
    """The state of one check: the engine, and per table what the SQL needs."""

    def __init__(self, eng, folder: Path, sample_per_rule: int, keep_all=()):
        self.eng, self.folder, self.per_rule = eng, folder, sample_per_rule
        # tables whose every column keeps its typed value, picklists folded (EngineOrg.from_export)
        self.keep_all = frozenset(keep_all)
        self.money: dict[str, list[str]] = {}  # custom currency fields (describe type currency)
        self.present: dict[str, list[str]] = {}
        self.custom: dict[str, dict[str, str]] = {}
        self.files: dict[str, list[str]] = {}
        self.stats: dict[str, dict[str, int]] = {}
        self.parse_cols: dict[str, list[tuple[str, str, str]]] = {}  # (column, rule, severity)
        self.lowered: dict[tuple[str, str], int] = {}  # (table, e-mail column) -> values lowered

    def run(self, statement: str, params: dict | None = None):
        try:
            return self.eng.con.execute(statement, params or {}).fetchall()
        except Exception as exc:  # duckdb's errors: one line naming the file where there is one
            msg = str(exc).splitlines()[0]
            raise DataLoadError(self.folder, f"cannot be read by DuckDB: {msg}") from None

    def df(self, query: str, params: dict | None = None) -> pd.DataFrame:
        try:
            return self.eng.con.execute(query, params or {}).df()
        except Exception as exc:
            raise DataLoadError(self.folder, f"cannot be read by DuckDB: {str(exc).splitlines()[0]}") from None

    # -- reading ---------------------------------------------------------------------------------
    def load(self, table: str, parts, describes) -> None:
        spec = TABLES[table]
        kinds = spec.kinds()
        selects, present, custom, money = [], [], {}, []
        for path, activity_kind in parts:
            names = _header(path)
            canon = canonical_columns(pd.DataFrame(columns=names), table).columns
            rename = dict(zip(names, canon))
            for src, dst in rename.items():
                ftype = describes.get(path.stem, {}).get(src)
                if ftype is not None and dst not in kinds and dst not in custom:
                    custom[dst] = describe_kind(ftype)
                    if ftype == "currency" and custom[dst] == "float":
                        money.append(dst)
            missing = [c for c in spec.required_columns if c not in rename.values() and c != "activity_kind"]
            if table == "stages":
                missing = [c for c in missing if c not in ("is_closed", "is_won")] or missing
            if missing:
                raise DataLoadError(
                    path.name,
                    f"required column of table {table!r} is missing",
                    column=missing[0],
                    expected=f"a column {TABLES[table].column(missing[0]).sf_name!r}",
                )
            cols = {d: _q(s) for s, d in rename.items()}
            if activity_kind is not None:
                cols["activity_kind"] = _lit(activity_kind)
            selects.append((path, names, cols))
            for d in cols:
                if d not in present:
                    present.append(d)
        self.present[table], self.custom[table], self.money[table] = present, custom, money
        # three projections in one streaming pass over each file: each column trimmed once
        # (``__t_``), typed once (``__v_``), then the table's columns and flags read from those; no
        # row number in the pass (a window would keep it on one thread): the table is written in
        # file order, part after part, so its rowid is the row's place (the view ``rel`` adds __row)
        base = ["__file", "__part"]
        trimmed = [*base, *(f"{_edge_trim(_q(c))} AS {_q('__t_' + c)}" for c in present)]
        typed = list(base)
        # deleted rows (IsDeleted, a sync's flag) and merged ones (deleted with a MasterRecordId) are
        # known from the row itself: their status is set here, the cascades by _split
        dead = [
            f"coalesce({_q('__v_' + c)}, FALSE)"
            if kinds.get(c) == "bool"
            else f"lower({_q('__v_' + c)}) IN ('true', '1', 'yes')"
            for c in ("is_deleted", "fivetran_deleted")
            if c in present
        ]
        status = "''"
        if dead:
            gone = "'deleted'"
            if table in MERGEABLE and "master_record_id" in present:
                gone = "CASE WHEN __v_master_record_id IS NOT NULL THEN 'merged' ELSE 'deleted' END"
            status = f"CASE WHEN coalesce({' OR '.join(dead)}, FALSE) THEN {gone} ELSE '' END"
        out = [*base, f"{status} AS __status"]
        parse_cols, widen, lowered = [], [], []
        for col in present:
            kind = kinds.get(col) or custom.get(col, "str")
            t, v = _q("__t_" + col), _q("__v_" + col)
            value, bad = _typed_fast(t, kind, v)
            typed.append(t)
            typed.append(f"{value} AS {v}")
            if kind == "id":
                widen.append(col)
                typed.append(
                    f"CASE WHEN strlen({t}) = 15 THEN regexp_full_match({t}, '[a-zA-Z0-9]{{15}}') ELSE FALSE END "
                    f"AS {_q('__w_' + col)}"
                )
                out.append(_q("__w_" + col))
            keep = (
                table in self.keep_all
                or col == spec.key
                or col in _VALUES
                or col in MONEY_COLUMNS.get(table, ())
                or kind in ("picklist", "email")
                or any(r.column == col for r in spec.references)
                or any(c == col for c, _ in CASCADES.get(table, ()))
                or col in _POLYMORPHIC.get(table, {})
                or (table == "groups" and col == "type")
            )
            if kind == "email" and col in kinds:  # e-mails lowered here, counted by clean()
                out.append(f"({t} <> lower({v})) AS {_q('__lc_' + col)}")
                lowered.append(col)
                v = f"lower({v})"
            if keep:
                out.append(f"{v} AS {_q(col)}")
            if bad is not None:
                out.append(f"{bad} AS {_q('__bad_' + col)}")
                schema_col = col in kinds
                rule = {"date": "date_unparseable", "datetime": "datetime_unparseable", "bool": "bool_unparseable"}.get(
                    kind, "number_unparseable"
                )
                parse_cols.append(
                    (col, rule if schema_col else "custom_value_unparseable", ERROR if schema_col else WARNING)
                )
        for ref in spec.references:
            if ref.table in MERGEABLE and ref.column in present and table not in _HISTORY:
                out.append(f"FALSE AS {_q('__rp_' + ref.column)}")
        for col in _POLYMORPHIC.get(table, {}):
            if col in present and not any(r.column == col and r.table in MERGEABLE for r in spec.references):
                out.append(f"FALSE AS {_q('__rp_' + col)}")
        self.parse_cols[table] = parse_cols
        starts, n = [], 0
        for i, (path, names, cols) in enumerate(selects):
            raw = [*(f"{cols.get(c, 'CAST(NULL AS VARCHAR)')} AS {_q(c)}" for c in present)]
            raw += [f"{_lit(path.name)} AS __file", f"{i} AS __part"]
            query = (
                f"SELECT {', '.join(out)} FROM (SELECT {', '.join(typed)} FROM (SELECT {', '.join(trimmed)} FROM "
                f"(SELECT {', '.join(raw)} FROM ({_read(path, names)}))))"
            )
            if i == 0:
                self.run(f"CREATE OR REPLACE TABLE {self.base(table)} AS {query}")
            else:
                self.run(f"INSERT INTO {self.base(table)} BY NAME {query}")
            starts.append(n)
            (n,) = self.run(f"SELECT count(*) FROM {self.base(table)}")[0]
        offset = (
            f"CASE __part {' '.join(f'WHEN {i} THEN {s}' for i, s in enumerate(starts))} END"
            if n and len(starts) > 1
            else "0"
        )
        self.run(
            f"CREATE OR REPLACE VIEW {self.rel(table)} AS SELECT *, rowid - {offset} AS __row FROM {self.base(table)}"
        )
        stats = self.stats.setdefault(table, {})
        flags = [*(("__w_", c) for c in widen), *(("__lc_", c) for c in lowered)]
        if flags:
            sums = ", ".join(f"count(*) FILTER (WHERE {_q(f + c)})" for f, c in flags)
            for (f, c), n in zip(flags, self.run(f"SELECT {sums} FROM {self.base(table)}")[0]):
                if f == "__lc_":
                    self.lowered[table, c] = int(n)
                elif n:
                    stats[f"{c}:ids_widened"] = int(n)

    def rel(self, table: str) -> str:
        """The typed table with ``__row`` (a view: read it)."""
        return _q("v_" + table)

    def base(self, table: str) -> str:
        """The typed table itself (update it)."""
        return _q("t_" + table)

    def has(self, table: str, col: str) -> bool:
        return col in self.present.get(table, ())

    # -- cleaning counts (on every row, as the loader cleans before it splits) --------------------
    def clean(self, table: str) -> None:
        kinds = TABLES[table].kinds()
        stats = self.stats[table]
        for col, kind in kinds.items():
            if col not in self.present[table] or col == "stage_name" or kind not in ("picklist", "email"):
                continue
            rel = self.rel(table)
            if kind == "email":  # lowered as the table was read (load)
                n = self.lowered[table, col]
            else:
                counts = self.df(f"SELECT {_q(col)} AS value, count(*) AS n FROM {rel} GROUP BY ALL")
                counts = counts[counts["value"].notna()]
                if not len(counts):
                    continue
                folded = _fold(counts["value"], counts["n"])
                changed = counts["value"].to_numpy() != folded.to_numpy()
                n = int(counts["n"][changed].sum())
                if table in self.keep_all and changed.any():  # the org's values folded as the loader folds
                    fmap = pd.DataFrame({"value": counts["value"][changed], "folded": folded[changed]})
                    self.eng.con.register("__fold_df", fmap)
                    upd = self.base(table)
                    self.run(f"UPDATE {upd} SET {_q(col)} = f.folded FROM __fold_df f WHERE {upd}.{_q(col)} = f.value")
                    self.eng.con.unregister("__fold_df")
            if n:
                stats[f"{col}:normalised"] = int(n)


def _fold(values: pd.Series, n: pd.Series, canonical=None) -> pd.Series:
    """:func:`~funnel_analysis.crm.clean.fold_picklist` on distinct values with their row counts."""
    text = values.astype("str").str.strip().str.replace(r"[ \t\r\n]+", " ", regex=True)
    text = text.where(text != "", None)
    key = text.str.lower()
    counts = pd.DataFrame({"key": key, "value": text, "n": n.to_numpy()}).dropna(subset=["value"])
    counts = counts.groupby(["key", "value"], as_index=False)["n"].sum()
    counts["mixed"] = (counts["value"] != counts["value"].str.lower()) & (
        counts["value"] != counts["value"].str.upper()
    )
    counts = counts.sort_values(["key", "n", "mixed", "value"], ascending=[True, False, False, True])
    best = counts.drop_duplicates("key").set_index("key")["value"]
    if canonical is not None:
        canon = pd.Series(list(canonical), dtype="str").dropna()
        canon_map = pd.Series(canon.to_numpy(), index=canon.str.lower().to_numpy())
        canon_map = canon_map[~canon_map.index.duplicated()]
        best = canon_map.combine_first(best) if len(best) else canon_map
    return pd.Series(key.map(best).to_numpy(dtype=object), index=values.index)


def check_export(
    folder,
    *,
    memory_limit: str = "4GB",
    temp_directory=None,
    threads: int | None = None,
    sample_per_rule: int = 3,
) -> ExportCheck:
    """Check an export folder as ``funnel check`` does, in DuckDB, with no table in pandas.

    Parameters
    ----------
    folder : path-like
        A Salesforce export folder (CSV or Parquet files named by object), or a Parquet cache
        written by :meth:`CrmData.to_parquet` (its recorded report is read back).
    memory_limit : str, default "4GB"
        DuckDB's memory limit; past it DuckDB spills to ``temp_directory``.
    temp_directory : path-like, optional
        The spill folder (default DuckDB's own).
    threads : int, optional
        DuckDB's threads (default: the cores).
    sample_per_rule : int, default 3
        Quarantined rows kept per table and rule in ``quarantine``.

    Returns
    -------
    ExportCheck
        The data-quality report, the sample of quarantined rows, the number of merges.

    Raises
    ------
    DataLoadError
        For a folder that does not exist or holds no file of a known object, a file that cannot
        be used (no header, a repeated column, another delimiter, a missing required column,
        bytes that are not UTF-8), as the pandas loader says it.
    NotInSQL
        For a database URL (the pandas loader reads it).

    Examples
    --------
    >>> check_export("data/sample").report.table()  # doctest: +SKIP
    """
    import time

    from ..crm.warehouse import is_database_url

    t0 = time.perf_counter()
    if is_database_url(str(folder)):
        raise NotInSQL(f"{folder}: a database URL is read by the pandas loader")
    folder = Path(folder)
    if not folder.is_dir():
        raise DataLoadError(folder, "is not a folder", expected="an export folder")
    if (folder / "crm.json").exists():
        doc = json.loads((folder / "crm.json").read_text(encoding="utf-8"))
        rep = doc.get("report") or {}
        report = DataQualityReport(
            tables=rep.get("tables", {}),
            ignored_files=rep.get("ignored_files", []),
            stages_origin=rep.get("stages_origin", "default"),
            currency=rep.get("currency", {}),
        )
        q = folder / "_quarantine.parquet"
        quarantine = pd.read_parquet(q) if q.exists() else pd.DataFrame()
        return ExportCheck(report, quarantine.head(0), 0, {"source": str(folder), "seconds": 0.0})
    found, ignored = find_export_files(folder)
    if not found:
        raise DataLoadError(
            folder, "holds no file of a known object", expected="Lead.csv, Opportunity.csv, ... or a mapping file"
        )
    stems = {p.stem for parts in found.values() for p, _ in parts}
    describes = {s: read_describe(p) for s, p in find_describe_files(folder).items() if s in stems}
    options = {"memory_limit": memory_limit, "temp_directory": temp_directory, "threads": threads}
    eng = connect("duckdb", **{k: v for k, v in options.items() if v is not None})
    try:
        eng.con.execute("SET preserve_insertion_order = true").fetchall()  # row numbers are file order
        chk = _Check(eng, folder, sample_per_rule)
        for table, parts in found.items():
            chk.load(table, parts, describes)
            chk.clean(table)
        return _finish(chk, found, [p.name for p in ignored], t0)[0]
    except EngineError as exc:
        raise DataLoadError(folder, str(exc)) from None
    finally:
        eng.close()


def _small(chk: _Check, table: str) -> pd.DataFrame | None:
    """A tiny table's live rows as pandas (stages, currencies, dated rates)."""
    if table not in chk.present:
        return None
    cols = [c for c in chk.present[table] if c in _VALUES or c == TABLES[table].key or table in chk.keep_all]
    return chk.df(f"SELECT {', '.join(map(_q, cols))} FROM {chk.rel(table)} WHERE __status = '' ORDER BY __part, __row")


def _split(chk: _Check) -> int:
    """Parent-deleted rows marked, references to merged records re-pointed (deleted and merged: by load)."""
    pairs = []
    for table in MERGEABLE:
        if table not in chk.present or not chk.has(table, "master_record_id"):
            continue
        rel = chk.rel(table)
        key = _q(TABLES[table].key)
        for merged_id, master in chk.run(f"SELECT {key}, master_record_id FROM {rel} WHERE __status = 'merged'"):
            pairs.append((table, str(merged_id), str(master)))
    hop: dict[str, dict[str, str]] = {}
    for table, merged_id, master in pairs:
        hop.setdefault(table, {})[merged_id] = master
    rows = []
    for table, m in hop.items():
        for start in m:
            seen, cur = {start}, m[start]
            while cur in m and cur not in seen:
                seen.add(cur)
                cur = m[cur]
            rows.append((table, start, cur))
    merges = pd.DataFrame(rows, columns=["table", "merged_id", "master_id"])
    chk.eng.con.register("__merges_df", merges)
    chk.run("CREATE OR REPLACE TABLE __merges AS SELECT * FROM __merges_df")
    if len(merges):
        for table in chk.present:
            targets: dict[str, tuple] = {}
            for ref in TABLES[table].references if table not in _HISTORY else ():
                if ref.table in MERGEABLE:
                    targets[ref.column] = (ref.table,)
            targets |= _POLYMORPHIC.get(table, {})
            for col, parents in targets.items():
                if not chk.has(table, col):
                    continue
                rel = chk.base(table)
                chk.run(
                    f"UPDATE {rel} SET {_q(col)} = m.master_id, {_q('__rp_' + col)} = TRUE FROM __merges m "
                    f'WHERE {rel}.{_q(col)} = m.merged_id AND m."table" IN ({", ".join(map(_lit, parents))}) '
                    f"AND {rel}.__status = ''"
                )
    for table in _ORDER:
        if table not in chk.present or table not in CASCADES:
            continue
        for col, parents in CASCADES[table]:
            if not chk.has(table, col):
                continue
            dead = ["deleted", "parent_deleted"] + (["merged"] if table in _HISTORY else [])
            gone = " UNION ALL ".join(
                f"SELECT {_q(TABLES[p].key)} AS k FROM {chk.rel(p)} WHERE __status IN ({', '.join(map(_lit, dead))})"
                for p in parents
                if p in chk.present
            )
            if not gone:
                continue
            chk.run(
                f"UPDATE {chk.base(table)} SET __status = 'parent_deleted' WHERE __status = '' "
                f"AND {_q(col)} IN (SELECT k FROM ({gone}) WHERE k IS NOT NULL)"
            )
    return len(merges)


def _stages(chk: _Check):
    """The stages table (as the loader resolves it), its origin; opportunity stage names folded."""
    st = _small(chk, "stages")
    origin = "file" if st is not None else "default"
    if st is None:
        st = default_stages()
    st = st.copy()
    st["stage_name"] = _fold(st["stage_name"], pd.Series(1, index=st.index))
    for col in ("is_closed", "is_won"):
        st[col] = st[col].fillna(False).astype(bool) if col in st else False
    if "forecast_category" not in st:
        st["forecast_category"] = None
    if "default_probability" not in st:
        st["default_probability"] = float("nan")
    st = st.sort_values("sort_order", kind="stable").reset_index(drop=True)
    for table in ("opportunities", "opportunity_history"):
        if table not in chk.present or not chk.has(table, "stage_name"):
            continue
        rel = chk.rel(table)
        counts = chk.df(
            f"SELECT stage_name AS value, count(*) AS n FROM {rel} WHERE stage_name IS NOT NULL GROUP BY ALL"
        )
        if not len(counts):
            continue
        folded = _fold(counts["value"], counts["n"], canonical=st["stage_name"])
        fmap = pd.DataFrame({"value": counts["value"], "folded": folded})
        chk.eng.con.register("__fold_df", fmap)
        upd = chk.base(table)
        chk.run(f"UPDATE {upd} SET stage_name = f.folded FROM __fold_df f WHERE {upd}.stage_name = f.value")
        chk.eng.con.unregister("__fold_df")
    if "opportunities" in chk.present and chk.has("opportunities", "stage_name"):
        rel = chk.rel("opportunities")
        not_deleted = "__status <> 'deleted'" if chk.has("opportunities", "is_deleted") else "TRUE"
        prob = (
            "median(probability) FILTER (WHERE probability > 0)" if chk.has("opportunities", "probability") else "NULL"
        )
        closed = "avg(coalesce(is_closed, FALSE)::INT) >= 0.5" if chk.has("opportunities", "is_closed") else "FALSE"
        won = "avg(coalesce(is_won, FALSE)::INT) >= 0.5" if chk.has("opportunities", "is_won") else "FALSE"
        seen = chk.df(
            f"SELECT stage_name, {closed} AS is_closed, {won} AS is_won, {prob} AS default_probability "
            f"FROM {rel} WHERE stage_name IS NOT NULL AND {not_deleted} "
            "GROUP BY stage_name ORDER BY min((__part, __row))"
        )
        extra = seen[~seen["stage_name"].isin(set(st["stage_name"]))]
        extra = extra.sort_values("stage_name").reset_index(drop=True)  # the loader's groupby order
        if len(extra):
            open_cfg = st[~st["is_closed"].astype(bool)].sort_values("sort_order")
            last_open = open_cfg["sort_order"].max() if len(open_cfg) else 0
            positions = []
            for _, row in extra.iterrows():
                if row["is_closed"]:
                    positions.append(st["sort_order"].max() + 1)
                elif pd.notna(row["default_probability"]) and len(open_cfg):
                    below = open_cfg[open_cfg["default_probability"] <= row["default_probability"]]
                    positions.append((below["sort_order"].max() if len(below) else 0) + 0.5)
                else:
                    positions.append(last_open + 0.5)
            extra["sort_order"] = positions
            extra["inferred"] = True
            st = pd.concat([st, extra], ignore_index=True).sort_values("sort_order", kind="stable")
            st = st.reset_index(drop=True)
            st["sort_order"] = range(1, len(st) + 1)
    return st, origin


def _finish(chk: _Check, found, ignored, t0, kept=None, rules_for=None):
    """The check's figures: (ExportCheck, stages, currency book); ``rules_for``: only these tables' rules.

    ``kept``: table -> relation name; each such table's kept rows (live, no error) are a view there,
    every column of the typed table with ``__part`` and ``__row`` (their place in the files); it reads
    the check's table and ``<kept>_quarantined``.
    """
    import time

    merges = _split(chk)
    stages, origin = _stages(chk)
    live_codes = []
    for table in chk.present:
        if chk.has(table, "currency_iso_code") and table not in ("currencies", "dated_rates"):
            live_codes += [
                r[0]
                for r in chk.run(
                    f"SELECT DISTINCT currency_iso_code FROM {chk.rel(table)} "
                    "WHERE __status = '' AND currency_iso_code IS NOT NULL"
                )
            ]
    try:
        book = currency_book(_small(chk, "currencies"), _small(chk, "dated_rates"), codes=live_codes)
    except ValueError as exc:
        raise DataLoadError("CurrencyType", str(exc), column="IsCorporate", expected="one corporate currency") from None
    known: dict[str, str] = {}  # table -> SQL of its live keys
    for table in chk.present:
        key = TABLES[table].key
        if chk.has(table, key):
            known[table] = f"SELECT {_q(key)} AS k FROM {chk.rel(table)} WHERE __status = '' AND {_q(key)} IS NOT NULL"
    if "groups" in chk.present:
        kind = "lower(trim(type))" if chk.has("groups", "type") else "NULL"
        known["groups_queues"] = (
            f"SELECT group_id AS k FROM {chk.rel('groups')} WHERE __status = '' AND group_id IS NOT NULL "
            f"AND ({kind} = 'queue' OR {kind} IS NULL)"
        )
    for name, sql in known.items():
        chk.run(f"CREATE OR REPLACE TABLE {_q('k_' + name)} AS SELECT DISTINCT k FROM ({sql})")
    report = DataQualityReport()
    samples = []
    without_rate: dict[str, int] = {}
    for table in found:
        if rules_for is not None and table not in rules_for:
            continue
        counts, sample, n_without = _rules(
            chk, table, stages if table != "stages" else None, book, known, kept=(kept or {}).get(table)
        )
        if n_without:
            without_rate[table] = n_without
        report.add_table(table, **counts)
        samples.append(sample)
    report.ignored_files = list(ignored)
    report.stages_origin = origin
    report.currency = {**book.to_dict(), "without_rate": without_rate}
    cols = ["table", "row", "record_id", "column", "rule", "severity", "value", "file"]
    quarantine = pd.concat([s for s in samples if len(s)], ignore_index=True) if any(len(s) for s in samples) else None
    if quarantine is None:
        quarantine = pd.DataFrame(columns=cols)
    meta = {"source": str(chk.folder), "stages_origin": origin, "seconds": round(time.perf_counter() - t0, 3)}
    return ExportCheck(report, quarantine[cols], merges, meta), stages, book


def _rules(chk: _Check, table: str, stages, book, known, kept=None) -> tuple[dict, pd.DataFrame, int]:
    """One table's figures: (add_table keywords, sample of quarantined rows, rows without a rate).

    ``kept``: a view to make of the table's kept rows (live, breaking no error rule), with their
    ``__part`` and ``__row``.
    """
    spec = TABLES[table]
    rel = chk.rel(table)
    present = set(chk.present[table])
    key = spec.key
    issues: list[tuple[str, str, str, str]] = []  # (rule, severity, column, SQL condition)
    for col, rule, sev in chk.parse_cols[table]:
        issues.append((rule, sev, col, _q("__bad_" + col)))
    dup_sql = None
    key_checked = spec.column(key).required or key in present
    if key_checked and key in present:
        issues.append(("id_missing", ERROR, key, f"{_q(key)} IS NULL"))
        dup_sql = (
            f"SELECT {_q(key)} AS k, min((__part, __row)) AS first FROM {rel} WHERE __status = '' "
            f"AND {_q(key)} IS NOT NULL GROUP BY {_q(key)} HAVING count(*) > 1"
        )
        issues.append(("id_duplicate", ERROR, key, "(__d.k IS NOT NULL AND (__part, __row) <> __d.first)"))
    if "amount" in present and table in ("opportunities", "opportunity_history"):
        issues.append(("amount_negative", ERROR, "amount", "amount < 0"))
    for col in ("probability", "default_probability"):
        if col in present:
            issues.append(("probability_out_of_range", ERROR, col, f"NOT ({_q(col)} BETWEEN 0 AND 100)"))
    for col in ("actual_cost", "budgeted_cost"):
        if col in present:
            issues.append(("cost_negative", ERROR, col, f"{_q(col)} < 0"))
    if table == "opportunities" and "amount" in present:
        issues.append(("amount_missing", WARNING, "amount", "amount IS NULL"))
    if "email" in present:
        issues.append(("email_invalid", WARNING, "email", f"NOT regexp_full_match(email, {_lit(EMAIL_PATTERN)})"))
    if {"close_date", "created_date"} <= present and table == "opportunities":
        issues.append(("close_before_created", WARNING, "close_date", "close_date < CAST(created_date AS DATE)"))
    if {"converted_date", "created_date"} <= present and table == "leads":
        issues.append(
            ("converted_before_created", WARNING, "converted_date", "converted_date < CAST(created_date AS DATE)")
        )
    if {"start_date", "end_date"} <= present and table == "campaigns":
        issues.append(("end_before_start", WARNING, "end_date", "end_date < start_date"))
    joins = ""
    if (
        stages is not None
        and len(stages)
        and table in ("opportunities", "opportunity_history")
        and "stage_name" in present
    ):
        st = stages[["stage_name", "is_closed", "is_won"]].dropna(subset=["stage_name"]).drop_duplicates("stage_name")
        chk.eng.con.register("__stages_df", st.astype({"is_closed": bool, "is_won": bool}))
        chk.run("CREATE OR REPLACE TABLE __stages AS SELECT * FROM __stages_df")
        chk.eng.con.unregister("__stages_df")
        joins += " LEFT JOIN __stages __s ON __s.stage_name = t.stage_name"
        issues.append(("stage_unknown", WARNING, "stage_name", "(t.stage_name IS NOT NULL AND __s.stage_name IS NULL)"))
        if table == "opportunities" and {"is_closed", "is_won"} <= present:
            issues.append(
                (
                    "closed_flags_mismatch",
                    WARNING,
                    "is_closed",
                    "(__s.stage_name IS NOT NULL AND (__s.is_closed <> t.is_closed OR __s.is_won <> t.is_won))",
                )
            )
    for ref in spec.references:
        if ref.column not in present or ref.table not in known:
            continue
        sev = ERROR if ref.required else WARNING
        targets = [ref.table]
        if ref.column == "owner_id" and ref.table == OWNER_TABLES[0] and "groups_queues" in known:
            targets.append("groups_queues")  # only a queue owns records (validate.QUEUE_IDS)
        cond = " AND ".join(f"t.{_q(ref.column)} NOT IN (SELECT k FROM {_q('k_' + tt)})" for tt in targets)
        issues.append(("reference_unresolved", sev, ref.column, f"(t.{_q(ref.column)} IS NOT NULL AND {cond})"))
    money = [c for c in dict.fromkeys([*MONEY_COLUMNS.get(table, ())]) if c in present]
    n_without = 0
    if book.multi and money and "currency_iso_code" in present and table not in ("currencies", "dated_rates"):
        rated = sorted({book.corporate, *book.static, *(set(book.dated["iso_code"]) if len(book.dated) else set())})
        code = "upper(trim(t.currency_iso_code))"
        has_money = " OR ".join(f"t.{_q(c)} IS NOT NULL" for c in money)
        cond = f"({code} NOT IN ({', '.join(map(_lit, rated))}) AND ({has_money}))"
        issues.append(("currency_without_rate", WARNING, "currency_iso_code", cond))
    if dup_sql:
        chk.run(f"CREATE OR REPLACE TABLE __dups AS {dup_sql}")
        joins += " LEFT JOIN __dups __d ON __d.k = t." + _q(key)
    flag_cols = [f"coalesce({cond}, FALSE) AS __i{i}" for i, (_, _, _, cond) in enumerate(issues)]
    errors = [i for i, x in enumerate(issues) if x[1] == ERROR]
    err_any = " OR ".join(f"__i{i}" for i in errors) or "FALSE"
    warn_any = " OR ".join(f"__i{i}" for i, x in enumerate(issues) if x[1] == WARNING) or "FALSE"
    rule_names = sorted({r for r, *_ in issues})
    rule_cond = {
        r: " OR ".join(
            f"__i{i}" if sev == ERROR else f"(__i{i} AND NOT __bad)"
            for i, (rr, sev, _, _) in enumerate(issues)
            if rr == r
        )
        for r in rule_names
    }
    key_sel = f"t.{_q(key)} AS __key" if key in present else "NULL AS __key"
    rp = [c for c in chk.present[table] if f"__rp_{c}" in _columns(chk, table)]
    rp_cols = [f"__rp_{c}" for c in rp]
    chk.run(
        f"CREATE OR REPLACE TEMP VIEW __flags AS SELECT *, ({err_any}) AS __bad FROM (SELECT t.__file, t.__part, "
        f"t.__row, t.__status, {key_sel}, {', '.join([*flag_cols, *(f't.{_q(rp_col)}' for rp_col in rp_cols)]) or 'NULL AS __none'} "
        f"FROM {rel} t{joins})"
    )
    aggs = [
        "count(*) AS rows_read",
        "count(*) FILTER (WHERE __status = '' AND NOT __bad) AS rows_kept",
        "count(*) FILTER (WHERE __status = '' AND __bad) AS rows_quarantined",
        "count(*) FILTER (WHERE __status IN ('deleted', 'parent_deleted')) AS rows_deleted",
        "count(*) FILTER (WHERE __status = 'merged') AS rows_merged",
        f"count(*) FILTER (WHERE __status = '' AND NOT __bad AND ({warn_any})) AS rows_flagged",
        *(f"count(*) FILTER (WHERE __status = '' AND ({rule_cond[r]})) AS {_q('r_' + r)}" for r in rule_names),
        *(f"count(*) FILTER (WHERE __status = '' AND NOT __bad AND {_q('__rp_' + c)}) AS {_q('p_' + c)}" for c in rp),
        "list(DISTINCT __file) AS files",
        # each error rule's live rows: only the rules that fire are sampled
        *(f"count(*) FILTER (WHERE __status = '' AND __i{i}) AS __n{i}" for i in errors),
    ]
    if "currency_without_rate" in rule_names:
        i = next(i for i, x in enumerate(issues) if x[0] == "currency_without_rate")
        aggs.append(f"count(*) FILTER (WHERE __status = '' AND __i{i}) AS __without_rate")
    row = chk.df(f"SELECT {', '.join(aggs)} FROM __flags").iloc[0]
    stats = chk.stats.get(table, {})
    for c in rp:
        if int(row[f"p_{c}"]):
            stats[f"{c}:repointed_to_master"] = int(row[f"p_{c}"])
    if "currency_without_rate" in rule_names:
        n_without = int(row["__without_rate"])
    counts = {
        "rows_read": int(row["rows_read"]),
        "rows_kept": int(row["rows_kept"]),
        "rows_quarantined": int(row["rows_quarantined"]),
        "rows_deleted": int(row["rows_deleted"]),
        "rows_merged": int(row["rows_merged"]),
        "rows_flagged": int(row["rows_flagged"]),
        "rules": {r: int(row[f"r_{r}"]) for r in rule_names if int(row[f"r_{r}"])},
        "cleaning": stats,
        "files": sorted(str(f) for f in row["files"]),
    }
    firing = [i for i in errors if int(row[f"__n{i}"])]
    if firing or kept is not None:
        # the quarantined rows (live, breaking an error rule: few), in one more pass over the table
        chk.run(
            "CREATE OR REPLACE TEMP TABLE __quarantined AS SELECT __part, __row, __key, __file, "
            f"{', '.join([*(f'__i{i}' for i in firing), 'NULL AS __none'])} FROM __flags WHERE __status = '' AND __bad"
        )
    sample_parts = []
    for i in firing:
        rule, _, col, _ = issues[i]
        sample_parts.append(
            f'(SELECT {_lit(rule)} AS rule, {_lit(col)} AS "column", __row AS row, __key AS record_id, __file AS file '
            f"FROM __quarantined WHERE __i{i} ORDER BY __part, __row LIMIT {int(chk.per_rule)})"
        )
    sample = pd.DataFrame()
    if sample_parts:
        sample = chk.df(" UNION ALL ".join(sample_parts))
        sample.insert(0, "table", table)
        sample["severity"] = ERROR
        sample["value"] = None
        sample["record_id"] = sample["record_id"].astype("object")
    chk.run("DROP VIEW __flags")
    if kept is not None:
        # the rows the loader keeps: live and breaking no error rule; the few quarantined ones are
        # stored, the kept ones are a view (no copy of a wide table)
        gone = _q(kept + "_quarantined")
        chk.run(f"CREATE OR REPLACE TABLE {gone} AS SELECT __part, __row FROM __quarantined")
        chk.run(
            f"CREATE OR REPLACE VIEW {_q(kept)} AS SELECT t.* EXCLUDE (__status) FROM {rel} t "
            f"ANTI JOIN {gone} g ON g.__part = t.__part AND g.__row = t.__row WHERE t.__status = ''"
        )
    if firing or kept is not None:
        chk.run("DROP TABLE __quarantined")
    return counts, sample, n_without


def _columns(chk: _Check, table: str) -> set[str]:
    return {r[0] for r in chk.run(f"DESCRIBE {chk.rel(table)}")}
