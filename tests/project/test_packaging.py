"""pyproject.toml lists every package (the notebooks' mapped folder keeps packages.find out): a new
subpackage that is not listed would be missing from the wheel, so this compares the list with the tree."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_subpackage_is_in_the_wheel_list():
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "funnel_analysis").rglob("__init__.py")}
    on_disk = {n for n in on_disk if "__pycache__" not in n}
    assert set(setuptools["packages"]) == on_disk | {"funnel_analysis.notebooks"}, (
        "pyproject.toml [tool.setuptools] packages must list every folder of funnel_analysis with an __init__.py"
    )
    assert setuptools["package-dir"] == {"funnel_analysis.notebooks": "notebooks"}
    assert (REPO / "notebooks" / "__init__.py").is_file()  # an editable install maps a regular package only


def test_the_packaged_config_runs_the_packaged_notebooks():
    from funnel_analysis.project import packaged_notebooks
    from funnel_analysis.reporting.config import load_report_config

    specs = load_report_config()
    assert {s.notebook.parent for s in specs} == {packaged_notebooks()}
    assert packaged_notebooks() == (REPO / "notebooks").resolve()  # the clone's editable install maps the folder
    assert all(s.notebook.is_file() for s in specs)
