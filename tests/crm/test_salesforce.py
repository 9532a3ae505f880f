"""funnel_analysis.crm.salesforce against recorded Salesforce API responses (no network).

The bodies in tests/data/sfapi/ follow the shapes Salesforce returns for API
v59.0 (simple-salesforce's default): SOAP login, sObject describe, SOQL
query/queryMore, Bulk API 2.0 query jobs (CSV results, Sforce-Locator paging)
and REST error lists.
"""

import importlib.util
import json
import logging
import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("simple_salesforce")
responses = pytest.importorskip("responses")
from responses import matchers  # noqa: E402
from simple_salesforce import Salesforce  # noqa: E402
from simple_salesforce.exceptions import SalesforceGeneralError  # noqa: E402

from funnel_analysis.crm import salesforce as sfapi  # noqa: E402
from funnel_analysis.crm.salesforce import (  # noqa: E402
    DEFAULT_OBJECTS,
    SalesforceConfigError,
    read_salesforce,
    salesforce_client,
    write_export,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "sfapi"
BASE = "https://example.my.salesforce.com"
API = f"{BASE}/services/data/v59.0"
JOB = "7505g00000Jb8QZAAZ"
SINCE = "2024-01-01T00:00:00Z"
OPP_FIELDS = [
    "Id",
    "AccountId",
    "Name",
    "CreatedDate",
    "StageName",
    "Amount",
    "Probability",
    "CloseDate",
    "IsClosed",
    "IsWon",
    "ForecastCategory",
    "OwnerId",
    "NextStep",  # in the schema (the pipeline's hygiene lists and the stage gates read it)
    "IsDeleted",
    "SystemModstamp",  # in the schema (the extract time) and in the describe fixture
    "LastModifiedDate",
    "Region__c",
]
# SystemModstamp, not LastModifiedDate: it moves on every change (LastModifiedDate <= SystemModstamp)
OPP_SOQL = f"SELECT {', '.join(OPP_FIELDS)} FROM Opportunity WHERE SystemModstamp >= {SINCE}"
OPP_COUNT = f"SELECT COUNT() FROM Opportunity WHERE SystemModstamp >= {SINCE}"
OPP_ROWS = [
    [
        "0065g00000AbCdEAAV",
        "0015g00000XyZ12AAF",
        'Müller GmbH, "Phase 2" rollout',
        "2024-01-08T14:03:11.000Z",
        "Prospecting",
        "24000.0",
        "10.0",
        "2024-03-29",
        "false",
        "false",
        "Pipeline",
        "0055g00000Jk9LmAAJ",
        "false",
        "2024-02-01T09:30:00.000Z",
        "2024-02-01T09:30:00.000Z",
        "EMEA",
    ],
    [
        "0065g00000AbCdFAAV",
        "0015g00000XyZ13AAF",
        "Globex - renewal\nFY25",
        "2023-11-20T08:00:00.000Z",
        "Closed Won",
        "125000.5",
        "100.0",
        "2024-01-31",
        "true",
        "true",
        "Closed",
        "0055g00000Jk9LnAAJ",
        "false",
        "2024-01-31T17:45:12.000Z",
        "2024-01-31T17:45:12.000Z",
        "NA",
    ],
    [
        "0065g00000AbCdGAAV",
        None,
        "Initech pilot",
        "2024-02-12T11:20:45.000Z",
        "Qualification",
        None,
        "20.0",
        "2024-06-30",
        "false",
        "false",
        "Pipeline",
        "0055g00000Jk9LmAAJ",
        "false",
        "2024-02-12T11:20:45.000Z",
        "2024-02-12T11:20:45.000Z",
        None,
    ],
]
# NextStep, after OwnerId: a value with a comma and quotes, and a missing one
OPP_ROWS = [
    r[:12] + [n] + r[12:] for r, n in zip(OPP_ROWS, ["Send proposal", None, 'Call back; "demo", Friday'], strict=True)
]
USER_SOQL = (
    "SELECT Id, Name, FirstName, LastName, Email, UserRole.Name, ManagerId, IsActive, "
    "CreatedDate, LastModifiedDate, SystemModstamp, Sales_Region__c FROM User"
)
SECRETS = {
    "SF_PASSWORD": "hunter2-Pa55word",
    "SF_SECURITY_TOKEN": "tOkEn8vQ3xYz",
    "SF_ACCESS_TOKEN": "00D5g000004Hs2f!AQ0AQSecretAccessToken",
}


def _json(name):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _expected_opportunities():
    return pd.DataFrame(OPP_ROWS, columns=OPP_FIELDS).astype(str)


@pytest.fixture
def sf():
    return Salesforce(instance_url=BASE, session_id="00D5g000004Hs2f!AQ0AQFAKESESSION")


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def add_describe(api, obj, status=200, body=None):
    api.get(
        f"{API}/sobjects/{obj}/describe",
        status=status,
        json=body if body is not None else _json(f"describe_{obj}.json"),
    )


def add_query(api, soql, body, status=200):
    api.get(f"{API}/query/", match=[matchers.query_param_matcher({"q": soql})], status=status, json=body)


def add_rest_opportunities(api):
    add_describe(api, "Opportunity")
    add_query(api, OPP_COUNT, _json("count_Opportunity.json"))
    add_query(api, OPP_SOQL, _json("query_Opportunity_page1.json"))
    api.get(f"{API}/query/0r85g00000Jb8QZAAZ-2", json=_json("query_Opportunity_page2.json"))


# --- credentials ---------------------------------------------------------


def test_default_objects_cover_every_table_plus_event():
    assert DEFAULT_OBJECTS == (
        "Lead",
        "Opportunity",
        "OpportunityHistory",
        "OpportunityStage",
        "Account",
        "Contact",
        "Task",
        "Event",
        "Campaign",
        "CampaignMember",
        "User",
        "LeadHistory",
        "OpportunityFieldHistory",
        "LeadStatus",
        "Group",
        "GroupMember",
        "OpportunityContactRole",
        "CurrencyType",  # multi-currency orgs only: a single-currency org answers INVALID_TYPE, skipped
        "DatedConversionRate",
        "BusinessHours",  # the working calendar of routing's SLA clock
        "Holiday",
    )


def test_client_from_session_env():
    sf = salesforce_client(
        {"SF_INSTANCE_URL": BASE, "SF_ACCESS_TOKEN": SECRETS["SF_ACCESS_TOKEN"], "SF_USERNAME": "ignored@example.com"}
    )
    assert sf.auth_type == "direct"
    assert sf.sf_instance == "example.my.salesforce.com"
    assert sf.session_id == SECRETS["SF_ACCESS_TOKEN"]


@pytest.mark.parametrize("domain, host", [(None, "login"), ("test", "test")])
def test_client_from_password_env(api, domain, host):
    api.post(
        f"https://{host}.salesforce.com/services/Soap/u/59.0",
        body=(DATA / "login_response.xml").read_bytes(),
        content_type="text/xml",
    )
    env = {
        "SF_USERNAME": "ana.ortiz@example.com",
        "SF_PASSWORD": SECRETS["SF_PASSWORD"],
        "SF_SECURITY_TOKEN": SECRETS["SF_SECURITY_TOKEN"],
    }
    if domain:
        env["SF_DOMAIN"] = domain
    sf = salesforce_client(env)
    assert sf.sf_instance == "example.my.salesforce.com"
    assert sf.session_id == "00D5g000004Hs2f!AQ0AQFAKE.SESSION.FROM.LOGIN"
    sent = api.calls[0].request.body
    sent = sent.decode() if isinstance(sent, bytes) else sent
    assert SECRETS["SF_PASSWORD"] + SECRETS["SF_SECURITY_TOKEN"] in sent  # SOAP wants them joined


def test_login_fault_does_not_echo_secrets(api):
    api.post(
        "https://login.salesforce.com/services/Soap/u/59.0",
        status=500,
        body=(DATA / "login_fault.xml").read_bytes(),
        content_type="text/xml",
    )
    env = {
        "SF_USERNAME": "ana.ortiz@example.com",
        "SF_PASSWORD": SECRETS["SF_PASSWORD"],
        "SF_SECURITY_TOKEN": SECRETS["SF_SECURITY_TOKEN"],
    }
    with pytest.raises(Exception, match="INVALID_LOGIN") as info:
        salesforce_client(env)
    assert all(v not in str(info.value) for v in SECRETS.values())


@pytest.mark.parametrize(
    "env, missing, not_missing",
    [
        ({}, ["SF_INSTANCE_URL", "SF_ACCESS_TOKEN", "SF_USERNAME", "SF_PASSWORD", "SF_SECURITY_TOKEN"], []),
        (
            {"SF_USERNAME": "ana@example.com", "SF_PASSWORD": SECRETS["SF_PASSWORD"]},
            ["SF_SECURITY_TOKEN"],
            ["SF_INSTANCE_URL"],
        ),
        (
            {"SF_ACCESS_TOKEN": SECRETS["SF_ACCESS_TOKEN"], "SF_INSTANCE_URL": "  "},
            ["SF_INSTANCE_URL"],
            ["SF_PASSWORD,"],
        ),
        (
            {
                "SF_PASSWORD": SECRETS["SF_PASSWORD"],
                "SF_SECURITY_TOKEN": SECRETS["SF_SECURITY_TOKEN"],
                "SF_ACCESS_TOKEN": SECRETS["SF_ACCESS_TOKEN"],
            },
            ["SF_INSTANCE_URL", "SF_USERNAME"],
            [],
        ),
    ],
)
def test_missing_credentials_name_variables_never_values(env, missing, not_missing):
    with pytest.raises(SalesforceConfigError) as info:
        salesforce_client(env)
    assert isinstance(info.value, ValueError)
    named = str(info.value).split("Missing:")[1]
    assert all(var in named for var in missing)
    assert all(var not in named for var in not_missing)
    assert all(secret not in str(info.value) for secret in SECRETS.values())


def test_missing_extra_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "simple_salesforce", None)
    with pytest.raises(ImportError, match=r"pip install funnel-analysis\[salesforce\]"):
        salesforce_client({"SF_INSTANCE_URL": BASE, "SF_ACCESS_TOKEN": "x"})


def test_package_imports_without_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "simple_salesforce", None)
    spec = importlib.util.spec_from_file_location("sfapi_without_extra", sfapi.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # a fresh copy, so the real module stays untouched
    assert module.read_salesforce and module.DEFAULT_OBJECTS == DEFAULT_OBJECTS


# --- reading -------------------------------------------------------------


def test_rest_read_builds_soql_pages_and_stringifies(api, sf):
    add_rest_opportunities(api)
    since = pd.Timestamp("2024-01-01T01:00+01:00")  # the same instant as SINCE
    frames = read_salesforce(sf, objects=["Opportunity"], since=since)
    frame = frames["Opportunity"]
    assert list(frame.columns) == OPP_FIELDS  # no Description, no compound or hidden __c
    assert "attributes" not in frame.columns
    assert len(frame) == 3  # both pages
    pd.testing.assert_frame_equal(frame, _expected_opportunities())
    assert frames.attrs["soql"]["Opportunity"] == OPP_SOQL == frame.attrs["soql"]
    assert frames.attrs["api"] == {"Opportunity": "rest"}
    assert frames.attrs["since"] == SINCE and frames.attrs["skipped"] == {}


def test_soql_filters_on_systemmodstamp_and_reads_relationships(api, sf):
    hist = (
        "SELECT Id, OpportunityId, CreatedDate, StageName, Amount, Probability, ExpectedRevenue, "
        "CloseDate, ForecastCategory, CreatedById, IsDeleted, SystemModstamp FROM OpportunityHistory"
    )
    add_describe(api, "OpportunityHistory")
    add_query(
        api,
        f"SELECT COUNT() FROM OpportunityHistory WHERE SystemModstamp >= {SINCE}",
        _json("count_OpportunityHistory.json"),
    )
    add_query(api, f"{hist} WHERE SystemModstamp >= {SINCE}", _json("query_OpportunityHistory.json"))
    add_describe(api, "User")
    add_query(api, f"SELECT COUNT() FROM User WHERE SystemModstamp >= {SINCE}", _json("count_User.json"))
    add_query(api, f"{USER_SOQL} WHERE SystemModstamp >= {SINCE}", _json("query_User.json"))
    frames = read_salesforce(sf, objects=["OpportunityHistory", "User"], since="2024-01-01", progress=False)
    assert frames["OpportunityHistory"]["Amount"].tolist() == ["120000.0", "125000.5"]
    assert frames.attrs["stamp"] == {"OpportunityHistory": "SystemModstamp", "User": "SystemModstamp"}
    users = frames["User"]
    assert users["UserRole.Name"].tolist()[0] == "AE - EMEA" and pd.isna(users["UserRole.Name"][1])
    assert users["IsActive"].tolist() == ["true", "false"]
    assert "UserRole" not in users.columns and "Address" not in users.columns


def test_missing_or_unreadable_objects_are_skipped_and_reported(api, sf, caplog):
    add_describe(api, "Campaign", status=404, body=_json("error_not_found.json"))
    add_describe(
        api,
        "Forecast__c",
        body={
            "name": "Forecast__c",
            "queryable": True,
            "fields": [{"name": "Id", "type": "id"}, {"name": "Name", "type": "string"}],
        },
    )
    add_query(api, "SELECT COUNT() FROM Forecast__c", _json("error_invalid_type.json"), status=400)
    add_describe(api, "User")
    add_query(api, "SELECT COUNT() FROM User", _json("count_User.json"))
    add_query(api, USER_SOQL, _json("query_User.json"))
    with caplog.at_level(logging.WARNING, logger="funnel_analysis.crm.salesforce"):
        frames = read_salesforce(sf, objects=["Campaign", "Forecast__c", "User"])
    assert list(frames) == ["User"]
    skipped = frames.attrs["skipped"]
    assert skipped["Campaign"].startswith("404 NOT_FOUND")
    assert "INVALID_TYPE" in skipped["Forecast__c"]
    assert "Campaign" in caplog.text and "Forecast__c" in caplog.text


def test_activities_use_query_all_to_keep_archived_rows(api, sf):
    # Salesforce archives closed activities after 365 days; /query/ no longer returns them.
    soql = (
        "SELECT Id, WhoId, WhatId, AccountId, Subject, ActivityDate, Type, TaskSubtype, Status, Priority, "
        "IsClosed, CallDurationInSeconds, OwnerId, CreatedDate, IsDeleted, LastModifiedDate, SystemModstamp, "
        "Outcome__c "
        "FROM Task WHERE IsDeleted = false"
    )
    add_describe(api, "Task")
    for q, name in [("SELECT COUNT() FROM Task WHERE IsDeleted = false", "count_Task.json"), (soql, "query_Task.json")]:
        api.get(f"{API}/queryAll/", match=[matchers.query_param_matcher({"q": q})], json=_json(name))
    tasks = read_salesforce(sf, objects="Task", progress=False)["Task"]
    assert tasks["ActivityDate"].tolist() == ["2022-03-14", "2024-02-20"]
    assert tasks["CallDurationInSeconds"].tolist()[0] == "312"
    assert tasks["CreatedDate"].tolist()[0] == "2022-03-14T10:02:00.000Z"


def test_other_api_errors_are_raised(api, sf):
    add_describe(api, "Lead", status=500, body=_json("error_server.json"))
    with pytest.raises(SalesforceGeneralError):
        read_salesforce(sf, objects=["Lead"], progress=False)


def test_fields_override_selects_exactly(api, sf):
    add_describe(api, "Opportunity")
    add_query(api, "SELECT COUNT() FROM Opportunity", _json("count_Opportunity.json"))
    add_query(
        api,
        "SELECT Id, Amount FROM Opportunity",
        {
            "totalSize": 1,
            "done": True,
            "records": [{"attributes": {"type": "Opportunity"}, "Id": "0065g00000AbCdEAAV", "Amount": 24000}],
        },
    )
    frame = read_salesforce(sf, objects=["Opportunity"], fields={"Opportunity": ["Id", "Amount"]}, progress=False)[
        "Opportunity"
    ]
    assert frame.to_dict("records") == [{"Id": "0065g00000AbCdEAAV", "Amount": "24000"}]


def add_bulk_job(api):
    api.post(
        f"{API}/jobs/query",
        json=_json("bulk2_job_created.json"),
        match=[
            matchers.json_params_matcher(
                {"operation": "query", "query": OPP_SOQL, "columnDelimiter": "COMMA", "lineEnding": "LF"}
            )
        ],
    )
    api.get(f"{API}/jobs/query/{JOB}", json=_json("bulk2_job_complete.json"))
    for params, part, locator, n in [({}, 1, "MjAwMDA", 2), ({"locator": "MjAwMDA"}, 2, "null", 1)]:
        api.get(
            f"{API}/jobs/query/{JOB}/results",
            match=[matchers.query_param_matcher({"maxRecords": "50000", **params})],
            body=(DATA / f"bulk2_Opportunity_results_{part}.csv").read_bytes(),
            content_type="text/csv",
            headers={"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(n)},
        )


def test_large_objects_use_bulk2_and_read_like_rest(api, sf, monkeypatch):
    monkeypatch.setattr(sfapi, "BULK_POLL_SECONDS", 0)
    add_describe(api, "Opportunity")
    add_query(api, OPP_COUNT, _json("count_Opportunity.json"))
    add_bulk_job(api)
    frames = read_salesforce(sf, objects=["Opportunity"], since="2024-01-01", bulk_threshold=2)
    assert frames.attrs["api"] == {"Opportunity": "bulk2"}
    pd.testing.assert_frame_equal(frames["Opportunity"], _expected_opportunities())


def test_failed_bulk_job_falls_back_to_rest(api, sf, caplog):
    add_rest_opportunities(api)
    api.post(f"{API}/jobs/query", status=400, json=_json("bulk2_error_unsupported.json"))
    with caplog.at_level(logging.WARNING, logger="funnel_analysis.crm.salesforce"):
        frames = read_salesforce(sf, objects=["Opportunity"], since="2024-01-01", bulk_threshold=0)
    assert frames.attrs["api"] == {"Opportunity": "rest"} and "Bulk API 2.0 failed" in caplog.text
    pd.testing.assert_frame_equal(frames["Opportunity"], _expected_opportunities())


# --- writing -------------------------------------------------------------


def test_write_export_round_trip(tmp_path):
    frames = {
        "Opportunity": _expected_opportunities(),
        "User": pd.DataFrame({"Id": ["0055g00000Jk9LmAAJ"], "IsActive": ["true"]}).astype(str),
        "Campaign": pd.DataFrame(columns=["Id", "Name"]).astype(str),
    }
    paths = write_export(frames, tmp_path / "export")
    assert [p.name for p in paths] == ["Opportunity.csv", "User.csv", "Campaign.csv"]
    assert paths[0].read_text(encoding="utf-8").startswith("Id,AccountId,Name,")
    for path, (_name, frame) in zip(paths, frames.items()):
        # keep_default_na=False: Region__c "NA" (North America) is text, as funnel_analysis.crm.read reads it
        back = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
        pd.testing.assert_frame_equal(back, frame, check_index_type=False)


def test_write_export_rejects_names_that_are_not_objects(tmp_path):
    with pytest.raises(ValueError, match="not a Salesforce object name"):
        write_export({"../Opportunity": pd.DataFrame()}, tmp_path)


def test_read_keeps_the_field_definitions_and_write_export_saves_them(api, sf, tmp_path):
    add_rest_opportunities(api)
    frames = read_salesforce(sf, objects=["Opportunity"], since="2024-01-01", progress=False)
    described = frames.attrs["describe"]["Opportunity"]
    assert described["name"] == "Opportunity"
    types = {f["name"]: f["type"] for f in described["fields"]}
    # from describe_Opportunity.json; the deprecated-and-hidden Legacy_Score__c is left out
    assert types["Amount"] == "currency" and types["Region__c"] == "picklist" and "Legacy_Score__c" not in types
    assert set(described["fields"][0]) == {"name", "type", "label", "custom"}
    paths = write_export(frames, tmp_path / "export")
    assert [p.name for p in paths] == ["Opportunity.csv", "Opportunity.describe.json"]
    assert json.loads(paths[1].read_text(encoding="utf-8")) == described
    from funnel_analysis.crm.read import read_describe

    assert read_describe(paths[1])["Probability"] == "percent"  # the shape the loader reads


def test_an_exported_describe_types_custom_fields_when_loaded(tmp_path):
    import funnel_analysis as fa

    frames = sfapi.SalesforceFrames(
        {
            "Opportunity": pd.DataFrame(
                {"Id": ["0065g00000AbCdEAAV"], "Name": ["A"], "StageName": ["Prospecting"], "Seats__c": ["12"]}
            )
        }
    )
    frames.attrs["describe"] = {"Opportunity": {"name": "Opportunity", "fields": [{"name": "Seats__c", "type": "int"}]}}
    write_export(frames, tmp_path / "export")
    crm = fa.load_org(tmp_path / "export")
    assert crm.opportunities["seats"].tolist() == [12.0]
    assert crm.report.ignored_files == []


def test_load_salesforce_types_by_the_describe_it_fetched(api, sf, monkeypatch):
    add_rest_opportunities(api)
    seen = {}

    def fake_load_frames(frames, **kwargs):
        seen.update(kwargs)
        return "crm"

    monkeypatch.setattr("funnel_analysis.crm.load.load_frames", fake_load_frames)
    assert sfapi.load_salesforce(sf, objects=["Opportunity"], since="2024-01-01", progress=False) == "crm"
    assert {f["name"]: f["type"] for f in seen["describe"]["Opportunity"]["fields"]}["Amount"] == "currency"


# --- reading for a store: queryAll, a since per object -------------------


def test_include_deleted_reads_every_object_through_query_all(api, sf):
    # with include_deleted the activities keep their deleted rows too: no IsDeleted = false
    soql = (
        "SELECT Id, WhoId, WhatId, AccountId, Subject, ActivityDate, Type, TaskSubtype, Status, Priority, "
        "IsClosed, CallDurationInSeconds, OwnerId, CreatedDate, IsDeleted, LastModifiedDate, SystemModstamp, "
        "Outcome__c FROM Task"
    )
    add_describe(api, "Task")
    for q, name in [("SELECT COUNT() FROM Task", "count_Task.json"), (soql, "query_Task.json")]:
        api.get(f"{API}/queryAll/", match=[matchers.query_param_matcher({"q": q})], json=_json(name))
    frames = read_salesforce(sf, objects="Task", include_deleted=True, progress=False)
    assert frames.attrs["include_deleted"] is True and len(frames["Task"]) == 2


def test_since_per_object_reads_the_others_whole(api, sf):
    add_describe(api, "Opportunity")
    add_query(api, OPP_COUNT, _json("count_Opportunity.json"))
    add_query(api, OPP_SOQL, _json("query_Opportunity_page1.json"))
    api.get(f"{API}/query/0r85g00000Jb8QZAAZ-2", json=_json("query_Opportunity_page2.json"))
    add_describe(api, "User")
    add_query(api, "SELECT COUNT() FROM User", _json("count_User.json"))  # no mark: no WHERE
    add_query(api, USER_SOQL, _json("query_User.json"))
    frames = read_salesforce(sf, objects=["Opportunity", "User"], since={"Opportunity": SINCE, "User": None})
    assert frames.attrs["since"] == {"Opportunity": SINCE}
    assert frames.attrs["stamp"] == {"Opportunity": "SystemModstamp", "User": "SystemModstamp"}


def test_history_objects_filter_on_created_date(api, sf):
    soql = (
        "SELECT Id, OpportunityId, Field, OldValue, NewValue, DataType, CreatedDate, CreatedById, IsDeleted "
        f"FROM OpportunityFieldHistory WHERE CreatedDate >= {SINCE}"
    )
    add_describe(api, "OpportunityFieldHistory")
    add_query(api, f"SELECT COUNT() FROM OpportunityFieldHistory WHERE CreatedDate >= {SINCE}", {"totalSize": 0})
    add_query(api, soql, {"totalSize": 0, "done": True, "records": []})
    frames = read_salesforce(sf, objects=["OpportunityFieldHistory"], since=SINCE, progress=False)
    assert frames.attrs["stamp"] == {"OpportunityFieldHistory": "CreatedDate"}
    assert len(frames["OpportunityFieldHistory"]) == 0


def test_a_since_that_is_no_time_is_refused(sf):
    with pytest.raises(ValueError):
        read_salesforce(sf, objects=["Opportunity"], since={"Opportunity": "last tuesday"}, progress=False)


def test_describe_text_is_what_read_describe_reads(tmp_path):
    from funnel_analysis.crm.read import read_describe

    path = tmp_path / "Lead.describe.json"
    path.write_text(sfapi.describe_text({"name": "Lead", "fields": [{"name": "Zip__c", "type": "string"}]}))
    assert dict(read_describe(path)) == {"Zip__c": "string"}


def test_describe_text_refuses_what_json_cannot_write():
    with pytest.raises(TypeError):
        sfapi.describe_text({"name": "Lead", "fields": [{"name": "Zip__c", "type": object()}]})


def test_object_and_field_names_that_are_not_api_names_never_reach_soql():
    # checked before any client or request: a name is the only caller text pasted into a query
    with pytest.raises(SalesforceConfigError, match="object 'Lead WHERE Id != null'"):
        read_salesforce(objects=["Lead WHERE Id != null"])
    with pytest.raises(SalesforceConfigError, match="field 'Id FROM User --' of Lead"):
        read_salesforce(objects=["Lead"], fields={"Lead": ["Id FROM User --"]})
