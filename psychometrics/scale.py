"""Declarative scale specifications: YAML file → validated, immutable :class:`Scale`.

A scale is described once — items, response format, keying, subscales, an optional
higher-order structure, scoring rules and the validity hypotheses it must meet — and
every later analysis reads that description. The format is documented field by
field in ``docs/scale-spec.md``.

A wrong specification raises a single :class:`~psychometrics.exceptions.SpecError`
that names the file, the path of every offending field (``items[3].subscale``) and
the problem, with a suggestion for misspelt names. Pydantic and PyYAML errors are
translated; their tracebacks never reach the user.

This module stays light to import (pydantic and PyYAML only) because the command
line loads it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from psychometrics.exceptions import SpecError

__all__ = [
    "Scale",
    "find_companions",
    "Item",
    "Subscale",
    "ResponseFormat",
    "Hierarchy",
    "Scoring",
    "ValidityHypothesis",
    "SpecError",
]

SLUG = r"^[a-z][a-z0-9_]*$"
# Item ids double as data column names and as variable names in lavaan-style model
# syntax (CFA), so they must be identifiers: a letter or underscore, then letters,
# digits, underscores or dots.
ITEM_ID = r"^[A-Za-z_][A-Za-z0-9_.]*$"
# Semantic version MAJOR.MINOR.PATCH with optional pre-release/build suffix.
SEMVER = r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
RESERVED_SCORE_NAMES = {"total"}

Number = Union[int, float]


class _Problems(ValueError):
    """Several problems found by a cross-field validator, each with a relative field path."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]):
        self.problems = problems
        super().__init__("; ".join(f"{_fmt_loc(p)}: {m}" for p, m in problems))


def _suggest(name: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


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
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.type == "likert":
            for name in ("min", "max"):
                value = getattr(self, name)
                if not float(value).is_integer():
                    problems.append(((name,), f"a likert response format needs integer categories, got {value!r}"))
        if self.min >= self.max:
            problems.append((("max",), f"max ({self.max}) must be greater than min ({self.min})"))
        else:
            for key in self.labels:
                if key < self.min or key > self.max:
                    problems.append(
                        (("labels", key), f"label for {key!r} lies outside the response range {self.min}–{self.max}")
                    )
                elif self.type == "likert" and not float(key).is_integer():
                    problems.append((("labels", key), f"label key {key!r} is not an integer category"))
            for i, code in enumerate(self.missing_codes):
                if self.min <= code <= self.max:
                    problems.append(
                        (
                            ("missing_codes", i),
                            f"missing code {code!r} lies inside the response range {self.min}–{self.max}, "
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
        problems: list[tuple[tuple[str | int, ...], str]] = []
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
# The spec field ``construct`` shadows pydantic's deprecated ``BaseModel.construct``
# classmethod (replaced by ``model_construct``); the warning about it is expected.
warnings.filterwarnings("ignore", message='Field name "construct" in "Scale" shadows', category=UserWarning)


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

    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1)
    version: str = Field(pattern=SEMVER)
    construct: str = Field(min_length=1)
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
                f"version must be a text like \"1.0.0\"; YAML read {value!r} as a number — put quotes around it"
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
            raise _spec_error(exc, data, where) from None
        if source is not None:
            scale._source = Path(source)
        return scale

    # ------------------------------------------------------------ helpers
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
    def reverse_items(self) -> tuple[str, ...]:
        """Ids of the reverse-keyed items."""
        return tuple(i.id for i in self.items if i.reverse)

    def item(self, item_id: str) -> Item:
        """The :class:`Item` with id ``item_id`` (``KeyError`` naming close matches otherwise)."""
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(f"scale {self.id!r} has no item {item_id!r}{_suggest(item_id, self.item_ids)}")

    def subscale(self, subscale_id: str) -> Subscale:
        """The :class:`Subscale` with id ``subscale_id``."""
        for s in self.subscales:
            if s.id == subscale_id:
                return s
        raise KeyError(f"scale {self.id!r} has no subscale {subscale_id!r}{_suggest(subscale_id, self.subscale_ids)}")

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
        return self.model_dump(mode="json")

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
                    f"validity[{k}].measure: hypothesis {hyp.id!r} names measure {hyp.measure!r}, which is not among "
                    f"the companion scales given ({', '.join(companions) or 'none'})"
                    f"{_suggest(hyp.measure, list(companions))}"
                )
                continue
            names = ["total", *other.subscale_ids]
            if hyp.measure_score not in names:
                problems.append(
                    f"validity[{k}].measure_score: hypothesis {hyp.id!r} refers to score {hyp.measure_score!r} of "
                    f"{other.id!r}, which has only: {', '.join(names)}{_suggest(hyp.measure_score, names)}"
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


# ------------------------------------------------------- cross-field checks
def _cross_problems(
    scale_id: Any,
    sub_ids: list[Any],
    items: list[tuple[Any, Any, Any]],
    reverse_keyed: list[Any],
    hierarchy: tuple[Any, list[Any]] | None,
    validity: list[tuple[Any, Any, Any]],
) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems that involve several fields (references between sections, duplicates).

    Works on plain values so that it can run both on a validated model and, leniently,
    on the raw mapping when some fields failed their own validation (then every problem
    is still reported at once). Entries whose values are not strings are skipped.
    """
    problems: list[tuple[tuple[str | int, ...], str]] = []
    declared = [s for s in sub_ids if isinstance(s, str)]
    item_ids = [i[0] for i in items if isinstance(i[0], str)]

    seen: dict[str, int] = {}
    for k, sid in enumerate(sub_ids):
        if not isinstance(sid, str):
            continue
        if sid in seen:
            problems.append((("subscales", k, "id"), f"duplicate subscale id {sid!r} (also subscales[{seen[sid]}])"))
        else:
            seen[sid] = k
        if sid in RESERVED_SCORE_NAMES:
            problems.append((("subscales", k, "id"), f"{sid!r} is reserved for the total score; choose another id"))

    seen = {}
    for k, (iid, sub, _) in enumerate(items):
        if isinstance(iid, str):
            if iid in seen:
                problems.append((("items", k, "id"), f"duplicate item id {iid!r} (also items[{seen[iid]}])"))
            else:
                seen[iid] = k
            if iid in declared:
                problems.append(
                    (("items", k, "id"), f"item id {iid!r} equals a subscale id; model syntax needs distinct names")
                )
        if isinstance(sub, str) and declared and sub not in declared:
            problems.append(
                (
                    ("items", k, "subscale"),
                    f"item {iid!r} names unknown subscale {sub!r}{_suggest(sub, declared)} "
                    f"(declared subscales: {', '.join(declared)})",
                )
            )

    used = {i[1] for i in items}
    if items and all(isinstance(i[1], str) for i in items):
        for k, sid in enumerate(sub_ids):
            if isinstance(sid, str) and sid not in used:
                problems.append((("subscales", k, "id"), f"subscale {sid!r} has no items"))

    for k, rid in enumerate(reverse_keyed):
        if isinstance(rid, str) and rid not in item_ids:
            problems.append((("reverse_keyed", k), f"reverse key on unknown item {rid!r}{_suggest(rid, item_ids)}"))
    for k, (iid, _, rev) in enumerate(items):
        if iid in reverse_keyed and rev is False:
            problems.append((("items", k, "reverse"), f"item {iid!r} is listed in reverse_keyed but says reverse: false"))
    rdupes = [r for r, n in Counter(x for x in reverse_keyed if isinstance(x, str)).items() if n > 1]
    if rdupes:
        problems.append((("reverse_keyed",), f"items listed twice: {', '.join(rdupes)}"))

    if hierarchy is not None:
        hid, hsubs = hierarchy
        for k, sid in enumerate(hsubs):
            if isinstance(sid, str) and sid not in declared:
                problems.append(
                    (
                        ("hierarchy", "subscales", k),
                        f"unknown subscale {sid!r}{_suggest(sid, declared)} (declared subscales: {', '.join(declared)})",
                    )
                )
        hdupes = [s for s, n in Counter(x for x in hsubs if isinstance(x, str)).items() if n > 1]
        if hdupes:
            problems.append((("hierarchy", "subscales"), f"subscales listed twice: {', '.join(hdupes)}"))
        if isinstance(hid, str) and (hid in declared or hid in item_ids):
            problems.append((("hierarchy", "id"), f"{hid!r} is already used as a subscale or item id"))

    seen = {}
    score_names = ["total", *declared]
    for k, (hid, score, measure) in enumerate(validity):
        if isinstance(hid, str):
            if hid in seen:
                problems.append((("validity", k, "id"), f"duplicate hypothesis id {hid!r} (also validity[{seen[hid]}])"))
            else:
                seen[hid] = k
        if isinstance(score, str) and score not in score_names:
            problems.append(
                (
                    ("validity", k, "scale_score"),
                    f"hypothesis {hid!r} refers to unknown score {score!r}"
                    f"{_suggest(score, score_names)} (use 'total' or one of: {', '.join(declared)})",
                )
            )
        if isinstance(measure, str) and measure == scale_id:
            problems.append((("validity", k, "measure"), "a validity hypothesis must name another scale, not this one"))
    return problems


def _lenient_cross_problems(data: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """:func:`_cross_problems` on a raw mapping whose fields may not all be valid."""

    def entries(key: str) -> list[Mapping[str, Any]]:
        value = data.get(key)
        if not isinstance(value, (list, tuple)):
            return []
        return [e if isinstance(e, Mapping) else {} for e in value]

    listed = data.get("reverse_keyed")
    listed = list(listed) if isinstance(listed, (list, tuple)) else []
    items = [(e.get("id"), e.get("subscale"), e.get("reverse")) for e in entries("items")]
    h = data.get("hierarchy")
    hierarchy = None
    if isinstance(h, Mapping):
        hs = h.get("subscales")
        hierarchy = (h.get("id"), list(hs) if isinstance(hs, (list, tuple)) else [])
    validity = [(e.get("id"), e.get("scale_score", "total"), e.get("measure")) for e in entries("validity")]
    try:
        return _cross_problems(data.get("id"), [e.get("id") for e in entries("subscales")], items, listed,
                               hierarchy, validity)
    except Exception:  # noqa: BLE001 - best effort on malformed input; field errors are reported anyway
        return []


# ------------------------------------------------------------ YAML reading
def _read_text(path: Path) -> str:
    if not path.exists():
        raise SpecError(f"Scale spec file not found: {path}. Check the path.")
    if path.is_dir():
        raise SpecError(f"Scale spec path {path} is a directory; give the YAML file.")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"Scale spec {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8.") from None
    except OSError as exc:
        raise SpecError(f"Cannot read scale spec {path}: {exc.strerror or exc}.") from None


def _unique_key_loader():
    import yaml

    class Loader(yaml.SafeLoader):
        """Safe loader that refuses duplicate keys (PyYAML would silently keep the last)."""

    def construct_mapping(loader, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                continue  # let PyYAML raise its own error for unhashable keys
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {seen[key].line + 1})", key_node.start_mark
                )
            seen[key] = key_node.start_mark
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return Loader


def _parse_yaml(text: str, path: Path) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_unique_key_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or str(exc)
        raise SpecError(f"Scale spec {path}{where}: not valid YAML: {problem}.") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"Scale spec {path}: not valid YAML: {exc}.") from None


# ---------------------------------------------------------- error messages
def _fmt_loc(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int) or (isinstance(part, float)):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = str(part)
    return out or "(top level)"


# Which model describes the mapping found under a given field name.
_MODEL_AT = {
    None: Scale,
    "response_format": ResponseFormat,
    "subscales": Subscale,
    "items": Item,
    "hierarchy": Hierarchy,
    "scoring": Scoring,
    "validity": ValidityHypothesis,
}


def _model_for(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    names = [p for p in loc if isinstance(p, str)]
    return _MODEL_AT.get(names[-1] if names else None)


def _lookup(data: Any, loc: tuple[str | int, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _describe_entry(data: Any, loc: tuple[str | int, ...]) -> str:
    """' (item MSS04)' when the path points into a list entry that has an id."""
    for cut in range(len(loc), 0, -1):
        if isinstance(loc[cut - 1], int) and isinstance(loc[cut - 2] if cut >= 2 else None, str):
            entry = _lookup(data, loc[:cut])
            if isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
                kind = {"items": "item", "subscales": "subscale", "validity": "hypothesis"}.get(str(loc[cut - 2]), "entry")
                return f" ({kind} {entry['id']!r})"
            return ""
    return ""


def _clean_loc(loc: tuple) -> tuple[str | int, ...]:
    # Pydantic inserts union branch names ("int", "float", "function-after[...]") into loc.
    return tuple(p for p in loc if not (isinstance(p, str) and (p in {"int", "float"} or "[" in p)))


def _spec_error(exc: ValidationError, data: Any, where: str) -> SpecError:
    lines: list[str] = []
    seen: set[str] = set()
    for err in exc.errors():
        loc = _clean_loc(err["loc"])
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _Problems):
            for rel, msg in ctx_error.problems:
                full = loc + rel
                line = f"{_fmt_loc(full)}: {msg}"
                if line not in seen:
                    seen.add(line)
                    lines.append(line)
            continue
        kind = err["type"]
        msg = err["msg"]
        value = err.get("input")
        scalar = value is None or isinstance(value, (str, int, float, bool))
        if any(p in ("int", "float") for p in err["loc"]) and kind.startswith(("int_", "float_")):
            msg = f"expected a number, got {value!r}"
        elif kind.endswith(("_type", "_parsing")) and scalar and kind not in ("model_type", "dict_type"):
            msg = f"{msg} (got {value!r})"
        if kind == "extra_forbidden":
            field = str(loc[-1])
            model = _model_for(loc[:-1])
            allowed = sorted(model.model_fields) if model else []
            msg = f"unknown field {field!r}{_suggest(field, allowed)}"
            if allowed:
                msg += f" (allowed here: {', '.join(allowed)})"
        elif kind == "missing":
            msg = "required field is missing"
        elif kind == "string_pattern_mismatch":
            pattern = (err.get("ctx") or {}).get("pattern")
            if pattern == SLUG:
                msg = f"{value!r} is not a valid id: use lower-case letters, digits and underscores, starting with a letter"
            elif pattern == ITEM_ID:
                msg = (f"{value!r} is not a valid item id: use letters, digits, '_' or '.', starting with a letter "
                       "(item ids are data column names and model-syntax names)")
            elif pattern == SEMVER:
                msg = f"{value!r} is not a semantic version; write MAJOR.MINOR.PATCH, e.g. \"1.0.0\""
        elif kind == "value_error":
            msg = str(ctx_error) if ctx_error is not None else msg.removeprefix("Value error, ")
        elif kind == "literal_error":
            expected = (err.get("ctx") or {}).get("expected", "")
            msg = f"{value!r} is not allowed; expected {expected}"
        elif kind == "too_short" and loc and loc[-1] in ("items", "subscales"):
            msg = f"at least one entry is needed in {loc[-1]}"
        elif kind in ("model_type", "dict_type"):
            msg = f"expected a mapping of fields, got {type(value).__name__}"
        line = f"{_fmt_loc(loc)}{_describe_entry(data, loc)}: {msg}"
        if line not in seen:
            seen.add(line)
            lines.append(line)
    if not any(isinstance((e.get("ctx") or {}).get("error"), _Problems) and not _clean_loc(e["loc"])
               for e in exc.errors()) and isinstance(data, Mapping):
        # Field-level errors stopped the cross-field checks: run them leniently on the raw data.
        for rel, msg in _lenient_cross_problems(data):
            line = f"{_fmt_loc(rel)}: {msg}"
            if line not in seen:
                seen.add(line)
                lines.append(line)
    n = len(lines)
    header = f"Invalid scale spec {where}: {n} problem{'s' if n != 1 else ''}"
    error = SpecError(header + "\n  " + "\n  ".join(lines) + "\nFix the field(s) named above (see docs/scale-spec.md).")
    error.source = where  # type: ignore[attr-defined]
    error.problems = tuple(lines)  # type: ignore[attr-defined]
    return error


def find_companions(scale: Any, given: Sequence[str | Path] = ()) -> tuple[dict[str, Any], list[str]]:
    """Companion scales named by the validity hypotheses of ``scale``.

    ``given`` files (or Scale objects) come first; ids still missing are looked up among
    the YAML specs beside the scale file. Returns ``({id: Scale}, ids named by hypotheses
    but not found)``.
    """
    import yaml

    wanted = {h.measure for h in scale.validity}
    found: dict[str, Any] = {}
    for p in given:
        companion = p if isinstance(p, Scale) else Scale.from_yaml(p)
        found[companion.id] = companion
    src = scale.source
    if wanted - set(found) and src is not None:
        for sibling in sorted(Path(src).resolve().parent.glob("*.y*ml")):
            if sibling.resolve() == Path(src).resolve():
                continue
            try:
                head = yaml.safe_load(sibling.read_text(encoding="utf-8"))
            except Exception:  # noqa: BLE001 - unrelated or broken files are not companions
                continue
            if isinstance(head, dict) and head.get("id") in wanted - set(found) and "items" in head:
                found[head["id"]] = Scale.from_yaml(sibling)
    return found, sorted(wanted - set(found))
