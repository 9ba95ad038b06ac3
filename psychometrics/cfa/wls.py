r"""Weighted least squares machinery for categorical CFA (DWLS estimates, WLSMV inference).

Everything here works on per-group *sample statistics vectors* s_g (thresholds,
then the polychoric correlations below the diagonal, column by column — lavaan's
``WLS.obs``), the model-implied vectors σ_g(θ), their Jacobians Δ_g = ∂σ_g/∂θ',
the diagonal DWLS weights W_g (lavaan's ``WLS.VD`` = 1/diag Γ_g) and the
asymptotic covariance matrices Γ_g of √n_g(s_g − σ_g) (lavaan's ``NACOV``/``gamma``).
With f_g = n_g/N:

* discrepancy (lavaan's ``fmin``): F = ½ Σ_g (n_g−1)/N · (s_g−σ_g)' W_g (s_g−σ_g); the
  standard test statistic is T = 2N·F = Σ_g (n_g−1)(s_g−σ_g)'W_g(s_g−σ_g)
  (Muthén, du Toit & Spisic, 1997; lavaan's n_g − 1);
* unit information A = Σ_g f_g Δ_g' W_g Δ_g; robust ("sandwich") covariance
  of the estimates V = A⁻¹ (Σ_g f_g Δ_g' W_g Γ_g W_g Δ_g) A⁻¹ / (N − G)
  (lavaan's ``se = "robust.sem"``, which divides by N − G for non-ML estimators);
* U = W̃ − W̃ Δ A⁻¹ Δ' W̃ with the block-diagonal W̃ = ⊕ f_g W_g and Γ̃ = ⊕ Γ_g/f_g;
  the scaled-shifted statistic (Asparouhov & Muthén, 2010; lavaan's
  ``test = "scaled.shifted"``) is T̃ = a·T + b with a = √(df / tr((UΓ̃)²)) and
  b = df − a·tr(UΓ̃); lavaan reports ``scaling.factor`` = 1/a and ``shift.parameter`` = b;
* the *robust* RMSEA/CFI/TLI for categorical data (Savalei, 2021; lavaan's
  ``lav_fit_catml_dwls``): the normal-theory ML discrepancy of the DWLS solution
  on the polychoric correlations (catML), χ²_ML = Σ_g n_g[log|P̂_g| + tr(R_gP̂_g⁻¹) − log|R_g| − p],
  with the correction ĉ = tr(U'V U Γ̃)/df where V = ⊕ f_g V_g holds the ML
  weights of the correlations, V_(ij),(kl) = P̂⁻¹_ik P̂⁻¹_jl + P̂⁻¹_il P̂⁻¹_jk, and
  U = I − Δ A⁻¹ Δ' W̃ restricted to the correlation rows; the baseline uses
  χ²_ML,0 = −Σ_g n_g log|R_g| and ĉ₀ = tr(Γ̃_cor)/df₀.

Validated against lavaan 0.6-14 (``cfa(..., ordered = ..., estimator = "WLSMV")``,
``lavInspect(fit, "test")``, ``fitMeasures``; fixtures ``tests/reference/wlsmv/``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import special

from psychometrics.ordinal.sample_stats import vech_pairs as _pairs  # the order of the statistics vector

__all__ = [
    "GroupMoments", "meat", "robust_vcov", "SHARED_MEAT_N", "scaled_shifted", "catml_robust", "rmsea", "rmsea_ci",
    "rmsea_close_pvalue", "cfi", "tli",
]


#: Γ_g counts as symmetric (the UΓ traces take R_g = L_gᵀ, from SHARED_MEAT_N rows) when its asymmetry is at most
#: this relative to its largest entry: the traces then move by the same order, ≈ 1e-15 relative
GAMMA_SYMMETRY = 1e-12


@dataclass(frozen=True)
class GroupMoments:
    """Sample vector, weights and asymptotic covariance of one group (see module docstring)."""

    s: np.ndarray
    w: np.ndarray  # diagonal DWLS weights
    gamma: np.ndarray
    n: int
    n_th: int  # number of thresholds (the first n_th entries of s)

    @cached_property
    def gamma_terms(self) -> tuple[float, float, bool]:
        """``(tr(W_gΓ_g), tr((W_gΓ_g)²), Γ_g symmetric to rounding)`` — the same for every model fitted to these
        statistics, so computed once per group (an invariance ladder reuses its groups' moments; issue 16).
        Symmetric to rounding: max|Γ_g − Γ_gᵀ| ≤ :data:`GAMMA_SYMMETRY` · max|Γ_g| (a NACOV's block products
        leave ≈ 1.4e-16; issue 16, sixth session — exact equality, asked before, never held for one)."""
        WG = self.w[:, None] * self.gamma  # W_g Γ_g
        G = self.gamma
        scale = float(np.abs(G).max(initial=0.0))
        symmetric = bool(np.array_equal(G, G.T)) or bool(np.abs(G - G.T).max(initial=0.0) <= GAMMA_SYMMETRY * scale)
        return float(np.trace(WG)), float(np.sum(WG * WG.T)), symmetric


def information(deltas: Sequence[np.ndarray], groups: Sequence[GroupMoments], fg: np.ndarray) -> np.ndarray:
    """Unit information A = Σ_g f_g Δ_g' W_g Δ_g.

    From :data:`SHARED_MEAT_N` rows on in a multi-group model each group's term is formed on Δ_g's non-zero
    columns only (as :func:`meat`; the other entries are exact zeros, the rest the same sums rounded per
    sub-block — issue 16); below, the dense products (the demo's digits)."""
    k = deltas[0].shape[1]
    A = np.zeros((k, k))
    sparse = len(groups) > 1 and sum(gm.n for gm in groups) >= SHARED_MEAT_N
    for D, gm, f in zip(deltas, groups, fg):
        if sparse:
            cols = _nonzero_columns(D)
            Dg = D[:, cols]
            A[np.ix_(cols, cols)] += f * (Dg.T * gm.w) @ Dg
            continue
        A += f * (D.T * gm.w) @ D
    return A


def meat(deltas: Sequence[np.ndarray], groups: Sequence[GroupMoments], parts: dict | None = None) -> np.ndarray:
    """The sandwich's meat M = Σ_g f_g Δ_g'W_gΓ_gW_gΔ_g (f_g = n_g/N) — also the M of the Satorra (2000) test.

    ``parts`` (a dict, filled on the multi-group path from SHARED_MEAT_N rows): per group g its non-zero
    Jacobian columns, W_gΔ_g on them and L_g = Δ_g'W_gΓ_g, which :func:`_ugamma_traces` reuses."""
    N = sum(gm.n for gm in groups)
    k = deltas[0].shape[1]
    B = np.zeros((k, k))
    for g, (D, gm) in enumerate(zip(deltas, groups)):
        if N >= SHARED_MEAT_N and len(groups) > 1:
            # only the parameters group g's statistics depend on (Δ_g's non-zero columns): the other entries
            # of its term are exact zeros (issue 16; the same sums, rounded per sub-block, so from
            # SHARED_MEAT_N rows on only — the demo keeps every number). L_g = Δ_g'W_gΓ_g is formed once
            # and kept for the UΓ traces (f_g applied after the products: the same sums, rounded once more)
            cols = _nonzero_columns(D)
            WD = D[:, cols] * gm.w[:, None]
            L = WD.T @ gm.gamma
            B[np.ix_(cols, cols)] += gm.n / N * (L @ WD)
            if parts is not None:
                parts[g] = (cols, WD, L)
            continue
        WD = D * gm.w[:, None]
        B += gm.n / N * WD.T @ gm.gamma @ WD
    return B


def _nonzero_columns(D: np.ndarray) -> np.ndarray:
    """The columns of Δ_g with a non-zero entry (the parameters group g's statistics depend on)."""
    return np.flatnonzero(np.any(D != 0.0, axis=0))


def robust_vcov(deltas: Sequence[np.ndarray], groups: Sequence[GroupMoments], A_inv: np.ndarray,
                B: np.ndarray | None = None) -> np.ndarray:
    """Sandwich covariance A⁻¹ (Σ_g f_g Δ_g'W_gΓ_gW_gΔ_g) A⁻¹ / (N − G) of the DWLS estimates
    (``B``: :func:`meat` when the caller has it)."""
    N = sum(gm.n for gm in groups)
    B = meat(deltas, groups) if B is None else B
    return A_inv @ B @ A_inv / (N - len(groups))


def _ugamma(deltas: Sequence[np.ndarray], groups: Sequence[GroupMoments], A_inv: np.ndarray) -> np.ndarray:
    """U Γ̃ with U = W̃ − W̃ΔA⁻¹Δ'W̃ (lavaan's ``UGamma``), as a dense matrix (the reference of
    :func:`_ugamma_traces`; not used by the fits)."""
    N = sum(gm.n for gm in groups)
    fg = np.array([gm.n / N for gm in groups])
    WD = np.vstack([f * D * gm.w[:, None] for D, gm, f in zip(deltas, groups, fg)])  # W̃Δ
    Wt = np.concatenate([f * gm.w for gm, f in zip(groups, fg)])
    sizes = [len(gm.s) for gm in groups]
    Gt = np.zeros((sum(sizes), sum(sizes)))
    off = 0
    for gm, f, m in zip(groups, fg, sizes):
        Gt[off:off + m, off:off + m] = gm.gamma / f
        off += m
    U = np.diag(Wt) - WD @ A_inv @ WD.T
    return U @ Gt


def _ugamma_traces(deltas: Sequence[np.ndarray], groups: Sequence[GroupMoments],
                   A_inv: np.ndarray, M: np.ndarray | None = None, parts: dict | None = None) -> tuple[float, float]:
    r"""tr(UΓ̃) and tr((UΓ̃)²) without forming the (Σ_g m_g)² matrix UΓ̃.

    With U = D_w − B, D_w = ⊕ f_g W_g, B = W̃ΔA⁻¹Δ'W̃ and Γ̃ = ⊕ Γ_g/f_g (block diagonal):
    tr(UΓ̃) = Σ_g tr(W_gΓ_g) − tr(A⁻¹M) and
    tr((UΓ̃)²) = Σ_g tr((W_gΓ_g)²) − 2 tr(A⁻¹ L D_w R) + tr((A⁻¹M)²), where
    L = Δ'W̃Γ̃ (L_g = Δ_g'W_gΓ_g), R = Γ̃W̃Δ (R_g = Γ_gW_gΔ_g) and M = L W̃Δ = Σ_g f_g Δ_g'W_gΓ_gW_gΔ_g —
    the same sums regrouped (no symmetry of Γ or A⁻¹ is assumed), O(Σ_g m_g² k) instead of
    O((Σ_g m_g)³): 3 × 490 statistics and 440 parameters in the demo study's invariance ladder,
    about 10× fewer operations (issue 16). Equal to the dense :func:`_ugamma` to rounding
    (``tests/test_cfa_wls_traces.py``).

    From :data:`SHARED_MEAT_N` rows on (issue 16) the same sums run over each group's non-zero Jacobian
    columns only (in a multi-group model most of Δ_g is zero), M is the fit's meat when given
    (:func:`meat`: the same sum), and R_g = L_gᵀ when Γ_g is symmetric to rounding (a NACOV is) — one
    k_g × m_g × m_g product per group instead of two full ones; below, the dense sums (the demo's digits).
    """
    N = sum(gm.n for gm in groups)
    k = A_inv.shape[0]
    large = N >= SHARED_MEAT_N
    tr1 = tr2 = 0.0
    own_M = M is None or not large
    M = np.zeros((k, k)) if own_M else M
    LDR = np.zeros((k, k))
    for g, (D, gm) in enumerate(zip(deltas, groups)):
        f = gm.n / N
        t1, t2, symmetric = gm.gamma_terms  # tr(W_gΓ_g), tr((W_gΓ_g)²): per group, not per model
        tr1 += t1
        tr2 += t2
        if large:
            if not own_M and parts is not None and g in parts:  # the meat's own (the same products)
                cols, WD, L = parts[g]
            else:
                cols = _nonzero_columns(D)
                WD = D[:, cols] * gm.w[:, None]  # W_g Δ_g on its non-zero columns
                L = WD.T @ gm.gamma  # Δ_g' W_g Γ_g
            R = L.T if symmetric else gm.gamma @ WD  # Γ_g W_g Δ_g
            block = np.ix_(cols, cols)
            if own_M:
                M[block] += f * (L @ WD)
            LDR[block] += f * ((L * gm.w) @ R)
        else:
            L = (D.T * gm.w) @ gm.gamma  # Δ_g' W_g Γ_g
            R = gm.gamma @ (D * gm.w[:, None])  # Γ_g W_g Δ_g
            M += f * (L @ (D * gm.w[:, None]))
            LDR += f * ((L * gm.w) @ R)
    AM = A_inv @ M
    tr1 -= float(np.trace(AM))
    tr2 += -2.0 * float(np.sum(A_inv * LDR.T)) + float(np.sum(AM * AM.T))
    return tr1, tr2


def scaled_shifted(T: float, df: int, deltas: Sequence[np.ndarray], groups: Sequence[GroupMoments],
                   A_inv: np.ndarray, M: np.ndarray | None = None, parts: dict | None = None) -> dict[str, float]:
    """Mean-and-variance adjusted (scaled-shifted) test statistic, lavaan 0.6-14's ``scaled.shifted``
    (``M``: the fit's :func:`meat`, used from :data:`SHARED_MEAT_N` rows on instead of recomputing it;
    ``parts``: the products :func:`meat` kept, reused by the traces).

    Returns ``stat, df, pvalue, trace_ugamma, trace_ugamma2, scaling_factor (=1/a), shift_parameter (=b)``.
    """
    if df <= 0:
        return {"stat": T, "df": df, "pvalue": math.nan, "trace_ugamma": math.nan, "trace_ugamma2": math.nan,
                "scaling_factor": math.nan, "shift_parameter": math.nan}
    tr1, tr2 = _ugamma_traces(deltas, groups, A_inv, M, parts)
    a = math.sqrt(df / tr2)
    b = df - a * tr1
    stat = a * T + b
    return {"stat": stat, "df": df, "pvalue": float(special.chdtrc(df, stat)), "trace_ugamma": tr1,
            "trace_ugamma2": tr2, "scaling_factor": 1.0 / a, "shift_parameter": b}


def baseline_scaled_shifted(groups: Sequence[GroupMoments]) -> dict[str, float]:
    """DWLS baseline (independence) model: thresholds free per group, correlations 0.

    The thresholds are fitted exactly, so T₀ = Σ_g (n_g−1) Σ_ij w_ij r_ij² and, since the
    baseline Δ only spans the threshold rows of each group, UΓ̃ is block diagonal
    with blocks W_cor,g Γ_cor,g.
    """
    T = 0.0
    df = 0
    tr1 = tr2 = 0.0
    for gm in groups:
        r = gm.s[gm.n_th:]
        w = gm.w[gm.n_th:]
        T += (gm.n - 1) * float(np.sum(w * r * r))
        df += len(r)
        UG = w[:, None] * gm.gamma[gm.n_th:, gm.n_th:]
        tr1 += float(np.trace(UG))
        tr2 += float(np.sum(UG * UG.T))
    a = math.sqrt(df / tr2)
    b = df - a * tr1
    stat = a * T + b
    return {"chisq": T, "df": df, "pvalue": float(special.chdtrc(df, T)), "stat": stat,
            "pvalue_scaled": float(special.chdtrc(df, stat)), "scaling_factor": 1.0 / a, "shift_parameter": b}


def catml_robust(deltas: Sequence[np.ndarray], groups: Sequence[GroupMoments], A_inv: np.ndarray,
                 sample_cor: Sequence[np.ndarray], implied_cor: Sequence[np.ndarray], df: int) -> dict[str, float]:
    """Savalei's (2021) catML statistics behind lavaan's ``cfi.robust``/``rmsea.robust`` for ordinal data.

    Returns ``XX3, df3, c_hat3, XX3_scaled, XX3_null, df3_null, c_hat3_null`` (lavaan's names);
    NaN when a polychoric matrix is not positive definite (lavaan then reports NA too).
    """
    nan = {k: math.nan for k in ("XX3", "df3", "c_hat3", "XX3_scaled", "XX3_null", "df3_null", "c_hat3_null")}
    N = sum(gm.n for gm in groups)
    fg = [gm.n / N for gm in groups]
    X2 = X2_null = 0.0
    for R, P, gm in zip(sample_cor, implied_cor, groups):
        if np.linalg.eigvalsh(R)[0] < math.sqrt(np.finfo(float).eps):
            return nan
        sign, ld_p = np.linalg.slogdet(P)
        if sign <= 0:
            return nan
        ld_r = np.linalg.slogdet(R)[1]
        p = R.shape[0]
        X2 += gm.n * (ld_p + float(np.sum(R * np.linalg.inv(P))) - ld_r - p)
        X2_null += -gm.n * ld_r
    # correlation rows of W̃Δ, V and Γ̃
    blocks_D, blocks_W, blocks_V, blocks_G = [], [], [], []
    for D, gm, f, P in zip(deltas, groups, fg, implied_cor):
        k = gm.n_th
        Pi = np.linalg.inv(P)
        ri, ci = _pairs(P.shape[0])
        V = Pi[np.ix_(ri, ri)] * Pi[np.ix_(ci, ci)] + Pi[np.ix_(ri, ci)] * Pi[np.ix_(ci, ri)]
        blocks_D.append(D[k:])
        blocks_W.append(f * gm.w[k:])
        blocks_V.append(f * V)
        blocks_G.append(gm.gamma[k:, k:] / f)
    m = sum(len(w) for w in blocks_W)
    if N >= CATML_BLOCKS_N:
        ks = _catml_trace_blocks(blocks_D, blocks_W, blocks_V, blocks_G, A_inv)
        c_hat3 = ks / df if df > 0 else math.nan
        return {"XX3": X2, "df3": df, "c_hat3": c_hat3, "XX3_scaled": X2 / c_hat3, "XX3_null": X2_null,
                "df3_null": m, "c_hat3_null": sum(float(np.trace(G_)) for G_ in blocks_G) / m}
    Dall = np.vstack(blocks_D)
    Wall = np.concatenate(blocks_W)
    Vall = np.zeros((m, m))
    Gall = np.zeros((m, m))
    off = 0
    for V, G_ in zip(blocks_V, blocks_G):
        s = V.shape[0]
        Vall[off:off + s, off:off + s] = V
        Gall[off:off + s, off:off + s] = G_
        off += s
    WiU = np.eye(m) - Dall @ A_inv @ (Dall.T * Wall)
    ks = float(np.sum((WiU.T @ Vall @ WiU) * Gall.T))
    c_hat3 = ks / df if df > 0 else math.nan
    df_null = m
    c_null = float(np.trace(Gall)) / df_null
    return {"XX3": X2, "df3": df, "c_hat3": c_hat3, "XX3_scaled": X2 / c_hat3, "XX3_null": X2_null,
            "df3_null": df_null, "c_hat3_null": c_null}


#: from this many rows on, :func:`catml_robust`'s trace is regrouped by group (:func:`_catml_trace_blocks`);
#: below it (the demo) the dense (Σ m_g)² products are kept, bit for bit as before
CATML_BLOCKS_N = 10_000


def _catml_trace_blocks(blocks_D, blocks_W, blocks_V, blocks_G, A_inv) -> float:
    r"""tr(WiUᵀ V WiU G) of :func:`catml_robust` without the (Σ_g m_g)² matrices (issue 16).

    With WiU = I − D Q, Q = A⁻¹ Dᵀ W (D, W stacked over groups; V, G block diagonal):
    tr(WiUᵀVWiU G) = Σ_g tr(V_gG_g) − Σ_g tr(D_gᵀV_gG_gQ_gᵀ) − Σ_g tr(Q_gG_gV_gD_g) + tr(M · Q G Qᵀ),
    M = Σ_g D_gᵀV_gD_g, Q G Qᵀ = Σ_g Q_gG_gQ_gᵀ — the same sums regrouped, O(Σ_g m_g² k) instead of
    O((Σ_g m_g)³) (the invariance ladder's configural model: 3 × 378 correlations). Equal to the dense
    form to rounding (tests/test_cfa_wls_traces.py)."""
    k = A_inv.shape[0]
    M = np.zeros((k, k))
    QGQ = np.zeros((k, k))
    ks = 0.0
    for D, w, V, G in zip(blocks_D, blocks_W, blocks_V, blocks_G):
        # on D_g's non-zero columns only (in a multi-group model most of them are zero; the other entries of
        # every term below are exact zeros — the same sums, rounded per sub-block)
        cols = _nonzero_columns(D)
        Dc = D[:, cols]
        Q = A_inv[:, cols] @ (Dc.T * w)  # (k, m_g)
        QG = Q @ G
        DV = Dc.T @ V  # (k_g, m_g)
        ks += float(np.sum(V * G.T)) - float(np.sum((DV @ G) * Q[cols])) - float(np.sum(QG[cols] * (V @ Dc).T))
        M[np.ix_(cols, cols)] += DV @ Dc
        QGQ += QG @ Q.T
    return ks + float(np.sum(M * QGQ.T))


# ------------------------------------------------------------------ indices with ĉ
def rmsea(X2: float, df: float, N: int, G: int = 1, c_hat: float = 1.0) -> float:
    r"""lavaan's ``lav_fit_rmsea``: :math:`\sqrt{\max(X^2/(N\,df) - \hat c/N, 0)}\cdot\sqrt G`."""
    if not (math.isfinite(X2) and math.isfinite(c_hat)):
        return math.nan
    if df <= 0:
        return 0.0
    return math.sqrt(max(X2 / N / df - c_hat / N, 0.0)) * math.sqrt(G)


def _ncx2_cdf(x: float, df: float, ncp: float) -> float:
    return float(special.chndtr(x, df, max(ncp, 0.0)))


def rmsea_ci(X2: float, df: float, N: int, G: int = 1, c_hat: float = 1.0, level: float = 0.90) -> tuple[float, float]:
    r"""lavaan's ``lav_fit_rmsea_ci``: λ solving P(χ²_df(λ) ≤ X²) = 1−α/2 (lower), α/2 (upper);
    bound :math:`\sqrt{\hat c\,\lambda/(N\,df)}\cdot\sqrt G`."""
    if not (math.isfinite(X2) and math.isfinite(c_hat)):
        return (math.nan, math.nan)
    upper_p = 1 - (1 - level) / 2
    lower_p = (1 - level) / 2
    if df < 1 or _ncx2_cdf(X2, df, 0.0) - upper_p < 0:
        lo = 0.0
    else:
        lam = float(special.chndtrinc(X2, df, upper_p))
        lo = math.sqrt(c_hat * lam / (N * df)) * math.sqrt(G) if math.isfinite(lam) and 0 <= lam <= X2 else math.nan
    n_rmsea = max(N, X2 * 4)
    if df < 1 or _ncx2_cdf(X2, df, n_rmsea) - lower_p > 0 or _ncx2_cdf(X2, df, 0.0) - lower_p < 0:
        hi = 0.0
    else:
        lam = float(special.chndtrinc(X2, df, lower_p))
        hi = math.sqrt(c_hat * lam / (N * df)) * math.sqrt(G) if math.isfinite(lam) and lam >= 0 else math.nan
    return lo, hi


def rmsea_close_pvalue(X2: float, df: float, N: int, G: int = 1, c_hat: float = 1.0, h0: float = 0.05) -> float:
    """lavaan's ``lav_fit_rmsea_closefit``: 1 − F(X²; df, λ₀), λ₀ = N·df·h0²/(ĉ·G)."""
    if not (math.isfinite(X2) and math.isfinite(c_hat)) or df <= 0:
        return math.nan
    return 1.0 - _ncx2_cdf(X2, df, N * df * h0 ** 2 / c_hat / G)


def cfi(X2: float, df: float, X2_null: float, df_null: float, c_hat: float = 1.0, c_hat_null: float = 1.0) -> float:
    """lavaan's ``lav_fit_cfi``; with ĉ ≠ 1 (robust): 1 − max(X²−ĉ·df, 0)/max(X²−ĉ·df, X²₀−ĉ₀·df₀, 0)."""
    if not all(math.isfinite(v) for v in (X2, df, X2_null, df_null, c_hat, c_hat_null)):
        return math.nan
    if df > 0 and c_hat != 1 and c_hat_null != 1:
        t1 = max(X2 - c_hat * df, 0.0)
        t2 = max(X2 - c_hat * df, X2_null - c_hat_null * df_null, 0.0)
    else:
        t1 = max(X2 - df, 0.0)
        t2 = max(X2 - df, X2_null - df_null, 0.0)
    if math.isclose(t1, 0.0, abs_tol=1.5e-8) and math.isclose(t2, 0.0, abs_tol=1.5e-8):
        return 1.0
    return 1.0 - t1 / t2


def tli(X2: float, df: float, X2_null: float, df_null: float, c_hat: float = 1.0, c_hat_null: float = 1.0) -> float:
    """lavaan's ``lav_fit_tli``; with ĉ ≠ 1 (robust): 1 − (X²−ĉ·df)df₀ / ((X²₀−ĉ₀·df₀)df)."""
    if not all(math.isfinite(v) for v in (X2, df, X2_null, df_null, c_hat, c_hat_null)):
        return math.nan
    if df > 0 and c_hat != 1 and c_hat_null != 1:
        t1 = (X2 - c_hat * df) * df_null
        t2 = (X2_null - c_hat_null * df_null) * df
    else:
        t1 = (X2 - df) * df_null
        t2 = (X2_null - df_null) * df
    if df > 0 and abs(t2) > 0:
        return 1.0 - t1 / t2
    return 1.0


def _complement_rows(H: np.ndarray) -> np.ndarray | None:
    """Orthonormal rows spanning the orthogonal complement of range(H) from a complete QR of H when H has
    full column rank by a wide margin (R's 1-norm reciprocal condition number above 1e-6, LAPACK's
    ``dtrcon`` — far inside the SVD's rank threshold); None otherwise (the caller's SVD decides)."""
    from scipy.linalg import lapack

    n1, n0 = H.shape
    if not 0 < n0 < n1:
        return None
    Q, R = np.linalg.qr(H, mode="complete")
    rc, info = lapack.dtrcon(np.asfortranarray(R[:n0]), norm="1", uplo="U", diag="N")
    if info != 0 or not rc > 1e-6:
        return None
    return Q[:, n0:].T


#: the normal equations give D1⁺D0 when the Cholesky factor of the column-scaled D1'D1 has a 1-norm reciprocal
#: condition number above this (cond(D1'D1) below ≈ 10⁶: relative error ≲ 1e-10); else the QR
NORMAL_EQUATIONS_RCOND = 1e-3


def _nested_map(deltas1: Sequence[np.ndarray], deltas0: Sequence[np.ndarray]) -> np.ndarray | None:
    """H = D1⁺D0 (Δ stacked over groups) by the normal equations (D1'D1)H = D1'D0, each group's products over its
    non-zero Jacobian columns, solved by Cholesky after scaling D1's columns to unit length — when D1 is well
    conditioned (:data:`NORMAL_EQUATIONS_RCOND`); None otherwise (the caller's QR or SVD decides).

    For nested models D0's columns lie in D1's column space, so H solves D1H = D0 exactly and any solver gives it
    to rounding; the QR of the stacked (G·k × n1) D1 and QᵀD0 are ≈ 1 GFLOP per comparison in the ladder, these
    products a fifth of it (issue 16). Equal to the QR's H to ≈ 4e-15 on the demo study's ladder (column-scaled
    condition numbers 4–11); ``tests/test_cfa_wls_traces.py::test_nested_map_by_normal_equations_equals_pinv``."""
    from scipy.linalg import cho_solve, lapack

    n1, n0 = deltas1[0].shape[1], deltas0[0].shape[1]
    if n1 == 0 or n0 == 0:
        return None
    N = np.zeros((n1, n1))
    Y = np.zeros((n1, n0))
    for d1, d0 in zip(deltas1, deltas0):
        c1, c0 = _nonzero_columns(d1), _nonzero_columns(d0)
        a = d1[:, c1]
        N[np.ix_(c1, c1)] += a.T @ a
        Y[np.ix_(c1, c0)] += a.T @ d0[:, c0]
    d = np.diag(N)
    if not np.all(d > 0) or not np.all(np.isfinite(N)) or not np.all(np.isfinite(Y)):
        return None
    s = np.sqrt(d)
    try:
        L = np.linalg.cholesky(N / np.outer(s, s))
    except np.linalg.LinAlgError:
        return None
    rc, info = lapack.dtrcon(L, norm="1", uplo="L", diag="N")
    if info != 0 or not rc > NORMAL_EQUATIONS_RCOND:
        return None
    return cho_solve((L, True), Y / s[:, None]) / s[:, None]


def _pinv_times(D: np.ndarray, X: np.ndarray) -> np.ndarray:
    """D⁺X by a reduced QR of D (R⁻¹QᵀX) when D has full column rank — D⁺ = R⁻¹Qᵀ then — instead of
    the SVD behind ``np.linalg.pinv`` (about a third of the flops); ``pinv`` when R is (nearly) singular."""
    from scipy.linalg import solve_triangular

    Q, R = np.linalg.qr(D)
    d = np.abs(np.diag(R))
    if not d.size or d.min() <= max(D.shape) * np.finfo(float).eps * d.max() * 1e3:
        return np.linalg.pinv(D) @ X
    return solve_triangular(R, Q.T @ X)


#: from this many rows on, the Satorra test takes model 1's meat from its fit instead of recomputing it
#: (tr₁ summed as tr(P̃M) instead of Σ_g f_g tr(P̃M_g): the same sum regrouped) and D1⁺D0 by the normal
#: equations (:func:`_nested_map`) or a QR (:func:`_pinv_times`) instead of an SVD; below it (the demo) as before
SHARED_MEAT_N = 10_000


def satorra2000_difference(T1: float, df1: int, T0: float, df0: int, deltas1: Sequence[np.ndarray],
                           deltas0: Sequence[np.ndarray], groups: Sequence[GroupMoments],
                           P_inv: np.ndarray, M1: np.ndarray | None = None) -> dict[str, float]:
    r"""Scaled-shifted χ² difference test of nested DWLS models (Satorra, 2000), lavaan's
    ``lavTestLRT`` default for WLSMV (``method = "satorra.2000"``, ``scaled.shifted = TRUE``,
    ``A.method = "delta"``).

    Model 1 is the less restricted one (T1, df1, its Jacobians Δ1 and inverted unit
    information P⁻¹), model 0 the nested one. The restrictions are
    A = orthogonal complement of H = Δ1⁺Δ0 (Δ stacked over groups), so AH = 0;
    with P̃ = P⁻¹A'(AP⁻¹A')⁺AP⁻¹, U = W Δ1 P̃ Δ1' W (block-diagonal W),
    tr₁ = Σ_g f_g tr(W_gΓ_gW_gΔ1_gP̃Δ1_g'), tr₂ = tr((U Γ_f)²) with Γ_f = ⊕ f_gΓ_g;
    a = √(m/tr₂), b = m − a·tr₁ and T_d = a(T0 − T1) + b on m = df0 − df1 degrees of freedom.
    """
    m = df0 - df1
    if m <= 0:
        return {"chisq_diff": T0 - T1, "df_diff": m, "pvalue": math.nan}
    N = sum(gm.n for gm in groups)
    fg = [gm.n / N for gm in groups]
    D0 = np.vstack(deltas0)
    A = None
    if M1 is not None:  # large n: H by the normal equations when D1 is well conditioned, else by D1's QR; A from
        # a QR of H
        H = _nested_map(deltas1, deltas0)
        if H is None:
            H = _pinv_times(np.vstack(deltas1), D0)
        A = _complement_rows(H)  # another orthonormal basis of the same space: P̃ is the same (to rounding)
    else:
        D1 = np.vstack(deltas1)
        H = np.linalg.pinv(D1) @ D0
    if A is None:
        U_, s, _ = np.linalg.svd(H, full_matrices=True)
        rank = int(np.sum(s > max(H.shape) * np.finfo(float).eps * (s[0] if s.size else 0.0) * 1e3))
        A = U_[:, rank:].T
    PA = P_inv @ A.T
    Pt = PA @ np.linalg.pinv(A @ PA) @ PA.T
    # tr((UΓ_f)²) with U = WΔ1P̃Δ1'W: tr((P̃M)²), M = Σ_g f_g Δ1_g'W_gΓ_gW_gΔ1_g — the k × k regrouping of
    # the (Σ m_g)² product (issue 16; equal to the dense form to rounding, tests/test_cfa_wls_traces.py)
    if M1 is not None:  # model 1's meat (its fit computed it: the same sum), tr₁ = tr(P̃M) by linearity
        M = M1
        tr1 = float(np.sum(M * Pt.T))
    else:
        tr1 = 0.0
        M = np.zeros_like(Pt)
        for D, gm, f in zip(deltas1, groups, fg):
            WD = D * gm.w[:, None]
            Mg = WD.T @ gm.gamma @ WD
            tr1 += f * float(np.sum(Mg * Pt.T))
            M += f * Mg
    PM = Pt @ M
    tr2 = float(np.sum(PM * PM.T))
    a = math.sqrt(m / tr2)
    b = m - a * tr1
    Td = (T0 - T1) * a + b
    return {"chisq_diff": Td, "df_diff": m, "pvalue": float(special.chdtrc(m, Td)), "a": a, "b": b,
            "trace_ugamma": tr1, "trace_ugamma2": tr2}
