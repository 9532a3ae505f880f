"""``funnel score``: train, list, evaluate, promote/rollback, predict; errors exit 2 with one line."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from funnel_analysis.cli import main

EVIL = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    """A small generated org; the three newest leads carry a formula as their title. Cached as Parquet."""
    import funnel_analysis as fa
    from funnel_analysis.synth import generate_sample

    base = tmp_path_factory.mktemp("score_cli")
    generate_sample(base / "org", scale=0.05, seed=11)
    leads = pd.read_csv(base / "org" / "Lead.csv", dtype=str, keep_default_na=False)
    open_rows = leads.index[leads["IsConverted"].str.casefold() != "true"][-3:]
    leads.loc[open_rows, "Title"] = EVIL
    leads.to_csv(base / "org" / "Lead.csv", index=False)
    fa.load_org(base / "org").to_parquet(base / "cache")
    return base


def _run(*args):
    return CliRunner().invoke(main, ["score", *map(str, args)], catch_exceptions=False)


def test_train_list_evaluate_promote_predict(org):
    reg = org / "models"
    r = _run("train", org / "cache", "--registry", reg, "--kind", "logistic", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["version"] == "v0001" and doc["leakage_flagged"] == []
    for key in ("roc_auc", "pr_auc", "brier", "ece", "baseline_roc_auc"):
        assert 0 <= doc[key] <= 1, key
    assert doc["split"]["method"] == "time" and doc["split"]["train_to"] <= doc["split"]["test_from"]
    assert "IsConverted" in doc["rule_excluded"]

    listed = json.loads(_run("list", "--registry", reg, "--json").output)
    assert [v["version"] for v in listed] == ["v0001"] and not listed[0]["promoted"]

    r = _run("promote", "v0001", "--registry", reg)
    if doc["beats_baseline"]:
        assert r.exit_code == 0
    else:
        assert r.exit_code == 2 and "does not beat the points baseline" in r.output
        assert _run("promote", "v0001", "--registry", reg, "--force").exit_code == 0
    assert _run("train", org / "cache", "--registry", reg, "--kind", "logistic").exit_code == 0
    r = _run("evaluate", org / "cache", "v0002", "--registry", reg, "--json")
    assert r.exit_code == 0, r.output
    rows = {row["model"]: row for row in json.loads(r.output)}
    assert set(rows) == {"v0001", "v0002"} and rows["v0001"]["n"] == rows["v0002"]["n"] == doc["n"]
    assert _run("promote", "v0002", "--registry", reg, "--force").exit_code == 0
    r = _run("promote", "--rollback", "--registry", reg)
    assert r.exit_code == 0 and "v0001" in r.output

    out = org / "scores.csv"
    r = _run("predict", org / "cache", "--registry", reg, "--out", out)
    assert r.exit_code == 0, r.output
    scores = pd.read_csv(out, dtype=str, keep_default_na=False)
    leads = pd.read_parquet(org / "cache" / "leads.parquet")
    assert len(scores) == (~leads["is_converted"].fillna(False).astype(bool)).sum()
    assert pd.to_numeric(scores["score"]).between(1, 99).all()
    assert (scores["feature_title"] == "'" + EVIL).sum() == 3
    assert not scores.map(lambda v: v.startswith(("=", "+", "@"))).any().any()


def test_data_errors_exit_2_with_one_line(org, tmp_path):
    leads = pd.read_csv(org / "org" / "Lead.csv", dtype=str, keep_default_na=False)
    bad = tmp_path / "bad"
    bad.mkdir()
    leads.drop(columns=["IsConverted"]).to_csv(bad / "Lead.csv", index=False)
    r = CliRunner().invoke(main, ["score", "train", str(bad), "--registry", str(tmp_path / "m")])
    assert r.exit_code == 2
    assert r.output.strip().startswith("error: leads: column 'is_converted'") and "rule column_missing" in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    r = _run("predict", org / "cache", "--registry", tmp_path / "empty", "--out", tmp_path / "s.csv")
    assert r.exit_code == 2 and "no version is promoted" in r.output
    r = _run("train", org / "cache", "--registry", tmp_path / "m", "--where", "lead_source ==")
    assert r.exit_code == 2 and r.output.startswith("error: where:") and "position" in r.output


def test_train_and_predict_on_the_leads_where_selects(org, tmp_path):
    reg = tmp_path / "models"
    where = "lead_source != 'Web'"
    r = _run("train", org / "cache", "--registry", reg, "--kind", "logistic", "--where", where, "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    meta = json.loads((reg / doc["version"] / "meta.json").read_text())
    assert meta["params"]["where"] == where
    leads = pd.read_parquet(org / "cache" / "leads.parquet")
    kept = leads[leads["lead_source"] != "Web"]
    assert doc["split"]["n_train"] + doc["split"]["n_test"] < len(leads)
    out = tmp_path / "s.csv"
    r = _run("predict", org / "cache", "--registry", reg, "--version", doc["version"], "--where", where, "--out", out)
    assert r.exit_code == 0, r.output
    scores = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert set(scores["lead_id"]) == set(kept.loc[~kept["is_converted"].fillna(False).astype(bool), "lead_id"])


def test_tampered_model_is_refused_on_the_command_line(org, tmp_path):
    reg = tmp_path / "models"
    assert _run("train", org / "cache", "--registry", reg, "--kind", "logistic").exit_code == 0
    art = reg / "v0001" / "model.skops"
    art.write_bytes(art.read_bytes()[:-10] + b"0123456789")
    r = _run("predict", org / "cache", "--registry", reg, "--version", "v0001", "--out", tmp_path / "s.csv")
    assert r.exit_code == 2 and "SHA-256" in r.output and not (tmp_path / "s.csv").exists()
