"""The multi-group GRM's E-step over one group's distinct patterns, by chunks of items (issue 16).

``irt.multigroup`` and ``irt._mg_newton`` need per group and node q the likelihood of each distinct
pattern u, f(x_u | θ_q) = Π_j P_{j, x_uj}(θ_q), the posterior π_uq ∝ w_q f(x_u | θ_q), ℓ_u = log Σ_q
w_q f(x_u | θ_q) and the expected counts r = Yᵀ (f ∘ π) per one-hot column (item, category). In logs
through the one-hot Y (U × C) that is two dense products of (nodes × patterns × columns) and an exp and a
log per (node, pattern) cell. Here the items are taken a few at a time (:class:`JointAnswers`: a chunk's
joint answer, missing included, is one code z < ``_CHUNK_SIZE``): f(x_u | θ_q) is the product over the
chunks of a small table T_c[z, q] = Π_{j ∈ c} P_{j, x_j(z)}(θ_q) read at the pattern's code (two gathers
per cell for a five- or six-item subscale, no exp), and r is per chunk one sparse product of the
posterior weights with the code's indicator, then summed to the items' categories (a small product).

The same sums in another order and without the logs: ℓ, π and r agree with the one-hot computation to
rounding (tests/test_irt_lrdif.py::test_joint_answer_estep_equals_the_onehot_products). In probabilities,
a pattern's likelihood can underflow where its logarithm does not (many items, extreme nodes): when some
pattern's Σ_q w_q f(x_u | θ_q) is below ``_SAFE`` the group's E-step is taken in logs as before
(:func:`estep`), so the results never depend on an underflow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["JointAnswers", "estep"]

#: at most this many joint answers per chunk (6⁴: four five-category items, each possibly missing)
_CHUNK_SIZE = 1296
#: below this Σ_q w_q f(x_u | θ_q) of some pattern the group's E-step is taken in logs (no underflow can matter)
_SAFE = 1e-250


class JointAnswers:
    """A group's distinct patterns (U × J codes, −1 missing) as per-chunk joint answer codes."""

    def __init__(self, patterns: np.ndarray, offsets: np.ndarray) -> None:
        from scipy import sparse

        n_pat, n_items = patterns.shape
        ks = np.diff(offsets).astype(np.int64)
        n_cols = int(offsets[-1])
        self.n_cols = n_cols
        self.chunks: list[tuple[np.ndarray, np.ndarray, Any, np.ndarray]] = []
        j = 0
        while j < n_items:
            size, m = 1, 0
            while j + m < n_items and (m == 0 or size * (ks[j + m] + 1) <= _CHUNK_SIZE):
                size, m = size * int(ks[j + m] + 1), m + 1
            items = np.arange(j, j + m)
            strides = np.ones(m, dtype=np.int64)
            for i in range(m - 2, -1, -1):
                strides[i] = strides[i + 1] * (ks[items[i + 1]] + 1)
            code = (patterns[:, items].astype(np.int64) + 1) @ strides  # (U,): the chunk's joint answer
            digits = (np.arange(size)[:, None] // strides[None, :]) % (ks[items] + 1)[None, :]  # (size, m)
            # each joint answer's one-hot columns; a missing answer reads the padding row (P = 1) n_cols
            cols = np.where(digits > 0, offsets[items][None, :] + digits - 1, n_cols)
            indicator = sparse.csr_matrix((np.ones(n_pat), (code, np.arange(n_pat))), shape=(size, n_pat))
            to_cols = np.zeros((n_cols + 1, size))  # joint answer → its items' columns (the padding row dropped)
            for i in range(m):
                to_cols[cols[:, i], np.arange(size)] = 1.0
            self.chunks.append((code, cols, indicator, to_cols[:n_cols]))
            j += m

    def likelihood(self, probs: np.ndarray) -> np.ndarray:
        """f(x_u | θ_q) (Q × U) from P of every one-hot column (C × Q)."""
        pad = np.concatenate([probs, np.ones((1, probs.shape[1]))])
        out = None
        for code, cols, _, _ in self.chunks:
            table = pad[cols[:, 0]]
            for i in range(1, cols.shape[1]):
                table *= pad[cols[:, i]]
            part = np.ascontiguousarray(table.T).take(code, axis=1)
            if out is None:
                out = part
            else:
                out *= part
        return out

    def counts(self, weights: np.ndarray) -> np.ndarray:
        """Σ_u weights[q, u] per one-hot column: r (C × Q) for ``weights`` = f ∘ π (Q × U)."""
        wt = np.ascontiguousarray(weights.T)
        r = np.zeros((self.n_cols, weights.shape[0]))
        for _, _, indicator, to_cols in self.chunks:
            r += to_cols @ (indicator @ wt)
        return r


def estep(joint: JointAnswers | None, probs: np.ndarray, logw: np.ndarray, f: np.ndarray, onehot_t: np.ndarray,
          onehot: np.ndarray, post: bool = False) -> tuple[float, np.ndarray, np.ndarray | None, np.ndarray]:
    """One group's E-step: ℓ_g = Σ_u f_u log Σ_q w_q f(x_u | θ_q), f ∘ π (Q × U), π (Q × U; with ``post``,
    else None) and r (C × Q) from P of every one-hot column (C × Q) and the log weights. By the joint answers
    (``joint``) when no pattern's likelihood is near underflow; else (or without ``joint``) in logs through the
    one-hot (``onehot_t``: its C-contiguous transpose, C × U) with the log-sum-exp over the nodes."""
    if joint is not None:
        lf = joint.likelihood(probs)
        lf *= np.exp(logw)[:, None]
        tot = lf.sum(axis=0)
        if tot.size == 0 or tot.min() > _SAFE:
            return _finish(lf, tot, np.log(tot), f, post, joint.counts)
    lf = np.log(probs).T @ onehot_t  # (Q, U): log f(x_u | θ_q)
    lf += logw[:, None]
    mx = lf.max(axis=0)
    lf -= mx
    np.exp(lf, out=lf)
    tot = lf.sum(axis=0)
    return _finish(lf, tot, mx + np.log(tot), f, post, lambda w: (w @ onehot).T)


def _finish(lf: np.ndarray, tot: np.ndarray, log_l: np.ndarray, f: np.ndarray, post: bool,
            counts: Any) -> tuple[float, np.ndarray, np.ndarray | None, np.ndarray]:
    """ℓ_g, f ∘ π, π and r from the (scaled) node terms ``lf`` (Q × U, overwritten) and their sums."""
    ll = float(f @ log_l)
    if post:
        pi = lf / tot
        fpi = pi * f
    else:
        pi, fpi = None, lf
        fpi *= f / tot
    return ll, fpi, pi, counts(fpi)
