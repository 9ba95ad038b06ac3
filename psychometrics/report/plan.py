"""``plan.html``: the report of a Monte Carlo sample-size plan (:mod:`psychometrics.plan`).

Power curves per criterion against n (inline SVG, :func:`~psychometrics.report.figures.plan.power_curves`),
the recommended n with its interval, the per-condition table with Monte Carlo SEs, the
population model, all settings, the failures and the provenance. Self-contained HTML (no
external resources), rendered with the report's jinja2 environment (autoescape on).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from psychometrics._io import atomic_write_text
from psychometrics._display import format_value
from psychometrics.plan.analyses import IRT_ALPHA
from psychometrics.plan.api import PlanResult
from psychometrics.plan.summary import DESCRIPTIONS, describe
from psychometrics.report.figures.plan import power_curves
from psychometrics.report.render import environment

__all__ = ["render_plan_report", "write_plan_report"]

#: the criteria drawn as power curves, with their panel titles
_CURVES = {
    "cfa.reject": "χ² test of the model rejects",
    "invariance.reject_metric": "Rule rejects metric invariance",
    "invariance.reject_scalar": "Rule rejects scalar invariance",
    "invariance.detect_dif": "Planted non-invariant items detected",
    "invariance.false_positive": "Invariant items flagged (false positives)",
    "irt.detect_dif": "IRT DIF: planted DIF items detected",
    "irt.false_positive": "IRT DIF: DIF-free items flagged (false positives)",
    "reliability.precision": "95 % CI of ω within ±.05",
    "reliability.coverage": "Coverage of the 95 % CI of ω",
}


def _figures(res: PlanResult) -> list[dict[str, Any]]:
    target = float(res.settings["target"])
    out = []
    crit = res.criteria
    for name, title in _CURVES.items():
        g = crit[crit["criterion"] == name]
        if g.empty or g["estimate"].isna().all():
            continue
        labels = [f"effect × {e:g}" + (f", groups {a}" if a and len(res.settings["allocations"]) > 1 else "")
                  for e, a in zip(g["effect"], g["allocation"])]
        curves = g.assign(series=labels)[["series", "n", "estimate", "mcse"]]
        ref = 0.95 if name == "reliability.coverage" else (res.settings["alpha"] if name == "invariance.false_positive"
                                                           else IRT_ALPHA if name == "irt.false_positive" else target)
        out.append({"name": name, "title": title, "svg": power_curves(curves, ref, title=title),
                    "description": describe(name)})
    return out


def _table(res: PlanResult) -> dict[str, Any]:
    crit = res.criteria
    conds = crit[["condition", "n", "effect", "groups"]].drop_duplicates().sort_values("condition")
    names = list(dict.fromkeys(crit["criterion"]))
    rows = []
    for name in names:
        g = crit[crit["criterion"] == name].set_index("condition")
        cells = []
        for c in conds["condition"]:
            if c in g.index:
                e, s = g.loc[c, "estimate"], g.loc[c, "mcse"]
                cells.append(format_value(e, digits=3) + ("" if pd.isna(s) else f" ({format_value(s, digits=3)})"))
            else:
                cells.append("—")
        rows.append({"name": name, "description": describe(name), "cells": cells})
    heads = [f"n = {int(n)}" + (f" ({g})" if g else "") + ("" if len(res.settings["effects"]) == 1 else f", effect × {e:g}")
             for n, e, g in zip(conds["n"], conds["effect"], conds["groups"])]
    return {"heads": heads, "rows": rows}


def render_plan_report(res: PlanResult) -> str:
    """The HTML text of ``plan.html``."""
    import json

    pop = res.population
    recs = [{**r, "description": describe(r["criterion"])} for r in res.recommendations.to_dict(orient="records")]
    failures = res.replications.loc[res.replications["error"].astype(str) != "", ["n", "effect", "rep", "error"]]
    ctx = {
        "title": "Sample-size plan",
        "settings": res.settings,
        "population": {"source": pop.source, "items": len(pop.items), "factors": ", ".join(pop.factors),
                       "groups": ", ".join(f"{g} ({p:.0%})" for g, p in zip(pop.groups, pop.proportions)),
                       "model": pop.model, "dif_items": ", ".join(pop.dif_items) or "none",
                       "data": "ordinal (Likert categories of the latent responses)" if pop.ordinal
                       else "continuous (multivariate normal)",
                       "loadings": [(i, format_value(v, digits=2)) for i, v in pop.std_loadings().items()],
                       "omega": [(f, format_value(v, digits=3)) for f, v in pop.omega().items()]},
        "recommendations": recs,
        "figures": _figures(res),
        "table": _table(res),
        "skipped": res.skipped,
        "failures": failures.head(20).to_dict(orient="records"),
        "n_failures": len(failures),
        "provenance": res.to_json()["provenance"],
        "settings_json": json.dumps(res.settings, indent=1),
        "kinds": DESCRIPTIONS,
    }
    return environment().get_template("plan.html.j2").render(**ctx)


def write_plan_report(res: PlanResult, out: str | os.PathLike[str]) -> Path:
    """Write ``out/plan.html`` and return its path."""
    path = Path(out) / "plan.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, render_plan_report(res))
    return path
