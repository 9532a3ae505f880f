"""Helpers every report's charts share: a new axes when none is given, money as people write it.

Money is written with its currency's symbol when the currency is given as an ISO code (``"EUR"`` ->
``€``, from the Unicode CLDR data through babel, in English), and a code with no symbol of its own is
written before the amount (``CHF 1,200``).

Examples
--------
>>> money(-1234567.8, "€")
'-€1,234,568'
>>> money(1200, "EUR")
'€1,200'
>>> money(1200, "CHF")
'CHF 1,200'
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import matplotlib.pyplot as plt
import pandas as pd

from .money import currency_symbol

__all__ = ["FALLBACK_FONTS", "axes", "default_font_covers", "label_fonts", "money", "tight_png"]


def money(value: float, currency: str = "$") -> str:
    """``1234567.8`` -> ``"$1,234,568"``: whole units, thousands separators, sign before symbol.

    ``currency`` is an ISO code (``"EUR"``) or a symbol (``"€"``).
    """
    if value is None or pd.isna(value):
        return "n/a"
    return f"{'-' if value < 0 else ''}{currency_symbol(currency)}{abs(value):,.0f}"


def tight_png(fig) -> bytes | None:
    """``fig`` as a PNG cropped to its tight bounding box, as ``savefig(bbox_inches="tight")`` writes it, drawn once.

    Matplotlib's ``savefig`` with a layout engine or ``bbox_inches="tight"`` first draws the whole figure
    with drawing switched off, to run the layout and measure the artists, then draws it again for the
    pixels. The layout and the measures need no such pass: this runs the figure's layout engine, measures
    the tight box (padded by ``savefig.pad_inches``), then draws the figure once into that box, as the
    second draw of ``savefig`` does. The bytes are the same as IPython's inline
    ``print_figure(fig, "png", bbox_inches="tight")`` (tests/_util compare them).

    Parameters
    ----------
    fig : matplotlib Figure
        A figure on an Agg canvas (the inline backend's, or ``Agg``); not closed.

    Returns
    -------
    bytes or None
        The PNG at the figure's dpi; None for a figure without axes or lines (IPython shows nothing for
        it), or when the figure is not on an Agg canvas (draw it with ``savefig`` then).
    """
    from io import BytesIO

    from matplotlib import _tight_bbox, cbook, rcParams
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas
    if (not fig.axes and not fig.lines) or not isinstance(canvas, FigureCanvasAgg):
        return None
    out = BytesIO()
    # as savefig: no manager, the figure's dpi, device pixel ratio 1, "saving" (animated artists drawn)
    with (
        _shared_text_metrics(),
        cbook._setattr_cm(canvas, manager=None),
        cbook._setattr_cm(fig, dpi=fig.dpi),
        cbook._setattr_cm(canvas, _device_pixel_ratio=1),
        cbook._setattr_cm(canvas, _is_saving=True),
    ):
        renderer = canvas.get_renderer()
        fig._get_draw_artists(renderer)  # as Figure.draw: the axes' aspect applied before the layout
        engine = fig.get_layout_engine()
        if engine is not None:
            try:
                engine.execute(fig)
            except ValueError:  # as Figure.draw, which ignores a layout that cannot be made
                pass
        box = fig.get_tightbbox(renderer).padded(rcParams["savefig.pad_inches"])
        restore = _tight_bbox.adjust_bbox(fig, box, renderer, canvas.fixed_dpi)
        try:
            with fig._cm_set(layout_engine="none"):  # laid out above, as savefig's second draw
                canvas.print_png(out)
        finally:
            restore()
    return out.getvalue()


#: (text, font, dpi, the font settings) -> its width, height and descent as the Agg renderer measures them, shared
#: by every figure :func:`tight_png` draws (matplotlib keeps one cache per renderer, and each figure's layout and
#: its cropped draw have a renderer each): the tick labels, titles and legend entries of a report's charts repeat.
_TEXT_METRICS: dict = {}
_TEXT_METRICS_MAX = 20_000
#: The settings a text's measure depends on besides its font properties (they pick the font file and its hinting).
_METRIC_SETTINGS = (
    "text.hinting",
    "text.hinting_factor",
    "text.kerning_factor",
    "font.family",
    "font.sans-serif",
    "font.serif",
    "font.monospace",
    "font.cursive",
    "font.fantasy",
)


#: Held while :func:`_shared_text_metrics` has matplotlib's function replaced: two threads drawing at once take
#: turns, so that neither puts back the other's replacement.
_METRICS_LOCK = threading.RLock()


@contextmanager
def _shared_text_metrics():
    """While :func:`tight_png` draws: an Agg renderer's plain-text measures (no math, no TeX) come from
    :data:`_TEXT_METRICS`, measured by the renderer itself on a miss (the same call matplotlib makes)."""
    import matplotlib.text as mtext
    from matplotlib import rcParams
    from matplotlib.backends.backend_agg import RendererAgg

    with _METRICS_LOCK:
        own = mtext._get_text_metrics_function
        settings = tuple(str(rcParams[k]) for k in _METRIC_SETTINGS)

        def shared(renderer, *args, **kwargs):
            per_renderer = own(renderer, *args, **kwargs)
            if type(renderer) is not RendererAgg:
                return per_renderer

            def metrics(text, fontprop, ismath, dpi):
                if ismath is not False:  # mathtext and TeX measure with more settings: matplotlib's own cache
                    return per_renderer(text, fontprop, ismath, dpi)
                key = (text, fontprop, dpi, renderer.dpi, settings)
                hit = _TEXT_METRICS.get(key)
                if hit is None:
                    hit = per_renderer(text, fontprop, ismath, dpi)
                    if len(_TEXT_METRICS) >= _TEXT_METRICS_MAX:
                        _TEXT_METRICS.clear()
                    _TEXT_METRICS[key] = hit
                return hit

            return metrics

        mtext._get_text_metrics_function = shared
        try:
            yield
        finally:
            mtext._get_text_metrics_function = own


def axes(ax, size=(8, 4.5)):
    """``ax``, or the axes of a new figure of ``size`` (inches) with a constrained layout."""
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


#: Fonts tried after the default for the glyphs it lacks (CJK names), in order; those installed are used:
#: Linux's Noto / Source Han / WenQuanYi / IPA packages, then what macOS and Windows ship.
FALLBACK_FONTS = (
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "Noto Sans CJK TC",
    "Noto Sans CJK KR",
    "Source Han Sans",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "IPAGothic",
    "IPAexGothic",
    "Droid Sans Fallback",
    "Noto Sans JP",
    "Noto Sans SC",
    "Noto Sans KR",
    "Hiragino Sans",
    "Hiragino Kaku Gothic ProN",
    "PingFang SC",
    "Apple SD Gothic Neo",
    "Arial Unicode MS",
    "Yu Gothic",
    "Meiryo",
    "Microsoft YaHei",
    "Malgun Gothic",
    "MS Gothic",
    "SimHei",
)
_FONT_CACHE: dict = {}


def label_fonts() -> tuple[list[str], set[int]]:
    """The font families to draw chart text with (the default first, then the installed
    :data:`FALLBACK_FONTS`) and the code points they cover together.

    Pass the families as a text's ``fontfamily``: matplotlib then draws each glyph with the first of them
    that has it. A placeholder font (one that draws every code point as a box, such as "Last Resort") is
    never among them, so "covered" means drawn.
    """
    families, covered, _ = _resolved_fonts()
    return families, covered


def default_font_covers(text: str) -> bool:
    """Whether the default chart font (the first of :func:`label_fonts`) draws every character of ``text``."""
    default = _resolved_fonts()[2]
    return all(ord(ch) in default or ch.isspace() for ch in str(text))


def _resolved_fonts() -> tuple[list[str], set[int], frozenset[int]]:
    """The families, the code points they cover together, and those of the default alone (cached per theme)."""
    from matplotlib import font_manager, rcParams

    key = (tuple(rcParams["font.family"]), tuple(rcParams["font.sans-serif"]))
    if key not in _FONT_CACHE:
        from matplotlib.ft2font import FT2Font

        # the default is the font matplotlib resolves the configured list to (the report theme asks for
        # Arial first, which many machines lack: then its next family, or the bundled DejaVu Sans)
        default = font_manager.findfont(font_manager.FontProperties(family=rcParams["font.family"]))
        families = [font_manager.FontProperties(fname=default).get_name()]
        own = frozenset(FT2Font(default).get_charmap())
        covered = set(own)
        for family in FALLBACK_FONTS:
            try:
                path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
            except ValueError:
                continue
            if family not in families:
                families.append(family)
                covered |= set(FT2Font(path).get_charmap())
        _FONT_CACHE[key] = (families, covered, own)
    return _FONT_CACHE[key]
