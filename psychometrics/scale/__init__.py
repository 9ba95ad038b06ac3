"""Declarative scale specifications: YAML file → validated, immutable :class:`Scale`.

A scale is described once — items, response format, keying, subscales, an optional
higher-order structure, scoring rules and the validity hypotheses it must meet — and
every later analysis reads that description. The format is documented field by
field in ``docs/scale-spec.md``.

A wrong specification raises a single :class:`~psychometrics.exceptions.SpecError`
that names the file, the path of every offending field (``items[3].subscale``) and
the problem, with a suggestion for misspelt names. Pydantic and PyYAML errors are
translated; their tracebacks never reach the user.

This package stays light to import (pydantic and PyYAML only) because the command
line loads it.

Modules
-------
model          the pydantic models: :class:`Scale`, :class:`Item`, :class:`Subscale`, …
cross_checks   problems that involve several fields (references, duplicates)
yaml_io        reading the file: UTF-8 text, YAML without duplicate keys
errors         pydantic errors → one :class:`~psychometrics.exceptions.SpecError`
companions     :func:`find_companions`, the measures named by validity hypotheses
_problems      id patterns, field paths and "did you mean", shared by the above
"""

from __future__ import annotations

from psychometrics.exceptions import SpecError
# The id patterns and ``Number`` were module-level names of the former scale.py; kept importable.
from psychometrics.scale._problems import ITEM_ID, RESERVED_SCORE_NAMES, SEMVER, SLUG  # noqa: F401
from psychometrics.scale.companions import find_companions
from psychometrics.scale.model import (
    Hierarchy,
    Item,
    Number,  # noqa: F401
    ResponseFormat,
    Scale,
    Scoring,
    Subscale,
    ValidityHypothesis,
)

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
