r"""Fit indices of ML structural equation models, defined exactly as lavaan 0.6 defines them.

All functions are pure: they take numbers or moment matrices and return floats.
``N`` is the total sample size (lavaan uses N, not N − 1, for ML with
``likelihood = "normal"``), ``G`` the number of groups.

Validated against ``lavaan::fitMeasures`` (fixtures ``tests/reference/cfa/*.json``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import special

__all__ = [
    "chisq_pvalue", "baseline_chisq", "cfi", "tli", "rmsea", "rmsea_ci", "rmsea_pvalue",
    "srmr_bentler", "loglik", "information_criteria",
]


def chisq_pvalue(chisq: float, df: int) -> float:
    """Upper-tail p value of the χ² test (NaN when df = 0, as lavaan)."""
    if df <= 0:
        return math.nan
    return float(special.chdtrc(df, chisq))


def baseline_chisq(covs: Sequence[np.ndarray], nobs: Sequence[int]) -> tuple[float, int]:
    r"""χ² and df of lavaan's baseline (independence) model.

    Per group, free variances (and means) and zero covariances; its ML fit is the
    sample diagonal, so :math:`\chi^2_0 = \sum_g n_g(\sum_i\log s_{ii} - \log|S_g|)`
    with :math:`\sum_g p(p-1)/2` degrees of freedom.
    """
    chisq = 0.0
    df = 0
    for S, n in zip(covs, nobs):
        sign, logdet = np.linalg.slogdet(S)
        chisq += n * (np.log(np.diag(S)).sum() - logdet)
        p = S.shape[0]
        df += p * (p - 1) // 2
    return float(chisq), int(df)


def cfi(chisq: float, df: float, chisq_null: float, df_null: float) -> float:
    r"""Comparative fit index (Bentler, 1990): :math:`1 - \max(\chi^2-df,0)/\max(\chi^2-df,\chi^2_0-df_0,0)`."""
    t1 = max(chisq - df, 0.0)
    t2 = max(chisq - df, chisq_null - df_null, 0.0)
    if math.isclose(t1, 0.0, abs_tol=1.5e-8) and math.isclose(t2, 0.0, abs_tol=1.5e-8):
        return 1.0
    return 1.0 - t1 / t2


def tli(chisq: float, df: float, chisq_null: float, df_null: float) -> float:
    r"""Tucker–Lewis index / NNFI: :math:`1 - \frac{(\chi^2-df)\,df_0}{(\chi^2_0-df_0)\,df}`."""
    t1 = (chisq - df) * df_null
    t2 = (chisq_null - df_null) * df
    if df > 0 and abs(t2) > 0:
        return 1.0 - t1 / t2
    return 1.0


def rmsea(chisq: float, df: float, N: int, G: int = 1) -> float:
    r"""RMSEA (Steiger, 1990) as lavaan: :math:`\sqrt{\max(\chi^2/(N\,df) - 1/N, 0)}\cdot\sqrt G`; 0 when df = 0."""
    if df <= 0:
        return 0.0
    return math.sqrt(max(chisq / N / df - 1.0 / N, 0.0)) * math.sqrt(G)


def _ncx2_cdf(x: float, df: float, ncp: float) -> float:
    # scipy.special.chndtr is the non-central χ² CDF (cdflib), valid at ncp = 0 too
    return float(special.chndtr(x, df, max(ncp, 0.0)))


def _ncp_for(x: float, df: float, prob: float, upper: float) -> float:
    """Non-centrality λ in [0, upper] with P(χ²_df(λ) ≤ x) = prob (NaN when outside)."""
    lam = float(special.chndtrinc(x, df, prob))
    if not math.isfinite(lam) or lam < 0 or lam > upper:
        return math.nan
    return lam


def rmsea_ci(chisq: float, df: float, N: int, G: int = 1, level: float = 0.90) -> tuple[float, float]:
    r"""Confidence interval of the RMSEA (lavaan's ``lav_fit_rmsea_ci``).

    The bounds solve :math:`P(\chi^2_{df}(\lambda) \le \chi^2) = 1-\alpha/2` (lower)
    and :math:`=\alpha/2` (upper) for the non-centrality λ, then
    :math:`\sqrt{\lambda/(N\,df)}\cdot\sqrt G`. λ comes from the inverse of the non-central χ² CDF
    (``scipy.special.chndtrinc``), to machine precision (lavaan's ``uniroot`` stops at
    ≈1e-4 in λ, which moves the bounds by < 1e-6).
    """
    if not (math.isfinite(chisq) and df >= 1):
        return (0.0, 0.0) if math.isfinite(chisq) else (math.nan, math.nan)
    upper_p = 1 - (1 - level) / 2
    lower_p = (1 - level) / 2

    def lower_fn(lam: float) -> float:
        return _ncx2_cdf(chisq, df, lam) - upper_p

    def upper_fn(lam: float) -> float:
        return _ncx2_cdf(chisq, df, lam) - lower_p

    if lower_fn(0.0) < 0:
        lo = 0.0
    else:
        lam = _ncp_for(chisq, df, upper_p, chisq)  # lavaan: uniroot on [0, X2], NA if no root there
        lo = math.sqrt(lam / (N * df)) * math.sqrt(G)
    n_rmsea = max(N, chisq * 4)
    if upper_fn(n_rmsea) > 0 or upper_fn(0.0) < 0:
        hi = 0.0
    else:
        lam = _ncp_for(chisq, df, lower_p, n_rmsea)
        hi = math.sqrt(lam / (N * df)) * math.sqrt(G)
    return lo, hi


def rmsea_pvalue(chisq: float, df: float, N: int, G: int = 1, h0: float = 0.05) -> float:
    r"""p value of the test of close fit, H0: RMSEA ≤ ``h0`` (lavaan's ``rmsea.pvalue``).

    :math:`1 - F_{\chi^2_{df}(\lambda_0)}(\chi^2)` with :math:`\lambda_0 = N\,df\,h_0^2/G`.
    """
    if df <= 0:
        return math.nan
    ncp = N * df * h0 ** 2 / G
    return 1.0 - _ncx2_cdf(chisq, df, ncp)


def srmr_bentler(
    sample_cov: Sequence[np.ndarray],
    sample_mean: Sequence[np.ndarray],
    implied_cov: Sequence[np.ndarray],
    implied_mean: Sequence[np.ndarray],
    nobs: Sequence[int],
    meanstructure: bool,
) -> float:
    r"""Standardized root mean square residual, lavaan's ``srmr`` (= ``srmr_bentler``).

    Per group, residuals of covariances and means are scaled by the *observed*
    standard deviations, :math:`(s_{ij}-\hat\sigma_{ij})/\sqrt{s_{ii}s_{jj}}` and
    :math:`(\bar x_i-\hat\mu_i)/\sqrt{s_{ii}}`; SRMR is the root mean square over the
    :math:`p(p+1)/2` covariance elements (plus the p means with a mean structure);
    groups are averaged with weights :math:`n_g/N`. (lavaan leaves elements whose
    absolute value is below 1e-5 unscaled; this affects no realistic data.)
    """
    N = float(sum(nobs))
    total = 0.0
    for S, m, Sig, mu, n in zip(sample_cov, sample_mean, implied_cov, implied_mean, nobs):
        sd = np.sqrt(np.diag(S))
        R = (S - Sig) / np.outer(sd, sd)
        iu = np.triu_indices(S.shape[0])
        stats_ = R[iu]
        if meanstructure:
            stats_ = np.concatenate([(m - mu) / sd, stats_])
        total += n / N * math.sqrt(float(np.sum(stats_ ** 2)) / stats_.size)
    return total


def loglik(
    covs: Sequence[np.ndarray],
    means: Sequence[np.ndarray],
    implied_cov: Sequence[np.ndarray],
    implied_mean: Sequence[np.ndarray],
    nobs: Sequence[int],
) -> float:
    r"""Normal-theory log-likelihood :math:`-\tfrac12\sum_g n_g[p\log 2\pi + \log|\Sigma_g| + \operatorname{tr}(S_g\Sigma_g^{-1}) + (\bar x_g-\mu_g)^\top\Sigma_g^{-1}(\bar x_g-\mu_g)]`.

    With ``implied = sample`` it is lavaan's ``unrestricted.logl``.
    """
    total = 0.0
    for S, m, Sig, mu, n in zip(covs, means, implied_cov, implied_mean, nobs):
        p = S.shape[0]
        sign, logdet = np.linalg.slogdet(Sig)
        Sinv = np.linalg.inv(Sig)
        d = m - mu
        total += -0.5 * n * (p * math.log(2 * math.pi) + logdet + np.sum(S * Sinv) + d @ Sinv @ d)
    return float(total)


def information_criteria(logl: float, npar: int, N: int) -> dict[str, float]:
    r"""AIC :math:`=-2\ell+2k`, BIC :math:`=-2\ell+k\log N`, sample-size adjusted BIC
    :math:`=-2\ell+k\log((N+2)/24)` (Sclove, 1987), as lavaan's ``aic``, ``bic``, ``bic2``."""
    return {
        "aic": -2 * logl + 2 * npar,
        "bic": -2 * logl + npar * math.log(N),
        "bic2": -2 * logl + npar * math.log((N + 2) / 24),
    }
