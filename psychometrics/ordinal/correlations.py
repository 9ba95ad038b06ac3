"""Polychoric and polyserial correlations: the two-step estimator as ``lavaan::lavCor``.

Everything here reproduces lavaan 0.6-14 (``lavCor``, ``lavInspect(fit, "gamma")``); see
``docs/ordinal.md`` and the fixtures in ``tests/reference/ordinal/``.

The two-step estimator (Olsson 1979; Muthén 1984) works from sufficient statistics:
thresholds come from each item's cumulative proportions, and every bivariate likelihood
depends on the data only through the pair's contingency table. All tables are formed by
one matrix product of the one-hot coded data (``OᵀO``), and the correlations of all pairs
are solved *together* by a safeguarded Newton iteration with the analytic gradient and
Hessian (:mod:`~psychometrics.ordinal.twostep`), so the time after tabulation does not
depend on the number of rows.
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
    PsychometricsWarning,
    record,
)
from psychometrics.ordinal._input import _check_levels, prepare
from psychometrics.ordinal.bivariate import _BIG
from psychometrics.ordinal.nacov import NACOV_ROWS, nacov, nacov_diagonal, nacov_limit  # noqa: F401 - NACOV_ROWS re-exported
from psychometrics.ordinal.sample_stats import OrdinalSampleStats
from psychometrics.ordinal.twostep import pearson_from_tables, polychoric_pairs, polyserial_pairs

__all__ = ["PolychoricResult", "polychoric"]


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
        """The statistics WLSMV estimation needs, as :class:`~psychometrics.ordinal.OrdinalSampleStats`.

        Items, per-item thresholds, the polychoric matrix, ``acov`` (NACOV), ``n`` and the
        DWLS weights. Needs all items ordinal and ``acov`` computed.
        """
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



@single_thread_blas  # many modest products: threaded BLAS mostly adds hand-off cost
def polychoric(
    data: pd.DataFrame,
    ordered: Sequence[str] | bool | None = None,
    *,
    missing: Literal["listwise", "pairwise"] = "listwise",
    acov: bool | str | None = None,
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
    acov : bool, "diagonal" or None
        Compute the asymptotic covariance matrix (lavaan's NACOV, needed for WLS/WLSMV).
        ``None`` (default): when all items are ordinal. ``"diagonal"``: only its diagonal, as
        ``dwls_weights`` (``acov`` stays None) — exact from the bivariate tables at any n, no pass
        over the rows (:func:`psychometrics.ordinal.nacov.nacov_diagonal`); enough for DWLS estimates.
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
    names, X, codes, is_ord, cats, n_excluded = prepare(data, ordered, missing, max_categories, diagnostics)
    return _estimate(names, X, codes, is_ord, cats, n_excluded, missing, acov, diagnostics)


@single_thread_blas
def polychoric_from_codes(codes: np.ndarray, names: Sequence[str], K: Sequence[int], *,
                          missing: Literal["listwise", "pairwise"] = "listwise", acov: bool = True,
                          max_categories: int = 10, tables: np.ndarray | None = None) -> PolychoricResult:
    """:func:`polychoric` of ordinal items already coded (private; issue 16).

    ``codes`` (n × p integers, column access: Fortran order or a row slice of it) hold category
    0..K_j − 1 of every answer and −1 where missing; every category of every item occurs and no row
    is empty under ``missing`` (the caller, :func:`psychometrics.ordinal.group_stats.ordinal_sample_stats`,
    has checked both). The result equals ``polychoric(DataFrame(codes + 1 with NaN), ordered=True, ...)``
    — the codes, categories 1..K_j and warnings :func:`polychoric`'s input step would produce —
    without building the frame and recoding its floats (once per group). ``tables``: the bivariate tables
    of these codes (:func:`_tables`) when the caller has them (summed from the run's shared cells).
    """
    diagnostics: list[Diagnostic] = []
    names = [str(v) for v in names]
    cats: dict[str, np.ndarray] = {}
    for name, k in zip(names, K):
        cats[name] = np.arange(1, int(k) + 1, dtype=np.int64)
        _check_levels(name, cats[name], 1, int(k), max_categories, diagnostics)
    return _estimate(names, None, codes, np.ones(len(names), dtype=bool), cats, 0, missing, acov, diagnostics,
                     tables=tables)


def polychoric_from_tables(T: np.ndarray, names: Sequence[str], levels: Sequence[np.ndarray], n: int,
                           n_excluded: int, *, missing: Literal["listwise", "pairwise"] = "pairwise",
                           acov: bool | str = False, max_categories: int = 10) -> PolychoricResult:
    """:func:`polychoric` of all-ordinal items from their bivariate tables (private; issue 16).

    ``T``: the tables of :func:`_tables` over the items' observed categories in column order (upper
    triangle; a zero last row and column), as :class:`psychometrics.ordinal.shared.OrdinalRows` sums
    them from its cells; ``levels``: each item's observed values in order; ``n``/``n_excluded``: the rows
    used and left out. ``acov`` False or ``"diagonal"`` only (the full Γ needs the rows). The result
    equals ``polychoric(rows, missing=missing, acov=acov)`` of the rows behind ``T``: the same integer
    tables, categories, warnings and estimates (``tests/test_ordinal_shared.py``).
    """
    if acov is True or acov is None:
        raise ValueError("polychoric_from_tables: the full acov needs the rows; use polychoric()")
    diagnostics: list[Diagnostic] = []
    names = [str(v) for v in names]
    cats: dict[str, np.ndarray] = {}
    for name, lev in zip(names, levels):
        cats[name] = np.asarray(lev, dtype=np.int64)
        _check_levels(name, cats[name], int(lev[0]), int(lev[-1]), max_categories, diagnostics)
    if n < 2:
        raise DataError(f"only {n} usable row(s); polychoric correlations need more data.")
    return _estimate(names, None, None, np.ones(len(names), dtype=bool), cats, n_excluded, missing, acov,
                     diagnostics, tables=T, n=n)


def _estimate(names, X, codes, is_ord, cats, n_excluded, missing, acov, diagnostics, tables=None,
              n=None) -> PolychoricResult:
    """Steps 1 and 2 of :func:`polychoric` on coded data (``X``: the values, None when all items are ordinal).
    ``tables``: the bivariate tables of :func:`_tables` when the caller has them (all items ordinal); then
    ``codes`` may be None (no Γ from the rows) and ``n`` gives the rows."""
    n, p = codes.shape if codes is not None else (n, len(names))
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
    if con_idx.size == 0 and ord_idx.size >= 2:  # all ordinal: margins and pair counts from the tables
        if tables is None:
            tables = _tables(codes, ord_idx, K)
        th, counts, pair_n = _from_tables(tables, ord_idx, K, names)
    observed = (~np.isnan(X) if X is not None else codes >= 0) if tables is None or con_idx.size else None
    if tables is None:
        th, counts = _thresholds(codes, observed, ord_idx, K)
        pair_n = _pair_counts(observed, names, n)
    R = np.eye(p)
    zero_pairs: list[tuple[str, str]] = []
    not_converged: list[str] = []

    # ---- step 2a: ordinal pairs from all bivariate tables at once (one-hot product)
    freq_raw = None  # the bivariate tables as observed (the scores behind acov use them)
    if ord_idx.size >= 2:
        freq_raw = _ordinal_pairs(R, codes, ord_idx, K, th, n, names, zero_pairs, not_converged, diagnostics,
                                  tables)

    # ---- step 2b: polyserial (continuous × ordinal) and Pearson (continuous pairs)
    if con_idx.size:
        _continuous_pairs(R, X, codes, observed, con_idx, ord_idx, th, n, names, not_converged)

    # ---- diagnostics
    _record_pair_diagnostics(R, names, zero_pairs, not_converged, diagnostics)

    # ---- labelled outputs
    return _labelled_result(R, th, counts, freq_raw, codes, ord_idx, K, cats, names, n, n_excluded, pair_n,
                            missing, acov, zero_pairs, diagnostics)


def _thresholds(codes, observed, ord_idx, K):
    """Step 1: τ_k = Φ⁻¹(P(y ≤ k)) of each ordinal item from its observed values; also its counts."""
    th: dict[int, np.ndarray] = {}
    counts: dict[int, np.ndarray] = {}
    for j in ord_idx:
        cnt = np.bincount(codes[observed[:, j], j], minlength=K[j]).astype(float)
        counts[j] = cnt
        th[j] = special.ndtri(np.cumsum(cnt)[:-1] / cnt.sum())
    return th, counts


def _pair_counts(observed, names, n):
    """Rows observed on both items of each pair; a pair with fewer than 2 is an error naming it."""
    p = observed.shape[1]
    if observed.all():
        pair_n = np.full((p, p), float(n))
    else:
        obs_f = observed.astype(float)
        pair_n = obs_f.T @ obs_f
    _require_pairs(pair_n, names)
    return pair_n


def _require_pairs(pair_n: np.ndarray, names) -> None:
    """An error naming the item pairs observed together in fewer than 2 rows (no correlation estimable)."""
    p = pair_n.shape[0]
    few = [(names[a], names[b]) for a, b in zip(*np.triu_indices(p, 1)) if pair_n[a, b] < 2]
    if few:
        shown = ", ".join(f"{a}–{b}" for a, b in few[:5])
        raise DataError(
            f"item pair(s) {shown}{' …' if len(few) > 5 else ''} have fewer than 2 rows observed on both; "
            "their correlation cannot be estimated. Drop one of the items or collect more data."
        )


#: rows per block of the one-hot tables (float32 counts within a block are exact: below 2²⁴)
_TABLE_BLOCK = 65_536


def _tables(codes, ord_idx, K):
    """All bivariate category tables at once: the upper triangle of T = OᵀO for the one-hot coding
    O (n × (ΣK + 1), the last column zero) of the ordinal items' codes (−1 = missing: no category).

    O is built and multiplied (``ssyrk``: half the work of a general product) in blocks of
    :data:`_TABLE_BLOCK` rows and the blocks' counts added in float64: every entry is an integer
    sum, exact in any order, so T equals the one-block product (issue 16: the one block held
    n × ΣK float32, 0.56 GB at 10⁶ rows × 28 items). The diagonal blocks hold the margins.
    """
    from scipy.linalg import blas

    offs = np.concatenate([[0], np.cumsum([K[j] for j in ord_idx])])
    tot = int(offs[-1])
    n = codes.shape[0]
    T = np.zeros((tot + 1, tot + 1))
    O = np.zeros((min(n, _TABLE_BLOCK), tot + 1), order="F", dtype=np.float32)
    for r0 in range(0, n, _TABLE_BLOCK):
        m = min(_TABLE_BLOCK, n - r0)
        if m < O.shape[0]:
            O = np.zeros((m, tot + 1), order="F", dtype=np.float32)
        for a, j in enumerate(ord_idx):  # column by column: contiguous writes in F order
            cj = codes[r0:r0 + m, j]
            for k in range(K[j]):
                O[:, offs[a] + k] = cj == k
        T += blas.ssyrk(1.0, O, trans=1)  # upper triangle of OᵀO (exact integers in float32)
    return T


def _from_tables(T, ord_idx, K, names):
    """Thresholds, category counts and pair counts of all-ordinal items from their tables ``T``
    (:func:`_tables`): the counts are T's diagonal, a pair's count the sum of its table — the
    integers :func:`_thresholds` and :func:`_pair_counts` count from the rows (same numbers)."""
    offs = np.concatenate([[0], np.cumsum([K[j] for j in ord_idx])])
    diag = np.diag(T)
    th: dict[int, np.ndarray] = {}
    counts: dict[int, np.ndarray] = {}
    for a, j in enumerate(ord_idx):
        cnt = diag[offs[a]: offs[a + 1]].copy()
        counts[j] = cnt
        th[j] = special.ndtri(np.cumsum(cnt)[:-1] / cnt.sum())
    p = len(names)
    pair_n = np.zeros((p, p))
    for a, j in enumerate(ord_idx):
        pair_n[j, j] = counts[j].sum()
        for b in range(a + 1, len(ord_idx)):
            jb = ord_idx[b]
            pair_n[j, jb] = pair_n[jb, j] = T[offs[a]: offs[a + 1], offs[b]: offs[b + 1]].sum()
    _require_pairs(pair_n, names)
    return th, counts, pair_n


def _ordinal_pairs(R, codes, ord_idx, K, th, n, names, zero_pairs, not_converged, diagnostics, T=None):
    """Step 2a: the polychoric correlations of all ordinal pairs, written into ``R``.

    Pairs with empty cells are appended to ``zero_pairs``, pairs that did not converge to
    ``not_converged``. Returns the bivariate tables as observed (padded to the largest
    number of categories), before lavaan's zero-cell adjustment of 2 × 2 tables. ``T``: the
    tables of :func:`_tables` when the caller has them.
    """
    offs = np.concatenate([[0], np.cumsum([K[j] for j in ord_idx])])
    tot = int(offs[-1])
    if T is None:
        T = _tables(codes, ord_idx, K)
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
                f"their 2 x 2 table; correlation set to {rho[q]:+.0f} as lavaan does.", stacklevel=5,
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
        start = pearson_from_tables(freq[free])
        est, conv, _ = polychoric_pairs(freq[free], th1[free], th2[free], start)
        rho[free] = est
        for q in free[~conv]:
            not_converged.append(f"{names[ord_idx[ia[q]]]}–{names[ord_idx[ib[q]]]}")
    gi, gj = ord_idx[ia], ord_idx[ib]
    R[gi, gj] = R[gj, gi] = rho
    return freq_raw


def _continuous_pairs(R, X, codes, observed, con_idx, ord_idx, th, n, names, not_converged):
    """Step 2b: polyserial (continuous × ordinal) and Pearson (continuous pairs) correlations into ``R``."""
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
        est, conv, _ = polyserial_pairs(Zm, sd[cc], up, low, valid)
        R[con_idx[cc], oo] = R[oo, con_idx[cc]] = est
        for q in np.flatnonzero(~conv):
            not_converged.append(f"{names[con_idx[cc[q]]]}–{names[oo[q]]}")
    if con_idx.size >= 2:
        Rc = pd.DataFrame(Xc).corr().to_numpy()  # pairwise-complete Pearson
        R[np.ix_(con_idx, con_idx)] = Rc
        np.fill_diagonal(R, 1.0)


def _record_pair_diagnostics(R, names, zero_pairs, not_converged, diagnostics):
    """Warnings on the estimated matrix: sparse tables, non-convergence, |r| ≈ 1, not positive definite."""
    p = R.shape[0]
    if zero_pairs:
        shown = ", ".join(f"{a}×{b}" for a, b in zero_pairs[:8])
        more = f" and {len(zero_pairs) - 8} more" if len(zero_pairs) > 8 else ""
        record(
            diagnostics, DataQualityWarning,
            f"{len(zero_pairs)} item pair(s) have empty cells in their bivariate table ({shown}{more}); "
            "handled as lavaan (0.5 added in 2 x 2 tables keeping the margins, larger tables "
            "unchanged). Estimates for sparse tables are less stable.", stacklevel=5,
        )
    if not_converged:
        record(diagnostics, ConvergenceWarning,
               f"the correlation did not converge for pair(s) {', '.join(not_converged)}.", stacklevel=5)
    iu = np.triu_indices(p, 1)
    near = [f"{names[a]}–{names[b]} ({R[a, b]:.3f})" for a, b in zip(*iu) if abs(R[a, b]) > 0.99]
    if near:
        record(diagnostics, DataQualityWarning,
               f"correlation (nearly) ±1 for {', '.join(near)}; the items may be redundant.", stacklevel=5)
    if np.linalg.eigvalsh(R)[0] < 0:
        record(diagnostics, NotPositiveDefiniteWarning,
               "the polychoric correlation matrix is not positive definite (pairwise estimates "
               "need not be jointly consistent); smooth it before factor analysis.", stacklevel=5)


def _labelled_result(R, th, counts, freq_raw, codes, ord_idx, K, cats, names, n, n_excluded, pair_n, missing, acov,
                     zero_pairs, diagnostics) -> PolychoricResult:
    """The :class:`PolychoricResult`: labelled matrix, thresholds and statistics vector, and (when
    asked and defined) the asymptotic covariance with the DWLS weights."""
    p = R.shape[0]
    iu = np.triu_indices(p, 1)
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
            stacklevel=5,
        )
        acov = False
    if acov == "diagonal":  # the DWLS weights only: Γ's diagonal from the tables, exact at any n
        g = nacov_diagonal(ord_idx, K, th, counts, R, freq_raw, n)
        with np.errstate(divide="ignore"):
            weights = pd.Series(1.0 / g, index=list(stats.index), name="dwls_weight")
    elif acov:
        G = nacov(codes, ord_idx, K, th, counts, R, freq_raw, n)
        if codes.shape[0] > nacov_limit():
            record(diagnostics, PsychometricsWarning,
                   f"large sample ({codes.shape[0]:,} rows): the middle term of the asymptotic covariance (NACOV, "
                   f"Γ) of the thresholds and polychoric correlations is estimated from a fixed random subsample of "
                   f"{nacov_limit():,} rows (the rest of Γ from all rows); its relative sampling error is about "
                   f"{1 / nacov_limit() ** 0.5:.1%}, which changes standard errors and scaled test statistics by about "
                   "that share — the exact sum over every row costs time in proportion to n", stacklevel=5)
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
