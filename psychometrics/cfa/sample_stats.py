"""Sample statistics of an ML CFA: per-group ML covariances, means and sizes from item responses
(listwise deletion, group checks) or from user-supplied moments (lavaan's ``sample.cov``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from psychometrics._groups import group_label as _group_label
from psychometrics._validation import check_observed, dependent_items, is_numeric_item
from psychometrics.cfa.estimation import SampleStats
from psychometrics.cfa.missing_moments import GroupPatterns, group_patterns
from psychometrics.exceptions import DataError, DataQualityWarning, Diagnostic, record
from psychometrics._text import quote

__all__ = ["sample_stats", "moment_stats", "pattern_stats"]


def _check_frame(data: Any, observed: Sequence[str], group: str | None) -> np.ndarray:
    """Checks shared by both data paths; returns the item values (rows × items, NaN = missing)."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    absent = [v for v in observed if v not in data.columns]
    if absent:
        raise DataError(
            f"model variable(s) {', '.join(map(repr, absent))} are not columns of the data; "
            f"columns are: {', '.join(map(str, data.columns[:30]))}{' ...' if len(data.columns) > 30 else ''}"
        )
    X = data.loc[:, list(observed)]
    for v in observed:
        if not is_numeric_item(X[v].dtype):
            raise DataError(f"item {quote(v)} is not numeric (dtype {X[v].dtype}); recode it before fitting")
    if group is not None:
        if group not in data.columns:
            raise DataError(f"grouping variable {quote(group)} is not a column of the data")
        gcol = data[group]
        bad = np.flatnonzero(gcol.isna().to_numpy())
        if bad.size:
            rows = ", ".join(str(data.index[i]) for i in bad[:10])
            raise DataError(
                f"grouping variable {quote(group)} is missing in {bad.size} row(s) (index {rows}"
                f"{' ...' if bad.size > 10 else ''}); drop or label these rows first"
            )
    return X.to_numpy(dtype=float)


def _group_codes(data: pd.DataFrame, group: str | None) -> tuple[tuple[str, ...], np.ndarray]:
    if group is None:
        return ("all",), np.zeros(len(data), dtype=int)
    codes, uniques = pd.factorize(data[group], sort=False)  # order of first appearance, as lavaan
    labels = tuple(_group_label(v) for v in uniques)
    if len(set(labels)) < len(labels):
        raise DataError(f"grouping variable {quote(group)} has distinct values that print alike: {list(uniques)}")
    if not labels:
        raise DataError("the data have no rows; a CFA needs observations")
    if len(labels) < 2:
        raise DataError(
            f"grouping variable {quote(group)} has a single group ({quote(labels[0])}); fit without group= "
            "or supply data from at least two groups"
        )
    return labels, codes


def pattern_stats(
    data: pd.DataFrame, observed: Sequence[str], group: str | None, missing: str, diags: list[Diagnostic]
) -> tuple[list[GroupPatterns], tuple[str, ...], int]:
    """Per-group missing-data patterns (FIML, or listwise data for MLR); returns the groups,
    their labels and the number of rows not used (empty rows for FIML, incomplete rows for listwise)."""
    values = _check_frame(data, observed, group)
    labels, codes = _group_codes(data, group)
    if missing == "listwise":
        keep = ~np.isnan(values).any(axis=1)
        n_excluded = int((~keep).sum())
        if n_excluded:
            record(diags, DataQualityWarning,
                   f"listwise deletion: {n_excluded} of {len(values)} rows have missing values on model items "
                   "and were not used", stacklevel=6)
        values, codes, index = values[keep], codes[keep], data.index[keep]
    else:
        index = data.index
    out = []
    n_empty = 0
    p = len(observed)
    for k, lab in enumerate(labels):
        where = f" in group {quote(lab)}" if group is not None else ""
        sel = codes == k
        gp = group_patterns(values[sel], index[sel], lab, list(observed), where, diags)
        n_empty += len(gp.empty_rows)
        if gp.n <= p:
            raise DataError(f"{gp.n} usable rows{where} but {p} items; a group needs more observations than items")
        sd = np.sqrt(np.nanvar(gp.rows, axis=0))
        zero = [v for v, s in zip(observed, sd) if not s > 0]
        if zero:
            raise DataError(f"item(s) {', '.join(map(repr, zero))} have zero variance{where}; remove them from the model")
        out.append(gp)
    if missing != "listwise":
        n_excluded = n_empty
        if n_empty:
            rows = [str(r) for gp in out for r in gp.empty_rows]
            record(diags, DataQualityWarning,
                   f"{n_empty} row(s) miss every model item and were not used (index "
                   f"{', '.join(rows[:10])}{' ...' if len(rows) > 10 else ''})", stacklevel=6)
    return out, labels, n_excluded


def sample_stats(
    data: pd.DataFrame, observed: Sequence[str], group: str | None, missing: str, diags: list[Diagnostic]
) -> tuple[SampleStats, tuple[str, ...], int]:
    if missing != "listwise":
        raise DataError(
            f"missing={quote(missing)} is not supported here; use missing='listwise' or 'ml' (FIML)"
        )
    values = _check_frame(data, observed, group)
    complete = ~np.isnan(values).any(axis=1)
    n_excluded = int((~complete).sum())
    if n_excluded:
        counts = np.isnan(values).sum(axis=0)
        detail = ", ".join(f"{v} ({c})" for v, c in zip(observed, counts) if c)
        record(
            diags, DataQualityWarning,
            f"listwise deletion: {n_excluded} of {len(values)} rows have missing values on model items "
            f"and were not used (missing per item: {detail})",
            stacklevel=5,
        )
    labels, codes = _group_codes(data, group)
    blocks = [values[complete & (codes == k)] for k in range(len(labels))]
    covs, means, nobs = [], [], []
    p = len(observed)
    for k, (lab, B) in enumerate(zip(labels, blocks)):
        where = f" in group {quote(lab)}" if group is not None else ""
        n = B.shape[0]
        if n < 2:
            check_observed(values[codes == k], observed, f"CFA{where}")
            raise DataError(f"only {n} complete row(s){where}; a CFA needs many more observations")
        mean = B.mean(axis=0)
        S = (B - mean).T @ (B - mean) / n
        sd = np.sqrt(np.diag(S))
        zero = [v for v, s in zip(observed, sd) if not s > 0]
        if zero:
            raise DataError(f"item(s) {', '.join(map(repr, zero))} have zero variance{where}; remove them from the model")
        if n <= p:
            raise DataError(
                f"{n} complete rows{where} but {p} items: the sample covariance matrix is singular; "
                "a group needs more observations than items"
            )
        if np.linalg.eigvalsh(S / np.outer(sd, sd))[0] < 1e-10:
            dep = dependent_items(S / np.outer(sd, sd), observed)
            raise DataError(
                f"the sample covariance matrix{where} is singular: items {quote(dep)} are linearly dependent "
                "(an item is a copy, a reversed copy or a linear combination of others); remove redundant items"
            )
        covs.append(S)
        means.append(mean)
        nobs.append(n)
    return SampleStats(tuple(covs), tuple(means), tuple(nobs)), labels, n_excluded


def moment_stats(observed: Sequence[str], sample_cov: Any, sample_mean: Any, sample_nobs: Any):
    """SampleStats from user-supplied moments (lavaan's sample.cov / sample.mean / sample.nobs)."""
    from collections.abc import Mapping

    multi = isinstance(sample_cov, Mapping)
    covs = dict(sample_cov) if multi else {"all": sample_cov}
    labels = tuple(_group_label(k) for k in covs) if multi else ("all",)

    def per_group(value: Any, what: str) -> list[Any]:
        if value is None:
            return [None] * len(covs)
        if multi:
            if not isinstance(value, Mapping) or set(map(_group_label, value)) != set(labels):
                raise DataError(f"{what} must be a mapping with the same groups as sample_cov ({', '.join(labels)})")
            value = {_group_label(k): v for k, v in value.items()}
            return [value[g] for g in labels]
        return [value]

    nobs = per_group(sample_nobs, "sample_nobs")
    means = per_group(sample_mean, "sample_mean")
    out_cov, out_mean, out_n = [], [], []
    p = len(observed)
    for g, C, m, n in zip(labels, covs.values(), means, nobs):
        where = f" of group {quote(g)}" if multi else ""
        if n is None or not float(n).is_integer() or int(n) <= p:
            raise DataError(f"sample_nobs{where} must be an integer larger than the number of items ({p}), got {quote(n)}")
        n = int(n)
        if not isinstance(C, pd.DataFrame):
            raise DataError(f"sample_cov{where} must be a DataFrame labelled with the item names")
        absent = [v for v in observed if v not in C.index or v not in C.columns]
        if absent:
            raise DataError(f"sample_cov{where} lacks model variable(s) {', '.join(map(repr, absent))}")
        S = C.loc[list(observed), list(observed)].to_numpy(dtype=float)
        if not np.all(np.isfinite(S)) or not np.allclose(S, S.T, rtol=1e-10, atol=1e-12):
            raise DataError(f"sample_cov{where} must be a finite symmetric matrix")
        S = 0.5 * (S + S.T) * (n - 1) / n  # lavaan: sample.cov.rescale = TRUE
        if np.linalg.eigvalsh(S)[0] <= 0:
            raise DataError(f"sample_cov{where} is not positive definite")
        if m is None:
            mean = np.zeros(p)
        else:
            mser = pd.Series(m)
            absent = [v for v in observed if v not in mser.index]
            if absent:
                raise DataError(f"sample_mean{where} lacks model variable(s) {', '.join(map(repr, absent))}")
            mean = mser.loc[list(observed)].to_numpy(dtype=float)
        out_cov.append(S)
        out_mean.append(mean)
        out_n.append(n)
    return SampleStats(tuple(out_cov), tuple(out_mean), tuple(out_n)), labels
