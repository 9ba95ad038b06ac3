"""Item response theory: GRM parameters, category response and information curves, S-X² item fit,
and IRT (ordinal logistic regression) DIF beside the CFA-based non-invariance."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from psychometrics.report.context import Figure, Paragraph, Table
from psychometrics.report.inputs import ValidationRun
from psychometrics.report.sections.base import Part

__all__ = ["irt_part"]

_CITES = {"Samejima (1969)", "Bock & Aitkin (1981)", "Louis (1982)", "Orlando & Thissen (2000)",
          "Thissen et al. (1995)", "Crane et al. (2006)", "Jodoin & Gierl (2001)"}
_FIT_CITES = {"Maydeu-Olivares & Joe (2005)", "Cai & Monroe (2014)", "Maydeu-Olivares & Joe (2014)",
              "Chen & Thissen (1997)", "Yen (1984)", "Christensen et al. (2017)"}


def irt_part(run: ValidationRun) -> Part:
    """The "Item Response Theory" subsection (empty note when the step did not run)."""
    irt: Any = getattr(run, "irt", None)
    part = Part()
    if irt is None:
        part.intro.append("Item response theory was not run (option irt: false).")
        return part
    part.cites |= _CITES
    part.intro.append(
        "A graded response model (Samejima, 1969) per subscale and for the total score, by marginal maximum "
        "likelihood (Bock & Aitkin, 1981; θ ~ N(0, 1), 21-point Gauss–Hermite quadrature) on all analysed rows; "
        "standard errors from the observed information (Louis, 1982). a is the slope (discrimination), b1… the "
        "category thresholds on the θ scale. Items are judged by their S-X² fit (Orlando & Thissen, 2000) and by "
        "DIF from ordinal logistic regression (Crane et al., 2006) with Jodoin & Gierl (2001) effect size classes.")
    from psychometrics.irt.scores import THETA_GRID, item_probabilities
    from psychometrics.report.figures import category_response_curves, information_curves

    params, overview = [], []
    for sid, cal in irt.calibrations.items():
        p = cal.parameters
        cols = ["a"] + [c for c in p.columns if c.startswith("b") and p[c].notna().any()] + ["se_a"]
        if sid != "total":
            params.append(p[cols].assign(Score=sid).reset_index().set_index(["Score", "item"]))
        overview.append({"Score": sid, "Items": len(cal.items), "n": cal.n_obs, "log L": cal.loglik,
                         "Marginal reliability": irt.marginal_reliability.get(sid, np.nan),
                         "Converged": "yes" if cal.converged else "no"})
    if overview:
        part.blocks.append(Table(pd.DataFrame(overview).set_index("Score"), "IRT Calibrations (Graded Response Model)",
                                 digits={"Items": 0, "n": 0, "log L": 1, "Marginal reliability": 3},
                                 no_leading_zero=["Marginal reliability"],
                                 note="Marginal reliability of the EAP scores: 1 − Σ w_q / (I(θ_q) + 1)."))
    if params:
        part.blocks.append(Table(pd.concat(params), "GRM Item Parameters", digits=2,
                                 note="Slope–intercept estimates, SEs and the full table are in results.json "
                                      "(irt.models.<score>.parameters)."))
    for sid, cal in irt.calibrations.items():
        if sid == "total":
            continue
        probs = item_probabilities(cal, THETA_GRID)
        curves = {item: pd.DataFrame(pr, index=THETA_GRID, columns=[f"{v:g}" for v in cal.category_values[item]])
                  for item, pr in zip(cal.items, probs)}
        part.blocks.append(Figure(category_response_curves(curves), f"Category Response Curves: {sid}"))
    info = {sid: irt.information[sid]["test_information"] for sid in irt.information}
    if info:
        part.blocks.append(Figure(information_curves(info), "Test Information Curves",
                                  note="Conditional SE(θ) = 1/√I(θ); I = 10 corresponds to a conditional "
                                       "reliability of .90."))
    if irt.item_fit:
        fit = pd.concat([f.assign(Score=s).reset_index().set_index(["Score", "item"]) for s, f in irt.item_fit.items()])
        part.blocks.append(Table(fit[["s_x2", "df", "p", "p_bh"]].rename(columns={"s_x2": "S-X²", "p_bh": "p (BH)"}),
                                 "Item Fit (S-X²)", digits={"df": 0}, p_values=["p", "p (BH)"],
                                 note="Complete responses, extreme sum scores dropped, score groups merged from the "
                                      "tails until every expected count is ≥ 1; p (BH): Benjamini–Hochberg across "
                                      "the items of the subscale."))
    part.blocks += _global_local_blocks(irt, part)
    if irt.dif is not None:
        part.blocks += _dif_blocks(irt.dif)
        if "lr_chi2" in irt.dif.columns:
            part.cites |= {"Thissen et al. (1988)", "Woods (2009)", "Benjamini & Hochberg (1995)",
                           "Chalmers et al. (2016)"}
            dropped = {sid: r.n_dropped_rows for sid, r in getattr(irt, "lr_dif", {}).items() if r.n_dropped_rows}
            if dropped:
                part.blocks.append(Paragraph("Rows left out of the likelihood-ratio DIF (no group or no response): "
                                             + "; ".join(f"{k}: {v}" for k, v in dropped.items()) + "."))
    bifactor = getattr(irt, "bifactor", None)
    if bifactor is not None:
        part.cites |= {"Gibbons & Hedeker (1992)", "Reise (2012)"}
        part.blocks += _bifactor_blocks(bifactor)
    for note in irt.notes:
        part.blocks.append(Paragraph(note))
    return part


def _dif_blocks(dif: pd.DataFrame) -> list[Any]:
    d = dif.copy()
    cfa = d["cfa_non_invariant"]
    d["CFA non-invariant"] = ["—" if isinstance(v, float) and np.isnan(v) else ("yes" if v else "no") for v in cfa]
    lr = "lr_chi2" in d.columns
    cols = ["score", "chi2_13", "p_13", "delta_r2_13", "beta1_change", "jodoin_gierl"]
    if lr:
        d["LR DIF"] = ["—" if pd.isna(v) else ("yes" if v else "no") for v in d["lr_flag"]]
        cols += ["lr_chi2", "lr_df", "lr_q", "lr_uids", "LR DIF"]
    table = d[cols + ["CFA non-invariant"]]
    table = table.rename(columns={"score": "Score", "chi2_13": "χ²(1 vs 3)", "p_13": "p", "delta_r2_13": "ΔR²",
                                  "beta1_change": "Δβ1", "jodoin_gierl": "Class", "lr_chi2": "LR G²", "lr_df": "df",
                                  "lr_q": "q (BH)", "lr_uids": "UIDS"})
    views = {"ordinal logistic (class B/C)": set(d.index[d["jodoin_gierl"].isin(["B", "C"])]),
             "likelihood ratio (q < .05)": set(d.index[d["LR DIF"] == "yes"]) if lr else None,
             "CFA non-invariance": set(d.index[d["CFA non-invariant"] == "yes"])}
    used = {k: v for k, v in views.items() if v is not None}
    every = sorted(set.intersection(*used.values()))
    words = f"Flagged by every view: {', '.join(every) or 'none'}. " + "; ".join(
        f"{k}: {', '.join(sorted(v)) or 'none'}" for k, v in used.items()) + "."
    note = ("Ordinal logistic regression, matching on the subscale's EAP θ; χ² compares the model with θ only to the "
            "one adding group and θ × group; ΔR²: McFadden; class A negligible, B moderate (ΔR² ≥ .035), C large "
            "(≥ .070), B/C only when p < .01. Δβ1: relative change of the θ slope when the group enters (> .10 "
            "suggests uniform DIF). ")
    if lr:
        note += ("LR G²: multi-group graded response model per subscale, the item's parameters equal vs free across "
                 "groups (reference group N(0, 1), the others' latent mean and SD estimated; Thissen, Steinberg & "
                 "Wainer, 1988), first with all other items as anchors, then with the items not flagged as anchors "
                 "until the anchor set is stable (Woods, 2009); q: Benjamini & Hochberg (1995) within the subscale; "
                 "UIDS: unsigned expected item score difference over the focal group (Chalmers et al., 2016), "
                 "in category steps. ")
    note += "CFA non-invariant: the item's constraints were released in the invariance step."
    return [Table(table, "Differential Item Functioning Beside CFA Non-Invariance",
                  digits={"χ²(1 vs 3)": 2, "LR G²": 2, "df": 0, "UIDS": 2},
                  p_values=["p", "q (BH)"] if lr else ["p"], no_leading_zero=["ΔR²"], note=note),
            Paragraph(words)]


def _global_local_blocks(irt: Any, part: Part) -> list[Any]:
    """M2 / C2 with RMSEA2 per subscale and the item pairs flagged for local dependence."""
    m2: dict = getattr(irt, "global_fit", {}) or {}
    ld: dict = getattr(irt, "local_dependence", {}) or {}
    if not m2 and not ld:
        return []
    part.cites |= _FIT_CITES
    rows = []
    for sid in dict.fromkeys([*m2, *ld]):
        r: dict[str, Any] = {"Score": sid}
        f = m2.get(sid)
        if f is not None:
            r.update({"Statistic": f["name"], "Value": f["statistic"], "df": f["df"], "p": f["p"], "RMSEA2": f["rmsea2"]})
        t = ld.get(sid)
        if t is not None and not t.empty:
            r.update({"Pairs": len(t), "LD χ² > 10": int((t["ld_std"] > 10).sum()),
                      "|Q3*| > .20": int((t["q3_star"].abs() > 0.2).sum()), "max |Q3*|": float(t["q3_star"].abs().max())})
        rows.append(r)
    out: list[Any] = [Table(pd.DataFrame(rows).set_index("Score"), "IRT Global Fit and Local Dependence",
                            digits={"df": 0, "Pairs": 0, "LD χ² > 10": 0, "|Q3*| > .20": 0, "Value": 2, "RMSEA2": 3},
                            p_values=["p"], no_leading_zero=["RMSEA2", "max |Q3*|"],
                            note="M2 (binary items; Maydeu-Olivares & Joe, 2005) or its polytomous version C2 (Cai & "
                                 "Monroe, 2014) on complete rows, with RMSEA2 (Maydeu-Olivares & Joe, 2014; ≤ .05 "
                                 "close fit). Local dependence per item pair: the standardised LD χ² of Chen & Thissen "
                                 "(1997), flagged above 10 when positive (more association than the model implies), "
                                 "and Yen's (1984) Q3 of EAP residuals centred on its mean, Q3* (Christensen et al., "
                                 "2017), flagged above .20 in absolute value.")]
    flagged = [t.assign(Score=sid) for sid, t in ld.items() if not t.empty]
    if flagged:
        pairs = pd.concat(flagged)
        pairs = pairs[(pairs["ld_std"] > 10) | (pairs["q3_star"].abs() > 0.2)]
        if not pairs.empty:
            tab = pairs[["Score", "item1", "item2", "ld_x2", "df", "ld_std", "q3", "q3_star"]].rename(
                columns={"item1": "Item 1", "item2": "Item 2", "ld_x2": "LD χ²", "ld_std": "Standardised", "q3": "Q3",
                         "q3_star": "Q3*"}).set_index(["Score", "Item 1", "Item 2"])
            out.append(Table(tab, "Item Pairs Flagged for Local Dependence", digits={"df": 0, "LD χ²": 1},
                             note="Flag: standardised LD χ² > 10 or |Q3*| > .20. A flagged pair shares variance "
                                  "beyond the trait (similar wording, a specific facet); consider dropping one item "
                                  "or modelling the pair (e.g. a bifactor or testlet model)."))
    return out


def _bifactor_blocks(b: Any) -> list[Any]:
    p = b.parameters
    cols = ["specific", "a_g", "a_s"] + [c for c in p.columns if c.startswith("c") and p[c].notna().any()]
    cols += ["se_a_g", "se_a_s"]
    table = p[cols].rename(columns={"specific": "Specific factor", "a_g": "a (general)", "a_s": "a (specific)",
                                    "se_a_g": "SE a (general)", "se_a_s": "SE a (specific)"})
    rel = b.reliability
    text = (f"Bifactor graded response model of all items (specific factor = subscale; Gibbons & Hedeker, 1992), "
            f"log L = {b.loglik:.1f}, {b.n_parameters} parameters, {'converged' if b.converged else 'NOT converged'}. "
            f"On the latent-response scale (slopes converted to standardised loadings with D = 1.702, so "
            f"approximate): ECV = {rel['ecv']:.2f}, ω_h = {rel['omega_h']:.2f}, ω = {rel['omega']:.2f} (Reise, 2012).")
    return [Paragraph(text),
            Table(table, "Bifactor GRM Item Parameters", digits=2,
                  note=f"Slope–intercept form, logistic metric; {b.quadrature_points} Gauss–Hermite points per "
                       f"dimension; SEs from the {'score cross-product' if b.se_method == 'crossprod' else 'observed'} "
                       "information. Thresholds and all SEs are in results.json (irt.bifactor).")]
