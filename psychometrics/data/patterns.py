"""Missing-data patterns of a large boolean matrix, fast: one integer key per row.

``np.unique(obs, axis=0)`` sorts the rows as byte strings (a ``void`` argsort), which takes
minutes at a million rows. Here each row's pattern is packed into bits (``np.packbits``)
and, for up to 64 items, read as one ``uint64`` key, so finding the patterns is one integer
sort. :func:`pattern_groups` also returns the rows grouped by pattern (a stable argsort, so
the rows of a pattern keep their data order and every per-pattern sum is bit for bit the
one of ``X[row_pattern == j]``) — the per-pattern moments of EM, Little's test, FIML and
the Mahalanobis screen are then slices, not one boolean mask over all rows per pattern.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PatternGroups", "pattern_keys", "pattern_groups"]


def pattern_keys(obs: np.ndarray) -> np.ndarray:
    """One sortable key per row of the boolean matrix ``obs`` (equal rows ↔ equal keys).

    ``uint64`` for up to 64 columns; beyond that the packed bytes as a ``void`` scalar.
    """
    obs = np.ascontiguousarray(obs, dtype=bool)
    n, p = obs.shape
    packed = np.packbits(obs, axis=1)  # (n, ceil(p/8)) uint8
    width = packed.shape[1]
    if width <= 8:
        padded = np.zeros((n, 8), dtype=np.uint8)
        padded[:, :width] = packed
        return padded.view(">u8").ravel().astype(np.uint64)  # big-endian: first item = highest bit
    return np.ascontiguousarray(packed).view(np.dtype((np.void, width))).ravel()


@dataclass(frozen=True)
class PatternGroups:
    """The distinct patterns of ``obs``, most frequent first (ties: first seen first).

    ``patterns`` (m × p bool), ``counts`` (m,), ``row_pattern`` (n,): pattern number of
    each row; ``order`` (n,): row numbers grouped by pattern (data order within a pattern)
    and ``bounds`` (m + 1,): pattern j's rows are ``order[bounds[j]:bounds[j + 1]]``.
    """

    patterns: np.ndarray
    counts: np.ndarray
    row_pattern: np.ndarray
    order: np.ndarray
    bounds: np.ndarray

    def rows(self, j: int) -> np.ndarray:
        """Row numbers of pattern ``j`` in data order."""
        return self.order[self.bounds[j]:self.bounds[j + 1]]


def pattern_groups(obs: np.ndarray) -> PatternGroups:
    """The patterns of the rows of ``obs`` (see :class:`PatternGroups`).

    Same patterns, counts and order as ``np.unique(obs, axis=0, return_index=True,
    return_counts=True)`` sorted by (−count, first row) — the order does not depend on the
    key's sort, only on counts and first occurrences.
    """
    obs = np.asarray(obs, dtype=bool)
    n, p = obs.shape
    if n == 0:
        return PatternGroups(np.zeros((0, p), bool), np.zeros(0, np.int64), np.zeros(0, np.intp),
                             np.zeros(0, np.intp), np.zeros(1, np.intp))
    keys = pattern_keys(obs)
    _, first, inv, cnt = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    rank_order = np.lexsort((first, -cnt))
    rank = np.empty_like(rank_order)
    rank[rank_order] = np.arange(rank_order.size)
    row_pattern = rank[inv]
    counts = cnt[rank_order]
    order = np.argsort(row_pattern, kind="stable")
    bounds = np.zeros(len(counts) + 1, dtype=np.intp)
    np.cumsum(counts, out=bounds[1:])
    return PatternGroups(obs[first[rank_order]], counts, row_pattern, order, bounds)
