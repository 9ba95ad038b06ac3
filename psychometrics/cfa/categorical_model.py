r"""The categorical (DWLS) model: free parameters → model-implied thresholds and polychoric
correlations, their Jacobian, and the Gauss–Newton minimisation of the DWLS discrepancy.

See :mod:`psychometrics.cfa.categorical` for the model and :mod:`psychometrics.cfa.wls`
for the discrepancy and its weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from psychometrics.cfa import wls
from psychometrics.cfa.estimation import CompiledModel, implied, jacobian
from psychometrics.cfa.specification import ModelSpec

__all__ = ["CategoricalModel", "dwls_fmin", "dwls_derivatives", "gauss_newton"]

_CONT = ("lambda", "beta", "psi", "theta", "nu", "alpha")


class CategoricalModel:
    """Maps the free-parameter vector onto implied thresholds/correlations and their Jacobian."""

    def __init__(self, spec: ModelSpec, n_thresholds: Sequence[int]):
        self.spec = spec
        cont = replace(spec, parameters=tuple(p for p in spec.parameters if p.matrix in _CONT))
        self.cm = CompiledModel(cont)
        self.G = spec.ngroups
        self.p = len(spec.observed)
        self.n_free = spec.n_free
        self.nth = np.asarray(n_thresholds, dtype=int)
        self.T = int(self.nth.sum())
        self.th_item = np.repeat(np.arange(self.p), self.nth)
        self.th_start = np.concatenate([[0], np.cumsum(self.nth)])[:-1]
        self.ri, self.ci = wls._pairs(self.p)
        self.k = self.T + len(self.ri)
        self.tau_base, self.tau_plan, self.delta_base, self.delta_plan = [], [], [], []
        for g in range(self.G):
            tb, tpos, tsrc = np.zeros(self.T), [], []
            db, dpos, dsrc = np.ones(self.p), [], []
            for prm in spec.parameters:
                if prm.group != g:
                    continue
                if prm.matrix == "tau":
                    t = self.th_start[prm.row] + prm.col
                    if prm.free:
                        tpos.append(t)
                        tsrc.append(prm.index)
                    else:
                        tb[t] = prm.value
                elif prm.matrix == "delta":
                    if prm.free:
                        dpos.append(prm.row)
                        dsrc.append(prm.index)
                    else:
                        db[prm.row] = prm.value
            self.tau_base.append(tb)
            self.tau_plan.append((np.array(tpos, dtype=int), np.array(tsrc, dtype=int)))
            self.delta_base.append(db)
            self.delta_plan.append((np.array(dpos, dtype=int), np.array(dsrc, dtype=int)))
        # fixed per model (issue 16: the Jacobian is evaluated at every Gauss–Newton step): whether a group's
        # free rows are distinct parameters (then a plain indexed add does what np.add.at does), and for each
        # item the rows of its thresholds and of the correlations it enters, as index arrays
        self._distinct = [np.unique(fi).size == fi.size for fi in self.cm.free_index]
        self._item_rows = [(np.flatnonzero(self.th_item == i), np.flatnonzero(self.ri == i),
                            np.flatnonzero(self.ci == i)) for i in range(self.p)]
        # per group, the entries of its free scales' columns: the threshold rows and the correlation rows of each
        # scale's item, with the position of the scale in delta_plan (one indexed add instead of a loop per item
        # when the scales are distinct parameters: each entry is then written once, 0 + value, as in the loop)
        self._delta_rows = []
        for g in range(self.G):
            pos, src = self.delta_plan[g]
            parts = [[], [], [], [], [], []]
            for k, i in enumerate(pos):
                rows, m1, m2 = self._item_rows[i]
                for a, b, idx in ((0, 1, rows), (2, 3, m1), (4, 5, m2)):
                    parts[a].append(idx)
                    parts[b].append(np.full(idx.size, k, dtype=int))
            cat = [np.concatenate(x) if x else np.zeros(0, dtype=int) for x in parts]
            self._delta_rows.append((np.unique(src).size == src.size, *cat))
        # per group: the parameters its statistics can depend on (its free rows, thresholds and scales) —
        # every other column of Δ_g is zero — and their positions among those columns
        self._struct = []
        for g in range(self.G):
            cols = np.unique(np.concatenate([self.cm.free_index[g], self.tau_plan[g][1], self.delta_plan[g][1]]))
            self._struct.append((cols, np.searchsorted(cols, self.cm.free_index[g]),
                                 np.searchsorted(cols, self.tau_plan[g][1]), np.searchsorted(cols, self.delta_plan[g][1])))

    def parts(self, x: np.ndarray) -> list[dict[str, np.ndarray]]:
        """Per group: model matrices, implied moments of x*, τ, δ."""
        out = []
        for g, mats in enumerate(self.cm.matrices(x)):
            imp = implied(mats)
            tau = self.tau_base[g].copy()
            pos, src = self.tau_plan[g]
            tau[pos] = x[src]
            dl = self.delta_base[g].copy()
            pos, src = self.delta_plan[g]
            dl[pos] = x[src]
            out.append({"mats": mats, "imp": imp, "tau": tau, "delta": dl})
        return out

    def sigma(self, part: dict[str, Any]) -> np.ndarray:
        imp, tau, dl = part["imp"], part["tau"], part["delta"]
        S, mu = imp["Sigma"], imp["mu"]
        it = self.th_item
        th = dl[it] * (tau - mu[it])
        cor = dl[self.ri] * dl[self.ci] * S[self.ri, self.ci]
        return np.concatenate([th, cor])

    def jacobian(self, g: int, part: dict[str, Any]) -> np.ndarray:
        """Δ_g = ∂σ_g/∂x' (k × n_free); shared parameters sum their columns."""
        D = np.zeros((self.k, self.n_free))
        self._fill_jacobian(g, part, D, self.cm.free_index[g], self.tau_plan[g][1], self.delta_plan[g][1])
        return D

    def jacobian_columns(self, g: int, part: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """``(Δ_g[:, cols], cols)`` for cols = the columns of :meth:`jacobian` with a non-zero entry, built
        directly on the parameters group g's statistics can depend on (issue 16: in a multi-group model most of
        Δ_g's columns are zero). The same operations on the same entries: equal to ``jacobian`` bit for bit."""
        cols, fi, ts, ds = self._struct[g]
        D = np.zeros((self.k, cols.size), order="F")  # the layout of jacobian(...)[:, cols]: the same BLAS calls after
        self._fill_jacobian(g, part, D, fi, ts, ds)
        nz = np.any(D != 0.0, axis=0)
        return (D, cols) if nz.all() else (np.asfortranarray(D[:, nz]), cols[nz])

    def _fill_jacobian(self, g: int, part: dict[str, Any], D: np.ndarray, free_cols: np.ndarray,
                       tau_cols: np.ndarray, delta_cols: np.ndarray) -> None:
        """Add Δ_g's entries into ``D`` (zeros), parameter columns at ``free_cols`` (the group's free rows),
        ``tau_cols`` and ``delta_cols`` (its free thresholds and scales)."""
        imp, tau, dl = part["imp"], part["tau"], part["delta"]
        S, mu = imp["Sigma"], imp["mu"]
        it, ri, ci, T = self.th_item, self.ri, self.ci, self.T
        index = self.cm.row_index[g]
        if index.K:
            dS, dM = jacobian(imp, index)
            Dc = np.empty((index.K, self.k))
            Dc[:, :T] = -dM[:, it] * dl[it]
            Dc[:, T:] = dS[:, ri, ci] * (dl[ri] * dl[ci])
            if self._distinct[g]:  # each column once: 0 + Dc, as np.add.at adds it
                D.T[free_cols] += Dc
            else:
                np.add.at(D.T, free_cols, Dc)
        pos = self.tau_plan[g][0]
        if pos.size:
            np.add.at(D, (pos, tau_cols), dl[it[pos]])
        distinct, th_rows, th_k, q1, k1, q2, k2 = self._delta_rows[g]
        if distinct:  # the loop below, at once (its entries are distinct: the same single operations)
            D[th_rows, delta_cols[th_k]] += tau[th_rows] - mu[it[th_rows]]
            D[T + q1, delta_cols[k1]] += dl[ci[q1]] * S[ri[q1], ci[q1]]
            D[T + q2, delta_cols[k2]] += dl[ri[q2]] * S[ri[q2], ci[q2]]
            return
        for i, col in zip(self.delta_plan[g][0], delta_cols):
            rows, m1, m2 = self._item_rows[i]
            D[rows, col] += tau[rows] - mu[i]
            D[T + m1, col] += dl[ci[m1]] * S[i, ci[m1]]
            D[T + m2, col] += dl[ri[m2]] * S[ri[m2], i]


# ---------------------------------------------------------------- estimation
def dwls_fmin(model: CategoricalModel, moments: Sequence[wls.GroupMoments], fg: np.ndarray, x: np.ndarray) -> float:
    return _fmin_and_parts(model, moments, fg, x)[0]


def _fmin_and_parts(model: CategoricalModel, moments: Sequence[wls.GroupMoments], fg: np.ndarray,
                    x: np.ndarray) -> tuple[float, list]:
    """:func:`dwls_fmin` and the model's ``parts(x)`` it was computed from (Gauss–Newton hands the accepted
    point's parts on to :func:`dwls_derivatives` instead of computing them again: the same numbers)."""
    parts = model.parts(x)
    total = 0.0
    for g, (part, gm) in enumerate(zip(parts, moments)):
        r = gm.s - model.sigma(part)
        total += 0.5 * fg[g] * float(np.sum(gm.w * r * r))
    return total, parts


#: From this many rows on the DWLS information is accumulated over each group's non-zero Jacobian columns.
#: The same sums regrouped, but BLAS rounds a sub-block differently, and the Gauss–Newton iterations then
#: stop ~1e-9 (relative) elsewhere; below it (the demo, n = 400) every number stays bit-for-bit as before.
SPARSE_INFORMATION_ROWS = 10_000


def _large_multigroup(moments: Sequence[wls.GroupMoments]) -> bool:
    """Several groups with :data:`SPARSE_INFORMATION_ROWS` rows or more in all: the information as one
    ``dsyrk`` per group, the Gauss–Newton step by Cholesky."""
    return len(moments) > 1 and sum(gm.n for gm in moments) >= SPARSE_INFORMATION_ROWS


def dwls_derivatives(model: CategoricalModel, moments: Sequence[wls.GroupMoments], fg: np.ndarray, x: np.ndarray,
                     parts: list | None = None):
    """F, its gradient and the Gauss–Newton information at ``x`` (``parts``: ``model.parts(x)`` if already
    computed)."""
    sparse = _large_multigroup(moments)
    f = 0.0
    grad = np.zeros(model.n_free)
    A = np.zeros((model.n_free, model.n_free))
    for g, (part, gm) in enumerate(zip(model.parts(x) if parts is None else parts, moments)):
        r = gm.s - model.sigma(part)
        f += 0.5 * fg[g] * float(np.sum(gm.w * r * r))
        if sparse:
            # only the parameters this group's statistics depend on: in a multi-group model most columns of
            # Δ_g are zero (issue 16: the full (parameters × parameters) product per group and iteration was
            # most of the invariance ladder's algebra); the other entries add exact zeros. Δ_g's non-zero
            # columns are built directly (jacobian_columns: the same entries)
            Dg, cols = model.jacobian_columns(g, part)
            WD = Dg * gm.w[:, None]
            grad[cols] -= fg[g] * (WD.T @ r)
            _add_gram(A, cols, fg[g], Dg, gm.w)
        else:
            D = model.jacobian(g, part)
            WD = D * gm.w[:, None]
            grad -= fg[g] * (WD.T @ r)
            A += fg[g] * (WD.T @ D)
    return f, grad, A


def _add_gram(A: np.ndarray, cols: np.ndarray, f: float, D: np.ndarray, w: np.ndarray) -> None:
    """A[cols, cols] += f·D'WD (W = diag w ≥ 0) as one ``dsyrk`` of W^½D — half the flops of the product, its upper
    triangle mirrored — added through flat indices (issue 16, sixth session: the Gauss–Newton information of the
    ladder's fits; the same sums to rounding, ≈ 3e-16 of the largest entry)."""
    from scipy.linalg import blas

    U = blas.dsyrk(f, D * np.sqrt(w)[:, None], trans=1)
    U += np.triu(U, 1).T
    n = A.shape[0]
    A.reshape(-1)[(cols[:, None] * n + cols[None, :]).ravel()] += U.ravel(order="F")


def _solve(A: np.ndarray, b: np.ndarray, spd: bool = False) -> np.ndarray:
    """The Gauss–Newton step A⁻¹b on the diagonally scaled A (+1e-12 I). ``spd`` (the multi-group fits from
    :data:`SPARSE_INFORMATION_ROWS` rows): by Cholesky (LAPACK ``dposv``, a third of the LU's work; issue 16,
    sixth session) — the same step to rounding —, by the LU as before when the matrix is not positive definite."""
    scale = np.sqrt(np.clip(np.diag(A), 1e-300, None))
    As = A / np.outer(scale, scale)
    if spd:
        from scipy.linalg import lapack

        _, x, info = lapack.dposv(As + 1e-12 * np.eye(len(b)), b / scale)
        if info == 0 and np.all(np.isfinite(x)):
            return x / scale
    try:
        return np.linalg.solve(As + 1e-12 * np.eye(len(b)), b / scale) / scale
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(As, b / scale, rcond=None)[0] / scale


def gauss_newton(model, moments, fg, x0, max_iter: int, tol: float = 1e-18) -> tuple[np.ndarray, bool, int, str]:
    """Gauss–Newton with backtracking on the DWLS discrepancy.

    Stops when the Gauss–Newton decrement g'A⁻¹g (≈ twice the remaining decrease of
    F) is below ``tol``; the DWLS fit is nearly linear near the optimum, so a few
    iterations reach ≈1e-9 in the estimates (lavaan's ``nlminb`` stops ≈1e-6 away).
    """
    x = np.array(x0, dtype=float)
    if model.n_free == 0:
        return x, True, 0, "no free parameters"
    f, g, A = dwls_derivatives(model, moments, fg, x)
    spd = _large_multigroup(moments)  # (the information of dwls_derivatives' dsyrk path)
    for it in range(1, max_iter + 1):
        step = _solve(A, -g, spd)
        dec = float(-g @ step)
        if not np.isfinite(dec) or dec < 0:
            step, dec = -g, float(g @ g)
        if dec < tol:
            return x, True, it - 1, "converged"
        t = 1.0
        while True:
            x_new = x + t * step
            f_new, parts_new = _fmin_and_parts(model, moments, fg, x_new)
            if np.isfinite(f_new) and f_new <= f - 1e-4 * t * dec:
                break
            t *= 0.5
            if t < 1e-10:  # no decrease possible at machine precision
                ok = dec < 1e-12
                return x, ok, it, "converged" if ok else "line search failed to decrease the discrepancy"
        if f_new >= f and dec < 1e-12:  # no decrease left at machine precision
            return x_new, True, it, "converged"
        x = x_new
        f, g, A = dwls_derivatives(model, moments, fg, x, parts_new)
    return x, False, max_iter, f"no convergence after {max_iter} iterations"

