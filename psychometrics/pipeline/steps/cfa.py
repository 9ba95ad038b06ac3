"""Step 5, confirmatory factor analysis of the validation sample: the declared model and its
competitors (higher-order, one factor, bifactor), WLSMV for ordinal items with an ML fallback
per model, the model comparison and ω from the bifactor model."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from psychometrics._linalg import single_thread_blas
from psychometrics.exceptions import PsychometricsError
from psychometrics.pipeline.options import Estimation
from psychometrics.pipeline.state import CFAStep
from psychometrics.pipeline.steps._common import why

if TYPE_CHECKING:
    from psychometrics.cfa import CFAResult
    from psychometrics.ordinal.shared import OrdinalRows
    from psychometrics.reliability import OmegaBifactorResult
    from psychometrics.scale import Scale

__all__ = ["cfa_step", "fit_indices"]

_LABELS = CFAStep.LABELS


def fit_indices(res: CFAResult) -> dict[str, float]:
    """The fit indices the table and the verdicts use: ML as is; WLSMV the scaled ones.

    For WLSMV, χ², p, CFI, TLI and RMSEA (with its CI) are lavaan's ``*_scaled``
    (mean- and variance-adjusted; Muthén et al., 1997) — what Mplus and most applied
    papers report, and what the Hu & Bentler cut-offs are usually applied to; the robust
    CFI/RMSEA (Savalei, 2021; lavaan's ``*_robust``) are shown beside them.
    """
    f = res.fit
    if res.estimator == "MLR":  # Yuan–Bentler scaled χ², robust CFI/TLI/RMSEA (Brosseau-Liard & Savalei, 2014)
        return {"chisq": f["chisq_scaled"], "df": f["df"], "pvalue": f["pvalue_scaled"], "cfi": f["cfi_robust"],
                "tli": f["tli_robust"], "rmsea": f["rmsea_robust"], "rmsea_ci_lower": f["rmsea_ci_lower_robust"],
                "rmsea_ci_upper": f["rmsea_ci_upper_robust"], "srmr": f["srmr"], "aic": f["aic"], "bic": f["bic"],
                "cfi_robust": f["cfi_robust"], "rmsea_robust": f["rmsea_robust"]}
    if res.estimator != "WLSMV":
        return {k: f[k] for k in ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_ci_lower",
                                  "rmsea_ci_upper", "srmr", "aic", "bic")}
    return {"chisq": f["chisq_scaled"], "df": f["df"], "pvalue": f["pvalue_scaled"], "cfi": f["cfi_scaled"],
            "tli": f["tli_scaled"], "rmsea": f["rmsea_scaled"], "rmsea_ci_lower": f["rmsea_ci_lower_scaled"],
            "rmsea_ci_upper": f["rmsea_ci_upper_scaled"], "srmr": f["srmr"], "aic": math.nan, "bic": math.nan,
            "cfi_robust": f.get("cfi_robust", math.nan), "rmsea_robust": f.get("rmsea_robust", math.nan)}


@single_thread_blas  # modest matrices (q ≈ 500): threaded BLAS only adds hand-off cost (5x on a busy machine)
def cfa_step(items: pd.DataFrame, scale: Scale, ordinal: bool = False, est: Estimation | None = None,
             missing: str = "pairwise", ordinal_rows: OrdinalRows | None = None) -> CFAStep:
    """Fit the competing models to ``items`` (the validation rows); a model that fails is listed, never raised.

    ``est``: estimator and missing-data method of the ML-family fits (default ML, listwise);
    ``missing``: ``"pairwise"`` or ``"listwise"`` for the WLSMV fits of ordinal items; ``ordinal_rows``: the
    run's shared codes and tables of the items (the WLSMV sample statistics without coding the rows again)."""
    from psychometrics.cfa import models

    est = est or Estimation("ML", "listwise")
    specs: list[tuple[str, str, dict]] = [("correlated", models.correlated_factors(scale), {})]
    if scale.hierarchy is not None:
        specs.append(("higher_order", models.higher_order(scale), {}))
    specs.append(("one_factor", models.one_factor(scale), {}))
    if len(scale.subscales) >= 2:
        specs.append(("bifactor", models.bifactor(scale), {"std_lv": True}))
    fits: dict[str, CFAResult] = {}
    failed: dict[str, str] = {}
    notes: list[str] = []
    shared: dict[tuple[str, ...], tuple] = {}  # ordinal sample statistics, computed once for all models
    for name, syn, kw in specs:
        fit, problem = _fit(name, syn, items, kw, ordinal, notes, est, missing, shared, ordinal_rows)
        if fit is not None:
            fits[name] = fit
        else:
            failed[name] = problem
    methods = {f.estimator for f in fits.values()}
    # the bifactor model is a comparison; its ω total / ω_h describe a total score, so only when the spec
    # declares one (scoring.total or a hierarchy)
    bifactor_omega = _bifactor_omega(fits.get("bifactor"), notes) if scale.has_total else None
    return CFAStep(fits=fits, failed=failed, syntax={name: syn for name, syn, _ in specs},
                   table=_comparison_table(specs, fits, ordinal), lrt=_declared_vs_one_factor(fits),
                   bifactor_omega=bifactor_omega, notes=tuple(notes),
                   estimator="WLSMV" if methods == {"WLSMV"} else (est.estimator if methods <= {"ML", "MLR"} else
                                                                   f"WLSMV ({est.estimator} for some models)"),
                   missing=est.missing)


def _fit(name: str, syn: str, items: pd.DataFrame, kw: dict, ordinal: bool,
         notes: list[str], est: Estimation, missing: str = "pairwise",
         shared: dict[tuple[str, ...], tuple] | None = None,
         ordinal_rows: OrdinalRows | None = None) -> tuple[CFAResult | None, str]:
    """(fit, "") or (None, why it could not be fitted); WLSMV first for ordinal items, then ML."""
    from psychometrics.cfa import fit_cfa

    if ordinal:
        try:
            fit = _fit_wlsmv(syn, items, kw, missing, shared if shared is not None else {}, ordinal_rows)
            if not fit.converged:
                raise PsychometricsError("the WLSMV estimation did not converge")
            return fit, ""
        except Exception as exc:  # noqa: BLE001 - fall back to ML for this model, said in the report
            notes.append(f"{_LABELS[name]}: WLSMV failed ({why(exc)}); fitted by {est.label} instead.")
    try:
        return fit_cfa(syn, items, estimator=est.estimator, missing=est.missing, **kw), ""
    except Exception as exc:  # noqa: BLE001 - one model failing must not stop the validation; reported
        return None, why(exc)


def _fit_wlsmv(syn: str, items: pd.DataFrame, kw: dict, missing: str,
               shared: dict[tuple[str, ...], tuple], ordinal_rows: OrdinalRows | None = None) -> CFAResult:
    """``fit_cfa(syn, items, estimator="WLSMV", missing=missing, **kw)``, its thresholds, polychoric
    correlations and Γ computed once per item list and shared by the models (they all use the
    scale's items): Γ costs O(n q²) (q thresholds + correlations), the fits themselves do not grow
    with n. The diagnostics of the sample statistics are given to every fit, as before. ``ordinal_rows``: the
    run's shared codes and tables (:func:`~psychometrics.ordinal.group_stats.ordinal_sample_stats`' ``coded``)."""
    from psychometrics.cfa.categorical import fit_categorical
    from psychometrics.cfa.specification import observed_variables
    from psychometrics.ordinal.group_stats import ordinal_sample_stats

    observed = tuple(observed_variables(syn))
    if observed not in shared:
        diags: list = []
        stats, labels, n_excluded = ordinal_sample_stats(items, list(observed), None, diagnostics=diags,
                                                         missing=missing, coded=ordinal_rows)
        shared[observed] = (stats, labels, n_excluded, diags)
    stats, labels, n_excluded, diags = shared[observed]
    return fit_categorical(syn, stats, groups=labels, std_lv=kw.get("std_lv", False), max_iter=500,
                           n_excluded=n_excluded, diagnostics=list(diags))


def _comparison_table(specs: list[tuple[str, str, dict]], fits: dict[str, CFAResult], ordinal: bool) -> pd.DataFrame:
    """One row per model tried (index: the model's label); a model not fitted has only ``converged``."""
    rows = []
    for name, _, _ in specs:
        if name not in fits:
            rows.append({"Model": _LABELS[name], "converged": False})
            continue
        fit = fits[name]
        f = fit_indices(fit)
        row = {"Model": _LABELS[name], "Estimator": fit.estimator, "χ²": f["chisq"], "df": int(f["df"]),
               "p": f["pvalue"], "CFI": f["cfi"], "TLI": f["tli"], "RMSEA": f["rmsea"],
               "90% CI": (f["rmsea_ci_lower"], f["rmsea_ci_upper"]), "SRMR": f["srmr"]}
        if ordinal:
            row.update({"CFI robust": f.get("cfi_robust", math.nan), "RMSEA robust": f.get("rmsea_robust", math.nan)})
        row.update({"AIC": f["aic"], "BIC": f["bic"], "converged": fit.converged, "n": int(sum(fit.nobs.values()))})
        rows.append(row)
    return pd.DataFrame(rows).set_index("Model")


def _declared_vs_one_factor(fits: dict[str, CFAResult]) -> pd.DataFrame | None:
    """χ² difference test of the declared model against one factor (scaled for WLSMV); None when not possible."""
    if "correlated" not in fits or "one_factor" not in fits:
        return None
    a, b = fits["correlated"], fits["one_factor"]
    try:
        if a.estimator == "WLSMV" and b.estimator == "WLSMV":
            from psychometrics.cfa.categorical import scaled_difference_test

            d = scaled_difference_test(a, b)
            return pd.DataFrame([{}, {"delta_chisq": d["chisq_diff"], "delta_df": d["df_diff"],
                                      "delta_pvalue": d["pvalue"],
                                      "delta_cfi": fit_indices(b)["cfi"] - fit_indices(a)["cfi"]}],
                                index=["correlated", "one_factor"])
        if a.estimator == b.estimator:
            from psychometrics.cfa import compare

            return compare(a, b, names=["correlated", "one_factor"]).table
    except (PsychometricsError, KeyError):
        return None
    return None


def _bifactor_omega(fit: CFAResult | None, notes: list[str]) -> OmegaBifactorResult | None:
    """ω total / ω_h / ECV of the ML bifactor fit (None for a WLSMV fit or when it cannot be computed)."""
    if fit is None or fit.estimator not in ("ML", "MLR"):
        # ω_t / ω_h of the observed sum score need the ML (covariance) metric; a WLSMV fit's
        # correlations are of the latent responses, so it is left out there.
        return None
    from psychometrics.reliability import omega_bifactor

    try:
        return omega_bifactor(fit)
    except PsychometricsError as exc:
        notes.append(f"ω from the bifactor model could not be computed ({why(exc)}).")
        return None
