"""funnel_analysis.crm.store: pulls into the Parquet store against recorded API responses (no network).

The recorded org and its two pulls are described in tests/sfapi_recorded.py; every expected value
below is read off those JSON files by hand.
"""

import json
import logging
import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("simple_salesforce")
responses = pytest.importorskip("responses")
from simple_salesforce import Salesforce  # noqa: E402
from simple_salesforce.exceptions import SalesforceError  # noqa: E402

import funnel_analysis as fa  # noqa: E402
from funnel_analysis.crm import salesforce as sfapi  # noqa: E402
from funnel_analysis.crm import store as store_mod  # noqa: E402
from funnel_analysis.crm.salesforce import SalesforceConfigError  # noqa: E402
from funnel_analysis.crm.store import (  # noqa: E402
    MANIFEST,
    StoreError,
    pull_salesforce,
    read_manifest,
    store_pulled_at,
    upsert_rows,
)
from tests import sfapi_recorded as rec  # noqa: E402

E, F, G = "0065g00000AbCdEAAV", "0065g00000AbCdFAAV", "0065g00000AbCdGAAV"
FIRST = "2024-02-13T06:00:00Z"
SECOND = "2024-02-22T06:00:00Z"


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def creds(monkeypatch):
    rec.env(monkeypatch)


def snapshot(folder: Path) -> dict:
    """Every file under the folder's parent but the pull's lock: name -> bytes (so leftovers beside it show too)."""
    files = (p for p in sorted(folder.parent.rglob("*")) if p.is_file() and not p.name.endswith(".pull.lock"))
    return {str(p.relative_to(folder.parent)): p.read_bytes() for p in files}


def first_pull(api, store, **kwargs):
    rec.record_first_pull(api)
    return pull_salesforce(store, objects=rec.OBJECTS, progress=False, now=FIRST, **kwargs)


def frame(store, obj):
    return pq.read_table(store / f"{obj}.parquet").to_pandas()


# --- the first pull ---------------------------------------------------------


def test_first_pull_writes_text_parquet_per_object_describes_and_manifest(api, creds, tmp_path):
    store = tmp_path / "data"
    result = first_pull(api, store)
    assert sorted(p.name for p in store.iterdir()) == [
        "Opportunity.describe.json",
        "Opportunity.parquet",
        "OpportunityFieldHistory.describe.json",
        "OpportunityFieldHistory.parquet",
        MANIFEST,
    ]
    schema = pq.read_schema(store / "Opportunity.parquet")
    assert all(t == pa.string() for t in schema.types)  # typed as text, like an export
    opps = frame(store, "Opportunity")
    assert opps["Id"].tolist() == [E, F, G]  # both pages, in the order read
    assert opps["Amount"].tolist()[:2] == ["24000.0", "125000.5"] and pd.isna(opps["Amount"][2])
    assert opps["IsDeleted"].tolist() == ["false"] * 3
    assert opps["SystemModstamp"].tolist()[2] == "2024-02-12T11:20:45.000Z"  # +0000 written as Z
    doc = read_manifest(store)
    assert doc["instance"] == "example.my.salesforce.com" and doc["pulled_at"] == "2024-02-13T06:00:00.000Z"
    assert doc["objects"]["Opportunity"] | {"pulled_at": None} == {
        "file": "Opportunity.parquet",
        "stamp_field": "SystemModstamp",
        "high_water_mark": rec.OPP_MARK_1,
        "rows": 3,
        "deleted_rows": 0,
        "pulled_at": None,
        "read": "full",
        "since": None,
        "fetched": 3,
        "fetched_deleted": 0,
        "api": "rest",
    }
    history = doc["objects"]["OpportunityFieldHistory"]
    assert (history["stamp_field"], history["high_water_mark"], history["rows"]) == ("CreatedDate", rec.OFH_MARK_1, 2)
    assert result.objects["read"].tolist() == ["full", "full"] and result.skipped == {}


def test_the_store_loads_like_an_export(api, creds, tmp_path):
    store = tmp_path / "data"
    first_pull(api, store)
    crm = fa.load_org(store)
    assert sorted(crm.opportunities["opportunity_id"]) == [E, F, G]
    assert len(crm.tables["opportunity_field_history"]) == 2
    assert crm.report.ignored_files == []
    assert fa.crm.extract_time(crm).timestamp == pd.Timestamp("2024-02-12 11:20:45")  # deal G's SystemModstamp


# --- the incremental pull ---------------------------------------------------


def test_incremental_pull_upserts_a_changed_and_a_deleted_record(api, creds, tmp_path):
    store = tmp_path / "data"
    first_pull(api, store)
    rec.record_incremental_pull(api)
    result = pull_salesforce(store, objects=rec.OBJECTS, progress=False, now=SECOND)
    opps = frame(store, "Opportunity").set_index("Id")
    assert list(opps.index) == [F, E, G]  # the unchanged deal, then the two read again
    assert opps.loc[E, "StageName"] == "Closed Lost" and opps.loc[E, "IsClosed"] == "true"
    assert opps.loc[G, "IsDeleted"] == "true"  # kept, as a deleted row
    assert opps.loc[F, "StageName"] == "Closed Won"  # untouched
    entry = read_manifest(store)["objects"]["Opportunity"]
    assert (entry["read"], entry["since"], entry["fetched"], entry["fetched_deleted"]) == (
        "incremental",
        "2024-02-12T11:15:45.000Z",
        2,
        1,
    )
    assert (entry["rows"], entry["deleted_rows"], entry["high_water_mark"]) == (3, 1, rec.OPP_MARK_2)
    history = frame(store, "OpportunityFieldHistory")
    assert history["Id"].tolist() == ["0175g00000Hh1AbAAF", "0175g00000Hh1AcAAF", "0175g00000Hh1AdAAF"]  # no twin
    assert read_manifest(store)["objects"]["OpportunityFieldHistory"]["high_water_mark"] == rec.OFH_MARK_2
    assert result.objects.set_index("object").loc["Opportunity", "rows"] == 3


def test_load_org_counts_the_pulled_deletion_as_an_exports(api, creds, tmp_path):
    store = tmp_path / "data"
    first_pull(api, store)
    rec.record_incremental_pull(api)
    pull_salesforce(store, objects=rec.OBJECTS, progress=False, now=SECOND)
    crm = fa.load_org(store)
    assert sorted(crm.opportunities["opportunity_id"]) == [E, F]
    counts = crm.report.table().set_index("table").loc["opportunities"]
    assert (counts["rows_read"], counts["rows_kept"], counts["rows_deleted"]) == (3, 2, 1)
    assert crm.opportunities.set_index("opportunity_id").loc[E, "stage_name"] == "Closed Lost"


def test_full_rereads_every_object_whole(api, creds, tmp_path):
    store = tmp_path / "data"
    first_pull(api, store)
    rec.record_first_pull(api)  # the same unfiltered queries again
    result = pull_salesforce(store, objects=rec.OBJECTS, full=True, progress=False, now=SECOND)
    assert result.objects["read"].tolist() == ["full", "full"]
    assert read_manifest(store)["objects"]["Opportunity"]["rows"] == 3


def test_objects_not_read_this_time_are_kept(api, creds, tmp_path):
    store = tmp_path / "data"
    first_pull(api, store)
    before = (store / "OpportunityFieldHistory.parquet").read_bytes()
    api.get(f"{rec.API}/sobjects/Opportunity/describe", json=rec.body("describe_Opportunity.json"))
    where = f" WHERE SystemModstamp >= {rec.OPP_SINCE}"
    for soql, payload in [
        (f"SELECT COUNT() FROM Opportunity{where}", {"totalSize": 0, "done": True, "records": []}),
        (rec.OPP_SELECT + where, {"totalSize": 0, "done": True, "records": []}),
    ]:
        api.get(f"{rec.API}/queryAll/", match=[responses.matchers.query_param_matcher({"q": soql})], json=payload)
    result = pull_salesforce(store, objects=["Opportunity"], progress=False, now=SECOND)
    reads = dict(zip(result.objects["object"], result.objects["read"]))
    assert reads == {"Opportunity": "incremental", "OpportunityFieldHistory": "kept"}
    assert (store / "OpportunityFieldHistory.parquet").read_bytes() == before
    doc = read_manifest(store)
    assert doc["objects"]["Opportunity"]["high_water_mark"] == rec.OPP_MARK_1  # nothing new: the mark stays
    assert doc["objects"]["OpportunityFieldHistory"]["pulled_at"] == "2024-02-13T06:00:00.000Z"
    assert store_pulled_at(store) == pd.Timestamp(FIRST)  # only as fresh as the oldest object


def test_an_object_without_a_stamp_is_read_whole_and_replaced(api, creds, tmp_path, caplog):
    store = tmp_path / "data"
    describe = {"name": "Quota__c", "fields": [{"name": "Id", "type": "id"}, {"name": "Name", "type": "string"}]}
    rows = [
        {
            "totalSize": 2,
            "done": True,
            "records": [{"Id": "a015g00000Q1", "Name": "Q1"}, {"Id": "a015g00000Q2", "Name": "Q2"}],
        },
        {"totalSize": 1, "done": True, "records": [{"Id": "a015g00000Q3", "Name": "Q3"}]},
    ]
    for payload in rows:
        api.get(f"{rec.API}/sobjects/Quota__c/describe", json=describe)
        for soql, p in [
            ("SELECT COUNT() FROM Quota__c", {"totalSize": payload["totalSize"], "done": True, "records": []}),
            ("SELECT Id, Name FROM Quota__c", payload),
        ]:
            api.get(f"{rec.API}/queryAll/", match=[responses.matchers.query_param_matcher({"q": soql})], json=p)
    pull_salesforce(store, objects=["Quota__c"], progress=False, now=FIRST)
    result = pull_salesforce(store, objects=["Quota__c"], progress=False, now=SECOND)
    assert frame(store, "Quota__c")["Id"].tolist() == ["a015g00000Q3"]  # replaced, not upserted
    entry = read_manifest(store)["objects"]["Quota__c"]
    assert (entry["stamp_field"], entry["high_water_mark"], entry["read"]) == (None, None, "whole")
    assert result.objects["read"].tolist() == ["whole"]


# --- interrupted and failed pulls leave the previous data -------------------


def test_a_pull_interrupted_after_the_first_object_leaves_the_store_byte_for_byte(api, creds, tmp_path, monkeypatch):
    store = tmp_path / "data"
    first_pull(api, store)
    before = snapshot(store)
    api.get(f"{rec.API}/sobjects/Opportunity/describe", json=rec.body("describe_Opportunity.json"))
    where = f" WHERE SystemModstamp >= {rec.OPP_SINCE}"
    for soql, name in [
        (f"SELECT COUNT() FROM Opportunity{where}", None),
        (rec.OPP_SELECT + where, "queryAll_Opportunity_since.json"),
    ]:
        payload = rec.body(name) if name else {"totalSize": 2, "done": True, "records": []}
        api.get(f"{rec.API}/queryAll/", match=[responses.matchers.query_param_matcher({"q": soql})], json=payload)
    real, calls = sfapi._read_object, []

    def read_then_die(sf, obj, *args):
        calls.append(obj)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C, or the scheduler's kill, while the second object is read
        return real(sf, obj, *args)

    monkeypatch.setattr(sfapi, "_read_object", read_then_die)
    with pytest.raises(KeyboardInterrupt):
        pull_salesforce(store, objects=rec.OBJECTS, progress=False, now=SECOND)
    assert calls == rec.OBJECTS
    assert snapshot(store) == before  # no file changed, none left beside it
    assert sorted(fa.load_org(store).opportunities["opportunity_id"]) == [E, F, G]


def test_a_failed_swap_puts_the_previous_store_back(api, creds, tmp_path, monkeypatch):
    store = tmp_path / "data"
    first_pull(api, store)
    before = snapshot(store)
    rec.record_incremental_pull(api)
    real, calls = os.replace, []

    def replace(src, dst):
        calls.append(Path(dst).name)
        if len(calls) == 2:  # the old store moved aside; now the new one fails to move in
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(store_mod.os, "replace", replace)
    with pytest.raises(OSError, match="No space left"):
        pull_salesforce(store, objects=rec.OBJECTS, progress=False, now=SECOND)
    assert snapshot(store) == before


def test_a_store_left_aside_by_a_kill_is_put_back_by_the_next_pull(creds, tmp_path, monkeypatch):
    store = tmp_path / "data"
    store.mkdir()
    (store / "Opportunity.parquet").write_bytes(b"PAR1 previous")
    (store / MANIFEST).write_text(
        json.dumps({"format": 1, "objects": {"Opportunity": {"file": "Opportunity.parquet"}}})
    )
    before = snapshot(store)
    os.rename(store, tmp_path / ".data.old-1")  # killed between the swap's two renames
    (tmp_path / ".data.pull-2").mkdir()  # and a half-written new store

    def refused(*args, **kwargs):
        raise ConnectionError("no network")

    monkeypatch.setattr(sfapi, "read_salesforce", refused)
    with pytest.raises(ConnectionError):
        pull_salesforce(store, progress=False)
    assert snapshot(store) == before  # put back, the leftover removed


def test_a_refused_session_leaves_the_store_unchanged(api, creds, tmp_path):
    store = tmp_path / "data"
    first_pull(api, store)
    before = snapshot(store)
    rec.record_refused_session(api)
    with pytest.raises(SalesforceError, match="INVALID_SESSION_ID"):
        pull_salesforce(store, objects=rec.OBJECTS, progress=False)
    assert snapshot(store) == before


def test_missing_credentials_fail_before_anything_is_written(tmp_path, monkeypatch):
    for var in ("SF_INSTANCE_URL", "SF_ACCESS_TOKEN", "SF_USERNAME", "SF_PASSWORD", "SF_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(SalesforceConfigError, match="SF_ACCESS_TOKEN"):
        pull_salesforce(tmp_path / "data", progress=False)
    assert not (tmp_path / "data").exists()


def test_a_folder_holding_an_export_is_refused(tmp_path):
    store = tmp_path / "data"
    store.mkdir()
    (store / "Lead.csv").write_text("Id,LastName\n00Q1,Ortiz\n")
    with pytest.raises(StoreError, match=r"Lead\.csv") as info:  # before any client: no network needed
        pull_salesforce(store, progress=False)
    assert str(store) in str(info.value)


def test_a_store_of_another_org_needs_full(api, creds, tmp_path):
    store = tmp_path / "data"
    first_pull(api, store)
    other = Salesforce(instance_url="https://other.my.salesforce.com", session_id="x")
    with pytest.raises(StoreError, match="other.my.salesforce.com.*--full"):
        pull_salesforce(store, sf=other, objects=rec.OBJECTS, progress=False)


# --- credentials ------------------------------------------------------------


def test_the_token_reaches_no_file_and_no_log(api, creds, tmp_path, caplog):
    store = tmp_path / "data"
    with caplog.at_level(logging.DEBUG):
        first_pull(api, store)
        rec.record_incremental_pull(api)
        pull_salesforce(store, objects=rec.OBJECTS, progress=False, now=SECOND)
    token = rec.TOKEN.encode()
    assert all(token not in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert rec.TOKEN not in caplog.text and "SecretPullToken" not in caplog.text
    manifest = (store / MANIFEST).read_text()
    assert "SF_" not in manifest and "session" not in manifest.lower()


# --- the pure parts ----------------------------------------------------------


def test_upsert_rows_replaces_adds_and_keeps_order():
    stored = pd.DataFrame({"Id": ["A", "B", "C"], "StageName": ["P", "P", "P"]})
    changed = pd.DataFrame(
        {"Id": ["C", "D", "C"], "StageName": ["Won", "P", "Lost"], "Region__c": ["EMEA", None, "NA"]}
    )
    out = upsert_rows(stored, changed)
    assert out["Id"].tolist() == ["A", "B", "D", "C"]  # C read twice: its last row
    assert out["StageName"].tolist() == ["P", "P", "P", "Lost"]
    assert list(out.columns) == ["Id", "StageName", "Region__c"]
    assert out["Region__c"].isna().tolist() == [True, True, True, False]
    assert stored["StageName"].tolist() == ["P", "P", "P"]  # inputs untouched


def test_upsert_rows_of_nothing_changed_is_the_stored_rows():
    stored = pd.DataFrame({"Id": ["A"], "Name": ["x"]})
    pd.testing.assert_frame_equal(upsert_rows(stored, stored.iloc[:0]), stored)


def test_upsert_rows_needs_the_key():
    with pytest.raises(KeyError, match="'Id'"):
        upsert_rows(pd.DataFrame({"Name": ["x"]}), pd.DataFrame({"Id": ["A"]}))
    with pytest.raises(ValueError, match="missing 'Id'"):
        upsert_rows(pd.DataFrame({"Id": ["A"]}), pd.DataFrame({"Id": [None]}))


@pytest.mark.parametrize(
    "text, match",
    [(None, "not a pull store"), ("{not json", "not valid JSON"), ('{"format": 9, "objects": {}}', "format 1")],
)
def test_read_manifest_refuses_what_is_not_a_manifest(tmp_path, text, match):
    if text is not None:
        (tmp_path / MANIFEST).write_text(text)
    with pytest.raises(StoreError, match=match):
        read_manifest(tmp_path)


def test_store_pulled_at_of_a_bad_manifest_raises(tmp_path):
    (tmp_path / MANIFEST).write_text("[]")
    with pytest.raises(StoreError):
        store_pulled_at(tmp_path)
