"""Reading CRM exports: CSV (pyarrow engine) and Parquet, into raw string frames.

The reader's job is narrow: find the files of an export folder, read every
column as text (so that nothing is lost before the parser has seen it), map
headers to canonical names and fail with one clear :class:`DataLoadError`
when a file cannot be used at all. It also reads the field definitions saved
beside an export file (``Lead.describe.json`` beside ``Lead.csv``: Salesforce's
describe result, ``{"name": "Lead", "fields": [{"name": "Score__c", "type":
"double"}, ...]}``), which type the columns the schema does not know. Typing, cleaning and validation happen in
:mod:`funnel_analysis.crm.parse`, :mod:`funnel_analysis.crm.clean` and
:mod:`funnel_analysis.crm.validate`; :func:`load_org` ties them together.

Examples
--------
>>> import funnel_analysis as fa
>>> crm = fa.load_org("../shared/realdata/salesforce_devorg_export_earthfink1982")  # doctest: +SKIP
>>> crm.report.rows_read("opportunities")  # doctest: +SKIP
36
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .._util.results import Unpackable
from .schema import TABLES, snake_case, table_for_file

__all__ = [
    "DataLoadError",
    "ExportFiles",
    "DESCRIBE_SUFFIX",
    "read_csv_text",
    "read_table_file",
    "find_export_files",
    "find_describe_files",
    "read_describe",
    "canonical_columns",
]

#: The end of a describe file's name: ``Lead.describe.json`` holds the field definitions of ``Lead.csv``.
DESCRIBE_SUFFIX = ".describe.json"

_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


class DataLoadError(ValueError):
    """A file that cannot be used at all: names the file, the column and what was expected.

    The message reads ``"<file>: column '<column>': <message> (expected <expected>)"``,
    the column and expectation only when given.

    Parameters
    ----------
    file : path-like or str
        The file (or folder, or frame label) that cannot be used.
    message : str
        What is wrong with it (``"does not exist"``, ``"is not valid utf-8: ..."``).
    column : str, optional
        The column at fault, when there is one.
    expected : str, optional
        What was expected instead, phrased to follow "expected"
        (``"a CSV with a header row"``).

    Attributes
    ----------
    file : str
        The file, as a string.
    column : str or None
        The column at fault, or None.
    expected : str or None
        What was expected, or None.
    """

    def __init__(self, file, message: str, *, column: str | None = None, expected: str | None = None):
        self.file = str(file)
        self.column = column
        self.expected = expected
        parts = [f"{self.file}:"]
        if column:
            parts.append(f"column {column!r}:")
        parts.append(message)
        if expected:
            parts.append(f"(expected {expected})")
        super().__init__(" ".join(parts))


def _header(path: Path, encoding: str) -> list[str]:
    try:
        with open(path, newline="", encoding=encoding) as fh:
            first = fh.readline()
    except UnicodeDecodeError as exc:
        raise DataLoadError(
            path,
            f"cannot be decoded as {encoding} ({exc.reason} at byte {exc.start})",
            expected="a UTF-8 CSV, or set `encoding:` in the mapping file",
        ) from None
    first = first.lstrip("\ufeff")
    if not first.strip():
        raise DataLoadError(path, "is empty: no header line", expected="a CSV with a header row")
    return next(csv.reader([first]))


def _line_breaks(path: Path) -> int:
    """Line feeds in a file after its header line (a memchr-speed pass over the bytes)."""
    n = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 24), b""):
            n += chunk.count(b"\n")
    return n - 1


def read_csv_text(path, *, encoding: str = "utf-8", delimiter: str = ",") -> pd.DataFrame:
    """Read a CSV with every column as text; empty fields become missing.

    Uses pyarrow's multithreaded reader. UTF-8 with or without a byte-order mark
    is read as is; another encoding is transcoded when given. A file that looks
    like it uses another delimiter, or that does not decode, raises
    :class:`DataLoadError`.

    Parameters
    ----------
    path : path-like
        The CSV file.
    encoding : str, default "utf-8"
        The file's text encoding.
    delimiter : str, default ","
        The field delimiter.

    Returns
    -------
    pandas.DataFrame
        One ``str`` column per header, rows in file order, a fresh RangeIndex.
    """
    path = Path(path)
    if not path.exists():
        raise DataLoadError(path, "does not exist")
    names = _header(path, encoding)
    if len(names) == 1 and delimiter == ",":
        for sep, label in _DELIMITERS.items():
            if sep in names[0]:
                raise DataLoadError(
                    path,
                    f"looks {label}-separated (header {names[0][:60]!r})",
                    expected="comma-separated values, or `delimiter:` in the mapping file",
                )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataLoadError(path, "header repeats a column name", column=dupes[0], expected="unique column names")

    def read(newlines_in_values: bool) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=newlines_in_values),
            convert_options=pacsv.ConvertOptions(
                # large_string is what pandas' str dtype holds: no copy when converting
                column_types={n: pa.large_string() for n in names},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )

    try:
        # the fast parallel parse assumes no newline inside a value; the count of line
        # breaks tells exactly whether that held, and if not the file is read again safely
        with ThreadPoolExecutor(max_workers=1) as pool:
            breaks = pool.submit(_line_breaks, path)  # counted while Arrow parses (it releases the GIL)
            try:
                table = read(newlines_in_values=False)
                safe = breaks.result() in (table.num_rows, table.num_rows - 1)  # with or without a final newline
            except pa.ArrowInvalid:
                safe = False
        if not safe:
            table = read(newlines_in_values=True)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        msg = str(exc).splitlines()[0]
        if "UTF8" in msg or "utf-8" in msg.lower() or isinstance(exc, UnicodeDecodeError):
            raise DataLoadError(
                path, f"is not valid {encoding}: {msg}", expected="UTF-8 text, or `encoding:` in the mapping file"
            ) from None
        raise DataLoadError(path, f"cannot be parsed as CSV: {msg}") from None
    return table.to_pandas()


def read_table_file(path, *, encoding: str = "utf-8", delimiter: str = ",") -> pd.DataFrame:
    """Read a CSV or Parquet file as text columns (Parquet values are cast to str).

    Parameters
    ----------
    path : path-like
        The file: ``.parquet`` (any case) is read as Parquet, anything else as
        CSV with :func:`read_csv_text`.
    encoding : str, default "utf-8"
        The CSV's text encoding (not used for Parquet).
    delimiter : str, default ","
        The CSV's field delimiter (not used for Parquet).

    Returns
    -------
    pandas.DataFrame
        One text column per source column, rows in file order, a fresh
        RangeIndex; empty CSV fields and Parquet nulls are missing.

    Raises
    ------
    DataLoadError
        When a CSV does not exist, is empty, does not decode, repeats a header
        or looks like it uses another delimiter (see :func:`read_csv_text`).
    """
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        table = pq.read_table(path)
        table = pa.table(
            {
                n: table[n].cast(pa.string()) if not pa.types.is_string(table[n].type) else table[n]
                for n in table.column_names
            }
        )
        return table.to_pandas()
    return read_csv_text(path, encoding=encoding, delimiter=delimiter)


@dataclass(frozen=True)
class ExportFiles(Unpackable):
    """The files of an export folder by table (unpacks as ``tables, ignored``).

    Attributes
    ----------
    tables : dict
        ``{table: [(path, activity_kind), ...]}``.
    ignored : list of Path
        Files of objects the model does not cover.
    """

    tables: dict
    ignored: list


def find_export_files(folder) -> ExportFiles:
    """Which canonical table each file of a Salesforce export folder holds.

    ``Task.csv`` and ``Event.csv`` both feed ``activities``. Files of objects
    the model does not cover (``Case.csv``, ``Branch__c.csv``) are returned as
    ignored so the data-quality report can list them. Only ``.csv`` and
    ``.parquet`` files are looked at (describe files, ``*.describe.json``, are
    field definitions, not data: see :func:`find_describe_files`); sub-folders
    are not searched.

    Parameters
    ----------
    folder : path-like
        The export folder.

    Returns
    -------
    ExportFiles
        ``tables``: ``{table: [(path, activity_kind), ...]}``, the files of
        each canonical table in name order (``activity_kind`` is ``"task"`` or
        ``"event"`` for activities, None otherwise); ``ignored``: the paths of
        the other files. Unpacks as ``tables, ignored``.

    Raises
    ------
    DataLoadError
        When ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataLoadError(folder, "is not a folder", expected="a folder with one CSV per Salesforce object")
    found: dict[str, list[tuple[Path, str | None]]] = {}
    ignored: list[Path] = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in (".csv", ".parquet") or not path.is_file():
            continue
        hit = table_for_file(path.stem)
        if hit is None:
            ignored.append(path)
            continue
        found.setdefault(hit.table, []).append((path, hit.activity_kind))
    return ExportFiles(found, ignored)


def find_describe_files(folder) -> Mapping[str, Path]:
    """The describe files of a folder, by the stem of the export file they describe.

    Parameters
    ----------
    folder : path-like
        The export folder.

    Returns
    -------
    Mapping of str to Path
        ``{"Lead": Path(".../Lead.describe.json"), ...}``, in name order: the key is the stem of
        the data file the definitions belong to (``Lead`` for ``Lead.csv``); empty when the
        folder holds none.

    Raises
    ------
    DataLoadError
        When ``folder`` is not a folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "Lead.describe.json").write_text('{"name": "Lead", "fields": []}')
    >>> list(find_describe_files(d))
    ['Lead']
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataLoadError(folder, "is not a folder", expected="a folder with one CSV per Salesforce object")
    return {
        p.name[: -len(DESCRIBE_SUFFIX)]: p
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name.lower().endswith(DESCRIBE_SUFFIX) and len(p.name) > len(DESCRIBE_SUFFIX)
    }


def read_describe(path) -> Mapping[str, str]:
    """The field types of a describe file: field API name -> Salesforce field type.

    The file holds Salesforce's describe result of one object (``GET
    /sobjects/<Object>/describe``), whole or cut to the fields' ``name`` and
    ``type``: ``{"name": "Lead", "fields": [{"name": "Zip__c", "type":
    "string"}, {"name": "Score__c", "type": "double"}]}``.

    Parameters
    ----------
    path : path-like
        The describe file (``Lead.describe.json``).

    Returns
    -------
    Mapping of str to str
        Field API name -> its describe type, lower-case (``"double"``,
        ``"currency"``, ``"picklist"``...), in the file's order.

    Raises
    ------
    DataLoadError
        When the file does not exist, is not JSON, or is not of that shape
        (no ``fields`` list, a field without a text ``name`` and ``type``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "Lead.describe.json"
    >>> _ = p.write_text('{"name": "Lead", "fields": [{"name": "Score__c", "type": "double"}]}')
    >>> dict(read_describe(p))
    {'Score__c': 'double'}
    """
    path = Path(path)
    if not path.exists():
        raise DataLoadError(path, "does not exist")
    expected = 'Salesforce\'s describe result, {"name": ..., "fields": [{"name": ..., "type": ...}]}'
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataLoadError(path, f"is not valid JSON: {str(exc).splitlines()[0]}", expected=expected) from None
    fields = doc.get("fields") if isinstance(doc, dict) else None
    if not isinstance(fields, list):
        raise DataLoadError(path, "has no `fields` list", expected=expected)
    out: dict[str, str] = {}
    for i, f in enumerate(fields):
        name = f.get("name") if isinstance(f, dict) else None
        kind = f.get("type") if isinstance(f, dict) else None
        if not isinstance(name, str) or not isinstance(kind, str) or not name or not kind:
            raise DataLoadError(path, f"field {i} has no text `name` and `type` ({f!r:.60})", expected=expected)
        out[name] = kind.strip().lower()
    return out


def _canonical_names(columns, table: str, rename: dict[str, str] | None = None) -> dict[str, str]:
    """Source header -> canonical name, as :func:`canonical_columns` renames them."""
    spec = TABLES[table]
    sf = spec.sf_rename()
    rename = rename or {}
    out: dict[str, str] = {}
    taken: set[str] = set()
    # explicit and standard names first, so that custom fields yield on a clash
    order = sorted(columns, key=lambda c: (c not in rename and c not in sf, c.endswith("__c")))
    for col in order:
        name = rename.get(col) or sf.get(col) or snake_case(col)
        if name in taken:
            name = snake_case(col.removesuffix("__c")) + "_c"
        taken.add(name)
        out[col] = name
    return out


def canonical_columns(raw: pd.DataFrame, table: str, rename: dict[str, str] | None = None) -> pd.DataFrame:
    """Rename source headers to canonical names; unknown ones become snake_case.

    ``rename`` (from a mapping file) wins over the Salesforce names of the
    schema. When two headers land on one name (``Industry`` and ``Industry__c``),
    the custom field keeps a ``_c`` suffix so nothing is overwritten.

    Parameters
    ----------
    raw : pandas.DataFrame
        The frame as read, with source headers.
    table : str
        The canonical table it holds (a key of ``TABLES``: ``"leads"``,
        ``"opportunities"``...), whose Salesforce names are used.
    rename : dict of str to str, optional
        Source header -> canonical name, from a mapping file; wins over the
        schema's Salesforce names. ``None`` (the default): no explicit names.

    Returns
    -------
    pandas.DataFrame
        ``raw`` with its columns renamed (the values and column order are
        unchanged; the input is not modified).
    """
    return raw.rename(columns=_canonical_names(raw.columns, table, rename))
