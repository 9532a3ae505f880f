"""What a section says when the data lacks its inputs: one line, never zeros presented as findings.

An analysis whose input is absent (no activities at all, no stage table, an empty cohort) returns its
usual result, empty, marked with :func:`mark_missing`. :func:`missing_reason` reads the mark back:
``record`` (reporting) prints the line instead of an empty table, and a plot draws the line on an
empty axes (:func:`missing_axes`) instead of a chart of zeros.

The mark lives in ``DataFrame.attrs["missing"]`` for frames and in a ``missing`` attribute (a field)
for result dataclasses, so results keep their types and their columns.

Examples
--------
>>> import pandas as pd
>>> df = mark_missing(pd.DataFrame({"rate": []}), "the export has no activities (Task.csv, Event.csv)")
>>> missing_reason(df)
'the export has no activities (Task.csv, Event.csv)'
>>> missing_reason(pd.DataFrame({"rate": [0.5]})) is None
True
"""

from __future__ import annotations

import pandas as pd

__all__ = ["mark_missing", "missing_reason", "missing_axes"]


def mark_missing(frame: pd.DataFrame, reason: str) -> pd.DataFrame:
    """A copy of ``frame`` marked as lacking its inputs, with ``reason`` in one line.

    ``reason`` says what is missing in the reader's words, e.g. "the export has no activities
    (Task.csv, Event.csv): speed to lead cannot be measured".
    """
    out = frame.copy()
    out.attrs["missing"] = str(reason)
    return out


def missing_reason(result) -> str | None:
    """The reason a result was marked missing (:func:`mark_missing`), or None for a real result."""
    if isinstance(result, (pd.DataFrame, pd.Series)):
        reason = result.attrs.get("missing")
    else:
        reason = getattr(result, "missing", None)
    return str(reason) if reason else None


def missing_axes(ax, reason: str, *, title: str = ""):
    """Draw ``reason`` on an empty ``ax`` (no ticks, no frame) and return it."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, reason, ha="center", va="center", wrap=True, transform=ax.transAxes, fontsize=11)
    if title:
        ax.set_title(title)
    return ax
