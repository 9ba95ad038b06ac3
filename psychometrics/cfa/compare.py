"""Comparison of fitted CFA models: χ² difference tests, ΔCFI, AIC, BIC (lavaan's ``lavTestLRT``),
and the scaled-shifted difference test of nested WLSMV fits."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from psychometrics._dist import chi2_sf
from psychometrics._linalg import single_thread_blas
from psychometrics.cfa import wls
from psychometrics.cfa.categorical_engine import CategoricalEngine
from psychometrics.cfa.results import CFAResult, ComparisonResult
from psychometrics.exceptions import DataError, Diagnostic, IdentificationWarning, record
from psychometrics._text import quote

__all__ = ["compare", "scaled_difference_test", "scaled_chisq_difference", "scaled_difference_fits"]


def _sb2001(T1: float, r1: int, c1: float, T0: float, r0: int, c0: float) -> tuple[float, float]:
    m = r0 - r1
    cd = (r0 * c0 - r1 * c1) / m
    return (T0 - T1) / cd, cd


def m10_scaling_factor(e1: Any, df1: int, e0: Any) -> float:
    """Scaling factor c10 of Satorra & Bentler (2010): the less restricted model (engine ``e1``, df
    ``df1``) evaluated (not re-estimated) at the estimates of the more restricted model ``e0``
    (lavaan's ``lav_test_diff_m10``)."""
    from psychometrics.cfa import robust
    from psychometrics.cfa.fiml_engine import RobustEngine

    vals0 = e0.model.values(e0.x)
    by_key = {(p.lhs, p.op, p.rhs, p.group): v for p, v in zip(e0.spec.parameters, vals0)}
    x10 = e1.x.copy()
    for p in e1.spec.parameters:
        if p.free:
            key = (p.lhs, p.op, p.rhs, p.group)
            if key not in by_key:
                raise DataError(f"models are not nested: parameter '{p.lhs} {p.op} {p.rhs}' of the less restricted "
                                "model is not in the more restricted one")
            x10[p.index] = by_key[key]
    m10 = RobustEngine(e1.spec, e1.data, x10, estimator="MLR", fiml=e1.fiml)
    tr_h1 = robust.trace_h1(m10)
    tr_h0 = float(np.trace(m10.bread_inverse() @ m10.meat()))
    return (tr_h1 - tr_h0) / df1


def scaled_chisq_difference(less: CFAResult, more: CFAResult, method: str = "auto") -> dict[str, float]:
    r"""Scaled χ² difference test of nested MLR fits (lavaan's ``lavTestLRT`` for MLR).

    Satorra & Bentler (2001): :math:`c_d = (r_0c_0 - r_1c_1)/(r_0-r_1)`,
    :math:`T_d = (T_0 - T_1)/c_d` with the ML statistics T and scaling factors c of the more (0) and
    less (1) restricted model. Satorra & Bentler (2010): :math:`c_1` replaced by :math:`c_{10}`, the
    scaling factor of the less restricted model evaluated at the more restricted model's
    estimates — strictly positive. ``method="auto"`` (our policy): 2001, or 2010 when the 2001
    :math:`c_d` is not positive. Validated against ``lavTestLRT`` (fixture
    ``tests/reference/missing/lrt.json``); the switch on a constructed case (tests).
    """
    return scaled_difference_fits(less.fit, less._engine, more.fit, more._engine, method)


def scaled_difference_fits(f1: dict, e1: Any, f0: dict, e0: Any, method: str = "auto") -> dict[str, Any]:
    """:func:`scaled_chisq_difference` from fit measures and engines (also used by the invariance ladder)."""
    r1, r0 = int(f1["df"]), int(f0["df"])
    if r0 <= r1:
        raise DataError(f"the second model must be the more restricted one (df {r0} <= {r1})")
    T1, T0 = f1["chisq"], f0["chisq"]
    c1, c0 = f1["chisq_scaling_factor"], f0["chisq_scaling_factor"]
    if method not in ("auto", "satorra.bentler.2001", "satorra.bentler.2010"):
        raise DataError(f"method={quote(method)}: use 'auto', 'satorra.bentler.2001' or 'satorra.bentler.2010'")
    Td, cd = _sb2001(T1, r1, c1, T0, r0, c0)
    used = "satorra.bentler.2001"
    if method == "satorra.bentler.2010" or (method == "auto" and not cd > 0):
        c10 = m10_scaling_factor(e1, r1, e0)
        Td, cd = _sb2001(T1, r1, c10, T0, r0, c0)
        used = "satorra.bentler.2010"
    m = r0 - r1
    return {"chisq_diff": Td, "df_diff": m, "pvalue": float(chi2_sf(Td, m)) if Td >= 0 else math.nan,
            "scaling_factor": cd, "method": used}


def compare(*results: CFAResult, names: Sequence[str] | None = None) -> ComparisonResult:
    r"""Compare nested models fitted to the same data.

    Models are ordered by degrees of freedom (fewest first, as lavaan's
    ``lavTestLRT``); each row is tested against the previous one with the standard
    ML χ² difference test :math:`\Delta\chi^2 = \chi^2_{r} - \chi^2_{f}` on
    :math:`\Delta df` degrees of freedom, and the RMSEA of the difference
    :math:`\sqrt{\max(0, (\Delta\chi^2-\Delta df)/(N\,\Delta df))}\cdot\sqrt G`
    (lavaan's ``RMSEA`` column). ΔCFI, ΔRMSEA and ΔSRMR are the later row minus
    the earlier one (Cheung & Rensvold, 2002; Chen, 2007). AIC and BIC are
    log-likelihood based and valid for non-nested models too.

    Parameters
    ----------
    *results : CFAResult
        Two or more fitted models (same items, same rows, same groups).
    names : sequence of str, optional
        Row labels (default ``model1``, ``model2``, ... in the order given).

    Validated against ``lavaan::lavTestLRT`` (fixture ``tests/reference/cfa/comparisons.json``).
    """
    if len(results) < 2:
        raise DataError("compare() needs at least two fitted models")
    for r in results:
        if not isinstance(r, CFAResult):
            raise DataError(f"compare() takes CFAResult objects (from fit_cfa), got {type(r).__name__}")
        if r.estimator not in ("ML", "MLR"):  # the plain χ² difference is not valid for DWLS (WLSMV) statistics
            raise DataError(
                f"compare() tests ML fits; for estimator={quote(r.estimator)} use "
                "psychometrics.cfa.categorical.scaled_difference_test(less, more) (lavaan's lavTestLRT for WLSMV)"
            )
    names = list(names) if names is not None else [f"model{i + 1}" for i in range(len(results))]
    if len(names) != len(results):
        raise DataError(f"{len(names)} names for {len(results)} models")
    ref = results[0]
    for nm, r in zip(names, results):
        if r.nobs != ref.nobs:
            raise DataError(
                f"model {quote(nm)} was fitted to different data (n per group {r.nobs} vs {ref.nobs}); "
                "models can only be compared on the same observations"
            )
        if set(r.items) != set(ref.items):
            raise DataError(
                f"model {quote(nm)} uses different items than {quote(names[0])}; χ² difference tests need the same items"
            )
    diags: list[Diagnostic] = []
    mlr = all(r.estimator == "MLR" for r in results)
    if not mlr and any(r.estimator == "MLR" for r in results):
        raise DataError("compare() needs all models fitted with the same estimator (all 'ML' or all 'MLR')")
    order = sorted(range(len(results)), key=lambda i: (results[i].fit["df"], i))
    N = ref.fit["ntotal"]
    G = ref.fit["ngroups"]
    rows = []
    prev = None
    prev_i = -1
    for i in order:
        f = results[i].fit
        row = {"model": names[i]}
        for k in ("npar", "df", "chisq", "pvalue", "cfi", "tli", "rmsea", "srmr", "aic", "bic"):
            row[k] = f[k]
        if mlr:
            for k in ("chisq_scaled", "chisq_scaling_factor", "cfi_robust", "rmsea_robust"):
                row[k] = f.get(k, math.nan)
        if prev is None:
            row.update(delta_chisq=math.nan, delta_df=math.nan, delta_pvalue=math.nan, rmsea_d=math.nan,
                       delta_cfi=math.nan, delta_rmsea=math.nan, delta_srmr=math.nan)
        else:
            dchi = f["chisq"] - prev["chisq"]
            ddf = f["df"] - prev["df"]
            if ddf == 0:
                record(diags, IdentificationWarning,
                       f"models {quote(names[i])} and {quote(rows[-1]['model'])} have the same df; "
                       "they are not nested (use AIC/BIC)", stacklevel=2)
            elif dchi < 0:
                record(diags, IdentificationWarning,
                       f"model {quote(names[i])} has more df but a smaller χ² than {quote(rows[-1]['model'])}: "
                       "the models are not nested", stacklevel=2)
            row["delta_chisq"] = dchi
            row["delta_df"] = ddf
            if mlr and ddf > 0:
                sd = scaled_chisq_difference(results[prev_i], results[i])
                dchi = sd["chisq_diff"]
                row["delta_chisq"] = dchi
                row["delta_method"] = sd["method"]
            row["delta_pvalue"] = float(chi2_sf(dchi, ddf)) if ddf > 0 and dchi >= 0 else math.nan
            row["rmsea_d"] = (math.sqrt(max(0.0, (dchi - ddf) / (N * ddf))) * math.sqrt(G)) if ddf > 0 else math.nan
            row["delta_cfi"] = f["cfi"] - prev["cfi"]
            row["delta_rmsea"] = f["rmsea"] - prev["rmsea"]
            row["delta_srmr"] = f["srmr"] - prev["srmr"]
        rows.append(row)
        prev = f
        prev_i = i
    table = pd.DataFrame.from_records(rows).set_index("model")
    return ComparisonResult(table=table, diagnostics=tuple(diags))


@single_thread_blas  # SVDs of the stacked Jacobians: threaded LAPACK was 5x slower on a busy 2-core machine
def scaled_difference_test(less: CFAResult, more: CFAResult) -> dict[str, float]:
    """Scaled-shifted χ² difference test (Satorra, 2000) of nested WLSMV fits, as lavaan's
    ``lavTestLRT(less, more)`` for WLSMV; ``less`` is the less restricted model.

    Returns ``chisq_diff, df_diff, pvalue`` (and the scaling constants ``a, b``).
    Validated against ``lavTestLRT`` (fixture ``tests/reference/wlsmv/inv_lrt.json``).
    """
    e1, e0 = less._engine, more._engine
    if not isinstance(e1, CategoricalEngine) or not isinstance(e0, CategoricalEngine):
        raise DataError("scaled_difference_test compares two fits with estimator='WLSMV'")
    if e1.spec.groups != e0.spec.groups or [s.nobs for s in e1.stats] != [s.nobs for s in e0.stats]:
        raise DataError("the two fits must use the same data and groups")
    f1, f0 = less.fit, more.fit
    if f0["df"] < f1["df"]:
        raise DataError(f"the second model must be the more restricted one (df {f0['df']} < {f1['df']})")
    return wls.satorra2000_difference(f1["chisq"], f1["df"], f0["chisq"], f0["df"], e1.deltas, e0.deltas,
                                      e1.moments, e1.A_inv, M1=e1.B if e1.N >= wls.SHARED_MEAT_N else None)
