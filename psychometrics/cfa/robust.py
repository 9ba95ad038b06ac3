r"""Robust ML (MLR) test statistics and fit indices, complete or incomplete data, as lavaan 0.6-14.

**Yuan–Bentler scaled χ² (Mplus variant)** (lavaan ``test = "yuan.bentler.mplus"``): with the
saturated model's observed information :math:`A_{1g}` and first-order information
:math:`B_{1g}` (unit, per group, at the H1 = EM or sample moments), the model's observed
information (bread) :math:`E` and meat :math:`B_0 = \frac1N\sum_i s_is_i^\top`,

.. math::

    c = \frac{\sum_g\operatorname{tr}(A_{1g}^{-1}B_{1g}) - \operatorname{tr}(B_0E^{-1})}{df},\qquad
    \chi^2_{scaled} = \chi^2/c .

The baseline (independence) model is scaled the same way. ``cfi/tli/rmsea_scaled`` plug the
scaled statistics into the usual formulas.

**Robust CFI/TLI/RMSEA**, complete data (Brosseau-Liard, Savalei & Li, 2012; Brosseau-Liard &
Savalei, 2014): :math:`\mathrm{CFI} = 1-\max(X^2-\hat c\,df,0)/\max(X^2-\hat c\,df, X^2_B-\hat c_B df_B,0)`,
:math:`\mathrm{RMSEA} = \sqrt G\sqrt{\max(X^2/(N\,df)-\hat c/N, 0)}` with the ML χ² and the
scaling factors. **Incomplete data** (lavaan's ``lav_fit_fiml_corrected``; Zhang & Savalei,
2023): :math:`X^2 = N\,F_{ML}(\hat\mu,\hat\Sigma;\tilde m,\tilde S)` at the EM moments and

.. math::

    U = W_m - W_m\Delta(\Delta^\top W_m\Delta)^{-1}\Delta^\top W_m,\quad
    k = \operatorname{tr}(UW_m^{-1}W_cW_m^{-1}U\Gamma)\ \text{(MLR)},\quad
    k = \operatorname{tr}(W_cW_m^{-1}UW_m^{-1})\ \text{(ML)},\quad \hat c = k/df,

:math:`W_m` the observed and :math:`W_c` the complete-data saturated information at the EM
moments, :math:`\Gamma = W_m^{-1}J_mW_m^{-1}` (block-diagonal over groups with weights
:math:`N_g/N`). Validated against lavaan 0.6-14 ``fitMeasures`` (``tests/reference/missing/``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from psychometrics.cfa import fit_indices as fi
from psychometrics.cfa.fiml import case_score_crossprod, sat_eval, sat_hessian, scores_to_vech, to_vech, vech_index

__all__ = ["robust_measures", "scaled_chisq_factor", "trace_h1"]


def trace_h1(eng: Any) -> float:
    """Σ_g tr(A1_g⁻¹ B1_g) at the H1 (EM or sample) moments."""
    key = ("trace_h1", eng.ms)
    if key not in eng.data.cache:
        total = 0.0
        for b, (m, S, _, _) in zip(eng.data.batches, eng.data.em):
            a, bb = _sat_pieces(b, m, S, eng.ms, True)
            total += float(np.trace(np.linalg.solve(a, bb)))
        eng.data.cache[key] = total
    return eng.data.cache[key]


def _sat_pieces(b: Any, mu: np.ndarray, S: np.ndarray, ms: bool, first_order: bool) -> tuple[np.ndarray, Any]:
    """Unit observed (A1) and first-order (B1, if asked) saturated information in (μ, vech Σ) coordinates."""
    ev = sat_eval(b, mu, S)
    A1 = to_vech(sat_hessian(b, ev, ms), b.p, ms) / b.N
    if not first_order:
        return A1, None
    B1 = case_score_crossprod(b, mu, S, ms, lambda s: scores_to_vech(s, b.p, ms)) / b.N
    return A1, B1


def _vech_cols(p: int, ms: bool) -> np.ndarray:
    vi = vech_index(p)
    return np.concatenate([np.arange(p), p + vi]) if ms else vi


def _baseline_delta(p: int, ms: bool) -> np.ndarray:
    """Jacobian of the independence model (free means and variances) in full coordinates."""
    k = 2 * p if ms else p
    D = np.zeros((k, (p + p * p) if ms else p * p))
    off = p if ms else 0
    for i in range(p):
        if ms:
            D[i, i] = 1.0
        D[(p if ms else 0) + i, off + i * p + i] = 1.0
    return D


def _trace_h0(deltas: list[np.ndarray], batches: list, moments: list, ms: bool, N: float,
              second: np.ndarray | None = None) -> float:
    """tr(B0 E⁻¹) for a model with Jacobians ``deltas`` (rows = parameters) at ``moments``."""
    n = deltas[0].shape[0]
    E = np.zeros((n, n))
    Bm = np.zeros((n, n))
    for D, b, (mu, S) in zip(deltas, batches, moments):
        ev = sat_eval(b, mu, S)
        E += D @ sat_hessian(b, ev, ms) @ D.T
        Bm += case_score_crossprod(b, mu, S, ms, lambda s, D=D: s @ D.T)
    if second is not None:
        E -= second
    return float(np.trace(np.linalg.solve(E / N, Bm / N)))


def scaled_chisq_factor(trace_h1: float, trace_h0: float, df: int) -> float:
    if df <= 0:
        return math.nan
    c = (trace_h1 - trace_h0) / df
    return c if c > 0 else math.nan


def _robust_rmsea(X2: float, df: int, c: float, N: float, G: int) -> tuple[float, float, float]:
    if not (df > 0 and math.isfinite(c)):
        return math.nan, math.nan, math.nan
    r = math.sqrt(G) * math.sqrt(max(X2 / N / df - c / N, 0.0))
    lo, hi = fi.rmsea_ci(X2 / c, df, N, G)
    return r, lo * math.sqrt(c), hi * math.sqrt(c)


class _ZhangSavalei:
    """The pieces of lavaan's ``lav_fit_fiml_corrected`` shared by the model and the baseline.

    All of Wm, Wm⁻¹WcWm⁻¹ and Γ are block-diagonal over groups; with
    Q = WmΔE⁻¹ΔᵀWm, U = Wm − Q the traces expand into per-group blocks and K × K products:
    tr(UMUΓ) = tr(WmMWmΓ) − 2 tr(E⁻¹ΔᵀWm(MWmΓ)WmΔ) + tr(E⁻¹PE⁻¹R), P = ΔᵀWmMWmΔ, R = ΔᵀWmΓWmΔ.
    """

    def __init__(self, eng: Any, A1: list, B1: list, mlr: bool):
        d = eng.data
        N = sum(d.nobs)
        f = [n / N for n in d.nobs]
        self.mlr = mlr
        self.Wm, self.M, self.Gam, self.X = [], [], [], []
        const = 0.0
        for g, ((mu, S, _, _), b) in enumerate(zip(d.em, d.batches)):
            Si = np.linalg.inv(S)
            p = b.p
            H = np.zeros((p + p * p, p + p * p))  # complete-data information in full coordinates
            H[:p, :p] = Si
            H[p:, p:] = 0.5 * np.kron(Si, Si)
            Wc = to_vech(H, p, True)
            Ai = np.linalg.inv(A1[g])
            Wm = f[g] * A1[g]
            M = Ai @ Wc @ Ai / f[g]  # (Wm⁻¹)(Wc f)(Wm⁻¹) of the group
            self.Wm.append(Wm)
            self.M.append(M)
            if mlr:
                Gam = Ai @ B1[g] @ Ai / f[g]
                X = M @ Wm @ Gam
                self.Gam.append(Gam)
                self.X.append(X)
                const += float(np.sum((Wm @ M).T * (Wm @ Gam)))  # tr(Wm M Wm Γ)
            else:
                const += float(np.sum(M * Wm))  # tr(M Wm)
        self.const = const

    def chat(self, deltas_v: list[np.ndarray], df: int) -> float:
        """ĉ = k/df (V3 for MLR, V6 for ML) for a model with Jacobians ``deltas_v`` (parameters × coordinates)."""
        WD = [Wm @ D.T for Wm, D in zip(self.Wm, deltas_v)]
        E = sum(D @ w for D, w in zip(deltas_v, WD))
        Einv = np.linalg.inv(E)
        P = sum(w.T @ M @ w for w, M in zip(WD, self.M))
        if self.mlr:
            T2 = sum(w.T @ X @ w for w, X in zip(WD, self.X))
            R = sum(w.T @ G @ w for w, G in zip(WD, self.Gam))
            k = self.const - 2.0 * float(np.sum(Einv * T2.T)) + float(np.sum((Einv @ P).T * (Einv @ R)))
        else:
            k = self.const - float(np.sum(Einv * P.T))
        return k / df if df > 0 else math.nan


def _ml_discrepancy(S: np.ndarray, m: np.ndarray, Sig: np.ndarray, mu: np.ndarray) -> float:
    p = S.shape[0]
    Si = np.linalg.inv(Sig)
    d = m - mu
    return float(np.linalg.slogdet(Sig)[1] + np.sum(S * Si) + d @ Si @ d - np.linalg.slogdet(S)[1] - p)


def _data_pieces(eng: Any, b_df: int) -> dict[str, Any]:
    """Everything that depends on the data only (shared by every model fitted to them, e.g. an invariance
    ladder): saturated A1/B1, tr(A1⁻¹B1), the baseline's scaling factor and its FIML-corrected pieces."""
    d, ms, mlr = eng.data, eng.ms, eng.estimator == "MLR"
    key = ("robust", ms, mlr, eng.fiml)
    if key in d.cache:
        return d.cache[key]
    G, N = len(d.batches), float(sum(d.nobs))
    p = d.batches[0].p
    h1_mom = [(m, S) for m, S, _, _ in d.em]
    A1, B1 = [], []
    for b, (m, S) in zip(d.batches, h1_mom):
        a, bb = _sat_pieces(b, m, S, ms, mlr)
        A1.append(a)
        B1.append(bb)
    out: dict[str, Any] = {"A1": A1, "B1": B1, "h1_mom": h1_mom}
    if mlr:
        out["trace_h1"] = trace = float(sum(np.trace(np.linalg.solve(a, bb)) for a, bb in zip(A1, B1)))
        moms_b = d.baseline_moments if eng.fiml else [(m, np.diag(np.diag(S))) for m, S in h1_mom]
        if not ms:
            moms_b = [(eng.stats.mean[g], S) for g, (_, S) in enumerate(moms_b)]
        nb = 2 * p if ms else p
        bd_full = []
        for g in range(G):
            D = np.zeros((nb * G, (p + p * p) if ms else p * p))
            D[g * nb:(g + 1) * nb] = _baseline_delta(p, ms)
            bd_full.append(D)
        out["c_b"] = scaled_chisq_factor(trace, _trace_h0(bd_full, d.batches, moms_b, ms, N), b_df)
    if eng.fiml and not d.complete:
        cols = _vech_cols(p, ms)
        out["X2b"] = sum(n * _ml_discrepancy(S, m, Sb, mb)
                         for n, (m, S), (mb, Sb) in zip(d.nobs, h1_mom, d.baseline_moments))
        zs = _ZhangSavalei(eng, A1, B1, mlr)
        nb = 2 * p
        dvb = []
        for g in range(G):
            D = np.zeros((nb * G, len(cols)))
            D[g * nb:(g + 1) * nb] = _baseline_delta(p, ms)[:, cols]
            dvb.append(D)
        out.update(zs=zs, cols=cols, chat_b=zs.chat(dvb, b_df))
    d.cache[key] = out
    return out


def robust_measures(eng: Any, out: dict[str, float]) -> dict[str, float]:
    """The MLR (scaled, robust) fit measures of a fitted :class:`~psychometrics.cfa.fiml_engine.RobustEngine`."""
    d = eng.data
    G, N = eng.spec.ngroups, float(sum(d.nobs))
    df, b_df = int(out["df"]), int(out["baseline_df"])
    mlr = eng.estimator == "MLR"
    pieces = _data_pieces(eng, b_df)
    res: dict[str, float] = {}
    if mlr:
        trace_h1 = pieces["trace_h1"]
        trace_h0 = float(np.trace(eng.bread_inverse() @ eng.meat()))
        c = scaled_chisq_factor(trace_h1, trace_h0, df)
        npar = sum(1 for prm in eng.spec.parameters if prm.free)  # lavaan: constrained copies counted
        n_mom = sum(a.shape[0] for a in pieces["A1"])
        c_b = pieces["c_b"]
        chisq, b_chisq = out["chisq"], out["baseline_chisq"]
        cs, bcs = chisq / c, b_chisq / c_b
        ci = fi.rmsea_ci(cs, df, N, G)
        res.update({
            "chisq_scaled": cs, "df_scaled": df, "pvalue_scaled": fi.chisq_pvalue(cs, df),
            "chisq_scaling_factor": c, "baseline_chisq_scaled": bcs, "baseline_df_scaled": b_df,
            "baseline_pvalue_scaled": fi.chisq_pvalue(bcs, b_df), "baseline_chisq_scaling_factor": c_b,
            "scaling_factor_h1": trace_h1 / n_mom, "scaling_factor_h0": trace_h0 / npar,
            "cfi_scaled": fi.cfi(cs, df, bcs, b_df), "tli_scaled": fi.tli(cs, df, bcs, b_df),
            "rmsea_scaled": fi.rmsea(cs, df, N, G), "rmsea_ci_lower_scaled": ci[0], "rmsea_ci_upper_scaled": ci[1],
            "rmsea_pvalue_scaled": fi.rmsea_pvalue(cs, df, N, G),
        })
    if "zs" in pieces:
        # Zhang & Savalei: X² at the EM moments, FIML-corrected ĉ (V3 with MLR, V6 with ML)
        dv = [D[:, pieces["cols"]] for D in eng._deltas_cache]
        X2 = sum(n * _ml_discrepancy(S, m, i["Sigma"], i["mu"])
                 for n, (m, S), i in zip(d.nobs, pieces["h1_mom"], eng.imp))
        X2b, chat, chat_b = pieces["X2b"], pieces["zs"].chat(dv, df), pieces["chat_b"]
    elif mlr:
        X2, X2b, chat, chat_b = out["chisq"], out["baseline_chisq"], res["chisq_scaling_factor"], \
            res["baseline_chisq_scaling_factor"]
    else:
        return res
    t1 = X2 - chat * df
    t2 = X2b - chat_b * b_df
    cfi_r = 1.0 - max(t1, 0.0) / max(t1, t2, 0.0) if max(t1, t2, 0.0) > 0 else 1.0
    tli_r = 1.0 - (t1 * b_df) / (t2 * df) if df > 0 and t2 != 0 else 1.0
    r, lo, hi = _robust_rmsea(X2, df, chat, N, G)
    res.update({"cfi_robust": cfi_r, "tli_robust": tli_r, "rmsea_robust": r,
                "rmsea_ci_lower_robust": lo, "rmsea_ci_upper_robust": hi})
    return res
