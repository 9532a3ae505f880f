"""The engines the conformance suite runs on: ``engines`` makes an org for each.

``pandas`` is the reference (the org itself, its pandas code paths); ``duckdb`` registers the
org's tables in a fresh DuckDB engine; ``spark`` (:data:`ALL_ENGINES`) in a Spark engine on one shared local session
(``local[2]``, a 64m ``spark.driver.maxResultSize``), skipped with one line where pyspark or Java is
missing (a failure with ``FUNNEL_REQUIRE_SPARK=1``, as in CI).
"""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from funnel_analysis.engine import EngineOrg, connect
from tests.conftest import optional_suite

#: The engines of the conformance suite, the reference first.
ENGINE_NAMES = ["pandas", "duckdb"]
#: Every engine, Spark included: the reductions whose Spark runs are verified (durations) use it;
#: ENGINE_NAMES takes "spark" once the conformance suite has been run on it.
ALL_ENGINES = [*ENGINE_NAMES, "spark"]
SPARK_HOW = "pip install -e '.[spark]' and a Java 17+ runtime (.ci/install-java)"


def require_spark() -> None:
    """Skip with one line (fail under ``FUNNEL_REQUIRE_SPARK=1``) unless pyspark and Java are here."""
    if importlib.util.find_spec("pyspark") is None:
        optional_suite("spark", missing="pyspark not installed", how=SPARK_HOW)
    if shutil.which("java") is None:
        optional_suite("spark", missing="no java on the PATH", how=SPARK_HOW)
    optional_suite("spark")


class _Maker:
    """``make(crm)``: the org on this engine (a CrmData for pandas, an EngineOrg otherwise)."""

    def __init__(self, name: str):
        self.name = name
        self._engines = []

    def __call__(self, crm):
        if self.name == "pandas":
            return crm
        if self.name == "spark":
            require_spark()
            eng = connect("spark", master="local[2]", max_result_size="64m")
        else:
            eng = connect(self.name, memory_limit="1GB", threads=1)
        self._engines.append(eng)
        return EngineOrg.from_crm(crm, engine=eng)

    def close(self):
        for eng in self._engines:
            eng.close()


@pytest.fixture(params=ENGINE_NAMES)
def engines(request):
    """A maker of orgs on one engine of :data:`ENGINE_NAMES` (``engines.name`` says which)."""
    maker = _Maker(request.param)
    yield maker
    maker.close()


@pytest.fixture(scope="session")
def sample_crm():
    """The scale-1 sample org, loaded once by the pandas loader (the reference)."""
    from pathlib import Path

    from funnel_analysis.crm.load import load_org

    root = Path(__file__).resolve().parents[2]
    return load_org(root / "data" / "sample")
