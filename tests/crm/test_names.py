"""Record names: the name a person reads for each ID, and IDs told from other text."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_analysis.crm import load_frames
from funnel_analysis.crm.names import looks_like_record_id, names_of, record_kind, record_names


def test_every_named_object_by_hand():
    org = load_frames(
        {
            "User": pd.DataFrame({"Id": ["005000000000001AAA"], "Name": ["Ann Lee"]}),
            "Group": pd.DataFrame({"Id": ["00G000000000001AAA"], "Name": ["EMEA Queue"], "Type": ["Queue"]}),
            "Account": pd.DataFrame({"Id": ["001000000000001AAA"], "Name": ["Acme"]}),
            "Lead": pd.DataFrame(
                {
                    "Id": ["00Q000000000001AAA", "00Q000000000002AAA"],
                    "FirstName": ["Bo", ""],
                    "LastName": ["Chan", ""],
                    "Company": ["Initech", "Globex"],
                    "CreatedDate": ["2024-01-02", "2024-01-03"],
                }
            ),
            "Opportunity": pd.DataFrame(
                {
                    "Id": ["006000000000001AAA"],
                    "Name": ["Acme — renewal"],
                    "AccountId": ["001000000000001AAA"],
                    "StageName": ["Prospecting"],
                    "CreatedDate": ["2024-01-05"],
                    "CloseDate": ["2024-03-01"],
                }
            ),
        }
    )
    assert record_names(org).to_dict() == {
        "005000000000001AAA": "Ann Lee",
        "00G000000000001AAA": "EMEA Queue",
        "001000000000001AAA": "Acme",
        "00Q000000000001AAA": "Bo Chan",
        "00Q000000000002AAA": "Globex",  # no person's name: its company
        "006000000000001AAA": "Acme — renewal",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("006bm00001ZL8U9AAL", True),
        ("006bm00001ZL8U9", True),  # 15 characters
        ("Professionalism", False),  # 15 letters, no key prefix
        ("00Qabcdefghijkl", False),  # no digit after the prefix: a word, not an ID
        ("a0X000000000001AAA", False),  # a custom object's prefix: not one a report names
        ("L1", False),
        (None, False),
        (12, False),
    ],
)
def test_ids_are_told_from_text(value, expected):
    assert looks_like_record_id(value) is expected


def test_kind_from_prefix():
    assert [record_kind(i) for i in ("00Q1", "0051", "7011", "xyz")] == ["lead", "user", "campaign", "record"]


def test_record_names_needs_an_org():
    with pytest.raises(TypeError, match="record_names: expected a CrmData"):
        record_names(pd.DataFrame())


def test_names_of_some_ids_by_hand():
    org = load_frames(
        {
            "User": pd.DataFrame({"Id": ["005000000000001AAA"], "Name": ["Ann Lee"]}),
            "Account": pd.DataFrame({"Id": ["001000000000001AAA", "001000000000002AAA"], "Name": ["Acme", ""]}),
            "Lead": pd.DataFrame(
                {
                    "Id": ["00Q000000000001AAA"],
                    "FirstName": [""],
                    "LastName": [""],
                    "Company": ["Initech"],
                    "CreatedDate": ["2024-01-02"],
                }
            ),
        }
    )
    got = names_of(
        org, ids=["00Q000000000001AAA", None, "001000000000002AAA", "005000000000001AAA", "00Q000000000001AAA"]
    )
    # in the order first given; the account without a name and the missing value are left out
    assert got.to_dict() == {"00Q000000000001AAA": "Initech", "005000000000001AAA": "Ann Lee"}
    assert list(got.index) == ["00Q000000000001AAA", "005000000000001AAA"]
    assert names_of(org, ids=[]).empty


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_names_of_is_record_names_for_those_ids(tiny_crm, data):
    every = record_names(tiny_crm)
    pool = [*every.index, "00Q000000000999AAA", "not an id"]
    ids = data.draw(st.lists(st.sampled_from(pool), max_size=12))
    expected = every.reindex(list(dict.fromkeys(ids))).dropna()
    pd.testing.assert_series_equal(names_of(tiny_crm, ids=ids), expected, check_index_type=False)


def test_names_of_needs_an_org():
    with pytest.raises(TypeError, match="names_of: expected a CrmData"):
        names_of(pd.DataFrame(), ids=["001000000000001AAA"])
