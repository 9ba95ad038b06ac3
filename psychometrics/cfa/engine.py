"""The ML engine: a fitted model (:class:`Engine`) with its inference, result tables, fit
measures and score tests; :func:`fit_ml` fits a built specification, :func:`ml_result` turns
the engine into a :class:`~psychometrics.cfa.CFAResult` (both also used by invariance)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from psychometrics._linalg import single_thread_blas
from psychometrics.cfa import fit_indices as fi
from psychometrics.cfa._tables import parameter_table, record_nonpositive_sampling_variances, standardize, vcov_frame
from psychometrics.cfa.estimation import CompiledModel, FitState, SampleStats, compiled_model, estimate, implied
from psychometrics.cfa.results import CFAResult
from psychometrics.cfa.specification import ModelSpec, Parameter
from psychometrics.cfa.start_values import start_values
from psychometrics.exceptions import Diagnostic, EstimationError

__all__ = ["Engine", "fit_ml", "ml_result"]


class Engine:
    """Everything about one fitted model; builds the result tables."""

    def __init__(self, spec: ModelSpec, stats: SampleStats, x: np.ndarray):
        self.spec = spec
        self.stats = stats
        self.model = compiled_model(spec)
        self.state = FitState(self.model, stats)
        self.x = x
        self.N = stats.ntotal
        self.mats = self.model.matrices(x)
        self.imp = [implied(m) for m in self.mats]
        self._vcov: np.ndarray | None = None
        self._info: np.ndarray | None = None
        self._sd_cache: dict[tuple[str, int], np.ndarray] = {}
        self.singular_info = False

    # built when a table needs them (a Monte Carlo replication needs none)
    @cached_property
    def item_index(self) -> pd.Index:
        return pd.Index(self.spec.observed)

    @cached_property
    def factor_index(self) -> pd.Index:
        return pd.Index(self.spec.latent)

    # -------------------------------------------------------- inference
    def information(self) -> np.ndarray:
        if self._info is None:
            _, _, info = self.state.derivatives(self.x)
            self._info = info
        return self._info

    def vcov(self) -> np.ndarray:
        """Covariance matrix of the free parameters: (N · expected information)⁻¹."""
        if self._vcov is None:
            info = self.information()
            n = info.shape[0]
            if n == 0:
                self._vcov = np.zeros((0, 0))
                return self._vcov
            scale = np.sqrt(np.diag(info))
            if np.any(~np.isfinite(scale)) or np.any(scale <= 0):
                self.singular_info = True
                self._vcov = np.full((n, n), np.nan)
                return self._vcov
            Isc = info / np.outer(scale, scale)
            w = np.linalg.eigvalsh(Isc)
            if w[0] < 1e-10 * max(w[-1], 1.0):
                self.singular_info = True
                self._vcov = np.full((n, n), np.nan)
            else:
                self._vcov = np.linalg.inv(Isc) / np.outer(scale, scale) / self.N
        return self._vcov

    def vcov_frame(self, group: str | None = None) -> pd.DataFrame:
        return vcov_frame(self.spec, self.vcov(), group)

    def weak_parameters(self) -> list[Parameter]:
        """Parameters involved in the near-null direction of the information matrix."""
        info = self.information()
        scale = np.sqrt(np.clip(np.diag(info), 1e-300, None))
        w, v = np.linalg.eigh(info / np.outer(scale, scale))
        vec = np.abs(v[:, 0])
        free = self.spec.free_parameters()
        return [free[k] for k in np.flatnonzero(vec > 0.2)]

    # -------------------------------------------------------- standardized
    def _eta_sd(self, g: int) -> np.ndarray:
        key = ("eta", g)
        if key not in self._sd_cache:
            veta = np.diag(self.imp[g]["M"]).copy()
            veta[veta < 0] = np.nan
            self._sd_cache[key] = np.sqrt(veta)
        return self._sd_cache[key]

    def _ov_sd(self, g: int) -> np.ndarray:
        key = ("ov", g)
        if key not in self._sd_cache:
            vy = np.diag(self.imp[g]["Sigma"]).copy()
            vy[vy <= 0] = np.nan
            self._sd_cache[key] = np.sqrt(vy)
        return self._sd_cache[key]

    def standardize(self, prm: Parameter, value: float) -> tuple[float, float]:
        """lavaan's std.lv and std.all (``cov.std = TRUE``) of one parameter value."""
        g = prm.group
        return standardize(prm, value, eta_sd=self._eta_sd(g), ov_sd=self._ov_sd(g),
                           psi_diag=np.diag(self.mats[g]["psi"]), theta_diag=np.diag(self.mats[g]["theta"]))

    # -------------------------------------------------------- tables
    def group_label(self, g: int) -> str:
        return self.spec.groups[g]

    def estimates(self) -> pd.DataFrame:
        return parameter_table(self.spec, self.model.values(self.x), self.vcov(), self.standardize)

    def _stack(self, frames: list[pd.DataFrame | pd.Series], name: str) -> Any:
        """One group: the frame itself; several: rows stacked under a (group, name) index."""
        if self.spec.ngroups == 1:
            return frames[0]
        lengths = [len(f) for f in frames]
        inner_labels = [lab for f in frames for lab in f.index]
        inner = list(dict.fromkeys(inner_labels))
        pos = {lab: k for k, lab in enumerate(inner)}
        # build the MultiIndex from codes: from_arrays would re-factorize (slow for string arrays)
        index = pd.MultiIndex(
            levels=[pd.Index(self.spec.groups), pd.Index(inner)],
            codes=[np.repeat(np.arange(len(frames)), lengths), np.array([pos[lab] for lab in inner_labels])],
            names=["group", name], verify_integrity=False,
        )
        values = np.concatenate([f.to_numpy() for f in frames])
        if isinstance(frames[0], pd.Series):
            return pd.Series(values, index=index, name=frames[0].name)
        return pd.DataFrame(values, index=index, columns=frames[0].columns)

    def loading_table(self, standardized: bool) -> pd.DataFrame:
        frames = []
        for g in range(self.spec.ngroups):
            L = self.mats[g]["lambda"]
            if standardized:
                L = L * self._eta_sd(g)[None, :] / self._ov_sd(g)[:, None]
            frames.append(pd.DataFrame(L, index=self.item_index, columns=self.factor_index))
        return self._stack(frames, "item")

    def latent_tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        covs, cors = [], []
        names = self.factor_index
        for g in range(self.spec.ngroups):
            M = self.imp[g]["M"]
            sd = self._eta_sd(g)
            covs.append(pd.DataFrame(M, index=names, columns=names))
            cors.append(pd.DataFrame(M / np.outer(sd, sd), index=names, columns=names))
        return self._stack(covs, "factor"), self._stack(cors, "factor")

    def item_series(self) -> tuple[pd.Series, pd.Series, pd.Series]:
        res, std_res, r2 = [], [], []
        items = self.item_index
        endo = [f for f in self.spec.latent if any(p.op == "=~" and p.rhs == f for p in self.spec.parameters)]
        for g in range(self.spec.ngroups):
            theta = np.diag(self.mats[g]["theta"])
            vy = np.diag(self.imp[g]["Sigma"])
            res.append(pd.Series(theta, index=items, name="residual_variance"))
            std_res.append(pd.Series(theta / vy, index=items, name="std_residual_variance"))
            rr = pd.Series(1 - theta / vy, index=items, name="r_squared")
            if endo:
                lv = list(self.spec.latent)
                psi = np.diag(self.mats[g]["psi"])
                veta = np.diag(self.imp[g]["M"])
                extra = pd.Series([1 - psi[lv.index(f)] / veta[lv.index(f)] for f in endo], index=endo)
                rr = pd.concat([rr, extra]).rename("r_squared")
            r2.append(rr)
        return self._stack(res, "item"), self._stack(std_res, "item"), self._stack(r2, "variable")

    def matrix_tables(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        items = self.item_index
        resid, imp, samp = [], [], []
        for g in range(self.spec.ngroups):
            S, Sig = self.stats.cov[g], self.imp[g]["Sigma"]
            so, se = np.sqrt(np.diag(S)), np.sqrt(np.diag(Sig))
            # lavaan's cor.bollen: both matrices converted to correlations with their own diagonals
            R = S / np.outer(so, so) - Sig / np.outer(se, se)
            resid.append(pd.DataFrame(R, index=items, columns=items))
            imp.append(pd.DataFrame(Sig, index=items, columns=items))
            samp.append(pd.DataFrame(S, index=items, columns=items))
        return self._stack(resid, "item"), self._stack(imp, "item"), self._stack(samp, "item")

    # -------------------------------------------------------- fit measures
    def fit_measures(self) -> dict[str, float]:
        st, spec = self.stats, self.spec
        G, N = spec.ngroups, self.N
        p = len(spec.observed)
        fmin = self.state.fmin(self.x)
        chisq = 2 * N * fmin
        moments = G * (p * (p + 1) // 2 + (p if spec.meanstructure else 0))
        df = moments - spec.n_free
        b_chisq, b_df = fi.baseline_chisq(st.cov, st.nobs)
        Sig = [i["Sigma"] for i in self.imp]
        mu = [i["mu"] if spec.meanstructure else m for i, m in zip(self.imp, st.mean)]
        logl = fi.loglik(st.cov, st.mean, Sig, mu, st.nobs)
        logl_h1 = fi.loglik(st.cov, st.mean, st.cov, st.mean, st.nobs)
        ci = fi.rmsea_ci(chisq, df, N, G)
        out = {
            "npar": spec.n_free,
            "fmin": fmin,
            "chisq": chisq,
            "df": df,
            "pvalue": fi.chisq_pvalue(chisq, df),
            "baseline_chisq": b_chisq,
            "baseline_df": b_df,
            "baseline_pvalue": fi.chisq_pvalue(b_chisq, b_df),
            "cfi": fi.cfi(chisq, df, b_chisq, b_df),
            "tli": fi.tli(chisq, df, b_chisq, b_df),
            "rmsea": fi.rmsea(chisq, df, N, G),
            "rmsea_ci_lower": ci[0],
            "rmsea_ci_upper": ci[1],
            "rmsea_pvalue": fi.rmsea_pvalue(chisq, df, N, G),
            "srmr": fi.srmr_bentler(st.cov, st.mean, Sig, mu, st.nobs, spec.meanstructure),
            "loglik": logl,
            "unrestricted_loglik": logl_h1,
        }
        out.update(fi.information_criteria(logl, spec.n_free, N))
        out["ntotal"] = N
        out["ngroups"] = G
        return out

    # -------------------------------------------------------- score tests
    def _candidates(self) -> list[list[Parameter]]:
        """Parameters lavaan's ``modindices`` considers (``lav_partable_full``), per group.

        Loadings of every factor on every item, covariances among items and among
        factors, intercepts/means with a mean structure — those not in the model —
        plus every fixed parameter of the model (lavaan frees them in the extended model).
        """
        spec = self.spec
        ov, lv = list(spec.observed), list(spec.latent)
        out: list[list[Parameter]] = []
        for g in range(spec.ngroups):
            have = set()
            fixed: list[Parameter] = []
            for prm in self.model.rows_by_group[g]:
                have.add(prm.key)
                if prm.op == "~~":
                    have.add((prm.rhs, "~~", prm.lhs))
                if not prm.free:
                    fixed.append(prm)
            cand: list[Parameter] = []
            for j, f in enumerate(lv):
                for i, v in enumerate(ov):
                    if (f, "=~", v) not in have:
                        cand.append(Parameter(f, "=~", v, g, True, matrix="lambda", row=i, col=j))
            for j in range(len(ov)):
                for i in range(j, len(ov)):
                    if (ov[j], "~~", ov[i]) not in have:
                        cand.append(Parameter(ov[j], "~~", ov[i], g, True, matrix="theta", row=i, col=j))
            for j in range(len(lv)):
                for i in range(j, len(lv)):
                    if (lv[j], "~~", lv[i]) not in have:
                        cand.append(Parameter(lv[j], "~~", lv[i], g, True, matrix="psi", row=i, col=j))
            if spec.meanstructure:
                for i, v in enumerate(ov):
                    if (v, "~1", "") not in have:
                        cand.append(Parameter(v, "~1", "", g, True, matrix="nu", row=i))
                for i, f in enumerate(lv):
                    if (f, "~1", "") not in have:
                        cand.append(Parameter(f, "~1", "", g, True, matrix="alpha", row=i))
            out.append(fixed + cand)
        return out

    def _score_derivatives(self, extra: list[list[Parameter]]):
        """(fmin, gradient, unit expected information) of the model extended by ``extra``."""
        return self.state.derivatives(self.x, extra=extra)

    def _score(self, extra: list[list[Parameter]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Score statistic, EPC and V for one-at-a-time extra parameters (expected information)."""
        n = self.model.n_free
        with single_thread_blas():  # also when called lazily, outside fit_cfa
            _, grad, info = self._score_derivatives(extra)
        if grad is None:  # an implied Σ is not positive definite at the estimates (e.g. identical items)
            raise EstimationError("modification indices and score tests are not available: the model-implied "
                                  "covariance matrix is not positive definite at the estimates")
        g_extra = grad[n:]
        I11 = info[n:, n:]
        I12 = info[n:, :n]
        I22 = info[:n, :n]
        try:
            Q = np.linalg.solve(I22, I12.T)
        except np.linalg.LinAlgError:
            Q = np.linalg.lstsq(I22, I12.T, rcond=None)[0]
        V = np.diag(I11) - np.einsum("ij,ji->i", I12, Q)
        V = np.where(V < np.finfo(float).eps ** (1 / 3), np.nan, V)
        mi = self.N * g_extra ** 2 / V
        epc = -g_extra / V
        return mi, epc, V

    def modindices(self) -> pd.DataFrame:
        """lavaan's ``modindices(fit)``: MI, EPC, sepc.lv, sepc.all for every candidate."""
        extra = self._candidates()
        cols = ["lhs", "op", "rhs", "group", "mi", "epc", "sepc_lv", "sepc_all"]
        if not any(extra):
            return pd.DataFrame(columns=cols)
        mi, epc, _ = self._score(extra)
        rec = []
        k = 0
        for g, rows in enumerate(extra):
            for prm in rows:
                m, e = mi[k], epc[k]
                k += 1
                if not np.isfinite(m):
                    continue  # not identified when freed alone (e.g. a marker loading)
                if prm.op == "~~" and prm.lhs == prm.rhs:
                    # lavaan (cov.std): a variance's standardized EPC uses its current value
                    cur = self.model.values(self.x)[self.spec.parameters.index(prm)] if prm in self.spec.parameters else 0.0
                    if abs(cur) < math.sqrt(np.finfo(float).eps):
                        s_lv = s_all = 0.0
                    else:
                        s_lv, s_all = self.standardize(prm, abs(cur))
                        s_lv, s_all = math.copysign(s_lv, e), math.copysign(s_all, e)
                else:
                    s_lv, s_all = self.standardize(prm, e)
                rec.append({"lhs": prm.lhs, "op": prm.op, "rhs": prm.rhs, "group": self.group_label(g),
                            "mi": float(m), "epc": float(e), "sepc_lv": float(s_lv), "sepc_all": float(s_all)})
        return pd.DataFrame.from_records(rec, columns=cols)

    def score_tests(self) -> pd.DataFrame:
        cols = ["lhs", "op", "rhs", "group", "label", "x2", "df", "pvalue", "epc"]
        first: dict[int, Parameter] = {}
        released: list[list[Parameter]] = [[] for _ in range(self.spec.ngroups)]
        order: list[Parameter] = []
        for prm in self.spec.parameters:
            if not prm.free:
                continue
            if prm.index not in first:
                first[prm.index] = prm
                continue
            released[prm.group].append(prm)
            order.append(prm)
        if not order:
            return pd.DataFrame(columns=cols)
        mi, epc, _ = self._score(released)
        flat = [prm for rows in released for prm in rows]
        rec = []
        for prm, m, e in zip(flat, mi, epc):
            rec.append({"lhs": prm.lhs, "op": prm.op, "rhs": prm.rhs, "group": self.group_label(prm.group),
                        "label": prm.label, "x2": float(m), "df": 1,
                        "pvalue": float(special.chdtrc(1, m)) if np.isfinite(m) else math.nan, "epc": float(e)})
        return pd.DataFrame.from_records(rec, columns=cols)



def fit_ml(
    spec: ModelSpec,
    stats: SampleStats,
    *,
    max_iter: int,
    warm_start: Callable[[CompiledModel, np.ndarray], np.ndarray] | None = None,
) -> tuple[Engine, bool, int, str]:
    """ML estimates of a built ``spec`` on prepared sample statistics.

    Starts from :func:`~psychometrics.cfa.start_values.start_values`, or from ``warm_start(compiled, default_starts)`` (e.g.
    a previous model's estimates); a warm start that does not converge is retried from the
    default starts. Returns the fitted :class:`Engine`, whether the estimation converged,
    the iterations and the optimizer's message (the caller words the warning).
    """
    compiled = compiled_model(spec)
    state = FitState(compiled, stats)
    x0 = start_values(compiled, stats)
    x, converged, iterations, message = estimate(
        state, x0 if warm_start is None else warm_start(compiled, x0), max_iter=max_iter)
    if not converged and warm_start is not None:  # a poor warm start: retry from the default starts
        x, converged, iterations, message = estimate(state, x0, max_iter=max_iter)
    return Engine(spec, stats, x), bool(converged), int(iterations), message


def ml_result(
    engine: Engine,
    *,
    model: str,
    group: str | None,
    group_equal: Sequence[str],
    group_partial: Sequence[str],
    n_excluded: int,
    converged: bool,
    iterations: int,
    fit: dict[str, float] | None = None,
    mi_threshold: float = 3.84,
    diagnostics: Sequence[Diagnostic] = (),
    estimator: str = "ML",
    missing: str = "listwise",
) -> CFAResult:
    """The :class:`CFAResult` of a fitted ML :class:`Engine` (``fit``: fit measures already
    computed, else computed now; modification indices stay lazy)."""
    diagnostics = list(diagnostics)
    record_nonpositive_sampling_variances(engine.spec, engine.vcov(), diagnostics, stacklevel=6)
    estimates = engine.estimates()
    latent_cov, latent_cor = engine.latent_tables()
    res_var, std_res_var, r2 = engine.item_series()
    resid, imp_cov, samp_cov = engine.matrix_tables()
    labels = engine.spec.groups
    return CFAResult(
        model=model,
        estimator=estimator,
        missing=missing,
        group=group,
        groups=labels,
        group_equal=tuple(group_equal),
        group_partial=tuple(group_partial),
        nobs=dict(zip(labels, (int(n) for n in engine.stats.nobs))),
        n_excluded=n_excluded,
        converged=bool(converged),
        iterations=int(iterations),
        fit=engine.fit_measures() if fit is None else dict(fit),
        estimates=estimates,
        std_loadings=engine.loading_table(standardized=True),
        latent_cov=latent_cov,
        latent_cor=latent_cor,
        residual_variances=res_var,
        std_residual_variances=std_res_var,
        r_squared=r2,
        residual_cor=resid,
        implied_cov=imp_cov,
        sample_cov=samp_cov,
        mi_threshold=float(mi_threshold),
        diagnostics=tuple(diagnostics),
        _engine=engine,
    )
