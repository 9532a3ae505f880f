"""The engine interface on DuckDB: registration, bound values, materialisation, the org in place."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from funnel_analysis.crm.model import CacheError
from funnel_analysis.engine import EngineError, EngineOrg, connect


@pytest.fixture
def eng():
    with connect("duckdb", memory_limit="512MB", threads=1) as e:
        yield e


def test_register_frame_arrow_and_bound_values(eng):
    eng.register("a", pd.DataFrame({"x": [1, 2, 3], "s": ["p", "q", "r"]}))
    eng.register("b", pa.table({"x": [10, 20]}))
    got = eng.sql("SELECT sum(x) AS s FROM a WHERE s <> $skip", {"skip": "q"}).to_pydict()
    assert got == {"s": [4]}  # 1 + 3
    # a value is bound, never pasted: a quote in it is data
    assert eng.sql("SELECT count(*) AS n FROM a WHERE s = $v", {"v": "p' OR '1'='1"}).to_pydict() == {"n": [0]}
    assert eng.df("SELECT max(x) AS m FROM b")["m"].tolist() == [20]


def test_materialise_and_exists(eng):
    assert not eng.exists("t")
    eng.materialise("t", "SELECT range AS i FROM range($n)", {"n": 4})
    assert eng.exists("t")
    assert eng.sql("SELECT sum(i) AS s FROM t").to_pydict() == {"s": [6]}


def test_register_parquet_file_and_folder(eng, tmp_path):
    pd.DataFrame({"x": [1, 2]}).to_parquet(tmp_path / "one.parquet")
    pd.DataFrame({"x": [5]}).to_parquet(tmp_path / "two.parquet")
    eng.register("f", tmp_path / "one.parquet")
    eng.register("d", tmp_path)
    assert eng.sql("SELECT sum(x) AS s FROM f").to_pydict()["s"] == [3]
    assert eng.sql("SELECT sum(x) AS s FROM d").to_pydict()["s"] == [8]


def test_refuses_bad_names_paths_and_engines(eng, tmp_path):
    with pytest.raises(EngineError, match="not a plain identifier"):
        eng.register('x"; DROP TABLE y; --', pd.DataFrame({"x": [1]}))
    with pytest.raises(EngineError, match="no such file"):
        eng.register("m", tmp_path / "missing.parquet")
    with pytest.raises(EngineError, match="unknown engine 'polars'"):
        connect("polars")


def test_memory_limit_is_set():
    with connect("duckdb", memory_limit="300MB", threads=1) as e:
        got = e.sql("SELECT current_setting('memory_limit') AS m").to_pydict()["m"][0]
    assert got.replace(" ", "").upper().startswith(("286", "300"))  # DuckDB reports MiB


def _tiny_crm():
    from funnel_analysis.crm.model import CrmData, DataQualityReport

    stages = pd.DataFrame(
        {"stage_name": ["Open", "Won"], "sort_order": [1.0, 2.0], "is_closed": [False, True], "is_won": [False, True]}
    )
    opps = pd.DataFrame({"opportunity_id": ["o1", "o2"], "amount": [100.0, 250.5]})
    return CrmData(
        tables={"opportunities": opps, "stages": stages},
        quarantine=pd.DataFrame({"value": []}),
        flags=pd.DataFrame({"value": []}),
        quarantined_rows={},
        report=DataQualityReport(tables={}, ignored_files=[], stages_origin="file", currency={"corporate": "EUR"}),
        meta={"fingerprint": "f"},
    )


def test_org_from_crm_and_from_parquet(eng, tmp_path):
    crm = _tiny_crm()
    org = EngineOrg.from_crm(crm, engine=eng, prefix="m_")
    assert org.relations == {"opportunities": "m_opportunities", "stages": "m_stages"}
    assert org.meta["currency"] == "EUR"
    q = f"SELECT sum(amount) AS s FROM {org.relation('opportunities')}"
    assert eng.sql(q).to_pydict() == {"s": [350.5]}
    crm.to_parquet(tmp_path / "c")
    org2 = EngineOrg.from_parquet(tmp_path / "c", eng, prefix="p_")
    assert eng.sql(f"SELECT sum(amount) AS s FROM {org2.relation('opportunities')}").to_pydict() == {"s": [350.5]}
    assert org2.stages["stage_name"].tolist() == ["Open", "Won"]
    assert not org2.has("leads")
    with pytest.raises(EngineError, match="no table 'leads'"):
        org2.relation("leads")


def test_from_parquet_refuses_a_damaged_cache(eng, tmp_path):
    _tiny_crm().to_parquet(tmp_path / "c")
    with open(tmp_path / "c" / "opportunities.parquet", "ab") as fh:
        fh.write(b"x")
    with pytest.raises(CacheError, match="opportunities.parquet: differs"):
        EngineOrg.from_parquet(tmp_path / "c", eng)
    with pytest.raises(EngineError, match="crm.json: missing"):
        EngineOrg.from_parquet(tmp_path, eng)
