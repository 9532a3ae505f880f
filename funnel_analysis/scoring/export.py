"""Writing scores for people and spreadsheets: CSV or Parquet, formulas neutralised.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is run as a formula by Excel, LibreOffice and Google Sheets (CSV
injection). :func:`neutralise_formulas` prefixes such text with a single
quote, which spreadsheets show as text; numbers are left as they are.

Examples
--------
>>> import pandas as pd
>>> out = neutralise_formulas(pd.DataFrame({"company": ["=1+1", "Acme"], "score": [-3, 80]}))
>>> out["company"].tolist(), out["score"].tolist()
(["'=1+1", 'Acme'], [-3, 80])
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["neutralise_formulas", "write_scores", "FORMULA_PREFIXES"]

#: First characters that make a spreadsheet treat a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells that start like a formula get a leading ``'``.

    Parameters
    ----------
    df : DataFrame
        Any table (not changed).

    Returns
    -------
    DataFrame
        The copy; numbers, booleans and dates as they were.

    Raises
    ------
    TypeError
        When ``df`` is not a DataFrame.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a DataFrame, got {type(df).__name__}")
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
            continue
        text = s.astype("object")
        risky = text.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES)).astype(bool)
        if risky.any():
            out[c] = text.where(~risky, "'" + text.astype("str"))
    return out


def write_scores(df: pd.DataFrame, path) -> Path:
    """Write ``df`` (formulas neutralised) to ``path``: ``.csv`` or ``.parquet``.

    Parameters
    ----------
    df : DataFrame
        The scores (or any table).
    path : str or Path
        The file to write; its folder is created.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ValueError
        For another file extension.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"{path}: unknown output format {suffix!r} (expected .csv or .parquet)")
    safe = neutralise_formulas(df)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        safe.to_csv(path, index=False, lineterminator="\n")
    else:
        safe.to_parquet(path, index=False)
    return path
