"""Guards on dependencies: upgrades that silently break the wrapped libraries, and the
direction of imports between the package's own stages (ordinal → cfa → invariance)."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import numpy as np


def test_factor_analyzer_fits_with_installed_scikit_learn(hs):
    # factor-analyzer 0.5.1 calls sklearn's check_array(force_all_finite=...), removed in
    # scikit-learn 1.8: this fit fails if pyproject's constraint is ever lifted too far.
    from factor_analyzer import FactorAnalyzer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        fa = FactorAnalyzer(n_factors=3, rotation=None, method="minres")
        fa.fit(hs[[f"x{i}" for i in range(1, 10)]].to_numpy())
    assert fa.loadings_.shape == (9, 3)
    assert np.all(np.isfinite(fa.loadings_))


def test_semopy_fits_holzinger_swineford(hs):
    import semopy

    model = semopy.Model(
        "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    )
    model.fit(hs)
    stats = semopy.calc_stats(model)
    # lavaan: chisq = 85.306 (semopy uses N too); loose because semopy's optimiser stops early.
    assert abs(float(stats["chi2"].iloc[0]) - 85.3055) < 0.05


# ------------------------------------------------------------------ import layering
PKG = Path(__file__).resolve().parent.parent / "psychometrics"


def _import_graph() -> dict[str, set[str]]:
    """module → psychometrics modules it imports anywhere (module level or inside functions)."""
    mods = {}
    for path in PKG.rglob("*.py"):
        name = ".".join(("psychometrics",) + path.relative_to(PKG).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        pkg = m if path.name == "__init__.py" else m.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            else:
                continue
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                # a package's own submodules are not edges (its __init__ re-exports them)
                if t and t != m and not t.startswith(m + "."):
                    graph[m].add(t)
    return graph


def _stage(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def test_ordinal_cfa_invariance_import_downward_only():
    """ordinal sits below efa and cfa, cfa below reliability and invariance (docs/developing.md)."""
    forbidden = {
        "ordinal": {"efa", "cfa", "reliability", "items", "invariance", "categorical_invariance", "validity",
                    "scoring", "report", "pipeline", "cli"},
        "cfa": {"reliability", "items", "invariance", "categorical_invariance", "validity", "scoring", "report",
                "pipeline", "cli"},
        "invariance": {"categorical_invariance", "validity", "scoring", "report", "pipeline", "cli"},
    }
    bad = [f"{m} imports {t}" for m, targets in _import_graph().items() for t in targets
           if _stage(t) in forbidden.get(_stage(m), set())]
    assert not bad, bad


def test_no_import_cycle_through_ordinal_cfa_invariance():
    graph = _import_graph()
    mine = ("ordinal", "cfa", "invariance", "categorical_invariance", "efa")
    # strongly connected components (Tarjan); any with more than one module is a cycle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    ours = [c for c in cycles if any(_stage(m) in mine for m in c)]
    assert not ours, ours
