"""The verdict rules of the executive summary, as one table.

Each :class:`Rule` row says what it judges (``criterion``), which spec declaration or step
result it rests on (``rests_on``), its thresholds (``met``/``borderline`` as numbers and
``threshold`` in words), where the rule comes from (``citation``), the report section with
the evidence, and the function that judges (``judge``: run state → zero or more
:class:`~psychometrics.report.context.Verdict`). :data:`RULES` lists the rows in summary
order; :func:`judge` applies them.

Adding a criterion: write a judge function and add a row to :data:`RULES` (and its
reference to :data:`psychometrics.report.references.REFERENCES`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import pandas as pd

from psychometrics.pipeline.state import RunState
from psychometrics.pipeline.steps.cfa import fit_indices
from psychometrics.report.context import Verdict
from psychometrics.report.text import fmt_number, p_text, subscale_name

if TYPE_CHECKING:
    from psychometrics.invariance import InvarianceResult

__all__ = ["Rule", "RULES", "judge", "status", "dif_candidates"]

_RELIABILITY = "internal-structure-reliability"
_ITEMS = "internal-structure-item-analysis"
_EFA = "internal-structure-exploratory-factor-analysis"
_CFA = "internal-structure-confirmatory-factor-analysis"
_INVARIANCE = "internal-structure-measurement-invariance"
_RELATIONS = "relations"


@dataclass(frozen=True)
class Rule:
    """One row of the verdict table.

    Attributes
    ----------
    name : str
        Short key of the rule.
    criterion : str
        What is judged (the summary's first column; a judge may name the score or group).
    declaration : str
        The spec declaration (or option) the rule rests on: what must be declared for the
        criterion to exist. A criterion of something the spec does not declare (a total score
        of distinct traits, the fit of a one-factor or bifactor comparison model) is never judged.
    rests_on : str
        The step result the verdict is computed from.
    threshold : str
        The rule in words, as shown in the summary.
    citation : str
        Short reference (a key of ``psychometrics.report.references.REFERENCES``).
    section : str
        Anchor of the report section holding the evidence.
    judge : callable
        ``judge(rule, state) -> list[Verdict]`` (empty when the criterion does not apply).
    met, borderline : mapping
        The numeric cut-offs the judge applies (index → value).
    """

    name: str
    criterion: str
    declaration: str
    rests_on: str
    threshold: str
    citation: str
    section: str
    judge: Callable[[Rule, RunState], list[Verdict]]
    met: Mapping[str, float] = field(default_factory=dict)
    borderline: Mapping[str, float] = field(default_factory=dict)

    def verdict(self, status: str, value: object, *, criterion: str | None = None, threshold: str | None = None,
                citation: str | None = None, **kw) -> Verdict:
        """A verdict of this rule (criterion, rule text and citation overridable where they depend on the run)."""
        return Verdict(criterion or self.criterion, status, value, threshold or self.threshold,
                       citation or self.citation, section=self.section, **kw)


def status(ok: bool, border: bool = False) -> str:
    """``"met"``, else ``"borderline"`` when ``border``, else ``"not met"``."""
    return "met" if ok else ("borderline" if border else "not met")


# ------------------------------------------------------------------ judges
def _internal_consistency(rule: Rule, st: RunState) -> list[Verdict]:
    out = []
    rel = st.reliability.result.table
    for sid in rel.index:
        a, o = rel.loc[sid, "alpha"], rel.loc[sid, "omega_total"]
        low = min(a, o) if o == o else a
        name = "total score" if sid == "total" else subscale_name(st.scale, sid)
        out.append(rule.verdict(status(low >= rule.met["coefficient"], low >= rule.borderline["coefficient"]),
                                f"α = {fmt_number(a)}, ω = {fmt_number(o)}",
                                criterion=f"{rule.criterion}: {name}"))
    return out


def _item_discrimination(rule: Rule, st: RunState) -> list[Verdict]:
    tab = st.items.table
    if "item_rest_r" not in tab:
        return []
    weak = tab.loc[tab["item_rest_r"] < rule.met["item_rest_r"], "item_rest_r"]
    txt = ("all items" if weak.empty else
           f"{len(weak)} below: " + ", ".join(f"{i} ({fmt_number(v)})" for i, v in weak.items()))
    return [rule.verdict(status(weak.empty, len(weak) <= rule.borderline["items_below"]), txt)]


def _sampling_adequacy(rule: Rule, st: RunState) -> list[Verdict]:
    kmo = st.efa.kmo.overall
    return [rule.verdict(status(kmo >= rule.met["kmo"], kmo >= rule.borderline["kmo"]), kmo, digits=3)]


def _number_of_factors(rule: Rule, st: RunState) -> list[Verdict]:
    declared = len(st.scale.subscales)
    threshold = rule.threshold.format(declared=declared)
    pa, mp = st.efa.parallel, st.efa.map
    if pa is None or mp is None:
        return [rule.verdict("not assessed", None, threshold=threshold)]
    ok = pa.n_factors == declared and mp.n_factors == declared
    border = declared in (pa.n_factors, mp.n_factors)
    return [rule.verdict(status(ok, border), f"{pa.n_factors} (parallel analysis), {mp.n_factors} (MAP)",
                         threshold=threshold)]


def _efa_structure(rule: Rule, st: RunState) -> list[Verdict]:
    e = st.efa.efa
    flagged = sorted(set(e.flags["item"])) if not e.flags.empty else []
    # borderline: at most one flagged item per full ten items (at least one)
    border = len(flagged) <= max(1, len(st.scale.items) // int(rule.borderline["items_per_flag"]))
    return [rule.verdict(status(not flagged, border),
                         "no item flagged" if not flagged else f"{len(flagged)} flagged: {', '.join(flagged)}")]


def _cfa_fit(rule: Rule, st: RunState) -> list[Verdict]:
    out = []
    fits = st.cfa.fits
    m, b = rule.met, rule.borderline
    for name, crit in (("correlated", "CFA fit of the declared correlated-factors model"),
                       ("higher_order", "CFA fit of the declared higher-order model")):
        if name not in st.cfa.syntax:
            continue
        if name in fits and fits[name].converged:
            f = fit_indices(fits[name])  # WLSMV: the scaled CFI/TLI/RMSEA
            ok = f["cfi"] >= m["cfi"] and f["rmsea"] <= m["rmsea"] and f["srmr"] <= m["srmr"]
            border = f["cfi"] >= b["cfi"] and f["rmsea"] <= b["rmsea"] and f["srmr"] <= b["srmr"]
            sc = " (scaled, WLSMV)" if fits[name].estimator == "WLSMV" else ""
            out.append(rule.verdict(status(ok, border), f"CFI = {fmt_number(f['cfi'], 3)}, RMSEA = "
                                    f"{fmt_number(f['rmsea'], 3)}, SRMR = {fmt_number(f['srmr'], 3)}{sc}",
                                    criterion=crit))
        else:
            why = "did not converge" if name in fits else "could not be fitted"
            out.append(rule.verdict("not assessed", f"the model {why}", criterion=crit))
    return out


def _invariance(rule: Rule, st: RunState) -> list[Verdict]:
    step, group = st.invariance, st.options.group
    inv = step.result
    if inv is None:
        # the default rule's cut-offs are shown as the rule that would have applied
        return [rule.verdict("not assessed", step.note or None,
                             criterion=f"{rule.criterion}{' across ' + group if group else ''}")]
    level = str(inv.level)
    if step.categorical:
        # full invariance of thresholds, loadings and intercepts (the ordinal analogue of scalar)
        full = level == "intercepts"
        border = level.split(" (")[0] in ("intercepts", "loadings")
        target = "intercept invariance (thresholds, loadings and intercepts equal; needed to compare means)"
    else:
        inv = cast("InvarianceResult", inv)
        steps = inv.partial_steps
        released = set(steps["level"]) if "level" in steps else set()
        # full scalar invariance: reached scalar (or strict) with nothing released at the metric or scalar level
        full = level in ("scalar", "strict") and not (released & {"metric", "scalar"}) and (
            not inv.partial_level or bool(released))
        border = level in ("scalar", "strict", "metric")
        target = "scalar invariance (needed to compare means)"
    items = ", ".join(step.non_invariant_items)
    return [rule.verdict(status(full, border), step.level_text + (f"; non-invariant: {items}" if items else ""),
                         criterion=f"{rule.criterion} across {group}", threshold=f"{target}; {step.rule_words}",
                         citation=step.rule_reference)]


def dif_candidates(tests: pd.DataFrame | None, alpha: float = 0.05) -> list[str] | None:
    """Constraints whose score test is significant after Bonferroni correction, as text (None: no tests)."""
    if tests is None:
        return None
    sig = tests[tests["p_bonferroni"] < alpha]
    out = []
    for _, r in sig.iterrows():
        what = f"{r['lhs']} intercept" if r["op"] == "~1" else (
            f"{r['rhs']} loading" if r["op"] == "=~" else (
                f"{r['lhs']} threshold {r['rhs']}" if r["op"] == "|" else f"{r['lhs']} {r['op']} {r['rhs']}"))
        out.append(f"{what}, {r['group']} copy (χ² = {r['x2']:.1f}, Bonferroni p {p_text(r['p_bonferroni'])})")
    return out


def _equality_constraints(rule: Rule, st: RunState) -> list[Verdict]:
    step = st.invariance
    if step.result is None:
        return []
    dif = dif_candidates(step.score_tests, rule.met["p_bonferroni"])
    if dif is None:
        return []
    return [rule.verdict(status(not dif), "none significant" if not dif else "; ".join(dif),
                         criterion=rule.criterion.format(model=step.full_model))]


def _convergent(rule: Rule, st: RunState) -> list[Verdict]:
    cv = st.validity.construct_validity
    if cv is None:
        return []
    r = cv.reliability
    low = r["ave"].idxmin()
    cr_ok = bool((r["cr"] >= rule.borderline["cr"]).all())
    return [rule.verdict(status(bool((r["ave"] >= rule.met["ave"]).all()), cr_ok),
                         f"lowest AVE {fmt_number(r.loc[low, 'ave'])} ({subscale_name(st.scale, low)}); "
                         f"CR {fmt_number(r['cr'].min())}–{fmt_number(r['cr'].max())}")]


def _fornell_larcker(rule: Rule, st: RunState) -> list[Verdict]:
    cv = st.validity.construct_validity
    if cv is None:
        return []
    pairs = cv.fornell_larcker.pairs
    bad = pairs[pairs["verdict"] != "supported"]
    return [rule.verdict(status(bad.empty, len(bad) <= rule.borderline["pairs_failing"]),
                         f"{len(pairs) - len(bad)} of {len(pairs)} factor pairs meet it")]


def _htmt(rule: Rule, st: RunState) -> list[Verdict]:
    cv = st.validity.construct_validity
    if cv is None or cv.htmt is None:
        return []
    mx = cv.htmt.pairs["htmt"].max()
    return [rule.verdict(status(mx < rule.met["htmt"], mx < rule.borderline["htmt"]), f"largest HTMT {fmt_number(mx)}")]


def _construct_validity_missing(rule: Rule, st: RunState) -> list[Verdict]:
    if st.validity.construct_validity is not None:
        return []
    return [rule.verdict("not assessed", "; ".join(st.validity.notes) or None)]


def _hypotheses(rule: Rule, st: RunState) -> list[Verdict]:
    hyp = st.validity.hypotheses
    if hyp is not None:
        t = hyp.table[hyp.table["basis"] == "observed"]
        ok = int((t["verdict"] == "supported").sum())
        return [rule.verdict(status(ok == len(t), ok >= len(t) * rule.borderline["share_supported"]),
                             f"{ok} of {len(t)} supported")]
    if st.scale.validity:
        return [rule.verdict("not assessed", "companion measures not found: "
                             + ", ".join(st.data.missing_companions))]
    return []


# ------------------------------------------------------------------- table
#: The verdict rules, in summary order.
RULES: tuple[Rule, ...] = (
    Rule("internal_consistency", "Internal consistency",
         "spec: subscales (each a score); the total score only when scoring.total is true or a hierarchy "
         "declares a general factor",
         "reliability step: α and ω total of every subscale and of a declared total score (all analysed rows)",
         "α and ω total ≥ .70", "Nunnally (1978)", _RELIABILITY, _internal_consistency,
         met={"coefficient": 0.70}, borderline={"coefficient": 0.60}),
    Rule("item_discrimination", "Item discrimination (corrected item–total r)",
         "spec: each item's subscale and reverse keying (items[].subscale, reverse_keyed)",
         "item analysis: item–rest correlation of every item within its declared subscale",
         "every item–rest r ≥ .30 within its subscale", "Nunnally & Bernstein (1994)", _ITEMS,
         _item_discrimination, met={"item_rest_r": 0.30}, borderline={"items_below": 1}),
    Rule("sampling_adequacy", "Sampling adequacy (KMO, calibration sample)",
         "spec: the items (no further declaration)", "EFA step: overall KMO",
         "KMO ≥ .80 (≥ .60 borderline)", "Kaiser (1974)", _EFA, _sampling_adequacy,
         met={"kmo": 0.80}, borderline={"kmo": 0.60}),
    Rule("number_of_factors", "Number of factors",
         "spec: subscales (their number)",
         "EFA step: parallel analysis and MAP",
         "matches the {declared} declared subscales", "Horn (1965); Velicer (1976)", _EFA, _number_of_factors),
    Rule("efa_structure", "EFA item structure",
         "spec: each item's subscale (items[].subscale)",
         "EFA step: the flags of the pattern matrix",
         "primary loading ≥ .40 on its subscale's factor, cross-loadings < .30, h² ≥ .20", "Howard (2016)", _EFA,
         _efa_structure, borderline={"items_per_flag": 10}),
    Rule("cfa_fit", "CFA fit of the declared model",
         "spec: subscales (correlated-factors model) and hierarchy (higher-order model); the one-factor and "
         "bifactor models are comparisons, never judged",
         "CFA step: the fit of the declared models (scaled for WLSMV)",
         "CFI ≥ .95, RMSEA ≤ .06, SRMR ≤ .08", "Hu & Bentler (1999)", _CFA, _cfa_fit,
         met={"cfi": 0.95, "rmsea": 0.06, "srmr": 0.08}, borderline={"cfi": 0.90, "rmsea": 0.08, "srmr": 0.10}),
    Rule("invariance", "Measurement invariance",
         "option: group (no spec declaration); spec: subscales (the correlated-factors model tested across "
         "groups)",
         "invariance step: the highest level reached under the deciding rule",
         "ΔCFI ≤ −.010 with ΔRMSEA ≥ .015 or ΔSRMR ≥ .030 (metric) / .010 (scalar) rejects", "Chen (2007)",
         _INVARIANCE, _invariance),
    Rule("equality_constraints", "Equality constraints across groups (score tests, {model} model)",
         "option: group; spec: subscales (the correlated-factors model)",
         "invariance step: univariate score tests of the equality constraints of the highest full model",
         "no univariate score test significant at p < .05 after Bonferroni correction", "Sörbom (1989)",
         _INVARIANCE, _equality_constraints, met={"p_bonferroni": 0.05}),
    Rule("convergent_validity", "Convergent validity (AVE)",
         "spec: subscales (the declared correlated-factors CFA)",
         "validity step: CR and AVE of the declared CFA (validation sample)",
         "AVE ≥ .50 for every factor (borderline: AVE < .50 with CR ≥ .70)", "Fornell & Larcker (1981)",
         _RELATIONS, _convergent, met={"ave": 0.50}, borderline={"cr": 0.70}),
    Rule("fornell_larcker", "Discriminant validity (Fornell–Larcker)",
         "spec: at least two subscales",
         "validity step: √AVE against the latent correlations", "√AVE of each factor > its correlations with the "
         "other factors", "Fornell & Larcker (1981)", _RELATIONS, _fornell_larcker, borderline={"pairs_failing": 1}),
    Rule("htmt", "Discriminant validity (HTMT)",
         "spec: at least two subscales", "validity step: heterotrait–monotrait ratios",
         "HTMT < .85 (< .90 borderline)", "Henseler et al. (2015)", _RELATIONS, _htmt,
         met={"htmt": 0.85}, borderline={"htmt": 0.90}),
    Rule("construct_validity_missing", "Convergent and discriminant validity",
         "spec: subscales",
         "validity step, when CR/AVE/HTMT could not be computed (its notes say why)",
         "AVE ≥ .50; √AVE > r; HTMT < .85", "Fornell & Larcker (1981); Henseler et al. (2015)", _RELATIONS,
         _construct_validity_missing),
    Rule("hypotheses", "Validity hypotheses (relations to other variables)",
         "spec: validity hypotheses (validity[]) and the companion measures' specs",
         "validity step: observed-score correlations with the companion measures",
         "each 95% CI of r inside the expected region", "Campbell & Fiske (1959)", _RELATIONS, _hypotheses,
         borderline={"share_supported": 0.5}),
)


def judge(state: RunState) -> list[Verdict]:
    """Every rule of :data:`RULES` applied to ``state``, in order."""
    return [v for rule in RULES for v in rule.judge(rule, state)]
