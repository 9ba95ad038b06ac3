"""Result objects of :func:`psychometrics.cfa.fit_cfa` and :func:`psychometrics.cfa.compare`."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from psychometrics._results import ResultMixin, to_jsonable
from psychometrics.exceptions import Diagnostic

__all__ = ["CFAResult", "ComparisonResult"]


@dataclass(frozen=True, eq=False)
class CFAResult(ResultMixin):
    """A fitted (multi-group) confirmatory factor analysis.

    Attributes
    ----------
    model : str
        The lavaan model syntax that was fitted.
    estimator : str
        ``"ML"``.
    group : str or None
        Name of the grouping column (None for a single-group model).
    groups : tuple of str
        Group labels in model order (lavaan's ``group.label``; ``("all",)`` for one group).
    group_equal, group_partial : tuple of str
        Cross-group equality constraints (lavaan's names) and their exceptions.
    nobs : dict
        Number of observations used per group.
    n_excluded : int
        Rows removed by listwise deletion (missing values in a model item).
    converged : bool
        Whether the estimator converged.
    iterations : int
        Fisher-scoring iterations.
    fit : dict
        Fit measures, each as lavaan's ``fitMeasures`` defines it: ``npar, fmin, chisq,
        df, pvalue, baseline_chisq, baseline_df, baseline_pvalue, cfi, tli, rmsea,
        rmsea_ci_lower, rmsea_ci_upper, rmsea_pvalue, srmr, loglik,
        unrestricted_loglik, aic, bic, bic2, ntotal, ngroups``.
    estimates : DataFrame
        One row per parameter and group (lavaan's ``parameterEstimates(fit,
        standardized = TRUE)``): ``lhs, op, rhs, group, label, free, est, se, z,
        pvalue, ci_lower, ci_upper, std_lv, std_all``. Fixed parameters have
        ``se = 0`` and NaN ``z``/``pvalue``; a free parameter whose sampling variance is
        not positive has NaN ``se, z, pvalue`` and CI (lavaan: NA), with a diagnostic.
    std_loadings : DataFrame
        Standardized (std.all) loadings, items × factors (0 where an item does not
        load). Multi-group: row index (group, item).
    latent_cov, latent_cor : DataFrame
        Model-implied covariance / correlation matrix of the factors (lavaan's
        ``lavInspect(fit, "cov.lv")`` / ``"cor.lv"``). Multi-group: row index (group, factor).
    residual_variances, std_residual_variances : Series
        Item residual variances θ_ii, unstandardized and std.all (θ_ii / σ̂_ii).
    r_squared : Series
        Proportion of item variance explained (lavaan's ``lavInspect(fit, "rsquare")``,
        which also lists higher-order-loaded factors).
    residual_cor : DataFrame
        Observed minus implied correlations (lavaan's ``resid(fit, type = "cor")``).
    implied_cov, sample_cov : DataFrame
        Model-implied and sample (ML, divisor n) covariance matrices.
    modification_indices : DataFrame
        Parameters not in the model with MI ≥ ``mi_threshold`` (lavaan's
        ``modindices``): ``lhs, op, rhs, group, mi, epc, sepc_lv, sepc_all``, largest
        first. Computed on first access (it costs as much as the fit itself).
    diagnostics : tuple of Diagnostic
        Problems found (non-convergence, Heywood cases, non-positive-definite
        latent covariance, standardized loadings > 1, identification).
    """

    model: str
    estimator: str
    group: str | None
    groups: tuple[str, ...]
    group_equal: tuple[str, ...]
    group_partial: tuple[str, ...]
    nobs: dict[str, int]
    n_excluded: int
    converged: bool
    iterations: int
    fit: dict[str, float]
    estimates: pd.DataFrame
    std_loadings: pd.DataFrame
    latent_cov: pd.DataFrame
    latent_cor: pd.DataFrame
    residual_variances: pd.Series
    std_residual_variances: pd.Series
    r_squared: pd.Series
    residual_cor: pd.DataFrame
    implied_cov: pd.DataFrame
    sample_cov: pd.DataFrame
    mi_threshold: float
    diagnostics: tuple[Diagnostic, ...] = ()
    missing: str = "listwise"
    # internal state for modification indices, score tests and comparisons
    _engine: Any = field(default=None, repr=False)

    _title = "Confirmatory factor analysis (ML)"

    # ------------------------------------------------------------- access
    @functools.cached_property
    def modification_indices(self) -> pd.DataFrame:
        """Modification indices at or above :attr:`mi_threshold`, largest first."""
        return self.modindices(minimum=self.mi_threshold)

    @property
    def items(self) -> tuple[str, ...]:
        """Observed variables, in model order."""
        return tuple(self._engine.spec.observed)

    @property
    def factors(self) -> tuple[str, ...]:
        """Latent variables, in model order."""
        return tuple(self._engine.spec.latent)

    @property
    def loadings(self) -> pd.DataFrame:
        """Unstandardized loadings, items × factors (multi-group: (group, item) rows)."""
        return self._engine.loading_table(standardized=False)

    @property
    def thresholds(self) -> pd.DataFrame | None:
        """Thresholds of ordinal items (``estimator="WLSMV"``): items × ``t1..t(C−1)``
        (multi-group: (group, item) rows); None for ML fits."""
        table = getattr(self._engine, "threshold_table", None)
        return table() if table is not None else None

    def indicators(self, factor: str) -> tuple[str, ...]:
        """Items that load on ``factor`` (in model order)."""
        spec = self._engine.spec
        return tuple(p.rhs for p in spec.parameters if p.op == "=~" and p.lhs == factor and p.group == 0)

    def parameter_vcov(self, group: str | None = None) -> pd.DataFrame:
        """Sampling covariance matrix of the free parameters (inverse expected information / N).

        Without ``group``: one row per distinct free parameter, labelled as lavaan's
        ``lavInspect(fit, "vcov")`` — the user label if there is one, else ``lhs op rhs``
        without spaces (``"visual=~x2"``, ``"visual~~textual"``), with ``".g2"``, ``".g3"``,
        ... for parameters first met in later groups; equal parameters appear once.

        With ``group`` (a label of :attr:`groups`): the free parameters of that group,
        labelled ``lhs op rhs`` without suffix (parameters shared with other groups
        included) — what per-group delta-method computations need.
        """
        return self._engine.vcov_frame(group)

    def modindices(self, minimum: float = 0.0, sort: bool = True) -> pd.DataFrame:
        """All modification indices at or above ``minimum`` (lavaan's ``modindices``)."""
        table = self._engine.modindices()
        table = table[table["mi"] >= minimum]
        if sort:
            table = table.sort_values("mi", ascending=False, kind="stable")
        return table.reset_index(drop=True)

    def score_tests(self) -> pd.DataFrame:
        """Univariate score tests for releasing each equality constraint.

        For every parameter that is equal to another one (a shared label, or a
        ``group_equal`` constraint), the χ²(1) statistic for freeing this copy,
        with its p value and expected parameter change. Equivalent to lavaan's
        ``lavTestScore(fit)$uni`` (expected information). Columns:
        ``lhs, op, rhs, group, label, x2, df, pvalue, epc``.
        """
        return self._engine.score_tests()

    # ------------------------------------------------------------- output
    def to_frame(self) -> pd.DataFrame:
        """The parameter estimates table."""
        return self.estimates

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["modification_indices"] = to_jsonable(self.modification_indices)
        return out

    def _scalars(self) -> dict[str, Any]:
        out = super()._scalars()
        out.pop("model", None)  # shown as a block by summary()
        if self.group is not None:
            out["group"] = f"{self.group} ({', '.join(f'{g}: {n}' for g, n in self.nobs.items())})"
        out.update({k: v for k, v in self.fit.items() if isinstance(v, (int, float))})
        return out

    def summary(self) -> str:
        """Plain-text summary: the model, fit measures, estimates and the other tables."""
        head, _, rest = super().summary().partition("\n")
        underline, _, rest = rest.partition("\n")
        model = "\n".join("    " + line.strip() for line in self.model.strip().splitlines())
        return "\n".join([head, underline, "Model:", model, "", rest])

    def _tables(self) -> dict[str, pd.DataFrame]:
        keep = ("estimates", "std_loadings", "latent_cor", "r_squared", "residual_cor")
        out = {k: v for k, v in super()._tables().items() if k in keep}
        out["modification_indices"] = self.modification_indices
        return out


@dataclass(frozen=True, eq=False)
class ComparisonResult(ResultMixin):
    """Comparison of fitted models (lavaan's ``lavTestLRT`` plus ΔCFI, AIC, BIC).

    Attributes
    ----------
    table : DataFrame
        One row per model, ordered from most to least parameters (fewest df first,
        as ``lavTestLRT``): ``npar, df, chisq, pvalue, cfi, tli, rmsea, srmr, aic, bic,
        delta_chisq, delta_df, delta_pvalue, rmsea_d, delta_cfi, delta_rmsea,
        delta_srmr``. The Δ columns compare each model with the previous row.
    diagnostics : tuple of Diagnostic
    """

    table: pd.DataFrame
    diagnostics: tuple[Diagnostic, ...] = ()

    _title = "Model comparison (chi-square difference tests)"

    def to_frame(self) -> pd.DataFrame:
        return self.table
