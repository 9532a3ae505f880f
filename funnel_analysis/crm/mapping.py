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
from .schema import TABLES

__all__ = ["TableMapping", "Mapping", "Derived", "parse_derived", "load_mapping", "builtin_mappings", "default_stages"]

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
}


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
        than a name, or a file that maps no table; naming the file and what was
        expected.
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
