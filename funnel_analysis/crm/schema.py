"""The canonical CRM data model: tables, columns, types and the Salesforce names.

Every table is declared once, here. A column's canonical name is the snake_case
of its Salesforce API field name (``StageName`` -> ``stage_name``), so a
Salesforce export loads with no mapping. Custom ``__c`` fields keep their name
without the suffix (``Region__c`` -> ``region``).

Column kinds drive parsing (``funnel_analysis.crm.read``) and cleaning
(``funnel_analysis.crm.clean``); the validation rules built on them live in
``funnel_analysis.crm.validate`` as pandera schemas.

Examples
--------
>>> from funnel_analysis.crm.schema import TABLES, snake_case
>>> TABLES["opportunities"].key
'opportunity_id'
>>> TABLES["opportunities"].sf_object
'Opportunity'
>>> snake_case("ConvertedOpportunityId"), snake_case("Industry__c")
('converted_opportunity_id', 'industry')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .._util.results import Unpackable

__all__ = [
    "Column",
    "Reference",
    "TableSpec",
    "TABLES",
    "KINDS",
    "snake_case",
    "FileTable",
    "table_for_file",
]

#: Column kinds understood by the parser.
#: id: Salesforce-style ID (15-char widened to 18); str: free text;
#: picklist: text whose case/whitespace variants are folded; bool;
#: datetime: timestamp, parsed to UTC; date: date-only (naive, midnight);
#: float: money or numbers; int: whole numbers (stored as float when nullable);
#: email / phone: text with their own normalisation.
KINDS = ("id", "str", "picklist", "bool", "datetime", "date", "float", "int", "email", "phone")


@dataclass(frozen=True)
class Column:
    """One canonical column: its name, Salesforce API name and kind.

    Attributes
    ----------
    name : str
        The canonical (snake_case) column name.
    sf_name : str
        The Salesforce API field name it is read from (``StageName``).
    kind : str
        One of ``KINDS`` (default ``"str"``): how the column is parsed and
        cleaned. Another value raises ``ValueError``.
    required : bool
        Whether a file of the table must carry the column (default False);
        a file without it cannot be loaded (:class:`~funnel_analysis.crm.DataLoadError`).
    aliases : tuple of str
        Other source headers read as this column (report-export labels,
        related-field names), empty by default.
    """

    name: str
    sf_name: str
    kind: str = "str"
    required: bool = False
    aliases: tuple[str, ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r} for {self.name}")


@dataclass(frozen=True)
class Reference:
    """A foreign key: ``column`` of this table points at the key of ``table``.

    ``required`` references that do not resolve quarantine the row (error);
    the others only flag it (warning), since real exports are often partial.

    Attributes
    ----------
    column : str
        The referencing column of this table (``account_id``).
    table : str
        The canonical table referenced, whose key the values must be.
    required : bool
        Whether an unresolved value is an error (default False: a warning).
    """

    column: str
    table: str
    required: bool = False


@dataclass(frozen=True)
class TableSpec:
    """A canonical table and the Salesforce object(s) it is read from.

    Attributes
    ----------
    name : str
        The canonical table name (``"opportunities"``), its key in ``TABLES``.
    sf_object : str
        The Salesforce object it is read from (``"Opportunity"``).
    key : str
        The column holding the record ID (``"opportunity_id"``).
    columns : tuple of Column
        The table's columns, in order.
    references : tuple of Reference
        Its foreign keys (empty by default).
    file_stems : tuple of str
        File stems (without ``.csv``/``.parquet``) that hold this table in an
        export (empty by default).
    created_column : str or None
        The column that dates a row, used by ``CrmData.as_of`` (default
        ``"created_date"``; None for a table that is not cut by date).
    extra_file_stems : tuple of str
        More file stems whose rows join the table, read as Salesforce events
        (``Event.csv`` into ``activities``; empty by default).
    column_names : list of str
        The names of ``columns``, in order (read-only).
    required_columns : list of str
        The names of the required columns (read-only).
    """

    name: str
    sf_object: str
    key: str
    columns: tuple[Column, ...]
    references: tuple[Reference, ...] = ()
    #: file stems (without .csv/.parquet) that hold this table in an export
    file_stems: tuple[str, ...] = ()
    #: the column that dates a row, used by ``CrmData.as_of``
    created_column: str | None = "created_date"
    extra_file_stems: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column | None:
        """The column of that canonical name.

        Parameters
        ----------
        name : str
            A canonical column name.

        Returns
        -------
        Column or None
            The column, or None when the table has none of that name.
        """
        for c in self.columns:
            if c.name == name:
                return c
        return None

    def kinds(self) -> Mapping[str, str]:
        """The kind of every column.

        Returns
        -------
        Mapping of str to str
            Canonical column name -> its kind (one of ``KINDS``), in column order.
        """
        return {c.name: c.kind for c in self.columns}

    def sf_rename(self) -> Mapping[str, str]:
        """Salesforce API field name (and aliases) -> canonical name.

        Returns
        -------
        Mapping of str to str
            Every column's ``sf_name`` and each of its ``aliases``, mapped to the
            column's canonical name.
        """
        out = {}
        for c in self.columns:
            out[c.sf_name] = c.name
            for a in c.aliases:
                out[a] = c.name
        return out


_CAMEL_1 = re.compile(r"(.)([A-Z][a-z]+)")
_CAMEL_2 = re.compile(r"([a-z0-9])([A-Z])")


def snake_case(name: str) -> str:
    """Canonical snake_case of a Salesforce API field name.

    ``__c`` custom suffixes are dropped, runs of capitals stay together
    (``BillingLatitude`` -> ``billing_latitude``, ``SLAExpirationDate__c`` ->
    ``sla_expiration_date``), and anything else non-alphanumeric becomes ``_``.

    Parameters
    ----------
    name : str
        A Salesforce API field name or a column header (surrounding spaces
        are ignored).

    Returns
    -------
    str
        The lower-case name, words joined by single underscores, none leading
        or trailing.

    Examples
    --------
    >>> snake_case("NumberOfEmployees")
    'number_of_employees'
    >>> snake_case("Opportunity Lifecycle (Days)")
    'opportunity_lifecycle_days'
    """
    s = re.sub(r"__c$", "", name.strip())
    s = _CAMEL_1.sub(r"\1_\2", s)
    s = _CAMEL_2.sub(r"\1_\2", s)
    s = re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()
    return re.sub(r"_+", "_", s)


def _c(name, kind="str", sf=None, required=False, aliases=()):
    if sf is None:
        # default Salesforce name: CamelCase of the canonical name
        sf = "".join(p.capitalize() for p in name.split("_"))
    return Column(name, sf, kind, required, tuple(aliases))


_PERSON = (
    _c("first_name"),
    _c("last_name"),
    _c("name"),
    _c("salutation"),
    _c("title"),
    _c("email", "email"),
    _c("phone", "phone"),
    _c("mobile_phone", "phone"),
)

_ADDRESS = (
    _c("street"),
    _c("city"),
    _c("state"),
    _c("postal_code"),
    _c("country"),
)

TABLES: dict[str, TableSpec] = {}


def _table(spec: TableSpec) -> TableSpec:
    TABLES[spec.name] = spec
    return spec


_table(
    TableSpec(
        name="leads",
        sf_object="Lead",
        key="lead_id",
        file_stems=("Lead", "Leads", "leads"),
        columns=(
            _c("lead_id", "id", "Id", required=True),
            _c("created_date", "datetime"),
            *_PERSON,
            _c("company"),
            _c("website"),
            *_ADDRESS,
            _c("lead_source", "picklist"),
            _c("status", "picklist"),
            _c("industry", "picklist"),
            _c("rating", "picklist"),
            _c("annual_revenue", "float"),
            _c("number_of_employees", "int"),
            _c("owner_id", "id"),
            _c("is_converted", "bool"),
            _c("converted_date", "date"),
            _c("converted_account_id", "id"),
            _c("converted_contact_id", "id"),
            _c("converted_opportunity_id", "id"),
            _c("is_deleted", "bool"),
            _c("currency_iso_code"),
            _c("master_record_id", "id"),
            _c("system_modstamp", "datetime"),
            _c("last_modified_date", "datetime"),
            _c("last_activity_date", "date"),
        ),
        references=(
            Reference("owner_id", "users"),
            Reference("converted_opportunity_id", "opportunities"),
            Reference("converted_account_id", "accounts"),
            Reference("converted_contact_id", "contacts"),
        ),
    )
)

_table(
    TableSpec(
        name="opportunities",
        sf_object="Opportunity",
        key="opportunity_id",
        file_stems=("Opportunity", "Opportunities", "opportunities"),
        columns=(
            _c("opportunity_id", "id", "Id", required=True),
            _c("account_id", "id"),
            _c("name"),
            _c("created_date", "datetime"),
            _c("stage_name", "picklist"),
            _c("amount", "float"),
            _c("probability", "float"),
            _c("expected_revenue", "float"),
            _c("close_date", "date"),
            _c("is_closed", "bool"),
            _c("is_won", "bool"),
            _c("lead_source", "picklist"),
            _c("type", "picklist"),
            _c("forecast_category", "picklist"),
            _c("forecast_category_name", "picklist"),
            _c("campaign_id", "id"),
            _c("owner_id", "id"),
            # what the rep does next: the pipeline's hygiene lists and the stage gates read it
            _c("next_step"),
            _c("is_deleted", "bool"),
            _c("currency_iso_code"),
            _c("system_modstamp", "datetime"),
            _c("last_modified_date", "datetime"),
            _c("last_activity_date", "date"),
        ),
        references=(
            Reference("account_id", "accounts"),
            Reference("owner_id", "users"),
            Reference("campaign_id", "campaigns"),
        ),
    )
)

_table(
    TableSpec(
        name="opportunity_history",
        sf_object="OpportunityHistory",
        key="history_id",
        file_stems=("OpportunityHistory", "opportunity_history"),
        columns=(
            _c("history_id", "id", "Id", required=True),
            _c("opportunity_id", "id", required=True),
            _c("created_date", "datetime", required=True),
            _c("stage_name", "picklist"),
            _c("amount", "float"),
            _c("probability", "float"),
            _c("expected_revenue", "float"),
            _c("close_date", "date"),
            _c("forecast_category", "picklist"),
            _c("created_by_id", "id"),
            _c("is_deleted", "bool"),
            _c("currency_iso_code"),
            _c("system_modstamp", "datetime"),
        ),
        references=(Reference("opportunity_id", "opportunities", required=True),),
    )
)

_table(
    TableSpec(
        name="stages",
        sf_object="OpportunityStage",
        key="stage_name",
        file_stems=("OpportunityStage", "stages"),
        created_column=None,
        columns=(
            _c("stage_name", "picklist", "MasterLabel", required=True, aliases=("StageName", "ApiName")),
            _c("sort_order", "int", required=True),
            _c("default_probability", "float"),
            _c("is_closed", "bool", required=True),
            _c("is_won", "bool", required=True),
            _c("forecast_category", "picklist", aliases=("ForecastCategoryName",)),
            _c("is_active", "bool"),
            _c("last_modified_date", "datetime"),
            _c("system_modstamp", "datetime"),
        ),
    )
)

_table(
    TableSpec(
        name="accounts",
        sf_object="Account",
        key="account_id",
        file_stems=("Account", "Accounts", "accounts"),
        columns=(
            _c("account_id", "id", "Id", required=True),
            _c("name"),
            _c("type", "picklist"),
            _c("parent_id", "id"),
            _c("industry", "picklist"),
            _c("region", "picklist", "Region__c", aliases=("Region",)),
            _c("annual_revenue", "float"),
            _c("number_of_employees", "int"),
            _c("billing_street"),
            _c("billing_city"),
            _c("billing_state"),
            _c("billing_postal_code"),
            _c("billing_country"),
            _c("phone", "phone"),
            _c("website"),
            _c("account_source", "picklist"),
            _c("owner_id", "id"),
            _c("created_date", "datetime"),
            _c("is_deleted", "bool"),
            _c("currency_iso_code"),
            _c("master_record_id", "id"),
            _c("last_modified_date", "datetime"),
            _c("system_modstamp", "datetime"),
        ),
        references=(Reference("owner_id", "users"), Reference("parent_id", "accounts")),
    )
)

_table(
    TableSpec(
        name="contacts",
        sf_object="Contact",
        key="contact_id",
        file_stems=("Contact", "Contacts", "contacts"),
        columns=(
            _c("contact_id", "id", "Id", required=True),
            _c("account_id", "id"),
            *_PERSON,
            _c("department"),
            _c("lead_source", "picklist"),
            _c("mailing_street"),
            _c("mailing_city"),
            _c("mailing_state"),
            _c("mailing_postal_code"),
            _c("mailing_country"),
            _c("owner_id", "id"),
            _c("created_date", "datetime"),
            _c("is_deleted", "bool"),
            _c("currency_iso_code"),
            _c("master_record_id", "id"),
            _c("last_modified_date", "datetime"),
            _c("system_modstamp", "datetime"),
        ),
        references=(Reference("account_id", "accounts"), Reference("owner_id", "users")),
    )
)

_table(
    TableSpec(
        name="activities",
        sf_object="Task",
        key="activity_id",
        file_stems=("Task", "Tasks"),
        extra_file_stems=("Event", "Events"),
        columns=(
            _c("activity_id", "id", "Id", required=True),
            _c("activity_kind", "picklist"),  # task / event: which file the row came from
            _c("who_id", "id"),
            _c("what_id", "id"),
            _c("account_id", "id"),
            _c("subject"),
            _c("activity_date", "date"),
            _c("type", "picklist"),
            # TaskSubtype (Task, Email, ListEmail, Cadence, Call, LinkedIn) / EventSubtype (Event): its own column,
            # not Type's alias any more (routing excludes automated ListEmail/Cadence rows by it)
            _c("task_subtype", "picklist", "TaskSubtype", aliases=("EventSubtype",)),
            _c("status", "picklist"),
            _c("priority", "picklist"),
            _c("is_closed", "bool"),
            _c("call_duration_in_seconds", "float"),
            _c("duration_in_minutes", "float"),
            _c("owner_id", "id"),
            _c("created_by_id", "id"),  # who logged it (routing: a touch by the lead's owner or team)
            _c("created_date", "datetime"),
            _c("completed_date_time", "datetime"),  # Task: when it was completed
            _c("start_date_time", "datetime"),  # Event: when it starts
            _c("end_date_time", "datetime"),
            _c("is_all_day_event", "bool"),
            _c("is_deleted", "bool"),
            _c("last_modified_date", "datetime"),
            _c("system_modstamp", "datetime"),
        ),
        references=(Reference("owner_id", "users"), Reference("account_id", "accounts")),
    )
)

_table(
    TableSpec(
        name="campaigns",
        sf_object="Campaign",
        key="campaign_id",
        file_stems=("Campaign", "Campaigns", "campaigns"),
        columns=(
            _c("campaign_id", "id", "Id", required=True),
            _c("name"),
            _c("type", "picklist"),
            _c("status", "picklist"),
            _c("parent_id", "id"),
            _c("start_date", "date"),
            _c("end_date", "date"),
            _c("budgeted_cost", "float"),
            _c("actual_cost", "float"),
            _c("expected_revenue", "float"),
            _c("is_active", "bool"),
            _c("owner_id", "id"),
            _c("created_date", "datetime"),
            _c("is_deleted", "bool"),
            _c("currency_iso_code"),
            _c("last_modified_date", "datetime"),
            _c("system_modstamp", "datetime"),
        ),
        references=(Reference("owner_id", "users"), Reference("parent_id", "campaigns")),
    )
)

_table(
    TableSpec(
        name="campaign_members",
        sf_object="CampaignMember",
        key="campaign_member_id",
        file_stems=("CampaignMember", "CampaignMembers", "campaign_members"),
        columns=(
            _c("campaign_member_id", "id", "Id", required=True),
            _c("campaign_id", "id", required=True),
            _c("lead_id", "id"),
            _c("contact_id", "id"),
            _c("status", "picklist"),
            _c("has_responded", "bool"),
            _c("first_responded_date", "date"),
            _c("created_date", "datetime"),
            _c("is_deleted", "bool"),
            _c("last_modified_date", "datetime"),
            _c("system_modstamp", "datetime"),
        ),
        references=(
            Reference("campaign_id", "campaigns", required=True),
            Reference("lead_id", "leads"),
            Reference("contact_id", "contacts"),
        ),
    )
)

_table(
    TableSpec(
        name="users",
        sf_object="User",
        key="owner_id",
        file_stems=("User", "Users", "users"),
        created_column=None,
        columns=(
            _c("owner_id", "id", "Id", required=True),
            _c("name"),
            _c("first_name"),
            _c("last_name"),
            _c("email", "email"),
            _c("role", "picklist", "Role__c", aliases=("UserRoleName", "UserRole.Name")),
            _c("region", "picklist", "Region__c", aliases=("Region",)),
            _c("manager_id", "id"),
            _c("is_active", "bool"),
            _c("time_zone_sid_key"),  # IANA name (America/New_York): the user's own SLA clock
            _c("created_date", "datetime"),
            _c("last_modified_date", "datetime"),
            _c("system_modstamp", "datetime"),
        ),
    )
)


def _field_history(name, sf_object, key, record, parent, stems):
    """LeadHistory / OpportunityFieldHistory: one row per tracked field change (API names in Field)."""
    return TableSpec(
        name=name,
        sf_object=sf_object,
        key=key,
        file_stems=stems,
        columns=(
            _c(key, "id", "Id", required=True),
            _c(record, "id", required=True),
            _c("field", "str", required=True),
            _c("old_value", "str"),
            _c("new_value", "str"),
            _c("data_type", "str"),
            _c("created_date", "datetime", required=True),
            _c("created_by_id", "id"),
            _c("is_deleted", "bool"),
        ),
        # a change of a record that does not exist is flagged and counted, not quarantined
        references=(Reference(record, parent),),
    )


_table(
    _field_history(
        "lead_history", "LeadHistory", "lead_history_id", "lead_id", "leads", ("LeadHistory", "lead_history")
    )
)
_table(
    _field_history(
        "opportunity_field_history",
        "OpportunityFieldHistory",
        "field_history_id",
        "opportunity_id",
        "opportunities",
        ("OpportunityFieldHistory", "opportunity_field_history"),
    )
)

_table(
    TableSpec(
        name="lead_statuses",
        sf_object="LeadStatus",
        key="status",
        file_stems=("LeadStatus", "lead_status", "lead_statuses"),
        created_column=None,
        columns=(
            _c("status", "picklist", "MasterLabel", required=True, aliases=("ApiName",)),
            _c("sort_order", "int", required=True),
            _c("is_converted", "bool"),
            _c("is_default", "bool"),
            _c("lead_status_id", "id", "Id"),
            _c("last_modified_date", "datetime"),
            _c("system_modstamp", "datetime"),
        ),
    )
)

_table(
    TableSpec(
        name="groups",
        sf_object="Group",
        key="group_id",
        file_stems=("Group", "Groups", "groups"),
        created_column=None,
        columns=(
            _c("group_id", "id", "Id", required=True),
            _c("name"),
            _c("developer_name"),
            _c("type", "picklist"),  # Queue, Regular, Role, ...: owners starting 00G are queues
            _c("email", "email"),
            _c("owner_id", "id"),
            _c("created_date", "datetime"),
            _c("last_modified_date", "datetime"),
            _c("system_modstamp", "datetime"),
        ),
    )
)

_table(
    TableSpec(
        name="group_members",
        sf_object="GroupMember",
        key="group_member_id",
        file_stems=("GroupMember", "group_member", "group_members"),
        created_column=None,
        columns=(
            _c("group_member_id", "id", "Id", required=True),
            _c("group_id", "id", required=True),
            _c("user_or_group_id", "id", required=True),
            _c("system_modstamp", "datetime"),
        ),
        references=(Reference("group_id", "groups"),),
    )
)

_table(
    TableSpec(
        name="contact_roles",
        sf_object="OpportunityContactRole",
        key="contact_role_id",
        file_stems=("OpportunityContactRole", "opportunity_contact_role", "contact_roles"),
        columns=(
            _c("contact_role_id", "id", "Id", required=True),
            _c("opportunity_id", "id", required=True),
            _c("contact_id", "id", required=True),
            _c("role", "picklist"),
            _c("is_primary", "bool"),
            _c("created_date", "datetime"),
            _c("is_deleted", "bool"),
            _c("last_modified_date", "datetime"),
            _c("system_modstamp", "datetime"),
        ),
        references=(Reference("opportunity_id", "opportunities"), Reference("contact_id", "contacts")),
    )
)

_table(
    TableSpec(
        name="currencies",
        sf_object="CurrencyType",
        key="iso_code",
        file_stems=("CurrencyType", "currency_type", "currencies"),
        created_column=None,
        columns=(
            _c("iso_code", "str", "IsoCode", required=True),
            _c("conversion_rate", "float", required=True),
            _c("is_corporate", "bool"),
            _c("is_active", "bool"),
            _c("decimal_places", "int"),
            _c("currency_type_id", "id", "Id"),
        ),
    )
)

_table(
    TableSpec(
        name="dated_rates",
        sf_object="DatedConversionRate",
        key="dated_rate_id",
        file_stems=("DatedConversionRate", "dated_conversion_rate", "dated_rates"),
        created_column=None,
        columns=(
            _c("dated_rate_id", "id", "Id"),
            _c("iso_code", "str", "IsoCode", required=True),
            _c("conversion_rate", "float", required=True),
            _c("start_date", "date", required=True),
            _c("next_start_date", "date"),
        ),
    )
)

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_table(
    TableSpec(
        name="business_hours",
        sf_object="BusinessHours",
        key="business_hours_id",
        file_stems=("BusinessHours", "business_hours"),
        created_column=None,
        columns=(
            _c("business_hours_id", "id", "Id", required=True),
            _c("name"),
            _c("is_default", "bool"),
            _c("is_active", "bool"),
            _c("time_zone_sid_key"),
            # Salesforce times as exported ("09:00:00.000Z"); both empty: closed that day
            *(_c(f"{day}_{edge}_time") for day in _DAYS for edge in ("start", "end")),
            _c("created_date", "datetime"),
            _c("last_modified_date", "datetime"),
            _c("system_modstamp", "datetime"),
        ),
    )
)

_table(
    TableSpec(
        name="holidays",
        sf_object="Holiday",
        key="holiday_id",
        file_stems=("Holiday", "Holidays", "holidays"),
        created_column=None,
        columns=(
            _c("holiday_id", "id", "Id", required=True),
            _c("name"),
            _c("description"),
            _c("activity_date", "date"),
            _c("is_all_day", "bool"),
            _c("start_time_in_minutes", "int"),  # minutes after midnight when not all day
            _c("end_time_in_minutes", "int"),
            _c("is_recurrence", "bool"),
            _c("recurrence_type", "picklist"),  # RecursYearly, RecursYearlyNth, RecursMonthly, ...
            _c("recurrence_interval", "int"),
            _c("recurrence_day_of_week_mask", "int"),
            _c("recurrence_day_of_month", "int"),
            _c("recurrence_instance", "picklist"),
            _c("recurrence_month_of_year", "picklist"),
            _c("recurrence_start_date", "date"),
            _c("recurrence_end_date_only", "date"),
            _c("created_date", "datetime"),
            _c("last_modified_date", "datetime"),
            _c("system_modstamp", "datetime"),
        ),
    )
)

#: Money columns per table: converted to the corporate currency at load (the original stays in
#: ``<column>_original``). Salesforce applies dated rates (advanced currency management) to
#: opportunities and their history by close date, and the static rate everywhere else.
MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "leads": ("annual_revenue",),
    "opportunities": ("amount", "expected_revenue"),
    "opportunity_history": ("amount", "expected_revenue"),
    "accounts": ("annual_revenue",),
    "campaigns": ("budgeted_cost", "actual_cost", "expected_revenue"),
}
#: Tables whose money converts at the dated rate of the row's close date.
DATED_RATE_TABLES: tuple[str, ...] = ("opportunities", "opportunity_history")


@dataclass(frozen=True)
class FileTable(Unpackable):
    """The table a file holds (unpacks as ``table, activity_kind``).

    Attributes
    ----------
    table : str
        The canonical table.
    activity_kind : str or None
        ``"task"`` or ``"event"`` for the activities files, else None.
    """

    table: str
    activity_kind: str | None


def table_for_file(stem: str) -> FileTable | None:
    """Which table a file stem holds, and the activity kind for Task/Event files.

    Parameters
    ----------
    stem : str
        A file name without its extension (``"Opportunity"``, ``"leads"``), or
        a Salesforce object name; matched exactly against each table's
        ``file_stems`` and ``extra_file_stems``.

    Returns
    -------
    FileTable or None
        ``(table, activity_kind)``: the canonical table, and ``"task"`` or
        ``"event"`` for activities files (None otherwise); None when no table
        is read from such a file.

    Examples
    --------
    >>> table_for_file("Event")
    FileTable(table='activities', activity_kind='event')
    >>> table_for_file("Case") is None
    True
    """
    for spec in TABLES.values():
        if stem in spec.file_stems:
            kind = "task" if spec.name == "activities" else None
            return FileTable(spec.name, kind)
        if stem in spec.extra_file_stems:
            return FileTable(spec.name, "event")
    return None
