"""Composite reliability (ω) of the factors of a fitted factor model.

* :func:`composite_reliability` — (Σλ*)² / ((Σλ*)² + Σθ*); lavaan std.all, by hand.
* :func:`composite_reliability_sem` — (Σλ)² ψ_ff / 1'Σ_f 1; ``semTools::compRelSEM``.

Pure functions of given loadings and matrices (no model fitting): :mod:`.cfa_omega`
uses them for ω from a bifactor CFA, :mod:`psychometrics.validity` for its
construct-validity table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from psychometrics.reliability._loadings import (
    as_loadings,
    indicators,
    need,
    residuals,
    square,
    usable_factors,
    warn_loading_problems,
)

__all__ = ["composite_reliability", "composite_reliability_sem"]


def composite_reliability(
    std_loadings: pd.DataFrame | pd.Series,
    residual_variances: pd.Series | Mapping[Any, float] | None = None,
) -> pd.Series:
    r"""Composite (construct) reliability of each factor from standardized loadings.

    .. math:: \mathrm{CR}_f = \frac{(\sum_{i\in f}\lambda^*_{if})^2}
                                  {(\sum_{i\in f}\lambda^*_{if})^2 + \sum_{i\in f}\theta^*_{ii}}

    with :math:`\theta^*_{ii} = 1-\lambda^{*2}_{i}` unless ``residual_variances``
    are given (Fornell & Larcker, 1981; Raykov, 1997). This is the reliability of
    the unit-weighted sum of the *standardized* items. It is not what
    ``semTools::compRelSEM`` reports: compRelSEM uses unstandardized loadings and
    the total variance of the sum of the *raw* items (see
    :func:`composite_reliability_sem`); the two agree only when all items have
    equal variances.

    Parameters
    ----------
    std_loadings : DataFrame or Series
        Standardized loadings, items × factors (0 or NaN where an item does not
        load). A Series is one factor.
    residual_variances : Series or mapping, optional
        Standardized residual variances θ* by item. Required when an item loads
        on more than one factor.

    Returns
    -------
    pandas.Series
        CR by factor, named ``"composite_reliability"``. Factors with fewer than
        two indicators are left out with a :class:`ReliabilityWarning` (as
        semTools' ``dropSingle = TRUE``).

    Notes
    -----
    Validated against lavaan's std.all solution of the Holzinger–Swineford and
    bfi models (``tests/reference/validity/cfa_cr_ave.json``, ``cr_std``).

    References
    ----------
    Fornell, C., & Larcker, D. F. (1981). Evaluating structural equation models
    with unobservable variables and measurement error. *Journal of Marketing
    Research, 18*(1), 39–50.
    """
    what = "composite_reliability"
    L = as_loadings(std_loadings, "std_loadings")
    theta = residuals(L, residual_variances, what)
    out = {}
    for f in usable_factors(L, what):
        items = indicators(L, f)
        warn_loading_problems(L, theta, f, items, what)
        s2 = L.loc[items, f].sum() ** 2
        out[f] = s2 / (s2 + theta.loc[items].sum())
    return pd.Series(out, dtype=float, name="composite_reliability")


def composite_reliability_sem(
    loadings: pd.DataFrame | pd.Series,
    latent_cov: pd.DataFrame,
    total_cov: pd.DataFrame,
) -> pd.Series:
    r"""Composite reliability (ω) of each factor as ``semTools::compRelSEM``.

    .. math:: \omega_f = \frac{(\sum_{i\in f}\lambda_{if})^2\,\psi_{ff}}
                              {\mathbf 1'\Sigma_{f}\mathbf 1}

    where λ are unstandardized loadings, ψ_ff the factor variance and Σ_f the
    covariance matrix of the factor's indicators: the reliability of the
    unit-weighted sum of the raw items (Bentler, 2009; McDonald, 1999).

    ``compRelSEM``'s default ``obs.var = TRUE`` uses the *observed* (sample)
    covariance matrix with lavaan's divisor N for Σ_f; ``obs.var = FALSE`` uses
    the model-implied matrix (which includes residual covariances). Pass the one
    you want as ``total_cov``.

    Parameters
    ----------
    loadings : DataFrame or Series
        Unstandardized loadings, items × factors (0 or NaN where an item does
        not load). Cross-loadings are allowed: only the loadings on *f* enter
        the numerator, as in compRelSEM.
    latent_cov : DataFrame
        Latent covariance matrix ψ (factors × factors).
    total_cov : DataFrame
        Observed (N divisor) or model-implied covariance matrix of the items.

    Returns
    -------
    pandas.Series
        ω by factor, named ``"omega"``; factors with < 2 indicators are left
        out with a warning (compRelSEM ``dropSingle = TRUE``).

    Notes
    -----
    Validated against ``semTools::compRelSEM(fit)`` and
    ``compRelSEM(fit, obs.var = FALSE)`` (semTools 0.5-6) on the
    Holzinger–Swineford and bfi models, ``cfa_cr_ave.json``.
    """
    what = "composite_reliability_sem"
    L = as_loadings(loadings, "loadings")
    psi = square(latent_cov, "latent_cov")
    S = square(total_cov, "total_cov")
    need(psi, list(L.columns), "latent_cov")
    need(S, list(L.index), "total_cov")
    out = {}
    for f in usable_factors(L, what):
        items = indicators(L, f)
        common = L.loc[items, f].sum() ** 2 * psi.loc[f, f]
        out[f] = common / S.loc[items, items].to_numpy().sum()
    return pd.Series(out, dtype=float, name="omega")
