"""Starting values of the ML and the categorical (DWLS) CFA engines.

Close enough to the optimum that the iterations are few; the optimum itself does not
depend on them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from psychometrics._linalg import smc
from psychometrics.cfa.estimation import CompiledModel, SampleStats
from psychometrics.cfa.specification import ModelSpec
from psychometrics.ordinal.sample_stats import OrdinalSampleStats

__all__ = ["start_values", "categorical_start_values"]


def start_values(model: CompiledModel, stats: SampleStats) -> np.ndarray:
    """Starting values: item means/half variances, one-factor principal-axis loadings per factor.

    Close enough to the optimum that Fisher scoring needs few iterations; the
    optimum itself does not depend on them.
    """
    spec = model.spec
    x = np.full(model.n_free, np.nan)
    ov = {v: i for i, v in enumerate(spec.observed)}
    for g in range(model.G):
        S, mean = stats.cov[g], stats.mean[g]
        rows = model.rows_by_group[g]
        vals: dict[tuple[str, str, str], float] = {}
        lv_var: dict[str, float] = {}
        for f in spec.latent:
            loads = [r for r in rows if r.op == "=~" and r.lhs == f and r.rhs in ov]
            if not loads:
                continue
            idx = [ov[r.rhs] for r in loads]
            Sf = S[np.ix_(idx, idx)]
            if len(idx) >= 2:
                # principal axis with squared multiple correlations as communalities
                communality = smc(Sf, singular=0.5)
                R = Sf.copy()
                np.fill_diagonal(R, np.diag(Sf) * np.clip(communality, 0.05, 0.95))
                w, v = np.linalg.eigh(R)
                l = v[:, -1] * math.sqrt(max(w[-1], 1e-6))
            else:
                l = np.array([math.sqrt(0.5 * Sf[0, 0])])
            fixed = [k for k, r in enumerate(loads) if not r.free and r.value != 0]
            if fixed:
                k = fixed[0]
                if abs(l[k]) < 1e-8:
                    l = np.sign(l + 1e-12) * np.sqrt(np.abs(np.diag(Sf)) * 0.5)
                scale = loads[k].value / l[k]
                lam = l * scale
                psi = 1.0 / scale ** 2
            else:
                if np.sum(l) < 0:
                    l = -l
                fixed_var = [r for r in rows if r.op == "~~" and r.lhs == f and r.rhs == f and not r.free]
                psi = fixed_var[0].value if fixed_var and fixed_var[0].value > 0 else 1.0
                lam = l / math.sqrt(psi)
            for r, value in zip(loads, lam):
                vals[r.key] = float(value)
            lv_var[f] = float(psi)
        for r in rows:
            if not r.free or x[r.index] == x[r.index]:  # fixed, or shared and already set
                continue
            if r.start is not None:
                value = r.start
            elif r.key in vals:
                value = vals[r.key]
            elif r.matrix == "beta":
                value = 1.0
            elif r.matrix == "theta":
                value = 0.5 * S[r.row, r.row] if r.row == r.col else 0.0
            elif r.matrix == "psi":
                if r.row == r.col:
                    value = lv_var.get(r.lhs, 0.05)
                    if r.lhs not in lv_var:  # higher-order factor: half its indicators' variance
                        inds = [q.rhs for q in rows if q.op == "=~" and q.lhs == r.lhs]
                        value = 0.5 * float(np.mean([lv_var.get(i, 0.1) for i in inds])) if inds else 0.05
                    elif any(q.op == "=~" and q.rhs == r.lhs for q in rows):
                        value = 0.5 * value  # residual variance of a first-order factor
                else:
                    value = 0.0
            elif r.matrix == "nu":
                value = float(mean[r.row])
            else:  # alpha
                value = 0.0
            x[r.index] = value
    x[np.isnan(x)] = 0.0
    return x



class _StartShim:
    """What :func:`start_values` reads from a compiled model."""

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.n_free = spec.n_free
        self.G = spec.ngroups
        self.rows_by_group = [[p for p in spec.parameters if p.group == g] for g in range(self.G)]


def categorical_start_values(spec: ModelSpec, stats: Sequence[OrdinalSampleStats]) -> np.ndarray:
    """Starting values of a categorical model: :func:`start_values` on the polychoric matrices,
    first loadings positive, thresholds at their sample values, δ = 1, ν = α = 0."""
    p = len(spec.observed)
    shim = _StartShim(spec)
    ss = SampleStats(tuple(s.cor for s in stats), tuple(np.zeros(p) for _ in stats), tuple(s.nobs for s in stats))
    x = start_values(shim, ss)
    # sign convention (lavaan's): the first indicator of every factor loads positively
    flipped: set[int] = set()
    for g in range(spec.ngroups):
        for f in spec.latent:
            loads = [r for r in spec.parameters if r.group == g and r.matrix == "lambda" and r.lhs == f]
            if loads and loads[0].free and x[loads[0].index] < 0:
                for r in loads:
                    if r.free and r.index not in flipped:
                        x[r.index] = -x[r.index]
                        flipped.add(r.index)
    seen: set[int] = set()
    for prm in spec.parameters:
        if not prm.free or prm.index in seen:
            continue
        seen.add(prm.index)
        if prm.matrix == "tau":
            x[prm.index] = stats[prm.group].thresholds[prm.row][prm.col]
        elif prm.matrix == "delta":
            x[prm.index] = 1.0
        elif prm.matrix in ("nu", "alpha"):
            x[prm.index] = 0.0
    return x
