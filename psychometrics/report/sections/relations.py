"""Evidence based on relations to other variables: the validity hypotheses and their outcome,
the correlations with the companion measures, convergent and discriminant validity."""

from __future__ import annotations

from typing import Any

import pandas as pd

from psychometrics.report.context import Diagnostics, Paragraph, Table, Verdict, Verdicts
from psychometrics.report.inputs import ValidationRun
from psychometrics.report.text import subscale_name

__all__ = ["relations_section"]

_STATUS = {"supported": "met", "not supported": "not met", "inconclusive": "borderline"}


def relations_section(run: ValidationRun) -> dict[str, Any]:
    """``{"blocks": [...]}``: hypotheses, correlations, CR/AVE, Fornell–Larcker, HTMT, notes."""
    blocks = _hypotheses(run)
    cv = run.validity.construct_validity
    if cv is not None:
        r = cv.reliability
        avetab = pd.DataFrame({"Items": r["n_items"].astype("int64"), "CR": r["cr"], "ω": r["omega"], "AVE": r["ave"],
                               "√AVE": r["sqrt_ave"]})
        avetab.index = pd.Index([subscale_name(run.scale, f) for f in r.index], name="Factor")
        fl = cv.fornell_larcker.table.copy()
        fl.index.name = "Factor"  # subscale ids: the matrix stays narrow enough for the page
        blocks.append(Table(avetab, "Convergent Validity of the Factors (Validation Sample CFA)", digits={"Items": 0},
                            no_leading_zero=["CR", "ω", "AVE", "√AVE"],
                            note="CR = composite reliability (standardized loadings); ω = semTools::compRelSEM; AVE "
                                 "= average variance extracted (Fornell & Larcker, 1981)."))
        blocks.append(Table(fl, "Fornell–Larcker Criterion", no_leading_zero=True,
                            note="Diagonal: √AVE; off-diagonal: latent correlations. The criterion holds when each "
                                 "diagonal value exceeds the correlations in its row and column."))
        if cv.htmt is not None:
            hm = cv.htmt.matrix.copy()
            hm.index.name = "Factor"
            blocks.append(Table(hm, "Heterotrait–Monotrait Ratios (HTMT2)", no_leading_zero=True,
                                note="Henseler et al. (2015); discriminant validity when HTMT < .85."))
        if cv.diagnostics:
            blocks.append(Diagnostics(list(cv.diagnostics), title="Estimation diagnostics"))
    blocks += [Paragraph(note) for note in run.validity.notes]
    return {"blocks": blocks}


def _hypotheses(run: ValidationRun) -> list[Any]:
    """The hypotheses' verdicts and the correlations behind them, or why they were not evaluated."""
    hyp, opts = run.validity.hypotheses, run.options
    if hyp is None:
        if not run.scale.validity:
            return []
        return [Paragraph("The validity hypotheses were not evaluated: companion measures "
                          + ", ".join(run.data.missing_companions) + " were not found (pass --measures).")]
    t = hyp.table
    observed = t[t["basis"] == "observed"]
    vs = [Verdict(f"{r['hypothesis']}: {r['description'] or (str(r['score']) + ' ↔ ' + str(r['measure_score']))}",
                  _STATUS.get(r["verdict"], "not assessed"), (r["r"]), str(r["expected"]), "Campbell & Fiske (1959)")
          for _, r in observed.iterrows()]
    ci = f"{opts.conf_level:.0%} CI"
    blocks: list[Any] = [Verdicts(vs, "Validity Hypotheses and Their Outcome",
                                  note=f"Met: the whole {ci} of r lies in the expected region; not met: the whole CI "
                                       "lies outside it; borderline: the CI straddles a bound (inconclusive).")]
    ht = observed.set_index("hypothesis")
    short = ht["score"].astype(str).str.replace(f"{run.scale.id}.", "", regex=False)
    corr = pd.DataFrame({"Score": short, "Measure score": ht["measure_score"].astype(str), "r": ht["r"],
                         ci: list(zip(ht["lower"], ht["upper"])), "n": ht["n"].astype("int64"), "p": ht["p"]})
    corr.index.name = "Hypothesis"
    blocks.append(Table(corr, "Correlations of the Scores with the Companion Measures", p_values=["p"],
                        digits={"n": 0}, no_leading_zero=["r", ci],
                        note="Pearson r of observed scores (respondents with both scores), Fisher-z interval."))
    return blocks
