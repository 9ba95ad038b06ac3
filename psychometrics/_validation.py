"""Checks of item-response tables shared by the analysis modules (private).

One wording for each problem, prefixed with the analysis (``what``) so that the user
knows which call failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from psychometrics.exceptions import DataError
from psychometrics._text import quote

__all__ = ["is_numeric_item", "check_numeric", "check_finite", "item_matrix", "check_observed", "check_variance", "name_list",
           "dependent_items"]


def is_numeric_item(dtype: Any) -> bool:
    """Numbers, not true/false: a boolean column is almost always a mis-selected column."""
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def check_numeric(data: pd.DataFrame, what: str, columns: Sequence[Any] | None = None) -> None:
    """Raise :class:`DataError` naming every non-numeric column of ``data`` (or of ``columns``)."""
    cols = list(data.columns) if columns is None else list(columns)
    bad = [c for c in cols if not is_numeric_item(data[c].dtype)]
    if bad:
        kinds = ", ".join(str(data[c].dtype) for c in bad[:12])
        raise DataError(
            f"{what}: columns {quote(bad[:12])}{' and more' if len(bad) > 12 else ''} are not numeric ({kinds}); "
            "items must hold numbers: convert non-numeric response labels to numbers (e.g. with the "
            "scale's response coding) or select only the item columns (data[[...]])"
        )


def check_finite(x: np.ndarray, columns: Sequence[Any], index: Sequence[Any], what: str) -> None:
    """Raise :class:`DataError` when ``x`` (rows × items, NaN = missing) holds ±inf, naming the
    items, the first row and the count."""
    inf = np.isinf(x)
    if inf.any():
        r, c = np.argwhere(inf)[0]
        cols = [str(columns[j]) for j in np.flatnonzero(inf.any(axis=0))]
        raise DataError(
            f"{what}: infinite values in item(s) {', '.join(cols)} (first: item {columns[c]} in row "
            f"{quote(index[r])}; {int(inf.sum())} in all); set them missing (NaN) or correct them"
        )


def item_matrix(data: pd.DataFrame, what: str) -> np.ndarray:
    """The item responses of ``data`` as floats (NaN = missing) after :func:`check_numeric` and
    :func:`check_finite`."""
    check_numeric(data, what)
    x = data.to_numpy(dtype=float, na_value=np.nan)
    check_finite(x, list(data.columns), data.index, what)
    return x


def check_observed(x: np.ndarray, columns: Sequence[Any], what: str) -> None:
    """Raise :class:`DataError` naming the items of ``x`` (rows × items) without a single answer."""
    empty = [str(columns[j]) for j in np.flatnonzero(np.isnan(x).all(axis=0))]
    if empty:
        raise DataError(f"{what}: item(s) {quote(empty)} have no observed responses; remove them")


def check_variance(x: np.ndarray, columns: Sequence[Any], what: str, rows: str = "") -> None:
    """Raise :class:`DataError` naming the items of ``x`` (rows × items, NaN = missing) that do
    not vary: fewer than two answers, or a variance that is zero up to rounding
    (≤ 1e-12 · max(1, max|x|²)). ``rows`` says which rows were used (e.g. "in the 20 rows used")."""
    k = x.shape[1]
    counts = np.zeros(k, dtype=np.int64)
    var = np.full(k, np.nan)
    top, finite = 0.0, False
    for j in range(k):  # column by column: one contiguous copy of the answers, no n × k temporaries
        col = x[:, j]
        v = col[~np.isnan(col)]
        counts[j] = v.size
        if v.size:
            top = max(top, float(np.abs(v).max()))
            finite = finite or bool(np.isfinite(v).any())
        if v.size >= 2:
            with np.errstate(invalid="ignore", over="ignore"):  # ±inf answers: NaN variance, flagged below
                dev = v - v.sum() / v.size
                var[j] = float(dev @ dev) / (v.size - 1)
    scale = max(1.0, top ** 2) if finite else 1.0
    const = [columns[j] for j in range(k) if counts[j] < 2 or not var[j] > 1e-12 * scale]
    if const:
        raise DataError(
            f"{what}: item(s) {quote([str(c) for c in const])} have zero variance{' ' + rows if rows else ''} "
            "(everyone gave the same response, or fewer than 2 answers); remove them — items with no "
            "variance carry no information about differences between respondents"
        )


def dependent_items(corr: np.ndarray, columns: Sequence[Any], tol: float = 1e-10) -> list[str]:
    """The items of a singular correlation (or covariance) matrix that take part in a linear
    dependence: those with a weight above 1e-6 in an eigenvector whose eigenvalue is below
    ``tol`` (relative to the largest). Used to name the items in "is singular" messages."""
    c = np.asarray(corr, dtype=float)
    if c.size == 0 or not np.isfinite(c).all():
        return [str(x) for x in columns]
    vals, vecs = np.linalg.eigh(c)
    null = vecs[:, vals < tol * max(float(vals[-1]), 1e-300)]
    return [str(columns[j]) for j in range(len(columns)) if null.size and np.abs(null[j]).max() > 1e-6]


def name_list(items: Sequence[Any], limit: int = 12) -> str:
    """``a, b, c`` — at most ``limit`` names, then "and k more"."""
    items = [str(i) for i in items]
    if len(items) > limit:
        return ", ".join(items[:limit]) + f" and {len(items) - limit} more"
    return ", ".join(items)


def response_numbers(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A response column as floats: numbers as they are; text stripped, blank → NaN, number-like
    text → its number. Returns ``(values, bad)`` with ``bad`` marking cells that hold text
    which is not a number (left NaN in ``values``) — the caller names them. Boolean columns are
    the caller's to reject."""
    if pd.api.types.is_numeric_dtype(col.dtype):
        return col.to_numpy(dtype=float, na_value=np.nan), np.zeros(len(col), dtype=bool)
    cleaned = col.astype(object).map(lambda v: (v.strip() or np.nan) if isinstance(v, str) else v)
    try:
        num = pd.to_numeric(cleaned, errors="coerce")
        values = num.to_numpy(dtype=float, na_value=np.nan)
    except OverflowError:  # an integer beyond float range (e.g. 10**400): ±inf, then out of range
        values = np.array([_as_float(v) for v in cleaned], dtype=float)
        num = pd.Series(values, index=cleaned.index)
    bad = (cleaned.notna() & num.isna()).to_numpy(dtype=bool)
    return values, bad


def _as_float(v) -> float:
    if v is None or v is pd.NA:
        return np.nan
    if isinstance(v, str):
        try:
            v = int(v)
        except ValueError:
            pass
    try:
        return float(v)
    except OverflowError:
        return float(np.inf if v > 0 else -np.inf)
    except (TypeError, ValueError):
        return np.nan
