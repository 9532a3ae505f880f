"""The options of a real org's export: deleted and merged rows, three currencies, modification stamps.

Every expected value is recomputed here with plain pandas from the CSV files (and rates looked
up here with ``merge_asof``), or compared with a run of the same seed with the options off.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from funnel_analysis.crm import to_18
from funnel_analysis.synth import CURRENCY_FILES, ORG_SHAPES, SAMPLE_FILES, SAMPLE_OPTIONS, generate_sample

SCALE, SEED = 0.2, 4
NO_SHAPES = dict.fromkeys(ORG_SHAPES, False)  # the org shapes have tests of their own (test_shapes.py)
ALL = dict(deleted=True, merged=True, currencies=True, modstamps=True, **NO_SHAPES)
OFF = dict(deleted=False, merged=False, currencies=False, modstamps=False, **NO_SHAPES)
ADDED = ["IsDeleted", "MasterRecordId", "CurrencyIsoCode", "LastModifiedDate", "SystemModstamp"]
MONEY = {"Lead.csv": "AnnualRevenue", "Account.csv": "AnnualRevenue", "Opportunity.csv": "Amount"}
EURO, POUND = {"Germany", "France", "Netherlands"}, {"United Kingdom"}
DAY = pd.Timedelta(days=1)


def read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


def run(base: Path, label: str, **options) -> SimpleNamespace:
    out = base / label
    summary = generate_sample(out, scale=SCALE, seed=SEED, **options)
    truth = Path(f"{out}_truth")
    names = list(SAMPLE_FILES) + (list(CURRENCY_FILES) if options.get("currencies") else [])

    def csv(name):
        path = truth / name
        return pd.read_csv(path, dtype=str, keep_default_na=False) if path.exists() else None

    return SimpleNamespace(
        out=out,
        summary=summary,
        files={n: read(out, n) for n in names},
        dirty=csv("dirty_rows.csv"),
        deleted=csv("deleted_records.csv"),
        pairs=csv("merged_pairs.csv"),
        repointed=csv("repointed_references.csv"),
        bookings=csv("bookings_corporate.csv"),
        pipeline=csv("open_pipeline.csv"),
        info=json.loads((truth / "truth.json").read_text(encoding="utf-8")),
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("extras")
    return SimpleNamespace(
        off=run(base, "off", **OFF),
        rows=run(base, "rows", deleted=True, merged=True, currencies=False, modstamps=False, **NO_SHAPES),
        on=run(base, "on", **ALL),
    )


def quarantined(org, name: str) -> set[int]:
    d = org.dirty[(org.dirty["file"] == name) & (org.dirty["expected"] == "quarantine")]
    return set(d["row"].astype(int))


def live(org, name: str) -> pd.DataFrame:
    """The org's own rows: no quarantine row, no IsDeleted row."""
    df = org.files[name].drop(index=sorted(quarantined(org, name)))
    if "IsDeleted" in df:
        df = df[df["IsDeleted"] == "false"]
    return df


def widen(s: pd.Series) -> pd.Series:
    return s.map(lambda v: to_18(v) if len(v) == 15 else v)


def rates(org) -> pd.DataFrame:
    """DatedConversionRate.csv as (iso, start, next, rate), open ends as far-away days."""
    r = org.files["DatedConversionRate.csv"].copy()
    far = {"0001-01-01": "1900-01-01", "9999-12-31": "2200-01-01"}
    r["start"] = pd.to_datetime(r["StartDate"].replace(far))
    r["next"] = pd.to_datetime(r["NextStartDate"].replace(far))
    r["rate"] = r["ConversionRate"].astype(float)
    return r.rename(columns={"IsoCode": "iso"})[["iso", "start", "next", "rate"]].sort_values("start")


def rate_on(org, iso: pd.Series, day: pd.Series) -> np.ndarray:
    """The dated rate of each (currency, day): StartDate <= day < NextStartDate; USD (corporate) 1."""
    r = rates(org)
    q = pd.DataFrame({"iso": iso.to_numpy(), "day": pd.to_datetime(day).to_numpy(), "i": np.arange(len(iso))})
    m = pd.merge_asof(q.sort_values("day"), r, left_on="day", right_on="start", by="iso", direction="backward")
    m = m.sort_values("i")
    assert ((m["iso"] == "USD") | (m["day"] < m["next"])).all()
    return np.where(m["iso"] == "USD", 1.0, m["rate"].to_numpy())


# ---------------------------------------------------------------------------
# the real org is the same with and without the options
# ---------------------------------------------------------------------------


REF_HEADERS = {"who_id": "WhoId", "lead_id": "LeadId", "contact_id": "ContactId", "account_id": "AccountId"}


def restore_repointed(org, name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Put the survivor back wherever a reference holds a merged-away Id (kept rows and their quarantined copies)."""
    df = df.copy()
    survivor = org.pairs.set_index("merged_id")["master_id"]
    for col in REF_HEADERS.values():
        if col not in df:
            continue
        wide = widen(df[col])
        hit = wide.isin(survivor.index) & (df["IsDeleted"] == "false")
        df.loc[hit, col] = [m[: len(v)] for m, v in zip(wide[hit].map(survivor), df.loc[hit, col])]
    return df


def test_removing_deleted_rows_gives_back_the_org(runs):
    off, on = runs.off, runs.rows
    for name in SAMPLE_FILES:
        a = off.files[name]
        b = restore_repointed(on, name, on.files[name])
        if "IsDeleted" in b:
            assert set(b["IsDeleted"]) <= {"true", "false"}
            b = b[b["IsDeleted"] == "false"]
        b = b.drop(columns=[c for c in ADDED if c in b]).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, obj=name)
    # the defects sit on the same records (their rows moved by the inserted rows)
    for name in SAMPLE_FILES:
        d_off = off.dirty[off.dirty["file"] == name].reset_index(drop=True)
        d_on = on.dirty[on.dirty["file"] == name].reset_index(drop=True)
        cols = ["record_id", "column", "kind", "expected"]
        pd.testing.assert_frame_equal(d_off[cols], d_on[cols], obj=name)
        flags = on.files[name].get("IsDeleted")
        if flags is not None:
            assert (flags.iloc[d_on["row"].astype(int)] == "false").all(), name
            kept_rows = np.flatnonzero(flags.to_numpy() == "false")
            assert (kept_rows[d_off["row"].astype(int)] == d_on["row"].astype(int).to_numpy()).all(), name


def test_currencies_keep_every_other_field(runs):
    off, on = runs.off, runs.on
    for name in SAMPLE_FILES:
        a = off.files[name]
        b = restore_repointed(on, name, on.files[name])
        if "IsDeleted" in b:
            b = b[b["IsDeleted"] == "false"]
        b = b.reset_index(drop=True)
        money = MONEY.get(name) or ("Amount" if name == "OpportunityHistory.csv" else None)
        same = [c for c in a.columns if c != money]
        pd.testing.assert_frame_equal(a[same], b[same], obj=name)
        if money is None:
            continue
        usd = b.get("CurrencyIsoCode", pd.Series("USD", index=b.index)) == "USD"
        assert (a.loc[usd, money] == b.loc[usd, money]).all(), name
        assert (b[money] == "").equals(a[money] == ""), name


def test_local_amounts_are_priced_at_the_rate_of_creation(runs):
    off, on = runs.off, runs.on
    opp_off, opp_on = live(off, "Opportunity.csv"), live(on, "Opportunity.csv")
    opp_on = opp_on.set_index("Id")
    created = pd.to_datetime(opp_on["CreatedDate"].str[:10])
    rate = pd.Series(rate_on(on, opp_on["CurrencyIsoCode"], created), index=opp_on.index)
    for name, frame_off, frame_on, key in (
        ("Opportunity.csv", opp_off, live(on, "Opportunity.csv"), "Id"),
        (
            "OpportunityHistory.csv",
            live(off, "OpportunityHistory.csv"),
            live(on, "OpportunityHistory.csv"),
            "OpportunityId",
        ),
    ):
        m = frame_off.merge(frame_on, on="Id", suffixes=("_usd", ""))
        m = m[(m["Amount"] != "") & m["Id"].ne("")]
        ref = widen(m[key if key != "Id" else "Id"])
        r = rate.reindex(ref.to_numpy()).to_numpy()
        ok = ~np.isnan(r)
        assert ok.mean() > 0.98, name  # the rest: rows with a 15-character or orphan OpportunityId
        expect = np.round(m["Amount_usd"].astype(float).to_numpy()[ok] * r[ok] * 100) / 100
        assert np.allclose(m["Amount"].astype(float).to_numpy()[ok], expect, atol=0.005), name
        assert (m.loc[ok, "CurrencyIsoCode"] != "USD").sum() > 0
    # annual revenue at the static rate (CurrencyType)
    static = on.files["CurrencyType.csv"].set_index("IsoCode")["ConversionRate"].astype(float)
    for name in ("Lead.csv", "Account.csv"):
        a, b = live(off, name), live(on, name)
        m = a.merge(b, on="Id", suffixes=("_usd", ""))
        m = m[(m["AnnualRevenue"] != "") & (m["Id"] != "")]
        expect = np.round(m["AnnualRevenue_usd"].astype(float) * m["CurrencyIsoCode"].map(static) * 100) / 100
        assert np.allclose(m["AnnualRevenue"].astype(float), expect, atol=0.005), name


def test_currency_of_each_record(runs):
    on = runs.on

    def expected(country: pd.Series) -> pd.Series:
        return np.where(country.isin(EURO), "EUR", np.where(country.isin(POUND), "GBP", "USD"))

    acc = live(on, "Account.csv")
    assert (acc["CurrencyIsoCode"] == expected(acc["BillingCountry"])).all()
    lead = live(on, "Lead.csv")
    assert (lead["CurrencyIsoCode"] == expected(lead["Country"])).all()
    con = live(on, "Contact.csv")
    assert (con["CurrencyIsoCode"] == expected(con["MailingCountry"])).all()
    assert set(live(on, "Campaign.csv")["CurrencyIsoCode"]) == {"USD"}
    opp = live(on, "Opportunity.csv")
    acc_all = on.files["Account.csv"].drop(index=sorted(quarantined(on, "Account.csv")))
    acc_cur = acc_all.set_index("Id")["CurrencyIsoCode"]  # merged-away accounts too: some deals point at them
    m = widen(opp["AccountId"]).map(acc_cur)
    assert (m.dropna() == opp.loc[m.notna(), "CurrencyIsoCode"]).all() and m.notna().mean() > 0.98
    hist = live(on, "OpportunityHistory.csv")
    opp_cur = opp.set_index("Id")["CurrencyIsoCode"]
    h = widen(hist["OpportunityId"]).map(opp_cur)
    assert (h.dropna() == hist.loc[h.notna(), "CurrencyIsoCode"]).all() and h.notna().mean() > 0.98
    for name in ("Lead.csv", "Account.csv", "Opportunity.csv"):
        assert set(live(on, name)["CurrencyIsoCode"]) == {"USD", "EUR", "GBP"}, name


# ---------------------------------------------------------------------------
# currency files
# ---------------------------------------------------------------------------


def test_currency_files(runs):
    on = runs.on
    ct = on.files["CurrencyType.csv"]
    assert list(ct.columns) == ["IsoCode", "ConversionRate", "IsCorporate", "IsActive", "DecimalPlaces"]
    assert ct.set_index("IsoCode").loc["USD", "ConversionRate"] == "1.000000"
    assert list(ct.loc[ct["IsCorporate"] == "true", "IsoCode"]) == ["USD"]
    dr = on.files["DatedConversionRate.csv"]
    assert list(dr.columns) == ["IsoCode", "ConversionRate", "StartDate", "NextStartDate"]
    assert set(dr["IsoCode"]) == {"EUR", "GBP"}  # none for the corporate currency
    for iso, g in dr.groupby("IsoCode"):
        g = g.sort_values("StartDate")
        assert g["StartDate"].iloc[0] == "0001-01-01" and g["NextStartDate"].iloc[-1] == "9999-12-31"
        assert (g["NextStartDate"].iloc[:-1].to_numpy() == g["StartDate"].iloc[1:].to_numpy()).all(), iso
        assert (g["ConversionRate"].astype(float) > 0).all()
        # the static rate is the one in effect at the extract
        assert ct.set_index("IsoCode").loc[iso, "ConversionRate"] == g["ConversionRate"].iloc[-1]
        starts = pd.to_datetime(g["StartDate"].iloc[1:])
        window = (starts >= "2023-01-01") & (starts < "2026-01-01")
        inside = window & ~((starts.dt.day == 1) & starts.dt.month.isin([1, 4, 7, 10]))
        assert inside.sum() >= 24, iso  # rates change inside quarters ...
        assert (window & (starts.dt.day != 1)).any(), iso  # ... and not only on the 1st
        # and the rate really changes at those boundaries
        assert (g["ConversionRate"].iloc[1:].to_numpy() != g["ConversionRate"].iloc[:-1].to_numpy()).mean() > 0.9


# ---------------------------------------------------------------------------
# deleted and merged rows
# ---------------------------------------------------------------------------


def test_deleted_records_truth_matches_the_files(runs):
    on = runs.on
    truth = on.deleted
    assert set(truth["kind"]) == {"deleted", "merged", "child_of_deleted"}
    for name in SAMPLE_FILES:
        df = on.files[name]
        mine = truth[truth["file"] == name]
        if "IsDeleted" not in df:
            assert name in ("User.csv", "OpportunityStage.csv") and mine.empty
            continue
        flagged = set(np.flatnonzero(df["IsDeleted"].to_numpy() == "true"))
        assert flagged == set(mine["row"].astype(int)), name
        assert (df["Id"].iloc[mine["row"].astype(int)].to_numpy() == mine["record_id"].to_numpy()).all(), name
        assert on.summary["rows"][name] == len(df) and on.info["rows_deleted"].get(name, 0) == len(flagged)
        if "MasterRecordId" in df:
            m = mine[mine["kind"] == "merged"]
            assert (df["MasterRecordId"].iloc[m["row"].astype(int)].to_numpy() == m["master_id"].to_numpy()).all()
            assert (df.loc[df["IsDeleted"] == "false", "MasterRecordId"] == "").all()
            assert set(mine.loc[mine["kind"] != "merged", "master_id"]) <= {""}
    # every object has deleted records; opportunities take history, tasks and events with them
    kinds = truth.groupby(["file", "kind"]).size()
    for name in ("Account.csv", "Contact.csv", "Lead.csv", "Opportunity.csv", "CampaignMember.csv", "Task.csv"):
        assert kinds.get((name, "deleted"), 0) >= 2, name
    for name in ("OpportunityHistory.csv", "Task.csv", "Event.csv", "CampaignMember.csv", "Contact.csv"):
        assert kinds.get((name, "child_of_deleted"), 0) >= 1, name
    for name in ("Account.csv", "Contact.csv", "Lead.csv"):
        assert kinds.get((name, "merged"), 0) >= 4, name


def test_children_of_deleted_records_point_at_them(runs):
    on = runs.on
    truth = on.deleted
    deleted_ids = set(truth["record_id"])
    header = {
        "OpportunityHistory.csv": ["OpportunityId"],
        "Task.csv": ["WhatId", "WhoId"],
        "Event.csv": ["WhatId"],
        "CampaignMember.csv": ["LeadId"],
        "Contact.csv": ["AccountId"],
    }
    for name, cols in header.items():
        df = on.files[name]
        child = truth[(truth["file"] == name) & (truth["kind"] == "child_of_deleted")]
        rows = df.iloc[child["row"].astype(int)]
        points = np.zeros(len(rows), bool)
        for c in cols:
            points |= rows[c].to_numpy() == child["parent_id"].to_numpy()
        assert points.all(), name
        assert set(child["parent_id"]) <= set(truth.loc[truth["kind"] == "deleted", "record_id"]), name
        # no kept row points at a deleted record (merged ones: only the re-pointed references)
        kept = live(on, name)
        for c in cols + (["AccountId"] if "AccountId" in kept and "AccountId" not in cols else []):
            hits = kept[widen(kept[c]).isin(deleted_ids)]
            rep = on.repointed[on.repointed["file"] == name]
            assert set(hits["Id"]) <= set(rep["record_id"]), (name, c)
    # deleted accounts have no kept children at all
    del_acc = set(truth.loc[(truth["file"] == "Account.csv") & (truth["kind"] == "deleted"), "record_id"])
    for name, col in (("Contact.csv", "AccountId"), ("Opportunity.csv", "AccountId"), ("Task.csv", "AccountId")):
        assert not widen(live(on, name)[col]).isin(del_acc).any(), name
    # a deleted record and its children: SystemModstamp is the deletion, after creation, before the extract
    extract = pd.Timestamp(on.info["extract_time"])
    for name in ("Opportunity.csv", "OpportunityHistory.csv", "Lead.csv", "Task.csv"):
        df = on.files[name]
        d = df[df["IsDeleted"] == "true"]
        stamp = pd.to_datetime(d["SystemModstamp"])
        assert (stamp >= pd.to_datetime(d["CreatedDate"])).all() and (stamp <= extract).all(), name


def test_merged_pairs_and_chains(runs):
    on = runs.on
    pairs = on.pairs
    for name, table in (("Lead.csv", "leads"), ("Contact.csv", "contacts"), ("Account.csv", "accounts")):
        df = on.files[name]
        merged = df[df["MasterRecordId"] != ""].set_index("Id")
        assert (merged["IsDeleted"] == "true").all()
        # follow MasterRecordId to the end, by hand
        survivor = {}
        for rid in merged.index:
            cur, steps = rid, 0
            while cur in merged.index:
                cur, steps = merged.loc[cur, "MasterRecordId"], steps + 1
            survivor[rid] = (cur, steps)
        p = pairs[pairs["object"] == table].set_index("merged_id")
        assert set(p.index) == set(merged.index), table
        assert all(p.loc[r, "master_id"] == s for r, (s, _) in survivor.items()), table
        assert all(int(p.loc[r, "merges_to_master"]) == k for r, (_, k) in survivor.items()), table
        # one chain: A merged into B, B (deleted, merged) into C
        chain = [r for r, (_, k) in survivor.items() if k == 2]
        assert len(chain) >= 1, table
        b = merged.loc[chain[0], "MasterRecordId"]
        assert merged.loc[b, "IsDeleted"] == "true" and merged.loc[b, "MasterRecordId"] == survivor[chain[0]][0]
        # the survivors are kept records
        kept_ids = set(live(on, name)["Id"])
        assert set(p["master_id"]) <= kept_ids, table
        # near-duplicates: same survivor's e-mail domain or website, but not the same row
        surv = df.drop_duplicates("Id").set_index("Id").loc[p["master_id"]]
        rows = merged.loc[p.index]
        name_col = "Name"
        differs = (rows[name_col].to_numpy() != surv[name_col].to_numpy()) | (
            rows["Phone"].to_numpy() != surv["Phone"].to_numpy()
        )
        if table != "accounts":
            differs |= rows["Email"].to_numpy() != surv["Email"].to_numpy()
        assert differs.all(), table
        assert (p["variation"] != "").all()
        assert p["variation"].str.contains("phone_national").any(), table


def test_kept_references_to_merged_records(runs):
    on = runs.on
    rep, pairs = on.repointed, on.pairs.set_index("merged_id")
    seen = set()
    for _, r in rep.iterrows():
        df = on.files[r["file"]]
        row = df.iloc[int(r["row"])]
        assert row["Id"] == r["record_id"] and row["IsDeleted"] == "false"
        assert widen(pd.Series([row[REF_HEADERS[r["column"]]]]))[0] == r["merged_id"]
        assert pairs.loc[r["merged_id"], "master_id"] == r["master_id"]
        seen.add((r["file"], r["column"]))
    # and those are all the kept rows that hold a merged-away Id
    for name in SAMPLE_FILES:
        kept = live(on, name)
        for canon, col in REF_HEADERS.items():
            if col in kept:
                hits = kept.index[widen(kept[col]).isin(pairs.index)]
                mine = rep[(rep["file"] == name) & (rep["column"] == canon)]
                assert set(hits) == set(mine["row"].astype(int)), (name, col)
    counts = rep.groupby("merged_id").size()
    assert (pairs["kept_references"].astype(int) == counts.reindex(pairs.index).fillna(0).astype(int)).all()
    # tasks, campaign members and opportunities all reference merged-away records ...
    assert {("Task.csv", "who_id"), ("CampaignMember.csv", "lead_id"), ("Opportunity.csv", "account_id")} <= seen
    # ... the head of a chain too: re-pointing must follow the chain to its end
    heads = pairs.index[pairs["merges_to_master"] == "2"]
    assert rep["merged_id"].isin(heads).any()


def test_ids_stay_unique_and_in_creation_order(runs):
    on = runs.on
    for name in SAMPLE_FILES:
        df = on.files[name].drop(index=sorted(quarantined(on, name)))
        ids = df["Id"]
        assert ids.is_unique, name
        assert (ids.map(lambda v: to_18(v[:15])) == ids).all(), name
        if name != "OpportunityStage.csv":
            assert ids.str[:15].is_monotonic_increasing, name


# ---------------------------------------------------------------------------
# corporate-currency truth
# ---------------------------------------------------------------------------


def test_bookings_in_usd_match_the_files(runs):
    on = runs.on
    opp = live(on, "Opportunity.csv")
    won = opp[opp["IsWon"].str.strip().str.lower() == "true"].copy()
    won["usd"] = pd.to_numeric(won["Amount"].replace("", None)) / rate_on(on, won["CurrencyIsoCode"], won["CloseDate"])
    won["q"] = pd.PeriodIndex(pd.to_datetime(won["CloseDate"]), freq="Q").astype(str)
    expect = won.groupby("q").agg(n=("usd", "size"), usd=("usd", "sum"))
    truth = on.bookings.set_index("close_quarter")
    assert list(truth.index) == list(expect.index)
    assert (truth["won_deals"].astype(int) == expect["n"]).all()
    assert np.allclose(truth["bookings_usd"].astype(float), expect["usd"], atol=0.006)
    # the currencies matter: at the static rate the figures differ
    assert not np.allclose(
        truth["bookings_usd"].astype(float),
        won.groupby("q")["Amount"].apply(lambda s: pd.to_numeric(s.replace("", None)).sum()),
    )


def test_open_pipeline_in_usd_matches_the_history(runs):
    on = runs.on
    stages = on.files["OpportunityStage.csv"].set_index("MasterLabel")["IsClosed"]
    h = live(on, "OpportunityHistory.csv").copy()
    h["opp"] = widen(h["OpportunityId"])
    opp_ids = set(live(on, "Opportunity.csv")["Id"])
    h = h[h["opp"].isin(opp_ids)]
    h["t"] = pd.to_datetime(h["CreatedDate"])
    h["stage"] = h["StageName"].str.split().str.join(" ").str.casefold()
    closed = {k.casefold(): v == "true" for k, v in stages.items()}
    truth = on.pipeline
    assert len(truth) >= 3
    for _, r in truth.iterrows():
        end = pd.Timestamp(r["as_of"], tz="UTC") + DAY
        state = h[h["t"] < end].sort_values("t").groupby("opp").tail(1)
        state = state[~state["stage"].map(closed)]
        amount = pd.to_numeric(state["Amount"].replace("", None))
        usd = amount / rate_on(on, state["CurrencyIsoCode"], state["CloseDate"])
        assert int(r["open_deals"]) == len(state), r["as_of"]
        assert abs(float(r["open_pipeline_usd"]) - usd.sum()) < 0.006, r["as_of"]


def test_close_dates_move_across_rate_boundaries_without_amount_changes(runs):
    on = runs.on
    h = live(on, "OpportunityHistory.csv").copy()
    h["OpportunityId"] = widen(h["OpportunityId"])  # the cleaner's fixes, by hand
    h["StageName"] = h["StageName"].str.split().str.join(" ").str.casefold()
    h = h.sort_values(["OpportunityId", "CreatedDate"])
    prev = h.groupby("OpportunityId").shift(1)
    moved = prev["CloseDate"].notna() & (prev["CloseDate"] != h["CloseDate"])
    only_close = moved & (prev["StageName"] == h["StageName"])
    # local amounts do not change when only the close date moves
    assert only_close.sum() > 20
    assert (h.loc[only_close, "Amount"] == prev.loc[only_close, "Amount"]).all()
    # some of those moves cross a rate boundary: the USD value moves with the rate alone
    m = h[only_close & (h["CurrencyIsoCode"] != "USD")]
    p = prev.loc[m.index]
    r_new = rate_on(on, m["CurrencyIsoCode"], m["CloseDate"])
    r_old = rate_on(on, m["CurrencyIsoCode"], p["CloseDate"])
    crossing = m[r_new != r_old]
    opp = live(on, "Opportunity.csv").set_index("Id")
    state = opp.loc[opp.index.intersection(crossing["OpportunityId"]), ["IsWon", "IsClosed"]]
    assert (state["IsWon"] == "true").any(), "a won deal moved across a rate boundary"
    assert (state["IsClosed"] == "false").any(), "an open deal moved across a rate boundary"


# ---------------------------------------------------------------------------
# modification stamps and the extract time
# ---------------------------------------------------------------------------


def test_modstamps(runs):
    on = runs.on
    extract = pd.Timestamp(on.info["extract_time"])
    assert extract < pd.Timestamp(on.info["window_end"])
    latest = []
    for name in SAMPLE_FILES:
        df = live(on, name)
        assert "SystemModstamp" in df, name
        assert ("LastModifiedDate" in df) == (name != "OpportunityHistory.csv"), name
        stamp = pd.to_datetime(df["SystemModstamp"])
        if "LastModifiedDate" in df:
            assert (pd.to_datetime(df["LastModifiedDate"]) <= stamp).all(), name
        if "CreatedDate" in df:
            created = pd.to_datetime(df["CreatedDate"], errors="coerce")
            assert (stamp >= created.fillna(stamp)).all(), name
            latest.append(created.max())
        latest.append(stamp.max())
        assert (stamp <= extract).all(), name
    assert max(latest) == extract
    # an opportunity was last changed no earlier than its last history row
    opp = live(on, "Opportunity.csv").set_index("Id")
    h = live(on, "OpportunityHistory.csv")
    last = pd.to_datetime(h["CreatedDate"], errors="coerce").groupby(widen(h["OpportunityId"])).max()
    both = opp.index.intersection(last.index)
    assert (pd.to_datetime(opp.loc[both, "SystemModstamp"]) >= last[both]).all()
    # converted leads were last changed at their conversion
    lead = live(on, "Lead.csv")
    conv = lead[(lead["IsConverted"] == "true") & (lead["ConvertedDate"] >= lead["CreatedDate"].str[:10])]
    assert (conv["LastModifiedDate"].str[:10] == conv["ConvertedDate"]).mean() > 0.95


# ---------------------------------------------------------------------------
# options: determinism, validation, summary
# ---------------------------------------------------------------------------


def test_same_seed_same_bytes_with_the_options(runs, tmp_path):
    again = generate_sample(tmp_path / "on", scale=SCALE, seed=SEED, **ALL)
    for name in list(SAMPLE_FILES) + list(CURRENCY_FILES):
        assert (tmp_path / "on" / name).read_bytes() == (runs.on.out / name).read_bytes(), name
    for p in sorted(Path(f"{runs.on.out}_truth").iterdir()):
        assert (tmp_path / "on_truth" / p.name).read_bytes() == p.read_bytes(), p.name
    assert again["deleted_rows"] == runs.on.summary["deleted_rows"]


def test_the_defaults_are_every_option_on(runs, tmp_path):
    """The sample users get (no option passed, the org shapes at their default) is the export with all four
    options on, byte for byte; SAMPLE_OPTIONS (what the CLI offers) holds the signature's defaults."""
    defaults = {k: p.default for k, p in inspect.signature(generate_sample).parameters.items() if k in SAMPLE_OPTIONS}
    assert defaults == SAMPLE_OPTIONS and all(
        SAMPLE_OPTIONS[k] for k in ("deleted", "merged", "currencies", "modstamps")
    )
    if any(SAMPLE_OPTIONS[k] for k in ORG_SHAPES):  # the shapes on by default: compared in test_shapes.py
        return
    default = generate_sample(tmp_path / "default", scale=SCALE, seed=SEED)
    names = sorted(p.name for p in (tmp_path / "default").iterdir())
    assert names == sorted(list(SAMPLE_FILES) + list(CURRENCY_FILES))
    for name in names:
        assert (tmp_path / "default" / name).read_bytes() == (runs.on.out / name).read_bytes(), name
    truth = sorted(p.name for p in (tmp_path / "default_truth").iterdir())
    assert truth == sorted(p.name for p in Path(f"{runs.on.out}_truth").iterdir())
    for name in truth:
        assert (tmp_path / "default_truth" / name).read_bytes() == (Path(f"{runs.on.out}_truth") / name).read_bytes()
    assert default["deleted_rows"] == runs.on.summary["deleted_rows"]


def test_truth_json_describes_the_options(runs):
    info = runs.on.info
    assert info["options"] == {k: v for k, v in ALL.items() if k not in ORG_SHAPES}
    for name in (
        "deleted_records.csv",
        "merged_pairs.csv",
        "repointed_references.csv",
        "bookings_corporate.csv",
        "open_pipeline.csv",
    ):
        assert name in info["truth_files"], name
    assert info["rows_written"]["CurrencyType.csv"] == 3
    assert "options" not in runs.off.info and "extract_time" not in runs.off.info


@pytest.mark.parametrize("option", ["deleted", "merged", "currencies", "modstamps"])
def test_an_option_must_be_a_bool(tmp_path, option):
    with pytest.raises(TypeError, match=f"{option} must be True or False"):
        generate_sample(tmp_path / "x", scale=0.02, **{option: "yes"})
