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

__all__ = ["PatternGroups", "pattern_keys", "pattern_groups", "pattern_sums", "distinct_rows"]


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


def pattern_sums(X: np.ndarray, groups: PatternGroups, *, chunk: int = 1 << 16) -> tuple[np.ndarray, np.ndarray]:
    """Per pattern j: Σ x and Σ x xᵀ over its rows, missing answers counted as 0.

    Returns ``(s1, s2)`` of shapes (m, p) and (m, p, p); the observed part of pattern j is
    ``s1[j][o]`` and ``s2[j][o][:, o]``. The rows are gathered in pattern order in chunks of
    ``chunk`` rows (a pattern's rows are consecutive there), so each pattern's sums are slices of a
    chunk — no gather per pattern, and no more than one chunk of rows held at a time. For
    whole-number answers every partial sum is an integer below 2⁵³, exact in any order: the sums
    equal those of ``X[rows_j][:, o]`` bit for bit; otherwise they agree to summation order.
    """
    X = np.asarray(X, dtype=float)
    n, p = X.shape
    m = len(groups.counts)
    s1 = np.zeros((m, p))
    s2 = np.zeros((m, p, p))
    bounds = groups.bounds
    for s in range(0, n, chunk):
        e = min(s + chunk, n)
        Y = X[groups.order[s:e]]
        Y[np.isnan(Y)] = 0.0
        j = int(np.searchsorted(bounds, s, side="right")) - 1
        while j < m and bounds[j] < e:
            blk = Y[max(int(bounds[j]), s) - s:min(int(bounds[j + 1]), e) - s]
            s1[j] += blk.sum(axis=0)
            s2[j] += blk.T @ blk
            j += 1
    return s1, s2


def distinct_rows(x: np.ndarray, max_share: float = 0.5, probe: int = 20_000, probe_share: float = 0.9) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct rows of a matrix of whole-number answers (NaN = not answered): ``(first, inverse)``
    with ``x[first][inverse]`` equal to ``x`` (``first``: a row of each distinct row), or None.

    Each row is packed into one integer key (answer − lowest + 1 in base highest − lowest + 2, 0 for
    NaN), so finding them is one integer sort. None when a value is not a whole number, the keys would
    not fit in 62 bits (many items), or the rows hardly repeat — more than ``max_share`` of the first
    ``probe`` rows distinct, or of all rows — so that computing per distinct row would not save work.
    Only the path depends on that choice: a function of the row is the same evaluated on either.
    """
    n, k = x.shape
    if n == 0 or k == 0:
        return None
    head = min(n, probe)
    if n > head:  # the first rows first: most matrices that do not qualify are declined on them
        packing = _packing(x[:head])
        if packing is None:
            return None
        keys = _pack(x[:head], *packing)
        if keys is None or len(np.unique(keys)) > probe_share * head:
            return None
    packing = _packing(x)
    if packing is None:
        return None
    keys = _pack(x, *packing)
    if keys is None:
        return None
    first, inverse = _unique_keys(keys, packing[1] ** x.shape[1])
    if len(first) > max_share * n:
        return None
    return first, inverse


def _packing(x: np.ndarray) -> tuple[float, int] | None:
    """(lowest answer, base) of the keys, or None when an item has no answers or they would not fit."""
    from psychometrics.exceptions import quiet_warnings

    with quiet_warnings(RuntimeWarning), np.errstate(all="ignore"):  # an all-NaN item: declined below
        lo, hi = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        return None  # an item without answers (all NaN) or with infinities: no packing
    low, base = float(lo.min()), float(hi.max() - lo.min() + 2)
    if base > 2 ** 16 or x.shape[1] * np.log2(base) > 62:
        return None
    return low, int(base)


def _pack(x: np.ndarray, low: float, base: int, block: int = 1 << 16) -> np.ndarray | None:
    """One int64 key per row: Σ_j code_j · base^(k−1−j), code = x − low + 1 (0 for NaN); None unless whole.

    In blocks of rows (each block's codes a small integer matrix, the keys one integer product)."""
    k = x.shape[1]
    powers = base ** np.arange(k - 1, -1, -1, dtype=np.int64)
    key = np.empty(len(x), dtype=np.int64)
    for s in range(0, len(x), block):
        code = x[s:s + block] - (low - 1.0)
        np.nan_to_num(code, copy=False, nan=0.0)
        whole = code.astype(np.int64)
        if not np.array_equal(whole, code):
            return None
        key[s:s + block] = whole @ powers
    return key


def _unique_keys(keys: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """(a row of each distinct key, each row's distinct number), keys in increasing order — as
    ``np.unique(keys, return_index=True, return_inverse=True)`` (which gives the first row; for keys
    below a small ``bound``, by direct addressing without a sort, one of the key's rows: they are equal)."""
    n = len(keys)
    if bound > 4 * n + (1 << 20):
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        return first, inverse.ravel()
    first_of = np.full(bound, n, dtype=np.int64)
    first_of[keys] = np.arange(n)  # one of each key's rows (which one does not matter: the rows are equal)
    present = first_of < n
    rank = np.cumsum(present) - 1
    return first_of[present], rank[keys]
