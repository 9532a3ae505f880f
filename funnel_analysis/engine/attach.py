"""Which loaded org carries an engine: :func:`attach` and :func:`engine_of`.

:func:`funnel_analysis.crm.load.load_org` with ``engine="duckdb"`` registers the org's tables in
a DuckDB engine and attaches the :class:`~funnel_analysis.engine.org.EngineOrg` to that very
``CrmData`` object. The handle is kept here, not in ``crm.meta`` (which is written to
``crm.json`` and pickled for workers; a connection is neither): an org made from it (a cut,
``crm.where(...)``, a copy) carries no engine and runs the pandas paths, the reference. Replacing
a table of the org in place also drops the engine (its tables would no longer be the engine's).

With ``engine_only=True`` (:func:`export_org`) the tables are built in DuckDB from the export itself
and the org holds none of them in pandas (only the stages): the report entry points whose engine
path covers the options asked for run there. Any other (an option the engine path lacks, an entry
point with no engine path) reads a table in pandas: an org opened from a Parquet cache (the report
runner's) reads that table, and those read with it, from the cache on first use
(:func:`cached_tables`), so a kernel holds only what its report reads; an org built from an export
folder stops with one line (:class:`~funnel_analysis.crm.model.EngineOnlyError`), never computing
on empty tables.
:func:`in_engine_only` and :func:`cut_rows` let an entry point ask the engine what it would have
read in pandas (whether a table has rows on the day).

Examples
--------
>>> from funnel_analysis.crm.load import load_org
>>> crm = load_org("data/sample", engine="duckdb")  # doctest: +SKIP
>>> engine_of(crm).engine.name  # doctest: +SKIP
'duckdb'
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .base import EngineError, connect
from .base import quote_identifier as _q
from .frames import text_as_str
from .org import EngineOrg

if TYPE_CHECKING:
    from ..crm.model import CrmData

__all__ = [
    "CACHE_PANDAS_TOO",
    "EXPORT_TABLES",
    "PANDAS_TOO",
    "READ_WITH",
    "attach",
    "attach_engine",
    "cached_rows",
    "cached_tables",
    "cut_rows",
    "detach",
    "engine_of",
    "export_org",
    "in_engine_only",
]

#: The tables :func:`export_org` builds in the engine (those the export holds): what the engine paths
#: of the report entry points read (the as-of cut with both histories, activities). Not the campaign
#: members: the campaign matrix needs the campaigns' costs in pandas, so it stops (EngineOnlyError).
EXPORT_TABLES = (
    "leads",
    "opportunities",
    "opportunity_history",
    "opportunity_field_history",
    "lead_history",
    "activities",
    # what a where reads and scopes (funnel_analysis.engine.scope): the owners, accounts and contacts
    "users",
    "groups",
    "accounts",
    "contacts",
    # the lead statuses' order (the lead funnel), the campaigns and their members (the campaign
    # matrix, the scoring features' campaign touches)
    "lead_statuses",
    "campaigns",
    "campaign_members",
)
#: Tables of :data:`EXPORT_TABLES` also held in pandas: small reference tables (the owners' names and
#: the ``owner`` relation of a where, the lead status order, the campaigns' names and costs), read by
#: the pandas code around the engine paths.
PANDAS_TOO = ("users", "groups", "lead_statuses", "campaigns")
#: Small tables an engine-only org opened from a Parquet cache also holds in pandas, read from the cache
#: (the queues' members, the business hours and holidays of speed to lead, the currencies and dated
#: rates): the routing and money paths read them as ``crm.tables.get(...)``, which an engine-only table
#: would leave None.
CACHE_PANDAS_TOO = ("group_members", "business_hours", "holidays", "currencies", "dated_rates")

# id(crm) -> (EngineOrg, the ids of the org's tables when attached); an entry leaves with its org
_ATTACHED: dict[int, tuple[EngineOrg, tuple]] = {}


def _table_ids(crm) -> tuple:
    return tuple((name, id(df)) for name, df in crm.tables.items())


def attach(crm, *, org: EngineOrg) -> None:
    """Attach an engine's copy of the org to ``crm`` (the analyses then run in the engine).

    Parameters
    ----------
    crm : CrmData
        The org as loaded.
    org : EngineOrg
        The same tables, in an engine.

    Raises
    ------
    TypeError
        When ``org`` is not an :class:`EngineOrg`.

    Examples
    --------
    >>> attach(crm, org=EngineOrg.from_crm(crm, engine=connect("duckdb")))  # doctest: +SKIP
    """
    if not isinstance(org, EngineOrg):
        raise TypeError(f"attach: org must be an EngineOrg, got {type(org).__name__}")
    key = id(crm)
    _ATTACHED[key] = (org, _table_ids(crm))
    weakref.finalize(crm, _ATTACHED.pop, key, None)


def detach(crm) -> None:
    """Run ``crm``'s analyses on pandas again (its engine is left open for its other users).

    Parameters
    ----------
    crm : CrmData
        An org, with or without an engine.

    Examples
    --------
    >>> detach(crm)  # doctest: +SKIP
    """
    _ATTACHED.pop(id(crm), None)


def engine_of(crm) -> EngineOrg | None:
    """The engine attached to this very org, or None (the pandas paths).

    Parameters
    ----------
    crm : CrmData
        An org.

    Returns
    -------
    EngineOrg or None
        None for an org without an engine, a cut or copy of one, or an org whose tables were
        replaced since the engine was attached.

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> import pandas as pd
    >>> engine_of(load_frames({"Opportunity": pd.DataFrame({"Id": ["006A"], "StageName": ["Prospecting"]})})) is None
    True
    """
    got = _ATTACHED.get(id(crm))
    if got is None or got[1] != _table_ids(crm):
        return None
    return got[0]


def attach_engine(crm, *, engine: str, options: dict | None = None, parquet=None) -> EngineOrg:
    """Register ``crm``'s tables in a new engine and attach it (``load_org(engine=...)`` calls this).

    Parameters
    ----------
    crm : CrmData
        The org as loaded.
    engine : str
        An engine name of :func:`funnel_analysis.engine.connect`.
    options : dict, optional
        Its options (``memory_limit``, ``temp_directory``, ``threads``).
    parquet : Path, optional
        The Parquet cache ``crm`` was read from: its files are read in place instead (already
        checked against their checksums when ``crm`` was read).

    Returns
    -------
    EngineOrg
        The org in the engine, attached to ``crm``.

    Raises
    ------
    EngineError
        For an unknown engine or one not installed here.

    Examples
    --------
    >>> org = attach_engine(crm, engine="duckdb", options={"threads": 2})  # doctest: +SKIP
    """
    eng = connect(engine, **(options or {}))
    org = (
        EngineOrg.from_parquet(parquet, eng, check=False)
        if parquet is not None
        else EngineOrg.from_crm(crm, engine=eng)
    )
    attach(crm, org=org)
    return org


def _extract_time(org: EngineOrg) -> dict | None:
    """The latest change timestamp of the engine's tables, with its table and column (as ``crm.model.extract_time``)."""
    from ..crm.model import EXTRACT_TIME_COLUMNS

    pairs = [
        (table, c)
        for table in org.relations
        if table != "stages"
        for c in EXTRACT_TIME_COLUMNS
        if c in set(org.columns(table))
    ]
    if not pairs:
        return None
    # each part is numbered; the table and column are looked up by number here, never written into the SQL
    parts = [f"SELECT MAX({_q(c)}) AS t, {i} AS k FROM {org.relation(t)}" for i, (t, c) in enumerate(pairs)]
    got = org.engine.df(f"SELECT t, k FROM ({' UNION ALL '.join(parts)}) u WHERE t IS NOT NULL")
    if not len(got):
        return None
    stamps = [pd.Timestamp(t) for t in got["t"]]
    stamps = [t.tz_convert("UTC").tz_localize(None) if t.tzinfo else t for t in stamps]
    # the first table and column in the relations' order among the latest, as the pandas loop keeps the first
    best = max(range(len(stamps)), key=lambda i: (stamps[i], -int(got["k"].iloc[i])))
    table, column = pairs[int(got["k"].iloc[best])]
    return {"timestamp": stamps[best].isoformat(), "table": table, "column": column}


def _export_fingerprint(folder: Path, found: dict) -> str:
    """The data fingerprint of an export folder, as the pandas loader computes it (its files and the
    describe files of their objects): the same folder has the same fingerprint on either path."""
    from ..crm.load import files_fingerprint
    from ..crm.read import find_describe_files

    paths = [p for files in found.values() for p, _ in files]
    stems = {p.stem for p in paths}
    paths += [p for s, p in sorted(find_describe_files(folder).items()) if s in stems]
    return files_fingerprint(paths)


def export_org(folder, *, engine: str = "duckdb", options: dict | None = None) -> CrmData:
    """An org whose tables are built in an engine from the export, none in pandas (``load_org(engine_only=True)``).

    The export folder is read in place by :meth:`EngineOrg.from_export` (DuckDB; the rules of
    :mod:`funnel_analysis.engine.export`), a Parquet cache by :meth:`EngineOrg.from_parquet`; the
    tables of :data:`EXPORT_TABLES` the folder holds are built. The returned ``CrmData`` holds in
    pandas the stages (without their change timestamps) and the small tables of :data:`PANDAS_TOO`
    (the owners: their names in the reports), and the check's report, with the engine attached
    (:func:`engine_of`).

    The report entry points run on it where their engine path covers the options asked for:
    every section of the funnel report (``funnel.report``: ``kpis`` under any definitions,
    ``lead_funnel``, ``lead_conversion``, the snapshot and cohort funnels, ``win_rates``, the stage
    transitions and bottlenecks; ``headline_series``), of the velocity report (``velocity.report``:
    stage durations and intervals, the cycle, stalled and slipped deals, sales velocity and its
    change, stage-to-stage days) and of the pipeline report (the board, every hygiene list); lead
    scoring's table; ``sources.report.pipeline_waterfall``, ``source_matrix`` (its lead status and
    owner those on the day), ``campaign_matrix``, ``activity_win_relation``. A ``where`` is applied
    to the whole org with :meth:`CrmData.where <funnel_analysis.crm.model.CrmData.where>`, which
    scopes the engine's tables in the engine (:mod:`funnel_analysis.engine.scope`): a report per
    team runs there too. The data's extract time (the default report day) is worked out in the
    engine (``meta["extract_time"]``, ``meta["latest_date"]``). Any other path (a ``where`` given to
    an entry point itself, an option an engine path lacks, an entry point without one) reads a table in pandas and stops with
    one line (:class:`~funnel_analysis.crm.model.EngineOnlyError`, a ``ValueError``), never a figure
    of empty tables; ``crm.has`` is True for the engine's tables.

    Parameters
    ----------
    folder : path-like
        A Salesforce export folder (CSV or Parquet files named by object), or a Parquet cache.
    engine : str, default "duckdb"
        The engine (an export folder is built by DuckDB only; a cache is read by any engine).
    options : dict, optional
        Passed to :func:`funnel_analysis.engine.connect` (``memory_limit``, ``temp_directory``, ``threads``).

    Returns
    -------
    CrmData
        ``tables`` holds ``stages`` and the tables of :data:`PANDAS_TOO` (from a cache, also those of
        :data:`CACHE_PANDAS_TOO`); ``report``, ``quarantine`` (a sample of the quarantined rows
        per table and rule, for an export) from the check; ``meta`` as :meth:`EngineOrg.from_export`
        gives it (the check left out), with ``engine_only`` (the tables in the engine only),
        ``extract_time`` (``timestamp``, ``table``, ``column``) and ``latest_date``.

    Raises
    ------
    EngineError
        For an engine that cannot build the folder (an export with another engine than DuckDB).
    DataLoadError
        For a folder the loader refuses.

    Examples
    --------
    >>> crm = export_org("data/sample", options={"memory_limit": "4GB"})  # doctest: +SKIP
    >>> engine_of(crm).relations["opportunities"]  # doctest: +SKIP
    'opportunities'
    """
    from ..crm.model import EXTRACT_TIME_COLUMNS, CrmData, DataQualityReport
    from ..crm.read import find_export_files
    from ..crm.validate import ISSUE_COLUMNS

    folder = Path(folder)
    cached = (folder / "crm.json").exists()
    if not cached and engine != "duckdb":
        raise EngineError(f"engine_only: an export folder is built by DuckDB, not {engine!r} (a Parquet cache by any)")
    eng = connect(engine, **(options or {}))
    try:
        if cached:
            org = EngineOrg.from_parquet(folder, eng)
            doc = json.loads((folder / "crm.json").read_text(encoding="utf-8"))
            rep = doc["report"]
            report = DataQualityReport(
                tables=rep["tables"],
                ignored_files=rep["ignored_files"],
                stages_origin=rep["stages_origin"],
                currency=rep.get("currency", {}),
            )
            quarantine = pd.read_parquet(folder / "_quarantine.parquet")
            # what the data-quality report lists besides the tables: small, read as from_parquet reads them
            flags = pd.read_parquet(folder / "_flags.parquet")
            side = {
                prefix: {
                    p.stem.removeprefix(prefix): pd.read_parquet(p) for p in sorted(folder.glob(f"{prefix}*.parquet"))
                }
                for prefix in ("_quarantined_", "_deleted_")
            }
            merges_file = folder / "_merges.parquet"
            merges = pd.read_parquet(merges_file) if merges_file.exists() else None
            small = {t: _cached_table(org, folder, t, scoped=False) for t in CACHE_PANDAS_TOO if org.has(t)}
        else:
            found, _ = find_export_files(folder) if folder.is_dir() else ({}, [])
            org = EngineOrg.from_export(folder, eng, tables=[t for t in EXPORT_TABLES if t in found] or None)
            report, quarantine = org.meta["check"].report, org.meta["check"].quarantine
            org.meta.setdefault("fingerprint", _export_fingerprint(folder, found))
            flags, side, merges = pd.DataFrame(columns=ISSUE_COLUMNS), {"_quarantined_": {}, "_deleted_": {}}, None
            small = {}
    except BaseException:
        eng.close()
        raise
    meta = {k: v for k, v in org.meta.items() if k != "check"}
    in_pandas = {t: text_as_str(org.engine.df(f"SELECT * FROM {org.relation(t)}")) for t in PANDAS_TOO if org.has(t)}
    in_pandas.update(small)
    meta.update(
        engine_only=sorted(t for t in org.relations if t != "stages" and t not in in_pandas),
        extract_time=_extract_time(org),
    )
    meta["latest_date"] = str(pd.Timestamp(meta["extract_time"]["timestamp"]).date()) if meta["extract_time"] else None
    if cached:  # cached_tables reads a pandas path's tables from the cache's own files
        meta["parquet_cache"] = str(folder.resolve())
    # the stages' change timestamps would pass for the data's latest date (extract_time): left out
    stages = org.stages.drop(columns=[c for c in EXTRACT_TIME_COLUMNS if c in org.stages.columns])
    crm = CrmData(
        tables={"stages": stages.reset_index(drop=True), **in_pandas},
        quarantine=quarantine,
        flags=flags,
        quarantined_rows=side["_quarantined_"],
        report=report,
        meta=meta,
        deleted_rows=side["_deleted_"],
        **({"merges": merges} if merges is not None else {}),
    )
    attach(crm, org=org)
    return crm


#: Tables a pandas path reads with another: a cut of leads replays their history, a cut of the deals
#: theirs (``CrmData.as_of``), so :func:`cached_tables` brings them together.
READ_WITH = {
    "leads": ("lead_history",),
    "opportunities": ("opportunity_history", "opportunity_field_history"),
}
#: Columns an engine relation carries for the engine's own use, never a table's column in pandas.
_ENGINE_COLUMNS = frozenset({"row_no"})


def cached_tables(crm, *, table: str) -> Mapping[str, pd.DataFrame] | None:
    """The engine-only tables a pandas read of ``table`` needs, read from the org's Parquet cache.

    An engine-only org opened from a Parquet cache (the report runner's, or any folder written by
    ``CrmData.to_parquet``) holds its big tables in the engine only. A pandas path that reads one
    (an entry point without an engine path) gets it from the cache's own files, checked against the
    checksums written with them: the pandas loader's tables exactly, so its figures are a pandas
    org's, and a kernel holds only the tables its report reads. ``CrmData`` calls this on the first
    read of such a table and keeps what it returns.

    - Tables read together come together (:data:`READ_WITH`): leads with their history, deals with theirs.
    - An org scoped by ``crm.where`` keeps the rows its engine's scoped tables keep (by record ID).
    - A column the engine added (``business_type`` from the profile) is read from the engine.

    Parameters
    ----------
    crm : CrmData
        An engine-only org (not a cut: a cut reads its tables through the org it was cut from).
    table : str
        The table a pandas path reads.

    Returns
    -------
    Mapping of str to DataFrame or None
        ``table`` and the engine-only tables read with it that ``crm`` does not hold yet; None when
        the org was not opened from a Parquet cache (built from an export folder, its tables are
        the engine's alone) or has no engine attached.

    Raises
    ------
    CacheError
        When a cache file differs from what was written.

    Examples
    --------
    >>> crm = load_org("reports/.cache/<fingerprint>", engine="duckdb", engine_only=True)  # doctest: +SKIP
    >>> sorted(cached_tables(crm, table="opportunities"))  # doctest: +SKIP
    ['opportunities', 'opportunity_field_history', 'opportunity_history']
    """
    org = engine_of(crm)
    folder = crm.meta.get("parquet_cache")
    if org is None or not folder or crm.as_of_date is not None:
        return None
    engine_tables = set(crm.meta.get("engine_only", ()))
    wanted = [t for t in (table, *READ_WITH.get(table, ())) if t in engine_tables and t not in crm.tables]
    return {t: _cached_table(org, Path(folder), t, scoped="scope" in crm.meta) for t in wanted}


def cached_rows(crm, *, table: str, columns, key: str, values, each=None) -> pd.DataFrame | None:
    """Some columns of the day's rows of an engine-only table whose ``key`` is among ``values``.

    What a pandas path that reads a few columns of a big table for some records only (the touches of
    the leads, from the activities) asks of an engine-only org opened from a Parquet cache, instead of
    the whole table: read from the cache (checked as :func:`cached_tables` reads it), cut as the org's
    cut keeps its rows, scoped as its engine's rows. Nothing is kept.

    Parameters
    ----------
    crm : CrmData
        An engine-only org or a cut of one.
    table : str
        The table (``"activities"``).
    columns : iterable of str
        The columns wanted (those the table lacks are left out); ``key`` and the columns the cut and
        the scope read are added.
    key : str
        The column matched against ``values`` (``"who_id"``).
    values : array-like
        The values kept.
    each : callable, optional
        Applied to the rows of each batch read (a frame, index reset), which the table is read in
        (:meth:`CrmData.read_cached_batches`): what a caller reduces the rows to as they come, so
        that they are never all held; its frames are concatenated. None: the rows themselves.

    Returns
    -------
    DataFrame or None
        The rows (or ``each``'s frames), in the table's order, index reset; None when ``crm`` holds
        the table, is not an engine-only org opened from a cache, or a cut of one (the caller reads
        the table then).

    Examples
    --------
    >>> acts = cached_rows(cut, table="activities", columns=["activity_id", "type"], key="who_id", values=ids)  # doctest: +SKIP
    """
    from ..crm.model import CrmData
    from ..crm.schema import TABLES

    if table in crm.tables:
        return None
    base = crm.__dict__.get("_cut_of") if crm.as_of_date is not None else crm
    if base is None or table in base.tables or table not in base.meta.get("engine_only", ()):
        return None
    org, folder = engine_of(base), base.meta.get("parquet_cache")
    if org is None or not folder:
        return None
    spec = TABLES.get(table)
    extra = [
        key,
        *(c for c in ("activity_date", spec.created_column if spec else None, spec.key if spec else None) if c),
    ]
    from .._util.arrow import as_value_set, isin

    # the scoped org's rows: the engine's, by record ID (one Arrow value set for every batch)
    scoped = as_value_set(_engine_rows(org, table, [spec.key])[spec.key]) if "scope" in base.meta else None
    parts = []
    for frame in CrmData.read_cached_batches(folder, table, columns=[*columns, *extra], key=key, values=values):
        if scoped is not None:
            frame = frame[isin(frame[spec.key], scoped).to_numpy()]
        frame = crm.day_rows(table, frame).reset_index(drop=True)
        parts.append(frame if each is None else each(frame))
    parts = [p for p in parts if len(p)] or parts[:1]  # a batch with none of the rows adds nothing
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _engine_rows(org: EngineOrg, table: str, columns) -> pd.DataFrame:
    """Some columns of the engine's rows of ``table`` (names of the schema or of the relation itself, quoted)."""
    return text_as_str(org.engine.df(f"SELECT {', '.join(_q(c) for c in columns)} FROM {org.relation(table)}"))


def _cached_table(org: EngineOrg, folder: Path, table: str, *, scoped: bool) -> pd.DataFrame:
    """``table`` as the cache holds it, with the engine's rows (a scoped org) and added columns."""
    from ..crm.model import CrmData
    from ..crm.schema import TABLES

    frame = CrmData.read_cached_table(folder, table)
    key = TABLES[table].key if table in TABLES else None
    added = [c for c in org.columns(table) if c not in frame.columns and c not in _ENGINE_COLUMNS]
    if not scoped and not added:
        return frame
    if key is None or key not in frame.columns:
        raise EngineError(f"cached_tables: {table} has no record ID column to match the engine's rows by")
    engine_rows = _engine_rows(org, table, [key, *added])
    if scoped:
        frame = frame[frame[key].isin(engine_rows[key]).to_numpy()].reset_index(drop=True)
        if len(frame) != len(engine_rows):
            raise EngineError(
                f"cached_tables: {table}: {len(frame)} cached rows match the engine's {len(engine_rows)} by {key}"
            )
    if added:
        by_key = engine_rows.set_index(key)
        for column in added:
            frame[column] = by_key[column].reindex(frame[key]).to_numpy()
    return frame


def in_engine_only(crm, *, table: str) -> EngineOrg | None:
    """The engine of an engine-only org holding ``table`` (:func:`export_org`), else None.

    Parameters
    ----------
    crm : CrmData
        The org as loaded (not a cut: a cut carries no engine).
    table : str
        A table of the schema.

    Returns
    -------
    EngineOrg or None
        The engine's org when ``table`` is one of ``crm.meta["engine_only"]`` (in the engine, not in
        pandas); None for an org whose tables are in pandas.

    Examples
    --------
    >>> in_engine_only(crm, table="leads") is None  # doctest: +SKIP
    False
    """
    if table in crm.tables or table not in crm.meta.get("engine_only", ()):
        return None
    return engine_of(crm)


def _on_day(org: EngineOrg, table: str, alias: str) -> str:
    """The SQL condition keeping the rows of ``table`` in the day's cut (as ``CrmData.as_of``)."""
    from ..crm.schema import TABLES

    present = org.columns_present(table)
    spec = TABLES.get(table)
    if table == "activities" and "activity_date" in present:
        return f"CAST({alias}.activity_date AS DATE) <= $day"
    col = spec.created_column if spec else None
    if col and col in present and table != "stages":
        return f"{alias}.{col} < $cut_end"
    return "TRUE"


def cut_rows(org: EngineOrg, table: str, *, as_of=None, linked=None) -> int:
    """How many rows of ``table`` the day's cut holds, counted in the engine (all of them without ``as_of``).

    The rows kept as :meth:`CrmData.as_of <funnel_analysis.crm.model.CrmData.as_of>` keeps them: an
    activity dated on or before the day, another row created by its end, undated rows left out
    where the table has the column; a table without its day column whole.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    table : str
        A table of the schema; one the engine lacks has no row.
    as_of : date-like, optional
        The day of the cut (end of day, UTC); None for every row.
    linked : (str, str, str), optional
        ``(column, other_table, key)``: only the rows whose ``column`` is the ``key`` of a row of
        ``other_table`` (in the same cut), e.g. ``("what_id", "opportunities", "opportunity_id")``.

    Returns
    -------
    int
        The number of rows.

    Examples
    --------
    >>> cut_rows(org, "activities", as_of="2025-06-30", linked=("what_id", "opportunities", "opportunity_id"))  # doctest: +SKIP
    2114
    """
    from .._util.frames import to_day

    if not org.has(table):
        return 0
    params: dict = {}
    where_t, where_o = "TRUE", "TRUE"
    if as_of is not None:
        day = to_day(as_of, "cut_rows")
        params = {"day": day.date(), "cut_end": (day + pd.Timedelta(days=1)).tz_localize("UTC").to_pydatetime()}
        where_t = _on_day(org, table, "t")
    query = f"SELECT CAST(count(*) AS BIGINT) AS n FROM {org.relation(table)} t WHERE {where_t}"
    if linked is not None:
        column, other, key = linked
        if not org.has(other) or column not in org.columns(table) or key not in org.columns(other):
            return 0
        if as_of is not None:
            where_o = _on_day(org, other, "o")
        query += f" AND t.{_q(column)} IN (SELECT o.{_q(key)} FROM {org.relation(other)} o WHERE {where_o})"
    params = {k: v for k, v in params.items() if f"${k}" in query}  # the engines refuse a value not used
    (n,) = org.engine.df(query, params or None)["n"].tolist()
    return int(n)
