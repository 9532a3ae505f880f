"""The retraining workflow: build the table, guard against leakage, split, fit, evaluate, compare.

:func:`train` does what ``funnel score train`` does: the labelled leads of an
org (:func:`~funnel_analysis.scoring.features.training_table`), the fields
the rules exclude and those the measurement flags, a split by time (train on
the older leads, test on the newest ``test_fraction``; by their creation
sequence when they carry no dates but an auto-number; cross-validation when
they carry neither), the model, the logistic baseline and the points
score, each evaluated on the same held-out leads. :func:`score_leads` scores
leads with a fitted model: probability, 1-99 score, top reasons; :func:`top_leads` keeps the best
of them and :func:`drift_report` compares them with the training leads. ``where`` (an expression of
:mod:`funnel_analysis.crm.expression` over the leads) chooses which leads are trained on, evaluated
and scored.

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> result = train(fa.load_org("data/sample"), where="lead_source is not null")  # doctest: +SKIP
>>> result.metrics["roc_auc"], result.metrics["baseline_roc_auc"], result.beats_baseline  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from .evaluate import band_table, calibration_table, compare_scores, evaluate, gain_table
from .features import (
    META_COLUMNS,
    ORDER_COLUMN,
    ScoringDataError,
    _day_leads,
    _engine,
    _latest_created,
    _present,
    _with_engagement,
    lead_features,
    scoring_moments,
    source_names,
    training_table,
)
from .leakage import leakage_report, rule_excluded
from .model import LeadScorer, probability_to_score
from .points import load_points_config, points_score

__all__ = [
    "TrainingResult",
    "train",
    "score_leads",
    "top_leads",
    "held_out_predictions",
    "drift_report",
    "load_or_train",
]

#: The columns of a scored lead that :func:`top_leads` keeps: the lead, its probability and score, its reasons.
TOP_LEAD_COLUMNS = r"^(lead_id|probability|score|reason_\d(_value|_effect)?)$"

NO_REGISTRY = "none (registry_dir is empty)"


def _given(as_of):
    """``as_of`` as given, or None for ``None`` and ``""`` (the latest creation date of a lead)."""
    return None if as_of is None or (isinstance(as_of, str) and not as_of.strip()) else as_of


@dataclass(frozen=True)
class TrainingResult:
    """What :func:`train` (or :func:`load_or_train`) produced: the fitted model and everything needed to judge it.

    Attributes
    ----------
    model : LeadScorer
        The fitted, calibrated model.
    held_out : DataFrame
        The held-out leads: lead_id, scored_at, converted, probability, logistic_probability, points, score.
    metrics : Mapping[str, float]
        The figures of :func:`~funnel_analysis.scoring.evaluate.evaluate` on the held-out leads, with
        ``baseline_roc_auc`` (the points score's), ``logistic_roc_auc`` and ``logistic_brier``.
    comparison : DataFrame
        The model, the logistic baseline and the points score evaluated on the same leads.
    leakage : DataFrame
        The leakage report of the candidate features.
    excluded : DataFrame
        The columns the rules exclude, with their rule and source name.
    split : Mapping[str, Any]
        How the held-out leads were chosen: method, column, train/test bounds, counts.
    features : list of str
        The features the model uses.
    table : DataFrame
        The labelled leads (training table).
    params : Mapping[str, Any]
        The parameters of the run (recorded in the registry).
    points_rules : list of Mapping
        The points-score rules used as the baseline.
    version : str
        The registry version the model was loaded from; empty for a model trained here.
    beats_baseline : bool
        True when the model's held-out ROC-AUC is above the points score's (the promotion gate).
    """

    model: LeadScorer
    held_out: pd.DataFrame
    metrics: Mapping[str, float]
    comparison: pd.DataFrame
    leakage: pd.DataFrame
    excluded: pd.DataFrame
    split: Mapping[str, Any]
    features: list
    table: pd.DataFrame = field(repr=False)
    params: Mapping[str, Any] = field(default_factory=dict)
    points_rules: list = field(default_factory=list)
    version: str = ""

    @property
    def beats_baseline(self) -> bool:
        """True when the model's held-out ROC-AUC is above the points score's (the promotion gate)."""
        b = self.metrics.get("baseline_roc_auc")
        return bool(b is None or np.isnan(b) or self.metrics["roc_auc"] > b)

    def metadata(self, crm=None) -> Mapping[str, Any]:
        """The registry metadata of this result (JSON-safe).

        Parameters
        ----------
        crm : CrmData, optional
            The org trained on: its fingerprint, source and mapping are recorded.

        Returns
        -------
        Mapping[str, Any]
            features, params, split, training window, data fingerprint, metrics, leakage, points rules,
            model kind, calibration and model selection.
        """
        flagged = self.leakage.loc[self.leakage["flagged"], "source_name"].tolist()
        return {
            "features": self.features,
            "params": dict(self.params),
            "split": dict(self.split),
            "training_window": {"from": self.split.get("train_from"), "to": self.split.get("train_to")},
            "data_fingerprint": (crm.meta.get("fingerprint") if crm is not None else None),
            "data_source": (crm.meta.get("source") if crm is not None else None),
            "mapping": (crm.meta.get("mapping") if crm is not None else None),
            "metrics": dict(self.metrics),
            "leakage_flagged": flagged,
            "rule_excluded": self.excluded.to_dict(orient="records"),
            "points_rules": self.points_rules,
            "beats_baseline": self.beats_baseline,
            "model_kind": self.model.kind_,
            "calibration": {
                "method": self.model.calibration_method_,
                "brier_by_method": self.model.calibration_scores_,
            },
            "model_selection": self.model.selection_,
        }

    def summary(self) -> Mapping[str, Any]:
        """The headline figures of the evaluation, by name (the lead-scoring report's ``evaluation``).

        Returns
        -------
        Mapping[str, Any]
            model_kind, calibration, n_train, the held-out metrics (n, positives, base_rate, roc_auc and
            its interval, ..., baseline_roc_auc) and beats_baseline.
        """
        return {
            "model_kind": self.model.kind_,
            "calibration": self.model.calibration_method_,
            "n_train": self.split["n_train"],
            **self.metrics,
            "beats_baseline": self.beats_baseline,
        }

    def calibration(self, *, bins: int = 10) -> pd.DataFrame:
        """The calibration curve of the model on the held-out leads.

        Parameters
        ----------
        bins : int
            Groups of equal size, by predicted probability.

        Returns
        -------
        DataFrame
            See :func:`~funnel_analysis.scoring.evaluate.calibration_table`.
        """
        return calibration_table(self.held_out["converted"], self.held_out["probability"], bins=bins)

    def gain(self, *, groups: int = 10) -> pd.DataFrame:
        """Lift and cumulative gain of the model on the held-out leads.

        Parameters
        ----------
        groups : int
            Groups by probability (10: deciles).

        Returns
        -------
        DataFrame
            See :func:`~funnel_analysis.scoring.evaluate.gain_table`.
        """
        return gain_table(self.held_out["converted"], self.held_out["probability"], groups=groups)

    def score_bands(self, *, confidence: float = 0.95) -> pd.DataFrame:
        """Conversion per score band of the held-out leads, with Wilson intervals.

        Parameters
        ----------
        confidence : float
            Level of the intervals, a fraction.

        Returns
        -------
        DataFrame
            See :func:`~funnel_analysis.scoring.evaluate.band_table`.
        """
        return band_table(self.held_out["converted"], self.held_out["score"], confidence=confidence)

    def register(self, registry_dir, *, crm=None) -> pd.DataFrame:
        """Save a model trained here as the next version of ``registry_dir`` (not promoted); list the versions.

        Nothing is saved when ``registry_dir`` is empty or the model was loaded from a registry
        (:attr:`version` is set): a loaded version is listed, never saved again.

        Parameters
        ----------
        registry_dir : str or Path
            The registry folder; empty for none.
        crm : CrmData, optional
            The org trained on, for the metadata (fingerprint, source, mapping).

        Returns
        -------
        DataFrame
            :meth:`Registry.table <funnel_analysis.scoring.registry.Registry.table>`, one row per version;
            with no registry, one row whose ``registry`` column says so.
        """
        from .registry import Registry

        if not str(registry_dir or ""):
            return pd.DataFrame({"registry": [NO_REGISTRY]})
        registry = Registry(registry_dir)
        if not self.version:
            registry.save(self.model, self.metadata(crm))
        return registry.table()


def _fit_all(train_X, train_y, times, kind, model_params):
    model = LeadScorer(kind=kind, **(model_params or {})).fit(train_X, train_y, times=times)
    # kind="auto" already fitted (and calibrated) the logistic model on the same leads: reuse it
    logistic = model.candidate("logistic")  # also drops the stash of candidates
    if model.kind_ == "logistic":
        logistic = model
    if logistic is None:
        logistic = LeadScorer(kind="logistic", n_threads=(model_params or {}).get("n_threads", 1)).fit(
            train_X, train_y, times=times
        )
    return model, logistic


def _split_clock(table: pd.DataFrame, split: str):
    """The column that orders the leads for a split by time, or None for cross-validation."""
    if split not in ("auto", "time", "order", "cv"):
        raise ValueError(f"split must be 'auto', 'time', 'order' or 'cv', got {split!r}")
    dated = table["scored_at"].notna().all()
    ordered = ORDER_COLUMN in table and table[ORDER_COLUMN].notna().all()
    if split == "time" and not dated:
        raise ScoringDataError("leads", "created_date", "no_dates", "split='time' needs a creation date on every lead")
    if split == "order" and not ordered:
        raise ScoringDataError(
            "leads", ORDER_COLUMN, "no_order", "split='order' needs a creation sequence on every lead"
        )
    if split == "cv":
        return None
    if dated and split in ("auto", "time"):
        return "scored_at"
    return ORDER_COLUMN if ordered else None


def _held_out_rows(table: pd.DataFrame, split: dict) -> pd.DataFrame:
    """The rows of ``table`` inside a recorded split's held-out range (all rows for cross-validation)."""
    if split.get("method") == "time":
        t = pd.to_datetime(table["scored_at"])
        return table[(t >= pd.Timestamp(split["test_from"])) & (t <= pd.Timestamp(split["test_to"]))]
    if split.get("method") == "order":
        o = pd.to_numeric(table[ORDER_COLUMN])
        return table[(o >= float(split["test_from"])) & (o <= float(split["test_to"]))]
    return table


def train(
    crm,
    *,
    as_of=None,
    where: str | None = None,
    window_days: int = 90,
    delay_days: float = 0,
    test_fraction: float = 0.25,
    kind: str = "auto",
    model_params: dict | None = None,
    points_profile: str | None = None,
    points_path=None,
    split: str = "auto",
    cv_folds: int = 5,
    n_boot: int = 200,
    seed: int = 0,
    leakage_options: dict | None = None,
) -> TrainingResult:
    """Train and evaluate a lead-scoring model on ``crm`` (see the module notes).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date, Timestamp or str, optional
        The training date (``None`` or ``""``: the latest creation date of a lead); leads need
        ``window_days`` of history before it to be labelled.
    where : str, optional
        Which leads are trained on and evaluated: an expression of :mod:`funnel_analysis.crm.expression`
        over the leads (``"owner.region == 'EMEA'"``); ``None`` or ``""`` for all. Recorded in ``params``.
    window_days : int
        A lead counts as converted when it converted within this many days of its creation.
    delay_days : float
        Leads are scored this many days after creation, with what was known by then.
    test_fraction : float
        Share of the newest labelled leads held out for evaluation.
    kind : {"auto", "gbm", "logistic"}
        The model (see :class:`LeadScorer`).
    model_params : dict, optional
        Extra :class:`LeadScorer` parameters.
    points_profile : str, optional
        The points-score profile (default: the mapping's name if such a profile exists, else ``salesforce``).
    points_path : str or Path, optional
        The points-score YAML file (default: the shipped one).
    split : {"auto", "time", "order", "cv"}
        How the held-out leads are chosen. ``time``: the newest ``test_fraction`` by scoring moment
        (the leads need dates); ``order``: the newest by ``created_order``, a creation sequence such
        as an auto-number, for leads without dates; ``cv``: ``cv_folds``-fold cross-validation.
        ``auto`` takes the first of these the leads allow.
    cv_folds : int
        Folds of the cross-validation.
    n_boot : int
        Bootstrap resamples for the intervals.
    seed : int
        Seed of the folds, the bootstrap and the leakage measurement.
    leakage_options : dict, optional
        Thresholds for :func:`~funnel_analysis.scoring.leakage.leakage_report`.

    Returns
    -------
    TrainingResult
        The model, its held-out predictions and evaluation, the comparison with the baselines, the
        leakage report and the split.

    Raises
    ------
    ScoringDataError
        When the leads lack the outcome, or too few are labelled or converted to learn from.
    ExpressionError
        When ``where`` is not a valid expression over the leads.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    as_of, where = _given(as_of), where or None
    table = training_table(crm, as_of=as_of, where=where, window_days=window_days, delay_days=delay_days)
    y = table["converted"].to_numpy()
    if len(table) < 50 or y.sum() < 10 or (1 - y).sum() < 10:
        raise ScoringDataError(
            "leads",
            "is_converted",
            "too_few_outcomes",
            f"{len(table)} labelled leads, {int(y.sum())} converted: need 50 leads and 10 of each "
            f"outcome (leads need {window_days} days of history before the as-of date)",
        )
    candidates = [c for c in table.columns if c not in META_COLUMNS]
    # a column with no information in this org (all missing, or one value) is no feature
    candidates = [c for c in candidates if table[c].nunique(dropna=False) > 1 and table[c].notna().any()]
    names = source_names(crm)
    present = _present(crm, _engine(crm))
    excluded = rule_excluded(present).assign(source_name=lambda d: d["column"].map(lambda c: names.get(c, c)))
    clock = _split_clock(table, split)
    if clock is not None:
        order = np.argsort(table[clock].to_numpy(), kind="stable")
        k = int(round(len(table) * (1 - test_fraction)))
        train_idx, test_idx = np.sort(order[:k]), np.sort(order[k:])
    else:
        train_idx, test_idx = np.arange(len(table)), np.array([], dtype=int)
    leak = leakage_report(
        table.loc[train_idx, candidates].reset_index(drop=True),
        y[train_idx],
        names=names,
        seed=seed,
        **(leakage_options or {}),
    )
    features = [c for c in candidates if c not in set(leak.loc[leak["flagged"], "column"])]
    profile = points_profile or (crm.meta.get("mapping") if crm.meta.get("mapping") else "salesforce")
    try:
        rules = load_points_config(points_path, profile=profile)
    except ValueError:
        if points_profile:
            raise
        rules = load_points_config(points_path, profile="salesforce")
    X = table[features]
    times = table[clock] if clock is not None else None
    if clock is not None:
        model, logistic = _fit_all(X.iloc[train_idx], y[train_idx], times.iloc[train_idx], kind, model_params)
        test = table.iloc[test_idx]
        held = pd.DataFrame(
            {
                "lead_id": test["lead_id"].to_numpy(),
                "scored_at": test["scored_at"].to_numpy(),
                "converted": y[test_idx],
                "probability": model.predict_proba(X.iloc[test_idx])[:, 1],
                "logistic_probability": logistic.predict_proba(X.iloc[test_idx])[:, 1],
                "points": points_score(test, rules).to_numpy(),
            }
        )

        def bound(v):  # a sequence number as "637388", not "637388.0"
            return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)

        held_split = {
            "method": "time" if clock == "scored_at" else "order",
            "column": clock,
            "train_from": bound(table[clock].iloc[train_idx].min()),
            "train_to": bound(table[clock].iloc[train_idx].max()),
            "test_from": bound(test[clock].min()),
            "test_to": bound(test[clock].max()),
            "n_train": int(len(train_idx)),
            "n_test": int(len(test_idx)),
        }
    else:
        held = pd.DataFrame(
            {
                "lead_id": table["lead_id"].to_numpy(),
                "scored_at": pd.NaT,
                "converted": y,
                "probability": np.nan,
                "logistic_probability": np.nan,
                "points": points_score(table, rules).to_numpy(),
            }
        )
        for fit, pred in StratifiedKFold(cv_folds, shuffle=True, random_state=seed).split(X, y):
            m, lg = _fit_all(X.iloc[fit], y[fit], None, kind, model_params)
            held.loc[pred, "probability"] = m.predict_proba(X.iloc[pred])[:, 1]
            held.loc[pred, "logistic_probability"] = lg.predict_proba(X.iloc[pred])[:, 1]
        model = LeadScorer(kind=kind, **(model_params or {})).fit(X, y)
        why = "asked for" if split == "cv" else "the leads carry no dates and no creation sequence"
        held_split = {
            "method": f"{cv_folds}-fold cross-validation ({why})",
            "train_from": None,
            "train_to": None,
            "test_from": None,
            "test_to": None,
            "n_train": int(len(y)),
            "n_test": int(len(y)),
        }
    held["score"] = probability_to_score(held["probability"].to_numpy())
    yt = held["converted"].to_numpy()
    metrics = dict(evaluate(yt, held["probability"].to_numpy(), n_boot=n_boot, seed=seed).as_dict())
    label = f"chosen: {model.kind_}" if kind == "auto" else kind  # auto names the model it kept
    comparison = compare_scores(
        yt,
        {label: held["probability"], "logistic": held["logistic_probability"], "points": held["points"]},
        n_boot=n_boot,
        seed=seed,
    )
    by = comparison.set_index("model")
    metrics |= {
        "baseline_roc_auc": float(by.loc["points", "roc_auc"]),
        "logistic_roc_auc": float(by.loc["logistic", "roc_auc"]),
        "logistic_brier": float(by.loc["logistic", "brier"]),
    }
    params = {
        "kind": kind,
        "split": split,
        "window_days": window_days,
        "delay_days": delay_days,
        "test_fraction": test_fraction,
        "as_of": str(as_of) if as_of is not None else None,
        "where": where,
        "points_profile": profile,
        **(model_params or {}),
    }
    return TrainingResult(
        model=model,
        held_out=held,
        metrics=metrics,
        comparison=comparison,
        leakage=leak,
        excluded=excluded,
        split=held_split,
        features=features,
        table=table,
        params=params,
        points_rules=rules,
    )


def score_leads(
    crm,
    *,
    model: LeadScorer,
    as_of=None,
    where: str | None = None,
    delay_days: float = 0,
    open_only: bool = True,
    top: int = 3,
    reasons: bool = True,
) -> pd.DataFrame:
    """Score the leads of ``crm``: lead_id, probability, score (1-99), top reasons, plus the features.

    Each lead is scored at creation + ``delay_days`` (capped at the end of ``as_of``) with what was
    known then.

    Parameters
    ----------
    crm : CrmData
        The org.
    model : LeadScorer
        A fitted model.
    as_of : date, Timestamp or str, optional
        Score as of the end of this day (``None`` or ``""``: the latest creation date of a lead).
    where : str, optional
        Which leads: an expression of :mod:`funnel_analysis.crm.expression` over the leads as of
        ``as_of``; ``None`` or ``""`` for all.
    delay_days : float
        Leads are scored this many days after creation.
    open_only : bool
        Keep only the leads not converted by ``as_of``.
    top : int
        Reasons per lead.
    reasons : bool
        Add the reasons (``reason_k``, ``reason_k_value``, ``reason_k_effect``).

    Returns
    -------
    DataFrame
        lead_id, probability, score, the reasons, and each feature as ``feature_<name>``.

    Raises
    ------
    ScoringDataError
        When a feature the model needs cannot be built from the leads.
    ExpressionError
        When ``where`` is not a valid expression over the leads.
    """
    as_of = _given(as_of)
    org = _engine(crm)  # an org with an engine: the leads of the day and their engagement from there
    present = _present(crm, org)
    latest = _latest_created(crm, org, present)
    if latest is not None:
        if as_of is None:
            as_of = latest.normalize()
        leads, acts, members = _day_leads(crm, org, as_of=as_of, where=where)
        moments = scoring_moments(leads, delay_days=delay_days, as_of=as_of)
    else:
        org = None  # no time cut: the leads as exported
        leads = crm.rows("leads", where=where)
        moments, acts, members = None, None, None
    needed = [c for c in model.feature_names_in_ if c in leads.columns]
    feats = lead_features(
        leads, activities=acts, campaign_members=members, moments=moments, columns=needed, present=present
    )
    if org is not None:
        feats = _with_engagement(feats, org, as_of=as_of, delay_days=delay_days)
    if open_only and "is_converted" in leads:
        feats = feats[~leads["is_converted"].fillna(False).astype(bool).to_numpy()].reset_index(drop=True)
    why = None
    if reasons and len(feats):  # the probabilities and the reasons from one pass of the model (#21)
        p, why = model._proba_and_reasons(feats, top)
    else:
        p = model.predict_proba(feats)[:, 1] if len(feats) else np.array([], dtype=float)  # no lead: an empty table
    out = pd.DataFrame({"lead_id": feats["lead_id"].to_numpy(), "probability": p, "score": probability_to_score(p)})
    if why is not None:
        out = pd.concat([out, why.reset_index(drop=True)], axis=1)
    return pd.concat([out, feats.drop(columns=["lead_id"]).add_prefix("feature_")], axis=1)


def top_leads(scored: pd.DataFrame, *, n: int = 15) -> pd.DataFrame:
    """The ``n`` best-scored leads of :func:`score_leads`, with their probability, score and reasons.

    Parameters
    ----------
    scored : DataFrame
        The output of :func:`score_leads`.
    n : int
        Leads kept.

    Returns
    -------
    DataFrame
        lead_id, probability, score, reason_k, reason_k_value, reason_k_effect; highest score first.

    Raises
    ------
    ValueError
        When ``n`` is below 1 or ``scored`` has no ``score``.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if "score" not in scored:
        raise ValueError("top_leads: column 'score' is missing (expected the output of score_leads)")
    return scored.sort_values("score", ascending=False).head(n).filter(regex=TOP_LEAD_COLUMNS)


def held_out_predictions(
    crm,
    *,
    model: LeadScorer,
    split: Mapping[str, Any],
    as_of=None,
    where: str | None = None,
    window_days: int = 90,
    delay_days: float = 0,
) -> pd.DataFrame:
    """A model's probabilities on the held-out leads of a recorded ``split`` (to compare versions on the same leads).

    Parameters
    ----------
    crm : CrmData
        The org.
    model : LeadScorer
        A fitted model.
    split : Mapping[str, Any]
        A recorded split (``TrainingResult.split``, or ``meta["split"]`` of a registry version).
    as_of : date, Timestamp or str, optional
        The training date of the split (``None`` or ``""``: the latest creation date of a lead).
    where : str, optional
        Which leads: an expression of :mod:`funnel_analysis.crm.expression` over the leads.
    window_days : int
        The conversion window the split was labelled with.
    delay_days : float
        The scoring delay the split was built with.

    Returns
    -------
    DataFrame
        lead_id, converted, probability.
    """
    table = training_table(crm, as_of=_given(as_of), where=where, window_days=window_days, delay_days=delay_days)
    table = _held_out_rows(table, split)
    return pd.DataFrame(
        {
            "lead_id": table["lead_id"].to_numpy(),
            "converted": table["converted"].to_numpy(),
            "probability": model.predict_proba(table)[:, 1],
        }
    )


def drift_report(
    scored: pd.DataFrame, train_table: pd.DataFrame, *, model: LeadScorer, threshold: float = 0.2
) -> pd.DataFrame:
    """PSI of every model feature and of the score (0-100) between the training leads and ``scored``.

    The creation sequence (``created_order``) is left out: new leads always come later, so it would
    always be flagged.

    Parameters
    ----------
    scored : DataFrame
        The leads scored now (the output of :func:`score_leads`).
    train_table : DataFrame
        The training leads (a training table).
    model : LeadScorer
        The fitted model: its features are compared, and it scores the training leads.
    threshold : float
        PSI above which a column is flagged.

    Returns
    -------
    DataFrame
        column, psi, flagged; sorted by psi descending.

    Raises
    ------
    ValueError
        When no lead was scored.
    """
    from .drift import drift_table

    feats = [c for c in model.feature_names_in_ if c != ORDER_COLUMN]
    if len(scored) == 0:
        raise ValueError("drift: no leads were scored")
    base = train_table[feats].assign(score=model.predict_proba(train_table)[:, 1] * 100)
    now = scored.rename(columns={f"feature_{c}": c for c in feats}).assign(score=scored["probability"] * 100)
    return drift_table(base, now, columns=[*feats, "score"], threshold=threshold)


def load_or_train(
    crm,
    *,
    as_of=None,
    where: str | None = None,
    registry_dir: str = "",
    model_version: str = "",
    window_days: int = 90,
    delay_days: float = 0,
    n_boot: int = 200,
) -> TrainingResult:
    """The lead-scoring report's model: trained here, or a registry version evaluated on its own held-out leads.

    With no ``model_version``, :func:`train` a new model on ``crm``; else load that version from
    ``registry_dir`` and evaluate it on its own held-out leads of ``crm`` (with the points score beside it).

    Parameters
    ----------
    crm : CrmData
        The org.
    as_of : date, Timestamp or str, optional
        The training date of a new model (``None`` or ``""``: the latest creation date of a lead); a loaded
        version is evaluated as of its own training date.
    where : str, optional
        Which leads are trained on and evaluated: an expression of :mod:`funnel_analysis.crm.expression`
        over the leads; ``None`` or ``""`` for all (a loaded version: the leads it was trained on).
    registry_dir : str
        The model registry folder (needed with ``model_version``).
    model_version : str
        A registry version (``v0003``) to evaluate; empty to train a new model.
    window_days : int
        A lead counts as converted when it converted within this many days of creation (a new model).
    delay_days : float
        Leads are scored this many days after creation (a new model).
    n_boot : int
        Bootstrap resamples for the intervals.

    Returns
    -------
    TrainingResult
        The model and its evaluation (``version`` names a loaded version).

    Raises
    ------
    ValueError
        When ``model_version`` is given and ``registry_dir`` is empty.
    RegistryError
        When the version cannot be loaded safely.
    """
    if not model_version:
        return train(crm, as_of=as_of, where=where, window_days=window_days, delay_days=delay_days, n_boot=n_boot)
    from .registry import Registry

    if not registry_dir:
        raise ValueError("model_version is given but registry_dir is empty")
    loaded = Registry(registry_dir).load(model_version)
    model, meta = loaded.model, loaded.meta
    p = meta["params"]
    table = training_table(
        crm,
        as_of=p.get("as_of"),
        where=where or p.get("where"),
        window_days=p["window_days"],
        delay_days=p["delay_days"],
    )
    table = _held_out_rows(table, meta["split"]).reset_index(drop=True)
    prob = model.predict_proba(table)[:, 1]
    held = pd.DataFrame(
        {
            "lead_id": table["lead_id"],
            "scored_at": table["scored_at"],
            "converted": table["converted"],
            "probability": prob,
            "logistic_probability": np.nan,
            "points": points_score(table, meta.get("points_rules") or load_points_config()).to_numpy(),
            "score": probability_to_score(prob),
        }
    )
    y = held["converted"].to_numpy()
    comparison = compare_scores(y, {model_version: prob, "points": held["points"]}, n_boot=n_boot)
    metrics = dict(evaluate(y, prob, n_boot=n_boot).as_dict()) | {
        "baseline_roc_auc": float(comparison["roc_auc"].iloc[1])
    }
    leak = pd.DataFrame(
        {"column": meta.get("leakage_flagged", []), "source_name": meta.get("leakage_flagged", []), "flagged": True}
    )
    return TrainingResult(
        model=model,
        held_out=held,
        metrics=metrics,
        comparison=comparison,
        leakage=leak,
        excluded=pd.DataFrame(meta.get("rule_excluded", [])),
        split=meta["split"],
        features=meta["features"],
        table=table,
        params=p,
        points_rules=meta.get("points_rules", []),
        version=loaded.version,
    )
