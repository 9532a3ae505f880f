"""The retraining workflow: build the table, guard against leakage, split, fit, evaluate, compare.

:func:`train` does what ``funnel score train`` does: the labelled leads of an
org (:func:`~funnel_analysis.scoring.features.training_table`), the fields
the rules exclude and those the measurement flags, a split by time (train on
the older leads, test on the newest ``test_fraction``; by their creation
sequence when they carry no dates but an auto-number; cross-validation when
they carry neither), the model, the logistic baseline and the points
score, each evaluated on the same held-out leads. :func:`score_leads` scores
leads with a fitted model: probability, 1-99 score, top reasons.

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> result = train(fa.load_org("data/sample"))  # doctest: +SKIP
>>> result.metrics["roc_auc"], result.metrics["baseline_roc_auc"], result.beats_baseline  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from .evaluate import compare_scores, evaluate
from .features import (
    META_COLUMNS,
    ORDER_COLUMN,
    ScoringDataError,
    lead_features,
    scoring_cut,
    scoring_moments,
    source_names,
    training_table,
)
from .leakage import leakage_report, rule_excluded
from .model import LeadScorer, probability_to_score
from .points import load_points_config, points_score

__all__ = ["TrainingResult", "train", "score_leads", "held_out_predictions", "drift_report", "load_or_train"]


@dataclass
class TrainingResult:
    """What :func:`train` produced: the fitted model and everything needed to judge it."""

    model: LeadScorer
    held_out: pd.DataFrame
    metrics: dict
    comparison: pd.DataFrame
    leakage: pd.DataFrame
    excluded: pd.DataFrame
    split: dict
    features: list
    table: pd.DataFrame = field(repr=False)
    params: dict = field(default_factory=dict)
    points_rules: list = field(default_factory=list)

    @property
    def beats_baseline(self) -> bool:
        """True when the model's held-out ROC-AUC is above the points score's (the promotion gate)."""
        b = self.metrics.get("baseline_roc_auc")
        return bool(b is None or np.isnan(b) or self.metrics["roc_auc"] > b)

    def metadata(self, crm=None) -> dict:
        """The registry metadata of this result (JSON-safe)."""
        flagged = self.leakage.loc[self.leakage["flagged"], "source_name"].tolist()
        return {
            "features": self.features,
            "params": self.params,
            "split": self.split,
            "training_window": {"from": self.split.get("train_from"), "to": self.split.get("train_to")},
            "data_fingerprint": (crm.meta.get("fingerprint") if crm is not None else None),
            "data_source": (crm.meta.get("source") if crm is not None else None),
            "mapping": (crm.meta.get("mapping") if crm is not None else None),
            "metrics": self.metrics,
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
    as_of : date, optional
        The training date (default: the latest creation date); leads need ``window_days`` of
        history before it to be labelled.
    window_days, delay_days : see :func:`~funnel_analysis.scoring.features.training_table`.
    test_fraction : float
        Share of the newest labelled leads held out for evaluation.
    kind : {"auto", "gbm", "logistic"}
    model_params : dict, optional
        Extra :class:`LeadScorer` parameters.
    points_profile, points_path : the points-score profile (default: the mapping's name if such a
        profile exists, else ``salesforce``) and YAML file (default: the shipped one).
    split : {"auto", "time", "order", "cv"}
        How the held-out leads are chosen. ``time``: the newest ``test_fraction`` by scoring moment
        (the leads need dates); ``order``: the newest by ``created_order``, a creation sequence such
        as an auto-number, for leads without dates; ``cv``: ``cv_folds``-fold cross-validation.
        ``auto`` takes the first of these the leads allow.
    cv_folds : int
        Folds of the cross-validation.
    n_boot : int
        Bootstrap resamples for the intervals.
    leakage_options : dict, optional
        Thresholds for :func:`~funnel_analysis.scoring.leakage.leakage_report`.

    Raises
    ------
    ScoringDataError
        When the leads lack the outcome, or too few are labelled or converted to learn from.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    table = training_table(crm, as_of=as_of, window_days=window_days, delay_days=delay_days)
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
    present = crm.meta.get("columns_present", {}).get("leads", list(crm.leads.columns))
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
    metrics = evaluate(yt, held["probability"].to_numpy(), n_boot=n_boot, seed=seed)
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
    model: LeadScorer,
    *,
    as_of=None,
    delay_days: float = 0,
    open_only: bool = True,
    top: int = 3,
    reasons: bool = True,
) -> pd.DataFrame:
    """Score the leads of ``crm``: lead_id, probability, score (1-99), top reasons, plus the features.

    Each lead is scored at creation + ``delay_days`` (capped at the end of ``as_of``, default the
    latest creation date) with what was known then. ``open_only`` keeps leads not converted
    by ``as_of``.

    Raises
    ------
    ScoringDataError
        When a feature the model needs cannot be built from the leads.
    """
    leads = crm.leads
    present = crm.meta.get("columns_present", {}).get("leads", list(leads.columns))
    dated = "created_date" in present and leads["created_date"].notna().any()
    if dated:
        if as_of is None:
            as_of = pd.to_datetime(leads["created_date"], utc=True).max().tz_localize(None).normalize()
        cut = scoring_cut(crm, as_of)
        leads = cut.leads
        moments = scoring_moments(leads, delay_days=delay_days, as_of=as_of)
        acts = cut.activities if cut.has("activities") else None
        members = cut.campaign_members if cut.has("campaign_members") else None
    else:
        moments, acts, members = None, None, None
    needed = [c for c in model.feature_names_in_ if c in leads.columns]
    feats = lead_features(
        leads, activities=acts, campaign_members=members, moments=moments, columns=needed, present=present
    )
    if open_only and "is_converted" in leads:
        feats = feats[~leads["is_converted"].fillna(False).astype(bool).to_numpy()].reset_index(drop=True)
    p = model.predict_proba(feats)[:, 1]
    out = pd.DataFrame({"lead_id": feats["lead_id"].to_numpy(), "probability": p, "score": probability_to_score(p)})
    if reasons and len(feats):
        out = pd.concat([out, model.reasons(feats, top=top).reset_index(drop=True)], axis=1)
    return pd.concat([out, feats.drop(columns=["lead_id"]).add_prefix("feature_")], axis=1)


def held_out_predictions(
    crm, model: LeadScorer, split: dict, *, window_days: int = 90, delay_days: float = 0, as_of=None
) -> pd.DataFrame:
    """A model's probabilities on the held-out leads of a recorded ``split`` (to compare versions on
    the same leads): lead_id, converted, probability."""
    table = _held_out_rows(training_table(crm, as_of=as_of, window_days=window_days, delay_days=delay_days), split)
    return pd.DataFrame(
        {
            "lead_id": table["lead_id"].to_numpy(),
            "converted": table["converted"].to_numpy(),
            "probability": model.predict_proba(table)[:, 1],
        }
    )


def drift_report(
    model: LeadScorer, train_table: pd.DataFrame, scored: pd.DataFrame, *, threshold: float = 0.2
) -> pd.DataFrame:
    """PSI of every model feature and of the score (0-100) between the training leads and ``scored``
    (the output of :func:`score_leads`), flagged above ``threshold``. The creation sequence
    (``created_order``) is left out: new leads always come later, so it would always be flagged."""
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
    registry_dir: str = "",
    model_version: str = "",
    as_of=None,
    window_days: int = 90,
    delay_days: float = 0,
    n_boot: int = 200,
) -> TrainingResult:
    """The notebook's entry point: train a new model on ``crm`` when no ``model_version`` is given,
    else load that version from ``registry_dir`` and evaluate it on its own held-out leads of ``crm``
    (with the points score beside it)."""
    if not model_version:
        return train(crm, as_of=as_of, window_days=window_days, delay_days=delay_days, n_boot=n_boot)
    from .registry import Registry

    if not registry_dir:
        raise ValueError("model_version is given but registry_dir is empty")
    model, meta = Registry(registry_dir).load(model_version)
    p = meta["params"]
    table = training_table(crm, as_of=p.get("as_of"), window_days=p["window_days"], delay_days=p["delay_days"])
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
    metrics = evaluate(y, prob, n_boot=n_boot) | {"baseline_roc_auc": float(comparison["roc_auc"].iloc[1])}
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
    )
