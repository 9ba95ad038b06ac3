"""Conditional maximum likelihood for the Rasch family: Rasch (RM), partial credit (PCM), rating scale (RSM).

With ε_jk = exp(β_jk) (β_j0 = 0; β are easiness parameters as in eRm: P(X_j = k | θ) ∝
exp(kθ + β_jk)) the raw score r is sufficient for θ and (Andersen 1972, 1973)

    ℓ_c = Σ_jk n_jk β_jk − Σ_r n_r log γ_r,   γ_r = [z^r] Π_j Σ_k ε_jk z^k

(elementary symmetric functions by the summation algorithm, Verhelst, Glas & van der Sluis
1984). ∂ℓ_c/∂β_jk = n_jk − Σ_r n_r ε_jk γ^{(−j)}_{r−k} / γ_r. Newton on the free parameters
η (β = W η) from zero, Hessian by central differences of the analytic gradient.
Identification as eRm (Mair & Hatzinger 2007): RM/PCM Σ_jk β_jk = 0; RSM β_jk = k e_j + ω_k
with Σ_j e_j = 0 and ω_1 = 0.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from psychometrics._validation import check_observed, name_list
from psychometrics._linalg import single_thread_blas
from psychometrics.exceptions import ConvergenceWarning, DataError, DataQualityWarning
from psychometrics.irt.results import CMLResult
from psychometrics._text import quote

__all__ = ["fit_cml"]


def _log_esf(betas: list[np.ndarray]) -> np.ndarray:
    """log γ_r, r = 0..Σ(K_j−1), for the items' β vectors (each starting with β_j0 = 0)."""
    gam = np.array([1.0])
    scale = 0.0
    for b in betas:
        eps = np.exp(b - b.max())
        scale += b.max()
        gam = np.convolve(gam, eps)
        m = gam.max()
        gam /= m
        scale += np.log(m)
    with np.errstate(divide="ignore"):
        return np.log(gam) + scale


class _CML:
    def __init__(self, codes: np.ndarray, ncat: list[int]) -> None:
        self.codes = codes
        self.ncat = ncat
        self.offs = np.concatenate([[0], np.cumsum([k - 1 for k in ncat])]).astype(int)
        self.n_jk = np.concatenate([np.bincount(codes[:, j], minlength=k)[1:] for j, k in enumerate(ncat)]).astype(float)
        scores = codes.sum(axis=1)
        self.n_r = np.bincount(scores, minlength=int(self.offs[-1]) + 1).astype(float)
        self.kvec = np.concatenate([np.arange(1, k) for k in ncat]).astype(float)

    def _split(self, beta: np.ndarray) -> list[np.ndarray]:
        return [np.concatenate([[0.0], beta[self.offs[j] : self.offs[j + 1]]]) for j in range(len(self.ncat))]

    def loglik(self, beta: np.ndarray) -> float:
        lg = _log_esf(self._split(beta))
        used = self.n_r > 0
        return float(self.n_jk @ beta - self.n_r[used] @ lg[used])

    def grad(self, beta: np.ndarray) -> np.ndarray:
        items = self._split(beta)
        lg = _log_esf(items)
        out = self.n_jk.copy()
        for j, b in enumerate(items):
            lgj = _log_esf(items[:j] + items[j + 1 :])
            for k in range(1, b.size):
                r = np.arange(k, k + lgj.size)
                pi = np.exp(b[k] + lgj - lg[r])
                out[self.offs[j] + k - 1] -= self.n_r[r] @ pi
        return out


def _design(model: str, ncat: list[int]) -> tuple[np.ndarray, list[str]]:
    """W (M × P) with β = W η for the fitting parameterisation (first parameter fixed)."""
    m = sum(k - 1 for k in ncat)
    if model in ("rasch", "pcm"):
        w = np.eye(m)[:, 1:]
        return w, []
    j = len(ncat)
    k = ncat[0]
    cols = []
    for e in range(1, j):  # e_2..e_J (e_1 = 0 while fitting)
        col = np.zeros(m)
        col[e * (k - 1) : (e + 1) * (k - 1)] = np.arange(1, k)
        cols.append(col)
    for cat in range(2, k):  # ω_2..ω_{K-1}
        col = np.zeros(m)
        col[cat - 1 :: k - 1] = 1.0
        cols.append(col)
    return np.column_stack(cols) if cols else np.zeros((m, 0)), []


@single_thread_blas
def fit_cml(data: pd.DataFrame, model: str = "pcm", items: list[str] | None = None, tol: float = 1e-10, max_iter: int = 100) -> CMLResult:
    """Conditional ML calibration of the Rasch model, PCM or RSM.

    Parameters
    ----------
    data : DataFrame
        Responses coded 0..K_j−1 (integers; the lowest category must be 0, as in eRm).
        Rows with a missing response are excluded, counted and warned about.
    model : {"rasch", "pcm", "rsm"}

    Notes
    -----
    Validated against eRm 1.0.2 ``RM``, ``PCM`` and ``RSM`` (tests/reference/irt/erm_*.json):
    β to 1e−4 of eRm and 1e−6 of the exact CML maximiser, conditional log-likelihood to 1e−6.
    """
    model = model.lower()
    if model not in ("rasch", "pcm", "rsm"):
        raise ValueError(f"unknown Rasch-family model {quote(model)}; use 'rasch', 'pcm' or 'rsm'")
    items = list(items if items is not None else data.columns)
    frame = data[items].apply(pd.to_numeric, errors="coerce")
    check_observed(frame.to_numpy(dtype=float), list(items), "CML")
    incomplete = frame.isna().any(axis=1)
    diagnostics: list[str] = []
    if incomplete.any():
        msg = f"CML: {int(incomplete.sum())} row(s) with a missing response excluded (CML here needs complete rows)"
        warnings.warn(msg, DataQualityWarning, stacklevel=2)
        diagnostics.append(msg)
    frame = frame.loc[~incomplete]
    values = frame.to_numpy()
    if values.size == 0:
        raise DataError(f"CML: no row has a response to every item ({len(frame)} complete of {len(data)})")
    bad = [str(c) for c, v in zip(items, values.T) if np.any(v < 0) or np.any(v != np.round(v))]
    if bad:
        raise DataError(f"CML: responses must be integers coded from 0 (lowest category); not so for items "
                        f"{name_list(bad)}")
    codes = values.astype(np.int64)
    ncat = [int(codes[:, j].max()) + 1 for j in range(len(items))]
    for j, item in enumerate(items):
        unused = sorted(set(range(ncat[j])) - set(np.unique(codes[:, j]).tolist()))
        if unused:
            raise DataError(
                f"CML: item {item} has categories nobody chose ({', '.join(map(str, unused))}); its parameters are "
                "not estimable — collapse the category or drop the item"
            )
    if model == "rasch" and any(k != 2 for k in ncat):
        raise DataError("CML Rasch model needs binary (0/1) items; use model='pcm' for polytomous items")
    if model == "rsm" and len(set(ncat)) != 1:
        raise DataError("CML rating scale model needs the same number of categories for every item")
    cml = _CML(codes, ncat)
    w, _ = _design(model, ncat)
    eta = np.zeros(w.shape[1])
    h = 1e-6
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        g = w.T @ cml.grad(w @ eta)
        hess = np.column_stack(
            [(w.T @ cml.grad(w @ (eta + h * e)) - w.T @ cml.grad(w @ (eta - h * e))) / (2 * h) for e in np.eye(eta.size)]
        )
        hess = 0.5 * (hess + hess.T)
        step = np.linalg.solve(-hess, g)
        eta = eta + step
        if np.max(np.abs(step)) < tol or np.max(np.abs(g)) < tol:
            converged = True
            break
    if not converged:
        msg = f"CML ({model}): not converged after {max_iter} Newton steps"
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
        diagnostics.append(msg)
    cov_eta = np.linalg.inv(-hess)
    beta_fit = w @ eta
    kv = cml.kvec
    # normalisation along the non-identified direction β_jk + k t
    norm = np.eye(kv.size) - np.outer(kv, np.ones(kv.size)) / kv.sum()
    if model == "rsm":
        k = ncat[0]
        norm = np.eye(kv.size) + np.outer(kv, -np.tile(np.eye(1, k - 1, 0).ravel(), len(items))) / len(items)
    trans = norm @ w
    beta = trans @ eta
    cov_beta = trans @ cov_eta @ trans.T
    labels = [f"{item}.c{k}" for item, kk in zip(items, ncat) for k in range(1, kk)]
    betapar = pd.Series(beta, index=labels, name="beta")
    se = pd.Series(np.sqrt(np.diag(cov_beta)), index=labels, name="se_beta")
    rows = {}
    for j, item in enumerate(items):
        b = np.concatenate([[0.0], beta[cml.offs[j] : cml.offs[j + 1]]])
        tau = -np.diff(b)
        row = {"location": tau.mean()}
        row.update({f"threshold{k}": tau[k - 1] for k in range(1, len(b))})
        rows[item] = row
    thresholds = pd.DataFrame.from_dict(rows, orient="index")
    ll = cml.loglik(beta)
    return CMLResult(
        model=model,
        items=tuple(items),
        n_obs=int(codes.shape[0]),
        conditional_loglik=ll,
        n_parameters=int(w.shape[1]),
        iterations=it,
        converged=converged,
        betapar=betapar,
        se_betapar=se,
        thresholds=thresholds,
        eta=pd.Series(eta, name="eta"),
        se_eta=pd.Series(np.sqrt(np.diag(cov_eta)), name="se_eta"),
        covariance_eta=pd.DataFrame(cov_eta),
        diagnostics=tuple(diagnostics),
    )
