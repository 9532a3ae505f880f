"""Pipeline velocity: time in stage with open deals counted, cycle length, stalled deals, sales velocity.

- :mod:`.durations`: stage visits and intervals, survival-based stage durations, cycle length,
  stalled deals, stage-to-stage days;
- :mod:`.sales_velocity`: open deals x win rate x average won deal / cycle length, and what moved it;
- :mod:`.report`: the report's entry points, on the org (``report.cycle_length(crm, as_of=..., where=...)``);
- :mod:`.plots`: the charts of the velocity notebook.

Examples
--------
>>> from funnel_analysis.velocity import VELOCITY_FACTORS
>>> len(VELOCITY_FACTORS)
4
"""

from .definitions import VELOCITY_DEFINITIONS, velocity_definitions
from .durations import cycle_length, stage_durations, stage_intervals, stage_to_stage_days, stalled_deals
from .sales_velocity import VELOCITY_FACTORS, latest_velocity_change, sales_velocity, velocity_change

__all__ = [
    "VELOCITY_DEFINITIONS",
    "velocity_definitions",
    "stage_intervals",
    "stage_durations",
    "cycle_length",
    "stalled_deals",
    "stage_to_stage_days",
    "sales_velocity",
    "velocity_change",
    "latest_velocity_change",
    "VELOCITY_FACTORS",
]
