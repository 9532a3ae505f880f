"""The one place scoring reaches into scikit-learn's private API.

scikit-learn has no public Platt (sigmoid) calibration map for scores that are already computed:
``CalibratedClassifierCV(method="sigmoid")`` fits one internally, as
``sklearn.calibration._SigmoidCalibration``, and :class:`~funnel_analysis.scoring.model.LeadScorer`
needs that same map on its own calibration leads (held out by time, or cross-fitted). This module
names it once, so a scikit-learn release that moves or changes it breaks one import and the contract
test ``tests/scoring/test_sklearn_adapter.py`` (which pins the behaviour relied on: Platt's fit with
his smoothed targets, ``predict`` = ``1 / (1 + exp(a * s + b))``, attributes ``a_`` and ``b_``), not
the model. ``pyproject.toml`` caps scikit-learn below its next minor version for the same reason.

The fitted object is scikit-learn's own, so model artifacts in the registry keep the type they had.
"""

from __future__ import annotations

import numpy as np
from sklearn.calibration import _SigmoidCalibration

__all__ = ["fit_sigmoid"]


def fit_sigmoid(scores, y):
    """Platt's sigmoid map from raw scores to probabilities, fitted on ``scores`` and 0/1 outcomes ``y``.

    Parameters
    ----------
    scores : array-like of shape (n,)
        Raw scores (log-odds of a base model).
    y : array-like of shape (n,)
        0/1 outcomes.

    Returns
    -------
    sklearn.calibration._SigmoidCalibration
        Fitted: ``a_`` and ``b_``; ``predict(scores)`` gives ``1 / (1 + exp(a_ * scores + b_))``.
    """
    return _SigmoidCalibration().fit(np.asarray(scores, dtype=float), np.asarray(y))
