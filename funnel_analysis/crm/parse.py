"""Typing raw text columns by their kind, recording every value that does not parse.

Real exports mix formats: ISO timestamps with offsets from the API,
``MM/DD/YY hh:mm AM`` from report exports, booleans as ``true``/``false``,
``TRUE``/``FALSE`` or ``1``/empty. Each parser tries the formats in turn on
the values still unparsed (vectorised, so a million rows cost one pass per
format actually used) and returns the values that no format accepted, so the
validator can quarantine their rows with the rule ``<kind>_unparseable``.

Examples
--------
>>> import pandas as pd
>>> values, bad = parse_datetime(pd.Series(["2024-01-19T09:42:24.000+0000", "02/24/26 02:18 AM", "2023-02-30"]))
>>> values.dt.strftime("%Y-%m-%d %H:%M").tolist()[:2], bad.tolist()
(['2024-01-19 09:42', '2026-02-24 02:18'], [False, False, True])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._util.results import Unpackable
from .ids import widen_ids

__all__ = [
    "DATETIME_FORMATS",
    "Parsed",
    "ParsedColumn",
    "parse_datetime",
    "parse_date",
    "parse_bool",
    "parse_number",
    "parse_column",
    "DESCRIBE_KINDS",
    "describe_kind",
]

#: Salesforce describe field type -> the schema kind it is parsed as (the types of the REST
#: describe result; ``currency`` is a number that also converts to the corporate currency).
#: Compound and binary types (``address``, ``location``, ``base64``) and any type not listed
#: (``time``, ``anyType``, ``encryptedstring``...) stay text.
DESCRIBE_KINDS = {
    "string": "str",
    "textarea": "str",
    "url": "str",
    "combobox": "str",
    "multipicklist": "str",
    "encryptedstring": "str",
    "time": "str",
    "anytype": "str",
    "picklist": "picklist",
    "email": "email",
    "phone": "phone",
    "id": "id",
    "reference": "id",
    "boolean": "bool",
    "int": "int",
    "long": "int",
    "double": "float",
    "percent": "float",
    "currency": "float",
    "date": "date",
    "datetime": "datetime",
}


def describe_kind(field_type: str) -> str:
    """The kind a Salesforce describe field type is parsed as.

    Parameters
    ----------
    field_type : str
        The ``type`` of a field in Salesforce's describe result (``"double"``,
        ``"currency"``, ``"picklist"``...); case is ignored.

    Returns
    -------
    str
        One of the schema's ``KINDS`` (see :data:`DESCRIBE_KINDS`); ``"str"``
        for a type not listed, so nothing is typed by a guess.

    Examples
    --------
    >>> describe_kind("double"), describe_kind("Currency"), describe_kind("string"), describe_kind("location")
    ('float', 'float', 'str', 'str')
    """
    return DESCRIBE_KINDS.get(str(field_type).strip().lower(), "str")


#: Formats tried after ISO 8601, in order: US report exports first (Salesforce's
#: default locale), then day-first European forms only when written with dots.
DATETIME_FORMATS = (
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%y %I:%M %p",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M",
    "%Y/%m/%d",
)


@dataclass(frozen=True)
class Parsed(Unpackable):
    """A column parsed into its type, and which raw values could not be (unpacks as ``values, invalid``).

    Attributes
    ----------
    values : Series
        The typed values; missing where the raw value was empty or unparseable.
    invalid : Series
        True where a non-empty raw value could not be parsed (those rows are quarantined).
    """

    values: pd.Series
    invalid: pd.Series


@dataclass(frozen=True)
class ParsedColumn(Unpackable):
    """A column typed by its schema kind (unpacks as ``values, invalid, changed``).

    Attributes
    ----------
    values : Series
        The typed values.
    invalid : Series
        True where a non-empty raw value could not be parsed.
    changed : int
        Values a cleaning step rewrote (15-character IDs widened to 18).
    """

    values: pd.Series
    invalid: pd.Series
    changed: int


_TRUE = {"true", "1", "yes", "y", "t", "1.0"}
_FALSE = {"false", "0", "no", "n", "f", "0.0"}


def parse_datetime(values: pd.Series, *, formats=None, timezone: str = "UTC") -> Parsed:
    """Parse text to UTC timestamps.

    Values without an offset are read in ``timezone`` (the org's time zone,
    UTC unless a mapping says otherwise). ``formats`` replaces the fallback
    formats (ISO 8601 is always tried first).

    Parameters
    ----------
    values : pandas.Series
        The raw values, text (read as strings); empty and missing values are
        missing, not unparseable.
    formats : sequence of str, optional
        ``strftime`` formats tried in order after ISO 8601. ``None`` (the
        default): ``DATETIME_FORMATS``.
    timezone : str, default "UTC"
        The time zone (an IANA name) of values written without an offset.

    Returns
    -------
    Parsed
        ``(timestamps, unparseable_mask)``: the timestamps, ``datetime64[us, UTC]``
        (NaT where empty or unparseable), and a boolean Series, True where a
        non-empty value matched no format; both aligned on the index of
        ``values``.
    """
    text = values.astype("str").str.strip() if len(values) else values.astype("str")
    present = values.notna() & (text != "")
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    if not present.any():
        return Parsed(out, pd.Series(False, index=values.index))
    if formats is None:
        fast = _arrow_cast(text.where(present, None), pa.timestamp("us", tz="UTC"))
        if fast is not None:  # every value is ISO 8601 with an offset: the API export's form
            return Parsed(fast.astype("datetime64[us, UTC]"), pd.Series(False, index=values.index))
    todo = present.copy()
    for fmt in ("ISO8601", *(formats or DATETIME_FORMATS)):
        if not todo.any():
            break
        sub = text[todo]
        if fmt == "ISO8601":
            # values with an offset are absolute; the others are read in the org's time zone
            has_offset = sub.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True, na=False)
            parsed = pd.Series(pd.NaT, index=sub.index, dtype="datetime64[us, UTC]")
            if has_offset.any():
                parsed[has_offset] = pd.to_datetime(sub[has_offset], format="ISO8601", errors="coerce", utc=True)
            if (~has_offset).any():
                naive = pd.to_datetime(sub[~has_offset], format="ISO8601", errors="coerce")
                parsed[~has_offset] = naive.dt.tz_localize(timezone).dt.tz_convert("UTC")
        else:
            parsed = pd.to_datetime(sub, format=fmt, errors="coerce")
            parsed = parsed.dt.tz_localize(timezone).dt.tz_convert("UTC")
        ok = parsed.notna()
        if ok.any():
            out.loc[ok[ok].index] = parsed[ok].astype("datetime64[us, UTC]")
            todo.loc[ok[ok].index] = False
    return Parsed(out, todo)


def _arrow_cast(values: pd.Series, *targets: pa.DataType) -> pd.Series | None:
    """Cast text in pyarrow (C++) when every value fits the first target; None otherwise."""
    try:
        arr = pa.array(values, type=pa.string(), from_pandas=True)
        for target in targets:
            arr = pc.cast(arr, target)
        return arr.to_pandas().set_axis(values.index)  # by position: values may be a subset of a frame
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def parse_date(values: pd.Series, *, formats=None) -> Parsed:
    """Parse text to dates (naive, midnight); a timestamp keeps its date part.

    Parameters
    ----------
    values : pandas.Series
        The raw values, text (read as strings); empty and missing values are
        missing, not unparseable.
    formats : sequence of str, optional
        ``strftime`` formats tried in order after ISO 8601. ``None`` (the
        default): ISO dates, then ``DATETIME_FORMATS``.

    Returns
    -------
    Parsed
        ``(dates, unparseable_mask)``: the dates, ``datetime64[us]`` at midnight
        (NaT where empty or unparseable; a day that does not exist, such as
        ``2023-02-30``, is unparseable), and a boolean Series, True where a
        non-empty value matched no format; both aligned on the index of
        ``values``.
    """
    if formats is None and len(values):
        text = values.astype("str").str.strip()
        text = text.where(values.notna() & (text != ""), None)
        fast = _arrow_cast(text, pa.date32(), pa.timestamp("us"))
        if fast is not None:  # every value is an ISO date
            return Parsed(fast.astype("datetime64[us]"), pd.Series(False, index=values.index))
        # some values are not plain ISO dates: take the ones that are in Arrow, and only the
        # rest (a few bad or differently written values) through the format cascade
        iso = _strict_iso_dates(text)
        rest = text.notna() & iso.isna()
        if rest.any():
            stamps, bad_rest = parse_datetime(text[rest], timezone="UTC")
            iso.loc[rest] = stamps.dt.tz_localize(None).dt.normalize().astype("datetime64[us]")
        bad = pd.Series(False, index=values.index)
        if rest.any():
            bad.loc[rest] = bad_rest
        return Parsed(iso, bad)
    stamps, bad = parse_datetime(values, formats=formats, timezone="UTC")
    return Parsed(stamps.dt.tz_localize(None).dt.normalize().astype("datetime64[us]"), bad)


def _strict_iso_dates(text: pd.Series) -> pd.Series:
    """``YYYY-MM-DD`` values parsed in Arrow; anything else, or a day that does not exist, is NaT.

    Arrow's strptime rolls ``2023-02-30`` over to March: comparing the parsed day of the
    month with the one written rejects such days.
    """
    arr = pa.array(text, type=pa.string(), from_pandas=True)
    parsed = pc.strptime(arr, format="%Y-%m-%d", unit="s", error_is_null=True)
    shaped = pc.and_(pc.is_valid(parsed), pc.equal(pc.utf8_length(arr), 10)).fill_null(False)
    written = pc.if_else(shaped, pc.utf8_slice_codeunits(arr, 8, 10), pa.scalar("0"))
    exact = pc.and_(shaped, pc.equal(pc.day(parsed), pc.cast(written, pa.int64()))).fill_null(False)
    parsed = pc.if_else(exact, parsed, pa.scalar(None, parsed.type))
    return pd.Series(pc.cast(parsed, pa.timestamp("us")).to_pandas(), index=text.index).astype("datetime64[us]")


def parse_bool(values: pd.Series) -> Parsed:
    """Parse Salesforce booleans: true/false, TRUE/FALSE, 1/0, and 1/empty.

    Salesforce checkboxes are never null, so an empty value is False.

    Parameters
    ----------
    values : pandas.Series
        The raw values: text (case and surrounding spaces ignored; ``yes``/``no``,
        ``y``/``n``, ``t``/``f`` are accepted too) or already booleans.

    Returns
    -------
    Parsed
        ``(booleans, unparseable_mask)``: a ``bool`` Series (False where empty,
        missing or unparseable) and a boolean Series, True where a non-empty
        value is not a boolean; both aligned on the index of ``values``.
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        return Parsed(values.fillna(False).astype(bool), pd.Series(False, index=values.index))
    text = values.astype("str").str.strip().str.lower()
    text = text.where(values.notna(), "")
    is_true = text.isin(_TRUE)
    bad = ~(is_true | text.isin(_FALSE) | (text == ""))
    return Parsed(is_true.astype(bool), bad)


def parse_number(values: pd.Series) -> Parsed:
    """Parse numbers; accepts thousands separators ``1,234.50`` and a currency prefix.

    Anything else that is not a number (``12,5k``, ``n/a``) is unparseable.

    Parameters
    ----------
    values : pandas.Series
        The raw values: text (a three-letter currency code or ``$``, ``€``,
        ``£``, ``¥`` prefix is dropped) or already numbers.

    Returns
    -------
    Parsed
        ``(numbers, unparseable_mask)``: a ``float64`` Series (NaN where empty
        or unparseable) and a boolean Series, True where a non-empty value is
        not a number; both aligned on the index of ``values``.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return Parsed(values.astype("float64"), pd.Series(False, index=values.index))
    text = values.astype("str").str.strip()
    present = values.notna() & (text != "")
    cleaned = text.str.replace(r"^(?:[A-Z]{3} ?|[$€£¥])", "", regex=True)
    thousands = cleaned.str.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", na=False)
    cleaned = cleaned.where(~thousands, cleaned.str.replace(",", "", regex=False))
    number = pd.to_numeric(cleaned.where(present, None), errors="coerce").astype("float64")
    bad = present & number.isna()
    return Parsed(number, bad)


def parse_column(
    values: pd.Series, kind: str, *, date_format: str | None = None, timezone: str = "UTC"
) -> ParsedColumn:
    """Type one column by its schema kind.

    Parameters
    ----------
    values : pandas.Series
        The raw values of the column.
    kind : str
        The column's kind in the schema (``Column.kind``): ``"datetime"``,
        ``"date"``, ``"bool"``, ``"float"`` or ``"int"`` are parsed (see
        :func:`parse_datetime`, :func:`parse_date`, :func:`parse_bool`,
        :func:`parse_number`); ``"id"`` is trimmed and its 15-character
        Salesforce IDs widened; any other kind (``"str"``, ``"picklist"``,
        ``"email"``, ``"phone"``) is trimmed, blanks made missing.
    date_format : str, optional
        A ``strftime`` format for a date or date-time column, tried after ISO
        8601 instead of ``DATETIME_FORMATS``.
    timezone : str, default "UTC"
        The time zone of date-times written without an offset.

    Returns
    -------
    ParsedColumn
        ``(values, invalid, changed)``: the typed values, the unparseable mask
        (a boolean Series, always False for text kinds), and how many values a
        cleaning step rewrote (15-character IDs widened).
    """
    formats = (date_format,) if date_format else None
    if kind == "datetime":
        v, bad = parse_datetime(values, formats=formats, timezone=timezone)
        return ParsedColumn(v, bad, 0)
    if kind == "date":
        v, bad = parse_date(values, formats=formats)
        return ParsedColumn(v, bad, 0)
    if kind == "bool":
        v, bad = parse_bool(values)
        return ParsedColumn(v, bad, 0)
    if kind in ("float", "int"):
        v, bad = parse_number(values)
        return ParsedColumn(v, bad, 0)
    no_bad = pd.Series(np.zeros(len(values), dtype=bool), index=values.index)
    text = values.astype("str").str.strip()
    text = text.where(values.notna() & (text != ""), None)
    if kind == "id":
        widened, n = widen_ids(text)
        return ParsedColumn(widened.astype("str"), no_bad, n)
    return ParsedColumn(text, no_bad, 0)
