r"""Maximum-likelihood estimation of (multi-group) CFA models from sufficient statistics.

Model (LISREL "all-y" form, as lavaan), per group *g*:

.. math::

    \eta = B\eta + \zeta,\quad x = \nu + \Lambda\eta + \varepsilon,\qquad
    \Sigma = \Lambda (I-B)^{-1}\Psi(I-B)^{-\top}\Lambda^\top + \Theta,\qquad
    \mu = \nu + \Lambda (I-B)^{-1}\alpha .

``B`` holds the loadings of first-order factors on higher-order factors.

Discrepancy (lavaan's ``fmin`` for ``estimator = "ML"``, ``likelihood = "normal"``),
with ML covariances :math:`S_g` (divisor :math:`n_g`) and means :math:`\bar x_g`:

.. math::

    F = \sum_g \frac{n_g}{N}\,\tfrac12\Big[\log|\Sigma_g| + \operatorname{tr}(S_g\Sigma_g^{-1})
        - \log|S_g| - p + (\bar x_g-\mu_g)^\top\Sigma_g^{-1}(\bar x_g-\mu_g)\Big],
    \qquad \chi^2 = 2NF .

Without a mean structure the mean term is zero (means saturated). The gradient is
analytic; the unit expected information is

.. math::

    \mathcal I = \sum_g \frac{n_g}{N}\Big[\tfrac12\,\Delta_{\Sigma,g}^\top(\Sigma_g^{-1}\otimes\Sigma_g^{-1})
        \Delta_{\Sigma,g} + \Delta_{\mu,g}^\top\Sigma_g^{-1}\Delta_{\mu,g}\Big],

with :math:`\Delta` the Jacobian of the moments with respect to the free parameters.
The minimiser is found by Fisher scoring (Gauss–Newton with the expected
information) with a backtracking line search; standard errors are
:math:`\sqrt{\operatorname{diag}(\mathcal I^{-1})/N}` (lavaan's default
``information = "expected"``). Equality constraints are parameter sharing, so
:math:`\Delta` sums the columns of parameters that are equal.

References: Jöreskog (1969), *Psychometrika* 34, 183–202; Lee & Jennrich (1979),
*Psychometrika* 44, 99–113 (Fisher scoring for covariance structures);
Rosseel (2012), *J. Stat. Softw.* 48(2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from psychometrics.cfa.specification import ModelSpec, Parameter
from psychometrics.exceptions import EstimationError

__all__ = ["SampleStats", "CompiledModel", "FitState", "estimate"]


@dataclass(frozen=True)
class SampleStats:
    """Per-group sufficient statistics: ML covariance (divisor n), mean vector, n."""

    cov: tuple[np.ndarray, ...]
    mean: tuple[np.ndarray, ...]
    nobs: tuple[int, ...]

    @property
    def ntotal(self) -> int:
        return int(sum(self.nobs))

    @property
    def weights(self) -> np.ndarray:
        n = np.asarray(self.nobs, dtype=float)
        return n / n.sum()


_MATRICES = ("lambda", "beta", "psi", "theta", "nu", "alpha")


_COMPILED: dict[int, tuple[ModelSpec, "CompiledModel"]] = {}


def compiled_model(spec: ModelSpec) -> "CompiledModel":
    """The :class:`CompiledModel` of ``spec``, cached per spec object (both are never modified after
    construction; :func:`~psychometrics.cfa.specification.build_spec` returns cached specs, so a
    Monte Carlo study compiles each of its few models once)."""
    hit = _COMPILED.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    cm = CompiledModel(spec)
    if len(_COMPILED) >= 256:
        _COMPILED.pop(next(iter(_COMPILED)))
    _COMPILED[id(spec)] = (spec, cm)  # the spec is kept alive so its id is not reused
    return cm


class CompiledModel:
    """Index arrays that map the free-parameter vector onto the model matrices.

    The free-parameter vector ``x`` has one entry per distinct free parameter
    (equal parameters share one entry). ``matrices(x)`` fills per-group
    ``Lambda, B, Psi, Theta, nu, alpha``.
    """

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.p = len(spec.observed)
        self.m = len(spec.latent)
        self.G = spec.ngroups
        self.n_free = spec.n_free
        self.rows_by_group: list[list[Parameter]] = [[] for _ in range(self.G)]
        for prm in spec.parameters:
            self.rows_by_group[prm.group].append(prm)
        # fixed values, and (matrix, row, col, index) of the free rows, per group
        self.base: list[dict[str, np.ndarray]] = []
        self.free_rows: list[list[Parameter]] = []
        for g in range(self.G):
            base = self._empty()
            for prm in self.rows_by_group[g]:
                if not prm.free:
                    self._put(base, prm, prm.value)
            self.base.append(base)
            self.free_rows.append([prm for prm in self.rows_by_group[g] if prm.free])
        self.free_index = [np.array([r.index for r in rows], dtype=int) for rows in self.free_rows]
        # flat scatter plan per group and matrix: positions (both triangles of symmetric
        # matrices) and the free-vector entry that goes there
        self._plan: list[dict[str, tuple[np.ndarray, np.ndarray]]] = []
        for g in range(self.G):
            plan = {}
            for name in _MATRICES:
                shape = self.base[g][name].shape
                pos, src = [], []
                for prm in self.free_rows[g]:
                    if prm.matrix != name:
                        continue
                    if len(shape) == 1:
                        pos.append(prm.row)
                        src.append(prm.index)
                    else:
                        pos.append(prm.row * shape[1] + prm.col)
                        src.append(prm.index)
                        if name in ("psi", "theta") and prm.row != prm.col:
                            pos.append(prm.col * shape[1] + prm.row)
                            src.append(prm.index)
                plan[name] = (np.array(pos, dtype=int), np.array(src, dtype=int))
            self._plan.append(plan)
        self.row_index = [RowIndex(rows) for rows in self.free_rows]

    # ------------------------------------------------------------ matrices
    def _empty(self) -> dict[str, np.ndarray]:
        p, m = self.p, self.m
        return {
            "lambda": np.zeros((p, m)), "beta": np.zeros((m, m)), "psi": np.zeros((m, m)),
            "theta": np.zeros((p, p)), "nu": np.zeros(p), "alpha": np.zeros(m),
        }

    @staticmethod
    def _put(mats: dict[str, np.ndarray], prm: Parameter, value: float) -> None:
        a = mats[prm.matrix]
        if a.ndim == 1:
            a[prm.row] = value
        else:
            a[prm.row, prm.col] = value
            if prm.matrix in ("psi", "theta"):
                a[prm.col, prm.row] = value

    def matrices(self, x: np.ndarray) -> list[dict[str, np.ndarray]]:
        out = []
        for g in range(self.G):
            mats = {}
            for name, base in self.base[g].items():
                a = base.copy()
                pos, src = self._plan[g][name]
                if pos.size:
                    a.ravel()[pos] = x[src]
                mats[name] = a
            out.append(mats)
        return out

    def values(self, x: np.ndarray) -> np.ndarray:
        """The value of every row of the parameter table (free and fixed)."""
        return np.array([x[prm.index] if prm.free else prm.value for prm in self.spec.parameters])

    def group_rows(self, g: int, extra: list[list[Parameter]] | None, offset: int
                   ) -> tuple[list[Parameter], np.ndarray, "RowIndex", int]:
        """Free rows of group ``g``, their positions in the parameter vector and their
        :class:`RowIndex`; with ``extra`` (parameters not in the model, for modification
        indices and score tests), group ``g``'s extra rows appended at positions from
        ``offset`` on. Returns the offset for the next group too."""
        if extra:
            rows = self.free_rows[g] + extra[g]
            idx = np.concatenate([self.free_index[g], np.arange(offset, offset + len(extra[g]))])
            return rows, idx, RowIndex(rows), offset + len(extra[g])
        return self.free_rows[g], self.free_index[g], self.row_index[g], offset


def _inv_i_minus_b(B: np.ndarray) -> np.ndarray:
    """(I − B)⁻¹, or an :class:`EstimationError` when I − B is (numerically) singular.

    For the recursive models that :func:`~psychometrics.cfa.specification.build_spec` accepts,
    I − B is unit triangular up to a permutation (det = 1) and this never fails; the check
    guards the matrix algebra against a non-recursive B reaching it by another route.
    """
    A = np.eye(B.shape[0]) - B
    try:
        IB = np.linalg.inv(A)
    except np.linalg.LinAlgError:
        IB = None
    # ∞-norm condition number ‖A‖·‖A⁻¹‖ from the inverse at hand (no extra factorisation)
    if IB is None or not np.all(np.isfinite(IB)) or \
            np.linalg.norm(A, np.inf) * np.linalg.norm(IB, np.inf) > 1.0 / np.finfo(float).eps:
        loop = [int(i) + 1 for i in np.flatnonzero(np.any(B != 0, axis=0) | np.any(B != 0, axis=1))]
        raise EstimationError(
            "(I − B) is singular: the loadings of factors on factors (B; factors no. "
            f"{', '.join(map(str, loop))} in model order) form a non-recursive structure, so the "
            "model-implied covariance matrix is undefined"
        )
    return IB


def implied(mats: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Model-implied moments and intermediate products for one group."""
    L, B, Psi, Theta = mats["lambda"], mats["beta"], mats["psi"], mats["theta"]
    m = B.shape[0]
    IB = _inv_i_minus_b(B) if np.any(B) else np.eye(m)
    LIB = L @ IB
    M = IB @ Psi @ IB.T  # total latent covariance (lavaan's VETA)
    LM = L @ M
    Sigma = LM @ L.T + Theta
    Sigma = 0.5 * (Sigma + Sigma.T)
    eta_mean = IB @ mats["alpha"]
    mu = mats["nu"] + L @ eta_mean
    return {"Sigma": Sigma, "mu": mu, "IB": IB, "LIB": LIB, "M": M, "LM": LM, "eta_mean": eta_mean}


class RowIndex:
    """Index arrays of a list of parameter rows, grouped by matrix (for vectorised derivatives)."""

    def __init__(self, rows: list[Parameter]):
        self.K = len(rows)
        self.kind: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for name in _MATRICES:
            ks = [k for k, r in enumerate(rows) if r.matrix == name]
            self.kind[name] = (
                np.array(ks, dtype=int),
                np.array([rows[k].row for k in ks], dtype=int),
                np.array([rows[k].col for k in ks], dtype=int),
            )


def jacobian(imp: dict[str, np.ndarray], index: RowIndex) -> tuple[np.ndarray, np.ndarray]:
    """Derivatives of Σ (K×p×p) and μ (K×p) with respect to the parameters of ``index``.

    Each row is its own parameter (symmetric matrices: both off-diagonal
    elements move together). With M = (I−B)⁻¹Ψ(I−B)⁻ᵀ:

    * λ_ij: dΣ = e_i c' + c e_i', c = (ΛM)[:, j]; dμ = e_i (IBα)_j
    * β_ij: dΣ = a c' + c a', a = (Λ(I−B)⁻¹)[:, i], c = (ΛM)[:, j]; dμ = a (IBα)_j
    * ψ_ij: dΣ = a_i a_j' + a_j a_i' (i ≠ j) or a_i a_i'
    * θ_ij: dΣ = E_ij + E_ji;  ν_i: dμ = e_i;  α_i: dμ = a_i
    """
    p = imp["Sigma"].shape[0]
    K = index.K
    dS = np.zeros((K, p, p))
    dM = np.zeros((K, p))
    LIB, LM, eta_mean = imp["LIB"], imp["LM"], imp["eta_mean"]
    k, i, j = index.kind["lambda"]
    if k.size:
        c = LM[:, j].T  # (n, p)
        dS[k, i, :] += c
        dS[k, :, i] += c
        dM[k, i] = eta_mean[j]
    k, i, j = index.kind["beta"]
    if k.size:
        a, c = LIB[:, i].T, LM[:, j].T
        outer = a[:, :, None] * c[:, None, :]
        dS[k] = outer + outer.transpose(0, 2, 1)
        dM[k] = a * eta_mean[j][:, None]
    k, i, j = index.kind["psi"]
    if k.size:
        a, b = LIB[:, i].T, LIB[:, j].T
        outer = a[:, :, None] * b[:, None, :]
        off = (i != j)[:, None, None]
        dS[k] = outer + np.where(off, outer.transpose(0, 2, 1), 0.0)
    k, i, j = index.kind["theta"]
    if k.size:
        dS[k, i, j] = 1.0
        dS[k, j, i] = 1.0
    k, i, j = index.kind["nu"]
    if k.size:
        dM[k, i] = 1.0
    k, i, j = index.kind["alpha"]
    if k.size:
        dM[k] = LIB[:, i].T
    return dS, dM


def rank2_factors(imp: dict[str, np.ndarray], index: RowIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each dΣ_k of :func:`jacobian` as s_k(a_k b_kᵀ + b_k a_kᵀ): returns A, B (K×p), s (K) and dμ (K×p).

    λ_ij: a = e_i, b = (ΛM)[:, j]; β_ij: a = (Λ(I−B)⁻¹)[:, i], b = (ΛM)[:, j]; ψ_ij: a, b the
    columns i, j of Λ(I−B)⁻¹ (s = ½ on the diagonal); θ_ij: a = e_i, b = e_j (s = ½ on the
    diagonal); ν, α: dΣ = 0. No K×p×p array is formed (see :meth:`FitState.derivatives`).
    """
    p = imp["Sigma"].shape[0]
    K = index.K
    A = np.zeros((K, p))
    Bm = np.zeros((K, p))
    s = np.ones(K)
    dM = np.zeros((K, p))
    LIB, LM, eta_mean = imp["LIB"], imp["LM"], imp["eta_mean"]
    k, i, j = index.kind["lambda"]
    if k.size:
        A[k, i] = 1.0
        Bm[k] = LM[:, j].T
        dM[k, i] = eta_mean[j]
    k, i, j = index.kind["beta"]
    if k.size:
        A[k] = LIB[:, i].T
        Bm[k] = LM[:, j].T
        dM[k] = A[k] * eta_mean[j][:, None]
    k, i, j = index.kind["psi"]
    if k.size:
        A[k] = LIB[:, i].T
        Bm[k] = LIB[:, j].T
        s[k] = np.where(i == j, 0.5, 1.0)
    k, i, j = index.kind["theta"]
    if k.size:
        A[k, i] = 1.0
        Bm[k, j] = 1.0
        s[k] = np.where(i == j, 0.5, 1.0)
    k, i, j = index.kind["nu"]
    if k.size:
        dM[k, i] = 1.0
    k, i, j = index.kind["alpha"]
    if k.size:
        dM[k] = LIB[:, i].T
    return A, Bm, s, dM


@dataclass
class GroupEval:
    Sigma: np.ndarray
    mu: np.ndarray
    Sigma_inv: np.ndarray
    Sinv_chol: np.ndarray  # C with Σ⁻¹ = C C' (C = L⁻ᵀ for Σ = L L')
    logdet: float
    f: float  # 2 × the group's discrepancy (lavaan's F_ML without the 1/2)


class FitState:
    """Objective, gradient and expected information of a compiled model on sample statistics."""

    def __init__(self, model: CompiledModel, stats: SampleStats):
        self.model = model
        self.stats = stats
        self.w = stats.weights
        self.logdet_S = []
        for S in stats.cov:
            sign, ld = np.linalg.slogdet(S)
            self.logdet_S.append(ld)
        self.meanstructure = model.spec.meanstructure

    def group_eval(self, mats: dict[str, np.ndarray], g: int) -> tuple[GroupEval, dict] | None:
        imp = implied(mats)
        Sigma = imp["Sigma"]
        try:
            C = np.linalg.cholesky(Sigma)
        except np.linalg.LinAlgError:
            return None
        logdet = 2.0 * np.log(np.diag(C)).sum()
        Cinv = np.linalg.inv(C)
        Sinv = Cinv.T @ Cinv
        S = self.stats.cov[g]
        p = S.shape[0]
        f = logdet + np.sum(S * Sinv) - self.logdet_S[g] - p
        if self.meanstructure:
            d = self.stats.mean[g] - imp["mu"]
            f += d @ Sinv @ d
        return GroupEval(Sigma, imp["mu"], Sinv, Cinv.T, logdet, float(f)), imp

    def fmin(self, x: np.ndarray) -> float:
        """lavaan's fmin (= χ²/(2N)); +inf where an implied Σ is not positive definite."""
        total = 0.0
        for g, mats in enumerate(self.model.matrices(x)):
            res = self.group_eval(mats, g)
            if res is None:
                return np.inf
            total += self.w[g] * 0.5 * res[0].f
        return total

    def derivatives(self, x: np.ndarray, extra: list[list[Parameter]] | None = None, info: bool = True):
        """fmin, gradient and (optionally) unit expected information at ``x``.

        ``extra`` (per group) adds parameters that are not in the model (for
        modification indices and score tests): their gradient and information
        rows/columns are appended after the ``n_free`` model parameters.
        Returns ``(inf, None, None)`` where an implied Σ is not positive definite.
        """
        n = self.model.n_free
        n_extra = sum(len(e) for e in extra) if extra else 0
        K = n + n_extra
        grad = np.zeros(K)
        inf_mat = np.zeros((K, K)) if info else None
        total = 0.0
        offset = n
        for g, mats in enumerate(self.model.matrices(x)):
            res = self.group_eval(mats, g)
            if res is None:
                return np.inf, None, None
            ev, imp = res
            total += self.w[g] * 0.5 * ev.f
            rows, idx, index, offset = self.model.group_rows(g, extra, offset)
            nr = len(rows)
            if not nr:
                continue
            # dΣ_k = s_k(a_k b_k' + b_k a_k') (rank 2): gradient and information from K×p factors,
            # O(K p² + K² p) instead of the O(K p³ + K² p²) of the K×p×p Jacobian
            A, Bm, sk, dM = rank2_factors(imp, index)
            Sinv = ev.Sigma_inv
            S = self.stats.cov[g]
            # gradient: 0.5 tr(Σ⁻¹(Σ − S − dd')Σ⁻¹ dΣ_k) − dμ_k'Σ⁻¹d = s_k a_k'R b_k − dμ_k'Σ⁻¹d
            if self.meanstructure:
                d = self.stats.mean[g] - ev.mu
                R = Sinv @ (ev.Sigma - S - np.outer(d, d)) @ Sinv
                gr = sk * np.einsum("kp,kp->k", A @ R, Bm) - dM @ (Sinv @ d)
            else:
                R = Sinv @ (ev.Sigma - S) @ Sinv
                gr = sk * np.einsum("kp,kp->k", A @ R, Bm)
            np.add.at(grad, idx, self.w[g] * gr)
            if info:
                # 0.5 tr(Σ⁻¹dΣ_kΣ⁻¹dΣ_l) = s_k s_l [(a_k'Wb_l)(b_k'Wa_l) + (a_k'Wa_l)(b_k'Wb_l)], W = Σ⁻¹ = CC'
                C = ev.Sinv_chol
                U, V = A @ C, Bm @ C
                UV = U @ V.T
                I_rows = np.outer(sk, sk) * (UV * UV.T + (U @ U.T) * (V @ V.T))
                if self.meanstructure:
                    I_rows += dM @ Sinv @ dM.T
                if len(np.unique(idx)) == nr:
                    inf_mat[np.ix_(idx, idx)] += self.w[g] * I_rows
                else:  # equality constraints inside the group: sum shared rows
                    P = np.zeros((nr, K))
                    P[np.arange(nr), idx] = 1.0
                    inf_mat += self.w[g] * (P.T @ I_rows @ P)
        return total, grad, inf_mat

    def gradient(self, x: np.ndarray) -> np.ndarray | None:
        return self.derivatives(x, info=False)[1]


def _solve(info: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Solve info · step = −g with diagonal scaling and a tiny ridge (robust to near-singularity)."""
    n = len(g)
    scale = np.sqrt(np.clip(np.diag(info), 1e-300, None))
    A = info / np.outer(scale, scale)
    try:
        return -np.linalg.solve(A + 1e-12 * np.eye(n), g / scale) / scale
    except np.linalg.LinAlgError:
        return -np.linalg.lstsq(A, g / scale, rcond=None)[0] / scale


def _bfgs_update(H: np.ndarray, s: np.ndarray, y: np.ndarray) -> None:
    """In-place BFGS update of the Hessian approximation (skipped unless curvature y's > 0)."""
    sy = float(s @ y)
    Hs = H @ s
    sHs = float(s @ Hs)
    if sy > 1e-12 * max(float(np.sqrt(y @ y) * np.sqrt(s @ s)), 1e-300) and sHs > 0:
        H += np.outer(y, y) / sy - np.outer(Hs, Hs) / sHs


def estimate(
    state: FitState,
    x0: np.ndarray,
    *,
    max_iter: int = 500,
    tol: float = 1e-14,
) -> tuple[np.ndarray, bool, int, str]:
    """Minimise fmin: Fisher scoring with backtracking, then quasi-Newton (BFGS) steps.

    Fisher scoring (expected information) is robust far from the optimum but
    converges only linearly when the model misfits; once the Newton decrement
    :math:`g^\\top\\mathcal I^{-1}g` is below 1e-3, quasi-Newton (BFGS) updates of
    the information matrix with the analytic gradient make convergence superlinear.
    Stops when the decrement (≈ twice the remaining decrease of fmin) is below ``tol``.

    Returns
    -------
    x, converged, iterations, message
    """
    x = np.array(x0, dtype=float)
    n = len(x)
    f, g, info = state.derivatives(x)
    if not np.isfinite(f):
        return x, False, 0, "the implied covariance matrix at the starting values is not positive definite"
    if n == 0:
        return x, True, 0, "no free parameters"
    H = None  # quasi-Newton (BFGS) matrix once close to the optimum
    for it in range(1, max_iter + 1):
        M = H if H is not None else info
        step = _solve(M, g)
        decrement = float(-g @ step)
        if not np.isfinite(decrement) or decrement < 0:
            if H is not None:  # lost positive definiteness: back to Fisher scoring
                H = None
                step = _solve(info, g)
                decrement = float(-g @ step)
            if not np.isfinite(decrement) or decrement < 0:
                step = -g
                decrement = float(g @ g)
        if decrement < tol:
            return x, True, it - 1, "converged"
        t = 1.0
        while True:
            x_new = x + t * step
            f_new = state.fmin(x_new)
            if np.isfinite(f_new) and f_new <= f - 1e-4 * t * decrement:
                break
            t *= 0.5
            if t < 1e-10:
                break
        if t < 1e-10:
            if H is not None:  # a poor quasi-Newton matrix: restart from Fisher scoring
                H = None
                f, g, info = state.derivatives(x)
                continue
            # no decrease possible at machine precision: converged if the decrement is tiny
            ok = decrement < 1e-10
            return x, ok, it, "converged" if ok else "line search failed to decrease the discrepancy"
        s_vec = x_new - x
        x = x_new
        if H is None:
            g_old = g
            f, g, info = state.derivatives(x)
            if decrement < 1e-3:
                H = info.copy()
                _bfgs_update(H, s_vec, g - g_old)
        else:
            f = f_new
            g_old = g
            g = state.gradient(x)
            _bfgs_update(H, s_vec, g - g_old)
    return x, False, max_iter, f"no convergence after {max_iter} iterations"
