"""``funnel dedup``: files written, the JSON summary, a merged folder that loads, one-line errors."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

import funnel_analysis as fa
from funnel_analysis.cli import main
from tests.export_csv import kept


@pytest.mark.slow
def test_dedup_accounts_writes_everything_and_the_merged_folder_loads(small_sample, tmp_path):
    # the accounts and what points at them; without leads and activities the org loads in a moment
    org = tmp_path / "org"
    org.mkdir()
    for name in ("Account.csv", "Contact.csv", "Opportunity.csv", "OpportunityStage.csv", "User.csv"):
        shutil.copy(small_sample / name, org / name)
    out = tmp_path / "acc"
    res = CliRunner().invoke(main, ["dedup", str(org), "--object", "accounts", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert {"records", "candidate_pairs", "clusters", "records_merged", "pairs_for_review"} <= set(summary)
    # the accounts kept: not quarantined, not deleted or merged away (plain pandas on the truth)
    assert summary["records"] == len(kept(small_sample, "Account.csv"))
    log = pd.read_csv(out / "merge_log.csv", dtype=str)
    clusters = pd.read_csv(out / "clusters.csv", dtype=str)
    merged_ids = set(log.loc[log["action"] == "merged", "record_id"])
    assert len(merged_ids) == summary["records_merged"] > 0
    assert merged_ids == set(clusters.loc[clusters["record_id"] != clusters["survivor_id"], "record_id"])
    assert log.loc[log["action"] == "merged", "reasons"].notna().all()
    assert (out / "review_queue.csv").exists() and (out / "pairs.csv").exists()
    # the merged export loads, one row per surviving account, and every opportunity still joins
    again = fa.load_org(out / "merged")
    assert len(again.accounts) == summary["records"] - summary["records_merged"]
    assert not set(again.accounts["account_id"]) & merged_ids
    before = fa.load_org(org)
    joined = lambda crm: crm.opportunities["account_id"].isin(crm.accounts["account_id"]).sum()  # noqa: E731
    assert joined(again) == joined(before)


def test_data_errors_are_one_line_with_exit_2(tmp_path):
    (tmp_path / "Lead.csv").write_text("FirstName,LastName\nAnn,Lee\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["dedup", str(tmp_path), "--object", "leads"])
    assert res.exit_code == 2
    assert res.output.startswith("error: ") and "Lead.csv" in res.output and "Id" in res.output
    assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output


def test_bad_threshold_and_missing_object(tiny_export):
    res = CliRunner().invoke(main, ["dedup", str(tiny_export), "--object", "leads", "--threshold", "lots"])
    assert res.exit_code == 2 and res.output.startswith("error: --threshold")
    res = CliRunner().invoke(main, ["dedup", str(tiny_export), "--object", "contacts"])
    assert res.exit_code == 2 and "no contacts" in res.output


def test_merged_folder_holds_only_the_tables_the_input_had(tmp_path):
    # issue 15 bug 8: no OpportunityStage.csv in the input, none written into merged/
    leads = (
        "Id,CreatedDate,FirstName,LastName,Email,Company\n"
        "00Q000000000001AAA,2024-01-01T00:00:00.000+0000,Anna,Meyer,anna@acme.io,Acme\n"
        "00Q000000000002AAA,2024-01-02T00:00:00.000+0000,Anna,Meyer,ANNA@acme.io,Acme GmbH\n"
        "00Q000000000003AAA,2024-01-03T00:00:00.000+0000,Ben,Stone,ben@stone.io,Stone\n"
    )
    org = tmp_path / "org"
    org.mkdir()
    (org / "Lead.csv").write_text(leads, encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["dedup", str(org), "--object", "leads", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (out / "merged").iterdir()) == ["Lead.csv"]


def test_dedup_runs_arrow_on_jemalloc_and_restores_the_pool(tmp_path, monkeypatch):
    # issue 19: the loader's freed Arrow memory is given back (jemalloc), and the process's pool is
    # the one it had once the command is done
    pa = pytest.importorskip("pyarrow")
    try:
        pa.jemalloc_memory_pool()
    except (NotImplementedError, pa.ArrowNotImplementedError):
        pytest.skip("this pyarrow has no jemalloc pool")
    import funnel_analysis.crm.load as load

    seen, real = [], load.load_org
    monkeypatch.setattr(
        load, "load_org", lambda *a, **k: seen.append(pa.default_memory_pool().backend_name) or real(*a, **k)
    )
    org = tmp_path / "org"
    org.mkdir()
    (org / "Lead.csv").write_text(
        "Id,CreatedDate,FirstName,LastName,Email,Company\n"
        "00Q000000000001AAA,2024-01-01T00:00:00.000+0000,Anna,Meyer,anna@acme.io,Acme\n"
        "00Q000000000002AAA,2024-01-02T00:00:00.000+0000,Anna,Meyer,ANNA@acme.io,Acme GmbH\n"
        "00Q000000000003AAA,2024-01-03T00:00:00.000+0000,Ben,Stone,ben@stone.io,Stone\n",
        encoding="utf-8",
    )
    before = pa.default_memory_pool().backend_name
    res = CliRunner().invoke(main, ["dedup", str(org), "--object", "leads", "--out", str(tmp_path / "out"), "--json"])
    assert res.exit_code == 0, res.output
    assert seen == ["jemalloc"]
    assert pa.default_memory_pool().backend_name == before
