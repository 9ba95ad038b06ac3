r"""The analyses run on every replication, as a registry of pluggable functions.

Each analysis takes the :class:`Replication` (one simulated data set with its
population) and returns a flat ``{statistic: value}`` mapping; the runner prefixes the
names with the analysis name. The estimators are the package's own:

``cfa``
    The analysis model fitted by ML (:func:`psychometrics.cfa.engine.fit_ml`, the engine
    of :func:`psychometrics.fit_cfa`, on the pooled sample), χ² test and fit indices
    (:meth:`~psychometrics.cfa.engine.Engine.fit_measures`), standardized loadings
    (``std.all``).
``reliability``
    ω of each factor's items from that fit, :math:`\omega = (\sum\lambda)^2\psi /
    ((\sum\lambda)^2\psi + \sum\theta)` (McDonald, 1999; semTools ``compRelSEM`` with
    ``obs.var = FALSE``) with a 95 % Wald CI by the delta method from the expected-information
    covariance of the estimates (Raykov, 2002).
``invariance``
    The ML invariance ladder with its decision rule and partial releases
    (:func:`psychometrics.invariance.measurement_invariance`, ``rule="auto"``).
``irt``
    IRT DIF of every item (Likert populations with two or more groups): per factor of the
    population (items assigned to the factor they load on most), a graded response model
    (:func:`psychometrics.irt.calibrate`, Samejima 1969) gives EAP θ
    (:func:`psychometrics.irt.eap_scores`) as the matching score, and ordinal logistic
    regression DIF (:func:`psychometrics.irt.dif.ordinal_logistic_dif`; Swaminathan & Rogers
    1990, Zumbo 1999) tests each item; an item is flagged when the χ² test of uniform and
    non-uniform DIF together (M1 vs M3, df = 2(G − 1)) has p < .01 — lordif's default
    criterion (Choi, Gibbons & Crane, 2011). The matching score is purified iteratively as in
    Crane et al. (2006): flagged items are left out of the GRM that gives θ and every item is
    tested again, until the flagged set repeats (at most 5 rounds; at least 3 anchor items).

References: McDonald, R. P. (1999). *Test theory: A unified treatment*. Erlbaum.
Crane, P. K., Gibbons, L. E., Jolley, L., & van Belle, G. (2006). Differential item
functioning analysis with ordinal logistic regression techniques: DIFdetect and difwithpar.
*Medical Care, 44*, S115–S123. Choi, S. W., Gibbons, L. E., & Crane, P. K. (2011). lordif:
An R package for detecting differential item functioning using iterative hybrid ordinal
logistic regression/item response theory and Monte Carlo simulations. *Journal of
Statistical Software, 39*(8), 1–30.
Raykov, T. (2002). Analytic estimation of standard error and confidence interval for
scale reliability. *Multivariate Behavioral Research, 37*, 89–103.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from psychometrics.plan.population import Population
from psychometrics._text import quote

__all__ = ["ANALYSES", "Replication", "available", "resolve_analyses"]

Z975 = 1.959963984540054


@dataclass
class Replication:
    """One simulated data set: responses (n × p), group index per row, and its population."""

    population: Population
    data: np.ndarray
    group: np.ndarray
    alpha: float = 0.05
    fit: Any = None


@lru_cache(maxsize=32)
def _spec(model: str, groups: tuple[str, ...] = ("all",), meanstructure: bool = False):
    from psychometrics.cfa.specification import build_spec

    return build_spec(model, groups=groups, meanstructure=meanstructure)


def _stats(x: np.ndarray, observed: tuple[str, ...], items: tuple[str, ...]):
    from psychometrics.cfa.estimation import SampleStats

    cols = [items.index(v) for v in observed]
    x = x[:, cols]
    mean = x.mean(axis=0)
    c = x - mean
    cov = c.T @ c / x.shape[0]
    return SampleStats((cov,), (mean,), (x.shape[0],))


def _omega(spec, mats: dict[str, np.ndarray]) -> np.ndarray:
    """ω of each factor from model matrices (items assigned to the factor they load on)."""
    lam, psi, th = mats["lambda"], mats["psi"], np.diag(mats["theta"])
    out = np.full(lam.shape[1], np.nan)
    for k in range(lam.shape[1]):
        js = np.flatnonzero(lam[:, k] != 0)
        if js.size:
            s = lam[js, k].sum() ** 2 * psi[k, k]
            out[k] = s / (s + th[js].sum())
    return out


def _fit_single(rep: Replication):
    from psychometrics.cfa.engine import fit_ml

    if rep.fit is None:  # cfa and reliability share one fit per replication
        pop = rep.population
        spec = _spec(pop.model)
        stats = _stats(rep.data, spec.observed, pop.items)
        engine, converged, _iterations, _msg = fit_ml(spec, stats, max_iter=500)
        rep.fit = (engine, converged)
    return rep.fit


def analyse_cfa(rep: Replication) -> dict[str, float]:
    """χ² test, fit indices and standardized loadings of the analysis model."""
    engine, converged = _fit_single(rep)
    fm = engine.fit_measures()
    out: dict[str, float] = {"converged": float(converged)}
    for k in ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr"):
        out[k] = float(fm[k])
    out["reject"] = float(fm["pvalue"] < rep.alpha)
    mats, imp = engine.mats[0], engine.imp[0]
    sd_eta = np.sqrt(np.diag(imp["M"]))
    sd_ov = np.sqrt(np.diag(imp["Sigma"]))
    std = mats["lambda"] * sd_eta[None, :] / sd_ov[:, None]
    for j, item in enumerate(engine.spec.observed):
        k = int(np.argmax(np.abs(std[j])))
        out[f"lambda.{item}"] = float(std[j, k])
    return out


def analyse_reliability(rep: Replication) -> dict[str, float]:
    """ω per factor with a delta-method 95 % CI (see the module docstring)."""
    engine, converged = _fit_single(rep)
    model = engine.model
    x = engine.x
    om = _omega(engine.spec, engine.mats[0])
    V = engine.vcov()
    h = 1e-6
    grad = np.empty((len(om), len(x)))
    for i in range(len(x)):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        grad[:, i] = (_omega(engine.spec, model.matrices(xp)[0]) - _omega(engine.spec, model.matrices(xm)[0])) / (2 * h)
    se = np.sqrt(np.einsum("ki,ij,kj->k", grad, V, grad))
    out: dict[str, float] = {"converged": float(converged)}
    for k, f in enumerate(engine.spec.latent):
        out[f"omega.{f}"] = float(om[k])
        out[f"omega_lo.{f}"] = float(om[k] - Z975 * se[k])
        out[f"omega_hi.{f}"] = float(om[k] + Z975 * se[k])
    return out


def analyse_invariance(rep: Replication) -> dict[str, float]:
    """The invariance ladder: levels held, rejections, and which items were flagged non-invariant."""
    import pandas as pd

    from psychometrics.invariance import measurement_invariance

    pop = rep.population
    if len(pop.groups) < 2:
        raise ValueError("invariance needs a population with two or more groups")
    frame = pd.DataFrame(rep.data, columns=list(pop.items))
    frame.insert(0, pop.group_column, np.asarray(pop.groups, dtype=object)[rep.group])
    res = measurement_invariance(pop.model, frame, pop.group_column, rule="auto", partial=True)
    levels = ("configural", "metric", "scalar", "strict")
    out: dict[str, float] = {"level": float(levels.index(res.level))}
    converged = all(bool(getattr(f, "converged", True)) for f in res._fits.values())
    out["converged"] = float(converged)
    table = res.table
    for lv in ("metric", "scalar", "strict"):
        if lv in table.index:
            out[f"reject_{lv}"] = float(not bool(table.loc[lv, "holds"]))
            dp = float(table.loc[lv, "delta_pvalue"])
            out[f"chisq_reject_{lv}"] = float(dp < rep.alpha) if np.isfinite(dp) else np.nan
    flagged = set(res.non_invariant_items)
    for item in pop.items:
        out[f"flag.{item}"] = float(item in flagged)
    return out


IRT_ALPHA = 0.01  # lordif's default criterion: χ²(M1 vs M3) at α = .01
IRT_MAX_ROUNDS = 5  # purification rounds of the matching score
IRT_MIN_ANCHORS = 3


def _subscales(pop: Population) -> list[list[str]]:
    """The items of each factor (each item on the factor it loads on most), in item order."""
    main = np.argmax(np.abs(pop.loadings), axis=1)
    return [[pop.items[j] for j in np.flatnonzero(main == k)] for k in range(len(pop.factors))]


def analyse_irt(rep: Replication) -> dict[str, float]:
    """IRT DIF per item: GRM EAP θ (purified) + ordinal logistic regression (see the module docstring)."""
    import pandas as pd

    from psychometrics.irt import calibrate, eap_scores
    from psychometrics.irt.dif import ordinal_logistic_dif

    pop = rep.population
    frame = pd.DataFrame(rep.data, columns=list(pop.items))
    group = pd.Series(np.asarray(pop.groups, dtype=object)[rep.group], index=frame.index)
    out: dict[str, float] = {}
    converged, rounds = True, 0
    for items in _subscales(pop):
        if len(items) < IRT_MIN_ANCHORS:  # too few items for a GRM matching score: not tested
            out.update({f"flag.{i}": np.nan for i in items})
            continue
        flagged: frozenset[str] = frozenset()
        seen = {flagged}
        for _ in range(IRT_MAX_ROUNDS):
            rounds += 1
            anchor = [i for i in items if i not in flagged]
            cal = calibrate(frame[anchor], anchor)
            theta = eap_scores(cal, frame[anchor])["theta"]
            tab = ordinal_logistic_dif(frame, group, theta, items, alpha=IRT_ALPHA)
            converged &= bool(cal.converged) and bool(tab["converged"].fillna(False).all())
            p13 = tab["p_13"].reindex(items).to_numpy(dtype=float)
            new = frozenset(i for i, p in zip(items, p13) if p < IRT_ALPHA)
            if new in seen or len(items) - len(new) < IRT_MIN_ANCHORS:
                flagged = new
                break
            seen.add(new)
            flagged = new
        for i, p in zip(items, p13):
            out[f"p.{i}"] = float(p)
            out[f"flag.{i}"] = float(i in flagged) if np.isfinite(p) else np.nan
    out["converged"] = float(converged)
    out["rounds"] = float(rounds)
    return out


ANALYSES: dict[str, Callable[[Replication], dict[str, float]]] = {
    "cfa": analyse_cfa,
    "reliability": analyse_reliability,
    "invariance": analyse_invariance,
    "irt": analyse_irt,
}


def available(name: str) -> str | None:
    """None if the analysis can run here, else why not."""
    return None


def resolve_analyses(names: Any, population: Population) -> tuple[tuple[str, ...], dict[str, str]]:
    """The analyses to run and the ones skipped (name → reason); unknown names are an error."""
    from psychometrics.exceptions import SpecError

    if isinstance(names, str):
        names = [s.strip() for s in names.split(",") if s.strip()]
    names = list(dict.fromkeys(names))
    unknown = [n for n in names if n not in ANALYSES]
    if unknown:
        raise SpecError(f"unknown analysis {quote(unknown[0])}; choose from {', '.join(ANALYSES)}")
    run, skipped = [], {}
    for n in names:
        why = available(n)
        if why is None and n in ("invariance", "irt") and len(population.groups) < 2:
            why = "skipped: the population has a single group"
        if why is None and n == "irt" and not population.ordinal:
            why = ("skipped: the population's items are continuous; the IRT DIF (graded response model) needs "
                   "Likert items (a study file, or from_syntax(..., thresholds=[...]))")
        if why:
            skipped[n] = why
        else:
            run.append(n)
    if not run:
        raise SpecError("no analysis left to run: " + "; ".join(f"{k} {v}" for k, v in skipped.items()))
    return tuple(run), skipped

