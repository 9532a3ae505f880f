"""Reading an org from a database where Fivetran or Airbyte synced Salesforce (Postgres, DuckDB).

A **source profile** says how a connector lays Salesforce out in a schema (notes:
``shared/research/engine-notes.md`` section 2):

- ``fivetran``: tables are snake_case object names (``opportunity``, ``opportunity_history``,
  ``campaign_member``), columns snake_case with digits split (``Pricebook2Id`` -> ``pricebook_2_id``,
  custom ``Foo__c`` -> ``foo_c``: :func:`fivetran_name`); where a connector kept the API name both
  spellings are accepted and coalesced, as Fivetran's dbt package does. Soft deletes are in
  ``is_deleted`` and ``_fivetran_deleted``; history mode (SCD2 rows with ``_fivetran_start`` /
  ``_fivetran_end`` / ``_fivetran_active``) is read as its current rows, from the schema itself or,
  where a table is missing there, from ``<schema>_history``. Formula fields are not synced:
  ``ExpectedRevenue`` is recomputed (amount x probability / 100) where it is absent or empty.
  Default schema ``salesforce``.
- ``airbyte``: tables and columns under their API names (``Opportunity``, ``StageName``), in any case
  (a destination may lower- or upper-case identifiers); the ``_airbyte_*`` columns are ignored.
  Default schema ``public``.
- ``api``: the same API names without a connector's columns (a hand-made copy). Default ``public``.

``source="auto"`` tells Fivetran (``_fivetran_synced`` columns) from Airbyte (``_airbyte_raw_id``)
by the columns of the opportunity table, and ``api`` otherwise.

What is read: the catalog (``information_schema``: table and column names, read, never typed in),
then per table one aggregate query (rows, deleted rows, history versions that are not current, the
latest sync time), the **current live rows** with only the columns the data model knows (plus those
a mapping names: synced tables carry hundreds of custom fields), and only the **keys** of the deleted
rows (``Id``, ``MasterRecordId``) so that :func:`~funnel_analysis.crm.deleted.split_deleted` counts,
cascades and re-points merges as it does for an export. Every identifier comes from the catalog
and every value is a bound parameter (SQLAlchemy Core); nothing a user types is pasted into SQL.
All the queries run in one read-only transaction (``REPEATABLE READ`` on Postgres: one snapshot).
The catalog is read from ``information_schema`` rather than SQLAlchemy's inspector: one query for
every table, on Postgres and on DuckDB alike (duckdb-engine's inspector queries ``pg_catalog``
tables DuckDB lacks).

History mode: a record's current version is its row; a record none of whose versions is current
was deleted at the source and counts as deleted; where ``OpportunityHistory`` is not synced, the
history-mode versions of ``Opportunity`` stand in for it (one row per version that changed the
stage, amount, probability, close date or forecast category, dated by ``_fivetran_start``).

**Credentials come from the environment only.** A URL that carries a password is refused
(:class:`UrlPasswordError`). The password is libpq's ``PGPASSWORD`` (or a ``~/.pgpass`` file,
read by psycopg itself), or ``FUNNEL_DB_PASSWORD``, handed to the driver as a connection argument
(it wins over ``PGPASSWORD``); it never appears in a URL the package prints, logs or records.

Examples
--------
>>> fivetran_name("Pricebook2Id"), fivetran_name("Lead_Source_Detail__c"), fivetran_name("MC4SF_MC_Subscriber__c")
('pricebook_2_id', 'lead_source_detail_c', 'mc_4_sf_mc_subscriber_c')
>>> PROFILES["fivetran"].table_candidates("OpportunityFieldHistory")
['opportunity_field_history', 'opportunityfieldhistory']
>>> is_database_url("postgresql://db.example.com/crm"), is_database_url("data/sample")
(True, False)
>>> safe_url("postgresql://analyst@db.example.com:5432/crm")
'postgresql://analyst@db.example.com:5432/crm'
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

from .read import DataLoadError
from .schema import TABLES, FileTable

__all__ = [
    "SourceProfile",
    "PROFILES",
    "UrlPasswordError",
    "WarehouseRead",
    "fivetran_name",
    "is_database_url",
    "safe_url",
    "warehouse_objects",
    "read_warehouse",
    "warehouse_fingerprint",
    "PASSWORD_ENV",
]

#: The environment variable read for the password (besides libpq's own ``PGPASSWORD``).
PASSWORD_ENV = "FUNNEL_DB_PASSWORD"

_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "duckdb")

#: Objects every warehouse read needs (a schema without them is not a synced Salesforce).
REQUIRED_OBJECTS = ("Opportunity", "Lead")

_SPLIT = (
    (re.compile(r"([a-z])([A-Z])"), r"\1_\2"),  # leadSource -> lead_Source
    (re.compile(r"([A-Za-z])([0-9])"), r"\1_\2"),  # Pricebook2 -> Pricebook_2
    (re.compile(r"([0-9])([A-Za-z])"), r"\1_\2"),  # 2Id -> 2_Id
)


def fivetran_name(api_name: str) -> str:
    """The column (or table) name Fivetran gives a Salesforce API name.

    CamelCase to snake_case, digits split off as their own word, custom suffixes kept as ``_c``
    (``Foo__c`` -> ``foo_c``, ``SBQQ__Quote__c`` -> ``sbqq_quote_c``). A run of capitals stays one
    word, as Fivetran writes it (its seeds: ``LastCURequestDate`` -> ``last_curequest_date``).

    Parameters
    ----------
    api_name : str
        A Salesforce API field or object name.

    Returns
    -------
    str
        The lower-case name with words joined by single underscores.

    Examples
    --------
    >>> [fivetran_name(n) for n in ("Territory2Id", "IsExcludedFromTerritory2Filter", "LastCURequestDate")]
    ['territory_2_id', 'is_excluded_from_territory_2_filter', 'last_curequest_date']
    """
    s = api_name.strip()
    for pattern, repl in _SPLIT:
        s = pattern.sub(repl, s)
    s = re.sub(r"[^0-9A-Za-z]+", "_", s).strip("_").lower()
    return re.sub(r"_+", "_", s)


@dataclass(frozen=True)
class SourceProfile:
    """How one connector lays Salesforce out: table names, column spellings, its own columns.

    Attributes
    ----------
    name : str
        ``"fivetran"``, ``"airbyte"`` or ``"api"``.
    default_schema : str
        The schema read when none is given.
    snake_case : bool
        Whether tables and columns are Fivetran's snake_case (API names otherwise; both are
        accepted, the profile's spelling first).
    ignored_prefix : str or None
        Connector columns that are never data (``"_airbyte_"``).
    history_schema_suffix : str or None
        Where history-mode tables live (``"_history"``: ``salesforce_history``).
    sync_columns : tuple of str
        Columns giving the time a row was synced (the fingerprint's "latest change").
    recompute_formulas : bool
        Whether formula fields are missing and recomputed (Fivetran syncs none by default).
    """

    name: str
    default_schema: str
    snake_case: bool
    ignored_prefix: str | None = None
    history_schema_suffix: str | None = None
    sync_columns: tuple[str, ...] = ("SystemModstamp",)
    recompute_formulas: bool = False

    def table_candidates(self, sf_object: str) -> list[str]:
        """Table names that may hold an object, preferred first (matched case-insensitively).

        Parameters
        ----------
        sf_object : str
            The Salesforce object (``"OpportunityHistory"``).

        Returns
        -------
        list of str
            Lower-case candidate names.
        """
        names = (fivetran_name(sf_object), sf_object.lower())
        if not self.snake_case:
            names = names[::-1]
        return list(dict.fromkeys(names))

    def column_candidates(self, api_name: str) -> list[str]:
        """Column names that may hold an API field, preferred first (matched case-insensitively).

        Parameters
        ----------
        api_name : str
            The Salesforce API field name (``"Pricebook2Id"``).

        Returns
        -------
        list of str
            Lower-case candidate names: the snake_case spelling and the API name.
        """
        return self.table_candidates(api_name)


PROFILES: dict[str, SourceProfile] = {
    "fivetran": SourceProfile(
        "fivetran",
        "salesforce",
        snake_case=True,
        history_schema_suffix="_history",
        sync_columns=("_fivetran_synced", "SystemModstamp"),
        recompute_formulas=True,
    ),
    "airbyte": SourceProfile(
        "airbyte",
        "public",
        snake_case=False,
        ignored_prefix="_airbyte_",
        sync_columns=("_airbyte_extracted_at", "SystemModstamp"),
    ),
    "api": SourceProfile("api", "public", snake_case=False),
}


class UrlPasswordError(DataLoadError):
    """A database URL that carries a password: refused (credentials come from the environment).

    Parameters
    ----------
    url : str
        The URL, shown without its password.
    where : str, optional
        Where it was given (``"the data_dir of profile.yaml"``).
    """

    def __init__(self, url: str, where: str | None = None):
        super().__init__(
            url,
            "a password in a database URL is refused" + (f" ({where})" if where else ""),
            expected=f"the URL without it, the password in PGPASSWORD or {PASSWORD_ENV}",
        )


def is_database_url(value) -> bool:
    """Whether a data location is a database URL (``postgresql://``, ``duckdb:///``...), not a folder.

    Parameters
    ----------
    value : object
        A path, a string or anything else.

    Returns
    -------
    bool
        True for a string whose scheme is ``postgresql``, ``postgres``, ``postgresql+psycopg``
        or ``duckdb``.
    """
    if not isinstance(value, str):
        return False
    scheme, sep, _ = value.partition("://")
    return bool(sep) and scheme.lower() in _SCHEMES


def _parse_url(url: str):
    try:
        import sqlalchemy as sa
    except ImportError:
        raise DataLoadError(
            url.partition("://")[0] + "://...",
            "reading a database needs SQLAlchemy and psycopg",
            expected="pip install 'funnel-analysis[warehouse]'",
        ) from None

    try:
        return sa.engine.make_url(url)
    except Exception:  # noqa: BLE001 - one line whatever the parser says
        # the text may hold a password: show only its scheme
        raise DataLoadError(
            url.partition("://")[0] + "://...",
            "is not a database URL",
            expected="postgresql://[user@]host[:port]/database or duckdb:///file.duckdb",
        ) from None


def _redact(url: str) -> str:
    """The URL with any password masked (for messages about a URL that had one)."""
    try:
        return _parse_url(url).render_as_string(hide_password=True)
    except DataLoadError as exc:
        return exc.file


def safe_url(url: str, *, where: str | None = None) -> str:
    """The URL as it may be shown and recorded; refuses one with a password in it.

    Parameters
    ----------
    url : str
        A database URL.
    where : str, optional
        Where the URL was given, for the message.

    Returns
    -------
    str
        The URL as given (it carries no password).

    Raises
    ------
    UrlPasswordError
        When the URL carries a password (``postgresql://user:secret@host/db``).
    DataLoadError
        When it is not a URL.
    """
    parsed = _parse_url(url)
    if parsed.password is not None:
        raise UrlPasswordError(parsed.render_as_string(hide_password=True), where)
    return parsed.render_as_string(hide_password=False)


def _engine(url: str):
    """A SQLAlchemy engine for the URL: psycopg 3 for Postgres; the password from the environment."""
    import sqlalchemy as sa

    parsed = _parse_url(url)
    safe_url(url)
    backend = parsed.get_backend_name()
    args: dict = {}
    if backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
        if os.environ.get(PASSWORD_ENV):
            args["password"] = os.environ[PASSWORD_ENV]
        args["connect_timeout"] = int(os.environ.get("FUNNEL_DB_CONNECT_TIMEOUT", "10"))
        args["application_name"] = "funnel-analysis"
    elif backend == "duckdb":
        try:
            import duckdb_engine  # noqa: F401
        except ImportError:
            raise DataLoadError(
                safe_url(url), "reading DuckDB needs duckdb-engine", expected="pip install 'funnel-analysis[warehouse]'"
            ) from None
        path = parsed.database
        if not path or not os.path.exists(path):
            raise DataLoadError(
                safe_url(url), f"DuckDB file {path!r} does not exist", expected="an existing .duckdb file"
            )
        args["read_only"] = True
    else:
        raise DataLoadError(safe_url(url), f"database {backend!r} is not supported", expected="postgresql or duckdb")
    return sa.create_engine(parsed, connect_args=args, poolclass=sa.pool.NullPool)


def _driver_line(exc) -> str:
    """The first line of a driver error, without SQLAlchemy's wrapping (no SQL, no parameters)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def _connection_error(url: str, exc) -> DataLoadError:
    line = _driver_line(exc)
    low = line.lower()
    if "password" in low or "authentication" in low or "role" in low and "does not exist" in low:
        return DataLoadError(
            url,
            f"the database refused the credentials: {line}",
            expected=f"a user it accepts, the password in PGPASSWORD or {PASSWORD_ENV}",
        )
    if "database" in low and "does not exist" in low:
        return DataLoadError(url, f"cannot connect: {line}", expected="the name of an existing database")
    return DataLoadError(url, f"cannot connect: {line}", expected="a reachable Postgres at that host and port")


def warehouse_objects() -> Mapping[str, FileTable]:
    """The Salesforce objects a warehouse read looks for, and the table each goes into.

    Returns
    -------
    Mapping of str to FileTable
        Object name -> ``(table, activity_kind)``: the canonical table, and ``"task"`` / ``"event"``
        for the activities (None otherwise).

    Examples
    --------
    >>> warehouse_objects()["Event"]
    FileTable(table='activities', activity_kind='event')
    """
    out: dict[str, FileTable] = {}
    for spec in TABLES.values():
        out[spec.sf_object] = FileTable(spec.name, "task" if spec.name == "activities" else None)
        if spec.name == "activities":
            out["Event"] = FileTable(spec.name, "event")
    return MappingProxyType(out)


@dataclass
class WarehouseRead:
    """What :func:`read_warehouse` read: frames under API names, and what it counted in the database.

    Attributes
    ----------
    frames : dict of str to DataFrame
        Object name -> its current rows under API field names: the live rows with the columns
        read, then the deleted rows with only ``Id``, ``MasterRecordId`` and ``IsDeleted`` true.
    labels : dict of str to str
        Object name -> the table read (``salesforce.opportunity``).
    counts : dict of str to dict
        Object name -> ``rows`` (current rows), ``deleted`` (of them, marked deleted),
        ``versions_not_current`` (history-mode rows of earlier versions, not read),
        ``columns_in_table`` and ``columns_read``.
    source : str
        The profile used.
    schema : str
        The schema read.
    url : str
        The URL, without password.
    fingerprint : str
        A hash of every table's row counts and latest sync time (changes when the data does).
    notes : list of str
        What the reader decided (a table taken from the history schema, a formula recomputed...).
    """

    frames: dict[str, pd.DataFrame]
    labels: dict[str, str]
    counts: dict[str, dict]
    source: str
    schema: str
    url: str
    fingerprint: str
    notes: list[str] = field(default_factory=list)


def _catalog(conn, schemas) -> dict[str, dict[str, dict[str, tuple[str, str]]]]:
    """schema -> lower table name -> lower column name -> (exact column name, data type), and the tables' names."""
    import sqlalchemy as sa

    cols = sa.table(
        "columns",
        sa.column("table_schema"),
        sa.column("table_name"),
        sa.column("column_name"),
        sa.column("data_type"),
        sa.column("ordinal_position"),
        schema="information_schema",
    )
    q = (
        sa.select(cols.c.table_schema, cols.c.table_name, cols.c.column_name, cols.c.data_type)
        .where(cols.c.table_schema.in_(list(schemas)))
        .order_by(cols.c.table_schema, cols.c.table_name, cols.c.ordinal_position)
    )
    out: dict = {}
    for sch, tab, col, dtype in conn.execute(q):
        out.setdefault(sch, {}).setdefault(tab, {})[col.lower()] = (col, str(dtype or "").lower())
    return out


def _schemas(conn) -> list[str]:
    import sqlalchemy as sa

    t = sa.table("schemata", sa.column("schema_name"), schema="information_schema")
    return [r[0] for r in conn.execute(sa.select(t.c.schema_name))]


def _flag(col, dtype: str, default: bool):
    """A SQL boolean of a flag column: true/false (text ``true``/``1``/``t`` too), missing -> ``default``."""
    import sqlalchemy as sa

    if "bool" in dtype:
        expr = col
    else:
        expr = sa.func.lower(sa.func.trim(sa.cast(col, sa.String))).in_(["true", "t", "1", "yes"])
        expr = sa.case((col.is_(None), None), else_=expr)
    return sa.func.coalesce(expr, sa.true() if default else sa.false())


@dataclass
class _Plan:
    obj: str
    table: str
    activity_kind: str | None
    schema: str
    name: str  # the exact table name
    columns: dict[str, list[str]]  # API label -> exact column names (coalesced in order)
    flags: dict[str, tuple[str, str]]  # role (deleted, fivetran_deleted, active) -> (column, dtype)
    sync: list[str]
    n_columns: int
    history_mode: bool
    derived_from: str | None = None  # OpportunityHistory made from history-mode versions: their start column


def _plan(obj, table, kind, schema, name, cols, profile: SourceProfile, extra: list[str]) -> _Plan:
    spec = TABLES[table]
    used: set[str] = set()
    columns: dict[str, list[str]] = {}
    wanted: list[str] = []
    for c in spec.columns:
        if c.name == "activity_kind":
            continue
        wanted.append(c.sf_name)
        wanted.extend(a for a in c.aliases if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", a))
    wanted.extend(extra)
    for api in dict.fromkeys(wanted):
        hits = [cols[n][0] for n in profile.column_candidates(api) if n in cols and cols[n][0] not in used]
        if profile.ignored_prefix:
            hits = [h for h in hits if not h.lower().startswith(profile.ignored_prefix)]
        if hits:
            columns[api] = hits
            used.update(hits)
    flags = {}
    for role, names in (
        ("deleted", ("is_deleted", "isdeleted")),
        ("fivetran_deleted", ("_fivetran_deleted",)),
        ("active", ("_fivetran_active",)),
    ):
        hit = next((n for n in names if n in cols), None)
        if hit:
            flags[role] = cols[hit]
    sync = [cols[n][0] for s in profile.sync_columns for n in profile.column_candidates(s) if n in cols]
    sync += [cols[n][0] for n in ("_fivetran_synced", "_airbyte_extracted_at", "systemmodstamp") if n in cols]
    return _Plan(
        obj,
        table,
        kind,
        schema,
        name,
        columns,
        flags,
        list(dict.fromkeys(sync)),
        len(cols),
        "_fivetran_start" in cols,
    )


def _detect(catalog_schema: dict) -> str:
    for tab in ("opportunity", "lead"):
        cols = catalog_schema.get(tab, {})
        if "_fivetran_synced" in cols:
            return "fivetran"
        if "_airbyte_raw_id" in cols or "_airbyte_ab_id" in cols:
            return "airbyte"
    for cols in catalog_schema.values():
        if "_fivetran_synced" in cols:
            return "fivetran"
        if "_airbyte_raw_id" in cols:
            return "airbyte"
    return "api"


def _resolve(conn, url, source, schema, mapping_columns):
    """Profile, schema and one plan per object found; the required tables checked."""
    names = _schemas(conn)
    source = source or "auto"
    if source != "auto" and source not in PROFILES:
        raise DataLoadError(url, f"source {source!r} is not a known profile", expected=", ".join(["auto", *PROFILES]))
    if schema is None:
        if source == "auto":
            schema = next((s for s in ("salesforce", "public") if s in names), "public")
        else:
            schema = PROFILES[source].default_schema
    if schema not in names:
        near = [s for s in names if s.lower() == schema.lower()]
        if near:
            schema = near[0]
        else:
            shown = [s for s in names if s not in ("information_schema", "pg_catalog", "pg_toast")]
            raise DataLoadError(
                url,
                f"has no schema {schema!r}",
                expected=f"the schema the connector writes to (schemas there: {', '.join(sorted(shown)) or 'none'})",
            )
    hist_schema = None
    look = [schema]
    if source in ("auto", "fivetran"):
        hist = f"{schema}_history"
        hist_schema = next((s for s in names if s.lower() == hist.lower()), None)
        if hist_schema:
            look.append(hist_schema)
    catalog = _catalog(conn, look)
    main = {t.lower(): (t, c) for t, c in catalog.get(schema, {}).items()}
    if source == "auto":
        source = _detect({t: c for t, (_, c) in main.items()})
    profile = PROFILES[source]
    history = (
        {t.lower(): (t, c) for t, c in catalog.get(hist_schema, {}).items()} if profile.history_schema_suffix else {}
    )
    plans, notes = [], []
    for obj, (table, kind) in warehouse_objects().items():
        found = None
        for cand in profile.table_candidates(obj):
            if cand in main:
                found = (schema, *main[cand])
                break
        if (
            found is not None
            and obj == "OpportunityHistory"
            and "opportunityid" not in found[2]
            and "opportunity_id" not in found[2]
        ):
            # a history-mode copy of Opportunity under this name (Fivetran's seeds), not OpportunityHistory
            notes.append(f"{found[0]}.{found[1]}: history-mode rows of Opportunity, not OpportunityHistory: not read")
            found = None
        if found is None:
            for cand in profile.table_candidates(obj):
                if cand in history:
                    found = (hist_schema, *history[cand])
                    notes.append(f"{obj}: read from the history-mode table {hist_schema}.{found[1]} (current rows)")
                    break
        if found is None:
            continue
        sch, name, cols = found
        plans.append(_plan(obj, table, kind, sch, name, cols, profile, mapping_columns.get(table, [])))
    have = {p.obj for p in plans}
    if "OpportunityHistory" not in have:  # history mode holds the deals' past: their versions stand in for it
        scd2 = next((p for p in plans if p.obj == "Opportunity" and p.history_mode), None)
        cols = None
        if scd2 is not None:
            cols = (main if scd2.schema == schema else history)[scd2.name.lower()][1]
        elif "opportunity" in history and "_fivetran_start" in history["opportunity"][1]:
            name, cols = history["opportunity"]
            scd2 = _plan("Opportunity", "opportunities", None, hist_schema, name, cols, profile, [])
        if scd2 is not None and "Id" in scd2.columns:
            derived = _Plan(
                "OpportunityHistory",
                "opportunity_history",
                None,
                scd2.schema,
                scd2.name,
                {k: v for k, v in scd2.columns.items() if k in _TRACKED or k == "Id"},
                {k: v for k, v in scd2.flags.items() if k != "active"},
                scd2.sync,
                scd2.n_columns,
                True,
                derived_from=cols["_fivetran_start"][0],
            )
            plans.append(derived)
            notes.append(
                f"OpportunityHistory: from the history-mode versions of {scd2.schema}.{scd2.name} "
                "(one row per version whose stage, amount, probability, close date or forecast category changed)"
            )
    for obj in REQUIRED_OBJECTS:
        if obj not in have:
            raise DataLoadError(
                url,
                f"schema {schema!r} has no table for {obj} (source {source})",
                expected=f"a table {profile.table_candidates(obj)[0]!r}"
                + (f" in {schema!r} or {hist_schema!r}" if hist_schema else "")
                + " (or another --source / --schema)",
            )
    for p in plans:
        if p.derived_from:  # made from the versions: its columns are the opportunity's
            continue
        spec = TABLES[p.table]
        for c in spec.columns:
            names = [c.sf_name, *c.aliases]
            if c.required and c.name != "activity_kind" and not any(n in p.columns for n in names):
                if p.table == "stages" and c.name in ("is_closed", "is_won"):
                    continue  # inferred from the opportunities, as for an export
                raise DataLoadError(
                    f"{url} {p.schema}.{p.name}",
                    f"required column of table {p.table!r} is missing",
                    column=profile.column_candidates(c.sf_name)[0],
                    expected=f"a column {' or '.join(repr(n) for n in profile.column_candidates(c.sf_name))}",
                )
    return profile, schema, plans, notes


#: The fields an OpportunityHistory row records (what a history-mode version is compared on).
_TRACKED = ("StageName", "Amount", "Probability", "CloseDate", "ForecastCategory", "ExpectedRevenue")


def _derived_history(conn, p: _Plan) -> pd.DataFrame:
    """OpportunityHistory rows from history-mode versions: each version that changed a tracked field.

    ``Id`` is ``<opportunity id>.v<n>`` (its version number), ``CreatedDate`` the version's start.
    """
    import sqlalchemy as sa

    physical = list(dict.fromkeys([c for cs in p.columns.values() for c in cs] + [p.derived_from]))
    t = _table(p, physical)
    fields = [_expr(t, p, api).label(api) for api in p.columns]
    q = sa.select(*fields, t.c[p.derived_from].label("CreatedDate")).order_by(_expr(t, p, "Id"), t.c[p.derived_from])
    df = _frame(conn.execute(q)).rename(columns={"Id": "OpportunityId"})
    df = df[df["OpportunityId"].notna()].reset_index(drop=True)
    tracked = [c for c in _TRACKED if c in df.columns]
    same = df["OpportunityId"].eq(df["OpportunityId"].shift())
    if tracked:
        values = df[tracked].astype("str")
        same &= values.eq(values.shift()).all(axis=1)
    df = df[~same].reset_index(drop=True)
    n = df.groupby("OpportunityId").cumcount() + 1
    df.insert(0, "Id", df["OpportunityId"].astype("str") + ".v" + n.astype("str"))
    return df


def _table(p: _Plan, cols: list[str]):
    import sqlalchemy as sa

    return sa.Table(p.name, sa.MetaData(), *[sa.Column(c) for c in cols], schema=p.schema)


def _conditions(p: _Plan, t):
    """(current, deleted) SQL conditions on the plan's table."""
    import sqlalchemy as sa

    current = sa.true()
    if "active" in p.flags:
        col, dtype = p.flags["active"]
        current = _flag(t.c[col], dtype, True)
    deleted = sa.false()
    for role in ("deleted", "fivetran_deleted"):
        if role in p.flags:
            col, dtype = p.flags[role]
            deleted = sa.or_(deleted, _flag(t.c[col], dtype, False))
    return current, deleted


def _flag_columns(p: _Plan) -> list[str]:
    return [c for c, _ in p.flags.values()]


def _expr(t, p: _Plan, api: str):
    """The value of an API field: its column, or the coalesce of its spellings."""
    import sqlalchemy as sa

    cs = [t.c[c] for c in p.columns[api]]
    return cs[0] if len(cs) == 1 else sa.func.coalesce(*cs)


def _ended(p: _Plan, t):
    """History mode: rows of records none of whose versions is current (deleted at the source), or None.

    Fivetran ends a record's last version (``_fivetran_active`` false) when the record is deleted;
    such a record is counted as a deleted row, once.
    """
    import sqlalchemy as sa

    if "active" not in p.flags or "Id" not in p.columns:
        return None
    inner = _table(p, [*p.columns["Id"], p.flags["active"][0]]).alias("current_versions")
    current_ids = sa.select(_expr(inner, p, "Id")).where(
        _flag(inner.c[p.flags["active"][0]], p.flags["active"][1], True)
    )
    current, _ = _conditions(p, t)
    key = _expr(t, p, "Id")
    return sa.and_(sa.not_(current), key.is_not(None), key.not_in(current_ids.scalar_subquery()))


def _counts_query(p: _Plan):
    """One row: all rows, current rows, current deleted rows, records ended in history mode, latest sync times."""
    import sqlalchemy as sa

    cols = list(dict.fromkeys([*p.columns.get("Id", []), *_flag_columns(p), *p.sync]))
    t = _table(p, cols)
    current, deleted = _conditions(p, t)
    one = sa.literal(1)
    ended = _ended(p, t)
    fields = [
        sa.func.count().label("rows_all"),
        sa.func.coalesce(sa.func.sum(sa.case((current, one), else_=0)), 0).label("current"),
        sa.func.coalesce(sa.func.sum(sa.case((sa.and_(current, deleted), one), else_=0)), 0).label("current_deleted"),
        (
            sa.func.count(sa.distinct(sa.case((ended, _expr(t, p, "Id")), else_=None)))
            if ended is not None
            else sa.literal(0)
        ).label("ended"),
    ]
    fields += [sa.cast(sa.func.max(t.c[c]), sa.String).label(f"max_{i}") for i, c in enumerate(p.sync)]
    return sa.select(*fields).select_from(t)


def _rows_query(p: _Plan, *, deleted: bool):
    """The current live rows with the planned columns (coalesced spellings), or the deleted rows' keys.

    Deleted rows: the current ones marked deleted, and (history mode) one row per record whose
    versions all ended, with the ``MasterRecordId`` of its versions.
    """
    import sqlalchemy as sa

    physical = list(dict.fromkeys([c for cs in p.columns.values() for c in cs] + _flag_columns(p)))
    t = _table(p, physical)
    current, is_deleted = _conditions(p, t)
    if not deleted:
        return sa.select(*[_expr(t, p, api).label(api) for api in p.columns]).where(
            sa.and_(current, sa.not_(is_deleted))
        )
    keys = [api for api in ("Id", "MasterRecordId") if api in p.columns]
    q = sa.select(*[_expr(t, p, api).label(api) for api in keys]).where(sa.and_(current, is_deleted))
    ended = _ended(p, t)
    if ended is None:
        return q
    key = _expr(t, p, "Id")
    extra = [sa.func.max(_expr(t, p, "MasterRecordId")).label("MasterRecordId")] if "MasterRecordId" in keys else []
    gone = sa.select(key.label("Id"), *extra).where(ended).group_by(key)
    return sa.union_all(q, gone)


def _frame(result) -> pd.DataFrame:
    return pd.DataFrame.from_records(result.fetchall(), columns=list(result.keys()), coerce_float=True)


def _mapping_columns(mapping) -> dict[str, list[str]]:
    """Per table, the source columns a mapping renames (selected besides the schema's)."""
    if mapping is None:
        return {}
    from .mapping import load_mapping

    m = load_mapping(mapping)
    return {t: [c for c in tm.columns if isinstance(c, str)] for t, tm in m.tables.items()}


def _fingerprint(schema: str, source: str, counts: Mapping[str, tuple]) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{source}|{schema}".encode())
    for label in sorted(counts):
        h.update(f"|{label}:{counts[label]!r}".encode())
    return h.hexdigest()


def _connect(url: str):
    import sqlalchemy as sa

    shown = safe_url(url)
    engine = _engine(url)
    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise _connection_error(shown, exc) from None
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return engine, conn, shown


def warehouse_fingerprint(url: str, *, source: str | None = None, schema: str | None = None) -> str:
    """The data fingerprint of a synced schema, without reading its rows.

    Every table's rows, deleted rows and latest sync time (``_fivetran_synced``,
    ``_airbyte_extracted_at`` or ``SystemModstamp``), hashed: it changes when a sync changes the data.
    The report runner's cache keys on it.

    Parameters
    ----------
    url : str
        A database URL without password.
    source : str, optional
        ``"fivetran"``, ``"airbyte"``, ``"api"`` or ``"auto"`` (the default: detected).
    schema : str, optional
        The schema; default the profile's.

    Returns
    -------
    str
        32 hex digits; equal to ``load_org(url).meta["fingerprint"]`` for the same data.

    Raises
    ------
    DataLoadError
        As :func:`read_warehouse`.
    """
    import sqlalchemy as sa

    engine, conn, shown = _connect(url)
    try:
        with conn.begin():
            profile, schema, plans, _ = _resolve(conn, shown, source, schema, {})
            counts = {f"{p.schema}.{p.name}": tuple(conn.execute(_counts_query(p)).one()) for p in plans}
    except sa.exc.DBAPIError as exc:
        raise DataLoadError(shown, f"the database failed while reading: {_driver_line(exc)}") from None
    finally:
        conn.close()
        engine.dispose()
    return _fingerprint(schema, profile.name, counts)


def read_warehouse(
    url: str, *, source: str | None = None, schema: str | None = None, mapping=None, progress: bool = False
) -> WarehouseRead:
    """Read the org's objects from a synced schema: current live rows, deleted rows' keys, counts.

    Parameters
    ----------
    url : str
        ``postgresql://[user@]host[:port]/database`` (psycopg 3; libpq's ``PG*`` variables apply) or
        ``duckdb:///path/file.duckdb``. No password in it: see the module docstring.
    source : str, optional
        ``"fivetran"``, ``"airbyte"``, ``"api"``, or ``"auto"`` / None (detected from the columns).
    schema : str, optional
        The schema the connector writes to; default the profile's (``salesforce`` for Fivetran,
        ``public`` otherwise; with ``auto``, ``salesforce`` when it exists).
    mapping : path-like, str or Mapping, optional
        A mapping whose ``columns:`` name custom columns to read too (under their API name or any
        spelling the profile accepts, e.g. ``Lead_Score__c: lead_score``); its ``files:`` are not
        read (a database has none).
    progress : bool, default False
        Show a progress bar over the tables.

    Returns
    -------
    WarehouseRead
        The frames (API names) and what was counted in the database.

    Raises
    ------
    UrlPasswordError
        When the URL carries a password.
    DataLoadError
        One line, the URL without password first: the database cannot be reached or refuses the
        credentials, the schema does not exist, it has no table for Lead or Opportunity, a table
        has no ``Id`` column, or the connection is lost while reading.
    """
    import sqlalchemy as sa
    from tqdm import tqdm

    engine, conn, shown = _connect(url)
    try:
        with conn.begin():
            profile, schema, plans, notes = _resolve(conn, shown, source, schema, _mapping_columns(mapping))
            frames, labels, counts, finger = {}, {}, {}, {}
            for p in tqdm(plans, desc="reading tables", disable=not progress):
                label = f"{p.schema}.{p.name}"
                stat = conn.execute(_counts_query(p)).one()
                finger[label] = tuple(stat)
                if p.derived_from:
                    live = _derived_history(conn, p)
                    label = f"{label} (history mode)"
                    frames[p.obj], labels[p.obj] = live, label
                    counts[p.obj] = {
                        "table": label,
                        "rows": len(live),
                        "deleted": 0,
                        "versions_not_current": 0,
                        "columns_in_table": p.n_columns,
                        "columns_read": len({c for cs in p.columns.values() for c in cs}) + 1,
                    }
                    continue
                live = _frame(conn.execute(_rows_query(p, deleted=False)))
                n_rows = int(stat.current) + int(stat.ended)
                n_deleted = int(stat.current_deleted) + int(stat.ended)
                gone = _frame(conn.execute(_rows_query(p, deleted=True))) if n_deleted else None
                if gone is not None:
                    gone["IsDeleted"] = True
                    live = pd.concat([live, gone], ignore_index=True) if len(live) else gone
                if len(live) != n_rows:  # one snapshot: the rows read are the rows counted
                    raise DataLoadError(
                        f"{shown} {label}",
                        f"read {len(live)} rows where the database counted {n_rows}",
                        expected="a stable snapshot",
                    )
                if profile.recompute_formulas and p.obj in ("Opportunity", "OpportunityHistory"):
                    live, note = _expected_revenue(live, label)
                    if note:
                        notes.append(note)
                frames[p.obj], labels[p.obj] = live, label
                counts[p.obj] = {
                    "table": label,
                    "rows": n_rows,
                    "deleted": n_deleted,
                    "versions_not_current": int(stat.rows_all) - n_rows,
                    "columns_in_table": p.n_columns,
                    "columns_read": len({c for cs in p.columns.values() for c in cs}),
                }
            _user_roles(conn, plans, frames, notes)
    except sa.exc.DBAPIError as exc:
        raise DataLoadError(
            shown, f"the database failed while reading: {_driver_line(exc)}", expected="a connection that stays up"
        ) from None
    finally:
        conn.close()
        engine.dispose()
    return WarehouseRead(
        frames=frames,
        labels=labels,
        counts=counts,
        source=profile.name,
        schema=schema,
        url=shown,
        fingerprint=_fingerprint(schema, profile.name, finger),
        notes=notes,
    )


def _expected_revenue(df: pd.DataFrame, label: str) -> tuple[pd.DataFrame, str | None]:
    """ExpectedRevenue (a formula field, not synced by Fivetran) = Amount x Probability / 100 where empty."""
    if "Amount" not in df or "Probability" not in df:
        return df, None
    current = df["ExpectedRevenue"] if "ExpectedRevenue" in df else pd.Series(None, index=df.index, dtype=object)
    if current.notna().any():
        return df, None
    amount = pd.to_numeric(df["Amount"], errors="coerce")
    prob = pd.to_numeric(df["Probability"], errors="coerce")
    out = df.copy()
    out["ExpectedRevenue"] = amount * prob / 100
    return out, f"{label}: ExpectedRevenue (a formula field) recomputed as Amount x Probability / 100"


def _user_roles(conn, plans, frames, notes) -> None:
    """Users' role name from UserRole (Fivetran syncs UserRoleId only): ``UserRole.Name`` on the users frame."""
    import sqlalchemy as sa

    users = frames.get("User")
    plan = next((p for p in plans if p.obj == "User"), None)
    if users is None or plan is None or "Role__c" in users or "UserRoleName" in users or not len(users):
        return
    found = _role_columns(conn, plan)
    if found is None:
        return
    (role_schema, role_name_table), role_id, role_name, user_role_id = found
    uid = plan.columns["Id"][0]
    ut = _table(plan, [uid, user_role_id])
    rt = sa.Table(role_name_table, sa.MetaData(), sa.Column(role_id), sa.Column(role_name), schema=role_schema)
    q = sa.select(ut.c[uid].label("Id"), rt.c[role_name].label("name")).join_from(
        ut, rt, ut.c[user_role_id] == rt.c[role_id]
    )
    names = dict(conn.execute(q).all())
    if names:
        users["UserRole.Name"] = users["Id"].map(names)
        notes.append(f"User: role names from {role_schema}.{role_name_table}")


def _role_columns(conn, plan):
    """(user_role table (schema, name), its id and name columns, the users' role-id column), or None."""
    if plan is None:
        return None
    catalog = _catalog(conn, [plan.schema])
    tables = {t.lower(): t for t in catalog.get(plan.schema, {})}
    ucols = catalog[plan.schema].get(plan.name, {})
    urid = next((ucols[c][0] for c in ("user_role_id", "userroleid") if c in ucols), None)
    rname = next((tables[c] for c in ("user_role", "userrole") if c in tables), None)
    if urid is None or rname is None:
        return None
    rcols = catalog[plan.schema][rname]
    if "id" not in rcols or "name" not in rcols:
        return None
    return (plan.schema, rname), rcols["id"][0], rcols["name"][0], urid
