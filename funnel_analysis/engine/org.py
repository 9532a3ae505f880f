"""``EngineOrg``: an org whose canonical tables live in an :class:`~funnel_analysis.engine.base.Engine`.

The relations have exactly the columns and meaning of :attr:`CrmData.tables
<funnel_analysis.crm.model.CrmData.tables>` (cleaned, money converted, 18-character IDs,
deleted rows out). The small ``stages`` table is also kept in pandas.

Examples
--------
>>> from funnel_analysis.engine import connect, EngineOrg
>>> org = EngineOrg.from_parquet("/work/orgs/scale50_parquet", connect("duckdb"))  # doctest: +SKIP
>>> org.engine.sql(f"SELECT count(*) AS n FROM {org.relation('leads')}")  # doctest: +SKIP
>>> org = EngineOrg.from_export("/work/orgs/scale50", connect("duckdb"))  # the CSV export, no pandas  # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .base import Engine, EngineError

__all__ = ["HISTORY_TABLES", "ROW_NO_TABLES", "EngineOrg"]

#: Tables whose relations carry ``row_no`` (the row's place in its file): ties of a record's
#: changes at one instant are broken by it, as the pandas cut breaks them by file order; the
#: leads' numbers give the order in which a status first appears (the lead funnel's unlisted
#: statuses follow in that order, as pandas' ``unique`` gives them).
ROW_NO_TABLES = ("leads", "opportunity_history", "opportunity_field_history", "lead_history")
#: The history tables among them (kept for callers that name them so).
HISTORY_TABLES = ("opportunity_history", "opportunity_field_history", "lead_history")


def _arrow(df: pd.DataFrame):
    import pyarrow as pa

    return pa.Table.from_pandas(df, preserve_index=False)


@dataclass
class EngineOrg:
    """An org held in an engine.

    Attributes
    ----------
    engine : Engine
        Where the relations live.
    relations : dict of str to str
        Canonical table name -> relation name in the engine (``"opportunities"`` -> ``"opportunities"``).
        The relations of :data:`ROW_NO_TABLES` have one more column, ``row_no``.
    stages : DataFrame
        The stages table (``stage_name``, ``sort_order``, ``is_closed``, ``is_won``,
        ``default_probability``, ``forecast_category``).
    meta : dict
        ``currency``, ``columns_present``, ``fingerprint``, and what the org's ``meta`` held.
    """

    engine: Engine
    relations: dict[str, str]
    stages: pd.DataFrame = field(repr=False)
    meta: dict = field(default_factory=dict, repr=False)

    def relation(self, table: str) -> str:
        """The quoted relation name of a canonical table, for a query's FROM.

        Parameters
        ----------
        table : str
            A canonical table name (``"opportunities"``).

        Returns
        -------
        str
            The double-quoted relation name (names are ours, from the schema).

        Raises
        ------
        EngineError
            When the org has no such table.

        Examples
        --------
        >>> EngineOrg(None, {"leads": "leads"}, pd.DataFrame()).relation("leads")
        '"leads"'
        """
        if table not in self.relations:
            raise EngineError(f"the org in the engine has no table {table!r}")
        return f'"{self.relations[table]}"'

    def has(self, table: str) -> bool:
        """Whether the org has the table (as :meth:`CrmData.has`).

        Parameters
        ----------
        table : str
            A canonical table name.

        Returns
        -------
        bool
            True when the table is registered.

        Examples
        --------
        >>> EngineOrg(None, {"leads": "leads"}, pd.DataFrame()).has("users")
        False
        """
        return table in self.relations

    def require(self, table: str, columns, fn: str) -> None:
        """Refuse, with one line naming ``fn``, an org without ``table`` or without one of ``columns``.

        Parameters
        ----------
        table : str
            A canonical table name.
        columns : list of str
            Columns the caller needs (``by`` columns, say).
        fn : str
            The caller's name, for the message.

        Raises
        ------
        EngineError
            ``"<fn>: the org has no <table>"`` or ``"<fn>: the <table> have no column 'x'"``.

        Examples
        --------
        >>> EngineOrg(None, {}, pd.DataFrame()).require("opportunities", [], "snapshot_sums")
        Traceback (most recent call last):
        ...
        funnel_analysis.engine.base.EngineError: snapshot_sums: the org has no opportunities
        """
        if not self.has(table):
            raise EngineError(f"{fn}: the org has no {table}")
        missing = [c for c in columns if c not in self.columns(table)]
        if missing:
            raise EngineError(f"{fn}: the {table} have no column {', '.join(map(repr, missing))}")

    def columns(self, table: str) -> list[str]:
        """The columns of a table's relation in the engine.

        Parameters
        ----------
        table : str
            A canonical table name.

        Returns
        -------
        list of str
            Its columns, in order (the tables of :data:`ROW_NO_TABLES` end with ``row_no``).

        Raises
        ------
        EngineError
            When the org has no such table.

        Examples
        --------
        >>> from funnel_analysis.engine import connect
        >>> eng = connect("duckdb", threads=1)
        >>> eng.register("leads", pd.DataFrame({"lead_id": ["a"], "status": ["Open"]}))
        >>> EngineOrg(eng, {"leads": "leads"}, pd.DataFrame()).columns("leads")
        ['lead_id', 'status']
        """
        cache = self.__dict__.setdefault("_columns", {})
        if table not in cache:
            cache[table] = list(self.engine.sql(f"SELECT * FROM {self.relation(table)} LIMIT 0").schema.names)
        return list(cache[table])

    def columns_present(self, table: str) -> list[str]:
        """The columns the source had for ``table`` (``meta["columns_present"]``).

        Parameters
        ----------
        table : str
            A canonical table name.

        Returns
        -------
        list of str
            Its columns in the source (empty when unknown).

        Examples
        --------
        >>> EngineOrg(None, {}, pd.DataFrame(), {"columns_present": {"leads": ["status"]}}).columns_present("leads")
        ['status']
        """
        return list(self.meta.get("columns_present", {}).get(table, []))

    @classmethod
    def from_crm(cls, crm, *, engine: Engine, prefix: str = "") -> EngineOrg:
        """Register a :class:`CrmData`'s tables (as Arrow) in ``engine``.

        Parameters
        ----------
        crm : CrmData
            A loaded org (not a cut: cuts are made in the engine).
        engine : Engine
            Where to register them.
        prefix : str
            Prefix of the relation names (two orgs in one engine).

        Returns
        -------
        EngineOrg
            The org in the engine.

        Raises
        ------
        EngineError
            When ``crm`` is an as-of cut (its opportunities are already rebuilt).

        Examples
        --------
        >>> from funnel_analysis.engine import connect
        >>> org = EngineOrg.from_crm(crm, engine=connect("duckdb"))  # doctest: +SKIP
        """
        if getattr(crm, "as_of_date", None) is not None:
            raise EngineError("EngineOrg.from_crm takes an org as loaded, not an as-of cut")
        relations = {}
        for name, df in crm.tables.items():
            rel = f"{prefix}{name}"
            engine.register(rel, _arrow(df), row_no=name in ROW_NO_TABLES)
            relations[name] = rel
        meta = dict(crm.meta)
        meta["currency"] = crm.currency
        return cls(engine=engine, relations=relations, stages=crm.tables["stages"].copy(), meta=meta)

    @classmethod
    def from_parquet(cls, folder, engine: Engine, *, prefix: str = "", check: bool = True) -> EngineOrg:
        """Read a :meth:`CrmData.to_parquet` cache in place (nothing loaded into pandas but stages).

        Parameters
        ----------
        folder : path-like
            A folder written by ``CrmData.to_parquet``.
        engine : Engine
            Where to register its tables.
        prefix : str
            Prefix of the relation names.
        check : bool
            Verify the files against the checksums recorded in ``crm.json`` first (default).

        Returns
        -------
        EngineOrg
            The org in the engine.

        Raises
        ------
        EngineError
            When the folder has no ``crm.json`` or no stages table.
        CacheError
            When ``check`` and a file differs from what was written.

        Examples
        --------
        >>> from funnel_analysis.engine import connect
        >>> org = EngineOrg.from_parquet("/work/orgs/scale50_parquet", connect("duckdb"))  # doctest: +SKIP
        """
        from ..crm.model import CrmData

        folder = Path(folder)
        doc_path = folder / "crm.json"
        if not doc_path.exists():
            raise EngineError(f"{doc_path}: missing (not a CrmData.to_parquet cache)")
        if not (folder / "stages.parquet").exists():
            raise EngineError(f"{folder / 'stages.parquet'}: missing (the cache has no stages table)")
        if check:
            CrmData.check_parquet(folder)
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
        relations = {}
        for p in sorted(folder.glob("*.parquet")):
            if p.name.startswith("_"):
                continue
            rel = f"{prefix}{p.stem}"
            engine.register(rel, p, row_no=p.stem in ROW_NO_TABLES)
            relations[p.stem] = rel
        meta = dict(doc.get("meta") or {})
        currency = (doc.get("report") or {}).get("currency", {}).get("corporate") or meta.get("currency") or "USD"
        meta["currency"] = str(currency)
        stages = pd.read_parquet(folder / "stages.parquet")
        return cls(engine=engine, relations=relations, stages=stages, meta=meta)

    @classmethod
    def from_export(
        cls,
        folder,
        engine: Engine,
        *,
        tables=None,
        prefix: str = "",
        check_all: bool = False,
        sample_per_rule: int = 3,
    ) -> EngineOrg:
        """Build the org's tables in DuckDB from the export folder itself (no table in pandas but stages).

        The export is read in place and checked as ``funnel check --engine duckdb`` checks it; the
        rows it keeps, typed, cleaned and with money in the corporate currency, are the org's
        tables, as :func:`~funnel_analysis.crm.load.load_org` holds them
        (:mod:`funnel_analysis.engine.export` has the rules). A Parquet cache (``crm.json``) is
        read in place by :meth:`from_parquet`.

        Parameters
        ----------
        folder : path-like
            A Salesforce export folder (CSV or Parquet files named by object), or a Parquet cache.
        engine : Engine
            A DuckDB engine (its ``memory_limit`` and ``temp_directory`` bound the memory).
        tables : sequence of str, optional
            The canonical tables to build (default: those of
            :data:`~funnel_analysis.engine.export.ORG_TABLES`, leads, opportunities and their history,
            that the folder holds); the stages always are.
        prefix : str
            Prefix of the relation names.
        check_all : bool, default False
            Also check every other table of the export, in the same pass: ``meta["check"]`` is then
            what ``funnel check --engine duckdb`` reports (else the check of the tables built).
        sample_per_rule : int, default 3
            Quarantined rows kept per table and rule in ``meta["check"]``.

        Returns
        -------
        EngineOrg
            The org in the engine; ``meta["check"]`` is the check of the tables built
            (:class:`~funnel_analysis.engine.validate.ExportCheck`), ``meta["not_in_sql"]`` the
            derived columns not built (phones in E.164, company keys).

        Raises
        ------
        EngineError
            For an engine that is not DuckDB, a database URL, a table that is not in the schema or,
            asked for by name, that the folder does not hold.
        DataLoadError
            For a folder the loader refuses (no header, another delimiter, a missing required column).

        Examples
        --------
        >>> from funnel_analysis.engine import connect
        >>> org = EngineOrg.from_export("data/sample", connect("duckdb", memory_limit="4GB"))  # doctest: +SKIP
        >>> org.meta["check"].report.tables["opportunities"]["rows_kept"]  # doctest: +SKIP
        """
        from .export import export_relations

        if (Path(folder) / "crm.json").exists():
            return cls.from_parquet(folder, engine, prefix=prefix)
        got = export_relations(
            folder, engine, tables=tables, prefix=prefix, check_all=check_all, sample_per_rule=sample_per_rule
        )
        meta = dict(got.meta, check=got.check)
        return cls(engine=engine, relations=got.relations, stages=got.stages, meta=meta)
