"""``funnel pull`` against recorded API responses (tests/sfapi_recorded.py): output, exit codes, no secret shown."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

pytest.importorskip("simple_salesforce")
responses = pytest.importorskip("responses")

from funnel_analysis.cli import main  # noqa: E402
from funnel_analysis.crm.store import MANIFEST, read_manifest  # noqa: E402
from tests import sfapi_recorded as rec  # noqa: E402

OBJECTS = [arg for obj in rec.OBJECTS for arg in ("--object", obj)]


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def pull(*args):
    return CliRunner().invoke(main, ["pull", *OBJECTS, *args], terminal_width=200)


def test_first_then_incremental_pull(api, monkeypatch, tmp_path):
    rec.env(monkeypatch)
    store = tmp_path / "data"
    rec.record_first_pull(api)
    first = pull("--data-dir", str(store))
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert lines[0] == f"pulled example.my.salesforce.com into {store}"
    assert lines[2].split() == ["Opportunity", "full", "3", "0", "3", "0", rec.OPP_MARK_1]
    assert lines[3].split() == ["OpportunityFieldHistory", "full", "2", "0", "2", "0", rec.OFH_MARK_1]
    assert lines[-1].startswith("data as of ")
    rec.record_incremental_pull(api)
    second = pull("--data-dir", str(store))
    assert second.exit_code == 0, second.output
    # Opportunity: 2 fetched, 1 of them deleted, 3 held, 1 deleted; history: 2 fetched, one a re-read
    assert second.output.splitlines()[2].split() == ["Opportunity", "incremental", "2", "1", "3", "1", rec.OPP_MARK_2]
    assert second.output.splitlines()[3].split()[:5] == ["OpportunityFieldHistory", "incremental", "2", "0", "3"]
    assert rec.TOKEN not in first.output + second.output


def test_the_project_data_dir_is_the_default(api, monkeypatch, tmp_path):
    rec.env(monkeypatch)
    (tmp_path / "profile.yaml").write_text("data_dir: data/live\n")
    (tmp_path / "reports").mkdir()
    monkeypatch.chdir(tmp_path / "reports")  # below the project: found walking up, as git finds .git
    rec.record_first_pull(api)
    res = pull("--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["objects"]["Opportunity"]["rows"] == 3
    assert read_manifest(tmp_path / "data" / "live")["instance"] == "example.my.salesforce.com"


def test_outside_a_project_without_data_dir_is_one_line(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["pull"])
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and "no project here" in res.output and "--data-dir" in res.output


def test_a_refused_session_is_one_line_exit_1_and_the_data_unchanged(api, monkeypatch, tmp_path):
    rec.env(monkeypatch)
    store = tmp_path / "data"
    rec.record_first_pull(api)
    assert pull("--data-dir", str(store)).exit_code == 0
    before = {p.name: p.read_bytes() for p in store.iterdir()}
    rec.record_refused_session(api)
    res = pull("--data-dir", str(store))
    assert res.exit_code == 1
    assert res.output.count("\n") == 1
    assert res.output.startswith("error: pull failed: SalesforceExpiredSession") and "is unchanged" in res.output
    assert rec.TOKEN not in res.output
    assert {p.name: p.read_bytes() for p in store.iterdir()} == before


def test_missing_credentials_are_one_line_exit_2(monkeypatch, tmp_path):
    for var in ("SF_INSTANCE_URL", "SF_ACCESS_TOKEN", "SF_USERNAME", "SF_PASSWORD", "SF_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    res = pull("--data-dir", str(tmp_path / "data"))
    assert res.exit_code == 2 and res.output.count("\n") == 1
    assert res.output.startswith("error: Salesforce credentials are read from the environment only")


def test_a_folder_with_an_export_is_one_line_exit_2(monkeypatch, tmp_path):
    rec.env(monkeypatch)
    (tmp_path / "Opportunity.csv").write_text("Id\n0065g00000AbCdEAAV\n")
    res = pull("--data-dir", str(tmp_path))
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "Opportunity.csv" in res.output
    assert not (tmp_path / MANIFEST).exists()
