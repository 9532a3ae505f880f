"""Figures formatted by what they mean, from one place: rates, model metrics, money, days, counts.

Every page of a report formats its figures here, so a win rate reads the same on the funnel page, the
front page and in a mail: rates in percent with one decimal, model metrics (ROC-AUC, PR-AUC, Brier,
ECE, MASE) with three significant digits so that two models can be told apart, money with the
corporate currency's symbol and thousands separators, durations in whole days, counts with thousands
separators, and an interval beside its value: ``28.5 % (27.1–30.1)``.

What a figure is comes from its name, as the analyses spell it (``win_rate``, ``roc_auc``,
``open_pipeline_amount``, ``median_cycle_days``, ``leads``): :func:`figure_kind`. The analyses' extra
figures of one headline figure (``win_rate_n``, ``win_rate_ci_low``, ``win_rate_ci_high``) fold into
one row of :func:`headline_table`.

Examples
--------
>>> format_figure(0.28534, kind="rate")
'28.5 %'
>>> format_figure(0.72345, kind="metric"), format_figure(0.0041, kind="metric")
('0.723', '0.00410')
>>> format_figure(25819.58, kind="money", currency="EUR")
'€25,820'
>>> format_figure(69.4, kind="days")
'69 days'
>>> format_interval(0.2853, 0.2706, 0.3006, kind="rate")
'28.5 % (27.1–30.1)'
>>> figure_kind("win_rate_ci_low"), figure_kind("brier"), figure_kind("avg_won_deal_size")
('rate', 'metric', 'money')
>>> column_label("median_cycle_days"), column_label("roc_auc"), column_label("owner_id")
('Median cycle (days)', 'ROC-AUC', 'Owner ID')
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping

import pandas as pd

from .._util.money import currency_symbol

__all__ = [
    "KINDS",
    "INTERNAL_COLUMNS",
    "figure_kind",
    "format_figure",
    "format_interval",
    "column_label",
    "headline_table",
]

#: The kinds of figure, each with its one format.
KINDS = ("rate", "metric", "money", "days", "hours", "count", "number", "date", "text")

#: Columns that are machinery, not information for a reader: hidden from the tables people read.
INTERNAL_COLUMNS = frozenset(
    {"sort_order", "is_closed", "is_won", "is_deleted", "row", "source_row", "_row", "fingerprint"}
)

# The order matters: the first pattern that matches a name decides its kind.
_KIND_PATTERNS = (
    ("metric", re.compile(r"(^|_)(roc_auc|pr_auc|auc|brier|ece|mase|log_loss|smape|mape|r2)($|_)")),
    ("count", re.compile(r"(_n|_count)$|^n_|^count$|_excluded$")),
    ("rate", re.compile(r"rate|share|conversion|_pct$|^pct_|coverage$|lift_rate")),
    ("days", re.compile(r"days|(^|_)cycle($|_)|_age$")),
    ("hours", re.compile(r"hours|minutes")),
    (
        "money",
        re.compile(
            r"amount|revenue|cost|deal_size|pipeline_created|velocity|won_to_date|_expected$|bookings"
            r"|^forecast$|weighted$|^(forecast|yhat)$|^actual$|^(abs_)?error$|^mae$|^bias$|^value$"
        ),
    ),
)
_SUFFIX = re.compile(r"_(ci_low|ci_high|low|high)(_\d+)?$")

#: Words written as people write them in a label.
_WORDS = {
    "id": "ID",
    "ids": "IDs",
    "roc": "ROC",
    "auc": "AUC",
    "pr": "PR",
    "ece": "ECE",
    "mase": "MASE",
    "mae": "MAE",
    "km": "KM",
    "sla": "SLA",
    "arr": "ARR",
    "ci": "CI",
    "p90": "p90",
    "p50": "p50",
    "url": "URL",
    "avg": "Average",
    "n": "n",
}
_LABELS = {
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC",
    "brier": "Brier score",
    "ece": "ECE",
    "mase": "MASE",
    "n": "Count",
    "win_rate": "Win rate",
    "lead_conversion_rate": "Lead conversion",
    "avg_won_deal_size": "Average won deal",
    "open_pipeline_amount": "Open pipeline",
    "won_amount": "Won amount",
    "median_cycle_days": "Median cycle (days)",
    "mean_cycle_days": "Mean cycle (days)",
}


@functools.lru_cache(maxsize=4096)
def _kind_of_name(name: str) -> str | None:
    """The kind a figure's name says (:data:`_KIND_PATTERNS`), None when it says none: asked once per name.

    :func:`figure_kind` is asked for every cell of every table a report records (thousands a page), and the
    name's patterns are the same for every cell of a column.
    """
    base = _SUFFIX.sub("", name).lower()
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(base):
            if kind == "money" and re.search(r"share|return_on|missing|rank|log_ratio", base):
                continue
            return kind
    return None


def figure_kind(name, value=None) -> str:
    """What a figure is, from its name (and, when the name says nothing, its value).

    Parameters
    ----------
    name : str
        The figure's or column's name as the analyses spell it (``win_rate``, ``roc_auc_ci_low``).
    value : object, optional
        A value of it: a date or a text value gives ``"date"`` / ``"text"``; a whole number with a
        name that says nothing else gives ``"count"``.

    Returns
    -------
    str
        One of :data:`KINDS`.

    Examples
    --------
    >>> figure_kind("lead_conversion_rate"), figure_kind("win_rate_n"), figure_kind("leads", 20613)
    ('rate', 'count', 'count')
    """
    if isinstance(value, (pd.Timestamp,)) or (hasattr(value, "year") and hasattr(value, "month")):
        return "date"
    if isinstance(value, str):
        return "text"
    kind = _kind_of_name(str(name))
    if kind is not None:
        return kind
    if isinstance(value, bool):
        return "text"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 1):
        return "count"
    return "number"


def _missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _number(value, kind: str, symbol: str, precision: int, unit: bool) -> str:
    if kind == "rate":
        return f"{value * 100:,.{precision}f}" + (" %" if unit else "")
    if kind == "metric":
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        # three significant digits in fixed notation (never 1.00e-06): decimals from the magnitude,
        # one fewer when rounding carries into the next power of ten (0.9996 -> 1.00)
        decimals = max(0, 2 - math.floor(math.log10(abs(value))))
        if decimals and abs(round(value, decimals)) >= 10 ** (3 - decimals):
            decimals -= 1
        return f"{value:.{decimals}f}"
    if kind == "money":
        sign = "-" if value < 0 else ""
        return f"{sign}{symbol if unit else ''}{abs(value):,.0f}"
    if kind == "days":
        days = round(value)
        return f"{days:,}" + ((" day" if abs(days) == 1 else " days") if unit else "")
    if kind == "hours":
        return f"{value:,.1f}"
    if kind == "count":
        return f"{round(value):,}"
    return f"{value:,.{precision}f}"


def format_figure(value, *, kind: str, currency: str = "", precision: int = 1) -> str:
    """One figure as a reader sees it.

    Parameters
    ----------
    value : number, date, text or missing
        The figure.
    kind : str
        One of :data:`KINDS` (:func:`figure_kind` tells it from a name).
    currency : str, default ""
        The ISO code (or symbol) of money; empty for none.
    precision : int, default 1
        Decimals of rates and plain numbers.

    Returns
    -------
    str
        ``"28.5 %"``, ``"0.723"``, ``"€25,820"``, ``"69 days"``, ``"20,613"``, or ``"–"`` when missing.

    Raises
    ------
    ValueError
        When ``kind`` is not one of :data:`KINDS`.

    Examples
    --------
    >>> format_figure(-1234.4, kind="money", currency="USD"), format_figure(None, kind="rate")
    ('-$1,234', '–')
    """
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    value = value.item() if hasattr(value, "item") and not isinstance(value, (str, pd.Timestamp)) else value
    if _missing(value):
        return "–"
    if kind == "date" or isinstance(value, pd.Timestamp):
        return f"{pd.Timestamp(value):%Y-%m-%d}"
    if kind == "text" or isinstance(value, (str, bool)):
        return str(value)
    return _number(float(value), kind, currency_symbol(currency), precision, unit=True)


def format_interval(value, low, high, *, kind: str, currency: str = "", precision: int = 1) -> str:
    """A figure with its interval: ``"28.5 % (27.1–30.1)"``, ``"€25,820 (€24,100–€27,600)"``.

    Parameters
    ----------
    value, low, high : number or missing
        The figure and its interval's bounds; a missing bound shows the figure alone.
    kind : str
        One of :data:`KINDS`.
    currency : str, default ""
        The ISO code (or symbol) of money.
    precision : int, default 1
        Decimals of rates and plain numbers.

    Returns
    -------
    str
        The figure, then its interval in brackets in the same unit (the unit once for rates and days).

    Examples
    --------
    >>> format_interval(69, 60.2, 75.7, kind="days")
    '69 days (60–76)'
    >>> format_interval(0.5, None, 0.6, kind="rate")
    '50.0 %'
    """
    shown = format_figure(value, kind=kind, currency=currency, precision=precision)
    if _missing(value) or _missing(low) or _missing(high) or kind in ("date", "text"):
        return shown
    symbol = currency_symbol(currency)
    unit = kind == "money"  # money repeats its symbol on each bound; % and days are said once
    lo = _number(float(low), kind, symbol, precision, unit)
    hi = _number(float(high), kind, symbol, precision, unit)
    return f"{shown} ({lo}–{hi})"


def column_label(name) -> str:
    """A column's or figure's name as a reader reads it: ``median_cycle_days`` -> ``Median cycle (days)``.

    Parameters
    ----------
    name : str
        The name as the analyses spell it.

    Returns
    -------
    str
        The label: known figures by their usual name, else words capitalised once, with
        abbreviations as written (ID, ROC-AUC, SLA) and a trailing unit in brackets.

    Examples
    --------
    >>> column_label("open_pipeline_amount"), column_label("days_in_stage"), column_label("sla_breach_share")
    ('Open pipeline', 'Days in stage', 'SLA breach share')
    >>> column_label("win_rate_n"), column_label("owner.region")
    ('Win rate (n)', 'Owner region')
    """
    key = str(name)
    if key in _LABELS:
        return _LABELS[key]
    if key.endswith("_n") and len(key) > 2:  # the count a figure stands on: win_rate_n -> "Win rate (n)"
        return f"{column_label(key[:-2])} (n)"
    words = [w for w in key.replace(".", "_").split("_") if w]  # a dotted field: owner.region -> "Owner region"
    if not words:
        return key
    unit = ""
    if len(words) > 1 and words[-1] in ("days", "hours", "minutes"):
        unit = f" ({words.pop()})"
    out = [_WORDS.get(w.lower(), w) for w in words]
    first = out[0]
    out[0] = first if first != first.lower() else first[:1].upper() + first[1:]
    return " ".join(out) + unit


def headline_table(figures: Mapping, *, currency: str = "", definitions: Mapping | None = None) -> pd.DataFrame:
    """Headline figures as a reader's table: one row per figure, its interval beside it, its count.

    ``win_rate``, ``win_rate_n``, ``win_rate_ci_low`` and ``win_rate_ci_high`` become one row:
    ``Win rate | 28.5 % (27.1–30.1) | 3,480``. Figures that are not numbers (``as_of``) stay as text.

    Parameters
    ----------
    figures : Mapping
        Figure name -> value, as the analyses return them (``kpis``, a model's metrics).
    currency : str, default ""
        The ISO code of money.
    definitions : Mapping, optional
        Figure name -> its written definition, shown in a third column when given.

    Returns
    -------
    DataFrame
        Columns ``figure`` (the label), ``value`` (formatted, with the interval), ``n`` (the count it
        stands on, formatted, or empty) and, with ``definitions``, ``definition``; the raw names in the
        index. Every cell is text: the values for machines stay with the record.

    Examples
    --------
    >>> t = headline_table({"win_rate": 0.2853, "win_rate_n": 3480, "win_rate_ci_low": 0.2706,
    ...                     "win_rate_ci_high": 0.3006, "leads": 20613})
    >>> t.to_dict("records")
    [{'figure': 'Win rate', 'value': '28.5 % (27.1–30.1)', 'n': '3,480'}, {'figure': 'Leads', 'value': '20,613', 'n': ''}]
    """
    names = list(figures)
    folded = {f"{n}{s}" for n in names for s in ("_n", "_ci_low", "_ci_high") if f"{n}{s}" in figures}
    rows, index = [], []
    for name in names:
        if name in folded:
            continue
        value = figures[name]
        kind = figure_kind(name, value)
        shown = format_interval(
            value, figures.get(f"{name}_ci_low"), figures.get(f"{name}_ci_high"), kind=kind, currency=currency
        )
        n = figures.get(f"{name}_n")
        row = {"figure": column_label(name), "value": shown, "n": "" if _missing(n) else f"{round(n):,}"}
        if definitions is not None:
            row["definition"] = str(definitions.get(name, ""))
        rows.append(row)
        index.append(name)
    columns = ["figure", "value", "n"] + (["definition"] if definitions is not None else [])
    return pd.DataFrame(rows, index=pd.Index(index, name="name"), columns=columns)
