"""``for_each`` in the report config: one run per value of a field, read from the loaded org, each its own
report folder and manifest, one section per value on the front page, every run on the one cached load.

Expected values come from plain pandas on the export's CSV files (tests/export_csv.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from funnel_analysis.reporting import ReportConfigError, load_report_config, run_reports
from funnel_analysis.reporting.config import for_each_name
from funnel_analysis.reporting.notebook import read_records
from tests.export_csv import fold, kept


def _notebook(path: Path, *cells: str) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {path.stem}")])
    nb.cells.append(
        nbformat.v4.new_code_cell(
            'data_dir: str = ""\nas_of: str = ""\nwhere: str = ""', metadata={"tags": ["parameters"]}
        )
    )
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def _config(folder: Path, data_dir: Path, entry: str) -> Path:
    (folder / "r.yaml").write_text(
        f"notebooks: .\nreports:\n  - {{name: team, notebook: team.ipynb, parameters: {{data_dir: {str(data_dir)!r}}}, "
        f"{entry}}}\n"
    )
    return folder / "r.yaml"


def _owner_regions(org: Path) -> dict[str, set]:
    """Region -> the 15-character IDs of the users in it, from User.csv."""
    users = kept(org, "User.csv")
    users = users[users["Region__c"].notna() & (users["Region__c"].str.strip() != "")]
    return {r: set(g["Id"].str[:15]) for r, g in users.groupby("Region__c")}


@pytest.mark.slow
def test_one_run_per_value_each_on_its_own_subset_and_the_same_load(small_sample, tmp_path):
    _notebook(
        tmp_path / "team.ipynb",
        "from funnel_analysis.reporting import open_report, record\n"
        "crm = open_report(data_dir, as_of=as_of, where=where)\n"
        "record('counts', {'where': where, 'leads': len(crm.leads), 'deals': len(crm.opportunities)})",
    )
    config = _config(tmp_path, small_sample, "for_each: owner.region")
    out = tmp_path / "out"
    result = run_reports(config, out_dir=out, progress=False, jobs=2)
    assert result.failed == []
    # the values: every region of a user who owns a lead, deal, account or contact (plain pandas)
    regions = _owner_regions(small_sample)
    owners = set()
    for name in ("Lead.csv", "Opportunity.csv", "Account.csv", "Contact.csv"):
        owners |= set(kept(small_sample, name)["OwnerId"].dropna().str[:15])
    expected = sorted(r for r, ids in regions.items() if ids & owners)
    assert len(expected) >= 2
    assert sorted(r.name for r in result.runs) == sorted(f"team--{r}" for r in expected)
    leads, opps = kept(small_sample, "Lead.csv"), kept(small_sample, "Opportunity.csv")
    caches = set()
    for run in result.runs:
        m = json.loads((run.run_dir / "manifest.json").read_text(encoding="utf-8"))
        region = m["for_each"]["value"]
        assert run.run_dir.parent == out / f"team--{region}"  # its own folder and manifest
        assert m["for_each"] == {
            "report": "team",
            "field": "owner.region",
            "value": region,
            "where": f"owner.region == '{region}'",
        }
        assert m["parameters"]["where"] == f"owner.region == '{region}'"
        caches.add(m["data_cache"])
        counts = read_records(run.ipynb)["counts"]
        ids = regions[region]
        assert counts["leads"] == leads["OwnerId"].str[:15].isin(ids).sum()
        assert counts["deals"] == opps["OwnerId"].str[:15].isin(ids).sum()
    assert len(caches) == 1 and None not in caches  # every value read the one cached load
    page = (out / "index.html").read_text(encoding="utf-8")
    for region in expected:  # one section per value on the front page
        assert f'id="team--{region}"' in page and f"Team: owner.region = {region}" in page


@pytest.mark.slow
def test_a_field_the_org_lacks_is_one_failed_run_and_nothing_runs(small_sample, tmp_path):
    _notebook(tmp_path / "team.ipynb", "open('RAN', 'w').write('x')")
    config = _config(tmp_path, small_sample, "for_each: owner.regon")
    result = run_reports(config, out_dir=tmp_path / "out", progress=False)
    assert [r.name for r in result.runs] == ["team"] and result.failed == ["team"]
    error = result.runs[0].error
    assert error.startswith("for_each: ") and "regon" in error and "\n" not in error
    assert not (tmp_path / "RAN").exists()


def test_for_each_is_a_field_and_needs_a_where_parameter(small_sample, tmp_path):
    _notebook(tmp_path / "team.ipynb", "print(1)")
    for bad in ("'owner.region; DROP TABLE leads'", "'__import__(\"os\")'", "[a, b]", "'a.b.c'"):
        with pytest.raises(ReportConfigError, match=r"report 'team': for_each: expected a field"):
            load_report_config(_config(tmp_path, small_sample, f"for_each: {bad}"))
    assert (
        load_report_config(_config(tmp_path, small_sample, "for_each: account.region"))[0].for_each == "account.region"
    )
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell('data_dir: str = ""', metadata={"tags": ["parameters"]})]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "team.ipynb")
    with pytest.raises(ReportConfigError, match="for_each needs a notebook with a 'where' parameter"):
        run_reports(_config(tmp_path, small_sample, "for_each: owner.region"), out_dir=tmp_path / "o", progress=False)
    assert not (tmp_path / "o").exists()
    (tmp_path / "n.yaml").write_text("notebooks: .\nreports:\n  - {name: a--b, notebook: team.ipynb}\n")
    with pytest.raises(ReportConfigError, match="not '--'"):
        load_report_config(tmp_path / "n.yaml")


def test_value_names_are_safe_and_distinct():
    assert for_each_name("funnel", "EMEA") == "funnel--EMEA"
    assert for_each_name("funnel", "../../etc") == "funnel--etc"
    assert for_each_name("funnel", "Nord / Süd") == "funnel--Nord_S_d"
    a = for_each_name("funnel", "a b")
    b = for_each_name("funnel", "a/b", taken={a})
    assert a == "funnel--a_b" and b.startswith("funnel--a_b-") and len(b) == len(a) + 9
    assert for_each_name("funnel", "///").startswith("funnel--") and len(for_each_name("funnel", "///")) == 16


def test_the_base_where_and_the_value_make_one_expression(small_sample):
    from funnel_analysis.crm.expression import parse_expression
    from funnel_analysis.reporting.runner import _for_each_tasks

    spec = load_report_config.__globals__["ReportSpec"]("team", Path("team.ipynb"), for_each="owner.region")
    params = {"where": "lead_source == 'Web'", "data_dir": "x"}
    tasks = _for_each_tasks({"spec": spec, "params": params, "execute": params}, ["EMEA", "O'Brien"])
    wheres = [t["params"]["where"] for t in tasks]
    assert wheres == [
        "lead_source == 'Web' and owner.region == 'EMEA'",
        "lead_source == 'Web' and owner.region == \"O'Brien\"",
    ]
    assert [str(parse_expression(w)) for w in wheres] == wheres  # each parses back: a value cannot break out
    assert [t["spec"].name for t in tasks] == ["team--EMEA", "team--O_Brien"]
    assert _for_each_tasks({"spec": spec, "params": params, "execute": params}, "where: unknown column") == (
        "where: unknown column"
    )
    assert pd.Series(wheres).str.contains("DROP").sum() == 0
    assert fold(pd.Series(["EMEA"])).tolist() == ["emea"]  # (the helper the expected values use)


def test_a_scheduled_for_each_is_done_when_its_value_runs_are_published(tmp_path):
    from datetime import UTC, datetime

    from funnel_analysis.reporting.config import ReportSpec
    from funnel_analysis.reporting.schedule import due_reports

    spec = ReportSpec("team", tmp_path / "team.ipynb", schedule="0 6 * * mon", for_each="owner.region")
    now = datetime(2025, 11, 18, 9, 0, tzinfo=UTC)  # a Tuesday: the slot was Monday 06:00
    assert due_reports([spec], tmp_path, now)[0].due  # nothing published yet
    run = tmp_path / "team--EMEA" / "2025-11-17"
    run.mkdir(parents=True)
    manifest = {
        "report": "team--EMEA",
        "status": "ok",
        "scheduled_for": "2025-11-17T06:00:00+00:00",
        "for_each": {"report": "team", "field": "owner.region", "value": "EMEA"},
    }
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert not due_reports([spec], tmp_path, now)[0].due
    other = ReportSpec("tea", tmp_path / "tea.ipynb", schedule="0 6 * * mon")  # a name that only starts the same
    assert due_reports([other], tmp_path, now)[0].due


@pytest.mark.slow
def test_a_failing_value_fails_alone_in_the_shared_kernel(small_sample, tmp_path):
    _notebook(
        tmp_path / "team.ipynb",
        "print(where)",
        "assert 'EMEA' not in where, 'no EMEA today'",
        "print('done')",
    )
    config = _config(tmp_path, small_sample, "for_each: owner.region")
    result = run_reports(config, out_dir=tmp_path / "out", progress=False)
    failed = [r for r in result.runs if r.status != "ok"]
    assert [r.name for r in failed] == ["team--EMEA"] and len(result.runs) >= 2
    # the cell index is the report notebook's own (markdown 0, parameters 1, print 2, assert 3)
    assert failed[0].error == "AssertionError: no EMEA today" and failed[0].error_cell_index == 3
    ok = result.runs[-1]  # values run in order: the last one comes after EMEA, in the same kernel
    assert ok.status == "ok" and ok.name > "team--EMEA"
    outputs = [o.get("text", "") for c in nbformat.read(ok.ipynb, as_version=4).cells for o in c.get("outputs", [])]
    assert any("done" in t for t in outputs)  # the value after the failing one ran to its end
