"""Routing rules as data: teams, lead assignment, the SLA, what counts as a touch, the calendar, stage criteria.

One YAML file holds them (its format: ``docs/guide/routing.md`` and ``data/examples/routing_rules.yaml``). Every
``criteria`` and stage criterion is an expression of the shared grammar (:mod:`funnel_analysis.crm.expression`),
parsed when the file is read and never executed: there is no ``eval``, and a name is only ever a column.

Rules
-----
- **Nothing is evaluated before everything is read.** :func:`load_rules` parses every expression and checks the
  teams (a team that names an unknown team, or itself through others, is refused); :meth:`RoutingRules.check`
  resolves every column against the org's tables (leads for ``lead_assignment``, opportunities for
  ``opportunity_assignment`` and ``stage_criteria``). The analyses call it before they evaluate any rule.
- **One error, one line**: a :class:`RulesError` names the file, the rule (``lead_assignment[2] 'EMEA'.criteria``)
  and, for an expression, the position (1-based character in the criteria text).
- **Teams** list their members (user IDs, or ``{id: ..., active_from: "2025-03-01"}``) and may include other teams;
  :meth:`RoutingRules.members` flattens them: own members in order, then each included team's, a user listed
  twice kept at the first place.

Examples
--------
>>> import tempfile, pathlib
>>> text = '''
... version: 1
... teams:
...   Enterprise: {members: [005000000000001AAA, 005000000000002AAA]}
... lead_assignment:
...   - {name: Big, criteria: "number_of_employees >= 1000", assign_to: {team: Enterprise}}
... default_owner: {user: 005000000000009AAA}
... '''
>>> path = pathlib.Path(tempfile.mkdtemp()) / "rules.yaml"
>>> _ = path.write_text(text)
>>> rules = load_rules(path)
>>> rules.lead_assignment[0].target, rules.members("Enterprise")
(Target(kind='team', value='Enterprise'), ['005000000000001AAA', '005000000000002AAA'])
>>> _ = path.write_text(text.replace(">= 1000", ">= len(name)"))
>>> load_rules(path)
Traceback (most recent call last):
...
funnel_analysis.routing.rules.RulesError: ...rules.yaml: lead_assignment[0] 'Big'.criteria: unexpected '(' at position 27 ...
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import pandas as pd
import yaml

from ..crm.expression import Expression, ExpressionError, check_expression, parse_expression
from ..crm.ids import to_18
from .calendar import Calendar, CalendarError

__all__ = [
    "RoutingRules",
    "RulesError",
    "Team",
    "Member",
    "Target",
    "Entry",
    "Sla",
    "Touches",
    "StageCriterion",
    "load_rules",
    "org_rules_file",
    "parse_rules",
    "resolve_rules",
]

_TOP = {
    "version",
    "teams",
    "lead_assignment",
    "default_owner",
    "opportunity_assignment",
    "default_opportunity_owner",
    "sla",
    "touches",
    "calendar",
    "stage_criteria",
}
_METHODS = ("round_robin", "first_member")
_KINDS = ("team", "user", "queue")


class RulesError(ValueError):
    """A rules file that cannot be used: one line naming the file, the rule and what is wrong.

    Parameters
    ----------
    message : str
        The line.
    position : int, optional
        For an expression, the 1-based character offset of the problem in its text.
    """

    def __init__(self, message: str, *, position: int | None = None):
        self.position = position
        super().__init__(message)


@dataclass(frozen=True)
class Member:
    """A team member: a user ID and, optionally, the first day they take leads.

    Attributes
    ----------
    user_id : str
        The 18-character user ID.
    active_from : datetime.date or None
        From the rules file; None: from the user's ``CreatedDate`` day (always, without a users table).
    """

    user_id: str
    active_from: _dt.date | None = None


@dataclass(frozen=True)
class Team:
    """A team: members, included teams and how it assigns inside.

    Attributes
    ----------
    name : str
        The team's name in the file.
    members : tuple of Member
        Its own members, in listed order.
    teams : tuple of str
        Teams it includes.
    method : str
        ``"round_robin"`` or ``"first_member"``.
    """

    name: str
    members: tuple[Member, ...]
    teams: tuple[str, ...] = ()
    method: str = "round_robin"


@dataclass(frozen=True)
class Target:
    """Where a rule sends a record: a team, a user or a queue.

    Attributes
    ----------
    kind : str
        ``"team"``, ``"user"`` or ``"queue"``.
    value : str
        The team's name, or the user's or queue's 18-character ID.
    """

    kind: str
    value: str


@dataclass(frozen=True)
class Entry:
    """One assignment rule entry: criteria and target.

    Attributes
    ----------
    name : str
        The entry's name.
    criteria : Expression
        Parsed criteria.
    target : Target
        Where it sends a matching record.
    label : str
        How errors name it (``lead_assignment[2] 'EMEA'``).
    """

    name: str
    criteria: Expression
    target: Target
    label: str


@dataclass(frozen=True)
class StageCriterion:
    """One entry criterion of a stage.

    Attributes
    ----------
    stage : str
        The stage name.
    criteria : Expression
        What must hold when a deal enters it (or skips over it).
    label : str
        How errors name it (``stage_criteria 'Needs Analysis'[1]``).
    """

    stage: str
    criteria: Expression
    label: str


@dataclass(frozen=True)
class Sla:
    """The first-touch target.

    Attributes
    ----------
    first_touch_minutes : float or None
        The target; None: no SLA.
    business_hours : bool
        Measured in business minutes of the calendar (else wall clock).
    start : str
        ``"creation"`` or ``"assignment"`` (the first assignment to a user).
    """

    first_touch_minutes: float | None = None
    business_hours: bool = True
    start: str = "creation"


@dataclass(frozen=True)
class Touches:
    """What counts as a touch (the defaults of the issue).

    Attributes
    ----------
    task_types : tuple of str
        ``Type`` / ``TaskSubtype`` values that count, lower case.
    event : bool
        Whether Events count (at their ``StartDateTime``).
    by : str
        ``"owner_or_team"`` (the activity's ``created_by_id`` is the lead's owner at the time or in that owner's
        team) or ``"anyone"``.
    exclude_subtypes : tuple of str
        ``TaskSubtype`` values left out (lower case), such as ``listemail``.
    exclude_subjects : tuple of str
        Subject glob patterns left out (fnmatch, case-insensitive).
    """

    task_types: tuple[str, ...] = ("call", "email", "meeting")
    event: bool = True
    by: str = "owner_or_team"
    exclude_subtypes: tuple[str, ...] = ()
    exclude_subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoutingRules:
    """A rules file, read and checked (see the module rules).

    Attributes
    ----------
    path : str
        The file it was read from (``"<text>"`` for :func:`parse_rules` without a name).
    teams : Mapping of str to Team
        By name.
    lead_assignment, opportunity_assignment : tuple of Entry
        Ordered entries: first match wins.
    default_owner, default_opportunity_owner : Target or None
        Where a record matching no entry goes.
    sla : Sla
    touches : Touches
    calendar : Calendar or None
        The file's calendar (the fallback when the org has no BusinessHours export).
    stage_criteria : tuple of StageCriterion
        In file order.
    """

    path: str
    teams: Mapping[str, Team]
    lead_assignment: tuple[Entry, ...]
    default_owner: Target | None
    opportunity_assignment: tuple[Entry, ...] = ()
    default_opportunity_owner: Target | None = None
    sla: Sla = field(default_factory=Sla)
    touches: Touches = field(default_factory=Touches)
    calendar: Calendar | None = None
    stage_criteria: tuple[StageCriterion, ...] = ()

    def members(self, team: str) -> list[str]:
        """The team's user IDs, flattened through the teams it includes.

        Parameters
        ----------
        team : str
            A team's name.

        Returns
        -------
        list of str
            Own members in order, then each included team's (recursively), first occurrence kept.

        Raises
        ------
        KeyError
            An unknown team.
        """
        return [m.user_id for m in self.member_records(team)]

    def member_records(self, team: str) -> list[Member]:
        """As :meth:`members`, with each member's ``active_from``.

        Parameters
        ----------
        team : str
            A team's name.

        Returns
        -------
        list of Member
            Flattened, first occurrence kept.
        """
        out: dict[str, Member] = {}

        def walk(name):
            t = self.teams[name]
            for m in t.members:
                out.setdefault(m.user_id, m)
            for sub in t.teams:
                walk(sub)

        walk(team)
        return list(out.values())

    def teams_of(self, user_id: str) -> list[str]:
        """The teams a user belongs to (directly or through an included team).

        Parameters
        ----------
        user_id : str
            An 18-character user ID.

        Returns
        -------
        list of str
            Team names in file order.
        """
        return [name for name in self.teams if user_id in self.members(name)]

    def stages(self) -> list[str]:
        """The stages with entry criteria, in file order.

        Returns
        -------
        list of str
            Stage names.
        """
        return list(dict.fromkeys(c.stage for c in self.stage_criteria))

    def check(self, crm) -> RoutingRules:
        """Check every expression's columns and types against the org's tables, evaluating none.

        Parameters
        ----------
        crm : CrmData
            The org (its ``tables``).

        Returns
        -------
        RoutingRules
            These rules, unchanged.

        Raises
        ------
        RulesError
            The first unknown column or bad comparison, naming the file, the rule and the position.
        """
        return self._check_tables(self.tables_for(crm))

    def _check_tables(self, tables) -> RoutingRules:
        """:meth:`check` on tables already typed by :meth:`tables_for`."""
        for entries, table in ((self.lead_assignment, "leads"), (self.opportunity_assignment, "opportunities")):
            for e in entries:
                _checked(self.path, e.criteria, tables, table, f"{e.label}.criteria")
        for c in self.stage_criteria:
            _checked(self.path, c.criteria, tables, "opportunities", c.label)
        return self

    def tables_for(self, crm) -> Mapping[str, pd.DataFrame]:
        """The org's tables with the columns the rules name typed by their content where they are text.

        A custom field exported without a describe file is text (``"true"``, ``"87"``); a text column whose
        values are all ``true``/``false`` becomes boolean, and one whose values all read as numbers becomes float,
        so ``budget_confirmed == true`` and ``lead_score >= 50`` compare as written. Other columns are unchanged.

        Parameters
        ----------
        crm : CrmData or mapping of str to DataFrame
            The org, or its tables.

        Returns
        -------
        Mapping of str to DataFrame
            A new mapping; the org's frames are not modified (a typed table is a copy).
        """
        needs: dict[str, set[str]] = {}
        for entries, table in ((self.lead_assignment, "leads"), (self.opportunity_assignment, "opportunities")):
            for e in entries:
                needs.setdefault(table, set()).update(c for c in e.criteria.columns if "." not in c)
        for c in self.stage_criteria:
            needs.setdefault("opportunities", set()).update(x for x in c.criteria.columns if "." not in x)
        if hasattr(crm, "ensure_tables"):  # an engine-only org reads what the criteria read from its cache
            crm.ensure_tables(*needs)
            for entries, table in ((self.lead_assignment, "leads"), (self.opportunity_assignment, "opportunities")):
                crm.ensure_related_tables(table, *(e.criteria for e in entries))
            crm.ensure_related_tables("opportunities", *(c.criteria for c in self.stage_criteria))
        tables = dict(crm.tables if hasattr(crm, "tables") else crm)
        for table, columns in needs.items():
            frame = tables.get(table)
            if frame is None:
                continue
            typed = {c: _typed(frame[c]) for c in columns if c in frame.columns}
            typed = {c: v for c, v in typed.items() if v is not None}
            if typed:
                tables[table] = frame.assign(**typed)
        return tables


_TRUE_FALSE = {"true": True, "false": False}


def _typed(values: pd.Series) -> pd.Series | None:
    """A text column as boolean or float when every value reads so; None to keep it."""
    if not (pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)):
        return None
    known = values.dropna()
    if not len(known) or pd.api.types.infer_dtype(known, skipna=True) != "string":  # every value text (C speed)
        return None
    low = known.str.strip().str.lower()
    if low.isin(list(_TRUE_FALSE)).all():
        return values.str.strip().str.lower().map(_TRUE_FALSE).astype("boolean")
    if pd.to_numeric(known.iloc[:1000].str.strip(), errors="coerce").isna().any():  # text, seen early: no parse
        return None
    number = pd.to_numeric(known.str.strip(), errors="coerce")
    if number.notna().all():
        return pd.to_numeric(values.str.strip(), errors="coerce").astype("float64")
    return None


def _checked(path, expr, tables, table, label) -> Expression:
    if table not in tables:
        raise RulesError(f"{path}: {label}: the org has no {table} to check it against")
    try:
        return check_expression(expr, tables, table, label=label)
    except ExpressionError as e:
        raise RulesError(f"{path}: {str(e).splitlines()[0]}", position=e.position) from None


def _fail(path, where, what) -> RulesError:
    return RulesError(f"{path}: {where}: {what}")


def _id(path, where, value, prefix=None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, where, f"an ID is text, got {value!r}")
    out = to_18(value.strip())
    salesforce_like = len(out) == 18 and out.isalnum()
    if prefix and salesforce_like and not out.startswith(prefix):
        what = "user" if prefix == "005" else "queue"
        raise _fail(path, where, f"{value!r} is not a {what} ID (a {what} ID starts {prefix})")
    return out


def _mapping(path, where, value, allowed=None) -> dict:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(path, where, f"expected a mapping, got {type(value).__name__}")
    if allowed is not None:
        unknown = [k for k in value if k not in allowed]
        if unknown:
            raise _fail(path, where, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
    return dict(value)


def _list(path, where, value) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(path, where, f"expected a list, got {type(value).__name__}")
    return value


def _target(path, where, value, teams) -> Target:
    d = _mapping(path, where, value, set(_KINDS))
    if len(d) != 1:
        raise _fail(path, where, "exactly one of {team: NAME} | {user: 005...} | {queue: 00G...}")
    ((kind, v),) = d.items()
    if kind == "team":
        if not isinstance(v, str) or v not in teams:
            raise _fail(path, f"{where}.team", f"unknown team {v!r} (teams: {', '.join(teams) or 'none'})")
        return Target("team", v)
    return Target(kind, _id(path, f"{where}.{kind}", v, "005" if kind == "user" else "00G"))


def _expression(path, label, text) -> Expression:
    if not isinstance(text, str):
        raise _fail(path, label, f"criteria are the text of an expression, got {text!r}")
    try:
        return parse_expression(text, label=label)
    except ExpressionError as e:
        raise RulesError(f"{path}: {str(e).splitlines()[0]}", position=e.position) from None


def _teams(path, raw) -> dict[str, Team]:
    raw = _mapping(path, "teams", raw)
    out: dict[str, Team] = {}
    for name, spec in raw.items():
        where = f"teams {name!r}"
        d = _mapping(path, where, spec, {"members", "teams", "method"})
        members = []
        for i, m in enumerate(_list(path, f"{where}.members", d.get("members"))):
            mw = f"{where}.members[{i}]"
            if isinstance(m, Mapping):
                md = _mapping(path, mw, m, {"id", "active_from"})
                uid = _id(path, f"{mw}.id", md.get("id"), "005")
                start = md.get("active_from")
                try:
                    day = None if start is None else pd.Timestamp(str(start)).date()
                except ValueError:
                    raise _fail(path, f"{mw}.active_from", f"not a date: {start!r}") from None
                members.append(Member(uid, day))
            else:
                members.append(Member(_id(path, mw, m, "005")))
        method = d.get("method", "round_robin")
        if method not in _METHODS:
            raise _fail(path, f"{where}.method", f"{method!r} is not one of {', '.join(_METHODS)}")
        subs = _list(path, f"{where}.teams", d.get("teams"))
        out[str(name)] = Team(str(name), tuple(members), tuple(str(s) for s in subs), method)
    for t in out.values():
        for s in t.teams:
            if s not in out:
                raise _fail(path, f"teams {t.name!r}.teams", f"unknown team {s!r} (teams: {', '.join(out)})")
    # a cycle: depth-first walk, the path so far on the stack
    state: dict[str, int] = {}

    def visit(name, trail):
        state[name] = 1
        for s in out[name].teams:
            if state.get(s) == 1:
                cycle = " -> ".join([*trail[trail.index(s) :], s])
                raise _fail(path, f"teams {name!r}.teams", f"circular teams: {cycle}")
            if state.get(s) is None:
                visit(s, [*trail, s])
        state[name] = 2

    for name in out:
        if state.get(name) is None:
            visit(name, [name])
    return out


def _entries(path, key, raw, teams) -> tuple[Entry, ...]:
    out = []
    for i, e in enumerate(_list(path, key, raw)):
        d = _mapping(path, f"{key}[{i}]", e, {"name", "criteria", "assign_to"})
        name = d.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _fail(path, f"{key}[{i}]", "every entry has a `name`")
        label = f"{key}[{i}] {name!r}"
        if "criteria" not in d:
            raise _fail(path, label, "no `criteria`")
        if "assign_to" not in d:
            raise _fail(path, label, "no `assign_to`")
        out.append(
            Entry(
                name,
                _expression(path, f"{label}.criteria", d["criteria"]),
                _target(path, f"{label}.assign_to", d["assign_to"], teams),
                label,
            )
        )
    names = [e.name for e in out]
    dup = next((n for n in names if names.count(n) > 1 or n == "default"), None)
    if dup is not None:
        raise _fail(path, key, f"entry name {dup!r} is used twice (or is the reserved 'default')")
    return tuple(out)


def _names(path, where, value) -> tuple[str, ...]:
    items = _list(path, where, value)
    if not all(isinstance(x, str) for x in items):
        raise _fail(path, where, "a list of text")
    return tuple(x.strip().lower() for x in items)


def parse_rules(doc, *, path: str = "<text>") -> RoutingRules:
    """Rules from an already-read YAML document (a mapping).

    Parameters
    ----------
    doc : mapping
        The document.
    path : str, default "<text>"
        The name errors give.

    Returns
    -------
    RoutingRules
        Parsed; no expression evaluated.

    Raises
    ------
    RulesError
        The first problem, in one line.

    Examples
    --------
    >>> parse_rules({"version": 1, "teams": {"A": {"teams": ["B"]}, "B": {"teams": ["A"]}}})
    Traceback (most recent call last):
    ...
    funnel_analysis.routing.rules.RulesError: <text>: teams 'B'.teams: circular teams: A -> B -> A
    """
    d = _mapping(path, "the file", doc, _TOP)
    version = d.get("version", 1)
    if version != 1:
        raise _fail(path, "version", f"only version 1 is known, got {version!r}")
    teams = _teams(path, d.get("teams"))
    lead = _entries(path, "lead_assignment", d.get("lead_assignment"), teams)
    opp = _entries(path, "opportunity_assignment", d.get("opportunity_assignment"), teams)
    default = None if d.get("default_owner") is None else _target(path, "default_owner", d["default_owner"], teams)
    default_opp = (
        None
        if d.get("default_opportunity_owner") is None
        else _target(path, "default_opportunity_owner", d["default_opportunity_owner"], teams)
    )
    s = _mapping(path, "sla", d.get("sla"), {"first_touch_minutes", "business_hours", "start"})
    minutes = s.get("first_touch_minutes")
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes <= 0):
        raise _fail(path, "sla.first_touch_minutes", f"a positive number of minutes, got {minutes!r}")
    bh = s.get("business_hours", True)
    if not isinstance(bh, bool):
        raise _fail(path, "sla.business_hours", f"true or false, got {bh!r}")
    start = s.get("start", "creation")
    if start not in ("creation", "assignment"):
        raise _fail(path, "sla.start", f"'creation' or 'assignment', got {start!r}")
    sla = Sla(None if minutes is None else float(minutes), bh, start)
    t = _mapping(
        path, "touches", d.get("touches"), {"task_types", "event", "by", "exclude_subtypes", "exclude_subjects"}
    )
    by = t.get("by", "owner_or_team")
    if by not in ("owner_or_team", "anyone"):
        raise _fail(path, "touches.by", f"'owner_or_team' or 'anyone', got {by!r}")
    event = t.get("event", True)
    if not isinstance(event, bool):
        raise _fail(path, "touches.event", f"true or false, got {event!r}")
    touches = Touches(
        _names(path, "touches.task_types", t["task_types"]) if "task_types" in t else Touches.task_types,
        event,
        by,
        _names(path, "touches.exclude_subtypes", t.get("exclude_subtypes")),
        _names(path, "touches.exclude_subjects", t.get("exclude_subjects")),
    )
    calendar = None
    if d.get("calendar") is not None:
        c = _mapping(path, "calendar", d["calendar"], {"time_zone", "hours", "holidays"})
        try:
            calendar = Calendar(
                time_zone=c.get("time_zone", "UTC"),
                hours=c.get("hours"),
                holidays=tuple(str(h) for h in _list(path, "calendar.holidays", c.get("holidays"))),
                source=f"{Path(path).name} calendar",
            )
        except CalendarError as e:
            raise RulesError(f"{path}: {e}") from None
    criteria = []
    for stage, items in _mapping(path, "stage_criteria", d.get("stage_criteria")).items():
        items = [items] if isinstance(items, str) else _list(path, f"stage_criteria {stage!r}", items)
        for i, text in enumerate(items):
            label = f"stage_criteria {stage!r}[{i}]"
            criteria.append(StageCriterion(str(stage), _expression(path, label, text), label))
    return RoutingRules(
        path=path,
        teams=MappingProxyType(teams),
        lead_assignment=lead,
        default_owner=default,
        opportunity_assignment=opp,
        default_opportunity_owner=default_opp,
        sla=sla,
        touches=touches,
        calendar=calendar,
        stage_criteria=tuple(criteria),
    )


def resolve_rules(rules=None, rules_file=None, *, name: str = "rules") -> RoutingRules:
    """The rules given as an object or as the path of their file, exactly one of the two.

    Parameters
    ----------
    rules : RoutingRules, optional
        Rules already read.
    rules_file : str or Path, optional
        Their YAML file (read with :func:`load_rules`).
    name : str, default "rules"
        What they are called in the error.

    Returns
    -------
    RoutingRules
        The rules.

    Raises
    ------
    RulesError
        Neither or both given, or a bad file.
    """
    if (rules is None) == (not rules_file):
        raise RulesError(f"give the {name} (a RoutingRules) or their file ({name}_file), exactly one")
    if rules_file:
        return load_rules(rules_file)
    if not isinstance(rules, RoutingRules):
        raise RulesError(
            f"{name} must be a RoutingRules from load_rules (a path goes in {name}_file), got {type(rules).__name__}"
        )
    return rules


def org_rules_file(data_dir, *, rules_file: str = "", crm=None) -> Path:
    """The routing rules of an org: the file given, else the ones kept beside its data.

    A generated sample org (``funnel sample``) keeps its rules in its truth folder,
    ``<data_dir>_truth/routing_rules.yaml``; an export may carry its own as
    ``<data_dir>/routing_rules.yaml``. So the routing report runs on the sample, in a clone or in a
    project, with no path to set; an org's own rules are given as ``rules_file``.

    Parameters
    ----------
    data_dir : str or Path
        The org's export folder (a database URL has no folder: give ``rules_file``).
    rules_file : str, default ""
        The rules (YAML); empty to look beside the data.
    crm : CrmData, optional
        The org read from ``data_dir``: beside the folder it was loaded from, too (a report run
        reads the runner's Parquet cache of the export, whose ``meta["source"]`` is the export).

    Returns
    -------
    Path
        The rules file.

    Raises
    ------
    RulesError
        When no rules file is given and none is kept beside the data: one line saying where it looked.

    Examples
    --------
    >>> org_rules_file("data/sample", rules_file="my_rules.yaml")
    PosixPath('my_rules.yaml')
    """
    if str(rules_file or "").strip():
        return Path(rules_file)
    places = [str(data_dir)] + ([str(crm.meta["source"])] if crm is not None and crm.meta.get("source") else [])
    candidates = []
    for place in dict.fromkeys(places):
        if "://" in place:  # a database has no folder
            continue
        folder = Path(place)
        candidates += [folder.parent / f"{folder.name}_truth" / "routing_rules.yaml", folder / "routing_rules.yaml"]
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(str(p) for p in candidates) or "nowhere (a database has no folder)"
    raise RulesError(
        f"{data_dir}: no routing rules given (rules_file) and none beside the data (looked at {looked}); "
        "write your org's assignment rules as YAML (docs/guide/routing.md) and set rules_file"
    )


def load_rules(path, *, crm=None) -> RoutingRules:
    """Read a routing rules file (YAML, see the module notes), parse every expression, evaluate none.

    Parameters
    ----------
    path : str or Path
        The YAML file.
    crm : CrmData, optional
        When given, every expression is also checked against the org's columns (:meth:`RoutingRules.check`).

    Returns
    -------
    RoutingRules
        The rules.

    Raises
    ------
    RulesError
        An unreadable file or the first bad rule: one line naming the file, the rule and the position.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise RulesError(f"{p}: cannot be read ({e.strerror or e})") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise RulesError(f"{p}: is not valid YAML{at}: {getattr(e, 'problem', None) or e}") from None
    rules = parse_rules(doc, path=str(p))
    return rules.check(crm) if crm is not None else rules
