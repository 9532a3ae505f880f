"""The lead-scoring estimator: a scikit-learn pipeline, calibrated, with per-lead reasons.

:class:`LeadScorer` is a scikit-learn classifier (parameters in ``__init__``,
learning in ``fit``). ``kind="gbm"`` is a HistGradientBoosting model on
ordinal-encoded categories (native categorical splits); ``kind="logistic"`` a
one-hot + scaled logistic regression, the simple baseline. With ``times`` (dated
leads) the base model is fitted on the older ``1 - calibration_fraction`` (70 %) of
the training leads and calibrated on the newest ones, so the probabilities follow the
recent conversion rate. Without dates it is calibrated by cross-fitting
(``calibration_cv`` folds): each lead's calibration score comes from a model fitted on
the other folds, and the base model is then refitted on every lead, so no lead is held
back from learning (the approach of ``CalibratedClassifierCV(ensemble=False)``).
Isotonic and Platt (sigmoid) are both fitted on one half of the calibration
scores and judged by the Brier score on the other half (and the other way
round); the lower one is kept and refitted on all of them
(``calibration="auto"``). ``kind="auto"`` makes the same held-out comparison
between the calibrated gbm and logistic models.

Reasons (:meth:`LeadScorer.reasons`) are per-lead contributions on the model's
log-odds: for each feature, how much the raw log-odds move when that one
feature is replaced by a reference value (median, or most frequent category,
of the training leads). Positive means the feature raises the score.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"visits": rng.poisson(3, 600).astype(float), "source": rng.choice(["web", "ref"], 600)})
>>> y = (rng.random(600) < np.where(X["source"] == "ref", 0.6, 0.1)).astype(int)
>>> m = LeadScorer(kind="logistic").fit(X, y)
>>> p = m.predict_proba(X)[:, 1]
>>> bool(p[X["source"] == "ref"].mean() > p[X["source"] == "web"].mean())
True
>>> m.reasons(X.head(1), top=1).columns.tolist()
['reason_1', 'reason_1_value', 'reason_1_effect']
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from ._sklearn import fit_sigmoid
from .encode import CategoryCoder
from .features import ScoringDataError

__all__ = ["FeatureColumns", "LeadScorer", "probability_to_score", "split_columns"]


def probability_to_score(p) -> np.ndarray:
    """The 1-99 score: the calibrated probability in percent, rounded and clipped to 1..99.

    A score of 80 means that about 80 in 100 such leads convert (as far as calibration holds).

    Parameters
    ----------
    p : array-like of float
        Probabilities in [0, 1].

    Returns
    -------
    ndarray of int
        The scores, 1 to 99.

    Raises
    ------
    ValueError
        For a probability outside [0, 1] or NaN.

    Examples
    --------
    >>> probability_to_score([0.0, 0.004, 0.5, 0.805, 1.0]).tolist()
    [1, 1, 50, 81, 99]
    """
    p = np.asarray(p, dtype=float)
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must lie in [0, 1] and not be NaN")
    return np.clip(np.floor(p * 100 + 0.5), 1, 99).astype(int)


@dataclasses.dataclass(frozen=True)
class FeatureColumns:
    """The feature columns of a table by kind (what :func:`split_columns` returns).

    Attributes
    ----------
    numeric : list of str
        Numeric columns (booleans excluded), in the table's order.
    categorical : list of str
        Every other column, in the table's order.
    """

    numeric: list[str]
    categorical: list[str]


def split_columns(X: pd.DataFrame) -> FeatureColumns:
    """The numeric and the categorical feature columns of ``X``, by dtype.

    Parameters
    ----------
    X : DataFrame
        Features.

    Returns
    -------
    FeatureColumns
        ``numeric`` (numbers, not booleans) and ``categorical`` (the rest).

    Examples
    --------
    >>> split_columns(pd.DataFrame({"n": [1.0], "s": ["a"], "b": [True]}))
    FeatureColumns(numeric=['n'], categorical=['s', 'b'])
    """
    num = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])]
    return FeatureColumns(numeric=num, categorical=[c for c in X.columns if c not in num])


def _calibration_map(method, scores, y):
    """The map from raw scores to probabilities that ``CalibratedClassifierCV`` fits: isotonic (clipped to the
    fitted range) or Platt's sigmoid; ``.predict(scores)`` gives probabilities."""
    if method == "isotonic":
        return IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(scores, y)
    return fit_sigmoid(scores, y)


def _log1p_signed(a):
    return np.sign(a) * np.log1p(np.abs(a))


class LeadScorer(ClassifierMixin, BaseEstimator):
    """Calibrated lead-conversion classifier with per-lead reasons.

    Parameters
    ----------
    kind : {"gbm", "logistic", "auto"}
        ``auto`` fits both and keeps the gbm only when its calibrated Brier score on the
        calibration part (cross-fitted) beats the logistic model's by more than one standard
        error of the paired difference (the one-standard-error rule: the simpler model wins ties).
    calibration : {"auto", "isotonic", "sigmoid", "none"}
    calibration_fraction : float
        Share of the training leads kept for calibration when ``times`` is given (the newest), or when
        there are no dates and ``calibration_cv`` is None (a stratified random part). 0.3
        rather than 0.2: on two generated orgs the calibration error against the true probabilities
        fell from 0.024 / 0.017 to 0.011 / 0.008 (a larger, less noisy calibration sample).
    calibration_cv : int or None
        Folds of the cross-fitted calibration used when ``fit`` gets no ``times``; None holds out a random
        ``calibration_fraction`` instead. Costs ``calibration_cv`` extra fits; on X Education (5-fold
        CV of the whole workflow, Lead Number left out) ROC-AUC went from 0.933 with the random hold-out
        to 0.936.
    learning_rate, max_iter, max_leaf_nodes, l2_regularization, min_samples_leaf, max_features, early_stopping :
        gbm settings; ``max_features`` is the share of features each split considers (measured on X Education:
        0.9366 against 0.9356 with all), ``early_stopping="auto"`` stops on a random tenth of the fit part
        after 20 rounds without progress when there are more than 10,000 leads
    C : float
        Inverse regularisation of the logistic model.
    max_categories : int
        Categories kept per text column (the rarer ones share one code).
    refit : bool
        After a calibration hold-out (by time, or random), refit each base model on every training lead and
        keep the calibration map fitted before. Off by default: on X Education (split by creation order)
        it raised the held-out ROC-AUC from 0.934 to 0.944 and lowered the Brier score from 0.098 to
        0.086, but the ECE rose from 0.024 to 0.032; on a generated org it widened the gap to the best
        possible AUC from 0.006 to 0.016 (within noise at 1,146 held-out leads).
    n_threads : int or None
        OpenMP threads for fitting and predicting (None: all cores). One by default: on a
        shared machine, more threads than free cores made a gbm fit 25x slower (measured).
    random_state : int
    logistic_max_rows : int or None
        The logistic model is fitted on a random sample of at most this many leads (None: all); on a
        million-lead org its one-hot fit was a large share of training time, for a baseline whose
        handful of coefficients does not need that many leads.
    """

    def __init__(
        self,
        kind="gbm",
        *,
        calibration="auto",
        calibration_fraction=0.3,
        calibration_cv=5,
        learning_rate=0.05,
        max_iter=300,
        max_leaf_nodes=15,
        l2_regularization=1.0,
        min_samples_leaf=40,
        C=1.0,
        max_categories=60,
        max_features=0.5,
        early_stopping="auto",
        n_threads=1,
        random_state=0,
        logistic_max_rows=200_000,
        refit=False,
    ):
        self.kind = kind
        self.calibration = calibration
        self.calibration_fraction = calibration_fraction
        self.calibration_cv = calibration_cv
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.l2_regularization = l2_regularization
        self.min_samples_leaf = min_samples_leaf
        self.C = C
        self.max_categories = max_categories
        self.early_stopping = early_stopping
        self.max_features = max_features
        self.n_threads = n_threads
        self.random_state = random_state
        self.logistic_max_rows = logistic_max_rows
        self.refit = refit

    # ---- building ------------------------------------------------------------------------
    def _pipeline(self, kind, num, cat) -> Pipeline:
        if kind == "gbm":
            ct = ColumnTransformer(
                [("cat", CategoryCoder(max_categories=self.max_categories), cat), ("num", "passthrough", num)],
                verbose_feature_names_out=False,
            )
            clf = HistGradientBoostingClassifier(
                learning_rate=self.learning_rate,
                max_iter=self.max_iter,
                max_leaf_nodes=self.max_leaf_nodes,
                l2_regularization=self.l2_regularization,
                min_samples_leaf=self.min_samples_leaf,
                max_features=self.max_features,
                categorical_features=list(range(len(cat))),
                early_stopping=self.early_stopping,
                validation_fraction=0.1,
                n_iter_no_change=20,
                random_state=self.random_state,
            )
        elif kind == "logistic":
            ct = ColumnTransformer(
                [
                    (
                        "cat",
                        make_pipeline(
                            SimpleImputer(strategy="constant", fill_value="(missing)"),
                            OneHotEncoder(
                                handle_unknown="infrequent_if_exist",
                                max_categories=self.max_categories,
                                min_frequency=5,
                            ),
                        ),
                        cat,
                    ),
                    (
                        "num",
                        make_pipeline(
                            SimpleImputer(strategy="median", add_indicator=True),
                            FunctionTransformer(_log1p_signed),
                            StandardScaler(),
                        ),
                        num,
                    ),
                ]
            )
            clf = LogisticRegression(C=self.C, max_iter=2000)
        else:
            raise ValueError(f"kind must be 'gbm', 'logistic' or 'auto', got {kind!r}")
        return Pipeline([("prepare", ct), ("model", clf)])

    def fit(self, X: pd.DataFrame, y, times=None) -> LeadScorer:
        """Fit the pipeline and calibrate it: on the newest leads when ``times`` is given, else cross-fitted
        (see the module notes).

        Parameters
        ----------
        X : DataFrame
            The features, one row per lead (named columns; text columns are categories).
        y : array-like of 0/1
            The outcomes.
        times : array-like, optional
            When each lead was scored (datetimes), or its place in a creation sequence (numbers, such as
            an auto-number) for leads without dates: the newest calibrate.

        Returns
        -------
        LeadScorer
            ``self``, fitted.

        Raises
        ------
        ValueError
            For an empty ``X`` or one that is not a DataFrame, outcomes other than 0/1 or not one per row,
            one class only, or an unknown ``kind``/``calibration``.
        """
        with threadpool_limits(self.n_threads):
            return self._fit(X, y, times)

    def _fit(self, X: pd.DataFrame, y, times=None):
        """Fit the pipeline on the older leads and calibrate it on the newest (see module notes).

        Raises
        ------
        ValueError
            For an empty ``X``, one class only, or an unknown ``kind``/``calibration``.
        """
        if self.calibration not in ("auto", "isotonic", "sigmoid", "none"):
            raise ValueError(f"calibration must be auto, isotonic, sigmoid or none, got {self.calibration!r}")
        if not isinstance(X, pd.DataFrame) or X.shape[1] == 0 or len(X) == 0:
            raise ValueError("X must be a non-empty DataFrame of features")
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"y must be one 0/1 outcome per row of X: X has {len(X)} rows, y has shape {y.shape}")
        if not pd.Series(y).isin([0, 1]).all():
            raise ValueError("y must hold 0/1 outcomes: LeadScorer is a binary classifier (converted or not)")
        y = y.astype(int)
        if len(np.unique(y)) < 2:
            raise ValueError("y holds one class only: nothing to learn")
        columns = split_columns(X)
        self.numeric_, self.categorical_ = columns.numeric, columns.categorical
        self.feature_names_in_ = np.array(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.classes_ = np.array([0, 1])
        X = self._typed(X)
        folds = None
        if self.calibration == "none":
            fit_idx, cal_idx = np.arange(len(X)), np.array([], dtype=int)
        elif times is not None:
            t = np.asarray(times)  # datetimes, or a creation sequence (numbers) for leads without dates
            order = np.argsort(t if np.issubdtype(t.dtype, np.number) else pd.to_datetime(t).to_numpy(), kind="stable")
            k = int(round(len(X) * (1 - self.calibration_fraction)))
            fit_idx, cal_idx = np.sort(order[:k]), np.sort(order[k:])
        elif self.calibration_cv:
            # no dates: every lead is fitted on and every lead calibrates (out-of-fold scores)
            fit_idx = cal_idx = np.arange(len(X))
            folds = list(
                StratifiedKFold(self.calibration_cv, shuffle=True, random_state=self.random_state).split(
                    np.zeros(len(y)), y
                )
            )
        else:
            fit_idx, cal_idx = train_test_split(
                np.arange(len(X)), test_size=self.calibration_fraction, stratify=y, random_state=self.random_state
            )
        kinds = ["gbm", "logistic"] if self.kind == "auto" else [self.kind]
        if len(kinds) > 1 and not len(cal_idx):
            raise ValueError("kind='auto' chooses on the calibration part: calibration cannot be 'none'")
        self.calibration_scores_, self.selection_ = {}, {}
        fitted, held = {}, {}
        if len(cal_idx):
            yc = y[cal_idx]
            a, b = train_test_split(np.arange(len(yc)), test_size=0.5, stratify=yc, random_state=self.random_state)
        for kind in kinds:
            base = self._fit_base(kind, X, y, fit_idx)
            if not len(cal_idx):
                fitted[kind] = (base, None, "none")
                continue
            if folds is None:
                raw = base.decision_function(X.iloc[cal_idx])  # the base model's scores, computed once
            else:  # out-of-fold scores: each lead scored by a model that did not see it
                raw = np.empty(len(y))
                for f, te in folds:
                    raw[te] = self._fit_base(kind, X, y, f).decision_function(X.iloc[te])
            methods = ["isotonic", "sigmoid"] if self.calibration == "auto" else [self.calibration]
            preds = {}
            for m in methods:  # cross-fitted on the two halves of the calibration part: fit on one, judge the other
                preds[m] = np.empty(len(yc))
                for fit_half, judge_half in ((a, b), (b, a)):
                    preds[m][judge_half] = _calibration_map(m, raw[fit_half], yc[fit_half]).predict(raw[judge_half])
            scores = {m: float(brier_score_loss(yc, p)) for m, p in preds.items()}
            method = min(scores, key=scores.get)
            self.calibration_scores_[kind] = scores
            fitted[kind], held[kind] = (base, _calibration_map(method, raw, yc), method), preds[method]
        if len(kinds) > 1:
            # one-standard-error rule: the gbm must beat the simpler logistic model by more than the
            # noise of the paired per-lead difference of squared errors, or the logistic one is kept
            d = (held["gbm"] - yc) ** 2 - (held["logistic"] - yc) ** 2
            se = float(d.std(ddof=1) / np.sqrt(len(d)))
            chosen = "gbm" if d.mean() + se < 0 else "logistic"
            self.selection_ = {
                "brier": {k: float(np.mean((v - yc) ** 2)) for k, v in held.items()},
                "gbm_minus_logistic": float(d.mean()),
                "standard_error": se,
                "chosen": chosen,
            }
        else:
            chosen = kinds[0]
        if self.refit and folds is None and len(cal_idx) and len(fit_idx) < len(X):
            # the calibration part (with dates: the newest leads) is learned from too; each map is kept
            fitted = {k: (self._fit_base(k, X, y, np.arange(len(X))), *v[1:]) for k, v in fitted.items()}
            fit_idx = np.arange(len(X))
        self._candidates = {k: v for k, v in fitted.items() if k != chosen}  # see candidate(); not saved
        self.kind_ = chosen
        self.base_, self.calibrator_, self.calibration_method_ = fitted[chosen]
        self.calibration_mode_ = (
            "none"
            if not len(cal_idx)
            else "time"
            if times is not None
            else "cross-fitted"
            if folds is not None
            else "random"
        )
        self.reference_ = {c: (float(np.nanmedian(X[c])) if X[c].notna().any() else np.nan) for c in self.numeric_}
        self.reference_ |= {
            c: (X[c].mode(dropna=True).iloc[0] if X[c].notna().any() else np.nan) for c in self.categorical_
        }
        self.n_train_ = int(len(fit_idx))
        self.n_calibration_ = int(len(cal_idx))
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # converted or not
        tags.input_tags.allow_nan = True  # missing values are a branch (gbm) or imputed (logistic)
        tags.input_tags.string = True  # text columns are categories
        tags.input_tags.categorical = True
        return tags

    def _fit_base(self, kind, X, y, rows):
        """The uncalibrated pipeline of ``kind`` fitted on ``rows`` of (X, y)."""
        if kind == "logistic" and self.logistic_max_rows and len(rows) > self.logistic_max_rows:
            rows = np.sort(np.random.default_rng(self.random_state).choice(rows, self.logistic_max_rows, replace=False))
        return self._pipeline(kind, self.numeric_, self.categorical_).fit(X.iloc[rows], y[rows])

    def candidate(self, kind: str) -> LeadScorer | None:
        """The other model ``kind='auto'`` fitted and did not keep, calibrated on the same leads.

        Each candidate is handed out once (the stash is not saved with the model).

        Parameters
        ----------
        kind : {"gbm", "logistic"}
            The model asked for.

        Returns
        -------
        LeadScorer or None
            A fitted :class:`LeadScorer`, or None when no such candidate was kept (or it was handed out).
        """
        stash = self.__dict__.pop("_candidates", {})
        if kind not in stash:
            return None
        other = self.__class__(**{**self.get_params(), "kind": kind})
        other.__dict__.update({k: v for k, v in self.__dict__.items() if k.endswith("_") and not k.startswith("_")})
        other.kind_, (other.base_, other.calibrator_, other.calibration_method_) = kind, stash[kind]
        return other

    def __getstate__(self):
        state = super().__getstate__()
        return {k: v for k, v in state.items() if k != "_candidates"}

    # ---- using ---------------------------------------------------------------------------
    def _typed(self, X: pd.DataFrame) -> pd.DataFrame:
        """Only the model's columns, numbers as float and categories as object (missing -> NaN)."""
        names = list(self.feature_names_in_)
        missing = [c for c in names if c not in X.columns]
        if missing:
            raise ScoringDataError(
                "leads",
                missing[0],
                "feature_missing",
                f"is one of the {len(names)} features the model was trained with",
            )
        X = X[names].copy()
        for c in self.numeric_:
            X[c] = pd.to_numeric(X[c], errors="coerce").astype("float64")
        for c in self.categorical_:
            X[c] = X[c].astype("object").where(X[c].notna(), np.nan).astype("object")
        return X

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Raw (uncalibrated) log-odds of the base model.

        Parameters
        ----------
        X : DataFrame
            The leads' features (at least the model's columns).

        Returns
        -------
        ndarray of float
            One log-odds per lead.
        """
        check_is_fitted(self, "base_")
        with threadpool_limits(self.n_threads):
            return self.base_.decision_function(self._typed(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities of not converting and of converting.

        Parameters
        ----------
        X : DataFrame
            The leads' features (at least the model's columns).

        Returns
        -------
        ndarray of float, shape (n, 2)
            Column 1 is the probability that the lead converts.
        """
        check_is_fitted(self, "base_")
        Xt = self._typed(X)
        with threadpool_limits(self.n_threads):
            if self.calibrator_ is None:
                p = self.base_.predict_proba(Xt)[:, 1]
            else:
                p = np.clip(self.calibrator_.predict(self.base_.decision_function(Xt)), 0.0, 1.0)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 when the calibrated probability is at least 0.5.

        Parameters
        ----------
        X : DataFrame
            The leads' features (at least the model's columns).

        Returns
        -------
        ndarray of int
            0 or 1 per lead.
        """
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def reasons(self, X: pd.DataFrame, *, top: int = 3) -> pd.DataFrame:
        """The ``top`` features that move each lead's log-odds most, with its value and the effect.

        Parameters
        ----------
        X : DataFrame
            The leads' features (at least the model's columns).
        top : int
            Reasons per lead.

        Returns
        -------
        DataFrame
            One row per lead (index of ``X``): ``reason_k`` (feature), ``reason_k_value`` (the lead's
            value as text) and ``reason_k_effect`` (log-odds change against the reference value;
            positive raises the score).

        Raises
        ------
        ValueError
            When ``top`` is below 1.
        """
        check_is_fitted(self, "base_")
        if top < 1:
            raise ValueError(f"top must be >= 1, got {top}")
        with threadpool_limits(self.n_threads):
            return self._reasons(X, top)[0]

    def _reasons(self, X, top, raw=False):
        """The reasons frame of :meth:`reasons`; with ``raw``, also the base model's log-odds of each lead
        (the gbm's come out of the same pass over the trees: :meth:`_proba_and_reasons`), else None."""
        Xt = self._typed(X)
        names = list(self.feature_names_in_)
        effects = base = None
        if self.kind_ == "gbm":
            got = self._effects_trees(Xt)
            if got is not None:
                effects, base = got
            else:
                effects = self._effects_encoded(Xt)
        if effects is None:
            effects = self._effects_generic(Xt)
        if raw and base is None:
            base = self.base_.decision_function(Xt)
        k = min(top, len(names))
        order = np.argsort(-np.abs(effects), axis=1, kind="stable")[:, :k]
        out = {}
        rows = np.arange(len(Xt))
        for i in range(k):
            col = order[:, i]
            out[f"reason_{i + 1}"] = np.array(names, dtype=object)[col]
            out[f"reason_{i + 1}_value"] = _value_texts(Xt, col)
            out[f"reason_{i + 1}_effect"] = np.round(effects[rows, col], 4)
        return pd.DataFrame(out, index=X.index), base

    def _proba_and_reasons(self, X: pd.DataFrame, top: int):
        """``predict_proba(X)[:, 1]`` and ``reasons(X, top=top)`` at once: the gbm's trees run over the leads
        once for both (the probabilities are those :meth:`predict_proba` gives, to the bit)."""
        check_is_fitted(self, "base_")
        if top < 1:
            raise ValueError(f"top must be >= 1, got {top}")
        with threadpool_limits(self.n_threads):
            reasons, base = self._reasons(X, top, raw=self.calibrator_ is not None)
            if self.calibrator_ is None:
                return self.predict_proba(X)[:, 1], reasons
            return np.clip(self.calibrator_.predict(base), 0.0, 1.0), reasons

    def _effects_generic(self, Xt):
        """Log-odds change when each feature in turn is set to its reference value: one pass of the whole
        pipeline per feature."""
        names = list(self.feature_names_in_)
        base = self.base_.decision_function(Xt)
        effects = np.empty((len(Xt), len(names)))
        for j, c in enumerate(names):
            Xr = Xt.copy()
            Xr[c] = self.reference_[c]
            if c in self.categorical_:
                Xr[c] = Xr[c].astype("object")
            effects[:, j] = base - self.base_.decision_function(Xr)
        return effects

    def _effects_encoded(self, Xt):
        """The same effects as :meth:`_effects_generic`, for a pipeline whose preparation makes one column per
        feature (the gbm's): the leads are encoded once and only the boosted trees run per feature, on the
        encoded matrix with that one column swapped for the encoded reference (1.3x faster on X Education:
        the trees themselves are most of the cost).
        None when the encoded columns do not map one-to-one onto the features."""
        prepare, clf = self.base_.named_steps["prepare"], self.base_.named_steps["model"]
        out_names = list(prepare.get_feature_names_out())
        if sorted(out_names) != sorted(self.feature_names_in_):
            return None
        T = np.asarray(prepare.transform(Xt), dtype=float)
        ref_row = pd.DataFrame({c: [self.reference_[c]] for c in self.feature_names_in_})
        R = np.asarray(prepare.transform(self._typed(ref_row)), dtype=float)[0]
        base = clf.decision_function(T)
        effects = np.empty((len(Xt), len(out_names)))
        position = {c: i for i, c in enumerate(out_names)}
        for j, c in enumerate(self.feature_names_in_):
            i = position[c]
            kept = T[:, i].copy()
            T[:, i] = R[i]
            effects[:, j] = base - clf.decision_function(T)
            T[:, i] = kept
        return effects

    def _effects_trees(self, Xt, *, chunk_rows: int = 50_000):
        """The effects of :meth:`_effects_encoded`, to the bit, and the base log-odds, from one pass of every tree
        over the leads and a second pass of only the leaves a swap changes (#21: the reasons re-predicted every
        lead once per feature, 14 passes over 838k leads at scale 50).

        A boosted model's log-odds are its baseline plus each tree's leaf value, added in tree order. With one
        feature set to its reference value, a lead stays in the same leaf of a tree unless its path there
        passes a split on that feature that the reference takes the other way; so each tree's leaf of each
        lead is kept (by chunks of ``chunk_rows`` leads), and each (tree, lead) whose leaf's path the reference
        leaves is predicted again with the feature swapped. The leaves are then added up in the same order
        from the same baseline as scikit-learn's ``decision_function`` adds them: the same floating-point
        sums, and an effect of exactly 0 for a lead whose leaves all stay.

        Returns
        -------
        tuple of ndarray, or None
            The effects (leads x features, in ``feature_names_in_`` order) and the base model's log-odds of
            each lead; None when the model is not a one-output scikit-learn histogram gradient boosting on
            one encoded column per feature (the caller takes :meth:`_effects_encoded`).
        """
        prepare, clf = self.base_.named_steps["prepare"], self.base_.named_steps["model"]
        out_names = list(prepare.get_feature_names_out())
        trees = _tree_parts(clf)
        if trees is None or sorted(out_names) != sorted(self.feature_names_in_):
            return None
        predictors, baseline, known, f_idx, perm = trees
        T = np.asarray(prepare.transform(Xt), dtype=float)
        ref_row = pd.DataFrame({c: [self.reference_[c]] for c in self.feature_names_in_})
        R = np.asarray(prepare.transform(self._typed(ref_row)), dtype=float)[0]
        # what the trees read: the classifier's own preprocessing (its categories recoded, placed first), one
        # column of it per encoded column (perm[k] is the encoded column of the trees' column k)
        T = np.ascontiguousarray(clf._preprocess_X(T, reset=False), dtype=float)
        R = np.asarray(clf._preprocess_X(R[None, :], reset=False), dtype=float)[0]
        if T.shape[1] != len(perm):
            return None
        n, width = T.shape
        n_threads = _openmp_effective_n_threads()
        # per tree: a predictor giving each lead's leaf (node number), the leaves' values, and for each leaf
        # and column whether the reference value of that column keeps a lead in that leaf
        located, values, moving = [], [], []
        for predictor in predictors:
            nodes = predictor.nodes.copy()
            leaf = nodes["is_leaf"].astype(bool)
            nodes["value"][leaf] = np.flatnonzero(leaf)
            located.append(TreePredictor(nodes, predictor.binned_left_cat_bitsets, predictor.raw_left_cat_bitsets))
            values.append(predictor.nodes["value"])
            keeps = _reference_keeps(predictor, R, known, f_idx)
            # per column: None when no leaf of this tree moves, else whether each node's leads move
            moving.append([None if keeps[:, i].all() else np.ascontiguousarray(~keeps[:, i]) for i in range(width)])

        def leaf_of(t, X):
            return located[t].predict(X, known, f_idx, n_threads).astype(np.int32)

        def summed(L):  # scikit-learn's order: zeros, plus the baseline, plus each tree in turn
            acc = np.zeros(L.shape[1], dtype=baseline.dtype)
            acc += baseline
            for row in L:
                acc += row
            return acc

        position = {c: int(np.flatnonzero(perm == out_names.index(c))[0]) for c in out_names}
        effects = np.zeros((n, width))
        base = np.empty(n)
        for start in range(0, n, chunk_rows):
            Tc = T[start : start + chunk_rows]
            at = np.empty((len(predictors), len(Tc)), dtype=np.int32)
            L = np.empty((len(predictors), len(Tc)))
            for t in range(len(predictors)):
                at[t] = leaf_of(t, Tc)
                L[t] = values[t][at[t]]
            b = summed(L)
            base[start : start + len(Tc)] = b
            for j, c in enumerate(self.feature_names_in_):
                i = position[c]
                new = {}  # tree -> its leaves of the chunk with the swap (only where they change)
                for t in range(len(predictors)):
                    if moving[t][i] is not None:
                        moved = np.flatnonzero(moving[t][i][at[t]])
                        if len(moved):
                            Ts = Tc[moved]
                            Ts[:, i] = R[i]
                            leaves = L[t].copy()
                            leaves[moved] = values[t][leaf_of(t, Ts)]
                            new[t] = leaves
                if not new:
                    continue  # every lead keeps every leaf: effect 0
                # every lead of the chunk summed again: one whose leaves all stay gets its own sum, effect 0
                acc = np.zeros(len(Tc), dtype=baseline.dtype)
                acc += baseline
                for t in range(len(predictors)):
                    acc += new.get(t, L[t])
                effects[start : start + len(Tc), j] = b - acc
        return effects, base


def _reference_keeps(predictor, R, known, f_idx) -> np.ndarray:
    """For each node of one tree (rows; meaningful at the leaves) and each column (columns): whether a lead
    whose path reaches that node still reaches it with that column set to its reference value ``R``, that
    is, whether the reference goes the path's way at every split on the column above it.

    The reference's way at a split is decided as scikit-learn's raw-data predictor decides it: missing
    goes the split's missing way; a category goes left when in the split's left set, right when a known
    category, else the missing way (a negative one too); a number goes left when at most the threshold."""
    nodes = predictor.nodes
    keeps = np.ones((len(nodes), len(R)), dtype=bool)
    stack = [0]
    while stack:
        k = stack.pop()
        node = nodes[k]
        if node["is_leaf"]:
            continue
        f = int(node["feature_idx"])
        v = R[f]
        missing_left = bool(node["missing_go_to_left"])
        if np.isnan(v):
            left = missing_left
        elif node["is_categorical"]:
            code = int(v)
            if v < 0:
                left = missing_left
            elif _in_bitset(predictor.raw_left_cat_bitsets[node["bitset_idx"]], code):
                left = True
            elif _in_bitset(known[f_idx[f]], code):
                left = False
            else:
                left = missing_left
        else:
            left = bool(v <= node["num_threshold"])
        for child, way in ((int(node["left"]), True), (int(node["right"]), False)):
            keeps[child] = keeps[k]
            keeps[child, f] &= left == way
            stack.append(child)
    return keeps


def _in_bitset(bitset, value: int) -> bool:
    """Whether ``value`` (0-255) is in a 256-bit set stored as 8 unsigned 32-bit words (scikit-learn's bitsets)."""
    return bool((int(bitset[value // 32]) >> (value % 32)) & 1)


def _tree_parts(clf):
    """A fitted one-output ``HistGradientBoostingClassifier``'s trees, baseline, known-category bitsets and
    which input column each of the trees' columns is (what :meth:`LeadScorer._effects_trees` evaluates);
    None for another model or a scikit-learn whose internals differ."""
    try:
        if not isinstance(clf, HistGradientBoostingClassifier) or clf.n_trees_per_iteration_ != 1:
            return None
        predictors = [it[0] for it in clf._predictors]
        baseline = np.asarray(clf._baseline_prediction, dtype=float).reshape(-1)
        known, f_idx = clf._bin_mapper.make_known_categories_bitsets()
        width = clf.n_features_in_
        if clf.is_categorical_ is None:
            perm = np.arange(width)
        else:
            # the classifier's preprocessing puts its categorical columns first, then the others, in order
            cat = np.asarray(clf.is_categorical_, dtype=bool)
            perm = np.concatenate([np.flatnonzero(cat), np.flatnonzero(~cat)])
            categorical = np.asarray(clf._is_categorical_remapped, dtype=bool)
            names = [name for name, *_ in clf._preprocessor.transformers_]
            if names[:2] != ["encoder", "numerical"] or not (categorical == cat[perm]).all():
                return None
        if not predictors or baseline.shape != (1,) or not all(hasattr(p, "nodes") for p in predictors):
            return None
    except AttributeError:
        return None
    return predictors, baseline[0], known, f_idx, perm


def _value_texts(Xt: pd.DataFrame, col: np.ndarray) -> list:
    """Each lead's value of the feature ``col`` names (a column position of ``Xt`` per lead) as text: ``""``
    when missing, else ``str`` of the value, as ``str`` gives it for each lead one by one.

    Each feature's distinct values are written once: a float by its bit pattern (``-0.0`` is not ``0.0``), a
    column of texts by value; any other column value by value, one lead at a time."""
    out = np.empty(len(col), dtype=object)
    for j, c in enumerate(Xt.columns):
        rows = np.flatnonzero(col == j)
        if not len(rows):
            continue
        v = Xt[c].to_numpy()[rows]
        if v.dtype == np.float64:
            nan = np.isnan(v)
            bits, first = np.unique(v.view(np.int64), return_inverse=True)
            text = np.array([str(float(x)) for x in bits.view(np.float64)], dtype=object)[first.reshape(-1)]
            out[rows] = np.where(nan, "", text)
            continue
        codes, uniques = pd.factorize(v, use_na_sentinel=True)
        if v.dtype == object and all(type(u) is str for u in uniques):  # texts equal only texts: one str per value
            text = np.array([*uniques, ""], dtype=object)
            out[rows] = text[codes]  # -1 (missing): the last, ""
            continue
        out[rows] = ["" if pd.isna(x) else str(x) for x in v]
    return out.tolist()
