r"""Missing-data diagnostics: patterns, shares missing, covariance coverage and Little's MCAR test.

:func:`missing_data_diagnostics` describes the holes in a block of items (optionally per
group): the most frequent missing-data patterns with their counts, the share missing per
item and per respondent, the covariance coverage matrix (share of rows observing each item
pair, as Mplus prints it and lavaan checks it; a coverage below 0.10 is warned, a coverage of
0 — a pair never observed together — is flagged as an estimation problem for pairwise
statistics) and Little's (1988) test of missing completely at random.

Little's test. With μ̂, Σ̂ the maximum-likelihood (divisor N) estimates of the saturated
normal model from all rows with at least one observed item (EM, :func:`em_normal`), and for
each missing-data pattern j with n_j rows observing the items o_j (p_j of them) and mean ȳ_j,

.. math::

    d^2 = \sum_j n_j (\bar y_j - \hat\mu_{o_j})^\top \hat\Sigma_{o_j o_j}^{-1} (\bar y_j - \hat\mu_{o_j}),
    \qquad df = \sum_j p_j - p,

and p = P(χ²_df > d²). Little, R. J. A. (1988). A test of missing completely at random for
multivariate data with missing values. *JASA* 83, 1198–1202.

Validated against ``tests/reference/missing/little_mcar.json`` (an EM and the formula
written in R, cross-checked with lavaan's EM; Holzinger–Swineford MCAR/MAR, the 3-category
ordinal HS, bfi with its real missing values).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from psychometrics._results import ResultMixin
from psychometrics._validation import dependent_items, name_list
from psychometrics.data.patterns import PatternGroups, pattern_groups, pattern_sums
from psychometrics.exceptions import DataError, DataQualityWarning, Diagnostic, record
from psychometrics._text import quote

__all__ = ["MissingDataDiagnostics", "LittleMCAR", "em_normal", "little_mcar", "missing_data_diagnostics",
           "COVERAGE_WARN"]

COVERAGE_WARN = 0.10  # Mplus' and lavaan's threshold for a low covariance coverage


#: above this many missing-data patterns EM's E-step runs on stacks of patterns with the same
#: number of missing items (batched solves; the same sums in another order, equal to ~1e-15),
#: below it pattern by pattern — as validated against R (the reference data sets have fewer)
_EM_BATCH_MIN = 64
#: from this many rows on, the batched E-step takes B = Σ_mo Σ_oo⁻¹ and C = Σ_mm − B Σ_om from the full
#: inverse P = Σ⁻¹ (B = −P_mm⁻¹ P_mo, C = P_mm⁻¹: an r × r solve per pattern, r = items missing) instead
#: of solving with Σ_oo (q × q, q = items observed); the same E-step to rounding (≈ 1e-15; the EM's
#: estimates to ≈ 1e-13). Below it (the demo: 400 rows) the solves with Σ_oo, bit for bit as before
_EM_SCHUR_ROWS = 2_000


def _em_batches(s1: np.ndarray, s2: np.ndarray, pg: PatternGroups
                ) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, ...]]]:
    """The observed-part sums of every pattern added up (they do not change between iterations) and,
    per number of missing items (in order of first appearance), the stacked index arrays, counts
    and observed moments s1, S2 — from the per-pattern sums of :func:`pattern_sums` (zeros at the
    missing items), by fancy indexing instead of a gather per pattern."""
    pats = pg.patterns
    p = pats.shape[1]
    T1o, T2o = s1.sum(axis=0), s2.sum(axis=0)  # the zeros at missing items add nothing
    n_miss = p - pats.sum(axis=1)
    batches = []
    for r in pd.unique(n_miss[n_miss > 0]):  # in order of first appearance, as the patterns were batched before
        which = np.flatnonzero(n_miss == r)
        O = np.nonzero(pats[which])[1].reshape(len(which), p - r)
        M = np.nonzero(~pats[which])[1].reshape(len(which), r)
        batches.append((O, M, pg.counts[which].astype(float), np.take_along_axis(s1[which], O, axis=1),
                        s2[which[:, None, None], O[:, :, None], O[:, None, :]]))
    return T1o, T2o, batches


def _em_estep_batched(mu: np.ndarray, sigma: np.ndarray, T1o: np.ndarray, T2o: np.ndarray,
                      batches: list[tuple[np.ndarray, ...]], schur: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """E-step sums Σ ŷ and Σ ŷŷᵀ (+ Σ n_j C_j), the formulas of :func:`em_normal` on stacks of patterns.

    ``schur``: B and C from the full inverse P = Σ⁻¹ (block inversion: Σ_oo⁻¹ Σ_om = −P_om P_mm⁻¹ and
    Σ_mm − Σ_mo Σ_oo⁻¹ Σ_om = P_mm⁻¹), an r × r solve per pattern instead of a q × q one."""
    T1, T2 = T1o.copy(), T2o.copy()
    P = np.linalg.inv(sigma) if schur else None
    for O, M, nj, S1, S2 in batches:
        if P is not None:
            P_mm = P[M[:, :, None], M[:, None, :]]
            B = -np.linalg.solve(P_mm, P[M[:, :, None], O[:, None, :]])  # (k, r, q) = Σ_mo Σ_oo⁻¹
            Bt = B.transpose(0, 2, 1)
            C = np.linalg.inv(P_mm)  # Σ_mm − B Σ_om
        else:
            Som = sigma[O[:, :, None], M[:, None, :]]
            Bt = np.linalg.solve(sigma[O[:, :, None], O[:, None, :]], Som)  # (k, q, r) = Σ_oo⁻¹ Σ_om
            B = Bt.transpose(0, 2, 1)
            C = sigma[M[:, :, None], M[:, None, :]] - B @ Som
        a = mu[M] - np.einsum("krq,kq->kr", B, mu[O])
        Bs1 = np.einsum("krq,kq->kr", B, S1)
        BS2 = B @ S2
        cross = a[:, :, None] * S1[:, None, :] + BS2  # Σ ŷ_m y_oᵀ
        mm = (nj[:, None, None] * a[:, :, None] * a[:, None, :] + a[:, :, None] * Bs1[:, None, :]
              + Bs1[:, :, None] * a[:, None, :] + BS2 @ Bt
              + nj[:, None, None] * C)
        if P is not None:  # the same sums by bincount (another order; np.add.at is ≈ 10× slower)
            p = len(mu)
            T1 += np.bincount(M.ravel(), (nj[:, None] * a + Bs1).ravel(), minlength=p)
            D = np.bincount((M[:, :, None] * p + O[:, None, :]).ravel(), cross.ravel(), minlength=p * p)
            D = D.reshape(p, p)
            T2 += D + D.T
            T2 += np.bincount((M[:, :, None] * p + M[:, None, :]).ravel(), mm.ravel(), minlength=p * p).reshape(p, p)
            continue
        np.add.at(T1, M, nj[:, None] * a + Bs1)
        np.add.at(T2, (M[:, :, None], O[:, None, :]), cross)
        np.add.at(T2, (O[:, :, None], M[:, None, :]), cross.transpose(0, 2, 1))
        np.add.at(T2, (M[:, :, None], M[:, None, :]), mm)
    return T1, T2


def em_normal(X: np.ndarray, *, tol: float = 1e-12, max_iter: int = 5_000,
              groups: PatternGroups | None = None,
              sums: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    r"""ML mean and covariance (divisor N) of a multivariate normal sample with holes, by EM.

    Dempster, Laird & Rubin (1977); the E-step per missing-data pattern j with missing
    items m and observed o: B = Σ_mo Σ_oo⁻¹, ŷ_m = μ_m + B(y_o − μ_o), C = Σ_mm − B Σ_om;
    M-step μ = Σ ŷ / N, Σ = (Σ ŷŷᵀ + Σ_j n_j C_j)/N − μμᵀ. Start as lavaan: available-case
    means and ML variances, zero covariances. Stops when the largest change of (μ, Σ) is
    below ``tol`` (lavaan's ``em.h1.tol`` is 1e-5; the default here converges fully).

    Parameters
    ----------
    X : ndarray (N, p)
        Data with NaN for missing values; no row may be entirely missing.
    groups : PatternGroups, optional
        ``pattern_groups(~np.isnan(X))`` when the caller has it already.
    sums : (s1, s2), optional
        ``pattern_sums(X, groups)`` when the caller has them already (used above 64 patterns).

    Returns
    -------
    (mu, sigma, iterations)

    Validated against the EM in ``tests/reference/missing/missing_reference.R`` and lavaan's
    ``lavInspect(fit, "sampstat.h1")`` at ``em.h1.tol = 1e-12`` (``little_mcar.json``).
    """
    X = np.asarray(X, dtype=float)
    obs = ~np.isnan(X)
    if (~obs.any(axis=1)).any():
        raise DataError("em_normal: drop the rows with every item missing first")
    if (~obs.any(axis=0)).any():
        raise DataError(f"em_normal: column(s) {np.flatnonzero(~obs.any(axis=0)).tolist()} have no observed value")
    n, p = X.shape
    pg = pattern_groups(obs) if groups is None else groups
    pats, cnt = pg.patterns, pg.counts
    if len(pats) > _EM_BATCH_MIN:
        s1, s2 = pattern_sums(X, pg) if sums is None else sums
        return em_from_pattern_sums(pats, cnt, s1, s2, tol=tol, max_iter=max_iter)
    mu = np.nanmean(X, axis=0)
    sigma = np.diag(np.nanmean((X - mu) ** 2, axis=0))
    # Per pattern the sufficient statistics of the observed part do not change between
    # iterations: s1 = Σ y_o, S2 = Σ y_o y_oᵀ. With ŷ_m = a + B y_o (a = μ_m − B μ_o) the
    # E-step sums are a s1ᵀ + B S2 and n a aᵀ + a (B s1)ᵀ + (B s1) aᵀ + B S2 Bᵀ — no pass over rows.
    parts = []
    for j, pat in enumerate(pats):
        o, m = np.flatnonzero(pat), np.flatnonzero(~pat)
        Y = X[np.ix_(pg.rows(j), o)]  # the pattern's rows in data order (as X[idx == j][:, o])
        parts.append((o, m, float(cnt[j]), Y.sum(axis=0), Y.T @ Y, np.ix_(o, o), np.ix_(o, m), np.ix_(m, o),
                      np.ix_(m, m)))
    for it in range(1, max_iter + 1):
        T1 = np.zeros(p)
        T2 = np.zeros((p, p))
        for o, m, nj, s1, S2, oo, om, mo, mm in parts:
            T1[o] += s1
            T2[oo] += S2
            if not m.size:
                continue
            B = np.linalg.solve(sigma[oo], sigma[om]).T
            a = mu[m] - B @ mu[o]
            Bs1 = B @ s1
            T1[m] += nj * a + Bs1
            cross = np.outer(a, s1) + B @ S2  # Σ ŷ_m y_oᵀ
            T2[mo] += cross
            T2[om] += cross.T
            T2[mm] += (nj * np.outer(a, a) + np.outer(a, Bs1) + np.outer(Bs1, a) + B @ S2 @ B.T
                       + nj * (sigma[mm] - B @ sigma[om]))
        mu, sigma, change = _m_step(T1, T2, n, mu, sigma)
        if change < tol:
            return mu, sigma, it
    return mu, sigma, max_iter


def _m_step(T1: np.ndarray, T2: np.ndarray, n: float, mu: np.ndarray, sigma: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, float]:
    """EM's M-step from the E-step's sums: the new (μ, Σ) and the largest change of any entry."""
    mu_new = T1 / n
    sigma_new = T2 / n - np.outer(mu_new, mu_new)
    return mu_new, sigma_new, max(np.abs(mu_new - mu).max(), np.abs(sigma_new - sigma).max())


def em_from_pattern_sums(patterns: np.ndarray, counts: np.ndarray, s1: np.ndarray, s2: np.ndarray, *,
                         tol: float = 1e-12, max_iter: int = 5_000) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`em_normal` from per-pattern sums alone (no rows): the incomplete patterns stacked by their
    number of missing items, one batched E-step per iteration; (mu, sigma, iterations).

    ``patterns`` (k × p, True = observed), ``counts`` (k), ``s1`` (k × p) and ``s2`` (k × p × p): each
    pattern's Σ y and Σ y yᵀ with missing entries 0 (:func:`pattern_sums`). Start as :func:`em_normal`:
    available-case means and ML variances (from the same sums), zero covariances.
    """
    from types import SimpleNamespace

    n = float(counts.sum())
    T1o, T2o, batches = _em_batches(s1, s2, SimpleNamespace(patterns=patterns, counts=counts))
    n_j = patterns.T.astype(float) @ counts.astype(float)
    mu = T1o / n_j
    sigma = np.diag(np.maximum(np.diag(T2o) / n_j - mu * mu, 0.0))
    schur = n >= _EM_SCHUR_ROWS
    for it in range(1, max_iter + 1):
        T1, T2 = _em_estep_batched(mu, sigma, T1o, T2o, batches, schur)
        mu, sigma, change = _m_step(T1, T2, n, mu, sigma)
        if change < tol:
            return mu, sigma, it
    return mu, sigma, max_iter


@dataclass(frozen=True, eq=False)
class LittleMCAR(ResultMixin):
    """Little's (1988) test of missing completely at random.

    Attributes
    ----------
    chisq, df, pvalue : float, int, float
        d², Σ p_j − p and P(χ²_df > d²).
    n : int
        Rows used (at least one item observed).
    n_patterns : int
    patterns : DataFrame
        Per pattern: ``pattern`` (1 = observed, in item order), ``n``, ``p`` (items observed)
        and its contribution ``d2``.
    mean, cov : Series, DataFrame
        The EM (ML) estimates used.
    em_iterations : int
    """

    chisq: float
    df: int
    pvalue: float
    n: int
    n_patterns: int
    patterns: pd.DataFrame
    mean: pd.Series
    cov: pd.DataFrame
    em_iterations: int

    _title = "Little's (1988) MCAR test"

    def to_frame(self) -> pd.DataFrame:
        return self.patterns


def little_mcar(data: pd.DataFrame | np.ndarray, items: Sequence[str] | None = None, *,
                tol: float = 1e-12) -> LittleMCAR:
    """Little's (1988) MCAR test on the columns ``items`` of ``data`` (all columns by default).

    Rows with every item missing are left out (as lavaan's empty cases). See the module
    docstring for the formula. Items are treated as continuous (normal), as Little's test is
    defined; for ordinal items it is an approximation.

    Validated against ``tests/reference/missing/little_mcar.json`` (χ² 437.338, df 430 on
    HS MCAR; 2190.945, df 1950 on bfi).
    """
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(np.asarray(data, dtype=float))
    names = [str(c) for c in (items if items is not None else frame.columns)]
    X = frame.loc[:, list(items) if items is not None else frame.columns].to_numpy(dtype=float)
    empty = np.isnan(X).all(axis=1)
    if empty.any():
        X = X[~empty]
    return _little(X, names, tol=tol)


def _little(X: np.ndarray, names: list[str], *, tol: float, pg: PatternGroups | None = None) -> LittleMCAR:
    """:func:`little_mcar` of the rows ``X`` (none empty; ``pg`` their pattern groups when known)."""
    from scipy import special  # not scipy.stats: its import alone takes seconds

    n, p = X.shape
    seen_items = pg.patterns.any(axis=0) if pg is not None else (~np.isnan(X)).any(axis=0)
    unseen = [v for v, seen in zip(names, seen_items) if not seen]
    if unseen:
        raise DataError(f"Little's MCAR test: item(s) {', '.join(map(repr, unseen[:10]))} have no observed value")
    if n <= p:
        raise DataError(f"Little's MCAR test needs more rows with data ({n}) than items ({p})")
    pg = pattern_groups(~np.isnan(X)) if pg is None else pg
    sums = pattern_sums(X, pg) if len(pg.counts) > _EM_BATCH_MIN else None  # shared by EM and the d² terms
    mu, sigma, iters = em_normal(X, tol=tol, groups=pg, sums=sums)
    eig = np.linalg.eigvalsh(sigma)
    if eig[0] <= 1e-10 * max(float(eig[-1]), 1e-300):
        raise DataError(f"Little's MCAR test: the EM covariance matrix is singular (items "
                        f"{name_list(dependent_items(sigma, names))} are constant or linearly dependent); "
                        "drop such items")
    pats, cnt = pg.patterns, pg.counts
    d2 = _pattern_d2(X, pg, mu, sigma, None if sums is None else sums[0])
    table = pd.DataFrame({"pattern": _pattern_strings(pats), "n": cnt.astype(int),
                          "p": pats.sum(axis=1).astype(int), "d2": d2})
    chisq = float(table["d2"].sum())
    df = int(table["p"].sum() - p)
    pval = float(special.chdtrc(df, chisq)) if df > 0 else float("nan")
    return LittleMCAR(chisq, df, pval, int(n), int(len(pats)), table, pd.Series(mu, index=names, name="mean"),
                      pd.DataFrame(sigma, index=names, columns=names), int(iters))


def _pattern_strings(pats: np.ndarray) -> list[str]:
    """Each pattern as text, ``"1"`` = observed, in item order (one byte per item, decoded at once)."""
    m, p = pats.shape
    if m == 0 or p == 0:
        return [""] * m
    text = (pats.astype(np.uint8) + ord("0")).tobytes().decode("ascii")
    return [text[i * p:(i + 1) * p] for i in range(m)]


def _pattern_d2(X: np.ndarray, pg: PatternGroups, mu: np.ndarray, sigma: np.ndarray,
                sums: np.ndarray | None = None) -> np.ndarray:
    """Little's d² term of every pattern, n_j (ȳ_j − μ̂_o)ᵀ Σ̂_oo⁻¹ (ȳ_j − μ̂_o).

    The pattern means ȳ_j from one weighted ``bincount`` per item (the rows' sum in data order),
    the quadratic forms by stacked solves of the patterns with the same number of observed items —
    not a gather and a solve per pattern (thousands of patterns at 10⁶ rows).
    """
    m, p = pg.patterns.shape
    if sums is None:  # the pattern sums, unless the caller has them (pattern_sums: equal, exact for whole numbers)
        sums = np.empty((m, p))
        for i in range(p):
            col = X[:, i]
            sums[:, i] = np.bincount(pg.row_pattern, weights=np.where(np.isnan(col), 0.0, col), minlength=m)
    ybar = sums / pg.counts[:, None]
    out = np.empty(m)
    n_obs = pg.patterns.sum(axis=1)
    for q in np.unique(n_obs):
        which = np.flatnonzero(n_obs == q)
        o = np.nonzero(pg.patterns[which])[1].reshape(len(which), q)
        dev = np.take_along_axis(ybar[which], o, axis=1) - mu[o]
        sol = np.linalg.solve(sigma[o[:, :, None], o[:, None, :]], dev[:, :, None])[:, :, 0]
        out[which] = pg.counts[which] * np.einsum("ij,ij->i", dev, sol)
    return out


@dataclass(frozen=True, eq=False)
class MissingDataDiagnostics(ResultMixin):
    """Where the data have holes, and whether they look completely at random.

    Attributes
    ----------
    n_rows : int
        Rows examined.
    n_empty : int
        Rows with every item missing (left out of every analysis with missing data).
    share_missing_item : Series
        Per item, the share of rows missing it.
    share_missing_row : Series
        Per row, the share of items it misses.
    rows_by_share : DataFrame
        How many rows miss 0 items, 1 item, …: columns ``items_missing``, ``rows``, ``share``.
    patterns : DataFrame
        The most frequent missing-data patterns: ``pattern`` (1 = observed, item order),
        ``missing_items`` (names, shortened), ``n`` and ``share``, most frequent first.
    n_patterns : int
        Number of distinct patterns.
    coverage : DataFrame
        Items × items: share of the non-empty rows observing both items (diagonal: the item).
        With groups, the minimum over groups.
    coverage_by_group : dict of str to DataFrame
        Per group (only when ``group`` was given).
    low_coverage : DataFrame
        Pairs (and group) with coverage below 0.10: ``group``, ``item1``, ``item2``, ``coverage``.
    little : LittleMCAR or None
        Little's test on all groups pooled (None when there are no missing values or too few rows).
    diagnostics : tuple of Diagnostic
    """

    n_rows: int
    n_empty: int
    share_missing_item: pd.Series
    share_missing_row: pd.Series
    rows_by_share: pd.DataFrame
    patterns: pd.DataFrame
    n_patterns: int
    coverage: pd.DataFrame
    coverage_by_group: dict[str, pd.DataFrame]
    low_coverage: pd.DataFrame
    little: LittleMCAR | None
    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)

    _title = "Missing-data diagnostics"

    def to_frame(self) -> pd.DataFrame:
        """Per item: share missing and the lowest coverage with any other item."""
        cov = self.coverage.to_numpy(dtype=float).copy()
        np.fill_diagonal(cov, np.nan)
        low = np.nanmin(cov, axis=1) if cov.shape[0] > 1 else np.full(cov.shape[0], np.nan)
        return pd.DataFrame({"share_missing": self.share_missing_item, "min_coverage": low},
                            index=self.share_missing_item.index)

    def _tables(self) -> dict[str, pd.DataFrame]:
        return {"items": self.to_frame(), "patterns": self.patterns, "rows by number missing": self.rows_by_share}

    def summary_line(self) -> str:
        """One sentence for reports."""
        tot = float(self.share_missing_item.mean()) if len(self.share_missing_item) else 0.0
        text = (f"{tot:.1%} of item responses missing; {self.n_patterns} missing-data pattern(s); "
                f"{self.n_empty} row(s) with every item missing")
        if self.little is not None:
            text += (f"; Little's MCAR test χ²({self.little.df}) = {self.little.chisq:.2f}, "
                     f"p = {self.little.pvalue:.3g}")
        return text


def _coverage(obs: np.ndarray, names: list[str]) -> pd.DataFrame:
    o = obs.astype(float)
    n = max(o.shape[0], 1)
    return pd.DataFrame(o.T @ o / n, index=names, columns=names)


def _coverage_from_patterns(pg: PatternGroups, labels: np.ndarray | None, n_labels: int,
                            names: list[str]) -> list[pd.DataFrame]:
    """:func:`_coverage` of the non-empty rows of each label, from the pattern counts per label.

    Σ_rows o oᵀ = Σ_j c_jg π_j π_jᵀ (π_j the 0/1 pattern, c_jg its rows with label g): integer
    sums, exact, so equal to the product over the rows bit for bit — without a pass over them.
    """
    m = len(pg.counts)
    if labels is None:
        counts = pg.counts.reshape(m, 1).astype(np.int64)
    else:
        counts = np.bincount(pg.row_pattern * n_labels + labels, minlength=m * n_labels).reshape(m, n_labels)
    counts = np.where(pg.patterns.any(axis=1)[:, None], counts, 0)  # rows answering nothing are left out
    P = pg.patterns.astype(float)
    out = []
    for g in range(counts.shape[1]):
        n = max(int(counts[:, g].sum()), 1)
        out.append(pd.DataFrame((P * counts[:, g:g + 1]).T @ P / n, index=names, columns=names))
    return out


def missing_data_diagnostics(
    data: pd.DataFrame,
    items: Sequence[str] | None = None,
    group: str | None = None,
    *,
    top: int = 10,
    little: bool = True,
) -> MissingDataDiagnostics:
    """Missing-data patterns, shares missing, covariance coverage and Little's MCAR test.

    Parameters
    ----------
    data : DataFrame
        Item responses (NaN = missing).
    items : sequence of str, optional
        Columns to examine (default: all but ``group``).
    group : str, optional
        Grouping column: coverage is computed per group (a pair never observed together in
        a group, or an item missing in every row of a group, is warned naming both).
    top : int
        Number of most frequent patterns kept in ``patterns``.
    little : bool
        Run Little's test (on all rows pooled).

    Returns
    -------
    MissingDataDiagnostics

    Validated: coverage as lavaan's ``lavInspect(fit, "coverage")`` and patterns as
    ``fit@Data@Mp`` (``tests/reference/missing/*.json``: ``groups[g].coverage``,
    ``patterns``); Little's test against ``little_mcar.json``.
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    cols = [c for c in data.columns if c != group] if items is None else list(items)
    absent = [c for c in cols if c not in data.columns]
    if absent:
        raise DataError(f"item(s) {', '.join(map(repr, absent[:10]))} are not columns of the data")
    if group is not None and group not in data.columns:
        raise DataError(f"grouping variable {quote(group)} is not a column of the data")
    names = [str(c) for c in cols]
    diags: list[Diagnostic] = []
    block = data.loc[:, cols]
    if not all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in block.dtypes):
        block = block.apply(pd.to_numeric, errors="coerce")
    X = block.to_numpy(dtype=float)
    del block
    obs = ~np.isnan(X)
    n, p = X.shape
    # items missing per row, once: the 0/1 sums are whole numbers, so (p − k)/p is obs.mean(axis=1) bit for bit
    k_missing = p - np.count_nonzero(obs, axis=1) if p else np.zeros(n, dtype=np.intp)
    empty = k_missing == p
    share_item = pd.Series(1.0 - obs.mean(axis=0) if n else np.zeros(p), index=names, name="share_missing")
    share_row = pd.Series(1.0 - (p - k_missing) / p if p else np.zeros(n), index=data.index, name="share_missing")
    counts = pd.Series(k_missing).value_counts().sort_index()
    rows_by_share = pd.DataFrame({"items_missing": counts.index.astype(int), "rows": counts.to_numpy(int),
                                  "share": counts.to_numpy(float) / max(n, 1)})
    _groups = pattern_groups(obs) if n else None
    pats, cnt = (_groups.patterns, _groups.counts) if n else (np.zeros((0, p), bool), np.zeros(0, int))
    shown = []
    for pat, c in zip(pats[:top], cnt[:top]):
        miss = [v for v, b in zip(names, pat) if not b]
        label = ", ".join(miss[:6]) + (f" … (+{len(miss) - 6})" if len(miss) > 6 else "")
        shown.append(("".join("1" if b else "0" for b in pat), label or "(none)", int(c), float(c) / n))
    patterns = pd.DataFrame(shown, columns=["pattern", "missing_items", "n", "share"])
    keep = ~empty
    by_group: dict[str, pd.DataFrame] = {}
    low_rows = []
    if group is None:
        cov = _coverage(obs[keep], names) if _groups is None else _coverage_from_patterns(_groups, None, 1, names)[0]
        blocks = [("all", cov)]
    else:
        from psychometrics._groups import group_label

        codes, uniques = pd.factorize(data[group], use_na_sentinel=False)  # label each distinct value once
        lab_of_value, lab_names = pd.factorize(np.array([str(group_label(v)) for v in uniques], dtype=object))
        row_lab = lab_of_value[codes]  # one integer label per row, not a string compared per group
        kept = row_lab[keep]
        present, first = np.unique(kept, return_index=True)
        per_label = _coverage_from_patterns(_groups, row_lab, len(lab_names), names) if len(kept) else []
        for li in present[np.argsort(first)]:  # groups in order of their first row, as before
            by_group[str(lab_names[li])] = per_label[li]
        if not by_group:
            raise DataError("missing-data diagnostics: no row has an answer to any of the items "
                            f"({name_list(names)})")
        cov = pd.concat(list(by_group.values())).groupby(level=0, sort=False).min().loc[names, names]
        blocks = list(by_group.items())
    for lab, c in blocks:
        where = f" in group {quote(lab)}" if group is not None else ""
        C = c.to_numpy()
        none = [v for v, d in zip(names, np.diag(C)) if d == 0]
        if none:
            record(diags, DataQualityWarning, f"item(s) {', '.join(map(repr, none[:10]))} are missing in every "
                   f"row{where}; no statistic involving them can be estimated there", stacklevel=3)
        for a, b in zip(*np.triu_indices(p, 1)):
            if C[a, b] < COVERAGE_WARN:
                low_rows.append((lab, names[a], names[b], float(C[a, b])))
    low = pd.DataFrame(low_rows, columns=["group", "item1", "item2", "coverage"])
    if len(low):
        zero = low[low["coverage"] == 0]
        text = ", ".join(f"{r.item1}–{r.item2} ({r.coverage:.2f}{'' if group is None else ', ' + r.group})"
                         for r in low.head(6).itertuples())
        record(diags, DataQualityWarning,
               f"covariance coverage below {COVERAGE_WARN:.2f} for {len(low)} item pair(s): {text}"
               f"{' …' if len(low) > 6 else ''}"
               + (f"; {len(zero)} pair(s) are never observed together (coverage 0): pairwise and FIML "
                  "estimates of their association do not exist" if len(zero) else ""), stacklevel=3)
    lt = None
    if little and obs[keep].size and not obs[keep].all() and keep.sum() > p:
        try:
            if keep.all():  # the patterns found above are those of Little's rows: not grouped again
                lt = _little(X, names, tol=1e-12, pg=_groups)
            else:
                lt = little_mcar(pd.DataFrame(X[keep], columns=names, copy=False))
        except (DataError, np.linalg.LinAlgError) as exc:
            record(diags, DataQualityWarning, f"Little's MCAR test not computed: {exc}", stacklevel=3)
    return MissingDataDiagnostics(int(n), int(empty.sum()), share_item, share_row, rows_by_share, patterns,
                                  int(len(pats)), cov, by_group, low, lt, tuple(diags))
