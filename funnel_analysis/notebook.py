"""Helpers the report notebooks share: the report date, formatting, and values kept for machines.

:func:`record` shows a table in the HTML report and keeps its values in the executed
notebook under :data:`RECORD_MIME`, where :func:`read_records` finds them: the tests
compare those values with an independent computation.

>>> resolve_as_of(None, "2025-03-31")
Timestamp('2025-03-31 00:00:00')
"""

from __future__ import annotations

import json
import math
import re

import pandas as pd

__all__ = ["RECORD_MIME", "latest_date", "resolve_as_of", "notebook_setup", "styled", "record", "read_records"]

#: Mimetype of the values a notebook records for machines; the HTML report shows the table instead.
RECORD_MIME = "application/vnd.funnel-analysis.record+json"


def latest_date(crm) -> pd.Timestamp:
    """The last day anything was created in the org (in effect the export's date), as a naive day."""
    from .schema import TABLES

    last = [pd.Timestamp(df[col].max()) for name, df in crm.tables.items()
            if (col := getattr(TABLES.get(name), "created_column", None)) and col in df and df[col].notna().any()]
    if not last:
        raise ValueError("latest_date: no table has a creation date; give as_of explicitly")
    return max(t.tz_convert("UTC").tz_localize(None) if t.tzinfo else t for t in last).normalize()


def resolve_as_of(crm, as_of=None) -> pd.Timestamp:
    """``as_of`` as a day, or the latest date in the data when it is empty (the reports' default)."""
    return pd.Timestamp(as_of).normalize() if as_of else latest_date(crm)


def notebook_setup() -> None:
    """The figure size, theme and table width every report notebook shares."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid")
    plt.rcParams.update({"figure.figsize": (9, 4.5), "figure.dpi": 100})


def _fmt(name, v, precision: int = 1) -> str:
    """Rates and shares (by name) in percent, money in whole units, thousands separators."""
    v = v.item() if hasattr(v, "item") else v  # NumPy scalars
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float) and re.search("rate|share|conversion", str(name)) and not str(name).endswith("_n"):
        return f"{v:.{precision}%}"
    if isinstance(v, float):
        return f"{v:,.{0 if re.search('amount|size|value', str(name)) else precision}f}"
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def styled(df: pd.DataFrame, *, precision: int = 1):
    """``df`` as a Styler formatted by :func:`_fmt`, days as dates, no RangeIndex."""
    fmt = {c: (lambda v, c=c: _fmt(c, v, precision)) for c in df.columns
           if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])}
    fmt |= {c: "{:%Y-%m-%d}" for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])}
    sty = df.style.format(fmt, na_rep="–")
    return sty.hide(axis="index") if isinstance(df.index, pd.RangeIndex) else sty


def record(name: str, value) -> None:
    """Show ``value`` (DataFrame, Series or dict) as a table and keep its values, by name, for machines.

    The HTML report shows the table; :func:`read_records` reads the values back from the executed
    notebook (the tests compare them with an independent computation).
    """
    from IPython.display import display

    if isinstance(value, dict):
        payload = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in value.items()}
        table = pd.DataFrame({"figure": list(payload), "value": [_fmt(k, v) for k, v in payload.items()]})
        sty = table.style.hide(axis="index")
    else:
        table = value.reset_index() if isinstance(value, pd.Series) else value
        payload, sty = json.loads(table.to_json(orient="records", date_format="iso")), styled(table)
    display({RECORD_MIME: {"name": name, "value": payload}, "text/html": sty.to_html(),
             "text/plain": table.to_string(index=False)}, raw=True)


def read_records(notebook) -> dict:
    """The values an executed notebook kept with :func:`record`: name -> dict, or list of row dicts."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    return {o["data"][RECORD_MIME]["name"]: o["data"][RECORD_MIME]["value"] for c in nb.cells
            for o in c.get("outputs", []) if RECORD_MIME in o.get("data", {})}
