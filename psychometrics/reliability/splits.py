"""Splits of an item set into two halves and their split-half coefficients
4 c_AB / 1ᵀC1 — the enumeration (or seeded sampling) ``psych::splitHalf`` uses.
Guttman's λ4 (:mod:`psychometrics.reliability.guttman_lambdas`) is their maximum;
:func:`psychometrics.reliability.split_half` reports their range.
"""

from __future__ import annotations

from math import comb
from typing import Any

import numpy as np

from psychometrics._bootstrap import SeedLike
from psychometrics.exceptions import DataError
from psychometrics._text import quote

__all__ = ["psych_combinations", "split_coefficients"]


def psych_combinations(n: int, m: int, count: float) -> np.ndarray:
    """The first splits psych::splitHalf enumerates: combinations of m of n items in
    lexicographic order, as many as its loop runs (``count = choose(n, m) / 2``)."""
    from itertools import combinations, islice

    n_eval = int(np.floor(count - 1e-9)) + 1 if count != int(count) else int(count)
    return np.array(list(islice(combinations(range(n), m), n_eval)), dtype=int)


def split_coefficients(c: np.ndarray, splits: str, n_sample: int, seed: SeedLike) -> dict[str, Any]:
    """Split-half coefficients 4 c_AB / 1ᵀC1 over splits (psych::splitHalf's ``rab``)."""
    n = c.shape[0]
    m = n // 2
    total_comb = comb(n, m)
    count = total_comb / 2  # psych: round(choose(n, m)) / 2
    sampled = False
    if splits == "psych":
        if count <= n_sample:
            combs = psych_combinations(n, m, count)
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
        raise DataError(f"splits must be 'psych' or 'all', not {quote(splits)}")
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

