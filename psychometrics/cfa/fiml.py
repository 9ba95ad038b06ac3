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

    -\partial^2\ell = \sum_j n_j\Big[\tfrac12\big(-\operatorname{tr}(AXAY) + \operatorname{tr}(AXAYAW)
        + \operatorname{tr}(AYAXAW)\big) + a^\top A b + a^\top AYAe + b^\top AXAe\Big]

(in code with :math:`R_j = A_jW_jA_j`; checked against differences of the analytic gradient
and, through the standard errors, against lavaan's numerical Hessian). All patterns are evaluated at once: Σ_oo is padded with the identity on the
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

__all__ = ["SatEval", "padded_inverse", "sat_eval", "sat_hessian", "case_scores", "case_score_crossprod",
           "duplication", "vech_index"]

LOG2PI = math.log(2 * math.pi)
#: entries of one block of casewise score rows (128 MB in float64); larger groups go block by block
SCORE_BLOCK = 1 << 24


class SatEval:
    """ℓ, ∂ℓ/∂μ, ∂ℓ/∂Σ (full matrix) and the pattern pieces at (μ, Σ); ``ok`` False if some Σ_oo is not PD."""

    __slots__ = ("ok", "loglik", "g_mu", "g_sigma", "A", "e", "W", "Ae")

    def __init__(self, ok: bool, loglik: float = -np.inf, g_mu=None, g_sigma=None, A=None, e=None, W=None, Ae=None):
        self.ok, self.loglik, self.g_mu, self.g_sigma = ok, loglik, g_mu, g_sigma
        self.A, self.e, self.W, self.Ae = A, e, W, Ae


def padded_inverse(b: PatternBatch, Sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    r"""A_j = Σ_oo⁻¹ zero-padded (J, p, p) and log|Σ_oo| (J,); None if Σ is not positive definite.

    From the full inverse P = Σ⁻¹ by the partitioned-inverse identity
    :math:`\Sigma_{oo}^{-1} = P_{oo} - P_{om}P_{mm}^{-1}P_{mo}` and
    :math:`\log|\Sigma_{oo}| = \log|\Sigma| + \log|P_{mm}|` (only the small missing blocks are
    inverted, batched by their size).
    """
    try:
        L = np.linalg.cholesky(Sigma)
    except np.linalg.LinAlgError:
        return None
    Linv = np.linalg.inv(L)
    P = Linv.T @ Linv
    logdet_full = 2.0 * np.log(np.diag(L)).sum()
    A = np.broadcast_to(P, (b.J, b.p, b.p)).copy()
    logdet = np.full(b.J, logdet_full)
    for mi, js in b.missing_groups:
        Pmm = P[mi[:, :, None], mi[:, None, :]]
        sign, ld = np.linalg.slogdet(Pmm)
        if np.any(sign <= 0):
            return None
        Pcol = np.swapaxes(P[:, mi], 0, 1)  # (J_s, p, s)
        A[js] -= Pcol @ np.linalg.solve(Pmm, np.swapaxes(Pcol, 1, 2))
        logdet[js] += ld
    A *= b.outer_mask
    return A, logdet


def sat_eval(b: PatternBatch, mu: np.ndarray, Sigma: np.ndarray, grad: bool = True) -> SatEval:
    """Log-likelihood (with the 2π constant) and its gradient with respect to μ and Σ."""
    pi = padded_inverse(b, Sigma)
    if pi is None:
        return SatEval(False)
    A, logdet = pi
    e = (b.ybar - mu[None, :]) * b.mask
    W = b.S + e[:, :, None] * e[:, None, :]
    trAW = np.einsum("jab,jab->j", A, W)
    ll = float(-0.5 * np.sum(b.n * (b.pj * LOG2PI + logdet + trAW)))
    if not grad:
        return SatEval(True, ll)
    Ae = (A @ e[:, :, None])[:, :, 0]
    g_mu = b.n @ Ae
    AWA = A @ W @ A
    g_sigma = -0.5 * np.tensordot(b.n, A - AWA, axes=1)
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
    nA = Af * n[:, None]
    U = nA.T @ Af  # U[(c,d),(e,b)] = Σ n A_cd A_eb
    V = nA.T @ Rf  # V[(c,d),(e,b)] = Σ n A_cd R_eb
    T = -U + V + V.T
    # H[b,c,d,e] = ½ T[c,d,e,b]
    H_ss = 0.5 * np.transpose(T.reshape(p, p, p, p), (3, 0, 1, 2)).reshape(p * p, p * p)
    if not meanstructure:
        return H_ss
    nAf = Af * n[:, None]
    H_mm = nAf.sum(axis=0).reshape(p, p)
    # μ-Σ: n a_a A_ab (Ae)_c X_bc
    H_ms = (nAf.T @ ev.Ae).reshape(p, p * p)
    H = np.empty((p + p * p, p + p * p))
    H[:p, :p] = H_mm
    H[:p, p:] = H_ms
    H[p:, :p] = H_ms.T
    H[p:, p:] = H_ss
    return H


def case_scores(b: PatternBatch, mu: np.ndarray, Sigma: np.ndarray, meanstructure: bool = True) -> np.ndarray:
    """Casewise scores of ℓ in full coordinates, one row per (non-empty) row of the group."""
    pi = padded_inverse(b, Sigma)
    if pi is None:
        raise np.linalg.LinAlgError("implied covariance not positive definite")
    A = pi[0]
    Y = np.nan_to_num(b.rows - mu[None, :], nan=0.0)
    e = np.empty_like(Y)
    for j, rows in enumerate(b.pattern_rows):
        e[rows] = Y[rows] @ A[j]
    s_sig = (0.5 * e[:, :, None] * e[:, None, :]).reshape(len(Y), -1)
    s_sig -= 0.5 * A.reshape(b.J, -1)[b.row_pattern]
    if not meanstructure:
        return s_sig
    return np.concatenate([e, s_sig], axis=1)


def case_score_crossprod(b: PatternBatch, mu: np.ndarray, Sigma: np.ndarray, meanstructure: bool,
                         transform, chunk: int | None = None) -> np.ndarray:
    """Σ_i t_i t_iᵀ with t_i = ``transform``(casewise score row(s)) — the meat of MLR and of the
    robust test statistics — over blocks of rows, so the memory is one block of (p + p²)-wide
    score rows (about 128 MB) however many rows there are; a group that fits in one block is
    computed exactly as ``transform(case_scores(...))`` in one product, as before."""
    n, p = b.rows.shape
    chunk = chunk or max(256, SCORE_BLOCK // (p + p * p))
    if n <= chunk:
        t = transform(case_scores(b, mu, Sigma, meanstructure))
        return t.T @ t
    pi = padded_inverse(b, Sigma)
    if pi is None:
        raise np.linalg.LinAlgError("implied covariance not positive definite")
    A = pi[0]
    out = None
    for lo in range(0, n, chunk):
        Y = np.nan_to_num(b.rows[lo: lo + chunk] - mu[None, :], nan=0.0)
        pat = b.row_pattern[lo: lo + chunk]
        e = np.empty_like(Y)
        for j in np.unique(pat):
            rows = pat == j
            e[rows] = Y[rows] @ A[j]
        s_sig = (0.5 * e[:, :, None] * e[:, None, :]).reshape(len(Y), -1)
        s_sig -= 0.5 * A.reshape(b.J, -1)[pat]
        t = transform(np.concatenate([e, s_sig], axis=1) if meanstructure else s_sig)
        out = t.T @ t if out is None else out + t.T @ t
    return out


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


def _vech_maps(p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vi = vech_index(p)
    r, c = np.divmod(vi, p)
    vt = c * p + r
    scale = np.where(r == c, 0.5, 1.0)
    return vi, vt, scale


def to_vech(H_full: np.ndarray, p: int, meanstructure: bool = True) -> np.ndarray:
    """Convert a bilinear form in full coordinates to (μ, vech Σ): Dᵀ H D (D the duplication matrix)."""
    vi, vt, sc = _vech_maps(p)
    off = p if meanstructure else 0
    a, t = vi + off, vt + off
    Hv = (H_full[np.ix_(a, a)] + H_full[np.ix_(t, a)] + H_full[np.ix_(a, t)] + H_full[np.ix_(t, t)]) * np.outer(sc, sc)
    if not meanstructure:
        return Hv
    m = np.arange(p)
    Hm = H_full[np.ix_(m, a)] + H_full[np.ix_(m, t)]
    Hm *= sc[None, :]
    return np.block([[H_full[:p, :p], Hm], [Hm.T, Hv]])


def scores_to_vech(S_full: np.ndarray, p: int, meanstructure: bool = True) -> np.ndarray:
    """Scores in full coordinates → (μ, vech Σ): Dᵀ s (off-diagonal entries counted twice)."""
    vi, vt, sc = _vech_maps(p)
    off = p if meanstructure else 0
    Sv = (S_full[:, vi + off] + S_full[:, vt + off]) * sc[None, :]
    return np.concatenate([S_full[:, :p], Sv], axis=1) if meanstructure else Sv
