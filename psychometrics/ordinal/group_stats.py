"""Ordinal sample statistics per group from item responses: listwise deletion, categories
shared by all groups (empty ones an error or merged), then :func:`polychoric` per group."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from psychometrics._groups import group_label as _group_label
from psychometrics._validation import check_observed
from psychometrics.exceptions import (DataError, DataQualityWarning, Diagnostic, EstimationError,
                                     PsychometricsWarning, record)
from psychometrics.ordinal.correlations import polychoric_from_codes
from psychometrics.ordinal._input import fortran_rows
from psychometrics.ordinal import nacov as _nacov
from psychometrics.ordinal.sample_stats import OrdinalSampleStats
from psychometrics.ordinal.shared import MIN_ROWS, OrdinalRows
from psychometrics._text import quote

__all__ = ["ordinal_sample_stats"]


def _from_polychoric(res: Any, items: Sequence[str], *, diagonal: bool = False) -> OrdinalSampleStats:
    """Convert :func:`psychometrics.ordinal.polychoric` output (lavaan's order) to :class:`OrdinalSampleStats`.

    ``diagonal=True``: of a fit with ``acov="diagonal"``, for DWLS estimates only — the weights are its DWLS
    weights (1/diag Γ) and Γ is given as its diagonal (standard errors and test statistics, which need the
    full Γ, are not to be read from a fit of these statistics; the reliability step's categorical ω)."""
    th = res.thresholds
    # one pass over the long table's columns (a pandas mask per item cost ≈ 2 ms each; the same values)
    item_of, value = th["item"].to_numpy(), th["value"].to_numpy(dtype=float)
    thresholds = tuple(value[item_of == v] for v in items)
    R = res.matrix.loc[list(items), list(items)].to_numpy(dtype=float)
    if diagonal:
        w = res.dwls_weights.to_numpy(dtype=float)
        stats = OrdinalSampleStats(tuple(items), thresholds, R, np.diag(1.0 / w), res.n, weights=w)
    else:
        stats = OrdinalSampleStats(tuple(items), thresholds, R, res.acov.to_numpy(dtype=float), res.n)
    if not np.allclose(stats.vector(), res.sample_stats.to_numpy(dtype=float), rtol=0, atol=1e-12):
        raise EstimationError("internal: the order of the polychoric statistics does not match lavaan's")
    return stats


def _nacov_shares(n_g: np.ndarray, labels: tuple[str, ...], diags: list[Diagnostic]) -> list[int | None]:
    """Per group, the rows of the NACOV middle term's subsample: NACOV_ROWS shared by the groups.

    The middle term Σ s sᵀ of Γ costs O(rows × q²) (q = thresholds + correlations). One group is
    subsampled above NACOV_ROWS rows (``ordinal/nacov.py``); with G groups the bound applies to
    their total, each group getting ⌈NACOV_ROWS · n_g / N⌉ rows — without it a multi-group fit
    costs G times a single-group one (3 × 100,000 rows, 2.5 s CPU, in the demo study's invariance
    ladder at 10⁶ rows; issue 16). At N ≤ NACOV_ROWS every group is exact (None: the default).
    """
    N, limit = int(n_g.sum()), _nacov.NACOV_ROWS  # read at call time (tests lower it)
    if len(n_g) < 2 or N <= limit:
        return [None] * len(n_g)
    shares = [max(1, math.ceil(limit * int(k) / N)) for k in n_g]
    record(diags, PsychometricsWarning,
           f"large sample ({N:,} rows in {len(n_g)} groups): the middle term of each group's asymptotic "
           f"covariance (NACOV, Γ) is estimated from a fixed random subsample, {limit:,} rows shared by the "
           "groups in proportion to their size ("
           + ", ".join(f"{quote(lab)}: {m:,} of {int(k):,}" for lab, m, k in zip(labels, shares, n_g))
           + "); standard errors and scaled test statistics change by about the relative sampling error of "
           f"that subsample (about {1 / min(shares) ** 0.5:.1%} in the smallest group)", stacklevel=6)
    return shares


def _group_codes(values: pd.Series, complete: np.ndarray, group: str) -> tuple[tuple[str, ...], np.ndarray]:
    """The labels of the groups with used rows (order of first appearance) and each used row's group index.

    Each distinct value is labelled once (``pd.factorize``), not each row."""
    vcodes, uniques = pd.factorize(values)
    ulabels = np.array([_group_label(v) for v in uniques], dtype=object)
    used_codes = np.bincount(vcodes[complete], minlength=len(uniques)) > 0
    present = set(ulabels[used_codes].tolist())  # labels with complete rows (no per-row string compare)
    labels = tuple(lab for lab in dict.fromkeys(ulabels.tolist()) if lab in present)  # as pd.unique's order
    if len(labels) < 2:
        raise DataError(f"grouping variable {quote(group)} has a single group with complete rows; fit without group=")
    where_label = {lab: g for g, lab in enumerate(labels)}
    return labels, np.array([where_label.get(lab, -1) for lab in ulabels], dtype=int)[vcodes[complete]]


def _grouped_rows(data: pd.DataFrame, group: str | None, complete: np.ndarray
                  ) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    """The used rows (``complete``) grouped by group, stable (data order within a group), so that every
    group's rows are a slice — the same rows in the same order as a boolean selection of the group:
    ``(labels, each used row's group index, the used rows' positions, bounds)``, group g's rows
    ``bounds[g]:bounds[g + 1]``. Without a group one group ``"all"`` of the used rows in data order."""
    if group is None:
        labels: tuple[str, ...] = ("all",)
        gcodes = np.zeros(int(complete.sum()), dtype=int)
        sel = np.flatnonzero(complete)
    else:
        labels, gcodes = _group_codes(data[group], complete, group)
        order = np.argsort(gcodes, kind="stable")
        sel, gcodes = np.flatnonzero(complete)[order], gcodes[order]
    return labels, gcodes, sel, np.searchsorted(gcodes, np.arange(len(labels) + 1))


def _categories(seen: np.ndarray) -> tuple[list[float], np.ndarray]:
    """The sorted distinct values of the integer-valued answers ``seen`` and each answer's index in them.

    Small integer codes are tabulated in one pass (bincount) instead of hashing (``pd.unique``)
    and a binary search per answer (``np.searchsorted``): issue 16, ~1 s per 10⁶ rows × 28 items.
    """
    if seen.size == 0:
        return [], np.zeros(0, dtype=np.int64)
    lo, hi = float(seen.min()), float(seen.max())
    if hi - lo >= 100_000:
        cats = sorted(pd.unique(seen).tolist())
        return cats, np.searchsorted(np.array(cats), seen)
    iv = (seen - lo).astype(np.int64)
    present = np.bincount(iv) > 0
    cats = (np.flatnonzero(present) + lo).tolist()
    return [float(c) for c in cats], (np.cumsum(present) - 1)[iv]


def ordinal_sample_stats(
    data: pd.DataFrame,
    items: Sequence[str],
    group: str | None = None,
    *,
    empty_categories: str = "error",
    diagnostics: list[Diagnostic] | None = None,
    missing: str = "listwise",
    coded: OrdinalRows | None = None,
) -> tuple[list[OrdinalSampleStats], tuple[str, ...], int]:
    """Thresholds, polychoric correlations and Γ per group from item responses.

    ``missing="listwise"`` (default) uses complete rows only. ``missing="pairwise"`` (lavaan's
    ``missing = "pairwise"``) keeps every row with at least one model item observed: the
    thresholds of an item come from the rows observing it, each polychoric correlation from
    the pair's complete rows, and Γ (NACOV) from the casewise scores with zero contributions
    where a value is missing (Muthén 1984; lavaan's ``muthen1984``). Rows with every item
    missing are excluded and counted. An item that no row of a group observes, or a pair of
    items never observed together in a group, is a :class:`DataError` naming items and group;
    a pairwise coverage below 0.10 is a :class:`DataQualityWarning` (lavaan's threshold).

    The categories of an item are its observed values pooled over groups; every group
    must use all of them (the thresholds are compared across groups). A category that
    is empty in one group raises :class:`DataError` naming item, group and value, or,
    with ``empty_categories="collapse"``, is merged with the next lower category (the
    next higher for the lowest) in every group, recorded as a :class:`DataQualityWarning`.

    Returns ``(stats per group, group labels, rows excluded by listwise deletion or empty)``.

    ``coded``: the run's shared codes and tables of these rows (:class:`~psychometrics.ordinal.shared.OrdinalRows`;
    pairwise deletion from :data:`~psychometrics.ordinal.shared.MIN_ROWS` rows): the same statistics without
    coding and tabulating the rows again (:func:`_coded_sample_stats`; issue 16).

    Validated against lavaan 0.6-14 ``cfa(..., ordered = TRUE, missing = "pairwise")``
    (``tests/reference/missing/pairwise_*.json``: ``wls.obs``, ``gamma``).
    """
    diags = diagnostics if diagnostics is not None else []
    if missing not in ("listwise", "pairwise"):
        raise DataError(f"missing={quote(missing)} for ordinal items: use 'listwise' or 'pairwise'")
    if empty_categories not in ("error", "collapse"):
        raise DataError(f"empty_categories={quote(empty_categories)}: use 'error' or 'collapse'")
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    items = list(items)
    absent = [v for v in items if v not in data.columns]
    if absent:
        raise DataError(f"model variable(s) {', '.join(map(repr, absent))} are not columns of the data")
    got = _coded_sample_stats(coded, data, items, group, empty_categories, diags) if coded is not None and \
        missing == "pairwise" and len(data) >= MIN_ROWS and (group is None or group in data.columns) else None
    if got is not None:  # the same statistics from the run's shared codes and tables (None: from the rows)
        return got
    X = data.loc[:, items]
    for v in items:
        if not pd.api.types.is_numeric_dtype(X[v]) or pd.api.types.is_bool_dtype(X[v]):
            raise DataError(f"ordinal item {quote(v)} is not numeric (dtype {X[v].dtype}); code its categories as integers")
    # item by item, each column contiguous (one copy in column order when the frame's block is row-major):
    # strided columns made every later pass several times slower (issue 16)
    whole = X.to_numpy(dtype=float)
    row_major = not whole.flags.f_contiguous and whole.shape[0] >= 10_000
    # a row-major frame: its used rows are copied once, below, in column order block by block (issue 16)
    cols = [] if row_major else [whole[:, j] for j in range(whole.shape[1])]
    n_rows = len(X)
    if group is not None:
        if group not in data.columns:
            raise DataError(f"grouping variable {quote(group)} is not a column of the data")
        bad = np.flatnonzero(data[group].isna().to_numpy())
        if bad.size:
            raise DataError(f"grouping variable {quote(group)} is missing in {bad.size} row(s) (index "
                            f"{', '.join(str(data.index[i]) for i in bad[:10])}); drop or label these rows first")
    n_missing = np.zeros(n_rows, dtype=np.int32 if len(items) < 2 ** 31 else np.int64)  # missing items per row
    counts = np.zeros(len(items), dtype=np.int64)  # missing rows per item
    if row_major:  # row by row on the row-major values (the same integer counts)
        nan = np.isnan(whole)
        n_missing += nan.sum(axis=1, dtype=n_missing.dtype)
        counts[:] = nan.sum(axis=0)
        del nan
    for j, c in enumerate(cols):
        nan_j = np.isnan(c)
        n_missing += nan_j
        counts[j] = int(nan_j.sum())
    complete = n_missing < len(items) if missing == "pairwise" else n_missing == 0
    n_excluded = int((~complete).sum())
    if n_excluded and missing == "pairwise":
        record(diags, DataQualityWarning, _pairwise_excluded_message(n_excluded, n_rows), stacklevel=5)
    elif n_excluded:
        detail = ", ".join(f"{v} ({c})" for v, c in zip(items, counts) if c)
        record(diags, DataQualityWarning,
               f"listwise deletion: {n_excluded} of {n_rows} rows have missing values on model items and were "
               f"not used (missing per item: {detail})", stacklevel=5)
    if n_rows and (counts == n_rows).any():  # items without an answer: check_observed's error
        check_observed(np.where(counts == n_rows, np.nan, 0.0)[None, :], list(items), "ordinal sample statistics")
    labels, gcodes, sel, bounds = _grouped_rows(data, group, complete)
    # the used rows as one copy in column (Fortran) order: the loops below read whole columns (a strided
    # column of a row-major copy made every elementwise pass several times slower; issue 16)
    if row_major:
        values = fortran_rows(whole, sel)
    else:
        values = np.empty((sel.size, len(items)), order="F")
        for j, c in enumerate(cols):
            values[:, j] = c[sel]
    del cols, whole
    if missing == "pairwise":
        _check_coverage(values, items, bounds, labels, group, diags, n_missing[sel])
    # category 0..K−1, −1 where missing; int16 (a quarter of int64's memory) unless an item has more categories
    codes = np.empty(values.shape, dtype=np.int16, order="F")
    K: list[int] = []
    for j, v in enumerate(items):
        cats, code = _item_codes(values[:, j], v, gcodes, labels, group, empty_categories, diags)
        if len(cats) > np.iinfo(codes.dtype).max:
            codes = codes.astype(np.int64, order="F")
        codes[:, j] = code
        K.append(len(cats))
    del values  # only the codes are needed from here on
    out = []
    shares = _nacov_shares(np.diff(bounds), labels, diags)
    for g, lab in enumerate(labels):
        rows = int(bounds[g + 1] - bounds[g])
        if rows <= len(items):
            where = f" in group {quote(lab)}" if group is not None else ""
            kind = "complete" if missing == "listwise" else "non-empty"
            raise DataError(f"{rows} {kind} rows{where} for {len(items)} items: too few for WLSMV")
        with _nacov.nacov_rows(shares[g]):
            # = polychoric(DataFrame of the group's recoded answers 1..K, ordered=True, acov=True, missing=missing)
            res = polychoric_from_codes(codes[bounds[g]:bounds[g + 1]], items, K, missing=missing, acov=True)
        out.append(_group_stats(res, items, lab, group, diags))
    return out, labels, n_excluded


def _group_stats(res, items, lab, group, diags) -> OrdinalSampleStats:
    """One group's sample statistics from its polychoric fit: the fit's diagnostics (naming the group)
    into ``diags``; an undefined asymptotic covariance is an error."""
    for dg in res.diagnostics:
        where = f" (group {quote(lab)})" if group is not None else ""
        diags.append(Diagnostic(dg.category, dg.message + where))
    if res.acov is None:
        raise EstimationError(
            f"the asymptotic covariance of the polychoric correlations{' in group ' + repr(lab) if group else ''} "
            "is undefined (a correlation of ±1); merge or drop redundant items"
        )
    return _from_polychoric(res, items)


def _check_coverage(values, items, bounds, labels, group, diags, n_missing=None) -> None:
    """Pairwise deletion: every item observed in every group and every pair observed together
    (else :class:`DataError`); coverage (share of a group's rows observing both) below 0.10 warned.
    ``values``: the used rows grouped by group, group g's rows ``bounds[g]:bounds[g + 1]``;
    ``n_missing``: each of these rows' number of missing items, when known — then only the incomplete
    rows are read (a complete row adds 1 to every count: the same integers; issue 16)."""
    for g, lab in enumerate(labels):
        where = f" in group {quote(lab)}" if group is not None else ""
        block = values[bounds[g]:bounds[g + 1]]  # the group's rows (grouped: a slice)
        n_g = block.shape[0]
        full = 0
        if n_missing is not None:
            inc = np.flatnonzero(n_missing[bounds[g]:bounds[g + 1]] > 0)
            full = n_g - inc.size
            block = block[inc]
        # pair counts (item counts on the diagonal): integer sums, exact in float32 below 2²⁴ rows
        obs = (~np.isnan(block)).astype(np.float32 if block.shape[0] < 2 ** 24 else float)
        error, message = _coverage(full + (obs.T @ obs).astype(float), n_g, items, where)
        if error:
            raise DataError(error)
        if message:
            record(diags, DataQualityWarning, message, stacklevel=6)


def _coverage(cov: np.ndarray, n_g: int, items, where: str) -> tuple[str | None, str | None]:
    """Pairwise deletion's conditions on one group's pair counts ``cov`` (item counts on the diagonal):
    ``(error, None)`` — an item observed in no row, or a pair observed together in fewer than 2 rows
    (the :class:`DataError`'s message) —, else ``(None, the low-coverage warning or None)``. The one test of
    both paths (:func:`_check_coverage` from the rows, :func:`_coverage_messages` from the shared tables)."""
    none = [v for v, c in zip(items, np.diag(cov)) if c == 0]
    if none:
        return (f"item(s) {', '.join(map(repr, none[:10]))} are missing in every row{where}; "
                "their thresholds cannot be estimated. Drop the item(s) or the group"), None
    ia, ib = np.triu_indices(len(items), 1)
    never = [(items[a], items[b]) for a, b in zip(ia, ib) if cov[a, b] < 2]
    if never:
        shown = ", ".join(f"{a}–{b}" for a, b in never[:5])
        return (f"item pair(s) {shown}{' …' if len(never) > 5 else ''} are observed together in fewer than 2 rows"
                f"{where} (coverage 0); their polychoric correlation cannot be estimated. Drop one item of "
                "each pair or collect data in which both are answered"), None
    return None, _low_coverage(cov, n_g, items, where)


def _low_coverage(cov: np.ndarray, n_g: int, items, where: str) -> str | None:
    """The warning on pairs observed together in fewer than a tenth of a group's rows (None: no such pair)."""
    ia, ib = np.triu_indices(len(items), 1)
    low = [(items[a], items[b], cov[a, b] / n_g) for a, b in zip(ia, ib) if cov[a, b] / n_g < 0.10]
    if not low:
        return None
    shown = ", ".join(f"{a}–{b} ({c:.2f})" for a, b, c in low[:5])
    return (f"covariance coverage below 0.10{where} for {len(low)} item pair(s): {shown}"
            f"{' …' if len(low) > 5 else ''}; their correlations rest on few rows")


def _coverage_messages(covs, n_g, items, labels, group) -> tuple[bool, list[str]]:
    """:func:`_check_coverage` from each group's pair counts ``covs`` (item counts on the diagonal): (False, [])
    where it raises, else (True, its warnings in order)."""
    out = []
    for g, lab in enumerate(labels):
        error, message = _coverage(covs[g], int(n_g[g]), items, f" in group {quote(lab)}" if group is not None else "")
        if error:
            return False, []
        if message:
            out.append(message)
    return True, out


def _item_codes(col: np.ndarray, v: str, gcodes: np.ndarray, labels: tuple[str, ...], group: str | None,
                empty_categories: str, diags: list[Diagnostic]) -> tuple[list[float], np.ndarray]:
    """One item's categories (its sorted distinct answers, after merging empty ones) and each row's
    category code (−1 where missing); an empty category in a group is an error or merged (said in ``diags``).

    Small integer codes are tabulated over the whole column (missing answers in their own slot, no
    gather of the answers or scatter of their codes; issue 16); the same categories and codes as
    :func:`_categories` of the answers, which is used for codes spread over 100,000 or more values."""
    obs = ~np.isnan(col)
    with np.errstate(invalid="ignore"):
        nonint = obs & (col != np.round(col))
    if nonint.any():
        bad = np.unique(col[nonint])[:5]
        raise DataError(f"ordinal item {quote(v)} has non-integer values ({', '.join(map(str, bad))}); "
                        "code its categories as integers")
    if not obs.any():
        raise DataError(f"ordinal item {quote(v)} has no observed response in the rows used; remove it")
    lo, hi = float(np.nanmin(col)), float(np.nanmax(col))
    if np.isfinite(hi - lo) and hi - lo < 100_000:
        idx = np.where(obs, col - (lo - 1.0), 0.0).astype(np.int64)  # 0 = missing
        present = np.bincount(idx, minlength=int(hi - lo) + 2)[1:] > 0
        cats = [float(c) for c in (np.flatnonzero(present) + lo).tolist()]
        code = np.concatenate([[-1], np.cumsum(present) - 1])[idx]
    else:
        cats, c = _categories(col[obs])
        code = np.full(col.shape, -1, dtype=np.int64)
        code[obs] = c
    if len(cats) < 2:
        raise DataError(f"ordinal item {quote(v)} has a single category ({cats[0]:g}) in the data; remove it")
    if group is not None:
        # answers per group and category in one pass (bincount), not one per cell
        G, k = len(labels), len(cats)
        cell = np.where(obs, gcodes * k + code, G * k)
        used = np.bincount(cell, minlength=G * k + 1)[:G * k].reshape(G, k)
        empty = [(lab, c) for g, lab in enumerate(labels) for i, c in enumerate(cats) if used[g, i] == 0]
        if empty:
            if empty_categories == "error":
                where = "; ".join(f"category {c:g} in group {quote(lab)}" for lab, c in empty)
                raise DataError(
                    f"ordinal item {quote(v)} has an empty category: {where}. Thresholds cannot be compared "
                    "across groups; merge categories (empty_categories='collapse' merges each empty "
                    "category with its lower neighbour in all groups) or drop the item"
                )
            cats, members, merges = _collapse_counts(cats, used, labels)
            if len(cats) < 2:
                raise DataError(f"ordinal item {quote(v)}: collapsing empty categories leaves a single category")
            lut = np.empty(k + 1, dtype=np.int64)  # old category → the category it was merged into; −1 stays −1
            lut[-1] = -1
            for i, mem in enumerate(members):
                lut[mem] = i
            code = lut[code]
            record(diags, DataQualityWarning, _merged_message(v, merges), stacklevel=6)
    return cats, code


def _coded_sample_stats(shared, data: pd.DataFrame, items: Sequence[str], group: str | None, empty_categories: str,
                       diags: list[Diagnostic]):
    """``ordinal_sample_stats(data, items, group, missing="pairwise", ...)`` from the run's shared codes and
    tables (:class:`~psychometrics.ordinal.shared.OrdinalRows`), or None (then from the rows; issue 16).

    The used rows' ``int8`` codes are gathered from the shared codes (no float copy of the rows in column
    order, no per-item coding of floats); each group's bivariate tables are the sum of its cells' tables
    (no one-hot product over the rows); the categories pooled over the groups and the merges of categories
    empty in a group come from the groups' category counts (the tables' diagonals); each group's Γ from its
    rows' codes as before. The same rows in the same order, the same integer tables and counts, categories,
    merges and messages: every statistic equals the one computed from the rows
    (``tests/test_ordinal_shared.py``). Anything unusual — an error to report, rows or columns the shared
    object does not hold — returns None before any warning is recorded, and the caller computes from the rows.
    """
    coded = shared.coded()
    pos = shared.positions(data.index)
    if coded is None or pos is None or len(set(items)) != len(items) or not set(items) <= set(shared.names):
        return None
    codes_all, lo, slots, _ = coded
    cols = [shared.names.index(v) for v in items]
    p = len(items)
    cs = np.empty((pos.size, p), dtype=np.int8, order="F")  # the rows' codes, items in the model's order
    for a, j in enumerate(cols):
        cs[:, a] = codes_all[pos, j]
    n_rows = pos.size
    nobs = (cs >= 0).sum(axis=0)
    if (nobs == 0).any():
        return None  # an item without answers: the caller's error
    complete = (cs >= 0).any(axis=1)
    n_excluded = int((~complete).sum())
    if group is not None and data[group].isna().any():
        return None
    labels, gcodes, sel, bounds = _grouped_rows(data, group, complete)
    got = shared.tables(data.index, None if group is None else labels)
    if got is None:
        return None
    if any(int(bounds[g + 1] - bounds[g]) <= p for g in range(len(labels))):
        return None  # too few rows in a group: the caller's error
    # each group's tables over the items' slots (full symmetric), and its coverage counts
    offs = np.concatenate([[0], np.cumsum(slots)])
    sl = np.concatenate([np.arange(offs[j], offs[j + 1]) for j in cols])
    blocks = np.concatenate([[0], np.cumsum([slots[j] for j in cols])])
    full = []
    for T, _, _ in got:
        F = np.triu(T) + np.triu(T, 1).T
        full.append(F[np.ix_(sl, sl)])
    # the warnings are recorded only once nothing can send the caller back to the rows (no warning twice)
    pending: list[tuple[str, int]] = []
    if n_excluded:
        pending.append((_pairwise_excluded_message(n_excluded, n_rows), 5))
    agg = np.add.reduceat(np.add.reduceat(np.stack(full), blocks[:-1], axis=1), blocks[:-1], axis=2)  # pair counts
    ok, messages = _coverage_messages(list(agg), np.diff(bounds), items, labels, group)
    if not ok:
        return None  # an item or a pair unobserved in a group: the caller's error
    pending += [(m, 6) for m in messages]
    # categories: the slots used by the rows, pooled over the groups; empty ones in a group merged (or an error)
    M = np.zeros((sl.size, 0))
    K: list[int] = []
    luts = []
    for a, j in enumerate(cols):
        used = np.stack([np.diag(F)[blocks[a]: blocks[a + 1]] for F in full])  # (groups, slots)
        present = np.flatnonzero(used.sum(axis=0) > 0)
        cats = [float(c) for c in present + lo[j]]
        if len(cats) < 2:
            return None
        counts = used[:, present]
        if group is not None and (counts == 0).any():
            if empty_categories == "error":
                return None
            cats, members, merges = _collapse_counts(cats, counts, labels)
            if len(cats) < 2:
                return None
            pending.append((_merged_message(items[a], merges), 6))
        else:
            members = [[i] for i in range(len(cats))]
        # slot → category (−1: a value no row uses); merged values go with the category they were merged into
        lut = np.full(int(slots[j]), -1, dtype=np.int64)
        for k, mem in enumerate(members):
            lut[present[mem]] = k
        luts.append(lut)
        K.append(len(cats))
        Mj = np.zeros((sl.size, len(cats)))
        ok = lut >= 0
        Mj[blocks[a] + np.flatnonzero(ok), lut[ok]] = 1.0
        M = np.hstack([M, Mj])
    if any(k > 127 for k in K):
        return None
    codes = np.empty((sel.size, p), dtype=np.int8, order="F")
    for a in range(p):
        lut8 = np.concatenate([luts[a], [-1]]).astype(np.int8)  # index −1 (missing) → the last entry, −1
        codes[:, a] = lut8[cs[sel, a]]
    del cs
    for message, level in pending:
        record(diags, DataQualityWarning, message, stacklevel=level)
    tot = int(sum(K))
    out = []
    shares = _nacov_shares(np.diff(bounds), labels, diags)
    for g, lab in enumerate(labels):
        Tg = np.zeros((tot + 1, tot + 1))
        Tg[:-1, :-1] = M.T @ full[g] @ M  # integer sums: exact
        with _nacov.nacov_rows(shares[g]):
            res = polychoric_from_codes(codes[bounds[g]:bounds[g + 1]], items, K, missing="pairwise", acov=True,
                                        tables=Tg)
        out.append(_group_stats(res, items, lab, group, diags))
    return out, labels, n_excluded


def _pairwise_excluded_message(n_excluded: int, n_rows: int) -> str:
    """The warning on the rows that pairwise deletion leaves out (every model item missing)."""
    return (f"{n_excluded} of {n_rows} rows have every model item missing and were not used "
            "(pairwise deletion keeps all other rows)")


def _merged_message(v: str, merges: list[tuple[float, float, str]]) -> str:
    """The warning on item ``v``'s merged categories (:func:`_collapse_counts`' merges)."""
    return (f"item {quote(v)}: " + "; ".join(f"category {c:g} (empty in group {quote(lab)}) merged into {t:g}"
                                         for c, t, lab in merges) + " in every group")


def _collapse_counts(cats: list[float], counts: np.ndarray, labels: tuple[str, ...]):
    """Merge categories that are empty in some group with a neighbour until none is, on the (groups ×
    categories) answer counts: the first empty category of the first group with one goes into its lower
    neighbour (the higher for the lowest), then again, until no group has an empty category or one category
    is left. Returns the kept categories, each one's members (indices of the original categories merged into
    it) and the merges ``(category, merged into, group)`` in order. The one rule of both paths
    (:func:`_item_codes` from the rows, :func:`_coded_sample_stats` from the shared tables)."""
    cats = list(cats)
    counts = counts.copy()
    members = [[i] for i in range(len(cats))]
    merges: list[tuple[float, float, str]] = []
    while True:
        empty = None
        for g, lab in enumerate(labels):
            k = np.flatnonzero(counts[g] == 0)
            if k.size:
                empty = (int(k[0]), lab)
                break
        if empty is None or len(cats) < 2:
            return cats, members, merges
        k, lab = empty
        t = k - 1 if k > 0 else k + 1
        counts[:, t] += counts[:, k]
        members[t] += members[k]
        merges.append((cats[k], cats[t], lab))
        counts = np.delete(counts, k, axis=1)
        del cats[k], members[k]
