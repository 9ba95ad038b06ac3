"""Cronbach's α: the coefficient, its Feldt or bootstrap interval, the item-deletion
statistics (item–rest r, α if an item is deleted) and the standard error of
measurement of the sum score.

The helpers :func:`alpha_batch`, :func:`item_rest_r` and :func:`alpha_if_deleted`
are functions of a covariance matrix; item analysis (:mod:`psychometrics.items`)
and scoring use them too.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from psychometrics._bootstrap import SeedLike, run_bootstrap
from psychometrics._linalg import cov2cor, smc
from psychometrics._results import ResultMixin
from psychometrics._validation import name_list
from psychometrics.exceptions import DataError, Diagnostic, ReliabilityWarning, record
from psychometrics.reliability.prepare import (
    Interval,
    Missing,
    PreparedItems,
    check_boot,
    check_level,
    check_matrix,
    prepare_items,
    record_bootstrap_diagnostics,
)
from psychometrics._text import quote

__all__ = ["AlphaResult", "cronbach_alpha", "standard_error_of_measurement", "alpha_batch", "item_rest_r",
           "alpha_if_deleted"]


# ============================================================ matrix formulas
def item_rest_r(cov: np.ndarray) -> np.ndarray:
    """Corrected item–total (item–rest) correlations from a covariance matrix (psych's r.drop)."""
    total = cov.sum()
    col = cov.sum(axis=0)
    d = np.diag(cov)
    v_rest = total - 2 * col + d
    c_rest = col - d
    return c_rest / np.sqrt(d * v_rest)


def alpha_batch(cov: np.ndarray) -> np.ndarray:
    """Raw α for a batch of covariance matrices (m, p, p)."""
    p = cov.shape[-1]
    tr = np.trace(cov, axis1=-2, axis2=-1)
    tot = cov.sum(axis=(-2, -1))
    return p / (p - 1) * (1.0 - tr / tot)


def alpha_if_deleted(cov: np.ndarray, std: bool = False) -> np.ndarray:
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
    with np.errstate(divide="ignore", invalid="ignore"):  # rest of the items with zero variance: NaN
        out = k / (k - 1) * (1 - tr_i / tot_i)
    return np.where(tot_i > 0, out, np.nan)


def _negative_items_message(items: list[str], cov: np.ndarray) -> list[str]:
    rr = item_rest_r(cov)
    return [items[i] for i in range(len(items)) if rr[i] < 0]


def _feldt(alpha: float, n: int, p: int, level: float) -> tuple[float, float]:
    """Feldt (1965) interval, as psych::alpha.ci."""
    from scipy import special  # f.ppf(q, d1, d2) is special.fdtri(d1, d2, q); scipy.stats' import costs ~0.5 s

    a = 1 - level
    df1, df2 = n - 1, (n - 1) * (p - 1)
    lo = 1 - (1 - alpha) * special.fdtri(df1, df2, 1 - a / 2)
    hi = 1 - (1 - alpha) * special.fdtri(df1, df2, a / 2)
    return float(lo), float(hi)



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


def _alpha_parts(prep: PreparedItems) -> dict[str, Any]:
    c = prep.cov
    r = prep.cor_from_cov
    p = c.shape[0]
    alpha = float(alpha_batch(c))
    sum_r = r.sum()
    std_alpha = alpha_batch(r)
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
    elif prep.mean is not None:  # fiml: the sum of the EM means
        total_mean = float(prep.mean.sum())
    else:  # sum of item means: the mean sum score implied by the pairwise data
        total_mean = float(np.nansum(np.nanmean(prep.x, axis=0)))
    if q < 0 and abs(q) <= 1e-10 * max(abs(alpha), 1.0):
        q = 0.0  # rounding below zero when the items are (nearly) identical: the variance is 0
    return dict(
        alpha=alpha, std_alpha=float(std_alpha), average_r=av_r, median_r=float(np.median(off)),
        # av_r = 1 (identical items): S/N is infinite; cronbach_alpha records a warning naming them
        g6=g6, signal_noise=float(p * av_r / (1 - av_r)) if av_r < 1 else float("inf"),
        ase=float(np.sqrt(q / prep.n)) if q >= 0 else float("nan"),
        total_mean=total_mean, total_sd=total_sd,
        sem=float(total_sd * np.sqrt(1 - alpha)) if alpha <= 1 else float("nan"),
    )


def _alpha_diagnostics(prep: PreparedItems, alpha: float, diags: list[Diagnostic]) -> None:
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
    missing : {"listwise", "pairwise", "fiml"}
        Missing-data policy (see :mod:`psychometrics.reliability.prepare`; ``"fiml"``: the EM
        covariance matrix of every row with an answer, its bootstrap re-runs the EM per resample).
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
    check_level(ci)
    if method not in ("feldt", "bootstrap"):
        raise DataError(f"method must be 'feldt' or 'bootstrap', not {quote(method)}")
    prep = prepare_items(data, missing, what="Cronbach's alpha")
    diags = list(prep.diagnostics)
    check_matrix(prep, diags)
    parts = _alpha_parts(prep)
    _alpha_diagnostics(prep, parts["alpha"], diags)
    if parts["average_r"] >= 1 - 1e-12:
        record(diags, ReliabilityWarning,
               f"items {', '.join(map(str, prep.items))} correlate perfectly (identical or linear copies of each "
               "other): α = 1 says nothing about reliability and the signal/noise ratio is infinite; remove the "
               "duplicated items", stacklevel=3)
    p = len(prep.items)
    stats = pd.DataFrame(
        {
            "item_rest_r": item_rest_r(prep.cov),
            "alpha_if_deleted": alpha_if_deleted(prep.cov),
            "std_alpha_if_deleted": alpha_if_deleted(prep.cov, std=True),
        },
        index=pd.Index(prep.items, name="item"),
    )
    undefined = stats.index[stats["alpha_if_deleted"].isna()].tolist()
    if undefined:
        record(diags, ReliabilityWarning,
               f"alpha if item deleted is undefined for {name_list(undefined)}: the remaining items' sum has no "
               "variance (they cancel out, e.g. an item and its reversed copy)", stacklevel=3)
    interval_ci = None
    label = method
    used_boot = 0
    if ci is not None and method == "feldt":
        interval_ci = _feldt(parts["alpha"], prep.n, p, ci)
    elif ci is not None:
        check_boot(n_boot, interval)
        out = run_bootstrap(
            prep.x, prep.missing == "pairwise", lambda c: alpha_batch(c)[:, None],
            np.array([parts["alpha"]]), n_boot=int(n_boot), level=ci, interval=interval, seed=seed,
            show_progress=progress, description=f"bootstrap alpha (B = {n_boot})", names=["alpha"],
            kind="em" if prep.missing == "fiml" else "cov",  # fiml: EM re-run on every resample
            centre=prep.cov if prep.missing == "fiml" else None,  # large n: draws centred at the EM estimate
        )
        record_bootstrap_diagnostics(out, diags)
        interval_ci = out.intervals[0]
        label = f"bootstrap-{interval}"
        used_boot = int(n_boot)
    return AlphaResult(
        ci=interval_ci, ci_level=ci if interval_ci is not None else None, method=label, n=prep.n,
        n_items=p, missing=prep.missing, n_excluded=prep.n_excluded, n_pairwise_min=prep.n_pairwise_min,
        item_stats=stats, n_boot=used_boot, seed=seed if isinstance(seed, int) else None,
        diagnostics=tuple(diags), **parts,
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
    prep = prepare_items(data, missing, what="standard error of measurement")
    rel = float(alpha_batch(prep.cov)) if reliability is None else float(reliability)
    if reliability is None and rel >= 1 - 1e-12:
        warnings.warn(f"standard error of measurement: items {name_list(prep.items)} correlate perfectly (identical "
                      "or linear copies): α = 1 and the SEM 0 say nothing about measurement error",
                      ReliabilityWarning, stacklevel=2)
    if not (0.0 <= rel <= 1.0):
        of = f" (Cronbach's α of items {name_list(prep.items)})" if reliability is None else ""
        raise DataError(f"reliability must lie in [0, 1] for an SEM, got {rel:.4g}{of}")
    return float(np.sqrt(prep.cov.sum()) * np.sqrt(1 - rel))

