"""The lead-scoring report's entry points: one call per section of ``notebooks/lead_scoring.ipynb``.

Each takes the org first and ``as_of`` and ``where`` (which leads, an expression of
:mod:`funnel_analysis.crm.expression`) by keyword, like every report's ``report`` module:

- :func:`load_or_train`: the model of the report, trained here or a registry version evaluated on its
  own held-out leads (:class:`~funnel_analysis.scoring.workflow.TrainingResult`; its methods give the
  evaluation sections: ``summary()``, ``calibration()``, ``gain()``, ``score_bands()``, ``register()``);
- :func:`open_leads`: the open leads scored with that model, the best of them, and the drift between
  them and the training leads (:class:`OpenLeads`).

Examples
--------
>>> from funnel_analysis.scoring import report  # doctest: +SKIP
>>> result = report.load_or_train(crm, where="owner.region == 'EMEA'")  # doctest: +SKIP
>>> report.open_leads(crm, model=result, where="owner.region == 'EMEA'").top  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from .features import _forget_day
from .workflow import TrainingResult, drift_report, load_or_train, score_leads, top_leads

__all__ = ["OpenLeads", "load_or_train", "open_leads"]


@dataclasses.dataclass(frozen=True)
class OpenLeads:
    """The open leads scored as of a day (what :func:`open_leads` returns).

    Attributes
    ----------
    scores : DataFrame
        Every open lead: lead_id, probability, score, reasons, features (see
        :func:`~funnel_analysis.scoring.workflow.score_leads`).
    top : DataFrame
        The best-scored leads with their reasons (see :func:`~funnel_analysis.scoring.workflow.top_leads`).
    drift : DataFrame
        PSI of each feature and of the score against the training leads, flagged above the threshold
        (see :func:`~funnel_analysis.scoring.workflow.drift_report`).
    """

    scores: pd.DataFrame
    top: pd.DataFrame
    drift: pd.DataFrame


def open_leads(
    crm,
    *,
    model: TrainingResult,
    as_of=None,
    where: str | None = None,
    delay_days: float = 0.0,
    n_top: int = 15,
    drift_threshold: float = 0.2,
) -> OpenLeads:
    """Score the open leads with the report's model, keep the best, and measure drift.

    Parameters
    ----------
    crm : CrmData
        The org.
    model : TrainingResult
        The report's model (:func:`load_or_train`): its model scores, its training leads are the
        reference of the drift.
    as_of : date, Timestamp or str, optional
        Score as of the end of this day (``None`` or ``""``: the latest creation date of a lead).
    where : str, optional
        Which leads are scored: an expression of :mod:`funnel_analysis.crm.expression` over the leads;
        ``None`` or ``""`` for all.
    delay_days : float
        Leads are scored this many days after creation, with what was known by then.
    n_top : int
        The best-scored leads kept in ``top``.
    drift_threshold : float
        PSI above which a feature or the score has drifted.

    Returns
    -------
    OpenLeads
        scores, top and drift.

    Raises
    ------
    ValueError
        When no open lead is left to score (drift needs some), or ``n_top`` is below 1.
    ExpressionError
        When ``where`` is not a valid expression over the leads.
    """
    scored = score_leads(crm, model=model.model, as_of=as_of, where=where, delay_days=delay_days)
    _forget_day(crm)  # the day's leads, kept since the training table, are not asked for again
    return OpenLeads(
        scores=scored,
        top=top_leads(scored, n=n_top),
        drift=drift_report(scored, model.table, model=model.model, threshold=drift_threshold),
    )
