"""Field history: a lead's status and owner, a deal's close date, amount and owner, as of any day.

Salesforce writes one row per change of a tracked field into ``LeadHistory`` and
``OpportunityFieldHistory`` (tables ``lead_history`` and ``opportunity_field_history``): the field's
API name (``Status``, ``Owner``, ``CloseDate``, ``Amount``), the old and the new value as text, the
data type and the time, to the second. Real histories are incomplete, and every function here says so
rather than guess.

Rules
-----
- **Changes.** The rows of one field (its API name mapped to the record's column: ``Status`` ->
  ``status``, ``Owner`` -> ``owner_id``, ``CloseDate`` -> ``close_date``) are typed by the column's
  kind (:func:`~funnel_analysis.crm.parse.parse_column`; picklist values folded to the record's
  spellings) and ordered by time, then by the row's ``Id`` (changes in the same second), so the result
  is the same whatever the file order. A row whose value does not parse for the field's type is left
  out and counted (and flagged at load, rule ``history_value_unparseable``); so is a row of a record
  that does not exist (flagged at load, ``reference_unresolved``). Rows that are events, not fields
  (``created``, ``leadConverted``, ``leadMerged``, ``locked``, ...: a Field starting in lower case),
  are no changes.
- **Paired owner rows.** Salesforce writes a change of a lookup (``Owner``) as two rows at the same
  time: one ``DataType`` EntityId with the IDs, one Text with the names. They count once: the ID row
  is the change, the names are carried as ``old_name`` / ``new_name``. Without a ``DataType``, a value
  without spaces and with a digit is an ID. A name row without its ID row cannot say which record it
  names: it is left out as unparseable.
- **Coverage.** A field's history starts at its earliest row in the file (``history_start``): field
  tracking was switched on then, or older rows fell out of Salesforce's 18-month retention. A record's
  history of the field is *complete* when the record was created on or after that start: by its
  ``CreatedDate``, or by its ``created`` history row (the row dates the creation in the history itself;
  a ``created`` row older than the field's start proves nothing for that field, whose tracking may
  have been switched on later, as the object's other fields were tracked). A field with no row at
  all is treated as untracked: nothing is known of it.
- **Value as of a day** (the end of the day, UTC): the new value of the record's last change before
  the end of the day (``source = "history"``); else, when its changes are all later, the *old* value
  of its first change (``"first_change_old_value"``: tracking may have been switched on after the
  record was created, so the current value would be wrong); else, with no change at all, the record's
  current value (``"no_change"``). On a day before the field's history starts, the value of a record
  whose history is not complete is ``"unknown"`` (missing): changes before the start may be lost.
- **Counts** (close-date pushes, amount changes) are counted where the history is complete and are
  missing (``pd.NA``, "unknown", never 0) where it is not; the ``*_seen`` columns give the lower
  bound the kept rows show.
- **Absent history.** Without the table, nothing is invented: changes are empty, values unknown,
  counts missing, and :func:`history_note` says so in one line for a report.

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.crm import load_frames
>>> lead = pd.DataFrame({"Id": ["00Q000000000001AAA", "00Q000000000002AAA"], "Status": ["Working", "Open"],
...                      "CreatedDate": ["2023-11-02T09:00:00Z", "2023-12-01T09:00:00Z"]})
>>> history = pd.DataFrame({"Id": ["017000000000001AAA", "017000000000002AAA"],
...     "LeadId": ["00Q000000000002AAA", "00Q000000000001AAA"], "Field": ["Status", "Status"],
...     "OldValue": ["Working", "Open"], "NewValue": ["Open", "Working"], "DataType": ["Text", "Text"],
...     "CreatedDate": ["2024-01-10T10:00:00Z", "2024-03-01T10:00:00Z"]})
>>> crm = load_frames({"Lead": lead, "LeadHistory": history})
>>> field_as_of(crm, table="lead_history", field="Status", as_of="2024-02-15")[["status", "source"]].values.tolist()
[['Open', 'first_change_old_value'], ['Open', 'history']]
>>> field_as_of(crm, table="lead_history", field="Status", as_of="2023-12-31")["source"].tolist()
['unknown', 'unknown']
>>> history_note(crm, table="lead_history")
'LeadHistory starts 2024-01-10: the status of 2 leads created earlier is unknown before then'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._util.arrow import index_in
from .._util.missing import mark_missing
from .clean import fold_picklist
from .parse import parse_column
from .schema import TABLES, snake_case
from .validate import ISSUE_COLUMNS, WARNING

__all__ = [
    "SLIP_HISTORY",
    "slip_history",
    "HISTORY_TABLES",
    "HistoryTable",
    "field_changes",
    "field_as_of",
    "close_date_pushes",
    "amount_changes",
    "queue_time",
    "history_coverage",
    "history_note",
    "history_value_issues",
]


@dataclass(frozen=True)
class HistoryTable:
    """A field-history table and the records it tracks.

    Attributes
    ----------
    table : str
        The history table (``"lead_history"``).
    sf_object : str
        Its Salesforce object (``"LeadHistory"``).
    key : str
        Its row ID column (``"lead_history_id"``).
    record_table : str
        The table of the tracked records (``"leads"``).
    record_key : str
        The column naming the record, in both tables (``"lead_id"``).
    noun : str
        What a record is called in a report line (``"lead"``, ``"deal"``).
    """

    table: str
    sf_object: str
    key: str
    record_table: str
    record_key: str
    noun: str


#: The field-history tables, by canonical name.
HISTORY_TABLES = {
    "lead_history": HistoryTable("lead_history", "LeadHistory", "lead_history_id", "leads", "lead_id", "lead"),
    "opportunity_field_history": HistoryTable(
        "opportunity_field_history",
        "OpportunityFieldHistory",
        "field_history_id",
        "opportunities",
        "opportunity_id",
        "deal",
    ),
}

_ID_LIKE = r"^[^\s]*\d[^\s]*$"  # no spaces and a digit: an ID (005..., 00G..., 12345), not a name
_UNPARSEABLE = "history_value_unparseable"


# ---- naming: tables and fields ---------------------------------------------------------------
def _org(crm) -> None:
    """One TypeError when ``crm`` is not an org (a :class:`~funnel_analysis.crm.CrmData`)."""
    if not isinstance(getattr(crm, "tables", None), dict):
        raise TypeError(f"crm must be a CrmData (funnel_analysis.load_org), got {type(crm).__name__}")


def _table(crm, name: str) -> pd.DataFrame | None:
    """The org's table ``name`` (read from the cache of an engine-only org), None when the source lacked it."""
    crm.ensure_tables(name)
    return crm.tables.get(name)


def _history_table(table) -> HistoryTable:
    """The history table of a canonical or Salesforce name; one ValueError naming it otherwise."""
    for spec in HISTORY_TABLES.values():
        if table in (spec.table, spec.sf_object):
            return spec
    known = ", ".join(f"{s.table} ({s.sf_object})" for s in HISTORY_TABLES.values())
    raise ValueError(f"unknown field-history table {table!r}: one of {known}")


def _is_event(field_name) -> bool:
    """A row that is an event of the record (``created``, ``leadConverted``), not a field change."""
    return isinstance(field_name, str) and bool(field_name) and field_name[0].islower()


def _column_of(spec: HistoryTable, field_name, record_columns=()) -> str | None:
    """The record column a history ``Field`` value (an API name as written) names, or None."""
    if not isinstance(field_name, str) or not field_name.strip() or _is_event(field_name.strip()):
        return None
    name = field_name.strip()
    record = TABLES[spec.record_table]
    columns = set(record.column_names) | set(record_columns)
    rename = record.sf_rename()
    for candidate in (rename.get(name), rename.get(f"{name}Id"), snake_case(name)):
        if candidate in columns:
            return candidate
    return None


def _resolve_field(crm, spec: HistoryTable, field_name) -> str:
    """The column of ``field_name`` (a column or an API name); one ValueError naming it otherwise."""
    record = _table(crm, spec.record_table)
    record_columns = record.columns if record is not None else ()
    columns = set(TABLES[spec.record_table].column_names) | set(record_columns)
    if isinstance(field_name, str) and field_name.strip() in columns:
        return field_name.strip()
    column = _column_of(spec, field_name, record_columns)
    if column is None:
        what = "an event row, not a field," if isinstance(field_name, str) and _is_event(field_name) else "not a field"
        raise ValueError(
            f"field {field_name!r} is {what} of {TABLES[spec.record_table].sf_object} ({spec.sf_object}):"
            " give a column of the record (status, owner_id, close_date, amount) or its API name"
            " (Status, Owner, CloseDate, Amount)"
        )
    return column


# ---- one field's changes, typed, paired and ordered (memoised per org) -------------------------
@dataclass
class _Changes:
    """One field's tidy changes, sorted by time then Id, with what coverage needs."""

    spec: HistoryTable
    column: str
    kind: str
    frame: pd.DataFrame  # the public shape of field_changes
    t_ns: np.ndarray  # created_date as int64 ns (UTC), in frame order
    start: pd.Timestamp | None  # earliest row of the field in the file (UTC, naive)
    created_ids: pd.Series  # records whose ``created`` row is on or after ``start``
    counts: dict = field(default_factory=dict)


def _naive_utc(values: pd.Series) -> pd.Series:
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.astype("datetime64[ns]")


@dataclass
class _FieldRows:
    """The rows of one field in a history table, typed: what each row is worth."""

    pos: np.ndarray  # positions of the field's rows in the history table
    kind: str
    old: pd.Series  # typed values, indexed 0..n-1 like ``pos``
    new: pd.Series
    old_name: pd.Series | None  # lookups: the names of the paired Text row
    new_name: pd.Series | None
    bad_old: np.ndarray  # the value does not parse for the field's type
    bad_new: np.ndarray
    paired: np.ndarray  # the Text row of a paired owner change (counted once, on its ID row)


def _looks_like_id(values: pd.Series) -> np.ndarray:
    text = values.astype("str")
    return (values.isna() | text.str.match(_ID_LIKE).fillna(False)).to_numpy(dtype=bool)


def _field_rows(hist: pd.DataFrame, spec: HistoryTable, column: str, record: pd.DataFrame | None) -> _FieldRows:
    """Rows of ``column``, typed, with their unparseable and paired-name masks.

    The one place that decides what a row is worth, shared by :func:`field_changes` and the
    load-time flags (:func:`history_value_issues`).
    """
    record_columns = record.columns if record is not None else ()
    names = hist["field"].astype("str").str.strip()
    mine = [u for u in names.dropna().unique() if _column_of(spec, u, record_columns) == column]
    pos = np.flatnonzero(names.isin(mine).fillna(False).to_numpy(dtype=bool))
    rows = hist.iloc[pos]
    kind = TABLES[spec.record_table].kinds().get(column, "str")
    n = len(rows)
    old_raw = rows["old_value"].reset_index(drop=True)
    new_raw = rows["new_value"].reset_index(drop=True)
    paired = np.zeros(n, dtype=bool)
    old_name = new_name = None
    if kind == "id":
        data_type = rows["data_type"].astype("str").str.strip().str.lower().reset_index(drop=True)
        old_ok, new_ok = _looks_like_id(old_raw), _looks_like_id(new_raw)
        no_type = data_type.isna().to_numpy(dtype=bool)
        is_id = (data_type == "entityid").fillna(False).to_numpy(dtype=bool) | (no_type & old_ok & new_ok)
        # pair each name row with the ID row of the same record and second (in Id order when several)
        frame = pd.DataFrame(
            {
                "rec": rows[spec.record_key].to_numpy(),
                "t": rows["created_date"].array,  # datetimes, not an object array of Timestamps (0.03 s a build)
                "id": rows[spec.key].to_numpy(),
                "i": np.arange(n),
                "is_id": is_id,
            }
        ).sort_values(["rec", "t", "id"], kind="stable")
        frame["rank"] = frame.groupby(["rec", "t", "is_id"], dropna=False).cumcount()
        ids, texts = frame[frame["is_id"]], frame[~frame["is_id"]]
        match = ids.merge(texts, on=["rec", "t", "rank"], suffixes=("", "_name"))
        at, src = match["i"].to_numpy(dtype=np.int64), match["i_name"].to_numpy(dtype=np.int64)
        old_name = pd.Series(None, index=range(n), dtype="str")
        new_name = pd.Series(None, index=range(n), dtype="str")
        old_name.iloc[at] = old_raw.iloc[src].to_numpy()
        new_name.iloc[at] = new_raw.iloc[src].to_numpy()
        paired[src] = True
        old, _, _ = parse_column(old_raw, "id")
        new, _, _ = parse_column(new_raw, "id")
        # an ID row must carry IDs; a name row without its ID row cannot say which record it names
        bad_old = np.where(is_id, ~old_ok, ~paired & old_raw.notna().to_numpy(dtype=bool))
        bad_new = np.where(is_id, ~new_ok, ~paired & new_raw.notna().to_numpy(dtype=bool))
        bad_new |= ~is_id & ~paired & ~bad_old & ~bad_new  # an unpaired name row with no value at all
    else:
        both = pd.concat([old_raw, new_raw], ignore_index=True)
        typed, invalid, _ = parse_column(both, kind)
        if kind == "picklist":
            canonical = None
            if record is not None and column in record:
                canonical = record[column].dropna().astype("str").unique().tolist() or None
            typed = fold_picklist(typed, canonical=canonical)
        old, new = typed.iloc[:n].reset_index(drop=True), typed.iloc[n:].reset_index(drop=True)
        invalid = invalid.to_numpy(dtype=bool)
        bad_old, bad_new = invalid[:n], invalid[n:]
    return _FieldRows(pos, kind, old, new, old_name, new_name, bad_old, bad_new, paired)


def _empty_history(spec: HistoryTable) -> pd.DataFrame:
    return pd.DataFrame(
        {
            c.name: pd.Series(dtype="datetime64[us, UTC]" if c.kind == "datetime" else "str")
            for c in TABLES[spec.table].columns
        }
    )


def _changes(crm, spec: HistoryTable, column: str) -> _Changes:
    """The memoised changes of one field of one org (rebuilt when a table of the org is replaced)."""
    hist = _table(crm, spec.table)
    record = _table(crm, spec.record_table)
    memo = crm.__dict__.setdefault("_field_history_cache", {})
    key = (spec.table, column)
    hit = memo.get(key)
    if hit is not None and hit[0] is hist and hit[1] is record:
        return hit[2]
    out = _build_changes(spec, column, _empty_history(spec) if hist is None else hist, record)
    memo[key] = (hist, record, out)
    return out


def _build_changes(spec: HistoryTable, column: str, hist: pd.DataFrame, record: pd.DataFrame | None) -> _Changes:
    fr = _field_rows(hist, spec, column, record)
    kind, old, new, paired, bad = fr.kind, fr.old, fr.new, fr.paired, fr.bad_old | fr.bad_new
    rows = hist.iloc[fr.pos].reset_index(drop=True)
    times = rows["created_date"]
    start = _naive_utc(times).min() if len(rows) else None
    start = None if start is None or pd.isna(start) else pd.Timestamp(start)
    if record is not None and spec.record_key in record:
        exists = index_in(rows[spec.record_key], record[spec.record_key]) >= 0
    else:
        exists = np.zeros(len(rows), dtype=bool)
    undated = times.isna().to_numpy()
    unknown = ~exists
    keep = exists & ~undated & ~paired & ~bad
    counts = {
        "rows": len(rows),
        "rows_unknown_record": int(unknown.sum()),
        "rows_paired_names": int((paired & ~unknown).sum()),
        "rows_unparseable": int((bad & ~unknown & ~paired).sum()),
        "rows_undated": int((undated & ~unknown & ~paired & ~bad).sum()),
    }
    frame = pd.DataFrame(
        {
            spec.record_key: rows[spec.record_key],
            "created_date": times,
            spec.key: rows[spec.key],
            "field": column,
            "old_value": old,
            "new_value": new,
        }
    )
    if kind == "id":
        frame["old_name"] = fr.old_name
        frame["new_name"] = fr.new_name
    frame["created_by_id"] = rows["created_by_id"]
    # ties in one second by the row's Id; then by the raw text (only a repeated Id gets that far)
    frame["_old"], frame["_new"] = rows["old_value"].astype("str"), rows["new_value"].astype("str")
    frame = frame[keep].sort_values(["created_date", spec.key, "_new", "_old"], kind="stable", na_position="last")
    frame = frame.drop(columns=["_old", "_new"]).reset_index(drop=True)
    created = hist["field"].astype("str").str.strip().str.lower() == "created"
    born = hist.loc[created.to_numpy(), [spec.record_key, "created_date"]].dropna()
    # a created row proves a complete history only for a field tracked by then (its history started)
    born = born[(_naive_utc(born["created_date"]) >= start).to_numpy(dtype=bool)] if start is not None else born[:0]
    created_ids = born[spec.record_key].drop_duplicates().reset_index(drop=True)
    t_ns = _naive_utc(frame["created_date"]).to_numpy().view("int64")
    return _Changes(spec, column, kind, frame, t_ns, start, created_ids, counts)


# ---- values as of a day ------------------------------------------------------------------------
@dataclass
class _AsOf:
    """Per record (in the order of ``records``): value, source, and the change positions used."""

    value: pd.Series
    source: np.ndarray
    changed_at: pd.Series
    complete: np.ndarray
    code: np.ndarray  # per change: the record's position in ``records`` (-1: not among them)
    before: np.ndarray  # per change: before the end of the day


def _complete(ch: _Changes, records: pd.DataFrame) -> np.ndarray:
    """Whether each record's history of the field is complete (see the module rules)."""
    key = ch.spec.record_key
    has_created = index_in(records[key], ch.created_ids) >= 0
    if ch.start is None:
        return np.zeros(len(records), dtype=bool)
    if "created_date" in records:
        born = _naive_utc(records["created_date"])
        after = (born >= ch.start).fillna(False).to_numpy(dtype=bool)
    else:
        after = np.zeros(len(records), dtype=bool)
    return has_created | after


def _as_of(ch: _Changes, records: pd.DataFrame, end: pd.Timestamp, current: pd.Series | None = None) -> _AsOf:
    """Each record's value at ``end`` (exclusive, naive UTC) by the rules of the module."""
    n = len(records)
    m = len(ch.frame)
    code = index_in(ch.frame[ch.spec.record_key], records[ch.spec.record_key]) if m else np.zeros(0, np.int64)
    end_ns = pd.Timestamp(end).value
    known = code >= 0
    before = known & (ch.t_ns < end_ns)
    idx = np.arange(m)
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, code[before], idx[before])
    first = np.full(n, m, dtype=np.int64)
    np.minimum.at(first, code[known], idx[known])
    complete = _complete(ch, records)
    covered = complete | (ch.start is not None and end > ch.start)
    has_last = last >= 0
    use_old = ~has_last & (first < m) & covered
    no_change = (first >= m) & covered
    if current is None:
        current = records[ch.column] if ch.column in records else pd.Series(None, index=records.index, dtype="str")
    current = current.reset_index(drop=True)
    new = ch.frame["new_value"].take(np.where(has_last, last, 0)).reset_index(drop=True) if m else current
    old = ch.frame["old_value"].take(np.where(use_old, first, 0)).reset_index(drop=True) if m else current
    value = current.where(no_change, None) if current.dtype == "str" else current.where(no_change)
    if m:
        value = value.mask(use_old, old).mask(has_last, new)
    source = np.where(has_last, "history", np.where(use_old, "first_change_old_value", "unknown")).astype(object)
    source[no_change] = "no_change"
    t = ch.frame["created_date"].take(np.where(has_last, last, 0)).reset_index(drop=True) if m else None
    changed_at = t.where(has_last) if m else pd.Series(pd.NaT, index=range(n), dtype="datetime64[us, UTC]")
    return _AsOf(value, source, changed_at, complete, code, before)


def _end_of(as_of) -> pd.Timestamp:
    """The end of the day ``as_of`` (exclusive), naive UTC; one ValueError naming ``as_of`` otherwise."""
    try:
        ts = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"as_of={as_of!r} is not a date (YYYY-MM-DD, or None for the latest date in the data)"
        ) from exc
    if pd.isna(ts):
        raise ValueError("as_of is missing: give a date (YYYY-MM-DD), or None for the latest date in the data")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize() + pd.Timedelta(days=1)


def _data_end(crm) -> pd.Timestamp:
    """The end of the latest day in the data: the cut's day for a cut, else the latest timestamp's day.

    The same day as :func:`funnel_analysis.crm.latest_date` (the latest change timestamp of any table).
    """
    if getattr(crm, "as_of_date", None) is not None:
        return pd.Timestamp(crm.as_of_date).normalize() + pd.Timedelta(days=1)
    if crm.meta.get("engine_only") and crm.meta.get(
        "latest_date"
    ):  # its tables are in the engine, which worked the day out
        return pd.Timestamp(crm.meta["latest_date"]) + pd.Timedelta(days=1)
    best = None
    for df in crm.tables.values():
        for col in ("system_modstamp", "last_modified_date", "created_date"):
            if col in df.columns and pd.api.types.is_datetime64_any_dtype(df[col]) and df[col].notna().any():
                t = _naive_utc(df[col]).max()
                best = t if best is None or t > best else best
    if best is None:
        raise ValueError("the data has no timestamp (SystemModstamp, LastModifiedDate, CreatedDate): give as_of")
    return best.normalize() + pd.Timedelta(days=1)


def _end(crm, as_of) -> pd.Timestamp:
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        return _data_end(crm)
    return _end_of(as_of)


def _records_at(crm, spec: HistoryTable, end: pd.Timestamp) -> pd.DataFrame:
    """The records that exist at ``end`` (created before it, as the as-of cut keeps them)."""
    records = _table(crm, spec.record_table)
    if records is None:
        return pd.DataFrame({spec.record_key: pd.Series(dtype="str")})
    if "created_date" in crm.meta.get("columns_present", {}).get(spec.record_table, records.columns):
        keep = (_naive_utc(records["created_date"]) < end).fillna(False).to_numpy(dtype=bool)
        records = records[keep]
    return records.reset_index(drop=True)


# ---- public: changes and values ----------------------------------------------------------------
def field_changes(crm, *, table: str, field: str) -> pd.DataFrame:
    """The changes of one field, one row per change, ordered by time then by the row's Id.

    Parameters
    ----------
    crm : CrmData
        The org (or a cut of it: its history holds the rows before its day).
    table : str
        ``"lead_history"`` / ``"LeadHistory"`` or ``"opportunity_field_history"`` /
        ``"OpportunityFieldHistory"``.
    field : str
        The record's column (``"status"``, ``"owner_id"``, ``"close_date"``, ``"amount"``) or its
        Salesforce API name as the history writes it (``"Status"``, ``"Owner"``, ``"CloseDate"``).

    Returns
    -------
    DataFrame
        ``<record key>`` (``lead_id`` / ``opportunity_id``), ``created_date``, ``<history id>``
        (``lead_history_id`` / ``field_history_id``), ``field`` (the column), ``old_value``,
        ``new_value`` (typed by the column's kind: dates for ``close_date``, floats for ``amount``
        in the deal's own currency, folded picklist values for ``status``), for a lookup such as
        ``owner_id`` also ``old_name`` / ``new_name`` (from the paired Text row), and
        ``created_by_id``. Rows of records that do not exist, unparseable values and the name rows
        of paired owner changes are left out (:func:`history_coverage` counts them). Empty, with
        these columns, when the org has no such history.

    Raises
    ------
    TypeError
        When ``crm`` is not a :class:`~funnel_analysis.crm.CrmData`.
    ValueError
        When ``table`` is not a field-history table or ``field`` not a field of its records.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> deal = pd.DataFrame({"Id": ["006000000000001AAA"], "StageName": ["Prospecting"],
    ...     "CloseDate": ["2024-05-31"], "CreatedDate": ["2024-01-02T09:00:00Z"]})
    >>> history = pd.DataFrame({"Id": ["017000000000002AAA", "017000000000001AAA"],
    ...     "OpportunityId": ["006000000000001AAA"] * 2, "Field": ["CloseDate"] * 2,
    ...     "OldValue": ["2024-04-30", "2024-03-31"], "NewValue": ["2024-05-31", "2024-04-30"],
    ...     "CreatedDate": ["2024-03-01T10:00:00Z"] * 2})
    >>> crm = load_frames({"Opportunity": deal, "OpportunityFieldHistory": history})
    >>> field_changes(crm, table="OpportunityFieldHistory", field="CloseDate")["new_value"].dt.strftime("%m-%d").tolist()
    ['04-30', '05-31']
    """
    _org(crm)
    spec = _history_table(table)
    column = _resolve_field(crm, spec, field)
    return _changes(crm, spec, column).frame.copy()


def field_as_of(crm, *, table: str, field: str, as_of=None) -> pd.DataFrame:
    """Each record's value of one field at the end of a day, and where that value came from.

    Parameters
    ----------
    crm : CrmData
        The org.
    table : str
        The history table (``"lead_history"``, ``"OpportunityFieldHistory"``, ...).
    field : str
        The record's column or its API name (``"status"``, ``"Owner"``, ``"CloseDate"``).
    as_of : date, Timestamp, str or None
        The day (its end, UTC); ``None`` or ``""``: the latest date in the data.

    Returns
    -------
    DataFrame
        One row per record created by the end of the day, in the record table's order:
        ``<record key>``, ``<column>`` (the value; missing where unknown), ``source``
        (``"history"``, ``"first_change_old_value"``, ``"no_change"`` or ``"unknown"``, see the
        module rules) and ``changed_at`` (the time of the change that set the value; NaT otherwise).
        Amounts are in the deal's own currency (:func:`amount_changes` converts them).

    Raises
    ------
    TypeError
        When ``crm`` is not a :class:`~funnel_analysis.crm.CrmData`.
    ValueError
        When ``table`` or ``field`` is unknown, or ``as_of`` is not a date.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> lead = pd.DataFrame({"Id": ["00Q000000000001AAA"], "Status": ["Qualified"],
    ...                      "CreatedDate": ["2024-01-02T09:00:00Z"]})
    >>> history = pd.DataFrame({"Id": ["017000000000001AAA", "017000000000002AAA"],
    ...     "LeadId": ["00Q000000000001AAA"] * 2, "Field": ["created", "Status"],
    ...     "NewValue": [None, "Qualified"], "OldValue": [None, "New"],
    ...     "CreatedDate": ["2024-01-02T09:00:00Z", "2024-03-01T10:00:00Z"]})
    >>> crm = load_frames({"Lead": lead, "LeadHistory": history})
    >>> [field_as_of(crm, table="lead_history", field="status", as_of=d)["source"].iloc[0]
    ...  for d in ("2024-02-01", "2024-03-01")]
    ['unknown', 'history']

    Status rows start on 2024-03-01: the created row of January proves nothing for a field whose
    tracking may have been switched on in March, so February is unknown.
    """
    _org(crm)
    spec = _history_table(table)
    column = _resolve_field(crm, spec, field)
    end = _end(crm, as_of)
    records = _records_at(crm, spec, end)
    got = _as_of(_changes(crm, spec, column), records, end)
    return pd.DataFrame(
        {
            spec.record_key: records[spec.record_key],
            column: got.value,
            "source": got.source,
            "changed_at": got.changed_at,
        }
    )


def _per_record_counts(ch: _Changes, got: _AsOf, n: int, mask: np.ndarray, weights=None) -> np.ndarray:
    sel = got.before & mask
    return np.bincount(got.code[sel], weights=None if weights is None else weights[sel], minlength=n)


def _unknown_where_incomplete(values: np.ndarray, complete: np.ndarray) -> pd.Series:
    return pd.Series(values, dtype="Int64").mask(~complete)


def _push_counts(ch: _Changes, got: _AsOf, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per record, the close-date pushes, the days they add up to, and the pull-ins before the cut."""
    old = _naive_utc(ch.frame["old_value"]).to_numpy()
    new = _naive_utc(ch.frame["new_value"]).to_numpy()
    both = ~(np.isnat(old) | np.isnat(new))
    push, pull = both & (new > old), both & (new < old)
    days = np.where(push, (new - old) / np.timedelta64(1, "D"), 0.0)
    pushes = _per_record_counts(ch, got, n, push)
    days_pushed = _per_record_counts(ch, got, n, push, days).round().astype(np.int64)
    return pushes, days_pushed, _per_record_counts(ch, got, n, pull)


def close_date_pushes(crm, *, as_of=None) -> pd.DataFrame:
    """Per deal: how often and how far its close date was pushed (moved later), and pulled in.

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date, Timestamp, str or None
        Count the changes before the end of this day, for the deals created by then; ``None`` or
        ``""``: the latest date in the data (every change).

    Returns
    -------
    DataFrame
        One row per deal: ``opportunity_id``; ``pushes``, ``days_pushed`` (the days the pushes
        added up to) and ``pull_ins`` (``Int64``; missing, "unknown", where the deal's history is
        not complete: never 0 for a deal created before the history starts); ``pushes_seen``,
        ``days_pushed_seen``, ``pull_ins_seen`` (what the kept rows show: a lower bound);
        ``first_close_date`` (the earliest close date known: the old value of its first change,
        else its close date as of the day); ``history_complete`` (created on or after the CloseDate
        history's start, by its CreatedDate or its ``created`` row) and ``history_start`` (that start; NaT without rows).

    Raises
    ------
    TypeError
        When ``crm`` is not a :class:`~funnel_analysis.crm.CrmData`.
    ValueError
        When ``as_of`` is not a date.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> deal = pd.DataFrame({"Id": ["006000000000001AAA"], "StageName": ["Prospecting"],
    ...     "CloseDate": ["2024-05-31"], "CreatedDate": ["2024-02-02T09:00:00Z"]})
    >>> history = pd.DataFrame({"Id": ["017000000000001AAA", "017000000000002AAA"],
    ...     "OpportunityId": ["006000000000001AAA"] * 2, "Field": ["CloseDate"] * 2,
    ...     "OldValue": ["2024-03-31", "2024-04-30"], "NewValue": ["2024-04-30", "2024-05-31"],
    ...     "CreatedDate": ["2024-01-15T10:00:00Z", "2024-03-01T10:00:00Z"]})
    >>> crm = load_frames({"Opportunity": deal, "OpportunityFieldHistory": history})
    >>> close_date_pushes(crm)[["pushes", "days_pushed", "history_complete"]].values.tolist()
    [[2, 61, True]]
    """
    _org(crm)
    spec = HISTORY_TABLES["opportunity_field_history"]
    end = _end(crm, as_of)
    records = _records_at(crm, spec, end)
    ch = _changes(crm, spec, "close_date")
    got = _as_of(ch, records, end)
    n = len(records)
    pushes, days_pushed, pulls = _push_counts(ch, got, n)
    first_idx = np.full(n, len(ch.frame), dtype=np.int64)
    np.minimum.at(first_idx, got.code[got.before], np.flatnonzero(got.before))
    has_first = first_idx < len(ch.frame)
    first_old = ch.frame["old_value"].take(np.where(has_first, first_idx, 0)).reset_index(drop=True)
    first = got.value.mask(has_first, first_old) if len(ch.frame) else got.value
    complete = got.complete
    return pd.DataFrame(
        {
            "opportunity_id": records["opportunity_id"],
            "pushes": _unknown_where_incomplete(pushes, complete),
            "days_pushed": _unknown_where_incomplete(days_pushed, complete),
            "pull_ins": _unknown_where_incomplete(pulls, complete),
            "pushes_seen": pd.Series(pushes, dtype="Int64"),
            "days_pushed_seen": pd.Series(days_pushed, dtype="Int64"),
            "pull_ins_seen": pd.Series(pulls, dtype="Int64"),
            "first_close_date": pd.Series(first, dtype="datetime64[us]"),
            "history_complete": complete,
            "history_start": pd.Series([ch.start] * n, dtype="datetime64[us]"),
        }
    )


def amount_changes(crm, *, as_of=None) -> pd.DataFrame:
    """Per deal: how its amount changed, in the corporate currency.

    History ``Amount`` values are in the deal's own currency. Where the deal carries a
    ``conversion_rate`` (a multi-currency org: the rate :mod:`~funnel_analysis.crm.currency` applied
    to the deal, the dated rate of its current close date, else the static rate), every value is
    divided by that one rate, so the figures are comparable with the deal's ``amount``. A
    single-currency org has no rate and no conversion.

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date, Timestamp, str or None
        Count the changes before the end of this day, for the deals created by then; ``None`` or
        ``""``: the latest date in the data.

    Returns
    -------
    DataFrame
        One row per deal: ``opportunity_id``; ``changes`` (``Int64``, missing where the history is
        not complete) and ``changes_seen`` (the lower bound); ``first_amount`` (the earliest amount
        known: the old value of its first change, else its amount as of the day), ``last_amount``
        (as of the day: the new value of its last change, else as :func:`field_as_of` gives it;
        missing when unknown), ``net_change`` (last - first); ``history_complete``.

    Raises
    ------
    TypeError
        When ``crm`` is not a :class:`~funnel_analysis.crm.CrmData`.
    ValueError
        When ``as_of`` is not a date.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> deal = pd.DataFrame({"Id": ["006000000000001AAA"], "StageName": ["Prospecting"],
    ...     "Amount": ["1500"], "CloseDate": ["2024-05-31"], "CreatedDate": ["2024-02-02T09:00:00Z"]})
    >>> history = pd.DataFrame({"Id": ["017000000000001AAA"], "OpportunityId": ["006000000000001AAA"],
    ...     "Field": ["Amount"], "OldValue": ["1000"], "NewValue": ["1500"], "CreatedDate": ["2024-03-01T10:00:00Z"]})
    >>> crm = load_frames({"Opportunity": deal, "OpportunityFieldHistory": history})
    >>> amount_changes(crm)[["changes", "changes_seen", "first_amount", "last_amount", "net_change"]].values.tolist()
    [[<NA>, 1, 1000.0, 1500.0, 500.0]]
    """
    _org(crm)
    spec = HISTORY_TABLES["opportunity_field_history"]
    end = _end(crm, as_of)
    records = _records_at(crm, spec, end)
    ch = _changes(crm, spec, "amount")
    n, m = len(records), len(ch.frame)
    rate = np.ones(n)
    current = records["amount"] if "amount" in records else pd.Series(np.nan, index=records.index)
    current = current.astype("float64").reset_index(drop=True)
    if "conversion_rate" in records:
        rate = records["conversion_rate"].astype("float64").to_numpy()  # no rate: the amount is missing too
        current = current * rate  # back in the deal's currency, as the history writes it
    got = _as_of(ch, records, end, current=current)
    changes = _per_record_counts(ch, got, n, np.ones(m, dtype=bool))
    first_idx = np.full(n, m, dtype=np.int64)
    np.minimum.at(first_idx, got.code[got.before], np.flatnonzero(got.before))
    has_first = first_idx < m
    last = got.value.astype("float64")
    first = last.copy()
    if m:
        first = first.mask(has_first, ch.frame["old_value"].take(np.where(has_first, first_idx, 0)).to_numpy())
    first, last = first / rate, last / rate
    return pd.DataFrame(
        {
            "opportunity_id": records["opportunity_id"],
            "changes": _unknown_where_incomplete(changes, got.complete),
            "changes_seen": pd.Series(changes, dtype="Int64"),
            "first_amount": first,
            "last_amount": last,
            "net_change": last - first,
            "history_complete": got.complete,
        }
    )


# ---- queues ------------------------------------------------------------------------------------
_QUEUE_COLUMNS = [
    "lead_id",
    "queue_id",
    "queue_name",
    "entered_at",
    "entered_by",
    "left_at",
    "next_owner_id",
    "picked_up_at",
    "picked_up_by",
    "hours_in_queue",
    "still_in_queue",
]


def queue_time(crm, *, as_of=None) -> pd.DataFrame:
    """Per lead ever owned by a queue: when it entered the queue, when a person picked it up.

    A lead's owners follow from its ``Owner`` changes (:func:`field_changes`): the owner at creation
    is the old value of its first change (or its current owner without a change), then each change's
    new value. A stint in a queue (an owner ID starting ``00G``) starts at the lead's creation (known
    only where its owner history is complete) or at the change that moved it there, and ends at the
    next change: ``picked_up_at`` when the next owner is a person (an ID starting ``005``). A lead
    still in the queue at the end of the day is censored there (``still_in_queue``).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date, Timestamp, str or None
        The day the stints are seen at (its end); ``None`` or ``""``: the latest date in the data.

    Returns
    -------
    DataFrame
        One row per stint of a lead in a queue (a lead moved between queues has one per queue):
        ``lead_id``, ``queue_id``, ``queue_name`` (from ``crm.groups`` when loaded, else the name
        the history's paired Text row carries), ``entered_at`` (NaT where unknown: the lead was in
        the queue before its history starts), ``entered_by`` (``"creation"``, ``"change"``; missing
        when unknown), ``left_at``, ``next_owner_id``, ``picked_up_at``, ``picked_up_by`` (the
        person), ``hours_in_queue`` (to ``left_at``, or to the end of the day while still in the
        queue; missing when ``entered_at`` is), ``still_in_queue``. Ordered by lead, then time.
        Empty without a lead history with ``Owner`` rows.

    Raises
    ------
    TypeError
        When ``crm`` is not a :class:`~funnel_analysis.crm.CrmData`.
    ValueError
        When ``as_of`` is not a date.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> lead = pd.DataFrame({"Id": ["00Q000000000001AAA", "00Q000000000002AAA"],
    ...     "OwnerId": ["005000000000001AAA", "005000000000002AAA"],
    ...     "CreatedDate": ["2024-03-01T08:00:00Z", "2024-02-01T08:00:00Z"]})
    >>> history = pd.DataFrame({"Id": ["017000000000001AAA", "017000000000002AAA", "017000000000003AAA"],
    ...     "LeadId": ["00Q000000000002AAA", "00Q000000000001AAA", "00Q000000000001AAA"],
    ...     "Field": ["Owner"] * 3, "DataType": ["EntityId", "EntityId", "Text"],
    ...     "OldValue": ["005000000000003AAA", "00G000000000001AAA", "Inbound"],
    ...     "NewValue": ["005000000000002AAA", "005000000000001AAA", "Ann Lee"],
    ...     "CreatedDate": ["2024-02-01T09:00:00Z", "2024-03-01T14:30:00Z", "2024-03-01T14:30:00Z"]})
    >>> crm = load_frames({"Lead": lead, "LeadHistory": history})
    >>> queue_time(crm)[["queue_name", "entered_by", "hours_in_queue", "still_in_queue"]].values.tolist()
    [['Inbound', 'creation', 6.5, False]]
    """
    _org(crm)
    spec = HISTORY_TABLES["lead_history"]
    end = _end(crm, as_of)
    records = _records_at(crm, spec, end)
    ch = _changes(crm, spec, "owner_id")
    if ch.start is None or not len(records):
        return pd.DataFrame({c: pd.Series(dtype=_queue_dtype(c)) for c in _QUEUE_COLUMNS})
    got = _as_of(ch, records, end)
    f = ch.frame
    sel = np.flatnonzero(got.before)
    sel = sel[np.lexsort((sel, got.code[sel]))]  # by lead, then time
    code = got.code[sel]
    same_next = np.r_[code[1:] == code[:-1], False]
    first_of = np.r_[True, code[1:] != code[:-1]] if len(code) else np.zeros(0, bool)
    born = records["created_date"].reset_index(drop=True) if "created_date" in records else None
    t = f["created_date"].take(sel).reset_index(drop=True)
    nxt = np.minimum(np.arange(len(sel)) + 1, max(len(sel) - 1, 0))
    names = ("old_name" in f) and ("new_name" in f)

    def part(lead_pos, owner, name, start, by, left, next_owner):
        return pd.DataFrame(
            {
                "pos": lead_pos,
                "queue_id": owner.to_numpy(dtype=object),
                "hist_name": name,
                "entered_at": start,
                "entered_by": by,
                "left_at": left,
                "next_owner_id": next_owner,
            }
        )

    def born_if_complete(pos):
        if born is None:
            return pd.Series(pd.NaT, index=range(len(pos)), dtype="datetime64[us, UTC]")
        return born.take(pos).reset_index(drop=True).where(got.complete[pos])

    # the owner from creation to the first change, each change's new owner to the next change,
    # and the owner of leads without a change before the cut (their value as of the day)
    first_pos = code[first_of]
    start0 = born_if_complete(first_pos)
    parts = [
        part(
            first_pos,
            f["old_value"].take(sel[first_of]).reset_index(drop=True),
            f["old_name"].take(sel[first_of]).to_numpy(dtype=object) if names else None,
            start0,
            np.where(start0.notna(), "creation", None),
            t[first_of].reset_index(drop=True),
            f["new_value"].take(sel[first_of]).to_numpy(dtype=object),
        ),
        part(
            code,
            f["new_value"].take(sel).reset_index(drop=True),
            f["new_name"].take(sel).to_numpy(dtype=object) if names else None,
            t,
            "change",
            t.take(nxt).reset_index(drop=True).where(same_next),
            np.where(same_next, f["new_value"].take(sel[nxt]).to_numpy(dtype=object), None),
        ),
    ]
    quiet = np.flatnonzero(~np.isin(np.arange(len(records)), code))
    start_q = born_if_complete(quiet)
    parts.append(
        part(
            quiet,
            got.value.take(quiet).reset_index(drop=True),
            None,
            start_q,
            np.where(start_q.notna(), "creation", None),
            pd.Series(pd.NaT, index=range(len(quiet)), dtype="datetime64[us, UTC]"),
            None,
        )
    )
    stints = pd.concat([p for p in parts if len(p)], ignore_index=True)
    stints = stints[stints["queue_id"].astype("str").str.startswith("00G").fillna(False)]
    stints = stints.sort_values(["pos", "entered_at"], kind="stable", na_position="first").reset_index(drop=True)
    out = pd.DataFrame({"lead_id": records["lead_id"].take(stints["pos"]).to_numpy()})
    out["queue_id"] = stints["queue_id"].astype("str")
    group_names = None
    groups = crm.tables.get("groups")
    if groups is not None and len(groups):
        group_names = out["queue_id"].map(groups.drop_duplicates("group_id").set_index("group_id")["name"])
    hist_names = stints["hist_name"].astype("str")
    out["queue_name"] = hist_names if group_names is None else group_names.astype("str").fillna(hist_names)
    out["entered_at"] = stints["entered_at"]
    out["entered_by"] = stints["entered_by"].astype("str")
    out["left_at"] = stints["left_at"]
    out["next_owner_id"] = stints["next_owner_id"].astype("str")
    person = out["next_owner_id"].str.startswith("005").fillna(False)
    out["picked_up_at"] = out["left_at"].where(person)
    out["picked_up_by"] = out["next_owner_id"].where(person)
    still = out["left_at"].isna()
    stop = out["left_at"].where(~still, pd.Timestamp(end, tz="UTC"))
    out["hours_in_queue"] = (stop - out["entered_at"]) / pd.Timedelta(hours=1)
    out["still_in_queue"] = still.to_numpy(dtype=bool)
    return out[_QUEUE_COLUMNS]


def _queue_dtype(column: str) -> str:
    if column.endswith("_at"):
        return "datetime64[us, UTC]"
    return {"hours_in_queue": "float64", "still_in_queue": "bool"}.get(column, "str")


# ---- coverage and the report line --------------------------------------------------------------
_COVERAGE_COLUMNS = [
    "table",
    "field",
    "column",
    "kind",
    "rows",
    "records",
    "first_change",
    "last_change",
    "rows_unparseable",
    "rows_paired_names",
    "rows_unknown_record",
    "rows_undated",
]


def history_coverage(crm) -> pd.DataFrame:
    """Per field-history table and field (as written): how much history there is and what was left out.

    Parameters
    ----------
    crm : CrmData
        The org.

    Returns
    -------
    DataFrame
        One row per loaded history table and distinct ``Field`` value: ``table``, ``field`` (the
        API name as written, ``"Status"``, ``"created"``), ``column`` (the record column it maps to;
        missing for events and fields the record does not have), ``kind`` (``"field"`` or
        ``"event"``), ``rows``, ``records`` (distinct records), ``first_change``, ``last_change``,
        and the rows :func:`field_changes` leaves out: ``rows_unparseable``, ``rows_paired_names``
        (the name rows of paired owner changes), ``rows_unknown_record``, ``rows_undated``.
        Empty when no history table was loaded, marked missing with that reason in one line
        (:func:`funnel_analysis._util.missing.mark_missing`).

    Raises
    ------
    TypeError
        When ``crm`` is not a :class:`~funnel_analysis.crm.CrmData`.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> lead = pd.DataFrame({"Id": ["00Q000000000001AAA"], "CreatedDate": ["2024-01-02T09:00:00Z"]})
    >>> history = pd.DataFrame({"Id": ["017000000000001AAA"], "LeadId": ["00Q000000000001AAA"],
    ...     "Field": ["created"], "CreatedDate": ["2024-01-02T09:00:00Z"]})
    >>> history_coverage(load_frames({"Lead": lead, "LeadHistory": history}))[["field", "kind", "rows"]].values.tolist()
    [['created', 'event', 1]]
    """
    _org(crm)
    rows = []
    for spec in HISTORY_TABLES.values():
        hist = _table(crm, spec.table)
        if hist is None:
            continue
        record = _table(crm, spec.record_table)
        record_columns = record.columns if record is not None else ()
        names = hist["field"].astype("str").str.strip()
        for name in sorted(names.dropna().unique()):
            mask = (names == name).to_numpy()
            sub = hist[mask]
            column = None if _is_event(name) else _column_of(spec, name, record_columns)
            t = _naive_utc(sub["created_date"])
            row = {
                "table": spec.table,
                "field": name,
                "column": column,
                "kind": "event" if _is_event(name) else "field",
                "rows": int(mask.sum()),
                "records": int(sub[spec.record_key].nunique()),
                "first_change": t.min(),
                "last_change": t.max(),
                "rows_unparseable": 0,
                "rows_paired_names": 0,
                "rows_unknown_record": 0,
                "rows_undated": int(t.isna().sum()),
            }
            if record is not None:
                row["rows_unknown_record"] = int((index_in(sub[spec.record_key], record[spec.record_key]) < 0).sum())
            if column is not None:
                counts = _changes(crm, spec, column).counts
                if counts["rows"] == row["rows"]:  # one Field spelling per column: its counts are its own
                    row.update({k: v for k, v in counts.items() if k != "rows"})
            rows.append(row)
    out = pd.DataFrame(rows, columns=_COVERAGE_COLUMNS)
    for c in ("first_change", "last_change"):
        out[c] = pd.to_datetime(out[c])
    if not any(crm.has(spec.table) for spec in HISTORY_TABLES.values()):
        return mark_missing(
            out,
            "the export has no field history (LeadHistory.csv, OpportunityFieldHistory.csv): lead status and "
            "owner are as exported, close-date pushes are unknown",
        )
    return out


_ABSENT = {
    "lead_history": "lead status and owner are as exported, not as of the report date",
    "opportunity_field_history": "close-date pushes, amount changes and deal owners as of a date are unknown",
}
_MAIN_FIELD = {"lead_history": ("status", "Status"), "opportunity_field_history": ("close_date", "CloseDate")}
_WHAT = {"lead_history": "the status of {n:,} leads", "opportunity_field_history": "close-date pushes of {n:,} deals"}


def history_note(crm, *, table: str) -> str:
    """One line for a report: whether a field history is there, and how far back it reaches.

    Parameters
    ----------
    crm : CrmData
        The org.
    table : str
        ``"lead_history"`` / ``"LeadHistory"`` or ``"opportunity_field_history"`` /
        ``"OpportunityFieldHistory"``.

    Returns
    -------
    str
        For example ``"LeadHistory is absent: lead status and owner are as exported, not as of the
        report date"``, ``"OpportunityFieldHistory starts 2024-06-01: close-date pushes of 312 deals
        created earlier are unknown"``, or ``"LeadHistory covers every lead from its creation
        (Status from 2023-01-05)"``; rows left out are added (``"; 3 rows left out: 2 unparseable,
        1 of unknown records"``).

    Raises
    ------
    TypeError
        When ``crm`` is not a :class:`~funnel_analysis.crm.CrmData`.
    ValueError
        When ``table`` is not a field-history table.

    Examples
    --------
    >>> import pandas as pd
    >>> from funnel_analysis.crm import load_frames
    >>> crm = load_frames({"Lead": pd.DataFrame({"Id": ["00Q000000000001AAA"]})})
    >>> history_note(crm, table="LeadHistory")
    'LeadHistory is absent: lead status and owner are as exported, not as of the report date'
    """
    _org(crm)
    spec = _history_table(table)
    hist = _table(crm, spec.table)
    if hist is None:
        return f"{spec.sf_object} is absent: {_ABSENT[spec.table]}"
    if not len(hist):
        return f"{spec.sf_object} has no rows: {_ABSENT[spec.table]}"
    column, api = _MAIN_FIELD[spec.table]
    ch = _changes(crm, spec, column)
    if ch.start is None:
        return f"{spec.sf_object} has no {api} rows: {_ABSENT[spec.table].split(',')[0]} unknown"
    records = _table(crm, spec.record_table)
    records = records if records is not None else pd.DataFrame({spec.record_key: pd.Series(dtype="str")})
    unknown = int((~_complete(ch, records)).sum())
    start = f"{ch.start:%Y-%m-%d}"
    if unknown:
        what = _WHAT[spec.table].format(n=unknown)
        line = f"{spec.sf_object} starts {start}: {what} created earlier "
        line += "is unknown before then" if spec.table == "lead_history" else "are unknown"
    else:
        line = f"{spec.sf_object} covers every {spec.noun} from its creation ({api} from {start})"
    cov = history_coverage(crm)
    cov = cov[cov["table"] == spec.table]
    bad, orphan = int(cov["rows_unparseable"].sum()), int(cov["rows_unknown_record"].sum())
    if bad or orphan:
        parts = [f"{bad} unparseable"] * bool(bad) + [f"{orphan} of unknown records"] * bool(orphan)
        line += f"; {bad + orphan} rows left out: {', '.join(parts)}"
    return line


# ---- the load-time flags -----------------------------------------------------------------------
def history_value_issues(history: pd.DataFrame, table: str) -> pd.DataFrame:
    """The rows of a field-history table whose value does not parse for its field's type.

    Used by the loader, which flags them (a warning: the row is kept, and left out of the changes).

    Parameters
    ----------
    history : DataFrame
        The typed rows of ``table`` as the loader holds them.
    table : str
        The canonical table; any table other than a field-history table has no such issue.

    Returns
    -------
    DataFrame
        The issue columns of :mod:`~funnel_analysis.crm.validate` (``table``, ``row`` (position in
        ``history``), ``record_id`` (None: the loader fills it), ``column`` (``"old_value"`` or
        ``"new_value"``: one issue per value that does not parse),
        ``rule`` (``"history_value_unparseable"``), ``severity`` (warning), ``value``).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"lead_history_id": ["017000000000001AAA"], "lead_id": ["00Q000000000001AAA"],
    ...     "field": ["NumberOfEmployees"], "old_value": ["10"], "new_value": ["lots"], "data_type": ["Double"],
    ...     "created_date": pd.to_datetime(["2024-01-02"], utc=True)})
    >>> history_value_issues(rows, "lead_history")[["row", "rule", "value"]].values.tolist()
    [[0, 'history_value_unparseable', 'lots']]
    """
    spec = HISTORY_TABLES.get(table)
    empty = pd.DataFrame({c: pd.Series(dtype="object") for c in ISSUE_COLUMNS})
    if spec is None or not len(history) or "field" not in history:
        return empty
    full = history
    for c in TABLES[spec.table].column_names:
        if c not in full:
            full = full.assign(**{c: pd.Series(None, index=full.index, dtype="str")})
    columns = {_column_of(spec, f) for f in full["field"].astype("str").dropna().unique() if not _is_event(f)}
    found = []
    for column in sorted(c for c in columns if c):
        fr = _field_rows(full, spec, column, None)
        for side, bad in (("old_value", fr.bad_old), ("new_value", fr.bad_new)):
            if bad.any():
                at = fr.pos[bad]
                found.append(
                    pd.DataFrame({"row": at, "column": side, "value": full[side].iloc[at].astype("object").to_numpy()})
                )
    if not found:
        return empty
    hits = pd.concat(found, ignore_index=True).sort_values(["row", "column"], kind="stable")
    return pd.DataFrame(
        {
            "table": table,
            "row": hits["row"].to_numpy(),
            "record_id": None,
            "column": hits["column"].to_numpy(),
            "rule": _UNPARSEABLE,
            "severity": WARNING,
            "value": hits["value"].to_numpy(),
        }
    )[ISSUE_COLUMNS]


# ---- the as-of cut (CrmData._cut) --------------------------------------------------------------
def _naive_end(end) -> pd.Timestamp:
    end = pd.Timestamp(end)
    return end.tz_convert("UTC").tz_localize(None) if end.tzinfo is not None else end


def _with_value_as_of(crm, spec: HistoryTable, records: pd.DataFrame, column: str, source: str, end) -> pd.DataFrame:
    """``records`` with ``column`` as of ``end`` where it is known (the exported value where not),
    and ``source`` saying which (``"as_exported"`` where the value as of the day is unknown)."""
    got = _as_of(_changes(crm, spec, column), records, end)
    known = got.source != "unknown"
    current = records[column].reset_index(drop=True)
    value = current.mask(known, got.value.astype(current.dtype))
    value.index = records.index
    return records.assign(**{column: value, source: np.where(known, got.source, "as_exported")})


def _cut_leads(crm, leads: pd.DataFrame, end) -> pd.DataFrame:
    """The cut's leads with status (and owner, when the history has Owner rows) as of ``end``.

    Used by :meth:`CrmData.as_of` when ``lead_history`` is loaded; ``crm`` is the org being cut (its
    history holds the changes after the day too, which the old value of a first change needs).
    Adds ``status_source`` (and ``owner_source``): ``"history"``, ``"first_change_old_value"``,
    ``"no_change"``, or ``"as_exported"`` where the value on the day is unknown and the exported one
    is kept.
    """
    spec, end = HISTORY_TABLES["lead_history"], _naive_end(end)
    leads = _with_value_as_of(crm, spec, leads, "status", "status_source", end)
    if _changes(crm, spec, "owner_id").start is not None:
        leads = _with_value_as_of(crm, spec, leads, "owner_id", "owner_source", end)
    return leads


def _cut_opportunities(crm, opps: pd.DataFrame, end) -> pd.DataFrame:
    """The cut's deals with the owner as of ``end`` (when the history has Owner rows) and their slips.

    Used by :meth:`CrmData.as_of` when ``opportunity_field_history`` is loaded. Adds
    ``close_date_pushes`` (``Int64``: pushes before the end of the day; missing where the deal's
    CloseDate history is not complete) and ``slipped_before`` (``boolean``: pushed at least once
    before the day; missing where no push is seen and the history is not complete), and with Owner
    rows ``owner_source`` as :func:`_cut_leads` does.
    """
    spec, end = HISTORY_TABLES["opportunity_field_history"], _naive_end(end)
    if _changes(crm, spec, "owner_id").start is not None:
        opps = _with_value_as_of(crm, spec, opps, "owner_id", "owner_source", end)
    ch = _changes(crm, spec, "close_date")
    got = _as_of(ch, opps, end)
    seen = _push_counts(ch, got, len(opps))[0]
    pushes = _unknown_where_incomplete(seen, got.complete)
    slipped = pd.Series(seen > 0, dtype="boolean").mask(~got.complete & (seen == 0))
    pushes.index = slipped.index = opps.index
    return opps.assign(close_date_pushes=pushes, slipped_before=slipped)


#: The labels of :func:`slip_history`, in report order.
SLIP_HISTORY = ("slipped before", "never slipped", "unknown")


def slip_history(opportunities: pd.DataFrame) -> pd.Series:
    """Each deal of an as-of cut labelled by its close-date pushes before the day.

    Parameters
    ----------
    opportunities : DataFrame
        Deals of a cut of an org with ``opportunity_field_history`` (they carry ``slipped_before``).

    Returns
    -------
    Series
        Categorical (:data:`SLIP_HISTORY`), same index: ``slipped before`` (pushed at least once),
        ``never slipped`` (a complete history without a push), ``unknown`` (no push seen, but the
        deal is older than the close-date history: earlier pushes may be lost).

    Raises
    ------
    KeyError
        When the deals have no ``slipped_before`` column (the org has no field history, or they
        are not from a cut).

    Examples
    --------
    >>> deals = pd.DataFrame({"slipped_before": pd.array([True, False, None], dtype="boolean")})
    >>> slip_history(deals).tolist()
    ['slipped before', 'never slipped', 'unknown']
    """
    if "slipped_before" not in opportunities.columns:
        raise KeyError("slip_history: the deals have no 'slipped_before' column (no OpportunityFieldHistory)")
    s = opportunities["slipped_before"].astype("boolean")
    label = np.where(s.isna(), SLIP_HISTORY[2], np.where(s.fillna(False), SLIP_HISTORY[0], SLIP_HISTORY[1]))
    return pd.Series(pd.Categorical(label, categories=SLIP_HISTORY), index=opportunities.index, name="slip_history")
