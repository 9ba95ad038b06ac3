"""Study simulator: realistic Likert responses from a declarative population model.

A *study file* (YAML, schema in ``docs/mentorship-scale.md``) names the scale under
validation, its companion measures, a grouping variable and a population model: factor
correlations, standardized loadings, category thresholds, latent mean differences between
groups, and deliberately planted problems (weak and cross-loading items, differential item
functioning, missing values, careless responders). :func:`simulate_study` draws a data set
from it; :func:`load_study` reads and validates it.

The generating model is the common-factor model for ordinal items with a latent response
variable (Muthén, 1984; Bollen, 1989, ch. 9). For respondent *i* in group *g*

.. math::

    \\eta_i \\sim N(\\mu_g, \\Phi), \\qquad
    y^*_{ij} = \\lambda_j^\\top \\eta_i + \\delta_{gj} + \\varepsilon_{ij}, \\qquad
    \\varepsilon_{ij} \\sim N(0, 1 - \\lambda_j^\\top \\Phi \\lambda_j),

so that :math:`\\operatorname{Var}(y^*_{ij}) = 1` in the reference group (standardized
loadings), :math:`\\delta_{gj}` is a DIF shift of item *j* in group *g*, and the scored
category is :math:`\\min + \\#\\{k : y^*_{ij} > \\tau_{jk}\\}`. Everything is expressed in
the *scored* direction (after reverse keying); reverse-keyed items are written out as a
respondent would answer them, ``min + max - scored``, so that
:func:`psychometrics.load_responses` recovers the construct direction.

References
----------
Muthén, B. (1984). A general structural equation model with dichotomous, ordered
categorical, and continuous latent variable indicators. *Psychometrika, 49*, 115–132.
Bollen, K. A. (1989). *Structural equations with latent variables*. Wiley.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from psychometrics.exceptions import SpecError

if TYPE_CHECKING:  # pragma: no cover
    from psychometrics.scale import Scale

__all__ = [
    "Study",
    "StudySpec",
    "load_study",
    "simulate_study",
    "default_study_path",
    "embedded_scales_dir",
    "write_table",
    "OUTPUT_FORMATS",
]

DEFAULT_STUDY_FILE = "mentorship_study.yaml"
OUTPUT_FORMATS = (".csv", ".tsv", ".xlsx", ".parquet")

_Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
_Share = Annotated[float, Field(ge=0.0, lt=0.5)]
_MODELS: dict[str | None, type[Any]] = {}  # field name -> schema model found under it


# ---------------------------------------------------------------- schema (pydantic)
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GroupLevel(_Strict):
    """One level of the grouping variable."""

    id: Annotated[str, Field(min_length=1)]
    label: str | None = None
    proportion: Annotated[float, Field(gt=0.0, le=1.0)]


class GroupSpec(_Strict):
    """The grouping variable: output column name and its levels (first = reference)."""

    column: Annotated[str, Field(min_length=1)]
    levels: Annotated[list[GroupLevel], Field(min_length=1)]

    @field_validator("levels")
    @classmethod
    def _check_levels(cls, levels: list[GroupLevel]) -> list[GroupLevel]:
        ids = [lv.id for lv in levels]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate group level id(s): {', '.join(dup)}")
        total = sum(lv.proportion for lv in levels)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"level proportions must sum to 1, they sum to {total:.6g}")
        return levels


class DifSpec(_Strict):
    """A planted DIF effect: shift of one item's latent response in one group."""

    item: str
    group: str
    shift: float


class PopulationSpec(_Strict):
    """Population model in the scored direction (see the module docstring)."""

    factors: Annotated[list[_Slug], Field(min_length=1)]
    correlations: list[list[float]]
    latent_means: dict[str, dict[str, float]] = {}
    loadings: dict[str, float]
    cross_loadings: dict[str, dict[str, float]] = {}
    response_distributions: dict[str, list[float]] = {}
    thresholds: dict[str, list[float]] = {}
    dif: list[DifSpec] = []


class MissingSpec(_Strict):
    """Missing values completely at random (MCAR) over all item cells."""

    rate: _Share = 0.0
    code: int | None = None


class CarelessSpec(_Strict):
    """Shares of careless respondents (disjoint sets of rows)."""

    straight_liners: _Share = 0.0
    random: _Share = 0.0

    @model_validator(mode="after")
    def _check(self) -> CarelessSpec:
        if self.straight_liners + self.random >= 0.5:
            raise ValueError("straight_liners + random must be below 0.5")
        return self


class StudySpec(_Strict):
    """Top level of a study file."""

    id: _Slug
    name: str
    version: str = "1.0.0"
    description: str | None = None
    scale: str
    measures: list[str] = []
    n: Annotated[int, Field(ge=1)]
    group: GroupSpec | None = None
    population: PopulationSpec
    missing: MissingSpec = Field(default_factory=MissingSpec)
    careless: CarelessSpec = Field(default_factory=CarelessSpec)


_MODELS.update(
    {
        None: StudySpec,
        "group": GroupSpec,
        "levels": GroupLevel,
        "population": PopulationSpec,
        "dif": DifSpec,
        "missing": MissingSpec,
        "careless": CarelessSpec,
    }
)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


# ---------------------------------------------------------------------- Study object
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
    import yaml

    path = Path(path)
    if not path.is_file():
        raise SpecError(f"Study file {path} not found; give the path of a study YAML file or 'default'")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SpecError(f"Study file {path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
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


def _describe(err: dict[str, Any]) -> str:
    """One line per pydantic problem: field path, then a plain-language message."""
    import difflib

    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        names = [p for p in loc[:-1] if isinstance(p, str)]
        model = _MODELS.get(names[-1] if names else None)
        allowed = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        msg = f"unknown field {loc[-1]!r}" + (f"; did you mean {close[0]!r}?" if close else "")
        if allowed:
            msg += f" (allowed here: {', '.join(allowed)})"
    elif kind == "missing":
        msg = "required field is missing"
    elif kind == "value_error":
        msg = msg.removeprefix("Value error, ")
    elif "input" in err and isinstance(err["input"], (str, int, float, bool, type(None))):
        msg = f"{msg} (got {err['input']!r})"
    return f"{_loc(loc)}: {msg}"


def _compile(spec: StudySpec, path: Path) -> Study:
    from psychometrics.scale import Scale

    def fail(field_path: str, message: str) -> SpecError:
        return SpecError(f"Invalid study file {path}: {field_path}: {message}")

    # --- scales
    scales: list[Scale] = []
    for field_path, rel in [("scale", spec.scale)] + [
        (f"measures[{i}]", m) for i, m in enumerate(spec.measures)
    ]:
        file = (path.parent / rel).resolve()
        if not file.is_file():
            raise fail(field_path, f"scale file {rel!r} not found (looked for {file})")
        scales.append(Scale.from_yaml(file))
    seen: dict[str, str] = {}
    for s in scales:
        if s.id in seen:
            raise fail("measures", f"scale id {s.id!r} is used by two files")
        seen[s.id] = s.id
        if s.response_format.type != "likert":
            raise fail("measures", f"scale {s.id!r}: only likert response formats can be simulated")
    item_scale: dict[str, Scale] = {}
    for s in scales:
        for it in s.items:
            if it.id in item_scale:
                raise fail(
                    "measures",
                    f"item id {it.id!r} occurs in scale {item_scale[it.id].id!r} and in "
                    f"{s.id!r}; item ids become data columns and must be unique",
                )
            item_scale[it.id] = s
    items = list(item_scale)
    if spec.group and spec.group.column in item_scale:
        raise fail("group.column", f"{spec.group.column!r} is also an item id")
    if spec.group and spec.group.column == "id":
        raise fail("group.column", "'id' is reserved for the respondent id column")

    pop = spec.population
    # --- factors and correlations
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
                    f"subscale id {sub.id!r} occurs in scales {subscale_owner[sub.id]!r} and "
                    f"{s.id!r}; each subscale needs its own factor, so rename one of them",
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

    # --- groups and latent means
    groups = [lv.id for lv in spec.group.levels] if spec.group else ["all"]
    gidx = {g: i for i, g in enumerate(groups)}
    means = np.zeros((len(groups), k))
    for g, shifts in pop.latent_means.items():
        if g not in gidx or not spec.group:
            raise fail(f"population.latent_means.{g}", f"unknown group level {g!r}")
        for f, v in shifts.items():
            if f not in fidx:
                raise fail(f"population.latent_means.{g}.{f}", f"unknown factor {f!r}")
            means[gidx[g], fidx[f]] = v

    # --- loadings
    lam = np.zeros((len(items), k))
    unknown = [i for i in pop.loadings if i not in item_scale]
    if unknown:
        raise fail(f"population.loadings.{unknown[0]}", f"no item {unknown[0]!r} in the study's scales")
    absent = [i for i in items if i not in pop.loadings]
    if absent:
        raise fail("population.loadings", f"missing loading(s) for item(s) {', '.join(absent)}")
    sub_of = {it.id: it.subscale for s in scales for it in s.items}
    for j, item in enumerate(items):
        value = pop.loadings[item]
        if not -1.0 < value < 1.0:
            raise fail(f"population.loadings.{item}", f"a standardized loading must lie in (-1, 1), got {value}")
        if sub_of[item] is None or sub_of[item] not in fidx:
            raise fail(f"population.loadings.{item}", f"item {item!r} has no subscale, so no factor")
        lam[j, fidx[sub_of[item]]] = value
    jidx = {it: j for j, it in enumerate(items)}
    for item, extra in pop.cross_loadings.items():
        if item not in jidx:
            raise fail(f"population.cross_loadings.{item}", f"no item {item!r} in the study's scales")
        for f, v in extra.items():
            if f not in fidx:
                raise fail(f"population.cross_loadings.{item}.{f}", f"unknown factor {f!r}")
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

    # --- thresholds
    item_min = np.array([int(item_scale[i].response_format.min) for i in items], dtype=np.int64)
    item_max = np.array([int(item_scale[i].response_format.max) for i in items], dtype=np.int64)
    width = int((item_max - item_min).max())
    thr = np.full((len(items), width), np.inf)
    thresholds: dict[str, tuple[float, ...]] = {}
    scale_ids = {s.id for s in scales}
    for sid, props in pop.response_distributions.items():
        if sid not in scale_ids:
            raise fail(f"population.response_distributions.{sid}", f"unknown scale id {sid!r}")
    for item, t in pop.thresholds.items():
        if item not in jidx:
            raise fail(f"population.thresholds.{item}", f"no item {item!r} in the study's scales")
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
                    f"no distribution for scale {s.id!r} and no thresholds for its item {it.id!r}",
                )
            thresholds[it.id] = t
            thr[jidx[it.id], : len(t)] = t

    # --- DIF
    dif = np.zeros((len(groups), len(items)))
    for i, d in enumerate(pop.dif):
        if d.item not in jidx:
            raise fail(f"population.dif[{i}].item", f"no item {d.item!r} in the study's scales")
        if not spec.group or d.group not in gidx:
            raise fail(f"population.dif[{i}].group", f"unknown group level {d.group!r}")
        dif[gidx[d.group], jidx[d.item]] += d.shift

    code = spec.missing.code
    if code is not None:
        for s in scales:
            if code not in tuple(s.response_format.missing_codes or ()):
                raise fail(
                    "missing.code",
                    f"{code} is not a missing-value code of scale {s.id!r} (its codes: "
                    f"{list(s.response_format.missing_codes or ())}); the data could not be read back",
                )

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


# ------------------------------------------------------------------- simulation
def _group_counts(n: int, props: np.ndarray) -> np.ndarray:
    """Largest-remainder rounding of n × proportions (so the counts sum to n)."""
    raw = n * props
    counts = np.floor(raw).astype(np.int64)
    short = n - int(counts.sum())
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def simulate_study(
    study: Study | str | os.PathLike[str] | None = None,
    n: int | None = None,
    seed: int | np.random.Generator = 0,
) -> pd.DataFrame:
    """Draw one simulated data set from a study's population model.

    Steps (all vectorised): groups by exact proportions (largest remainder) in random
    order; latent factors :math:`\\eta \\sim N(\\mu_g, \\Phi)` via the Cholesky factor;
    latent responses :math:`y^* = \\Lambda\\eta + \\delta_g + \\varepsilon`; categories by
    thresholds; reverse-keyed items written in raw coding (``min + max - scored``);
    careless respondents overwrite their rows (straight-liners: one category per measure;
    random responders: uniform categories); finally cells are set missing completely at
    random.

    Parameters
    ----------
    study : Study, path or None
        A loaded study, the path of a study file, or None / ``"default"`` for the embedded
        demo study (:func:`default_study_path`).
    n : int, optional
        Number of respondents (default: the study's ``n``).
    seed : int or numpy.random.Generator
        Same seed → identical data (``numpy.random.default_rng(seed)``).

    Returns
    -------
    pandas.DataFrame
        Columns ``id`` (1..n), the group column (if the study has one), then every item of
        the scale and the companion measures in raw coding. Items are float64 with NaN for
        missing values (or int64 with the study's missing code). ``df.attrs["simulation"]``
        records the study id, seed and the ids of planted careless respondents.
    """
    if study is None or (isinstance(study, str) and study == "default"):
        study = load_study(default_study_path())
    elif not isinstance(study, Study):
        study = load_study(study)
    if n is None:
        n = study.n
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise SpecError(f"n must be a positive integer, got {n!r}")
    n = int(n)
    rng = np.random.default_rng(seed)  # a Generator is passed through unchanged
    spec = study.spec
    n_items = len(study.item_ids)

    # groups
    if spec.group:
        props = np.array([lv.proportion for lv in spec.group.levels])
        counts = _group_counts(n, props)
        g = rng.permutation(np.repeat(np.arange(len(props)), counts))
    else:
        g = np.zeros(n, dtype=np.int64)

    # latent factors and latent responses (scored direction)
    k = study._chol.shape[0]
    eta = rng.standard_normal((n, k)) @ study._chol.T + study._means[g]
    ystar = eta @ study.loadings.to_numpy().T + study._dif[g]
    ystar += rng.standard_normal((n, n_items)) * study._resid_sd
    # category = number of thresholds exceeded (padded thresholds are +inf)
    scored = (ystar[:, :, None] > study._thr[None, :, :]).sum(axis=2) + study._item_min
    raw = np.where(study._reverse, study._item_min + study._item_max - scored, scored)

    # careless respondents: disjoint random rows
    n_straight = int(round(n * spec.careless.straight_liners))
    n_random = int(round(n * spec.careless.random))
    chosen = rng.choice(n, size=n_straight + n_random, replace=False)
    straight, rand = np.sort(chosen[:n_straight]), np.sort(chosen[n_straight:])
    if n_straight:
        # one raw answer per measure, repeated over all its items (reverse keys ignored,
        # as a straight-liner would)
        for block in study._blocks:
            lo, hi = study._item_min[block[0]], study._item_max[block[0]]
            value = rng.integers(lo, hi + 1, size=n_straight)
            raw[np.ix_(straight, block)] = value[:, None]
    if n_random:
        span = study._item_max - study._item_min + 1
        raw[rand] = study._item_min + np.floor(rng.random((n_random, n_items)) * span).astype(np.int64)

    # missing completely at random
    values: np.ndarray = raw.astype(np.float64)
    if spec.missing.rate > 0:
        mask = rng.random((n, n_items)) < spec.missing.rate
        if spec.missing.code is None:
            values[mask] = np.nan
        else:
            values = raw.copy()
            values[mask] = spec.missing.code

    columns: dict[str, Any] = {"id": np.arange(1, n + 1)}
    if spec.group:
        columns[spec.group.column] = np.array(study.groups, dtype=object)[g]
    frame = pd.DataFrame(columns)
    items = pd.DataFrame(values, columns=list(study.item_ids))
    df = pd.concat([frame, items], axis=1)
    df.attrs["simulation"] = {
        "study": study.id,
        "seed": seed if isinstance(seed, (int, np.integer)) else None,
        "straight_liners": [int(i) + 1 for i in straight],
        "random_responders": [int(i) + 1 for i in rand],
    }
    return df


# ----------------------------------------------------------------- embedded files
def embedded_scales_dir() -> Path:
    """Folder of the scale and study files shipped with the package.

    Installed: the package data of ``psychometrics.scales`` (mapped from the top-level
    ``scales/`` folder by ``pyproject.toml``). In a source checkout without installation:
    the top-level ``scales/`` folder itself.
    """
    try:
        folder = resources.files("psychometrics.scales")
    except ModuleNotFoundError:
        folder = None
    if folder is not None and isinstance(folder, Path) and (folder / DEFAULT_STUDY_FILE).is_file():
        return folder
    checkout = Path(__file__).resolve().parent.parent / "scales"
    if (checkout / DEFAULT_STUDY_FILE).is_file():
        return checkout
    raise SpecError(
        "the embedded scale files were not found: neither the package data "
        "'psychometrics.scales' nor a 'scales/' folder next to the package; reinstall "
        "scalevalid"
    )


def default_study_path() -> Path:
    """Path of the embedded demo study (``mentorship_study.yaml``)."""
    return embedded_scales_dir() / DEFAULT_STUDY_FILE


# ------------------------------------------------------------------------ output
def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a data frame as CSV, TSV, xlsx or Parquet, chosen by the file extension.

    Missing values become empty cells (CSV/TSV) or nulls; integer-valued floats are written
    without a decimal part (``3``, not ``3.0``).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        df.to_csv(path, index=False, float_format="%.10g")
    elif suffix == ".tsv":
        df.to_csv(path, index=False, sep="\t", float_format="%.10g")
    elif suffix == ".xlsx":
        df.to_excel(path, index=False)
    elif suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        raise SpecError(
            f"{path}: unknown output format {suffix or '(no extension)'!r}; use one of "
            f"{', '.join(OUTPUT_FORMATS)}"
        )
    return path
