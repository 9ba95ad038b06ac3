"""Factor extraction as ``psych::fa`` (minres, ml, pa) and ``psych::principal``.

minres and ml minimise over the uniquenesses ψ (bounded to [0.005, max(SMC, 1)] as
psych does), started at ψ = 1 − SMC, with L-BFGS-B called as psych calls R's
``optim`` (psych's objective and gradient, ``parscale = 0.01``, ``factr = 1e7``,
5 corrections, at most 100 iterations), which reproduces psych's stopping point to
~1e-13 on the shipped datasets; ``exact=True`` iterates to the exact optimum instead
(≈1e-6 away). pa repeats psych's iteration exactly, including its stopping rule
(change of the summed communalities < 0.001, at most 50 iterations), because psych
reports that iterate, not the limit.

This is the one factor-extraction code path: ``efa()``, parallel analysis and
reliability's ω (Schmid–Leiman, bootstrap warm starts via ``start=``) all use it.
:func:`minres_one_factor_batch` solves the one-factor minres problem for a stack of
correlation matrices at once (parallel analysis, bootstrap replicates of ω).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from psychometrics._linalg import single_thread_blas, smc
from psychometrics._text import quote

__all__ = ["Extraction", "extract", "METHODS", "uls_objective", "minres_loadings", "minres_one_factor_batch",
           "refit_one_factor_at_bound"]

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
    uniquenesses: np.ndarray | None = None  # ψ where minres/ml stopped (a warm start for a refit)


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
    # R singular (an item a linear combination of others): eigenvalues 0 up to rounding; the
    # floor keeps the objective finite there (it changes nothing for a positive definite R)
    f = -(np.sum(np.log(np.maximum(e, np.finfo(float).tiny)) - e) - k + R.shape[0])
    load = vectors[:, :k] * np.sqrt(np.maximum(values[:k] - 1, 0))
    load = load * np.sqrt(psi)[:, None]
    g = np.sum(load**2, axis=1) + psi - np.diag(R)
    return float(f), g / psi**2


def _ml_loadings(R: np.ndarray, psi: np.ndarray, k: int) -> np.ndarray:
    sc = 1 / np.sqrt(psi)
    e, V = _top_eig(R * np.outer(sc, sc), k)
    return np.sqrt(psi)[:, None] * (V * np.sqrt(np.maximum(e - 1, 0)))


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
    with single_thread_blas():
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
            exact: bool = False, start: np.ndarray | None = None) -> Extraction:
    """Unrotated k-factor solution of the correlation matrix R by ``method``.

    minres: min_ψ Σ_{i<j} (r_ij − (ΛΛᵀ)_ij)² (ULS with fitted diagonal; Harman & Jones 1966).
    ml: min_ψ ln|Σ| + tr(Σ⁻¹R) − ln|R| − p with Σ = ΛΛᵀ + Ψ (Jöreskog 1967).
    pa: iterated principal axes from SMCs (psych's stopping rule).
    principal: principal components Λ = V_k diag(√e_k) (no error term).

    By default minres and ml stop where psych's call of R's L-BFGS-B stops (same objective,
    gradient, scaling and tolerances), which agrees with psych to ~1e-13 and is ~1e-6 from
    the exact optimum; ``exact=True`` iterates to the exact optimum.

    ``start`` (minres, ml) replaces psych's starting uniquenesses 1 − SMC, e.g. to warm-start
    bootstrap replicates from the full-sample ψ (:attr:`Extraction.uniquenesses`); the optimum
    is the same, the stopping point within the optimiser's tolerance of it.
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
    if start is None:
        start = np.diag(R) - s
        if np.isclose(s.sum(), k) and k > 1:  # psych's special case (for every fm)
            start = np.full(p, 0.5)
    start = np.asarray(start, dtype=float)  # L-BFGS-B moves a start outside the bounds onto them
    if method == "minres":
        fun = (lambda x: uls_objective(x, R, k)[0]) if exact else (lambda x: _psych_minres_objective(x, R, k))
        psi, ok, nit, msg = _optimise(fun, lambda x: uls_objective(x, R, k)[1], start, upper, exact)
        L = minres_loadings(R, psi, k)
    elif method == "ml":
        psi, ok, nit, msg = _optimise(lambda x: _ml_objective(x, R, k)[0], lambda x: _ml_objective(x, R, k)[1],
                                      start, upper, exact)
        L = _ml_loadings(R, psi, k)
    else:
        raise ValueError(f"unknown method {quote(method)}")
    L = _sign(L)
    h2 = np.sum(L**2, axis=1)
    S = R.copy()
    np.fill_diagonal(S, h2)
    values = np.linalg.eigvalsh(S)[::-1]
    return Extraction(L, h2, values, ok, nit, psi <= PSI_LOWER + 1e-8, "" if ok else msg, psi)


def minres_one_factor_batch(R: np.ndarray, start: np.ndarray | None = None, max_iter: int = 25,
                            tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """One-factor minres (ULS) loadings of a stack of correlation matrices (B, p, p).

    Minimises f(λ) = Σ_{i<j} (r_ij − λ_iλ_j)² = ½(c − 2λᵀR₀λ + (λᵀλ)² − Σλ_i⁴) (R₀ = R with
    zero diagonal) for every matrix at once, subject to psych's bound λ_i² ≤ 0.995
    (uniqueness ≥ 0.005), by Newton steps — gradient −2(R₀λ − λ(λᵀλ) + λ³), Hessian
    −2R₀ + 4(λλᵀ)_offdiag with diagonal 2(λᵀλ − λ_i²) — with step halving and a
    scaled-gradient step where the Newton step does not descend. It starts where psych
    starts (ψ = 1 − SMC: the first principal axis of R with SMCs on the diagonal), or at
    the loadings ``start`` (p,) (a warm start, e.g. the full-sample solution for bootstrap
    replicates). A
    stationary point satisfies (R − Ψ)λ = (λᵀλ)λ with Ψ = I − diag(λ²), psych's minres
    condition; a final check that the Hessian is positive semi-definite rejects saddle points.
    Matrices that do not converge, stop at a saddle or reach the bound (where the λ and
    ψ parametrisations differ slightly) are flagged for an exact refit
    (:func:`refit_one_factor_at_bound` or :func:`extract`).

    Returns ``(loadings (B, p), converged (B,))``, each column signed to a positive sum.
    """
    B, p, _ = R.shape
    eye = np.eye(p, dtype=bool)
    bound = np.sqrt(1 - PSI_LOWER)
    if start is None:
        inv = np.linalg.inv(R)
        reduced = R.copy()
        reduced[:, eye] = np.clip(1 - 1 / np.einsum("bii->bi", inv), 0, 1)
        w, v = np.linalg.eigh(reduced)
        lam = np.clip(v[:, :, -1] * np.sqrt(np.maximum(w[:, -1], 1e-12))[:, None], -bound, bound)
    else:
        lam = np.clip(np.broadcast_to(np.asarray(start, dtype=float), (B, p)), -bound, bound)
    R0 = R.copy()
    R0[:, eye] = 0.0
    c = np.einsum("bij,bij->b", R0, R0)
    # f is evaluated as a difference of terms of size ~c: changes below this are rounding noise,
    # so a (near-converged) Newton step is not rejected for an "increase" of that size
    noise = 64 * np.finfo(float).eps * (1.0 + c)

    def objective(l, rows):
        Rl = np.einsum("bij,bj->bi", R0[rows], l)
        ll = np.einsum("bi,bi->b", l, l)
        f = 0.5 * (c[rows] - 2 * np.einsum("bi,bi->b", l, Rl) + ll**2 - np.sum(l**4, axis=1))
        return f, Rl, ll

    def newton(rows: np.ndarray, iters: int) -> None:
        f, Rl, ll = objective(lam[rows], rows)
        for _ in range(iters):
            la = lam[rows]
            g = -2 * (Rl - la * ll[:, None] + la**3)
            at_bound = (np.abs(la) >= bound - 1e-12) & (g * np.sign(la) < 0)
            done = (np.abs(np.where(at_bound, 0.0, g)).max(axis=1) < tol) | (np.abs(la) >= bound - 1e-12).any(axis=1)
            if done.all():
                return
            keep = ~done
            rows, la, g, f, Rl, ll = rows[keep], la[keep], g[keep], f[keep], Rl[keep], ll[keep]
            H = _hessian(la, R0[rows], eye)
            try:
                step = -np.linalg.solve(H, g[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:
                step = -g / np.maximum(np.abs(np.einsum("bii->bi", H)), 1e-6)
            bad = np.einsum("bi,bi->b", step, g) >= 0   # indefinite Hessian: not a descent direction
            if bad.any():
                step[bad] = -g[bad] / np.maximum(np.abs(np.einsum("bii->bi", H[bad])), 1e-6)
            # backtracking, up to 20 trials per matrix: a trial is evaluated again only for the matrices whose step
            # was halved (issue 16: each trial re-evaluated every matrix of the batch, those already accepted at the
            # same point; the same values — each matrix's objective is computed on its own row of the batch)
            t = np.ones(rows.size)
            new = np.clip(la + step, -bound, bound)
            fn, Rln, lln = objective(new, rows)
            ok = fn <= f + noise[rows]
            for _ in range(19):
                if ok.all():
                    break
                t = np.where(ok, t, t / 2)
                redo = np.flatnonzero(~ok)
                new[redo] = np.clip(la[redo] + t[redo, None] * step[redo], -bound, bound)
                fn[redo], Rln[redo], lln[redo] = objective(new[redo], rows[redo])
                ok = fn <= f + noise[rows]
            take = ok
            lam[rows] = np.where(take[:, None], new, la)
            f = np.where(take, fn, f)
            Rl = np.where(take[:, None], Rln, Rl)
            ll = np.where(take, lln, ll)
            if not take.all():  # no trial decreased f: nothing of these matrices changed, so every later iteration
                # would repeat the same step and trials — they stop here, where they would end (issue 16)
                rows, f, Rl, ll = rows[take], f[take], Rl[take], ll[take]

    def status() -> tuple[np.ndarray, np.ndarray]:
        f, Rl, ll = objective(lam, np.arange(B))
        g = -2 * (Rl - lam * ll[:, None] + lam**3)
        hit = (np.abs(lam) >= bound - 1e-12).any(axis=1)
        conv = (np.abs(g).max(axis=1) < tol) & ~hit
        return conv, hit

    def saddles(idx: np.ndarray) -> np.ndarray:
        """Which of the matrices ``idx`` sit at a point with negative curvature."""
        if idx.size == 0:
            return np.zeros(0, dtype=bool)
        H = _hessian(lam[idx], R0[idx], eye)
        try:  # the common case: every Hessian positive definite (cheap test)
            np.linalg.cholesky(H)
            return np.zeros(idx.size, dtype=bool)
        except np.linalg.LinAlgError:
            return np.linalg.eigvalsh(H)[:, 0] < -1e-8

    newton(np.arange(B), max_iter)
    conv, hit = status()
    idx = np.where(conv)[0]
    conv[idx[saddles(idx)]] = False
    for _ in range(4):  # escape saddle points along the direction of negative curvature
        idx = np.where(~conv & ~hit)[0]
        if idx.size == 0:
            break
        w, v = np.linalg.eigh(_hessian(lam[idx], R0[idx], eye))
        d = v[:, :, 0] * np.where(w[:, :1] < 0, 1.0, 0.0)
        bestf = objective(lam[idx], idx)[0]
        best = lam[idx].copy()
        for a in (0.3, -0.3, 0.1, -0.1, 0.03, -0.03):
            cand = np.clip(lam[idx] + a * d, -bound, bound)
            fc = objective(cand, idx)[0]
            better = fc < bestf
            best[better], bestf = cand[better], np.where(better, fc, bestf)
        lam[idx] = best
        newton(idx, max_iter)
        conv, hit = status()
        idx = idx[conv[idx]]
        conv[idx[saddles(idx)]] = False
    lam = np.where(lam.sum(axis=1, keepdims=True) < 0, -lam, lam)
    return lam, conv


def _hessian(lam: np.ndarray, R0: np.ndarray, eye: np.ndarray) -> np.ndarray:
    """Hessian of f(λ) = Σ_{i<j}(r_ij − λ_iλ_j)²: −2R₀ + 4λλᵀ off the diagonal, 2(λᵀλ − λ_i²) on it."""
    H = -2 * R0 + 4 * lam[:, :, None] * lam[:, None, :]
    l2 = lam**2
    H[:, eye] = 2 * (l2.sum(axis=1, keepdims=True) - l2)
    return H


def refit_one_factor_at_bound(R: np.ndarray, h2: np.ndarray, max_iter: int = 100, tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Finish one-factor minres in psych's ψ parametrisation for matrices with an item at the bound.

    Projected fixed point ψ ← clip(1 − diag(λλᵀ), 0.005, 1) with λ the first principal axis
    of R − Ψ: its fixed points are the Karush–Kuhn–Tucker points of the bounded minres
    problem (free items: ψ = 1 − h²; items at the bound: gradient pointing outwards).
    Started from the λ-parametrised solution, it converges in a few dozen steps.
    """
    p = R.shape[1]
    idx = np.arange(p)
    psi = np.clip(1 - h2, PSI_LOWER, 1.0)
    ok = np.zeros(len(R), dtype=bool)
    h = h2
    for _ in range(max_iter):
        S = R.copy()
        S[:, idx, idx] -= psi
        w, v = np.linalg.eigh(S)
        h = np.maximum(w[:, -1], 0)[:, None] * v[:, :, -1] ** 2
        new = np.clip(1 - h, PSI_LOWER, 1.0)
        ok = np.abs(new - psi).max(axis=1) < tol
        psi = new
        if ok.all():
            break
    return h, ok
