"""Routing: assignment rules, speed to lead, fairness, what-if and stage gates, measured.

- :mod:`.rules`: the rules file (teams, assignment entries, SLA, touches, calendar, stage criteria), read and checked;
  every criteria an expression of :mod:`funnel_analysis.crm.expression`, never executed;
- :mod:`.calendar`: the working calendar (BusinessHours/Holiday exports, the rules file's, or 24x7) and
  :func:`business_minutes`;
- :mod:`.touches`: what counts as a touch and each lead's first one;
- :mod:`.audit`: the rule audit per lead (entry, target, expected round-robin rep, first owner, misrouted) and the
  misroute shares with intervals;
- :mod:`.fairness`, :mod:`.whatif`, :mod:`.gates`: load per rep against the equal share, a proposed rule set on
  past leads, stage entry criteria at entry;
- :mod:`.plots`: one chart per analysis.

Speed to lead itself is :func:`funnel_analysis.sources.speed_to_lead`, which uses the touches and calendar here.

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.routing import Calendar, business_minutes
>>> cal = Calendar(time_zone="UTC", hours={"fri": "09:00-17:00", "mon": "09:00-17:00"}, holidays=["2025-01-06"])
>>> business_minutes(pd.Series(pd.to_datetime(["2025-01-03 16:30"], utc=True)),
...                  pd.Series(pd.to_datetime(["2025-01-07 09:15"], utc=True)), cal).tolist()
[30.0]
"""

from .assign import assign_leads, assign_opportunities, values_at_creation
from .audit import AUDIT_COLUMNS, OPPORTUNITY_AUDIT_COLUMNS, misroute_summary, opportunity_audit, rule_audit
from .calendar import DAYS, Calendar, CalendarError, business_minutes, calendar_from_tables, org_calendar
from .fairness import FAIRNESS_COLUMNS, fairness, open_leads_over_time
from .gates import GATE_COLUMNS, stage_gate_audit, stage_gate_win_rates, stage_gates
from .rules import (
    Entry,
    Member,
    RoutingRules,
    RulesError,
    Sla,
    StageCriterion,
    Target,
    Team,
    Touches,
    load_rules,
    org_rules_file,
    parse_rules,
    resolve_rules,
)
from .touches import FIRST_TOUCH_COLUMNS, first_touches, owner_timeline, touch_candidates
from .whatif import WHAT_IF_COLUMNS, what_if

__all__ = [
    "load_rules",
    "org_rules_file",
    "parse_rules",
    "resolve_rules",
    "RoutingRules",
    "RulesError",
    "Team",
    "Member",
    "Target",
    "Entry",
    "Sla",
    "Touches",
    "StageCriterion",
    "Calendar",
    "CalendarError",
    "business_minutes",
    "calendar_from_tables",
    "org_calendar",
    "DAYS",
    "rule_audit",
    "misroute_summary",
    "assign_leads",
    "assign_opportunities",
    "values_at_creation",
    "AUDIT_COLUMNS",
    "opportunity_audit",
    "OPPORTUNITY_AUDIT_COLUMNS",
    "owner_timeline",
    "touch_candidates",
    "first_touches",
    "FIRST_TOUCH_COLUMNS",
    "stage_gate_audit",
    "stage_gate_win_rates",
    "stage_gates",
    "GATE_COLUMNS",
    "fairness",
    "open_leads_over_time",
    "FAIRNESS_COLUMNS",
    "what_if",
    "WHAT_IF_COLUMNS",
]
