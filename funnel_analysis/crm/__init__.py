"""The data model in one place: the canonical schema, reading, typing, cleaning, validation,
mappings, loading, the live Salesforce reader, and :class:`CrmData` with its as-of cut.

The steps of :func:`load_org`, in order:

- :mod:`.schema`: the tables, their columns and types, and their Salesforce API names;
- :mod:`.read`: export files (CSV, Parquet) into raw string frames, :class:`DataLoadError`;
- :mod:`.mapping`: declarative mapping files for other CRMs (``mappings/*.yaml``) and the
  default stages (``stages.yaml``);
- :mod:`.parse` (with :mod:`.ids`): text typed by kind, 15-character IDs widened;
- :mod:`.clean`: picklists, e-mails, phones and company names normalised;
- :mod:`.validate`: the rules (pandera), each an error (quarantine) or a warning (flag);
- :mod:`.load`: the steps above, for a folder (:func:`load_org`) or frames (:func:`load_frames`);
- :mod:`.model`: :class:`CrmData`, its data-quality report, ``as_of`` and the report date;
- :mod:`.salesforce`: a live org through the REST and Bulk 2.0 APIs;
- :mod:`.warehouse`: an org where Fivetran or Airbyte synced it (Postgres, DuckDB): source profiles,
  column names, deleted rows counted in the database, credentials from the environment;
- :mod:`.expression`: the safe expression grammar of every ``where`` filter and rule;
- :mod:`.field_history`: LeadHistory / OpportunityFieldHistory: values as of a day, close-date pushes,
  amount changes, time in a queue, and how far back each history reaches;
- :mod:`.sections`: what the report sections ask of the org (stage and lead status order, owners with
  their names, undated deals, added counts, the notes on what the reports assume);
- :mod:`.plots`: the data-quality report's chart.

The package namespace holds what a user of the data model needs; each step's own functions
(``parse_date``, ``phone_e164``, ``validate_table``, ...) are imported from their module.

Examples
--------
>>> from funnel_analysis.crm import TABLES, to_18
>>> TABLES["opportunities"].sf_object
'Opportunity'
>>> to_18("001bm00001ZL8U9")
'001bm00001ZL8U9AAL'
"""

from .expression import (
    ExpressionError,
    SqlFilter,
    check_expression,
    expression_mask,
    owner_records,
    parse_expression,
    to_duckdb_expression,
    to_sql,
)
from .field_history import (
    HISTORY_TABLES,
    SLIP_HISTORY,
    amount_changes,
    close_date_pushes,
    field_as_of,
    field_changes,
    history_coverage,
    history_note,
    queue_time,
    slip_history,
)
from .ids import to_18
from .load import load_frames, load_org
from .mapping import Join, Mapping, TableMapping, builtin_mappings, load_mapping
from .model import (
    HISTORY_FIELDS,
    MAX_CUTS,
    CrmData,
    DataQualityReport,
    ExtractTime,
    cut_as_of,
    extract_time,
    latest_date,
    resolve_as_of,
)
from .read import DataLoadError
from .salesforce import SalesforceConfigError, load_salesforce, read_salesforce, write_export
from .schema import TABLES, Column, Reference, TableSpec
from .sections import DEFAULT_LEAD_STATUSES, lead_status_order, org_notes, owners
from .validate import rule_examples
from .warehouse import PROFILES, SourceProfile, fivetran_name, read_warehouse, warehouse_fingerprint

__all__ = [
    # loading
    "load_org",
    "load_frames",
    "load_mapping",
    "builtin_mappings",
    "Mapping",
    "TableMapping",
    "Join",
    "DataLoadError",
    # the org
    "CrmData",
    "DataQualityReport",
    "HISTORY_FIELDS",
    "MAX_CUTS",
    "cut_as_of",
    "extract_time",
    "ExtractTime",
    "latest_date",
    "resolve_as_of",
    # the schema
    "TABLES",
    "TableSpec",
    "Column",
    "Reference",
    "to_18",
    # field history
    "HISTORY_TABLES",
    "field_changes",
    "field_as_of",
    "close_date_pushes",
    "amount_changes",
    "queue_time",
    "history_coverage",
    "history_note",
    "slip_history",
    "SLIP_HISTORY",
    # statuses, owners and what the reports assume
    "DEFAULT_LEAD_STATUSES",
    "lead_status_order",
    "owners",
    "owner_records",
    "org_notes",
    "rule_examples",
    # the safe expression grammar of where filters and rules
    "parse_expression",
    "check_expression",
    "expression_mask",
    "to_duckdb_expression",
    "to_sql",
    "SqlFilter",
    "ExpressionError",
    # a live org
    "read_salesforce",
    "load_salesforce",
    "write_export",
    "SalesforceConfigError",
    # a synced warehouse (Fivetran, Airbyte)
    "read_warehouse",
    "warehouse_fingerprint",
    "PROFILES",
    "SourceProfile",
    "fivetran_name",
]
