"""The engine interface: one SQL dialect (DuckDB's), run in place or transpiled with sqlglot.

Reductions are written in DuckDB's SQL and run as written on DuckDB (the default engine);
another engine (Spark) transpiles them with ``sqlglot.transpile(sql, read="duckdb",
write=engine.dialect)``. Values are always bound (``params``), never pasted into the text;
identifiers come from the schema.

"pandas" is not an :class:`Engine`: it names the existing pandas code paths, the reference.

Examples
--------
>>> from funnel_analysis.engine import connect
>>> eng = connect("duckdb", memory_limit="1GB", threads=1)
>>> eng.sql("SELECT 1 + $x AS y", {"x": 1}).to_pydict()
{'y': [2]}
>>> eng.close()
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod

import pandas as pd
import pyarrow as pa

__all__ = ["ENGINES", "Engine", "EngineError", "connect", "quote_identifier"]

#: Engine names :func:`connect` accepts ("pandas" is the reference code path, not an engine).
ENGINES = ("duckdb", "spark")
#: Engine name -> (module of this package, class).
_CLASSES = {"duckdb": (".duckdb", "DuckDBEngine"), "spark": (".spark", "SparkEngine")}


class EngineError(ValueError):
    """An engine asked for that is unknown, not installed, or a relation it does not have."""


class Engine(ABC):
    """An SQL engine holding an org's canonical tables as named relations.

    Attributes
    ----------
    name : str
        ``"duckdb"`` or ``"spark"``.
    dialect : str
        The sqlglot dialect the engine speaks (queries are written in ``"duckdb"``).
    """

    name: str = ""
    dialect: str = "duckdb"

    @abstractmethod
    def register(self, name: str, data, *, row_no: bool = False) -> None:
        """Make ``data`` the relation ``name``.

        Parameters
        ----------
        name : str
            A relation name (an identifier of ours, never user text).
        data : pyarrow.Table, pandas.DataFrame or Path
            A table, or a Parquet file or folder, or a CSV file, read in place.
        row_no : bool
            Add a column ``row_no`` (BIGINT, 0-based): the row's position in its file or frame,
            the deterministic tie-breaker of history rows (``ORDER BY created_date, row_no``).
        """

    @abstractmethod
    def sql(self, query: str, params: dict | None = None) -> pa.Table:
        """Run ``query`` (DuckDB SQL, ``$name`` placeholders) with ``params`` bound.

        Parameters
        ----------
        query : str
            DuckDB SQL; identifiers are ours (from the schema), values are placeholders.
        params : dict, optional
            Values bound to the ``$name`` placeholders.

        Returns
        -------
        pyarrow.Table
            The result.
        """

    @abstractmethod
    def materialise(self, name: str, query: str, params: dict | None = None) -> None:
        """Store the result of ``query`` as the relation ``name`` (a table; Spark: cached).

        Parameters
        ----------
        name : str
            A plain identifier.
        query : str
            DuckDB SQL.
        params : dict, optional
            Values bound to its placeholders.
        """

    @abstractmethod
    def exists(self, name: str) -> bool:
        """Whether the relation ``name`` exists.

        Parameters
        ----------
        name : str
            A relation name.

        Returns
        -------
        bool
            True when a table or view of that name exists.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the engine (its connection or session)."""

    def df(self, query: str, params: dict | None = None) -> pd.DataFrame:
        """:meth:`sql` as a pandas frame (dates as pandas timestamps, nullable ints kept).

        Parameters
        ----------
        query : str
            DuckDB SQL.
        params : dict, optional
            Values bound to ``$name`` placeholders.

        Returns
        -------
        pandas.DataFrame
            The result.
        """
        return self.sql(query, params).to_pandas()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<{type(self).__name__} {self.name}>"


def connect(engine: str = "duckdb", **options) -> Engine:
    """An engine by name.

    Parameters
    ----------
    engine : {"duckdb", "spark"}
        Which engine.
    **options
        ``memory_limit`` (``"4GB"``), ``temp_directory``, ``threads``; for Spark also ``master``.

    Returns
    -------
    Engine
        A new engine (close it, or use it as a context manager).

    Raises
    ------
    EngineError
        For an unknown engine name, or one whose package is not installed.

    Examples
    --------
    >>> with connect("duckdb", threads=1) as eng:
    ...     eng.sql("SELECT 42 AS x").num_rows
    1
    """
    if engine not in _CLASSES:
        raise EngineError(f"unknown engine {engine!r}: one of {', '.join(ENGINES)} (or 'pandas', the reference)")
    module, cls = _CLASSES[engine]
    # the engine modules import this one: they are found by name (a plugin table), not imported here
    try:
        found = getattr(importlib.import_module(module, __package__), cls)
    except ImportError as exc:
        raise EngineError(f"engine {engine!r} is not available here ({exc})") from None
    return found(**options)


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (a quote inside doubled), for DuckDB and Spark SQL alike.

    Only for column names already checked against the org's columns: it keeps an odd name whole,
    it is not a licence to write user text into SQL (values are always bound).

    Parameters
    ----------
    name : str
        A column or relation name.

    Returns
    -------
    str
        The quoted identifier.

    Examples
    --------
    >>> print(quote_identifier("Lead Source"), quote_identifier('a"b'))
    "Lead Source" "a""b"
    """
    return '"' + name.replace('"', '""') + '"'
