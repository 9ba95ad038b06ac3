"""Result tables shared by the ML (:mod:`~psychometrics.cfa.fit`) and the WLSMV
(:mod:`~psychometrics.cfa.categorical`) engines (private).

Both engines hand these functions their parameter values, the covariance matrix of the free
parameters and their own standardization, so that lavaan's ``parameterEstimates`` layout and
``vcov`` labels are written once.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import special
from scipy import stats as sps

from psychometrics.cfa.specification import ModelSpec, Parameter
from psychometrics.exceptions import DataError

__all__ = ["parameter_table", "vcov_frame"]

_Z975 = float(sps.norm.ppf(0.975))


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
    """
    se_free = np.sqrt(np.clip(np.diag(V), 0, None)) if V.size else np.zeros(0)
    if V.size:
        se_free[np.isnan(np.diag(V))] = np.nan
    rec = []
    for prm, v in zip(spec.parameters, values):
        se = float(se_free[prm.index]) if prm.free else 0.0
        if prm.free and se > 0:
            z = v / se
            pval = 2 * float(special.ndtr(-abs(z)))
        else:
            z = pval = math.nan
        std_lv, std_all = standardize(prm, float(v))
        rec.append({
            "lhs": prm.lhs, "op": prm.op, "rhs": prm.rhs, "group": spec.groups[prm.group],
            "label": prm.label, "free": prm.free, "est": float(v), "se": se, "z": z, "pvalue": pval,
            "ci_lower": v - _Z975 * se if prm.free else float(v),
            "ci_upper": v + _Z975 * se if prm.free else float(v),
            "std_lv": float(std_lv), "std_all": float(std_all),
        })
    return pd.DataFrame.from_records(rec)


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
        raise DataError(f"unknown group {group!r}; the groups are {', '.join(map(repr, spec.groups))}")
    g = spec.groups.index(group)
    rows = [p for p in spec.parameters if p.free and p.group == g]
    idx = np.array([p.index for p in rows], dtype=int)
    names = [f"{p.lhs}{p.op}{p.rhs}" for p in rows]
    return pd.DataFrame(V[np.ix_(idx, idx)], index=names, columns=names)
