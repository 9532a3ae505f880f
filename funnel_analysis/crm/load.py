"""Loading an org: read -> rename -> type -> clean -> validate -> quarantine -> CrmData.

:func:`load_org` reads a Salesforce export folder (or any folder through a
mapping file, or a Parquet cache written by :meth:`CrmData.to_parquet`);
:func:`load_frames` does the same for frames already in memory (for example
from the Salesforce API). Row accounting holds for every table: rows read =
rows kept + rows quarantined (+ deleted + merged); every quarantined row is kept, with its
rule, in ``crm.quarantine`` and ``crm.quarantined_rows``.

A mapping's ``join:`` takes columns from a second file by key before typing: a left join that
never adds a row (checked, many rows to one), so row accounting is that of the table's own files;
the cleaning report counts the rows that matched (``join:<file>:matched``) and the repeated keys a
``repeated:`` rule resolved (``join:<file>:repeated_keys_resolved``). Columns the schema does not
know are typed by the describe file beside their export file (``Lead.describe.json``) or by the
mapping's ``types:``, never by their values; a value that does not parse for its type is flagged
(``custom_value_unparseable``), not quarantined, and a custom ``currency`` field converts to the
corporate currency like the schema's money.

Examples
--------
>>> crm = load_org("../shared/realdata/salesforce_devorg_export_earthfink1982")  # doctest: +SKIP
>>> crm.report.table()  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import importlib
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from . import clean
from .currency import convert_money, currency_book
from .deleted import deleted_flag, split_deleted
from .field_history import HISTORY_TABLES, history_value_issues
from .ids import widen_ids
from .mapping import Mapping, TableMapping, default_stages, load_mapping
from .model import CrmData, DataQualityReport
from .parse import describe_kind, parse_column, parse_datetime
from .read import (
    DataLoadError,
    _canonical_names,
    find_describe_files,
    find_export_files,
    read_describe,
    read_table_file,
)
from .schema import TABLES, snake_case
from .validate import ERROR, ISSUE_COLUMNS, QUEUE_IDS, WARNING, validate_table

__all__ = ["load_org", "load_frames", "DataLoadError", "files_fingerprint"]

_EMPTY_DTYPES = {
    "id": "str",
    "str": "str",
    "picklist": "str",
    "email": "str",
    "phone": "str",
    "bool": "boolean",
    "datetime": "datetime64[us, UTC]",
    "date": "datetime64[us]",
    "float": "float64",
    "int": "float64",
}


def files_fingerprint(paths) -> str:
    """The data fingerprint of an org read from ``paths``: a hash of their names and bytes, in name order.

    What ``crm.meta["fingerprint"]`` holds for an export folder (its files and the describe files of
    their objects), so that two loads of the same files, on any path, name the same data.

    Parameters
    ----------
    paths : iterable of Path
        The files read.

    Returns
    -------
    str
        32 hexadecimal characters (BLAKE2b, 16 bytes).

    Examples
    --------
    >>> from pathlib import Path
    >>> len(files_fingerprint([Path(__file__)]))
    32
    """
    return _fingerprint(paths)


def _fingerprint(paths) -> str:
    h = hashlib.blake2b(digest_size=16)
    for p in sorted(paths):
        h.update(p.name.encode())
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                h.update(chunk)
    return h.hexdigest()


def load_org(
    path,
    *,
    mapping=None,
    source: str | None = None,
    schema: str | None = None,
    progress: bool = False,
    engine: str = "pandas",
    engine_options: dict | None = None,
    engine_only: bool = False,
) -> CrmData:
    """Load, validate and clean a CRM export folder, or a synced database, into a :class:`CrmData`.

    Parameters
    ----------
    path : path-like or str
        A Salesforce export folder (``Lead.csv``, ``Opportunity.csv``, ...), any
        folder described by ``mapping``, a Parquet cache (has ``crm.json``), or a
        database URL where Fivetran or Airbyte synced the org
        (``postgresql://[user@]host[:port]/database``, ``duckdb:///file.duckdb``;
        read by :mod:`funnel_analysis.crm.warehouse`). A URL never carries the
        password: it comes from ``PGPASSWORD`` (or ``~/.pgpass``) or
        ``FUNNEL_DB_PASSWORD``; a URL with one is refused.
    mapping : path-like, str or Mapping, optional
        A mapping file, or the name of a built-in mapping (``maven_crm``,
        ``x_education``). For a database, its ``columns:`` name custom columns to read.
    source : str, optional
        For a database URL: the connector's layout, ``"fivetran"``, ``"airbyte"``,
        ``"api"`` or ``"auto"`` (None, the default: detected from the columns).
    schema : str, optional
        For a database URL: the schema to read (default the profile's: ``salesforce``
        for Fivetran, ``public`` for Airbyte).
    progress : bool
        Show a progress bar over the tables.
    engine : {"pandas", "duckdb", "spark"}, default "pandas"
        Where the analyses that have an engine path run (#19): ``"pandas"``, the reference, or an
        engine of :mod:`funnel_analysis.engine` in which the org's tables are registered (a
        Parquet cache is read in place) and attached to the returned org
        (:func:`funnel_analysis.engine.attach.engine_of`); ``funnel.report.kpis`` then runs there.
    engine_options : dict, optional
        Passed to :func:`funnel_analysis.engine.connect` (``memory_limit``, ``temp_directory``,
        ``threads``).
    engine_only : bool, default False
        Build the org's tables in the engine from the export itself and hold none of them in pandas
        (:func:`funnel_analysis.engine.attach.export_org`: ``EngineOrg.from_export``, DuckDB, for
        exports larger than memory; a Parquet cache is read in place by any engine). The org holds
        only the stages; the report entry points run where their engine path covers the options
        asked for, with ``as_of`` given (``meta["latest_date"]``). Any other computation (an
        option without engine path) reads the tables it needs in pandas: from a Parquet cache,
        on first use (:func:`funnel_analysis.engine.attach.cached_tables`); from an export folder
        it stops with one line (:class:`~funnel_analysis.crm.model.EngineOnlyError`). Not for a mapping or a database
        URL. Spelled after ``engine`` and ``engine_options`` (one prefix for what concerns the
        engine) and saying what the org holds (not ``in_memory=``: a DuckDB database in memory is
        still engine-only, and an engine-only org spills to disk).

    Returns
    -------
    CrmData
        The org: the kept rows of every table found (``crm.tables``, and
        ``crm.leads``, ``crm.opportunities``...), the stages table (from the
        export, the mapping or the default stages), the quarantined rows with
        their rules (``crm.quarantine``, ``crm.quarantined_rows``), the warnings
        on kept rows (``crm.flags``), the data-quality report and ``crm.meta``
        (source, mapping, fingerprint of the files read, load time). A Parquet
        cache is read back as it was written. From a database: ``meta["source"]``
        is the URL (it never holds a password), ``meta["fingerprint"]`` a hash of
        every table's row counts and latest sync time (``_fivetran_synced``,
        ``_airbyte_extracted_at`` or ``SystemModstamp``), and ``meta["warehouse"]``
        what was counted in the database per table (rows, deleted, history
        versions not current, columns in the table and read) and the reader's notes;
        a quarantined row's ``row`` is its ``Id``.

    Raises
    ------
    DataLoadError
        When a file cannot be used at all (missing required column, wrong
        delimiter, undecodable bytes), naming the file, column and expectation;
        also when ``path`` holds no file of a known object, when a file the
        mapping names (a table's or a join's) does not exist, when a join's key
        repeats in the joined file without a ``repeated:`` rule, or when a
        describe file (``<file stem>.describe.json``) is not Salesforce's
        describe shape. For a database: a URL with a password, an unreachable
        database, refused credentials, a missing schema, no table for Lead or
        Opportunity, a connection lost while reading (one line, the URL without
        password first); ``source``/``schema`` given for a folder.
    ValueError
        ``engine_only`` with ``engine="pandas"``, a mapping, ``source``/``schema`` or a database URL;
        :class:`~funnel_analysis.engine.EngineError` (a ``ValueError``) for an export folder with
        another engine than DuckDB.
    """
    from .warehouse import is_database_url

    if engine_only:
        if engine == "pandas":
            raise ValueError("load_org: engine_only=True builds the tables in an engine: give engine='duckdb'")
        if mapping is not None or source is not None or schema is not None or is_database_url(path):
            raise ValueError(
                "load_org: engine_only=True reads a Salesforce export folder or a Parquet cache, "
                "not a mapping or a database"
            )
        # the engine package imports the data model: found by name here (as below)
        plugin = importlib.import_module("..engine.attach", __package__)
        return plugin.export_org(path, engine=engine, options=engine_options)
    if engine != "pandas":
        crm = load_org(path, mapping=mapping, source=source, schema=schema, progress=progress)
        # the engine package imports the data model; it is found by name here (a plugin, like
        # engine.connect's), so that the modules' import graph keeps one direction
        cached = mapping is None and not is_database_url(path) and (Path(path) / "crm.json").exists()
        plugin = importlib.import_module("..engine.attach", __package__)
        plugin.attach_engine(crm, engine=engine, options=engine_options, parquet=Path(path) if cached else None)
        return crm
    if is_database_url(path):
        return _load_database(str(path), mapping=mapping, source=source, schema=schema, progress=progress)
    if source is not None or schema is not None:
        raise DataLoadError(
            path, "source= and schema= are for a database URL, not a folder", expected="postgresql://host/database"
        )
    folder = Path(path)
    if (folder / "crm.json").exists() and mapping is None:
        return CrmData.from_parquet(folder)
    t0 = time.perf_counter()
    m = load_mapping(mapping) if mapping is not None else None
    sources: dict[str, list[tuple[str, pd.DataFrame, str | None]]] = {}
    paths: list[Path] = []
    ignored: list[str] = []
    joined: dict[str, dict] = {}
    if m is None:
        found, ign = find_export_files(folder)
        ignored = [p.name for p in ign]
        for table, files in found.items():
            for p, kind in files:
                # read lazily, table by table, so that raw text never sits in memory all at once
                sources.setdefault(table, []).append((p.name, partial(read_table_file, p), kind))
                paths.append(p)
    else:
        if not folder.is_dir():
            raise DataLoadError(folder, "is not a folder", expected="the folder the mapping's files are in")
        for table, tm in m.tables.items():
            for name in tm.files:
                p = folder / name
                if not p.exists():
                    raise DataLoadError(p, f"named by mapping {m.name!r} for table {table!r} does not exist")
                sources.setdefault(table, []).append(
                    (p.name, partial(read_table_file, p, encoding=tm.encoding, delimiter=tm.delimiter), None)
                )
                paths.append(p)
            for join in tm.joins:  # every joined file is checked before anything is read
                p = folder / join.file
                if not p.exists():
                    raise DataLoadError(p, f"joined by mapping {m.name!r} to table {table!r} does not exist")
                enc, sep = join.encoding or tm.encoding, join.delimiter or tm.delimiter
                joined.setdefault(table, {})[join.file] = partial(read_table_file, p, encoding=enc, delimiter=sep)
                if p not in paths:
                    paths.append(p)
    if not sources:
        raise DataLoadError(
            folder, "holds no file of a known object", expected="Lead.csv, Opportunity.csv, ... or a mapping file"
        )
    stems = {Path(label).stem for parts in sources.values() for label, _, _ in parts}
    describes = {s: read_describe(p) for s, p in find_describe_files(folder).items() if s in stems}
    crm = _build(
        sources, mapping=m, source=str(folder), ignored=ignored, progress=progress, joined=joined, describes=describes
    )
    paths += [find_describe_files(folder)[s] for s in sorted(describes)]
    crm.meta["fingerprint"] = _fingerprint(paths)
    crm.meta["load_seconds"] = round(time.perf_counter() - t0, 3)
    return crm


def _load_database(url: str, *, mapping, source, schema, progress) -> CrmData:
    """A synced schema read (:func:`~funnel_analysis.crm.warehouse.read_warehouse`), then built as files are."""
    from .warehouse import read_warehouse, warehouse_objects

    t0 = time.perf_counter()
    m = load_mapping(mapping) if mapping is not None else None
    for table, tm in (m.tables if m else {}).items():
        if tm.joins:
            raise DataLoadError(
                m.source or m.name,
                f"table {table!r} joins {tm.joins[0].file!r}, a file: a database has none",
                expected="a mapping without `join:`",
            )
    read = read_warehouse(url, source=source, schema=schema, mapping=m, progress=progress)
    objects = warehouse_objects()
    sources: dict[str, list] = {}
    for obj, df in read.frames.items():
        table, kind = objects[obj]
        spec = TABLES[table]
        key = "Id" if "Id" in df.columns else spec.column(spec.key).sf_name
        sources.setdefault(table, []).append((read.labels[obj], df, kind, key))
    crm = _build(sources, mapping=m, source=read.url, ignored=[], progress=progress)
    for obj, counts in read.counts.items():
        table = objects[obj].table
        if counts["versions_not_current"] and table in crm.report.tables:
            cleaning = crm.report.tables[table].setdefault("cleaning", {})
            key = f"{read.labels[obj]}:history_versions_not_current"
            cleaning[key] = cleaning.get(key, 0) + counts["versions_not_current"]
    crm.meta["fingerprint"] = read.fingerprint
    crm.meta["warehouse"] = {"source": read.source, "schema": read.schema, "tables": read.counts, "notes": read.notes}
    crm.meta["load_seconds"] = round(time.perf_counter() - t0, 3)
    return crm


def load_frames(
    frames: dict[str, pd.DataFrame],
    *,
    source: str = "frames",
    mapping=None,
    describe: dict | None = None,
    progress: bool = False,
) -> CrmData:
    """Load in-memory frames keyed by Salesforce object name (``"Lead"``, ``"Event"``...).

    Columns are API field names; values may be text or typed. This is the
    entry point for the Salesforce API reader (:mod:`funnel_analysis.crm.salesforce`).

    Parameters
    ----------
    frames : dict of str to pandas.DataFrame
        One frame per object, keyed by Salesforce object name (or file stem,
        as :func:`funnel_analysis.crm.schema.table_for_file` reads it). Keys of
        no known object are ignored and listed in the report.
    source : str, default "frames"
        What the frames came from, kept in ``crm.meta["source"]``.
    mapping : path-like, str or Mapping, optional
        A mapping file, the name of a built-in mapping, or a :class:`~funnel_analysis.crm.Mapping`:
        renames columns, maps values, sets date formats and derived columns.
        ``None`` (the default): the columns are Salesforce API field names.
        A mapping with ``join:`` needs files: use :func:`load_org`.
    describe : dict, optional
        Per object, its field definitions: Salesforce's describe result
        (``{"fields": [{"name": ..., "type": ...}]}``, as
        ``SalesforceFrames.attrs["describe"]`` holds it) or a mapping of field
        name -> describe type. They type the columns the schema does not know.
        ``None`` (the default): those columns stay text.
    progress : bool, default False
        Show a progress bar over the tables.

    Returns
    -------
    CrmData
        The org, as :func:`load_org` gives it; ``crm.meta["fingerprint"]`` is
        a hash of the frames' contents.

    Raises
    ------
    DataLoadError
        When a frame misses a required column of its table, or the mapping
        joins files.
    """
    from .schema import table_for_file

    m = load_mapping(mapping) if mapping is not None else None
    for table, tm in (m.tables if m else {}).items():
        if tm.joins:
            raise DataLoadError(
                m.source or m.name,
                f"table {table!r} joins {tm.joins[0].file!r}, a file: frames have none",
                expected="load_org(folder, mapping=...) for a mapping with `join:`",
            )
    described = {}
    for obj, body in (describe or {}).items():
        fields = body.get("fields") if isinstance(body, dict) and "fields" in body else None
        described[obj] = {f["name"]: str(f["type"]).lower() for f in fields} if fields is not None else dict(body)
    sources: dict[str, list] = {}
    ignored = []
    for obj, df in frames.items():
        hit = table_for_file(obj)
        if hit is None:
            ignored.append(obj)
            continue
        sources.setdefault(hit.table, []).append((obj, df.reset_index(drop=True), hit.activity_kind))
    crm = _build(sources, mapping=m, source=source, ignored=ignored, progress=progress, describes=described)
    h = hashlib.blake2b(digest_size=16)
    for obj in sorted(frames):
        h.update(obj.encode())
        h.update(pd.util.hash_pandas_object(frames[obj].astype("str"), index=False).to_numpy().tobytes())
    crm.meta["fingerprint"] = h.hexdigest()
    return crm


def _prepare_table(table: str, parts, tm: TableMapping | None, *, joined=None, describes=None, money_out=None):
    """Rename, join, map values, type and clean one table; return frame, provenance, issues, stats.

    ``joined``: joined file name -> its reader; ``describes``: file stem -> field name -> describe
    type; ``money_out``: filled with the table's custom currency columns.
    """
    spec = TABLES[table]
    kinds = spec.kinds()
    custom: dict[str, str] = {}  # columns the schema does not know -> kind, from describes and types:
    money: list[str] = []
    frames, files, rows = [], [], []
    for label, raw, kind, *row_key in parts:  # row_key: a database table's rows go by their key, not a number
        raw = raw() if callable(raw) else raw
        names = _canonical_names(raw.columns, table, tm.columns if tm else None)
        df = raw.rename(columns=names)
        for src, dst in names.items():
            field_type = (describes or {}).get(Path(label).stem, {}).get(src)
            if field_type is not None and dst not in kinds and dst not in custom:
                custom[dst] = describe_kind(field_type)
                if field_type == "currency":
                    money.append(dst)
        missing = [c for c in spec.required_columns if c not in df.columns and c != "activity_kind"]
        if table == "stages":
            missing = [c for c in missing if c not in ("is_closed", "is_won")] or missing
        if missing:
            raise DataLoadError(
                label,
                f"required column of table {table!r} is missing",
                column=missing[0],
                expected=f"a column {TABLES[table].column(missing[0]).sf_name!r}"
                if not tm
                else "the mapping to rename a source column to it",
            )
        if kind is not None:
            df["activity_kind"] = kind
        elif tm is not None and tm.activity_kind:
            df["activity_kind"] = tm.activity_kind
        frames.append(df)
        files.append(np.full(len(df), label, dtype=object))
        rows.append(_row_labels(raw, row_key[0]) if row_key else np.arange(len(df)))
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
    stats: dict[str, int] = {}
    for join in tm.joins if tm else ():
        df = _join(df, table, join, (joined or {})[join.file], tm, sorted(set(np.concatenate(files))), stats)
        if join.exists and join.exists not in kinds:
            custom[join.exists] = "bool"
    if tm:
        custom.update(tm.types)
    money[:] = [c for c in money if custom.get(c) == "float"]
    if money_out is not None:
        money_out.extend(money)
    present = [c for c in df.columns]
    prov = pd.DataFrame({"file": np.concatenate(files), "file_row": np.concatenate(rows)})
    if tm and tm.null_values:
        for col in df.columns:
            if df[col].dtype == "str" or df[col].dtype == object:
                df[col] = df[col].mask(df[col].isin(tm.null_values))
    if tm:
        for col, vmap in tm.values.items():
            if col in df.columns:
                before = df[col]
                df[col] = before.replace(vmap)
                stats[f"{col}:values_mapped"] = int((before != df[col]).fillna(False).sum())
    issues = []
    for col in df.columns:
        kind = kinds.get(col) or custom.get(col, "str")
        fmt = tm.date_formats.get(col) if tm else None
        tz = tm.timezone if tm else "UTC"
        raw = df[col]
        typed, bad, changed = parse_column(raw, kind, date_format=fmt, timezone=tz)
        if changed:
            stats[f"{col}:ids_widened"] = changed
        if bad.any():
            idx = np.flatnonzero(bad.to_numpy())
            rule = {"date": "date_unparseable", "datetime": "datetime_unparseable", "bool": "bool_unparseable"}.get(
                kind, "number_unparseable"
            )
            if col not in kinds:  # typed by its definition, not the schema: flagged, the row kept
                rule = "custom_value_unparseable"
            issues.append(
                pd.DataFrame(
                    {
                        "table": table,
                        "row": idx,
                        "record_id": None,
                        "column": col,
                        "rule": rule,
                        "severity": ERROR if col in kinds else WARNING,
                        "value": raw.iloc[idx].astype("object").to_numpy(),
                    }
                )
            )
        df[col] = typed
    if tm:
        for col, text in tm.derive.items():
            df[col] = _derive(df, table, col, text, tm)
            kind = kinds.get(col)
            if kind:
                df[col], _, _ = parse_column(df[col], kind)
            present.append(col)
    for col in spec.columns:
        if col.name not in df.columns:
            df[col.name] = pd.Series(
                pd.NA if _EMPTY_DTYPES[col.kind] == "boolean" else None, index=df.index, dtype=_EMPTY_DTYPES[col.kind]
            )
    _clean(df, table, stats)
    return df, prov, present, issues, stats


def _row_labels(raw: pd.DataFrame, key: str) -> np.ndarray:
    """A database row's label: its key (``Id``); a row without one, ``#<n>`` (its place in the read)."""
    n = len(raw)
    if key not in raw.columns:
        return np.array([f"#{i}" for i in range(n)], dtype=object)
    values = raw[key].astype("object").to_numpy()
    missing = pd.isna(values) | (raw[key].astype("str").str.strip() == "").to_numpy()
    return np.where(missing, np.array([f"#{i}" for i in range(n)], dtype=object), values.astype("str")).astype(object)


def _join_key(values: pd.Series, kind: str | None, null_values) -> pd.Series:
    """A join key as compared: trimmed text, placeholders missing, 15-character IDs widened."""
    text = values.astype("str").str.strip()
    text = text.where(values.notna() & (text != "") & ~text.isin(list(null_values)), None)
    return widen_ids(text).values if kind == "id" else text


def _join(df: pd.DataFrame, table: str, join, read, tm: TableMapping, labels, stats: dict) -> pd.DataFrame:
    """``df`` with the columns of one ``join:`` (a left join, many rows to one; never a new row)."""
    right = read() if callable(read) else read
    kinds = TABLES[table].kinds()
    where = f"join {join.file!r} of table {table!r}"
    for col in join.on:
        if col not in df.columns:
            raise DataLoadError(
                ", ".join(labels),
                f"has no column {col!r}, the key of {where}",
                expected=f"`on:` to name a column of the table (columns: {', '.join(map(str, df.columns))})",
            )
    need = [*join.on.values(), *join.columns, *([join.by] if join.by else [])]
    for col in need:
        if col not in right.columns:
            raise DataLoadError(
                join.file,
                f"column named by {where} is missing",
                column=col,
                expected=f"one of its columns ({', '.join(map(str, right.columns))})",
            )
    for dst in [*join.columns.values(), *([join.exists] if join.exists else [])]:
        if dst in df.columns:
            raise DataLoadError(
                ", ".join(labels),
                f"already has column {dst!r}, which {where} would fill",
                expected="a joined column the table's files do not carry (rename one in the mapping)",
            )
    keys = [f"__key{i}" for i in range(len(join.on))]
    left = pd.DataFrame(
        {k: _join_key(df[col], kinds.get(col), tm.null_values) for k, col in zip(keys, join.on)}, index=df.index
    )
    take = [f"__col{i}" for i in range(len(join.columns))]
    other = pd.DataFrame(
        {
            **{
                k: _join_key(right[col], kinds.get(mine), tm.null_values)
                for k, (mine, col) in zip(keys, join.on.items())
            },
            **{t: right[col] for t, col in zip(take, join.columns)},
            "__row": np.arange(len(right)),
        }
    )
    other = other[other[keys].notna().all(axis=1)]  # a row without a key matches nothing
    # a row the joined file marks deleted (IsDeleted, _fivetran_deleted) never existed: it matches nothing
    gone = deleted_flag(right.rename(columns=lambda c: snake_case(str(c))))[other["__row"].to_numpy()]
    if gone.any():
        stats[f"join:{join.file}:deleted_rows_not_joined"] = int(gone.sum())
        other = other[~gone]
    repeated = other.duplicated(keys, keep=False)
    if repeated.any():
        first = other[repeated].iloc[0]
        value = ", ".join(str(first[k]) for k in keys)
        n = int((other[keys] == first[keys]).all(axis=1).sum())
        if join.keep is None:
            raise DataLoadError(
                join.file,
                f"key {value!r} is on {n} rows, and {where} takes one row per key",
                column=", ".join(join.on.values()),
                expected=f"a key once, or `repeated: {{keep: earliest, by: <a date column of {join.file}>}}` "
                "under the join",
            )
        # the earliest (or latest) by the date; the same date: the row first in the file; no date: last
        when = parse_datetime(right[join.by], timezone=tm.timezone).values
        other = other.assign(__by=when.dt.tz_localize(None).to_numpy()[other["__row"].to_numpy()])
        other = other.sort_values(
            ["__by", "__row"], ascending=[join.keep == "earliest", True], na_position="last", kind="stable"
        )
        stats[f"join:{join.file}:repeated_keys_resolved"] = int(
            other[other.duplicated(keys)][keys].drop_duplicates().shape[0]
        )
        stats[f"join:{join.file}:rows_not_taken"] = int(other.duplicated(keys).sum())
        other = other.drop_duplicates(keys, keep="first")
    merged = left.merge(
        other.drop(columns=["__row", "__by"], errors="ignore"),
        how="left",
        on=keys,
        validate="many_to_one",
        indicator="__matched",
    )
    if len(merged) != len(df):  # validate= guarantees it; row accounting rests on it
        raise AssertionError(f"{where} changed the row count: {len(df)} -> {len(merged)}")
    matched = (merged["__matched"] == "both").to_numpy()
    out = df.copy()
    for t, dst in zip(take, join.columns.values()):
        out[dst] = merged[t].set_axis(df.index)
    if join.exists:
        out[join.exists] = pd.Series(matched, index=df.index, dtype="boolean")
    stats[f"join:{join.file}:matched"] = int(matched.sum())
    return out


def _derive(df: pd.DataFrame, table: str, col: str, text, tm: TableMapping) -> pd.Series:
    """One ``derive:`` column, by the safe grammar; any failure is one line naming the mapping."""
    from .expression import expression_values
    from .mapping import parse_derived

    try:
        derived = parse_derived(text)
        if derived.kind == "column":
            if derived.value not in df.columns:
                raise ValueError(
                    f"no column {derived.value!r} in the table (columns: {', '.join(map(str, df.columns))})"
                )
            return df[derived.value].copy()
        if derived.kind == "constant":
            return pd.Series([derived.value] * len(df), index=df.index, dtype=object)
        return expression_values({table: df}, table, where=derived.value, label="derive")
    except ValueError as exc:
        raise DataLoadError(
            tm.mapping_file or "mapping",
            f"table {table!r}, derive {col!r} = {str(text)!r}: {str(exc).splitlines()[0]}",
            expected="a column name, a literal or an expression of the table's columns",
        ) from None


def _clean(df: pd.DataFrame, table: str, stats: dict) -> None:
    """Picklists folded, emails lowered, phones to E.164, company keys (in place on our own copy)."""
    kinds = TABLES[table].kinds()
    for col, kind in kinds.items():
        if col not in df.columns or df[col].isna().all():
            continue
        before = df[col]
        if kind == "picklist" and col != "stage_name":  # stages fold against the stages table later
            df[col] = clean.fold_picklist(before)
        elif kind == "email":
            df[col] = clean.normalize_email(before)
        elif kind == "phone":
            country = next((c for c in ("country", "mailing_country", "billing_country") if c in df.columns), None)
            df[f"{col}_e164"] = clean.phone_e164(before, df[country] if country else None)
            continue
        else:
            continue
        # a blank that became missing was not normalised: count only values that had content
        had_value = before.notna() & (before.astype("str").str.strip() != "")
        changed = int(((before.astype("str") != df[col].astype("str")) & had_value).fillna(False).sum())
        if changed:
            stats[f"{col}:normalised"] = changed
    name_col = {"leads": "company", "accounts": "name"}.get(table)
    if name_col and name_col in df.columns:
        keys = clean.company_key(df[name_col])
        df["company_key"] = keys["company_key"]
        df["company_legal_form"] = keys["company_legal_form"]


def _infer_stages(opps: pd.DataFrame, extra, st: pd.DataFrame) -> pd.DataFrame:
    """Stages used by opportunities but missing from the stages table.

    Closed/won flags follow the majority of their opportunities. An open stage is
    placed among the configured open stages by the median probability its deals carry
    (a stage at 60% sits after the configured 50% stage); closed ones go last.
    """
    g = opps[opps["stage_name"].isin(extra)].groupby("stage_name")
    inferred = g[["is_closed", "is_won"]].agg(lambda s: bool(s.fillna(False).astype(bool).mean() >= 0.5))
    # 0% on an open stage says nothing about its place in the process: treat it as unknown
    prob = opps["probability"].where(opps["probability"] > 0) if "probability" in opps else None
    inferred["default_probability"] = prob.groupby(opps["stage_name"]).median() if prob is not None else np.nan
    inferred = inferred.reset_index()
    open_cfg = st[~st["is_closed"].astype(bool)].sort_values("sort_order")
    last_open = open_cfg["sort_order"].max() if len(open_cfg) else 0
    positions = []
    for _, row in inferred.iterrows():
        if row["is_closed"]:
            positions.append(st["sort_order"].max() + 1)
        elif pd.notna(row["default_probability"]) and len(open_cfg):
            below = open_cfg[open_cfg["default_probability"] <= row["default_probability"]]
            positions.append((below["sort_order"].max() if len(below) else 0) + 0.5)
        else:
            positions.append(last_open + 0.5)
    inferred["sort_order"] = positions
    inferred["inferred"] = True
    return inferred


def _resolve_stages(prepared, mapping: Mapping | None) -> tuple[pd.DataFrame, str]:
    if "stages" in prepared:
        st, origin = prepared["stages"][0].copy(), "file"
    elif mapping is not None and mapping.stages:
        st, origin = pd.DataFrame(mapping.stages), "mapping"
    else:
        st, origin = default_stages(), "default"
    st["stage_name"] = clean.fold_picklist(st["stage_name"])
    for col in ("is_closed", "is_won"):
        st[col] = st[col].fillna(False).astype(bool) if col in st else False
    if "forecast_category" not in st:
        st["forecast_category"] = None
    if "default_probability" not in st:
        st["default_probability"] = np.nan
    st = st.sort_values("sort_order", kind="stable").reset_index(drop=True)
    # stages seen in the data but absent from the table are appended, their flags inferred
    if "opportunities" in prepared:
        opps = prepared["opportunities"][0]
        opps["stage_name"] = clean.fold_picklist(opps["stage_name"], canonical=st["stage_name"])
        if "opportunity_history" in prepared:
            hist = prepared["opportunity_history"][0]
            hist["stage_name"] = clean.fold_picklist(hist["stage_name"], canonical=st["stage_name"])
        seen = opps.loc[~deleted_flag(opps), "stage_name"].dropna().unique()
        extra = [s for s in seen if s not in set(st["stage_name"])]
        if extra:
            st = pd.concat([st, _infer_stages(opps, extra, st)], ignore_index=True)
            st = st.sort_values("sort_order", kind="stable").reset_index(drop=True)
            st["sort_order"] = np.arange(1, len(st) + 1)
    st["inferred"] = st.get("inferred", pd.Series(False, index=st.index)).fillna(False).astype(bool)
    return st, origin


def _build(
    sources, *, mapping: Mapping | None, source: str, ignored, progress: bool, joined=None, describes=None
) -> CrmData:
    prepared = {}
    custom_money: dict[str, list[str]] = {}  # per table, the currency fields its describe files name
    for table in tqdm(list(sources), desc="typing and cleaning", disable=not progress):
        tm = mapping.tables.get(table) if mapping else None
        prepared[table] = _prepare_table(
            table,
            sources.pop(table),
            tm,
            joined=(joined or {}).get(table),
            describes=describes,
            money_out=custom_money.setdefault(table, []),
        )
    stages, stages_origin = _resolve_stages(prepared, mapping)
    # deleted and merged records first: they are in no figure, and references to merges move
    split = split_deleted({t: p[0] for t, p in prepared.items()})
    live = {t: split.status[t] == "" for t in prepared}
    codes = [
        c
        for t, p in prepared.items()
        if "currency_iso_code" in p[0].columns and t not in ("currencies", "dated_rates")
        for c in p[0].loc[live[t], "currency_iso_code"].dropna().unique()
    ]
    try:
        book = currency_book(
            prepared["currencies"][0][live["currencies"]] if "currencies" in prepared else None,
            prepared["dated_rates"][0][live["dated_rates"]] if "dated_rates" in prepared else None,
            codes=codes,
        )
    except ValueError as exc:
        raise DataLoadError("CurrencyType", str(exc), column="IsCorporate", expected="one corporate currency") from None
    known = {
        t: pd.Index(split.frames[t].loc[live[t], TABLES[t].key].dropna().unique())
        for t in prepared
        if TABLES[t].key in split.frames[t]
    }
    if "groups" in known:  # owners resolve against the queues only (validate.QUEUE_IDS)
        g = split.frames["groups"][live["groups"]]
        kind = g["type"].astype("str").str.strip().str.lower()
        known[QUEUE_IDS] = pd.Index(g.loc[(kind == "queue") | g["type"].isna(), "group_id"].dropna().unique())
    tables, qrows, q_issues, flags, deleted_rows = {}, {}, [], [], {}
    without_rate: dict[str, int] = {}
    report = DataQualityReport()
    for table in tqdm(list(prepared), desc="validating", disable=not progress):
        _, prov, present, parse_issues, stats = prepared[table]
        df, status = split.frames[table], split.status[table]
        prepared[table] = (None, None, present, None, None)  # free the frame once split
        is_live = status == ""
        if not is_live.all():
            gone = df[~is_live].copy()
            gone.insert(0, "deleted_as", status[~is_live])
            gone.insert(0, "file_row", prov["file_row"].to_numpy()[~is_live])
            gone.insert(0, "file", prov["file"].to_numpy()[~is_live])
            deleted_rows[table] = gone.reset_index(drop=True)
            position = np.full(len(df), -1, dtype=np.int64)
            position[is_live] = np.arange(int(is_live.sum()))
            parse_issues = [
                i.assign(row=position[i["row"].to_numpy(dtype=np.int64)])[
                    position[i["row"].to_numpy(dtype=np.int64)] >= 0
                ]
                for i in parse_issues
            ]
            df = df[is_live].reset_index(drop=True)
            prov = prov[is_live].reset_index(drop=True)
        money = convert_money(df, table, book=book, columns=custom_money.get(table, ()))
        df = money.converted
        if money.without_rate.any():
            idx = np.flatnonzero(money.without_rate)
            without_rate[table] = len(idx)
            parse_issues = [
                *parse_issues,
                pd.DataFrame(
                    {
                        "table": table,
                        "row": idx,
                        "record_id": None,
                        "column": "currency_iso_code",
                        "rule": "currency_without_rate",
                        "severity": WARNING,
                        "value": money.codes[idx],
                    }
                ),
            ]
        if table in HISTORY_TABLES:  # field history (H1): a value not parsing for its field's type is flagged
            parse_issues = [*parse_issues, history_value_issues(df, table)]
        issues = validate_table(
            df, table, present=present, known_ids=known, stages=stages if table != "stages" else None
        )
        issues = (
            pd.concat([i for i in [*parse_issues, issues] if len(i)], ignore_index=True)
            if (any(len(i) for i in parse_issues) or len(issues))
            else issues
        )
        key = TABLES[table].key
        issues["record_id"] = df[key].reindex(issues["row"].astype("int64")).astype("object").to_numpy()
        issues["file"] = prov["file"].to_numpy()[issues["row"].astype("int64")] if len(issues) else []
        issues["file_row"] = prov["file_row"].to_numpy()[issues["row"].astype("int64")] if len(issues) else []
        bad = np.zeros(len(df), dtype=bool)
        err = issues[issues["severity"] == ERROR]
        bad[err["row"].astype("int64").to_numpy()] = True
        warn = issues[(issues["severity"] == WARNING) & ~bad[issues["row"].astype("int64").to_numpy()]]
        kept = df[~bad].reset_index(drop=True)
        for ref, rows in split.repointed.items():  # counted on the rows kept
            if ref.startswith(f"{table}.") and (n := int(rows[is_live][~bad].sum())):
                stats[f"{ref.split('.', 1)[1]}:repointed_to_master"] = n
        q = df[bad].copy()
        q.insert(0, "file_row", prov["file_row"].to_numpy()[bad])
        q.insert(0, "file", prov["file"].to_numpy()[bad])
        qrows[table] = q.reset_index(drop=True)
        tables[table] = kept
        q_issues.append(err.assign(row=err["file_row"]))
        flags.append(warn.assign(row=warn["file_row"]))
        report.add_table(
            table,
            rows_read=len(status),
            rows_kept=len(kept),
            rows_quarantined=int(bad.sum()),
            rows_deleted=int(np.isin(status, ["deleted", "parent_deleted"]).sum()),
            rows_merged=int((status == "merged").sum()),
            rows_flagged=int(warn["row"].nunique()),
            rules=pd.concat([err, warn]).groupby("rule")["row"].nunique().astype(int).to_dict(),
            cleaning=stats,
            files=sorted(set(prov["file"]) | set(deleted_rows[table]["file"] if table in deleted_rows else ())),
            columns_present=present,
        )
    tables["stages"] = stages
    cols = ISSUE_COLUMNS + ["file"]
    quarantine = (
        pd.concat([q[cols] for q in q_issues if len(q)], ignore_index=True)
        if any(len(q) for q in q_issues)
        else pd.DataFrame(columns=cols)
    )
    flag_df = (
        pd.concat([f[cols] for f in flags if len(f)], ignore_index=True)
        if any(len(f) for f in flags)
        else pd.DataFrame(columns=cols)
    )
    report.ignored_files = list(ignored)
    report.stages_origin = stages_origin
    report.currency = {**book.to_dict(), "without_rate": without_rate}
    meta = {
        "source": source,
        "mapping": mapping.name if mapping else None,
        "stages_origin": stages_origin,
        "columns_present": {t: p[2] for t, p in prepared.items()},
    }
    return CrmData(
        tables=tables,
        quarantine=quarantine,
        flags=flag_df,
        quarantined_rows=qrows,
        report=report,
        meta=meta,
        deleted_rows=deleted_rows,
        merges=split.merges,
    )
