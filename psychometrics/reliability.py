"""Reliability: Cronbach's α, McDonald's ω, Guttman's λ2/λ6, split-half, SEM.

Every function takes a :class:`pandas.DataFrame` of numeric item responses
(columns = item ids, rows = respondents) that is **already reverse-keyed**, and
returns a frozen result object (see :mod:`psychometrics._results`). Formulas,
references and the R functions each statistic is validated against are listed
in ``docs/reliability.md``.

Missing data
------------
``missing="listwise"`` (default) uses the rows with every item observed;
``missing="pairwise"`` computes each covariance from the rows where both items
are observed (R's ``cov(use = "pairwise")``, the default of ``psych::alpha``).
Results report ``n`` (rows used; for pairwise, rows with at least one observed
item), ``n_excluded`` and, for pairwise, the smallest pairwise ``n``.

Bootstrap
---------
Confidence intervals by the nonparametric bootstrap are seeded (``seed``: int or
:class:`numpy.random.Generator`), vectorised over replicates (see
:mod:`psychometrics._bootstrap`) and show progress on a terminal. ``interval``
is ``"bca"`` (bias-corrected and accelerated, default) or ``"percentile"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from math import comb
from typing import Any, Literal

import numpy as np
import pandas as pd

from psychometrics._bootstrap import SeedLike, run_bootstrap
from psychometrics._linalg import cov2cor, pairwise_correlation, single_thread_blas, smc
from psychometrics._results import ResultMixin
from psychometrics._validation import check_observed, check_variance, item_matrix, name_list
from psychometrics.efa.extraction import extract, minres_one_factor_batch
from psychometrics.efa.rotation import rotate, sign_and_order
from psychometrics.exceptions import (
    ConvergenceWarning,
    DataError,
    Diagnostic,
    HeywoodCaseWarning,
    NotPositiveDefiniteWarning,
    ReliabilityWarning,
    record,
)

__all__ = [
    "AlphaResult",
    "OmegaResult",
    "OmegaCFAResult",
    "OmegaBifactorResult",
    "omega_bifactor",
    "GuttmanResult",
    "SplitHalfResult",
    "ReliabilityResult",
    "ScaleReliabilityResult",
    "cronbach_alpha",
    "omega",
    "omega_cfa",
    "guttman",
    "split_half",
    "standard_error_of_measurement",
    "reliability",
    "scale_reliability",
]

Missing = Literal["listwise", "pairwise"]
Interval = Literal["bca", "percentile"]


# ============================================================ input handling
@dataclass(frozen=True)
class _Prepared:
    """Validated item data and its covariance matrix under a missing-data policy."""

    items: list[str]
    x: np.ndarray  # rows used (listwise: complete; pairwise: ≥ 1 item observed), NaN kept
    cov: np.ndarray
    n: int
    n_rows: int
    n_excluded: int
    n_pairwise_min: int
    missing: str
    diagnostics: tuple[Diagnostic, ...]

    @property
    def corr(self) -> np.ndarray:
        """cov2cor of the covariance matrix (psych::alpha, psych::splitHalf)."""
        return cov2cor(self.cov)

    @property
    def cor(self) -> np.ndarray:
        """Correlation matrix as R's ``cor(use = "pairwise")`` (psych::omega, psych::guttman).

        Listwise it equals :attr:`corr`; pairwise each correlation uses the means
        and SDs of the rows where both items are observed.
        """
        if self.missing == "listwise":
            return self.corr
        return pairwise_correlation(self.x)[0]


# Within reliability(), the same item set is validated once and shared by α, ω, λ and split-half.
_PREP_CACHE: ContextVar[dict | None] = ContextVar("_PREP_CACHE", default=None)


@contextmanager
def _shared_preparation():
    token = _PREP_CACHE.set({})
    try:
        yield
    finally:
        _PREP_CACHE.reset(token)


def _prepare(data: pd.DataFrame, missing: str, *, min_items: int = 2, what: str = "reliability") -> _Prepared:
    """Validate ``data`` and compute its covariance matrix; errors name items and rows."""
    cache = _PREP_CACHE.get()
    if cache is not None and (id(data), missing) in cache:
        prep = cache[(id(data), missing)]
        if len(prep.items) < min_items:
            raise DataError(f"{what} needs at least {min_items} items, got {len(prep.items)} ({name_list(prep.items)})")
        return prep
    prep = _prepare_uncached(data, missing, min_items=min_items, what=what)
    if cache is not None:
        cache[(id(data), missing)] = prep
    return prep


def _prepare_uncached(data: pd.DataFrame, missing: str, *, min_items: int, what: str) -> _Prepared:
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"{what} needs a pandas DataFrame of item responses (columns = items), "
            f"got {type(data).__name__}; wrap arrays with pandas.DataFrame(array, columns=item_ids)"
        )
    if missing not in ("listwise", "pairwise"):
        raise DataError(f"missing must be 'listwise' or 'pairwise', not {missing!r}")
    cols = [str(c) for c in data.columns]
    dup = sorted({c for c in cols if cols.count(c) > 1})
    if dup:
        raise DataError(f"duplicate item columns {name_list(dup)}; each item must appear once")
    if data.shape[1] < min_items:
        raise DataError(
            f"{what} needs at least {min_items} items, got {data.shape[1]} ({name_list(cols) or 'none'})"
        )
    x = item_matrix(data, what)
    check_observed(x, cols, what)
    observed = ~np.isnan(x)
    n_rows = x.shape[0]
    if missing == "listwise":
        keep = observed.all(axis=1)
        used = x[keep]
        if used.shape[0] < 3:
            raise DataError(
                f"listwise deletion leaves {used.shape[0]} complete rows of {n_rows} "
                f"(items {name_list(cols)}); at least 3 are needed — use missing='pairwise' or fewer items"
            )
        cov = np.cov(used, rowvar=False)
        n_pair_min = used.shape[0]
    else:
        keep = observed.any(axis=1)
        used = x[keep]
        m = (~np.isnan(used)).astype(float)
        counts = m.T @ m
        if counts.min() < 3:
            i, j = np.unravel_index(np.argmin(counts), counts.shape)
            raise DataError(
                f"items {cols[i]} and {cols[j]} are observed together in only {int(counts[i, j])} rows; "
                "pairwise covariances need at least 3"
            )
        cov = pd.DataFrame(used).cov().to_numpy()
        n_pair_min = int(counts.min())
    check_variance(used, cols, what, f"in the {used.shape[0]} rows used")
    diags: list[Diagnostic] = []
    n_excl = n_rows - used.shape[0]
    return _Prepared(cols, used, cov, int(used.shape[0]), n_rows, int(n_excl), n_pair_min, missing,
                     tuple(diags))


def _check_matrix(prep: _Prepared, diags: list[Diagnostic]) -> None:
    """Record a warning when the correlation matrix is singular or not positive definite."""
    r = prep.corr
    vals, vecs = np.linalg.eigh(r)
    if vals[0] < 1e-10 * max(vals[-1], 1.0):
        v = vecs[:, 0]
        involved = [prep.items[i] for i in np.argsort(-np.abs(v)) if abs(v[i]) > 0.1 * np.max(np.abs(v))]
        kind = "not positive definite" if vals[0] < -1e-10 else "singular"
        record(
            diags, NotPositiveDefiniteWarning,
            f"the item correlation matrix is {kind} (smallest eigenvalue {vals[0]:.3g}); items "
            f"{name_list(involved)} are (nearly) linear combinations of each other"
            + (" or the pairwise covariances are inconsistent" if prep.missing == "pairwise" else "")
            + ". Squared multiple correlations (λ6, G6) use a pseudo-inverse as psych does; "
            "consider removing a redundant item",
            stacklevel=4,
        )


def _item_rest_r(cov: np.ndarray) -> np.ndarray:
    """Corrected item–total (item–rest) correlations from a covariance matrix (psych's r.drop)."""
    total = cov.sum()
    col = cov.sum(axis=0)
    d = np.diag(cov)
    v_rest = total - 2 * col + d
    c_rest = col - d
    return c_rest / np.sqrt(d * v_rest)


def _alpha_batch(cov: np.ndarray) -> np.ndarray:
    """Raw α for a batch of covariance matrices (m, p, p)."""
    p = cov.shape[-1]
    tr = np.trace(cov, axis1=-2, axis2=-1)
    tot = cov.sum(axis=(-2, -1))
    return p / (p - 1) * (1.0 - tr / tot)


def _alpha_if_deleted(cov: np.ndarray, std: bool = False) -> np.ndarray:
    """α of the scale without each item (psych's alpha.drop raw_alpha or std.alpha)."""
    p = cov.shape[0]
    if std:
        cov = cov2cor(cov)
    if p == 2:  # psych: with two items "α if deleted" is c12 / var(other)
        out = np.array([cov[0, 1] / cov[1, 1], cov[0, 1] / cov[0, 0]])
        return out
    tot = cov.sum()
    col = cov.sum(axis=0)
    d = np.diag(cov)
    tot_i = tot - 2 * col + d
    tr_i = np.trace(cov) - d
    k = p - 1
    return k / (k - 1) * (1 - tr_i / tot_i)


def _negative_items_message(items: list[str], cov: np.ndarray) -> list[str]:
    rr = _item_rest_r(cov)
    return [items[i] for i in range(len(items)) if rr[i] < 0]


def _feldt(alpha: float, n: int, p: int, level: float) -> tuple[float, float]:
    """Feldt (1965) interval, as psych::alpha.ci."""
    from scipy.stats import f

    a = 1 - level
    df1, df2 = n - 1, (n - 1) * (p - 1)
    lo = 1 - (1 - alpha) * f.ppf(1 - a / 2, df1, df2)
    hi = 1 - (1 - alpha) * f.ppf(a / 2, df1, df2)
    return float(lo), float(hi)


def _check_level(ci: float | None) -> None:
    if ci is not None and not (0 < ci < 1):
        raise DataError(f"ci is the confidence level and must lie between 0 and 1 (e.g. 0.95), not {ci!r}")


def _check_boot(n_boot: int, interval: str) -> None:
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise DataError(f"n_boot must be an integer ≥ 2 (e.g. 2000), not {n_boot!r}")
    if interval not in ("bca", "percentile"):
        raise DataError(f"interval must be 'bca' or 'percentile', not {interval!r}")


# ====================================================================== alpha
@dataclass(frozen=True, eq=False)
class AlphaResult(ResultMixin):
    """Cronbach's α with a confidence interval and item-deletion statistics.

    Attributes
    ----------
    alpha : float
        Raw α from the covariance matrix (psych's ``raw_alpha``).
    std_alpha : float
        Standardised α from the correlation matrix (psych's ``std.alpha``).
    ci : tuple of float or None
        (low, high) at ``ci_level`` by ``method``.
    method : str
        ``"feldt"``, ``"bootstrap-bca"`` or ``"bootstrap-percentile"``.
    average_r, median_r : float
        Mean and median inter-item correlation.
    g6 : float
        Guttman's λ6 from the correlation matrix (psych's ``G6(smc)``).
    signal_noise : float
        k r̄ / (1 − r̄) (psych's ``S/N``).
    ase : float
        Asymptotic standard error of α (Duhachek & Iacobucci, 2004; psych's ``ase``).
    total_mean, total_sd : float
        Mean and SD of the sum score (rows used).
    sem : float
        Standard error of measurement of the sum score, total_sd·√(1 − α).
    alpha_if_deleted, std_alpha_if_deleted, item_rest_r : pandas.Series
        Per item (index = item ids).
    n, n_items, n_excluded, n_pairwise_min : int
        Rows used, items, rows excluded by the missing-data policy, smallest pairwise n.
    """

    alpha: float
    std_alpha: float
    ci: tuple[float, float] | None
    ci_level: float | None
    method: str
    n: int
    n_items: int
    missing: str
    n_excluded: int
    n_pairwise_min: int
    average_r: float
    median_r: float
    g6: float
    signal_noise: float
    ase: float
    total_mean: float
    total_sd: float
    sem: float
    item_stats: pd.DataFrame
    n_boot: int = 0
    seed: int | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    _title = "Cronbach's alpha"

    @property
    def alpha_if_deleted(self) -> pd.Series:
        return self.item_stats["alpha_if_deleted"]

    @property
    def std_alpha_if_deleted(self) -> pd.Series:
        return self.item_stats["std_alpha_if_deleted"]

    @property
    def item_rest_r(self) -> pd.Series:
        return self.item_stats["item_rest_r"]

    def to_frame(self) -> pd.DataFrame:
        return self.item_stats


def _alpha_parts(prep: _Prepared) -> dict[str, Any]:
    c = prep.cov
    r = prep.corr
    p = c.shape[0]
    alpha = float(_alpha_batch(c))
    sum_r = r.sum()
    std_alpha = _alpha_batch(r)
    off = r[np.tril_indices(p, -1)]
    av_r = float((sum_r - p) / (p * (p - 1)))
    g6 = float(1 - (p - smc(r).sum()) / sum_r)
    tot = c.sum()
    # Duhachek & Iacobucci (2004) asymptotic variance, as psych::alpha's "ase"
    q = (2 * p**2 / ((p - 1) ** 2 * tot**3)) * (tot * (np.trace(c @ c) + np.trace(c) ** 2)
                                                 - 2 * np.trace(c) * (c @ c).sum())
    total_sd = float(np.sqrt(tot))
    if prep.missing == "listwise":
        total_mean = float(prep.x.sum(axis=1).mean())
    else:  # sum of item means: the mean sum score implied by the pairwise data
        total_mean = float(np.nansum(np.nanmean(prep.x, axis=0)))
    return dict(
        alpha=alpha, std_alpha=float(std_alpha), average_r=av_r, median_r=float(np.median(off)),
        g6=g6, signal_noise=float(p * av_r / (1 - av_r)), ase=float(np.sqrt(q / prep.n)),
        total_mean=total_mean, total_sd=total_sd,
        sem=float(total_sd * np.sqrt(1 - alpha)) if alpha <= 1 else float("nan"),
    )


def _alpha_diagnostics(prep: _Prepared, alpha: float, diags: list[Diagnostic]) -> None:
    neg = _negative_items_message(prep.items, prep.cov)
    if alpha < 0:
        record(
            diags, ReliabilityWarning,
            f"alpha = {alpha:.3f} is negative: the average inter-item covariance is negative, so alpha is "
            f"not a reliability here. Items correlating negatively with the rest: {name_list(neg) or 'none'} — "
            "probably not reverse-keyed; reverse them (or check the scoring key) and recompute",
            stacklevel=4,
        )
    elif neg:
        record(
            diags, ReliabilityWarning,
            f"items {name_list(neg)} correlate negatively with the sum of the other items — probably not "
            "reverse-keyed; check the scoring key",
            stacklevel=4,
        )


def cronbach_alpha(
    data: pd.DataFrame,
    ci: float | None = 0.95,
    method: Literal["feldt", "bootstrap"] = "feldt",
    *,
    missing: Missing = "listwise",
    interval: Interval = "bca",
    n_boot: int = 2000,
    seed: SeedLike = None,
    progress: bool | None = None,
) -> AlphaResult:
    """Cronbach's α, standardised α and a confidence interval.

    α = k/(k − 1) · (1 − Σ σ²ᵢ / σ²_X) from the item covariance matrix C
    (σ²_X = 1ᵀC1); standardised α uses the correlation matrix R.

    Parameters
    ----------
    data : DataFrame
        Item responses (columns = items, already reverse-keyed).
    ci : float or None
        Confidence level; ``None`` for no interval.
    method : {"feldt", "bootstrap"}
        Feldt's F-based interval (Feldt, 1965; psych::alpha.ci):
        [1 − (1 − α) F_{1−a/2}(n − 1, (n − 1)(k − 1)), 1 − (1 − α) F_{a/2}(…)],
        or the nonparametric bootstrap (``interval`` = BCa or percentile).
    missing : {"listwise", "pairwise"}
        Missing-data policy (see module docstring).
    interval, n_boot, seed, progress
        Bootstrap settings (ignored for Feldt).

    Returns
    -------
    AlphaResult

    Notes
    -----
    Validated against ``psych::alpha`` (raw_alpha, std.alpha, G6(smc), average_r,
    S/N, ase, median_r, alpha.drop, r.drop) and ``psych::alpha.ci`` on
    Holzinger–Swineford x1–x3, x1–x9 and bfi A/AC/25 items, listwise and pairwise
    (``tests/reference/reliability``).

    References
    ----------
    Cronbach (1951), Psychometrika 16, 297–334. Feldt (1965), Psychometrika 30, 357–370.
    Duhachek & Iacobucci (2004), J. Applied Psychology 89, 792–808.
    """
    _check_level(ci)
    if method not in ("feldt", "bootstrap"):
        raise DataError(f"method must be 'feldt' or 'bootstrap', not {method!r}")
    prep = _prepare(data, missing, what="Cronbach's alpha")
    diags = list(prep.diagnostics)
    _check_matrix(prep, diags)
    parts = _alpha_parts(prep)
    _alpha_diagnostics(prep, parts["alpha"], diags)
    p = len(prep.items)
    stats = pd.DataFrame(
        {
            "item_rest_r": _item_rest_r(prep.cov),
            "alpha_if_deleted": _alpha_if_deleted(prep.cov),
            "std_alpha_if_deleted": _alpha_if_deleted(prep.cov, std=True),
        },
        index=pd.Index(prep.items, name="item"),
    )
    interval_ci = None
    label = method
    used_boot = 0
    if ci is not None and method == "feldt":
        interval_ci = _feldt(parts["alpha"], prep.n, p, ci)
    elif ci is not None:
        _check_boot(n_boot, interval)
        out = run_bootstrap(
            prep.x, prep.missing == "pairwise", lambda c: _alpha_batch(c)[:, None],
            np.array([parts["alpha"]]), n_boot=int(n_boot), level=ci, interval=interval, seed=seed,
            show_progress=progress, description=f"bootstrap alpha (B = {n_boot})", names=["alpha"],
        )
        _boot_diags(out, diags)
        interval_ci = out.intervals[0]
        label = f"bootstrap-{interval}"
        used_boot = int(n_boot)
    return AlphaResult(
        ci=interval_ci, ci_level=ci if interval_ci is not None else None, method=label, n=prep.n,
        n_items=p, missing=prep.missing, n_excluded=prep.n_excluded, n_pairwise_min=prep.n_pairwise_min,
        item_stats=stats, n_boot=used_boot, seed=seed if isinstance(seed, int) else None,
        diagnostics=tuple(diags), **parts,
    )


def _boot_diags(out, diags: list[Diagnostic]) -> None:
    if out.n_failed:
        record(diags, ReliabilityWarning,
               f"{out.n_failed} of {out.replicates.shape[0]} bootstrap replicates could not be computed "
               "(e.g. an item without variance in the resample) and were left out of the interval",
               stacklevel=4)
    for msg in out.fallbacks:
        record(diags, ReliabilityWarning, msg, stacklevel=4)


# ====================================================================== omega
@dataclass(frozen=True)
class _SL:
    omega_total: float
    omega_h: float
    omega_limit: float
    alpha: float
    g6: float
    ecv: float
    sl: pd.DataFrame
    oblique: np.ndarray
    phi: np.ndarray
    omega_group: pd.DataFrame
    flipped: list[str]
    converged: bool
    psi: np.ndarray


def _minres(r: np.ndarray, nfactors: int, start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
    """``psych::fa(r, nfactors, fm = "minres", rotate = "varimax")`` as ``psych::omega`` calls it.

    Returns the loadings (varimax-rotated for several factors, in psych's sign and column
    order), the uniquenesses ψ where the optimiser stopped (a warm start for bootstrap
    replicates: ``start``) and whether extraction and rotation converged.
    """
    ex = extract(r, nfactors, "minres", start=start)
    load = ex.loadings.copy()
    load[load == 0] = 1e-15  # as psych::fa, so that signs are defined
    converged = ex.converged
    if nfactors > 1:
        load = rotate(load, "varimax").loadings  # stats::varimax, as psych::fa
        load, _ = sign_and_order(load, np.eye(nfactors))
    return load, ex.uniquenesses, converged


def _schmid_leiman(r: np.ndarray, nfactors: int, items: list[str], start: np.ndarray | None = None,
                   light: bool = False) -> Any:
    """ω total / hierarchical from a Schmid–Leiman solution exactly as ``psych::omega``.

    minres with ``nfactors`` factors, varimax, then GPArotation oblimin; the
    general factor is a one-factor minres solution of the factor correlations
    (three or more factors) or √|φ₁₂| (two factors, psych's ``option = "equal"``).
    ``start`` warm-starts minres (bootstrap); ``light=True`` returns only ``(ω_t, ω_h)``.
    """
    p = r.shape[0]
    orth, psi, converged = _minres(r, nfactors, start=start)
    if nfactors == 1:
        fload = orth
        phi = np.ones((1, 1))
        gload = np.array([1.0])
    else:
        rot = rotate(orth, "oblimin")  # GPArotation::oblimin, as psych::schmid
        fload, phi = rot.loadings, rot.phi
        converged = converged and rot.converged
        if nfactors > 2:
            gl, _, gconv = _minres(phi, 1)
            gload = gl[:, 0]
            converged = converged and gconv
        else:
            g = np.sqrt(abs(phi[0, 1]))
            gload = np.array([g, np.sign(phi[0, 1]) * g])
    g = fload @ gload
    h2 = np.sum(orth**2, axis=1)
    u2 = np.diag(r) - h2
    uniq2 = fload**2 - (fload * gload) ** 2
    uniq2[uniq2 < 0] = 0
    sm = np.sign(fload) * np.sqrt(uniq2)
    m = r.copy()
    key = np.sign(g)
    key[key == 0] = 1
    flipped = [items[i] for i in range(p) if key[i] < 0]
    if flipped:  # psych's flip = TRUE: reverse items with negative general loadings
        m = m * np.outer(key, key)
        g = g * key
        sm = sm * key[:, None]
    vt = m.sum()
    gsq = g.sum() ** 2
    om_tot = (vt - u2.sum()) / vt
    if light:  # bootstrap replicates need only (ω_t, ω_h)
        return float(om_tot), float(gsq / vt)
    alpha = _alpha_batch(m)
    g6 = (vt + smc(m).sum() - np.trace(m)) / vt
    ev = np.concatenate([[np.sum(g**2)], np.sum(sm**2, axis=0)])
    ecv = ev[0] / ev.sum()
    # ω per group factor (psych's omega.group): items assigned to their largest group loading
    names = ["g"] + [f"F{j + 1}*" for j in range(nfactors)]
    total, general, group = [om_tot], [gsq / vt], [np.nan]
    sub = np.argmax(np.abs(sm), axis=1)
    grs = 0.0
    for j in range(nfactors):
        idx = np.where(sub == j)[0]
        if len(idx) == 0:
            total.append(np.nan), general.append(np.nan), group.append(np.nan)
            continue
        vgr = m[np.ix_(idx, idx)].sum()
        gr = sm[idx, j].sum()
        grs += gr**2
        gg = g[idx].sum()
        total.append((gr**2 + gg**2) / vgr)
        general.append(gg**2 / vgr)
        group.append(gr**2 / vgr)
    group[0] = grs / vt
    om_group = pd.DataFrame({"total": total, "general": general, "group": group}, index=names)
    sl = pd.DataFrame(np.column_stack([g, sm]), index=pd.Index(items, name="item"), columns=names)
    sl["h2"] = h2
    sl["u2"] = u2
    sl["p2"] = g**2 / h2
    return _SL(float(om_tot), float(gsq / vt), float(gsq / (vt - u2.sum())), float(alpha), float(g6),
               float(ecv), sl, fload, phi, om_group, flipped, converged, psi)


def _ledermann_ok(p: int, k: int) -> bool:
    """A k-factor model of p items has non-negative degrees of freedom ((p − k)² − (p + k)) / 2 ≥ 0."""
    return (p - k) ** 2 - (p + k) >= 0


def _omega1_batch(cov: np.ndarray, start: np.ndarray) -> np.ndarray:
    """ω total (one factor, psych::omega nfactors = 1) for a batch of covariance matrices."""
    r = cov2cor(cov)
    out = np.full(cov.shape[0], np.nan)
    finite = np.all(np.isfinite(r), axis=(1, 2))
    if not finite.any():
        return out
    rf = r[finite]
    lam, ok = minres_one_factor_batch(rf, start)
    vals = np.empty(rf.shape[0])
    vt = rf.sum(axis=(1, 2))
    p = r.shape[1]
    vals[:] = (vt - (p - np.sum(lam**2, axis=1))) / vt
    for i in np.where(~ok)[0]:  # Newton failed or a bound is active: refit as psych does
        try:
            loadings = extract(rf[i], 1, "minres").loadings
            vals[i] = (vt[i] - (p - np.sum(loadings**2))) / vt[i]
        except (np.linalg.LinAlgError, ValueError):
            vals[i] = np.nan
    out[finite] = vals
    return out


def _omega_sl_batch(cov: np.ndarray, nfactors: int, items: list[str], psi: np.ndarray) -> np.ndarray:
    """(ω_t, ω_h) per covariance matrix; one Schmid–Leiman fit each, warm-started at ``psi``."""
    out = np.full((cov.shape[0], 2), np.nan)
    with single_thread_blas():
        for i in range(cov.shape[0]):
            c = cov[i]
            d = np.sqrt(np.diag(c))
            if not np.all(np.isfinite(c)) or np.any(d <= 0):
                continue
            try:
                out[i] = _schmid_leiman(c / np.outer(d, d), nfactors, items, start=psi, light=True)
            except (np.linalg.LinAlgError, ValueError, FloatingPointError):
                continue
    return out


@dataclass(frozen=True, eq=False)
class OmegaResult(ResultMixin):
    """McDonald's ω as ``psych::omega`` computes it (from the item correlations).

    Attributes
    ----------
    omega_total : float
        ω_t = (1ᵀR1 − Σ u²ᵢ) / 1ᵀR1, u²ᵢ = 1 − h²ᵢ (communalities of the
        ``nfactors``-factor minres solution).
    omega_hierarchical : float or None
        ω_h = (Σ gᵢ)² / 1ᵀR1 with g the Schmid–Leiman general-factor loadings;
        ``None`` for ``nfactors = 1`` (ω_h is not meaningful for one factor).
    omega_limit : float or None
        ω_h / ω_t (psych's ``omega.lim``); ``None`` for one factor.
    ecv : float or None
        Explained common variance of the general factor; ``None`` for one factor.
    alpha, g6 : float
        Standardised α and Guttman's λ6 of the correlation matrix (psych's omega output).
    loadings : DataFrame
        Schmid–Leiman loadings (g, F1*, …), h2, u2, p2 per item (one factor: g = loadings).
    omega_group : DataFrame or None
        ω total / general / group per group factor (psych's ``omega.group``).
    ci_total, ci_hierarchical : tuple or None
        Bootstrap intervals (``ci_method``).
    """

    omega_total: float
    omega_hierarchical: float | None
    omega_limit: float | None
    ecv: float | None
    alpha: float
    g6: float
    nfactors: int
    n: int
    n_items: int
    missing: str
    n_excluded: int
    loadings: pd.DataFrame
    omega_group: pd.DataFrame | None
    factor_correlations: pd.DataFrame | None
    ci_total: tuple[float, float] | None = None
    ci_hierarchical: tuple[float, float] | None = None
    ci_level: float | None = None
    ci_method: str | None = None
    n_boot: int = 0
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    _title = "McDonald's omega"

    def to_frame(self) -> pd.DataFrame:
        return self.loadings


def omega(
    data: pd.DataFrame,
    nfactors: int = 1,
    *,
    missing: Missing = "listwise",
    ci: float | None = None,
    interval: Interval = "bca",
    n_boot: int = 1000,
    seed: SeedLike = None,
    progress: bool | None = None,
) -> OmegaResult:
    """McDonald's ω total (and ω hierarchical for several factors) as ``psych::omega``.

    The item correlation matrix R is factored by minres (``psych::fa``,
    ``fm = "minres"``) with ``nfactors`` factors. With one factor,
    ω_t = (1ᵀR1 − Σ(1 − λᵢ²)) / 1ᵀR1. With several, the varimax solution is
    rotated by oblimin (``GPArotation::oblimin``), a general factor is
    extracted from the factor correlations (minres, one factor; for two factors
    psych's ``option = "equal"``: both loadings √|φ₁₂|), and the Schmid–Leiman
    transformation gives general loadings g; ω_h = (Σ gᵢ)²/1ᵀR1 and
    ω_t = (1ᵀR1 − Σ u²ᵢ)/1ᵀR1.

    Parameters
    ----------
    data : DataFrame
        Item responses (already reverse-keyed).
    nfactors : int
        Number of group factors (1 = unidimensional).
    missing : {"listwise", "pairwise"}
    ci : float or None
        Confidence level of bootstrap intervals for ω_t (and ω_h); ``None`` = none.
    interval, n_boot, seed, progress
        Bootstrap settings. One factor: vectorised (batched Newton minres). Several
        factors: one Schmid–Leiman fit per replicate (and per jackknife sample for
        BCa), with progress shown.

    Notes
    -----
    Validated against ``psych::omega(x, nfactors, plot = FALSE)`` (omega_h,
    omega.tot, omega.lim, alpha, G6, ECV, schmid$sl, schmid$oblique, schmid$phi,
    omega.group) on Holzinger–Swineford x1–x3 (1 factor), x1–x9 (1 and 3),
    bfi A (1), A+C (2), 25 items (3 and 5), listwise and pairwise.

    References
    ----------
    McDonald (1999), *Test theory: a unified treatment*. Zinbarg, Revelle, Yovel & Li
    (2005), Psychometrika 70, 123–133. Schmid & Leiman (1957), Psychometrika 22, 53–61.
    """
    _check_level(ci)
    if not isinstance(nfactors, (int, np.integer)) or nfactors < 1:
        raise DataError(f"nfactors must be a positive integer, not {nfactors!r}")
    prep = _prepare(data, missing, min_items=3, what="omega")
    p = len(prep.items)
    if not _ledermann_ok(p, int(nfactors)):
        raise DataError(
            f"{nfactors} factors are too many for {p} items: a {nfactors}-factor model has "
            f"{((p - nfactors) ** 2 - (p + nfactors)) / 2:g} degrees of freedom (Ledermann bound); "
            "use fewer factors or more items"
        )
    diags = list(prep.diagnostics)
    _check_matrix(prep, diags)
    if nfactors == 2:
        record(diags, ReliabilityWarning,
               "with two group factors the general factor is not identified; as psych::omega "
               "(option = 'equal') both general-factor loadings of the factors are set to √|φ₁₂| — "
               "interpret ω_h with caution (three or more group factors are needed)", stacklevel=3)
    r = prep.cor  # psych::omega correlates with cor(use = "pairwise")
    with single_thread_blas():
        res = _schmid_leiman(r, int(nfactors), prep.items)
    if not res.converged:
        record(diags, ConvergenceWarning,
               "the factor extraction or the oblimin rotation did not converge; ω may be inaccurate",
               stacklevel=3)
    heywood = res.sl.index[res.sl["u2"] < 0.0051].tolist()
    if heywood:
        record(diags, HeywoodCaseWarning,
               f"items {name_list(heywood)} have uniquenesses at the lower bound 0.005 (Heywood case); "
               "ω total may be overestimated", stacklevel=3)
    if res.flipped:
        record(diags, ReliabilityWarning,
               f"items {name_list(res.flipped)} load negatively on the general factor and were reversed for ω "
               "(as psych::omega's flip = TRUE does). If they are not reverse-keyed by mistake, the item set "
               "has no common general factor in one direction and ω_h should be read with care", stacklevel=3)
    one = nfactors == 1
    ci_t = ci_h = None
    method = None
    if ci is not None:
        _check_boot(n_boot, interval)
        if one:
            start = res.sl["g"].to_numpy()

            def stat(c):
                return _omega1_batch(c, start)[:, None]

            est = np.array([res.omega_total])
            names = ["omega_total"]
        else:
            def stat(c):
                return _omega_sl_batch(c, int(nfactors), prep.items, res.psi)

            est = np.array([res.omega_total, res.omega_h])
            names = ["omega_total", "omega_hierarchical"]
        out = run_bootstrap(prep.x, prep.missing == "pairwise", stat, est, n_boot=int(n_boot), level=ci,
                            interval=interval, seed=seed, show_progress=progress,
                            description=f"bootstrap omega (B = {n_boot})", names=names,
                            chunk=None if one else 10,  # Schmid–Leiman: one fit per replicate
                            kind="cor")  # pairwise: R's cor(use = "pairwise"), as the estimate
        _boot_diags(out, diags)
        ci_t = out.intervals[0]
        ci_h = None if one else out.intervals[1]
        method = f"bootstrap-{interval}"
    loadings = res.sl
    if one:
        loadings = loadings.drop(columns=["F1*", "p2"]).rename(columns={"g": "loading"})
    return OmegaResult(
        omega_total=res.omega_total,
        omega_hierarchical=None if one else res.omega_h,
        omega_limit=None if one else res.omega_limit,
        ecv=None if one else res.ecv,
        alpha=res.alpha, g6=res.g6, nfactors=int(nfactors), n=prep.n, n_items=p, missing=prep.missing,
        n_excluded=prep.n_excluded, loadings=loadings,
        omega_group=None if one else res.omega_group,
        factor_correlations=None if one else pd.DataFrame(
            res.phi, index=[f"F{j + 1}" for j in range(nfactors)], columns=[f"F{j + 1}" for j in range(nfactors)]),
        ci_total=ci_t, ci_hierarchical=ci_h, ci_level=ci if method else None, ci_method=method,
        n_boot=int(n_boot) if method else 0, diagnostics=tuple(diags),
    )


# ================================================================ omega (CFA)
def _ml_one_factor(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Maximum-likelihood one-factor model of a covariance matrix: ``(λ, θ, converged)``.

    ML over Σ = λλᵀ + diag(θ) is scale invariant, so the correlation matrix is fitted
    (:func:`psychometrics.efa.extraction.extract`, ``ml`` to the exact optimum) and the
    estimates are rescaled to the units of ``cov``. ``converged`` is False when the fit
    did not converge or a uniqueness sits at its lower bound 0.005 (Heywood case).
    """
    d = np.sqrt(np.diag(cov))
    ex = extract(cov / np.outer(d, d), 1, "ml", exact=True)
    lam = ex.loadings[:, 0]
    theta = 1.0 - lam**2
    return lam * d, theta * d**2, bool(ex.converged and not ex.at_bound.any())


@dataclass(frozen=True, eq=False)
class OmegaCFAResult(ResultMixin):
    """ω from a one-factor maximum-likelihood model, as ``semTools::compRelSEM``.

    Attributes
    ----------
    omega : float
        The coefficient for ``total_variance`` (observed by default, as compRelSEM).
    omega_observed : float
        (Σλ)² / 1ᵀS1 — denominator the observed variance of the sum score.
    omega_implied : float
        (Σλ)² / ((Σλ)² + Σθ) — denominator the model-implied variance.
    loadings, residual_variances : Series
        Unstandardised λ and θ (factor variance 1) in lavaan's metric (ML: the
        sample covariance matrix with divisor n).
    """

    omega: float
    omega_observed: float
    omega_implied: float
    total_variance: str
    n: int
    n_items: int
    missing: str
    n_excluded: int
    loadings: pd.Series
    residual_variances: pd.Series
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    _title = "Omega (one-factor ML model)"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"loading": self.loadings, "residual_variance": self.residual_variances})


def omega_cfa(
    data: pd.DataFrame,
    *,
    total_variance: Literal["observed", "implied"] = "observed",
    missing: Missing = "listwise",
) -> OmegaCFAResult:
    """ω of a unidimensional item set from a one-factor ML factor model.

    ω = (Σλᵢ)² / V, where λ are the ML loadings of a one-factor model with the
    factor variance fixed at 1 and V is either the observed variance of the sum
    score 1ᵀS1 (``"observed"``, the default of ``semTools::compRelSEM``,
    ``obs.var = TRUE``) or the model-implied (Σλ)² + Σθ (``"implied"``,
    ``obs.var = FALSE``). The ML estimates are those of ``lavaan::cfa`` for the
    same model (the normal-theory ML discrepancy is minimised over λ and θ; the
    ratio does not depend on whether S uses n or n − 1).

    Notes
    -----
    Validated against ``semTools::compRelSEM`` on ``lavaan::cfa("f =~ …",
    std.lv = TRUE)`` fits of Holzinger–Swineford x1–x3, x1–x9 and bfi A and C
    items (listwise), tolerance 1e-4 (iterative). A Heywood case (a residual
    variance at the bound) is reported; lavaan would let the variance go negative
    there, so the values differ in that case.

    References
    ----------
    McDonald (1999). Jorgensen et al., semTools (compRelSEM). Jöreskog (1967),
    Psychometrika 32, 443–482.
    """
    if total_variance not in ("observed", "implied"):
        raise DataError(f"total_variance must be 'observed' or 'implied', not {total_variance!r}")
    prep = _prepare(data, missing, min_items=3, what="omega_cfa")
    diags = list(prep.diagnostics)
    _check_matrix(prep, diags)
    lam, theta, conv = _ml_one_factor(prep.cov)
    if not conv:
        bound = [prep.items[i] for i in range(len(lam)) if theta[i] <= 0.0051 * prep.cov[i, i]]
        if bound:
            record(diags, HeywoodCaseWarning,
                   f"residual variances of {name_list(bound)} are at the lower bound (Heywood case); ω is "
                   "computed with the bounded estimates", stacklevel=2)
        else:
            record(diags, ConvergenceWarning, "the one-factor ML fit did not converge", stacklevel=2)
    num = lam.sum() ** 2
    obs = float(num / prep.cov.sum())
    imp = float(num / (num + theta.sum()))
    # report estimates in lavaan's metric: ML uses the covariance matrix with divisor n
    shrink = (prep.n - 1) / prep.n
    lam = lam * np.sqrt(shrink)
    theta = theta * shrink
    idx = pd.Index(prep.items, name="item")
    return OmegaCFAResult(
        omega=obs if total_variance == "observed" else imp, omega_observed=obs, omega_implied=imp,
        total_variance=total_variance, n=prep.n, n_items=len(prep.items), missing=prep.missing,
        n_excluded=prep.n_excluded, loadings=pd.Series(lam, index=idx, name="loading"),
        residual_variances=pd.Series(theta, index=idx, name="residual_variance"), diagnostics=tuple(diags),
    )


# ============================================================ bifactor CFA ω
@dataclass(frozen=True, eq=False)
class OmegaBifactorResult(ResultMixin):
    """ω total and ω hierarchical from a fitted bifactor CFA (``semTools::compRelSEM``).

    Attributes
    ----------
    omega_total : float
        1ᵀΛΨΛᵀ1 / V: the share of the sum-score variance due to all common factors.
    omega_hierarchical : float
        (Σλ_g)² ψ_g / V: the share due to the general factor alone.
    omega_subscales : Series
        For each specific factor *k*, (Σλ_k)² ψ_k / V_k over its own items
        (ω hierarchical of the subscale: what the subscale score measures beyond
        the general factor).
    ecv : float
        Explained common variance of the general factor, Σλ_g² / Σ_f Σλ_f²
        (standardized loadings).
    total_variance : str
        ``"observed"`` (V = 1ᵀS1, compRelSEM's default ``obs.var = TRUE``) or
        ``"implied"`` (V = 1ᵀΣ̂1, ``obs.var = FALSE``).
    """

    omega_total: float
    omega_hierarchical: float
    omega_subscales: pd.Series
    ecv: float
    general: str
    total_variance: str
    n: int
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    _title = "Omega from a bifactor CFA"


def omega_bifactor(
    cfa_result: Any,
    general: str | None = None,
    *,
    total_variance: Literal["observed", "implied"] = "observed",
) -> OmegaBifactorResult:
    r"""ω total and ω hierarchical from a bifactor CFA.

    .. math::

        \omega_t = \frac{\mathbf 1'\Lambda\Psi\Lambda'\mathbf 1}{V}, \qquad
        \omega_h = \frac{(\sum_i \lambda_{ig})^2\,\psi_{g}}{V}

    with unstandardized loadings Λ, latent covariance matrix Ψ and V the observed
    (N divisor) or model-implied variance of the unit-weighted sum of all items.
    Per specific factor, ω of the subscale is (Σλ_k)²ψ_k over the variance of
    its own items' sum (Reise, 2012; Rodriguez, Reise & Haviland, 2016).

    Parameters
    ----------
    cfa_result : CFAResult
        A single-group fit of a bifactor model, e.g. ``fit_cfa(cfa.models.bifactor(scale),
        data, std_lv=True)``.
    general : str, optional
        Name of the general factor; by default the factor that loads on every item.
    total_variance : {"observed", "implied"}
        Denominator, as compRelSEM's ``obs.var``.

    Notes
    -----
    Validated against ``semTools::compRelSEM(fit, return.total = TRUE)`` (the
    general factor's value is ω_h, the ``total`` column ω_t, the specific factors'
    values ω of the subscales) on Holzinger–Swineford and simulated mentorship
    data, fixture ``tests/reference/omega_bifactor``; tolerance 1e-4 (iterative
    estimates).
    """
    from psychometrics.validity import composite_reliability_sem

    if total_variance not in ("observed", "implied"):
        raise DataError(f"total_variance must be 'observed' or 'implied', not {total_variance!r}")
    if len(getattr(cfa_result, "groups", ("all",))) > 1:
        raise DataError("omega_bifactor needs a single-group CFA; fit the bifactor model per group")
    loadings = cfa_result.loadings.fillna(0.0)
    items = list(loadings.index)
    if general is None:
        spanning = [f for f in loadings.columns if (loadings[f] != 0).all()]
        if len(spanning) != 1:
            raise DataError(
                "cannot tell the general factor of the bifactor model (it must load on every item); "
                f"pass general= one of {', '.join(map(str, loadings.columns))}"
            )
        general = spanning[0]
    elif general not in loadings.columns:
        raise DataError(f"general factor {general!r} is not a factor of the model "
                        f"({', '.join(map(str, loadings.columns))})")
    psi = cfa_result.latent_cov.loc[loadings.columns, loadings.columns]
    total_cov = (cfa_result.sample_cov if total_variance == "observed" else cfa_result.implied_cov).loc[items, items]
    diags = list(getattr(cfa_result, "diagnostics", ()))
    off = psi.to_numpy() - np.diag(np.diag(psi.to_numpy()))
    if np.abs(off).max() > 1e-8:
        record(diags, ReliabilityWarning,
               "the factors of the bifactor model are correlated; ω_h assumes orthogonal factors "
               "(fit with cfa.models.bifactor, which fixes their covariances to 0)", stacklevel=2)
    lam = loadings.to_numpy()
    V = float(total_cov.to_numpy().sum())
    omega_t = float(lam.sum(axis=0) @ psi.to_numpy() @ lam.sum(axis=0)) / V
    per_factor = composite_reliability_sem(loadings, psi, total_cov)
    std = cfa_result.std_loadings.fillna(0.0).to_numpy()
    ecv = float((std[:, list(loadings.columns).index(general)] ** 2).sum() / (std ** 2).sum())
    return OmegaBifactorResult(
        omega_total=omega_t,
        omega_hierarchical=float(per_factor[general]),
        omega_subscales=per_factor.drop(general).rename("omega_subscale"),
        ecv=ecv, general=str(general), total_variance=total_variance,
        n=int(sum(cfa_result.nobs.values())),
        diagnostics=tuple(diags),
    )


# ==================================================================== Guttman
@dataclass(frozen=True, eq=False)
class GuttmanResult(ResultMixin):
    """Guttman's (1945) lower bounds λ1, λ2, λ3 (= α), λ4 (best split) and λ6.

    Computed from the correlation matrix (``covar=False``, as ``psych::guttman``)
    or the covariance matrix (``covar=True``, as ``psych::splitHalf(covar = TRUE)``).
    """

    lambda1: float
    lambda2: float
    lambda3: float
    lambda4: float
    lambda6: float
    covar: bool
    n: int
    n_items: int
    missing: str
    n_excluded: int
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    _title = "Guttman's lambdas"


def _guttman_from(c: np.ndarray) -> dict[str, float]:
    p = c.shape[0]
    vt = c.sum()
    off = c - np.diag(np.diag(c))
    l1 = 1 - np.trace(c) / vt
    l2 = (off.sum() + np.sqrt(np.sum(off**2) * p / (p - 1))) / vt
    d = np.diag(c)
    # SMC of each item times its variance (psych::smc(covar = TRUE))
    smcs = smc(c) * d
    l6 = (vt + smcs.sum() - np.trace(c)) / vt
    return dict(lambda1=float(l1), lambda2=float(l2), lambda3=float(p / (p - 1) * l1), lambda6=float(l6))


def guttman(
    data: pd.DataFrame, *, covar: bool = False, missing: Missing = "listwise", seed: SeedLike = None
) -> GuttmanResult:
    """Guttman's λ1, λ2, λ3, λ4 and λ6.

    With C the correlation (or covariance) matrix, V = 1ᵀC1, C⁰ its off-diagonal part:

    * λ1 = 1 − tr C / V;  λ3 = k/(k − 1) λ1 (= α);
    * λ2 = (1ᵀC⁰1 + √(k/(k − 1) Σ_{i≠j} c²ᵢⱼ)) / V;
    * λ4 = max over splits into two halves of 4 c_AB / V (psych's ``maxrb``; see
      :func:`split_half`; above 10000 splits, over 10000 random splits drawn with ``seed``);
    * λ6 = (V − tr C + Σ smcᵢ·cᵢᵢ) / V, smc = squared multiple correlation.

    Notes
    -----
    Validated against ``psych::guttman`` (lambda.1, 2, 3, 4, 6; correlations)
    and ``psych::splitHalf(covar = TRUE)`` (lambda2, lambda6; covariances).

    References
    ----------
    Guttman (1945), Psychometrika 10, 255–282.
    """
    prep = _prepare(data, missing, min_items=3, what="Guttman's lambdas")
    diags = list(prep.diagnostics)
    _check_matrix(prep, diags)
    c = prep.cov if covar else prep.cor  # psych::guttman: cor(use = "pairwise")
    vals = _guttman_from(c)
    sh = _splits(c, "psych", 10000, seed)
    return GuttmanResult(lambda4=sh["max"], covar=bool(covar), n=prep.n, n_items=len(prep.items),
                         missing=prep.missing, n_excluded=prep.n_excluded, diagnostics=tuple(diags), **vals)


# ================================================================= split-half
def _psych_combinations(n: int, m: int, count: float) -> np.ndarray:
    """The first splits psych::splitHalf enumerates: combinations of m of n items in
    lexicographic order, as many as its loop runs (``count = choose(n, m) / 2``)."""
    from itertools import combinations, islice

    n_eval = int(np.floor(count - 1e-9)) + 1 if count != int(count) else int(count)
    return np.array(list(islice(combinations(range(n), m), n_eval)), dtype=int)


def _splits(c: np.ndarray, splits: str, n_sample: int, seed: SeedLike) -> dict[str, Any]:
    """Split-half coefficients 4 c_AB / 1ᵀC1 over splits (psych::splitHalf's ``rab``)."""
    n = c.shape[0]
    m = n // 2
    total_comb = comb(n, m)
    count = total_comb / 2  # psych: round(choose(n, m)) / 2
    sampled = False
    if splits == "psych":
        if count <= n_sample:
            combs = _psych_combinations(n, m, count)
            divisor = count
        else:
            sampled = True
    elif splits == "all":
        n_all = total_comb // 2 if 2 * m == n else total_comb
        if n_all <= max(n_sample, 200_000):
            from itertools import combinations, islice

            combs = np.array(list(islice(combinations(range(n), m), n_all)), dtype=int)
            divisor = n_all
        else:
            sampled = True
    else:
        raise DataError(f"splits must be 'psych' or 'all', not {splits!r}")
    if sampled:
        rng = np.random.default_rng(seed)  # a Generator is passed through unchanged
        combs = np.sort(np.argsort(rng.random((n_sample, n)), axis=1)[:, :m], axis=1)
        divisor = n_sample
    a = np.zeros((combs.shape[0], n))
    np.put_along_axis(a, combs, 1.0, axis=1)
    b = 1.0 - a
    cab = np.einsum("si,ij,sj->s", a, c, b)
    rab = 4 * cab / c.sum()
    imax, imin = int(np.argmax(rab)), int(np.argmin(rab))
    return dict(
        values=rab, max=float(rab[imax]), min=float(rab[imin]), mean=float(rab.sum() / divisor),
        max_split=combs[imax], min_split=combs[imin], n_splits=int(combs.shape[0]), sampled=sampled,
    )


@dataclass(frozen=True, eq=False)
class SplitHalfResult(ResultMixin):
    """Split-half reliabilities over splits into two halves, as ``psych::splitHalf``.

    Attributes
    ----------
    max, min, mean : float
        Largest (Guttman's λ4), smallest and average split-half coefficient
        4 c_AB / 1ᵀC1 over the splits (psych's maxrb, minrb, meanr).
    quantiles : tuple
        2.5 %, 50 % and 97.5 % quantiles of the coefficients over the splits (psych's ``ci``).
    max_split, min_split : tuple of two tuples of item ids
        The halves of the best and worst split.
    odd_even_r : float
        Correlation of the odd- and even-numbered item half scores (column order).
    spearman_brown : float
        Spearman–Brown corrected odd–even correlation 2r / (1 + r).
    average_r, median_r : float
        Mean and median inter-item correlation (of C, psych's av.r, med.r).
    alpha, lambda2, lambda6 : float
        As reported by psych::splitHalf (from C).
    splits : str
        ``"psych"`` (the splits psych enumerates) or ``"all"``.
    n_splits : int
        Splits evaluated; ``sampled`` tells whether they were drawn at random.
    """

    max: float
    min: float
    mean: float
    quantiles: tuple[float, float, float]
    max_split: tuple[tuple[str, ...], tuple[str, ...]]
    min_split: tuple[tuple[str, ...], tuple[str, ...]]
    odd_even_r: float
    spearman_brown: float
    average_r: float
    median_r: float
    alpha: float
    lambda2: float
    lambda6: float
    covar: bool
    splits: str
    n_splits: int
    sampled: bool
    n: int
    n_items: int
    missing: str
    n_excluded: int
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    _title = "Split-half reliability"


def split_half(
    data: pd.DataFrame,
    *,
    covar: bool = False,
    splits: Literal["psych", "all"] = "psych",
    n_sample: int = 10000,
    seed: SeedLike = None,
    missing: Missing = "listwise",
) -> SplitHalfResult:
    """Split-half reliability: the range over splits and the odd–even Spearman–Brown value.

    For a split of the items into halves A (⌊k/2⌋ items) and B, psych's
    coefficient is r_AB = 4 c_AB / 1ᵀC1 (Flanagan–Rulon / Guttman λ4 form; it
    equals the Spearman–Brown corrected half correlation when the halves have
    equal variances). ``max`` is Guttman's λ4. The odd–even value is
    2r/(1 + r), r = correlation of the half sums of the odd and even items.

    Parameters
    ----------
    covar : bool
        Use the covariance matrix instead of the correlation matrix (psych's ``covar``).
    splits : {"psych", "all"}
        ``"psych"`` evaluates exactly the splits ``psych::splitHalf`` evaluates:
        the first choose(k, ⌊k/2⌋)/2 combinations in lexicographic order, which
        for an even k are all distinct splits but for an odd k only part of them
        (psych's convention; values then match psych). When there are more than
        ``n_sample`` splits, ``n_sample`` random splits are drawn (seeded), as psych
        does (values then cannot match psych's random numbers). ``"all"``
        evaluates every distinct split when there are at most
        max(``n_sample``, 200000), else samples ``n_sample`` as well.

    Notes
    -----
    Validated against ``psych::splitHalf(x, raw = TRUE, check.keys = FALSE)``
    (maxrb, minrb, meanr, ci, av.r, med.r, alpha, lambda2, lambda6; also
    ``covar = TRUE``) and, for ``splits = "all"``, against every split
    enumerated with ``combn`` in R.

    References
    ----------
    Spearman (1910), Brown (1910), British J. Psychology 3. Guttman (1945).
    Revelle & Condon (2019), Psychological Assessment 31, 1395–1411.
    """
    prep = _prepare(data, missing, min_items=3, what="split-half reliability")
    diags = list(prep.diagnostics)
    _check_matrix(prep, diags)
    c = prep.cov if covar else prep.corr
    p = c.shape[0]
    sh = _splits(c, splits, int(n_sample), seed)
    items = prep.items

    def halves(combo):
        ina = set(int(i) for i in combo)
        return (tuple(items[i] for i in range(p) if i in ina), tuple(items[i] for i in range(p) if i not in ina))

    qs = tuple(float(v) for v in np.quantile(sh["values"], [0.025, 0.5, 0.975]))
    # odd–even split (1st, 3rd, … vs 2nd, 4th, … item) on the covariance matrix
    a = np.zeros(p)
    a[0::2] = 1
    b = 1 - a
    cv = prep.cov
    r_oe = float(a @ cv @ b / np.sqrt((a @ cv @ a) * (b @ cv @ b)))
    rr = prep.corr if not covar else c
    off = rr[np.tril_indices(p, -1)]
    vals = _guttman_from(c)
    return SplitHalfResult(
        max=sh["max"], min=sh["min"], mean=sh["mean"], quantiles=qs,  # type: ignore[arg-type]
        max_split=halves(sh["max_split"]), min_split=halves(sh["min_split"]),
        odd_even_r=r_oe, spearman_brown=float(2 * r_oe / (1 + r_oe)),
        average_r=float(off.mean()), median_r=float(np.median(off)),
        alpha=vals["lambda3"], lambda2=vals["lambda2"], lambda6=vals["lambda6"], covar=bool(covar),
        splits=splits, n_splits=sh["n_splits"], sampled=sh["sampled"], n=prep.n, n_items=p,
        missing=prep.missing, n_excluded=prep.n_excluded, diagnostics=tuple(diags),
    )


# ======================================================================= SEM
def standard_error_of_measurement(
    data: pd.DataFrame, reliability: float | None = None, *, missing: Missing = "listwise"
) -> float:
    """Standard error of measurement of the sum score, SD_X · √(1 − ρ).

    ``reliability`` defaults to Cronbach's α of ``data``; SD_X = √(1ᵀC1) is the
    standard deviation of the sum score under the missing-data policy.

    Reference: Lord & Novick (1968), *Statistical theories of mental test scores*, §3.
    """
    prep = _prepare(data, missing, what="standard error of measurement")
    rel = float(_alpha_batch(prep.cov)) if reliability is None else float(reliability)
    if not (0.0 <= rel <= 1.0):
        raise DataError(f"reliability must lie in [0, 1] for an SEM, got {rel:.4g}")
    return float(np.sqrt(prep.cov.sum()) * np.sqrt(1 - rel))


# ================================================================ everything
@dataclass(frozen=True, eq=False)
class ReliabilityResult(ResultMixin):
    """All reliability statistics of one item set."""

    name: str
    items: tuple[str, ...]
    alpha: AlphaResult
    omega: OmegaResult | None
    guttman: GuttmanResult | None
    split_half: SplitHalfResult | None
    sem: float
    average_r: float
    n: int
    missing: str
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    _title = "Reliability"

    def summary_row(self) -> dict[str, Any]:
        a, o, g, s = self.alpha, self.omega, self.guttman, self.split_half
        return {
            "n": self.n, "n_items": len(self.items),
            "alpha": a.alpha, "alpha_low": a.ci[0] if a.ci else np.nan, "alpha_high": a.ci[1] if a.ci else np.nan,
            "std_alpha": a.std_alpha,
            "omega_total": o.omega_total if o else np.nan,
            "omega_total_low": o.ci_total[0] if o and o.ci_total else np.nan,
            "omega_total_high": o.ci_total[1] if o and o.ci_total else np.nan,
            "omega_hierarchical": o.omega_hierarchical if o and o.omega_hierarchical is not None else np.nan,
            "lambda2": g.lambda2 if g else np.nan, "lambda6": g.lambda6 if g else np.nan,
            "split_half_min": s.min if s else np.nan, "split_half_mean": s.mean if s else np.nan,
            "split_half_max": s.max if s else np.nan,
            "spearman_brown": s.spearman_brown if s else np.nan,
            "average_r": self.average_r, "sem": self.sem,
        }

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.summary_row()], index=pd.Index([self.name], name="scale"))

    def _tables(self) -> dict[str, pd.DataFrame]:
        return {"reliability": self.to_frame().T, "items": self.alpha.item_stats}


def reliability(
    data: pd.DataFrame,
    *,
    name: str = "scale",
    nfactors: int = 1,
    missing: Missing = "listwise",
    ci: float | None = 0.95,
    alpha_ci: Literal["feldt", "bootstrap"] = "feldt",
    n_boot: int = 1000,
    interval: Interval = "bca",
    seed: SeedLike = None,
    progress: bool | None = None,
) -> ReliabilityResult:
    """Run α, ω, Guttman's λs, split-half and SEM for one item set.

    ω and its bootstrap interval use ``nfactors`` (``n_boot = 0`` for no ω
    interval). With two items only α (and SEM, average r) are computed — ω,
    λ2/λ6 and split-half need three items; a :class:`ReliabilityWarning` says so.
    """
    rng = np.random.default_rng(seed)  # a Generator is passed through unchanged
    with _shared_preparation():
        return _reliability(data, name, nfactors, missing, ci, alpha_ci, n_boot, interval, rng, progress)


def _reliability(data, name, nfactors, missing, ci, alpha_ci, n_boot, interval, rng, progress) -> ReliabilityResult:
    a = cronbach_alpha(data, ci=ci, method=alpha_ci, missing=missing, interval=interval, n_boot=n_boot,
                       seed=rng, progress=progress)
    diags: list[Diagnostic] = list(a.diagnostics)
    o = g = s = None
    if data.shape[1] >= 3:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the same matrix warnings were already issued by alpha
            o = omega(data, nfactors=nfactors, missing=missing, ci=ci if n_boot else None, n_boot=max(n_boot, 2),
                      interval=interval, seed=rng, progress=progress)
            g = guttman(data, missing=missing, seed=rng)
            s = split_half(data, missing=missing, seed=rng)
        for d in (*o.diagnostics, *g.diagnostics, *s.diagnostics):
            if d not in diags:  # re-issue what the silenced calls found that alpha did not
                diags.append(d)
                warnings.warn(d.message, _category(d.category), stacklevel=2)
    else:
        record(diags, ReliabilityWarning,
               f"{name}: ω, Guttman's λ2/λ6 and split-half need at least three items; only α is reported "
               f"for {name_list(list(map(str, data.columns)))}", stacklevel=2)
    return ReliabilityResult(
        name=name, items=tuple(map(str, data.columns)), alpha=a, omega=o, guttman=g, split_half=s,
        sem=a.sem, average_r=a.average_r, n=a.n, missing=missing, diagnostics=tuple(diags),
    )


def _category(name: str):
    from psychometrics import exceptions

    return getattr(exceptions, name, ReliabilityWarning)


@dataclass(frozen=True, eq=False)
class ScaleReliabilityResult(ResultMixin):
    """Reliability per subscale and for the total scale.

    Attributes
    ----------
    table : DataFrame
        One row per subscale and ``"total"`` (see :meth:`ReliabilityResult.summary_row`).
    details : dict
        The full :class:`ReliabilityResult` of each row.
    """

    table: pd.DataFrame
    details: dict[str, ReliabilityResult]
    missing: str
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    _title = "Scale reliability"

    def to_frame(self) -> pd.DataFrame:
        return self.table


def _item_id(item: Any) -> str:
    return str(getattr(item, "id", item))


def _subscale_map(scale: Any, columns: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """(subscale → item ids, all item ids) from a Scale-like object or a mapping."""
    if isinstance(scale, Mapping):
        groups = {str(k): [_item_id(i) for i in v] for k, v in scale.items()}
        all_items = [i for v in groups.values() for i in v]
        all_items = list(dict.fromkeys(all_items))
        return groups, all_items
    subs = getattr(scale, "subscales", None)
    if subs is None:
        raise DataError("scale must be a Scale (with .subscales and .items_of) or a mapping subscale → item ids")
    if isinstance(subs, Mapping):
        sub_ids = [str(k) for k in subs]
    else:
        sub_ids = [str(getattr(s, "id", s)) for s in subs]
    groups = {}
    for sid in sub_ids:
        if hasattr(scale, "items_of"):
            groups[sid] = [_item_id(i) for i in scale.items_of(sid)]
        else:
            groups[sid] = [_item_id(i) for i in subs[sid]]
    if getattr(scale, "items", None) is not None:
        all_items = [_item_id(i) for i in scale.items]
    else:
        all_items = list(dict.fromkeys(i for v in groups.values() for i in v))
    return groups, all_items


def scale_reliability(
    responses_or_frame: Any,
    scale: Any = None,
    *,
    missing: Missing = "listwise",
    ci: float | None = 0.95,
    n_boot: int = 1000,
    interval: Interval = "bca",
    omega_ci: Literal["subscales", "all", "none"] = "subscales",
    seed: SeedLike = None,
    progress: bool | None = None,
) -> ScaleReliabilityResult:
    """Reliability of every subscale and of the total scale in one call.

    Parameters
    ----------
    responses_or_frame
        Loaded responses (an object with ``.items``, a DataFrame of reverse-keyed
        item responses, and ``.scale``, as returned by
        :func:`psychometrics.data.load_responses`) or a DataFrame.
    scale
        A :class:`psychometrics.scale.Scale` (``.subscales``, ``.items_of(id)``,
        ``.items``) or a mapping subscale id → item ids. Defaults to the
        responses' scale. Without subscales only the total is computed.
    missing, ci, n_boot, interval, seed, progress
        As in :func:`reliability`; α intervals are Feldt's, ω intervals bootstrap.
    omega_ci : {"subscales", "all", "none"}
        Which ω get bootstrap intervals. One-factor ω (subscales) is vectorised
        and fast; the total scale's Schmid–Leiman ω needs one factor analysis per
        replicate (and, for BCa, per jackknife sample — n of them), so it is only
        bootstrapped with ``"all"``.

    The total scale's ω uses one group factor per subscale (Schmid–Leiman ω_h
    when there are three or more subscales); each subscale uses one factor.
    """
    frame = responses_or_frame
    if not isinstance(frame, pd.DataFrame):
        if hasattr(frame, "items") and isinstance(frame.items, pd.DataFrame):
            if scale is None:
                scale = getattr(frame, "scale", None)
            frame = frame.items
        else:
            raise DataError("scale_reliability needs loaded responses (with .items) or a DataFrame of items")
    if scale is None:
        groups, all_items = {}, [str(c) for c in frame.columns]
    else:
        groups, all_items = _subscale_map(scale, [str(c) for c in frame.columns])
    cols = {str(c): c for c in frame.columns}
    missing_cols = [i for i in all_items if i not in cols]
    if missing_cols:
        raise DataError(f"items {name_list(missing_cols)} of the scale are not columns of the responses")
    rng = np.random.default_rng(seed)  # a Generator is passed through unchanged
    details: dict[str, ReliabilityResult] = {}
    diags: list[Diagnostic] = []
    runs = [(sid, ids, 1) for sid, ids in groups.items()]
    if len(groups) != 1:
        runs.append(("total", all_items, max(1, len(groups))))
    if omega_ci not in ("subscales", "all", "none"):
        raise DataError(f"omega_ci must be 'subscales', 'all' or 'none', not {omega_ci!r}")
    for sid, ids, nf in runs:
        if len(ids) < 2:
            record(diags, ReliabilityWarning,
                   f"{sid}: reliability needs at least two items, the subscale has {len(ids)} "
                   f"({name_list(ids) or 'none'}); it is left out of the table", stacklevel=2)
            continue
        sub = frame[[cols[i] for i in ids]]
        sub.columns = [str(c) for c in sub.columns]
        nf_used = nf if _ledermann_ok(len(ids), nf) else 1
        if nf_used != nf:
            record(diags, ReliabilityWarning,
                   f"{sid}: {len(ids)} items cannot identify {nf} group factors (Ledermann bound); ω is "
                   "computed from one factor", stacklevel=2)
        boot = n_boot if (omega_ci == "all" or (omega_ci == "subscales" and nf_used == 1)) else 0
        res = reliability(sub, name=sid, nfactors=nf_used, missing=missing, ci=ci,
                          n_boot=boot, interval=interval, seed=rng, progress=progress)
        details[sid] = res
        diags.extend(Diagnostic(d.category, f"{sid}: {d.message}") for d in res.diagnostics)
    table = pd.DataFrame([details[k].summary_row() for k in details], index=pd.Index(list(details), name="scale"))
    return ScaleReliabilityResult(table=table, details=details, missing=missing, diagnostics=tuple(diags))
