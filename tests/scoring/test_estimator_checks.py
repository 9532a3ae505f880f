"""scikit-learn's estimator checks on the scoring estimators, the ones that apply.

:class:`~funnel_analysis.scoring.encode.CategoryCoder` runs every check scikit-learn generates for
a transformer (``parametrize_with_checks``): it takes arrays as well as DataFrames, and none is an
expected failure (``check_array_api_input`` skips itself unless ``SCIPY_ARRAY_API`` is set).

:class:`~funnel_analysis.scoring.model.LeadScorer` runs a named subset. It is a binary classifier of
leads that takes a DataFrame with named columns (text columns are categories, a model picks its
features by name from a wide lead table), so the checks that feed it data run on ``_OnArrays``, a
test-only subclass that names the generated array's columns ``x0, x1, ...`` and changes nothing
else. The checks left out, and why they do not apply:

- ``check_classifiers_train``: it expects an error when ``predict`` gets more columns than ``fit``;
  a LeadScorer takes the columns it was trained on by name and ignores the others by design (a
  scored lead table carries every lead field);
- ``check_classifiers_classes``, ``check_classifiers_regression_target``, ``check_classifiers_one_label``,
  ``check_classifier_multioutput``, ``check_supervised_y_2d``: labels other than one 0/1 outcome per
  lead (strings, several classes, continuous, a column vector) are refused with our own message;
- ``check_fit2d_predict1d``, ``check_fit1d``, ``check_fit2d_1sample``, ``check_fit2d_1feature``,
  ``check_estimators_empty_data_messages``, ``check_complex_data``, ``check_dtype_object``, the sparse,
  memmap, array-API and ``*_data_not_an_array`` checks: they pass arrays, not a DataFrame of lead
  fields, and expect scikit-learn's own error wording;
- ``check_estimators_nan_inf``: missing values are legitimate (a gbm branch, imputed for logistic);
- ``check_sample_weight*``, ``check_class_weight*``: LeadScorer takes no sample or class weights.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.utils import estimator_checks as ec
from sklearn.utils.estimator_checks import parametrize_with_checks

from funnel_analysis.scoring import LeadScorer
from funnel_analysis.scoring.encode import CategoryCoder


@parametrize_with_checks([CategoryCoder(), CategoryCoder(max_categories=2)])
def test_category_coder_passes_scikit_learns_checks(estimator, check):
    check(estimator)


def _frame(X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    a = np.asarray(X)
    return pd.DataFrame(a, columns=[f"x{i}" for i in range(a.shape[1])])


class _OnArrays(LeadScorer):
    """A LeadScorer fed scikit-learn's generated arrays: their columns become named numeric features."""

    def fit(self, X, y, times=None):
        return super().fit(_frame(X), y, times)

    def predict_proba(self, X):
        return super().predict_proba(_frame(X))

    def decision_function(self, X):
        return super().decision_function(_frame(X))


#: Checks of the estimator's API: no data is fitted.
API_CHECKS = (
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_get_params_invariance",
    "check_set_params",
    "check_parameters_default_constructible",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_mixin_order",
    "check_valid_tag_types",
    "check_estimator_tags_renamed",
    "check_estimators_unfitted",
)

#: Checks that fit and predict on scikit-learn's generated (binary) data.
FIT_CHECKS = (
    "check_fit_idempotent",
    "check_dont_overwrite_parameters",
    "check_estimators_overwrite_params",
    "check_n_features_in",
    "check_fit_check_is_fitted",
    "check_estimators_fit_returns_self",
    "check_estimators_pickle",
    "check_dict_unchanged",
    "check_methods_subset_invariance",
    "check_methods_sample_order_invariance",
    "check_decision_proba_consistency",
    "check_fit_score_takes_y",
)


@pytest.mark.parametrize("kind", ["logistic", "gbm"])
@pytest.mark.parametrize("name", API_CHECKS)
def test_lead_scorer_api_checks(name, kind):
    getattr(ec, name)("LeadScorer", LeadScorer(kind=kind))


@pytest.mark.parametrize("kind", ["logistic", "gbm", "auto"])
@pytest.mark.parametrize("name", FIT_CHECKS)
def test_lead_scorer_fit_checks(name, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's tiny generated data: convergence warnings
        getattr(ec, name)("LeadScorer", _OnArrays(kind=kind, max_iter=20, min_samples_leaf=2))


def test_lead_scorer_refuses_labels_other_than_one_outcome_per_lead():
    X = pd.DataFrame({"x": np.arange(6.0)})
    with pytest.raises(ValueError, match="0/1 outcomes"):
        LeadScorer(kind="logistic").fit(X, ["a", "b"] * 3)
    with pytest.raises(ValueError, match="X has 6 rows"):
        LeadScorer(kind="logistic").fit(X, [0, 1, 0])
