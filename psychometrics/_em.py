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

    ``x`` must have at least one observed value in every row (NaN = missing). Patterns are in
    the order of ``np.unique(obs, axis=0)`` (lexicographic, missing before observed) and the rows
    of a pattern in data order; they are found by one integer sort of packed keys
    (:func:`_pattern_order`), not by ``np.unique(axis=0)``'s row sort (16 s at 10⁶ rows). The
    per-row features (1, y_o, y_o y_oᵀ) that :meth:`sums` multiplies by the weights are built
    on first use; :meth:`unit_sums` (unit weights) does not need them.
    """

    def __init__(self, x: np.ndarray):
        x = np.asarray(x, dtype=float)
        obs = ~np.isnan(x)
        self.n, self.p = x.shape
        order, bounds, pats = _pattern_order(obs)
        self.parts = []
        self._y = []
        for j, pat in enumerate(pats):
            rows = order[bounds[j]:bounds[j + 1]]
            o, m = np.flatnonzero(pat), np.flatnonzero(~pat)
            self._y.append(x[np.ix_(rows, o)])  # observed entries only: no NaN
            self.parts.append((rows, o, m, None))

    def _features(self, j: int) -> np.ndarray:
        rows, o, m, feat = self.parts[j]
        if feat is None:
            Y = self._y[j]
            k = len(o)
            feat = np.hstack([np.ones((len(rows), 1)), Y, (Y[:, :, None] * Y[:, None, :]).reshape(len(rows), k * k)])
            self.parts[j] = (rows, o, m, feat)
        return feat

    def sums(self, w: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per pattern (n_j (b,), s1 (b, k), S2 (b, k, k)) for weight rows ``w`` (b × n)."""
        out = []
        for j, (rows, o, _, _) in enumerate(self.parts):
            k = len(o)
            s = w[:, rows] @ self._features(j)
            out.append((s[:, 0], s[:, 1:1 + k], s[:, 1 + k:].reshape(-1, k, k)))
        return out

    def unit_sums(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """:meth:`sums` of one row of unit weights (the same sums in another summation order),
        from the pattern's rows directly: no n × (1 + k + k²) feature matrix."""
        return [(np.array([float(len(rows))]), Y.sum(axis=0)[None, :], (Y.T @ Y)[None, :, :])
                for (rows, _, _, _), Y in zip(self.parts, self._y)]


def _pattern_order(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows grouped by pattern: (row numbers, pattern bounds, patterns) in ``np.unique(obs, axis=0)`` order.

    Each row is packed into bits, first item = most significant (``np.packbits``, big-endian), so
    sorting the keys is the lexicographic row order; up to 64 items one ``uint64`` per row, beyond
    that the packed bytes (compared byte by byte, the same order). Rows within a pattern keep
    their data order (stable sort), as ``np.flatnonzero(inverse == j)`` gives them.
    """
    n, p = obs.shape
    packed = np.packbits(np.ascontiguousarray(obs, dtype=bool), axis=1)
    width = packed.shape[1]
    if width <= 8:
        padded = np.zeros((n, 8), dtype=np.uint8)
        padded[:, :width] = packed
        keys = padded.view(">u8").ravel().astype(np.uint64)
    else:
        keys = np.ascontiguousarray(packed).view(np.dtype((np.void, width))).ravel()
    _, first, inv, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    order = np.argsort(inv.ravel(), kind="stable")
    bounds = np.zeros(len(counts) + 1, dtype=np.intp)
    np.cumsum(counts, out=bounds[1:])
    return order, bounds, obs[first]


def em_weighted(ps: PatternSums, w: np.ndarray, mu0: np.ndarray, sigma0: np.ndarray, *, tol: float = 1e-9,
                max_iter: int = 1000, sums: list | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EM mean and ML covariance (divisor Σw) for each weight row of ``w`` (b × n).

    Starts every replicate at (``mu0``, ``sigma0``); stops a replicate when the largest change
    of its (μ, Σ) is below ``tol``. Returns (mu (b, p), sigma (b, p, p), converged (b,) bool).
    ``sums``: ``ps.sums(w)`` when the caller has them (e.g. :meth:`PatternSums.unit_sums`).
    """
    b, p = w.shape[0], ps.p
    sums = ps.sums(w) if sums is None else sums
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
