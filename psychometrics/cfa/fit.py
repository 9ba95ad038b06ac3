"""``fit_cfa``: data → sufficient statistics → ML estimates → fit, standardized solution, MI."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from psychometrics._linalg import single_thread_blas, smc
from psychometrics._validation import is_numeric_item
from psychometrics.cfa import fit_indices as fi
from psychometrics.cfa._tables import parameter_table, standardize, vcov_frame
from psychometrics.cfa.estimation import CompiledModel, FitState, SampleStats, estimate, implied
from psychometrics.cfa.results import CFAResult
from psychometrics.cfa.specification import ModelSpec, Parameter, build_spec, observed_variables
from psychometrics.exceptions import (
    ConvergenceWarning,
    DataError,
    DataQualityWarning,
    Diagnostic,
    HeywoodCaseWarning,
    IdentificationError,
    IdentificationWarning,
    ModelSyntaxError,
    NotPositiveDefiniteWarning,
    record,
)

__all__ = ["fit_cfa"]



# ---------------------------------------------------------------- data
def _group_label(value: Any) -> str:
    """Group label as text; integral floats (a numeric column with NaN) print as integers."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _sample_stats(
    data: pd.DataFrame, observed: Sequence[str], group: str | None, missing: str, diags: list[Diagnostic]
) -> tuple[SampleStats, tuple[str, ...], int]:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if missing != "listwise":
        raise DataError(
            f"missing={missing!r} is not supported; use missing='listwise' (complete cases on the model items)"
        )
    absent = [v for v in observed if v not in data.columns]
    if absent:
        raise DataError(
            f"model variable(s) {', '.join(map(repr, absent))} are not columns of the data; "
            f"columns are: {', '.join(map(str, data.columns[:30]))}{' ...' if len(data.columns) > 30 else ''}"
        )
    X = data.loc[:, list(observed)]
    for v in observed:
        if not is_numeric_item(X[v].dtype):
            raise DataError(f"item {v!r} is not numeric (dtype {X[v].dtype}); recode it before fitting")
    if group is not None:
        if group not in data.columns:
            raise DataError(f"grouping variable {group!r} is not a column of the data")
        gcol = data[group]
        bad = np.flatnonzero(gcol.isna().to_numpy())
        if bad.size:
            rows = ", ".join(str(data.index[i]) for i in bad[:10])
            raise DataError(
                f"grouping variable {group!r} is missing in {bad.size} row(s) (index {rows}"
                f"{' ...' if bad.size > 10 else ''}); drop or label these rows first"
            )
    values = X.to_numpy(dtype=float)
    complete = ~np.isnan(values).any(axis=1)
    n_excluded = int((~complete).sum())
    if n_excluded:
        counts = np.isnan(values).sum(axis=0)
        detail = ", ".join(f"{v} ({c})" for v, c in zip(observed, counts) if c)
        record(
            diags, DataQualityWarning,
            f"listwise deletion: {n_excluded} of {len(values)} rows have missing values on model items "
            f"and were not used (missing per item: {detail})",
            stacklevel=5,
        )
    if group is None:
        labels = ("all",)
        blocks = [values[complete]]
    else:
        codes, uniques = pd.factorize(data[group], sort=False)  # order of first appearance, as lavaan
        labels = tuple(_group_label(v) for v in uniques)
        if len(set(labels)) < len(labels):
            raise DataError(f"grouping variable {group!r} has distinct values that print alike: {list(uniques)}")
        if len(labels) < 2:
            raise DataError(
                f"grouping variable {group!r} has a single group ({labels[0]!r}); fit without group= "
                "or supply data from at least two groups"
            )
        blocks = [values[complete & (codes == k)] for k in range(len(labels))]
    covs, means, nobs = [], [], []
    p = len(observed)
    for lab, B in zip(labels, blocks):
        where = f" in group {lab!r}" if group is not None else ""
        n = B.shape[0]
        if n < 2:
            raise DataError(f"only {n} complete row(s){where}; a CFA needs many more observations")
        mean = B.mean(axis=0)
        S = (B - mean).T @ (B - mean) / n
        sd = np.sqrt(np.diag(S))
        zero = [v for v, s in zip(observed, sd) if not s > 0]
        if zero:
            raise DataError(f"item(s) {', '.join(map(repr, zero))} have zero variance{where}; remove them from the model")
        if n <= p:
            raise DataError(
                f"{n} complete rows{where} but {p} items: the sample covariance matrix is singular; "
                "a group needs more observations than items"
            )
        if np.linalg.eigvalsh(S / np.outer(sd, sd))[0] < 1e-10:
            raise DataError(
                f"the sample covariance matrix{where} is singular (an item is a linear combination of others); "
                "remove redundant items"
            )
        covs.append(S)
        means.append(mean)
        nobs.append(n)
    return SampleStats(tuple(covs), tuple(means), tuple(nobs)), labels, n_excluded


def _moment_stats(observed: Sequence[str], sample_cov: Any, sample_mean: Any, sample_nobs: Any):
    """SampleStats from user-supplied moments (lavaan's sample.cov / sample.mean / sample.nobs)."""
    from collections.abc import Mapping

    multi = isinstance(sample_cov, Mapping)
    covs = dict(sample_cov) if multi else {"all": sample_cov}
    labels = tuple(_group_label(k) for k in covs) if multi else ("all",)

    def per_group(value: Any, what: str) -> list[Any]:
        if value is None:
            return [None] * len(covs)
        if multi:
            if not isinstance(value, Mapping) or set(map(_group_label, value)) != set(labels):
                raise DataError(f"{what} must be a mapping with the same groups as sample_cov ({', '.join(labels)})")
            value = {_group_label(k): v for k, v in value.items()}
            return [value[g] for g in labels]
        return [value]

    nobs = per_group(sample_nobs, "sample_nobs")
    means = per_group(sample_mean, "sample_mean")
    out_cov, out_mean, out_n = [], [], []
    p = len(observed)
    for g, C, m, n in zip(labels, covs.values(), means, nobs):
        where = f" of group {g!r}" if multi else ""
        if n is None or not float(n).is_integer() or int(n) <= p:
            raise DataError(f"sample_nobs{where} must be an integer larger than the number of items ({p}), got {n!r}")
        n = int(n)
        if not isinstance(C, pd.DataFrame):
            raise DataError(f"sample_cov{where} must be a DataFrame labelled with the item names")
        absent = [v for v in observed if v not in C.index or v not in C.columns]
        if absent:
            raise DataError(f"sample_cov{where} lacks model variable(s) {', '.join(map(repr, absent))}")
        S = C.loc[list(observed), list(observed)].to_numpy(dtype=float)
        if not np.all(np.isfinite(S)) or not np.allclose(S, S.T, rtol=1e-10, atol=1e-12):
            raise DataError(f"sample_cov{where} must be a finite symmetric matrix")
        S = 0.5 * (S + S.T) * (n - 1) / n  # lavaan: sample.cov.rescale = TRUE
        if np.linalg.eigvalsh(S)[0] <= 0:
            raise DataError(f"sample_cov{where} is not positive definite")
        if m is None:
            mean = np.zeros(p)
        else:
            mser = pd.Series(m)
            absent = [v for v in observed if v not in mser.index]
            if absent:
                raise DataError(f"sample_mean{where} lacks model variable(s) {', '.join(map(repr, absent))}")
            mean = mser.loc[list(observed)].to_numpy(dtype=float)
        out_cov.append(S)
        out_mean.append(mean)
        out_n.append(n)
    return SampleStats(tuple(out_cov), tuple(out_mean), tuple(out_n)), labels


# ---------------------------------------------------------------- starts
def _start_values(model: CompiledModel, stats: SampleStats) -> np.ndarray:
    """Starting values: item means/half variances, one-factor principal-axis loadings per factor.

    Close enough to the optimum that Fisher scoring needs few iterations; the
    optimum itself does not depend on them.
    """
    spec = model.spec
    x = np.full(model.n_free, np.nan)
    ov = {v: i for i, v in enumerate(spec.observed)}
    for g in range(model.G):
        S, mean = stats.cov[g], stats.mean[g]
        rows = model.rows_by_group[g]
        vals: dict[tuple[str, str, str], float] = {}
        lv_var: dict[str, float] = {}
        for f in spec.latent:
            loads = [r for r in rows if r.op == "=~" and r.lhs == f and r.rhs in ov]
            if not loads:
                continue
            idx = [ov[r.rhs] for r in loads]
            Sf = S[np.ix_(idx, idx)]
            if len(idx) >= 2:
                # principal axis with squared multiple correlations as communalities
                communality = smc(Sf, singular=0.5)
                R = Sf.copy()
                np.fill_diagonal(R, np.diag(Sf) * np.clip(communality, 0.05, 0.95))
                w, v = np.linalg.eigh(R)
                l = v[:, -1] * math.sqrt(max(w[-1], 1e-6))
            else:
                l = np.array([math.sqrt(0.5 * Sf[0, 0])])
            fixed = [k for k, r in enumerate(loads) if not r.free and r.value != 0]
            if fixed:
                k = fixed[0]
                if abs(l[k]) < 1e-8:
                    l = np.sign(l + 1e-12) * np.sqrt(np.abs(np.diag(Sf)) * 0.5)
                scale = loads[k].value / l[k]
                lam = l * scale
                psi = 1.0 / scale ** 2
            else:
                if np.sum(l) < 0:
                    l = -l
                fixed_var = [r for r in rows if r.op == "~~" and r.lhs == f and r.rhs == f and not r.free]
                psi = fixed_var[0].value if fixed_var and fixed_var[0].value > 0 else 1.0
                lam = l / math.sqrt(psi)
            for r, value in zip(loads, lam):
                vals[r.key] = float(value)
            lv_var[f] = float(psi)
        for r in rows:
            if not r.free or x[r.index] == x[r.index]:  # fixed, or shared and already set
                continue
            if r.start is not None:
                value = r.start
            elif r.key in vals:
                value = vals[r.key]
            elif r.matrix == "beta":
                value = 1.0
            elif r.matrix == "theta":
                value = 0.5 * S[r.row, r.row] if r.row == r.col else 0.0
            elif r.matrix == "psi":
                if r.row == r.col:
                    value = lv_var.get(r.lhs, 0.05)
                    if r.lhs not in lv_var:  # higher-order factor: half its indicators' variance
                        inds = [q.rhs for q in rows if q.op == "=~" and q.lhs == r.lhs]
                        value = 0.5 * float(np.mean([lv_var.get(i, 0.1) for i in inds])) if inds else 0.05
                    elif any(q.op == "=~" and q.rhs == r.lhs for q in rows):
                        value = 0.5 * value  # residual variance of a first-order factor
                else:
                    value = 0.0
            elif r.matrix == "nu":
                value = float(mean[r.row])
            else:  # alpha
                value = 0.0
            x[r.index] = value
    x[np.isnan(x)] = 0.0
    return x


# ---------------------------------------------------------------- engine
class Engine:
    """Everything about one fitted model; builds the result tables."""

    def __init__(self, spec: ModelSpec, stats: SampleStats, x: np.ndarray):
        self.spec = spec
        self.stats = stats
        self.model = CompiledModel(spec)
        self.state = FitState(self.model, stats)
        self.x = x
        self.N = stats.ntotal
        self.mats = self.model.matrices(x)
        self.imp = [implied(m) for m in self.mats]
        self._vcov: np.ndarray | None = None
        self._info: np.ndarray | None = None
        self._sd_cache: dict[tuple[str, int], np.ndarray] = {}
        self.item_index = pd.Index(spec.observed)
        self.factor_index = pd.Index(spec.latent)
        self.singular_info = False

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

    def _score(self, extra: list[list[Parameter]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Score statistic, EPC and V for one-at-a-time extra parameters (expected information)."""
        n = self.model.n_free
        with single_thread_blas():  # also when called lazily, outside fit_cfa
            _, grad, info = self.state.derivatives(self.x, extra=extra)
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


# ---------------------------------------------------------------- checks
def _check_identification(spec: ModelSpec, diags: list[Diagnostic]) -> None:
    p = len(spec.observed)
    moments = spec.ngroups * (p * (p + 1) // 2 + (p if spec.meanstructure else 0))
    df = moments - spec.n_free
    if df < 0:
        raise IdentificationError(
            f"the model has {spec.n_free} free parameters but only {moments} sample moments "
            f"(df = {df}); it is not identified — fix parameters or add items"
        )
    if df == 0:
        record(diags, IdentificationWarning,
               "the model has 0 degrees of freedom (saturated): it fits perfectly by construction "
               "and its fit cannot be tested", stacklevel=5)
    for g in range(spec.ngroups):
        rows = [r for r in spec.parameters if r.group == g]
        for f in spec.latent:
            inds = [r for r in rows if r.op == "=~" and r.lhs == f]
            ov_inds = [r for r in inds if r.matrix == "lambda"]
            var = [r for r in rows if r.op == "~~" and r.lhs == f and r.rhs == f]
            if len(inds) == 1 and ov_inds and var and var[0].free:
                item = ov_inds[0].rhs
                res = [r for r in rows if r.op == "~~" and r.lhs == item and r.rhs == item]
                if res and res[0].free:
                    record(diags, IdentificationWarning,
                           f"factor {f!r} has a single indicator ({item!r}) with free residual variance and "
                           "free factor variance: they are not separately identified; fix the residual "
                           f"variance (e.g. '{item} ~~ 0*{item}') or add indicators", stacklevel=5)


def _post_checks(engine: Engine, diags: list[Diagnostic]) -> None:
    spec = engine.spec
    G = spec.ngroups
    for g in range(G):
        where = f" in group {spec.groups[g]!r}" if G > 1 else ""
        theta = np.diag(engine.mats[g]["theta"])
        for v, t in zip(spec.observed, theta):
            if t < 0:
                record(diags, HeywoodCaseWarning,
                       f"Heywood case: the residual variance of item {v!r} is negative ({t:.4g}){where}",
                       stacklevel=5)
        psi = np.diag(engine.mats[g]["psi"])
        for f, s in zip(spec.latent, psi):
            if s < 0:
                record(diags, HeywoodCaseWarning,
                       f"Heywood case: the (residual) variance of factor {f!r} is negative ({s:.4g}){where}",
                       stacklevel=5)
        M = engine.imp[g]["M"]
        if M.size and np.linalg.eigvalsh(0.5 * (M + M.T))[0] <= 0:
            record(diags, NotPositiveDefiniteWarning,
                   f"the covariance matrix of the factors is not positive definite{where} "
                   "(a factor correlation at or beyond ±1, or a negative variance)", stacklevel=5)
        with np.errstate(invalid="ignore", divide="ignore"):
            L = engine.mats[g]["lambda"] * engine._eta_sd(g)[None, :] / engine._ov_sd(g)[:, None]
        for i, j in zip(*np.nonzero(np.abs(np.nan_to_num(L)) > 1)):
            record(diags, HeywoodCaseWarning,
                   f"standardized loading of item {spec.observed[i]!r} on factor {spec.latent[j]!r} is "
                   f"{L[i, j]:.3f} (beyond ±1){where}", stacklevel=5)


# ---------------------------------------------------------------- public
def fit_cfa(
    model: Any,
    data: pd.DataFrame | None = None,
    estimator: str = "ML",
    *,
    sample_cov: Any = None,
    sample_mean: Any = None,
    sample_nobs: Any = None,
    group: str | None = None,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
    std_lv: bool = False,
    meanstructure: bool | None = None,
    orthogonal: bool = False,
    missing: str = "listwise",
    mi_threshold: float = 3.84,
    max_iter: int = 500,
    ordered: Sequence[str] | bool | None = None,
    empty_categories: str = "error",
) -> CFAResult:
    r"""Fit a confirmatory factor analysis by maximum likelihood, as lavaan's ``cfa()``.

    With ``estimator="WLSMV"`` (or ``ordered=``) the items are ordinal and the model
    is fitted by DWLS with thresholds, robust standard errors and the scaled-shifted
    test, as lavaan's ``cfa(..., ordered = ..., estimator = "WLSMV")`` — see
    :mod:`psychometrics.cfa.categorical` and ``docs/cfa-categorical.md``.

    Parameters
    ----------
    model : str or Scale
        lavaan model syntax (see :mod:`psychometrics.cfa.syntax`), or a
        :class:`~psychometrics.scale.Scale` whose subscales become correlated factors
        (:func:`psychometrics.cfa.models.correlated_factors`).
    data : DataFrame, optional
        Item responses (columns named as in the model), plus the grouping column.
    sample_cov, sample_mean, sample_nobs : optional
        Instead of ``data`` (lavaan's ``sample.cov``, ``sample.mean``, ``sample.nobs``):
        the unbiased covariance matrix (divisor n − 1; a DataFrame labelled with the
        item names, or a correlation matrix), the mean vector (a Series; needed only
        with a mean structure) and n. For several groups give mappings
        ``{group label: value}`` (groups in mapping order). As lavaan
        (``sample.cov.rescale = TRUE``) the ML covariance is ``S·(n−1)/n``.
    estimator : {"ML", "WLSMV"}
        Normal-theory maximum likelihood, or (ordinal items) DWLS with lavaan's WLSMV
        inference.
    group : str, optional
        Column that defines groups for a multi-group model (groups in order of
        first appearance, as lavaan).
    group_equal : sequence of str
        Parameters constrained equal across groups, lavaan's names: ``"loadings"``,
        ``"intercepts"``, ``"means"``, ``"residuals"``, ``"residual.covariances"``,
        ``"lv.variances"``, ``"lv.covariances"``.
    group_partial : sequence of str
        Exceptions to ``group_equal``, e.g. ``["visual=~x2", "x3~1"]``.
    std_lv : bool
        Fix factor variances to 1 and free all loadings (instead of marker loadings).
    meanstructure : bool, optional
        Model intercepts and factor means (default: with several groups or ``~ 1`` in the syntax).
    orthogonal : bool
        Uncorrelated factors.
    missing : {"listwise"}
        Rows with a missing value on any model item are excluded (counted on the
        result and reported as a :class:`DataQualityWarning`).
    mi_threshold : float
        Modification indices at or above this value are kept on the result (default 3.84,
        the 5 % critical value of χ²(1)).
    max_iter : int
        Maximum Fisher-scoring iterations.
    ordered : list of str or bool, optional
        Ordinal items (lavaan's ``ordered``): implies ``estimator="WLSMV"``; must name
        every model item (``True`` or None with WLSMV: all of them).
    empty_categories : {"error", "collapse"}
        WLSMV with groups: a category empty in one group raises :class:`DataError`
        (naming item, category and group) or is merged with its neighbour in every group.

    Returns
    -------
    CFAResult

    Notes
    -----
    Discrepancy :math:`F_{ML}` and Fisher scoring as in
    :mod:`psychometrics.cfa.estimation`; χ² = 2N·F_ML; fit indices as in
    :mod:`psychometrics.cfa.fit_indices`; standard errors from the expected
    information; standardized solution as lavaan's ``standardizedSolution``
    (``std.lv``, ``std.all``); modification indices are score tests with the
    expected information (Sörbom, 1989), EPC as Saris, Satorra & Sörbom (1987).

    Validated against lavaan 0.6-14 ``cfa()``, ``fitMeasures``,
    ``parameterEstimates(standardized = TRUE)``, ``modindices``, ``resid(type = "cor")``,
    ``lavInspect(fit, "rsquare")`` (fixtures ``tests/reference/cfa/``).

    Raises
    ------
    ModelSyntaxError, DataError, IdentificationError
    """
    if estimator.upper() == "WLSMV" or ordered not in (None, False):
        if estimator.upper() not in ("WLSMV", "ML"):  # ordered= with the default "ML" means WLSMV, as lavaan
            raise ModelSyntaxError(f"estimator={estimator!r} with ordered items: use estimator='WLSMV'")
        if data is None or sample_cov is not None:
            raise DataError("estimator='WLSMV' needs item responses (data=...); from sample statistics use "
                            "psychometrics.cfa.categorical.fit_categorical")
        if meanstructure is False or missing != "listwise":
            raise ModelSyntaxError("estimator='WLSMV' always has a mean structure (thresholds) and uses "
                                   "missing='listwise'")
        from psychometrics.cfa.categorical import fit_cfa_ordinal
        from psychometrics.cfa.models import correlated_factors

        return fit_cfa_ordinal(
            model if isinstance(model, str) else correlated_factors(model), data, ordered=ordered, group=group,
            std_lv=std_lv, orthogonal=orthogonal, group_equal=group_equal, group_partial=group_partial,
            empty_categories=empty_categories, max_iter=min(max_iter, 500),
        )
    with single_thread_blas():
        return _fit_cfa(
            model, data, estimator, sample_cov=sample_cov, sample_mean=sample_mean, sample_nobs=sample_nobs,
            group=group, group_equal=group_equal, group_partial=group_partial,
            std_lv=std_lv, meanstructure=meanstructure, orthogonal=orthogonal, missing=missing,
            mi_threshold=mi_threshold, max_iter=max_iter,
        )


def _fit_cfa(model, data, estimator, *, sample_cov, sample_mean, sample_nobs, group, group_equal, group_partial, std_lv, meanstructure,
             orthogonal, missing, mi_threshold, max_iter) -> CFAResult:
    if estimator.upper() != "ML":
        raise ModelSyntaxError(f"estimator={estimator!r} is not supported; use 'ML' or (ordinal items) 'WLSMV'")
    if not isinstance(model, str):
        from psychometrics.cfa.models import correlated_factors

        model = correlated_factors(model)
    diags: list[Diagnostic] = []
    # a first pass fixes the observed variables (in model order) before the groups are known
    observed = observed_variables(model)
    if data is None:
        if sample_cov is None:
            raise DataError("give the item responses (data=...) or their moments (sample_cov=..., sample_nobs=...)")
        if group is not None:
            raise DataError("group= names a column of data; with sample_cov give one matrix per group in a mapping")
        stats, labels = _moment_stats(observed, sample_cov, sample_mean, sample_nobs)
        n_excluded = 0
        if sample_mean is None and (meanstructure or len(labels) > 1):
            raise DataError("a mean structure (several groups or meanstructure=True) needs sample_mean")
    elif sample_cov is not None or sample_mean is not None or sample_nobs is not None:
        raise DataError("give either data or sample_cov/sample_mean/sample_nobs, not both")
    else:
        stats, labels, n_excluded = _sample_stats(data, observed, group, missing, diags)
    spec = build_spec(
        model, groups=labels, std_lv=std_lv, meanstructure=meanstructure, orthogonal=orthogonal,
        group_equal=tuple(group_equal), group_partial=tuple(group_partial),
    )
    _check_identification(spec, diags)

    engine, converged, iterations, message = fit_ml(spec, stats, max_iter=max_iter)
    if not converged:
        record(diags, ConvergenceWarning,
               f"the ML estimation did not converge ({message}); estimates and fit are not trustworthy",
               stacklevel=4)
    engine.vcov()
    if engine.singular_info and spec.n_free:
        weak = ", ".join(f"'{p.lhs} {p.op} {p.rhs}'" for p in engine.weak_parameters()[:6])
        record(diags, IdentificationWarning,
               "the information matrix is singular: the model is (empirically) under-identified and "
               f"standard errors cannot be computed; check {weak or 'the parameters'}", stacklevel=4)
    _post_checks(engine, diags)

    return ml_result(engine, model=model, group=group, group_equal=group_equal, group_partial=group_partial,
                     n_excluded=n_excluded, converged=converged, iterations=iterations,
                     mi_threshold=mi_threshold, diagnostics=diags)


# ---------------------------------------------------------------- internal API (also used by invariance)
def fit_ml(
    spec: ModelSpec,
    stats: SampleStats,
    *,
    max_iter: int,
    warm_start: Callable[[CompiledModel, np.ndarray], np.ndarray] | None = None,
) -> tuple[Engine, bool, int, str]:
    """ML estimates of a built ``spec`` on prepared sample statistics.

    Starts from :func:`_start_values`, or from ``warm_start(compiled, default_starts)`` (e.g.
    a previous model's estimates); a warm start that does not converge is retried from the
    default starts. Returns the fitted :class:`Engine`, whether the estimation converged,
    the iterations and the optimizer's message (the caller words the warning).
    """
    compiled = CompiledModel(spec)
    state = FitState(compiled, stats)
    x0 = _start_values(compiled, stats)
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
) -> CFAResult:
    """The :class:`CFAResult` of a fitted ML :class:`Engine` (``fit``: fit measures already
    computed, else computed now; modification indices stay lazy)."""
    estimates = engine.estimates()
    latent_cov, latent_cor = engine.latent_tables()
    res_var, std_res_var, r2 = engine.item_series()
    resid, imp_cov, samp_cov = engine.matrix_tables()
    labels = engine.spec.groups
    return CFAResult(
        model=model,
        estimator="ML",
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
