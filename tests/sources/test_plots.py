"""Charts of funnel_analysis.sources.plots: axes returned, titles and units set, money formatted,
the waterfall's bars reconcile with the totals, bad input refused, no show()."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from funnel_analysis.sources.pipeline_changes import PipelineWaterfall
from funnel_analysis.sources.plots import (
    WATERFALL_STEPS,
    plot_attribution,
    plot_pipeline_waterfall,
    plot_source_conversion,
)
from tests.plot_helpers import _close_figures, _tick_labels  # noqa: F401  (autouse fixture)

TOTALS = pd.DataFrame(
    {
        "start": [555500.0],
        "new": [1139700.0],
        "pulled_in": [0.0],
        "pushed_out": [0.0],
        "amount_up": [2300.0],
        "amount_down": [14500.0],
        "won": [239400.0],
        "lost": [789000.0],
        "end": [654600.0],
        "n_opportunities": [66],
    }
)


def test_waterfall_bars_reconcile_and_are_labelled():
    ax = plot_pipeline_waterfall(TOTALS, currency="€")
    assert isinstance(ax, plt.Axes) and ax.get_title() == "Open pipeline: how it moved"
    assert "€" in ax.get_ylabel()
    bars = ax.patches
    assert len(bars) == len(WATERFALL_STEPS)
    # the last bar's top is the end level, and each step bar spans its component
    assert bars[-1].get_height() == pytest.approx(654600.0)
    heights = [b.get_height() for b in bars]
    at = {k: i for i, (k, _, _) in enumerate(WATERFALL_STEPS)}
    assert heights[at["new"]] == pytest.approx(1139700.0) and heights[at["lost"]] == pytest.approx(789000.0)
    assert heights[at["fx_up"]] == heights[at["fx_down"]] == 0  # a single-currency result has no fx columns
    # lost starts where it ends: its top is the running total before it
    lost = bars[at["lost"]]
    assert lost.get_y() == pytest.approx(654600.0) and lost.get_y() + lost.get_height() == pytest.approx(1443600.0)
    texts = [t.get_text() for t in ax.texts]
    assert "€555,500" in texts and "+€1,139,700" in texts and "-€789,000" in texts and "€654,600" in texts
    assert all(lbl.startswith("€") for lbl in _tick_labels(ax.yaxis))
    assert any("," in lbl for lbl in _tick_labels(ax.yaxis))


def test_waterfall_draws_the_exchange_rate_movement():
    # by hand: 100 + 20 (fx up) - 5 (fx down) - 15 (won) = 100
    totals = TOTALS.iloc[:, :0].assign(
        start=[100.0],
        new=[0.0],
        pulled_in=[0.0],
        pushed_out=[0.0],
        amount_up=[0.0],
        amount_down=[0.0],
        fx_up=[20.0],
        fx_down=[5.0],
        won=[15.0],
        lost=[0.0],
        end=[100.0],
    )
    ax = plot_pipeline_waterfall(totals, hide_zero=True)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["start", "exchange rates up", "exchange rates down", "won", "end"]
    fx_down = ax.patches[2]
    assert (fx_down.get_y(), fx_down.get_height()) == (pytest.approx(115.0), pytest.approx(5.0))


def test_waterfall_hides_zero_steps_and_names_the_ends():
    ax = plot_pipeline_waterfall(
        TOTALS.iloc[0], hide_zero=True, start_label="2025-09-30", end_label="2025-12-31", title="Q4"
    )
    labels = _tick_labels(ax.xaxis)
    assert labels[0] == "2025-09-30" and labels[-1] == "2025-12-31"
    assert "pulled in" not in labels and "pushed out" not in labels and "won" in labels
    assert ax.get_title() == "Q4"


def test_waterfall_on_given_axes_and_bad_input():
    fig, ax = plt.subplots()
    assert plot_pipeline_waterfall(TOTALS, ax=ax) is ax
    with pytest.raises(ValueError, match="one row"):
        plot_pipeline_waterfall(pd.concat([TOTALS, TOTALS]))
    with pytest.raises(ValueError, match="missing"):
        plot_pipeline_waterfall(TOTALS.drop(columns="won"))
    with pytest.raises(TypeError):  # ax is keyword-only
        plot_pipeline_waterfall(TOTALS, ax)


Q4 = (pd.Timestamp("2025-10-01"), pd.Timestamp("2025-12-31"))


def _result(period="FY2025-Q4", window=Q4):
    return PipelineWaterfall(
        per_opportunity=pd.DataFrame(),
        totals=TOTALS,
        start=pd.Timestamp("2025-09-30"),
        end=pd.Timestamp("2025-12-31"),
        close_window=window,
        period=period,
    )


def test_waterfall_of_a_result_names_its_days_and_period():
    ax = plot_pipeline_waterfall(_result(), hide_zero=True)
    labels = _tick_labels(ax.xaxis)
    assert labels[0] == "2025-09-30" and labels[-1] == "2025-12-31"
    assert ax.get_title() == "FY2025-Q4 pipeline: open deals due to close in the quarter"
    assert plot_pipeline_waterfall(_result("FY2025-M12")).get_title().endswith("close in the month")
    assert plot_pipeline_waterfall(_result("FY2025")).get_title().endswith("close in the year")
    # two days given by hand, no window: the generic title; given labels and title win
    assert plot_pipeline_waterfall(_result("", None)).get_title() == "Open pipeline: how it moved"
    ax = plot_pipeline_waterfall(_result(), start_label="from", title="T")
    assert _tick_labels(ax.xaxis)[0] == "from" and ax.get_title() == "T"


SUMMARY = pd.DataFrame(
    {
        "campaign_id": ["A", "B", "C", "(no campaign)"],
        "name": ["Webinar", "Paid search", None, None],
        "first_touch_opportunities": [1.0, 2.0, 1.0, 5.0],
        "first_touch_value": [1000.0, 52000.0, 300.0, 9e6],
        "last_touch_opportunities": [1.0, 2.0, 1.0, 5.0],
        "last_touch_value": [30000.0, 23000.0, 300.0, 9e6],
        "linear_opportunities": [1.0, 2.0, 1.0, 5.0],
        "linear_value": [15500.0, 37500.0, 300.0, 9e6],
        "u_shaped_opportunities": [1.0, 2.0, 1.0, 5.0],
        "u_shaped_value": [15500.0, 37500.0, 300.0, 9e6],
    }
)


def test_attribution_grouped_bars_top_campaigns():
    ax = plot_attribution(SUMMARY, top=2)
    assert isinstance(ax, plt.Axes) and "top 2 campaigns" in ax.get_title()
    assert len(ax.patches) == 2 * 4  # two campaigns, four models
    labels = _tick_labels(ax.yaxis)
    assert labels == ["Webinar", "Paid search"]  # largest on top (the y axis grows upwards)
    assert "(no campaign)" not in labels
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["u shaped", "linear", "last touch", "first touch"]
    xt = _tick_labels(ax.xaxis)
    assert all(t.startswith("$") for t in xt) and any("," in t for t in xt)
    assert "$" in ax.get_xlabel()


def test_attribution_options_and_errors():
    ax = plot_attribution(SUMMARY, models=["linear"], include_unattributed=True, label="campaign_id", currency="£")
    assert "(no campaign)" in _tick_labels(ax.yaxis) and len(ax.patches) == 4
    assert "£" in ax.get_xlabel()
    ax = plot_attribution(SUMMARY, top=10)
    assert "C" in _tick_labels(ax.yaxis)  # a campaign without a name is labelled by its ID
    with pytest.raises(ValueError, match="model"):
        plot_attribution(SUMMARY, models=["w_shaped"])
    with pytest.raises(ValueError, match="top"):
        plot_attribution(SUMMARY, top=0)


def test_source_conversion_reuses_the_interval_chart():
    m = pd.DataFrame(
        {
            "lead_source": ["Web", "Referral"],
            "leads": [100, 40],
            "converted": [10, 12],
            "conversion_rate": [0.1, 0.3],
            "conversion_rate_ci_low": [0.05, 0.18],
            "conversion_rate_ci_high": [0.17, 0.45],
            "closed": [10, 12],
            "won": [2, 6],
            "win_rate": [0.2, 0.5],
            "win_rate_ci_low": [0.05, 0.25],
            "win_rate_ci_high": [0.5, 0.75],
        }
    )
    ax = plot_source_conversion(m)
    assert ax.get_title() == "Lead to opportunity conversion by lead source"
    assert _tick_labels(ax.yaxis) == ["Web  (n=100)", "Referral  (n=40)"]
    assert all(t.endswith("%") for t in _tick_labels(ax.xaxis))
    ax = plot_source_conversion(m, rate="win_rate")
    assert "Win rate" in ax.get_title() and "Referral  (n=12)" in _tick_labels(ax.yaxis)
    with pytest.raises(ValueError, match="rate"):
        plot_source_conversion(m, rate="pipeline_created")
    assert np.isfinite(ax.get_xlim()).all()
    by_type = m.rename(columns={"lead_source": "lead_type"})
    assert plot_source_conversion(by_type, by="lead_type").get_title() == "Lead to opportunity conversion by lead type"


def test_marked_results_draw_their_reason():
    from funnel_analysis._util.missing import mark_missing
    from funnel_analysis.sources.plots import plot_attribution, plot_source_conversion

    reason = "the export has no campaign members (CampaignMember.csv): no deal can be credited to a campaign"
    summary = mark_missing(pd.DataFrame({"campaign_id": [], "linear_value": []}), reason)
    ax = plot_attribution(summary)
    assert [t.get_text() for t in ax.texts] == [f"Not shown: {reason}."] and not ax.axison
    matrix = mark_missing(pd.DataFrame({"lead_source": [], "conversion_rate": []}), "no leads")
    assert [t.get_text() for t in plot_source_conversion(matrix).texts] == ["Not shown: no leads."]
