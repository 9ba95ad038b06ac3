r"""Size of group differences under (partial) invariance: dMACS of non-invariant items
(Nye & Drasgow, 2011) and the latent mean and variance differences of the factors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from psychometrics.exceptions import DataError
from psychometrics.invariance.partial import item_of
from psychometrics.invariance.results import FittedLevel

__all__ = ["dmacs", "item_table", "latent_table"]


def dmacs(
    loading_ref: np.ndarray | float,
    intercept_ref: float,
    loading_focal: np.ndarray | float,
    intercept_focal: float,
    latent_mean_focal: np.ndarray | float,
    latent_cov_focal: np.ndarray | float,
    pooled_sd: float,
) -> float:
    r"""dMACS effect size of one item's non-invariance (Nye & Drasgow, 2011).

    .. math::

        d_{MACS} = \frac{1}{SD_p}\sqrt{\int \big(\hat y_R(\eta) - \hat y_F(\eta)\big)^2 f_F(\eta)\,d\eta},
        \qquad \hat y_g(\eta) = \nu_g + \lambda_g^\top\eta,

    with :math:`f_F` the normal density of the focal group's factors (mean κ_F,
    covariance Φ_F). For the linear model the integral is closed-form:
    :math:`(\Delta\nu + \Delta\lambda^\top\kappa_F)^2 + \Delta\lambda^\top\Phi_F\Delta\lambda`.
    :math:`SD_p = \sqrt{((n_R-1)s_R^2 + (n_F-1)s_F^2)/(n_R+n_F-2)}` is the pooled
    within-group SD of the item.

    Nye, C. D., & Drasgow, F. (2011). Effect size indices for analyses of
    measurement equivalence. Journal of Applied Psychology, 96(5), 966–980.

    Validated against a numerical integration in ``tests/test_invariance.py``.
    """
    args = {"loading_ref": loading_ref, "intercept_ref": intercept_ref, "loading_focal": loading_focal,
            "intercept_focal": intercept_focal, "latent_mean_focal": latent_mean_focal,
            "latent_cov_focal": latent_cov_focal, "pooled_sd": pooled_sd}
    bad = [k for k, v in args.items() if not np.all(np.isfinite(np.asarray(v, dtype=float)))]
    if bad:
        raise DataError(f"dmacs: {', '.join(bad)} must be finite numbers (got missing or infinite values)")
    if not float(pooled_sd) > 0:
        raise DataError(f"dmacs: the pooled SD of the item is {float(pooled_sd):g}; dMACS is undefined for an "
                        "item without variance")
    dl = np.atleast_1d(np.asarray(loading_ref, float) - np.asarray(loading_focal, float))
    kappa = np.atleast_1d(np.asarray(latent_mean_focal, float))
    phi = np.atleast_2d(np.asarray(latent_cov_focal, float))
    dn = float(intercept_ref) - float(intercept_focal)
    msq = (dn + float(dl @ kappa)) ** 2 + float(dl @ phi @ dl)
    return math.sqrt(max(msq, 0.0)) / float(pooled_sd)


def _pooled_item_sd(stats: Any, g0: int, g: int) -> np.ndarray:
    n0, n1 = stats.nobs[g0], stats.nobs[g]
    # sample covariances are ML (divisor n); convert to n − 1 before pooling
    v0 = np.diag(stats.cov[g0]) * n0 / (n0 - 1)
    v1 = np.diag(stats.cov[g]) * n1 / (n1 - 1)
    return np.sqrt(((n0 - 1) * v0 + (n1 - 1) * v1) / (n0 + n1 - 2))


def item_table(f: FittedLevel, released: Sequence[str]) -> pd.DataFrame:
    e = f.engine
    spec, mats, stats = e.spec, e.mats, e.stats
    items, factors = list(spec.observed), list(spec.latent)
    rel_by_item: dict[str, list[str]] = {}
    for r in released:
        rel_by_item.setdefault(item_of(r), []).append(r)
    rows, index = [], []
    for g in range(1, spec.ngroups):
        sdp = _pooled_item_sd(stats, 0, g)
        # the focal group's model-implied factor means and covariances (alpha and psi without
        # structural paths among the factors)
        mean_eta, phi = e.imp[g]["eta_mean"], e.imp[g]["M"]
        for i, item in enumerate(items):
            l0, l1 = mats[0]["lambda"][i], mats[g]["lambda"][i]
            n0, n1 = float(mats[0]["nu"].ravel()[i]), float(mats[g]["nu"].ravel()[i])
            d = dmacs(l0, n0, l1, n1, mean_eta, phi, sdp[i])
            on = [k for k in range(len(factors)) if l0[k] != 0 or l1[k] != 0]
            rows.append({
                "released": ", ".join(rel_by_item.get(item, [])),
                "loading_ref": float(l0[on[0]]) if len(on) == 1 else math.nan,
                "loading_focal": float(l1[on[0]]) if len(on) == 1 else math.nan,
                "intercept_ref": n0, "intercept_focal": n1,
                "expected_diff": float((n1 - n0) + (l1 - l0) @ mean_eta),
                "pooled_sd": float(sdp[i]), "dmacs": d,
            })
            index.append((spec.groups[g], item))
    return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["group", "item"]))


def latent_table(f: FittedLevel) -> pd.DataFrame:
    e = f.engine
    spec = e.spec
    V = e.vcov()
    vals = e.model.values(e.x)
    by_key = {(p.lhs, p.op, p.rhs, p.group): (p, v) for p, v in zip(spec.parameters, vals)}
    rows, index = [], []
    n = [int(k) for k in e.stats.nobs]
    for g in range(1, spec.ngroups):
        for fct in spec.latent:
            pm, mean = by_key.get((fct, "~1", "", g), (None, 0.0))
            pv0, var0 = by_key[(fct, "~~", fct, 0)]
            pv1, var1 = by_key[(fct, "~~", fct, g)]
            se = math.sqrt(V[pm.index, pm.index]) if pm is not None and pm.free else math.nan
            z = mean / se if se and se > 0 else math.nan
            pooled = math.sqrt(((n[0] - 1) * var0 + (n[g] - 1) * var1) / (n[0] + n[g] - 2)) if var0 > 0 and var1 > 0 else math.nan
            vd = var1 - var0
            if pv0.free and pv1.free:
                i0, i1 = pv0.index, pv1.index
                vd_se = math.sqrt(max(V[i0, i0] + V[i1, i1] - 2 * V[i0, i1], 0.0)) if i0 != i1 else 0.0
            else:
                vd_se = math.nan
            vz = vd / vd_se if vd_se and vd_se > 0 else math.nan
            rows.append({
                "mean_diff": float(mean), "se": se, "z": z,
                "pvalue": float(2 * special.ndtr(-abs(z))) if np.isfinite(z) else math.nan,
                "std_mean_diff": float(mean) / pooled if pooled == pooled else math.nan,
                "var_ref": float(var0), "var_focal": float(var1),
                "var_ratio": float(var1 / var0) if var0 else math.nan, "var_diff": float(vd),
                "var_diff_se": vd_se, "var_diff_z": vz,
                "var_diff_pvalue": float(2 * special.ndtr(-abs(vz))) if np.isfinite(vz) else math.nan,
            })
            index.append((spec.groups[g], fct))
    return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["group", "factor"]))
