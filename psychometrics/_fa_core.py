"""Minimal factor-analysis core used by :mod:`psychometrics.reliability` (private).

This module reproduces, step by step, the parts of R's ``psych`` and
``GPArotation`` that ``psych::omega`` relies on, so that ω computed here matches
``psych::omega`` to 1e-4:

* :func:`smc` — squared multiple correlations (``psych::smc``).
* :func:`minres` — minimum-residual (unweighted least squares) factor
  extraction as ``psych::fa(fm = "minres")``: L-BFGS-B over the uniquenesses
  with the same objective, gradient, start (1 − SMC), bounds (0.005, max(SMC, 1)),
  parameter scaling (``parscale = 0.01``) and stopping rule (``factr = 1e7``)
  as R's ``optim``; loadings from the eigen-decomposition of R − diag(ψ);
  column signs and order as ``psych::fa``.
* varimax and oblimin rotations come from :mod:`psychometrics.efa.rotation`
  (``stats::varimax`` and ``GPArotation::oblimin`` reproduced step by step).
* :func:`ml_one_factor` — maximum-likelihood one-factor model (for ω as
  ``semTools::compRelSEM`` computes it on a one-factor ``lavaan::cfa``).
* :func:`minres_one_factor_batch` — the one-factor minres solution for many
  correlation matrices at once (Newton's method on the off-diagonal least-squares
  criterion; used by the vectorised bootstrap).

Why not :func:`psychometrics.efa.extraction.extract` for minres? It converges
to the exact optimum, whereas ``psych::omega`` reports R's ``optim`` stopping
point (``factr = 1e7``), up to ~1e-5 away; reproducing psych's stopping rule
makes ω agree with psych to ~1e-13, and :func:`minres` also accepts a warm start
for bootstrap replicates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "smc",
    "minres",
    "ml_one_factor",
    "minres_one_factor_batch",
    "MinresFit",
]


def smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations 1 − 1/diag(R⁻¹), as ``psych::smc``.

    Uses the Moore–Penrose inverse (as psych's ``Pinv``) so a singular matrix
    still yields values; results are clipped to [0, 1] as psych does.
    """
    d = np.sqrt(np.diag(r))
    rr = r / np.outer(d, d)
    inv = np.linalg.pinv(rr, hermitian=True)
    out = 1.0 - 1.0 / np.diag(inv)
    return np.clip(out, 0.0, 1.0)


@dataclass(frozen=True)
class MinresFit:
    """Unrotated (or varimax-rotated) minres solution."""

    loadings: np.ndarray  # (p, k)
    uniquenesses: np.ndarray  # ψ at the optimum, (p,)
    converged: bool
    message: str


def _minres_objective(psi: np.ndarray, s: np.ndarray, nf: int) -> float:
    # psych's fit.residuals(fm = "minres"): sum of squared lower-triangle residuals
    # of the best rank-nf approximation of S with diag(S) replaced by 1 − ψ.
    m = s.copy()
    np.fill_diagonal(m, 1.0 - psi)
    vals, vecs = np.linalg.eigh(m)
    vals = vals[::-1]
    vecs = vecs[:, ::-1]
    vals = np.where(vals < np.finfo(float).eps, 100 * np.finfo(float).eps, vals)
    load = vecs[:, :nf] * np.sqrt(vals[:nf])
    res = s - load @ load.T
    il = np.tril_indices_from(res, -1)
    return float(np.sum(res[il] ** 2))


def _minres_gradient(psi: np.ndarray, s: np.ndarray, nf: int) -> np.ndarray:
    # psych's FAgr.minres: diag(L L' + diag(ψ) − S) with L from eigen(S − diag(ψ)).
    vals, vecs = np.linalg.eigh(s - np.diag(psi))
    vals = vals[::-1]
    vecs = vecs[:, ::-1]
    load = vecs[:, :nf] * np.sqrt(np.maximum(vals[:nf], 0.0))
    return np.einsum("ij,ij->i", load, load) + psi - np.diag(s)


def _loadings_at(psi: np.ndarray, s: np.ndarray, nf: int) -> np.ndarray:
    # psych's FAout.wls
    vals, vecs = np.linalg.eigh(s - np.diag(psi))
    vals = vals[::-1]
    vecs = vecs[:, ::-1]
    return vecs[:, :nf] * np.sqrt(np.maximum(vals[:nf], 0.0))


def minres(r: np.ndarray, nfactors: int, rotate: str = "none", start: np.ndarray | None = None) -> MinresFit:
    """Minimum-residual factor analysis of a correlation matrix as ``psych::fa(fm = "minres")``.

    Parameters
    ----------
    r : ndarray (p, p)
        Correlation matrix.
    nfactors : int
        Number of factors.
    rotate : {"none", "varimax"}
        ``"varimax"`` applies ``stats::varimax`` (:func:`psychometrics.efa.rotation.rotate`),
        then psych's sign and column-order
        conventions (columns with positive sums, ordered by sum of squares).
    start : ndarray, optional
        Starting uniquenesses instead of psych's 1 − SMC (used to warm-start
        bootstrap replicates from the full-sample solution; the optimum is the same).
    """
    from scipy.optimize import minimize

    s = np.asarray(r, dtype=float)
    p = s.shape[0]
    s_smc = smc(s)
    upper = max(float(np.max(s_smc)), 1.0)
    warm = start
    start = np.diag(s) - s_smc if warm is None else warm
    if warm is None and nfactors > 1 and np.isclose(np.sum(s_smc), nfactors):  # psych's special case
        start = np.full(p, 0.5)
    start = np.clip(start, 0.005, upper)
    scale = 0.01  # R optim parscale: optimise over ψ / 0.01
    res = minimize(
        lambda z: _minres_objective(z * scale, s, nfactors),
        start / scale,
        jac=lambda z: _minres_gradient(z * scale, s, nfactors) * scale,
        method="L-BFGS-B",
        bounds=[(0.005 / scale, upper / scale)] * p,
        # R's optim defaults for L-BFGS-B: factr = 1e7 (ftol = factr * eps), pgtol = 0,
        # m = 5 corrections, maxit = 100.
        options={"ftol": 1e7 * np.finfo(float).eps, "gtol": 0.0, "maxcor": 5, "maxiter": 100},
    )
    psi = res.x * scale
    load = _loadings_at(psi, s, nfactors)
    # psych::fa sign convention: each column sums to a positive number.
    signs = np.sign(load.sum(axis=0))
    signs[signs == 0] = 1.0
    load = load * signs
    load[load == 0] = 1e-15
    if nfactors > 1 and rotate == "varimax":
        from psychometrics.efa.rotation import rotate as _rotate  # stats::varimax, as psych::fa

        load = _rotate(load, "varimax").loadings
        signs = np.sign(load.sum(axis=0))
        signs[signs == 0] = 1.0
        load = load * signs
        order = np.argsort(-np.sum(load**2, axis=0), kind="stable")
        load = load[:, order]
    elif rotate not in ("none", "varimax"):
        raise ValueError(f"rotate must be 'none' or 'varimax', not {rotate!r}")
    return MinresFit(load, psi, bool(res.success), str(res.message))


def ml_one_factor(s: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Maximum-likelihood one-factor model of a covariance matrix.

    Minimises F = log|Σ| + tr(S Σ⁻¹) over Σ = λλᵀ + diag(θ) with the
    uniquenesses concentrated out (Jöreskog, 1967): for given θ the optimal λ is
    θ^{1/2} u (γ − 1)^{1/2} from the leading eigenpair (γ, u) of θ^{-1/2} S θ^{-1/2}.
    The fit is scale invariant, so it is done on the correlation matrix and
    rescaled. Returns ``(lambda, theta, converged)`` in the units of ``s``.
    """
    from scipy.optimize import minimize

    d = np.sqrt(np.diag(s))
    r = s / np.outer(d, d)
    p = r.shape[0]

    def parts(psi):
        sc = 1.0 / np.sqrt(psi)
        sstar = r * np.outer(sc, sc)
        vals, vecs = np.linalg.eigh(sstar)
        return vals[::-1], vecs[:, ::-1]

    def fn(psi):
        vals, _ = parts(psi)
        e = vals[1:]
        return -(np.sum(np.log(e) - e) - 1 + p)

    def gr(psi):
        vals, vecs = parts(psi)
        load = np.sqrt(psi) * vecs[:, 0] * np.sqrt(max(vals[0] - 1.0, 0.0))
        g = load**2 + psi - 1.0
        return g / psi**2

    start = 1.0 - smc(r)
    start = np.clip(start, 0.005, 1.0)
    res = minimize(fn, start, jac=gr, method="L-BFGS-B", bounds=[(0.005, 1.0)] * p,
                   options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 1000})
    psi = res.x
    vals, vecs = parts(psi)
    lam = np.sqrt(psi) * vecs[:, 0] * np.sqrt(max(vals[0] - 1.0, 0.0))
    if lam.sum() < 0:
        lam = -lam
    theta = 1.0 - lam**2
    # L-BFGS-B may stop on a line-search failure at the optimum: judge convergence by the
    # projected gradient instead of its status flag
    free = psi > 0.0051
    converged = bool(np.all(free)) and bool(np.max(np.abs(gr(psi))) < 1e-5)
    return lam * d, theta * d**2, converged


def minres_one_factor_batch(
    r: np.ndarray, start: np.ndarray, tol: float = 1e-10, maxiter: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """One-factor minres loadings for a batch of correlation matrices.

    Solves min_λ Σ_{i≠j} (r_ij − λ_i λ_j)² for each matrix in ``r`` (m, p, p) by
    Newton's method from ``start`` (p,) — at an interior optimum this is exactly
    the minres (ULS) solution ``psych::fa(fm = "minres", nfactors = 1)`` finds.
    Returns ``(loadings (m, p), ok (m,))``; ``ok`` is False where Newton did not
    converge or a communality reached psych's bound (ψ < 0.005), so that the
    caller can refit those matrices with :func:`minres`.
    """
    m, p, _ = r.shape
    lam = np.broadcast_to(start, (m, p)).copy()
    off = 1.0 - np.eye(p)
    ok = np.zeros(m, dtype=bool)
    for _ in range(maxiter):
        outer = lam[:, :, None] * lam[:, None, :]
        resid = (r - outer) * off
        grad = -np.einsum("mij,mj->mi", resid, lam)
        sumsq = np.sum(lam**2, axis=1, keepdims=True) - lam**2
        hess = (-r + 2.0 * outer) * off
        idx = np.arange(p)
        hess[:, idx, idx] = sumsq
        try:
            step = np.linalg.solve(hess, grad[..., None])[..., 0]
        except np.linalg.LinAlgError:
            break
        lam = lam - step
        ok = np.max(np.abs(step), axis=1) < tol
        if np.all(ok):
            break
    lam = np.where(lam.sum(axis=1, keepdims=True) < 0, -lam, lam)
    ok &= np.all(np.isfinite(lam), axis=1) & np.all(lam**2 < 0.995, axis=1)
    return lam, ok


def single_thread_blas():
    """Context limiting BLAS to one thread: many tiny matrix operations (one
    factor solution per bootstrap replicate) run several times faster without
    thread hand-offs. A no-op when threadpoolctl (a scikit-learn dependency) is missing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(1)
