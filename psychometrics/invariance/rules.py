"""Decision rules for measurement invariance: named, cited cut-offs on the change in fit.

Each :class:`DecisionRule` says whether a level holds given ΔCFI, ΔRMSEA, ΔSRMR or the χ²
difference test against the last level that held; :data:`RULES` are the built-in rules
(Chen, 2007; Cheung & Rensvold, 2002; Rutkowski & Svetina, 2014; the χ² test), and
:func:`resolve_rule` picks one (``"auto"``: by the number and sizes of the groups).
See ``docs/invariance.md`` for the published wording and sources.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from psychometrics.exceptions import DataError
from psychometrics._text import quote

__all__ = ["DecisionRule", "RULES", "resolve_rule"]


@dataclass(frozen=True)
class DecisionRule:
    r"""A named, cited rule that decides whether a level of invariance holds.

    For each level the rule has cut-offs on the change in fit from the last
    level that held (Δ = constrained − less constrained):

    - ``kind="delta"``: invariance is **rejected** when ΔCFI ≤ ``cfi`` and, if
      ``rmsea``/``srmr`` cut-offs are given, ``combine`` of
      (ΔRMSEA ≥ ``rmsea``, ΔSRMR ≥ ``srmr``) is true (``combine="any"``: either
      one; ``"none"``: ΔCFI alone decides). ``mode="either"`` rejects when
      ΔCFI ≤ ``cfi`` *or* ΔRMSEA ≥ ``rmsea``.
    - ``kind="chisq"``: rejected when the χ² difference test has p < ``alpha``.

    Attributes
    ----------
    name : str
        Short identifier (``"chen2007"``, ...).
    citation : str
        Full reference with the page or table of the cut-offs.
    cutoffs : dict
        ``{level: {"cfi": ..., "rmsea": ..., "srmr": ...}}`` (missing keys: not used).
    mode : {"cfi_and_any", "cfi_only", "either", "chisq"}
    alpha : float
        Significance level of the χ² difference test (``mode="chisq"``).
    """

    name: str
    citation: str
    cutoffs: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    mode: str = "cfi_and_any"
    alpha: float = 0.05

    def describe(self, level: str) -> str:
        """The rule's criterion for ``level`` in words (for tables and reports)."""
        if self.mode == "chisq":
            return f"Δχ² p < {self.alpha:g} rejects"
        c = self.cutoffs.get(level, {})
        cfi = f"ΔCFI ≤ {c['cfi']:+.3f}"
        if self.mode == "cfi_only":
            return f"{cfi} rejects"
        if self.mode == "either":
            return f"{cfi} or ΔRMSEA ≥ {c['rmsea']:.3f} rejects"
        return f"{cfi} with ΔRMSEA ≥ {c['rmsea']:.3f} or ΔSRMR ≥ {c['srmr']:.3f} rejects"

    def holds(self, level: str, delta: Mapping[str, float]) -> bool:
        """Whether invariance at ``level`` holds given the changes in ``delta``.

        ``delta`` has ``delta_cfi, delta_rmsea, delta_srmr, delta_pvalue``.
        A tiny tolerance (1e-12) keeps a change that equals a cut-off on the
        rejecting side, as the papers' "≤"/"≥" say, despite rounding.
        """
        eps = 1e-12
        if self.mode == "chisq":
            p = delta["delta_pvalue"]
            return not (p < self.alpha)
        c = self.cutoffs.get(level)
        if c is None:
            raise DataError(f"rule {quote(self.name)} has no cut-offs for level {quote(level)}")
        cfi_bad = delta["delta_cfi"] <= c["cfi"] + eps
        if self.mode == "cfi_only":
            return not cfi_bad
        rmsea_bad = delta["delta_rmsea"] >= c["rmsea"] - eps
        if self.mode == "either":
            return not (cfi_bad or rmsea_bad)
        srmr_bad = delta["delta_srmr"] >= c["srmr"] - eps
        return not (cfi_bad and (rmsea_bad or srmr_bad))


_CHEN = ("Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement invariance. "
         "Structural Equation Modeling, 14(3), 464–504 (recommendations, p. 501")
#: The built-in rules (see docs/invariance.md for the published wording and sources).
RULES: dict[str, DecisionRule] = {
    "chen2007": DecisionRule(
        "chen2007",
        _CHEN + "; total N > 300, equal group sizes)",
        {"metric": {"cfi": -0.010, "rmsea": 0.015, "srmr": 0.030},
         "scalar": {"cfi": -0.010, "rmsea": 0.015, "srmr": 0.010},
         "strict": {"cfi": -0.010, "rmsea": 0.015, "srmr": 0.010}},
    ),
    "chen2007_small": DecisionRule(
        "chen2007_small",
        _CHEN + "; total N ≤ 300 or unequal group sizes)",
        {"metric": {"cfi": -0.005, "rmsea": 0.010, "srmr": 0.025},
         "scalar": {"cfi": -0.005, "rmsea": 0.010, "srmr": 0.005},
         "strict": {"cfi": -0.005, "rmsea": 0.010, "srmr": 0.005}},
    ),
    "cheung_rensvold2002": DecisionRule(
        "cheung_rensvold2002",
        "Cheung, G. W., & Rensvold, R. B. (2002). Evaluating goodness-of-fit indexes for testing "
        "measurement invariance. Structural Equation Modeling, 9(2), 233–255 (p. 251: ΔCFI ≤ −.01)",
        {lv: {"cfi": -0.010} for lv in ("metric", "scalar", "strict")},
        mode="cfi_only",
    ),
    "rutkowski_svetina2014": DecisionRule(
        "rutkowski_svetina2014",
        "Rutkowski, L., & Svetina, D. (2014). Assessing the hypothesis of measurement invariance in the "
        "context of large-scale international surveys. Educational and Psychological Measurement, 74(1), "
        "31–57 (many groups: metric ΔCFI −.020 / ΔRMSEA .030; scalar ΔCFI −.010 / ΔRMSEA .010; "
        "strict not studied — the scalar cut-offs are used)",
        {"metric": {"cfi": -0.020, "rmsea": 0.030},
         "scalar": {"cfi": -0.010, "rmsea": 0.010},
         "strict": {"cfi": -0.010, "rmsea": 0.010}},
        mode="either",
    ),
    "chisq": DecisionRule(
        "chisq",
        "χ² difference (likelihood-ratio) test of nested models at α = .05 (lavaan's lavTestLRT)",
        mode="chisq",
    ),
}


def resolve_rule(rule: str | DecisionRule, nobs: Sequence[int], alpha: float) -> tuple[DecisionRule, str]:
    """The rule object and a sentence saying why it was chosen."""
    if isinstance(rule, DecisionRule):
        return rule, f"rule {quote(rule.name)} as given"
    if not isinstance(rule, str):
        raise DataError(f"rule must be a name ({', '.join(['auto', *RULES])}) or a DecisionRule, got {quote(rule)}")
    if rule == "auto":
        n = int(sum(nobs))
        G = len(nobs)
        ratio = max(nobs) / min(nobs)
        if G >= 10:
            return RULES["rutkowski_svetina2014"], (
                f"automatic: {G} groups (≥ 10), so the many-group cut-offs of Rutkowski & Svetina (2014)")
        if n <= 300 or ratio >= 1.5:
            why = f"total N = {n} ≤ 300" if n <= 300 else f"unequal group sizes (largest/smallest = {ratio:.2f} ≥ 1.5)"
            return RULES["chen2007_small"], f"automatic: {why}, so Chen's (2007) small/unequal-sample cut-offs"
        return RULES["chen2007"], (
            f"automatic: total N = {n} > 300 and similar group sizes (largest/smallest = {ratio:.2f} < 1.5), "
            "so Chen's (2007) cut-offs")
    if rule == "chisq" and alpha != 0.05:
        return dataclasses.replace(RULES["chisq"], alpha=alpha,
                                   citation=RULES["chisq"].citation.replace(".05", f"{alpha:g}")), "as given"
    if rule not in RULES:
        raise DataError(f"unknown rule {quote(rule)}; choose one of: auto, {', '.join(RULES)}")
    return RULES[rule], f"rule {quote(rule)} as given"

