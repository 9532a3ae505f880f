"""The chunked generator (synth.chunked): one org from several bounded runs, deterministic, Ids disjoint."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from funnel_analysis.synth import generate_sample
from funnel_analysis.synth.chunked import generate_chunked

SCALE, CHUNK = 0.04, 0.02  # two chunks of about 400 leads each


def _read(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def chunked(tmp_path_factory):
    base = tmp_path_factory.mktemp("chunked")
    summary = generate_chunked(base / "org", scale=SCALE, chunk_scale=CHUNK, seed=5)
    return base, summary


def test_same_seed_gives_identical_files(chunked, tmp_path):
    base, summary = chunked
    again = generate_chunked(tmp_path / "org", scale=SCALE, chunk_scale=CHUNK, seed=5)
    assert again["chunks"] == summary["chunks"] == 2
    files = sorted(p.relative_to(base / "org") for p in (base / "org").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "org") for p in (tmp_path / "org").rglob("*") if p.is_file())
    for rel in files:
        assert (base / "org" / rel).read_bytes() == (tmp_path / "org" / rel).read_bytes(), rel
    assert (base / "org_truth" / "chunks.json").read_text() == (tmp_path / "org_truth" / "chunks.json").read_text()


def test_one_chunk_is_exactly_generate_sample(tmp_path):
    generate_chunked(tmp_path / "a", scale=CHUNK, chunk_scale=CHUNK, seed=5)
    generate_sample(tmp_path / "b", scale=CHUNK, seed=5)
    files = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files and all((tmp_path / "a" / r).read_bytes() == (tmp_path / "b" / r).read_bytes() for r in files)
    assert (tmp_path / "a_truth" / "truth.json").exists() and not (tmp_path / "a_truth" / "chunks.json").exists()


def test_first_chunk_is_the_plain_run_and_rows_add_up(chunked, tmp_path):
    base, summary = chunked
    manifest = json.loads((base / "org_truth" / "chunks.json").read_text())
    first, second = manifest["chunks"]
    assert first["seed"] == 5 and second["seed"] != 5
    # the first chunk's leads are the leading rows of the merged Lead.csv, byte for byte
    generate_sample(tmp_path / "plain", scale=CHUNK, seed=5)
    plain = _read(tmp_path / "plain" / "Lead.csv")
    merged = _read(base / "org" / "Lead.csv")
    pd.testing.assert_frame_equal(merged.iloc[: len(plain)], plain)
    for name in ("Lead.csv", "Opportunity.csv", "Task.csv", "OpportunityHistory.csv", "joined_source/leads.csv"):
        df = _read(base / "org" / name)
        n_first = len(_read(tmp_path / "plain" / name))
        assert second["row_offsets"][name] == n_first
        assert len(df) == summary["rows"][name] > n_first
    # org-wide files once, from the first chunk
    for name in ("OpportunityStage.csv", "DatedConversionRate.csv", "CurrencyType.csv", "LeadStatus.csv"):
        assert (base / "org" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes(), name


def test_ids_are_disjoint_across_chunks_and_share_the_pod(chunked):
    base, _ = chunked
    offsets = [c["row_offsets"] for c in json.loads((base / "org_truth" / "chunks.json").read_text())["chunks"]]
    for name in ("Lead.csv", "Account.csv", "Contact.csv", "Opportunity.csv", "Task.csv", "User.csv", "Group.csv"):
        ids = _read(base / "org" / name)["Id"]
        cut = offsets[1][name]
        a, b = set(ids[:cut]) - {""}, set(ids[cut:]) - {""}
        assert a and b and not (a & b), name
        assert {i[3:5] for i in a | b if len(i) == 18} == {next(iter(a))[3:5]}, name


def test_each_chunks_truth_points_at_its_rows(chunked):
    """dirty_rows.csv of chunk k: its 0-based row plus the chunk's offset is the row of the merged file."""
    base, _ = chunked
    manifest = json.loads((base / "org_truth" / "chunks.json").read_text())
    for chunk in manifest["chunks"]:
        dirty = pd.read_csv(base / "org_truth" / "chunks" / f"{chunk['index']:03d}" / "dirty_rows.csv", dtype=str)
        dirty = dirty[(dirty["file"] == "Opportunity.csv") & (dirty["record_id"].fillna("") != "")]
        assert len(dirty) > 0
        opps = _read(base / "org" / "Opportunity.csv")
        rows = dirty["row"].astype(int) + chunk["row_offsets"]["Opportunity.csv"]
        assert (opps["Id"].iloc[rows.to_numpy()].to_numpy() == dirty["record_id"].to_numpy()).all()


def test_the_merged_org_loads_with_the_first_chunks_deals(chunked, tmp_path):
    from funnel_analysis.crm.load import load_org

    base, _ = chunked
    generate_sample(tmp_path / "plain", scale=CHUNK, seed=5)
    merged = load_org(base / "org").tables["opportunities"]
    plain = load_org(tmp_path / "plain").tables["opportunities"]
    assert merged["opportunity_id"].is_unique
    assert len(merged) > len(plain) and set(plain["opportunity_id"]) <= set(merged["opportunity_id"])


def test_bad_scale_fails_clearly(tmp_path):
    with pytest.raises(ValueError, match="chunk_scale must be a positive number"):
        generate_chunked(tmp_path / "x", scale=1, chunk_scale=0)
    with pytest.raises(ValueError, match="scale must be a positive number"):
        generate_chunked(tmp_path / "x", scale=-1)


def test_cli_sample_writes_chunks(tmp_path):
    out = tmp_path / "org"
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from funnel_analysis.cli import main; main()",
            "sample",
            "--out",
            str(out),
            "--scale",
            "0.04",
        ]
        + ["--chunk-scale", "0.02", "--seed", "5"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["chunks"] == 2
    assert (tmp_path / "org_truth" / "chunks" / "001" / "truth.json").exists()
