"""The user guide's Python examples (``docs/guide/*.md``) run on a small generated org.

Each page's ```python blocks run in order in one namespace of their own, the way the README's do
(``tests/markdown_examples.py``). The block that needs live Salesforce credentials and the Airflow
DAG example are left out by a marker (the live reader, ``funnel_analysis.crm.salesforce``, is tested
against recorded responses in ``crm/test_salesforce.py``; the DAG only calls ``funnel report due``,
which ``reporting/test_schedule.py`` and ``reporting/test_faults.py`` test).
"""

from __future__ import annotations

import matplotlib
import pytest

from tests.markdown_examples import (
    NEEDS_AIRFLOW,
    NEEDS_LIVE_SALESFORCE,
    ROOT,
    python_blocks,
    run_page,
    use_small_sample,
)

matplotlib.use("Agg")

GUIDE = ROOT / "docs" / "guide"
PAGES = sorted(GUIDE.glob("*.md"))
LEFT_OUT = (NEEDS_LIVE_SALESFORCE, NEEDS_AIRFLOW)


def test_guide_has_examples():
    with_examples = [page.stem for page in PAGES if python_blocks(page)]
    assert {"loading", "funnel", "velocity", "sources", "forecasting", "scoring", "dedupe"} <= set(with_examples)


def test_every_left_out_marker_is_used():
    """A marker that leaves out no block would hide nothing: the list is kept to what is needed."""
    blocks = [block for page in PAGES for block in python_blocks(page)]
    unused = [marker for marker in LEFT_OUT if not any(marker in block for block in blocks)]
    assert not unused, f"markers that leave out no block: {unused}"


@pytest.mark.slow
@pytest.mark.parametrize("page", [page for page in PAGES if python_blocks(page)], ids=lambda page: page.stem)
def test_guide_python_examples_run(page, small_sample, tmp_path, monkeypatch):
    use_small_sample(small_sample, tmp_path, monkeypatch)
    ran = run_page(page, left_out=LEFT_OUT)
    assert ran, f"{page.name}: every block was left out"
