"""Careless-responding screens: long strings, Mahalanobis distance, even–odd consistency.

Each screen is a function of the response matrix alone; :func:`careless_screens`
combines them into indices and flags per row. Rows are only *flagged*, never removed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from psychometrics._validation import dependent_items, name_list
from psychometrics.data.patterns import pattern_groups
from psychometrics.exceptions import DataQualityWarning, Diagnostic, record
from psychometrics._text import quote

if TYPE_CHECKING:  # pragma: no cover
    from psychometrics.scale import Scale


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
    run = np.zeros(n, dtype=dtype)
    for j in range(k):
        present = ~np.isnan(x[:, j])
        same = present & (run > 0) & (x[:, j] == x[:, j - 1]) if j else np.zeros(n, dtype=bool)
        run = np.where(same, run + 1, present.astype(dtype))  # continued run, else 1 if answered, else 0
        np.maximum(best, run, out=best)
    return pd.Series(best.astype(np.int64), index=raw.index, name="longstring")


def mahalanobis(scored: pd.DataFrame, min_share: float = 0.5) -> tuple[pd.Series, pd.Series, pd.Series]:
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

    Returns
    -------
    d2, p, df : pandas.Series
        All NaN when the covariance matrix of the complete cases is singular (too few
        complete rows, or an item without variance).
    """
    from scipy import special  # chi2.sf(x, df) is special.chdtrc(df, x); scipy.stats' import alone takes seconds

    x = scored.to_numpy(dtype=float)
    n, k = x.shape
    observed = ~np.isnan(x)
    n_obs = observed.sum(axis=1)
    complete = n_obs == k
    d2 = np.full(n, np.nan)
    dof = np.where(n_obs >= max(1, math.ceil(min_share * k)), n_obs, 0).astype(float)
    xc = x[complete]
    if len(xc) > k:
        mean = xc.mean(axis=0)
        centred_c = xc
        centred_c -= mean  # in place: xc is a copy already (one n × k temporary, not three)
        cov = centred_c.T @ centred_c / (len(xc) - 1)
        eig = np.linalg.eigvalsh(cov)
        if eig[0] > 1e-10 * max(eig[-1], 1e-300):
            inv = np.linalg.inv(cov)
            d2c = np.empty(len(xc))
            for s in range(0, len(xc), 65_536):  # blocks: the product stays in cache
                blk = centred_c[s:s + 65_536]
                d2c[s:s + 65_536] = np.einsum("ij,ij->i", blk @ inv, blk)
            d2[complete] = d2c
            del xc, centred_c
            # Incomplete rows, one missingness pattern at a time.
            partial = ~complete & (dof > 0)
            if partial.any():
                rows = np.flatnonzero(partial)
                d2[rows] = _partial_d2(x[rows], observed[rows], mean, cov)
    dof = np.where(np.isnan(d2), np.nan, dof)
    p = special.chdtrc(np.where(np.isnan(dof), 1.0, dof), d2)
    p = np.where(np.isnan(d2), np.nan, p)
    return (pd.Series(d2, index=scored.index, name="mahalanobis_d2"),
            pd.Series(p, index=scored.index, name="mahalanobis_p"),
            pd.Series(dof, index=scored.index, name="mahalanobis_df"))


_PATTERN_ROWS = 64  # a pattern with this many rows gets its own matrix product in _partial_d2


def _partial_d2(x: np.ndarray, observed: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """D² of incomplete rows on their observed items: (x_o − x̄_o)ᵀ S_oo⁻¹ (x_o − x̄_o) per row.

    The rows are grouped by missing-data pattern (one integer key per row,
    :func:`~psychometrics.data.patterns.pattern_groups`); each pattern's S_oo⁻¹ is one matrix of
    a stacked inverse, embedded in a k × k matrix with zeros at the missing items, so the
    quadratic forms of all rows are computed in blocks at once with the deviations set to 0 at
    the missing items (the zero terms add nothing) — instead of a gather, an inverse and a
    product per pattern (thousands of patterns at 10⁶ rows). Patterns with at least
    ``_PATTERN_ROWS`` rows (most of the rows) take one matrix product each.
    """
    n, k = x.shape
    pg = pattern_groups(observed)  # patterns most frequent first; rows grouped by pattern
    inv = np.zeros((len(pg.counts), k, k))
    n_obs = pg.patterns.sum(axis=1)
    for q in np.unique(n_obs):
        which = np.flatnonzero(n_obs == q)
        o = np.nonzero(pg.patterns[which])[1].reshape(len(which), q)  # observed items of each pattern, in order
        inv[which[:, None, None], o[:, :, None], o[:, None, :]] = np.linalg.inv(cov[o[:, :, None], o[:, None, :]])
    out = np.empty(n)
    big = int(np.searchsorted(-pg.counts, -_PATTERN_ROWS, side="right"))  # patterns with ≥ that many rows come first
    for j in range(big):  # one product per frequent pattern
        r = pg.rows(j)
        dev = np.where(observed[r], x[r] - mean, 0.0)
        out[r] = np.einsum("ij,ij->i", dev @ inv[j], dev)
    block = 8_192  # rows per block: the gathered inverses are block × k × k floats (≤ 50 MB at k = 28)
    for s in range(int(pg.bounds[big]), n, block):
        r = pg.order[s:s + block]
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
    x = scored.to_numpy(dtype=float)
    cols = {c: j for j, c in enumerate(scored.columns)}
    halves = []
    for s in scale.subscale_ids:
        idx = [cols[i] for i in scale.items_of(s)]
        if len(idx) >= 2:
            halves.append((idx[0::2], idx[1::2]))
    n = len(x)
    if len(halves) < 3:
        return pd.Series(np.full(n, np.nan), index=scored.index, name="evenodd")
    # the half means of every subscale at once: sums and counts of the answered items by two matrix products
    # with 0/1 membership matrices (the nanmean of each half, the sums in another order)
    A = np.zeros((x.shape[1], 2 * len(halves)))
    for h, (odd, even) in enumerate(halves):
        A[odd, h] = 1.0
        A[even, len(halves) + h] = 1.0
    means = np.empty((n, A.shape[1]))
    for s in range(0, n, 65_536):  # row blocks: the temporaries stay small
        blk = x[s:s + 65_536]
        obs = ~np.isnan(blk)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[s:s + 65_536] = (np.where(obs, blk, 0.0) @ A) / (obs.astype(float) @ A)  # 0/0 = NaN: no answer
    o, e = means[:, :len(halves)], means[:, len(halves):]
    mask = ~np.isnan(o) & ~np.isnan(e)
    m = mask.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        om = np.where(mask, o, 0).sum(axis=1) / m
        em = np.where(mask, e, 0).sum(axis=1) / m
        do = np.where(mask, o - om[:, None], 0)
        de = np.where(mask, e - em[:, None], 0)
        sxx, syy, sxy = (do * do).sum(1), (de * de).sum(1), (do * de).sum(1)
        # Zero variance → NaN, as R's cor() gives.
        r = np.where((sxx > 0) & (syy > 0), sxy / np.sqrt(sxx * syy), np.nan)
        r = np.clip(r, -1.0, 1.0)
        sb = np.where(r <= -1.0 / 3.0, -1.0, 2 * r / (1 + r))
    sb = np.where(m >= 3, sb, np.nan)
    return pd.Series(sb, index=scored.index, name="evenodd")


def _evenodd_pairs(scored: pd.DataFrame, scale: Scale) -> pd.Series:
    """Number of subscales with both an odd and an even half answered, per row."""
    present = scored.notna()
    count = np.zeros(len(scored), dtype=np.int64)
    for s in scale.subscale_ids:
        ids = list(scale.items_of(s))
        if len(ids) < 2:
            continue
        count += (present[ids[0::2]].any(axis=1) & present[ids[1::2]].any(axis=1)).to_numpy()
    return pd.Series(count, index=scored.index, name="evenodd_pairs")


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
    ls = longstring(raw)
    d2, p, dof = mahalanobis(scored)
    eo = evenodd(scored, scale)
    pairs = _evenodd_pairs(scored, scale)
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
