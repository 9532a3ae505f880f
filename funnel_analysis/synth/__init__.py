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

Design choices worth knowing when using the data
-------------------------------------------------
- Removing the rows whose truth says ``quarantine`` gives back *exactly* the
  simulated org: every quarantine defect is an extra row (a copy of a real
  record with the defect, a fresh or a repeated Id), never a damaged real
  record, so quarantining never cascades into orphans elsewhere.
- ``flag`` rows are real records, kept, and consistent with the rest: a deal
  with no Amount has no Amount in its history either; a lead whose
  ConvertedDate precedes its CreatedDate was re-created after conversion (its
  opportunity still starts on the ConvertedDate).
- ``clean`` rows only differ by form (case/whitespace of a picklist, a
  15-character ID, an e-mail's case, a phone's national format); the truth
  holds the value the cleaner should produce (``clean_value``).
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
- :mod:`.dirty`: the injected defects; :mod:`.truth`: the truth folder.

Examples
--------
>>> import tempfile, pathlib
>>> from funnel_analysis.synth import generate_sample
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> summary = generate_sample(tmp / "sample", scale=0.02, seed=7)
>>> summary["rows"]["Lead.csv"] >= 400
True
>>> sorted(p.name for p in (tmp / "sample_truth").iterdir())
['dirty_rows.csv', 'duplicate_clusters.csv', 'lead_probabilities.csv', 'source_rates.csv', 'truth.json']
"""

from .generate import generate_sample
from .model import CURRENCY_FILES, GENERATOR_VERSION, SAMPLE_FILES

__all__ = ["generate_sample", "SAMPLE_FILES", "CURRENCY_FILES", "GENERATOR_VERSION"]
