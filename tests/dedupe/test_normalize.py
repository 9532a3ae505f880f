"""Matching features: script-aware names and companies, nicknames, e-mails, web domains."""

from __future__ import annotations

import math
import re
from collections import Counter

import jellyfish
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnel_analysis.crm.clean import company_key
from funnel_analysis.dedupe import company_features, person_features
from funnel_analysis.dedupe.normalize import (
    _CJK,
    _EXTRA_FORMS,
    _STREET_WORDS,
    FREE_MAIL,
    _company_fields,
    _fold_one,
    _rare_words,
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


# ---- the features are computed per distinct value: the same as row by row ----------------------------
def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _fold(v):
    """fold_text of one value, as the code had it: _fold_one in Python, empty -> missing."""
    return None if _missing(v) else (_fold_one(str(v)) or None)


def _company_rows(names: list) -> dict[str, list]:
    """The company fields row by row (the code before it worked on distinct names)."""
    folded = []
    for v in names:
        key = company_key(pd.Series([v], dtype=object).astype("str"))["company_key"].iloc[0]
        f = _fold(key)
        if f is not None:
            stripped = re.sub(_EXTRA_FORMS, "", f)
            f = stripped if stripped else f
        folded.append(f)
    # common: more rows than max(2, 1 %) of the named rows, counting each word of each row
    counts = Counter(w for f in folded if f is not None for w in f.split(" "))
    common = {w for w, n in counts.items() if n > max(2, 0.01 * sum(f is not None for f in folded))}
    out = {c: [] for c in ("core", "key", "tokens", "acronym", "first")}
    for v, f in zip(names, folded):
        if f is None:
            for c in out:
                out[c].append(None)
            continue
        words = f.split(" ")
        cjk = _CJK.search(str(v)) is not None
        out["core"].append(" ".join(w for w in f.split() if w not in common) or f)
        out["key"].append(f)
        out["tokens"].append(" ".join(sorted(f.split())))
        out["acronym"].append(None if cjk or len(words) < 2 else "".join(x[0] for x in words if x))
        out["first"].append(re.sub(r" .*$", "", f))
    return out


def _phone_row(v):
    if _missing(v):
        return None
    digits = re.sub(r"[^0-9]", "", re.sub(r"\s*(?:x|ext\.?)\s*[0-9]+\s*$", "", str(v), flags=re.IGNORECASE))
    return digits[-9:] if len(digits) >= 7 else None


def _street_row(v):
    f = None if _missing(v) else _fold(str(v).replace("ß", "ss").replace("ẞ", "SS"))
    if f is None:
        return None
    f = re.sub(r"(?<=[a-z])(strasse|str)\b", r" \1", f)
    return " ".join(_STREET_WORDS.get(w, w) for w in f.split())


def _email_row(v):
    e = None if _missing(v) else (str(v).strip().lower() or None)
    return e if e is not None and re.search(r"^[^@ ]+@[^@ ]+\.[^@ ]+$", e) else None


def _person_rows(df: pd.DataFrame) -> pd.DataFrame:
    """person_features row by row, for frames with lead_id, first/last name, email, phone, company, street, city."""
    groups = nickname_groups()
    rows = []
    for r in df.itertuples(index=False):
        first = _fold(r.first_name)
        first = first.replace(" ", "") if first else None
        last = _fold(r.last_name)
        last = last.replace(" ", "") if last else None
        key = _fold(first)
        key = groups.get(key, key) if key else None
        email = _email_row(r.email)
        domain = re.sub(r"^.*@", "", email) if email else None
        tokens = " ".join(sorted([key, last])) if key and last else (key or last)
        rows.append(
            {
                "unique_id": str(r.lead_id),
                "first_key": key,
                "first_raw": first,
                "first_initial": first[:1] if first else None,
                "last_key": last,
                "last_initial": last[:1] if last else None,
                "last_phonetic": (jellyfish.metaphone(last) or last) if last else None,
                "email": email,
                "email_local": re.sub(r"@.*$", "", email) if email else None,
                "email_domain": None if domain in FREE_MAIL else domain,
                "phone": _phone_row(r.phone),
                "name_tokens": tokens,
            }
        )
    out = pd.DataFrame(rows, columns=list(rows[0])).astype("str")
    later = {f"company_{c}": v for c, v in _company_rows(df["company"].tolist()).items()}
    later["street"] = [_street_row(v) for v in df["street"]]
    later["city"] = [_fold(v) for v in df["city"]]
    for c in ("postal_code", "state", "country", "birth_date", "national_id"):
        later[c] = [None] * len(df)
    for c, values in later.items():
        # these columns were assigned as object arrays: pandas makes them str, object when all missing
        named = any(v is not None for v in values)
        out[c] = pd.Series(values, dtype=object).astype("str") if named else np.full(len(df), np.nan, dtype=object)
    return out


_WORDS = ["Acme", "global", "TECH", "the", "Group", "Inc.", "GmbH", "Co., Ltd.", "北京", "華信", "科技", "有限公司"]
_WORDS += ["Jürgen", "ÉCOLE", "x", "-", "O'Brien", "straße", "Ave", "ﬁne", "\u00a0", "\t"]
_name = st.one_of(
    st.none(),
    st.just(np.nan),
    st.just(pd.NA),
    st.sampled_from(["", "   ", "!!"]),
    st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4).map(" ".join),
    st.lists(st.sampled_from(_WORDS[:4]), min_size=1, max_size=3).map(" ".join),  # words shared by many names
    st.text(max_size=6),
)
# a few names, each on many rows: a word in two names can be on more than two rows (common by rows only)
_names = st.lists(_name, min_size=1, max_size=6).flatmap(lambda pool: st.lists(st.sampled_from(pool), max_size=60))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_names)
def test_company_fields_per_distinct_name_equal_the_row_by_row_fields(names):
    index = pd.Index([f"r{i}" for i in range(len(names))][::-1])  # not 0..n-1: the index is kept
    got = _company_fields(pd.Series(names, index=index, dtype=object), "company")
    want = pd.DataFrame({f"company_{c}": v for c, v in _company_rows(names).items()}, index=index, dtype=object)
    pd.testing.assert_frame_equal(got, want.astype("str"), check_exact=True)


_people = st.lists(
    st.tuples(
        st.sampled_from(["Bob", "Robert", "伟", "Zhang Wei", "Jürgen", "", None, "Anna-Lena"]),
        st.sampled_from(["Smith", "張", "O'Brien", "Müller", "", None, np.nan]),
        st.sampled_from(["Bob@X.io ", "li@gmail.com", "bad@@x", "", None]),
        st.sampled_from(["+49 89 5171 8973", "(408) 847-7114 EXT. 12", "408 847 7114\u00a0x9", "n/a", None]),
        _name,
        st.sampled_from(["12 North Main Street", "Hauptstraße 5", "Hauptstr. 5", "", None]),
        st.sampled_from(["Boston", "北京", "São Paulo", None]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_people)
def test_person_features_equal_the_row_by_row_features(people):
    cols = ["first_name", "last_name", "email", "phone", "company", "street", "city"]
    df = pd.DataFrame(people, columns=cols, dtype=object)
    df.insert(0, "lead_id", [f"L{i}" for i in range(len(df))])
    df.index = df.index * 3 + 7  # the output has its own 0..n-1 index, whatever the input's
    if df[["first_name", "last_name"]].isna().all().all():
        df.loc[df.index[0], "last_name"] = "Lee"  # every name missing is an error (tested above)
    pd.testing.assert_frame_equal(person_features(df), _person_rows(df), check_exact=True)


@given(st.lists(st.one_of(st.none(), st.text(max_size=8)), max_size=30))
def test_fold_text_of_any_text_is_fold_one_of_each_value(values):
    want = pd.Series([_fold(v) for v in values], dtype=object).astype("str")
    pd.testing.assert_series_equal(fold_text(pd.Series(values, dtype=object)), want, check_exact=True)


def test_common_words_count_rows_not_distinct_names():
    # "alpha" is in two distinct names but four rows: more than two rows, so common, and dropped
    folded = pd.Series(["acme alpha", "beta alpha"])
    assert _rare_words(folded).tolist() == ["acme alpha", "beta alpha"]
    assert _rare_words(folded, rows=np.array([2, 2])).tolist() == ["acme", "beta"]
    names = pd.Series(["Acme Alpha", "Beta Alpha", None, "Acme Alpha", "Beta Alpha"])
    f = _company_fields(names, "company")
    assert f["company_core"].tolist()[:2] == ["acme", "beta"] and f["company_core"].isna().iloc[2]
