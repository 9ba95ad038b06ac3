r"""Batched EM for the saturated normal model with case weights (private; the bootstrap of
coefficients computed from the EM covariance matrix, ``missing="fiml"``).

One replicate of a row bootstrap is the sample reweighted by the resampling counts w (how
often each row was drawn); a jackknife replicate has one weight 0. The EM of
:func:`psychometrics.data.missing.em_normal` only needs, per missing-data pattern j, the
weighted sufficient statistics of the observed part, n_j = Σ w_i, s1_j = Σ w_i y_o and
S2_j = Σ w_i y_o y_oᵀ — for a chunk of replicates these are one matrix product per pattern
(``W[:, rows_j] @ F_j``). The E- and M-steps are then run for all replicates of the chunk at
once (stacked solves), from a warm start (the full-sample EM estimate).

E-step per pattern (missing m, observed o): B = Σ_mo Σ_oo⁻¹, a = μ_m − B μ_o; the sums of the
filled-in rows are T1_m += n_j a + B s1, T2_mo += a s1ᵀ + B S2, T2_mm += n_j a aᵀ + a (B s1)ᵀ +
(B s1) aᵀ + B S2 Bᵀ + n_j (Σ_mm − B Σ_om); M-step μ = T1/n, Σ = T2/n − μμᵀ (Dempster, Laird &
Rubin, 1977; Little & Rubin, 2002, §11.2). With unit weights it is the same iteration as
``em_normal`` (checked in tests/test_reliability_fiml.py).
"""

from __future__ import annotations

import numpy as np

__all__ = ["PatternSums", "em_weighted"]


class PatternSums:
    """Rows grouped by missing-data pattern, with the per-row features of each pattern.

    ``x`` must have at least one observed value in every row (NaN = missing).
    """

    def __init__(self, x: np.ndarray):
        x = np.asarray(x, dtype=float)
        obs = ~np.isnan(x)
        self.n, self.p = x.shape
        pats, inv = np.unique(obs, axis=0, return_inverse=True)
        inv = inv.ravel()
        self.parts = []
        xc = np.where(obs, x, 0.0)
        for j, pat in enumerate(pats):
            rows = np.flatnonzero(inv == j)
            o, m = np.flatnonzero(pat), np.flatnonzero(~pat)
            Y = xc[np.ix_(rows, o)]
            k = len(o)
            feat = np.hstack([np.ones((len(rows), 1)), Y, (Y[:, :, None] * Y[:, None, :]).reshape(len(rows), k * k)])
            self.parts.append((rows, o, m, feat))

    def sums(self, w: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per pattern (n_j (b,), s1 (b, k), S2 (b, k, k)) for weight rows ``w`` (b × n)."""
        out = []
        for rows, o, _, feat in self.parts:
            k = len(o)
            s = w[:, rows] @ feat
            out.append((s[:, 0], s[:, 1:1 + k], s[:, 1 + k:].reshape(-1, k, k)))
        return out


def em_weighted(ps: PatternSums, w: np.ndarray, mu0: np.ndarray, sigma0: np.ndarray, *, tol: float = 1e-9,
                max_iter: int = 1000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EM mean and ML covariance (divisor Σw) for each weight row of ``w`` (b × n).

    Starts every replicate at (``mu0``, ``sigma0``); stops a replicate when the largest change
    of its (μ, Σ) is below ``tol``. Returns (mu (b, p), sigma (b, p, p), converged (b,) bool).
    """
    b, p = w.shape[0], ps.p
    sums = ps.sums(w)
    ntot = w.sum(axis=1)
    mu = np.repeat(mu0[None, :], b, axis=0)
    sigma = np.repeat(sigma0[None, :, :], b, axis=0)
    # the observed parts' sums do not change between iterations
    T1_obs = np.zeros((b, p))
    T2_obs = np.zeros((b, p, p))
    for (rows, o, m, _), (nj, s1, S2) in zip(ps.parts, sums):
        T1_obs[:, o] += s1
        T2_obs[:, o[:, None], o[None, :]] += S2
    incomplete = [(part, sm) for part, sm in zip(ps.parts, sums) if part[2].size]
    active = np.ones(b, dtype=bool)
    for _ in range(max_iter):
        a_idx = np.flatnonzero(active)
        if not a_idx.size:
            break
        mu_a, sig_a = mu[a_idx], sigma[a_idx]
        T1 = T1_obs[a_idx]
        T2 = T2_obs[a_idx]
        for (rows, o, m, _), (nj, s1, S2) in incomplete:
            nj, s1, S2 = nj[a_idx], s1[a_idx], S2[a_idx]
            Soo = sig_a[:, o[:, None], o[None, :]]
            Som = sig_a[:, o[:, None], m[None, :]]
            B = np.swapaxes(np.linalg.solve(Soo, Som), 1, 2)  # (b, |m|, |o|)
            a = mu_a[:, m] - np.einsum("bmo,bo->bm", B, mu_a[:, o])
            Bs1 = np.einsum("bmo,bo->bm", B, s1)
            T1[:, m] += nj[:, None] * a + Bs1
            cross = a[:, :, None] * s1[:, None, :] + B @ S2  # Σ ŷ_m y_oᵀ
            T2[:, m[:, None], o[None, :]] += cross
            T2[:, o[:, None], m[None, :]] += np.swapaxes(cross, 1, 2)
            cond = sig_a[:, m[:, None], m[None, :]] - B @ Som
            T2[:, m[:, None], m[None, :]] += (nj[:, None, None] * (a[:, :, None] * a[:, None, :] + cond)
                                              + a[:, :, None] * Bs1[:, None, :] + Bs1[:, :, None] * a[:, None, :]
                                              + B @ S2 @ np.swapaxes(B, 1, 2))
        n = ntot[a_idx]
        mu_new = T1 / n[:, None]
        sig_new = T2 / n[:, None, None] - mu_new[:, :, None] * mu_new[:, None, :]
        change = np.maximum(np.abs(mu_new - mu_a).max(axis=1), np.abs(sig_new - sig_a).max(axis=(1, 2)))
        mu[a_idx], sigma[a_idx] = mu_new, sig_new
        active[a_idx[change < tol]] = False
    return mu, sigma, ~active
