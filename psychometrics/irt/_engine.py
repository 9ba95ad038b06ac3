"""Marginal maximum likelihood for the GRM / GPCM / 2PL: Bock–Aitkin EM, then Newton.

Single group, θ ~ N(0, 1) on a fixed quadrature. The marginal log-likelihood

    ℓ(ξ) = Σ_u f_u log Σ_q w_q Π_j P_{j, x_uj}(θ_q; ξ_j)

is computed on compressed response patterns u (frequency f_u) through the one-hot
matrix Y (U × Σ K_j): log f(x_u | θ_q) = (Y log P)_uq and the expected counts of the
E-step are r = Yᵀ (f ∘ π) (Bock & Aitkin 1981). The M-step is one Fisher-scoring step
per item with step halving (the item's expected complete-data log-likelihood must not
decrease; GRM intercepts stay ordered). Near the optimum the engine switches to Newton
on ℓ itself with the observed information by Louis (1982):

    −∇²ℓ = −Σ_j Σ_qk r_jkq ∇² log P_jk(θ_q) − Σ_u f_u Var_π(s_u),   s_uq = Σ_j ∇ log P_{j, x_uj}(θ_q)

(the first term by central differences of the analytic item score with r fixed; the
second exactly). Convergence is judged on the exact marginal gradient (Fisher identity),
not on the change in ℓ. The inverse of the observed information gives the SEs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np

from psychometrics._linalg import in_lane, usable_cores
from psychometrics.irt._data import IRTData
from psychometrics.irt._models import category_probs, category_probs_grad

__all__ = ["Engine", "worker_threads"]

#: E-steps over more distinct patterns than this run block by block (the same sums, r added per block)
_ESTEP_BLOCK = 32_768
#: above this many distinct patterns the E-step takes the items four at a time (irt/_grouped.py; a subscale
#: at 10⁵–10⁶ rows: ≈ 40 % faster than its dense one-hot; the same sums regrouped — the demo's ≤ 400
#: patterns keep the one-hot)
_GROUPED_ABOVE = 5_000
#: the most threads the IRT code runs one piece of work on (a blocked E-step's row blocks, the information's
#: nodes, the IRT step's concurrent subscale calibrations and DIF tasks): see :func:`worker_threads`
MAX_THREADS = 2
#: above this many distinct patterns the Louis information's per-pattern score means are one matrix product
#: (and the GRM's second moments per node): a subscale at 10⁵–10⁶ rows (≈ 4,000–25,000 patterns) as the
#: total; the same sums in BLAS's order (the information to ≈ 10⁻¹¹ of its largest entry: outer products
#: minus the score means' nearly cancel), the demo's few hundred patterns unchanged. Faster from a few hundred
#: patterns on (measured: 1,000 patterns 8 → 3 ms, 4,000 ≈ 25 → 8 ms); was 5,000 (fifth session: the two
#: five-item subscales at 10⁵ rows, ≈ 4,200 patterns, took the per-item loop)
_BLAS_SCORES_ABOVE = 1_000


def worker_threads() -> int:
    """Threads for the IRT code's own work: ``MAX_THREADS`` at most, the cores this process may use
    (``_linalg.usable_cores``), and 1 — in the calling thread, no pool — inside a pipeline lane
    (``_linalg.in_lane``: the step shares the cores with the other lanes, each with one thread). The one
    rule for the engine's E-step and information and the IRT step's calibrations and DIF tasks; the numbers
    do not depend on it, bit for bit (tests/test_irt.py::test_threaded_estep_and_information_equal_one_thread,
    tests/test_pipeline_steps_irt.py)."""
    return 1 if in_lane() else max(1, min(MAX_THREADS, usable_cores()))


def _slope_is_theta_times_intercepts(glog: np.ndarray, theta: np.ndarray) -> bool:
    """∂log P/∂a = θ Σ_m ∂log P/∂c_m for every category and node (a cumulative-link GRM, logit or probit:
    P_k = F(aθ + c_k) − F(aθ + c_{k+1})), checked on the values themselves (to rounding)."""
    slope, from_c = glog[:, :, 0], theta[None, :] * glog[:, :, 1:].sum(axis=2)
    return bool(np.all(np.abs(slope - from_c) <= 1e-12 * (1.0 + np.abs(slope))))


def _score_columns(glog: np.ndarray, q: int, kmax: int) -> tuple[np.ndarray, np.ndarray]:
    """The score means' product table: ∇log P of every (one-hot column, parameter) over the nodes (Q ×
    columns) without the columns that are zero at every node, then one zero column; and per one-hot column
    (a last row for a missing answer) the table's column of each of its item's parameters.

    In the GRM ∂log P_k/∂c_m is zero unless m ∈ {k, k+1} (P_k = F(aθ + c_k) − F(aθ + c_{k+1})): of the
    K parameter columns of a category at most three are not zero (364 of 705 for 28 five-category items),
    so the product π · table takes about half the flops; a dropped column's entries are exact zeros, the
    others the same dot products (tests/test_irt.py::test_score_means_without_zero_columns_equal_the_full_product)."""
    full = glog.transpose(1, 0, 2).reshape(q, -1)
    keep = np.flatnonzero(np.any(full != 0.0, axis=0))
    where = np.full(full.shape[1] + kmax, keep.size, dtype=np.intp)  # (dropped and missing: the zero column)
    where[keep] = np.arange(keep.size)
    table = np.concatenate([full[:, keep], np.zeros((q, 1))], axis=1)
    return table, where.reshape(-1, kmax)


def _accumulate_by_node(acc: list, ctables: np.ndarray, xs: np.ndarray, wq: np.ndarray, offs: np.ndarray,
                        syrk, pool=None, threads: int = 1) -> list:  # noqa: ANN001 - BLAS routine, a thread pool
    """Σ w t tᵀ per node over (pattern, node) cells, t the cell's intercept scores (J·(K−1)): the slopes'
    scores are θ_q times their item's intercept sums, so the full second moment is L_q A_q L_qᵀ
    (:func:`_expand_by_node`) — (J(K−1))² instead of (JK)² per cell (0.64 of the flops for K = 5).

    Node by node: the cells of a node that carry posterior weight (w > 10⁻¹³ of the chunk's largest), in
    pattern order, their rows gathered from that node's small table ``ctables[node]`` (one row per item
    category, the last one zeros for a missing answer)."""
    at = offs[None, :] + xs
    at[xs < 0] = ctables.shape[1] - 1
    wt = np.ascontiguousarray(wq.T)
    cut = 1e-13 * wt.max()

    def nodes(which: range) -> None:
        for node in which:
            uu = np.flatnonzero(wt[node] > cut)
            if uu.size:
                t = ctables[node].take(at[uu], axis=0).reshape(uu.size, -1)
                t *= np.sqrt(wt[node, uu])[:, None]
                acc[node] = syrk(1.0, t.T, beta=1.0, c=acc[node], overwrite_c=1)

    # each node's sum is its own (the nodes split between threads: every node's rows added in the same order);
    # with a pool the caller waits for the returned futures before the next chunk
    if pool is None:
        nodes(range(wt.shape[0]))
        return []
    return [pool.submit(nodes, range(i, wt.shape[0], threads)) for i in range(threads)]


def _expand_by_node(acc: list, theta: np.ndarray, n_items: int, kmax: int) -> np.ndarray:
    """Σ_q L_q A_q L_qᵀ (upper triangles A_q from syrk): L_q maps an item's intercept scores to its
    (a, c_1..c_{K−1}) scores — the a row θ_q × their sum."""
    m = kmax - 1
    out = np.zeros((n_items * kmax, n_items * kmax))
    lmat = np.zeros((n_items * kmax, n_items * m))
    for j in range(n_items):
        lmat[j * kmax + 1: (j + 1) * kmax, j * m: (j + 1) * m] = np.eye(m)
    for node, a in enumerate(acc):
        full = np.triu(a) + np.triu(a, 1).T
        for j in range(n_items):
            lmat[j * kmax, j * m: (j + 1) * m] = theta[node]
        out += lmat @ full @ lmat.T
    return np.asfortranarray(out)


class Engine:
    """Likelihood machinery for one calibration (the parameter vector is item-major)."""

    def __init__(self, data: IRTData, model: str, theta: np.ndarray, weights: np.ndarray,
                 grouped: bool | None = None) -> None:
        self.data = data
        self.model = model
        # above _GROUPED_ABOVE patterns (or ``grouped``) the E-step's products take the items a few at a time
        # (irt/_grouped.py: about a quarter of the one-hot's products), in row blocks of _ESTEP_BLOCK patterns
        self._groups = None
        if grouped or (grouped is None and data.patterns.shape[0] > _GROUPED_ABOVE):
            from psychometrics.irt._grouped import ItemGroups

            self._groups = ItemGroups(data.patterns, data.n_categories, _ESTEP_BLOCK, data.counts)
            self.y, self._y_blocks, self.offs = None, self._groups.blocks, self._groups.offs
        else:
            (self.y, self.offs), self._y_blocks = data.onehot(), None
        self.f = data.counts
        self.n = float(self.f.sum())
        self.theta = theta
        self.logw = np.log(weights)
        self.k = np.asarray(data.n_categories)
        self.n_par = int(self.offs[-1])  # K_j parameters per item: a and K_j - 1 intercepts
        self.groups: dict[int, np.ndarray] = {}
        for kk in sorted(set(self.k.tolist())):
            self.groups[kk] = np.flatnonzero(self.k == kk)
        # index arrays: for group K, the global positions of (a, c_1..c_{K-1}) per item
        self.index = {kk: self.offs[idx][:, None] + np.arange(kk)[None, :] for kk, idx in self.groups.items()}
        self._last: tuple[bytes, tuple] | None = None
        self._post_buffers: list[np.ndarray] = []  # (blocked E-steps: _post_buffer)
        #: above this many patterns the Louis information takes the one-product path (the subsample start sets 0)
        self.blas_scores_above = _BLAS_SCORES_ABOVE

    # ------------------------------------------------------------ start values
    def start(self) -> np.ndarray:
        x = np.zeros(self.n_par)
        if self.y is not None:
            counts = self.y.T @ self.f  # (C,)
        else:  # integer counts: the same sums block by block (of the groups' joint answers, then per category)
            counts = self._groups.marginals(
                sum(yb.T @ self.f[b * _ESTEP_BLOCK: (b + 1) * _ESTEP_BLOCK] for b, yb in enumerate(self._y_blocks)))
        for kk, idx in self.groups.items():
            pos = self.index[kk]
            n = counts[pos] + 0.5  # (J, K)
            p = n / n.sum(axis=1, keepdims=True)
            x[pos[:, 0]] = 1.0
            if self.model in ("grm", "grm_probit"):
                tail = np.cumsum(p[:, ::-1], axis=1)[:, ::-1][:, 1:]
                x[pos[:, 1:]] = 1.4 * np.log(tail / (1 - tail))
            else:
                x[pos[:, 1:]] = np.log(n[:, 1:] / n[:, :-1])
        return x

    # ------------------------------------------------------------ likelihood
    def log_probs(self, x: np.ndarray) -> np.ndarray:
        """log P_jk(θ_q) for every one-hot column (C, Q)."""
        out = np.empty((self.n_par, self.theta.size))
        for kk, idx in self.groups.items():
            pos = self.index[kk]
            p = category_probs(self.model, x[pos[:, 0]], x[pos[:, 1:]], self.theta)  # (J, Q, K)
            out[pos.ravel()] = np.log(p.transpose(0, 2, 1).reshape(-1, self.theta.size))
        return out

    def estep(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """ℓ, posterior π (U, Q), expected counts r (C, Q) and log L_u (the last one is kept: the
        Newton line search and the next iteration ask for the same point)."""
        key = x.tobytes()
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        out = self._estep(x)
        self._last = (key, out)
        return out

    def _estep(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        # in blocks of _ESTEP_BLOCK patterns (the temporaries stay in cache: at 10⁶ patterns the
        # element-wise work was two thirds of an E-step); one block = the whole computation as before
        logp = self.log_probs(x)
        n_pat = self.f.size
        if self._y_blocks is None:
            return self._estep_block(logp, self.y, self.f)
        table = self._groups.table(logp)  # log f(x_u | θ_q) = Σ_g table[z_ug] (irt/_grouped.py)
        post = self._post_buffer(n_pat)
        log_l = np.empty(n_pat)

        def block(b: int) -> np.ndarray:
            sl = slice(b * _ESTEP_BLOCK, (b + 1) * _ESTEP_BLOCK)
            _, _, rb, log_l[sl] = self._estep_block(table, self._y_blocks[b], self.f[sl], post[sl],
                                                    self._groups.weighted[b])
            return rb

        # the blocks are independent (each writes its own rows of π and log L; scipy's sparse products and
        # numpy's element-wise work release the GIL): on worker_threads() threads, r summed in block order
        # afterwards — the same numbers as one thread, bit for bit
        n_blocks = len(self._y_blocks)
        threads = worker_threads()
        if threads > 1 and n_blocks > 1:
            with ThreadPoolExecutor(min(threads, n_blocks)) as pool:
                parts = list(pool.map(block, range(n_blocks)))
        else:
            parts = [block(b) for b in range(n_blocks)]
        r = np.zeros((table.shape[0], self.theta.size))
        for rb in parts:
            r += rb
        return float(self.f @ log_l), post, self._groups.marginals(r), log_l

    def _post_buffer(self, n_pat: int) -> np.ndarray:
        """The posterior's array of a blocked E-step: one of two kept for the engine — not the one of the
        last E-step (which :meth:`estep` returns again for the same point). A fresh 168 MB array per E-step
        at 10⁶ patterns cost its page faults each time (≈ 35 ms idle, up to ≈ 0.35 s under memory traffic).
        The previous π returned by :meth:`estep` stays valid until the next E-step at another point."""
        held = self._last[1][1] if self._last is not None else None
        for buf in self._post_buffers:
            if buf is not held:
                return buf
        buf = np.empty((n_pat, self.theta.size))
        self._post_buffers.append(buf)
        return buf

    def _estep_block(self, logp: np.ndarray, y, f: np.ndarray,  # noqa: ANN001 - y dense or sparse
                     out: np.ndarray | None = None, yf=None, row_max: bool = False,  # noqa: ANN001
                     ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """``yf``: ``y`` with each row's entries f_u instead of ones (sparse): r = yfᵀ π, the same products
        f_u π_uq as yᵀ (f ∘ π) without the n × Q product (in place: the same values as before).

        The log-sum-exp over the nodes subtracts each row's maximum; a block of the grouped E-step (``yf``: large
        n) subtracts the row's value at the middle node instead — a pass over the block less (numpy's row maxima
        over 21 nodes were ≈ 30 % of its element-wise work). Any shift s_u with log f_uq − s_u ≤ 709 gives the
        same π and log L to rounding (the middle node's own term is e⁰ = 1, so the sum cannot underflow; the
        terms are not rounded more finely or coarsely relative to each other); should some node exceed the
        middle one by more than that (the sum overflows), the block is taken with the row maxima (``row_max``).
        Tested against the row maxima in tests/test_irt.py::test_estep_shifted_by_the_middle_node_equals_the_row_max."""
        lf = y @ logp
        lf += self.logw
        if yf is not None and not row_max:
            mx = lf[:, [lf.shape[1] // 2]]
        else:
            mx = lf.max(axis=1, keepdims=True)
        lf -= mx
        post = np.exp(lf, out=out)
        tot = post.sum(axis=1, keepdims=True)
        if not row_max and yf is not None and not np.isfinite(tot).all():
            return self._estep_block(logp, y, f, out, yf, row_max=True)
        post /= tot
        log_l = (mx + np.log(tot)).ravel()
        r = y.T @ (f[:, None] * post) if yf is None else yf.T @ post
        return float(f @ log_l), post, r, log_l

    def item_terms(self, x: np.ndarray, r: np.ndarray, info: bool = True) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Gradient of Σ r log P (= marginal gradient at the E-step's ξ), Fisher blocks, Q_j values."""
        grad = np.zeros(self.n_par)
        blocks = np.zeros((len(self.k), int(self.k.max()), int(self.k.max()))) if info else None
        qval = np.zeros(len(self.k))
        for kk, idx in self.groups.items():
            pos = self.index[kk]
            rg = r[pos].transpose(0, 2, 1)  # (J, Q, K)
            p, dp = category_probs_grad(self.model, x[pos[:, 0]], x[pos[:, 1:]], self.theta)
            grad[pos] = np.einsum("jqk,jqkm->jm", rg / p, dp)
            qval[idx] = (rg * np.log(p)).sum(axis=(1, 2))
            if info:
                nq = rg.sum(axis=2)
                blocks[idx, :kk, :kk] = np.einsum("jqkm,jqkl,jqk->jml", dp, dp, nq[:, :, None] / p)
        return grad, blocks, qval

    def _valid(self, x: np.ndarray) -> np.ndarray:
        ok = np.ones(len(self.k), dtype=bool)
        if self.model in ("grm", "grm_probit"):
            for kk, idx in self.groups.items():
                c = x[self.index[kk][:, 1:]]
                if kk > 2:
                    ok[idx] = np.all(np.diff(c, axis=1) < 0, axis=1)
        return ok & np.isfinite(x[self.offs[:-1]])

    def mstep(self, x: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One Fisher-scoring step per item with step halving; returns new ξ and the gradient at old ξ."""
        grad, blocks, q0 = self.item_terms(x, r)
        step = np.zeros_like(x)
        for j in range(len(self.k)):
            kk = int(self.k[j])
            sl = slice(self.offs[j], self.offs[j + 1])
            h = blocks[j, :kk, :kk] + 1e-10 * np.eye(kk)
            try:
                step[sl] = np.linalg.solve(h, grad[sl])
            except np.linalg.LinAlgError:
                step[sl] = grad[sl] / max(np.trace(h), 1.0)
        scale = np.ones(len(self.k))
        new = x.copy()
        pending = np.ones(len(self.k), dtype=bool)
        for _ in range(30):
            trial = x + np.repeat(scale, self.k) * step
            _, _, q1 = self.item_terms(trial, r, info=False)
            good = pending & self._valid(trial) & (q1 >= q0 - 1e-12 * np.abs(q0))
            sel = np.repeat(good, self.k)
            new[sel] = trial[sel]
            pending &= ~good
            if not pending.any():
                break
            scale[pending] *= 0.5
        return new, grad

    # ------------------------------------------------------------ observed information
    def complete_hessian(self, x: np.ndarray, r: np.ndarray, h: float = 1e-5) -> np.ndarray:
        """Σ r ∇² log P (block diagonal) by central differences of the analytic item score."""
        out = np.zeros((self.n_par, self.n_par))
        for s in range(int(self.k.max())):
            has = self.k > s
            e = np.zeros(self.n_par)
            e[self.offs[:-1][has] + s] = h
            gp, _, _ = self.item_terms(x + e, r, info=False)
            gm, _, _ = self.item_terms(x - e, r, info=False)
            col = (gp - gm) / (2 * h)
            for j in np.flatnonzero(has):
                sl = slice(self.offs[j], self.offs[j + 1])
                out[sl, self.offs[j] + s] = col[sl]
        return 0.5 * (out + out.T)

    def observed_information(self, x: np.ndarray, sample: tuple[np.ndarray, np.ndarray] | None = None
                             ) -> tuple[np.ndarray, np.ndarray, float]:
        """Louis (1982) observed information −∇²ℓ, the gradient and ℓ.

        ``sample`` = (pattern indices, weights): the posterior second moments Σ_u f_u Var_π(s_u) (the
        missing information) summed over these patterns with these weights instead of all patterns
        with their counts (an unbiased estimate from a random subsample of rows; see
        :meth:`fit`'s ``se_rows``); the complete-data term, ℓ and the gradient from all patterns."""
        ll, post, r, _ = self.estep(x)
        self._post_buffers = [b for b in self._post_buffers if b is post]  # (the other one: 168 MB at 10⁶)
        hess = self.complete_hessian(x, r)
        f = self.f
        pats = self.data.patterns
        if sample is not None:
            pats, post, f = pats[sample[0]], post[sample[0]], sample[1]
        q = self.theta.size
        glog = np.zeros((self.n_par, q, int(self.k.max())))  # per one-hot column: ∇ log P over its item's params
        for kk, idx in self.groups.items():
            pos = self.index[kk]
            p, dp = category_probs_grad(self.model, x[pos[:, 0]], x[pos[:, 1:]], self.theta)
            g = (dp / p[..., None]).transpose(0, 2, 1, 3)  # (J, K, Q, m)
            glog[pos.ravel(), :, :kk] = g.reshape(-1, q, kk)
        outer = np.zeros((self.n_par, self.n_par))
        mean_outer = np.zeros((self.n_par, self.n_par))
        grad = np.zeros(self.n_par)
        chunk = max(1, int(4_000_000 // max(q * self.n_par, 1)))
        kmax = int(self.k.max())
        uniform = bool(np.all(self.k == kmax))  # every item K categories: the rows of s in one gather
        if uniform:
            table = np.concatenate([glog.reshape(-1, kmax), np.zeros((1, kmax))])  # last row: missing
        # many patterns (a long total score at large n): the posterior means of the scores s̄_u for
        # every category at once as one product π (U × Q) · ∇log P (Q × C·K), then each pattern's
        # categories picked out — the same sums as the per-item einsum below in BLAS's order
        blas = uniform and pats.shape[0] > self.blas_scores_above
        by_node = None  # cumulative-link GRM: the second moments of the intercepts' scores per node (below)
        if blas:
            from scipy.linalg.blas import dsyrk as syrk

            outer, mean_outer = np.asfortranarray(outer), np.asfortranarray(mean_outer)
            gmat, cellpick = _score_columns(glog, q, kmax)
            if kmax > 2 and _slope_is_theta_times_intercepts(glog, self.theta):
                ctables = np.concatenate([glog[:, :, 1:].transpose(1, 0, 2), np.zeros((q, 1, kmax - 1))], axis=1)
                by_node = [np.zeros(((kmax - 1) * len(self.k),) * 2, order="F") for _ in range(q)]
        # the nodes' second moments on worker_threads() threads at large n (each node's sum its own: bit for bit)
        threads = worker_threads()
        threaded = by_node is not None and threads > 1 and pats.shape[0] > _ESTEP_BLOCK
        pending: list = []
        with ThreadPoolExecutor(threads) if threaded else nullcontext() as pool:
            for lo in range(0, pats.shape[0], chunk):
                sl = slice(lo, lo + chunk)
                xs, ps, fs = pats[sl], post[sl], f[sl]
                # only (pattern, node) cells that carry posterior weight enter the second moment
                wq = fs[:, None] * ps
                if by_node is not None:  # the intercepts' scores only, their second moments per node
                    pending = _accumulate_by_node(by_node, ctables, xs, wq, self.offs[:-1], syrk, pool, threads)
                    s = None
                else:
                    uu, qq = np.nonzero(wq > 1e-13 * wq.max())
                    if uniform:  # the same values as the loop below, copied in one gather
                        xu = xs[uu]
                        at = (self.offs[:-1][None, :] + xu) * q + qq[:, None]
                        at[xu < 0] = table.shape[0] - 1
                        s = table[at].reshape(uu.size, self.n_par)
                    else:
                        s = np.zeros((uu.size, self.n_par))
                if blas:
                    at = self.offs[:-1][None, :] + xs
                    at[xs < 0] = cellpick.shape[0] - 1  # a missing answer scores nothing (the zero column)
                    pick = cellpick[at].reshape(xs.shape[0], self.n_par)
                    sbar = np.take_along_axis(ps @ gmat, pick, axis=1)
                else:
                    sbar = np.zeros((xs.shape[0], self.n_par))
                for j in range(len(self.k)) if not blas else ():
                    kk = int(self.k[j])
                    cols = slice(self.offs[j], self.offs[j] + kk)
                    if not uniform:
                        xj = xs[uu, j]
                        obs = xj >= 0
                        s[obs, cols] = glog[self.offs[j] + xj[obs], qq[obs], :kk]
                    xa = xs[:, j]
                    oa = xa >= 0
                    sbar[oa, cols] = np.einsum("uq,uqm->um", ps[oa], glog[self.offs[j] + xa[oa], :, :kk])
                if blas:  # symmetric rank-k updates (upper triangle only: half the flops of the products)
                    if s is not None:
                        outer = syrk(1.0, (s * np.sqrt(wq[uu, qq])[:, None]).T, beta=1.0, c=outer, overwrite_c=1)
                    mean_outer = syrk(1.0, (sbar * np.sqrt(fs)[:, None]).T, beta=1.0, c=mean_outer, overwrite_c=1)
                else:
                    flat = s * np.sqrt(wq[uu, qq])[:, None]
                    outer += flat.T @ flat
                    mean_outer += (sbar * fs[:, None]).T @ sbar
                grad += fs @ sbar
                for done in pending:  # (the nodes' second moments of this chunk, computed meanwhile)
                    done.result()
        if by_node is not None:
            outer = _expand_by_node(by_node, self.theta, len(self.k), kmax)
        if blas:
            outer = np.triu(outer) + np.triu(outer, 1).T
            mean_outer = np.triu(mean_outer) + np.triu(mean_outer, 1).T
        info = -(hess + outer - mean_outer)
        if sample is not None:
            grad = self.item_terms(x, r, info=False)[0]
        return 0.5 * (info + info.T), grad, ll

    def information_sample(self, rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """A fixed random ``rows`` of the respondents (seeded) as (pattern indices, weights n/rows ×
        sampled rows per pattern): the subsample of :meth:`observed_information`'s ``sample``."""
        inverse = self.data.inverse
        n = inverse.size
        picked = np.random.default_rng(seed).choice(n, size=rows, replace=False)
        counts = np.bincount(inverse[picked], minlength=self.f.size)
        idx = np.flatnonzero(counts)
        return idx, counts[idx] * (float(self.f.sum()) / rows)

    def score_and_xpd(self, x: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """ℓ, ∇ℓ and the cross-product information Σ_u f_u ∇log L_u ∇log L_uᵀ."""
        ll, post, r, _ = self.estep(x)
        q = self.theta.size
        pats = self.data.patterns
        sbar = np.zeros((pats.shape[0], self.n_par))
        for kk, idx in self.groups.items():
            pos = self.index[kk]
            p, dp = category_probs_grad(self.model, x[pos[:, 0]], x[pos[:, 1:]], self.theta)
            g = (dp / p[..., None]).transpose(0, 2, 1, 3)  # (J, K, Q, m)
            for jj, j in enumerate(idx):
                xa = pats[:, j]
                oa = xa >= 0
                sbar[np.ix_(oa, pos[jj])] = np.einsum("uq,uqm->um", post[oa], g[jj][xa[oa]])
        grad = self.f @ sbar
        return ll, grad, (sbar * self.f[:, None]).T @ sbar + 1e-9 * self.n * np.eye(self.n_par)

    @staticmethod
    def _bfgs_update(b: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        """BFGS update in place of the information approximation ``b`` (B s ≈ y, y = g_old − g_new for
        the ascent on ℓ) and its new Cholesky factor; None (``b`` unchanged) when the curvature
        condition sᵀy > 0 fails or the update is not positive definite."""
        bs = b @ s
        sy, sbs = float(s @ y), float(s @ bs)
        if not (sy > 1e-12 * np.sqrt(float(y @ y) * float(s @ s)) and sbs > 0):
            return None
        new = b - np.outer(bs, bs) / sbs + np.outer(y, y) / sy
        try:
            chol = np.linalg.cholesky(new)
        except np.linalg.LinAlgError:
            return None
        b[:] = new
        return chol

    # ------------------------------------------------------------ driver
    def fit(
        self, x0: np.ndarray | None = None, max_em: int = 2000, tol: float = 1e-8, switch: float = 1e-2, max_newton: int = 100,
        se: bool = True, chord: np.ndarray | None = None, se_rows: int | None = None,
    ) -> dict:
        """EM until max|∇ℓ|/N < ``switch``, then Newton steps on ℓ with the observed (Louis)
        information of the switch point (chord Newton) until max|∇ℓ|/N < ``tol``; the observed
        information again at the end for the SEs.

        ``chord``: an information matrix to use for the Newton steps from ``x0`` instead (no EM):
        :func:`~psychometrics.irt.calibrate` passes a subsample's estimate and information at
        large n. The converged point is the same (the same criterion on the exact gradient).

        ``se_rows``: with more distinct patterns than this, the missing-information term of the SEs'
        information is estimated from a fixed random ``se_rows`` respondents (``information_sample``;
        ``out["se_rows"]`` says so); the estimate, ℓ and the gradient are unaffected."""
        x = self.start() if x0 is None else x0.copy()
        em_cycles = 0
        ll = -np.inf
        grad = np.full(self.n_par, np.inf)
        chol = None
        if chord is not None:
            try:
                chol = np.linalg.cholesky(chord)
            except np.linalg.LinAlgError:
                chol = None
        for em_cycles in range(1, max_em + 1):
            if chol is not None:
                em_cycles = 0
                break
            ll, _, r, _ = self.estep(x)
            x_new, grad = self.mstep(x, r)
            if np.max(np.abs(grad)) / self.n < switch:
                break
            x = x_new
        newton = 0
        converged = bool(np.max(np.abs(grad)) / self.n < tol)
        # a borrowed chord (a subsample's information) is refined by BFGS updates with the exact gradients
        # of the steps taken (its error in weakly determined directions otherwise slows every step)
        bfgs = chol is not None
        chord_m = chord.copy() if bfgs else None
        prev: tuple[np.ndarray, np.ndarray] | None = None
        while not converged and newton < max_newton:
            newton += 1
            if chol is None:  # observed information at the switch point, kept (chord Newton)
                info, grad, ll = self.observed_information(x)
                try:
                    chol = np.linalg.cholesky(info)
                except np.linalg.LinAlgError:  # not yet in the concave region: more EM
                    ll, _, r, _ = self.estep(x)
                    x, grad = self.mstep(x, r)
                    continue
            else:
                ll, _, r, _ = self.estep(x)
                grad = self.item_terms(x, r, info=False)[0]
            if np.max(np.abs(grad)) / self.n < tol:
                converged = True
                break
            if bfgs and prev is not None:
                updated = self._bfgs_update(chord_m, x - prev[0], prev[1] - grad)
                chol = chol if updated is None else updated
            prev = (x.copy(), grad.copy()) if bfgs else None
            step = np.linalg.solve(chol.T, np.linalg.solve(chol, grad))
            t = 1.0
            for _ in range(30):
                trial = x + t * step
                if self._valid(trial).all() and self.estep(trial)[0] >= ll - 1e-9 * abs(ll):
                    break
                t *= 0.5
            x = trial
        info = None
        sampled = se and se_rows is not None and self.data.patterns.shape[0] > se_rows
        if se:
            info, grad, ll = self.observed_information(x, self.information_sample(se_rows) if sampled else None)
        else:
            ll, _, r, _ = self.estep(x)
            grad = self.item_terms(x, r, info=False)[0]
        converged = bool(np.max(np.abs(grad)) / self.n < max(tol, 1e-7))
        return {
            "x": x,
            "loglik": ll,
            "grad": grad,
            "information": info,
            "em_cycles": em_cycles,
            "newton_steps": newton,
            "converged": converged,
            "se_rows": se_rows if sampled else None,
        }
