r"""The population model of a planning study: from a study file or from lavaan syntax with values.

A :class:`Population` holds, in the *scored* direction, the standardized loadings Λ,
the factor correlations Φ, the residual variances Θ (diagonal), the latent means and the
planted intercept (DIF) shifts per group, the group proportions and, for Likert items,
the category thresholds. Per group *g* the items are drawn as

.. math::

    y^* = \Lambda\eta + \delta_g + \varepsilon,\quad \eta\sim N(\mu_g,\Phi),\quad
    \varepsilon\sim N(0,\Theta),

and, for ordinal items, categorised by the thresholds (Muthén, 1984) — the generating
model of :mod:`psychometrics.simulate`. ``\Sigma = \Lambda\Phi\Lambda^\top + \Theta``
is the population covariance matrix used for the analytic checks.

From a study file (:func:`from_study`) the model is the study's *scale under validation*
(companion measures are not drawn; careless responders and missing values are not
planted: the plan answers how many complete, attentive respondents are needed). From
lavaan syntax (:func:`from_syntax`) every loading needs a population value
(``f =~ 0.7*x1 + 0.6*x2``); residual variances default to 1 − λᵀΦλ (standardized
items), factor variances to 1, factor covariances to the values given (``f1 ~~ 0.3*f2``)
or 0, and the data are continuous (multivariate normal).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from psychometrics.exceptions import SpecError
from psychometrics._text import quote

__all__ = ["Population", "from_study", "from_syntax", "analysis_syntax"]


@dataclass(frozen=True, eq=False)
class Population:
    """A compiled population model (see the module docstring). Arrays are in item order."""

    items: tuple[str, ...]
    factors: tuple[str, ...]
    loadings: np.ndarray  # p × m
    phi: np.ndarray  # m × m
    theta: np.ndarray  # p residual variances
    groups: tuple[str, ...] = ("all",)
    proportions: tuple[float, ...] = (1.0,)
    means: np.ndarray = field(default_factory=lambda: np.zeros((1, 0)))  # G × m
    dif: np.ndarray = field(default_factory=lambda: np.zeros((1, 0)))  # G × p
    thresholds: np.ndarray | None = None  # p × width, padded with +inf (ordinal items)
    item_min: np.ndarray | None = None
    model: str = ""  # the analysis model (lavaan syntax, free parameters)
    source: str = ""  # where the model came from, for the report
    group_column: str = "group"

    @property
    def ordinal(self) -> bool:
        return self.thresholds is not None

    @property
    def sigma(self) -> np.ndarray:
        """Population covariance matrix of the (latent) responses, ΛΦΛᵀ + Θ."""
        return self.loadings @ self.phi @ self.loadings.T + np.diag(self.theta)

    @property
    def dif_items(self) -> tuple[str, ...]:
        """Items with a planted intercept shift in some group."""
        return tuple(it for j, it in enumerate(self.items) if np.any(self.dif[:, j] != 0))

    def std_loadings(self) -> dict[str, float]:
        """Population standardized loading of each item on its (largest) factor."""
        lam = self.loadings / np.sqrt(np.diag(self.sigma))[:, None]
        return {it: float(lam[j, np.argmax(np.abs(self.loadings[j]))]) for j, it in enumerate(self.items)}

    def omega(self) -> dict[str, float]:
        r"""Population ω of each factor's items: (Σλ)² / ((Σλ)² + Σθ) for congeneric items of one factor."""
        out = {}
        main = np.argmax(np.abs(self.loadings), axis=1)
        for k, f in enumerate(self.factors):
            js = np.flatnonzero(main == k)
            if js.size:
                s = float(self.loadings[js, k].sum()) ** 2
                out[f] = s / (s + float(self.theta[js].sum()))
        return out

    def group_counts(self, n: int, proportions: tuple[float, ...] | None = None) -> np.ndarray:
        """Largest-remainder rounding of n × proportions (as the simulator; default: the population's)."""
        props = np.asarray(self.proportions if proportions is None else proportions, dtype=float)
        raw = n * props
        counts = np.floor(raw).astype(np.int64)
        order = np.argsort(-(raw - counts), kind="stable")
        counts[order[: n - int(counts.sum())]] += 1
        return counts

    def draw(self, n: int, rng: np.random.Generator, dif_scale: float = 1.0,
             proportions: tuple[float, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One data set: (n × p responses, group index of each row); groups in blocks, reference first."""
        counts = self.group_counts(n, proportions)
        g = np.repeat(np.arange(len(counts)), counts)
        m, p = self.phi.shape[0], len(self.items)
        chol = np.linalg.cholesky(self.phi)
        eta = rng.standard_normal((n, m)) @ chol.T + self.means[g]
        y = eta @ self.loadings.T + dif_scale * self.dif[g]
        y += rng.standard_normal((n, p)) * np.sqrt(self.theta)
        if self.thresholds is not None:
            y = (y[:, :, None] > self.thresholds[None, :, :]).sum(axis=2) + self.item_min
            y = y.astype(np.float64)
        return y, g

    def check(self, n: int, proportions: tuple[float, ...] | None = None) -> None:
        """Raise :class:`SpecError` if a data set of size ``n`` cannot be simulated or analysed."""
        if n < 2:
            raise SpecError(f"sample size {n} is too small; give sizes of at least {len(self.items) + 1}")
        if proportions is not None:
            if len(proportions) != len(self.groups) or any(not 0 < q <= 1 for q in proportions) \
                    or abs(sum(proportions) - 1) > 1e-6:
                raise SpecError(f"group allocation {list(proportions)}: give one share in (0, 1] per group "
                                f"({', '.join(self.groups)}) summing to 1")
        for gid, c in zip(self.groups, self.group_counts(n, proportions)):
            if c <= len(self.items):
                where = f"group {quote(gid)}" if len(self.groups) > 1 else "the sample"
                raise SpecError(
                    f"n = {n}: {where} would have {int(c)} respondents, not more than the {len(self.items)} "
                    "items, so its covariance matrix is singular; raise the smallest n in --n")


def _validate(pop: Population) -> Population:
    """Positive-definite Φ and Σ, loadings in range, residual variances positive."""
    items = pop.items
    if not np.all(np.isfinite(pop.loadings)):
        raise SpecError("population loadings must be finite numbers")
    try:
        np.linalg.cholesky(pop.phi)
    except np.linalg.LinAlgError:
        low = float(np.linalg.eigvalsh(pop.phi).min())
        raise SpecError(f"the population factor correlation matrix is not positive definite (smallest eigenvalue "
                        f"{low:.4g}); make the factor correlations mutually consistent") from None
    if np.any(np.abs(np.diag(pop.phi) - 1) > 1e-12) or np.any(np.abs(pop.phi) > 1 + 1e-12):
        raise SpecError("population factor variances must be 1 and factor correlations within (-1, 1)")
    bad = [items[j] for j in np.flatnonzero(~(pop.theta > 0))]
    if bad:
        common = np.einsum("jk,kl,jl->j", pop.loadings, pop.phi, pop.loadings)
        j = items.index(bad[0])
        raise SpecError(f"population item {quote(bad[0])}: residual variance {pop.theta[j]:.4g} is not positive "
                        f"(the loadings explain {common[j]:.3f} of a unit variance); lower its loading(s) to |λ| < 1")
    sig = pop.sigma
    w = np.linalg.eigvalsh(sig)
    if w.min() <= 1e-10 * max(1.0, w.max()):
        raise SpecError(f"the population covariance matrix is not positive definite (smallest eigenvalue "
                        f"{w.min():.4g}); check the loadings and residual variances")
    if len(pop.proportions) != len(pop.groups) or any(not 0 < q <= 1 for q in pop.proportions) \
            or abs(sum(pop.proportions) - 1) > 1e-6:
        raise SpecError(f"group proportions must be in (0, 1] and sum to 1, got {list(pop.proportions)}")
    return pop


def from_study(study: Any) -> Population:
    """The population of a study file's scale under validation (see the module docstring)."""
    from psychometrics.cfa.models import correlated_factors
    from psychometrics.simulate import Study, load_study

    if not isinstance(study, Study):
        study = load_study(study)
    scale_items = [it.id for it in study.scale.items]
    rows = [study.item_ids.index(i) for i in scale_items]
    factors = [s.id for s in study.scale.subscales]
    cols = [list(study.factor_correlations.columns).index(f) for f in factors]
    lam = study.loadings.to_numpy()[np.ix_(rows, cols)]
    other = np.delete(study.loadings.to_numpy()[rows], cols, axis=1)
    if np.any(other != 0):
        raise SpecError("the scale's items cross-load on factors of other measures; the plan cannot simulate the "
                        "scale alone")
    phi = study.factor_correlations.to_numpy()[np.ix_(cols, cols)]
    theta = 1.0 - np.einsum("jk,kl,jl->j", lam, phi, lam)
    groups = study.groups or ("all",)
    props = tuple(lv.proportion for lv in study.spec.group.levels) if study.spec.group else (1.0,)
    thr = study._thr[rows]
    width = max(1, int(np.isfinite(thr).sum(axis=1).max()))
    pop = Population(
        items=tuple(scale_items), factors=tuple(factors), loadings=lam, phi=phi, theta=theta,
        groups=tuple(groups), proportions=props, means=study._means[:, cols], dif=study._dif[:, rows],
        thresholds=thr[:, :width].copy(), item_min=study._item_min[rows].copy(),
        model=correlated_factors(study.scale),
        source=f"study file {study.path.name if study.path else study.id} (scale {study.scale.id})",
        group_column=study.group_column or "group",
    )
    return _validate(pop)


def analysis_syntax(syntax: str) -> str:
    """The analysis model of a population syntax: every value modifier dropped (all parameters free)."""
    import re

    lines = []
    for line in syntax.splitlines():
        line = line.split("#", 1)[0]
        if "~~" in line:
            continue  # population (co)variances: the analysis model uses lavaan's defaults
        lines.append(re.sub(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*\*\s*", "", line))
    return "\n".join(ln for ln in lines if ln.strip())


def from_syntax(
    syntax: str,
    *,
    model: str | None = None,
    groups: dict[str, float] | None = None,
    latent_means: dict[str, dict[str, float]] | None = None,
    dif: list[dict[str, Any]] | None = None,
    thresholds: list[float] | None = None,
) -> Population:
    """A population from lavaan syntax with values (``f =~ 0.7*x1 + 0.6*x2``; ``f1 ~~ 0.3*f2``).

    ``model`` is the analysis model (default: the same syntax with the values removed);
    ``groups`` maps group ids to proportions (first = reference); ``latent_means`` maps a
    group to factor mean shifts; ``dif`` lists ``{"item", "group", "shift"}`` intercept shifts;
    ``thresholds`` (increasing, on the scale of the standardized latent responses) makes every
    item a Likert item with ``len(thresholds) + 1`` categories coded 1, 2, … (continuous data
    without it).
    """
    from psychometrics.cfa.estimation import CompiledModel
    from psychometrics.cfa.specification import build_spec
    from psychometrics.exceptions import ModelSyntaxError

    try:
        spec = build_spec(syntax, std_lv=True)
    except ModelSyntaxError as exc:
        raise SpecError(f"population model: {exc}") from None
    free_load = [f"{p.lhs} =~ {p.rhs}" for p in spec.parameters if p.free and p.op == "=~"]
    if free_load:
        raise SpecError(f"population model: loading(s) {', '.join(free_load[:5])} have no population value; "
                        "write them as value*item (e.g. f =~ 0.7*x1)")
    if any(p.matrix == "beta" for p in spec.parameters):
        raise SpecError("population model: factors loading on factors are not supported; give first-order factors")
    mats = CompiledModel(spec).matrices(np.zeros(spec.n_free))[0]
    lam = mats["lambda"]
    m = lam.shape[1]
    phi = mats["psi"].copy()
    np.fill_diagonal(phi, 1.0)
    for p in spec.parameters:
        if p.matrix == "psi" and p.row == p.col and not p.free and abs(p.value - 1.0) > 1e-12:
            raise SpecError(f"population model: factor variance '{p.lhs} ~~ {p.rhs}' must be 1 (standardized)")
    theta_fixed = {p.row: p.value for p in spec.parameters if p.matrix == "theta" and p.row == p.col and not p.free}
    common = np.einsum("jk,kl,jl->j", lam, phi, lam) if m else np.zeros(lam.shape[0])
    theta = np.array([theta_fixed.get(j, 1.0 - common[j]) for j in range(lam.shape[0])])
    items = tuple(spec.observed)
    factors = tuple(spec.latent)
    gids = tuple(groups) if groups else ("all",)
    props = tuple(float(v) for v in groups.values()) if groups else (1.0,)
    means = np.zeros((len(gids), m))
    for g, shifts in (latent_means or {}).items():
        if g not in gids:
            raise SpecError(f"latent_means: unknown group {quote(g)} (groups: {', '.join(gids)})")
        for f, v in shifts.items():
            if f not in factors:
                raise SpecError(f"latent_means.{g}: unknown factor {quote(f)}")
            means[gids.index(g), factors.index(f)] = float(v)
    shifts = np.zeros((len(gids), len(items)))
    for i, d in enumerate(dif or []):
        if d.get("item") not in items:
            raise SpecError(f"dif[{i}]: unknown item {quote(d.get('item'))}")
        if d.get("group") not in gids[1:]:
            raise SpecError(f"dif[{i}]: group {quote(d.get('group'))} is not a non-reference group ({', '.join(gids[1:])})")
        shifts[gids.index(d["group"]), items.index(d["item"])] += float(d["shift"])
    thr = item_min = None
    if thresholds is not None:
        t = np.asarray(thresholds, dtype=float).ravel()
        if t.size < 1 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
            raise SpecError(f"thresholds must be finite and strictly increasing, got {list(t)[:10]}")
        thr, item_min = np.tile(t, (len(items), 1)), np.ones(len(items))
    pop = Population(items=items, factors=factors, loadings=lam, phi=phi, theta=theta, groups=gids,
                     proportions=props, means=means, dif=shifts, thresholds=thr, item_min=item_min,
                     model=model or analysis_syntax(syntax), source="lavaan syntax with population values")
    return _validate(pop)


def load_population(source: str | os.PathLike[str], **kw: Any) -> Population:
    """A study file path (``.yaml``/``.yml``, or ``"default"`` for the demo study) or lavaan syntax."""
    from psychometrics.simulate import default_study_path

    text = str(source)
    if text == "default":
        return from_study(default_study_path())
    if ("=~" not in text) and text.lower().endswith((".yaml", ".yml")):
        return from_study(text)
    if "=~" in text:
        return from_syntax(text, **kw)
    if os.path.isfile(text):
        return from_syntax(open(text, encoding="utf-8").read(), **kw)
    raise SpecError(f"{quote(text)}: give a study file (.yaml), a file with lavaan syntax, or lavaan syntax with "
                    "population values")

