"""The dedup result cache: read back when intact, rebuilt with one log line when cut short or foreign."""

from __future__ import annotations

import json
import logging
import shutil

import pandas as pd
import pytest

from funnel_analysis.dedupe.cache import (
    DedupeCacheError,
    cached_find_duplicates,
    read_result,
    result_key,
    write_result,
)

LOGGER = "funnel_analysis.dedupe.cache"


def _same(a, b):
    assert a.table == b.table and a.threshold == b.threshold and a.candidate_pairs == b.candidate_pairs
    assert a.rules == b.rules and a.review_threshold == b.review_threshold
    for name in ("pairs", "clusters", "review"):
        x, y = getattr(a, name).reset_index(drop=True), getattr(b, name).reset_index(drop=True)
        pd.testing.assert_frame_equal(x, y, check_dtype=False)


@pytest.fixture(scope="module")
def cached(small_org, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dedup_cache")
    found = cached_find_duplicates(small_org.accounts, table="accounts", folder=folder, fingerprint="org-a")
    return folder, found, result_key(small_org.accounts, table="accounts")


def test_written_once_then_read_back(cached, found_accounts, small_org, caplog):
    folder, found, key = cached
    # the cached computation equals the plain one (found_accounts: the pipeline without a cache)
    _same(found, found_accounts)
    doc = json.loads((folder / key / "result.json").read_text())
    assert doc["fingerprint"] == "org-a" and set(doc["checksums"]) == {
        "features.parquet",
        "pairs.parquet",
        "clusters.parquet",
        "review.parquet",
    }
    stamp = (folder / key / "pairs.parquet").stat().st_mtime_ns
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        again = cached_find_duplicates(small_org.accounts, table="accounts", folder=folder, fingerprint="org-a")
    assert not caplog.records
    assert (folder / key / "pairs.parquet").stat().st_mtime_ns == stamp  # read, not written again
    _same(again, found_accounts)


def test_the_key_follows_records_and_parameters(small_org):
    acc = small_org.accounts
    k = result_key(acc, table="accounts")
    assert result_key(acc.copy(), table="accounts") == k
    assert result_key(acc.iloc[1:], table="accounts") != k
    changed = acc.assign(name=acc["name"].where(acc.index != acc.index[0], "Another Name"))
    assert result_key(changed, table="accounts") != k
    assert result_key(acc, table="accounts", threshold=0.9) != k
    with pytest.raises(ValueError, match="DataFrame"):
        result_key([1, 2], table="accounts")


def test_a_truncated_file_is_rebuilt_with_one_log_line(cached, found_accounts, small_org, caplog, tmp_path):
    folder, _, key = cached
    work = tmp_path / "c"
    shutil.copytree(folder, work)
    pairs = work / key / "pairs.parquet"
    pairs.write_bytes(pairs.read_bytes()[: pairs.stat().st_size // 2])
    with pytest.raises(DedupeCacheError, match="pairs.parquet: differs"):
        read_result(work, key=key)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        found = cached_find_duplicates(small_org.accounts, table="accounts", folder=work, fingerprint="org-a")
    lines = [r for r in caplog.records if r.name == LOGGER]
    assert len(lines) == 1 and "pairs.parquet" in lines[0].getMessage() and "rebuilt" in lines[0].getMessage()
    _same(found, found_accounts)
    read_result(work, key=key, fingerprint="org-a")  # whole again


def test_another_orgs_valid_files_are_not_used(cached, found_accounts, small_org, caplog, tmp_path):
    folder, _, key = cached
    work = tmp_path / "c"
    shutil.copytree(folder, work)
    # another org's result: a valid Parquet file of other pairs in place of this one's
    other = found_accounts.pairs.iloc[:3]
    other.to_parquet(work / key / "pairs.parquet", index=False)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        found = cached_find_duplicates(small_org.accounts, table="accounts", folder=work, fingerprint="org-a")
    assert sum(r.name == LOGGER for r in caplog.records) == 1
    assert len(found.pairs) == len(found_accounts.pairs) > 3
    # another org's whole entry under this key: its result.json names its own key / fingerprint
    doc_path = work / key / "result.json"
    doc = json.loads(doc_path.read_text())
    doc_path.write_text(json.dumps({**doc, "key": "0" * 32}))
    with pytest.raises(DedupeCacheError, match="holds the result"):
        read_result(work, key=key)
    doc_path.write_text(json.dumps(doc))
    with pytest.raises(DedupeCacheError, match="is of the data 'org-a', not 'org-b'"):
        read_result(work, key=key, fingerprint="org-b")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        cached_find_duplicates(small_org.accounts, table="accounts", folder=work, fingerprint="org-b")
    # two entries of the other org, each rebuilt with one line: the result and the model that scored it
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(lines) == 2 and all("not 'org-b'; rebuilt" in line for line in lines), lines
    assert json.loads(doc_path.read_text())["fingerprint"] == "org-b"


def test_failures(cached, tmp_path):
    folder, found, key = cached
    with pytest.raises(DedupeCacheError, match="result.json: is missing"):
        read_result(tmp_path, key=key)
    (tmp_path / key).mkdir()
    (tmp_path / key / "result.json").write_text("{not json")
    with pytest.raises(DedupeCacheError, match="cannot be read"):
        read_result(tmp_path, key=key)
    with pytest.raises(ValueError, match="not a plain name"):
        write_result(found, tmp_path, key="../x")


def test_report_entry_point_uses_the_cache(small_org, tmp_path, caplog):
    from funnel_analysis.dedupe import report

    first = report.find_duplicates(small_org, objects="accounts", cache=tmp_path)
    entries = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    # the result, and the model that scored it (keyed without the thresholds)
    kinds = sorted(json.loads((p / "result.json").read_text()).get("kind", "result") for p in entries)
    assert kinds == ["model", "result"]
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        second = report.find_duplicates(small_org, objects="accounts", cache=tmp_path)
    assert not caplog.records
    _same(first.results["accounts"], second.results["accounts"])


def test_the_report_runner_keeps_the_results_beside_its_parquet_cache(small_org, tmp_path, caplog):
    """An org read from the runner's cache (``<out>/.cache/<fingerprint>``) keeps its dedup results in
    ``<out>/.cache/dedup``: the second report run reads them back; a damaged entry is rebuilt, said once."""
    from funnel_analysis.dedupe import report
    from funnel_analysis.reporting import open_report

    folder = tmp_path / ".cache" / "fp"
    small_org.to_parquet(folder)
    crm = open_report(str(folder))
    assert crm.meta["dedup_cache"] == str((tmp_path / ".cache" / "dedup").resolve())
    first = report.find_duplicates(crm, objects="accounts")
    (entry,) = [p for p in (tmp_path / ".cache" / "dedup").iterdir() if (p / "pairs.parquet").exists()]
    stamp = (entry / "pairs.parquet").stat().st_mtime_ns
    again = report.find_duplicates(crm, objects="accounts")
    assert (entry / "pairs.parquet").stat().st_mtime_ns == stamp  # read back, not computed again
    _same(again.results["accounts"], first.results["accounts"])
    with (entry / "pairs.parquet").open("r+b") as f:  # a crash mid-write
        f.truncate(10)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        rebuilt = report.find_duplicates(crm, objects="accounts")
    assert len(caplog.records) == 1
    _same(rebuilt.results["accounts"], first.results["accounts"])
    # without the runner's cache (an analyst's own folder), or with cache=None, nothing is kept
    plain = report.find_duplicates(small_org, objects="accounts", cache=None)
    _same(plain.results["accounts"], first.results["accounts"])


@pytest.mark.slow
def test_org_merge_scores_read_the_matchers_result_back_from_the_cache(tmp_path):
    # the scores against the org's own merges measure the kept records' result (the duplicates report's):
    # with a cache folder it is kept there and read back by the second run, and the scores are the same
    import funnel_analysis as fa
    from funnel_analysis.dedupe.report import org_merge_scores
    from funnel_analysis.synth import generate_sample

    generate_sample(tmp_path / "org", scale=0.1, seed=3, merged=True)
    crm = fa.load_org(tmp_path / "org")
    plain = org_merge_scores(crm, objects="accounts", cache=None)
    assert not (tmp_path / "dd").exists()
    first = org_merge_scores(crm, objects="accounts", cache=tmp_path / "dd")
    # three entries: the kept accounts' model, their duplicates (the report's own entry) and the scores
    # row measured from that
    (entry,) = [p for p in (tmp_path / "dd").iterdir() if (p / "pairs.parquet").exists()]
    assert len(list((tmp_path / "dd").iterdir())) == 3
    stamp = (entry / "pairs.parquet").stat().st_mtime_ns
    again = org_merge_scores(crm, objects="accounts", cache=tmp_path / "dd")
    assert (entry / "pairs.parquet").stat().st_mtime_ns == stamp  # read back, not computed again
    pd.testing.assert_frame_equal(first, plain)
    pd.testing.assert_frame_equal(again, plain)
    assert plain.loc[0, "org_pairs"] > 0 and plain.loc[0, "found"] > 0  # there was something to score


def test_lead_contact_pairs_are_read_back_and_a_damaged_entry_is_rebuilt(small_org, tmp_path, caplog):
    from funnel_analysis.dedupe.report import lead_contact_matches

    plain = lead_contact_matches(small_org, cache=None).pairs
    first = lead_contact_matches(small_org, cache=tmp_path / "dd").pairs
    (entry,) = (tmp_path / "dd").iterdir()
    stamp = (entry / "pairs.parquet").stat().st_mtime_ns
    again = lead_contact_matches(small_org, cache=tmp_path / "dd").pairs
    assert (entry / "pairs.parquet").stat().st_mtime_ns == stamp  # read back, not computed again
    for got in (first, again):
        pd.testing.assert_frame_equal(got.reset_index(drop=True), plain.reset_index(drop=True), check_dtype=False)
    with (entry / "pairs.parquet").open("r+b") as f:  # a crash mid-write
        f.truncate(10)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        rebuilt = lead_contact_matches(small_org, cache=tmp_path / "dd").pairs
    assert len(caplog.records) == 1 and "rebuilt" in caplog.records[0].getMessage()
    pd.testing.assert_frame_equal(rebuilt.reset_index(drop=True), plain.reset_index(drop=True), check_dtype=False)


def _scores_entry(folder):
    """The one org-merge scores entry in ``folder`` (its ``result.json`` says its kind)."""
    (entry,) = [
        p
        for p in folder.iterdir()
        if (p / "result.json").exists()
        and json.loads((p / "result.json").read_text()).get("kind") == "org_merge_scores"
    ]
    return entry


def _by_hand(scores):
    # worked out by hand in tests/dedupe/test_report.py: org pairs L1-L2 and L3-L6, both linked, nothing else
    row = scores.set_index("object").loc["leads"]
    assert row[["records", "merged_records", "org_pairs", "found", "predicted_pairs", "agreeing"]].tolist() == [
        6,
        2,
        2,
        2,
        2,
        2,
    ]
    assert row["recall"] == 1.0 and row["precision"] == 1.0


def test_org_merge_scores_are_kept_and_read_back_without_the_match(tmp_path, caplog):
    """The scores row is an entry of its own: a warm run reads it, not the matcher's result it came from."""
    from funnel_analysis.dedupe.report import org_merge_scores

    from .test_report import _org_with_merges

    crm = _org_with_merges()
    options = dict(as_of="2024-06-30", objects="leads", threshold=0.5)
    first = org_merge_scores(crm, **options, cache=tmp_path)
    _by_hand(first)
    entry = _scores_entry(tmp_path)
    doc = json.loads((entry / "result.json").read_text())
    assert set(doc["checksums"]) == {"scores.parquet"} and doc["kind"] == "org_merge_scores"
    # the kept leads' duplicates it measured are kept beside it
    assert sum((p / "pairs.parquet").exists() for p in tmp_path.iterdir()) == 1
    stamp = (entry / "scores.parquet").stat().st_mtime_ns
    # the match entry removed: a warm read of the scores does not need it
    (match,) = [p for p in tmp_path.iterdir() if (p / "pairs.parquet").exists()]
    shutil.rmtree(match)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        again = org_merge_scores(crm, **options, cache=tmp_path)
    assert not caplog.records
    assert (entry / "scores.parquet").stat().st_mtime_ns == stamp
    assert not any((p / "pairs.parquet").exists() for p in tmp_path.iterdir())  # nothing was matched again
    pd.testing.assert_frame_equal(again, first)
    pd.testing.assert_frame_equal(org_merge_scores(crm, **options, cache=None), first)
    # other parameters or other merges: another entry
    org_merge_scores(crm, **options | {"threshold": 0.9}, cache=tmp_path)
    assert sum(1 for p in tmp_path.iterdir() if (p / "scores.parquet").exists()) == 2


def test_a_damaged_or_swapped_scores_entry_is_rebuilt_with_one_log_line(tmp_path, caplog):
    from funnel_analysis.dedupe.report import org_merge_scores

    from .test_report import _org_with_merges

    crm = _org_with_merges()
    options = dict(as_of="2024-06-30", objects="leads", threshold=0.5)
    _by_hand(org_merge_scores(crm, **options, cache=tmp_path))
    entry = _scores_entry(tmp_path)
    scores = entry / "scores.parquet"
    original = scores.read_bytes()

    fingerprint = crm.meta.get("fingerprint")

    def rebuilt(entries=1):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            got = org_merge_scores(crm, **options, cache=tmp_path)
        lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
        assert len(lines) == entries and all("rebuilt" in line for line in lines), lines
        _by_hand(got)
        return lines[0]

    # cut short (a crash mid-write)
    scores.write_bytes(original[: len(original) // 2])
    assert "scores.parquet" in rebuilt() and scores.read_bytes() == original
    # another org's valid file: a well-formed Parquet row of other numbers
    pd.read_parquet(scores).assign(found=0, recall=0.0).to_parquet(scores, index=False)
    assert "scores.parquet: differs" in rebuilt() and scores.read_bytes() == original
    # the same records of another org (another fingerprint): its two entries, the scores and the kept
    # records' result they come from, are each rebuilt with one line (the four kept leads are strangers:
    # no candidate pair, no model to keep; the scores match them with the merged-away ones anew)
    crm.meta["fingerprint"] = "org-b"
    assert f"is of the data {fingerprint!r}, not 'org-b'" in rebuilt(entries=2)
    assert json.loads((entry / "result.json").read_text())["fingerprint"] == "org-b"
    # an entry of the other kind moved under this key: its result.json names its own key
    lead_contact = tmp_path / "other"
    _write_pairs_entry(lead_contact)
    shutil.rmtree(entry)
    shutil.copytree(lead_contact / "k", entry)
    assert "holds the result 'k'" in rebuilt()


def _write_pairs_entry(folder):
    from funnel_analysis.dedupe.cache import _write_entry

    pairs = pd.DataFrame({"lead_id": ["L1"], "contact_id": ["C1"], "match_probability": [0.9], "reasons": ["x"]})
    _write_entry(folder, "k", {"pairs": pairs}, {"kind": "lead_contact"}, fingerprint="org-b")


def test_the_key_hashes_each_value_in_its_own_type():
    from funnel_analysis.dedupe.cache import _frame_hash

    base = pd.DataFrame(
        {
            "id": ["a", "b"],
            "when": pd.to_datetime(["2024-01-01 10:00:00", "2024-01-02 00:00:00"], utc=True),
            "n": [1.0, float("nan")],
            "mixed": pd.Series(["x", 3], dtype=object),
        }
    )
    k = _frame_hash(base)
    assert _frame_hash(base.copy()) == k and _frame_hash(base.set_index("id", drop=False)) == k  # not the index
    one_micro = base.assign(when=base["when"] + pd.Timedelta(microseconds=1))
    assert _frame_hash(one_micro) != k  # a date-time a microsecond apart
    assert _frame_hash(base.assign(n=[1.0, 0.0])) != k  # a missing value filled
    assert _frame_hash(base.assign(mixed=pd.Series(["x", 4], dtype=object))) != k  # mixed types, by their text
    assert _frame_hash(base[["when", "id", "n", "mixed"]]) != k  # the column order
    assert _frame_hash(base.rename(columns={"n": "m"})) != k
    assert _frame_hash(base.iloc[::-1]) != k  # the row order
    assert _frame_hash(None) != _frame_hash(base.iloc[0:0])


def test_text_columns_are_hashed_by_their_content_however_arrow_holds_them():
    # Arrow text is hashed from its buffers (cache._arrow_text): chunks, slices and the bytes under a
    # missing value must not matter, and each value's boundaries, missing values and characters must
    import pyarrow as pa

    from funnel_analysis.dedupe.cache import _frame_hash

    def text(values, chunks=None):
        arrays = [pa.array(c, pa.large_string()) for c in (chunks or [values])]
        return pd.DataFrame({"x": pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(arrays)), dtype="str")})

    k = _frame_hash(text(["ab", "c", None, "", "é"]))
    assert _frame_hash(text(None, chunks=[["ab", "c"], [None, "", "é"]])) == k
    assert _frame_hash(text(["zz", "ab", "c", None, "", "é", "q"]).iloc[1:6].reset_index(drop=True)) == k
    assert _frame_hash(pd.DataFrame({"x": pd.array(["ab", "c", None, "", "é"], dtype="str")})) == k
    for other in (
        ["a", "bc", None, "", "é"],
        ["ab", "c", "", "", "é"],
        ["ab", "c", None, None, "é"],
        ["ab", "c", None, "", "e"],
    ):
        assert _frame_hash(text(other)) != k, other
    # the same values in an object column: another dtype, another key
    assert _frame_hash(pd.DataFrame({"x": pd.Series(["ab", "c", None, "", "é"], dtype=object)})) != k


@pytest.mark.slow
def test_the_scores_against_the_orgs_merges_do_not_train_the_duplicates_model_again(tmp_path, monkeypatch):
    """The report's duplicates and its scores against the org's merges train each object's model once in all:
    the scores measure the report's result (given, or read back from its entry), and equal a run without any cache."""
    import funnel_analysis as fa
    from funnel_analysis.dedupe import report
    from funnel_analysis.synth import generate_sample

    from .test_pipeline import _counting_trainings

    generate_sample(tmp_path / "org", scale=0.1, seed=3, merged=True)
    crm = fa.load_org(tmp_path / "org")
    trained = _counting_trainings(monkeypatch)
    options = dict(objects="leads,accounts")
    # without a cache: each object's model is trained for the duplicates and again for the scores
    plain_found = report.find_duplicates(crm, **options, cache=None)
    plain = report.org_merge_scores(crm, **options, cache=None)
    kept = [len(crm.leads), len(crm.accounts)]
    assert trained == kept + kept
    # the report's result given: nothing trained, the same scores
    trained.clear()
    pd.testing.assert_frame_equal(report.org_merge_scores(crm, **options, cache=None, found=plain_found), plain)
    assert trained == []
    folder = tmp_path / "dd"
    found = report.find_duplicates(crm, **options, cache=folder)
    assert trained == kept  # one training per object
    models = sorted(
        p.name for p in folder.iterdir() if json.loads((p / "result.json").read_text()).get("kind") == "model"
    )
    assert len(models) == 2
    scores = report.org_merge_scores(crm, **options, cache=folder)
    assert trained == kept  # the scores read the two models back: no training
    pd.testing.assert_frame_equal(scores, plain)
    for name in ("leads", "accounts"):
        _same(found.results[name], plain_found.results[name])
    # the scores' entries removed: computed again, from the models' entries, with no training either
    for p in folder.iterdir():
        if (p / "scores.parquet").exists() or ((p / "pairs.parquet").exists() and p.name not in models):
            shutil.rmtree(p)
    assert trained == kept and sum((p / "scores.parquet").exists() for p in folder.iterdir()) == 0
    pd.testing.assert_frame_equal(report.org_merge_scores(crm, **options, cache=folder), plain)
    assert trained == kept
    # the models' entries removed too: the scores measure the duplicates report's own result, read back
    for name in models:
        shutil.rmtree(folder / name)
    for p in folder.iterdir():
        if (p / "scores.parquet").exists():
            shutil.rmtree(p)
    pd.testing.assert_frame_equal(report.org_merge_scores(crm, **options, cache=folder), plain)
    assert trained == kept
    # and that result removed as well: the scores find the kept records' duplicates again, one training each
    for p in list(folder.iterdir()):
        shutil.rmtree(p)
    pd.testing.assert_frame_equal(report.org_merge_scores(crm, **options, cache=folder), plain)
    assert trained == kept + kept
