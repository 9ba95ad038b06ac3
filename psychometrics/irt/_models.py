"""Item response functions of the graded response and generalized partial credit models.

All functions are vectorised over items of one category count ``K`` and over the
quadrature nodes: ``a`` has shape ``(J,)``, ``c`` shape ``(J, K-1)``, ``theta`` shape
``(Q,)``; probabilities come back as ``(J, Q, K)``. The parameter vector of an item is
``(a, c_1, ..., c_{K-1})`` in the slope–intercept form (logistic metric, D = 1):

* GRM (Samejima 1969): ``P(X >= k | θ) = σ(a θ + c_k)``, ``c_1 > … > c_{K-1}``;
  thresholds ``b_k = -c_k / a``.
* GPCM (Muraki 1992): ``P(X = k | θ) ∝ exp(k a θ + Σ_{v<=k} c_v)``; step difficulties
  ``d_v = -c_v / a``. The 2PL is the ``K = 2`` case of both.

Derivatives follow tests/reference/irt/NOTES.md §1.
"""

from __future__ import annotations
from psychometrics._text import quote

import numpy as np

from psychometrics.irt._probit import probit_information, probit_probs, probit_probs_grad

__all__ = ["category_probs", "category_probs_grad", "item_information", "MODELS", "intercepts_to_u",
           "intercepts_from_u", "intercepts_grad_u"]

MODELS = ("grm", "gpcm", "grm_probit")
_TINY = 1e-300


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _grm_probs(a: np.ndarray, c: np.ndarray, theta: np.ndarray) -> np.ndarray:
    # P_k = σ(z_k) − σ(z_{k+1}) = σ(z_k) σ(−z_{k+1}) (1 − exp(z_{k+1} − z_k)), exact without
    # cancellation where both cumulative probabilities are near 0 or 1 (z_0 = ∞, z_K = −∞).
    z = a[:, None, None] * theta[None, :, None] + c[:, None, :]
    jn, q, _ = z.shape
    inf = np.full((jn, q, 1), np.inf)
    upper = np.concatenate([inf, z], axis=2)
    lower = np.concatenate([z, -inf], axis=2)
    with np.errstate(invalid="ignore"):
        gap = -np.expm1(lower - upper)
    gap = np.where(np.isnan(gap), 1.0, gap)
    p = _sigmoid(upper) * _sigmoid(-lower) * gap
    return np.maximum(p, _TINY)


def _grm_parts(a: np.ndarray, c: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_grm_probs` (J, Q, K), the cumulative σ(z_m) = P(X ≥ m) and ψ_m = σ(z_m) σ(−z_m), m = 1..K−1
    (J, Q, K−1), from one set of logits and one tanh per logit — bit for bit the values of ``_sigmoid`` of each
    (σ(z) = (1 + t)/2, σ(−z) = (1 − t)/2 with t = tanh(z/2): tanh is odd exactly, and σ(±∞) = 1 multiplies
    as the exact 1 it is; ``tests/test_irt.py``). For the gradients' many small calls (multi-group Newton,
    the information): a third of the transcendental work."""
    z = a[:, None, None] * theta[None, :, None] + c[:, None, :]
    jn, q, _ = z.shape
    t = np.tanh(0.5 * z)
    s, s_neg = 0.5 * (1.0 + t), 0.5 * (1.0 - t)  # σ(z), σ(−z)
    one = np.ones((jn, q, 1))
    with np.errstate(invalid="ignore"):  # (as _grm_probs: ∞ − ∞ where two intercepts are infinite)
        gap = -np.expm1(np.concatenate([z, np.full((jn, q, 1), -np.inf)], axis=2)
                        - np.concatenate([np.full((jn, q, 1), np.inf), z], axis=2))
    gap = np.where(np.isnan(gap), 1.0, gap)
    p = np.concatenate([one, s], axis=2) * np.concatenate([s_neg, one], axis=2) * gap
    return np.maximum(p, _TINY), s, s * s_neg


def _gpcm_logits(a: np.ndarray, c: np.ndarray, theta: np.ndarray) -> np.ndarray:
    k = c.shape[1] + 1
    cum = np.concatenate([np.zeros((c.shape[0], 1)), np.cumsum(c, axis=1)], axis=1)  # (J, K)
    return np.arange(k)[None, None, :] * a[:, None, None] * theta[None, :, None] + cum[:, None, :]


def _gpcm_probs(a: np.ndarray, c: np.ndarray, theta: np.ndarray) -> np.ndarray:
    z = _gpcm_logits(a, c, theta)
    z = z - z.max(axis=2, keepdims=True)
    e = np.exp(z)
    return np.maximum(e / e.sum(axis=2, keepdims=True), _TINY)


def category_probs(model: str, a: np.ndarray, c: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """P(X_j = k | θ_q), shape (J, Q, K)."""
    if model == "grm":
        return _grm_probs(a, c, theta)
    if model == "gpcm":
        return _gpcm_probs(a, c, theta)
    if model == "grm_probit":  # normal ogive (irt/_probit.py)
        return probit_probs(a, c, theta)
    raise ValueError(f"unknown IRT model {quote(model)}")


def category_probs_grad(model: str, a: np.ndarray, c: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P (J, Q, K) and ∂P_k/∂ξ (J, Q, K, K) with ξ = (a, c_1..c_{K-1})."""
    k = c.shape[1] + 1
    if model == "grm":
        p, _, psi = _grm_parts(a, c, theta)
        jn, q, _ = psi.shape
        zero = np.zeros((jn, q, 1))
        psi_k = np.concatenate([zero, psi], axis=2)  # ψ_0..ψ_{K-1}
        psi_k1 = np.concatenate([psi, zero], axis=2)  # ψ_1..ψ_K
        d = np.zeros((jn, q, k, k))
        d[..., 0] = theta[None, :, None] * (psi_k - psi_k1)
        for cat in range(k):
            if cat >= 1:
                d[:, :, cat, cat] += psi[:, :, cat - 1]
            if cat + 1 <= k - 1:
                d[:, :, cat, cat + 1] -= psi[:, :, cat]
        return p, d
    if model == "gpcm":
        p = _gpcm_probs(a, c, theta)
        cats = np.arange(k, dtype=float)
        ex = (p * cats).sum(axis=2, keepdims=True)
        dlog = np.empty(p.shape + (k,))
        dlog[..., 0] = theta[None, :, None] * (cats[None, None, :] - ex)
        # P(X >= v), v = 1..K-1
        tail = np.cumsum(p[:, :, ::-1], axis=2)[:, :, ::-1][:, :, 1:]
        ind = (cats[:, None] >= cats[None, 1:]).astype(float)  # (K, K-1): 1[k >= v]
        dlog[..., 1:] = ind[None, None, :, :] - tail[:, :, None, :]
        return p, p[..., None] * dlog
    if model == "grm_probit":
        return probit_probs_grad(a, c, theta)
    raise ValueError(f"unknown IRT model {quote(model)}")


def item_information(model: str, a: np.ndarray, c: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Fisher information I_j(θ) = Σ_k (∂P_jk/∂θ)² / P_jk, shape (J, Q)."""
    if model == "grm":
        p, _, psi = _grm_parts(a, c, theta)
        jn, q, _ = psi.shape
        zero = np.zeros((jn, q, 1))
        dp = np.concatenate([zero, psi], axis=2) - np.concatenate([psi, zero], axis=2)
        return a[:, None] ** 2 * (dp**2 / p).sum(axis=2)
    if model == "grm_probit":
        return probit_information(a, c, theta)
    p = category_probs(model, a, c, theta)
    cats = np.arange(p.shape[2], dtype=float)
    mean = (p * cats).sum(axis=2)
    var = (p * cats**2).sum(axis=2) - mean**2
    return a[:, None] ** 2 * var


# The GRM's ordered intercepts c_1 > … > c_m as unconstrained u (for BFGS): u_1 = c_1,
# u_v = log(c_{v-1} − c_v) for v ≥ 2. ``blocks`` holds (index of c_1 in the parameter vector, m)
# per item (or per item × group block); other entries pass through unchanged.

def intercepts_to_u(x: np.ndarray, blocks: list[tuple[int, int]]) -> np.ndarray:
    """Parameters → unconstrained u (ordered intercepts by log decrements)."""
    u = x.copy()
    for f, m in blocks:
        if m > 1:
            u[f + 1: f + m] = np.log(-np.diff(x[f: f + m]))
    return u


def intercepts_from_u(u: np.ndarray, blocks: list[tuple[int, int]]) -> np.ndarray:
    """Unconstrained u → parameters (the inverse of :func:`intercepts_to_u`)."""
    x = u.copy()
    for f, m in blocks:
        if m > 1:
            x[f + 1: f + m] = u[f] - np.cumsum(np.exp(u[f + 1: f + m]))
    return x


def intercepts_grad_u(u: np.ndarray, gx: np.ndarray, blocks: list[tuple[int, int]]) -> np.ndarray:
    """The gradient in u from the gradient in the parameters (chain rule through :func:`intercepts_from_u`)."""
    gu = gx.copy()
    for f, m in blocks:
        if m > 1:
            tail = np.cumsum(gx[f: f + m][::-1])[::-1]  # Σ_{w ≥ v} ∂ℓ/∂c_w
            gu[f] = tail[0]
            gu[f + 1: f + m] = -np.exp(u[f + 1: f + m]) * tail[1:]
    return gu
