"""The engines the conformance suite runs on: ``engines`` makes an org for each.

``pandas`` is the reference (the org itself, its pandas code paths); ``duckdb`` registers the
org's tables in a fresh DuckDB engine. Helper B adds ``spark`` to :data:`ENGINE_NAMES` (skipped
with one line where pyspark or Java is missing).
"""

from __future__ import annotations

import pytest

from funnel_analysis.engine import EngineOrg, connect

#: The engines of the conformance suite, the reference first.
ENGINE_NAMES = ["pandas", "duckdb"]


class _Maker:
    """``make(crm)``: the org on this engine (a CrmData for pandas, an EngineOrg otherwise)."""

    def __init__(self, name: str):
        self.name = name
        self._engines = []

    def __call__(self, crm):
        if self.name == "pandas":
            return crm
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
