"""The front end every reliability coefficient shares: validated item data, its
covariance and correlation matrices under a missing-data policy, and the checks of
the shared options.

``missing="listwise"`` (default) uses the rows with every item observed;
``missing="pairwise"`` computes each covariance from the rows where both items
are observed (R's ``cov(use = "pairwise")``, the default of ``psych::alpha``);
``missing="fiml"`` uses every row with at least one observed item and the EM (FIML
saturated-model) estimate of the covariance matrix (:func:`psychometrics.data.missing.em_normal`,
lavaan's ``lavInspect(cfa(..., missing = "ml"), "sampstat.h1")``), rescaled by n/(n − 1) so
that complete data give exactly the listwise numbers.
Two correlation matrices follow from that, and they differ under pairwise
deletion (:class:`PreparedItems`): psych's α and split-half rescale the
covariance matrix, psych's ω and Guttman's λ correlate pairwise.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from psychometrics._linalg import cov2cor, pairwise_correlation
from psychometrics._validation import check_numeric, check_observed, check_variance, item_matrix, name_list
from psychometrics.exceptions import DataError, Diagnostic, NotPositiveDefiniteWarning, ReliabilityWarning, record
from psychometrics._text import quote

__all__ = ["Missing", "Interval", "PreparedItems", "prepare_items", "shared_preparation", "fiml_source", "check_matrix",
           "check_level", "check_boot", "record_bootstrap_diagnostics"]

Missing = Literal["listwise", "pairwise", "fiml"]
Interval = Literal["bca", "percentile"]


@dataclass(frozen=True)
class PreparedItems:
    """Validated item data and its covariance matrix under a missing-data policy.

    Attributes
    ----------
    items : list of str
        Item ids (column order).
    x : ndarray
        Rows used (listwise: complete; pairwise and fiml: ≥ 1 item observed), NaN kept.
    cov : ndarray
        Covariance matrix (divisor n − 1; pairwise: R's ``cov(use = "pairwise")``; fiml: the EM
        estimate × n/(n − 1)).
    mean : ndarray or None
        fiml: the EM estimate of the item means (None otherwise).
    n, n_rows, n_excluded, n_pairwise_min : int
        Rows used, rows given, rows excluded by the policy, smallest pairwise n.
    """

    items: list[str]
    x: np.ndarray  # rows used (listwise: complete; pairwise: ≥ 1 item observed), NaN kept
    cov: np.ndarray
    n: int
    n_rows: int
    n_excluded: int
    n_pairwise_min: int
    missing: str
    diagnostics: tuple[Diagnostic, ...]
    mean: np.ndarray | None = None

    @property
    def cor_from_cov(self) -> np.ndarray:
        """cov2cor of the covariance matrix (psych::alpha, psych::splitHalf)."""
        return cov2cor(self.cov)

    @property
    def cor_pairwise(self) -> np.ndarray:
        """Correlation matrix as R's ``cor(use = "pairwise")`` (psych::omega, psych::guttman).

        Listwise it equals :attr:`cor_from_cov`; pairwise each correlation uses the means
        and SDs of the rows where both items are observed (so it differs from
        :attr:`cor_from_cov`, whose SDs come from each item's own observed rows).
        """
        if self.missing != "pairwise":  # listwise, fiml: one covariance matrix, one correlation matrix
            return self.cor_from_cov
        return pairwise_correlation(self.x)[0]


# Within reliability(), the same item set is validated once and shared by α, ω, λ and split-half.
_PREP_CACHE: ContextVar[dict | None] = ContextVar("_PREP_CACHE", default=None)


@contextmanager
def shared_preparation():
    """Within this context, :func:`prepare_items` validates each (data, missing) pair only once."""
    token = _PREP_CACHE.set({})
    try:
        yield
    finally:
        _PREP_CACHE.reset(token)


# Within scale_reliability(missing="fiml"), the per-pattern sums of all items for one score's frame
# (id of the frame, PatternMoments of all items, positions of the frame's columns among them).
_FIML_SOURCE: ContextVar[tuple | None] = ContextVar("_FIML_SOURCE", default=None)


@contextmanager
def fiml_source(moments: Any, data: pd.DataFrame, positions: Sequence[int]):
    """Within this context, the FIML moments of ``data`` (columns = ``positions`` of the items of
    ``moments``, a :class:`~psychometrics.reliability._pattern_em.PatternMoments` of the same rows)
    come from ``moments`` instead of a grouping of ``data``'s rows (``None``: no sharing)."""
    token = _FIML_SOURCE.set(None if moments is None else (id(data), moments, np.asarray(positions)))
    try:
        yield
    finally:
        _FIML_SOURCE.reset(token)


def prepare_items(data: pd.DataFrame, missing: str, *, min_items: int = 2,
                  what: str = "reliability") -> PreparedItems:
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


def _prepare_uncached(data: pd.DataFrame, missing: str, *, min_items: int, what: str) -> PreparedItems:
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"{what} needs a pandas DataFrame of item responses (columns = items), "
            f"got {type(data).__name__}; wrap arrays with pandas.DataFrame(array, columns=item_ids)"
        )
    if missing not in ("listwise", "pairwise", "fiml"):
        raise DataError(f"missing must be 'listwise', 'pairwise' or 'fiml', not {quote(missing)}")
    cols = [str(c) for c in data.columns]
    dup = sorted({c for c in cols if cols.count(c) > 1})
    if dup:
        raise DataError(f"duplicate item columns {name_list(dup)}; each item must appear once")
    if data.shape[1] < min_items:
        raise DataError(
            f"{what} needs at least {min_items} items, got {data.shape[1]} ({name_list(cols) or 'none'})"
        )
    src = _FIML_SOURCE.get() if missing == "fiml" else None
    shared = src[1:] if src is not None and src[0] == id(data) else None
    if shared is None:
        x = item_matrix(data, what)
        check_observed(x, cols, what)
    else:  # FIML from shared pattern sums: those rows are whole, finite numbers; answers per item known
        check_numeric(data, what)
        x = data.to_numpy(dtype=float, na_value=np.nan)
        if (shared[0].item_sums(shared[1])[0] == 0).any():
            check_observed(x, cols, what)  # names the items without an answer
    n_rows = x.shape[0]
    # with shared FIML pattern sums the mask is needed only when some row answers none of these items
    # (the patterns count those rows exactly; issue 16: one n × k mask per score at 10⁶ rows)
    observed = None if shared is not None and shared[0].n == n_rows == shared[0].answering(shared[1]) else ~np.isnan(x)
    item_sums = None  # (answers, Σ x, Σ x², max |x|) per item when FIML shares the pattern sums
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
    elif missing == "fiml":
        used, cov, em_mean, n_pair_min = _fiml_moments(x, observed, cols, shared)
        if shared is not None:
            item_sums = shared[0].item_sums(shared[1])
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
    _check_variance(used, cols, what, f"in the {used.shape[0]} rows used", item_sums)
    diags: list[Diagnostic] = []
    n_excl = n_rows - used.shape[0]
    return PreparedItems(cols, used, cov, int(used.shape[0]), n_rows, int(n_excl), n_pair_min, missing,
                         tuple(diags), em_mean if missing == "fiml" else None)


def _check_variance(x: np.ndarray, cols: list[str], what: str, rows: str, sums: tuple | None = None) -> None:
    """:func:`check_variance`, with the same verdict and message, without its column-by-column pass
    when every item clearly varies (issue 16: 4 s at 10⁶ rows for the six scores of the demo study).

    One pass over row blocks gives each item's count, sum and sum of squares (or the shared FIML pattern
    sums give them exactly); a variance from them differs from the two-pass one by about 1e-11 · max|x|²
    at most (float64 sums over blocks of 65,536 rows), so an item whose one-pass variance exceeds
    1e-6 · max(1, max|x|²) passes the exact check (threshold 1e-12 · that). Anything else — too few
    answers, a small variance, ±inf — goes to the exact check, which decides and words it."""
    n, k = x.shape
    if n < 10_000:  # small data: the exact check directly, as before
        check_variance(x, cols, what, rows)
        return
    if sums is not None:  # FIML from shared pattern sums: the per-item sums are already there
        cnt, s1, s2, top = sums
    else:
        cnt, s1, s2, top = np.zeros(k), np.zeros(k), np.zeros(k), 0.0
        for r0 in range(0, n, 65_536):
            b = x[r0:r0 + 65_536]
            z = np.where(np.isnan(b), 0.0, b)
            cnt += (~np.isnan(b)).sum(axis=0)
            s1 += z.sum(axis=0)
            s2 += (z * z).sum(axis=0)
            top = max(top, float(np.abs(z).max()) if z.size else 0.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        var = (s2 - s1 * s1 / cnt) / (cnt - 1)
    if not (np.isfinite(top) and (cnt >= 2).all() and (var > 1e-6 * max(1.0, top * top)).all()):
        check_variance(x, cols, what, rows)


def _fiml_moments(x: np.ndarray, observed: np.ndarray | None, cols: list[str],
                  shared: tuple | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Rows with ≥ 1 observed item, the EM covariance (× n/(n − 1)), EM means, smallest pairwise n.

    ``shared``: (PatternMoments of all items, positions of these items) — the EM from the all-item
    pattern sums (:mod:`psychometrics.reliability._pattern_em`) instead of a grouping of these rows."""
    from psychometrics.data.missing import em_normal

    keep = None if observed is None else observed.any(axis=1)  # None: every row answers (shared pattern counts)
    full = keep is None or bool(keep.all())
    used = x if full else x[keep]  # no copy of the rows when every row has an answer
    sub = shared[0].subset(shared[1]) if shared is not None else None
    if sub is not None:  # pair counts from the patterns: Σ_j n_j o_j o_jᵀ (integer sums, exact)
        pats = sub[0].astype(float)
        counts = pats.T @ (sub[1].astype(float)[:, None] * pats)
    else:
        m = (observed if full else observed[keep]).astype(np.float32 if len(used) < 2 ** 24 else float)
        counts = (m.T @ m).astype(float)  # pair counts: integer sums, exact in float32 below 2²⁴ rows
    if counts.min() < 1:
        i, j = np.unravel_index(np.argmin(counts), counts.shape)
        raise DataError(
            f"items {cols[i]} and {cols[j]} are never observed together (covariance coverage 0): their "
            "covariance cannot be estimated by EM (FIML); drop one of them or use missing='listwise'"
        )
    n = used.shape[0]
    if n < 3:
        raise DataError(f"only {n} rows have an observed item (items {name_list(cols)}); at least 3 are needed")
    if sub is not None:
        from psychometrics.reliability._pattern_em import em_from_moments

        mu, sigma, _ = em_from_moments(*sub, tol=1e-10, max_iter=20_000)
    else:
        mu, sigma, _ = em_normal(used, tol=1e-10, max_iter=20_000)
    return used, sigma * (n / (n - 1.0)), mu, int(counts.min())


def check_matrix(prep: PreparedItems, diags: list[Diagnostic]) -> None:
    """Record a warning when the correlation matrix is singular or not positive definite."""
    r = prep.cor_from_cov
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


def check_level(ci: float | None) -> None:
    """A confidence level must lie strictly between 0 and 1 (``None``: no interval)."""
    if ci is not None and (isinstance(ci, bool) or not isinstance(ci, (int, float, np.integer, np.floating))
                           or not (0 < ci < 1)):
        raise DataError(f"ci is the confidence level and must lie between 0 and 1 (e.g. 0.95), not {quote(ci)}")


def check_boot(n_boot: int, interval: str) -> None:
    """Validate the bootstrap settings shared by α and ω."""
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise DataError(f"n_boot must be an integer ≥ 2 (e.g. 2000), not {quote(n_boot)}")
    if interval not in ("bca", "percentile"):
        raise DataError(f"interval must be 'bca' or 'percentile', not {quote(interval)}")


def record_bootstrap_diagnostics(out: Any, diags: list[Diagnostic]) -> None:
    """Record failed replicates and BCa fallbacks of a :func:`psychometrics._bootstrap.run_bootstrap` outcome."""
    if out.n_failed:
        record(diags, ReliabilityWarning,
               f"{out.n_failed} of {out.replicates.shape[0]} bootstrap replicates could not be computed "
               "(e.g. an item without variance in the resample) and were left out of the interval",
               stacklevel=4)
    for msg in out.fallbacks:
        record(diags, ReliabilityWarning, msg, stacklevel=4)
    if out.note:  # the large-n bootstrap method and why (shown with the result's diagnostics)
        record(diags, ReliabilityWarning, out.note, stacklevel=4)
