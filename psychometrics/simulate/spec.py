"""The study-file schema (pydantic): groups, population model, missing values, careless responders.

The fields are documented in ``docs/mentorship-scale.md``. :func:`_describe` turns one
pydantic error into a line ``field path: plain-language message`` for the
:class:`~psychometrics.exceptions.SpecError` of :func:`~psychometrics.simulate.load_study`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from psychometrics._text import quote

_Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
_Share = Annotated[float, Field(ge=0.0, lt=0.5)]
_MODELS: dict[str | None, type[Any]] = {}  # field name -> schema model found under it


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
        msg = f"unknown field {quote(loc[-1])}" + (f"; did you mean {quote(close[0])}?" if close else "")
        if allowed:
            msg += f" (allowed here: {', '.join(allowed)})"
    elif kind == "missing":
        msg = "required field is missing"
    elif kind == "value_error":
        msg = msg.removeprefix("Value error, ")
    elif "input" in err and isinstance(err["input"], (str, int, float, bool, type(None))):
        msg = f"{msg} (got {quote(err['input'])})"
    return f"{_loc(loc)}: {msg}"

