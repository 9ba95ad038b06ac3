r"""FIML (EM) moments of several item subsets from one grouping of the rows (private; issue 16).

``scale_reliability(missing="fiml")`` runs one saturated-normal EM per score (every subscale and the
total). Each used to find its rows' missing-data patterns and gather the rows of every pattern again
(:func:`psychometrics.data.missing.em_normal`): six groupings and gathers of 10⁶ rows in the demo study.
The EM needs, per missing-data pattern j of the score's items, only n_j, s1_j = Σ y_o and
S2_j = Σ y_o y_oᵀ. A pattern of a subset of the items is the restriction of a pattern of all items, so
these are sums of the all-item patterns' sums (:meth:`PatternMoments.subset`): the rows are grouped
and gathered once.

Exactness: for whole-number answers every s1/S2 entry is an integer sum below 2⁵³ and so exact in any
order — the subset's sums equal the row-wise ones bit for bit, and with more than 64 patterns (the
batched E-step of ``em_normal``) the EM below is ``em_normal``'s iteration on the same numbers
(identical result). With at most 64 patterns ``em_normal`` starts from ``nanmean`` of the rows and
runs its per-pattern E-step; here the start comes from the same sums and the E-step is the batched one
(the same formulas), so the fixed point is the same and the result agrees within the EM tolerance
(tested in ``tests/test_reliability_pattern_em.py``). It is therefore used only above
:data:`SHARED_MIN_ROWS` rows and only for whole-number answers (the demo, n = 400, is unchanged).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from psychometrics.data.patterns import pattern_groups, pattern_keys, pattern_sums

__all__ = ["PatternMoments", "em_from_moments", "SHARED_MIN_ROWS", "MAX_PATTERNS"]

#: shared pattern sums only above this many rows (below it every score's EM runs on its rows as before)
SHARED_MIN_ROWS = 50_000
#: at most this many all-item patterns (their p × p sums are held in memory: 8 p² bytes each)
MAX_PATTERNS = 20_000


class PatternMoments:
    """Per missing-data pattern of all items: count, first row, Σ y and Σ y yᵀ (zeros where missing).

    ``x`` (n × p, NaN = missing) must have whole-number answers; rows with no answer are
    allowed (an all-missing pattern contributes nothing to any subset).
    """

    def __init__(self, x: np.ndarray, pg: Any = None, top: np.ndarray | None = None,
                 total: tuple[np.ndarray, np.ndarray] | None = None):
        pg = pattern_groups(~np.isnan(x)) if pg is None else pg
        m, p = pg.patterns.shape
        self.n, self.p = x.shape
        self.patterns = pg.patterns
        self.counts = pg.counts.astype(np.int64)
        self.first = pg.order[pg.bounds[:-1]] if m else np.zeros(0, np.intp)  # data order within a pattern
        self.s1 = np.zeros((m, p))
        self.s2 = np.zeros((m, p, p))
        if top is None or total is None:  # largest |x| per item, Σ x and Σ x xᵀ (missing = 0), by row blocks
            top, total = _block_sums(x)
        self.top = top
        self._s2_diag: np.ndarray | None = None
        complete = np.flatnonzero(pg.patterns.all(axis=1))
        # every pattern but the complete one: its rows gathered in pattern order a chunk at a time, each
        # pattern's sums from its slices (data.patterns.pattern_sums; missing = 0, so the sums outside a
        # pattern's observed items are 0 as before) — no gather per pattern (issue 16: 5,764 patterns at
        # 10⁶ rows). Integer sums: the same numbers in any order.
        others = np.setdiff1d(np.arange(m), complete[:1])
        if others.size:
            sizes = pg.counts[others]
            rows = pg.order
            if complete.size:  # (patterns are contiguous in ``order``: every row but the complete pattern's)
                jc = complete[0]
                rows = np.concatenate((rows[:pg.bounds[jc]], rows[pg.bounds[jc + 1]:]))
            sub = SimpleNamespace(order=rows, bounds=np.concatenate([[0], np.cumsum(sizes)]), counts=sizes)
            self.s1[others], self.s2[others] = pattern_sums(x, sub)
        if complete.size:  # the complete rows' sums: all rows' minus the others' (integers: exact)
            jc = complete[0]
            self.s1[jc] = total[0] - self.s1.sum(axis=0)
            self.s2[jc] = total[1] - self.s2.sum(axis=0)

    @classmethod
    def build(cls, x: np.ndarray) -> "PatternMoments | None":
        """The moments of ``x`` when sharing applies: more than :data:`SHARED_MIN_ROWS` rows, whole-number
        answers and at most :data:`MAX_PATTERNS` patterns; else None (each score's EM uses its rows)."""
        if x.shape[0] <= SHARED_MIN_ROWS or x.shape[1] > 64:
            return None
        sums = _block_sums(x, whole=True)
        if sums is None:
            return None
        top, total = sums
        if x.shape[0] * float(top.max(initial=0.0)) ** 2 >= 2.0 ** 53:  # every sum of squares exact
            return None
        pg = pattern_groups(~np.isnan(x))
        if len(pg.counts) > MAX_PATTERNS:
            return None
        return cls(x, pg, top, total)

    def item_sums(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Per item of ``cols``: answers, Σ x, Σ x² (integer sums) and the largest |x| of these items."""
        cols = np.asarray(cols, dtype=np.intp)
        w = self.counts.astype(float)
        cnt = w @ self.patterns[:, cols].astype(float)
        s1 = self.s1[:, cols].sum(axis=0)
        if self._s2_diag is None:  # Σ x² per pattern and item, once (not a copy of the p × p sums per call)
            self._s2_diag = np.einsum("mjj->mj", self.s2)
        s2 = self._s2_diag[:, cols].sum(axis=0)
        return cnt, s1, s2, float(self.top[cols].max(initial=0.0))

    def answering(self, cols: np.ndarray) -> int:
        """Rows that answer at least one of the items ``cols`` (positions): an exact count from the patterns."""
        cols = np.asarray(cols, dtype=np.intp)
        return int(self.counts[self.patterns[:, cols].any(axis=1)].sum())

    def subset(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The patterns of the items ``cols`` (positions) with at least one answer, in
        :func:`pattern_groups` order (count descending, then first row): (patterns, counts,
        Σ y per pattern (k × c, 0 where missing), Σ y yᵀ per pattern (k × c × c, 0 where missing)).

        The all-item patterns that restrict to the same pattern are summed in one sorted pass
        (``reduceat``) — integer sums, so the same numbers as any other order (issue 16)."""
        cols = np.asarray(cols, dtype=np.intp)
        sub = self.patterns[:, cols]
        keep = np.flatnonzero(sub.any(axis=1))
        sub, cnt, first = sub[keep], self.counts[keep], self.first[keep]
        keys = pattern_keys(sub)
        _, inv = np.unique(keys, return_inverse=True)
        inv = inv.ravel()
        if not inv.size:
            c = cols.size
            return np.zeros((0, c), bool), np.zeros(0, np.int64), np.zeros((0, c)), np.zeros((0, c, c))
        order = np.argsort(inv, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(inv[order]) != 0])  # one run per subset pattern 0..k−1
        src = keep[order]
        counts = np.add.reduceat(cnt[order], starts).astype(np.int64)
        firsts = np.minimum.reduceat(first[order], starts)
        S1 = np.add.reduceat(self.s1[np.ix_(src, cols)], starts, axis=0)  # integer sums: exact in any order
        S2 = np.add.reduceat(self.s2[np.ix_(src, cols, cols)], starts, axis=0)
        pats = sub[order[starts]]
        rank = np.lexsort((firsts, -counts))  # pattern_groups' order
        return pats[rank], counts[rank], S1[rank], S2[rank]


def _block_sums(x: np.ndarray, whole: bool = False) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]] | None:
    """One pass over row blocks: per item the largest |x|, and Σ x, Σ x xᵀ with missing = 0 (each row's
    contribution is its pattern's). ``whole``: None as soon as an answer is not a whole number."""
    p = x.shape[1]
    top, s1, s2 = np.zeros(p), np.zeros(p), np.zeros((p, p))
    for r0 in range(0, x.shape[0], 65_536):
        z = x[r0:r0 + 65_536].copy()  # missing = 0 (nan_to_num(nan=0) keeping ±inf, without its ±inf masks)
        z[np.isnan(z)] = 0.0
        if whole and not (np.isfinite(z).all() and np.array_equal(z, np.rint(z))):
            return None
        top = np.maximum(top, np.abs(z).max(axis=0, initial=0.0))
        s1 += z.sum(axis=0)
        s2 += z.T @ z
    return top, (s1, s2)


def em_from_moments(patterns: np.ndarray, counts: np.ndarray, s1: np.ndarray, s2: np.ndarray, *,
                    tol: float, max_iter: int) -> tuple[np.ndarray, np.ndarray, int]:
    """``em_normal``'s batched EM (start values and iteration) from per-pattern sums; (mu, sigma, iterations).

    ``s1`` (k × p) and ``s2`` (k × p × p): :meth:`PatternMoments.subset`'s sums, zero where missing
    (:func:`psychometrics.data.missing.em_from_pattern_sums`, the path ``em_normal`` takes above 64 patterns).
    """
    from psychometrics.data.missing import em_from_pattern_sums

    return em_from_pattern_sums(patterns, counts, s1, s2, tol=tol, max_iter=max_iter)
