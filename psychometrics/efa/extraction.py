"""Factor extraction as ``psych::fa`` (minres, ml, pa) and ``psych::principal``.

minres and ml minimise over the uniquenesses ψ (bounded to [0.005, max(SMC, 1)] as
psych does), started at ψ = 1 − SMC, with L-BFGS-B called as psych calls R's
``optim`` (psych's objective and gradient, ``parscale = 0.01``, ``factr = 1e7``,
5 corrections, at most 100 iterations), which reproduces psych's stopping point to
~1e-13 on the shipped datasets; ``exact=True`` iterates to the exact optimum instead
(≈1e-6 away). pa repeats psych's iteration exactly, including its stopping rule
(change of the summed communalities < 0.001, at most 50 iterations), because psych
reports that iterate, not the limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from psychometrics.efa._input import smc

__all__ = ["Extraction", "extract", "METHODS", "uls_objective", "minres_loadings"]

METHODS = ("minres", "ml", "pa", "principal")
PSI_LOWER = 0.005


@dataclass
class Extraction:
    loadings: np.ndarray          # unrotated, columns signed so that their sums are positive
    communalities: np.ndarray     # diag(ΛΛᵀ)
    values: np.ndarray            # eigenvalues of R with communalities on the diagonal
    converged: bool
    iterations: int
    at_bound: np.ndarray          # items whose uniqueness sits at the lower bound 0.005
    message: str = ""


def _top_eig(S: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(S)
    return values[::-1][:k], vectors[:, ::-1][:, :k]


def minres_loadings(R: np.ndarray, psi: np.ndarray, k: int) -> np.ndarray:
    """Λ = V_k diag(√max(e_k, 0)) from the eigen-decomposition of R − diag(ψ) (psych FAout.wls)."""
    e, V = _top_eig(R - np.diag(psi), k)
    return V * np.sqrt(np.maximum(e, 0))


def uls_objective(psi: np.ndarray, R: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """F(ψ) = ½ Σ_{j>k} e_j², e = eigenvalues of R − diag(ψ); ∂F/∂ψ = diag(ΛΛᵀ + Ψ − R)."""
    values, vectors = np.linalg.eigh(R - np.diag(psi))
    values, vectors = values[::-1], vectors[:, ::-1]
    f = 0.5 * float(np.sum(values[k:] ** 2))
    L = vectors[:, :k] * np.sqrt(np.maximum(values[:k], 0))
    grad = np.sum(L**2, axis=1) + psi - np.diag(R)
    return f, grad


def _ml_objective(psi: np.ndarray, R: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """psych FAfn/FAgr: −Σ_{j>k}(ln e_j − e_j) + k − p with e eigenvalues of Ψ^{-½} R Ψ^{-½}."""
    sc = 1 / np.sqrt(psi)
    Sstar = R * np.outer(sc, sc)
    values, vectors = np.linalg.eigh(Sstar)
    values, vectors = values[::-1], vectors[:, ::-1]
    e = values[k:]
    f = -(np.sum(np.log(e) - e) - k + R.shape[0])
    load = vectors[:, :k] * np.sqrt(np.maximum(values[:k] - 1, 0))
    load = load * np.sqrt(psi)[:, None]
    g = np.sum(load**2, axis=1) + psi - np.diag(R)
    return float(f), g / psi**2


def _ml_loadings(R: np.ndarray, psi: np.ndarray, k: int) -> np.ndarray:
    sc = 1 / np.sqrt(psi)
    e, V = _top_eig(R * np.outer(sc, sc), k)
    return np.sqrt(psi)[:, None] * (V * np.sqrt(np.maximum(e - 1, 0)))


def _single_thread_blas():
    """L-BFGS-B calls BLAS on tiny vectors; multi-threaded OpenBLAS makes it ~20× slower on a
    busy machine, so limit BLAS to one thread while it runs (threadpoolctl comes with
    scikit-learn; without it nothing changes)."""
    from contextlib import nullcontext

    from psychometrics.efa._input import _blas_controller

    controller = _blas_controller()
    return nullcontext() if controller is None else controller.limit(limits=1, user_api="blas")


def _optimise(fun, grad, start: np.ndarray, upper: float, exact: bool):
    """Minimise over ψ ∈ [0.005, upper]ᵖ with L-BFGS-B.

    ``exact=False`` reproduces psych's call of R's ``optim``: parameters scaled by
    ``parscale = 0.01``, ``factr = 1e7`` (ftol = 1e7·eps), ``pgtol = 0``, 5 corrections,
    at most 100 iterations — so the same stopping point is reached (to ~1e-13 on the
    shipped datasets). ``exact=True`` iterates to a tight optimum instead.
    """
    from scipy.optimize import minimize

    sc = 0.01
    if exact:
        options = {"maxiter": 10_000, "ftol": 1e-14, "gtol": 1e-9, "maxcor": 20}
    else:
        options = {"maxiter": 100, "ftol": 1e7 * np.finfo(float).eps, "gtol": 0.0, "maxcor": 5}
    with _single_thread_blas():
        res = minimize(lambda z: fun(z * sc), start / sc, jac=lambda z: grad(z * sc) * sc, method="L-BFGS-B",
                       bounds=[(PSI_LOWER / sc, upper / sc)] * len(start), options=options)
    x = res.x * sc
    g = grad(x)
    # converged when the projected gradient is ~0 (psych's objective and gradient are not
    # exactly consistent, so L-BFGS-B may stop with a line-search message at the optimum)
    free = ((x > PSI_LOWER + 1e-9) | (g < 0)) & ((x < upper - 1e-9) | (g > 0))
    ok = bool(np.all(np.abs(g[free]) < (1e-6 if exact else 1e-4))) or (bool(res.success) and not exact)
    return x, ok, int(res.nit), str(res.message)


def _psych_minres_objective(psi: np.ndarray, R: np.ndarray, k: int) -> float:
    """psych's ``fit.residuals`` for minres: Σ_{i>j} (S − ΛΛᵀ)²_ij with diag(S) = 1 − ψ and
    Λ from the leading k eigenpairs of S (eigenvalues < eps set to 100·eps)."""
    S = R.copy()
    np.fill_diagonal(S, 1 - psi)
    values, vectors = np.linalg.eigh(S)
    values, vectors = values[::-1], vectors[:, ::-1]
    eps = np.finfo(float).eps
    values = np.where(values < eps, 100 * eps, values)
    L = vectors[:, :k] * np.sqrt(values[:k])
    res = S - L @ L.T
    return float(np.sum(res[np.tril_indices(len(S), -1)] ** 2))


def _sign(L: np.ndarray) -> np.ndarray:
    s = np.sign(L.sum(axis=0))
    s[s == 0] = 1
    return L * s


def extract(R: np.ndarray, k: int, method: str, *, max_iter: int = 50, min_err: float = 0.001,
            exact: bool = False) -> Extraction:
    """Unrotated k-factor solution of the correlation matrix R by ``method``.

    minres: min_ψ Σ_{i<j} (r_ij − (ΛΛᵀ)_ij)² (ULS with fitted diagonal; Harman & Jones 1966).
    ml: min_ψ ln|Σ| + tr(Σ⁻¹R) − ln|R| − p with Σ = ΛΛᵀ + Ψ (Jöreskog 1967).
    pa: iterated principal axes from SMCs (psych's stopping rule).
    principal: principal components Λ = V_k diag(√e_k) (no error term).

    By default minres and ml stop where psych's call of R's L-BFGS-B stops (same objective,
    gradient, scaling and tolerances), which agrees with psych to ~1e-13 and is ~1e-6 from
    the exact optimum; ``exact=True`` iterates to the exact optimum.
    """
    p = R.shape[0]
    if method == "principal":
        e, V = _top_eig(R, k)
        L = _sign(V * np.sqrt(np.maximum(e, np.finfo(float).eps)))
        h2 = np.sum(L**2, axis=1)
        return Extraction(L, h2, np.linalg.eigvalsh(R)[::-1], True, 0, np.zeros(p, bool))
    s = smc(R) if k <= p else np.ones(p)
    if method == "pa":
        rmat = R.copy()
        np.fill_diagonal(rmat, s)
        comm = float(s.sum())
        err = comm
        i = 1
        converged = True
        values = np.linalg.eigvalsh(R)[::-1]
        while err > min_err:
            values, vectors = np.linalg.eigh(rmat)
            values, vectors = values[::-1], vectors[:, ::-1]
            with np.errstate(invalid="ignore"):
                L = vectors[:, :k] * np.sqrt(values[:k])
            new = np.sum(L**2, axis=1)
            comm1 = float(new.sum())
            np.fill_diagonal(rmat, new)
            err = abs(comm - comm1)
            if np.isnan(err):
                break
            comm = comm1
            i += 1
            if i > max_iter:
                converged = False
                err = 0
        L = _sign(L)
        h2 = np.sum(L**2, axis=1)
        return Extraction(L, h2, values, converged, i - 1, h2 >= 1 - PSI_LOWER,
                          "" if converged else f"principal-axis iterations reached max_iter = {max_iter}")
    upper = max(float(s.max()), 1.0)
    start = np.diag(R) - s
    if method == "minres":
        fun = (lambda x: uls_objective(x, R, k)[0]) if exact else (lambda x: _psych_minres_objective(x, R, k))
        psi, ok, nit, msg = _optimise(fun, lambda x: uls_objective(x, R, k)[1], start, upper, exact)
        L = minres_loadings(R, psi, k)
    elif method == "ml":
        if np.isclose(s.sum(), k) and k > 1:
            start = np.full(p, 0.5)
        psi, ok, nit, msg = _optimise(lambda x: _ml_objective(x, R, k)[0], lambda x: _ml_objective(x, R, k)[1],
                                      start, upper, exact)
        L = _ml_loadings(R, psi, k)
    else:
        raise ValueError(f"unknown method {method!r}")
    L = _sign(L)
    h2 = np.sum(L**2, axis=1)
    S = R.copy()
    np.fill_diagonal(S, h2)
    values = np.linalg.eigvalsh(S)[::-1]
    return Extraction(L, h2, values, ok, nit, psi <= PSI_LOWER + 1e-8, "" if ok else msg)
