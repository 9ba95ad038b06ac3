"""Parser for the subset of lavaan model syntax used by confirmatory factor analysis.

Supported (Rosseel, 2012, *lavaan: An R package for structural equation modeling*,
section "The model syntax"):

=============================  ===================================================
``f =~ x1 + x2 + x3``          latent variable ``f`` measured by ``x1``, ``x2``, ``x3``
``g =~ f1 + f2``               a higher-order factor (indicators are latent)
``x1 ~~ x2``                   a (residual) covariance; ``x1 ~~ x1`` a variance
``x1 ~ 1``                     an intercept (observed) or a mean (latent)
``1*x1``, ``0.5*x1``           fix the parameter to the value
``NA*x1``                      free the parameter (e.g. the first loading)
``a*x1``                       label; equal labels are equality constraints
``c(a, b)*x1``                 one modifier per group (numbers, ``NA`` or labels)
``start(0.7)*x1``              starting value (the parameter stays free)
``# ...``, ``! ...``           comments
``;`` or a new line            separates statements; a line ending in ``+``
                               or an operator continues on the next line
=============================  ===================================================

Anything else (regressions ``~``, defined parameters ``:=``, constraints ``==``,
``<``, ``>``, formative ``<~``, thresholds ``|``) raises :class:`ModelSyntaxError`
naming the line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from psychometrics.exceptions import ModelSyntaxError
from psychometrics._text import quote

__all__ = ["Modifier", "Term", "Statement", "parse_model"]

_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
# Longest operators first so that "=~" is not read as "=" and "~~" not as "~".
_OPERATORS = ("=~", "~~", "<~", ":=", "==", "~", "<", ">", "|")
_UNSUPPORTED = {
    "<~": "formative indicators ('<~') are not supported in CFA",
    ":=": "defined parameters (':=') are not supported",
    "==": "explicit constraints ('==') are not supported; give parameters the same label instead",
    "<": "inequality constraints ('<') are not supported",
    ">": "inequality constraints ('>') are not supported",
    "|": "thresholds ('|') are not supported (the estimator is ML for continuous items)",
    "~": "regressions ('~') are not supported in a CFA model; use '=~' for factors",
}


@dataclass(frozen=True)
class Modifier:
    """What a pre-multiplier says about one parameter in one group.

    Exactly one of ``fixed`` (a number), ``label`` or ``free`` (``NA``) is set,
    or ``start`` alone (a starting value for a free parameter).
    """

    fixed: float | None = None
    label: str | None = None
    free: bool = False
    start: float | None = None


@dataclass(frozen=True)
class Term:
    """One right-hand-side term, e.g. ``c(a, b)*x2`` → name ``x2`` and two modifiers.

    ``modifiers`` is empty (no pre-multiplier), of length 1 (applies to every
    group) or of length G (one per group).
    """

    name: str
    modifiers: tuple[Modifier, ...] = ()


@dataclass(frozen=True)
class Statement:
    """One parsed statement ``lhs op term + term ...`` with its 1-based line number."""

    lhs: str
    op: str
    terms: tuple[Term, ...]
    line: int


def _strip_comment(line: str) -> str:
    cut = len(line)
    for mark in ("#", "!"):
        i = line.find(mark)
        if i >= 0:
            cut = min(cut, i)
    return line[:cut]


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Split into statements, joining continuation lines; keep the first line number."""
    pieces: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        for part in _strip_comment(raw).split(";"):
            part = part.strip()
            if part:
                pieces.append((number, part))
    out: list[tuple[int, str]] = []
    for number, part in pieces:
        if out:
            prev_number, prev = out[-1]
            ends_open = prev.endswith(("+", "*")) or any(prev.endswith(op) for op in _OPERATORS)
            starts_open = part.startswith(("+", "*"))
            if ends_open or starts_open:
                out[-1] = (prev_number, f"{prev} {part}")
                continue
        out.append((number, part))
    return out


def _split_operator(text: str, line: int) -> tuple[str, str, str]:
    best: tuple[int, str] | None = None
    for op in _OPERATORS:
        i = text.find(op)
        if i >= 0 and (best is None or i < best[0] or (i == best[0] and len(op) > len(best[1]))):
            best = (i, op)
    if best is None:
        raise ModelSyntaxError(
            f"line {line}: no operator in {quote(text)}; expected e.g. 'f =~ x1 + x2', 'x1 ~~ x2' or 'x1 ~ 1'"
        )
    i, op = best
    return text[:i].strip(), op, text[i + len(op):].strip()


def _parse_value(token: str, line: int, context: str) -> Modifier:
    token = token.strip()
    if token in ("NA", "na"):
        return Modifier(free=True)
    if _NUMBER.match(token):
        value = float(token)
        if not math.isfinite(value):
            raise ModelSyntaxError(f"line {line}: fixed value {quote(token)} in {quote(context)} is not finite")
        return Modifier(fixed=value)
    m = re.fullmatch(r"start\(\s*([^()]*)\s*\)", token)
    if m:
        if not _NUMBER.match(m.group(1).strip()):
            raise ModelSyntaxError(f"line {line}: start() needs a number, got {quote(m.group(1))} in {quote(context)}")
        return Modifier(start=float(m.group(1)))
    if _NAME.match(token) and token not in ("c", "start"):
        return Modifier(label=token)
    raise ModelSyntaxError(
        f"line {line}: cannot read the modifier {quote(token)} in {quote(context)}; use a number (fixed), "
        "NA (free), a label, c(...) with one value per group, or start(value)"
    )


def _parse_modifiers(text: str, line: int, context: str) -> tuple[Modifier, ...]:
    text = text.strip()
    m = re.fullmatch(r"c\((.*)\)", text)
    if m:
        values = [v for v in m.group(1).split(",")]
        if not values or any(not v.strip() for v in values):
            raise ModelSyntaxError(f"line {line}: empty value in {quote(text)} of {quote(context)}")
        return tuple(_parse_value(v, line, context) for v in values)
    return (_parse_value(text, line, context),)


def _parse_term(text: str, line: int, allow_one: bool) -> Term:
    text = text.strip()
    if not text:
        raise ModelSyntaxError(f"line {line}: empty term (two '+' in a row or a trailing '+')")
    # Split at the last '*' that is outside parentheses: modifiers may be chained
    # (``start(1)*a*x1`` is not lavaan syntax; one modifier per term keeps it simple).
    depth = 0
    star = -1
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "*" and depth == 0:
            star = i
    if depth != 0:
        raise ModelSyntaxError(f"line {line}: unbalanced parentheses in {quote(text)}")
    if star >= 0:
        mod_text, name = text[:star], text[star + 1:].strip()
        modifiers = _parse_modifiers(mod_text, line, text)
    else:
        name, modifiers = text, ()
    if allow_one and name == "1":
        return Term("1", modifiers)
    if not _NAME.match(name):
        raise ModelSyntaxError(
            f"line {line}: {quote(name)} is not a variable name (letters, digits, '_' and '.', "
            "not starting with a digit)"
        )
    return Term(name, modifiers)


def parse_model(text: str) -> tuple[Statement, ...]:
    """Parse lavaan model syntax into statements.

    Parameters
    ----------
    text : str
        The model, one statement per line (or separated by ``;``).

    Returns
    -------
    tuple of Statement
        ``x ~ 1`` is returned with ``op="~1"`` and a single term named ``"1"``.

    Raises
    ------
    ModelSyntaxError
        Naming the line and the offending text.
    """
    if not isinstance(text, str):
        raise ModelSyntaxError(f"the model must be lavaan syntax as a string, got {type(text).__name__}")
    statements: list[Statement] = []
    for line, stmt in _logical_lines(text):
        lhs, op, rhs = _split_operator(stmt, line)
        if op == "~" and rhs.split("*")[-1].strip() == "1" and "+" not in rhs:
            op = "~1"
        elif op in _UNSUPPORTED:
            raise ModelSyntaxError(f"line {line}: {_UNSUPPORTED[op]}: {quote(stmt)}")
        if not lhs:
            raise ModelSyntaxError(f"line {line}: nothing on the left of {quote(op)} in {quote(stmt)}")
        if not _NAME.match(lhs):
            raise ModelSyntaxError(f"line {line}: {quote(lhs)} (left of {quote(op)}) is not a variable name")
        if not rhs:
            raise ModelSyntaxError(f"line {line}: nothing on the right of {quote(op)} in {quote(stmt)}")
        terms = tuple(_parse_term(t, line, allow_one=(op == "~1")) for t in _split_plus(rhs, line))
        if op == "~1" and (len(terms) != 1 or terms[0].name != "1"):
            raise ModelSyntaxError(f"line {line}: an intercept is written 'x ~ 1', got {quote(stmt)}")
        if op == "~~" and len(terms) < 1:
            raise ModelSyntaxError(f"line {line}: '~~' needs a variable on the right: {quote(stmt)}")
        if op == "=~":
            seen: set[str] = set()
            for t in terms:
                if t.name in seen:
                    raise ModelSyntaxError(f"line {line}: {quote(t.name)} appears twice in {quote(stmt)}")
                seen.add(t.name)
                if t.name == lhs:
                    raise ModelSyntaxError(f"line {line}: factor {quote(lhs)} cannot be its own indicator")
        statements.append(Statement(lhs, op, terms, line))
    if not statements:
        raise ModelSyntaxError("the model is empty: write at least one 'factor =~ item1 + item2 + ...' line")
    return tuple(statements)


def _split_plus(rhs: str, line: int) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in rhs:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "+" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    if parts and not parts[0].strip():
        parts = parts[1:]  # a leading '+' from a continuation line
    for p in parts:
        if not p.strip():
            raise ModelSyntaxError(f"line {line}: empty term in {quote(rhs)} (two '+' in a row or a trailing '+')")
    return parts
