"""Per-group, per-missing-pattern moments: the input of FIML (``missing = "ml"``).

Each group's non-empty rows are split by their pattern of observed items; a pattern keeps
its row count, the mean and the ML (divisor n) covariance of its observed items
(:class:`PatternMoments`). This is all the FIML log-likelihood, its gradient, its Hessian
and the EM algorithm need; casewise scores (MLR) also need the rows, kept on
:class:`GroupPatterns`. Rows with every item missing are dropped and counted, as lavaan
(``lav_data_missing_patterns``: ``empty.idx``).

Bad input raises our own errors: an item never observed in a group, a pair of items
never observed together in a group (coverage 0); coverage below .10 is a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from psychometrics.exceptions import DataError, DataQualityWarning, Diagnostic, record

__all__ = ["PatternMoments", "GroupPatterns", "group_patterns", "PatternBatch"]


@dataclass(frozen=True)
class PatternMoments:
    """One missing-data pattern of one group.

    ``observed``: boolean mask over the model items; ``n``: rows with this pattern;
    ``mean``: mean of the observed items (length ``observed.sum()``); ``cov``: their ML
    covariance (divisor ``n``).
    """

    observed: np.ndarray
    n: int
    mean: np.ndarray
    cov: np.ndarray


@dataclass(frozen=True)
class GroupPatterns:
    """The patterns of one group (most frequent first), its rows and the dropped empty rows."""

    label: str
    patterns: tuple[PatternMoments, ...]
    rows: np.ndarray  # (n, p) non-empty rows, NaN where missing
    row_pattern: np.ndarray  # pattern number of each row
    empty_rows: tuple  # index labels of the rows with every item missing

    @property
    def n(self) -> int:
        return int(self.rows.shape[0])

    @property
    def complete(self) -> bool:
        return len(self.patterns) == 1 and bool(self.patterns[0].observed.all())

    def coverage(self) -> np.ndarray:
        """Share of the non-empty rows observing each pair of items (diagonal: each item)."""
        obs = (~np.isnan(self.rows)).astype(float)
        return obs.T @ obs / max(self.n, 1)

    def available_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Available-case means and ML variances of each item (the FIML independence model)."""
        return np.nanmean(self.rows, axis=0), np.nanvar(self.rows, axis=0)


def group_patterns(values: np.ndarray, index: Sequence, label: str, items: Sequence[str],
                   where: str, diags: list[Diagnostic]) -> GroupPatterns:
    """Patterns of one group's item responses (``values``: rows × items, NaN = missing)."""
    obs = ~np.isnan(values)
    empty = ~obs.any(axis=1)
    empty_rows = tuple(index[i] for i in np.flatnonzero(empty))
    rows = values[~empty]
    obs = obs[~empty]
    n, p = rows.shape
    if n == 0:
        raise DataError(f"every row{where} misses every model item; nothing to fit")
    never = [items[k] for k in np.flatnonzero(~obs.any(axis=0))]
    if never:
        raise DataError(
            f"item(s) {', '.join(map(repr, never[:10]))} are missing in every row{where}; "
            "FIML cannot estimate their mean and variance — drop the item(s) or the group"
        )
    cover = obs.T.astype(float) @ obs.astype(float) / n
    iu = np.triu_indices(p, 1)
    zero = [(items[i], items[j]) for i, j in zip(*iu) if cover[i, j] == 0]
    if zero:
        pairs = ", ".join(f"{a}–{b}" for a, b in zero[:8])
        raise DataError(
            f"item pair(s) {pairs}{' ...' if len(zero) > 8 else ''} are never observed together{where} "
            "(covariance coverage 0): their covariance is not estimable by FIML; "
            "collect overlapping data or drop one item of each pair"
        )
    low = [(items[i], items[j], cover[i, j]) for i, j in zip(*iu) if cover[i, j] < 0.10]
    if low:
        pairs = ", ".join(f"{a}–{b} ({c:.3f})" for a, b, c in low[:8])
        record(diags, DataQualityWarning,
               f"low covariance coverage{where}: item pair(s) {pairs}{' ...' if len(low) > 8 else ''} are observed "
               "together in fewer than 10 % of the rows; FIML estimates of their covariance are unstable",
               stacklevel=6)
    packed = np.ascontiguousarray(np.packbits(obs, axis=1))
    packed = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(packed, return_index=True, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    keys = obs[first]
    order = np.lexsort((np.arange(len(counts)), -counts))  # most frequent first (lavaan: sort.freq)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    row_pattern = rank[inverse]
    pats = []
    for k in order:
        mask = keys[k]
        block = rows[inverse == k][:, mask]
        mean = block.mean(axis=0)
        d = block - mean
        pats.append(PatternMoments(observed=mask.copy(), n=int(block.shape[0]), mean=mean, cov=d.T @ d / block.shape[0]))
    return GroupPatterns(label=label, patterns=tuple(pats), rows=rows, row_pattern=row_pattern, empty_rows=empty_rows)


class PatternBatch:
    """The patterns of one group as zero-padded stacked arrays for vectorised computation.

    ``mask`` (J, p) observed items; ``n`` (J,) counts; ``ybar`` (J, p) pattern means (0
    where missing); ``S`` (J, p, p) ML covariances (0 outside the observed block).
    """

    def __init__(self, gp: GroupPatterns):
        p = gp.rows.shape[1]
        J = len(gp.patterns)
        self.p, self.J = p, J
        self.mask = np.array([pt.observed for pt in gp.patterns], dtype=bool)
        self.n = np.array([pt.n for pt in gp.patterns], dtype=float)
        self.ybar = np.zeros((J, p))
        self.S = np.zeros((J, p, p))
        for j, pt in enumerate(gp.patterns):
            o = np.flatnonzero(pt.observed)
            self.ybar[j, o] = pt.mean
            self.S[j][np.ix_(o, o)] = pt.cov
        self.pj = self.mask.sum(axis=1).astype(float)
        self.N = float(self.n.sum())
        self.outer_mask = self.mask[:, :, None] & self.mask[:, None, :]
        self.rows = gp.rows
        self.row_pattern = gp.row_pattern
        self.pattern_rows = [np.flatnonzero(gp.row_pattern == j) for j in range(J)]
        # patterns grouped by their number of missing items: (missing indices (J_s, s), pattern numbers)
        nmis = p - self.mask.sum(axis=1)
        self.missing_groups = []
        for s in np.unique(nmis):
            if s == 0:
                continue
            js = np.flatnonzero(nmis == s)
            mi = np.array([np.flatnonzero(~self.mask[j]) for j in js], dtype=int)
            self.missing_groups.append((mi, js))
