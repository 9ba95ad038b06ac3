r"""Per-condition summaries of the replication table, with Monte Carlo standard errors.

For a rate :math:`\hat p` over *R* valid replications the Monte Carlo SE is
:math:`\sqrt{\hat p(1-\hat p)/R}`; for a mean (bias) it is :math:`s/\sqrt R`; for an
RMSE it is the delta-method :math:`\operatorname{SE}(\widehat{MSE})/(2\,\widehat{RMSE})`
(Morris, White & Crowther, 2019, Table 6). Replications that failed or did not converge
are excluded from every criterion and counted (``share converged``).

The recommended n for a power criterion is the smallest n of the grid whose estimated
rate reaches the target; its interval runs from the smallest n whose 95 % Monte Carlo
upper bound reaches the target to the smallest n whose lower bound does (``None``: not
reached within the grid).

Reference: Morris, T. P., White, I. R., & Crowther, M. J. (2019). Using simulation
studies to evaluate statistical methods. *Statistics in Medicine, 38*, 2074–2102.
"""

from __future__ import annotations

import math


import numpy as np
import pandas as pd

from psychometrics.plan.population import Population

__all__ = ["summarise", "recommend"]

Z975 = 1.959963984540054

#: criterion name -> (kind, description); kind "power" rates enter the recommendation
DESCRIPTIONS = {
    "cfa.converged": ("share", "share of replications whose CFA converged"),
    "cfa.reject": ("power", "χ² test of the CFA model rejects at α (power, or Type I error when the model is true)"),
    "cfa.loading_bias": ("bias", "mean bias of the standardized loadings"),
    "cfa.loading_rmse": ("rmse", "RMSE of the standardized loadings (mean over items)"),
    "reliability.omega_bias": ("bias", "bias of ω (mean over factors)"),
    "reliability.omega_rmse": ("rmse", "RMSE of ω (mean over factors)"),
    "reliability.coverage": ("share", "95 % CI of ω covers the population ω (mean over factors)"),
    "reliability.precision": ("power", "95 % CI of ω within ±.05 (all factors)"),
    "invariance.converged": ("share", "share of replications whose invariance models all converged"),
    "invariance.reject_metric": ("power", "decision rule rejects metric invariance"),
    "invariance.reject_scalar": ("power", "decision rule rejects scalar invariance"),
    "invariance.reject_strict": ("power", "decision rule rejects strict invariance"),
    "invariance.detect_dif": ("power", "share of planted non-invariant items flagged (sensitivity)"),
    "invariance.false_positive": ("share", "share of invariant items flagged (false-positive rate)"),
    "irt.converged": ("share", "share of replications whose GRM calibrations and DIF regressions all converged"),
    "irt.detect_dif": ("power", "IRT DIF (ordinal logistic regression on purified GRM θ, χ² p < .01): share of "
                                "planted DIF items flagged (sensitivity)"),
    "irt.false_positive": ("share", "IRT DIF: share of DIF-free items flagged (false-positive rate)"),
}


def _rate(x: np.ndarray) -> tuple[float, float, int]:
    x = x[np.isfinite(x)]
    r = x.size
    if not r:
        return math.nan, math.nan, 0
    p = float(x.mean())
    return p, math.sqrt(p * (1 - p) / r), r


def _mean(x: np.ndarray) -> tuple[float, float, int]:
    x = x[np.isfinite(x)]
    r = x.size
    if not r:
        return math.nan, math.nan, 0
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(r)) if r > 1 else math.nan, r


def _rmse(sq: np.ndarray) -> tuple[float, float, int]:
    """RMSE from per-replication squared errors, with the delta-method MC SE."""
    sq = sq[np.isfinite(sq)]
    r = sq.size
    if not r:
        return math.nan, math.nan, 0
    mse = float(sq.mean())
    se_mse = float(sq.std(ddof=1) / math.sqrt(r)) if r > 1 else math.nan
    rmse = math.sqrt(mse)
    return rmse, se_mse / (2 * rmse) if rmse > 0 else math.nan, r


def _col(t: pd.DataFrame, name: str) -> np.ndarray:
    return t[name].to_numpy(dtype=float) if name in t.columns else np.full(len(t), np.nan)


def _detection(t: pd.DataFrame, c: pd.DataFrame, pop: Population, name: str) -> dict[str, tuple]:
    """Sensitivity on the planted DIF items and false-positive rate on the others (mean over items per
    replication, then over the converged replications ``c``); with effect 0 every item is DIF-free."""
    out: dict[str, tuple] = {}
    planted = list(pop.dif_items)
    clean = [i for i in pop.items if i not in planted]
    effect = float(t["effect"].iloc[0]) if len(t) else 0.0

    def share(items: list[str]) -> np.ndarray:
        flags = np.column_stack([_col(c, f"{name}.flag.{i}") for i in items])
        tested = np.isfinite(flags).sum(axis=1)  # items not tested (NaN) are left out
        hits = np.where(np.isfinite(flags), flags, 0.0).sum(axis=1)
        return np.divide(hits, tested, out=np.full(len(hits), np.nan), where=tested > 0)

    if planted and effect != 0 and len(c):
        out[f"{name}.detect_dif"] = _mean(share(planted))
    flagged_clean = clean if effect != 0 else list(pop.items)
    if flagged_clean and len(c):
        out[f"{name}.false_positive"] = _mean(share(flagged_clean))
    return out


def _condition_criteria(t: pd.DataFrame, pop: Population, analyses: tuple[str, ...]) -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    if "cfa" in analyses:
        conv = _col(t, "cfa.converged")
        out["cfa.converged"] = _rate(conv)
        ok = conv == 1
        c = t[ok]
        out["cfa.reject"] = _rate(_col(c, "cfa.reject"))
        truth = pop.std_loadings()
        est = np.column_stack([_col(c, f"cfa.lambda.{i}") for i in pop.items]) if len(c) else np.empty((0, 1))
        lam = np.array([truth[i] for i in pop.items])
        if len(c):
            err = est - lam
            out["cfa.loading_bias"] = _mean(err.mean(axis=1))
            out["cfa.loading_rmse"] = _rmse((err ** 2).mean(axis=1))
    if "reliability" in analyses:
        conv = _col(t, "reliability.converged")
        c = t[conv == 1]
        om = pop.omega()
        if len(c) and om:
            fs = list(om)
            est = np.column_stack([_col(c, f"reliability.omega.{f}") for f in fs])
            lo = np.column_stack([_col(c, f"reliability.omega_lo.{f}") for f in fs])
            hi = np.column_stack([_col(c, f"reliability.omega_hi.{f}") for f in fs])
            true = np.array([om[f] for f in fs])
            err = est - true
            out["reliability.omega_bias"] = _mean(err.mean(axis=1))
            out["reliability.omega_rmse"] = _rmse((err ** 2).mean(axis=1))
            cov = ((lo <= true) & (true <= hi)).astype(float)
            cov[~np.isfinite(lo) | ~np.isfinite(hi)] = np.nan
            out["reliability.coverage"] = _mean(np.nanmean(cov, axis=1))
            prec = np.all((hi - lo) / 2 <= 0.05, axis=1).astype(float)
            prec[~np.all(np.isfinite(hi - lo), axis=1)] = np.nan
            out["reliability.precision"] = _rate(prec)
    if "invariance" in analyses:
        conv = _col(t, "invariance.converged")
        out["invariance.converged"] = _rate(conv)
        c = t[conv == 1]
        for lv in ("metric", "scalar", "strict"):
            if f"invariance.reject_{lv}" in c.columns:
                out[f"invariance.reject_{lv}"] = _rate(_col(c, f"invariance.reject_{lv}"))
        out.update(_detection(t, c, pop, "invariance"))
    if "irt" in analyses:
        conv = _col(t, "irt.converged")
        out["irt.converged"] = _rate(conv)
        out.update(_detection(t, t[conv == 1], pop, "irt"))
    return out


def summarise(table: pd.DataFrame, pop: Population, analyses: tuple[str, ...],
              conditions: tuple[tuple[int, float, tuple[float, ...]], ...]) -> pd.DataFrame:
    """One row per condition × criterion: estimate, Monte Carlo SE, valid replications.

    ``groups`` labels the group allocation by its sizes (``"540/360/300"``; ``""`` with one group).
    """
    rows = []
    for c, (n, effect, shares) in enumerate(conditions):
        t = table[table["condition"] == c]
        failed = int((t["error"].astype(str) != "").sum())
        alloc = "/".join(str(int(k)) for k in pop.group_counts(n, shares)) if len(pop.groups) > 1 else ""
        base = {"condition": c, "n": n, "effect": effect, "allocation": allocation_label(shares, pop)}
        rows.append({**base, "groups": alloc, "criterion": "failed",
                     "estimate": failed / max(len(t), 1), "mcse": math.nan, "valid": len(t)})
        for name, (est, se, r) in _condition_criteria(t, pop, analyses).items():
            rows.append({**base, "groups": alloc, "criterion": name, "estimate": est, "mcse": se, "valid": r})
    return pd.DataFrame.from_records(rows)


def recommend(summary: pd.DataFrame, target: float = 0.80) -> pd.DataFrame:
    """Smallest n reaching ``target`` per power criterion and effect, with its MC interval."""
    rows = []
    power = [k for k, (kind, _d) in DESCRIPTIONS.items() if kind == "power"]
    for (crit, effect, alloc), g in summary[summary["criterion"].isin(power)].groupby(
            ["criterion", "effect", "allocation"], sort=True):
        g = g.sort_values("n")
        n, est, se = g["n"].to_numpy(), g["estimate"].to_numpy(), g["mcse"].to_numpy()
        se = np.nan_to_num(se)

        def first(mask: np.ndarray) -> int | None:
            idx = np.flatnonzero(mask)
            return int(n[idx[0]]) if idx.size else None

        rows.append({"criterion": crit, "effect": float(effect), "allocation": alloc, "target": target,
                     "n": first(est >= target), "n_low": first(est + Z975 * se >= target),
                     "n_high": first(est - Z975 * se >= target)})
    # object columns keep n an int and "not reached" None (not NaN)
    return pd.DataFrame(rows, columns=["criterion", "effect", "allocation", "target", "n", "n_low", "n_high"],
                        dtype=object)


def allocation_label(shares: tuple[float, ...], pop: Population) -> str:
    """Group shares as percentages, ``"45:30:25"`` (``""`` with one group)."""
    if len(pop.groups) < 2:
        return ""
    return ":".join(f"{100 * q:g}" for q in shares)


def describe(name: str) -> str:
    return DESCRIPTIONS.get(name, ("", "replications that failed with an error" if name == "failed" else name))[1]


