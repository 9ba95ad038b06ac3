"""Newton's method for the multi-group GRM (``irt.multigroup``): the exact observed information.

The marginal log-likelihood of group g, ℓ_g = Σ_u f_u log Σ_q w_q f_u(θ_gq), θ_gq = μ_g + σ_g z_q,
has the Hessian (Louis 1982, per pattern ∇² log L_u = E_π[∇² log f_u + s sᵀ] − s̄ s̄ᵀ)

    ∇²ℓ_g = Σ_{j,k,q} r_jkq ∇² log P_jk(θ_gq)                     (A: expected counts r)
          + Σ_q Σ_{c,d} T_q[c, d] g_cq g_dqᵀ                       (B: T_q = Yᵀ diag(f ∘ π_·q) Y)
          − Σ_u f_u s̄_u s̄_uᵀ,   s̄_u = Σ_q π_uq Σ_j g_{(j, x_uj) q}  (C)

with g_cq = ∇ log P_jk(θ_gq) for the one-hot column c = (j, k), over item j's (a, c_1..c_{K−1}) and
the group's (μ_g, log σ_g) through θ = μ + e^{log σ} z (∂θ/∂μ = 1, ∂θ/∂log σ = σ z = ∂²θ/∂(log σ)²).
T_q is the weighted bivariate category table of node q; its diagonal blocks are r (one answer per
item), its off-diagonal blocks one sparse product per group with the fixed (pattern × item pair
× category pair) indicator — so no term costs more than the E-step's patterns × nodes × columns.
For the ``shift`` latent rule (the quadrature weights do not depend on μ, σ). Tested against
central differences of the exact gradient in tests/test_irt_lrdif.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from psychometrics.irt._mg_estep import estep
from psychometrics.irt._models import _grm_parts

# the model and data types are irt.multigroup's MultiGroupGRM and GroupedResponses (which call this
# module; not imported here, also not for type checking, so that the two modules form no cycle)
MultiGroupGRM = Any
GroupedResponses = Any

__all__ = ["grm_log_derivatives", "loglik_grad_hess", "pair_indicator", "assemble_hessian", "group_positions"]


def grm_log_derivatives(a: np.ndarray, c: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P_jk(θ_q) (J, Q, K) and the first (J, Q, K, K+1) and second (J, Q, K, K+1, K+1) derivatives of
    log P_jk with respect to η = (a, c_1..c_{K−1}, θ) of the GRM.

    With z_m = a θ + c_m, S_m = σ(z_m) (S_0 = 1, S_K = 0), ψ_m = S_m(1 − S_m), ψ'_m = ψ_m(1 − 2 S_m):
    ∇P_k = ψ_k ∇z_k − ψ_{k+1} ∇z_{k+1},
    ∇²P_k = ψ'_k ∇z_k ∇z_kᵀ − ψ'_{k+1} ∇z_{k+1} ∇z_{k+1}ᵀ + (ψ_k − ψ_{k+1}) ∂²z/∂a∂θ,
    ∇z_m = (θ, e_m, a), and ∇² log P = ∇²P / P − ∇ log P ∇ log Pᵀ.
    """
    p, s, psi = _grm_parts(a, c, theta)
    jn, q, k = p.shape
    psi_m = np.zeros((jn, q, k + 1))
    dpsi_m = np.zeros((jn, q, k + 1))
    psi_m[..., 1:k] = psi
    dpsi_m[..., 1:k] = psi * (1.0 - 2.0 * s)
    grad_z = np.zeros((jn, q, k + 1, k + 1))  # (item, node, cumulative index m, η)
    grad_z[..., 0] = theta[None, :, None]
    grad_z[:, :, np.arange(1, k), np.arange(1, k)] = 1.0
    grad_z[..., k] = a[:, None, None]
    lo, hi = grad_z[:, :, :k], grad_z[:, :, 1:]
    dp = psi_m[..., :k, None] * lo - psi_m[..., 1:, None] * hi
    d2p = (dpsi_m[..., :k, None, None] * lo[..., :, None] * lo[..., None, :]
           - dpsi_m[..., 1:, None, None] * hi[..., :, None] * hi[..., None, :])
    cross = psi_m[..., :k] - psi_m[..., 1:]
    d2p[..., 0, k] += cross
    d2p[..., k, 0] += cross
    g = dp / p[..., None]
    h = d2p / p[..., None, None] - g[..., :, None] * g[..., None, :]
    return p, g, h


def pair_indicator(data: GroupedResponses, g: int):  # noqa: ANN201 - a scipy.sparse matrix
    """The (item pair × category pair) × pattern indicator of group g (CSR, items j < l): row
    (pair, k, m) has a one for every pattern answering k to j and m to l. Its product with the
    weights f ∘ π (patterns × nodes) is every pair's weighted bivariate table at every node."""
    from scipy import sparse

    codes = data.patterns[g]
    offs = data.offsets
    n_cols = int(offs[-1])
    rows, cols = [], []
    for j in range(codes.shape[1]):
        for l_ in range(j + 1, codes.shape[1]):
            ok = np.flatnonzero((codes[:, j] >= 0) & (codes[:, l_] >= 0))
            rows.append((offs[j] + codes[ok, j]) * n_cols + offs[l_] + codes[ok, l_])
            cols.append(ok)
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    mat = sparse.csr_matrix((np.ones(r.size), (r, c)), shape=(n_cols * n_cols, codes.shape[0]))
    used = np.unique(r)
    return mat[used], used


def code_blocks(data: GroupedResponses, g: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per item j of group g: the patterns answering j sorted by their answer (stable; missing left
    out) and the bounds of each category's run (K_j + 1), for the per-category products of term C."""
    out = []
    for j, kk in enumerate(data.n_categories):
        col = data.patterns[g][:, j].astype(np.int64)
        perm = np.argsort(col, kind="stable")
        perm = perm[col[perm] >= 0]
        out.append((perm, np.searchsorted(col[perm], np.arange(kk + 1))))
    return out


def loglik_grad_hess(model: MultiGroupGRM, x: np.ndarray, pairs: list
                     ) -> tuple[float, np.ndarray, np.ndarray, list[np.ndarray]]:
    """ℓ, ∇ℓ and ∇²ℓ of a multi-group GRM (``shift`` latent rule) in its natural parameters, and each
    group's ∇²ℓ_g in its extended coordinates (see :func:`assemble_hessian`). ``pairs``:
    :func:`pair_indicator` per group (built once per data set)."""
    mu, sigma = model.latent_params(x)
    data = model.data
    offs = data.offsets
    n_cols = int(offs[-1])
    kmax = int(model.k.max())
    n_groups = len(data.groups)
    total = 0.0
    exts: list[np.ndarray] = []
    gexts: list[np.ndarray] = []
    for g in range(n_groups):
        y, f = data.onehot[g], data.counts[g]
        sz = sigma[g] * model.z
        theta = mu[g] + sz
        nq = theta.size
        probs = np.empty((n_cols, nq))
        # per one-hot column c = (j, k) and node: ∇ log P over (item params padded to kmax, μ, log σ)
        gc = np.zeros((nq, n_cols, kmax + 2))
        hc = []  # (cols, ∇² log P in (ξ_j, μ, log σ)) per category count
        for kk in sorted(set(model.k.tolist())):
            idx = np.flatnonzero(model.k == kk)
            pos = model.block_start[model.block[idx, g]][:, None] + np.arange(kk)[None, :]
            p, gl, hl = grm_log_derivatives(x[pos[:, 0]], x[pos[:, 1:]], theta)
            cols = offs[idx][:, None] + np.arange(kk)[None, :]
            probs[cols.ravel()] = p.transpose(0, 2, 1).reshape(-1, nq)
            gt = gl[..., kk]  # ∂ log P/∂θ (J, Q, K)
            full = np.zeros(gl.shape[:3] + (kk + 2,))
            full[..., :kk] = gl[..., :kk]
            full[..., kk] = gt
            full[..., kk + 1] = gt * sz[None, :, None]
            gc[:, cols.ravel(), :kk] = full[..., :kk].transpose(1, 0, 2, 3).reshape(nq, -1, kk)
            gc[:, cols.ravel(), kmax:] = full[..., kk:].transpose(1, 0, 2, 3).reshape(nq, -1, 2)
            hf = np.zeros(gl.shape[:3] + (kk + 2, kk + 2))
            hf[..., :kk + 1, :kk + 1] = hl
            s3 = sz[None, :, None]
            hf[..., :kk, kk + 1] = hl[..., :kk, kk] * s3[..., None]
            hf[..., kk + 1, :kk] = hf[..., :kk, kk + 1]
            hf[..., kk, kk + 1] = hf[..., kk + 1, kk] = hl[..., kk, kk] * s3
            hf[..., kk + 1, kk + 1] = hl[..., kk, kk] * s3**2 + gt * s3
            hc.append((idx, pos, cols, full, hf))
        # ℓ_g, f_u π_uq and π_uq (Q, U), the expected counts r (C, Q), as in MultiGroupGRM.loglik_grad
        ll_g, lf, postt, r = estep(data.joint[g], probs, model.logw, f, data.onehot_t[g], y, post=True)
        total += ll_g
        wpost = lf.T  # (U, Q)
        # group's parameters in "extended" coordinates: the item columns' ranges, then μ, log σ
        ext = np.zeros((n_cols + 2, n_cols + 2))
        gext = np.zeros(n_cols + 2)
        for idx, pos, cols, full, hf in hc:
            rg = r[cols].transpose(0, 2, 1)  # (J, Q, K)
            kk = cols.shape[1]
            gj = np.einsum("jqk,jqkm->jm", rg, full)
            aj = np.einsum("jqk,jqkab->jab", rg, hf)  # term A per item
            for jj in range(len(idx)):
                sl = cols[jj]
                gext[sl] += gj[jj, :kk]
                gext[n_cols:] += gj[jj, kk:]
                ext[np.ix_(sl, sl)] += aj[jj, :kk, :kk]
                ext[sl, n_cols:] += aj[jj, :kk, kk:]
                ext[n_cols:, sl] += aj[jj, kk:, :kk]
                ext[n_cols:, n_cols:] += aj[jj, kk:, kk:]
        # term B: Σ_q G_qᵀ T_q G_q with G_q (C × ext) — item j's columns carry j's block and μ, log σ
        gq = np.zeros((nq, n_cols, n_cols + 2))
        for j in range(model.k.size):
            sl = slice(offs[j], offs[j + 1])
            gq[:, sl, sl] = gc[:, sl, :int(model.k[j])]
        gq[:, :, n_cols:] = gc[:, :, kmax:]
        mat, used = pairs[g]
        tq = np.zeros((n_cols * n_cols, nq))
        tq[used] = mat @ wpost
        tq = tq.reshape(n_cols, n_cols, nq).transpose(2, 0, 1)
        tq = tq + tq.transpose(0, 2, 1)
        tq[:, np.arange(n_cols), np.arange(n_cols)] = r.T
        tg = np.matmul(tq, gq)
        ext += gq.reshape(-1, n_cols + 2).T @ tg.reshape(-1, n_cols + 2)
        # term C: Σ_u f_u s̄_u s̄_uᵀ from the posterior means of the answered columns' scores: per item j and
        # category k one product over the patterns answering k to j (sorted once per data set: code_blocks)
        sbar_t = np.zeros((n_cols + 2, postt.shape[1]))
        for j, (perm, bounds) in enumerate(data.code_blocks[g]):
            kk = int(model.k[j])
            pj = postt[:, perm]
            sel = np.concatenate([np.arange(kk), [kmax, kmax + 1]])
            gj = gc[:, offs[j]:offs[j] + kk][:, :, sel]  # (Q, K, kk + 2)
            for k in range(kk):
                lo, hi = bounds[k], bounds[k + 1]
                if hi > lo:
                    res = gj[:, k].T @ pj[:, lo:hi]  # (kk + 2, n_k)
                    rows = perm[lo:hi]
                    sbar_t[offs[j]:offs[j] + kk, rows] = res[:kk]
                    sbar_t[n_cols:, rows] += res[kk:]
        sbar = sbar_t.T
        ext -= (sbar * f[:, None]).T @ sbar
        exts.append(ext)
        gexts.append(gext)
    model.at = (np.array(x, dtype=float), total, gexts)
    return total, model.gradient_from_groups(gexts), assemble_hessian(model, exts), exts


def group_positions(model: MultiGroupGRM, g: int) -> np.ndarray:
    """Positions in the model's parameter vector of group g's extended coordinates (item columns'
    ranges, then μ_g, log σ_g — absent for the reference group and fixed latents)."""
    where = np.concatenate([model.block_start[model.block[j, g]] + np.arange(int(model.k[j]))
                            for j in range(model.k.size)])
    if model.latent == "free" and g > 0:
        o = model.n_item_par + 2 * (g - 1)
        where = np.concatenate([where, [o, o + 1]])
    return where


def assemble_hessian(model: MultiGroupGRM, exts: list[np.ndarray]) -> np.ndarray:
    """∇²ℓ in the model's parameters from the groups' Hessians in extended coordinates. These do not
    depend on which items are free, so a model's per-group Hessians serve another model of the same
    data (exactly, at the same per-group parameters: freeing an item of a fitted model)."""
    hess = np.zeros((model.n_par, model.n_par))
    for where, ext in zip(model.group_positions, exts):
        hess[np.ix_(where, where)] += ext[:where.size, :where.size]
    return 0.5 * (hess + hess.T)
