r"""Categorical (ordinal) CFA: DWLS estimates with thresholds, WLSMV inference (lavaan's ``estimator = "WLSMV"``).

Model (lavaan's *delta* parameterization, its default for WLSMV). Each ordinal item
:math:`x_i` with categories :math:`1..C_i` is a cut of a continuous latent response
:math:`x_i^*`: :math:`x_i = c \iff \tau_{i,c-1} < x_i^* \le \tau_{i,c}`. Per group,

.. math::

    \Sigma^* = \Lambda(I-B)^{-1}\Psi(I-B)^{-\top}\Lambda^\top + \Theta,\qquad
    \mu^* = \nu + \Lambda(I-B)^{-1}\alpha,

and the scaling factors :math:`\Delta = \operatorname{diag}(\delta)` standardize the
latent responses: :math:`\operatorname{diag}(\Sigma^*) = 1/\delta^2`, so the residual
variances are not free parameters but :math:`\theta_{ii} = 1/\delta_i^2 - (\Lambda M\Lambda^\top)_{ii}`.
The model-implied statistics are the standardized thresholds
:math:`\delta_i(\tau_{ik}-\mu^*_i)` and the polychoric correlations
:math:`\delta_i\delta_j\Sigma^*_{ij}` (i > j). In one group (and in the configural
model) :math:`\delta = 1`, :math:`\nu = 0`, :math:`\alpha = 0`.

Estimation minimises the DWLS discrepancy of these statistics with the diagonal
weights 1/diag Γ (:mod:`psychometrics.cfa.wls`) by Gauss–Newton with an analytic
Jacobian; standard errors are robust (sandwich); the test statistic is lavaan's
mean-and-variance adjusted ``scaled.shifted``.

Multi-group constraints (``group_equal``) follow Wu & Estabrook (2016) as
``semTools::measEq.syntax(ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016",
parameterization = "delta")``: in groups 2..G,

* ``"thresholds"`` equal → intercepts ν and scaling factors δ free;
* ``"loadings"`` equal → factor variances free;
* ``"intercepts"`` equal → intercepts fixed to 0 in every group, factor means free.

References: Muthén, du Toit & Spisic (1997); Asparouhov & Muthén (2010), *Simple
second order chi-square correction*; Wu & Estabrook (2016), *Psychometrika* 81,
1014–1045; Savalei (2021), *Educ. Psychol. Meas.* 81, 817–846 (robust RMSEA/CFI).

Validated against lavaan 0.6-14 ``cfa(..., ordered = ..., estimator = "WLSMV")`` and
semTools 0.5 ``measEq.syntax`` (fixtures ``tests/reference/wlsmv/``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from psychometrics._linalg import single_thread_blas
from psychometrics.cfa import wls
from psychometrics.cfa._tables import parameter_table, standardize, vcov_frame
from psychometrics.cfa.estimation import CompiledModel, implied, jacobian
from psychometrics.cfa.results import CFAResult
from psychometrics.cfa.specification import ModelSpec, Parameter, build_spec
from psychometrics.exceptions import (
    ConvergenceWarning,
    DataError,
    Diagnostic,
    EstimationError,
    HeywoodCaseWarning,
    IdentificationError,
    IdentificationWarning,
    ModelSyntaxError,
    record,
)

__all__ = [
    "OrdinalSampleStats", "CATEGORICAL_GROUP_EQUAL", "build_categorical_spec", "fit_categorical",
]

CATEGORICAL_GROUP_EQUAL = ("thresholds", "loadings", "intercepts")
_CONT = ("lambda", "beta", "psi", "theta", "nu", "alpha")


# ---------------------------------------------------------------- sample statistics
@dataclass(frozen=True)
class OrdinalSampleStats:
    """Sample statistics of ordinal items in one group — what WLSMV estimation needs.

    Attributes
    ----------
    items : tuple of str
        Item names, in the order of ``cor`` (and of the thresholds).
    thresholds : tuple of ndarray
        Per item, its C−1 increasing thresholds (normal quantiles of the cumulative
        proportions).
    cor : ndarray (p, p)
        Polychoric correlation matrix.
    acov : ndarray (k, k)
        Asymptotic covariance matrix Γ of √n(s − σ) for the statistics vector
        s = (thresholds item by item, then the correlations below the diagonal column
        by column): lavaan's ``NACOV`` / ``lavInspect(fit, "gamma")``.
    nobs : int
        Number of observations (complete cases).
    weights : ndarray (k,), optional
        Diagonal DWLS weights; default 1/diag(acov) (lavaan's ``WLS.VD``).
    """

    items: tuple[str, ...]
    thresholds: tuple[np.ndarray, ...]
    cor: np.ndarray
    acov: np.ndarray
    nobs: int
    weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        p = len(self.items)
        cor = np.asarray(self.cor, dtype=float)
        if cor.shape != (p, p):
            raise DataError(f"cor must be {p}×{p} (one row per item), got shape {cor.shape}")
        th = tuple(np.asarray(t, dtype=float).ravel() for t in self.thresholds)
        if len(th) != p:
            raise DataError(f"thresholds: {len(th)} entries for {p} items")
        for v, t in zip(self.items, th):
            if t.size < 1 or np.any(np.diff(t) <= 0) or not np.all(np.isfinite(t)):
                raise DataError(f"thresholds of item {v!r} must be finite and strictly increasing, got {t}")
        k = sum(t.size for t in th) + p * (p - 1) // 2
        acov = np.asarray(self.acov, dtype=float)
        if acov.shape != (k, k):
            raise DataError(f"acov must be {k}×{k} (thresholds, then correlations below the diagonal), got {acov.shape}")
        w = 1.0 / np.diag(acov) if self.weights is None else np.asarray(self.weights, dtype=float).ravel()
        if w.shape != (k,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise DataError("the DWLS weights (1/diag(acov)) must be finite and positive")
        object.__setattr__(self, "cor", cor)
        object.__setattr__(self, "thresholds", th)
        object.__setattr__(self, "acov", acov)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "items", tuple(self.items))
        object.__setattr__(self, "nobs", int(self.nobs))

    @property
    def n_thresholds(self) -> tuple[int, ...]:
        return tuple(t.size for t in self.thresholds)

    def vector(self) -> np.ndarray:
        """s: thresholds item by item, then the correlations below the diagonal, column by column."""
        ri, ci = wls._pairs(len(self.items))
        return np.concatenate([np.concatenate(self.thresholds), self.cor[ri, ci]])

    def subset(self, items: Sequence[str]) -> OrdinalSampleStats:
        """The statistics of ``items`` (in that order): the matching rows/columns of cor and acov."""
        pos = {v: i for i, v in enumerate(self.items)}
        missing = [v for v in items if v not in pos]
        if missing:
            raise DataError(f"item(s) {', '.join(map(repr, missing))} are not in the ordinal sample statistics "
                            f"(items: {', '.join(self.items)})")
        idx = [pos[v] for v in items]
        if idx == list(range(len(self.items))):
            return self
        starts = np.concatenate([[0], np.cumsum(self.n_thresholds)])
        th_rows = [np.arange(starts[i], starts[i + 1]) for i in idx]
        T = int(starts[-1])
        p_all = len(self.items)
        ri, ci = wls._pairs(p_all)
        pair_pos = {(int(a), int(b)): T + k for k, (a, b) in enumerate(zip(ri, ci))}
        sub_ri, sub_ci = wls._pairs(len(idx))
        cor_rows = [pair_pos[(max(idx[a], idx[b]), min(idx[a], idx[b]))] for a, b in zip(sub_ri, sub_ci)]
        rows = np.concatenate(th_rows + [np.array(cor_rows, dtype=int)])
        return OrdinalSampleStats(
            tuple(items), tuple(self.thresholds[i] for i in idx), self.cor[np.ix_(idx, idx)],
            self.acov[np.ix_(rows, rows)], self.nobs, self.weights[rows],
        )


# ---------------------------------------------------------------- parameter table
def build_categorical_spec(
    model: str,
    n_thresholds: Mapping[str, int],
    *,
    groups: tuple[str, ...] = ("all",),
    std_lv: bool = False,
    orthogonal: bool = False,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
) -> ModelSpec:
    """Parameter table of a categorical CFA (delta parameterization), as lavaan builds it.

    Rows of :func:`~psychometrics.cfa.specification.build_spec` plus thresholds
    (``op = "|"``, ``rhs = "t1", "t2", …``, matrix ``"tau"``) and scaling factors
    (``op = "~*~"``, matrix ``"delta"``); residual variances of the items are fixed
    rows (their value is derived, 1/δ² − (ΛMΛ')_ii); intercepts and factor means are
    fixed to 0 except as the Wu & Estabrook (2016) rules free them (module docstring).

    ``group_partial`` releases single constraints (``"x1|t2"``, ``"f=~x2"``, ``"x3~1"``);
    as ``semTools::measEq.syntax(group.partial = ...)``, an item's scaling factor and
    intercept in groups 2..G then depend on how many of its thresholds stay equal
    (n_eq) and whether its intercept is constrained: δ free iff n_eq ≥ 2 or (n_eq = 1
    and intercept equal); ν free iff n_eq ≥ 1 and the intercept is not constrained.
    """
    group_equal = tuple(group_equal)
    bad = [g for g in group_equal if g not in CATEGORICAL_GROUP_EQUAL]
    if bad:
        raise ModelSyntaxError(
            f"group_equal {', '.join(map(repr, bad))} is not supported with ordinal items; use any of "
            f"{', '.join(CATEGORICAL_GROUP_EQUAL)} (Wu & Estabrook, 2016)"
        )
    G = len(groups)
    if group_equal and G < 2:
        raise ModelSyntaxError("group_equal needs a grouping variable with at least two groups (group=...)")
    if group_equal and not std_lv:
        raise ModelSyntaxError(
            "categorical invariance models are identified as Wu & Estabrook (2016) with std_lv=True "
            "(semTools ID.fac = 'std.lv'); pass std_lv=True"
        )
    base = build_spec(model, groups=groups, std_lv=std_lv, meanstructure=True, orthogonal=orthogonal)
    observed = list(base.observed)
    released: set[tuple[str, str, str]] = set()
    for entry in group_partial:
        text = str(entry).replace(" ", "")
        if "|" in text:
            item, thr = text.split("|", 1)
            ok = item in n_thresholds and thr.startswith("t") and thr[1:].isdigit() and \
                1 <= int(thr[1:]) <= n_thresholds[item]
            key = (item, "|", thr)
        elif "=~" in text:
            f, item = text.split("=~", 1)
            ok = f in base.latent and item in observed
            key = (f, "=~", item)
        elif text.endswith("~1"):
            item = text[:-2]
            ok = item in observed
            key = (item, "~1", "")
        else:
            ok = False
        if not ok or not group_equal:
            raise ModelSyntaxError(
                f"group_partial entry {entry!r} is not a constrained parameter of the model; with ordinal items "
                "write a threshold 'x1|t2', a loading 'f=~x2' or an intercept 'x3~1' (and give group_equal)"
            )
        released.add(key)
    eq = set(group_equal)

    def n_equal(item: str) -> int:
        if "thresholds" not in eq:
            return 0
        return sum((item, "|", f"t{k + 1}") not in released for k in range(n_thresholds[item]))

    def intercept_equal(item: str) -> bool:
        return "intercepts" in eq and (item, "~1", "") not in released

    def delta_free(item: str) -> bool:
        n = n_equal(item)
        return "thresholds" in eq and (n >= 2 or (n == 1 and intercept_equal(item)))

    def nu_free(item: str) -> bool:
        return "thresholds" in eq and n_equal(item) >= 1 and not intercept_equal(item)
    missing = [v for v in observed if v not in n_thresholds]
    if missing:
        raise DataError(f"no thresholds for item(s) {', '.join(map(repr, missing))}")
    for v in observed:
        if group_equal and ("thresholds" in group_equal) and n_thresholds[v] < 2:
            raise DataError(
                f"item {v!r} is binary: Wu & Estabrook's identification of threshold invariance for binary "
                "items is not implemented; model it with at least three categories or without group_equal"
            )
    ov_idx = {v: i for i, v in enumerate(observed)}
    rows: list[Parameter] = []
    for p in base.parameters:
        g = p.group
        if p.matrix == "theta" and p.row == p.col:
            if p.user:
                raise ModelSyntaxError(
                    f"'{p.lhs} ~~ {p.rhs}': the residual variance of an ordinal item is not a parameter in the "
                    "delta parameterization (it is 1 − the explained variance); remove it from the model"
                )
            rows.append(replace(p, free=False, value=0.0, label=""))
            continue
        if p.matrix == "nu":
            if p.user:
                raise ModelSyntaxError(f"'{p.lhs} ~ 1': intercepts of ordinal items are fixed by the identification; "
                                       "remove it from the model")
            rows.append(replace(p, free=g > 0 and nu_free(p.lhs), value=0.0))
            continue
        if p.matrix == "alpha" and not p.user:
            rows.append(replace(p, free=g > 0 and "intercepts" in eq, value=0.0))
            continue
        if p.matrix == "psi" and p.row == p.col and std_lv and not p.user:
            rows.append(replace(p, free=g > 0 and "loadings" in eq, value=1.0))
            continue
        rows.append(p)
    for g in range(G):
        for v in observed:
            for k in range(n_thresholds[v]):
                rows.append(Parameter(v, "|", f"t{k + 1}", g, True, matrix="tau", row=ov_idx[v], col=k))
        for v in observed:
            rows.append(Parameter(v, "~*~", v, g, g > 0 and delta_free(v), value=1.0,
                                  matrix="delta", row=ov_idx[v]))
    # cross-group equality by label sharing with group 1 (as build_spec)
    if group_equal:
        first = {(p.key, p.matrix): k for k, p in enumerate(rows) if p.group == 0}
        kinds = {"tau": "thresholds", "lambda": "loadings", "beta": "loadings"}
        for k, p in enumerate(rows):
            if p.group == 0 or not p.free or p.label:
                continue
            kind = kinds.get(p.matrix)
            if kind not in eq or p.key in released:
                continue
            k0 = first.get((p.key, p.matrix))
            if k0 is None or not rows[k0].free:
                continue
            if not rows[k0].label:
                rows[k0] = replace(rows[k0], label=f".p{k0 + 1}.")
            rows[k] = replace(p, label=rows[k0].label)
    by_label: dict[str, int] = {}
    n_free = 0
    final: list[Parameter] = []
    for p in rows:
        if not p.free:
            final.append(replace(p, index=-1))
        elif p.label and p.label in by_label:
            final.append(replace(p, index=by_label[p.label]))
        else:
            if p.label:
                by_label[p.label] = n_free
            final.append(replace(p, index=n_free))
            n_free += 1
    return replace(base, parameters=tuple(final), n_free=n_free, group_equal=group_equal,
                   group_partial=tuple(group_partial), meanstructure=True)


# ---------------------------------------------------------------- compiled model
class CategoricalModel:
    """Maps the free-parameter vector onto implied thresholds/correlations and their Jacobian."""

    def __init__(self, spec: ModelSpec, n_thresholds: Sequence[int]):
        self.spec = spec
        cont = replace(spec, parameters=tuple(p for p in spec.parameters if p.matrix in _CONT))
        self.cm = CompiledModel(cont)
        self.G = spec.ngroups
        self.p = len(spec.observed)
        self.n_free = spec.n_free
        self.nth = np.asarray(n_thresholds, dtype=int)
        self.T = int(self.nth.sum())
        self.th_item = np.repeat(np.arange(self.p), self.nth)
        self.th_start = np.concatenate([[0], np.cumsum(self.nth)])[:-1]
        self.ri, self.ci = wls._pairs(self.p)
        self.k = self.T + len(self.ri)
        self.tau_base, self.tau_plan, self.delta_base, self.delta_plan = [], [], [], []
        for g in range(self.G):
            tb, tpos, tsrc = np.zeros(self.T), [], []
            db, dpos, dsrc = np.ones(self.p), [], []
            for prm in spec.parameters:
                if prm.group != g:
                    continue
                if prm.matrix == "tau":
                    t = self.th_start[prm.row] + prm.col
                    if prm.free:
                        tpos.append(t)
                        tsrc.append(prm.index)
                    else:
                        tb[t] = prm.value
                elif prm.matrix == "delta":
                    if prm.free:
                        dpos.append(prm.row)
                        dsrc.append(prm.index)
                    else:
                        db[prm.row] = prm.value
            self.tau_base.append(tb)
            self.tau_plan.append((np.array(tpos, dtype=int), np.array(tsrc, dtype=int)))
            self.delta_base.append(db)
            self.delta_plan.append((np.array(dpos, dtype=int), np.array(dsrc, dtype=int)))

    def parts(self, x: np.ndarray) -> list[dict[str, np.ndarray]]:
        """Per group: model matrices, implied moments of x*, τ, δ."""
        out = []
        for g, mats in enumerate(self.cm.matrices(x)):
            imp = implied(mats)
            tau = self.tau_base[g].copy()
            pos, src = self.tau_plan[g]
            tau[pos] = x[src]
            dl = self.delta_base[g].copy()
            pos, src = self.delta_plan[g]
            dl[pos] = x[src]
            out.append({"mats": mats, "imp": imp, "tau": tau, "delta": dl})
        return out

    def sigma(self, part: dict[str, Any]) -> np.ndarray:
        imp, tau, dl = part["imp"], part["tau"], part["delta"]
        S, mu = imp["Sigma"], imp["mu"]
        it = self.th_item
        th = dl[it] * (tau - mu[it])
        cor = dl[self.ri] * dl[self.ci] * S[self.ri, self.ci]
        return np.concatenate([th, cor])

    def jacobian(self, g: int, part: dict[str, Any]) -> np.ndarray:
        """Δ_g = ∂σ_g/∂x' (k × n_free); shared parameters sum their columns."""
        imp, tau, dl = part["imp"], part["tau"], part["delta"]
        S, mu = imp["Sigma"], imp["mu"]
        it, ri, ci, T = self.th_item, self.ri, self.ci, self.T
        D = np.zeros((self.k, self.n_free))
        index = self.cm.row_index[g]
        if index.K:
            dS, dM = jacobian(imp, index)
            Dc = np.empty((index.K, self.k))
            Dc[:, :T] = -dM[:, it] * dl[it]
            Dc[:, T:] = dS[:, ri, ci] * (dl[ri] * dl[ci])
            np.add.at(D.T, self.cm.free_index[g], Dc)
        pos, src = self.tau_plan[g]
        if pos.size:
            np.add.at(D, (pos, src), dl[it[pos]])
        pos, src = self.delta_plan[g]
        for i, col in zip(pos, src):
            rows = np.flatnonzero(it == i)
            D[rows, col] += tau[rows] - mu[i]
            m1 = np.flatnonzero(ri == i)
            D[T + m1, col] += dl[ci[m1]] * S[i, ci[m1]]
            m2 = np.flatnonzero(ci == i)
            D[T + m2, col] += dl[ri[m2]] * S[ri[m2], i]
        return D


# ---------------------------------------------------------------- estimation
def _fmin(model: CategoricalModel, moments: Sequence[wls.GroupMoments], fg: np.ndarray, x: np.ndarray) -> float:
    total = 0.0
    for g, (part, gm) in enumerate(zip(model.parts(x), moments)):
        r = gm.s - model.sigma(part)
        total += 0.5 * fg[g] * float(np.sum(gm.w * r * r))
    return total


def _derivs(model: CategoricalModel, moments: Sequence[wls.GroupMoments], fg: np.ndarray, x: np.ndarray):
    f = 0.0
    grad = np.zeros(model.n_free)
    A = np.zeros((model.n_free, model.n_free))
    deltas = []
    for g, (part, gm) in enumerate(zip(model.parts(x), moments)):
        r = gm.s - model.sigma(part)
        D = model.jacobian(g, part)
        deltas.append(D)
        f += 0.5 * fg[g] * float(np.sum(gm.w * r * r))
        WD = D * gm.w[:, None]
        grad -= fg[g] * (WD.T @ r)
        A += fg[g] * (WD.T @ D)
    return f, grad, A, deltas


def _solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    scale = np.sqrt(np.clip(np.diag(A), 1e-300, None))
    As = A / np.outer(scale, scale)
    try:
        return np.linalg.solve(As + 1e-12 * np.eye(len(b)), b / scale) / scale
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(As, b / scale, rcond=None)[0] / scale


def _gauss_newton(model, moments, fg, x0, max_iter: int, tol: float = 1e-18) -> tuple[np.ndarray, bool, int, str]:
    """Gauss–Newton with backtracking on the DWLS discrepancy.

    Stops when the Gauss–Newton decrement g'A⁻¹g (≈ twice the remaining decrease of
    F) is below ``tol``; the DWLS fit is nearly linear near the optimum, so a few
    iterations reach ≈1e-9 in the estimates (lavaan's ``nlminb`` stops ≈1e-6 away).
    """
    x = np.array(x0, dtype=float)
    if model.n_free == 0:
        return x, True, 0, "no free parameters"
    f, g, A, _ = _derivs(model, moments, fg, x)
    for it in range(1, max_iter + 1):
        step = _solve(A, -g)
        dec = float(-g @ step)
        if not np.isfinite(dec) or dec < 0:
            step, dec = -g, float(g @ g)
        if dec < tol:
            return x, True, it - 1, "converged"
        t = 1.0
        while True:
            x_new = x + t * step
            f_new = _fmin(model, moments, fg, x_new)
            if np.isfinite(f_new) and f_new <= f - 1e-4 * t * dec:
                break
            t *= 0.5
            if t < 1e-10:  # no decrease possible at machine precision
                ok = dec < 1e-12
                return x, ok, it, "converged" if ok else "line search failed to decrease the discrepancy"
        if f_new >= f and dec < 1e-12:  # no decrease left at machine precision
            return x_new, True, it, "converged"
        x = x_new
        f, g, A, _ = _derivs(model, moments, fg, x)
    return x, False, max_iter, f"no convergence after {max_iter} iterations"


class _StartShim:
    """What :func:`psychometrics.cfa.fit._start_values` reads from a compiled model."""

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.n_free = spec.n_free
        self.G = spec.ngroups
        self.rows_by_group = [[p for p in spec.parameters if p.group == g] for g in range(self.G)]


def _start(spec: ModelSpec, stats: Sequence[OrdinalSampleStats]) -> np.ndarray:
    from psychometrics.cfa.estimation import SampleStats
    from psychometrics.cfa.fit import _start_values

    p = len(spec.observed)
    shim = _StartShim(spec)
    ss = SampleStats(tuple(s.cor for s in stats), tuple(np.zeros(p) for _ in stats), tuple(s.nobs for s in stats))
    x = _start_values(shim, ss)
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


# ---------------------------------------------------------------- engine (result tables)
class CategoricalEngine:
    """A fitted categorical model; builds the tables of the result."""

    def __init__(self, spec: ModelSpec, model: CategoricalModel, stats: Sequence[OrdinalSampleStats], x: np.ndarray):
        self.spec, self.model, self.stats, self.x = spec, model, stats, x
        self.G = spec.ngroups
        self.N = sum(s.nobs for s in stats)
        self.fg = np.array([s.nobs / self.N for s in stats])
        self.w_obj = np.array([(s.nobs - 1) / self.N for s in stats])  # lavaan: (n_g − 1)/N in fmin
        self.moments = [wls.GroupMoments(s.vector(), s.weights, s.acov, s.nobs, model.T) for s in stats]
        self.parts = model.parts(x)
        self.deltas = [model.jacobian(g, part) for g, part in enumerate(self.parts)]
        self.A = wls.information(self.deltas, self.moments, self.fg) if spec.n_free else np.zeros((0, 0))
        self.singular = False
        self.A_inv = self._invert(self.A)
        self.V = wls.robust_vcov(self.deltas, self.moments, self.A_inv) if spec.n_free else np.zeros((0, 0))
        self.item_index = pd.Index(spec.observed)
        self.factor_index = pd.Index(spec.latent)

    def _invert(self, A: np.ndarray) -> np.ndarray:
        n = A.shape[0]
        if n == 0:
            return A
        scale = np.sqrt(np.clip(np.diag(A), 1e-300, None))
        As = A / np.outer(scale, scale)
        w = np.linalg.eigvalsh(As)
        if w[0] < 1e-10 * max(w[-1], 1.0):
            self.singular = True
            return np.full((n, n), np.nan)
        return np.linalg.inv(As) / np.outer(scale, scale)

    # ---- derived quantities
    def delta(self, g: int) -> np.ndarray:
        return self.parts[g]["delta"]

    def theta_diag(self, g: int) -> np.ndarray:
        """Residual variances of the latent responses: 1/δ² − (ΛMΛ')_ii."""
        S = self.parts[g]["imp"]["Sigma"]
        return 1.0 / self.delta(g) ** 2 - np.diag(S) + np.diag(self.parts[g]["mats"]["theta"])

    def implied_cor(self, g: int) -> np.ndarray:
        S = self.parts[g]["imp"]["Sigma"].copy()
        dl = self.delta(g)
        P = S * np.outer(dl, dl)
        np.fill_diagonal(P, 1.0)
        return P

    def eta_sd(self, g: int) -> np.ndarray:
        v = np.diag(self.parts[g]["imp"]["M"]).copy()
        v[v < 0] = np.nan
        return np.sqrt(v)

    def standardize(self, prm: Parameter, value: float) -> tuple[float, float]:
        """lavaan's std.lv / std.all; the latent responses have sd 1/δ."""
        g = prm.group
        return standardize(prm, value, eta_sd=self.eta_sd(g), ov_sd=1.0 / self.delta(g),
                           psi_diag=np.diag(self.parts[g]["mats"]["psi"]), theta_diag=self.theta_diag(g))

    # ---- tables
    def values(self) -> np.ndarray:
        out = []
        for prm in self.spec.parameters:
            if prm.free:
                out.append(self.x[prm.index])
            elif prm.matrix == "theta" and prm.row == prm.col:
                out.append(self.theta_diag(prm.group)[prm.row])
            else:
                out.append(prm.value)
        return np.array(out)

    def group_label(self, g: int) -> str:
        return self.spec.groups[g]

    def estimates(self) -> pd.DataFrame:
        return parameter_table(self.spec, self.values(), self.V, self.standardize)

    def _stack(self, frames: list, name: str) -> Any:
        if self.G == 1:
            return frames[0]
        return pd.concat(frames, keys=list(self.spec.groups), names=["group", name])

    def loading_table(self, standardized: bool) -> pd.DataFrame:
        frames = []
        for g in range(self.G):
            L = self.parts[g]["mats"]["lambda"]
            if standardized:
                L = L * self.eta_sd(g)[None, :] * self.delta(g)[:, None]
            frames.append(pd.DataFrame(L, index=self.item_index, columns=self.factor_index))
        return self._stack(frames, "item")

    def threshold_table(self) -> pd.DataFrame:
        """Thresholds τ (unstandardized), one row per item, columns t1..t(C−1) (NaN past an item's last)."""
        width = int(self.model.nth.max())
        cols = [f"t{k + 1}" for k in range(width)]
        frames = []
        for g in range(self.G):
            tau = self.parts[g]["tau"]
            M = np.full((self.model.p, width), np.nan)
            for i in range(self.model.p):
                s = self.model.th_start[i]
                M[i, : self.model.nth[i]] = tau[s: s + self.model.nth[i]]
            frames.append(pd.DataFrame(M, index=self.item_index, columns=cols))
        return self._stack(frames, "item")

    def vcov_frame(self, group: str | None = None) -> pd.DataFrame:
        return vcov_frame(self.spec, self.V, group)

    def _candidate_jacobian(self, g: int, rows: list[Parameter]) -> np.ndarray:
        """∂σ_g/∂ψ for parameters ``rows`` (λ, θ offdiag, ...) not in the model, at the estimates."""
        from psychometrics.cfa.estimation import RowIndex

        part = self.parts[g]
        imp, dl = part["imp"], part["delta"]
        m = self.model
        dS, dM = jacobian(imp, RowIndex(rows))
        D = np.empty((m.k, len(rows)))
        D[: m.T] = (-dM[:, m.th_item] * dl[m.th_item]).T
        D[m.T:] = (dS[:, m.ri, m.ci] * (dl[m.ri] * dl[m.ci])).T
        return D

    def modindices(self) -> pd.DataFrame:
        """lavaan's ``modindices(fit)`` for WLSMV: loadings not in the model and item residual covariances.

        With g the gradient of ``fmin`` (lavaan's (n_g−1)/N weights) for a candidate
        parameter at 0, and the unit information A (f_g weights) of the extended model,
        V = A₁₁ − A₁₂A₂₂⁻¹A₂₁, MI = N·g²/V and EPC = −g/V (candidates with
        V < ε^(1/3), not identified when freed, are dropped as lavaan does).
        """
        spec = self.spec
        ov, lv = list(spec.observed), list(spec.latent)
        cols = ["lhs", "op", "rhs", "group", "mi", "epc", "sepc_lv", "sepc_all"]
        rec = []
        if self.singular:
            raise EstimationError("modification indices need a non-singular information matrix")
        for g in range(self.G):
            have = {(p.lhs, p.op, p.rhs) for p in spec.parameters if p.group == g}
            have |= {(p.rhs, p.op, p.lhs) for p in spec.parameters if p.group == g and p.op == "~~"}
            cands = [Parameter(f, "=~", v, g, True, matrix="lambda", row=i, col=j)
                     for j, f in enumerate(lv) for i, v in enumerate(ov) if (f, "=~", v) not in have]
            cands += [Parameter(ov[j], "~~", ov[i], g, True, matrix="theta", row=i, col=j)
                      for j in range(len(ov)) for i in range(j + 1, len(ov)) if (ov[j], "~~", ov[i]) not in have]
            if not cands:
                continue
            De = self._candidate_jacobian(g, cands)
            gm = self.moments[g]
            r = gm.s - self.model.sigma(self.parts[g])
            grad = -self.w_obj[g] * (De * gm.w[:, None]).T @ r
            WDe = De * gm.w[:, None]
            I11 = self.fg[g] * np.einsum("ki,ki->i", WDe, De)
            I12 = self.fg[g] * WDe.T @ self.deltas[g]
            V = I11 - np.einsum("ij,ji->i", I12, self.A_inv @ I12.T)
            V = np.where(V < np.finfo(float).eps ** (1 / 3), np.nan, V)
            mi = self.N * grad ** 2 / V
            epc = -grad / V
            for prm, m_, e_ in zip(cands, mi, epc):
                if not np.isfinite(m_):
                    continue
                s_lv, s_all = self.standardize(prm, float(e_))
                rec.append({"lhs": prm.lhs, "op": prm.op, "rhs": prm.rhs, "group": self.group_label(g),
                            "mi": float(m_), "epc": float(e_), "sepc_lv": float(s_lv), "sepc_all": float(s_all)})
        return pd.DataFrame.from_records(rec, columns=cols)

    def score_tests(self) -> pd.DataFrame:
        """lavaan's ``lavTestScore(fit)$uni`` for WLSMV: releasing each equality constraint.

        For every parameter equal to one met earlier (a ``group_equal`` tie or a shared
        label), its own copy ψ in its group is added at the shared value: with Δ_e the
        group's Jacobian column of that row, g = −(n_g−1)/N·Δ_e'W_g r_g, A₁₁ = f_gΔ_e'W_gΔ_e,
        A₁₂ = f_gΔ_e'W_gΔ_g, V = A₁₁ − A₁₂A⁻¹A₂₁: χ²(1) = N·g²/V, EPC = −g/V. (lavaan
        computes the ordinary, not the robust, score test for WLSMV; so do we.)
        """
        cols = ["lhs", "op", "rhs", "group", "label", "x2", "df", "pvalue", "epc"]
        if self.singular:
            raise EstimationError("score tests need a non-singular information matrix")
        first: set[int] = set()
        rec = []
        for prm in self.spec.parameters:
            if not prm.free:
                continue
            if prm.index not in first:
                first.add(prm.index)
                continue
            x2, epc = self.release_test(prm)
            rec.append({"lhs": prm.lhs, "op": prm.op, "rhs": prm.rhs, "group": self.group_label(prm.group),
                        "label": prm.label, "x2": x2, "df": 1,
                        "pvalue": float(special.chdtrc(1, x2)) if np.isfinite(x2) else math.nan, "epc": epc})
        return pd.DataFrame.from_records(rec, columns=cols)

    def release_test(self, prm: Parameter) -> tuple[float, float]:
        """Score statistic χ²(1) and EPC for giving row ``prm`` (shared or fixed) its own free value."""
        g = prm.group
        De = self._row_jacobian(g, prm)
        gm = self.moments[g]
        r = gm.s - self.model.sigma(self.parts[g])
        WDe = De * gm.w
        grad = -self.w_obj[g] * float(WDe @ r)
        I12 = self.fg[g] * (WDe @ self.deltas[g])
        V = self.fg[g] * float(WDe @ De) - float(I12 @ self.A_inv @ I12)
        if not V > np.finfo(float).eps ** (1 / 3):
            return math.nan, math.nan
        return self.N * grad ** 2 / V, -grad / V

    def _row_jacobian(self, g: int, prm: Parameter) -> np.ndarray:
        """∂σ_g/∂ of one parameter row of group g alone (not its copies in other groups)."""
        m = self.model
        if prm.matrix == "tau":
            D = np.zeros(m.k)
            D[m.th_start[prm.row] + prm.col] = self.delta(g)[prm.row]
            return D
        if prm.matrix == "delta":
            raise EstimationError("scaling factors are not released by score tests")
        return self._candidate_jacobian(g, [prm])[:, 0]

    # ---- fit measures
    def fit_measures(self) -> dict[str, float]:
        spec, G, N = self.spec, self.G, self.N
        Nr = N - G  # lavaan's lav_utils_get_ntotal: N − G for estimators other than ML
        fmin = _fmin(self.model, self.moments, self.w_obj, self.x)
        chisq = 2 * N * fmin
        df = G * self.model.k - spec.n_free
        out: dict[str, float] = {"npar": spec.n_free, "fmin": fmin, "chisq": chisq, "df": df,
                                 "pvalue": float(special.chdtrc(df, chisq)) if df > 0 else math.nan}
        ss = wls.scaled_shifted(chisq, df, self.deltas, self.moments, self.A_inv) if spec.n_free else None
        if ss is None or self.singular:
            ss = {"stat": math.nan, "df": df, "pvalue": math.nan, "scaling_factor": math.nan,
                  "shift_parameter": math.nan}
        out.update({"chisq_scaled": ss["stat"], "df_scaled": df, "pvalue_scaled": ss["pvalue"],
                    "chisq_scaling_factor": ss["scaling_factor"], "chisq_shift_parameter": ss["shift_parameter"]})
        base = wls.baseline_scaled_shifted(self.moments)
        out.update({"baseline_chisq": base["chisq"], "baseline_df": base["df"], "baseline_pvalue": base["pvalue"],
                    "baseline_chisq_scaled": base["stat"], "baseline_df_scaled": base["df"],
                    "baseline_pvalue_scaled": base["pvalue_scaled"],
                    "baseline_chisq_scaling_factor": base["scaling_factor"]})
        b0, d0 = base["chisq"], base["df"]
        out["cfi"] = wls.cfi(chisq, df, b0, d0)
        out["tli"] = wls.tli(chisq, df, b0, d0)
        out["cfi_scaled"] = wls.cfi(ss["stat"], df, base["stat"], d0)
        out["tli_scaled"] = wls.tli(ss["stat"], df, base["stat"], d0)
        # Savalei's catML robust indices assume saturated thresholds: with equal thresholds
        # (free scaling factors, intercepts or means) lavaan cannot build the catML model and
        # reports NA — so do we (documented in docs/cfa-categorical.md).
        saturated_th = not any(p.free and p.matrix in ("delta", "nu", "alpha") for p in spec.parameters) and not any(
            p.matrix == "tau" and p.label for p in spec.parameters)
        cat = wls.catml_robust(self.deltas, self.moments, self.A_inv, [s.cor for s in self.stats],
                               [self.implied_cor(g) for g in range(G)], df) if saturated_th and not self.singular else None
        if cat is None:
            cat = {k: math.nan for k in ("XX3", "df3", "c_hat3", "XX3_scaled", "XX3_null", "df3_null", "c_hat3_null")}
        out["cfi_robust"] = wls.cfi(cat["XX3"], df, cat["XX3_null"], d0, cat["c_hat3"], cat["c_hat3_null"])
        out["tli_robust"] = wls.tli(cat["XX3"], df, cat["XX3_null"], d0, cat["c_hat3"], cat["c_hat3_null"])
        out["rmsea"] = wls.rmsea(chisq, df, Nr, G)
        out["rmsea_ci_lower"], out["rmsea_ci_upper"] = wls.rmsea_ci(chisq, df, Nr, G)
        out["rmsea_pvalue"] = wls.rmsea_close_pvalue(chisq, df, Nr, G)
        out["rmsea_scaled"] = wls.rmsea(ss["stat"], df, Nr, G)
        out["rmsea_ci_lower_scaled"], out["rmsea_ci_upper_scaled"] = wls.rmsea_ci(ss["stat"], df, Nr, G)
        out["rmsea_pvalue_scaled"] = wls.rmsea_close_pvalue(ss["stat"], df, Nr, G)
        c3 = cat["c_hat3"]
        out["rmsea_robust"] = wls.rmsea(cat["XX3"], df, Nr, G, c3)
        out["rmsea_ci_lower_robust"], out["rmsea_ci_upper_robust"] = wls.rmsea_ci(cat["XX3_scaled"], df, Nr, G, c3)
        out["rmsea_pvalue_robust"] = wls.rmsea_close_pvalue(cat["XX3_scaled"], df, Nr, G, c3)
        out["srmr"] = self.srmr()
        out["catml_chisq"] = cat["XX3"]
        out["catml_c_hat"] = cat["c_hat3"]
        out["catml_baseline_chisq"] = cat["XX3_null"]
        out["catml_baseline_c_hat"] = cat["c_hat3_null"]
        out["ntotal"] = N
        out["ngroups"] = G
        return out

    def srmr(self) -> float:
        """lavaan's ``srmr`` for ordinal data: RMS of the correlation residuals over p(p+1)/2 elements, weighted n_g/N."""
        total = 0.0
        for g in range(self.G):
            R = self.stats[g].cor - self.implied_cor(g)
            iu = np.triu_indices(R.shape[0])
            total += self.fg[g] * math.sqrt(float(np.mean(R[iu] ** 2)))
        return total


# ---------------------------------------------------------------- public entry
def fit_categorical(
    model: str,
    stats: Sequence[OrdinalSampleStats] | OrdinalSampleStats,
    *,
    groups: Sequence[str] | None = None,
    group: str | None = None,
    std_lv: bool = False,
    orthogonal: bool = False,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
    max_iter: int = 200,
    n_excluded: int = 0,
    diagnostics: list[Diagnostic] | None = None,
) -> CFAResult:
    r"""Fit a categorical CFA by DWLS with WLSMV inference from ordinal sample statistics.

    Parameters
    ----------
    model : str
        lavaan model syntax (no thresholds: they are added for every item).
    stats : OrdinalSampleStats or sequence of them
        One per group (thresholds, polychoric correlations, their asymptotic covariance, n).
    groups : sequence of str, optional
        Group labels (default ``"all"`` or ``"1", "2", …``).
    std_lv, orthogonal : bool
        As :func:`~psychometrics.cfa.fit_cfa`.
    group_equal : sequence of str
        ``"thresholds"``, ``"loadings"``, ``"intercepts"``, identified as Wu & Estabrook
        (2016) (module docstring); needs ``std_lv=True``.
    group_partial : sequence of str
        Released constraints: ``"x1|t2"``, ``"f=~x2"``, ``"x3~1"`` (semTools' rules,
        :func:`build_categorical_spec`).

    Returns
    -------
    CFAResult
        With ``estimator="WLSMV"``; ``estimates`` includes thresholds (``op = "|"``)
        and scaling factors (``op = "~*~"``); ``fit`` holds lavaan's WLSMV fit
        measures (``chisq`` = DWLS, ``chisq_scaled`` = scaled-shifted, ``cfi_scaled``/
        ``rmsea_scaled`` from the scaled-shifted statistics, ``cfi_robust``/``rmsea_robust``
        Savalei's catML-based robust indices).

    Validated against lavaan 0.6-14 ``cfa(..., ordered = ..., estimator = "WLSMV")``
    fed the same sample statistics (fixtures ``tests/reference/wlsmv/``).
    """
    with single_thread_blas():  # small matrices: threaded BLAS only adds overhead
        return _fit_categorical(model, stats, groups=groups, group=group, std_lv=std_lv, orthogonal=orthogonal,
                                group_equal=group_equal, group_partial=group_partial, max_iter=max_iter,
                                n_excluded=n_excluded, diagnostics=diagnostics)


def _fit_categorical(model, stats, *, groups, group, std_lv, orthogonal, group_equal, group_partial, max_iter,
                     n_excluded, diagnostics) -> CFAResult:
    diags: list[Diagnostic] = diagnostics if diagnostics is not None else []
    if isinstance(stats, OrdinalSampleStats):
        stats = [stats]
    stats = list(stats)
    if groups is None:
        groups = ("all",) if len(stats) == 1 else tuple(str(g + 1) for g in range(len(stats)))
    groups = tuple(groups)
    if len(groups) != len(stats):
        raise DataError(f"{len(groups)} group labels for {len(stats)} sets of sample statistics")
    from psychometrics.cfa.specification import observed_variables

    observed = observed_variables(model)
    stats = [s.subset(observed) for s in stats]
    nth = stats[0].n_thresholds
    for lab, s in zip(groups[1:], stats[1:]):
        if s.n_thresholds != nth:
            diff = [v for v, a, b in zip(observed, nth, s.n_thresholds) if a != b]
            raise DataError(
                f"item(s) {', '.join(map(repr, diff))} have a different number of categories in group {lab!r} "
                f"than in group {groups[0]!r}; every group needs the same categories (collapse categories first)"
            )
    spec = build_categorical_spec(model, dict(zip(observed, nth)), groups=groups, std_lv=std_lv,
                                  orthogonal=orthogonal, group_equal=group_equal, group_partial=group_partial)
    cm = CategoricalModel(spec, nth)
    df = len(groups) * cm.k - spec.n_free
    if df < 0:
        raise IdentificationError(
            f"the model has {spec.n_free} free parameters but only {len(groups) * cm.k} sample statistics "
            f"(df = {df}); it is not identified"
        )
    if df == 0:
        record(diags, IdentificationWarning, "the model has 0 degrees of freedom (saturated): its fit cannot be tested",
               stacklevel=4)
    N = sum(s.nobs for s in stats)
    w_obj = np.array([(s.nobs - 1) / N for s in stats])  # lavaan weights group g's DWLS fit by (n_g − 1)/N
    moments = [wls.GroupMoments(s.vector(), s.weights, s.acov, s.nobs, cm.T) for s in stats]
    x0 = _start(spec, stats)
    x, converged, iterations, message = _gauss_newton(cm, moments, w_obj, x0, max_iter)
    if not converged:
        record(diags, ConvergenceWarning,
               f"the DWLS estimation did not converge ({message}); estimates and fit are not trustworthy", stacklevel=4)
    engine = CategoricalEngine(spec, cm, stats, x)
    if engine.singular and spec.n_free:
        record(diags, IdentificationWarning,
               "the information matrix is singular: the model is (empirically) under-identified and standard "
               "errors cannot be computed", stacklevel=4)
    for g in range(len(groups)):
        where = f" in group {groups[g]!r}" if len(groups) > 1 else ""
        for v, t in zip(observed, engine.theta_diag(g)):
            if t < 0:
                record(diags, HeywoodCaseWarning,
                       f"Heywood case: the residual variance of the latent response of item {v!r} is negative "
                       f"({t:.4g}){where}", stacklevel=4)
    return _result(model, engine, group, groups, group_equal, stats, n_excluded, converged, iterations, diags)


def _result(model, engine: CategoricalEngine, group, groups, group_equal, stats, n_excluded, converged, iterations,
            diags) -> CFAResult:
    items = engine.item_index
    res, std_res, r2, resid, imp, samp, lcov, lcor = [], [], [], [], [], [], [], []
    for g in range(engine.G):
        th = engine.theta_diag(g)
        dl = engine.delta(g)
        res.append(pd.Series(th, index=items, name="residual_variance"))
        std_res.append(pd.Series(th * dl ** 2, index=items, name="std_residual_variance"))
        r2.append(pd.Series(1 - th * dl ** 2, index=items, name="r_squared"))
        P = engine.implied_cor(g)
        resid.append(pd.DataFrame(stats[g].cor - P, index=items, columns=items))
        imp.append(pd.DataFrame(P, index=items, columns=items))
        samp.append(pd.DataFrame(stats[g].cor, index=items, columns=items))
        M = engine.parts[g]["imp"]["M"]
        sd = engine.eta_sd(g)
        lcov.append(pd.DataFrame(M, index=engine.factor_index, columns=engine.factor_index))
        lcor.append(pd.DataFrame(M / np.outer(sd, sd), index=engine.factor_index, columns=engine.factor_index))
    st = engine._stack
    result = CFAResult(
        model=model,
        estimator="WLSMV",
        group=group,
        groups=tuple(groups),
        group_equal=tuple(group_equal),
        group_partial=tuple(engine.spec.group_partial),
        nobs=dict(zip(groups, (int(s.nobs) for s in stats))),
        n_excluded=int(n_excluded),
        converged=bool(converged),
        iterations=int(iterations),
        fit=engine.fit_measures(),
        estimates=engine.estimates(),
        std_loadings=engine.loading_table(standardized=True),
        latent_cov=st(lcov, "factor"),
        latent_cor=st(lcor, "factor"),
        residual_variances=st(res, "item"),
        std_residual_variances=st(std_res, "item"),
        r_squared=st(r2, "item"),
        residual_cor=st(resid, "item"),
        implied_cov=st(imp, "item"),
        sample_cov=st(samp, "item"),
        mi_threshold=3.84,
        diagnostics=tuple(diags),
        _engine=engine,
    )
    object.__setattr__(result, "_title", "Confirmatory factor analysis (WLSMV, ordinal items)")
    return result


# ---------------------------------------------------------------- from data
def _from_polychoric(res: Any, items: Sequence[str]) -> OrdinalSampleStats:
    """Convert :func:`psychometrics.ordinal.polychoric` output (lavaan's order) to :class:`OrdinalSampleStats`."""
    th = res.thresholds
    thresholds = tuple(th.loc[th["item"] == v, "value"].to_numpy(dtype=float) for v in items)
    R = res.matrix.loc[list(items), list(items)].to_numpy(dtype=float)
    stats = OrdinalSampleStats(tuple(items), thresholds, R, res.acov.to_numpy(dtype=float), res.n)
    if not np.allclose(stats.vector(), res.sample_stats.to_numpy(dtype=float), rtol=0, atol=1e-12):
        raise EstimationError("internal: the order of the polychoric statistics does not match lavaan's")
    return stats


def _collapse(values: np.ndarray, cats: list[float], gcodes: np.ndarray, labels: tuple[str, ...]):
    """Merge categories that are empty in some group with a neighbour until none is; returns new cats, merges."""
    merges: list[tuple[float, float, str]] = []
    cats = list(cats)
    while True:
        empty = None
        for g, lab in enumerate(labels):
            present = set(np.unique(values[gcodes == g]).tolist())
            for c in cats:
                if c not in present:
                    empty = (c, lab)
                    break
            if empty:
                break
        if empty is None or len(cats) < 2:
            return values, cats, merges
        c, lab = empty
        k = cats.index(c)
        target = cats[k - 1] if k > 0 else cats[k + 1]
        values = np.where(values == c, target, values)
        cats.remove(c)
        merges.append((c, target, lab))


def ordinal_sample_stats(
    data: pd.DataFrame,
    items: Sequence[str],
    group: str | None = None,
    *,
    empty_categories: str = "error",
    diagnostics: list[Diagnostic] | None = None,
) -> tuple[list[OrdinalSampleStats], tuple[str, ...], int]:
    """Thresholds, polychoric correlations and Γ per group from item responses (listwise complete cases).

    The categories of an item are its observed values pooled over groups; every group
    must use all of them (the thresholds are compared across groups). A category that
    is empty in one group raises :class:`DataError` naming item, group and value, or,
    with ``empty_categories="collapse"``, is merged with the next lower category (the
    next higher for the lowest) in every group, recorded as a :class:`DataQualityWarning`.

    Returns ``(stats per group, group labels, rows excluded by listwise deletion)``.
    """
    from psychometrics.cfa.fit import _group_label
    from psychometrics.exceptions import DataQualityWarning

    try:
        from psychometrics.ordinal import polychoric
    except ImportError as exc:  # pragma: no cover - until psychometrics.ordinal lands
        raise EstimationError("estimator='WLSMV' from data needs psychometrics.ordinal (polychoric correlations); "
                              "fit from sample statistics with psychometrics.cfa.categorical.fit_categorical") from exc
    diags = diagnostics if diagnostics is not None else []
    if empty_categories not in ("error", "collapse"):
        raise DataError(f"empty_categories={empty_categories!r}: use 'error' or 'collapse'")
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    items = list(items)
    absent = [v for v in items if v not in data.columns]
    if absent:
        raise DataError(f"model variable(s) {', '.join(map(repr, absent))} are not columns of the data")
    X = data.loc[:, items]
    for v in items:
        if not pd.api.types.is_numeric_dtype(X[v]) or pd.api.types.is_bool_dtype(X[v]):
            raise DataError(f"ordinal item {v!r} is not numeric (dtype {X[v].dtype}); code its categories as integers")
    values = X.to_numpy(dtype=float)
    if group is not None:
        if group not in data.columns:
            raise DataError(f"grouping variable {group!r} is not a column of the data")
        bad = np.flatnonzero(data[group].isna().to_numpy())
        if bad.size:
            raise DataError(f"grouping variable {group!r} is missing in {bad.size} row(s) (index "
                            f"{', '.join(str(data.index[i]) for i in bad[:10])}); drop or label these rows first")
    complete = ~np.isnan(values).any(axis=1)
    n_excluded = int((~complete).sum())
    if n_excluded:
        counts = np.isnan(values).sum(axis=0)
        detail = ", ".join(f"{v} ({c})" for v, c in zip(items, counts) if c)
        record(diags, DataQualityWarning,
               f"listwise deletion: {n_excluded} of {len(values)} rows have missing values on model items and were "
               f"not used (missing per item: {detail})", stacklevel=5)
    values = values[complete]
    if group is None:
        labels: tuple[str, ...] = ("all",)
        gcodes = np.zeros(len(values), dtype=int)
    else:
        gstr = np.array([_group_label(v) for v in data[group].to_numpy()])[complete]
        labels = tuple(dict.fromkeys(_group_label(v) for v in pd.unique(data[group])))
        labels = tuple(lab for lab in labels if np.any(gstr == lab))
        if len(labels) < 2:
            raise DataError(f"grouping variable {group!r} has a single group with complete rows; fit without group=")
        gcodes = np.array([labels.index(s) for s in gstr])
    for j, v in enumerate(items):
        col = values[:, j]
        if np.any(col != np.round(col)):
            bad = np.unique(col[col != np.round(col)])[:5]
            raise DataError(f"ordinal item {v!r} has non-integer values ({', '.join(map(str, bad))}); "
                            "code its categories as integers")
        cats = sorted(np.unique(col).tolist())
        if len(cats) < 2:
            raise DataError(f"ordinal item {v!r} has a single category ({cats[0]:g}) in the data; remove it")
        if group is not None:
            empty = [(lab, c) for g, lab in enumerate(labels) for c in cats if not np.any(col[gcodes == g] == c)]
            if empty:
                if empty_categories == "error":
                    where = "; ".join(f"category {c:g} in group {lab!r}" for lab, c in empty)
                    raise DataError(
                        f"ordinal item {v!r} has an empty category: {where}. Thresholds cannot be compared "
                        "across groups; merge categories (empty_categories='collapse' merges each empty "
                        "category with its lower neighbour in all groups) or drop the item"
                    )
                col, cats, merges = _collapse(col, cats, gcodes, labels)
                if len(cats) < 2:
                    raise DataError(f"ordinal item {v!r}: collapsing empty categories leaves a single category")
                values[:, j] = col
                record(diags, DataQualityWarning,
                       f"item {v!r}: " + "; ".join(f"category {c:g} (empty in group {lab!r}) merged into {t:g}"
                                                   for c, t, lab in merges)
                       + " in every group", stacklevel=5)
        # recode to 1..K so that every group sees the same categories
        values[:, j] = np.searchsorted(np.array(cats), values[:, j]) + 1
    out = []
    for g, lab in enumerate(labels):
        block = pd.DataFrame(values[gcodes == g], columns=items)
        if len(block) <= len(items):
            where = f" in group {lab!r}" if group is not None else ""
            raise DataError(f"{len(block)} complete rows{where} for {len(items)} items: too few for WLSMV")
        res = polychoric(block, ordered=True, acov=True)
        for dg in res.diagnostics:
            where = f" (group {lab!r})" if group is not None else ""
            diags.append(Diagnostic(dg.category, dg.message + where))
        if res.acov is None:
            raise EstimationError(
                f"the asymptotic covariance of the polychoric correlations{' in group ' + repr(lab) if group else ''} "
                "is undefined (a correlation of ±1); merge or drop redundant items"
            )
        out.append(_from_polychoric(res, items))
    return out, labels, n_excluded


def fit_cfa_ordinal(
    model: str,
    data: pd.DataFrame,
    *,
    ordered: Sequence[str] | bool | None = None,
    group: str | None = None,
    std_lv: bool = False,
    orthogonal: bool = False,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
    empty_categories: str = "error",
    max_iter: int = 200,
) -> CFAResult:
    """``fit_cfa(..., estimator="WLSMV")`` from data: sample statistics per group, then :func:`fit_categorical`.

    ``ordered``: ``None``/``True`` = every model item; a list must name every model item
    (mixed ordinal/continuous models are not implemented).
    """
    from psychometrics.cfa.specification import observed_variables

    items = list(observed_variables(model))
    if ordered is False:
        raise ModelSyntaxError("estimator='WLSMV' is for ordinal items: pass ordered=True or the list of ordinal items")
    if ordered is not None and ordered is not True:
        ordered = [ordered] if isinstance(ordered, str) else list(ordered)
        cont = [v for v in items if v not in ordered]
        if cont:
            raise ModelSyntaxError(
                f"item(s) {', '.join(map(repr, cont))} are not in ordered=: models mixing ordinal and continuous "
                "items are not implemented for WLSMV; list every model item as ordered"
            )
    diags: list[Diagnostic] = []
    stats, labels, n_excluded = ordinal_sample_stats(data, items, group, empty_categories=empty_categories,
                                                     diagnostics=diags)
    return fit_categorical(model, stats, groups=labels, group=group, std_lv=std_lv, orthogonal=orthogonal,
                           group_equal=group_equal, group_partial=group_partial, max_iter=max_iter,
                           n_excluded=n_excluded, diagnostics=diags)


def scaled_difference_test(less: CFAResult, more: CFAResult) -> dict[str, float]:
    """Scaled-shifted χ² difference test (Satorra, 2000) of nested WLSMV fits, as lavaan's
    ``lavTestLRT(less, more)`` for WLSMV; ``less`` is the less restricted model.

    Returns ``chisq_diff, df_diff, pvalue`` (and the scaling constants ``a, b``).
    Validated against ``lavTestLRT`` (fixture ``tests/reference/wlsmv/inv_lrt.json``).
    """
    e1, e0 = less._engine, more._engine
    if not isinstance(e1, CategoricalEngine) or not isinstance(e0, CategoricalEngine):
        raise DataError("scaled_difference_test compares two fits with estimator='WLSMV'")
    if e1.spec.groups != e0.spec.groups or [s.nobs for s in e1.stats] != [s.nobs for s in e0.stats]:
        raise DataError("the two fits must use the same data and groups")
    f1, f0 = less.fit, more.fit
    if f0["df"] < f1["df"]:
        raise DataError(f"the second model must be the more restricted one (df {f0['df']} < {f1['df']})")
    return wls.satorra2000_difference(f1["chisq"], f1["df"], f0["chisq"], f0["df"], e1.deltas, e0.deltas,
                                      e1.moments, e1.A_inv)
