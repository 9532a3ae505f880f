"""De-duplication through splink's Spark backend gives DuckDB's clusters (issue #19), and ``funnel dedup --engine``.

The same records are de-duplicated on DuckDB (the default) and on one shared local Spark session
(``local[2]``, a 64m ``spark.driver.maxResultSize``, as in ``tests/engine/conftest.py``); the clusters
are compared as partitions of the record IDs, the candidate pairs against the pandas listing of
:func:`funnel_analysis.dedupe.candidate_pairs` (no splink). The generated org is the small sample
(scale 0.1, seed 3, the one ``tests/dedupe`` shares): on the scale-0.25 sample Spark takes minutes per
object on a local session. Skipped with one line where pyspark or Java is missing, a failure under
``FUNNEL_REQUIRE_SPARK=1`` (CI's Spark step).
"""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from funnel_analysis.cli import main
from funnel_analysis.dedupe import candidate_pairs, find_duplicates
from tests.engine.conftest import require_spark


@pytest.fixture(scope="module")
def spark_engine():
    """The product's Spark engine on a local session (shared with any other Spark test of the process)."""
    require_spark()
    from funnel_analysis.engine import connect

    eng = connect("spark", master="local[2]", max_result_size="64m")
    yield eng
    eng.close()


def partition(found) -> set[frozenset]:
    """The clusters of two or more as a set of sets of record IDs (cluster numbering left out)."""
    return {frozenset(ids) for _, ids in found.clusters.groupby("cluster_id")["unique_id"]}


def pandas_candidate_count(found) -> int:
    """The candidate pairs of ``found``'s rules on its features, listed by pandas merges (not by splink)."""
    return len(candidate_pairs(found.features, rules=list(found.rules)))


@pytest.mark.slow
@pytest.mark.parametrize("table", ["leads", "accounts"])
def test_the_sample_gives_the_same_clusters_on_spark(small_org, spark_engine, table):
    records, accounts = small_org.tables[table], small_org.tables.get("accounts")
    on_duckdb = find_duplicates(records, accounts, table=table)
    on_spark = find_duplicates(records, accounts, table=table, engine=spark_engine)
    # the same partition of the record IDs, from the same candidate and scored pairs
    assert partition(on_spark) == partition(on_duckdb)
    assert len(partition(on_duckdb)) >= 10
    assert on_spark.candidate_pairs == on_duckdb.candidate_pairs == pandas_candidate_count(on_duckdb)
    key = ["id_l", "id_r"]
    both = on_duckdb.pairs.merge(on_spark.pairs, on=key, how="outer", suffixes=("_duckdb", "_spark"), indicator=True)
    assert (both["_merge"] == "both").all() and len(both) == len(on_duckdb.pairs) > 0
    levels = [c for c in on_duckdb.pairs.columns if c.startswith("level_")]
    for c in levels:  # every comparison puts every pair at the same level on both backends
        assert (both[f"{c}_duckdb"] == both[f"{c}_spark"]).all(), c
    pd.testing.assert_series_equal(
        both["match_probability_spark"], both["match_probability_duckdb"], check_names=False, rtol=1e-9, atol=1e-12
    )
    assert on_spark.threshold == on_duckdb.threshold
    assert on_spark.summary().records_merged == on_duckdb.summary().records_merged


#: Ten leads, worked out by hand: three copies of Maria Rossi and two of John Smith (every field the
#: same), five strangers who share no name, initial, e-mail, phone or company with anyone.
TINY_LEADS = pd.DataFrame(
    {
        "lead_id": ["A0", "A1", "A2", "B0", "B1", "S0", "S1", "S2", "S3", "S4"],
        "first_name": ["Maria", "Maria", "Maria", "John", "John", "Wei", "Olga", "Kwame", "Ana", "Yuki"],
        "last_name": ["Rossi", "Rossi", "Rossi", "Smith", "Smith", "Zhang", "Petrova", "Mensah", "Lima", "Sato"],
        "email": ["maria.rossi@acme.io"] * 3
        + ["jsmith@globex.com"] * 2
        + ["wz@initech.cn", "olga@umbrella.ru", "kwame@wayne.gh", "ana@stark.br", "yuki@tyrell.jp"],
        "phone": ["+39 06 1234567"] * 3
        + ["+1 212 555 0101"] * 2
        + ["+86 10 8888 7777", "+7 495 123 4567", "+233 30 222 3333", "+55 11 3333 4444", "+81 3 5555 6666"],
        "company": ["Acme"] * 3 + ["Globex"] * 2 + ["Initech", "Umbrella", "Wayne", "Stark", "Tyrell"],
    }
)


@pytest.mark.parametrize("engine", ["duckdb", "pandas", "spark"])
def test_a_tiny_frame_gives_the_clusters_worked_out_by_hand(engine, request):
    if engine == "spark":
        engine = request.getfixturevalue("spark_engine")
    found = find_duplicates(TINY_LEADS, table="leads", threshold=0.5, engine=engine)
    assert partition(found) == {frozenset({"A0", "A1", "A2"}), frozenset({"B0", "B1"})}
    # candidate pairs: the three pairs of the Rossis and the one of the Smiths, nothing else
    assert found.candidate_pairs == 3 + 1
    assert set(zip(found.pairs["id_l"], found.pairs["id_r"])) >= {
        ("A0", "A1"),
        ("A0", "A2"),
        ("A1", "A2"),
        ("B0", "B1"),
    }
    assert found.summary().records_merged == 2 + 1


def test_an_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown engine 'polars'"):
        find_duplicates(TINY_LEADS, table="leads", threshold=0.5, engine="polars")


# ---- funnel dedup --engine ---------------------------------------------------------------------------
def test_dedup_takes_an_engine():
    text = CliRunner().invoke(main, ["dedup", "--help"]).output
    assert "--engine [duckdb|spark|pandas]" in text, text


def test_dedup_refuses_an_unknown_engine(tiny_export):
    result = CliRunner().invoke(main, ["dedup", str(tiny_export), "--object", "accounts", "--engine", "polars"])
    assert result.exit_code == 2 and "'polars' is not one of" in result.output
    assert "Traceback" not in result.output


def test_dedup_on_spark_without_java_is_one_line(tiny_export, tmp_path):
    # a PATH with no java on it: refused before anything is loaded, one line, exit 2
    args = ["dedup", str(tiny_export), "--object", "accounts", "--engine", "spark", "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(main, args, env={"PATH": str(tmp_path)})
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: --engine spark:") and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
