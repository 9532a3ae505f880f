"""The Spark engine: the reductions' DuckDB SQL transpiled by sqlglot and run by Spark SQL.

Local mode by default (``local[2]``); a cluster by its URL (``master="spark://host:7077"``). The
session runs in UTC (a day is a UTC day, as on DuckDB) with a small ``spark.driver.maxResultSize``
by default (``64m``): a reduction that collected whole tables to the driver fails instead of
running slowly. Tables are read by Spark from Parquet in place; an Arrow table or pandas frame is
first written to a Parquet file in the engine's folder and read from there, never shipped through
the driver row by row. Values are bound (``spark.sql(query, args=...)``); the relations are
temporary views of the session.

Several engines may share one session (Spark keeps one per process): each drops only its own
views on :meth:`SparkEngine.close`, and stops the session only when it started it and was asked
to (``stop_session=True``).

Examples
--------
>>> from funnel_analysis.engine import connect
>>> eng = connect("spark", master="local[1]")  # doctest: +SKIP
>>> eng.sql("SELECT 1 + $x AS y", {"x": 1}).to_pydict()  # doctest: +SKIP
{'y': [2]}
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sqlglot

from .base import Engine, EngineError

__all__ = ["SparkEngine", "to_spark_sql"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _ident(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise EngineError(f"relation name {name!r} is not a plain identifier")
    return name


def to_spark_sql(query: str) -> str:
    """A query of the reductions (DuckDB SQL, ``$name`` placeholders) in Spark SQL (``:name``).

    Parameters
    ----------
    query : str
        One DuckDB SQL statement.

    Returns
    -------
    str
        The statement as sqlglot writes it for Spark.

    Raises
    ------
    EngineError
        When sqlglot cannot read it.

    Examples
    --------
    >>> to_spark_sql("SELECT DATE_DIFF('day', a, $day) AS d FROM t")
    'SELECT DATEDIFF(DAY, a, :day) AS d FROM t'
    """
    try:
        out = sqlglot.transpile(query, read="duckdb", write="spark")
    except sqlglot.errors.ParseError as exc:
        raise EngineError(f"spark: the query does not parse as DuckDB SQL ({str(exc).splitlines()[0]})") from None
    if len(out) != 1:
        raise EngineError(f"spark: one statement expected, got {len(out)}")
    return out[0]


class SparkEngine(Engine):
    """One Spark session (local mode unless ``master`` names a cluster).

    Parameters
    ----------
    master : str, optional
        Spark's master URL; default ``local[threads]`` (``local[2]`` without ``threads``).
    memory_limit : str, optional
        The driver's memory (``spark.driver.memory``, ``"2g"``), used when the session starts.
    temp_directory : str or Path, optional
        Spark's scratch folder (``spark.local.dir``) and where frames are written as Parquet.
    threads : int, optional
        Cores in local mode.
    max_result_size : str, default "64m"
        ``spark.driver.maxResultSize``: the largest result brought back to the driver.
    session : pyspark.sql.SparkSession, optional
        An existing session to use (its settings are kept; the session time zone is set to UTC).
    stop_session : bool, default False
        Stop the session on :meth:`close` when this engine started it.

    Examples
    --------
    >>> SparkEngine(master="local[1]").sql("SELECT 1 AS one").column("one").to_pylist()  # doctest: +SKIP
    [1]
    """

    name = "spark"
    dialect = "spark"

    def __init__(
        self,
        *,
        master=None,
        memory_limit=None,
        temp_directory=None,
        threads=None,
        max_result_size="64m",
        session=None,
        stop_session=False,
    ):
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise EngineError(f"engine 'spark' needs pyspark: pip install 'funnel-analysis[spark]' ({exc})") from None
        self._folder = Path(tempfile.mkdtemp(prefix="funnel-spark-", dir=temp_directory))
        self._started = False
        if session is None:
            if SparkSession.getActiveSession() is None:
                self._started = True
            builder = (
                SparkSession.builder.master(master or f"local[{int(threads) if threads else 2}]")
                .appName("funnel-analysis")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.driver.maxResultSize", str(max_result_size))
                .config("spark.sql.shuffle.partitions", "4")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            )
            if temp_directory is not None:  # the session's scratch outlives this engine: not its own folder
                builder = builder.config("spark.local.dir", str(temp_directory))
            if memory_limit is not None:
                builder = builder.config("spark.driver.memory", str(memory_limit))
            try:
                session = builder.getOrCreate()
            except Exception as exc:  # no Java, a JVM that does not start: one line, not Py4J's trace
                shutil.rmtree(self._folder, ignore_errors=True)
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise EngineError(f"engine 'spark' could not start a session ({first})") from None
        session.conf.set("spark.sql.session.timeZone", "UTC")
        self.spark = session
        self._stop = bool(stop_session)
        self._views: set[str] = set()
        self._cached: dict[str, object] = {}

    # ---- relations ---------------------------------------------------------------------------
    def register(self, name: str, data, *, row_no: bool = False) -> None:
        """Make ``data`` the relation ``name`` (see :meth:`Engine.register`).

        Parameters
        ----------
        name : str
            A plain identifier.
        data : pyarrow.Table, pandas.DataFrame or Path
            A table or frame (written to a Parquet file first), a Parquet file or folder, or a
            CSV file with a header, read in place by Spark.
        row_no : bool
            Add ``row_no``, the row's 0-based position in its file (Parquet's row index; a
            folder of several files numbers each file from 0, as DuckDB does).

        Returns
        -------
        None
            The relation is a temporary view of this engine's session.

        Raises
        ------
        EngineError
            For a name that is not an identifier, or a path that does not exist.
        """
        view = _ident(name)
        if isinstance(data, (str, Path)):
            path = Path(data)
            if not path.exists():
                raise EngineError(f"{path}: no such file or folder to register as {name}")
            if path.suffix.lower() == ".csv":
                if row_no:  # numbered in file order: read whole by Arrow, then as a Parquet file
                    return self.register(name, pacsv.read_csv(path), row_no=True)
                df = self.spark.read.csv(str(path), header=True, inferSchema=True)
            else:
                df = self.spark.read.parquet(str(path))
                if row_no:
                    df = df.select("*", df["_metadata.row_index"].cast("bigint").alias("row_no"))
        else:
            table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
            if row_no:
                table = table.append_column("row_no", pa.array(range(table.num_rows), type=pa.int64()))
            target = self._folder / f"{view}.parquet"
            pq.write_table(_spark_types(table), target)
            df = self.spark.read.parquet(str(target))
        df.createOrReplaceTempView(view)
        self._views.add(view)

    def _frame(self, query: str, params: dict | None):
        try:
            return self.spark.sql(to_spark_sql(query), args=dict(params) if params else None)
        except EngineError:
            raise
        except Exception as exc:  # Spark's analysis errors: their first line names the problem
            raise EngineError(f"spark: {str(exc).strip().splitlines()[0]}") from None

    def sql(self, query: str, params: dict | None = None) -> pa.Table:
        return self._frame(query, params).toArrow()

    def df(self, query: str, params: dict | None = None) -> pd.DataFrame:
        return self.sql(query, params).to_pandas()

    def materialise(self, name: str, query: str, params: dict | None = None) -> None:
        view = _ident(name)
        frame = self._frame(query, params).localCheckpoint(eager=True)  # computed once, lineage cut
        old = self._cached.pop(view, None)
        frame.createOrReplaceTempView(view)
        if old is not None:
            old.unpersist()
        self._cached[view] = frame
        self._views.add(view)

    def exists(self, name: str) -> bool:
        return bool(self.spark.catalog.tableExists(name))

    def close(self) -> None:
        for view in sorted(self._views):
            self.spark.catalog.dropTempView(view)
        for frame in self._cached.values():
            frame.unpersist()
        self._views.clear()
        self._cached.clear()
        if self._stop and self._started:
            self.spark.stop()
        shutil.rmtree(self._folder, ignore_errors=True)


def _spark_types(table: pa.Table) -> pa.Table:
    """Arrow types Spark reads from Parquet: nanosecond timestamps as microseconds, large strings plain."""
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_timestamp(t) and t.unit == "ns":
            t = pa.timestamp("us", tz=t.tz)
        elif pa.types.is_large_string(t) or pa.types.is_string_view(t):
            t = pa.string()
        elif pa.types.is_dictionary(t):
            t = t.value_type
        fields.append(pa.field(f.name, t, f.nullable))
    schema = pa.schema(fields)
    return table if schema == table.schema else table.cast(schema, safe=False)


# the methods mean what the interface says: they carry its documentation
for _method in ("sql", "df", "materialise", "exists", "close"):
    getattr(SparkEngine, _method).__doc__ = getattr(Engine, _method).__doc__
del _method
