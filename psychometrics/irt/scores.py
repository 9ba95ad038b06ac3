"""θ scores, information, reliability and the sum-score → EAP table of a calibration."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError
from psychometrics.irt._models import category_probs, item_information
from psychometrics.irt.results import IRTCalibration

__all__ = [
    "THETA_GRID",
    "recode",
    "item_probabilities",
    "eap_scores",
    "ml_scores",
    "lord_wingersky",
    "sum_score_table",
    "information",
    "marginal_reliability",
    "empirical_reliability",
]


#: θ grid of the information and category-response curves of the report and results.json.
THETA_GRID = np.linspace(-4.0, 4.0, 33)


def recode(cal: IRTCalibration, data: pd.DataFrame) -> np.ndarray:
    """Responses → category codes 0..K_j−1 of the calibration (−1 = missing)."""
    missing = [i for i in cal.items if i not in data.columns]
    if missing:
        raise DataError(f"IRT scoring: items of the calibration not in the data: {', '.join(missing[:10])}")
    out = np.full((data.shape[0], len(cal.items)), -1, dtype=np.int64)
    for j, item in enumerate(cal.items):
        col = pd.to_numeric(data[item], errors="coerce").to_numpy(dtype=float)
        vals = np.asarray(cal.category_values[item])
        ok = ~np.isnan(col)
        idx = np.searchsorted(vals, col[ok])
        idx_c = np.clip(idx, 0, vals.size - 1)
        bad = vals[idx_c] != col[ok]
        if bad.any():
            row = int(np.flatnonzero(ok)[np.flatnonzero(bad)[0]])
            raise DataError(
                f"IRT scoring: item {item} row {row + 1} has value {col[row]:g}, which is not a calibrated "
                f"category ({', '.join(f'{v:g}' for v in vals)}); recode or refit"
            )
        out[ok, j] = idx_c
    return out


def item_probabilities(cal: IRTCalibration, theta: np.ndarray) -> list[np.ndarray]:
    """P(X_j = k | θ) per item, each (len(θ), K_j)."""
    return _per_item(category_probs, cal, np.asarray(theta, dtype=float))


def _per_item(fn: Any, cal: IRTCalibration, theta: np.ndarray) -> list[np.ndarray]:
    """``fn(model, a, c, θ)[j]`` of every item j, evaluated once for all items with the same number of
    categories: each item's array is the one of a call for it alone (the operations are element-wise or along
    the item's own categories), without a call per item (28 for a long total, dozens of times per step)."""
    arr = cal.item_arrays()
    by_k: dict[int, list[int]] = {}
    for j, (_, c) in enumerate(arr):
        by_k.setdefault(c.size, []).append(j)
    out: list[Any] = [None] * len(arr)
    for k, idx in by_k.items():
        res = fn(cal.engine_model, np.array([arr[j][0] for j in idx]), np.array([arr[j][1] for j in idx]).reshape(-1, k),
                 theta)
        for r, j in enumerate(idx):
            out[j] = res[r]
    return out


def _log_lik_nodes(cal: IRTCalibration, codes: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """log P(x_i | θ_q), (N, Q)."""
    out = np.zeros((codes.shape[0], theta.size))
    for j, p in enumerate(item_probabilities(cal, theta)):
        obs = codes[:, j] >= 0
        out[obs] += np.log(p[:, codes[obs, j]].T)
    return out


#: above this many rows EAP scores are computed per distinct response pattern (then given to each row): the
#: same numbers to rounding. 10,000 since the ninth session, as the IRT step's ``_PATTERNS_ABOVE`` (was 50,000)
_DISTINCT_ABOVE = 10_000


def _eap(cal: IRTCalibration, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lf = _log_lik_nodes(cal, codes, cal.nodes) + np.log(cal.weights)
    lf -= lf.max(axis=1, keepdims=True)
    post = np.exp(lf)
    post /= post.sum(axis=1, keepdims=True)
    eap = post @ cal.nodes
    return eap, np.sqrt(np.maximum(post @ cal.nodes**2 - eap**2, 0.0))


def eap_scores(cal: IRTCalibration, data: pd.DataFrame) -> pd.DataFrame:
    """EAP θ and posterior SD per respondent on the calibration's quadrature (Bock & Mislevy 1982).

    EAP(x) = Σ_q θ_q w_q L(x|θ_q) / Σ_q w_q L(x|θ_q); rows without any response get NaN.
    """
    codes = recode(cal, data)
    if codes.shape[0] > _DISTINCT_ABOVE:  # large n: once per distinct response pattern, then per row
        from psychometrics.irt._data import _unique_patterns

        pats, inverse, _ = _unique_patterns(codes)
        eap_u, psd_u = _eap(cal, pats)
        eap, psd = eap_u[inverse.ravel()], psd_u[inverse.ravel()]
    else:
        eap, psd = _eap(cal, codes)
    none = (codes < 0).all(axis=1)
    eap[none] = np.nan
    psd[none] = np.nan
    return pd.DataFrame({"theta": eap, "se": psd}, index=data.index)


def ml_scores(cal: IRTCalibration, data: pd.DataFrame, max_iter: int = 50) -> pd.DataFrame:
    """Maximum-likelihood θ with SE = 1/√I(θ) (Newton per respondent, bounded to ±10 with a flag).

    All-lowest / all-highest patterns have no finite ML estimate: θ = ∓∞, SE = NaN,
    ``extreme`` = True.
    """
    codes = recode(cal, data)
    kmax = np.array([len(cal.category_values[i]) - 1 for i in cal.items])
    ans = codes >= 0
    low = np.all((codes == 0) | ~ans, axis=1)
    high = np.all((codes == kmax) | ~ans, axis=1)
    theta = np.zeros(codes.shape[0])
    h = 1e-4
    for _ in range(max_iter if codes.shape[0] else 0):
        grid = np.stack([theta - h, theta, theta + h])
        ll = np.stack([_ll_at(cal, codes, g) for g in grid])
        g1 = (ll[2] - ll[0]) / (2 * h)
        g2 = (ll[2] - 2 * ll[1] + ll[0]) / h**2
        step = np.where(g2 < 0, -g1 / np.where(g2 < 0, g2, -1.0), np.sign(g1) * 0.5)
        theta = np.clip(theta + np.clip(step, -1.0, 1.0), -10.0, 10.0)
        if np.max(np.abs(step)) < 1e-8:
            break
    info = np.zeros(codes.shape[0])
    for j, (a, c) in enumerate(cal.item_arrays()):
        ij = item_information(cal.engine_model, np.array([a]), c[None, :], theta)[0]
        info += np.where(ans[:, j], ij, 0.0)
    se = 1.0 / np.sqrt(info)
    theta = np.where(low, -np.inf, np.where(high, np.inf, theta))
    se = np.where(low | high, np.nan, se)
    none = ~ans.any(axis=1)
    theta[none] = np.nan
    return pd.DataFrame({"theta": theta, "se": se, "extreme": low | high}, index=data.index)


def _ll_at(cal: IRTCalibration, codes: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Σ_j log P(x_ij | θ_i) at a person-specific θ_i."""
    out = np.zeros(codes.shape[0])
    rows = np.arange(codes.shape[0])
    for j, (a, c) in enumerate(cal.item_arrays()):
        p = category_probs(cal.engine_model, np.array([a]), c[None, :], theta)[0]  # (N, K)
        obs = codes[:, j] >= 0
        out[obs] += np.log(p[rows[obs], codes[obs, j]])
    return out


def lord_wingersky(probs: list[np.ndarray]) -> np.ndarray:
    """P(sum score = s | θ_q) by the recursion of Lord & Wingersky (1984); (Q, S+1).

    ``probs[j]`` is item j's (Q, K_j) table of category probabilities; each row must be finite,
    non-negative and sum to 1 (else :class:`DataError` naming the item's position)."""
    if not len(probs):
        raise DataError("lord_wingersky needs the category probabilities of at least one item")
    for j, p in enumerate(probs):
        p = np.asarray(p, dtype=float)
        if p.ndim != 2 or not np.isfinite(p).all() or (p < 0).any() or not np.allclose(p.sum(axis=1), 1.0):
            raise DataError(f"lord_wingersky: the category probabilities of item {j + 1} are not a (θ × category) "
                            "table of finite non-negative numbers whose rows sum to 1")
    out = probs[0].copy()
    for p in probs[1:]:
        k = p.shape[1]
        new = np.zeros((out.shape[0], out.shape[1] + k - 1))
        for cat in range(k):
            new[:, cat : cat + out.shape[1]] += out * p[:, [cat]]
        out = new
    return out


def sum_score_table(cal: IRTCalibration) -> pd.DataFrame:
    """Sum score → EAP(θ), posterior SD and model-implied probability (Thissen et al. 1995).

    P(s) = Σ_q w_q L(s|θ_q), EAP(s) = Σ_q θ_q w_q L(s|θ_q)/P(s). ``sum_score`` is in the
    metric of the item values (Σ of the lowest values + the code sum), valid when each
    item's values are consecutive integers; ``code_sum`` is the 0-based sum.
    """
    lw = lord_wingersky(item_probabilities(cal, cal.nodes))
    joint = lw * cal.weights[:, None]
    ps = joint.sum(axis=0)
    eap = (cal.nodes @ joint) / ps
    psd = np.sqrt(np.maximum((cal.nodes**2 @ joint) / ps - eap**2, 0.0))
    offset = sum(min(cal.category_values[i]) for i in cal.items)
    codes = np.arange(lw.shape[1])
    return pd.DataFrame(
        {"sum_score": codes + offset, "code_sum": codes, "probability": ps, "eap": eap, "psd": psd}
    ).set_index("sum_score")


def information(cal: IRTCalibration, theta: np.ndarray | None = None) -> pd.DataFrame:
    """Item and test information, conditional SE and reliability r(θ) = 1 − 1/I(θ) on a θ grid."""
    theta = np.linspace(-4, 4, 81) if theta is None else np.asarray(theta, dtype=float)
    cols = {}
    for item, info in zip(cal.items, _per_item(item_information, cal, theta)):
        cols[item] = info
    frame = pd.DataFrame(cols, index=pd.Index(theta, name="theta"))
    total = frame.sum(axis=1)
    frame["test_information"] = total
    frame["conditional_se"] = 1.0 / np.sqrt(total)
    frame["conditional_reliability"] = np.maximum(1.0 - 1.0 / total, 0.0)
    return frame


def marginal_reliability(cal: IRTCalibration) -> float:
    """ρ̄ = 1 − Σ_q w_q / (I(θ_q) + 1) (Green et al. 1984; posterior error variance for EAP)."""
    info = information(cal, cal.nodes)["test_information"].to_numpy()
    return float(1.0 - np.sum(cal.weights / (info + 1.0)))


def empirical_reliability(scores: pd.DataFrame) -> float:
    """Var(EAP) / (Var(EAP) + mean(PSD²)) of an :func:`eap_scores` table."""
    s = scores.dropna()
    if len(s) < 2:
        raise DataError(f"empirical reliability needs at least 2 scored respondents, not {len(s)}")
    v = float(np.var(s["theta"]))
    return v / (v + float(np.mean(s["se"] ** 2)))
