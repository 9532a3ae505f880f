"""Forecasting: the weighted pipeline, next quarter, bookings time series, and their backtests.

- :mod:`.pipeline`: the weighted pipeline, win probabilities learned from history, forecast categories;
- :mod:`.next_quarter`: expected bookings of the current and next fiscal quarter with intervals;
- :mod:`.timeseries` (with :mod:`.methods`): statsmodels forecasts chosen by rolling-origin backtest, and
  where a series' regular activity starts (``regular_start``, its windows ``WINDOW``);
- :mod:`.batch`: many series at once, in parallel processes (``funnel forecast --series``);
- :mod:`.backtest`: the next-quarter forecast from past as-of cuts against what closed;
- :mod:`.report`: the report entry points, one per notebook section, on the whole org with ``as_of`` and
  ``where`` (imported as ``from funnel_analysis.forecast import report``; their names are those of the
  analyses they call, so they stay out of this ``__all__``);
- :mod:`.plots`: the charts of the forecasting notebook.

Examples
--------
>>> from funnel_analysis.forecast import BASELINE_METHODS
>>> "pipeline" in BASELINE_METHODS
False
"""

from .backtest import BASELINE_METHODS, backtest_next_quarter, past_quarter_ends, summarize_backtest
from .batch import ManyForecasts, fit_many, forecast_many
from .definitions import FORECAST_DEFINITIONS, forecast_definitions
from .methods import BASELINES, METHODS, MODELS
from .next_quarter import FiscalQuarter, bookings_series, next_quarter_forecast, quarter_bounds
from .pipeline import (
    AGE_BINS,
    CATEGORIES,
    forecast_categories,
    learn_win_probabilities,
    probability_calibration,
    snapshot_outcomes,
    weighted_pipeline,
)
from .timeseries import CONFIDENCE, SEASON, WINDOW, Forecaster, ForecastResults, mase, regular_start, validate_series

__all__ = [
    "FORECAST_DEFINITIONS",
    "forecast_definitions",
    "weighted_pipeline",
    "learn_win_probabilities",
    "snapshot_outcomes",
    "probability_calibration",
    "forecast_categories",
    "AGE_BINS",
    "CATEGORIES",
    "next_quarter_forecast",
    "bookings_series",
    "quarter_bounds",
    "FiscalQuarter",
    "backtest_next_quarter",
    "summarize_backtest",
    "past_quarter_ends",
    "BASELINE_METHODS",
    "Forecaster",
    "ForecastResults",
    "validate_series",
    "regular_start",
    "mase",
    "SEASON",
    "WINDOW",
    "CONFIDENCE",
    "METHODS",
    "BASELINES",
    "MODELS",
    "forecast_many",
    "fit_many",
    "ManyForecasts",
]
