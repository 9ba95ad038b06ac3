"""Vectorised nonparametric bootstrap of covariance-based statistics (private).

Every reliability coefficient here is a function of the item covariance matrix,
so a replicate never needs its resampled rows: with the per-row *sufficient
statistics* F (N × q: products x_i x_j, sums x_i, and for pairwise deletion the
observed-pair indicators) and the replicate's resampling counts w (how often each
row was drawn), the replicate's sums are simply ``w @ F``. A chunk of replicates
is one matrix product ``W @ F`` (W = counts, chunk × N), and the covariance
matrices of all replicates in the chunk follow with batched array operations.
Jackknife (leave-one-out) sums, needed for the BCa acceleration, are ``F.sum(0) − F``.

Intervals
---------
percentile : the (1−level)/2 and (1+level)/2 quantiles of the replicates, taken
    as ``boot::boot.ci`` takes them (:func:`norm_inter`: order statistic (B + 1)p,
    interpolated on the normal scale).
BCa : Efron (1987); bias correction z₀ = Φ⁻¹(#{θ*_b < θ̂}/B) and acceleration
    a = Σ d_i³ / (6 (Σ d_i²)^{3/2}) with d_i = θ̄₍.₎ − θ₍ᵢ₎ from the jackknife;
    the interval is the percentile interval at
    α_j = Φ(z₀ + (z₀ + z_{α_j}) / (1 − a (z₀ + z_{α_j}))). These are the formulas
    of ``boot::boot.ci(type = "bca")`` (Davison & Hinkley, 1997, §5.3), with the
    empirical influence values from the jackknife.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from psychometrics._progress import progress

__all__ = ["LARGE_N", "moment_draws", "pair_counts", "pairwise_moments", "CovFeatures", "bootstrap_covariances", "jackknife_covariances", "percentile_interval",
           "bca_interval", "BootstrapOutcome", "run_bootstrap"]

SeedLike = int | np.random.Generator | None
EM_JACKKNIFE_MAX = 5_000  # above this many rows the EM bootstrap's BCa uses acceleration 0 (no n EM re-runs)
LARGE_N = 50_000  # above this many rows the bootstrap draws covariance matrices (moment_draws) instead of rows


@dataclass(frozen=True)
class CovFeatures:
    """Per-row sufficient statistics for covariance matrices.

    ``kind="cov"`` yields covariance matrices (pairwise: R's ``cov(use =
    "pairwise")``); ``kind="cor"`` with pairwise deletion yields R's
    ``cor(use = "pairwise")`` (means *and* SDs from the rows where both items
    are observed), which psych::omega uses. Listwise, use ``"cov"`` and rescale.
    """

    features: np.ndarray  # (N, q)
    p: int
    pairwise: bool
    kind: str = "cov"

    @classmethod
    def from_data(cls, x: np.ndarray, pairwise: bool, kind: str = "cov") -> CovFeatures:
        n, p = x.shape
        if not pairwise:
            xc = x - x.mean(axis=0)  # centring avoids cancellation in the sums of squares
            iu = np.triu_indices(p)
            prod = xc[:, iu[0]] * xc[:, iu[1]]
            f = np.hstack([prod, xc, np.ones((n, 1))])
        else:
            mask = ~np.isnan(x)
            xc = np.where(mask, x - np.nanmean(x, axis=0), 0.0)
            m = mask.astype(float)
            xx = (xc[:, :, None] * xc[:, None, :]).reshape(n, p * p)
            xm = (xc[:, :, None] * m[:, None, :]).reshape(n, p * p)
            mm = (m[:, :, None] * m[:, None, :]).reshape(n, p * p)
            parts = [xx, xm, mm]
            if kind == "cor":  # [i, j]: sum of x_i² over rows where i and j are observed
                parts.append((xc[:, :, None] ** 2 * m[:, None, :]).reshape(n, p * p))
            f = np.hstack(parts)
        return cls(np.ascontiguousarray(f), p, pairwise, kind if pairwise else "cov")

    def covariances(self, sums: np.ndarray) -> np.ndarray:
        """Covariance matrices (m, p, p) from summed features (m, q); n − 1 divisor."""
        p = self.p
        m = sums.shape[0]
        if not self.pairwise:
            k = p * (p + 1) // 2
            sxx = np.empty((m, p, p))
            iu = np.triu_indices(p)
            sxx[:, iu[0], iu[1]] = sums[:, :k]
            sxx[:, iu[1], iu[0]] = sums[:, :k]
            sx = sums[:, k:k + p]
            n = sums[:, k + p]
            cov = (sxx - sx[:, :, None] * sx[:, None, :] / n[:, None, None]) / (n - 1.0)[:, None, None]
            return cov
        pp = p * p
        xx = sums[:, :pp].reshape(m, p, p)
        xm = sums[:, pp:2 * pp].reshape(m, p, p)  # [i, j]: sum of x_i over rows where j observed
        mm = sums[:, 2 * pp:3 * pp].reshape(m, p, p)
        with np.errstate(divide="ignore", invalid="ignore"):
            # pairwise-complete covariance: means taken over the rows where both are observed
            cov = (xx - xm * np.swapaxes(xm, 1, 2) / mm) / (mm - 1.0)
            if self.kind == "cor":
                sq = sums[:, 3 * pp:].reshape(m, p, p)
                var = (sq - xm**2 / mm) / (mm - 1.0)  # [i, j]: var of x_i over the pair's rows
                cov = cov / np.sqrt(var * np.swapaxes(var, 1, 2))
                idx = np.arange(p)
                cov[:, idx, idx] = 1.0
        cov[mm < 2] = np.nan
        return cov


def bootstrap_covariances(features: CovFeatures, n_boot: int, seed: SeedLike, chunk: int | None = None):
    """Yield ``(start, covariances)`` for chunks of bootstrap replicates.

    Row indices are drawn chunk by chunk from one generator, so the replicates
    do not depend on the chunk size: the same seed gives the same numbers.
    """
    rng = np.random.default_rng(seed)  # a Generator is passed through unchanged
    n = features.features.shape[0]
    if chunk is None:  # bound the count matrix to about 16 MB
        chunk = max(1, min(n_boot, 2_000_000 // max(n, 1)))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        counts = np.bincount((idx + (np.arange(b) * n)[:, None]).ravel(), minlength=b * n)
        w = counts.reshape(b, n).astype(float)
        yield start, features.covariances(w @ features.features)


def jackknife_covariances(features: CovFeatures) -> np.ndarray:
    """Leave-one-out covariance matrices (N, p, p)."""
    f = features.features
    return features.covariances(f.sum(axis=0)[None, :] - f)


def norm_inter(t: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Quantiles of replicates as ``boot:::norm.inter`` (used by ``boot::boot.ci``).

    With R replicates sorted t₍₁₎ ≤ … ≤ t₍R₎ and r = (R + 1)p: if r is an integer
    the quantile is t₍r₎; otherwise, with k = ⌊r⌋, it is interpolated on the normal
    scale between t₍k₎ and t₍k+1₎:
    t₍k₎ + (Φ⁻¹(p) − Φ⁻¹(k/(R+1))) / (Φ⁻¹((k+1)/(R+1)) − Φ⁻¹(k/(R+1))) · (t₍k+1₎ − t₍k₎);
    beyond the extremes the extreme order statistics are used.
    """
    t = np.sort(t[np.isfinite(t)])
    r = len(t)
    probs = np.atleast_1d(np.asarray(probs, dtype=float))
    rk = (r + 1) * probs
    k = np.trunc(rk).astype(int)
    out = np.empty(len(probs))
    for j in range(len(probs)):
        if k[j] <= 0:
            out[j] = t[0]
        elif k[j] >= r:
            out[j] = t[-1]
        elif k[j] == rk[j]:
            out[j] = t[k[j] - 1]
        else:
            z1 = ndtri(probs[j])
            z2 = ndtri(k[j] / (r + 1))
            z3 = ndtri((k[j] + 1) / (r + 1))
            tk, tk1 = t[k[j] - 1], t[k[j]]
            out[j] = tk + (z1 - z2) / (z3 - z2) * (tk1 - tk)
    return out


def percentile_interval(boot: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of the finite replicates, as ``boot::boot.ci(type = "perc")``."""
    lo, hi = norm_inter(boot, np.array([(1 - level) / 2, (1 + level) / 2]))
    return float(lo), float(hi)


def bca_interval(boot: np.ndarray, estimate: float, jack: np.ndarray, level: float) -> tuple[float, float] | None:
    """BCa interval; ``None`` when the bias correction is infinite (all replicates on one side)."""
    prop = np.mean(boot < estimate)
    if prop <= 0.0 or prop >= 1.0:
        return None
    z0 = ndtri(prop)
    d = jack.mean() - jack
    denom = np.sum(d**2)
    a = float(np.sum(d**3) / (6.0 * denom**1.5)) if denom > 0 else 0.0
    z = ndtri(np.array([(1 - level) / 2, (1 + level) / 2]))
    adj = ndtr(z0 + (z0 + z) / (1.0 - a * (z0 + z)))
    lo, hi = norm_inter(boot, adj)
    return float(lo), float(hi)


@dataclass(frozen=True)
class BootstrapOutcome:
    """Replicates and intervals for k statistics."""

    replicates: np.ndarray  # (B, k), NaN where a replicate failed
    intervals: list[tuple[float, float] | None]
    interval: str  # "bca" or "percentile" (as requested)
    n_failed: int
    fallbacks: list[str]  # messages for statistics whose BCa fell back to percentile
    method: str = "rows"  # "rows" (resampling rows) or "asymptotic" (large n; see moment_draws)
    note: str = ""  # why the method was chosen, for the report (empty for "rows")


def run_bootstrap(
    x: np.ndarray,
    pairwise: bool,
    statistic: Callable[[np.ndarray], np.ndarray],
    estimates: np.ndarray,
    *,
    n_boot: int,
    level: float,
    interval: str,
    seed: SeedLike,
    show_progress: bool | None,
    description: str,
    names: list[str],
    chunk: int | None = None,
    kind: str = "cov",
    large_n: int = LARGE_N,
    centre: np.ndarray | None = None,
) -> BootstrapOutcome:
    """Bootstrap ``statistic`` (covariances (m, p, p) → values (m, k)) and build intervals.

    ``chunk`` bounds the replicates per batch (default: by memory); a slow
    statistic passes a small chunk so that progress advances smoothly. The
    replicates do not depend on it.

    With more than ``large_n`` rows the replicates are draws of the covariance matrix from
    the normal limit of the row bootstrap (:func:`moment_draws`), whose cost does not grow with n, and BCa uses
    no jackknife (acceleration 0, i.e. the bias-corrected percentile interval); the
    outcome's ``method`` and ``note`` say so. At or below ``large_n`` (the demo's n and
    every test) rows are resampled exactly as before.

    ``centre`` (``kind="em"``): the EM covariance (× n/(n − 1)) of ``x`` when the caller has it (the
    point estimate); the large-n draws are centred there instead of re-running the EM.
    """
    if kind == "em":  # missing="fiml": the EM covariance of every resample (psychometrics._em)
        return _run_em(x, statistic, estimates, n_boot=n_boot, level=level, interval=interval, seed=seed,
                       show_progress=show_progress, description=description, names=names, centre=centre)
    if x.shape[0] > large_n:
        return _run_asymptotic(x, pairwise, statistic, estimates, n_boot=n_boot, level=level, interval=interval,
                            seed=seed, show_progress=show_progress, description=description, names=names,
                            chunk=chunk, kind=kind, large_n=large_n)
    feats = CovFeatures.from_data(x, pairwise, kind)
    k = len(estimates)
    reps = np.empty((n_boot, k))
    with progress(description, n_boot, show_progress) as advance:
        for start, covs in bootstrap_covariances(feats, n_boot, seed, chunk=chunk):
            reps[start:start + covs.shape[0]] = statistic(covs)
            advance(covs.shape[0])
    jack = None
    if interval == "bca":
        jcovs = jackknife_covariances(feats)
        n = jcovs.shape[0]
        step = n if chunk is None else chunk
        jack = np.empty((n, k))
        with progress(f"jackknife for BCa (n = {n})", n, show_progress if step < n else False) as advance:
            for s0 in range(0, n, step):
                jack[s0:s0 + step] = statistic(jcovs[s0:s0 + step])
                advance(min(step, n - s0))
    return _outcome(reps, jack, estimates, level, interval, names)


def _outcome(reps: np.ndarray, jack: np.ndarray | None, estimates: np.ndarray, level: float, interval: str,
             names: list[str], method: str = "rows", note: str = "") -> BootstrapOutcome:
    """Percentile or BCa intervals of the replicates (``jack``: jackknife values for BCa)."""
    k = reps.shape[1]
    ok = np.all(np.isfinite(reps), axis=1)
    n_failed = int(np.sum(~ok))
    good = reps[ok]
    intervals: list[tuple[float, float] | None] = []
    fallbacks: list[str] = []
    for j in range(k):
        if good.shape[0] < 2:
            intervals.append(None)
            continue
        if interval == "bca":
            jj = jack[:, j]
            jj = jj[np.isfinite(jj)]
            ci = bca_interval(good[:, j], float(estimates[j]), jj, level)
            if ci is None:
                fallbacks.append(
                    f"BCa interval for {names[j]} is undefined (every bootstrap replicate lies on one "
                    "side of the estimate); the percentile interval is reported instead"
                )
                ci = percentile_interval(good[:, j], level)
            intervals.append(ci)
        else:
            intervals.append(percentile_interval(good[:, j], level))
    return BootstrapOutcome(reps, intervals, interval, n_failed, fallbacks, method, note)


def _run_em(x: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray], estimates: np.ndarray, *, n_boot: int,
            level: float, interval: str, seed: SeedLike, show_progress: bool | None, description: str,
            names: list[str], centre: np.ndarray | None = None) -> BootstrapOutcome:
    """Row bootstrap of a statistic of the EM covariance matrix (``missing="fiml"``).

    Every replicate resamples rows (the same draws as the other bootstraps: one generator,
    counts per row) and re-runs the EM on the resample, warm-started at the full-sample EM
    estimate (:func:`psychometrics._em.em_weighted`, tolerance 1e-9); the statistic receives
    the EM covariance with divisor n − 1 (as the point estimate). BCa's jackknife re-runs the
    EM without each row in turn. A replicate whose EM does not converge counts as failed.
    """
    from psychometrics._em import PatternSums, em_weighted

    n = x.shape[0]
    if n > LARGE_N:
        return _run_em_asymptotic(x, statistic, estimates, n_boot=n_boot, level=level, interval=interval, seed=seed,
                                  show_progress=show_progress, description=description, names=names, centre=centre)
    ps = PatternSums(x)
    ones = np.ones((1, n))
    mu0, sig0, _ = em_weighted(ps, ones, np.nanmean(x, axis=0), np.diag(np.nanvar(x, axis=0)), tol=1e-12,
                               max_iter=20_000)
    mu0, sig0 = mu0[0], sig0[0]
    k = len(estimates)

    def stat(w: np.ndarray) -> np.ndarray:
        _, sig, ok = em_weighted(ps, w, mu0, sig0)
        nw = w.sum(axis=1)
        out = np.asarray(statistic(sig * (nw / (nw - 1.0))[:, None, None]), dtype=float).reshape(len(w), k)
        out[~ok] = np.nan
        return out

    rng = np.random.default_rng(seed)  # a Generator is passed through unchanged
    chunk = max(1, min(max(n_boot, n), 2_000_000 // max(n, 1)))  # weight rows of ≤ 16 MB per batch
    reps = np.empty((n_boot, k))
    with progress(description, n_boot, show_progress) as advance:
        for start in range(0, n_boot, chunk):
            b = min(chunk, n_boot - start)
            idx = rng.integers(0, n, size=(b, n))
            counts = np.bincount((idx + (np.arange(b) * n)[:, None]).ravel(), minlength=b * n)
            reps[start:start + b] = stat(counts.reshape(b, n).astype(float))
            advance(b)
    jack = None
    note = ""
    if interval == "bca" and n > EM_JACKKNIFE_MAX:
        jack = np.zeros((2, k))  # acceleration 0
        note = (f"BCa of the EM bootstrap with acceleration 0 (bias-corrected percentile): the jackknife would re-run "
                f"the EM {n:,} times (n > {EM_JACKKNIFE_MAX:,}), and the acceleration is O(1/√n)")
    elif interval == "bca":
        jack = np.empty((n, k))
        with progress(f"jackknife for BCa (n = {n}, EM)", n, show_progress) as advance:
            for s0 in range(0, n, chunk):
                rows = np.arange(s0, min(n, s0 + chunk))
                w = np.ones((len(rows), n))
                w[np.arange(len(rows)), rows] = 0.0
                jack[rows] = stat(w)
                advance(len(rows))
    return _outcome(reps, jack, estimates, level, interval, names, method="rows-em", note=note)


def _run_em_asymptotic(x: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray], estimates: np.ndarray, *,
                       n_boot: int, level: float, interval: str, seed: SeedLike, show_progress: bool | None,
                       description: str, names: list[str], centre: np.ndarray | None = None) -> BootstrapOutcome:
    """n > LARGE_N with ``missing="fiml"``: normal draws (:func:`moment_draws`) centred at the EM covariance
    (``centre`` when given: the caller's point estimate, else :func:`_em_centre`), with the distribution-free
    dispersion of the pairwise covariances (an upper bound of the EM estimate's, close to it when few values
    are missing); BCa with acceleration 0."""
    n = x.shape[0]
    centre = _em_centre(x) if centre is None else np.asarray(centre, dtype=float)
    mm, complete = pair_counts(x, complete=True)  # (the pairwise covariances themselves are not used here)
    k = len(estimates)
    reps = np.empty((n_boot, k))
    with progress(description + " (asymptotic)", n_boot, show_progress) as advance:
        for start, covs in moment_draws(x, centre, mm, n_boot, seed, None, complete_rows=complete):
            reps[start:start + covs.shape[0]] = statistic(covs)
            advance(covs.shape[0])
    note = (f"bootstrap by asymptotic draws of the covariance matrix (n = {n:,} > {LARGE_N:,}): centred at the EM "
            "(FIML) estimate, with the distribution-free covariance of the pairwise covariances (Browne, 1984), "
            "which is at least as wide as the EM estimate's; "
            + ("bias-corrected with acceleration 0" if interval == "bca" else "percentile interval"))
    return _outcome(reps, np.zeros((2, k)) if interval == "bca" else None, estimates, level, interval, names,
                    method="asymptotic", note=note)


def _em_centre(x: np.ndarray) -> np.ndarray:
    """The EM (FIML saturated) covariance × n/(n − 1) of ``x`` (rows with ≥ 1 answer), tolerance 1e-10: the
    point estimate of ``missing="fiml"`` (:func:`psychometrics.data.missing.em_normal` of the same rows), from
    the per-pattern sums of unit weights; its start (available-case means and ML variances) from the same
    sums, so there is no pass over the rows after the grouping."""
    from psychometrics._em import PatternSums, em_weighted

    n = x.shape[0]
    ps = PatternSums(x)
    sums = ps.unit_sums()
    n_obs, s1, s2 = np.zeros(x.shape[1]), np.zeros(x.shape[1]), np.zeros(x.shape[1])
    for (_, o, _, _), (nj, t1, t2) in zip(ps.parts, sums):
        n_obs[o] += nj[0]
        s1[o] += t1[0]
        s2[o] += np.diagonal(t2[0])
    mean0 = s1 / n_obs
    var0 = np.maximum(s2 / n_obs - mean0 * mean0, 0.0)
    _, sig, _ = em_weighted(ps, np.ones((1, n)), mean0, np.diag(var0), tol=1e-10, max_iter=20_000, sums=sums)
    return sig[0] * (n / (n - 1.0))


def pair_counts(x: np.ndarray, complete: bool = False) -> Any:
    """Rows answering both items of every pair (the counts of :func:`pairwise_moments`, alone): 0/1
    products summed in float32 within blocks of 65,536 rows (exact) and in float64 across them.

    ``complete``: also the complete rows (every item answered, ascending) from the same pass — a row's
    answers counted as one 0/1 product with a vector of ones (exact in float32) — for
    :func:`moment_draws` (issue 16: one pass over the rows instead of two)."""
    p = x.shape[1]
    mm = np.zeros((p, p))
    ones = np.ones(p, dtype=np.float32)
    rows = []
    for s in range(0, x.shape[0], 65_536):
        m = (~np.isnan(x[s:s + 65_536])).astype(np.float32)
        mm += (m.T @ m).astype(float)
        if complete:
            rows.append(np.flatnonzero(m @ ones == p) + s)
    if complete:
        return mm, (np.concatenate(rows) if rows else np.zeros(0, dtype=np.intp))
    return mm


def pairwise_moments(x: np.ndarray, kind: str = "cov") -> tuple[np.ndarray, np.ndarray]:
    """Pairwise-complete covariance (or correlation) matrix and the pair counts, in one pass.

    Sums of products over the rows where both items are answered (R's ``use = "pairwise"``;
    means and, for ``"cor"``, SDs from those rows), in row blocks so the memory is O(p²).
    """
    n, p = x.shape
    mm = np.zeros((p, p))
    sx = np.zeros((p, p))
    sq = np.zeros((p, p))
    sxy = np.zeros((p, p))
    for s in range(0, n, 65_536):
        blk = x[s:s + 65_536]
        obs = ~np.isnan(blk)
        m = obs.astype(float)
        x0 = np.where(obs, blk, 0.0)
        mm += m.T @ m
        sx += x0.T @ m
        sq += (x0 * x0).T @ m
        sxy += x0.T @ x0
    return pairwise_from_sums(mm, sx, sq, sxy, kind), mm


def pairwise_from_sums(mm: np.ndarray, sx: np.ndarray, sq: np.ndarray, sxy: np.ndarray, kind: str = "cov") -> np.ndarray:
    """:func:`pairwise_moments`' covariance (or correlation) from its sums over the pairwise-complete
    rows: counts ``mm``, Σx_i ``sx[i, j]``, Σx_i² ``sq[i, j]`` and Σx_i x_j ``sxy``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = (sxy - sx * sx.T / mm) / (mm - 1.0)
        if kind == "cor":
            var = (sq - sx ** 2 / mm) / (mm - 1.0)
            cov = cov / np.sqrt(var * var.T)
            np.fill_diagonal(cov, 1.0)
    return cov


def moment_draws(x: np.ndarray, centre: np.ndarray, pair_n: np.ndarray, n_boot: int, seed: SeedLike,
                 chunk: int | None = None, m_max: int = 20_000, standardise: bool = False,
                 complete_rows: np.ndarray | None = None):
    """Yield ``(start, covariances)``: S* = S + E with vech(E) ~ N(0, Γ̂ / n_ij), Γ̂ the ADF matrix.

    Γ̂ = Cov_rows(vech((x − x̄)(x − x̄)ᵀ)) over the complete rows (a random subset of at most
    ``m_max`` of them; with ``standardise`` the columns are first divided by their SD so Γ̂
    refers to correlations); entry (i, j) of E is divided by √n_ij, its pair count. This is
    the normal limit of the row bootstrap of the covariance matrix (whose replicates have
    covariance Γ̂/n; Browne, 1984): distribution free, keeping the items' kurtosis, and its
    cost does not grow with n (O(m q²) once, q = p(p+1)/2, and O(B q²) for the draws).
    ``complete_rows``: the complete rows of ``x`` (ascending) when the caller has them (:func:`pair_counts`).
    """
    rng = np.random.default_rng(seed)
    p = centre.shape[0]
    rows = (np.flatnonzero(~np.isnan(x).any(axis=1)) if complete_rows is None
            else complete_rows)  # the complete rows (only the drawn ones are gathered)
    if rows.size > m_max:
        rows = rows[np.sort(rng.choice(rows.size, m_max, replace=False))]
    xc = x[rows]
    d = xc - xc.mean(axis=0)
    if standardise:
        d = d / d.std(axis=0, ddof=1)
    iu = np.triu_indices(p)
    y = d[:, iu[0]] * d[:, iu[1]]
    gamma = np.cov(y, rowvar=False)
    w, v = np.linalg.eigh(gamma)
    root = v * np.sqrt(np.clip(w, 0.0, None))  # Γ̂ = root rootᵀ (non-negative part)
    scale = 1.0 / np.sqrt(pair_n[iu])
    chunk = n_boot if chunk is None else chunk
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        e = (rng.standard_normal((b, iu[0].size)) @ root.T) * scale
        out = np.repeat(centre[None], b, axis=0)
        out[:, iu[0], iu[1]] += e
        off = iu[0] != iu[1]
        out[:, iu[1][off], iu[0][off]] += e[:, off]
        yield start, out


def _run_asymptotic(x, pairwise, statistic, estimates, *, n_boot, level, interval, seed, show_progress,
                    description, names, chunk, kind, large_n) -> BootstrapOutcome:
    """:func:`run_bootstrap` for n > ``large_n``: normal draws of the covariance matrix (:func:`moment_draws`)."""
    n = x.shape[0]
    cov, mm = pairwise_moments(x, kind if pairwise else "cov")
    if not pairwise:  # listwise: x holds complete rows only
        mm = np.full_like(mm, float(n))
    k = len(estimates)
    reps = np.empty((n_boot, k))
    with progress(description + " (asymptotic)", n_boot, show_progress) as advance:
        for start, covs in moment_draws(x, cov, mm, n_boot, seed, chunk, standardise=pairwise and kind == "cor"):
            if pairwise and kind == "cor":
                sd = np.sqrt(np.clip(np.einsum("bii->bi", covs), 1e-300, None))
                covs = covs / (sd[:, :, None] * sd[:, None, :])
            reps[start:start + covs.shape[0]] = statistic(covs)
            advance(covs.shape[0])
    note = (f"bootstrap by asymptotic draws of the {'correlation' if kind == 'cor' else 'covariance'} matrix "
            f"(n = {n:,} > {large_n:,}): resampling {n:,} rows {n_boot} times costs time and memory in proportion "
            "to n; instead each replicate matrix is drawn from the normal limit of the row bootstrap, with the "
            "distribution-free (ADF) covariance of the covariances from the complete rows (Browne, 1984), at a "
            "cost independent of n; the interval is "
            + ("bias-corrected with acceleration 0 (the jackknife acceleration is O(1/√n))"
               if interval == "bca" else "the percentile interval"))
    # acceleration 0: a zero jackknife, as in the EM path's asymptotic draws
    return _outcome(reps, np.zeros((2, k)) if interval == "bca" else None, estimates, level, interval, names,
                    method="asymptotic", note=note)
