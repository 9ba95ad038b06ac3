"""Split-half reliability as ``psych::splitHalf``: the largest (λ4), smallest and
mean coefficient over splits into two halves, and the classical odd–even
Spearman–Brown value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from psychometrics._bootstrap import SeedLike
from psychometrics._results import ResultMixin
from psychometrics.exceptions import Diagnostic, ReliabilityWarning, record
from psychometrics.reliability.guttman_lambdas import guttman_from
from psychometrics.reliability.prepare import Missing, check_matrix, prepare_items
from psychometrics.reliability.splits import split_coefficients

__all__ = ["SplitHalfResult", "split_half"]


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
    prep = prepare_items(data, missing, min_items=3, what="split-half reliability")
    diags = list(prep.diagnostics)
    check_matrix(prep, diags)
    c = prep.cov if covar else prep.cor_from_cov
    p = c.shape[0]
    sh = split_coefficients(c, splits, int(n_sample), seed)
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
    va, vb = float(a @ cv @ a), float(b @ cv @ b)
    r_oe = float(a @ cv @ b) / float(np.sqrt(va * vb)) if va > 0 and vb > 0 else float("nan")
    if not np.isfinite(r_oe) or r_oe <= -1 + 1e-12:
        odd, even = [prep.items[i] for i in range(0, p, 2)], [prep.items[i] for i in range(1, p, 2)]
        record(diags, ReliabilityWarning,
               f"the odd–even split ({', '.join(map(str, odd))} vs {', '.join(map(str, even))}) has "
               + ("a half without variance" if not np.isfinite(r_oe) else "halves correlating −1 (reversed copies)")
               + ": its Spearman–Brown coefficient is undefined (NaN)", stacklevel=3)
    sb = 2 * r_oe / (1 + r_oe) if np.isfinite(r_oe) and r_oe > -1 + 1e-12 else float("nan")
    rr = prep.cor_from_cov if not covar else c
    off = rr[np.tril_indices(p, -1)]
    vals = guttman_from(c)
    return SplitHalfResult(
        max=sh["max"], min=sh["min"], mean=sh["mean"], quantiles=qs,  # type: ignore[arg-type]
        max_split=halves(sh["max_split"]), min_split=halves(sh["min_split"]),
        odd_even_r=r_oe, spearman_brown=float(sb),
        average_r=float(off.mean()), median_r=float(np.median(off)),
        alpha=vals["lambda3"], lambda2=vals["lambda2"], lambda6=vals["lambda6"], covar=bool(covar),
        splits=splits, n_splits=sh["n_splits"], sampled=sh["sampled"], n=prep.n, n_items=p,
        missing=prep.missing, n_excluded=prep.n_excluded, diagnostics=tuple(diags),
    )

