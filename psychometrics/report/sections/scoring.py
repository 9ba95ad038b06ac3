"""The scoring key: which items make each score, the scoring rule, reliabilities, descriptives
and the invariance level the key records."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from psychometrics.report.context import Paragraph, Table
from psychometrics.report.inputs import ValidationRun

__all__ = ["scoring_section"]


def scoring_section(run: ValidationRun) -> dict[str, Any]:
    """``{"blocks": [...]}`` of the scoring-key section."""
    key = run.scoring_key
    rows = []
    for sd in key.rules.scores:
        d = sd.to_dict()
        rev = set(d.get("reverse") or d.get("reversed") or [])
        rows.append({"Score": d.get("name"),
                     "Items": ", ".join(f"{i}(R)" if i in rev else str(i) for i in d.get("items") or []),
                     "Reliability": (key.reliability.get(d.get("name")) or {}).get("value", np.nan)})
    blocks: list[Any] = [
        Paragraph(f"Score each subscale as the {key.rules.method} of its answered items after reversing reverse-keyed "
                  f"items (min + max − x), when at least {key.rules.min_answered:.0%} of its items are answered. "
                  "The machine-readable key (scoring_key.json) holds the spec, its hash, the reliabilities, the "
                  "invariance level and groups, the calibration sample and norms; psychometrics score uses it."),
        Table(pd.DataFrame(rows).set_index("Score"), "Scoring Key", no_leading_zero=["Reliability"],
              digits={"Reliability": 3},
              note="R = reverse-keyed. Reliability: ω total of the calibration sample (α where ω is undefined)."),
    ]
    desc = run.validity.scores.descriptives.copy()
    desc.index.name = "Score"
    blocks.append(Table(desc, "Score Descriptives (Calibration Sample of the Key)", digits={"n": 0}))
    if key.invariance:
        blocks.append(Paragraph(
            f"Invariance across {key.invariance.get('group_variable')}: {key.invariance.get('level')} "
            f"(groups: {', '.join(key.invariance.get('groups') or [])})."))
    return {"blocks": blocks}
