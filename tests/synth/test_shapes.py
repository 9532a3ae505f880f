"""The org shapes of issue 16: field history with its gaps, lead statuses, queues, contact roles,
custom fields with describe files, the joined source.

Every expected value is recomputed here with plain pandas from the written files (the truth folder is
computed from the simulation, never from the files), or compared with a run with the shapes off.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from funnel_analysis.synth import ORG_SHAPES, SHAPE_FILES, generate_sample

SCALE, SEED = 0.15, 5
SHAPES = {**dict.fromkeys(ORG_SHAPES, True), "routing": False}  # routing: tests/synth/test_routing_truth.py
#: the files of the shapes tested here (routing's calendar files are in test_routing_truth.py)
SHAPE_FILES = tuple(f for f in SHAPE_FILES if f not in ("BusinessHours.csv", "Holiday.csv"))
NONE = dict.fromkeys(ORG_SHAPES, False)
REAL = dict(deleted=True, merged=True, currencies=True, modstamps=True)
PLAIN = dict(deleted=False, merged=False, currencies=False, modstamps=False)


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def run(base: Path, label: str, **options) -> SimpleNamespace:
    out = base / label
    summary = generate_sample(out, scale=SCALE, seed=SEED, **options)
    truth = Path(f"{out}_truth")
    return SimpleNamespace(
        out=out,
        truth=truth,
        summary=summary,
        f=lambda name: read(out / name),
        t=lambda name: read(truth / name),
        info=json.loads((truth / "truth.json").read_text(encoding="utf-8")),
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("shapes")
    return SimpleNamespace(
        on=run(base, "on", **REAL, **SHAPES),
        off=run(base, "off", **REAL, **NONE),
        plain=run(base, "plain", **PLAIN, **SHAPES),
        defaults=run(base, "defaults_on", **SHAPES),
    )


def live(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["IsDeleted"] != "true"] if "IsDeleted" in df else df


def ts(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, format="%Y-%m-%dT%H:%M:%S.000+0000", errors="coerce")  # dirty rows: NaT


# ---------------------------------------------------------------------------
# determinism and the off switch
# ---------------------------------------------------------------------------


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_arguments_same_bytes(runs, tmp_path):
    generate_sample(tmp_path / "again", scale=SCALE, seed=SEED, **REAL, **SHAPES)
    assert tree(tmp_path / "again") == tree(runs.on.out)
    assert tree(tmp_path / "again_truth") == tree(runs.on.truth)


def test_defaults_plus_shapes_is_the_real_org_with_shapes(runs):
    assert tree(runs.defaults.out) == tree(runs.on.out)


def test_shapes_off_changes_nothing(runs):
    """With the shapes off no new file is written, and the files no shape is about are the same bytes with them on."""
    off, on = tree(runs.off.out), tree(runs.on.out)
    assert not set(SHAPE_FILES) & set(off) and not any(k.startswith("joined_source") for k in off)
    assert set(SHAPE_FILES) <= set(on) and {"Lead.describe.json", "Opportunity.describe.json"} <= set(on)
    for name in (
        "User.csv",
        "Account.csv",
        "Contact.csv",
        "Campaign.csv",
        "CampaignMember.csv",
        "Task.csv",
        "Event.csv",
    ):
        assert on[name] == off[name], name
    assert "org_shapes" not in runs.off.info and "org_shapes" in runs.on.info


@pytest.mark.parametrize("option", ORG_SHAPES)
def test_a_shape_option_must_be_a_bool(tmp_path, option):
    with pytest.raises(TypeError, match=f"{option} must be True or False"):
        generate_sample(tmp_path / "x", scale=0.02, **{option: "yes"})


def test_an_unknown_option_is_refused(tmp_path):
    with pytest.raises(TypeError, match="org_shapes"):
        generate_sample(tmp_path / "x", scale=0.02, org_shapes=True)


# ---------------------------------------------------------------------------
# field history: consistent with the lifecycle, each gap present and recorded
# ---------------------------------------------------------------------------


def ordered(h: pd.DataFrame, key: str) -> pd.DataFrame:
    return h.assign(t=ts(h["CreatedDate"])).sort_values([key, "t", "Id"], kind="stable")


def test_history_columns(runs):
    cols = ["Id", "Field", "OldValue", "NewValue", "DataType", "CreatedDate", "CreatedById", "IsDeleted"]
    assert list(runs.on.f("LeadHistory.csv").columns) == cols[:1] + ["LeadId"] + cols[1:]
    assert list(runs.on.f("OpportunityFieldHistory.csv").columns) == cols[:1] + ["OpportunityId"] + cols[1:]
    assert "IsDeleted" not in runs.plain.f("LeadHistory.csv")


def test_retention_cut(runs):
    gaps = runs.on.info["org_shapes"]["field_history"]["gaps"]
    cut = pd.Timestamp(gaps["retention"]["cut"]).tz_convert(None)
    extract = pd.Timestamp(runs.on.info["extract_time"]).tz_convert(None)
    assert cut == extract - pd.DateOffset(months=18)
    for name in ("LeadHistory.csv", "OpportunityFieldHistory.csv"):
        t = ts(runs.on.f(name)["CreatedDate"])
        assert t.min() >= cut and t.min() < cut + pd.Timedelta(days=2), name
        assert t.max() <= extract, name
        assert gaps["retention"]["rows_dropped"][name] > 100, name


def test_status_tracking_switched_on_mid_life(runs):
    gaps = runs.on.info["org_shapes"]["field_history"]["gaps"]
    on = pd.Timestamp(gaps["tracking_switched_on"]["at"]).tz_convert(None)
    h = runs.on.f("LeadHistory.csv")
    t = ts(h["CreatedDate"])
    status, other = t[h["Field"] == "Status"], t[h["Field"] != "Status"]
    assert status.min() >= on and status.min() < on + pd.Timedelta(days=3)
    assert other.min() < on - pd.Timedelta(days=30)  # created and Owner rows go back further
    assert gaps["tracking_switched_on"]["status_changes_not_written"] > 0


def test_status_rows_chain_to_the_lead_status(runs):
    """Each Status row's OldValue is the previous row's NewValue; the last NewValue is the lead's Status."""
    h = ordered(live(runs.on.f("LeadHistory.csv")), "LeadId")
    s = h[h["Field"] == "Status"]
    prev = s.groupby("LeadId")["NewValue"].shift()
    assert (s["OldValue"][prev.notna()] == prev[prev.notna()]).all()
    leads = live(runs.on.f("Lead.csv")).drop_duplicates("Id").set_index("Id")
    dirty = runs.on.t("dirty_rows.csv")
    bad = set(dirty.loc[(dirty["file"] == "Lead.csv") & (dirty["column"] == "status"), "record_id"])
    last = s.groupby("LeadId")["NewValue"].last()
    last = last[~last.index.isin(bad)]
    assert (leads.loc[last.index, "Status"] == last).all()
    assert len(last) > 200


def test_owner_changes_are_two_rows_at_the_same_second(runs):
    h = live(runs.on.f("LeadHistory.csv"))
    owner = h[h["Field"] == "Owner"]
    pairs = owner.groupby(["LeadId", "CreatedDate"])["DataType"].agg(lambda x: tuple(sorted(x)))
    assert (pairs == ("EntityId", "Text")).all()
    names = pd.concat(
        [
            runs.on.f("User.csv").set_index("Id")["Name"],
            runs.on.f("Group.csv").set_index("Id")["Name"],
        ]
    )
    ent = owner[owner["DataType"] == "EntityId"].set_index(["LeadId", "CreatedDate"])
    text = owner[owner["DataType"] == "Text"].set_index(["LeadId", "CreatedDate"])
    assert (ent["NewValue"].map(names) == text.loc[ent.index, "NewValue"]).all()
    assert (ent["OldValue"].map(names) == text.loc[ent.index, "OldValue"]).all()
    # both orders of the pair occur
    first = owner.sort_values(["LeadId", "CreatedDate", "Id"]).groupby(["LeadId", "CreatedDate"])["DataType"].first()
    assert set(first) == {"EntityId", "Text"}
    # the last Owner row is the lead's owner
    last = ordered(ent.reset_index(), "LeadId").groupby("LeadId")["NewValue"].last()
    leads = live(runs.on.f("Lead.csv")).drop_duplicates("Id").set_index("Id")["OwnerId"]
    assert (leads.loc[last.index].str[:15] == last.str[:15]).mean() > 0.98  # a few OwnerIds are dirty (15 chars)


def test_same_second_status_steps_are_ordered_by_id(runs):
    ties = runs.on.info["org_shapes"]["field_history"]["gaps"]["same_second"]["lead_status_steps_in_one_second"]
    assert len(ties) >= 3
    h = runs.on.f("LeadHistory.csv")
    s = h[(h["Field"] == "Status") & h["LeadId"].isin(ties)].sort_values(["LeadId", "Id"])
    per = s.groupby("LeadId").agg(n=("Id", "size"), seconds=("CreatedDate", "nunique"), last=("NewValue", "last"))
    assert (per["n"] >= 2).all() and (per["seconds"] == 1).all() and (per["last"] == "Converted").all()
    assert runs.on.info["org_shapes"]["field_history"]["gaps"]["same_second"]["opportunity_rows_sharing_a_second"] > 0


def test_created_rows(runs):
    h = live(runs.on.f("LeadHistory.csv"))
    created = h[h["Field"] == "created"]
    assert created["OldValue"].eq("").all() and created["NewValue"].eq("").all()
    cut = pd.Timestamp(runs.on.info["org_shapes"]["field_history"]["gaps"]["retention"]["cut"]).tz_convert(None)
    leads = live(runs.on.f("Lead.csv")).drop_duplicates("Id")
    young = leads[ts(leads["CreatedDate"]) >= cut]
    assert set(young["Id"]) <= set(created["LeadId"])
    assert (created["LeadId"].value_counts() == 1).all()


def test_history_of_deleted_records_is_deleted(runs):
    for name, key, parent in (
        ("LeadHistory.csv", "LeadId", "Lead.csv"),
        ("OpportunityFieldHistory.csv", "OpportunityId", "Opportunity.csv"),
    ):
        h, p = runs.on.f(name), runs.on.f(parent)
        gone = set(p.loc[p["IsDeleted"] == "true", "Id"])
        dh = h[h["IsDeleted"] == "true"]
        assert len(dh) and set(dh[key]) <= gone, name
        assert not (set(h.loc[h["IsDeleted"] == "false", key]) & gone), name


def test_opportunity_field_history_matches_opportunity_history(runs):
    fh = live(runs.on.f("OpportunityFieldHistory.csv"))
    oh = live(runs.on.f("OpportunityHistory.csv"))
    for field, col in (("StageName", "StageName"), ("CloseDate", "CloseDate"), ("Amount", "Amount")):
        rows = fh[fh["Field"] == field]
        got = rows.merge(oh, on=["OpportunityId", "CreatedDate"], how="left", suffixes=("", "_oh"))
        same = got["NewValue"] == got[f"{col}_oh" if f"{col}_oh" in got else col]
        assert same.mean() > 0.97, field  # the rest: dirty forms in OpportunityHistory.csv
        assert len(rows) > 50, field


def test_close_date_pushes_truth(runs):
    """The pushes visible in the file per deal, recomputed from OpportunityFieldHistory.csv; and, for the deals
    whose whole life is in the file, the true count from OpportunityHistory.csv."""
    truth = runs.on.t("close_date_pushes.csv").set_index("opportunity_id")
    fh = live(runs.on.f("OpportunityFieldHistory.csv"))
    cd = fh[fh["Field"] == "CloseDate"]
    seen = cd[cd["NewValue"] > cd["OldValue"]].groupby("OpportunityId").size()
    got = seen.reindex(truth.index, fill_value=0)
    assert (got == truth["pushes_in_history"].astype(int)).all()
    oh = live(runs.on.f("OpportunityHistory.csv")).assign(t=lambda d: ts(d["CreatedDate"]))
    oh = oh.sort_values(["OpportunityId", "t", "Id"])
    prev = oh.groupby("OpportunityId")["CloseDate"].shift()
    pushed = oh[prev.notna() & (oh["CloseDate"] > prev)]
    full = pushed.groupby("OpportunityId").size().reindex(truth.index, fill_value=0)
    complete = truth["complete_in_history"] == "true"
    assert (full[complete] == truth.loc[complete, "pushes"].astype(int)).mean() > 0.99
    assert (truth["pushes"].astype(int) >= 3).sum() >= 5  # some deals slip several times
    assert (~complete).any() and complete.any()


def status_as_of(h: pd.DataFrame, leads: pd.Series, day: str) -> pd.Series:
    """A lead's Status at the end of ``day`` from LeadHistory alone: the last row on or before it, else the
    first later row's OldValue, else the lead's current Status."""
    end = pd.Timestamp(day) + pd.Timedelta(days=1)
    s = ordered(h[h["Field"] == "Status"], "LeadId")
    before = s[s["t"] < end].groupby("LeadId")["NewValue"].last()
    after = s[s["t"] >= end].groupby("LeadId")["OldValue"].first()
    return before.combine_first(after).combine_first(leads)


def test_lead_status_on_dates_truth(runs):
    truth = runs.on.t("lead_status_on_dates.csv")
    dates = runs.on.info["org_shapes"]["field_history"]["lead_status_dates"]
    assert sorted(truth["on_date"].unique()) == dates and len(dates) == 3
    h = live(runs.on.f("LeadHistory.csv"))
    leads = live(runs.on.f("Lead.csv")).drop_duplicates("Id").set_index("Id")["Status"]
    dirty = runs.on.t("dirty_rows.csv")
    bad = set(dirty.loc[(dirty["file"] == "Lead.csv") & (dirty["column"] == "status"), "record_id"])
    known = truth[(truth["known"] == "true") & ~truth["lead_id"].isin(bad)]
    assert len(known) > 500
    for day, rows in known.groupby("on_date"):
        got = status_as_of(h, leads, day).reindex(rows["lead_id"]).to_numpy()
        assert (got == rows["status"].to_numpy()).all(), day
    # where the history cannot tell, the naive answer is sometimes wrong
    unknown = truth[truth["known"] == "false"]
    assert len(unknown) and (unknown["status"] != unknown["lead_id"].map(leads)).any()


# ---------------------------------------------------------------------------
# lead statuses, queues, contact roles, custom fields
# ---------------------------------------------------------------------------


def test_lead_statuses(runs):
    st = runs.on.f("LeadStatus.csv")
    assert list(st.columns) == ["Id", "MasterLabel", "ApiName", "SortOrder", "IsConverted", "IsDefault"]
    assert st["MasterLabel"].tolist()[:2] == ["New", "Attempting Contact"]
    assert (st["IsDefault"] == "true").sum() == 1 and st.loc[st["IsConverted"] == "true", "MasterLabel"].tolist() == [
        "Converted"
    ]
    leads = live(runs.on.f("Lead.csv"))
    dirty = runs.on.t("dirty_rows.csv")
    bad = dirty.loc[(dirty["file"] == "Lead.csv") & (dirty["column"] == "status"), "row"].astype(int)
    status = leads["Status"].drop(index=bad, errors="ignore")
    assert set(status) <= set(st["MasterLabel"]) and set(status) >= {"New", "Nurture", "Converted", "Disqualified"}
    h = runs.on.f("LeadHistory.csv")
    s = h[h["Field"] == "Status"]
    assert set(s["OldValue"]) | set(s["NewValue"]) <= set(st["MasterLabel"])
    conv = leads.drop(index=bad, errors="ignore")
    assert (conv.loc[conv["IsConverted"] == "true", "Status"] == "Converted").all()
    # off: the default statuses, no LeadStatus.csv
    assert "Open - Not Contacted" in set(live(runs.off.f("Lead.csv"))["Status"])


def test_queues(runs):
    groups, members = runs.on.f("Group.csv"), runs.on.f("GroupMember.csv")
    assert groups["Id"].str.startswith("00G").all() and set(groups["Type"]) == {"Queue", "Regular"}
    leads = live(runs.on.f("Lead.csv"))
    queue_owned = leads[leads["OwnerId"].str.startswith("00G")]
    assert len(queue_owned) >= 3
    assert set(queue_owned["OwnerId"]) <= set(groups.loc[groups["Type"] == "Queue", "Id"])
    qt = runs.on.t("queue_time.csv")
    still = qt[qt["still_in_queue"] == "true"]
    dirty_ids = set(runs.on.t("dirty_rows.csv").query("file == 'Lead.csv'")["record_id"])
    assert set(queue_owned["Id"]) - dirty_ids <= set(still["lead_id"]) <= set(queue_owned["Id"])
    assert (queue_owned["Status"] == "New").all()
    picked = qt[qt["still_in_queue"] == "false"]
    pairs = set(zip(members["GroupId"], members["UserOrGroupId"]))
    assert all((q, u) in pairs for q, u in zip(picked["queue_id"], picked["picked_up_by"]))
    hours = (ts(picked["picked_up_at"]) - ts(picked["entered_queue_at"])).dt.total_seconds() / 3600
    assert (hours - picked["hours_in_queue"].astype(float)).abs().max() < 0.001
    # the pickups in the file are Owner rows from the queue to the SDR
    h = runs.on.f("LeadHistory.csv")
    ent = h[(h["Field"] == "Owner") & (h["DataType"] == "EntityId")].set_index("LeadId")
    inh = picked[picked["pickup_in_history"] == "true"].set_index("lead_id")
    assert len(inh) > 20
    assert (ent.loc[inh.index, "OldValue"] == inh["queue_id"]).all()
    assert (ent.loc[inh.index, "NewValue"] == inh["picked_up_by"]).all()


def test_contact_roles(runs):
    roles = live(runs.on.f("OpportunityContactRole.csv"))
    assert list(runs.on.f("OpportunityContactRole.csv").columns) == [
        "Id",
        "OpportunityId",
        "ContactId",
        "Role",
        "IsPrimary",
        "CreatedDate",
        "IsDeleted",
    ]
    opps = live(runs.on.f("Opportunity.csv")).drop_duplicates("Id").set_index("Id")
    contacts = live(runs.on.f("Contact.csv")).drop_duplicates("Id").set_index("Id")
    merged = runs.on.t("merged_pairs.csv").set_index("merged_id")["master_id"]
    resolve = lambda s: s.map(merged).fillna(s).str[:15]  # noqa: E731  (15: a few dirty 15-character Ids)
    deal_account = resolve(roles["OpportunityId"].map(opps["AccountId"]))
    contact_account = resolve(roles["ContactId"].map(contacts["AccountId"]))
    assert (deal_account == contact_account).mean() > 0.99
    per = roles.groupby("OpportunityId").agg(n=("Id", "size"), primary=("IsPrimary", lambda x: (x == "true").sum()))
    assert per["n"].between(1, 4).all() and (per["primary"] == 1).all()
    assert not roles.duplicated(["OpportunityId", "ContactId"]).any()
    assert 0.5 < len(per) / len(opps) < 0.95  # some deals without roles
    assert (ts(roles["CreatedDate"]) >= ts(roles["OpportunityId"].map(opps["CreatedDate"]))).all()


def test_custom_fields_and_describe_files(runs):
    for obj in ("Lead", "Opportunity"):
        doc = json.loads((runs.on.out / f"{obj}.describe.json").read_text(encoding="utf-8"))
        header = list(pd.read_csv(runs.on.out / f"{obj}.csv", nrows=0).columns)
        assert doc["name"] == obj and [f["name"] for f in doc["fields"]] == header
        custom = {f["name"]: f["type"] for f in doc["fields"] if f["name"].endswith("__c")}
        assert set(custom) == {h for h in header if h.endswith("__c")}
    leads = live(runs.on.f("Lead.csv"))
    zips = leads["Zip__c"][leads["Zip__c"] != ""]
    assert "00501" in set(zips) and zips.str.fullmatch(r"\d{4,8}").all()
    assert pd.to_numeric(leads["Lead_Score__c"].replace("", None)).dropna().between(0, 100).all()
    opps = live(runs.on.f("Opportunity.csv"))
    assert set(opps["Budget_Confirmed__c"]) == {"true", "false"}
    assert (opps.loc[opps["IsWon"] == "true", "Budget_Confirmed__c"] == "true").all()
    disc = pd.to_numeric(opps.loc[opps["IsWon"] == "true", "Discount__c"])
    assert disc.between(0, 100).all() and (disc > 0).any()
    assert (opps.loc[opps["IsWon"] != "true", "Discount__c"] == "").all()
    arr, amount = (
        pd.to_numeric(opps["ARR__c"].replace("", None)),
        pd.to_numeric(opps["Amount"].replace("", None), errors="coerce"),
    )
    dirty = runs.on.t("dirty_rows.csv")
    clean = ~opps.index.isin(dirty.loc[dirty["file"] == "Opportunity.csv", "row"].astype(int))
    ok = arr.notna() & amount.notna() & clean
    assert (arr[ok] <= amount[ok] + 0.01).all()


def test_joined_source(runs):
    folder = runs.on.out / "joined_source"
    leads, deals = read(folder / "leads.csv"), read(folder / "deals.csv")
    assert list(leads.columns) == [
        "lead_id",
        "created_at",
        "email",
        "first_name",
        "last_name",
        "company",
        "source",
        "status",
        "owner_id",
    ]
    assert list(deals.columns) == [
        "deal_id",
        "lead_id",
        "account_id",
        "name",
        "created_at",
        "stage",
        "amount",
        "close_date",
        "owner_id",
    ]
    with_deal = deals[deals["lead_id"] != ""]
    assert set(with_deal["lead_id"]) <= set(leads["lead_id"])
    first = with_deal.sort_values(["created_at", "deal_id"]).groupby("lead_id")["deal_id"].first()
    truth = runs.on.t("joined_converted_leads.csv").set_index("lead_id")
    assert set(truth.index) == set(first.index)
    assert (truth.loc[first.index, "deal_id"] == first).all()
    assert (truth["n_deals"].astype(int) == 2).sum() >= 3
    assert (with_deal.groupby("lead_id").size() == truth["n_deals"].astype(int).reindex(first.index)).all()
    # the status never tells the conversion; the Lead.csv lead converted
    assert "converted" not in set(leads["status"])
    sf = live(runs.on.f("Lead.csv")).drop_duplicates("Id").set_index("Id")
    assert (sf.loc[truth["sf_lead_id"], "IsConverted"] == "true").mean() > 0.99
    # the second deal sometimes comes first in the file
    pos = {d: i for i, d in enumerate(deals["deal_id"])}
    two = with_deal[with_deal["lead_id"].isin(truth.index[truth["n_deals"] == "2"])]
    later_first = two.groupby("lead_id").apply(
        lambda g: (
            pos[g.sort_values("created_at")["deal_id"].iloc[-1]] < pos[g.sort_values("created_at")["deal_id"].iloc[0]]
        )
    )
    assert later_first.any()


def test_without_deleted_rows_the_shapes_still_hold(runs):
    """With the real-org options off (no IsDeleted, one currency) the shapes are written the same way."""
    p = runs.plain
    assert set(SHAPE_FILES) <= {x.name for x in p.out.iterdir()}
    assert "IsDeleted" not in p.f("OpportunityContactRole.csv")
    assert "extract_time" not in p.info and p.info["org_shapes"]["field_history"]["gaps"]["retention"]["cut"]
