"""Cross-check of the ML CFA engine with semopy (Igolkina & Meshcheryakov, 2020)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.crosscheck.result import CrosscheckResult, max_abs, require, side_by_side
from psychometrics._validation import check_observed
from psychometrics.exceptions import DataError

__all__ = ["crosscheck_cfa", "ESTIMATE_TOLERANCE", "CHISQ_RTOL"]

#: semopy's optimiser (SLSQP with its default tolerances) stops early: its estimates agree with
#: lavaan and with this package to ~1e-3 (measured 1.2e-3 on Holzinger–Swineford, semopy 2.3.11)
ESTIMATE_TOLERANCE = 2e-3
#: χ² is flat at the optimum, so the early stop barely moves it (measured relative 2.4e-6)
CHISQ_RTOL = 1e-4
_STATS = {"chisq": "chi2", "df": "DoF", "cfi": "CFI", "tli": "TLI", "rmsea": "RMSEA"}


def _package_version() -> str:
    from psychometrics import __version__

    return __version__


def _their_estimates(model: Any) -> pd.Series:
    """semopy's free estimates under lavaan labels (``x1 ~ visual`` is a loading ``visual =~ x1``)."""
    rows = {}
    for _, r in model.inspect().iterrows():
        if r["op"] == "~":
            key = f"{r['rval']} =~ {r['lval']}"
        elif r["op"] == "~~":
            key = f"{r['lval']} ~~ {r['rval']}"
        else:
            continue
        rows[key] = float(r["Estimate"])
    return pd.Series(rows, dtype=float)


def _our_estimates(est: pd.DataFrame, wanted: pd.Index) -> pd.Series:
    out = {}
    for _, r in est[est["op"].isin(["=~", "~~"])].iterrows():
        key, flipped = f"{r['lhs']} {r['op']} {r['rhs']}", f"{r['rhs']} {r['op']} {r['lhs']}"
        out[flipped if (r["op"] == "~~" and flipped in wanted and key not in wanted) else key] = float(r["est"])
    return pd.Series(out, dtype=float)


def crosscheck_cfa(model: str, data: pd.DataFrame) -> CrosscheckResult:
    """Fit a single-group CFA by ML here and with semopy on the same complete cases.

    Parameters
    ----------
    model : str
        lavaan syntax (single group; the subset semopy reads: ``=~`` and ``~~``).
    data : DataFrame
        Item responses; rows with any missing value on the model's items are left out of
        both fits (semopy has no FIML), and that n is reported.

    Returns
    -------
    CrosscheckResult
        Estimates of every free loading and (co)variance side by side, χ², df, CFI, TLI and
        RMSEA side by side; ``agrees`` when the estimates are within
        :data:`ESTIMATE_TOLERANCE` and χ² within :data:`CHISQ_RTOL` (relative).

    Notes
    -----
    Both libraries use the ML discrepancy with N (not N − 1) and the same marker-variable
    identification, so their estimates estimate the same quantities; this package matches
    lavaan to ~1e-6 (``tests/test_cfa.py``), semopy to its optimiser's precision.
    """
    semopy = require("semopy", "The CFA cross-check")
    from psychometrics.cfa import fit_cfa
    from psychometrics.cfa.specification import observed_variables

    items = list(observed_variables(model))
    missing = [i for i in items if i not in data.columns]
    if missing:
        raise DataError(f"crosscheck_cfa: the data have no column(s) {missing[:10]} named in the model")
    complete = data[items].dropna()
    if len(complete) <= len(items):
        check_observed(data[items].to_numpy(dtype=float, na_value=np.nan), items, "crosscheck_cfa")
        raise DataError(f"crosscheck_cfa: only {len(complete)} complete rows for {len(items)} items; "
                        "a CFA cross-check needs more complete rows than items")
    ours = fit_cfa(model, complete)
    theirs_model = semopy.Model(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pandas deprecations inside semopy
        theirs_model.fit(complete)
        stats = semopy.calc_stats(theirs_model)
    theirs = _their_estimates(theirs_model)
    estimates = side_by_side(_our_estimates(ours.estimates, theirs.index).reindex(theirs.index), theirs,
                             "parameter")
    statistics = side_by_side(pd.Series({k: ours.fit[k] for k in _STATS}),
                              pd.Series({k: float(stats[v].iloc[0]) for k, v in _STATS.items()}), "statistic")
    worst = max_abs(estimates)
    chisq_ok = abs(statistics.loc["chisq", "difference"]) <= CHISQ_RTOL * abs(statistics.loc["chisq", "theirs"])
    df_ok = statistics.loc["df", "difference"] == 0
    return CrosscheckResult(
        analysis=f"CFA by ML, {len(items)} items, complete cases", engine="semopy",
        engine_version=str(getattr(semopy, "__version__", "unknown")), package_version=_package_version(),
        n=len(complete), estimates=estimates, statistics=statistics, max_abs_difference=worst,
        tolerance=ESTIMATE_TOLERANCE, agrees=bool(worst <= ESTIMATE_TOLERANCE and chisq_ok and df_ok),
        note=("Both fit the same model by ML (N divisor, first loading of each factor fixed to 1) to the same complete "
              f"cases. semopy's optimiser stops early, so estimates are expected to agree to {ESTIMATE_TOLERANCE:g} "
              f"and χ² to {CHISQ_RTOL:g} relative. semopy's RMSEA divides by N − 1 where lavaan and this package "
              "divide by N, so RMSEA differs slightly by definition."),
    )
