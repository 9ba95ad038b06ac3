"""A study: its file read and validated, its scales loaded and its population model compiled.

:func:`load_study` parses the YAML against :mod:`~psychometrics.simulate.spec` and
:func:`_compile` checks the population model against the scales (every item, factor,
group and threshold named must exist; Φ must be a positive-definite correlation
matrix; loadings must leave residual variance), building the arrays the simulator
draws from. Every problem raises one :class:`~psychometrics.exceptions.SpecError`
naming the file and the field path.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from psychometrics.exceptions import SpecError
from psychometrics.scale import Scale
from psychometrics.simulate.spec import PopulationSpec, StudySpec, _describe
from psychometrics._text import quote


@dataclass(frozen=True, eq=False)
class Study:
    """A validated study: the spec, its scales and the compiled population model.

    Build with :func:`load_study` (or :meth:`Study.from_yaml`). Arrays are in the column
    order of :attr:`item_ids` (scale first, then the companion measures in file order).

    Attributes
    ----------
    spec : StudySpec
        The parsed study file.
    path : pathlib.Path or None
        Where the study was read from.
    scale : Scale
        The scale under validation.
    measures : tuple of Scale
        The companion measures.
    item_ids : tuple of str
        All simulated item columns.
    loadings : pandas.DataFrame
        Standardized loadings, items × factors (zeros where an item does not load).
    factor_correlations : pandas.DataFrame
        The factor correlation matrix Φ.
    thresholds : dict of str to tuple of float
        Category thresholds of every item on its standardized latent response.
    """

    spec: StudySpec
    path: Path | None
    scale: Scale
    measures: tuple[Scale, ...]
    item_ids: tuple[str, ...]
    loadings: pd.DataFrame
    factor_correlations: pd.DataFrame
    thresholds: dict[str, tuple[float, ...]]
    # compiled arrays used by the simulator
    _item_min: np.ndarray = field(repr=False)
    _item_max: np.ndarray = field(repr=False)
    _reverse: np.ndarray = field(repr=False)
    _resid_sd: np.ndarray = field(repr=False)
    _thr: np.ndarray = field(repr=False)
    _chol: np.ndarray = field(repr=False)
    _means: np.ndarray = field(repr=False)
    _dif: np.ndarray = field(repr=False)
    _blocks: tuple[np.ndarray, ...] = field(repr=False)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> Study:
        """Read and validate a study file; see :func:`load_study`."""
        return load_study(path)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def n(self) -> int:
        """Default sample size."""
        return self.spec.n

    @property
    def scales(self) -> tuple[Scale, ...]:
        """The scale under validation followed by the companion measures."""
        return (self.scale, *self.measures)

    @property
    def group_column(self) -> str | None:
        return self.spec.group.column if self.spec.group else None

    @property
    def groups(self) -> tuple[str, ...]:
        """Group level ids (first = reference); empty without a grouping variable."""
        return tuple(lv.id for lv in self.spec.group.levels) if self.spec.group else ()

    @property
    def planted(self) -> dict[str, Any]:
        """The problems the population model plants, for reports and tests.

        ``weak_items``: items whose largest absolute loading is below .40;
        ``cross_loading_items``: items loading on more than one factor (item -> factors);
        ``dif``: list of ``{"item", "group", "shift"}``; ``missing_rate``;
        ``straight_liners`` and ``random_responders``: shares of respondents.
        """
        lam = self.loadings
        nonzero = lam != 0
        return {
            "weak_items": [i for i in lam.index if lam.loc[i].abs().max() < 0.40],
            "cross_loading_items": {
                i: [f for f in lam.columns if nonzero.loc[i, f]]
                for i in lam.index
                if nonzero.loc[i].sum() > 1
            },
            "dif": [d.model_dump() for d in self.spec.population.dif],
            "missing_rate": self.spec.missing.rate,
            "straight_liners": self.spec.careless.straight_liners,
            "random_responders": self.spec.careless.random,
        }

    @property
    def scale_files(self) -> dict[str, Path]:
        """Resolved path of every scale file, by scale id."""
        base = self.path.parent if self.path else Path.cwd()
        files = [self.spec.scale, *self.spec.measures]
        return {s.id: (base / f).resolve() for s, f in zip(self.scales, files)}


# ----------------------------------------------------------------------- loading
def load_study(path: str | os.PathLike[str]) -> Study:
    """Read a study file, load its scales and validate the population model.

    Parameters
    ----------
    path : str or path-like
        The study YAML file. Scale paths inside it are relative to its folder.

    Returns
    -------
    Study

    Raises
    ------
    SpecError
        On any problem, naming the file and the field path (e.g.
        ``mentorship_study.yaml: population.loadings.MSS11: ...``).
    """
    from psychometrics._yaml import load_yaml

    path = Path(path)
    if not path.is_file():
        raise SpecError(f"Study file {path} not found; give the path of a study YAML file or 'default'")
    raw = load_yaml(path, "Study file", SpecError)
    if not isinstance(raw, dict):
        raise SpecError(f"Study file {path}: must be a YAML mapping of fields (key: value pairs)")
    try:
        spec = StudySpec.model_validate(raw)
    except ValidationError as exc:
        lines = [_describe(e) for e in exc.errors()]
        raise SpecError(
            f"Invalid study file {path}: {len(lines)} problem{'s' if len(lines) != 1 else ''}\n  "
            + "\n  ".join(lines)
            + "\nFix the field(s) named above (schema: docs/mentorship-scale.md)."
        ) from None
    return _compile(spec, path)



# ------------------------------------------------------- compiling the population model
# Each step checks one part of the population model against the scales and returns the
# arrays the simulator needs; ``fail(field_path, message)`` builds the SpecError. The
# steps run in this order, so the first problem found is the one reported.
Fail = Callable[[str, str], SpecError]


def _compile(spec: StudySpec, path: Path) -> Study:
    def fail(field_path: str, message: str) -> SpecError:
        return SpecError(f"Invalid study file {path}: {field_path}: {message}")

    scales, item_scale = _load_scales(spec, path, fail)
    items = list(item_scale)
    pop = spec.population
    factors = pop.factors
    fidx, phi, chol = _factor_correlations(pop, scales, fail)
    k = len(factors)
    groups, gidx, means = _latent_means(spec, fidx, k, fail)
    lam, jidx, common = _loadings(pop, scales, items, item_scale, fidx, phi, fail)
    item_min, item_max, thr, thresholds = _thresholds(pop, scales, items, item_scale, jidx, fail)
    dif = _dif_shifts(spec, groups, gidx, items, jidx, fail)
    _check_missing_code(spec, scales, fail)

    reverse = np.array([bool(it.reverse) for s in scales for it in s.items])
    blocks = []
    start = 0
    for s in scales:
        blocks.append(np.arange(start, start + len(s.items)))
        start += len(s.items)

    return Study(
        spec=spec,
        path=path.resolve(),
        scale=scales[0],
        measures=tuple(scales[1:]),
        item_ids=tuple(items),
        loadings=pd.DataFrame(lam, index=pd.Index(items, name="item"), columns=list(factors)),
        factor_correlations=pd.DataFrame(phi, index=list(factors), columns=list(factors)),
        thresholds=thresholds,
        _item_min=item_min,
        _item_max=item_max,
        _reverse=reverse,
        _resid_sd=np.sqrt(1.0 - common),
        _thr=thr,
        _chol=chol,
        _means=means,
        _dif=dif,
        _blocks=tuple(blocks),
    )


def _load_scales(spec: StudySpec, path: Path, fail: Fail) -> tuple[list[Scale], dict[str, Scale]]:
    """The study's scales (scale first, then the measures) and item id → its scale.

    Scale ids and item ids must be unique across the study (items become data
    columns), only Likert scales can be simulated, and the group column must not be
    an item id or ``id``.
    """
    scales: list[Scale] = []
    for field_path, rel in [("scale", spec.scale)] + [
        (f"measures[{i}]", m) for i, m in enumerate(spec.measures)
    ]:
        file = (path.parent / rel).resolve()
        if not file.is_file():
            raise fail(field_path, f"scale file {quote(rel)} not found (looked for {file})")
        scales.append(Scale.from_yaml(file))
    seen: dict[str, str] = {}
    for s in scales:
        if s.id in seen:
            raise fail("measures", f"scale id {quote(s.id)} is used by two files")
        seen[s.id] = s.id
        if s.response_format.type != "likert":
            raise fail("measures", f"scale {quote(s.id)}: only likert response formats can be simulated")
    item_scale: dict[str, Scale] = {}
    for s in scales:
        for it in s.items:
            if it.id in item_scale:
                raise fail(
                    "measures",
                    f"item id {quote(it.id)} occurs in scale {quote(item_scale[it.id].id)} and in "
                    f"{quote(s.id)}; item ids become data columns and must be unique",
                )
            item_scale[it.id] = s
    if spec.group and spec.group.column in item_scale:
        raise fail("group.column", f"{quote(spec.group.column)} is also an item id")
    if spec.group and spec.group.column == "id":
        raise fail("group.column", "'id' is reserved for the respondent id column")
    return scales, item_scale


def _factor_correlations(pop: PopulationSpec, scales: list[Scale],
                         fail: Fail) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """Factor index, Φ and its Cholesky factor; one factor per subscale of every scale."""
    factors = pop.factors
    dup = sorted({f for f in factors if factors.count(f) > 1})
    if dup:
        raise fail("population.factors", f"duplicate factor(s): {', '.join(dup)}")
    fidx = {f: k for k, f in enumerate(factors)}
    subscale_owner: dict[str, str] = {}
    for s in scales:
        for sub in s.subscales:
            if sub.id in subscale_owner:
                raise fail(
                    "population.factors",
                    f"subscale id {quote(sub.id)} occurs in scales {quote(subscale_owner[sub.id])} and "
                    f"{quote(s.id)}; each subscale needs its own factor, so rename one of them",
                )
            subscale_owner[sub.id] = s.id
    missing_f = [sub for sub in subscale_owner if sub not in fidx]
    if missing_f:
        raise fail("population.factors", f"no factor for subscale(s) {', '.join(missing_f)}")
    extra_f = [f for f in factors if f not in subscale_owner]
    if extra_f:
        raise fail(
            "population.factors",
            f"{', '.join(extra_f)} is not a subscale id of any scale in the study",
        )
    k = len(factors)
    phi = _correlation_matrix(pop.correlations, k, fail)
    try:
        chol = np.linalg.cholesky(phi)
    except np.linalg.LinAlgError:
        low = float(np.linalg.eigvalsh(phi).min())
        raise fail(
            "population.correlations",
            f"the matrix is not positive definite (smallest eigenvalue {low:.4g}); "
            "make the correlations mutually consistent",
        ) from None
    return fidx, phi, chol


def _latent_means(spec: StudySpec, fidx: dict[str, int], k: int,
                  fail: Fail) -> tuple[list[str], dict[str, int], np.ndarray]:
    """Group ids (``["all"]`` without groups), their index and the latent means (groups × factors)."""
    pop = spec.population
    groups = [lv.id for lv in spec.group.levels] if spec.group else ["all"]
    gidx = {g: i for i, g in enumerate(groups)}
    means = np.zeros((len(groups), k))
    for g, shifts in pop.latent_means.items():
        if g not in gidx or not spec.group:
            raise fail(f"population.latent_means.{g}", f"unknown group level {quote(g)}")
        for f, v in shifts.items():
            if f not in fidx:
                raise fail(f"population.latent_means.{g}.{f}", f"unknown factor {quote(f)}")
            means[gidx[g], fidx[f]] = v
    return groups, gidx, means


def _loadings(pop: PopulationSpec, scales: list[Scale], items: list[str], item_scale: dict[str, Scale],
              fidx: dict[str, int], phi: np.ndarray, fail: Fail) -> tuple[np.ndarray, dict[str, int], np.ndarray]:
    """Λ (items × factors), item index, and the common variance λⱼᵀΦλⱼ of each item (must stay below 1)."""
    k = len(fidx)
    lam = np.zeros((len(items), k))
    unknown = [i for i in pop.loadings if i not in item_scale]
    if unknown:
        raise fail(f"population.loadings.{unknown[0]}", f"no item {quote(unknown[0])} in the study's scales")
    absent = [i for i in items if i not in pop.loadings]
    if absent:
        raise fail("population.loadings", f"missing loading(s) for item(s) {', '.join(absent)}")
    sub_of = {it.id: it.subscale for s in scales for it in s.items}
    for j, item in enumerate(items):
        value = pop.loadings[item]
        if not -1.0 < value < 1.0:
            raise fail(f"population.loadings.{item}", f"a standardized loading must lie in (-1, 1), got {value}")
        if sub_of[item] is None or sub_of[item] not in fidx:
            raise fail(f"population.loadings.{item}", f"item {quote(item)} has no subscale, so no factor")
        lam[j, fidx[sub_of[item]]] = value
    jidx = {it: j for j, it in enumerate(items)}
    for item, extra in pop.cross_loadings.items():
        if item not in jidx:
            raise fail(f"population.cross_loadings.{item}", f"no item {quote(item)} in the study's scales")
        for f, v in extra.items():
            if f not in fidx:
                raise fail(f"population.cross_loadings.{item}.{f}", f"unknown factor {quote(f)}")
            if f == sub_of[item]:
                raise fail(f"population.cross_loadings.{item}.{f}", "this is the item's own factor; set it under loadings")
            lam[jidx[item], fidx[f]] = v
    common = np.einsum("jk,kl,jl->j", lam, phi, lam)
    bad = [items[j] for j in np.flatnonzero(common >= 1.0)]
    if bad:
        raise fail(
            f"population.loadings.{bad[0]}",
            f"loadings explain {common[jidx[bad[0]]]:.3f} >= 1 of the item's variance; lower them",
        )
    return lam, jidx, common


def _thresholds(pop: PopulationSpec, scales: list[Scale], items: list[str], item_scale: dict[str, Scale],
                jidx: dict[str, int], fail: Fail
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, tuple[float, ...]]]:
    """Lowest and highest category per item, thresholds padded with +inf (items × max width), and by item.

    An item's thresholds are given under ``thresholds`` or derived from its scale's
    ``response_distributions``.
    """
    item_min = np.array([int(item_scale[i].response_format.min) for i in items], dtype=np.int64)
    item_max = np.array([int(item_scale[i].response_format.max) for i in items], dtype=np.int64)
    width = int((item_max - item_min).max())
    thr = np.full((len(items), width), np.inf)
    thresholds: dict[str, tuple[float, ...]] = {}
    scale_ids = {s.id for s in scales}
    for sid, props in pop.response_distributions.items():
        if sid not in scale_ids:
            raise fail(f"population.response_distributions.{sid}", f"unknown scale id {quote(sid)}")
    for item, t in pop.thresholds.items():
        if item not in jidx:
            raise fail(f"population.thresholds.{item}", f"no item {quote(item)} in the study's scales")
    for s in scales:
        ncat = int(s.response_format.max) - int(s.response_format.min) + 1
        derived: tuple[float, ...] | None = None
        if s.id in pop.response_distributions:
            derived = _thresholds_from_proportions(
                pop.response_distributions[s.id], ncat, f"population.response_distributions.{s.id}", fail
            )
        for it in s.items:
            if it.id in pop.thresholds:
                t = tuple(float(x) for x in pop.thresholds[it.id])
                where = f"population.thresholds.{it.id}"
                if len(t) != ncat - 1:
                    raise fail(where, f"needs {ncat - 1} thresholds for {ncat} categories, got {len(t)}")
                if not all(math.isfinite(x) for x in t) or any(b <= a for a, b in zip(t, t[1:])):
                    raise fail(where, "thresholds must be finite and strictly increasing")
            elif derived is not None:
                t = derived
            else:
                raise fail(
                    "population.response_distributions",
                    f"no distribution for scale {quote(s.id)} and no thresholds for its item {quote(it.id)}",
                )
            thresholds[it.id] = t
            thr[jidx[it.id], : len(t)] = t
    return item_min, item_max, thr, thresholds


def _dif_shifts(spec: StudySpec, groups: list[str], gidx: dict[str, int], items: list[str],
                jidx: dict[str, int], fail: Fail) -> np.ndarray:
    """Planted DIF: the shift of each item's latent response in each group (groups × items)."""
    dif = np.zeros((len(groups), len(items)))
    for i, d in enumerate(spec.population.dif):
        if d.item not in jidx:
            raise fail(f"population.dif[{i}].item", f"no item {quote(d.item)} in the study's scales")
        if not spec.group or d.group not in gidx:
            raise fail(f"population.dif[{i}].group", f"unknown group level {quote(d.group)}")
        dif[gidx[d.group], jidx[d.item]] += d.shift
    return dif


def _check_missing_code(spec: StudySpec, scales: list[Scale], fail: Fail) -> None:
    """A missing code written into the data must be a missing code of every scale (to read it back)."""
    code = spec.missing.code
    if code is not None:
        for s in scales:
            if code not in tuple(s.response_format.missing_codes or ()):
                raise fail(
                    "missing.code",
                    f"{code} is not a missing-value code of scale {quote(s.id)} (its codes: "
                    f"{list(s.response_format.missing_codes or ())}); the data could not be read back",
                )


def _correlation_matrix(rows: list[list[float]], k: int, fail) -> np.ndarray:
    """Build Φ from a lower triangle (row i has i + 1 entries) or a full k × k matrix."""
    where = "population.correlations"
    if len(rows) != k:
        raise fail(where, f"needs {k} rows (one per factor), got {len(rows)}")
    full = all(len(r) == k for r in rows)
    if not full:
        for i, r in enumerate(rows):
            if len(r) != i + 1:
                raise fail(
                    f"{where}[{i}]",
                    f"row {i + 1} has {len(r)} entries; give a lower triangle (row i has i "
                    f"entries, ending with 1.0) or a full {k} x {k} matrix",
                )
    phi = np.eye(k)
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            if full and j > i:
                if abs(v - rows[j][i]) > 1e-12:
                    raise fail(f"{where}[{i}][{j}]", f"matrix is not symmetric ({v} vs {rows[j][i]})")
                continue
            if i == j:
                if abs(v - 1.0) > 1e-12:
                    raise fail(f"{where}[{i}][{j}]", f"diagonal entries must be 1, got {v}")
            elif not -1.0 < v < 1.0:
                raise fail(f"{where}[{i}][{j}]", f"a correlation must lie in (-1, 1), got {v}")
            else:
                phi[i, j] = phi[j, i] = v
    return phi


def _thresholds_from_proportions(props: list[float], ncat: int, where: str, fail) -> tuple[float, ...]:
    """Thresholds τ_k = Φ⁻¹(p_1 + … + p_k) so a y* ~ N(0, 1) item has these proportions."""
    if len(props) != ncat:
        raise fail(where, f"needs {ncat} proportions (one per category), got {len(props)}")
    if any(not (0.0 < p < 1.0) for p in props):
        raise fail(where, "every category proportion must lie strictly between 0 and 1")
    if abs(sum(props) - 1.0) > 1e-6:
        raise fail(where, f"proportions must sum to 1, they sum to {sum(props):.6g}")
    cum = np.cumsum(props)[:-1]
    nd = NormalDist()
    return tuple(nd.inv_cdf(float(c)) for c in cum)

