"""Cleaning: picklists folded to one spelling, emails, phones and company names normalised.

Small pure functions on Series and DataFrames (they never change their input),
vectorised so that they cost little on a million rows.

Examples
--------
>>> import pandas as pd
>>> fold_picklist(pd.Series(["Web", " web", "WEB ", "Trade  Show", "Trade Show"])).tolist()
['Web', 'Web', 'Web', 'Trade Show', 'Trade Show']
>>> normalize_email(pd.Series([" John.Doe@Example.COM "])).tolist()
['john.doe@example.com']
>>> company_key(pd.Series(["ACME, Inc.", "北京华信科技有限公司"]))["company_key"].tolist()
['acme', '北京华信科技']
"""

from __future__ import annotations

import re

import pandas as pd
import phonenumbers

__all__ = [
    "fold_picklist",
    "normalize_email",
    "EMAIL_PATTERN",
    "phone_e164",
    "company_key",
    "LEGAL_SUFFIXES",
]

#: A pragmatic email shape: one @, a dotted domain, no spaces.
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"

#: Legal-form suffixes stripped from company names into their own column.
#: Longest first, so that "股份有限公司" wins over "有限公司".
LEGAL_SUFFIXES = (
    "股份有限公司", "有限责任公司", "有限責任公司", "集团有限公司", "有限公司", "株式会社",
    "incorporated", "corporation", "limited", "company", "gmbh & co. kg", "gmbh", "s.a.r.l.", "sarl",
    "s.p.a.", "spa", "b.v.", "bv", "n.v.", "nv", "pty ltd", "pty", "ltd", "llc", "llp", "l.l.c.",
    "inc", "corp", "co", "plc", "ag", "sa", "se", "oy", "ab", "as", "kk",
)

_SUFFIX_RE = re.compile(
    r"(?:[\s,]+(?P<latin>" + "|".join(re.escape(s) for s in LEGAL_SUFFIXES if s.isascii()) + r")\.?"
    r"|(?P<cjk>" + "|".join(re.escape(s) for s in LEGAL_SUFFIXES if not s.isascii()) + r"))\s*$",
    flags=re.IGNORECASE,
)


def fold_picklist(values: pd.Series, canonical=None) -> pd.Series:
    """Fold case and whitespace variants of picklist values to one spelling.

    Values are trimmed and inner runs of whitespace collapsed. Variants that
    then agree case-insensitively take the spelling in ``canonical`` (for
    example the stage names of the stages table) when one matches, otherwise
    the most frequent spelling among them (ties: a mixed-case spelling, then
    the first in sorted order).
    """
    text = values.astype("str").str.strip().str.replace(r"\s+", " ", regex=True)
    text = text.where(values.notna() & (text != ""), None)
    present = text.dropna()
    if present.empty:
        return text
    key = present.str.casefold()
    counts = pd.DataFrame({"key": key, "value": present}).value_counts().reset_index(name="n")
    # on a tie, prefer a mixed-case spelling ("Web") over "WEB" or "web"
    counts["mixed"] = (counts["value"] != counts["value"].str.lower()) & (
        counts["value"] != counts["value"].str.upper())
    counts = counts.sort_values(["key", "n", "mixed", "value"], ascending=[True, False, False, True])
    best = counts.drop_duplicates("key").set_index("key")["value"]
    if canonical is not None:
        canon = pd.Series(list(canonical), dtype="str").dropna()
        canon_map = pd.Series(canon.to_numpy(), index=canon.str.casefold().to_numpy())
        canon_map = canon_map[~canon_map.index.duplicated()]
        best = canon_map.combine_first(best) if len(best) else canon_map
    out = text.copy()
    out.loc[present.index] = key.map(best).to_numpy()
    return out


def normalize_email(values: pd.Series) -> pd.Series:
    """Trim and lower-case email addresses (empty -> missing)."""
    text = values.astype("str").str.strip().str.lower()
    return text.where(values.notna() & (text != ""), None)


def _calling_codes(countries: pd.Series) -> pd.Series:
    """Country name or ISO code -> international calling code (missing when unknown)."""
    names = {"united states": "US", "usa": "US", "us": "US", "united kingdom": "GB", "uk": "GB",
             "germany": "DE", "france": "FR", "china": "CN", "india": "IN", "japan": "JP",
             "canada": "CA", "australia": "AU", "brazil": "BR", "mexico": "MX", "spain": "ES",
             "italy": "IT", "netherlands": "NL", "singapore": "SG", "taiwan": "TW", "hong kong": "HK",
             "south korea": "KR", "korea": "KR", "switzerland": "CH", "sweden": "SE"}
    uniq = countries.dropna().unique()
    codes = {}
    for c in uniq:
        key = str(c).strip()
        region = names.get(key.lower(), key.upper() if len(key) == 2 else None)
        code = phonenumbers.country_code_for_region(region) if region else 0
        codes[c] = str(code) if code else None
    return countries.map(codes).astype("str")


def phone_e164(phones: pd.Series, countries: pd.Series | None = None,
               default_country: str | None = None) -> pd.Series:
    """Normalise phone numbers to E.164 (``+15127576000``) where the country is known.

    A number written with ``+`` or ``00`` carries its own country; otherwise
    the row's country (name or ISO code) or ``default_country`` gives the
    calling code and a national trunk ``0`` is dropped. Numbers whose country
    cannot be known, or whose digits cannot form a valid length (8-15), stay
    missing. Calling codes come from the ``phonenumbers`` metadata; the rest is
    vectorised, so it costs little on a million rows.
    """
    raw = phones.astype("str").str.strip()
    raw = raw.where(phones.notna(), "")
    raw = raw.str.replace(r"\s*(?:x|ext\.?)\s*\d+$", "", regex=True)  # drop extensions
    digits = raw.str.replace(r"\D", "", regex=True)
    intl = raw.str.startswith("+")
    dbl0 = ~intl & digits.str.startswith("00")
    if countries is None:
        countries = pd.Series(None, index=phones.index, dtype="str")
    cc = _calling_codes(countries.where(countries.notna(), default_country))
    national = digits.str.replace(r"^0+", "", regex=True)
    # NANP numbers often carry their own leading 1
    nanp_own = (cc == "1") & (digits.str.len() == 11) & digits.str.startswith("1")
    local = ("+" + cc + national).where(~nanp_own, "+" + digits)
    out = local.where(cc.notna(), None)
    out = out.where(~intl, "+" + digits)
    out = out.where(~dbl0, "+" + digits.str.slice(2))
    n = out.str.len() - 1
    ok = out.notna() & (n >= 8) & (n <= 15) & (digits != "")
    return out.where(ok, None).astype("str")


def company_key(names: pd.Series) -> pd.DataFrame:
    """Split company names into a matching key and their legal form.

    Returns a frame with ``company_key`` (lower case, punctuation removed,
    legal suffixes such as Inc, GmbH, Ltd, 有限公司 stripped) and
    ``company_legal_form`` (the stripped suffix, lower case), index-aligned.
    """
    text = names.astype("str").str.strip()
    text = text.where(names.notna() & (text != ""), None)
    forms = pd.Series(None, index=names.index, dtype="str")
    base = text
    for _ in range(2):  # "Acme Holdings Co., Ltd." carries two suffixes
        found = base.str.extract(_SUFFIX_RE)
        form = found["latin"].fillna(found["cjk"]).str.lower()
        base = base.where(form.isna(), base.str.replace(_SUFFIX_RE, "", regex=True))
        forms = forms.where(form.isna() | forms.notna(), form)
    key = base.str.casefold().str.replace(r"[^\w]+", " ", regex=True).str.strip()
    key = key.str.replace(r"\s+", " ", regex=True)
    key = key.where(key != "", text.str.casefold())
    return pd.DataFrame({"company_key": key, "company_legal_form": forms}, index=names.index)
