"""Field history as of a day, in SQL: a lead's status and owner, a deal's owner and close-date pushes.

The columns :meth:`CrmData.as_of <funnel_analysis.crm.model.CrmData.as_of>` takes from ``lead_history``
and ``opportunity_field_history``, rebuilt by the rules of :mod:`funnel_analysis.crm.field_history`
(its module docstring), written in the portable subset (no ASOF JOIN, one query for several days):

- **changes**: the rows whose ``Field`` (as written, trimmed) names the column (``Status`` ->
  ``status``, ``Owner`` -> ``owner_id``, ``CloseDate`` -> ``close_date``), typed by the column's kind,
  ordered by time, then the row's Id, then the raw new and old text, then file order (``row_no``).
  Rows without a time, of records not in the cut, or whose value does not parse are no changes;
- **typing**: a picklist (``status``) is trimmed, inner whitespace collapsed, and folded to the
  record's own spelling of the value (case-insensitively), else to the most frequent spelling in the
  history (ties: a mixed-case one, then the first in sorted order); a lookup (``owner_id``) keeps
  only its ID rows (``DataType`` EntityId, or no ``DataType`` and both values ID-like: no space and
  a digit), so the Text row of a paired owner change counts once, on its ID row; 15-character IDs
  are widened to 18; a date (``close_date``) is ``YYYY-MM-DD`` (another spelling is unparseable
  here: Salesforce writes a Date field's history so);
- **coverage**: a field's history starts at its earliest row (``history_start``, every row of the
  field counted); a record's history is complete when it was created on or after that start (its
  ``created_date``, or a ``created`` row on or after the start);
- **value on day d** (before the end of *d*, UTC): the new value of the last change (each change
  valid from its time to the next one's, the last to a 9999-12-31 sentinel, picked by a keyed range
  join against the spine of cut instants): ``"history"``; else the old value of the first change
  (``"first_change_old_value"``) or, without a change, the record's value (``"no_change"``), both
  only where the history is complete or *d* ends after the start; else the exported value is kept:
  ``"as_exported"``;
- **pushes**: the close-date changes to a later date before the end of *d* (a running count along
  the changes, read at the change valid on *d*); missing where the history is not complete;
  ``slipped_before`` is True with a push seen, False where complete without one, else missing.

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.crm import load_frames
>>> from funnel_analysis.engine import EngineOrg, connect
>>> lead = pd.DataFrame({"Id": ["00Q000000000001AAA", "00Q000000000002AAA"], "Status": ["Working", "Open"],
...                      "CreatedDate": ["2023-11-02T09:00:00Z", "2023-12-01T09:00:00Z"]})
>>> history = pd.DataFrame({"Id": ["017000000000001AAA", "017000000000002AAA"],
...     "LeadId": ["00Q000000000002AAA", "00Q000000000001AAA"], "Field": ["Status", "Status"],
...     "OldValue": ["Working", "Open"], "NewValue": ["Open", "Working"], "DataType": ["Text", "Text"],
...     "CreatedDate": ["2024-01-10T10:00:00Z", "2024-03-01T10:00:00Z"]})
>>> crm = load_frames({"Lead": lead, "LeadHistory": history})
>>> with connect("duckdb", threads=1) as eng:
...     state = lead_state(EngineOrg.from_crm(crm, engine=eng), as_of=["2023-12-31", "2024-02-15"])
>>> state[["status", "status_source"]].values.tolist()
[['Working', 'as_exported'], ['Open', 'as_exported'], ['Open', 'first_change_old_value'], ['Open', 'history']]
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from ..crm.field_history import HISTORY_TABLES, HistoryTable
from ..crm.schema import TABLES, snake_case
from .base import EngineError
from .org import EngineOrg
from .validate import _widen

__all__ = ["LEAD_STATE_COLUMNS", "OPPORTUNITY_FIELD_COLUMNS", "lead_state", "opportunity_field_state"]

#: The columns of :func:`lead_state` (the owner pair only when the history has Owner rows).
LEAD_STATE_COLUMNS = ("as_of", "lead_id", "status", "status_source", "owner_id", "owner_source")
#: The columns of :func:`opportunity_field_state` (the owner pair only when the history has Owner rows).
OPPORTUNITY_FIELD_COLUMNS = (
    "as_of",
    "opportunity_id",
    "owner_id",
    "owner_source",
    "close_date_pushes",
    "slipped_before",
)

_SENTINEL = "TIMESTAMPTZ '9999-12-31 00:00:00+00'"
_WS = " \t\n\r\x0b\x0c"  # what Python's strip() takes off the values of an export, but exotic spaces


def _lit(text: str) -> str:
    """A string literal of ours (a pattern, a set of characters: never a value from the data)."""
    return "'" + str(text).replace("'", "''") + "'"


def _bound(values: list[str], prefix: str, params: dict) -> str:
    """``field IN ($p0, $p1, ...)`` with the spellings bound (values from the data never enter the SQL)."""
    if not values:
        return "FALSE"
    names = [f"{prefix}{i}" for i in range(len(values))]
    params.update(zip(names, values, strict=True))
    return "field IN (" + ", ".join(f"${n}" for n in names) + ")"


def _trim(col: str) -> str:
    return f"NULLIF(TRIM({col}, {_lit(_WS)}), '')"


# ---- the field's spellings and starts (one small query) -----------------------------------------
def _column_of(spec: HistoryTable, name: str, record_columns) -> str | None:
    """The record column a ``Field`` value names (None for an event row or an unknown field)."""
    name = name.strip()
    if not name or name[0].islower():  # an event of the record (created, leadConverted), not a field
        return None
    record = TABLES[spec.record_table]
    columns = set(record.column_names) | set(record_columns)
    rename = record.sf_rename()
    for candidate in (rename.get(name), rename.get(f"{name}Id"), snake_case(name)):
        if candidate in columns:
            return candidate
    return None


def _spellings(org: EngineOrg, spec: HistoryTable) -> tuple[dict[str, list[str]], list[str], dict[str, bool]]:
    """Per column, the ``Field`` values (as written) naming it; the ``created`` spellings; whether each
    column's history has a start (a row with a time)."""
    hist = org.relation(spec.table)
    rows = org.engine.df(f"SELECT field, MIN(created_date) AS first_t FROM {hist} GROUP BY field")
    record_columns = org.columns(spec.record_table)
    by_column: dict[str, list[str]] = {}
    dated: dict[str, bool] = {}
    created = []
    for name, first_t in zip(rows["field"], rows["first_t"], strict=True):
        if not isinstance(name, str):
            continue
        if name.strip().lower() == "created":
            created.append(name)
        column = _column_of(spec, name, record_columns)
        if column is not None:
            by_column.setdefault(column, []).append(name)
            dated[column] = dated.get(column, False) or pd.notna(first_t)
    return by_column, created, dated


# ---- one field's changes, typed and ordered -----------------------------------------------------
def _typed_ctes(tag: str, kind: str, column: str, records: str) -> tuple[list[str], str, str, str]:
    """CTEs typing ``{tag}_raw``'s values; (ctes, old expression, new expression, row-is-kept expression)."""
    if kind == "picklist":
        norm = "REGEXP_REPLACE({x}, '[ \\t\\r\\n]+', ' ', 'g')"
        old, new = (norm.format(x=c) for c in ("x.old_t", "x.new_t"))
        ctes = [
            # the spellings of the field's values, counted over its rows (old and new)
            f"""{tag}_sp AS (
        SELECT v, LOWER(v) AS key, COUNT(*) AS n FROM (
            SELECT {old} AS v FROM {tag}_raw x UNION ALL SELECT {new} AS v FROM {tag}_raw x
        ) u WHERE v IS NOT NULL GROUP BY v
    )""",
            f"""{tag}_best AS (
        SELECT key, v, ROW_NUMBER() OVER (
            PARTITION BY key ORDER BY n DESC, (v <> LOWER(v) AND v <> UPPER(v)) DESC, v
        ) AS rn FROM {tag}_sp
    )""",
            # the record's own spellings win (folded at load: one per value)
            f"""{tag}_canon AS (
        SELECT LOWER({column}) AS key, MIN({column}) AS v FROM {records}
        WHERE {column} IS NOT NULL GROUP BY LOWER({column})
    )""",
            f"""{tag}_fold AS (
        SELECT s.v, COALESCE(c.v, b.v) AS folded FROM {tag}_sp s
        LEFT JOIN {tag}_canon c ON c.key = s.key
        LEFT JOIN {tag}_best b ON b.key = s.key AND b.rn = 1
    )""",
            f"""{tag}_typed AS (
        SELECT x.*, fo.folded AS old_v, fn.folded AS new_v, TRUE AS ok FROM {tag}_raw x
        LEFT JOIN {tag}_fold fo ON fo.v = {old}
        LEFT JOIN {tag}_fold fn ON fn.v = {new}
    )""",
        ]
        return ctes, "old_v", "new_v", "ok"
    if kind == "id":
        like = "(x.{c} IS NULL OR REGEXP_MATCHES(x.{c}, '^[^\\s]*[0-9][^\\s]*$'))"
        is_id = "(x.dtype = 'entityid' OR x.data_type IS NULL)"
        ok = f"({is_id} AND {like.format(c='old_raw')} AND {like.format(c='new_raw')})"
        vals = []
        for t in ("x.old_t", "x.new_t"):
            vals.append(f"CASE WHEN REGEXP_MATCHES({t}, '^[a-zA-Z0-9]{{15}}$') THEN {_widen(t)} ELSE {t} END")
        ctes = [f"{tag}_typed AS (SELECT x.*, {vals[0]} AS old_v, {vals[1]} AS new_v, {ok} AS ok FROM {tag}_raw x)"]
        return ctes, "old_v", "new_v", "ok"
    if kind == "date":
        vals, oks = [], []
        for t in ("x.old_t", "x.new_t"):
            v = f"CASE WHEN REGEXP_MATCHES({t}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$') THEN TRY_CAST({t} AS DATE) END"
            vals.append(v)
            oks.append(f"({t} IS NULL OR ({v}) IS NOT NULL)")
        ctes = [
            f"{tag}_typed AS (SELECT x.*, {vals[0]} AS old_v, {vals[1]} AS new_v, "
            f"({oks[0]} AND {oks[1]}) AS ok FROM {tag}_raw x)"
        ]
        return ctes, "old_v", "new_v", "ok"
    raise EngineError(f"field history: no SQL typing for a {kind!r} column ({column})")


def _field_ctes(
    org: EngineOrg, spec: HistoryTable, column: str, fields: list[str], created: list[str], params: dict
) -> list[str]:
    """The CTEs of one field: ``{column}_start``, ``{column}_born`` and ``{column}_iv`` (its changes,
    ordered, each with ``k`` (1 for the first), ``valid_to`` and ``pushes`` (running count)); the
    ``Field`` spellings they select are added to ``params``."""
    tag = f"fh_{column}"
    hist, records = org.relation(spec.table), org.relation(spec.record_table)
    kind = TABLES[spec.record_table].kinds().get(column, "str")
    names = _bound(fields, f"{tag}_field_", params)
    ctes = [
        f"""{tag}_raw AS (
        SELECT {spec.record_key} AS rec, created_date AS t, {spec.key} AS hid, row_no,
            old_value AS old_raw, new_value AS new_raw, data_type,
            {_trim("old_value")} AS old_t, {_trim("new_value")} AS new_t, LOWER({_trim("data_type")}) AS dtype
        FROM {hist} WHERE {names}
    )""",
        f"{tag}_start AS (SELECT MIN(t) AS start FROM {tag}_raw)",
    ]
    if created:
        born_names = _bound(created, f"{tag}_created_", params)
        ctes.append(
            f"""{tag}_born AS (
        SELECT DISTINCT h.{spec.record_key} AS rec FROM {hist} h CROSS JOIN {tag}_start s
        WHERE h.{born_names} AND h.created_date >= s.start
    )"""
        )
    else:
        ctes.append(f"{tag}_born AS (SELECT rec FROM {tag}_raw WHERE FALSE)")
    typed, old, new, ok = _typed_ctes(tag, kind, column, records)
    ctes += typed
    push = f"CASE WHEN {old} IS NOT NULL AND {new} IS NOT NULL AND {new} > {old} THEN 1 ELSE 0 END"
    order = "PARTITION BY rec ORDER BY t, hid NULLS LAST, new_raw NULLS LAST, old_raw NULLS LAST, row_no"
    ctes.append(
        f"""{tag}_iv AS (
        SELECT rec, t, {old} AS old_v, {new} AS new_v,
            ROW_NUMBER() OVER ({order}) AS k,
            COALESCE(LEAD(t) OVER ({order}), {_SENTINEL}) AS valid_to,
            SUM({push}) OVER ({order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS pushes
        FROM {tag}_typed WHERE t IS NOT NULL AND {ok}
    )"""
    )
    return ctes


def _field_joins(column: str) -> tuple[str, str, str]:
    """(joins onto ``o``, the complete expression, the covered expression) of one field."""
    tag = f"fh_{column}"
    joins = f"""
    LEFT JOIN {tag}_iv {tag}_l ON {tag}_l.rec = o.rec AND {tag}_l.t < o.cut_end AND o.cut_end <= {tag}_l.valid_to
    LEFT JOIN {tag}_iv {tag}_f ON {tag}_f.rec = o.rec AND {tag}_f.k = 1
    LEFT JOIN {tag}_born {tag}_b ON {tag}_b.rec = o.rec
    CROSS JOIN {tag}_start {tag}_s"""
    complete = f"({tag}_b.rec IS NOT NULL OR COALESCE(o.r_created >= {tag}_s.start, FALSE))"
    covered = f"({complete} OR COALESCE(o.cut_end > {tag}_s.start, FALSE))"
    return joins, complete, covered


def _value_columns(column: str, source: str) -> list[str]:
    tag = f"fh_{column}"
    _, _, covered = _field_joins(column)
    src = (
        f"CASE WHEN {tag}_l.rec IS NOT NULL THEN 'history' "
        f"WHEN {covered} AND {tag}_f.rec IS NOT NULL THEN 'first_change_old_value' "
        f"WHEN {covered} THEN 'no_change' ELSE 'as_exported' END"
    )
    value = (
        f"CASE WHEN {tag}_l.rec IS NOT NULL THEN {tag}_l.new_v "
        f"WHEN {covered} AND {tag}_f.rec IS NOT NULL THEN {tag}_f.old_v ELSE o.{column} END"
    )
    return [f"{value} AS {column}", f"{src} AS {source}"]


# ---- the spine and the query ----------------------------------------------------------------------
def _days(as_of, what: str) -> list[pd.Timestamp]:
    dates = [as_of] if isinstance(as_of, (str, pd.Timestamp)) or not hasattr(as_of, "__iter__") else list(as_of)
    out = []
    for d in dates:
        ts = pd.Timestamp(d)
        if pd.isna(ts):
            raise EngineError(f"{what}: as_of holds a missing date")
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        out.append(ts.normalize())
    if not out:
        raise EngineError(f"{what}: no dates given")
    return sorted(set(out))


def _register_spine(org: EngineOrg, days: list[pd.Timestamp], name: str) -> None:
    ends = [d + pd.Timedelta(days=1) for d in days]
    spine = pa.table(
        {
            "as_of": pa.array([d.date() for d in days], type=pa.date32()),
            "cut_end": pa.array([e.to_pydatetime() for e in ends], type=pa.timestamp("us", tz="UTC")),
        }
    )
    org.engine.register(name, spine)


def _state_query(
    org: EngineOrg, spec: HistoryTable, spine: str, what: str, columns: list[str], counts: bool
) -> tuple[str, dict[str, str], list[str]]:
    """The query of the records' ``columns`` (value, source) on each day of the relation ``spine``
    (``as_of`` DATE, ``cut_end`` TIMESTAMPTZ), and close-date pushes: (query, its bound parameters,
    the columns valued: those of ``columns`` whose history has a dated row, ``status`` always)."""
    by_column, created, dated = _spellings(org, spec)
    # a field with no row (or only undated ones) is untracked: the reference adds no owner columns
    values = [c for c in columns if c == "status" or dated.get(c, False)]
    fields = list(values) + (["close_date"] if counts else [])
    key = spec.record_key
    rec_cols = org.columns(spec.record_table)
    for c in [key, *values]:
        if c not in rec_cols:
            raise EngineError(f"{what}: the {spec.record_table} lack the column {c!r}")
    has_created = "created_date" in rec_cols
    exists_on = (
        "r.created_date < s.cut_end"
        if has_created and "created_date" in org.columns_present(spec.record_table)
        else "TRUE"
    )
    ctes: list[str] = []
    params: dict[str, str] = {}
    for column in fields:
        ctes += _field_ctes(org, spec, column, by_column.get(column, []), created, params)
    keep = ", ".join(f"r.{c}" for c in values)
    created_col = "r.created_date" if has_created else "CAST(NULL AS TIMESTAMP)"
    ctes.insert(
        0,
        f"""o AS (
        SELECT s.as_of, s.cut_end, r.{key} AS rec, {created_col} AS r_created{", " + keep if keep else ""}
        FROM {org.relation(spec.record_table)} r JOIN {spine} s ON {exists_on}
    )""",
    )
    select = ["o.as_of", f"o.rec AS {key}"]
    joins = ""
    for column in values:
        j, _, _ = _field_joins(column)
        joins += j
        source = "status_source" if column == "status" else "owner_source"
        select += _value_columns(column, source)
    if counts:
        j, complete, _ = _field_joins("close_date")
        joins += j
        seen = "COALESCE(fh_close_date_l.pushes, 0)"
        select += [
            f"CAST(CASE WHEN {complete} THEN {seen} END AS BIGINT) AS close_date_pushes",
            f"CASE WHEN {seen} > 0 THEN TRUE WHEN {complete} THEN FALSE END AS slipped_before",
        ]
    query = "WITH\n    " + ",\n    ".join(ctes) + f"\nSELECT {', '.join(select)}\nFROM o{joins}"
    return query, params, values


def _opportunity_fields_query(org: EngineOrg, spine: str) -> tuple[str, dict[str, str], list[str]]:
    """What the as-of cut (:func:`funnel_analysis.engine.asof.asof_query`) takes from
    ``opportunity_field_history`` on the days of ``spine``: the query of :func:`opportunity_field_state`
    (``owner_id`` and ``owner_source`` when the history has dated Owner rows and the deals an
    ``owner_id``; ``close_date_pushes``, ``slipped_before``), its bound parameters and the columns valued."""
    spec = HISTORY_TABLES["opportunity_field_history"]
    what = "asof"
    for table in (spec.record_table, spec.table):
        if not org.has(table):
            raise EngineError(f"{what}: the org in the engine has no table {table!r}")
    columns = ["owner_id"] if "owner_id" in org.columns(spec.record_table) else []
    return _state_query(org, spec, spine, what, columns, counts=True)


def _state(org: EngineOrg, spec: HistoryTable, as_of, what: str, columns: list[str], counts: bool) -> pd.DataFrame:
    """The cut's records with ``columns`` (value, source) as of each day, and close-date pushes."""
    days = _days(as_of, what)
    for table in (spec.record_table, spec.table):
        if not org.has(table):
            raise EngineError(f"{what}: the org in the engine has no table {table!r}")
    spine = f"fh_{spec.table}_spine"
    query, params, _ = _state_query(org, spec, spine, what, columns, counts)
    _register_spine(org, days, spine)
    key = spec.record_key
    name = f"fh_{spec.table}_state"
    org.engine.materialise(name, query, params)
    # through Arrow: its strings reach pandas without a Python object each (1.8M rows: 2 s, not 6)
    out = org.engine.sql(f"SELECT * FROM {name} ORDER BY as_of, {key}").to_pandas()
    out["as_of"] = pd.to_datetime(out["as_of"])
    for c in out.columns:
        if c not in ("as_of", "close_date_pushes", "slipped_before"):
            out[c] = out[c].astype("str")
    if counts:
        out["close_date_pushes"] = out["close_date_pushes"].astype("Int64")
        out["slipped_before"] = out["slipped_before"].astype("boolean")
    return out


def lead_state(org: EngineOrg, *, as_of) -> pd.DataFrame:
    """Every lead's status and owner on each day of ``as_of``, from ``lead_history``, in one query.

    The values and sources of the leads of :meth:`CrmData.as_of(day).leads
    <funnel_analysis.crm.model.CrmData.as_of>` (see the module rules).

    Parameters
    ----------
    org : EngineOrg
        The org in its engine, with ``leads`` and ``lead_history``.
    as_of : date-like or list of them
        The days of the cuts (a timestamp counts as its UTC day).

    Returns
    -------
    DataFrame
        One row per day and lead created by its end: ``as_of`` (Timestamp), ``lead_id``,
        ``status`` and ``status_source``, and when the history has ``Owner`` rows ``owner_id`` and
        ``owner_source`` (``"history"``, ``"first_change_old_value"``, ``"no_change"`` or
        ``"as_exported"``: the value on the day is unknown, the exported one is kept); sorted by day
        and lead.

    Raises
    ------
    EngineError
        When no date is given, or the org has no ``leads`` or no ``lead_history`` (the reference
        then leaves the leads as exported, with no ``*_source`` column).

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> from funnel_analysis.engine import EngineOrg, connect
    >>> lead = pd.DataFrame({"Id": ["00Q000000000001AAA"], "OwnerId": ["005000000000002AAA"],
    ...     "CreatedDate": ["2024-01-02T08:00:00Z"]})
    >>> history = pd.DataFrame({"Id": ["017000000000001AAA", "017000000000002AAA"],
    ...     "LeadId": ["00Q000000000001AAA"] * 2, "Field": ["Owner"] * 2, "DataType": ["EntityId", "Text"],
    ...     "OldValue": ["005000000000001AAA", "Ann Lee"], "NewValue": ["005000000000002AAA", "Bo Li"],
    ...     "CreatedDate": ["2024-03-01T14:30:00Z"] * 2})
    >>> with connect("duckdb", threads=1) as eng:
    ...     got = lead_state(EngineOrg.from_crm(load_frames({"Lead": lead, "LeadHistory": history}), engine=eng),
    ...                      as_of=["2024-02-01", "2024-03-01"])
    >>> got[["owner_id", "owner_source"]].values.tolist()
    [['005000000000002AAA', 'as_exported'], ['005000000000002AAA', 'history']]

    The Owner history starts on 2024-03-01, after the lead was created: its owner before then is
    unknown, and the exported one is kept. The change's two rows (the IDs, the names) count once.
    """
    spec = HISTORY_TABLES["lead_history"]
    return _state(org, spec, as_of, "lead_state", ["status", "owner_id"], counts=False)


def opportunity_field_state(org: EngineOrg, *, as_of) -> pd.DataFrame:
    """Every deal's owner and close-date pushes on each day of ``as_of``, from its field history.

    The columns :meth:`CrmData.as_of(day).opportunities <funnel_analysis.crm.model.CrmData.as_of>`
    takes from ``opportunity_field_history`` (see the module rules); the stage, amount and close date
    on the day come from :func:`funnel_analysis.engine.asof.asof_state`.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine, with ``opportunities`` and ``opportunity_field_history``.
    as_of : date-like or list of them
        The days of the cuts (a timestamp counts as its UTC day).

    Returns
    -------
    DataFrame
        One row per day and deal created by its end: ``as_of`` (Timestamp), ``opportunity_id``,
        when the history has ``Owner`` rows ``owner_id`` and ``owner_source`` (as
        :func:`lead_state`), ``close_date_pushes`` (``Int64``: pushes before the end of the day;
        missing where the deal's CloseDate history is not complete) and ``slipped_before``
        (``boolean``: pushed at least once; missing where no push is seen and the history is not
        complete); sorted by day and deal.

    Raises
    ------
    EngineError
        When no date is given, or the org has no ``opportunities`` or no
        ``opportunity_field_history``.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> from funnel_analysis.engine import EngineOrg, connect
    >>> deal = pd.DataFrame({"Id": ["006000000000001AAA"], "StageName": ["Prospecting"],
    ...     "CloseDate": ["2024-05-31"], "CreatedDate": ["2024-01-02T09:00:00Z"]})
    >>> history = pd.DataFrame({"Id": ["017000000000001AAA", "017000000000002AAA"],
    ...     "OpportunityId": ["006000000000001AAA"] * 2, "Field": ["CloseDate"] * 2,
    ...     "OldValue": ["2024-03-31", "2024-04-30"], "NewValue": ["2024-04-30", "2024-05-31"],
    ...     "CreatedDate": ["2024-01-02T09:00:00Z", "2024-03-01T10:00:00Z"]})
    >>> crm = load_frames({"Opportunity": deal, "OpportunityFieldHistory": history})
    >>> with connect("duckdb", threads=1) as eng:
    ...     got = opportunity_field_state(EngineOrg.from_crm(crm, engine=eng), as_of=["2024-02-01", "2024-03-01"])
    >>> got[["close_date_pushes", "slipped_before"]].values.tolist()
    [[1, True], [2, True]]
    """
    spec = HISTORY_TABLES["opportunity_field_history"]
    return _state(org, spec, as_of, "opportunity_field_state", ["owner_id"], counts=True)
