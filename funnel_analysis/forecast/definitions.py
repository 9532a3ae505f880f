"""What each forecasting figure counts: one written definition per headline figure, in one place.

A forecast is only checked against a Salesforce forecast or a finance plan when its definition is
known: which deals, weighted by which probability, over which close period, and how good the track
record is. Each figure of the forecasting report has its definition here
(:data:`FORECAST_DEFINITIONS`), and each report table carries the definitions of the figures it
shows in ``attrs["note"]``, the one line the report prints under it (:func:`with_definitions`).

What no forecast figure counts: deleted and merged records (as Salesforce's own reports leave them
out), quarantined rows, and whatever the report's ``where`` leaves out. Money is in the corporate
currency, each deal converted at its close date's rate.

Examples
--------
>>> print(FORECAST_DEFINITIONS["weighted_pipeline"].split(" (")[0])
weighted pipeline: the open opportunities' amount times their win probability, per fiscal period of their close date
>>> forecast_definitions(figures=["backtest_error"])["figure"].tolist()
['backtest_error']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import pandas as pd

from .._util.definitions import definitions_table, note_with_definitions

__all__ = ["FORECAST_DEFINITIONS", "TABLE_FIGURES", "forecast_definitions", "with_definitions"]

_LEFT_OUT = "left out: deleted and merged records, quarantined rows"

#: One written definition per headline figure of the forecasting report.
FORECAST_DEFINITIONS: Mapping[str, str] = MappingProxyType(
    {
        "next_quarter_forecast": (
            "next-quarter forecast: bookings (won amount, closed in the fiscal quarter) = won so far in the "
            "quarter + each open deal's amount x its chance of being won inside the quarter (learned by "
            "stage, age and whether its close date is due in the quarter, from the same point of earlier "
            "quarters) + the run-rate share of bookings from deals not yet created; "
            f"{_LEFT_OUT}, the deals of a sparse prologue before regular bookings start (left_out_*)"
        ),
        "forecast_interval": (
            "forecast interval: the same forecast made at the same point of each past quarter, against what "
            "closed; the spread of log(actual / forecast) with a Student t quantile, at 80 % and 95 %"
        ),
        "weighted_pipeline": (
            "weighted pipeline: the open opportunities' amount times their win probability, per fiscal "
            "period of their close date (an overdue deal in the as-of day's period); configured = the "
            "stage's probability (OpportunityStage), learned = the win rate of past deals of the same "
            f"stage and age; {_LEFT_OUT}, closed deals"
        ),
        "slipped_pipeline": (
            "slipped pipeline: the open opportunities whose close date was pushed before (OpportunityField"
            "History), with the win rate (by count, Wilson 95 %) and amount win rate (won / closed amount) "
            "of closed deals of the same slip history; expected_amount = open amount x amount win rate; "
            f"{_LEFT_OUT}"
        ),
        "forecast_categories": (
            "forecast categories: the opportunities' amount per Salesforce forecast category (Pipeline, Best "
            "Case, Commit, Closed, Omitted: the stage's ForecastCategoryName) per fiscal period of their "
            f"close date, as the org stood on the as-of day; {_LEFT_OUT}"
        ),
        "bookings": (
            "bookings: the won amount per period of the close date, complete periods up to the as-of day, "
            "from where regular bookings start; forecast by the time-series method with the lowest "
            f"rolling-origin backtest error (scores); {_LEFT_OUT}, the sparse prologue (left_out_*)"
        ),
        "backtest_error": (
            "backtest error: the next-quarter forecast made on each past quarter end with only what was "
            "known that day, against the bookings of its target quarter; mae = mean absolute error, mape "
            "= mean absolute error / actual, bias = mean (forecast - actual), mase and relative_mae against "
            "the seasonal naive forecast (the same quarter a year before), coverage = share of actuals "
            "inside the interval"
        ),
        "calibration": (
            "calibration: deals open at the start of each past fiscal period, binned by their win "
            "probability (configured or learned), against the share of them won inside the period "
            "(observed, with its 95 % interval); a calibrated probability matches the observed share"
        ),
    }
)

#: Which figures each forecasting table shows (the names the report records it under).
TABLE_FIGURES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "next_quarter": ("next_quarter_forecast", "forecast_interval"),
        "weighted_pipeline": ("weighted_pipeline",),
        "slipped_pipeline": ("slipped_pipeline",),
        "forecast_categories": ("forecast_categories",),
        "ts_scores": ("bookings",),
        "backtest": ("backtest_error",),
        "calibration": ("calibration",),
    }
)


def forecast_definitions(*, figures: Sequence[str] | None = None) -> pd.DataFrame:
    """The forecasting figures' definitions as a table.

    Parameters
    ----------
    figures : sequence of str, optional
        Figures of :data:`FORECAST_DEFINITIONS`; all when omitted.

    Returns
    -------
    DataFrame
        ``figure``, ``definition``, one row per figure.

    Raises
    ------
    ValueError
        For a figure without a definition.

    Examples
    --------
    >>> len(forecast_definitions())
    8
    """
    return definitions_table(FORECAST_DEFINITIONS, figures, kind="forecast")


def with_definitions(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """A shallow copy of ``table`` with the definitions of the figures it shows added to ``attrs["note"]``.

    Parameters
    ----------
    table : DataFrame
        A forecasting report table; it is not changed.
    name : str
        Its name in :data:`TABLE_FIGURES`.

    Returns
    -------
    DataFrame
        The copy, whose note ends with ``Definitions: <definition> | ...``.

    Examples
    --------
    >>> with_definitions(pd.DataFrame({"n": [1]}), "weighted_pipeline").attrs["note"][:32]
    'Definitions: weighted pipeline: '
    """
    return note_with_definitions(table, TABLE_FIGURES[name], FORECAST_DEFINITIONS)
