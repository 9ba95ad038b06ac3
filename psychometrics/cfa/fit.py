"""``fit_cfa``: data → sufficient statistics → ML estimates → fit, standardized solution, MI.

The front door of the ML CFA; the pieces live in :mod:`~psychometrics.cfa.sample_stats`,
:mod:`~psychometrics.cfa.start_values`, :mod:`~psychometrics.cfa.engine` and
:mod:`~psychometrics.cfa.checks` (ordinal items: :mod:`~psychometrics.cfa.categorical`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from psychometrics._linalg import single_thread_blas
from psychometrics.cfa.categorical import fit_cfa_ordinal
from psychometrics.cfa.checks import check_identification as _check_identification
from psychometrics.cfa.checks import post_checks as _post_checks
from psychometrics.cfa.engine import fit_ml, ml_result
from psychometrics.cfa.results import CFAResult
from psychometrics.cfa.sample_stats import moment_stats as _moment_stats
from psychometrics.cfa.sample_stats import pattern_stats as _pattern_stats
from psychometrics.cfa.sample_stats import sample_stats as _sample_stats
from psychometrics.cfa.specification import build_spec, observed_variables
from psychometrics.exceptions import (
    ConvergenceWarning,
    DataError,
    Diagnostic,
    IdentificationWarning,
    ModelSyntaxError,
    record,
)
from psychometrics._text import quote

__all__ = ["fit_cfa"]



def fit_cfa(
    model: Any,
    data: pd.DataFrame | None = None,
    estimator: str = "ML",
    *,
    sample_cov: Any = None,
    sample_mean: Any = None,
    sample_nobs: Any = None,
    group: str | None = None,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
    std_lv: bool = False,
    meanstructure: bool | None = None,
    orthogonal: bool = False,
    missing: str = "listwise",
    mi_threshold: float = 3.84,
    max_iter: int = 500,
    ordered: Sequence[str] | bool | None = None,
    empty_categories: str = "error",
) -> CFAResult:
    r"""Fit a confirmatory factor analysis by maximum likelihood, as lavaan's ``cfa()``.

    With ``estimator="WLSMV"`` (or ``ordered=``) the items are ordinal and the model
    is fitted by DWLS with thresholds, robust standard errors and the scaled-shifted
    test, as lavaan's ``cfa(..., ordered = ..., estimator = "WLSMV")`` — see
    :mod:`psychometrics.cfa.categorical` and ``docs/cfa-categorical.md``.

    Parameters
    ----------
    model : str or Scale
        lavaan model syntax (see :mod:`psychometrics.cfa.syntax`), or a
        :class:`~psychometrics.scale.Scale` whose subscales become correlated factors
        (:func:`psychometrics.cfa.models.correlated_factors`).
    data : DataFrame, optional
        Item responses (columns named as in the model), plus the grouping column.
    sample_cov, sample_mean, sample_nobs : optional
        Instead of ``data`` (lavaan's ``sample.cov``, ``sample.mean``, ``sample.nobs``):
        the unbiased covariance matrix (divisor n − 1; a DataFrame labelled with the
        item names, or a correlation matrix), the mean vector (a Series; needed only
        with a mean structure) and n. For several groups give mappings
        ``{group label: value}`` (groups in mapping order). As lavaan
        (``sample.cov.rescale = TRUE``) the ML covariance is ``S·(n−1)/n``.
    estimator : {"ML", "WLSMV"}
        Normal-theory maximum likelihood, or (ordinal items) DWLS with lavaan's WLSMV
        inference.
    group : str, optional
        Column that defines groups for a multi-group model (groups in order of
        first appearance, as lavaan).
    group_equal : sequence of str
        Parameters constrained equal across groups, lavaan's names: ``"loadings"``,
        ``"intercepts"``, ``"means"``, ``"residuals"``, ``"residual.covariances"``,
        ``"lv.variances"``, ``"lv.covariances"``.
    group_partial : sequence of str
        Exceptions to ``group_equal``, e.g. ``["visual=~x2", "x3~1"]``.
    std_lv : bool
        Fix factor variances to 1 and free all loadings (instead of marker loadings).
    meanstructure : bool, optional
        Model intercepts and factor means (default: with several groups or ``~ 1`` in the syntax).
    orthogonal : bool
        Uncorrelated factors.
    missing : {"listwise", "pairwise"}
        ``"listwise"``: rows with a missing value on any model item are excluded (counted
        on the result and reported as a :class:`DataQualityWarning`). ``"pairwise"`` (ordinal
        items / WLSMV only, lavaan's ``missing = "pairwise"``): thresholds from each item's
        available values, polychorics from pairwise-complete tables; only rows with every
        item missing are excluded.
    mi_threshold : float
        Modification indices at or above this value are kept on the result (default 3.84,
        the 5 % critical value of χ²(1)).
    max_iter : int
        Maximum Fisher-scoring iterations.
    ordered : list of str or bool, optional
        Ordinal items (lavaan's ``ordered``): implies ``estimator="WLSMV"``; must name
        every model item (``True`` or None with WLSMV: all of them).
    empty_categories : {"error", "collapse"}
        WLSMV with groups: a category empty in one group raises :class:`DataError`
        (naming item, category and group) or is merged with its neighbour in every group.

    Returns
    -------
    CFAResult

    Notes
    -----
    Discrepancy :math:`F_{ML}` and Fisher scoring as in
    :mod:`psychometrics.cfa.estimation`; χ² = 2N·F_ML; fit indices as in
    :mod:`psychometrics.cfa.fit_indices`; standard errors from the expected
    information; standardized solution as lavaan's ``standardizedSolution``
    (``std.lv``, ``std.all``); modification indices are score tests with the
    expected information (Sörbom, 1989), EPC as Saris, Satorra & Sörbom (1987).

    Validated against lavaan 0.6-14 ``cfa()``, ``fitMeasures``,
    ``parameterEstimates(standardized = TRUE)``, ``modindices``, ``resid(type = "cor")``,
    ``lavInspect(fit, "rsquare")`` (fixtures ``tests/reference/cfa/``).

    Raises
    ------
    ModelSyntaxError, DataError, IdentificationError
    """
    if estimator.upper() == "WLSMV" or ordered not in (None, False):
        if estimator.upper() not in ("WLSMV", "ML"):  # ordered= with the default "ML" means WLSMV, as lavaan
            raise ModelSyntaxError(f"estimator={quote(estimator)} with ordered items: use estimator='WLSMV'")
        if data is None or sample_cov is not None:
            raise DataError("estimator='WLSMV' needs item responses (data=...); from sample statistics use "
                            "psychometrics.cfa.categorical.fit_categorical")
        if meanstructure is False or missing not in ("listwise", "pairwise"):
            raise ModelSyntaxError("estimator='WLSMV' always has a mean structure (thresholds) and uses "
                                   "missing='listwise' or missing='pairwise'")
        from psychometrics.cfa.models import correlated_factors

        return fit_cfa_ordinal(
            model if isinstance(model, str) else correlated_factors(model), data, ordered=ordered, group=group,
            std_lv=std_lv, orthogonal=orthogonal, group_equal=group_equal, group_partial=group_partial,
            empty_categories=empty_categories, max_iter=min(max_iter, 500), missing=missing,
        )
    with single_thread_blas():
        return _fit_cfa(
            model, data, estimator, sample_cov=sample_cov, sample_mean=sample_mean, sample_nobs=sample_nobs,
            group=group, group_equal=group_equal, group_partial=group_partial,
            std_lv=std_lv, meanstructure=meanstructure, orthogonal=orthogonal, missing=missing,
            mi_threshold=mi_threshold, max_iter=max_iter,
        )


def normalize_missing(missing: str) -> str:
    """``"listwise"`` or ``"ml"`` (aliases ``"fiml"``, ``"ML"``, ``"direct"``); our error otherwise."""
    m = str(missing).lower()
    if m in ("ml", "fiml", "direct"):
        return "ml"
    if m in ("listwise", "complete"):
        return "listwise"
    raise DataError(f"missing={quote(missing)} is not supported for ML; use 'listwise' or 'ml' (alias 'fiml')")


def _fit_cfa(model, data, estimator, *, sample_cov, sample_mean, sample_nobs, group, group_equal, group_partial, std_lv, meanstructure,
             orthogonal, missing, mi_threshold, max_iter) -> CFAResult:
    est = estimator.upper()
    if est not in ("ML", "MLR"):
        raise ModelSyntaxError(f"estimator={quote(estimator)} is not supported; use 'ML', 'MLR' or (ordinal items) 'WLSMV'")
    missing = normalize_missing(missing)
    if not isinstance(model, str):
        from psychometrics.cfa.models import correlated_factors

        model = correlated_factors(model)
    diags: list[Diagnostic] = []
    # a first pass fixes the observed variables (in model order) before the groups are known
    observed = observed_variables(model)
    if data is None:
        if sample_cov is None:
            raise DataError("give the item responses (data=...) or their moments (sample_cov=..., sample_nobs=...)")
        if group is not None:
            raise DataError("group= names a column of data; with sample_cov give one matrix per group in a mapping")
        stats, labels = _moment_stats(observed, sample_cov, sample_mean, sample_nobs)
        n_excluded = 0
        if sample_mean is None and (meanstructure or len(labels) > 1):
            raise DataError("a mean structure (several groups or meanstructure=True) needs sample_mean")
    elif sample_cov is not None or sample_mean is not None or sample_nobs is not None:
        raise DataError("give either data or sample_cov/sample_mean/sample_nobs, not both")
    elif est == "MLR" or missing == "ml":
        return _fit_robust(model, data, est, observed=observed, group=group, group_equal=group_equal,
                           group_partial=group_partial, std_lv=std_lv, meanstructure=meanstructure,
                           orthogonal=orthogonal, missing=missing, mi_threshold=mi_threshold, max_iter=max_iter,
                           diags=diags)
    else:
        stats, labels, n_excluded = _sample_stats(data, observed, group, missing, diags)
    if est != "ML":
        raise DataError("estimator='MLR' needs item responses (data=...): the robust statistics use casewise scores")
    spec = build_spec(
        model, groups=labels, std_lv=std_lv, meanstructure=meanstructure, orthogonal=orthogonal,
        group_equal=tuple(group_equal), group_partial=tuple(group_partial),
    )
    _check_identification(spec, diags)

    engine, converged, iterations, message = fit_ml(spec, stats, max_iter=max_iter)
    if not converged:
        record(diags, ConvergenceWarning,
               f"the ML estimation did not converge ({message}); estimates and fit are not trustworthy",
               stacklevel=4)
    engine.vcov()
    if engine.singular_info and spec.n_free:
        weak = ", ".join(f"'{p.lhs} {p.op} {p.rhs}'" for p in engine.weak_parameters()[:6])
        record(diags, IdentificationWarning,
               "the information matrix is singular: the model is (empirically) under-identified and "
               f"standard errors cannot be computed; check {weak or 'the parameters'}", stacklevel=4)
    _post_checks(engine, diags)

    return ml_result(engine, model=model, group=group, group_equal=group_equal, group_partial=group_partial,
                     n_excluded=n_excluded, converged=converged, iterations=iterations,
                     mi_threshold=mi_threshold, diagnostics=diags)



def _fit_robust(model, data, est, *, observed, group, group_equal, group_partial, std_lv, meanstructure, orthogonal,
                missing, mi_threshold, max_iter, diags) -> CFAResult:
    """FIML (``missing="ml"``) and/or MLR: casewise likelihood by missing pattern, observed-information or
    sandwich standard errors, scaled and robust fit measures (:mod:`psychometrics.cfa.fiml_engine`)."""
    from psychometrics.cfa.fiml_engine import FimlData, fit_robust

    groups, labels, n_excluded = _pattern_stats(data, observed, group, missing, diags)
    fiml = missing == "ml"
    fd = FimlData(groups)
    if not fd.em_converged:
        record(diags, ConvergenceWarning, "the EM algorithm for the saturated (H1) model did not converge in 500 "
               "iterations; χ², SRMR and robust statistics are approximate", stacklevel=4)
    if fiml:
        if meanstructure is False:
            raise ModelSyntaxError("missing='ml' (FIML) always has a mean structure; drop meanstructure=False")
        meanstructure = True
    spec = build_spec(
        model, groups=labels, std_lv=std_lv, meanstructure=meanstructure, orthogonal=orthogonal,
        group_equal=tuple(group_equal), group_partial=tuple(group_partial),
    )
    _check_identification(spec, diags)
    engine, converged, iterations, message = fit_robust(spec, fd, estimator=est, fiml=fiml, max_iter=max_iter)
    if not converged:
        record(diags, ConvergenceWarning,
               f"the {'FIML' if fiml else 'ML'} estimation did not converge ({message}); estimates and fit are "
               "not trustworthy", stacklevel=4)
    engine.vcov()
    if engine.singular_info and spec.n_free:
        record(diags, IdentificationWarning,
               "the observed information matrix is singular: the model is (empirically) under-identified and "
               "standard errors cannot be computed", stacklevel=4)
    _post_checks(engine, diags)
    return ml_result(engine, model=model, group=group, group_equal=group_equal, group_partial=group_partial,
                     n_excluded=n_excluded, converged=converged, iterations=iterations,
                     mi_threshold=mi_threshold, diagnostics=diags, estimator=est, missing=missing)
