"""The scoring charts: drawn on the given axes, clear error on a wrong table."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from funnel_analysis.scoring import band_table, calibration_table, compare_scores, drift_table, gain_table  # noqa: E402
from funnel_analysis.scoring.plots import (  # noqa: E402
    plot_calibration,
    plot_comparison,
    plot_drift,
    plot_gain,
    plot_score_bands,
)

rng = np.random.default_rng(0)
P = rng.random(300)
Y = (rng.random(300) < P).astype(int)


@pytest.mark.parametrize(
    "plot, table",
    [
        (plot_calibration, lambda: calibration_table(Y, P)),
        (plot_gain, lambda: gain_table(Y, P)),
        (plot_score_bands, lambda: band_table(Y, np.clip((P * 100).round(), 1, 99))),
        (plot_drift, lambda: drift_table(pd.DataFrame({"p": P}), pd.DataFrame({"p": P + 0.3}))),
        (plot_comparison, lambda: compare_scores(Y, {"model": P}, n_boot=20)),
    ],
)
def test_plot_draws_on_given_axes_and_refuses_a_wrong_table(plot, table):
    fig, ax = plt.subplots()
    assert plot(table(), ax=ax) is ax
    assert ax.has_data()
    with pytest.raises(ValueError, match="is missing"):
        plot(pd.DataFrame({"x": [1]}))
    plt.close("all")
