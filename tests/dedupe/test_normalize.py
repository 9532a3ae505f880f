"""Matching features: script-aware names and companies, nicknames, e-mails, web domains."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_analysis.dedupe import company_features, person_features
from funnel_analysis.dedupe.normalize import (
    acronym,
    first_name_key,
    fold_text,
    load_dedupe_config,
    nickname_groups,
    phone_key,
    street_key,
    website_domain,
)


def test_chinese_names_fold_alike_in_traditional_simplified_and_pinyin():
    # 张伟 simplified, 張偉 traditional, Zhang Wei pinyin: one person, one key
    people = pd.DataFrame(
        {
            "id": ["s", "t", "p", "other"],
            "first_name": ["伟", "偉", "Wei", "芳"],
            "last_name": ["张", "張", "Zhang", "王"],
        }
    )
    f = person_features(people, id_column="id").set_index("unique_id")
    assert f.loc[["s", "t", "p"], "first_key"].tolist() == ["wei"] * 3
    assert f.loc[["s", "t", "p"], "last_key"].tolist() == ["zhang"] * 3
    assert f.loc[["s", "t", "p"], "name_tokens"].nunique() == 1
    assert f.loc["other", "name_tokens"] == "fang wang"


def test_chinese_company_keys_ignore_script_and_legal_form():
    names = pd.Series(["北京华信科技有限公司", "北京華信科技", "Beijing Huaxin Keji", "上海华信科技有限公司"])
    f = company_features(pd.DataFrame({"account_id": list("abcd"), "name": names}))
    assert f["company_key"].tolist()[:2] == ["bei jing hua xin ke ji"] * 2
    assert f["company_key"].iloc[3] == "shang hai hua xin ke ji"
    assert fold_text(pd.Series(["Beijing Huaxin Keji"])).iloc[0] == "beijing huaxin keji"


def test_nicknames_and_accents():
    assert first_name_key(pd.Series(["Bob", "Robert", "Bill", "William", "Jürgen"])).tolist() == [
        "robert",
        "robert",
        "william",
        "william",
        "jurgen",
    ]
    groups = nickname_groups()
    assert groups["chris"] == groups["christopher"] == groups["christine"]


def test_swapped_names_share_tokens_and_email_parts():
    people = pd.DataFrame(
        {
            "lead_id": ["a", "b"],
            "first_name": ["Smith", "Jim"],
            "last_name": ["James", "Smith"],
            "email": [" Jim.Smith@ACME.com ", "bad@@x"],
            "company": ["ACME, Inc.", "Acme"],
        }
    )
    f = person_features(people)
    assert f["name_tokens"].tolist() == ["james smith", "james smith"]
    assert f["email"].tolist()[0] == "jim.smith@acme.com" and pd.isna(f["email"].iloc[1])
    assert f["email_domain"].iloc[0] == "acme.com"
    assert f["company_key"].tolist() == ["acme", "acme"]


def test_free_mail_domain_says_nothing_about_the_company():
    f = person_features(pd.DataFrame({"lead_id": ["a"], "last_name": ["Li"], "email": ["li@gmail.com"]}))
    assert pd.isna(f["email_domain"].iloc[0]) and f["email"].iloc[0] == "li@gmail.com"


def test_acronym_and_website_domain():
    assert acronym(pd.Series(["international business machines", "acme"])).tolist()[0] == "ibm"
    assert website_domain(pd.Series(["https://www.Acme.com/about", "http://acme.com"])).tolist() == [
        "acme.com",
        "acme.com",
    ]


def test_features_do_not_change_their_input():
    people = pd.DataFrame({"lead_id": ["a"], "first_name": ["Bob"], "last_name": ["Lee"]})
    before = people.copy()
    person_features(people)
    pd.testing.assert_frame_equal(people, before)


def test_person_features_fail_without_id_or_names():
    with pytest.raises(ValueError, match="no ID column"):
        person_features(pd.DataFrame({"first_name": ["a"]}))
    with pytest.raises(ValueError, match="first_name"):
        person_features(pd.DataFrame({"lead_id": ["a"], "email": ["a@b.io"]}))
    with pytest.raises(ValueError, match="no names"):  # columns present, every value missing
        person_features(pd.DataFrame({"lead_id": ["a"], "first_name": [None], "last_name": [None], "name": [None]}))


def test_company_features_fail_without_name():
    with pytest.raises(ValueError, match="name column"):
        company_features(pd.DataFrame({"account_id": ["a"], "website": ["a.io"]}))


def test_config_must_be_a_mapping(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match="mapping"):
        load_dedupe_config(str(bad))
    assert load_dedupe_config()["thresholds"]["review"] == 0.2


# ---- bug 1 of issue 15: an export without a country column keeps its phones and streets ----------------
def _loaded_leads_without_country():
    """Two leads, one number written two ways, loaded from an export with no Country column."""
    import funnel_analysis as fa

    leads = pd.DataFrame(
        {
            "Id": ["00Q000000000001AAA", "00Q000000000002AAA", "00Q000000000003AAA"],
            "CreatedDate": ["2024-01-01T00:00:00.000+0000"] * 3,
            "FirstName": ["Anna", "Anna", "Ben"],
            "LastName": ["Meyer", "Meier", "Stone"],
            "Phone": ["089 5171 8973", "+49 (89) 5171-8973", "(408) 847-7114 x12"],
            "Company": ["Acme", "Acme GmbH", "Stone Inc"],
        }
    )
    return fa.load_frames({"Lead": leads}).leads


def test_an_export_without_country_keeps_the_phone_in_the_features():
    leads = _loaded_leads_without_country()
    # the loader's E.164 form exists but is empty for the nationally written numbers
    assert "phone_e164" in leads.columns and leads["phone_e164"].isna().sum() == 2
    f = person_features(leads, id_column="lead_id")
    # by hand: the last nine digits of 0895171 8973 and of +49 89 5171 8973; 408 847 7114 without its extension
    assert f["phone"].tolist() == ["951718973", "951718973", "088477114"]


def test_the_phone_key_is_the_same_number_however_written():
    written = pd.Series(
        [
            "+1 408-847-7114",
            "(408) 847-7114",
            "408.847.7114",
            "1-408-847-7114",
            "001 408 847 7114",
            "408-847-7114 ext. 55",
        ]
    )
    assert phone_key(written).nunique() == 1
    # French nine-digit numbers: a ten-digit key would tell +33 1 23 45 67 89 from 01 23 45 67 89
    assert phone_key(pd.Series(["+33 1 23 45 67 89", "01 23 45 67 89"])).tolist() == ["123456789"] * 2
    # the E.164 form wins where the loader made one; too few digits is no phone
    key = phone_key(pd.Series(["0 89 5171 8973", "123", None]), pd.Series(["+498951718973", None, None]))
    assert key.iloc[0] == "951718973" and key.iloc[1:].isna().all()


def test_phone_key_fails_on_an_unaligned_e164():
    with pytest.raises(ValueError, match="aligned"):
        phone_key(pd.Series(["1", "2"]), pd.Series(["+1"]))


def test_accounts_compare_their_billing_street():
    accounts = pd.DataFrame(
        {
            "account_id": ["a", "b", "c"],
            "name": ["Acme", "Acme Holdings", "Other"],
            "billing_street": ["12 North Main Street, Suite 4", "12 N. Main St. Ste 4", None],
            "billing_city": ["Boston"] * 3,
        }
    )
    f = company_features(accounts)
    assert f["street"].tolist()[:2] == ["12 n main st ste 4"] * 2 and pd.isna(f["street"].iloc[2])
    assert street_key(pd.Series(["Hauptstraße 5", "Hauptstr. 5", "Haupt Strasse 5"])).nunique() == 1


def test_street_key_fails_on_a_table():
    with pytest.raises(TypeError, match="one-dimensional"):
        street_key(pd.DataFrame({"a": ["x"], "b": ["y"]}))
