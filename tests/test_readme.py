"""The README's Python examples run, in order, on a small generated org.

Each ```python block of README.md is executed in one shared namespace (later blocks use the ``crm``,
``cut`` and ``day`` of earlier ones), with ``data/sample`` pointing at the small org and the working
directory a temporary folder, so what the README shows a user is what works. The one block that
needs live Salesforce credentials and the Airflow DAG example are left out by name (the live reader,
``funnel_analysis.crm.salesforce``, is tested against recorded responses in ``crm/test_salesforce.py``; the DAG only calls ``funnel report due``,
which ``reporting/test_schedule.py`` and ``reporting/test_faults.py`` test).
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
NEEDS_LIVE_SALESFORCE = "read_salesforce("
NEEDS_AIRFLOW = "from airflow"  # the scheduler example: Airflow is not a dependency of this project
LEFT_OUT = (NEEDS_LIVE_SALESFORCE, NEEDS_AIRFLOW)


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def test_readme_has_examples():
    assert len(_blocks()) >= 4


@pytest.mark.slow
def test_readme_python_examples_run(small_sample, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sample").symlink_to(small_sample, target_is_directory=True)
    (tmp_path / "data" / "sample_truth").symlink_to(Path(f"{small_sample}_truth"), target_is_directory=True)
    namespace: dict = {}
    ran = 0
    for i, block in enumerate(_blocks()):
        if any(marker in block for marker in LEFT_OUT):
            continue
        try:
            exec(compile(block, f"README.md python block {i + 1}", "exec"), namespace)
        except Exception as exc:  # name the block, keep the traceback
            raise AssertionError(f"README python block {i + 1} failed: {exc!r}\n{block}") from exc
        ran += 1
    assert ran == len(_blocks()) - sum(any(m in b for m in LEFT_OUT) for b in _blocks())
