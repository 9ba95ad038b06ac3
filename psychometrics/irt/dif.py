"""Ordinal logistic regression DIF (Swaminathan & Rogers 1990; Zumbo 1999; Crane et al. 2006).

For item j, three nested proportional-odds models with the IRT score θ̂ as matching variable
and group G (dummy-coded, g − 1 columns; g the groups that answered item j — an item only one
group answered is not tested):

    M1: logit P(X_j ≥ k) = α_k + β₁ θ̂
    M2: … + β₂ G                     uniform DIF       χ²₁₂ = 2(ℓ₂ − ℓ₁), df = g − 1
    M3: … + β₃ θ̂ × G                 non-uniform DIF   χ²₂₃ = 2(ℓ₃ − ℓ₂), df = g − 1
                                      total             χ²₁₃ = 2(ℓ₃ − ℓ₁), df = 2(g − 1)

Effect sizes: McFadden R² = 1 − ℓ_M/ℓ_0 (ℓ_0: thresholds only) and its changes ΔR²;
Jodoin & Gierl (2001) classes on ΔR²₁₃: A < .035 ≤ B < .070 ≤ C, B/C only when χ²₁₃ is
significant (lordif's convention of applying the cut-offs to McFadden's R²); Crane et al.'s
relative change of β₁ between M1 and M2 (> 0.10 flags uniform DIF).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from psychometrics._text import quote
from psychometrics.exceptions import DataError, DataQualityWarning

__all__ = ["fit_proportional_odds", "ordinal_logistic_dif"]


def _sig(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _po_design(y: np.ndarray, k: int) -> np.ndarray:
    """The start of each category's run in ``y`` sorted (K + 1 bounds): the sums over the rows answering k are
    segment sums (``np.add.reduceat``; an unused category's sums are 0). The rows must be sorted by y."""
    return np.searchsorted(y, np.arange(k + 1))


def _po_loglik_grad(
    params: np.ndarray, y: np.ndarray, x: np.ndarray, k: int, w: np.ndarray | None = None, hessian: bool = False,
    design: np.ndarray | None = None,
) -> tuple:
    """Log-likelihood and gradient (and with ``hessian`` the analytic Hessian); ``w`` the count of
    each (y, x) row (None: every row once); ``design``: :func:`_po_design` of rows sorted by y (without it
    the rows are sorted here; the sums do not depend on the order but for rounding).

    Per row only the two cumulative logits bounding its category are formed (z_y = α_y + η and
    z_{y+1}, with α_0 = +∞, α_K = −∞), and each logistic from one tanh (σ(−z) = (1 − tanh(z/2))/2,
    tanh being odd): the same floating-point values as forming all K − 1 logits per row. The sums over
    the rows of a category are segment sums of the rows sorted by y (tests/test_irt_dif.py: equal to
    central differences of an independent per-row likelihood).
    """
    if design is None:
        order = np.argsort(y, kind="stable")
        y, x = y[order], x[order]
        w = None if w is None else w[order]
        design = _po_design(y, k)
    m = k - 1
    starts, empty = design[:k], design[1:] == design[:k]

    def seg(v: np.ndarray) -> np.ndarray:  # per-category sums (an unused category: 0)
        out = np.add.reduceat(v, starts, axis=0)
        out[empty] = 0.0
        return out

    alpha = params[:m]
    eta = x @ params[m:] if x.shape[1] else np.zeros(y.size)
    zu = np.concatenate([[np.inf], alpha])[y] + eta  # z_y: logit P(X >= y)
    zl = np.concatenate([alpha, [-np.inf]])[y] + eta  # z_{y+1}
    with np.errstate(invalid="ignore"):
        gap = -np.expm1(zl - zu)
    if np.isnan(gap).any():
        gap = np.where(np.isnan(gap), 1.0, gap)
    tu, tl = np.tanh(0.5 * zu), np.tanh(0.5 * zl)
    su, sl = 0.5 * (1.0 + tu), 0.5 * (1.0 + tl)  # σ(z_y), σ(z_{y+1})
    su_, sl_ = 0.5 * (1.0 - tu), 0.5 * (1.0 - tl)  # σ(−z_y), σ(−z_{y+1})
    p = np.maximum(su * sl_ * gap, 1e-300)
    # σ(z)σ(−z), 0 at z = ±∞ by itself (tanh(±∞) = ±1: one factor is exactly 0)
    psi_u = su * su_
    psi_l = sl * sl_
    du, dl = psi_u / p, -psi_l / p  # ∂ log P / ∂z_y and ∂ log P / ∂z_{y+1}
    logp = np.log(p)
    d_u, d_l = (du, dl) if w is None else (du * w, dl * w)
    # α_k enters z_y of the rows answering k + 1 and z_{y+1} of those answering k
    grad = np.concatenate([seg(d_u)[1:] + seg(d_l)[:m], x.T @ (d_u + d_l)])
    ll = float(logp.sum() if w is None else logp @ w)
    if not hessian:
        return ll, grad
    # ∂² log P: with f = σ(1 − σ) and f' = f (1 − 2σ), P = σ(z_y) − σ(z_{y+1}):
    # h_uu = f'(z_y)/P − d_u², h_ll = −f'(z_{y+1})/P − d_l², h_ul = −d_u d_l (per unit weight)
    h_uu = psi_u * (1.0 - 2.0 * su) / p - du * du
    h_ll = -psi_l * (1.0 - 2.0 * sl) / p - dl * dl
    h_ul = -du * dl
    if w is not None:
        h_uu, h_ll, h_ul = h_uu * w, h_ll * w, h_ul * w
    hess = np.zeros((m + x.shape[1], m + x.shape[1]))
    idx = np.arange(m)
    hess[idx, idx] = seg(h_uu)[1:] + seg(h_ll)[:m]
    cross = seg(h_ul)[1:m]  # rows answering k (1 ≤ k ≤ K − 2): (α_{k−1}, α_k)
    hess[idx[:-1], idx[1:]] = cross
    hess[idx[1:], idx[:-1]] = cross
    # (α, β): z_y and z_{y+1} both contain η = xβ
    ab = seg((h_uu + h_ul)[:, None] * x)[1:] + seg((h_ll + h_ul)[:, None] * x)[:m]
    hess[:m, m:] = ab
    hess[m:, :m] = ab.T
    hess[m:, m:] = x.T @ ((h_uu + h_ll + 2.0 * h_ul)[:, None] * x)
    return ll, grad, hess


def fit_proportional_odds(
    y: np.ndarray, x: np.ndarray, tol: float = 1e-9, max_iter: int = 100, weights: np.ndarray | None = None,
    start: np.ndarray | None = None,
) -> dict:
    """Proportional-odds logistic regression logit P(Y ≥ k) = α_k + xᵀβ by Newton (analytic Hessian).

    ``y`` coded 0..K−1 (every category used), ``x`` (N × p). ``weights``: optional frequency
    weights (the count of respondents sharing each row's (y, x); :func:`ordinal_logistic_dif`
    passes the distinct rows with their counts, so the cost does not grow with n; the
    log-likelihood and gradient are the same sums regrouped). ``start``: (α, β) to start from (e.g. a
    nested model's estimate with the added coefficients 0: fewer Newton passes, the same maximum);
    default the marginal thresholds and β = 0. Returns ``loglik``, ``alpha``, ``beta``, ``se`` and
    ``converged``. Validated against R ``MASS::polr`` (whose ζ_k = −α_k).
    """
    y = np.asarray(y, dtype=np.int64)
    x = np.asarray(x, dtype=float).reshape(y.size, -1)
    w = None if weights is None else np.asarray(weights, dtype=float)
    n = float(y.size if w is None else w.sum())
    k = int(y.max()) + 1
    counts = np.bincount(y, weights=w, minlength=k)
    tail = np.cumsum(counts[::-1])[::-1][1:] / n
    params = (np.concatenate([np.log(tail / (1 - tail)), np.zeros(x.shape[1])]) if start is None
              else np.array(start, dtype=float))
    if np.any(y[1:] < y[:-1]):  # rows sorted by answer (stably): per-category sums are segment sums
        order = np.argsort(y, kind="stable")
        y, x = y[order], x[order]
        w = None if w is None else w[order]
    design = _po_design(y, k)
    ll, g, hess = _po_loglik_grad(params, y, x, k, w, hessian=True, design=design)
    converged = False
    for _ in range(max_iter):
        step = np.linalg.solve(-hess, g)
        t = 1.0
        for _ in range(30):
            trial = params + t * step
            if np.all(np.diff(trial[: k - 1]) < 0):
                # the Hessian with the trial's likelihood (one pass: the accepted trial's is the next
                # step's, the same numbers as computing it again at the same point)
                ll_t, g_t, h_t = _po_loglik_grad(trial, y, x, k, w, hessian=True, design=design)
                if ll_t >= ll - 1e-10 * abs(ll):
                    break
            t *= 0.5
        params, ll, g, hess = trial, ll_t, g_t, h_t
        if np.max(np.abs(g)) < tol * max(1.0, n) or np.max(np.abs(t * step)) < 1e-12:
            converged = True
            break
    cov = np.linalg.inv(-hess)
    return {"loglik": ll, "alpha": params[: k - 1], "beta": params[k - 1 :],
            "se": np.sqrt(np.diag(cov)), "converged": converged}


def _distinct_rows(y: np.ndarray, t: np.ndarray, g: np.ndarray, w: np.ndarray | None = None,
                   tcode: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (y, θ̂, group) rows and their counts (θ̂ is a function of the response pattern,
    so at large n the rows repeat; the proportional-odds likelihood depends on the data only
    through these counts), sorted by answer as :func:`fit_proportional_odds` needs them: in the order of
    (y, θ̂, group). ``w``: the rows' frequency weights (then the counts are their sums; the rows are always
    aggregated). ``tcode``: integer codes of ``t`` in the order of its values (equal values equal codes; e.g.
    the ranks among a superset of the values): the same distinct rows, in the same order, as from
    ``pd.factorize(t, sort=True)`` (only the order of the codes matters). When nothing repeats (small
    samples, no weights) the rows themselves, sorted stably by answer (weights None)."""
    if tcode is None:
        tcode, _ = pd.factorize(t, sort=True)
    key = (y.astype(np.int64) * (int(tcode.max()) + 1) + tcode) * (int(g.max()) + 1) + g
    if w is not None:
        uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        return y[first], t[first], g[first], np.bincount(inverse.ravel(), weights=w, minlength=uniq.size)
    uniq, first, cnt = np.unique(key, return_index=True, return_counts=True)
    if uniq.size == key.size:  # nothing repeats (small samples): the rows as they are, sorted by answer
        order = np.argsort(y, kind="stable")
        return y[order], t[order], g[order], None
    return y[first], t[first], g[first], cnt.astype(float)


#: above this many respondents (of an item) the group and interaction models start from the nested model's
#: estimate. Newton stops at max |∂ℓ/∂ξ| < 1e−9 n either way, so the χ² agree to ≈ 1e−10 relative; the
#: estimates to ≈ 1e−8, which moves the tiny β₁ changes (≈ 1e−4) in their fourth digit — below it (the demo,
#: the ``MASS::polr`` fixtures) the cold starts as before, so those numbers are unchanged.
NESTED_START_ABOVE = 50_000


def _classify(delta_r2: float, significant: bool) -> str:
    if not significant or delta_r2 < 0.035:
        return "A"
    return "B" if delta_r2 < 0.070 else "C"


def ordinal_logistic_dif(
    data: pd.DataFrame, group: pd.Series, theta: pd.Series, items: list[str] | None = None, alpha: float = 0.01,
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Ordinal logistic regression DIF per item (see the module docstring).

    ``theta`` is the matching score (e.g. :func:`~psychometrics.irt.eap_scores` of a GRM of the
    scale). Rows with a missing response, θ or group are left out per item (counted in ``n``).
    A category nobody in some group chose is collapsed into its neighbour for that item in
    all groups (counted in ``collapsed`` and warned about).

    ``weights``: frequency weights, each row of ``data`` (with its θ̂ and group, same index) standing
    for that many respondents — at large n the pipeline passes the distinct (subscale pattern,
    group) rows with their counts (θ̂ is a function of the pattern). The fits see the same distinct
    (answer, θ̂, group) rows in the same order with the same integer counts as from the individual
    rows (whenever some of those repeat, as they must when n exceeds their possible number), so
    every number is identical.
    """
    from psychometrics._dist import chi2_sf

    items = list(items if items is not None else data.columns)
    levels = [g for g in pd.unique(group.dropna())]
    if len(levels) < 2:
        raise DataError("DIF needs at least two groups in the grouping variable")
    rows = {}
    aligned = theta.index.equals(data.index) and group.index.equals(data.index)
    w_all = None if weights is None else np.asarray(weights, dtype=float)
    if w_all is not None and not aligned:
        raise DataError("DIF with frequency weights: data, group and theta need the same index")
    if aligned:  # the usual case: θ̂ and group per row of data, converted once instead of per item
        t_all = pd.to_numeric(theta, errors="coerce").to_numpy(dtype=float)
        g_all = pd.Categorical(group, categories=levels).codes.astype(np.int64)  # −1: missing
        # θ̂'s codes in the order of its values, once for all items (each item's rows: a subset, the same order)
        t_codes = pd.factorize(t_all, sort=True)[0]
    wv = None
    for item in items:
        if aligned:
            x = pd.to_numeric(data[item], errors="coerce").to_numpy(dtype=float)
            ok = ~np.isnan(x) & ~np.isnan(t_all) & (g_all >= 0)
            xv, tv, gcode, tc = x[ok], t_all[ok], g_all[ok], t_codes[ok]
            wv = None if w_all is None else w_all[ok]
        else:
            frame = pd.DataFrame({"x": pd.to_numeric(data[item], errors="coerce"), "t": theta, "g": group}).dropna()
            xv, tv = frame["x"].to_numpy(dtype=float), frame["t"].to_numpy(dtype=float)
            gcode = pd.Categorical(frame["g"], categories=levels).codes.astype(np.int64)
            tc = None
        vals = np.unique(xv)
        # collapse categories absent in any group (into the next lower used one)
        # (category, group) counts as pd.crosstab(x, g) gave them: over the groups present for this item
        present = np.bincount(np.searchsorted(vals, xv) * len(levels) + gcode, weights=wv,
                              minlength=len(vals) * len(levels)).reshape(len(vals), len(levels))
        present = present[:, present.sum(axis=0) > 0]
        keep = [v for v, row in zip(vals, present) if (row > 0).all()]
        collapsed = len(vals) - len(keep)
        if collapsed:
            warnings.warn(
                f"DIF: item {item}: {collapsed} categor{'y' if collapsed == 1 else 'ies'} unused in some group; "
                "collapsed into the neighbouring category in all groups",
                DataQualityWarning,
                stacklevel=2,
            )
        if len(keep) < 2:
            warnings.warn(
                f"DIF: item {item} not tested: it has {len(keep)} response categor{'y' if len(keep) == 1 else 'ies'} "
                f"used in every group ({int(xv.size) if wv is None else int(wv.sum())} rows with a response); its DIF statistics are missing",
                DataQualityWarning,
                stacklevel=2,
            )
            rows[item] = {"n": int(xv.size) if wv is None else int(wv.sum()), "collapsed": collapsed}
            continue
        y = np.searchsorted(np.array(keep), xv, side="right") - 1
        y = np.maximum(y, 0)
        t = tv
        counts = np.bincount(y) if wv is None else np.bincount(y, weights=wv)
        n_item = int(xv.size) if wv is None else int(wv.sum())
        y, t, gcode, w = _distinct_rows(y, t, gcode, wv, tc)  # sorted by answer once for the three fits
        # dummies of the groups answering this item but the first (a group without an answer to it would
        # give a column collinear with the thresholds: the same maximum, a singular Hessian); the tests' df
        # are the parameters the dummies add — the groups answering the item, less one (the same statistics
        # as without the silent group's label)
        here = np.unique(gcode)
        if here.size < 2:
            warnings.warn(
                f"DIF: item {item} not tested: only group {quote(str(levels[int(here[0])]), 40)} answered it; its DIF "
                "statistics are missing",
                DataQualityWarning,
                stacklevel=2,
            )
            rows[item] = {"n": n_item, "collapsed": collapsed}
            continue
        dummies = np.column_stack([(gcode == j).astype(float) for j in here[1:]])
        m1 = fit_proportional_odds(y, t[:, None], weights=w)
        # above NESTED_START_ABOVE respondents each model starts from the nested one's estimate (the added
        # coefficients 0): the same maxima in about a third fewer Newton passes
        nested = n_item > NESTED_START_ABOVE
        zeros = np.zeros(dummies.shape[1])
        m2 = fit_proportional_odds(y, np.column_stack([t, dummies]), weights=w,
                                   start=np.concatenate([m1["alpha"], m1["beta"], zeros]) if nested else None)
        m3 = fit_proportional_odds(y, np.column_stack([t, dummies, dummies * t[:, None]]), weights=w,
                                   start=np.concatenate([m2["alpha"], m2["beta"], zeros]) if nested else None)
        ll0 = float(np.sum(counts[counts > 0] * np.log(counts[counts > 0] / counts.sum())))
        r2 = [1 - m["loglik"] / ll0 for m in (m1, m2, m3)]
        dfg = int(here.size) - 1
        x12, x23, x13 = 2 * (m2["loglik"] - m1["loglik"]), 2 * (m3["loglik"] - m2["loglik"]), 2 * (m3["loglik"] - m1["loglik"])
        p13 = float(chi2_sf(x13, 2 * dfg))
        rows[item] = {
            "n": n_item, "collapsed": collapsed,
            "chi2_12": x12, "p_12": float(chi2_sf(x12, dfg)),
            "chi2_23": x23, "p_23": float(chi2_sf(x23, dfg)),
            "chi2_13": x13, "df_13": 2 * dfg, "p_13": p13,
            "r2_1": r2[0], "delta_r2_12": r2[1] - r2[0], "delta_r2_23": r2[2] - r2[1], "delta_r2_13": r2[2] - r2[0],
            "beta1_change": abs((m1["beta"][0] - m2["beta"][0]) / m1["beta"][0]),
            "jodoin_gierl": _classify(r2[2] - r2[0], p13 < alpha),
            "converged": m1["converged"] and m2["converged"] and m3["converged"],
        }
    # every column also when no item could be tested (untested items: NaN, warned about above)
    out = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=_COLUMNS)
    out.index.name = "item"
    return out


_COLUMNS = ["n", "collapsed", "chi2_12", "p_12", "chi2_23", "p_23", "chi2_13", "df_13", "p_13", "r2_1", "delta_r2_12",
            "delta_r2_23", "delta_r2_13", "beta1_change", "jodoin_gierl", "converged"]
