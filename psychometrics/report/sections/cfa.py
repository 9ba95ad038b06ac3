"""Confirmatory factor analysis: fit of the competing models, the declared model against one
factor, its standardized solution (path diagram and loadings) and the largest modification
indices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from psychometrics.report import figures
from psychometrics.report.context import Diagnostics, Figure, Paragraph, Table
from psychometrics.report.inputs import ValidationRun
from psychometrics.report.sections.base import Part
from psychometrics.report.sections.items import modification_indices
from psychometrics.report.text import fmt_number

if TYPE_CHECKING:
    from psychometrics.cfa import CFAResult

__all__ = ["cfa_part"]


def _n_text(fits: Mapping[str, CFAResult]) -> str:
    ns = sorted({int(sum(f.nobs.values())) for f in fits.values()})
    return " / ".join(map(str, ns)) or "—"


def _fit_note(run: ValidationRun, step: Any, n: str) -> str:
    """The estimator, missing-data method and n under the fit table."""
    if step.estimator in ("ML", "MLR"):
        words = "Robust maximum likelihood (MLR)" if step.estimator == "MLR" else "Maximum likelihood"
        lead = (f"{words} with FIML (n = {n} rows of the validation sample, every row with at least one answered "
                "item)" if step.missing == "ml" else
                f"{words}, listwise deletion (n = {n} complete cases of the validation sample)")
        return lead + (": χ² and p are the Yuan–Bentler scaled statistic, CFI, TLI and RMSEA the robust indices "
                       "(Brosseau-Liard & Savalei, 2014; Zhang & Savalei, 2023)." if step.estimator == "MLR" else ".")
    lead = (f"WLSMV for ordinal items, pairwise deletion (n = {n} respondents of the validation sample with at least "
            "one answer; thresholds from each item's available answers, polychoric correlations from the rows "
            "answering both items)" if run.options.missing != "listwise" else
            f"WLSMV for ordinal items, listwise deletion (n = {n} complete cases of the validation sample)")
    return lead + (": χ², p, CFI, TLI and RMSEA are lavaan's scaled (mean- and variance-adjusted) values, which the "
                   "verdicts use; CFI robust and RMSEA robust (Savalei, 2021) are shown for comparison; AIC/BIC do "
                   "not exist (no likelihood).")


def cfa_part(run: ValidationRun) -> Part:
    """Model comparison, notes, declared vs one factor, standardized solution, MIs, diagnostics."""
    step = run.cfa
    ct = step.table.drop(columns=["converged", "AIC", "n"], errors="ignore")  # AIC, n in results.json
    n = _n_text(step.fits)
    blocks: list[Any] = [
        Table(ct, "Fit of the Competing Models", p_values=["p"],
              digits={"χ²": 1, "df": 0, "AIC": 1, "BIC": 1, "n": 0, "CFI": 3, "TLI": 3, "RMSEA": 3, "SRMR": 3,
                      "90% CI": 3},
              no_leading_zero=["CFI", "TLI", "RMSEA", "90% CI", "SRMR"],
              note=_fit_note(run, step, n)
              + " The bifactor model has orthogonal factors and unit factor variances. Cut-offs: CFI ≥ .95, "
                "RMSEA ≤ .06, SRMR ≤ .08 (Hu & Bentler, 1999)."),
    ]
    blocks += [Paragraph(note) for note in step.notes]
    lrt = step.lrt
    if lrt is not None and len(lrt) == 2:
        r = lrt.iloc[-1]
        blocks.append(Paragraph(
            f"Declared correlated-factors model vs one factor: Δχ²({int(r['delta_df'])}) = {r['delta_chisq']:.1f}, "
            f"p {'< .001' if r['delta_pvalue'] < 0.001 else '= ' + fmt_number(r['delta_pvalue'], 3)}, ΔCFI = "
            f"{fmt_number(r['delta_cfi'], 3)}."))
    if step.main is not None:
        blocks += _declared_model_blocks(step.main)
    blocks.append(Diagnostics(list(step.model_diagnostics) or ["No estimation problems (all models converged; no "
                                                               "Heywood cases)."], title="Estimation diagnostics",
                              by_cause=len(step.model_diagnostics) > 1))
    part = Part(intro=[f"Estimation: {run.estimation['cfa']}."], blocks=blocks)
    if step.estimator != "ML":
        part.cites |= {"Muthén et al. (1997)", "Savalei (2021)"}
    if run.ordinal:
        part.cites.add("Rhemtulla et al. (2012)")
    part.intro.append(f"Validation sample: the other {1 - run.options.split:.0%} (n = {len(run.data.validation)}). "
                      "Competing models: the declared correlated-factors structure"
                      + (", the declared higher-order structure" if run.scale.hierarchy else "")
                      + "; as comparisons (never judged in the summary), a single factor and a bifactor model.")
    return part


def _declared_model_blocks(main: CFAResult) -> list[Any]:
    """Path diagram, standardized loadings with R², and the largest cross-loading MIs of the declared model."""
    std = main.std_loadings.replace(0.0, np.nan)
    blocks: list[Any] = [Figure(figures.cfa_path_diagram(std, main.latent_cor, residuals=main.std_residual_variances),
                                "Standardized Solution of the Declared Correlated-Factors Model")]
    lt = std.copy()
    lt["R²"] = main.r_squared.reindex(lt.index)
    lt.index.name = "Item"
    blocks.append(Table(lt, "Standardized Loadings (Declared Model)", no_leading_zero=True))
    mi = modification_indices(main)
    if mi is not None and not mi.empty:
        top = mi[mi["op"] == "=~"].head(10)
        if not top.empty:
            mt = pd.DataFrame({"Parameter": [f"{a} =~ {b}" for a, b in zip(top["lhs"], top["rhs"])],
                               "MI": top["mi"], "EPC": top["epc"], "Std. EPC": top["sepc_all"]}).set_index("Parameter")
            blocks.append(Table(mt, "Largest Modification Indices for Cross-Loadings (Declared Model)",
                                digits={"MI": 1},
                                note="MI: expected drop in χ² (1 df) if the loading were freed; Std. EPC: "
                                     "expected standardized loading."))
    return blocks
