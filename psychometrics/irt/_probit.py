"""Normal-ogive graded response model (Samejima 1969, probit link), for ``calibrate(..., link="probit")``.

``P(X >= k | θ) = Φ(a θ + c_k)``, ``c_1 > … > c_{K-1}``, θ ~ N(0, 1). In lavaan's MML
metric (``std.lv = TRUE``: y* = λθ + e, Var(e) = 1, P(X ≥ k) = Φ(λθ − τ_k)) this is
a = λ and c_k = −τ_k, so b_k = τ_k / λ. Shapes as in :mod:`psychometrics.irt._models`.

Derivatives: with φ_k = φ(z_k) (φ_0 = φ_K = 0), ∂P_k/∂c_k = φ_k, ∂P_k/∂c_{k+1} = −φ_{k+1},
∂P_k/∂a = θ(φ_k − φ_{k+1}), ∂P_k/∂θ = a(φ_k − φ_{k+1}).

Validated against lavaan 0.6 ``estimator = "MML"`` (tests/reference/irt/lavaan_mml_*.json).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = ["probit_probs", "probit_probs_grad", "probit_information"]

_TINY = 1e-300
_SQRT2PI = np.sqrt(2.0 * np.pi)


def _z(a: np.ndarray, c: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return a[:, None, None] * theta[None, :, None] + c[:, None, :]


def _pad(v: np.ndarray, left: float, right: float) -> tuple[np.ndarray, np.ndarray]:
    jn, q, _ = v.shape
    lo = np.concatenate([np.full((jn, q, 1), left), v], axis=2)
    hi = np.concatenate([v, np.full((jn, q, 1), right)], axis=2)
    return lo, hi


def probit_probs(a: np.ndarray, c: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """P(X = k | θ) (J, Q, K): Φ(z_k) − Φ(z_{k+1}), computed as Φ(−z_{k+1}) − Φ(−z_k) in the
    upper tail so that no probability is lost to cancellation."""
    z = _z(a, c, theta)
    upper, lower = _pad(z, np.inf, -np.inf)  # z_k (z_0 = ∞) and z_{k+1} (z_K = −∞)
    left = ndtr(upper) - ndtr(lower)
    right = ndtr(-lower) - ndtr(-upper)
    p = np.where(lower > 0, right, left)
    return np.maximum(p, _TINY)


def _phi(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z**2) / _SQRT2PI


def probit_probs_grad(a: np.ndarray, c: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P (J, Q, K) and ∂P_k/∂ξ (J, Q, K, K) with ξ = (a, c_1..c_{K-1})."""
    k = c.shape[1] + 1
    p = probit_probs(a, c, theta)
    phi = _phi(_z(a, c, theta))
    phi_k, phi_k1 = _pad(phi, 0.0, 0.0)  # φ_0..φ_{K-1}, φ_1..φ_K
    jn, q, _ = phi.shape
    d = np.zeros((jn, q, k, k))
    d[..., 0] = theta[None, :, None] * (phi_k - phi_k1)
    for cat in range(k):
        if cat >= 1:
            d[:, :, cat, cat] += phi[:, :, cat - 1]
        if cat + 1 <= k - 1:
            d[:, :, cat, cat + 1] -= phi[:, :, cat]
    return p, d


def probit_information(a: np.ndarray, c: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """I_j(θ) = a² Σ_k (φ_k − φ_{k+1})² / P_k (J, Q)."""
    p = probit_probs(a, c, theta)
    phi_k, phi_k1 = _pad(_phi(_z(a, c, theta)), 0.0, 0.0)
    return a[:, None] ** 2 * ((phi_k - phi_k1) ** 2 / p).sum(axis=2)
