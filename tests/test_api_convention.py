"""The API convention of ``CONTRIBUTING.md``, checked over every public signature of the package.

Every function, class and public method named in any ``__all__`` of a public module (no path part
starting with ``_``) is checked against the rules below. There is no list of exemptions: a rule that
does not fit a function is changed here and in ``CONTRIBUTING.md``, for every function at once.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass

import pytest

import funnel_analysis

#: old spellings, rejected wherever they appear as a parameter name
OLD_SPELLINGS = {
    "latest": "as_of",
    "day": "as_of",
    "dates": "as_of (a list of days)",
    "freq": "period",
    "levels": "confidence (fractions)",
    "level": "confidence",
    "alpha": "confidence",
    "cuts": "nothing: CrmData.as_of memoises its cuts",
    "lead": "quarters_ahead",
    "segment": "by",
}
#: spelled the same everywhere and always passed by keyword
KEYWORD_ONLY = (
    "as_of",
    "by",
    "where",
    "confidence",
    "period",
    "quarters_ahead",
    "fiscal_year_start_month",
    "win_rate_basis",
    "cohort",
)
#: return annotations that are a bare container of unnamed parts
BARE_RETURN = re.compile(r"(?<![\w.])(tuple|dict|Tuple|Dict)\b")


@dataclass(frozen=True)
class Public:
    """One public callable: where it is listed, its name there, and the object."""

    module: str
    qualname: str
    obj: object
    kind: str  # "function", "class" or "method"


def _public_modules():
    names = ["funnel_analysis"]
    for info in pkgutil.walk_packages(funnel_analysis.__path__, "funnel_analysis."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return [importlib.import_module(n) for n in names]


def _public_callables():
    seen: dict[int, Public] = {}
    for module in _public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            home = getattr(obj, "__module__", module.__name__) or module.__name__
            if id(obj) in seen or not callable(obj) or not home.startswith("funnel_analysis"):
                continue
            if inspect.isclass(obj):
                seen[id(obj)] = Public(home, obj.__qualname__, obj, "class")
                if issubclass(obj, BaseException):
                    continue
                for attr, member in vars(obj).items():
                    func = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
                    if not attr.startswith("_") and inspect.isfunction(func):
                        seen[id(func)] = Public(home, f"{obj.__qualname__}.{attr}", func, "method")
            elif inspect.isfunction(obj):
                seen[id(obj)] = Public(home, obj.__qualname__, obj, "function")
    return sorted(seen.values(), key=lambda p: (p.module, p.qualname))


PUBLIC = _public_callables()


def _parameters(p: Public) -> list[inspect.Parameter]:
    if p.kind == "class" and issubclass(p.obj, BaseException):
        return []
    try:
        params = list(inspect.signature(p.obj).parameters.values())
    except (TypeError, ValueError):  # a class without an inspectable __init__
        return []
    if p.kind == "method" and params and params[0].name in ("self", "cls"):
        params = params[1:]
    return params


def _problems(p: Public) -> list[str]:
    out = []
    params = _parameters(p)
    leaf = p.module.rsplit(".", 1)[-1]
    # a dataclass's fields are its attributes, not options: they may be given by position
    fields_only = p.kind == "class" and dataclasses.is_dataclass(p.obj)
    for i, par in enumerate(params):
        # the first positional parameter without a default is the data (fiscal_period(dates),
        # CrmData.as_of(date)), not an option: its name says what it holds
        data = i == 0 and par.default is inspect.Parameter.empty and par.kind is not inspect.Parameter.KEYWORD_ONLY
        if par.name in OLD_SPELLINGS and not data:
            out.append(f"parameter {par.name!r}: spell it {OLD_SPELLINGS[par.name]}")
        if par.name == "date" and not data:
            out.append("parameter 'date': spell it as_of")
        if par.name in KEYWORD_ONLY and par.kind is not inspect.Parameter.KEYWORD_ONLY and not fields_only:
            out.append(f"parameter {par.name!r} must be keyword-only")
        if par.name == "leads" and par.default not in (inspect.Parameter.empty, None):
            out.append("parameter 'leads' is a table: its default can only be None")
        if par.name == "confidence" and par.default is not inspect.Parameter.empty:
            levels = par.default if isinstance(par.default, tuple) else (par.default,)
            if not all(isinstance(v, float) and 0 < v < 1 for v in levels):
                out.append(f"confidence default {par.default!r}: a fraction (0.95) or a tuple of them")
        if i > 0 and params[0].name == "crm" and par.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            out.append(f"takes crm first: {par.name!r} must be keyword-only")
    names = [par.name for par in params]
    # an analysis subpackage's report module holds its entry points (cli/report.py is a command group)
    if leaf == "report" and p.kind == "function" and p.module.split(".")[1] not in ("cli", "reporting"):
        if not names or names[0] != "crm":
            out.append("a report entry point takes crm first")
        out += [f"a report entry point takes {n!r}" for n in ("as_of", "where") if n not in names]
    if leaf == "plots" and p.kind == "function":
        ax = next((par for par in params if par.name == "ax"), None)
        if ax is None or ax.default is not None or ax.kind is not inspect.Parameter.KEYWORD_ONLY:
            out.append("a plot takes ax=None, keyword-only")
    if p.kind in ("function", "method") and not isinstance(inspect.getattr_static(p.obj, "fget", None), property):
        returns = inspect.signature(p.obj).return_annotation
        if returns is inspect.Signature.empty:
            out.append("no return annotation")
        elif BARE_RETURN.search(str(returns)) and not p.qualname.rsplit(".", 1)[-1].startswith("to_"):
            # to_dict / to_json serialise into the format they name; everything else returns named parts
            out.append(f"returns {returns}: a DataFrame, a named result dataclass or a Mapping")
        if leaf == "plots" and p.kind == "function" and not re.search(r"Axes|Figure|Grid", str(returns)):
            out.append(f"a plot returns its Axes (or Figure), not {returns}")
    return out


def test_the_walk_finds_the_public_api():
    # a walk that found nothing would pass every rule: these must be among what it checks
    names = {f"{p.module}.{p.qualname}" for p in PUBLIC}
    for expected in (
        "funnel_analysis.crm.model.CrmData.as_of",
        "funnel_analysis.crm.load.load_org",
        "funnel_analysis.stats.wilson_interval",
        "funnel_analysis.periods.fiscal_period",
        "funnel_analysis.reporting.notebook.open_report",
    ):
        assert expected in names
    assert len(PUBLIC) > 200


@pytest.mark.parametrize(
    "public", PUBLIC, ids=[f"{p.module.removeprefix('funnel_analysis.')}.{p.qualname}" for p in PUBLIC]
)
def test_signature_follows_the_convention(public):
    assert _problems(public) == []


# ---- the checker itself rejects what it should --------------------------------------------------
def _checked(func, module="funnel_analysis.some.analysis", kind="function"):
    return _problems(Public(module, func.__name__, func, kind))


def test_the_checker_rejects_old_spellings_and_bare_returns():
    def old(opps, latest=None, freq="Q", cuts=None) -> tuple[int, int]: ...

    problems = _checked(old)
    assert any("'latest'" in m for m in problems) and any("'freq'" in m for m in problems)
    assert any("'cuts'" in m for m in problems) and any("returns tuple" in m for m in problems)


def test_the_checker_rejects_positional_options_and_missing_annotations():
    def entry(crm, as_of=None, by=None): ...

    problems = _checked(entry)
    assert "parameter 'as_of' must be keyword-only" in problems
    assert "takes crm first: 'by' must be keyword-only" in problems
    assert "no return annotation" in problems


def test_the_checker_holds_report_modules_and_plots_to_their_shape():
    def section(opps, *, as_of=None) -> int: ...

    assert "a report entry point takes crm first" in _checked(section, "funnel_analysis.funnel.report")
    assert "a report entry point takes 'where'" in _checked(section, "funnel_analysis.funnel.report")

    def chart(frame, ax=None) -> None: ...

    problems = _checked(chart, "funnel_analysis.funnel.plots")
    assert "a plot takes ax=None, keyword-only" in problems
    assert any(m.startswith("a plot returns its Axes") for m in problems)


def test_the_checker_accepts_the_convention():
    def entry(crm, *, as_of=None, by=None, where=None, confidence: float = 0.95) -> pd.DataFrame: ...  # noqa: F821

    def frame_level(opps, history, *, stages, as_of, confidence=(0.8, 0.95)) -> pd.DataFrame: ...  # noqa: F821

    assert _checked(entry, "funnel_analysis.funnel.report") == []
    assert _checked(frame_level) == []
