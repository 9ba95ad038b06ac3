"""The "Short Form" subsection (option ``short_form`` / ``--short-form N``): the chosen items and
their re-validation on the validation sample — α/ω, the CFA, measurement invariance across the
grouping and the short–full correlation corrected for the shared items (Levy, 1967)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from psychometrics.report.context import Paragraph, Table
from psychometrics.report.sections.base import Part

__all__ = ["short_form_part"]

_CITES = {"Levy (1967)", "Samejima (1969)", "Orlando & Thissen (2000)", "Jodoin & Gierl (2001)"}


def short_form_part(step: Any) -> Part:
    """Blocks of the short-form subsection from a ``ShortFormStep``."""
    part = Part()
    sf = step.result
    if sf is None:
        part.intro.append(f"A short form with {step.per_subscale} item(s) per subscale was requested but not "
                          f"chosen: {step.note}")
        return part
    part.cites |= _CITES
    part.intro.append(
        f"Requested: {step.per_subscale} item(s) per subscale. Procedure: {sf.procedure}. Items were chosen on the "
        f"calibration sample (n = {sf.n_calibration}; a graded response model per subscale, Samejima, 1969; S-X² "
        f"misfit, Orlando & Thissen, 2000; DIF class B/C, Jodoin & Gierl, 2001) and the short form re-validated on "
        f"the validation sample (n = {sf.n_validation}), which played no part in the choice.")
    chosen = pd.DataFrame({"Items": [", ".join(v) for v in sf.items.values()],
                           "Kept": [len(v) for v in sf.items.values()]}, index=pd.Index(list(sf.items), name="Subscale"))
    part.blocks.append(Table(chosen, "Short Form: Chosen Items", digits={"Kept": 0}))
    rv = sf.revalidation.rename(columns={
        "items_full": "Items (full)", "items_short": "Items (short)", "alpha_full": "α full", "alpha_short": "α short",
        "omega_short": "ω short", "r_short_full": "r short–full", "r_short_full_corrected": "r corrected"})
    rv.index.name = "Score"
    part.blocks.append(Table(rv, "Short Form: Re-Validation on the Validation Sample",
                             digits={"Items (full)": 0, "Items (short)": 0},
                             no_leading_zero=["α full", "α short", "ω short", "r short–full", "r corrected"],
                             note="α: Cronbach's α; ω: one-factor CFA ω of the short subscale; r: correlation of the "
                                  "short and full mean scores, raw and corrected for the shared items (Levy, 1967): the "
                                  "short score's error variance (1 − α)σ², contained in both scores, is removed from "
                                  "their covariance."))
    if sf.cfa_fit:
        fit = pd.DataFrame([sf.cfa_fit]).rename(columns={"chisq": "χ²", "cfi": "CFI", "tli": "TLI", "rmsea": "RMSEA",
                                                        "srmr": "SRMR"})
        fit.index = pd.Index(["correlated factors"], name="Model")
        part.blocks.append(Table(fit, "Short Form: CFA on the Validation Sample", digits={"df": 0, "χ²": 2},
                                 no_leading_zero=["CFI", "TLI", "RMSEA", "SRMR"], note="Maximum likelihood."))
    if sf.invariance is not None:
        inv = sf.invariance.copy()
        inv["holds"] = [("—" if v is None or (isinstance(v, float) and np.isnan(v)) else ("yes" if v else "no"))
                        for v in inv["holds"]]
        inv = inv.rename(columns={"compared_with": "Compared with", "chisq": "χ²", "pvalue": "p", "cfi": "CFI",
                                  "rmsea": "RMSEA", "srmr": "SRMR", "delta_chisq": "Δχ²", "delta_df": "Δdf",
                                  "delta_pvalue": "p (Δχ²)", "delta_cfi": "ΔCFI", "delta_rmsea": "ΔRMSEA",
                                  "holds": "Holds"})
        inv.index.name = "Model"
        part.blocks.append(Table(inv, "Short Form: Measurement Invariance on the Validation Sample",
                                 digits={"df": 0, "Δdf": 0, "χ²": 2, "Δχ²": 2, "ΔCFI": 3, "ΔRMSEA": 3}, p_values=["p", "p (Δχ²)"],
                                 no_leading_zero=["CFI", "RMSEA", "SRMR"],
                                 note=f"Highest level that holds: {sf.invariance_level}. The correlated-factors model "
                                      f"of the short form by {sf.invariance_method}"
                                      f"{' (ordinal items: categorical ladder)' if sf.invariance_method == 'WLSMV' else ''}, "
                                      "with the decision rule of the full scale's invariance analysis."))
    else:
        part.blocks.append(Paragraph("No grouping variable was given (--group), so the invariance of the short form "
                                     "was not assessed."))
    for note in sf.notes:
        part.blocks.append(Paragraph(note))
    return part
