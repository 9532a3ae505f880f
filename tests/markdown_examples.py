"""Run the ```python blocks of a Markdown page (README.md, docs/guide/*.md) as a user would.

The blocks of one page run in order in one namespace (later blocks use the ``crm`` and ``day`` of
earlier ones), in a temporary working directory where ``data/sample`` is the small generated org, so
what a page shows a user is what works. A block that contains one of the ``left_out`` markers is not
run (it needs live credentials or a program that is not a dependency); a marker that leaves out no
block is an error, so the list cannot go stale.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEEDS_LIVE_SALESFORCE = "read_salesforce("
NEEDS_AIRFLOW = "from airflow"  # the scheduler example: Airflow is not a dependency of this project


def python_blocks(page: Path) -> list[str]:
    """The page's ```python blocks, in order."""
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)


def imported_modules(blocks: list[str]) -> set[str]:
    """The modules of the package the blocks import (``from funnel_analysis.funnel import report``: the module)."""
    found = set()
    for block in blocks:
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "funnel_analysis"}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "funnel_analysis":
                for alias in node.names:
                    name = f"{node.module}.{alias.name}"
                    found.add(name if importlib.util.find_spec(name) is not None else node.module)
    return found


def use_small_sample(small_sample: Path, tmp_path: Path, monkeypatch) -> None:
    """Work in ``tmp_path``, with ``data/sample`` and ``data/sample_truth`` the small generated org."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sample").symlink_to(small_sample, target_is_directory=True)
    (tmp_path / "data" / "sample_truth").symlink_to(Path(f"{small_sample}_truth"), target_is_directory=True)


def run_page(page: Path, left_out: tuple[str, ...] = ()) -> list[int]:
    """Run the page's blocks in one namespace; the numbers (from 1) of the blocks that ran."""
    namespace: dict = {}
    ran = []
    for i, block in enumerate(python_blocks(page), start=1):
        if any(marker in block for marker in left_out):
            continue
        try:
            exec(compile(block, f"{page.name} python block {i}", "exec"), namespace)
        except Exception as exc:  # name the block, keep the traceback
            raise AssertionError(f"{page.relative_to(ROOT)} python block {i} failed: {exc!r}\n{block}") from exc
        ran.append(i)
    return ran
