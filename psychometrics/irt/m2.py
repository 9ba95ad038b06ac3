"""Limited-information global fit: M2 (binary items; Maydeu-Olivares & Joe 2005, 2006) and its
polytomous version C2 (Cai & Monroe 2014), with RMSEA2 (Maydeu-Olivares & Joe 2014).

Statistics on complete rows. The moment vector p holds, for C2, the univariate category
proportions P̂(X_j = k), k ≥ 1, and the cross-products mean(X_j X_j′), j < j′ (for binary
items this is exactly M2's univariate and bivariate margins). Every moment is a product over
items of a function g_j(X_j) (an indicator of a category, the score x, or 1), so its
model-implied value is Σ_q w_q Π_j Σ_k P_jk(θ_q) g_j(k), and the covariance of two
moments uses the elementwise product of their item functions:

    Ξ_ef = Σ_q w_q Π_j Σ_k P_jk(θ_q) g_ej(k) g_fj(k) − π_e π_f
    Δ = ∂π/∂ξᵀ (central differences),  C = Ξ⁻¹ − Ξ⁻¹Δ(ΔᵀΞ⁻¹Δ)⁻¹ΔᵀΞ⁻¹
    M2 = N (p − π)ᵀ C (p − π),  df = s − q,  RMSEA2 = √(max(M2 − df, 0) / (N df))

Validated against the Python ``mirt`` package's M2 for the 2PL (tests/reference/irt/m2_mirt_2pl_sim_2pl.json).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError
from psychometrics.irt._models import category_probs
from psychometrics.irt.results import IRTCalibration
from psychometrics.irt.scores import recode

__all__ = ["limited_information_fit"]


def _design(kcats: list[int]) -> tuple[np.ndarray, list[str]]:
    """Item functions G (s × J × Kmax) of the moments and their labels."""
    j_n, kmax = len(kcats), max(kcats)
    rows, labels = [], []
    for j, k in enumerate(kcats):
        for cat in range(1, k):
            g = np.ones((j_n, kmax))
            g[j] = 0.0
            g[j, cat] = 1.0
            rows.append(g)
            labels.append(f"P(X{j + 1}={cat})")
    for j in range(j_n):
        for jj in range(j + 1, j_n):
            g = np.ones((j_n, kmax))
            g[j] = np.arange(kmax)
            g[jj] = np.arange(kmax)
            rows.append(g)
            labels.append(f"X{j + 1}·X{jj + 1}")
    return np.array(rows), labels


def _item_vectors(cal: IRTCalibration) -> list[np.ndarray]:
    """(a, c_1..c_{K−1}) per item as one array each (:meth:`IRTCalibration.item_arrays`: perturbing arrays in
    the finite-difference Δ is ~50× cheaper than copying and indexing the DataFrame)."""
    return [np.r_[a, c] for a, c in cal.item_arrays()]


def _probs(cal: IRTCalibration, vecs: list[np.ndarray] | None = None) -> np.ndarray:
    """P (J, Q, Kmax), zero beyond an item's categories (``vecs``: :func:`_item_vectors`, default the
    calibration's)."""
    vecs = _item_vectors(cal) if vecs is None else vecs
    kcats = [v.size for v in vecs]
    out = np.zeros((len(kcats), cal.nodes.size, max(kcats)))
    for j, v in enumerate(vecs):
        out[j, :, : v.size] = _item_probs(cal, v)
    return out


def _item_probs(cal: IRTCalibration, v: np.ndarray) -> np.ndarray:
    """P (Q, K) of one item with parameters ``v`` = (a, c_1..c_{K−1}) at the calibration's nodes."""
    return category_probs(cal.engine_model, v[:1], v[None, 1:], cal.nodes)[0]


def _moments(p: np.ndarray, g: np.ndarray, w: np.ndarray) -> np.ndarray:
    cond = np.einsum("jqk,ejk->ejq", p, g)  # per moment, item factor at each node
    return np.prod(cond, axis=1) @ w


def limited_information_fit(cal: IRTCalibration, data: pd.DataFrame, h: float = 1e-5,
                            weights: np.ndarray | None = None) -> dict[str, float]:
    """M2 (binary) / C2 (polytomous), df, p, RMSEA2 of a calibration on its data (complete rows).

    Meant for a subscale: the number of moments grows with J², the Ξ matrix with J⁴.
    ``weights``: frequency weights (each row stands for that many respondents, e.g. the distinct
    response patterns with their counts): the same moments up to the order of summation.
    """
    from psychometrics._dist import chi2_sf

    codes = recode(cal, data)
    complete = (codes >= 0).all(axis=1)
    codes = codes[complete]
    w = None if weights is None else np.asarray(weights, dtype=float)[complete]
    n = codes.shape[0] if w is None else int(w.sum())
    kcats = [len(cal.category_values[i]) for i in cal.items]
    g, _ = _design(kcats)
    s = g.shape[0]
    free = [(item, col) for item, k in zip(cal.items, kcats) for col in ["a"] + [f"c{v}" for v in range(1, k)]]
    q_par = len(free)
    if s - q_par <= 0:
        raise DataError(f"M2/C2: {s} moments but {q_par} parameters; the statistic needs df > 0 (more items)")
    # observed moments: per person the product of item functions at the responses
    obs = np.ones((codes.shape[0], s))
    for j in range(len(kcats)):
        obs *= g[:, j, :][:, codes[:, j]].T
    p_hat = obs.mean(axis=0) if w is None else (w @ obs) / w.sum()
    vecs = _item_vectors(cal)
    probs = _probs(cal, vecs)
    pi = _moments(probs, g, cal.weights)
    # Ξ: elementwise products of item functions, chunked over rows of moments
    xi = np.empty((s, s))
    for lo in range(0, s, 64):
        gg = g[lo : lo + 64, None, :, :] * g[None, :, :, :]  # (e, f, J, K)
        pair = np.einsum("jqk,efjk->efjq", probs, gg, optimize=True)
        xi[lo : lo + 64] = np.prod(pair, axis=2) @ cal.weights
    xi -= np.outer(pi, pi)
    delta = np.empty((s, q_par))
    col = 0
    # a perturbed parameter changes its own item's probabilities only: those recomputed, the others copied
    # (the same arrays _probs gives for the perturbed vectors)
    for j, v in enumerate(vecs):  # columns in the order of ``free``: per item a, c1, …
        for m in range(v.size):
            moments = []
            for step in (h, -h):
                x = v.copy()
                x[m] += step
                p = probs.copy()
                p[j, :, : x.size] = _item_probs(cal, x)
                moments.append(_moments(p, g, cal.weights))
            delta[:, col] = (moments[0] - moments[1]) / (2 * h)
            col += 1
    xi_inv = np.linalg.inv(xi)
    mid = np.linalg.inv(delta.T @ xi_inv @ delta)
    c = xi_inv - xi_inv @ delta @ mid @ delta.T @ xi_inv
    r = p_hat - pi
    stat = float(n * r @ c @ r)
    df = s - q_par
    return {"statistic": stat, "name": "M2" if max(kcats) == 2 else "C2", "df": float(df),
            "p": float(chi2_sf(stat, df)), "rmsea2": float(np.sqrt(max(stat - df, 0.0) / (n * df))), "n": float(n)}


def _with_parameters(cal: IRTCalibration, params: pd.DataFrame) -> IRTCalibration:
    """The calibration with other parameter values (for evaluating a statistic at given estimates)."""
    return dataclasses.replace(cal, parameters=params)
