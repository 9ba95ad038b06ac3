"""Quoting user input in messages and on the console: bounded, and safe for a terminal.

:func:`quote` is the one helper every message uses to quote a user-supplied value (a
label, an item id, a field value from a YAML file). It never renders more than ``limit``
characters and never walks a whole container, so a YAML alias bomb (a billion shared
references that :func:`repr` would expand) costs nothing to quote. For short plain
values it is exactly :func:`repr`, so messages read as before.

:func:`console_safe` prepares any text for a Rich console: markup is escaped (``[red]``
is printed, not obeyed) and control characters (terminal escape sequences, carriage
returns, bidi overrides) are rendered visibly as ``\\x1b``-style escapes.
"""

from __future__ import annotations

import itertools
import unicodedata
from typing import Any

#: at most this many characters of a quoted value appear in a message
QUOTE_LIMIT = 80

_ELLIPSIS = "…"


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``repr``-like rendering of ``value`` of at most ``limit`` characters.

    Strings show their control characters escaped (as :func:`repr` does); containers show
    their first elements and ``…`` — the rest is never visited; large numbers, arrays and
    frames show their type and size.
    """
    text = _render(value, limit + 1, depth=0)
    if len(text) > limit:
        text = text[: max(limit - 1, 1)] + _ELLIPSIS
    return text


def _render(value: Any, budget: int, depth: int) -> str:
    if isinstance(value, str):
        r = repr(value[: budget + 2])
        return r if len(value) <= budget + 2 else r[:-1] + _ELLIPSIS + r[-1]
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 256 else f"<int of {value.bit_length()} bits>"
    if isinstance(value, float):
        return repr(value)
    if depth > 4:
        return _ELLIPSIS
    if isinstance(value, dict):
        return _render_items(((k, v) for k, v in value.items()), "{", "}", budget, depth, pairs=True)
    if isinstance(value, (list, tuple, set, frozenset)):
        if isinstance(value, (set, frozenset)) and not value:
            return f"{type(value).__name__}()"
        open_, close = "()" if isinstance(value, tuple) else "{}" if isinstance(value, (set, frozenset)) else "[]"
        if isinstance(value, tuple) and len(value) == 1:
            close = ",)"
        return _render_items(iter(value), open_, close, budget, depth, pairs=False)
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(shape, (str, bytes)):
        return f"<{type(value).__name__} of shape {tuple(shape)}>"
    try:
        r = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the message
        return f"<{type(value).__name__}>"
    return r if len(r) <= budget else r[:budget] + _ELLIPSIS


def _render_items(items, open_: str, close: str, budget: int, depth: int, pairs: bool) -> str:
    parts: list[str] = []
    used = len(open_)
    # at most ``budget`` elements can fit; the rest of the container is never iterated
    for item in itertools.islice(items, budget):
        if used > budget:
            parts.append(_ELLIPSIS)
            break
        if pairs:
            k, v = item
            s = _render(k, budget - used, depth + 1) + ": " + _render(v, budget - used, depth + 1)
        else:
            s = _render(item, budget - used, depth + 1)
        parts.append(s)
        used += len(s) + 2
    return open_ + ", ".join(parts) + close


def visible_controls(text: str) -> str:
    """``text`` with control and format characters (ESC, CR, BEL, bidi overrides) as visible escapes."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch == "\n" or ch.isprintable() or (ch == "\t"):
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:  # e.g. non-ASCII spaces: printable enough
            out.append(ch)
    return "".join(out)


def console_safe(text: Any) -> str:
    """Text for a Rich console: control characters visible, markup escaped (printed literally)."""
    from rich.markup import escape

    return escape(visible_controls(str(text)))


def plain_safe(text: Any) -> str:
    """Text for a plain terminal line (``click.echo``): control characters visible."""
    return visible_controls(str(text))
