"""Pipeline hygiene and the board: what a sales manager reviews with the owners each week.

- :mod:`.kanban`: the open deals as cards in one column per open stage (the org's stage order), the
  largest first, with owner, amount, days in stage and next step;
- :mod:`.hygiene`: the lists of records to fix, by owner (open deals past their close date, without a
  next step, without recent activity, without an amount; overdue open tasks), and their summary;
- :mod:`.report`: the report's entry points, on the org (``report.board(crm, as_of=..., where=...)``; also
  reachable as ``fa.pipeline.report``);
- :mod:`.plots`: the charts of the pipeline notebook (the board, the summary by owner and check).

Examples
--------
>>> from funnel_analysis.pipeline import CHECKS
>>> list(CHECKS)[:2]
['past_close_date', 'no_next_step']
"""

from . import report as report  # the entry points: fa.pipeline.report.board(crm, ...)
from .hygiene import (
    CHECKS,
    DEAL_COLUMNS,
    check_label,
    hygiene_summary,
    missing_amounts,
    no_next_step,
    no_recent_activity,
    overdue_tasks,
    past_close_date,
)
from .kanban import BOARD_COLUMNS, UNKNOWN_STAGE, board

__all__ = [
    "board",
    "past_close_date",
    "no_next_step",
    "no_recent_activity",
    "overdue_tasks",
    "missing_amounts",
    "hygiene_summary",
    "check_label",
    "CHECKS",
    "DEAL_COLUMNS",
    "BOARD_COLUMNS",
    "UNKNOWN_STAGE",
]
