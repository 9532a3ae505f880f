"""Lead scoring: honest, calibrated, explained and versioned.

- :mod:`.features`: lead features at the scoring moment (time-cut), the labelled training table.
- :mod:`.leakage`: fields excluded by rule, fields flagged by measurement.
- :mod:`.model`: :class:`LeadScorer`, a calibrated scikit-learn pipeline with per-lead reasons.
- :mod:`.points`: the rule-based points score (YAML), the baseline.
- :mod:`.evaluate`: ROC/PR-AUC with intervals, Brier, ECE, calibration curve, lift, score bands.
- :mod:`.workflow`: :func:`train` (split by time, evaluate, compare), :func:`score_leads`, :func:`top_leads`.
- :mod:`.report`: the lead-scoring notebook's entry points (``report.load_or_train``, ``report.open_leads``).
- :mod:`.registry`: versions on disk (skops), integrity checks, promotion and rollback.
- :mod:`.drift`: population stability index of features and score.
- :mod:`.export`: CSV/Parquet with spreadsheet formulas neutralised.
- :mod:`.plots`: the charts of the lead-scoring notebook.

Examples
--------
>>> from funnel_analysis.scoring import probability_to_score
>>> probability_to_score([0.42]).tolist()
[42]
"""

from .drift import drift_table, psi
from .evaluate import (
    Evaluation,
    band_table,
    calibration_table,
    compare_scores,
    evaluate,
    expected_calibration_error,
    gain_table,
)
from .export import neutralise_formulas, write_scores
from .features import ScoringDataError, lead_features, scoring_moments, training_table
from .leakage import leakage_report, rule_excluded
from .model import FeatureColumns, LeadScorer, probability_to_score, split_columns
from .points import load_points_config, points_score
from .registry import RegisteredModel, Registry, RegistryError
from .workflow import (
    TrainingResult,
    drift_report,
    held_out_predictions,
    load_or_train,
    score_leads,
    top_leads,
    train,
)

__all__ = [
    "Evaluation",
    "FeatureColumns",
    "LeadScorer",
    "RegisteredModel",
    "Registry",
    "RegistryError",
    "ScoringDataError",
    "TrainingResult",
    "band_table",
    "calibration_table",
    "compare_scores",
    "drift_report",
    "drift_table",
    "evaluate",
    "expected_calibration_error",
    "gain_table",
    "held_out_predictions",
    "lead_features",
    "leakage_report",
    "load_or_train",
    "load_points_config",
    "neutralise_formulas",
    "points_score",
    "probability_to_score",
    "psi",
    "rule_excluded",
    "score_leads",
    "scoring_moments",
    "split_columns",
    "top_leads",
    "train",
    "training_table",
    "write_scores",
]
