r"""Categorical (ordinal) CFA: DWLS estimates with thresholds, WLSMV inference (lavaan's ``estimator = "WLSMV"``).

Model (lavaan's *delta* parameterization, its default for WLSMV). Each ordinal item
:math:`x_i` with categories :math:`1..C_i` is a cut of a continuous latent response
:math:`x_i^*`: :math:`x_i = c \iff \tau_{i,c-1} < x_i^* \le \tau_{i,c}`. Per group,

.. math::

    \Sigma^* = \Lambda(I-B)^{-1}\Psi(I-B)^{-\top}\Lambda^\top + \Theta,\qquad
    \mu^* = \nu + \Lambda(I-B)^{-1}\alpha,

and the scaling factors :math:`\Delta = \operatorname{diag}(\delta)` standardize the
latent responses: :math:`\operatorname{diag}(\Sigma^*) = 1/\delta^2`, so the residual
variances are not free parameters but :math:`\theta_{ii} = 1/\delta_i^2 - (\Lambda M\Lambda^\top)_{ii}`.
The model-implied statistics are the standardized thresholds
:math:`\delta_i(\tau_{ik}-\mu^*_i)` and the polychoric correlations
:math:`\delta_i\delta_j\Sigma^*_{ij}` (i > j). In one group (and in the configural
model) :math:`\delta = 1`, :math:`\nu = 0`, :math:`\alpha = 0`.

Estimation minimises the DWLS discrepancy of these statistics with the diagonal
weights 1/diag Γ (:mod:`psychometrics.cfa.wls`) by Gauss–Newton with an analytic
Jacobian; standard errors are robust (sandwich); the test statistic is lavaan's
mean-and-variance adjusted ``scaled.shifted``.

Multi-group constraints (``group_equal``) follow Wu & Estabrook (2016) as
``semTools::measEq.syntax(ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016",
parameterization = "delta")``: in groups 2..G,

* ``"thresholds"`` equal → intercepts ν and scaling factors δ free;
* ``"loadings"`` equal → factor variances free;
* ``"intercepts"`` equal → intercepts fixed to 0 in every group, factor means free.

References: Muthén, du Toit & Spisic (1997); Asparouhov & Muthén (2010), *Simple
second order chi-square correction*; Wu & Estabrook (2016), *Psychometrika* 81,
1014–1045; Savalei (2021), *Educ. Psychol. Meas.* 81, 817–846 (robust RMSEA/CFI).

Validated against lavaan 0.6-14 ``cfa(..., ordered = ..., estimator = "WLSMV")`` and
semTools 0.5 ``measEq.syntax`` (fixtures ``tests/reference/wlsmv/``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from psychometrics._linalg import single_thread_blas
from psychometrics.cfa import wls
from psychometrics.cfa._tables import record_nonpositive_sampling_variances
from psychometrics.cfa.categorical_engine import CategoricalEngine, categorical_result
from psychometrics.cfa.categorical_model import CategoricalModel, gauss_newton
from psychometrics.cfa.categorical_spec import CATEGORICAL_GROUP_EQUAL, build_categorical_spec
from psychometrics.cfa.compare import scaled_difference_test
from psychometrics.cfa.results import CFAResult
from psychometrics.cfa.specification import observed_variables
from psychometrics.cfa.start_values import categorical_start_values
from psychometrics.exceptions import (
    ConvergenceWarning,
    DataError,
    Diagnostic,
    HeywoodCaseWarning,
    IdentificationError,
    IdentificationWarning,
    ModelSyntaxError,
    record,
)
from psychometrics.ordinal.group_stats import ordinal_sample_stats
from psychometrics.ordinal.sample_stats import OrdinalSampleStats
from psychometrics._text import quote

__all__ = [
    "OrdinalSampleStats", "CATEGORICAL_GROUP_EQUAL", "build_categorical_spec", "fit_categorical",
    "fit_cfa_ordinal", "scaled_difference_test", "ordinal_sample_stats",
]

# Also importable from here, as before the split: CategoricalModel, CategoricalEngine (the
# model and engine modules hold them).


def fit_categorical(
    model: str,
    stats: Sequence[OrdinalSampleStats] | OrdinalSampleStats,
    *,
    groups: Sequence[str] | None = None,
    group: str | None = None,
    std_lv: bool = False,
    orthogonal: bool = False,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
    max_iter: int = 200,
    n_excluded: int = 0,
    diagnostics: list[Diagnostic] | None = None,
    start: Mapping[tuple[str, str, str, int], float] | None = None,
    moments_cache: dict | None = None,
) -> CFAResult:
    r"""Fit a categorical CFA by DWLS with WLSMV inference from ordinal sample statistics.

    Parameters
    ----------
    model : str
        lavaan model syntax (no thresholds: they are added for every item).
    stats : OrdinalSampleStats or sequence of them
        One per group (thresholds, polychoric correlations, their asymptotic covariance, n).
    groups : sequence of str, optional
        Group labels (default ``"all"`` or ``"1", "2", …``).
    std_lv, orthogonal : bool
        As :func:`~psychometrics.cfa.fit_cfa`.
    group_equal : sequence of str
        ``"thresholds"``, ``"loadings"``, ``"intercepts"``, identified as Wu & Estabrook
        (2016) (module docstring); needs ``std_lv=True``.
    group_partial : sequence of str
        Released constraints: ``"x1|t2"``, ``"f=~x2"``, ``"x3~1"`` (semTools' rules,
        :func:`build_categorical_spec`).
    start : mapping, optional
        Starting values of free parameters by ``(lhs, op, rhs, group index)`` (e.g. a nested model's
        estimates, :func:`estimates_by_key`); the others start as usual. The same minimum: the estimates
        move only within the convergence tolerance (≈ 1e-9).
    moments_cache : dict, optional
        A dict the caller keeps across fits to the same statistics (the invariance ladder): each group's WLS
        moments (s, W, Γ and their model-independent traces) are built once and reused — the same numbers.

    Returns
    -------
    CFAResult
        With ``estimator="WLSMV"``; ``estimates`` includes thresholds (``op = "|"``)
        and scaling factors (``op = "~*~"``); ``fit`` holds lavaan's WLSMV fit
        measures (``chisq`` = DWLS, ``chisq_scaled`` = scaled-shifted, ``cfi_scaled``/
        ``rmsea_scaled`` from the scaled-shifted statistics, ``cfi_robust``/``rmsea_robust``
        Savalei's catML-based robust indices).

    Validated against lavaan 0.6-14 ``cfa(..., ordered = ..., estimator = "WLSMV")``
    fed the same sample statistics (fixtures ``tests/reference/wlsmv/``).
    """
    with single_thread_blas():  # small matrices: threaded BLAS only adds overhead
        return _fit_categorical(model, stats, groups=groups, group=group, std_lv=std_lv, orthogonal=orthogonal,
                                group_equal=group_equal, group_partial=group_partial, max_iter=max_iter,
                                n_excluded=n_excluded, diagnostics=diagnostics, start=start,
                                moments_cache=moments_cache)


def estimates_by_key(result: CFAResult) -> dict[tuple[str, str, str, int], float]:
    """A WLSMV fit's parameter values (free and fixed) by ``(lhs, op, rhs, group index)``: the ``start`` of
    :func:`fit_categorical` for a model nested in it or close to it."""
    e = result._engine
    return {(p.lhs, p.op, p.rhs, p.group): float(v) for p, v in zip(e.spec.parameters, e.values())}


def _warm_start(spec, x0: np.ndarray, start: Mapping[tuple[str, str, str, int], float]) -> np.ndarray:
    """``x0`` with each free parameter found in ``start`` set to that value (a parameter shared by several
    rows takes the first row's)."""
    x = np.array(x0, dtype=float)
    seen: set[int] = set()
    for p in spec.parameters:
        if p.free and p.index not in seen:
            seen.add(p.index)
            v = start.get((p.lhs, p.op, p.rhs, p.group))
            if v is not None and np.isfinite(v):
                x[p.index] = v
    return x


def _group_moments(s: OrdinalSampleStats, n_th: int, cache: dict | None) -> wls.GroupMoments:
    """``wls.GroupMoments`` of ``s``, from ``cache`` when the same statistics object was fitted before."""
    hit = cache.get(id(s)) if cache is not None else None
    if hit is not None and hit[0] is s and hit[1].n_th == n_th:
        return hit[1]
    gm = wls.GroupMoments(s.vector(), s.weights, s.acov, s.nobs, n_th)
    if cache is not None:
        cache[id(s)] = (s, gm)  # s kept alive with its id
    return gm


def _fit_categorical(model, stats, *, groups, group, std_lv, orthogonal, group_equal, group_partial, max_iter,
                     n_excluded, diagnostics, start=None, moments_cache=None) -> CFAResult:
    diags: list[Diagnostic] = diagnostics if diagnostics is not None else []
    if isinstance(stats, OrdinalSampleStats):
        stats = [stats]
    stats = list(stats)
    if groups is None:
        groups = ("all",) if len(stats) == 1 else tuple(str(g + 1) for g in range(len(stats)))
    groups = tuple(groups)
    if len(groups) != len(stats):
        raise DataError(f"{len(groups)} group labels for {len(stats)} sets of sample statistics")
    observed = observed_variables(model)
    stats = [s.subset(observed) for s in stats]
    nth = stats[0].n_thresholds
    for lab, s in zip(groups[1:], stats[1:]):
        if s.n_thresholds != nth:
            diff = [v for v, a, b in zip(observed, nth, s.n_thresholds) if a != b]
            raise DataError(
                f"item(s) {', '.join(map(repr, diff))} have a different number of categories in group {quote(lab)} "
                f"than in group {quote(groups[0])}; every group needs the same categories (collapse categories first)"
            )
    spec = build_categorical_spec(model, dict(zip(observed, nth)), groups=groups, std_lv=std_lv,
                                  orthogonal=orthogonal, group_equal=group_equal, group_partial=group_partial)
    cm = CategoricalModel(spec, nth)
    df = len(groups) * cm.k - spec.n_free
    if df < 0:
        raise IdentificationError(
            f"the model has {spec.n_free} free parameters but only {len(groups) * cm.k} sample statistics "
            f"(df = {df}); it is not identified"
        )
    if df == 0:
        record(diags, IdentificationWarning, "the model has 0 degrees of freedom (saturated): its fit cannot be tested",
               stacklevel=4)
    N = sum(s.nobs for s in stats)
    w_obj = np.array([(s.nobs - 1) / N for s in stats])  # lavaan weights group g's DWLS fit by (n_g − 1)/N
    moments = [_group_moments(s, cm.T, moments_cache) for s in stats]
    x0 = categorical_start_values(spec, stats)
    if start:
        x0 = _warm_start(spec, x0, start)
    x, converged, iterations, message = gauss_newton(cm, moments, w_obj, x0, max_iter)
    if not converged:
        record(diags, ConvergenceWarning,
               f"the DWLS estimation did not converge ({message}); estimates and fit are not trustworthy", stacklevel=4)
    engine = CategoricalEngine(spec, cm, stats, x, moments)
    if engine.singular and spec.n_free:
        record(diags, IdentificationWarning,
               "the information matrix is singular: the model is (empirically) under-identified and standard "
               "errors cannot be computed", stacklevel=4)
    record_nonpositive_sampling_variances(spec, engine.V, diags, stacklevel=5)
    for g in range(len(groups)):
        where = f" in group {quote(groups[g])}" if len(groups) > 1 else ""
        for v, t in zip(observed, engine.theta_diag(g)):
            if t < 0:
                record(diags, HeywoodCaseWarning,
                       f"Heywood case: the residual variance of the latent response of item {quote(v)} is negative "
                       f"({t:.4g}){where}", stacklevel=4)
    return categorical_result(model, engine, group, groups, group_equal, stats, n_excluded, converged, iterations, diags)


def fit_cfa_ordinal(
    model: str,
    data: pd.DataFrame,
    *,
    ordered: Sequence[str] | bool | None = None,
    group: str | None = None,
    std_lv: bool = False,
    orthogonal: bool = False,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
    empty_categories: str = "error",
    max_iter: int = 200,
    missing: str = "listwise",
) -> CFAResult:
    """``fit_cfa(..., estimator="WLSMV")`` from data: sample statistics per group, then :func:`fit_categorical`.

    ``missing="pairwise"``: lavaan's ``missing = "pairwise"`` — thresholds from each item's
    available values, polychorics from pairwise-complete tables, Γ consistent with that;
    only rows with every item missing are excluded (see :func:`ordinal_sample_stats`).

    ``ordered``: ``None``/``True`` = every model item; a list must name every model item
    (mixed ordinal/continuous models are not implemented).
    """
    items = list(observed_variables(model))
    if ordered is False:
        raise ModelSyntaxError("estimator='WLSMV' is for ordinal items: pass ordered=True or the list of ordinal items")
    if ordered is not None and ordered is not True:
        ordered = [ordered] if isinstance(ordered, str) else list(ordered)
        cont = [v for v in items if v not in ordered]
        if cont:
            raise ModelSyntaxError(
                f"item(s) {', '.join(map(repr, cont))} are not in ordered=: models mixing ordinal and continuous "
                "items are not implemented for WLSMV; list every model item as ordered"
            )
    diags: list[Diagnostic] = []
    stats, labels, n_excluded = ordinal_sample_stats(data, items, group, empty_categories=empty_categories,
                                                     diagnostics=diags, missing=missing)
    return fit_categorical(model, stats, groups=labels, group=group, std_lv=std_lv, orthogonal=orthogonal,
                           group_equal=group_equal, group_partial=group_partial, max_iter=max_iter,
                           n_excluded=n_excluded, diagnostics=diags)
