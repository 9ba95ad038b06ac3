"""Vocabulary shared by the spec model, the cross-field checks and the error messages.

The id patterns, the exception that carries several problems with their field paths,
field-path formatting (``items[3].subscale``) and the "did you mean" hint. It sits
below :mod:`~psychometrics.scale.model`, :mod:`~psychometrics.scale.cross_checks` and
:mod:`~psychometrics.scale.errors` so that those three do not import each other in a
circle.
"""

from __future__ import annotations

import difflib
from psychometrics._text import quote

SLUG = r"^[a-z][a-z0-9_]*$"
# Item ids double as data column names and as variable names in lavaan-style model
# syntax (CFA), so they must be identifiers: a letter or underscore, then letters,
# digits, underscores or dots.
ITEM_ID = r"^[A-Za-z_][A-Za-z0-9_.]*$"
# Semantic version MAJOR.MINOR.PATCH with optional pre-release/build suffix.
SEMVER = r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
RESERVED_SCORE_NAMES = {"total"}

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]


class _Problems(ValueError):
    """Several problems found by a cross-field validator, each with a relative field path."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{_fmt_loc(p)}: {m}" for p, m in problems))


def _suggest(name: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {quote(close[0])}?" if close else ""


def _fmt_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int) or (isinstance(part, float)):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = str(part)
    return out or "(top level)"
