"""The report config: which notebooks run, with which parameters, on which schedule.

A YAML file lists reports (``name``, ``notebook``, ``parameters``, ``schedule``); every error
names the file, the report and the rule, and is raised before any notebook runs. Parameters are
plain literals checked against the notebook's ``parameters`` cell. A config may name the org
profile (``profile: profile.yaml``, :mod:`funnel_analysis.project.profile`): its ``data_dir``,
``currency`` and ``fiscal_year_start_month`` (and its path, as ``profile``) are then every report's
defaults, for the notebooks that declare them, so no entry repeats them. The notebooks are found in
the installed package (``notebooks: packaged``, through :mod:`importlib.resources`) or in a folder. Secrets never are parameters:
a parameter named like one (``*password*``, ``*token*``, ``*secret*``, ``*api_key*``) is refused,
because papermill writes every parameter into the output notebook; the package reads secrets
from the environment instead (:mod:`funnel_analysis.crm.salesforce`).

>>> [s.name for s in load_report_config()][:2]
['data_quality', 'funnel']
"""

from __future__ import annotations

import ast
import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

from .._util.results import Unpackable
from ..project.init import packaged_notebooks
from ..project.profile import ProfileError, load_profile, report_defaults

__all__ = [
    "ReportConfigError",
    "ReportSpec",
    "SECRET_NAME",
    "PACKAGED_NOTEBOOKS",
    "CheckedParameters",
    "PlannedReport",
    "load_report_config",
    "check_parameters",
    "plan_reports",
    "MailSettings",
    "FOR_EACH_SEP",
    "for_each_name",
]

#: Parameter (and environment variable) names that hold secrets.
SECRET_NAME = re.compile(r"passw(or)?d|secret|token|api_?key|credential|private_key", re.IGNORECASE)


#: The ``notebooks:`` value that means the notebooks installed with the package.
PACKAGED_NOTEBOOKS = "packaged"


class ReportConfigError(ValueError):
    """A report config or parameter that cannot be used; raised before any notebook runs."""


@dataclass
class ReportSpec:
    """One report: its name, notebook (absolute path), parameters (plain literals) and schedule.

    ``schedule`` is a cron expression (or None: run only by ``funnel report run``), read in
    ``timezone`` (an IANA name such as ``Europe/Berlin``). ``keep`` is how many published runs
    retention keeps (None: all). ``retries`` is how many failed runs of one scheduled time
    ``funnel report due`` makes before it waits for the next scheduled time; after the k-th failed
    run the next try waits ``retry_backoff * 2**(k-1)`` minutes (0: no wait). ``cell_timeout`` is
    the seconds a cell may run (None: no limit) when the command line sets none.

    Attributes
    ----------
    name : str
        The report's name (letters, digits, ``_`` and ``-``), unique in its config; the folder
        its runs are published in.
    notebook : pathlib.Path
        The notebook run, absolute.
    parameters : dict
        Parameter name -> plain literal (str, int, float, bool, list or None) from the config;
        path parameters (``*_dir``, ``*_path``, ``*_file``, a mapping file) absolute. Default empty.
    schedule : str or None
        A 5-field cron expression, or None (the default): run only by ``funnel report run``.
    timezone : str
        The IANA time zone ``schedule`` is read in, and relative parameters resolve in
        (default ``"UTC"``).
    keep : int or None
        Published runs retention keeps (None, the default: all).
    retries : int
        Failed runs per scheduled time before ``funnel report due`` waits for the next one
        (default 3).
    source : str
        The config file the report was read from, for error messages (default empty).
    retry_backoff : int
        Minutes the first retry waits after a failed run, doubling with each failure (default
        15; 0: no wait).
    cell_timeout : int or None
        Seconds a cell may run when the command line sets none (None, the default: no limit).
    defaults : dict
        Parameter name -> value from the org profile (``data_dir``, ``currency``,
        ``fiscal_year_start_month``, ``profile``), given to a notebook that declares the name and
        overridden by ``parameters`` (default empty: no profile).
    subscribers : tuple of str
        E-mail addresses that get a summary after each scheduled run (default none).
    mail : MailSettings or None
        How the summaries go out (the config's ``mail:``; :class:`funnel_analysis.reporting.mail.MailSettings`).
    for_each : str or None
        A field of the filter grammar (``"account.region"``): the report runs once per value the
        loaded org has, each run filtered by ``<field> == <value>`` (and its own ``where``) and
        published as its own report ``<name>--<value>`` (:func:`for_each_name`). None (the
        default): one run.
    """

    name: str
    notebook: Path
    parameters: dict = field(default_factory=dict)
    schedule: str | None = None
    timezone: str = "UTC"
    keep: int | None = None
    retries: int = 3
    source: str = ""  # the config file, for error messages
    retry_backoff: int = 15
    cell_timeout: int | None = None
    defaults: dict = field(default_factory=dict)
    subscribers: tuple[str, ...] = ()
    mail: MailSettings | None = None  # when the config has ``mail:``
    for_each: str | None = None  # a field: one run per value of it


@dataclass(frozen=True)
class MailSettings:
    """How summary mails go out (the report config's ``mail:``; :mod:`.mail` sends them).

    Parameters
    ----------
    host : str, default "localhost"
        The SMTP server.
    port : int, default 25
        Its port (587 with ``starttls``, 465 with ``tls``).
    sender : str, default "funnel-analysis@localhost"
        The From address.
    base_url : str, default ""
        Where the reports folder is served (``https://reports.acme.example``): the mail links
        ``<base_url>/<report>/<run>/<report>.html``. Empty: no link.
    attach : bool, default False
        Attach the report's page to the mail.
    starttls : bool, default False
        Upgrade the connection with STARTTLS.
    tls : bool, default False
        Connect with TLS from the start (SMTPS).
    retries : int, default 3
        Tries after the first one fails.
    retry_wait_s : float, default 5.0
        Seconds before the first retry, doubling with each.
    timeout_s : float, default 30.0
        Seconds a connection may take.
    user_env, password_env : str
        The environment variables holding the SMTP user and password (default
        ``FUNNEL_SMTP_USER`` / ``FUNNEL_SMTP_PASSWORD``); no login when the user's is unset.
    """

    host: str = "localhost"
    port: int = 25
    sender: str = "funnel-analysis@localhost"
    base_url: str = ""
    attach: bool = False
    starttls: bool = False
    tls: bool = False
    retries: int = 3
    retry_wait_s: float = 5.0
    timeout_s: float = 30.0
    user_env: str = "FUNNEL_SMTP_USER"
    password_env: str = "FUNNEL_SMTP_PASSWORD"


def _resolve(params: dict, base: Path) -> dict:
    """Path parameters (``*_dir``, ``*_path``, ``*_file``, a mapping file) made absolute from ``base``."""

    def is_path(k, v):  # a built-in mapping name (maven_crm) is not a path, nor a database URL
        return (
            isinstance(v, str)
            and v != ""
            and not _database_url(k, v)
            and (
                k.endswith(("_dir", "_path", "_file"))
                or (k == "mapping" and (v.endswith((".yaml", ".yml")) or "/" in v))
            )
        )

    return {k: str((base / v).resolve()) if is_path(k, v) else v for k, v in params.items()}


def _database_url(key: str, value) -> bool:
    """Whether a parameter is a database URL (kept as written); one with a password is refused."""
    from ..crm.read import DataLoadError
    from ..crm.warehouse import is_database_url, safe_url

    if not is_database_url(value):
        return False
    try:
        safe_url(value, where=f"parameter {key}")
    except DataLoadError as exc:
        raise ReportConfigError(str(exc)) from None
    return True


def _plain(value, where: str):
    """YAML dates to ISO text: papermill injects plain literals only, so anything else is refused."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if not (value is None or isinstance(value, (str, int, float, bool, list))):
        raise ReportConfigError(f"{where}: {value!r} is not a plain literal (str, int, float, bool, list)")
    return value


def _no_secret(name: str, where: str) -> None:
    if SECRET_NAME.search(name):
        raise ReportConfigError(
            f"{where}: parameter {name!r} looks like a secret; secrets are never report parameters (papermill "
            "writes parameters into the output notebook): set it in the environment (e.g. SF_ACCESS_TOKEN) "
            "and let the package read it"
        )


def _schedule(item: dict, doc: dict, where: str) -> tuple[str | None, str]:
    """(cron, timezone) of an entry: ``schedule: "0 6 * * 1"`` or ``{cron: ..., timezone: ...}``."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from croniter import croniter

    raw, tz = item.get("schedule"), str(doc.get("timezone") or "UTC")
    if isinstance(raw, dict):
        unknown = set(raw) - {"cron", "timezone"}
        if unknown:
            raise ReportConfigError(f"{where}: schedule has unknown key(s) {sorted(unknown)}; use cron and timezone")
        raw, tz = raw.get("cron"), str(raw.get("timezone") or tz)
    if raw is None:
        return None, tz
    if not isinstance(raw, str) or not croniter.is_valid(raw) or len(raw.split()) != 5:
        raise ReportConfigError(
            f"{where}: schedule {raw!r} is not a 5-field cron expression "
            "(minute hour day-of-month month day-of-week, e.g. '0 6 * * mon')"
        )
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ReportConfigError(f"{where}: timezone {tz!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
    return raw, tz


#: The whole-number keys an entry (or the top level, for every entry) may set: (default, least value, unit).
_LIMITS = {
    "keep": (None, 1, "runs"),
    "retries": (3, 1, "runs"),
    "retry_backoff": (15, 0, "minutes"),
    "cell_timeout": (None, 1, "seconds"),
}


def _limit(item: dict, doc: dict, key: str, where: str):
    """An entry's ``key``: its own value, else the top-level one, else the default; checked."""
    default, least, unit = _LIMITS[key]
    value = item.get(key, doc.get(key, default))
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < least):
        origin = "" if key in item else " (top level)"  # a bad top-level value is reported by its first entry
        raise ReportConfigError(
            f"{where}: {key}{origin} must be a whole number of {unit}, at least {least}, got {value!r}"
        )
    return value


def load_report_config(path=None) -> list[ReportSpec]:
    """Read a report config (YAML); ``None`` reads the packaged ``config/reports.yaml``.

    Parameters
    ----------
    path : path-like, optional
        YAML with ``reports:`` (a list of ``name``, ``notebook``, ``parameters``, ``schedule``,
        ``keep``), and optionally ``profile`` (the org profile, relative to the file: its values
        are every report's defaults), ``root`` (where relative paths start, relative to the file;
        default its folder), ``notebooks`` (where notebook paths start: ``packaged`` for the
        installed package's notebooks, or a folder relative to root; default ``notebooks``),
        ``timezone`` (of every schedule without its own), and these, which an
        entry may set for itself: ``keep`` (published runs kept per report), ``retries`` (failed
        runs per scheduled time, default 3), ``retry_backoff`` (minutes after a failed run before
        the next try, doubling with each failure; default 15, 0 for none) and ``cell_timeout``
        (seconds a cell may run, when the command line gives none; default no limit); ``mail:``
        (how summary mails go out: :class:`funnel_analysis.reporting.mail.MailSettings`) and, per
        entry, ``subscribers:`` (the addresses that get a summary after each scheduled run).

    Raises
    ------
    ReportConfigError
        Naming the file and report: a missing, malformed or repeated name, a parameter that is
        not a plain literal or looks like a secret, a bad cron expression or time zone, a bad keep,
        retries, retry_backoff or cell_timeout; or naming the profile and its key (a bad profile,
        a currency that is not the org's).

    Returns
    -------
    list of ReportSpec
        One spec per entry of ``reports:``, in file order: notebook paths absolute, path
        parameters resolved from ``root``, the top-level settings applied where an entry sets
        none.
    """
    if path is None:
        with resources.as_file(resources.files("funnel_analysis.reporting") / "reports.yaml") as p:
            return load_report_config(p)
    path = Path(path).resolve()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ReportConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("reports"), list) or not doc["reports"]:
        raise ReportConfigError(f"{path}: needs a non-empty list 'reports:'")
    root, specs = (path.parent / str(doc.get("root", "."))).resolve(), []
    defaults = {}
    if doc.get("profile"):
        try:
            defaults = dict(report_defaults(load_profile(path.parent / str(doc["profile"]))))
        except ProfileError as exc:
            raise ReportConfigError(str(exc)) from None
    mail = _mail(doc, path)
    where_nb = str(doc.get("notebooks", "notebooks"))
    try:
        notebooks = packaged_notebooks() if where_nb == PACKAGED_NOTEBOOKS else root / where_nb
    except FileNotFoundError as exc:
        raise ReportConfigError(f"{path}: notebooks: {exc}") from None
    for i, item in enumerate(doc["reports"]):
        item = item if isinstance(item, dict) else {}
        name = str(item.get("name", ""))
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name) or name in [s.name for s in specs] or FOR_EACH_SEP in name:
            raise ReportConfigError(
                f"{path}: report #{i + 1} needs a unique name of letters, digits, _ and - "
                f"(not {FOR_EACH_SEP!r}: it names the runs of a for_each)"
            )
        where = f"{path}: report {name!r}"
        unknown = set(item) - {"name", "notebook", "parameters", "schedule", "subscribers", "for_each", *_LIMITS}
        if unknown:
            raise ReportConfigError(
                f"{where}: unknown key(s) {sorted(unknown)}; an entry has name, notebook, "
                f"parameters, schedule, subscribers, for_each, {', '.join(_LIMITS)}"
            )
        for_each = item.get("for_each")
        if for_each is not None and (
            not isinstance(for_each, str)
            or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?", for_each)
        ):
            raise ReportConfigError(
                f"{where}: for_each: expected a field such as account.region (a column or relation.field), "
                f"got {for_each!r}"
            )
        subscribers = _subscribers(item.get("subscribers"), where)
        if subscribers and mail is None:
            raise ReportConfigError(f"{where}: subscribers need the config's mail: settings (host, port, sender)")
        for k in item.get("parameters") or {}:
            _no_secret(str(k), where)
        params = {str(k): _plain(v, f"{where}, parameter {k!r}") for k, v in (item.get("parameters") or {}).items()}
        limits = {key: _limit(item, doc, key, where) for key in _LIMITS}
        cron, tz = _schedule(item, doc, where)
        nb = notebooks / str(item.get("notebook", f"{name}.ipynb"))
        spec = ReportSpec(name, nb.resolve(), _resolve(params, root), cron, tz, source=str(path), **limits)
        specs.append(
            dataclasses.replace(spec, defaults=dict(defaults), subscribers=subscribers, mail=mail, for_each=for_each)
        )
    return specs


def _subscribers(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(
        isinstance(a, str) and re.fullmatch(r"[^@\s,<>]+@[^@\s,<>]+\.[^@\s,<>]+", a) for a in items
    ):
        raise ReportConfigError(f"{where}: subscribers: expected a list of e-mail addresses, got {value!r}")
    return tuple(items)


def _mail(doc: dict, path: Path):
    """The config's ``mail:`` as MailSettings, or None; every key checked, no secret accepted."""
    raw = doc.get("mail")
    if raw is None:
        return None

    where = f"{path}: mail"
    if not isinstance(raw, dict):
        raise ReportConfigError(f"{where}: expected a mapping (host, port, sender, base_url, attach, ...)")
    known = {f.name: f for f in dataclasses.fields(MailSettings)}
    for key in raw:
        if SECRET_NAME.search(str(key)) and not str(key).endswith("_env"):
            raise ReportConfigError(
                f"{where}: {key!r} looks like a secret; SMTP credentials come from the environment "
                "(FUNNEL_SMTP_USER, FUNNEL_SMTP_PASSWORD), never from the config"
            )
        if key not in known:
            raise ReportConfigError(f"{where}: unknown key {key!r}; mail: has {', '.join(known)}")
    values = {}
    for key, v in raw.items():
        default = known[key].default
        ok = isinstance(v, type(default)) and not (isinstance(v, bool) and not isinstance(default, bool))
        if isinstance(default, float) and isinstance(v, int) and not isinstance(v, bool):
            ok, v = True, float(v)
        if not ok:
            raise ReportConfigError(f"{where}.{key}: expected {type(default).__name__}, got {v!r}")
        values[key] = v
    return MailSettings(**values)


@dataclass(frozen=True)
class CheckedParameters(Unpackable):
    """A report's parameters, checked (unpacks as ``values, relative``).

    Attributes
    ----------
    values : dict
        Every parameter of the notebook, its default or the value given.
    relative : dict
        ``{name: token}`` of the parameters given as a relative day (``last_friday``).
    """

    values: dict
    relative: dict


@dataclass(frozen=True)
class PlannedReport(Unpackable):
    """One report to run (unpacks as ``spec, parameters, relative``).

    Attributes
    ----------
    spec : ReportSpec
        The report's configuration.
    parameters : dict
        The checked parameters it runs with.
    relative : dict
        ``{name: token}`` of those given as a relative day.
    """

    spec: ReportSpec
    parameters: dict
    relative: dict


#: What joins a for_each report's name and a value's folder-safe name: ``funnel--EMEA``.
FOR_EACH_SEP = "--"


def for_each_name(report: str, value, taken=()) -> str:
    """The folder-safe name of one value's run of a ``for_each`` report: ``<report>--<value>``.

    Letters, digits, ``_`` and ``-`` of the value are kept (others become ``_``, at most 60 of
    them); a value that keeps nothing, or one whose name is already ``taken`` by another value,
    gets 8 hex digits of its hash, so two values never share a folder.

    Parameters
    ----------
    report : str
        The report's name in the config.
    value : object
        The field's value (its text is used).
    taken : collection of str, optional
        Names already given to other values.

    Returns
    -------
    str
        The run's report name, valid as a report name and a folder name.

    Examples
    --------
    >>> for_each_name("funnel", "EMEA"), for_each_name("funnel", "Côte d'Ivoire / West")
    ('funnel--EMEA', 'funnel--C_te_d_Ivoire_West')
    >>> for_each_name("funnel", "EMEA", taken={"funnel--EMEA"})
    'funnel--EMEA-7e3a78f9'
    """
    import hashlib

    text = str(value)
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-")[:60]
    name = f"{report}{FOR_EACH_SEP}{safe}"
    if not safe or name in taken:
        name += ("-" if safe else "") + hashlib.sha256(text.encode()).hexdigest()[:8]
    return name


#: Parameters that hold a filter of the shared grammar: each is parsed when the run is planned.
_FILTER_PARAMETERS = frozenset({"where", "team"})


def check_parameters(spec: ReportSpec, overrides: dict, data_dir, *, today: date | None = None) -> CheckedParameters:
    """All the notebook's parameters: its defaults, then the profile's, config, data_dir and overrides, checked.

    Relative values (``last_friday``, ``previous_quarter``: :mod:`funnel_analysis.reporting.schedule`) in the
    config or overrides are resolved on ``today`` (default: today in the report's time zone).

    Parameters
    ----------
    spec : ReportSpec
        The report; its notebook's ``parameters`` cell declares the names, types and defaults.
    overrides : dict
        Parameter name -> value given on the command line; wins over the config and ``data_dir``.
    data_dir : path-like or None
        The org to report on, set as the ``data_dir`` parameter (made absolute) when the notebook
        declares one; None leaves the config's or notebook's value.
    today : datetime.date, optional
        The day relative values resolve on; default today in the report's time zone.

    Returns
    -------
    CheckedParameters
        ``values``: every parameter the notebook declares, its default or the value given (a
        number given for a text parameter made text, ``as_of`` as ``YYYY-MM-DD``);
        ``relative``: ``{key: relative token}`` of those resolved. Unpacks as
        ``values, relative``.

    Raises
    ------
    ReportConfigError
        For a parameter the notebook does not declare, a value of the wrong type, an ``as_of``
        that is not a date, a ``where`` filter that does not parse in the shared grammar (code,
        SQL, a function call: refused before any notebook runs), a parameter named like a secret,
        or a notebook default that is not a literal.
    """
    import papermill as pm

    from .schedule import resolve_relative

    declared = {}
    for k, info in pm.inspect_notebook(str(spec.notebook)).items():
        _no_secret(k, f"{spec.notebook}")
        try:
            declared[k] = (info["inferred_type_name"], ast.literal_eval(info["default"]))
        except (ValueError, SyntaxError):
            raise ReportConfigError(f"{spec.notebook}: parameter {k} = {info['default']} is not a literal") from None
    # the notebook's own relative defaults start at its folder
    out = _resolve({k: v for k, (_, v) in declared.items()}, spec.notebook.parent)
    given = {k: v for k, v in spec.defaults.items() if k in declared} | dict(spec.parameters)
    if data_dir is not None and "data_dir" in declared:
        given["data_dir"] = str(data_dir) if _database_url("data_dir", data_dir) else str(Path(data_dir).resolve())
    for k in overrides:
        _no_secret(k, f"report {spec.name!r}")
    given |= overrides
    for k, v in given.items():  # a database URL with a password, from anywhere: refused
        _database_url(k, v)
    if today is None:
        from zoneinfo import ZoneInfo

        today = datetime.now(ZoneInfo(spec.timezone)).date()
    given, relative = resolve_relative(given, today=today)

    def where(k: str) -> str:  # where a bad value was written: the config file, or the command line
        origin = f"{spec.source}: " if spec.source and k in spec.parameters and k not in overrides else ""
        return f"{origin}report {spec.name!r}"

    unknown = [k for k in given if k not in declared]
    if unknown:
        raise ReportConfigError(
            f"report {spec.name!r}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
            f"{spec.notebook.name} has: {', '.join(declared) or 'no parameters cell'}"
        )
    for k, v in given.items():
        kind = declared[k][0]
        if kind == "str" and isinstance(v, (int, float)) and not isinstance(v, bool):
            v = str(v)  # `-p region=1` reads as an int, but the notebook declared text
        types = {"str": str, "int": int, "float": (int, float), "bool": bool, "list": list}.get(kind, object)
        if v is not None and (not isinstance(v, types) or (kind in ("int", "float") and isinstance(v, bool))):
            raise ReportConfigError(f"{where(k)}: parameter {k!r} must be {kind}, got {v!r}")
        out[k] = v
    for k in _FILTER_PARAMETERS & set(out):  # parsed, never run: code or SQL is refused before any kernel starts
        if isinstance(out[k], str) and out[k].strip():
            from ..crm.expression import ExpressionError, parse_expression

            try:
                parse_expression(out[k], label=k)
            except ExpressionError as exc:
                raise ReportConfigError(f"{where(k)}: parameter {k!r}: {exc}") from None
    if out.get("as_of"):
        try:
            out["as_of"] = str(pd.Timestamp(out["as_of"]).date())
        except (TypeError, ValueError):
            raise ReportConfigError(
                f"{where('as_of')}: as_of={out['as_of']!r} is not a date (YYYY-MM-DD, "
                "a relative day such as last_friday, or empty for the latest date in the "
                "data)"
            ) from None
    return CheckedParameters(out, relative)


def plan_reports(
    specs: list[ReportSpec], only, overrides: dict, data_dir, days: dict | None = None
) -> list[PlannedReport]:
    """The selected reports with their parameters and relative tokens; every error is raised first.

    Each :class:`PlannedReport` unpacks as ``spec, parameters, relative``.

    ``days`` maps a report name to the day its relative parameters resolve on (a scheduled run:
    its slot's local day); default today in the report's time zone.

    Parameters
    ----------
    specs : list of ReportSpec
        The reports of the config (:func:`load_report_config`).
    only : str, iterable of str or None
        The names of the reports to plan; None (or empty): every report.
    overrides : dict
        Parameter overrides from the command line: ``key`` for every selected report, or
        ``report.key`` for one (which wins); path values are made absolute from the current
        folder.
    data_dir : path-like or None
        The org to report on (see :func:`check_parameters`).
    days : dict of str to datetime.date, optional
        Report name -> the day its relative parameters resolve on.

    Returns
    -------
    list of PlannedReport
        One per selected report, in config order: its spec, checked parameters and relative
        tokens.

    Raises
    ------
    ReportConfigError
        For an unknown report name (in ``only`` or an override), or, all listed in one error, for
        every selected report whose notebook does not exist or whose parameters do not check.
    """
    names = [s.name for s in specs]
    only = [only] if isinstance(only, str) else list(only or names)
    for n in [*only, *(k.rpartition(".")[0] for k in overrides if "." in k)]:
        if n not in names:
            raise ReportConfigError(f"no report named {n!r}; the config has: {', '.join(names)}")
    plan, errors = [], []
    for spec in (s for s in specs if s.name in only):
        mine = _resolve(
            {
                k.rpartition(".")[2]: v
                for k, v in sorted(overrides.items(), key=lambda kv: "." in kv[0])
                if k.rpartition(".")[0] in ("", spec.name)
            },
            Path.cwd(),
        )  # all reports', then its own
        try:
            if not spec.notebook.is_file():
                raise ReportConfigError(f"report {spec.name!r}: notebook {spec.notebook} does not exist")
            checked = check_parameters(spec, mine, data_dir, today=(days or {}).get(spec.name))
            if spec.for_each and "where" not in checked.values:
                raise ReportConfigError(
                    f"report {spec.name!r}: for_each needs a notebook with a 'where' parameter; "
                    f"{spec.notebook.name} has: {', '.join(checked.values) or 'no parameters cell'}"
                )
            plan.append(PlannedReport(spec, checked.values, checked.relative))
        except ReportConfigError as exc:
            errors.append(str(exc))
    if errors:
        raise ReportConfigError("\n".join(errors))
    return plan
