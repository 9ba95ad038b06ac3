"""Cross-check of the EFA with factor_analyzer (Persson & Biggs)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from psychometrics.crosscheck.cfa import _package_version
from psychometrics.crosscheck.result import CrosscheckResult, max_abs, require, side_by_side
from psychometrics._validation import check_observed, dependent_items
from psychometrics.exceptions import DataError
from psychometrics._text import quote

__all__ = ["crosscheck_efa", "LOADING_TOLERANCE"]

#: factor_analyzer minimises the same objectives with scipy's L-BFGS-B; measured agreement of
#: the rotated loadings 5e-6 (Holzinger–Swineford) and 1.6e-6 (bfi), so the iterative rule 1e-4
LOADING_TOLERANCE = 1e-4
_METHODS = {"minres": "minres", "ml": "ml", "principal": "principal"}
_ROTATIONS = {None: None, "oblimin": "oblimin", "promax": "promax", "varimax": "varimax",
              "quartimax": "quartimax", "geomin": "geomin_obl"}


def _align(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """``theirs`` with columns reordered and reflected to match ``ours`` (factor order and sign are arbitrary)."""
    k = ours.shape[1]
    c = np.corrcoef(ours.T, theirs.T)[:k, k:] if k > 1 else np.array([[np.sign((ours * theirs).sum())]])
    perm = np.argmax(np.abs(c), axis=1)
    if len(set(perm)) < k:  # ambiguous match: keep the order, reflect only
        perm = np.arange(k)
    return theirs[:, perm] * np.where(np.sign(c[np.arange(k), perm]) == 0, 1, np.sign(c[np.arange(k), perm]))


def crosscheck_efa(data: pd.DataFrame, n_factors: int, method: str = "minres",
                   rotation: str | None = "oblimin") -> CrosscheckResult:
    """Fit an EFA here and with factor_analyzer on the same complete cases; compare the loadings.

    Parameters
    ----------
    data : DataFrame
        Item responses (Pearson correlations); rows with a missing value are left out of both.
    n_factors : int
    method : {"minres", "ml", "principal"}
    rotation : {"oblimin", "promax", "varimax", "quartimax", "geomin", None}

    Returns
    -------
    CrosscheckResult
        Loadings (item / factor) side by side after matching factor order and sign;
        ``agrees`` when the largest difference is within :data:`LOADING_TOLERANCE`.
    """
    fa = require("factor_analyzer", "The EFA cross-check")
    from psychometrics.efa import efa

    if method not in _METHODS:
        raise DataError(f"crosscheck_efa: factor_analyzer has no method {quote(method)}; "
                        f"use one of {sorted(_METHODS)}")
    if rotation not in _ROTATIONS:
        raise DataError(f"crosscheck_efa: no factor_analyzer counterpart for rotation {quote(rotation)}; "
                        f"use one of {sorted(r for r in _ROTATIONS if r)} or None")
    complete = data.dropna()
    if len(complete) <= data.shape[1]:
        check_observed(data.to_numpy(dtype=float, na_value=np.nan), list(data.columns), "crosscheck_efa")
        raise DataError(f"crosscheck_efa: only {len(complete)} complete rows for {data.shape[1]} items")
    ours = efa(complete, n_factors=n_factors, method=method, rotation=rotation)
    corr = complete.corr().to_numpy()
    if not np.isfinite(corr).all() or np.linalg.eigvalsh(corr)[0] < 1e-10:
        raise DataError(f"crosscheck_efa: the correlation matrix is singular (items "
                        f"{', '.join(dependent_items(corr, list(complete.columns))[:12])} are constant or linearly "
                        "dependent); factor_analyzer cannot fit it — remove redundant items")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # scikit-learn deprecations inside factor_analyzer
        model = fa.FactorAnalyzer(n_factors=n_factors, method=_METHODS[method], rotation=_ROTATIONS[rotation])
        model.fit(complete.to_numpy(dtype=float))
    L = ours.loadings
    theirs = pd.DataFrame(_align(L.to_numpy(), np.asarray(model.loadings_)), index=L.index, columns=L.columns)
    stack = lambda f: pd.Series({f"{i} / {c}": f.loc[i, c] for i in f.index for c in f.columns})  # noqa: E731
    estimates = side_by_side(stack(L), stack(theirs), "loading")
    worst = max_abs(estimates)
    return CrosscheckResult(
        analysis=f"EFA, {n_factors} factor(s), {method}, {rotation or 'unrotated'}, {data.shape[1]} items, "
                 "complete cases",
        engine="factor_analyzer", engine_version=str(getattr(fa, "__version__", _dist_version())),
        package_version=_package_version(), n=len(complete), estimates=estimates,
        statistics=pd.DataFrame(columns=["ours", "theirs", "difference"]), max_abs_difference=worst,
        tolerance=LOADING_TOLERANCE, agrees=bool(worst <= LOADING_TOLERANCE),
        note=("Both extract from the Pearson correlations of the same complete cases with the same method and "
              "rotation; factor order and sign are matched before comparing."),
    )


def _dist_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("factor-analyzer")
    except PackageNotFoundError:
        return "unknown"
