"""Item fit (S-X²) and local dependence (Chen–Thissen LD χ², Yen's Q3) of a calibration."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from psychometrics._validation import name_list
from psychometrics.exceptions import DataQualityWarning
from psychometrics.irt.results import IRTCalibration
from psychometrics.irt.scores import eap_scores, item_probabilities, lord_wingersky, recode

__all__ = ["item_fit", "local_dependence"]


def _collapse(obs: np.ndarray, exp: np.ndarray, min_expected: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge adjacent score groups from both tails until every expected count ≥ ``min_expected``."""
    o = [row.copy() for row in obs]
    e = [row.copy() for row in exp]
    while len(e) > 1 and e[0].min() < min_expected:
        o0, e0 = o.pop(0), e.pop(0)
        o[0] = o[0] + o0
        e[0] = e[0] + e0
    while len(e) > 1 and e[-1].min() < min_expected:
        o1, e1 = o.pop(), e.pop()
        o[-1] = o[-1] + o1
        e[-1] = e[-1] + e1
    i = 1
    while i < len(e) - 1:  # interior groups still short (rare): merge into the next
        if e[i].min() < min_expected:
            oi, ei = o.pop(i), e.pop(i)
            o[i] = o[i] + oi
            e[i] = e[i] + ei
        else:
            i += 1
    return np.array(o), np.array(e)


def item_fit(cal: IRTCalibration, data: pd.DataFrame, min_expected: float = 1.0,
             weights: np.ndarray | None = None) -> pd.DataFrame:
    """S-X² item fit (Orlando & Thissen 2000; polytomous: Kang & Chen 2008).

    Respondents with every item answered are grouped by sum score s (the extremes 0 and
    the maximum dropped: the response is determined there). Model-implied
    ``E_jk(s) = Σ_q w_q P_jk(θ_q) L⁽⁻ʲ⁾(s−k|θ_q) / Σ_q w_q L(s|θ_q)`` (Lord–Wingersky);
    adjacent score groups are merged from the tails until every expected count is ≥
    ``min_expected`` (Orlando & Thissen's rule: 1). ``S-X² = Σ_s Σ_k (O − E)²/E``,
    df = G (K_j − 1) − m_j (m_j free parameters of item j), p from χ²(df); ``p_bh`` are
    Benjamini–Hochberg adjusted across items.

    ``weights``: frequency weights (each row of ``data`` stands for that many respondents; the
    pipeline passes the distinct response patterns and their counts at large n). The counts are
    integers, so the statistic equals the row-wise one exactly.

    Validated by simulation: under the true model the p-values are uniform (tests/test_irt_fit.py).
    """
    from psychometrics._dist import chi2_sf

    codes = recode(cal, data)
    complete = (codes >= 0).all(axis=1)
    codes = codes[complete]
    w = np.ones(codes.shape[0]) if weights is None else np.asarray(weights, dtype=float)[complete]
    n_rows = int(codes.shape[0]) if weights is None else int(w.sum())
    probs = item_probabilities(cal, cal.nodes)
    full = lord_wingersky(probs)
    smax = full.shape[1] - 1
    denom = full.T @ cal.weights  # P(s)
    sums = codes.sum(axis=1)
    n_s = (np.bincount(sums, minlength=smax + 1) if weights is None
           else np.bincount(sums, weights=w, minlength=smax + 1)).astype(float)
    rows = {}
    for j, item in enumerate(cal.items):
        kj = probs[j].shape[1]
        rest = lord_wingersky([p for i, p in enumerate(probs) if i != j])
        exp = np.zeros((smax + 1, kj))
        for k in range(kj):
            num = (probs[j][:, [k]] * rest * cal.weights[:, None]).sum(axis=0)  # over s' = s - k
            exp[k : k + num.size, k] = num
        exp = exp / denom[:, None]
        obs = np.zeros((smax + 1, kj))
        np.add.at(obs, (sums, codes[:, j]), 1.0 if weights is None else w)
        keep = np.arange(1, smax)
        keep = keep[n_s[keep] > 0]
        o, e = _collapse(obs[keep], exp[keep] * n_s[keep, None], min_expected)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = float(np.nansum(np.where(e > 0, (o - e) ** 2 / e, 0.0)))
        df = int(o.shape[0] * (kj - 1) - kj)
        p = float(chi2_sf(stat, df)) if df > 0 else np.nan
        rows[item] = {"s_x2": stat, "df": df, "p": p, "groups": int(o.shape[0]), "n": n_rows}
    untested = [item for item, row in rows.items() if not row["df"] > 0]
    if untested:
        warnings.warn(f"S-X² item fit not tested for items {name_list(untested)}: too few sum-score groups after "
                      f"merging ({n_rows} respondents answered every item); their p-values are missing",
                      DataQualityWarning, stacklevel=2)
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["p_bh"] = _bh(out["p"].to_numpy())
    out.index.name = "item"
    return out


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (NaN kept)."""
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    if q.size == 0:
        return out
    order = np.argsort(q)
    ranked = q[order] * q.size / np.arange(1, q.size + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1]
    res = np.empty_like(q)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def local_dependence(cal: IRTCalibration, data: pd.DataFrame, weights: np.ndarray | None = None,
                     theta: np.ndarray | None = None) -> pd.DataFrame:
    """Chen & Thissen (1997) LD χ² and Yen's (1984) Q3 for every item pair.

    ``ld_x2`` = Σ (O − E)²/E over the K_j × K_j′ table with E = n Σ_q w_q P_jk(θ_q) P_j′k′(θ_q)
    (n: respondents answering both), df = (K_j − 1)(K_j′ − 1); ``ld_std`` = (X² − df)/√(2 df)
    signed by the observed minus expected cross-product (positive: more association than the
    model implies; > 10 is the conventional flag). ``q3`` = correlation of the residuals
    x − E[X | θ̂_EAP]; ``q3_star`` = Q3 − mean Q3 (Christensen et al. 2017; |Q3*| > 0.2 flag).

    ``weights``: frequency weights (each row stands for that many respondents, e.g. distinct
    response patterns with their counts): the tables and n are the same integers; Q3 is the
    weighted correlation (equal to the row-wise one up to the order of summation). ``theta``: the rows' EAP θ̂
    (``eap_scores(cal, data)["theta"]``) when the caller has them (the IRT step: its distinct patterns' θ̂).
    """
    codes = recode(cal, data)
    w = None if weights is None else np.asarray(weights, dtype=float)
    probs = item_probabilities(cal, cal.nodes)
    theta = eap_scores(cal, data)["theta"].to_numpy() if theta is None else np.asarray(theta, dtype=float)
    ptheta = item_probabilities(cal, np.nan_to_num(theta))
    resid = np.full(codes.shape, np.nan)
    for j, p in enumerate(ptheta):
        ok = codes[:, j] >= 0
        resid[ok, j] = codes[ok, j] - (p[ok] * np.arange(p.shape[1])).sum(axis=1)
    rows, undefined = [], []
    for j in range(len(cal.items)):
        for jj in range(j + 1, len(cal.items)):
            both = (codes[:, j] >= 0) & (codes[:, jj] >= 0)
            n = int(both.sum()) if w is None else int(w[both].sum())
            kj, kk = probs[j].shape[1], probs[jj].shape[1]
            obs = np.zeros((kj, kk))
            np.add.at(obs, (codes[both, j], codes[both, jj]), 1.0 if w is None else w[both])
            exp = n * np.einsum("q,qa,qb->ab", cal.weights, probs[j], probs[jj])
            x2 = float(((obs - exp) ** 2 / exp).sum()) if n else np.nan
            df = (kj - 1) * (kk - 1)
            sign = np.sign(np.sum((obs - exp) * np.outer(np.arange(kj), np.arange(kk))))
            r = resid[both][:, [j, jj]]
            if w is None:
                sd = r.std(axis=0) if n > 2 else np.zeros(2)
                q3 = float(np.corrcoef(r.T)[0, 1]) if n > 2 and (sd > 0).all() else np.nan
            else:
                q3 = _weighted_correlation(r, w[both]) if n > 2 else np.nan
            if not (np.isfinite(x2) and np.isfinite(q3)):
                undefined.append(f"{cal.items[j]}–{cal.items[jj]}")
            rows.append({"item1": cal.items[j], "item2": cal.items[jj], "ld_x2": x2, "df": df,
                         "ld_std": float(sign * (x2 - df) / np.sqrt(2 * df)), "q3": q3, "n": n})
    if undefined:
        warnings.warn(f"local dependence: statistics undefined for item pairs {name_list(undefined)} (fewer than 3 "
                      "respondents answering both, or residuals without variance); they are missing",
                      DataQualityWarning, stacklevel=2)
    out = pd.DataFrame(rows)
    if not out.empty:
        out["q3_star"] = out["q3"] - out["q3"].mean()
    return out


def _weighted_correlation(r: np.ndarray, w: np.ndarray) -> float:
    """Correlation of the two columns of ``r`` with frequency weights ``w`` (NaN without variance)."""
    d = r - (w @ r) / w.sum()
    cov = (d * w[:, None]).T @ d
    if not (cov[0, 0] > 0 and cov[1, 1] > 0):
        return np.nan
    return float(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]))
