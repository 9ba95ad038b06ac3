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
            mats = {k: v.copy() for k, v in self.base[g].items()}
            for prm in self.free_rows[g]:
                self._put(mats, prm, x[prm.index])
            out.append(mats)
        return out

    def values(self, x: np.ndarray) -> np.ndarray:
        """The value of every row of the parameter table (free and fixed)."""
        return np.array([x[prm.index] if prm.free else prm.value for prm in self.spec.parameters])


def implied(mats: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Model-implied moments and intermediate products for one group."""
    L, B, Psi, Theta = mats["lambda"], mats["beta"], mats["psi"], mats["theta"]
    m = B.shape[0]
    IB = np.linalg.inv(np.eye(m) - B) if np.any(B) else np.eye(m)
    LIB = L @ IB
    M = IB @ Psi @ IB.T  # total latent covariance (lavaan's VETA)
    LM = L @ M
    Sigma = LM @ L.T + Theta
    Sigma = 0.5 * (Sigma + Sigma.T)
    eta_mean = IB @ mats["alpha"]
    mu = mats["nu"] + L @ eta_mean
    return {"Sigma": Sigma, "mu": mu, "IB": IB, "LIB": LIB, "M": M, "LM": LM, "eta_mean": eta_mean}


def jacobian(mats: dict[str, np.ndarray], imp: dict[str, np.ndarray], rows: list[Parameter]) -> tuple[np.ndarray, np.ndarray]:
    """Derivatives of Σ (K×p×p) and μ (K×p) with respect to the parameters in ``rows``.

    Each row is treated as its own parameter (symmetric matrices: both
    off-diagonal elements move together).
    """
    p = imp["Sigma"].shape[0]
    K = len(rows)
    dS = np.zeros((K, p, p))
    dM = np.zeros((K, p))
    LIB, LM, IB, eta_mean = imp["LIB"], imp["LM"], imp["IB"], imp["eta_mean"]
    for k, r in enumerate(rows):
        i, j = r.row, r.col
        if r.matrix == "lambda":  # dΣ = e_i c' + c e_i', c = (ΛM)[:, j]
            c = LM[:, j]
            dS[k, i, :] += c
            dS[k, :, i] += c
            dM[k, i] = eta_mean[j]
        elif r.matrix == "beta":  # η_i = b η_j + ...: dΣ = a c' + c a', a = (ΛIB)[:, i], c = (ΛM)[:, j]
            a, c = LIB[:, i], LM[:, j]
            dS[k] = np.outer(a, c) + np.outer(c, a)
            dM[k] = a * eta_mean[j]
        elif r.matrix == "psi":
            a, b = LIB[:, i], LIB[:, j]
            dS[k] = np.outer(a, b)
            if i != j:
                dS[k] += np.outer(b, a)
        elif r.matrix == "theta":
            dS[k, i, j] = 1.0
            dS[k, j, i] = 1.0
        elif r.matrix == "nu":
            dM[k, i] = 1.0
        elif r.matrix == "alpha":
            dM[k] = LIB[:, i]
    return dS, dM


@dataclass
class GroupEval:
    Sigma: np.ndarray
    mu: np.ndarray
    Sigma_inv: np.ndarray
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
        return GroupEval(Sigma, imp["mu"], Sinv, logdet, float(f)), imp

    def fmin(self, x: np.ndarray) -> float:
        """lavaan's fmin (= χ²/(2N)); +inf where an implied Σ is not positive definite."""
        total = 0.0
        for g, mats in enumerate(self.model.matrices(x)):
            res = self.group_eval(mats, g)
            if res is None:
                return np.inf
            total += self.w[g] * 0.5 * res[0].f
        return total

    def derivatives(self, x: np.ndarray, extra: list[list[Parameter]] | None = None):
        """fmin, gradient and unit expected information at ``x``.

        ``extra`` (per group) adds parameters that are not in the model (for
        modification indices and score tests): their gradient and information
        rows/columns are appended after the ``n_free`` model parameters.
        """
        n = self.model.n_free
        n_extra = sum(len(e) for e in extra) if extra else 0
        K = n + n_extra
        grad = np.zeros(K)
        info = np.zeros((K, K))
        total = 0.0
        offset = n
        for g, mats in enumerate(self.model.matrices(x)):
            res = self.group_eval(mats, g)
            if res is None:
                return np.inf, None, None
            ev, imp = res
            total += self.w[g] * 0.5 * ev.f
            rows = self.model.free_rows[g]
            idx = list(self.model.free_index[g])
            if extra:
                rows = rows + extra[g]
                idx += list(range(offset, offset + len(extra[g])))
                offset += len(extra[g])
            if not rows:
                continue
            dS, dM = jacobian(mats, imp, rows)
            idx = np.asarray(idx, dtype=int)
            # collapse rows onto parameters (equality constraints = shared index)
            P = np.zeros((len(rows), K))
            P[np.arange(len(rows)), idx] = 1.0
            Sinv = ev.Sigma_inv
            S = self.stats.cov[g]
            if self.meanstructure:
                d = self.stats.mean[g] - ev.mu
                R = Sinv @ (ev.Sigma - S - np.outer(d, d)) @ Sinv
                gr = 0.5 * np.einsum("ij,kij->k", R, dS) - dM @ (Sinv @ d)
            else:
                R = Sinv @ (ev.Sigma - S) @ Sinv
                gr = 0.5 * np.einsum("ij,kij->k", R, dS)
            # information: 0.5 tr(Σ⁻¹ dΣ_k Σ⁻¹ dΣ_l) via symmetric square-root scaling
            C = np.linalg.cholesky(Sinv)  # Sinv = C C'
            Bk = np.einsum("ai,kab,bj->kij", C, dS, C, optimize=True).reshape(len(rows), -1)
            I_rows = 0.5 * Bk @ Bk.T
            if self.meanstructure:
                I_rows += dM @ Sinv @ dM.T
            grad += self.w[g] * (P.T @ gr)
            info += self.w[g] * (P.T @ I_rows @ P)
        return total, grad, info


def estimate(
    state: FitState,
    x0: np.ndarray,
    *,
    max_iter: int = 500,
    tol: float = 1e-12,
) -> tuple[np.ndarray, bool, int, str]:
    """Minimise fmin by Fisher scoring with backtracking line search.

    Stops when the Newton decrement :math:`g^\\top\\mathcal I^{-1}g` (about twice
    the remaining decrease of fmin) falls below ``tol``.

    Returns
    -------
    x, converged, iterations, message
    """
    x = np.array(x0, dtype=float)
    f, g, info = state.derivatives(x)
    if not np.isfinite(f):
        return x, False, 0, "the implied covariance matrix at the starting values is not positive definite"
    n = len(x)
    if n == 0:
        return x, True, 0, "no free parameters"
    for it in range(1, max_iter + 1):
        # Fisher step; a small ridge keeps it defined when the information is singular
        scale = np.sqrt(np.clip(np.diag(info), 1e-300, None))
        Iscaled = info / np.outer(scale, scale)
        try:
            step = -np.linalg.solve(Iscaled + 1e-12 * np.eye(n), g / scale) / scale
        except np.linalg.LinAlgError:
            step = -np.linalg.lstsq(Iscaled, g / scale, rcond=None)[0] / scale
        decrement = float(-g @ step)
        if not np.isfinite(decrement) or decrement < 0:
            step = -g  # information not positive definite: fall back to steepest descent
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
            if t < 1e-12:
                # no further decrease possible: accept if the decrement is numerically small
                ok = decrement < 1e-8
                return x, ok, it, "converged" if ok else "line search failed to decrease the discrepancy"
        x = x_new
        f, g, info = state.derivatives(x)
    return x, False, max_iter, f"no convergence after {max_iter} iterations"
