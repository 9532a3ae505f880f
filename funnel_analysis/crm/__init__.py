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
- :mod:`.plots`: the data-quality report's chart.

Examples
--------
>>> from funnel_analysis.crm import TABLES, to_18
>>> TABLES["opportunities"].sf_object
'Opportunity'
>>> to_18("001bm00001ZL8U9")
'001bm00001ZL8U9AAL'
"""

from .clean import EMAIL_PATTERN, LEGAL_SUFFIXES, company_key, fold_picklist, normalize_email, phone_e164
from .ids import is_salesforce_id_15, to_18, widen_ids
from .load import load_frames, load_org
from .mapping import Mapping, TableMapping, builtin_mappings, default_stages, load_mapping
from .model import HISTORY_FIELDS, CrmData, DataQualityReport, latest_date, resolve_as_of
from .parse import DATETIME_FORMATS, parse_bool, parse_column, parse_date, parse_datetime, parse_number
from .read import DataLoadError, canonical_columns, find_export_files, read_csv_text, read_table_file
from .salesforce import (
    DEFAULT_OBJECTS,
    SalesforceConfigError,
    SalesforceFrames,
    load_salesforce,
    read_salesforce,
    salesforce_client,
    write_export,
)
from .schema import KINDS, TABLES, Column, Reference, TableSpec, snake_case, table_for_file
from .validate import ERROR, ISSUE_COLUMNS, RULE_COLUMNS, WARNING, table_schema, validate_table

__all__ = [
    "Column",
    "Reference",
    "TableSpec",
    "TABLES",
    "KINDS",
    "snake_case",
    "table_for_file",
    "to_18",
    "widen_ids",
    "is_salesforce_id_15",
    "DATETIME_FORMATS",
    "parse_datetime",
    "parse_date",
    "parse_bool",
    "parse_number",
    "parse_column",
    "fold_picklist",
    "normalize_email",
    "EMAIL_PATTERN",
    "phone_e164",
    "company_key",
    "LEGAL_SUFFIXES",
    "ERROR",
    "WARNING",
    "ISSUE_COLUMNS",
    "table_schema",
    "validate_table",
    "RULE_COLUMNS",
    "TableMapping",
    "Mapping",
    "load_mapping",
    "builtin_mappings",
    "default_stages",
    "DataLoadError",
    "read_csv_text",
    "read_table_file",
    "find_export_files",
    "canonical_columns",
    "load_org",
    "load_frames",
    "CrmData",
    "DataQualityReport",
    "HISTORY_FIELDS",
    "latest_date",
    "resolve_as_of",
    "DEFAULT_OBJECTS",
    "SalesforceConfigError",
    "SalesforceFrames",
    "salesforce_client",
    "read_salesforce",
    "write_export",
    "load_salesforce",
]
