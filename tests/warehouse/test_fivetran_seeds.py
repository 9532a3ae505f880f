"""Fivetran's own dbt_salesforce seeds, loaded into Postgres as Fivetran lays them out, read back.

Expected figures come from plain pandas on the seed CSVs (tests/data/realdata/
fivetran_dbt_salesforce_seeds), never from the reader: a row is gone (deleted) when ``is_deleted`` or
``_fivetran_deleted`` is true or ``_fivetran_active`` is false (a history-mode row that is no longer
current), as dbt_salesforce's staging models filter them.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from tests.warehouse.conftest import SEEDS
from tests.warehouse.helpers import files_holding, funnel

#: canonical table -> the seed files that feed it
CANONICAL = {
    "opportunities": ["sf_opportunity_data.csv"],
    "accounts": ["sf_account_data.csv"],
    "leads": ["sf_lead_data.csv"],
    "contacts": ["sf_contact_data.csv"],
    "users": ["sf_user_data.csv"],
    "activities": ["sf_task_data.csv", "sf_event_data.csv"],
}


def _flag(frame: pd.DataFrame, column: str, value: str) -> pd.Series:
    if column not in frame:
        return pd.Series(False, index=frame.index)
    return frame[column].str.strip().str.lower().eq(value)


def seed_counts(table: str) -> dict[str, int]:
    """Rows, rows gone, and rows gone through a merge (``master_record_id`` set), by pandas."""
    rows = gone = merged = 0
    for name in CANONICAL[table]:
        frame = pd.read_csv(SEEDS / name, dtype=str, keep_default_na=False)
        removed = _flag(frame, "is_deleted", "true") | _flag(frame, "_fivetran_deleted", "true")
        removed |= _flag(frame, "_fivetran_active", "false")
        master = frame["master_record_id"].ne("") if "master_record_id" in frame else False
        rows += len(frame)
        gone += int(removed.sum())
        merged += int((removed & master).sum())
    return {"rows": rows, "gone": gone, "merged": merged}


def test_pandas_sees_what_the_issue_says():
    """The premise, by hand: 10 seed opportunities, every one deleted."""
    assert seed_counts("opportunities") == {"rows": 10, "gone": 10, "merged": 0}
    assert seed_counts("users") == {"rows": 10, "gone": 6, "merged": 0}  # 5 _fivetran_deleted, 2 inactive, 1 both


def test_the_seeds_are_in_postgres_as_fivetran_lays_them_out(fivetran_seeds):
    """Every seed row loaded; sf_X_history_data.csv in salesforce_history.X (history mode)."""
    for path in sorted(SEEDS.glob("sf_*_data.csv")):
        obj = path.stem.removeprefix("sf_").removesuffix("_data")
        key = ("salesforce_history", obj.removesuffix("_history")) if obj.endswith("_history") else ("salesforce", obj)
        assert fivetran_seeds.tables[key] == len(pd.read_csv(path, dtype=str)), path.name


@pytest.fixture(scope="module")
def seeds_check(fivetran_seeds) -> dict:
    result = funnel(
        ["check", fivetran_seeds.url, "--source", "fivetran", "--schema", "salesforce", "--json"], fivetran_seeds.env
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("table", sorted(CANONICAL))
def test_check_accounts_for_every_seed_row(seeds_check, table):
    got = seeds_check["tables"][table]
    expected = seed_counts(table)
    assert got["rows_read"] == expected["rows"]
    assert got["rows_read"] == got["rows_kept"] + got["rows_quarantined"] + got["rows_deleted"] + got["rows_merged"]
    assert got["rows_deleted"] + got["rows_merged"] == expected["gone"]
    assert got["rows_merged"] == expected["merged"]  # a deleted row with master_record_id: merged


def test_every_seed_opportunity_counts_as_deleted(seeds_check):
    opportunities = seeds_check["tables"]["opportunities"]
    assert opportunities["rows_kept"] == 0
    assert opportunities["rows_deleted"] + opportunities["rows_merged"] == 10


@pytest.mark.slow
def test_funnel_and_sources_reports_run_on_the_url(fivetran_seeds, tmp_path):
    """``funnel report run`` with ``data_dir`` = the URL: both reports published as ok (the manifest
    records the URL, without a password), and no file of the run folder, nor the output, holds one."""
    server = fivetran_seeds.server
    reports = [
        {"name": "funnel", "notebook": "funnel.ipynb", "parameters": {"data_dir": fivetran_seeds.url}},
        {"name": "sources", "notebook": "sources.ipynb", "parameters": {"data_dir": fivetran_seeds.url}},
    ]
    config = tmp_path / "reports.yaml"
    config.write_text(yaml.safe_dump({"notebooks": "packaged", "reports": reports}))
    out = tmp_path / "out"
    result = funnel(["report", "run", "--config", str(config), "--out", str(out), "--jobs", "2"], fivetran_seeds.env)
    for secret in (server.password, server.admin_password):
        assert secret not in result.output
        assert files_holding(out, secret) == []
    published = {p.parent.parent.name: p.parent for p in out.glob("*/*/manifest.json")}
    assert sorted(published) == ["funnel", "sources"], result.output
    manifests = {name: json.loads((folder / "manifest.json").read_text()) for name, folder in published.items()}
    for name, manifest in manifests.items():
        assert manifest["parameters"]["data_dir"] == fivetran_seeds.url
        if manifest["html"]:
            assert (published[name] / manifest["html"]).is_file()
    assert manifests["funnel"]["status"] == "ok", manifests["funnel"]["error"]
    assert manifests["sources"]["status"] == "ok", manifests["sources"]["error"]
    assert result.exit_code == 0, result.output
