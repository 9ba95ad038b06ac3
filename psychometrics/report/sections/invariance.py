"""Measurement invariance: the method and decision rule, the invariance models, the Δfit chart,
the constraints released for partial invariance, the score tests of the equality constraints,
the non-invariant items and the latent mean differences."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from psychometrics.report import figures
from psychometrics.report.context import Diagnostics, Figure, Paragraph, Table
from psychometrics.report.inputs import ValidationRun
from psychometrics.report.sections.base import Part

if TYPE_CHECKING:
    from psychometrics.categorical_invariance import CategoricalInvarianceResult
    from psychometrics.invariance import InvarianceResult

__all__ = ["invariance_part"]

_MODEL_COLUMNS = {"partial": "Released", "chisq": "χ²", "df": "df", "cfi": "CFI", "rmsea": "RMSEA", "srmr": "SRMR",
                  "delta_chisq": "Δχ²", "delta_df": "Δdf", "delta_pvalue": "p (Δχ²)", "delta_cfi": "ΔCFI",
                  "delta_rmsea": "ΔRMSEA", "delta_srmr": "ΔSRMR", "holds": "Holds"}


def invariance_part(run: ValidationRun) -> Part:
    """The subsection: why not assessed, or the categorical or continuous analysis."""
    step = run.invariance
    if step.result is None:
        intro = [step.note or "Measurement invariance was not assessed."]
        if step.fallback:
            intro.insert(0, step.fallback)
        return Part(intro=intro)
    if step.categorical:
        return _categorical(run, cast("CategoricalInvarianceResult", step.result))
    return _continuous(run, cast("InvarianceResult", step.result))


def _groups_sentence(run: ValidationRun, inv: InvarianceResult | CategoricalInvarianceResult) -> str:
    nobs = inv.nobs or {}
    pairwise = run.invariance.categorical and run.options.missing != "listwise"
    kind = "respondents with at least one answer, pairwise deletion" if pairwise else "complete cases"
    return (f"Across {run.options.group} ({', '.join(f'{g} n = {int(n)}' for g, n in nobs.items())} {kind}); "
            f"{'all analysed respondents' if run.options.invariance_sample == 'full' else 'validation sample'}: the "
            "invariance models ask whether the declared correlated-factors model holds equally across groups")


def _rule_sentence(run: ValidationRun, inv: InvarianceResult | CategoricalInvarianceResult,
                   items: list[str] | tuple[str, ...]) -> str:
    step = run.invariance
    return (f"Decision rule: {inv.rule} ({step.rule_words}); {inv.rule_reason}. Highest level reached: "
            f"{step.level_text}." + (f" Non-invariant items: {', '.join(items)}." if items else ""))


def _categorical(run: ValidationRun, inv: CategoricalInvarianceResult) -> Part:
    step = run.invariance
    intro = [
        f"Estimation: {run.estimation['invariance']}.",
        _groups_sentence(run, inv) + ". For ordinal items: configural → thresholds → loadings → intercepts (Wu & "
        "Estabrook, 2016 identification, as semTools::measEq.syntax); a failing level is made partial by releasing, "
        "one at a time, the constraint with the largest score test. The cut-offs for metric invariance are used for "
        "the thresholds and loadings levels, those for scalar invariance for the intercepts level.",
        _rule_sentence(run, inv, step.non_invariant_items),
    ]
    # the categorical result's own diagnostics are in the summary's list; problems of this step are shown here too
    blocks = [Diagnostics(list(step.diagnostics), title="Estimation diagnostics")] if step.diagnostics else []
    return Part(intro=intro, blocks=blocks, cites={step.rule_reference, "Wu & Estabrook (2016)"})


def _continuous(run: ValidationRun, inv: InvarianceResult) -> Part:
    step = run.invariance
    intro = [
        f"Estimation: {run.estimation['invariance']}." + (f" {step.fallback}" if step.fallback else ""),
        _groups_sentence(run, inv) + " (not which model), and they need the largest group sizes the data give. "
        "Configural → metric (equal loadings) → scalar (equal intercepts) → strict (equal residual variances); a "
        "failing level is made partial by releasing, one at a time, the constraint with the largest score test.",
        _rule_sentence(run, inv, inv.non_invariant_items),
    ]
    part = Part(intro=intro, cites={step.rule_reference})
    part.blocks.append(_models_table(inv, run.options.group))
    part.blocks += _delta_chart(inv, step.rule_reference)
    part.blocks += _partial_steps(inv)
    part.blocks += _score_tests(run, part)
    part.blocks += _item_parameters(inv, part)
    part.blocks += _latent_differences(inv)
    if inv.diagnostics or step.diagnostics:
        part.blocks.append(Diagnostics([*inv.diagnostics, *step.diagnostics], title="Estimation diagnostics"))
    return part


def _models_table(inv: InvarianceResult, group: str | None) -> Table:
    it = inv.table
    it = it[[c for c in _MODEL_COLUMNS if c in it.columns]].rename(columns=_MODEL_COLUMNS).copy()
    if "Released" in it:
        it["Released"] = it["Released"].map(lambda v: ", ".join(v) if isinstance(v, (list, tuple)) else
                                            ("" if v is None or v != v else str(v)))
    if "Holds" in it:
        it["Holds"] = it["Holds"].map(lambda v: "—" if v is None or v != v else ("yes" if bool(v) else "no"))
    for c in ("df", "Δdf"):
        if c in it:
            it[c] = it[c].map(lambda v: "—" if v != v else str(int(v)))
    it.index.name = "Model"
    return Table(it, f"Invariance Models Across {group}", p_values=["p (Δχ²)"],
                 digits={"χ²": 1, "Δχ²": 1, "CFI": 3, "RMSEA": 3, "SRMR": 3, "ΔCFI": 3, "ΔRMSEA": 3, "ΔSRMR": 3},
                 no_leading_zero=["CFI", "RMSEA", "SRMR", "ΔCFI", "ΔRMSEA", "ΔSRMR"],
                 note=_models_note(inv))


def _models_note(inv: InvarianceResult) -> str:
    words = ("Robust maximum likelihood (MLR): χ² is the Yuan–Bentler scaled statistic, Δχ² the Satorra–Bentler "
             "scaled difference, CFI/RMSEA the robust indices" if inv.estimator == "MLR" else "Maximum likelihood")
    miss = (f"; FIML (n = {sum(inv.nobs.values())} rows)." if inv.missing == "ml"
            else ", listwise deletion within groups.")
    return "Each model is compared with the previous level (Δ columns). " + words + miss


def _delta_chart(inv: InvarianceResult, reference: str) -> list[Any]:
    try:
        deltas, cutoffs = inv.delta_chart_data()
        if not len(deltas):
            return []
        return [Figure(figures.invariance_delta_chart(deltas.astype(float), cutoffs),
                       "Change in Fit Between Invariance Levels",
                       note=f"Dashed lines: cut-offs of the decision rule ({reference}). Red bars exceed the cut-off.")]
    except Exception as exc:  # noqa: BLE001 - the figure is optional; say why it is missing
        return [Paragraph(f"The Δfit chart could not be drawn: {exc}")]


def _partial_steps(inv: InvarianceResult) -> list[Any]:
    steps = inv.partial_steps
    if not len(steps):
        return []
    keep = [c for c in ("level", "step", "released", "item", "parameter", "x2", "cfi", "delta_cfi", "delta_rmsea",
                        "delta_srmr", "holds") if c in steps.columns]
    ps = steps[keep].rename(columns={"x2": "Score χ²", "delta_cfi": "ΔCFI", "delta_rmsea": "ΔRMSEA",
                                     "delta_srmr": "ΔSRMR", "cfi": "CFI"})
    if "holds" in ps:
        ps["holds"] = ps["holds"].map(lambda v: "yes" if bool(v) else "no")
    return [Table(ps, "Constraints Released for Partial Invariance",
                  digits={"Score χ²": 1, "CFI": 3, "ΔCFI": 3, "ΔRMSEA": 3, "ΔSRMR": 3},
                  no_leading_zero=["CFI", "ΔCFI", "ΔRMSEA", "ΔSRMR"],
                  note="Released in every group (lavaan's group.partial), largest univariate score test first "
                       "(lavTestScore).")]


def _score_tests(run: ValidationRun, part: Part) -> list[Any]:
    sct = run.invariance.score_tests
    if sct is None or not len(sct):
        return []
    top = sct.head(10)
    tab = pd.DataFrame({"Constraint": [f"{a} {o} {b}".strip() for a, o, b in zip(top["lhs"], top["op"], top["rhs"])],
                        "Group": top["group"].astype(str), "Score χ²": top["x2"], "p": top["pvalue"],
                        "p (Bonferroni)": top["p_bonferroni"], "EPC": top["epc"]})
    tab.index = pd.RangeIndex(1, len(tab) + 1, name="Rank")
    part.cites.add("Sörbom (1989)")
    return [Table(tab, "Largest Score Tests of the Equality Constraints (Scalar Model)",
                  digits={"Score χ²": 1, "EPC": 3}, p_values=["p", "p (Bonferroni)"],
                  note=f"Univariate score tests (lavaan's lavTestScore; Sörbom, 1989) for freeing one group's copy of "
                       f"a constrained loading (=~) or intercept (~1); Bonferroni over all {len(sct)} constraints. They "
                       "show where the groups differ most even when the fit-change rule accepts the level.")]


def _item_parameters(inv: InvarianceResult, part: Part) -> list[Any]:
    ii = inv.item_invariance
    if not isinstance(ii, pd.DataFrame) or not len(ii) or not inv.non_invariant_items:
        return []
    sel = ii[ii.index.get_level_values(-1).isin(inv.non_invariant_items)] if isinstance(ii.index, pd.MultiIndex) else ii
    if not len(sel):
        return []
    part.cites.add("Nye & Drasgow (2011)")
    return [Table(sel, "Non-Invariant Items: Parameters and dMACS", digits=3,
                  note="dMACS: standardized difference of the expected item scores between the reference and the "
                       "focal group (Nye & Drasgow, 2011).")]


def _latent_differences(inv: InvarianceResult) -> list[Any]:
    ld = inv.latent_differences
    if not isinstance(ld, pd.DataFrame) or not len(ld):
        return []
    keep = [c for c in ("mean_diff", "se", "pvalue", "std_mean_diff", "var_ratio", "var_diff_pvalue") if c in ld.columns]
    if keep:
        ld = ld[keep].rename(columns={"mean_diff": "Mean diff.", "se": "SE", "pvalue": "p",
                                      "std_mean_diff": "Std. diff.", "var_ratio": "Variance ratio",
                                      "var_diff_pvalue": "p (variance)"})
    return [Table(ld, "Latent Mean and Variance Differences from the Reference Group", digits=3,
                  p_values=[c for c in ld.columns if str(c).startswith("p") or "pvalue" in str(c)],
                  note="Focal group minus reference group (whose latent means are fixed to 0), in the final "
                       "invariance model; Std. diff. = difference / pooled latent SD.")]
