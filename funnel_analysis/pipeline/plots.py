"""Charts of the pipeline report: the board of open deals, and the hygiene summary by owner and check.

Same conventions as :mod:`funnel_analysis.velocity.plots`: the functions draw on the given axes (a new
figure when ``None``), return them and never call ``show()``; money with the currency's symbol and
thousands separators. A table marked as lacking its inputs
(:func:`funnel_analysis._util.missing.mark_missing`) is drawn as its one-line reason on an empty axes.
Deal and owner names are CRM text in any script: a character the chart's font lacks is drawn by a
fallback font (a CJK font when one is installed, else a placeholder box), never a warning.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import pandas as pd
>>> cards = pd.DataFrame({"column": [1, 1], "stage_name": "Qualify", "card": [1, 2],
...     "opportunity_id": ["A", "B"], "name": ["Acme", "Globex"], "owner_name": ["Ann Lee", "Bo Chen"],
...     "amount": [900.0, 100.0], "days_in_stage": [11, 30], "next_step": ["Demo", None],
...     "stage_deals": 3, "stage_amount": 1500.0})
>>> ax = plot_board(cards, columns=["Qualify", "Propose"])
>>> ax.get_title()
'The board: open deals by stage, largest first'
>>> "+1 more" in [t.get_text() for t in ax.texts]
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.patches import FancyBboxPatch, Rectangle
from matplotlib.ticker import FuncFormatter

from .._util.missing import missing_axes, missing_reason
from .._util.plotting import axes as _axes
from .._util.plotting import default_font_covers, label_fonts
from .._util.plotting import money as _money

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_board", "plot_hygiene_summary"]


def _style(text: str, **style) -> dict:
    """Text properties for ``text``: the default font, or the fallbacks (in regular weight: a fallback
    font may have no bold, and asking for one is a logged warning) when it has characters the default lacks."""
    if default_font_covers(text):
        return style
    families, _ = label_fonts()
    # matplotlib's bundled placeholder font last: a glyph no installed font has is a box, drawn without a
    # "missing glyph" warning per card (a machine without CJK fonts)
    return {**{k: v for k, v in style.items() if k != "weight"}, "family": [*families, "Last Resort High-Efficiency"]}


def _short(text, width: int) -> str:
    """``text`` on one line, cut to ``width`` columns with an ellipsis (a wide CJK character takes two)."""
    import unicodedata

    if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA:
        return "–"
    text = " ".join(str(text).split())
    widths = [2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text]
    if sum(widths) <= width:
        return text
    out, used = [], 0
    for ch, w in zip(text, widths):
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + "…"


def plot_board(
    board: pd.DataFrame,
    *,
    ax=None,
    columns=None,
    currency: str = "$",
    title: str | None = None,
) -> Axes:
    """The board as a Kanban figure: one column per stage, its deals as cards, the largest on top.

    Parameters
    ----------
    board : DataFrame
        :func:`funnel_analysis.pipeline.report.board` (``column``, ``stage_name``, ``card``, ``name``,
        ``owner_name`` or ``owner_id``, ``amount``, ``days_in_stage``, ``next_step``, ``stage_deals``,
        ``stage_amount``), cut to the cards to show.
    ax : matplotlib Axes, optional
        Where to draw; a new figure sized to the board when ``None``.
    columns : list of str, optional
        The stages, left to right, empty ones too; default ``board.attrs["columns"]``, else the
        stages of ``board`` in column order.
    currency : str, default "$"
        ISO code or symbol put before amounts.
    title : str, optional
        The chart's title.

    Returns
    -------
    matplotlib Axes
        One column per stage headed by its name, its deals and their total amount; a card per deal
        (name, owner and amount, days in stage, next step); "+N more" under a column that has more
        deals than cards.

    Raises
    ------
    ValueError
        When ``board`` lacks a column the cards need.
    """
    title = title or "The board: open deals by stage, largest first"
    if missing_reason(board):
        return missing_axes(_axes(ax, (9, 3)), missing_reason(board), title=title)
    need = ["stage_name", "card", "name", "amount", "days_in_stage", "next_step", "stage_deals", "stage_amount"]
    missing = [c for c in need if c not in board.columns]
    if missing:
        raise ValueError(f"plot_board: missing column(s) {missing}; pass report.board(...)")
    if columns is None:
        columns = board.attrs.get("columns") or list(
            board.sort_values(["column", "card"] if "column" in board else ["card"])["stage_name"].drop_duplicates()
        )
    columns = [str(c) for c in columns]
    owner = "owner_name" if "owner_name" in board.columns else "owner_id" if "owner_id" in board.columns else None
    rows = int(board["card"].max()) if len(board) else 0
    n = max(len(columns), 1)
    ax = _axes(ax, (max(2.3 * n, 6.0), 1.6 + 0.95 * max(rows, 1)))
    gap, card_h, head = 0.06, 0.86, 1.0
    for i, stage in enumerate(columns):
        cards = board[(board["stage_name"].astype("str") == stage).to_numpy()].sort_values("card")
        x0 = i + gap / 2
        width = 1 - gap
        total = int(cards["stage_deals"].iloc[0]) if len(cards) else 0
        amount = float(cards["stage_amount"].iloc[0]) if len(cards) else 0.0
        ax.add_patch(Rectangle((x0, -(rows + 1.6)), width, rows + 1.6, color="#eef1f5", lw=0, zorder=0))
        label = _short(stage, 26)
        ax.text(i + 0.5, -0.3, label, ha="center", va="center", fontsize=9, **_style(label, weight="bold"))
        deals = f"{total:,} deal{'s' if total != 1 else ''}" + (f" · {_money(amount, currency)}" if total else "")
        ax.text(i + 0.5, -0.7, deals, ha="center", va="center", fontsize=8, color="#444444")
        for k, (_, card) in enumerate(cards.iterrows()):
            top = -(head + k * 0.95)
            ax.add_patch(
                FancyBboxPatch(
                    (x0 + 0.04, top - card_h),
                    width - 0.08,
                    card_h - 0.04,
                    boxstyle="round,pad=0,rounding_size=0.04",
                    fc="white",
                    ec="#9aa5b1",
                    lw=0.8,
                    zorder=1,
                )
            )
            who = _short(card[owner], 18) if owner else "–"
            days = card["days_in_stage"]
            days = (
                "days in stage unknown"
                if pd.isna(days)
                else f"{int(days):,} day{'s' if int(days) != 1 else ''} in stage"
            )
            lines = [
                (_short(card["name"], 30), {"weight": "bold"}),
                (f"{who} · {_money(card['amount'], currency)}", {}),
                (days, {"color": "#444444"}),
                (f"Next: {_short(card['next_step'], 26)}", {"color": "#444444", "style": "italic"}),
            ]
            for j, (text, style) in enumerate(lines):
                ax.text(x0 + 0.08, top - 0.14 - j * 0.18, text, ha="left", va="center", fontsize=7, zorder=2,
                        **_style(text, **style))  # fmt: skip
        if total > len(cards):
            ax.text(
                i + 0.5,
                -(head + len(cards) * 0.95) - 0.25,
                f"+{total - len(cards):,} more",
                ha="center",
                va="center",
                fontsize=8,
                color="#444444",
            )
        if total == 0:
            ax.text(i + 0.5, -(head + 0.4), "no open deal", ha="center", va="center", fontsize=8, color="#777777")
    ax.set_xlim(0, n)
    ax.set_ylim(-(rows + 1.6), 0)
    ax.set_axis_off()
    ax.set_title(title)
    return ax


def plot_hygiene_summary(summary: pd.DataFrame, *, ax=None, title: str | None = None) -> Axes:
    """What each owner has to fix: one bar per check, grouped by owner, the count of records.

    Parameters
    ----------
    summary : DataFrame
        :func:`funnel_analysis.pipeline.report.hygiene_summary` (``owner_name`` or ``owner_id``,
        ``check``, ``n``).
    ax : matplotlib Axes, optional
        Where to draw; a new figure sized to the owners when ``None``.
    title : str, optional
        The chart's title.

    Returns
    -------
    matplotlib Axes
        Horizontal bars: per owner (the most to fix on top) a bar per check, the count written beside.

    Raises
    ------
    ValueError
        When ``summary`` lacks ``check`` or ``n``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> s = pd.DataFrame({"owner_name": ["Ann", "Ann", "Bo", "Bo"], "check": ["past close date", "amount missing"] * 2,
    ...                   "n": [3, 1, 0, 2]})
    >>> plot_hygiene_summary(s).get_xlabel()
    'records to fix'
    """
    title = title or "Pipeline hygiene: what each owner has to fix"
    if missing_reason(summary):
        return missing_axes(_axes(ax, (9, 3)), missing_reason(summary), title=title)
    missing = [c for c in ("check", "n") if c not in summary.columns]
    if missing:
        raise ValueError(f"plot_hygiene_summary: missing column(s) {missing}; pass report.hygiene_summary(...)")
    who = summary["owner_name"] if "owner_name" in summary.columns else summary.get("owner_id")
    d = summary.assign(_who=pd.Series(who, index=summary.index).astype("str").fillna("(no owner)"))
    checks = list(dict.fromkeys(d["check"].astype("str")))
    table = d.pivot_table(index="_who", columns="check", values="n", aggfunc="sum", fill_value=0)
    table = table.reindex(columns=checks, fill_value=0)
    table = table.loc[table.sum(axis=1).sort_values(kind="stable").index]  # the most to fix on top
    ax = _axes(ax, (9, 1.4 + 0.5 * max(len(table), 1)))
    if table.empty:
        ax.text(0.5, 0.5, "Nothing to fix", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(title)
        return ax
    height = 0.8 / max(len(checks), 1)
    y = np.arange(len(table))
    for j, check in enumerate(checks):
        pos = y + 0.4 - height * (j + 0.5)
        values = table[check].to_numpy("float64")
        ax.barh(pos, values, height=height, color=f"C{j % 10}", label=check)
        for p, v in zip(pos, values):
            if v > 0:
                ax.text(v, p, f" {v:,.0f}", va="center", fontsize=7)
    labels = [_short(w, 24) for w in table.index]
    ax.set_yticks(y, labels, **_style("".join(labels)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel("records to fix")
    ax.legend(loc="lower right", fontsize=8, title="check")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title)
    return ax
