r"""The ML engine with casewise (FIML) likelihood and/or robust (MLR) inference.

* :class:`FimlState`: the FIML discrepancy :math:`F = \sum_g(\ell_{H1,g}-\ell_g(\theta))/N`
  (lavaan's ``fmin`` with ``missing = "ml"``; χ² = 2NF) and its analytic gradient; the
  scoring matrix of the optimizer is the complete-data expected information at the implied
  moments (a preconditioner only: BFGS steps with the exact gradient finish the job).
* :class:`RobustEngine`: an :class:`~psychometrics.cfa.engine.Engine` whose standard
  errors come from the observed information (analytic Hessian of the casewise likelihood;
  lavaan differentiates its analytic gradient numerically, the two agree to ~1e-8) — or,
  with ``estimator="MLR"``, the Huber–White sandwich — and whose fit measures are those of
  lavaan with ``missing = "ml"`` (H1 by EM, baseline = FIML independence model, logl-based
  AIC/BIC) plus the MLR (Yuan–Bentler, Mplus variant) scaled and robust indices
  (:mod:`psychometrics.cfa.robust`).

Validated against lavaan 0.6-14 ``cfa(..., missing = "ml", estimator = "ML"/"MLR")``
(``tests/reference/missing/``).
"""

from __future__ import annotations

import numpy as np

from psychometrics.cfa import fit_indices as fi
from psychometrics.cfa import robust
from psychometrics.cfa.em import em_moments
from psychometrics.cfa.engine import Engine
from psychometrics.cfa.estimation import CompiledModel, FitState, RowIndex, SampleStats, compiled_model, implied, jacobian
from psychometrics.cfa import fiml
from psychometrics.cfa.fiml import case_score_crossprod, case_scores, sat_eval, sat_hessian
from psychometrics.cfa.missing_moments import GroupPatterns, PatternBatch
from psychometrics.cfa.specification import ModelSpec, Parameter

__all__ = ["FimlData", "FimlState", "RobustEngine", "fiml_data"]


class FimlData:
    """Per-group pattern batches, EM (H1) moments and log-likelihoods, and the baseline fit."""

    def __init__(self, groups: list[GroupPatterns], *, em_tol: float = 1e-5, em_max_iter: int = 500):
        self.groups = groups
        self.cache: dict = {}  # data-only pieces of the robust statistics (robust._data_pieces)
        self.batches = [PatternBatch(gp) for gp in groups]
        self.em = [em_moments(b, tol=em_tol, max_iter=em_max_iter) for b in self.batches]
        self.h1_loglik = [sat_eval(b, m, S, grad=False).loglik for b, (m, S, _, _) in zip(self.batches, self.em)]
        self.nobs = tuple(int(b.N) for b in self.batches)
        self.complete = all(gp.complete for gp in groups)
        base = [gp.available_moments() for gp in groups]
        self.baseline_moments = [(m, np.diag(v)) for m, v in base]
        self.baseline_loglik = [sat_eval(b, m, S, grad=False).loglik for b, (m, S) in zip(self.batches, self.baseline_moments)]

    def stats(self) -> SampleStats:
        """The EM moments as sample statistics (start values, SRMR, residual tables)."""
        return SampleStats(tuple(S for _, S, _, _ in self.em), tuple(m for m, _, _, _ in self.em), self.nobs)

    @property
    def em_converged(self) -> bool:
        return all(ok for *_, ok in self.em)


def fiml_data(groups: list[GroupPatterns]) -> FimlData:
    return FimlData(groups)


class FimlState:
    """FIML objective and gradient (same interface as :class:`~psychometrics.cfa.estimation.FitState`)."""

    def __init__(self, model: CompiledModel, data: FimlData):
        self.model = model
        self.data = data
        self.stats = data.stats()
        self.inner = FitState(model, self.stats)
        self.N = float(sum(data.nobs))
        self.h1 = float(sum(data.h1_loglik))

    def loglik(self, x: np.ndarray) -> float:
        total = 0.0
        for g, mats in enumerate(self.model.matrices(x)):
            imp = implied(mats)
            ev = sat_eval(self.data.batches[g], imp["mu"], imp["Sigma"], grad=False)
            if not ev.ok:
                return -np.inf
            total += ev.loglik
        return total

    def fmin(self, x: np.ndarray) -> float:
        ll = self.loglik(x)
        return (self.h1 - ll) / self.N if np.isfinite(ll) else np.inf

    def derivatives(self, x: np.ndarray, extra: list[list[Parameter]] | None = None, info: bool = True):
        if info or extra:
            f0, _, inf_mat = self.inner.derivatives(x, extra=extra, info=info)
            if not np.isfinite(f0):
                return np.inf, None, None
        else:
            inf_mat = None
        n = self.model.n_free
        K = n + (sum(len(e) for e in extra) if extra else 0)
        grad = np.zeros(K)
        ll = 0.0
        offset = n
        for g, mats in enumerate(self.model.matrices(x)):
            imp = implied(mats)
            ev = sat_eval(self.data.batches[g], imp["mu"], imp["Sigma"])
            if not ev.ok:
                return np.inf, None, None
            ll += ev.loglik
            rows, idx, index, offset = self.model.group_rows(g, extra, offset)
            if not len(rows):
                continue
            dS, dM = jacobian(imp, index)
            gr = dS.reshape(len(rows), -1) @ ev.g_sigma.ravel() + dM @ ev.g_mu
            np.add.at(grad, idx, -gr / self.N)
        return (self.h1 - ll) / self.N, grad, inf_mat

    def gradient(self, x: np.ndarray) -> np.ndarray | None:
        return self.derivatives(x, info=False)[1]

    def expected_information(self, x: np.ndarray, extra: list[list[Parameter]] | None = None) -> np.ndarray:
        r"""Unit expected information of the FIML likelihood at the implied moments (lavaan's
        ``h1.information = "structured"``, ``lav_mvnorm_missing_information_expected``).

        Per missing-data pattern j (n_j rows observing o_j), with W_j = Σ_oo⁻¹ embedded in p × p:
        :math:`I = \frac1N\sum_g\Delta_g^\top\big[\oplus(\sum_j n_jW_j,\;
        \tfrac12\sum_j n_j W_j\otimes W_j)\big]\Delta_g` in (μ, vec Σ) coordinates. ``extra``
        appends parameters that are not in the model (modification indices, score tests).
        """
        n = self.model.n_free
        K = n + (sum(len(e) for e in extra) if extra else 0)
        out = np.zeros((K, K))
        offset = n
        p = len(self.model.spec.observed)
        for g, mats in enumerate(self.model.matrices(x)):
            imp = implied(mats)
            rows, idx, index, offset = self.model.group_rows(g, extra, offset)
            nr = len(rows)
            if not nr:
                continue
            b = self.data.batches[g]
            Wbar = np.zeros((p, p))
            Kron = np.zeros((p * p, p * p))
            for j in range(b.J):
                o = np.flatnonzero(b.mask[j])
                W = np.zeros((p, p))
                W[np.ix_(o, o)] = np.linalg.inv(imp["Sigma"][np.ix_(o, o)])
                Wbar += b.n[j] * W
                Kron += b.n[j] * np.kron(W, W)
            dS, dM = jacobian(imp, index)
            dSf = dS.reshape(nr, -1)
            I_rows = (0.5 * dSf @ Kron @ dSf.T + dM @ Wbar @ dM.T) / self.N
            P = np.zeros((nr, K))
            P[np.arange(nr), idx] = 1.0
            out += P.T @ I_rows @ P
        return 0.5 * (out + out.T)


def _delta(imp: dict, index: RowIndex, idx: np.ndarray, n_free: int, meanstructure: bool) -> np.ndarray:
    """Model Jacobian in full coordinates, columns mapped to the free-parameter vector: (n_free × (p + p²))."""
    dS, dM = jacobian(imp, index)
    K = len(idx)
    D = dS.reshape(K, -1) if not meanstructure else np.concatenate([dM, dS.reshape(K, -1)], axis=1)
    out = np.zeros((n_free, D.shape[1]))
    np.add.at(out, idx, D)
    return out


class RobustEngine(Engine):
    """A fitted ML model with FIML likelihood (``missing="ml"``) and/or MLR inference."""

    def __init__(self, spec: ModelSpec, data: FimlData, x: np.ndarray, *, estimator: str, fiml: bool):
        super().__init__(spec, data.stats(), x)
        self.data = data
        self.fiml = fiml
        self.estimator = estimator
        self.ms = bool(spec.meanstructure)
        if fiml:
            self.state = FimlState(self.model, data)
        self._obs_info: np.ndarray | None = None
        self._meat: np.ndarray | None = None
        self._robust: dict | None = None

    # ---------------------------------------------------------------- pieces per group
    def _mu(self, g: int) -> np.ndarray:
        return self.imp[g]["mu"] if self.ms else self.stats.mean[g]

    def deltas(self, x: np.ndarray | None = None) -> list[np.ndarray]:
        x = self.x if x is None else x
        mats = self.model.matrices(x)
        out = []
        for g in range(self.spec.ngroups):
            imp = implied(mats[g])
            out.append(_delta(imp, self.model.row_index[g], self.model.free_index[g], self.model.n_free, self.ms))
        return out

    def observed_information(self) -> np.ndarray:
        """Unit observed information: (1/N) × negative Hessian of the log-likelihood in the free parameters."""
        if self._obs_info is None:
            n = self.model.n_free
            H = np.zeros((n, n))
            grads = []
            for g in range(self.spec.ngroups):
                b = self.data.batches[g]
                ev = sat_eval(b, self._mu(g), self.imp[g]["Sigma"])
                Hs = sat_hessian(b, ev, self.ms)
                Dg = self._deltas_cache[g]
                H += Dg @ Hs @ Dg.T
                grads.append(np.concatenate([ev.g_mu, ev.g_sigma.ravel()]) if self.ms else ev.g_sigma.ravel())
            H -= self._second_order(grads)
            self._obs_info = 0.5 * (H + H.T) / self.N
        return self._obs_info

    @property
    def _deltas_cache(self) -> list[np.ndarray]:
        if not hasattr(self, "_dc"):
            self._dc = self.deltas()
        return self._dc

    def _second_order(self, grads: list[np.ndarray]) -> np.ndarray:
        """Σ_g ∂/∂x [Δ_g(x) · ∂ℓ_g/∂(μ, Σ)] with the saturated gradient held fixed (central differences;
        the implied moments are polynomial in the parameters, so the differences are exact up to rounding).
        Residual (co)variances and intercepts enter linearly: their columns are zero."""
        n = self.model.n_free
        p = len(self.spec.observed)
        linear = np.ones(n, dtype=bool)
        for prm in self.spec.parameters:
            if prm.free and prm.matrix not in ("theta", "nu"):
                linear[prm.index] = False

        def contracted(x: np.ndarray) -> np.ndarray:
            v = np.zeros(n)
            for g, mats in enumerate(self.model.matrices(x)):
                imp = implied(mats)
                dS, dM = jacobian(imp, self.model.row_index[g])
                gr = grads[g]
                val = dS.reshape(len(dS), -1) @ gr[-p * p:]
                if self.ms:
                    val += dM @ gr[:p]
                np.add.at(v, self.model.free_index[g], val)
            return v

        out = np.zeros((n, n))
        for k in np.flatnonzero(~linear):
            h = 1e-5 * max(1.0, abs(self.x[k]))
            xp, xm = self.x.copy(), self.x.copy()
            xp[k] += h
            xm[k] -= h
            out[:, k] = (contracted(xp) - contracted(xm)) / (2 * h)
        return 0.5 * (out + out.T)

    def scores(self) -> list[np.ndarray]:
        """Casewise scores in the free parameters, per group (rows × n_free)."""
        out = []
        for g in range(self.spec.ngroups):
            s = case_scores(self.data.batches[g], self._mu(g), self.imp[g]["Sigma"], self.ms)
            out.append(s @ self._deltas_cache[g].T)
        return out

    def meat(self) -> np.ndarray:
        if self._meat is None:
            batches = self.data.batches
            if all(b.rows.shape[0] * (b.p + b.p * b.p) <= fiml.SCORE_BLOCK for b in batches):
                S = np.concatenate(self.scores(), axis=0)
                self._meat = S.T @ S / self.N
            else:  # large n: the casewise scores block by block, never all rows at once
                self._meat = sum(case_score_crossprod(b, self._mu(g), self.imp[g]["Sigma"], self.ms,
                                                      lambda s, D=self._deltas_cache[g]: s @ D.T)
                                 for g, b in enumerate(batches)) / self.N
        return self._meat

    def _score_derivatives(self, extra: list[list[Parameter]]):
        """FIML: the FIML gradient and the FIML expected information (lavaan's ``modindices`` and
        ``lavTestScore`` use ``information = "expected"``, structured h1, with ``missing = "ml"``)."""
        f, grad, info = self.state.derivatives(self.x, extra=extra, info=not self.fiml)
        if self.fiml and grad is not None:
            info = self.state.expected_information(self.x, extra=extra)
        return f, grad, info

    # ---------------------------------------------------------------- inference
    def vcov(self) -> np.ndarray:
        if self._vcov is None:
            info = self.observed_information()
            n = info.shape[0]
            if n == 0:
                self._vcov = np.zeros((0, 0))
                return self._vcov
            scale = np.sqrt(np.abs(np.diag(info)))
            bad = not np.all(np.isfinite(scale)) or np.any(scale <= 0)
            if not bad:
                Isc = info / np.outer(scale, scale)
                w = np.linalg.eigvalsh(Isc)
                bad = w[0] < 1e-10 * max(w[-1], 1.0)
            if bad:
                self.singular_info = True
                self._vcov = np.full((n, n), np.nan)
                return self._vcov
            Ainv = np.linalg.inv(Isc) / np.outer(scale, scale)
            self._bread_inv = Ainv
            if self.estimator == "MLR":
                V = Ainv @ self.meat() @ Ainv
                self._vcov = 0.5 * (V + V.T) / self.N
            else:
                self._vcov = Ainv / self.N
        return self._vcov

    def bread_inverse(self) -> np.ndarray:
        self.vcov()
        return getattr(self, "_bread_inv", np.full_like(self.observed_information(), np.nan))

    # ---------------------------------------------------------------- fit measures
    def fit_measures(self) -> dict[str, float]:
        if not self.fiml:
            out = super().fit_measures()
        else:
            out = self._fiml_fit_measures()
        if self.estimator == "MLR" or self.fiml:
            out.update(robust.robust_measures(self, out))
        return out

    def _fiml_fit_measures(self) -> dict[str, float]:
        spec, d = self.spec, self.data
        G, N = spec.ngroups, self.N
        p = len(spec.observed)
        logl = self.state.loglik(self.x)
        h1 = self.state.h1
        chisq = 2 * (h1 - logl)
        df = G * (p * (p + 3) // 2) - spec.n_free
        b_chisq = 2 * (h1 - sum(d.baseline_loglik))
        b_df = G * p * (p - 1) // 2
        st = self.stats
        Sig = [i["Sigma"] for i in self.imp]
        mu = [i["mu"] for i in self.imp]
        ci = fi.rmsea_ci(chisq, df, N, G)
        out = {
            "npar": spec.n_free, "fmin": chisq / (2 * N), "chisq": chisq, "df": df,
            "pvalue": fi.chisq_pvalue(chisq, df),
            "baseline_chisq": b_chisq, "baseline_df": b_df, "baseline_pvalue": fi.chisq_pvalue(b_chisq, b_df),
            "cfi": fi.cfi(chisq, df, b_chisq, b_df), "tli": fi.tli(chisq, df, b_chisq, b_df),
            "rmsea": fi.rmsea(chisq, df, N, G), "rmsea_ci_lower": ci[0], "rmsea_ci_upper": ci[1],
            "rmsea_pvalue": fi.rmsea_pvalue(chisq, df, N, G),
            "srmr": fi.srmr_bentler(st.cov, st.mean, Sig, mu, st.nobs, True),
            "loglik": logl, "unrestricted_loglik": h1,
        }
        out.update(fi.information_criteria(logl, spec.n_free, N))
        out["ntotal"] = N
        out["ngroups"] = G
        return out


def fit_robust(spec: ModelSpec, data: FimlData, *, estimator: str, fiml: bool, max_iter: int,
               warm_start=None) -> tuple[RobustEngine, bool, int, str]:
    """Estimates of a built ``spec``: FIML (``fiml``) or complete-data ML, then MLR/ML inference."""
    from psychometrics.cfa.estimation import estimate
    from psychometrics.cfa.start_values import start_values

    compiled = compiled_model(spec)
    stats = data.stats()
    state = FimlState(compiled, data) if fiml else FitState(compiled, stats)
    x0 = start_values(compiled, stats)
    x, converged, iterations, message = estimate(
        state, x0 if warm_start is None else warm_start(compiled, x0), max_iter=max_iter)
    if not converged and warm_start is not None:
        x, converged, iterations, message = estimate(state, x0, max_iter=max_iter)
    return RobustEngine(spec, data, x, estimator=estimator, fiml=fiml), bool(converged), int(iterations), message
