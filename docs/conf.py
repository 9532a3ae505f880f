"""Sphinx configuration: the user guide (Markdown, ``docs/guide/``) and the API reference built from ``__all__``.

The API pages (``docs/api/``, generated, not committed) are written here from the package itself, so a name
added to an ``__all__`` appears without editing the docs:

- one page per namespace of the package (``funnel_analysis.crm``, ``.funnel`` ... ``.stats``, ``.periods``,
  ``.cli``) documents the names of that namespace's ``__all__``;
- one page per non-private module of a subpackage (``funnel.conversion``, ``funnel.plots``,
  ``funnel.report`` ...) shows the module's docstring and its ``__all__``: a name the subpackage also
  exports links to the subpackage's page, the others (charts, report entry points) are documented there;
- every name is documented once (by object), where it is first found in that order; autosummary writes
  one page per function and class (``docs/api/generated/``), numpydoc renders the docstrings;
- the ``funnel`` command's reference is its ``--help`` text, taken from click.

``make docs`` builds with ``-W --keep-going``: a warning (a docstring that is not valid reStructuredText, a
module that does not import) fails the build, and every one is listed.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import shutil
from pathlib import Path

from sphinx.util import logging

import funnel_analysis  # installed in .venv by make (editable: the checkout's code)

DOCS = Path(__file__).resolve().parent
logger = logging.getLogger("funnel_analysis.docs")

project = "funnel-analysis"
author = "funnel-analysis contributors"
copyright = "funnel-analysis contributors"
release = version = funnel_analysis.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
templates_path = ["_templates"]
html_theme = "furo"
html_title = f"funnel-analysis {release}"

# autosummary: a page per name, the members a module's __all__ lists
autosummary_generate = True
autosummary_ignore_module_all = False
autosummary_imported_members = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"  # numpydoc's Parameters section gives the types; signatures stay short
add_module_names = False

# numpydoc renders the sections; class members are listed by the class template, not twice
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # the guide's pages start at their own level

NAMESPACES = (*funnel_analysis.NAMESPACES, "cli")
API = DOCS / "api"


def _is_private(name: str) -> bool:
    return any(part.startswith("_") for part in name.split("."))


def _kind(obj: object) -> str:
    if inspect.isclass(obj):
        return "class"
    if inspect.isfunction(obj):
        return "function"
    return "data"


def _submodules(package) -> list[str]:
    if not hasattr(package, "__path__"):
        return []
    names = [info.name for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")]
    return sorted(name for name in names if not _is_private(name))


def _heading(text: str, char: str = "=") -> str:
    return f"{text}\n{char * len(text)}\n"


def _autosummary(names: list[str], toctree: bool, current: str) -> str:
    """A table of the names (written relative to the page's module, as autosummary asks)."""
    options = "   :toctree: generated\n   :nosignatures:\n" if toctree else "   :nosignatures:\n"
    names = [name.removeprefix(f"{current}.") for name in names]
    return ".. autosummary::\n" + options + "\n" + "".join(f"   {name}\n" for name in names) + "\n"


def _exports(module) -> list[tuple[str, object]]:
    """The names of ``__all__``; click commands are documented by their ``--help`` (the cli page)."""
    import click

    names = [(name, getattr(module, name)) for name in getattr(module, "__all__", ())]
    return [(name, obj) for name, obj in names if not isinstance(obj, click.Command)]


def _documented(home: dict, key: tuple, canonical: str) -> bool:
    """Record where a name is documented; False when it already is, elsewhere."""
    if key in home:
        return False
    home[key] = canonical
    return True


def _command_help(command, path: list[str]) -> str:
    import click

    with click.Context(command, info_name=" ".join(path)) as ctx:
        text = command.get_help(ctx)
    block = _heading(f"``{' '.join(path)}``", "-") + "\n.. code-block:: text\n\n"
    block += "".join(f"   {line}\n" if line else "\n" for line in text.splitlines()) + "\n"
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        block += _command_help(sub, [*path, name])
    return block


def write_api_pages() -> int:
    """Write ``docs/api/``: a page per namespace and per module; returns how many names are documented."""
    shutil.rmtree(API, ignore_errors=True)
    (API).mkdir()
    home: dict[tuple, str] = {}

    top = _heading("``funnel_analysis``") + "\n.. automodule:: funnel_analysis\n   :no-members:\n\n"
    top += _heading("Namespaces", "-") + "\n" + "".join(f"- :doc:`funnel_analysis.{n}`\n" for n in NAMESPACES) + "\n"
    top_names = [name for name in funnel_analysis.__all__ if name not in funnel_analysis.NAMESPACES]

    for namespace in NAMESPACES:
        fullname = f"funnel_analysis.{namespace}"
        module = _import(fullname)
        if module is None:
            (API / f"{fullname}.rst").write_text(_heading(f"``{fullname}``") + "\nDoes not import.\n", "utf-8")
            continue
        text = _heading(f"``{fullname}``") + f"\n.. automodule:: {fullname}\n   :no-members:\n\n"
        names = [
            f"{fullname}.{name}"
            for name, obj in _exports(module)
            if _documented(home, (id(obj), name), f"{fullname}.{name}")
        ]
        if names:
            text += _heading("API", "-") + "\n" + _autosummary(names, toctree=True, current=fullname)
        if namespace == "cli":
            text += _heading("The ``funnel`` command", "-") + "\n"
            text += _command_help(importlib.import_module("funnel_analysis.cli.app").main, ["funnel"])
        modules = _submodules(module)
        if modules:
            text += _heading("Modules", "-") + "\n.. toctree::\n   :maxdepth: 1\n\n"
            text += "".join(f"   {name}\n" for name in modules) + "\n"
        for name in modules:
            sub = _import(name)
            if sub is None:
                (API / f"{name}.rst").write_text(_heading(f"``{name}``") + "\nDoes not import.\n", "utf-8")
                continue
            # a module named like a name its package exports (funnel.kpis the function): the name keeps the target
            shadowed = name.rsplit(".", 1)[-1] in getattr(module, "__all__", ())
            body = _heading(f"``{name}``") + f"\n.. automodule:: {name}\n   :no-members:\n"
            body += "   :no-index:\n\n" if shadowed else "\n"
            own, elsewhere = [], []
            for export, obj in _exports(sub):
                if _documented(home, (id(obj), export), f"{name}.{export}"):
                    own.append(f"{name}.{export}")
                else:
                    elsewhere.append(home[(id(obj), export)])
            if own:
                body += _heading("API", "-") + "\n" + _autosummary(own, toctree=True, current=name)
            if elsewhere:
                body += _heading(f"Also in ``{name}``", "-") + "\n"
                body += "Documented with the namespace that exports them:\n\n" + _autosummary(
                    elsewhere, toctree=False, current=name
                )
            (API / f"{name}.rst").write_text(body, encoding="utf-8")
        (API / f"{fullname}.rst").write_text(text, encoding="utf-8")

    keys = [(id(getattr(funnel_analysis, name)), name) for name in top_names]
    top += (
        _heading("Names", "-")
        + "\n"
        + _autosummary([home[key] for key in keys if key in home], toctree=False, current="funnel_analysis")
    )
    (API / "funnel_analysis.rst").write_text(top, encoding="utf-8")
    index = _heading("API reference") + "\n"
    index += "Generated from the ``__all__`` of every namespace and module of the package.\n\n"
    index += ".. toctree::\n   :maxdepth: 1\n\n   funnel_analysis\n"
    index += "".join(f"   funnel_analysis.{n}\n" for n in NAMESPACES) + "\n"
    # module pages are reached from their namespace's page
    (API / "index.rst").write_text(index, encoding="utf-8")
    return len(home)


def _import(name: str):
    """The module, or None with a warning naming it (the build then fails, and goes on to list the rest)."""
    try:
        return importlib.import_module(name)
    except Exception as exc:
        logger.warning("%s does not import: %s: %s", name, type(exc).__name__, exc, location=name)
        return None


# Written when the configuration is read, before Sphinx lists the source files (autosummary then writes
# the per-name pages from these): a build from a clean checkout sees every page.
API_NAMES = write_api_pages()


# ---- furo's navigation tree, computed once for the generated API pages --------------------------------
# Furo renders the whole site's toctree into every page's sidebar: with ~500 generated API pages that is
# quadratic (95 % of the build, about 4 minutes on 2 cores). The generated pages sit in one folder, so
# their relative links are the same: they share one tree, computed once, without a current-page mark.
# furo._compute_navigation_tree is private: pinned below 2027 in pyproject.toml, and a furo without it
# builds as before, only slower.
import re  # noqa: E402

import furo  # noqa: E402

_furo_navigation_tree = getattr(furo, "_compute_navigation_tree", None)
_shared_tree: dict[str, str] = {}
_CURRENT = re.compile(r'\s(?:current-page|current)(?=[\s"])|\schecked=""')


def _navigation_tree(context):
    page = str(context.get("pagename", ""))
    if not page.startswith("api/generated/"):
        return _furo_navigation_tree(context)
    if "tree" not in _shared_tree:
        _shared_tree["tree"] = _CURRENT.sub("", _furo_navigation_tree(context))
    return _shared_tree["tree"]


if _furo_navigation_tree is not None:
    furo._compute_navigation_tree = _navigation_tree
