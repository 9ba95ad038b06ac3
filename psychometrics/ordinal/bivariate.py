"""The standard bivariate normal: density, distribution function, and the cell probabilities
of bivariate tables cut at thresholds (with their derivatives in ρ).

Shared by the two-step estimator (:mod:`~psychometrics.ordinal.twostep`), its asymptotic
covariance (:mod:`~psychometrics.ordinal.nacov`) and categorical ω
(:mod:`~psychometrics.ordinal.reliability`).
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["bivariate_normal_cdf"]

_SQRT_EPS = float(np.sqrt(np.finfo(float).eps))  # lavaan's floor for cell probabilities
_EPS = float(np.finfo(float).eps)
_TWO_PI = 2.0 * np.pi
_BIG = 100.0  # lavaan codes the open ends of the outer categories as ±100
_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)


# ---------------------------------------------------------------- normal helpers
def _pnorm(x: np.ndarray) -> np.ndarray:
    return special.ndtr(x)


def _dnorm(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * np.square(x)) / np.sqrt(_TWO_PI)


def _dbinorm(u: np.ndarray, v: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Standard bivariate normal density φ₂(u, v; ρ)."""
    r2 = 1.0 - rho * rho
    return np.exp(-(u * u - 2.0 * rho * u * v + v * v) / (2.0 * r2)) / (_TWO_PI * np.sqrt(r2))


def bivariate_normal_cdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """P(X ≤ h, Y ≤ k) for standard bivariate normal (X, Y) with correlation ρ, elementwise.

    Genz's (2004) algorithm (the one behind R's ``pbivnorm``/``mvtnorm``) with a 20-point
    Gauss–Legendre rule throughout: for |ρ| < 0.925,
    Φ₂ = Φ(h)Φ(k) + (1/2π)∫₀^{asin ρ} exp(−(h² + k² − 2hk sin θ)/(2cos²θ)) dθ;
    for |ρ| ≥ 0.925 Genz's expansion around |ρ| = 1 (exact at ρ = ±1). Accurate to about
    1e-15; all arguments broadcast. Infinite limits are allowed.

    Reference: Genz, A. (2004). Numerical computation of rectangular bivariate and
    trivariate normal and t probabilities. *Statistics and Computing, 14*, 251–260.
    """
    h, k, rho = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float), np.asarray(rho, float))
    # Genz computes upper probabilities P(X > dh, Y > dk); lower = upper at (−h, −k).
    dh = np.clip(-h, -40.0, 40.0)  # Φ(±40) is 0/1 in double precision
    dk = np.clip(-k, -40.0, 40.0)
    r = rho
    out = np.empty(h.shape)
    low = np.abs(r) < 0.925
    if low.any():
        a, b, rr = dh[low], dk[low], r[low]
        hk = a * b
        hs = (a * a + b * b) / 2.0
        asr = np.arcsin(rr)
        sn = np.sin(asr[..., None] * (_GL_X + 1.0) / 2.0)
        terms = np.exp((sn * hk[..., None] - hs[..., None]) / (1.0 - sn * sn))
        out[low] = (terms @ _GL_W) * asr / (2.0 * _TWO_PI) + _pnorm(-a) * _pnorm(-b)
    high = ~low
    if high.any():
        a, b, rr = dh[high], dk[high], r[high]
        b = np.where(rr < 0, -b, b)
        hk = a * b
        bvn = np.zeros(a.shape)
        inner = np.abs(rr) < 1.0
        if inner.any():
            ai, bi, hki = a[inner], b[inner], hk[inner]
            r_i = rr[inner]
            as_ = (1.0 - r_i) * (1.0 + r_i)
            aa = np.sqrt(as_)
            bs = (ai - bi) ** 2
            c = (4.0 - hki) / 8.0
            d = (12.0 - hki) / 16.0
            val = aa * np.exp(-(bs / as_ + hki) / 2.0) * (
                1.0 - c * (bs - as_) * (1.0 - d * bs / 5.0) / 3.0 + c * d * as_ * as_ / 5.0
            )
            bb = np.sqrt(bs)
            corr = np.exp(-hki / 2.0) * np.sqrt(_TWO_PI) * _pnorm(-bb / aa) * bb * (
                1.0 - c * bs * (1.0 - d * bs / 5.0) / 3.0
            )
            val = val - np.where(hki > -160.0, corr, 0.0)
            half = aa / 2.0
            xs = (half[..., None] * (_GL_X + 1.0)) ** 2
            rs = np.sqrt(1.0 - xs)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                f = np.exp(-(bs[..., None] / xs + hki[..., None]) / 2.0) * (
                    np.exp(-hki[..., None] * (1.0 - rs) / (2.0 * (1.0 + rs))) / rs
                    - (1.0 + c[..., None] * xs * (1.0 + d[..., None] * xs))
                )
            f = np.where(np.isfinite(f), f, 0.0)
            val = val + half * (f @ _GL_W)
            bvn[inner] = -val / _TWO_PI
        pos = rr > 0
        bvn = np.where(pos, bvn + _pnorm(-np.maximum(a, b)), -bvn + np.maximum(0.0, _pnorm(-a) - _pnorm(-b)))
        out[high] = bvn
    return np.clip(out, 0.0, 1.0)



def _pair_grid(th1: np.ndarray, th2: np.ndarray, rho: np.ndarray):
    """Cell probabilities PI and ∂PI/∂ρ (phi) and ∂²PI/∂ρ² (gnorm) for stacked pairs.

    th1, th2: (P, m1), (P, m2) padded thresholds (padding = +_BIG: empty extra categories).
    Returns arrays (P, m1+1, m2+1).
    """
    P, m1 = th1.shape
    m2 = th2.shape[1]
    r = rho[:, None, None]
    u = th1[:, :, None]
    v = th2[:, None, :]
    bi = bivariate_normal_cdf(u, v, r)
    dens = _dbinorm(u, v, r)
    r2 = 1.0 - r * r
    guv = (u * v * r2 - r * (u * u - 2.0 * r * u * v + v * v) + r * r2) / (r2 * r2)
    gn = dens * guv

    def cells(inner, edge_row, edge_col, corner):
        full = np.zeros((P, m1 + 2, m2 + 2))
        full[:, 1:-1, 1:-1] = inner
        full[:, -1, 1:-1] = edge_row
        full[:, 1:-1, -1] = edge_col
        full[:, -1, -1] = corner
        return full[:, 1:, 1:] - full[:, 1:, :-1] - full[:, :-1, 1:] + full[:, :-1, :-1]

    zero_r = np.zeros((P, m2))
    zero_c = np.zeros((P, m1))
    PI = cells(bi, _pnorm(th2), _pnorm(th1), 1.0)
    phi = cells(dens, zero_r, zero_c, 0.0)
    gnorm = cells(gn, zero_r, zero_c, 0.0)
    return PI, phi, gnorm

