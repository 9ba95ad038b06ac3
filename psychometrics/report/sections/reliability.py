"""Reliability: α, ω and the other coefficients of every score; ordinal α and categorical ω;
ω from the bifactor CFA."""

from __future__ import annotations

import pandas as pd

from psychometrics._display import format_value
from psychometrics.report.context import Diagnostics, Paragraph, Table
from psychometrics.report.inputs import ValidationRun
from psychometrics.report.sections.base import Part
from psychometrics.report.text import subscale_name

__all__ = ["reliability_part"]


def _score_names(run: ValidationRun, ids: pd.Index) -> pd.Index:
    return pd.Index([("Total score" if s == "total" else subscale_name(run.scale, s)) for s in ids], name="Score")


def reliability_part(run: ValidationRun) -> Part:
    """The coefficients table, the ordinal coefficients, the bifactor ω and the notes."""
    part = Part(intro=[f"Estimation: {run.estimation['reliability']}."])
    rel = run.reliability
    rt = rel.result.table
    tab = pd.DataFrame({
        "Items": rt["n_items"].astype("int64"), "n": rt["n"].astype("int64"), "α": rt["alpha"],
        "α 95% CI": list(zip(rt["alpha_low"], rt["alpha_high"])),
        "ω total": rt["omega_total"], "ω 95% CI": list(zip(rt["omega_total_low"], rt["omega_total_high"])),
        "ω_h": rt["omega_hierarchical"], "λ6": rt["lambda6"], "SEM": rt["sem"]}, index=rt.index)
    tab.index = _score_names(run, rt.index)
    if "total" not in rt.index:  # ω_h is the general-factor saturation of a total score: none declared
        tab = tab.drop(columns="ω_h")
    part.blocks.append(Table(
        tab, "Reliability of the Subscale and Total Scores" if "total" in rt.index else "Reliability of the Subscale "
        "Scores", digits={"Items": 0, "n": 0, "SEM": 3},
        no_leading_zero=["α", "α 95% CI", "ω total", "ω 95% CI", "ω_h", "λ6"],
        note=(f"All {len(run.data.analysed)} analysed respondents with at least one answer to the score's items: "
              "the covariance matrix is the EM (FIML saturated-model) estimate, and the bootstrap re-runs the EM on "
              "every resample. " if getattr(rel.result, "missing", "listwise") == "fiml" else
              f"All {len(run.data.analysed)} analysed respondents with complete answers to the score's items "
              "(listwise). ")
             + f"α: Cronbach (1951), Feldt interval; ω total (McDonald, 1999), bootstrap interval "
             f"({run.options.n_boot} resamples; subscales only); "
             + ("ω_h: Schmid–Leiman general-factor saturation of the total score; " if "total" in rt.index else
                "no total score: the spec declares none (scoring.total is false and there is no hierarchy); ")
             + "SEM = SD·√(1 − α) in sum-score units (divide by the number of items for the mean "
             "score)."))
    orl = rel.ordinal_table
    if orl is not None:
        part.cites |= {"Zumbo et al. (2007)", "Green & Yang (2009)"}
        ot = pd.DataFrame({"n": orl["n"].astype("int64"), "Ordinal α": orl["ordinal_alpha"].astype(float),
                           "Categorical ω": orl["categorical_omega"].astype(float)})
        ot.index = _score_names(run, orl.index)
        part.blocks.append(Table(
            ot, "Ordinal Reliability Coefficients", digits={"n": 0}, no_leading_zero=["Ordinal α", "Categorical ω"],
            note="Ordinal α: α of the polychoric correlation matrix (Zumbo et al., 2007) — the reliability of the "
                 "latent-response sum. Categorical ω: reliability of the observed sum score from the WLSMV CFA of "
                 "the declared correlated-factors model (Green & Yang, 2009; semTools::compRelSEM); subscales only. "
                 + ("All analysed respondents with at least one answer (pairwise deletion: each polychoric "
                    "correlation from the respondents answering both items)." if run.options.missing != "listwise"
                    else "All analysed respondents with complete answers (listwise).")))
    bo = run.cfa.bifactor_omega
    if bo is not None:
        part.cites.add("Reise (2012)")
        part.blocks.append(Paragraph(
            f"From the bifactor CFA of the validation half (ML): ω total = "
            f"{format_value(bo.omega_total, no_leading_zero=True)}, ω hierarchical = "
            f"{format_value(bo.omega_hierarchical, no_leading_zero=True)} (the share of total-score variance due "
            f"to the general factor), explained common variance = {format_value(bo.ecv, no_leading_zero=True)} "
            "(Reise, 2012; semTools::compRelSEM definitions)."))
    part.blocks += [Paragraph(note) for note in rel.ordinal_notes]
    if rel.result.diagnostics:
        part.blocks.append(Diagnostics(list(rel.result.diagnostics), title="Estimation diagnostics"))
    return part
