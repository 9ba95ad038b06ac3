r"""The FIML (``missing = "ml"``) normal log-likelihood by missing-data pattern, vectorised.

For group *g* with patterns *j* (``n_j`` rows observing items ``o_j``, mean ``ȳ_j``, ML
covariance ``S_j``):

.. math::

    \ell_g(\mu,\Sigma) = \sum_j -\tfrac{n_j}2\big[p_j\log 2\pi + \log|\Sigma_{oo}|
        + \operatorname{tr}\big(\Sigma_{oo}^{-1}W_j\big)\big],\qquad
    W_j = S_j + (\bar y_j-\mu_o)(\bar y_j-\mu_o)^\top .

With :math:`A_j = \Sigma_{oo}^{-1}` (zero-padded to p × p) and :math:`e_j = \bar y_j-\mu_o`:
:math:`\partial\ell/\partial\mu = \sum_j n_jA_je_j`,
:math:`\partial\ell/\partial\Sigma = -\tfrac12\sum_j n_j(A_j - A_jW_jA_j)` (full-matrix
derivative), and the negative Hessian, as a bilinear form in symmetric perturbations
:math:`X, Y` of Σ and :math:`a, b` of μ,

.. math::

    -\partial^2\ell = \sum_j n_j\Big[\tfrac12\big(-\operatorname{tr}(AXAY) + \operatorname{tr}(AXAYR)
        + \operatorname{tr}(AYAXR)\big)\cdot\tfrac{}{}  + a^\top A b + a^\top AYAe + b^\top AXAe\Big],

with :math:`R_j = A_jW_jA_j` (the trace terms written with :math:`R` in place of
:math:`AW`). All patterns are evaluated at once: Σ_oo is padded with the identity on the
missing items, so one batched Cholesky gives every :math:`A_j` and :math:`\log|\Sigma_{oo}|`.
Casewise scores (MLR): :math:`e_i = A(y_{i,o}-\mu_o)`, :math:`s_\mu = e_i`,
:math:`s_\Sigma = \tfrac12(e_ie_i^\top - A)`.

Coordinates: "full" vectors are ``(μ (p), vec Σ (p²))``; a model Jacobian ``Δ`` (K × (p + p²))
maps them to parameters (its Σ part holds both triangles, so contractions are exact).

Reference: Arbuckle (1996), in Marcoulides & Schumacker (eds.), *Advanced SEM*, 243–277;
lavaan's ``lav_mvnorm_missing.R`` (Rosseel, 2012). Validated against lavaan 0.6-14
(``tests/reference/missing/``).
"""

from __future__ import annotations

import math

import numpy as np

from psychometrics.cfa.missing_moments import PatternBatch

__all__ = ["SatEval", "sat_eval", "sat_hessian", "case_scores", "duplication", "vech_index"]

LOG2PI = math.log(2 * math.pi)


class SatEval:
    """ℓ, ∂ℓ/∂μ, ∂ℓ/∂Σ (full matrix) and the pattern pieces at (μ, Σ); ``ok`` False if some Σ_oo is not PD."""

    __slots__ = ("ok", "loglik", "g_mu", "g_sigma", "A", "e", "W", "Ae")

    def __init__(self, ok: bool, loglik: float = -np.inf, g_mu=None, g_sigma=None, A=None, e=None, W=None, Ae=None):
        self.ok, self.loglik, self.g_mu, self.g_sigma = ok, loglik, g_mu, g_sigma
        self.A, self.e, self.W, self.Ae = A, e, W, Ae


def _padded_inverse(b: PatternBatch, Sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """A_j = Σ_oo⁻¹ zero-padded (J, p, p) and log|Σ_oo| (J,)."""
    M = np.where(b.outer_mask, Sigma[None, :, :], 0.0)
    idx = np.arange(b.p)
    M[:, idx, idx] += ~b.mask  # identity on the missing items
    try:
        L = np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        return None
    logdet = 2.0 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
    Linv = np.linalg.inv(L)
    A = np.swapaxes(Linv, 1, 2) @ Linv
    A *= b.outer_mask
    return A, logdet


def sat_eval(b: PatternBatch, mu: np.ndarray, Sigma: np.ndarray, grad: bool = True) -> SatEval:
    """Log-likelihood (with the 2π constant) and its gradient with respect to μ and Σ."""
    pi = _padded_inverse(b, Sigma)
    if pi is None:
        return SatEval(False)
    A, logdet = pi
    e = (b.ybar - mu[None, :]) * b.mask
    W = b.S + e[:, :, None] * e[:, None, :]
    trAW = np.einsum("jab,jab->j", A, W)
    ll = float(-0.5 * np.sum(b.n * (b.pj * LOG2PI + logdet + trAW)))
    if not grad:
        return SatEval(True, ll)
    Ae = np.einsum("jab,jb->ja", A, e)
    g_mu = (b.n[:, None] * Ae).sum(axis=0)
    AWA = A @ W @ A
    g_sigma = -0.5 * np.einsum("j,jab->ab", b.n, A - AWA)
    return SatEval(True, ll, g_mu, g_sigma, A, e, W, Ae)


def sat_hessian(b: PatternBatch, ev: SatEval, meanstructure: bool = True) -> np.ndarray:
    """Negative Hessian of ℓ in full coordinates ``(μ, vec Σ)``: ((p + p²) × (p + p²)).

    Without a mean structure only the ``vec Σ`` block (p² × p²) is returned.
    """
    p = b.p
    A, W = ev.A, ev.W
    R = A @ W @ A
    n = b.n
    Af = A.reshape(b.J, -1)
    Rf = R.reshape(b.J, -1)
    U = (Af * n[:, None]).T @ Af  # U[(c,d),(e,b)] = Σ n A_cd A_eb
    V = (Af * n[:, None]).T @ Rf  # V[(c,d),(e,b)] = Σ n A_cd R_eb
    T = -U + V + V.T
    # H[b,c,d,e] = ½ T[c,d,e,b]
    H_ss = 0.5 * np.transpose(T.reshape(p, p, p, p), (3, 0, 1, 2)).reshape(p * p, p * p)
    if not meanstructure:
        return H_ss
    H_mm = np.einsum("j,jab->ab", n, A)
    # μ-Σ: n a_a A_ab (Ae)_c X_bc
    H_ms = np.einsum("j,jab,jc->abc", n, A, ev.Ae).reshape(p, p * p)
    H = np.empty((p + p * p, p + p * p))
    H[:p, :p] = H_mm
    H[:p, p:] = H_ms
    H[p:, :p] = H_ms.T
    H[p:, p:] = H_ss
    return H


def case_scores(b: PatternBatch, mu: np.ndarray, Sigma: np.ndarray, meanstructure: bool = True) -> np.ndarray:
    """Casewise scores of ℓ in full coordinates, one row per (non-empty) row of the group."""
    pi = _padded_inverse(b, Sigma)
    if pi is None:
        raise np.linalg.LinAlgError("implied covariance not positive definite")
    A = pi[0]
    Y = np.nan_to_num(b.rows - mu[None, :], nan=0.0)
    Ai = A[b.row_pattern]
    e = np.einsum("iab,ib->ia", Ai, Y)
    s_sig = 0.5 * (e[:, :, None] * e[:, None, :] - Ai)
    s_sig = s_sig.reshape(len(Y), -1)
    if not meanstructure:
        return s_sig
    return np.concatenate([e, s_sig], axis=1)


def vech_index(p: int) -> np.ndarray:
    """Positions in vec Σ (row-major, p²) of the lower triangle, column by column (lavaan's vech order)."""
    out = []
    for c in range(p):
        for r in range(c, p):
            out.append(r * p + c)
    return np.array(out, dtype=int)


def duplication(p: int) -> np.ndarray:
    """Duplication matrix D (p² × p*): vec Σ = D vech Σ."""
    vi = vech_index(p)
    D = np.zeros((p * p, len(vi)))
    for k, pos in enumerate(vi):
        r, c = divmod(pos, p)
        D[r * p + c, k] = 1.0
        D[c * p + r, k] = 1.0
    return D


def to_vech(H_full: np.ndarray, p: int, meanstructure: bool = True) -> np.ndarray:
    """Convert a bilinear form in full coordinates to (μ, vech Σ): Dᵀ H D blockwise."""
    D = duplication(p)
    if meanstructure:
        Dm = np.zeros((p + p * p, p + D.shape[1]))
        Dm[:p, :p] = np.eye(p)
        Dm[p:, p:] = D
    else:
        Dm = D
    return Dm.T @ H_full @ Dm


def scores_to_vech(S_full: np.ndarray, p: int, meanstructure: bool = True) -> np.ndarray:
    D = duplication(p)
    if meanstructure:
        return np.concatenate([S_full[:, :p], S_full[:, p:] @ D], axis=1)
    return S_full @ D
