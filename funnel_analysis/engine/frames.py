"""Frames back from an engine, typed as the pandas loader and cut type them.

DuckDB and Spark hand back different types for the same columns (a text column of nothing but missing
values as objects, a timestamp with or without a zone): the engine paths pass what comes back through
these before the pandas reference's functions read it.

Examples
--------
>>> import pandas as pd
>>> text_as_str(pd.DataFrame({"a": [None, None]}))["a"].dtype
<StringDtype(na_value=nan)>
"""

from __future__ import annotations

import pandas as pd

__all__ = ["naive_days", "text_as_str", "utc_times"]


def text_as_str(frame: pd.DataFrame, columns=None) -> pd.DataFrame:
    """``frame`` with its text columns (``columns``, default all) in pandas' ``str`` dtype, as the loader gives them.

    Parameters
    ----------
    frame : DataFrame
        Rows from an engine (not changed).
    columns : list of str, optional
        The columns to look at; default every column.

    Returns
    -------
    DataFrame
        ``frame`` itself when no column is an object column of text and missing values only, else a copy
        with those columns as ``str``.

    Examples
    --------
    >>> text_as_str(pd.DataFrame({"a": ["x", None], "n": [1, 2]})).dtypes.astype(str).tolist()
    ['str', 'int64']
    """
    names = frame.columns if columns is None else columns
    text = [
        c for c in names if frame[c].dtype == object and frame[c].map(lambda v: v is None or isinstance(v, str)).all()
    ]
    return frame.astype({c: "str" for c in text}) if text else frame


def utc_times(values: pd.Series) -> pd.Series:
    """A timestamp column in UTC (``datetime64[us, UTC]``), as the pandas cut holds creation times.

    Parameters
    ----------
    values : Series
        Timestamps (with or without a zone: naive ones are UTC).

    Returns
    -------
    Series

    Examples
    --------
    >>> str(utc_times(pd.Series(["2024-01-02 09:00"])).dtype)
    'datetime64[us, UTC]'
    """
    return pd.to_datetime(values, utc=True).astype("datetime64[us, UTC]")


def naive_days(values: pd.Series) -> pd.Series:
    """A date column as naive timestamps (``datetime64[us]``), as the pandas cut holds close and due dates.

    Parameters
    ----------
    values : Series
        Dates or timestamps (a zoned one is taken in UTC).

    Returns
    -------
    Series

    Examples
    --------
    >>> str(naive_days(pd.Series(["2024-01-02"])).dtype)
    'datetime64[us]'
    """
    t = pd.to_datetime(values)
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    return t.astype("datetime64[us]")
