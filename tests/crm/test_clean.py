import pandas as pd
import phonenumbers
from hypothesis import given
from hypothesis import strategies as st

from funnel_analysis.crm.clean import company_key, fold_picklist, normalize_email, phone_e164


def test_fold_picklist_prefers_canonical_then_majority():
    s = pd.Series(["closed won", " Closed  Won", "CLOSED WON", "Web", "web", "web", None])
    out = fold_picklist(s, canonical=["Closed Won"])
    assert out[:3].tolist() == ["Closed Won"] * 3
    assert out[3:6].tolist() == ["web"] * 3  # "web" is the majority spelling
    assert pd.isna(out[6])


def test_fold_picklist_weights_count_rows_of_a_grouped_table():
    # "web" is one row standing for 5, "Web" two rows of 1 each: weighted, "web" is the majority
    s = pd.Series(["web", "Web", "Web", "Partner"])
    assert fold_picklist(s).tolist() == ["Web", "Web", "Web", "Partner"]
    assert fold_picklist(s, weights=[5, 1, 1, 2]).tolist() == ["web", "web", "web", "Partner"]
    # weights equal to the rows' counts give what the rows themselves give
    rows = pd.Series(["web"] * 5 + ["Web", "Web"])
    assert set(fold_picklist(rows)) == {"web"}


@given(st.lists(st.sampled_from(["Web", "web", " WEB", "Trade Show", "trade  show", "Partner"]), min_size=1))
def test_fold_picklist_invariants(values):
    s = pd.Series(values)
    out = fold_picklist(s)
    # one spelling per case-insensitive, whitespace-collapsed key; nothing else merges
    keys = s.str.strip().str.replace(r"\s+", " ", regex=True).str.casefold()
    assert out.groupby(keys).nunique().max() == 1
    assert out.str.casefold().nunique() == keys.nunique()


def test_normalize_email():
    assert normalize_email(pd.Series([" A@B.COM ", "", None])).tolist()[0] == "a@b.com"


def test_phone_e164_matches_phonenumbers():
    cases = [
        ("(512) 757-6000", "US"),
        ("+44 20 7946 0958", None),
        ("030 1234567", "DE"),
        ("0044 20 7946 0958", None),
        ("1-650-253-0000", "US"),
        ("010 6552 9988", "CN"),
    ]
    phones = pd.Series([c[0] for c in cases])
    countries = pd.Series([c[1] for c in cases])
    out = phone_e164(phones, countries)
    for (raw, region), got in zip(cases, out):
        text = raw.replace("0044", "+44", 1) if raw.startswith("0044") else raw
        want = phonenumbers.format_number(phonenumbers.parse(text, region), phonenumbers.PhoneNumberFormat.E164)
        assert got == want, raw


def test_phone_without_country_stays_missing():
    assert pd.isna(phone_e164(pd.Series(["886-2-25474189"]))[0])


def test_company_key():
    out = company_key(
        pd.Series(["ACME, Inc.", "Acme Inc", "Siemens AG", "北京华信科技有限公司", "华为技术股份有限公司", "Inc"])
    )
    assert out["company_key"].tolist() == ["acme", "acme", "siemens", "北京华信科技", "华为技术", "inc"]
    assert out["company_legal_form"].tolist()[:5] == ["inc", "inc", "ag", "有限公司", "股份有限公司"]


def test_company_key_keeps_any_index():
    # a frame filtered or indexed by ID: the keys follow the rows, not the labels 0..n-1
    from funnel_analysis.crm.clean import company_key

    names = pd.Series(["Acme Inc.", "Globex GmbH", None], index=["00Q2", "00Q1", "00Q3"])
    got = company_key(names)
    assert got.index.tolist() == ["00Q2", "00Q1", "00Q3"]
    assert got["company_key"].tolist()[:2] == ["acme", "globex"] and pd.isna(got["company_key"].iloc[2])
    assert got["company_legal_form"].tolist()[:2] == ["inc", "gmbh"]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), company_key(names.reset_index(drop=True)))
