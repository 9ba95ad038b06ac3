"""Result tables shared by the ML (:mod:`~psychometrics.cfa.engine`) and the WLSMV
(:mod:`~psychometrics.cfa.categorical_engine`) engines (private).

Both engines hand these functions their parameter values, the covariance matrix of the free
parameters and their own standardization, so that lavaan's ``parameterEstimates`` layout and
``vcov`` labels are written once.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from psychometrics._dist import norm_ppf, norm_sf
from psychometrics.cfa.specification import ModelSpec, Parameter
from psychometrics.exceptions import DataError, Diagnostic, NotPositiveDefiniteWarning, record
from psychometrics._text import quote

__all__ = ["parameter_table", "standardize", "vcov_frame", "record_nonpositive_sampling_variances"]

_Z975 = float(norm_ppf(0.975))


def standardize(
    prm: Parameter,
    value: float,
    *,
    eta_sd: np.ndarray,
    ov_sd: np.ndarray,
    psi_diag: np.ndarray,
    theta_diag: np.ndarray,
) -> tuple[float, float]:
    """lavaan's std.lv and std.all (``cov.std = TRUE``) of one parameter value of its group.

    ``eta_sd``: model-implied factor SDs; ``ov_sd``: implied SDs of the items (for ordinal
    items those of the latent responses, 1/δ); ``psi_diag``, ``theta_diag``: factor and
    residual variances (covariances are standardized by their square roots). Thresholds and
    intercepts scale as the item; a scaling factor δ has std.all 1 (δ·sd(x*) = 1).
    """
    if prm.matrix == "lambda":
        s = value * eta_sd[prm.col]
        return s, s / ov_sd[prm.row]
    if prm.matrix == "beta":
        s = value * eta_sd[prm.col] / eta_sd[prm.row]
        return s, s
    if prm.matrix == "psi":
        if prm.row == prm.col:
            s = value / eta_sd[prm.row] ** 2
        else:
            rv = np.sqrt(np.abs(psi_diag))
            s = value / (rv[prm.row] * rv[prm.col])
        return s, s
    if prm.matrix == "theta":
        if prm.row == prm.col:
            return value, value / ov_sd[prm.row] ** 2
        rv = np.sqrt(np.abs(theta_diag))
        return value, value / (rv[prm.row] * rv[prm.col])
    if prm.matrix in ("nu", "tau"):
        return value, value / ov_sd[prm.row]
    if prm.matrix == "delta":
        return value, 1.0
    s = value / eta_sd[prm.row]  # alpha
    return s, s


def parameter_table(
    spec: ModelSpec,
    values: np.ndarray,
    V: np.ndarray,
    standardize: Callable[[Parameter, float], tuple[float, float]],
) -> pd.DataFrame:
    """One row per parameter, as lavaan's ``parameterEstimates(fit, standardized = TRUE)``.

    ``values`` holds every parameter (free and fixed) in ``spec.parameters`` order, ``V`` the
    covariance matrix of the free ones (NaN when the information is singular) and
    ``standardize(prm, value)`` gives (std.lv, std.all). Wald z = est / se, two-sided p,
    95 % CI est ± z₀.₉₇₅ · se; fixed parameters get se 0 and their value as both bounds.

    A free parameter whose sampling variance V_ii is not positive gets NaN se, z, p and CI —
    never se 0 and a zero-width interval — as lavaan (``lav_model_vcov_se``) reports NA for a
    negative V_ii; :func:`record_nonpositive_sampling_variances` names it in the diagnostics.
    The estimate itself is always reported as estimated (a negative variance stays negative).
    """
    var_free = np.diag(V) if V.size else np.zeros(0)
    se_free = np.full(var_free.shape, np.nan)
    positive = var_free > 0  # False for NaN (singular information) and for V_ii ≤ 0
    se_free[positive] = np.sqrt(var_free[positive])
    prms = spec.parameters
    if not prms:
        return pd.DataFrame.from_records([])
    est = np.asarray(values, dtype=float)
    free = np.array([prm.free for prm in prms], dtype=bool)
    index = np.array([prm.index for prm in prms], dtype=np.intp)
    # the columns at once (issue 16: the invariance ladder's tables have ≈ 1,800 rows per fit): the same
    # elementwise operations as row by row — se of a fixed row 0, z and p only where se > 0, the interval
    # est ∓ z₀.₉₇₅·se of a free row (NaN with a NaN se), the value itself for a fixed row
    se = np.where(free, se_free[np.where(free, index, 0)] if se_free.size else 0.0, 0.0)
    test = free & (se > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(test, est / np.where(test, se, 1.0), math.nan)
    pval = np.where(test, 2 * norm_sf(np.abs(z)), math.nan)
    std = [standardize(prm, float(v)) for prm, v in zip(prms, est)]
    return pd.DataFrame({
        "lhs": [prm.lhs for prm in prms], "op": [prm.op for prm in prms], "rhs": [prm.rhs for prm in prms],
        "group": [spec.groups[prm.group] for prm in prms], "label": [prm.label for prm in prms],
        "free": free, "est": est, "se": se, "z": z, "pvalue": pval,
        "ci_lower": np.where(free, est - _Z975 * se, est), "ci_upper": np.where(free, est + _Z975 * se, est),
        "std_lv": np.array([float(a) for a, _ in std]), "std_all": np.array([float(b) for _, b in std]),
    })


def record_nonpositive_sampling_variances(
    spec: ModelSpec, V: np.ndarray, diagnostics: list[Diagnostic], *, stacklevel: int = 5
) -> None:
    """Record a diagnostic naming every free parameter whose sampling variance V_ii is ≤ 0.

    :func:`parameter_table` reports NaN standard errors for them. A singular information
    matrix (V all NaN) is reported by the engines themselves and is not repeated here.
    """
    if not V.size:
        return
    d = np.diag(V)
    bad: dict[str, float] = {}
    for prm in spec.parameters:
        if prm.free and np.isfinite(d[prm.index]) and d[prm.index] <= 0:
            where = f" (group {quote(spec.groups[prm.group])})" if spec.ngroups > 1 else ""
            bad.setdefault(f"'{prm.lhs} {prm.op} {prm.rhs}'{where}", float(d[prm.index]))
    if bad:
        shown = ", ".join(f"{name}: {v:.3g}" for name, v in bad.items())
        record(diagnostics, NotPositiveDefiniteWarning,
               f"the sampling variance of {len(bad)} free parameter(s) is not positive ({shown}): their "
               "standard errors, z, p-values and confidence intervals are reported as NaN (lavaan: NA). The "
               "covariance matrix of the estimates is not positive definite; the model may be empirically "
               "under-identified near these parameters.", stacklevel=stacklevel)


def vcov_frame(spec: ModelSpec, V: np.ndarray, group: str | None = None) -> pd.DataFrame:
    """``V`` labelled as lavaan's ``vcov``: user labels, else ``lhs op rhs`` with ``.g2``, ``.g3``
    ... for later groups; with ``group``, that group's block labelled without the suffix."""
    if group is None:
        names = []
        for prm in spec.free_parameters():
            if prm.label and not prm.label.startswith("."):
                names.append(prm.label)
            else:
                suffix = f".g{prm.group + 1}" if prm.group > 0 else ""
                names.append(f"{prm.lhs}{prm.op}{prm.rhs}{suffix}")
        return pd.DataFrame(V, index=names, columns=names)
    if group not in spec.groups:
        raise DataError(f"unknown group {quote(group)}; the groups are {', '.join(map(repr, spec.groups))}")
    g = spec.groups.index(group)
    rows = [p for p in spec.parameters if p.free and p.group == g]
    idx = np.array([p.index for p in rows], dtype=int)
    names = [f"{p.lhs}{p.op}{p.rhs}" for p in rows]
    return pd.DataFrame(V[np.ix_(idx, idx)], index=names, columns=names)
