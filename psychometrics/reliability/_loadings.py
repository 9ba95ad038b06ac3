"""Checks of factor loadings and matrices shared by the model-based coefficients.

Used by the composite reliabilities (:mod:`psychometrics.reliability.composite`) and by
the validity statistics (AVE, latent correlations). Each raises
:class:`~psychometrics.exceptions.DataError` naming the items, factors or labels at
fault; the loading checks warn (:class:`ReliabilityWarning`) about factors left out or
estimates that are not meaningful.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError, ReliabilityWarning
from psychometrics._text import quote


def as_loadings(loadings: pd.DataFrame | pd.Series, what: str) -> pd.DataFrame:
    """Items × factors float frame; NaN means 'does not load' and becomes 0."""
    if isinstance(loadings, pd.Series):
        loadings = loadings.to_frame(name=loadings.name if loadings.name is not None else "factor")
    if not isinstance(loadings, pd.DataFrame):
        raise DataError(
            f"{what} must be a pandas DataFrame (items × factors) or Series (one factor), "
            f"not {type(loadings).__name__}"
        )
    if loadings.index.has_duplicates or loadings.columns.has_duplicates:
        dup = list(loadings.index[loadings.index.duplicated()]) + list(
            loadings.columns[loadings.columns.duplicated()]
        )
        raise DataError(f"{what} has duplicated item or factor labels: {dup}")
    try:
        out = loadings.astype(float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} must be numeric: {exc}") from None
    values = out.to_numpy()
    if np.isinf(values).any():
        bad = [f"{out.index[i]}/{out.columns[j]}" for i, j in zip(*np.nonzero(np.isinf(values)))]
        raise DataError(f"{what} has infinite loadings at {', '.join(bad)}")
    return out.fillna(0.0)


def indicators(L: pd.DataFrame, factor: Any) -> list[Any]:
    return list(L.index[L[factor].to_numpy() != 0])


def cross_loading_items(L: pd.DataFrame) -> set[Any]:
    # semTools::AVE treats an item as cross-loading when more than one loading is
    # non-zero after rounding to 5 decimals.
    nonzero = (np.round(L.to_numpy(), 5) != 0).sum(axis=1)
    return set(L.index[nonzero > 1])


def usable_factors(L: pd.DataFrame, what: str) -> list[Any]:
    """Factors with ≥ 2 indicators (as semTools' ``dropSingle = TRUE``); warn about single ones.

    Columns without any item loading (e.g. a higher-order factor) are skipped silently:
    they are not measured by items.
    """
    import warnings

    keep = []
    for f in L.columns:
        n = len(indicators(L, f))
        if n >= 2:
            keep.append(f)
        elif n == 1:
            warnings.warn(
                f"{what}: factor {quote(f)} has 1 indicator ({quote(indicators(L, f)[0])}); composite reliability "
                "and AVE need at least 2, so it is left out",
                ReliabilityWarning,
                stacklevel=4,
            )
    return keep


def residuals(
    L: pd.DataFrame, residual_variances: pd.Series | Mapping[Any, float] | None, what: str
) -> pd.Series:
    if residual_variances is None:
        crossed = cross_loading_items(L)
        if crossed:
            raise DataError(
                f"{what}: items {sorted(map(str, crossed))} load on more than one factor, so their "
                "residual variance is not 1 − λ²; pass residual_variances (the standardized θ "
                "from the CFA)"
            )
        return 1.0 - (L**2).sum(axis=1)
    theta = pd.Series(residual_variances, dtype=float)
    missing = [i for i in L.index if i not in theta.index]
    if missing:
        raise DataError(f"{what}: residual_variances lacks items {missing}")
    theta = theta.loc[L.index]
    if theta.isna().any():
        raise DataError(f"{what}: residual_variances is missing for items {list(theta.index[theta.isna()])}")
    return theta


def warn_loading_problems(L: pd.DataFrame, theta: pd.Series, factor: Any, items: list[Any], what: str) -> None:
    import warnings

    lam, th = _values_of(L, theta, factor, items)
    if (lam > 0).any() and (lam < 0).any():
        neg = [i for i, v in zip(items, lam) if v < 0]
        warnings.warn(
            f"{what}: factor {quote(factor)} has loadings of both signs (negative: {neg}); (Σλ)² "
            "understates reliability — reverse-key those items before the CFA",
            ReliabilityWarning,
            stacklevel=4,
        )
    bad = [i for i, v in zip(items, th) if v < 0]
    if bad:
        warnings.warn(
            f"{what}: factor {quote(factor)} has negative residual variances (Heywood case) for items "
            f"{bad}; the estimate is not meaningful",
            ReliabilityWarning,
            stacklevel=4,
        )


def _values_of(L: pd.DataFrame, theta: pd.Series, factor: Any, items: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(L.loc[items, factor], theta.loc[items])`` as arrays (issue 16: positions instead of two labelled
    selections per factor; the same values in the same order — pandas' selection where a label repeats)."""
    if L.index.is_unique and theta.index.is_unique and L.columns.is_unique:
        rows, at = L.index.get_indexer(items), theta.index.get_indexer(items)
        if (rows >= 0).all() and (at >= 0).all():
            return L.to_numpy()[rows, L.columns.get_loc(factor)], theta.to_numpy()[at]
    return L.loc[items, factor].to_numpy(), theta.loc[items].to_numpy()


def square(matrix: pd.DataFrame, what: str) -> pd.DataFrame:
    if not isinstance(matrix, pd.DataFrame):
        raise DataError(f"{what} must be a labelled square pandas DataFrame, not {type(matrix).__name__}")
    if list(matrix.index) != list(matrix.columns):
        if set(matrix.index) != set(matrix.columns):
            raise DataError(f"{what} must have the same labels on rows and columns")
        matrix = matrix.loc[list(matrix.columns), :]
    try:
        out = matrix.astype(float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} must be numeric: {exc}") from None
    v = out.to_numpy()
    if not np.isfinite(v).all():
        bad = [str(c) for c, ok in zip(out.columns, np.isfinite(v).all(axis=0)) if not ok]
        raise DataError(f"{what} has missing or infinite entries (for {', '.join(bad[:12])})")
    if not np.allclose(v, v.T, rtol=0, atol=1e-10 * max(1.0, float(np.abs(v).max(initial=0.0)))):
        raise DataError(f"{what} is not symmetric")
    return out


def need(matrix: pd.DataFrame, labels: Sequence[Any], what: str) -> None:
    missing = [x for x in labels if x not in matrix.index]
    if missing:
        raise DataError(f"{what} lacks rows/columns for {missing}")
