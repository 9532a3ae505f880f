"""Synthetic Salesforce-style sample org, with its ground truth.

``generate_sample`` writes one CSV per Salesforce object (``Lead.csv``,
``Opportunity.csv``, ``OpportunityHistory.csv``, ...) exactly as a Data Loader
export would look (API field names as headers, every text field quoted,
``2024-01-19T09:42:24.000+0000`` timestamps, ``true``/``false`` booleans,
18-character IDs), plus a *truth* folder that says what the analyses and the
cleaning pipeline ought to find:

- ``dirty_rows.csv``: every injected defect (file, 0-based data row, column,
  kind, and whether an error rule must quarantine the row, a warning must flag
  it, or the cleaner must silently fix it);
- ``duplicate_clusters.csv``: the injected duplicate leads/contacts/accounts;
- ``source_rates.csv``: the true lead->opportunity conversion and win rate of
  every lead source, and how many leads of each were generated;
- ``truth.json``: the arguments, row counts and every generation parameter.

The sample is a real org's "export all": the options ``deleted``, ``merged``,
``currencies`` and ``modstamps`` are on by default (GENERATOR_VERSION 1.1).
Each can be turned off (``funnel sample --no-deleted`` ...); with all four off
the export is byte-identical to the generator before them (1.0), truth.json
differing only by its ``version``. With them, the truth also holds:

- ``deleted_records.csv``: every extra ``IsDeleted = true`` row (file, row,
  record_id, kind: deleted | child_of_deleted | merged, master_id, parent_id);
- ``merged_pairs.csv``: every merged-away lead, contact and account, its final
  survivor (chains resolved) and how many kept rows still reference it, those
  rows being in ``repointed_references.csv``;
- ``bookings_corporate.csv`` (won deals and bookings in USD per close quarter)
  and ``open_pipeline.csv`` (open deals and pipeline in USD at the end of a few
  days), computed from the simulation, not from the files.

The org shapes of issue 16 are options too, on by default since GENERATOR_VERSION 1.2
(``ORG_SHAPES_DEFAULT``; :data:`SAMPLE_OPTIONS` lists every option and its default):
``field_history`` (``LeadHistory.csv``, ``OpportunityFieldHistory.csv`` with a real org's gaps),
``lead_statuses`` (``LeadStatus.csv``), ``queues`` (``Group.csv``, ``GroupMember.csv``),
``contact_roles`` (``OpportunityContactRole.csv``), ``custom_fields`` (``__c`` fields and
``Lead.describe.json`` / ``Opportunity.describe.json``) and ``joined_source`` (``<out>/joined_source/``);
their truth: ``lead_status_on_dates.csv``, ``close_date_pushes.csv``, ``queue_time.csv``,
``joined_converted_leads.csv`` and truth.json ``org_shapes`` (:mod:`.shapes`, :mod:`.history`,
:mod:`.joined`). With them off the export is byte for byte the one before them.

The routing of issue 20 is an org shape too (``routing``, on by default since GENERATOR_VERSION 1.3;
:mod:`.routing`): lead owners from assignment rules the generator evaluates by its own code (teams,
company-size, industry, queue and country entries, round robin skipping a mid-period joiner, misroutes,
reassignments), first touches in business hours (Task ``CreatedById``/``TaskSubtype``/
``CompletedDateTime``, Event ``StartDateTime``, User ``TimeZoneSidKey``, ``BusinessHours.csv``,
``Holiday.csv``), a conversion that depends on the score and on speed, and the stage criteria's fields
(Opportunity ``NextStep``, NextStep and ``Budget_Confirmed__c`` in the field history); their truth:
``routing_rules.yaml`` (also ``data/examples/routing_rules.yaml`` for the default sample),
``routing_truth.json``, ``routing_leads.csv`` and ``stage_gate_truth.csv``. With it off the export is
byte for byte 1.2's.

Design choices worth knowing when using the data
-------------------------------------------------
- Removing the rows whose truth says ``quarantine`` and the ``IsDeleted``
  rows (``deleted_records.csv``) gives back *exactly* the simulated org: every quarantine defect is an extra row (a copy of a real
  record with the defect, a fresh or a repeated Id), never a damaged real
  record, so quarantining never cascades into orphans elsewhere.
- ``flag`` rows are real records, kept, and consistent with the rest: a deal
  with no Amount has no Amount in its history either; a lead whose
  ConvertedDate precedes its CreatedDate was re-created after conversion (its
  opportunity still starts on the ConvertedDate).
- ``clean`` rows only differ by form (case/whitespace of a picklist, a
  15-character ID, an e-mail's case, a phone's national format); the truth
  holds the value the cleaner should produce (``clean_value``).
- Deleted and merged rows are extra rows too, never records of the org:
  removing every ``IsDeleted = true`` row gives back the same org (same Ids,
  same fields, same defects). A deleted deal takes copies of its history rows,
  tasks and events with it (kind ``child_of_deleted``), a deleted lead its
  campaign memberships and tasks, a deleted account one contact; no kept row
  points at a deleted record. The extra rows take unused Ids between their
  neighbours', so a file stays in Id order and the org's Ids do not move.
- Merged rows are near-duplicates of a real lead, contact or account (the
  variations of the duplicate clusters, plus a phone in national format),
  deleted, with ``MasterRecordId`` the record they were merged into; they
  are in ``merged_pairs.csv``, not in ``duplicate_clusters.csv`` (which lists
  the duplicates still in the org, for a deduplicator to find); each
  object has one chain (A into B, then B into C). Some kept tasks, events,
  campaign members, opportunities and contacts still hold a merged-away Id: a
  loader must re-point them to the final survivor.
- Currencies: the corporate currency is USD; accounts, contacts and leads of
  Germany, France and the Netherlands are in EUR, of the United Kingdom in GBP;
  a deal and its history rows carry its account's currency, campaigns USD.
  ``DatedConversionRate.csv`` changes monthly (and a few times mid-month,
  inside a quarter), from three years before the window; its first period
  starts on ``0001-01-01`` and its last ends on ``9999-12-31``;
  ``CurrencyType.csv`` holds the rate in effect at the extract. Rates are units
  per USD (USD = amount / rate). A deal is priced once, at the dated rate of its
  creation day (rounded to cents), and keeps its local amounts when its close
  date moves, so its USD value moves with the dated rate of its close date
  alone; when no won or no open deal happens to be pushed across a rate
  change, a mid-month correction is added where one is. AnnualRevenue is
  converted at the static rate.
- ``LastModifiedDate`` and ``SystemModstamp`` are the record's last change (a
  deal: its last history row; a lead: its conversion or disqualification; an
  account: becoming a customer; a deleted or merged row: its deletion), never
  after ``extract_time`` in truth.json, the latest timestamp of the org's rows.
  OpportunityHistory has ``SystemModstamp`` only, User and OpportunityStage no
  ``IsDeleted``, as in Salesforce.
- Conversion is honest: a lead converts with probability
  ``rate[source] * m / mean(m)`` where ``m`` is a mild multiplier from its
  title seniority, company size and industry (so lead scoring has signal),
  normalised within each (source, maturity) group so the mean probability is
  exactly the true rate. Conversion happens at most 85 days after creation,
  so leads created before ``window_end - 90 days`` ("mature") have had their
  full chance. Duplicate leads are never converted and are excluded from the
  counts in ``source_rates.csv``.

Package layout
--------------
:func:`generate_sample` (:mod:`.generate`) runs the stages in order on one
simulation state, then writes the export and the truth:

- :mod:`.model`: the business model (sources, stages, deal paths, volumes);
- :mod:`.vocab`: countries, company-name parts, people's names, subjects;
- :mod:`.arrowtext`: Arrow string helpers, dates, timestamps, Salesforce IDs;
- :mod:`.pools`: the name pools, built once from the vocabulary;
- :mod:`.sim`: the simulation state and its shared draws (IDs, times, names);
- the stages: :mod:`.people` (users, leads, contacts), :mod:`.companies`
  (companies, accounts), :mod:`.activity` (campaigns, members, tasks,
  events), :mod:`.pipeline` (opportunities and their history),
  :mod:`.duplicates`;
- :mod:`.export`: the export files' columns, in file order;
- :mod:`.dirty`: the injected defects; :mod:`.truth`: the truth folder;
- the options: :mod:`.lifecycle` (which records are deleted or merged, and
  which kept references point at merged ones), :mod:`.currency` (the rates),
  :mod:`.extras` (their columns and rows in each export file);
- the org shapes: :mod:`.shapes` (statuses, queues, roles, custom fields, the
  lead timelines), :mod:`.history` (field history and its truth), :mod:`.joined`
  (the joined source), :mod:`.shape_output` (their files and truth), :mod:`.routing`
  (rules, owners, touches, stage criteria and their truth).

Examples
--------
>>> import tempfile, pathlib
>>> from funnel_analysis.synth import SAMPLE_OPTIONS, generate_sample
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> summary = generate_sample(tmp / "sample", scale=0.02, seed=7)
>>> summary["rows"]["Lead.csv"] >= 400
True
>>> names = {p.name for p in (tmp / "sample_truth").iterdir()}
>>> sorted(names & {'bookings_corporate.csv', 'deleted_records.csv', 'merged_pairs.csv', 'truth.json'})
['bookings_corporate.csv', 'deleted_records.csv', 'merged_pairs.csv', 'truth.json']

With every option off, the truth folder of the generator before them:

>>> off = dict.fromkeys(SAMPLE_OPTIONS, False)
>>> _ = generate_sample(tmp / "plain", scale=0.02, seed=7, **off)
>>> sorted(p.name for p in (tmp / "plain_truth").iterdir())
['dirty_rows.csv', 'duplicate_clusters.csv', 'lead_probabilities.csv', 'source_rates.csv', 'truth.json']
"""

from .generate import generate_sample
from .model import (
    CURRENCY_FILES,
    GENERATOR_VERSION,
    ORG_SHAPES,
    ORG_SHAPES_DEFAULT,
    SAMPLE_FILES,
    SAMPLE_OPTIONS,
    SHAPE_FILES,
)

__all__ = [
    "generate_sample",
    "SAMPLE_FILES",
    "CURRENCY_FILES",
    "SHAPE_FILES",
    "SAMPLE_OPTIONS",
    "ORG_SHAPES",
    "ORG_SHAPES_DEFAULT",
    "GENERATOR_VERSION",
]
