"""Matching features: person names, companies, e-mails, phones and addresses, script-aware.

Every function takes a DataFrame (or Series) and returns a new one; nothing is changed in place.
Chinese names and companies are written as simplified or traditional characters or as pinyin;
all three are folded to toneless pinyin (``pypinyin`` reads both character sets), so 張偉, 张伟
and "Zhang Wei" share one key. Latin text is folded to lower-case ASCII.

Examples
--------
>>> import pandas as pd
>>> fold_text(pd.Series(["  Jürgen ", "張偉", "Zhang Wei", None])).tolist()
['jurgen', 'zhang wei', 'zhang wei', nan]
>>> first_name_key(pd.Series(["Bob", "Robert", "Rob", "Anna"])).tolist()
['robert', 'robert', 'robert', 'anna']
>>> person_features(pd.DataFrame({"id": ["x"], "first_name": ["伟"], "last_name": ["張"]}))[["first_key", "last_key"]].values.tolist()
[['wei', 'zhang']]
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from importlib import resources
from typing import Any

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pypinyin.converter import UltimateConverter
from pypinyin.core import Pinyin

from ..crm.clean import company_key, normalize_email

__all__ = [
    "load_dedupe_config",
    "nickname_groups",
    "fold_text",
    "first_name_key",
    "acronym",
    "website_domain",
    "phone_key",
    "street_key",
    "person_features",
    "company_features",
]

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# web-mail domains say nothing about the company a person works for
FREE_MAIL = frozenset(
    {
        "gmail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "qq.com",
        "163.com",
        "126.com",
        "gmx.de",
        "web.de",
        "icloud.com",
        "aol.com",
        "mail.ru",
        "yandex.ru",
        "live.com",
    }
)


@functools.lru_cache(maxsize=4)
def load_dedupe_config(path: str | None = None) -> Mapping[str, Any]:
    """The de-duplication settings: ``funnel_analysis/dedupe/dedupe.yaml`` or the YAML file at ``path``.

    Parameters
    ----------
    path : str, optional
        A YAML file shaped like ``dedupe.yaml``.

    Returns
    -------
    Mapping of str to object
        ``thresholds``, ``survivorship``, ``nicknames`` (read once per path: do not change it).

    Raises
    ------
    ValueError
        When the file does not hold a mapping.

    Examples
    --------
    >>> load_dedupe_config()["survivorship"]["survivor"]
    'oldest'
    """
    if path is None:
        text = resources.files("funnel_analysis.dedupe").joinpath("dedupe.yaml").read_text(encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    cfg = yaml.safe_load(text) or {}
    if not isinstance(cfg, dict):
        raise ValueError(f"{path or 'dedupe.yaml'}: expected a mapping at the top level")
    return cfg


@functools.lru_cache(maxsize=1)
def nickname_groups() -> Mapping[str, str]:
    """Name -> its group's canonical formal name, for every name and nickname in the config.

    Names that share a nickname fall in one group (Chris joins Christopher and Christine): a
    first name is one comparison among several, so a broad group costs little precision.

    Returns
    -------
    Mapping of str to str
        Every name and nickname -> its group's formal name.

    >>> nickname_groups()["bill"], nickname_groups()["william"]
    ('william', 'william')
    """
    table = load_dedupe_config()["nicknames"]
    parent: dict[str, str] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for formal, nicks in table.items():
        for n in nicks:
            a, b = find(formal), find(n)
            if a != b:  # the formal name that sorts first represents the group
                lo, hi = sorted((a, b), key=lambda s: (s not in table, s))
                parent[hi] = lo
    return {name: find(name) for name in list(parent)}


class _MemoConverter(UltimateConverter):
    """pypinyin's converter of ``lazy_pinyin`` (its defaults), remembering the reading of each segmented word.

    ``Pinyin.seg`` cuts a text into words of its phrase dictionary and the converter reads each word on
    its own (no tone sandhi by default, so the reading does not depend on the neighbours): the same word
    reads the same in every company name ("科技", "有限公司"), and 58,000 Chinese names of a million leads
    share a few thousand words. The readings are those of ``pypinyin.lazy_pinyin``.
    """

    def __init__(self):
        super().__init__(v_to_u=False, neutral_tone_with_five=False, tone_sandhi=False)
        self._memo: dict = {}

    def convert(self, words, style, heteronym, errors, strict, **kwargs):
        key = (words, style, heteronym, errors, strict)
        got = self._memo.get(key)
        if got is None:
            got = self._memo[key] = tuple(tuple(p) for p in super().convert(words, style, heteronym, errors, strict))
        return [list(p) for p in got]


_PINYIN = Pinyin(_MemoConverter())
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def _by_distinct(values: pd.Series, compute) -> pd.Series:
    """``compute`` run once per distinct non-missing value of ``values``, spread back to its rows.

    A million leads hold about half a million company names and a few hundred first names: the
    per-value work (pinyin, sorted words, initials) runs on those, and the rows take their result
    by factorize code (missing rows stay missing). ``compute`` gets the distinct values as a
    ``str`` Series (index 0..n-1) and returns one value each (a pyarrow array, or a list with
    ``None`` for missing). The result is ``str``, with the index and name of ``values``.
    """
    values = pd.Series(values, copy=False).astype("str")
    codes, uniques = pd.factorize(values)
    got = compute(pd.Series(uniques.array))
    if not isinstance(got, pa.Array):
        got = pa.array(list(got), type=pa.large_string())
    return pd.Series(pd.array(got, dtype="str").take(codes, allow_fill=True), index=values.index, name=values.name)


def _pa(values: pd.Series) -> pa.Array:
    """The text as one pyarrow array (missing -> null; a Series of several chunks gives a ChunkedArray)."""
    got = pa.array(values.astype("str"), type=pa.large_string(), from_pandas=True)
    return got.combine_chunks() if isinstance(got, pa.ChunkedArray) else got


_NULL = pa.scalar(None, pa.large_string())


def _join(words: pa.Array, of: np.ndarray, n: int, sep: str) -> pa.Array:
    """``words`` joined with ``sep`` per value: ``of`` (ascending) is the value each word belongs to; "" for none."""
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(of, minlength=n), out=offsets[1:])
    lists = pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), words)
    return pc.binary_join(lists, pa.scalar(sep, pa.large_string()))


def _words(text: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray, pa.Array]:
    """The words of each value split at single spaces (``str.split(" ")``; empty words included).

    Returns the words, the value each belongs to, and each word's code in the distinct words.
    """
    lists = pc.split_pattern(text, " ")
    flat = pc.list_flatten(lists)
    coded = pc.dictionary_encode(flat)
    return flat, pc.list_parent_indices(lists).to_numpy(), coded.indices.to_numpy(), coded.dictionary


def _sorted_words(text: pa.Array) -> pa.Array:
    """``" ".join(sorted(v.split()))`` of each value (missing stays missing), for text of spaces, no other blanks."""
    flat, of, code, distinct = _words(text)
    rank = np.empty(len(distinct), dtype=np.int64)  # Python's str order (code points), as sorted() has it
    rank[np.argsort(distinct.to_numpy(zero_copy_only=False), kind="stable")] = np.arange(len(distinct))
    kept = np.flatnonzero(pc.not_equal(flat, "").to_numpy(zero_copy_only=False))  # split() has no empty words
    order = kept[np.lexsort((rank[code[kept]], of[kept]))]
    return pc.if_else(pc.is_null(text), _NULL, _join(flat.take(order), of[order], len(text), " "))


def _fold_one(text: str) -> str:
    if text.isascii():  # nothing to decompose or read: lower case and separators only (the same result)
        return _NOT_ALNUM.sub(" ", text.lower()).strip()
    if _CJK.search(text):
        text = " ".join(_PINYIN.lazy_pinyin(text))  # simplified and traditional characters read the same
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^0-9a-z]+", " ", text).strip()


def fold_text(values: pd.Series) -> pd.Series:
    """Lower-case ASCII words: accents dropped, Chinese characters read as pinyin, punctuation to spaces.

    Works on the distinct values only. Empty results are missing.

    Parameters
    ----------
    values : Series
        Text.

    Returns
    -------
    Series of str
        The folded text, aligned with ``values``.

    >>> fold_text(pd.Series(["O'Brien", "北京華信"])).tolist()
    ['o brien', 'bei jing hua xin']
    """
    return _by_distinct(values, _fold_distinct)


def _fold_distinct(distinct: pd.Series) -> pa.Array:
    """:func:`_fold_one` of each value, empty -> missing: ASCII text in pyarrow (the same three steps), the rest in Python."""
    text = _pa(distinct)
    ascii_text = pc.string_is_ascii(text).to_numpy(zero_copy_only=False)
    out = pc.ascii_lower(text)
    # after the replacement only [0-9a-z ] is left, so strip() takes spaces only
    out = pc.utf8_trim(pc.replace_substring_regex(out, pattern=_NOT_ALNUM.pattern, replacement=" "), " ")
    other = np.flatnonzero(~ascii_text)
    if len(other):
        rest = pa.array([_fold_one(v) for v in text.take(other).to_pylist()], type=pa.large_string())
        out = pc.replace_with_mask(out, pa.array(~ascii_text), rest)
    return pc.if_else(pc.equal(out, ""), _NULL, out)


def first_name_key(values: pd.Series) -> pd.Series:
    """First names folded, with nicknames replaced by their formal name (Bob -> robert).

    Parameters
    ----------
    values : Series
        First names.

    Returns
    -------
    Series of str
        The keys, aligned with ``values``.
    """
    groups = nickname_groups()
    return _by_distinct(fold_text(values), lambda u: [groups.get(v, v) for v in u.tolist()])


def acronym(values: pd.Series) -> pd.Series:
    """Initials of a multi-word name (``international business machines`` -> ``ibm``); missing otherwise.

    Parameters
    ----------
    values : Series
        Folded names (:func:`fold_text`).

    Returns
    -------
    Series of str
        The acronyms, aligned with ``values``.

    >>> acronym(pd.Series(["international business machines", "acme"])).tolist()
    ['ibm', nan]
    """
    return _by_distinct(values, _acronyms)


def _acronyms(distinct: pd.Series) -> pa.Array:
    # the first character of each word split at " " (an empty word gives none); one word: missing
    text = _pa(distinct)
    flat, of, _, _ = _words(text)
    initials = _join(pc.utf8_slice_codeunits(flat, 0, 1), of, len(text), "")
    return pc.if_else(pc.greater(pc.list_value_length(pc.split_pattern(text, " ")), 1), initials, _NULL)


def website_domain(values: pd.Series) -> pd.Series:
    """The host of a web address without scheme, ``www.`` and path.

    Parameters
    ----------
    values : Series
        Web addresses.

    Returns
    -------
    Series of str
        The hosts, lower-case, aligned with ``values``.

    >>> website_domain(pd.Series(["http://www.Acme.com/", "acme.com", None])).tolist()
    ['acme.com', 'acme.com', nan]
    """
    s = values.astype("str").str.strip().str.lower()
    s = s.str.replace(r"^[a-z]+://", "", regex=True).str.replace(r"^www\.", "", regex=True)
    s = s.str.replace(r"[/?#].*$", "", regex=True)
    return s.where(s.notna() & (s != ""), None).astype("str")


#: Digits of a phone number kept as its key: the national significant number's last nine.
PHONE_KEY_DIGITS = 9


def phone_key(phones: pd.Series, e164: pd.Series | None = None) -> pd.Series:
    """A digits-only phone key that agrees on the same number however it is written.

    The key is the last :data:`PHONE_KEY_DIGITS` (nine) digits of the E.164 form where the loader
    could make one (``phone_e164``), else of the number as written (an ``x123`` / ``ext. 123``
    extension dropped first). An export without a country column has no E.164 form for numbers
    written nationally, so the key is what keeps the phone in blocking and comparison there.

    Why the last nine digits: the same number is written with a country code (``+49 89 5171 8973``,
    ``0049 ...``), with a national trunk prefix (``089 5171 8973``, ``1-408-...``) or with neither
    (``(408) 847-7114``); what all the ways of writing it share is the end of the national
    significant number, and that number has nine digits or more in most countries (France,
    Australia and Japan nine, the US, UK and India ten, China eleven). The full digits string keeps
    the prefixes, so it never agrees across two ways of writing; ten digits already disagree for
    the nine-digit numbers (``+33 1 23 45 67 89`` -> ``3123456789`` but ``01 23 45 67 89`` ->
    ``0123456789``). Eight-digit national numbers (Singapore, Hong Kong, Denmark) keep a digit of
    the country code one way and not the other: one edit apart, which the comparison's one-edit
    level still counts. Nine digits of a number that is not the same agree by chance about once in
    a billion pairs. Fewer than seven digits (``n/a``, ``123``) is not a phone number: missing.

    Parameters
    ----------
    phones : Series
        Phone numbers as written.
    e164 : Series, optional
        Their E.164 form (the loader's ``phone_e164``), index-aligned; missing where unknown.

    Returns
    -------
    Series of str
        The keys, aligned with ``phones``; missing where neither form has seven digits.

    Raises
    ------
    ValueError
        When ``e164`` is not aligned with ``phones``.

    Examples
    --------
    >>> phone_key(pd.Series(["+49 89 5171 8973", "089 5171 8973", "(408) 847-7114 x12", "1-408-847-7114", "n/a"])).tolist()
    ['951718973', '951718973', '088477114', '088477114', nan]
    """
    raw = pd.Series(phones, copy=False).astype("str")
    if e164 is not None:
        e164 = pd.Series(e164, copy=False)
        if len(e164) != len(raw) or not e164.index.equals(raw.index):
            raise ValueError("phone_key: e164 must be aligned with phones (same length and index)")
        raw = e164.astype("str").where(e164.notna(), raw)
    # case=False sends pandas to Python's re row by row; an extension needs an x or an "ext" (X, E in any
    # case: no other character folds to these), so only the rows with one of those go there
    ext = raw.str.contains("[xXeE]", regex=True).fillna(False).to_numpy(dtype=bool)
    if ext.any():
        cut = raw[ext].str.replace(r"\s*(?:x|ext\.?)\s*[0-9]+\s*$", "", regex=True, case=False)
        raw = pd.Series(
            pd.array(pc.replace_with_mask(_pa(raw), pa.array(ext), _pa(cut)), dtype="str"),
            index=raw.index,
            name=raw.name,
        )
    digits = raw.str.replace(r"[^0-9]", "", regex=True)
    key = digits.str.slice(-PHONE_KEY_DIGITS)
    return key.where(digits.str.len() >= 7, None).astype("str")


# street words written in full or abbreviated: one spelling each (after fold_text)
_STREET_WORDS = {
    "street": "st",
    "str": "st",
    "strasse": "st",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "boulevard": "blvd",
    "drive": "dr",
    "lane": "ln",
    "place": "pl",
    "court": "ct",
    "square": "sq",
    "highway": "hwy",
    "parkway": "pkwy",
    "suite": "ste",
    "floor": "fl",
    "building": "bldg",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
}


def street_key(values: pd.Series) -> pd.Series:
    """Street addresses folded (:func:`fold_text`) with the common words in one spelling.

    ``Street``/``St.``, ``Avenue``/``Ave``, ``Road``/``Rd``, ``Suite``/``Ste``, the compass points
    and the German ``Straße``/``Str.`` (also when written as one word with the name,
    ``Hauptstraße``) each become one word, so the same address typed twice agrees.

    Parameters
    ----------
    values : Series
        Street addresses.

    Returns
    -------
    Series of str
        The keys, aligned with ``values``; missing where empty.

    Raises
    ------
    TypeError
        When ``values`` is not one-dimensional.

    Examples
    --------
    >>> street_key(pd.Series(["12 North Main Street, Suite 4", "12 N. Main St. Ste 4", "Hauptstraße 5", None])).tolist()
    ['12 n main st ste 4', '12 n main st ste 4', 'haupt st 5', nan]
    """
    if getattr(values, "ndim", 1) != 1:
        raise TypeError("street_key: values must be one-dimensional")
    return _by_distinct(values, _street_keys)


def _street_keys(distinct: pd.Series) -> list[str | None]:
    s = distinct.str.replace("ß", "ss", regex=False).str.replace("ẞ", "SS", regex=False)
    # the look-behind is not RE2: pandas runs it in Python, so on the distinct streets only
    folded = fold_text(s).str.replace(r"(?<=[a-z])(strasse|str)\b", r" \1", regex=True)
    return [
        " ".join(_STREET_WORDS.get(w, w) for w in v.split()) if isinstance(v, str) else None for v in folded.tolist()
    ]


def _phonetic(values: pd.Series) -> pd.Series:
    """Double-metaphone-like key of the first word (jellyfish metaphone), for typo-tolerant blocking."""
    return _by_distinct(values, lambda u: [jellyfish.metaphone(v.replace(" ", "")) or v for v in u.tolist()])


# words that company_key leaves before or after the legal form ("Pvt. Ltd.", "Co., Ltd.")
_EXTRA_FORMS = r"(?: (?:pvt|private|co|company|corp|inc|ltd|limited|gmbh|group|the))+$"


def _rare_words(folded: pd.Series, share: float = 0.01, *, rows: np.ndarray | None = None) -> pd.Series:
    """The words of each name that are not common in this column (cities, industries, "group"...).

    Chinese company names are city + brand + industry; the brand is what tells two apart, and it
    is the rare part. Names made only of common words keep them all. ``folded``: text of
    :func:`fold_text` (words split by single spaces). ``rows``: how many rows of the column each
    value stands for (one each by default), so that on the distinct names "common" still means
    common among the rows: a word counts once per row and occurrence.
    """
    text = _pa(folded)
    rows = np.ones(len(text), dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    flat, of, code, distinct = _words(text)
    # float sums of integer weights: exact far beyond a million rows
    per_word = np.bincount(code, weights=rows[of], minlength=len(distinct))
    common = per_word > max(2, share * int(rows[folded.notna().to_numpy()].sum()))
    rare = ~common[code] & pc.not_equal(flat, "").to_numpy(zero_copy_only=False)  # split(): no empty words
    core = _join(flat.filter(pa.array(rare)), of[rare], len(text), " ")
    core = pc.if_else(pc.equal(core, ""), text, core)  # only common words: keep them all
    return pd.Series(pd.array(core, dtype="str"), index=folded.index, name=folded.name)


def _company_fields(names: pd.Series, prefix: str) -> pd.DataFrame:
    names = names.astype("str")
    # every field is a function of the name alone (the common words of _rare_words count rows): computed
    # on the distinct names, then taken by code; a missing name has missing fields
    codes, uniques = pd.factorize(names)
    distinct = pd.Series(uniques.array)
    keys = company_key(distinct)["company_key"]
    folded = fold_text(keys)
    stripped = folded.str.replace(_EXTRA_FORMS, "", regex=True)
    folded = stripped.where(stripped.str.len() > 0, folded).astype("str")
    cjk = distinct.str.contains(_CJK.pattern, regex=True).fillna(False)
    fields = {
        f"{prefix}_core": _rare_words(folded, rows=np.bincount(codes[codes >= 0], minlength=len(distinct))),
        f"{prefix}_key": folded,
        # sorted words: "Grove Summit" and "Summit Grove"; no spaces for pinyin, so the syllables compare as one
        f"{prefix}_tokens": pd.Series(pd.array(_sorted_words(_pa(folded)), dtype="str")),
        f"{prefix}_acronym": acronym(folded).where(~cjk, None),
        f"{prefix}_first": folded.str.replace(r" .*$", "", regex=True).astype("str"),
    }
    return pd.DataFrame({c: v.array.take(codes, allow_fill=True) for c, v in fields.items()}, index=names.index)


def _col(df: pd.DataFrame, *names) -> pd.Series:
    for n in names:
        if n in df.columns:
            return df[n]
    return pd.Series(None, index=df.index, dtype="str")


def _as_assigned(values: pd.Series):
    """The column as ``out[c] = values.to_numpy()`` made it: ``str``, but ``object`` when every value is missing.

    pandas infers the dtype of an object array it is given; the features have always had those
    dtypes. The ``str`` array itself skips a round trip through a million Python strings.
    """
    return values.array if values.notna().any() else values.to_numpy()


def _phone(df: pd.DataFrame, *columns: str) -> pd.Series:
    """The phone key (:func:`phone_key`) of the first of ``columns`` that has a number, row by row."""
    out = pd.Series(None, index=df.index, dtype="str")
    for c in columns:
        if c in df.columns:
            out = out.fillna(phone_key(df[c], _col(df, f"{c}_e164")))
    return out.astype("str")


def person_features(df: pd.DataFrame, *, id_column: str | None = None) -> pd.DataFrame:
    """Matching features of people (leads, contacts), one row per input row, in input order.

    Reads whichever of ``first_name``, ``last_name``, ``name``, ``email``, ``phone`` (else
    ``mobile_phone``; with its ``_e164`` form where the loader made one), ``company``,
    ``street``/``mailing_street``, ``city``, ``postal_code``, ``state``, ``country``,
    ``birth_date`` and ``national_id`` exist. When first and last names are both missing, ``name``
    is split at its last space.

    Parameters
    ----------
    df : DataFrame
        The people.
    id_column : str, optional
        The record ID column (default the first column ending in ``_id``).

    Returns
    -------
    DataFrame
        ``unique_id`` (from ``id_column``, default the first column ending in ``_id``), and
        ``first_key`` (nicknames folded), ``first_raw``, ``first_initial``, ``last_key``,
        ``last_initial``, ``last_phonetic``, ``name_tokens`` (sorted words of both names: swapped names agree),
        ``email``, ``email_local``, ``email_domain``, ``phone`` (:func:`phone_key`: the same with or
        without a country column), ``company_key``/``_tokens``/``_acronym``/``_first``, ``street``
        (:func:`street_key`), ``city``, ``postal_code``, ``state``, ``country``,
        ``birth_date``, ``national_id``. Missing values are missing, never ``""``.

    Raises
    ------
    ValueError
        When the frame has no usable ID column, no name column, or names in no row.

    Examples
    --------
    >>> f = person_features(pd.DataFrame({"lead_id": ["a", "b"], "first_name": ["Jim", "Smith"],
    ...                                   "last_name": ["Smith", "James"], "email": ["J@X.io", None]}))
    >>> f[["unique_id", "first_key", "name_tokens", "email_domain"]].values.tolist()
    [['a', 'james', 'james smith', 'x.io'], ['b', 'smith', 'james smith', nan]]
    """
    uid = id_column or next((c for c in df.columns if c.endswith("_id") or c == "id"), None)
    if uid is None or uid not in df.columns:
        raise ValueError(f"person_features: no ID column (looked for {id_column or '*_id'})")
    if not {"first_name", "last_name", "name"} & set(df.columns):
        raise ValueError("person_features: needs first_name/last_name or name")
    first, last = _col(df, "first_name"), _col(df, "last_name")
    if first.isna().all() and last.isna().all():
        if _col(df, "name").isna().all():
            raise ValueError(
                "person_features: first_name, last_name and name are empty in every row: no names to compare"
            )
        parts = df["name"].astype("str").str.strip().str.rsplit(" ", n=1)
        first, last = parts.str[0].where(parts.str.len() > 1), parts.str[-1]
    # a Chinese given name is one or two characters: compare the whole pinyin without spaces
    first_f = fold_text(first).str.replace(" ", "", regex=False)
    last_f = fold_text(last).str.replace(" ", "", regex=False)
    email = normalize_email(_col(df, "email"))
    valid = email.str.contains(r"^[^@ ]+@[^@ ]+\.[^@ ]+$", regex=True).fillna(False)
    email = email.where(valid, None)
    phone = _phone(df, "phone", "mobile_phone")
    out = pd.DataFrame(
        {
            "unique_id": df[uid].astype("str").array,
            "first_key": first_name_key(first_f).array,
            "first_raw": first_f.array,
            "first_initial": first_f.str.slice(0, 1).array,
            "last_key": last_f.array,
            "last_initial": last_f.str.slice(0, 1).array,
            "last_phonetic": _phonetic(last_f).array,
            "email": email.array,
            "email_local": email.str.replace(r"@.*$", "", regex=True).array,
            "email_domain": email.str.replace(r"^.*@", "", regex=True).array,
            "phone": phone.array,
        }
    ).astype("str")
    a, b = out["first_key"], out["last_key"]
    lo, hi = a.where((a <= b).fillna(False), b), b.where((a <= b).fillna(False), a)
    out["name_tokens"] = (lo + " " + hi).fillna(a).fillna(b).astype("str")
    comp = _company_fields(_col(df, "company").reset_index(drop=True), "company")
    for c in comp.columns:
        out[c] = _as_assigned(comp[c])
    for name, sources in {
        "street": ("street", "mailing_street", "address_1"),
        "city": ("city", "mailing_city", "suburb"),
        "postal_code": ("postal_code", "mailing_postal_code", "postcode"),
        "state": ("state", "mailing_state"),
        "country": ("country", "mailing_country"),
        "birth_date": ("birth_date", "date_of_birth"),
        "national_id": ("national_id", "soc_sec_id"),
    }.items():
        fold = street_key if name == "street" else fold_text
        out[name] = _as_assigned(fold(_col(df, *sources).reset_index(drop=True)))
    out["email_domain"] = out["email_domain"].where(~out["email_domain"].isin(FREE_MAIL), None)
    return out


def company_features(df: pd.DataFrame, *, id_column: str | None = None) -> pd.DataFrame:
    """Matching features of companies (accounts), one row per input row, in input order.

    Parameters
    ----------
    df : DataFrame
        The companies (``name``, and ``website``, ``phone`` with its ``phone_e164``, ``billing_street``,
        ``billing_city``, ``billing_country`` when present).
    id_column : str, optional
        The record ID column (default the first column ending in ``_id``).

    Returns
    -------
    DataFrame
        ``unique_id``, ``company_key`` (legal suffix stripped, folded, pinyin for Chinese),
        ``company_tokens``, ``company_acronym``, ``company_first``, ``company_phonetic``, ``domain``
        (from ``website``), ``phone`` (:func:`phone_key`), ``street`` (:func:`street_key` of
        ``billing_street``), ``city``, ``country``.

    Raises
    ------
    ValueError
        When the frame has no ID column or no ``name`` column.

    Examples
    --------
    >>> f = company_features(pd.DataFrame({"account_id": ["a", "b"], "name": ["ACME Inc.", "北京華信科技有限公司"],
    ...                                    "website": ["www.acme.com", None]}))
    >>> f[["company_key", "domain"]].values.tolist()
    [['acme', 'acme.com'], ['bei jing hua xin ke ji', nan]]
    """
    uid = id_column or next((c for c in df.columns if c.endswith("_id") or c == "id"), None)
    if uid is None or uid not in df.columns:
        raise ValueError(f"company_features: no ID column (looked for {id_column or '*_id'})")
    if "name" not in df.columns:
        raise ValueError("company_features: needs a name column")
    comp = _company_fields(df["name"].reset_index(drop=True), "company")
    out = pd.DataFrame({"unique_id": df[uid].astype("str").array}).astype("str")
    for c in comp.columns:
        out[c] = comp[c].array
    out["company_phonetic"] = _phonetic(out["company_key"].str.replace(" ", "", regex=False))
    out["domain"] = website_domain(_col(df, "website").reset_index(drop=True)).array
    out["phone"] = _phone(df, "phone").array
    out["street"] = street_key(_col(df, "billing_street", "street").reset_index(drop=True)).array
    out["city"] = fold_text(_col(df, "billing_city", "city").reset_index(drop=True)).array
    out["country"] = fold_text(_col(df, "billing_country", "country").reset_index(drop=True)).array
    return out.astype({c: "str" for c in out.columns})
