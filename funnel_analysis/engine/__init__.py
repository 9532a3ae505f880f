"""Engines: the org's reductions run in SQL, DuckDB by default, Spark by transpiling (#19).

One SQL dialect, DuckDB's, run as written on DuckDB and transpiled with sqlglot
(``read="duckdb"``) for another engine. The pandas code paths stay the reference; an
engine is used when an org carries one (:func:`funnel_analysis.crm.load.load_org` with
``engine="duckdb"``).

- :mod:`.base`: :class:`Engine` (register, sql, materialise, exists, close) and :func:`connect`;
- :mod:`.duckdb`: :class:`~.duckdb.DuckDBEngine`, memory bounded (``memory_limit``, spilling);
- :mod:`.org`: :class:`EngineOrg`, an org's canonical tables as relations in an engine;
- the reductions: :mod:`.asof` (the as-of state on several days in one query), :mod:`.kpis`
  (the headline counts, the day's leads, the deals open on several days), :mod:`.durations`
  (Kaplan-Meier life tables of stage visits), :mod:`.velocity` (the day's deals, stalled deals'
  inputs, stage entries), :mod:`.pipeline` (the open deals, their activities, the open tasks),
  :mod:`.waterfall` (the pipeline waterfall of two cuts), :mod:`.activities` (activity
  aggregates per deal, and the closed deals per activity count), :mod:`.matrix` (the source
  matrix's counts per lead segment), :mod:`.funnel` (the lead funnel's counts per status, the snapshot
  funnel's sums per stage, the cohort funnel's per step, the day's stage history), :mod:`.winrates`
  (win rates by segment and fiscal period), :mod:`.features` (the day's leads in file order and their
  engagement at their scoring moment: lead scoring's table),
  :mod:`.validate` (``funnel check`` as SQL over the export's files), :mod:`.frames` (what comes back
  typed as the pandas loader types it);
- :mod:`.field_history`: leads' status and owner, deals' owner and close-date pushes, as of days;
- :mod:`.scope`: a ``where`` applied in the engine, by :mod:`funnel_analysis.crm.scope`'s rules;
- :mod:`.attach`: an engine org attached to a pandas org, so the report entry points use it.

Examples
--------
>>> from funnel_analysis.engine import connect
>>> with connect("duckdb", threads=1) as eng:
...     eng.sql("SELECT 2 * $x AS y", {"x": 21}).to_pydict()
{'y': [42]}
"""

from .base import ENGINES, Engine, EngineError, connect
from .org import EngineOrg

__all__ = ["ENGINES", "Engine", "EngineError", "EngineOrg", "connect"]
