"""``CrmData``: one loaded org, its data-quality report, and its state as of any date.

Every analysis stands on :meth:`CrmData.as_of`: the org as it stood at the end
of a day, with every opportunity's stage, amount, probability, close date,
forecast category and closed/won flags rebuilt from ``opportunity_history``.

Rules of the as-of cut
----------------------
- A row exists on day *d* when its creation timestamp is before the end of *d*
  (UTC). Tables without a creation column in the source are kept whole; rows
  whose creation date is missing although the source has the column are left
  out and counted in ``meta["as_of_undated"]``.
- An opportunity's state is its last history row dated on or before *d*
  (ties keep file order) - ``state_source = "history"``. When its first history
  row is later than *d* (inconsistent exports), the first row is used
  (``"history_first"``). With no history at all, the record's current values
  are used (``"current"``), except that a deal closed after *d* is open on *d*
  with an unknown stage (``"current_reopened"``).
- ``is_closed`` / ``is_won`` follow the stage's flags in the stages table.
- A lead converted after *d* is not converted on *d* (``is_converted`` False,
  conversion date and IDs cleared).
- With a lead history (``LeadHistory``), a lead's ``status`` and ``owner_id``
  are its values on *d* by the rules of :mod:`.field_history`; where the value
  on *d* is unknown (a day before the history starts, for a lead created
  earlier) the exported value is kept. ``status_source`` (and, with ``Owner``
  rows, ``owner_source``) says which: ``"history"``, ``"first_change_old_value"``,
  ``"no_change"`` or ``"as_exported"``. Without a lead history, status and owner
  are left as exported and no column is added.
- With an opportunity field history (``OpportunityFieldHistory``), a deal's
  ``owner_id`` is its owner on *d* when the history has ``Owner`` rows (with
  ``owner_source``), and two columns say how it slipped: ``close_date_pushes``
  (``Int64``, the pushes of its close date before the end of *d*; missing,
  "unknown", where its history is not complete) and ``slipped_before``
  (``boolean``, pushed at least once before *d*; missing when unknown).

Examples
--------
>>> crm = CrmData.from_parquet("data/cache/sample")  # doctest: +SKIP
>>> q1 = crm.as_of("2024-03-31")  # doctest: +SKIP
>>> q1.opportunities.groupby("stage_name")["amount"].sum()  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import sys
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._util.arrow import index_in
from .field_history import _cut_leads, _cut_opportunities
from .schema import TABLES

__all__ = [
    "CacheError",
    "CrmData",
    "DataQualityReport",
    "EngineOnlyError",
    "ExtractTime",
    "EXTRACT_TIME_COLUMNS",
    "HISTORY_FIELDS",
    "MAX_CUTS",
    "MERGE_COLUMNS",
    "cut_as_of",
    "extract_time",
    "latest_date",
    "resolve_as_of",
]

#: Opportunity fields that opportunity_history records, and so can be rebuilt.
#: As-of cuts a :class:`CrmData` keeps (least recently used dropped first): a six-quarter backtest needs a dozen.
MAX_CUTS = 32

HISTORY_FIELDS = ("stage_name", "amount", "probability", "close_date", "forecast_category")
#: Columns of :attr:`CrmData.merges`.
MERGE_COLUMNS = ["table", "merged_id", "master_id"]


@dataclass
class DataQualityReport:
    """Per table: rows read, kept, quarantined, flagged, and rows per rule.

    Attributes
    ----------
    tables : dict
        Table name -> its figures (``rows_read``, ``rows_kept``, ``rows_quarantined``,
        ``rows_flagged``, ``rules``, ``cleaning``, ``files``).
    ignored_files : list of str
        Files of objects the data model does not cover.
    stages_origin : str
        Where the stage order and probabilities came from (``"export"``, ``"mapping"``, ``"default"``).
    currency : dict
        The corporate currency (``corporate``), where it came from (``source``), the currencies the
        records use, whether dated rates were applied, and the records without a rate per table.
    """

    tables: dict[str, dict] = field(default_factory=dict)
    ignored_files: list[str] = field(default_factory=list)
    stages_origin: str = "default"
    currency: dict = field(default_factory=dict)

    def add_table(
        self,
        name,
        *,
        rows_read,
        rows_kept,
        rows_quarantined,
        rows_flagged,
        rules,
        rows_deleted=0,
        rows_merged=0,
        cleaning=None,
        files=None,
        columns_present=None,
    ) -> None:
        """Record one table's figures; rows read must equal rows kept + quarantined + deleted + merged.

        Parameters
        ----------
        name : str
            The table.
        rows_read, rows_kept, rows_quarantined, rows_flagged : int
            Data rows read from its files, kept, set aside, and kept with a warning.
        rules : dict
            Rule -> rows that broke it.
        rows_deleted : int, default 0
            Rows the source marks deleted (``IsDeleted``, a sync's soft-delete flag), and rows that
            followed a deleted parent (the history of a deleted deal): left out of every figure.
        rows_merged : int, default 0
            Deleted rows Salesforce merged into another record (``MasterRecordId``): left out too,
            counted apart, their references re-pointed to the survivor (``CrmData.merges``).
        cleaning : dict, optional
            Cleaning step -> values it rewrote.
        files : list, optional
            The files read.
        columns_present : list, optional
            Accepted for the loader's convenience; the columns are kept in ``CrmData.meta``.

        Raises
        ------
        AssertionError
            When the counts do not add up (a bug in the loader, never bad input).
        """
        if rows_read != rows_kept + rows_quarantined + rows_deleted + rows_merged:  # every table's accounting
            raise AssertionError(
                f"{name}: {rows_read} read != {rows_kept} kept + {rows_quarantined} quarantined"
                f" + {rows_deleted} deleted + {rows_merged} merged"
            )
        self.tables[name] = {
            "rows_read": int(rows_read),
            "rows_kept": int(rows_kept),
            "rows_quarantined": int(rows_quarantined),
            "rows_deleted": int(rows_deleted),
            "rows_merged": int(rows_merged),
            "rows_flagged": int(rows_flagged),
            "rules": {k: int(v) for k, v in sorted(rules.items())},
            "cleaning": dict(cleaning or {}),
            "files": list(files or []),
        }

    def rows_read(self, table: str) -> int:
        """Data rows read for ``table``.

        Parameters
        ----------
        table : str
            The table.

        Returns
        -------
        int
            Rows read from its files, kept or not.
        """
        return self.tables[table]["rows_read"]

    def to_dict(self) -> dict:
        """The JSON shape of ``funnel check --json``.

        Returns
        -------
        dict
            ``tables``, ``ignored_files``, ``stages_origin`` and ``currency``.
        """
        return {
            "tables": self.tables,
            "ignored_files": self.ignored_files,
            "stages_origin": self.stages_origin,
            "currency": self.currency,
        }

    def table(self) -> pd.DataFrame:
        """One row per table: rows read, kept, quarantined, flagged.

        Returns
        -------
        DataFrame
            Columns ``table``, ``rows_read``, ``rows_kept``, ``rows_quarantined``, ``rows_deleted``,
            ``rows_merged``, ``rows_flagged``.
        """
        cols = ["table", "rows_read", "rows_kept", "rows_quarantined", "rows_deleted", "rows_merged", "rows_flagged"]
        rows = [{"table": t, **{k: v for k, v in d.items() if k.startswith("rows_")}} for t, d in self.tables.items()]
        return pd.DataFrame(rows, columns=cols).fillna(0)

    def rules(self) -> pd.DataFrame:
        """One row per table and rule: the number of rows that broke it.

        Returns
        -------
        DataFrame
            Columns ``table``, ``rule``, ``rows``.
        """
        rows = [{"table": t, "rule": r, "rows": n} for t, d in self.tables.items() for r, n in d["rules"].items()]
        return pd.DataFrame(rows, columns=["table", "rule", "rows"])

    def cleaning(self) -> pd.DataFrame:
        """Values each cleaning step rewrote, one row per step and one column per table.

        Returns
        -------
        DataFrame
            Indexed by cleaning step (``ids_widened``, ``picklists_folded``, ...), whole counts,
            0 where a step did not apply to a table.
        """
        wide = pd.DataFrame({t: d["cleaning"] for t, d in self.tables.items()})
        return wide.fillna(0).astype(int).rename_axis("step")

    def notes(self) -> pd.DataFrame:
        """What the load set aside or assumed, one row per note.

        Returns
        -------
        DataFrame
            Columns ``note`` and ``value``: the files of objects the model does not cover
            (``"none"`` when there were none), where the stages came from, and the corporate
            currency with where it came from.
        """
        ignored = ", ".join(self.ignored_files) or "none"
        notes = {"ignored files": ignored, "stages from": self.stages_origin}
        if self.currency:
            notes["corporate currency"] = f"{self.currency.get('corporate')} ({self.currency.get('source')})"
        return pd.DataFrame({"note": list(notes), "value": list(notes.values())})


def _cutoff(date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(end of day exclusive, UTC) and the naive day, for a date or timestamp."""
    ts = pd.Timestamp(date)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    day = ts.normalize()
    return (day + pd.Timedelta(days=1)).tz_localize("UTC"), day


class EngineOnlyError(ValueError):
    """A pandas computation asked of an engine-only org (``load_org(..., engine_only=True)``).

    Its tables are in the engine (``crm.meta["engine_only"]`` names them), none in pandas, and the
    org was built from an export folder (one opened from a Parquet cache reads a table from the
    cache instead): a report option the engine path lacks (a ``by`` it does not group by, an entry
    point with no engine path) would otherwise compute on empty tables. The message is one line naming
    the call (``kpis(by='lead_source')``) and what to do.
    """


def _plain(value) -> bool:
    if value is None or isinstance(value, str | int | float | bool):
        return True
    return isinstance(value, list | tuple) and all(isinstance(v, str | int | float | bool) for v in value)


def _entry_point_call() -> str | None:
    """The outermost report entry point on the stack (``<subpackage>.report``), with its options.

    Only the options that differ from their default and are plain values are named (``crm`` and
    ``as_of`` are not): what the user asked that the engine path does not cover.
    """
    frame, found = sys._getframe(1), None
    while frame is not None:
        parts = frame.f_globals.get("__name__", "").split(".")
        if len(parts) == 3 and parts[0] == "funnel_analysis" and parts[1] != "cli" and parts[2] == "report":
            if not frame.f_code.co_name.startswith("_"):
                found = frame
        frame = frame.f_back
    if found is None:
        return None
    name, fn = found.f_code.co_name, found.f_globals.get(found.f_code.co_name)
    if getattr(fn, "__code__", None) is not found.f_code:
        return f"{name}()"
    args = []
    for pname, param in list(inspect.signature(fn).parameters.items())[1:]:
        value = found.f_locals.get(pname, param.default)
        if pname == "as_of" or param.default is param.empty or not _plain(value):
            continue
        try:
            same = bool(value == param.default) or (not value and not param.default)
        except (TypeError, ValueError):
            same = False
        if not same:
            args.append(f"{pname}={value!r}")
    return f"{name}({', '.join(args)})"


def _tables_read(table: str, expr) -> tuple[str, ...]:
    """The related tables a filter or a dotted field on ``table`` reads through its paths, each once.

    ``_tables_read("opportunities", "account.region == 'EMEA'")`` is ``("accounts",)`` (the owner
    relation: ``users``). Text that does not parse reads none: the filter's own check names the problem.
    """
    from .expression import ExpressionError, parse_expression

    spec = TABLES.get(table)
    if spec is None or expr is None or (isinstance(expr, str) and not expr.strip()):
        return ()
    if isinstance(expr, str):
        try:
            columns = parse_expression(expr).columns if not _is_field(expr) else (expr.strip(),)
        except ExpressionError:
            return ()
    else:
        columns = expr.columns
    relations = {c.split(".", 1)[0] for c in columns if "." in c}
    return tuple(
        dict.fromkeys(
            ref.table for ref in spec.references if ref.column.endswith("_id") and ref.column[:-3] in relations
        )
    )


def _is_field(text: str) -> bool:
    """Whether ``text`` is a bare (dotted) field name rather than a filter."""
    return all(part.isidentifier() for part in text.strip().split("."))


def _day_rows(
    name: str, df: pd.DataFrame, present: dict, end, day, *, rows: bool = True
) -> tuple[pd.DataFrame | None, int | None]:
    """The rows of one table that the day's cut keeps, and how many have no date (None: not dated).

    Activities by their activity date (through the day), the other dated tables by their creation
    time (before the day's end); the leads' and deals' state of the day is rebuilt after, by the cut.
    With ``rows=False`` only the count (the rows None).
    """
    spec = TABLES.get(name)
    col = spec.created_column if spec else None
    if name == "activities" and "activity_date" in present.get(name, []):
        col, keep = "activity_date", (lambda: df["activity_date"] <= day)
    elif col and col in present.get(name, []) and name != "stages":
        keep = lambda: df[col] < end  # noqa: E731
    else:
        return (df if rows else None), None
    return (_rows(df, keep()) if rows else None), int(df[col].isna().sum())


def _engine_only_error(table: str) -> EngineOnlyError:
    """The one line of :class:`EngineOnlyError` for a read of ``table`` on pandas."""
    call = _entry_point_call() or f"reading {table!r} in pandas"
    return EngineOnlyError(
        f"{call}: this org is engine-only (load_org(..., engine_only=True)) and this runs on pandas, "
        f"which holds none of its tables ({table} is in the engine): load without engine_only"
    )


@dataclass
class CrmData:
    """A loaded org: canonical tables plus what validation set aside.

    Attributes
    ----------
    tables : dict of str to DataFrame
        The kept rows of every loaded table, and ``stages``.
    quarantine : DataFrame
        One row per broken error rule: table, row (0-based data row in its file),
        record_id, column, rule, severity, value, file.
    flags : DataFrame
        The same for warning rules on kept rows.
    quarantined_rows : dict of str to DataFrame
        The quarantined rows themselves, typed as far as they parsed.
    report : DataQualityReport
        Rows read, kept, quarantined and flagged per table and rule.
    meta : dict
        Source, mapping, data fingerprint, load time, and as-of information.
    as_of_date : Timestamp or None
        The day of the cut for an org from :meth:`as_of`; None for the org as loaded.
    deleted_rows : dict of str to DataFrame
        Per table, the rows the source marks deleted, merged away, or that followed a deleted
        parent, typed, with a ``deleted_as`` column (``deleted``, ``merged``, ``parent_deleted``).
        They are in no analysis: a deleted record is treated as never having existed.
    merges : DataFrame
        Salesforce's own merges (deleted leads, contacts and accounts with a ``MasterRecordId``):
        ``table``, ``merged_id``, ``master_id`` (chains followed to the final survivor).
        References to a merged record were re-pointed to its master at load.
    """

    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    flags: pd.DataFrame
    quarantined_rows: dict[str, pd.DataFrame]
    report: DataQualityReport
    meta: dict = field(default_factory=dict)
    as_of_date: pd.Timestamp | None = None
    deleted_rows: dict[str, pd.DataFrame] = field(default_factory=dict)
    merges: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=MERGE_COLUMNS))

    def __getattr__(self, name):
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        if name in self.__dict__.get("meta", {}).get("engine_only", ()):
            # the table is in the engine: read from the Parquet cache the org was opened from, else
            # one line, never an empty frame that a pandas path would count as none
            frame = self._from_cache(name)
            if frame is None:
                raise _engine_only_error(name)
            return frame
        if name in TABLES:  # a table the source did not have: empty, with its columns
            return pd.DataFrame(columns=TABLES[name].column_names)
        raise AttributeError(name)

    def ensure_tables(self, *tables: str) -> None:
        """Hold ``tables`` in pandas: on an engine-only org, read them from its Parquet cache now.

        A pandas path that hands ``crm.tables`` to a function reading it as a mapping calls this
        first with the tables it reads (those the org lacks, or already holds, are skipped); reading
        a table as ``crm.leads`` or ``crm.rows("leads")`` needs no call.

        Parameters
        ----------
        *tables : str
            Table names of the schema.

        Raises
        ------
        EngineOnlyError
            For an engine-only org not opened from a Parquet cache (its tables are in the engine alone).

        Examples
        --------
        >>> from funnel_analysis.crm import load_frames
        >>> crm = load_frames({"Account": pd.DataFrame({"Id": ["001000000000001AAA"], "Name": ["Acme"]})})
        >>> crm.ensure_tables("accounts", "leads")
        >>> sorted(crm.tables)
        ['accounts', 'stages']
        """
        for table in tables:
            if table in self.meta.get("engine_only", ()) and table not in self.tables:
                getattr(self, table)

    def ensure_related_tables(self, table: str, *exprs) -> None:
        """Hold in pandas the related tables that filters or dotted fields on ``table`` read.

        :meth:`ensure_tables` for the tables their paths reach (``account.region`` on the deals: the
        accounts), before a mapping of the org's tables is handed to the expression functions.

        Parameters
        ----------
        table : str
            The table filtered (``"opportunities"``).
        *exprs : str, Expression or None
            Filters in the safe grammar or field names (``"account.region"``); None and text that
            does not parse read none (the filter's own check names the problem).

        Examples
        --------
        >>> from funnel_analysis.crm import load_frames
        >>> crm = load_frames({"Opportunity": pd.DataFrame({"Id": ["006000000000001AAA"], "StageName": ["Prospecting"]})})
        >>> crm.ensure_related_tables("opportunities", "account.region == 'EMEA'", "owner.role")
        """
        for expr in exprs:
            self.ensure_tables(*_tables_read(table, expr))

    def _from_cache(self, name: str) -> pd.DataFrame | None:
        """An engine-only table read in pandas from the org's Parquet cache and kept; None: no cache.

        The org itself reads it (and the tables read with it) through
        :func:`funnel_analysis.engine.attach.cached_tables` and keeps its engine; a cut reads the
        leads, the deals and their histories through the org it was cut from (cut on the same day, as
        ``as_of`` cuts them: their state of the day is rebuilt from the history), and any other table
        itself, keeping the day's rows only.
        """
        plugin = importlib.import_module("..engine.attach", __package__)
        if self.as_of_date is None:
            org = plugin.engine_of(self)
            fetched = plugin.cached_tables(self, table=name)
            if fetched is None:
                return None
            self.tables.update(fetched)
            plugin.attach(self, org=org)  # the same tables as the engine's, one more of them in pandas
            return self.tables[name]
        parent = self.__dict__.get("_cut_of")
        if parent is None:
            return None
        if name not in ("leads", "opportunities"):
            # a table the cut keeps rows of as they are (the histories, activities, campaign members ...):
            # its day's rows, cut here from the org's table, or from the cache's when the org does not
            # hold it (then held once, not under the org as well)
            if name in parent.tables:
                source = parent.tables[name]
            else:
                fetched = plugin.cached_tables(parent, table=name)
                if fetched is None or name not in fetched:
                    return None
                source = fetched[name]
            end, day = _cutoff(self.as_of_date)
            frame, n_undated = _day_rows(name, source, parent.meta.get("columns_present", {}), end, day)
            self.tables[name] = frame
            if n_undated:
                self.meta["as_of_undated"] = {**self.meta.get("as_of_undated", {}), name: n_undated}
            return frame
        getattr(parent, name)
        recut = parent.as_of(self.as_of_date)
        self.tables[name] = recut.tables[name]
        self.meta["as_of_undated"] = {**recut.meta.get("as_of_undated", {}), **self.meta.get("as_of_undated", {})}
        return self.tables[name]

    def __getstate__(self):
        # memoised cuts, history sorts and the analyses' memos (``_routing_memo``, ``_scoring_light``
        # ...: every private key that is not a field) are rebuilt on demand: never pickled (workers)
        fields = {f.name for f in dataclasses.fields(self)}
        return {k: v for k, v in self.__dict__.items() if k in fields or not k.startswith("_")}

    def has(self, table: str) -> bool:
        """Whether the source had this table (``stages`` always exists).

        Parameters
        ----------
        table : str
            A table name of the schema.

        Returns
        -------
        bool
            True when it was loaded (a table the source lacked reads as empty); for an engine-only
            org, also a table the engine holds (reading it in pandas raises :class:`EngineOnlyError`).
        """
        return table in self.tables or table in self.meta.get("engine_only", ())

    @property
    def currency(self) -> str:
        """The corporate currency's ISO code: every money figure of the org is in it.

        From ``CurrencyType`` (``IsCorporate``); else the one ``CurrencyIsoCode`` the records use;
        else ``"USD"`` (the data-quality notes say which).
        """
        return str(self.report.currency.get("corporate") or self.meta.get("currency") or "USD")

    @property
    def currency_symbol(self) -> str:
        """The corporate currency as written before an amount (``"$"``, ``"€"``, ``"CHF "``)."""
        from .._util.money import currency_symbol

        return currency_symbol(self.currency)

    @property
    def stage_order(self) -> list[str]:
        """Stage names in the org's order (the stages table's ``sort_order``)."""
        return self.tables["stages"].sort_values("sort_order", kind="stable")["stage_name"].tolist()

    def __repr__(self):
        sizes = ", ".join(f"{t}={len(df)}" for t, df in self.tables.items())
        when = f" as_of={self.as_of_date.date()}" if self.as_of_date is not None else ""
        return f"CrmData({sizes}{when})"

    # ---- the as-of cut -------------------------------------------------------------------
    def as_of(self, date) -> CrmData:
        """The org as it stood at the end of ``date`` (see the module notes for the rules).

        Parameters
        ----------
        date : date, Timestamp or str
            The day of the cut; a timestamp counts as its UTC day.

        Returns
        -------
        CrmData
            A new org holding each table's rows created by the end of that day, with every
            opportunity's state rebuilt from its history. Cuts are memoised: asking for the same
            day again returns the same object (at most :data:`MAX_CUTS` are kept, the least
            recently used are dropped), so analyses and backtests can cut freely.
        """
        end, day = _cutoff(date)
        memo = self.__dict__.setdefault("_cuts", OrderedDict())
        # the key names the tables' objects too: replacing a table makes earlier cuts stale
        key = (day, tuple((name, id(df)) for name, df in self.tables.items()), id(self.merges), id(self.deleted_rows))
        if key in memo:
            memo.move_to_end(key)
            return memo[key]
        cut = self._cut(end, day)
        if self.meta.get("engine_only"):  # its engine-only tables are read through this org
            cut.__dict__["_cut_of"] = self
        memo[key] = cut
        while len(memo) > MAX_CUTS:
            memo.popitem(last=False)
        return cut

    def rows(self, table: str, *, where=None) -> pd.DataFrame:
        """The rows of ``table`` that the expression ``where`` selects.

        Parameters
        ----------
        table : str
            A table of the org (``"opportunities"``, ``"leads"``, ...); a table the source did not
            have is empty.
        where : str, Expression or None
            A filter in the safe expression grammar of :mod:`funnel_analysis.crm.expression`, over
            the table's columns and, through its references, its related records
            (``"owner.region == 'EMEA' and amount >= 10000"``). ``None`` or ``""`` keeps every row.

        Returns
        -------
        DataFrame
            The selected rows, index reset; the table itself when ``where`` is empty.

        Raises
        ------
        ExpressionError
            When ``where`` is not an expression of the grammar or names a column the table or
            its related records do not have (the message gives the position).
        EngineOnlyError
            For a table of an engine-only org (it is in the engine, not in pandas).
        """
        frame = getattr(self, table)
        if where is None or (isinstance(where, str) and not where.strip()):
            return frame
        from .expression import expression_mask

        if self.meta.get("engine_only"):  # the related tables the filter reads, from the cache
            self.ensure_related_tables(table, where)
        tables = dict(self.tables)
        tables[table] = frame
        mask = expression_mask(tables, table, where=where)
        return frame[mask.to_numpy(dtype=bool)].reset_index(drop=True)

    def where(self, expr) -> CrmData:
        """The org in which every table follows one filter, children following their parents.

        Leads, opportunities, accounts and contacts are filtered where the expression can be read on
        them; their history, activities, contact roles and campaign members follow them; the rules
        are those of :mod:`funnel_analysis.crm.scope`.

        Parameters
        ----------
        expr : str or Expression
            A filter in the safe grammar (``"account.region == 'EMEA'"``); blank: the org itself.

        Returns
        -------
        CrmData
            A new org (this one is not changed), with its own fingerprint and ``meta["scope"]``.

        Raises
        ------
        ExpressionError
            When the filter does not parse or names a field none of those tables can read.
        EngineOnlyError
            For an engine-only org whose engine was detached (its tables are nowhere else).

        Notes
        -----
        An org with an engine (``load_org(..., engine="duckdb")``, ``engine_only=True`` included) is
        scoped in the engine too (:func:`funnel_analysis.engine.scope.scope_engine_org`, the same rules
        in SQL), and the scoped org carries it: its reductions stay in the engine.

        Examples
        --------
        >>> emea = crm.where("owner.region == 'EMEA'")  # doctest: +SKIP
        >>> emea.meta["scope"]["rows"]["opportunities"]  # doctest: +SKIP
        812
        """
        from .scope import scope_org

        if expr is None or (isinstance(expr, str) and not expr.strip()):
            return self
        # the engine package imports the data model: found by name (as load_org finds it)
        plugin = importlib.import_module("..engine.attach", __package__)
        org = plugin.engine_of(self)
        if org is None:
            if self.meta.get("engine_only"):
                raise _engine_only_error(self.meta["engine_only"][0])
            return scope_org(self, where=expr)
        # an org with an engine: the engine's tables are scoped there by the same rules
        # (funnel_analysis.engine.scope), so the scoped org's reductions stay in the engine
        reference = {t: self.tables[t] for t in ("users", "groups") if t in self.tables}
        scoped_org = importlib.import_module("..engine.scope", __package__).scope_engine_org(
            org, where=expr, reference=reference
        )
        if self.meta.get("engine_only"):
            meta = {**self.meta, "fingerprint": scoped_org.meta["fingerprint"], "scope": scoped_org.meta["scope"]}
            # the tables read from the cache stay behind: the scoped org reads its own rows of them
            kept = {t: df for t, df in self.tables.items() if t not in self.meta["engine_only"]}
            out = dataclasses.replace(self, tables=kept, meta=meta)
        else:
            out = scope_org(self, where=expr)
        plugin.attach(out, org=scoped_org)
        return out

    def history_of(self, opportunities: pd.DataFrame) -> pd.DataFrame:
        """The ``opportunity_history`` rows of these opportunities (all of it for the whole table).

        Parameters
        ----------
        opportunities : DataFrame
            Rows of this org's ``opportunities``, as :meth:`rows` returns them.

        Returns
        -------
        DataFrame
            The history of those opportunities only, index reset; the table itself when
            ``opportunities`` is the org's whole table (no filter).
        """
        history = self.opportunity_history
        if opportunities is self.opportunities:
            return history
        keep = history["opportunity_id"].isin(opportunities["opportunity_id"]).to_numpy()
        return history[keep].reset_index(drop=True)

    def _cut(self, end, day) -> CrmData:
        present = self.meta.get("columns_present", {})
        out: dict[str, pd.DataFrame] = {}
        undated: dict[str, int] = {}
        deferred: set[str] = set()
        if self.meta.get("engine_only"):
            read_with = importlib.import_module("..engine.attach", __package__).READ_WITH
            # a cut of a cut rebuilds its leads and deals from their histories: read them first
            self.ensure_tables(*(t for key, ts in read_with.items() if key in self.tables for t in ts))
            # the cut of an engine-only org reads its day's history rows when asked (_from_cache): most
            # cuts (a forecast's past quarters) never read them, and each would hold a copy of them
            deferred = {t for ts in read_with.values() for t in ts}
        for name, df in self.tables.items():
            frame, n_undated = _day_rows(name, df, present, end, day, rows=name not in deferred)
            if frame is not None:
                out[name] = frame
            if n_undated is not None:
                undated[name] = n_undated
        if "opportunities" in out:
            out["opportunities"] = self._opportunities_as_of(out["opportunities"], end, day)
        if "leads" in out:
            out["leads"] = _leads_as_of(out["leads"], day)
        # field history: values of the day, counted on this org's whole history (a first change after
        # the day gives the value before it); without the tables the cut is left as it was
        if "leads" in out and "lead_history" in self.tables:
            out["leads"] = _cut_leads(self, out["leads"], end)
        if "opportunities" in out and "opportunity_field_history" in self.tables:
            out["opportunities"] = _cut_opportunities(self, out["opportunities"], end)
        meta = dict(self.meta, as_of=str(day.date()), as_of_undated={k: v for k, v in undated.items() if v})
        return CrmData(
            tables=out,
            quarantine=self.quarantine,
            flags=self.flags,
            quarantined_rows=self.quarantined_rows,
            report=self.report,
            meta=meta,
            as_of_date=day,
            deleted_rows=self.deleted_rows,
            merges=self.merges,
        )

    def _history_order(self, hist: pd.DataFrame, opp_ids: pd.Series):
        """Codes of the history rows' deals in ``opp_ids`` (-1: none) and the rows sorted by time.

        The sort (time, then file order; rows without a time last) does not depend on the cut, so it
        is computed once per org and reused by every later cut (backtests cut dozens of times).
        """
        cache = self.__dict__.setdefault("_history_cache", {})
        if cache.get("hist") is not hist:
            t = hist["created_date"]
            ns = t.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(t.dt, "tz", None) else t
            ns = ns.astype("datetime64[ns]").to_numpy().view("int64").copy()
            ns[pd.isna(t).to_numpy()] = np.iinfo(np.int64).max  # no time: never before a cut, sorted last
            order = np.lexsort((np.arange(len(ns)), ns))
            cache.clear()
            cache.update(hist=hist, order=order, t_sorted=ns[order], ids=hist["opportunity_id"])
        code = index_in(cache["ids"], opp_ids)
        return code, cache["order"], cache["t_sorted"]

    def _opportunities_as_of(self, opps: pd.DataFrame, end, day) -> pd.DataFrame:
        opps = opps.copy()
        stages = self.tables["stages"].drop_duplicates("stage_name").set_index("stage_name")
        hist = self.tables.get("opportunity_history")
        hist_cols = [
            c
            for c in HISTORY_FIELDS
            if hist is not None and c in self.meta.get("columns_present", {}).get("opportunity_history", [])
        ]
        if "amount" in hist_cols:  # a history row's amount comes with its own currency and rate
            hist_cols += [c for c in ("amount_original", "conversion_rate") if c in hist.columns and c in opps]
        opps["state_source"] = "current"
        if hist is not None and len(hist) and hist_cols:
            code, order, t_sorted = self._history_order(hist, opps["opportunity_id"])
            # per deal, the last change before the cut, else its first change (sorted: time, file order)
            c_sorted = code[order]
            before = (t_sorted < end.value) & (c_sorted >= 0)
            n = len(opps)
            last = np.full(n, -1, dtype=np.int64)
            np.maximum.at(last, c_sorted[before], np.flatnonzero(before))
            first = np.full(n, len(order), dtype=np.int64)
            known = c_sorted >= 0
            np.minimum.at(first, c_sorted[known], np.flatnonzero(known))
            use_first = (last < 0) & (first < len(order))
            pick = np.where(last >= 0, last, np.where(use_first, first, 0))
            has = (last >= 0) | use_first
            rows = order[pick]  # row numbers in the history table
            for c in hist_cols:
                taken = hist[c].take(rows)
                taken.index = opps.index
                opps[c] = opps[c].mask(has, taken) if c in opps else taken.where(has)
            opps.loc[last >= 0, "state_source"] = "history"
            opps.loc[use_first, "state_source"] = "history_first"
        from_stage = opps["state_source"] != "current"
        mapped_closed = opps["stage_name"].map(stages["is_closed"])
        mapped_won = opps["stage_name"].map(stages["is_won"])
        opps["is_closed"] = _flags_by_stage(opps["is_closed"], mapped_closed, from_stage)
        opps["is_won"] = _flags_by_stage(opps["is_won"], mapped_won, from_stage)
        # no history: a deal that closed after the cut was still open on the day, stage unknown
        reopen = ~from_stage & opps["is_closed"] & (opps["close_date"] > day).fillna(False)
        if reopen.any():
            opps.loc[reopen, ["is_closed", "is_won"]] = False
            opps.loc[reopen, "stage_name"] = None
            opps.loc[reopen, "state_source"] = "current_reopened"
        if "forecast_category" in stages and from_stage.any():
            fc = opps["stage_name"].map(stages["forecast_category"])
            missing_fc = opps["forecast_category"].isna() & fc.notna()
            opps.loc[missing_fc, "forecast_category"] = fc[missing_fc]
        return opps

    # ---- persistence ---------------------------------------------------------------------
    def to_parquet(self, folder) -> Path:
        """Cache the loaded org as Parquet (one file per table) plus ``crm.json``.

        Parameters
        ----------
        folder : str or Path
            Created if missing; files of the same names are replaced.

        Returns
        -------
        Path
            The folder.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, df in self.tables.items():
            df.to_parquet(folder / f"{name}.parquet", index=False)
        self.quarantine.astype({"value": "str"}).to_parquet(folder / "_quarantine.parquet", index=False)
        self.flags.astype({"value": "str"}).to_parquet(folder / "_flags.parquet", index=False)
        for name, df in self.quarantined_rows.items():
            df.to_parquet(folder / f"_quarantined_{name}.parquet", index=False)
        for name, df in self.deleted_rows.items():
            df.to_parquet(folder / f"_deleted_{name}.parquet", index=False)
        self.merges.astype("str").to_parquet(folder / "_merges.parquet", index=False)
        doc = {
            "report": self.report.to_dict(),
            "meta": self.meta,
            "as_of": None if self.as_of_date is None else str(self.as_of_date.date()),
            # what was written, byte for byte: a truncated file, or another org's valid one, is caught on reading
            "checksums": {p.name: _file_checksum(p) for p in sorted(folder.glob("*.parquet"))},
        }
        (folder / "crm.json").write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
        return folder

    def day_rows(self, table: str, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` (rows of ``table``, any of its columns) that this cut keeps of that table.

        As :meth:`as_of` keeps them (activities by their activity date, other tables by their creation
        time); an org that is not a cut keeps every row. For a part of a table read on its own (some
        columns of the rows a caller needs), cut the same way as the whole table would be.

        Parameters
        ----------
        table : str
            The table ``frame`` holds rows of.
        frame : DataFrame
            Those rows, with the table's date column among its columns.

        Returns
        -------
        DataFrame
            The rows kept, in their order (``frame`` itself for an org that is not a cut).

        Examples
        --------
        >>> from funnel_analysis.crm import load_frames
        >>> crm = load_frames({"Lead": pd.DataFrame({"Id": ["00Q000000000001AAA"], "CreatedDate": ["2024-01-02"]})})
        >>> len(crm.as_of("2024-01-01").day_rows("leads", crm.leads)), len(crm.day_rows("leads", crm.leads))
        (0, 1)
        """
        if self.as_of_date is None:
            return frame
        end, day = _cutoff(self.as_of_date)
        return _day_rows(table, frame, self.meta.get("columns_present", {}), end, day)[0]

    @staticmethod
    def read_cached_table(folder, table: str, *, columns=None) -> pd.DataFrame:
        """One table of a cache written by :meth:`to_parquet`, checked against its recorded checksum.

        What an engine-only org opened from the cache reads when a pandas path needs the table
        (:func:`funnel_analysis.engine.attach.cached_tables`): the file may have changed since the
        cache was checked as a whole on opening.

        Parameters
        ----------
        folder : str or Path
            A folder written by :meth:`to_parquet`.
        table : str
            The table's name (its file is ``<table>.parquet``).
        columns : iterable of str, optional
            Read only these of its columns (those the file lacks are left out); None: all of them.

        Returns
        -------
        DataFrame
            The table as written.

        Raises
        ------
        CacheError
            When ``crm.json`` records no checksum of the file, or the file differs from what was written.
        """
        path = CrmData._checked_cache_file(folder, table)
        if columns is None:
            return pd.read_parquet(path)
        import pyarrow.parquet as pq

        names = set(pq.read_schema(path).names)
        return pd.read_parquet(path, columns=[c for c in dict.fromkeys(columns) if c in names])

    @staticmethod
    def read_cached_batches(
        folder, table: str, *, columns=None, key=None, values=None, batch_rows: int = 262_144
    ) -> Iterator[pd.DataFrame]:
        """One table of a cache written by :meth:`to_parquet`, batch by batch, checked as :meth:`read_cached_table` is.

        What a pandas path that reduces a big table's rows as it reads them uses, so that the
        table is never whole in memory (the touches of a million leads, from the activities).

        Parameters
        ----------
        folder : str or Path
            A folder written by :meth:`to_parquet`.
        table : str
            The table's name.
        columns : iterable of str, optional
            Read only these of its columns (those the file lacks are left out); None: all of them.
        key : str, optional
            With ``values``: only the rows whose ``key`` is one of them (matched in Arrow, before the
            rows reach pandas); ``key`` is read whether or not ``columns`` names it.
        values : array-like, optional
            The values of ``key`` kept (missing ones never match).
        batch_rows : int, default 262144
            The most rows read at a time.

        Returns
        -------
        Iterator of DataFrame
            The rows of each batch, as :meth:`read_cached_table` types them, in the file's order; at
            least one (empty) frame.

        Raises
        ------
        CacheError
            As :meth:`read_cached_table`, before the first batch.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = CrmData._checked_cache_file(folder, table)
        file = pq.ParquetFile(path)
        names = file.schema_arrow.names
        wanted = (
            names if columns is None else [c for c in dict.fromkeys([*columns, *([key] if key else [])]) if c in names]
        )
        keep = None
        if key is not None and values is not None:
            keep = pa.array(
                pd.Series(values, dtype=object).dropna().unique().tolist(), type=file.schema_arrow.field(key).type
            )
        return CrmData._cached_batches(file, wanted, key, keep, batch_rows)

    @staticmethod
    def _cached_batches(file, columns, key, keep, batch_rows):
        import pyarrow as pa
        import pyarrow.compute as pc

        schema = pa.schema([file.schema_arrow.field(c) for c in columns], metadata=file.schema_arrow.metadata)
        given = False
        for batch in file.iter_batches(batch_size=batch_rows, columns=columns):
            part = pa.Table.from_batches([batch])
            if keep is not None:
                part = part.filter(pc.fill_null(pc.is_in(part.column(key), value_set=keep), False))
            if part.num_rows or not given:
                given = True
                yield part.replace_schema_metadata(schema.metadata).to_pandas()
        if not given:
            yield schema.empty_table().to_pandas()

    @staticmethod
    def _checked_cache_file(folder, table: str) -> Path:
        """The path of ``table``'s file in a cache, once it is checked against its recorded checksum."""
        folder = Path(folder)
        path = folder / f"{table}.parquet"
        try:
            doc = json.loads((folder / "crm.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CacheError(folder / "crm.json", f"cannot be read ({type(exc).__name__})") from None
        recorded = (doc.get("checksums") or {}).get(path.name) if isinstance(doc, dict) else None
        if recorded is None:
            raise CacheError(path, "was not written with the cache")
        _check_cached_file(path, recorded)
        return path

    @staticmethod
    def check_parquet(folder, *, fingerprint: str | None = None) -> None:
        """Check a cache written by :meth:`to_parquet` against what was recorded when it was written.

        Every Parquet file must be there with the checksum ``crm.json`` recorded (a file cut short by
        a crash or a full disk, or replaced by another org's perfectly valid file, differs), no file
        may be added, and with ``fingerprint`` the cache must be of that data.

        Parameters
        ----------
        folder : str or Path
            A folder written by :meth:`to_parquet`.
        fingerprint : str, optional
            The data fingerprint the cache must hold (``crm.meta["fingerprint"]``).

        Raises
        ------
        CacheError
            Naming the file and what is wrong: ``crm.json`` missing or unreadable, no checksums
            recorded (a cache written before they were), a file missing, added or changed, or
            another fingerprint.
        """
        folder = Path(folder)
        doc_path = folder / "crm.json"
        try:
            doc = json.loads(doc_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CacheError(doc_path, f"cannot be read ({type(exc).__name__})") from None
        sums = doc.get("checksums") if isinstance(doc, dict) else None
        if not isinstance(sums, dict):
            raise CacheError(doc_path, "records no checksums (written by an older version)")
        got = (doc.get("meta") or {}).get("fingerprint")
        if fingerprint is not None and got != fingerprint:
            raise CacheError(doc_path, f"holds the data {got!r}, not {fingerprint!r}")
        on_disk = {p.name for p in folder.glob("*.parquet")}
        for name in sorted(on_disk - set(sums)):
            raise CacheError(folder / name, "was not written with the cache")
        for name, checksum in sorted(sums.items()):
            _check_cached_file(folder / name, checksum)

    @classmethod
    def from_parquet(cls, folder) -> CrmData:
        """Reload an org cached by :meth:`to_parquet`, checked against the checksums written with it.

        Parameters
        ----------
        folder : str or Path
            A folder written by :meth:`to_parquet`.

        Returns
        -------
        CrmData
            The org as it was cached.

        Raises
        ------
        CacheError
            When a file differs from what was written (:meth:`check_parquet`). A cache written
            before checksums were recorded is read unchecked.
        """
        folder = Path(folder)
        doc = json.loads((folder / "crm.json").read_text(encoding="utf-8"))
        if "checksums" in doc:
            cls.check_parquet(folder)
        tables, qrows, deleted = {}, {}, {}
        for p in sorted(folder.glob("*.parquet")):
            if p.name.startswith("_quarantined_"):
                qrows[p.stem.removeprefix("_quarantined_")] = pd.read_parquet(p)
            elif p.name.startswith("_deleted_"):
                deleted[p.stem.removeprefix("_deleted_")] = pd.read_parquet(p)
            elif not p.name.startswith("_"):
                tables[p.stem] = pd.read_parquet(p)
        rep = DataQualityReport(
            tables=doc["report"]["tables"],
            ignored_files=doc["report"]["ignored_files"],
            stages_origin=doc["report"]["stages_origin"],
            currency=doc["report"].get("currency", {}),
        )
        merges_file = folder / "_merges.parquet"
        merges = pd.read_parquet(merges_file) if merges_file.exists() else pd.DataFrame(columns=MERGE_COLUMNS)
        as_of = pd.Timestamp(doc["as_of"]) if doc.get("as_of") else None
        return cls(
            tables=tables,
            quarantine=pd.read_parquet(folder / "_quarantine.parquet"),
            flags=pd.read_parquet(folder / "_flags.parquet"),
            quarantined_rows=qrows,
            report=rep,
            meta=doc["meta"],
            as_of_date=as_of,
            deleted_rows=deleted,
            merges=merges,
        )


class CacheError(ValueError):
    """A Parquet cache that is not what was written: names the file and what is wrong.

    Parameters
    ----------
    file : path-like
        The file (or ``crm.json``) at fault.
    message : str
        What is wrong with it.
    """

    def __init__(self, file, message: str):
        self.file = str(file)
        super().__init__(f"{self.file}: {message}")


def _check_cached_file(path: Path, recorded: str) -> None:
    """One :class:`CacheError` when a cache file is missing or differs from the checksum recorded for it."""
    if not path.is_file():
        raise CacheError(path, "is missing")
    if _file_checksum(path) != recorded:
        raise CacheError(path, "differs from what was written (cut short, damaged or replaced)")


def _file_checksum(path: Path) -> str:
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _flags_by_stage(current: pd.Series, by_stage: pd.Series, from_history: pd.Series) -> np.ndarray:
    """A closed/won flag on the day: the stage's flag where the state came from history, else the
    record's own flag; where the record has none (an export without IsClosed/IsWon), the stage's,
    and False (open, not won) when neither is known."""
    current = pd.Series(current, index=by_stage.index).astype("boolean")
    by_stage = by_stage.astype("boolean")
    flag = current.where(~(from_history & by_stage.notna()), by_stage).fillna(by_stage)
    return flag.fillna(False).to_numpy(dtype=bool)


def _rows(df: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
    """The rows where ``keep``; the frame itself when that is every row (the common recent cut)."""
    keep = keep.fillna(False).to_numpy(dtype=bool)
    return df if keep.all() else df[keep].reset_index(drop=True)


def _leads_as_of(leads: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    later = leads["is_converted"].fillna(False).astype(bool) & (leads["converted_date"] > day).fillna(False)
    if not later.any():
        return leads
    leads = leads.copy()
    leads.loc[later, "is_converted"] = False
    for c in ("converted_date", "converted_account_id", "converted_contact_id", "converted_opportunity_id"):
        leads.loc[later, c] = None
    return leads


#: Columns that date a change of a record, newest information first: the extract time is the latest
#: of them. Close dates and activity dates are never among them (they may lie in the future).
EXTRACT_TIME_COLUMNS = ("system_modstamp", "last_modified_date", "created_date")


@dataclass(frozen=True)
class ExtractTime:
    """When the data was extracted, as far as the data itself says, and which field says it.

    Attributes
    ----------
    timestamp : Timestamp
        The latest change timestamp in the data (UTC, naive).
    report_date : Timestamp
        Its day (midnight): the default report date.
    table : str
        The table that holds it.
    column : str
        The column (``system_modstamp``, ``last_modified_date`` or ``created_date``).
    """

    timestamp: pd.Timestamp
    report_date: pd.Timestamp
    table: str
    column: str

    def describe(self) -> str:
        """One line for a report header: which field of which object gave the date.

        Returns
        -------
        str
            For example ``"latest SystemModstamp of OpportunityHistory"``.
        """
        spec = TABLES.get(self.table)
        col = spec.column(self.column) if spec else None
        field_name = col.sf_name if col else self.column
        obj = spec.sf_object if spec else self.table
        return f"latest {field_name} of {obj}"


def extract_time(crm) -> ExtractTime:
    """The extract time: the latest change timestamp any live record carries.

    The latest ``SystemModstamp``, ``LastModifiedDate`` or creation timestamp of any table (history
    rows included); never a close date or an activity's due date, which may be in the future.
    Deleted records are not read: they are in no figure. An engine-only org
    (``load_org(..., engine_only=True)``) carries it in ``meta["extract_time"]``, worked out in the engine.

    Parameters
    ----------
    crm : CrmData
        The org.

    Returns
    -------
    ExtractTime
        The timestamp, its day, and the table and column it came from.

    Raises
    ------
    ValueError
        When no table has a timestamp (give ``as_of`` explicitly).
    """
    known = crm.meta.get("extract_time") if crm.meta.get("engine_only") else None
    if known:
        # an engine-only org: worked out in the engine when it was built (its tables are not in pandas)
        t = pd.Timestamp(known["timestamp"])
        return ExtractTime(timestamp=t, report_date=t.normalize(), table=known["table"], column=known["column"])
    best = None
    for name, df in crm.tables.items():
        for col in EXTRACT_TIME_COLUMNS:
            if col not in df.columns or not pd.api.types.is_datetime64_any_dtype(df[col]):
                continue
            values = df[col].dropna()
            if not len(values):
                continue
            t = pd.Timestamp(values.max())
            t = t.tz_convert("UTC").tz_localize(None) if t.tzinfo else t
            if best is None or t > best[0]:
                best = (t, name, col)
    if best is None:
        raise ValueError("the data has no timestamp (SystemModstamp, LastModifiedDate, CreatedDate): give as_of")
    t, name, col = best
    return ExtractTime(timestamp=t, report_date=t.normalize(), table=name, column=col)


def latest_date(crm) -> pd.Timestamp:
    """The report date when none is given: the day of the extract time (:func:`extract_time`).

    Parameters
    ----------
    crm : CrmData
        The org.

    Returns
    -------
    Timestamp
        A naive day (midnight), UTC.

    Raises
    ------
    ValueError
        When no table has a timestamp.
    """
    return extract_time(crm).report_date


def cut_as_of(crm, *, as_of=None) -> CrmData:
    """The org as it stood at the end of the report day: what every report entry point starts from.

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date, Timestamp, str or None
        The day; ``None`` or ``""`` for the latest date in the data (:func:`resolve_as_of`).

    Returns
    -------
    CrmData
        :meth:`CrmData.as_of` of that day (memoised); its ``as_of_date`` is the day.

    Raises
    ------
    TypeError
        When ``crm`` is not a :class:`CrmData`.
    ValueError
        When ``as_of`` is not a date.
    """
    if not isinstance(crm, CrmData):
        raise TypeError(f"crm must be a CrmData (funnel_analysis.load_org), got {type(crm).__name__}")
    return crm.as_of(resolve_as_of(crm, as_of=as_of))


def resolve_as_of(crm, *, as_of=None) -> pd.Timestamp:
    """``as_of`` as a day, or the latest date in the data when it is empty (the reports' default).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date, Timestamp, str or None
        The day; ``None`` or ``""`` for :func:`latest_date`.

    Returns
    -------
    Timestamp
        A naive day (midnight).

    Raises
    ------
    ValueError
        When ``as_of`` is not a date (the message names ``as_of``).
    """
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        return latest_date(crm)
    try:
        day = _cutoff(as_of)[1]
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"as_of={as_of!r} is not a date (YYYY-MM-DD, or empty for the latest date in the data)"
        ) from exc
    if pd.isna(day):
        raise ValueError("as_of is missing: give a date (YYYY-MM-DD), or empty for the latest date in the data")
    return day
