"""Validation rules, declared as pandera schemas, with a severity each.

Two schemas per table: the *error* schema, whose failures send a row to the
quarantine, and the *warning* schema, whose failures keep the row and flag it
(real orgs hold records that look wrong but are legitimate, such as imported
historical deals closed before they were created). Every failure becomes one
row of a tidy issues table: table, row, record_id, column, rule, severity,
value. Reference rules need the other tables' IDs, so the schemas are built
for the data at hand by :func:`table_schema`.

Rules
-----
error: ``id_missing``, ``id_duplicate`` (the later rows of a repeated ID),
``date_unparseable``, ``datetime_unparseable``, ``number_unparseable``,
``bool_unparseable`` (found by the parser), ``amount_negative``,
``probability_out_of_range``, ``cost_negative``, ``reference_unresolved``
(where the reference is required).

warning: ``amount_missing``, ``email_invalid``, ``close_before_created``,
``converted_before_created``, ``end_before_start``, ``stage_unknown``,
``closed_flags_mismatch``, ``reference_unresolved`` (optional references).

Owners
------
An owner (``owner_id`` of leads, opportunities, accounts, contacts, activities and campaigns) is a
user or a queue: Salesforce lets a queue own a record, and a queue's ID (``00G...``) is a ``Group``
row (Group.csv, ``Type`` ``Queue``). An owner reference therefore resolves against the users and, when
the export has Group.csv, the groups (:data:`OWNER_TABLES`): a queue owner is not flagged, an owner ID
that is in neither still is. Without User.csv owners are not checked (as any reference to a table that
was not loaded); the names of the owners are read with :func:`funnel_analysis.crm.sections.owners`.

Examples
--------
>>> import pandas as pd
>>> opps = pd.DataFrame({"opportunity_id": ["006A", "006A", "006B"], "amount": [10.0, 5.0, -1.0]})
>>> issues = validate_table(opps, "opportunities", present=["opportunity_id", "amount"])
>>> issues[["row", "rule", "severity"]].values.tolist()
[[1, 'id_duplicate', 'error'], [2, 'amount_negative', 'error']]
"""

from __future__ import annotations

import warnings

import pandas as pd

with warnings.catch_warnings():
    # pandera imports pyspark.pandas whenever pyspark is installed (the [spark] extra), and pyspark warns
    # that it does not support pandas 3; the product never uses pyspark.pandas (engine.spark speaks SQL)
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

from .._util.arrow import as_value_set, isin
from .clean import EMAIL_PATTERN
from .schema import TABLES, Reference

__all__ = [
    "ERROR",
    "WARNING",
    "ISSUE_COLUMNS",
    "OWNER_TABLES",
    "QUEUE_IDS",
    "table_schema",
    "validate_table",
    "rule_examples",
    "reference_ids",
    "RULE_COLUMNS",
]

ERROR = "error"
WARNING = "warning"
ISSUE_COLUMNS = ["table", "row", "record_id", "column", "rule", "severity", "value"]

#: What an owner ID may point at: a user, or a queue (a Group row); the first is the reference's own table.
OWNER_TABLES = ("users", "groups")
#: The key of ``known_ids`` that holds the groups that are queues (Type ``Queue``, or no type): the loader
#: sets it, since a public group or a role cannot own a record.
QUEUE_IDS = "groups:queues"

#: cross-field rules and the column each one is reported against
RULE_COLUMNS = {
    "id_duplicate": None,  # filled with the table key
    "amount_missing": "amount",
    "close_before_created": "close_date",
    "converted_before_created": "converted_date",
    "end_before_start": "end_date",
    "closed_flags_mismatch": "is_closed",
}


def _nan_or(check):
    return lambda s: s.isna() | check(s)


def _date_of(ts: pd.Series) -> pd.Series:
    return ts.dt.tz_localize(None).dt.normalize() if getattr(ts.dtype, "tz", None) else ts.dt.normalize()


def _is_owner(ref: Reference) -> bool:
    return ref.column == "owner_id" and ref.table == OWNER_TABLES[0]


def reference_ids(ref: Reference, known_ids) -> pd.Index | None:
    """The keys a reference resolves against, or None when its table was not loaded (not checked).

    A reference resolves against the keys of its table; an owner reference (``owner_id`` to users)
    against the users' and the groups' keys together (:data:`OWNER_TABLES`: a queue owns records too).

    Parameters
    ----------
    ref : Reference
        A reference of :data:`funnel_analysis.crm.schema.TABLES`.
    known_ids : dict of str to pandas.Index
        Keys of the loaded tables.

    Returns
    -------
    pandas.Index or None
        The keys (the users' then the groups' for an owner); None when the reference's own table
        is not in ``known_ids``.

    Raises
    ------
    TypeError
        When ``ref`` is not a :class:`~funnel_analysis.crm.schema.Reference`.

    Examples
    --------
    >>> from funnel_analysis.crm.schema import Reference
    >>> known = {"users": pd.Index(["005A"]), "groups": pd.Index(["00GQ"])}
    >>> reference_ids(Reference("owner_id", "users"), known).tolist()
    ['005A', '00GQ']
    >>> reference_ids(Reference("account_id", "accounts"), known) is None
    True
    """
    if not isinstance(ref, Reference):
        raise TypeError(f"reference_ids: ref must be a Reference, got {type(ref).__name__}")
    if ref.table not in known_ids:
        return None
    ids = pd.Index(known_ids[ref.table])
    if _is_owner(ref):
        for extra in OWNER_TABLES[1:]:
            # only a queue owns records: the loader gives the queues' keys apart from the other groups'
            extra_ids = known_ids.get(QUEUE_IDS, known_ids.get(extra)) if extra == "groups" else known_ids.get(extra)
            if extra_ids is not None:
                ids = ids.append(pd.Index(extra_ids))
    return ids


def table_schema(
    table: str, severity: str, *, present, known_ids=None, stages: pd.DataFrame | None = None
) -> pa.DataFrameSchema:
    """Build the pandera schema of one table for one severity.

    Parameters
    ----------
    table : str
        Canonical table name (a key of :data:`funnel_analysis.crm.schema.TABLES`).
    severity : {"error", "warning"}
        Which rules: ``ERROR`` (the rows they fail are quarantined) or
        ``WARNING`` (the rows are flagged); any other value builds the warning
        schema.
    present : iterable of str
        Columns that the source really had; rules on absent columns are skipped
        (an empty column that was never exported is not a data error).
    known_ids : dict of str to pandas.Index, optional
        Keys of the other loaded tables, for reference rules. A reference to a
        table that was not loaded is not checked; an owner reference resolves
        against the users and the groups (:func:`reference_ids`).
    stages : pandas.DataFrame, optional
        The stages table, for ``stage_unknown`` and ``closed_flags_mismatch``.

    Returns
    -------
    pandera.pandas.DataFrameSchema
        The schema named ``"<table>:<severity>"``, not strict and not coercing:
        column checks and frame-level checks, each named by its rule. The
        error schema requires the table key, non-null.
    """
    spec = TABLES[table]
    present = set(present)
    known_ids = known_ids or {}
    cols: dict[str, pa.Column] = {}
    frame_checks: list[pa.Check] = []

    def add(col, check):
        cols.setdefault(col, pa.Column(nullable=True, required=False, checks=[]))
        cols[col].checks.append(check)

    # a key the schema does not require (DatedConversionRate's Id) is only checked when the source has it
    key_checked = spec.column(spec.key).required or spec.key in present
    if severity == ERROR and key_checked:
        cols[spec.key] = pa.Column(nullable=False, required=True)
        frame_checks.append(
            pa.Check(lambda d, k=spec.key: d[k].isna() | ~d[k].duplicated(keep="first"), name="id_duplicate")
        )
    if severity == ERROR:
        for col in ("amount",):
            if col in present and table in ("opportunities", "opportunity_history"):
                add(col, pa.Check(_nan_or(lambda s: s >= 0), name="amount_negative"))
        for col in ("probability", "default_probability"):
            if col in present:
                add(col, pa.Check(_nan_or(lambda s: (s >= 0) & (s <= 100)), name="probability_out_of_range"))
        for col in ("actual_cost", "budgeted_cost"):
            if col in present:
                add(col, pa.Check(_nan_or(lambda s: s >= 0), name="cost_negative"))
    else:
        if table == "opportunities" and "amount" in present:
            # a frame-level check: pandera drops nulls before column checks of nullable columns
            frame_checks.append(pa.Check(lambda d: d["amount"].notna(), name="amount_missing"))
        if "email" in present:
            add("email", pa.Check(_nan_or(lambda s: s.str.fullmatch(EMAIL_PATTERN, na=False)), name="email_invalid"))
        if {"close_date", "created_date"} <= present and table == "opportunities":
            frame_checks.append(
                pa.Check(
                    lambda d: ~(d["close_date"] < _date_of(d["created_date"])).fillna(False),
                    name="close_before_created",
                )
            )
        if {"converted_date", "created_date"} <= present and table == "leads":
            frame_checks.append(
                pa.Check(
                    lambda d: ~(d["converted_date"] < _date_of(d["created_date"])).fillna(False),
                    name="converted_before_created",
                )
            )
        if {"start_date", "end_date"} <= present and table == "campaigns":
            frame_checks.append(
                pa.Check(lambda d: ~(d["end_date"] < d["start_date"]).fillna(False), name="end_before_start")
            )
        if (
            stages is not None
            and len(stages)
            and table in ("opportunities", "opportunity_history")
            and "stage_name" in present
        ):
            names = set(stages["stage_name"].dropna())
            add("stage_name", pa.Check(_nan_or(lambda s: isin(s, names)), name="stage_unknown"))
            if table == "opportunities" and {"is_closed", "is_won"} <= present:
                closed = stages.set_index("stage_name")["is_closed"]
                won = stages.set_index("stage_name")["is_won"]
                frame_checks.append(
                    pa.Check(
                        lambda d: (
                            d["stage_name"].map(closed).isna()
                            | (
                                (d["stage_name"].map(closed) == d["is_closed"])
                                & (d["stage_name"].map(won) == d["is_won"])
                            )
                        ),
                        name="closed_flags_mismatch",
                    )
                )

    for ref in spec.references:
        if ref.column not in present or ref.table not in known_ids:
            continue
        if (ref.required and severity == ERROR) or (not ref.required and severity == WARNING):
            ids = as_value_set(reference_ids(ref, known_ids))
            add(ref.column, pa.Check(_nan_or(lambda s, ids=ids: isin(s, ids)), name="reference_unresolved"))
    return pa.DataFrameSchema(cols, checks=frame_checks, name=f"{table}:{severity}", strict=False, coerce=False)


def validate_table(
    df: pd.DataFrame, table: str, *, present=None, known_ids=None, stages: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Run the error and warning schemas of a table; return the issues found.

    The frame is not modified. ``row`` in the result is the frame's index label.

    Parameters
    ----------
    df : pandas.DataFrame
        The typed table, with canonical column names.
    table : str
        Canonical table name (a key of ``TABLES``).
    present : iterable of str, optional
        Columns that the source really had; rules on absent columns are
        skipped. ``None`` (the default): every column of ``df``.
    known_ids : dict of str to pandas.Index, optional
        Keys of the other loaded tables, for reference rules (see
        :func:`table_schema`).
    stages : pandas.DataFrame, optional
        The stages table, for ``stage_unknown`` and ``closed_flags_mismatch``.

    Returns
    -------
    pandas.DataFrame
        One row per broken rule and row, columns ``ISSUE_COLUMNS``: ``table``,
        ``row`` (the index label in ``df``), ``record_id`` (the row's key),
        ``column``, ``rule``, ``severity`` (``"error"`` or ``"warning"``) and
        ``value`` (the failing value as text, None for frame-level rules);
        sorted by row, severity and rule. Empty, with those columns, when
        nothing is broken.
    """
    spec = TABLES[table]
    present = list(df.columns) if present is None else present
    out = []
    for severity in (ERROR, WARNING):
        schema = table_schema(table, severity, present=present, known_ids=known_ids, stages=stages)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                schema.validate(df, lazy=True)
            continue
        except SchemaErrors as exc:
            fc = exc.failure_cases
        fc = fc[fc["index"].notna()].copy()
        fc["rule"] = fc["check"].astype("str").replace({"not_nullable": "id_missing"})
        frame_level = fc["schema_context"].astype("str") == "DataFrameSchema"
        if frame_level.any():
            # a frame-level failure is reported once per column: keep one row per rule
            fl = fc[frame_level].drop_duplicates(["index", "rule"]).copy()
            fl["column"] = fl["rule"].map(lambda r: RULE_COLUMNS.get(r) or spec.key)
            fl["failure_case"] = None
            fc = pd.concat([fc[~frame_level], fl])
        fc = fc[fc["rule"] != "column_in_dataframe"]
        fc["severity"] = severity
        out.append(fc)
    if not out:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in ISSUE_COLUMNS})
    fc = pd.concat(out, ignore_index=True)
    rows = fc["index"].astype("int64")
    issues = pd.DataFrame(
        {
            "table": table,
            "row": rows.to_numpy(),
            "record_id": df[spec.key].reindex(rows).astype("object").to_numpy() if spec.key in df else None,
            "column": fc["column"].astype("str").to_numpy(),
            "rule": fc["rule"].to_numpy(),
            "severity": fc["severity"].to_numpy(),
            "value": fc["failure_case"].astype("str").where(fc["failure_case"].notna(), None).to_numpy(),
        }
    )
    # a frame with a duplicated ID fails both "id_duplicate" and nothing else; order for reading
    return issues.sort_values(["row", "severity", "rule"], kind="stable").reset_index(drop=True)


def rule_examples(issues: pd.DataFrame, *, per_rule: int = 3) -> pd.DataFrame:
    """The first rows that broke each rule, per table: what a reader checks by eye.

    Parameters
    ----------
    issues : DataFrame
        ``CrmData.quarantine`` or ``CrmData.flags`` (columns :data:`ISSUE_COLUMNS`).
    per_rule : int, default 3
        Rows kept per table and rule, in file order.

    Returns
    -------
    DataFrame
        The same columns, at most ``per_rule`` rows per table and rule.

    Examples
    --------
    >>> issues = pd.DataFrame({"table": ["leads"] * 3, "rule": ["email_invalid"] * 3, "row": [4, 9, 12]})
    >>> rule_examples(issues, per_rule=2)["row"].tolist()
    [4, 9]
    """
    if per_rule < 0:
        raise ValueError(f"rule_examples: per_rule must be 0 or more, got {per_rule!r}")
    missing = [c for c in ("table", "rule") if c not in issues.columns]
    if missing:
        raise KeyError(f"rule_examples: the issues table has no column(s) {missing}")
    return issues.groupby(["table", "rule"], sort=False).head(per_rule).reset_index(drop=True)
