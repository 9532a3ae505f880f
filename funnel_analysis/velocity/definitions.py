"""What each velocity figure counts: one written definition per headline figure, in one place.

A sales leader comparing the report's cycle time or stage durations with a Salesforce dashboard
needs to know what was counted: which deals, from which date to which, and what is left out. Each
figure of the velocity report has its definition here (:data:`VELOCITY_DEFINITIONS`), and each
report table carries the definitions of the figures it shows in ``attrs["note"]``, the one line
the report prints under it (:func:`with_definitions`).

What no velocity figure counts: deleted and merged records (the Recycle Bin, as Salesforce's own
reports leave them out), quarantined rows, deals created after the as-of day, and whatever the
report's ``where`` leaves out.

Examples
--------
>>> print(VELOCITY_DEFINITIONS["cycle_days"].split(";")[0])
sales cycle: days from an opportunity's creation date to its close date, won or lost
>>> velocity_definitions(figures=["cycle_days"])["figure"].tolist()
['cycle_days']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import pandas as pd

from .._util.definitions import definitions_table, note_with_definitions

__all__ = ["VELOCITY_DEFINITIONS", "TABLE_FIGURES", "velocity_definitions", "with_definitions"]

_LEFT_OUT = "left out: deleted and merged records, quarantined rows, deals created after the as-of day"

#: One written definition per headline figure of the velocity report.
VELOCITY_DEFINITIONS: Mapping[str, str] = MappingProxyType(
    {
        "days_in_stage": (
            "days in a stage: from the day an opportunity entered a stage (its stage history, "
            "OpportunityHistory) to the day it entered the next; a visit still under way on the as-of day "
            "is censored there (Kaplan-Meier median km_median), never counted as finished; "
            f"{_LEFT_OUT}, deals without a creation date (n_undated_excluded)"
        ),
        "cycle_days": (
            "sales cycle: days from an opportunity's creation date to its close date, won or lost; open "
            "deals (and deals closed after the as-of day) are censored at the as-of day in the Kaplan-Meier "
            "median (km_median), naive_median counts closed deals only; "
            f"{_LEFT_OUT}, deals without a creation date (n_undated_excluded), a close before the "
            "creation (n_invalid)"
        ),
        "slipped": (
            "slipped before: an opportunity whose close date was pushed later at least once by the as-of "
            "day (OpportunityFieldHistory, CloseDate); unknown when the history does not reach back to its "
            "creation; win rate = won / closed (won + lost) by count, Wilson 95 % interval; "
            f"{_LEFT_OUT}"
        ),
        "stalled": (
            "stalled deal: an open opportunity in its current stage for longer than the stage's quantile "
            "(stall_quantile) of all visits to it, Kaplan-Meier with open visits censored; days_over = "
            f"days in the stage - that threshold; {_LEFT_OUT}, closed deals"
        ),
        "sales_velocity": (
            "sales velocity: money per day = n_open x win_rate x avg_won_amount / avg_cycle_days, per fiscal "
            "period in which deals closed; n_open = deals open at the period's start; win_rate = won / "
            "closed (by count) of the deals closed in the period; avg_won_amount = mean amount of those "
            "won (corporate currency, missing amounts left out); avg_cycle_days = their mean days from "
            "creation to close; bootstrap 95 % intervals; the current period is incomplete (complete "
            f"False); {_LEFT_OUT}"
        ),
        "velocity_change": (
            "velocity change: how much of the change in sales velocity between the last two complete "
            "fiscal periods each factor (open deals, win rate, won amount, cycle days) explains: its "
            "log ratio over the total log ratio (share)"
        ),
        "stage_to_stage_days": (
            "stage to stage: days from an opportunity first entering the first stage to first entering "
            "the second after it; only deals that entered both count (n), n_from counts those that "
            f"entered the first; {_LEFT_OUT}"
        ),
    }
)

#: Which figures each velocity report table shows (the names the report records it under).
TABLE_FIGURES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "stage_durations": ("days_in_stage",),
        "cycle_length": ("cycle_days",),
        "slipped_deals": ("slipped", "cycle_days"),
        "stalled_deals": ("stalled",),
        "sales_velocity": ("sales_velocity",),
        "velocity_change": ("velocity_change",),
        "stage_to_stage_days": ("stage_to_stage_days",),
    }
)


def velocity_definitions(*, figures: Sequence[str] | None = None) -> pd.DataFrame:
    """The velocity figures' definitions as a table.

    Parameters
    ----------
    figures : sequence of str, optional
        Figures of :data:`VELOCITY_DEFINITIONS`; all when omitted.

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
    >>> len(velocity_definitions())
    7
    """
    return definitions_table(VELOCITY_DEFINITIONS, figures, kind="velocity")


def with_definitions(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """``table`` with the definitions of the figures it shows added to its ``attrs["note"]``.

    Parameters
    ----------
    table : DataFrame
        A velocity report table; it is not changed.
    name : str
        Its name in :data:`TABLE_FIGURES`.

    Returns
    -------
    DataFrame
        A shallow copy of ``table`` whose note ends with ``Definitions: <definition> | ...``.

    Examples
    --------
    >>> t = with_definitions(pd.DataFrame({"n": [1]}), "cycle_length")
    >>> t.attrs["note"][:30]
    'Definitions: sales cycle: days'
    """
    return note_with_definitions(table, TABLE_FIGURES[name], VELOCITY_DEFINITIONS)
