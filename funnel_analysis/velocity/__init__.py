"""Pipeline velocity: time in stage with open deals counted, cycle length, stalled deals, sales velocity.

- :mod:`.durations`: stage visits and intervals, survival-based stage durations, cycle length,
  stalled deals, stage-to-stage days;
- :mod:`.sales_velocity`: open deals x win rate x average won deal / cycle length, and what moved it;
- :mod:`.plots`: the charts of the velocity notebook.

Examples
--------
>>> from funnel_analysis.velocity import VELOCITY_FACTORS
>>> len(VELOCITY_FACTORS)
4
"""

from .durations import stage_intervals, stage_durations, cycle_length, stalled_deals, stage_to_stage_days
from .sales_velocity import sales_velocity, velocity_change, VELOCITY_FACTORS

__all__ = ["stage_intervals", "stage_durations", "cycle_length", "stalled_deals", "stage_to_stage_days",
           "sales_velocity", "velocity_change", "VELOCITY_FACTORS"]
