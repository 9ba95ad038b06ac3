"""Sample statistics of ordinal items in one group — what WLSMV estimation needs.

:class:`OrdinalSampleStats` holds the thresholds, polychoric correlations and their
asymptotic covariance Γ in lavaan's order (``WLS.obs``: thresholds item by item, then the
correlations below the diagonal, column by column). It is built from data by
:func:`psychometrics.ordinal.ordinal_sample_stats` or
:meth:`psychometrics.ordinal.PolychoricResult.to_sample_stats`, or given directly, and is
fitted by :func:`psychometrics.cfa.fit_categorical`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from psychometrics.exceptions import DataError
from psychometrics._text import quote

__all__ = ["OrdinalSampleStats", "vech_pairs"]


def vech_pairs(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of the correlations below the diagonal, column by column (lavaan's vech order)."""
    first, second = np.triu_indices(p, 1)  # (j, i), i > j, in the order j, then i: the pairs column by column
    return second.astype(int), first.astype(int)


@dataclass(frozen=True)
class OrdinalSampleStats:
    """Sample statistics of ordinal items in one group — what WLSMV estimation needs.

    Attributes
    ----------
    items : tuple of str
        Item names, in the order of ``cor`` (and of the thresholds).
    thresholds : tuple of ndarray
        Per item, its C−1 increasing thresholds (normal quantiles of the cumulative
        proportions).
    cor : ndarray (p, p)
        Polychoric correlation matrix.
    acov : ndarray (k, k)
        Asymptotic covariance matrix Γ of √n(s − σ) for the statistics vector
        s = (thresholds item by item, then the correlations below the diagonal column
        by column): lavaan's ``NACOV`` / ``lavInspect(fit, "gamma")``.
    nobs : int
        Number of observations (complete cases).
    weights : ndarray (k,), optional
        Diagonal DWLS weights; default 1/diag(acov) (lavaan's ``WLS.VD``).
    """

    items: tuple[str, ...]
    thresholds: tuple[np.ndarray, ...]
    cor: np.ndarray
    acov: np.ndarray
    nobs: int
    weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        p = len(self.items)
        cor = np.asarray(self.cor, dtype=float)
        if cor.shape != (p, p):
            raise DataError(f"cor must be {p}×{p} (one row per item), got shape {cor.shape}")
        th = tuple(np.asarray(t, dtype=float).ravel() for t in self.thresholds)
        if len(th) != p:
            raise DataError(f"thresholds: {len(th)} entries for {p} items")
        for v, t in zip(self.items, th):
            if t.size < 1 or np.any(np.diff(t) <= 0) or not np.all(np.isfinite(t)):
                raise DataError(f"thresholds of item {quote(v)} must be finite and strictly increasing, got {t}")
        k = sum(t.size for t in th) + p * (p - 1) // 2
        acov = np.asarray(self.acov, dtype=float)
        if acov.shape != (k, k):
            raise DataError(f"acov must be {k}×{k} (thresholds, then correlations below the diagonal), got {acov.shape}")
        w = 1.0 / np.diag(acov) if self.weights is None else np.asarray(self.weights, dtype=float).ravel()
        if w.shape != (k,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise DataError("the DWLS weights (1/diag(acov)) must be finite and positive")
        object.__setattr__(self, "cor", cor)
        object.__setattr__(self, "thresholds", th)
        object.__setattr__(self, "acov", acov)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "items", tuple(self.items))
        object.__setattr__(self, "nobs", int(self.nobs))

    @property
    def n_thresholds(self) -> tuple[int, ...]:
        return tuple(t.size for t in self.thresholds)

    def vector(self) -> np.ndarray:
        """s: thresholds item by item, then the correlations below the diagonal, column by column."""
        ri, ci = vech_pairs(len(self.items))
        return np.concatenate([np.concatenate(self.thresholds), self.cor[ri, ci]])

    def subset(self, items: Sequence[str]) -> OrdinalSampleStats:
        """The statistics of ``items`` (in that order): the matching rows/columns of cor and acov."""
        pos = {v: i for i, v in enumerate(self.items)}
        missing = [v for v in items if v not in pos]
        if missing:
            raise DataError(f"item(s) {', '.join(map(repr, missing))} are not in the ordinal sample statistics "
                            f"(items: {', '.join(self.items)})")
        idx = [pos[v] for v in items]
        if idx == list(range(len(self.items))):
            return self
        starts = np.concatenate([[0], np.cumsum(self.n_thresholds)])
        th_rows = [np.arange(starts[i], starts[i + 1]) for i in idx]
        T = int(starts[-1])
        p_all = len(self.items)
        ri, ci = vech_pairs(p_all)
        pair_pos = {(int(a), int(b)): T + k for k, (a, b) in enumerate(zip(ri, ci))}
        sub_ri, sub_ci = vech_pairs(len(idx))
        cor_rows = [pair_pos[(max(idx[a], idx[b]), min(idx[a], idx[b]))] for a, b in zip(sub_ri, sub_ci)]
        rows = np.concatenate(th_rows + [np.array(cor_rows, dtype=int)])
        return OrdinalSampleStats(
            tuple(items), tuple(self.thresholds[i] for i in idx), self.cor[np.ix_(idx, idx)],
            self.acov[np.ix_(rows, rows)], self.nobs, self.weights[rows],
        )

