"""Input checks of :func:`psychometrics.ordinal.polychoric` (private): the item matrix,
missing rows, and the coding of ordinal items into categories 0..K−1."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from psychometrics._validation import check_observed
from psychometrics.exceptions import DataError, DataQualityWarning, Diagnostic, record
from psychometrics._text import quote

__all__ = ["prepare", "fortran_rows"]


def prepare(
    data: pd.DataFrame,
    ordered: Sequence[str] | bool | None,
    missing: str,
    max_categories: int,
    diagnostics: list[Diagnostic],
):
    """Check ``data`` and code it: ``(names, X, codes, is_ord, cats, n_excluded)``.

    ``X`` holds the usable rows as floats (NaN = missing), ``codes`` the category index
    0..K−1 of each ordinal value (−1 where missing or continuous), ``is_ord`` which columns
    are ordinal, ``cats`` per ordinal item its observed values in order, ``n_excluded`` the
    rows dropped (listwise: any missing value; pairwise: all missing).
    """
    if isinstance(data, np.ndarray):
        data = pd.DataFrame(data, columns=[f"V{i + 1}" for i in range(np.shape(data)[1])])
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"polychoric() needs a DataFrame of item columns, got {type(data).__name__}.")
    if data.shape[1] < 2:
        raise DataError(f"polychoric() needs at least 2 item columns, got {data.shape[1]}.")
    if missing not in ("listwise", "pairwise"):
        raise DataError(f"missing must be 'listwise' or 'pairwise', got {quote(missing)}.")
    names = [str(c) for c in data.columns]
    if len(set(names)) != len(names):
        dup = sorted({c for c in names if names.count(c) > 1})
        raise DataError(f"duplicate item columns: {', '.join(dup)}.")
    if ordered is None or ordered is True:
        ord_names = list(names)
    elif ordered is False:
        ord_names = []
    else:
        ord_names = [str(o) for o in ordered]
        unknown = [o for o in ord_names if o not in names]
        if unknown:
            raise DataError(
                f"ordered item(s) {', '.join(unknown)} are not columns of the data "
                f"(columns: {', '.join(names)})."
            )
    try:
        X = data.to_numpy(dtype=float, na_value=np.nan)
    except (ValueError, TypeError):
        X = None
    if X is None:
        cols = []
        for col, name in zip(data.columns, names):
            try:
                cols.append(pd.to_numeric(data[col]).to_numpy(dtype=float, na_value=np.nan))
            except (ValueError, TypeError):
                bad = next(v for v in data[col].dropna() if not _is_number(v))
                raise DataError(
                    f"item {name} has a non-numeric value {quote(bad)}; code responses as numbers."
                ) from None
        X = np.column_stack(cols)
    inf = np.isinf(X)
    if inf.any():
        r, c = np.argwhere(inf)[0]
        raise DataError(f"item {names[c]} has an infinite value in row {quote(data.index[r])}.")
    nan = np.isnan(X)
    if missing == "listwise":
        keep = ~nan.any(axis=1)
    else:
        keep = ~nan.all(axis=1)
    n_excluded = int((~keep).sum())
    if int(keep.sum()) >= 10_000 and not X.flags.f_contiguous:
        # the loop below works column by column: one copy of the used rows in column order instead of
        # strided columns (every elementwise pass several times slower; issue 16), transposed in row blocks
        X = fortran_rows(X, np.flatnonzero(keep) if n_excluded else None)
        nan = np.isnan(X)
    elif n_excluded:
        X = X.T[:, keep].T  # (keeps X's memory order)
        nan = nan.T[:, keep].T
    if X.shape[0] < 2:
        if n_excluded:
            check_observed(np.where(nan, np.nan, 0.0), names, "polychoric")
        raise DataError(
            f"only {X.shape[0]} usable row(s) after {missing} deletion of missing values "
            f"({n_excluded} excluded); polychoric correlations need more data."
        )
    is_ord = np.array([n in ord_names for n in names])
    # column access below; int16 (a quarter of int64's memory) unless an item has more categories
    codes = np.full(X.shape, -1, dtype=np.int16, order="F")
    cats: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        x = X[:, j]
        ok = ~nan[:, j]
        if not ok.any():
            raise DataError(f"item {name} has no observed values.")
        if is_ord[j]:
            coded = _ordinal_codes_column(name, x, ok, max_categories, diagnostics)
            if coded is not None:  # the whole column at once, −1 where missing (no gather of the answers)
                if coded[0].size > np.iinfo(codes.dtype).max:
                    codes = codes.astype(np.int64, order="F")
                levels, codes[:, j] = coded
                cats[name] = levels
                continue
        obs = x[ok] if not ok.all() else x
        if not is_ord[j]:
            if np.ptp(obs) == 0:
                raise DataError(f"item {name} is constant ({obs[0]:g}); drop it.")
            continue
        levels, c = _ordinal_codes(name, obs, max_categories, diagnostics)
        if levels.size > np.iinfo(codes.dtype).max:
            codes = codes.astype(np.int64, order="F")
        if ok.all():
            codes[:, j] = c
        else:
            codes[ok, j] = c
        cats[name] = levels
    return names, X, codes, is_ord, cats, n_excluded


def fortran_rows(X: np.ndarray, rows: np.ndarray | None = None, block: int = 8_192) -> np.ndarray:
    """``X[rows]`` (every row when None) as a new column-order (Fortran) array, copied one block of rows at a
    time: the same values, about 3× less CPU than ``np.asfortranarray`` of a row-major matrix (whose
    transposition strides through all of memory per column; issue 16)."""
    n = X.shape[0] if rows is None else rows.size
    out = np.empty((n,) + X.shape[1:], dtype=X.dtype, order="F")
    for r0 in range(0, n, block):
        out[r0:r0 + block] = X[r0:r0 + block] if rows is None else X[rows[r0:r0 + block]]
    return out


def _ordinal_codes_column(name: str, x: np.ndarray, ok: np.ndarray, max_categories: int,
                          diagnostics: list[Diagnostic]):
    """:func:`_ordinal_codes` of the answers ``x[ok]`` computed on the whole column ``x`` (NaN where not
    ``ok``): (levels, codes with −1 where missing), or None for codes spread over 100,000 or more
    values (then :func:`_ordinal_codes` on the answers). The same checks, messages, levels and codes:
    the first non-integer answer in row order is the first of ``x[ok]``; a missing value maps to slot
    0 of the tabulation and code −1 (issue 16: no gather of the answers and scatter of their codes)."""
    rounded = np.round(x)
    with np.errstate(invalid="ignore"):
        bad = np.abs(x - rounded) > 1e-8  # NaN: False
    if bad.any():
        return _ordinal_codes(name, x[ok], max_categories, diagnostics)  # raises, naming the first one
    lo_v, hi_v = int(np.nanmin(rounded)), int(np.nanmax(rounded))
    if hi_v - lo_v >= 100_000:
        return None
    idx = np.where(ok, rounded - (lo_v - 1), 0.0).astype(np.int64)  # 0 = missing, 1.. = value − lo + 1
    present = np.bincount(idx, minlength=hi_v - lo_v + 2)[1:] > 0
    levels = np.flatnonzero(present) + lo_v
    lut = np.concatenate([[-1], np.cumsum(present) - 1])
    _check_levels(name, levels, lo_v, hi_v, max_categories, diagnostics)
    return levels, lut[idx]


def _ordinal_codes(name: str, obs: np.ndarray, max_categories: int, diagnostics: list[Diagnostic]):
    """The observed categories of ordinal item ``name`` (sorted values) and each value's code 0..K−1."""
    rounded = np.round(obs)
    frac = obs[np.abs(obs - rounded) > 1e-8]
    if frac.size:
        raise DataError(
            f"item {name} is declared ordinal but has non-integer value {frac[0]:g}; "
            "code ordinal responses as integers, or leave the item out of `ordered` to "
            "treat it as continuous (polyserial correlations)."
        )
    iv = rounded.astype(np.int64)
    lo_v, hi_v = int(iv.min()), int(iv.max())
    if hi_v - lo_v < 100_000:  # small integer codes: O(n) tabulation instead of sorting
        present = np.bincount(iv - lo_v) > 0
        levels = np.flatnonzero(present) + lo_v
        lut = np.cumsum(present) - 1
        c = lut[iv - lo_v]
    else:
        levels, c = np.unique(iv, return_inverse=True)
    _check_levels(name, levels, lo_v, hi_v, max_categories, diagnostics)
    return levels, c


def _check_levels(name: str, levels: np.ndarray, lo_v: int, hi_v: int, max_categories: int,
                  diagnostics: list[Diagnostic]) -> None:
    """An ordinal item's observed categories: fewer than 2 an error; an empty category between
    consecutive codes, or more than ``max_categories``, a warning."""
    if levels.size < 2:
        raise DataError(
            f"item {name} has only one observed category ({levels[0]}); an ordinal item "
            "needs at least 2 — drop it."
        )
    n_gaps = (hi_v - lo_v + 1) - levels.size
    # Consecutive codes with a hole (1, 2, 4) = an empty category; widely spaced codes
    # (10, 20, 30) are just labels (the mapping is in ``categories``).
    if 0 < n_gaps <= levels.size and levels.size <= max_categories:
        gaps = sorted(set(range(lo_v, hi_v + 1)) - set(levels.tolist()))
        record(
            diagnostics,
            DataQualityWarning,
            f"item {name}: no responses in category {', '.join(map(str, gaps))} between "
            f"{lo_v} and {hi_v}; the empty category is dropped (the "
            f"{levels.size} observed values are used as categories 1..{levels.size}), "
            "as lavaan does.",
            stacklevel=7,
        )
    if levels.size > max_categories:
        record(
            diagnostics,
            DataQualityWarning,
            f"item {name} has {levels.size} categories (more than {max_categories}); "
            "is it really ordinal? Leave it out of `ordered` to treat it as continuous.",
            stacklevel=7,
        )


def _is_number(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False

