"""Comparison of fitted CFA models: χ² difference tests, ΔCFI, AIC, BIC (lavaan's ``lavTestLRT``),
and the scaled-shifted difference test of nested WLSMV fits."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
from scipy import stats as sps

from psychometrics.cfa import wls
from psychometrics.cfa.categorical_engine import CategoricalEngine
from psychometrics.cfa.results import CFAResult, ComparisonResult
from psychometrics.exceptions import DataError, Diagnostic, IdentificationWarning, record
from psychometrics._text import quote

__all__ = ["compare", "scaled_difference_test"]


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
        if r.estimator != "ML":  # the plain χ² difference is not valid for DWLS (WLSMV) statistics
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
    order = sorted(range(len(results)), key=lambda i: (results[i].fit["df"], i))
    N = ref.fit["ntotal"]
    G = ref.fit["ngroups"]
    rows = []
    prev = None
    for i in order:
        f = results[i].fit
        row = {"model": names[i]}
        for k in ("npar", "df", "chisq", "pvalue", "cfi", "tli", "rmsea", "srmr", "aic", "bic"):
            row[k] = f[k]
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
            row["delta_pvalue"] = float(sps.chi2.sf(dchi, ddf)) if ddf > 0 and dchi >= 0 else math.nan
            row["rmsea_d"] = (math.sqrt(max(0.0, (dchi - ddf) / (N * ddf))) * math.sqrt(G)) if ddf > 0 else math.nan
            row["delta_cfi"] = f["cfi"] - prev["cfi"]
            row["delta_rmsea"] = f["rmsea"] - prev["rmsea"]
            row["delta_srmr"] = f["srmr"] - prev["srmr"]
        rows.append(row)
        prev = f
    table = pd.DataFrame.from_records(rows).set_index("model")
    return ComparisonResult(table=table, diagnostics=tuple(diags))


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
                                      e1.moments, e1.A_inv)
