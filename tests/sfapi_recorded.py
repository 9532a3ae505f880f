"""Recorded Salesforce API responses of two pulls (tests/data/sfapi/), for the store, CLI and runner tests.

The org: three opportunities and their field history. The first pull reads both objects whole
through queryAll; the second, incremental, brings one changed deal (0065g00000AbCdEAAV lost on
2024-02-20) and one deleted deal (0065g00000AbCdGAAV, IsDeleted true on 2024-02-21), and for the
field history one row re-read inside the overlap and one new row. The SOQL below is written out
by hand from the describe files, not built by the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

from responses import matchers

DATA = Path(__file__).resolve().parent / "data" / "sfapi"
BASE = "https://example.my.salesforce.com"
API = f"{BASE}/services/data/v59.0"
#: The session token the tests put in the environment; it must never reach a file or an output.
TOKEN = "00D5g000004Hs2f!AQ0AQSecretPullToken.x9Y"
OBJECTS = ["Opportunity", "OpportunityFieldHistory"]

OPP_SELECT = (
    "SELECT Id, AccountId, Name, CreatedDate, StageName, Amount, Probability, CloseDate, IsClosed, IsWon, "
    "ForecastCategory, OwnerId, NextStep, IsDeleted, SystemModstamp, LastModifiedDate, Region__c FROM Opportunity"
)
OFH_SELECT = (
    "SELECT Id, OpportunityId, Field, OldValue, NewValue, DataType, CreatedDate, CreatedById, IsDeleted "
    "FROM OpportunityFieldHistory"
)
#: First pull's high-water marks: the latest SystemModstamp (deal G) and the latest CreatedDate (history of F).
OPP_MARK_1 = "2024-02-12T11:20:45.000Z"
OFH_MARK_1 = "2024-01-31T17:45:12.000Z"
#: Second pull's: deal G deleted at 08:15 on the 21st; the stage change on the 20th.
OPP_MARK_2 = "2024-02-21T08:15:00.000Z"
OFH_MARK_2 = "2024-02-20T10:00:00.000Z"
#: Where the second pull starts: each mark less five minutes (store.OVERLAP), to the second.
OPP_SINCE = "2024-02-12T11:15:45Z"
OFH_SINCE = "2024-01-31T17:40:12Z"


def body(name: str):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def env(monkeypatch) -> None:
    """Credentials in the environment, as a user sets them (and nothing else)."""
    for var in ("SF_USERNAME", "SF_PASSWORD", "SF_SECURITY_TOKEN", "SF_DOMAIN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SF_INSTANCE_URL", BASE)
    monkeypatch.setenv("SF_ACCESS_TOKEN", TOKEN)


def _query_all(rsps, soql: str, payload, status: int = 200) -> None:
    rsps.get(f"{API}/queryAll/", match=[matchers.query_param_matcher({"q": soql})], status=status, json=payload)


def _count(n: int) -> dict:
    return {"totalSize": n, "done": True, "records": []}


def record_first_pull(rsps) -> None:
    """Both objects read whole through queryAll (the Opportunity in two pages)."""
    rsps.get(f"{API}/sobjects/Opportunity/describe", json=body("describe_Opportunity.json"))
    _query_all(rsps, "SELECT COUNT() FROM Opportunity", _count(3))
    _query_all(rsps, OPP_SELECT, body("query_Opportunity_page1.json"))
    rsps.get(f"{API}/query/0r85g00000Jb8QZAAZ-2", json=body("query_Opportunity_page2.json"))
    rsps.get(f"{API}/sobjects/OpportunityFieldHistory/describe", json=body("describe_OpportunityFieldHistory.json"))
    _query_all(rsps, "SELECT COUNT() FROM OpportunityFieldHistory", _count(2))
    _query_all(rsps, OFH_SELECT, body("queryAll_OpportunityFieldHistory.json"))


def record_incremental_pull(rsps) -> None:
    """What changed since the first pull: SystemModstamp for deals, CreatedDate for their history."""
    rsps.get(f"{API}/sobjects/Opportunity/describe", json=body("describe_Opportunity.json"))
    where = f" WHERE SystemModstamp >= {OPP_SINCE}"
    _query_all(rsps, f"SELECT COUNT() FROM Opportunity{where}", _count(2))
    _query_all(rsps, OPP_SELECT + where, body("queryAll_Opportunity_since.json"))
    rsps.get(f"{API}/sobjects/OpportunityFieldHistory/describe", json=body("describe_OpportunityFieldHistory.json"))
    where = f" WHERE CreatedDate >= {OFH_SINCE}"
    _query_all(rsps, f"SELECT COUNT() FROM OpportunityFieldHistory{where}", _count(2))
    _query_all(rsps, OFH_SELECT + where, body("queryAll_OpportunityFieldHistory_since.json"))


def record_refused_session(rsps) -> None:
    """The token has expired: the first call answers 401 INVALID_SESSION_ID."""
    rsps.get(
        f"{API}/sobjects/Opportunity/describe",
        status=401,
        json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
    )
