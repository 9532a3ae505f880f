"""Every public name of the package has a numpydoc docstring that matches its signature.

The public names are those in the ``__all__`` of every non-private module of ``funnel_analysis``
(a module or package whose name starts with ``_`` is private, ``_util`` included): functions, classes,
and the public methods a class defines itself. Each is checked with ``numpydoc.validate.validate`` for
the checks of ``[tool.numpydoc_validation]`` in ``pyproject.toml`` (the pre-commit hook reads the same):

- GL08: no docstring; PR01: a parameter not documented; PR02: a documented parameter that does not
  exist; RT01: something is returned and there is no Returns section.

Rules, not lists of names:

- private names (``_x``) and dunder methods are not checked; ``__init__`` is documented on the class
  (numpydoc checks the class docstring against the constructor's signature);
- properties are attributes: documented in the class's Attributes section or their own line, no
  Parameters or Returns asked for;
- a dataclass's fields may be documented under Attributes instead of Parameters (its ``__init__`` and
  other generated methods are dunder, so not checked);
- a ``click`` command (``cli``) is documented by its help text, which ``funnel ... --help`` prints:
  it must have one; its options carry their own help;
- a name is checked once, in the subpackage of the module that defines it (``funnel_analysis.load_org``
  is ``crm``'s).

Run one subpackage: ``pytest tests/test_docstrings.py -k funnel``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import tomllib
from functools import cache, cached_property
from pathlib import Path

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate", reason="numpydoc not installed: pip install -e '.[docs]'")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "funnel_analysis"
SUBPACKAGES = (
    "crm",
    "engine",
    "funnel",
    "velocity",
    "sources",
    "forecast",
    "scoring",
    "dedupe",
    "synth",
    "reconcile",
    "custom",
    "routing",
    "pipeline",
    "project",
    "reporting",
    "cli",
    "stats",
    "periods",
)


def _checks() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(config["tool"]["numpydoc_validation"]["checks"])


def _is_private(module_name: str) -> bool:
    return any(part.startswith("_") for part in module_name.split("."))


def _subpackage(module_name: str) -> str:
    parts = module_name.split(".")
    return parts[1] if len(parts) > 1 else "crm"  # the package's own names are crm's (load_org, CrmData...)


@cache
def _modules() -> tuple[dict[str, object], dict[str, str]]:
    """Every non-private module of the package, imported; and the ones that failed to import, with why."""
    package = importlib.import_module(PACKAGE)
    modules: dict[str, object] = {PACKAGE: package}
    failed: dict[str, str] = {}
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{PACKAGE}."):
        if _is_private(info.name):
            continue
        try:
            modules[info.name] = importlib.import_module(info.name)
        except Exception as exc:  # a module being written may not import yet: report it, check the rest
            failed[info.name] = f"{type(exc).__name__}: {exc}"
    return modules, failed


def _is_click_command(obj: object) -> bool:
    click = importlib.import_module("click")
    return isinstance(obj, click.Command)


def _methods(cls: type) -> list[str]:
    """The public methods the class defines itself (properties are attributes, not methods)."""
    names = []
    for name, member in vars(cls).items():
        if name.startswith("_") or isinstance(member, property | cached_property):
            continue
        if isinstance(member, staticmethod | classmethod) or inspect.isfunction(member):
            names.append(name)
    return names


@cache
def _public_objects() -> dict[str, list[tuple[str, object]]]:
    """Per subpackage: (qualified name, object) of every public function, class and method, once."""
    modules, _ = _modules()
    found: dict[str, list[tuple[str, object]]] = {name: [] for name in SUBPACKAGES}
    seen: set[int] = set()
    for module_name, module in sorted(modules.items()):
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if id(obj) in seen or not (inspect.isfunction(obj) or inspect.isclass(obj) or _is_click_command(obj)):
                continue
            defined_in = getattr(obj, "__module__", None) or module_name
            if not defined_in.startswith(PACKAGE):
                continue  # a re-exported name of another library
            if _is_private(defined_in):
                defined_in = module_name  # a helper of _util made public here is this module's API
            seen.add(id(obj))
            qualified = f"{defined_in}.{obj.__qualname__}" if hasattr(obj, "__qualname__") else f"{module_name}.{name}"
            group = found.setdefault(_subpackage(defined_in), [])
            group.append((qualified, obj))
            if inspect.isclass(obj):
                group.extend((f"{qualified}.{method}", getattr(obj, method)) for method in _methods(obj))
    return found


def _attributes(cls: type) -> set[str]:
    from numpydoc.docscrape import ClassDoc

    items = ClassDoc(cls, config={"show_class_members": False})["Attributes"]
    return {name.strip() for item in items for name in item.name.split(",")}


def _errors(qualified: str, obj: object, checks: set[str]) -> list[str]:
    if _is_click_command(obj):
        return [] if (obj.help or "").strip() else [f"{qualified}: GL08 the command has no help text"]
    report = numpydoc_validate.validate(qualified)
    errors = [(code, message) for code, message in report["errors"] if code in checks]
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj):
        documented = _attributes(obj)
        missing = {f.name for f in dataclasses.fields(obj) if f.init} - documented
        errors = [(c, m) for c, m in errors if c != "PR01"]
        documented_params = set(numpydoc_validate.Validator(numpydoc_validate.get_doc_object(obj)).doc_all_parameters)
        missing -= documented_params
        if missing:
            errors.append(("PR01", f"Parameters {sorted(missing)} not documented (Parameters or Attributes)"))
    where = f"{report['file'] and Path(report['file']).relative_to(ROOT)}:{report['file_line']}"
    return [f"{where}: {qualified}: {code} {message}" for code, message in errors]


def test_every_subpackage_is_parametrized():
    """A new subpackage (or top-level module) gets its id here, so its owners can run ``-k <id>``."""
    modules, _ = _modules()
    assert {_subpackage(name) for name in modules} <= set(SUBPACKAGES)


def test_checks_are_configured():
    assert {"GL08", "PR01", "PR02", "RT01"} <= _checks()


@pytest.mark.parametrize("subpackage", SUBPACKAGES)
def test_public_docstrings(subpackage):
    _, failed = _modules()
    checks = _checks()
    problems = [f"{name}: does not import: {why}" for name, why in failed.items() if _subpackage(name) == subpackage]
    objects = _public_objects()[subpackage]
    for qualified, obj in objects:
        try:
            problems.extend(_errors(qualified, obj, checks))
        except Exception as exc:  # name the object numpydoc could not read, go on with the others
            problems.append(f"{qualified}: numpydoc could not validate it: {type(exc).__name__}: {exc}")
    assert objects or failed, f"no public names found in {subpackage}"
    assert not problems, f"{len(problems)} docstring errors in {subpackage} ({len(objects)} names):\n" + "\n".join(
        problems
    )
