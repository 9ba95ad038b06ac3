"""The package layout: no import cycles, imports only go down the pipeline's layers, no oversized module.

Every module under ``psychometrics/`` is parsed with :mod:`ast`; *every* import
statement counts — module level, inside functions and under ``if TYPE_CHECKING:`` —
with relative imports resolved. (Imports through ``importlib`` with a computed name are
not seen: only the lazy attribute access of ``psychometrics/__init__.py`` uses them,
and that module sits above every layer.)

That ``psychometrics --help`` imports no heavy library (numpy, pandas, scipy, jinja2,
matplotlib, …) is checked by ``tests/test_cli.py::test_help_imports_no_heavy_library``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "psychometrics"
ROOT = "psychometrics"
MAX_LINES = 800

# The pipeline's layers, low -> high. A module may import only from its own layer or a
# lower one. The key is the first component below ``psychometrics`` (``cfa`` for
# ``psychometrics.cfa.fit``).
LAYERS: list[tuple[str, set[str]]] = [
    # Shared types and helpers; besides these, every top-level ``_private`` module is core.
    ("core", {"exceptions", "_results", "_display", "_linalg", "_validation", "_progress", "_bootstrap",
              "datasets", "scales"}),
    ("scale", {"scale"}),
    ("data", {"data"}),
    ("simulate", {"simulate"}),
    ("ordinal", {"ordinal"}),
    ("efa", {"efa"}),
    ("cfa", {"cfa"}),
    ("reliability", {"reliability"}),
    ("items", {"items"}),
    # categorical_invariance: a compatibility module that re-exports from invariance/.
    ("invariance", {"invariance", "categorical_invariance"}),
    ("irt", {"irt"}),  # reserved
    ("validity", {"validity"}),
    ("scoring", {"scoring"}),
    # independent re-fits with semopy / factor_analyzer (optional engines)
    ("crosscheck", {"crosscheck"}),
    ("plan", {"plan"}),  # reserved: simulation-based study planning
    ("report", {"report"}),
    ("pipeline", {"pipeline"}),
    ("cli", {"cli", "__main__"}),
]
# ``psychometrics/__init__.py`` re-exports lazily from every stage: above all layers.
TOP = len(LAYERS)


# ------------------------------------------------------------------ the graph
def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (packages by their ``__init__``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = (ROOT, *path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module that ``import name`` executes last: the longest prefix that is one of ours."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imported_names(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """(absolute dotted name, line) of everything the module imports, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                if node.level > len(parts):
                    raise AssertionError(f"{path}:{node.lineno}: relative import beyond the top package")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                # ``from pkg import submodule`` needs the submodule (pkg is already being
                # imported when a module of pkg says it); ``from pkg import name`` needs
                # pkg's ``__init__``.
                sub = f"{base}.{alias.name}"
                yield (sub if sub in MODULES else base), node.lineno


def _edges() -> dict[str, dict[str, int]]:
    """module -> {imported module of ours: first line}."""
    edges: dict[str, dict[str, int]] = {m: {} for m in MODULES}
    for module, path in MODULES.items():
        for name, line in _imported_names(module, path):
            if not (name == ROOT or name.startswith(ROOT + ".")):
                continue
            target = _resolve(name)
            if target is None or target == module or target == ROOT:
                # ``import psychometrics.x`` also runs psychometrics/__init__.py, which
                # imports nothing of ours statically.
                continue
            edges[module].setdefault(target, line)
    return edges


EDGES = _edges()


def _stage(module: str) -> str:
    """The first component below ``psychometrics`` (``cfa`` for ``psychometrics.cfa.fit``)."""
    return module.split(".")[1] if "." in module else module


def _layer_of(stage: str) -> int | None:
    if stage == ROOT:
        return TOP
    for k, (_, members) in enumerate(LAYERS):
        if stage in members:
            return k
    if stage.startswith("_"):
        return 0
    return None


def _package(module: str) -> str:
    """Package-level node: the stage, with every core module merged into ``core``."""
    stage = _stage(module)
    return "core" if _layer_of(stage) == 0 else stage


def _cycles(graph: dict[str, set[str]]) -> list[tuple[list[str], list[str]]]:
    """Per strongly connected component of more than one node: its members and one cycle a -> … -> a."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan (1972); the graph has ~100 nodes, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)

    cycles = []
    for comp in components:
        members, start = set(comp), comp[0]
        # Shortest path start -> ... -> start inside the component (breadth first).
        previous: dict[str, str] = {}
        frontier = [start]
        while frontier and start not in previous:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v] & members):
                    if w not in previous:
                        previous[w] = v
                        nxt.append(w)
            frontier = nxt
        path = [start]
        while True:
            path.append(previous[path[-1]])
            if path[-1] == start:
                break
        cycles.append((comp, path[::-1]))
    return cycles


def _report(cycles: list[tuple[list[str], list[str]]], witness) -> str:
    """One paragraph per cycle: the modules (or packages) in it and the imports of one loop through them."""
    out = []
    for members, loop in cycles:
        steps = "\n      ".join(witness(a, b) for a, b in zip(loop, loop[1:]))
        out.append(f"{', '.join(members)}; for example\n      {steps}")
    return "\n  ".join(out)


def _packages_present() -> list[str]:
    return sorted({_package(m) for m in MODULES if m != ROOT})


# ------------------------------------------------------------------ the tests
def test_layers_are_the_documented_order():
    assert [name for name, _ in LAYERS] == [
        "core", "scale", "data", "simulate", "ordinal", "efa", "cfa", "reliability", "items", "invariance",
        "irt", "validity", "scoring", "crosscheck", "plan", "report", "pipeline", "cli",
    ]


def test_every_module_has_a_layer():
    unplaced = sorted({_stage(m) for m in MODULES if _layer_of(_stage(m)) is None})
    assert not unplaced, f"place these in LAYERS of tests/test_architecture.py (and docs/developing.md): {unplaced}"


def test_no_import_cycle_between_modules():
    cycles = _cycles({m: set(t) for m, t in EDGES.items()})
    witness = lambda a, b: f"{MODULES[a].relative_to(PACKAGE.parent)}:{EDGES[a][b]} imports {b}"  # noqa: E731
    assert not cycles, "import cycles between modules:\n  " + _report(cycles, witness)


def test_no_import_cycle_between_packages():
    graph: dict[str, set[str]] = {}
    for module, targets in EDGES.items():
        a = _package(module)
        graph.setdefault(a, set()).update(_package(t) for t in targets if _package(t) != a)
    cycles = _cycles(graph)
    witnesses: dict[tuple[str, str], list[str]] = {}
    for module, targets in sorted(EDGES.items()):
        for target, line in sorted(targets.items()):
            witnesses.setdefault((_package(module), _package(target)), []).append(
                f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} imports {target}")
    witness = lambda a, b: f"{a} -> {b}: " + "; ".join(witnesses[(a, b)])  # noqa: E731
    assert not cycles, "import cycles between packages:\n  " + _report(cycles, witness)


@pytest.mark.parametrize("package", _packages_present())
def test_imports_go_to_the_same_or_a_lower_layer(package):
    offenders = []
    for module, targets in sorted(EDGES.items()):
        if module == ROOT or _package(module) != package:
            continue
        mine = _layer_of(_stage(module))
        for target, line in sorted(targets.items()):
            theirs = _layer_of(_stage(target))
            if mine is not None and theirs is not None and theirs > mine:
                offenders.append(f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} imports {target} "
                                 f"({LAYERS[theirs][0]} is above {LAYERS[mine][0]})")
    assert not offenders, "imports going up the layers:\n  " + "\n  ".join(offenders)


@pytest.mark.parametrize("package", _packages_present())
def test_no_module_over_800_lines(package):
    big = []
    for module, path in sorted(MODULES.items()):
        if _package(module) == package:
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n > MAX_LINES:
                big.append(f"{path.relative_to(PACKAGE.parent)}: {n} lines")
    assert not big, f"modules over {MAX_LINES} lines (split them by concept):\n  " + "\n  ".join(big)


MAX_FUNCTION_LINES = 120
# A longer function says why on the line above its ``def`` (a comment containing "long:").


def _long_functions(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        first = node.body[0]
        doc = first.end_lineno - first.lineno + 1 if isinstance(first, ast.Expr) and isinstance(
            getattr(first, "value", None), ast.Constant) and isinstance(first.value.value, str) else 0
        code = node.end_lineno - node.lineno + 1 - doc  # docstrings do not count
        start = min([d.lineno for d in node.decorator_list] + [node.lineno])
        reason = start >= 2 and "long:" in lines[start - 2]
        if code > MAX_FUNCTION_LINES and not reason:
            out.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}: {code} lines")
    return out


@pytest.mark.parametrize("package", _packages_present())
def test_no_function_over_120_lines_without_a_reason(package):
    long = [f for module, path in sorted(MODULES.items()) if _package(module) == package
            for f in _long_functions(path)]
    assert not long, ("functions over 120 lines of code (docstring excluded): split them, or say why in a "
                      "'# long: …' comment above the def:\n  " + "\n  ".join(long))


def test_the_graph_sees_function_level_relative_and_type_checking_imports(tmp_path):
    """The parser itself: imports inside functions, under TYPE_CHECKING and relative ones all count."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from psychometrics.scale import Scale\n"
        "def f():\n    from .. import data\n    from . import missing_name\n",
        encoding="utf-8",
    )
    names = {name for name, _ in _imported_names("psychometrics.cfa.probe", probe)}
    assert names == {"typing", "psychometrics.scale", "psychometrics.data", "psychometrics.cfa"}
    assert _resolve("psychometrics.scale.Scale") == "psychometrics.scale"
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [(["a", "b", "c"], ["a", "b", "c", "a"])]
