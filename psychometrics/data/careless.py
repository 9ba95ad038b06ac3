"""Careless-responding screens: long strings, Mahalanobis distance, even–odd consistency.

Each screen is a function of the response matrix alone; :func:`careless_screens`
combines them into indices and flags per row. Rows are only *flagged*, never removed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from psychometrics._linalg import side_thread, single_thread_blas
from psychometrics._validation import dependent_items, name_list
from psychometrics.data.patterns import distinct_rows, pattern_groups
from psychometrics.exceptions import DataQualityWarning, Diagnostic, record
from psychometrics._text import quote

if TYPE_CHECKING:  # pragma: no cover
    from psychometrics.scale import Scale


#: rows per block of the screens: every row's index is computed within its block (the same formula
#: row by row), so the temporaries stay in cache instead of being n-long arrays
_BLOCK = 16_384
#: from this many incomplete rows on, their S_oo⁻¹ come from the full inverse (Schur complement: an r × r
#: solve per pattern) instead of a stacked inverse of every S_oo; the same matrices to rounding (≈ 1e-15),
#: and below it (the demo: 400 rows) the numbers computed before, bit for bit. 2,000: at 10⁵ rows of the
#: demo study (43,000 incomplete rows, 1,900 patterns) the stacked path took 0.4 s, the Schur path 0.1 s
_SCHUR_ROWS = 2_000
#: from this many rows on, a measure whose answer rows repeat (few items: 5–10) gets its screens computed
#: once per distinct row and spread to the rows (every index is a function of the row; D²'s mean and
#: covariance still come from all complete rows): the same numbers, to the rounding of the block products
_DISTINCT_ROWS = 50_000
#: from this many rows on, outside a pipeline lane, Mahalanobis D² runs on a second thread beside longstring
#: and even–odd (``_linalg.side_thread``; the same numbers)
SIDE_ROWS = 100_000
#: from this many rows on, D²'s χ² tail for whole df ≤ 200 and D² ≤ 700 is its closed form (:func:`_chi2_tail`,
#: ≈ 5× faster than ``chdtrc`` over 10⁶ rows; equal to it within 2e-13 relative, and closer to the exact
#: value); below it (the demo) ``chdtrc`` as before, bit for bit
_TAIL_ROWS = 50_000


def longstring(raw: pd.DataFrame) -> pd.Series:
    """Longest run of identical consecutive answers per row (Johnson, 2005).

    Items are taken in the order of the columns (the order respondents saw them),
    on the raw answers (before reverse keying), as ``careless::longstring`` does.
    A missing answer ends a run and does not start one; a row with no answers
    has a longest run of 0.

    References
    ----------
    Johnson, J. A. (2005). Ascertaining the validity of individual protocols from
    web-based personality inventories. *Journal of Research in Personality, 39*, 103–129.
    """
    x = raw.to_numpy(dtype=float)
    n, k = x.shape
    dtype = np.int16 if k < 2 ** 15 else np.int64  # a run is at most k long: small integers, less memory traffic
    best = np.zeros(n, dtype=dtype)
    for s in range(0, n, _BLOCK):  # row blocks: the item columns of a block are read from cache, not memory
        xt = np.ascontiguousarray(x[s:s + _BLOCK].T)  # items × rows: each item's answers contiguous
        run = (~np.isnan(xt[0])).astype(dtype) if k else np.zeros(0, dtype=dtype)
        top = best[s:s + _BLOCK]
        if k:
            np.maximum(top, run, out=top)
        for j in range(1, k):
            # a run continues where the answer equals the previous one (NaN equals nothing, so both are
            # answered), else restarts at 1 if answered, 0 if not: run · same + answered
            run *= xt[j] == xt[j - 1]
            run += ~np.isnan(xt[j])
            np.maximum(top, run, out=top)
    return pd.Series(best.astype(np.int64), index=raw.index, name="longstring")


def mahalanobis(scored: pd.DataFrame, min_share: float = 0.5, *,
                distinct: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Squared Mahalanobis distance of each row and its χ² upper-tail p-value.

    .. math:: D^2_i = (x_i - \\bar x)^\\top S^{-1} (x_i - \\bar x), \\qquad p_i = P(\\chi^2_{k_i} > D^2_i)

    :math:`\\bar x` and :math:`S` (denominator n − 1) are computed from the complete
    cases. For a complete row, :math:`k_i` is the number of items and the result is
    exactly ``careless::mahad(x, na.rm = TRUE)`` (``psych::outlier`` on the complete
    cases; validated against ``tests/reference/careless``). Unlike careless, rows with
    missing answers are screened too when at least ``min_share`` of the items are
    answered: D² uses the observed items only (the matching sub-vector of
    :math:`\\bar x` and sub-matrix of :math:`S`) and :math:`k_i` is their number;
    rows with fewer answers get NaN. Reverse keying does not change D² (it is affine).

    ``distinct``: ``(first, inverse)`` of :func:`~psychometrics.data.patterns.distinct_rows` — D² and p are
    computed for the rows ``first`` only (x̄ and S still from all complete rows) and spread by ``inverse``.

    Returns
    -------
    d2, p, df : pandas.Series
        All NaN when the covariance matrix of the complete cases is singular (too few
        complete rows, or an item without variance).
    """
    with single_thread_blas(numpy_only=True):  # small products per block and pattern: a second BLAS thread only adds hand-off cost
        return _mahalanobis(scored, min_share, distinct)


def _mahalanobis(scored: pd.DataFrame, min_share: float, distinct: tuple[np.ndarray, np.ndarray] | None = None
                 ) -> tuple[pd.Series, pd.Series, pd.Series]:
    x = scored.to_numpy(dtype=float)  # a view of a float64 block (no copy)
    observed = ~np.isnan(x)
    mean, cov = _complete_moments(x, observed.all(axis=1))
    if distinct is not None:
        d2, p, dof = _d2_and_tail(x[distinct[0]], min_share, mean, cov)
        d2, p, dof = d2[distinct[1]], p[distinct[1]], dof[distinct[1]]
    else:
        d2, p, dof = _d2_and_tail(x, min_share, mean, cov, observed)
    return (pd.Series(d2, index=scored.index, name="mahalanobis_d2"),
            pd.Series(p, index=scored.index, name="mahalanobis_p"),
            pd.Series(dof, index=scored.index, name="mahalanobis_df"))


def _d2_and_tail(x: np.ndarray, min_share: float, mean: np.ndarray | None, cov: np.ndarray | None,
                 observed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """D², its χ² upper-tail p and df of every row of ``x`` given the complete rows' mean and covariance
    (``observed``: ``~np.isnan(x)`` when already at hand)."""
    from scipy import special  # chi2.sf(x, df) is special.chdtrc(df, x); scipy.stats' import alone takes seconds

    n, k = x.shape
    observed = ~np.isnan(x) if observed is None else observed
    n_obs = observed.sum(axis=1)
    complete = n_obs == k
    d2 = np.full(n, np.nan)
    dof = np.where(n_obs >= max(1, math.ceil(min_share * k)), n_obs, 0).astype(float)
    if mean is not None:
        eig = np.linalg.eigvalsh(cov)
        if eig[0] > 1e-10 * max(eig[-1], 1e-300):
            inv = np.linalg.inv(cov)
            for s in range(0, n, _BLOCK):  # the complete rows of each block: the product stays in cache
                c = complete[s:s + _BLOCK]
                dev = x[s:s + _BLOCK][c] - mean
                d2[s:s + _BLOCK][c] = np.einsum("ij,ij->i", dev @ inv, dev)
            # Incomplete rows, one missingness pattern at a time.
            partial = ~complete & (dof > 0)
            if partial.any():
                rows = np.flatnonzero(partial)
                d2[rows] = _partial_d2(x, rows, observed[rows], mean, cov)
    dof = np.where(np.isnan(d2), np.nan, dof)
    if n >= _TAIL_ROWS:
        p = _chi2_tail(dof, d2)
    else:
        p = special.chdtrc(np.where(np.isnan(dof), 1.0, dof), d2)
    p = np.where(np.isnan(d2), np.nan, p)
    return d2, p, dof


def _chi2_tail(dof: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The χ² upper tail Q(x; k) = ``chdtrc(k, x)`` of every row (NaN df: as df 1), by its closed form
    where k is a whole number in 1…200 held by more than 1,000 rows and 0 ≤ x ≤ 700; the other rows by
    ``chdtrc``.

    With t = x/2 and m = ⌊k/2⌋ (Abramowitz & Stegun 26.4.4–26.4.5): for even k,
    Q = e⁻ᵗ Σ_{j<m} tʲ/j!; for odd k, Q = erfc(√t) + e⁻ᵗ √t Σ_{j<m} tʲ/Γ(j + 3/2). Every term is
    positive (no cancellation), summed by Horner's rule; e⁻ᵗ does not underflow for t ≤ 350. Equal
    to ``chdtrc`` within 2e-13 relative over that range — against 40-digit values (mpmath) the
    closed form is the closer of the two (``tests/test_data_careless.py``).
    """
    from scipy import special

    k = np.where(np.isnan(dof), 1.0, dof)
    p = np.empty_like(x)
    done = np.zeros(len(x), dtype=bool)
    whole = (k >= 1) & (k <= 200) & (k == np.floor(k))
    counts = np.bincount(k[whole].astype(np.int64), minlength=201) if whole.any() else np.zeros(201, np.int64)
    inside = whole & (x >= 0) & (x <= 700)
    for kk in np.flatnonzero(counts > 1_000):
        rows = inside & (k == kk)
        t = x[rows] / 2
        m = int(kk) // 2
        if kk % 2 == 0:
            s = np.ones_like(t)
            for j in range(m - 1, 0, -1):  # 1 + t/1 (1 + t/2 (1 + … (1 + t/(m − 1))))
                s = 1.0 + s * (t / j)
            q = np.exp(-t) * s
        else:
            s = np.ones_like(t)
            for j in range(m - 1, 0, -1):  # Σ_{j<m} tʲ Γ(3/2)/Γ(j + 3/2) = 1 + t/(3/2) (1 + t/(5/2) (1 + …))
                s = 1.0 + s * (t / (j + 0.5))
            q = special.erfc(np.sqrt(t)) + np.exp(-t) * np.sqrt(t) * s / special.gamma(1.5) if m else special.erfc(np.sqrt(t))
        p[rows] = q
        done |= rows
    rest = ~done
    if rest.any():
        p[rest] = special.chdtrc(k[rest], x[rest])
    return p


def _complete_moments(x: np.ndarray, complete: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Mean and covariance (divisor n − 1) of the complete rows, block by block (no copy of them).

    The mean's column sums, and for whole-number answers every sum of the cross-products, are
    integers below 2⁵³ and so exact in any order: the mean is the one of ``x[complete].mean(0)``
    bit for bit; the centred cross-products Σ (x − x̄)(x − x̄)ᵀ are summed per block (the same
    sum as one product over the complete rows, in another order). ``(None, None)`` with no more
    complete rows than items.
    """
    n, k = x.shape
    n_c = int(complete.sum())
    if n_c <= k:
        return None, None
    total = np.zeros(k)
    for s in range(0, n, _BLOCK):
        total += x[s:s + _BLOCK][complete[s:s + _BLOCK]].sum(axis=0)
    mean = total / n_c
    cross = np.zeros((k, k))
    for s in range(0, n, _BLOCK):
        dev = x[s:s + _BLOCK][complete[s:s + _BLOCK]] - mean
        cross += dev.T @ dev
    return mean, cross / (n_c - 1)


def _partial_d2(x: np.ndarray, rows: np.ndarray, observed: np.ndarray, mean: np.ndarray,
                cov: np.ndarray) -> np.ndarray:
    """D² of the incomplete ``rows`` of ``x`` on their observed items: (x_o − x̄_o)ᵀ S_oo⁻¹ (x_o − x̄_o).

    ``observed``: ``~np.isnan(x[rows])``. The rows are grouped by missing-data pattern (one
    integer key per row, :func:`~psychometrics.data.patterns.pattern_groups`). Below ``_SCHUR_ROWS``
    incomplete rows (the demo) each pattern's S_oo⁻¹ is one matrix of a stack, embedded in a k × k
    matrix with zeros at the missing items (as computed before, bit for bit); from it on
    :func:`_schur_d2` takes every form from the full inverse (no per-pattern product).
    """
    k = x.shape[1]
    pg = pattern_groups(observed)  # patterns most frequent first; rows grouped by pattern
    if len(rows) < _SCHUR_ROWS:  # as before: one stacked inverse of the S_oo per number of observed items
        inv = np.zeros((len(pg.counts), k, k))
        n_obs = pg.patterns.sum(axis=1)
        for q in np.unique(n_obs):
            which = np.flatnonzero(n_obs == q)
            o = np.nonzero(pg.patterns[which])[1].reshape(len(which), q)  # observed items of each pattern
            inv[which[:, None, None], o[:, :, None], o[:, None, :]] = np.linalg.inv(cov[o[:, :, None], o[:, None, :]])
        return _stacked_products(x[rows], observed, pg, mean, inv)
    return _schur_d2(x, rows, observed, pg, mean, np.linalg.inv(cov))


def _schur_d2(x: np.ndarray, rows: np.ndarray, observed: np.ndarray, pg, mean: np.ndarray, full: np.ndarray
              ) -> np.ndarray:
    """D² of the incomplete ``rows`` from the full inverse P = S⁻¹ without forming any S_oo⁻¹.

    With the deviations d set to 0 at the missing items m and u = P d (so u_m = P_mo d_o), the
    Schur complement S_oo⁻¹ = P_oo − P_om P_mm⁻¹ P_mo gives
    d_oᵀ S_oo⁻¹ d_o = dᵀ P d − u_mᵀ P_mm⁻¹ u_m: one product with P for all rows (in blocks), and per
    row an r × r form (r = items missing, mostly 1–3) with its pattern's P_mm⁻¹ (one small inverse
    per pattern, batched by r) — no loop over the thousands of patterns. The same quadratic forms
    as S_oo⁻¹ per pattern to rounding (≈ 1e-15 relative; ``tests/test_data_careless.py``).
    """
    k = x.shape[1]
    n_miss = k - pg.patterns.sum(axis=1)
    pinv: dict[int, np.ndarray] = {}  # per r: P_mm⁻¹ of every pattern with r missing (zeros elsewhere)
    miss_idx: dict[int, np.ndarray] = {}
    for r in np.unique(n_miss):
        which = np.flatnonzero(n_miss == r)
        m = np.nonzero(~pg.patterns[which])[1].reshape(len(which), r)
        stack = np.zeros((len(pg.counts), r, r))
        stack[which] = np.linalg.inv(full[m[:, :, None], m[:, None, :]])
        pinv[int(r)] = stack
        idx = np.zeros((len(pg.counts), r), dtype=np.intp)
        idx[which] = m
        miss_idx[int(r)] = idx
    out = np.empty(len(rows))
    row_r = n_miss[pg.row_pattern]
    for s in range(0, len(rows), _BLOCK):
        blk = slice(s, s + _BLOCK)
        dev = x[rows[blk]] - mean
        dev[~observed[blk]] = 0.0
        u = dev @ full
        q = np.einsum("ij,ij->i", u, dev)
        pat, rr = pg.row_pattern[blk], row_r[blk]
        for r in np.unique(rr):
            sel = np.flatnonzero(rr == r)
            pj = pat[sel]
            w = np.take_along_axis(u[sel], miss_idx[int(r)][pj], axis=1)
            q[sel] -= np.einsum("ij,ijl,il->i", w, pinv[int(r)][pj], w)
        out[blk] = q
    return out


def _stacked_products(x: np.ndarray, observed: np.ndarray, pg, mean: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """The quadratic forms as computed before (below ``_SCHUR_ROWS``; the demo's numbers bit for bit):
    patterns with at least 64 rows one product each, the rest with their inverses gathered per row."""
    out = np.empty(len(x))
    big = int(np.searchsorted(-pg.counts, -64, side="right"))  # patterns with ≥ 64 rows come first
    for j in range(big):
        r = pg.rows(j)
        dev = np.where(observed[r], x[r] - mean, 0.0)
        out[r] = np.einsum("ij,ij->i", dev @ inv[j], dev)
    for s in range(int(pg.bounds[big]), len(x), 8_192):
        r = pg.order[s:s + 8_192]
        dev = np.where(observed[r], x[r] - mean, 0.0)
        out[r] = np.einsum("ij,ij->i", np.einsum("ijl,il->ij", inv[pg.row_pattern[r]], dev), dev)
    return out


def evenodd(scored: pd.DataFrame, scale: Scale) -> pd.Series:
    """Even–odd consistency per row (Johnson, 2005; ``careless::evenodd``).

    Within each subscale, in specification order, the mean of the odd-numbered items
    (1st, 3rd, …) and the mean of the even-numbered items (2nd, 4th, …) are taken
    (ignoring missing answers, on reverse-keyed scores). Across subscales the
    person's odd means are correlated with the even means (subscales where either
    half is missing are skipped), and the correlation is Spearman–Brown corrected,
    :math:`r_{SB} = 2r / (1 + r)`, bounded below by −1.

    Higher values mean *more* consistent answering (Johnson's orientation);
    ``careless::evenodd`` ≥ 1.2.0 returns the negation, ``-r_SB``. Unlike careless we
    require at least three subscales with both halves answered (with two, r is
    always ±1) and return NaN otherwise, and NaN when either half has no variance
    across subscales (as careless does).
    """
    return _evenodd_and_pairs(scored, scale)[0]


def _halves(scored: pd.DataFrame, scale: Scale) -> list[tuple[list[int], list[int]]]:
    """Column positions of the odd and the even half of every subscale with at least two items."""
    cols = {c: j for j, c in enumerate(scored.columns)}
    halves = []
    for s in scale.subscale_ids:
        idx = [cols[i] for i in scale.items_of(s)]
        if len(idx) >= 2:
            halves.append((idx[0::2], idx[1::2]))
    return halves


def _evenodd_and_pairs(scored: pd.DataFrame, scale: Scale) -> tuple[pd.Series, pd.Series]:
    """:func:`evenodd` and :func:`_evenodd_pairs` from one pass over the rows, in row blocks.

    The half means of every subscale at once: sums and counts of the answered items by two
    matrix products with 0/1 membership matrices (the nanmean of each half, the sums in another
    order); a half is answered when its count is positive. Every row's coefficient is computed
    within its block by the same formula, so the temporaries stay in cache.
    """
    with single_thread_blas(numpy_only=True):
        return _evenodd_blocks(scored, scale)


def _evenodd_blocks(scored: pd.DataFrame, scale: Scale) -> tuple[pd.Series, pd.Series]:
    x = scored.to_numpy(dtype=float)
    n = len(x)
    halves = _halves(scored, scale)
    h = len(halves)
    A = np.zeros((x.shape[1], 2 * h))
    for j, (odd, even) in enumerate(halves):
        A[odd, j] = 1.0
        A[even, h + j] = 1.0
    sb = np.full(n, np.nan)
    pairs = np.zeros(n, dtype=np.int64)
    for s in range(0, n, _BLOCK):
        blk = x[s:s + _BLOCK]
        obs = ~np.isnan(blk)
        counts = obs.astype(float) @ A
        pairs[s:s + _BLOCK] = ((counts[:, :h] > 0) & (counts[:, h:] > 0)).sum(axis=1)
        if h >= 3:
            with np.errstate(invalid="ignore", divide="ignore"):
                means = (np.where(obs, blk, 0.0) @ A) / counts  # 0/0 = NaN: no answer
            sb[s:s + _BLOCK] = _spearman_brown_r(means[:, :h], means[:, h:])
    return (pd.Series(sb, index=scored.index, name="evenodd"),
            pd.Series(pairs, index=scored.index, name="evenodd_pairs"))


def _spearman_brown_r(o: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Per row: the Spearman–Brown corrected correlation of the odd and even half means over the
    subscales where both are answered (NaN below three such subscales or without variance).

    With fewer than 8 subscales the rows are summed column by column on the transposed halves (one
    vector addition per subscale instead of a short reduction per row): numpy adds fewer than 8
    values in order from 0, so ``0 + a₀ + a₁ + …`` is ``sum(axis=1)`` bit for bit
    (``tests/test_data_careless.py``); from 8 on numpy sums pairwise, so ``sum(axis=1)`` as before.
    """
    if o.shape[1] < 8:
        o, e = np.ascontiguousarray(o.T), np.ascontiguousarray(e.T)  # subscales × rows
        ax, total, col = 0, _ordered_sum, (lambda v: v)
    else:
        ax, total, col = 1, (lambda a: a.sum(axis=1)), (lambda v: v[:, None])
    mask = ~np.isnan(o) & ~np.isnan(e)
    m = mask.sum(axis=ax)
    with np.errstate(invalid="ignore", divide="ignore"):
        om = total(np.where(mask, o, 0)) / m
        em = total(np.where(mask, e, 0)) / m
        do = np.where(mask, o - col(om), 0)
        de = np.where(mask, e - col(em), 0)
        sxx, syy, sxy = total(do * do), total(de * de), total(do * de)
        # Zero variance → NaN, as R's cor() gives.
        r = np.where((sxx > 0) & (syy > 0), sxy / np.sqrt(sxx * syy), np.nan)
        r = np.clip(r, -1.0, 1.0)
        sb = np.where(r <= -1.0 / 3.0, -1.0, 2 * r / (1 + r))
    return np.where(m >= 3, sb, np.nan)


def _ordered_sum(a: np.ndarray) -> np.ndarray:
    """Σ over the rows of ``a`` (subscales × rows) in order from 0: 0 + a₀ + a₁ + … (as numpy's reduction
    of fewer than 8 values; the 0 turns a sum of −0.0 into +0.0 as there)."""
    s = a[0] + 0.0
    for j in range(1, len(a)):
        s += a[j]
    return s


def _evenodd_pairs(scored: pd.DataFrame, scale: Scale) -> pd.Series:
    """Number of subscales with both an odd and an even half answered, per row."""
    return _evenodd_and_pairs(scored, scale)[1]


def _spread(values: pd.Series, inverse: np.ndarray, index: pd.Index) -> pd.Series:
    """The per-distinct-row ``values`` as one value per row (``inverse``: each row's distinct row)."""
    return pd.Series(values.to_numpy()[inverse], index=index, name=values.name)


def careless_screens(
    raw: pd.DataFrame,
    scored: pd.DataFrame,
    scale: Scale,
    *,
    longstring_max: int | None = None,
    mahalanobis_alpha: float = 0.001,
    evenodd_min: float = 0.30,
    evenodd_min_pairs: int = 6,
    diagnostics: list[Diagnostic] | None = None,
    where: str = "",
) -> pd.DataFrame:
    """Careless-responding indices and flags per row (flags only; nothing is removed).

    Columns
    -------
    longstring, longstring_flag
        :func:`longstring`; flagged when the run is at least ``longstring_max``
        (default: half the items, rounded up).
    mahalanobis_d2, mahalanobis_p, mahalanobis_df, mahalanobis_flag
        :func:`mahalanobis` (df = items used); flagged when ``p < mahalanobis_alpha`` (default .001,
        Tabachnick & Fidell's multivariate-outlier criterion).
    evenodd, evenodd_pairs, evenodd_flag
        :func:`evenodd` and the number of subscales it used; flagged when the
        coefficient is below ``evenodd_min`` (default .30; Johnson, 2005) *and* it rests
        on at least ``evenodd_min_pairs`` subscales (default 6). A correlation over
        three to five points is too noisy to flag anyone — attentive respondents
        often fall below .30 — so with few subscales the index is reported but not
        flagged (Johnson used 30 facet scales).
    flagged
        Any of the three flags.

    References
    ----------
    Curran, P. G. (2016). Methods for the detection of carelessly invalid responses in
    survey data. *Journal of Experimental Social Psychology, 66*, 4–19.
    Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey data.
    *Psychological Methods, 17*, 437–455.
    """
    diagnostics = [] if diagnostics is None else diagnostics
    k = raw.shape[1]
    limit = longstring_max if longstring_max is not None else max(2, math.ceil(k / 2))
    distinct = distinct_rows(scored.to_numpy(dtype=float)) if len(scored) >= _DISTINCT_ROWS else None
    with side_thread(len(scored), SIDE_ROWS) as submit:  # D² beside the other two (10⁶ rows: ≈ 1.0 and 0.6 s)
        d2_later = submit(mahalanobis, scored, distinct=distinct) if submit is not None else None
        if distinct is None:
            ls = longstring(raw)
            eo, pairs = _evenodd_and_pairs(scored, scale)
        else:  # every index is a function of the row: once per distinct row (raw rows repeat with the scored ones)
            first, inverse = distinct
            ls = _spread(longstring(raw.iloc[first]), inverse, raw.index)
            eo, pairs = (_spread(v, inverse, raw.index) for v in _evenodd_and_pairs(scored.iloc[first], scale))
        d2, p, dof = d2_later.result() if d2_later is not None else mahalanobis(scored, distinct=distinct)
    if len(raw) and d2.isna().all():
        rows = scored.dropna()
        complete = len(rows)
        unanswered = [str(c) for c in scored.columns if scored[c].isna().all()]
        which = f"; items {name_list(unanswered)} have no answers" if unanswered else ""
        if complete > k:
            dep = dependent_items(rows.cov().to_numpy(), [str(c) for c in scored.columns])
            which = f"; items {name_list(dep)} are constant or linearly dependent" if dep else ""
        record(diagnostics, DataQualityWarning,
               f"{where}: Mahalanobis D² not computed for scale {quote(scale.id)}: the covariance matrix of the "
               f"{complete} complete rows is singular (needs more than {k} complete rows and no constant item"
               f"{which})", stacklevel=5)
    out = pd.DataFrame(
        {
            "longstring": ls,
            "longstring_flag": ls >= limit,
            "mahalanobis_d2": d2,
            "mahalanobis_p": p,
            "mahalanobis_df": dof,
            "mahalanobis_flag": (p < mahalanobis_alpha).fillna(False).astype(bool),
            "evenodd": eo,
            "evenodd_pairs": pairs,
            "evenodd_flag": ((eo < evenodd_min) & (pairs >= evenodd_min_pairs)).fillna(False).astype(bool),
        },
        index=raw.index,
    )
    out["flagged"] = out["longstring_flag"] | out["mahalanobis_flag"] | out["evenodd_flag"]
    return out
