"""Partial invariance: which equality constraint to release next — the one with the largest
univariate score test (lavaan's ``lavTestScore``) that keeps enough invariant anchors per factor —
and the names of released parameters (lavaan's ``group.partial`` spelling)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.invariance.results import FittedLevel

__all__ = ["release_candidates", "best_categorical_release", "item_of", "param_kind", "release_name"]


def release_name(prm: Any) -> str:
    """lavaan ``group.partial`` spelling of a parameter."""
    return f"{prm.lhs}~1" if prm.op == "~1" else f"{prm.lhs}{prm.op}{prm.rhs}"


def release_candidates(f: FittedLevel, kind: str, released: Sequence[str], min_invariant: int) -> pd.DataFrame:
    """Score tests of the constraints this level added that may still be released.

    A parameter is a candidate when releasing it leaves at least ``min_invariant``
    items with that parameter still equal across groups on every factor the item
    loads on (a marker loading counts as equal): with fewer, the comparison of the
    factor across groups rests on too few anchors (and with no equal intercept a
    latent mean is not identified).
    """
    spec = f.engine.spec
    st = f.engine.score_tests()
    if st.empty:
        return st
    if kind == "loadings":
        st = st[st["op"] == "=~"]
    elif kind == "intercepts":
        st = st[(st["op"] == "~1") & st["lhs"].isin(spec.observed)]
    else:
        st = st[(st["op"] == "~~") & (st["lhs"] == st["rhs"]) & st["lhs"].isin(spec.observed)]
    st = st[np.isfinite(st["x2"].to_numpy(float))]
    if st.empty:
        return st
    st = st.assign(released=[f"{l}~1" if o == "~1" else f"{l}{o}{r}" for l, o, r in zip(st["lhs"], st["op"], st["rhs"])])
    st = st[~st["released"].isin(released)]
    best = st.sort_values("x2", ascending=False, kind="stable").drop_duplicates("released")
    # items per factor, and which of them are still equal for this parameter kind
    loads = [(p.lhs, p.rhs) for p in spec.parameters if p.op == "=~" and p.group == 0 and p.rhs in spec.observed]
    fac_items: dict[str, list[str]] = {}
    for fct, item in loads:
        fac_items.setdefault(fct, []).append(item)
    rel = set(released)

    def still_equal(fct: str, item: str, extra: str) -> bool:
        name = (f"{fct}=~{item}" if kind == "loadings" else f"{item}~1" if kind == "intercepts" else f"{item}~~{item}")
        return name not in rel and name != extra

    keep = []
    for _, r in best.iterrows():
        if kind == "loadings":
            facs = [r["lhs"]]
        else:
            facs = [fct for fct, item in loads if item == r["lhs"]]
        ok = all(sum(still_equal(fct, it, r["released"]) for it in fac_items[fct]) >= min_invariant for fct in facs)
        keep.append(ok)
    return best[np.array(keep, dtype=bool)] if keep else best


def item_of(release: str) -> str:
    if release.endswith("~1"):
        return release[:-2]
    if "=~" in release:
        return release.split("=~")[1]
    return release.split("~~")[0]


def param_kind(release: str) -> str:
    return "intercept" if release.endswith("~1") else "loading" if "=~" in release else "residual variance"



def best_categorical_release(fit: Any, level: str, released: Sequence[str], min_invariant: int) -> tuple[str, float] | None:
    """The constraint of ``level`` with the largest score statistic (max over groups), or None."""
    e = fit._engine
    spec = e.spec
    best: dict[str, float] = {}
    if level in ("thresholds", "loadings"):
        st = e.score_tests()
        op = "|" if level == "thresholds" else "=~"
        for r in st[st["op"] == op].itertuples():
            if r.x2 == r.x2:
                name = f"{r.lhs}|{r.rhs}" if op == "|" else f"{r.lhs}=~{r.rhs}"
                best[name] = max(best.get(name, -1.0), float(r.x2))
    else:  # intercepts: ν fixed to 0 in every group; free it in groups 2..G
        for p in spec.parameters:
            if p.matrix == "nu" and p.group > 0 and not p.free:
                x2, _ = e.release_test(p)
                if x2 == x2:
                    name = f"{p.lhs}~1"
                    best[name] = max(best.get(name, -1.0), x2)
    for name in list(best):
        if name in released:
            del best[name]
    # keep ≥ min_invariant items per factor with equal loadings / intercepts
    if level in ("loadings", "intercepts"):
        loads = [p for p in spec.parameters if p.group == 0 and p.matrix == "lambda"]
        for name in list(best):
            item = name.split("=~")[1] if level == "loadings" else name[:-2]
            factors = [p.lhs for p in loads if p.rhs == item]
            for fct in factors:
                items = [p.rhs for p in loads if p.lhs == fct]
                key = (lambda v: f"{fct}=~{v}") if level == "loadings" else (lambda v: f"{v}~1")
                still = [v for v in items if key(v) not in released and v != item]
                if len(still) < min_invariant:
                    del best[name]
                    break
    if not best:
        return None
    name = max(best, key=lambda k: best[k])
    return name, best[name]
