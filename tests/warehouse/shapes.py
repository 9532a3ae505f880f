"""Lay CSV files out in Postgres as the Fivetran and Airbyte connectors lay Salesforce out.

Written for the tests on purpose apart from ``funnel_analysis.crm.warehouse`` (the reader): the
warehouse tests compare what the reader gets back from these tables with what the export folder
gives, so the layout must not come from the code it checks. Sources (``../shared/research/
engine-notes.md`` section 2):

- **Fivetran**: schema ``salesforce``, table and column names in snake_case with digits split
  (``Pricebook2Id`` -> ``pricebook_2_id``, ``OpportunityHistory`` -> ``opportunity_history``),
  custom ``Foo__c`` -> ``foo_c`` (``__`` becomes ``_``), a run of capitals kept together
  (``LastCURequestDate`` -> ``last_curequest_date``, as in Fivetran's own seeds); system columns
  ``_fivetran_synced`` and ``_fivetran_deleted``; formula fields are not synced
  (:data:`FORMULA_FIELDS` dropped); history mode in schema ``salesforce_history`` with SCD2 rows
  (``_fivetran_start`` / ``_fivetran_end`` / ``_fivetran_active``). Types as Fivetran's Postgres
  destination writes them: boolean, double precision, date, timestamp with time zone, text.
- **Airbyte** (Postgres destination 3.x, "direct load"): tables named by the stream (the API object,
  ``Opportunity``) and columns by the API field name, case kept (its ``PostgresColumnNameGenerator``
  keeps the name and only replaces characters outside ``[A-Za-z0-9_]``); metadata columns
  ``_airbyte_raw_id``, ``_airbyte_extracted_at``, ``_airbyte_meta`` (jsonb) and
  ``_airbyte_generation_id``. Numbers as numeric.

Types are inferred from the values, column by column (what a dbt seed does too): a column whose
every non-empty value is a boolean, a number, an ISO date or an ISO timestamp gets that type;
anything else stays text. The generated sample is a dirty export on purpose (``2024-02-30``,
``12,5k``): such a column stays text, so the database holds exactly the export's values and the
reader's parsing and quarantine see the same input as the folder reader's. Empty values are NULL.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "FORMULA_FIELDS",
    "SEED_TYPES",
    "Table",
    "airbyte_tables",
    "copy_tables",
    "fivetran_history_mode",
    "fivetran_name",
    "fivetran_tables",
    "infer_type",
    "read_csv",
    "seed_tables",
]

#: Salesforce formula fields a Fivetran connection does not sync (dropped from the Fivetran shape).
FORMULA_FIELDS = frozenset({"ExpectedRevenue", "Fiscal", "FiscalQuarter", "FiscalYear"})

#: When the fake syncs ran (every row gets it).
SYNCED_AT = "2026-01-01T00:00:00+00:00"

_BOOL = re.compile(r"(?i)^(true|false)$")
_NUMBER = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


@dataclass
class Table:
    """One table to create: schema, name, ordered columns with their Postgres types, rows of text."""

    schema: str
    name: str
    columns: list[tuple[str, str]]
    rows: list[list[str | None]] = field(default_factory=list)


def read_csv(path: Path) -> tuple[list[str], list[list[str | None]]]:
    """Header and rows of a CSV as text; an empty field is None (NULL), spaces are kept."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [[value if value != "" else None for value in row] for row in reader]
    return header, rows


def _valid_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _valid_timestamp(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def infer_type(values, *, number: str = "double precision", timestamp: str = "timestamptz") -> str:
    """The Postgres type of a column from its values (None ignored); ``text`` unless all agree."""
    present = [v for v in values if v is not None]
    if not present:
        return "text"
    if all(_BOOL.match(v) for v in present):
        return "boolean"
    if all(_NUMBER.match(v) for v in present):
        return number
    if all(_DATE.match(v) and _valid_date(v) for v in present):
        return "date"
    if all(_TIMESTAMP.match(v) and _valid_timestamp(v) for v in present):
        # a value without an offset goes into a timestamp without time zone (dbt seeds)
        if timestamp == "timestamptz" and not all(re.search(r"(Z|[+-]\d{2}:?\d{2})$", v) for v in present):
            return "timestamp"
        return timestamp
    return "text"


def fivetran_name(api_name: str) -> str:
    """Fivetran's column or table name for a Salesforce API name.

    >>> [fivetran_name(n) for n in ("Pricebook2Id", "Lead_Score__c", "LastCURequestDate", "MC4SF__MC_Subscriber__c")]
    ['pricebook_2_id', 'lead_score_c', 'last_curequest_date', 'mc_4_sf_mc_subscriber_c']
    >>> fivetran_name("OpportunityHistory"), fivetran_name("ARR__c"), fivetran_name("IsoCode")
    ('opportunity_history', 'arr_c', 'iso_code')
    """
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", api_name)
    name = re.sub(r"([A-Za-z])([0-9])", r"\1_\2", name)
    name = re.sub(r"([0-9])([A-Za-z])", r"\1_\2", name)
    name = re.sub(r"_+", "_", name)
    return name.lower()


def _typed_columns(header, rows, rename, **kinds) -> list[tuple[str, str]]:
    return [(rename(col), infer_type([r[i] for r in rows], **kinds)) for i, col in enumerate(header)]


def _export_csvs(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob("*.csv") if p.is_file())


def fivetran_tables(folder: Path, *, schema: str = "salesforce", hard_deleted: int = 1) -> list[Table]:
    """The export folder's objects as a Fivetran connection lays them out in ``schema``.

    Every row keeps its ``is_deleted``; ``_fivetran_deleted`` is false on them. ``hard_deleted``
    extra rows per Opportunity and Lead (copies of the first row with a new Id, never in the export:
    a record purged from Salesforce that the connector kept) have ``_fivetran_deleted = true``, so a
    reader that ignores the flag counts them and its figures differ from the export folder's.
    """
    tables = []
    for path in _export_csvs(folder):
        header, rows = read_csv(path)
        keep = [i for i, col in enumerate(header) if col not in FORMULA_FIELDS]
        header = [header[i] for i in keep]
        rows = [[row[i] if i < len(row) else None for i in keep] for row in rows]
        columns = _typed_columns(header, rows, fivetran_name)
        extra = []
        if path.stem in ("Opportunity", "Lead") and "Id" in header and rows and rows[0][header.index("Id")]:
            id_at = header.index("Id")
            for k in range(hard_deleted):
                copy = list(rows[0])
                copy[id_at] = f"{rows[0][id_at][:3]}HARDDELETED{k:04d}"[:18]
                extra.append((copy, True))
        body = [(row, False) for row in rows] + extra
        table = Table(
            schema,
            fivetran_name(path.stem),
            columns + [("_fivetran_synced", "timestamptz"), ("_fivetran_deleted", "boolean")],
        )
        table.rows = [row + [SYNCED_AT, "true" if deleted else "false"] for row, deleted in body]
        tables.append(table)
    return tables


def fivetran_history_mode(folder: Path, *, schema: str = "salesforce_history") -> Table:
    """``Opportunity`` in Fivetran's history mode: one SCD2 row per version of each opportunity.

    The versions come from OpportunityHistory (stage, amount, probability, close date and forecast
    category as each history row set them, valid from its CreatedDate); the last version is the
    export's current row, active, valid from the last history row (or the creation) to
    9999-12-31. ``_fivetran_end`` is the next version's start less one millisecond, as Fivetran writes
    it. Rows without an Id, repeated Ids and history rows whose CreatedDate is not a timestamp are
    left out (Fivetran keys a history table by id and start).
    """
    header, rows = read_csv(Path(folder) / "Opportunity.csv")
    keep = [i for i, col in enumerate(header) if col not in FORMULA_FIELDS]
    header = [header[i] for i in keep]
    rows = [[row[i] for i in keep] for row in rows]
    h_header, h_rows = read_csv(Path(folder) / "OpportunityHistory.csv")
    hcol = {c: i for i, c in enumerate(h_header)}
    col = {c: i for i, c in enumerate(header)}
    by_opp: dict[str, list] = {}
    for h in h_rows:
        when = h[hcol["CreatedDate"]]
        if when and _TIMESTAMP.match(when) and _valid_timestamp(when):
            by_opp.setdefault(h[hcol["OpportunityId"]], []).append(h)
    copied = [
        c for c in ("StageName", "Amount", "Probability", "CloseDate", "ForecastCategory") if c in col and c in hcol
    ]
    seen: set[str] = set()
    out_rows = []
    for row in rows:
        opp_id = row[col["Id"]]
        created = row[col["CreatedDate"]]
        if not opp_id or opp_id in seen or not (created and _TIMESTAMP.match(created) and _valid_timestamp(created)):
            continue
        seen.add(opp_id)
        history = sorted(by_opp.get(opp_id, []), key=lambda h: dt.datetime.fromisoformat(h[hcol["CreatedDate"]]))
        versions = []
        for h in history[:-1]:
            version = list(row)
            for c in copied:
                version[col[c]] = h[hcol[c]]
            versions.append((dt.datetime.fromisoformat(h[hcol["CreatedDate"]]), version))
        start = dt.datetime.fromisoformat(history[-1][hcol["CreatedDate"]] if history else created)
        versions.append((start, list(row)))
        for k, (start, version) in enumerate(versions):
            last = k == len(versions) - 1
            end = (
                "9999-12-31T23:59:59.999+00:00"
                if last
                else (versions[k + 1][0] - dt.timedelta(milliseconds=1)).isoformat()
            )
            out_rows.append(["true" if last else "false", start.isoformat(), end, *version, SYNCED_AT])
    # types from the versions themselves: a history row may hold a value the current rows do not
    data_types = [infer_type([r[3 + i] for r in out_rows]) for i in range(len(header))]
    columns = [("_fivetran_active", "boolean"), ("_fivetran_start", "timestamptz"), ("_fivetran_end", "timestamptz")]
    columns += [(fivetran_name(c), t) for c, t in zip(header, data_types, strict=True)]
    return Table(schema, "opportunity", columns + [("_fivetran_synced", "timestamptz")], out_rows)


def airbyte_tables(folder: Path, *, schema: str = "airbyte_salesforce") -> list[Table]:
    """The export folder's objects as Airbyte's Postgres destination writes the Salesforce streams."""
    tables = []
    for path in _export_csvs(folder):
        header, rows = read_csv(path)
        columns = _typed_columns(header, rows, lambda c: re.sub(r"[^A-Za-z0-9_]", "_", c), number="numeric")
        columns += [
            ("_airbyte_raw_id", "text"),
            ("_airbyte_extracted_at", "timestamptz"),
            ("_airbyte_meta", "jsonb"),
            ("_airbyte_generation_id", "bigint"),
        ]
        meta = json.dumps({"sync_id": 1, "changes": []})
        body = [
            row + [str(uuid.uuid5(uuid.NAMESPACE_URL, f"{path.stem}/{n}")), SYNCED_AT, meta, "0"]
            for n, row in enumerate(rows)
        ]
        tables.append(Table(schema, path.stem, columns, body))
    return tables


#: Column types the dbt_salesforce integration tests give the seeds (integration_tests/dbt_project.yml,
#: seeds: +column_types); every other column is inferred from its values, as dbt seed does.
SEED_TYPES = {
    "*": {"_fivetran_synced": "timestamp", "_fivetran_active": "boolean"},
    "sf_account_data": dict.fromkeys(("last_activity_date", "last_referenced_date", "last_viewed_date"), "timestamp")
    | dict.fromkeys(
        ("annual_revenue", "billing_latitude", "billing_longitude", "shipping_latitude", "shipping_longitude"),
        "double precision",
    ),
    "sf_opportunity_data": dict.fromkeys(
        ("close_date", "created_date", "last_activity_date", "last_referenced_date", "last_viewed_date"), "timestamp"
    )
    | dict.fromkeys(("amount", "probability"), "double precision"),
    "sf_user_data": dict.fromkeys(
        ("last_login_date", "last_referenced_date", "last_viewed_date", "offline_trial_expiration_date"), "timestamp"
    )
    | dict.fromkeys(("latitude", "longitude"), "double precision"),
    "sf_contact_data": dict.fromkeys(
        (
            "birthdate",
            "created_date",
            "email_bounced_date",
            "last_activity_date",
            "last_curequest_date",
            "last_cuupdate_date",
            "last_modified_date",
            "last_referenced_date",
            "last_viewed_date",
            "system_modstamp",
        ),
        "timestamp",
    )
    | {"is_deleted": "boolean"},
    "sf_lead_data": dict.fromkeys(
        (
            "converted_date",
            "created_date",
            "email_bounced_date",
            "last_activity_date",
            "last_modified_date",
            "last_referenced_date",
            "last_viewed_date",
            "system_modstamp",
        ),
        "timestamp",
    )
    | {"is_deleted": "boolean"},
    "sf_task_data": dict.fromkeys(
        (
            "activity_date",
            "completed_date_time",
            "created_date",
            "last_modified_date",
            "recurrence_end_date_only",
            "recurrence_start_date_only",
            "reminder_date_time",
            "system_modstamp",
        ),
        "timestamp",
    )
    | {"is_deleted": "boolean"},
    "sf_event_data": dict.fromkeys(
        (
            "activity_date",
            "activity_date_time",
            "created_date",
            "end_date",
            "end_date_time",
            "last_modified_date",
            "recurrence_2_pattern_start_date",
            "recurrence_end_date_only",
            "recurrence_start_date_time",
            "reminder_date_time",
            "start_date_time",
            "system_modstamp",
        ),
        "timestamp",
    )
    | {"is_deleted": "boolean"},
    "sf_product_2_data": dict.fromkeys(
        ("created_date", "last_modified_date", "last_referenced_date", "last_viewed_date", "system_modstamp"),
        "timestamp",
    )
    | {"is_deleted": "boolean"},
    "sf_order_data": dict.fromkeys(
        (
            "activated_date",
            "created_date",
            "effective_date",
            "end_date",
            "last_modified_date",
            "last_referenced_date",
            "last_viewed_date",
            "system_modstamp",
        ),
        "timestamp",
    )
    | {"is_deleted": "boolean"},
    "sf_opportunity_line_item_data": dict.fromkeys(
        (
            "created_date",
            "last_modified_date",
            "last_referenced_date",
            "last_viewed_date",
            "service_date",
            "system_modstamp",
        ),
        "timestamp",
    )
    | {"is_deleted": "boolean"},
}


def seed_tables(folder: Path, *, schema: str = "salesforce", history_schema: str = "salesforce_history") -> list[Table]:
    """Fivetran's dbt_salesforce seeds as the package reads them.

    ``sf_<object>_data.csv`` -> ``<schema>.<object>``; ``sf_<object>_history_data.csv`` (history mode,
    SCD2) -> ``<history_schema>.<object>``. Columns are already Fivetran's names; types from
    :data:`SEED_TYPES`, then inferred (timestamps without a zone, as the seeds write them).
    """
    tables = []
    for path in sorted(Path(folder).glob("sf_*_data.csv")):
        stem = path.stem
        obj = stem.removeprefix("sf_").removesuffix("_data")
        target_schema = schema
        if obj.endswith("_history"):
            obj, target_schema = obj.removesuffix("_history"), history_schema
        header, rows = read_csv(path)
        explicit = SEED_TYPES["*"] | SEED_TYPES.get(stem, {})
        columns = []
        for i, col in enumerate(header):
            values = [r[i] if i < len(r) else None for r in rows]
            columns.append((col, explicit.get(col) or infer_type(values, timestamp="timestamp")))
        tables.append(Table(target_schema, obj, columns, rows))
    return tables


def copy_tables(conn, tables: list[Table]) -> dict[tuple[str, str], int]:
    """Create each table (schema created when missing) and COPY its rows in; returns rows per table."""
    from psycopg import sql

    counts = {}
    with conn.cursor() as cur:
        for table in tables:
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(table.schema)))
            target = sql.Identifier(table.schema, table.name)
            cols = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in table.columns)
            cur.execute(sql.SQL("CREATE TABLE {} ({})").format(target, cols))
            names = sql.SQL(", ").join(sql.Identifier(n) for n, _ in table.columns)
            with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, names)) as copy:
                width = len(table.columns)
                for row in table.rows:
                    copy.write_row((list(row) + [None] * width)[:width])
            counts[(table.schema, table.name)] = len(table.rows)
    conn.commit()
    return counts
