"""The scale specification as immutable pydantic models: :class:`Scale` and its parts.

Every field is checked on its own (types, id patterns, ranges) and, in the
``model_validator`` of :class:`Scale`, against the other fields
(:mod:`~psychometrics.scale.cross_checks`). :meth:`Scale.from_yaml` and
:meth:`Scale.from_dict` turn any failure into one
:class:`~psychometrics.exceptions.SpecError` (:mod:`~psychometrics.scale.errors`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from psychometrics.exceptions import SpecError
from psychometrics.scale._problems import ITEM_ID, SEMVER, SLUG, Problem, _Problems, _suggest
from psychometrics.scale.cross_checks import _cross_problems
from psychometrics.scale.errors import _spec_error
from psychometrics.scale.yaml_io import _parse_yaml, _read_text
from psychometrics._text import quote

Number = Union[int, float]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# ------------------------------------------------------------------ parts
class ResponseFormat(_Model):
    """How items are answered: ordered integer categories (Likert) or a continuous range.

    Attributes
    ----------
    type : {"likert", "continuous"}
        ``likert``: integer categories ``min..max``; ``continuous``: any number in
        ``[min, max]``.
    min, max : int or float
        Lowest and highest valid response (integers for Likert; ``min < max``).
    labels : dict
        Optional labels of response values (keys must be valid responses).
    missing_codes : tuple of numbers
        Values that mean "missing" in raw data (e.g. -9, 99); must lie outside
        ``[min, max]`` so that they cannot be confused with real answers.
    """

    type: Literal["likert", "continuous"] = "likert"
    min: Number
    max: Number
    labels: dict[Number, str] = Field(default_factory=dict)
    missing_codes: tuple[Number, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> ResponseFormat:
        problems: list[Problem] = []
        if self.type == "likert":
            for name in ("min", "max"):
                value = getattr(self, name)
                if not float(value).is_integer():
                    problems.append(((name,), f"a likert response format needs integer categories, got {quote(value)}"))
        if self.min >= self.max:
            problems.append((("max",), f"max ({self.max}) must be greater than min ({self.min})"))
        else:
            for key in self.labels:
                if key < self.min or key > self.max:
                    problems.append(
                        (("labels", key), f"label for {quote(key)} lies outside the response range {self.min}–{self.max}")
                    )
                elif self.type == "likert" and not float(key).is_integer():
                    problems.append((("labels", key), f"label key {quote(key)} is not an integer category"))
            for i, code in enumerate(self.missing_codes):
                if self.min <= code <= self.max:
                    problems.append(
                        (
                            ("missing_codes", i),
                            f"missing code {quote(code)} lies inside the response range {self.min}–{self.max}, "
                            "so it cannot be told apart from a real answer; use a value outside the range (e.g. -9)",
                        )
                    )
        dupes = [c for c, n in Counter(self.missing_codes).items() if n > 1]
        if dupes:
            problems.append((("missing_codes",), f"duplicate missing codes: {', '.join(map(repr, dupes))}"))
        if problems:
            raise _Problems(problems)
        return self

    @property
    def categories(self) -> tuple[int, ...]:
        """The response categories ``min..max`` of a Likert format (empty for continuous)."""
        if self.type != "likert":
            return ()
        return tuple(range(int(self.min), int(self.max) + 1))


class Subscale(_Model):
    """A facet of the construct: ``id`` (slug), ``name`` and ``definition``."""

    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1)
    definition: str = ""


class Item(_Model):
    """One item: ``id`` (also the data column name), ``text``, ``subscale`` and ``reverse`` keying."""

    id: str = Field(pattern=ITEM_ID)
    text: str = Field(min_length=1)
    subscale: str
    reverse: bool = False


class Hierarchy(_Model):
    """Optional higher-order (or general) factor over some or all subscales."""

    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1)
    definition: str = ""
    subscales: tuple[str, ...] = Field(min_length=2)


class Scoring(_Model):
    """Scoring rules.

    Attributes
    ----------
    method : {"mean", "sum"}
        Subscale and total scores are item means or sums. A prorated sum is the mean
        of the answered items times the number of items.
    min_answered : float
        Minimum share (0 < share ≤ 1) of a score's items that must be answered for
        the score to be computed (prorated); otherwise the score is missing. The
        default 1.0 means: every item answered, no prorating.
    total : bool
        Also score a total over all items (reverse-keyed items reversed).
    """

    method: Literal["mean", "sum"] = "mean"
    min_answered: float = Field(default=1.0, gt=0, le=1)
    total: bool = True


class ValidityHypothesis(_Model):
    """An expected relation between a score of this scale and a companion measure.

    ``kind`` ``convergent`` hypotheses usually set ``direction`` and ``min_abs_r``
    (e.g. r ≥ .30); ``discriminant`` hypotheses set ``max_abs_r`` (e.g. |r| < .30).
    """

    id: str = Field(min_length=1)
    description: str = ""
    scale_score: str = "total"
    measure: str = Field(pattern=SLUG)
    measure_score: str = "total"
    kind: Literal["convergent", "discriminant"]
    direction: Literal["positive", "negative", "any"] = "any"
    min_abs_r: float | None = Field(default=None, ge=0, le=1)
    max_abs_r: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _check(self) -> ValidityHypothesis:
        problems: list[Problem] = []
        if self.min_abs_r is not None and self.max_abs_r is not None and self.min_abs_r >= self.max_abs_r:
            problems.append(
                (("max_abs_r",), f"max_abs_r ({self.max_abs_r}) must be greater than min_abs_r ({self.min_abs_r})")
            )
        if self.kind == "discriminant" and self.max_abs_r is None:
            problems.append((("max_abs_r",), "a discriminant hypothesis needs an upper bound max_abs_r (e.g. 0.30)"))
        if self.kind == "convergent" and self.min_abs_r is None and self.direction == "any":
            problems.append(
                (("min_abs_r",), "a convergent hypothesis needs a direction (positive/negative) or a min_abs_r bound")
            )
        if problems:
            raise _Problems(problems)
        return self


# ------------------------------------------------------------------ scale
class Scale(_Model):
    """A validated, immutable scale specification.

    Build it with :meth:`Scale.from_yaml` or :meth:`Scale.from_dict`; every
    problem in the specification is reported at once in one
    :class:`~psychometrics.exceptions.SpecError`.

    Attributes
    ----------
    id, name, version, construct, citation : str
        Identification and the construct definition.
    response_format : ResponseFormat
    subscales : tuple of Subscale
    items : tuple of Item
        In the order of the specification (which is also the order used by the
        odd–even careless-responding screen).
    reverse_keyed : tuple of str
        Optional list of reverse-keyed item ids, an alternative to ``reverse: true``
        on the items themselves; both are merged into ``Item.reverse``.
    hierarchy : Hierarchy or None
    scoring : Scoring
    validity : tuple of ValidityHypothesis

    Examples
    --------
    >>> scale = Scale.from_yaml("scales/mentorship_supportiveness.yaml")  # doctest: +SKIP
    >>> scale.items_of("encouragement")                                   # doctest: +SKIP
    ('MSS01', 'MSS02', ...)
    """

    # The spec key is ``construct``, but a field of that name would shadow pydantic's
    # deprecated ``BaseModel.construct`` classmethod, and pydantic warns about that when
    # the class is created. So the field is named ``construct_definition`` and read and
    # written under the alias ``construct`` (``serialize_by_alias`` here and ``by_alias``
    # in :meth:`to_dict`, so the content hash is unchanged); the :attr:`construct`
    # property keeps the attribute name.
    model_config = ConfigDict(serialize_by_alias=True)

    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1)
    version: str = Field(pattern=SEMVER)
    construct_definition: str = Field(min_length=1, alias="construct")
    citation: str | None = None
    response_format: ResponseFormat
    subscales: tuple[Subscale, ...] = Field(min_length=1)
    items: tuple[Item, ...] = Field(min_length=1)
    reverse_keyed: tuple[str, ...] = ()
    hierarchy: Hierarchy | None = None
    scoring: Scoring = Field(default_factory=Scoring)
    validity: tuple[ValidityHypothesis, ...] = ()

    _source: Path | None = PrivateAttr(default=None)
    _hash: str | None = PrivateAttr(default=None)

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_text(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError(
                f"version must be a text like \"1.0.0\"; YAML read {quote(value)} as a number — put quotes around it"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _merge_reverse_keyed(cls, data: Any) -> Any:
        """Fold the optional top-level ``reverse_keyed`` list into the items' ``reverse`` flag."""
        if not isinstance(data, Mapping):
            return data
        listed = data.get("reverse_keyed")
        items = data.get("items")
        if not listed or not isinstance(listed, (list, tuple)) or not isinstance(items, (list, tuple)):
            return data
        listed_set = {x for x in listed if isinstance(x, str)}
        new_items = []
        for item in items:
            if isinstance(item, Mapping) and item.get("id") in listed_set and "reverse" not in item:
                item = {**item, "reverse": True}
            new_items.append(item)
        return {**data, "items": new_items}

    @model_validator(mode="after")
    def _check(self) -> Scale:
        problems = _cross_problems(
            self.id,
            [s.id for s in self.subscales],
            [(i.id, i.subscale, i.reverse) for i in self.items],
            list(self.reverse_keyed),
            None if self.hierarchy is None else (self.hierarchy.id, list(self.hierarchy.subscales)),
            [(h.id, h.scale_score, h.measure) for h in self.validity],
            total=self.scoring.total,
        )
        if problems:
            raise _Problems(problems)
        return self

    # ------------------------------------------------------------ loading
    @classmethod
    def from_yaml(cls, path: str | Path) -> Scale:
        """Read and validate a scale specification from a YAML file (``yaml.safe_load`` only).

        Raises
        ------
        SpecError
            If the file is missing or unreadable, is not valid YAML (the message
            gives the line), or the specification is invalid (the message gives
            every field path and problem).
        """
        path = Path(path)
        text = _read_text(path)
        data = _parse_yaml(text, path)
        return cls.from_dict(data, source=path)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str | Path | None = None) -> Scale:
        """Validate a specification given as a mapping (e.g. parsed JSON or YAML).

        ``source`` names the origin in error messages and is kept as :attr:`source`.
        """
        where = str(source) if source is not None else "<dict>"
        if not isinstance(data, Mapping):
            raise SpecError(
                f"Invalid scale spec {where}: the top level must be a mapping of fields "
                f"(id, name, version, ...), got {type(data).__name__}."
            )
        try:
            scale = cls.model_validate(dict(data))
        except ValidationError as exc:
            raise _spec_error(exc, data, where, _MODEL_AT) from None
        if source is not None:
            scale._source = Path(source)
        return scale

    # ------------------------------------------------------------ helpers
    @property
    def construct(self) -> str:
        """The construct definition (the spec's ``construct`` field)."""
        return self.construct_definition

    @property
    def source(self) -> Path | None:
        """The file the specification was read from (``None`` if built from a mapping)."""
        return self._source

    @property
    def item_ids(self) -> tuple[str, ...]:
        """Item ids in specification order."""
        return tuple(i.id for i in self.items)

    @property
    def subscale_ids(self) -> tuple[str, ...]:
        """Subscale ids in specification order."""
        return tuple(s.id for s in self.subscales)

    @property
    def has_total(self) -> bool:
        """Whether the spec declares a total score: ``scoring.total`` is true or a hierarchy
        declares a general factor. Only then are a total score's α/ω, its verdict, its
        scoring-key entry and its norms computed by ``validate``."""
        return bool(self.scoring.total or self.hierarchy is not None)

    @property
    def reverse_items(self) -> tuple[str, ...]:
        """Ids of the reverse-keyed items."""
        return tuple(i.id for i in self.items if i.reverse)

    def item(self, item_id: str) -> Item:
        """The :class:`Item` with id ``item_id`` (``KeyError`` naming close matches otherwise)."""
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(f"scale {quote(self.id)} has no item {quote(item_id)}{_suggest(item_id, self.item_ids)}")

    def subscale(self, subscale_id: str) -> Subscale:
        """The :class:`Subscale` with id ``subscale_id``."""
        for s in self.subscales:
            if s.id == subscale_id:
                return s
        raise KeyError(f"scale {quote(self.id)} has no subscale {quote(subscale_id)}{_suggest(subscale_id, self.subscale_ids)}")

    def items_of(self, subscale_id: str) -> tuple[str, ...]:
        """Ids of the items of a subscale (``"total"``: all items), in specification order."""
        if subscale_id == "total":
            return self.item_ids
        self.subscale(subscale_id)  # raises KeyError for an unknown id
        return tuple(i.id for i in self.items if i.subscale == subscale_id)

    def subscale_of(self, item_id: str) -> str:
        """The subscale id of an item."""
        return self.item(item_id).subscale

    @property
    def keys(self) -> dict[str, dict[str, int]]:
        """Scoring keys: for each subscale (and ``total``) the items with +1 or −1 (reverse)."""
        out = {s.id: {i.id: (-1 if i.reverse else 1) for i in self.items if i.subscale == s.id} for s in self.subscales}
        out["total"] = {i.id: (-1 if i.reverse else 1) for i in self.items}
        return out

    def to_dict(self) -> dict[str, Any]:
        """The parsed specification as plain JSON types (defaults filled in)."""
        return self.model_dump(mode="json", by_alias=True)

    @property
    def content_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of the parsed specification.

        Independent of YAML formatting, comments, key order and whether defaults
        are written out; changes whenever any specified value changes.
        """
        if self._hash is None:  # the model is frozen, so the hash can be cached
            canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            self._hash = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        return self._hash

    def __hash__(self) -> int:
        return hash(self.content_hash)

    def __eq__(self, other: object) -> bool:
        """Two scales are equal when their parsed content is (wherever they were read from)."""
        if not isinstance(other, Scale):
            return NotImplemented
        return self.content_hash == other.content_hash

    def check_companions(self, companions: Mapping[str, Scale]) -> None:
        """Check that validity hypotheses name existing companion scales and scores.

        Parameters
        ----------
        companions : mapping of scale id → Scale

        Raises
        ------
        SpecError
            Naming ``validity[k].measure`` / ``validity[k].measure_score`` for every
            hypothesis whose companion scale or score is not available.
        """
        problems: list[str] = []
        for k, hyp in enumerate(self.validity):
            other = companions.get(hyp.measure)
            if other is None:
                problems.append(
                    f"validity[{k}].measure: hypothesis {quote(hyp.id)} names measure {quote(hyp.measure)}, which is not among "
                    f"the companion scales given ({', '.join(companions) or 'none'})"
                    f"{_suggest(hyp.measure, list(companions))}"
                )
                continue
            names = ["total", *other.subscale_ids]
            if hyp.measure_score not in names:
                problems.append(
                    f"validity[{k}].measure_score: hypothesis {quote(hyp.id)} refers to score {quote(hyp.measure_score)} of "
                    f"{quote(other.id)}, which has only: {', '.join(names)}{_suggest(hyp.measure_score, names)}"
                )
        if problems:
            where = str(self.source) if self.source else self.id
            raise SpecError(f"Invalid scale spec {where}:\n  " + "\n  ".join(problems))

    def summary(self) -> str:
        """A short plain-text description: name, version, hash, response format, items per subscale."""
        rf = self.response_format
        lines = [
            f"{self.name} ({self.id}) v{self.version}  sha256:{self.content_hash[:12]}",
            f"response format: {rf.type} {rf.min}–{rf.max}"
            + (f", missing codes {', '.join(map(str, rf.missing_codes))}" if rf.missing_codes else ""),
            f"{len(self.items)} items, {len(self.subscales)} subscales, {len(self.reverse_items)} reverse-keyed",
        ]
        for s in self.subscales:
            ids = self.items_of(s.id)
            rev = [i for i in ids if self.item(i).reverse]
            lines.append(f"  {s.id:<24}{len(ids):>3} items" + (f" ({len(rev)} reversed)" if rev else ""))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Scale {self.id} v{self.version}: {len(self.items)} items, {len(self.subscales)} subscales>"

    __str__ = summary


# Which model describes the mapping found under a given field name (for the fields
# allowed where an unknown one was found).
_MODEL_AT: dict[str | None, type[BaseModel]] = {
    None: Scale,
    "response_format": ResponseFormat,
    "subscales": Subscale,
    "items": Item,
    "hierarchy": Hierarchy,
    "scoring": Scoring,
    "validity": ValidityHypothesis,
}
