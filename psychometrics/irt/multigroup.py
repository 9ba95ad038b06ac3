"""Multi-group graded response model (and 2PL) by marginal maximum likelihood.

Groups g = 0..G−1 with θ ~ N(μ_g, σ_g²); the reference group (g = 0) is N(0, 1), the other
groups' μ_g and σ_g are estimated (they are identified by the items whose parameters are
constrained equal across groups — the anchors). An item is either *constrained* (one
parameter block ξ_j = (a_j, c_j1..c_j,K−1) for all groups) or *free* (one block per group).
With θ_gq = μ_g + σ_g z_q on the Gauss–Hermite rule (z_q, w_q) of N(0, 1):

    ℓ = Σ_g Σ_u f_gu log Σ_q w_q Π_j P_{j, x_uj}(θ_gq; ξ_{j,g})

The gradient is exact (Fisher identity with the E-step's expected counts r_gjkq):
∂ℓ/∂ξ = Σ_{g,q,k} r_gjkq ∂log P_jk/∂ξ, ∂ℓ/∂μ_g = Σ_{j,q,k} r_gjkq ∂log P_jk/∂θ(θ_gq) and
∂ℓ/∂log σ_g the same with σ_g z_q. The maximiser is BFGS on an unconstrained
parameterisation (c_1, log(c_{v−1} − c_v), log σ_g), started from the pooled single-group
calibration. Reference: Bock & Zimowski (1997); Thissen, Steinberg & Wainer (1988, 1993).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError, DataQualityWarning
from psychometrics.irt._data import _unique_patterns, factorized_labels, prepare_responses, quadrature
from psychometrics.irt._mg_estep import estep
from psychometrics.irt._models import category_probs_grad, intercepts_from_u, intercepts_grad_u, intercepts_to_u

__all__ = ["GroupedResponses", "prepare_groups", "MultiGroupGRM"]


@dataclass(frozen=True)
class GroupedResponses:
    """Responses recoded to 0..K_j−1 on the pooled data, categories collapsed so that every
    category of an item is used in every group, compressed per group."""

    items: tuple[str, ...]
    groups: tuple[str, ...]
    n_categories: tuple[int, ...]
    codes: np.ndarray = field(repr=False)  # (N, J), −1 missing
    group_index: np.ndarray = field(repr=False)  # (N,)
    onehot: tuple[np.ndarray, ...] = field(repr=False)  # per group (U_g, C)
    counts: tuple[np.ndarray, ...] = field(repr=False)  # per group (U_g,)
    offsets: np.ndarray = field(repr=False)
    collapsed: dict[str, int] = field(default_factory=dict)
    n_dropped_rows: int = 0
    patterns: tuple[np.ndarray, ...] = field(default=(), repr=False)  # per group (U_g, J) codes, −1 missing

    @cached_property
    def pairs(self) -> list:
        """Per group the pattern × (item pair, category pair) indicator of Newton's information
        (``_mg_newton.pair_indicator``), built once per data set."""
        from psychometrics.irt._mg_newton import pair_indicator

        return [pair_indicator(self, g) for g in range(len(self.groups))]

    @cached_property
    def code_blocks(self) -> list:
        """Per group and item the patterns sorted by their answer with each category's bounds
        (``_mg_newton.code_blocks``: term C of Newton's information), built once per data set."""
        from psychometrics.irt._mg_newton import code_blocks

        return [code_blocks(self, g) for g in range(len(self.groups))]

    @cached_property
    def joint(self) -> tuple[Any, ...]:
        """Per group its patterns' joint answers by chunks of items (``_mg_estep.joint_answers``: the E-step's
        likelihoods and expected counts without the one-hot products), built once per data set; None per group
        without the patterns (then the E-step takes the one-hot)."""
        from psychometrics.irt._mg_estep import joint_answers

        if len(self.patterns) != len(self.groups):
            return (None,) * len(self.groups)
        return tuple(joint_answers(p, self.n_categories) for p in self.patterns)

    @cached_property
    def onehot_t(self) -> tuple[np.ndarray, ...]:
        """Per group the one-hot's transpose (C, U_g), C-contiguous: the E-steps' (node × pattern) products."""
        return tuple(np.ascontiguousarray(y.T) for y in self.onehot)

    @property
    def n_obs(self) -> tuple[int, ...]:
        return tuple(int(f.sum()) for f in self.counts)


def prepare_groups(data: pd.DataFrame, group: pd.Series, items: list[str], reference: str | None = None) -> GroupedResponses:
    """Pool, recode and split by group (``reference`` first; default: the first level in sorted order).

    Rows without a group or without any response are dropped and counted. A category unused
    in some group is merged into the next lower used category for that item in all groups
    (counted in ``collapsed`` and warned about): a group-specific intercept for a category
    nobody in that group chose has no finite estimate.
    """
    g = pd.Series(group, index=data.index)
    keep = g.notna()
    n_no_group = int((~keep).sum())
    kept = data[items] if keep.all() else data.loc[keep, items]  # no copy of the other columns
    prepared = prepare_responses(data if keep.all() else kept, items)  # (data: its items' codes may be shared)
    answered = (np.ones(len(kept), dtype=bool) if prepared.n_dropped_rows == 0
                else kept.apply(pd.to_numeric, errors="coerce").notna().any(axis=1).to_numpy())
    # group codes by factorizing the labels (each distinct value converted to str once, not every row)
    raw_codes, uniques = factorized_labels(group, g) if keep.all() else pd.factorize(g[keep], sort=False)
    raw_codes = raw_codes[answered]  # the rows prepare_responses kept, in order
    names = pd.Series(uniques).astype(str).tolist()  # the same conversion as of every row, per distinct value
    present = np.bincount(raw_codes, minlength=len(names)) > 0
    levels = sorted({names[i] for i in np.flatnonzero(present)})
    if len(levels) < 2:
        raise DataError("multi-group IRT needs at least two groups in the grouping variable")
    if reference is not None:
        if str(reference) not in levels:
            raise DataError(f"reference group {str(reference)[:40]!r} not in the grouping variable")
        levels.remove(str(reference))
        levels.insert(0, str(reference))
    lookup = np.array([levels.index(v) if v in levels else -1 for v in names], dtype=np.int64)
    gi = lookup[raw_codes]  # = [levels.index(str(v)) for v in labels]
    codes = prepared.codes
    # respondents per (group, pooled distinct pattern): the (group, category) tables and, when no category is
    # collapsed, each group's distinct patterns come from it instead of from the rows (the same integers)
    n_pat = prepared.patterns.shape[0]
    by_pattern = np.bincount(gi * n_pat + prepared.inverse, minlength=len(levels) * n_pat).reshape(len(levels), n_pat)
    ncat: list[int] = []
    collapsed: dict[str, int] = {}
    for j, item in enumerate(prepared.items):
        k = prepared.n_categories[j]
        # (group, category) counts, summed over the patterns (exact integers); a category is kept when every
        # group used it
        pj = prepared.patterns[:, j].astype(np.int64)
        okp = pj >= 0
        table = np.stack([np.bincount(pj[okp], weights=by_pattern[gg, okp], minlength=k) for gg in range(len(levels))])
        used = np.all(table > 0, axis=0)
        kept = np.flatnonzero(used)
        if kept.size < 2:
            raise DataError(
                f"multi-group IRT: item {item[:40]!r} has fewer than two categories used in every group; "
                "leave it out of the DIF analysis"
            )
        if kept.size < k:
            collapsed[item] = int(k - kept.size)
            if codes is prepared.codes:
                codes = codes.copy()
            col = codes[:, j]
            ok = col >= 0
            codes[ok, j] = np.maximum(np.searchsorted(kept, col[ok], side="right") - 1, 0)
        ncat.append(int(kept.size))
    if collapsed:
        warnings.warn(
            "multi-group IRT: categories unused in some group collapsed into the next lower category in all groups: "
            + ", ".join(f"{i} ({n})" for i, n in list(collapsed.items())[:10]),
            DataQualityWarning,
            stacklevel=2,
        )
    offs = np.concatenate([[0], np.cumsum(ncat)]).astype(int)
    ys, fs, ps = [], [], []
    for gg in range(len(levels)):
        if codes is prepared.codes:  # the group's distinct patterns: the pooled ones it answered, in their order
            present = np.flatnonzero(by_pattern[gg])
            pats, cnt = prepared.patterns[present], by_pattern[gg, present]
        else:  # (categories collapsed: the recoded rows)
            pats, _, cnt = _unique_patterns(codes[gi == gg])  # = np.unique(axis=0), ~10× faster
        ps.append(pats)
        y = np.zeros((pats.shape[0], int(offs[-1])))
        for j in range(len(ncat)):
            ok = pats[:, j] >= 0
            y[np.flatnonzero(ok), offs[j] + pats[ok, j]] = 1.0
        ys.append(y)
        fs.append(cnt.astype(float))
    return GroupedResponses(items=prepared.items, groups=tuple(levels), n_categories=tuple(ncat), codes=codes,
                            group_index=gi, onehot=tuple(ys), counts=tuple(fs), offsets=offs, collapsed=collapsed,
                            n_dropped_rows=n_no_group + prepared.n_dropped_rows, patterns=tuple(ps))


#: Newton with a kept (borrowed or BFGS-updated) information: a fresh one when the gradient fell by less than this factor
_SLOW = 0.5


def _modified_hessian(hess: np.ndarray) -> np.ndarray | None:
    """−V |Λ| Vᵀ for −H = V Λ Vᵀ with an eigenvalue ≤ 0 (the moduli floored at 1e−6 of the largest; Nocedal &
    Wright 2006, §3.4): an ascent direction scaled like Newton's far from the maximum, where the exact
    information of the start (a model freeing a strongly non-invariant item) need not be positive
    definite. None when no eigenvalue is positive."""
    vals, vecs = np.linalg.eigh(-0.5 * (hess + hess.T))
    if not np.all(np.isfinite(vals)) or vals.max() <= 0:
        return None
    vals = np.maximum(np.abs(vals), 1e-6 * vals.max())
    out = -(vecs * vals) @ vecs.T
    return 0.5 * (out + out.T)


class MultiGroupGRM:
    """Likelihood, gradient and fit of one multi-group GRM (``free``: items with group-specific parameters).

    The natural parameter vector holds the item blocks (item-major; a free item has one block per
    group, in group order) and then (μ_g, log σ_g) for g = 1..G−1 unless ``latent="fixed"``
    (all groups N(0, 1)).
    """

    def __init__(self, data: GroupedResponses, free: set[int] | frozenset[int] = frozenset(), latent: str = "free",
                 quadrature_points: int = 21, latent_rule: str = "shift") -> None:
        if latent_rule not in ("shift", "reweight"):
            raise ValueError("latent_rule must be 'shift' or 'reweight'")
        self.latent_rule = latent_rule
        self.data = data
        self.free = frozenset(free)
        self.latent = latent
        self.z, self.w = quadrature("gauss-hermite", quadrature_points)
        self.logw = np.log(self.w)
        self.k = np.asarray(data.n_categories)
        n_groups = len(data.groups)
        self.block = np.zeros((self.k.size, n_groups), dtype=int)  # (item, group) → block
        starts, pos, b = [], 0, 0
        for j, kk in enumerate(self.k):
            for gg in range(n_groups if j in self.free else 1):
                starts.append(pos)
                pos += int(kk)
                if j in self.free:
                    self.block[j, gg] = b
                b += 1
            if j not in self.free:
                self.block[j, :] = b - 1
        self.block_start = np.array(starts, dtype=int)
        self.block_k = np.array([self.k[j] for j in range(self.k.size) for _ in range(n_groups if j in self.free else 1)])
        self.n_item_par = pos
        self.n_latent = 2 * (n_groups - 1) if latent == "free" else 0
        self.n_par = pos + self.n_latent
        self.n = float(sum(f.sum() for f in data.counts))
        self.at: tuple | None = None  # (x, ℓ, per-group gradients) of the last evaluation (loglik_grad)

    # ------------------------------------------------------------ parameters
    def latent_params(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """μ_g and σ_g for every group (reference first)."""
        n_groups = len(self.data.groups)
        mu, sigma = np.zeros(n_groups), np.ones(n_groups)
        if self.latent == "free":
            lat = x[self.n_item_par:].reshape(-1, 2)
            mu[1:], sigma[1:] = lat[:, 0], np.exp(lat[:, 1])
        return mu, sigma

    def item_params(self, x: np.ndarray, j: int, g: int) -> tuple[float, np.ndarray]:
        s = self.block_start[self.block[j, g]]
        return float(x[s]), x[s + 1: s + self.k[j]].copy()

    def start_from(self, other: "MultiGroupGRM", x_other: np.ndarray) -> np.ndarray:
        """Start values copied from another model of the same data (block by block)."""
        x = np.zeros(self.n_par)
        for j in range(self.k.size):
            for g in range(len(self.data.groups)):
                s, so = self.block_start[self.block[j, g]], other.block_start[other.block[j, g]]
                x[s: s + self.k[j]] = x_other[so: so + self.k[j]]
        if self.latent == "free" and other.latent == "free":
            x[self.n_item_par:] = x_other[other.n_item_par:]
        return x

    def start_pooled(self, a: np.ndarray, c: list[np.ndarray]) -> np.ndarray:
        x = np.zeros(self.n_par)
        for j in range(self.k.size):
            for g in range(len(self.data.groups)):
                s = self.block_start[self.block[j, g]]
                x[s], x[s + 1: s + self.k[j]] = a[j], c[j]
        return x

    # ------------------------------------------------------------ likelihood
    def loglik_grad(self, x: np.ndarray, xpd: list | None = None) -> tuple[float, np.ndarray]:
        """ℓ and its exact gradient in the natural parameters; with a list ``xpd``, the
        cross-product Σ_u f_u s_u s_uᵀ of the per-pattern scores s_u = ∂log L_u/∂ξ is appended.

        The E-step works on (node × pattern) arrays (the one-hot's transpose, ``onehot_t``), so the
        log-sum-exp over the nodes reduces along contiguous rows (5× faster than per pattern row);
        the posterior weights f_u π_uq are formed as exp(ℓ_uq − m_u) · f_u / Σ_q exp(ℓ_uq − m_u).
        Each group's gradient in its extended coordinates (:func:`~psychometrics.irt._mg_newton.group_positions`)
        is kept with ``x`` in ``self.at`` (a model that frees an item of this one starts there: the same
        per-group parameters, so the same ℓ and per-group gradients, no E-step)."""
        mu, sigma = self.latent_params(x)
        grad = np.zeros(self.n_par)
        total = 0.0
        offs = self.data.offsets
        n_cols = int(offs[-1])
        gexts = []
        for g, (y, yt, f) in enumerate(zip(self.data.onehot, self.data.onehot_t, self.data.counts)):
            theta, logw = self._group_rule(mu[g], sigma[g])
            probs = np.empty((n_cols, theta.size))
            cache = []
            for kk in sorted(set(self.k.tolist())):
                idx = np.flatnonzero(self.k == kk)
                starts = self.block_start[self.block[idx, g]]
                pos = starts[:, None] + np.arange(kk)[None, :]
                p, dp = category_probs_grad("grm", x[pos[:, 0]], x[pos[:, 1:]], theta)  # (J,Q,K), (J,Q,K,K)
                cols = offs[idx][:, None] + np.arange(kk)[None, :]
                probs[cols.ravel()] = p.transpose(0, 2, 1).reshape(-1, theta.size)
                cache.append((idx, pos, cols, p, dp))
            # ℓ_g, f_u π_uq (Q, U), π_uq (with xpd) and the expected counts r (C, Q): irt/_mg_estep.py
            ll_g, lf, post, r = estep(self.data.joint[g], probs, logw, f, yt, y, post=xpd is not None)
            total += ll_g
            post = None if post is None else post.T  # π_uq (U, Q)
            gext = np.zeros(n_cols + 2)
            dtheta = np.zeros(theta.size)
            for idx, pos, cols, p, dp in cache:
                rg = r[cols].transpose(0, 2, 1) / p  # (J, Q, K)
                gext[cols] = np.einsum("jqk,jqkm->jm", rg, dp)
                a = x[pos[:, 0]]
                dpt = a[:, None, None] * dp[..., 1:].sum(axis=3)  # ∂P/∂θ = a Σ_m ∂P/∂c_m
                dtheta += np.einsum("jqk,jqk->q", rg, dpt)
            if self.latent == "free" and g > 0:
                if self.latent_rule == "shift":
                    gext[n_cols] = dtheta.sum()
                    gext[n_cols + 1] = float(dtheta @ (sigma[g] * self.z))
                else:  # ∂ log w_gq = d_q − Σ w_gq d_q for d = ∂ log φ(z_q; μ, σ)
                    nq = lf.sum(axis=1)  # (lf: f_u π_uq)
                    wg = np.exp(logw)
                    for slot, d in ((0, (self.z - mu[g]) / sigma[g] ** 2), (1, ((self.z - mu[g]) / sigma[g]) ** 2 - 1)):
                        gext[n_cols + slot] = float(nq @ (d - wg @ d))
            gexts.append(gext)
            if xpd is not None:
                sc = self._pattern_scores(x, y, post, cache, g, mu[g], sigma[g], logw)
                xpd.append((sc * f[:, None]).T @ sc)
        if xpd is not None:
            xpd[:] = [sum(xpd)]
        grad = self.gradient_from_groups(gexts)
        self.at = (x.copy(), total, gexts)
        return total, grad

    def gradient_from_groups(self, gexts: list[np.ndarray]) -> np.ndarray:
        """∇ℓ in this model's parameters from the groups' gradients in extended coordinates (the item
        columns' ranges, then μ_g, log σ_g), which do not depend on which items are free."""
        grad = np.zeros(self.n_par)
        for where, gext in zip(self.group_positions, gexts):
            grad[where] += gext[:where.size]
        return grad

    @cached_property
    def group_positions(self) -> list[np.ndarray]:
        """Per group the positions of its extended coordinates in the parameter vector."""
        from psychometrics.irt._mg_newton import group_positions

        return [group_positions(self, g) for g in range(len(self.data.groups))]

    def _pattern_scores(self, x: np.ndarray, y: np.ndarray, post: np.ndarray, cache: list, g: int, mu: float,
                        sigma: float, logw: np.ndarray) -> np.ndarray:
        """s_u = Σ_q π_uq ∂log f(x_u | θ_gq)/∂ξ for the patterns of group g (Fisher identity per pattern)."""
        sc = np.zeros((y.shape[0], self.n_par))
        dth = np.zeros_like(post)  # Σ_j ∂log P_j(x_uj | θ_q)/∂θ
        for idx, pos, cols, p, dp in cache:
            dlog = dp / p[..., None]  # (J, Q, K, m)
            dlt = x[pos[:, 0]][:, None, None] * dlog[..., 1:].sum(axis=3)  # (J, Q, K)
            dth += y[:, cols.ravel()] @ dlt.transpose(0, 2, 1).reshape(-1, post.shape[1])
            for jj in range(len(idx)):
                for k in range(cols.shape[1]):
                    rows = np.flatnonzero(y[:, cols[jj, k]] > 0)
                    sc[np.ix_(rows, pos[jj])] += post[rows] @ dlog[jj, :, k, :]
        if self.latent == "free" and g > 0:
            o = self.n_item_par + 2 * (g - 1)
            if self.latent_rule == "shift":
                sc[:, o] = (post * dth).sum(axis=1)
                sc[:, o + 1] = (post * dth) @ (sigma * self.z)
            else:
                wg = np.exp(logw)
                for slot, d in ((0, (self.z - mu) / sigma**2), (1, ((self.z - mu) / sigma) ** 2 - 1)):
                    sc[:, o + slot] = post @ (d - wg @ d)
        return sc

    def _group_rule(self, mu: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
        """Nodes and log weights of a group's N(μ, σ²): shifted and scaled Gauss–Hermite nodes
        (``shift``) or the N(0, 1) nodes reweighted by φ(z; μ, σ²)/φ(z) and renormalised
        (``reweight``, the rule of the Python ``mirt`` package, used for the reference check)."""
        if self.latent_rule == "shift":
            return mu + sigma * self.z, self.logw
        lw = self.logw - 0.5 * ((self.z - mu) / sigma) ** 2 - np.log(sigma) + 0.5 * self.z**2
        mx = lw.max()
        return self.z, lw - (mx + np.log(np.exp(lw - mx).sum()))

    # ------------------------------------------------------------ unconstrained parameterisation
    @cached_property
    def _intercept_blocks(self) -> list[tuple[int, int]]:
        """(index of c_1, number of intercepts) per parameter block (a, c…)."""
        return [(int(s) + 1, int(kk) - 1) for s, kk in zip(self.block_start, self.block_k)]

    def _to_u(self, x: np.ndarray) -> np.ndarray:
        return intercepts_to_u(x, self._intercept_blocks)

    def _from_u(self, u: np.ndarray) -> np.ndarray:
        return intercepts_from_u(u, self._intercept_blocks)

    def _grad_u(self, u: np.ndarray, gx: np.ndarray) -> np.ndarray:
        return intercepts_grad_u(u, gx, self._intercept_blocks)

    def _inverse_curvature(self, u: np.ndarray) -> np.ndarray:
        """BFGS's starting inverse Hessian of −ℓ/N in u: the inverse cross-product information (BHHH),
        so that the quasi-Newton steps are well scaled from the first one."""
        x = self._from_u(u)
        parts: list = []
        self.loglik_grad(x, parts)
        jac = np.array([self._grad_u(u, e) for e in np.eye(self.n_par)])  # rows: ∂x/∂u_i
        info = jac @ parts[0] @ jac.T / self.n
        vals, vecs = np.linalg.eigh(0.5 * (info + info.T))
        if not np.all(np.isfinite(vals)) or vals.max() <= 0:
            return np.eye(self.n_par)
        vals = np.maximum(vals, 1e-6 * vals.max())
        inv = (vecs / vals) @ vecs.T
        return 0.5 * (inv + inv.T)

    def fit(self, x0: np.ndarray, gtol: float = 1e-7, max_iter: int = 2000, method: str = "auto",
            chord: list[np.ndarray] | None = None, start: tuple | None = None) -> dict:
        """Maximise ℓ from ``x0``; converged when max |∂ℓ/∂ξ| / N < 1e-5.

        ``method``: ``newton`` (Newton's method with the exact observed information of
        ``_mg_newton``, to max |∂ℓ/∂ξ| / N < 1e-8: the same maximum as BFGS, more tightly), ``bfgs``
        (BFGS on the unconstrained parameterisation), or ``auto``: Newton for the ``shift`` latent
        rule, BFGS for ``reweight`` and wherever Newton fails (an information that is not negative
        definite at the start, or no convergence in 50 steps). ``chord``: per-group Hessians (the
        :meth:`hessians` of another model of the same data at its estimate, at or near ``x0``) for
        the first steps."""
        if method not in ("auto", "newton", "bfgs"):
            raise ValueError("method must be 'auto', 'newton' or 'bfgs'")
        if method != "bfgs" and self.latent_rule == "shift":
            out = self._fit_newton(x0, chord=chord, start=start)
            if out is not None:
                return out
        return self._fit_bfgs(x0, gtol, max_iter)

    @cached_property
    def _intercept_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions of consecutive intercepts (c_v, c_{v+1}) of every block (for the ordering check)."""
        lo = [f + v for f, m in self._intercept_blocks for v in range(m - 1)]
        return np.array(lo, dtype=np.int64), np.array(lo, dtype=np.int64) + 1

    def _valid(self, x: np.ndarray) -> bool:
        """Finite, |x| ≤ 50, and every block's intercepts strictly decreasing."""
        if not np.all(np.isfinite(x)) or np.any(np.abs(x) > 50):
            return False
        lo, hi = self._intercept_pairs
        return bool(np.all(x[hi] - x[lo] < 0))

    def _fit_newton(self, x0: np.ndarray, tol: float = 1e-8, max_iter: int = 50,
                    chord: list[np.ndarray] | None = None, start: tuple | None = None) -> dict | None:
        """Newton steps x ← x − H⁻¹∇ℓ with the exact information H = −∇²ℓ of the start, kept while
        the gradient falls at least tenfold per step (chord Newton: each step then costs one E-step),
        else recomputed; between fresh informations the kept one takes the BFGS update of each step's
        exact gradient change (superlinear instead of linear convergence of the chord). Step halving
        keeps ℓ from decreasing and the intercepts ordered. Converged when max |∂ℓ/∂ξ| / N < ``tol``;
        A fresh H that is not negative definite is replaced by its eigenvalues' moduli (:func:`_modified_hessian`); None without convergence. ``start``: ℓ and the groups' gradients
        at ``x0`` (``self.at`` of a model with the same per-group parameters), then no E-step there."""
        from psychometrics.irt._mg_newton import assemble_hessian, loglik_grad_hess

        pairs = self.data.pairs
        x = np.array(x0, dtype=float)
        if not self._valid(x):
            return None
        if chord is not None:
            if start is not None:  # the same ℓ and per-group gradients as the model x0 was copied from
                ll, grad = start[0], self.gradient_from_groups(start[1])
            else:
                ll, grad = self.loglik_grad(x)
            hess, fresh = assemble_hessian(self, chord), False
        else:
            ll, grad, hess, _ = loglik_grad_hess(self, x, pairs)
            fresh = True
        chol, prev, stale = None, np.inf, False
        for it in range(max_iter + 1):
            worst = float(np.max(np.abs(grad)) / self.n) if grad.size else 0.0
            if worst < tol:
                return {"x": x, "loglik": ll, "max_abs_gradient": worst, "converged": True, "iterations": it,
                        "method": "newton"}
            if stale or (not fresh and worst > _SLOW * prev):  # overshot or slow: a fresh information at x
                ll, grad, hess, _ = loglik_grad_hess(self, x, pairs)
                chol, fresh, stale = None, True, False
            if chol is None:
                try:
                    chol = np.linalg.cholesky(-hess)
                except np.linalg.LinAlgError:
                    if fresh:  # an exact information that is not positive definite: its eigenvalues' moduli
                        hess = _modified_hessian(hess)
                        if hess is None:
                            return None
                        continue
                    ll, grad, hess, _ = loglik_grad_hess(self, x, pairs)  # a borrowed information: a fresh one
                    fresh = True
                    continue
            step = np.linalg.solve(chol.T, np.linalg.solve(chol, grad))
            t = 1.0
            for _ in range(30):
                trial = x + t * step
                if self._valid(trial):
                    ll_t, grad_t = self.loglik_grad(trial)
                    if ll_t >= ll - 1e-12 * abs(ll):
                        break
                t *= 0.5
            else:
                return None
            if t < 1.0 and not fresh:  # the kept information overshot: recompute it at the new point
                stale = True
            else:  # BFGS update of B = −H with the step s and the gradient change y (yᵀs > 0 keeps B > 0)
                sv, yv = trial - x, grad - grad_t
                bs = -hess @ sv
                ys, sbs = float(yv @ sv), float(sv @ bs)
                if ys > 0 and sbs > 0 and np.isfinite(ys):
                    hess = hess + np.outer(bs, bs) / sbs - np.outer(yv, yv) / ys
                    chol = None
            x, ll, grad, prev, fresh = trial, ll_t, grad_t, worst, False
        return None

    def hessians(self, x: np.ndarray) -> list[np.ndarray]:
        """The groups' Hessians ∇²ℓ_g at ``x`` in extended coordinates (a chord for nearby models)."""
        from psychometrics.irt._mg_newton import loglik_grad_hess

        return loglik_grad_hess(self, x, self.data.pairs)[3]

    def _fit_bfgs(self, x0: np.ndarray, gtol: float = 1e-7, max_iter: int = 2000) -> dict:
        """Maximise ℓ by BFGS from ``x0``; converged when max |∂ℓ/∂ξ| / N < 1e-5."""
        from scipy.optimize import minimize

        def fun(u: np.ndarray) -> tuple[float, np.ndarray]:
            x = self._from_u(u)
            if not np.all(np.isfinite(x)) or np.any(np.abs(x) > 50):
                return np.inf, np.zeros_like(u)
            ll, gx = self.loglik_grad(x)
            return -ll / self.n, -self._grad_u(u, gx) / self.n

        u, iterations = self._to_u(x0), 0
        for _ in range(3):  # BFGS may stop on lost precision far from the optimum: restart
            res = minimize(fun, u, jac=True, method="BFGS",
                           options={"gtol": gtol, "maxiter": max_iter, "hess_inv0": self._inverse_curvature(u)})
            u, iterations = res.x, iterations + int(res.nit)
            x = self._from_u(u)
            ll, grad = self.loglik_grad(x)
            worst = float(np.max(np.abs(grad)) / self.n) if grad.size else 0.0
            if worst < 1e-6:
                break
        return {"x": x, "loglik": ll, "max_abs_gradient": worst, "converged": bool(worst < 1e-5),
                "iterations": iterations}
