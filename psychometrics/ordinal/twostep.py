"""Step 2 of the two-step estimator (private): maximum-likelihood correlations of item pairs
with the thresholds fixed — polychoric (ordinal × ordinal) from the bivariate tables, and
polyserial (continuous × ordinal) from the rows — all pairs solved together.
"""

from __future__ import annotations

import numpy as np

from psychometrics.ordinal.bivariate import _EPS, _SQRT_EPS, _dnorm, _pair_grid, _pnorm

__all__ = ["polychoric_pairs", "pearson_from_tables", "polyserial_pairs"]


def _score_idx(freq, th1, th2, rho, idx):
    """Score and Hessian of Σ f log π(ρ) for the pairs ``idx`` (lavaan's ``lav_bvord_*``)."""
    PI, phi, gnorm = _pair_grid(th1[idx], th2[idx], rho[idx])
    f = freq[idx]
    good = PI > _SQRT_EPS  # lavaan: cells with π ≤ √ε are left out of the derivatives
    PIg = np.where(good, PI, 1.0)
    w = np.where(good, f / PIg, 0.0)
    g = (w * phi).sum(axis=(1, 2))
    H = (w * gnorm).sum(axis=(1, 2)) - np.where(good, f * phi * phi / (PIg * PIg), 0.0).sum(axis=(1, 2))
    return g, H


def polychoric_pairs(freq, th1, th2, start, lower=-0.999, upper=0.999, tol=1e-11, max_iter=200):
    """Maximise Σ f log π(ρ) for all pairs at once (safeguarded Newton on the score).

    The gradient and Hessian are lavaan's analytic ones (``lav_bvord_gradient_cache``,
    ``lav_bvord_hessian_cache``). A bracket [lo, hi] on the sign of the score keeps every
    step inside lavaan's bounds (±0.999); a Newton step leaving the bracket, or a
    non-negative curvature, is replaced by bisection. If the score does not change sign
    the maximum is at a bound, where nlminb stops too.

    Returns (rho, converged, at_bound).
    """
    # No sign test at the bounds: there the floored cells make ℓ flat, and nlminb, like
    # us, starts from the Pearson correlation of the codes and climbs to the interior maximum.
    P = freq.shape[0]
    lo = np.full(P, lower)
    hi = np.full(P, upper)
    rho = np.clip(np.asarray(start, float), lower + 1e-3, upper - 1e-3)
    done = np.zeros(P, bool)
    for _ in range(max_iter):
        idx = np.flatnonzero(~done)
        if idx.size == 0:
            break
        g, H = _score_idx(freq, th1, th2, rho, idx)
        r = rho[idx]
        pos = g > 0
        lo[idx] = np.where(pos, r, lo[idx])
        hi[idx] = np.where(pos, hi[idx], r)
        with np.errstate(divide="ignore", invalid="ignore"):
            # Steps capped at 0.1: a long first step from the Pearson start can land near a
            # bound, where floored cells make the score vanish with the wrong sign (seen
            # with thresholds from available cases under pairwise deletion).
            newton = r - np.clip(g / H, -0.1, 0.1)
        ok = (H < 0) & (newton >= lo[idx]) & (newton <= hi[idx]) & np.isfinite(newton)
        new = np.where(g == 0, r, np.where(ok, newton, (lo[idx] + hi[idx]) / 2.0))
        rho[idx] = new
        finished = (np.abs(new - r) < tol) | (hi[idx] - lo[idx] < tol) | (g == 0)
        done[idx[finished]] = True
    at_bound = (upper - rho < 1e-8) | (rho - lower < 1e-8)
    return rho, done, at_bound


def pearson_from_tables(freq):
    """Pearson correlation of the category codes from each padded table (nlminb's start)."""
    m = freq.shape[1]
    s1 = np.arange(m, dtype=float)[None, :, None]
    s2 = np.arange(m, dtype=float)[None, None, :]
    n = freq.sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        m1 = (freq * s1).sum(axis=(1, 2)) / n
        m2 = (freq * s2).sum(axis=(1, 2)) / n
        c = (freq * s1 * s2).sum(axis=(1, 2)) / n - m1 * m2
        v1 = (freq * s1 * s1).sum(axis=(1, 2)) / n - m1 * m1
        v2 = (freq * s2 * s2).sum(axis=(1, 2)) / n - m2 * m2
        r = c / np.sqrt(v1 * v2)
    return np.where(np.isfinite(r) & (np.abs(r) < 1), r, 0.0)


def polyserial_pairs(Z, sd, up, low, valid, lower=-0.995, upper=0.995, tol=1e-11, max_iter=200):
    """Two-step ML polyserial correlations for all (continuous, ordinal) pairs at once.

    Z: (N, P) standardised continuous scores (ML mean and SD); sd: (P,) the SDs;
    up/low: (N, P) upper and lower thresholds of each row's category (±100 at the open
    ends, as lavaan); valid: (N, P) rows observed on both. Likelihood as lavaan's
    ``lav_bvmix_lik_cache``: φ(z)/σ · [Φ((τ_c − ρz)/R) − Φ((τ_{c−1} − ρz)/R)], the
    conditional probability floored at ε and rows with likelihood < √ε left out.
    """
    dens = np.where(valid, _dnorm(Z) / sd, 0.0)

    def score(rho):
        r = rho[None, :]
        R = np.sqrt(1.0 - r * r)
        a1 = (up - r * Z) / R
        a2 = (low - r * Z) / R
        p = np.maximum(_pnorm(a1) - _pnorm(a2), _EPS)
        use = valid & (dens * p >= _SQRT_EPS)
        d1 = (r * up - Z) / R**3  # ∂a/∂ρ
        d2 = (r * low - Z) / R**3
        dd1 = up / R**3 + 3.0 * r * (r * up - Z) / R**5
        dd2 = low / R**3 + 3.0 * r * (r * low - Z) / R**5
        f1, f2 = _dnorm(a1), _dnorm(a2)
        num = f1 * d1 - f2 * d2
        g_i = num / p
        h_i = (f1 * (dd1 - a1 * d1 * d1) - f2 * (dd2 - a2 * d2 * d2)) / p - g_i * g_i
        g = np.where(use, g_i, 0.0).sum(axis=0)
        H = np.where(use, h_i, 0.0).sum(axis=0)
        return g, H

    P = Z.shape[1]
    lo = np.full(P, lower)
    hi = np.full(P, upper)
    rho = np.zeros(P)
    done = np.zeros(P, bool)
    for _ in range(max_iter):
        if done.all():
            break
        g, H = score(rho)
        act = ~done
        pos = g > 0
        lo = np.where(act & pos, rho, lo)
        hi = np.where(act & ~pos, rho, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = rho - g / H
        ok = (H < 0) & (newton >= lo) & (newton <= hi) & np.isfinite(newton)
        new = np.where(g == 0, rho, np.where(ok, newton, (lo + hi) / 2.0))
        finished = act & ((np.abs(new - rho) < tol) | (hi - lo < tol) | (g == 0))
        rho = np.where(act, new, rho)
        done |= finished
    at_bound = (upper - rho < 1e-8) | (rho - lower < 1e-8)
    return rho, done, at_bound

