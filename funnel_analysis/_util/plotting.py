"""Helpers every report's charts share: a new axes when none is given, money as people write it.

Examples
--------
>>> money(-1234567.8, "€")
'-€1,234,568'
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

__all__ = ["axes", "money"]


def money(value: float, currency: str = "$") -> str:
    """``1234567.8`` -> ``"$1,234,568"``: whole units, thousands separators, sign before symbol."""
    if value is None or pd.isna(value):
        return "n/a"
    return f"{'-' if value < 0 else ''}{currency}{abs(value):,.0f}"


def axes(ax, size=(8, 4.5)):
    """``ax``, or the axes of a new figure of ``size`` (inches) with a constrained layout."""
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax
