"""Charts in a report kernel: shown once per cell and drawn once (funnel_analysis.reporting.notebook.notebook_setup):
not redrawn by pyplot's interactive hook, and the tight PNG drawn without savefig's switched-off first draw; the
image unchanged."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

_CHART = (
    "import matplotlib.pyplot as plt\n"
    "fig, ax = plt.subplots(layout='constrained')\n"
    "ax.bar(['Web', 'Partner', 'Event'], [12, 7, 3]); ax.set_title('Leads by source')\n"
    "draws = []\n"
    "_ = fig.canvas.mpl_connect('draw_event', lambda event: draws.append(1))"
)


def _run(*cells: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    return nb


def _pngs(nb) -> list[str]:
    return [o["data"]["image/png"] for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]


@pytest.mark.slow
def test_a_chart_is_drawn_once_fewer_and_shows_the_same_image():
    setup = "from funnel_analysis.reporting import notebook_setup\nnotebook_setup()"
    # the control: the same set-up without the hook that shows the figures before pyplot redraws them
    unhook = (
        "from funnel_analysis.reporting import notebook\n"
        "get_ipython().events.callbacks['post_execute'].remove(notebook._flush_inline_figures)"
    )
    count = "print(len(draws))"
    fewer = _run(setup, _CHART, count, count)
    control = _run(setup, unhook, _CHART, count)
    drawn = int(fewer.cells[2].outputs[0]["text"])
    drawn_before = int(control.cells[3].outputs[0]["text"])
    # the control: pyplot's redraw, then savefig's two draws (switched off for the layout and tight box, then
    # the pixels); the report kernel: the pixels alone (funnel_analysis._util.plotting.tight_png)
    assert drawn == drawn_before - 2 == 1
    assert fewer.cells[3].outputs[0]["text"] == fewer.cells[2].outputs[0]["text"]  # closed: never drawn again
    assert len(_pngs(fewer)) == len(_pngs(control)) == 1  # shown once, in its own cell
    assert _pngs(fewer) == _pngs(control)  # the very same image
    assert [o["output_type"] for o in fewer.cells[1].outputs] == ["display_data"]


def test_outside_a_kernel_setup_hooks_nothing_and_raises_nothing():
    import IPython

    from funnel_analysis.reporting import notebook_setup

    assert IPython.get_ipython() is None  # a plain process (pytest, a script): no shell to hook
    notebook_setup()
