"""The E-step's pattern × category products with the items taken a few at a time (issue 16, large n).

An E-step needs, per distinct response pattern u and quadrature node q, log f(x_u | θ_q) =
Σ_j log P_{j, x_uj}(θ_q), and the expected counts r_jkq = Σ_u f_u π_uq [x_uj = k]. With the one-hot
matrix Y (one column per item category) both are products with J non-zeros per row. Here the items
are taken in consecutive groups g of a few items whose joint answers (a missing answer is one more
"category") number at most ``MAX_CELLS``: each pattern is one column per group, Z (G non-zeros per
row, G ≈ J/4 for five-category items), and

    log f(x_u | θ_q) = Σ_g T_g[z_ug, q],   T_g[(a_1..a_m), q] = Σ_{j∈g} log P_{j, a_j}(θ_q)  (0 if missing)

and r is the marginal of R_g = Z_gᵀ (f ∘ π) over the group's other items. The same sums as with Y
(regrouped: equal to the last bits of the summation order), at about a quarter of the products; the
small tables T_g (≤ MAX_CELLS × Q per group) are rebuilt per E-step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ItemGroups", "MAX_CELLS"]

#: joint answers per group: 6⁴ = 1,296 (four five-category items with missing answers)
MAX_CELLS = 1296


class ItemGroups:
    """The patterns' group codes as CSR row blocks (one non-zero per group and pattern)."""

    def __init__(self, patterns: np.ndarray, n_categories: tuple[int, ...], block: int,
                 counts: np.ndarray | None = None) -> None:
        k = np.asarray(n_categories, dtype=np.int64)
        self.shift = (patterns < 0).any(axis=0).astype(np.int64) if patterns.size else np.zeros(k.size, np.int64)
        self.radix = k + self.shift  # a missing answer: digit 0 where the item has any
        self.offs = np.concatenate([[0], np.cumsum(k)])
        groups: list[list[int]] = []
        for j, m in enumerate(self.radix.tolist()):
            if groups and int(np.prod(self.radix[groups[-1]])) * m <= MAX_CELLS:
                groups[-1].append(j)
            else:
                groups.append([j])
        self.groups = groups
        self.sizes = [int(np.prod(self.radix[g])) for g in groups]
        self.col0 = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        self.n_cols = int(self.col0[-1])
        self.blocks = [self._block(patterns[lo: lo + block]) for lo in range(0, patterns.shape[0], block)]
        # the same matrices with each pattern's count f_u in place of its ones (r = Zᵀ (f ∘ π) without the
        # product; the index arrays shared); without ``counts`` (a caller that weights r itself) none
        self.weighted: list[Any] = [None] * len(self.blocks)
        if counts is not None:
            from scipy import sparse as sp

            g = len(groups)
            self.weighted = [sp.csr_matrix((np.repeat(np.asarray(counts[b * block: (b + 1) * block], dtype=float), g),
                                            z.indices, z.indptr), shape=z.shape, copy=False)
                             for b, z in enumerate(self.blocks)]

    def _block(self, pats: np.ndarray) -> Any:
        from scipy import sparse as sp

        n = pats.shape[0]
        cols = np.empty((n, len(self.groups)), dtype=np.int32)
        for gi, g in enumerate(self.groups):
            code = np.zeros(n, dtype=np.int64)
            for j in g:  # first item most significant (C order of the table below)
                code *= int(self.radix[j])
                code += pats[:, j].astype(np.int64) + int(self.shift[j])
            cols[:, gi] = code + self.col0[gi]
        indptr = np.arange(0, n * len(self.groups) + 1, len(self.groups), dtype=np.int32)
        return sp.csr_matrix((np.ones(cols.size), cols.ravel(), indptr), shape=(n, self.n_cols))

    def table(self, logp: np.ndarray) -> np.ndarray:
        """T (all groups' joint answers × Q) from log P (one row per item category × Q)."""
        q = logp.shape[1]
        out = np.empty((self.n_cols, q))
        for gi, g in enumerate(self.groups):
            t = None
            for j in g:
                rows = logp[self.offs[j]: self.offs[j + 1]]
                if self.shift[j]:
                    rows = np.concatenate([np.zeros((1, q)), rows])
                t = rows if t is None else (t[:, None, :] + rows[None, :, :]).reshape(-1, q)
            out[self.col0[gi]: self.col0[gi + 1]] = t
        return out

    def marginals(self, joint: np.ndarray) -> np.ndarray:
        """Per item category (rows of log P) the sums of ``joint`` (all groups' joint answers × Q, or a
        vector) over the group's other items; a missing answer's row is left out."""
        vec = joint.ndim == 1
        joint = joint[:, None] if vec else joint
        q = joint.shape[1]
        out = np.empty((int(self.offs[-1]), q))
        for gi, g in enumerate(self.groups):
            cube = joint[self.col0[gi]: self.col0[gi + 1]].reshape([int(self.radix[j]) for j in g] + [q])
            for pos, j in enumerate(g):
                other = tuple(a for a in range(len(g)) if a != pos)
                m = cube.sum(axis=other) if other else cube
                out[self.offs[j]: self.offs[j + 1]] = m[int(self.shift[j]):]
        return out[:, 0] if vec else out

    def margins_matrix(self) -> Any:
        """:meth:`marginals` as a (one-hot column × joint answer) 0/1 matrix (CSR): row (j, k) has a one at every
        joint answer of j's group whose digit of j is k (a missing answer's digit in no row) — the same sums
        as one sparse product (the multi-group E-step, ``irt._mg_estep``)."""
        from scipy import sparse

        rows, cols = [], []
        for gi, g in enumerate(self.groups):
            digits = np.indices([int(self.radix[j]) for j in g]).reshape(len(g), -1)  # first item most significant
            for pos, j in enumerate(g):
                k = digits[pos] - int(self.shift[j])
                ok = k >= 0
                rows.append(self.offs[j] + k[ok])
                cols.append(self.col0[gi] + np.flatnonzero(ok))
        r, c = np.concatenate(rows), np.concatenate(cols)
        return sparse.csr_matrix((np.ones(r.size), (r, c)), shape=(int(self.offs[-1]), self.n_cols))
