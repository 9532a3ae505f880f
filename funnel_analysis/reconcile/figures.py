"""The figures a user writes down from their Salesforce reports: a small CSV of ``figure, period, value``.

One row per figure and fiscal period, for example::

    figure,period,value
    win_rate,FY2025-Q3,0.31
    won_amount,FY2025-Q3,"1,792,011"

- ``figure``: a headline figure of :data:`funnel_analysis.funnel.HEADLINE_FIGURES` (``win_rate``,
  ``won_amount``, ``opportunities_won``, ...);
- ``period``: a fiscal period as the product prints it (``FY2025-Q3``, ``FY2025-M07``, ``FY2025``;
  the ``FY`` may be left out, case does not matter);
- ``value``: a number as written on the dashboard: ``0.31`` or ``31%`` for a rate, ``1,792,011`` or
  ``$1,792,011`` for an amount. How precisely it is written counts: a figure written ``0.31`` is
  matched by any figure that rounds to it (:data:`WRITTEN_STEP` keeps half its last digit).

An optional ``note`` column (which Salesforce report it came from) is kept. Anything else is refused
with one line naming the file, the row and the column (:class:`FiguresError`).

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "figures.csv"
>>> _ = path.write_text("figure,period,value\\nwin_rate,2025-q3,31%\\nwon_amount,FY2025-Q3,\\"$1,792,011\\"\\n")
>>> read_salesforce_figures(path)[["figure", "period", "value", "written_step"]]
       figure     period       value  written_step
0    win_rate  FY2025-Q3        0.31         0.005
1  won_amount  FY2025-Q3  1792011.00         0.500
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from ..crm.read import DataLoadError
from ..funnel.definitions import HEADLINE_FIGURES

__all__ = ["FIGURE_COLUMNS", "WRITTEN_STEP", "FiguresError", "read_salesforce_figures", "period_frequency"]

#: The columns of a figures file (``note`` may follow).
FIGURE_COLUMNS = ("figure", "period", "value")
#: The column of :func:`read_salesforce_figures` holding half the last written digit of each value.
WRITTEN_STEP = "written_step"

_PERIOD = re.compile(r"^(?:FY)?(\d{4})(?:-(Q[1-4]|M(?:0[1-9]|1[0-2])))?$", re.IGNORECASE)
_NUMBER = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?$")
_CURRENCY = re.compile(r"^[$€£¥]|^[A-Z]{3}\s?|\s?[A-Z]{3}$")
_RATES = {f for f in HEADLINE_FIGURES if f.endswith("_rate")}


class FiguresError(DataLoadError):
    """A figures file that cannot be used: one line naming the file, the row, the column and what was expected.

    The message reads ``"<file>: row <n>: column '<column>': <message> (expected <expected>)"``; rows are
    numbered as a spreadsheet shows them (the header is row 1).

    Parameters
    ----------
    file : path-like or str
        The figures file.
    message : str
        What is wrong.
    row : int, optional
        The row at fault (the header is row 1).
    column : str, optional
        The column at fault.
    expected : str, optional
        What was expected instead.

    Attributes
    ----------
    row : int or None
        The row at fault.

    Examples
    --------
    >>> str(FiguresError("f.csv", "'x' is not a number", row=3, column="value", expected="0.31 or 31%"))
    "f.csv: row 3: column 'value': 'x' is not a number (expected 0.31 or 31%)"
    """

    def __init__(self, file, message: str, *, row: int | None = None, column: str | None = None, expected=None):
        super().__init__(f"{file}: row {row}" if row is not None else file, message, column=column, expected=expected)
        self.file, self.row = str(file), row


def period_frequency(label: str) -> str:
    """The frequency of a fiscal period label: ``"Q"``, ``"M"`` or ``"Y"``.

    Parameters
    ----------
    label : str
        A label as the product prints it (``FY2025-Q3``, ``FY2025-M07``, ``FY2025``).

    Returns
    -------
    str
        ``"Q"``, ``"M"`` or ``"Y"``.

    Raises
    ------
    ValueError
        When ``label`` is not a fiscal period.

    Examples
    --------
    >>> period_frequency("FY2025-Q3"), period_frequency("FY2025-M07"), period_frequency("FY2025")
    ('Q', 'M', 'Y')
    """
    m = _PERIOD.match(str(label).strip())
    if not m:
        raise ValueError(f"{label!r} is not a fiscal period (expected FY2025-Q3, FY2025-M07 or FY2025)")
    return "Y" if m.group(2) is None else m.group(2)[0].upper()


def _period(text: str) -> str | None:
    m = _PERIOD.match(text.strip())
    if not m:
        return None
    return f"FY{m.group(1)}" + (f"-{m.group(2).upper()}" if m.group(2) else "")


def _value(text: str, figure: str) -> tuple[float, float] | None:
    """The value and half its last written digit, or None when it is not a number."""
    raw = text.strip().replace(" ", "").replace("\u00a0", "")
    percent = raw.endswith("%")
    raw = _CURRENCY.sub("", raw.rstrip("%"))
    if not raw or not _NUMBER.match(raw) or raw in ("+", "-"):
        return None
    decimals = len(raw.split(".")[1]) if "." in raw else 0
    value, step = float(raw.replace(",", "")), 0.5 * 10.0**-decimals
    if percent:
        value, step = value / 100, step / 100
    if figure in _RATES and not percent and abs(value) > 1:
        raise ValueError("a rate as a fraction")
    return round(value, decimals + (2 if percent else 0) + 6), step


def read_salesforce_figures(path) -> pd.DataFrame:
    """Read and check a figures file (``figure, period, value``; see the module notes).

    Parameters
    ----------
    path : path-like
        The CSV file (UTF-8; a byte-order mark is allowed).

    Returns
    -------
    DataFrame
        One row per figure: ``figure``, ``period`` (as the product prints it, ``FY2025-Q3``),
        ``frequency`` (``Q``, ``M`` or ``Y``), ``value`` (float; a percentage as a fraction),
        ``written_step`` (half the last digit written: a value written ``0.31`` stands for
        0.305 - 0.315), ``note`` (empty when the file has none) and ``row`` (the file's row number,
        the header being row 1).

    Raises
    ------
    FiguresError
        When the file is missing or unreadable, lacks a column, has an unknown column, figure,
        period or a value that is not a number, names a figure and period twice, or has no rows.

    Examples
    --------
    >>> read_salesforce_figures("no/such/figures.csv")
    Traceback (most recent call last):
    ...
    funnel_analysis.reconcile.figures.FiguresError: no/such/figures.csv: does not exist (expected a CSV of figure, period, value)
    """
    path = Path(path)
    shape = "a CSV of figure, period, value"
    if not path.is_file():
        raise FiguresError(path, "does not exist", expected=shape)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FiguresError(path, f"cannot be read: {exc}", expected=f"{shape}, UTF-8") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise FiguresError(path, "is empty", expected=shape)
    header = [c.strip().casefold() for c in rows[0]]
    for col in FIGURE_COLUMNS:
        if col not in header:
            raise FiguresError(
                path, f"has no {col!r} column", row=1, expected=f"the header {', '.join(FIGURE_COLUMNS)}"
            )
    for col in header:
        if col not in (*FIGURE_COLUMNS, "note"):
            raise FiguresError(
                path, "is not a column of a figures file", row=1, column=col, expected="figure, period, value, note"
            )
    if len(rows) == 1:
        raise FiguresError(path, "has no figures", row=2, expected="one row per figure and period")
    out, seen = [], {}
    for n, cells in enumerate(rows[1:], start=2):
        if len(cells) != len(header):
            raise FiguresError(
                path, f"has {len(cells)} cells, the header {len(header)}", row=n, expected="one cell per column"
            )
        rec = dict(zip(header, (c.strip() for c in cells)))
        figure = rec["figure"].casefold()
        if figure not in HEADLINE_FIGURES:
            raise FiguresError(
                path,
                f"{rec['figure']!r} is not a figure",
                row=n,
                column="figure",
                expected=f"one of {', '.join(HEADLINE_FIGURES)}",
            )
        period = _period(rec["period"])
        if period is None:
            raise FiguresError(
                path,
                f"{rec['period']!r} is not a fiscal period",
                row=n,
                column="period",
                expected="FY2025-Q3, FY2025-M07 or FY2025",
            )
        try:
            parsed = _value(rec["value"], figure)
        except ValueError:
            raise FiguresError(
                path,
                f"{rec['value']!r} is not a rate",
                row=n,
                column="value",
                expected=f"{figure} as a fraction (0.31) or a percentage (31%)",
            ) from None
        if parsed is None:
            raise FiguresError(
                path,
                f"{rec['value']!r} is not a number",
                row=n,
                column="value",
                expected="a number such as 0.31, 31% or 1,234,567",
            )
        if (figure, period) in seen:
            raise FiguresError(
                path,
                f"{figure} {period} is given twice (first in row {seen[figure, period]})",
                row=n,
                column="period",
                expected="one value per figure and period",
            )
        seen[figure, period] = n
        out.append(
            {
                "figure": figure,
                "period": period,
                "frequency": period_frequency(period),
                "value": parsed[0],
                WRITTEN_STEP: parsed[1],
                "note": rec.get("note", ""),
                "row": n,
            }
        )
    return pd.DataFrame(out).astype({"value": "float64", WRITTEN_STEP: "float64", "row": "int64"})
