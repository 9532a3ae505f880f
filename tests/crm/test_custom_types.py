"""Columns the schema does not know, typed from the org's field definitions or a mapping's types:.

Never from the values: without a definition a column stays text, and a ``Zip__c`` of ``00501`` is
text even with one. Expected values are worked out by hand from the rows written here.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import funnel_analysis as fa
from funnel_analysis.crm import DataLoadError
from funnel_analysis.crm.currency import convert_money, currency_book
from funnel_analysis.crm.mapping import load_mapping
from funnel_analysis.crm.parse import DESCRIBE_KINDS, describe_kind
from funnel_analysis.crm.read import find_describe_files, read_describe
from funnel_analysis.crm.schema import KINDS

LEAD = (
    "Id,LastName,Company,CreatedDate,Zip__c,Score__c,Seats__c,Signed__c,Active__c,Partner__c,"
    "IsUnreadByOwner,LastViewedDate,Notes__c\n"
    "00Q000000000001AAA,A,Acme,2024-01-01T00:00:00Z,00501,12.5,3,2024-02-01,true,001000000000001,"
    "true,2024-03-01T10:00:00Z,hello\n"
    "00Q000000000002AAA,B,Beta,2024-01-02T00:00:00Z,10001,abc,4,2024-02-30,false,,false,,\n"
    "00Q000000000003AAA,C,Gamma,2024-01-03T00:00:00Z,,7.5,,,,,false,,\n"
)
DESCRIBE = {
    "name": "Lead",
    "fields": [
        {"name": "Id", "type": "id"},
        {"name": "Company", "type": "double"},  # a schema column: the schema's kind wins
        {"name": "Zip__c", "type": "string"},
        {"name": "Score__c", "type": "double"},
        {"name": "Seats__c", "type": "int"},
        {"name": "Signed__c", "type": "date"},
        {"name": "Active__c", "type": "boolean"},
        {"name": "Partner__c", "type": "reference"},
        {"name": "IsUnreadByOwner", "type": "boolean"},  # standard fields the schema does not know
        {"name": "LastViewedDate", "type": "datetime"},
        {"name": "Site__c", "type": "location"},  # not in the file: unused
    ],
}


def _org(tmp_path, describe=DESCRIBE, lead=LEAD):
    folder = tmp_path / "org"
    folder.mkdir(exist_ok=True)
    (folder / "Lead.csv").write_text(lead)
    if describe is not None:
        (folder / "Lead.describe.json").write_text(json.dumps(describe))
    return folder


def test_custom_and_unknown_standard_fields_take_their_defined_types(tmp_path):
    crm = fa.load_org(_org(tmp_path))
    leads = crm.leads.set_index("lead_id")
    assert leads["zip"].tolist()[:2] == ["00501", "10001"]  # text: the leading zeros stay
    assert str(leads["score"].dtype) == "float64"
    assert leads["score"].sum() == 20.0  # 12.5 + 7.5; "abc" is missing
    assert leads["seats"].sum() == 7.0
    assert leads.loc["00Q000000000001AAA", "signed"] == pd.Timestamp("2024-02-01")
    assert leads["active"].tolist() == [True, False, False]
    assert leads.loc["00Q000000000001AAA", "partner"] == "001000000000001AAA"  # a reference widens
    assert leads["is_unread_by_owner"].tolist() == [True, False, False]
    assert leads.loc["00Q000000000001AAA", "last_viewed_date"] == pd.Timestamp("2024-03-01 10:00", tz="UTC")
    assert leads["notes"].tolist()[0] == "hello"  # no definition: text
    assert leads["company"].tolist() == ["Acme", "Beta", "Gamma"]  # the schema's kind, not the describe's


def test_a_value_that_does_not_parse_is_flagged_not_quarantined(tmp_path):
    crm = fa.load_org(_org(tmp_path))
    r = crm.report.tables["leads"]
    assert (r["rows_read"], r["rows_kept"], r["rows_quarantined"], r["rows_flagged"]) == (3, 3, 0, 1)
    assert r["rules"] == {"custom_value_unparseable": 1}
    f = crm.flags.sort_values("column")
    assert f[["column", "rule", "severity", "value", "file"]].values.tolist() == [
        ["score", "custom_value_unparseable", "warning", "abc", "Lead.csv"],
        ["signed", "custom_value_unparseable", "warning", "2024-02-30", "Lead.csv"],
    ]
    assert set(f["record_id"]) == {"00Q000000000002AAA"}


def test_without_a_definition_nothing_is_typed_from_the_values(tmp_path):
    leads = fa.load_org(_org(tmp_path, describe=None)).leads
    assert leads["score"].tolist()[0] == "12.5" and leads["zip"].tolist()[0] == "00501"
    assert leads["active"].tolist()[0] == "true"


def test_describe_files_are_not_data_and_not_ignored_files(tmp_path):
    folder = _org(tmp_path)
    (folder / "Case.describe.json").write_text('{"name": "Case", "fields": []}')  # no Case.csv: unused
    (folder / "Case.csv").write_text("Id\n500000000000001AAA\n")
    crm = fa.load_org(folder)
    assert crm.report.ignored_files == ["Case.csv"]
    assert list(find_describe_files(folder)) == ["Case", "Lead"]


@pytest.mark.parametrize(
    "text, says",
    [
        ("{not json", "is not valid JSON"),
        ('{"name": "Lead"}', "has no `fields` list"),
        ('{"name": "Lead", "fields": [{"name": "Score__c"}]}', "field 0 has no text `name` and `type`"),
    ],
)
def test_a_broken_describe_file_is_one_line(tmp_path, text, says):
    folder = _org(tmp_path, describe=None)
    (folder / "Lead.describe.json").write_text(text)
    with pytest.raises(DataLoadError) as e:
        fa.load_org(folder)
    msg = str(e.value)
    assert "\n" not in msg and "Lead.describe.json" in msg and says in msg


def test_read_describe_and_describe_kind(tmp_path):
    p = tmp_path / "Lead.describe.json"
    p.write_text(json.dumps(DESCRIBE))
    types = read_describe(p)
    assert types["Score__c"] == "double" and types["Partner__c"] == "reference" and len(types) == 11
    assert [describe_kind(t) for t in ("currency", "percent", "long", "multipicklist", "Boolean")] == [
        "float",
        "float",
        "int",
        "str",
        "bool",
    ]
    assert describe_kind("complexvalue") == "str"  # unknown: text, never a guess
    assert set(DESCRIBE_KINDS.values()) <= set(KINDS)
    with pytest.raises(DataLoadError, match="does not exist"):
        read_describe(tmp_path / "Nope.describe.json")
    with pytest.raises(DataLoadError, match="is not a folder"):
        find_describe_files(p)


def test_currency_fields_convert_to_the_corporate_currency(tmp_path):
    # USD corporate, EUR at 0.8 per USD: 80 EUR -> 100 USD; a USD budget stays
    lead = (
        "Id,LastName,Company,CurrencyIsoCode,Budget__c\n00Q000000000001AAA,A,X,EUR,80\n00Q000000000002AAA,B,Y,USD,5\n"
    )
    folder = _org(tmp_path, lead=lead, describe={"name": "Lead", "fields": [{"name": "Budget__c", "type": "currency"}]})
    (folder / "CurrencyType.csv").write_text("Id,IsoCode,ConversionRate,IsCorporate\nC1,USD,1,true\nC2,EUR,0.8,false\n")
    leads = fa.load_org(folder).leads
    assert leads["budget"].tolist() == [100.0, 5.0]
    assert leads["budget_original"].tolist() == [80.0, 5.0]


def test_convert_money_takes_extra_columns_and_leaves_its_input():
    book = currency_book(
        pd.DataFrame({"iso_code": ["USD", "EUR"], "conversion_rate": [1.0, 0.5], "is_corporate": [True, False]}),
        None,
        codes=["USD", "EUR"],
    )
    table = pd.DataFrame({"currency_iso_code": ["EUR", "USD"], "arr": [10.0, 3.0]})
    out = convert_money(table, "leads", book=book, columns=["arr", "not_there"]).converted
    assert out["arr"].tolist() == [20.0, 3.0] and out["arr_original"].tolist() == [10.0, 3.0]
    assert table["arr"].tolist() == [10.0, 3.0] and "arr_original" not in table
    assert "arr_original" not in convert_money(table, "leads", book=book).converted  # not money unless named


def test_mapping_types_win_and_are_checked(tmp_path):
    folder = _org(tmp_path)
    m = tmp_path / "m.yaml"
    m.write_text("tables:\n  leads:\n    files: [Lead.csv]\n    types: {zip: int, notes: str, seats: str}\n")
    leads = fa.load_org(folder, mapping=m).leads
    assert leads["zip"].tolist()[:2] == [501.0, 10001.0]  # declared a number: then it is one
    assert leads["seats"].tolist()[0] == "3"  # types: wins over the describe file
    for text, says in [
        ("types: {zip: number}\n", "has kind 'number'"),
        ("types: {company: float}\n", "is a str column of the schema"),
        ("types: [zip]\n", "`types` of table 'leads' is ['zip']"),
    ]:
        m.write_text(f"tables:\n  leads:\n    files: [Lead.csv]\n    {text}")
        with pytest.raises(DataLoadError, match=says.replace("[", r"\[").replace("]", r"\]")):
            load_mapping(m)


def test_load_frames_types_by_a_describe_of_either_shape():
    frames = {"Lead": pd.DataFrame({"Id": ["00Q000000000001AAA"], "Company": ["X"], "Score__c": ["4.5"]})}
    for describe in ({"Lead": {"Score__c": "double"}}, {"Lead": {"name": "Lead", "fields": DESCRIBE["fields"]}}):
        assert fa.load_frames(frames, describe=describe).leads["score"].tolist() == [4.5]
    assert fa.load_frames(frames).leads["score"].tolist() == ["4.5"]
