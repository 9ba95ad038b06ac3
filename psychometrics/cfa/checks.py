"""Checks around an ML fit: identification before it (degrees of freedom, single indicators)
and admissibility after it (Heywood cases, non-positive-definite factor covariances,
standardized loadings beyond ±1), each recorded as a diagnostic naming the parameter."""

from __future__ import annotations

import numpy as np

from psychometrics.cfa.engine import Engine
from psychometrics.cfa.specification import ModelSpec
from psychometrics.exceptions import (
    Diagnostic,
    HeywoodCaseWarning,
    IdentificationError,
    IdentificationWarning,
    NotPositiveDefiniteWarning,
    record,
)
from psychometrics._text import quote

__all__ = ["check_identification", "post_checks"]


def check_identification(spec: ModelSpec, diags: list[Diagnostic]) -> None:
    p = len(spec.observed)
    moments = spec.ngroups * (p * (p + 1) // 2 + (p if spec.meanstructure else 0))
    df = moments - spec.n_free
    if df < 0:
        raise IdentificationError(
            f"the model has {spec.n_free} free parameters but only {moments} sample moments "
            f"(df = {df}); it is not identified — fix parameters or add items"
        )
    if df == 0:
        record(diags, IdentificationWarning,
               "the model has 0 degrees of freedom (saturated): it fits perfectly by construction "
               "and its fit cannot be tested", stacklevel=5)
    for g in range(spec.ngroups):
        rows = [r for r in spec.parameters if r.group == g]
        for f in spec.latent:
            inds = [r for r in rows if r.op == "=~" and r.lhs == f]
            ov_inds = [r for r in inds if r.matrix == "lambda"]
            var = [r for r in rows if r.op == "~~" and r.lhs == f and r.rhs == f]
            if len(inds) == 1 and ov_inds and var and var[0].free:
                item = ov_inds[0].rhs
                res = [r for r in rows if r.op == "~~" and r.lhs == item and r.rhs == item]
                if res and res[0].free:
                    record(diags, IdentificationWarning,
                           f"factor {quote(f)} has a single indicator ({quote(item)}) with free residual variance and "
                           "free factor variance: they are not separately identified; fix the residual "
                           f"variance (e.g. '{item} ~~ 0*{item}') or add indicators", stacklevel=5)


def post_checks(engine: Engine, diags: list[Diagnostic]) -> None:
    spec = engine.spec
    G = spec.ngroups
    for g in range(G):
        where = f" in group {quote(spec.groups[g])}" if G > 1 else ""
        theta = np.diag(engine.mats[g]["theta"])
        for v, t in zip(spec.observed, theta):
            if t < 0:
                record(diags, HeywoodCaseWarning,
                       f"Heywood case: the residual variance of item {quote(v)} is negative ({t:.4g}){where}",
                       stacklevel=5)
        psi = np.diag(engine.mats[g]["psi"])
        for f, s in zip(spec.latent, psi):
            if s < 0:
                record(diags, HeywoodCaseWarning,
                       f"Heywood case: the (residual) variance of factor {quote(f)} is negative ({s:.4g}){where}",
                       stacklevel=5)
        M = engine.imp[g]["M"]
        if M.size and np.linalg.eigvalsh(0.5 * (M + M.T))[0] <= 0:
            record(diags, NotPositiveDefiniteWarning,
                   f"the covariance matrix of the factors is not positive definite{where} "
                   "(a factor correlation at or beyond ±1, or a negative variance)", stacklevel=5)
        with np.errstate(invalid="ignore", divide="ignore"):
            L = engine.mats[g]["lambda"] * engine._eta_sd(g)[None, :] / engine._ov_sd(g)[:, None]
        for i, j in zip(*np.nonzero(np.abs(np.nan_to_num(L)) > 1)):
            record(diags, HeywoodCaseWarning,
                   f"standardized loading of item {quote(spec.observed[i])} on factor {quote(spec.latent[j])} is "
                   f"{L[i, j]:.3f} (beyond ±1){where}", stacklevel=5)

