"""The folder is the architecture: imports flow one way, crm -> analyses -> plots -> reporting -> cli.

Every import in the package is parsed, lazy ones inside functions too. The test fails on an import
that runs up the flow, on a cycle (importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first,
so those count as edges), on a private (``_name``) import across subpackages, on a star import, and on
a subpackage whose ``__init__`` does not list what it exports. The checker is run on a small package
with each fault built in, so that it is known to find them.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "funnel_analysis"

#: Layer of a module by its dotted name below the package (first matching rule wins).
#: 0 helpers, 1 the data model, 2 the analyses of each report, 3 charts, 4 reporting, 5 the CLI.
#: The analysis subpackages (layer 2). reconcile compares the funnel's figures with figures a user wrote down
#: from Salesforce, under alternative definitions: an analysis built on funnel, below plots and reporting.
ANALYSES = {
    "funnel",
    "velocity",
    "sources",
    "forecast",
    "scoring",
    "dedupe",
    "synth",
    "reconcile",
    "routing",
    "custom",
    "pipeline",
}
LAYERS = [
    (lambda m: m == "_util.plotting", 3),
    (lambda m: m.split(".")[0] in {"_util", "stats", "periods"}, 0),
    (lambda m: m.split(".")[-1] == "plots", 3),
    (lambda m: m.split(".")[0] == "crm", 1),
    # the engines sit beside crm: the org's tables and their reductions in SQL (#19)
    (lambda m: m.split(".")[0] == "engine", 1),
    # the org profile and the project folder: what the data model is told about the org
    (lambda m: m.split(".")[0] in {"project", "notebooks"}, 1),
    (lambda m: m.split(".")[0] in ANALYSES, 2),
    (lambda m: m.split(".")[0] == "reporting", 4),
    (lambda m: m.split(".")[0] == "cli", 5),
]
LAYER_NAMES = ["helpers", "crm", "analyses", "plots", "reporting", "cli"]


def layer(module: str) -> int:
    for rule, rank in LAYERS:
        if rule(module):
            return rank
    raise AssertionError(f"{module}: no layer for this module; add it to LAYERS in {__file__}")


def modules(root: Path) -> dict[str, Path]:
    """Dotted name below the package ('' for its __init__) -> file."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(root: Path) -> list[tuple[str, str, str, int]]:
    """(importer, imported module, imported name or '', line) for every import into the package."""
    pkg = root.name
    mods = modules(root)
    found = []
    for name, path in mods.items():
        is_init = path.name == "__init__.py"
        here = name.split(".") if name else []
        base = here if is_init else here[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == pkg or alias.name.startswith(pkg + "."):
                        found.append((name, alias.name[len(pkg) + 1 :], "", node.lineno))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                    target = ".".join(parts + ([node.module] if node.module else []))
                elif node.module == pkg or (node.module or "").startswith(pkg + "."):
                    target = node.module[len(pkg) + 1 :]
                else:
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}" if target else alias.name
                    if sub in mods:  # `from . import clean`: the module itself
                        found.append((name, sub, "", node.lineno))
                    else:
                        found.append((name, target, alias.name, node.lineno))
    return found


def edges(names, found) -> dict[str, set[str]]:
    """Module graph of the modules ``names`` from the imports ``found``: an import of ``a.b.c`` is an edge
    to it and to ``a`` and ``a.b`` (their __init__ runs first), except to the importer's own parents,
    which are running already."""
    graph: dict[str, set[str]] = {m: set() for m in names}
    for importer, target, _, _ in found:
        own = {".".join(importer.split(".")[:i]) for i in range(len(importer.split(".")) + 1)}
        parts = target.split(".")
        for i in range(1, len(parts) + 1):
            t = ".".join(parts[:i])
            if t not in own:
                graph[importer].add(t)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def violations(root: Path) -> list[str]:
    """Every broken rule, one line each."""
    out, found = [], imports(root)
    for importer, target, name, line in found:
        where = f"{importer or '__init__'}:{line}"
        if name == "*":
            out.append(f"{where}: star import from {target}")
        if importer and target == "":
            out.append(f"{where}: imports the top-level package (import the module it needs)")
            continue
        if not importer:  # the top-level __init__ is the facade over everything
            continue
        if layer(target) > layer(importer):
            out.append(
                f"{where}: {LAYER_NAMES[layer(importer)]} module imports {target} "
                f"({LAYER_NAMES[layer(target)]}): up the flow"
            )
        cross = target.split(".")[0] != importer.split(".")[0]
        private_part = next((p for p in target.split(".") if p.startswith("_") and p != "_util"), None)
        if cross and (name.startswith("_") or private_part):
            out.append(f"{where}: private {name or private_part!r} imported from another subpackage ({target})")
    out += [f"import cycle: {' -> '.join(c)}" for c in cycles(edges(modules(root), found))]
    return out


def test_imports_flow_one_way():
    problems = violations(PACKAGE)
    assert not problems, "\n".join(problems)


def test_every_module_has_a_layer():
    for name in modules(PACKAGE):
        if name:
            layer(name)


@pytest.mark.parametrize("sub", sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()))
def test_subpackage_lists_its_exports(sub):
    """Each subpackage's __init__ says what it exports, and every listed name is there."""
    mod = importlib.import_module(f"funnel_analysis.{sub}")
    assert isinstance(getattr(mod, "__all__", None), list), f"{sub}/__init__.py has no __all__ list"
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert not missing, f"{sub}.__all__ names {missing}, which it does not define"
    assert mod.__doc__ and ":mod:`." in mod.__doc__, f"{sub}/__init__.py does not list its modules"


def test_namespaces_load_on_first_use():
    import funnel_analysis as fa

    assert fa.forecast.Forecaster.__module__ == "funnel_analysis.forecast.timeseries"
    assert {"funnel", "velocity", "sources", "forecast", "reporting"} <= set(dir(fa))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        fa.nope  # noqa: B018


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_checker_finds_each_kind_of_fault(tmp_path):
    """A package built with one of every fault: the checker names each, and nothing else."""
    root = _write(
        tmp_path / "funnel_analysis",
        {
            "__init__.py": "from .crm.model import CrmData\n",
            "_util/__init__.py": "",
            "_util/frames.py": "def flag(s):\n    return s\n",
            "crm/__init__.py": "",
            "crm/model.py": "CrmData = object\n",
            # up the flow, lazily inside a function
            "crm/load.py": "def load():\n    from ..funnel.conversion import lead_funnel\n",
            "funnel/__init__.py": "from .conversion import *\n",
            "funnel/conversion.py": (
                "from .._util.frames import flag as _flag\n"
                "from ..velocity.durations import _groups\n"
                "def lead_funnel():\n    from . import winrates\n"
            ),
            "funnel/winrates.py": "from .conversion import lead_funnel\n",
            "velocity/__init__.py": "",
            "velocity/durations.py": "_groups = 1\n",
            "sources/__init__.py": "",
            "sources/matrix.py": "import funnel_analysis\n",
        },
    )
    found = violations(root)
    expected = [
        "crm.load:2: crm module imports funnel.conversion (analyses): up the flow",
        "funnel:1: star import from funnel.conversion",
        "funnel.conversion:2: private '_groups' imported from another subpackage (velocity.durations)",
        "sources.matrix:1: imports the top-level package (import the module it needs)",
        "import cycle: funnel.conversion -> funnel.winrates",
    ]
    assert sorted(found) == sorted(expected), "\n".join(found)
