"""The README's Python examples run, in order, on a small generated org, and stay few.

Each ```python block of README.md is executed in one shared namespace (later blocks use the ``crm``
and ``day`` of earlier ones), with ``data/sample`` pointing at the small org and the working directory
a temporary folder, so what the README shows a user is what works (``tests/markdown_examples.py``;
the user guide's pages are run the same way by ``test_docs_examples.py``). The README is the landing
page: one short example per report, importing from at most 8 namespaces of the package (issue #14).
"""

from __future__ import annotations

import matplotlib
import pytest

from tests.markdown_examples import ROOT, imported_modules, python_blocks, run_page, use_small_sample

matplotlib.use("Agg")

README = ROOT / "README.md"
MAX_NAMESPACES = 8
REPORTS = ("funnel", "velocity", "sources", "forecast", "scoring", "dedupe")


def test_readme_imports_few_namespaces():
    modules = imported_modules(python_blocks(README))
    assert len(modules) <= MAX_NAMESPACES, f"the README imports from {len(modules)} namespaces: {sorted(modules)}"


def test_readme_shows_every_report():
    """One example per report: each report's entry points (its ``report`` module) are imported."""
    modules = imported_modules(python_blocks(README))
    missing = [name for name in REPORTS if f"funnel_analysis.{name}.report" not in modules]
    assert not missing, f"the README has no example of the report(s) {missing}"


@pytest.mark.slow
def test_readme_python_examples_run(small_sample, tmp_path, monkeypatch):
    use_small_sample(small_sample, tmp_path, monkeypatch)
    ran = run_page(README)
    # every block ran: the README has none that needs credentials or a program this project lacks
    assert ran == list(range(1, len(python_blocks(README)) + 1))
