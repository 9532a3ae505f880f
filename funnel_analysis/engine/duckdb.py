"""The DuckDB engine (the default): queries run as written, memory bounded, spilling to disk.

Examples
--------
>>> from funnel_analysis.engine.duckdb import DuckDBEngine
>>> eng = DuckDBEngine(memory_limit="512MB", threads=1)
>>> import pandas as pd
>>> eng.register("t", pd.DataFrame({"x": [1, 2, 3]}))
>>> eng.sql("SELECT count(*) AS n FROM t WHERE x > $m", {"m": 1}).to_pydict()
{'n': [2]}
>>> eng.close()
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa

from .base import Engine, EngineError

__all__ = ["DuckDBEngine"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _ident(name: str) -> str:
    """A relation name checked to be a plain identifier, quoted."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise EngineError(f"relation name {name!r} is not a plain identifier")
    return f'"{name}"'


class DuckDBEngine(Engine):
    """One DuckDB connection (in memory unless ``database`` is given).

    Parameters
    ----------
    memory_limit : str, optional
        DuckDB's ``memory_limit`` (``"4GB"``); default ``"4GB"``, always set explicitly.
    temp_directory : str or Path, optional
        Where DuckDB spills; default DuckDB's own.
    threads : int, optional
        Worker threads; default DuckDB's (the cores).
    database : str, optional
        A database file; default in memory.
    connection : duckdb.DuckDBPyConnection, optional
        An existing connection to share (splink's ``DuckDBAPI(connection=)`` can share it too).

    Examples
    --------
    >>> DuckDBEngine(threads=1).sql("SELECT 1 AS one").column("one").to_pylist()
    [1]
    """

    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, *, memory_limit="4GB", temp_directory=None, threads=None, database=None, connection=None):
        import duckdb

        self.con = connection if connection is not None else duckdb.connect(database or ":memory:")
        # settings are values of ours, bound where DuckDB allows it
        self._run("SET memory_limit = $v", {"v": str(memory_limit)})
        self._run("SET preserve_insertion_order = false")
        self._run("SET TimeZone = 'UTC'")  # timestamps are UTC instants; a day is a UTC day
        if temp_directory is not None:
            self._run("SET temp_directory = $v", {"v": str(temp_directory)})
        if threads is not None:
            self._run("SET threads = $v", {"v": int(threads)})
        self._frames: dict[str, object] = {}  # registered objects stay referenced while the engine lives

    def _run(self, statement: str, params: dict | None = None) -> None:
        """Execute a statement and finish its result (DuckDB 2 wants results consumed)."""
        self.con.execute(statement, params or {}).fetchall()

    def register(self, name: str, data, *, row_no: bool = False) -> None:
        """Make ``data`` the relation ``name`` (see :meth:`Engine.register`).

        Parameters
        ----------
        name : str
            A plain identifier.
        data : pyarrow.Table, pandas.DataFrame or Path
            A table, a Parquet file or folder (read in place, as a view), or a CSV file.
        row_no : bool
            Add ``row_no``, the row's 0-based position in its file or frame (Parquet: DuckDB's
            ``file_row_number``; a folder of several files numbers each file from 0).

        Raises
        ------
        EngineError
            For a name that is not an identifier, or a path that does not exist.
        """
        quoted = _ident(name)
        if isinstance(data, (str, Path)):
            path = Path(data)
            if not path.exists():
                raise EngineError(f"{path}: no such file or folder to register as {name}")
            source = str(path / "*.parquet") if path.is_dir() else str(path)
            # a view cannot take a prepared parameter: the path is quoted as an SQL string literal
            literal = "'" + source.replace("'", "''") + "'"
            if path.suffix.lower() == ".csv":
                select = f"SELECT * FROM read_csv({literal})"
                if row_no:
                    select = f"SELECT *, row_number() OVER () - 1 AS row_no FROM read_csv({literal})"
            elif row_no:
                select = (
                    "SELECT * EXCLUDE (file_row_number), file_row_number AS row_no "
                    f"FROM read_parquet({literal}, file_row_number = true)"
                )
            else:
                select = f"SELECT * FROM read_parquet({literal})"
            self._run(f"CREATE OR REPLACE VIEW {quoted} AS {select}")
            return
        if row_no:
            table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
            data = table.append_column("row_no", pa.array(range(table.num_rows), type=pa.int64()))
        self._frames[name] = data
        self.con.register(name, data)

    def sql(self, query: str, params: dict | None = None) -> pa.Table:
        return self.con.sql(query, params=params or None).to_arrow_table()

    def df(self, query: str, params: dict | None = None) -> pd.DataFrame:
        return self.con.sql(query, params=params or None).df()

    def materialise(self, name: str, query: str, params: dict | None = None) -> None:
        self._run(f"CREATE OR REPLACE TABLE {_ident(name)} AS {query}", params)

    def exists(self, name: str) -> bool:
        got = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = $n", {"n": name}
        ).fetchall()[0]
        return bool(got and got[0])

    def close(self) -> None:
        self._frames.clear()
        self.con.close()


# the methods mean what the interface says: they carry its documentation
for _method in ("sql", "df", "materialise", "exists", "close"):
    getattr(DuckDBEngine, _method).__doc__ = getattr(Engine, _method).__doc__
del _method
