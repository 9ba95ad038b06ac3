"""Exploratory factor analysis: sampling adequacy, factor retention (scree plot, parallel
analysis, MAP), the pattern matrix and the items it flags."""

from __future__ import annotations

from typing import Any

import pandas as pd

from psychometrics.exceptions import Diagnostic
from psychometrics.report import figures
from psychometrics.report.context import Diagnostics, Figure, Table
from psychometrics.report.inputs import ValidationRun
from psychometrics.report.sections.base import Part

__all__ = ["efa_part"]


def efa_part(run: ValidationRun) -> Part:
    """Adequacy, retention, pattern matrix (figure and table), factor correlations, flags, diagnostics."""
    step, opts = run.efa, run.options
    e = step.efa
    n_cal = len(run.data.calibration)
    kmo, bart = step.kmo, step.bartlett
    adequacy = pd.DataFrame({"KMO": [kmo.overall], "Bartlett χ²": [bart.chisq], "df": [int(bart.df)],
                             "p": [bart.pvalue]}, index=pd.Index([f"Calibration sample (n = {n_cal})"], name="Sample"))
    blocks: list[Any] = [Table(adequacy, "Sampling Adequacy", digits={"KMO": 3, "Bartlett χ²": 1}, p_values=["p"],
                               no_leading_zero=["KMO"])]
    blocks += _retention_blocks(run)
    loadings = e.loadings.copy()
    fs = e.factor_subscales
    if fs is not None:
        loadings.columns = [f"{c} ({fs[c]})" if fs.get(c) is not None else str(c) for c in loadings.columns]
    mapping = ("; ".join(f"{c} = {fs[c]}" for c in e.loadings.columns if fs is not None and fs.get(c) is not None)
               if fs is not None else "")
    blocks.append(Figure(figures.loading_heatmap(e.loadings, communalities=e.communalities), "Pattern Matrix",
                         note="Bold: |loading| ≥ .30."
                              + (f" Each factor represents the declared subscale most of its primary items belong "
                                 f"to: {mapping}." if mapping else "")))
    lt = loadings.copy()
    lt["h²"] = e.communalities
    lt.index.name = "Item"
    blocks.append(Table(lt, "Pattern Loadings and Communalities", no_leading_zero=True))
    if e.n_factors > 1:
        phi = e.phi.copy()
        phi.index = phi.columns = list(loadings.columns)
        blocks.append(Table(phi, "Factor Correlations", no_leading_zero=True))
    if not e.flags.empty:
        ef = e.flags.set_index("item")[["rule", "value", "message"]]
        ef.index.name = "Item"
        blocks.append(Table(ef.rename(columns={"rule": "Rule", "value": "Value", "message": "Detail"}),
                            "Items Flagged in the EFA", digits={"Value": 3}))
    diagnostics = [Diagnostic(d.category, f"{k}: {d.message}") for k, d in step.diagnostics]
    if diagnostics:
        blocks.append(Diagnostics(diagnostics, title="Estimation diagnostics", by_cause=len(diagnostics) > 1))
    k = step.n_extracted
    intro = [f"Estimation: {run.estimation['efa']}.",
             f"Calibration sample: a random {opts.split:.0%} of the analysed respondents (n = {n_cal}, seed "
             f"{opts.seed}). {opts.efa_method} extraction of {k} factor{'s' * (k != 1)} from "
             + ((f"polychoric correlations (pairwise deletion: n = {step.n} respondents with at least one answer)"
                 if opts.missing != "listwise" else f"polychoric correlations (complete cases, n = {step.n})")
                if step.correlations == "polychoric"
                else f"EM (FIML) correlations (n = {step.n} rows)" if step.correlations == "em"
                else "pairwise correlations")
             + f", {opts.rotation if e.n_factors > 1 else 'no'} rotation (psych::fa)."] + list(step.notes)
    return Part(intro=intro, blocks=blocks)


def _retention_blocks(run: ValidationRun) -> list[Any]:
    """Scree plot with parallel analysis and the retention table (none when retention could not run)."""
    pa, mp = run.efa.parallel, run.efa.map
    if pa is None or mp is None:
        return []
    ev = pa.eigenvalues
    observed = pd.DataFrame({"FA": ev["observed_fa"], "PCA": ev["observed_pc"]})
    simulated = pd.DataFrame({"FA": ev["simulated_fa_quantile"], "PCA": ev["simulated_pc_quantile"]})
    scree = Figure(
        figures.scree_plot(observed, simulated, retained=pa.n_factors,
                           simulated_label=f"{pa.quantile:.0%} quantile, random data"),
        "Scree Plot with Parallel Analysis",
        note=f"Factors are retained while the observed eigenvalue exceeds the {pa.quantile:.0%} quantile of the "
             f"eigenvalues of {pa.n_iter} random normal data sets of the same size (Horn, 1965). Parallel "
             f"analysis suggests {pa.n_factors} factors ({pa.n_components} components); Velicer's MAP "
             f"suggests {mp.n_factors}.")
    ret = pd.DataFrame({"Observed FA": ev["observed_fa"], "Random FA q": ev["simulated_fa_quantile"],
                        "Observed PCA": ev["observed_pc"], "Random PCA q": ev["simulated_pc_quantile"],
                        "MAP": mp.values.reindex(ev.index)}).head(min(10, len(ev)))
    ret.index.name = "Factor"
    return [scree, Table(ret, "Factor Retention", digits={"MAP": 4},
                         note="q = quantile of the random eigenvalues; MAP = average squared partial "
                              "correlation after removing m components (minimum = suggested number).")]
