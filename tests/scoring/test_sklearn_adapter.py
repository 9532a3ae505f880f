"""The contract scoring relies on from scikit-learn's private sigmoid calibration (``scoring/_sklearn.py``).

``LeadScorer`` calibrates with Platt's sigmoid through ``fit_sigmoid``; scikit-learn has no public
name for it (``sklearn.calibration._SigmoidCalibration``). If a release moves or changes it, these
tests say what broke: the import, the fitted attributes, the formula of ``predict``, or Platt's fit
(maximum likelihood on his smoothed targets), each checked here against an independent computation.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from funnel_analysis.scoring._sklearn import fit_sigmoid

SCORES = np.array([-2.0, -1.5, -1.0, -0.5, 0.0, 0.3, 0.8, 1.2, 1.9, 2.5])
Y = np.array([0, 0, 1, 0, 0, 1, 0, 1, 1, 1])


def _platt_by_hand(s, y):
    """Platt (1999): minimise the log-loss of 1 / (1 + exp(a s + b)) against the targets
    (N+ + 1) / (N+ + 2) for positives and 1 / (N- + 2) for negatives."""
    n_pos, n_neg = y.sum(), (1 - y).sum()
    t = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def loss(ab):
        z = ab[0] * s + ab[1]
        # -[t log p + (1 - t) log(1 - p)] with p = 1 / (1 + e^z), written stably
        return np.sum(t * np.logaddexp(0, z) + (1 - t) * np.logaddexp(0, -z))

    return minimize(loss, x0=[0.0, np.log((n_neg + 1) / (n_pos + 1))], method="BFGS", tol=1e-12).x


def test_fit_gives_platts_maximum_likelihood_slope_and_intercept():
    m = fit_sigmoid(SCORES, Y)
    a, b = _platt_by_hand(SCORES, Y)
    assert (m.a_, m.b_) == pytest.approx((a, b), abs=1e-4)
    assert m.a_ < 0  # higher scores, higher probability: the slope on -(a s + b) is negative


def test_predict_is_the_sigmoid_of_the_fitted_line():
    m = fit_sigmoid(SCORES, Y)
    s = np.linspace(-4, 4, 9)
    np.testing.assert_allclose(m.predict(s), 1 / (1 + np.exp(m.a_ * s + m.b_)), rtol=1e-12)
    p = m.predict(s)
    assert np.all(np.diff(p) > 0) and np.all((p > 0) & (p < 1))


def test_inputs_may_be_lists_and_a_column_vector_is_flattened():
    m = fit_sigmoid(SCORES.tolist(), Y.tolist())
    assert m.predict(SCORES[:, None]).shape == (len(SCORES),)


def test_outcomes_of_unequal_length_are_refused():
    with pytest.raises(ValueError):
        fit_sigmoid(SCORES, Y[:-1])


def test_the_fitted_object_is_scikit_learns_own_type():
    """Registry artifacts hold this type: the allow-list admits it as ``sklearn.*``."""
    m = fit_sigmoid(SCORES, Y)
    assert type(m).__module__ == "sklearn.calibration" and type(m).__name__ == "_SigmoidCalibration"
