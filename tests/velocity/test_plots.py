"""Charts of funnel_analysis.velocity.plots: axes returned, titles and units set, the survival curves
agree with statsmodels' Kaplan-Meier estimate, money and rates formatted, bad input refused, no show()."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

from funnel_analysis.velocity.plots import plot_stage_survival, plot_velocity_factors
from tests.plot_helpers import _close_figures, _tick_labels  # noqa: F401  (autouse fixture)

STAGES = pd.DataFrame(
    {
        "stage_name": ["Qualify", "Propose", "Won", "Lost"],
        "sort_order": [1, 2, 3, 4],
        "is_closed": [False, False, True, True],
        "is_won": [False, False, True, False],
    }
)
INTERVALS = pd.DataFrame(
    {
        "opportunity_id": list("abcdefgh"),
        "stage_name": ["Qualify"] * 5 + ["Propose"] * 2 + ["Won"],
        "days": [2.0, 4.0, 6.0, 8.0, 30.0, 10.0, 12.0, np.nan],
        "censored": [False, False, True, False, True, False, True, False],
    }
)


def test_survival_curves_per_open_stage_match_kaplan_meier():
    ax = plot_stage_survival(INTERVALS, stages=STAGES)
    assert isinstance(ax, plt.Axes)
    assert ax.get_title() == "Time in stage: share of deals still in the stage (Kaplan-Meier)"
    assert "days" in ax.get_xlabel() and "share" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("Qualify (n=5") and labels[1].startswith("Propose (n=2")
    assert not any(lbl.startswith("Won") for lbl in labels)  # closed stages have no duration
    curve = ax.get_lines()[0]  # the Qualify step curve
    sf = SurvfuncRight(np.array([2.0, 4.0, 6.0, 8.0, 30.0]), np.array([1, 1, 0, 1, 0]))
    np.testing.assert_allclose(curve.get_ydata(), np.r_[1.0, sf.surv_prob])
    np.testing.assert_allclose(curve.get_xdata(), np.r_[0.0, sf.surv_times])
    assert f"median {sf.quantile(0.5):,.0f} d" in labels[0]
    assert all(t.endswith("%") for t in _tick_labels(ax.yaxis))


def test_survival_marks_censored_visits_and_handles_all_open():
    ax = plot_stage_survival(INTERVALS, stages=STAGES, max_days=40, title="T")
    marks = [ln for ln in ax.get_lines() if ln.get_marker() == "+"]
    assert sum(len(m.get_xdata()) for m in marks) == 3  # three visits still open
    assert ax.get_xlim() == (0, 40) and ax.get_title() == "T"
    only_open = INTERVALS.assign(censored=True)
    ax = plot_stage_survival(only_open, stages=STAGES)
    assert "median not reached" in ax.get_legend().get_texts()[0].get_text()
    ax = plot_stage_survival(INTERVALS.iloc[:0], stages=STAGES)
    assert ax.texts and "No stage visit" in ax.texts[0].get_text()
    with pytest.raises(ValueError, match="censored"):
        plot_stage_survival(INTERVALS.drop(columns="censored"), stages=STAGES)


def _velocity(n=4):
    periods = [f"FY2025-Q{i + 1}" for i in range(n)]
    base = pd.DataFrame(
        {
            "period": periods,
            "complete": [True] * (n - 1) + [False],
            "n_open": np.arange(10, 10 + n),
            "n_closed": 20,
            "n_won": 5,
            "win_rate": np.linspace(0.2, 0.3, n),
            "avg_won_amount": np.linspace(20000, 26000, n),
            "avg_cycle_days": np.linspace(60, 50, n),
        }
    )
    base["velocity"] = base["n_open"] * base["win_rate"] * base["avg_won_amount"] / base["avg_cycle_days"]
    for c in ("win_rate", "avg_won_amount", "avg_cycle_days", "velocity"):
        base[f"{c}_ci_low"], base[f"{c}_ci_high"] = base[c] * 0.8, base[c] * 1.2
    return base


def test_velocity_factors_panels():
    top = plot_velocity_factors(_velocity(), currency="€")
    axes = top.figure.axes
    assert axes[0] is top and len(axes) == 5 and all(isinstance(a, plt.Axes) for a in axes)
    assert [a.get_title(loc="left") for a in axes] == [
        "Sales velocity (€ per day)",
        "Open deals at the period's start",
        "Win rate (won / closed)",
        "Average won deal",
        "Average cycle of won deals",
    ]
    assert "velocity" in axes[0].figure._suptitle.get_text().lower()
    assert all(t.startswith("€") for t in _tick_labels(axes[0].yaxis))
    assert any("," in t for t in _tick_labels(axes[3].yaxis)) and all(
        t.startswith("€") for t in _tick_labels(axes[3].yaxis)
    )
    assert all(t.endswith("%") for t in _tick_labels(axes[2].yaxis))
    assert _tick_labels(axes[-1].xaxis) == ["FY2025-Q1", "FY2025-Q2", "FY2025-Q3", "FY2025-Q4"]
    assert axes[4].get_ylabel() == "days" and axes[1].get_ylabel() == "deals"
    hollow = [ln for ln in axes[0].get_lines() if ln.get_label() == "period still running"]
    assert len(hollow) == 1 and list(hollow[0].get_xdata()) == [3]
    np.testing.assert_allclose(axes[0].get_lines()[0].get_ydata(), _velocity()["velocity"])


def test_velocity_factors_options_and_errors():
    fig, axes = plt.subplots(5, 1)
    out = plot_velocity_factors(_velocity(), ax=axes, complete_only=True, title="V")
    assert out is axes[0] and fig._suptitle.get_text() == "V"
    assert len(_tick_labels(axes[-1].xaxis)) == 3  # the running period left out
    with pytest.raises(ValueError, match="missing"):
        plot_velocity_factors(_velocity().drop(columns="win_rate"))
    with pytest.raises(ValueError, match="several rows"):
        plot_velocity_factors(pd.concat([_velocity(), _velocity()]))
    with pytest.raises(ValueError, match="5 axes"):
        plot_velocity_factors(_velocity(), ax=axes[:2])


def test_a_table_marked_missing_is_drawn_as_its_reason():
    from funnel_analysis._util.missing import mark_missing

    reason = "the export has no stage table (OpportunityStage.csv)"
    ax = plot_stage_survival(mark_missing(INTERVALS.iloc[:0], reason), stages=STAGES)
    assert [t.get_text() for t in ax.texts] == [reason] and not ax.axison and not ax.lines
    velocity = mark_missing(pd.DataFrame(columns=["period", "velocity"]), reason)
    ax = plot_velocity_factors(velocity)
    assert [t.get_text() for t in ax.texts] == [reason] and not ax.axison


def test_slipped_deals_bars_and_intervals():
    import pandas as pd

    from funnel_analysis.velocity.plots import plot_slipped_deals

    t = pd.DataFrame(
        {
            "slip_history": ["slipped before", "never slipped", "unknown"],
            "n_closed": [40, 120, 7],
            "win_rate": [0.2, 0.35, 0.5],
            "win_rate_ci_low": [0.1, 0.27, 0.2],
            "win_rate_ci_high": [0.35, 0.44, 0.8],
        }
    )
    ax = plot_slipped_deals(t)
    widths = sorted(round(p.get_width(), 2) for p in ax.patches)
    assert widths == [0.2, 0.35, 0.5]
    # top to bottom in the table's order
    by_height = sorted(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels())), reverse=True)
    assert [label for _, label in by_height] == ["slipped before", "never slipped", "unknown"]
    assert any(text.get_text() == "120 closed" for text in ax.texts)
    with pytest.raises(ValueError, match="slipped_deals"):
        plot_slipped_deals(t.drop(columns="win_rate"))
