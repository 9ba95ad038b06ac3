"""Indented JSON text, as ``json.dumps(obj, indent=n, ensure_ascii=False, allow_nan=False)`` writes it.

With ``indent`` set, the standard library encodes in pure Python, one call per value: a
``results.json`` at 10⁶ respondents holds 10⁶ row labels and 10⁵ flagged rows (22 MB) and took
about a second (issue 16). :func:`dumps_indented` writes the same text but hands every list of
plain values (and every list of such lists, one call per inner list) to the C encoder: its item
separator is set to the comma, newline and indentation of that level, so the text is identical
(``tests/test_jsontext.py`` compares it with ``json.dumps`` on the demo's results and on
assorted structures).
"""

from __future__ import annotations

import functools
import itertools
import json
from typing import Any

__all__ = ["dumps_indented"]

_SCALARS = frozenset({str, int, float, bool, type(None)})
_encode_str = json.encoder.encode_basestring  # ensure_ascii=False (the C version where available)


@functools.lru_cache(maxsize=64)
def _compact(item_separator: str) -> json.JSONEncoder:
    """The encoder ``json.dumps(…, ensure_ascii=False, allow_nan=False, separators=(item_separator, ": "))``
    makes, made once per separator (one per indentation level): its ``encode`` is that call without
    building an encoder each time (≈ 6,000 calls per ``results.json``). Holds only its settings, so
    threads may share it (``encode`` starts a new circular-reference record per call)."""
    return json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(item_separator, ": "))


def dumps_indented(obj: Any, indent: int = 1) -> str:
    """``json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False)``, faster for long lists.

    Raises the same errors: ``ValueError`` for NaN/infinity, ``TypeError`` for what JSON cannot hold.
    """
    parts: list[str] = []
    _encode(obj, 0, " " * indent, parts)
    return "".join(parts)


_INF = float("inf")


def _scalar(v: Any) -> str:
    """``json.dumps(v, ensure_ascii=False, allow_nan=False)`` of a scalar: what its encoder writes for the
    plain types (the C string encoder, ``int.__repr__``, ``float.__repr__``) without a ``json.dumps`` call
    per value; NaN, infinities and subclasses go through ``json.dumps`` (its errors and conversions)."""
    t = type(v)
    if t is str:
        return _encode_str(v)
    if t is float:
        if v != v or v == _INF or v == -_INF:
            return json.dumps(v, ensure_ascii=False, allow_nan=False)  # raises ValueError, as json does
        return float.__repr__(v)
    if t is int:
        return int.__repr__(v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    return json.dumps(v, ensure_ascii=False, allow_nan=False)


def _encode(obj: Any, level: int, unit: str, out: list[str]) -> None:
    t = type(obj)
    if t in _SCALARS:
        out.append(_scalar(obj))
        return
    inner = "\n" + unit * (level + 1)
    if isinstance(obj, dict):
        if not obj:
            out.append("{}")
            return
        if set(map(type, obj.values())) <= _SCALARS and set(map(type, obj)) == {str}:  # one C call
            text = _compact("," + inner).encode(obj)
            out.append("{" + inner + text[1:-1] + "\n" + unit * level + "}")
            return
        out.append("{")
        first = True
        for k, v in obj.items():
            out.append(inner if first else "," + inner)
            first = False
            out.append(_key(k))
            out.append(": ")
            _encode(v, level + 1, unit, out)
        out.append("\n" + unit * level + "}")
        return
    if isinstance(obj, (list, tuple)):
        if not obj:
            out.append("[]")
            return
        if set(map(type, obj)) <= _SCALARS:  # one C call for the whole list
            text = _compact("," + inner).encode(obj)
            out.append("[" + inner + text[1:-1] + "\n" + unit * level + "]")
            return
        if _rows_of_scalars(obj):  # a table's rows: one C call for all of them
            out.append(_rows(obj, level, unit))
            return
        out.append("[")
        first = True
        for v in obj:
            out.append(inner if first else "," + inner)
            first = False
            _encode(v, level + 1, unit, out)
        out.append("\n" + unit * level + "]")
        return
    if isinstance(obj, (str, int, float)):  # subclasses (e.g. numpy's str_, an IntEnum): as json encodes them
        out.append(_scalar(obj))
        return
    raise TypeError(f"Object of type {t.__name__} is not JSON serializable")


def _rows_of_scalars(obj: Any) -> bool:
    """A non-empty list of non-empty lists of plain scalars."""
    return (set(map(type, obj)) == {list} and all(obj)
            and set(map(type, itertools.chain.from_iterable(obj))) <= _SCALARS)


def _rows(obj: list, level: int, unit: str) -> str:
    """The indented text of a list of non-empty lists of scalars, from one compact C encoding.

    Encoded with the item separator of the inner level, the rows meet at "]" + separator + "[": a
    scalar never ends with "]" nor starts with "[", and a raw newline never occurs inside an encoded
    string (it is written as \\n), so those are exactly the places between two rows."""
    outer, inner = "\n" + unit * (level + 1), "\n" + unit * (level + 2)
    sep = "," + inner
    text = _compact(sep).encode(obj)
    body = text[2:-2].replace("]" + sep + "[", outer + "]," + outer + "[" + inner)
    return "[" + outer + "[" + inner + body + outer + "]" + "\n" + unit * level + "]"


def _key(k: Any) -> str:
    """A dict key as json writes it (non-str keys converted the way ``json.dumps`` converts them)."""
    if isinstance(k, str):
        return _encode_str(k)
    if k is True:
        return '"true"'
    if k is False:
        return '"false"'
    if k is None:
        return '"null"'
    if isinstance(k, (int, float)):
        return _encode_str(_scalar(k) if isinstance(k, float) else int.__repr__(k))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")
