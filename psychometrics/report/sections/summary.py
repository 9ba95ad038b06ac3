"""The executive summary: key facts, the verdicts (given), the items to review and what the
estimation and the invariance analysis came to, and every diagnostic of the run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from psychometrics.report.context import Diagnostics, Verdict
from psychometrics.report.inputs import ValidationRun

__all__ = ["summary_section"]


def summary_section(run: ValidationRun, verdicts: Sequence[Verdict], review: pd.DataFrame) -> dict[str, Any]:
    """``{"facts", "verdicts", "intro", "blocks"}`` of the summary (``review``: the items to review)."""
    d, opts = run.data, run.options
    q = d.responses.quality
    pa, mp = run.efa.parallel, run.efa.map
    met = sum(v.status == "met" for v in verdicts)
    facts = {"Records read": q.rows_read, "Respondents analysed": len(d.analysed), "Items": len(run.scale.item_ids),
             "Subscales": len(run.scale.subscales),
             "Calibration / validation n": f"{len(d.calibration)} / {len(d.validation)}",
             "Careless-responding flags": int(q.careless_flags.get("any", 0)),
             "Factors retained (PA / MAP)": (f"{pa.n_factors} / {mp.n_factors}" if pa is not None and mp is not None
                                             else "—"),
             "Estimation": ("ordinal (polychoric EFA, WLSMV CFA and invariance)" if run.ordinal
                            else f"continuous (Pearson EFA, {run.cfa.estimator} CFA and invariance"
                                 + (", FIML)" if run.cfa.missing == "ml" else ")")),
             "Criteria met": f"{met} of {len(verdicts)}"}
    if opts.group:
        facts["Groups"] = " / ".join(map(str, d.responses.group.astype(str).value_counts().index))
    diagnostics = run.diagnostics
    return {"facts": facts, "verdicts": list(verdicts), "intro": _intro(run, review),
            "blocks": [Diagnostics(diagnostics, title="Diagnostics by cause (most urgent first)", by_cause=True)]
            if diagnostics else []}


def _intro(run: ValidationRun, review: pd.DataFrame) -> list[str]:
    """Items to review, the estimation (and any fallback), the invariance level reached."""
    intro = []
    if len(review):
        by_item: dict[str, list[str]] = {}
        for item, src in zip(review.index, review["Source"]):
            by_item.setdefault(item, [])
            if src not in by_item[item]:
                by_item[item].append(src)
        intro.append("Items to review: " + "; ".join(f"{i} ({', '.join(v)})" for i, v in by_item.items())
                     + " — see Items to Review in the item analysis.")
    estimation = run.estimation
    problems = [f"{k}: {v}" for k, v in estimation.items() if "fallback" in v or "failed" in v or "could not" in v]
    intro.append(f"Estimation: {run.ordinal_why}. " + "; ".join(problems) if problems
                 else f"Estimation: {run.ordinal_why}.")
    inv = run.invariance
    text = (f"Measurement invariance across {run.options.group}: {inv.level_text}." if inv.result is not None
            else (inv.note or ""))
    if text:
        intro.append(text)
    return intro
