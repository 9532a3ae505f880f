"""Declarative mapping files: how a non-Salesforce export becomes the canonical model.

A mapping is YAML. Per canonical table it names the file(s), renames source
columns, maps values (stage or source names), treats placeholder values as
missing, gives date formats and derives columns the source lacks. It can also carry the org's
stages.

A ``derive:`` value is never executed as code. It is one of:

- a column name (``account_id``): a copy of that column;
- a literal (``'task'``, ``42``, ``true``): a constant;
- an expression of the safe grammar of :mod:`funnel_analysis.crm.expression`
  (``stage_name in ('Won', 'Lost')``, ``amount > 0 and close_date is not null``): a true/false
  column, unknown (missing) where a value it compares is missing.

``activity_kind:`` (table ``activities`` only) says whether the table's files hold tasks or
events.

``join:`` (a list) takes columns from another file by key, as a left join that never adds rows:
``on`` pairs this table's canonical column with the joined file's column, ``columns`` names the
joined file's columns to take (joined column -> this table's canonical column), ``exists`` names a
true/false column, true where a row matched, and ``repeated`` says which row wins when a key repeats
in the joined file (``{keep: earliest, by: created_at}`` or ``keep: latest``, by a date column of the
joined file; rows with the same date keep the one first in the file, rows without a date come last).
Without ``repeated``, a repeated key is refused with one line naming the file, the column and a
value. The joined columns are typed, cleaned and seen by ``derive:`` like the table's own.

``types:`` gives the kind (one of the schema's ``KINDS``) of columns the schema does not know
(``{score: float, zip: str}``): they are parsed as such, and a value that does not parse is flagged
(``custom_value_unparseable``), never quarantined. Columns never get a type from their values.

.. code-block:: yaml

    name: maven_crm
    tables:
      opportunities:
        files: [sales_pipeline.csv]
        columns: {deal_stage: stage_name, engage_date: created_date, close_value: amount}
        values:
          stage_name: {Won: Closed Won, Lost: Closed Lost}
        null_values: [Select]
        date_formats: {close_date: "%Y-%m-%d"}
        derive:
          is_closed: "stage_name in ('Closed Won', 'Closed Lost')"
      leads:
        files: [leads.csv]
        columns: {id: lead_id, created_at: created_date}
        types: {score: float}
        join:
          - file: deals.csv
            on: {lead_id: lead_id}
            columns: {deal_id: converted_opportunity_id}
            exists: has_deal
            repeated: {keep: earliest, by: created_at}
        derive:
          is_converted: has_deal
    stages:
      - {stage_name: Prospecting, sort_order: 1, default_probability: 10, is_closed: false, is_won: false}

Examples
--------
>>> m = load_mapping("maven_crm")
>>> m.tables["opportunities"].columns["deal_stage"]
'stage_name'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

from .read import DataLoadError
from .schema import KINDS, TABLES

__all__ = [
    "TableMapping",
    "Join",
    "Mapping",
    "Derived",
    "parse_derived",
    "load_mapping",
    "builtin_mappings",
    "default_stages",
]

_TABLE_KEYS = {
    "files",
    "columns",
    "values",
    "null_values",
    "derive",
    "date_formats",
    "encoding",
    "delimiter",
    "timezone",
    "activity_kind",
    "join",
    "types",
}
_JOIN_KEYS = {"file", "on", "columns", "exists", "repeated", "encoding", "delimiter"}
_REPEATED_KEYS = {"keep", "by"}
_KEEP = ("earliest", "latest")


@dataclass(frozen=True)
class Join:
    """One ``join:`` entry of a table: columns taken from another file by key.

    Attributes
    ----------
    file : str
        The joined file, relative to the export folder.
    on : dict of str to str
        This table's canonical column -> the joined file's column; several pairs make one key.
    columns : dict of str to str
        The joined file's column -> this table's canonical column it fills.
    exists : str or None
        A true/false column, true where a row of the joined file matched (default None: none).
    keep : str or None
        ``"earliest"`` or ``"latest"``: which row wins when a key repeats in the joined file,
        by the date in ``by``; None (the default) refuses a repeated key.
    by : str or None
        The joined file's date column ``keep`` orders by.
    encoding : str or None
        The joined file's encoding (default None: the table's).
    delimiter : str or None
        The joined file's delimiter (default None: the table's).
    """

    file: str
    on: dict[str, str]
    columns: dict[str, str] = field(default_factory=dict)
    exists: str | None = None
    keep: str | None = None
    by: str | None = None
    encoding: str | None = None
    delimiter: str | None = None


@dataclass
class TableMapping:
    """How one canonical table is read from a source.

    Attributes
    ----------
    files : list of str
        The source file(s) of the table, relative to the export folder; their
        rows are concatenated.
    columns : dict of str to str
        Source column name -> canonical column name. Columns not named keep
        their name (and are matched to the schema as Salesforce names are).
    values : dict of str to dict of str to str
        Per canonical column, source value -> canonical value (``Won`` ->
        ``Closed Won``).
    null_values : list of str
        Placeholder values read as missing in every text column (``Select``).
    derive : dict of str to str
        Canonical column -> a column name, a literal, or an expression of the safe grammar
        (see the module notes), for columns the source does not carry.
    date_formats : dict of str to str
        Canonical column -> ``strftime`` format of its dates.
    encoding : str
        The files' text encoding (default ``"utf-8"``).
    delimiter : str
        The CSV field delimiter (default ``","``).
    timezone : str
        The time zone of naive date-times in the files (default ``"UTC"``).
    activity_kind : str or None
        ``"task"`` or ``"event"``: what the files of the ``activities`` table hold (default None:
        the kind is unknown, or comes from a column).
    joins : list of Join
        Columns taken from other files by key (see :class:`Join`), in the order written.
    types : dict of str to str
        Canonical column the schema does not know -> its kind (one of ``KINDS``).
    mapping_file : str or None
        The mapping file this came from, for error messages.
    """

    files: list[str]
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    null_values: list[str] = field(default_factory=list)
    derive: dict[str, str] = field(default_factory=dict)
    date_formats: dict[str, str] = field(default_factory=dict)
    encoding: str = "utf-8"
    delimiter: str = ","
    timezone: str = "UTC"
    activity_kind: str | None = None
    joins: list[Join] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    mapping_file: str | None = None


@dataclass(frozen=True)
class Derived:
    """One parsed ``derive:`` value: what it is and its content.

    Attributes
    ----------
    kind : str
        ``"column"`` (a copy), ``"constant"``, or ``"expression"`` (a true/false column).
    value : object
        The column name, the constant, or the parsed :class:`~funnel_analysis.crm.expression.Expression`.
    text : str
        The text as written in the mapping.
    """

    kind: str
    value: object
    text: str


_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_QUOTED = re.compile(r"^'((?:[^']|'')*)'$|^\"((?:[^\"]|\"\")*)\"$")


def parse_derived(text) -> Derived:
    """Parse a ``derive:`` value: a column name, a literal, or a safe-grammar expression.

    Parameters
    ----------
    text : str, int, float or bool
        The value as YAML gave it.

    Returns
    -------
    Derived
        What it is and its content; nothing in it is ever executed.

    Raises
    ------
    ExpressionError
        When the text is none of the three (the message gives the position and what was expected).

    Examples
    --------
    >>> parse_derived("account_id").kind
    'column'
    >>> parse_derived("'task'").value
    'task'
    >>> str(parse_derived("stage_name in ('Won', 'Lost')").value)
    "stage_name in ('Won', 'Lost')"
    """
    from .expression import parse_expression

    if isinstance(text, bool) or isinstance(text, (int, float)):
        return Derived("constant", text, str(text))
    raw = str(text).strip()
    low = raw.lower()
    if low in ("true", "false"):
        return Derived("constant", low == "true", raw)
    if _NAME.match(raw) and low not in ("and", "or", "not", "in", "is", "null"):
        return Derived("column", raw, raw)
    if _NUMBER.match(raw):
        return Derived("constant", float(raw) if any(c in raw for c in ".eE") else int(raw), raw)
    quoted = _QUOTED.match(raw)
    if quoted:
        body = quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
        q = "'" if quoted.group(1) is not None else '"'
        return Derived("constant", body.replace(q + q, q), raw)
    return Derived("expression", parse_expression(raw, label="derive"), raw)


@dataclass
class Mapping:
    """A parsed mapping file.

    Attributes
    ----------
    name : str
        The mapping's name (its ``name:`` key, else the file's stem).
    tables : dict of str to TableMapping
        Canonical table name -> how it is read.
    stages : list of dict, optional
        The org's stages (rows of the ``stages`` table: ``stage_name``,
        ``sort_order``, ``default_probability``, ``is_closed``, ``is_won``);
        ``None`` when the mapping carries none.
    source : str, optional
        The path of the mapping file read.
    description : str
        Free text from the file's ``description:`` key (default empty).
    """

    name: str
    tables: dict[str, TableMapping]
    stages: list[dict] | None = None
    source: str | None = None
    description: str = ""


def builtin_mappings() -> list[str]:
    """Names of the mappings shipped with the package (``funnel_analysis/crm/mappings``).

    Returns
    -------
    list of str
        The names, sorted, without ``.yaml`` (``["maven_crm", "x_education"]``):
        each can be passed to :func:`load_mapping`.
    """
    return sorted(
        p.name.removesuffix(".yaml")
        for p in resources.files("funnel_analysis.crm.mappings").iterdir()
        if p.name.endswith(".yaml")
    )


def load_mapping(path_or_name) -> Mapping:
    """Read and check a mapping file, or a built-in one by name (``maven_crm``).

    Parameters
    ----------
    path_or_name : path-like, str or Mapping
        The path of a YAML mapping file, or the name of a built-in mapping
        (see :func:`builtin_mappings`); a :class:`Mapping` is returned as it is.

    Returns
    -------
    Mapping
        The parsed mapping: its name, one :class:`TableMapping` per table, and
        the stages when it carries them.

    Raises
    ------
    DataLoadError
        For a file that does not exist or is not valid YAML, an unknown table
        or key, a table without ``files``, a column mapped to something other
        than a name, a ``join:`` or ``types:`` entry that is not well formed (an
        unknown key, no ``on``, a ``by`` without ``keep``, two sources for one
        column, a kind not in ``KINDS``), or a file that maps no table; naming
        the file and what was expected.

    Examples
    --------
    >>> m = load_mapping("leads_and_deals")
    >>> j = m.tables["leads"].joins[0]
    >>> j.file, j.on, j.keep, j.by
    ('deals.csv', {'lead_id': 'lead_id'}, 'earliest', 'created_at')
    """
    if isinstance(path_or_name, Mapping):
        return path_or_name
    path = Path(path_or_name)
    if not path.exists() and str(path_or_name) in builtin_mappings():
        path = Path(str(resources.files("funnel_analysis.crm.mappings") / f"{path_or_name}.yaml"))
    if not path.exists():
        raise DataLoadError(
            path, "mapping file does not exist", expected=f"a YAML file, or one of {builtin_mappings()}"
        )
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataLoadError(path, f"is not valid YAML: {exc}") from None
    tables = {}
    for table, body in (doc.get("tables") or {}).items():
        if table not in TABLES:
            raise DataLoadError(path, f"unknown table {table!r}", expected=f"one of {sorted(TABLES)}")
        unknown = set(body) - _TABLE_KEYS
        if unknown:
            raise DataLoadError(
                path,
                f"unknown key(s) {sorted(unknown)} under table {table!r}",
                expected=f"keys among {sorted(_TABLE_KEYS)}",
            )
        files = body.get("files")
        if not files:
            raise DataLoadError(path, f"table {table!r} names no `files`", expected="a list of file names")
        for src, dst in (body.get("columns") or {}).items():
            if not isinstance(dst, str):
                raise DataLoadError(
                    path, f"column {src!r} of {table!r} maps to {dst!r}", expected="a canonical column name"
                )
        derive = dict(body.get("derive") or {})
        for key, text in derive.items():
            try:
                parse_derived(text)
            except ValueError as exc:  # ExpressionError: one line, the position and what was expected
                raise DataLoadError(
                    path,
                    f"table {table!r}, derive {key!r}: {str(exc).splitlines()[0]}",
                    expected="a column name, a literal or an expression such as stage_name in ('Won', 'Lost')",
                ) from None
        joins = _parse_joins(path, table, body.get("join"), dict(body.get("columns") or {}))
        types = _parse_types(path, table, body.get("types"))
        kind = body.get("activity_kind")
        if kind is not None:
            if table != "activities":
                raise DataLoadError(
                    path, f"activity_kind under table {table!r}", expected="activity_kind under table 'activities'"
                )
            if str(kind).strip().lower() not in ("task", "event"):
                raise DataLoadError(path, f"activity_kind {kind!r} of table {table!r}", expected="task or event")
        tables[table] = TableMapping(
            files=list(files) if isinstance(files, list) else [files],
            columns=dict(body.get("columns") or {}),
            values={k: {str(a): b for a, b in v.items()} for k, v in (body.get("values") or {}).items()},
            null_values=[str(v) for v in body.get("null_values") or []],
            derive=derive,
            date_formats=dict(body.get("date_formats") or {}),
            encoding=body.get("encoding", "utf-8"),
            delimiter=body.get("delimiter", ","),
            timezone=body.get("timezone", "UTC"),
            activity_kind=str(kind).strip().lower() if kind is not None else None,
            joins=joins,
            types=types,
            mapping_file=str(path),
        )
    if not tables:
        raise DataLoadError(path, "maps no tables", expected="a `tables:` section")
    return Mapping(
        name=doc.get("name", path.stem),
        tables=tables,
        stages=doc.get("stages"),
        source=str(path),
        description=doc.get("description", ""),
    )


def _names(value) -> bool:
    """A non-empty mapping of names to names."""
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(k, str) and isinstance(v, str) and k and v for k, v in value.items())
    )


def _parse_joins(path, table: str, raw, columns: dict) -> list[Join]:
    """The ``join:`` list of one table, checked: every problem is one line naming the entry."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not raw:
        raise DataLoadError(path, f"`join` of table {table!r} is not a list", expected="a list of joins, `- file: ...`")
    out: list[Join] = []
    written = {dst: f"columns: {src}" for src, dst in columns.items()}
    spec = TABLES[table]
    for i, body in enumerate(raw, 1):
        where = f"table {table!r}, join {i}"
        if not isinstance(body, dict):
            raise DataLoadError(path, f"{where} is {body!r}", expected="a mapping with file, on and columns")
        # YAML 1.1 (PyYAML) reads a bare `on` key as the boolean true
        body = {("on" if k is True else k): v for k, v in body.items()}
        unknown = set(body) - _JOIN_KEYS
        if unknown:
            raise DataLoadError(
                path, f"{where}: unknown key(s) {sorted(unknown)}", expected=f"keys among {sorted(_JOIN_KEYS)}"
            )
        file = body.get("file")
        if not isinstance(file, str) or not file.strip():
            raise DataLoadError(path, f"{where} names no `file`", expected="the joined file's name")
        where = f"table {table!r}, join {file!r}"
        on = body.get("on")
        if not _names(on):
            raise DataLoadError(
                path, f"{where}: `on` is {on!r}", expected="{this table's column: the joined file's column}"
            )
        cols = body.get("columns") or {}
        if cols and not _names(cols):
            raise DataLoadError(
                path, f"{where}: `columns` is {cols!r}", expected="{joined file's column: this table's column}"
            )
        exists = body.get("exists")
        if exists is not None and (not isinstance(exists, str) or not exists.strip()):
            raise DataLoadError(path, f"{where}: `exists` is {exists!r}", expected="a column name")
        if not cols and exists is None:
            raise DataLoadError(path, f"{where} takes nothing", expected="`columns`, `exists` or both")
        if exists is not None and spec.kinds().get(exists, "bool") != "bool":
            raise DataLoadError(
                path,
                f"{where}: `exists` writes {exists!r}, a {spec.kinds()[exists]} column of the schema",
                expected="a true/false column",
            )
        for dst in [*cols.values(), *([exists] if exists else [])]:
            if dst in written:
                raise DataLoadError(
                    path,
                    f"{where} writes column {dst!r}, which {written[dst]} writes too",
                    expected="one source per column",
                )
            written[dst] = f"join {file!r}"
        rep = body.get("repeated")
        keep = by = None
        if rep is not None:
            if not isinstance(rep, dict) or set(rep) - _REPEATED_KEYS:
                raise DataLoadError(
                    path, f"{where}: `repeated` is {rep!r}", expected="{keep: earliest or latest, by: a date column}"
                )
            keep, by = rep.get("keep"), rep.get("by")
            if keep is None:
                raise DataLoadError(
                    path, f"{where}: `repeated` gives `by` without `keep`", expected="keep: earliest or latest"
                )
            if keep not in _KEEP:
                raise DataLoadError(path, f"{where}: keep {keep!r}", expected="earliest or latest")
            if not isinstance(by, str) or not by.strip():
                raise DataLoadError(
                    path, f"{where}: keep {keep} without `by`", expected="by: a date column of the joined file"
                )
        out.append(
            Join(
                file=file,
                on=dict(on),
                columns=dict(cols),
                exists=exists,
                keep=keep,
                by=by,
                encoding=body.get("encoding"),
                delimiter=body.get("delimiter"),
            )
        )
    return out


def _parse_types(path, table: str, raw) -> dict[str, str]:
    """The ``types:`` of one table: kinds of columns the schema does not know."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise DataLoadError(path, f"`types` of table {table!r} is {raw!r}", expected="{column: kind}")
    schema = TABLES[table].kinds()
    out = {}
    for col, kind in raw.items():
        if kind not in KINDS:
            raise DataLoadError(
                path, f"table {table!r}, types: column {col!r} has kind {kind!r}", expected=f"one of {list(KINDS)}"
            )
        if col in schema and schema[col] != kind:
            raise DataLoadError(
                path,
                f"table {table!r}, types: column {col!r} is a {schema[col]} column of the schema",
                expected="types only for columns the schema does not know",
            )
        out[str(col)] = kind
    return out


def default_stages() -> pd.DataFrame:
    """Salesforce's standard stage picklist, from ``crm/stages.yaml``.

    Returns
    -------
    DataFrame
        One row per stage: ``stage_name``, ``sort_order``, ``default_probability``, ``is_closed``,
        ``is_won``, ``forecast_category`` (the columns of the ``stages`` table).
    """
    text = (resources.files("funnel_analysis.crm") / "stages.yaml").read_text(encoding="utf-8")
    return pd.DataFrame(yaml.safe_load(text)["stages"])
