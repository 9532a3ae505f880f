"""Helpers every report's charts share: a new axes when none is given, money as people write it.

Money is written with its currency's symbol when the currency is given as an ISO code (``"EUR"`` ->
``€``, from the Unicode CLDR data through babel, in English), and a code with no symbol of its own is
written before the amount (``CHF 1,200``).

Examples
--------
>>> money(-1234567.8, "€")
'-€1,234,568'
>>> money(1200, "EUR")
'€1,200'
>>> money(1200, "CHF")
'CHF 1,200'
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from .money import currency_symbol

__all__ = ["axes", "money"]


def money(value: float, currency: str = "$") -> str:
    """``1234567.8`` -> ``"$1,234,568"``: whole units, thousands separators, sign before symbol.

    ``currency`` is an ISO code (``"EUR"``) or a symbol (``"€"``).
    """
    if value is None or pd.isna(value):
        return "n/a"
    return f"{'-' if value < 0 else ''}{currency_symbol(currency)}{abs(value):,.0f}"


def axes(ax, size=(8, 4.5)):
    """``ax``, or the axes of a new figure of ``size`` (inches) with a constrained layout."""
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax
