r"""Measurement invariance across groups: configural → metric → scalar → strict, partial invariance.

>>> from psychometrics.invariance import measurement_invariance
>>> from psychometrics.datasets import holzinger_swineford
>>> mi = measurement_invariance(
...     "visual =~ x1 + x2 + x3\n textual =~ x4 + x5 + x6\n speed =~ x7 + x8 + x9",
...     holzinger_swineford(), group="school")
>>> round(mi.table.loc["scalar", "chisq"], 3)
164.103

A sequence of nested multi-group CFA models (lavaan's ``cfa(..., group =,
group.equal =)``) is fitted on the one ML engine of :mod:`psychometrics.cfa`:

=============  ======================================  ====================
level          equal across groups (lavaan names)       identification
=============  ======================================  ====================
configural     nothing                                   marker loadings, means 0
metric         ``loadings``                              "
scalar         ``loadings``, ``intercepts``              latent means 0 in group 1, free elsewhere
strict         ``loadings``, ``intercepts``, ``residuals``  "
=============  ======================================  ====================

Each level is compared with the last level that held: the χ² difference test
(lavaan's ``lavTestLRT``, standard ML) and ΔCFI, ΔRMSEA, ΔSRMR. A decision rule
(:data:`RULES`) says whether invariance holds. When a level fails, equality
constraints of that level are released one at a time — the one whose univariate
score test (lavaan's ``lavTestScore``) is largest — until the rule holds
(partial invariance; Byrne, Shavelson & Muthén, 1989).

Validated against lavaan 0.6-14 (``tests/reference/invariance/``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from psychometrics._linalg import single_thread_blas
from psychometrics._results import ResultMixin, to_jsonable
from psychometrics.exceptions import (
    ConvergenceWarning,
    DataError,
    Diagnostic,
    InvarianceWarning,
    record,
)

__all__ = [
    "measurement_invariance",
    "InvarianceResult",
    "DecisionRule",
    "RULES",
    "LEVELS",
    "dmacs",
]

LEVELS = ("configural", "metric", "scalar", "strict")
#: lavaan ``group.equal`` of each level
GROUP_EQUAL = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
}
#: which parameters a level adds (released one at a time for partial invariance)
_ADDED = {"metric": "loadings", "scalar": "intercepts", "strict": "residuals"}


# ====================================================================== rules
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
            raise DataError(f"rule {self.name!r} has no cut-offs for level {level!r}")
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


def _resolve_rule(rule: str | DecisionRule, nobs: Sequence[int], alpha: float) -> tuple[DecisionRule, str]:
    """The rule object and a sentence saying why it was chosen."""
    if isinstance(rule, DecisionRule):
        return rule, f"rule {rule.name!r} as given"
    if not isinstance(rule, str):
        raise DataError(f"rule must be a name ({', '.join(['auto', *RULES])}) or a DecisionRule, got {rule!r}")
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
        raise DataError(f"unknown rule {rule!r}; choose one of: auto, {', '.join(RULES)}")
    return RULES[rule], f"rule {rule!r} as given"


# ====================================================================== dMACS
def dmacs(
    loading_ref: np.ndarray | float,
    intercept_ref: float,
    loading_focal: np.ndarray | float,
    intercept_focal: float,
    latent_mean_focal: np.ndarray | float,
    latent_cov_focal: np.ndarray | float,
    pooled_sd: float,
) -> float:
    r"""dMACS effect size of one item's non-invariance (Nye & Drasgow, 2011).

    .. math::

        d_{MACS} = \frac{1}{SD_p}\sqrt{\int \big(\hat y_R(\eta) - \hat y_F(\eta)\big)^2 f_F(\eta)\,d\eta},
        \qquad \hat y_g(\eta) = \nu_g + \lambda_g^\top\eta,

    with :math:`f_F` the normal density of the focal group's factors (mean κ_F,
    covariance Φ_F). For the linear model the integral is closed-form:
    :math:`(\Delta\nu + \Delta\lambda^\top\kappa_F)^2 + \Delta\lambda^\top\Phi_F\Delta\lambda`.
    :math:`SD_p = \sqrt{((n_R-1)s_R^2 + (n_F-1)s_F^2)/(n_R+n_F-2)}` is the pooled
    within-group SD of the item.

    Nye, C. D., & Drasgow, F. (2011). Effect size indices for analyses of
    measurement equivalence. Journal of Applied Psychology, 96(5), 966–980.

    Validated against a numerical integration in ``tests/test_invariance.py``.
    """
    dl = np.atleast_1d(np.asarray(loading_ref, float) - np.asarray(loading_focal, float))
    kappa = np.atleast_1d(np.asarray(latent_mean_focal, float))
    phi = np.atleast_2d(np.asarray(latent_cov_focal, float))
    dn = float(intercept_ref) - float(intercept_focal)
    msq = (dn + float(dl @ kappa)) ** 2 + float(dl @ phi @ dl)
    return math.sqrt(max(msq, 0.0)) / float(pooled_sd)


# ====================================================================== fitting
@dataclass
class _Fit:
    """One fitted level (engine internals kept for lazy tables)."""

    name: str
    level: str
    group_equal: tuple[str, ...]
    group_partial: tuple[str, ...]
    engine: Any
    fit: dict[str, float]
    converged: bool
    iterations: int


class _Fitter:
    """Fits models of one invariance sequence on shared sample statistics."""

    def __init__(self, model: str, data: pd.DataFrame, group: str, max_iter: int, diags: list[Diagnostic]):
        from psychometrics.cfa.fit import _sample_stats
        from psychometrics.cfa.specification import build_spec

        # marker-loading identification (lavaan's default); std.lv would need the factor
        # variances freed in the later groups once loadings are equal
        self.model, self.group, self.max_iter = model, group, max_iter
        self.diags = diags
        observed = build_spec(model).observed
        self.observed = tuple(observed)
        self.stats, self.labels, self.n_excluded = _sample_stats(data, observed, group, "listwise", diags)
        self._prev: tuple[Any, np.ndarray] | None = None

    def _warm_start(self, compiled: Any, x0: np.ndarray) -> np.ndarray:
        """Start from the previous level's estimates (equal parameters: mean over groups)."""
        if self._prev is None:
            return x0
        spec_prev, x_prev = self._prev
        from psychometrics.cfa.estimation import CompiledModel

        values = CompiledModel(spec_prev).values(x_prev)
        old = {(p.lhs, p.op, p.rhs, p.group): v for p, v in zip(spec_prev.parameters, values)}
        acc: dict[int, list[float]] = {}
        for p in compiled.spec.parameters:
            if p.free and (p.lhs, p.op, p.rhs, p.group) in old:
                acc.setdefault(p.index, []).append(old[(p.lhs, p.op, p.rhs, p.group)])
        x = x0.copy()
        for k, vals in acc.items():
            x[k] = float(np.mean(vals))
        return x

    def fit(self, name: str, level: str, partial: Sequence[str]) -> _Fit:
        from psychometrics.cfa.fit import fit_ml
        from psychometrics.cfa.specification import build_spec

        ge = GROUP_EQUAL[level]
        spec = build_spec(self.model, groups=self.labels, meanstructure=True,
                          group_equal=ge, group_partial=tuple(partial))
        warm = self._warm_start if self._prev is not None else None
        engine, converged, iterations, message = fit_ml(spec, self.stats, max_iter=self.max_iter, warm_start=warm)
        if not converged:
            record(self.diags, ConvergenceWarning,
                   f"the {name} model did not converge ({message}); its fit is not trustworthy", stacklevel=6)
        self._prev = (spec, engine.x)
        return _Fit(name, level, ge, tuple(partial), engine, engine.fit_measures(), converged, iterations)


# ====================================================================== result
_TABLE_COLS = ["level", "partial", "compared_with", "npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea",
               "rmsea_ci_lower", "rmsea_ci_upper", "srmr", "aic", "bic", "delta_chisq", "delta_df",
               "delta_pvalue", "delta_cfi", "delta_rmsea", "delta_srmr", "holds"]


@dataclass(frozen=True, eq=False)
class InvarianceResult(ResultMixin):
    """Measurement invariance across groups.

    Attributes
    ----------
    model : str
        The lavaan model syntax.
    group : str
        Grouping column; ``groups`` are the labels in model order (the first is the
        reference group: its latent means are fixed to 0).
    nobs : dict
        Complete cases per group.
    n_excluded : int
        Rows dropped by listwise deletion on the model items.
    table : DataFrame
        One row per fitted model, indexed by name (``configural``, ``metric``,
        ``scalar``, ``strict``, and ``"<level> (partial)"`` for accepted partial
        models): ``level, partial`` (released parameters), ``compared_with``,
        ``npar, chisq, df, pvalue, cfi, tli, rmsea, rmsea_ci_lower, rmsea_ci_upper,
        srmr, aic, bic``, the χ² difference test against ``compared_with``
        (``delta_chisq, delta_df, delta_pvalue``, lavaan's ``lavTestLRT``),
        ``delta_cfi, delta_rmsea, delta_srmr`` and ``holds`` (the rule's verdict).
    decisions : DataFrame
        Verdict of every built-in rule for each compared row (True = invariance holds).
    level : str
        Highest level reached under ``rule`` (``"configural"`` if metric fails;
        with ``partial_level`` True when it needed released constraints).
    partial_level : bool
    rule : str
        Name of the deciding rule; ``rule_citation`` its source and cut-offs,
        ``rule_reason`` why it was chosen.
    partial_steps : DataFrame
        Each release: ``level, step, released`` (lavaan ``group.partial`` name),
        ``item, parameter, x2`` (largest univariate score statistic of that
        parameter), ``chisq, df, cfi, rmsea, srmr, delta_cfi, delta_rmsea,
        delta_srmr, holds`` of the model after the release.
    non_invariant_items : tuple of str
        Items with a parameter released at any step (``partial_steps`` says at which
        level and whether the level then held).
    item_invariance : DataFrame
        Per item and focal group (index (group, item)): parameters released in the
        final scalar-level model (the accepted partial scalar model, else the last one
        tried), loading/intercept in reference and focal group, ``expected_diff``
        (focal − reference expected item score at the focal factor means), pooled SD
        and ``dmacs`` (Nye & Drasgow, 2011) from that model.
    latent_differences : DataFrame or None
        Once scalar (or partial scalar) invariance holds, per focal group and
        factor: ``mean_diff`` (the focal latent mean; the reference's is 0), ``se,
        z, pvalue``, ``std_mean_diff`` (mean difference / pooled latent SD),
        ``var_ref, var_focal, var_ratio, var_diff, var_diff_se, var_diff_z,
        var_diff_pvalue``.
    diagnostics : tuple of Diagnostic
    """

    model: str
    group: str
    groups: tuple[str, ...]
    nobs: dict[str, int]
    n_excluded: int
    table: pd.DataFrame
    decisions: pd.DataFrame
    level: str
    partial_level: bool
    rule: str
    rule_citation: str
    rule_reason: str
    partial_steps: pd.DataFrame
    non_invariant_items: tuple[str, ...]
    item_invariance: pd.DataFrame | None
    latent_differences: pd.DataFrame | None
    diagnostics: tuple[Diagnostic, ...] = ()
    _fits: dict[str, _Fit] = field(default_factory=dict, repr=False)
    _final: str = field(default="", repr=False)

    _title = "Measurement invariance"

    # ------------------------------------------------------------- access
    @property
    def fits(self) -> Mapping[str, Any]:
        """Per-model :class:`~psychometrics.cfa.CFAResult` (keys as ``table``'s index), built on first use."""
        return _LazyFits(self)

    @cached_property
    def estimates(self) -> pd.DataFrame:
        """Per-group parameter estimates of the final model (highest level reached), lavaan's
        ``parameterEstimates(fit, standardized = TRUE)``."""
        return self._fits[self._final].engine.estimates()

    @property
    def final_model(self) -> str:
        """Name (``table`` index) of the model of the highest level reached."""
        return self._final

    def delta_chart_data(self) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
        """``(deltas, cutoffs)`` for :func:`psychometrics.report.figures.invariance_delta_chart`.

        ``deltas``: the compared rows of :attr:`table` with columns ``ΔCFI, ΔRMSEA, ΔSRMR``;
        ``cutoffs``: the deciding rule's signed cut-offs per column and row (empty for the
        χ² rule, which has none on these indices).
        """
        rows = self.table[self.table["compared_with"] != ""]
        deltas = rows[["delta_cfi", "delta_rmsea", "delta_srmr"]].set_axis(["ΔCFI", "ΔRMSEA", "ΔSRMR"], axis=1)
        rule = RULES.get(self.rule)
        cutoffs: dict[str, dict[str, float]] = {}
        if rule is not None and rule.mode != "chisq":
            for col, key in (("ΔCFI", "cfi"), ("ΔRMSEA", "rmsea"), ("ΔSRMR", "srmr")):
                per = {name: rule.cutoffs[lv][key] for name, lv in rows["level"].items()
                       if key in rule.cutoffs.get(lv, {})}
                if per:
                    cutoffs[col] = per
        return deltas, cutoffs

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict[str, Any]:
        return {f.name: to_jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)
                if not f.name.startswith("_")}

    def _scalars(self) -> dict[str, Any]:
        return {"level": self.level + (" (partial)" if self.partial_level else ""), "rule": self.rule,
                "rule_citation": self.rule_citation, "rule_reason": self.rule_reason, "non_invariant_items": ", ".join(self.non_invariant_items) or "none"}

    def _tables(self) -> dict[str, pd.DataFrame]:
        out = {"table": self.table.drop(columns=["level"])}
        if len(self.partial_steps):
            out["partial_steps"] = self.partial_steps
        if self.item_invariance is not None and len(self.non_invariant_items):
            out["item_invariance"] = self.item_invariance
        if self.latent_differences is not None:
            out["latent_differences"] = self.latent_differences
        return out


class _LazyFits(Mapping):
    """Mapping name → CFAResult, each built from the stored engine when first asked for."""

    def __init__(self, result: InvarianceResult):
        self._r = result

    def __getitem__(self, key: str) -> Any:
        fits = self._r._fits
        if key not in fits:
            raise KeyError(f"no model {key!r}; models are: {', '.join(fits)}")
        cache = self._r.__dict__.setdefault("_cfa_cache", {})
        if key not in cache:
            cache[key] = _cfa_result(self._r, fits[key])
        return cache[key]

    def __iter__(self):
        return iter(self._r._fits)

    def __len__(self) -> int:
        return len(self._r._fits)


def _cfa_result(res: InvarianceResult, f: _Fit) -> Any:
    """A full :class:`CFAResult` from a fitted engine (tables computed now, not during the sequence)."""
    from psychometrics.cfa.fit import ml_result

    return ml_result(f.engine, model=res.model, group=res.group, group_equal=f.group_equal,
                     group_partial=f.group_partial, n_excluded=res.n_excluded, converged=f.converged,
                     iterations=f.iterations, fit=f.fit)


# ====================================================================== helpers
def _delta(f: dict[str, float], ref: dict[str, float]) -> dict[str, float]:
    dchi = f["chisq"] - ref["chisq"]
    ddf = f["df"] - ref["df"]
    p = float(special.chdtrc(ddf, max(dchi, 0.0))) if ddf > 0 else math.nan
    return {"delta_chisq": dchi, "delta_df": ddf, "delta_pvalue": p, "delta_cfi": f["cfi"] - ref["cfi"],
            "delta_rmsea": f["rmsea"] - ref["rmsea"], "delta_srmr": f["srmr"] - ref["srmr"]}


def _row(name: str, f: _Fit, ref: _Fit | None, holds: bool | None) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, "level": f.level, "partial": ", ".join(f.group_partial),
                           "compared_with": "" if ref is None else ref.name}
    for k in ("npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower", "rmsea_ci_upper",
              "srmr", "aic", "bic"):
        row[k] = f.fit[k]
    d = _delta(f.fit, ref.fit) if ref is not None else dict.fromkeys(
        ("delta_chisq", "delta_df", "delta_pvalue", "delta_cfi", "delta_rmsea", "delta_srmr"), math.nan)
    row.update(d)
    row["holds"] = holds
    return row


def _release_name(prm: Any) -> str:
    """lavaan ``group.partial`` spelling of a parameter."""
    return f"{prm.lhs}~1" if prm.op == "~1" else f"{prm.lhs}{prm.op}{prm.rhs}"


def _candidates(f: _Fit, kind: str, released: Sequence[str], min_invariant: int) -> pd.DataFrame:
    """Score tests of the constraints this level added that may still be released.

    A parameter is a candidate when releasing it leaves at least ``min_invariant``
    items with that parameter still equal across groups on every factor the item
    loads on (a marker loading counts as equal): with fewer, the comparison of the
    factor across groups rests on too few anchors (and with no equal intercept a
    latent mean is not identified).
    """
    spec = f.engine.spec
    st = f.engine.score_tests()
    if st.empty:
        return st
    if kind == "loadings":
        st = st[st["op"] == "=~"]
    elif kind == "intercepts":
        st = st[(st["op"] == "~1") & st["lhs"].isin(spec.observed)]
    else:
        st = st[(st["op"] == "~~") & (st["lhs"] == st["rhs"]) & st["lhs"].isin(spec.observed)]
    st = st[np.isfinite(st["x2"].to_numpy(float))]
    if st.empty:
        return st
    st = st.assign(released=[f"{l}~1" if o == "~1" else f"{l}{o}{r}" for l, o, r in zip(st["lhs"], st["op"], st["rhs"])])
    st = st[~st["released"].isin(released)]
    best = st.sort_values("x2", ascending=False, kind="stable").drop_duplicates("released")
    # items per factor, and which of them are still equal for this parameter kind
    loads = [(p.lhs, p.rhs) for p in spec.parameters if p.op == "=~" and p.group == 0 and p.rhs in spec.observed]
    fac_items: dict[str, list[str]] = {}
    for fct, item in loads:
        fac_items.setdefault(fct, []).append(item)
    rel = set(released)

    def still_equal(fct: str, item: str, extra: str) -> bool:
        name = (f"{fct}=~{item}" if kind == "loadings" else f"{item}~1" if kind == "intercepts" else f"{item}~~{item}")
        return name not in rel and name != extra

    keep = []
    for _, r in best.iterrows():
        if kind == "loadings":
            facs = [r["lhs"]]
        else:
            facs = [fct for fct, item in loads if item == r["lhs"]]
        ok = all(sum(still_equal(fct, it, r["released"]) for it in fac_items[fct]) >= min_invariant for fct in facs)
        keep.append(ok)
    return best[np.array(keep, dtype=bool)] if keep else best


def _item_of(release: str) -> str:
    if release.endswith("~1"):
        return release[:-2]
    if "=~" in release:
        return release.split("=~")[1]
    return release.split("~~")[0]


def _param_kind(release: str) -> str:
    return "intercept" if release.endswith("~1") else "loading" if "=~" in release else "residual variance"


def _pooled_item_sd(stats: Any, g0: int, g: int) -> np.ndarray:
    n0, n1 = stats.nobs[g0], stats.nobs[g]
    # sample covariances are ML (divisor n); convert to n − 1 before pooling
    v0 = np.diag(stats.cov[g0]) * n0 / (n0 - 1)
    v1 = np.diag(stats.cov[g]) * n1 / (n1 - 1)
    return np.sqrt(((n0 - 1) * v0 + (n1 - 1) * v1) / (n0 + n1 - 2))


def _item_table(f: _Fit, released: Sequence[str]) -> pd.DataFrame:
    e = f.engine
    spec, mats, stats = e.spec, e.mats, e.stats
    items, factors = list(spec.observed), list(spec.latent)
    rel_by_item: dict[str, list[str]] = {}
    for r in released:
        rel_by_item.setdefault(_item_of(r), []).append(r)
    rows, index = [], []
    for g in range(1, spec.ngroups):
        sdp = _pooled_item_sd(stats, 0, g)
        # the focal group's model-implied factor means and covariances (alpha and psi without
        # structural paths among the factors)
        mean_eta, phi = e.imp[g]["eta_mean"], e.imp[g]["M"]
        for i, item in enumerate(items):
            l0, l1 = mats[0]["lambda"][i], mats[g]["lambda"][i]
            n0, n1 = float(mats[0]["nu"].ravel()[i]), float(mats[g]["nu"].ravel()[i])
            d = dmacs(l0, n0, l1, n1, mean_eta, phi, sdp[i])
            on = [k for k in range(len(factors)) if l0[k] != 0 or l1[k] != 0]
            rows.append({
                "released": ", ".join(rel_by_item.get(item, [])),
                "loading_ref": float(l0[on[0]]) if len(on) == 1 else math.nan,
                "loading_focal": float(l1[on[0]]) if len(on) == 1 else math.nan,
                "intercept_ref": n0, "intercept_focal": n1,
                "expected_diff": float((n1 - n0) + (l1 - l0) @ mean_eta),
                "pooled_sd": float(sdp[i]), "dmacs": d,
            })
            index.append((spec.groups[g], item))
    return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["group", "item"]))


def _latent_table(f: _Fit) -> pd.DataFrame:
    e = f.engine
    spec = e.spec
    V = e.vcov()
    vals = e.model.values(e.x)
    by_key = {(p.lhs, p.op, p.rhs, p.group): (p, v) for p, v in zip(spec.parameters, vals)}
    rows, index = [], []
    n = [int(k) for k in e.stats.nobs]
    for g in range(1, spec.ngroups):
        for fct in spec.latent:
            pm, mean = by_key.get((fct, "~1", "", g), (None, 0.0))
            pv0, var0 = by_key[(fct, "~~", fct, 0)]
            pv1, var1 = by_key[(fct, "~~", fct, g)]
            se = math.sqrt(V[pm.index, pm.index]) if pm is not None and pm.free else math.nan
            z = mean / se if se and se > 0 else math.nan
            pooled = math.sqrt(((n[0] - 1) * var0 + (n[g] - 1) * var1) / (n[0] + n[g] - 2)) if var0 > 0 and var1 > 0 else math.nan
            vd = var1 - var0
            if pv0.free and pv1.free:
                i0, i1 = pv0.index, pv1.index
                vd_se = math.sqrt(max(V[i0, i0] + V[i1, i1] - 2 * V[i0, i1], 0.0)) if i0 != i1 else 0.0
            else:
                vd_se = math.nan
            vz = vd / vd_se if vd_se and vd_se > 0 else math.nan
            rows.append({
                "mean_diff": float(mean), "se": se, "z": z,
                "pvalue": float(2 * special.ndtr(-abs(z))) if np.isfinite(z) else math.nan,
                "std_mean_diff": float(mean) / pooled if pooled == pooled else math.nan,
                "var_ref": float(var0), "var_focal": float(var1),
                "var_ratio": float(var1 / var0) if var0 else math.nan, "var_diff": float(vd),
                "var_diff_se": vd_se, "var_diff_z": vz,
                "var_diff_pvalue": float(2 * special.ndtr(-abs(vz))) if np.isfinite(vz) else math.nan,
            })
            index.append((spec.groups[g], fct))
    return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["group", "factor"]))


def _check_levels(levels: Sequence[str]) -> tuple[str, ...]:
    if isinstance(levels, str):
        levels = (levels,)
    levels = tuple(levels)
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise DataError(f"unknown invariance level(s) {', '.join(map(repr, bad))}; levels are {', '.join(LEVELS)}")
    if not levels or levels[0] != "configural":
        raise DataError("levels must start with 'configural' (every level is compared with the one before)")
    expected = LEVELS[: len(levels)]
    if levels != expected:
        raise DataError(f"levels must be a leading part of {LEVELS} in order, got {levels}")
    return levels


def _check_groups(data: pd.DataFrame, group: str) -> None:
    """Clear errors for the group column before any fitting (names group and item)."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if not isinstance(group, str) or group not in data.columns:
        raise DataError(f"grouping variable {group!r} is not a column of the data")
    labels = pd.unique(data[group].dropna())
    if len(labels) < 2:
        only = f" (only {labels[0]!r})" if len(labels) else ""
        raise DataError(
            f"grouping variable {group!r} has a single group{only}; measurement invariance compares two or more "
            "groups")


def _reference_first(data: pd.DataFrame, group: str, reference: str | None) -> pd.DataFrame:
    """``data`` with the rows of group ``reference`` first, so that it is the first (reference)
    group in model order; ``reference`` is matched against the group labels as the results show
    them (:func:`psychometrics.cfa.fit._group_label`: an integral float 1.0 is "1")."""
    if reference is None:
        return data
    from psychometrics.cfa.fit import _group_label

    lab = data[group].map(lambda v: _group_label(v) if pd.notna(v) else v)
    if not (lab == reference).any():
        raise DataError(f"reference group {reference!r} is not a value of {group!r}")
    return pd.concat([data[lab == reference], data[lab != reference]])


# ====================================================================== public
def measurement_invariance(
    model: Any,
    data: pd.DataFrame,
    group: str,
    levels: Sequence[str] = LEVELS,
    rule: str | DecisionRule = "auto",
    *,
    partial: bool = True,
    alpha: float = 0.05,
    reference: str | None = None,
    min_invariant: int = 2,
    max_releases: int | None = None,
    max_iter: int = 500,
    estimator: str = "ML",
    empty_categories: str = "error",
) -> InvarianceResult:
    r"""Test configural, metric, scalar and strict invariance of a CFA model across groups.

    With ``estimator="WLSMV"`` (ordinal items) this is
    :func:`psychometrics.categorical_invariance.categorical_invariance`: levels
    configural → thresholds → loadings → intercepts (Wu & Estabrook, 2016), the same
    table columns, a :class:`~psychometrics.categorical_invariance.CategoricalInvarianceResult`
    (partial releases of thresholds, loadings or intercepts by WLSMV score tests).

    Parameters
    ----------
    model : str or Scale
        lavaan model syntax, or a :class:`~psychometrics.scale.Scale` (its subscales
        become correlated factors, :func:`psychometrics.cfa.models.correlated_factors`).
    data : DataFrame
        Item responses and the grouping column.
    group : str
        Grouping column (two or more groups, any sizes). Groups are ordered by first
        appearance, as lavaan; the first is the reference group.
    levels : sequence of str
        A leading part of ``("configural", "metric", "scalar", "strict")``.
    rule : str or DecisionRule
        Decision rule (:data:`RULES`): ``"auto"`` (default) picks Rutkowski &
        Svetina (2014) for ≥ 10 groups, else Chen (2007) — the small/unequal-sample
        cut-offs when total N ≤ 300 or the largest group is ≥ 1.5 times the
        smallest, the standard ones otherwise; or ``"chen2007"``,
        ``"chen2007_small"``, ``"cheung_rensvold2002"``, ``"rutkowski_svetina2014"``,
        ``"chisq"``. Every built-in rule's verdict is also in ``decisions``.
    partial : bool
        Release constraints of a failing level one at a time (largest univariate
        score test, lavaan's ``lavTestScore``; the parameter is freed in every
        group, as lavaan's ``group.partial``) until the rule holds.
    alpha : float
        Significance level of the χ² difference test rule.
    reference : str, optional
        Reference group label (default: the first group in the data). Its rows are
        moved first so that its latent means are the ones fixed to 0.
    min_invariant : int
        Keep at least this many items per factor with equal loadings / intercepts /
        residual variances when releasing (default 2).
    max_releases : int, optional
        Stop releasing after this many constraints in total (default: no limit).
    max_iter : int
        Maximum iterations per model.

    Returns
    -------
    InvarianceResult

    Notes
    -----
    Models as lavaan's ``cfa(model, data, group = group, group.equal = ...)``
    (ML with mean structure from the per-group means, covariances and sizes;
    marker-loading identification; latent means fixed to 0 in the reference
    group and free in the others once intercepts are equal). Each level starts
    from the previous level's estimates. Δχ² is the standard ML difference test
    (lavaan's ``lavTestLRT``, ``method = "standard"``).

    Validated against lavaan 0.6-14 ``cfa()``, ``fitMeasures``, ``lavTestLRT``,
    ``lavTestScore`` and ``group.partial`` on Holzinger–Swineford by school (2
    groups), by school × sex (4 groups) and the 25-item bfi by gender
    (fixtures ``tests/reference/invariance/``).

    Raises
    ------
    DataError
        A single group, missing group labels, a group with fewer complete rows
        than items or an item without variance inside a group (all name the
        group and item), unknown levels or rules.
    """
    if estimator.upper() == "WLSMV":
        from psychometrics.categorical_invariance import CATEGORICAL_LEVELS, categorical_invariance

        return categorical_invariance(
            model, data, group, CATEGORICAL_LEVELS if tuple(levels) == tuple(LEVELS) else levels, rule,
            partial=partial, alpha=alpha, reference=reference, min_invariant=min_invariant,
            max_releases=max_releases, empty_categories=empty_categories, max_iter=min(max_iter, 200))
    if estimator.upper() != "ML":
        raise DataError(f"estimator={estimator!r}: use 'ML' (continuous items) or 'WLSMV' (ordinal items)")
    with single_thread_blas():  # small CFA matrices: threaded BLAS only adds overhead
        return _measurement_invariance(
            model, data, group, levels, rule, partial=partial, alpha=alpha, reference=reference,
            min_invariant=min_invariant, max_releases=max_releases, max_iter=max_iter)


def _measurement_invariance(model, data, group, levels, rule, *, partial, alpha, reference, min_invariant,
                            max_releases, max_iter) -> InvarianceResult:
    from psychometrics.cfa.specification import build_spec

    levels = _check_levels(levels)
    if not isinstance(model, str):
        from psychometrics.cfa.models import correlated_factors

        model = correlated_factors(model)
    build_spec(model)  # a syntax error is raised (naming the line) before the data are touched
    _check_groups(data, group)
    data = _reference_first(data, group, reference)
    diags: list[Diagnostic] = []
    fitter = _Fitter(model, data, group, max_iter, diags)
    nobs = [int(n) for n in fitter.stats.nobs]
    the_rule, reason = _resolve_rule(rule, nobs, alpha)
    others = {name: r for name, r in RULES.items()}
    if alpha != 0.05:
        others["chisq"] = dataclasses.replace(RULES["chisq"], alpha=alpha)

    fits: dict[str, _Fit] = {}
    rows: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    released: list[str] = []
    accepted: _Fit | None = None
    reached, reached_partial, failed = "configural", False, False
    final = "configural"
    scalar_fit: _Fit | None = None

    for level in levels:
        f = fitter.fit(level, level, released)
        fits[level] = f
        if level == "configural":
            rows.append(_row(level, f, None, None))
            accepted = f
            continue
        assert accepted is not None
        d = _delta(f.fit, accepted.fit)
        ok = the_rule.holds(level, d)
        rows.append(_row(level, f, accepted, ok))
        decisions.append({"name": level, **{n: r.holds(level, d) for n, r in others.items()}})
        current = f
        step = 0
        while not ok and partial and (max_releases is None or len(released) < max_releases):
            cand = _candidates(current, _ADDED[level], released, min_invariant)
            if cand.empty:
                break
            best = cand.iloc[0]
            released.append(str(best["released"]))
            step += 1
            current = fitter.fit(f"{level} (partial)", level, released)
            d = _delta(current.fit, accepted.fit)
            ok = the_rule.holds(level, d)
            steps.append({"level": level, "step": step, "released": best["released"],
                          "item": _item_of(best["released"]), "parameter": _param_kind(best["released"]),
                          "x2": float(best["x2"]), "chisq": current.fit["chisq"], "df": current.fit["df"],
                          "cfi": current.fit["cfi"], "rmsea": current.fit["rmsea"], "srmr": current.fit["srmr"],
                          **{k: d[k] for k in ("delta_cfi", "delta_rmsea", "delta_srmr")}, "holds": ok})
        if step:
            name = f"{level} (partial)"
            fits[name] = current
            rows.append(_row(name, current, accepted, ok))
            decisions.append({"name": name, **{n: r.holds(level, d) for n, r in others.items()}})
        if level == "scalar":
            scalar_fit = current
        if ok and not failed:
            reached, reached_partial = level, bool(released)
            accepted = current
            final = current.name
        elif not ok:
            if not failed:
                record(diags, InvarianceWarning,
                       f"{level} invariance does not hold under {the_rule.name}"
                       + (f" even after releasing {step} constraint(s)" if step else "")
                       + f"; the highest level reached is {reached}", stacklevel=4)
            failed = True
            accepted = current  # later levels are still fitted and compared with this model

    table = pd.DataFrame.from_records(rows).set_index("name")
    table.index.name = None
    table = table[_TABLE_COLS]
    dec = pd.DataFrame.from_records(decisions).set_index("name") if decisions else pd.DataFrame()
    dec.index.name = None
    step_cols = ["level", "step", "released", "item", "parameter", "x2", "chisq", "df", "cfi", "rmsea", "srmr",
                 "delta_cfi", "delta_rmsea", "delta_srmr", "holds"]
    steps_df = pd.DataFrame.from_records(steps, columns=step_cols)

    non_inv = tuple(dict.fromkeys(_item_of(r) for r in released))
    item_tab = _item_table(scalar_fit, scalar_fit.group_partial) if scalar_fit is not None else None
    latent = None
    if reached in ("scalar", "strict"):
        latent = _latent_table(fits[final])
    elif "scalar" in levels:
        record(diags, InvarianceWarning,
               "scalar invariance does not hold, so latent means and variances are not compared across groups",
               stacklevel=4)
    return InvarianceResult(
        model=model, group=group, groups=tuple(fitter.labels), nobs=dict(zip(fitter.labels, nobs)),
        n_excluded=fitter.n_excluded, table=table, decisions=dec, level=reached, partial_level=reached_partial,
        rule=the_rule.name, rule_citation=the_rule.citation, rule_reason=reason, partial_steps=steps_df,
        non_invariant_items=non_inv, item_invariance=item_tab, latent_differences=latent,
        diagnostics=tuple(diags), _fits=fits, _final=final,
    )
