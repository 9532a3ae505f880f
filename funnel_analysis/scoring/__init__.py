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

import sys as _sys
from types import ModuleType as _ModuleType

# the names are imported from their modules when first used (PEP 562): a report that only needs
# neutralise_formulas (reporting.notebook.csv_link, every long table) does not import scikit-learn and scipy.stats
_EXPORTS = {
    "Evaluation": "evaluate",
    "FeatureColumns": "model",
    "LeadScorer": "model",
    "RegisteredModel": "registry",
    "Registry": "registry",
    "RegistryError": "registry",
    "ScoringDataError": "features",
    "TrainingResult": "workflow",
    "band_table": "evaluate",
    "calibration_table": "evaluate",
    "compare_scores": "evaluate",
    "drift_report": "workflow",
    "drift_table": "drift",
    "evaluate": "evaluate",
    "expected_calibration_error": "evaluate",
    "gain_table": "evaluate",
    "held_out_predictions": "workflow",
    "lead_features": "features",
    "leakage_report": "leakage",
    "load_or_train": "workflow",
    "load_points_config": "points",
    "neutralise_formulas": "export",
    "points_score": "points",
    "probability_to_score": "model",
    "psi": "drift",
    "rule_excluded": "leakage",
    "score_leads": "workflow",
    "scoring_moments": "features",
    "split_columns": "model",
    "top_leads": "workflow",
    "train": "workflow",
    "training_table": "features",
    "write_scores": "export",
}

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


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))


class _Package(_ModuleType):
    """This package, whose exported names stay the functions they name: importing the submodule
    :mod:`.evaluate` binds its name in the package, and ``scoring.evaluate`` is the function, as it was
    when the package imported everything at once."""

    def __setattr__(self, name, value):
        if isinstance(value, _ModuleType) and _EXPORTS.get(name) == name and value.__name__ == f"{__name__}.{name}":
            value = getattr(value, name)
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
