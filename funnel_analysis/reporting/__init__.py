"""Reporting: the papermill runner, the report config and schedules, publishing, HTML and the front page.

- :mod:`.config`: which notebooks run with which parameters (``reports.yaml`` is the packaged one);
- :mod:`.schedule`: when a report is due, relative parameters;
- :mod:`.runner`: :func:`run_reports` and :func:`run_due`;
- :mod:`.publish`: locks, staging, atomic publishing, pruning, secrets scrubbed;
- :mod:`.html`: an executed notebook as one code-free, sanitised page;
- :mod:`.index`: ``index.html``, every report and its runs;
- :mod:`.notebook`: what the report notebooks share (:func:`open_report`, formatting, :func:`record`).

Examples
--------
>>> from funnel_analysis.reporting import load_report_config
>>> sorted(spec.name for spec in load_report_config())[:3]
['custom', 'data_quality', 'duplicates']
"""

from .config import (
    SECRET_NAME,
    ReportConfigError,
    ReportSpec,
    check_parameters,
    load_report_config,
    plan_reports,
)
from .dashboard import headline_cards, render_cards
from .format import column_label, figure_kind, format_figure, format_interval, headline_table
from .html import clean_html, notebook_to_html
from .index import render_index, write_index
from .notebook import RECORD_MIME, notebook_setup, open_report, read_records, record, show_table, styled
from .publish import (
    ReportBusy,
    atomic_write_text,
    prune_caches,
    prune_runs,
    publish_run,
    published_runs,
    report_lock,
    scrub_secrets,
    scrub_text,
    secret_values,
    staging_dir,
    use_cache,
)
from .runner import ReportRun, RunResult, run_due, run_reports
from .schedule import (
    RELATIVE_TOKENS,
    Due,
    due_reports,
    last_success,
    latest_slot,
    resolve_relative,
    run_end,
    slot_key,
)

__all__ = [
    "ReportRun",
    "RunResult",
    "run_reports",
    "run_due",
    "ReportConfigError",
    "ReportSpec",
    "SECRET_NAME",
    "load_report_config",
    "check_parameters",
    "plan_reports",
    "RELATIVE_TOKENS",
    "resolve_relative",
    "latest_slot",
    "slot_key",
    "last_success",
    "run_end",
    "Due",
    "due_reports",
    "ReportBusy",
    "report_lock",
    "staging_dir",
    "publish_run",
    "scrub_secrets",
    "scrub_text",
    "secret_values",
    "prune_runs",
    "atomic_write_text",
    "published_runs",
    "use_cache",
    "prune_caches",
    "notebook_to_html",
    "clean_html",
    "write_index",
    "render_index",
    "RECORD_MIME",
    "open_report",
    "notebook_setup",
    "styled",
    "record",
    "read_records",
    "show_table",
    "figure_kind",
    "format_figure",
    "format_interval",
    "column_label",
    "headline_table",
    "headline_cards",
    "render_cards",
]
