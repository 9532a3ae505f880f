"""An org's canonical tables built in DuckDB from the export folder, with no table in pandas (#19).

:meth:`EngineOrg.from_export <funnel_analysis.engine.org.EngineOrg.from_export>` calls
:func:`export_relations`. The export is read in place and checked as ``funnel check --engine
duckdb`` checks it (:mod:`funnel_analysis.engine.validate`: every column typed by the schema,
deleted and merged rows set aside, references re-pointed, the error rules); the rows it keeps are
the org's tables, as :func:`funnel_analysis.crm.load.load_org` would hold them:

- every column of the file typed as the loader types it (IDs widened, dates as naive
  timestamps, date-times as UTC instants, numbers, booleans), picklists folded to one spelling
  (stage names against the stages table), e-mails lowered, the schema's other columns added
  empty, in the loader's column order;
- money in the corporate currency by :mod:`funnel_analysis.crm.currency`'s rules: the dated
  rate of the row's close date for opportunities and their history (an ``ASOF`` join on the
  ranges), else the static rate; ``<column>_original``, ``conversion_rate`` and the upper-case
  ``currency_iso_code`` beside them; a single-currency org unchanged;
- the leads and the history tables carry ``row_no``, the row's place among the kept rows in file order
  (the order of :meth:`EngineOrg.from_crm`'s frames);
- the stages table (from ``OpportunityStage`` or the default, stages seen only on deals
  appended with inferred flags) kept in pandas and registered.

Only the tables asked for and those their rules read (their references' and deletion
parents' tables, the owners' users and queues, the currency tables) are read: the org's
activities, campaign members or field history are not, unless asked for. With ``check_all``
every table is read and checked: the whole ``funnel check`` and the org in one pass.

Not built: the columns the loader derives in Python (``<phone>_e164`` with the phone-number
library, ``company_key`` and ``company_legal_form``): :data:`NOT_IN_SQL` lists them and
``meta["not_in_sql"]`` says which a table lacks. A mapping file, a database URL or a table
that is not in the schema is refused with an :class:`~funnel_analysis.engine.base.EngineError`.

Examples
--------
>>> from funnel_analysis.engine import EngineOrg, connect
>>> org = EngineOrg.from_export("/work/orgs/scale50", connect("duckdb"))  # doctest: +SKIP
>>> org.engine.sql(f"SELECT count(*) AS n FROM {org.relation('leads')}")  # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..crm.deleted import CASCADES
from ..crm.read import find_describe_files, find_export_files, read_describe
from ..crm.schema import DATED_RATE_TABLES, MONEY_COLUMNS, TABLES
from .base import EngineError
from .validate import _POLYMORPHIC, _Check, _finish, _lit, _q

__all__ = ["NOT_IN_SQL", "ORG_TABLES", "ExportRelations", "export_relations", "tables_needed"]

#: The tables built by default: what the as-of cut, the KPIs, the stage durations and the waterfall read.
ORG_TABLES = ("leads", "opportunities", "opportunity_history")
#: Columns the pandas loader derives in Python, not built in SQL (per table).
NOT_IN_SQL = {
    "leads": ("company_key", "company_legal_form", "<phone>_e164"),
    "accounts": ("company_key", "company_legal_form"),
    "contacts": ("<phone>_e164",),
}
#: Tables every check reads beside the ones asked for (owners, queues, currencies, stages).
_ALWAYS = ("users", "groups", "currencies", "dated_rates", "stages")
#: Tables whose relations carry ``row_no`` (as in :data:`~funnel_analysis.engine.org.ROW_NO_TABLES`).
_ROW_NO = ("leads", "opportunity_history", "opportunity_field_history", "lead_history")
#: DuckDB types of the schema's kinds, as the loader's dtypes reach an engine through Arrow.
_SQL_TYPES = {
    "id": "VARCHAR",
    "str": "VARCHAR",
    "picklist": "VARCHAR",
    "email": "VARCHAR",
    "phone": "VARCHAR",
    "bool": "BOOLEAN",
    "datetime": "TIMESTAMPTZ",
    "date": "TIMESTAMP",
    "float": "DOUBLE",
    "int": "DOUBLE",
}


@dataclass(frozen=True)
class ExportRelations:
    """An export's tables built in an engine.

    Attributes
    ----------
    relations : dict of str to str
        Canonical table name -> relation name (``stages`` included).
    stages : DataFrame
        The stages table, as the loader resolves it.
    meta : dict
        ``source``, ``stages_origin``, ``currency`` (the corporate one), ``columns_present``
        (per table, the source's columns), ``not_in_sql`` (per table, the derived columns not
        built), ``seconds`` (wall time).
    check : ExportCheck
        The check of the tables built, or of every table (``check_all``)
        (:class:`~funnel_analysis.engine.validate.ExportCheck`).
    """

    relations: dict
    stages: pd.DataFrame = field(repr=False)
    meta: dict = field(default_factory=dict)
    check: object = field(default=None, repr=False)


def tables_needed(tables) -> list[str]:
    """The tables whose rows decide which rows of ``tables`` the loader keeps, ``tables`` included.

    Parameters
    ----------
    tables : iterable of str
        Canonical table names.

    Returns
    -------
    list of str
        ``tables``, the tables their references, deletion cascades and merges point to (followed
        on), and the owners', currencies' and stages' tables; in the schema's order.

    Raises
    ------
    EngineError
        For a name that is not a table of the schema.

    Examples
    --------
    >>> tables_needed(["opportunity_history"])
    ['opportunities', 'opportunity_history', 'stages', 'accounts', 'campaigns', 'users', 'groups', 'currencies', 'dated_rates']
    """
    todo = [*tables, *_ALWAYS]
    for t in todo:
        if t not in TABLES:
            raise EngineError(f"from_export: {t!r} is not a table of the schema")
    seen: set[str] = set()
    while todo:
        t = todo.pop()
        if t in seen:
            continue
        seen.add(t)
        todo += [r.table for r in TABLES[t].references]
        todo += [p for _, parents in CASCADES.get(t, ()) for p in parents]
        todo += [p for parents in _POLYMORPHIC.get(t, {}).values() for p in parents]
    return [t for t in TABLES if t in seen]


def _column_expr(col: str, kind: str) -> str:
    """A typed column of the check's kept rows (``k``) as the loader's dtype holds it."""
    ref = f"k.{_q(col)}"
    if kind == "datetime":  # the check's naive UTC timestamp -> the UTC instant
        return f"timezone('UTC', {ref})"
    if kind == "date":
        return f"CAST({ref} AS TIMESTAMP)"
    return ref


def _money_sql(table: str, money: dict, book, chk: _Check, kept: str) -> tuple[dict, str]:
    """(column -> expression, FROM clause) of a table's money (column -> its value) in the corporate currency."""
    corp = _lit(book.corporate)
    has_code = "currency_iso_code" in chk.present[table]
    code = f"coalesce(upper(nullif(trim(k.currency_iso_code), '')), {corp})" if has_code else corp
    static = pd.DataFrame({"iso_code": list(book.static), "rate": [float(r) for r in book.static.values()]})
    chk.eng.con.register("__static_df", static)
    chk.run("CREATE OR REPLACE TABLE __static AS SELECT * FROM __static_df")
    chk.eng.con.unregister("__static_df")
    source = f"(SELECT *, {code} AS __code FROM {_q(kept)} k) k LEFT JOIN __static s ON s.iso_code = k.__code"
    rate = "s.rate"
    if table in DATED_RATE_TABLES and len(book.dated) and "close_date" in chk.present[table]:
        # the last range starting on or before the close day (the last of equal starts, as
        # searchsorted picks it), if the day is before its end
        d = book.dated.reset_index(drop=True)
        dated = pd.DataFrame(
            {
                "iso_code": d["iso_code"].astype(str),
                "rate": d["conversion_rate"].astype(float),
                "start_date": pd.to_datetime(d["start_date"]).dt.tz_localize(None).dt.normalize(),
                "next_start_date": pd.to_datetime(d["next_start_date"]).dt.tz_localize(None).dt.normalize(),
                "ord": range(len(d)),
            }
        )
        dated = dated.sort_values(["iso_code", "start_date", "ord"], kind="stable")
        dated = dated.drop_duplicates(["iso_code", "start_date"], keep="last")
        chk.eng.con.register("__dated_df", dated.drop(columns="ord").reset_index(drop=True))
        chk.run("CREATE OR REPLACE TABLE __dated AS SELECT * FROM __dated_df")
        chk.eng.con.unregister("__dated_df")
        source = (
            f"(SELECT *, {code} AS __code, CAST(date_trunc('day', close_date) AS TIMESTAMP) AS __day "
            f"FROM {_q(kept)} k) k LEFT JOIN __static s ON s.iso_code = k.__code "
            "ASOF LEFT JOIN __dated r ON r.iso_code = k.__code AND k.__day >= r.start_date"
        )
        dated_rate = "CASE WHEN r.next_start_date IS NULL OR k.__day < r.next_start_date THEN r.rate END"
        rate = f"coalesce({dated_rate}, s.rate)"
    rate = f"CASE WHEN k.__code = {corp} THEN 1.0 ELSE {rate} END"
    exprs = {c: f"CAST({v} AS DOUBLE) / ({rate})" for c, v in money.items()}
    exprs |= {f"{c}_original": f"CAST({v} AS DOUBLE)" for c, v in money.items()}
    exprs["currency_iso_code"] = "k.__code"
    exprs["conversion_rate"] = rate
    return exprs, source


def _build_table(chk: _Check, table: str, kept: str, name: str, book) -> list[str]:
    """The org's relation ``name`` of ``table`` from its kept rows; returns the columns not built."""
    spec = TABLES[table]
    kinds = spec.kinds()
    present = chk.present[table]
    custom = chk.custom[table]
    cols: dict[str, str] = {}
    for col in present:
        cols[col] = _column_expr(col, kinds.get(col) or custom.get(col, "str"))
    for col in spec.columns:
        if col.name not in cols:
            cols[col.name] = f"CAST(NULL AS {_SQL_TYPES[col.kind]})"
    source = f"{_q(kept)} k"
    money = [c for c in dict.fromkeys([*MONEY_COLUMNS.get(table, ()), *chk.money.get(table, ())]) if c in cols]
    if book.multi and money:
        exprs, source = _money_sql(table, {c: cols[c] for c in money}, book, chk, kept)
        cols |= exprs  # converted in place; originals, code and rate as the loader adds them
    select = [f"{expr} AS {_q(col)}" for col, expr in cols.items()]
    if table in _ROW_NO:
        select.append("row_number() OVER (ORDER BY k.__part, k.__row) - 1 AS row_no")
    chk.run(f"CREATE OR REPLACE TABLE {_q(name)} AS SELECT {', '.join(select)} FROM {source}")
    # the check's wide typed table is no longer needed once the org's is built
    chk.run(f"DROP VIEW {_q(kept)}")
    chk.run(f"DROP TABLE {_q(kept + '_quarantined')}")
    chk.run(f"DROP VIEW {chk.rel(table)}")
    chk.run(f"DROP TABLE {chk.base(table)}")
    missing = list(NOT_IN_SQL.get(table, ()))
    if "<phone>_e164" in missing:
        phones = [c for c in present if kinds.get(c) == "phone"]
        missing = [m for m in missing if m != "<phone>_e164"] + [f"{c}_e164" for c in phones]
    return missing


def export_relations(
    folder, engine, *, tables=None, prefix: str = "", check_all: bool = False, sample_per_rule: int = 3
) -> ExportRelations:
    """Build an export folder's canonical tables as relations of a DuckDB engine.

    Parameters
    ----------
    folder : path-like
        A Salesforce export folder (CSV or Parquet files named by object).
    engine : DuckDBEngine
        Where to build them (its ``memory_limit`` and spill folder bound the memory).
    tables : sequence of str, optional
        The canonical tables to build (``stages`` always is); default: those of :data:`ORG_TABLES`
        the folder holds.
    prefix : str
        Prefix of the relation names.
    check_all : bool, default False
        Also read and check every other table of the export: ``check`` is then the whole
        ``funnel check`` (the figures of :func:`~funnel_analysis.engine.validate.check_export`),
        in the same pass that builds the org.
    sample_per_rule : int, default 3
        Quarantined rows kept per table and rule in the check's sample.

    Returns
    -------
    ExportRelations
        The relations, the stages, what was built and the check of the tables built.

    Raises
    ------
    EngineError
        For an engine that is not DuckDB, a database URL, a table not in the schema, or a table
        asked for by name that the folder does not hold.
    DataLoadError
        For a folder the loader refuses (as :func:`~funnel_analysis.engine.validate.check_export`).

    Examples
    --------
    >>> from funnel_analysis.engine import connect
    >>> got = export_relations("data/sample", connect("duckdb"))  # doctest: +SKIP
    >>> got.relations["opportunities"]  # doctest: +SKIP
    'opportunities'
    """
    from ..crm.read import DataLoadError
    from ..crm.warehouse import is_database_url

    t0 = time.perf_counter()
    if getattr(engine, "name", None) != "duckdb":
        raise EngineError("from_export reads the export with DuckDB's read_csv: it needs a DuckDB engine")
    if is_database_url(str(folder)):
        raise EngineError(f"{folder}: a database URL is read by load_org, not from_export")
    folder = Path(folder)
    if not folder.is_dir():
        raise DataLoadError(folder, "is not a folder", expected="an export folder")
    found, ignored = find_export_files(folder)
    if tables is None:
        tables = [t for t in ORG_TABLES if t in found]
    wanted = list(dict.fromkeys(t for t in tables if t != "stages"))
    needed = tables_needed(wanted)
    absent = [t for t in wanted if t not in found]
    if absent:
        raise EngineError(f"from_export: {folder} holds no file of table {absent[0]!r}")
    if not check_all:
        found = {t: parts for t, parts in found.items() if t in needed}
    stems = {p.stem for parts in found.values() for p, _ in parts}
    describes = {s: read_describe(p) for s, p in find_describe_files(folder).items() if s in stems}
    chk = _Check(engine, folder, sample_per_rule, keep_all=[*wanted, "stages"])
    con = engine.con
    (order,) = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
    con.execute("SET preserve_insertion_order = true").fetchall()  # row numbers are file order
    try:
        for table, parts in found.items():
            chk.load(table, parts, describes)
            chk.clean(table)
        kept = {t: f"__kept_{t}" for t in wanted}
        # the rules of the tables asked for; the others are read for their keys and deletions only
        rules_for = None if check_all else wanted
        check, stages, book = _finish(chk, found, [p.name for p in ignored], t0, kept=kept, rules_for=rules_for)
        relations, not_built = {}, {}
        for table in wanted:
            relations[table] = f"{prefix}{table}"
            missing = _build_table(chk, table, kept[table], relations[table], book)
            if missing:
                not_built[table] = missing
        for t in chk.present:
            chk.run(f"DROP VIEW IF EXISTS {chk.rel(t)}")
        work = [chk.base(t) for t in chk.present] + [_q("k_" + t) for t in (*chk.present, "groups_queues")]
        for rel in [*work, "__dups", "__stages", "__merges", "__static", "__dated"]:
            chk.run(f"DROP TABLE IF EXISTS {rel}")  # the check's working tables are not the org's
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if order else 'false'}").fetchall()
    stages = stages.copy()
    inferred = stages["inferred"] if "inferred" in stages else pd.Series(False, index=stages.index)
    stages["inferred"] = inferred.fillna(False).astype(bool)
    kinds = {**chk.custom.get("stages", {}), **TABLES["stages"].kinds()}
    for col in stages.columns:
        if kinds.get(col) == "datetime":  # the check's naive UTC timestamps, as UTC instants
            stages[col] = pd.to_datetime(stages[col]).dt.tz_localize("UTC")
    relations["stages"] = f"{prefix}stages"
    engine.register(relations["stages"], stages.reset_index(drop=True))
    meta = {
        "source": str(folder),
        "stages_origin": check.meta["stages_origin"],
        "currency": book.corporate,
        "columns_present": {t: list(chk.present[t]) for t in wanted},
        "not_in_sql": not_built,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return ExportRelations(relations=relations, stages=stages, meta=meta, check=check)
