"""lavaan model syntax built from a :class:`~psychometrics.scale.Scale`: the usual alternatives.

Each builder takes a Scale (items with ``id`` and ``subscale``) or a mapping
``{factor: [item, ...]}`` and returns lavaan syntax for :func:`psychometrics.cfa.fit_cfa`:

* :func:`one_factor` — every item on one general factor;
* :func:`correlated_factors` — one factor per subscale, factors correlated;
* :func:`higher_order` — subscale factors loading on a second-order factor;
* :func:`bifactor` — a general factor plus orthogonal subscale factors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from psychometrics.exceptions import ModelSyntaxError
from psychometrics._text import quote

__all__ = ["factor_items", "one_factor", "correlated_factors", "higher_order", "bifactor"]

_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


def _name(value: Any) -> str:
    for attr in ("id", "name"):
        if hasattr(value, attr) and isinstance(getattr(value, attr), str):
            return getattr(value, attr)
    return str(value)


def factor_items(scale: Any) -> dict[str, list[str]]:
    """``{subscale: [item ids]}`` of a Scale (or a mapping, returned as a dict of lists).

    Items without a subscale are left out; subscales keep the Scale's order.
    """
    if isinstance(scale, Mapping):
        out = {str(k): [str(i) for i in v] for k, v in scale.items()}
    else:
        items = getattr(scale, "items", None)
        if items is None:
            raise ModelSyntaxError(
                f"cannot build a model from {type(scale).__name__}: give lavaan syntax, a Scale, "
                "or a mapping {factor: [items]}"
            )
        order = [_name(s) for s in (getattr(scale, "subscales", None) or [])]
        out: dict[str, list[str]] = {s: [] for s in order}
        for it in items:
            sub = getattr(it, "subscale", None)
            if sub is None:
                continue
            out.setdefault(_name(sub), []).append(_name(it))
        out = {k: v for k, v in out.items() if v}
    for f, its in out.items():
        for n in [f, *its]:
            if not _NAME.match(n):
                raise ModelSyntaxError(
                    f"{quote(n)} cannot be used as a variable name in model syntax (letters, digits, '_' and '.', "
                    "not starting with a digit); rename the item or subscale"
                )
    if not out:
        raise ModelSyntaxError("the scale has no items assigned to subscales; cannot build a factor model")
    return out


def _line(factor: str, items: list[str]) -> str:
    return f"{factor} =~ " + " + ".join(items)


def one_factor(scale: Any, name: str = "general") -> str:
    """All items load on one factor ``name``."""
    fi = factor_items(scale)
    return _line(name, [i for its in fi.values() for i in its])


def correlated_factors(scale: Any) -> str:
    """One factor per subscale; factor covariances are free (lavaan's default)."""
    fi = factor_items(scale)
    return "\n".join(_line(f, its) for f, its in fi.items())


def higher_order(scale: Any, name: str | None = None) -> str:
    """Subscale factors load on a second-order factor (needs ≥ 3 first-order factors).

    With a Scale that declares a ``hierarchy``, its id names the second-order
    factor and its ``subscales`` load on it (subscales outside the hierarchy stay
    correlated first-order factors); otherwise all subscales load on ``name``
    (default ``"general"``).
    """
    fi = factor_items(scale)
    hier = getattr(scale, "hierarchy", None)
    if hier is not None:
        name = name or hier.id
        under = [s for s in hier.subscales if s in fi]
    else:
        name = name or "general"
        under = list(fi)
    if len(under) < 3:
        raise ModelSyntaxError(
            f"a higher-order model needs at least 3 subscales under the second-order factor to be "
            f"identified; there are {len(under)} ({', '.join(under)})"
        )
    return correlated_factors(fi) + "\n" + _line(name, under)


def bifactor(scale: Any, name: str = "general") -> str:
    """A general factor on all items plus subscale factors, all factors orthogonal.

    Usually fitted with ``std_lv=True``.
    """
    fi = factor_items(scale)
    lines = [_line(name, [i for its in fi.values() for i in its])]
    lines += [_line(f, its) for f, its in fi.items()]
    factors = [name, *fi]
    for i, a in enumerate(factors):
        for b in factors[i + 1:]:
            lines.append(f"{a} ~~ 0*{b}")
    return "\n".join(lines)
