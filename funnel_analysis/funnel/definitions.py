"""What every headline figure counts: one written definition per figure, built from the choices a company sets.

Companies define the same figure differently, and a sales leader first compares the win rate with
the one on their Salesforce dashboard. The choices that differ from company to company are settable
(:class:`KpiChoices`, and the same names as keyword arguments of :func:`funnel_analysis.funnel.kpis`
and :func:`funnel_analysis.funnel.report.kpis`):

- ``win_rate_basis``: win rate by ``"count"`` (won deals / closed deals, the default) or by
  ``"amount"`` (amount won / amount closed);
- ``cohort``: with a ``period``, which date puts an opportunity in a fiscal period: ``"closed"`` (its
  close date; for an open deal the expected close date, as Salesforce's "closing this quarter"
  reports do; the default) or ``"created"`` (its creation date);
- ``exclude_stages`` and ``exclude_types``: stages (``StageName``) and opportunity types (``Type``)
  left out of every opportunity figure (renewals inflate win rate and bookings);
- ``new_business_only``: only the opportunities whose ``business_type`` (the org profile's
  new business / renewal / expansion, from ``Type`` or ``RecordTypeId``) is new business.

Whatever the choices, deleted and merged records (``IsDeleted``, the Recycle Bin, as Salesforce's own
reports leave them out) and quarantined rows (the data-quality report lists them) are in no figure.

:func:`kpi_definitions` gives a :class:`KpiDefinition` per figure of :data:`KPI_FIGURES`, its text
made from the same choices the figures were computed with, so the text always says what the code
did; :func:`definitions_note` is the one line every KPI table carries in ``attrs["note"]``.

Examples
--------
>>> d = kpi_definitions(period="Q", win_rate_basis="amount", exclude_types=["Renewal"])
>>> print(d["win_rate"].text)
win_rate: amount won / amount closed (won + lost), by amount: closed deals without an amount are left out; \
opportunities whose close date (the expected one while open) is in the fiscal quarter (the fiscal year \
starting in January), won or lost by the as-of day; left out: opportunities of type Renewal; deleted and \
merged records and quarantined rows
>>> definitions_note(win_rate_basis="count")
'win rate by count (won / closed); opportunities created by the as-of day; left out: deleted and merged records and quarantined rows'
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from types import MappingProxyType

from ..periods import FiscalCalendar

__all__ = [
    "KPI_FIGURES",
    "HEADLINE_FIGURES",
    "WIN_RATE_BASES",
    "COHORTS",
    "NEW_BUSINESS",
    "KpiChoices",
    "KpiDefinition",
    "kpi_definitions",
    "definitions_note",
    "business_key",
]

#: The figures of :func:`funnel_analysis.funnel.kpis`, in their order.
KPI_FIGURES = (
    "leads",
    "leads_converted",
    "lead_conversion_rate",
    "lead_conversion_rate_n",
    "lead_conversion_rate_ci_low",
    "lead_conversion_rate_ci_high",
    "opportunities",
    "opportunities_open",
    "opportunities_won",
    "opportunities_lost",
    "win_rate",
    "win_rate_n",
    "win_rate_ci_low",
    "win_rate_ci_high",
    "won_amount",
    "avg_won_deal_size",
    "avg_won_deal_size_n",
    "median_cycle_days",
    "median_cycle_days_n",
    "mean_cycle_days",
    "mean_cycle_days_n",
    "cycle_undated_excluded",
    "open_pipeline_amount",
    "open_pipeline_amount_n",
)
#: The headline figures (the others are their denominators, intervals and counts of what was left out).
HEADLINE_FIGURES = (
    "leads",
    "leads_converted",
    "lead_conversion_rate",
    "opportunities",
    "opportunities_open",
    "opportunities_won",
    "opportunities_lost",
    "win_rate",
    "won_amount",
    "avg_won_deal_size",
    "median_cycle_days",
    "mean_cycle_days",
    "open_pipeline_amount",
)
#: ``win_rate_basis`` values.
WIN_RATE_BASES = ("count", "amount")
#: ``cohort`` values: the date that puts an opportunity in a period.
COHORTS = ("closed", "created")
#: The ``business_type`` of new business, as :func:`business_key` spells a value.
NEW_BUSINESS = "new_business"

_PERIOD_NAMES = {"Q": "fiscal quarter", "M": "fiscal month", "Y": "fiscal year"}
_ALWAYS_LEFT_OUT = "deleted and merged records and quarantined rows"


def business_key(value) -> str:
    """A ``business_type`` value as compared: trimmed, case-folded, spaces and hyphens as ``_``.

    Parameters
    ----------
    value : object
        A value of the ``business_type`` column (``"New Business"``, ``"new_business"``).

    Returns
    -------
    str
        ``"new_business"`` for both examples; ``""`` for a missing value.

    Examples
    --------
    >>> business_key(" New Business"), business_key("new-business"), business_key(None)
    ('new_business', 'new_business', '')
    """
    if value is None or value != value:  # None or NaN / NA
        return ""
    return "_".join(str(value).strip().casefold().replace("-", " ").split())


def _names(value, key: str) -> tuple[str, ...]:
    """A list of stage or type names: a sequence, or one text of names separated by commas."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, Sequence) and not isinstance(value, (set, frozenset)):
        raise ValueError(f"{key}: expected a list of names, got {type(value).__name__}")
    out = []
    for v in value:
        if not isinstance(v, str):
            raise ValueError(f"{key}: expected names (text), got {v!r}")
        if v.strip() and v.strip() not in out:
            out.append(v.strip())
    return tuple(out)


@dataclass(frozen=True)
class KpiChoices:
    """The settable parts of the KPI definitions, checked.

    Attributes
    ----------
    win_rate_basis : {"count", "amount"}
        Win rate by count (won / closed deals) or by amount (amount won / amount closed).
    cohort : {"closed", "created"}
        With a period: the close date (the expected one while open) or the creation date puts an
        opportunity in its fiscal period.
    exclude_stages : tuple of str
        Stage names left out of every opportunity figure (compared trimmed and case-folded); a text
        of names separated by commas is split.
    exclude_types : tuple of str
        Opportunity ``Type`` values left out of every opportunity figure, compared the same way.
    new_business_only : bool
        Only the opportunities whose ``business_type`` is new business (:data:`NEW_BUSINESS`).

    Raises
    ------
    ValueError
        When a choice is not one of its values; the message names the choice and what was expected.

    Examples
    --------
    >>> KpiChoices(exclude_types="Renewal, Upsell").exclude_types
    ('Renewal', 'Upsell')
    >>> KpiChoices(win_rate_basis="value")
    Traceback (most recent call last):
    ...
    ValueError: win_rate_basis: expected 'count' or 'amount', got 'value'
    """

    win_rate_basis: str = "count"
    cohort: str = "closed"
    exclude_stages: tuple[str, ...] = ()
    exclude_types: tuple[str, ...] = ()
    new_business_only: bool = False

    def __post_init__(self):
        for name, allowed in (("win_rate_basis", WIN_RATE_BASES), ("cohort", COHORTS)):
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"{name}: expected {allowed[0]!r} or {allowed[1]!r}, got {value!r}")
        for name in ("exclude_stages", "exclude_types"):
            object.__setattr__(self, name, _names(getattr(self, name), name))
        if not isinstance(self.new_business_only, bool):
            raise ValueError(f"new_business_only: expected true or false, got {self.new_business_only!r}")

    @classmethod
    def from_mapping(cls, mapping: Mapping) -> KpiChoices:
        """The choices of a profile's mapping (``{"win_rate_basis": "amount", ...}``); unknown keys are refused.

        Parameters
        ----------
        mapping : Mapping
            Choice name -> value; a missing choice keeps its default.

        Returns
        -------
        KpiChoices
            The checked choices.

        Raises
        ------
        ValueError
            When a key is not a choice or a value is not one of its values (one line naming the key).

        Examples
        --------
        >>> KpiChoices.from_mapping({"win_rate_basis": "amount"}).win_rate_basis
        'amount'
        >>> KpiChoices.from_mapping({"basis": "amount"})
        Traceback (most recent call last):
        ...
        ValueError: basis: not a KPI choice (expected one of win_rate_basis, cohort, exclude_stages, exclude_types, new_business_only)
        """
        if not isinstance(mapping, Mapping):
            raise ValueError(f"expected a mapping of KPI choices, got {type(mapping).__name__}")
        names = [f.name for f in fields(cls)]
        for key in mapping:
            if key not in names:
                raise ValueError(f"{key}: not a KPI choice (expected one of {', '.join(names)})")
        return cls(**dict(mapping))

    def as_kwargs(self) -> Mapping[str, object]:
        """The choices as the keyword arguments of the KPI functions (``kpis(..., **choices.as_kwargs())``).

        Returns
        -------
        Mapping
            Choice name -> value, read-only.

        Examples
        --------
        >>> dict(KpiChoices().as_kwargs())["cohort"]
        'closed'
        """
        return MappingProxyType({f.name: getattr(self, f.name) for f in fields(self)})


@dataclass(frozen=True)
class KpiDefinition:
    """One figure's written definition: what is counted, over which period, and what is left out.

    Attributes
    ----------
    figure : str
        The figure (a column of :func:`funnel_analysis.funnel.kpis`).
    counted : str
        What is counted, and how (``"won / closed (won + lost) opportunities, by count"``).
    period : str
        Which records, over which period (``"opportunities created by the as-of day"``).
    left_out : str
        What is left out (excluded stages and types, deleted and quarantined rows).
    text : str
        The whole definition in one line: ``"<figure>: <counted>; <period>; left out: <left_out>"``.

    Examples
    --------
    >>> kpi_definitions()["opportunities_open"].counted
    'of those, the ones open on the as-of day'
    """

    figure: str
    counted: str
    period: str
    left_out: str

    @property
    def text(self) -> str:
        """The whole definition in one line."""
        return f"{self.figure}: {self.counted}; {self.period}; left out: {self.left_out}"


def _fiscal(period: str, fiscal_year_start_month: int) -> str:
    if period not in _PERIOD_NAMES:
        raise ValueError(f"period: expected 'Q', 'M' or 'Y', got {period!r}")
    if isinstance(fiscal_year_start_month, FiscalCalendar):
        return f"the {_PERIOD_NAMES[period]} ({fiscal_year_start_month.describe()})"
    if not isinstance(fiscal_year_start_month, int) or not 1 <= fiscal_year_start_month <= 12:
        raise ValueError(f"fiscal_year_start_month: expected 1 to 12, got {fiscal_year_start_month!r}")
    return f"the {_PERIOD_NAMES[period]} (the fiscal year starting in {calendar.month_name[fiscal_year_start_month]})"


def _opportunity_scope(choices: KpiChoices, period, fiscal_year_start_month: int, *, outcome: str = "") -> str:
    """Which opportunities a figure counts, over which period."""
    if period is None:
        return "opportunities created by the as-of day" + (f", {outcome} by then" if outcome else "")
    span = _fiscal(period, fiscal_year_start_month)
    if choices.cohort == "closed":
        scope = f"opportunities whose close date (the expected one while open) is in {span}"
    else:
        scope = f"opportunities created in {span}"
    return scope + (f", {outcome} by the as-of day" if outcome else "")


def _lead_scope(period, fiscal_year_start_month: int) -> str:
    if period is None:
        return "leads created by the as-of day"
    return f"leads created in {_fiscal(period, fiscal_year_start_month)} (the cohort choice is for opportunities)"


def _left_out(choices: KpiChoices, *, opportunities: bool) -> str:
    parts = []
    if opportunities:
        if choices.exclude_stages:
            parts.append(f"opportunities in stage {', '.join(choices.exclude_stages)}")
        if choices.exclude_types:
            parts.append(f"opportunities of type {', '.join(choices.exclude_types)}")
        if choices.new_business_only:
            parts.append("opportunities whose business_type is not new business (renewals, expansions)")
    return "; ".join([*parts, _ALWAYS_LEFT_OUT])


def _counted(figure: str, choices: KpiChoices) -> str:
    amount = choices.win_rate_basis == "amount"
    win_rate = (
        "amount won / amount closed (won + lost), by amount: closed deals without an amount are left out"
        if amount
        else "won / closed (won + lost) opportunities, by count"
    )
    valid_cycle = "the won opportunities with a valid cycle (dated, not closing before creation)"
    return {
        "leads": "leads",
        "leads_converted": "of those leads, the ones converted by the as-of day (unknown when the leads record no conversion)",
        "lead_conversion_rate": "leads_converted / leads",
        "lead_conversion_rate_n": "the leads behind lead_conversion_rate",
        "lead_conversion_rate_ci_low": "lower bound of the 95 % Wilson interval of lead_conversion_rate",
        "lead_conversion_rate_ci_high": "upper bound of the 95 % Wilson interval of lead_conversion_rate",
        "opportunities": "opportunities",
        "opportunities_open": "of those, the ones open on the as-of day",
        "opportunities_won": "of those, the ones won by the as-of day",
        "opportunities_lost": "of those, the ones lost by the as-of day",
        "win_rate": win_rate,
        "win_rate_n": (
            "the closed opportunities with an amount behind win_rate"
            if amount
            else "the closed opportunities behind win_rate"
        ),
        "win_rate_ci_low": (
            "none by amount (an amount ratio is not a share of cases): missing"
            if amount
            else "lower bound of the 95 % Wilson interval of win_rate"
        ),
        "win_rate_ci_high": (
            "none by amount (an amount ratio is not a share of cases): missing"
            if amount
            else "upper bound of the 95 % Wilson interval of win_rate"
        ),
        "won_amount": "sum of the amounts of the won opportunities (bookings), in the corporate currency",
        "avg_won_deal_size": "mean amount of the won opportunities that have one",
        "avg_won_deal_size_n": "the won opportunities with an amount",
        "median_cycle_days": "median days from creation to close of the won opportunities",
        "median_cycle_days_n": valid_cycle,
        "mean_cycle_days": "mean days from creation to close of the won opportunities",
        "mean_cycle_days_n": valid_cycle,
        "cycle_undated_excluded": "won opportunities without a creation date, left out of the cycle figures",
        "open_pipeline_amount": "sum of the amounts of the opportunities open on the as-of day",
        "open_pipeline_amount_n": "the open opportunities with an amount",
    }[figure]


_OUTCOME = {
    "opportunities_won": "won",
    "opportunities_lost": "lost",
    "win_rate": "won or lost",
    "win_rate_n": "won or lost",
    "win_rate_ci_low": "won or lost",
    "win_rate_ci_high": "won or lost",
    "won_amount": "won",
    "avg_won_deal_size": "won",
    "avg_won_deal_size_n": "won",
    "median_cycle_days": "won",
    "median_cycle_days_n": "won",
    "mean_cycle_days": "won",
    "mean_cycle_days_n": "won",
    "cycle_undated_excluded": "won",
}


def kpi_definitions(
    *,
    period: str | None = None,
    fiscal_year_start_month: int = 1,
    win_rate_basis: str = "count",
    cohort: str = "closed",
    exclude_stages: Sequence[str] = (),
    exclude_types: Sequence[str] = (),
    new_business_only: bool = False,
) -> Mapping[str, KpiDefinition]:
    """The definition of every figure of :data:`KPI_FIGURES` under these choices.

    Parameters
    ----------
    period : {"Q", "M", "Y"}, optional
        The figures per fiscal period (:func:`funnel_analysis.funnel.kpis` with ``period``); ``None``:
        the org as of the day.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    win_rate_basis, cohort, exclude_stages, exclude_types, new_business_only
        The choices (:class:`KpiChoices`).

    Returns
    -------
    Mapping
        Figure -> :class:`KpiDefinition`, in the order of :data:`KPI_FIGURES`, read-only.

    Raises
    ------
    ValueError
        When a choice, the period or the fiscal year's first month is not one of its values.

    Examples
    --------
    >>> d = kpi_definitions(period="Q", cohort="created", fiscal_year_start_month=2)
    >>> d["win_rate"].period
    'opportunities created in the fiscal quarter (the fiscal year starting in February), won or lost by the as-of day'
    >>> d["leads"].text
    'leads: leads; leads created in the fiscal quarter (the fiscal year starting in February) (the cohort choice is for opportunities); left out: deleted and merged records and quarantined rows'
    """
    choices = KpiChoices(
        win_rate_basis=win_rate_basis,
        cohort=cohort,
        exclude_stages=exclude_stages,
        exclude_types=exclude_types,
        new_business_only=new_business_only,
    )
    if period is not None:
        _fiscal(period, fiscal_year_start_month)
    out = {}
    for figure in KPI_FIGURES:
        lead = figure.startswith("lead")
        scope = (
            _lead_scope(period, fiscal_year_start_month)
            if lead
            else _opportunity_scope(choices, period, fiscal_year_start_month, outcome=_OUTCOME.get(figure, ""))
        )
        out[figure] = KpiDefinition(
            figure, _counted(figure, choices), scope, _left_out(choices, opportunities=not lead)
        )
    return MappingProxyType(out)


def definitions_note(
    *,
    period: str | None = None,
    fiscal_year_start_month: int = 1,
    win_rate_basis: str = "count",
    cohort: str = "closed",
    exclude_stages: Sequence[str] = (),
    exclude_types: Sequence[str] = (),
    new_business_only: bool = False,
) -> str:
    """The choices behind a KPI table in one line, for its ``attrs["note"]`` (shown under the table).

    Parameters
    ----------
    period : {"Q", "M", "Y"}, optional
        The table's fiscal period, or ``None`` for the org as of the day.
    fiscal_year_start_month : int or FiscalCalendar, default 1
        First month of the fiscal year.
    win_rate_basis, cohort, exclude_stages, exclude_types, new_business_only
        The choices (:class:`KpiChoices`).

    Returns
    -------
    str
        ``"win rate by count (won / closed); <which opportunities>; left out: <what>"``.

    Raises
    ------
    ValueError
        As :func:`kpi_definitions`.

    Examples
    --------
    >>> definitions_note(period="Q", win_rate_basis="amount", exclude_stages="Closed Duplicate")
    'win rate by amount (amount won / amount closed); opportunities whose close date (the expected one while open) is in the fiscal quarter (the fiscal year starting in January); left out: opportunities in stage Closed Duplicate; deleted and merged records and quarantined rows'
    """
    d = kpi_definitions(
        period=period,
        fiscal_year_start_month=fiscal_year_start_month,
        win_rate_basis=win_rate_basis,
        cohort=cohort,
        exclude_stages=exclude_stages,
        exclude_types=exclude_types,
        new_business_only=new_business_only,
    )
    basis = "by amount (amount won / amount closed)" if win_rate_basis == "amount" else "by count (won / closed)"
    return f"win rate {basis}; {d['opportunities'].period}; left out: {d['opportunities'].left_out}"
