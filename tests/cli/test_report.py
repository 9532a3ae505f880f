"""``funnel report``: how to run the reports on another CRM's export is in ``--help`` and the README (bug 11)."""

from __future__ import annotations

import re

from click.testing import CliRunner

from funnel_analysis.cli import main
from tests.markdown_examples import ROOT, python_blocks


def _help(*args) -> str:
    res = CliRunner().invoke(main, [*args, "--help"], terminal_width=200)
    assert res.exit_code == 0, res.output
    return " ".join(res.output.split())  # click wraps lines: compare on single spaces


def test_run_help_says_how_to_pass_a_mapping():
    text = _help("report", "run")
    assert "funnel report run --data-dir data/raw/mycrm -p mapping=mycrm.yaml" in text  # an example
    assert "-p mapping=FILE" in text and "maven_crm" in text  # in --data-dir's help, with a built-in name
    assert "-p mapping=FILE" in _help("report")
    assert "mapping" in _help("report", "due")


def test_readme_shows_a_mapping_for_the_reports_and_in_python():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    consoles = "\n".join(re.findall(r"```console\n(.*?)```", readme, re.S))
    assert re.search(r"funnel report run --data-dir \S+ -p mapping=\S+", consoles)
    # a Python example the README test runs: a mapping file given to load_org
    assert any("load_org(" in b and "mapping=" in b for b in python_blocks(ROOT / "README.md"))
