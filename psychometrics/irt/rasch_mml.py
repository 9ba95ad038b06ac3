"""Rasch family by marginal maximum likelihood: Rasch, partial credit (PCM), rating scale (RSM).

The model in the Rasch (logit) metric, with a normal latent distribution whose variance is
estimated (θ ~ N(0, σ²); the mean 0 identifies the location):

    P(X_j = k | θ) ∝ exp(k θ + β_jk),   β_jk = Σ_{v≤k} c_jv,   β_j0 = 0
    PCM (Masters 1982): c_jv free;   RSM (Andrich 1978): c_jv = e_j + t_v, t_1 = 0;
    Rasch: the PCM with two categories.

With θ = σu, u ~ N(0, 1), this is the generalized partial credit model with every slope equal
to σ — so the likelihood, its gradient (Fisher identity) and the observed information of
Louis (1982) come from the GPCM engine (irt/_engine.py) through a linear map x = W η of the
free parameters η = (σ, c) (PCM) or (σ, e, t_2..t_{K−1}) (RSM): ∇_η ℓ = Wᵀ ∇_x ℓ and
−∇²_η ℓ = Wᵀ (−∇²_x ℓ) W. Estimation: Fisher scoring with the expected complete-data
information Wᵀ F W (a generalized EM step) until max |∇ℓ|/N < 1e−3, then Newton with the
observed information; every step is halved until ℓ does not decrease; converged when
max |∂ℓ/∂η| / N < ``tol``. SEs: Cov(η) = (Wᵀ I_obs W)⁻¹.

Conditional ML for the same models is :func:`psychometrics.irt.cml.fit_cml`; the step
difficulties of the two agree up to the location (CML: Σβ = 0, MML: E θ = 0), which
:meth:`RaschMMLResult.betapar_sum0` removes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from psychometrics._linalg import single_thread_blas
from psychometrics._results import ResultMixin
from psychometrics._text import quote
from psychometrics.exceptions import ConvergenceWarning, DataError
from psychometrics.irt._data import IRTData, prepare_responses, quadrature
from psychometrics.irt._engine import Engine
from psychometrics.irt.calibrate import _extreme_patterns, calibration_from_vector
from psychometrics.irt.results import IRTCalibration

__all__ = ["fit_rasch_mml", "RaschMMLResult"]


@dataclass(frozen=True)
class RaschMMLResult(ResultMixin):
    """A Rasch-family calibration by marginal ML, θ ~ N(0, σ²).

    ``thresholds``: per item the step difficulties δ_jv = −c_jv (logit metric of θ) and their
    mean ("location"), with SEs; ``betapar`` the easiness parameters β_jk = Σ_{v≤k} c_jv (eRm's
    sign; identified by E θ = 0); ``parameters`` the free parameters η with SEs (RSM: item
    locations ``e:<item>`` and category steps ``t<v>``); ``calibration`` the same model as an
    :class:`IRTCalibration` (GPCM, slopes = σ, θ standardised) for scores, information, the
    sum-score table and item fit.
    """

    model: str
    items: tuple[str, ...]
    n_obs: int
    loglik: float
    n_parameters: int
    aic: float
    bic: float
    sigma: float
    se_sigma: float
    converged: bool
    iterations: int
    max_abs_gradient: float
    quadrature_rule: str
    quadrature_points: int
    thresholds: pd.DataFrame
    betapar: pd.Series
    se_betapar: pd.Series
    parameters: pd.DataFrame
    covariance_beta: pd.DataFrame = field(repr=False)
    calibration: IRTCalibration = field(repr=False)
    diagnostics: tuple[str, ...] = ()

    _title = "Rasch-family calibration (marginal maximum likelihood, θ ~ N(0, σ²))"

    def to_frame(self) -> pd.DataFrame:
        """Step difficulties per item (logit metric) with SEs."""
        return self.thresholds

    def betapar_sum0(self) -> tuple[pd.Series, pd.Series]:
        """β moved along the unidentified direction β_jk + k·s to eRm's / CML's identification
        (RM, PCM: Σ_jk β_jk = 0; RSM: Σ_j e_j = 0), with SEs — for comparison with ``fit_cml``."""
        beta = self.betapar.to_numpy()
        kv = np.array([int(lab.rsplit(".c", 1)[1]) for lab in self.betapar.index], dtype=float)
        if self.model == "rsm":
            first = (kv == 1).astype(float)
            norm = np.eye(kv.size) - np.outer(kv, first) / first.sum()
        else:
            norm = np.eye(kv.size) - np.outer(kv, np.ones(kv.size)) / kv.sum()
        cov = norm @ self.covariance_beta.to_numpy() @ norm.T
        return (pd.Series(norm @ beta, index=self.betapar.index, name="beta"),
                pd.Series(np.sqrt(np.diag(cov)), index=self.betapar.index, name="se_beta"))


def _design(model: str, ncat: tuple[int, ...]) -> tuple[np.ndarray, list[str]]:
    """W with x = W η (x: the GPCM engine's item-major (a_j, c_j1..c_j,K−1))."""
    offs = np.concatenate([[0], np.cumsum(ncat)]).astype(int)
    n_x = int(offs[-1])
    cols: list[np.ndarray] = []
    labels = ["sigma"]
    slope = np.zeros(n_x)
    slope[offs[:-1]] = 1.0
    cols.append(slope)
    if model in ("rasch", "pcm"):
        for j, k in enumerate(ncat):
            for v in range(1, k):
                col = np.zeros(n_x)
                col[offs[j] + v] = 1.0
                cols.append(col)
                labels.append(f"c:{j}.{v}")
    else:  # rsm: c_jv = e_j + t_v, t_1 = 0
        k = ncat[0]
        for j in range(len(ncat)):
            col = np.zeros(n_x)
            col[offs[j] + 1 : offs[j] + k] = 1.0
            cols.append(col)
            labels.append(f"e:{j}")
        for v in range(2, k):
            col = np.zeros(n_x)
            col[offs[:-1] + v] = 1.0
            cols.append(col)
            labels.append(f"t{v}")
    return np.column_stack(cols), labels


def _maximise(engine: Engine, w: np.ndarray, eta: np.ndarray, tol: float, max_iter: int) -> dict:
    """Fisher scoring (expected complete-data information), then Newton (Louis), with step halving."""
    ll, _, r, _ = engine.estep(w @ eta)
    offs, k = engine.offs, engine.k
    converged, it, g_eta = False, 0, np.full(eta.size, np.inf)
    for it in range(1, max_iter + 1):
        x = w @ eta
        g, blocks, _ = engine.item_terms(x, r)
        g_eta = w.T @ g
        crit = np.max(np.abs(g_eta)) / engine.n
        if crit < tol:
            converged = True
            break
        h = None
        if crit < 1e-3:
            info = engine.observed_information(x)[0]
            h = w.T @ info @ w
            try:
                np.linalg.cholesky(h)
            except np.linalg.LinAlgError:
                h = None
        if h is None:
            fisher = np.zeros((x.size, x.size))
            for j in range(len(k)):
                sl = slice(offs[j], offs[j + 1])
                fisher[sl, sl] = blocks[j, : k[j], : k[j]]
            h = w.T @ fisher @ w + 1e-10 * np.eye(eta.size)
        step = np.linalg.solve(h, g_eta)
        t = 1.0
        for _ in range(40):
            trial = eta + t * step
            if trial[0] > 0:
                ll_t, _, r_t, _ = engine.estep(w @ trial)
                if ll_t >= ll - 1e-10 * abs(ll):
                    break
            t *= 0.5
        else:
            break  # no ascent along the step: stop and report
        eta, ll, r = trial, ll_t, r_t
    return {"eta": eta, "loglik": ll, "grad": g_eta, "iterations": it, "converged": converged}


@single_thread_blas
def fit_rasch_mml(
    data: pd.DataFrame,
    model: str = "pcm",
    items: list[str] | None = None,
    *,
    quadrature_rule: str = "gauss-hermite",
    quadrature_points: int = 21,
    categories: dict[str, list[float]] | None = None,
    tol: float = 1e-8,
    max_iter: int = 500,
) -> RaschMMLResult:
    """Calibrate the Rasch model, PCM or RSM by marginal ML with θ ~ N(0, σ²), σ estimated.

    Parameters
    ----------
    data : DataFrame
        Item responses (numbers; NaN = missing, used as missing at random — no row is dropped
        unless it has no response at all, which is counted). Categories are recoded to
        0..K_j−1 in value order, as in :func:`psychometrics.irt.calibrate`.
    model : {"rasch", "pcm", "rsm"}
        RSM needs the same number of categories for every item; Rasch binary items.
    quadrature_rule, quadrature_points
        As in :func:`psychometrics.irt.calibrate` (Gauss–Hermite, 21 points by default).

    Returns
    -------
    RaschMMLResult

    Notes
    -----
    Validated (tests/test_irt_rasch_mml.py) against R ``lme4::glmer`` (Rasch model as a
    logistic random-intercept model, adaptive Gauss–Hermite; rasch_mml_glmer.json), against an
    independent R implementation of the PCM/RSM marginal likelihood maximised by ``nlminb``
    at the same 21 Gauss–Hermite nodes (rasch_mml_R.json), by the identity with the GPCM of
    equal slopes, by agreement with CML (eRm identification) on large simulated data and by
    simulation recovery with interval coverage.
    """
    key = str(model).lower()
    if key not in ("rasch", "pcm", "rsm"):
        raise ValueError(f"unknown Rasch-family model {quote(model)}; use 'rasch', 'pcm' or 'rsm'")
    prepared = prepare_responses(data, items, categories)
    ncat = prepared.n_categories
    if key == "rasch" and any(k != 2 for k in ncat):
        bad = [i for i, k in zip(prepared.items, ncat) if k != 2]
        raise DataError(f"Rasch model needs binary items; not binary: {', '.join(bad[:10])} — use model='pcm'")
    if key == "rsm" and len(set(ncat)) != 1:
        shown = ", ".join(f"{i} ({k})" for i, k in list(zip(prepared.items, ncat))[:10])
        raise DataError(f"rating scale model needs the same number of used categories for every item; got {shown}")
    nodes, weights = quadrature(quadrature_rule, quadrature_points)
    engine = Engine(prepared, "gpcm", nodes, weights)
    w, labels = _design(key, ncat)
    x0 = engine.start()
    eta0 = np.linalg.lstsq(w, x0, rcond=None)[0]
    eta0[0] = 1.0
    out = _maximise(engine, w, eta0, tol, max_iter)
    diagnostics: list[str] = []
    if not out["converged"]:
        msg = (f"Rasch-family MML ({key}): not converged after {out['iterations']} iterations (max |gradient|/N = "
               f"{np.max(np.abs(out['grad'])) / engine.n:.2e}); estimates are provisional")
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
        diagnostics.append(msg)
    diagnostics += _extreme_patterns(prepared)
    return _result(key, prepared, engine, w, labels, out, quadrature_rule, diagnostics)


def _result(key: str, prepared: IRTData, engine: Engine, w: np.ndarray, labels: list[str], out: dict, rule: str,
            diagnostics: list[str]) -> RaschMMLResult:
    eta = out["eta"]
    x = w @ eta
    info = engine.observed_information(x)[0]
    try:
        cov_eta = np.linalg.inv(w.T @ info @ w)
        if np.any(np.diag(cov_eta) <= 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        cov_eta = np.full((eta.size, eta.size), np.nan)
        diagnostics.append("observed information not positive definite: no standard errors")
    items = prepared.items
    # c (all items, categories 1..) = S x; β_jk = cumulative sums of c_j
    c_rows = [int(engine.offs[j]) + v for j, k in enumerate(prepared.n_categories) for v in range(1, k)]
    s_c = (w @ np.eye(eta.size))[c_rows]  # ∂c/∂η
    cum = np.zeros((len(c_rows), len(c_rows)))
    pos = 0
    for k in prepared.n_categories:
        cum[pos : pos + k - 1, pos : pos + k - 1] = np.tril(np.ones((k - 1, k - 1)))
        pos += k - 1
    jac_beta = cum @ s_c
    beta = jac_beta @ eta
    cov_beta = jac_beta @ cov_eta @ jac_beta.T
    cov_c = s_c @ cov_eta @ s_c.T
    blabels = [f"{i}.c{v}" for i, k in zip(items, prepared.n_categories) for v in range(1, k)]
    rows = {}
    pos = 0
    for item, k in zip(items, prepared.n_categories):
        delta = -(s_c[pos : pos + k - 1] @ eta)
        cc = cov_c[pos : pos + k - 1, pos : pos + k - 1]
        row = {"location": float(delta.mean()), "se_location": float(np.sqrt(cc.sum()) / (k - 1))}
        for v in range(1, k):
            row[f"threshold{v}"] = float(delta[v - 1])
            row[f"se_threshold{v}"] = float(np.sqrt(cc[v - 1, v - 1]))
        rows[item] = row
        pos += k - 1
    thresholds = pd.DataFrame.from_dict(rows, orient="index")
    thresholds.index.name = "item"
    names = [lab if not lab.startswith(("c:", "e:")) else _name(lab, items) for lab in labels]
    params = pd.DataFrame({"estimate": eta, "se": np.sqrt(np.diag(cov_eta))}, index=names)
    cal = calibration_from_vector("gpcm", prepared, engine, x, info, out["loglik"],
                                  {"converged": out["converged"], "em_cycles": out["iterations"], "newton_steps": 0,
                                   "grad": out["grad"]},
                                  rule, (f"Rasch-family {key} by MML: slopes constrained equal (= σ)",),
                                  covariance=w @ cov_eta @ w.T)
    n, p, ll = int(prepared.codes.shape[0]), int(eta.size), float(out["loglik"])
    return RaschMMLResult(
        model=key, items=items, n_obs=n, loglik=ll, n_parameters=p, aic=-2 * ll + 2 * p, bic=-2 * ll + np.log(n) * p,
        sigma=float(eta[0]), se_sigma=float(np.sqrt(cov_eta[0, 0])), converged=bool(out["converged"]),
        iterations=int(out["iterations"]), max_abs_gradient=float(np.max(np.abs(out["grad"]))),
        quadrature_rule=rule, quadrature_points=int(engine.theta.size), thresholds=thresholds,
        betapar=pd.Series(beta, index=blabels, name="beta"),
        se_betapar=pd.Series(np.sqrt(np.diag(cov_beta)), index=blabels, name="se_beta"), parameters=params,
        covariance_beta=pd.DataFrame(cov_beta, index=blabels, columns=blabels), calibration=cal,
        diagnostics=tuple(diagnostics),
    )


def _name(label: str, items: tuple[str, ...]) -> str:
    kind, rest = label.split(":", 1)
    if kind == "e":
        return f"e:{items[int(rest)]}"
    j, v = rest.split(".")
    return f"c:{items[int(j)]}.c{v}"
