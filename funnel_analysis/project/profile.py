"""The org profile: what is true of one Salesforce org, written once, read by every report and command.

A project folder (``funnel init``) has one ``profile.yaml``. It says where the org's data is
(``data_dir``), its corporate currency (a check on ``CurrencyType``, or the currency of an export
that does not say), its fiscal year (a start month, or Salesforce's custom fiscal periods from an
export of ``Period`` / ``FiscalYearSettings``), which opportunity ``Type`` / ``RecordTypeId`` values
count as new business, renewal or expansion (the ``business_type`` column,
:mod:`funnel_analysis.project.business`), the KPI definitions a company sets, stage and lead-status
overrides, the working calendar, and the org's instance URL. Every key is optional:
:func:`load_profile` fills the defaults, and an empty file is a valid profile of an org in USD with a
calendar fiscal year.

A profile that cannot be used raises :class:`ProfileError`: one line naming the file, the key and
what was expected; ``funnel`` prints it and exits 2. Nothing in the file is executed.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "profile.yaml").write_text("currency: EUR\\nfiscal_year: {start_month: 2}\\n")
>>> p = load_profile(folder / "profile.yaml")
>>> p.currency, p.fiscal_year_start_month, p.data_dir == folder / "data" / "salesforce"
('EUR', 2, True)
>>> _ = (folder / "profile.yaml").write_text("fiscal_year: {start_month: 13}\\n")
>>> load_profile(folder / "profile.yaml")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
funnel_analysis.project.profile.ProfileError: .../profile.yaml: fiscal_year.start_month: expected a whole number from 1 to 12, got 13
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "PROFILE_FILE",
    "BUSINESS_TYPES",
    "ProfileError",
    "BusinessRule",
    "FiscalPeriod",
    "WorkingCalendar",
    "OrgProfile",
    "load_profile",
    "find_project",
    "corporate_currency",
    "report_defaults",
]

#: The profile's file name: the folder holding it is a project (found walking up, like git's ``.git``).
PROFILE_FILE = "profile.yaml"
#: The ``business_type`` values a rule can name, in the order reports show them (new business first).
BUSINESS_TYPES = ("new_business", "renewal", "expansion")
_UNLISTED = (*BUSINESS_TYPES, "other")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ProfileError(ValueError):
    """A profile that cannot be used: the message names the file, the key and what was expected."""


@dataclass(frozen=True)
class BusinessRule:
    """Which opportunities are one business type: by ``Type`` and by ``RecordTypeId``.

    Attributes
    ----------
    types : tuple of str
        ``Type`` picklist values, compared trimmed and case-folded (``" new business "`` matches
        ``New Business``).
    record_types : tuple of str
        ``RecordTypeId`` values (15- or 18-character IDs, compared on their first 15 characters); a
        record type wins over the ``Type``.
    """

    types: tuple[str, ...] = ()
    record_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class FiscalPeriod:
    """One period of a custom fiscal calendar, from Salesforce's ``Period`` object.

    Attributes
    ----------
    type : str
        ``Year``, ``Quarter``, ``Month`` or ``Week``.
    start : datetime.date
        The first day of the period.
    end : datetime.date
        The last day of the period (inclusive, as Salesforce writes ``EndDate``).
    label : str
        ``PeriodLabel`` / ``QuarterLabel`` / ``Number`` as exported, or empty.
    fiscal_year : str
        ``FiscalYearSettingsId`` (the year the period belongs to), or empty.
    """

    type: str
    start: date
    end: date
    label: str = ""
    fiscal_year: str = ""


@dataclass(frozen=True)
class WorkingCalendar:
    """When the sales team works: stored for the analyses of response times (lead routing).

    Attributes
    ----------
    timezone : str
        IANA time zone the hours are read in (default ``"UTC"``).
    workdays : tuple of int
        Working weekdays, Monday 0 to Sunday 6 (default Monday to Friday).
    start : datetime.time
        Start of the working day (default 09:00).
    end : datetime.time
        End of the working day (default 17:00).
    holidays : tuple of datetime.date
        Days off (default none).
    """

    timezone: str = "UTC"
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    start: time = time(9)
    end: time = time(17)
    holidays: tuple[date, ...] = ()


def _frozen(mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class OrgProfile:
    """One org, as its ``profile.yaml`` describes it (:func:`load_profile`); paths are absolute.

    Attributes
    ----------
    path : pathlib.Path or None
        The profile file (None for the defaults).
    name : str
        The org's name, for page titles (default empty).
    data_dir : pathlib.Path, str or None
        The export folder or Parquet store every report and command reads (default
        ``<project>/data/salesforce``), or a database URL where a connector synced the org
        (``postgresql://user@host/db``: kept as text, never with a password).
    source : str
        For a database ``data_dir``: the connector's layout, ``fivetran``, ``airbyte``, ``api`` or
        ``auto``; empty: detected (:mod:`funnel_analysis.crm.warehouse`).
    schema : str
        For a database ``data_dir``: the schema the connector writes to; empty: the layout's default.
    currency : str
        The corporate currency (ISO code) the profile states, or empty: the org's own
        (``CurrencyType``'s ``IsCorporate`` row); see :func:`corporate_currency`.
    fiscal_year_start_month : int
        First month of the fiscal year, 1 to 12 (default 1; from the custom periods when given).
    fiscal_periods : tuple of FiscalPeriod
        The custom fiscal calendar (``Period`` rows), or empty for the standard one.
    business_types : Mapping of str to BusinessRule
        ``new_business``, ``renewal``, ``expansion`` -> which ``Type`` / ``RecordTypeId`` values
        are that type. A file that lists any of them lists them all (one it leaves out lists
        nothing); a file that lists none gets Salesforce's standard values.
    unlisted_business_type : str
        The ``business_type`` of an opportunity no rule lists (default ``"other"``).
    kpis : Mapping
        The KPI definitions the company sets (``win_rate_basis``, ``cohort``, ``exclude_stages``,
        ``exclude_types``, ``new_business_only``); only the keys the file gives.
    stages : Mapping
        Stage name -> overrides of its ``OpportunityStage`` row (``is_closed``, ``is_won``,
        ``default_probability``, ``forecast_category``, ``sort_order``).
    lead_statuses : Mapping
        Lead status -> overrides of its ``LeadStatus`` row (``is_converted``, ``is_closed``,
        ``sort_order``).
    calendar : WorkingCalendar
        Business hours and holidays.
    instance_url : str
        The org's address (``https://acme.my.salesforce.com``), for links to records; or empty.
    engine : str
        Where the report notebooks' reductions run (:mod:`funnel_analysis.engine`): ``duckdb``,
        ``spark`` or ``pandas``; empty: ``FUNNEL_ENGINE``, else pandas.
    """

    path: Path | None = None
    name: str = ""
    data_dir: Path | str | None = None
    source: str = ""
    schema: str = ""
    currency: str = ""
    fiscal_year_start_month: int = 1
    fiscal_periods: tuple[FiscalPeriod, ...] = ()
    business_types: Mapping[str, BusinessRule] = field(default_factory=lambda: _frozen(_DEFAULT_RULES))
    unlisted_business_type: str = "other"
    kpis: Mapping = field(default_factory=lambda: _frozen({}))
    stages: Mapping = field(default_factory=lambda: _frozen({}))
    lead_statuses: Mapping = field(default_factory=lambda: _frozen({}))
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    instance_url: str = ""
    engine: str = ""

    def record_url(self, record_id: str) -> str:
        """The record's page in the org (``<instance_url>/<id>``), or empty without an instance URL.

        Parameters
        ----------
        record_id : str
            A Salesforce record ID.

        Returns
        -------
        str
            The link, or ``""``.

        Examples
        --------
        >>> OrgProfile(instance_url="https://acme.my.salesforce.com").record_url("006bm00001ZL8U9AAL")
        'https://acme.my.salesforce.com/006bm00001ZL8U9AAL'
        """
        return f"{self.instance_url}/{record_id}" if self.instance_url and record_id else ""


#: Salesforce's standard ``Type`` values and common custom ones; an org with its own lists them in its profile.
_DEFAULT_RULES = {
    "new_business": BusinessRule(types=("New Business", "New Customer")),
    "renewal": BusinessRule(types=("Renewal", "Existing Customer - Replacement")),
    "expansion": BusinessRule(
        types=("Existing Business", "Existing Customer - Upgrade", "Upsell", "Cross-sell", "Expansion")
    ),
}


# ---- the file's schema (pydantic: every key checked, unknown keys refused) ----------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Rule(_Strict):
    types: list[str] = Field(default_factory=list)
    record_types: list[str] = Field(default_factory=list)


class _BusinessTypes(_Strict):
    new_business: _Rule | None = None
    renewal: _Rule | None = None
    expansion: _Rule | None = None
    unlisted: Literal["new_business", "renewal", "expansion", "other"] = "other"


class _Fiscal(_Strict):
    start_month: int | None = Field(default=None, ge=1, le=12)
    periods: str = ""


class _Kpis(_Strict):
    win_rate_basis: Literal["count", "amount"] | None = None
    cohort: Literal["closed", "created"] | None = None
    exclude_stages: list[str] | None = None
    exclude_types: list[str] | None = None
    new_business_only: bool | None = None


class _Stage(_Strict):
    is_closed: bool | None = None
    is_won: bool | None = None
    default_probability: int | None = Field(default=None, ge=0, le=100)
    forecast_category: Literal["Pipeline", "BestCase", "Commit", "Closed", "Omitted"] | None = None
    sort_order: int | None = None


class _Status(_Strict):
    is_converted: bool | None = None
    is_closed: bool | None = None
    sort_order: int | None = None


class _Calendar(_Strict):
    timezone: str = "UTC"
    workdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: list(_DAYS[:5])
    )
    hours: str = Field(default="09:00-17:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA time zone such as Europe/Berlin") from None
        return v


class _Profile(_Strict):
    name: str = ""
    data_dir: str = "data/salesforce"
    source: Literal["auto", "fivetran", "airbyte", "api"] | None = None
    db_schema: str | None = Field(default=None, alias="schema", pattern=r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
    instance_url: str = Field(default="", pattern=r"^(https://[A-Za-z0-9.-]+(:\d+)?)?$")
    engine: Literal["", "duckdb", "spark", "pandas"] = ""
    currency: str = Field(default="", pattern=r"^([A-Za-z]{3})?$")
    fiscal_year: _Fiscal = Field(default_factory=_Fiscal)
    business_types: _BusinessTypes = Field(default_factory=_BusinessTypes)
    kpis: _Kpis = Field(default_factory=_Kpis)
    stages: dict[str, _Stage] = Field(default_factory=dict)
    lead_statuses: dict[str, _Status] = Field(default_factory=dict)
    calendar: _Calendar = Field(default_factory=_Calendar)


#: What a key expects, in words, for pydantic's error types (the message names the key and this).
_EXPECTED = {
    "fiscal_year.start_month": "a whole number from 1 to 12",
    "currency": "a three-letter ISO code such as EUR, or empty for CurrencyType's corporate currency",
    "instance_url": "the org's https:// address without a path, e.g. https://acme.my.salesforce.com",
    "calendar.hours": "HH:MM-HH:MM, e.g. 09:00-17:00",
    "calendar.holidays": "a list of dates (YYYY-MM-DD)",
    "calendar.workdays": "a list of mon, tue, wed, thu, fri, sat, sun",
    "source": "the connector that synced a database data_dir: auto, fivetran, airbyte or api",
    "schema": "the database schema the connector writes to, e.g. salesforce",
    "engine": "where the reports' reductions run: duckdb, spark or pandas",
}


def _explain(path: Path, exc: ValidationError) -> str:
    """The first error of pydantic's report as one line: file, dotted key, what was expected, what was given."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    given = err.get("input")
    if err["type"] == "extra_forbidden":
        parent = ".".join(str(p) for p in err["loc"][:-1])
        return (
            f"{path}: {loc}: unknown key"
            + (f" in {parent}" if parent else "")
            + " (see the comments of funnel init's profile.yaml)"
        )
    key = re.sub(r"\.\d+$", "", loc)  # a list item: the list's key
    expected = _EXPECTED.get(key) or _EXPECTED.get(loc)
    if expected is None:
        msg = err["msg"]
        expected = msg[len("Value error, ") :] if msg.startswith("Value error, ") else msg[0].lower() + msg[1:]
        expected = expected.removeprefix("input should be ")
    return f"{path}: {loc}: expected {expected}, got {given!r}"


def _periods(path: Path, source: Path) -> tuple[tuple[FiscalPeriod, ...], int | None]:
    """Custom fiscal periods from a ``Period`` export (a CSV, or a folder with ``Period.csv`` and
    perhaps ``FiscalYearSettings.csv``), and the start month they imply."""
    folder = source if source.is_dir() else source.parent
    file = folder / "Period.csv" if source.is_dir() else source
    if not file.is_file():
        raise ProfileError(f"{path}: fiscal_year.periods: expected a Period export (Period.csv), {file} does not exist")
    out = []
    with file.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for i, row in enumerate(rows, start=2):
        try:
            start, end = date.fromisoformat(row["StartDate"][:10]), date.fromisoformat(row["EndDate"][:10])
            kind = row["Type"].strip()
        except (KeyError, TypeError, ValueError):
            raise ProfileError(
                f"{path}: fiscal_year.periods: {file}, line {i}: expected Type, StartDate and EndDate (YYYY-MM-DD)"
            ) from None
        if end < start:
            raise ProfileError(
                f"{path}: fiscal_year.periods: {file}, line {i}: EndDate {end} is before StartDate {start}"
            )
        label = (row.get("PeriodLabel") or row.get("QuarterLabel") or row.get("Number") or "").strip()
        out.append(FiscalPeriod(kind, start, end, label, (row.get("FiscalYearSettingsId") or "").strip()))
    years = [p.start for p in out if p.type.casefold() == "year"]
    settings = folder / "FiscalYearSettings.csv"
    if not years and settings.is_file():  # the years' own rows: FiscalYearSettings.StartDate
        with settings.open(encoding="utf-8-sig", newline="") as fh:
            years = [date.fromisoformat(r["StartDate"][:10]) for r in csv.DictReader(fh) if r.get("StartDate")]
    if not years:
        years = [min((p.start for p in out), default=None)] if out else []
    months = sorted({d.month for d in years if d is not None})
    if len(months) > 1:
        raise ProfileError(
            f"{path}: fiscal_year.periods: {file}: fiscal years start in months {months}; "
            "expected one start month (set fiscal_year.start_month to the current one)"
        )
    return tuple(sorted(out, key=lambda p: (p.start, p.type))), (months[0] if months else None)


def load_profile(path) -> OrgProfile:
    """Read and check an org profile (YAML); relative paths in it start at its folder.

    Parameters
    ----------
    path : path-like
        The ``profile.yaml`` file.

    Returns
    -------
    OrgProfile
        The profile, every key not given at its default.

    Raises
    ------
    ProfileError
        One line naming the file, the key and what was expected: a file that is missing or not
        YAML, an unknown key, a value of the wrong kind, a ``Period`` export that cannot be read,
        or custom periods that disagree with ``fiscal_year.start_month``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "profile.yaml"
    >>> _ = f.write_text("business_types:\\n  renewal: {types: [Renewal, Existing Business]}\\n")
    >>> load_profile(f).business_types["renewal"].types
    ('Renewal', 'Existing Business')
    >>> _ = f.write_text("curency: EUR\\n")
    >>> load_profile(f)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    funnel_analysis.project.profile.ProfileError: .../profile.yaml: curency: unknown key (see ...)
    """
    path = Path(path).resolve()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile (funnel init DIR writes one)") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    doc = {} if doc is None else doc
    if not isinstance(doc, dict):
        raise ProfileError(f"{path}: expected keys (data_dir: ..., currency: ...), got {type(doc).__name__}")
    try:
        raw = _Profile.model_validate(doc)
    except ValidationError as exc:
        raise ProfileError(_explain(path, exc)) from None
    base = path.parent
    data_dir = _data_dir(path, raw, base)
    fiscal, start = (), raw.fiscal_year.start_month
    if raw.fiscal_year.periods:
        fiscal, implied = _periods(path, (base / raw.fiscal_year.periods).resolve())
        if start is not None and implied is not None and implied != start:
            raise ProfileError(
                f"{path}: fiscal_year.start_month: {start}, but the custom periods start their years in month "
                f"{implied}; expected the same month (or remove start_month)"
            )
        start = implied if start is None else start
    given = {kind: getattr(raw.business_types, kind) for kind in BUSINESS_TYPES}
    rules = dict(_DEFAULT_RULES)  # a file that lists any business type lists them all (the others: none)
    if any(rule is not None for rule in given.values()):
        rules = {k: BusinessRule(*((tuple(r.types), tuple(r.record_types)) if r else ())) for k, r in given.items()}
    seen: dict[str, str] = {}
    for kind, rule in rules.items():
        for value in [*(v.strip().casefold() for v in rule.types), *(r.strip()[:15] for r in rule.record_types)]:
            if seen.setdefault(value, kind) != kind:
                raise ProfileError(
                    f"{path}: business_types.{kind}: {value!r} is also listed under {seen[value]}; "
                    "expected each Type or RecordTypeId under one business type"
                )
    cal = raw.calendar
    first, last = (time.fromisoformat(t) if t != "24:00" else time.max for t in cal.hours.split("-"))
    if last <= first:
        raise ProfileError(f"{path}: calendar.hours: expected the end after the start, got {cal.hours!r}")
    return OrgProfile(
        path=path,
        name=raw.name,
        data_dir=data_dir,
        source=raw.source or "",
        schema=raw.db_schema or "",
        currency=raw.currency.upper(),
        fiscal_year_start_month=start or 1,
        fiscal_periods=fiscal,
        business_types=_frozen(rules),
        unlisted_business_type=raw.business_types.unlisted,
        kpis=_frozen(raw.kpis.model_dump(exclude_none=True)),
        stages=_frozen({k: _frozen(v.model_dump(exclude_none=True)) for k, v in raw.stages.items()}),
        lead_statuses=_frozen({k: _frozen(v.model_dump(exclude_none=True)) for k, v in raw.lead_statuses.items()}),
        calendar=WorkingCalendar(
            cal.timezone, tuple(_DAYS.index(d) for d in cal.workdays), first, last, tuple(cal.holidays)
        ),
        instance_url=raw.instance_url,
        engine=raw.engine,
    )


def _data_dir(path: Path, raw: _Profile, base: Path) -> Path | str:
    """The folder (absolute), or a database URL as written (refused with a password in it)."""
    from ..crm.read import DataLoadError
    from ..crm.warehouse import is_database_url, safe_url

    if is_database_url(raw.data_dir):
        try:
            return safe_url(raw.data_dir, where="data_dir")
        except DataLoadError as exc:
            raise ProfileError(f"{path}: data_dir: {exc}") from None
    for key, value in (("source", raw.source), ("schema", raw.db_schema)):
        if value is not None:
            raise ProfileError(
                f"{path}: {key}: is for a database data_dir (postgresql://user@host/db), "
                f"but data_dir is a folder ({raw.data_dir!r}); remove the key or set data_dir to the URL"
            )
    return (base / raw.data_dir).resolve()


def find_project(start=None) -> Path | None:
    """The project folder: ``start`` or the nearest folder above it that holds a ``profile.yaml``.

    Parameters
    ----------
    start : path-like, optional
        Where to start looking (default: the current folder).

    Returns
    -------
    pathlib.Path or None
        The project folder, absolute; None when no folder up to the root holds a profile.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp()).resolve()
    >>> _ = (root / "profile.yaml").write_text("")
    >>> (root / "reports" / "funnel").mkdir(parents=True)
    >>> find_project(root / "reports" / "funnel") == root
    True
    """
    here = Path.cwd() if start is None else Path(start)
    here = here.resolve()
    for folder in (here, *here.parents):
        if (folder / PROFILE_FILE).is_file():
            return folder
    return None


def corporate_currency(data_dir) -> str:
    """The corporate currency an export states: ``CurrencyType.csv``'s ``IsCorporate`` row, or ``""``.

    Parameters
    ----------
    data_dir : path-like or None
        The export folder (a folder without ``CurrencyType.csv``, or a Parquet store, gives ``""``).

    Returns
    -------
    str
        The ISO code, upper case, or ``""`` when the export does not say.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "CurrencyType.csv").write_text("IsoCode,IsCorporate\\nUSD,false\\neur,true\\n")
    >>> corporate_currency(d), corporate_currency(d / "missing")
    ('EUR', '')
    """
    if isinstance(data_dir, str) and "://" in data_dir:  # a database: its CurrencyType is read with the org
        return ""
    file = Path(data_dir) / "CurrencyType.csv" if data_dir is not None else None
    if file is None or not file.is_file():
        return ""
    with file.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            if str(row.get("IsCorporate", "")).strip().casefold() in ("true", "1"):
                return str(row.get("IsoCode", "")).strip().upper()
    return ""


def report_defaults(profile: OrgProfile) -> Mapping[str, object]:
    """The report parameters the profile sets: ``data_dir``, ``fiscal_year_start_month``, ``currency``, ``profile``,
    and the KPI definitions of its ``kpis:`` (``win_rate_basis``, ``cohort``, ``exclude_stages``, ...).

    A report config entry or a command-line ``-p`` still wins; a notebook gets only those of these it
    declares. ``currency`` is the profile's, checked against the export's ``CurrencyType``, or the
    export's own (empty when neither says).

    Parameters
    ----------
    profile : OrgProfile
        The org profile.

    Returns
    -------
    Mapping
        Parameter name -> plain value (paths as absolute text).

    Raises
    ------
    ProfileError
        When the profile's ``currency`` is not the corporate currency of ``CurrencyType.csv`` in
        ``data_dir``: money is never relabelled.

    Examples
    --------
    >>> report_defaults(OrgProfile(currency="EUR", fiscal_year_start_month=2))["fiscal_year_start_month"]
    2
    """
    org = corporate_currency(profile.data_dir)
    if profile.currency and org and profile.currency != org:
        raise ProfileError(
            f"{profile.path}: currency: expected the org's corporate currency {org} "
            f"({Path(profile.data_dir) / 'CurrencyType.csv'}, IsCorporate), got {profile.currency!r}; "
            "remove the key or correct it"
        )
    out = {
        "fiscal_year_start_month": profile.fiscal_year_start_month,
        "currency": profile.currency or org,
    }
    if profile.data_dir is not None:
        out["data_dir"] = str(profile.data_dir)
    if profile.path is not None:
        out["profile"] = str(profile.path)
    # the KPI definitions the org sets (funnel.definitions.KpiChoices): lists as one comma-separated text
    for key, value in profile.kpis.items():
        out[key] = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value
    return MappingProxyType(out)
