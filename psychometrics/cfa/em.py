r"""The saturated (H1) model under FIML: ML means and covariance of incomplete normal data by EM.

As lavaan (``lav_mvnorm_missing_h1_estimate_moments``): start at the available-case means
and a diagonal of available-case ML variances; E-step per pattern with
:math:`K_j = \Sigma A_j` (:math:`A_j = \Sigma_{oo}^{-1}` zero-padded), filled-in mean
:math:`\hat y = \mu + K_je_j`, conditional covariance :math:`C_j = \Sigma - K_j\Sigma`;

.. math::

    T_1 = \sum_j n_j\hat y_j,\qquad T_2 = \sum_j n_j\big[\hat y_j\hat y_j^\top + K_jS_jK_j^\top + C_j\big],
    \qquad \mu = T_1/N,\quad \Sigma = T_2/N - \mu\mu^\top .

Stops when the largest change in (μ, vech Σ) is below ``tol`` (lavaan's ``em.h1.tol``,
1e-5) or after ``max_iter`` (``em.h1.iter.max``, 500).

Reference: Dempster, Laird & Rubin (1977), *JRSS B* 39, 1–38; Little & Rubin (2002),
*Statistical Analysis with Missing Data*, ch. 11. Validated against lavaan 0.6-14
``lavInspect(fit, "h1")`` (``tests/reference/missing/``).
"""

from __future__ import annotations

import numpy as np

from psychometrics.cfa.fiml import padded_inverse
from psychometrics.cfa.missing_moments import PatternBatch

__all__ = ["em_moments"]


def em_moments(b: PatternBatch, *, tol: float = 1e-5, max_iter: int = 500) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """EM estimates (μ, Σ) of one group; returns ``mu, Sigma, iterations, converged``."""
    rows = b.rows
    mu = np.nanmean(rows, axis=0)
    Sigma = np.diag(np.nanvar(rows, axis=0))
    p = b.p
    idx = np.arange(p)
    nw = b.n[:, None, None]
    if b.J == 1 and b.mask.all():  # complete data: the sample moments
        return b.ybar[0].copy(), b.S[0].copy(), 0, True
    for it in range(1, max_iter + 1):
        pi = padded_inverse(b, Sigma)
        if pi is None:
            return mu, Sigma, it, False
        A = pi[0]
        K = Sigma[None, :, :] @ A
        e = (b.ybar - mu[None, :]) * b.mask
        yhat = mu[None, :] + (K @ e[:, :, None])[:, :, 0]
        C = Sigma[None, :, :] - K @ Sigma[None, :, :]
        KSK = K @ b.S @ np.swapaxes(K, 1, 2)
        T1 = (b.n[:, None] * yhat).sum(axis=0)
        T2 = (nw * (yhat[:, :, None] * yhat[:, None, :] + KSK + C)).sum(axis=0)
        mu_new = T1 / b.N
        Sig_new = T2 / b.N - np.outer(mu_new, mu_new)
        Sig_new = 0.5 * (Sig_new + Sig_new.T)
        if np.linalg.eigvalsh(Sig_new)[0] < 1e-6:
            Sig_new[idx, idx] += np.diag(Sig_new).max() * 1e-8
        delta = max(np.abs(mu_new - mu).max(), np.abs(np.tril(Sig_new - Sigma)).max())
        mu, Sigma = mu_new, Sig_new
        if delta < tol:
            return mu, Sigma, it, True
    return mu, Sigma, max_iter, False
