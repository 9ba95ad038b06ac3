"""Reliability of ordinal items: ordinal α and categorical ω.

Pure functions of given matrices — a polychoric correlation matrix, thresholds, loadings
and factor covariances — so that they sit below the factor engines: ω from a fitted CFA
(:func:`categorical_omega_from_cfa`) reads the result it is given and imports no CFA code.
They reproduce semTools 0.5-6 ``compRelSEM`` and ``psych::alpha`` on lavaan's polychoric
matrix (fixtures ``tests/reference/ordinal/``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError
from psychometrics.ordinal.bivariate import _pnorm, bivariate_normal_cdf
from psychometrics.ordinal.correlations import PolychoricResult

__all__ = ["ordinal_alpha", "categorical_omega", "categorical_omega_from_cfa"]


def _as_corr(x) -> pd.DataFrame:
    if isinstance(x, PolychoricResult):
        return x.matrix
    if isinstance(x, pd.DataFrame):
        return x
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise DataError(f"expected a square correlation matrix, got shape {arr.shape}.")
    return pd.DataFrame(arr, index=[f"V{i + 1}" for i in range(arr.shape[0])],
                        columns=[f"V{i + 1}" for i in range(arr.shape[0])])


def ordinal_alpha(x: PolychoricResult | pd.DataFrame | np.ndarray, items: Sequence[str] | None = None) -> float:
    """Ordinal coefficient α (Zumbo, Gadermann & Zeisser 2007): α of the polychoric matrix.

    α = p/(p − 1) · (1 − p / Σ_ij r_ij) for the p × p polychoric correlation matrix R
    (standardised α; raw and standardised α coincide for a correlation matrix). It
    estimates the reliability of the *latent response* sum, not of the observed sum score.

    Parameters
    ----------
    x : PolychoricResult, DataFrame or array
        A :func:`polychoric` result or a correlation matrix.
    items : list of str, optional
        Subset of items (e.g. one subscale). Reverse-keyed items should be reversed
        before :func:`polychoric` (negative correlations lower α).

    Validated against ``psych::alpha(R)$total$raw_alpha`` with R = ``lavCor`` 's matrix
    (``tests/reference/ordinal``). Note ``psych::alpha(psych::polychoric(x)$rho)`` differs
    slightly because psych's polychoric estimates differ from lavaan's.
    """
    R = _as_corr(x)
    if items is not None:
        missing_items = [i for i in items if i not in R.columns]
        if missing_items:
            raise DataError(f"item(s) {', '.join(map(str, missing_items))} are not in the correlation matrix.")
        R = R.loc[list(items), list(items)]
    p = R.shape[0]
    if p < 2:
        raise DataError("ordinal alpha needs at least 2 items.")
    Rv = R.to_numpy(dtype=float)
    if not np.all(np.isfinite(Rv)):
        bad = [str(c) for c, ok in zip(R.columns, np.isfinite(Rv).all(axis=0)) if not ok]
        raise DataError(f"the correlation matrix contains missing or infinite values (items {', '.join(bad[:12])}).")
    return float(p / (p - 1) * (1.0 - np.trace(Rv) / Rv.sum()))


def _threshold_map(thresholds) -> dict[str, np.ndarray]:
    if isinstance(thresholds, PolychoricResult):
        thresholds = thresholds.thresholds
    if isinstance(thresholds, pd.DataFrame):
        if not {"item", "value"} <= set(thresholds.columns):
            raise DataError("a thresholds table needs columns 'item' and 'value'.")
        return {str(k): g["value"].to_numpy(float) for k, g in thresholds.groupby("item", sort=False)}
    if isinstance(thresholds, pd.Series):  # lavaan labels "x1|t1"
        out: dict[str, list[float]] = {}
        for lab, v in thresholds.items():
            item = str(lab).split("|")[0]
            out.setdefault(item, []).append(float(v))
        return {k: np.asarray(v) for k, v in out.items()}
    return {str(k): np.asarray(v, dtype=float) for k, v in dict(thresholds).items()}


def categorical_omega(
    loadings: pd.DataFrame,
    thresholds,
    factor_cov: pd.DataFrame,
    sigma: pd.DataFrame,
    scales: pd.Series | None = None,
    *,
    drop_single: bool = True,
) -> pd.Series:
    """Categorical ω (Green & Yang 2009) per factor, as ``semTools::compRelSEM`` computes it.

    For the items j of factor f with thresholds τ_jc (scaled by the latent response
    scales s_j, lavaan's Δ; 1 in the default delta parametrisation), common-part matrix
    C = diag(s) λ_f φ_ff λ_fᵀ diag(s) and total correlation matrix Σ* (``sigma`` rescaled to
    a correlation matrix):

        ω = Σ_jj' Σ_cc' [Φ₂(τ_jc, τ_j'c'; C_jj') − Φ(τ_jc) Φ(τ_j'c')]
            / Σ_jj' Σ_cc' [Φ₂(τ_jc, τ_j'c'; Σ*_jj') − Φ(τ_jc) Φ(τ_j'c')]

    — the reliability of the observed sum score of ordinal items (semTools'
    ``ord.scale = TRUE``). On the diagonal Σ*_jj = 1 and Φ₂(a, b; 1) = Φ(min(a, b)).

    Parameters
    ----------
    loadings : DataFrame
        Items × factors (zeros where an item does not load).
    thresholds : DataFrame, Series or mapping
        Per item its thresholds: a :class:`PolychoricResult`'s ``thresholds`` table
        (``item``, ``value``), a Series labelled lavaan-style (``"x1|t1"``) or a dict.
    factor_cov : DataFrame
        Factor covariance matrix Φ (lavaan's ``psi``).
    sigma : DataFrame
        Items × items: the sample polychoric matrix (semTools' default ``obs.var = TRUE``)
        or the model-implied one (``obs.var = FALSE``).
    scales : Series, optional
        Latent response scales (lavaan ``delta``); default 1.
    drop_single : bool
        Skip factors with a single indicator (NaN), as semTools.

    Returns
    -------
    Series of ω, one per factor.

    Validated against ``semTools::compRelSEM`` (semTools 0.5-6) on a WLSMV CFA of
    Holzinger–Swineford cut into 3 categories, with lavaan's estimates stored in the
    fixture (``tests/reference/ordinal``).
    """
    th = _threshold_map(thresholds)
    L = loadings
    out = {}
    for f in L.columns:
        lam = L[f]
        items = [str(i) for i in lam.index[lam.to_numpy(dtype=float) != 0]]
        if not items or (drop_single and len(items) == 1):
            out[f] = np.nan
            continue
        miss = [i for i in items if i not in th]
        if miss:
            raise DataError(
                f"factor {f}: no thresholds for item(s) {', '.join(miss)}; categorical ω needs "
                "ordinal indicators only."
            )
        s = np.ones(len(items)) if scales is None else scales.loc[items].to_numpy(float)
        lv = lam.loc[items].to_numpy(float)
        C = np.outer(s * lv, s * lv) * float(factor_cov.loc[f, f])
        S = sigma.loc[items, items].to_numpy(float)
        d = np.sqrt(np.diag(S))
        S = S / np.outer(d, d)
        tt = np.concatenate([th[i] * s[k] for k, i in enumerate(items)])
        it = np.concatenate([np.full(th[i].size, k) for k, i in enumerate(items)])
        a, b = np.meshgrid(np.arange(tt.size), np.arange(tt.size), indexing="ij")
        ta, tb = tt[a], tt[b]
        base = _pnorm(ta) * _pnorm(tb)
        num = (bivariate_normal_cdf(ta, tb, C[it[a], it[b]]) - base).sum()
        den = (bivariate_normal_cdf(ta, tb, S[it[a], it[b]]) - base).sum()
        out[f] = float(num / den)
    return pd.Series(out, name="omega", dtype=float)


def categorical_omega_from_cfa(result, *, obs_var: bool = True, group: str | None = None) -> pd.Series:
    """Categorical ω per factor from a WLSMV CFA result, as ``semTools::compRelSEM(fit)``.

    Reads the loadings (``=~``), factor covariances, thresholds (``|``) and scaling
    factors (``~*~``) from ``result.estimates`` and passes them to
    :func:`categorical_omega` with the sample polychoric matrix (``obs_var=True``,
    semTools' default) or the model-implied one (``obs_var=False``).

    Parameters
    ----------
    result : CFAResult
        From a CFA with ``estimator="WLSMV"`` (ordinal items).
    obs_var : bool
        Denominator from the sample (True) or model-implied (False) correlations.
    group : str, optional
        Group label for a multi-group fit (required then).
    """
    if getattr(result, "estimator", None) != "WLSMV":
        raise DataError("categorical ω needs a CFA fitted to ordinal items (estimator='WLSMV').")
    est = result.estimates
    groups = list(getattr(result, "groups", ()) or [])
    if len(groups) > 1:
        if group is None:
            raise DataError(f"the CFA has groups {', '.join(map(str, groups))}; pass group=<label>.")
        est = est[est["group"].astype(str) == str(group)]

    def pick(tab):
        if isinstance(tab.index, pd.MultiIndex):
            return tab.xs(str(group) if group is not None else groups[0], level=0)
        return tab

    # the table's columns as arrays, each item's rows by one comparison (issue 16: a pandas mask per item and a
    # .loc write per loading were most of this function; the same values in the same order)
    op, lhs, rhs = (est[c].to_numpy() for c in ("op", "lhs", "rhs"))
    value = est["est"].to_numpy(float)
    is_lam = op == "=~"
    factors = list(dict.fromkeys(lhs[is_lam]))
    items = list(dict.fromkeys(rhs[is_lam]))
    fpos, ipos = {f: k for k, f in enumerate(factors)}, {i: k for k, i in enumerate(items)}
    Lv = np.zeros((len(items), len(factors)))
    for f, i, v in zip(lhs[is_lam], rhs[is_lam], value[is_lam]):
        Lv[ipos[i], fpos[f]] = v
    L = pd.DataFrame(Lv, index=items, columns=factors)
    is_th, is_sc = op == "|", op == "~*~"
    th_lhs, th_est, sc_lhs, sc_est = lhs[is_th], value[is_th], lhs[is_sc], value[is_sc]
    thresholds = {i: th_est[th_lhs == i] for i in items}
    first_scale = {}
    for i, v in zip(sc_lhs, sc_est):
        first_scale.setdefault(i, float(v))
    scales = pd.Series({i: first_scale.get(i, 1.0) for i in items})
    psi = pick(result.latent_cov)
    sigma = pick(result.sample_cov if obs_var else result.implied_cov)
    return categorical_omega(L, thresholds, psi, sigma, scales)
