"""The Spark engine (#19): bound values, Parquet read in place with its row numbers, materialised
relations, the DuckDB dialect transpiled, and one clear line for what it refuses."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from funnel_analysis.engine import EngineError
from funnel_analysis.engine.spark import to_spark_sql
from tests.engine.conftest import require_spark


@pytest.fixture(scope="module")
def spark():
    require_spark()
    from funnel_analysis.engine import connect

    eng = connect("spark", master="local[2]", max_result_size="64m")
    yield eng
    eng.close()


def test_transpiles_the_reductions_dialect():
    assert to_spark_sql("SELECT DATE_DIFF('day', a, $day) AS d FROM t") == "SELECT DATEDIFF(DAY, a, :day) AS d FROM t"
    with pytest.raises(EngineError, match="one statement expected, got 2"):
        to_spark_sql("SELECT 1; SELECT 2")


def test_bound_values_and_utc_days(spark):
    frame = pd.DataFrame({"a": [1, 2, 3], "t": pd.to_datetime(["2024-01-01T23:30Z"] * 3)})
    spark.register("b_t", frame, row_no=True)
    got = spark.df("SELECT a, row_no, CAST(t AS DATE) AS d FROM b_t WHERE a > $m ORDER BY a", {"m": 1})
    assert got["a"].tolist() == [2, 3] and got["row_no"].tolist() == [1, 2]
    assert [str(d) for d in got["d"]] == ["2024-01-01", "2024-01-01"]  # a UTC day, not the machine's
    # a value is bound, never read as SQL
    assert spark.df("SELECT count(*) AS n FROM b_t WHERE CAST(a AS STRING) = $v", {"v": "1 OR 1=1"})["n"][0] == 0


def test_parquet_folder_in_place_with_row_numbers(spark, tmp_path):
    folder = tmp_path / "h"
    folder.mkdir()
    pq.write_table(pa.table({"k": ["x", "y", "z"]}), folder / "part.parquet")
    spark.register("b_h", folder, row_no=True)
    assert spark.df("SELECT k, row_no FROM b_h ORDER BY row_no")["k"].tolist() == ["x", "y", "z"]


def test_materialise_and_exists(spark):
    spark.register("b_m", pd.DataFrame({"a": [1, 2]}))
    spark.materialise("b_m2", "SELECT a * $f AS b FROM b_m", {"f": 10})
    assert spark.exists("b_m2") and not spark.exists("b_nothing")
    assert sorted(spark.df("SELECT b FROM b_m2")["b"]) == [10, 20]
    spark.materialise("b_m2", "SELECT a FROM b_m WHERE a = 2")  # replaced
    assert spark.df("SELECT * FROM b_m2")["a"].tolist() == [2]


def test_refused(spark, tmp_path):
    with pytest.raises(EngineError, match="is not a plain identifier"):
        spark.register("x; DROP", pd.DataFrame({"a": [1]}))
    with pytest.raises(EngineError, match="no such file or folder"):
        spark.register("b_missing", tmp_path / "nope.parquet")
    with pytest.raises(EngineError, match=r"^spark: .*b_no_such_table"):
        spark.sql("SELECT * FROM b_no_such_table")
