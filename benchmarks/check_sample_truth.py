"""The loader against the sample org's truth: deleted and merged records, re-pointed references,
corporate-currency bookings per quarter, the open pipeline on given days, and the extract time; with the
org shapes (``generate_sample(field_history=True, ...)``), the truth of the field history, queues and the
joined source recomputed from the CSV files with plain pandas.

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
    bad += _shape_checks(Path(org), truth)
    print("all equal" if not bad else f"{bad} difference(s)")
    return int(bool(bad))


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _live(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["IsDeleted"] != "true"] if "IsDeleted" in df else df


def _shape_checks(org: Path, truth: Path) -> int:
    """The truth of the org shapes against the files, in plain pandas; 0 checks without the shapes."""
    bad = 0
    if (truth / "close_date_pushes.csv").exists():
        pushes = _csv(truth / "close_date_pushes.csv").set_index("opportunity_id")
        fh = _live(_csv(org / "OpportunityFieldHistory.csv"))
        cd = fh[fh["Field"] == "CloseDate"]
        seen = cd[cd["NewValue"] > cd["OldValue"]].groupby("OpportunityId").size().reindex(pushes.index, fill_value=0)
        diff = int((seen != pushes["pushes_in_history"].astype(int)).sum())
        bad += diff > 0
        complete = pushes["complete_in_history"] == "true"
        print(
            f"close-date pushes in the history: {diff} deal(s) differ of {len(pushes)} ({int(complete.sum())} complete)"
        )
    if (truth / "lead_status_on_dates.csv").exists():
        st = _csv(truth / "lead_status_on_dates.csv")
        h = _live(_csv(org / "LeadHistory.csv"))
        s = h[h["Field"] == "Status"].assign(t=lambda d: pd.to_datetime(d["CreatedDate"], format="ISO8601"))
        s = s.sort_values(["LeadId", "t", "Id"], kind="stable")
        leads = _live(_csv(org / "Lead.csv")).drop_duplicates("Id").set_index("Id")["Status"]
        known = st[st["known"] == "true"]
        for day, rows in known.groupby("on_date"):
            end = pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1)
            before = s[s["t"] < end].groupby("LeadId")["NewValue"].last()
            after = s[s["t"] >= end].groupby("LeadId")["OldValue"].first()
            got = before.combine_first(after).combine_first(leads).reindex(rows["lead_id"]).to_numpy()
            same = int((got == rows["status"].to_numpy()).sum())
            # a few leads' Status cells carry a picklist defect (dirty_rows.csv): compared as written
            bad += same < 0.99 * len(rows)
            print(
                f"lead status on {day}: {same} of {len(rows)} known statuses equal ({(st['on_date'] == day).sum() - len(rows)} unknown)"
            )
    if (truth / "queue_time.csv").exists():
        qt = _csv(truth / "queue_time.csv")
        leads = _live(_csv(org / "Lead.csv"))
        held = set(leads.loc[leads["OwnerId"].str.startswith("00G"), "Id"])
        still = set(qt.loc[qt["still_in_queue"] == "true", "lead_id"])
        bad += not still <= held
        print(f"leads still in a queue: {len(held)} in Lead.csv (truth {len(still)}); {len(qt)} were queued")
    if (truth / "joined_converted_leads.csv").exists():
        deals = _csv(org / "joined_source" / "deals.csv")
        deals = deals[deals["lead_id"] != ""]
        first = deals.sort_values(["created_at", "deal_id"]).groupby("lead_id")["deal_id"].first()
        conv = _csv(truth / "joined_converted_leads.csv").set_index("lead_id")["deal_id"]
        ok = first.sort_index().equals(conv.sort_index())
        bad += not ok
        print(f"joined source: {len(first)} converted leads from deals.csv (truth {len(conv)}), same deals: {ok}")
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "data/sample"))
