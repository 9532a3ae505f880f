"""Fast category codes for the gradient-boosting model (native categories, no one-hot).

:class:`CategoryCoder` maps each text column to integer codes with a hash
lookup done in C (``pandas.Categorical``), where scikit-learn's
``OrdinalEncoder`` looks object values up one by one in Python: on a million
leads this was the largest share of scoring time. The most frequent
``max_categories - 1`` categories of each column get codes ``0..k-1`` (by
frequency, ties by name); every other filled value, seen or not, shares the
code ``k`` ("other") when the training leads had such rarer values, and is
missing otherwise. Missing stays missing (NaN), which the gradient-boosting
model treats as its own branch.

Examples
--------
>>> import pandas as pd
>>> X = pd.DataFrame({"source": ["web", "web", "web", "ads", "ads", "ref", "sem", None]})
>>> c = CategoryCoder(max_categories=3).fit(X)
>>> c.categories_[0].tolist(), c.has_other_
(['web', 'ads'], [True])
>>> c.transform(pd.DataFrame({"source": ["ads", "ref", "new", None, "web"]}))[:, 0].tolist()
[1.0, 2.0, 2.0, nan, 0.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["CategoryCoder"]


def _frame(X) -> pd.DataFrame:
    """``X`` as a DataFrame of columns: a DataFrame as it is, a 2-d array-like as numbered columns."""
    if isinstance(X, pd.DataFrame):
        return X
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise TypeError("CategoryCoder: sparse input is not supported (it codes text columns; pass a DataFrame)")
    a = np.asarray(X)
    if a.ndim != 2:
        raise ValueError(
            f"CategoryCoder: expected a 2-d table of columns, got {a.ndim}-d input. Reshape your data "
            "(array.reshape(-1, 1) for one column), or pass a DataFrame"
        )
    if np.iscomplexobj(a):
        raise ValueError("CategoryCoder: Complex data not supported (codes are for text or numbers)")
    return pd.DataFrame(a)


class CategoryCoder(TransformerMixin, BaseEstimator):
    """Text columns -> float codes ``0..k`` (``k``: the rarer values), NaN for missing.

    Parameters
    ----------
    max_categories : int
        Codes per column at most, the shared "other" code included (at least 2).
    """

    def __init__(self, max_categories: int = 60):
        self.max_categories = max_categories

    def fit(self, X, y=None) -> CategoryCoder:
        """Keep each column's most frequent categories.

        Parameters
        ----------
        X : DataFrame or array-like
            The text columns.
        y : None
            Ignored (scikit-learn's transformer signature).

        Returns
        -------
        CategoryCoder
            ``self``, fitted.

        Raises
        ------
        ValueError
            When ``max_categories`` is below 2, or ``X`` is not 2-d, empty or complex.
        TypeError
            For sparse input.
        """
        if self.max_categories < 2:
            raise ValueError(f"max_categories must be >= 2, got {self.max_categories}")
        X = _frame(X)
        for n, what in ((X.shape[0], "sample"), (X.shape[1], "feature")):
            if n == 0:
                raise ValueError(f"CategoryCoder: 0 {what}(s) (shape={X.shape}) while a minimum of 1 is required.")
        self.feature_names_in_ = np.array([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = X.shape[1]
        self.categories_, self.has_other_ = [], []
        for c in X.columns:
            counts = X[c].dropna().astype("object").value_counts()
            counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
            keep = counts.index if len(counts) <= self.max_categories else counts.index[: self.max_categories - 1]
            self.categories_.append(np.array(list(keep), dtype=object))
            self.has_other_.append(bool(len(counts) > len(keep)))
        return self

    def transform(self, X) -> np.ndarray:
        """The codes of ``X``'s values.

        Parameters
        ----------
        X : DataFrame or array-like
            The same columns as in :meth:`fit`.

        Returns
        -------
        ndarray of float, shape (n, columns)
            Codes ``0..k``, NaN for missing values.

        Raises
        ------
        ValueError
            When ``X`` is not 2-d, or has another number of columns than the fitted one.
        TypeError
            For sparse input.
        """
        check_is_fitted(self, "categories_")
        X = _frame(X)
        if X.shape[1] != len(self.categories_):
            raise ValueError(
                f"X has {X.shape[1]} features, but CategoryCoder is expecting {len(self.categories_)} features as input"
            )
        out = np.empty((len(X), X.shape[1]), dtype=np.float64)
        for j, c in enumerate(X.columns):
            col = X[c]
            cats = self.categories_[j]
            # hash each value once (C), then look the few distinct values up among the kept categories
            seen, distinct = pd.factorize(col, use_na_sentinel=True)
            lookup = pd.Index(cats, dtype=object).get_indexer(pd.Index(distinct, dtype=object)).astype(np.float64)
            lookup[lookup < 0] = len(cats) if self.has_other_[j] else np.nan
            out[:, j] = np.where(seen >= 0, lookup[np.maximum(seen, 0)] if len(lookup) else np.nan, np.nan)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing stays missing (NaN): the gbm's own branch
        tags.input_tags.string = True  # text columns are what it codes
        tags.input_tags.categorical = True
        return tags

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The input column names (one code column per input column).

        Parameters
        ----------
        input_features : None
            Ignored (scikit-learn's signature): the names seen in :meth:`fit` are returned.

        Returns
        -------
        ndarray of str
            The column names.
        """
        check_is_fitted(self, "categories_")
        return self.feature_names_in_.copy()
