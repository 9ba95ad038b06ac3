"""Input handling shared by the EFA functions: data or correlation matrix → correlation.

Correlations are Pearson correlations over pairwise-complete observations, as
``psych`` computes them by default (``cor(x, use = "pairwise")``); the number of
observations is the number of rows (as ``psych::fa`` uses), and the pairwise
counts are kept so the missingness is reported, never hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from psychometrics._linalg import pairwise_correlation
from psychometrics._validation import check_observed, check_variance, dependent_items, item_matrix
from psychometrics.exceptions import DataError, Diagnostic, NotPositiveDefiniteWarning, record
from psychometrics._text import quote

__all__ = ["Prepared", "prepare", "cor_smooth"]


@dataclass
class Prepared:
    """A checked correlation matrix and what is known about the sample behind it."""

    corr: pd.DataFrame
    n_obs: int | None
    n_rows: int | None = None
    n_complete: int | None = None
    pairwise_n: pd.DataFrame | None = None
    smoothed: bool = False
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def items(self) -> list[str]:
        return [str(c) for c in self.corr.columns]


def cor_smooth(corr: np.ndarray, eig_tol: float = 1e-12, force: bool = False) -> tuple[np.ndarray, bool]:
    """Smooth a non-positive-definite correlation matrix as ``psych::cor.smooth``.

    When the smallest eigenvalue is below machine epsilon, eigenvalues below
    ``eig_tol`` are set to ``100 * eig_tol``, all are rescaled to sum to p, the matrix
    is rebuilt from its eigenvectors and rescaled to unit diagonal. Returns the matrix
    and whether it was changed (``force=True`` smooths whenever called). Validated against ``psych::cor.smooth``
    (``tests/reference/efa/efa_reference.json``, ``cor_smooth``).
    """
    values, vectors = np.linalg.eigh(corr)
    if values.min() >= np.finfo(float).eps and not force:
        return corr, False
    values = np.where(values < eig_tol, 100 * eig_tol, values)
    values = values * corr.shape[0] / values.sum()
    out = (vectors * values) @ vectors.T
    d = 1.0 / np.sqrt(np.diag(out))
    out = out * np.outer(d, d)
    return out, True


def _is_correlation_like(frame: pd.DataFrame) -> bool:
    return frame.shape[0] == frame.shape[1] and list(frame.index) == list(frame.columns)


def prepare(
    data: pd.DataFrame | np.ndarray | None = None,
    *,
    corr: pd.DataFrame | np.ndarray | None = None,
    n_obs: int | None = None,
    items: list[str] | None = None,
    min_items: int = 3,
    smooth: bool = True,
    require_n: bool = False,
    what: str = "analysis",
) -> Prepared:
    """Check the input and return its correlation matrix (pairwise-complete, as psych)."""
    diagnostics: list[Diagnostic] = []
    if (data is None) == (corr is None):
        raise DataError(f"{what}: give either response data (`data`) or a correlation matrix (`corr`) with `n_obs`, not both or neither")
    n_rows = n_complete = None
    pairwise_n = None
    if data is not None:
        if isinstance(data, np.ndarray):
            if data.ndim != 2:
                raise DataError(f"{what}: `data` must be a 2-D table (rows = respondents, columns = items); got an array of shape {data.shape}")
            data = pd.DataFrame(data, columns=[f"V{i + 1}" for i in range(data.shape[1])])
        if not isinstance(data, pd.DataFrame):
            raise DataError(f"{what}: `data` must be a pandas DataFrame or a 2-D numpy array, not {type(data).__name__}")
        if items is not None:
            missing = [i for i in items if i not in data.columns]
            if missing:
                raise DataError(f"{what}: item(s) {', '.join(map(str, missing))} not found in the data columns")
            data = data[list(items)]
        x = item_matrix(data, what)
        names = [str(c) for c in data.columns]
        n_rows = x.shape[0]
        n_complete = int((~np.isnan(x)).all(axis=1).sum())
        check_observed(x, names, what)
        check_variance(x, names, what)
        r, npair = pairwise_correlation(x)
        if np.isnan(r).any():
            i, j = np.argwhere(np.isnan(r))[0]
            raise DataError(f"{what}: items {names[i]} and {names[j]} have too few jointly observed rows ({int(npair[i, j])}) to correlate; drop one of them")
        pairwise_n = pd.DataFrame(npair.astype(int), index=names, columns=names)
        if n_obs is None:
            n_obs = n_rows
        if n_complete < n_rows:
            diagnostics.append(Diagnostic("DataQualityWarning", f"{n_rows - n_complete} of {n_rows} rows have missing values; correlations use pairwise-complete observations (smallest pairwise n = {int(npair.min())}), n_obs = {n_rows} rows as psych uses"))
    else:
        if isinstance(corr, pd.DataFrame):
            names = [str(c) for c in corr.columns]
            if not _is_correlation_like(corr):
                raise DataError(f"{what}: `corr` must be a square matrix with the same item names on rows and columns")
            r = corr.to_numpy(dtype=float)
        else:
            r = np.asarray(corr, dtype=float)
            if r.ndim != 2 or r.shape[0] != r.shape[1]:
                raise DataError(f"{what}: `corr` must be a square matrix; got shape {r.shape}")
            names = [f"V{i + 1}" for i in range(r.shape[0])]
        if items is not None:
            idx = [names.index(i) if i in names else None for i in items]
            missing = [i for i, k in zip(items, idx) if k is None]
            if missing:
                raise DataError(f"{what}: item(s) {', '.join(map(str, missing))} not found in the correlation matrix")
            r = r[np.ix_(idx, idx)]
            names = list(items)
        if not np.isfinite(r).all():
            raise DataError(f"{what}: the correlation matrix contains missing or infinite values; every entry must be a number")
        if not np.allclose(r, r.T, atol=1e-10):
            i, j = np.unravel_index(np.argmax(np.abs(r - r.T)), r.shape)
            raise DataError(f"{what}: the correlation matrix is not symmetric (entry {names[i]},{names[j]} = {r[i, j]:.6g} but {names[j]},{names[i]} = {r[j, i]:.6g})")
        d = np.diag(r)
        if np.any(d <= 0):
            raise DataError(f"{what}: the matrix has non-positive diagonal entries (item {names[int(np.argmin(d))]}); give a correlation or covariance matrix")
        if not np.allclose(d, 1.0):  # a covariance matrix: rescale as psych does (cov2cor)
            s = 1 / np.sqrt(d)
            r = r * np.outer(s, s)
        if np.any(np.abs(r - np.eye(len(r))) > 1 + 1e-12):
            raise DataError(f"{what}: correlations outside [-1, 1] in `corr`")
        r = (r + r.T) / 2
        if n_obs is None and require_n:
            raise DataError(f"{what}: a correlation matrix needs the sample size: pass n_obs=<number of respondents>")
    if n_obs is not None:
        if isinstance(n_obs, bool) or not isinstance(n_obs, (int, np.integer)) or n_obs < 2:
            raise DataError(f"{what}: n_obs must be an integer ≥ 2 (number of respondents), got {quote(n_obs)}")
        n_obs = int(n_obs)
    p = r.shape[0]
    if p < min_items:
        raise DataError(f"{what}: {p} item(s) given; at least {min_items} are needed")
    if n_obs is not None and n_obs <= p:
        raise DataError(f"{what}: n_obs = {n_obs} respondents is not more than the {p} items; the correlation matrix is singular. Collect more responses or analyse fewer items")
    smoothed = False
    values = np.linalg.eigvalsh(r)
    # psych smooths when the smallest eigenvalue is below machine epsilon; we also treat a
    # numerically singular matrix (< 1e-12, e.g. duplicated items) that way, since its
    # inverse (SMC, KMO, ML) is meaningless
    if values.min() < 1e-12:
        if not smooth:
            raise DataError(f"{what}: the correlation matrix is not positive definite (smallest eigenvalue {values.min():.3g})")
        iu = np.triu_indices(p, 1)
        dup = [f"{names[i]}–{names[j]}" for i, j in zip(*iu) if abs(r[i, j]) > 1 - 1e-8]
        why = f"; perfectly correlated items: {', '.join(dup)}" if dup else ""
        if not dup:
            dep = dependent_items(r, [str(v) for v in names])
            why = f"; items {', '.join(dep[:12])} are linearly dependent" if dep and len(dep) < p else ""
        r, smoothed = cor_smooth(r, force=True)
        record(diagnostics, NotPositiveDefiniteWarning,
               f"{what}: the correlation matrix is not positive definite (smallest eigenvalue {values.min():.3g}){why}; "
               "it was smoothed as psych::cor.smooth does (eigenvalues < 1e-12 set to 1e-10, rescaled)", stacklevel=4)
    frame = pd.DataFrame(r, index=names, columns=names)
    return Prepared(frame, n_obs, n_rows, n_complete, pairwise_n, smoothed, diagnostics)


def subscale_mapping(scale: Any) -> dict[str, str] | None:
    """Item → declared subscale from a ``Scale`` (``.items`` with ``.id``/``.subscale``) or a mapping."""
    if scale is None:
        return None
    if isinstance(scale, Mapping):
        return {str(k): str(v) for k, v in scale.items() if v is not None}
    items = getattr(scale, "items", None)
    if items is None:
        raise DataError("subscales: give a Scale (with .items) or a mapping item → subscale")
    out = {}
    for it in items:
        sub = getattr(it, "subscale", None)
        if sub is not None:
            out[str(it.id)] = str(sub)
    return out


def scale_item_ids(scale: Any) -> list[str] | None:
    """Item ids of a ``Scale`` (``.items`` with ``.id``), or ``None`` for a mapping / nothing."""
    if scale is None or isinstance(scale, Mapping):
        return None
    items = getattr(scale, "items", None)
    return None if items is None else [str(it.id) for it in items]
