"""Independent cross-check (``--crosscheck``): the declared CFA model re-fitted with semopy and the
EFA with factor_analyzer, side by side with this package's estimates."""

from __future__ import annotations

from typing import Any

import pandas as pd

from psychometrics.report.context import Paragraph, Table
from psychometrics.report.inputs import CrosscheckEvidence
from psychometrics.report.sections.base import Part

__all__ = ["crosscheck_part"]


def crosscheck_part(check: CrosscheckEvidence) -> Part:
    """An agreement table (one row per engine), the CFA statistics side by side, and notes."""
    rows = {}
    for r in check.results:
        rows[r.analysis] = {"Engine": f"{r.engine} {r.engine_version}", "n": r.n,
                            "Largest |difference|": r.max_abs_difference, "Tolerance": r.tolerance,
                            "Agree": "yes" if r.agrees else "no"}
    intro = ["To show that the numbers do not depend on one implementation, the declared model was re-fitted by "
             "independent libraries on the same rows (complete cases of the items) and the estimates compared."]
    blocks: list[Any] = []
    if rows:
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "Analysis"
        blocks.append(Table(frame, "Agreement With Independent Implementations",
                            digits={"n": 0, "Largest |difference|": 6, "Tolerance": 4},
                            note="Largest absolute difference of the estimates (CFA: every loading and (co)variance; "
                                 "EFA: every loading after matching factor order and sign). " +
                                 " ".join(r.note for r in check.results)))
    for r in check.results:
        if len(r.statistics):
            stats = r.statistics.rename(columns={"ours": "psychometrics", "theirs": r.engine,
                                                 "difference": "Difference"})
            blocks.append(Table(stats, f"Fit Statistics: psychometrics and {r.engine}", digits=4))
    blocks += [Paragraph(n) for n in check.notes]
    return Part(intro=intro, blocks=blocks)
