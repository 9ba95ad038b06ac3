r"""The ML invariance ladder (:func:`measurement_invariance`; the example is in the package docstring).

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
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from psychometrics._linalg import single_thread_blas
from psychometrics.exceptions import (
    ConvergenceWarning,
    DataError,
    Diagnostic,
    InvarianceWarning,
    record,
)
from psychometrics.invariance.effect_size import item_table, latent_table
from psychometrics.invariance.groups import check_groups, reference_first
from psychometrics.invariance.partial import item_of, param_kind, release_candidates
from psychometrics.invariance.results import TABLE_COLS, FittedLevel, InvarianceResult, delta_fit, ml_table_row
from psychometrics.invariance.rules import RULES, DecisionRule, resolve_rule
from psychometrics._text import quote

__all__ = ["measurement_invariance", "LEVELS", "GROUP_EQUAL"]

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


class _Fitter:
    """Fits models of one invariance sequence on shared sample statistics."""

    def __init__(self, model: str, data: pd.DataFrame, group: str, max_iter: int, diags: list[Diagnostic],
                 estimator: str = "ML", missing: str = "listwise"):
        from psychometrics.cfa.sample_stats import pattern_stats, sample_stats
        from psychometrics.cfa.specification import build_spec

        # marker-loading identification (lavaan's default); std.lv would need the factor
        # variances freed in the later groups once loadings are equal
        self.model, self.group, self.max_iter = model, group, max_iter
        self.diags = diags
        observed = build_spec(model).observed
        self.observed = tuple(observed)
        self.estimator, self.missing = estimator, missing
        self.robust = estimator == "MLR" or missing == "ml"
        if self.robust:  # patterns and the EM (H1) moments once for the whole ladder
            from psychometrics.cfa.fiml_engine import FimlData

            groups, self.labels, self.n_excluded = pattern_stats(data, observed, group, missing, diags)
            self.fdata = FimlData(groups)
            self.stats = self.fdata.stats()
        else:
            self.stats, self.labels, self.n_excluded = sample_stats(data, observed, group, "listwise", diags)
        self._prev: tuple[Any, np.ndarray] | None = None

    def _warm_start(self, compiled: Any, x0: np.ndarray) -> np.ndarray:
        """Start from the previous level's estimates (equal parameters: mean over groups)."""
        if self._prev is None:
            return x0
        spec_prev, x_prev = self._prev
        from psychometrics.cfa.estimation import compiled_model

        values = compiled_model(spec_prev).values(x_prev)
        old = {(p.lhs, p.op, p.rhs, p.group): v for p, v in zip(spec_prev.parameters, values)}
        acc: dict[int, list[float]] = {}
        for p in compiled.spec.parameters:
            if p.free and (p.lhs, p.op, p.rhs, p.group) in old:
                acc.setdefault(p.index, []).append(old[(p.lhs, p.op, p.rhs, p.group)])
        x = x0.copy()
        for k, vals in acc.items():
            x[k] = float(np.mean(vals))
        return x

    def fit(self, name: str, level: str, partial: Sequence[str]) -> FittedLevel:
        from psychometrics.cfa.engine import fit_ml
        from psychometrics.cfa.specification import build_spec

        ge = GROUP_EQUAL[level]
        spec = build_spec(self.model, groups=self.labels, meanstructure=True,
                          group_equal=ge, group_partial=tuple(partial))
        warm = self._warm_start if self._prev is not None else None
        if self.robust:
            from psychometrics.cfa.fiml_engine import fit_robust

            engine, converged, iterations, message = fit_robust(
                spec, self.fdata, estimator=self.estimator, fiml=self.missing == "ml", max_iter=self.max_iter,
                warm_start=warm)
        else:
            engine, converged, iterations, message = fit_ml(spec, self.stats, max_iter=self.max_iter,
                                                            warm_start=warm)
        if not converged:
            record(self.diags, ConvergenceWarning,
                   f"the {name} model did not converge ({message}); its fit is not trustworthy", stacklevel=6)
        self._prev = (spec, engine.x)
        return FittedLevel(name, level, ge, tuple(partial), engine, engine.fit_measures(), converged, iterations)

    def delta(self, f: FittedLevel, ref: FittedLevel) -> dict[str, float]:
        """Differences against ``ref``; with MLR the scaled χ² difference (Satorra–Bentler 2001, 2010 when
        the 2001 version is not positive) and the robust CFI / RMSEA."""
        d = delta_fit(f.fit, ref.fit)
        if self.estimator == "MLR":
            from psychometrics.cfa.compare import scaled_difference_fits

            if d["delta_df"] > 0:
                sd = scaled_difference_fits(ref.fit, ref.engine, f.fit, f.engine)
                d.update(delta_chisq=sd["chisq_diff"], delta_pvalue=sd["pvalue"])
            d.update(delta_cfi=f.fit["cfi_robust"] - ref.fit["cfi_robust"],
                     delta_rmsea=f.fit["rmsea_robust"] - ref.fit["rmsea_robust"])
        return d

    def row(self, name: str, f: FittedLevel, ref: FittedLevel | None, holds: bool | None) -> dict[str, Any]:
        row = ml_table_row(name, f, ref, holds)
        if self.estimator == "MLR":
            ff = f.fit
            row.update(chisq=ff["chisq_scaled"], pvalue=ff["pvalue_scaled"], cfi=ff["cfi_robust"],
                       tli=ff["tli_robust"], rmsea=ff["rmsea_robust"], rmsea_ci_lower=ff["rmsea_ci_lower_robust"],
                       rmsea_ci_upper=ff["rmsea_ci_upper_robust"])
            if ref is not None:
                row.update(self.delta(f, ref))
        return row



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
    missing: str = "listwise",
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
        # looked up on the module at call time, so that psychometrics.categorical_invariance (the
        # same module object) can be patched in tests
        from psychometrics.invariance import categorical

        return categorical.categorical_invariance(
            model, data, group, categorical.CATEGORICAL_LEVELS if tuple(levels) == tuple(LEVELS) else levels, rule,
            partial=partial, alpha=alpha, reference=reference, min_invariant=min_invariant,
            max_releases=max_releases, empty_categories=empty_categories, max_iter=min(max_iter, 200))
    if estimator.upper() not in ("ML", "MLR"):
        raise DataError(f"estimator={quote(estimator)}: use 'ML' or 'MLR' (continuous items) or 'WLSMV' (ordinal items)")
    from psychometrics.cfa.fit import normalize_missing

    with single_thread_blas():  # small CFA matrices: threaded BLAS only adds overhead
        return _measurement_invariance(
            model, data, group, levels, rule, partial=partial, alpha=alpha, reference=reference,
            min_invariant=min_invariant, max_releases=max_releases, max_iter=max_iter,
            estimator=estimator.upper(), missing=normalize_missing(missing))


def _measurement_invariance(model, data, group, levels, rule, *, partial, alpha, reference, min_invariant,
                            max_releases, max_iter, estimator="ML", missing="listwise") -> InvarianceResult:
    from psychometrics.cfa.specification import build_spec

    levels = _check_levels(levels)
    if not isinstance(model, str):
        from psychometrics.cfa.models import correlated_factors

        model = correlated_factors(model)
    build_spec(model)  # a syntax error is raised (naming the line) before the data are touched
    check_groups(data, group)
    data = reference_first(data, group, reference)
    diags: list[Diagnostic] = []
    fitter = _Fitter(model, data, group, max_iter, diags, estimator, missing)
    nobs = [int(n) for n in fitter.stats.nobs]
    the_rule, reason = resolve_rule(rule, nobs, alpha)
    others = {name: r for name, r in RULES.items()}
    if alpha != 0.05:
        others["chisq"] = dataclasses.replace(RULES["chisq"], alpha=alpha)

    fits: dict[str, FittedLevel] = {}
    rows: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    released: list[str] = []
    accepted: FittedLevel | None = None
    reached, reached_partial, failed = "configural", False, False
    final = "configural"
    scalar_fit: FittedLevel | None = None

    for level in levels:
        f = fitter.fit(level, level, released)
        fits[level] = f
        if level == "configural":
            rows.append(fitter.row(level, f, None, None))
            accepted = f
            continue
        assert accepted is not None
        d = fitter.delta(f, accepted)
        ok = the_rule.holds(level, d)
        rows.append(fitter.row(level, f, accepted, ok))
        decisions.append({"name": level, **{n: r.holds(level, d) for n, r in others.items()}})
        current = f
        step = 0
        while not ok and partial and (max_releases is None or len(released) < max_releases):
            cand = release_candidates(current, _ADDED[level], released, min_invariant)
            if cand.empty:
                break
            best = cand.iloc[0]
            released.append(str(best["released"]))
            step += 1
            current = fitter.fit(f"{level} (partial)", level, released)
            d = fitter.delta(current, accepted)
            ok = the_rule.holds(level, d)
            steps.append({"level": level, "step": step, "released": best["released"],
                          "item": item_of(best["released"]), "parameter": param_kind(best["released"]),
                          "x2": float(best["x2"]), "chisq": current.fit["chisq"], "df": current.fit["df"],
                          "cfi": current.fit["cfi"], "rmsea": current.fit["rmsea"], "srmr": current.fit["srmr"],
                          **{k: d[k] for k in ("delta_cfi", "delta_rmsea", "delta_srmr")}, "holds": ok})
        if step:
            name = f"{level} (partial)"
            fits[name] = current
            rows.append(fitter.row(name, current, accepted, ok))
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
    table = table[TABLE_COLS]
    dec = pd.DataFrame.from_records(decisions).set_index("name") if decisions else pd.DataFrame()
    dec.index.name = None
    step_cols = ["level", "step", "released", "item", "parameter", "x2", "chisq", "df", "cfi", "rmsea", "srmr",
                 "delta_cfi", "delta_rmsea", "delta_srmr", "holds"]
    steps_df = pd.DataFrame.from_records(steps, columns=step_cols)

    non_inv = tuple(dict.fromkeys(item_of(r) for r in released))
    item_tab = item_table(scalar_fit, scalar_fit.group_partial) if scalar_fit is not None else None
    latent = None
    if reached in ("scalar", "strict"):
        latent = latent_table(fits[final])
    elif "scalar" in levels:
        record(diags, InvarianceWarning,
               "scalar invariance does not hold, so latent means and variances are not compared across groups",
               stacklevel=4)
    return InvarianceResult(
        model=model, group=group, groups=tuple(fitter.labels), nobs=dict(zip(fitter.labels, nobs)),
        n_excluded=fitter.n_excluded, table=table, decisions=dec, level=reached, partial_level=reached_partial,
        rule=the_rule.name, rule_citation=the_rule.citation, rule_reason=reason, partial_steps=steps_df,
        non_invariant_items=non_inv, item_invariance=item_tab, latent_differences=latent,
        diagnostics=tuple(diags), _fits=fits, _final=final, estimator=estimator, missing=missing,
    )
