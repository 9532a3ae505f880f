"""Write merged tables back out as a Salesforce-style export folder that ``funnel check`` loads.

Canonical columns get their Salesforce API names again (``stage_name`` -> ``StageName``),
activities split into ``Task.csv`` and ``Event.csv``, timestamps are written as ISO with offset,
dates as ``YYYY-MM-DD`` and booleans as ``true``/``false``. Derived columns (``phone_e164``,
``company_key``...) are left out: loading recomputes them.

Examples
--------
>>> import pandas as pd
>>> write_export_folder({"leads": pd.DataFrame({"lead_id": ["00Q000000000001AAA"], "is_converted": [True]})},
...                     "/tmp/funnel_export_doctest")[0].name
'Lead.csv'
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..crm.schema import TABLES
from .blocking import _no_progress_bar

__all__ = ["to_salesforce_frames", "write_export_folder"]


def _iso(col: pd.Series, unit: str) -> pd.Series:
    """Timestamps as ISO text to the ``unit`` (``s``: ``YYYY-MM-DDTHH:MM:SS``, ``D``: ``YYYY-MM-DD``), missing kept.

    numpy's formatting, in C: ``Series.dt.strftime`` formats one value at a time in Python, most of a
    million-lead org's export.
    """
    values = col.to_numpy(dtype=f"datetime64[{unit}]")  # UTC wall time of an aware column; floors like strftime
    text = pd.Series(np.datetime_as_string(values, unit=unit), index=col.index, dtype=object)
    return text.where(col.notna().to_numpy(), None).astype("str")


def _text(col: pd.Series, kind: str) -> pd.Series:
    if kind == "datetime" and pd.api.types.is_datetime64_any_dtype(col):
        utc = col.dt.tz_convert("UTC").dt.tz_localize(None) if col.dt.tz is not None else col
        return _iso(utc, "s") + ".000+0000"
    if kind == "date" and pd.api.types.is_datetime64_any_dtype(col):
        return _iso(col.dt.tz_localize(None) if col.dt.tz is not None else col, "D")
    if kind == "bool":
        known = col.notna().to_numpy()
        if col.dtype == object:  # any truthy value, as `if v` reads it
            truth = np.array([known_v and bool(v) for v, known_v in zip(col.to_numpy(), known)], dtype=bool)
        else:
            truth = col.fillna(False).to_numpy(dtype=bool)
        text = pd.Series(np.where(truth, "true", "false"), index=col.index, dtype=object)
        return text.where(known, None).astype("str")
    if kind == "int":
        num = pd.to_numeric(col, errors="coerce")
        return num.round().astype("Int64").astype("str")
    return col.astype("str")


def _salesforce_frames(tables: Mapping[str, pd.DataFrame], *, columns_present: Mapping[str, list] | None = None):
    """:func:`to_salesforce_frames`, one frame at a time (Salesforce object name, frame), in the tables' order.

    A generator, so that a writer holds one table's text at a time: the text of a million-lead org's every
    table at once was gigabytes. Every table's key is checked before the first frame is made.
    """
    for name, df in tables.items():
        spec = TABLES.get(name)
        if spec is not None and spec.key not in df.columns:
            raise ValueError(f"to_salesforce_frames: table {name!r} has no key column {spec.key!r}")
    for name, df in tables.items():
        spec = TABLES.get(name)
        if spec is None:
            continue
        present = set((columns_present or {}).get(name) or [c for c in df.columns if df[c].notna().any()])
        present.add(spec.key)
        cols = [c for c in spec.columns if c.name in df.columns and c.name in present and c.name != "activity_kind"]
        if name == "activities" and "activity_kind" in df.columns:
            # each part's text made from its own rows (the rows and values of the whole table's text, split)
            event = (df["activity_kind"].astype("str").str.lower().fillna("task") == "event").to_numpy()
            yield "Task", _text_frame(df[~event].reset_index(drop=True), cols)
            if event.any():
                yield "Event", _text_frame(df[event].reset_index(drop=True), cols)
        else:
            yield spec.sf_object, _text_frame(df, cols)


def _text_frame(df: pd.DataFrame, cols) -> pd.DataFrame:
    return pd.DataFrame({c.sf_name: _text(df[c.name], c.kind) for c in cols})


def to_salesforce_frames(
    tables: Mapping[str, pd.DataFrame], *, columns_present: Mapping[str, list] | None = None
) -> Mapping[str, pd.DataFrame]:
    """The tables as frames keyed by Salesforce object name, with API field names and text values.

    Parameters
    ----------
    tables : Mapping of str to DataFrame
        Canonical tables (``CrmData.tables``).
    columns_present : Mapping of str to list, optional
        Per table, the columns the source had (``CrmData.meta["columns_present"]``); others are
        left out. Default: every schema column that is not entirely empty.

    Returns
    -------
    Mapping of str to DataFrame
        Salesforce object name (``Lead``, ``Task``...) -> its frame, every value as text.

    Raises
    ------
    ValueError
        When a table has no key column.
    """
    return dict(_salesforce_frames(tables, columns_present=columns_present))


def write_export_folder(
    tables: Mapping[str, pd.DataFrame], folder, *, columns_present: Mapping[str, list] | None = None
) -> list[Path]:
    """Write :func:`to_salesforce_frames` as ``<folder>/<Object>.csv`` (UTF-8).

    Parameters
    ----------
    tables : Mapping of str to DataFrame
        Canonical tables (``CrmData.tables``).
    folder : str or Path
        Where to write (created when missing).
    columns_present : Mapping of str to list, optional
        Per table, the columns the source had (:func:`to_salesforce_frames`).

    Returns
    -------
    list of Path
        The files written.
    """
    import duckdb

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    # DuckDB's CSV writer, in C++ (pandas' to_csv was most of a large org's export): the same text as
    # pandas' on every file of a generated org, but for a value holding "#", which DuckDB quotes too
    con = duckdb.connect(config={"threads": 2})
    try:
        _no_progress_bar(con)
        # one table's text at a time (to_salesforce_frames held every table's at once)
        for obj, frame in _salesforce_frames(tables, columns_present=columns_present):
            path = folder / f"{obj}.csv"
            con.register("frame", frame)
            target = str(path).replace("'", "''")
            con.execute(f"COPY frame TO '{target}' (FORMAT csv, HEADER, DELIMITER ',', NEW_LINE '\\n')")
            con.unregister("frame")
            del frame
            paths.append(path)
    finally:
        con.close()
    return paths
