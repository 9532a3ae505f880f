"""funnel_analysis.funnel.plots: charts draw what the tables say, label it, and never show()."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from funnel_analysis._util.plotting import money  # noqa: E402
from funnel_analysis.funnel import (  # noqa: E402
    cohort_funnel,
    lead_conversion,
    lead_funnel,
    snapshot_funnel,
    win_rates,  # noqa: E402
)
from funnel_analysis.funnel.plots import plot_conversion_by_segment, plot_funnel, plot_win_rate_trend
from tests import funnel_fixtures as ff  # noqa: E402


@pytest.fixture
def crm():
    return ff.make_crm()


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(ax):
    return [t.get_text() for t in ax.texts]


def test_money():
    assert money(1234567.8) == "$1,234,568"
    assert money(-1500, "€") == "-€1,500"
    assert money(float("nan")) == "n/a"


def test_plot_funnel_cohort_counts(crm):
    df = cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages)
    fig, ax = plt.subplots()
    assert plot_funnel(df, ax=ax) is ax
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Prospect", "Qualify", "Propose", "Negotiate", "Won"]
    widths = [p.get_width() for p in ax.patches]
    assert widths == [9, 7, 6, 5, 4]  # reached, hand-counted in test_funnel
    assert texts(ax)[1] == "7  (78%)"  # 7 of 9
    assert ax.get_title() and "share of cohort" in ax.get_xlabel()


def test_plot_funnel_snapshot_amount_with_currency(crm):
    df = snapshot_funnel(crm.as_of("2024-04-15").opportunities, stages=crm.stages)
    ax = plot_funnel(df, value="amount", currency="€")
    # Prospect 2200 of 6000 open = 37 %; Negotiate 3000 = 50 %
    assert texts(ax)[0] == "€2,200  (37%)" and texts(ax)[3] == "€3,000  (50%)"
    assert "amount (€)" in ax.get_xlabel()


def test_plot_funnel_leads_and_cohort_amount(crm):
    ax = plot_funnel(lead_funnel(crm.leads))
    assert ax.get_yticklabels()[-1].get_text() == "Converted to opportunity"
    df = cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages)
    ax = plot_funnel(df, value="amount")
    # won 7200 of the cohort's 10700: 67 %
    assert texts(ax)[-1] == "$7,200  (67%)"


def test_plot_funnel_by_segment_stacks_the_segments(crm):
    seg = cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages, by="lead_source")
    ax = plot_funnel(seg, hue="lead_source")
    widths = np.array([p.get_width() for p in ax.patches]).reshape(2, 5)  # Partner bars, then Web bars
    # reached over both segments as in test_plot_funnel_cohort_counts; Partner O2 O4 O7 O9 reach Prospect
    assert widths.sum(axis=0).tolist() == [9, 7, 6, 5, 4] and widths[0, 0] == 4
    assert texts(ax)[1] == "7  (78%)"  # the stage's total over both segments: 7 of 9
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Partner", "Web"]
    pipe = snapshot_funnel(crm.as_of("2024-04-15").opportunities, stages=crm.stages, by="lead_source")
    ax = plot_funnel(pipe, value="amount", hue="lead_source", currency="€")
    # as test_plot_funnel_snapshot_amount_with_currency, summed over the segments
    assert texts(ax)[0] == "€2,200  (37%)" and texts(ax)[3] == "€3,000  (50%)"


def test_plot_funnel_errors(crm):
    seg = cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages, by="lead_source")
    with pytest.raises(ValueError, match="hue"):
        plot_funnel(seg)
    with pytest.raises(ValueError, match="segment column 'region'"):
        plot_funnel(seg, hue="region")
    with pytest.raises(ValueError, match="value"):
        plot_funnel(seg, value="weight")
    with pytest.raises(ValueError, match="funnel table"):
        plot_funnel(pd.DataFrame({"x": [1]}))


def test_plot_conversion_by_segment(crm):
    df = lead_conversion(crm.leads, by="lead_source")
    ax = plot_conversion_by_segment(df)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # sorted by rate, best on top: Web .4, Partner .5, missing source 1.0
    assert labels == ["Web  (n=5)", "Partner  (n=4)", "(missing)  (n=1)"]
    line = ax.lines[0]
    assert list(line.get_xdata()) == pytest.approx([0.4, 0.5, 1.0])
    assert ax.get_legend().get_texts()[0].get_text() == "all segments: 50%"  # 5 of 10
    assert "%" in ax.get_xlabel() and "lead source" in ax.get_title()


def test_plot_conversion_by_segment_errors(crm):
    with pytest.raises(ValueError, match="rate"):
        plot_conversion_by_segment(pd.DataFrame({"seg": ["a"], "n": [1]}))
    seg = cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages, by="lead_source")
    with pytest.raises(ValueError, match="several rows"):
        plot_conversion_by_segment(seg, by="lead_source")


def test_plot_win_rate_trend(crm):
    df = win_rates(crm.opportunities, period="Q", fiscal_year_start_month=2)
    ax = plot_win_rate_trend(df)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["FY2025-Q1", "FY2025-Q2"]
    assert list(ax.lines[0].get_ydata()) == [0.5, 1.0]  # 2/4 and 2/2, from test_funnel
    assert texts(ax) == ["n=4", "n=2"]
    seg = win_rates(crm.opportunities, period="Q", by="lead_source")
    ax = plot_win_rate_trend(seg, hue="lead_source")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Partner", "Web"]


def test_plot_win_rate_trend_errors(crm):
    with pytest.raises(ValueError, match="fiscal_period"):
        plot_win_rate_trend(win_rates(crm.opportunities))
    with pytest.raises(ValueError, match="hue"):
        plot_win_rate_trend(win_rates(crm.opportunities, period="Q", by="lead_source"))


def test_new_figure_when_no_axes_and_no_show(crm, monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("show() called"))
    ax = plot_win_rate_trend(win_rates(crm.opportunities, period="M"))
    assert ax.figure is not None and np.isfinite(ax.get_ylim()).all()


def test_a_table_marked_missing_is_drawn_as_its_reason(crm):
    from funnel_analysis._util.missing import mark_missing

    reason = "no opportunity was created from 2023-01-01 to 2023-03-31 (the cohort is empty)"
    cohort = mark_missing(cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages).iloc[:0], reason)
    trend = mark_missing(win_rates(crm.opportunities, period="Q").iloc[:0], reason)
    rates = mark_missing(lead_conversion(crm.leads, by="lead_source").iloc[:0], reason)
    for ax in (plot_funnel(cohort), plot_win_rate_trend(trend), plot_conversion_by_segment(rates, by="lead_source")):
        assert texts(ax) == [reason] and not ax.axison and not ax.patches and not ax.lines


def test_plot_funnel_labels_an_unknown_conversion_step(crm):
    leads = crm.leads.assign(is_converted=pd.array([pd.NA] * len(crm.leads), dtype="boolean"))
    ax = plot_funnel(lead_funnel(leads))
    assert texts(ax)[-1] == "unknown"  # the converted step: neither a bar of 0 nor "0"


def test_tight_png_is_the_inline_backends_png_drawn_once(crm):
    """tight_png: byte for byte the PNG of IPython's print_figure(bbox_inches="tight"), with one draw, not two."""
    pytest.importorskip("IPython")
    from unittest import mock

    from IPython.core.pylabtools import print_figure

    from funnel_analysis._util.plotting import tight_png

    charts = [
        lambda: plot_funnel(cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages)),
        lambda: plot_funnel(
            cohort_funnel(crm.opportunities, crm.opportunity_history, stages=crm.stages, by="lead_source"),
            hue="lead_source",
        ),
        lambda: plot_conversion_by_segment(lead_conversion(crm.leads, by="lead_source")),
        lambda: plot_win_rate_trend(win_rates(crm.opportunities, period="Q", by="lead_source"), hue="lead_source"),
    ]
    for chart in charts:
        with plt.rc_context({"figure.dpi": 100}):
            shown = chart().figure
            reference = [print_figure(shown, "png", bbox_inches="tight") for _ in range(2)]
            fig = chart().figure
            draws = mock.patch.object(type(fig), "draw", autospec=True, side_effect=type(fig).draw)
            with draws as draw:
                got = tight_png(fig)
            assert got == reference[0]
            assert draw.call_count == 1  # savefig draws twice: once switched off for the layout and box
            # shown again, the figure is as savefig leaves it (a second layout may move the trend's labels)
            assert tight_png(fig) == reference[1]
    assert tight_png(plt.figure()) is None  # no axes: nothing, as IPython shows nothing


def test_tight_png_measures_each_text_once_for_every_chart(crm):
    """The texts' measures are shared by the charts tight_png draws: a chart drawn again measures no text with
    its renderers (matplotlib keeps one cache per renderer), and its PNG is the same bytes; matplotlib's own
    cache function is back in place afterwards."""
    from unittest import mock

    import matplotlib.text as mtext
    from matplotlib.backends.backend_agg import RendererAgg

    from funnel_analysis._util import plotting

    own = mtext._get_text_metrics_function
    trend = win_rates(crm.opportunities, period="Q", by="lead_source")

    def png(measured):
        fig = plot_win_rate_trend(trend, hue="lead_source").figure
        real = RendererAgg.get_text_width_height_descent
        spy = mock.patch.object(
            RendererAgg,
            "get_text_width_height_descent",
            autospec=True,
            side_effect=lambda *a: (measured.append(a[1]), real(*a))[1],
        )
        with plt.rc_context({"figure.dpi": 100}), spy:
            out = plotting.tight_png(fig)
        plt.close(fig)
        return out

    plotting._TEXT_METRICS.clear()
    first, again = [], []
    first_png = png(first)
    assert first_png == png(again)
    assert "fiscal period of close date" in first and len(first) > 10  # the labels, ticks, legend: measured once
    assert again == []
    assert mtext._get_text_metrics_function is own

    # charts drawn by several threads at once take turns: each the same bytes, matplotlib's function put back
    from concurrent.futures import ThreadPoolExecutor

    figures = [plot_win_rate_trend(trend, hue="lead_source").figure for _ in range(4)]
    with plt.rc_context({"figure.dpi": 100}), ThreadPoolExecutor(max_workers=4) as pool:
        pngs = list(pool.map(plotting.tight_png, figures))
    assert pngs == [pngs[0]] * 4 and pngs[0] == first_png
    assert mtext._get_text_metrics_function is own
