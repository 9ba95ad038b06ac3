"""The multi-group GRM's E-step over one group's distinct patterns, by chunks of items (issue 16).

``irt.multigroup`` and ``irt._mg_newton`` need per group and node q the likelihood of each distinct
pattern u, f(x_u | θ_q) = Π_j P_{j, x_uj}(θ_q), the posterior π_uq ∝ w_q f(x_u | θ_q), ℓ_u = log Σ_q
w_q f(x_u | θ_q) and the expected counts r = Yᵀ (f ∘ π) per one-hot column (item, category). In logs
through the one-hot Y (U × C) that is two dense products of (nodes × patterns × columns) and an exp and a
log per (node, pattern) cell. Here the items are taken a few at a time (:func:`joint_answers`: a chunk's
joint answer, missing included, is one code: the single-group E-step's ``irt._grouped.ItemGroups``, at most
1,296 joint answers per chunk): f(x_u | θ_q) is the product over the chunks of a small table
T_c[z, q] = Π_{j ∈ c} P_{j, x_j(z)}(θ_q) read at the pattern's code (two gathers per cell for a five- or
six-item subscale, no exp per cell), and r is one sparse product of the posterior weights with the codes'
indicator, then summed over each chunk's other items. A group with few distinct patterns (below
:data:`ONEHOT_CELLS` pattern × column cells: small samples) keeps the one-hot products, which cost less there
than the chunks' tables.

The same sums in another order and without the logs: ℓ, π and r agree with the one-hot computation to
rounding (tests/test_irt_lrdif.py::test_joint_answer_estep_equals_the_onehot_products). In probabilities,
a pattern's likelihood can underflow where its logarithm does not (many items, extreme nodes): when some
pattern's Σ_q w_q f(x_u | θ_q) is below ``_SAFE`` the group's E-step is taken in logs as before
(:func:`estep`), so the results never depend on an underflow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["joint_answers", "estep"]

#: below this Σ_q w_q f(x_u | θ_q) of some pattern the group's E-step is taken in logs (no underflow can matter)
_SAFE = 1e-250
#: below this many pattern × one-hot column cells (U × C) a group's E-step takes the one-hot products: their
#: two small dense products cost less than the joint answers' fixed work (the chunks' tables and margins: a
#: 1,296-answer table per four five-category items). Measured per E-step of a 7-item subscale (C = 35,
#: 21 nodes; issue 16, ninth session): U = 320 one-hot 0.18 ms, joint 0.6 ms; U = 2,000 0.6 vs 0.45 ms
#: (with this module's product tables); U = 11,000 3.1 vs 1.5 ms.
ONEHOT_CELLS = 40_000


class _Chunks:
    """A group's patterns as ``irt._grouped.ItemGroups`` (items a few at a time, their joint answers one
    code each — missing included) in one block, and each chunk's codes of the patterns (C-contiguous)."""

    def __init__(self, patterns: np.ndarray, n_categories: tuple[int, ...]) -> None:
        from psychometrics.irt._grouped import ItemGroups

        n_pat = patterns.shape[0]
        self.groups = ItemGroups(patterns, n_categories, max(n_pat, 1))
        z = self.groups.blocks[0]  # (U × all chunks' joint answers), one non-zero per chunk and pattern
        self.codes = [np.ascontiguousarray(c) for c in z.indices.reshape(n_pat, len(self.groups.groups)).T]
        self.onehot_t = z.T.tocsr()  # (joint answers × U): each chunk's counts by one sparse product
        self.margins = self.groups.margins_matrix()

    def table(self, probs: np.ndarray) -> np.ndarray:
        """T (Q × joint answers): per chunk Π_{j ∈ chunk} P_{j, a_j}(θ_q), a missing answer's factor 1, built
        by outer products in the layout the gathers read (first item most significant, as ``ItemGroups``
        codes them). The products themselves, not exp of summed logs (``ItemGroups.table``: the same values to
        rounding, ≈ 1e−14): no exp or log per cell, no transpose."""
        groups = self.groups
        pt = np.ascontiguousarray(probs.T)  # (Q × C)
        q = pt.shape[0]
        out = np.empty((q, groups.n_cols))
        for gi, chunk in enumerate(groups.groups):
            t = None
            for j in chunk:
                rows = pt[:, groups.offs[j]: groups.offs[j + 1]]
                if groups.shift[j]:  # digit 0: a missing answer
                    rows = np.concatenate([np.ones((q, 1)), rows], axis=1)
                t = rows if t is None else (t[:, :, None] * rows[:, None, :]).reshape(q, -1)
            out[:, groups.col0[gi]: groups.col0[gi + 1]] = t
        return out

    def likelihood(self, probs: np.ndarray) -> np.ndarray:
        """f(x_u | θ_q) (Q × U) from P of every one-hot column (C × Q): each chunk's :meth:`table` read at the
        patterns' codes, multiplied."""
        table = self.table(probs)
        out = table.take(self.codes[0], axis=1)
        for code in self.codes[1:]:
            out *= table.take(code, axis=1)
        return out

    def counts(self, weights: np.ndarray) -> np.ndarray:
        """Σ_u weights[q, u] per one-hot column: r (C × Q) for ``weights`` = f ∘ π (Q × U) — each joint
        answer's sums (one sparse product), then summed over the chunk's other items (one sparse product with
        ``ItemGroups.margins_matrix``: the sums ``ItemGroups.marginals`` forms, in one call)."""
        return self.margins @ (self.onehot_t @ np.ascontiguousarray(weights.T))


def joint_answers(patterns: np.ndarray, n_categories: tuple[int, ...]) -> _Chunks | None:
    """The E-step's view of a group's distinct patterns (U × J codes, −1 missing) by chunks of items; None
    (the one-hot path) without patterns or with fewer than :data:`ONEHOT_CELLS` pattern × column cells."""
    if patterns.shape[0] == 0 or patterns.shape[0] * int(np.sum(n_categories)) < ONEHOT_CELLS:
        return None
    return _Chunks(patterns, n_categories)


def estep(joint: _Chunks | None, probs: np.ndarray, logw: np.ndarray, f: np.ndarray, onehot_t: np.ndarray,
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
