"""What to score: score definitions (items, reverse keys) and the scoring rules.

Rules come from a :class:`~psychometrics.scale.Scale` (its spec as a plain dictionary),
from a ``psych``-style keys list, or from a scoring key file. The field readers at the
end (``_get``, ``_scale_view`` ...) are shared by the key and norm files, which are
checked with the same messages naming the field path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from psychometrics._results import to_jsonable
from psychometrics.exceptions import ScoringKeyError
from psychometrics._text import quote

__all__ = ["ScoreDefinition", "ScoringRules"]


@dataclass(frozen=True)
class ScoreDefinition:
    """One score column: its name, label, items and which items are reverse-keyed.

    Attributes
    ----------
    name : str
        Column name (a subscale id, ``"total"``).
    label : str
        Human-readable label (used as SPSS variable label and in the data dictionary).
    items : tuple of str
        Item ids (data columns) that make up the score, in spec order.
    reverse : tuple of str
        The subset of ``items`` that is reverse-keyed (``min + max - x``).
    """

    name: str
    label: str
    items: tuple[str, ...]
    reverse: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "items": list(self.items),
                "reverse": list(self.reverse)}


@dataclass(frozen=True)
class ScoringRules:
    """Everything needed to turn item responses into scores.

    Built from a :class:`~psychometrics.scale.Scale` (:meth:`from_scale`), from a
    ``psych``-style keys list (:meth:`from_keys`) or read from a :class:`ScoringKey`.

    Attributes
    ----------
    scores : tuple of ScoreDefinition
    method : {"mean", "sum"}
    min_answered : float
        Minimum share of a score's items that must be answered (0..1).
    response_min, response_max : float or None
        Response range; used for reverse keying and to refuse out-of-range data.
    missing_codes : tuple of float
        Values that mean "missing" in raw data (set to missing and counted).
    likert : bool
        Responses must be integers (ordered categories).
    """

    scores: tuple[ScoreDefinition, ...]
    method: str = "mean"
    min_answered: float = 0.0
    response_min: float | None = None
    response_max: float | None = None
    missing_codes: tuple[float, ...] = ()
    likert: bool = True

    def __post_init__(self) -> None:
        if self.method not in ("mean", "sum"):
            raise ScoringKeyError(f"scoring.method must be 'mean' or 'sum', not {quote(self.method)}")
        _check_share(self.min_answered, "scoring.min_answered")
        if not self.scores:
            raise ScoringKeyError("no scores defined: the scale has no items")
        names = [s.name for s in self.scores]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ScoringKeyError(f"score names must be unique; repeated: {', '.join(dup)}")
        for sd in self.scores:
            rep = sorted({i for i in sd.items if sd.items.count(i) > 1})
            if rep:
                raise ScoringKeyError(f"score {quote(sd.name)} lists item(s) {', '.join(rep)} twice")
            stray = [i for i in sd.reverse if i not in sd.items]
            if stray:
                raise ScoringKeyError(f"score {quote(sd.name)}: reverse-keyed {', '.join(stray)} "
                                      "not among its items")
        rev_all = {i for sd in self.scores for i in sd.reverse}
        mixed = sorted({i for sd in self.scores for i in sd.items
                        if i in rev_all and i not in sd.reverse})
        if mixed:
            raise ScoringKeyError(f"item(s) {', '.join(mixed)} are reverse-keyed in one score "
                                  "but not in another")
        has_reverse = any(s.reverse for s in self.scores)
        if has_reverse and (self.response_min is None or self.response_max is None):
            raise ScoringKeyError(
                "reverse-keyed items need the response range (min and max): pass "
                "response_range=(min, max)")
        if (self.response_min is not None and self.response_max is not None
                and not self.response_min < self.response_max):
            raise ScoringKeyError(
                f"response range min={self.response_min} must be below max={self.response_max}")

    @property
    def items(self) -> tuple[str, ...]:
        """All items used by any score, in first-seen order."""
        seen: dict[str, None] = {}
        for s in self.scores:
            for i in s.items:
                seen.setdefault(i, None)
        return tuple(seen)

    @property
    def reverse_items(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for s in self.scores:
            for i in s.reverse:
                seen.setdefault(i, None)
        return tuple(seen)

    @classmethod
    def from_keys(
        cls,
        keys: Mapping[str, Sequence[str]],
        *,
        response_range: tuple[float, float] | None = None,
        method: str = "mean",
        min_answered: float = 0.0,
        missing_codes: Sequence[float] = (),
        total: bool = False,
        likert: bool = True,
    ) -> ScoringRules:
        """Rules from a ``psych``-style keys list: ``{"agree": ["-A1", "A2", ...]}``.

        A leading ``-`` marks a reverse-keyed item (as in ``psych::make.keys``).
        An item must be keyed the same way in every score it appears in.
        """
        scores = []
        direction: dict[str, bool] = {}
        for name, entries in keys.items():
            items, rev = [], []
            if isinstance(entries, str) or not len(entries):
                raise ScoringKeyError(f"keys[{quote(name)}] must be a non-empty list of item names")
            for e in entries:
                e = str(e)
                neg = e.startswith("-")
                item = e[1:] if neg else e
                if direction.setdefault(item, neg) != neg:
                    raise ScoringKeyError(
                        f"item {quote(item)} is keyed forward in one score and reversed in another")
                items.append(item)
                if neg:
                    rev.append(item)
            scores.append(ScoreDefinition(str(name), str(name), tuple(items), tuple(rev)))
        if total:
            all_items = list(dict.fromkeys(i for s in scores for i in s.items))
            scores.append(ScoreDefinition("total", "Total", tuple(all_items),
                                          tuple(i for i in all_items if direction[i])))
        lo, hi = response_range if response_range is not None else (None, None)
        return cls(tuple(scores), method, float(min_answered),
                   None if lo is None else float(lo), None if hi is None else float(hi),
                   tuple(float(c) for c in missing_codes), likert)

    @classmethod
    def from_scale(cls, scale: Any) -> ScoringRules:
        """Rules from a :class:`psychometrics.scale.Scale` (spec order of subscales/items)."""
        view = _scale_view(scale)
        return cls.from_spec_dict(view)

    @classmethod
    def from_spec_dict(cls, spec: Mapping[str, Any], *, where: str = "scale") -> ScoringRules:
        """Rules from a scale spec as a plain dictionary (the YAML structure)."""
        rf = _get(spec, "response_format", Mapping, where)
        items = _get(spec, "items", list, where)
        subscales = spec.get("subscales") or []
        sc = spec.get("scoring") or {}
        if not isinstance(sc, Mapping):
            raise ScoringKeyError(f"{where}.scoring must be a mapping")
        by_sub: dict[str, list[Mapping[str, Any]]] = {}
        sub_names: dict[str, str] = {}
        for j, s in enumerate(subscales):
            sid = _get(s, "id", str, f"{where}.subscales[{j}]")
            sub_names[sid] = str(s.get("name") or sid)
            by_sub[sid] = []
        for j, it in enumerate(items):
            w = f"{where}.items[{j}]"
            _get(it, "id", str, w)
            sub = it.get("subscale")
            if sub is None:
                continue
            if sub not in by_sub:
                raise ScoringKeyError(f"{w}.subscale {quote(sub)} is not a declared subscale")
            by_sub[sub].append(it)
        defs = []
        for sid, its in by_sub.items():
            if not its:
                continue
            ids = tuple(str(i["id"]) for i in its)
            rev = tuple(str(i["id"]) for i in its if i.get("reverse", False))
            defs.append(ScoreDefinition(sid, sub_names[sid], ids, rev))
        if not defs:  # a unidimensional scale without subscales
            ids = tuple(str(i["id"]) for i in items)
            defs.append(ScoreDefinition(str(spec.get("id", "score")), str(spec.get("name") or
                        spec.get("id", "score")), ids,
                        tuple(str(i["id"]) for i in items if i.get("reverse", False))))
        # a total when the spec declares one: scoring.total (default true) or a hierarchy's general
        # factor (also for one subscale: 'total' is always a score name)
        if sc.get("total", True) or spec.get("hierarchy"):
            ids = tuple(str(i["id"]) for i in items)
            rev = tuple(str(i["id"]) for i in items if i.get("reverse", False))
            hier = spec.get("hierarchy") or {}
            label = str(hier.get("name") or f"{spec.get('name', 'Scale')} (total)")
            defs.append(ScoreDefinition("total", label, ids, rev))
        rtype = rf.get("type", "likert")
        lo, hi = rf.get("min"), rf.get("max")
        try:
            lo = None if lo is None else float(lo)
            hi = None if hi is None else float(hi)
            codes = tuple(float(c) for c in (rf.get("missing_codes") or ()))
            min_answered = float(sc.get("min_answered", 1.0))  # the spec's default
        except (TypeError, ValueError) as exc:
            raise ScoringKeyError(f"{where}.response_format/scoring holds a non-number: {exc}") from None
        return cls(tuple(defs), str(sc.get("method", "mean")), min_answered, lo, hi, codes,
                   rtype == "likert")

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "min_answered": self.min_answered,
            "response_min": self.response_min,
            "response_max": self.response_max,
            "missing_codes": list(self.missing_codes),
            "likert": self.likert,
            "scores": [s.to_dict() for s in self.scores],
        }


def _check_share(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
            0.0 <= float(value) <= 1.0):
        raise ScoringKeyError(f"{name} must be a share between 0 and 1, not {quote(value)}")


def _get(d: Any, key: str, typ: type | tuple[type, ...], where: str) -> Any:
    """A required field of a mapping, with an error naming the field path."""
    if not isinstance(d, Mapping):
        raise ScoringKeyError(f"{where} must be a mapping, not {type(d).__name__}")
    if key not in d:
        raise ScoringKeyError(f"{where}.{key} is missing")
    v = d[key]
    if typ is float:
        typ = (int, float)
    if not isinstance(v, typ) or (typ in ((int, float), int) and isinstance(v, bool)):
        tname = typ.__name__ if isinstance(typ, type) else "number"
        raise ScoringKeyError(f"{where}.{key} must be a {tname}, not {type(v).__name__} ({quote(v)})")
    return v


def _attr(obj: Any, name: str, default: Any = None) -> Any:
    v = getattr(obj, name, default)
    return v() if callable(v) and not isinstance(v, type) else v


def _scale_view(scale: Any) -> dict[str, Any]:
    """The scale spec as a plain dict (via ``Scale.to_dict()`` or attributes)."""
    if isinstance(scale, Mapping):  # plain JSON types, as the key file will hold them
        return json.loads(json.dumps(to_jsonable(dict(scale))))
    if hasattr(scale, "to_dict"):
        d = scale.to_dict()
        if isinstance(d, Mapping) and "items" in d:
            return json.loads(json.dumps(to_jsonable(d)))
    if hasattr(scale, "model_dump"):
        return json.loads(json.dumps(to_jsonable(scale.model_dump(mode="json"))))
    raise ScoringKeyError(f"cannot read a scale spec from {type(scale).__name__}")


def _as_scale(scale: Any) -> Any:
    """A spec given as a mapping becomes a validated :class:`~psychometrics.scale.Scale`."""
    if isinstance(scale, Mapping):
        from psychometrics.scale import Scale

        return Scale.from_dict(scale)
    return scale


def _scale_hash(scale: Any) -> str | None:
    h = _attr(scale, "content_hash")
    return None if h is None else str(h)
