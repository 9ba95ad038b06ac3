"""Polychoric and polyserial correlations, their asymptotic covariance, ordinal reliability.

Everything here reproduces lavaan 0.6-14 (``lavCor``, ``lavInspect(fit, "gamma")``) and
semTools 0.5-6 (``compRelSEM``); see ``docs/ordinal.md`` and the fixtures in
``tests/reference/ordinal/``.

The two-step estimator (Olsson 1979; Muthén 1984) works from sufficient statistics:
thresholds come from each item's cumulative proportions, and every bivariate likelihood
depends on the data only through the pair's contingency table. All tables are formed by
one matrix product of the one-hot coded data (``OᵀO``), and the correlations of all pairs
are solved *together* by a safeguarded Newton iteration with the analytic gradient and
Hessian, so the time after tabulation does not depend on the number of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special

from psychometrics._linalg import single_thread_blas
from psychometrics._results import ResultMixin
from psychometrics.exceptions import (
    ConvergenceWarning,
    DataError,
    DataQualityWarning,
    Diagnostic,
    NotPositiveDefiniteWarning,
    record,
)

__all__ = [
    "PolychoricResult",
    "polychoric",
    "bivariate_normal_cdf",
    "ordinal_alpha",
    "categorical_omega",
    "categorical_omega_from_cfa",
]

_SQRT_EPS = float(np.sqrt(np.finfo(float).eps))  # lavaan's floor for cell probabilities
_EPS = float(np.finfo(float).eps)
_TWO_PI = 2.0 * np.pi
_BIG = 100.0  # lavaan codes the open ends of the outer categories as ±100
_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)


# ---------------------------------------------------------------- normal helpers
def _pnorm(x: np.ndarray) -> np.ndarray:
    return special.ndtr(x)


def _dnorm(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * np.square(x)) / np.sqrt(_TWO_PI)


def _dbinorm(u: np.ndarray, v: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Standard bivariate normal density φ₂(u, v; ρ)."""
    r2 = 1.0 - rho * rho
    return np.exp(-(u * u - 2.0 * rho * u * v + v * v) / (2.0 * r2)) / (_TWO_PI * np.sqrt(r2))


def bivariate_normal_cdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """P(X ≤ h, Y ≤ k) for standard bivariate normal (X, Y) with correlation ρ, elementwise.

    Genz's (2004) algorithm (the one behind R's ``pbivnorm``/``mvtnorm``) with a 20-point
    Gauss–Legendre rule throughout: for |ρ| < 0.925,
    Φ₂ = Φ(h)Φ(k) + (1/2π)∫₀^{asin ρ} exp(−(h² + k² − 2hk sin θ)/(2cos²θ)) dθ;
    for |ρ| ≥ 0.925 Genz's expansion around |ρ| = 1 (exact at ρ = ±1). Accurate to about
    1e-15; all arguments broadcast. Infinite limits are allowed.

    Reference: Genz, A. (2004). Numerical computation of rectangular bivariate and
    trivariate normal and t probabilities. *Statistics and Computing, 14*, 251–260.
    """
    h, k, rho = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float), np.asarray(rho, float))
    # Genz computes upper probabilities P(X > dh, Y > dk); lower = upper at (−h, −k).
    dh = np.clip(-h, -40.0, 40.0)  # Φ(±40) is 0/1 in double precision
    dk = np.clip(-k, -40.0, 40.0)
    r = rho
    out = np.empty(h.shape)
    low = np.abs(r) < 0.925
    if low.any():
        a, b, rr = dh[low], dk[low], r[low]
        hk = a * b
        hs = (a * a + b * b) / 2.0
        asr = np.arcsin(rr)
        sn = np.sin(asr[..., None] * (_GL_X + 1.0) / 2.0)
        terms = np.exp((sn * hk[..., None] - hs[..., None]) / (1.0 - sn * sn))
        out[low] = (terms @ _GL_W) * asr / (2.0 * _TWO_PI) + _pnorm(-a) * _pnorm(-b)
    high = ~low
    if high.any():
        a, b, rr = dh[high], dk[high], r[high]
        b = np.where(rr < 0, -b, b)
        hk = a * b
        bvn = np.zeros(a.shape)
        inner = np.abs(rr) < 1.0
        if inner.any():
            ai, bi, hki = a[inner], b[inner], hk[inner]
            r_i = rr[inner]
            as_ = (1.0 - r_i) * (1.0 + r_i)
            aa = np.sqrt(as_)
            bs = (ai - bi) ** 2
            c = (4.0 - hki) / 8.0
            d = (12.0 - hki) / 16.0
            val = aa * np.exp(-(bs / as_ + hki) / 2.0) * (
                1.0 - c * (bs - as_) * (1.0 - d * bs / 5.0) / 3.0 + c * d * as_ * as_ / 5.0
            )
            bb = np.sqrt(bs)
            corr = np.exp(-hki / 2.0) * np.sqrt(_TWO_PI) * _pnorm(-bb / aa) * bb * (
                1.0 - c * bs * (1.0 - d * bs / 5.0) / 3.0
            )
            val = val - np.where(hki > -160.0, corr, 0.0)
            half = aa / 2.0
            xs = (half[..., None] * (_GL_X + 1.0)) ** 2
            rs = np.sqrt(1.0 - xs)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                f = np.exp(-(bs[..., None] / xs + hki[..., None]) / 2.0) * (
                    np.exp(-hki[..., None] * (1.0 - rs) / (2.0 * (1.0 + rs))) / rs
                    - (1.0 + c[..., None] * xs * (1.0 + d[..., None] * xs))
                )
            f = np.where(np.isfinite(f), f, 0.0)
            val = val + half * (f @ _GL_W)
            bvn[inner] = -val / _TWO_PI
        pos = rr > 0
        bvn = np.where(pos, bvn + _pnorm(-np.maximum(a, b)), -bvn + np.maximum(0.0, _pnorm(-a) - _pnorm(-b)))
        out[high] = bvn
    return np.clip(out, 0.0, 1.0)


# ------------------------------------------------------------------------ result
@dataclass(frozen=True, eq=False)
class PolychoricResult(ResultMixin):
    """Polychoric (and polyserial/Pearson) correlations with lavaan's two-step estimator.

    Attributes
    ----------
    matrix : DataFrame
        Items × items correlation matrix (polychoric for ordinal pairs, polyserial for
        ordinal × continuous, Pearson for continuous pairs), as ``lavCor``.
    thresholds : DataFrame
        Long table with columns ``item``, ``threshold`` (1-based index), ``name``
        (lavaan's label ``"x1|t1"``) and ``value``, items in column order.
    categories : Series
        Per ordinal item, the observed values in order (category k of the model = the
        k-th value); continuous items are absent.
    acov : DataFrame or None
        N times the asymptotic covariance matrix of the stacked vector
        (thresholds, correlations) — lavaan's ``NACOV`` = ``lavInspect(fit, "gamma")`` for
        categorical data. Order: all thresholds item by item (``x1|t1, x1|t2, x2|t1, …``),
        then the correlations of the pairs (i, j), i < j, row by row
        (``x1~~x2, x1~~x3, …, x2~~x3, …``). Divide by ``n`` for the covariance of the
        estimates. ``None`` when not requested or when some items are continuous.
    sample_stats : Series
        The stacked vector (thresholds, correlations) with the same labels as ``acov``.
    dwls_weights : Series or None
        1 / diag(acov): the diagonal of lavaan's DWLS weight matrix ``WLS.V``.
    n : int
        Rows used (listwise: complete rows; pairwise: rows with any value).
    n_excluded : int
        Rows left out (listwise: rows with a missing value; pairwise: empty rows).
    pairwise_n : DataFrame
        Number of rows behind each correlation.
    missing : str
        ``"listwise"`` or ``"pairwise"``.
    zero_cell_pairs : tuple of (str, str)
        Pairs of ordinal items whose bivariate table has an empty cell.
    diagnostics : tuple of Diagnostic
        Warnings issued (merged categories, empty cells, boundary estimates…).
    """

    matrix: pd.DataFrame
    thresholds: pd.DataFrame
    categories: pd.Series
    acov: pd.DataFrame | None
    sample_stats: pd.Series
    dwls_weights: pd.Series | None
    n: int
    n_excluded: int
    pairwise_n: pd.DataFrame
    missing: str
    ordered: tuple[str, ...]
    zero_cell_pairs: tuple[tuple[str, str], ...] = ()
    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)

    _title = "Polychoric correlations (two-step, as lavaan::lavCor)"

    def to_frame(self) -> pd.DataFrame:
        """The correlation matrix."""
        return self.matrix

    def _tables(self) -> dict[str, pd.DataFrame]:
        # Display the matrix and thresholds only: acov has (thresholds + p(p−1)/2)² entries.
        return {"matrix": self.matrix, "thresholds": self.thresholds.set_index("name")}

    def to_sample_stats(self):
        """The statistics WLSMV estimation needs, as :class:`psychometrics.cfa.categorical.OrdinalSampleStats`.

        Items, per-item thresholds, the polychoric matrix, ``acov`` (NACOV), ``n`` and the
        DWLS weights. Needs all items ordinal and ``acov`` computed.
        """
        from psychometrics.cfa.categorical import OrdinalSampleStats

        if self.acov is None:
            raise DataError(
                "these polychoric results have no asymptotic covariance (acov); call "
                "polychoric(..., acov=True) with ordinal items only."
            )
        items = tuple(str(c) for c in self.matrix.columns)
        groups = dict(tuple(self.thresholds.groupby("item", sort=False)))
        return OrdinalSampleStats(
            items=items,
            thresholds=tuple(groups[i]["value"].to_numpy(float) for i in items),
            cor=self.matrix.to_numpy(float),
            acov=self.acov.to_numpy(float),
            nobs=self.n,
            weights=self.dwls_weights.to_numpy(float),
        )


# ------------------------------------------------------------------ input checks
def _prepare(
    data: pd.DataFrame,
    ordered: Sequence[str] | bool | None,
    missing: str,
    max_categories: int,
    diagnostics: list[Diagnostic],
):
    if isinstance(data, np.ndarray):
        data = pd.DataFrame(data, columns=[f"V{i + 1}" for i in range(np.shape(data)[1])])
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"polychoric() needs a DataFrame of item columns, got {type(data).__name__}.")
    if data.shape[1] < 2:
        raise DataError(f"polychoric() needs at least 2 item columns, got {data.shape[1]}.")
    if missing not in ("listwise", "pairwise"):
        raise DataError(f"missing must be 'listwise' or 'pairwise', got {missing!r}.")
    names = [str(c) for c in data.columns]
    if len(set(names)) != len(names):
        dup = sorted({c for c in names if names.count(c) > 1})
        raise DataError(f"duplicate item columns: {', '.join(dup)}.")
    if ordered is None or ordered is True:
        ord_names = list(names)
    elif ordered is False:
        ord_names = []
    else:
        ord_names = [str(o) for o in ordered]
        unknown = [o for o in ord_names if o not in names]
        if unknown:
            raise DataError(
                f"ordered item(s) {', '.join(unknown)} are not columns of the data "
                f"(columns: {', '.join(names)})."
            )
    try:
        X = data.to_numpy(dtype=float, na_value=np.nan)
    except (ValueError, TypeError):
        X = None
    if X is None:
        cols = []
        for col, name in zip(data.columns, names):
            try:
                cols.append(pd.to_numeric(data[col]).to_numpy(dtype=float, na_value=np.nan))
            except (ValueError, TypeError):
                bad = next(v for v in data[col].dropna() if not _is_number(v))
                raise DataError(
                    f"item {name} has a non-numeric value {bad!r}; code responses as numbers."
                ) from None
        X = np.column_stack(cols)
    inf = np.isinf(X)
    if inf.any():
        r, c = np.argwhere(inf)[0]
        raise DataError(f"item {names[c]} has an infinite value in row {data.index[r]!r}.")
    nan = np.isnan(X)
    if missing == "listwise":
        keep = ~nan.any(axis=1)
    else:
        keep = ~nan.all(axis=1)
    n_excluded = int((~keep).sum())
    if n_excluded:
        X = X[keep]
        nan = nan[keep]
    if X.shape[0] < 2:
        raise DataError(
            f"only {X.shape[0]} usable row(s) after {missing} deletion of missing values "
            f"({n_excluded} excluded); polychoric correlations need more data."
        )
    is_ord = np.array([n in ord_names for n in names])
    codes = np.full(X.shape, -1, dtype=np.int64, order="F")  # column access below
    cats: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        x = X[:, j]
        ok = ~nan[:, j]
        obs = x[ok] if not ok.all() else x
        if obs.size == 0:
            raise DataError(f"item {name} has no observed values.")
        if not is_ord[j]:
            if np.ptp(obs) == 0:
                raise DataError(f"item {name} is constant ({obs[0]:g}); drop it.")
            continue
        rounded = np.round(obs)
        frac = obs[np.abs(obs - rounded) > 1e-8]
        if frac.size:
            raise DataError(
                f"item {name} is declared ordinal but has non-integer value {frac[0]:g}; "
                "code ordinal responses as integers, or leave the item out of `ordered` to "
                "treat it as continuous (polyserial correlations)."
            )
        iv = rounded.astype(np.int64)
        lo_v, hi_v = int(iv.min()), int(iv.max())
        if hi_v - lo_v < 100_000:  # small integer codes: O(n) tabulation instead of sorting
            present = np.bincount(iv - lo_v) > 0
            levels = np.flatnonzero(present) + lo_v
            lut = np.cumsum(present) - 1
            c = lut[iv - lo_v]
        else:
            levels, c = np.unique(iv, return_inverse=True)
        if levels.size < 2:
            raise DataError(
                f"item {name} has only one observed category ({levels[0]}); an ordinal item "
                "needs at least 2 — drop it."
            )
        n_gaps = (hi_v - lo_v + 1) - levels.size
        # Consecutive codes with a hole (1, 2, 4) = an empty category; widely spaced codes
        # (10, 20, 30) are just labels (the mapping is in ``categories``).
        if 0 < n_gaps <= levels.size and levels.size <= max_categories:
            gaps = sorted(set(range(lo_v, hi_v + 1)) - set(levels.tolist()))
            record(
                diagnostics,
                DataQualityWarning,
                f"item {name}: no responses in category {', '.join(map(str, gaps))} between "
                f"{lo_v} and {hi_v}; the empty category is dropped (the "
                f"{levels.size} observed values are used as categories 1..{levels.size}), "
                "as lavaan does.",
                stacklevel=5,
            )
        if levels.size > max_categories:
            record(
                diagnostics,
                DataQualityWarning,
                f"item {name} has {levels.size} categories (more than {max_categories}); "
                "is it really ordinal? Leave it out of `ordered` to treat it as continuous.",
                stacklevel=5,
            )
        if ok.all():
            codes[:, j] = c
        else:
            codes[ok, j] = c
        cats[name] = levels
    return names, X, codes, is_ord, cats, n_excluded


def _is_number(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------- two-step fit
def _pair_grid(th1: np.ndarray, th2: np.ndarray, rho: np.ndarray):
    """Cell probabilities PI and ∂PI/∂ρ (phi) and ∂²PI/∂ρ² (gnorm) for stacked pairs.

    th1, th2: (P, m1), (P, m2) padded thresholds (padding = +_BIG: empty extra categories).
    Returns arrays (P, m1+1, m2+1).
    """
    P, m1 = th1.shape
    m2 = th2.shape[1]
    r = rho[:, None, None]
    u = th1[:, :, None]
    v = th2[:, None, :]
    bi = bivariate_normal_cdf(u, v, r)
    dens = _dbinorm(u, v, r)
    r2 = 1.0 - r * r
    guv = (u * v * r2 - r * (u * u - 2.0 * r * u * v + v * v) + r * r2) / (r2 * r2)
    gn = dens * guv

    def cells(inner, edge_row, edge_col, corner):
        full = np.zeros((P, m1 + 2, m2 + 2))
        full[:, 1:-1, 1:-1] = inner
        full[:, -1, 1:-1] = edge_row
        full[:, 1:-1, -1] = edge_col
        full[:, -1, -1] = corner
        return full[:, 1:, 1:] - full[:, 1:, :-1] - full[:, :-1, 1:] + full[:, :-1, :-1]

    zero_r = np.zeros((P, m2))
    zero_c = np.zeros((P, m1))
    PI = cells(bi, _pnorm(th2), _pnorm(th1), 1.0)
    phi = cells(dens, zero_r, zero_c, 0.0)
    gnorm = cells(gn, zero_r, zero_c, 0.0)
    return PI, phi, gnorm


def _score_idx(freq, th1, th2, rho, idx):
    """Score and Hessian of Σ f log π(ρ) for the pairs ``idx`` (lavaan's ``lav_bvord_*``)."""
    PI, phi, gnorm = _pair_grid(th1[idx], th2[idx], rho[idx])
    f = freq[idx]
    good = PI > _SQRT_EPS  # lavaan: cells with π ≤ √ε are left out of the derivatives
    PIg = np.where(good, PI, 1.0)
    w = np.where(good, f / PIg, 0.0)
    g = (w * phi).sum(axis=(1, 2))
    H = (w * gnorm).sum(axis=(1, 2)) - np.where(good, f * phi * phi / (PIg * PIg), 0.0).sum(axis=(1, 2))
    return g, H


def _polychoric_pairs(freq, th1, th2, start, lower=-0.999, upper=0.999, tol=1e-11, max_iter=200):
    """Maximise Σ f log π(ρ) for all pairs at once (safeguarded Newton on the score).

    The gradient and Hessian are lavaan's analytic ones (``lav_bvord_gradient_cache``,
    ``lav_bvord_hessian_cache``). A bracket [lo, hi] on the sign of the score keeps every
    step inside lavaan's bounds (±0.999); a Newton step leaving the bracket, or a
    non-negative curvature, is replaced by bisection. If the score does not change sign
    the maximum is at a bound, where nlminb stops too.

    Returns (rho, converged, at_bound).
    """
    # No sign test at the bounds: there the floored cells make ℓ flat, and nlminb, like
    # us, starts from the Pearson correlation of the codes and climbs to the interior maximum.
    P = freq.shape[0]
    lo = np.full(P, lower)
    hi = np.full(P, upper)
    rho = np.clip(np.asarray(start, float), lower + 1e-3, upper - 1e-3)
    done = np.zeros(P, bool)
    for _ in range(max_iter):
        idx = np.flatnonzero(~done)
        if idx.size == 0:
            break
        g, H = _score_idx(freq, th1, th2, rho, idx)
        r = rho[idx]
        pos = g > 0
        lo[idx] = np.where(pos, r, lo[idx])
        hi[idx] = np.where(pos, hi[idx], r)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = r - g / H
        ok = (H < 0) & (newton >= lo[idx]) & (newton <= hi[idx]) & np.isfinite(newton)
        new = np.where(g == 0, r, np.where(ok, newton, (lo[idx] + hi[idx]) / 2.0))
        rho[idx] = new
        finished = (np.abs(new - r) < tol) | (hi[idx] - lo[idx] < tol) | (g == 0)
        done[idx[finished]] = True
    at_bound = (upper - rho < 1e-8) | (rho - lower < 1e-8)
    return rho, done, at_bound


def _pearson_from_tables(freq):
    """Pearson correlation of the category codes from each padded table (nlminb's start)."""
    m = freq.shape[1]
    s1 = np.arange(m, dtype=float)[None, :, None]
    s2 = np.arange(m, dtype=float)[None, None, :]
    n = freq.sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        m1 = (freq * s1).sum(axis=(1, 2)) / n
        m2 = (freq * s2).sum(axis=(1, 2)) / n
        c = (freq * s1 * s2).sum(axis=(1, 2)) / n - m1 * m2
        v1 = (freq * s1 * s1).sum(axis=(1, 2)) / n - m1 * m1
        v2 = (freq * s2 * s2).sum(axis=(1, 2)) / n - m2 * m2
        r = c / np.sqrt(v1 * v2)
    return np.where(np.isfinite(r) & (np.abs(r) < 1), r, 0.0)


def _polyserial_pairs(Z, sd, up, low, valid, lower=-0.995, upper=0.995, tol=1e-11, max_iter=200):
    """Two-step ML polyserial correlations for all (continuous, ordinal) pairs at once.

    Z: (N, P) standardised continuous scores (ML mean and SD); sd: (P,) the SDs;
    up/low: (N, P) upper and lower thresholds of each row's category (±100 at the open
    ends, as lavaan); valid: (N, P) rows observed on both. Likelihood as lavaan's
    ``lav_bvmix_lik_cache``: φ(z)/σ · [Φ((τ_c − ρz)/R) − Φ((τ_{c−1} − ρz)/R)], the
    conditional probability floored at ε and rows with likelihood < √ε left out.
    """
    dens = np.where(valid, _dnorm(Z) / sd, 0.0)

    def score(rho):
        r = rho[None, :]
        R = np.sqrt(1.0 - r * r)
        a1 = (up - r * Z) / R
        a2 = (low - r * Z) / R
        p = np.maximum(_pnorm(a1) - _pnorm(a2), _EPS)
        use = valid & (dens * p >= _SQRT_EPS)
        d1 = (r * up - Z) / R**3  # ∂a/∂ρ
        d2 = (r * low - Z) / R**3
        dd1 = up / R**3 + 3.0 * r * (r * up - Z) / R**5
        dd2 = low / R**3 + 3.0 * r * (r * low - Z) / R**5
        f1, f2 = _dnorm(a1), _dnorm(a2)
        num = f1 * d1 - f2 * d2
        g_i = num / p
        h_i = (f1 * (dd1 - a1 * d1 * d1) - f2 * (dd2 - a2 * d2 * d2)) / p - g_i * g_i
        g = np.where(use, g_i, 0.0).sum(axis=0)
        H = np.where(use, h_i, 0.0).sum(axis=0)
        return g, H

    P = Z.shape[1]
    lo = np.full(P, lower)
    hi = np.full(P, upper)
    rho = np.zeros(P)
    done = np.zeros(P, bool)
    for _ in range(max_iter):
        if done.all():
            break
        g, H = score(rho)
        act = ~done
        pos = g > 0
        lo = np.where(act & pos, rho, lo)
        hi = np.where(act & ~pos, rho, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = rho - g / H
        ok = (H < 0) & (newton >= lo) & (newton <= hi) & np.isfinite(newton)
        new = np.where(g == 0, rho, np.where(ok, newton, (lo + hi) / 2.0))
        finished = act & ((np.abs(new - rho) < tol) | (hi - lo < tol) | (g == 0))
        rho = np.where(act, new, rho)
        done |= finished
    at_bound = (upper - rho < 1e-8) | (rho - lower < 1e-8)
    return rho, done, at_bound


@single_thread_blas  # many modest products: threaded BLAS mostly adds hand-off cost
def polychoric(
    data: pd.DataFrame,
    ordered: Sequence[str] | bool | None = None,
    *,
    missing: Literal["listwise", "pairwise"] = "listwise",
    acov: bool | None = None,
    max_categories: int = 10,
) -> PolychoricResult:
    """Polychoric correlations (polyserial/Pearson for continuous items) as ``lavaan::lavCor``.

    Two-step estimator (Olsson 1979; Muthén 1984), exactly as lavaan 0.6-14:

    1. Thresholds of each ordinal item from its margin: τ_k = Φ⁻¹(P(y ≤ k)), k = 1…K−1.
    2. Each correlation by maximum likelihood with the thresholds fixed. For two ordinal
       items with table f_rc, ℓ(ρ) = Σ_rc f_rc log π_rc(ρ), where
       π_rc = Φ₂(τ_r, τ'_c; ρ) − Φ₂(τ_{r−1}, τ'_c; ρ) − Φ₂(τ_r, τ'_{c−1}; ρ) + Φ₂(τ_{r−1}, τ'_{c−1}; ρ);
       score ∂ℓ/∂ρ = Σ f_rc φ_rc/π_rc with φ_rc the same difference of bivariate normal
       densities (Plackett's identity ∂Φ₂/∂ρ = φ₂). All pairs are solved together by a
       safeguarded Newton iteration with the analytic Hessian, within lavaan's bounds ±0.999.
       Ordinal × continuous pairs: polyserial likelihood with the continuous item's ML mean
       and SD fixed (bounds ±0.995); continuous pairs: Pearson.

    Zero cells as lavaan (``zero.add = c(0.5, 0)``, ``zero.keep.margins = TRUE``): in a
    2 × 2 table with one empty cell 0.5 is added to that cell and its diagonal partner and
    subtracted from the other two (margins kept); two empty cells give ρ = ±1; larger
    tables are used as they are (cell probabilities floored at √ε). Pairs with empty cells
    are listed in ``zero_cell_pairs`` and a :class:`DataQualityWarning` is recorded.

    Parameters
    ----------
    data : DataFrame
        Item columns (numeric). Ordinal items must hold integer codes; the observed values,
        in order, are the categories (an empty category in the middle is dropped with a
        warning naming the item, as lavaan does).
    ordered : list of str, bool or None
        Ordinal items. ``None``/``True`` (default): all columns. Other columns are continuous.
    missing : {"listwise", "pairwise"}
        ``"listwise"`` (lavCor's default) uses complete rows only; ``"pairwise"`` uses each
        item's available values for its thresholds and each pair's complete rows for its
        table, as ``lavCor(missing = "pairwise")``.
    acov : bool or None
        Compute the asymptotic covariance matrix (lavaan's NACOV, needed for WLS/WLSMV).
        ``None`` (default): when all items are ordinal.
    max_categories : int
        Warn when an ordinal item has more categories than this.

    Returns
    -------
    PolychoricResult

    Raises
    ------
    DataError
        Non-numeric or infinite values; an ordinal item with non-integer values or one
        category; fewer than 2 columns or usable rows; ``acov=True`` with continuous items.

    Notes
    -----
    Validated against ``lavaan::lavCor(ordered = ...)`` and ``lavInspect(fit, "gamma")``
    (``tests/reference/ordinal/ordinal_reference.R``): Holzinger–Swineford cut into 3
    categories, bfi (6 categories, listwise and pairwise), mixed ordinal/continuous data
    and a data set with empty cells.
    """
    diagnostics: list[Diagnostic] = []
    names, X, codes, is_ord, cats, n_excluded = _prepare(data, ordered, missing, max_categories, diagnostics)
    n, p = X.shape
    observed = ~np.isnan(X)
    ord_idx = np.flatnonzero(is_ord)
    con_idx = np.flatnonzero(~is_ord)
    if acov is None:
        acov = con_idx.size == 0
    elif acov and con_idx.size:
        raise DataError(
            "the asymptotic covariance (acov=True) is implemented for ordinal items only; "
            f"continuous item(s): {', '.join(names[j] for j in con_idx)}. Use acov=False, "
            "or cut those items into categories."
        )

    # ---- step 1: thresholds from the margins
    K = {j: cats[names[j]].size for j in ord_idx}
    th: dict[int, np.ndarray] = {}
    counts: dict[int, np.ndarray] = {}
    for j in ord_idx:
        cnt = np.bincount(codes[observed[:, j], j], minlength=K[j]).astype(float)
        counts[j] = cnt
        th[j] = special.ndtri(np.cumsum(cnt)[:-1] / cnt.sum())

    if observed.all():
        pair_n = np.full((p, p), float(n))
    else:
        obs_f = observed.astype(float)
        pair_n = obs_f.T @ obs_f
    few = [(names[a], names[b]) for a, b in zip(*np.triu_indices(p, 1)) if pair_n[a, b] < 2]
    if few:
        shown = ", ".join(f"{a}–{b}" for a, b in few[:5])
        raise DataError(
            f"item pair(s) {shown}{' …' if len(few) > 5 else ''} have fewer than 2 rows observed on both; "
            "their correlation cannot be estimated. Drop one of the items or collect more data."
        )
    R = np.eye(p)
    zero_pairs: list[tuple[str, str]] = []
    not_converged: list[str] = []

    # ---- step 2a: ordinal pairs from all bivariate tables at once (one-hot product)
    if ord_idx.size >= 2:
        offs = np.concatenate([[0], np.cumsum([K[j] for j in ord_idx])])
        tot = int(offs[-1])
        # All bivariate tables at once: T = OᵀO for the one-hot coding O (n × ΣK); only the
        # upper triangle is needed (dsyrk: half the work of a general product).
        from scipy.linalg import blas

        small = n < 2**24  # counts are exact in float32 below 2^24 rows (half the memory)
        O = np.zeros((n, tot + 1), order="F", dtype=np.float32 if small else np.float64)
        for a, j in enumerate(ord_idx):  # column by column: contiguous writes in F order
            cj = codes[:, j]
            for k in range(K[j]):
                O[:, offs[a] + k] = cj == k
        T = (blas.ssyrk if small else blas.dsyrk)(1.0, O, trans=1).astype(float)  # upper triangle of OᵀO
        del O
        kmax = max(K.values())
        ia, ib = np.triu_indices(ord_idx.size, 1)
        cat_r = np.arange(kmax)
        Ka = np.array([K[ord_idx[a]] for a in ia])
        Kb = np.array([K[ord_idx[b]] for b in ib])
        rows = np.where(cat_r[None, :] < Ka[:, None], offs[ia][:, None] + cat_r[None, :], tot)
        cols = np.where(cat_r[None, :] < Kb[:, None], offs[ib][:, None] + cat_r[None, :], tot)
        freq = T[rows[:, :, None], cols[:, None, :]]
        freq_raw = freq.copy()  # the scores (acov) use the data, not the zero-cell adjustment
        thp = np.full((ord_idx.size, kmax - 1), _BIG)
        for a, j in enumerate(ord_idx):
            thp[a, : K[j] - 1] = th[j]
        th1, th2 = thp[ia], thp[ib]
        rho = np.full(ia.size, np.nan)
        fixed = np.zeros(ia.size, bool)
        has_zero = ((freq == 0) & (cat_r[None, :, None] < Ka[:, None, None]) & (cat_r[None, None, :] < Kb[:, None, None])).any(axis=(1, 2))
        for q in np.flatnonzero(has_zero):
            zero_pairs.append((names[ord_idx[ia[q]]], names[ord_idx[ib[q]]]))
        # 2 x 2 tables: lavaan's special cases (lav_bvord_cor_twostep_fit)
        for q in np.flatnonzero((Ka == 2) & (Kb == 2)):
            f = freq[q, :2, :2].copy()
            zeros = np.argwhere(f == 0)
            if len(zeros) == 2:
                rho[q] = 1.0 if f[0, 0] > 0 else -1.0
                fixed[q] = True
                record(
                    diagnostics, DataQualityWarning,
                    f"items {names[ord_idx[ia[q]]]} and {names[ord_idx[ib[q]]]}: two empty cells in "
                    f"their 2 x 2 table; correlation set to {rho[q]:+.0f} as lavaan does.", stacklevel=4,
                )
                continue
            if len(zeros) == 1:
                sign = 1.0 if tuple(zeros[0]) in ((0, 0), (1, 1)) else -1.0
                f += sign * 0.5 * np.array([[1.0, -1.0], [-1.0, 1.0]])
                freq[q, :2, :2] = f
            if f[0, 0] * f[1, 1] == f[0, 1] * f[1, 0]:
                rho[q], fixed[q] = 0.0, True
            elif th1[q, 0] == 0 and th2[q, 0] == 0:
                rho[q], fixed[q] = -np.cos(2.0 * np.pi * f[0, 0] / f.sum()), True
        free = np.flatnonzero(~fixed)
        if free.size:
            start = _pearson_from_tables(freq[free])
            est, conv, _ = _polychoric_pairs(freq[free], th1[free], th2[free], start)
            rho[free] = est
            for q in free[~conv]:
                not_converged.append(f"{names[ord_idx[ia[q]]]}–{names[ord_idx[ib[q]]]}")
        gi, gj = ord_idx[ia], ord_idx[ib]
        R[gi, gj] = R[gj, gi] = rho
    else:
        freq_raw = None

    # ---- step 2b: polyserial (continuous × ordinal) and Pearson (continuous pairs)
    if con_idx.size:
        Xc = X[:, con_idx]
        mu = np.nanmean(Xc, axis=0)
        sd = np.sqrt(np.nanmean((Xc - mu) ** 2, axis=0))  # ML (divisor N), as lav_uvreg_fit
        Zc = (Xc - mu) / sd
        if ord_idx.size:
            cc, oo = np.meshgrid(np.arange(con_idx.size), ord_idx, indexing="ij")
            cc, oo = cc.ravel(), oo.ravel()
            Zm = np.nan_to_num(Zc[:, cc])
            up = np.empty((n, cc.size))
            low = np.empty((n, cc.size))
            for q, j in enumerate(oo):
                ext = np.concatenate([[-_BIG], th[j], [_BIG]])
                c = np.clip(codes[:, j], 0, None)
                up[:, q] = ext[c + 1]
                low[:, q] = ext[c]
            valid = observed[:, con_idx[cc]] & observed[:, oo]
            est, conv, _ = _polyserial_pairs(Zm, sd[cc], up, low, valid)
            R[con_idx[cc], oo] = R[oo, con_idx[cc]] = est
            for q in np.flatnonzero(~conv):
                not_converged.append(f"{names[con_idx[cc[q]]]}–{names[oo[q]]}")
        if con_idx.size >= 2:
            Rc = pd.DataFrame(Xc).corr().to_numpy()  # pairwise-complete Pearson
            R[np.ix_(con_idx, con_idx)] = Rc
            np.fill_diagonal(R, 1.0)

    # ---- diagnostics
    if zero_pairs:
        shown = ", ".join(f"{a}×{b}" for a, b in zero_pairs[:8])
        more = f" and {len(zero_pairs) - 8} more" if len(zero_pairs) > 8 else ""
        record(
            diagnostics, DataQualityWarning,
            f"{len(zero_pairs)} item pair(s) have empty cells in their bivariate table ({shown}{more}); "
            "handled as lavaan (0.5 added in 2 x 2 tables keeping the margins, larger tables "
            "unchanged). Estimates for sparse tables are less stable.", stacklevel=4,
        )
    if not_converged:
        record(diagnostics, ConvergenceWarning,
               f"the correlation did not converge for pair(s) {', '.join(not_converged)}.", stacklevel=4)
    iu = np.triu_indices(p, 1)
    near = [f"{names[a]}–{names[b]} ({R[a, b]:.3f})" for a, b in zip(*iu) if abs(R[a, b]) > 0.99]
    if near:
        record(diagnostics, DataQualityWarning,
               f"correlation (nearly) ±1 for {', '.join(near)}; the items may be redundant.", stacklevel=4)
    if np.linalg.eigvalsh(R)[0] < 0:
        record(diagnostics, NotPositiveDefiniteWarning,
               "the polychoric correlation matrix is not positive definite (pairwise estimates "
               "need not be jointly consistent); smooth it before factor analysis.", stacklevel=4)

    # ---- labelled outputs
    th_rows = [
        (names[j], k + 1, f"{names[j]}|t{k + 1}", float(v)) for j in ord_idx for k, v in enumerate(th[j])
    ]
    thresholds = pd.DataFrame(th_rows, columns=["item", "threshold", "name", "value"])
    cor_names = [f"{names[a]}~~{names[b]}" for a, b in zip(*iu)]
    stats = pd.Series(
        np.concatenate([thresholds["value"].to_numpy(), R[iu]]),
        index=list(thresholds["name"]) + cor_names, name="estimate",
    )
    gamma = None
    weights = None
    if acov and np.any(np.abs(R[iu]) >= 1.0):
        record(
            diagnostics, NotPositiveDefiniteWarning,
            "the asymptotic covariance (acov) is undefined when a correlation is ±1 (see the "
            "warnings above); acov and dwls_weights are None. Drop or merge the redundant items.",
            stacklevel=4,
        )
        acov = False
    if acov:
        G = _nacov(codes, ord_idx, K, th, counts, R, freq_raw, n)
        labels = list(stats.index)
        gamma = pd.DataFrame(G, index=labels, columns=labels)
        with np.errstate(divide="ignore"):
            weights = pd.Series(1.0 / np.diag(G), index=labels, name="dwls_weight")
    return PolychoricResult(
        matrix=pd.DataFrame(R, index=names, columns=names),
        thresholds=thresholds,
        categories=pd.Series({names[j]: tuple(int(v) for v in cats[names[j]]) for j in ord_idx}, dtype=object),
        acov=gamma,
        sample_stats=stats,
        dwls_weights=weights,
        n=int(n),
        n_excluded=n_excluded,
        pairwise_n=pd.DataFrame(pair_n.astype(int), index=names, columns=names),
        missing=missing,
        ordered=tuple(names[j] for j in ord_idx),
        zero_cell_pairs=tuple(zero_pairs),
        diagnostics=tuple(diagnostics),
    )


def _nacov(codes, ord_idx, K, th, counts, R, freq, n, chunk=4096):
    """lavaan's NACOV for ordinal items: N · B⁻¹ (Σ s sᵀ) B⁻ᵀ from casewise scores.

    Muthén (1984) two-step sandwich as ``lavaan:::muthen1984``: s stacks each row's
    scores of the univariate threshold likelihoods and of every bivariate ρ likelihood;
    B = [[A11, 0], [A21, A22]] with A11 the per-item blocks of Σ s_τ s_τᵀ, A22 the diagonal
    of Σ s_ρ², A21 = Σ s_ρ (∂ log π/∂τ)ᵀ. Every score depends on a row only through its
    categories, so A11, A21, A22 come from the tables and Σ s sᵀ from the distinct response
    patterns. Missing values (pairwise) give zero scores, as lavaan's ``na.rm`` sums.
    """
    from scipy.linalg import blas

    p = ord_idx.size
    kmax = max(K.values())
    nth = np.array([K[j] - 1 for j in ord_idx])
    th_off = np.concatenate([[0], np.cumsum(nth)])
    ntot = int(th_off[-1])
    # univariate threshold scores per category: (1[c = t] − 1[c = t+1]) φ(τ_t) / π_c
    U = np.zeros((p, kmax + 1, kmax - 1))  # row kmax = missing (zero scores)
    A11 = np.zeros((ntot, ntot))
    ext = np.full((p, kmax + 1), _BIG)
    for a, j in enumerate(ord_idx):
        e = np.concatenate([[-_BIG], th[j], [_BIG]])
        ext[a, : K[j] + 1] = e
        pi_c = _pnorm(e[1:]) - _pnorm(e[:-1])
        dens = _dnorm(th[j])
        u = (np.eye(K[j], K[j] - 1) - np.eye(K[j], K[j] - 1, -1)) * dens[None, :] / pi_c[:, None]
        U[a, : K[j], : K[j] - 1] = u
        sl = slice(th_off[a], th_off[a + 1])
        A11[sl, sl] = u.T @ (counts[j][:, None] * u)
    ia, ib = np.triu_indices(p, 1)
    P = ia.size
    thp = ext[:, 1:-1]
    rho = R[ord_idx[ia], ord_idx[ib]]
    PI, phi, _ = _pair_grid(thp[ia], thp[ib], rho)
    PI = np.maximum(PI, _SQRT_EPS)
    good = PI > _SQRT_EPS
    PIg = np.where(good, PI, 1.0)
    S = np.where(good, phi / PIg, 0.0)  # ρ score of each cell
    A22 = (freq * S * S).sum(axis=(1, 2))
    W = np.where(good, freq * S / PIg, 0.0)
    r = rho[:, None, None]
    Rr = np.sqrt(1.0 - r * r)
    ua_up, ua_lo = ext[ia, 1:][:, :, None], ext[ia, :-1][:, :, None]
    ub_up, ub_lo = ext[ib, 1:][:, None, :], ext[ib, :-1][:, None, :]
    z1a = _dnorm(ua_up) * (_pnorm((ub_up - r * ua_up) / Rr) - _pnorm((ub_lo - r * ua_up) / Rr))
    z2a = _dnorm(ua_lo) * (_pnorm((ub_up - r * ua_lo) / Rr) - _pnorm((ub_lo - r * ua_lo) / Rr))
    z1b = _dnorm(ub_up) * (_pnorm((ua_up - r * ub_up) / Rr) - _pnorm((ua_lo - r * ub_up) / Rr))
    z2b = _dnorm(ub_lo) * (_pnorm((ua_up - r * ub_lo) / Rr) - _pnorm((ua_lo - r * ub_lo) / Rr))
    x1a, x2a = (W * z1a).sum(axis=2), (W * z2a).sum(axis=2)  # (P, kmax) over categories of a
    x1b, x2b = (W * z1b).sum(axis=1), (W * z2b).sum(axis=1)
    A21 = np.zeros((P, ntot))
    for q in range(P):
        a, b = ia[q], ib[q]
        A21[q, th_off[a]: th_off[a + 1]] = x1a[q, : nth[a]] - x2a[q, 1: nth[a] + 1]
        A21[q, th_off[b]: th_off[b + 1]] = x1b[q, : nth[b]] - x2b[q, 1: nth[b] + 1]
    # Σ s sᵀ over distinct response patterns (weights = counts). Code kmax = missing, whose
    # row/column of the padded score tables is zero. The score matrix is filled column by
    # column (each a lookup in a tiny per-pair table: cache-friendly) in Fortran order for syrk.
    pat, cnt = np.unique(np.where(codes[:, ord_idx] < 0, kmax, codes[:, ord_idx]), axis=0, return_counts=True)
    k1 = kmax + 1
    S_pad = np.zeros((P, k1, k1))
    S_pad[:, :kmax, :kmax] = S
    S_pad = S_pad.reshape(P, k1 * k1)
    inner = np.zeros((ntot + P, ntot + P))
    for s0 in range(0, pat.shape[0], chunk):
        pc = pat[s0: s0 + chunk]
        w = np.sqrt(cnt[s0: s0 + chunk].astype(float))
        m = pc.shape[0]
        sc = np.empty((m, ntot + P), order="F")
        for a in range(p):
            sc[:, th_off[a]: th_off[a + 1]] = U[a, pc[:, a], : nth[a]] * w[:, None]
        cell = [pc[:, a] * k1 for a in range(p)]
        for q in range(P):
            sc[:, ntot + q] = S_pad[q][cell[ia[q]] + pc[:, ib[q]]] * w
        inner += blas.dsyrk(1.0, sc, trans=1)  # upper triangle of scᵀsc (half the work of a product)
    inner = np.triu(inner) + np.triu(inner, 1).T
    # B⁻¹ = [[A11⁻¹, 0], [−A22⁻¹ A21 A11⁻¹, A22⁻¹]]
    A11_inv = np.zeros_like(A11)
    for a in range(p):
        sl = slice(th_off[a], th_off[a + 1])
        A11_inv[sl, sl] = np.linalg.inv(A11[sl, sl])
    with np.errstate(divide="ignore"):
        d = 1.0 / A22
    # Block form of B⁻¹ I B⁻ᵀ with A = A11⁻¹, C = −D A21 A, D = diag(1/A22): O(P² · thresholds)
    # instead of a dense (thresholds + P)³ product.
    C = -(d[:, None] * A21) @ A11_inv
    I_tt, I_tc, I_cc = inner[:ntot, :ntot], inner[:ntot, ntot:], inner[ntot:, ntot:]
    out = np.empty_like(inner)
    out[:ntot, :ntot] = A11_inv @ I_tt @ A11_inv.T
    CI = C @ I_tt + d[:, None] * I_tc.T  # (P, ntot) = C I_tt + D I_ct
    out[ntot:, :ntot] = CI @ A11_inv.T
    out[:ntot, ntot:] = out[ntot:, :ntot].T
    X = C @ I_tc  # (P, P)
    out[ntot:, ntot:] = (CI @ C.T) + X * d[None, :] + d[:, None] * I_cc * d[None, :]
    return n * out


# ------------------------------------------------------------ ordinal reliability
def _as_corr(x) -> pd.DataFrame:
    if isinstance(x, PolychoricResult):
        return x.matrix
    if isinstance(x, pd.DataFrame):
        return x
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise DataError(f"expected a square correlation matrix, got shape {arr.shape}.")
    return pd.DataFrame(arr, index=[f"V{i + 1}" for i in range(arr.shape[0])],
                        columns=[f"V{i + 1}" for i in range(arr.shape[0])])


def ordinal_alpha(x: PolychoricResult | pd.DataFrame | np.ndarray, items: Sequence[str] | None = None) -> float:
    """Ordinal coefficient α (Zumbo, Gadermann & Zeisser 2007): α of the polychoric matrix.

    α = p/(p − 1) · (1 − p / Σ_ij r_ij) for the p × p polychoric correlation matrix R
    (standardised α; raw and standardised α coincide for a correlation matrix). It
    estimates the reliability of the *latent response* sum, not of the observed sum score.

    Parameters
    ----------
    x : PolychoricResult, DataFrame or array
        A :func:`polychoric` result or a correlation matrix.
    items : list of str, optional
        Subset of items (e.g. one subscale). Reverse-keyed items should be reversed
        before :func:`polychoric` (negative correlations lower α).

    Validated against ``psych::alpha(R)$total$raw_alpha`` with R = ``lavCor`` 's matrix
    (``tests/reference/ordinal``). Note ``psych::alpha(psych::polychoric(x)$rho)`` differs
    slightly because psych's polychoric estimates differ from lavaan's.
    """
    R = _as_corr(x)
    if items is not None:
        missing_items = [i for i in items if i not in R.columns]
        if missing_items:
            raise DataError(f"item(s) {', '.join(map(str, missing_items))} are not in the correlation matrix.")
        R = R.loc[list(items), list(items)]
    p = R.shape[0]
    if p < 2:
        raise DataError("ordinal alpha needs at least 2 items.")
    Rv = R.to_numpy(dtype=float)
    if not np.all(np.isfinite(Rv)):
        raise DataError("the correlation matrix contains missing or infinite values.")
    return float(p / (p - 1) * (1.0 - np.trace(Rv) / Rv.sum()))


def _threshold_map(thresholds) -> dict[str, np.ndarray]:
    if isinstance(thresholds, PolychoricResult):
        thresholds = thresholds.thresholds
    if isinstance(thresholds, pd.DataFrame):
        if not {"item", "value"} <= set(thresholds.columns):
            raise DataError("a thresholds table needs columns 'item' and 'value'.")
        return {str(k): g["value"].to_numpy(float) for k, g in thresholds.groupby("item", sort=False)}
    if isinstance(thresholds, pd.Series):  # lavaan labels "x1|t1"
        out: dict[str, list[float]] = {}
        for lab, v in thresholds.items():
            item = str(lab).split("|")[0]
            out.setdefault(item, []).append(float(v))
        return {k: np.asarray(v) for k, v in out.items()}
    return {str(k): np.asarray(v, dtype=float) for k, v in dict(thresholds).items()}


def categorical_omega(
    loadings: pd.DataFrame,
    thresholds,
    factor_cov: pd.DataFrame,
    sigma: pd.DataFrame,
    scales: pd.Series | None = None,
    *,
    drop_single: bool = True,
) -> pd.Series:
    """Categorical ω (Green & Yang 2009) per factor, as ``semTools::compRelSEM`` computes it.

    For the items j of factor f with thresholds τ_jc (scaled by the latent response
    scales s_j, lavaan's Δ; 1 in the default delta parametrisation), common-part matrix
    C = diag(s) λ_f φ_ff λ_fᵀ diag(s) and total correlation matrix Σ* (``sigma`` rescaled to
    a correlation matrix):

        ω = Σ_jj' Σ_cc' [Φ₂(τ_jc, τ_j'c'; C_jj') − Φ(τ_jc) Φ(τ_j'c')]
            / Σ_jj' Σ_cc' [Φ₂(τ_jc, τ_j'c'; Σ*_jj') − Φ(τ_jc) Φ(τ_j'c')]

    — the reliability of the observed sum score of ordinal items (semTools'
    ``ord.scale = TRUE``). On the diagonal Σ*_jj = 1 and Φ₂(a, b; 1) = Φ(min(a, b)).

    Parameters
    ----------
    loadings : DataFrame
        Items × factors (zeros where an item does not load).
    thresholds : DataFrame, Series or mapping
        Per item its thresholds: a :class:`PolychoricResult`'s ``thresholds`` table
        (``item``, ``value``), a Series labelled lavaan-style (``"x1|t1"``) or a dict.
    factor_cov : DataFrame
        Factor covariance matrix Φ (lavaan's ``psi``).
    sigma : DataFrame
        Items × items: the sample polychoric matrix (semTools' default ``obs.var = TRUE``)
        or the model-implied one (``obs.var = FALSE``).
    scales : Series, optional
        Latent response scales (lavaan ``delta``); default 1.
    drop_single : bool
        Skip factors with a single indicator (NaN), as semTools.

    Returns
    -------
    Series of ω, one per factor.

    Validated against ``semTools::compRelSEM`` (semTools 0.5-6) on a WLSMV CFA of
    Holzinger–Swineford cut into 3 categories, with lavaan's estimates stored in the
    fixture (``tests/reference/ordinal``).
    """
    th = _threshold_map(thresholds)
    L = loadings
    out = {}
    for f in L.columns:
        lam = L[f]
        items = [str(i) for i in lam.index[lam.to_numpy(dtype=float) != 0]]
        if not items or (drop_single and len(items) == 1):
            out[f] = np.nan
            continue
        miss = [i for i in items if i not in th]
        if miss:
            raise DataError(
                f"factor {f}: no thresholds for item(s) {', '.join(miss)}; categorical ω needs "
                "ordinal indicators only."
            )
        s = np.ones(len(items)) if scales is None else scales.loc[items].to_numpy(float)
        lv = lam.loc[items].to_numpy(float)
        C = np.outer(s * lv, s * lv) * float(factor_cov.loc[f, f])
        S = sigma.loc[items, items].to_numpy(float)
        d = np.sqrt(np.diag(S))
        S = S / np.outer(d, d)
        tt = np.concatenate([th[i] * s[k] for k, i in enumerate(items)])
        it = np.concatenate([np.full(th[i].size, k) for k, i in enumerate(items)])
        a, b = np.meshgrid(np.arange(tt.size), np.arange(tt.size), indexing="ij")
        ta, tb = tt[a], tt[b]
        base = _pnorm(ta) * _pnorm(tb)
        num = (bivariate_normal_cdf(ta, tb, C[it[a], it[b]]) - base).sum()
        den = (bivariate_normal_cdf(ta, tb, S[it[a], it[b]]) - base).sum()
        out[f] = float(num / den)
    return pd.Series(out, name="omega", dtype=float)


def categorical_omega_from_cfa(result, *, obs_var: bool = True, group: str | None = None) -> pd.Series:
    """Categorical ω per factor from a WLSMV CFA result, as ``semTools::compRelSEM(fit)``.

    Reads the loadings (``=~``), factor covariances, thresholds (``|``) and scaling
    factors (``~*~``) from ``result.estimates`` and passes them to
    :func:`categorical_omega` with the sample polychoric matrix (``obs_var=True``,
    semTools' default) or the model-implied one (``obs_var=False``).

    Parameters
    ----------
    result : CFAResult
        From a CFA with ``estimator="WLSMV"`` (ordinal items).
    obs_var : bool
        Denominator from the sample (True) or model-implied (False) correlations.
    group : str, optional
        Group label for a multi-group fit (required then).
    """
    if getattr(result, "estimator", None) != "WLSMV":
        raise DataError("categorical ω needs a CFA fitted to ordinal items (estimator='WLSMV').")
    est = result.estimates
    groups = list(getattr(result, "groups", ()) or [])
    if len(groups) > 1:
        if group is None:
            raise DataError(f"the CFA has groups {', '.join(map(str, groups))}; pass group=<label>.")
        est = est[est["group"].astype(str) == str(group)]

    def pick(tab):
        if isinstance(tab.index, pd.MultiIndex):
            return tab.xs(str(group) if group is not None else groups[0], level=0)
        return tab

    lam = est[est["op"] == "=~"]
    factors = list(dict.fromkeys(lam["lhs"]))
    items = list(dict.fromkeys(lam["rhs"]))
    L = pd.DataFrame(0.0, index=items, columns=factors)
    for _, r in lam.iterrows():
        L.loc[r["rhs"], r["lhs"]] = float(r["est"])
    th = est[est["op"] == "|"]
    thresholds = {i: th.loc[th["lhs"] == i, "est"].to_numpy(float) for i in items}
    sc = est[est["op"] == "~*~"]
    scales = pd.Series({i: float(sc.loc[sc["lhs"] == i, "est"].iloc[0]) if (sc["lhs"] == i).any() else 1.0
                        for i in items})
    psi = pick(result.latent_cov)
    sigma = pick(result.sample_cov if obs_var else result.implied_cov)
    return categorical_omega(L, thresholds, psi, sigma, scales)
