"""Salesforce record IDs: widening 15-character IDs to their 18-character form.

Salesforce IDs are case-sensitive 15-character strings; the API also returns an
18-character, case-insensitive form whose last three characters encode which of
the first fifteen are upper case. Exports mix both (reports give 15, the API
gives 18), so joins only hold once every ID is widened to 18.

Examples
--------
>>> to_18("001bm00001ZL8U9")
'001bm00001ZL8U9AAL'
>>> to_18("001bm00001ZL8U9AAL")
'001bm00001ZL8U9AAL'
>>> to_18("1C1I7A6R")          # not a Salesforce ID: left as it is
'1C1I7A6R'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._util.results import Unpackable

__all__ = ["to_18", "widen_ids", "WidenedIds", "is_salesforce_id_15"]

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID15 = re.compile(r"^[a-zA-Z0-9]{15}$")


def is_salesforce_id_15(value: str) -> bool:
    """True for a 15-character alphanumeric string (the short Salesforce form).

    Parameters
    ----------
    value : str
        The candidate ID.

    Returns
    -------
    bool
        Whether ``value`` is exactly 15 ASCII letters and digits.
    """
    return bool(_ID15.match(value))


def to_18(value: str) -> str:
    """Widen one 15-character Salesforce ID to 18 characters; others pass through.

    Parameters
    ----------
    value : str
        The ID. A value that is not a string of exactly 15 ASCII letters and
        digits (an 18-character ID, another CRM's key, a missing value) is
        returned as it is.

    Returns
    -------
    str
        The 18-character ID: ``value`` followed by the three characters that
        encode the case of its first fifteen.
    """
    if not isinstance(value, str) or not _ID15.match(value):
        return value
    suffix = ""
    for start in (0, 5, 10):
        flags = 0
        for i, ch in enumerate(value[start : start + 5]):
            if "A" <= ch <= "Z":
                flags |= 1 << i
        suffix += _SUFFIX_ALPHABET[flags]
    return value + suffix


@dataclass(frozen=True)
class WidenedIds(Unpackable):
    """IDs with every 15-character Salesforce ID widened (unpacks as ``values, widened``).

    Attributes
    ----------
    values : Series
        The IDs, 18-character where they were 15.
    widened : int
        How many values changed.
    """

    values: pd.Series
    widened: int


def widen_ids(values: pd.Series) -> WidenedIds:
    """Widen every 15-character ID in a Series; return it and how many changed.

    Only values of exactly 15 alphanumeric characters are touched, so keys of
    other CRMs (UUIDs, numbers, 8-character codes) pass through unchanged. The
    input is not modified.

    Parameters
    ----------
    values : pandas.Series
        The IDs, any dtype (read as strings); missing values stay missing.

    Returns
    -------
    WidenedIds
        ``values``: a copy of the Series, the 15-character IDs widened to 18
        (``str`` dtype when any was); ``widened``: how many were. Unpacks as
        ``values, widened``.

    Examples
    --------
    >>> s, n = widen_ids(pd.Series(["001bm00001ZL8U9", None, "x"]))
    >>> s.tolist(), n
    (['001bm00001ZL8U9AAL', nan, 'x'], 1)
    """
    if values.empty:
        return WidenedIds(values.copy(), 0)
    text = values.astype("str")
    mask = (text.str.len() == 15) & text.str.fullmatch(r"[a-zA-Z0-9]{15}", na=False)
    mask = mask.fillna(False).to_numpy(dtype=bool) & values.notna().to_numpy()
    n = int(mask.sum())
    out = values.copy()
    if n:
        widened = [to_18(v) for v in text[mask]]
        out = out.astype("str")
        out.loc[mask] = np.asarray(widened, dtype=object)
    return WidenedIds(out, n)
