"""Problems that involve several fields of a scale spec: references between sections and duplicates.

:func:`_cross_problems` works on plain values so that it runs both on a validated
:class:`~psychometrics.scale.Scale` (its ``model_validator``) and, leniently, on the raw
mapping when some fields already failed their own validation
(:func:`_lenient_cross_problems`, used by the error messages), so that every problem
is reported at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from psychometrics.scale._problems import RESERVED_SCORE_NAMES, Problem, _suggest
from psychometrics._text import quote


def _cross_problems(
    scale_id: Any,
    sub_ids: list[Any],
    items: list[tuple[Any, Any, Any]],
    reverse_keyed: list[Any],
    hierarchy: tuple[Any, list[Any]] | None,
    validity: list[tuple[Any, Any, Any]],
    total: Any = True,
) -> list[Problem]:
    """Problems that involve several fields (references between sections, duplicates).

    Works on plain values so that it can run both on a validated model and, leniently,
    on the raw mapping when some fields failed their own validation (then every problem
    is still reported at once). Entries whose values are not strings are skipped.
    """
    problems: list[Problem] = []
    declared = [s for s in sub_ids if isinstance(s, str)]
    item_ids = [i[0] for i in items if isinstance(i[0], str)]

    seen: dict[str, int] = {}
    for k, sid in enumerate(sub_ids):
        if not isinstance(sid, str):
            continue
        if sid in seen:
            problems.append((("subscales", k, "id"), f"duplicate subscale id {quote(sid)} (also subscales[{seen[sid]}])"))
        else:
            seen[sid] = k
        if sid in RESERVED_SCORE_NAMES:
            problems.append((("subscales", k, "id"), f"{quote(sid)} is reserved for the total score; choose another id"))

    seen = {}
    for k, (iid, sub, _) in enumerate(items):
        if isinstance(iid, str):
            if iid in seen:
                problems.append((("items", k, "id"), f"duplicate item id {quote(iid)} (also items[{seen[iid]}])"))
            else:
                seen[iid] = k
            if iid in declared:
                problems.append(
                    (("items", k, "id"), f"item id {quote(iid)} equals a subscale id; model syntax needs distinct names")
                )
        if isinstance(sub, str) and declared and sub not in declared:
            problems.append(
                (
                    ("items", k, "subscale"),
                    f"item {quote(iid)} names unknown subscale {quote(sub)}{_suggest(sub, declared)} "
                    f"(declared subscales: {', '.join(declared)})",
                )
            )

    used = {i[1] for i in items}
    if items and all(isinstance(i[1], str) for i in items):
        for k, sid in enumerate(sub_ids):
            if isinstance(sid, str) and sid not in used:
                problems.append((("subscales", k, "id"), f"subscale {quote(sid)} has no items"))

    for k, rid in enumerate(reverse_keyed):
        if isinstance(rid, str) and rid not in item_ids:
            problems.append((("reverse_keyed", k), f"reverse key on unknown item {quote(rid)}{_suggest(rid, item_ids)}"))
    for k, (iid, _, rev) in enumerate(items):
        if iid in reverse_keyed and rev is False:
            problems.append((("items", k, "reverse"), f"item {quote(iid)} is listed in reverse_keyed but says reverse: false"))
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
                        f"unknown subscale {quote(sid)}{_suggest(sid, declared)} (declared subscales: {', '.join(declared)})",
                    )
                )
        hdupes = [s for s, n in Counter(x for x in hsubs if isinstance(x, str)).items() if n > 1]
        if hdupes:
            problems.append((("hierarchy", "subscales"), f"subscales listed twice: {', '.join(hdupes)}"))
        if isinstance(hid, str) and (hid in declared or hid in item_ids):
            problems.append((("hierarchy", "id"), f"{quote(hid)} is already used as a subscale or item id"))

    seen = {}
    score_names = ["total", *declared]
    for k, (hid, score, measure) in enumerate(validity):
        if isinstance(hid, str):
            if hid in seen:
                problems.append((("validity", k, "id"), f"duplicate hypothesis id {quote(hid)} (also validity[{seen[hid]}])"))
            else:
                seen[hid] = k
        if score == "total" and total is False and hierarchy is None:
            problems.append(
                (
                    ("validity", k, "scale_score"),
                    f"hypothesis {quote(hid)} refers to the total score, but the spec declares none (scoring.total is "
                    f"false and there is no hierarchy): name a subscale ({', '.join(declared)}) or set "
                    "scoring.total: true",
                )
            )
        elif isinstance(score, str) and score not in score_names:
            problems.append(
                (
                    ("validity", k, "scale_score"),
                    f"hypothesis {quote(hid)} refers to unknown score {quote(score)}"
                    f"{_suggest(score, score_names)} (use 'total' or one of: {', '.join(declared)})",
                )
            )
        if isinstance(measure, str) and measure == scale_id:
            problems.append((("validity", k, "measure"), "a validity hypothesis must name another scale, not this one"))
    return problems


def _lenient_cross_problems(data: Mapping[str, Any]) -> list[Problem]:
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
    scoring = data.get("scoring")
    try:
        return _cross_problems(data.get("id"), [e.get("id") for e in entries("subscales")], items, listed,
                               hierarchy, validity,
                               total=scoring.get("total", True) if isinstance(scoring, Mapping) else True)
    except Exception:  # noqa: BLE001 - best effort on malformed input; field errors are reported anyway
        return []

