"""The checked item matrix as arrays, and the sums that scoring needs, in one pass over the rows.

:class:`ItemArrays` is computed once per scoring and shared by its stages: the raw scores of
every score (:func:`~psychometrics.scoring.item_matrix._score_matrix`) and the pairwise sums
behind the SEM's α (:class:`~psychometrics.scoring.sem._PairwiseMoments`).

With whole-number answers of at most 2²⁰ in absolute value, every one of these sums — answered
counts and item sums per score and row, pair counts n_ij, Σx_i and Σx_i x_j over the rows
observing both — is an integer below 2⁵³ and therefore exact in any summation order. They are
then accumulated over blocks of rows as matrix products (issue 16: one pass over 10⁶ rows, no
full-size temporaries) and equal the score-by-score sums of the previous code bit for bit
(``tests/test_scoring.py::test_score_matrix_products_equal_score_by_score``,
``test_pairwise_moments_one_pass_equal_products``). Other answers are summed as before.
"""

from __future__ import annotations

import numpy as np

#: answers at most this large (absolute): their sums per row are exact in float64 (the pairwise products
#: also need n · max² < 2⁵³, checked separately)
_EXACT_MAX = 2**20
#: rows per block of the one pass (a block of 28 items: 7 MB of float64, in cache)
_BLOCK = 1 << 15
#: from this many rows half of the blocks are summed on a second thread when the process has a core to spare
#: (``_linalg.side_thread``: not inside a pipeline lane) — the validity step's scores at 10⁶ rows
SIDE_ROWS = 200_000


class ItemArrays:
    """``x`` (rows × items, NaN = missing) and what is computed from it, each at most once.

    ``ok`` (answered), ``z`` (``x`` with 0 for missing) and ``okf`` (``ok`` as 0.0/1.0) are built
    in full only for answers that are not whole numbers; :meth:`sums` reads whole numbers block by
    block.
    """

    def __init__(self, x: np.ndarray, ok: np.ndarray | None = None):
        self.x = x
        self._ok = ok
        self._z: np.ndarray | None = None
        self._okf: np.ndarray | None = None
        self._sums: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        self.pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.whole: bool | None = None  # None: not checked yet
        self.peak = 0.0  # the largest absolute answer (once checked)

    @property
    def ok(self) -> np.ndarray:
        if self._ok is None:
            self._ok = ~np.isnan(self.x)
        return self._ok

    @property
    def z(self) -> np.ndarray:
        if self._z is None:
            self._z = np.where(self.ok, self.x, 0.0)
        return self._z

    @property
    def okf(self) -> np.ndarray:
        if self._okf is None:
            self._okf = self.ok.astype(float)
        return self._okf

    def sums(self, member: np.ndarray, pairs: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
        """Item sums and answered counts of every score and row (scores × rows, C order), or None
        when some answer is not a whole number of at most 2²⁰ (absolute).

        ``member``: scores × items, 1.0 where the item belongs to the score. With ``pairs`` the
        pairwise sums (n_ij, Σx_i over the rows observing i and j, Σx_i x_j) are accumulated in the
        same pass and kept as :attr:`pairs` (None when n · max² ≥ 2⁵³: the products would not be exact).
        From :data:`SIDE_ROWS` rows the second half of the blocks is summed on a second thread
        (``_linalg.side_thread``; numpy's loops release the interpreter's lock): every sum is an exact
        integer, so the halves' pairwise sums add up to the same numbers bit for bit.
        """
        from psychometrics._linalg import side_thread

        key = member.tobytes() + bytes([pairs])
        if key in self._sums:
            return self._sums[key]
        if self.whole is False:
            return None
        x = self.x
        n, k = x.shape
        total = np.empty((member.shape[0], n))
        count = np.empty((member.shape[0], n))
        rows = min(_BLOCK, max(n, 1))
        middle = rows * (-(-n // rows) // 2)  # the first half of the blocks, at a block's bound
        with side_thread(n, SIDE_ROWS) as submit:
            if submit is None or middle in (0, n):
                parts = [_block_sums(x, member, 0, n, rows, total, count, pairs)]
            else:
                later = submit(_block_sums, x, member, middle, n, rows, total, count, pairs)
                parts = [_block_sums(x, member, 0, middle, rows, total, count, pairs), later.result()]
        if any(part is None for part in parts):
            self.whole = False
            return None
        peak = max(part[0] for part in parts)
        self.whole, self.peak = True, float(peak)
        if pairs and peak * peak * n < 2**53:  # Σx_i x_j exact too
            self.pairs = tuple(sum(part[1][i] for part in parts) for i in range(3))
        self._sums[key] = (total, count)
        return total, count


def _block_sums(x: np.ndarray, member: np.ndarray, lo: int, hi: int, rows: int, total: np.ndarray,
                count: np.ndarray, pairs: bool) -> tuple[float, list[np.ndarray] | None] | None:
    """:meth:`ItemArrays.sums` of the rows ``lo:hi`` by blocks of ``rows``, written into ``total`` and ``count``:
    (the largest absolute answer, the pairwise sums or None), or None when an answer is not a whole number of
    at most 2²⁰."""
    k = x.shape[1]
    acc = [np.zeros((k, k)) for _ in range(3)] if pairs else None
    size = min(rows, max(hi - lo, 1))
    z, o, r = np.empty((size, k)), np.empty((size, k)), np.empty((size, k))
    miss = np.empty((size, k), dtype=bool)
    peak = 0.0
    for s in range(lo, hi, rows):
        xb = x[s:min(s + rows, hi)]
        b = len(xb)
        zb, ob, rb, mb = z[:b], o[:b], r[:b], miss[:b]
        np.isnan(xb, out=mb)
        np.copyto(zb, xb)
        zb[mb] = 0.0
        if b:
            peak = max(peak, zb.max(), -zb.min())
            if peak > _EXACT_MAX or not np.array_equal(zb, np.rint(zb, out=rb)):
                return None
        np.logical_not(mb, out=mb)
        np.copyto(ob, mb)
        total[:, s:s + b] = member @ zb.T
        count[:, s:s + b] = member @ ob.T
        if acc is not None:
            if peak * peak * b < 2**24:  # every sum of the block below 2²⁴: exact in float32, twice as fast
                ob, zb = ob.astype(np.float32), zb.astype(np.float32)
            acc[0] += ob.T @ ob
            acc[1] += zb.T @ ob
            acc[2] += zb.T @ zb
    return peak, acc
