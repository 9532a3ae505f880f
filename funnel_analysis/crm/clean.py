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

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "fold_picklist",
    "normalize_email",
    "EMAIL_PATTERN",
    "phone_e164",
    "company_key",
    "LEGAL_SUFFIXES",
]

#: A pragmatic email shape: one @, a dotted domain, no spaces.
EMAIL_PATTERN = r"[^@ \t\r\n]+@[^@ \t\r\n]+\.[^@ \t\r\n]+"

#: Legal-form suffixes stripped from company names into their own column.
#: Longest first, so that "股份有限公司" wins over "有限公司".
LEGAL_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限責任公司",
    "集团有限公司",
    "有限公司",
    "株式会社",
    "incorporated",
    "corporation",
    "limited",
    "company",
    "gmbh & co. kg",
    "gmbh",
    "s.a.r.l.",
    "sarl",
    "s.p.a.",
    "spa",
    "b.v.",
    "bv",
    "n.v.",
    "nv",
    "pty ltd",
    "pty",
    "ltd",
    "llc",
    "llp",
    "l.l.c.",
    "inc",
    "corp",
    "co",
    "plc",
    "ag",
    "sa",
    "se",
    "oy",
    "ab",
    "as",
    "kk",
)

_LATIN = "|".join(re.escape(x) for x in LEGAL_SUFFIXES if x.isascii())
_CJK = "|".join(re.escape(x) for x in LEGAL_SUFFIXES if not x.isascii())
# applied to lower-cased text with pyarrow's RE2 engine (vectorised); explicit
# character classes because RE2's \\s and \\w differ from Python's on Unicode
_SUFFIX_PATTERN = r"(?:[ \t,]+(?P<latin>" + _LATIN + r")\.?|(?P<cjk>" + _CJK + r"))[ \t]*$"


def _arrow(values: pd.Series) -> pa.Array:
    return pa.array(values.astype("str"), type=pa.large_string(), from_pandas=True)


def _series(arr, index) -> pd.Series:
    # labelled by position: pd.Series(<a Series>, index=...) would align on labels, all missing off a RangeIndex
    return arr.to_pandas().set_axis(index).astype("str")


def _re2_replace(values: pd.Series, pattern: str, replacement: str) -> pd.Series:
    """Regex replace in pyarrow (RE2): vectorised where pandas would fall back to Python's re."""
    return _series(pc.replace_substring_regex(_arrow(values), pattern=pattern, replacement=replacement), values.index)


def fold_picklist(values: pd.Series, canonical=None, weights=None) -> pd.Series:
    """Fold case and whitespace variants of picklist values to one spelling.

    Values are trimmed and inner runs of whitespace collapsed. Variants that
    then agree case-insensitively take the spelling in ``canonical`` (for
    example the stage names of the stages table) when one matches, otherwise
    the most frequent spelling among them (ties: a mixed-case spelling, then
    the first in sorted order). Works on the distinct values only, so a
    million rows of a twenty-value picklist cost twenty string operations.

    Parameters
    ----------
    values : pandas.Series
        The picklist values, any dtype (read as strings); missing values stay missing.
    canonical : iterable of str, optional
        Preferred spellings: a group of variants that matches one of them
        case-insensitively takes that spelling. ``None`` (the default): the
        most frequent spelling of each group wins.
    weights : array-like of numbers, optional
        How many rows each value stands for (the counts of a grouped table), aligned with
        ``values``; default 1 each. The most frequent spelling is the one of the largest total.

    Returns
    -------
    pandas.Series
        The folded values, ``str`` dtype, aligned on the index of ``values``;
        missing where the value was missing or blank.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) == 0:
        return pd.Series(None, index=values.index, dtype="str")
    u = pd.Series(np.asarray(uniques, dtype=object)).astype("str")
    text = u.str.strip().str.replace(r"[ \t\r\n]+", " ", regex=True)
    text = text.where(text != "", None)
    valid = codes >= 0
    if weights is None:
        n = np.bincount(codes[valid], minlength=len(u))
    else:
        n = np.bincount(codes[valid], weights=np.asarray(weights, dtype="float64")[valid], minlength=len(u))
    key = text.str.lower()
    counts = pd.DataFrame({"key": key, "value": text, "n": n}).dropna(subset=["value"])
    counts = counts.groupby(["key", "value"], as_index=False)["n"].sum()
    # on a tie, prefer a mixed-case spelling ("Web") over "WEB" or "web"
    counts["mixed"] = (counts["value"] != counts["value"].str.lower()) & (
        counts["value"] != counts["value"].str.upper()
    )
    counts = counts.sort_values(["key", "n", "mixed", "value"], ascending=[True, False, False, True])
    best = counts.drop_duplicates("key").set_index("key")["value"]
    if canonical is not None:
        canon = pd.Series(list(canonical), dtype="str").dropna()
        canon_map = pd.Series(canon.to_numpy(), index=canon.str.lower().to_numpy())
        canon_map = canon_map[~canon_map.index.duplicated()]
        best = canon_map.combine_first(best) if len(best) else canon_map
    folded = key.map(best).to_numpy(dtype=object)
    out = np.where(codes >= 0, folded[np.maximum(codes, 0)], None)
    return pd.Series(out, index=values.index, dtype="str")


def normalize_email(values: pd.Series) -> pd.Series:
    """Trim and lower-case email addresses (empty -> missing).

    Parameters
    ----------
    values : pandas.Series
        Email addresses, any dtype (read as strings).

    Returns
    -------
    pandas.Series
        The trimmed, lower-cased addresses, aligned on the index of ``values``;
        missing where the value was missing or blank. The shape is not checked
        (see ``EMAIL_PATTERN``).
    """
    text = values.astype("str").str.strip().str.lower()
    return text.where(values.notna() & (text != ""), None)


def _calling_codes(countries: pd.Series) -> pd.Series:
    """Country name or ISO code -> international calling code (missing when unknown)."""
    names = {
        "united states": "US",
        "usa": "US",
        "us": "US",
        "united kingdom": "GB",
        "uk": "GB",
        "germany": "DE",
        "france": "FR",
        "china": "CN",
        "india": "IN",
        "japan": "JP",
        "canada": "CA",
        "australia": "AU",
        "brazil": "BR",
        "mexico": "MX",
        "spain": "ES",
        "italy": "IT",
        "netherlands": "NL",
        "singapore": "SG",
        "taiwan": "TW",
        "hong kong": "HK",
        "south korea": "KR",
        "korea": "KR",
        "switzerland": "CH",
        "sweden": "SE",
    }
    uniq = countries.dropna().unique()
    codes = {}
    for c in uniq:
        key = str(c).strip()
        region = names.get(key.lower(), key.upper() if len(key) == 2 else None)
        code = phonenumbers.country_code_for_region(region) if region else 0
        codes[c] = str(code) if code else None
    return countries.map(codes).astype("str")


def phone_e164(phones: pd.Series, countries: pd.Series | None = None, default_country: str | None = None) -> pd.Series:
    """Normalise phone numbers to E.164 (``+15127576000``) where the country is known.

    A number written with ``+`` or ``00`` carries its own country; otherwise
    the row's country (name or ISO code) or ``default_country`` gives the
    calling code and a national trunk ``0`` is dropped. Numbers whose country
    cannot be known, or whose digits cannot form a valid length (8-15), stay
    missing. Calling codes come from the ``phonenumbers`` metadata; the rest is
    vectorised, so it costs little on a million rows.

    Parameters
    ----------
    phones : pandas.Series
        Phone numbers as written (spaces, dashes, brackets and a trailing
        ``x123`` / ``ext. 123`` extension are ignored).
    countries : pandas.Series, optional
        The country of each row, index-aligned with ``phones``: a name
        (``"Germany"``, ``"USA"``) or a two-letter ISO code. ``None`` (the
        default): every row takes ``default_country``.
    default_country : str, optional
        The country (name or ISO code) of rows whose country is missing.
        ``None`` (the default): such rows stay missing unless the number
        carries its own country.

    Returns
    -------
    pandas.Series
        E.164 numbers (``"+" + digits``), ``str`` dtype, aligned on the index
        of ``phones``; missing where the number cannot be normalised.
    """
    raw = phones.astype("str").str.strip()
    raw = raw.where(phones.notna(), "")
    raw = raw.str.replace(r"[ ]*(?:x|ext\.?)[ ]*[0-9]+$", "", regex=True)  # drop extensions
    digits = raw.str.replace(r"[^0-9]", "", regex=True)
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

    Up to two trailing legal suffixes (see ``LEGAL_SUFFIXES``) are stripped, so
    ``"Acme Holdings Co., Ltd."`` keys as ``"acme holdings"``.

    Parameters
    ----------
    names : pandas.Series
        Company names, any dtype (read as strings).

    Returns
    -------
    pandas.DataFrame
        Index-aligned with ``names``, two ``str`` columns: ``company_key``
        (lower case, punctuation removed, legal suffixes such as Inc, GmbH,
        Ltd, 有限公司 stripped; missing where the name is missing or blank) and
        ``company_legal_form`` (the stripped suffix, lower case; missing when
        there is none).
    """
    text = names.astype("str").str.strip().str.lower()
    text = text.where(names.notna() & (text != ""), None)
    forms = pd.Series(None, index=names.index, dtype="str")
    base = text
    for _ in range(2):  # "Acme Holdings Co., Ltd." carries two suffixes
        found = pc.extract_regex(_arrow(base), pattern=_SUFFIX_PATTERN)
        latin = _series(pc.struct_field(found, "latin"), names.index)
        cjk = _series(pc.struct_field(found, "cjk"), names.index)
        form = latin.where(latin.notna() & (latin != ""), cjk)
        form = form.where(form.notna() & (form != ""), None)
        base = base.where(form.isna(), _re2_replace(base, _SUFFIX_PATTERN, ""))
        forms = forms.where(form.isna() | forms.notna(), form)
    # letters and digits of any script stay; everything else separates words
    key = _re2_replace(base, r"[^\p{L}\p{N}]+", " ").str.strip()
    key = key.where(key != "", text)
    return pd.DataFrame({"company_key": key, "company_legal_form": forms}, index=names.index)
