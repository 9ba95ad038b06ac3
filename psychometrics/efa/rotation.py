"""Factor rotations, reproducing GPArotation and stats exactly.

Oblique (oblimin, geomin) and orthogonal (quartimax) rotations use the gradient
projection algorithm of Bernaards & Jennrich (2005) exactly as ``GPArotation``
2022.10 implements it (``GPFoblq``/``GPForth``: start T = I, no Kaiser
normalisation, step-size doubling then up to 11 halvings, stop when the norm of the
projected gradient < 1e-5, at most 1000 iterations). Varimax is ``stats::varimax``
(Kaiser-normalised, its own SVD iteration), which ``psych::fa`` calls for
``rotate = "varimax"``. Promax is ``psych::Promax`` applied to Kaiser-normalised
loadings as ``psych::fa`` does (``psych::kaiser``), with power m = 4; for
principal components ``psych::principal`` uses ``stats::promax`` (no extra
normalisation), available as ``kaiser=False``.

Because the same algorithm is run from the same start, the same local optimum is
reached; results agree with R to the floating-point noise of the iterations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from psychometrics._text import quote

__all__ = ["Rotation", "rotate", "sign_and_order", "ROTATIONS", "OBLIQUE"]

ROTATIONS = ("oblimin", "promax", "geomin", "varimax", "quartimax")
OBLIQUE = {"oblimin", "promax", "geomin"}


@dataclass
class Rotation:
    """Rotated loadings Λ = A (Tᵀ)⁻¹ (oblique) or A T (orthogonal), factor correlations Φ."""

    loadings: np.ndarray
    phi: np.ndarray | None
    converged: bool
    iterations: int
    criterion: str


# ------------------------------------------------------------- criteria (value, gradient)
def _oblimin(L: np.ndarray, gam: float = 0.0) -> tuple[float, np.ndarray]:
    # GPArotation vgQ.oblimin: f = Σ (L² ∘ (L² N)) / 4, N = 1 − I
    k = L.shape[1]
    X = (L**2) @ (1.0 - np.eye(k))
    if gam != 0:
        p = L.shape[0]
        X = (np.eye(p) - gam / p) @ X
    return float(np.sum(L**2 * X) / 4), L * X


def _geomin(L: np.ndarray, delta: float = 0.01) -> tuple[float, np.ndarray]:
    # GPArotation vgQ.geomin: f = Σ_i (Π_j (λ_ij² + δ))^{1/k}
    k = L.shape[1]
    L2 = L**2 + delta
    pro = np.exp(np.log(L2).sum(axis=1) / k)
    return float(pro.sum()), (2 / k) * (L / L2) * pro[:, None]


def _quartimax(L: np.ndarray) -> tuple[float, np.ndarray]:
    # GPArotation vgQ.quartimax: f = −Σ λ⁴ / 4
    return float(-np.sum(L**4) / 4), -(L**3)


def _gpf_oblique(A: np.ndarray, crit: Callable, eps: float = 1e-5, maxit: int = 1000):
    """GPArotation::GPFoblq with Tmat = I and normalize = FALSE."""
    k = A.shape[1]
    T = np.eye(k)
    al = 1.0
    L = A @ np.linalg.inv(T).T
    f, Gq = crit(L)
    G = -(L.T @ Gq @ np.linalg.inv(T)).T
    s = np.inf
    it = 0
    for it in range(maxit + 1):
        Gp = G - T * np.sum(T * G, axis=0)
        s = np.sqrt(np.sum(Gp**2))
        if s < eps:
            break
        al *= 2
        for _ in range(11):
            X = T - al * Gp
            Tt = X / np.sqrt(np.sum(X**2, axis=0))
            Tinv = np.linalg.inv(Tt)
            L = A @ Tinv.T
            ft, Gqt = crit(L)
            if f - ft > 0.5 * s**2 * al:
                break
            al /= 2
        T = Tt
        f = ft
        G = -(L.T @ Gqt @ Tinv).T
    return L, T.T @ T, s < eps, it


def _gpf_orth(A: np.ndarray, crit: Callable, eps: float = 1e-5, maxit: int = 1000):
    """GPArotation::GPForth with Tmat = I and normalize = FALSE."""
    k = A.shape[1]
    T = np.eye(k)
    al = 1.0
    L = A @ T
    f, Gq = crit(L)
    G = A.T @ Gq
    s = np.inf
    it = 0
    for it in range(maxit + 1):
        M = T.T @ G
        S = (M + M.T) / 2
        Gp = G - T @ S
        s = np.sqrt(np.sum(Gp**2))
        if s < eps:
            break
        al *= 2
        for _ in range(11):
            X = T - al * Gp
            U, _, Vt = np.linalg.svd(X)
            Tt = U @ Vt
            L = A @ Tt
            ft, Gqt = crit(L)
            if ft < f - 0.5 * s**2 * al:
                break
            al /= 2
        T = Tt
        f = ft
        G = A.T @ Gqt
    return L, s < eps, it


def _stats_varimax(x: np.ndarray, normalize: bool = True, eps: float = 1e-5):
    """stats::varimax: Kaiser-normalised SVD iteration, stops when d < d_past (1 + eps)."""
    p, k = x.shape
    sc = None
    if normalize:
        sc = np.sqrt(np.sum(x**2, axis=1))
        x = x / sc[:, None]
    TT = np.eye(k)
    d = 0.0
    converged = False
    it = 0
    for it in range(1, 1001):
        z = x @ TT
        B = x.T @ (z**3 - z @ np.diag(np.sum(z**2, axis=0)) / p)
        u, sv, vt = np.linalg.svd(B)
        TT = u @ vt
        dpast = d
        d = float(np.sum(sv))
        if d < dpast * (1 + eps):
            converged = True
            break
    z = x @ TT
    if normalize:
        z = z * sc[:, None]
    return z, TT, converged, it


def _promax(x: np.ndarray, m: int = 4, kaiser: bool = True):
    """psych::fa's promax (kaiser + Promax) or, with ``kaiser=False``, stats::promax."""
    h = np.sqrt(np.sum(x**2, axis=1)) if kaiser else np.ones(x.shape[0])
    xw = x / h[:, None]
    xv, rotmat, converged, it = _stats_varimax(xw, normalize=True)
    Q = xv * np.abs(xv) ** (m - 1)
    U = np.linalg.lstsq(xv, Q, rcond=None)[0]
    d = np.diag(np.linalg.inv(U.T @ U))
    U = U * np.sqrt(d)
    z = xv @ U
    U = rotmat @ U
    ui = np.linalg.inv(U)
    phi = ui @ ui.T
    dd = 1 / np.sqrt(np.diag(phi))      # stats::promax path takes cov2cor (a no-op up to rounding)
    phi = phi * np.outer(dd, dd)
    return z * h[:, None], phi, converged, it


def rotate(loadings: np.ndarray, method: str, *, kaiser_promax: bool = True, eps: float = 1e-5,
           maxit: int = 1000, gamma: float = 0.0, delta: float = 0.01, power: int = 4) -> Rotation:
    """Rotate a p × k loading matrix as psych does for ``rotate = method``.

    Parameters
    ----------
    loadings : ndarray
        Unrotated loadings A.
    method : {"oblimin", "promax", "geomin", "varimax", "quartimax"}
        ``oblimin`` is GPArotation::oblimin (γ = 0, quartimin); ``geomin`` is
        GPArotation::geominQ (oblique, δ = 0.01); ``quartimax`` is
        GPArotation::quartimax; ``varimax`` is stats::varimax (Kaiser-normalised);
        ``promax`` is psych's Kaiser-normalised Promax with m = 4.

    References
    ----------
    Bernaards, C. A., & Jennrich, R. I. (2005). Gradient projection algorithms and software
    for arbitrary rotation criteria in factor analysis. *Educational and Psychological
    Measurement*, 65, 676–696.
    Hendrickson, A. E., & White, P. O. (1964). Promax: a quick method for rotation to oblique
    simple structure. *British Journal of Statistical Psychology*, 17, 65–70.
    Kaiser, H. F. (1958). The varimax criterion for analytic rotation in factor analysis.
    *Psychometrika*, 23, 187–200.
    """
    A = np.asarray(loadings, dtype=float)
    if method == "oblimin":
        L, phi, conv, it = _gpf_oblique(A, lambda L: _oblimin(L, gamma), eps, maxit)
        return Rotation(L, phi, conv, it, "oblimin")
    if method == "geomin":
        L, phi, conv, it = _gpf_oblique(A, lambda L: _geomin(L, delta), eps, maxit)
        return Rotation(L, phi, conv, it, "geomin")
    if method == "quartimax":
        L, conv, it = _gpf_orth(A, _quartimax, eps, maxit)
        return Rotation(L, None, conv, it, "quartimax")
    if method == "varimax":
        L, _, conv, it = _stats_varimax(A)
        return Rotation(L, None, conv, it, "varimax")
    if method == "promax":
        L, phi, conv, it = _promax(A, power, kaiser=kaiser_promax)
        return Rotation(L, phi, conv, it, "promax")
    raise ValueError(f"unknown rotation {quote(method)}")


def sign_and_order(L: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """psych::fa's convention after rotating common factors: each column of ``L`` signed to a
    positive sum (φ re-signed to match), then columns ordered by decreasing variance
    explained, diag(φ ΛᵀΛ) (the column sums of squares for an orthogonal rotation)."""
    s = np.sign(L.sum(axis=0))
    s[s == 0] = 1
    L, phi = L * s, phi * np.outer(s, s)
    ev = np.diag(phi @ L.T @ L)
    order = np.argsort(-ev, kind="stable")
    return L[:, order], phi[np.ix_(order, order)]
