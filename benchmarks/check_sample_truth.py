"""The loader against the sample org's truth: deleted and merged records, re-pointed references,
corporate-currency bookings per quarter, the open pipeline on given days, and the extract time.

    .venv/bin/python benchmarks/check_sample_truth.py data/sample

Prints each figure next to the truth's (the truth folder is computed from the simulation, not from
the files); exits 1 on any difference.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

import funnel_analysis as fa


def main(org: str) -> int:
    crm = fa.load_org(org)
    truth = Path(f"{org}_truth")
    bad = 0
    d = pd.read_csv(truth / "deleted_records.csv")
    for table, kinds in d.groupby("table")["kind"]:
        rep = crm.report.tables[table]
        want_del = int((kinds != "merged").sum())
        want_merged = int((kinds == "merged").sum())
        ok = (rep["rows_deleted"], rep["rows_merged"]) == (want_del, want_merged)
        bad += not ok
        print(
            f"{table:<20} deleted {rep['rows_deleted']:>5} (truth {want_del:>5})  merged {rep['rows_merged']:>4} (truth {want_merged:>4})"
        )
    m = pd.read_csv(truth / "merged_pairs.csv")
    got = crm.merges.rename(columns={"table": "object"})
    x = m.merge(got, on=["object", "merged_id"], how="outer", suffixes=("_truth", "_got"))
    same = int((x["master_id_truth"] == x["master_id_got"]).sum())
    bad += same != len(m) or len(x) != len(m)
    print(f"merges: {len(got)} found, {len(m)} in the truth, {same} with the same survivor")
    r = pd.read_csv(truth / "repointed_references.csv")
    repointed = sum(
        n for t in crm.report.tables.values() for k, n in t["cleaning"].items() if k.endswith(":repointed_to_master")
    )
    bad += repointed != len(r)
    print(f"references re-pointed: {repointed} (truth {len(r)})")
    b = pd.read_csv(truth / "bookings_corporate.csv")
    won = crm.opportunities[crm.opportunities["is_won"]]
    mine = won.groupby(pd.PeriodIndex(won["close_date"], freq="Q").astype(str))["amount"].sum().round(2)
    diff = (b["close_quarter"].map(mine).fillna(0) - b["bookings_usd"]).abs().max()
    bad += diff > 0.005
    print(f"bookings per quarter ({len(b)} quarters, {crm.currency}): largest difference {diff:.2f}")
    for _, row in pd.read_csv(truth / "open_pipeline.csv").iterrows():
        cut = crm.as_of(row["as_of"]).opportunities
        open_ = cut[~cut["is_closed"]]
        got_amount = round(float(open_["amount"].sum()), 2)
        ok = len(open_) == row["open_deals"] and abs(got_amount - row["open_pipeline_usd"]) < 0.005
        bad += not ok
        print(
            f"open pipeline {row['as_of']}: {len(open_)} deals {got_amount:,.2f} (truth {row['open_deals']} {row['open_pipeline_usd']:,.2f})"
        )
    when = fa.crm.extract_time(crm)
    want = pd.Timestamp(json.loads((truth / "truth.json").read_text())["extract_time"]).tz_convert(None)
    bad += when.timestamp != want
    print(f"extract time: {when.timestamp} from {when.describe()} (truth {want})")
    print("all equal" if not bad else f"{bad} difference(s)")
    return int(bool(bad))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "data/sample"))
