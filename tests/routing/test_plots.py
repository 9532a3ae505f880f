"""Each routing chart draws on the axes given and returns them; a missing input is one line, not a chart."""

import pandas as pd

from funnel_analysis._util.missing import mark_missing
from funnel_analysis.routing import plots
from tests.plot_helpers import _close_figures, _tick_labels  # noqa: F401

SPEED = pd.DataFrame(
    {
        "team": ["A", "A", "B"],
        "bucket": ["<1h", "all", "all"],
        "median_business_minutes": [10.0, 30.0, 90.0],
        "p90_business_minutes": [20.0, 100.0, 300.0],
        "breach_share": [0.0, 0.2, 0.6],
        "breach_share_ci_low": [0.0, 0.1, 0.4],
        "breach_share_ci_high": [0.3, 0.35, 0.75],
    }
)


def test_each_chart_returns_its_axes():
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    assert plots.plot_speed_to_lead(SPEED, by="team", ax=ax) is ax
    assert _tick_labels(ax.yaxis) == ["A", "B"]  # the "all" rows only
    assert plots.plot_sla_breaches(SPEED, by="team").get_title() == "SLA breaches per team"
    summary = pd.DataFrame({"entry": ["EMEA", "all"], "misroute_share": [0.1, 0.1],
                            "misroute_share_ci_low": [0.0, 0.0], "misroute_share_ci_high": [0.3, 0.3]})  # fmt: skip
    assert _tick_labels(plots.plot_misroutes(summary).yaxis) == ["EMEA", "all"]
    effect = pd.DataFrame({"band": ["0-50", "50-100", "crude", "pooled (Mantel-Haenszel)"],
                           "fast_rate": [0.2, 0.4, 0.3, None], "slow_rate": [0.1, 0.2, 0.1, None],
                           "rate_ratio": [2.0, 2.0, 3.0, 2.0], "rate_ratio_ci_low": [None, None, None, 1.5],
                           "rate_ratio_ci_high": [None, None, None, 2.7]})  # fmt: skip
    ax = plots.plot_speed_effect(effect)
    assert _tick_labels(ax.xaxis) == ["0-50", "50-100"] and "association" in ax.get_title()
    fair = pd.DataFrame({"team": ["T", "T"], "owner_id": ["u1", "u2"], "ratio": [1.0, 0.5], "score_ratio": [1.2, 0.9]})
    assert len(plots.plot_fairness(fair).patches) == 4
    o = pd.DataFrame({"period_end": pd.to_datetime(["2025-01-05", "2025-01-12"] * 2, utc=True),
                      "owner_id": ["u1", "u1", "u2", "u2"], "open_leads": [1, 2, 3, 4]})  # fmt: skip
    assert len(plots.plot_open_leads(o).get_lines()) == 2
    w = pd.DataFrame(
        {"level": ["owner", "all"], "name": ["u1", "all"], "actual_leads": [3, 3], "proposed_leads": [1, 3]}
    )
    assert _tick_labels(plots.plot_what_if(w).yaxis) == ["u1"]
    g = pd.DataFrame({"stage": ["S", "S"], "compliant": ["False", "True"], "win_rate": [0.2, 0.5],
                      "win_rate_ci_low": [0.1, 0.3], "win_rate_ci_high": [0.4, 0.7]})  # fmt: skip
    assert _tick_labels(plots.plot_stage_gates(g).yaxis) == ["S: False", "S: True"]


def test_a_missing_input_draws_its_reason():
    ax = plots.plot_sla_breaches(mark_missing(SPEED.iloc[:0], "no activities"), by="team")
    assert any("no activities" in t.get_text() for t in ax.texts)


def test_the_sla_chart_labels_owners_by_name_where_a_font_can_draw_it():
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    sla = SPEED.rename(columns={"team": "owner_id"}).replace({"A": "005A", "B": "005B"})
    names = pd.DataFrame({"owner_id": ["005A", "005B"], "name": ["José Müller", "王伟"]})
    ax = plots.plot_sla_breaches(sla, by="owner_id", names=names)
    # whether a CJK name can be drawn depends on the fonts installed: worked out here from the font files
    can = False
    for family in plots.FALLBACK_FONTS:
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        can = can or all(ord(c) in FT2Font(path).get_charmap() for c in "王伟")
    assert _tick_labels(ax.yaxis) == ["José Müller", "王伟" if can else "005B"]
    assert plots._owner_labels(["005A", "005C"], names={"005A": "  Ann  "}) == ["Ann", "005C"]


def test_owner_labels_refuse_names_of_another_kind():
    import pytest

    with pytest.raises(TypeError, match="an org, a mapping or a DataFrame"):
        plots._owner_labels(["005A"], names=["Ann"])
    with pytest.raises(ValueError, match="owner names: the table has no name"):
        plots._owner_labels(["005A"], names=pd.DataFrame({"owner_id": ["005A"]}))


def test_owner_labels_use_the_font_the_theme_resolves_to_when_its_first_choice_is_missing():
    # the report theme asks for Arial first; a machine without it draws with the next family (or the bundled
    # DejaVu Sans), which has Latin letters: names stay names (CI once had every label fall back to its ID)
    import matplotlib as mpl

    with mpl.rc_context({"font.family": ["sans-serif"], "font.sans-serif": ["No Such Font Family", "DejaVu Sans"]}):
        assert plots._owner_labels(["005A", "005B"], names={"005A": "José Müller"}) == ["José Müller", "005B"]
