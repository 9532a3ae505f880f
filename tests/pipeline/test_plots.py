"""funnel_analysis.pipeline.plots: what the charts draw, on tables built by hand."""

from __future__ import annotations

import warnings

import matplotlib
import pandas as pd
import pytest

from funnel_analysis._util.missing import mark_missing
from funnel_analysis.pipeline.plots import plot_board, plot_hygiene_summary

matplotlib.use("Agg")


def _cards() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "column": [1, 1, 2],
            "stage_name": ["Qualify", "Qualify", "Propose"],
            "card": [1, 2, 1],
            "opportunity_id": ["A", "B", "C"],
            "name": ["成都创帆物流 - Team Plan", "Globex", "Initech"],
            "owner_name": ["Ann Lee", "Bo Chen", None],
            "amount": [1234.5, None, 10.0],
            "days_in_stage": pd.array([11, None, 1], dtype="Int64"),
            "next_step": ["Demo", None, "Sign"],
            "stage_deals": [5, 5, 1],
            "stage_amount": [2000.0, 2000.0, 10.0],
        }
    )


def test_board_draws_every_column_card_and_more_line():
    ax = plot_board(_cards(), columns=["Qualify", "Propose", "Negotiate"], currency="EUR")
    texts = [t.get_text() for t in ax.texts]
    assert {"Qualify", "Propose", "Negotiate"} <= set(texts)
    assert "5 deals · €2,000" in texts and "no open deal" in texts
    assert "+3 more" in texts  # 5 deals, 2 cards
    assert "Ann Lee · €1,234" in texts and "11 days in stage" in texts and "Next: Demo" in texts
    assert "days in stage unknown" in texts and "Next: –" in texts and "1 day in stage" in texts


def test_board_with_names_in_any_script_draws_without_a_warning():
    ax = plot_board(_cards())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax.figure.canvas.draw()


def test_summary_bars_per_owner_and_check():
    s = pd.DataFrame(
        {
            "owner_name": ["Ann", "Ann", "Bo", "Bo"],
            "check": ["past close date", "amount missing"] * 2,
            "n": [3, 0, 1, 1],
        }
    )
    ax = plot_hygiene_summary(s)
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths == [0, 1, 1, 3]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Bo", "Ann"]  # the most to fix on top


def test_a_missing_table_is_its_reason():
    reason = "the export has no opportunities (Opportunity.csv)"
    for fn in (plot_board, plot_hygiene_summary):
        ax = fn(mark_missing(pd.DataFrame(), reason))
        assert reason in [t.get_text() for t in ax.texts]


def test_a_table_without_the_columns_is_refused():
    with pytest.raises(ValueError, match="plot_board: missing column"):
        plot_board(pd.DataFrame({"stage_name": []}))
    with pytest.raises(ValueError, match="plot_hygiene_summary: missing column"):
        plot_hygiene_summary(pd.DataFrame({"owner_name": []}))
